"""The coupled sampler (:mod:`flowsim.sampling`): right distributions, monotone, reproducible.

Coupled sampling gives paired comparisons their common random numbers; it is only worth
having if each of its draws is still a draw from the distribution the exact sampler uses.

Goodness of fit. For a grid of ``(n, p)`` covering the exact inverse-CDF branch of
``binomial_icdf`` (variance below :data:`~flowsim.sampling.EXACT_VARIANCE`), its corrected
normal branch, and ``p > 1/2`` (drawn by symmetry) on both, ``M`` = 20,000 draws are made
through :class:`~flowsim.sampling.CoupledSampler` (keyed uniforms, as in the engine) and
compared with the binomial probabilities, which is exactly what the exact sampler (numpy's
``Generator.binomial``) draws from: a one-sample chi-square test on consecutive counts merged
until every bin expects at least ``MIN_EXPECTED`` = 20 draws (the statistic is then close to
chi-square with ``bins - 1`` degrees of freedom). The test fails if any cell's p-value is
below ``ALPHA / cells`` with ``ALPHA`` = 1e-3 (Bonferroni): a correct sampler fails this test
with probability at most 1e-3. Seeds are fixed, so the outcome is reproducible. Power: the
same test rejects draws made with ``p`` 1% too high (p-values below 1e-68 when written).

The p-values when written (key 20240601), by cell: exact branch 0.27, 0.72, 0.081, 0.051,
0.45, 0.13, 0.76; normal branch 0.76, 0.12, 0.90, 0.91, 0.42; p > 1/2 0.19, 0.067, 0.77,
0.96 (smallest 0.051, on (400, 0.2)). A deterministic check complements them: the
distribution function of the transform itself, found by bisection in ``u``, is within 1e-9
of the binomial's on the exact branch (round-off: 1.3e-10 at worst, for n = 10**7) and
within 1e-4 on the normal one (7.2e-5 at worst on the grid, at the branch switch), far below
the 1e-3 the module docstring promises.

Monotone in ``u`` (what common random numbers rest on) is tested, with results in [0, n].
Not asserted, because it does not hold: monotone in ``p`` or ``n``. It does within each
branch, but where a growing ``p`` or ``n`` moves a draw from the exact branch to the normal
one the count can drop by 1 (for 0.15% of uniforms near the switch when written, e.g.
``n`` 10,101 -> 10,102 at ``p`` = 0.01, ``u`` = 0.00288: 75 -> 74).
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import flowsim
from flowsim.core.samplers import EXACT_VARIANCE, CoupledSampler, binomial_icdf, keyed_uniform
from flowsim.testing import linear_chain, quota_route, two_country_swap

ALPHA = 1e-3
MIN_EXPECTED = 20.0
M = 20_000
SEED_KEY = 20240601

# (n, p): exact branch, normal branch, and p > 1/2 (symmetry) on each
EXACT = [(1, 0.3), (10, 0.3), (60, 0.05), (400, 0.2), (5000, 0.004), (300, 0.5),
         (10**7, 1e-6)]
NORMAL = [(500, 0.3), (404, 0.5), (2000, 0.1), (10**5, 0.02), (10**6, 0.37)]
FLIPPED = [(30, 0.8), (1000, 0.9), (2000, 0.7), (10**6, 0.999)]
GRID = EXACT + NORMAL + FLIPPED


def _variance(n: int, p: float) -> float:
    return n * p * (1.0 - p)


def test_the_grid_covers_both_branches_and_the_symmetry() -> None:
    assert all(_variance(n, p) < EXACT_VARIANCE and p <= 0.5 for n, p in EXACT)
    assert all(_variance(n, p) >= EXACT_VARIANCE and p <= 0.5 for n, p in NORMAL)
    flipped = [_variance(n, p) < EXACT_VARIANCE for n, p in FLIPPED]
    assert all(p > 0.5 for _, p in FLIPPED) and any(flipped) and not all(flipped)


def coupled_draws(n: int, p: float, site: int, size: int = M, key: int = SEED_KEY
                  ) -> np.ndarray:
    """``size`` draws through the engine's path: one per replicate, keyed uniforms."""
    sampler = CoupledSampler(key, np.arange(size))
    sampler.start_step(3)
    return sampler.binomial(np.full((size, 1), n, dtype=np.int64), p, site)[:, 0]


def chi2_gof(x: np.ndarray, pmf: np.ndarray) -> tuple[float, int, float]:
    """Chi-square test of integer draws ``x`` against probabilities ``pmf`` over 0..n.

    Consecutive values are merged until each bin expects at least ``MIN_EXPECTED`` draws
    (a short remainder joins the last bin). Returns (statistic, degrees of freedom, p-value).
    """
    expected = pmf * x.size
    edges, acc = [0], 0.0
    for k, e in enumerate(expected):
        acc += e
        if acc >= MIN_EXPECTED and k + 1 < expected.size:
            edges.append(k + 1)
            acc = 0.0
    if acc < MIN_EXPECTED and len(edges) > 1:
        edges.pop()
    observed = np.add.reduceat(np.bincount(x, minlength=pmf.size).astype(float), edges)
    exp_b = np.add.reduceat(expected, edges)
    exp_b *= x.size / exp_b.sum()  # the pmf's round-off
    df = len(edges) - 1
    stat = float(((observed - exp_b) ** 2 / exp_b).sum())
    return stat, df, float(stats.chi2.sf(stat, df)) if df > 0 else 1.0


def _pmf(n: int, p: float) -> np.ndarray:
    return stats.binom.pmf(np.arange(n + 1), n, p)


def test_marginals_match_the_binomial() -> None:
    threshold = ALPHA / len(GRID)
    found = {}
    for site, (n, p) in enumerate(GRID):
        x = coupled_draws(n, p, site)
        assert x.min() >= 0 and x.max() <= n
        found[(n, p)] = chi2_gof(x, _pmf(n, p))[2]
    failed = {k: v for k, v in found.items() if v < threshold}
    assert not failed, f"p-values below {threshold:.1e}: {failed}"


def test_the_goodness_of_fit_test_has_power() -> None:
    """Draws with ``p`` 1% too high are rejected (on both branches)."""
    for site, (n, p) in enumerate([(2000, 0.1), (1000, 0.05)]):
        x = coupled_draws(n, p * 1.01, 100 + site, size=4 * M)
        assert chi2_gof(x, _pmf(n, p))[2] < ALPHA / len(GRID)


def _transform_cdf(n: int, p: float, ks: np.ndarray) -> np.ndarray:
    """P(binomial_icdf(n, p, U) <= k) for uniform U: the largest u giving a count <= k,
    found by bisection (the transform is non-decreasing in u)."""
    lo, hi = np.zeros(ks.shape), np.full(ks.shape, 1.0 - 2.0**-53)
    for _ in range(64):
        mid = (lo + hi) / 2
        below = binomial_icdf(np.full(ks.shape, n), np.full(ks.shape, p), mid) <= ks
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return lo


@pytest.mark.parametrize(("n", "p"), GRID, ids=[f"{n}-{p}" for n, p in GRID])
def test_the_transform_has_the_binomial_distribution_function(n: int, p: float) -> None:
    mean, sd = n * p, np.sqrt(_variance(n, p))
    ks = np.arange(max(0, int(mean - 9 * sd) - 1), min(n, int(mean + 9 * sd) + 2))
    gap = np.abs(_transform_cdf(n, p, ks) - stats.binom.cdf(ks, n, p)).max()
    tolerance = 1e-9 if _variance(n, p) < EXACT_VARIANCE else 1e-4
    assert gap < tolerance


def test_edge_cases() -> None:
    u = np.array([1e-12, 0.3, 0.999999])
    np.testing.assert_array_equal(binomial_icdf(0, 0.4, u), [0, 0, 0])
    np.testing.assert_array_equal(binomial_icdf(50, 0.0, u), [0, 0, 0])
    np.testing.assert_array_equal(binomial_icdf(50, 1.0, u), [50, 50, 50])
    # huge n with tiny p (exact branch) and n beyond 32 bits (normal branch)
    assert binomial_icdf(10**9, 1e-9, 0.5) == stats.binom.ppf(0.5, 10**9, 1e-9)
    assert 0 <= binomial_icdf(2**40, 0.3, 0.999) <= 2**40


@pytest.mark.parametrize("p_shape", [(1, 5, 3), (7, 5, 3), (1, 5, 1), (7, 1, 3), (), (3,)])
def test_broadcast_probabilities_give_the_elementwise_counts(p_shape) -> None:
    """Whatever shape the probabilities broadcast from (one per replicate, shared along
    the leading axes, or along a middle one), each count is that of its own (n, p, u)."""
    rng = np.random.default_rng(11)
    n = rng.integers(0, 400, (7, 5, 3))
    p = rng.random(p_shape) ** 2
    u = rng.random(n.shape)
    got = binomial_icdf(n, p, u)
    full_p = np.broadcast_to(p, n.shape)
    expected = [binomial_icdf(np.array([a]), np.array([b]), np.array([c]))[0]
                for a, b, c in zip(n.ravel(), full_p.ravel(), u.ravel(), strict=True)]
    np.testing.assert_array_equal(got.ravel(), expected)


# -- monotone in u, and within [0, n] ---------------------------------------------------------


@given(n=st.integers(0, 10**8), p=st.floats(0.0, 1.0),
       u=st.lists(st.floats(1e-300, 1.0, exclude_max=True), min_size=2, max_size=20))
@settings(max_examples=300, deadline=None)
def test_monotone_in_u_and_within_0_to_n(n: int, p: float, u: list[float]) -> None:
    us = np.sort(np.asarray(u))
    x = binomial_icdf(np.full(us.shape, n), np.full(us.shape, p), us)
    assert (np.diff(x) >= 0).all()
    assert x.min() >= 0 and x.max() <= n


def test_monotone_in_u_on_a_fine_grid() -> None:
    """Across the whole range of u (tails included) for every cell of the grid."""
    u = np.unique(np.concatenate([np.linspace(1e-9, 1 - 1e-9, 20_001),
                                  np.logspace(-16, -1, 300), 1 - np.logspace(-16, -1, 300)]))
    for n, p in GRID:
        x = binomial_icdf(np.full(u.shape, n), np.full(u.shape, p), u)
        assert (np.diff(x) >= 0).all(), (n, p)
        assert x[0] >= 0 and x[-1] <= n


# -- keyed uniforms -----------------------------------------------------------------------------


def test_keyed_uniforms_are_reproducible_and_key_dependent() -> None:
    reps = np.arange(1000)
    a = keyed_uniform(7, reps, 3, 2000, 5)
    np.testing.assert_array_equal(a, keyed_uniform(7, reps, 3, 2000, 5))
    # the same keys one at a time, or broadcast in another shape, give the same numbers
    assert a[17] == keyed_uniform(7, 17, 3, 2000, 5)
    np.testing.assert_array_equal(keyed_uniform(7, reps[:, None], 3, 2000, np.arange(6))[:, 5], a)
    # changing any one key changes every number
    for other in (keyed_uniform(8, reps, 3, 2000, 5), keyed_uniform(7, reps, 4, 2000, 5),
                  keyed_uniform(7, reps, 3, 2001, 5), keyed_uniform(7, reps, 3, 2000, 6),
                  keyed_uniform(7, reps + 1000, 3, 2000, 5)):
        assert not np.isin(a, other).any()


def test_keyed_uniforms_wrap_without_a_warning() -> None:
    """The hash's 64-bit arithmetic wraps on purpose: arrays, 0-d arrays and scalars give the
    same numbers, and none warns of an overflow."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = keyed_uniform(7, np.arange(1000), 3, 2000, 5)
        assert a[17] == keyed_uniform(7, 17, 3, 2000, 5)
        assert a[17] == keyed_uniform(np.array(7), np.array(17), 3, 2000, 5)
        assert a[17] == keyed_uniform(np.uint64(7), np.uint64(17), 3, 2000, 5)


def test_keyed_uniforms_are_uniform_and_independent() -> None:
    """Kolmogorov-Smirnov against U(0, 1) along each key, and a chi-square test of
    independence of neighbours (keys differing by one in the fastest-varying position) on a
    10 x 10 grid: five tests, each at ALPHA / 5."""
    n = 200_000
    series = {
        "replicates": keyed_uniform(SEED_KEY, np.arange(n), 0, 0, 0),
        "steps": keyed_uniform(SEED_KEY, 0, np.arange(n), 0, 0),
        "routes": keyed_uniform(SEED_KEY, 0, 0, 1000, np.arange(n)),
        "seeds": keyed_uniform(np.arange(n), 0, 0, 0, 0),
    }
    for name, u in series.items():
        assert 0.0 < u.min() and u.max() < 1.0
        assert stats.kstest(u, "uniform").pvalue > ALPHA / 5, name
    u = series["replicates"]
    cells = np.histogram2d(u[:-1], u[1:], bins=10, range=[[0, 1], [0, 1]])[0]
    assert stats.chi2_contingency(cells).pvalue > ALPHA / 5


def test_hypergeometric_draws_match() -> None:
    """Capacity selection draws hypergeometric counts by inverse CDF (scipy)."""
    size = M
    sampler = CoupledSampler(SEED_KEY, np.arange(size))
    good, bad, take = 300, 700, 150
    x = sampler.hypergeometric(np.full(size, good), np.full(size, bad), np.full(size, take),
                               site=9000, index=(np.arange(size), np.zeros(size, dtype=int)))
    pmf = stats.hypergeom.pmf(np.arange(take + 1), good + bad, good, take)
    assert chi2_gof(x, pmf)[2] > ALPHA


# -- a coupled simulation of the toys with exact answers ---------------------------------------

TOYS = {
    "chain, exact branch": lambda: linear_chain(N=1000, h=0.1, q=0.2, steps=12),
    "chain, normal branch": lambda: linear_chain(N=200_000, h=0.05, q=0.1, steps=12),
    "two-country swap": lambda: two_country_swap(N=5000, a=0.3, b=0.1, steps=10),
    "quota route": lambda: quota_route(N1=300, N2=700, capacity=150, steps=8),
}
TOY_REPLICATES = 400


def test_coupled_runs_of_the_toys_have_the_exact_means() -> None:
    """``|mean - E| < z sqrt(Var / R)`` for every toy, outcome and step, with ``z`` the
    two-sided Bonferroni bound for ALPHA over all of them (about 4.6 here); deterministic
    outcomes must match exactly."""
    runs = []
    for name, make in TOYS.items():
        toy = make()
        res = flowsim.simulate(toy.scenario, replicates=TOY_REPLICATES, seed=11,
                               sampling="coupled")
        runs.append((name, toy.z_scores(res)))
    cells = sum(int(np.isfinite(z).sum()) for _, zs in runs for z in zs.values())
    bound = stats.norm.isf(ALPHA / 2 / cells)
    for name, zs in runs:
        for outcome, z in zs.items():
            z = z[~np.isnan(z)]
            assert (np.abs(z) < bound).all(), f"{name}, {outcome}: z = {np.round(z, 2)}"


def test_coupled_and_exact_runs_agree_on_a_scenario_with_every_mechanism() -> None:
    """Both samplers give the same means (within 5 standard errors of their difference) on
    the shared test scenario (visa queue with capacity, asylum, shocks, policies)."""
    from conftest import base_data

    data = base_data()
    data["calendar"]["end"] = dt.date(2022, 6, 26)
    scenario = flowsim.Scenario.model_validate(data)
    a = flowsim.simulate(scenario, replicates=300, seed=4, sampling="coupled")
    b = flowsim.simulate(scenario, replicates=300, seed=4)
    for v in ("stock", "departures", "asylum_applications"):
        x = a.dataset[v].sum(("time", "cohort")).values.reshape(300, -1).astype(float)
        y = b.dataset[v].sum(("time", "cohort")).values.reshape(300, -1).astype(float)
        se = np.sqrt(x.var(axis=0, ddof=1) / 300 + y.var(axis=0, ddof=1) / 300)
        diff = np.abs(x.mean(axis=0) - y.mean(axis=0))
        assert (diff <= 5 * se + 1e-9).all(), v


# -- the vectorized exact search and hypergeometric quantile give the same numbers -------------


def _search_cases(size: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """``(n, p, u)`` as ``binomial_icdf`` hands them to the exact search (p <= 1/2,
    variance below EXACT_VARIANCE), with the tails of ``u`` and huge ``n`` well represented."""
    n = np.choose(rng.integers(0, 5, size),
                  [rng.integers(1, 4, size), rng.integers(1, 30, size),
                   rng.integers(1, 500, size), rng.integers(1, 10**7, size),
                   np.full(size, 2**60)])  # beyond 2**53: the integer path
    q_max = np.minimum(0.5, EXACT_VARIANCE / n * 0.999)  # q (1 - q) <= q keeps var < 100
    p = np.where(rng.random(size) < 0.1, q_max, rng.random(size) * q_max)
    p = np.maximum(p, 1e-18)
    kind = rng.random(size)
    u = np.where(kind < 0.05, 1.0 - rng.random(size) * 1e-15, rng.random(size))
    u = np.where((kind > 0.05) & (kind < 0.08), 1.0 - 2.0**-54, u)  # the largest keyed u
    u = np.where((kind > 0.08) & (kind < 0.1), rng.random(size) * 1e-13, u)
    return n.astype(np.int64), p, u


@pytest.mark.parametrize("size", [7, 300, 20_000], ids=["accumulated", "looped", "chunked"])
def test_the_vectorized_search_gives_the_stepwise_counts(size: int) -> None:
    """Bit for bit: the same floating-point recurrence, a chunk of terms at a time, for
    arrays small enough for ufunc.accumulate, large enough for the loop over terms, and
    large enough to be cut into chunks of fewer terms."""
    from flowsim.core.samplers import _search, _search_stepwise

    rng = np.random.default_rng(17)
    for _ in range(5):
        n, p, u = _search_cases(size, rng)
        np.testing.assert_array_equal(_search(n, p, u), _search_stepwise(n, p, u))
    # a pmf at 0 that underflows (outside the caller's variance bound): the stepwise loop
    n, p, u = np.full(size, 3000), np.full(size, 0.5), rng.random(size)
    np.testing.assert_array_equal(_search(n, p, u), _search_stepwise(n, p, u))


def test_searches_in_threads_share_no_buffer() -> None:
    """The search keeps its chunk buffers between calls, one set per thread: searches run
    at once in threads (as in a threaded Dask worker; numpy releases the GIL in its loops)
    give the counts each gives alone."""
    from concurrent.futures import ThreadPoolExecutor

    from flowsim.core.samplers import _search, _search_stepwise

    rng = np.random.default_rng(5)
    cases = [_search_cases(40_000, rng) for _ in range(8)]
    alone = [_search_stepwise(*c) for c in cases]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            together = list(pool.map(lambda c: _search(*c), cases))
            for a, b in zip(together, alone):
                np.testing.assert_array_equal(a, b)


def test_the_vectorized_hypergeometric_quantile_is_scipys() -> None:
    """The same quantiles as scipy.stats.hypergeom.ppf, including the supports of one or two
    values, u in both tails, and arguments scipy rejects (NaN there and here)."""
    from flowsim.core.samplers import _hypergeometric_ppf

    rng = np.random.default_rng(18)
    size = 4000
    for trial in range(6):
        total = rng.integers(0, 2000, size)
        total[:40] = 0
        good = rng.integers(-1, total + 2)
        take = rng.integers(-1, total + 2)
        if trial % 2:  # small groups: supports of a few values
            good = np.minimum(good, rng.integers(0, 4, size))
        u = rng.random(size)
        u[:80] = 1.0 - rng.random(80) * 1e-15
        u[80:160] *= 1e-14
        np.testing.assert_array_equal(_hypergeometric_ppf(u, total, good, take),
                                      stats.hypergeom.ppf(u, total, good, take))


def test_the_largest_hash_gives_a_uniform_below_one_and_a_count_inside_its_range():
    """(2**53 - 0.5) / 2**53 rounds to 1.0; the uniform is kept below 1, where the normal
    branch's quantile is finite (it once gave -9.2e18 there)."""
    from flowsim.core import samplers

    top = np.array([np.iinfo(np.uint64).max], dtype=np.uint64)
    u = samplers._unit(top)
    assert u[0] < 1.0 and u[0] == np.nextafter(1.0, 0.0)
    for p in (0.5, 0.7, 1.0):
        k = samplers.binomial_icdf(np.array([1000]), np.array([p]), u)
        assert 0 <= k[0] <= 1000, (p, k)
    # every other value is what it always was
    h = np.array([0, 1 << 11, (1 << 63) + 12345], dtype=np.uint64)
    np.testing.assert_array_equal(samplers._unit(h),
                                  ((h >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0 ** 53)
