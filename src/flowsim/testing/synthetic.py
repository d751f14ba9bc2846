"""Synthetic scenarios of any size, for benchmarks and scaling tests."""

from __future__ import annotations

import datetime as dt
import itertools
import string

import numpy as np

from flowsim.scenario.model import Scenario

__all__ = ["synthetic_scenario"]


def _ids(n: int) -> list[str]:
    letters = string.ascii_uppercase
    ids = ("".join(p) for p in itertools.product(letters, repeat=3))
    return [i for i in ids if i != "ORG"][:n]


def synthetic_scenario(countries: int = 30, routes_per_country: float = 3.0, cohorts: int = 4,
                       weeks: int = 125, population: int = 10_000_000, seed: int = 0,
                       policies: int = 8) -> Scenario:
    """A random but plausible scenario with the given size.

    One origin with routes to about a third of the countries; every other country has
    ``routes_per_country`` routes out on average (a mix of regimes, some with capacities),
    every fourth country has an asylum system; a shock hits all cohorts after ten weeks and
    ``policies`` dated policies close routes or change issuance.

    Parameters
    ----------
    countries : int
        Countries besides the origin.
    routes_per_country : float
        Mean number of routes out of each country.
    cohorts : int
    weeks : int
        Length of the horizon in weeks.
    population : int
        People per cohort.
    seed : int
        Seed of the layout (not of the simulation).
    """
    rng = np.random.default_rng(seed)
    ids = _ids(countries)
    start = dt.date(2022, 1, 4)
    end = start + dt.timedelta(weeks=weeks) - dt.timedelta(days=1)
    regimes = ["visa_free", "visa_free", "e_visa", "visa_on_arrival", "visa_required"]
    cohort_names = [f"c{k}" for k in range(cohorts)]
    country_list = [{"id": "ORG", "name": "Origin", "roles": ["origin"]}]
    for i, cid in enumerate(ids):
        c = {
            "id": cid,
            "name": f"Country {cid}",
            "roles": ["transit", "destination"],
            "groups": ["west" if i % 3 == 0 else "near"],
            "attractiveness": float(rng.normal(1.0, 0.7)),
            "onward_hazard": float(rng.uniform(0.002, 0.02)),
            "return_hazard": float(rng.uniform(0.001, 0.01)),
            "settle_hazard": float(rng.uniform(0.0, 0.01)),
        }
        if i % 4 == 0:
            c["asylum"] = {"claim_hazard": 0.01, "processing_days": float(rng.uniform(60, 300)),
                           "recognition_rate": float(rng.uniform(0.1, 0.6)),
                           "capacity": int(rng.integers(50, 500))}
        country_list.append(c)
    routes = []
    seen = set()
    n_origin = max(1, countries // 3)
    for cid in rng.choice(ids, size=n_origin, replace=False):
        seen.add(("ORG", str(cid)))
        routes.append({"from": "ORG", "to": str(cid), "mode": "air",
                       "regime": str(rng.choice(regimes)), "cost": float(rng.uniform(0, 2)),
                       "issuance": 0.6, "delay_days": 21,
                       "documents": "internal" if rng.random() < 0.2 else "international"})
    n_other = round(routes_per_country * (countries + 1)) - len(routes)
    while n_other > 0:
        a, b = (str(x) for x in rng.choice(ids, size=2, replace=False))
        if (a, b) in seen:
            continue
        seen.add((a, b))
        r = {"from": a, "to": b, "mode": "land", "regime": str(rng.choice(regimes)),
             "cost": float(rng.uniform(0, 2)), "issuance": 0.5, "delay_days": 30}
        if rng.random() < 0.1:
            r["capacity"] = int(rng.integers(10, 1000))
        routes.append(r)
        n_other -= 1
    pol = []
    for j in range(policies):
        r = routes[int(rng.integers(len(routes)))]
        d = start + dt.timedelta(weeks=int(rng.integers(5, max(6, weeks - 5))))
        pol.append({"name": f"p{j}", "start": d,
                    "select": {"from": r["from"], "to": r["to"]},
                    "route": {"regime": "closed"} if j % 2 else {"issuance": 0.2}})
    data = {
        "name": f"synthetic-{countries}",
        "calendar": {"start": start, "end": end, "step": "week"},
        "countries": country_list,
        "routes": routes,
        "cohorts": [{"name": n, "population": population,
                     "baseline_hazard": float(rng.uniform(1e-4, 1e-3)),
                     "international_passport": float(rng.uniform(0.3, 1.0))}
                    for n in cohort_names],
        "shocks": [{"name": "shock", "date": start + dt.timedelta(weeks=min(10, weeks - 1)),
                    "multiplier": 8.0, "half_life_days": 30}],
        "policies": pol,
    }
    return Scenario.model_validate(data)
