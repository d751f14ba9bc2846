"""Reference points measured in the same run: what vectorization buys, and people-steps/s.

* the per-replicate loop: the same engine called once per replicate (a block of 1), as a
  straightforward loop over replicates would; its time per replicate divided by the
  vectorized block's is what vectorization over replicates buys;
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

from flowsim.compile import compile_scenario
from flowsim.engine import ExactSampler, run_block

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
    t0 = time.perf_counter()
    rng = np.random.default_rng(2)
    for i in range(loop):
        run_block(model, params[i:i + 1], ExactSampler(rng))
    loop_s = time.perf_counter() - t0
    if benchmark.stats is None:
        return
    per_rep_vec = benchmark.stats.stats.min / block
    per_rep_loop = loop_s / loop
    benchmark.extra_info.update({
        "vectorized_replicates_per_s": 1 / per_rep_vec,
        "loop_replicates_per_s": 1 / per_rep_loop,
        "vectorization_speedup": per_rep_loop / per_rep_vec,
    })


PEOPLE = 20_000


@pytest.mark.benchmark(group="reference points")
def test_per_person_reference(benchmark, bundled_scenario, request):
    from benchmarks.conftest import timing
    from reference import ReferenceSimulator

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
