"""The engine: one block of replicates stepped through time on dense integer arrays.

Shape convention (one block of ``B`` replicates): ``(B, C, K)`` for countries × cohorts,
``(B, R, K)`` for routes × cohorts, ``(B, K)`` for the origin's cohorts. Nothing here loops
over replicates or people; Python loops run over steps, over route *positions* in the
multinomial chain, and over cohorts in capacity selection.

Compartments (every person is in exactly one, at every step):

* ``never`` (B, K): in the origin, never left;
* ``returned`` (B, K): back in the origin;
* ``waiting`` (B, R, K): waiting for a visa decision on a route (physically at its source);
* ``present`` (B, C, K): in a country, free to move;
* ``pending`` (B, C, K): asylum claim pending;
* ``settled`` (B, C, K): holding a permit or protection (absorbing).

One step, in order (see ``docs/model.md`` for the reasoning):

1. departures: ``never`` leave with the cohort's hazard × shocks × ``A ** deterrence``;
2. at each other country, present people return home, move on, claim asylum, settle or stay
   (competing risks, one multinomial draw as a chain of binomials);
3. asylum: pending claims are decided (geometric delay, capacity-limited), granted with the
   recognition rate; rejected claimants return or move on;
4. everyone moving chooses a route by a multinomial logit over the routes open to their
   cohort (a mixture over holding an international passport or not); those left without a
   route stay where they are;
5. queued routes (``visa_required``, ``humanitarian_only``): new applicants join the queue,
   a geometric share of the queue is decided, granted with the issuance probability; refused
   applicants go back to where they applied from;
6. capacities: crossings above a route's capacity are chosen at random (multivariate
   hypergeometric); the rest stay at the source (or, if they held a visa, in the queue);
7. crossings arrive in the destination's ``present``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from flowsim.core.compile import CLOSED, HUMANITARIAN, QUEUED, CompiledModel
from flowsim.core.sums import Grouper, route_sum, sum_over_axis1, to_source

__all__ = ["DEFAULT_RECORD", "RECORDABLE", "InvariantError", "run_block"]

# Variables the engine can record, with their dimensions after (replicate, time).
RECORDABLE: dict[str, tuple[str, ...]] = {
    "stock": ("country", "cohort"),
    "departures": ("cohort",),
    "returns": ("country", "cohort"),
    "arrivals": ("country", "cohort"),
    "settled": ("country", "cohort"),
    "asylum_applications": ("country", "cohort"),
    "asylum_decisions": ("country", "cohort"),
    "asylum_grants": ("country", "cohort"),
    "visas_issued": ("country", "cohort"),
    "flow": ("route", "cohort"),
}
DEFAULT_RECORD: tuple[str, ...] = tuple(v for v in RECORDABLE if v != "flow")


def record_shape(model: CompiledModel, name: str) -> tuple[int, ...]:
    """The shape of a recorded variable in one step of one replicate (see
    :data:`RECORDABLE`), e.g. ``(countries, cohorts)`` for ``stock``."""
    sizes = {"country": model.n_countries, "cohort": model.n_cohorts, "route": model.n_routes}
    return tuple(sizes[d] for d in RECORDABLE[name])


class InvariantError(RuntimeError):
    """The engine lost or created people: a bug in flowsim, never a user error."""


# draw sites within a step (for keyed samplers)
SITE_DEPART, SITE_EVENTS, SITE_DECIDE, SITE_GRANT, SITE_REJECT, SITE_ROUTE, SITE_VISA, \
    SITE_ISSUE, SITE_CAP, SITE_ACAP = (i * 1000 for i in range(10))


def _p(x: np.ndarray) -> np.ndarray:
    """Probabilities clipped into [0, 1] (floating-point noise only)."""
    return np.clip(x, 0.0, 1.0)


@dataclasses.dataclass
class _Epoch:
    """Per-block quantities that are constant within an epoch (and a step length)."""

    route_open: np.ndarray  # (1|B, R, K) bool
    route_cond: np.ndarray  # (1|B, R, K) conditional probability in the chain
    chain_cond: list[np.ndarray]  # route_cond at each chain position's routes (contiguous)
    route_queued: np.ndarray  # (1, R, K) bool
    access: np.ndarray  # (1|B, K) A ** deterrence for the origin
    q_events: np.ndarray  # (1|B, C, K, 4) return, onward, claim, settle: chain probabilities
    event_sites: list[np.ndarray | slice]  # per event, the countries where it can happen
    event_q: list[np.ndarray]  # per event, q_events at those countries, (1|B, n, K)
    event_index: list[np.ndarray]  # per event, those countries' indices (for keyed draws)
    p_decide_asylum: np.ndarray  # (1|B, C, K)
    recognition: np.ndarray
    rejected_return: np.ndarray
    asylum_cap: np.ndarray  # (1|B, C)
    # the same four at the countries with an asylum system only, gathered once an epoch
    p_decide_asylum_a: np.ndarray  # (1|B, A, K)
    recognition_a: np.ndarray
    rejected_return_a: np.ndarray
    asylum_cap_a: np.ndarray  # (1|B, A)
    p_decide_visa: np.ndarray  # (1|B, R, K)
    issuance: np.ndarray
    # the same three at the queue routes only, (1|B, Q, K), gathered once an epoch
    queued_q: np.ndarray
    p_decide_visa_q: np.ndarray
    issuance_q: np.ndarray
    capacity: np.ndarray  # (1|B, R)
    capped: np.ndarray  # indices of routes with a finite capacity
    capped_queue: np.ndarray  # which of those routes queue (indices into ``capped``)
    queue_of_capped: np.ndarray  # and where they are among the queue routes
    capped_by_src: Grouper  # sums over those routes by source country


class _Derived:
    """Builds and caches epoch quantities for one block's parameters."""

    def __init__(self, model: CompiledModel, params: np.ndarray) -> None:
        self.m = model
        self.params = params
        R, C = model.n_routes, model.n_countries
        self.incidence = np.zeros((R, C))
        self.incidence[np.arange(R), model.route_src] = 1.0
        # before[r', r] = 1 when r' comes before r in the chain out of the same country
        same = model.route_src[:, None] == model.route_src[None, :]
        self.before = (same & (model.route_position[:, None] < model.route_position[None, :]))
        self.before = self.before.astype(float)
        self.internal = model.route_internal[None, :, None]
        self.passport = model.passport_share.values(params)  # (1|B, K)
        self.regime_cost = model.regime_cost.values(params)  # (1|B, 6)
        self.deterrence = model.deterrence.values(params)  # (1|B,)
        self.chain = _chain(model)
        # routes that queue applicants in some epoch: the only ones that can hold anybody
        self.queue_routes = np.flatnonzero(np.isin(model.route_regime, QUEUED).any(axis=(0, 2)))
        self.asylum_countries = np.flatnonzero(model.has_asylum)
        self.cache: dict[tuple[int, int], _Epoch] = {}
        self._base_weight: np.ndarray | None = None

    def weights(self, e: int) -> tuple[np.ndarray, np.ndarray]:
        """Logit weights of each route for each cohort in epoch ``e``, and the open mask."""
        m = self.m
        regime = m.route_regime[e].astype(np.int64)  # (R, K)
        hum = m.humanitarian_eligible[None, :]
        open_ = (regime != CLOSED) & m.route_eligible & ((regime != HUMANITARIAN) | hum)
        attract = m.attractiveness.at(e).values(self.params)  # (1|B, C, K)
        cost = m.route_cost.at(e).values(self.params)  # (1|B, R, K)
        rcost = self.regime_cost[:, regime]  # (1|B, R, K)
        utility = attract[:, m.route_dst, :] - cost - rcost
        # utilities are O(1) on the logit scale; clipping only guards exp against overflow
        weight = np.exp(np.clip(utility, -50.0, 50.0)) * open_[None]
        return weight, open_

    def mixture(self, weight: np.ndarray) -> np.ndarray:
        """Route probabilities for a mover: international-passport mixture of two logits."""
        tot_all = route_sum(weight, self.incidence)
        w_int = weight * self.internal
        tot_int = route_sum(w_int, self.incidence)
        src = self.m.route_src
        with np.errstate(invalid="ignore", divide="ignore"):
            q_all = np.where(tot_all[:, src, :] > 0, weight / tot_all[:, src, :], 0.0)
            q_int = np.where(tot_int[:, src, :] > 0, w_int / tot_int[:, src, :], 0.0)
        pi = self.passport[:, None, :]
        return pi * q_all + (1.0 - pi) * q_int

    def access(self, weight: np.ndarray) -> np.ndarray:
        """Mixture-weighted choice weight out of the origin, per cohort (B|1, K)."""
        o = self.m.route_src == self.m.origin
        w = weight[:, o, :]
        internal = self.m.route_internal[o][None, :, None]
        pi = self.passport
        return pi * w.sum(axis=1) + (1.0 - pi) * (w * internal).sum(axis=1)

    def epoch(self, e: int, days: int) -> _Epoch:
        key = (e, days)
        if key in self.cache:
            return self.cache[key]
        m, params = self.m, self.params
        weight, open_ = self.weights(e)
        if self._base_weight is None:
            self._base_weight = self.access(self.weights(0)[0])
        q = self.mixture(weight)
        cum_before = route_sum(q, self.before)
        with np.errstate(invalid="ignore", divide="ignore"):
            cond = np.where(1.0 - cum_before > 1e-12, q / (1.0 - cum_before), 0.0)
        cond = _p(np.where(open_[None], cond, 0.0))
        base = self._base_weight
        now = self.access(weight)
        # With no open route to compare against (base 0: every route out of the origin is
        # closed to the cohort with no policy in force), closures cannot deter: ratio 1.
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(base > 0, now / base, 1.0)
        access = ratio ** self.deterrence.reshape(-1, 1)

        scale = days / 7.0
        # competing risks at each country: weekly probabilities -> rates -> step probabilities
        hz = [getattr(m, f).at(e).values(params) for f in
              ("return_hazard", "onward_hazard", "claim_hazard", "settle_hazard")]
        hz[2] = hz[2] * m.has_asylum[None, :, None]
        shape = np.broadcast_shapes(*(h.shape for h in hz))
        rates = np.stack([np.broadcast_to(-np.log1p(-np.minimum(h, 1 - 1e-15)), shape)
                          for h in hz], axis=-1)
        rates[:, m.origin] = 0.0
        total = rates.sum(axis=-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            p_any = -np.expm1(-total * scale)
            share = np.where(total > 0, rates / total, 0.0)
        q_ev = p_any * share  # unconditional event probabilities
        before_ev = np.cumsum(q_ev, axis=-1) - q_ev
        with np.errstate(invalid="ignore", divide="ignore"):
            q_chain = _p(np.where(1 - before_ev > 1e-12, q_ev / (1 - before_ev), 0.0))

        # where an event can happen in most countries, draw over all of them (the others
        # have probability 0, drawn at almost no cost) rather than gather and scatter a subset
        event_sites = []
        for i in range(4):
            where = np.flatnonzero((q_chain[..., i] > 0).any(axis=(0, 2)))
            event_sites.append(slice(None) if where.size >= 0.75 * m.n_countries else where)

        proc = m.processing_days.at(e).values(params)
        p_dec_a = _p(-np.expm1(-days / np.maximum(proc, 1e-9)))
        delay = m.route_delay.at(e).values(params)
        with np.errstate(divide="ignore"):
            p_dec_v = _p(np.where(delay > 0, -np.expm1(-days / np.maximum(delay, 1e-300)), 1.0))
        issuance = _p(m.route_issuance.at(e).values(params))
        # Applications already waiting on a route that stops queueing: on a route now shut
        # to their cohort (closed, or humanitarian_only for a cohort not eligible) they are
        # refused at once; on an open one they may cross now.
        regime = m.route_regime[e]
        queued = np.isin(regime, QUEUED)[None]
        shut = ~open_[None]
        p_dec_v = np.where(queued & ~shut, p_dec_v, 1.0)
        issuance = np.where(queued & ~shut, issuance, np.where(shut, 0.0, 1.0))
        capacity = m.route_capacity.at(e).values(params)  # (1|B, R)
        capped = np.flatnonzero(np.isfinite(capacity).any(axis=0))
        recognition = _p(m.recognition_rate.at(e).values(params))
        rejected_return = _p(m.rejected_return.at(e).values(params))
        asylum_cap = m.asylum_capacity.at(e).values(params)
        qr, ac = self.queue_routes, self.asylum_countries
        capped_queue = np.flatnonzero(np.isin(capped, qr))
        ep = _Epoch(
            route_open=open_[None],
            route_cond=cond,
            chain_cond=[np.ascontiguousarray(cond[:, c.routes]) for c in self.chain],
            route_queued=queued,
            access=access,
            q_events=q_chain,
            event_sites=event_sites,
            event_q=[np.ascontiguousarray(q_chain[..., i][:, w])
                     for i, w in enumerate(event_sites)],
            event_index=[np.arange(m.n_countries) if isinstance(w, slice) else w
                         for w in event_sites],
            p_decide_asylum=p_dec_a,
            recognition=recognition,
            rejected_return=rejected_return,
            asylum_cap=asylum_cap,
            p_decide_asylum_a=np.ascontiguousarray(p_dec_a[:, ac]),
            recognition_a=np.ascontiguousarray(recognition[:, ac]),
            rejected_return_a=np.ascontiguousarray(rejected_return[:, ac]),
            asylum_cap_a=np.ascontiguousarray(asylum_cap[:, ac]),
            p_decide_visa=p_dec_v,
            issuance=issuance,
            queued_q=np.ascontiguousarray(queued[:, qr]),
            p_decide_visa_q=np.ascontiguousarray(p_dec_v[:, qr]),
            issuance_q=np.ascontiguousarray(issuance[:, qr]),
            capacity=capacity,
            capped=capped,
            capped_queue=capped_queue,
            queue_of_capped=np.searchsorted(qr, capped[capped_queue]),
            capped_by_src=Grouper(m.route_src[capped], m.n_countries),
        )
        self.cache[key] = ep
        return ep


@dataclasses.dataclass(frozen=True)
class _Link:
    """One position of the route chain: its routes and their source countries.

    ``route_at`` and ``source_at`` index axis 1 of (B, R, K) and (B, C, K) arrays: a slice
    where the position holds a single route (a view, no copy; most positions hold only a
    route out of the origin), else the index array.
    """

    routes: np.ndarray
    route_at: slice | np.ndarray
    source_at: slice | np.ndarray


def _chain(model: CompiledModel) -> list[_Link]:
    """The route chain's positions in order (see :class:`_Link`)."""
    links = []
    for j in range(int(model.route_position.max(initial=-1)) + 1):
        routes = np.flatnonzero(model.route_position == j)
        sources = model.route_src[routes]
        if routes.size == 1:
            r, c = int(routes[0]), int(sources[0])
            links.append(_Link(routes, slice(r, r + 1), slice(c, c + 1)))
        else:
            links.append(_Link(routes, routes, sources))
    return links


def shock_multiplier(model: CompiledModel, params: np.ndarray, first_day: int,
                     days: int) -> np.ndarray:
    """The mean over a step's days of the product of all shock multipliers, (1|B, K)."""
    day = np.arange(first_day, first_day + days, dtype=float)  # (D,)
    total = np.ones((1, 1, model.n_cohorts))
    if not model.shocks:
        return total[:, 0, :]
    for sh in model.shocks:
        active = (day >= sh.start_day) & (day <= sh.end_day)
        if not active.any():
            continue
        since = np.where(active, day - sh.start_day, 0.0)
        if sh.half_life_days is None:
            decay = active.astype(float)[None, :]  # (1, D)
        else:
            hl = sh.half_life_days.values(params).reshape(-1, 1)  # (1|B, 1)
            decay = np.where(active[None, :], np.exp2(-since[None, :] / hl), 0.0)  # (1|B, D)
        mult = sh.multiplier.values(params)  # (1|B, K)
        total = total * (1.0 + (mult[:, None, :] - 1.0) * decay[:, :, None])
    return total.mean(axis=1)


def _cap_select(sampler: Any, demand: np.ndarray, cap: np.ndarray, site: int,
                index: np.ndarray) -> np.ndarray:
    """Choose at most ``cap`` of the ``demand`` people in each group, at random.

    Parameters
    ----------
    demand : ndarray, shape (B, M, G)
        People by group member ``G`` (cohorts, or cohorts × kind) in ``M`` groups.
    cap : ndarray, shape (1|B, M)
        Capacity of each group (may be ``inf``).
    index : ndarray, shape (M,)
        The countries or routes the groups stand for (for keyed samplers).

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


def run_block(
    model: CompiledModel,
    params: np.ndarray,
    sampler: Any,
    record: Sequence[str] = DEFAULT_RECORD,
    check: bool = False,
    on_step: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Simulate one block of replicates.

    Parameters
    ----------
    model : CompiledModel
    params : ndarray, shape (B, P)
        One parameter vector per replicate.
    sampler : ExactSampler or compatible
        Source of the binomial and hypergeometric draws.
    record : sequence of str
        Variables to record (keys of :data:`RECORDABLE`).
    check : bool
        Verify the population invariant after every step (raises :class:`InvariantError`).
    on_step : callable, optional
        Called with the step index after each step (progress reporting).

    Returns
    -------
    dict of str to ndarray
        Each recorded variable with shape ``(B, T, ...)`` (see :data:`RECORDABLE`), int32.
    """
    m = model
    params = np.asarray(params, dtype=float)
    B = params.shape[0]
    T, C, R, K = m.n_steps, m.n_countries, m.n_routes, m.n_cohorts
    o = m.origin
    unknown = set(record) - set(RECORDABLE)
    if unknown:
        raise ValueError(f"cannot record {sorted(unknown)}; choose from {sorted(RECORDABLE)}")
    # time-major while stepping, so that each step writes one contiguous slab: writing a
    # (B, ...) slab into a replicate-major array costs B strided copies a step
    out = {v: np.zeros((T, B, *record_shape(m, v)), dtype=np.int32) for v in record}

    # Replicates that share every parameter (a run without per-replicate values) share the
    # quantities of each epoch too: compute those once, for one row, and let them broadcast.
    shared = B > 1 and bool((params == params[:1]).all())
    derived = _Derived(m, params[:1] if shared else params)
    population = np.broadcast_to(m.population.values(params), (B, K)).astype(np.int64)
    hazard = m.baseline_hazard.values(params)  # (1|B, K)

    # routes that can queue applicants, and the applicants waiting on them
    qr = derived.queue_routes
    Q = qr.size
    never = population.copy()
    returned = np.zeros((B, K), dtype=np.int64)
    waiting = np.zeros((B, Q, K), dtype=np.int64)
    present = np.zeros((B, C, K), dtype=np.int64)
    pending = np.zeros((B, C, K), dtype=np.int64)
    settled = np.zeros((B, C, K), dtype=np.int64)
    if m.has_initial:  # people of the origin already abroad when the calendar starts
        for arr, f in ((present, m.initial_present), (pending, m.initial_pending),
                       (settled, m.initial_settled)):
            arr += np.broadcast_to(f.values(params), (B, C, K)).astype(np.int64)
        population = np.broadcast_to(m.people(params), (B, K)).astype(np.int64)

    src, dst = m.route_src, m.route_dst
    from_origin = np.flatnonzero(src == o)
    asylum_c = derived.asylum_countries
    by_dst = Grouper(dst, C)
    by_src_q, by_dst_q = Grouper(src[qr], C), Grouper(dst[qr], C)
    first_day = 0

    for t in range(T):
        sampler.start_step(t)
        days = int(m.step_days[t])
        ep = derived.epoch(int(m.epoch_of_step[t]), days)

        # 1. departures from the origin ------------------------------------------------
        mult = shock_multiplier(m, params, first_day, days)
        p_week = _p(hazard * mult * ep.access)
        p_dep = -np.expm1(np.log1p(-np.minimum(p_week, 1.0 - 1e-15)) * (days / 7.0))
        p_dep = np.where(p_week >= 1.0, 1.0, p_dep)
        leaving = sampler.binomial(never, _p(p_dep), SITE_DEPART, None)
        never -= leaving
        movers = np.zeros((B, C, K), dtype=np.int64)
        movers[:, o] = leaving

        # 2. present people: return, move on, claim asylum, settle ----------------------
        ret = np.zeros((B, C, K), dtype=np.int64)
        claims = np.zeros((B, C, K), dtype=np.int64)
        for i, where in enumerate(ep.event_sites):
            index = ep.event_index[i]
            if not index.size:
                continue
            x = sampler.binomial(present[:, where], ep.event_q[i], SITE_EVENTS + i, index)
            present[:, where] -= x
            if i == 0:
                ret[:, where] = x
            elif i == 1:
                movers[:, where] += x
            elif i == 2:
                claims[:, where] = x
                pending[:, where] += x
            else:
                settled[:, where] += x
        returned += sum_over_axis1(ret)

        # 3. asylum decisions ------------------------------------------------------------
        decisions = np.zeros((B, C, K), dtype=np.int64)
        grants = np.zeros((B, C, K), dtype=np.int64)
        if asylum_c.size:
            pa = pending[:, asylum_c]
            dec = sampler.binomial(pa, ep.p_decide_asylum_a, SITE_DECIDE, asylum_c)
            dec = _cap_select(sampler, dec, ep.asylum_cap_a, SITE_ACAP, asylum_c)
            gr = sampler.binomial(dec, ep.recognition_a, SITE_GRANT, asylum_c)
            rejected = dec - gr
            back = sampler.binomial(rejected, ep.rejected_return_a, SITE_REJECT, asylum_c)
            pending[:, asylum_c] -= dec
            settled[:, asylum_c] += gr
            returned += sum_over_axis1(back)
            ret[:, asylum_c] += back
            movers[:, asylum_c] += rejected - back
            decisions[:, asylum_c] = dec
            grants[:, asylum_c] = gr

        # 4. route choice: a chain of conditional binomials, one route position at a time
        flow = np.zeros((B, R, K), dtype=np.int64)
        left = movers
        for link, cond in zip(derived.chain, ep.chain_cond):
            x = sampler.binomial(left[:, link.source_at], cond, SITE_ROUTE, link.routes)
            flow[:, link.route_at] = x
            left[:, link.source_at] -= x
        # movers without a usable route stay where they are
        never += left[:, o]
        left[:, o] = 0
        present += left

        # 5. queues on visa and humanitarian routes --------------------------------------
        immediate = flow  # from here on: those crossing in this step without a queue
        granted = np.zeros((B, Q, K), dtype=np.int64)  # visas granted, by queue route
        if Q:
            new_apps = flow[:, qr] * ep.queued_q
            immediate[:, qr] -= new_apps
            waiting += new_apps
            decided = sampler.binomial(waiting, ep.p_decide_visa_q, SITE_VISA, qr)
            granted = sampler.binomial(decided, ep.issuance_q, SITE_ISSUE, qr)
            waiting -= decided
            to_source(decided - granted, by_src_q, o, never, present)

        # 6. capacities --------------------------------------------------------------------
        if ep.capped.size:
            cidx, cq, qc = ep.capped, ep.capped_queue, ep.queue_of_capped
            granted_c = np.zeros((B, cidx.size, K), dtype=np.int64)
            granted_c[:, cq] = granted[:, qc]
            demand = np.concatenate([immediate[:, cidx], granted_c], axis=-1)
            passed = _cap_select(sampler, demand, ep.capacity[:, cidx], SITE_CAP, cidx)
            imm_pass, gr_pass = passed[..., :K], passed[..., K:]
            # above capacity: the queue-free stay at the source, visa holders stay queued
            to_source(immediate[:, cidx] - imm_pass, ep.capped_by_src, o, never, present)
            immediate[:, cidx] = imm_pass
            if cq.size:
                waiting[:, qc] += granted[:, qc] - gr_pass[:, cq]
                granted[:, qc] = gr_pass[:, cq]

        # 7. crossings ----------------------------------------------------------------------
        crossing = immediate
        if Q:
            crossing[:, qr] += granted
        arrivals = by_dst.sum(crossing)
        present += arrivals

        # -- record ----------------------------------------------------------------------
        if "stock" in out:
            stock = present + pending + settled
            wait_at = by_src_q.sum(waiting)
            stock += wait_at
            stock[:, o] = never + returned + wait_at[:, o]
            out["stock"][t] = stock
        if "departures" in out:
            out["departures"][t] = sum_over_axis1(crossing[:, from_origin])
        if "returns" in out:
            out["returns"][t] = ret
        if "arrivals" in out:
            out["arrivals"][t] = arrivals
        if "settled" in out:
            out["settled"][t] = settled
        if "asylum_applications" in out:
            out["asylum_applications"][t] = claims
        if "asylum_decisions" in out:
            out["asylum_decisions"][t] = decisions
        if "asylum_grants" in out:
            out["asylum_grants"][t] = grants
        if "visas_issued" in out:
            out["visas_issued"][t] = by_dst_q.sum(granted)
        if "flow" in out:
            out["flow"][t] = crossing

        if check:
            total = never + returned + sum_over_axis1(waiting) + sum_over_axis1(
                present + pending + settled)
            if not np.array_equal(total, population):
                raise InvariantError(f"step {t}: population not conserved "
                                     f"(max error {np.abs(total - population).max()})")
            for name, arr in (("never", never), ("returned", returned), ("waiting", waiting),
                              ("present", present), ("pending", pending),
                              ("settled", settled)):
                if (arr < 0).any():
                    raise InvariantError(f"step {t}: negative count in {name}")
        first_day += days
        if on_step is not None:
            on_step(t)
    # replicate-major again, in one copy a variable (sums over time, and so everything
    # computed from a block, must not depend on where the block ran)
    return {v: np.ascontiguousarray(np.moveaxis(out.pop(v), 0, 1)) for v in list(out)}


