"""The route choice of countries with more than ``CHAIN_POSITIONS`` routes (issue 17).

The engine draws the first :data:`~flowsim.core.route_tree.CHAIN_POSITIONS` route positions
by the chain of conditional binomials and splits those left over a country's other routes by
a binary tree of binomials (:mod:`flowsim.core.route_tree`). What is checked:

* deterministic: the tree's probabilities give every route the chance the chain gives it (a
  sampler that returns ``n × p`` in place of a draw carries the chain's expected flows
  through the tree), to 1e-12, on random graphs with closed routes (``cond = 0``), sure ones
  (``cond = 1``) and a shared or a per-replicate replicate axis; the tree's layout; the
  number of draws per step (at most ``CHAIN_POSITIONS + 1 + ceil(log2(largest tail))``,
  whatever the out-degree); graphs of at most ``CHAIN_POSITIONS`` routes a country (every
  shipped scenario) drawn by the chain alone, bit for bit;
* statistical, on a fan of 150 routes out of the origin whose route probabilities are known
  in closed form (everyone leaves in the one step and chooses by a logit; those without an
  international passport, share ``1 - pi``, have no route and stay), for the exact and the
  coupled sampler: the pooled counts per route and of stayers against the multinomial
  (Pearson chi-square), covariances of route groups and of single routes against the
  multinomial's, the marginal of single tail routes against the binomial, and the joint
  distribution of grouped counts of four people against the multinomial (chi-square);
* coupling: two runs that differ in one tail route's attractiveness have highly correlated
  flows on the other routes under the coupled sampler (and uncorrelated ones with
  different keys);
* in distribution against the per-person reference simulator (``tests/reference.py``), on a
  scenario with two countries of more than 64 routes, a network effect, eligibility flags
  held by a share of a cohort and a policy that closes a tail route for a while.

False failures: every statistical test fails with probability at most ``ALPHA`` = 1e-3 for
a correct engine (a Bonferroni split where one test makes several comparisons, stated at
each); the seeds are fixed, so the outcome is reproducible.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import string
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from reference import ReferenceSimulator
from scipy import stats
from test_reference_gof import compare

import flowsim
from flowsim.core import epochs
from flowsim.core.compile import compile_scenario, route_positions
from flowsim.core.engine import SITE_ROUTE, recordable, run_block
from flowsim.core.epochs import BlockEpochs
from flowsim.core.route_tree import CHAIN_POSITIONS, RouteTree
from flowsim.core.samplers import CoupledSampler, ExactSampler
from flowsim.scenario import load_scenario, validate_data

ALPHA = 1e-3
START = dt.date(2022, 1, 3)
ROOT = Path(__file__).resolve().parents[1]


def _ids(n: int) -> list[str]:
    ids = ("".join(p) for p in itertools.product(string.ascii_uppercase, repeat=3))
    return [i for i in ids if i not in ("ORG", "HUB")][:n]


def fan(routes: int, people: int, pi: float = 0.7, seed: int = 0,
        boost: tuple[int, float] | None = None) -> tuple[Any, np.ndarray]:
    """One origin with ``routes`` routes to as many destinations, one weekly step, one cohort
    of ``people`` who all leave (hazard 1) and choose a route by a logit on
    ``attractiveness - cost``; only the share ``pi`` with an international passport has a
    route (every route needs one), the others stay. Returns the compiled model and the
    exact probabilities of each route and, last, of staying. ``boost = (r, d)`` adds ``d``
    to the attractiveness of route ``r``'s destination."""
    rng = np.random.default_rng(seed)
    ids = _ids(routes)
    attract = rng.normal(0.0, 1.0, routes)
    cost = rng.uniform(0.0, 2.0, routes)
    if boost is not None:
        attract[boost[0]] += boost[1]
    data = {
        "name": f"fan of {routes}",
        "calendar": {"start": START, "end": START + dt.timedelta(days=6)},
        "countries": [{"id": "ORG", "name": "Origin", "roles": ["origin"]}]
        + [{"id": c, "name": c, "roles": ["destination"], "attractiveness": float(a)}
           for c, a in zip(ids, attract, strict=True)],
        "routes": [{"from": "ORG", "to": c, "cost": float(x)}
                   for c, x in zip(ids, cost, strict=True)],
        "cohorts": [{"name": "all", "population": people, "baseline_hazard": 1.0,
                     "international_passport": pi}],
    }
    scenario, problems = validate_data(data)
    assert not [p for p in problems if p.severity == "error"], problems
    w = np.exp(attract - cost)
    return compile_scenario(scenario), np.append(pi * w / w.sum(), 1.0 - pi)


def _samplers(replicates: int, seed: int) -> dict[str, Any]:
    return {"exact": ExactSampler(np.random.default_rng(seed)),
            "coupled": CoupledSampler(seed, np.arange(replicates))}


def run_fan(model: Any, replicates: int, sampler: Any) -> np.ndarray:
    """(replicates, routes + 1): each route's flow, and the stayers, of the one step."""
    out = run_block(model, model.default_params(replicates), sampler,
                    record=("flow", "stock"), check=True)
    return np.concatenate([out["flow"][:, 0, :, 0],
                           out["stock"][:, 0, model.origin, 0][:, None]], axis=1)


# -- the tree's probabilities are the chain's ------------------------------------------------


class _MeanSampler:
    """In place of a draw, its expectation ``n × p``: carries expected flows through a tree."""

    def binomial(self, n: np.ndarray, p: np.ndarray, site: int,
                 index: np.ndarray | None = None) -> np.ndarray:
        return n * p


def _graph(rng: np.random.Generator, countries: int, routes: int):
    """Random sources (a few countries with long chains) and chain positions."""
    src = rng.integers(0, countries, size=routes)
    src[: routes // 3] = 0
    src[routes // 3: routes // 2] = countries - 1
    src = rng.permutation(src)
    return src, route_positions(src)


def _chain_tail(cond: np.ndarray, src: np.ndarray, position: np.ndarray, first: int,
                countries: int) -> tuple[np.ndarray, np.ndarray]:
    """The chain's expected flows on the routes from position ``first`` on, for one mover
    left at that position in every country, and the chance of taking none (plain loops)."""
    flow = np.zeros(cond.shape)
    stay = np.ones((cond.shape[0], countries, cond.shape[2]))
    for r in np.lexsort((position, src)):
        if position[r] >= first:
            flow[:, r] = stay[:, src[r]] * cond[:, r]
            stay[:, src[r]] -= flow[:, r]
    return flow, stay


@pytest.mark.parametrize(("seed", "first", "rows"), [(0, 0, 1), (1, 3, 3), (2, 64, 1),
                                                     (3, 5, 3), (4, 1, 1)])
def test_the_tree_gives_each_route_the_chains_probability(seed, first, rows):
    """Expected flows through the tree (``n × p`` in place of each draw) are the chain's,
    route by route, and so is the chance of taking no route: deterministic, to 1e-12."""
    rng = np.random.default_rng(seed)
    countries, routes = 7, int(rng.integers(300, 600))
    src, position = _graph(rng, countries, routes)
    cond = rng.random((rows, routes, 2))
    cond[rng.random(cond.shape) < 0.15] = 0.0  # closed routes
    cond[rng.random(cond.shape) < 0.01] = 1.0  # a route everyone left takes
    tree = RouteTree(src, position, first)
    probs = tree.probabilities(cond)
    left = np.ones((3, countries, 2))
    flow = np.zeros((3, routes, 2))
    tree.draw(_MeanSampler(), probs, left, flow, SITE_ROUTE)  # floats: expectations
    want_flow, want_stay = _chain_tail(np.broadcast_to(cond, (3, routes, 2)), src, position,
                                       first, countries)
    np.testing.assert_allclose(flow, want_flow, rtol=1e-12, atol=1e-15)
    has_tail = np.isin(np.arange(countries), src[position >= first])
    np.testing.assert_allclose(left[:, has_tail], want_stay[:, has_tail], rtol=1e-12,
                               atol=1e-15)
    assert (left[:, ~has_tail] == 1.0).all()  # countries without a tail are not touched
    for p in probs:
        assert ((p >= 0.0) & (p <= 1.0)).all()


def test_the_tree_layout():
    """Every tail route is a leaf exactly once, keys are distinct within a level, and the
    draws per step are 1 + ceil(log2(largest tail)) whatever the number of countries."""
    rng = np.random.default_rng(5)
    src, position = _graph(rng, 40, 3000)
    tree = RouteTree(src, position, CHAIN_POSITIONS)
    tail = np.flatnonzero(position >= CHAIN_POSITIONS)
    leaves = np.concatenate([lv.leaf_routes for lv in tree.levels])
    assert np.array_equal(np.sort(leaves), tail)
    for lv in tree.levels:
        assert np.unique(lv.keys).size == lv.keys.size
        assert np.isin(lv.keys, tail).all()
    longest = np.bincount(src[tail]).max()
    assert tree.draws == 1 + math.ceil(math.log2(longest))
    assert not RouteTree(src, position, int(position.max()) + 1)  # no tail: no tree


class _CountingSampler(ExactSampler):
    def __init__(self, rng: np.random.Generator) -> None:
        super().__init__(rng)
        self.route_calls = 0

    def binomial(self, n, p, site, index=None):
        self.route_calls += SITE_ROUTE <= site < SITE_ROUTE + 1000
        return super().binomial(n, p, site, index)


@pytest.mark.parametrize("routes", [40, 64, 65, 200, 1000])
def test_route_draws_per_step_do_not_grow_with_the_out_degree(routes):
    model, _ = fan(routes, 100)
    sampler = _CountingSampler(np.random.default_rng(0))
    run_block(model, model.default_params(2), sampler)
    tail = max(0, routes - CHAIN_POSITIONS)
    want = min(routes, CHAIN_POSITIONS) + (0 if not tail else 1 + math.ceil(math.log2(tail)))
    assert sampler.route_calls == want  # one step
    assert sampler.route_calls <= CHAIN_POSITIONS + 1 + math.ceil(math.log2(max(routes, 2)))


# -- up to CHAIN_POSITIONS routes a country: the chain alone, as before -----------------------


@pytest.mark.parametrize("sampling", ["exact", "coupled"])
def test_up_to_chain_positions_routes_draw_the_chain_bit_for_bit(monkeypatch, sampling):
    """With at most CHAIN_POSITIONS routes out of every country there is no tree, and the
    draws are those of the chain without any limit on its positions (the engine before
    the tree); ``tests/test_digests.py`` checks the same for the shipped scenarios."""
    model, _ = fan(CHAIN_POSITIONS, 500)
    assert not BlockEpochs(model, model.default_params(1)).tree
    before = run_fan(model, 50, _samplers(50, 3)[sampling])
    monkeypatch.setattr(epochs, "CHAIN_POSITIONS", 10**9)
    after = run_fan(model, 50, _samplers(50, 3)[sampling])
    assert np.array_equal(before, after)
    # and a graph with a longer chain draws other numbers (the tree) than the chain alone
    model, _ = fan(CHAIN_POSITIONS + 40, 500)
    chain_only = run_fan(model, 50, _samplers(50, 3)[sampling])
    monkeypatch.undo()
    assert not np.array_equal(chain_only, run_fan(model, 50, _samplers(50, 3)[sampling]))


def test_shipped_scenarios_are_within_the_chain():
    """CHAIN_POSITIONS is above every shipped scenario's largest out-degree, so that their
    outputs are the chain's (the constant's comment says so)."""
    degrees = {}
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        if path.name.endswith("-targets.yaml"):
            continue
        model = compile_scenario(load_scenario(path))
        degrees[path.name] = int(model.route_position.max()) + 1
    assert degrees and max(degrees.values()) < CHAIN_POSITIONS, degrees


# -- the fan of 150 routes: the exact multinomial ---------------------------------------------

ROUTES, PEOPLE, REPLICATES = 150, 1000, 3000


@pytest.fixture(scope="module")
def fan_runs() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    model, probs = fan(ROUTES, PEOPLE)
    # the engine's own route probabilities are the closed form's (the toy is what it says)
    derived = BlockEpochs(model, model.default_params(1))
    q = derived.mixture(derived.weights(0)[0], 0)[0, :, 0]
    np.testing.assert_allclose(q, probs[:-1], rtol=1e-12)
    return probs, {s: run_fan(model, REPLICATES, sampler)
                   for s, sampler in _samplers(REPLICATES, 11).items()}


def _groups() -> list[np.ndarray]:
    """Route groups that the tree splits differently: the chain's routes, the tail's left
    and right halves (the root's children), and the stayers (column ``ROUTES``)."""
    tail = np.arange(CHAIN_POSITIONS, ROUTES)
    half = (tail.size + 1) // 2
    return [np.arange(CHAIN_POSITIONS), tail[:half], tail[half:], np.array([ROUTES])]


@pytest.mark.parametrize("sampling", ["exact", "coupled"])
def test_pooled_counts_are_multinomial(fan_runs, sampling):
    """The counts per route and of stayers summed over the replicates are multinomial with
    the exact probabilities: Pearson chi-square with 150 degrees of freedom, at ALPHA."""
    probs, runs = fan_runs
    x = runs[sampling]
    assert (x.sum(axis=1) == PEOPLE).all()
    expected = probs * PEOPLE * REPLICATES
    assert expected.min() > 20
    stat = ((x.sum(axis=0) - expected) ** 2 / expected).sum()
    p = stats.chi2.sf(stat, probs.size - 1)
    assert p > ALPHA, f"{sampling}: chi-square {stat:.1f} on {probs.size - 1} df, p = {p:.2e}"


@pytest.mark.parametrize("sampling", ["exact", "coupled"])
def test_covariances_are_multinomial(fan_runs, sampling):
    """Covariances of the group counts (chain, tail left half, tail right half: six
    entries) and of four single-route pairs (sibling leaves at the deepest level, the last
    chain route and the first tail route, routes in different halves, a tail route and the
    stayers) against the multinomial's ``N (delta p_a - p_a p_b)``: z-tests with standard
    errors estimated from the sample (3,000 replicates), ten comparisons at ALPHA / 10."""
    probs, runs = fan_runs
    x = runs[sampling].astype(float)
    g = _groups()
    cols = np.stack([x[:, idx].sum(axis=1) for idx in g[:3]], axis=1)
    p_cols = np.array([probs[idx].sum() for idx in g[:3]])
    pairs = [(a, b) for a in range(3) for b in range(a, 3)]
    tests = [(cols[:, a], cols[:, b], p_cols[a], p_cols[b], a == b) for a, b in pairs]
    for r, s in ((ROUTES - 2, ROUTES - 1), (CHAIN_POSITIONS - 1, CHAIN_POSITIONS),
                 (CHAIN_POSITIONS + 3, ROUTES - 4), (CHAIN_POSITIONS + 10, ROUTES)):
        tests.append((x[:, r], x[:, s], probs[r], probs[s], False))
    failed = []
    for a, b, pa, pb, same in tests:
        prod = (a - a.mean()) * (b - b.mean())
        want = PEOPLE * ((pa if same else 0.0) - pa * pb)
        z = (prod.mean() - want) / (prod.std(ddof=1) / math.sqrt(len(a)))
        if 2 * stats.norm.sf(abs(z)) < ALPHA / len(tests):
            failed.append(f"cov {pa:.4f}/{pb:.4f}: {prod.mean():.3f} vs {want:.3f} (z {z:.1f})")
    assert not failed, f"{sampling}: {failed}"


@pytest.mark.parametrize("sampling", ["exact", "coupled"])
def test_single_tail_routes_are_binomial(fan_runs, sampling):
    """The flow on a tail route (the first, one in the middle, the last) is
    Binomial(N, p_r): chi-square goodness of fit on bins expecting at least 20 replicates,
    three comparisons at ALPHA / 3."""
    probs, runs = fan_runs
    for r in (CHAIN_POSITIONS, (CHAIN_POSITIONS + ROUTES) // 2, ROUTES - 1):
        p = _binomial_gof(runs[sampling][:, r], PEOPLE, probs[r])
        assert p > ALPHA / 3, f"{sampling}: route {r} (p_r = {probs[r]:.4f}): p = {p:.2e}"


def _binomial_gof(x: np.ndarray, n: int, p: float, min_expected: float = 20.0) -> float:
    """Chi-square goodness of fit of the counts ``x`` to Binomial(n, p), with consecutive
    values merged into bins expecting at least ``min_expected`` counts."""
    pmf = stats.binom.pmf(np.arange(n + 1), n, p) * x.size
    observed = np.bincount(x, minlength=n + 1)
    edges, acc = [], 0.0
    for k, e in enumerate(pmf):
        acc += e
        if acc >= min_expected:
            edges.append(k)
            acc = 0.0
    edges[-1] = n  # the tail joins the last bin
    bins = np.searchsorted(edges, np.arange(n + 1))
    exp = np.bincount(bins, weights=pmf)
    obs = np.bincount(bins, weights=observed)
    return float(stats.chi2.sf(((obs - exp) ** 2 / exp).sum(), exp.size - 1))


@pytest.mark.parametrize("sampling", ["exact", "coupled"])
def test_joint_grouped_counts_of_four_people_are_multinomial(sampling):
    """Four people choose among 150 routes: the joint counts in the four groups (chain,
    tail left and right halves, stayers) take 35 values whose probabilities are the
    multinomial's; chi-square goodness of fit over 20,000 replicates (cells expecting fewer
    than 20 merged), at ALPHA."""
    model, probs = fan(ROUTES, 4, seed=1)
    replicates = 20_000
    x = run_fan(model, replicates, _samplers(replicates, 12)[sampling])
    g = _groups()
    counts = np.stack([x[:, idx].sum(axis=1) for idx in g], axis=1)  # (replicates, 4)
    pg = np.array([probs[idx].sum() for idx in g])
    cells = [c for c in itertools.product(range(5), repeat=4) if sum(c) == 4]
    expected = np.array([stats.multinomial.pmf(c, 4, pg) for c in cells]) * replicates
    code = {c: i for i, c in enumerate(cells)}
    observed = np.bincount([code[tuple(row)] for row in counts], minlength=len(cells))
    order = np.argsort(expected)  # merge the smallest cells until the merged one expects 20
    small = order[np.cumsum(expected[order]) < 20]
    keep = np.setdiff1d(np.arange(len(cells)), small)
    exp = np.append(expected[keep], expected[small].sum())
    obs = np.append(observed[keep], observed[small].sum())
    if not small.size:
        exp, obs = exp[:-1], obs[:-1]
    p = stats.chi2.sf(((obs - exp) ** 2 / exp).sum(), exp.size - 1)
    assert p > ALPHA, f"{sampling}: p = {p:.2e} over {exp.size} cells"


# -- coupling ---------------------------------------------------------------------------------


def test_coupled_runs_stay_coupled_through_the_tree():
    """A counterfactual in which one tail route's destination is more attractive (+0.5 on
    the logit scale) under the coupled sampler with the run's keys: the flows on the other
    routes, chain and tail, correlate with the baseline's across replicates (median
    correlation above 0.95 over each set; 0.998 when written); with other keys they do not
    (median below 0.2), so that the check can fail."""
    changed = 120
    base, _ = fan(ROUTES, PEOPLE)
    other, _ = fan(ROUTES, PEOPLE, boost=(changed, 0.5))
    replicates = 400
    a = run_fan(base, replicates, CoupledSampler(5, np.arange(replicates)))
    b = run_fan(other, replicates, CoupledSampler(5, np.arange(replicates)))
    c = run_fan(other, replicates, CoupledSampler(6, np.arange(replicates)))
    assert b[:, changed].mean() > a[:, changed].mean()

    def corr(x: np.ndarray, y: np.ndarray, routes: np.ndarray) -> float:
        return float(np.median([np.corrcoef(x[:, r], y[:, r])[0, 1] for r in routes]))

    chain_routes = np.arange(CHAIN_POSITIONS)
    tail_routes = np.setdiff1d(np.arange(CHAIN_POSITIONS, ROUTES), [changed])
    for routes in (chain_routes, tail_routes):
        assert corr(a, b, routes) > 0.95
        assert corr(a, c, routes) < 0.2


# -- against the per-person reference ---------------------------------------------------------


def _wide() -> dict[str, Any]:
    """Two countries with long chains: the origin (90 routes) and a hub (70 routes on from
    it), a network effect on a tail route's destination, a flag held by a share of a cohort
    that a tail route requires, and a tail route closed for three weeks; 8 weeks."""
    rng = np.random.default_rng(7)
    ids = _ids(90)
    countries = [{"id": "ORG", "name": "Origin", "roles": ["origin"]},
                 {"id": "HUB", "name": "Hub", "roles": ["transit"], "onward_hazard": 0.3,
                  "attractiveness": 1.5}]
    for i, c in enumerate(ids):
        country = {"id": c, "name": c, "roles": ["destination"],
                   "attractiveness": float(rng.normal(0.0, 0.7)), "return_hazard": 0.02}
        if i == 80:
            country["network"] = {"weight": 0.8, "scale": 5}
        countries.append(country)
    routes = [{"from": "ORG", "to": "HUB", "documents": "internal"}]
    routes += [{"from": "ORG", "to": c, "cost": float(rng.uniform(0, 1))} for c in ids[:89]]
    routes += [{"from": "HUB", "to": c, "cost": float(rng.uniform(0, 1)),
                "documents": "internal"} for c in ids[20:90]]
    routes[75]["requires"] = ["visa"]  # ORG -> ids[74]: position 75 of the origin's chain
    return {
        "name": "two long chains",
        "calendar": {"start": START, "end": START + dt.timedelta(weeks=8, days=-1)},
        "countries": countries,
        "routes": routes,
        "cohorts": [
            {"name": "men", "population": 150, "baseline_hazard": 0.15,
             "international_passport": 0.6, "eligible": {"visa": 0.4}},
            {"name": "rest", "population": 80, "baseline_hazard": 0.1},
        ],
        "policies": [{"name": "closure", "start": START + dt.timedelta(weeks=2),
                      "end": START + dt.timedelta(weeks=5, days=-1),
                      "select": {"from": ["ORG"], "to": [ids[85]]},
                      "route": {"regime": "closed"}}],
    }


def _wide_returnees() -> dict[str, Any]:
    """:func:`_wide` where people come back (return hazard 0.2) and leave again (0.4),
    returnees kept apart: their route choice goes through the origin's tree too."""
    data = _wide()
    for c in data["countries"][2:]:
        c["return_hazard"] = 0.2
    for cohort in data["cohorts"]:
        cohort["reemigration_hazard"] = 0.4
    data["behaviour"] = {"track_returnees": True}
    return data


@pytest.mark.parametrize("build", [_wide, _wide_returnees], ids=["wide", "returnees"])
def test_engine_matches_the_reference_with_long_chains(build):
    """The engine (2,000 replicates) against the per-person reference (800 runs), every
    outcome of ``test_reference_gof.outcomes`` (stocks, departures, flow on each route, ...)
    by its binned two-sample chi-square, Bonferroni over the outcomes at ALPHA. (Power, when
    written: the tree's root probabilities 20% too low were rejected at p = 1e-15.)"""
    scenario, problems = validate_data(build())
    assert not [p for p in problems if p.severity == "error"], problems
    model = compile_scenario(scenario)
    degree = np.bincount(model.route_src)
    assert (degree > CHAIN_POSITIONS).sum() == 2
    assert model.has_network and model.flag_classes is not None
    record = recordable(model)
    res = flowsim.simulate(model, replicates=2000, seed=2026, record=record, workers=1)
    engine = {v: res.dataset[v].values for v in record}
    ref = ReferenceSimulator(model).runs(800, seed=12)
    result = compare(model, engine, ref)
    assert not result.rejected, f"{', '.join(result.rejected)} ({result.describe()})"


def test_network_conditionals_feed_the_tree():
    """With a network effect the tree's probabilities follow each step's conditionals: what
    the engine draws from (:meth:`BlockEpochs.chain_inputs` of the network conditionals)
    holds the tree's probabilities of those conditionals."""
    scenario, _ = validate_data(_wide())
    model = compile_scenario(scenario)
    derived = BlockEpochs(model, model.default_params(2))
    ep = derived.epoch(0, 7)
    stock = np.zeros((2, model.n_countries))
    stock[:, 82] = [0.0, 50.0]  # the destination with the network effect
    chain_cond, tree_p = derived.chain_inputs(derived.cond_with_network(ep, stock))
    want = derived.tree.probabilities(derived.cond_with_network(ep, stock))
    assert len(tree_p) == len(want) == derived.tree.draws
    for got, w in zip(tree_p, want, strict=True):
        np.testing.assert_array_equal(got, w)
    # a larger stock there draws more of the origin's tail movers to it
    assert not np.array_equal(tree_p[0][0], tree_p[0][1])
    assert len(chain_cond) == CHAIN_POSITIONS
