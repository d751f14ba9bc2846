"""Engine speed on synthetic graphs of 10, 100 and 1,000 countries (about 3 routes each)."""

from __future__ import annotations

import pytest

from flowsim.core.compile import compile_scenario
from flowsim.testing.synthetic import synthetic_scenario

from .test_engine_speed import _measure

# (countries, replicates): fewer replicates on the big graphs keep a round near a second
SIZES = [(10, 250), (100, 100), (1000, 10)]
TINY = (10, 2)


@pytest.fixture(scope="module")
def models():
    return {}


@pytest.mark.benchmark(group="synthetic graphs")
def test_synthetic(benchmark, models, size):
    countries, replicates = size
    if countries not in models:
        models[countries] = compile_scenario(
            synthetic_scenario(countries=countries, routes_per_country=3.0, cohorts=4,
                               weeks=125 if countries < 1000 else 52))
    _measure(benchmark, models[countries], replicates)
