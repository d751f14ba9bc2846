"""Reference points measured in the same run: what vectorization buys, and people-steps/s.

* the per-replicate Python loop of ``benchmarks/scalar_loop.py``: the same model, rule for
  rule, stepped one replicate at a time with plain loops over cohorts, countries and routes
  and a scalar draw per count; its time per replicate divided by the vectorized block's is
  what vectorization buys;
* the same engine called once per replicate (a block of 1): what vectorization over
  replicates alone buys, the engine being vectorized over countries, routes and cohorts;
* the per-person reference simulator of ``tests/reference.py`` (one record per person,
  scalar Python), on the bundled scenario with every cohort scaled down: its people-steps
  per second, beside the engine's on the full-size scenario.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from flowsim.core.compile import compile_scenario
from flowsim.core.engine import run_block
from flowsim.core.samplers import ExactSampler

from .scalar_loop import run_replicate

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

SIZES = [(250, 20)]  # (replicates of the vectorized block, replicates of the loop)
TINY = (2, 2)


@pytest.mark.benchmark(group="reference points")
def test_vectorized_vs_loop(benchmark, bundled_scenario, size):
    block, loop = size
    model = compile_scenario(bundled_scenario)
    params = model.default_params(block)

    def vectorized() -> None:
        run_block(model, params, ExactSampler(np.random.default_rng(1)))

    benchmark.pedantic(vectorized, rounds=2, iterations=1)
    rng = np.random.default_rng(2)
    t0 = time.perf_counter()
    for i in range(loop):
        run_replicate(model, params[i], rng)
    scalar_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(loop):
        run_block(model, params[i:i + 1], ExactSampler(rng))
    loop_s = time.perf_counter() - t0
    if benchmark.stats is None:
        return
    per_rep_vec = benchmark.stats.stats.min / block
    benchmark.extra_info.update({
        "vectorized_replicates_per_s": 1 / per_rep_vec,
        "scalar_loop_replicates_per_s": loop / scalar_s,
        "vectorization_speedup": scalar_s / loop / per_rep_vec,
        "block_of_one_replicates_per_s": loop / loop_s,
        "speedup_over_blocks_of_one": loop_s / loop / per_rep_vec,
    })


PEOPLE = 20_000


@pytest.mark.benchmark(group="reference points")
def test_per_person_reference(benchmark, bundled_scenario, request):
    from reference import ReferenceSimulator

    from benchmarks.conftest import timing

    scale = PEOPLE / sum(int(k.population) for k in bundled_scenario.cohorts)
    cohorts = tuple(k.model_copy(update={"population": max(1, round(k.population * scale))})
                    for k in bundled_scenario.cohorts)
    small = bundled_scenario.model_copy(update={"cohorts": cohorts})
    if not timing(request.config):  # a few steps only, as a test
        cal = small.calendar.model_copy(update={"end": small.calendar.start.replace(
            month=small.calendar.start.month + 1)})
        small = small.model_copy(update={"calendar": cal})
    model = compile_scenario(small)
    sim = ReferenceSimulator(model)
    benchmark.pedantic(lambda: sim.run(seed=1), rounds=1, iterations=1)
    if benchmark.stats is None:
        return
    people = sum(int(k.population) for k in cohorts)
    benchmark.extra_info.update({
        "people": people,
        "steps": model.n_steps,
        "people_steps_per_s": people * model.n_steps / benchmark.stats.stats.min,
    })
