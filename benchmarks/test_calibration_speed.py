"""Speed of calibration: simulations (particles × replicates) per second in ABC-SMC.

The scenario is a synthetic one of the bundled scenario's size (30 countries, 4 cohorts,
125 weeks) given priors on its cohort hazards, shock multiplier and deterrence, with
targets taken from a run at the declared values. Each benchmark runs a short ABC-SMC
(``GENERATIONS`` generations) and stores in ``extra_info`` the simulations per second and the
ratio of that to a plain :func:`flowsim.simulate` of as many replicates (the cost of the ABC
machinery: proposals, kernel densities, the per-block reduction to observables in the
workers, and the one process pool kept for the whole calibration).
"""

from __future__ import annotations

import functools
import time

import numpy as np
import pytest

import flowsim
from flowsim.calibration import TargetSet, abc_smc
from flowsim.core.compile import compile_scenario
from flowsim.scenario.model import Scenario
from flowsim.testing.synthetic import synthetic_scenario

# size = particles per generation
SIZES = [200, 1000]
TINY = 10
GENERATIONS = 3


@functools.cache
def calibration_scenario(countries: int = 30, weeks: int = 125) -> Scenario:
    """A synthetic scenario with priors on 6 parameters and 4 targets from a default run."""
    base = synthetic_scenario(countries=countries, weeks=weeks, population=1_000_000)
    data = base.to_data()
    params = {}
    for c in data["cohorts"]:
        name = f"h_{c['name']}"
        h = float(c["baseline_hazard"])
        params[name] = {"value": h, "prior": {"dist": "loguniform", "low": h / 4, "high": h * 4}}
        c["baseline_hazard"] = name
    data["shocks"][0]["multiplier"] = "shock"
    params["shock"] = {"value": 8.0, "prior": {"dist": "uniform", "low": 2.0, "high": 16.0}}
    data.setdefault("behaviour", {})["deterrence"] = "deterrence"
    params["deterrence"] = {"value": 0.5, "prior": {"dist": "beta", "a": 2, "b": 2}}
    data["parameters"] = params
    start, end = base.calendar.start, base.calendar.end
    mid = start + (end - start) / 2
    common = {"kind": "about", "tolerance": 0.1, "source": "benchmark"}
    targets = [
        {"id": "dep_first_half", "observable": "departures", "start": start, "end": mid},
        {"id": "dep_second_half", "observable": "departures", "start": mid, "end": end},
        {"id": "dep_c0", "observable": "departures", "cohorts": ["c0"], "start": start,
         "end": end},
        {"id": "abroad_end", "observable": "abroad", "at": end},
    ]
    scenario = Scenario.model_validate({**data, "targets": [{**t, **common, "value": 1.0}
                                                            for t in targets]})
    ts = TargetSet.build(scenario.targets, scenario)
    res = flowsim.simulate(scenario, 50, seed=0, record=ts.record)
    figures = np.median(ts.observe(res), axis=0)
    return Scenario.model_validate({**data, "targets": [
        {**t, **common, "value": float(v)} for t, v in zip(targets, figures, strict=True)]})


@pytest.mark.benchmark(group="calibration")
@pytest.mark.parametrize("method", ["pmc", "mcmc"])
@pytest.mark.parametrize("workers", [1, 2])
def test_abc_smc_throughput(benchmark, size, workers, method, request):
    """Simulations per second of a short ABC-SMC run on a bundled-size synthetic scenario."""
    from benchmarks.conftest import timing

    if not timing(request.config) and workers != 1:
        pytest.skip("the worker grid is only measured when timing")
    scenario = calibration_scenario()
    model = compile_scenario(scenario)
    posts = []

    def run() -> None:
        posts.append(abc_smc(scenario, population=size, budget=10**9, method=method,
                             generations_max=GENERATIONS, seed=1, workers=workers))

    benchmark.pedantic(run, rounds=1, iterations=1, warmup_rounds=0)
    post = posts[-1]
    assert post.size == size and len(post.generations) >= 1
    if benchmark.stats is None:  # untimed run (the test suite): nothing to report
        return
    wall = benchmark.stats.stats.min
    sims = post.generations[-1].total_simulations
    t0 = time.perf_counter()
    flowsim.simulate(model, replicates=sims, seed=2, workers=workers,
                     params=post.sample(sims, seed=3), record=TargetSet.build(
                         scenario.targets, scenario).record)
    plain = time.perf_counter() - t0
    benchmark.extra_info.update({
        "particles": size,
        "workers": workers,
        "method": method,
        "generations": len(post.generations),
        "simulations": sims,
        "simulations_per_s": sims / wall,
        "plain_simulate_per_s": sims / plain,
        "overhead_ratio": wall / plain,
        "acceptance_rates": [round(g.acceptance_rate, 3) for g in post.generations],
        "rounds": sum(g.rounds for g in post.generations),
    })
