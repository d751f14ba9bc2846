"""The cost of coupled sampling on the toys (``flowsim.testing``), coupled vs exact.

The toys of ``tests/test_sampling.py``, over 52 weekly steps: a linear chain whose counts
take the exact inverse-CDF branch (variance below 100), one on the corrected normal branch,
the two-country swap, and the route with a quota (hypergeometric capacity selection every
step). Timed as ``test_coupled_cost.py`` times the bundled scenario (an exact run before
each coupled round, ``cost_ratio`` in ``extra_info``), for a block of the default size (250)
and a large one (10,000).

A toy's step is a handful of draws of a few hundred counts each, so in a block of 250 both
samplers spend most of their time in the Python-level overhead of each call, more of it in
the coupled sampler's (a keyed hash and a transform are a few dozen numpy calls, numpy's
binomial one); and the chain on the exact branch draws counts near 100 with variance below
100, for which the exact search runs about 100 terms per draw. The large block shows the
cost per draw. With the optional numba kernels (``flowsim.core.accel``) the hash, the
branching and the search are one compiled call each, which takes most of both away; the
quota route's hypergeometric quantile stays in scipy (see ``benchmarks/README.md``).
"""

from __future__ import annotations

import pytest

from benchmarks.test_coupled_cost import measure_coupled
from flowsim.core.compile import compile_scenario
from flowsim.testing import linear_chain, quota_route, two_country_swap

SIZES = [250, 10_000]
TINY = 2

TOYS = {
    "chain-exact-branch": lambda: linear_chain(N=1000, h=0.1, q=0.2, steps=52),
    "chain-normal-branch": lambda: linear_chain(N=200_000, h=0.05, q=0.1, steps=52),
    "two-country-swap": lambda: two_country_swap(N=5000, a=0.3, b=0.1, steps=52),
    "quota-route": lambda: quota_route(N1=300, N2=700, capacity=150, steps=52),
}


@pytest.mark.benchmark(group="coupled sampling, toys")
@pytest.mark.parametrize("toy", sorted(TOYS))
def test_coupled_vs_exact_toy(benchmark, toy, size):
    """One block of a toy on one core, coupled sampling against exact."""
    measure_coupled(benchmark, compile_scenario(TOYS[toy]().scenario), size, rounds=5)
