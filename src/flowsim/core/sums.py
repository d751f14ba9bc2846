"""Sums over routes grouped by country, and over the middle axis of the engine's arrays.

The engine sums (replicate, route, cohort) arrays into (replicate, country, cohort) ones
several times a step; these helpers choose the fastest exact way for the size of the graph.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Grouper", "route_sum", "sum_over_axis1", "to_source"]


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
    product would cost countries × routes a replicate, uses ``add.reduceat``.
    """

    DENSE_LIMIT = 10_000

    def __init__(self, index: np.ndarray, n_groups: int) -> None:
        self.n_groups = n_groups
        self.incidence: np.ndarray | None = None
        if n_groups * len(index) <= self.DENSE_LIMIT:
            self.incidence = np.zeros((n_groups, len(index)))
            self.incidence[index, np.arange(len(index))] = 1.0
        self.order = np.argsort(index, kind="stable")
        self.groups, self.starts = np.unique(index[self.order], return_index=True)

    def sum(self, x: np.ndarray) -> np.ndarray:
        if self.incidence is not None:
            return np.matmul(self.incidence, x.astype(float)).astype(x.dtype)
        out = np.zeros((x.shape[0], self.n_groups, *x.shape[2:]), dtype=x.dtype)
        if self.groups.size:
            out[:, self.groups] = np.add.reduceat(x[:, self.order], self.starts, axis=1)
        return out


def to_source(people: np.ndarray, by_src: Grouper, origin: int, never: np.ndarray,
               present: np.ndarray) -> None:
    """Send people on routes (B, R, K) back to the country each route leaves from."""
    back = by_src.sum(people)
    never += back[:, origin]
    back[:, origin] = 0
    present += back
