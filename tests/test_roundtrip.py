"""Property tests: a valid scenario survives writing to YAML (or JSON) and reading back."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from hypothesis import HealthCheck, given, settings

import flowsim
from flowsim.scenario import read_scenario, validate_data
from flowsim.scenario.yamlio import dump_yaml, plain, read_yaml
from flowsim.testing.strategies import scenarios

SETTINGS = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@SETTINGS
@given(scenario=scenarios())
def test_yaml_round_trip(scenario: flowsim.Scenario, tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(dump_yaml(scenario.to_data()), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", flowsim.ScenarioWarning)
        again = flowsim.load_scenario(path)
    assert again == scenario
    # and writing it again gives the same text
    assert dump_yaml(again.to_data()) == path.read_text(encoding="utf-8")


@SETTINGS
@given(scenario=scenarios())
def test_json_round_trip(scenario: flowsim.Scenario) -> None:
    text = json.dumps(scenario.to_data(json=True))
    again, _ = validate_data(json.loads(text))
    assert again == scenario


@SETTINGS
@given(scenario=scenarios())
def test_read_yaml_then_validate(scenario: flowsim.Scenario, tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(dump_yaml(scenario.to_data()), encoding="utf-8")
    data = read_yaml(path)
    assert plain(data) == scenario.to_data()
    again, _ = validate_data(data)
    assert again == scenario


def test_base_fixture_round_trips(scenario_file, tmp_path: Path) -> None:
    scenario, found = read_scenario(scenario_file())
    assert found == []
    path2 = tmp_path / "again.yaml"
    path2.write_text(dump_yaml(scenario.to_data()), encoding="utf-8")
    assert read_scenario(path2)[0] == scenario
