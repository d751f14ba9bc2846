"""Schedules: behaviour over time, kept apart from policies (exact answers are in
``tests/test_toys.py`` and ``tests/test_reference_gof.py``; this file checks the rules)."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import numpy as np
import pytest

import flowsim
from flowsim.core.compile import compile_scenario
from flowsim.core.epochs import BlockEpochs
from flowsim.scenario import validate_data
from flowsim.testing import linear_chain

START = dt.date(2022, 1, 3)


def _data(**extra: Any) -> dict[str, Any]:
    data = linear_chain(N=1000, h=0.1, q=0.2, steps=10).scenario.to_data()
    data["countries"].append({"id": "CCC", "name": "C"})
    data["routes"].append({"from": "ORG", "to": "CCC"})
    data.update(copy.deepcopy(extra))
    return data


def _schedule(field: str, points: list[tuple[dt.date, float]], **kw: Any) -> dict[str, Any]:
    return {"name": f"s_{field}", "field": field,
            "points": [{"date": d, "value": v} for d, v in points], **kw}


def test_values_are_taken_on_each_steps_middle_day():
    d = START + dt.timedelta(days=21)
    data = _data(schedules=[
        _schedule("onward_hazard", [(START, 1.0), (d, 0.5)], countries=["AAA"]),
        _schedule("attractiveness", [(START, 0.0), (START + dt.timedelta(days=70), 7.0)],
                  countries=["CCC"], interpolate="linear")])
    m = compile_scenario(validate_data(data)[0])
    p = m.default_params(1)
    a, c = m.country_ids.index("AAA"), m.country_ids.index("CCC")
    onward = [float(m.onward_hazard.at(int(e)).values(p)[0, a, 0]) for e in m.epoch_of_step]
    # steps 1-3 end before the point (middle days 3, 10, 17): 0.2; from step 4 (day 24): 0.1
    assert onward == [0.2] * 3 + [0.1] * 7
    attract = [float(m.attractiveness.at(int(e)).values(p)[0, c, 0])
               for e in m.epoch_of_step]
    np.testing.assert_allclose(attract, [(7 * t + 3) / 10 for t in range(10)])


def test_a_schedule_is_behaviour_not_a_closure_it_does_not_deter_departures():
    """Deterrence compares the routes open now with those open with no policy *and the same
    schedule values*: a schedule alone leaves A = 1."""
    data = _data(behaviour={"deterrence": 1.0}, schedules=[
        _schedule("attractiveness", [(START, 0.0), (START + dt.timedelta(days=40), -3.0)],
                  countries=["CCC"], interpolate="linear")])
    m = compile_scenario(validate_data(data)[0])
    be = BlockEpochs(m, m.default_params(1))
    for e in sorted({int(x) for x in m.epoch_of_step}):
        np.testing.assert_allclose(be.epoch(e, 7).access, 1.0)
    # a policy closing CCC still deters, against the same schedule values
    data["policies"] = [{"name": "ccc_closed", "start": START + dt.timedelta(days=14),
                         "select": {"to": ["CCC"]}, "route": {"regime": "closed"}}]
    m = compile_scenario(validate_data(data)[0])
    be = BlockEpochs(m, m.default_params(1))
    last = int(m.epoch_of_step[-1])
    assert float(be.epoch(last, 7).access[0, 0]) == pytest.approx(1 / (1 + np.exp(-3.0)))


def test_a_counterfactual_that_removes_a_policy_keeps_the_schedules(tmp_path):
    base = tmp_path / "base.yaml"
    data = _data(
        schedules=[_schedule("onward_hazard", [(START, 1.0), (START + dt.timedelta(days=30),
                                                              0.0)], countries=["AAA"])],
        policies=[{"name": "ccc_closed", "start": START,
                   "select": {"to": ["CCC"]}, "route": {"regime": "closed"}}])
    from flowsim.scenario.yamlio import dump_yaml

    base.write_text(dump_yaml(data))
    cf = tmp_path / "cf.yaml"
    cf.write_text("extends: base.yaml\nname: open\npolicies:\n  remove: [ccc_closed]\n")
    s = flowsim.load_scenario(cf)
    assert [x.name for x in s.schedules] == ["s_onward_hazard"] and not s.policies


@pytest.mark.parametrize("schedule, message", [
    (_schedule("onward_hazard", [(START, 1.0), (START, 2.0)]),
     "schedules[0].points[1].date: 2022-01-03 is not after the point before it"),
    (_schedule("return_hazard", [(START, -0.5)]),
     "schedules[0].points[0].value: a factor on return_hazard cannot be negative"),
    (_schedule("onward_hazard", [(START, 1.0)], countries=["AAB"]),
     "schedules[0].countries[0]: unknown country or group 'AAB' — did you mean 'AAA'?"),
    (_schedule("onward_hazard", [(START, 1.0)], cohorts=["al"]),
     "schedules[0].cohorts[0]: unknown cohort 'al' — did you mean 'all'?"),
])
def test_a_broken_schedule_is_an_error_at_its_place(schedule, message):
    with pytest.raises(flowsim.ScenarioError) as e:
        validate_data(_data(schedules=[schedule]))
    assert any(message in str(p) for p in e.value.problems), e.value.problems


def test_an_unknown_field_is_named():
    with pytest.raises(flowsim.ScenarioError, match="field"):
        validate_data(_data(schedules=[_schedule("baseline_hazard", [(START, 1.0)])]))
