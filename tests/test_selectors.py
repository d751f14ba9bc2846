"""Policy selectors: route ids, shared capacities, and the compiled result of a selection."""

from __future__ import annotations

import numpy as np
import pytest

import flowsim
from flowsim.core.compile import CLOSED, compile_scenario
from flowsim.scenario import validate_data


def test_select_routes_by_id_changes_only_that_route(base):
    base["routes"].append({"id": "rus_deu_humanitarian", "from": "RUS", "to": "DEU",
                           "mode": "air", "regime": "humanitarian_only", "capacity": 10})
    base["routes"].append({"from": "RUS", "to": "DEU", "mode": "land",
                           "regime": "visa_required"})
    base["policies"].append({"name": "close_humanitarian", "start": "2022-04-01",
                             "select": {"routes": ["rus_deu_humanitarian"]},
                             "route": {"regime": "closed"}})
    scenario, _ = validate_data(base)
    model = compile_scenario(scenario)
    hum = model.route_keys.index("rus_deu_humanitarian")
    land = model.route_keys.index("RUS_DEU_land")
    last = model.epoch_of_step[-1]
    assert (model.route_regime[last, hum] == CLOSED).all()
    assert (model.route_regime[last, land] != CLOSED).all()


def test_unknown_route_id_has_a_suggestion(base):
    base["policies"].append({"name": "typo", "start": "2022-04-01",
                             "select": {"routes": ["RUS_GEO_lnd"]},
                             "route": {"regime": "closed"}})
    with pytest.raises(flowsim.ScenarioError,
                       match=r"select\.routes\[0\]: unknown route 'RUS_GEO_lnd' — did you mean "
                             r"'RUS_GEO_land'\?"):
        validate_data(base)


def test_capacity_change_cannot_select_cohorts(base):
    base["policies"].append({"name": "quota_for_men", "start": "2022-04-01",
                             "select": {"to": ["FIN"], "cohorts": ["men"]},
                             "route": {"capacity": 10}})
    with pytest.raises(flowsim.ScenarioError, match="capacity is shared by all cohorts"):
        validate_data(base)


def test_population_beyond_32_bits_is_refused(base):
    base["cohorts"][1]["population"] = 3_000_000_000
    with pytest.raises(flowsim.ScenarioError, match="must stay below 2,147,483,648"):
        validate_data(base)


def test_policy_for_one_cohort_leaves_the_other_open(base):
    base["policies"].append({"name": "men_stopped", "start": "2022-02-01",
                             "select": {"to": ["GEO"], "cohorts": ["men"]},
                             "route": {"regime": "closed"}})
    scenario, _ = validate_data(base)
    model = compile_scenario(scenario)
    geo = model.route_keys.index("RUS_GEO_land")
    men, rest = model.cohort_names.index("men"), model.cohort_names.index("rest")
    after = np.unique(model.epoch_of_step[6:])
    assert (model.route_regime[after, geo, men] == CLOSED).all()
    assert (model.route_regime[after, geo, rest] != CLOSED).all()
