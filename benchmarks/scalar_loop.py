"""The model written as a straightforward per-replicate Python loop: a reference point.

:func:`run_replicate` steps one replicate with plain Python loops over cohorts, countries
and routes and a scalar numpy draw for each count, following :func:`flowsim.engine.run_block`
rule for rule (the epoch quantities, which depend only on the parameters, come from the same
:class:`flowsim.epochs.BlockEpochs`). It is how the model reads without vectorization; the
benchmark ``test_reference_points.py`` measures what the vectorized engine gains over it,
and ``tests/test_scalar_loop.py`` checks that it is the same model (the same distribution of
departures and stocks).
"""

from __future__ import annotations

import numpy as np

from flowsim.core.compile import CompiledModel
from flowsim.core.engine import shock_multiplier
from flowsim.core.epochs import BlockEpochs

__all__ = ["run_replicate"]


def _cap(rng: np.random.Generator, demand: list[int], cap: float) -> list[int]:
    """At most ``cap`` of the people in ``demand`` (by group), chosen at random."""
    total = sum(demand)
    if total <= cap:
        return demand
    left_cap, left_all, out = int(cap), total, []
    for d in demand[:-1]:
        x = int(rng.hypergeometric(d, left_all - d, left_cap)) if left_cap > 0 else 0
        out.append(x)
        left_cap -= x
        left_all -= d
    out.append(left_cap)
    return out


def run_replicate(model: CompiledModel, params: np.ndarray, rng: np.random.Generator
                  ) -> dict[str, np.ndarray]:
    """Simulate one replicate; return its ``departures`` (T, K) and ``stock`` (T, C, K).

    Parameters
    ----------
    model : CompiledModel
    params : ndarray, shape (P,)
    rng : numpy.random.Generator
    """
    m = model
    T, C, R, K, o = m.n_steps, m.n_countries, m.n_routes, m.n_cohorts, m.origin
    P = params[None, :]
    derived = BlockEpochs(m, P)
    population = np.broadcast_to(m.population.values(P), (1, K))[0]
    hazard = np.broadcast_to(m.baseline_hazard.values(P), (1, K))[0]
    src, dst = [int(s) for s in m.route_src], [int(d) for d in m.route_dst]
    routes_by_position = sorted(range(R), key=lambda r: m.route_position[r])
    queue_routes = [int(r) for r in derived.queue_routes]
    asylum = [c for c in range(C) if m.has_asylum[c]]

    never = [int(x) for x in population]
    returned = [0] * K
    # people abroad at the start (initial stocks), by country and cohort
    present, pending, settled = (
        [[int(x) for x in row] for row in np.broadcast_to(f.values(P), (1, C, K))[0]]
        for f in (m.initial_present, m.initial_pending, m.initial_settled))
    waiting = [[0] * K for _ in range(R)]
    departures = np.zeros((T, K), dtype=np.int64)
    stock = np.zeros((T, C, K), dtype=np.int64)
    first_day = 0

    for t in range(T):
        days = int(m.step_days[t])
        ep = derived.epoch(int(m.epoch_of_step[t]), days)
        mult = shock_multiplier(m, P, first_day, days)[0]
        access = ep.access[0]
        q_ev = ep.q_events[0]
        movers = [[0] * K for _ in range(C)]
        # the people in each country at the start of the step (for network effects)
        here = [sum(present[c]) + sum(pending[c]) + sum(settled[c]) for c in range(C)]
        for r in range(R):
            here[src[r]] += sum(waiting[r])

        # departures from the origin
        for k in range(K):
            p_week = min(max(hazard[k] * mult[k] * access[k], 0.0), 1.0)
            if p_week >= 1.0:
                p = 1.0
            else:
                p = -np.expm1(np.log1p(-min(p_week, 1 - 1e-15)) * (days / 7.0))
            x = int(rng.binomial(never[k], min(max(p, 0.0), 1.0)))
            never[k] -= x
            movers[o][k] = x

        # settled people: return or move on, where a scenario lets them (a chain of binomials)
        ret = [[0] * K for _ in range(C)]
        if len(ep.settled_sites):
            q_ret, q_on = (np.broadcast_to(q, (1, len(ep.settled_sites), K))[0]
                           for q in ep.settled_q)
            for j, c in enumerate(int(x) for x in ep.settled_sites):
                for k in range(K):
                    x = int(rng.binomial(settled[c][k], q_ret[j, k]))
                    y = int(rng.binomial(settled[c][k] - x, q_on[j, k]))
                    settled[c][k] -= x + y
                    ret[c][k] += x
                    movers[c][k] += y

        # present people: return, move on, claim asylum, settle (a chain of binomials)
        for i in range(4):
            for c in range(C):
                for k in range(K):
                    q = q_ev[c, k, i]
                    if q <= 0:
                        continue
                    x = int(rng.binomial(present[c][k], q))
                    present[c][k] -= x
                    if i == 0:
                        ret[c][k] += x
                    elif i == 1:
                        movers[c][k] += x
                    elif i == 2:
                        pending[c][k] += x
                    else:
                        settled[c][k] += x

        # asylum decisions, within each country's capacity
        for c in asylum:
            dec = [int(rng.binomial(pending[c][k], ep.p_decide_asylum[0, c, k]))
                   for k in range(K)]
            dec = _cap(rng, dec, float(np.broadcast_to(ep.asylum_cap, (1, C))[0, c]))
            for k in range(K):
                gr = int(rng.binomial(dec[k], ep.recognition[0, c, k]))
                back = int(rng.binomial(dec[k] - gr, ep.rejected_return[0, c, k]))
                pending[c][k] -= dec[k]
                settled[c][k] += gr
                ret[c][k] += back
                movers[c][k] += dec[k] - gr - back
        for c in range(C):
            for k in range(K):
                returned[k] += ret[c][k]

        # route choice: routes out of each country in their chain order
        flow = [[0] * K for _ in range(R)]
        cond = ep.route_cond[0] if not m.has_network else \
            derived.cond_with_network(ep, np.array([here], dtype=float))[0]
        for r in routes_by_position:
            for k in range(K):
                x = int(rng.binomial(movers[src[r]][k], cond[r, k]))
                flow[r][k] = x
                movers[src[r]][k] -= x
        for k in range(K):  # movers without a usable route stay
            never[k] += movers[o][k]
            movers[o][k] = 0
        for c in range(C):
            for k in range(K):
                present[c][k] += movers[c][k]

        def to_source(r: int, k: int, n: int) -> None:
            if src[r] == o:
                never[k] += n
            else:
                present[src[r]][k] += n

        # visa and humanitarian queues
        granted = [[0] * K for _ in range(R)]
        for r in queue_routes:
            for k in range(K):
                new = flow[r][k] if ep.route_queued[0, r, k] else 0
                flow[r][k] -= new
                waiting[r][k] += new
                decided = int(rng.binomial(waiting[r][k], ep.p_decide_visa[0, r, k]))
                granted[r][k] = int(rng.binomial(decided, ep.issuance[0, r, k]))
                waiting[r][k] -= decided
                to_source(r, k, decided - granted[r][k])

        # capacities: queue-free crossers above it stay at the source, visa holders queue
        for r in (int(r) for r in ep.capped):
            passed = _cap(rng, flow[r] + granted[r],
                          float(np.broadcast_to(ep.capacity, (1, R))[0, r]))
            for k in range(K):
                to_source(r, k, flow[r][k] - passed[k])
                waiting[r][k] += granted[r][k] - passed[K + k]
                flow[r][k], granted[r][k] = passed[k], passed[K + k]

        # crossings
        for r in range(R):
            for k in range(K):
                n = flow[r][k] + granted[r][k]
                present[dst[r]][k] += n
                if src[r] == o:
                    departures[t, k] += n

        for c in range(C):
            for k in range(K):
                stock[t, c, k] = present[c][k] + pending[c][k] + settled[c][k]
        for r in range(R):
            for k in range(K):
                stock[t, src[r], k] += waiting[r][k]
        for k in range(K):
            stock[t, o, k] = never[k] + returned[k] + sum(
                waiting[r][k] for r in range(R) if src[r] == o)
        first_day += days
    return {"departures": departures, "stock": stock}
