"""The engine against a per-person reference simulation, in distribution.

:mod:`reference` (``tests/reference.py``) simulates every person separately with Python's
``random``, following the engine's documented step rules but none of its array code. For
seven small scenarios (a visa route with queues, passport mixtures, a quota and a closure
while people wait; asylum with a processing capacity and route quotas, in monthly steps; a
shock, a cohort-specific closure with deterrence, a country policy, humanitarian routes and
a route that requires a flag, with a short last step; people abroad at the start, settled
people who move, deterrence abroad, schedules and a network effect; re-emigration, an
origin schedule, pending claimants who abscond or move on, interception, asylum at the
border, a shared programme quota and a route through a transit country that takes time;
shocks on hazards abroad, eligibility held by a share of a cohort and a regularisation of
those present before a cut-off date; returnees kept apart from first leavers, sent back by
a visa refusal, a capacity, a shared quota and interception), we run the engine
(``N_ENGINE`` replicates) and the reference (``N_REF`` runs, ``REF_RUNS`` where it is slow)
and compare the distribution of each of several outcomes (final stock per country,
mid-horizon stock per country, departures (and, with returnees kept apart, first
departures) per cohort, returns, asylum decisions and grants, visas issued, flow per route,
and the final settled where a regularisation has a cut-off date).

The test: a two-sample chi-square test of homogeneity on binned counts. Outcomes are small
integer counts with many ties, which rules out the continuous-distribution tests (the
Kolmogorov-Smirnov and Cramér-von Mises null distributions assume no ties and are
conservative with them; ``scipy.stats.anderson_ksamp`` also clips its p-value to
``[0.001, 0.25]``, too coarse for a Bonferroni threshold of about 1e-4). The bins are
consecutive values of the *pooled* sample, merged until every cell of the 2 × bins table
expects at least ``MIN_EXPECTED`` = 20 counts; the statistic is then close to chi-square with
``bins - 1`` degrees of freedom (checked by simulation while writing this test: on
binomial and negative binomial samples of 3000 vs 1500, 20,000 null repetitions rejected
at 1e-3 and 1e-4 at rates of 0.65e-3 to 1.1e-3 and 0 to 1.5e-4).

False-failure rate: each scenario's test makes ``m`` comparisons (one per outcome listed in
``OUTCOMES``, fixed before looking at the data) and fails if any p-value is below
``ALPHA / m`` with ``ALPHA`` = 1e-3 (Bonferroni), so a correct engine fails one scenario's
test with probability at most about 1e-3. Seeds are fixed: the outcome is reproducible.

Power: the same comparison must reject deliberately wrong models: the engine run with one
onward hazard 20 % too high (0.18 instead of 0.15: smallest p about 1e-62 when written),
with half the deterrence (0.3 instead of 0.6: p about 1e-45), and a reference that decides
asylum claims one step late (p = 0 to double precision).
The later mechanisms have their own power tests (a wrong initial stock, settled hazard,
deterrence abroad, re-emigration hazard, interception, programme total, abscond hazard,
travel time, shock abroad, eligibility share, a regularisation without its cut-off, and
returnees not kept apart).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from reference import ReferenceSimulator
from scipy import stats

import flowsim
from flowsim.core.compile import CompiledModel, compile_scenario
from flowsim.core.engine import recordable
from flowsim.scenario import validate_data

ALPHA = 1e-3  # overall false-failure rate of one scenario's test
MIN_EXPECTED = 20.0
N_ENGINE = 3000
N_REF = 1500
# fewer reference runs where the per-person reference is slow (its tests stay within seconds;
# the binned test adapts its bins to the smaller sample)
REF_RUNS = {"status": 800}

START = dt.date(2022, 1, 3)


def _calendar(weeks: int) -> dict[str, Any]:
    return {"start": START, "end": START + dt.timedelta(weeks=weeks, days=-1)}


VISA = {
    "name": "visa route",
    "calendar": _calendar(15),
    "countries": [
        {"id": "RUS", "name": "Origin", "roles": ["origin"]},
        {"id": "GEO", "name": "G", "roles": ["transit"], "onward_hazard": "q_geo",
         "return_hazard": 0.04, "attractiveness": 0.5},
        {"id": "FIN", "name": "F", "roles": ["transit", "destination"], "onward_hazard": 0.1,
         "settle_hazard": 0.05, "attractiveness": 1.0},
        {"id": "DEU", "name": "D", "roles": ["destination"], "attractiveness": 1.5,
         "return_hazard": 0.02},
    ],
    "routes": [
        {"from": "RUS", "to": "GEO", "documents": "internal"},
        {"from": "RUS", "to": "FIN", "regime": "visa_required", "delay_days": 14,
         "issuance": 0.6, "capacity": 2},
        {"from": "GEO", "to": "DEU", "mode": "air", "regime": "e_visa", "cost": 0.3},
        {"from": "GEO", "to": "FIN", "mode": "air", "regime": "visa_required",
         "delay_days": 7, "issuance": 0.4},
        {"from": "FIN", "to": "DEU"},
    ],
    "cohorts": [
        {"name": "men", "population": 60, "baseline_hazard": 0.08,
         "international_passport": 0.6},
        {"name": "rest", "population": 40, "baseline_hazard": 0.05},
    ],
    "policies": [
        # closes a queued route while people wait on it: they are refused at once
        {"name": "geo_fin_closes", "start": dt.date(2022, 2, 21), "end": dt.date(2022, 3, 20),
         "select": {"from": ["GEO"], "to": ["FIN"]}, "route": {"regime": "closed"}},
        {"name": "fin_strict_for_rest", "start": dt.date(2022, 2, 7),
         "select": {"to": ["FIN"], "from": ["RUS"], "cohorts": ["rest"]},
         "route": {"issuance": 0.2, "delay_days": 30}},
    ],
    "parameters": {"q_geo": 0.15},
}

ASYLUM = {
    "name": "asylum with capacities",
    # monthly steps of 28 to 31 days: hazards and delays are converted to each step's length
    "calendar": {"start": START, "end": dt.date(2022, 6, 30), "step": "month"},
    "countries": [
        {"id": "RUS", "name": "Origin", "roles": ["origin"]},
        {"id": "AAA", "name": "A", "roles": ["destination"], "attractiveness": 1.0,
         "onward_hazard": 0.05,
         "asylum": {"claim_hazard": 0.1, "processing_days": 21, "recognition_rate": 0.5,
                    "capacity": 8, "rejected_return": 0.4}},
        {"id": "BBB", "name": "B", "roles": ["transit"], "onward_hazard": 0.2,
         "return_hazard": 0.05},
        {"id": "CCC", "name": "C", "roles": ["destination"], "settle_hazard": 0.1},
    ],
    "routes": [
        {"from": "RUS", "to": "AAA", "capacity": 20},
        {"from": "RUS", "to": "BBB", "regime": "e_visa"},
        {"from": "BBB", "to": "AAA"},
        {"from": "AAA", "to": "CCC", "capacity": 4},
    ],
    "cohorts": [
        {"name": "one", "population": 100, "baseline_hazard": 0.06},
        {"name": "two", "population": 50, "baseline_hazard": 0.1},
    ],
}

SHOCK = {
    "name": "shock and policies",
    # 16 weeks and a last step of 3 days
    "calendar": {"start": START, "end": START + dt.timedelta(weeks=16, days=2)},
    "countries": [
        {"id": "RUS", "name": "Origin", "roles": ["origin"]},
        {"id": "KAZ", "name": "K", "roles": ["transit", "destination"], "onward_hazard": 0.1,
         "return_hazard": 0.05},
        {"id": "ISR", "name": "I", "roles": ["destination"], "attractiveness": 2.0},
        {"id": "DEU", "name": "D", "roles": ["destination"], "attractiveness": 1.0,
         "asylum": {"claim_hazard": 0.2, "processing_days": 30, "recognition_rate": 0.7}},
        {"id": "TUR", "name": "T", "roles": ["transit"], "onward_hazard": 0.2},
    ],
    "routes": [
        {"from": "RUS", "to": "KAZ", "documents": "internal"},
        {"from": "RUS", "to": "TUR", "mode": "air", "cost": 0.5},
        {"from": "RUS", "to": "ISR", "mode": "air", "requires": ["israel"]},
        {"from": "KAZ", "to": "DEU", "mode": "air", "regime": "humanitarian_only",
         "delay_days": 10, "issuance": 0.5},
        {"from": "TUR", "to": "DEU", "mode": "air", "regime": "visa_required",
         "delay_days": 7, "issuance": 0.5},
        {"from": "TUR", "to": "KAZ", "mode": "air"},
    ],
    "cohorts": [
        {"name": "men", "population": 80, "baseline_hazard": 0.02,
         "international_passport": 0.7, "eligible": ["humanitarian"]},
        {"name": "repatriates", "population": 40, "baseline_hazard": 0.03,
         "eligible": ["israel"]},
    ],
    "shocks": [{"name": "mobilization", "date": dt.date(2022, 1, 31), "cohorts": ["men"],
                "multiplier": 6.0, "half_life_days": 14}],
    "policies": [
        {"name": "kaz_closes", "start": dt.date(2022, 2, 14), "end": dt.date(2022, 3, 20),
         "select": {"to": ["KAZ"], "from": ["RUS"], "cohorts": ["men"]},
         "route": {"regime": "closed"}},
        {"name": "tur_tightens", "start": dt.date(2022, 3, 7),
         "select": {"countries": ["TUR"]}, "country": {"onward_hazard": 0.4}},
        # those waiting for a visa who are not eligible for humanitarian admission are refused
        {"name": "deu_humanitarian_only", "start": dt.date(2022, 3, 28),
         "select": {"from": ["TUR"], "to": ["DEU"]}, "route": {"regime": "humanitarian_only"}},
    ],
    "behaviour": {"deterrence": "deterrence"},
    "parameters": {"deterrence": 0.6},
}

# the mechanisms of the model's second edition: people abroad when the calendar starts, settled
# people who move on or return, deterrence abroad, schedules, a network effect
ABROAD = {
    "name": "people abroad at the start",
    "calendar": _calendar(12),
    "countries": [
        {"id": "RUS", "name": "Origin", "roles": ["origin"]},
        {"id": "ARM", "name": "A", "roles": ["transit", "destination"], "onward_hazard": 0.1,
         "return_hazard": 0.05, "attractiveness": 0.5, "settle_hazard": 0.05,
         "settled_onward_hazard": "arm_settled_onward",
         "initial": {"men": {"present": 30, "settled": 10},
                     "rest": {"present": 10, "settled": 15}}},
        {"id": "DEU", "name": "D", "roles": ["destination"], "attractiveness": 1.0,
         "return_hazard": 0.02, "settled_return_hazard": 0.04,
         "network": {"weight": "deu_network", "scale": 20},
         "asylum": {"claim_hazard": 0.1, "processing_days": 28, "recognition_rate": 0.5,
                    "rejected_return": 0.5, "capacity": 6},
         "initial": {"men": {"pending": 20, "settled": 10}}},
        {"id": "SRB", "name": "S", "roles": ["transit"], "onward_hazard": 0.2,
         "initial": {"rest": {"present": "srb_rest"}}},
    ],
    "routes": [
        {"from": "RUS", "to": "ARM", "documents": "internal"},
        {"from": "RUS", "to": "SRB", "mode": "air"},
        {"from": "ARM", "to": "DEU", "mode": "air", "regime": "visa_required",
         "delay_days": 14, "issuance": 0.5},
        {"from": "SRB", "to": "DEU"},
        {"from": "ARM", "to": "SRB", "mode": "air"},
    ],
    "cohorts": [
        {"name": "men", "population": 50, "baseline_hazard": 0.05,
         "international_passport": 0.6},
        {"name": "rest", "population": 30, "baseline_hazard": 0.03},
    ],
    # closing ARM -> SRB for six weeks damps moves on from Armenia (deterrence abroad)
    "policies": [
        {"name": "arm_srb_closes", "start": dt.date(2022, 1, 24), "end": dt.date(2022, 3, 6),
         "select": {"from": ["ARM"], "to": ["SRB"]}, "route": {"regime": "closed"}},
    ],
    # behaviour over time: Germany grows more attractive to men (a linear schedule) and
    # returns from Armenia fall in steps (neither is a policy: deterrence compares with the
    # same schedule values)
    "schedules": [
        {"name": "deu_draws_men", "field": "attractiveness", "countries": ["DEU"],
         "cohorts": ["men"], "interpolate": "linear",
         "points": [{"date": dt.date(2022, 1, 3), "value": 0.0},
                    {"date": dt.date(2022, 3, 1), "value": 1.5}]},
        {"name": "fewer_return", "field": "return_hazard", "countries": ["ARM"],
         "points": [{"date": dt.date(2022, 1, 3), "value": 1.0},
                    {"date": dt.date(2022, 2, 14), "value": 0.3}]},
    ],
    "behaviour": {"deterrence": "deterrence", "deterrence_abroad": True},
    "parameters": {"srb_rest": 12, "arm_settled_onward": 0.1, "deterrence": 0.8,
                   "deu_network": 0.7},
}

# the third edition: returned people who leave again, an origin hazard that follows a schedule,
# pending claimants who abscond or move on, an irregular route with interception whose
# arrivals claim asylum at the border (until a policy ends it), and a programme whose quota
# (per step and in total) is shared by two routes into Germany, one of which passes through AU
# (where a policy applies) and takes ten days on average
BORDER = {
    "name": "borders, status and quotas",
    "calendar": _calendar(12),
    "countries": [
        {"id": "RUS", "name": "Origin", "roles": ["origin"]},
        {"id": "ARM", "name": "A", "roles": ["transit", "destination"], "onward_hazard": 0.15,
         "return_hazard": 0.08, "attractiveness": 0.5,
         "initial": {"men": {"present": 25}, "rest": {"present": 15}}},
        {"id": "SRB", "name": "S", "roles": ["transit"], "onward_hazard": 0.3},
        {"id": "HUN", "name": "H", "roles": ["transit", "destination"], "onward_hazard": 0.1,
         "asylum": {"claim_hazard": 0.0, "processing_days": 21, "recognition_rate": 0.4,
                    "rejected_return": 0.3, "capacity": 4, "abscond_hazard": 0.1,
                    "pending_onward_hazard": 0.15}},
        {"id": "AUT", "name": "Au", "roles": ["transit"]},
        {"id": "DEU", "name": "D", "roles": ["destination"], "attractiveness": 1.0,
         "return_hazard": 0.02,
         "asylum": {"claim_hazard": 0.2, "processing_days": 28, "recognition_rate": 0.6,
                    "abscond_hazard": "deu_abscond"}},
    ],
    "routes": [
        {"from": "RUS", "to": "ARM", "documents": "internal"},
        {"from": "RUS", "to": "SRB", "mode": "air"},
        {"from": "ARM", "to": "DEU", "mode": "air", "regime": "visa_required",
         "delay_days": 14, "issuance": 0.6},
        {"from": "SRB", "to": "HUN", "regime": "irregular", "interception": "interception",
         "asylum_at_border": True},
        {"from": "HUN", "to": "DEU", "regime": "irregular", "interception": 0.2,
         "via": ["AUT"], "travel_days": "travel"},
        {"from": "ARM", "to": "SRB", "mode": "air"},
    ],
    "cohorts": [
        {"name": "men", "population": 50, "baseline_hazard": 0.05,
         "international_passport": 0.7, "reemigration_hazard": "reemigration"},
        {"name": "rest", "population": 30, "baseline_hazard": 0.03,
         "reemigration_hazard": 0.05},
    ],
    "policies": [
        {"name": "border_procedure_ends", "start": dt.date(2022, 2, 21),
         "select": {"from": ["SRB"], "to": ["HUN"]}, "route": {"asylum_at_border": False,
                                                              "interception": 0.6}},
        # a policy on the leg through AU applies to the route from H to D that passes it
        {"name": "au_controls", "start": dt.date(2022, 2, 7), "select": {"to": ["AUT"]},
         "route": {"interception": 0.5}},
    ],
    "schedules": [
        {"name": "more_leave", "field": "emigration_hazard", "cohorts": ["men"],
         "points": [{"date": dt.date(2022, 1, 3), "value": 1.0},
                    {"date": dt.date(2022, 2, 7), "value": 3.0}]},
    ],
    "programmes": [
        {"name": "germany_quota", "select": {"to": ["DEU"]}, "capacity": 3, "total": "quota",
         "start": dt.date(2022, 1, 10)},
    ],
    "parameters": {"interception": 0.3, "reemigration": 0.1, "deu_abscond": 0.05, "quota": 10,
                   "travel": 10},
}

# the fourth: shocks on hazards abroad (returns from A, claims in D), eligibility flags held
# by a share of each cohort (one share a parameter; a route that requires a flag, a
# humanitarian_only route, and a policy that changes what a route requires while people
# wait on it), and a regularisation in A of those present before a cut-off date
STATUS = {
    "name": "status and shares",
    "calendar": _calendar(12),
    "countries": [
        {"id": "RUS", "name": "Origin", "roles": ["origin"]},
        {"id": "ARM", "name": "A", "roles": ["transit", "destination"], "onward_hazard": 0.1,
         "return_hazard": 0.04, "settle_hazard": 0.02, "attractiveness": 0.5,
         "network": {"weight": 0.6, "scale": 30},  # sees the eligible among the present
         "initial": {"men": {"present": 30}, "rest": {"present": 20}}},
        {"id": "GEO", "name": "G", "roles": ["transit"], "onward_hazard": 0.2,
         "return_hazard": 0.03},
        {"id": "DEU", "name": "D", "roles": ["destination"], "attractiveness": 1.0,
         "asylum": {"claim_hazard": 0.05, "processing_days": 28, "recognition_rate": 0.5}},
    ],
    "routes": [
        {"from": "RUS", "to": "ARM", "documents": "internal"},
        {"from": "RUS", "to": "GEO"},
        {"from": "RUS", "to": "DEU", "mode": "air", "requires": ["visa"]},
        {"from": "ARM", "to": "DEU", "mode": "air", "regime": "humanitarian_only",
         "delay_days": 14, "issuance": 0.6},
        {"from": "GEO", "to": "ARM"},
        {"from": "GEO", "to": "DEU", "mode": "air", "requires": ["visa"]},
    ],
    "cohorts": [
        {"name": "men", "population": 50, "baseline_hazard": 0.05,
         "international_passport": 0.7, "eligible": {"humanitarian": "hum_share", "visa": 0.5}},
        {"name": "rest", "population": 30, "baseline_hazard": 0.04,
         "eligible": {"humanitarian": 1.0, "visa": 0.2}},
    ],
    "shocks": [
        {"name": "invasion", "date": dt.date(2022, 1, 10), "multiplier": 3.0,
         "half_life_days": 14},
        {"name": "go_home", "date": dt.date(2022, 1, 19), "field": "return_hazard",
         "countries": ["ARM"], "multiplier": "home_shock", "half_life_days": 10},
        {"name": "claims_surge", "date": dt.date(2022, 2, 7), "end": dt.date(2022, 3, 6),
         "field": "claim_hazard", "countries": ["DEU"], "cohorts": ["men"], "multiplier": 4.0},
    ],
    "policies": [
        {"name": "geo_closes_to_men", "start": dt.date(2022, 1, 24), "end": dt.date(2022, 2, 20),
         "select": {"from": ["RUS"], "to": ["GEO"], "cohorts": ["men"]},
         "route": {"regime": "closed"}},
        # those waiting on A -> D who may hold the visa flag stay in the queue
        {"name": "arm_deu_needs_visa", "start": dt.date(2022, 2, 21),
         "select": {"from": ["ARM"], "to": ["DEU"]}, "route": {"requires": ["visa"]}},
        {"name": "arm_amnesty", "start": dt.date(2022, 2, 7),
         "select": {"countries": ["ARM"]},
         "country": {"settle_hazard": 0.25, "settle_arrived_before": dt.date(2022, 1, 24)}},
    ],
    "behaviour": {"deterrence": 0.6},
    "parameters": {"hum_share": 0.4, "home_shock": 5.0},
}

# the fifth: returnees kept apart (track_returnees) while they leave again through every
# way back to the origin: a visa route that refuses, a route capacity, a quota shared by two
# routes, interception; people abroad at the start who come back and leave again
RETURNEES = {
    "name": "returnees kept apart",
    "calendar": _calendar(14),
    "behaviour": {"track_returnees": True},
    "countries": [
        {"id": "RUS", "name": "Origin", "roles": ["origin"]},
        {"id": "ARM", "name": "A", "roles": ["destination"], "return_hazard": 0.15,
         "attractiveness": 0.5},
        {"id": "GEO", "name": "G", "roles": ["destination"], "return_hazard": 0.1,
         "initial": {"men": {"present": 10}}},
        {"id": "DEU", "name": "D", "roles": ["destination"], "attractiveness": 1.0,
         "return_hazard": 0.08},
        {"id": "FIN", "name": "F", "roles": ["destination"], "return_hazard": 0.1},
    ],
    "routes": [
        {"from": "RUS", "to": "ARM", "documents": "internal", "capacity": 3},
        {"from": "RUS", "to": "DEU", "mode": "air", "regime": "visa_required",
         "delay_days": 10, "issuance": 0.5, "capacity": 2},
        {"from": "RUS", "to": "FIN", "regime": "irregular", "interception": 0.4},
        {"from": "RUS", "to": "GEO"},
    ],
    "cohorts": [
        {"name": "men", "population": 60, "baseline_hazard": 0.06,
         "international_passport": 0.7, "reemigration_hazard": "reemigration"},
        {"name": "rest", "population": 40, "baseline_hazard": 0.04,
         "reemigration_hazard": 0.2},
    ],
    "programmes": [
        {"name": "shared_quota", "select": {"to": ["GEO", "FIN"]}, "capacity": 2,
         "total": 20},
    ],
    "parameters": {"reemigration": 0.3},
}

SCENARIOS = {"visa": VISA, "asylum": ASYLUM, "shock": SHOCK, "abroad": ABROAD, "border": BORDER,
             "status": STATUS, "returnees": RETURNEES}


# -- outcomes ---------------------------------------------------------------------------------

Outcome = tuple[str, Callable[[dict[str, np.ndarray]], np.ndarray]]


def outcomes(model: CompiledModel) -> list[Outcome]:
    """The compared outcomes, each a function of the recorded arrays ``(n, T, ...)``.

    Fixed by the model's shape alone (not by the data), so the Bonferroni count is fixed.
    """
    T = model.n_steps
    out: list[Outcome] = []
    for c, cid in enumerate(model.country_ids):
        out.append((f"final stock {cid}", lambda d, c=c: d["stock"][:, -1, c].sum(-1)))
        if c != model.origin:
            out.append((f"stock {cid} at step {T // 2}",
                        lambda d, c=c: d["stock"][:, T // 2 - 1, c].sum(-1)))
    for k, name in enumerate(model.cohort_names):
        out.append((f"departures of {name}", lambda d, k=k: d["departures"][..., k].sum(1)))
        if model.track_returnees and model.has_reemigration:
            out.append((f"first departures of {name}",
                        lambda d, k=k: d["first_departures"][..., k].sum(1)))
    if model.settle_cutoff_step is not None:  # regularisations with a cut-off
        for c in np.flatnonzero(model.settle_cutoff_step >= 0):
            out.append((f"final settled {model.country_ids[c]}",
                        lambda d, c=c: d["settled"][:, -1, c].sum(-1)))
    for c in np.flatnonzero(model.has_asylum):
        out.append((f"final pending {model.country_ids[c]}",
                    lambda d, c=c: d["pending"][:, -1, c].sum(-1)))
    for v in ("returns", "asylum_decisions", "asylum_grants", "visas_issued", "interceptions",
              "asylum_applications"):
        out.append((f"total {v}", lambda d, v=v: d[v].sum(axis=(1, 2, 3))))
    for r, key in enumerate(model.route_keys):
        out.append((f"flow on {key}", lambda d, r=r: d["flow"][:, :, r].sum(axis=(1, 2))))
    return out


def binned_chi2(x: np.ndarray, y: np.ndarray,
                min_expected: float = MIN_EXPECTED) -> tuple[float, int, float]:
    """Two-sample chi-square test of homogeneity of two samples of integers.

    Bins are runs of consecutive pooled values, closed when the pooled count reaches
    ``min_expected * N / min(n_x, n_y)`` (so each cell expects at least ``min_expected``);
    a short tail joins the last bin.

    Returns
    -------
    (statistic, degrees of freedom, p-value); ``(0, 0, 1)`` when there is one bin only.
    """
    x, y = np.asarray(x).ravel(), np.asarray(y).ravel()
    pooled = np.concatenate([x, y])
    need = min_expected * pooled.size / min(x.size, y.size)
    values, counts = np.unique(pooled, return_counts=True)
    edges: list[Any] = []  # the largest value of each bin
    acc = 0
    for v, c in zip(values, counts, strict=True):
        acc += c
        if acc >= need:
            edges.append(v)
            acc = 0
    if acc and edges:
        edges[-1] = values[-1]
    if len(edges) < 2:
        return 0.0, 0, 1.0
    e = np.array(edges)
    table = np.stack([np.bincount(np.searchsorted(e, s), minlength=e.size) for s in (x, y)])
    stat, p, dof, _ = stats.chi2_contingency(table, correction=False)
    return float(stat), int(dof), float(p)


@dataclasses.dataclass
class Comparison:
    names: list[str]
    p: np.ndarray
    threshold: float

    @property
    def rejected(self) -> list[str]:
        return [f"{n} (p = {p:.2e})" for n, p in zip(self.names, self.p, strict=True)
                if p < self.threshold]

    def describe(self) -> str:
        i = int(np.argmin(self.p))
        return (f"{len(self.names)} outcomes; smallest p = {self.p[i]:.3g} ({self.names[i]}); "
                f"threshold {self.threshold:.2e}")


def compare(model: CompiledModel, a: dict[str, np.ndarray],
            b: dict[str, np.ndarray]) -> Comparison:
    outs = outcomes(model)
    p = np.array([binned_chi2(f(a), f(b))[2] for _, f in outs])
    return Comparison([n for n, _ in outs], p, ALPHA / len(outs))


# -- runs (cached: the power tests reuse the samples of the main tests) -----------------------


@functools.cache
def _model(key: str) -> CompiledModel:
    scenario, problems = validate_data(SCENARIOS[key])
    assert not [p for p in problems if p.severity == "error"]
    return compile_scenario(scenario)


@functools.cache
def engine_sample(key: str, **params: float) -> dict[str, np.ndarray]:
    return _engine(_model(key), params)


def _engine(model: CompiledModel, params: dict[str, float]) -> dict[str, np.ndarray]:
    res = flowsim.simulate(model, replicates=N_ENGINE, seed=2024,
                           params=params or None, record=recordable(model))
    return {v: res.dataset[v].values for v in recordable(model)}


@functools.cache
def reference_sample(key: str, **variant: Any) -> dict[str, np.ndarray]:
    return ReferenceSimulator(_model(key), **variant).runs(REF_RUNS.get(key, N_REF), seed=11)


# -- tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(SCENARIOS))
def test_engine_matches_reference_in_distribution(key: str) -> None:
    model = _model(key)
    result = compare(model, engine_sample(key), reference_sample(key))
    assert not result.rejected, (
        f"{key}: the engine and the per-person reference differ in "
        f"{', '.join(result.rejected)} ({result.describe()})")


@pytest.mark.parametrize("key", sorted(SCENARIOS))
def test_reference_conserves_people(key: str) -> None:
    """The reference itself keeps everybody (so a mismatch is not the reference's fault)."""
    model = _model(key)
    ref = reference_sample(key)
    total = ref["stock"].sum(axis=2)  # (n, T, K)
    pop = np.round(model.people(model.param_defaults[None])[0])
    assert (total == pop).all()


def test_power_against_a_wrong_onward_hazard() -> None:
    """The engine with GEO's onward hazard 0.15 -> 0.18 is told apart from the reference."""
    model = _model("visa")
    result = compare(model, engine_sample("visa", q_geo=0.18), reference_sample("visa"))
    assert result.rejected, f"a 20% error in one hazard went unnoticed: {result.describe()}"


def test_power_against_a_wrong_deterrence() -> None:
    """The engine with half the deterrence of closures is told apart from the reference."""
    model = _model("shock")
    result = compare(model, engine_sample("shock", deterrence=0.3), reference_sample("shock"))
    assert result.rejected, f"deterrence 0.3 instead of 0.6 went unnoticed: {result.describe()}"


def test_power_against_a_wrong_step_order() -> None:
    """A reference that decides asylum claims one step late is told apart from the engine."""
    model = _model("asylum")
    result = compare(model, engine_sample("asylum"),
                     reference_sample("asylum", claims_wait_a_step=True))
    assert result.rejected, f"an off-by-one-step in asylum went unnoticed: {result.describe()}"


def test_binned_chi2_edge_cases() -> None:
    assert binned_chi2(np.zeros(100), np.zeros(50)) == (0.0, 0, 1.0)
    rng = np.random.default_rng(0)
    _, dof, p = binned_chi2(rng.binomial(30, 0.5, 3000), rng.binomial(30, 0.5, 1500))
    assert dof >= 5 and p > ALPHA
    _, _, p = binned_chi2(rng.binomial(30, 0.5, 3000), rng.binomial(30, 0.55, 1500))
    assert p < 1e-6


def test_power_against_a_wrong_initial_stock() -> None:
    """The engine with 16 instead of 12 people in one initial stock is told apart."""
    model = _model("abroad")
    result = compare(model, engine_sample("abroad", srb_rest=16), reference_sample("abroad"))
    assert result.rejected, f"4 more people abroad at the start went unnoticed: " \
        f"{result.describe()}"


def test_power_against_a_wrong_settled_hazard() -> None:
    """The engine with ARM's settled onward hazard 0.1 -> 0.2 is told apart."""
    model = _model("abroad")
    result = compare(model, engine_sample("abroad", arm_settled_onward=0.2),
                     reference_sample("abroad"))
    assert result.rejected, f"a doubled settled onward hazard went unnoticed: " \
        f"{result.describe()}"


def test_power_against_a_wrong_deterrence_abroad() -> None:
    """The engine with deterrence 0.2 instead of 0.8, where it acts only abroad (the closure
    is of a route out of Armenia), is told apart from the reference."""
    model = _model("abroad")
    result = compare(model, engine_sample("abroad", deterrence=0.2),
                     reference_sample("abroad"))
    assert result.rejected, f"deterrence abroad 0.2 instead of 0.8 went unnoticed: " \
        f"{result.describe()}"


def test_power_against_a_missing_network_effect() -> None:
    """The engine without Germany's network effect (weight 0 instead of 0.7) is told apart."""
    model = _model("abroad")
    result = compare(model, engine_sample("abroad", deu_network=0.0),
                     reference_sample("abroad"))
    assert result.rejected, f"a missing network effect went unnoticed: {result.describe()}"


def test_power_against_a_wrong_reemigration_hazard() -> None:
    """The engine with men's re-emigration hazard 0.1 -> 0.2 is told apart."""
    model = _model("border")
    result = compare(model, engine_sample("border", reemigration=0.2),
                     reference_sample("border"))
    assert result.rejected, f"a doubled re-emigration hazard went unnoticed: " \
        f"{result.describe()}"


def test_power_against_untracked_returnees() -> None:
    """A reference that sends returnees back among those who never left (the default
    bookkeeping, here where the scenario tracks them) is told apart, and so are the engine's
    crossings read as its first departures."""
    model = _model("returnees")
    untracked = compare(model, engine_sample("returnees"),
                        reference_sample("returnees", untracked_returnees=True))
    assert untracked.rejected, f"untracked returnees went unnoticed: {untracked.describe()}"
    crossings = dict(engine_sample("returnees"))
    crossings["first_departures"] = crossings["departures"]
    mixed = compare(model, crossings, reference_sample("returnees"))
    assert mixed.rejected, f"crossings read as first departures went unnoticed: " \
        f"{mixed.describe()}"


def test_power_against_a_wrong_interception() -> None:
    """The engine intercepting 0.4 instead of 0.3 on the irregular route into H is told
    apart."""
    model = _model("border")
    result = compare(model, engine_sample("border", interception=0.4),
                     reference_sample("border"))
    assert result.rejected, f"interception 0.4 instead of 0.3 went unnoticed: " \
        f"{result.describe()}"


def test_power_against_a_wrong_programme_total() -> None:
    """The engine with a programme total of 13 places instead of 10 is told apart."""
    model = _model("border")
    result = compare(model, engine_sample("border", quota=13), reference_sample("border"))
    assert result.rejected, f"3 more programme places went unnoticed: {result.describe()}"


def test_power_against_a_wrong_abscond_hazard() -> None:
    """The engine with D's abscond hazard 0.05 -> 0.15 is told apart."""
    model = _model("border")
    result = compare(model, engine_sample("border", deu_abscond=0.15),
                     reference_sample("border"))
    assert result.rejected, f"a tripled abscond hazard went unnoticed: {result.describe()}"


def test_power_against_a_wrong_travel_time() -> None:
    """The engine with 30 days on the way from H to D instead of 10 is told apart."""
    model = _model("border")
    result = compare(model, engine_sample("border", travel=30), reference_sample("border"))
    assert result.rejected, f"a tripled travel time went unnoticed: {result.describe()}"


def test_power_against_a_wrong_shock_abroad() -> None:
    """The engine with A's return shock multiplier 5 -> 2.5 is told apart."""
    model = _model("status")
    result = compare(model, engine_sample("status", home_shock=2.5), reference_sample("status"))
    assert result.rejected, f"a halved shock on returns went unnoticed: {result.describe()}"


def test_power_against_a_wrong_flag_share() -> None:
    """The engine with 70% instead of 40% of men eligible for humanitarian routes is told
    apart."""
    model = _model("status")
    result = compare(model, engine_sample("status", hum_share=0.7), reference_sample("status"))
    assert result.rejected, f"a wrong eligibility share went unnoticed: {result.describe()}"


def test_power_against_a_regularisation_without_its_cut_off() -> None:
    """The engine regularising everybody present in A (no cut-off date) is told apart from
    the reference, where only those present on the cut-off day are eligible."""
    data = copy.deepcopy(STATUS)
    del data["policies"][2]["country"]["settle_arrived_before"]
    scenario, _ = validate_data(data)
    result = compare(_model("status"), _engine(compile_scenario(scenario), {}),
                     reference_sample("status"))
    assert result.rejected, f"a regularisation of everybody went unnoticed: {result.describe()}"


@pytest.mark.parametrize("key", ["status", "returnees"])
def test_coupled_engine_matches_reference(key: str) -> None:
    """The coupled sampler (used by comparisons) follows the same model on the fourth
    edition's scenario (the eligible counted apart, their stayers drawn hypergeometrically by
    inverse CDF, shocks abroad and classes of movers) and with returnees kept apart (their
    own draws at their own keys); the same Bonferroni test, its own 1e-3 each."""
    model = _model(key)
    res = flowsim.simulate(model, replicates=N_ENGINE, seed=2024, record=recordable(model),
                           sampling="coupled")
    coupled = {v: res.dataset[v].values for v in recordable(model)}
    result = compare(model, coupled, reference_sample(key))
    assert not result.rejected, (
        f"the coupled engine and the reference differ in {', '.join(result.rejected)} "
        f"({result.describe()})")
