"""Error models of published figures: standardized residuals, the likelihood kernel, the goal.

A target with an ``error:`` block (:class:`~flowsim.scenario.target_parts.TargetError`) is an
observation ``y`` of the model quantity ``x`` (times its coverage) with an error. Each of its
columns is read as a **flat region** ``[a, b]`` with **normal shoulders** of sd ``s``, on the
scale of the error (the count itself for ``normal``, ``log(x + f)`` for ``lognormal``):

==========================  ===============  =========================================
target                      flat region      sd ``s``
==========================  ===============  =========================================
``about`` (and each window  ``[y, y]``       ``sd``, or ``rsd × |y|`` (``normal``), or
of a ``series``)                             ``rsd`` (``lognormal``); ``rsd`` defaults
                                             to tolerance / 2 (the band read as ±2 sd)
``interval``, ``two_sd``    ``[c, c]``       ``(high - low) / 4``; ``c``: the central
                                             value, or the middle (geometric, lognormal)
``interval``, ``uniform``   ``[low, high]``  ``(high - low) / 4``
``at_least`` / ``at_most``  ``[y, ∞)`` /     ``sd``, or ``rsd × y`` (default rsd 0.125)
                            ``(-∞, y]``
==========================  ===============  =========================================

(for ``lognormal`` every end and the sd are on the log scale, with the floor ``f`` of
:mod:`flowsim.calibration.distance`.) The **standardized residual** of a simulated value is
its distance to the flat region in sds, ``z = (max(a - u, 0) + max(u - b, 0)) / s``, and the
error model's likelihood is ``exp(-z² / 2)`` up to a constant: a normal (or log-normal)
density around the figure, flat over a uniform interval or beyond a bound.

How calibration uses them (:mod:`flowsim.calibration.sampler`, docs/calibration.md):

* the ABC distance of a set of error targets is the **root mean square of the standardized
  residuals over every column** (``sqrt(2 NLL / M)``: each observation weighs the same,
  whatever target it belongs to), or their maximum with ``norm="max"``;
* the sampler lowers its tolerance until it reaches :func:`goal_epsilon`, the radius of the
  ball that holds 99.9 % of the error model's mass (``sqrt(χ²_M(0.999) / M)`` for the RMS):
  inside it every observation is within its error;
* the last population is then **reweighted by the likelihood** ``exp(-Σ z² / 2)``
  (:func:`log_kernel`). The ABC posterior at a tolerance ``ε`` with these weights is
  ``prior × E[exp(-Σ z²/2) 1(D <= ε)]``, the exact posterior under the error model (Wilkinson
  2013) except for the likelihood mass beyond the ball (0.1 % at the goal when the model can
  fit the figures; less otherwise).

Within its error (``met``): ``|z| <= 2`` — the band :func:`band` gives in the figure's units.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from flowsim.scenario.model import Target
from flowsim.scenario.target_parts import DEFAULT_BOUND_RSD, DEFAULT_TOLERANCE

__all__ = ["GOAL_MASS", "MET_SD", "ErrorColumns", "goal_epsilon", "log_kernel"]

#: the share of the error model's mass that the goal tolerance holds
GOAL_MASS = 0.999
#: a figure is met ("within its error") when the model is within this many sds of it
MET_SD = 2.0


@dataclasses.dataclass(frozen=True, eq=False)
class ErrorColumns:
    """The error model of each column of a target set (NaN rows for range columns).

    Attributes
    ----------
    active : ndarray of bool, shape (M,)
        Whether the column has an error model (else it is read as a range).
    log : ndarray of bool
        Whether its error is log-normal.
    flat_lo, flat_hi : ndarray of float
        The flat region on the error's scale (``-inf``/``inf`` for an open side).
    scale : ndarray of float
        The sd on that scale.
    floor : ndarray of float
        The floor ``f`` of the log scale.
    """

    active: np.ndarray
    log: np.ndarray
    flat_lo: np.ndarray
    flat_hi: np.ndarray
    scale: np.ndarray
    floor: np.ndarray

    @classmethod
    def build(cls, entries: Sequence[tuple[Target, float | None, float]]) -> ErrorColumns:
        """From one ``(target, window figure or None, floor)`` per column."""
        rows = [_column(t, v, f) for t, v, f in entries]
        a = np.array(rows, dtype=float).reshape(len(rows), 6)
        return cls(a[:, 0] > 0, a[:, 1] > 0, a[:, 2], a[:, 3], a[:, 4], a[:, 5])

    @property
    def any(self) -> bool:
        return bool(self.active.any())

    def z(self, obs: Any) -> np.ndarray:
        """Standardized residuals ``|z|`` of observables, shape of ``obs`` (NaN where the
        column has no error model; ``inf`` for a NaN or infinite observable)."""
        x = np.asarray(obs, dtype=float)
        bad = ~np.isfinite(x)
        xc = np.where(bad, 0.0, x)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            u = np.where(self.log, np.log(np.maximum(xc, 0.0) + self.floor), xc)
            z = (np.maximum(self.flat_lo - u, 0.0) + np.maximum(u - self.flat_hi, 0.0)) \
                / self.scale
        z = np.where(bad, np.inf, z)
        return np.where(self.active, z, np.nan)

    def band(self) -> tuple[np.ndarray, np.ndarray]:
        """The values within :data:`MET_SD` sds of the figure, in the figure's units."""
        lo = self.flat_lo - MET_SD * self.scale
        hi = self.flat_hi + MET_SD * self.scale
        with np.errstate(over="ignore"):
            lo = np.where(self.log, np.exp(lo) - self.floor, lo)
            hi = np.where(self.log, np.exp(hi) - self.floor, hi)
        return lo, hi


def _column(t: Target, window_value: float | None, floor: float) -> tuple[float, ...]:
    """``(active, log, flat_lo, flat_hi, scale, floor)`` of one column."""
    e = t.error
    if e is None:
        return (0.0, 0.0, math.nan, math.nan, math.nan, math.nan)
    log = e.dist == "lognormal"
    tol = DEFAULT_TOLERANCE if t.tolerance is None else t.tolerance

    def on_scale(v: float) -> float:
        return math.log(max(v, 0.0) + floor) if log else v

    if t.kind == "interval":
        lo, hi = float(t.low), float(t.high)  # type: ignore[arg-type]
        s = (on_scale(hi) - on_scale(lo)) / 4
        if e.interval == "uniform":
            a, b = on_scale(lo), on_scale(hi)
        else:
            c = t.value if t.value is not None else (math.sqrt(lo * hi) if log else
                                                     (lo + hi) / 2)
            a = b = on_scale(float(c))
    else:
        v = float(window_value if window_value is not None else t.value)  # type: ignore[arg-type]
        rsd = e.rsd if e.rsd is not None else (
            DEFAULT_BOUND_RSD if t.kind in ("at_least", "at_most") else tol / 2)
        s = rsd if log else (e.sd if e.sd is not None else rsd * abs(v))
        a = -math.inf if t.kind == "at_most" else on_scale(v)
        b = math.inf if t.kind == "at_least" else on_scale(v)
    if not s > 0:
        raise ValueError(f"target {t.id!r}: its error has an sd of 0 (a relative sd of a "
                         "figure of 0, or an interval of no width); give `error.sd`")
    return (1.0, 1.0 if log else 0.0, a, b, s, floor)


def goal_epsilon(columns: int, norm: str = "rms") -> float:
    """The tolerance at which the ABC ball holds :data:`GOAL_MASS` of the error model's mass.

    For ``M`` columns with independent standard normal residuals: ``sqrt(χ²_M(0.999) / M)``
    for the root mean square, ``Φ⁻¹((1 + 0.999^(1/M)) / 2)`` for the maximum. Why 99.9 %: the
    posterior is the error model's truncated to the ball, and a normal truncated at its
    99.9 % radius keeps 99.4 % of its sd (at 99 %: 96 %, measured 95-96 % on a toy).
    """
    m = max(int(columns), 1)
    if norm == "max":
        return float(stats.norm.ppf(0.5 + 0.5 * GOAL_MASS ** (1.0 / m)))
    return float(math.sqrt(stats.chi2.ppf(GOAL_MASS, m) / m))


def log_kernel(z: np.ndarray) -> np.ndarray:
    """The error model's log-likelihood ``-Σ z² / 2`` over the last axis (the columns)."""
    return -0.5 * np.sum(np.square(np.nan_to_num(z, nan=0.0, posinf=np.inf)), axis=-1)
