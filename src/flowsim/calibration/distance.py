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

Columns
-------
An observation matrix has shape ``(replicates, M)``: one column per target, except that an
``each: true`` target has one column per selected country, labelled ``"id[COUNTRY]"``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from flowsim.scenario.model import Scenario, Target

__all__ = ["FLOOR", "NORMS", "ObservationPlan", "TargetSet", "combine", "record_for",
           "target_distance"]

FLOOR = 1e-3
NORMS = ("rms", "max")
Norm = Literal["rms", "max"]

# The engine variables each observable is computed from (see Results.observable).
_NEEDS: dict[str, tuple[str, ...]] = {
    "departures": ("departures",),
    "abroad": ("stock",),
    "stock": ("stock",),
    "settled": ("settled",),
    "arrivals": ("arrivals",),
    "returns": ("returns",),
    "asylum_applications": ("asylum_applications",),
    "asylum_grants": ("asylum_grants",),
    "recognition_share": ("asylum_grants", "asylum_decisions"),
    "visas_issued": ("visas_issued",),
}


def record_for(targets: Sequence[Target]) -> tuple[str, ...]:
    """The engine variables to record so that the observables of ``targets`` can be computed."""
    out: dict[str, None] = {}
    for t in targets:
        for v in _NEEDS[t.observable]:
            out[v] = None
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


def _countries_in(scenario: Scenario, where: Sequence[str]) -> list[str]:
    # The same order as Results.countries_in: groups in scenario order, ids as listed.
    ids = [c.id for c in scenario.countries]
    groups = scenario.group_members()
    out: list[str] = []
    for n in where:
        if n in groups:
            out += [c for c in ids if c in groups[n] and c not in out]
        elif n not in out:
            out.append(n)
    return out


@dataclasses.dataclass(frozen=True, eq=False)
class TargetSet:
    """A fixed list of targets laid out as the columns of an observation matrix.

    Build it with :meth:`build`. Attributes hold one entry per column.

    Attributes
    ----------
    targets : tuple of Target
    columns : tuple of str
        Column labels: the target id, or ``"id[COUNTRY]"`` for ``each: true`` targets.
    column_target : ndarray of int, shape (M,)
        Index in ``targets`` of each column.
    column_country : tuple of str or None
        The country of each column of an ``each: true`` target, else ``None``.
    low, high, floor : ndarray of float, shape (M,)
        The accepted range and the floor of each column.
    norm : {"rms", "max"}
        How columns combine into a target, and targets into the total distance.
    """

    targets: tuple[Target, ...]
    columns: tuple[str, ...]
    column_target: np.ndarray
    column_country: tuple[str | None, ...]
    low: np.ndarray
    high: np.ndarray
    floor: np.ndarray
    norm: Norm = "rms"

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
        columns: list[str] = []
        owner: list[int] = []
        country: list[str | None] = []
        low, high, fl = [], [], []
        for i, t in enumerate(targets):
            lo, hi = t.bounds
            if t.each:
                if scenario is None:
                    raise ValueError(f"target {t.id!r} has `each: true`: pass the scenario to "
                                     "know its countries")
                places = _countries_in(scenario, t.where or ())
            else:
                places = [None]
            for c in places:
                columns.append(t.id if c is None else f"{t.id}[{c}]")
                owner.append(i)
                country.append(c)
                low.append(lo)
                high.append(hi)
                fl.append(target_floor(lo, hi, floor))
        return cls(targets, tuple(columns), np.array(owner, dtype=np.int64), tuple(country),
                   np.array(low, dtype=float), np.array(high, dtype=float),
                   np.array(fl, dtype=float), norm)

    @property
    def record(self) -> tuple[str, ...]:
        """The engine variables the observables need (for ``simulate(record=...)``)."""
        return record_for(self.targets)

    def observe(self, results: Any) -> np.ndarray:
        """The observation matrix ``(replicates, M)`` of a :class:`~flowsim.Results`.

        The results must carry the scenario (for group names) and the variables in
        :attr:`record`.
        """
        R = results.replicates
        out = np.empty((R, len(self.columns)), dtype=float)
        col = 0
        for t in self.targets:
            da = results.observable(t)
            if t.each:
                n = int(np.sum(self.column_target == self.targets.index(t)))
                got = [str(c) for c in da["country"].values]
                want = list(self.column_country[col:col + n])
                if got != want:
                    raise ValueError(f"target {t.id!r}: the results hold countries {got}, the "
                                     f"layout expects {want}")
                out[:, col:col + n] = da.transpose("replicate", "country").values
                col += n
            else:
                out[:, col] = da.values
                col += 1
        return out

    def plan(self, model: Any, scenario: Scenario | None = None) -> ObservationPlan:
        """The observation matrix as index arithmetic on the engine's arrays (fast).

        :meth:`observe` goes through :class:`~flowsim.Results` and xarray, which costs about
        4 ms per target per call; calibration observes every block of replicates where it
        ran, so it uses this plan instead (the same numbers, see :class:`ObservationPlan`).

        Parameters
        ----------
        model : CompiledModel
        scenario : Scenario, optional
            For group names in ``where`` (as in :meth:`build`).
        """
        return ObservationPlan.build(self, model, scenario)

    def column_distances(self, obs: np.ndarray) -> np.ndarray:
        """Per-column distances, shape ``(..., M)`` like ``obs``."""
        return target_distance(obs, self.low, self.high, self.floor)

    def target_distances(self, obs: np.ndarray) -> np.ndarray:
        """Per-target distances, shape ``(..., len(targets))``."""
        d = self.column_distances(obs)
        if len(self.columns) == len(self.targets):
            return d
        parts = [combine(d[..., self.column_target == i], self.norm)
                 for i in range(len(self.targets))]
        return np.stack(parts, axis=-1)

    def distance(self, obs: np.ndarray) -> np.ndarray:
        """The total distance of each replicate, shape ``obs.shape[:-1]``."""
        return combine(self.target_distances(obs), self.norm)

    __call__ = distance

    def met(self, obs: np.ndarray) -> np.ndarray:
        """Whether each column's observable lies in its accepted range (NaN: not met)."""
        obs = np.asarray(obs, dtype=float)
        return (obs >= self.low) & (obs <= self.high)


def _days(dates: Sequence[Any]) -> np.ndarray:
    return np.array([np.datetime64(d, "D") for d in dates], dtype="datetime64[D]")


@dataclasses.dataclass(frozen=True, eq=False)
class ObservationPlan:
    """How to read a :class:`TargetSet`'s columns off the engine's arrays, without labels.

    The same quantities as :meth:`flowsim.Results.observable` (which stays the reference and
    is what :meth:`TargetSet.observe` uses): cohorts and countries are summed first (exact
    integers), then flows over a period are weighted by the share of each step's days inside
    it and summed over time; stocks are read at the end of the step holding the date.
    Build it with :meth:`TargetSet.plan`; call it with a mapping from variable name to the
    ``(replicate, time, ...)`` arrays of :data:`flowsim.engine.RECORDABLE`.
    """

    record: tuple[str, ...]
    #: per target: (observable, cohort indices or None, country indices or None, each,
    #: time weights or None, step index or None)
    items: tuple[tuple[str, Any, Any, bool, Any, Any], ...]
    n_columns: int

    @classmethod
    def build(cls, targets: TargetSet, model: Any,
              scenario: Scenario | None = None) -> ObservationPlan:
        starts, ends = _days(model.step_starts), _days(model.step_ends)
        countries = list(model.country_ids)
        cohorts = list(model.cohort_names)
        groups = scenario.group_members() if scenario is not None else {}

        def window(start: Any, end: Any) -> np.ndarray:
            lo = starts[0] if start is None else np.datetime64(start, "D")
            hi = ends[-1] if end is None else np.datetime64(end, "D")
            inside = (np.minimum(ends, hi) - np.maximum(starts, lo)).astype(int) + 1
            return np.clip(inside, 0, None) / ((ends - starts).astype(int) + 1)

        def step_at(at: Any) -> int:
            d = np.datetime64(at, "D")
            if d < starts[0] or d > ends[-1]:
                raise ValueError(f"{d} is outside the simulated period ({starts[0]} to "
                                 f"{ends[-1]})")
            return int(np.searchsorted(ends, d, side="left"))

        def places(where: Any) -> np.ndarray:
            if where is None:
                return np.arange(len(countries))
            out: list[str] = []
            for n in where:
                if n in groups:
                    out += [c for c in countries if c in groups[n] and c not in out]
                elif n in countries:
                    if n not in out:
                        out.append(n)
                else:
                    raise KeyError(f"unknown country or group {n!r}")
            return np.array([countries.index(c) for c in out], dtype=np.int64)

        items = []
        for t in targets.targets:
            coh = None if t.cohorts is None else np.array([cohorts.index(c) for c in t.cohorts])
            obs = t.observable
            if obs == "departures":
                items.append((obs, coh, None, False, window(t.start, t.end), None))
            elif obs == "abroad":
                others = np.array([i for i in range(len(countries)) if i != model.origin])
                items.append(("stock", coh, others, False, None, step_at(t.at)))
            elif obs in ("stock", "settled"):
                items.append((obs, coh, places(t.where), bool(t.each), None, step_at(t.at)))
            else:
                items.append((obs, coh, places(t.where), bool(t.each), window(t.start, t.end),
                              None))
        return cls(targets.record, tuple(items), len(targets.columns))

    def __call__(self, arrays: Any) -> np.ndarray:
        """The observation matrix ``(replicates, M)``."""
        out: list[np.ndarray] = []
        for obs, coh, where, each, w, step in self.items:
            if obs == "recognition_share":
                g = self._total(arrays["asylum_grants"], coh, where, each, w)
                d = self._total(arrays["asylum_decisions"], coh, where, each, w)
                with np.errstate(divide="ignore", invalid="ignore"):
                    x = np.where(d > 0, g / np.where(d > 0, d, 1.0), 0.0)
            elif step is not None:  # a stock at a date
                a = arrays[obs][:, step]  # (R, country, cohort)
                a = a.sum(axis=-1) if coh is None else a[..., coh].sum(axis=-1)
                a = a[:, where]
                x = a if each else a.sum(axis=1)
            else:
                x = self._total(arrays[obs], coh, where, each, w)
            out.append(np.asarray(x, dtype=float).reshape(x.shape[0], -1))
        obs_matrix = np.concatenate(out, axis=1)
        if obs_matrix.shape[1] != self.n_columns:  # pragma: no cover - a bug, not user input
            raise RuntimeError("the observation plan does not match its target columns")
        return obs_matrix

    @staticmethod
    def _total(a: np.ndarray, coh: Any, where: Any, each: bool, w: np.ndarray) -> np.ndarray:
        """A flow summed over cohorts and places, weighted over a period."""
        a = a.sum(axis=-1) if coh is None else a[..., coh].sum(axis=-1)  # (R, T[, country])
        if a.ndim == 3:
            a = a[:, :, where]
            if not each:
                a = a.sum(axis=2)
        return (a * (w if a.ndim == 2 else w[:, None])).sum(axis=1)
