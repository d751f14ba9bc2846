"""Bad input ends with positioned one-line errors and exit 2, never a traceback (issue 16).

Each case here once crashed or gave an error without a file position: a negative `about`
target, numbers where names belong, control characters (in the scenario and in its targets
file), very deep nesting, a broken target hiding its other errors, and a horizon of a
hundred thousand steps.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from cli_helpers import invoke
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import base_data, write_yaml
from flowsim.cli._common import EXIT_BAD_INPUT
from flowsim.errors import ScenarioError
from flowsim.scenario import load_scenario
from flowsim.scenario.calendar import step_edges
from flowsim.scenario.limits import MAX_STEPS, STEPS_VARIABLE, step_count
from flowsim.scenario.model import Calendar

# file:line:column: at the start of every problem line
POSITIONED = re.compile(r"^\S+:\d+:\d+: ")


def _problems(result) -> list[str]:
    """The problem lines of a failed ``flowsim validate`` (the last line is the tally)."""
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines[-1].endswith(")") and "invalid" in lines[-1], result.stderr
    return lines[:-1]


def _validate_fails(path: Path, *args: str) -> list[str]:
    result = invoke("validate", str(path), *args)
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    problems = _problems(result)
    assert problems and all(POSITIONED.match(p) for p in problems), problems
    return problems


# -- targets ------------------------------------------------------------------------------------


def test_a_negative_about_target_is_caught_by_validate(tmp_path: Path) -> None:
    data = base_data()
    data["targets"][0]["value"] = -500000
    [line] = _validate_fails(write_yaml(tmp_path / "s.yaml", data))
    assert "targets[0]: value must not be negative" in line
    # and `run` stops at the same place, before drawing anything
    result = invoke("run", str(tmp_path / "s.yaml"), "-n", "2", "-o", str(tmp_path / "out"))
    assert result.exit_code == EXIT_BAD_INPUT
    assert not (tmp_path / "out").exists()


def test_a_broken_target_still_gets_its_other_errors(tmp_path: Path) -> None:
    data = base_data()
    data["targets"] += [
        # a misspelt observable, a duplicate id, an unknown place and a date after the horizon
        {"id": "left_2022", "observable": "departurs", "kind": "interval", "low": 1,
         "high": 2, "where": ["XYZ"], "start": dt.date(2022, 3, 1),
         "end": dt.date(2023, 6, 1), "source": "s"},
        # low above high, an unknown place, a date outside the horizon
        {"id": "upside_down", "observable": "stock", "kind": "interval", "low": 5, "high": 1,
         "where": ["XYZ"], "at": dt.date(2024, 1, 1), "source": "s"},
        # a series of a stock whose first window starts on the horizon's first day (its
        # change would start before the horizon) and whose second ends after the horizon
        {"id": "permits", "observable": "settled", "kind": "series", "where": ["GEO"],
         "windows": [{"start": data["calendar"]["start"], "end": dt.date(2022, 3, 31),
                      "value": 10},
                     {"start": dt.date(2022, 4, 1), "end": dt.date(2024, 1, 1), "value": 10}],
         "source": "s"},
    ]
    text = "\n".join(_validate_fails(write_yaml(tmp_path / "s.yaml", data)))
    for expected in ("targets[2].id: the target 'left_2022' is declared twice",
                     "targets[2].observable: 'departurs' is not one of",
                     "targets[2].where[0]: unknown country or group 'XYZ'",
                     "targets[2].end: 2023-06-01 is after the horizon ends",
                     "targets[3]: low (5) is above high (1)",
                     "targets[3].where[0]: unknown country or group 'XYZ'",
                     "targets[3].at: 2024-01-01 is outside the horizon",
                     ("targets[4].windows[0].start: a window of a series of settled is its "
                      "change from the day before it starts"),
                     "targets[4].windows[1].end: 2024-01-01 is after the horizon ends"):
        assert expected in text, text


# -- numbers and other values where names belong -------------------------------------------------


@pytest.mark.parametrize("change", [
    lambda d: d["countries"][1].update(id=123),  # a country id that is a number
    lambda d: d["countries"][1].update(id=True),
    lambda d: d["cohorts"][0].update(name=7),
    lambda d: d["groups"].update(west=[1, True, None]),
    lambda d: d["routes"][0].update(to=42),
    lambda d: d["policies"][0]["select"].update(to=[3.5]),
    lambda d: d["targets"][1].update(where=[False]),
    lambda d: d["shocks"][1].update(cohorts=[{"a": 1}]),
    lambda d: d.update(groups={1: ["GEO"], "west": ["schengen"]}),
    lambda d: d["countries"][3]["attractiveness"].update({5: 1.0}),
])
def test_a_non_string_where_a_name_belongs_is_a_positioned_error(tmp_path: Path,
                                                                 change) -> None:
    data = base_data()
    change(data)
    _validate_fails(write_yaml(tmp_path / "s.yaml", data))


# -- characters and structure YAML does not allow ------------------------------------------------


def test_control_characters_are_reported_at_their_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: to\x01y\ndescription: a\x02\x1b\n", encoding="utf-8")
    problems = _validate_fails(path)
    assert [p.split(": ")[0] for p in problems] == [f"{path}:1:9", f"{path}:2:15",
                                                    f"{path}:2:16"]
    assert "control character U+0001" in problems[0]
    assert "<scenario>" not in "".join(problems)


def test_a_control_character_in_the_targets_file_is_positioned_there(tmp_path: Path) -> None:
    data = base_data()
    targets = data.pop("targets")
    data["targets"] = "targets.yaml"
    write_yaml(tmp_path / "s.yaml", data)
    from flowsim.scenario.yamlio import dump_yaml

    text = dump_yaml(targets).replace("source: article", "source: art\x07icle", 1)
    (tmp_path / "targets.yaml").write_text(text, encoding="utf-8")
    line = text[:text.index("\x07")].count("\n") + 1
    [problem] = _validate_fails(tmp_path / "s.yaml")
    assert problem.startswith(f"{tmp_path / 'targets.yaml'}:{line}:"), problem
    assert "U+0007" in problem


def test_invalid_yaml_is_positioned(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: toy\ncountries: [RUS\n  : x\n", encoding="utf-8")
    [problem] = _validate_fails(path)
    assert "is not valid YAML" in problem


@pytest.mark.parametrize("text", [
    "name: " + "[" * 5000 + "]" * 5000,  # flow style: once a RecursionError with no place
    "name: " + "{a: " * 3000 + "1" + "}" * 3000,
    "name:" + "".join("\n" + " " * (i + 1) + "- " for i in range(2000)) + "x",
])
def test_very_deep_nesting_is_positioned(tmp_path: Path, text: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    [problem] = _validate_fails(path)
    assert "nested too deeply" in problem


# -- the horizon -------------------------------------------------------------------------------


def test_a_horizon_of_too_many_steps_is_refused_and_the_limit_can_be_raised(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = base_data()
    data["calendar"]["start"] = dt.date(1, 1, 1)  # 105,000 weekly steps: a slip in the year
    path = write_yaml(tmp_path / "s.yaml", data)
    [problem] = _validate_fails(path)
    assert f"more than the limit of {MAX_STEPS:,}" in problem
    assert "--max-steps" in problem and STEPS_VARIABLE in problem
    assert problem.startswith(f"{path}:")
    assert invoke("validate", str(path), "--max-steps", "200000").exit_code == 0
    monkeypatch.setenv(STEPS_VARIABLE, "200000")
    assert load_scenario(path).calendar.start == dt.date(1, 1, 1)
    monkeypatch.setenv(STEPS_VARIABLE, "many")
    with pytest.raises(ScenarioError, match="FLOWSIM_MAX_STEPS must be a positive whole"):
        load_scenario(path)
    # and a lower limit refuses the bundled size of horizon
    monkeypatch.delenv(STEPS_VARIABLE)
    with pytest.raises(ScenarioError, match=r"has 51 week steps, more than the limit of 50"):
        load_scenario(write_yaml(tmp_path / "ok.yaml", base_data()), max_steps=50)


@settings(max_examples=200, deadline=None)
@given(start=st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)),
       days=st.integers(0, 2000), step=st.sampled_from(["day", "week", "month"]))
def test_step_count_counts_the_steps_of_step_edges(start: dt.date, days: int,
                                                   step: str) -> None:
    cal = Calendar(start=start, end=start + dt.timedelta(days=days), step=step)
    assert step_count(cal) == len(step_edges(cal)) - 1
