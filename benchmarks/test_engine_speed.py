"""Speed of the engine core: replicates per second, and the ratio to the binomial floor.

Inputs (scenarios, compiled models, parameter matrices) are built outside the timer. Each
benchmark stores its derived figures (replicates/s, people-steps/s, floor ratio) in
``extra_info`` so that saved runs in ``benchmarks/results/`` can be compared.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from flowsim.core.compile import compile_scenario
from flowsim.core.engine import run_block
from flowsim.core.samplers import ExactSampler

from .conftest import BUNDLED

BLOCK = 250


class RecordingSampler(ExactSampler):
    """Keeps a copy of the arguments of every draw, to replay them as the floor."""

    def __init__(self, rng: np.random.Generator) -> None:
        super().__init__(rng)
        self.binomials: list[tuple[np.ndarray, np.ndarray]] = []
        self.hypergeometrics: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def binomial(self, n, p, site, index=None):
        self.binomials.append((np.array(n), np.array(p)))
        return super().binomial(n, p, site, index)

    def hypergeometric(self, good, bad, nsample, site, index=None):
        self.hypergeometrics.append((np.array(good), np.array(bad), np.array(nsample)))
        return super().hypergeometric(good, bad, nsample, site, index)


def floor_seconds(draws: RecordingSampler, seed: int = 0) -> float:
    """Time numpy needs for exactly the engine's draws (same arrays, same call shapes)."""
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    for n, p in draws.binomials:
        rng.binomial(n, p)
    for g, b, s in draws.hypergeometrics:
        rng.hypergeometric(g, b, s)
    return time.perf_counter() - t0


def _measure(benchmark, model, replicates: int, params: np.ndarray | None = None) -> None:
    params = model.default_params(replicates) if params is None else params
    recorder = RecordingSampler(np.random.default_rng(1))
    run_block(model, params, recorder)  # outside the timer: the draws to replay
    n_draws = sum(np.size(n) for n, _ in recorder.binomials)

    def engine() -> None:
        run_block(model, params, ExactSampler(np.random.default_rng(1)))

    # the floor is timed just before each engine round (pedantic's untimed setup), so that
    # the two minima come from the same minutes of a machine whose speed drifts
    floors: list[float] = []

    def floor() -> None:
        if not benchmark.disabled:  # the untimed run of the test suite needs none
            floors.append(floor_seconds(recorder, len(floors)))

    benchmark.pedantic(engine, setup=floor, rounds=3, iterations=1, warmup_rounds=0)
    if benchmark.stats is None:  # untimed run (the test suite): nothing to report
        return
    engine_s = benchmark.stats.stats.min
    floor_s = min(floors)
    people_steps = float(model.population.values(params).sum()) * model.n_steps
    benchmark.extra_info.update({
        "replicates": replicates,
        "countries": model.n_countries,
        "routes": model.n_routes,
        "cohorts": model.n_cohorts,
        "steps": model.n_steps,
        "replicates_per_s": replicates / engine_s,
        "binomial_draws": n_draws,
        "floor_s": floor_s,
        "floor_ratio": engine_s / floor_s,
        "people_steps_per_s": people_steps / engine_s,
    })


# -- the bundled scenario ---------------------------------------------------------------------

SIZES = [BLOCK]
TINY = 2


@pytest.mark.benchmark(group="bundled scenario")
def test_bundled_block(benchmark, bundled_scenario, size):
    """One block of the bundled Russia 2022 scenario on one core, every replicate with the
    declared parameters (the engine computes each epoch's quantities once for the block)."""
    _measure(benchmark, compile_scenario(bundled_scenario), size)


@pytest.mark.benchmark(group="bundled scenario")
def test_bundled_block_prior_draws(benchmark, bundled_scenario, size):
    """The same block with every replicate's parameters drawn from the priors (as in a
    calibration): no quantity of an epoch is shared between replicates."""
    from flowsim.calibration.priors import JointPrior

    model = compile_scenario(bundled_scenario)
    prior = JointPrior.from_scenario(bundled_scenario)
    params = prior.full(prior.sample(size, np.random.default_rng(0)))
    _measure(benchmark, model, size, params)


# -- the other shipped cases: the model's later mechanisms on ----------------------------------

#: Shipped scenarios that use the mechanisms the bundled one leaves off: people abroad at the
#: start, network effects, moves on through transit countries (``via``), interception and a
#: quota programme (Syria 2015); statuses that are not absorbing, deterrence abroad, shocks
#: on hazards abroad, schedules and a share of a cohort holding an eligibility (Venezuela
#: 2015). Their floor ratio is the engine's cost with those mechanisms on.
SHIPPED = ["syria-2015", "venezuela-2015"]


@pytest.mark.benchmark(group="shipped cases")
@pytest.mark.parametrize("case", SHIPPED)
def test_shipped_case_block(benchmark, case, size):
    """One block of a shipped case on one core, every replicate with the declared
    parameters, with the floor ratio (as ``test_bundled_block``)."""
    import flowsim

    scenario = flowsim.load_scenario(BUNDLED.parent / f"{case}.yaml")
    _measure(benchmark, compile_scenario(scenario), size)
