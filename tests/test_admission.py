"""Scenario checks of the third edition's mechanisms: programmes, asylum at the border,
interception, and schedules of the origin's hazards (each error at its place)."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from flowsim.errors import ScenarioError
from flowsim.scenario import validate_data

START = dt.date(2022, 1, 3)

BASE: dict[str, Any] = {
    "name": "admission",
    "calendar": {"start": START, "end": START + dt.timedelta(days=69), "step": "week"},
    "countries": [
        {"id": "ORG", "name": "Origin", "roles": ["origin"]},
        {"id": "AAA", "name": "A", "asylum": {"claim_hazard": 0.1}},
        {"id": "BBB", "name": "B"},
    ],
    "routes": [{"from": "ORG", "to": "AAA"}, {"from": "ORG", "to": "BBB"},
               {"from": "AAA", "to": "BBB", "regime": "irregular", "interception": 0.2}],
    "cohorts": [{"name": "men", "population": 100, "baseline_hazard": 0.1},
                {"name": "rest", "population": 100, "baseline_hazard": 0.1}],
}


def _problems(**changes: Any) -> list[tuple[str, str, str]]:
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        data[key] = value
    try:
        _, warnings = validate_data(data)
    except ScenarioError as err:
        return [(p.path, p.severity, p.message) for p in err.problems]
    return [(p.path, p.severity, p.message) for p in warnings]


def test_the_base_is_valid() -> None:
    assert _problems() == []


def test_asylum_at_border_needs_an_asylum_system() -> None:
    routes = copy.deepcopy(BASE["routes"])
    routes[1]["asylum_at_border"] = True
    found = _problems(routes=routes)
    assert found and found[0][:2] == ("routes[1].asylum_at_border", "error")
    assert "BBB has no `asylum` system" in found[0][2]
    routes[1]["asylum_at_border"] = False
    routes[0]["asylum_at_border"] = True  # AAA has one
    assert _problems(routes=routes) == []


def test_a_policy_may_not_send_border_claims_where_there_is_no_asylum() -> None:
    policies = [{"name": "transit_zone", "start": START, "select": {"to": ["BBB"]},
                 "route": {"asylum_at_border": True}}]
    found = _problems(policies=policies)
    assert [(p, s) for p, s, _ in found] == [("policies[0].route.asylum_at_border", "error")]


def test_interception_off_irregular_routes_is_a_warning() -> None:
    routes = copy.deepcopy(BASE["routes"])
    routes[0]["interception"] = 0.5
    found = _problems(routes=routes)
    assert [(p, s) for p, s, _ in found] == [("routes[0].interception", "warning")]
    # a policy that makes the route irregular gives the interception a meaning
    policies = [{"name": "visa_waiver_ends", "start": START, "select": {"to": ["AAA"]},
                 "route": {"regime": "irregular"}}]
    assert _problems(routes=routes, policies=policies) == []


@pytest.mark.parametrize(("programme", "path", "words"), [
    ({"name": "p", "select": {"to": ["BBB"]}}, "programmes[0]", "must limit something"),
    ({"name": "p", "select": {"routes": ["ORG_XXX_land"]}, "total": 5},
     "programmes[0].select.routes[0]", "unknown route 'ORG_XXX_land'"),
    ({"name": "p", "select": {"to": ["CCC"]}, "total": 5},
     "programmes[0].select.to[0]", "unknown country or group 'CCC'"),
    ({"name": "p", "select": {"to": ["BBB"], "cohorts": ["women"]}, "total": 5},
     "programmes[0].select.cohorts[0]", "unknown cohort 'women'"),
    ({"name": "p", "select": {"countries": ["BBB"]}, "total": 5},
     "programmes[0].select.countries", "covers routes"),
    ({"name": "p", "select": {"from": ["BBB"]}, "total": 5},
     "programmes[0].select", "selects no route"),
    ({"name": "p", "select": {"to": ["BBB"]}, "total": 5, "end": dt.date(2023, 1, 1)},
     "programmes[0].end", "outside the horizon"),
])
def test_programme_errors_are_placed(programme: dict[str, Any], path: str,
                                     words: str) -> None:
    found = _problems(programmes=[programme])
    assert any(p == path and s == "error" and words in m for p, s, m in found), found


def test_a_crossing_counts_against_one_programme() -> None:
    programmes = [{"name": "a", "select": {"to": ["BBB"]}, "capacity": 5},
                  {"name": "b", "select": {"from": ["AAA"], "cohorts": ["men"]}, "total": 9}]
    found = _problems(programmes=programmes)
    assert [(p, s) for p, s, _ in found] == [("programmes[1].select", "error")]
    assert "already in the programme 'a'" in found[0][2]
    programmes[1]["select"] = {"to": ["AAA"]}  # disjoint: fine
    assert _problems(programmes=programmes) == []


def test_origin_schedules_belong_to_the_origin() -> None:
    schedule = {"name": "drift", "field": "emigration_hazard", "countries": ["AAA"],
                "points": [{"date": START, "value": 2.0}]}
    found = _problems(schedules=[schedule])
    assert [(p, s) for p, s, _ in found] == [("schedules[0].countries", "error")]
    schedule["countries"] = ["ORG"]
    assert _problems(schedules=[schedule]) == []


@pytest.mark.parametrize(("via", "words"), [
    (["XXX"], "unknown country 'XXX'"),
    (["ORG"], "cannot pass through the origin"),
    (["AAA"], "already a stop of this route"),
])
def test_via_errors_are_placed(via: list[str], words: str) -> None:
    routes = copy.deepcopy(BASE["routes"])
    routes[0] = {"from": "ORG", "to": "AAA", "via": via}
    found = _problems(routes=routes)
    assert [(p, s) for p, s, _ in found if s == "error"] == [("routes[0].via[0]", "error")]
    assert words in found[0][2]


def test_a_policy_on_a_leg_selects_the_route() -> None:
    from flowsim.scenario import Scenario
    from flowsim.scenario.select import selected_routes
    routes = copy.deepcopy(BASE["routes"])
    routes[1] = {"from": "ORG", "to": "BBB", "via": ["AAA"], "travel_days": 14}
    s = Scenario.model_validate({**BASE, "routes": routes})

    def pick(**sel: Any) -> list[str]:
        from flowsim.scenario.model import Selector
        chosen = selected_routes(s.routes, Selector.model_validate(sel), set)
        return [s.routes[i].key for i in chosen]

    assert pick(to=["AAA"]) == ["ORG_AAA_land", "ORG_BBB_land"]  # the leg into AAA
    assert pick(**{"from": ["AAA"]}) == ["ORG_BBB_land", "AAA_BBB_land"]
    assert pick(**{"from": ["ORG"], "to": ["BBB"]}) == ["ORG_BBB_land"]  # the whole route
    assert pick(**{"from": ["AAA"], "to": ["AAA"]}) == []
