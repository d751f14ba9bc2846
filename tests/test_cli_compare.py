"""``flowsim compare``, run in-process."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

import flowsim
from conftest import base_data, write_yaml
from flowsim.cli import app
from flowsim.cli._common import EXIT_BAD_INPUT
from flowsim.comparison.effects import RECORD
from flowsim.comparison.outcomes import outcomes

runner = CliRunner()
WIDE = {"COLUMNS": "200"}
FILES = {"effects.csv", "comparison.nc", "run.json", "paired_differences.png",
         "where_people_ended.png"}

CLOSURE = "extends: base.yaml\nname: no closure\npolicies:\n  remove: [finland_closes]\n"
MORE_VISAS = ("extends: base.yaml\nname: more visas\npolicies:\n  add:\n"
              "    - {name: more_visas, start: 2022-04-01, select: {to: [DEU]},"
              " route: {issuance: 0.6}}\n")


def invoke(*args: str, catch: bool = False):
    result = runner.invoke(app, list(args), env=WIDE, catch_exceptions=catch)
    assert "Traceback" not in result.output, result.output
    return result


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    base = write_yaml(tmp_path / "base.yaml", base_data())
    (tmp_path / "closure.yaml").write_text(CLOSURE, encoding="utf-8")
    (tmp_path / "visas.yaml").write_text(MORE_VISAS, encoding="utf-8")
    return base, tmp_path / "closure.yaml", tmp_path / "visas.yaml"


def _run(files, out: Path, *extra: str):
    return invoke("compare", *map(str, files), "-n", "6", "-w", "1", "--out", str(out), *extra)


def test_help_lists_compare() -> None:
    assert "compare" in invoke("--help").stdout
    result = invoke("compare", "--help")
    assert result.exit_code == 0
    for option in ("--posterior", "--replicates", "--seed", "--workers", "--out",
                   "--no-figures", "--quiet"):
        assert option in result.stdout


def test_compare_prints_the_effects_and_writes_the_outputs(files, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _run(files, out, "--seed", "3")
    assert result.exit_code == 0, result.output
    stdout = result.stdout
    for cf in ("no closure vs toy", "more visas vs toy"):
        assert cf in stdout
    assert "difference [interval]" in stdout and "abroad at 2022-12-25" in stdout
    assert "in west at 2022-12-25" in stdout
    assert "Parameters at their declared values" in stdout
    assert f"Wrote {out}/" in stdout
    assert {p.name for p in out.iterdir()} == FILES

    effects = pd.read_csv(out / "effects.csv")
    assert list(effects.columns) == ["counterfactual", "outcome", "baseline",
                                     "counterfactual_median", "difference", "difference_low",
                                     "difference_high", "ratio", "ratio_low", "ratio_high",
                                     "place", "place_name"]
    assert set(effects["counterfactual"]) == {"no closure", "more visas"}
    with xr.open_dataset(out / "comparison.nc") as ds:
        ds = ds.load()
    assert list(ds["scenario"].values) == ["toy", "no closure", "more visas"]
    assert ds["value"].dims == ("scenario", "outcome", "replicate")
    assert ds.sizes["replicate"] == 6 and ds.attrs["sampling"] == "coupled"
    np.testing.assert_allclose(
        ds["difference"].sel(scenario="more visas").values,
        (ds["value"].sel(scenario="more visas") - ds["value"].sel(scenario="toy")).values)

    meta = json.loads((out / "run.json").read_text())
    assert meta["replicates"] == 6 and meta["seed"] == {"entropy": "3", "given": 3}
    assert meta["sampling"] == "coupled" and meta["posterior"] is None
    assert meta["baseline"]["name"] == "toy" and meta["baseline"]["file"] == str(files[0])
    assert [c["name"] for c in meta["counterfactuals"]] == ["no closure", "more visas"]
    assert meta["files"][-1] == "run.json" and set(meta["files"]) == FILES
    assert meta["command"]["repeat"].startswith(
        f"flowsim compare {files[0]} {files[1]} {files[2]} -n 6 --seed 3")
    assert {"load_s", "simulate_s", "write_s"} <= set(meta["timings"])


def test_the_seed_reaches_the_engine(files, tmp_path: Path) -> None:
    for name, seed in (("a", "11"), ("b", "11"), ("c", "12")):
        result = _run(files[:2], tmp_path / name, "--seed", seed, "--no-figures", "-q")
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == str(tmp_path / name)

    def values(name: str) -> xr.DataArray:
        with xr.open_dataset(tmp_path / name / "comparison.nc") as ds:
            return ds["value"].load()

    a, b, c = values("a"), values("b"), values("c")
    xr.testing.assert_identical(a, b)
    assert not a.equals(c)
    # and it is the engine's seed: the baseline's outcomes are those of a coupled run of
    # the baseline with the simulation stream compare() derives from seed 11
    sim_seed = np.random.SeedSequence(11).spawn(2)[0]
    direct = flowsim.simulate(flowsim.load_scenario(files[0]), replicates=6, seed=sim_seed,
                              sampling="coupled", record=RECORD)
    np.testing.assert_array_equal(a.sel(scenario="toy").values, outcomes(direct).values)


def test_default_output_directory(files, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("compare", *map(str, files[:2]), "-n", "3", "-w", "1", "--no-figures")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "results" / "compare-toy" / "effects.csv").is_file()


def test_an_overlay_without_a_name_is_called_after_its_file(files, tmp_path: Path) -> None:
    (tmp_path / "unnamed.yaml").write_text(CLOSURE.replace("name: no closure\n", ""),
                                           encoding="utf-8")
    result = _run([files[0], tmp_path / "unnamed.yaml"], tmp_path / "out", "--no-figures")
    assert result.exit_code == 0, result.output
    assert "unnamed vs toy" in result.stdout


# -- bad input: problem lines on stderr, exit 2, no traceback, nothing written --------------------


def _bad(result, *messages: str) -> None:
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "Traceback" not in result.output
    for m in messages:
        assert m in result.stderr, result.stderr


def test_missing_and_broken_files_are_all_reported(files, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("extends: base.yaml\npolicies:\n  remove: [nope]\n", encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("compare", str(files[0]), str(tmp_path / "missing.yaml"), str(broken),
                    "-n", "2", "--out", str(out))
    _bad(result, "missing.yaml: does not exist", "there is no policy named 'nope' to remove")
    assert not out.exists()


def test_bad_options(files, tmp_path: Path) -> None:
    _bad(invoke("compare", *map(str, files), "-n", "0"))
    _bad(invoke("compare", str(files[0])), "Missing argument")
    a_file = tmp_path / "a_file"
    a_file.write_text("x", encoding="utf-8")
    _bad(invoke("compare", *map(str, files[:2]), "-n", "2", "--out", str(a_file)),
         "exists and is not a directory")


def test_counterfactuals_that_cannot_be_paired(files, tmp_path: Path) -> None:
    other = base_data()
    other["name"] = "other horizon"
    other["calendar"]["start"] = other["calendar"]["start"].replace(day=10)
    write_yaml(tmp_path / "other.yaml", other)
    _bad(_run([files[0], tmp_path / "other.yaml"], tmp_path / "out"),
         "cannot be compared with the baseline", "its calendar differs")
    # two overlays without a name, in files of the same name: both would be called 'c'
    unnamed = CLOSURE.replace("name: no closure\n", "")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "base.yaml").write_text(files[0].read_text(encoding="utf-8"), encoding="utf-8")
    for folder in (tmp_path, sub):
        (folder / "c.yaml").write_text(unnamed, encoding="utf-8")
    _bad(_run([files[0], tmp_path / "c.yaml", sub / "c.yaml"], tmp_path / "out"),
         "two scenarios would both be called 'c'")


# -- --posterior ---------------------------------------------------------------------------------


def _posterior(path: Path, names=("p_return",), scenario_hash: str | None = None) -> Path:
    calibration = pytest.importorskip("flowsim.calibration")
    particles = np.linspace(0.001, 0.04, 8)[:, None].repeat(len(names), axis=1)
    post = calibration.Posterior(
        param_names=tuple(names), particles=particles, weights=np.full(8, 1 / 8),
        distances=np.zeros(8), target_columns=(), target_ids=(), target_low=np.zeros(0),
        target_high=np.zeros(0), observables=np.zeros((8, 0)), generations=(),
        scenario_parameters=tuple(names), fixed_values=np.zeros(len(names)),
        priors=("uniform(0, 0.05)",) * len(names),
        attrs={"scenario_name": "toy", "scenario_hash": scenario_hash or "0" * 16})
    post.save(path)
    return path


def test_posterior_draws_reach_every_scenario(files, tmp_path: Path) -> None:
    post = _posterior(tmp_path / "posterior.nc")
    out = tmp_path / "out"
    result = _run(files, out, "--posterior", str(post), "--no-figures")
    assert result.exit_code == 0, result.output
    assert "was calibrated on scenario 'toy' (0000000000000000), not on the baseline" \
        in result.stderr  # the hash in the file is not the baseline's
    assert "Parameters at their declared values" not in result.stdout
    meta = json.loads((out / "run.json").read_text())
    assert meta["posterior"]["file"] == str(post)
    assert meta["posterior"]["parameters"] == ["p_return"]
    assert "--posterior" in meta["command"]["repeat"]
    with xr.open_dataset(out / "comparison.nc") as ds:
        assert ds.sizes["replicate"] == 6
    # the same draws again with the same seed; other numbers than with declared values
    again = _run(files, tmp_path / "again", "--posterior", str(post), "--no-figures")
    assert again.exit_code == 0
    a = pd.read_csv(out / "effects.csv")
    b = pd.read_csv(tmp_path / "again" / "effects.csv")
    pd.testing.assert_frame_equal(a, b)
    assert _run(files, tmp_path / "plain", "--no-figures").exit_code == 0
    assert not pd.read_csv(tmp_path / "plain" / "effects.csv").equals(a)


def test_a_posterior_that_does_not_fit(files, tmp_path: Path) -> None:
    _bad(_run(files, tmp_path / "out", "--posterior", str(tmp_path / "none.nc")),
         "none.nc: does not exist")
    garbage = tmp_path / "garbage.nc"
    garbage.write_text("not netcdf", encoding="utf-8")
    _bad(_run(files, tmp_path / "out", "--posterior", str(garbage)),
         "is not a flowsim posterior")
    foreign = _posterior(tmp_path / "foreign.nc", names=("unknown_parameter",))
    _bad(_run(files, tmp_path / "out", "--posterior", str(foreign)),
         "declares none of the posterior's parameters (unknown_parameter)")
    assert not (tmp_path / "out").exists()


def test_calibration_not_available(files, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "flowsim.calibration", None)  # import fails
    post = tmp_path / "posterior.nc"
    post.write_text("", encoding="utf-8")
    _bad(_run(files, tmp_path / "out", "--posterior", str(post)), "calibration not available")


def test_a_counterfactual_changing_a_calibrated_parameter_is_warned_about(files, tmp_path
                                                                          ) -> None:
    post = _posterior(tmp_path / "posterior.nc")
    (tmp_path / "returns.yaml").write_text(
        "extends: base.yaml\nname: more returns\nparameters:\n  p_return: 0.03\n",
        encoding="utf-8")
    result = _run([files[0], tmp_path / "returns.yaml"], tmp_path / "out", "--posterior",
                  str(post), "--no-figures")
    assert result.exit_code == 0, result.output
    assert "more returns: warning: changes the value of the calibrated parameter p_return" \
        in result.stderr


# -- all or nothing ---------------------------------------------------------------------------


def test_nothing_is_written_when_a_figure_fails(files, tmp_path: Path, monkeypatch) -> None:
    from flowsim.plots import comparison as plots_compare

    def broken(*args, **kwargs):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(plots_compare, "where_people_ended", broken)
    out = tmp_path / "out"
    result = runner.invoke(app, ["compare", *map(str, files[:2]), "-n", "2", "-w", "1",
                                 "--out", str(out)], env=WIDE)
    assert isinstance(result.exception, RuntimeError)
    assert not out.exists()
    assert not list(tmp_path.glob("out.tmp-*"))
