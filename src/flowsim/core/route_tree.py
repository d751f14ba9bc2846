"""Route choice beyond the first chain positions: a binary tree of conditional binomials.

The engine draws the route choice as a chain of conditional binomials, one per route
*position* (the first route out of every country, then the second, ...), so its Python work
per step grows with the largest out-degree. Up to :data:`CHAIN_POSITIONS` positions the
chain stays as it is; a country with more routes than that splits the movers left after
the chain over its remaining routes (its *tail*) by a tree of binomials, one vectorized draw
per tree level over every country's nodes at that level:

* the root: how many of those left take some tail route (the others stay where they are);
* each node: how many of its movers take a route of its left half (the first
  ``ceil(size / 2)`` of its routes in chain order), the rest going to its right half;
* a node of one route is a leaf: its movers are that route's flow.

The probabilities come from the chain's own conditional probabilities ``cond`` (those the
engine would use at those positions), so the joint distribution of (flows, stayers) is
exactly the multinomial the chain defines. For a run of routes ``r1 … rn`` of the tail, let
``A`` be the chance that a mover reaching ``r1`` takes one of them and ``P = prod(1 - cond)``
the chance that she takes none; a route is ``A = cond``, ``P = 1 - cond``, and a left run
followed by a right one is ``A = A_L + P_L A_R``, ``P = P_L P_R``. The root draws with
``A`` of the whole tail, a node sends its movers left with ``A_L / A``. These are computed
bottom-up, one whole-array operation per level, once an epoch (once a step with network
effects, whose conditionals change every step).

Keyed (coupled) draws key the root on the country's first tail route (at site
``site + 1``) and each node of level ``i`` on its first route (at ``site + 2 + i``): stable
in the graph, so that two scenarios with the same routes share their random numbers node by
node.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from flowsim.core.indexing import put

__all__ = ["CHAIN_POSITIONS", "RouteTree", "draw_chain"]

#: Route positions drawn by the chain (one binomial each). Above every shipped scenario's
#: largest out-degree (39, russia-2022's origin), so that their draws, and their outputs,
#: are those of the chain alone; a country's routes beyond it go through the tree.
CHAIN_POSITIONS = 64


@dataclasses.dataclass(frozen=True)
class _Level:
    """The nodes of one tree level, in order: each split node's two children, left first,
    make up the next level (the leaves of a level have no children)."""

    leaves: np.ndarray  # positions among the level's nodes of the one-route nodes
    leaf_routes: np.ndarray  # and their routes
    splits: np.ndarray | None  # positions of the nodes that split (None: every node)
    keys: np.ndarray  # the first route of each split node (keyed draws)
    size: int  # nodes at this level


class RouteTree:
    """The tree over each country's routes beyond the first ``first`` chain positions.

    Parameters
    ----------
    src : numpy.ndarray
        (R,) int, the country each route leaves from.
    position : numpy.ndarray
        (R,) int, each route's rank among the routes out of its country (its chain position).
    first : int, optional
        The chain positions drawn by the chain; by default :data:`CHAIN_POSITIONS`.
    """

    def __init__(self, src: np.ndarray, position: np.ndarray,
                 first: int = CHAIN_POSITIONS) -> None:
        src, position = np.asarray(src, dtype=np.int64), np.asarray(position, dtype=np.int64)
        tail = np.flatnonzero(position >= first)
        tail = tail[np.lexsort((position[tail], src[tail]))]  # by country, in chain order
        self.routes = tail
        self.countries, starts, counts = np.unique(src[tail], return_index=True,
                                                   return_counts=True)
        self.root_keys = tail[starts]
        self.levels: list[_Level] = []
        start, end = starts, starts + counts
        while start.size:
            size = end - start
            leaves = np.flatnonzero(size == 1)
            splits = np.flatnonzero(size > 1)
            self.levels.append(_Level(
                leaves=leaves, leaf_routes=tail[start[leaves]],
                splits=None if splits.size == start.size else splits,
                keys=tail[start[splits]], size=start.size))
            s, e = start[splits], end[splits]
            mid = (s + e + 1) // 2  # the left half takes the middle route of an odd run
            start = np.stack([s, mid], axis=1).ravel()
            end = np.stack([mid, e], axis=1).ravel()

    def __bool__(self) -> bool:
        return bool(self.routes.size)

    @property
    def draws(self) -> int:
        """Binomial draws per step: the root and one per level that splits."""
        return 0 if not self else 1 + sum(lv.keys.size > 0 for lv in self.levels)

    def probabilities(self, cond: np.ndarray) -> list[np.ndarray]:
        """The root's and each splitting level's probabilities, from the chain's conditional
        probabilities ``cond`` (1|B, R, K): ``[root (1|B, countries, K), level 0's split
        nodes (1|B, n, K), ...]`` (see the module docstring)."""
        if not self:
            return []
        splits: list[np.ndarray] = []
        a_next = p_next = None
        with np.errstate(invalid="ignore", divide="ignore"):
            for lv in reversed(self.levels):
                a = np.empty((cond.shape[0], lv.size, cond.shape[2]))
                p = np.empty_like(a)
                if lv.leaves.size:
                    a[:, lv.leaves] = cond[:, lv.leaf_routes]
                    p[:, lv.leaves] = 1.0 - a[:, lv.leaves]
                if lv.keys.size:
                    a_left, a_right = a_next[:, 0::2], a_next[:, 1::2]
                    p_left = p_next[:, 0::2]
                    a_node = a_left + p_left * a_right
                    at = slice(None) if lv.splits is None else lv.splits
                    a[:, at] = a_node
                    p[:, at] = p_left * p_next[:, 1::2]
                    splits.append(np.clip(np.where(a_node > 0.0, a_left / a_node, 0.0),
                                          0.0, 1.0))
                a_next, p_next = a, p
        return [np.clip(a_next, 0.0, 1.0)] + splits[::-1]

    def draw(self, sampler: Any, probabilities: list[np.ndarray], left: np.ndarray,
             flow: np.ndarray, site: int) -> None:
        """Split the movers ``left`` (B, C, K) after the chain over the tail routes: those
        who take one leave ``left`` and are added to ``flow`` (B, R, K) at their route
        (both changed in place)."""
        if not self:
            return
        c = self.countries
        n = np.take(left, c, axis=1)
        x = sampler.binomial(n, probabilities[0], site + 1, self.root_keys)
        put(left, c, n - x)
        count, j = x, 1
        b, k = flow.shape[0], flow.shape[2]
        for lv in self.levels:
            if lv.leaves.size:
                put(flow, lv.leaf_routes, np.take(count, lv.leaves, axis=1))
            if not lv.keys.size:
                break
            n = count if lv.splits is None else np.take(count, lv.splits, axis=1)
            x = sampler.binomial(n, probabilities[j], site + 1 + j, lv.keys)
            count = np.stack([x, n - x], axis=2).reshape(b, -1, k)
            j += 1


def draw_chain(sampler: Any, chain: list[Any], chain_cond: list[np.ndarray],
               left: np.ndarray, flow: np.ndarray, site: int) -> None:
    """The route chain: at each position, the movers ``left`` (B, C, K) at its routes'
    sources who take its routes (``cond``, the conditional probabilities there) go to
    ``flow`` (B, R, K); both changed in place.

    ``chain`` holds each position's ``routes``, and ``route_at`` and ``source_at`` (a slice
    where the position holds one route, else the index arrays); the draws are those of
    ``x = binomial(left[:, source_at], cond)``, ``flow[:, route_at] = x``,
    ``left[:, source_at] -= x``, with the gathers by ``np.take`` and the scatters by
    :func:`~flowsim.core.indexing.put`, and the movers left carried from one index-array
    position to the next (``next_at``, ``stay_at`` of ``flowsim.core.epochs._Link``): the
    same numbers in less time.
    """
    n = None  # the movers left at an index-array position's sources, from the one before
    for link, cond in zip(chain, chain_cond, strict=True):
        if isinstance(link.source_at, slice):
            x = sampler.binomial(left[:, link.source_at], cond, site, link.routes)
            flow[:, link.route_at] = x
            left[:, link.source_at] -= x
            continue
        if n is None:
            n = np.take(left, link.source_at, axis=1)
        x = sampler.binomial(n, cond, site, link.routes)
        put(flow, link.route_at, x)
        n -= x
        if link.stay_at.size:
            put(left, link.stay_src, np.take(n, link.stay_at, axis=1))
        n = None if link.next_at is None else np.take(n, link.next_at, axis=1)
