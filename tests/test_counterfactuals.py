"""The shipped counterfactuals (``scenarios/counterfactuals/``): they load cleanly, change the
baseline in the policies (and routes and parameters) they say they change and nowhere else,
those changes do what their comments say in the compiled model, and the effects go the
expected way."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import flowsim
from flowsim.cli import app
from flowsim.core.compile import CLOSED, HUMANITARIAN, VISA_FREE, VISA_REQUIRED, compile_scenario
from flowsim.scenario import read_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "russia-2022.yaml"
FOLDER = ROOT / "scenarios" / "counterfactuals"
SCHEMA_LINE = "# yaml-language-server: $schema=../../docs/scenario.schema.json"

EU_ROUTES = [f"{c}_EU_mobilization" for c in ("RUS", "GEO", "ARM", "KAZ", "TUR", "SRB")]
PAROLE_ROUTES = [f"{c}_USA_parole" for c in ("RUS", "GEO", "ARM", "KAZ", "TUR", "SRB")]

#: file -> what it changes: policies removed and added, routes and parameters added
INTENDED: dict[str, dict[str, list[str]]] = {
    "eu_humanitarian_visas.yaml": {
        "remove": [], "add": ["eu_humanitarian_visas_mobilization"], "routes": EU_ROUTES,
        "parameters": ["eu_mobilization_visa_quota_russia",
                       "eu_mobilization_visa_quota_abroad"]},
    "visa_facilitation_kept.yaml": {
        "remove": ["eu_visa_facilitation_partly_suspended",
                   "eu_visa_facilitation_fully_suspended",
                   "baltics_poland_tourist_entry_refused", "finland_tourists_restricted",
                   "czechia_closed_to_russians"],
        "add": [], "routes": [], "parameters": []},
    "asylum_like_belarusians.yaml": {
        "remove": ["nld_nor_asylum_moratorium"], "add": ["recognition_as_for_belarusians"],
        "routes": [], "parameters": []},
    "us_visas_and_parole.yaml": {
        "remove": ["us_visas_not_issued_in_russia"],
        "add": ["us_visas_issued_in_russia", "us_humanitarian_parole"],
        "routes": PAROLE_ROUTES,
        "parameters": ["us_parole_quota_russia", "us_parole_quota_abroad"]},
    "georgia_kazakhstan_visas.yaml": {
        "remove": [], "add": ["georgia_kazakhstan_require_visas"], "routes": [],
        "parameters": []},
}


@pytest.fixture(scope="module")
def baseline() -> flowsim.Scenario:
    scenario, found = read_scenario(BASELINE)
    assert found == []
    return scenario


@pytest.fixture(scope="module")
def counterfactuals() -> dict[str, flowsim.Scenario]:
    out = {}
    for f in sorted(FOLDER.glob("*.yaml")):
        scenario, found = read_scenario(f)
        assert found == [], f"{f.name}: {[str(p) for p in found]}"
        out[f.name] = scenario
    return out


def test_every_shipped_counterfactual_is_described_here(counterfactuals) -> None:
    assert sorted(counterfactuals) == sorted(INTENDED)


@pytest.mark.parametrize("name", sorted(INTENDED))
def test_the_file_is_a_commented_overlay(name: str, counterfactuals) -> None:
    text = (FOLDER / name).read_text(encoding="utf-8")
    assert text.splitlines()[0] == SCHEMA_LINE
    assert "\nextends: ../russia-2022.yaml\n" in text
    assert text.count("\n#") >= 10  # says what is assumed, and its source
    s = counterfactuals[name]
    assert s.name != "russia-2022" and s.description.startswith("Counterfactual")


def test_validate_accepts_them_all_without_warnings() -> None:
    files = [str(f) for f in sorted(FOLDER.glob("*.yaml"))]
    result = CliRunner().invoke(app, ["validate", *files], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output.lower()
    assert result.output.count("(valid)") == len(files)


@pytest.mark.parametrize("name", sorted(INTENDED))
def test_each_changes_only_what_it_intends(name: str, baseline, counterfactuals) -> None:
    cf, want = counterfactuals[name], INTENDED[name]
    kept = [p for p in baseline.policies if p.name not in want["remove"]]
    assert [p.name for p in cf.policies] == [p.name for p in kept] + want["add"]
    assert list(cf.policies[:len(kept)]) == kept  # the kept ones unchanged, in order
    assert list(cf.routes[:len(baseline.routes)]) == list(baseline.routes)
    assert [r.key for r in cf.routes[len(baseline.routes):]] == want["routes"]
    assert {k: v for k, v in cf.parameters.items() if k in baseline.parameters} \
        == baseline.parameters
    assert [k for k in cf.parameters if k not in baseline.parameters] == want["parameters"]
    assert all(cf.parameters[k].prior is None for k in want["parameters"])  # not calibrated
    same = cf.model_copy(update={"name": baseline.name, "description": baseline.description,
                                 "policies": baseline.policies, "routes": baseline.routes,
                                 "parameters": baseline.parameters})
    assert same == baseline  # countries, groups, cohorts, shocks, behaviour, targets


# -- what the changes do, in the compiled model ------------------------------------------------


def _model(s: flowsim.Scenario):
    return compile_scenario(s)


def _epoch_on(m, day: str) -> int:
    """The epoch of the step holding ``day``."""
    ends = np.array(m.step_ends, dtype="datetime64[D]")
    return int(m.epoch_of_step[int(np.searchsorted(ends, np.datetime64(day)))])


def _slot(m, field, index) -> str | float:
    slot = int(field.slot[index])
    return m.param_names[slot] if slot >= 0 else float(field.const[index])


def test_eu_humanitarian_visas_open_to_men_only_from_the_mobilization(counterfactuals) -> None:
    m = _model(counterfactuals["eu_humanitarian_visas.yaml"])
    men = m.cohort_names.index("men_conscription")
    others = [k for k in range(m.n_cohorts) if k != men]
    before, after, last = (_epoch_on(m, "2022-09-14"), _epoch_on(m, "2022-09-28"),
                           int(m.epoch_of_step[-1]))
    for key in EU_ROUTES:
        r = m.route_keys.index(key)
        assert (m.route_regime[before, r] == CLOSED).all()
        for e in (after, last):
            assert m.route_regime[e, r, men] == VISA_REQUIRED
            assert (m.route_regime[e, r, others] == CLOSED).all()
            assert _slot(m, m.route_issuance, (e, r, men)) == 0.8
        where = "russia" if key.startswith("RUS") else "abroad"
        assert _slot(m, m.route_capacity, (last, r)) == f"eu_mobilization_visa_quota_{where}"
        assert not m.route_internal[0, r]  # a visa needs an international passport
    # no cohort was given the humanitarian flag: Germany's section 22 routes stay the
    # activists' only
    activists = m.cohort_names.index("activists")
    assert m.humanitarian_eligible.tolist() == [k == activists for k in range(m.n_cohorts)]


def test_visa_facilitation_kept_keeps_prewar_schengen_visas(baseline, counterfactuals) -> None:
    m, b = _model(counterfactuals["visa_facilitation_kept.yaml"]), _model(baseline)
    mid2023 = _epoch_on(m, "2023-06-01")
    for key in ("RUS_FIN_land", "RUS_EST_land", "RUS_POL_land", "BLR_LTU_land", "GEO_DEU_air",
                "TUR_CZE_air"):
        r = m.route_keys.index(key)
        assert (m.route_regime[mid2023, r] == VISA_REQUIRED).all()
        assert _slot(m, m.route_issuance, (mid2023, r, 0)) == "schengen_issuance_prewar"
        assert _slot(m, m.route_delay, (mid2023, r, 0)) == "schengen_delay_days_prewar"
    r = b.route_keys.index("RUS_EST_land")
    assert (b.route_regime[_epoch_on(b, "2023-06-01"), r] == HUMANITARIAN).all()  # the ban
    # kept: the airspace closure, and Finland's closure of its land border in November 2023
    last = int(m.epoch_of_step[-1])
    assert (m.route_regime[last, m.route_keys.index("RUS_DEU_air")] == CLOSED).all()
    assert (m.route_regime[last, m.route_keys.index("RUS_FIN_land")] == CLOSED).all()


def test_asylum_like_belarusians(counterfactuals, baseline) -> None:
    s = counterfactuals["asylum_like_belarusians.yaml"]
    m = _model(s)
    eu_plus = s.group_members()["eu_plus"]
    last = int(m.epoch_of_step[-1])
    for i, c in enumerate(m.country_ids):
        rate = _slot(m, m.recognition_rate, (last, i, 0))
        if c in eu_plus:
            assert rate == 0.86
        elif m.has_asylum[i]:
            assert rate != 0.86  # the UK, the US and Canada keep theirs
    for c in ("NLD", "NOR"):
        assert math.isinf(m.asylum_capacity.const[last, m.country_ids.index(c)])
    assert _slot(m, m.recognition_rate, (_epoch_on(m, "2022-02-10"), 0, 0)) != 0.86


def test_us_visas_and_parole(counterfactuals) -> None:
    m = _model(counterfactuals["us_visas_and_parole.yaml"])
    last = int(m.epoch_of_step[-1])
    r = m.route_keys.index("RUS_USA_air")
    assert (m.route_regime[last, r] == VISA_REQUIRED).all()
    assert _slot(m, m.route_issuance, (last, r, 0)) == "us_issuance_third_country"
    assert _slot(m, m.route_delay, (last, r, 0)) == "us_delay_days"
    assert _slot(m, m.route_cost, (last, r, 0)) == 1.8
    assert "airspace_closed_usa" in m.epoch_policies[last]  # kept; the new policy overrides
    before = _epoch_on(m, "2022-04-18")
    for key in PAROLE_ROUTES:
        p = m.route_keys.index(key)
        assert (m.route_regime[before, p] == CLOSED).all()
        assert (m.route_regime[last, p] == VISA_REQUIRED).all()  # every cohort
        where = "russia" if key.startswith("RUS") else "abroad"
        assert _slot(m, m.route_capacity, (last, p)) == f"us_parole_quota_{where}"


def test_georgia_and_kazakhstan_require_visas_from_22_september(counterfactuals) -> None:
    m = _model(counterfactuals["georgia_kazakhstan_visas.yaml"])
    into = [i for i, d in enumerate(m.route_dst) if m.country_ids[d] in ("GEO", "KAZ")]
    assert len(into) == 5
    before, last = _epoch_on(m, "2022-09-14"), int(m.epoch_of_step[-1])
    for r in into:
        assert (m.route_regime[before, r] == VISA_FREE).all()
        assert (m.route_regime[last, r] == VISA_REQUIRED).all()
        assert _slot(m, m.route_issuance, (last, r, 0)) == "schengen_issuance_full"
    armenia = m.route_keys.index("RUS_ARM_air")
    assert (m.route_regime[last, armenia] == VISA_FREE).all()


# -- the direction of the effects ----------------------------------------------------------------


def test_the_effects_go_the_expected_way(baseline, counterfactuals) -> None:
    """Two replicates with declared parameter values (the paired differences are so much
    larger than their spread that their signs are certain)."""
    from flowsim.comparison.effects import compare

    named = {s.name: s for s in counterfactuals.values()}
    c = compare(baseline, named, replicates=2, seed=1, workers=1)
    d = c.differences
    end = str(c.results[baseline.name].dataset["time"].values[-1].astype("datetime64[D]"))

    def diff(cf: str, outcome: str) -> np.ndarray:
        return d.sel(scenario=cf, outcome=outcome.replace("END", end)).values

    positive = {
        "eu-humanitarian-visas": ["in eu at END", "abroad at END: men_conscription"],
        "visa-facilitation-kept": ["in west at END", "in eu at END", "abroad at END"],
        "asylum-like-belarusians": ["asylum grants", "settled in west at END"],
        "us-visas-and-parole": ["in west at END", "asylum applications"],
    }
    negative = {
        "us-visas-and-parole": ["in eu at END"],  # some who would have gone to the EU
        "georgia-kazakhstan-visas": ["in post_soviet_and_neutral at END", "departures",
                                     "abroad at END"],
    }
    for cf, outs in positive.items():
        for o in outs:
            assert (diff(cf, o) > 0).all(), (cf, o, diff(cf, o))
    for cf, outs in negative.items():
        for o in outs:
            assert (diff(cf, o) < 0).all(), (cf, o, diff(cf, o))
