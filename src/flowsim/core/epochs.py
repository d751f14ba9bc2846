"""What a block needs of each policy epoch: route choice, hazards, queues, capacities.

A step's probabilities depend only on its epoch (the policies in force), its length in days
and the block's parameters, so :class:`BlockEpochs` computes them once per (epoch, step
length) and caches them as an :class:`Epoch`. The engine (:mod:`flowsim.core.engine`)
only reads them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from flowsim.core.compile import CLOSED, HUMANITARIAN, IRREGULAR, QUEUED, CompiledModel
from flowsim.core.route_tree import CHAIN_POSITIONS, RouteTree
from flowsim.core.sums import ChainSums, Grouper

__all__ = ["BlockEpochs", "Epoch", "clip01"]


def clip01(x: np.ndarray) -> np.ndarray:
    """Probabilities clipped into [0, 1] (floating-point noise only)."""
    return np.clip(x, 0.0, 1.0)


@dataclasses.dataclass
class Epoch:
    """Per-block quantities that are constant within an epoch (and a step length)."""

    index: int  # the epoch
    route_open: np.ndarray  # (1|B, R, K) bool
    route_cond: np.ndarray  # (1|B, R, K) conditional probability in the chain
    chain_cond: list[np.ndarray]  # route_cond at each chain position's routes (contiguous)
    tree_p: list[np.ndarray]  # the route tree's probabilities (RouteTree.probabilities)
    weight: np.ndarray  # (1|B, R, K) the routes' logit weights (for network effects)
    route_queued: np.ndarray  # (1, R, K) bool
    access: np.ndarray  # (1|B, K) A ** deterrence for the origin
    q_events: np.ndarray  # (1|B, C, K, 4) return, onward, claim, settle: chain probabilities
    event_sites: list[np.ndarray | slice]  # per event, the countries where it can happen
    event_q: list[np.ndarray]  # per event, q_events at those countries, (1|B, n, K)
    event_index: list[np.ndarray]  # per event, those countries' indices (for keyed draws)
    # settled people who return or move on: the countries where they can (often none), and
    # the chain probabilities (return, onward) there, (1|B, n, K) each
    settled_sites: np.ndarray
    settled_q: list[np.ndarray]
    # pending claimants who abscond (stay, present) or move on: the same, (abscond, onward)
    pending_sites: np.ndarray
    pending_q: list[np.ndarray]
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
    # irregular routes with interception in this epoch, and the share intercepted there
    intercept_routes: np.ndarray
    intercept_q: np.ndarray  # (1|B, n, K)
    intercept_by_src: Grouper
    intercept_by_dst: Grouper
    # routes whose arrivals lodge an asylum claim (for some cohort), and for which cohorts
    border_routes: np.ndarray
    border_q: np.ndarray  # (1, n, K) 0/1
    border_by_dst: Grouper
    # routes that take time: the chance of arriving in this step, (1|B, n, 1)
    p_travel: np.ndarray
    # regularisation before a cut-off: the countries that count the eligible, and the
    # chain probabilities of the eligible's four events there, (1|B, n, K) each (the
    # others' are ``event_q``, with their own settle hazard)
    eligible_sites: np.ndarray | None = None
    eligible_q: list[np.ndarray] | None = None
    damping: np.ndarray | None = None  # A_c ** deterrence (deterrence abroad), (1|B, C, K)


class BlockEpochs:
    """Builds and caches epoch quantities for one block's parameters."""

    def __init__(self, model: CompiledModel, params: np.ndarray) -> None:
        self.m = model
        self.params = params
        # sums over each country's routes, and over the routes before each in its chain
        self.sums = ChainSums(model.route_src, model.route_position, model.n_countries)
        # (1, R, 1) per epoch: the routes an internal passport is enough for
        self.internal = [model.route_internal[e][None, :, None] for e in range(model.n_epochs)]
        self.passport = model.passport_share.values(params)  # (1|B, K)
        self.regime_cost = model.regime_cost.values(params)  # (1|B, 6)
        self.deterrence = model.deterrence.values(params)  # (1|B,)
        self.chain = _chain(model)
        # the routes beyond the chain's positions (countries of more than CHAIN_POSITIONS
        # routes; none in the shipped scenarios)
        self.tree = RouteTree(model.route_src, model.route_position, CHAIN_POSITIONS)
        # routes that queue applicants in some epoch: the only ones that can hold anybody
        self.queue_routes = np.flatnonzero(np.isin(model.route_regime, QUEUED).any(axis=(0, 2)))
        self.asylum_countries = np.flatnonzero(model.has_asylum)
        # routes that take time (in some replicate): the only ones that hold people in transit
        self.travel_days = model.route_travel_days.values(params)  # (1|B, R)
        self.travel_routes = np.flatnonzero((self.travel_days > 0).any(axis=0))
        self.cache: dict[tuple[int, int], Epoch] = {}
        self._base_weight: dict[int, np.ndarray] = {}  # by base epoch
        # eligibility flags held in part: the classes of movers and their probabilities
        self.classes = model.flag_classes
        self.class_p = None if self.classes is None else self.classes.probabilities(params)
        self._class_open: dict[int, np.ndarray] = {}
        self.eligible_sites = (None if model.settle_cutoff_step is None
                               else np.flatnonzero(model.settle_cutoff_step >= 0))

    def class_open(self, e: int) -> np.ndarray:
        """``(R, G, K)`` bool: the routes each class of movers may use in epoch ``e``."""
        if e not in self._class_open:
            m, cl = self.m, self.classes
            regime = m.route_regime[e][:, None, :]  # (R, 1, K)
            elig = np.moveaxis(cl.eligible[e], 0, 1)  # (R, G, K)
            self._class_open[e] = ((regime != CLOSED) & elig
                                   & ((regime != HUMANITARIAN) | cl.humanitarian[None]))
        return self._class_open[e]

    def _by_class(self, weight: np.ndarray, e: int) -> np.ndarray:
        """Route weights per class of movers, ``(1|B, R, G, K)``."""
        return weight[:, :, None, :] * self.class_open(e)[None]

    def weights(self, e: int) -> tuple[np.ndarray, np.ndarray]:
        """Logit weights of each route for each cohort in epoch ``e``, and the open mask."""
        m = self.m
        regime = m.route_regime[e].astype(np.int64)  # (R, K)
        hum = m.humanitarian_eligible[None, :]
        open_ = (regime != CLOSED) & m.route_eligible[e] & ((regime != HUMANITARIAN) | hum)
        attract = m.attractiveness.at(e).values(self.params)  # (1|B, C, K)
        cost = m.route_cost.at(e).values(self.params)  # (1|B, R, K)
        rcost = self.regime_cost[:, regime]  # (1|B, R, K)
        utility = attract[:, m.route_dst, :] - cost - rcost
        # utilities are O(1) on the logit scale; clipping only guards exp against overflow
        weight = np.exp(np.clip(utility, -50.0, 50.0)) * open_[None]
        return weight, open_

    def mixture(self, weight: np.ndarray, e: int) -> np.ndarray:
        """Route probabilities for a mover in epoch ``e``: international-passport mixture of
        two logits (and, with flags held in part, the mixture over the classes of movers)."""
        if self.classes is not None:
            return self._class_mixture(weight, e)
        tot_all = self.sums.total(weight)
        w_int = weight * self.internal[e]
        tot_int = self.sums.total(w_int)
        src = self.m.route_src
        with np.errstate(invalid="ignore", divide="ignore"):
            q_all = np.where(tot_all[:, src, :] > 0, weight / tot_all[:, src, :], 0.0)
            q_int = np.where(tot_int[:, src, :] > 0, w_int / tot_int[:, src, :], 0.0)
        pi = self.passport[:, None, :]
        return pi * q_all + (1.0 - pi) * q_int

    def _class_mixture(self, weight: np.ndarray, e: int) -> np.ndarray:
        """:meth:`mixture` over the classes of movers: each class's passport mixture of two
        logits over the routes it may use, weighted by the class's probability."""
        wg = self._by_class(weight, e)
        b, r, g, k = wg.shape
        flat = wg.reshape(b, r, g * k)  # the classes along the cohort axis
        tot_all = self.sums.total(flat)
        w_int = flat * self.internal[e]
        tot_int = self.sums.total(w_int)
        src = self.m.route_src
        with np.errstate(invalid="ignore", divide="ignore"):
            q_all = np.where(tot_all[:, src, :] > 0, flat / tot_all[:, src, :], 0.0)
            q_int = np.where(tot_int[:, src, :] > 0, w_int / tot_int[:, src, :], 0.0)
        pi = np.tile(self.passport, (1, g))[:, None, :]
        q = (pi * q_all + (1.0 - pi) * q_int).reshape(-1, r, g, k)
        return (q * self.class_p[:, None]).sum(axis=2)

    def conditionals(self, weight: np.ndarray, open_: np.ndarray, e: int) -> np.ndarray:
        """The route chain's conditional probabilities for logit weights ``weight``."""
        q = self.mixture(weight, e)
        cum_before = self.sums.before(q)
        with np.errstate(invalid="ignore", divide="ignore"):
            cond = np.where(1.0 - cum_before > 1e-12, q / (1.0 - cum_before), 0.0)
        return clip01(np.where(open_[None], cond, 0.0))

    def cond_with_network(self, ep: Epoch, stock: np.ndarray) -> np.ndarray:
        """The route chain's conditional probabilities (B, R, K) when attractiveness rises
        with ``stock`` (B, C), the people of the origin in each country at the start of the
        step: ``+ weight × log(1 + stock / scale)`` on the logit scale."""
        m = self.m
        w = m.network_weight.values(self.params)  # (1|B, C)
        scale = m.network_scale.values(self.params)
        boost = np.minimum(w * np.log1p(stock / scale), 50.0)  # (B, C) logit scale
        weight = ep.weight * np.exp(boost)[:, m.route_dst, None]
        return self.conditionals(weight, ep.route_open[0], ep.index)

    def chain_inputs(self, cond: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """What the route choice draws from, given the routes' conditional probabilities
        ``cond`` (1|B, R, K): ``cond`` at each chain position's routes (contiguous), and the
        route tree's probabilities."""
        return ([np.ascontiguousarray(cond[:, c.routes]) for c in self.chain],
                self.tree.probabilities(cond))

    def access(self, weight: np.ndarray, e: int) -> np.ndarray:
        """Mixture-weighted choice weight out of the origin, per cohort (B|1, K)."""
        o = self.m.route_src == self.m.origin
        internal = self.m.route_internal[e][o][None, :, None]
        pi = self.passport
        if self.classes is not None:  # per class, weighted by the classes' probabilities
            w = self._by_class(weight, e)[:, o]  # (1|B, n, G, K)
            per = (pi[:, None] * w.sum(axis=1)
                   + (1.0 - pi[:, None]) * (w * internal[..., None]).sum(axis=1))
            return (per * self.class_p).sum(axis=1)
        w = weight[:, o, :]
        return pi * w.sum(axis=1) + (1.0 - pi) * (w * internal).sum(axis=1)

    def access_abroad(self, weight: np.ndarray, e: int) -> np.ndarray:
        """Mixture-weighted choice weight out of every country, per cohort (B|1, C, K)."""
        if self.classes is not None:
            wg = self._by_class(weight, e)
            b, r, g, k = wg.shape
            flat = wg.reshape(b, r, g * k)
            pi = np.tile(self.passport, (1, g))[:, None, :]
            per = (pi * self.sums.total(flat)
                   + (1.0 - pi) * self.sums.total(flat * self.internal[e]))
            return (per.reshape(per.shape[0], -1, g, k) * self.class_p[:, None]).sum(axis=2)
        return (self.passport[:, None, :] * self.sums.total(weight)
                + (1.0 - self.passport[:, None, :])
                * self.sums.total(weight * self.internal[e]))

    def onward_damping(self, e: int, weight: np.ndarray) -> np.ndarray:
        """``A_c ** deterrence`` for every country and cohort in epoch ``e`` (B|1, C, K),
        ``weight`` the epoch's route weights: the choice weight of the routes open out of
        ``c`` now, relative to the routes open with no policy in force (1 where none were)."""
        b = int(self.m.base_epoch[e])
        base = self.access_abroad(self.weights(b)[0], b)
        now = self.access_abroad(weight, e)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(base > 0, now / base, 1.0)
        return ratio ** self.deterrence.reshape(-1, 1, 1)

    def epoch(self, e: int, days: int) -> Epoch:
        key = (e, days)
        if key in self.cache:
            return self.cache[key]
        m, params = self.m, self.params
        weight, open_ = self.weights(e)
        b = int(m.base_epoch[e])  # no policy in force, the same schedule values
        if b not in self._base_weight:
            self._base_weight[b] = self.access(self.weights(b)[0], b)
        cond = self.conditionals(weight, open_, e)
        base = self._base_weight[b]
        now = self.access(weight, e)
        # With no open route to compare against (base 0: every route out of the origin is
        # closed to the cohort with no policy in force), closures cannot deter: ratio 1.
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(base > 0, now / base, 1.0)
        access = ratio ** self.deterrence.reshape(-1, 1)

        scale = days / 7.0
        # moves on are damped by the routes closed out of a country (deterrence abroad)
        damping = self.onward_damping(e, weight) if m.deterrence_abroad else None
        intercept = clip01(m.route_interception.at(e).values(params)) * (
            m.route_regime[e] == IRREGULAR)[None]  # (1|B, R, K)
        intercept_routes = np.flatnonzero((intercept > 0).any(axis=(0, 2)))
        border_routes = np.flatnonzero(m.route_border[e].any(axis=1))

        proc = m.processing_days.at(e).values(params)
        p_dec_a = clip01(-np.expm1(-days / np.maximum(proc, 1e-9)))
        delay = m.route_delay.at(e).values(params)
        with np.errstate(divide="ignore"):
            p_dec_v = clip01(np.where(delay > 0, -np.expm1(-days / np.maximum(delay, 1e-300)), 1.0))
        issuance = clip01(m.route_issuance.at(e).values(params))
        # Applications already waiting on a route that stops queueing: on a route now shut
        # to their cohort (closed, or humanitarian_only for a cohort not eligible) they are
        # refused at once; on an open one they may cross now.
        regime = m.route_regime[e]
        queued = np.isin(regime, QUEUED)[None]
        shut = ~open_[None]
        if self.classes is not None:  # shut to every class of the cohort (in the replicate)
            shut = ~((self.class_p[:, None] * self.class_open(e)[None]).sum(axis=2) > 0)
        p_dec_v = np.where(queued & ~shut, p_dec_v, 1.0)
        issuance = np.where(queued & ~shut, issuance, np.where(shut, 0.0, 1.0))
        capacity = m.route_capacity.at(e).values(params)  # (1|B, R)
        capped = np.flatnonzero(np.isfinite(capacity).any(axis=0))
        recognition = clip01(m.recognition_rate.at(e).values(params))
        rejected_return = clip01(m.rejected_return.at(e).values(params))
        asylum_cap = m.asylum_capacity.at(e).values(params)
        qr, ac = self.queue_routes, self.asylum_countries
        capped_queue = np.flatnonzero(np.isin(capped, qr))
        chain_cond, tree_p = self.chain_inputs(cond)
        ep = Epoch(
            index=e,
            route_open=open_[None],
            route_cond=cond,
            chain_cond=chain_cond,
            tree_p=tree_p,
            weight=weight,
            route_queued=queued,
            access=access,
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
            intercept_routes=intercept_routes,
            intercept_q=np.ascontiguousarray(intercept[:, intercept_routes]),
            intercept_by_src=Grouper(m.route_src[intercept_routes], m.n_countries),
            intercept_by_dst=Grouper(m.route_dst[intercept_routes], m.n_countries),
            border_routes=border_routes,
            border_q=m.route_border[e][border_routes][None].astype(np.int64),
            border_by_dst=Grouper(m.route_dst[border_routes], m.n_countries),
            p_travel=self._p_travel(days),
            damping=damping,
            **self._event_parts(e, scale, damping),
        )
        self.cache[key] = ep
        return ep

    def shocked(self, ep: Epoch, days: int, factors: dict[str, np.ndarray]) -> Epoch:
        """``ep`` with the events abroad of a step in which shocks multiply hazards abroad
        (``factors``: per field, (1|B, C, K)); not cached, the factors change every step."""
        return dataclasses.replace(ep, **self._event_parts(ep.index, days / 7.0, ep.damping,
                                                           factors))

    def _event_parts(self, e: int, scale: float, damping: np.ndarray | None,
                     factors: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
        """The chain probabilities of the events abroad in epoch ``e`` (present, settled and
        pending people, and the eligible of a regularisation), where they can happen."""
        m, params = self.m, self.params
        factors = factors or {}

        def hazard(field: str, name: str | None = None) -> np.ndarray:
            h = getattr(m, name or field).at(e).values(params)
            return h * factors[field] if field in factors else h

        hz = [hazard(f) for f in ("return_hazard", "onward_hazard", "claim_hazard")]
        hz.append(hazard("settle_hazard", None if m.settle_hazard_other is None
                         else "settle_hazard_other"))
        hz[2] = hz[2] * m.has_asylum[None, :, None]
        if damping is not None:
            hz[1] = np.minimum(hz[1] * damping, 1.0)
        q_chain = _risk_chain(hz, m.origin, scale)
        settled_sites, settled_q = self._two_events(
            e, scale, damping, ("settled_return_hazard", "settled_onward_hazard"), factors)
        pending_sites, pending_q = self._two_events(
            e, scale, damping, ("abscond_hazard", "pending_onward_hazard"), factors)
        # where an event can happen in most countries, draw over all of them (the others
        # have probability 0, drawn at almost no cost) rather than gather and scatter a subset
        event_sites = []
        for i in range(4):
            where = np.flatnonzero((q_chain[..., i] > 0).any(axis=(0, 2)))
            event_sites.append(slice(None) if where.size >= 0.75 * m.n_countries else where)
        eligible_q = None
        if self.eligible_sites is not None:  # the eligible keep the policy's settle hazard
            hz[3] = hazard("settle_hazard")
            q_elig = _risk_chain(hz, m.origin, scale)
            eligible_q = [np.ascontiguousarray(q_elig[..., i][:, self.eligible_sites])
                          for i in range(4)]
        return {
            "q_events": q_chain,
            "event_sites": event_sites,
            "event_q": [np.ascontiguousarray(q_chain[..., i][:, w])
                        for i, w in enumerate(event_sites)],
            "event_index": [np.arange(m.n_countries) if isinstance(w, slice) else w
                            for w in event_sites],
            "settled_sites": settled_sites,
            "settled_q": settled_q,
            "pending_sites": pending_sites,
            "pending_q": pending_q,
            "eligible_sites": self.eligible_sites,
            "eligible_q": eligible_q,
        }


    def _p_travel(self, days: int) -> np.ndarray:
        """The chance that a person in transit arrives in a step of ``days`` days (geometric
        travel time with mean ``travel_days``; 1 where a replicate's travel time is 0)."""
        d = self.travel_days[:, self.travel_routes]
        with np.errstate(divide="ignore"):
            p = np.where(d > 0, -np.expm1(-days / np.maximum(d, 1e-300)), 1.0)
        return clip01(p)[:, :, None]

    def _two_events(self, e: int, scale: float, damping: np.ndarray | None,
                    fields: tuple[str, str], factors: dict[str, np.ndarray]
                    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Where the two competing events of ``fields`` (settled people: return, move on;
        pending claimants: abscond, move on) can happen in epoch ``e`` (often nowhere), and
        their chain probabilities there, converted as for present people; the second is a
        move on, damped as present people's."""
        m = self.m
        hz = [getattr(m, f).at(e).values(self.params) for f in fields]
        hz = [h * factors[f] if f in factors else h for h, f in zip(hz, fields, strict=True)]
        if not any((h > 0).any() for h in hz):  # absorbing, as by default: nothing to draw
            return np.zeros(0, dtype=np.intp), []
        if damping is not None:
            hz[1] = np.minimum(hz[1] * damping, 1.0)
        q = _risk_chain(hz, m.origin, scale)
        sites = np.flatnonzero((q > 0).any(axis=(0, 2, 3)))
        if not sites.size:
            return sites, []
        return sites, [np.ascontiguousarray(q[..., i][:, sites]) for i in range(2)]


def _risk_chain(hz: list[np.ndarray], origin: int, scale: float) -> np.ndarray:
    """Competing risks at each country, as a chain of conditional probabilities (..., n).

    Weekly probabilities ``h_i`` become rates ``-log(1 - h_i)``; the step probability of any
    event is ``1 - exp(-sum(rates) × days / 7)``, split in proportion to the rates; event
    ``i`` is then drawn among those left by the events before it. Nothing happens in the
    origin.
    """
    shape = np.broadcast_shapes(*(h.shape for h in hz))
    rates = np.stack([np.broadcast_to(-np.log1p(-np.minimum(h, 1 - 1e-15)), shape)
                      for h in hz], axis=-1)
    rates[:, origin] = 0.0
    total = rates.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_any = -np.expm1(-total * scale)
        share = np.where(total > 0, rates / total, 0.0)
    q_ev = p_any * share  # unconditional event probabilities
    before_ev = np.cumsum(q_ev, axis=-1) - q_ev
    with np.errstate(invalid="ignore", divide="ignore"):
        return clip01(np.where(1 - before_ev > 1e-12, q_ev / (1 - before_ev), 0.0))


@dataclasses.dataclass(frozen=True)
class _Link:
    """One position of the route chain: its routes and their source countries.

    ``route_at`` and ``source_at`` index axis 1 of (B, R, K) and (B, C, K) arrays: a slice
    where the position holds a single route (a view, no copy; most positions hold only a
    route out of the origin), else the index array. The countries with a route at a
    position have one at every position before it, so that the movers left after an
    index-array position are carried to the next one by ``next_at`` (their places among
    this position's sources, in the next one's order) rather than written back to every
    country and gathered again: only those of ``stay_at`` (the countries whose routes end
    here, at ``stay_src``; all of them before a single-route position) are written back.
    """

    routes: np.ndarray
    route_at: slice | np.ndarray
    source_at: slice | np.ndarray
    next_at: np.ndarray | None = None
    stay_at: np.ndarray | None = None
    stay_src: np.ndarray | None = None


def _chain(model: CompiledModel) -> list[_Link]:
    """The route chain's positions in order, up to :data:`CHAIN_POSITIONS` (see
    :class:`_Link`; the routes beyond go through :class:`RouteTree`)."""
    links = []
    for j in range(min(int(model.route_position.max(initial=-1)) + 1, CHAIN_POSITIONS)):
        routes = np.flatnonzero(model.route_position == j)
        sources = model.route_src[routes]
        if routes.size == 1:
            r, c = int(routes[0]), int(sources[0])
            links.append(_Link(routes, slice(r, r + 1), slice(c, c + 1)))
        else:
            links.append(_Link(routes, routes, sources))
    for j, link in enumerate(links):
        if isinstance(link.source_at, slice):
            continue
        after = links[j + 1] if j + 1 < len(links) else None
        src = link.source_at
        if after is None or isinstance(after.source_at, slice):
            stay = np.arange(src.size)
            links[j] = dataclasses.replace(link, stay_at=stay, stay_src=src)
            continue
        place = np.full(model.n_countries, -1)
        place[src] = np.arange(src.size)
        next_at = place[after.source_at]
        stay = np.setdiff1d(np.arange(src.size), next_at)
        links[j] = dataclasses.replace(link, next_at=next_at, stay_at=stay,
                                       stay_src=src[stay])
    return links
