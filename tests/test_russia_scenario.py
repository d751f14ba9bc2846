"""The bundled Russia 2022 scenario: it loads cleanly and covers the article and the timeline.

The scenario tests need only the repository. The coverage tests compare the scenario with the
project's shared data (``../shared/data`` beside the repository) and are skipped without it.
"""

from __future__ import annotations

import csv
import datetime as dt
import warnings
from itertools import combinations
from pathlib import Path

import pytest

import flowsim
from flowsim.scenario import read_scenario
from flowsim.scenario.model import OBSERVABLES, Policy, Route, Scenario
from flowsim.scenario.select import selected_routes

ROOT = Path(__file__).parents[1]
SCENARIO = ROOT / "scenarios" / "russia-2022.yaml"
SHARED_DATA = Path(__file__).parents[1].parent / "shared" / "data"

# Countries the article names as destinations or as policy makers.
ARTICLE_COUNTRIES = {"ARM", "KAZ", "GEO", "ISR", "DEU", "SRB", "TUR", "ARE", "EST", "LVA", "LTU",
                     "POL", "FIN", "CZE", "NLD", "NOR", "USA", "CAN", "GBR"}
# Other routes people used (public reporting), required by the scenario brief.
OTHER_ROUTES = {"KGZ", "UZB", "MNE", "MNG"}
# The groups comparisons use; together they partition the destination countries.
PARTITION = ("west", "post_soviet", "neutral", "kremlin_aligned")

# Every row of policy_timeline.csv, keyed by (date_start, who), and what represents it in the
# scenario. `policies`/`shocks`/`routes` name items that must exist; the first policy or shock
# listed must start on the row's date (and end on its end date, if any). `not_selected` lists
# countries of the row's `who` that the policies deliberately leave out (with the reason in
# the scenario's comments).
TIMELINE: dict[tuple[str, str], dict[str, object]] = {
    ("2022-02-24", "RUS"): {"shocks": ["invasion", "war_persistent"]},
    ("2022-02-27", "EU;CAN;GBR;USA"): {
        "policies": ["airspace_closed_europe_canada", "airspace_closed_usa"]},
    ("2022-02-28", "USA"): {"policies": ["us_visas_not_issued_in_russia"]},
    # Cyprus is in the EU but not in Schengen: its e_visa route has no issuance to lower
    ("2022-02-25", "EU"): {"policies": ["eu_visa_facilitation_partly_suspended"],
                           "not_selected": {"CYP"}},
    ("2022-09-12", "EU"): {"policies": ["eu_visa_facilitation_fully_suspended"],
                           "not_selected": {"CYP"}},
    ("2022-09-19", "EST;LVA;LTU;POL"): {"policies": ["baltics_poland_tourist_entry_refused"]},
    ("2022-09-21", "RUS"): {"shocks": ["mobilization"]},
    ("2022-09-30", "FIN"): {"policies": ["finland_tourists_restricted"]},
    ("2022-10-25", "CZE"): {"policies": ["czechia_closed_to_russians"]},
    ("2022-03-01", "NLD;NOR"): {"policies": ["nld_nor_asylum_moratorium"]},
    ("2022-03-01", "DEU;other EU"): {"policies": ["special_admission_at_risk"]},
    ("2023-11-30", "FIN"): {"policies": ["finland_land_border_closed"]},
    ("2022-02-24", "ARM;GEO;KAZ;KGZ;UZB;SRB;TUR;ARE;MNE;MNG"): {
        "routes": ["RUS_ARM_air", "RUS_GEO_land", "RUS_KAZ_land", "RUS_KGZ_air", "RUS_UZB_air",
                   "RUS_SRB_air", "RUS_TUR_air", "RUS_ARE_air", "SRB_MNE_land",
                   "RUS_MNG_land"]},
    ("2022-02-24", "ISR"): {"routes": ["RUS_ISR_aliyah"]},
}

# Rows of article_targets.csv with no honest mapping onto a model observable.
OMITTED_TARGETS = {
    "schengen_drop": "a ratio to 2019 visa issuance, before the horizon",
    "rosstat_net_loss": "official net migration of all residents, foreigners included",
}
# targets whose id differs from the csv row they map: the figure is read as another
# observable than the csv's name says (repatriates are counted at their change of status)
RENAMED_TARGETS = {"repatriates_israel": "arrivals_israel"}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    s, _ = read_scenario(SCENARIO)
    return s


def _shared_rows(name: str) -> list[dict[str, str]]:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _selects(s: Scenario, policy: Policy, route: Route) -> bool:
    return bool(selected_routes([route], policy.select, s.expand))


# --------------------------------------------------------------------------------------------
# the scenario on its own
# --------------------------------------------------------------------------------------------


def test_loads_without_errors_or_warnings() -> None:
    _, problems = read_scenario(SCENARIO)
    assert [str(p) for p in problems] == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flowsim.load_scenario(SCENARIO)


def test_one_origin_and_enough_countries(scenario: Scenario) -> None:
    assert scenario.origin.id == "RUS"
    assert [c.id for c in scenario.countries if "origin" in c.roles] == ["RUS"]
    assert len(scenario.countries) - 1 >= 25
    assert scenario.calendar.start == dt.date(2022, 2, 1)
    assert scenario.calendar.end == dt.date(2024, 6, 30)
    assert scenario.calendar.step == "week"


def test_article_countries_and_other_routes_present(scenario: Scenario) -> None:
    ids = {c.id for c in scenario.countries}
    assert ARTICLE_COUNTRIES - ids == set()
    assert OTHER_ROUTES - ids == set()


def test_every_country_has_a_route_from_the_origin(scenario: Scenario) -> None:
    reached = {r.to for r in scenario.routes if r.from_ == "RUS"}
    assert {c.id for c in scenario.countries} - {"RUS"} - reached == set()


def test_comparison_groups_partition_the_destinations(scenario: Scenario) -> None:
    members = scenario.group_members()
    for g in PARTITION:
        assert members.get(g), f"group {g} is missing or empty"
    for a, b in combinations(PARTITION, 2):
        assert members[a] & members[b] == set(), f"{a} and {b} overlap"
    union = frozenset().union(*(members[g] for g in PARTITION))
    assert union == {c.id for c in scenario.countries} - {"RUS"}
    assert members["kremlin_aligned"] == {"BLR"}


def test_helper_groups_are_consistent(scenario: Scenario) -> None:
    members = scenario.group_members()
    ids = {c.id for c in scenario.countries}
    assert set(members) & ids == set(), "a group is named like a country"
    assert members["eu"] <= members["eu_plus"] <= members["west"]
    assert members["schengen"] <= members["west"]
    assert members["eu_plus"] - members["eu"] == {"NOR", "CHE"}
    assert "CYP" in members["eu"] and "CYP" not in members["schengen"]
    assert members["baltics"] == {"EST", "LVA", "LTU"}


def test_cohorts_and_eligibility(scenario: Scenario) -> None:
    cohorts = {c.name: c for c in scenario.cohorts}
    assert set(cohorts) == {"men_conscription", "mobile_professionals", "activists",
                            "israel_eligible", "rest"}
    assert "humanitarian" in cohorts["activists"].eligible
    assert "israel_return" in cohorts["israel_eligible"].eligible
    aliyah = scenario.route("RUS_ISR_aliyah")
    assert aliyah.requires == ("israel_return",)
    internal = {r.to for r in scenario.routes if r.from_ == "RUS" and r.documents == "internal"}
    assert internal == {"ARM", "KAZ", "KGZ", "BLR"}


def test_every_parameter_has_a_prior(scenario: Scenario) -> None:
    assert [n for n, p in scenario.parameters.items() if p.prior is None] == []


def test_humanitarian_routes_only_via_policies(scenario: Scenario) -> None:
    # Declared routes give the pre-war regime; humanitarian_only appears only through policies.
    assert [r.key for r in scenario.routes if r.regime == "humanitarian_only"] == []


def test_no_policy_closes_the_visa_free_neighbours(scenario: Scenario) -> None:
    """policy_timeline.csv: entry without a visa remains possible into these countries.

    The routes that represent that row are visa-free and no policy restricts them (Montenegro
    is represented by Serbia -> Montenegro: its direct flights closed with the EU airspace).
    """
    members = scenario.group_members()
    row = ("2022-02-24", "ARM;GEO;KAZ;KGZ;UZB;SRB;TUR;ARE;MNE;MNG")
    routes = [scenario.route(k) for k in TIMELINE[row]["routes"]]
    assert {r.to for r in routes} == members["visa_free_2022"]
    restricting = [p for p in scenario.policies if p.route is not None
                   and p.route.regime in ("closed", "humanitarian_only", "visa_required")]
    for r in routes:
        assert r.regime == "visa_free", f"{r.key} is {r.regime}"
        hit = [p.name for p in restricting if _selects(scenario, p, r)]
        assert hit == [], f"{r.key} is restricted by {hit}"


# --------------------------------------------------------------------------------------------
# coverage of the shared data (skipped without ../shared/data)
# --------------------------------------------------------------------------------------------


def test_policy_timeline_is_covered(scenario: Scenario) -> None:
    rows = _shared_rows("policy_timeline.csv")
    keys = [(r["date_start"], r["who"]) for r in rows]
    assert sorted(set(keys) - set(TIMELINE)) == [], "csv rows without a mapping"
    assert sorted(set(TIMELINE) - set(keys)) == [], "mapping rows not in the csv"
    policies = {p.name: p for p in scenario.policies}
    shocks = {s.name: s for s in scenario.shocks}
    routes = {r.key for r in scenario.routes}
    members = scenario.group_members()
    for row in rows:
        key = (row["date_start"], row["who"])
        spec = TIMELINE[key]
        start, end = _date(row["date_start"]), _date(row["date_end"])
        names = list(spec.get("policies", []))
        assert set(names) <= set(policies), f"{key}: unknown policy"
        assert set(spec.get("shocks", [])) <= set(shocks), f"{key}: unknown shock"
        assert set(spec.get("routes", [])) <= routes, f"{key}: unknown route"
        assert names or spec.get("shocks") or spec.get("routes"), f"{key}: maps to nothing"
        if names:
            first = policies[names[0]]
            assert first.start == start, f"{key}: {first.name} starts {first.start}"
            assert first.end == end, f"{key}: {first.name} ends {first.end}"
            selected: set[str] = set()
            for n in names:
                sel = policies[n].select
                chosen = scenario.expand(sel.to if policies[n].route is not None
                                         else sel.countries)
                selected |= set(chosen if chosen is not None else members["west"])
            wanted: set[str] = set()
            for token in row["who"].split(";"):
                if token == "EU":
                    wanted |= members["eu"]
                elif len(token) == 3 and token.isupper():
                    wanted.add(token)
            missing = wanted - selected - set(spec.get("not_selected", set()))
            assert missing == set(), f"{key}: {sorted(missing)} not selected"
        if spec.get("shocks"):
            assert shocks[spec["shocks"][0]].date == start


#: policies beside the timeline: changes of capacity from public reporting, not decisions
#: of policy, each citing its source (an address) in its description
REPORTED_POLICIES = {"nativ_consulates_expanded"}


def test_every_policy_is_on_the_timeline(scenario: Scenario) -> None:
    _shared_rows("policy_timeline.csv")  # skip without the shared data, like the test above
    mapped = {n for spec in TIMELINE.values() for n in spec.get("policies", [])}
    assert {p.name for p in scenario.policies} - mapped == REPORTED_POLICIES
    for p in scenario.policies:
        if p.name in REPORTED_POLICIES:
            assert "https://" in p.description, p.name


#: targets added beside the article's figures: the timing of 2022, from public sources
TIMING_TARGETS = {"israel_repatriates_mar2022", "israel_repatriates_nov2022",
                  "israel_repatriates_series"}


def test_targets_map_to_the_article(scenario: Scenario) -> None:
    rows = {r["id"]: r for r in _shared_rows("article_targets.csv")}
    article = [t for t in scenario.targets if t.id not in TIMING_TARGETS]
    assert {t.id for t in scenario.targets} - {t.id for t in article} == TIMING_TARGETS
    ids = [RENAMED_TARGETS.get(t.id, t.id) for t in article]
    assert len(ids) == len(set(ids))
    assert set(ids) - set(rows) == set(), "targets not in article_targets.csv"
    assert set(rows) - set(ids) == set(OMITTED_TARGETS), "csv rows neither mapped nor omitted"
    for t in article:
        row = rows[RENAMED_TARGETS.get(t.id, t.id)]
        assert t.quote == row["quote"], f"{t.id}: quote differs from the csv"
    # every figure, calibrated on or kept for validation, says where it comes from and how
    # it maps onto the model, and is read with an error model
    checked = [*scenario.targets, *scenario.validation]
    assert len(scenario.validation) >= 10
    assert not {t.id for t in scenario.validation} & ({t.id for t in scenario.targets}
                                                      | set(rows))
    for t in checked:
        assert t.observable in OBSERVABLES
        assert t.source and t.note and t.quote, f"{t.id}: needs a source, a quote and a note"
    assert all(t.error is not None for t in scenario.targets)


def test_omitted_targets_are_explained_in_the_targets_file() -> None:
    text = (ROOT / "scenarios" / "russia-2022-targets.yaml").read_text(encoding="utf-8")
    for tid in OMITTED_TARGETS:
        assert tid in text, f"{tid} is omitted without a comment saying why"
