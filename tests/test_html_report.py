"""The HTML report and `flowsim plot` of every kind of output directory (run, compare,
calibrate); the page checked in a real headless browser where Chromium is installed."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from cli_helpers import invoke

from conftest import base_data, write_yaml
from flowsim.reports.calibration import open_calibration
from flowsim.reports.comparison import open_comparison
from flowsim.testing.browser import check_page, find_chromium

requires_chromium = pytest.mark.skipif(find_chromium() is None,
                                       reason="Chromium is not installed")
CLOSURE = "extends: toy.yaml\nname: no closure\npolicies:\n  remove: [finland_closes]\n"


@pytest.fixture(scope="module")
def dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A run, a comparison and a calibration of the test scenario, each with --report."""
    tmp = tmp_path_factory.mktemp("report")
    toy = write_yaml(tmp / "toy.yaml", base_data())
    (tmp / "closure.yaml").write_text(CLOSURE)
    out = {k: tmp / k for k in ("run", "compare", "calibrate")}
    for args in (("run", str(toy), "-n", "8", "--record", "all"),
                 ("compare", str(toy), str(tmp / "closure.yaml"), "-n", "6", "--by",
                  "country", "--by", "cohort"),
                 ("calibrate", str(toy), "--budget", "300", "--population", "40",
                  "--predictive", "20")):
        result = invoke(*args, "--seed", "3", "--workers", "1", "-o", str(out[args[0]]),
                        "--report", "-q")
        assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("kind", ["run", "compare", "calibrate"])
def test_the_report_is_one_self_contained_page(dirs: dict[str, Path], kind: str) -> None:
    html = (dirs[kind] / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    # nothing is loaded from anywhere: every src and href is in the page itself
    refs = re.findall(r"""(?:src|href)=['"]([^'"]+)""", html)
    assert refs and all(r.startswith(("data:", "#")) for r in refs), refs
    assert "<script" not in html
    figures = re.findall(r"<img alt='[^']*' src='data:image/svg\+xml;base64,", html)
    assert len(figures) >= 4
    for heading in ("Figures", "Provenance"):
        assert f"<h2>{heading}</h2>" in html
    assert "toy" in html and "seed" in html


def test_the_run_report_holds_the_paper_figures_and_the_summary(dirs: dict[str, Path]) -> None:
    html = (dirs["run"] / "report.html").read_text(encoding="utf-8")
    for stem in ("fan_departures", "stocks_over_time", "flows_per_step", "where_at_dates",
                 "route_flows", "route_graph", "destinations"):
        assert f"id='fig-{stem}'" in html
    assert "cumulative departures" in html and "chance only" in html
    assert "flowsim.Scenario" in html  # the scenario card


@requires_chromium
@pytest.mark.parametrize("kind", ["run", "compare", "calibrate"])
def test_the_report_loads_in_a_browser_without_errors(dirs: dict[str, Path], kind: str) -> None:
    page = check_page(dirs[kind] / "report.html")
    assert page.console_errors == ()
    assert page.images >= 4 and page.hidden == ()
    assert page.title.startswith("flowsim")


@requires_chromium
def test_the_browser_check_sees_errors_and_missing_figures(tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><head><title>x</title></head><body>"
                   "<img alt='gone' src='missing.png'><script>console.error('boom')</script>"
                   "</body></html>")
    page = check_page(bad)
    assert page.hidden == ("gone",)
    assert "boom" in page.console_errors and len(page.console_errors) == 2


def test_report_command_rewrites_the_page_of_any_directory(dirs: dict[str, Path],
                                                           tmp_path: Path) -> None:
    for kind, d in dirs.items():
        target = tmp_path / f"{kind}.html"
        result = invoke("report", str(d), "-o", str(target), "--workers", "1")
        assert result.exit_code == 0, result.output
        assert target.read_text(encoding="utf-8").count("data:image/svg+xml") >= 4
    result = invoke("report", str(tmp_path))
    assert result.exit_code == 2
    assert "no results.nc in this directory (nor the comparison.nc, posterior.nc or sensitivity.csv" in \
        result.stderr


@pytest.mark.parametrize(("kind", "stems"), [
    ("compare", {"paired_differences", "where_people_ended"}),
    ("calibrate", {"targets", "fan_departures", "posterior_marginals", "posterior_pairs"}),
])
def test_plot_redraws_a_comparison_and_a_calibration(dirs: dict[str, Path], tmp_path: Path,
                                                     kind: str, stems: set[str]) -> None:
    out = tmp_path / kind
    result = invoke("plot", str(dirs[kind]), "-f", "svg", "-o", str(out), "--workers", "1")
    assert result.exit_code == 0, result.output
    assert {p.stem for p in out.iterdir()} == stems
    assert all(p.read_bytes().lstrip().startswith(b"<?xml") for p in out.iterdir())


def test_plot_all_draws_the_paper_figures(dirs: dict[str, Path], tmp_path: Path) -> None:
    result = invoke("plot", str(dirs["run"]), "--all", "-f", "pdf", "-o", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output
    assert {p.stem for p in (tmp_path / "r").iterdir()} == {
        "fan_departures", "stocks_over_time", "flows_per_step", "where_at_dates",
        "route_flows", "route_graph", "destinations"}
    result = invoke("plot", str(dirs["compare"]), "--all", "-o", str(tmp_path / "c"))
    assert result.exit_code == 0, result.output
    assert {"effects_over_time", "effects_by_place", "effects_by_cohort"} <= {
        p.stem for p in (tmp_path / "c").iterdir()}


def test_a_calibrations_predictive_run_is_made_again(dirs: dict[str, Path]) -> None:
    # the same replicates: the medians agree to the 10 digits report.csv keeps
    from flowsim.calibration.predictive import predictive_table

    saved = open_calibration(dirs["calibrate"])
    again = predictive_table(saved.predictive(), saved.scenario.targets, 0.9,
                             saved.posterior.attrs.get("norm", "rms"))
    np.testing.assert_allclose(again["median"].to_numpy(float),
                               saved.table["median"].to_numpy(float), rtol=1e-9, atol=0)


def test_comparison_nc_is_self_described_and_reads_back(dirs: dict[str, Path]) -> None:
    with xr.open_dataset(dirs["compare"] / "comparison.nc") as ds:
        ds = ds.load()
    assert ds.attrs["Conventions"] == "CF-1.10"
    for key in ("scenario_hash", "replicates", "seed_entropy", "flowsim_version",
                "parameter_uncertainty", "command"):
        assert key in ds.attrs, key
    assert ds.attrs["parameter_uncertainty"] == "chance only"
    for name in ("value", "difference", "ratio", "over_time"):
        assert ds[name].attrs["units"] == "1" and ds[name].attrs["long_name"]
    for name in ("quantity", "place", "start", "date", "cohort", "outcome", "scenario"):
        assert ds[name].attrs["long_name"], name
    back = open_comparison(dirs["compare"])
    effects = pd.read_csv(dirs["compare"] / "effects.csv")
    np.testing.assert_allclose(back.effects()["difference"], effects["difference"],
                               rtol=1e-9)
    assert back.scenario is not None and back.scenario.name == "toy"


def test_results_nc_is_self_described(dirs: dict[str, Path]) -> None:
    with xr.open_dataset(dirs["run"] / "results.nc") as ds:
        ds = ds.load()
    assert ds.attrs["Conventions"] == "CF-1.10"
    assert ds.attrs["command"].startswith("flowsim run") and "flowsim run" in \
        ds.attrs["history"]
    for name in ds.variables:
        if name == "params":
            assert ds[name].attrs["long_name"] and ds[name].attrs["comment"]
            continue
        assert ds[name].attrs.get("long_name"), name
        if name == "time_bnds":  # CF bounds: the units and calendar are those of time
            assert ds["time"].encoding.get("bounds", ds["time"].attrs.get("bounds")) == name
            continue
        if name in ds.data_vars:
            assert ds[name].attrs["units"] == "1"
            assert ds[name].attrs.get("cell_methods", "time: sum") in ("time: point",
                                                                       "time: sum")
    assert ds["time"].attrs["standard_name"] == "time"
