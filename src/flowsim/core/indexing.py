"""Gathers and scatters along the middle axis of the engine's (B, N, K) arrays.

The engine indexes its (replicate, country or route, cohort) arrays by sets of countries
or routes many times a step (``x[:, where]``, ``x[:, where] += y``). numpy's fancy indexing
along the middle axis walks the K values of each index one by one, and an in-place update
gathers, adds and scatters that way; ``np.take`` gathers, and a view of the array as
(B, N) items of K values each scatters, each index's K values at once: three to five times
faster on graphs of thousands of countries, with the same values (integer counts, so that
nothing is rounded). A ``slice`` index (every country, or a contiguous run) is used as
it is: a view needs no gather.
"""

from __future__ import annotations

import numpy as np

__all__ = ["add", "put", "subtract", "take"]

Index = np.ndarray | slice

#: Below this many indices fancy indexing is faster than building the item view (a few
#: microseconds a call: the route chain's positions beyond the first few hold few routes).
VIEW_MIN = 128


def take(a: np.ndarray, index: Index) -> np.ndarray:
    """``a[:, index]``: a view for a slice, a gathered copy for an index array."""
    if isinstance(index, slice):
        return a[:, index]
    return np.take(a, index, axis=1)


def put(target: np.ndarray, index: Index, values: np.ndarray) -> None:
    """``target[:, index] = values`` for a (B, N, K) ``target``, the same values faster.

    Seen as (B, N) items of K values each (a view, where ``target`` is C-contiguous), it
    copies each index's K values at once, three to eight times faster than numpy's fancy
    scatter for the route choice's thousands of countries or routes.
    """
    if isinstance(index, slice) or len(index) < VIEW_MIN or not target.flags.c_contiguous:
        target[:, index] = values
        return
    shape = (target.shape[0], len(index), target.shape[2])
    values = np.ascontiguousarray(np.broadcast_to(values, shape), dtype=target.dtype)
    item = np.dtype((np.void, target.shape[2] * target.itemsize))
    target.view(item)[..., 0][:, index] = values.view(item)[..., 0]


def add(target: np.ndarray, index: Index, values: np.ndarray) -> None:
    """``target[:, index] += values`` (an index array without repeats)."""
    _update(np.add, target, index, values)


def subtract(target: np.ndarray, index: Index, values: np.ndarray) -> None:
    """``target[:, index] -= values`` (an index array without repeats)."""
    _update(np.subtract, target, index, values)


def _update(op: np.ufunc, target: np.ndarray, index: Index, values: np.ndarray) -> None:
    """``target[:, index] = op(target[:, index], values)``, in place: for a slice on the
    view, for an index array on a gathered copy scattered back."""
    part = take(target, index)
    op(part, values, out=part)
    if not isinstance(index, slice):
        put(target, index, part)
