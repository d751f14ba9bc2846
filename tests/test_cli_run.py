"""``flowsim run`` and ``flowsim plot``, run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from cli_helpers import invoke

import flowsim
from conftest import base_data, write_yaml
from flowsim.cli._common import EXIT_BAD_INPUT
from flowsim.cli.run import DEFAULT_SEED, EXIT_INTERRUPTED
from flowsim.reports import run as output
from flowsim.results.opening import open_results

FILES = {"results.nc", "summary.csv", "scenario.yaml", "run.json", "fan_departures.png",
         "destinations.png"}




@pytest.fixture
def toy(tmp_path: Path) -> Path:
    return write_yaml(tmp_path / "toy.yaml", base_data())


def _data(run_dir: Path) -> xr.Dataset:
    return open_results(run_dir).dataset.drop_attrs()


def test_help_lists_run_and_plot() -> None:
    result = invoke("--help")
    assert "run" in result.stdout and "plot" in result.stdout
    result = invoke("run", "--help")
    assert result.exit_code == 0
    for option in ("--seed", "--replicates", "--workers", "--out", "--block-size", "--record",
                   "--quiet"):
        assert option in result.stdout
    assert invoke("plot", "--help").exit_code == 0


def test_run_prints_the_headline_numbers_and_writes_the_outputs(toy: Path,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("run", str(toy), "-n", "6", "--seed", "4", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Headline numbers" in result.stdout
    assert "cumulative departures" in result.stdout
    assert "share abroad in west" in result.stdout
    assert str(out) in result.stdout
    assert {p.name for p in out.iterdir()} == FILES
    meta = json.loads((out / "run.json").read_text())
    assert meta["replicates"] == 6
    assert meta["seed"]["entropy"] == "4" and meta["seed"]["given"] == 4
    assert meta["scenario"]["file"] == str(toy)
    assert meta["command"]["repeat"].startswith(f"flowsim run {toy} -n 6 --seed 4")
    assert {"load_s", "simulate_s", "write_s"} <= set(meta["timings"])


def test_the_seed_reaches_the_engine(toy: Path, tmp_path: Path) -> None:
    for name, seed in (("a", "11"), ("b", "11"), ("c", "12")):
        result = invoke("run", str(toy), "-n", "5", "--seed", seed, "--no-figures",
                        "--out", str(tmp_path / name), "-q")
        assert result.exit_code == 0, result.output
    a, b, c = (_data(tmp_path / n) for n in "abc")
    xr.testing.assert_identical(a, b)
    assert not a["departures"].equals(c["departures"])
    # and it is the engine's seed: the library gives the same numbers
    scenario = flowsim.load_scenario(toy)
    lib = flowsim.simulate(scenario, replicates=5, seed=11)
    xr.testing.assert_identical(a, lib.dataset.drop_attrs())


def test_the_default_seed_is_fixed_and_documented(toy: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("run", str(toy), "-n", "3", "--no-figures", "-q")
    assert result.exit_code == 0, result.output
    out = tmp_path / "results" / "toy"  # the default output directory
    assert result.stdout.strip() == str(Path("results") / "toy")
    assert json.loads((out / "run.json").read_text())["seed"]["entropy"] == str(DEFAULT_SEED)
    lib = flowsim.simulate(flowsim.load_scenario(toy), replicates=3, seed=DEFAULT_SEED)
    xr.testing.assert_identical(_data(out), lib.dataset.drop_attrs())
    assert f"default: {DEFAULT_SEED}" in invoke("run", "--help").stdout.replace("\n", " ")


def test_workers_and_block_size(toy: Path, tmp_path: Path) -> None:
    args = ("-n", "7", "--block-size", "3", "--no-figures", "-q")
    assert invoke("run", str(toy), *args, "-w", "1", "-o", str(tmp_path / "one")).exit_code == 0
    assert invoke("run", str(toy), *args, "-w", "2", "-o", str(tmp_path / "two")).exit_code == 0
    xr.testing.assert_identical(_data(tmp_path / "one"), _data(tmp_path / "two"))
    assert json.loads((tmp_path / "two" / "run.json").read_text())["block_size"] == 3
    assert json.loads((tmp_path / "two" / "run.json").read_text())["workers"] == 2


def test_scheduler_runs_on_a_dask_cluster_with_the_same_results(toy: Path,
                                                                tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    args = ("-n", "5", "--block-size", "2", "--no-figures", "-q")
    assert invoke("run", str(toy), *args, "-o", str(tmp_path / "local")).exit_code == 0
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        result = invoke("run", str(toy), *args, "--scheduler", cluster.scheduler_address,
                        "-o", str(tmp_path / "dask"))
    assert result.exit_code == 0, result.output
    xr.testing.assert_identical(_data(tmp_path / "local"), _data(tmp_path / "dask"))
    meta = json.loads((tmp_path / "dask" / "run.json").read_text())
    assert meta["scheduler"] == cluster.scheduler_address


def test_record_chooses_the_variables(toy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("run", str(toy), "-n", "3", "--record", "departures,stock",
                    "--record", "flow", "-o", str(out))
    assert result.exit_code == 0, result.output
    ds = open_results(out).dataset
    assert set(ds.data_vars) == {"departures", "stock", "flow", "params"}
    assert {"fan_departures.png", "destinations.png"} <= {p.name for p in out.iterdir()}

    result = invoke("run", str(toy), "-n", "3", "--record", "returns", "-o",
                    str(tmp_path / "few"))
    assert result.exit_code == 0, result.output
    assert "not written: fan_departures.png" in result.stderr
    assert not (tmp_path / "few" / "fan_departures.png").exists()

    result = invoke("run", str(toy), "--record", "stok", "-o", str(tmp_path / "bad"))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "flowsim run: --record: unknown variable 'stok' — did you mean 'stock'?" \
        in result.stderr
    assert not (tmp_path / "bad").exists()


def test_a_bad_scenario_exits_2_without_a_traceback(tmp_path: Path) -> None:
    data = base_data()
    data["routes"][0]["to"] = "GEOR"
    data["cohorts"][0]["population"] = -5
    bad = write_yaml(tmp_path / "bad.yaml", data)
    result = invoke("run", str(bad), "-n", "2", "-o", str(tmp_path / "out"))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "routes[0].to" in result.stderr and "cohorts[0].population" in result.stderr
    assert str(bad) in result.stderr
    assert not (tmp_path / "out").exists()

    result = invoke("run", str(tmp_path / "missing.yaml"))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "does not exist" in result.stderr


def test_an_out_that_is_a_file_exits_2(toy: Path, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    result = invoke("run", str(toy), "-n", "2", "-o", str(tmp_path / "taken"))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "not a directory" in result.stderr
    assert (tmp_path / "taken").read_text() == "x"


@pytest.mark.parametrize("where", ["simulate", "write"])
def test_ctrl_c_leaves_nothing_behind(toy: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    if where == "simulate":
        monkeypatch.setattr(flowsim, "simulate", interrupt)
    else:  # after results.nc is written, while the summary is
        real = output.save_results

        def save_then_interrupt(*args, **kwargs):
            real(*args, **kwargs)
            interrupt()

        monkeypatch.setattr(output, "save_results", save_then_interrupt)
    out = tmp_path / "out"
    result = invoke("run", str(toy), "-n", "2", "-o", str(out))
    assert result.exit_code == EXIT_INTERRUPTED
    assert "interrupted: nothing was written" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy.yaml"]


def test_plot_redraws_the_figures(toy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("run", str(toy), "-n", "4", "-o", str(out), "-q").exit_code == 0
    for png in out.glob("*.png"):
        png.unlink()
    result = invoke("plot", str(out))
    assert result.exit_code == 0, result.output
    for name in ("fan_departures.png", "destinations.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000

    result = invoke("plot", str(out / "results.nc"), "--format", "pdf", "-o",
                    str(tmp_path / "figs"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == [
        "destinations.pdf", "fan_departures.pdf"]
    assert (tmp_path / "figs" / "destinations.pdf").read_bytes()[:5] == b"%PDF-"


def test_plot_of_something_that_is_not_results_exits_2(toy: Path, tmp_path: Path) -> None:
    result = invoke("plot", str(tmp_path))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "no results.nc in this directory" in result.stderr
    result = invoke("plot", str(toy))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "is not a flowsim results file" in result.stderr


def test_same_seed_same_summary_numbers(toy: Path, tmp_path: Path) -> None:
    for name in ("a", "b"):
        invoke("run", str(toy), "-n", "4", "--no-figures", "-q", "-o", str(tmp_path / name))
    a = (tmp_path / "a" / "summary.csv").read_text()
    assert a == (tmp_path / "b" / "summary.csv").read_text()
    assert np.isfinite(np.loadtxt(tmp_path / "a" / "summary.csv", delimiter=",", skiprows=1,
                                  usecols=(2, 3, 4, 5))).all()


# -- --posterior ------------------------------------------------------------------------------


def _posterior(path: Path, names: tuple[str, ...] = ("p_return", "mob_mult", "elsewhere"),
               particles: list[list[float]] | None = None) -> Path:
    """A small posterior over the test scenario's parameters (and one it does not declare)."""
    from flowsim.calibration import GenerationInfo, Posterior

    rows = particles or [[0.0, 5.0, 1.0], [0.04, 60.0, 2.0], [0.02, 30.0, 3.0]]
    gen = GenerationInfo(0, 0.1, 10, 3, 0.3, 3.0, 10, 10, 1, 0.1, 0.0, 0.0, 0.1)
    post = Posterior(
        param_names=names, particles=np.array(rows, dtype=float)[:, :len(names)],
        weights=np.array([0.5, 0.3, 0.2]), distances=np.zeros(3), target_columns=("t",),
        target_ids=("t",), target_low=np.array([0.0]), target_high=np.array([1.0]),
        observables=np.zeros((3, 1)), generations=(gen,),
        scenario_parameters=("p_return", "p_issue", "mob_mult"),
        fixed_values=np.array([0.01, 0.5, 20.0]), priors=("p",) * len(names),
        attrs={"scenario_name": "toy", "scenario_hash": "0000"})
    return post.save(path)


def test_posterior_draws_each_replicates_parameters(toy: Path, tmp_path: Path) -> None:
    post = _posterior(tmp_path / "post.nc")
    out = tmp_path / "out"
    result = invoke("run", str(toy), "-n", "40", "--seed", "3", "--posterior", str(post),
                    "--no-figures", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "warning: the posterior was calibrated on scenario 'toy' (0000)" in result.stderr
    assert "does not declare elsewhere" in result.stderr
    params = _data(out)["params"]
    pairs = {(float(a), float(b)) for a, b in zip(params.sel(parameter="p_return").values,
                                                   params.sel(parameter="mob_mult").values,
                                                   strict=True)}
    assert pairs == {(0.0, 5.0), (0.04, 60.0), (0.02, 30.0)}  # whole particles, all drawn
    assert (params.sel(parameter="p_issue").values == 0.5).all()  # not estimated: declared
    meta = json.loads((out / "run.json").read_text())
    assert meta["posterior"]["file"] == str(post)
    assert meta["posterior"]["parameters"] == ["p_return", "mob_mult"]
    assert meta["command"]["repeat"].endswith(f"--posterior {post}")
    # the seed reaches the draws and the engine: same seed, same run; another, another
    again = tmp_path / "again"
    invoke("run", str(toy), "-n", "40", "--seed", "3", "--posterior", str(post),
           "--no-figures", "-q", "--out", str(again))
    xr.testing.assert_identical(_data(out), _data(again))
    other = tmp_path / "other"
    invoke("run", str(toy), "-n", "40", "--seed", "4", "--posterior", str(post),
           "--no-figures", "-q", "--out", str(other))
    assert not np.array_equal(_data(other)["params"].values, params.values)
    # the library call it stands for
    from flowsim.calibration import Posterior, posterior_params
    from flowsim.core.compile import compile_scenario

    scenario = flowsim.load_scenario(toy)
    sim_seed, draw_seed = np.random.SeedSequence(3).spawn(2)
    lib = flowsim.simulate(scenario, 40, seed=sim_seed, params=posterior_params(
        Posterior.load(post), compile_scenario(scenario), 40, draw_seed))
    xr.testing.assert_identical(_data(out), lib.dataset.drop_attrs())


def test_posterior_draws_in_a_streamed_run(toy: Path, tmp_path: Path) -> None:
    # --stream --posterior: the replicates (parameters included) and the summary of the
    # in-memory run with the same seed
    import pandas as pd

    post = _posterior(tmp_path / "post.nc")
    for name, extra in (("mem", ()), ("stream", ("--stream",))):
        result = invoke("run", str(toy), "-n", "30", "--seed", "3", "--posterior", str(post),
                        "--no-figures", "-q", "--out", str(tmp_path / name), *extra)
        assert result.exit_code == 0, result.output
    mem, streamed = open_results(tmp_path / "mem"), open_results(tmp_path / "stream")
    np.testing.assert_array_equal(streamed.dataset["params"].values,
                                  mem.dataset["params"].values)
    pd.testing.assert_frame_equal(streamed.summary(), mem.summary(), check_exact=True)
    streamed.close()


def test_a_bad_posterior_exits_2(toy: Path, tmp_path: Path) -> None:
    result = invoke("run", str(toy), "-n", "2", "--posterior", str(tmp_path / "none.nc"))
    assert result.exit_code == EXIT_BAD_INPUT and "none.nc: does not exist" in result.stderr
    not_nc = tmp_path / "post.nc"
    not_nc.write_text("not netcdf")
    result = invoke("run", str(toy), "-n", "2", "--posterior", str(not_nc))
    assert result.exit_code == EXIT_BAD_INPUT and "is not a flowsim posterior" in result.stderr
    foreign = _posterior(tmp_path / "foreign.nc", names=("alpha", "beta"))
    result = invoke("run", str(toy), "-n", "2", "--posterior", str(foreign), "-o",
                    str(tmp_path / "out"))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "declares none of the posterior's parameters" in result.stderr
    assert not (tmp_path / "out").exists()
