"""``flowsim calibrate``, run in-process on the small test scenario with a tiny budget."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import invoke

from conftest import base_data, write_yaml
from flowsim.calibration import Posterior
from flowsim.cli._common import EXIT_BAD_INPUT
from flowsim.cli.calibrate import DEFAULT_BUDGET, DEFAULT_POPULATION

TINY = ("--budget", "300", "--population", "40", "--predictive", "30")
FILES = {"posterior.nc", "posterior.csv", "diagnostics.csv", "report.md", "report.csv",
         "parameters.csv", "targets.png", "fan_departures.png", "posterior_marginals.png",
         "posterior_pairs.png", "run.json"}




@pytest.fixture
def toy(tmp_path: Path) -> Path:
    return write_yaml(tmp_path / "toy.yaml", base_data())


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """One tiny calibration of the test scenario (shared by the tests that read it)."""
    tmp = tmp_path_factory.mktemp("cal")
    toy = write_yaml(tmp / "toy.yaml", base_data())
    out = tmp / "out"
    result = invoke("calibrate", str(toy), *TINY, "--seed", "5", "--workers", "1",
                    "--out", str(out))
    return out, result


def test_help_lists_calibrate_and_its_options() -> None:
    assert "calibrate" in invoke("--help").stdout
    result = invoke("calibrate", "--help")
    assert result.exit_code == 0
    for option in ("--targets", "--budget", "--population", "--method", "--seed",
                   "--workers", "--out", "--predictive"):
        assert option in result.stdout
    assert DEFAULT_BUDGET >= 10 * DEFAULT_POPULATION


def test_calibrate_reports_generations_and_writes_every_file(calibrated) -> None:
    out, result = calibrated
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == FILES
    assert "generation  0: ε" in result.stderr and "acceptance" in result.stderr
    assert "Targets: posterior predictive" in result.stdout
    assert "Repeat with: flowsim calibrate" in result.stdout
    post = Posterior.load(out / "posterior.nc")
    assert post.size == 40 and set(post.param_names) == {"p_return", "mob_mult"}
    csv = pd.read_csv(out / "posterior.csv", index_col="particle")
    np.testing.assert_allclose(csv["weight"].to_numpy(), post.weights)
    assert {"p_return", "mob_mult", "distance", "target:left_2022"} <= set(csv.columns)
    diag = pd.read_csv(out / "diagnostics.csv")
    assert len(diag) == len(post.generations) and "epsilon" in diag.columns
    table = pd.read_csv(out / "report.csv")
    assert list(table["target"]) == ["left_2022", "in_georgia"]
    assert {"median", "lower", "upper", "met", "distance", "figure"} <= set(table.columns)
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| left_2022 | departures | about 500,000 (±25%)" in report
    assert "## Generations" in report and "posterior_marginals.png" in report
    meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert meta["seed"]["given"] == 5 and meta["settings"]["budget"] == 300
    assert meta["settings"]["method"] == "mcmc" and meta["particles"] == 40
    assert meta["simulations"] <= 300
    assert set(meta["files"]) == FILES


def test_default_out_dir_is_results_calibrate_name(toy: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("calibrate", str(toy), *TINY, "--workers", "1", "--no-figures", "-q")
    assert result.exit_code == 0, result.output
    out = tmp_path / "results" / "calibrate-toy"
    assert result.stdout.strip() == str(Path("results") / "calibrate-toy")
    assert (out / "posterior.nc").is_file() and not (out / "targets.png").exists()


def test_the_seed_reaches_the_sampler_whatever_the_workers(calibrated, toy: Path,
                                                           tmp_path: Path) -> None:
    out, _ = calibrated
    first = Posterior.load(out / "posterior.nc")
    again = tmp_path / "again"
    assert invoke("calibrate", str(toy), *TINY, "--seed", "5", "--workers", "2",
                  "--no-figures", "--out", str(again)).exit_code == 0
    same = Posterior.load(again / "posterior.nc")
    np.testing.assert_array_equal(first.particles, same.particles)
    np.testing.assert_array_equal(first.distances, same.distances)
    assert [g.epsilon for g in first.generations] == [g.epsilon for g in same.generations]
    other = tmp_path / "other"
    assert invoke("calibrate", str(toy), *TINY, "--seed", "6", "--workers", "1",
                  "--no-figures", "--out", str(other)).exit_code == 0
    assert not np.array_equal(first.particles, Posterior.load(other / "posterior.nc").particles)


def test_pmc_method(toy: Path, tmp_path: Path) -> None:
    out = tmp_path / "pmc"
    result = invoke("calibrate", str(toy), *TINY, "--method", "pmc", "--workers", "1",
                    "--no-figures", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert Posterior.load(out / "posterior.nc").attrs["method"] == "abc-smc"
    out = tmp_path / "silverman"
    result = invoke("calibrate", str(toy), *TINY, "--method", "pmc", "--kernel", "silverman",
                    "--workers", "1", "--no-figures", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Silverman" in Posterior.load(out / "posterior.nc").attrs["kernel"]
    meta = json.loads((out / "run.json").read_text())
    assert meta["settings"]["kernel"] == "silverman"
    assert "--kernel silverman" in meta["command"]["repeat"]
    out = tmp_path / "adaptive"
    result = invoke("calibrate", str(toy), *TINY, "--method", "pmc", "--distance", "adaptive",
                    "--workers", "1",
                    "--no-figures", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert Posterior.load(out / "posterior.nc").attrs["distance"].startswith("adaptive")


def test_final_moves_set_the_last_stages_length_and_are_repeated(toy: Path,
                                                                  tmp_path: Path) -> None:
    file = write_yaml(tmp_path / "errors.yaml", {"error_model": "error",
                                                 "targets": base_data()["targets"]})
    out = tmp_path / "moves"
    result = invoke("calibrate", str(toy), "--targets", str(file), "--budget", "4000",
                    "--population", "40", "--predictive", "30", "--final-moves", "25",
                    "--workers", "1", "--no-figures", "--out", str(out))
    assert result.exit_code == 0, result.output
    post = Posterior.load(out / "posterior.nc")
    assert post.converged and post.attrs["final_moves"] == 25
    assert post.attrs["error_model_stage"].startswith("25 pseudo-marginal steps")
    meta = json.loads((out / "run.json").read_text())
    assert meta["settings"]["final_moves"] == 25
    assert "--final-moves 25" in meta["command"]["repeat"]


@pytest.mark.parametrize("wrap", [False, True], ids=["list", "mapping"])
def test_targets_file_replaces_the_scenarios_targets(toy: Path, tmp_path: Path,
                                                     wrap: bool) -> None:
    targets = [{"id": "in_armenia", "observable": "stock", "kind": "at_least", "value": 1000,
                "where": ["ARM"], "at": "2022-12-01", "source": "test"}]
    file = write_yaml(tmp_path / "targets.yaml", {"targets": targets} if wrap else targets)
    out = tmp_path / "out"
    result = invoke("calibrate", str(toy), "--targets", str(file), *TINY, "--workers", "1",
                    "--no-figures", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(out / "report.csv")["target"]) == ["in_armenia"]
    assert Posterior.load(out / "posterior.nc").target_ids == ("in_armenia",)
    assert json.loads((out / "run.json").read_text())["targets_file"] == str(file)


def test_a_bad_targets_file_is_reported_where_it_is_wrong(toy: Path, tmp_path: Path) -> None:
    file = tmp_path / "targets.yaml"
    file.write_text("- id: t1\n  observable: stock\n  kind: at_least\n  value: 10\n"
                    "  where: [GEOO]\n  at: 2022-12-01\n  source: test\n", encoding="utf-8")
    result = invoke("calibrate", str(toy), "--targets", str(file), *TINY, "--out",
                    str(tmp_path / "out"))
    assert result.exit_code == EXIT_BAD_INPUT
    assert f"{file}:5:" in result.stderr and "GEOO" in result.stderr
    assert "did you mean 'GEO'" in result.stderr
    assert not (tmp_path / "out").exists()
    file.write_text("just: a mapping\n", encoding="utf-8")
    result = invoke("calibrate", str(toy), "--targets", str(file), *TINY)
    assert result.exit_code == EXIT_BAD_INPUT and "targets:" in result.stderr
    result = invoke("calibrate", str(toy), "--targets", str(tmp_path / "missing.yaml"), *TINY)
    assert result.exit_code == EXIT_BAD_INPUT and "missing.yaml" in result.stderr


def test_bad_input_exits_2_without_a_traceback(toy: Path, tmp_path: Path) -> None:
    result = invoke("calibrate", str(tmp_path / "nope.yaml"))
    assert result.exit_code == EXIT_BAD_INPUT and "nope.yaml" in result.stderr
    result = invoke("calibrate", str(toy), *TINY, "--method", "nuts")
    assert result.exit_code == EXIT_BAD_INPUT and "--method" in result.stderr
    result = invoke("calibrate", str(toy), *TINY, "--kernel", "gauss")
    assert result.exit_code == EXIT_BAD_INPUT and "--kernel" in result.stderr
    result = invoke("calibrate", str(toy), *TINY, "--distance", "scaled")
    assert result.exit_code == EXIT_BAD_INPUT and "--distance" in result.stderr
    result = invoke("calibrate", str(toy), *TINY, "--distance", "adaptive")  # mcmc default
    assert result.exit_code == EXIT_BAD_INPUT and "--method pmc" in result.stderr
    result = invoke("calibrate", str(toy), *TINY, "--method", "mcmc", "--kernel", "silverman")
    assert result.exit_code == EXIT_BAD_INPUT and "--method pmc" in result.stderr
    result = invoke("calibrate", str(toy), *TINY, "--method", "pmc", "--final-moves", "5")
    assert result.exit_code == EXIT_BAD_INPUT and "--method mcmc" in result.stderr
    result = invoke("calibrate", str(toy), *TINY, "--final-moves", "5")  # ranges, no errors
    assert result.exit_code == EXIT_BAD_INPUT and "error models" in result.stderr
    result = invoke("calibrate", str(toy), *TINY, "--final-moves", "0")
    assert result.exit_code == EXIT_BAD_INPUT and "--final-moves" in result.stderr
    result = invoke("calibrate", str(toy), "--budget", "50", "--population", "40")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "cannot complete the first generation" in result.stderr
    result = invoke("calibrate", str(toy), "--population", "0")
    assert result.exit_code == EXIT_BAD_INPUT
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = invoke("calibrate", str(toy), *TINY, "--out", str(blocker))
    assert result.exit_code == EXIT_BAD_INPUT and "not a directory" in result.stderr
    data = base_data()
    data["parameters"] = {"p_return": 0.01, "p_issue": 0.5, "mob_mult": 20.0}
    fixed = write_yaml(tmp_path / "fixed.yaml", data)
    result = invoke("calibrate", str(fixed), *TINY)
    assert result.exit_code == EXIT_BAD_INPUT and "no parameter has a prior" in result.stderr
    data = base_data()
    del data["targets"]
    untargeted = write_yaml(tmp_path / "untargeted.yaml", data)
    result = invoke("calibrate", str(untargeted), *TINY)
    assert result.exit_code == EXIT_BAD_INPUT and "no targets" in result.stderr
