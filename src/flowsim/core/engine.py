"""The engine: one block of replicates stepped through time on dense integer arrays.

Shape convention (one block of ``B`` replicates): ``(B, C, K)`` for countries × cohorts,
``(B, R, K)`` for routes × cohorts, ``(B, K)`` for the origin's cohorts. Nothing here loops
over replicates or people; Python loops run over steps, over route *positions* in the
multinomial chain (at most :data:`~flowsim.core.route_tree.CHAIN_POSITIONS`, then over the
levels of a tree of binomials), over cohorts in capacity selection, and over programmes.

Compartments (every person is in exactly one, at every step):

* ``never`` (B, K): in the origin, never left;
* ``returned`` (B, K): back in the origin;
* ``waiting`` (B, R, K): waiting for a visa decision on a route (physically at its source);
* ``present`` (B, C, K): in a country, free to move;
* ``pending`` (B, C, K): asylum claim pending;
* ``settled`` (B, C, K): holding a permit or protection (leaves only by the settled
  return and onward hazards, 0 by default).
* ``transit`` (B, T, K): on the way along a route that takes time (``T`` such routes).

One step, in order (see ``docs/model.md`` for the reasoning):

1. departures: ``never`` leave with the cohort's hazard × shocks × ``A ** deterrence``;
2. at each other country, settled people return home or move on where their hazards allow
   it; then present people return home, move on, claim asylum, settle or stay (competing
   risks, one multinomial draw as a chain of binomials);
3. asylum: pending claims are decided (geometric delay, capacity-limited), granted with the
   recognition rate; rejected claimants return or move on;
4. everyone moving chooses a route by a multinomial logit over the routes open to their
   cohort (a mixture over holding an international passport or not); those left without a
   route stay where they are;
5. queued routes (``visa_required``, ``humanitarian_only``): new applicants join the queue,
   a geometric share of the queue is decided, granted with the issuance probability; refused
   applicants go back to where they applied from;
6. capacities: crossings above a route's capacity, then above a programme's (a quota shared
   by routes and cohorts, per step and in total), are chosen at random (multivariate
   hypergeometric); the rest stay at the source (or, if they held a visa, in the queue);
   then a share of the crossings of ``irregular`` routes is intercepted and sent back;
7. crossings arrive in the destination's ``present`` (``pending`` where the route has
   ``asylum_at_border``); on routes with a travel time they are first on the way
   (``transit``, counted at the source) and arrive each step with a geometric chance.

Returned people may leave again in step 1 (``reemigration_hazard``; with ``track_returnees``
they go through steps 4 to 6 apart from the first leavers, :mod:`flowsim.core.returnees`,
and whoever of them is sent back is returned again), and pending claimants
abscond or move on in step 2, where a scenario turns these on. Shocks with a ``field``
multiply that hazard abroad in step 2 (:mod:`flowsim.core.abroad`); where a regularisation
has a cut-off date, the present people eligible for it are counted apart and their step 2
events drawn with their own settle hazard.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from flowsim.core.abroad import Eligible, hazard_factors
from flowsim.core.compile import CompiledModel
from flowsim.core.epochs import BlockEpochs, clip01
from flowsim.core.indexing import add, put, subtract, take
from flowsim.core.quotas import Programmes, cap_select
from flowsim.core.returnees import ReturneeLane
from flowsim.core.route_tree import draw_chain
from flowsim.core.shocks import daily_factor
from flowsim.core.sums import Grouper, sum_over_axis1, to_source

__all__ = ["DEFAULT_RECORD", "RECORDABLE", "InvariantError", "check_record", "default_record",
           "recordable", "run_block", "tracked_record"]

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
    "interceptions": ("country", "cohort"),
    "pending": ("country", "cohort"),
    "in_transit": ("route", "cohort"),
    "first_departures": ("cohort",),
}
# recorded unless asked otherwise (the route flows, and the variables added with later
# mechanisms, only on request, so that a run records what it always has)
DEFAULT_RECORD: tuple[str, ...] = tuple(
    v for v in RECORDABLE
    if v not in ("flow", "interceptions", "pending", "in_transit", "first_departures"))


def check_record(model: CompiledModel, record: Sequence[str]) -> None:
    """Raise ``ValueError`` for a variable of ``record`` that a run of ``model`` cannot
    record (see :func:`recordable`)."""
    if "first_departures" in record and "first_departures" not in recordable(model):
        raise ValueError("cannot record first_departures: returned people leave again and "
                         "are not told apart from first leavers (set behaviour."
                         "track_returnees)")


def tracked_record(model: CompiledModel) -> tuple[str, ...]:
    """``("first_departures",)`` where the model keeps returnees apart
    (``track_returnees``), else ``()``: what every run of it records besides its own list."""
    return ("first_departures",) if model.track_returnees and model.has_reemigration else ()


def default_record(model: CompiledModel) -> tuple[str, ...]:
    """What a run of ``model`` records unless asked otherwise: :data:`DEFAULT_RECORD`, and
    ``first_departures`` where the model keeps returnees apart (:func:`tracked_record`)."""
    return (*DEFAULT_RECORD, *tracked_record(model))


def recordable(model: CompiledModel) -> tuple[str, ...]:
    """The variables a run of ``model`` can record: all of :data:`RECORDABLE` but
    ``first_departures`` where returned people leave again without ``track_returnees``
    (the crossings out of the origin then mix first leavers and returnees)."""
    if model.has_reemigration and not model.track_returnees:
        return tuple(v for v in RECORDABLE if v != "first_departures")
    return tuple(RECORDABLE)


def record_shape(model: CompiledModel, name: str) -> tuple[int, ...]:
    """The shape of a recorded variable in one step of one replicate (see
    :data:`RECORDABLE`), e.g. ``(countries, cohorts)`` for ``stock``."""
    sizes = {"country": model.n_countries, "cohort": model.n_cohorts, "route": model.n_routes}
    return tuple(sizes[d] for d in RECORDABLE[name])


#: Per-replicate slabs of at least this many numbers are recorded replicate-major (below).
REPLICATE_MAJOR_SLAB = 2048


def _recording(T: int, B: int, shape: tuple[int, ...]) -> np.ndarray:
    """A zeroed int32 array for one recorded variable, indexed ``[t]`` by step.

    Small slabs are kept time-major while stepping, so that each step writes one contiguous
    slab (writing a (B, ...) slab of a few hundred numbers a replicate into a
    replicate-major array costs B strided copies a step), and are transposed at the end.
    Large ones (a graph of thousands of countries) are written straight into a
    replicate-major array through a time-major view: B copies of thousands of numbers cost
    what one does, and the end needs no second array of the same size, whose fresh pages
    cost as much as the copy (measured at 10,000 countries, 333 MB a block of 10).
    """
    if math.prod(shape) >= REPLICATE_MAJOR_SLAB:
        return np.moveaxis(np.zeros((B, T, *shape), dtype=np.int32), 1, 0)
    return np.zeros((T, B, *shape), dtype=np.int32)


class InvariantError(RuntimeError):
    """The engine lost or created people: a bug in flowsim, never a user error."""


# draw sites within a step (for keyed samplers)
SITE_DEPART, SITE_EVENTS, SITE_DECIDE, SITE_GRANT, SITE_REJECT, SITE_ROUTE, SITE_VISA, \
    SITE_ISSUE, SITE_CAP, SITE_ACAP, SITE_SETTLED, SITE_AGAIN, SITE_STAYED, SITE_PENDING, \
    SITE_PROGRAMME, SITE_INTERCEPT, SITE_TRAVEL, SITE_ELIGIBLE, SITE_KEPT = (
        i * 1000 for i in range(19))
# the returnee lane's route choice, visa decisions, grants and interceptions
RETURNEE_SITES = (19000, 20000, 21000, 22000)


def leave_probability(p_week: np.ndarray, days: int) -> np.ndarray:
    """The step probability of leaving the origin for a weekly probability ``p_week``."""
    p_week = clip01(p_week)
    p = -np.expm1(np.log1p(-np.minimum(p_week, 1.0 - 1e-15)) * (days / 7.0))
    return clip01(np.where(p_week >= 1.0, 1.0, p))


def shock_multiplier(model: CompiledModel, params: np.ndarray, first_day: int,
                     days: int) -> np.ndarray:
    """The mean over a step's days of the product of all shock multipliers, (1|B, K)."""
    day = np.arange(first_day, first_day + days, dtype=float)  # (D,)
    total = np.ones((1, 1, model.n_cohorts))
    if not model.shocks:
        return total[:, 0, :]
    for sh in model.shocks:
        f = daily_factor(sh, day, params)  # (1|B, D, K)
        if f is not None:
            total = total * f
    return total.mean(axis=1)


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
    check_record(m, record)
    out = {v: _recording(T, B, record_shape(m, v)) for v in record}

    # Replicates that share every parameter (a run without per-replicate values) share the
    # quantities of each epoch too: compute those once, for one row, and let them broadcast.
    shared = B > 1 and bool((params == params[:1]).all())
    derived = BlockEpochs(m, params[:1] if shared else params)
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
    network = m.has_network  # a property that reads the fields: once, not every step
    reemigration, pending_moves = m.has_reemigration, m.has_pending_moves
    rehazard = m.reemigration_hazard.values(params)  # (1|B, K)
    # the returned who leave again, kept apart until they cross (track_returnees)
    lane = (ReturneeLane(B, qr, K, m.route_src, derived, o, RETURNEE_SITES)
            if reemigration and m.track_returnees else None)
    emigration_scheduled = bool((m.emigration_factor != 1.0).any())
    programmes = (Programmes(m, params, qr, B) if m.programmes else None)
    # people on routes that take time (counted in the stock of the country they left)
    tr = derived.travel_routes
    transit = np.zeros((B, tr.size, K), dtype=np.int64)
    by_src_t = Grouper(src[tr], C)
    # regularisation before a cut-off: the eligible present people of each tracked country
    eligible = (None if m.settle_cutoff_step is None
                else Eligible(m.settle_cutoff_step, B, K))
    # (replicate, cohort) keys of flat (B * K) draws, for keyed samplers
    cohort_keys = (np.repeat(np.arange(B), K), np.tile(np.arange(K), B))

    for t in range(T):
        sampler.start_step(t)
        days = int(m.step_days[t])
        ep = derived.epoch(int(m.epoch_of_step[t]), days)
        if m.hazard_shocks:  # shocks on hazards abroad: this step's events abroad
            factors = hazard_factors(m.hazard_shocks, derived.params, first_day, days, C, K)
            if factors:
                ep = derived.shocked(ep, days, factors)
        tracking = eligible is not None and t >= eligible.first
        # network effects see the people in each country at the start of the step
        network_stock = None
        if network:
            queued = waiting if lane is None else waiting + lane.waiting
            network_stock = ((present + pending + settled).sum(axis=2)
                             + by_src_q.sum(queued).sum(axis=2))
            if tr.size:
                network_stock += by_src_t.sum(transit).sum(axis=2)

        # 1. departures from the origin ------------------------------------------------
        e = int(m.epoch_of_step[t])
        mult = shock_multiplier(m, params, first_day, days)
        h = hazard * m.emigration_factor[e] if emigration_scheduled else hazard
        leaving = sampler.binomial(never, leave_probability(h * mult * ep.access, days),
                                   SITE_DEPART, None)
        never -= leaving
        movers = np.zeros((B, C, K), dtype=np.int64)
        movers[:, o] = leaving
        again = None  # returned people who leave again (same shocks, same deterrence)
        if reemigration:
            h = rehazard * m.reemigration_factor[e]
            again = sampler.binomial(returned, leave_probability(h * mult * ep.access, days),
                                     SITE_AGAIN, None)
            returned -= again
            if lane is None:
                movers[:, o] += again

        # 2. present people: return, move on, claim asylum, settle ----------------------
        ret = np.zeros((B, C, K), dtype=np.int64)
        claims = np.zeros((B, C, K), dtype=np.int64)
        # settled people (at the start of the step) return or move on, where they can
        where = ep.settled_sites
        for i, q in enumerate(ep.settled_q):
            x = sampler.binomial(take(settled, where), q, SITE_SETTLED + i, where)
            subtract(settled, where, x)
            add(ret if i == 0 else movers, where, x)
        absconded = None
        if pending_moves:  # pending claimants leave the procedure: stay, or move on
            where = ep.pending_sites
            absconded = np.zeros((B, C, K), dtype=np.int64)
            for i, q in enumerate(ep.pending_q):
                x = sampler.binomial(take(pending, where), q, SITE_PENDING + i, where)
                subtract(pending, where, x)
                # the absconded are present from the end of these events
                add(absconded if i == 0 else movers, where, x)
        if tracking:  # the eligible's events are drawn apart (their settle hazard differs)
            tc = eligible.countries
            eligible.snapshot(t, present)
            present[:, tc] -= eligible.count
        for i, where in enumerate(ep.event_sites):
            index = ep.event_index[i]
            if not index.size:
                continue
            x = sampler.binomial(take(present, where), ep.event_q[i], SITE_EVENTS + i, index)
            subtract(present, where, x)
            if i == 2:
                put(claims, where, x)
            add((ret, movers, pending, settled)[i], where, x)
        eligible_movers = None
        if tracking:
            for i, q in enumerate(ep.eligible_q):
                x = sampler.binomial(eligible.count, q, SITE_ELIGIBLE + i, tc)
                eligible.count -= x
                if i == 0:
                    ret[:, tc] += x
                elif i == 1:
                    movers[:, tc] += x
                    eligible_movers = x
                elif i == 2:
                    claims[:, tc] += x
                    pending[:, tc] += x
                else:
                    settled[:, tc] += x
            present[:, tc] += eligible.count
        if absconded is not None:
            present += absconded
        returned += sum_over_axis1(ret)

        # 3. asylum decisions (recorded straight into this step's zeroed slabs) ------------
        if asylum_c.size:
            pa = take(pending, asylum_c)
            dec = sampler.binomial(pa, ep.p_decide_asylum_a, SITE_DECIDE, asylum_c)
            dec = cap_select(sampler, dec, ep.asylum_cap_a, SITE_ACAP, asylum_c)
            gr = sampler.binomial(dec, ep.recognition_a, SITE_GRANT, asylum_c)
            rejected = dec - gr
            back = sampler.binomial(rejected, ep.rejected_return_a, SITE_REJECT, asylum_c)
            subtract(pending, asylum_c, dec)
            add(settled, asylum_c, gr)
            returned += sum_over_axis1(back)
            add(ret, asylum_c, back)
            add(movers, asylum_c, rejected - back)
            for name, x in (("asylum_decisions", dec), ("asylum_grants", gr)):
                if name in out:
                    out[name][t][:, asylum_c] = x

        # 4. route choice: a chain of conditional binomials, one route position at a time
        # up to CHAIN_POSITIONS, then a tree of binomials, one level at a time, over the
        # routes beyond (countries with more routes; none in the shipped scenarios)
        flow = np.zeros((B, R, K), dtype=np.int64)
        left = movers
        route_cond, chain_cond, tree_p = ep.route_cond, ep.chain_cond, ep.tree_p
        if network_stock is not None:  # attractiveness rises with last step's stocks
            route_cond = derived.cond_with_network(ep, network_stock)
            chain_cond, tree_p = derived.chain_inputs(route_cond)
        movers_tc = movers[:, tc].copy() if eligible_movers is not None else None
        draw_chain(sampler, derived.chain, chain_cond, left, flow, SITE_ROUTE)
        derived.tree.draw(sampler, tree_p, left, flow, SITE_ROUTE)
        # movers without a usable route stay where they are (the eligible stay eligible)
        if movers_tc is not None:
            eligible.stayed(sampler, SITE_KEPT, movers_tc, eligible_movers, left[:, tc])
        if lane is not None:  # the returnees choose apart; those with no route stay returned
            returned += lane.choose(sampler, route_cond, tree_p, again, C)
            never += left[:, o]
        elif again is not None:  # which of the origin's stayers had returned: exchangeable
            stayed = left[:, o]
            back = sampler.hypergeometric(again.ravel(), leaving.ravel(), stayed.ravel(),
                                          SITE_STAYED, cohort_keys).reshape(B, K)
            returned += back
            never += stayed - back
        else:
            never += left[:, o]
        left[:, o] = 0
        present += left

        # 5. queues on visa and humanitarian routes --------------------------------------
        immediate = flow  # from here on: those crossing in this step without a queue
        granted = np.zeros((B, Q, K), dtype=np.int64)  # visas granted, by queue route
        if Q:
            new_apps = take(flow, qr) * ep.queued_q
            subtract(immediate, qr, new_apps)
            waiting += new_apps
            decided = sampler.binomial(waiting, ep.p_decide_visa_q, SITE_VISA, qr)
            granted = sampler.binomial(decided, ep.issuance_q, SITE_ISSUE, qr)
            waiting -= decided
            to_source(decided - granted, by_src_q, o, never, present)
            if lane is not None:
                returned += lane.queue(sampler, ep, qr)

        # 6. capacities --------------------------------------------------------------------
        if ep.capped.size:
            cidx, cq, qc = ep.capped, ep.capped_queue, ep.queue_of_capped
            granted_c = np.zeros((B, cidx.size, K), dtype=np.int64)
            granted_c[:, cq] = granted[:, qc]
            demand = np.concatenate([take(immediate, cidx), granted_c], axis=-1)
            if lane is not None:  # the returnees' crossings: more members of the same draw
                demand = np.concatenate([demand, lane.demand(cidx, cq, qc)], axis=-1)
            passed = cap_select(sampler, demand, ep.capacity[:, cidx], SITE_CAP, cidx)
            if lane is not None:
                returned += lane.passed(passed[..., 2 * K:], cidx, cq, qc)
            imm_pass, gr_pass = passed[..., :K], passed[..., K:2 * K]
            # above capacity: the queue-free stay at the source, visa holders stay queued
            to_source(take(immediate, cidx) - imm_pass, ep.capped_by_src, o, never, present)
            put(immediate, cidx, imm_pass)
            if cq.size:
                waiting[:, qc] += granted[:, qc] - gr_pass[:, cq]
                granted[:, qc] = gr_pass[:, cq]
        if programmes is not None:  # quotas shared by routes and cohorts
            programmes.apply(sampler, t, SITE_PROGRAMME, immediate, granted, waiting, never,
                             present, lane, returned)

        # 6b. interception on irregular routes: sent back to where the route leaves from
        caught = None
        ir = ep.intercept_routes
        if ir.size:
            caught = sampler.binomial(take(immediate, ir), ep.intercept_q, SITE_INTERCEPT, ir)
            subtract(immediate, ir, caught)
            to_source(caught, ep.intercept_by_src, o, never, present)
            if lane is not None:
                returned += lane.intercept(sampler, ep)
                caught = caught + lane.caught

        # 7. crossings ----------------------------------------------------------------------
        crossing = immediate
        if Q:
            add(crossing, qr, granted)
        first = crossing  # the crossings of people who never left before
        if lane is not None:
            crossing = crossing + lane.crossing(qr)
        landing = crossing  # those who reach the destination in this step
        if tr.size:  # routes that take time: the crossers join those on the way
            transit += crossing[:, tr]
            arrived = sampler.binomial(transit, ep.p_travel, SITE_TRAVEL, tr)
            transit -= arrived
            landing = crossing.copy()
            landing[:, tr] = arrived
        arrivals = by_dst.sum(landing)
        present += arrivals
        if ep.border_routes.size:  # entering by these routes means claiming asylum
            at_border = ep.border_by_dst.sum(landing[:, ep.border_routes] * ep.border_q)
            present -= at_border
            pending += at_border
            claims += at_border

        # -- record ----------------------------------------------------------------------
        if "stock" in out:
            stock = present + pending + settled
            wait_at = by_src_q.sum(waiting if lane is None else waiting + lane.waiting)
            stock += wait_at
            stock[:, o] = never + returned + wait_at[:, o]
            if tr.size:
                stock += by_src_t.sum(transit)
            out["stock"][t] = stock
        if "departures" in out:
            out["departures"][t] = sum_over_axis1(take(crossing, from_origin))
        if "first_departures" in out:
            out["first_departures"][t] = sum_over_axis1(take(first, from_origin))
        if "returns" in out:
            out["returns"][t] = ret
        if "arrivals" in out:
            out["arrivals"][t] = arrivals
        if "settled" in out:
            out["settled"][t] = settled
        if "asylum_applications" in out:
            out["asylum_applications"][t] = claims
        if "visas_issued" in out:
            out["visas_issued"][t] = by_dst_q.sum(
                granted if lane is None else granted + lane.granted)
        if "flow" in out:
            out["flow"][t] = crossing
        if "interceptions" in out and caught is not None:
            out["interceptions"][t] = ep.intercept_by_dst.sum(caught)
        if "pending" in out:
            out["pending"][t] = pending
        if "in_transit" in out and tr.size:
            out["in_transit"][t][:, tr] = transit

        if check:
            lane_waiting = 0 if lane is None else sum_over_axis1(lane.waiting)
            total = never + returned + sum_over_axis1(waiting) + sum_over_axis1(
                present + pending + settled) + sum_over_axis1(transit) + lane_waiting
            if not np.array_equal(total, population):
                raise InvariantError(f"step {t}: population not conserved "
                                     f"(max error {np.abs(total - population).max()})")
            for name, arr in (("never", never), ("returned", returned), ("waiting", waiting),
                              ("present", present), ("pending", pending),
                              ("settled", settled),
                              ("returnees waiting",
                               waiting[:0] if lane is None else lane.waiting)):
                if (arr < 0).any():
                    raise InvariantError(f"step {t}: negative count in {name}")
            if eligible is not None and ((eligible.count < 0).any() or (
                    eligible.count > present[:, eligible.countries]).any()):
                raise InvariantError(f"step {t}: more eligible than present people")
        first_day += days
        if on_step is not None:
            on_step(t)
    # replicate-major again, in one copy a variable (sums over time, and so everything
    # computed from a block, must not depend on where the block ran); no copy for those
    # recorded replicate-major already
    return {v: np.ascontiguousarray(np.moveaxis(out.pop(v), 0, 1)) for v in list(out)}


