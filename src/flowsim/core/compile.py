"""Compile a Scenario once into an immutable model of dense arrays.

The compiler resolves everything declarative — dates, groups, selectors, policies, parameter
names — so that the engine sees only index arrays and numbers. Policies are piecewise
constant in time, so the time-varying tensors are stored per *epoch* (a run of steps with the
same set of policies in force) and ``epoch_of_step`` maps steps to epochs; epoch 0 is always
"no policy in force", the reference against which the deterrence effect of closures is
measured.

Numbers that name a parameter are stored as a :class:`Field`: a constant array and a slot
array (``-1`` where the constant holds, else the parameter's column), evaluated per replicate
by :meth:`Field.values` from a ``(replicates, parameters)`` matrix.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import math
from typing import Any

import numpy as np

from flowsim.core.abroad import HazardShockSpec, compile_hazard_shocks, cutoff_steps
from flowsim.core.eligibility import FlagClasses, flag_classes, requirements_met
from flowsim.core.fields import Field, _Builder, _stack
from flowsim.core.schedule_paths import apply_schedule, neutral, schedule_value
from flowsim.core.shocks import shock_fields
from flowsim.scenario.calendar import step_edges
from flowsim.scenario.model import REGIMES, Scenario
from flowsim.scenario.schedules import COHORT_FIELDS
from flowsim.scenario.select import selected_routes

__all__ = ["CompiledModel", "ProgrammeSpec", "ShockSpec", "compile_scenario", "route_positions",
           "scenario_hash"]

# regime codes used in the engine
VISA_FREE, VISA_ON_ARRIVAL, E_VISA, VISA_REQUIRED, HUMANITARIAN, CLOSED, IRREGULAR = range(7)
REGIME_CODE = {name: i for i, name in enumerate(REGIMES)}
QUEUED = (VISA_REQUIRED, HUMANITARIAN)


@dataclasses.dataclass(frozen=True)
class ShockSpec:
    """One shock: its days since the start, the cohorts it hits, and its (per-cohort) size."""

    name: str
    start_day: int  # day index (0 = calendar start) of the shock
    end_day: float  # last day in force (inf: open-ended)
    multiplier: Field  # shape (cohorts,); 1 for cohorts not hit
    half_life_days: Field | None  # shape (); None: no decay


@dataclasses.dataclass(frozen=True)
class ProgrammeSpec:
    """One programme: the routes and cohorts it covers and its caps, per step and in total."""

    name: str
    routes: np.ndarray  # route indices
    cohorts: np.ndarray  # cohort indices
    capacity: Field  # () people per step (inf: none)
    total: Field  # () people over the period (inf: none)
    in_force: np.ndarray  # (T,) bool: the steps whose middle day is in the period


@dataclasses.dataclass(frozen=True)
class CompiledModel:
    """A scenario as dense arrays. Immutable; build it with :func:`compile_scenario`.

    Shapes use ``T`` steps, ``E`` epochs, ``C`` countries, ``R`` routes, ``K`` cohorts and
    ``P`` parameters.
    """

    name: str
    scenario_hash: str
    # index maps
    country_ids: tuple[str, ...]
    country_names: tuple[str, ...]
    origin: int
    cohort_names: tuple[str, ...]
    route_keys: tuple[str, ...]
    route_src: np.ndarray  # (R,) int
    route_dst: np.ndarray  # (R,) int
    route_mode: tuple[str, ...]
    route_internal: np.ndarray  # (E, R) bool: an internal passport is enough
    route_position: np.ndarray  # (R,) int: rank among the routes out of the same country
    param_names: tuple[str, ...]
    param_defaults: np.ndarray  # (P,)
    # time
    step_starts: tuple[dt.date, ...]  # (T,)
    step_ends: tuple[dt.date, ...]  # (T,) last day of each step
    step_days: np.ndarray  # (T,) int
    epoch_of_step: np.ndarray  # (T,) int
    epoch_policies: tuple[tuple[str, ...], ...]  # (E,) names in force
    # (E,) the epoch with no policy in force and the same schedule values: what deterrence
    # compares with (0 for every epoch when the scenario has no schedules)
    base_epoch: np.ndarray
    # routes, per epoch and cohort
    route_regime: np.ndarray  # (E, R, K) int8 regime code
    route_eligible: np.ndarray  # (E, R, K) bool: cohort holds the flags the route requires
    humanitarian_eligible: np.ndarray  # (K,) bool: cohort may use humanitarian_only routes
    route_issuance: Field  # (E, R, K)
    route_delay: Field  # (E, R, K) days
    route_cost: Field  # (E, R, K)
    route_capacity: Field  # (E, R) people per step (inf: none)
    route_interception: Field  # (E, R, K): share intercepted, on irregular routes only
    route_border: np.ndarray  # (E, R, K) bool: arrivals lodge an asylum claim on entering
    route_travel_days: Field  # (R,) mean days on the way (0: arrive in the step of crossing)
    # countries, per epoch and cohort
    attractiveness: Field  # (E, C, K)
    onward_hazard: Field  # (E, C, K) weekly probability
    return_hazard: Field  # (E, C, K)
    settle_hazard: Field  # (E, C, K)
    settled_onward_hazard: Field  # (E, C, K): settled people moving on
    settled_return_hazard: Field  # (E, C, K): settled people returning to the origin
    has_asylum: np.ndarray  # (C,) bool
    claim_hazard: Field  # (E, C, K)
    processing_days: Field  # (E, C, K)
    recognition_rate: Field  # (E, C, K)
    rejected_return: Field  # (E, C, K)
    asylum_capacity: Field  # (E, C) decisions per step (inf: none)
    abscond_hazard: Field  # (E, C, K): pending claimants who leave the procedure and stay
    pending_onward_hazard: Field  # (E, C, K): pending claimants who move on
    # network effects: attractiveness + weight * log(1 + stock / scale) (weight 0: none)
    network_weight: Field  # (C,)
    network_scale: Field  # (C,)
    # people of the origin abroad when the calendar starts (all zero: nobody)
    initial_present: Field  # (C, K) people
    initial_pending: Field  # (C, K)
    initial_settled: Field  # (C, K)
    # cohorts and behaviour
    population: Field  # (K,)
    baseline_hazard: Field  # (K,) weekly probability
    reemigration_hazard: Field  # (K,) weekly probability that a returned person leaves again
    # (E, K) schedule factors on the two hazards of leaving the origin (1: none)
    emigration_factor: np.ndarray
    reemigration_factor: np.ndarray
    passport_share: Field  # (K,)
    shocks: tuple[ShockSpec, ...]
    deterrence: Field  # ()
    deterrence_abroad: bool  # damp onward hazards by the routes open out of each country
    track_returnees: bool  # the returned who leave again stay returnees until they cross
    regime_cost: Field  # (7,)
    programmes: tuple[ProgrammeSpec, ...]  # quotas shared by routes and cohorts
    # shocks on the hazards of people abroad (those of ``shocks`` act on departures)
    hazard_shocks: tuple[HazardShockSpec, ...] = ()
    # eligibility flags held by a share of a cohort (None: every flag whole or not at all)
    flag_classes: FlagClasses | None = None
    # regularisation of those present before a cut-off: the settle hazard of the others
    # (E, C, K), and the step at whose start each country counts the eligible ((C,), -1:
    # none); None where no policy has a cut-off
    settle_hazard_other: Field | None = None
    settle_cutoff_step: np.ndarray | None = None

    @property
    def n_steps(self) -> int:
        return len(self.step_days)

    @property
    def n_epochs(self) -> int:
        return len(self.epoch_policies)

    @property
    def n_countries(self) -> int:
        return len(self.country_ids)

    @property
    def n_routes(self) -> int:
        return len(self.route_keys)

    @property
    def n_cohorts(self) -> int:
        return len(self.cohort_names)

    @property
    def has_network(self) -> bool:
        """Whether some country's attractiveness depends on its stock (network effects)."""
        f = self.network_weight
        return not (f.is_constant and not f.const.any())

    @property
    def has_initial(self) -> bool:
        """Whether anybody is abroad when the calendar starts (initial stocks)."""
        return any(not (f.is_constant and not f.const.any())
                   for f in (self.initial_present, self.initial_pending, self.initial_settled))

    @property
    def has_reemigration(self) -> bool:
        """Whether returned people may leave the origin again."""
        f = self.reemigration_hazard
        return not (f.is_constant and not f.const.any())

    @property
    def has_pending_moves(self) -> bool:
        """Whether pending claimants may abscond or move on before a decision."""
        return any(not (f.is_constant and not f.const.any())
                   for f in (self.abscond_hazard, self.pending_onward_hazard))

    def people(self, params: np.ndarray) -> np.ndarray:
        """Everybody followed, per cohort: the population in the origin and the initial stocks
        abroad, ``(1|B, K)``."""
        total = self.population.values(params)
        if self.has_initial:
            for f in (self.initial_present, self.initial_pending, self.initial_settled):
                total = total + f.values(params).sum(axis=-2)
        return total

    def default_params(self, replicates: int) -> np.ndarray:
        """The declared parameter values, one row per replicate."""
        return np.broadcast_to(self.param_defaults, (replicates, len(self.param_names))).copy()


def scenario_hash(scenario: Scenario) -> str:
    """A short, stable hash of a scenario's content (not of its file or formatting).

    The ``report:`` section is left out: it chooses what summaries show, not what is
    simulated, so a posterior calibrated on a scenario still matches it when only its report
    changes; so is ``validation:`` (figures that are compared, never calibrated on).
    """
    data = scenario.to_data(json=True)
    data.pop("report", None)
    data.pop("validation", None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def route_positions(route_src: np.ndarray) -> np.ndarray:
    """Each route's rank among the routes out of the same country, in route order: its
    position in the route choice's chain of binomials ((R,) int64)."""
    route_src = np.asarray(route_src, dtype=np.int64)
    order = np.argsort(route_src, kind="stable")
    _, first, inverse = np.unique(route_src[order], return_index=True, return_inverse=True)
    position = np.empty(route_src.size, dtype=np.int64)
    position[order] = np.arange(route_src.size) - first[inverse]
    return position


def compile_scenario(scenario: Scenario) -> CompiledModel:
    """Turn a validated Scenario into a :class:`CompiledModel`.

    Parameters
    ----------
    scenario : Scenario

    Returns
    -------
    CompiledModel
    """
    s = scenario
    cal = s.calendar
    edges = step_edges(cal)
    starts = tuple(edges[:-1])
    ends = tuple(e - dt.timedelta(days=1) for e in edges[1:])
    step_days = np.array([(b - a).days for a, b in itertools.pairwise(edges)])
    # A policy is in force for a step when it is in force on the step's middle day.
    mids = [a + dt.timedelta(days=(int(d) - 1) // 2) for a, d in zip(starts, step_days,
                                                                     strict=True)]

    countries = [c.id for c in s.countries]
    cidx = {c: i for i, c in enumerate(countries)}
    cohorts = [k.name for k in s.cohorts]
    kidx = {k: i for i, k in enumerate(cohorts)}
    routes = list(s.routes)
    param_names = tuple(s.parameters)
    slots = {p: i for i, p in enumerate(param_names)}
    C, R, K = len(countries), len(routes), len(cohorts)
    groups = s.group_members()

    def expand(names: tuple[str, ...] | None) -> set[str] | None:
        if names is None:
            return None
        out: set[str] = set()
        for n in names:
            out |= set(groups.get(n, {n}))
        return out

    # -- epochs: distinct sets of policies in force ---------------------------------------
    # An epoch is a set of policies in force and the values of the schedules; epoch 0 has
    # neither. Each epoch's base (for deterrence) has no policy and the same schedule values.
    neutral_values = tuple(neutral(sc) for sc in s.schedules)
    keys: list[tuple[tuple[int, ...], tuple[float, ...]]] = [((), neutral_values)]
    epoch_of_step = np.zeros(len(mids), dtype=np.int64)
    for t, mid in enumerate(mids):
        active = tuple(i for i, p in enumerate(s.policies)
                       if p.start <= mid and (p.end is None or mid <= p.end))
        key = (active, tuple(schedule_value(sc, mid) for sc in s.schedules))
        if key not in keys:
            keys.append(key)
        epoch_of_step[t] = keys.index(key)
    for key in list(keys):
        if ((), key[1]) not in keys:
            keys.append(((), key[1]))
    base_epoch = np.array([keys.index(((), values)) for _, values in keys], dtype=np.int64)
    active_sets = [k[0] for k in keys]

    # -- base (no policy) tensors ---------------------------------------------------------
    regime = np.zeros((R, K), dtype=np.int8)
    issuance = _Builder((R, K), slots)
    delay = _Builder((R, K), slots)
    cost = _Builder((R, K), slots)
    capacity = _Builder((R,), slots, integer=True)
    interception = _Builder((R, K), slots)
    border = np.zeros((R, K), dtype=bool)
    travel = _Builder((R,), slots)
    for r, route in enumerate(routes):
        travel.set(r, route.travel_days)
        regime[r, :] = REGIME_CODE[route.regime]
        interception.set((r, slice(None)), route.interception)
        border[r, :] = route.asylum_at_border
        issuance.set((r, slice(None)), route.issuance)
        delay.set((r, slice(None)), route.delay_days)
        cost.set((r, slice(None)), route.cost)
        capacity.set(r, route.capacity)
    # the flags each route requires of each cohort (policies may change them)
    requires = [[set(route.requires)] * K for route in routes]
    internal = np.array([r.documents == "internal" for r in routes], dtype=bool)

    country_fields = ("attractiveness", "onward_hazard", "return_hazard", "settle_hazard",
                      "settled_onward_hazard", "settled_return_hazard",
                      "claim_hazard", "processing_days", "recognition_rate", "rejected_return",
                      "abscond_hazard", "pending_onward_hazard")
    # with a regularisation cut-off, the settle hazard of those not eligible, kept apart
    cutoffs = any(p.country is not None and p.country.settle_arrived_before is not None
                  for p in s.policies)
    if cutoffs:
        country_fields = (*country_fields, "settle_hazard_other")
    cb = {f: _Builder((C, K), slots) for f in country_fields}
    asylum_cap = _Builder((C,), slots, integer=True)
    has_asylum = np.zeros(C, dtype=bool)
    for i, c in enumerate(s.countries):
        for k, name in enumerate(cohorts):
            cb["attractiveness"].set((i, k), c.attractiveness.get(name,
                                                                  c.attractiveness.get("default", 0.0)))
        cb["onward_hazard"].set((i, slice(None)), c.onward_hazard)
        cb["return_hazard"].set((i, slice(None)), c.return_hazard)
        cb["settle_hazard"].set((i, slice(None)), c.settle_hazard)
        if cutoffs:
            cb["settle_hazard_other"].set((i, slice(None)), c.settle_hazard)
        cb["settled_onward_hazard"].set((i, slice(None)), c.settled_onward_hazard)
        cb["settled_return_hazard"].set((i, slice(None)), c.settled_return_hazard)
        if c.asylum is not None:
            has_asylum[i] = True
            cb["claim_hazard"].set((i, slice(None)), c.asylum.claim_hazard)
            cb["processing_days"].set((i, slice(None)), c.asylum.processing_days)
            cb["recognition_rate"].set((i, slice(None)), c.asylum.recognition_rate)
            cb["rejected_return"].set((i, slice(None)), c.asylum.rejected_return)
            cb["abscond_hazard"].set((i, slice(None)), c.asylum.abscond_hazard)
            cb["pending_onward_hazard"].set((i, slice(None)), c.asylum.pending_onward_hazard)
            asylum_cap.set(i, c.asylum.capacity)
        else:
            cb["processing_days"].set((i, slice(None)), 1.0)
            asylum_cap.set(i, 0)

    # network effects, per country
    net_weight, net_scale = _Builder((C,), slots), _Builder((C,), slots, fill=1.0)
    for i, c in enumerate(s.countries):
        if c.network is not None:
            net_weight.set(i, c.network.weight)
            net_scale.set(i, c.network.scale)

    # people of the origin already abroad (by cohort name)
    initial = {f: _Builder((C, K), slots, integer=True) for f in ("present", "pending", "settled")}
    for i, c in enumerate(s.countries):
        for name, stock in c.initial.items():
            for f, b in initial.items():
                b.set((i, kidx[name]), getattr(stock, f))

    # -- apply policies, epoch by epoch ---------------------------------------------------
    per_epoch: dict[str, list[Any]] = {k: [] for k in (
        "regime", "issuance", "delay", "cost", "capacity", "asylum_cap", "interception",
        "border", "internal", "requires", *country_fields)}
    cohort_factor: dict[str, list[np.ndarray]] = {f: [] for f in COHORT_FIELDS}
    for active, values in keys:
        e_regime, e_border = regime.copy(), border.copy()
        e_internal, e_requires = internal.copy(), [list(row) for row in requires]
        e = {"issuance": issuance.copy(), "delay": delay.copy(), "cost": cost.copy(),
             "capacity": capacity.copy(), "asylum_cap": asylum_cap.copy(),
             "interception": interception.copy()}
        ec = {f: b.copy() for f, b in cb.items()}
        for pi in active:
            p = s.policies[pi]
            sel = p.select
            ks = [kidx[k] for k in sel.cohorts] if sel.cohorts is not None else list(range(K))
            if p.route is not None:
                chosen = selected_routes(routes, sel, expand)
                ch = p.route
                for r in chosen:
                    if ch.regime is not None:
                        e_regime[r, ks] = REGIME_CODE[ch.regime]
                    if ch.asylum_at_border is not None:
                        e_border[r, ks] = ch.asylum_at_border
                    if ch.documents is not None:
                        e_internal[r] = ch.documents == "internal"
                    if ch.requires is not None:
                        for k in ks:
                            e_requires[r][k] = set(ch.requires)
                    for fname, value in (("issuance", ch.issuance), ("delay", ch.delay_days),
                                         ("cost", ch.cost), ("interception", ch.interception)):
                        if value is not None:
                            e[fname].set((r, ks), value)
                    if ch.capacity is not None:
                        e["capacity"].set(r, ch.capacity)
            if p.country is not None:
                chosen_c = expand(sel.countries)
                idx = [i for i, c in enumerate(countries) if chosen_c is None or c in chosen_c]
                ch2 = p.country
                for i in idx:
                    for fname in ("attractiveness", "onward_hazard", "return_hazard",
                                  "settle_hazard", "settled_onward_hazard",
                                  "settled_return_hazard"):
                        value = getattr(ch2, fname)
                        if value is not None:
                            ec[fname].set((i, ks), value)
                            # a regularisation with a cut-off leaves the others' hazard alone
                            if fname == "settle_hazard" and cutoffs and \
                                    ch2.settle_arrived_before is None:
                                ec["settle_hazard_other"].set((i, ks), value)
                    if ch2.asylum is not None and has_asylum[i]:
                        a = ch2.asylum
                        for fname in ("claim_hazard", "processing_days", "recognition_rate",
                                      "rejected_return", "abscond_hazard",
                                      "pending_onward_hazard"):
                            value = getattr(a, fname)
                            if value is not None:
                                ec[fname].set((i, ks), value)
                        if a.capacity is not None:
                            e["asylum_cap"].set(i, a.capacity)
        factors = {f: np.ones(K) for f in COHORT_FIELDS}
        for sc, v in zip(s.schedules, values, strict=True):
            if sc.field in factors:  # a hazard of leaving the origin: a factor per cohort
                factors[sc.field][[kidx[n] for n in (sc.cohorts or cohorts)]] *= v
            else:
                apply_schedule(sc, v, ec[sc.field], countries, expand, cohorts)
                if sc.field == "settle_hazard" and cutoffs:
                    apply_schedule(sc, v, ec["settle_hazard_other"], countries, expand, cohorts)
        for f in COHORT_FIELDS:
            cohort_factor[f].append(factors[f])
        per_epoch["regime"].append(e_regime)
        per_epoch["border"].append(e_border)
        per_epoch["internal"].append(e_internal)
        per_epoch["requires"].append(e_requires)
        for f in ("issuance", "delay", "cost", "capacity", "asylum_cap", "interception"):
            per_epoch[f].append(e[f])
        for f in country_fields:
            per_epoch[f].append(ec[f])

    route_regime = np.stack(per_epoch["regime"])
    route_border = np.stack(per_epoch["border"])
    route_internal = np.stack(per_epoch["internal"])
    held, classes = flag_classes(s.cohorts, per_epoch["requires"], slots)
    route_eligible = np.stack([requirements_met(req, held) for req in per_epoch["requires"]])
    emigration_factor, reemigration_factor = (np.stack(cohort_factor[f]) for f in COHORT_FIELDS)
    for a in (route_regime, route_border, route_internal, route_eligible, emigration_factor,
              reemigration_factor):
        a.setflags(write=False)
    humanitarian = np.array(["humanitarian" in f for f in held], dtype=bool)
    humanitarian.setflags(write=False)

    # -- cohorts, shocks, behaviour -------------------------------------------------------
    population = _Builder((K,), slots, integer=True)
    hazard = _Builder((K,), slots)
    rehazard = _Builder((K,), slots)
    passport = _Builder((K,), slots)
    for k, co in enumerate(s.cohorts):
        population.set(k, co.population)
        hazard.set(k, co.baseline_hazard)
        rehazard.set(k, co.reemigration_hazard)
        passport.set(k, co.international_passport)
    shocks = []
    for sh in s.shocks:
        if sh.field is not None:  # a shock on a hazard abroad (compile_hazard_shocks)
            continue
        mult, hl = shock_fields(sh, cohorts, slots)
        shocks.append(ShockSpec(
            name=sh.name,
            start_day=(sh.date - cal.start).days,
            end_day=math.inf if sh.end is None else float((sh.end - cal.start).days),
            multiplier=mult,
            half_life_days=hl,
        ))
    det = _Builder((), slots)
    det.set((), s.behaviour.deterrence)
    rc = _Builder((len(REGIMES),), slots)
    for i, name in enumerate(REGIMES):
        rc.set(i, s.behaviour.regime_cost_of(name))

    # routes ranked within their source country (the order of the binomial chain)
    route_src = np.array([cidx[r.from_] for r in routes], dtype=np.int64)
    route_dst = np.array([cidx[r.to] for r in routes], dtype=np.int64)
    position = route_positions(route_src)
    for a in (route_src, route_dst, position, has_asylum, step_days, epoch_of_step,
              base_epoch):
        a.setflags(write=False)
    defaults = np.array([p.value for p in s.parameters.values()], dtype=float)
    defaults.setflags(write=False)

    return CompiledModel(
        name=s.name,
        scenario_hash=scenario_hash(s),
        country_ids=tuple(countries),
        country_names=tuple(c.name for c in s.countries),
        origin=cidx[s.origin.id],
        cohort_names=tuple(cohorts),
        route_keys=tuple(r.key for r in routes),
        route_src=route_src,
        route_dst=route_dst,
        route_mode=tuple(r.mode for r in routes),
        route_internal=route_internal,
        route_position=position,
        param_names=param_names,
        param_defaults=defaults,
        step_starts=starts,
        step_ends=ends,
        step_days=step_days,
        epoch_of_step=epoch_of_step,
        epoch_policies=tuple(tuple(s.policies[i].name for i in a) for a in active_sets),
        base_epoch=base_epoch,
        route_regime=route_regime,
        route_eligible=route_eligible,
        humanitarian_eligible=humanitarian,
        route_issuance=_stack(per_epoch["issuance"]),
        route_delay=_stack(per_epoch["delay"]),
        route_cost=_stack(per_epoch["cost"]),
        route_capacity=_stack(per_epoch["capacity"]),
        route_interception=_stack(per_epoch["interception"]),
        route_border=route_border,
        route_travel_days=travel.field(),
        attractiveness=_stack(per_epoch["attractiveness"]),
        onward_hazard=_stack(per_epoch["onward_hazard"]),
        return_hazard=_stack(per_epoch["return_hazard"]),
        settle_hazard=_stack(per_epoch["settle_hazard"]),
        settled_onward_hazard=_stack(per_epoch["settled_onward_hazard"]),
        settled_return_hazard=_stack(per_epoch["settled_return_hazard"]),
        has_asylum=has_asylum,
        claim_hazard=_stack(per_epoch["claim_hazard"]),
        processing_days=_stack(per_epoch["processing_days"]),
        recognition_rate=_stack(per_epoch["recognition_rate"]),
        rejected_return=_stack(per_epoch["rejected_return"]),
        asylum_capacity=_stack(per_epoch["asylum_cap"]),
        abscond_hazard=_stack(per_epoch["abscond_hazard"]),
        pending_onward_hazard=_stack(per_epoch["pending_onward_hazard"]),
        network_weight=net_weight.field(),
        network_scale=net_scale.field(),
        initial_present=initial["present"].field(),
        initial_pending=initial["pending"].field(),
        initial_settled=initial["settled"].field(),
        population=population.field(),
        baseline_hazard=hazard.field(),
        reemigration_hazard=rehazard.field(),
        emigration_factor=emigration_factor,
        reemigration_factor=reemigration_factor,
        passport_share=passport.field(),
        shocks=tuple(shocks),
        deterrence=det.field(),
        deterrence_abroad=s.behaviour.deterrence_abroad,
        track_returnees=s.behaviour.track_returnees,
        regime_cost=rc.field(),
        programmes=_programmes(s, routes, expand, kidx, slots, mids),
        hazard_shocks=compile_hazard_shocks(s, countries, cohorts, slots, expand),
        flag_classes=classes,
        settle_hazard_other=_stack(per_epoch["settle_hazard_other"]) if cutoffs else None,
        settle_cutoff_step=cutoff_steps(s, countries, starts, ends, expand) if cutoffs else None,
    )


def _programmes(s: Scenario, routes: list[Any], expand: Any, kidx: dict[str, int],
                slots: dict[str, int], mids: list[dt.date]) -> tuple[ProgrammeSpec, ...]:
    """The programmes: routes and cohorts covered, caps, and the steps they are in force."""
    out = []
    for p in s.programmes:
        cap, total = _Builder((), slots, integer=True), _Builder((), slots, integer=True)
        cap.set((), p.capacity)
        total.set((), p.total)
        start = p.start or s.calendar.start
        end = p.end or s.calendar.end
        ks = sorted(kidx[k] for k in p.select.cohorts) if p.select.cohorts else list(
            range(len(kidx)))
        in_force = np.array([start <= mid <= end for mid in mids], dtype=bool)
        rs = np.array(selected_routes(routes, p.select, expand), dtype=np.int64)
        for a in (rs, in_force):
            a.setflags(write=False)
        out.append(ProgrammeSpec(name=p.name, routes=rs, cohorts=np.array(ks, dtype=np.int64),
                                 capacity=cap.field(), total=total.field(), in_force=in_force))
    return tuple(out)
