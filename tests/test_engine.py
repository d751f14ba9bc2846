"""Engine properties that must hold exactly: conservation, closures, quotas, reproducibility.

Statistical agreement with exact answers and with a per-person reference lives in
``test_toys.py`` and ``test_reference_gof.py``; everything here is deterministic given a
seed (or a hypothesis example) and must hold in every replicate.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowsim
from flowsim.core.compile import CLOSED, HUMANITARIAN, CompiledModel, compile_scenario
from flowsim.core.engine import RECORDABLE, SITE_DEPART, InvariantError, run_block
from flowsim.core.samplers import ExactSampler
from flowsim.core.sums import Grouper
from flowsim.scenario import validate_data
from flowsim.scenario.checks import iter_values
from flowsim.scenario.model import ValueKind
from flowsim.testing.strategies import scenarios

ALL = tuple(RECORDABLE)
START = dt.date(2022, 1, 3)


def _weeks(n: int) -> dict[str, Any]:
    return {"start": START, "end": START + dt.timedelta(weeks=n, days=-1)}


# -- helpers --------------------------------------------------------------------------------


def open_mask(model: CompiledModel) -> np.ndarray:
    """(T, R, K): whether the route carries the cohort in each step, from the compiled rules.

    A route carries nobody while it is closed for the cohort, when the cohort lacks a flag
    it ``requires``, or while it is ``humanitarian_only`` and the cohort is not eligible.
    """
    regime = model.route_regime[model.epoch_of_step]  # (T, R, K)
    return ((regime != CLOSED) & model.route_eligible[model.epoch_of_step]
            & ((regime != HUMANITARIAN) | model.humanitarian_eligible[None, None, :]))


def _param_kinds(scenario: flowsim.Scenario) -> dict[str, set[ValueKind]]:
    kinds: dict[str, set[ValueKind]] = {}
    for _, value, kind in iter_values(scenario):
        if isinstance(value, str) and value in scenario.parameters:
            kinds.setdefault(value, set()).add(kind)
    return kinds


_KIND_VALUES = {
    ValueKind.probability: st.floats(0.0, 1.0),
    ValueKind.nonnegative: st.floats(0.0, 1e4),
    ValueKind.positive: st.floats(0.01, 1e4),
    ValueKind.real: st.floats(-50.0, 50.0),
    ValueKind.count: st.integers(0, 10**6),
}


@st.composite
def scenario_and_params(draw: Any) -> tuple[flowsim.Scenario, CompiledModel, np.ndarray]:
    """A random valid scenario and a (3, P) parameter matrix: the declared values in the
    first replicate, values drawn for each parameter's field kind in the others."""
    scenario = draw(scenarios(max_countries=5))
    model = compile_scenario(scenario)
    params = model.default_params(3)
    kinds = _param_kinds(scenario)
    for j, name in enumerate(model.param_names):
        ks = kinds.get(name, set())
        kind = (ValueKind.probability if ValueKind.probability in ks else
                ValueKind.positive if ValueKind.positive in ks else
                ValueKind.nonnegative if ValueKind.nonnegative in ks else
                ValueKind.count if ValueKind.count in ks else ValueKind.real)
        for b in (1, 2):
            params[b, j] = draw(_KIND_VALUES[kind])
    return scenario, model, params


# -- the integer invariant, as a property -----------------------------------------------------


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenario_and_params(), st.integers(0, 2**32 - 1))
def test_population_is_conserved_in_random_scenarios(
        case: tuple[flowsim.Scenario, CompiledModel, np.ndarray], seed: int) -> None:
    _, model, params = case
    sampler = ExactSampler(np.random.default_rng(seed))
    # check=True raises InvariantError the first step a person is lost, created or negative
    out = run_block(model, params, sampler, record=ALL, check=True)
    B, T = params.shape[0], model.n_steps
    population = np.round(model.population.values(params)).astype(np.int64)  # (1|B, K)
    people = np.round(model.people(params)).astype(np.int64)  # with those abroad at the start
    for name, arr in out.items():
        assert arr.dtype.kind == "i", name  # counts, never NaN
        assert arr.shape[:2] == (B, T), name
        assert (arr >= 0).all(), f"negative {name}"
    # every person is counted in exactly one country's stock at every step
    stock_total = out["stock"].sum(axis=2)  # (B, T, K)
    np.testing.assert_array_equal(stock_total, np.broadcast_to(people[:, None, :],
                                                               stock_total.shape))
    # first departures never exceed the population; settled people are part of the stock
    assert (out["departures"].sum(axis=1) <= population).all()
    assert (out["settled"] <= out["stock"]).all()
    # nothing moves on a route that is closed to the cohort at the time
    shut = ~open_mask(model)
    assert (out["flow"][:, shut] == 0).all(), "flow on a closed route"
    # quotas hold on routes and in asylum systems
    for t in range(T):
        e = int(model.epoch_of_step[t])
        cap = np.broadcast_to(model.route_capacity.at(e).values(params), (B, model.n_routes))
        assert (out["flow"][:, t].sum(axis=-1) <= cap).all(), "route capacity exceeded"
        acap = np.broadcast_to(model.asylum_capacity.at(e).values(params),
                               (B, model.n_countries))
        assert (out["asylum_decisions"][:, t].sum(axis=-1) <= acap).all()
    # decisions include the grants; flows add up to arrivals and departures
    assert (out["asylum_grants"] <= out["asylum_decisions"]).all()
    into = np.zeros_like(out["arrivals"])
    np.add.at(into, (slice(None), slice(None), model.route_dst), out["flow"])
    np.testing.assert_array_equal(into, out["arrivals"])
    from_origin = model.route_src == model.origin
    np.testing.assert_array_equal(out["flow"][:, :, from_origin].sum(axis=2),
                                  out["departures"])


@pytest.mark.parametrize("dense", [True, False])
def test_grouped_sums_are_exact(dense: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # both ways of summing routes by country (a float product for small graphs, reduceat for
    # large ones) give np.add.at's integers, with empty groups and counts near 2**40
    monkeypatch.setattr(Grouper, "DENSE_LIMIT", 10**9 if dense else 0)
    rng = np.random.default_rng(0)
    index = rng.integers(0, 12, size=40)  # 12 countries, some with no route
    x = rng.integers(0, 2**40, size=(7, 40, 3))
    expected = np.zeros((7, 15, 3), dtype=np.int64)
    np.add.at(expected, (slice(None), index), x)
    got = Grouper(index, 15).sum(x)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)


def test_the_recording_layout_changes_no_number(monkeypatch: pytest.MonkeyPatch) -> None:
    # large slabs are written replicate-major through a time-major view, small ones
    # time-major and transposed at the end: every layout gives the same arrays
    from flowsim.core import engine

    model = compile_scenario(flowsim.load_scenario("scenarios/syria-2015.yaml"))
    params = model.default_params(3)
    runs = []
    for slab in (1, 10**12):
        monkeypatch.setattr(engine, "REPLICATE_MAJOR_SLAB", slab)
        runs.append(run_block(model, params, ExactSampler(np.random.default_rng(5)),
                              tuple(RECORDABLE)))
    assert runs[0].keys() == runs[1].keys() == set(RECORDABLE)
    for v, arr in runs[0].items():
        assert arr.flags.c_contiguous and runs[1][v].flags.c_contiguous
        assert arr.shape == runs[1][v].shape and arr.shape[:2] == (3, model.n_steps)
        np.testing.assert_array_equal(arr, runs[1][v], err_msg=v)


def test_invariant_check_catches_an_impossible_draw() -> None:
    """``check=True`` really checks: a sampler that lets more people leave than there are
    is caught in the first step."""

    class Broken(ExactSampler):
        def binomial(self, n, p, site, index=None):  # type: ignore[no-untyped-def]
            x = super().binomial(n, p, site, index)
            return np.asarray(n) + 1 if site == SITE_DEPART else x

    model = compile_scenario(PARAMS_SCENARIO)  # no quota could send the extra person back
    run_block(model, model.default_params(2), ExactSampler(np.random.default_rng(0)),
              check=True)
    with pytest.raises(InvariantError, match="step 0: negative count in never"):
        run_block(model, model.default_params(2), Broken(np.random.default_rng(0)),
                  check=True)


# -- closures, exclusions, flags --------------------------------------------------------------

POLICIES = {
    "name": "closures",
    "calendar": _weeks(12),
    "countries": [
        {"id": "RUS", "name": "Origin", "roles": ["origin"]},
        {"id": "GEO", "name": "G", "roles": ["transit"], "onward_hazard": 0.3},
        {"id": "FIN", "name": "F", "roles": ["transit"], "onward_hazard": 0.2},
        {"id": "ISR", "name": "I", "roles": ["destination"], "attractiveness": 1.0},
        {"id": "DEU", "name": "D", "roles": ["destination"], "attractiveness": 1.0},
    ],
    "routes": [
        {"from": "RUS", "to": "GEO"},
        {"from": "RUS", "to": "FIN", "regime": "visa_required", "delay_days": 10,
         "issuance": 0.8},
        {"from": "RUS", "to": "ISR", "mode": "air", "requires": ["israel"]},
        {"from": "RUS", "to": "DEU", "mode": "air", "regime": "humanitarian_only",
         "delay_days": 7, "issuance": 0.9},
        {"from": "GEO", "to": "FIN", "mode": "air"},
        {"from": "FIN", "to": "DEU"},
        {"from": "GEO", "to": "DEU", "mode": "air"},
    ],
    "cohorts": [
        {"name": "men", "population": 20_000, "baseline_hazard": 0.1,
         "eligible": ["humanitarian"]},
        {"name": "rest", "population": 20_000, "baseline_hazard": 0.1},
        {"name": "repatriates", "population": 5_000, "baseline_hazard": 0.1,
         "eligible": ["israel"]},
    ],
    "policies": [
        {"name": "georgia_closes_to_men", "start": dt.date(2022, 1, 24),
         "end": dt.date(2022, 2, 20), "select": {"to": ["GEO"], "cohorts": ["men"]},
         "route": {"regime": "closed"}},
        # closes a queued route while people wait on it, and a visa-free one into FIN
        {"name": "finland_closes", "start": dt.date(2022, 2, 7), "select": {"to": ["FIN"]},
         "route": {"regime": "closed"}},
    ],
}


def _steps_in_force(model: CompiledModel, start: dt.date, end: dt.date | None) -> np.ndarray:
    """Steps whose middle day lies in [start, end] (the documented rule), from the dates."""
    mids = [s + dt.timedelta(days=(int(d) - 1) // 2)
            for s, d in zip(model.step_starts, model.step_days, strict=True)]
    return np.array([start <= m and (end is None or m <= end) for m in mids])


@pytest.fixture(scope="module")
def closures() -> tuple[CompiledModel, flowsim.Results]:
    scenario, problems = validate_data(POLICIES)
    assert not [p for p in problems if p.severity == "error"]
    model = compile_scenario(scenario)
    return model, flowsim.simulate(model, replicates=50, seed=4, record=ALL)


def test_no_flow_on_a_route_closed_by_a_policy(closures: Any) -> None:
    model, res = closures
    flow = res.dataset["flow"]
    geo = _steps_in_force(model, dt.date(2022, 1, 24), dt.date(2022, 2, 20))
    assert 2 <= geo.sum() < model.n_steps
    men_geo = flow.sel(route="RUS_GEO_land", cohort="men").values  # (replicate, time)
    assert (men_geo[:, geo] == 0).all()
    assert (men_geo[:, ~geo].sum(axis=1) > 0).all()  # open before and after
    # the policy selects men only: the others keep crossing while it is in force
    for cohort in ("rest", "repatriates"):
        assert (flow.sel(route="RUS_GEO_land", cohort=cohort).values[:, geo].sum(axis=1)
                > 0).all()
    fin = _steps_in_force(model, dt.date(2022, 2, 7), None)
    into_fin = flow.sel(route=["RUS_FIN_land", "GEO_FIN_air"]).values  # (rep, T, 2, K)
    assert (into_fin[:, fin] == 0).all()
    assert (into_fin[:, ~fin].sum(axis=(1, 2, 3)) > 0).all()
    # applicants waiting on RUS_FIN when it closed were refused and are back in Russia:
    # nobody waits on a route into Finland afterwards (FIN's stock is only those present)
    assert (res.dataset["visas_issued"].sel(country="FIN").values[:, fin] == 0).all()


def test_no_flow_without_the_required_flag_or_eligibility(closures: Any) -> None:
    model, res = closures
    flow = res.dataset["flow"]
    isr = flow.sel(route="RUS_ISR_air")
    assert (isr.sel(cohort=["men", "rest"]).values == 0).all()
    assert (isr.sel(cohort="repatriates").values.sum(axis=1) > 0).all()
    hum = flow.sel(route="RUS_DEU_air")
    assert (hum.sel(cohort=["rest", "repatriates"]).values == 0).all()
    assert (hum.sel(cohort="men").values.sum(axis=1) > 0).all()
    # the compiled mask says the same, and no flow anywhere escapes it
    assert (res.dataset["flow"].values[:, ~open_mask(model)] == 0).all()


def _edge_scenario(route: dict[str, Any], policy_route: dict[str, Any],
                   eligible: tuple[str, ...] = ()) -> flowsim.Scenario:
    data = {
        "name": "edge",
        "calendar": _weeks(10),
        "countries": [{"id": "RUS", "name": "Origin", "roles": ["origin"]},
                      {"id": "DEU", "name": "D"}],
        "routes": [{"from": "RUS", "to": "DEU", **route}],
        "cohorts": [{"name": "rest", "population": 10_000, "baseline_hazard": 0.3,
                     "eligible": list(eligible)}],
        "policies": [{"name": "change", "start": dt.date(2022, 1, 24),
                      "select": {"to": ["DEU"]}, "route": policy_route}],
    }
    scenario, problems = validate_data(data)
    assert not [p for p in problems if p.severity == "error"]
    return scenario


def test_waiting_applicants_do_not_cross_a_route_that_becomes_humanitarian_only() -> None:
    """People queued on a visa route when it turns humanitarian_only are refused if their
    cohort is not eligible (they used to be granted and cross it)."""
    scenario = _edge_scenario({"regime": "visa_required", "delay_days": 60},
                              {"regime": "humanitarian_only"})
    model = compile_scenario(scenario)
    res = flowsim.simulate(model, replicates=20, seed=1, record=ALL)
    flow = res.dataset["flow"].values[:, :, 0, 0]
    after = _steps_in_force(model, dt.date(2022, 1, 24), None)
    assert (flow[:, ~after].sum(axis=1) > 0).all()
    assert (flow[:, after] == 0).all(), "a humanitarian_only route carried a cohort it " \
        "does not admit"
    assert (res.dataset["stock"].sel(country="DEU").values[:, after]
            == res.dataset["stock"].sel(country="DEU").values[:, [int(np.argmax(after)) - 1]]
            ).all()
    # an eligible cohort keeps its place in the queue and is admitted
    scenario = _edge_scenario({"regime": "visa_required", "delay_days": 60},
                              {"regime": "humanitarian_only"}, eligible=("humanitarian",))
    res = flowsim.simulate(scenario, replicates=20, seed=1, record=ALL)
    assert (res.dataset["flow"].values[:, after, 0, 0].sum(axis=1) > 0).all()


def test_a_route_opened_by_a_policy_carries_people() -> None:
    """A cohort whose only route is closed with no policy in force leaves once a policy opens
    it (the deterrence ratio used to be 0/0 -> 0 for ever, so nobody ever left)."""
    scenario = _edge_scenario({"regime": "closed"}, {"regime": "visa_free"})
    model = compile_scenario(scenario)
    res = flowsim.simulate(model, replicates=20, seed=1)
    dep = res.dataset["departures"].values[:, :, 0]
    after = _steps_in_force(model, dt.date(2022, 1, 24), None)
    assert (dep[:, ~after] == 0).all()
    assert (dep[:, after].sum(axis=1) > 0).all()
    # with nothing to compare against, the route is not a deterrent: the full hazard applies
    first = int(np.argmax(after))
    stock0 = 10_000
    mean_first = dep[:, first].mean()
    sd = np.sqrt(stock0 * 0.3 * 0.7 / dep.shape[0])
    assert abs(mean_first - stock0 * 0.3) < 5 * sd


# -- quotas -----------------------------------------------------------------------------------

QUOTAS = {
    "name": "quotas",
    "calendar": _weeks(10),
    "countries": [
        {"id": "RUS", "name": "Origin", "roles": ["origin"]},
        {"id": "FIN", "name": "F", "roles": ["transit"], "onward_hazard": 0.5,
         "asylum": {"claim_hazard": 0.5, "processing_days": 5, "capacity": 40}},
        {"id": "EST", "name": "E", "roles": ["destination"]},
        {"id": "DEU", "name": "D", "roles": ["destination"]},
    ],
    "routes": [
        {"from": "RUS", "to": "FIN", "capacity": 300},
        {"from": "RUS", "to": "EST", "regime": "visa_required", "delay_days": 3,
         "issuance": 0.9, "capacity": 100},
        {"from": "FIN", "to": "DEU", "capacity": 25},
    ],
    "cohorts": [
        {"name": "a", "population": 3000, "baseline_hazard": 0.4},
        {"name": "b", "population": 2000, "baseline_hazard": 0.6},
    ],
    "policies": [
        {"name": "fin_quota_halved", "start": dt.date(2022, 2, 7),
         "select": {"to": ["FIN"], "from": ["RUS"]}, "route": {"capacity": 150}},
        {"name": "fin_asylum_slower", "start": dt.date(2022, 2, 14),
         "select": {"countries": ["FIN"]}, "country": {"asylum": {"capacity": 10}}},
    ],
}


def test_quotas_are_never_exceeded() -> None:
    scenario, _ = validate_data(QUOTAS)
    model = compile_scenario(scenario)
    res = flowsim.simulate(model, replicates=100, seed=9, record=ALL)
    flow = res.dataset["flow"].sum("cohort")  # (replicate, time, route)
    halved = _steps_in_force(model, dt.date(2022, 2, 7), None)
    cap_fin = np.where(halved, 150, 300)
    f = flow.sel(route="RUS_FIN_land").values
    assert (f <= cap_fin).all()
    assert (f == cap_fin).mean() > 0.5  # the quota binds: the test is not vacuous
    est = flow.sel(route="RUS_EST_land").values
    assert (est <= 100).all() and (est == 100).any()
    deu = flow.sel(route="FIN_DEU_land").values
    assert (deu <= 25).all() and (deu == 25).any()
    slower = _steps_in_force(model, dt.date(2022, 2, 14), None)
    dec = res.dataset["asylum_decisions"].sel(country="FIN").sum("cohort").values
    acap = np.where(slower, 10, 40)
    assert (dec <= acap).all() and (dec == acap).any()
    # people held back by a quota stay at the source: nobody is lost
    assert (res.dataset["stock"].sum(("country", "cohort")).values == 5000).all()


# -- reproducibility --------------------------------------------------------------------------

REPRO = {**POLICIES, "name": "reproducibility"}
REPRO_SCENARIO = flowsim.Scenario.model_validate(REPRO)


def _same(a: flowsim.Results, b: flowsim.Results) -> bool:
    return all(np.array_equal(a.dataset[v].values, b.dataset[v].values)
               for v in a.dataset.data_vars)


@pytest.fixture(scope="module")
def reference_run() -> flowsim.Results:
    return flowsim.simulate(REPRO_SCENARIO, replicates=230, seed=12, block_size=25,
                            record=ALL)


@pytest.mark.parametrize("workers", [2, 3])
def test_bit_identical_whatever_the_workers(reference_run: flowsim.Results,
                                            workers: int) -> None:
    res = flowsim.simulate(REPRO_SCENARIO, replicates=230, seed=12, block_size=25,
                           record=ALL, workers=workers)
    assert _same(res, reference_run)


@pytest.mark.parametrize("order", [list(range(9, -1, -1)), [3, 7, 0, 9, 1, 5, 2, 8, 6, 4]])
def test_bit_identical_whatever_the_block_order(reference_run: flowsim.Results,
                                                order: list[int]) -> None:
    res = flowsim.simulate(REPRO_SCENARIO, replicates=230, seed=12, block_size=25,
                           record=ALL, _block_order=order)
    assert _same(res, reference_run)
    res = flowsim.simulate(REPRO_SCENARIO, replicates=230, seed=12, block_size=25,
                           record=ALL, _block_order=order, workers=2)
    assert _same(res, reference_run)


def test_a_replicate_does_not_depend_on_the_number_of_replicates() -> None:
    small = flowsim.simulate(REPRO_SCENARIO, replicates=500, seed=3)
    large = flowsim.simulate(REPRO_SCENARIO, replicates=1000, seed=3)
    for v in small.dataset.data_vars:
        np.testing.assert_array_equal(small.dataset[v].values,
                                      large.dataset[v].values[:500], err_msg=v)


def test_coupled_replicates_do_not_depend_on_the_run_or_block() -> None:
    """With exact sampling a replicate is reproduced by any run holding its whole block; with
    coupled sampling (draws keyed on the replicate's global index) by any run at all, whatever
    its length or block size — a partly filled last block included."""
    small = flowsim.simulate(REPRO_SCENARIO, replicates=600, seed=3, sampling="coupled")
    large = flowsim.simulate(REPRO_SCENARIO, replicates=1000, seed=3, sampling="coupled",
                             block_size=64)
    np.testing.assert_array_equal(small.dataset["stock"].values,
                                  large.dataset["stock"].values[:600])


def test_shared_parameters_are_computed_once_with_the_same_numbers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # a block whose replicates share their parameters computes each epoch's quantities for
    # one row; the draws must be those of the same block computed row by row
    model = compile_scenario(REPRO_SCENARIO)
    params = model.default_params(9)
    shared = run_block(model, params, ExactSampler(np.random.default_rng(4)), record=ALL)
    from flowsim.core import engine, epochs

    derived = epochs.BlockEpochs
    rows: list[int] = []

    def per_row(m: CompiledModel, p: np.ndarray) -> Any:
        rows.append(p.shape[0])
        return derived(m, params)

    monkeypatch.setattr(engine, "BlockEpochs", per_row)
    full = run_block(model, params, ExactSampler(np.random.default_rng(4)), record=ALL)
    assert rows == [1]  # the engine did ask for one row
    for name in ALL:
        np.testing.assert_array_equal(shared[name], full[name], err_msg=name)


def test_seeds() -> None:
    def run(seed: Any) -> flowsim.Results:
        return flowsim.simulate(REPRO_SCENARIO, replicates=20, seed=seed)

    zero = run(0)
    assert _same(zero, run(0))
    assert _same(zero, run(np.random.SeedSequence(0)))
    assert _same(zero, run(np.random.default_rng(0)))
    assert zero.dataset.attrs["seed_entropy"] == "0"
    assert not _same(zero, run(1))  # seed 0 is a seed, not "no seed"
    assert not _same(zero, run(None))
    assert not _same(run(1), run(2))
    fresh = run(None)  # fresh entropy, recorded so that the run can be repeated
    again = run(np.random.SeedSequence(int(fresh.dataset.attrs["seed_entropy"])))
    assert _same(fresh, again)


# -- parameters per replicate -----------------------------------------------------------------

PARAMS = {
    "name": "parameters per replicate",
    "calendar": _weeks(6),
    "countries": [
        {"id": "RUS", "name": "Origin", "roles": ["origin"]},
        {"id": "GEO", "name": "G", "roles": ["transit"], "onward_hazard": "q"},
        {"id": "DEU", "name": "D", "roles": ["destination"]},
    ],
    "routes": [{"from": "RUS", "to": "GEO"}, {"from": "GEO", "to": "DEU"}],
    "cohorts": [{"name": "all", "population": "pop", "baseline_hazard": "h"}],
    "parameters": {"pop": 1000, "h": 0.2, "q": 0.3},
}
PARAMS_SCENARIO = flowsim.Scenario.model_validate(PARAMS)


def test_each_replicate_gets_its_own_parameters() -> None:
    """Deterministic consequences of each replicate's own values: population, h = 0, h = 1."""
    pops = np.array([10, 500, 1234, 7, 800, 0])
    hs = np.array([0.0, 1.0, 0.3, 1.0, 0.0, 0.5])
    qs = np.array([0.5, 0.0, 0.2, 1.0, 0.9, 0.1])
    res = flowsim.simulate(PARAMS_SCENARIO, replicates=6, seed=1, block_size=4,
                           params={"pop": pops, "h": hs, "q": qs})
    ds = res.dataset
    np.testing.assert_array_equal(ds["stock"].sum(("country", "cohort")).values,
                                  np.broadcast_to(pops[:, None], (6, 6)))
    dep = ds["departures"].sum("cohort").values
    assert (dep[hs == 0] == 0).all()
    np.testing.assert_array_equal(dep[hs == 1][:, 0], pops[hs == 1])  # all leave in step 1
    deu = ds["stock"].sel(country="DEU").sum("cohort").values
    assert (deu[qs == 0] == 0).all()
    # q = 1: everybody who arrived in GEO by step t - 1 is in DEU at the end of step t
    one = np.flatnonzero(qs == 1)[0]
    np.testing.assert_array_equal(deu[one, 1:], dep[one].cumsum()[:-1])
    np.testing.assert_array_equal(ds["params"].values,
                                  np.stack([pops, hs, qs], axis=1).astype(float))


def test_per_replicate_values_match_uniform_runs_with_one_replicate_per_block() -> None:
    """With one replicate per block each replicate has a stream of its own: a run with a
    value per replicate equals, replicate by replicate, runs with that value for all."""
    qs = np.array([0.1, 0.5, 0.9])
    mixed = flowsim.simulate(PARAMS_SCENARIO, replicates=3, seed=8, block_size=1,
                             params={"q": qs})
    for i, q in enumerate(qs):
        uniform = flowsim.simulate(PARAMS_SCENARIO, replicates=3, seed=8, block_size=1,
                                   params={"q": q})
        for v in ("stock", "departures", "arrivals"):
            np.testing.assert_array_equal(mixed.dataset[v].values[i],
                                          uniform.dataset[v].values[i], err_msg=v)


def test_per_replicate_values_match_uniform_runs_in_one_block() -> None:
    """A batch equals single runs (STYLE.md item 6) with coupled sampling. With exact
    sampling the replicates of a block share one Generator, whose binomial sampler uses a
    value-dependent number of uniforms: a replicate's draws then depend on its neighbours'
    parameters (statistically harmless; the block size 1 case is tested above)."""
    qs = np.array([0.1, 0.5, 0.9, 0.3])
    mixed = flowsim.simulate(PARAMS_SCENARIO, replicates=4, seed=8, params={"q": qs},
                             sampling="coupled")
    for i, q in enumerate(qs):
        uniform = flowsim.simulate(PARAMS_SCENARIO, replicates=4, seed=8, params={"q": q},
                                   sampling="coupled")
        np.testing.assert_array_equal(mixed.dataset["stock"].values[i],
                                      uniform.dataset["stock"].values[i])


def test_a_params_matrix_equals_the_same_values_by_name() -> None:
    rng = np.random.default_rng(0)
    matrix = np.stack([rng.integers(100, 1000, 40).astype(float), rng.uniform(0, 1, 40),
                       rng.uniform(0, 1, 40)], axis=1)
    a = flowsim.simulate(PARAMS_SCENARIO, replicates=40, seed=5, block_size=16, params=matrix)
    b = flowsim.simulate(PARAMS_SCENARIO, replicates=40, seed=5, block_size=16,
                         params={"pop": matrix[:, 0], "h": matrix[:, 1], "q": matrix[:, 2]})
    assert _same(a, b)


# -- argument errors --------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"params": {"qq": 0.2}}, KeyError, r"unknown parameter 'qq' — did you mean 'q'\?"),
    ({"params": {"h": [0.1, 0.2]}}, ValueError, r"parameter 'h': give one number or 5 values"),
    ({"params": np.zeros((5, 2))}, ValueError,
     r"params has shape \(5, 2\); expected \(5, 3\) for parameters pop, h, q"),
    ({"params": np.zeros((4, 3))}, ValueError, r"expected \(5, 3\)"),
    ({"params": np.full((5, 3), np.inf)}, ValueError, "not finite"),
    ({"replicates": 0}, ValueError, "replicates must be a positive whole number, got 0"),
    ({"replicates": -3}, ValueError, "replicates must be a positive whole number"),
    ({"replicates": 2.5}, ValueError, "replicates must be a positive whole number, got 2.5"),
    ({"replicates": True}, ValueError, "replicates must be a positive whole number"),
    ({"block_size": 0}, ValueError, "block_size must be positive"),
    ({"record": ["stock", "stocks"]}, ValueError, r"cannot record \['stocks'\]"),
    ({"seed": -1}, ValueError, "seed must not be negative"),
    ({"seed": 1.5}, TypeError, "seed must be an int"),
    ({"_block_order": [0, 0]}, ValueError, "permutation"),
])
def test_simulate_argument_errors(kwargs: dict[str, Any], error: type[Exception],
                                  match: str) -> None:
    args = {"replicates": 5, "seed": 1, **kwargs}
    with pytest.raises(error, match=match):
        flowsim.simulate(PARAMS_SCENARIO, **args)


def test_non_finite_values_by_name_are_refused() -> None:
    with pytest.raises(ValueError, match="not finite"):
        flowsim.simulate(PARAMS_SCENARIO, replicates=5, seed=1, params={"q": np.nan})


# -- reductions in the workers and a kept pool ---------------------------------------------------


def _abroad_at_end(res: flowsim.Results) -> np.ndarray:
    return res.abroad(res.dataset["time"].values[-1]).values


def test_reduce_in_workers_equals_the_full_results() -> None:
    from flowsim.ensemble.workers import local_pool

    full = flowsim.simulate(REPRO_SCENARIO, replicates=300, seed=4, block_size=64)
    expected = full.abroad(full.dataset["time"].values[-1]).values
    here = flowsim.simulate(REPRO_SCENARIO, replicates=300, seed=4, block_size=64,
                            reduce=_abroad_at_end)
    there = flowsim.simulate(REPRO_SCENARIO, replicates=300, seed=4, block_size=64,
                             reduce=_abroad_at_end, workers=2)
    np.testing.assert_array_equal(here, expected)
    np.testing.assert_array_equal(there, expected)
    with local_pool(2) as pool:
        kept = flowsim.simulate(REPRO_SCENARIO, replicates=300, seed=4, block_size=64,
                                pool=pool)
    assert _same(kept, full)


def test_reduce_must_give_one_row_per_replicate() -> None:
    with pytest.raises(ValueError, match="one row per replicate"):
        flowsim.simulate(REPRO_SCENARIO, replicates=10, seed=1, reduce=lambda r: np.zeros(3))
