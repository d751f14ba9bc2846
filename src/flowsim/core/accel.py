"""Optional compiled kernels for the coupled sampler (numba): the same numbers, faster.

The coupled sampler (:mod:`flowsim.core.samplers`) spent about half its time in the exact
inverse-CDF search, whose recurrence numpy can only run a chunk of terms at a time over
whole arrays, and much of the rest in the few dozen numpy calls of each draw's keyed hash
and branching. When numba is importable (``pip install 'flowsim[fast]'``), three kernels
take their place: :func:`binomial_icdf` (the branches and the exact search, one element at
a time, each stopping at its own count), :func:`keyed_uniforms` (the splitmix64 hash of
the keys and the uniform from its top 53 bits) and :func:`search` (the search alone).

The numbers are the same bit for bit, because the compiled code does only what IEEE 754 and
unsigned 64-bit arithmetic define exactly, in the numpy code's order: comparisons, ``1 -
u``, ``(n q) (1 - q)``, and the loop of :func:`flowsim.core.samplers._search_stepwise` (the
definition the numpy search follows), ``pmf *= (n - k + 1) / k * ratio``, ``cdf += pmf``,
with the integer ``n - k + 1`` and ``k`` converted to float64, and its stopping tests;
shifts, xors and wrapping products of uint64 words. Fast-math stays off (no reassociation,
no fused multiply-add, no reciprocal). What the numpy path takes from a library is taken
from the same library here: numba's ``exp`` and ``log1p`` (the C library's) may differ from
numpy's by an ulp, so ``log1p(-q)`` and the pmf at 0, ``exp(n log1p(-q))``, come from numpy,
and the normal branch's quantile (scipy's ``ndtri``) from the numpy code itself.

``FLOWSIM_ACCEL=0`` in the environment turns the kernels off (read at every call, so that a
test can compare both paths in one process). They are compiled on first use and cached on
disk (numba's ``cache=True``), so that neither importing flowsim nor an exact run pays for
numba; numba failing to compile them is a warning and the numpy path.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable

import numpy as np
from scipy import special

__all__ = ["available", "binomial_icdf", "enabled", "keyed_uniforms", "search",
           "search_kernel"]

#: Where the pmf falls below this, the search stops (as in ``samplers._TINY``).
TINY = 1e-300

# splitmix64, as samplers._mix (uint64 constants: numba keeps them unsigned)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S11, _S27, _S30, _S31 = (np.uint64(s) for s in (11, 27, 30, 31))
_INV53 = 1.0 / 9007199254740992.0  # 2**-53, as samplers._unit
_BELOW_ONE = 1.0 - 2.0 ** -53  # the largest double below 1, as samplers._unit

_kernels: dict[str, Callable[..., object]] | None = None
_loaded = False


def _search_one(n: int, pmf: float, ratio: float, u: float) -> int:
    """The loop of ``samplers._search_stepwise`` for one element (pmf: the pmf at 0)."""
    cdf = pmf
    k = 0
    if u > cdf:
        while True:
            k += 1
            # the stepwise loop's (n - k + 1) / k * ratio: integers, a true division
            pmf *= float(n - k + 1) / float(k) * ratio
            cdf += pmf
            if u <= cdf or k >= n or pmf < TINY:
                break
    return k


def search_kernel(n: np.ndarray, pmf0: np.ndarray, ratio: np.ndarray, u: np.ndarray,
                  out: np.ndarray) -> None:
    """The exact search of each element into ``out`` (flat arrays).

    Plain Python over scalars: numba compiles it as it stands, and run uncompiled it gives
    the same counts (Python floats are the same IEEE doubles), which lets the tests check
    it without numba.
    """
    for i in range(n.shape[0]):
        out[i] = _search_one(n[i], pmf0[i], ratio[i], u[i])


def _classify_kernel(n, dims, p_step, p, q, log_q, u, variance, out, at, j_at, n_at, expo,
                     v_at, flip_at):
    """``binomial_icdf``'s branches, element by element (flat arrays).

    ``n`` and ``u`` are flat in C order over ``dims``; ``p`` (and ``q``, ``log_q``) flat
    over its own shape, ``p_step[d]`` the step of its flat index along axis ``d`` of
    ``dims`` (0 where it broadcasts). Sets ``out`` where the count needs no search (n = 0,
    p = 0: 0; p = 1: n), and lists the other elements: the exact search's from the front of
    ``at`` (with ``n log(1 - q)`` in ``expo``), the normal quantile's from the back, each
    with its probability's index, its ``n``, its uniform (``1 - u`` where ``p > 1/2``) and
    whether it is flipped. Returns the number on each branch.
    """
    exact, normal = 0, 0
    last = n.shape[0] - 1
    ndim = dims.shape[0]
    index = np.zeros(ndim, dtype=np.int64)
    j = 0  # the flat index of the element's probability
    for i in range(n.shape[0]):
        ni = n[i]
        pj = p[j]
        if not (ni > 0 and pj > 0.0):
            out[i] = 0
        elif pj >= 1.0:
            out[i] = ni
        else:
            qj = q[j]
            flip = pj > 0.5
            vi = 1.0 - u[i] if flip else u[i]
            fn = float(ni)
            if (fn * qj) * (1.0 - qj) < variance:  # samplers: (n * q) * (1.0 - q) < variance
                e = exact
                exact += 1
                expo[e] = fn * log_q[j]
            else:
                e = last - normal
                normal += 1
            at[e] = i
            j_at[e] = j
            n_at[e] = ni
            v_at[e] = vi
            flip_at[e] = flip
        # the next element's index along each axis (the last fastest), and its probability's
        d = ndim - 1
        while d >= 0:
            index[d] += 1
            j += p_step[d]
            if index[d] < dims[d]:
                break
            j -= p_step[d] * dims[d]
            index[d] = 0
            d -= 1
    return exact, normal


def _search_scatter_kernel(n, pmf0, ratio, j_at, v, flip, at, out):
    """The exact search of the listed elements, written (flipped back) into ``out``."""
    for e in range(n.shape[0]):
        k = _search_one(n[e], pmf0[e], ratio[j_at[e]], v[e])
        out[at[e]] = n[e] - k if flip[e] else k


def _normal_scatter_kernel(n, q, j_at, z, flip, at, out, odd):
    """``samplers._normal_quantile`` of the listed elements (``z``: scipy's ndtri of their
    uniforms), written (flipped back) into ``out``; returns how many it left to numpy.

    The same operations in the same order: ``mean = n q``, ``sd = sqrt((n q) (1 - q))``,
    ``skew = (1 - 2 q) / sd``, ``x = mean + sd (z + skew (z z - 1) / 6)``, then
    ``clip(floor(x + 0.5), 0, n)`` as an integer. Where that is NaN or beyond int64 (a
    uniform at 0 or 1), numpy's conversion decides: those elements are listed in ``odd``.
    """
    left = 0
    for e in range(n.shape[0]):
        ni = n[e]
        qj = q[j_at[e]]
        fn = float(ni)
        mean = fn * qj
        sd = np.sqrt(fn * qj * (1.0 - qj))
        ze = z[e]
        skew = (1.0 - 2.0 * qj) / sd
        x = mean + sd * (ze + skew * (ze * ze - 1.0) / 6.0)
        f = np.floor(x + 0.5)
        if not f < 9.2e18:  # NaN, or too large for the conversion below
            odd[left] = e
            left += 1
            continue
        y = int(min(max(f, 0.0), fn))  # np.clip(f, 0, n): maximum, then minimum
        out[at[e]] = ni - y if flip[e] else y
    return left


def _mix(z: np.uint64) -> np.uint64:
    """samplers._mix on one word."""
    z = z + _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def _uniform_kernel(at_step, site, mid, cohorts, out):
    """keyed uniforms ``out[b, r, c]`` of (step hash b, site, mid r, cohort c)."""
    for b in range(at_step.shape[0]):
        h1 = _mix(at_step[b] ^ site)
        for r in range(mid.shape[0]):
            h2 = _mix(h1 ^ mid[r])
            for c in range(cohorts):
                h = _mix(h2 ^ np.uint64(c))
                out[b, r, c] = min((float(h >> _S11) + 0.5) * _INV53, _BELOW_ONE)


_PYTHON = {"search": search_kernel, "classify": _classify_kernel,
           "search_scatter": _search_scatter_kernel, "normal_scatter": _normal_scatter_kernel,
           "uniform": _uniform_kernel}


def _compile() -> dict[str, Callable[..., object]] | None:
    """The compiled kernels, or None when numba cannot be imported or cannot compile them."""
    try:
        import numba
        from numba.extending import register_jitable
    except ImportError:  # the optional extra is not installed: the numpy path
        return None
    # fastmath off (numba's default, said again because the numbers depend on it): no
    # reassociation, no contraction into fused multiply-adds, no reciprocals
    options = {"nogil": True, "fastmath": False}
    try:
        for helper in (_search_one, _mix):  # callable from the kernels, compiled with them
            register_jitable(**options)(helper)
        try:
            kernels = {k: numba.njit(cache=True, **options)(f) for k, f in _PYTHON.items()}
        except RuntimeError:  # no writable cache directory (a read-only install)
            kernels = {k: numba.njit(cache=False, **options)(f) for k, f in _PYTHON.items()}
        # compile now (or load the cached code), so that a failure cannot stop a run
        _warm_up(kernels)
    except Exception as err:  # noqa: BLE001 - an optional speed-up must never stop a run
        warnings.warn(f"flowsim.core.accel: numba could not compile the kernels ({err}); "
                      "using numpy", RuntimeWarning, stacklevel=3)
        return None
    return kernels


def _warm_up(kernels: dict[str, Callable[..., object]]) -> None:
    one, i1 = np.ones(1), np.zeros(1, dtype=np.int64)
    kernels["search"](i1 + 1, one * 0.5, one, one * 0.75, np.empty(1, np.int64))
    kernels["classify"](i1 + 1, i1 + 1, i1, one * 0.5, one * 0.5, one * -0.7, one * 0.5, 100.0,
                        i1.copy(), i1.copy(), i1.copy(), i1.copy(), one.copy(), one.copy(),
                        np.zeros(1, dtype=np.bool_))
    kernels["search_scatter"](i1 + 1, one * 0.5, one, i1, one * 0.75,
                              np.zeros(1, dtype=np.bool_), i1, i1.copy())
    kernels["normal_scatter"](i1 + 200, one * 0.5, i1, one * 0.1, np.zeros(1, dtype=np.bool_),
                              i1, i1.copy(), i1.copy())
    kernels["uniform"](np.ones(1, dtype=np.uint64), np.uint64(1), np.zeros(1, dtype=np.uint64),
                       1, np.empty((1, 1, 1)))


def available() -> bool:
    """Whether the compiled kernels can be used (numba importable), whatever the environment."""
    global _kernels, _loaded
    if not _loaded:
        _kernels, _loaded = _compile(), True
    return _kernels is not None


def enabled() -> bool:
    """Whether the kernels are used: numba importable and ``FLOWSIM_ACCEL`` not ``0``."""
    if not available():  # (first: the common case without numba, on every draw)
        return False
    return os.environ.get("FLOWSIM_ACCEL", "1").strip().lower() not in {"0", "false", "no",
                                                                         "off"}


def _compiled() -> dict[str, Callable[..., object]]:
    if not available():
        raise RuntimeError("the compiled kernels need numba (pip install 'flowsim[fast]')")
    return _kernels


def search(n: np.ndarray, p: np.ndarray, u: np.ndarray, log_q: np.ndarray | None = None,
           ratio: np.ndarray | None = None) -> np.ndarray:
    """The exact inverse CDF of ``samplers._search`` (same arguments, same counts), compiled.

    Parameters
    ----------
    n : ndarray of int64
        The numbers of trials, at least 1, flat.
    p : ndarray of float
        The probabilities, in (0, 1/2], one per element of ``n``.
    u : ndarray of float
        The uniforms, in (0, 1), one per element.
    log_q, ratio : ndarray of float, optional
        ``log1p(-p)`` and ``p / (1 - p)`` when already computed (the same values).

    Returns
    -------
    ndarray of int64
        The smallest ``k`` with ``u <= cdf(k)``, stopping at ``n`` or where the pmf falls
        below :data:`TINY`.
    """
    kernel = _compiled()["search"]
    n = np.ascontiguousarray(n, dtype=np.int64)
    p = np.asarray(p, dtype=np.float64)
    # the pmf at 0 from numpy, by the expression of the numpy path (not numba's exp)
    pmf0 = np.exp(n * (np.log1p(-p) if log_q is None else log_q))
    if ratio is None:
        ratio = p / (1.0 - p)
    out = np.empty(n.shape, dtype=np.int64)
    kernel(n, np.ascontiguousarray(pmf0, dtype=np.float64),
           np.ascontiguousarray(ratio, dtype=np.float64),
           np.ascontiguousarray(u, dtype=np.float64), out)
    return out


def binomial_icdf(n: np.ndarray, p: np.ndarray, u: np.ndarray, variance: float,
                  normal_quantile: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
                  ) -> np.ndarray:
    """``samplers.binomial_icdf`` with the branching, the search and the normal quantile compiled.

    The same counts: the compiled code makes the same tests and IEEE operations element by
    element; what the numpy path takes from numpy or scipy beyond them is taken from there
    here as well, by the same expressions: ``log1p(-q)`` and ``q / (1 - q)`` for each
    probability, ``exp(n log1p(-q))`` for the elements of the exact search, and scipy's
    ``ndtri`` for those of the normal quantile (whose variance ``n q (1 - q)`` is at least
    ``variance``); ``normal_quantile`` (``samplers._normal_quantile``) for the rare elements
    whose quantile is NaN or huge (numpy's conversion to integers decides those).
    """
    kernels = _compiled()
    n, p, u = (np.asarray(n, dtype=np.int64), np.asarray(p, dtype=float),
               np.asarray(u, dtype=float))
    shape = np.broadcast_shapes(n.shape, p.shape, u.shape)
    if n.shape != shape:
        n = np.broadcast_to(n, shape)
    if u.shape != shape:
        u = np.broadcast_to(u, shape)
    n, u = np.ascontiguousarray(n).reshape(-1), np.ascontiguousarray(u).reshape(-1)
    p = np.ascontiguousarray(p).reshape((1,) * (len(shape) - p.ndim) + p.shape)
    p_step = np.zeros(len(shape), dtype=np.int64)  # the strides of p, in elements; 0: one
    if p.size > 1:
        p_step[:] = np.array(p.strides) // p.itemsize
        p_step[np.array(p.shape) == 1] = 0
    p = p.reshape(-1)
    q = np.where(p > 0.5, 1.0 - p, p)
    with np.errstate(divide="ignore", invalid="ignore"):  # (values that are not used)
        log_q, ratio = np.log1p(-q), q / (1.0 - q)
    size = n.size
    out = np.empty(size, dtype=np.int64)
    at, j_at, n_at = (np.empty(size, dtype=np.int64) for _ in range(3))
    expo, v_at = np.empty(size), np.empty(size)
    flip_at = np.empty(size, dtype=np.bool_)
    exact, normal = kernels["classify"](n, np.array(shape, dtype=np.int64), p_step, p, q, log_q,
                                        u, float(variance), out, at, j_at, n_at, expo, v_at,
                                        flip_at)
    if exact:
        pmf0 = np.exp(expo[:exact])  # numpy's exp, as the numpy path
        kernels["search_scatter"](n_at[:exact], pmf0, ratio, j_at[:exact], v_at[:exact],
                                  flip_at[:exact], at[:exact], out)
    if normal:
        rest = slice(size - normal, size)
        nn, j, v, flip, where = n_at[rest], j_at[rest], v_at[rest], flip_at[rest], at[rest]
        odd = np.empty(normal, dtype=np.int64)
        left = kernels["normal_scatter"](nn, q, j, special.ndtri(v), flip, where, out, odd)
        if left:  # NaN or huge: numpy's own conversion, as the numpy path
            o = odd[:left]
            y = normal_quantile(nn[o], q[j[o]], v[o])
            out[where[o]] = np.where(flip[o], nn[o] - y, y)
    return out.reshape(shape)


def keyed_uniforms(at_step: np.ndarray, site: int, index: np.ndarray | None,
                   shape: tuple[int, ...]) -> np.ndarray | None:
    """``CoupledSampler._uniform``'s uniforms, compiled; None where its shapes are not these.

    ``at_step`` is the hash of (seed, replicate, step), one per row of the block. The
    uniforms are those of ``keyed_uniform(seed, replicate, step, site, index, cohort)``: the
    hash of ``site``, then of the ``index`` along axis 1 (0 when None), then of the cohort
    along the last axis (0 for one axis), mixed in that order, for ``shape`` of at most 2
    axes without ``index`` or of at least 3 with it (the middle axes, if any, of length 1,
    as numpy broadcasts them).
    """
    ndim = len(shape)
    if index is not None and ndim < 3:
        return None
    if ndim == 1:  # (B,): no cohort axis, cohort 0
        return keyed_uniforms(at_step, site, None, (len(at_step), 1)).reshape(-1)
    mid = np.zeros(1, dtype=np.uint64) if index is None else \
        np.ascontiguousarray(np.asarray(index, dtype=np.uint64).reshape(-1))
    at_step = np.ascontiguousarray(np.asarray(at_step, dtype=np.uint64).reshape(-1))
    out = np.empty((at_step.size, mid.size, shape[-1]))
    _compiled()["uniform"](at_step, np.uint64(site), mid, shape[-1], out)
    middle = (1,) * (ndim - 3) if index is not None else (1,) * (ndim - 2)
    return out.reshape((at_step.size,) + ((mid.size,) if index is not None else ()) + middle
                       + (shape[-1],))
