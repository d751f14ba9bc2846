"""Writing a run's outputs (all or nothing) and reading saved results back."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import netCDF4
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import flowsim
from conftest import base_data
from flowsim.core.compile import scenario_hash
from flowsim.reports import run as output
from flowsim.results.dataset import Results
from flowsim.results.opening import open_results
from flowsim.scenario import read_scenario, validate_data

OUTPUT_FILES = {"results.nc", "summary.csv", "scenario.yaml", "run.json",
                "fan_departures.png", "destinations.png"}


@pytest.fixture(scope="module")
def scenario() -> flowsim.Scenario:
    s, _ = validate_data(base_data())
    return s


@pytest.fixture(scope="module")
def results(scenario: flowsim.Scenario) -> Results:
    return flowsim.simulate(scenario, replicates=12, seed=3, block_size=5,
                            record=("stock", "departures", "returns", "asylum_applications",
                                    "asylum_grants", "flow"))


def _snapshot(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


# --------------------------------------------------------------------------------------------
# NetCDF
# --------------------------------------------------------------------------------------------


def test_save_and_open_give_the_same_dataset_and_scenario(results: Results,
                                                          tmp_path: Path) -> None:
    path = results.save(tmp_path / "r.nc")
    assert path == tmp_path / "r.nc"
    back = open_results(path)
    xr.testing.assert_identical(back.dataset, results.dataset)
    assert back.dataset["country"].dtype.kind == "U"
    assert back.scenario == results.scenario
    # group and target queries work on what was read back
    at = "2022-12-01"
    np.testing.assert_array_equal(back.stock("west", at), results.stock("west", at))
    t = results.scenario.targets[0]
    np.testing.assert_allclose(back.observable(t), results.observable(t))
    assert _leftovers(tmp_path) == []


def test_counts_are_compressed_int32(results: Results, tmp_path: Path) -> None:
    path = results.save(tmp_path / "r.nc")
    with netCDF4.Dataset(path) as nc:
        assert nc.data_model == "NETCDF4"
        for name in ("stock", "departures", "flow"):
            var = nc.variables[name]
            assert var.dtype == np.int32
            assert var.filters()["zlib"] is True
        assert "scenario_json" in nc.ncattrs()


def test_save_replaces_a_file_atomically(results: Results, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "r.nc"
    path.write_bytes(b"old")

    def broken(self, target, *args, **kwargs):
        Path(target).write_bytes(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.Dataset, "to_netcdf", broken)
    with pytest.raises(KeyboardInterrupt):
        results.save(path)
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc"]


def test_open_results_reads_a_sidecar_scenario_with_a_matching_hash(
        results: Results, tmp_path: Path) -> None:
    # a file without an embedded scenario, as an older writer or another tool might leave
    Results(results.dataset, None).save(tmp_path / "results.nc")
    assert open_results(tmp_path).scenario is None
    data = base_data()
    (tmp_path / "scenario.yaml").write_text(
        flowsim.scenario.yamlio.dump_yaml(results.scenario.to_data()), encoding="utf-8")
    back = open_results(tmp_path / "results.nc")
    assert back.scenario == results.scenario
    data["name"] = "another"
    (tmp_path / "scenario.yaml").write_text(flowsim.scenario.yamlio.dump_yaml(data),
                                            encoding="utf-8")
    with pytest.warns(UserWarning, match="is not the scenario these results"):
        assert open_results(tmp_path).scenario is None


def test_open_results_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no results.nc in this directory"):
        open_results(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        open_results(tmp_path / "nothing.nc")


# --------------------------------------------------------------------------------------------
# a run directory
# --------------------------------------------------------------------------------------------


def test_write_outputs_writes_every_file(results: Results, tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "run"
    written = output.write_outputs(results, out, run_info={"workers": 3, "timings": {
        "simulate_s": 1.5}, "command": {"repeat": "flowsim run x.yaml"}})
    assert {p.name for p in written.files} == OUTPUT_FILES
    assert {p.name for p in out.iterdir()} == OUTPUT_FILES
    assert written.skipped == ()
    assert _leftovers(out.parent) == []

    back = open_results(out)
    xr.testing.assert_identical(back.dataset, results.dataset)

    meta = json.loads((out / "run.json").read_text())
    assert meta["seed"] == {"entropy": "3", "spawn_key": []}
    assert meta["replicates"] == 12
    assert meta["block_size"] == 5
    assert meta["workers"] == 3
    assert meta["timings"]["simulate_s"] == 1.5 and meta["timings"]["write_s"] >= 0
    assert meta["scenario"]["hash"] == scenario_hash(results.scenario)
    assert meta["flowsim_version"] == flowsim.__version__
    assert meta["command"]["repeat"] == "flowsim run x.yaml"
    assert set(meta["files"]) == OUTPUT_FILES

    # the summary's CSV is tidy: periods in start and end, quantiles by name, whole people
    summary = pd.read_csv(out / "summary.csv", keep_default_na=False)
    expected = results.summary()
    assert list(summary.columns) == ["quantity", "when", "q05", "q50", "q95", "mean", "start",
                                     "end", "unit", "place", "place_name"]
    assert list(summary["quantity"]) == list(expected["quantity"])
    # places by id and by name: a country's `name:`, a group's label
    names = {c.id: c.name for c in results.scenario.countries}
    in_country = summary[summary["quantity"].str.match(r"^in [A-Z]{3}$")]
    assert len(in_country) and list(in_country["place"]) == [q[3:] for q in
                                                             in_country["quantity"]]
    assert list(in_country["place_name"]) == [names[c] for c in in_country["place"]]
    shares = summary[summary["quantity"].str.startswith("share abroad in ")]
    assert list(shares["place"]) == [q.removeprefix("share abroad in ") for q in
                                     shares["quantity"]]
    assert all(shares["place_name"] != "") and "Germany" in set(summary["place_name"])
    assert set(summary.loc[summary["quantity"].str.startswith("cumulative"), "place"]) == {""}
    counts = summary["unit"] == "people"
    assert counts.any() and (~counts).any()  # the scenario's groups give shares
    np.testing.assert_array_equal(summary.loc[counts, "q50"].astype(float),
                                  np.round(expected.loc[counts, "median"]))
    assert all(float(v).is_integer() for v in summary.loc[counts, ["q05", "q50", "q95"]]
               .to_numpy().ravel())
    np.testing.assert_allclose(summary.loc[~counts, "q50"].astype(float),
                               expected.loc[~counts, "median"], atol=1e-6)
    first = str(results.dataset["step_start"].values[0])[:10]
    for _, row in summary.iterrows():
        w = row["when"]
        if w.startswith("by "):
            assert (row["start"], row["end"]) == (first, w[3:])
        elif w.startswith("at "):
            assert row["start"] == row["end"] == w[3:]
        else:
            assert f"{row['start']} to {row['end']}" == w

    # the resolved scenario loads, and is the scenario simulated
    again, _ = read_scenario(out / "scenario.yaml")
    assert scenario_hash(again) == meta["scenario"]["hash"]
    assert again == results.scenario


def test_figures_are_skipped_when_their_variable_was_not_recorded(
        scenario: flowsim.Scenario, tmp_path: Path) -> None:
    res = flowsim.simulate(scenario, replicates=3, seed=1, record=("returns",))
    written = output.write_outputs(res, tmp_path / "out")
    names = {p.name for p in written.files}
    assert "fan_departures.png" not in names and "destinations.png" not in names
    assert any("departures was not recorded" in s for s in written.skipped)
    assert "skipped" in json.loads((tmp_path / "out" / "run.json").read_text())


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_a_failure_while_writing_leaves_no_directory(results: Results, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     error: BaseException) -> None:
    def fail(*args, **kwargs):  # results.nc and summary.csv are already written by now
        raise error

    monkeypatch.setattr(output, "_draw", fail)
    out = tmp_path / "new" / "deeper" / "run"
    with pytest.raises(type(error)):
        output.write_outputs(results, out)
    assert not (tmp_path / "new").exists()  # parents made for it are gone too
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_a_failure_while_writing_leaves_an_old_run_as_it_was(
        results: Results, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        error: BaseException) -> None:
    out = tmp_path / "run"
    output.write_outputs(results, out)
    (out / "notes.txt").write_text("mine")
    before = _snapshot(out)

    real = output.save_results

    def half(res, path):
        real(res, path)
        Path(path).with_name("summary.csv").write_text("partial")
        raise error

    monkeypatch.setattr(output, "save_results", half)
    with pytest.raises(type(error)):
        output.write_outputs(results, out)
    assert _snapshot(out) == before
    assert _leftovers(tmp_path) == []


def test_a_failure_while_moving_files_in_puts_the_old_ones_back(
        results: Results, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "run"
    output.write_outputs(results, out)
    before = _snapshot(out)
    real = os.replace
    calls = {"n": 0}

    def flaky(src, dst):
        calls["n"] += 1
        if calls["n"] == 6:  # some old files set aside and new ones moved in by now
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(OSError, match="No space left"):
        output.write_outputs(results, out)
    monkeypatch.setattr(os, "replace", real)
    assert _snapshot(out) == before
    assert _leftovers(tmp_path) == []


def test_writing_again_replaces_the_files_and_keeps_others(
        scenario: flowsim.Scenario, results: Results, tmp_path: Path) -> None:
    out = tmp_path / "run"
    output.write_outputs(results, out)
    (out / "notes.txt").write_text("mine")
    other = flowsim.simulate(scenario, replicates=4, seed=9)
    output.write_outputs(other, out, figures=False)
    assert open_results(out).replicates == 4
    assert (out / "notes.txt").read_text() == "mine"
    assert json.loads((out / "run.json").read_text())["seed"]["entropy"] == "9"
    assert _leftovers(tmp_path) == []


def test_an_existing_file_is_not_a_directory(results: Results, tmp_path: Path) -> None:
    (tmp_path / "run").write_text("x")
    with pytest.raises(NotADirectoryError):
        output.write_outputs(results, tmp_path / "run")
    assert (tmp_path / "run").read_text() == "x"


def test_outputs_are_readable_by_others(results: Results, tmp_path: Path) -> None:
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    mask = os.umask(0o022)
    try:
        output.write_outputs(results, tmp_path / "run", figures=False)
    finally:
        os.umask(mask)
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "run" / "results.nc").stat().st_mode & 0o777 == 0o644


def test_write_figures_in_other_formats(results: Results, tmp_path: Path) -> None:
    written = output.write_figures(results, tmp_path / "figs", fmt="svg")
    assert {p.name for p in written.files} == {"fan_departures.svg", "destinations.svg"}
    assert (tmp_path / "figs" / "fan_departures.svg").read_text().lstrip().startswith("<?xml")


def test_no_warnings_on_a_clean_round_trip(results: Results, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        output.write_outputs(results, tmp_path / "run")
        open_results(tmp_path / "run")


def test_results_nc_has_cf_time_bounds(tmp_path):
    """Each step is a CF cell: ``time`` (the last day) names ``time_bnds``, which holds the
    first and last day in the same units; reading the file back drops the bounds again."""
    import netCDF4
    import xarray as xr

    from flowsim.results.opening import open_results
    from flowsim.testing.toys import linear_chain

    res = flowsim.simulate(linear_chain(N=100, h=0.1, q=0.2, steps=4).scenario, 3, seed=1,
                           workers=1)
    path = res.save(tmp_path / "results.nc")
    with netCDF4.Dataset(path) as nc:
        assert nc["time"].bounds == "time_bnds"
        assert nc["time_bnds"].dimensions == ("time", "nv")
        days = nc["time"][:]
        bounds = nc["time_bnds"][:]
    assert (bounds[:, 1] == days).all() and (bounds[:, 1] - bounds[:, 0] == 6).all()
    decoded = xr.open_dataset(path)["time_bnds"].values
    np.testing.assert_array_equal(decoded[:, 0], res.dataset["step_start"].values)
    xr.testing.assert_identical(open_results(path).dataset, res.dataset)
