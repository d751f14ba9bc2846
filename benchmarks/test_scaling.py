"""How the engine's time grows with steps, cohorts and replicates.

A synthetic scenario of the bundled scenario's size (30 countries, about 3 routes each)
varies one dimension at a time: weeks 26 … 208 and cohorts 1 … 8 (one block of 100
replicates, with its floor ratio), and replicates 10² … 10⁴ of a whole run (streamed, one
worker, so that memory stays that of a block). Larger runs, to 10⁶, are measured by
``test_streaming_memory.py`` and ``memory_bound.py``. Time should grow linearly in each.
"""

from __future__ import annotations

import time

import pytest

import flowsim
from flowsim.core.compile import compile_scenario
from flowsim.testing.synthetic import synthetic_scenario

from .conftest import timing
from .test_engine_speed import _measure

WEEKS = [26, 52, 104, 208]
COHORTS = [1, 2, 4, 8]
REPLICATES = [100, 1_000, 10_000]
BLOCK = 100


def _only_smallest(request: pytest.FixtureRequest, value: int, grid: list[int]) -> None:
    if not timing(request.config) and value != grid[0]:
        pytest.skip("the scaling grid is only measured when timing")


@pytest.mark.benchmark(group="scaling: steps")
@pytest.mark.parametrize("weeks", WEEKS)
def test_steps(benchmark, weeks, request):
    _only_smallest(request, weeks, WEEKS)
    model = compile_scenario(synthetic_scenario(countries=30, cohorts=4, weeks=weeks))
    _measure(benchmark, model, BLOCK if timing(request.config) else 2)
    if benchmark.stats is not None:
        benchmark.extra_info["replicate_steps_per_s"] = (
            BLOCK * model.n_steps / benchmark.stats.stats.min)


@pytest.mark.benchmark(group="scaling: cohorts")
@pytest.mark.parametrize("cohorts", COHORTS)
def test_cohorts(benchmark, cohorts, request):
    _only_smallest(request, cohorts, COHORTS)
    model = compile_scenario(synthetic_scenario(countries=30, cohorts=cohorts, weeks=104))
    _measure(benchmark, model, BLOCK if timing(request.config) else 2)


@pytest.mark.benchmark(group="scaling: replicates")
@pytest.mark.parametrize("replicates", REPLICATES)
def test_replicates(benchmark, replicates, request, tmp_path):
    _only_smallest(request, replicates, REPLICATES)
    n = replicates if timing(request.config) else 20
    scenario = synthetic_scenario(countries=30, cohorts=4, weeks=104)

    def run() -> float:
        t0 = time.perf_counter()
        flowsim.stream(scenario, tmp_path / "run.nc", replicates=n, seed=1).close()
        return time.perf_counter() - t0

    wall = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update({"replicates": n, "replicates_per_s": n / wall})
