"""Where randomness enters the engine: exact draws, and coupled draws for paired comparisons.

:class:`ExactSampler` draws numpy's exact binomials and hypergeometrics from one block's
stream. :class:`CoupledSampler` gives common random numbers to paired comparisons, as
follows.

Reusing a seed does not couple two runs with numpy's samplers: their draws consume a variable
number of uniforms, so two runs drift apart after their first difference. The
:class:`CoupledSampler` instead gives every draw its own uniform, keyed by
``(seed, replicate, step, site, country or route, cohort)`` through a counter-based hash, and
turns it into a count by a transform that is **monotone** in the uniform. A baseline and a
counterfactual then use the same uniform for the same event, and their counts differ only as
much as their probabilities and populations do.

The transform (``binomial_icdf``):

* ``n == 0`` or ``p == 0`` gives 0, ``p == 1`` gives ``n``;
* when the variance ``n p (1 - p)`` is below :data:`EXACT_VARIANCE`, the exact inverse CDF,
  found by a vectorized sequential search from 0 (by symmetry from ``n`` when ``p > 1/2``);
* above it, the quantile of the normal approximation with a Cornish–Fisher skewness term and a
  continuity correction, clipped to ``[0, n]``. Its CDF differs from the binomial's by
  O(1/variance) (below 1e-3 at the threshold), which goodness-of-fit tests against the exact
  sampler do not detect at the sample sizes of the test suite.

Every result is a whole number between 0 and ``n``, so the engine's bookkeeping conserves
people exactly as with the exact sampler.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

__all__ = ["EXACT_VARIANCE", "CoupledSampler", "ExactSampler", "binomial_icdf", "keyed_uniform"]

EXACT_VARIANCE = 100.0

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: a bijective, well-mixing hash of 64-bit words."""
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def keyed_uniform(*keys: np.ndarray | int) -> np.ndarray:
    """Uniforms in (0, 1), one per broadcast element of the integer ``keys``.

    The same keys give the same uniform, and any change of any key gives an independent one
    (as far as a 64-bit hash can tell).
    """
    h = np.uint64(0x243F6A8885A308D3)
    for k in keys:
        h = _mix(np.bitwise_xor(h, np.asarray(k, dtype=np.uint64)))
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)


def binomial_icdf(n: np.ndarray, p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A Binomial(n, p) count that is non-decreasing in the uniform ``u``.

    Exact inverse CDF when the variance is small, a corrected normal quantile when it is
    large (see the module docstring).
    """
    n, p, u = np.broadcast_arrays(np.asarray(n, dtype=np.int64), np.asarray(p, dtype=float),
                                  np.asarray(u, dtype=float))
    out = np.zeros(n.shape, dtype=np.int64)
    full = (p >= 1.0) & (n > 0)
    out[full] = n[full]
    live = (n > 0) & (p > 0.0) & ~full
    if not live.any():
        return out
    nn, pp, uu = n[live], p[live], u[live]
    # by symmetry, search from the nearer end: X = n - Y with Y ~ Bin(n, 1-p) at 1-u
    flip = pp > 0.5
    q = np.where(flip, 1.0 - pp, pp)
    v = np.where(flip, 1.0 - uu, uu)
    var = nn * q * (1.0 - q)
    y = np.empty(nn.shape, dtype=np.int64)
    small = var < EXACT_VARIANCE
    if small.any():
        y[small] = _search(nn[small], q[small], v[small])
    big = ~small
    if big.any():
        y[big] = _normal_quantile(nn[big], q[big], v[big])
    # a flipped draw at 1-u: Y is non-decreasing in 1-u, so n - Y is non-decreasing in u;
    # ties at the boundary go the right way because v = 1 - u is never exactly a CDF value
    out[live] = np.where(flip, nn - y, y)
    return out


def _search(n: np.ndarray, p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Exact inverse CDF by sequential search from 0 (p <= 1/2, small variance)."""
    x = np.zeros(n.shape, dtype=np.int64)
    pmf = np.exp(n * np.log1p(-p))
    cdf = pmf.copy()
    ratio = p / (1.0 - p)
    todo = np.flatnonzero(u > cdf)
    while todo.size:
        x[todo] += 1
        k = x[todo]
        pmf[todo] *= (n[todo] - k + 1) / k * ratio[todo]
        cdf[todo] += pmf[todo]
        # stop at n; and when floating-point round-off leaves the sum a hair below u in the
        # far tail, stop where the remaining mass is negligible
        done = (u[todo] <= cdf[todo]) | (k >= n[todo]) | (pmf[todo] < 1e-300)
        todo = todo[~done]
    return x


def _normal_quantile(n: np.ndarray, p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Normal quantile with Cornish–Fisher skewness correction (large variance)."""
    mean = n * p
    sd = np.sqrt(n * p * (1.0 - p))
    z = special.ndtri(u)
    skew = (1.0 - 2.0 * p) / sd
    x = mean + sd * (z + skew * (z * z - 1.0) / 6.0)
    return np.clip(np.floor(x + 0.5), 0, n).astype(np.int64)


class CoupledSampler:
    """Draws keyed on ``(seed, replicate, step, site, index, cohort)`` (common random numbers).

    Parameters
    ----------
    seed_key : int
        A 64-bit key derived from the run's seed (the same in the runs to be compared).
    replicates : ndarray of int
        The global indices of the block's replicates (axis 0 of every draw).
    """

    def __init__(self, seed_key: int, replicates: np.ndarray) -> None:
        self.seed_key = np.uint64(seed_key % 2**64)
        self.replicates = np.asarray(replicates, dtype=np.uint64)
        self.step = 0

    def start_step(self, step: int) -> None:
        self.step = step

    def _uniform(self, shape: tuple[int, ...], site: int,
                 index: np.ndarray | None) -> np.ndarray:
        rep = self.replicates.reshape((-1,) + (1,) * (len(shape) - 1))
        if index is None:  # (B, K)
            mid: np.ndarray | int = 0
        else:
            mid = np.asarray(index, dtype=np.uint64).reshape((1, -1) + (1,) * (len(shape) - 2))
        cohort = np.arange(shape[-1], dtype=np.uint64) if len(shape) >= 2 else 0
        return keyed_uniform(self.seed_key, rep, self.step, site, mid, cohort)

    def binomial(self, n: np.ndarray, p: np.ndarray, site: int,
                 index: np.ndarray | None = None) -> np.ndarray:
        n = np.asarray(n)
        u = self._uniform(n.shape, site, index)
        return binomial_icdf(n, p, u)

    def hypergeometric(self, good: np.ndarray, bad: np.ndarray, nsample: np.ndarray,
                       site: int, index: tuple[np.ndarray, np.ndarray] | None = None
                       ) -> np.ndarray:
        """Hypergeometric draws by inverse CDF (rare: only groups over their capacity).

        ``index`` is ``(rows, groups)``: the replicate (row of the block) and the route or
        country of each element of the flat arguments.
        """
        good, bad, nsample = np.broadcast_arrays(good, bad, nsample)
        if index is None:
            rows, groups = np.zeros(good.shape, dtype=np.int64), np.arange(good.size)
        else:
            rows, groups = index
        u = keyed_uniform(self.seed_key, self.replicates[rows], self.step, site,
                          np.asarray(groups, dtype=np.uint64))
        x = stats.hypergeom.ppf(u, good + bad, good, nsample)
        lo = np.maximum(0, nsample - bad)
        hi = np.minimum(good, nsample)
        return np.clip(np.nan_to_num(x, nan=0.0), lo, hi).astype(np.int64)


class ExactSampler:
    """Exact binomial and hypergeometric draws from one numpy Generator.

    ``site`` identifies the draw within a step and ``index`` the countries or routes along
    axis 1 of ``n`` (``None`` when axis 1 is the cohort); the exact sampler ignores both, a
    coupled sampler for paired comparisons keys its random numbers on them.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def start_step(self, step: int) -> None:
        """Called at the start of each step."""

    def binomial(self, n: np.ndarray, p: np.ndarray, site: int,
                 index: np.ndarray | None = None) -> np.ndarray:
        """Binomial(n, p) draws, elementwise with broadcasting."""
        return self.rng.binomial(n, p)

    def hypergeometric(self, good: np.ndarray, bad: np.ndarray, nsample: np.ndarray,
                       site: int, index: tuple[np.ndarray, np.ndarray] | None = None
                       ) -> np.ndarray:
        """Hypergeometric draws: of ``nsample`` taken from ``good + bad``, how many good.

        The arguments are flat; ``index`` is ``(rows, groups)``, the block row (replicate)
        and the route or country of each element.
        """
        return self.rng.hypergeometric(good, bad, nsample)
