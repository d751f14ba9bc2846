"""The returned who leave the origin again, kept apart until they cross (``track_returnees``).

By default the engine mixes the returned who leave again with the first leavers of their
cohort at the origin: both choose routes together, and whoever is sent back to the origin
(refused a visa, above a capacity or a quota, intercepted) counts among those who never
left. That is exact for every count the engine records except one: it cannot tell how many
of the crossings out of the origin are first departures. Published estimates of emigration
count people, so a scenario that lets returnees leave again and calibrates on such a figure
needs the two apart.

With ``behaviour.track_returnees`` they stay apart. The returned who leave again in a step
are a second set of movers at the origin, the *returnee lane*: they choose among the
origin's routes by the same conditional binomials as everyone else (the origin's routes of
the route chain, one at a time, then the route tree for those beyond: no more draws a step
than the first leavers', whatever the origin's number of routes), wait in their own queues (the same decision
and issuance probabilities), take their share of a capacity or a quota in the same
multivariate hypergeometric draw as the first leavers (their counts are more members of
that draw), and are intercepted with the same probability. Whoever of them is sent back is
returned again, not "never left", and their crossings are counted with every other crossing
but not among the first departures. Each person's chances are those of the mixed model: only
the bookkeeping of who is who changes, and with it the people sent back (who now leave again
with the re-emigration hazard rather than the first one).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from flowsim.core.indexing import add, put, subtract, take
from flowsim.core.sums import sum_over_axis1

__all__ = ["ReturneeLane"]


class ReturneeLane:
    """The returnee lane of one block: the returned who left again this step, on their way
    out of the origin, and those waiting in the origin's queues.

    Parameters
    ----------
    replicates, cohorts : int
        The block's ``B`` and ``K``.
    queue_routes : numpy.ndarray
        (Q,) the routes that can queue applicants (the engine's queue positions).
    src : numpy.ndarray
        (R,) each route's source country.
    derived : BlockEpochs
        The block's epochs: the route chain's positions and the route tree.
    origin : int
    sites : tuple of int
        The sampler sites of the lane's route choice, visa decisions, grants and
        interceptions (distinct from the first leavers' sites, for keyed samplers).
    """

    def __init__(self, replicates: int, queue_routes: np.ndarray, cohorts: int,
                 src: np.ndarray, derived: Any, origin: int,
                 sites: tuple[int, int, int, int]) -> None:
        self.origin = origin
        self.sites = sites
        # the queue positions of routes out of the origin, the only ones the lane fills
        self.origin_q = np.flatnonzero(src[queue_routes] == origin)
        # the origin's routes in the chain, in its order; whether it has routes in the tree
        self.chain_routes = [int(r) for link in derived.chain for r in link.routes
                             if src[r] == origin]
        self.tree = derived.tree if derived.tree and origin in derived.tree.countries else None
        shape = (replicates, queue_routes.size, cohorts)
        self.waiting = np.zeros(shape, dtype=np.int64)
        self.flow = np.zeros((replicates, len(src), cohorts), dtype=np.int64)
        self.granted = np.zeros(shape, dtype=np.int64)
        self.caught: np.ndarray | None = None

    def choose(self, sampler: Any, cond: np.ndarray, tree_p: list[np.ndarray],
               again: np.ndarray, countries: int) -> np.ndarray:
        """Route choice of ``again`` (B, K), the returned who leave in this step, by the
        routes' conditional probabilities ``cond`` (1|B, R, K) along the chain and the
        route tree's probabilities ``tree_p`` beyond it; their flow goes to :attr:`flow`
        (routes out of the origin only). Returns those who found no route (B, K): they stay
        returned."""
        self.flow = np.zeros_like(self.flow)
        left = again[:, None, :].copy()  # (B, 1, K): one route's draw at a time
        for r in self.chain_routes:
            if not left.any():  # everybody placed: the later routes draw nothing
                break
            at = np.array([r])
            x = sampler.binomial(left, cond[:, at], self.sites[0], at)
            self.flow[:, r] = x[:, 0]
            left -= x
        if self.tree is not None and left.any():  # the origin's routes beyond the chain
            movers = np.zeros((left.shape[0], countries, left.shape[2]), dtype=np.int64)
            movers[:, self.origin] = left[:, 0]
            self.tree.draw(sampler, tree_p, movers, self.flow, self.sites[0])
            return movers[:, self.origin]
        return left[:, 0]

    def queue(self, sampler: Any, ep: Any, qr: np.ndarray) -> np.ndarray:
        """New applications join the lane's queues, a share of them is decided and granted;
        returns the refused (B, K), who are returned again. Only the queues of routes out
        of the origin hold anybody of the lane: the others are not drawn."""
        oq = self.origin_q
        routes = qr[oq]
        new_apps = take(self.flow, routes) * ep.queued_q[:, oq]
        subtract(self.flow, routes, new_apps)
        waiting = take(self.waiting, oq) + new_apps
        decided = sampler.binomial(waiting, ep.p_decide_visa_q[:, oq], self.sites[1], routes)
        granted = sampler.binomial(decided, ep.issuance_q[:, oq], self.sites[2], routes)
        put(self.waiting, oq, waiting - decided)
        put(self.granted, oq, granted)
        return sum_over_axis1(decided - granted)

    def demand(self, cidx: np.ndarray, cq: np.ndarray, qc: np.ndarray) -> np.ndarray:
        """The lane's crossings on the capped routes ``cidx`` (B, n, 2K): queue-free, then
        granted (``cq`` the capped routes that queue, ``qc`` their queue positions)."""
        granted = np.zeros((self.flow.shape[0], cidx.size, self.flow.shape[2]), dtype=np.int64)
        granted[:, cq] = self.granted[:, qc]
        return np.concatenate([take(self.flow, cidx), granted], axis=-1)

    def passed(self, passed: np.ndarray, cidx: np.ndarray, cq: np.ndarray,
               qc: np.ndarray) -> np.ndarray:
        """Keep the lane's share ``passed`` (B, n, 2K) of the capacities; those above it
        without a queue are returned again (returned, (B, K)), visa holders stay queued."""
        k = self.flow.shape[2]
        imm_pass, gr_pass = passed[..., :k], passed[..., k:]
        back = sum_over_axis1(take(self.flow, cidx) - imm_pass)
        put(self.flow, cidx, imm_pass)
        if cq.size:
            self.waiting[:, qc] += self.granted[:, qc] - gr_pass[:, cq]
            self.granted[:, qc] = gr_pass[:, cq]
        return back

    def intercept(self, sampler: Any, ep: Any) -> np.ndarray:
        """Interception of the lane's crossings on irregular routes; returns those caught
        (B, K), who are returned again (kept by route in :attr:`caught`)."""
        ir = ep.intercept_routes
        self.caught = sampler.binomial(take(self.flow, ir), ep.intercept_q, self.sites[3], ir)
        subtract(self.flow, ir, self.caught)
        return sum_over_axis1(self.caught)

    def crossing(self, qr: np.ndarray) -> np.ndarray:
        """The lane's crossings of the step (B, R, K): queue-free and granted."""
        crossing = self.flow
        if qr.size:
            add(crossing, qr, self.granted)
        return crossing
