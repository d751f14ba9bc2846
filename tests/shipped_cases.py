"""Checks that every shipped case's tests share (``tests/test_syria_scenario.py``,
``tests/test_venezuela_scenario.py``): the files load cleanly and start with the schema line,
every parameter has a described prior, every target names its source, every dated item lies
inside the calendar, the case's policies are on their dates, and the counterfactual overlay
removes the policies it names and changes nothing else.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import flowsim
from flowsim.scenario import read_scenario
from flowsim.scenario.model import Scenario

SCHEMA_LINE = "# yaml-language-server: $schema=../docs/scenario.schema.json"


def read_clean(path: Path) -> Scenario:
    """The scenario at ``path``, which must read with neither errors nor warnings."""
    scenario, found = read_scenario(path)
    assert [str(p) for p in found] == []
    return scenario


def assert_loads_cleanly(path: Path) -> None:
    """No problem reported, and no Python warning when loaded."""
    read_clean(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flowsim.load_scenario(path)


def assert_schema_lines(scenario: Path, overlay: Path) -> None:
    """The scenario, and its overlay one folder down, name the schema for editors."""
    assert scenario.read_text(encoding="utf-8").splitlines()[0] == SCHEMA_LINE
    assert overlay.read_text(encoding="utf-8").splitlines()[0] == SCHEMA_LINE.replace(
        "../docs", "../../docs")


def assert_priors_described(scenario: Scenario) -> None:
    """Every parameter has a prior and a description."""
    assert [n for n, p in scenario.parameters.items() if p.prior is None] == []
    assert [n for n, p in scenario.parameters.items() if not p.description] == []


def assert_targets_sourced(scenario: Scenario, targets_file: Path, at_least: int) -> None:
    """The targets file exists and holds at least ``at_least`` targets, each with a source,
    a quote and a note."""
    assert targets_file.exists()
    assert len(scenario.targets) >= at_least
    for t in scenario.targets:
        assert t.source and len(t.source.strip()) > 20, t.id
        assert t.quote and t.quote.strip(), t.id
        assert t.note and t.note.strip(), t.id


def assert_dates_inside_calendar(scenario: Scenario) -> None:
    """Policies, shocks, programmes, schedule points and targets lie inside the calendar."""
    first, last = scenario.calendar.start, scenario.calendar.end
    for p in scenario.policies:
        assert first <= p.start <= last, p.name
        assert p.end is None or p.start <= p.end <= last, p.name
    for s in scenario.shocks:
        assert first <= s.date <= last, s.name
    for pr in scenario.programmes:
        for d in (pr.start, pr.end):
            assert d is None or first <= d <= last, pr.name
    for sc in scenario.schedules:
        for pt in sc.points:
            assert first <= pt.date <= last, sc.name
    for t in scenario.targets:
        for d in (t.start, t.end, t.at):
            assert d is None or first <= d <= last, t.id


def assert_policies_on_dates(scenario: Scenario, dates: Mapping[str, dt.date]) -> None:
    """Each named policy starts on its date and says what it is."""
    policies = {p.name: p for p in scenario.policies}
    for name, day in dates.items():
        assert policies[name].start == day, name
        assert policies[name].description, name


def assert_overlay_removes_only(scenario: Scenario, overlay: Scenario, overlay_file: Path,
                                name: str, extends: str, removed: Sequence[str]) -> None:
    """The overlay ``name`` extends ``extends``, drops the policies ``removed`` and leaves
    everything else as it is, in order, adding nothing."""
    assert overlay.name == name
    assert overlay.description.startswith("Counterfactual")
    assert f"\nextends: {extends}\n" in overlay_file.read_text(encoding="utf-8")
    kept = [p for p in scenario.policies if p.name not in removed]
    assert len(kept) == len(scenario.policies) - len(removed)
    assert list(overlay.policies) == kept
    same = overlay.model_copy(update={"name": scenario.name,
                                      "description": scenario.description,
                                      "policies": scenario.policies})
    assert same == scenario  # countries, routes, cohorts, shocks, parameters, targets...
