"""Shocks on hazards abroad, eligibility held by a share of a cohort, and regularisations of
those present before a cut-off date: the checks of their misuse (each error at its place),
and exact equalities of the engine (the list and share forms of a flag, a shock of factor
1, conservation with the eligible counted apart under both samplers)."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import numpy as np
import pytest

import flowsim
from flowsim.core.compile import compile_scenario
from flowsim.core.engine import RECORDABLE, run_block
from flowsim.core.samplers import CoupledSampler, ExactSampler
from flowsim.errors import ScenarioError
from flowsim.scenario import validate_data

START = dt.date(2022, 1, 3)

BASE: dict[str, Any] = {
    "name": "status",
    "calendar": {"start": START, "end": START + dt.timedelta(weeks=10, days=-1)},
    "countries": [
        {"id": "ORG", "name": "Origin", "roles": ["origin"]},
        {"id": "AAA", "name": "A", "onward_hazard": 0.1, "return_hazard": 0.05,
         "settle_hazard": 0.01, "initial": {"men": {"present": 40}}},
        {"id": "BBB", "name": "B", "attractiveness": 1.0, "asylum": {"claim_hazard": 0.1}},
        {"id": "CCC", "name": "C"},
    ],
    "routes": [{"from": "ORG", "to": "AAA"}, {"from": "ORG", "to": "BBB", "requires": ["visa"]},
               {"from": "AAA", "to": "BBB", "regime": "humanitarian_only", "delay_days": 7},
               {"from": "AAA", "to": "CCC"}],
    "cohorts": [{"name": "men", "population": 100, "baseline_hazard": 0.1,
                 "eligible": {"humanitarian": 0.3, "visa": "visa_share"}},
                {"name": "rest", "population": 100, "baseline_hazard": 0.1,
                 "eligible": ["humanitarian"]}],
    "parameters": {"visa_share": 0.5},
}


def _problems(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    try:
        _, warnings = validate_data(data)
    except ScenarioError as err:
        return [(p.path, p.severity, p.message) for p in err.problems]
    return [(p.path, p.severity, p.message) for p in warnings]


def _with(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data.update(changes)
    return data


def test_the_base_is_valid() -> None:
    assert _problems(BASE) == []


def test_a_shock_names_countries_only_with_a_field() -> None:
    shock = {"name": "s", "date": START, "multiplier": 2, "countries": ["AAA"]}
    found = _problems(_with(shocks=[shock]))
    assert found[0][:2] == ("shocks[0].countries", "error")
    assert "give the `field`" in found[0][2]
    assert _problems(_with(shocks=[{**shock, "field": "return_hazard"}])) == []


def test_a_shock_abroad_is_checked_where_it_acts() -> None:
    shock = {"name": "s", "date": START, "multiplier": 2, "field": "return_hazard"}
    found = _problems(_with(shocks=[{**shock, "countries": ["ORG"]}]))
    assert found[0][:2] == ("shocks[0].countries", "error")
    assert "ORG is the origin" in found[0][2]
    found = _problems(_with(shocks=[{**shock, "countries": ["AAB"]}]))
    assert found[0][:2] == ("shocks[0].countries[0]", "error")
    assert "unknown country or group 'AAB'" in found[0][2]
    found = _problems(_with(shocks=[{**shock, "field": "claim_hazard",
                                     "countries": ["AAA", "CCC"]}]))
    assert found[0][:2] == ("shocks[0].field", "error")
    assert "asylum" in found[0][2]
    found = _problems(_with(shocks=[{**shock, "field": "departure_hazard"}]))
    assert found[0][:2] == ("shocks[0].field", "error")


def test_an_eligibility_share_must_be_a_probability() -> None:
    cohorts = copy.deepcopy(BASE["cohorts"])
    cohorts[0]["eligible"] = {"humanitarian": 1.3}
    found = _problems(_with(cohorts=cohorts))
    assert found[0][:2] == ("cohorts[0].eligible.humanitarian", "error")
    cohorts[0]["eligible"] = {"humanitarian": "share"}
    found = _problems(_with(cohorts=cohorts))
    assert found[0][:2] == ("cohorts[0].eligible.humanitarian", "error")
    assert "unknown parameter 'share'" in found[0][2]
    found = _problems(_with(cohorts=cohorts, parameters={"share": 2.0, "visa_share": 0.5}))
    assert any(p[:2] == ("cohorts[0].eligible.humanitarian", "error") and "probability" in p[2]
               for p in found)


def test_at_most_five_flags_are_held_in_part() -> None:
    cohorts = copy.deepcopy(BASE["cohorts"])
    cohorts[1]["eligible"] = {f"f{i}": 0.5 for i in range(5)}
    found = _problems(_with(cohorts=cohorts))
    assert found[0][:2] == ("cohorts[1].eligible", "error")
    assert "at most 5" in found[0][2]


def _amnesty(**country: Any) -> dict[str, Any]:
    return {"name": "amnesty", "start": START + dt.timedelta(weeks=4),
            "select": {"countries": ["AAA"]}, "country": country}


def test_a_cut_off_needs_a_settle_hazard_and_comes_before_the_start() -> None:
    cut = START + dt.timedelta(weeks=2)
    assert _problems(_with(policies=[_amnesty(settle_hazard=0.2,
                                              settle_arrived_before=cut)])) == []
    found = _problems(_with(policies=[_amnesty(settle_arrived_before=cut)]))
    assert found[0][:2] == ("policies[0].country.settle_arrived_before", "error")
    assert "give `settle_hazard` too" in found[0][2]
    late = START + dt.timedelta(weeks=5)
    found = _problems(_with(policies=[_amnesty(settle_hazard=0.2, settle_arrived_before=late)]))
    assert found[0][:2] == ("policies[0].country.settle_arrived_before", "error")
    assert "after the policy starts" in found[0][2]


def test_a_country_has_one_cut_off_date() -> None:
    one = _amnesty(settle_hazard=0.2, settle_arrived_before=START)
    two = {**_amnesty(settle_hazard=0.3, settle_arrived_before=START + dt.timedelta(days=7)),
           "name": "second", "select": {}}
    found = _problems(_with(policies=[one, two]))
    assert found[0][:2] == ("policies[1].country.settle_arrived_before", "error")
    assert "AAA already has the cut-off" in found[0][2]
    only_origin = {**one, "select": {"countries": ["ORG"]}}
    found = _problems(_with(policies=[only_origin]))
    assert found[0][:2] == ("policies[0].country.settle_arrived_before", "error")


def _run(data: dict[str, Any], seed: int = 3, replicates: int = 50) -> dict[str, np.ndarray]:
    scenario, _ = validate_data(data)
    res = flowsim.simulate(scenario, replicates=replicates, seed=seed, workers=1,
                           record=tuple(RECORDABLE))
    return {v: res.dataset[v].values for v in RECORDABLE}


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    for v in RECORDABLE:
        np.testing.assert_array_equal(a[v], b[v], err_msg=v)


def test_a_list_of_flags_is_a_share_of_one_and_a_share_of_zero_no_flag() -> None:
    data = _with(parameters={})
    data["cohorts"][0]["eligible"] = ["humanitarian"]
    as_share = copy.deepcopy(data)
    as_share["cohorts"][0]["eligible"] = {"humanitarian": 1.0, "visa": 0.0}
    assert compile_scenario(validate_data(as_share)[0]).flag_classes is None
    _same(_run(data), _run(as_share))


def test_a_shock_abroad_of_factor_one_changes_nothing() -> None:
    shock = {"name": "s", "date": START + dt.timedelta(days=10), "multiplier": 1.0,
             "field": "return_hazard", "half_life_days": 5}
    _same(_run(BASE), _run(_with(shocks=[shock])))


def test_the_eligible_are_conserved_under_both_samplers() -> None:
    """check=True: nobody lost, and never more eligible than present, with a shock abroad,
    flags held in part and a regularisation with a cut-off, under the exact and the
    coupled sampler; the coupled sampler's counts do not depend on the block."""
    data = _with(
        shocks=[{"name": "s", "date": START + dt.timedelta(days=10), "multiplier": 3.0,
                 "field": "settle_hazard", "countries": ["AAA"], "half_life_days": 7}],
        policies=[_amnesty(settle_hazard=0.3,
                           settle_arrived_before=START + dt.timedelta(weeks=2))])
    model = compile_scenario(validate_data(data)[0])
    params = model.default_params(40)
    for sampler in (ExactSampler(np.random.default_rng(5)), CoupledSampler(9, np.arange(40))):
        out = run_block(model, params, sampler, record=("stock", "settled"), check=True)
        assert out["settled"][:, -1, 1].sum() > 0
    whole = run_block(model, params, CoupledSampler(9, np.arange(40)), record=("stock",))
    half = run_block(model, params[20:], CoupledSampler(9, np.arange(20, 40)),
                     record=("stock",))
    np.testing.assert_array_equal(whole["stock"][20:], half["stock"])


@pytest.mark.parametrize("cut_weeks", [0, 2])
def test_only_those_present_on_the_cut_off_day_settle_faster(cut_weeks: int) -> None:
    """With a huge settle hazard for the eligible and none for the others, the settled by
    the end are at most those present on the cut-off day (the initial 40 when the cut-off is
    the calendar's first day)."""
    data = _with(policies=[_amnesty(settle_hazard=1.0, settle_arrived_before=START
                                    + dt.timedelta(weeks=cut_weeks))])
    data["countries"][1]["settle_hazard"] = 0.0
    out = _run(data, replicates=30)
    settled = out["settled"][:, -1, 1].sum(-1)
    if cut_weeks == 0:
        assert (settled <= 40).all()
    present_at_cut = out["stock"][:, cut_weeks - 1, 1].sum(-1) if cut_weeks else 40
    assert (settled <= present_at_cut).all()
    assert settled.mean() > 0.5 * np.mean(present_at_cut)


def test_the_class_mixture_is_the_same_through_segmented_sums(monkeypatch: Any) -> None:
    """The classes of movers ride along the cohort axis of the route sums: the dense and the
    segmented sums (large graphs) give the same conditionals, access and damping."""
    from flowsim.core.epochs import BlockEpochs
    from flowsim.core.sums import ChainSums

    data = _with(behaviour={"deterrence": 0.7, "deterrence_abroad": True},
                 policies=[{"name": "shut", "start": START + dt.timedelta(weeks=3),
                            "select": {"from": ["AAA"], "to": ["CCC"]},
                            "route": {"regime": "closed"}}])
    model = compile_scenario(validate_data(data)[0])
    params = model.default_params(2)
    params[1, model.param_names.index("visa_share")] = 0.9
    ref = BlockEpochs(model, params)
    monkeypatch.setattr(ChainSums, "DENSE_LIMIT", 0)
    other = BlockEpochs(model, params)
    assert ref.sums.dense and not other.sums.dense
    for e in range(model.n_epochs):
        a, b = ref.epoch(e, 7), other.epoch(e, 7)
        np.testing.assert_allclose(b.route_cond, a.route_cond, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(b.access, a.access, rtol=1e-12)
        np.testing.assert_allclose(b.damping, a.damping, rtol=1e-12)
    # the classes' probabilities add up to 1 for every cohort and replicate
    np.testing.assert_allclose(ref.class_p.sum(axis=1), 1.0)
