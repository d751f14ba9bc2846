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

Capacity selection's hypergeometric counts are the same kind of draw: scipy's quantile of the
hypergeometric at the keyed uniform (its bisection, run on every element at once).

Every result is a whole number between 0 and ``n``, so the engine's bookkeeping conserves
people exactly as with the exact sampler.
"""

from __future__ import annotations

import math
import threading

import numpy as np
from scipy import special, stats

from flowsim.core import accel

__all__ = ["EXACT_VARIANCE", "CoupledSampler", "ExactSampler", "binomial_icdf", "keyed_uniform"]

EXACT_VARIANCE = 100.0

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: a bijective, well-mixing hash of 64-bit words."""
    if np.ndim(x) == 0:
        # a scalar: numpy scalars have no in-place operations, and warn when they wrap
        with np.errstate(over="ignore"):
            z = x + _GOLDEN
            z = (z ^ (z >> np.uint64(30))) * _M1
            z = (z ^ (z >> np.uint64(27))) * _M2
            return z ^ (z >> np.uint64(31))
    # arrays wrap without a warning (so no errstate, which costs more than a small array's
    # arithmetic); in place, with one scratch array (the same words): a block's uniforms are
    # the largest arrays hashed
    z = x + _GOLDEN
    t = np.right_shift(z, np.uint64(30))
    z ^= t
    z *= _M1
    z ^= np.right_shift(z, np.uint64(27), out=t)
    z *= _M2
    z ^= np.right_shift(z, np.uint64(31), out=t)
    return z


def keyed_uniform(*keys: np.ndarray | int) -> np.ndarray:
    """Uniforms in (0, 1), one per broadcast element of the integer ``keys``.

    The same keys give the same uniform, and any change of any key gives an independent one
    (as far as a 64-bit hash can tell).
    """
    return _unit(_hash(_KEY_START, *keys))


_KEY_START = np.uint64(0x243F6A8885A308D3)


def _hash(h: np.ndarray | np.uint64, *keys: np.ndarray | int) -> np.ndarray:
    """The hash of ``keys`` after the hash ``h`` of the keys before them."""
    for k in keys:
        h = _mix(np.bitwise_xor(h, np.asarray(k, dtype=np.uint64)))
    return np.asarray(h)


#: the largest double below 1
_BELOW_ONE = float(np.nextafter(1.0, 0.0))


def _unit(h: np.ndarray) -> np.ndarray:
    """The top 53 bits of a hash as a uniform in (0, 1), never 0 or 1."""
    u = (h >> np.uint64(11)).astype(np.float64)
    u += 0.5
    u *= 1.0 / 9007199254740992.0
    # the top value, (2**53 - 0.5) / 2**53, rounds to 1.0 (once in 2**53 draws): keep it below
    # 1, where every inverse CDF is defined; no other value changes
    return np.minimum(u, _BELOW_ONE)


def binomial_icdf(n: np.ndarray, p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A Binomial(n, p) count that is non-decreasing in the uniform ``u``.

    Exact inverse CDF when the variance is small, a corrected normal quantile when it is
    large (see the module docstring). With numba (``flowsim.core.accel``), the branching and
    the search run compiled: the same counts.
    """
    if accel.enabled():
        return accel.binomial_icdf(n, p, u, EXACT_VARIANCE, _normal_quantile)
    n, p, u = (np.asarray(n, dtype=np.int64), np.asarray(p, dtype=float),
               np.asarray(u, dtype=float))
    shape = np.broadcast_shapes(n.shape, p.shape, u.shape)
    n, u = (a if a.shape == shape else np.broadcast_to(a, shape) for a in (n, u))
    p = p.reshape((1,) * (len(shape) - p.ndim) + p.shape)
    out = np.zeros(shape, dtype=np.int64)
    live = (n > 0) & (p > 0.0)
    # p is often smaller than n (one probability for every replicate): what depends on p
    # alone is computed there, the same values as per element (the tests for p = 1 and
    # p > 1/2, q = p or 1 - p, and for the search log(1 - q) and q / (1 - q))
    if (p >= 1.0).any():
        full = live & (p >= 1.0)
        out[full] = n[full]
        live &= ~full
    if not live.any():
        return out
    some_flip = bool((p > 0.5).any())
    q = np.where(p > 0.5, 1.0 - p, p) if some_flip else p
    per_p = [p, q]
    if 4 * p.size <= math.prod(shape):
        with np.errstate(divide="ignore", invalid="ignore"):  # (values that are not used)
            per_p += [np.log1p(-q), q / (1.0 - q)]
    per_p = np.stack(per_p).reshape(len(per_p), -1)
    # each element's p: where p varies only along the trailing axes (one probability for
    # every replicate, or one per element), the flat index modulo p.size; else gathered
    lead = next((a for a, d in enumerate(p.shape) if d != 1), p.ndim)
    trailing = p.shape[lead:] == shape[lead:]
    place = None if trailing else np.broadcast_to(np.arange(p.size).reshape(p.shape), shape)
    flat_n, flat_u, flat_out = n.reshape(-1), u.reshape(-1), out.reshape(-1)
    with np.errstate(invalid="ignore"):  # (0 * inf where n = 0: not live)
        exact = (n * q) * (1.0 - q) < EXACT_VARIANCE  # the variance n q (1 - q), as before
    for branch, searched in ((live & exact, True), (live & ~exact, False)):
        if not branch.any():
            continue
        at = np.flatnonzero(branch)
        nn, v = flat_n.take(at), flat_u.take(at)
        of_p = np.take(per_p, at % p.size if place is None else place[branch], axis=1)
        flip = of_p[0] > 0.5 if some_flip else None
        if flip is not None:
            # by symmetry, search from the nearer end: X = n - Y with Y ~ Bin(n, 1-p) at 1-u
            v = np.where(flip, 1.0 - v, v)
        if searched:
            y = _search(nn, of_p[1], v, *of_p[2:])
        else:
            y = _normal_quantile(nn, of_p[1], v)
        # a flipped draw at 1-u: Y is non-decreasing in 1-u, so n - Y is non-decreasing in
        # u; ties at the boundary go the right way because v = 1 - u is never a CDF value
        flat_out[at] = y if flip is None else np.where(flip, nn - y, y)
    return out


# The exact search runs the recurrence of the step-by-step loop (``_search_stepwise``) a chunk
# of terms at a time: ``_FIRST_TERMS`` terms for every element, then twice as many for those
# still below their uniform, and so on (most counts are small, a few reach 200).
_FIRST_TERMS = 8
_MAX_TERMS = 255  # terms per chunk: a count of terms fits in a uint8
_CHUNK_CELLS = 1 << 19  # elements x terms per chunk (about 4 MB a buffer)
_MIN_CELLS = 1 << 12  # and at least this many: a chunk's overhead is worth about as many terms
_ACCUMULATE_BELOW = 256  # fewer elements than this: ufunc.accumulate beats a loop over terms
_TINY = 1e-300
_EXACT_FLOAT_N = 2**53 - 2  # n + 1 - k is exact in float64 up to here


_scratch_local = threading.local()
_SCRATCH_KEPT = 1 << 20  # cells of the largest buffers kept between calls (8 MB each)


def _scratch(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two float64 buffers and a bool one of at least ``size`` cells for :func:`_search`.

    Kept between calls (one set per thread, so that threaded workers never share one):
    fresh buffers of a few megabytes are fresh pages, whose first writes cost as much as
    the chunk's subtraction. Larger ones (a block of very many elements) are not kept.
    """
    bufs = getattr(_scratch_local, "buffers", None)
    if bufs is not None and bufs[0].size >= size:
        return bufs
    bufs = (np.empty(size), np.empty(size), np.empty(size, dtype=bool))
    if size <= _SCRATCH_KEPT:
        _scratch_local.buffers = bufs
    return bufs


def _search(n: np.ndarray, p: np.ndarray, u: np.ndarray, log_q: np.ndarray | None = None,
            ratio: np.ndarray | None = None) -> np.ndarray:
    """Exact inverse CDF by sequential search from 0 (p <= 1/2, small variance).

    The smallest ``k`` with ``u <= cdf(k)``, stopping at ``n``, or where the pmf falls below
    1e-300 (when round-off leaves the sum a hair below ``u`` in the far tail), with
    ``pmf(k) = pmf(k - 1) * ((n - k + 1) / k * p / (1 - p))`` and
    ``cdf(k) = cdf(k - 1) + pmf(k)``: the same floating-point operations in the same order as
    :func:`_search_stepwise`, one term at a time, so the same counts bit for bit. The terms
    are computed a chunk at a time for every element still searching, each term a
    whole-array operation across elements (or ``ufunc.accumulate`` along the chunk, which
    runs the same sequence, for small arrays).

    Stopping within a chunk needs no test for ``n`` or the tiny pmf where the sum reaches
    ``u``: past ``n`` the terms are 0, and past a pmf below 1e-300 the sum no longer moves
    (it is at least the pmf at 0, which is above e**-400 when ``n p (1 - p) < 100`` and
    ``p <= 1/2``; the pmf rises to its mode and then falls, as the factors decrease in
    ``k``), so the sum cannot reach ``u`` after either. Elements whose pmf at 0 is below
    1e-300 (impossible with the caller's variance bound) go through the step-by-step loop.
    ``log_q`` and ``ratio``, when given, are ``log1p(-p)`` and ``p / (1 - p)``.
    With numba installed (and ``FLOWSIM_ACCEL`` not 0), :func:`flowsim.core.accel.search`
    runs the step-by-step loop compiled instead: the same counts, faster.
    """
    if accel.enabled():
        return accel.search(n, p, u, log_q, ratio)
    x = np.zeros(n.shape, dtype=np.int64)
    pmf = np.exp(n * (np.log1p(-p) if log_q is None else log_q))
    searching = u > pmf
    low = pmf < _TINY
    if low.any():
        tiny = np.flatnonzero(searching & low)
        x[tiny] = _search_stepwise(n[tiny], p[tiny], u[tiny])
        searching &= ~low
    todo = np.flatnonzero(searching)
    if not todo.size:
        return x
    nn, pmf, uu = n.take(todo), pmf.take(todo), u.take(todo)
    cdf = pmf
    ratio = p[todo] / (1.0 - p[todo]) if ratio is None else ratio.take(todo)
    exact_float = nn.max() <= _EXACT_FLOAT_N
    top = nn + 1.0
    m = todo.size
    w = min(max(_FIRST_TERMS, _MIN_CELLS // m), _MAX_TERMS, max(1, _CHUNK_CELLS // m))
    size = (w + 1) * m  # buffers reused by every chunk (row 0: the state before the chunk)
    pm_buf, cdf_buf, below_buf = _scratch(size)
    k0, width = 0, _FIRST_TERMS
    while True:
        pm = pm_buf[:(w + 1) * m].reshape(w + 1, m)
        cd = cdf_buf[:(w + 1) * m].reshape(w + 1, m)
        ks = np.arange(k0 + 1, k0 + w + 1, dtype=np.float64)[:, None]
        factor = pm[1:]
        if exact_float:
            np.subtract(top, ks, out=factor)
            factor /= ks
        else:  # as the loop: the integer n - k + 1, then a true division
            kint = ks.astype(np.int64)
            np.true_divide(nn - (kint - 1), kint, out=factor)
        factor *= ratio
        pm[0] = pmf
        cd[0] = cdf
        if m < _ACCUMULATE_BELOW:
            np.multiply.accumulate(pm, axis=0, out=pm)
            cd[1:] = pm[1:]
            np.add.accumulate(cd, axis=0, out=cd)
        else:
            for j in range(1, w + 1):
                np.multiply(pm[j - 1], pm[j], out=pm[j])
                np.add(cd[j - 1], pm[j], out=cd[j])
        # the sum never decreases along a chunk, so the terms below u are those before the hit
        below = below_buf[:w * m].reshape(w, m)
        np.less(cd[1:], uu, out=below)
        before = below.view(np.uint8).sum(axis=0, dtype=np.uint8)
        # every element's count as if it stopped in this chunk (one scatter, no mask): those
        # still searching are written again by a later chunk
        x[todo] = np.add(before, k0 + 1, dtype=np.int64)
        rest = np.flatnonzero(before == w)
        if not rest.size:
            return x
        todo, nn, top, ratio, uu = todo[rest], nn[rest], top[rest], ratio[rest], uu[rest]
        pmf, cdf = pm[w].take(rest), cd[w].take(rest)
        # not reached: stop at n, or at the first pmf below _TINY (found only where the
        # chunk's last valid pmf is below it, the pmf falling from there on)
        if nn.min() <= k0 + w or pmf.min() < _TINY:  # (rare: skipped otherwise)
            at_n = nn - (k0 + 1)  # the row of k = n within the chunk's terms
            ended = at_n < w
            stop = np.where(ended, at_n, w)
            tiny = pmf < _TINY
            if ended.any():
                e = np.flatnonzero(ended)
                tiny[e] = pm[at_n[e] + 1, rest[e]] < _TINY
            if tiny.any():
                t = np.flatnonzero(tiny)
                stop[t] = np.minimum(stop[t], np.argmax(pm[1:, rest[t]] < _TINY, axis=0))
            done = stop < w
            if done.any():
                x[todo[done]] = stop[done] + (k0 + 1)
                go = np.flatnonzero(~done)
                if not go.size:
                    return x
                todo, nn, top, ratio, uu = todo[go], nn[go], top[go], ratio[go], uu[go]
                pmf, cdf = pmf[go], cdf[go]
        k0 += w
        width *= 2
        m = todo.size
        w = min(max(width, _MIN_CELLS // m), _MAX_TERMS, size // m - 1)


def _search_stepwise(n: np.ndarray, p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The exact inverse CDF one term at a time (the definition :func:`_search` follows)."""
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
        done = (u[todo] <= cdf[todo]) | (k >= n[todo]) | (pmf[todo] < _TINY)
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


def _hypergeometric_ppf(u: np.ndarray, total: np.ndarray, good: np.ndarray,
                        nsample: np.ndarray) -> np.ndarray:
    """``scipy.stats.hypergeom.ppf(u, total, good, nsample)`` for ``u`` in (0, 1), vectorized.

    scipy has no quantile of its own for the hypergeometric: its generic discrete quantile
    bisects the support with the distribution function (``_drv2_ppfsingle``), one element
    at a time through ``np.vectorize``. This runs the same bisection on every element at
    once: the same support ends, the same tests in the same order, the same midpoints and
    the same distribution function (``hypergeom._cdf``, Boost's), so the same quantiles
    (``tests/test_sampling.py`` compares them with scipy's). Arguments scipy rejects give
    NaN, as there.
    """
    u = np.asarray(u, dtype=float)
    total, good, nsample = (np.asarray(a, dtype=np.int64) for a in (total, good, nsample))
    out = np.full(u.shape, np.nan)
    live = np.flatnonzero((total > 0) & (good >= 0) & (nsample >= 0) & (good <= total)
                          & (nsample <= total))
    if not live.size:
        return out
    q, tt, gg, ss = u.ravel()[live], total.ravel()[live], good.ravel()[live], nsample.ravel()[live]
    a = np.maximum(ss - (tt - gg), 0)  # the support, as hypergeom._get_support
    b = np.minimum(gg, ss)
    cdf = _DistinctCdf(tt, gg, ss, int(b.max()) + 1)
    at = np.arange(live.size)  # each element's row in cdf
    qa = cdf(a, at)
    qb = np.ones(q.shape)
    flat = out.reshape(-1)
    while live.size:
        # the tests at the top of scipy's loop, in its order
        at_a = qa == q
        at_b = ~at_a & (qb == q)
        close = ~at_a & ~at_b & (b <= a + 1)
        found = np.where(at_a | (close & (qa > q)), a, b)
        done = at_a | at_b | close
        # then one bisection step for the others
        c = (a + b) // 2
        rest = np.flatnonzero(~done)
        qc = cdf(c[rest], at[rest])
        found[rest] = c[rest]
        below, above = qc < q[rest], qc > q[rest]
        done[rest] = ~below & ~above  # the cdf is exactly u at c
        flat[live[done]] = found[done]
        a[rest] = np.where(below, c[rest], a[rest])
        qa[rest] = np.where(below, qc, qa[rest])
        b[rest] = np.where(above, c[rest], b[rest])
        qb[rest] = np.where(above, qc, qb[rest])
        go = np.flatnonzero(~done)
        live, q, at, a, b, qa, qb = live[go], q[go], at[go], a[go], b[go], qa[go], qb[go]
    return out


class _DistinctCdf:
    """scipy's hypergeometric distribution function (Boost's), once per distinct arguments.

    An evaluation costs microseconds (Boost sums the pmf term by term), and the replicates
    of a block often share a group's sizes, so that their bisections ask for the same
    points: each distinct (point, sizes) is evaluated once, with the same arguments (the
    same values) as one evaluation per element.
    """

    def __init__(self, total: np.ndarray, good: np.ndarray, nsample: np.ndarray,
                 span: int) -> None:
        # the distinct sizes, by a lexicographic sort (np.unique(axis=1) sorts far slower)
        sizes = np.stack([total, good, nsample])
        order = np.lexsort(sizes[::-1])
        ordered = sizes[:, order]
        first = np.empty(order.size, dtype=bool)
        first[:1] = True
        np.any(ordered[:, 1:] != ordered[:, :-1], axis=0, out=first[1:])
        self.sizes = ordered[:, first]
        self.group = np.empty(order.size, dtype=np.int64)
        self.group[order] = np.cumsum(first) - 1
        self.span = span  # points are below it
        # a (sizes, point) pair packed into one integer, where it fits
        self.packed = self.sizes.shape[1] * span < 2**62

    def __call__(self, k: np.ndarray, rows: np.ndarray) -> np.ndarray:
        g = self.group[rows]
        if k.size < 64 or not self.packed:
            return stats.hypergeom._cdf(k, *self.sizes[:, g])
        key, where = np.unique(g * self.span + k, return_inverse=True)
        g, k = np.divmod(key, self.span)
        return stats.hypergeom._cdf(k, *self.sizes[:, g])[where]


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
        # the keys hash one after the other, so the hash of the first ones is kept: that of
        # (seed, replicate) for the block, that of (seed, replicate, step) for the step
        self._block_hash = _hash(_KEY_START, self.seed_key, self.replicates)
        self._hashed_step: int | None = None
        self._step_hash = self._block_hash

    def start_step(self, step: int) -> None:
        self.step = step

    def _at_step(self) -> np.ndarray:
        """The hash of (seed, replicate, step), one per replicate of the block."""
        if self._hashed_step != self.step:
            self._step_hash = _hash(self._block_hash, self.step)
            self._hashed_step = self.step
        return self._step_hash

    def _uniform(self, shape: tuple[int, ...], site: int,
                 index: np.ndarray | None) -> np.ndarray:
        # keyed_uniform(seed, replicate, step, site, index, cohort), from the step's hash
        if accel.enabled():  # compiled, the same uniforms (None: shapes it does not take)
            u = accel.keyed_uniforms(self._at_step(), site, index, shape)
            if u is not None:
                return u
        at_step = self._at_step().reshape((-1,) + (1,) * (len(shape) - 1))
        if index is None:  # (B, K)
            mid: np.ndarray | int = 0
        else:
            mid = np.asarray(index, dtype=np.uint64).reshape((1, -1) + (1,) * (len(shape) - 2))
        cohort = np.arange(shape[-1], dtype=np.uint64) if len(shape) >= 2 else 0
        return _unit(_hash(at_step, site, mid, cohort))

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
        # keyed_uniform(seed, replicate, step, site, group), from the step's hash
        u = _unit(_hash(self._at_step()[rows], site, np.asarray(groups, dtype=np.uint64)))
        x = _hypergeometric_ppf(u, good + bad, good, nsample)
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
