"""Summary and effects tables name their countries and groups: an id column (``place``) and
a name column (``place_name``: the country's ``name:``, the group's or bloc's label)."""

from __future__ import annotations

import numpy as np
import pytest

import flowsim
from conftest import base_data
from flowsim.comparison import compare
from flowsim.reports.comparison import open_comparison, write_comparison
from flowsim.results.dataset import place_names, summary_table
from flowsim.scenario import validate_data
from flowsim.scenario.report import label


@pytest.fixture(scope="module")
def scenario() -> flowsim.Scenario:
    s, _ = validate_data(base_data())
    return s


@pytest.fixture(scope="module")
def results(scenario: flowsim.Scenario) -> flowsim.Results:
    return flowsim.simulate(scenario, replicates=5, seed=2, workers=1)


def _expected(scenario: flowsim.Scenario, place: str) -> str:
    countries = {c.id: c.name for c in scenario.countries}
    return countries[place] if place in countries else label(scenario, place)


def test_the_summary_names_every_place(results, scenario) -> None:
    table = results.summary()
    assert list(table.columns) == ["quantity", "when", "low", "median", "high", "mean",
                                   "place", "place_name"]
    rows = table[table["place"] != ""]
    assert set(rows["quantity"]) == {q for q in table["quantity"]
                                     if q.startswith(("in ", "share abroad in "))}
    for _, row in rows.iterrows():
        assert row["quantity"].endswith(f"in {row['place']}")
        assert row["place_name"] == _expected(scenario, row["place"]) != ""
    assert (table.loc[table["place"] == "", "place_name"] == "").all()
    assert "place_name" in results._repr_html_()  # the notebook card shows it


def test_a_streamed_summary_names_places_as_the_run_in_memory(scenario, results,
                                                              tmp_path) -> None:
    with flowsim.stream(scenario, tmp_path / "s.nc", replicates=5, seed=2, workers=1) as s:
        assert list(s.dataset["place"].values) == list(results.headline()["place"].values)
        np.testing.assert_array_equal(s.summary()[["place", "place_name"]].to_numpy(),
                                      results.summary()[["place", "place_name"]].to_numpy())


def test_rows_without_a_place_coordinate_read_it_from_their_words(results) -> None:
    # files streamed before headline rows had `place`
    head = results.headline()
    stats = np.zeros((head.sizes["row"], 4))
    old = summary_table(head["quantity"].values, head["when"].values, head["kind"].values,
                        stats, names=place_names(results.dataset, results.scenario))
    new = summary_table(head["quantity"].values, head["when"].values, head["kind"].values,
                        stats, place=head["place"].values,
                        names=place_names(results.dataset, results.scenario))
    assert old.equals(new)


def test_without_a_scenario_countries_keep_the_file_s_names(results) -> None:
    names = place_names(results.dataset)
    assert names == dict(zip(results.dataset["country"].values,
                             results.dataset["country_name"].values, strict=True))


def test_the_effects_name_countries_and_blocs_in_memory_and_read_back(scenario,
                                                                       tmp_path) -> None:
    data = base_data()
    other, _ = validate_data({**data, "name": "no closure", "policies": [
        p for p in data["policies"] if p["name"] != "finland_closes"]})
    c = compare(scenario, other, replicates=4, seed=1, workers=1, by=("country",))
    effects = c.effects()
    assert list(effects.columns[-2:]) == ["place", "place_name"]
    placed = effects[effects["place"] != ""]
    assert {"FIN", "west"} <= set(placed["place"])
    for _, row in placed.iterrows():
        assert row["place_name"] == _expected(scenario, row["place"])
        assert f"in {row['place']} at" in row["outcome"]
    write_comparison(c, tmp_path / "c", figures=False)
    back = open_comparison(tmp_path / "c").effects()
    np.testing.assert_array_equal(back[["place", "place_name"]].to_numpy(),
                                  effects[["place", "place_name"]].to_numpy())
