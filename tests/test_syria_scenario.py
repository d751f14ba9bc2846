"""The Syria 2015-2016 scenario (``scenarios/syria-2015.yaml``) and its counterfactual.

It loads cleanly, a short run works and conserves people, every target names its source,
every parameter has a prior, every dated item lies inside the calendar, and the overlay in
``scenarios/syria-2015-counterfactuals/`` changes only what it says it changes. Fast: one run
of 20 replicates.
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import numpy as np
import pytest

import flowsim
from flowsim.calibration.loading import load_posterior
from flowsim.scenario import read_scenario
from flowsim.scenario.model import Scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "syria-2015.yaml"
TARGETS = ROOT / "scenarios" / "syria-2015-targets.yaml"
OVERLAY = ROOT / "scenarios" / "syria-2015-counterfactuals" / "no_eu_turkey_statement.yaml"
POSTERIOR = ROOT / "scenarios" / "syria-2015-posterior.nc"
SCHEMA_LINE = "# yaml-language-server: $schema=../docs/scenario.schema.json"

#: what the overlay removes from the baseline; it adds and replaces nothing
REMOVED = ["eu_turkey_statement", "eu_turkey_statement_land_routes", "eu_turkey_one_for_one"]

#: the policies of the brief, by name, with the first day each must be in force
POLICY_DATES = {
    "lebanon_entry_rules": dt.date(2015, 1, 5),
    "germany_dublin_suspended": dt.date(2015, 8, 21),
    "hungary_serbia_border_closed": dt.date(2015, 9, 15),
    "hungary_croatia_border_closed": dt.date(2015, 10, 17),
    "western_balkan_route_closed": dt.date(2016, 3, 9),
    "eu_turkey_statement": dt.date(2016, 3, 20),
    "jordan_border_sealed": dt.date(2016, 6, 21),
}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    s, found = read_scenario(SCENARIO)
    assert [str(p) for p in found] == []
    return s


@pytest.fixture(scope="module")
def overlay() -> Scenario:
    s, found = read_scenario(OVERLAY)
    assert [str(p) for p in found] == []
    return s


@pytest.mark.parametrize("path", [SCENARIO, OVERLAY], ids=["baseline", "overlay"])
def test_loads_without_errors_or_warnings(path: Path) -> None:
    _, found = read_scenario(path)
    assert [str(p) for p in found] == []  # neither errors nor warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flowsim.load_scenario(path)


def test_the_files_start_with_the_schema_line() -> None:
    assert SCENARIO.read_text(encoding="utf-8").splitlines()[0] == SCHEMA_LINE
    assert OVERLAY.read_text(encoding="utf-8").splitlines()[0] == SCHEMA_LINE.replace(
        "../docs", "../../docs")


def test_shape_of_the_case(scenario: Scenario) -> None:
    assert scenario.origin.id == "SYR"
    assert scenario.calendar.start == dt.date(2015, 1, 1)
    assert scenario.calendar.end == dt.date(2016, 12, 31)
    assert scenario.calendar.step == "week"
    ids = {c.id for c in scenario.countries}
    assert {"TUR", "LBN", "JOR", "GRC", "MKD", "SRB", "HUN", "HRV", "AUT", "DEU",
            "SWE"} <= ids
    members = scenario.group_members()
    assert members["neighbours"] == {"TUR", "LBN", "JOR", "IRQ"}
    assert members["eu"] <= members["west"]
    # the population at risk: ~18.0 million (13.5 million in need = 75%, UNHCR)
    assert sum(c.population for c in scenario.cohorts) == 18_000_000


def test_every_parameter_has_a_prior(scenario: Scenario) -> None:
    assert [n for n, p in scenario.parameters.items() if p.prior is None] == []
    assert [n for n, p in scenario.parameters.items() if not p.description] == []


def test_every_target_names_a_source(scenario: Scenario) -> None:
    assert TARGETS.exists()
    assert len(scenario.targets) >= 10
    for t in scenario.targets:
        assert t.source and len(t.source.strip()) > 20, t.id
        assert t.quote and t.quote.strip(), t.id
        assert t.note and t.note.strip(), t.id
    # flows and stock changes only: no departures from Syria, no total stocks
    assert not [t.id for t in scenario.targets if t.observable in ("departures", "abroad")]
    assert [t.id for t in scenario.targets if t.observable == "stock"] == [
        "neighbours_stock_change_2015_2016"]


def test_every_dated_item_is_inside_the_calendar(scenario: Scenario) -> None:
    first, last = scenario.calendar.start, scenario.calendar.end
    for p in scenario.policies:
        assert first <= p.start <= last, p.name
        assert p.end is None or p.start <= p.end <= last, p.name
    for s in scenario.shocks:
        assert first <= s.date <= last, s.name
    for t in scenario.targets:
        for d in (t.start, t.end, t.at):
            assert d is None or first <= d <= last, t.id


def test_the_brief_s_policies_are_on_their_dates(scenario: Scenario) -> None:
    policies = {p.name: p for p in scenario.policies}
    for name, day in POLICY_DATES.items():
        assert policies[name].start == day, name
        assert policies[name].description, name


def test_a_short_run_works_and_conserves_people(scenario: Scenario) -> None:
    results = flowsim.simulate(scenario, replicates=20, seed=1)
    ds = results.dataset
    assert ds.sizes["replicate"] == 20
    stock = ds["stock"].values  # (replicate, time, country, cohort)
    assert stock.dtype.kind == "i" and (stock >= 0).all()
    populations = np.array([c.population for c in scenario.cohorts])
    # every person is in exactly one country's stock (origin included) at every step
    np.testing.assert_array_equal(
        stock.sum(axis=2), np.broadcast_to(populations, stock.sum(axis=2).shape))
    # and the case does what it is about: people leave, reach Greece and claim in Germany
    assert results.departures().median() > 100_000
    in_2015 = ds["time"].dt.year == 2015
    greece = ds["arrivals"].sel(country="GRC").isel(time=in_2015.values).sum(["time", "cohort"])
    assert float(greece.median()) > 50_000
    applications = ds["asylum_applications"].sel(country="DEU").sum(["time", "cohort"])
    assert float(applications.median()) > 10_000


def test_the_overlay_changes_only_what_it_says(scenario: Scenario, overlay: Scenario) -> None:
    assert overlay.name == "no-eu-turkey-statement"
    assert overlay.description.startswith("Counterfactual")
    assert "\nextends: ../syria-2015.yaml\n" in OVERLAY.read_text(encoding="utf-8")
    kept = [p for p in scenario.policies if p.name not in REMOVED]
    assert len(kept) == len(scenario.policies) - len(REMOVED)
    assert list(overlay.policies) == kept  # the rest unchanged, in order, nothing added
    same = overlay.model_copy(update={"name": scenario.name,
                                      "description": scenario.description,
                                      "policies": scenario.policies})
    assert same == scenario  # countries, routes, cohorts, shocks, parameters, targets...


def test_the_shipped_posterior_is_this_scenario_s(scenario: Scenario) -> None:
    loaded = load_posterior(POSTERIOR, scenario)
    assert loaded.warnings == ()  # calibrated on this scenario, every parameter declared
    assert sorted(loaded.used) == sorted(scenario.parameters)
    assert POSTERIOR.with_suffix(".csv").exists()
