"""Throughput with local worker processes, and the engine's peak memory per block.

Both worker counts are timed in the same session so their ratio is meaningful; the target is
two workers at least 1.7x one worker on a 2-core machine.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import flowsim
from flowsim.core.compile import compile_scenario
from flowsim.core.engine import run_block
from flowsim.core.samplers import ExactSampler

SIZES = [2000]
TINY = 4

_timings: dict[tuple[int, int], float] = {}


@pytest.mark.benchmark(group="workers")
@pytest.mark.parametrize("workers", [1, 2])
def test_workers(benchmark, bundled_scenario, size, workers):
    model = compile_scenario(bundled_scenario)
    block = 250 if size >= 1000 else 2

    def run() -> None:
        flowsim.simulate(model, replicates=size, seed=1, workers=workers, block_size=block,
                         record=("departures",))

    benchmark.pedantic(run, rounds=2, iterations=1)
    if benchmark.stats is None:
        return
    _timings[(size, workers)] = benchmark.stats.stats.min
    benchmark.extra_info["replicates_per_s"] = size / benchmark.stats.stats.min
    if (size, 1) in _timings and workers == 2:
        benchmark.extra_info["speedup_vs_1_worker"] = _timings[(size, 1)] / _timings[(size, 2)]


MEMORY_SIZES = [50, 250, 1000]


@pytest.mark.benchmark(group="memory")
@pytest.mark.parametrize("block", MEMORY_SIZES)
def test_block_memory(benchmark, bundled_scenario, block, request):
    """Peak memory allocated while simulating one block (tracemalloc), by block size."""
    from benchmarks.conftest import timing

    if not timing(request.config) and block != MEMORY_SIZES[0]:
        pytest.skip("memory grid is only measured when timing")
    model = compile_scenario(bundled_scenario)
    params = model.default_params(block if timing(request.config) else 2)

    def run() -> int:
        tracemalloc.start()
        run_block(model, params, ExactSampler(np.random.default_rng(1)))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    peak = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info["peak_bytes"] = peak
    benchmark.extra_info["peak_bytes_per_replicate"] = peak / params.shape[0]
