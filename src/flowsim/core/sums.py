"""Sums over routes grouped by country, and over the middle axis of the engine's arrays.

The engine sums (replicate, route, cohort) arrays into (replicate, country, cohort) ones
several times a step, and the route choice sums each route's probability over the routes
before it in its country's chain; these helpers choose the fastest exact way for the size
of the graph, in memory linear in the number of routes on large graphs.
"""

from __future__ import annotations

import numpy as np

from flowsim.core.indexing import put

__all__ = ["ChainSums", "Grouper", "route_sum", "sum_over_axis1", "to_source"]


def sum_over_axis1(x: np.ndarray) -> np.ndarray:
    """``x.sum(axis=1)`` for (B, N, K) arrays; numpy's reduction over a middle axis with a
    short last axis is several times slower than einsum's."""
    return np.einsum("bnk->bk", x)


def route_sum(x: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``einsum("brk,rs->bsk", x, matrix)`` through BLAS (a matrix product over routes)."""
    return np.matmul(x.transpose(0, 2, 1), matrix).transpose(0, 2, 1)


class Grouper:
    """Sums over routes grouped by a country index: (B, R, K) -> (B, C, K), without add.at.

    A small grouping (incidence matrix of at most :attr:`DENSE_LIMIT` entries, as in the
    bundled scenario) is a product with its 0/1 incidence matrix in floating point: exact,
    every count being a whole number far below 2**53, and two to four times faster than
    numpy's gather and ``add.reduceat`` over a middle axis. A large one, where the dense
    product would cost countries × routes a replicate, sums integer counts by one
    ``np.bincount`` over the flattened array, each element weighted by its count and binned
    at its (replicate, country, cohort): exact for the same reason, in memory linear in the
    routes (the bins of one array's shape, kept for the next call), and 1.6 times faster
    than a product with a sparse incidence matrix at 30,000 routes (eight times faster than
    ``add.reduceat``); anything else by ``add.reduceat``.
    """

    DENSE_LIMIT = 10_000

    def __init__(self, index: np.ndarray, n_groups: int) -> None:
        self.n_groups = n_groups
        index = np.asarray(index, dtype=np.intp)
        self.incidence: np.ndarray | None = None
        if n_groups * len(index) <= self.DENSE_LIMIT:
            self.incidence = np.zeros((n_groups, len(index)))
            self.incidence[index, np.arange(len(index))] = 1.0
        self._bins: tuple[tuple[int, ...], np.ndarray] | None = None
        self.order = np.argsort(index, kind="stable")
        self.groups, self.starts = np.unique(index[self.order], return_index=True)
        # where fewer than half the groups occur (a few thousand countries of ten thousand
        # for the visa routes' sources), the bincount bins only those, placed into the
        # whole output after
        self.binned = (self.groups if 2 * self.groups.size < n_groups
                       else np.arange(n_groups))
        self.compact = np.searchsorted(self.binned, index)

    def sum(self, x: np.ndarray) -> np.ndarray:
        if self.incidence is not None:
            return np.matmul(self.incidence, x.astype(float)).astype(x.dtype)
        if x.size and np.issubdtype(x.dtype, np.integer):
            b, rest, g = x.shape[0], x[0, 0].size, self.binned.size
            counts = np.bincount(self.bins(x.shape), weights=x.ravel(), minlength=b * g * rest)
            counts = counts.reshape(b, g, *x.shape[2:]).astype(x.dtype)
            if g == self.n_groups:
                return counts
            out = np.zeros((b, self.n_groups, *x.shape[2:]), dtype=x.dtype)
            put(out, self.binned, counts)
            return out
        out = np.zeros((x.shape[0], self.n_groups, *x.shape[2:]), dtype=x.dtype)
        if self.groups.size:
            out[:, self.groups] = np.add.reduceat(x[:, self.order], self.starts, axis=1)
        return out

    def bins(self, shape: tuple[int, ...]) -> np.ndarray:
        """The flat (replicate, group, rest) bin of each element of an array of ``shape``
        (B, R, ...), in C order, among the groups that occur; the bins of the last shape
        asked for are kept."""
        if self._bins is None or self._bins[0] != shape:
            b, rest = shape[0], int(np.prod(shape[2:], dtype=np.int64))
            bins = ((np.arange(b, dtype=np.intp)[:, None, None] * self.binned.size
                     + self.compact[None, :, None]) * rest
                    + np.arange(rest, dtype=np.intp)[None, None, :])
            self._bins = (tuple(shape), bins.ravel())
        return self._bins[1]


class ChainSums:
    """Sums of route weights over each country's routes, and over the routes before each
    route in its country's chain (the routes out of the same country with a lower position).

    A small graph (routes × max(routes, countries) at most :attr:`DENSE_LIMIT`, as every
    shipped scenario) multiplies by a dense 0/1 route × country incidence matrix and a
    route × route "comes before" matrix through BLAS: these are the sums the engine has
    always made, in the same floating-point order, so that outputs stay bit-identical. A
    large one would need routes² memory (7 GB at 30,000 routes): it instead sums within
    each country's segment of routes, laid out in chain order and padded to the next power
    of two of the country's out-degree, so that memory is at most twice the routes and a
    sum costs one gather, one ``cumsum`` and one scatter per power of two (at most
    log2 of the largest out-degree plus one, whatever the number of routes). The two agree
    to rounding (``tests/test_chain_sums.py``).

    Parameters
    ----------
    src : numpy.ndarray
        (R,) int, the country each route leaves from.
    position : numpy.ndarray
        (R,) int, each route's rank among the routes out of its country.
    n_countries : int
    dense : bool, optional
        Force the dense (True) or the segmented (False) sums; by default dense exactly
        when the graph is within :attr:`DENSE_LIMIT`.
    """

    DENSE_LIMIT = 250_000

    def __init__(self, src: np.ndarray, position: np.ndarray, n_countries: int,
                 dense: bool | None = None) -> None:
        src, position = np.asarray(src, dtype=np.int64), np.asarray(position, dtype=np.int64)
        n_routes = len(src)
        self.n_routes, self.n_countries = n_routes, n_countries
        if dense is None:
            dense = n_routes * max(n_routes, n_countries) <= self.DENSE_LIMIT
        self.dense = dense
        self.incidence: np.ndarray | None = None
        self.before_matrix: np.ndarray | None = None
        # per power of two w: the countries whose out-degree rounds up to w, and a
        # (countries, w) table of their routes in chain order, padded with ``n_routes`` (a
        # column of zeros appended to the summed array)
        self.segments: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        if dense:
            self.incidence = np.zeros((n_routes, n_countries))
            self.incidence[np.arange(n_routes), src] = 1.0
            same = src[:, None] == src[None, :]
            self.before_matrix = (same & (position[:, None] < position[None, :])).astype(float)
            return
        order = np.lexsort((position, src))  # by country, then chain position
        degree = np.bincount(src, minlength=n_countries)
        start = np.concatenate([[0], np.cumsum(degree)[:-1]])
        rank = np.arange(n_routes) - start[src[order]]  # chain rank within the country
        width = np.where(degree > 0, 2 ** np.ceil(np.log2(np.maximum(degree, 1))), 0)
        for w in np.unique(width[width > 0]).astype(np.int64):
            countries = np.flatnonzero(width == w)
            row = np.full(n_countries, -1)
            row[countries] = np.arange(countries.size)
            table = np.full((countries.size, w), n_routes, dtype=np.int64)
            mine = np.isin(src[order], countries)
            routes = order[mine]
            table[row[src[routes]], rank[mine]] = routes
            self.segments.append((countries, table, table < n_routes))

    def _padded(self, x: np.ndarray) -> np.ndarray:
        pad = np.zeros((x.shape[0], 1, *x.shape[2:]), dtype=float)
        return np.concatenate([x.astype(float, copy=False), pad], axis=1)

    def total(self, x: np.ndarray) -> np.ndarray:
        """The sum of ``x`` (B, R, K) over each country's routes, (B, C, K)."""
        if self.incidence is not None:
            return route_sum(x, self.incidence)
        xp = self._padded(x)
        out = np.zeros((x.shape[0], self.n_countries, *x.shape[2:]))
        for countries, table, _ in self.segments:
            out[:, countries] = xp[:, table].sum(axis=2)
        return out

    def before(self, x: np.ndarray) -> np.ndarray:
        """For each route, the sum of ``x`` (B, R, K) over the routes before it in its
        country's chain, (B, R, K); 0 for the first route out of a country."""
        if self.before_matrix is not None:
            return route_sum(x, self.before_matrix)
        xp = self._padded(x)
        out = np.zeros((x.shape[0], self.n_routes, *x.shape[2:]))
        for _, table, real in self.segments:
            g = xp[:, table]  # (B, n, w, K)
            # exclusive running sum: the inclusive one shifted by a position (no a + b - b)
            excl = np.zeros_like(g)
            np.cumsum(g[:, :, :-1], axis=2, out=excl[:, :, 1:])
            out[:, table[real]] = excl[:, real]
        return out


def to_source(people: np.ndarray, by_src: Grouper, origin: int, never: np.ndarray,
               present: np.ndarray) -> None:
    """Send people on routes (B, R, K) back to the country each route leaves from."""
    back = by_src.sum(people)
    never += back[:, origin]
    back[:, origin] = 0
    present += back
