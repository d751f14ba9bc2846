"""The cost of coupled sampling: a block of the bundled scenario, coupled vs exact.

Coupled sampling (:mod:`flowsim.sampling`) draws every count from a keyed uniform through a
monotone transform, which is what paired comparisons need (common random numbers), instead
of numpy's exact samplers. Inputs (the compiled model, the parameter matrix) are built
outside the timer; the exact run is timed the same way (best of three) right after, and
``extra_info`` keeps both and their ratio.

When written (one core of the development machine, block of 250 replicates, 126 weekly
steps): exact 3.6 s, coupled 11.3 s, ratio 3.1. Under a profiler, half of the coupled run is
the exact inverse-CDF branch of ``binomial_icdf`` (a sequential search from 0, whose loop
runs up to the largest count drawn with variance below 100), a sixth the per-element
``scipy.stats.hypergeom.ppf`` calls of capacity selection, and a twelfth the keyed uniforms.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from flowsim.core.compile import compile_scenario
from flowsim.core.engine import run_block
from flowsim.core.samplers import CoupledSampler, ExactSampler

SIZES = [250]
TINY = 2


def _best_of(run, rounds: int = 3) -> float:
    best = np.inf
    for _ in range(rounds):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best


@pytest.mark.benchmark(group="coupled sampling")
def test_coupled_vs_exact_block(benchmark, bundled_scenario, size):
    """One block of the bundled Russia 2022 scenario on one core, coupled sampling."""
    model = compile_scenario(bundled_scenario)
    params = model.default_params(size)

    def coupled() -> None:
        run_block(model, params, CoupledSampler(12345, np.arange(size)))

    def exact() -> None:
        run_block(model, params, ExactSampler(np.random.default_rng(1)))

    benchmark.pedantic(coupled, rounds=3, iterations=1, warmup_rounds=0)
    if benchmark.stats is None:  # untimed run (the test suite): nothing to report
        return
    coupled_s = benchmark.stats.stats.min
    exact_s = _best_of(exact)
    benchmark.extra_info.update({
        "replicates": size,
        "steps": model.n_steps,
        "routes": model.n_routes,
        "cohorts": model.n_cohorts,
        "coupled_s": coupled_s,
        "exact_s": exact_s,
        "cost_ratio": coupled_s / exact_s,
        "coupled_replicates_per_s": size / coupled_s,
        "exact_replicates_per_s": size / exact_s,
    })
