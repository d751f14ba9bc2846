"""How far a simulated replicate is from the published figures: the ABC distance.

The distance is built in three layers, each vectorized over replicates:

1. **One figure** (:func:`target_distance`). A target accepts a range ``[low, high]`` of its
   observable (:attr:`flowsim.scenario.Target.bounds`: the interval, the one-sided bound, or
   the ``about`` tolerance band). Inside the range the distance is exactly **zero**; outside
   it is the distance to the nearest bound **on a log scale**::

       d = |log((x + f) / (b + f))|      b: the violated bound, f: a small floor

   *Why a log scale.* Targets range from a recognition share of 0.3 to half a million
   departures. A relative, multiplicative error is what makes them comparable: being 10 %
   above a bound costs ``log 1.1 = 0.095`` whatever the size of the figure, and being twice
   too low costs as much as being twice too high (``log 2 = 0.69``). It also gives the ABC
   tolerance a plain meaning: at tolerance ``eps`` every target (for the ``max`` norm) or
   the typical target (for ``rms``) is within a factor ``exp(eps)`` of its accepted range.
   Scaling by the interval's width was rejected: a narrow interval (``400,000-500,000``)
   would weigh ten times an equally precise ``about`` figure of a smaller quantity.

   *Zeros.* The floor ``f`` is ``1e-3`` (:data:`FLOOR`) times the largest finite bound of
   the target (1 when every bound is zero): an observable of 0 against a lower bound of
   300,000 has the finite distance ``log(1001) = 6.9`` ("a thousand times too small or
   worse") instead of infinity, so that such replicates can still be ranked. Observables are
   non-negative counts or shares; negative values and bounds are read as zero.

   *Missing values.* A NaN (or infinite) observable is infinitely far from every target.

2. **One target** (:meth:`TargetSet.target_distances`). A target with ``each: true`` (one
   figure applied to each country separately) has one column per country; its distance is
   the **root mean square** (or, with ``norm="max"``, the maximum) over its countries, so
   that a target over five countries weighs as much as a target over one and is zero only
   when every country meets the figure.

3. **All targets** (:meth:`TargetSet.distance`). The **root mean square** of the target
   distances (default), or their maximum (``norm="max"``). Both are zero exactly when every
   target is met. The RMS is the default because calibration must cope with a target the
   model cannot meet: under the max norm the tolerance stalls at that target's distance and
   the others stop improving; under the RMS the others keep being pushed towards their
   figures.

**Targets with an error model** (an ``error:`` block) are not read as ranges: each column's
distance is its **standardized residual** ``|z|`` (:mod:`flowsim.calibration.errors`), and a
set of such targets combines **every column** (not target by target) by the root mean square
(or the maximum): ``D = sqrt(Σ z² / M)``, the error model's negative log-likelihood
``Σ z² / 2`` on the scale of a tolerance. A set that mixes error targets and range targets
has no single distance (a log-scale miss and a number of sds do not add up): calibration
refuses it and says how to give every target an error (the validation set may mix them,
since it is only compared, never combined).

Columns
-------
An observation matrix has shape ``(replicates, M)``: one column per target, except that an
``each: true`` target has one column per selected country, labelled ``"id[COUNTRY]"``, and a
series one per window (:mod:`flowsim.calibration.observation`, which computes them).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from flowsim.calibration.errors import ErrorColumns, goal_epsilon, log_kernel
from flowsim.calibration.observation import Layout, ObservationPlan, column_layout, needs
from flowsim.scenario.model import Scenario, Target

__all__ = ["FLOOR", "NORMS", "ObservationPlan", "TargetSet", "combine", "record_for",
           "target_distance"]

FLOOR = 1e-3
NORMS = ("rms", "max")
Norm = Literal["rms", "max"]

def record_for(targets: Sequence[Target]) -> tuple[str, ...]:
    """The engine variables to record so that the observables of ``targets`` can be computed."""
    out: dict[str, None] = {}
    for t in targets:
        out.update(dict.fromkeys(needs(t)))
    return tuple(out)


def target_floor(low: float, high: float, floor: float = FLOOR) -> float:
    """The floor ``f`` of a target with accepted range ``[low, high]`` (see the module doc)."""
    finite = [abs(b) for b in (low, high) if math.isfinite(b)]
    scale = max(finite, default=0.0)
    return floor * scale if scale > 0 else 1.0


def target_distance(x: Any, low: Any, high: Any, floor: Any) -> np.ndarray:
    """Distance of observables ``x`` to the accepted ranges ``[low, high]``, elementwise.

    Zero inside the range (bounds included), ``|log((x + f) / (b + f))|`` outside it, where
    ``b`` is the violated bound and ``f`` the floor; ``inf`` for NaN or infinite ``x``.

    Parameters
    ----------
    x : array_like
        Observables, e.g. of shape ``(replicates, M)``.
    low, high, floor : array_like
        Broadcastable to ``x`` (e.g. of shape ``(M,)``); ``low`` may be ``-inf`` and
        ``high`` ``inf``.

    Returns
    -------
    ndarray of float, the broadcast shape
    """
    x = np.asarray(x, dtype=float)
    low = np.maximum(np.asarray(low, dtype=float), 0.0)
    high = np.maximum(np.asarray(high, dtype=float), 0.0)
    f = np.asarray(floor, dtype=float)
    bad = ~np.isfinite(x)
    xc = np.where(bad, 0.0, np.maximum(x, 0.0))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        below = np.where(xc < low, np.log((low + f) / (xc + f)), 0.0)
        above = np.where(xc > high, np.log((xc + f) / (high + f)), 0.0)
    return np.where(bad, np.inf, below + above)


def combine(d: np.ndarray, norm: Norm = "rms", axis: int = -1) -> np.ndarray:
    """Combine distances along ``axis``: root mean square (``"rms"``) or maximum (``"max"``)."""
    d = np.asarray(d, dtype=float)
    if norm == "rms":
        with np.errstate(over="ignore"):
            return np.sqrt(np.mean(np.square(d), axis=axis))
    if norm == "max":
        return np.max(d, axis=axis)
    raise ValueError(f"unknown norm {norm!r}; choose 'rms' or 'max'")



@dataclasses.dataclass(frozen=True, eq=False)
class TargetSet:
    """A fixed list of targets laid out as the columns of an observation matrix.

    Build it with :meth:`build`. Attributes hold one entry per column.

    Attributes
    ----------
    targets : tuple of Target
    columns : tuple of str
        Column labels (see :func:`flowsim.calibration.observation.column_layout`).
    column_target : ndarray of int, shape (M,)
        Index in ``targets`` of each column.
    column_country : tuple of str or None
        The country of each column of an ``each: true`` target, else ``None``.
    low, high, floor : ndarray of float, shape (M,)
        The accepted range and the floor of each column; for a column with an error model,
        the values within 2 sds of its figure (:func:`flowsim.calibration.errors.band`).
    norm : {"rms", "max"}
        How columns combine into a target, and targets into the total distance.
    column_value : ndarray of float, shape (M,)
        The central figure of each column (the window's figure for a series; NaN for a
        range or bound without one).
    errors : ErrorColumns or None
        The error model of each column; ``None`` when no target has one (then every
        distance is the range distance above, computed as it always was).
    target_weights : ndarray of float, shape (len(targets),), or None
        Ranges only: each target's distance is multiplied by its weight before they combine
        (:meth:`with_weights`; the adaptive distance of calibration). ``None``: all 1.
    """

    targets: tuple[Target, ...]
    columns: tuple[str, ...]
    column_target: np.ndarray
    column_country: tuple[str | None, ...]
    low: np.ndarray
    high: np.ndarray
    floor: np.ndarray
    norm: Norm = "rms"
    column_value: np.ndarray | None = None
    errors: ErrorColumns | None = None
    target_weights: np.ndarray | None = None

    @classmethod
    def build(cls, targets: Sequence[Target], scenario: Scenario | None = None,
              norm: Norm = "rms", floor: float = FLOOR) -> TargetSet:
        """Lay out ``targets`` as columns.

        Parameters
        ----------
        targets : sequence of Target (or of mappings that validate as one)
        scenario : Scenario, optional
            Needed to expand the countries of ``each: true`` targets.
        norm : {"rms", "max"}
        floor : float
            The floor as a fraction of the target's largest finite bound.
        """
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r}; choose 'rms' or 'max'")
        targets = tuple(t if isinstance(t, Target) else Target.model_validate(t)
                        for t in targets)
        if not targets:
            raise ValueError("no targets to calibrate to: give `targets:` in the scenario or "
                             "pass targets=")
        ids = [t.id for t in targets]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"target ids must be unique; repeated: {', '.join(dup)}")
        layout = column_layout(targets, scenario)
        low, high, fl, central, entries = [], [], [], [], []
        for col in layout:
            t = targets[col.target]
            lo, hi = t.bounds
            v = None
            if col.window is not None:  # a series: the window's figure ± the tolerance
                v = col.window[2]
                lo, hi = v * lo, v * hi
            f = target_floor(lo, hi, floor)
            low.append(lo)
            high.append(hi)
            fl.append(f)
            central.append(v if v is not None else
                           (math.nan if t.value is None else float(t.value)))
            entries.append((t, v, f))
        low_a, high_a = np.array(low, dtype=float), np.array(high, dtype=float)
        errors = None
        if any(t.error is not None for t in targets):
            errors = ErrorColumns.build(entries)
            band_lo, band_hi = errors.band()
            low_a = np.where(errors.active, band_lo, low_a)
            high_a = np.where(errors.active, band_hi, high_a)
        return cls(targets, tuple(c.label for c in layout),
                   np.array([c.target for c in layout], dtype=np.int64),
                   tuple(c.country for c in layout), low_a, high_a,
                   np.array(fl, dtype=float), norm, np.array(central, dtype=float), errors)

    # -- what the set is --------------------------------------------------------------------

    @property
    def record(self) -> tuple[str, ...]:
        """The engine variables the observables need (for ``simulate(record=...)``)."""
        return record_for(self.targets)

    @property
    def mixed(self) -> bool:
        """Whether some targets have an error model and others are ranges."""
        return self.errors is not None and not bool(self.errors.active.all())

    @property
    def goal(self) -> float:
        """The tolerance at which calibration has converged: 0 for ranges (every target
        met), :func:`~flowsim.calibration.errors.goal_epsilon` for error models."""
        if self.errors is None:
            return 0.0
        return goal_epsilon(len(self.columns), self.norm)

    def check_combinable(self) -> None:
        """Raise a ValueError if the targets mix error models and ranges (see the module
        doc); a calibration needs one distance."""
        if self.mixed:
            err = [t.id for t in self.targets if t.error is not None]
            rng = [t.id for t in self.targets if t.error is None]
            raise ValueError(
                f"the targets mix error models ({', '.join(err[:3])}{', ...' if len(err) > 3 else ''}) "
                f"and ranges ({', '.join(rng[:3])}{', ...' if len(rng) > 3 else ''}), whose "
                "distances do not add up: give every target an `error:` block, or none (in a "
                "targets file, `error_model: error` gives each target without one the error "
                "its kind implies)")

    # -- observing ----------------------------------------------------------------------------

    def observe(self, results: Any) -> np.ndarray:
        """The observation matrix ``(replicates, M)`` of a :class:`~flowsim.Results`.

        The results must carry the scenario (for group names) and the variables in
        :attr:`record`; the numbers are those of :meth:`plan` (one observation model,
        :mod:`flowsim.calibration.observation`).
        """
        plan = ObservationPlan.for_results(self.targets, results)
        obs = plan.observe(results)
        if obs.shape[1] != len(self.columns):
            raise ValueError(f"the results' scenario gives {obs.shape[1]} target columns, the "
                             f"layout expects {len(self.columns)} ({', '.join(self.columns)})")
        return obs

    def plan(self, model: Any, scenario: Scenario | None = None) -> ObservationPlan:
        """The observation matrix as index arithmetic on the engine's arrays.

        Calibration observes every block of replicates where it ran, with this plan.

        Parameters
        ----------
        model : CompiledModel
        scenario : Scenario, optional
            For group names in ``where`` (as in :meth:`build`).
        """
        return ObservationPlan.build(self.targets, Layout.from_model(model, scenario), scenario)

    # -- distances ---------------------------------------------------------------------------

    def z(self, obs: np.ndarray) -> np.ndarray:
        """Standardized residuals of the error columns (NaN for range columns)."""
        if self.errors is None:
            return np.full(np.shape(obs), np.nan)
        return self.errors.z(obs)

    def column_distances(self, obs: np.ndarray) -> np.ndarray:
        """Per-column distances, shape ``(..., M)`` like ``obs``: the range distance, or
        ``|z|`` for a column with an error model."""
        d = target_distance(obs, self.low, self.high, self.floor)
        if self.errors is None:
            return d
        return np.where(self.errors.active, self.errors.z(obs), d)

    def target_distances(self, obs: np.ndarray) -> np.ndarray:
        """Per-target distances, shape ``(..., len(targets))``."""
        d = self.column_distances(obs)
        if len(self.columns) == len(self.targets):
            return d
        parts = [combine(d[..., self.column_target == i], self.norm)
                 for i in range(len(self.targets))]
        return np.stack(parts, axis=-1)

    def with_weights(self, weights: np.ndarray | None) -> TargetSet:
        """The same set with each target's distance weighted (ranges only; ``None``: none).

        Weights change which misses count most, never which replicates meet every target
        (a weighted distance is zero exactly when the unweighted one is), so the ABC
        posterior at tolerance 0 is the same.
        """
        if weights is not None:
            if self.errors is not None:
                raise ValueError("targets with error models are weighted by their errors' "
                                 "sds already; weights are for range targets")
            weights = np.asarray(weights, dtype=float)
            if weights.shape != (len(self.targets),) or not (weights > 0).all():
                raise ValueError(f"need {len(self.targets)} positive target weights")
        return dataclasses.replace(self, target_weights=weights)

    def distance(self, obs: np.ndarray) -> np.ndarray:
        """The total distance of each replicate, shape ``obs.shape[:-1]``.

        Ranges: the targets' distances (times :attr:`target_weights`, if any) combined.
        Error models: every column's ``|z|`` combined (each observation weighs the same).
        """
        if self.errors is None:
            d = self.target_distances(obs)
            if self.target_weights is not None:
                d = d * self.target_weights
            return combine(d, self.norm)
        self.check_combinable()
        return combine(self.errors.z(obs), self.norm)

    __call__ = distance

    def log_likelihood(self, obs: np.ndarray) -> np.ndarray:
        """The error model's log-likelihood ``-Σ z² / 2`` of each replicate (0 for ranges)."""
        if self.errors is None:
            return np.zeros(np.shape(obs)[:-1])
        return log_kernel(self.errors.z(obs))

    def met(self, obs: np.ndarray) -> np.ndarray:
        """Whether each column's observable lies in its accepted range, or within 2 sds of
        its figure (NaN: not met)."""
        obs = np.asarray(obs, dtype=float)
        return (obs >= self.low) & (obs <= self.high)
