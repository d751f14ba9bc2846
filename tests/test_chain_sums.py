"""The segmented route sums of large graphs agree with the dense ones of small graphs, and
the grouped sums of counts are exact whichever way they are made.

``ChainSums`` multiplies by dense incidence and "comes before" matrices on small graphs (the
sums the engine has always made, kept for bit-identical outputs) and sums within each
country's segment of routes on large ones. Both are deterministic: the checks compare them
on random graphs (fixed seeds) to a relative 1e-12, far above rounding (about 1e-16 a term)
and far below any real difference (the sums being of O(1) terms).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from flowsim.core.compile import compile_scenario, route_positions
from flowsim.core.epochs import BlockEpochs
from flowsim.core.sums import ChainSums, Grouper
from flowsim.testing.synthetic import synthetic_scenario


def _graph(rng: np.random.Generator, n_countries: int, n_routes: int):
    """Random sources (some countries with no route, one with many) and chain positions
    (the rank among routes out of the same country, in route order, as compile makes)."""
    src = rng.integers(0, n_countries - 1, size=n_routes)
    src[: n_routes // 4] = n_countries - 2  # a hub with a long chain
    src = rng.permutation(src)
    return src, route_positions(src)


@pytest.mark.parametrize("seed", range(3))
def test_route_positions_rank_each_route_among_its_country_s(seed):
    """A route's chain position is the number of routes before it out of the same country."""
    rng = np.random.default_rng(seed)
    for n in (0, 1, 7, 500):
        src = rng.integers(0, 1 + n // 5, size=n)
        expected = [int((src[:r] == src[r]).sum()) for r in range(n)]
        got = route_positions(src)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, expected)


def _dense_reference(x, src, position, n_countries):
    """The sums written as plain loops (the definition)."""
    B, R, K = x.shape
    total = np.zeros((B, n_countries, K))
    before = np.zeros((B, R, K))
    for r in range(R):
        total[:, src[r]] += x[:, r]
        for r2 in range(R):
            if src[r2] == src[r] and position[r2] < position[r]:
                before[:, r] += x[:, r2]
    return total, before


@pytest.mark.parametrize("seed", range(5))
def test_segmented_and_dense_sums_agree(seed):
    rng = np.random.default_rng(seed)
    C, R = int(rng.integers(3, 40)), int(rng.integers(1, 120))
    src, position = _graph(rng, C, R)
    x = rng.random((3, R, 2)) * (rng.random((1, R, 1)) < 0.8)  # some zero weights
    dense = ChainSums(src, position, C, dense=True)
    segmented = ChainSums(src, position, C, dense=False)
    assert dense.dense and not segmented.dense
    total, before = _dense_reference(x, src, position, C)
    for sums in (dense, segmented):
        np.testing.assert_allclose(sums.total(x), total, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(sums.before(x), before, rtol=1e-12, atol=1e-12)
    # countries with no route sum to exactly 0; a chain's first route has nothing before it
    empty = np.setdiff1d(np.arange(C), src)
    assert not segmented.total(x)[:, empty].any()
    assert not segmented.before(x)[:, position == 0].any()


def test_segmented_sums_broadcast_a_shared_replicate_axis():
    rng = np.random.default_rng(7)
    src, position = _graph(rng, 20, 60)
    x = rng.random((1, 60, 4))
    seg, dense = ChainSums(src, position, 20, dense=False), ChainSums(src, position, 20, dense=True)
    assert seg.total(x).shape == (1, 20, 4) and seg.before(x).shape == (1, 60, 4)
    np.testing.assert_allclose(seg.before(x), dense.before(x), rtol=1e-12, atol=1e-12)


def test_segmented_memory_is_linear_in_routes():
    rng = np.random.default_rng(3)
    src, position = _graph(rng, 10_001, 30_000)
    sums = ChainSums(src, position, 10_001)
    assert not sums.dense and sums.incidence is None and sums.before_matrix is None
    padded = sum(table.size for _, table, _ in sums.segments)
    assert padded <= 2 * 30_000
    # one segment table per power of two up to the hub's out-degree (7,500 routes)
    assert len(sums.segments) <= int(np.ceil(np.log2(7_500))) + 1


def test_chain_conditionals_are_the_same_either_way(monkeypatch):
    """The engine's route-choice conditionals, access and event chains of a synthetic graph
    through each path (deterrence abroad on, so that the onward damping sums too)."""
    model = compile_scenario(synthetic_scenario(countries=60, weeks=20, seed=2))
    model = dataclasses.replace(model, deterrence_abroad=True)
    params = model.default_params(3)
    ref = BlockEpochs(model, params)
    assert ref.sums.dense  # 180 routes: within the dense limit
    monkeypatch.setattr(ChainSums, "DENSE_LIMIT", 0)
    other = BlockEpochs(model, params)
    assert not other.sums.dense
    stock = np.arange(3 * model.n_countries, dtype=float).reshape(3, -1)
    for e in range(model.n_epochs):
        a, b = ref.epoch(e, 7), other.epoch(e, 7)
        np.testing.assert_allclose(b.route_cond, a.route_cond, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(b.access, a.access, rtol=1e-12)
        np.testing.assert_allclose(b.q_events, a.q_events, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(other.cond_with_network(b, stock),
                                   ref.cond_with_network(a, stock), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("seed", range(3))
def test_grouped_counts_are_exact_dense_sparse_or_reduceat(seed):
    """Grouper sums counts through a dense product (small), one bincount (large, integers)
    or ``add.reduceat`` (large, floats): each equals the plain loop exactly."""
    rng = np.random.default_rng(seed)
    paths = set()
    for _ in range(60):
        n, C = int(rng.integers(0, 300)), int(rng.integers(1, 200))
        index = rng.integers(0, C, size=n)
        grouper = Grouper(index, C)
        for shape, dtype in [((3, n, 4), np.int64), ((1, n, 2), np.int32), ((0, n, 3), np.int64),
                             ((2, n, 3), float)]:
            x = rng.integers(0, 10**6, size=shape).astype(dtype)
            expected = np.zeros((shape[0], C, *shape[2:]), dtype=dtype)
            for r in range(n):
                expected[:, index[r]] += x[:, r]
            got = grouper.sum(x)
            assert got.dtype == dtype and got.flags.c_contiguous
            np.testing.assert_array_equal(got, expected)
        paths.add("dense" if grouper.incidence is not None else "bincount")
    assert paths == {"dense", "bincount"}
