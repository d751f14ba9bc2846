"""Morris elementary-effects screening: the design, the effects, their bootstrap intervals.

Used by :func:`flowsim.calibration.sensitivity.sensitivity` (``method="morris"``), written on
numpy because scipy has no Morris method and SALib would be a new dependency for some
thirty lines of arithmetic (see :mod:`flowsim.calibration.sensitivity` for the choice).

**Design** (Morris 1991, with the Δ of Campolongo, Cariboni and Saltelli 2007). Each
parameter moves on a grid of ``p`` levels (:data:`DEFAULT_LEVELS`, 4) in the probability
space of its prior: level ``k`` is the prior's quantile ``(k + 0.5) / p``, the middle of one
of ``p`` equally likely slices, so that unbounded priors (normal, lognormal) need no
truncation. A **trajectory** starts at a random level of every parameter (uniform, independent)
and moves the parameters one at a time, in a random order, by ``p / 2`` levels: up from the
lower half of the grid, down from the upper half. Each move is a jump of Δ = 0.5 in
probability (from the 12.5% to the 62.5% quantile, say, for ``p = 4``): a trajectory costs
``d + 1`` simulations for ``d`` parameters, and gives one elementary effect per parameter.

**Effects.** The elementary effect of parameter ``i`` on an outcome is the change of the
outcome when ``i`` moves up by Δ, the others held: ``EE = f(x + Δ e_i) - f(x)``, in the
outcome's own units (not divided by Δ, which is the same for every parameter). Over ``r``
trajectories: ``mu_star`` is the mean of ``|EE|`` (the screening measure: a parameter with a
small ``mu_star`` can be fixed), ``mu`` the mean of ``EE`` (its sign says the direction) and
``sigma`` their standard deviation (large when the effect depends on where the others are:
interactions or non-linearity). The model's own randomness adds a difference of two
independent replicates to every effect, so ``sigma`` is never zero and ``mu_star`` of a
parameter without effect is about ``0.8 sqrt(2)`` times the replicates' sd.

**Intervals.** Trajectories are independent, so the effects are resampled by trajectory
(``resamples`` bootstrap samples, percentile intervals), with counts from a multinomial
draw so that every statistic of every resample is one matrix product.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_LEVELS", "MORRIS_INDICES", "elementary_effects", "morris_design",
           "morris_indices"]

#: levels of the grid of each parameter (even, so that Δ = p / 2 levels is one jump)
DEFAULT_LEVELS = 4
#: the statistics of the elementary effects, in the order they are reported
MORRIS_INDICES = ("mu_star", "mu", "sigma")


def morris_design(d: int, trajectories: int, rng: np.random.Generator,
                  levels: int = DEFAULT_LEVELS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The points of ``trajectories`` Morris trajectories in probability space.

    Parameters
    ----------
    d : int
        Number of parameters.
    trajectories : int
        Number of trajectories ``r``.
    rng : numpy.random.Generator
    levels : int
        Levels per parameter ``p`` (even, at least 2).

    Returns
    -------
    u : ndarray, shape (r, d + 1, d)
        The probabilities (prior quantile levels) of every point of every trajectory.
    order : ndarray of int, shape (r, d)
        The parameter moved at each step of each trajectory.
    sign : ndarray, shape (r, d)
        +1 where that move went up, -1 where it went down.
    """
    if levels < 2 or levels % 2:
        raise ValueError(f"Morris levels must be even and at least 2, not {levels}")
    jump = levels // 2
    k = rng.integers(0, levels, size=(trajectories, d))
    order = np.argsort(rng.random((trajectories, d)), axis=1)  # a random permutation each
    points = np.empty((trajectories, d + 1, d), dtype=np.int64)
    sign = np.empty((trajectories, d))
    points[:, 0] = k
    rows = np.arange(trajectories)
    for j in range(d):
        i = order[:, j]
        up = k[rows, i] < jump
        k[rows, i] += np.where(up, jump, -jump)
        sign[:, j] = np.where(up, 1.0, -1.0)
        points[:, j + 1] = k
    return (points + 0.5) / levels, order, sign


def elementary_effects(f: np.ndarray, order: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """The elementary effects of a design's outcomes.

    Parameters
    ----------
    f : ndarray, shape (r, d + 1, s)
        The ``s`` outcomes at every point of every trajectory.
    order, sign : ndarray, shape (r, d)
        From :func:`morris_design`.

    Returns
    -------
    ndarray, shape (r, s, d)
        ``EE[t, o, i]``: the effect on outcome ``o`` of moving parameter ``i`` up by Δ, in
        trajectory ``t``.
    """
    r, steps, s = f.shape
    d = steps - 1
    step = (f[:, 1:] - f[:, :-1]) * sign[:, :, None]  # (r, d, s), in the order of moves
    ee = np.empty((r, s, d))
    rows = np.arange(r)[:, None]
    ee[rows, :, order] = step  # back to parameter order
    return ee


def morris_indices(ee: np.ndarray, rng: np.random.Generator, confidence: float = 0.9,
                   resamples: int = 999) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``mu_star``, ``mu`` and ``sigma`` of elementary effects, with bootstrap intervals.

    Parameters
    ----------
    ee : ndarray, shape (r, s, d)
        From :func:`elementary_effects`.
    rng : numpy.random.Generator
        For the bootstrap resamples of trajectories.
    confidence : float
        Level of the percentile intervals.
    resamples : int
        Bootstrap resamples.

    Returns
    -------
    dict
        ``{index: (estimate, low, high)}``, each of shape ``(s, d)``.
    """
    r = ee.shape[0]
    flat = ee.reshape(r, -1)
    weights = rng.multinomial(r, np.full(r, 1.0 / r), size=resamples) / r  # (B, r)

    def stats(w: np.ndarray) -> dict[str, np.ndarray]:
        mu = w @ flat
        second = w @ flat**2
        var = np.clip(second - mu**2, 0.0, None) * (r / (r - 1) if r > 1 else np.nan)
        return {"mu_star": w @ np.abs(flat), "mu": mu, "sigma": np.sqrt(var)}

    point = stats(np.full((1, r), 1.0 / r))
    boot = stats(weights)
    tail = (1.0 - confidence) / 2.0
    out = {}
    for name in MORRIS_INDICES:
        lo, hi = np.quantile(boot[name], [tail, 1.0 - tail], axis=0)
        out[name] = tuple(a.reshape(ee.shape[1:]) for a in (point[name][0], lo, hi))
    return out  # type: ignore[return-value]
