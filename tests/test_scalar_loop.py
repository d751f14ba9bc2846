"""The per-replicate Python loop of the benchmarks (``benchmarks/scalar_loop.py``) is the
engine's model: the same distribution of departures and stocks.

Engine and loop each simulate 300 replicates of a toy scenario (fixed seeds) whose two
cohorts prefer different destinations (Georgia for one, Armenia for the other), so that a
mix-up of cohorts anywhere in a step shows. For each cohort's departures and its stock in
each country at the end, a two-sample z-test compares the means and an F-test the
variances; with Bonferroni over the 24 tests, the chance that the test fails although both
are the same model is at most 0.001. A second variant adds people abroad at the start,
settled people who move on or return, and a network effect (its own 0.001).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.stats as st

from benchmarks.scalar_loop import run_replicate
from conftest import base_data
from flowsim.core.compile import compile_scenario
from flowsim.core.engine import run_block
from flowsim.core.samplers import ExactSampler
from flowsim.scenario import validate_data

N = 300
ALPHA = 1e-3


def _cohorts_apart() -> dict[str, Any]:
    """The toy scenario, with each cohort preferring its own destination."""
    data = base_data()
    prefer = {"GEO": {"default": -1.0, "men": 1.5}, "ARM": {"default": 1.5, "men": -1.0}}
    for country in data["countries"]:
        if country["id"] in prefer:
            country["attractiveness"] = prefer[country["id"]]
    return data


def _abroad(data: dict[str, Any]) -> dict[str, Any]:
    """People abroad at the start, settled people who move on or return, a network effect."""
    extra = {
        "GEO": {"initial": {"men": {"present": 4000, "settled": 3000}},
                "settled_onward_hazard": 0.05},
        "DEU": {"initial": {"rest": {"pending": 2000, "settled": 1000}},
                "settled_return_hazard": 0.03, "settled_onward_hazard": 0.02,
                "network": {"weight": 0.6, "scale": 2000}},
    }
    for country in data["countries"]:
        country.update(extra.get(country["id"], {}))
    return data


@pytest.mark.parametrize("variant", ["base", "abroad"])
def test_scalar_loop_is_the_engines_model(variant: str) -> None:
    data = _cohorts_apart() if variant == "base" else _abroad(_cohorts_apart())
    model = compile_scenario(validate_data(data)[0])
    params = model.default_params(N)
    engine = run_block(model, params, ExactSampler(np.random.default_rng(1)),
                       ("departures", "stock"))
    rng = np.random.default_rng(2)
    loop = [run_replicate(model, params[i], rng) for i in range(N)]
    stats = {
        "departures": (engine["departures"].sum(axis=1),
                       np.array([r["departures"].sum(axis=0) for r in loop])),
        "end stock": (engine["stock"][:, -1].reshape(N, -1),
                      np.array([r["stock"][-1].ravel() for r in loop])),
    }
    tests = sum(2 * a.shape[1] for a, _ in stats.values())
    z_crit = st.norm.isf(ALPHA / tests / 2)
    f_lo, f_hi = st.f.ppf([ALPHA / tests / 2, 1 - ALPHA / tests / 2], N - 1, N - 1)
    for name, (a, b) in stats.items():
        for j in range(a.shape[1]):
            va, vb = a[:, j].var(ddof=1), b[:, j].var(ddof=1)
            assert va > 0 and vb > 0, (name, j)
            z = (a[:, j].mean() - b[:, j].mean()) / np.sqrt((va + vb) / N)
            assert abs(z) < z_crit, (name, j, z)
            assert f_lo < va / vb < f_hi, (name, j, va / vb)
