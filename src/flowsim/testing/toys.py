"""Toy scenarios with closed-form answers, for testing the engine (and calibration on them).

Each function returns a :class:`Toy`: a valid :class:`~flowsim.Scenario` built in Python, the
exact expectation and variance of a few outcomes per step, and a function that reads the same
outcomes from :class:`~flowsim.Results`. In every toy people move independently of each
other (or, in :func:`quota_route`, deterministically), so every outcome below is a binomial
or hypergeometric count whose variance is known exactly; a test can then require
``|mean - E| < z * sqrt(Var / R)`` over ``R`` replicates with a stated false-failure rate.

Step rules used in the formulas (see :mod:`flowsim.core.engine`): in step ``s`` the origin's
departures cross their route and arrive at the end of the step; people present in a
country face its hazards at the *start* of a step, before that step's arrivals. So somebody
who arrives in step ``s`` first faces the onward hazard in step ``s + 1``, and one who moves
on in step ``u`` leaves and arrives in step ``u``. Weekly hazards are the step probabilities.

Examples
--------
>>> import flowsim
>>> from flowsim.testing.toys import linear_chain
>>> toy = linear_chain(N=1000, h=0.1, q=0.2, steps=8)
>>> res = flowsim.simulate(toy.scenario, replicates=200, seed=1)
>>> sorted(toy.expected()) == sorted(toy.observed(res))  # (step,) and (replicate, step)
True
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np

from flowsim.scenario.model import Scenario

__all__ = ["Toy", "deterred_chain", "diaspora", "linear_chain", "network_choice",
           "quota_route", "scheduled_chain", "settled_mobility", "two_country_swap"]

START = dt.date(2022, 1, 3)


@dataclasses.dataclass(frozen=True)
class Toy:
    """A toy scenario and its exact answers.

    Attributes
    ----------
    name : str
    scenario : Scenario
    steps : int
        Number of (weekly) steps simulated.
    mean : dict of str to ndarray
        The exact expectation of each outcome at the end of each step, shape ``(steps,)``
        (step ``t`` of the formulas is index ``t - 1``).
    variance : dict of str to ndarray
        The exact variance of each outcome in one replicate, shape ``(steps,)``.
    read : callable
        ``read(results) -> dict of str to ndarray``: the same outcomes from a run, each of
        shape ``(replicates, steps)``.
    formula : str
        The formulas, in words (also in the docstring of the function that built the toy).
    record : tuple of str, optional
        What a run must record for :attr:`read` (default: ``simulate``'s default).
    """

    name: str
    scenario: Scenario
    steps: int
    mean: dict[str, np.ndarray]
    variance: dict[str, np.ndarray]
    read: Callable[[Any], dict[str, np.ndarray]]
    formula: str
    record: tuple[str, ...] | None = None

    def expected(self) -> dict[str, np.ndarray]:
        """The exact expectation of each outcome per step (a copy of :attr:`mean`)."""
        return {k: v.copy() for k, v in self.mean.items()}

    def observed(self, results: Any) -> dict[str, np.ndarray]:
        """The outcomes of a run, ``(replicates, steps)`` each."""
        return self.read(results)

    def z_scores(self, results: Any) -> dict[str, np.ndarray]:
        """``(mean over replicates - E) / sqrt(Var / R)`` per outcome and step.

        Entries whose exact variance is 0 are 0 when the run matches the (deterministic)
        expectation exactly and ``inf`` otherwise; entries without an expectation (``nan``)
        stay ``nan``.
        """
        obs = self.observed(results)
        out = {}
        for k, x in obs.items():
            R = x.shape[0]
            diff = x.mean(axis=0) - self.mean[k]
            with np.errstate(invalid="ignore"):
                se = np.sqrt(self.variance[k] / R)
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.where(se > 0, diff / np.where(se > 0, se, 1.0),
                             np.where(np.abs(diff) < 1e-9, 0.0, np.inf))
            out[k] = np.where(np.isnan(self.mean[k]), np.nan, z)
        return out


def _calendar(steps: int, step: str = "week") -> dict[str, Any]:
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if step not in ("day", "week"):
        raise ValueError(f"step must be 'day' or 'week', got {step!r}")
    days = steps * (7 if step == "week" else 1)
    return {"start": START, "end": START + dt.timedelta(days=days - 1), "step": step}


def _stock(results: Any, country: str, cohort: str | None = None) -> np.ndarray:
    da = results.dataset["stock"].sel(country=country)
    da = da.sum("cohort") if cohort is None else da.sel(cohort=cohort)
    return np.asarray(da.values, dtype=np.int64)


def _binomial(n: int, probs: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray],
                                                              dict[str, np.ndarray]]:
    """Means and variances of outcomes that are ``Binomial(n, p)`` with these ``p``."""
    return ({k: n * p for k, p in probs.items()},
            {k: n * p * (1.0 - p) for k, p in probs.items()})


def _check_probability(**values: float) -> None:
    for name, v in values.items():
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"{name} must be a probability between 0 and 1, got {v}")


def linear_chain(N: int, h: float, q: float, steps: int, step: str = "week") -> Toy:
    """Origin ``ORG`` → ``AAA`` → ``BBB``, each the only route out, one cohort of ``N``.

    The origin's weekly hazard is ``h``; ``AAA`` has the weekly onward hazard ``q``; ``BBB``
    has no route out and no hazards. With weekly steps, ``a = 1 - h`` and ``b = 1 - q``;
    with daily steps (``step="day"``) the hazards are converted to the step length,
    ``a = (1 - h)**(1/7)`` and ``b = (1 - q)**(1/7)``, and ``h, q`` below read as
    ``1 - a, 1 - b``. At the end of step
    ``t`` (``t = 1, 2, ...``) each person is independently

    * still in the origin with probability ``p_O(t) = a**t``;
    * in ``AAA`` with ``p_A(t) = sum_{s=1..t} h a**(s-1) b**(t-s)``
      ``= h (b**t - a**t) / (h - q)`` (``= t h a**(t-1)`` when ``h = q``): a person
      leaving in step ``s`` arrives at its end and first faces ``q`` in step ``s + 1``;
    * in ``BBB`` with ``p_B(t) = 1 - p_O(t) - p_A(t)``.

    So ``E[stock X_t] = N p_X(t)`` and ``Var = N p_X (1 - p_X)`` (binomial). Outcomes:
    ``never`` (the origin's stock: nobody returns), ``A``, ``B`` (stocks), and
    ``departures`` in the step (``E = N h a**(t-1)``, binomial with that probability).
    """
    _check_probability(h=h, q=q)
    cal = _calendar(steps, step)
    scenario = Scenario.model_validate({
        "name": f"linear chain N={N} h={h} q={q} step={step}",
        "calendar": cal,
        "countries": [
            {"id": "ORG", "name": "Origin", "roles": ["origin"]},
            {"id": "AAA", "name": "A", "roles": ["transit"], "onward_hazard": q},
            {"id": "BBB", "name": "B", "roles": ["destination"]},
        ],
        "routes": [{"from": "ORG", "to": "AAA"}, {"from": "AAA", "to": "BBB"}],
        "cohorts": [{"name": "all", "population": N, "baseline_hazard": h}],
    })
    t = np.arange(1, steps + 1, dtype=float)
    a, b = 1.0 - h, 1.0 - q
    if step == "day":
        a, b = a ** (1 / 7), b ** (1 / 7)
        h, q = 1.0 - a, 1.0 - b
    p_o = a ** t
    if abs(h - q) > 1e-12:
        p_a = h * (b ** t - a ** t) / (h - q)
    else:
        p_a = t * h * a ** (t - 1)
    p_b = 1.0 - p_o - p_a
    p_dep = h * a ** (t - 1)
    probs = {"never": p_o, "A": p_a, "B": p_b, "departures": p_dep}
    mean, variance = _binomial(N, probs)

    def read(results: Any) -> dict[str, np.ndarray]:
        return {"never": _stock(results, "ORG"), "A": _stock(results, "AAA"),
                "B": _stock(results, "BBB"),
                "departures": np.asarray(results.dataset["departures"].sum("cohort").values,
                                         dtype=np.int64)}

    return Toy(
        name="linear_chain",
        scenario=scenario,
        steps=steps,
        mean=mean,
        variance=variance,
        read=read,
        formula="E[X_t] = N p_X(t); p_O = (1-h)^t; p_A = h((1-q)^t - (1-h)^t)/(h-q); "
                "p_B = 1 - p_O - p_A; departures_t ~ Bin(N, h(1-h)^(t-1))",
    )


def two_country_swap(N: int, a: float, b: float, steps: int) -> Toy:
    """Everybody leaves the origin in step 1 to ``AAA``, then swaps between ``AAA`` and ``BBB``.

    The origin's hazard is 1 and its only route goes to ``AAA``; ``AAA → BBB`` and
    ``BBB → AAA`` are the only routes out of each, with onward hazards ``a`` and ``b``. Each
    person is a two-state Markov chain started in ``AAA`` at the end of step 1:
    ``p_A(1) = 1`` and ``p_A(t+1) = (1 - a) p_A(t) + b (1 - p_A(t))``, so

    ``p_A(t) = pi + (1 - pi) (1 - a - b)**(t - 1)`` with ``pi = b / (a + b)``

    (``p_A(t) = 1`` for all ``t`` when ``a = b = 0``). People move independently, so
    ``stock A_t ~ Bin(N, p_A(t))`` and ``B_t = N - A_t``.
    """
    _check_probability(a=a, b=b)
    cal = _calendar(steps)
    scenario = Scenario.model_validate({
        "name": f"two-country swap N={N} a={a} b={b}",
        "calendar": cal,
        "countries": [
            {"id": "ORG", "name": "Origin", "roles": ["origin"]},
            {"id": "AAA", "name": "A", "roles": ["transit", "destination"],
             "onward_hazard": a},
            {"id": "BBB", "name": "B", "roles": ["transit", "destination"],
             "onward_hazard": b},
        ],
        "routes": [{"from": "ORG", "to": "AAA"}, {"from": "AAA", "to": "BBB"},
                   {"from": "BBB", "to": "AAA"}],
        "cohorts": [{"name": "all", "population": N, "baseline_hazard": 1.0}],
    })
    t = np.arange(1, steps + 1, dtype=float)
    if a + b > 0:
        pi = b / (a + b)
        p_a = pi + (1.0 - pi) * (1.0 - a - b) ** (t - 1)
    else:
        p_a = np.ones_like(t)
    p_a = np.clip(p_a, 0.0, 1.0)
    probs = {"A": p_a, "B": 1.0 - p_a}
    mean, variance = _binomial(N, probs)

    def read(results: Any) -> dict[str, np.ndarray]:
        return {"A": _stock(results, "AAA"), "B": _stock(results, "BBB")}

    return Toy(
        name="two_country_swap",
        scenario=scenario,
        steps=steps,
        mean=mean,
        variance=variance,
        read=read,
        formula="p_A(t) = b/(a+b) + a/(a+b) (1-a-b)^(t-1); A_t ~ Bin(N, p_A(t)); B_t = N - A_t",
    )


def quota_route(N1: int, N2: int, capacity: int, steps: int) -> Toy:
    """Two cohorts (``N1``, ``N2`` people, hazard 1) and one ``visa_free`` route with a quota.

    Everybody still in the origin tries to leave in every step, and the route ``ORG → AAA``
    lets ``c = capacity`` people through per step, chosen at random among those who try;
    the others stay in the origin (they are not counted as departures). With
    ``N = N1 + N2``:

    * arrivals in ``AAA`` by the end of step ``t`` are ``min(N, c t)`` exactly (variance 0),
      and the departures in step ``t`` are ``min(N, c t) - min(N, c (t - 1))``;
    * the first cohort's crossings in step 1 are hypergeometric (``c`` drawn from ``N1``
      of ``N``): ``E = c N1 / N`` and ``Var = c (N1/N) (N2/N) (N - c) / (N - 1)``
      (when ``c >= N`` everybody crosses: ``E = N1``, ``Var = 0``).

    Outcomes: ``total`` (stock of ``AAA``, both cohorts), ``departures`` (both cohorts, per
    step) and ``cohort1_first`` (cohort 1's departures in step 1, a single number stored
    at index 0; later entries are ``nan``).
    """
    if min(N1, N2) < 0 or capacity < 0:
        raise ValueError("N1, N2 and capacity must not be negative")
    cal = _calendar(steps)
    scenario = Scenario.model_validate({
        "name": f"quota route N1={N1} N2={N2} capacity={capacity}",
        "calendar": cal,
        "countries": [
            {"id": "ORG", "name": "Origin", "roles": ["origin"]},
            {"id": "AAA", "name": "A", "roles": ["destination"]},
        ],
        "routes": [{"from": "ORG", "to": "AAA", "capacity": capacity}],
        "cohorts": [{"name": "one", "population": N1, "baseline_hazard": 1.0},
                    {"name": "two", "population": N2, "baseline_hazard": 1.0}],
    })
    N, c = N1 + N2, capacity
    t = np.arange(1, steps + 1)
    total = np.minimum(N, c * t).astype(float)
    deps = np.diff(np.concatenate([[0.0], total]))
    first = np.full(steps, np.nan)
    first_var = np.full(steps, np.nan)
    if c >= N:
        first[0], first_var[0] = float(N1), 0.0
    else:
        first[0] = c * N1 / N
        first_var[0] = c * (N1 / N) * (N2 / N) * (N - c) / (N - 1) if N > 1 else 0.0

    def read(results: Any) -> dict[str, np.ndarray]:
        dep = results.dataset["departures"]
        c1 = np.full(dep.shape[:2], np.nan)
        c1[:, 0] = dep.sel(cohort="one").values[:, 0]
        return {"total": _stock(results, "AAA"),
                "departures": np.asarray(dep.sum("cohort").values, dtype=np.int64),
                "cohort1_first": c1}

    return Toy(
        name="quota_route",
        scenario=scenario,
        steps=steps,
        mean={"total": total, "departures": deps, "cohort1_first": first},
        variance={"total": np.zeros(steps), "departures": np.zeros(steps),
                  "cohort1_first": first_var},
        read=read,
        formula="total_t = min(N, c t) exactly; cohort-1 crossings in step 1 ~ "
                "Hypergeometric(N1 of N, c draws): E = c N1/N, "
                "Var = c (N1/N)(N2/N)(N-c)/(N-1)",
    )


def diaspora(present: int, pending: int, settled: int, r: float, processing_days: float,
             recognition: float, steps: int) -> Toy:
    """People of the origin already in ``AAA`` at the start (initial stocks), and nobody
    leaving the origin (hazard 0).

    ``AAA`` holds ``present`` people who return home with the weekly hazard ``r``,
    ``pending`` asylum claimants decided with ``d = 1 - exp(-7 / processing_days)`` a week
    and granted with ``recognition`` (the rejected all return, ``rejected_return = 1``), and
    ``settled`` people, who stay. Each person is independent, so with ``a = (1 - r)**t``
    (still present at the end of step ``t``), ``u = (1 - d)**t`` (still pending) and
    ``b = u + (1 - u) recognition`` (a claimant still in ``AAA``, pending or settled):

    * ``E[stock AAA_t] = settled + present a + pending b``,
      ``Var = present a (1 - a) + pending b (1 - b)``;
    * ``E[settled_t] = settled + pending (1 - u) recognition``, binomial in the claimants;
    * ``E[origin_t] = N + present (1 - a) + pending (1 - b)`` (the returned), with the
      stock's variance;
    * ``E[returns_t] = present r (1 - r)**(t-1) + pending d (1 - d)**(t-1) (1 -
      recognition)``, each person returning in step ``t`` at most once.

    The origin's cohort is ``N = 1000`` people who never leave; ``departures`` are 0.
    """
    _check_probability(r=r, recognition=recognition)
    if min(present, pending, settled) < 0:
        raise ValueError("the initial stocks must not be negative")
    N = 1000
    scenario = Scenario.model_validate({
        "name": f"diaspora present={present} pending={pending} settled={settled} r={r}",
        "calendar": _calendar(steps),
        "countries": [
            {"id": "ORG", "name": "Origin", "roles": ["origin"]},
            {"id": "AAA", "name": "A", "return_hazard": r,
             "asylum": {"claim_hazard": 0.0, "processing_days": processing_days,
                        "recognition_rate": recognition, "rejected_return": 1.0},
             "initial": {"all": {"present": present, "pending": pending,
                                 "settled": settled}}},
        ],
        "routes": [{"from": "ORG", "to": "AAA"}],
        "cohorts": [{"name": "all", "population": N, "baseline_hazard": 0.0}],
    })
    t = np.arange(1, steps + 1, dtype=float)
    d = -np.expm1(-7.0 / processing_days)
    a, u = (1.0 - r) ** t, (1.0 - d) ** t
    b = u + (1.0 - u) * recognition
    c = (1.0 - u) * recognition
    q_present = r * (1.0 - r) ** (t - 1)
    q_claim = d * (1.0 - d) ** (t - 1) * (1.0 - recognition)
    var_stock = present * a * (1 - a) + pending * b * (1 - b)
    mean = {
        "A": settled + present * a + pending * b,
        "settled": settled + pending * c,
        "origin": N + present * (1 - a) + pending * (1 - b),
        "returns": present * q_present + pending * q_claim,
        "departures": np.zeros_like(t),
    }
    variance = {
        "A": var_stock,
        "settled": pending * c * (1 - c),
        "origin": var_stock,
        "returns": present * q_present * (1 - q_present) + pending * q_claim * (1 - q_claim),
        "departures": np.zeros_like(t),
    }

    def read(results: Any) -> dict[str, np.ndarray]:
        ds = results.dataset
        return {"A": _stock(results, "AAA"), "origin": _stock(results, "ORG"),
                "settled": np.asarray(ds["settled"].sel(country="AAA").sum("cohort").values,
                                      dtype=np.int64),
                "returns": np.asarray(ds["returns"].sum(("country", "cohort")).values,
                                      dtype=np.int64),
                "departures": np.asarray(ds["departures"].sum("cohort").values,
                                         dtype=np.int64)}

    return Toy(
        name="diaspora",
        scenario=scenario,
        steps=steps,
        mean=mean,
        variance=variance,
        read=read,
        formula="E[A_t] = S + P (1-r)^t + C b_t, b_t = u_t + (1 - u_t) rho, u_t = (1-d)^t; "
                "E[settled_t] = S + C (1 - u_t) rho; E[origin_t] = N + P (1 - (1-r)^t) + "
                "C (1 - b_t)",
    )


def settled_mobility(S: int, sr: float, so: float, steps: int) -> Toy:
    """``S`` settled people in ``AAA`` at the start, who return home with the weekly hazard
    ``sr`` or move on to ``BBB`` (the only route out) with ``so``; nobody leaves the origin.

    The two are competing risks: with rates ``-log(1 - sr)`` and ``-log(1 - so)`` a settled
    person stays settled through a week with ``g = (1 - sr)(1 - so)`` and, leaving, returns
    with the share ``w = log(1 - sr) / log(g)``. Each person is independent, so

    * ``E[settled AAA_t] = S g**t`` (binomial);
    * ``E[origin_t] = N + S (1 - g**t) w`` and ``E[B_t] = S (1 - g**t) (1 - w)`` (binomial);
    * those who move on arrive in ``BBB`` *present*: ``settled BBB_t = 0`` in every replicate.

    The origin's cohort is ``N = 1000`` people who never leave.
    """
    _check_probability(sr=sr, so=so)
    N = 1000
    scenario = Scenario.model_validate({
        "name": f"settled mobility S={S} sr={sr} so={so}",
        "calendar": _calendar(steps),
        "countries": [
            {"id": "ORG", "name": "Origin", "roles": ["origin"]},
            {"id": "AAA", "name": "A", "settled_return_hazard": sr,
             "settled_onward_hazard": so, "initial": {"all": {"settled": S}}},
            {"id": "BBB", "name": "B"},
        ],
        "routes": [{"from": "ORG", "to": "AAA"}, {"from": "AAA", "to": "BBB"}],
        "cohorts": [{"name": "all", "population": N, "baseline_hazard": 0.0}],
    })
    t = np.arange(1, steps + 1, dtype=float)
    g = (1.0 - sr) * (1.0 - so)
    w = np.log1p(-sr) / np.log(g) if g < 1 else 0.0
    stay = g ** t
    probs = {"settled_A": stay, "returned": (1 - stay) * w, "B": (1 - stay) * (1 - w)}
    mean, variance = _binomial(S, probs)
    mean["settled_B"] = variance["settled_B"] = np.zeros_like(t)

    def read(results: Any) -> dict[str, np.ndarray]:
        settled = results.dataset["settled"].sum("cohort")
        return {"settled_A": np.asarray(settled.sel(country="AAA").values, dtype=np.int64),
                "settled_B": np.asarray(settled.sel(country="BBB").values, dtype=np.int64),
                "returned": _stock(results, "ORG") - N, "B": _stock(results, "BBB")}

    return Toy(
        name="settled_mobility",
        scenario=scenario,
        steps=steps,
        mean=mean,
        variance=variance,
        read=read,
        formula="E[settled A_t] = S g^t, g = (1-sr)(1-so); E[returned_t] = S (1 - g^t) w, "
                "w = log(1-sr)/log(g); E[B_t] = S (1 - g^t)(1 - w); settled B_t = 0",
    )


def deterred_chain(N: int, h: float, q: float, a: float, d: float, steps: int) -> Toy:
    """:func:`linear_chain` with a second route out of ``AAA``, to ``CCC``, closed by a
    policy all along, and ``deterrence_abroad`` on with the exponent ``d``.

    ``CCC`` has attractiveness ``a`` (``BBB`` 0), so with no policy in force the routes out
    of ``AAA`` weigh ``1 + exp(a)``; closed, ``A = 1 / (1 + exp(a))``. The onward hazard of
    ``AAA`` is damped to ``q' = q A**d`` and everybody who moves on goes to ``BBB``: the
    expectations and variances are those of ``linear_chain(N, h, q', steps)``, and ``CCC``
    stays empty in every replicate. The origin's only route is open, so departures are not
    deterred.
    """
    _check_probability(h=h, q=q, d=d)
    damped = q * (1.0 / (1.0 + np.exp(a))) ** d
    chain = linear_chain(N, h, float(damped), steps)
    cal = _calendar(steps)
    scenario = Scenario.model_validate({
        "name": f"deterred chain N={N} h={h} q={q} a={a} d={d}",
        "calendar": cal,
        "countries": [
            {"id": "ORG", "name": "Origin", "roles": ["origin"]},
            {"id": "AAA", "name": "A", "roles": ["transit"], "onward_hazard": q},
            {"id": "BBB", "name": "B"},
            {"id": "CCC", "name": "C", "attractiveness": a},
        ],
        "routes": [{"from": "ORG", "to": "AAA"}, {"from": "AAA", "to": "BBB"},
                   {"from": "AAA", "to": "CCC"}],
        "cohorts": [{"name": "all", "population": N, "baseline_hazard": h}],
        "policies": [{"name": "ccc_closed", "start": cal["start"],
                      "select": {"from": ["AAA"], "to": ["CCC"]},
                      "route": {"regime": "closed"}}],
        "behaviour": {"deterrence": d, "deterrence_abroad": True},
    })
    zero = np.zeros(steps)

    def read(results: Any) -> dict[str, np.ndarray]:
        return {**chain.read(results), "C": _stock(results, "CCC")}

    return Toy(
        name="deterred_chain",
        scenario=scenario,
        steps=steps,
        mean={**chain.mean, "C": zero},
        variance={**chain.variance, "C": zero},
        read=read,
        formula=f"linear_chain with q' = q (1 / (1 + e^a))^d = {damped:.6g}; C_t = 0",
    )


def scheduled_chain(N: int, h: float, q: float, fade_days: int, steps: int) -> Toy:
    """:func:`linear_chain` whose onward hazard from ``AAA`` fades linearly to 0 by a
    schedule (behaviour, not policy): a factor 1 on the first day, 0 after ``fade_days``.

    A step takes the schedule's value on its middle day (day ``7(t - 1) + 3`` of step
    ``t``): ``q_t = q max(0, 1 - (7(t - 1) + 3) / fade_days)``. People are independent, so
    with ``p_O(t) = (1 - h)**t``, ``p_A(t) = p_A(t - 1)(1 - q_t) + h p_O(t - 1)`` (those in
    ``AAA`` at the start of step ``t`` face ``q_t``; arrivals face it from the next step)
    and ``p_B = 1 - p_O - p_A``, every stock ``X`` is binomial: ``E = N p_X``,
    ``Var = N p_X (1 - p_X)``.
    """
    _check_probability(h=h, q=q)
    if fade_days < 1:
        raise ValueError(f"fade_days must be at least 1, got {fade_days}")
    cal = _calendar(steps)
    scenario = Scenario.model_validate({
        "name": f"scheduled chain N={N} h={h} q={q} fade={fade_days}",
        "calendar": cal,
        "countries": [
            {"id": "ORG", "name": "Origin", "roles": ["origin"]},
            {"id": "AAA", "name": "A", "roles": ["transit"], "onward_hazard": q},
            {"id": "BBB", "name": "B", "roles": ["destination"]},
        ],
        "routes": [{"from": "ORG", "to": "AAA"}, {"from": "AAA", "to": "BBB"}],
        "cohorts": [{"name": "all", "population": N, "baseline_hazard": h}],
        "schedules": [{"name": "fade", "field": "onward_hazard", "countries": ["AAA"],
                       "interpolate": "linear",
                       "points": [{"date": cal["start"], "value": 1.0},
                                  {"date": cal["start"] + dt.timedelta(days=fade_days),
                                   "value": 0.0}]}],
    })
    p_o = np.empty(steps)
    p_a = np.empty(steps)
    o, a = 1.0, 0.0
    for t in range(1, steps + 1):
        q_t = q * max(0.0, 1.0 - (7 * (t - 1) + 3) / fade_days)
        o, a = o * (1.0 - h), a * (1.0 - q_t) + h * o
        p_o[t - 1], p_a[t - 1] = o, a
    probs = {"never": p_o, "A": p_a, "B": 1.0 - p_o - p_a}
    mean, variance = _binomial(N, probs)

    def read(results: Any) -> dict[str, np.ndarray]:
        return {"never": _stock(results, "ORG"), "A": _stock(results, "AAA"),
                "B": _stock(results, "BBB")}

    return Toy(
        name="scheduled_chain",
        scenario=scenario,
        steps=steps,
        mean=mean,
        variance=variance,
        read=read,
        formula="p_A(t) = p_A(t-1)(1 - q_t) + h (1-h)^(t-1), q_t = q max(0, 1 - (7(t-1)+3)/D)",
    )


def network_choice(N: int, S: int, weight: float, scale: float) -> Toy:
    """Everybody leaves in the one step (hazard 1) for ``AAA`` or ``BBB``, equally attractive
    but for ``AAA``'s network effect: ``S`` people of the origin are settled there at the
    start, which adds ``weight × log(1 + S / scale)`` to its utility.

    The choice sees the stock at the start of the step, ``S`` in every replicate, so each
    person picks ``AAA`` with ``p = g / (g + 1)``, ``g = (1 + S / scale)**weight``:
    ``arrivals in AAA ~ Binomial(N, p)`` and the stock of ``AAA`` is ``S`` more.
    """
    if min(N, S) < 0 or scale <= 0:
        raise ValueError("N and S must not be negative and scale must be positive")
    scenario = Scenario.model_validate({
        "name": f"network choice N={N} S={S} weight={weight} scale={scale}",
        "calendar": _calendar(1),
        "countries": [
            {"id": "ORG", "name": "Origin", "roles": ["origin"]},
            {"id": "AAA", "name": "A", "network": {"weight": weight, "scale": scale},
             "initial": {"all": {"settled": S}}},
            {"id": "BBB", "name": "B"},
        ],
        "routes": [{"from": "ORG", "to": "AAA"}, {"from": "ORG", "to": "BBB"}],
        "cohorts": [{"name": "all", "population": N, "baseline_hazard": 1.0}],
    })
    g = (1.0 + S / scale) ** weight
    p = np.array([g / (g + 1.0)])
    mean, variance = _binomial(N, {"A": p, "B": 1.0 - p})

    def read(results: Any) -> dict[str, np.ndarray]:
        return {"A": _stock(results, "AAA") - S, "B": _stock(results, "BBB")}

    return Toy(
        name="network_choice",
        scenario=scenario,
        steps=1,
        mean=mean,
        variance=variance,
        read=read,
        formula="arrivals in A ~ Bin(N, g / (g + 1)), g = (1 + S / scale)^weight",
    )
