"""Engine speed and memory on synthetic graphs of 10 to 10,000 countries (about 3 routes each).

Each size runs with the route sums of :class:`flowsim.core.sums.ChainSums` as the engine
chooses them (``auto``: dense matrices up to 500 routes, segmented sums above) and, at 100
and 1,000 countries, with the other kind forced (``dense``: the route × route and route ×
country matrices every graph used before issue 17), so that one run gives both sides. The
dense sums of 10,000 countries need about 11 GB: ``python benchmarks/memory_bound.py
--synthetic 10000 --dense`` measures them on their own. The origin of these graphs has a
route to a third of the countries (333 at 1,000, 3,333 at 10,000): beyond
:data:`~flowsim.core.route_tree.CHAIN_POSITIONS` its routes go through the route tree, and
``chain`` runs the same graphs with the chain over every position instead (one draw per
route position, as before the tree), the other side of that change. Besides the floor
ratio, ``extra_info`` holds the route-choice draws per step and the block's peak traced
memory (tracemalloc, outside the timer) per replicate.

The floor ratio divides by the time of the engine's own draws, calls included: the chain's
thousands of one-route draws a step cost the floor their call overhead too, so that the
tree, which makes about as many binomial draws in a dozen calls, lowers the floor with the
engine and the ratio rises less than the time falls (replicates per second tell the rest).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from flowsim.core import epochs
from flowsim.core.compile import compile_scenario
from flowsim.core.engine import run_block
from flowsim.core.epochs import BlockEpochs
from flowsim.core.samplers import ExactSampler
from flowsim.core.sums import ChainSums
from flowsim.testing.synthetic import synthetic_scenario

from .test_engine_speed import _measure

# (countries, replicates, variant): fewer replicates on the big graphs keep a round near a
# second; the variant is the route sums forced ("dense", "segmented") or the route chain over
# every position ("chain"), "auto" the engine's own choice
SIZES = [(10, 250, "auto"), (100, 100, "auto"), (100, 100, "segmented"), (1000, 10, "auto"),
         (1000, 10, "dense"), (1000, 10, "chain"), (10_000, 10, "auto"),
         (10_000, 10, "chain")]
TINY = (10, 2, "auto")


def _weeks(countries: int) -> int:
    return 125 if countries < 1000 else 52 if countries < 10_000 else 26


@pytest.fixture(scope="module")
def models():
    return {}


@pytest.mark.benchmark(group="synthetic graphs")
def test_synthetic(benchmark, models, size, monkeypatch):
    countries, replicates, variant = size
    if variant in ("dense", "segmented"):
        limit = np.iinfo(np.int64).max if variant == "dense" else 0
        monkeypatch.setattr(ChainSums, "DENSE_LIMIT", limit)
    if variant == "chain":
        monkeypatch.setattr(epochs, "CHAIN_POSITIONS", np.iinfo(np.int64).max)
    if countries not in models:
        models[countries] = compile_scenario(
            synthetic_scenario(countries=countries, routes_per_country=3.0, cohorts=4,
                               weeks=_weeks(countries)))
    model = models[countries]
    _measure(benchmark, model, replicates)
    if benchmark.stats is None:
        return
    params = model.default_params(replicates)
    derived = BlockEpochs(model, params[:1])
    tracemalloc.start()
    run_block(model, params, ExactSampler(np.random.default_rng(1)))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    benchmark.extra_info.update({
        "sums": "dense" if model.n_routes * max(model.n_routes, model.n_countries)
        <= ChainSums.DENSE_LIMIT else "segmented",
        "max_out_degree": int(model.route_position.max()) + 1,
        "route_draws_per_step": len(derived.chain) + derived.tree.draws,
        "peak_mb": peak / 2**20,
        "peak_mb_per_replicate": peak / 2**20 / replicates,
    })
