"""Capacities: who passes when more want to than a route, an asylum office or a programme
takes (multivariate hypergeometric draws, chained over the members of each group)."""

from __future__ import annotations

from typing import Any

import numpy as np

from flowsim.core.compile import CompiledModel
from flowsim.core.sums import Grouper, to_source

__all__ = ["Programmes", "cap_select"]


def cap_select(sampler: Any, demand: np.ndarray, cap: np.ndarray, site: int,
               index: np.ndarray) -> np.ndarray:
    """Choose at most ``cap`` of the ``demand`` people in each group, at random.

    Parameters
    ----------
    demand : ndarray, shape (B, M, G)
        People by group member ``G`` (cohorts, or cohorts × kind) in ``M`` groups.
    cap : ndarray, shape (1|B, M)
        Capacity of each group (may be ``inf``).
    index : ndarray, shape (M,)
        The countries, routes or programmes the groups stand for (for keyed samplers).

    Returns
    -------
    ndarray, shape (B, M, G): those who pass (a multivariate hypergeometric draw where
    demand exceeds capacity, everybody otherwise).
    """
    total = demand.sum(axis=-1)
    over = total > cap
    if not over.any():
        return demand
    taken = demand.copy()
    b, mm = np.nonzero(over)
    d = demand[b, mm]  # (N, G)
    left_cap = np.broadcast_to(cap, total.shape)[b, mm].astype(np.int64)
    left_all = total[b, mm]
    out = np.zeros_like(d)
    for g in range(d.shape[1] - 1):
        x = sampler.hypergeometric(d[:, g], left_all - d[:, g], left_cap, site + g,
                                   (b, index[mm]))
        out[:, g] = x
        left_cap = left_cap - x
        left_all = left_all - d[:, g]
    out[:, -1] = left_cap
    taken[b, mm] = out
    return taken


class Programmes:
    """The programmes of a model (quotas shared by routes and cohorts) for one block.

    Keeps, per replicate, how many have crossed under each programme so far, so that a
    ``total`` over the period holds; :meth:`apply` caps one step's crossings.
    """

    def __init__(self, model: CompiledModel, params: np.ndarray, queue_routes: np.ndarray,
                 replicates: int) -> None:
        self.m = model
        self.specs = model.programmes
        self.used = np.zeros((replicates, len(self.specs)), dtype=np.int64)
        self.capacity = [p.capacity.values(params).reshape(-1) for p in self.specs]  # (1|B,)
        self.total = [p.total.values(params).reshape(-1) for p in self.specs]
        self.by_src = [Grouper(model.route_src[p.routes], model.n_countries)
                       for p in self.specs]
        # where each programme route sits among the queue routes (-1: it never queues)
        pos = {int(r): i for i, r in enumerate(queue_routes)}
        self.queue_at = [np.array([pos.get(int(r), -1) for r in p.routes]) for p in self.specs]

    def apply(self, sampler: Any, t: int, site: int, immediate: np.ndarray,
              granted: np.ndarray, waiting: np.ndarray, never: np.ndarray,
              present: np.ndarray, lane: Any = None, returned: np.ndarray | None = None
              ) -> None:
        """Cap step ``t``'s crossings: those above a programme's cap wait as above a route's
        capacity (queue-free crossers back at the source, visa holders still queued).
        ``immediate`` (B, R, K) and ``granted`` (B, Q, K) are changed in place. With a
        returnee ``lane`` (:class:`~flowsim.core.returnees.ReturneeLane`), its crossings
        are more members of the same draw, and those of them above the cap without a queue
        are added to ``returned`` (B, K)."""
        B, K = immediate.shape[0], immediate.shape[2]
        for j, p in enumerate(self.specs):
            if not p.in_force[t]:
                continue
            cap = np.minimum(self.capacity[j], self.total[j] - self.used[:, j])  # (B,)
            rs, ks, qa = p.routes, p.cohorts, self.queue_at[j]
            queued = qa >= 0
            parts = [(immediate, granted, waiting)]
            if lane is not None:
                parts.append((lane.flow, lane.granted, lane.waiting))
            wanted = []  # per part: (queue-free, granted), each (B, n, k)
            for imm_all, gr_all, _ in parts:
                imm = imm_all[:, rs][:, :, ks]
                gr = np.zeros_like(imm)
                if queued.any():
                    gr[:, queued] = gr_all[:, qa[queued]][:, :, ks]
                wanted.append((imm, gr))
            demand = np.concatenate([x.reshape(B, -1) for pair in wanted for x in pair],
                                    axis=1)
            passed = cap_select(sampler, demand[:, None, :], cap.reshape(-1, 1), site,
                                np.array([j]))[:, 0]
            self.used[:, j] += passed.sum(axis=1)
            size = wanted[0][0][0].size
            for i, ((imm_all, gr_all, wait_all), (imm, gr)) in enumerate(
                    zip(parts, wanted, strict=True)):
                imm_pass = passed[:, 2 * i * size:(2 * i + 1) * size].reshape(imm.shape)
                gr_pass = passed[:, (2 * i + 1) * size:(2 * i + 2) * size].reshape(imm.shape)
                if i == 0:
                    excess = np.zeros((B, rs.size, K), dtype=np.int64)
                    excess[:, :, ks] = imm - imm_pass
                    to_source(excess, self.by_src[j], self.m.origin, never, present)
                else:  # the lane crosses out of the origin only: back among the returned
                    returned[:, ks] += (imm - imm_pass).sum(axis=1)
                sub = imm_all[:, rs]
                sub[:, :, ks] = imm_pass
                imm_all[:, rs] = sub
                if queued.any():
                    q = qa[queued]
                    held = gr_all[:, q]
                    wait_all[:, q[:, None], ks[None, :]] += (gr - gr_pass)[:, queued]
                    held[:, :, ks] = gr_pass[:, queued]
                    gr_all[:, q] = held
