"""Toys with closed-form answers for returns that are not for good, claims before a decision,
borders, quotas and routes that take time (the mechanisms of the model's third edition), and
for shocks on hazards abroad, eligibility held by a share of a cohort and regularisations of
those present before a cut-off date.

Each function returns a :class:`~flowsim.testing.toys.Toy`, as in
:mod:`flowsim.testing.toys` (same step rules, weekly steps): a scenario, the exact
expectation and variance of a few outcomes per step, and a reader of the same outcomes.

Examples
--------
>>> import flowsim
>>> from flowsim.testing.border_toys import intercepted_crossing
>>> toy = intercepted_crossing(N=1000, h=0.2, c=0.4, steps=6)
>>> res = flowsim.simulate(toy.scenario, replicates=100, seed=1)
>>> sorted(toy.observed(res)) == sorted(toy.expected())
True
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from flowsim.scenario.model import Scenario
from flowsim.testing.toys import START, Toy, _binomial, _calendar, _check_probability, _stock

__all__ = ["border_claims", "intercepted_crossing", "partial_eligibility", "pending_moves",
           "regularised_before", "return_and_leave_again", "returnees_sent_back",
           "scheduled_departures",
           "shared_quota", "shocked_returns", "slow_route"]

ORIGIN = {"id": "ORG", "name": "Origin", "roles": ["origin"]}


def return_and_leave_again(S: int, r: float, a: float, steps: int) -> Toy:
    """``S`` people present in ``AAA`` at the start return home with the weekly hazard ``r``;
    once home they leave again with the re-emigration hazard ``a`` (the only route leads back
    to ``AAA``).

    Each person alternates between two states, independently of the others: present in
    ``AAA`` (start) and returned. Returns happen in step 2 of a step and re-emigration in
    step 1, so a person who returns in step ``s`` may leave again from step ``s + 1``; in
    each step ``P → R`` with ``r`` and ``R → P`` with ``a``. With ``π_t`` the state
    distribution after ``t`` steps (``π_0 = (1, 0)``, ``π_t = π_{t-1} M``):

    * ``E[AAA_t] = S π_t(P)`` and ``E[returned_t] = S π_t(R)`` (binomial);
    * ``E[departures_t] = S π_{t-1}(R) a`` (a binomial count: the chance that one person
      leaves in step ``t`` is ``π_{t-1}(R) a``).

    The origin's own cohort never leaves (baseline hazard 0): ``returned_t`` is the origin's
    stock less its ``N = 500`` stayers.
    """
    _check_probability(r=r, a=a)
    N = 500
    scenario = Scenario.model_validate({
        "name": f"return and leave again S={S} r={r} a={a}",
        "calendar": _calendar(steps),
        "countries": [ORIGIN, {"id": "AAA", "name": "A", "return_hazard": r,
                               "initial": {"all": {"present": S}}}],
        "routes": [{"from": "ORG", "to": "AAA"}],
        "cohorts": [{"name": "all", "population": N, "baseline_hazard": 0.0,
                     "reemigration_hazard": a}],
    })
    M = np.array([[1 - r, r], [a, 1 - a]])
    pi = [np.array([1.0, 0.0])]
    for _ in range(steps):
        pi.append(pi[-1] @ M)
    states = np.array(pi)  # (steps + 1, 2)
    probs = {"A": states[1:, 0], "returned": states[1:, 1], "departures": states[:-1, 1] * a}
    mean, variance = _binomial(S, probs)

    def read(results: Any) -> dict[str, np.ndarray]:
        dep = results.dataset["departures"].sum("cohort").values
        return {"A": _stock(results, "AAA"), "returned": _stock(results, "ORG") - N,
                "departures": np.asarray(dep, dtype=np.int64)}

    return Toy(name="return_and_leave_again", scenario=scenario, steps=steps, mean=mean,
               variance=variance, read=read,
               formula="pi_t = pi_{t-1} [[1-r, r], [a, 1-a]], pi_0 = (1, 0); E[A_t] = S pi_t(P); "
                       "E[returned_t] = S pi_t(R); E[departures_t] = S pi_{t-1}(R) a")


def pending_moves(S: int, ab: float, po: float, steps: int) -> Toy:
    """``S`` pending claimants in ``AAA`` at the start, whose claims are never decided (an
    asylum capacity of 0), abscond (stay in ``AAA``, present) with the weekly hazard ``ab``
    or move on to ``BBB`` (the only route out) with ``po``.

    Competing risks, as for settled people: a claimant stays pending through a week with
    ``g = (1 - ab)(1 - po)`` and, leaving, absconds with the share
    ``w = log(1 - ab) / log(g)``. Present people in ``AAA`` have no hazard. So

    * ``E[AAA_t] = S (g**t + (1 - g**t) w)`` (the pending and the absconded) and ``E[BBB_t] = S (1 - g**t) (1 - w)``
      (binomial; ``AAA_t + BBB_t = S``).
    """
    _check_probability(ab=ab, po=po)
    scenario = Scenario.model_validate({
        "name": f"pending moves S={S} ab={ab} po={po}",
        "calendar": _calendar(steps),
        "countries": [ORIGIN,
                      {"id": "AAA", "name": "A",
                       "asylum": {"capacity": 0, "abscond_hazard": ab,
                                  "pending_onward_hazard": po},
                       "initial": {"all": {"pending": S}}},
                      {"id": "BBB", "name": "B"}],
        "routes": [{"from": "ORG", "to": "AAA"}, {"from": "AAA", "to": "BBB"}],
        "cohorts": [{"name": "all", "population": 100, "baseline_hazard": 0.0}],
    })
    t = np.arange(1, steps + 1, dtype=float)
    g = (1.0 - ab) * (1.0 - po)
    w = np.log1p(-ab) / np.log(g) if g < 1 else 0.0
    stay = g ** t
    mean, variance = _binomial(S, {"A": stay + (1 - stay) * w, "B": (1 - stay) * (1 - w)})

    def read(results: Any) -> dict[str, np.ndarray]:
        return {"A": _stock(results, "AAA"), "B": _stock(results, "BBB")}

    return Toy(name="pending_moves", scenario=scenario, steps=steps, mean=mean,
               variance=variance, read=read,
               formula="g = (1-ab)(1-po), w = log(1-ab)/log(g); E[A_t] = S (g^t + (1-g^t) w); "
                       "E[B_t] = S (1-g^t)(1-w)")


def border_claims(N: int, h: float, steps: int) -> Toy:
    """One cohort of ``N`` leaves with the weekly hazard ``h`` by the only route, into
    ``AAA``, where entering means claiming asylum (``asylum_at_border``); claims are never
    decided (capacity 0).

    * ``E[AAA_t] = N (1 - (1 - h)**t)`` (binomial);
    * every arrival is a claim: ``gap_t = AAA_t -`` (cumulative asylum applications in
      ``AAA``) is 0 exactly, in every replicate (nobody arrives present).
    """
    _check_probability(h=h)
    scenario = Scenario.model_validate({
        "name": f"border claims N={N} h={h}",
        "calendar": _calendar(steps),
        "countries": [ORIGIN, {"id": "AAA", "name": "A", "asylum": {"capacity": 0}}],
        "routes": [{"from": "ORG", "to": "AAA", "asylum_at_border": True}],
        "cohorts": [{"name": "all", "population": N, "baseline_hazard": h}],
    })
    t = np.arange(1, steps + 1, dtype=float)
    mean, variance = _binomial(N, {"A": 1 - (1 - h) ** t})
    mean["gap"] = variance["gap"] = np.zeros(steps)

    def read(results: Any) -> dict[str, np.ndarray]:
        apps = results.dataset["asylum_applications"].sel(country="AAA").sum("cohort")
        cum = np.cumsum(np.asarray(apps.values, dtype=np.int64), axis=1)
        a = _stock(results, "AAA")
        return {"A": a, "gap": a - cum}

    return Toy(name="border_claims", scenario=scenario, steps=steps, mean=mean,
               variance=variance, read=read,
               formula="E[A_t] = N (1 - (1-h)^t); cumulative applications = A_t exactly")


def intercepted_crossing(N: int, h: float, c: float, steps: int) -> Toy:
    """One cohort of ``N`` tries to leave with the weekly hazard ``h`` by the only route, an
    ``irregular`` one into ``AAA`` that intercepts the share ``c`` of those crossing and sends
    them back to the origin, where they may try again the next week.

    Each week a person still in the origin ends up in ``AAA`` with ``h (1 - c)``:

    * ``E[AAA_t] = N (1 - (1 - h (1 - c))**t)`` (binomial);
    * ``E[departures_t] = N (1 - h (1 - c))**(t - 1) h (1 - c)`` (the intercepted are not
      departures: they never crossed).
    """
    _check_probability(h=h, c=c)
    scenario = Scenario.model_validate({
        "name": f"intercepted crossing N={N} h={h} c={c}",
        "calendar": _calendar(steps),
        "countries": [ORIGIN, {"id": "AAA", "name": "A"}],
        "routes": [{"from": "ORG", "to": "AAA", "regime": "irregular", "interception": c}],
        "cohorts": [{"name": "all", "population": N, "baseline_hazard": h}],
    })
    t = np.arange(1, steps + 1, dtype=float)
    s = h * (1 - c)
    mean, variance = _binomial(N, {"A": 1 - (1 - s) ** t,
                                   "departures": (1 - s) ** (t - 1) * s})

    def read(results: Any) -> dict[str, np.ndarray]:
        dep = results.dataset["departures"].sum("cohort").values
        return {"A": _stock(results, "AAA"), "departures": np.asarray(dep, dtype=np.int64)}

    return Toy(name="intercepted_crossing", scenario=scenario, steps=steps, mean=mean,
               variance=variance, read=read,
               formula="s = h (1-c); E[A_t] = N (1 - (1-s)^t); "
                       "E[departures_t] = N (1-s)^(t-1) s")


def returnees_sent_back(N: int, h: float, a: float, r: float, passing: float, steps: int,
                        regime: str = "irregular", track: bool = True) -> Toy:
    """People leave the origin (weekly hazard ``h``), come back from ``AAA`` (``r``) and
    leave again (``a``), by the only route, which lets through the share ``passing``: an
    ``irregular`` route intercepting ``1 - passing``, or a ``visa_required`` one deciding at
    once (no delay) and granting ``passing``. Those stopped are sent back to the origin.

    Each person is, at the start of a step, in one of three states: never left (``N``),
    in ``AAA`` (``A``) or back home (``H``). With ``s = h passing`` and ``q = a passing``,
    in each step ``N → A`` with ``s``, ``A → H`` with ``r`` and ``H → A`` with ``q``; those
    stopped stay where they were, except that without ``track_returnees`` (``track=False``)
    a returnee who is stopped counts among those who never left, ``H → N`` with
    ``a (1 - passing)``. With ``π_t`` the state distribution after ``t`` steps
    (``π_0 = (1, 0, 0)``):

    * ``E[AAA_t] = N π_t(A)`` and ``E[origin_t] = N (π_t(N) + π_t(H))`` (binomial);
    * ``E[departures_t] = N (π_{t-1}(N) s + π_{t-1}(H) q)`` (crossings; a person crosses
      at most once a step, so a binomial count);
    * with ``track``, ``E[first_departures_t] = N π_{t-1}(N) s`` (binomial).
    """
    _check_probability(h=h, a=a, r=r, passing=passing)
    if regime == "irregular":
        route = {"regime": "irregular", "interception": 1 - passing}
    elif regime == "visa_required":
        route = {"regime": "visa_required", "delay_days": 0, "issuance": passing}
    else:
        raise ValueError(f"regime must be 'irregular' or 'visa_required', got {regime!r}")
    scenario = Scenario.model_validate({
        "name": f"returnees sent back N={N} h={h} a={a} r={r} passing={passing} "
                f"{regime}{'' if track else ' untracked'}",
        "calendar": _calendar(steps),
        "behaviour": {"track_returnees": track},
        "countries": [ORIGIN, {"id": "AAA", "name": "A", "return_hazard": r}],
        "routes": [{"from": "ORG", "to": "AAA", **route}],
        "cohorts": [{"name": "all", "population": N, "baseline_hazard": h,
                     "reemigration_hazard": a}],
    })
    s, q = h * passing, a * passing
    back = 0.0 if track else a * (1 - passing)  # stopped returnees counted as never left
    M = np.array([[1 - s, s, 0.0], [0.0, 1 - r, r], [back, q, 1 - q - back]])
    pi = [np.array([1.0, 0.0, 0.0])]
    for _ in range(steps):
        pi.append(pi[-1] @ M)
    states = np.array(pi)  # (steps + 1, 3)
    probs = {"A": states[1:, 1], "origin": states[1:, 0] + states[1:, 2],
             "departures": states[:-1, 0] * s + states[:-1, 2] * q}
    if track:
        probs["first_departures"] = states[:-1, 0] * s
    mean, variance = _binomial(N, probs)

    def read(results: Any) -> dict[str, np.ndarray]:
        out = {"A": _stock(results, "AAA"), "origin": _stock(results, "ORG")}
        for v in ("departures", "first_departures")[:2 if track else 1]:
            out[v] = np.asarray(results.dataset[v].sum("cohort").values, dtype=np.int64)
        return out

    return Toy(name="returnees_sent_back", scenario=scenario, steps=steps, mean=mean,
               variance=variance, read=read,
               record=("stock", "departures", "first_departures") if track else None,
               formula="s = h p, q = a p; pi_t = pi_{t-1} [[1-s, s, 0], [0, 1-r, r], "
                       "[b, q, 1-q-b]] (b = a (1-p) untracked, else 0); "
                       "E[first_departures_t] = N pi_{t-1}(N) s")


def shared_quota(N1: int, N2: int, capacity: int, total: int, steps: int) -> Toy:
    """Two cohorts (``N1``, ``N2`` people, hazard 1) who can each use one route only (out of
    the origin to ``AAA`` for the first, to ``BBB`` for the second: each route requires its
    cohort's flag), and one programme over both routes: at most ``capacity`` crossings a step
    and ``total`` in all.

    Everybody still in the origin tries every step, and each step a random subset of those
    trying passes, so:

    * the crossings by the end of step ``t`` are ``n_t = min(N, capacity t, total)``
      exactly (``N = N1 + N2``; variance 0);
    * who has crossed by then is a uniformly random subset of size ``n_t`` of everybody, so
      ``AAA_t`` (the first cohort's crossings) is hypergeometric: ``E = n_t N1 / N`` and
      ``Var = n_t (N1/N)(N2/N)(N - n_t)/(N - 1)``.
    """
    if min(N1, N2, capacity, total) < 0:
        raise ValueError("N1, N2, capacity and total must not be negative")
    scenario = Scenario.model_validate({
        "name": f"shared quota N1={N1} N2={N2} capacity={capacity} total={total}",
        "calendar": _calendar(steps),
        "countries": [ORIGIN, {"id": "AAA", "name": "A"}, {"id": "BBB", "name": "B"}],
        "routes": [{"from": "ORG", "to": "AAA", "requires": ["one"]},
                   {"from": "ORG", "to": "BBB", "requires": ["two"]}],
        "cohorts": [{"name": "one", "population": N1, "baseline_hazard": 1.0,
                     "eligible": ["one"]},
                    {"name": "two", "population": N2, "baseline_hazard": 1.0,
                     "eligible": ["two"]}],
        "programmes": [{"name": "quota", "select": {"from": ["ORG"]}, "capacity": capacity,
                        "total": total, "start": START}],
    })
    N = N1 + N2
    t = np.arange(1, steps + 1)
    n = np.minimum(np.minimum(N, capacity * t), total).astype(float)
    mean = {"crossed": n, "A": n * N1 / N if N else n}
    var_a = n * (N1 / N) * (N2 / N) * (N - n) / (N - 1) if N > 1 else np.zeros(steps)
    variance = {"crossed": np.zeros(steps), "A": var_a}

    def read(results: Any) -> dict[str, np.ndarray]:
        a = _stock(results, "AAA")
        return {"crossed": a + _stock(results, "BBB"), "A": a}

    return Toy(name="shared_quota", scenario=scenario, steps=steps, mean=mean,
               variance=variance, read=read,
               formula="n_t = min(N, capacity t, total) exactly; A_t ~ Hypergeometric(N1 of N, "
                       "n_t draws)")


def scheduled_departures(N: int, h: float, f: float, from_week: int, steps: int) -> Toy:
    """One cohort of ``N`` leaves with the weekly hazard ``h`` by the only route, into
    ``AAA``; a schedule multiplies the hazard by ``f`` from week ``from_week`` on (a step
    schedule on ``emigration_hazard``: behaviour, not a policy).

    With ``h_s = h`` before week ``from_week`` and ``min(1, h f)`` from it,
    ``E[AAA_t] = N (1 - prod_{s <= t} (1 - h_s))`` (binomial).
    """
    _check_probability(h=h)
    if f < 0 or not 1 <= from_week <= steps:
        raise ValueError("f must not be negative and from_week must be a step of the run")
    change = START + dt.timedelta(weeks=from_week - 1)
    scenario = Scenario.model_validate({
        "name": f"scheduled departures N={N} h={h} f={f} from week {from_week}",
        "calendar": _calendar(steps),
        "countries": [ORIGIN, {"id": "AAA", "name": "A"}],
        "routes": [{"from": "ORG", "to": "AAA"}],
        "cohorts": [{"name": "all", "population": N, "baseline_hazard": h}],
        "schedules": [{"name": "more_leave", "field": "emigration_hazard",
                       "points": [{"date": START, "value": 1.0},
                                  {"date": change, "value": f}]}],
    })
    weeks = np.arange(1, steps + 1)
    hs = np.where(weeks >= from_week, min(1.0, h * f), h)
    mean, variance = _binomial(N, {"A": 1 - np.cumprod(1 - hs)})

    def read(results: Any) -> dict[str, np.ndarray]:
        return {"A": _stock(results, "AAA")}

    return Toy(name="scheduled_departures", scenario=scenario, steps=steps, mean=mean,
               variance=variance, read=read,
               formula="h_s = h before from_week, min(1, h f) from it; "
                       "E[A_t] = N (1 - prod_{s<=t} (1 - h_s))")


def slow_route(N: int, h: float, travel_days: float, steps: int,
               closed_from: int | None = None) -> Toy:
    """One cohort of ``N`` leaves with the weekly hazard ``h`` by the only route, from ``ORG``
    to ``BBB`` through ``AAA`` (``via``), which takes ``travel_days`` on average; if
    ``closed_from`` is given, a policy closes the leg into ``AAA`` from that week on, which
    closes the route (and, with the default deterrence, stops departures: no route is left).

    Departures count when people cross (enter the route); each step, from the step they
    cross, those on the way arrive with ``p = 1 - exp(-7 / travel_days)``. With departures in
    week ``s`` having probability ``(1 - h)**(s - 1) h`` for ``s < closed_from``:

    * ``E[departures_t] = N (1 - h)**(t - 1) h`` before the closure, 0 from it;
    * ``E[BBB_t] = N sum_{s <= min(t, closed_from - 1)} (1 - h)**(s - 1) h
      (1 - (1 - p)**(t - s + 1))`` (binomial: one person is in ``BBB`` by ``t`` with that
      probability); those on the way count in the origin's stock, so
      ``ORG_t = N - BBB_t`` exactly and ``AAA`` is always empty.
    """
    _check_probability(h=h)
    if travel_days < 0 or steps < 1:
        raise ValueError("travel_days must not be negative and steps must be at least 1")
    last = steps if closed_from is None else closed_from - 1
    policies = []
    if closed_from is not None:
        policies = [{"name": "leg_closed", "start": START + dt.timedelta(weeks=closed_from - 1),
                     "select": {"to": ["AAA"]}, "route": {"regime": "closed"}}]
    scenario = Scenario.model_validate({
        "name": f"slow route N={N} h={h} travel_days={travel_days} closed_from={closed_from}",
        "calendar": _calendar(steps),
        "countries": [ORIGIN, {"id": "AAA", "name": "A", "roles": ["transit"]},
                      {"id": "BBB", "name": "B"}],
        "routes": [{"from": "ORG", "to": "BBB", "via": ["AAA"], "travel_days": travel_days}],
        "cohorts": [{"name": "all", "population": N, "baseline_hazard": h}],
        "policies": policies,
    })
    p = 1.0 - np.exp(-7.0 / travel_days) if travel_days > 0 else 1.0
    t = np.arange(1, steps + 1)
    s_ = np.arange(1, steps + 1)
    leave = np.where(s_ <= last, (1 - h) ** (s_ - 1) * h, 0.0)  # (s,)
    reach = np.where(s_[None, :] <= t[:, None],
                     1 - (1 - p) ** np.maximum(t[:, None] - s_[None, :] + 1, 0), 0.0)
    mean, variance = _binomial(N, {"B": (reach * leave[None, :]).sum(axis=1),
                                   "departures": leave})
    mean["A"] = variance["A"] = np.zeros(steps)

    def read(results: Any) -> dict[str, np.ndarray]:
        dep = results.dataset["departures"].sum("cohort").values
        return {"B": _stock(results, "BBB"), "A": _stock(results, "AAA"),
                "departures": np.asarray(dep, dtype=np.int64)}

    return Toy(name="slow_route", scenario=scenario, steps=steps, mean=mean,
               variance=variance, read=read,
               formula="p = 1 - exp(-7/travel_days); E[departures_s] = N (1-h)^(s-1) h before "
                       "the closure; E[B_t] = N sum_s (1-h)^(s-1) h (1 - (1-p)^(t-s+1)); A_t = 0")


def shocked_returns(S: int, r: float, m: float, half_life_days: float, from_day: int,
                    steps: int) -> Toy:
    """``S`` people present in ``AAA`` at the start return home with the weekly hazard ``r``;
    a shock on ``AAA``'s ``return_hazard`` from day ``from_day`` (0 = the calendar's first)
    multiplies it by ``1 + (m - 1) 0.5 ** (days since / half_life_days)``.

    The step's factor is the mean over its seven days ``d`` of that multiplier (1 before the
    shock), ``F_t``; the weekly hazard is ``h_t = min(1, r F_t)``, the only risk, so it is
    the step probability. Nobody leaves the origin (hazard 0) and returns are for good:

    * ``E[AAA_t] = S prod_{s <= t} (1 - h_s)`` (binomial), ``returned_t = S - AAA_t``.
    """
    _check_probability(r=r)
    if m < 0 or half_life_days <= 0 or from_day < 0:
        raise ValueError("m must not be negative, half_life_days must be positive and "
                         "from_day not negative")
    N = 500
    scenario = Scenario.model_validate({
        "name": f"shocked returns S={S} r={r} m={m} half-life {half_life_days} from day "
                f"{from_day}",
        "calendar": _calendar(steps),
        "countries": [ORIGIN, {"id": "AAA", "name": "A", "return_hazard": r,
                               "initial": {"all": {"present": S}}}],
        "routes": [{"from": "ORG", "to": "AAA"}],
        "cohorts": [{"name": "all", "population": N, "baseline_hazard": 0.0}],
        "shocks": [{"name": "go_home", "date": START + dt.timedelta(days=from_day),
                    "field": "return_hazard", "countries": ["AAA"], "multiplier": m,
                    "half_life_days": half_life_days}],
    })
    day = np.arange(7 * steps, dtype=float).reshape(steps, 7)
    mult = np.where(day >= from_day, 1 + (m - 1) * 0.5 ** ((day - from_day) / half_life_days),
                    1.0)
    h = np.minimum(1.0, r * mult.mean(axis=1))
    mean, variance = _binomial(S, {"A": np.cumprod(1 - h)})
    mean["returned"], variance["returned"] = S - mean["A"], variance["A"]

    def read(results: Any) -> dict[str, np.ndarray]:
        return {"A": _stock(results, "AAA"), "returned": _stock(results, "ORG") - N}

    return Toy(name="shocked_returns", scenario=scenario, steps=steps, mean=mean,
               variance=variance, read=read,
               formula="F_t = mean over the step's days of 1 + (m-1) 0.5^((d - from_day)/hl) "
                       "(1 before); h_t = min(1, r F_t); E[A_t] = S prod_{s<=t} (1 - h_s)")


def partial_eligibility(N: int, h: float, share: float, passport: float, u: float,
                        steps: int) -> Toy:
    """One cohort of ``N`` leaves the origin with the weekly hazard ``h``; a share ``share``
    of it holds the flag ``visa`` and a share ``passport`` an international passport,
    independently. Two routes: to ``AAA`` (``documents: internal``, requires ``visa``;
    utility ``u``) and to ``BBB`` (international passport; utility 0).

    A mover holding both chooses ``AAA`` with ``w = e**u / (e**u + 1)``; with the flag only,
    ``AAA``; with the passport only, ``BBB``; with neither, no route: they stay (never left).
    So ``q_A = share (passport w + 1 - passport)``, ``q_B = passport (share (1 - w) + 1 -
    share)`` and, each step, a person who never left goes to ``AAA`` with ``h q_A`` and to
    ``BBB`` with ``h q_B``. With ``g = 1 - h (q_A + q_B)``:

    * ``E[never_t] = N g**t``, ``E[AAA_t] = N (1 - g**t) q_A / (q_A + q_B)``, likewise
      ``BBB`` (binomial; no policy, so deterrence does not act).
    """
    _check_probability(h=h, share=share, passport=passport)
    scenario = Scenario.model_validate({
        "name": f"partial eligibility N={N} h={h} share={share} passport={passport} u={u}",
        "calendar": _calendar(steps),
        "countries": [ORIGIN, {"id": "AAA", "name": "A", "attractiveness": u},
                      {"id": "BBB", "name": "B"}],
        "routes": [{"from": "ORG", "to": "AAA", "documents": "internal", "requires": ["visa"]},
                   {"from": "ORG", "to": "BBB"}],
        "cohorts": [{"name": "all", "population": N, "baseline_hazard": h,
                     "international_passport": passport, "eligible": {"visa": share}}],
    })
    w = np.exp(u) / (np.exp(u) + 1.0)
    qa = share * (passport * w + 1 - passport)
    qb = passport * (share * (1 - w) + 1 - share)
    t = np.arange(1, steps + 1, dtype=float)
    g = 1 - h * (qa + qb)
    gone = 1 - g ** t
    split = qa / (qa + qb) if qa + qb > 0 else 0.0
    mean, variance = _binomial(N, {"never": g ** t, "A": gone * split,
                                   "B": gone * (1 - split)})

    def read(results: Any) -> dict[str, np.ndarray]:
        return {"never": _stock(results, "ORG"), "A": _stock(results, "AAA"),
                "B": _stock(results, "BBB")}

    return Toy(name="partial_eligibility", scenario=scenario, steps=steps, mean=mean,
               variance=variance, read=read,
               formula="w = e^u/(e^u+1); q_A = share (passport w + 1 - passport); q_B = "
                       "passport (share (1-w) + 1 - share); g = 1 - h (q_A + q_B); "
                       "E[never_t] = N g^t; E[A_t] = N (1-g^t) q_A/(q_A+q_B)")


def regularised_before(S: int, N: int, h: float, o: float, b: float, g: float,
                       cutoff_week: int, from_week: int, steps: int) -> Toy:
    """A regularisation in ``AAA`` from week ``from_week`` (settle hazard ``g``) of those
    present there on the first day of week ``cutoff_week``; the others keep the settle hazard
    ``b``.

    ``S`` people are present in ``AAA`` at the start and ``N`` leave the origin with the
    weekly hazard ``h`` for ``AAA`` (arriving at the end of the week they leave). In ``AAA``
    people want to move on with ``o``, but the only route out is closed: movers stay, and
    stay eligible. A person settles in a week with ``p(x) = x' / (x' + o') (1 - (1 - x)(1 -
    o))`` (competing risks, ``x' = -log(1 - x)``), ``x = g`` for the eligible while the
    policy is in force and ``b`` otherwise. Somebody who arrived in week ``s`` (0: there at
    the start) faces ``AAA``'s hazards from week ``s + 1``, and is eligible when ``s <
    cutoff_week``; so with ``P_s(t)`` the chance to be settled by the end of week ``t``,

    * ``E[settled_t] = S P_0(t) + N sum_{1 <= s < t} (1 - h)**(s - 1) h P_s(t)``, the sum of
      two binomials (each person is independent): ``Var = S P_0 (1 - P_0) + N q_t (1 - q_t)``
      with ``q_t`` the sum.
    """
    _check_probability(h=h, o=o, b=b, g=g)
    if not 1 <= cutoff_week <= from_week:
        raise ValueError("the cut-off week must be at least 1 and not after from_week")
    scenario = Scenario.model_validate({
        "name": f"regularised before week {cutoff_week} S={S} N={N} h={h} o={o} b={b} g={g}",
        "calendar": _calendar(steps),
        "countries": [ORIGIN,
                      {"id": "AAA", "name": "A", "onward_hazard": o, "settle_hazard": b,
                       "initial": {"all": {"present": S}}},
                      {"id": "BBB", "name": "B"}],
        "routes": [{"from": "ORG", "to": "AAA"},
                   {"from": "AAA", "to": "BBB", "regime": "closed"}],
        "cohorts": [{"name": "all", "population": N, "baseline_hazard": h}],
        "policies": [{"name": "amnesty", "start": START + dt.timedelta(weeks=from_week - 1),
                      "select": {"countries": ["AAA"]},
                      "country": {"settle_hazard": g, "settle_arrived_before":
                                  START + dt.timedelta(weeks=cutoff_week - 1)}}],
    })

    def p_settle(x: float) -> float:
        rx, ro = -np.log1p(-min(x, 1 - 1e-15)), -np.log1p(-min(o, 1 - 1e-15))
        return rx / (rx + ro) * (1 - (1 - x) * (1 - o)) if rx + ro > 0 else 0.0

    pb, pg = p_settle(b), p_settle(g)
    weeks = np.arange(1, steps + 1)

    def settled_by(s: int) -> np.ndarray:
        """P(settled by the end of each week | arrived in week s)."""
        eligible = s < cutoff_week
        p = np.where(weeks <= s, 0.0, np.where(eligible & (weeks >= from_week), pg, pb))
        return 1 - np.cumprod(1 - p)

    p0 = settled_by(0)
    q = sum(((1 - h) ** (s - 1) * h * settled_by(s) for s in range(1, steps + 1)),
            start=np.zeros(steps))
    mean = {"settled": S * p0 + N * q}
    variance = {"settled": S * p0 * (1 - p0) + N * q * (1 - q)}

    def read(results: Any) -> dict[str, np.ndarray]:
        da = results.dataset["settled"].sel(country="AAA").sum("cohort")
        return {"settled": np.asarray(da.values, dtype=np.int64)}

    return Toy(name="regularised_before", scenario=scenario, steps=steps, mean=mean,
               variance=variance, read=read,
               formula="p(x) = x'/(x'+o') (1-(1-x)(1-o)); P_s(t) = 1 - prod over weeks "
                       "s < w <= t of (1 - p(g if s < cutoff_week and w >= from_week else b)); "
                       "E[settled_t] = S P_0(t) + N sum_s (1-h)^(s-1) h P_s(t)")
