"""Every class of mistake in a scenario file gets a plain message at the right place.

The messages are part of the API (STYLE.md §4): each test pins the words with ``match=`` and,
for many, the ``file:line:column`` the problem points at.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import warnings
from pathlib import Path

import pytest

import flowsim
from flowsim import Problem, ScenarioError, ScenarioWarning
from flowsim.scenario import load_scenario, read_scenario, validate_data
from flowsim.scenario.yamlio import MAX_BYTES, MAX_DEPTH, MAX_NODES, dump_yaml, read_yaml

# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def problems_of(path: Path) -> list[Problem]:
    """The problems (errors and warnings) of a file that must fail to load."""
    with pytest.raises(ScenarioError) as info:
        read_scenario(path)
    return info.value.problems


def errors_of(path: Path) -> list[Problem]:
    return [p for p in problems_of(path) if p.severity == "error"]


def where(path: Path, snippet: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based line and column of the ``occurrence``-th ``snippet`` in the file."""
    text = path.read_text(encoding="utf-8")
    at = -1
    for _ in range(occurrence):
        at = text.index(snippet, at + 1)
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    return line, column


def assert_at(problem: Problem, path: Path, snippet: str, occurrence: int = 1,
              at: str | None = None) -> None:
    """The problem points at ``snippet`` in ``path`` (at its part ``at``, if given)."""
    line, column = where(path, snippet, occurrence)
    column += snippet.index(at) if at is not None else 0
    assert problem.file == str(path)
    assert (problem.line, problem.column) == (line, column), str(problem)
    assert str(problem).startswith(f"{path}:{problem.line}:{problem.column}: ")


def only_error(path: Path) -> Problem:
    errs = errors_of(path)
    assert len(errs) == 1, "\n".join(map(str, errs))
    return errs[0]


def test_the_base_fixture_is_valid(scenario_file) -> None:
    scenario, found = read_scenario(scenario_file())
    assert found == []
    assert scenario.origin.id == "RUS"


# --------------------------------------------------------------------------------------------
# unknown keys and names, with "did you mean"
# --------------------------------------------------------------------------------------------


def test_unknown_key_in_a_country(scenario_file) -> None:
    path = scenario_file(lambda d: d["countries"][1].update(onward_hazrd=0.1))
    with pytest.raises(ScenarioError, match=r"countries\[1\]\.onward_hazrd: unknown key "
                       r"'onward_hazrd' — did you mean 'onward_hazard'\?"):
        load_scenario(path)
    p = only_error(path)
    assert p.path == "countries[1].onward_hazrd"
    assert p.line == where(path, "onward_hazrd")[0]


def test_unknown_section_with_did_you_mean(scenario_file) -> None:
    path = scenario_file(lambda d: d.update(polices=[]))
    with pytest.raises(ScenarioError, match=r"unknown section 'polices' — did you mean "
                       r"'policies'\?"):
        load_scenario(path)
    assert_at(only_error(path), path, "polices")


def test_unknown_key_deep_in_a_policy(scenario_file) -> None:
    path = scenario_file(lambda d: d["policies"][0]["route"].update(regim="closed"))
    with pytest.raises(ScenarioError, match=r"policies\[0\]\.route\.regim: unknown key 'regim' "
                       r"— did you mean 'regime'\?"):
        load_scenario(path)


def test_unknown_regime_with_did_you_mean(scenario_file) -> None:
    path = scenario_file(lambda d: d["routes"][0].update(regime="visa_fre"))
    with pytest.raises(ScenarioError, match=r"routes\[0\]\.regime: 'visa_fre' is not one of "
                       r".* — did you mean 'visa_free'\?"):
        load_scenario(path)
    assert_at(only_error(path), path, "visa_fre")


def test_unknown_country_in_a_route(scenario_file) -> None:
    path = scenario_file(lambda d: d["routes"][0].update(to="GEE"))
    with pytest.raises(ScenarioError, match=r"routes\[0\]\.to: unknown country 'GEE' — did you "
                       r"mean 'GEO'\?"):
        load_scenario(path)
    assert_at(only_error(path), path, "GEE")


def test_a_country_id_that_is_not_iso(scenario_file) -> None:
    path = scenario_file(lambda d: d["routes"][0].update(to="GEOR"))
    with pytest.raises(ScenarioError, match=r"'GEOR' is not an ISO 3166 alpha-3 country id"):
        load_scenario(path)


def test_unknown_country_in_a_policy_selector(scenario_file) -> None:
    path = scenario_file(lambda d: d["policies"][0]["select"].update(to=["FIM"]))
    with pytest.raises(ScenarioError, match=r"policies\[0\]\.select\.to\[0\]: unknown country "
                       r"or group 'FIM' — did you mean 'FIN'\?"):
        load_scenario(path)


def test_unknown_cohort_in_a_shock(scenario_file) -> None:
    path = scenario_file(lambda d: d["shocks"][1].update(cohorts=["mne"]))
    with pytest.raises(ScenarioError, match=r"shocks\[1\]\.cohorts\[0\]: unknown cohort 'mne' — "
                       r"did you mean 'men'\?"):
        load_scenario(path)


# --------------------------------------------------------------------------------------------
# duplicates and the route graph
# --------------------------------------------------------------------------------------------


def test_duplicate_countries(scenario_file) -> None:
    path = scenario_file(lambda d: d["countries"].append(
        {"id": "ARM", "name": "Armenia again"}))
    with pytest.raises(ScenarioError, match=r"countries\[5\]\.id: the country 'ARM' is declared "
                       r"twice \(first at countries\[2\]\)"):
        load_scenario(path)
    assert_at(only_error(path), path, "ARM", occurrence=2)


def test_duplicate_routes(scenario_file) -> None:
    path = scenario_file(lambda d: d["routes"].append({"from": "RUS", "to": "GEO",
                                                       "mode": "land", "cost": 1}))
    with pytest.raises(ScenarioError, match=r"routes\[5\]\.to: the route 'RUS_GEO_land' is "
                       r"declared twice \(first at routes\[0\]\)"):
        load_scenario(path)


def test_routes_with_the_same_ends_but_other_modes_are_distinct(scenario_file) -> None:
    path = scenario_file(lambda d: d["routes"].append({"from": "RUS", "to": "GEO",
                                                       "mode": "air"}))
    scenario, found = read_scenario(path)
    assert [r.key for r in scenario.routes].count("RUS_GEO_air") == 1
    assert found == []


def test_duplicate_cohorts_policies_and_targets(scenario_file) -> None:
    def twice(d):
        d["cohorts"].append(dict(d["cohorts"][0]))
        d["policies"].append(dict(d["policies"][0]))
        d["targets"].append(dict(d["targets"][0]))

    messages = [p.message for p in errors_of(scenario_file(twice))]
    assert messages == [
        "the cohort 'men' is declared twice (first at cohorts[0])",
        "the policy 'finland_closes' is declared twice (first at policies[0])",
        "the target 'left_2022' is declared twice (first at targets[0])",
    ]


def test_origin_with_no_route_out(scenario_file) -> None:
    def cut(d):
        d["routes"] = [r for r in d["routes"] if r["from"] != "RUS"]
        d["policies"] = d["policies"][2:]  # policies on the routes that are gone

    path = scenario_file(cut)
    with pytest.raises(ScenarioError, match=r"countries\[0\]\.id: the origin RUS has no route "
                       "out"):
        load_scenario(path)
    assert_at(only_error(path), path, "RUS")


def test_no_origin(scenario_file) -> None:
    path = scenario_file(lambda d: d["countries"][0].update(roles=["transit"]))
    with pytest.raises(ScenarioError, match="no country has the role `origin`; exactly one must"):
        load_scenario(path)


def test_unreachable_country_is_a_warning(scenario_file) -> None:
    path = scenario_file(lambda d: d["countries"].append({"id": "TUR", "name": "Turkey"}))
    _, found = read_scenario(path)
    assert [p.severity for p in found] == ["warning"]
    assert found[0].message == "TUR (Turkey) cannot be reached from RUS by any route"
    assert_at(found[0], path, "TUR")
    with pytest.warns(ScenarioWarning, match=r"countries\[5\]\.id: warning: TUR \(Turkey\) "
                      "cannot be reached from RUS"):
        load_scenario(path)


def test_a_route_into_the_origin(scenario_file) -> None:
    path = scenario_file(lambda d: d["routes"].append({"from": "GEO", "to": "RUS"}))
    with pytest.raises(ScenarioError, match=r"a route into the origin RUS: returns home are "
                       "modelled by each country's return_hazard"):
        load_scenario(path)


# --------------------------------------------------------------------------------------------
# selectors that select nothing
# --------------------------------------------------------------------------------------------


def test_policy_selecting_no_route(scenario_file) -> None:
    path = scenario_file(lambda d: d["policies"][0]["select"].update(to=["ARM"], mode="land"))
    with pytest.raises(ScenarioError, match=r"policies\[0\]\.select: selects no route \(from any "
                       r"to ARM, mode land\)"):
        load_scenario(path)
    assert only_error(path).line == where(path, "select:")[0]


def test_policy_selecting_an_empty_group(scenario_file) -> None:
    def empty(d):
        d["groups"]["nowhere"] = []
        d["policies"][2]["select"] = {"countries": ["nowhere"]}

    with pytest.raises(ScenarioError, match=r"policies\[2\]\.select\.countries: selects no "
                       "country"):
        load_scenario(scenario_file(empty))


def test_policy_changing_asylum_where_there_is_none(scenario_file) -> None:
    path = scenario_file(lambda d: d["policies"][2].update(select={"countries": ["ARM"]}))
    with pytest.raises(ScenarioError, match=r"policies\[2\]\.country\.asylum: changes asylum, but "
                       "none of the selected countries has an asylum system"):
        load_scenario(path)


def test_target_selecting_no_country(scenario_file) -> None:
    def empty(d):
        d["groups"]["nowhere"] = []
        d["targets"][1]["where"] = ["nowhere"]

    path = scenario_file(empty)
    with pytest.raises(ScenarioError, match=r"targets\[1\]\.where: selects no country"):
        load_scenario(path)


def test_asylum_target_where_there_is_no_asylum(scenario_file) -> None:
    path = scenario_file(lambda d: d["targets"].append(
        {"id": "claims", "observable": "asylum_applications", "kind": "at_least", "value": 10,
         "where": ["GEO"], "start": dt.date(2022, 3, 1), "end": dt.date(2022, 6, 1),
         "source": "x"}))
    with pytest.raises(ScenarioError, match=r"targets\[2\]\.where: a asylum_applications target, "
                       "but none of the selected countries has an asylum system"):
        load_scenario(path)


def test_emigrants_target_where_returnees_are_not_told_apart(scenario_file) -> None:
    emigrants = {"id": "left", "observable": "emigrants", "kind": "at_least", "value": 10,
                 "start": dt.date(2022, 3, 1), "end": dt.date(2022, 6, 1), "source": "x"}

    def leave_again(d):
        d["cohorts"][0]["reemigration_hazard"] = 0.01
        d["targets"].append(emigrants)

    path = scenario_file(leave_again)
    with pytest.raises(ScenarioError, match=r"targets\[2\]\.observable: an emigrants figure "
                       "counts people leaving for the first time, but men may leave again "
                       "after a return and the model does not tell returnees apart: set "
                       "`track_returnees: true` under `behaviour`"):
        load_scenario(path)
    assert_at(only_error(path), path, "emigrants")

    def tracked(d):
        leave_again(d)
        d.setdefault("behaviour", {})["track_returnees"] = True

    assert read_scenario(scenario_file(tracked))[1] == []
    # where nobody leaves twice, first departures are every departure: nothing to track
    assert read_scenario(scenario_file(lambda d: d["targets"].append(emigrants)))[1] == []


# --------------------------------------------------------------------------------------------
# dates
# --------------------------------------------------------------------------------------------


def test_shock_date_outside_the_horizon(scenario_file) -> None:
    path = scenario_file(lambda d: d["shocks"][0].update(date=dt.date(2021, 1, 1)))
    with pytest.raises(ScenarioError, match=r"shocks\[0\]\.date: 2021-01-01 is outside the "
                       r"horizon \(2022-01-03 to 2022-12-25\)"):
        load_scenario(path)
    assert_at(only_error(path), path, "2021-01-01")


def test_policy_after_the_horizon(scenario_file) -> None:
    path = scenario_file(lambda d: d["policies"][0].update(start=dt.date(2023, 1, 1)))
    with pytest.raises(ScenarioError, match=r"policies\[0\]\.start: 2023-01-01 is after the "
                       r"horizon ends \(2022-12-25\)"):
        load_scenario(path)
    assert_at(only_error(path), path, "2023-01-01")


def test_policy_end_after_the_horizon(scenario_file) -> None:
    path = scenario_file(lambda d: d["policies"][1].update(end=dt.date(2023, 6, 30)))
    with pytest.raises(ScenarioError, match=r"2023-06-30 is after the horizon ends "
                       r"\(2022-12-25\); leave `end` out for 'until the end'"):
        load_scenario(path)


def test_target_dates_outside_the_horizon(scenario_file) -> None:
    def late(d):
        d["targets"][0]["end"] = dt.date(2023, 3, 1)
        d["targets"][1]["at"] = dt.date(2021, 12, 1)

    path = scenario_file(late)
    errs = errors_of(path)
    assert [p.message for p in errs] == [
        "2023-03-01 is after the horizon ends (2022-12-25)",
        "2021-12-01 is outside the horizon (2022-01-03 to 2022-12-25)",
    ]
    assert_at(errs[0], path, "2023-03-01")
    assert_at(errs[1], path, "2021-12-01")


def test_impossible_date(scenario_file, base) -> None:
    text = dump_yaml(base).replace("2022-09-21", "2022-09-31")
    path = scenario_file(text=text)
    with pytest.raises(ScenarioError, match=r"shocks\[1\]\.date: cannot read the value "
                       "'2022-09-31': day is out of range for month"):
        load_scenario(path)
    assert_at(only_error(path), path, "2022-09-31")


def test_calendar_ends_before_it_starts(scenario_file) -> None:
    path = scenario_file(lambda d: d["calendar"].update(end=dt.date(2021, 12, 1)))
    with pytest.raises(ScenarioError, match=r"calendar\.end: the calendar ends \(2021-12-01\) on "
                       r"or before it starts \(2022-01-03\)"):
        load_scenario(path)
    # reported once, not again for every date that the broken horizon would exclude
    assert_at(only_error(path), path, "2021-12-01")


def test_calendar_that_cannot_end(scenario_file) -> None:
    path = scenario_file(lambda d: d["calendar"].update(end=dt.date.max))
    with pytest.raises(ScenarioError, match="the calendar must end before 9999-12-31"):
        load_scenario(path)


def test_policy_ends_before_it_starts(scenario_file) -> None:
    path = scenario_file(lambda d: d["policies"][1].update(end=dt.date(2022, 2, 1)))
    with pytest.raises(ScenarioError, match=r"policies\[1\]\.end: the policy ends \(2022-02-01\) "
                       r"before it starts \(2022-03-01\)"):
        load_scenario(path)
    assert_at(only_error(path), path, "2022-02-01")


def test_shock_ends_before_it_starts(scenario_file) -> None:
    path = scenario_file(lambda d: d["shocks"][0].update(end=dt.date(2022, 2, 1)))
    with pytest.raises(ScenarioError, match=r"shocks\[0\]\.end: the shock ends \(2022-02-01\) "
                       r"before it starts \(2022-02-24\)"):
        load_scenario(path)
    assert_at(only_error(path), path, "2022-02-01")


def test_target_period_ends_before_it_starts(scenario_file) -> None:
    path = scenario_file(lambda d: d["targets"][0].update(start=dt.date(2022, 12, 1),
                                                         end=dt.date(2022, 11, 1)))
    with pytest.raises(ScenarioError, match=r"targets\[0\]: end \(2022-11-01\) is before start "
                       r"\(2022-12-01\)"):
        load_scenario(path)


# --------------------------------------------------------------------------------------------
# numbers: probabilities, counts, parameters
# --------------------------------------------------------------------------------------------


def test_probability_above_one(scenario_file) -> None:
    path = scenario_file(lambda d: d["routes"][3].update(issuance=1.5))
    with pytest.raises(ScenarioError, match=r"routes\[3\]\.issuance: expected a probability "
                       "between 0 and 1, got 1.5"):
        load_scenario(path)
    assert_at(only_error(path), path, "issuance: 1.5", at="1.5")


def test_negative_probability_in_a_policy(scenario_file) -> None:
    path = scenario_file(lambda d: d["policies"][1]["route"].update(issuance=-0.1))
    with pytest.raises(ScenarioError, match=r"policies\[1\]\.route\.issuance: expected a "
                       "probability between 0 and 1, got -0.1"):
        load_scenario(path)


def test_probability_through_a_parameter_value(scenario_file) -> None:
    path = scenario_file(lambda d: d["parameters"].update(p_issue=1.5))
    with pytest.raises(ScenarioError, match=r"routes\[2\]\.issuance: the parameter 'p_issue' has "
                       r"value 1\.5, but routes\[2\]\.issuance needs a probability between 0 "
                       "and 1"):
        load_scenario(path)
    assert_at(only_error(path), path, "p_issue")  # where the parameter is used


def test_probability_through_a_parameter_prior(scenario_file) -> None:
    path = scenario_file(lambda d: d["parameters"].update(
        p_issue={"value": 0.5, "prior": {"dist": "uniform", "low": 0, "high": 2}}))
    with pytest.raises(ScenarioError, match=r"routes\[2\]\.issuance: the prior of 'p_issue', "
                       r"uniform\(0, 2\), reaches \[0, 2\], but routes\[2\]\.issuance needs a "
                       "probability between 0 and 1"):
        load_scenario(path)


def test_a_normal_prior_is_too_wide_for_a_probability(scenario_file) -> None:
    path = scenario_file(lambda d: d["parameters"].update(
        p_return={"value": 0.01, "prior": {"dist": "normal", "mean": 0.01, "sd": 0.01}}))
    with pytest.raises(ScenarioError, match=r"countries\[1\]\.return_hazard: the prior of "
                       r"'p_return', normal\(0\.01, 0\.01\), reaches \[-inf, inf\]"):
        load_scenario(path)


def test_negative_population(scenario_file) -> None:
    path = scenario_file(lambda d: d["cohorts"][0].update(population=-5))
    with pytest.raises(ScenarioError, match=r"cohorts\[0\]\.population: expected a whole number "
                       "that is not negative, got -5"):
        load_scenario(path)
    assert_at(only_error(path), path, "-5")


def test_fractional_population(scenario_file) -> None:
    path = scenario_file(lambda d: d["cohorts"][0].update(population=10.5))
    with pytest.raises(ScenarioError, match=r"cohorts\[0\]\.population: expected a whole number "
                       "that is not negative, got 10.5"):
        load_scenario(path)


@pytest.mark.parametrize("where_, modify", [
    ("routes[2].capacity", lambda d: d["routes"][2].update(capacity=-1)),
    ("countries[3].asylum.capacity", lambda d: d["countries"][3]["asylum"].update(capacity=-1)),
    ("policies[0].route.capacity", lambda d: d["policies"][0]["route"].update(capacity=-1)),
])
def test_negative_capacity(scenario_file, where_, modify) -> None:
    path = scenario_file(modify)
    with pytest.raises(ScenarioError, match=re.escape(where_) + r": expected a whole number "
                       "that is not negative, got -1"):
        load_scenario(path)


def test_text_where_a_number_belongs(scenario_file) -> None:
    path = scenario_file(lambda d: d["routes"][1].update(cost="a lot"))
    with pytest.raises(ScenarioError, match=r"routes\[1\]\.cost: expected a finite number or a "
                       "parameter name, got the text 'a lot'"):
        load_scenario(path)


def test_undeclared_parameter_with_did_you_mean(scenario_file) -> None:
    path = scenario_file(lambda d: d["routes"][2].update(issuance="p_isue"))
    with pytest.raises(ScenarioError, match=r"routes\[2\]\.issuance: unknown parameter 'p_isue' "
                       r"\(parameters are declared under `parameters:`\) — did you mean "
                       r"'p_issue'\?"):
        load_scenario(path)
    assert_at(only_error(path), path, "p_isue")


def test_declared_but_unused_parameter_is_a_warning(scenario_file) -> None:
    path = scenario_file(lambda d: d["parameters"].update(spare=1.0))
    _, found = read_scenario(path)
    assert [str(p) for p in found] == [
        (f"{path}:{where(path, '1.0', 2)[0]}:{where(path, 'spare')[1] + 7}: parameters.spare: "
         "warning: the parameter 'spare' is declared but never used")]
    with pytest.warns(ScenarioWarning, match="the parameter 'spare' is declared but never used"):
        load_scenario(path)


def test_bad_prior(scenario_file) -> None:
    path = scenario_file(lambda d: d["parameters"]["p_return"].update(
        prior={"dist": "uniform", "low": 0.1}))
    with pytest.raises(ScenarioError, match=r"parameters\.p_return\.prior: a uniform prior needs "
                       "low, high; missing high"):
        load_scenario(path)


def test_a_broken_parameter_is_reported_once(scenario_file) -> None:
    # not again as an "unknown parameter" where it is used, nor for the other parameters
    path = scenario_file(lambda d: d["parameters"]["p_return"].update(
        prior={"dist": "uniform", "low": 0.1}))
    assert only_error(path).path == "parameters.p_return.prior"


def test_non_finite_target_value(scenario_file) -> None:
    path = scenario_file(lambda d: d["targets"][0].update(value=float("nan")))
    with pytest.raises(ScenarioError, match=r"targets\[0\]: value must be a finite number, "
                       "got nan"):
        load_scenario(path)


# --------------------------------------------------------------------------------------------
# groups
# --------------------------------------------------------------------------------------------


def test_group_cycle(scenario_file) -> None:
    path = scenario_file(lambda d: d.update(groups={"west": ["schengen", "east"],
                                                    "east": ["west"]}))
    with pytest.raises(ScenarioError, match=r"groups\.west: groups contain each other in a "
                       "cycle: west -> east -> west"):
        load_scenario(path)


def test_group_cycle_through_a_country_group(scenario_file) -> None:
    path = scenario_file(lambda d: d.update(groups={"west": ["schengen"],
                                                    "schengen": ["west"]}))
    with pytest.raises(ScenarioError, match="groups contain each other in a cycle"):
        load_scenario(path)


def test_group_with_an_unknown_member(scenario_file) -> None:
    path = scenario_file(lambda d: d.update(groups={"west": ["schengen", "DEX"]}))
    with pytest.raises(ScenarioError, match=r"groups\.west\[1\]: unknown country or group 'DEX' "
                       "— did you mean 'DEU'?"):
        load_scenario(path)


def test_a_broken_group_is_reported_once(scenario_file) -> None:
    def broken(d):
        d["groups"]["west"] = ["schengen", 5]
        d["policies"][1]["select"]["to"] = ["west"]

    path = scenario_file(broken)
    p = only_error(path)
    assert (p.path, p.message) == ("groups.west[1]", "expected text, got the value 5")


def test_broken_countries_do_not_make_every_place_unknown(scenario_file) -> None:
    path = scenario_file(lambda d: d.update(countries={"RUS": "Russia"}))
    assert [p.message for p in errors_of(path)] == ["`countries` is a list, got a mapping"]


# --------------------------------------------------------------------------------------------
# extends: overlays and cycles
# --------------------------------------------------------------------------------------------


COUNTERFACTUAL = """\
extends: base.yaml
name: humanitarian visas
policies:
  remove: [finland_closes]
  replace:
    - name: schengen_tightens
      start: 2022-03-01
      select: {to: [schengen]}
      route: {issuance: 0.05}
  add:
    - name: humanitarian_visas
      start: 2022-10-01
      select: {to: [DEU], cohorts: [men]}
      route: {regime: visa_free}
"""


@pytest.fixture
def base_file(scenario_file) -> Path:
    return scenario_file(name="base.yaml")


def test_extends_adds_removes_and_replaces_policies(base_file: Path) -> None:
    child = base_file.parent / "cf.yaml"
    child.write_text(COUNTERFACTUAL, encoding="utf-8")
    base, _ = read_scenario(base_file)
    cf, found = read_scenario(child)
    assert found == []
    assert cf.name == "humanitarian visas"
    # replaced keeps its place; removed is gone; added comes last
    assert [p.name for p in cf.policies] == ["schengen_tightens", "germany_asylum",
                                             "humanitarian_visas"]
    assert cf.policies[0].route.issuance == 0.05 and cf.policies[0].end is None
    assert cf.policies[2].select.cohorts == ("men",)
    # everything else comes from the parent
    assert cf.model_copy(update={"name": base.name, "policies": base.policies}) == base
    # and the result is what the Python overlay gives
    assert cf.policies == base.with_policies(
        add=[cf.policies[2]], remove=["finland_closes"], replace=[cf.policies[0]]).policies


def test_extends_problems_point_into_the_right_file(base_file: Path, scenario_file) -> None:
    child = base_file.parent / "cf.yaml"
    child.write_text(COUNTERFACTUAL.replace("start: 2022-10-01", "start: 2023-10-01"),
                     encoding="utf-8")
    p = only_error(child)
    assert p.message == "2023-10-01 is after the horizon ends (2022-12-25)"
    assert_at(p, child, "2023-10-01")
    # a mistake in the parent is reported in the parent
    child.write_text(COUNTERFACTUAL, encoding="utf-8")
    scenario_file(lambda d: d.update(polices=[]), name="base.yaml")
    assert_at(only_error(child), base_file, "polices")


def test_extends_removing_a_missing_policy(base_file: Path) -> None:
    child = base_file.parent / "cf.yaml"
    child.write_text("extends: base.yaml\npolicies:\n  remove: [finland_close]\n",
                     encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"policies\.remove\[0\]: there is no policy named "
                       r"'finland_close' to remove — did you mean 'finland_closes'\?"):
        load_scenario(child)
    assert_at(only_error(child), child, "finland_close")


def test_extends_adding_an_existing_policy(base_file: Path) -> None:
    child = base_file.parent / "cf.yaml"
    child.write_text("extends: base.yaml\npolicies:\n  add:\n    - name: germany_asylum\n"
                     "      start: 2022-10-01\n      select: {countries: [DEU]}\n"
                     "      country: {onward_hazard: 0.1}\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"policies\.add\[0\]: a policy named "
                       "'germany_asylum' already exists; use `replace` to change it"):
        load_scenario(child)
    assert_at(only_error(child), child, "name: germany_asylum")


def test_extends_replacing_a_missing_policy(base_file: Path) -> None:
    child = base_file.parent / "cf.yaml"
    child.write_text("extends: base.yaml\npolicies:\n  replace:\n    - name: nope\n"
                     "      start: 2022-10-01\n      route: {regime: closed}\n",
                     encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"policies\.replace\[0\]: there is no policy named "
                       "'nope' to replace; use `add` for a new policy"):
        load_scenario(child)


def test_extends_edits_of_the_wrong_shape(base_file: Path) -> None:
    child = base_file.parent / "cf.yaml"
    child.write_text("extends: base.yaml\npolicies:\n  add: {name: x}\n  replace: 3\n"
                     "  remove: 5\n  addd: [x]\n", encoding="utf-8")
    assert [p.message for p in errors_of(child)] == [
        "`add` takes a list of policies, got a mapping",
        "`replace` takes a list of policies, got the value 3",
        "`remove` takes a list of policy names, got the value 5",
        "unknown edit 'addd' — did you mean 'add'?; use add, remove or replace",
    ]


def test_extends_with_a_plain_list(base_file: Path) -> None:
    child = base_file.parent / "cf.yaml"
    child.write_text("extends: base.yaml\npolicies:\n  - name: x\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="in a file that extends another, `policies` takes "
                       "edits by name"):
        load_scenario(child)


def test_extends_cycle(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("extends: b.yaml\nname: a\n", encoding="utf-8")
    b.write_text("name: b\nextends: a.yaml\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"extends: `extends` makes a cycle: .*a\.yaml -> "
                       r".*b\.yaml -> .*a\.yaml"):
        load_scenario(a)
    assert_at(only_error(a), b, "a.yaml")


def test_extends_itself(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    a.write_text("extends: ./a.yaml\nname: a\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="`extends` makes a cycle"):
        load_scenario(a)


@pytest.mark.parametrize("ref, message", [
    ("missing.yaml", "cannot extend 'missing.yaml': the file does not exist"),
    (".", "cannot extend '.': the file is a directory, not a scenario file"),
    ('"a\\0b"', (r"cannot extend 'a\x00b': the file cannot be read: the file name holds a "
                 "NUL character")),
    ("5", "`extends` takes the path of another scenario file"),
])
def test_extends_a_file_that_cannot_be_read(tmp_path: Path, ref: str, message: str) -> None:
    a = tmp_path / "a.yaml"
    a.write_text(f"extends: {ref}\nname: a\n", encoding="utf-8")
    p = only_error(a)
    assert p.message == message
    assert (p.file, p.line) == (str(a), 1)


# --------------------------------------------------------------------------------------------
# files that are not scenarios
# --------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"nope\.yaml: does not exist"):
        load_scenario(tmp_path / "nope.yaml")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="is a directory, not a scenario file"):
        load_scenario(tmp_path)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads any file")
def test_unreadable_file(scenario_file) -> None:
    path = scenario_file()
    path.chmod(0)
    with pytest.raises(ScenarioError, match="cannot be read: Permission denied"):
        load_scenario(path)


@pytest.mark.parametrize("text", ["", "\n\n   \n"])
def test_empty_file(scenario_file, text: str) -> None:
    with pytest.raises(ScenarioError, match=r"s\.yaml: is empty$"):
        load_scenario(scenario_file(text=text))


def test_only_comments(scenario_file) -> None:
    with pytest.raises(ScenarioError, match=r"is empty \(only comments\)"):
        load_scenario(scenario_file(text="# nothing here\n"))


@pytest.mark.parametrize("text, kind", [
    ("- a\n- b\n", "a list"),
    ("hello\n", "the text 'hello'"),
    ("42\n", "the value 42"),
    ("null\n", "nothing (null)"),
])
def test_not_a_mapping(scenario_file, text: str, kind: str) -> None:
    path = scenario_file(text=text)
    with pytest.raises(ScenarioError, match=rf"s\.yaml:1:1: a scenario file holds a mapping of "
                       rf"sections, not {re.escape(kind)}"):
        load_scenario(path)


def test_not_utf8(scenario_file, base) -> None:
    path = scenario_file()
    path.write_bytes(dump_yaml(base).replace("Russia", "Rossiya (Россия)")
                     .encode("cp1251"))
    with pytest.raises(ScenarioError, match=r"s\.yaml:9:1: is not UTF-8 text \(byte 0xd0 at "
                       r"offset \d+\); save it as UTF-8"):
        load_scenario(path)


def test_utf8_with_a_byte_order_mark(scenario_file) -> None:
    path = scenario_file()
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_scenario(path).name == "toy"


def test_binary_file(scenario_file) -> None:
    path = scenario_file()
    path.write_bytes(b"\x00\x01\x02PK\x03\x04" * 100)
    with pytest.raises(ScenarioError, match="holds NUL bytes: it is a binary file, not YAML"):
        load_scenario(path)


def test_huge_file(scenario_file) -> None:
    path = scenario_file()
    with path.open("ab") as fh:
        fh.write((b"#" * 1023 + b"\n") * (MAX_BYTES // 1024 + 1))
    with pytest.raises(ScenarioError, match=r"is larger than 16 MiB"):
        load_scenario(path)


@pytest.mark.parametrize("text", [
    "[" * 10_000 + "]" * 10_000,
    "{a: " * 10_000 + "1" + "}" * 10_000,
    "a:\n" + "".join("  " * i + "- \n" for i in range(1, 200)),
    "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5),
], ids=["lists_10000", "mappings_10000", "block_lists_200", "just_over_the_limit"])
def test_deeply_nested(scenario_file, text: str) -> None:
    with pytest.raises(ScenarioError, match=rf"is nested too deeply \(more than {MAX_DEPTH} "
                       r"levels\)"):
        load_scenario(scenario_file(text=text))


def test_self_referencing_alias(scenario_file) -> None:
    with pytest.raises(ScenarioError, match="is nested too deeply"):
        load_scenario(scenario_file(text="name: &a [*a]\n"))


def test_alias_bomb(scenario_file) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(ScenarioError, match=rf"expands to more than {MAX_NODES:,} values "
                       r"\(through aliases\?\)"):
        load_scenario(scenario_file(text="\n".join(lines) + "\n"))


def test_too_many_values_are_refused_while_parsing(scenario_file) -> None:
    # refused after MAX_NODES values, before the rest of the file is read
    path = scenario_file(text="name: [" + "1, " * (MAX_NODES + 10) + "1]\n")
    with pytest.raises(ScenarioError, match=rf"s\.yaml:1:\d+: holds more than {MAX_NODES:,} "
                       "values; a scenario is much smaller"):
        load_scenario(path)


def test_several_documents(scenario_file, base) -> None:
    path = scenario_file(text=dump_yaml(base) + "---\nname: second\n")
    with pytest.raises(ScenarioError, match=r"holds several YAML documents \(`---`\); a scenario "
                       "is one document"):
        load_scenario(path)
    p = problems_of(path)[0]
    assert p.line == where(path, "---")[0]


def test_duplicate_key(scenario_file, base) -> None:
    text = dump_yaml(base).replace("  onward_hazard: 0.02\n",
                                          "  onward_hazard: 0.02\n  onward_hazard: 0.03\n")
    path = scenario_file(text=text)
    with pytest.raises(ScenarioError, match=r"countries\[1\]: the key 'onward_hazard' appears "
                       "twice in the same mapping"):
        load_scenario(path)
    assert_at(problems_of(path)[0], path, "onward_hazard", occurrence=2)


def test_invalid_yaml_syntax(scenario_file) -> None:
    path = scenario_file(text="name: toy\ncountries: [RUS, GEO\n")
    with pytest.raises(ScenarioError, match=r"s\.yaml:3:1: is not valid YAML: expected ',' or "
                       r"'\]', but got '<stream end>'"):
        load_scenario(path)


def test_tab_indentation(scenario_file) -> None:
    path = scenario_file(text="name: toy\ncountries:\n\t- id: RUS\n")
    with pytest.raises(ScenarioError, match=r"s\.yaml:3:1: is not valid YAML: found character "
                       r"'\\t' that cannot start any token"):
        load_scenario(path)


def test_python_tags_are_refused(scenario_file) -> None:
    path = scenario_file(text='name: !!python/object/apply:os.system ["echo hi"]\n')
    with pytest.raises(ScenarioError, match=r"s\.yaml:1:7: name: the tag "
                       "'tag:yaml.org,2002:python/object/apply:os.system' is not allowed in a "
                       "scenario"):
        load_scenario(path)
    path = scenario_file(text='name: !!python/name:os.system ""\n')
    with pytest.raises(ScenarioError, match="could not determine a constructor for the tag "
                       "'tag:yaml.org,2002:python/name:os.system'"):
        load_scenario(path)


def test_a_section_of_the_wrong_type(scenario_file) -> None:
    path = scenario_file(lambda d: d.update(calendar=5, countries={"RUS": 1}, cohorts=None))
    assert [(p.path, p.message) for p in errors_of(path)] == [
        ("calendar", "expected a mapping, got the value 5"),
        ("countries", "`countries` is a list, got a mapping"),
        ("cohorts", "`cohorts` is a list, got nothing (null)"),
    ]


def test_missing_sections(scenario_file) -> None:
    path = scenario_file(text="name: toy\n")
    assert [p.message for p in errors_of(path)] == [
        f"the scenario has no `{s}` section; it is required"
        for s in ("calendar", "countries", "routes", "cohorts")]


def test_validate_data_refuses_a_list() -> None:
    with pytest.raises(ScenarioError, match="a scenario is a mapping of sections, not a list"):
        validate_data([1, 2])


# --------------------------------------------------------------------------------------------
# everything at once
# --------------------------------------------------------------------------------------------


def test_every_mistake_of_a_file_at_once(scenario_file) -> None:
    def many(d):
        d["calendar"]["stp"] = "week"                        # unknown key
        d["routes"][0]["to"] = "GEE"                          # unknown country
        d["routes"][3]["issuance"] = 1.5                      # probability > 1
        d["cohorts"][1]["population"] = -1                    # negative population
        d["shocks"][0]["date"] = dt.date(2021, 6, 1)          # outside the horizon
        d["policies"][1]["end"] = dt.date(2022, 2, 1)         # ends before it starts
        d["policies"][0]["select"]["to"] = ["ARM"]            # selects no route (land)
        d["policies"][0]["select"]["mode"] = "land"
        d["parameters"]["spare"] = 2.0                        # unused: a warning

    path = scenario_file(many)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    problems = info.value.problems
    errors = [p for p in problems if p.severity == "error"]
    warns = [p for p in problems if p.severity == "warning"]
    assert len(errors) == 7, "\n".join(map(str, problems))
    assert str(info.value).startswith(f"{len(problems)} problems in the scenario:\n")
    # in file order, each at its place
    assert [p.line for p in problems] == sorted(p.line for p in problems)
    expected = [  # (path, where in the file, message)
        ("calendar.stp", "stp: week", "unknown key 'stp' — did you mean 'step'?"),
        ("routes[0].to", "GEE", "unknown country 'GEE' — did you mean 'GEO'?"),
        ("routes[3].issuance", "issuance: 1.5",
         "expected a probability between 0 and 1, got 1.5"),
        ("cohorts[1].population", "population: -1",
         "expected a whole number that is not negative, got -1"),
        ("shocks[0].date", "2021-06-01",
         "2021-06-01 is outside the horizon (2022-01-03 to 2022-12-25)"),
        ("policies[0].select", "select:", "selects no route (from any to ARM, mode land)"),
        ("policies[1].end", "2022-02-01",
         "the policy ends (2022-02-01) before it starts (2022-03-01)"),
    ]
    assert [(p.path, p.message) for p in errors] == [(x, m) for x, _, m in expected]
    for p, (_, snippet, _) in zip(errors, expected):
        value = snippet.split(": ")[-1]
        assert_at(p, path, snippet, at=None if snippet.endswith(":") else value)
    # the warnings come with the errors: GEO is unreachable once its route goes to GEE
    assert [p.path for p in warns] == ["countries[1].id", "parameters.spare"]


def test_a_broken_item_still_gets_its_other_checks(scenario_file) -> None:
    # the misspelt regime does not hide the policy's dates from the checks
    def two(d):
        d["policies"][1]["route"]["regime"] = "clsoed"
        d["policies"][1]["end"] = dt.date(2022, 2, 1)

    messages = [p.message for p in errors_of(scenario_file(two))]
    assert len(messages) == 2
    assert "the policy ends (2022-02-01) before it starts (2022-03-01)" in messages


def test_read_yaml_keeps_positions(scenario_file) -> None:
    path = scenario_file()
    data = read_yaml(path)
    assert data.marks["routes"] == where(path, "routes:")
    assert data["routes"].marks[1] == (where(path, "from: RUS", 2)[0], 3)


def test_warnings_do_not_stop_loading(scenario_file) -> None:
    path = scenario_file(lambda d: d["parameters"].update(spare=1.0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scenario = flowsim.load_scenario(path)
    assert scenario.name == "toy"
    assert [w.category for w in caught] == [ScenarioWarning]


def test_dumped_text_that_looks_like_a_number_stays_text(tmp_path: Path) -> None:
    data = {"a": "1e6", "b": "1.0e5", "c": 1e6, "d": "2022-01-01", "e": "yes", "f": 2.5e-7}
    path = tmp_path / "x.yaml"
    path.write_text(dump_yaml(data), encoding="utf-8")
    assert read_yaml(path) == data


def test_extends_an_item_without_its_name(base_file: Path) -> None:
    child = base_file.parent / "cf.yaml"
    child.write_text("extends: base.yaml\npolicies:\n  add:\n    - start: 2022-10-01\n"
                     "routes:\n  replace:\n    - regime: closed\n", encoding="utf-8")
    assert [p.message for p in errors_of(child)] == [
        "each policy to add is a mapping with its `name`",
        "each route to replace is a mapping with its `id` (or `from`, `to`, `mode`)",
    ]
