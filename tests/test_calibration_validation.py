"""The validation set and targets files: ``validation:``, ``error_model:``, positioned errors,
and the validation figures in the calibration's report (never in its distance).

The figures are toy ones, made up for these tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import invoke
from test_calibration import binomial_toy

import flowsim
from conftest import base_data, write_yaml
from flowsim.calibration import abc_smc
from flowsim.cli._common import EXIT_BAD_INPUT
from flowsim.core.compile import scenario_hash
from flowsim.reports.calibration import open_calibration
from flowsim.scenario.model import Scenario

TINY = ("--budget", "300", "--population", "40", "--predictive", "30", "--workers", "1")

VALIDATION = [
    {"id": "in_armenia", "observable": "stock", "kind": "about", "value": 20000,
     "where": ["ARM"], "at": "2022-10-01", "source": "toy figure"},
    {"id": "men_share", "observable": "ratio", "kind": "interval", "low": 0.2, "high": 0.6,
     "numerator": {"observable": "departures", "cohorts": ["men"]},
     "denominator": {"observable": "departures"}, "start": "2022-09-21",
     "end": "2022-10-31", "source": "toy figure"},
    {"id": "georgia_monthly", "observable": "arrivals", "kind": "series", "where": ["GEO"],
     "every": "month", "start": "2022-03-01", "end": "2022-05-31",
     "values": [30000, 20000, 15000], "error": {"dist": "lognormal", "rsd": 0.3},
     "source": "toy figure"},
]


def _files(tmp: Path, targets_file: dict, scenario: dict | None = None) -> Path:
    data = base_data() if scenario is None else scenario
    data["targets"] = "targets.yaml"
    write_yaml(tmp / "targets.yaml", targets_file)
    return write_yaml(tmp / "s.yaml", data)


def test_a_targets_file_gives_targets_validation_and_an_error_model(tmp_path: Path):
    targets = base_data()["targets"]
    plain = flowsim.load_scenario(_files(tmp_path, {"targets": targets}))
    s = flowsim.load_scenario(_files(tmp_path, {"error_model": "error", "targets": targets,
                                                "validation": VALIDATION}))
    assert [t.id for t in s.validation] == ["in_armenia", "men_share", "georgia_monthly"]
    # error_model: error gives every entry without a block the error its kind implies ...
    assert all(t.error is not None for t in (*s.targets, *s.validation))
    assert s.targets[0].error.dist == "normal" and s.targets[0].error.rsd is None
    # ... and keeps the blocks that are there
    assert s.validation[2].error.dist == "lognormal"
    # the validation set is not part of what was calibrated: the scenario hash ignores it
    v_only = flowsim.load_scenario(_files(tmp_path, {"targets": targets,
                                                     "validation": VALIDATION}))
    assert all(t.error is None for t in v_only.targets)
    assert scenario_hash(v_only) == scenario_hash(plain)
    # the default error_model is range: nothing changes
    assert flowsim.load_scenario(_files(tmp_path, {"error_model": "range",
                                                   "targets": targets})) == plain


def test_targets_file_problems_are_positioned(tmp_path: Path):
    bad = [dict(VALIDATION[0], where=["ARN"]),
           dict(VALIDATION[2], values=[1, 2])]
    path = _files(tmp_path, {"targets": base_data()["targets"], "validation": bad})
    result = invoke("validate", str(path))
    assert result.exit_code == EXIT_BAD_INPUT
    err = result.stderr
    assert "targets.yaml:" in err and "validation[0].where[0]: unknown country or group " \
        "'ARN'" in err and "did you mean 'ARM'" in err
    assert "validation[1]" in err and "holds 3 months but `values` has 2 figures" in err
    for extra, message in (({"error_modle": "error"}, "unknown key 'error_modle'"),
                           ({"error_model": "sd"}, "error_model is `range`")):
        path = _files(tmp_path, {"targets": base_data()["targets"], **extra})
        result = invoke("validate", str(path))
        assert result.exit_code == EXIT_BAD_INPUT and message in result.stderr
        assert "targets.yaml:" in result.stderr


def test_validation_in_an_overlay_and_given_twice(tmp_path: Path):
    data = base_data()
    data["validation"] = VALIDATION[:1]
    write_yaml(tmp_path / "base.yaml", data)
    write_yaml(tmp_path / "over.yaml", {"extends": "base.yaml",
                                        "validation": {"add": VALIDATION[1:2]}})
    s = flowsim.load_scenario(tmp_path / "over.yaml")
    assert [t.id for t in s.validation] == ["in_armenia", "men_share"]
    from flowsim.scenario.diff import scenario_diff

    changes = scenario_diff(flowsim.load_scenario(tmp_path / "base.yaml"), s)
    assert [c.text.split(":")[0] for c in changes] == ["validation figure 'men_share' added"]
    path = _files(tmp_path, {"targets": base_data()["targets"], "validation": VALIDATION},
                  dict(base_data(), validation=VALIDATION[:1]))
    result = invoke("validate", str(path))
    assert result.exit_code == EXIT_BAD_INPUT and "give it in one place" in result.stderr


def test_the_validation_set_never_enters_the_distance():
    scenario = binomial_toy(value=300, tolerance=0.05)
    data = scenario.to_data()
    data["validation"] = [{**data["targets"][0], "id": "dep_check", "value": 100}]
    with_v = Scenario.model_validate(data)
    kw = {"population": 100, "budget": 3_000, "seed": 3, "workers": 1}
    a, b = abc_smc(scenario, **kw), abc_smc(with_v, **kw)
    np.testing.assert_array_equal(a.particles, b.particles)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert b.target_columns == ("dep",)


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """One tiny calibration with a series target and the validation set (shared)."""
    tmp = tmp_path_factory.mktemp("validation")
    targets = base_data()["targets"] + [
        {"id": "georgia_weekly", "observable": "arrivals", "kind": "series", "where": ["GEO"],
         "every": "week", "start": "2022-03-07", "end": "2022-04-03",
         "values": [9000, 8000, 7000, 6000], "tolerance": 0.5, "source": "toy figure"}]
    toy = write_yaml(tmp / "toy.yaml", base_data())
    tfile = write_yaml(tmp / "t.yaml", {"targets": targets, "validation": VALIDATION})
    out = tmp / "out"
    result = invoke("calibrate", str(toy), "--targets", str(tfile), *TINY, "--seed", "2",
                    "--out", str(out))
    return out, result


def test_calibrate_reports_the_validation_set_and_the_series(calibrated):
    out, result = calibrated
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    assert {"validation.csv", "validation.png", "series.png"} <= names
    assert "Validation (not calibrated on): posterior predictive" in result.stdout
    table = pd.read_csv(out / "validation.csv", keep_default_na=False)
    assert list(table["column"]) == ["in_armenia", "men_share", "georgia_monthly[2022-03]",
                                     "georgia_monthly[2022-04]", "georgia_monthly[2022-05]"]
    assert table["observable"][1] == "departures ÷ departures"
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## Validation (not calibrated on)" in report and "validation.png" in report
    assert "| georgia_monthly[2022-04] | arrivals | about 20,000 (lognormal, rsd 0.3)" in report
    assert "series.png" in report
    meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert meta["validation"] == 5 and 0 <= meta["validation_met"] <= 5
    assert {"validation.csv", "validation.png", "series.png"} <= set(meta["files"])
    post = flowsim.calibration.Posterior.load(out / "posterior.nc")
    assert "in_armenia" not in post.target_ids and "georgia_weekly" in post.target_ids


def test_a_saved_calibration_shows_its_validation_set_again(calibrated):
    from flowsim.reports.calibration import _extra_figures
    from flowsim.reports.html import calibration_report

    out, _ = calibrated
    saved = open_calibration(out)
    table = pd.read_csv(out / "validation.csv", keep_default_na=False)
    assert list(saved.validation["column"]) == list(table["column"])
    assert saved.validation["met"].dtype == bool
    figures = _extra_figures(saved.posterior, saved.table, saved.validation)
    assert set(figures) == {"validation", "series"}
    titles = [ax.get_title(loc="left") for ax in figures["series"].axes if ax.get_visible()]
    assert any(t.startswith("georgia_monthly (validation)") for t in titles)
    assert any(t.startswith("georgia_weekly") for t in titles)
    html = calibration_report(saved.posterior, saved.scenario, None, saved.table,
                              saved.run_info, saved.validation)
    assert "Validation (not calibrated on)" in html and "men_share" in html


def test_calibrate_refuses_a_mix_of_error_models_and_ranges(tmp_path: Path):
    targets = base_data()["targets"]
    targets[0]["error"] = {"rsd": 0.1}
    path = _files(tmp_path, {"targets": targets})
    result = invoke("calibrate", str(path), *TINY, "--out", str(tmp_path / "o"))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "mix error models" in result.stderr and "error_model: error" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("kind", ["validation", "targets"])
def test_validate_summary_shows_series_and_error_figures(tmp_path: Path, kind: str):
    data = base_data()
    data[kind] = VALIDATION if kind == "validation" else data["targets"] + VALIDATION[2:]
    result = invoke("validate", str(write_yaml(tmp_path / "v.yaml", data)))
    assert result.exit_code == 0, result.output
    assert "3 monthly figures (lognormal, rsd 0.3)" in result.stdout
    assert ("Validation (not calibrated on)" in result.stdout) is (kind == "validation")
