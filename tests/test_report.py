"""A scenario's ``report:`` decides what summaries and comparisons report, with defaults
derived from the scenario itself; nothing in the code names a case's dates or groups."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import numpy as np
import pytest

import flowsim
from flowsim.comparison import outcomes
from flowsim.core.compile import scenario_hash
from flowsim.plots.comparison import key_outcomes, where_people_ended
from flowsim.scenario import validate_data
from flowsim.scenario.report import report_blocs, report_groups

START = dt.date(2015, 1, 5)

BASE: dict[str, Any] = {
    "name": "report toy",
    "calendar": {"start": START, "end": dt.date(2016, 6, 26)},
    "countries": [
        {"id": "SYR", "name": "Origin", "roles": ["origin"]},
        {"id": "TUR", "name": "T", "onward_hazard": 0.05, "groups": ["neighbours"]},
        {"id": "LBN", "name": "L", "groups": ["neighbours"]},
        {"id": "DEU", "name": "D", "settle_hazard": 0.05},
        {"id": "SWE", "name": "S", "settle_hazard": 0.02},
    ],
    "groups": {"eu_plus": ["DEU", "SWE"]},
    "routes": [{"from": "SYR", "to": "TUR"}, {"from": "SYR", "to": "LBN"},
               {"from": "TUR", "to": "DEU"}, {"from": "TUR", "to": "SWE"}],
    "cohorts": [{"name": "all", "population": 100_000, "baseline_hazard": 0.002},
                {"name": "young", "population": 50_000, "baseline_hazard": 0.003}],
    "shocks": [{"name": "escalation", "date": dt.date(2015, 9, 1), "multiplier": 3,
                "cohorts": ["young"]}],
}


def _scenario(report: dict[str, Any] | None = None) -> flowsim.Scenario:
    data = copy.deepcopy(BASE)
    if report is not None:
        data["report"] = report
    scenario, problems = validate_data(data)
    assert not [p for p in problems if p.severity == "error"]
    return scenario


def _rows(scenario: flowsim.Scenario) -> list[tuple[str, str]]:
    res = flowsim.simulate(scenario, replicates=4, seed=1)
    return [(q, w) for q, w in zip(res.summary()["quantity"], res.summary()["when"],
                                   strict=True)]


def test_defaults_come_from_the_scenario():
    s = _scenario()
    assert report_groups(s) == ["eu_plus", "neighbours"]  # declared, then countries' lists
    assert report_blocs(s) == {"eu_plus": ("eu_plus",), "neighbours": ("neighbours",)}
    rows = _rows(s)
    # 90 days after the start, every 31 December, the last day
    dates = [w for q, w in rows if q == "cumulative departures"]
    assert dates == ["by 2015-04-05", "by 2015-12-31", "by 2016-06-26"]
    # six weeks after the shock, for the cohorts it hits
    assert ("departures after escalation (young)", "2015-09-01 to 2015-10-13") in rows
    shares = [q for q, _ in rows if q.startswith("share abroad")]
    assert shares == ["share abroad in eu_plus", "share abroad in neighbours"]


def test_the_report_chooses_dates_windows_and_groups():
    s = _scenario({"dates": ["2015-06-30"], "groups": ["neighbours"],
                   "windows": [{"name": "the summer of 2015", "start": "2015-06-01",
                                "end": "2015-09-30", "cohorts": ["all"]}]})
    rows = _rows(s)
    assert [w for q, w in rows if q == "cumulative departures"] == ["by 2015-06-30"]
    assert ("the summer of 2015", "2015-06-01 to 2015-09-30") in rows
    assert not any(q.startswith("departures after") for q, _ in rows)
    assert [q for q, _ in rows if q.startswith("share abroad")] == \
        ["share abroad in neighbours"]


def test_comparisons_report_the_blocs_and_the_settled_in_them():
    s = _scenario({"blocs": {"europe": ["eu_plus"], "turkey": ["TUR"]},
                   "settled_in": ["europe"], "labels": {"europe": "Europe"}})
    res = flowsim.simulate(s, replicates=6, seed=2, record=flowsim.comparison.RECORD)
    names = [str(o) for o in outcomes(res)["outcome"].values]
    end = "2016-06-26"
    assert f"in europe at {end}" in names and f"in turkey at {end}" in names
    assert f"settled in europe at {end}" in names
    assert not any(n.startswith("settled in turkey") for n in names)
    o = outcomes(res)
    stock = res.dataset["stock"].isel(time=-1).sum("cohort")
    np.testing.assert_array_equal(o.sel(outcome=f"in turkey at {end}").values,
                                  stock.sel(country="TUR").values)
    cf = s.model_copy(update={"name": "faster"})
    c = flowsim.compare(s, [cf], replicates=6, seed=2)
    assert key_outcomes(c)[:3] == [f"abroad at {end}", f"in europe at {end}",
                                   f"in turkey at {end}"]
    legend = [t.get_text() for t in where_people_ended(c).axes[0].get_legend().get_texts()]
    assert "Europe" in legend and "turkey" in legend


def test_the_report_is_not_part_of_the_scenarios_hash():
    assert scenario_hash(_scenario()) == scenario_hash(_scenario({"groups": ["neighbours"]}))


@pytest.mark.parametrize("report, message", [
    ({"groups": ["neighbors"]}, ("report.groups[0]: unknown group 'neighbors' — did you mean "
                                "'neighbours'?")),
    ({"blocs": {"x": ["DEU", "FRA"]}}, "report.blocs.x[1]: unknown group or country 'FRA'"),
    ({"blocs": {"x": ["DEU"]}, "settled_in": ["y"]}, "report.settled_in[0]: unknown bloc 'y'"),
    ({"dates": ["2020-01-01"]}, "report.dates[0]: 2020-01-01 is outside the calendar"),
    ({"windows": [{"name": "w", "start": "2015-03-01", "end": "2015-02-01"}]},
     "report.windows[0].end: the window ends (2015-02-01) before it starts (2015-03-01)"),
    ({"labels": {"eu": "the EU"}}, "report.labels.eu: no group or bloc is called 'eu'"),
])
def test_a_report_that_names_what_does_not_exist_is_an_error(report, message):
    data = copy.deepcopy(BASE)
    data["report"] = report
    with pytest.raises(flowsim.ScenarioError) as e:
        validate_data(data)
    assert any(message in str(p) for p in e.value.problems), e.value.problems


def test_the_bundled_scenario_reports_what_it_always_did():
    """Its report names the article's groups, so its summary keeps its rows."""
    s = flowsim.load_scenario("scenarios/russia-2022.yaml")
    rows = _rows(s)
    assert [q for q, _ in rows if q.startswith("share abroad")] == [
        "share abroad in west", "share abroad in eu", "share abroad in post_soviet",
        "share abroad in neutral", "share abroad in kremlin_aligned"]
    assert list(report_blocs(s)) == ["west", "eu", "post_soviet_and_neutral",
                                     "kremlin_aligned"]


def test_comparisons_report_effects_by_country_and_cohort_and_record_more():
    s = _scenario()
    cf = s.model_copy(update={"name": "same"})
    c = flowsim.compare(s, [cf], replicates=5, seed=3, by=("country", "cohort"),
                        record=("flow",))
    names = [str(o) for o in c.values["outcome"].values]
    end = "2016-06-26"
    for cid in ("TUR", "LBN", "DEU", "SWE"):
        assert f"in {cid} at {end}" in names
    for k in ("all", "young"):
        assert f"departures: {k}" in names and f"returns to the origin: {k}" in names
    assert "flow" in c.results["report toy"].dataset
    base = c.results["report toy"]
    np.testing.assert_array_equal(
        c.values.sel(scenario="report toy", outcome="departures: young").values,
        base.departures(cohorts="young").values)
    with pytest.raises(ValueError, match="cannot report effects by"):
        flowsim.compare(s, [cf], replicates=2, seed=3, by=("region",))


def test_the_compare_command_takes_by(tmp_path):
    from cli_helpers import invoke

    from flowsim.scenario.yamlio import dump_yaml

    base = tmp_path / "base.yaml"
    base.write_text(dump_yaml(copy.deepcopy(BASE)))
    cf = tmp_path / "cf.yaml"
    cf.write_text("extends: base.yaml\nname: other\n")
    out = tmp_path / "out"
    result = invoke("compare", str(base), str(cf), "-n", "4", "--by", "country", "--out",
                    str(out), "--no-figures", "-q")
    assert result.exit_code == 0, result.output
    assert "in TUR at 2016-06-26" in (out / "effects.csv").read_text()
    bad = invoke("compare", str(base), str(cf), "-n", "4", "--by", "region", "--out",
                 str(tmp_path / "bad"))
    assert bad.exit_code == 2 and "--by takes country or cohort" in bad.stderr
