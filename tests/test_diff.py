"""`flowsim diff BASE OVERLAY`: what a counterfactual changes, in words."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import invoke

from conftest import base_data, write_yaml
from flowsim.scenario import validate_data
from flowsim.scenario.diff import scenario_diff

OVERLAY = ("extends: toy.yaml\nname: no closure\npolicies:\n  remove: [finland_closes]\n"
           "  add:\n    - {name: more_visas, start: 2022-04-01, select: {to: [DEU]},"
           " route: {issuance: 0.6}}\n")


def test_the_same_scenario_has_no_changes() -> None:
    s, _ = validate_data(base_data())
    assert scenario_diff(s, s) == []


def test_changes_are_named_by_what_they_touch() -> None:
    data = base_data()
    other = {**data, "policies": [{**p, "start": "2022-10-07"} if p["name"] == "finland_closes"
                                  else p for p in data["policies"]]}
    a, _ = validate_data(data)
    b, _ = validate_data(other)
    (change,) = scenario_diff(a, b)
    assert change.kind == "changed" and change.path == "policies[finland_closes].start"
    assert change.text == "policies[finland_closes].start: '2022-09-30' → '2022-10-07'"


def test_diff_command_lists_an_overlays_changes(tmp_path: Path) -> None:
    write_yaml(tmp_path / "toy.yaml", base_data())
    (tmp_path / "cf.yaml").write_text(OVERLAY)
    result = invoke("diff", str(tmp_path / "toy.yaml"), str(tmp_path / "cf.yaml"))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "3 changes" in lines[0]
    assert "  - policy 'finland_closes' removed" in lines
    assert any(line.startswith("  + policy 'more_visas' added") for line in lines)
    same = invoke("diff", str(tmp_path / "toy.yaml"), str(tmp_path / "toy.yaml"))
    assert "is the same scenario" in same.stdout
    bad = invoke("diff", str(tmp_path / "toy.yaml"), str(tmp_path / "missing.yaml"))
    assert bad.exit_code == 2
