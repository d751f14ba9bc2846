"""A slow, per-person reference simulator of flowsim's step rules (a test helper).

It is written independently of :mod:`flowsim.engine`'s array code: every person is one
record in exactly one compartment, draws their own uniforms from ``random.Random(seed)``,
and every probability is computed here in scalar Python from the scenario's numbers (taken
from the :class:`~flowsim.compile.CompiledModel`, whose job is only to resolve dates,
selectors, policies and parameter names). Competing events and route choices are drawn by
inverse CDF on one uniform per person (not as chains of conditional binomials), capacities
by ``random.sample`` of the people who want to pass (not by hypergeometric chains).

The step rules it follows are those of the :mod:`flowsim.engine` docstring:

1. people who never left depart with ``p = 1 - (1 - p_week) ** (days / 7)``, where
   ``p_week = min(1, hazard × shock multiplier × A ** deterrence)``; the shock multiplier is
   the mean over the step's days of the product of ``1 + (m - 1) 0.5 ** (days since /
   half-life)`` over the shocks in force, and ``A`` the passport-mixture logit weight of the
   origin's routes open now over that of the routes open with no policy in force (1 when
   the latter is 0); with ``deterrence_abroad`` every other country's onward hazards (of
   present and settled people) are multiplied by ``A_c ** deterrence``, ``A_c`` the same
   ratio for the routes out of that country;
2. settled people in each other country return home or move on with their own hazards (the
   same conversion as below), and present people return home, move on, claim asylum (where
   there is an asylum system) or settle: weekly probabilities ``h_i`` become rates
   ``-log(1 - h_i)``, the step probability of any event is ``1 - exp(-sum(rates) days/7)``,
   split in proportion to the rates;
3. pending claims (including those made in this step) are decided with probability
   ``1 - exp(-days / processing_days)``; if more are decided than the country's capacity,
   a random subset of ``capacity`` of them is (the rest stay pending); decisions are
   positive with the recognition rate; rejected claimants return home with
   ``rejected_return`` or else move on;
4. movers choose a route: with probability ``international_passport`` among all open routes
   out of their country, else among the open routes an internal passport allows, each by a
   logit on ``attractiveness(to) - cost - regime_cost``; with no such route they stay
   (in the origin: they have not left);
5. on routes that queue in this epoch (``visa_required``, ``humanitarian_only``) choosers
   join the queue; everyone in a queue is decided with ``1 - exp(-days / delay_days)`` (1
   when the delay is 0) and granted with ``issuance``; refused applicants go back to the
   country they applied from. Those waiting on a route now shut to their cohort (closed,
   a flag it requires missing, or humanitarian_only without eligibility) are refused at
   once; on a route that no longer queues but is open, they are granted at once;
6. on routes with a capacity, if more want to cross (without a queue, or with a grant)
   than the capacity, a random subset of ``capacity`` crosses; the others without a queue
   go back to the source country, the others with a grant stay in the queue;
7. those who cross arrive in the destination's present (and first face its hazards in the
   next step).

People in a country's initial stock start in its present, pending or settled compartment
and follow the same rules from the first step. With network effects, a country's utility in
the route choice is raised by ``weight × log(1 + stock / scale)``, ``stock`` the people of
the origin there (present, pending, settled, or waiting on a route out of it) at the start of
the step.

The third edition's mechanisms: people who returned leave again with their cohort's
``reemigration_hazard`` (times the shocks and the deterrence of first departures, and a
schedule factor), and stay returned when they find no route; both hazards of leaving the
origin carry their schedule factors. Pending claimants (at the start of the step) abscond
(become present) or move on (damped as other moves on) as competing risks, before present
people's events. After route capacities, each programme in force lets at most
``min(capacity, total - crossed so far)`` of the people crossing its routes (cohorts in it)
pass, a random subset; the others wait as above a route's capacity. Then each person
crossing an ``irregular`` route is intercepted with the route's ``interception`` share and
sent back to its source. Those crossing a route with ``asylum_at_border`` arrive pending and
count as asylum applications. On a route with ``travel_days`` those who cross are on the way
(counted in the stock of the country they left) and arrive, each step from the step they
cross, with ``1 - exp(-days / travel_days)``; they then count as arrivals (and, at the
border, as claims). People sent back to the origin (refused a visa, over a
capacity, intercepted) count among those who never left, unless the scenario tracks
returnees (``behaviour.track_returnees``): then each person remembers whether they have
ever crossed out of the origin (or started abroad), those who have go back among the
returned, and a crossing out of the origin by someone who never crossed before is a first
departure (recorded as ``first_departures``, by identity, whatever the scenario).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping
from typing import Any

import numpy as np

from flowsim.core.compile import CLOSED, HUMANITARIAN, IRREGULAR, QUEUED, CompiledModel

__all__ = ["OUTCOMES", "ReferenceSimulator"]

NEVER, RETURNED, WAITING, PRESENT, PENDING, SETTLED, TRANSIT, NEW_CLAIM, ON_THE_WAY = range(9)

OUTCOMES = ("stock", "departures", "first_departures", "returns", "arrivals", "settled",
            "asylum_applications",
            "asylum_decisions", "asylum_grants", "visas_issued", "flow", "interceptions",
            "pending", "in_transit")


def _scalar_field(field: Any, params: np.ndarray) -> Any:
    """A compiled field for one parameter vector, as nested Python lists of floats."""
    return field.values(params[None, :])[0].tolist()


class ReferenceSimulator:
    """Per-person simulation of one scenario under one parameter vector.

    Parameters
    ----------
    model : CompiledModel
    params : mapping of parameter name to value, optional
        Values overriding the declared ones.
    onward_factor : float
        Multiplies every onward hazard (1: the true model). A deliberately wrong variant, for
        tests of power.
    claims_wait_a_step : bool
        A deliberately wrong variant, for tests of power: asylum claims made in a step are
        not decided before the next step (False: the true model, where they may be decided
        in the step they are made).
    untracked_returnees : bool
        A deliberately wrong variant, for tests of power: people sent back to the origin
        count among those who never left even where the scenario tracks returnees.
    """

    def __init__(self, model: CompiledModel, params: Mapping[str, float] | None = None,
                 onward_factor: float = 1.0, claims_wait_a_step: bool = False,
                 untracked_returnees: bool = False) -> None:
        m = model
        self.m = m
        p = np.array(m.param_defaults, dtype=float)
        for name, value in (params or {}).items():
            p[m.param_names.index(name)] = float(value)
        self.onward_factor = onward_factor
        self.claims_wait_a_step = claims_wait_a_step
        self.track_returnees = m.track_returnees and not untracked_returnees
        C, R, K = m.n_countries, m.n_routes, m.n_cohorts
        self.C, self.R, self.K = C, R, K
        self.origin = int(m.origin)
        self.src = [int(x) for x in m.route_src]
        self.dst = [int(x) for x in m.route_dst]
        self.internal = m.route_internal.tolist()  # [e][r]
        self.routes_from = [[r for r in range(R) if self.src[r] == c] for c in range(C)]
        self.eligible = m.route_eligible.tolist()
        self.hum = m.humanitarian_eligible.tolist()
        self.has_asylum = m.has_asylum.tolist()
        self.population = [round(x) for x in _scalar_field(m.population, p)]
        # people abroad at the start: [(compartment, country, cohort, count)]
        self.initial = [(state, c, k, round(n))
                        for state, f in ((PRESENT, m.initial_present),
                                         (PENDING, m.initial_pending),
                                         (SETTLED, m.initial_settled))
                        for c, row in enumerate(_scalar_field(f, p))
                        for k, n in enumerate(row) if round(n) > 0]
        self.hazard = _scalar_field(m.baseline_hazard, p)
        self.rehazard = _scalar_field(m.reemigration_hazard, p)
        self.emigration_factor = m.emigration_factor.tolist()  # [e][k]
        self.reemigration_factor = m.reemigration_factor.tolist()
        self.border = m.route_border.tolist()  # [e][r][k]
        self.travel_days = _scalar_field(m.route_travel_days, p)
        self.programmes = [
            ({int(r) for r in pg.routes}, {int(k) for k in pg.cohorts},
             float(pg.capacity.values(p[None]).reshape(-1)[0]),
             float(pg.total.values(p[None]).reshape(-1)[0]), pg.in_force.tolist())
            for pg in m.programmes]
        self.passport = _scalar_field(m.passport_share, p)
        self.deterrence = float(m.deterrence.values(p[None])[0])
        self.deterrence_abroad = bool(m.deterrence_abroad)
        self.network = [(float(w), float(sc)) for w, sc in zip(
            _scalar_field(m.network_weight, p), _scalar_field(m.network_scale, p), strict=True)]
        self.has_network = any(w != 0 for w, _ in self.network)
        self.base_epoch = [int(b) for b in m.base_epoch]
        self.regime_cost = _scalar_field(m.regime_cost, p)
        self.regime = m.route_regime.tolist()  # [e][r][k]
        self.fields = {name: _scalar_field(getattr(m, name), p) for name in (
            "attractiveness", "onward_hazard", "return_hazard", "settle_hazard",
            "settled_onward_hazard", "settled_return_hazard", "claim_hazard", "processing_days", "recognition_rate", "rejected_return",
            "asylum_capacity", "route_issuance", "route_delay", "route_cost",
            "route_capacity", "route_interception", "abscond_hazard",
            "pending_onward_hazard")}
        self.shocks = []
        for sh in m.shocks:
            hl = None if sh.half_life_days is None else float(
                sh.half_life_days.values(p[None])[0])
            self.shocks.append((sh.start_day, sh.end_day, _scalar_field(sh.multiplier, p), hl))
        # shocks on hazards abroad: (field, countries, start, end, multipliers, half-life)
        self.hazard_shocks = []
        for sh in m.hazard_shocks:
            hl = None if sh.half_life_days is None else float(
                sh.half_life_days.values(p[None])[0])
            self.hazard_shocks.append((sh.field, [bool(x) for x in sh.countries], sh.start_day,
                                       sh.end_day, _scalar_field(sh.multiplier, p), hl))
        # flags held in part: each class's probability per cohort and its routes
        self.classes = None
        fc = m.flag_classes
        if fc is not None:
            share = _scalar_field(fc.share, p)  # [flag][cohort]
            self.classes = []
            for g, bits in enumerate(itertools.product((0, 1), repeat=len(fc.flags))):
                # itertools.product runs the last flag fastest: bit i of g is flag F-1-i
                held = bits[::-1]
                prob = [math.prod(share[i][k] if held[i] else 1 - share[i][k]
                                  for i in range(len(fc.flags))) for k in range(K)]
                self.classes.append((prob, fc.eligible[:, g].tolist(),
                                     fc.humanitarian[g].tolist()))
        # regularisation before a cut-off: the step each country marks its eligible (-1: no)
        self.cutoff = ([-1] * C if m.settle_cutoff_step is None
                       else [int(x) for x in m.settle_cutoff_step])
        if m.settle_hazard_other is not None:
            self.fields["settle_hazard_other"] = _scalar_field(m.settle_hazard_other, p)
        self.steps = [(int(m.epoch_of_step[t]), int(m.step_days[t])) for t in range(m.n_steps)]
        self._cache: dict[tuple[int, int], dict[str, Any]] = {}
        self._shocked: dict[int, dict[str, Any]] = {}  # by step: events under shocks abroad

    # -- the rules, in scalar arithmetic -------------------------------------------------------

    def is_open(self, e: int, r: int, k: int, g: int | None = None) -> bool:
        """Whether route ``r`` is open to cohort ``k`` (to its class ``g`` of movers, where
        flags are held in part; with ``g`` None, to some class of positive probability)."""
        reg = self.regime[e][r][k]
        if self.classes is not None and g is None:
            return any(prob[k] > 0 and self.is_open(e, r, k, h)
                       for h, (prob, _, _) in enumerate(self.classes))
        if g is None:
            eligible, hum = self.eligible[e][r][k], self.hum[k]
        else:
            _, elig, hums = self.classes[g]
            eligible, hum = elig[e][r][k], hums[k]
        return reg != CLOSED and eligible and (reg != HUMANITARIAN or hum)

    def weight(self, e: int, r: int, k: int, g: int | None = None) -> float:
        if not self.is_open(e, r, k, g):
            return 0.0
        f = self.fields
        u = (f["attractiveness"][e][self.dst[r]][k] - f["route_cost"][e][r][k]
             - self.regime_cost[self.regime[e][r][k]])
        return math.exp(u)

    def choice(self, e: int, c: int, k: int,
               boost: list[float] | None = None) -> list[tuple[int, float]]:
        """``(route, probability)`` for a mover in ``c``; the rest of the mass is "stay".

        ``boost`` adds a network term to each destination's utility. Where flags are held in
        part, the mixture over the classes of movers.
        """
        if self.classes is not None:
            total: dict[int, float] = {}
            for g, (prob, _, _) in enumerate(self.classes):
                for r, pr in self._choice(e, c, k, boost, g):
                    total[r] = total.get(r, 0.0) + prob[k] * pr
            return [(r, pr) for r, pr in sorted(total.items()) if pr > 0]
        return self._choice(e, c, k, boost, None)

    def _choice(self, e: int, c: int, k: int, boost: list[float] | None,
                g: int | None) -> list[tuple[int, float]]:
        rs = self.routes_from[c]
        w = {r: self.weight(e, r, k, g) * (math.exp(boost[self.dst[r]]) if boost else 1.0)
             for r in rs}
        tot_all = sum(w.values())
        tot_int = sum(w[r] for r in rs if self.internal[e][r])
        pi = self.passport[k]
        out = []
        for r in rs:
            pr = 0.0
            if tot_all > 0:
                pr += pi * w[r] / tot_all
            if tot_int > 0 and self.internal[e][r]:
                pr += (1 - pi) * w[r] / tot_int
            if pr > 0:
                out.append((r, pr))
        return out

    def origin_weight(self, e: int, k: int) -> float:
        return self.country_weight(e, self.origin, k)

    def country_weight(self, e: int, c: int, k: int) -> float:
        """The passport-mixture choice weight of the routes open out of ``c`` (and the
        mixture over the classes of movers, where flags are held in part)."""
        rs = self.routes_from[c]
        pi = self.passport[k]

        def one(g: int | None) -> float:
            return (pi * sum(self.weight(e, r, k, g) for r in rs)
                    + (1 - pi) * sum(self.weight(e, r, k, g) for r in rs
                                     if self.internal[e][r]))

        if self.classes is None:
            return one(None)
        return sum(prob[k] * one(g) for g, (prob, _, _) in enumerate(self.classes))

    def epoch(self, e: int, days: int) -> dict[str, Any]:
        key = (e, days)
        if key in self._cache:
            return self._cache[key]
        f = self.fields
        C, R, K = self.C, self.R, self.K
        access = []
        for k in range(K):
            base, now = self.origin_weight(self.base_epoch[e], k), self.origin_weight(e, k)
            ratio = now / base if base > 0 else 1.0
            access.append(ratio ** self.deterrence)
        asylum = {}
        for c in range(C):
            if not self.has_asylum[c]:
                continue
            asylum[c] = {
                "decide": [1 - math.exp(-days / f["processing_days"][e][c][k])
                           for k in range(K)],
                "recognition": [f["recognition_rate"][e][c][k] for k in range(K)],
                "back": [f["rejected_return"][e][c][k] for k in range(K)],
                "capacity": f["asylum_capacity"][e][c],
            }
        queued = [[self.regime[e][r][k] in QUEUED for k in range(K)] for r in range(R)]
        decide_v, issue = [], []
        for r in range(R):
            dv, iv = [], []
            for k in range(K):
                if not self.is_open(e, r, k):  # shut to the cohort: refuse all waiting
                    dv.append(1.0)
                    iv.append(0.0)
                elif queued[r][k]:
                    d = f["route_delay"][e][r][k]
                    dv.append(1 - math.exp(-days / d) if d > 0 else 1.0)
                    iv.append(f["route_issuance"][e][r][k])
                else:  # a route that stopped queueing: let everyone waiting cross now
                    dv.append(1.0)
                    iv.append(1.0)
            decide_v.append(dv)
            issue.append(iv)
        out = {
            "access": access,
            **self.abroad_events(e, days, {}),
            "choice": {(c, k): self.choice(e, c, k) for c in range(C) for k in range(K)},
            "asylum": asylum,
            "queued": queued,
            "decide_v": decide_v,
            "issue": issue,
            "capacity": [f["route_capacity"][e][r] for r in range(R)],
            "intercept": [[f["route_interception"][e][r][k]
                           if self.regime[e][r][k] == IRREGULAR else 0.0 for k in range(K)]
                          for r in range(R)],
        }
        self._cache[key] = out
        return out

    def abroad_events(self, e: int, days: int, shocked: dict[tuple[str, int, int], float]
                      ) -> dict[str, Any]:
        """Step probabilities of the events of present, eligible, settled and pending
        people in each country abroad; ``shocked`` holds the factors of shocks abroad on
        weekly hazards, by (field, country, cohort)."""
        f = self.fields
        scale = days / 7
        other = "settle_hazard_other" if "settle_hazard_other" in f else "settle_hazard"

        def h(field: str, c: int, k: int, name: str | None = None) -> float:
            return f[name or field][e][c][k] * shocked.get((field, c, k), 1.0)

        events = {}  # (c, k) -> [p_return, p_onward, p_claim, p_settle]
        eligible = {}  # the same for the eligible of a regularisation with a cut-off
        settled_events = {}  # (c, k) -> [p_return, p_onward] of settled people
        pending_events = {}  # (c, k) -> [p_abscond, p_onward] of pending claimants
        for c in range(self.C):
            if c == self.origin:
                continue
            for k in range(self.K):
                damp = 1.0  # deterrence abroad: moves on damped by the routes closed out of c
                if self.deterrence_abroad:
                    base = self.country_weight(self.base_epoch[e], c, k)
                    now = self.country_weight(e, c, k)
                    damp = (now / base if base > 0 else 1.0) ** self.deterrence
                first = [h("return_hazard", c, k),
                         min(1.0, h("onward_hazard", c, k) * self.onward_factor * damp),
                         h("claim_hazard", c, k) if self.has_asylum[c] else 0.0]
                events[c, k] = _competing([*first, h("settle_hazard", c, k, other)], scale)
                eligible[c, k] = _competing([*first, h("settle_hazard", c, k)], scale)
                settled_events[c, k] = _competing(
                    [h("settled_return_hazard", c, k),
                     min(1.0, h("settled_onward_hazard", c, k) * damp)], scale)
                pending_events[c, k] = _competing(
                    [f["abscond_hazard"][e][c][k],
                     min(1.0, f["pending_onward_hazard"][e][c][k] * damp)], scale)
        return {"events": events, "eligible_events": eligible, "settled_events": settled_events,
                "pending_events": pending_events}

    def hazard_shock_factors(self, first_day: int, days: int
                             ) -> dict[tuple[str, int, int], float]:
        """The mean over the step's days of the product of the shocks abroad in force, by
        (field, country, cohort); empty when none is in force."""
        out: dict[tuple[str, int, int], float] = {}
        for field in {sh[0] for sh in self.hazard_shocks}:
            for c in range(self.C):
                for k in range(self.K):
                    total, hit = 0.0, False
                    for d in range(first_day, first_day + days):
                        prod = 1.0
                        for fd, where, start, end, mult, hl in self.hazard_shocks:
                            if fd == field and where[c] and start <= d <= end:
                                hit = True
                                decay = 1.0 if hl is None else 0.5 ** ((d - start) / hl)
                                prod *= 1 + (mult[k] - 1) * decay
                        total += prod
                    if hit:
                        out[field, c, k] = total / days
        return out

    def shock_multiplier(self, first_day: int, days: int, k: int) -> float:
        total = 0.0
        for d in range(first_day, first_day + days):
            prod = 1.0
            for start, end, mult, hl in self.shocks:
                if start <= d <= end:
                    decay = 1.0 if hl is None else 0.5 ** ((d - start) / hl)
                    prod *= 1 + (mult[k] - 1) * decay
            total += prod
        return total / days

    # -- one run ---------------------------------------------------------------------------------

    def run(self, seed: int) -> dict[str, np.ndarray]:
        """One replicate; returns the engine's variables with shapes ``(T, ...)``."""
        rng = random.Random(seed)
        C, R, K, o = self.C, self.R, self.K, self.origin
        src, dst = self.src, self.dst
        T = len(self.steps)
        # one record per person: [cohort, compartment, where (country or route)]
        people = [[k, NEVER, o] for k in range(K) for _ in range(self.population[k])]
        people += [[k, state, c] for state, c, k, n in self.initial for _ in range(n)]
        rec = {v: np.zeros((T, R if v in ("flow", "in_transit") else C, K), dtype=np.int64)
               for v in OUTCOMES}
        rec["departures"] = np.zeros((T, K), dtype=np.int64)
        rec["first_departures"] = np.zeros((T, K), dtype=np.int64)
        # who has crossed out of the origin (or started abroad), by identity
        left_before = {id(person) for person in people[sum(self.population):]}
        track = self.track_returnees
        used = [0] * len(self.programmes)  # crossed under each programme so far
        first_day = 0

        def to_source(person: list[Any], r: int) -> None:
            if src[r] == o:
                back = RETURNED if track and id(person) in left_before else NEVER
                person[1], person[2] = back, o
            else:
                person[1], person[2] = PRESENT, src[r]

        eligible: set[int] = set()  # the people eligible for a regularisation (by identity)
        for t, (e, days) in enumerate(self.steps):
            ep = self.epoch(e, days)
            if t not in self._shocked:  # shocks abroad: this step's events abroad (or none)
                shocked = self.hazard_shock_factors(first_day, days)
                self._shocked[t] = self.abroad_events(e, days, shocked) if shocked else {}
            ep = {**ep, **self._shocked[t]}
            for person in people:  # present on the cut-off day: eligible
                if person[1] == PRESENT and self.cutoff[person[2]] == t:
                    eligible.add(id(person))
            movers: list[list[Any]] = []
            boost = None
            if self.has_network:  # the people in each country at the start of the step
                here = [0] * C
                for _, state, where in people:
                    if state in (PRESENT, PENDING, SETTLED):
                        here[where] += 1
                    elif state == WAITING:
                        here[src[where]] += 1
                boost = [min(50.0, w * math.log1p(here[c] / sc))
                         for c, (w, sc) in enumerate(self.network)]
            # 1. departures
            p_dep, p_again = [], []
            for k in range(K):
                push = self.shock_multiplier(first_day, days, k) * ep["access"][k]
                for out, h in ((p_dep, self.hazard[k] * self.emigration_factor[e][k]),
                               (p_again, self.rehazard[k] * self.reemigration_factor[e][k])):
                    p_week = min(1.0, max(0.0, h * push))
                    out.append(1.0 if p_week >= 1 else 1 - (1 - p_week) ** (days / 7))
            # 2. events of present people (those who arrived before this step)
            for person in people:
                k, state, c = person
                if state in (NEVER, RETURNED):
                    if rng.random() < (p_dep if state == NEVER else p_again)[k]:
                        movers.append(person)  # still in the origin until they cross
                elif state == PENDING:
                    u, (p_ab, p_on) = rng.random(), ep["pending_events"][c, k]
                    if u < p_ab:
                        person[1] = PRESENT  # left the procedure, stays here
                    elif u < p_ab + p_on:
                        person[1] = PRESENT
                        movers.append(person)
                elif state == PRESENT:
                    self._events(rng, person, ep, rec["returns"][t],
                                 rec["asylum_applications"][t], movers, eligible)
                elif state == SETTLED and c != o:
                    # settled at the start of the step: return, move on, or stay
                    u, (p_ret, p_on) = rng.random(), ep["settled_events"][c, k]
                    if u < p_ret:
                        person[1], person[2] = RETURNED, o
                        rec["returns"][t][c, k] += 1
                    elif u < p_ret + p_on:
                        person[1] = PRESENT
                        movers.append(person)
            # 3. asylum decisions (claims made in this step included)
            self._asylum(rng, people, ep, rec, t, movers)
            # 4. route choice (with network effects: from the stocks at the step's start)
            boosted: dict[tuple[int, int], list[tuple[int, float]]] = {}
            immediate: list[list[Any]] = [[] for _ in range(R)]
            for person in movers:
                k, _, c = person
                u, acc, chosen = rng.random(), 0.0, None
                if boost:  # the same for every mover of (c, k) in this step
                    if (c, k) not in boosted:
                        boosted[c, k] = self.choice(e, c, k, boost)
                    options = boosted[c, k]
                else:
                    options = ep["choice"][c, k]
                for r, pr in options:
                    acc += pr
                    if u < acc:
                        chosen = r
                        break
                if chosen is not None:
                    eligible.discard(id(person))  # leaves the country (or joins a queue)
                if chosen is None:  # no usable route: stay (in the origin, as they were)
                    if c != o:
                        person[1] = PRESENT
                elif ep["queued"][chosen][k]:
                    person[1], person[2] = WAITING, chosen
                else:
                    person[1], person[2] = TRANSIT, chosen
                    immediate[chosen].append(person)
            # 5. queues
            granted: list[list[Any]] = [[] for _ in range(R)]
            for person in people:
                if person[1] != WAITING:
                    continue
                k, _, r = person
                if rng.random() < ep["decide_v"][r][k]:
                    if rng.random() < ep["issue"][r][k]:
                        granted[r].append(person)
                    else:
                        to_source(person, r)
            # 6. capacities
            for r in range(R):
                cap = ep["capacity"][r]
                want = immediate[r] + granted[r]
                if math.isinf(cap) or len(want) <= cap:
                    continue
                passing = rng.sample(range(len(want)), int(cap))
                keep = set(passing)
                n_imm = len(immediate[r])
                for i, person in enumerate(want):
                    if i in keep:
                        continue
                    if i < n_imm:
                        to_source(person, r)
                    else:
                        person[1], person[2] = WAITING, r
                immediate[r] = [p for i, p in enumerate(want[:n_imm]) if i in keep]
                granted[r] = [p for i, p in enumerate(want[n_imm:], start=n_imm) if i in keep]
            # 6b. programmes: quotas shared by routes and cohorts
            for j, (prs, pks, cap, total, in_force) in enumerate(self.programmes):
                if not in_force[t]:
                    continue
                want = [(r, kind, person) for r in sorted(prs)
                        for kind, group in ((0, immediate[r]), (1, granted[r]))
                        for person in group if person[0] in pks]
                room = min(cap, total - used[j])
                if len(want) > room:
                    keep = set(rng.sample(range(len(want)), int(room)))
                    dropped = set()  # by identity: two people may hold equal records
                    for i, (r, kind, person) in enumerate(want):
                        if i in keep:
                            continue
                        dropped.add(id(person))
                        if kind == 0:
                            to_source(person, r)
                        else:
                            person[1], person[2] = WAITING, r
                    for r in prs:
                        immediate[r] = [x for x in immediate[r] if id(x) not in dropped]
                        granted[r] = [x for x in granted[r] if id(x) not in dropped]
                used[j] += min(len(want), room)
            # 6c. interception on irregular routes
            for r in range(R):
                if not any(ep["intercept"][r]):
                    continue
                passing = []
                for person in immediate[r]:
                    if rng.random() < ep["intercept"][r][person[0]]:
                        to_source(person, r)
                        rec["interceptions"][t, dst[r], person[0]] += 1
                    else:
                        passing.append(person)
                immediate[r] = passing
            # 7. crossings: on routes that take time, onto the way; then arrivals
            for r in range(R):
                for person in immediate[r] + granted[r]:
                    k = person[0]
                    person[1], person[2] = ON_THE_WAY, r
                    rec["flow"][t, r, k] += 1
                    if src[r] == o:
                        rec["departures"][t, k] += 1
                        if id(person) not in left_before:
                            rec["first_departures"][t, k] += 1
                            left_before.add(id(person))
                for person in granted[r]:
                    rec["visas_issued"][t, dst[r], person[0]] += 1
            for person in people:
                if person[1] != ON_THE_WAY:
                    continue
                k, _, r = person
                d = self.travel_days[r]
                if d > 0 and rng.random() >= 1 - math.exp(-days / d):
                    continue  # still on the way
                person[1], person[2] = PRESENT, dst[r]
                if self.border[e][r][k]:  # entering means claiming asylum
                    person[1] = PENDING
                    rec["asylum_applications"][t, dst[r], k] += 1
                rec["arrivals"][t, dst[r], k] += 1
            # record the compartments at the end of the step
            for k, state, c in people:
                if state in (NEVER, RETURNED):
                    rec["stock"][t, o, k] += 1
                elif state in (WAITING, ON_THE_WAY):
                    rec["stock"][t, src[c], k] += 1
                    if state == ON_THE_WAY:
                        rec["in_transit"][t, c, k] += 1
                else:
                    rec["stock"][t, c, k] += 1
                    if state == SETTLED:
                        rec["settled"][t, c, k] += 1
                    elif state == PENDING:
                        rec["pending"][t, c, k] += 1
            first_day += days
        return rec

    def _events(self, rng: random.Random, person: list[Any], ep: dict[str, Any],
                returns: np.ndarray, claims: np.ndarray, movers: list[list[Any]],
                eligible: set[int]) -> None:
        k, _, c = person
        u, acc = rng.random(), 0.0
        table = ep["eligible_events" if id(person) in eligible else "events"]
        for i, pr in enumerate(table[c, k]):
            acc += pr
            if u < acc:
                break
        else:
            return  # stays present
        if i != 1:  # leaves the present (a mover keeps eligibility until they cross)
            eligible.discard(id(person))
        if i == 0:
            person[1], person[2] = RETURNED, self.origin
            returns[c, k] += 1
        elif i == 1:
            movers.append(person)
        elif i == 2:
            person[1] = NEW_CLAIM if self.claims_wait_a_step else PENDING
            claims[c, k] += 1
        else:
            person[1] = SETTLED

    def _asylum(self, rng: random.Random, people: list[list[Any]], ep: dict[str, Any],
                rec: dict[str, np.ndarray], t: int, movers: list[list[Any]]) -> None:
        decided: dict[int, list[list[Any]]] = {}
        for person in people:
            if person[1] == NEW_CLAIM:  # the deliberately wrong variant
                person[1] = PENDING
                continue
            if person[1] != PENDING:
                continue
            k, _, c = person
            if rng.random() < ep["asylum"][c]["decide"][k]:
                decided.setdefault(c, []).append(person)
        for c, group in decided.items():
            a = ep["asylum"][c]
            cap = a["capacity"]
            if not math.isinf(cap) and len(group) > cap:
                group = rng.sample(group, int(cap))
            for person in group:
                k = person[0]
                rec["asylum_decisions"][t, c, k] += 1
                if rng.random() < a["recognition"][k]:
                    person[1] = SETTLED
                    rec["asylum_grants"][t, c, k] += 1
                elif rng.random() < a["back"][k]:
                    person[1], person[2] = RETURNED, self.origin
                    rec["returns"][t, c, k] += 1
                else:
                    person[1] = PRESENT
                    movers.append(person)

    def runs(self, n: int, seed: int) -> dict[str, np.ndarray]:
        """``n`` independent replicates (seeds ``seed * 1_000_003 + i``), stacked on axis 0."""
        outs = [self.run(seed * 1_000_003 + i) for i in range(n)]
        return {v: np.stack([o[v] for o in outs]) for v in OUTCOMES}


def _competing(h: list[float], scale: float) -> list[float]:
    """Weekly probabilities of competing events as step probabilities of each."""
    rates = [-math.log(1 - min(x, 1 - 1e-15)) for x in h]
    total = sum(rates)
    p_any = 1 - math.exp(-total * scale)
    return [p_any * x / total if total > 0 else 0.0 for x in rates]
