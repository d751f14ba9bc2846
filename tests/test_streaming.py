"""Streamed ensembles: the sketch's guarantee, equality with in-memory runs, bounded memory,
nothing left behind on failure, and the CLI's ``--stream``.

The sketch's error bound is a guarantee, not a statistical statement: the tests check it on
fixed-seed data and every level, with no tolerance beyond float rounding.
"""

from __future__ import annotations

import gc
import math
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import invoke

import flowsim
from conftest import base_data
from flowsim.ensemble import streaming
from flowsim.ensemble.sketch import Sketch
from flowsim.results.opening import open_results
from flowsim.results.streamed import StreamedResults
from flowsim.scenario import validate_data

LEVELS = (0.0, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975, 1.0)
SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "russia-2022.yaml"
N, BLOCK = 60, 20


def _bound(x: np.ndarray, levels: tuple[float, ...], a: float) -> np.ndarray:
    """The documented bound: ``a`` times the upper order statistic, per level and series."""
    xs = np.sort(x, axis=0)
    n = x.shape[0]
    upper = np.array([xs[min(math.floor((n - 1) * q) + 1, n - 1)] for q in levels])
    return a * upper * (1 + 1e-12) + 1e-9


def _hist(sketch: Sketch, x: np.ndarray, blocks: int = 1) -> np.ndarray:
    """The histogram of ``x`` (replicates, series), added block by block."""
    h = np.zeros(x.shape[1] * sketch.size, dtype=np.int64)
    for part in np.array_split(x, blocks):
        keys, counts = sketch.histogram(part)
        h[keys] += counts
    return h.reshape(x.shape[1], sketch.size)


# -- the sketch ------------------------------------------------------------------------------


@pytest.mark.parametrize("accuracy", [0.01, 0.002])
def test_sketch_counts_within_relative_accuracy(accuracy: float) -> None:
    rng = np.random.default_rng(11)
    x = np.column_stack([
        rng.poisson(3.0, 1001),  # small counts: recovered exactly
        rng.negative_binomial(3, 1e-4, 1001),  # ~30,000, wide
        rng.binomial(10**8, 0.004, 1001),  # ~400,000, narrow (0.4% spread)
        np.zeros(1001, dtype=int),
    ]).astype(float)
    s = Sketch(accuracy, integer=True, top=1e9)
    est = s.quantiles(_hist(s, x), LEVELS)
    exact = np.quantile(x, LEVELS, axis=0)
    assert np.all(np.abs(est - exact) <= _bound(x, LEVELS, accuracy))
    np.testing.assert_array_equal(est[:, 0], exact[:, 0])
    np.testing.assert_array_equal(est[:, 3], 0.0)


def test_sketch_reals_within_relative_accuracy() -> None:
    rng = np.random.default_rng(12)
    x = np.column_stack([rng.lognormal(0.0, 3.0, 999), rng.uniform(0.0, 1.0, 999),
                         rng.uniform(0.0, 1e-10, 999)])
    s = Sketch(0.002, integer=False, top=1e9)
    est = s.quantiles(_hist(s, x), LEVELS)
    exact = np.quantile(x, LEVELS, axis=0)
    assert np.all(np.abs(est - exact) <= _bound(x, LEVELS, 0.002))


def test_sketch_histograms_add_up_whatever_the_blocks() -> None:
    rng = np.random.default_rng(13)
    x = rng.negative_binomial(2, 1e-3, (500, 7)).astype(float)
    s = Sketch(0.005)
    one = _hist(s, x)
    np.testing.assert_array_equal(one, _hist(s, x, blocks=9))
    np.testing.assert_array_equal(one, _hist(s, x[::-1], blocks=4))
    assert one.sum(axis=1).tolist() == [500] * 7


def test_sketch_overflow_and_bad_values() -> None:
    s = Sketch(0.01, top=1000)
    h = _hist(s, np.array([[5.0], [10.0**6]]))
    assert np.isnan(s.quantiles(h, [1.0])[0, 0])
    assert s.quantiles(h, [0.0])[0, 0] == 5.0
    with pytest.raises(ValueError, match="must not be negative"):
        s.bucket(np.array([3.0, -1.0]))
    with pytest.raises(ValueError, match="accuracy"):
        Sketch(0.7)


# -- streamed run against the in-memory run ---------------------------------------------------


@pytest.fixture(scope="module")
def scenario() -> flowsim.Scenario:
    return flowsim.load_scenario(SCENARIO)


@pytest.fixture(scope="module")
def in_memory(scenario: flowsim.Scenario) -> flowsim.Results:
    return flowsim.simulate(scenario, replicates=N, seed=21, block_size=BLOCK)


@pytest.fixture(scope="module")
def streamed(scenario: flowsim.Scenario, tmp_path_factory: pytest.TempPathFactory
             ) -> StreamedResults:
    path = tmp_path_factory.mktemp("stream") / "run.nc"
    return flowsim.stream(scenario, path, replicates=N, seed=21, block_size=BLOCK,
                          keep=("departures",))


def test_exact_summary_equals_in_memory_summary(in_memory, streamed) -> None:
    a, b = streamed.summary(), in_memory.summary()
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_streamed_summary_within_documented_accuracy(in_memory, streamed) -> None:
    a, b = streamed.summary(exact=False), in_memory.summary()
    acc = float(streamed.quantiles("headline").attrs["relative_accuracy"])
    assert list(a["quantity"]) == list(b["quantity"])
    head = in_memory.headline()
    labels = list(zip(head["quantity"].values, head["when"].values, strict=True))
    for i in range(len(a)):
        j = labels.index((b["quantity"][i], b["when"][i]))
        bound = _bound(head.values[:, [j]], (0.05, 0.5, 0.95), acc)[:, 0]
        diff = np.abs(a.loc[i, ["low", "median", "high"]].to_numpy(float)
                      - b.loc[i, ["low", "median", "high"]].to_numpy(float))
        assert np.all(diff <= bound), (b["quantity"][i], diff, bound)
    np.testing.assert_allclose(a["mean"], b["mean"], rtol=1e-12)


def test_streamed_bands_within_documented_accuracy(in_memory, streamed) -> None:
    levels = streamed.levels
    cum = in_memory.cumulative_departures().transpose("replicate", "time").values
    stock = in_memory.dataset["stock"].sum("cohort").values.reshape(N, -1)
    accuracy = {}
    for name, x in (("cumulative_departures", cum), ("stock", stock)):
        acc = accuracy[name] = float(streamed.quantiles(name).attrs["relative_accuracy"])
        est = streamed.quantiles(name).values.reshape(len(levels), -1)
        exact = np.quantile(x, levels, axis=0)
        assert np.all(np.abs(est - exact) <= _bound(x, levels, acc) + 1e-6 * exact), name
        np.testing.assert_allclose(streamed.mean(name).values.reshape(-1), x.mean(axis=0),
                                   rtol=1e-13)
    assert accuracy == {"cumulative_departures": 0.0005, "stock": 0.002}


def test_streamed_rows_are_the_in_memory_replicates(in_memory, streamed) -> None:
    np.testing.assert_array_equal(streamed.headline().values, in_memory.headline().values)
    np.testing.assert_array_equal(streamed.dataset["departures"].values,
                                  in_memory.dataset["departures"].values)
    np.testing.assert_array_equal(streamed.dataset["params"].values,
                                  in_memory.dataset["params"].values)
    assert streamed.replicates == N
    assert "stock" not in streamed.dataset  # summarised, not kept


def test_streamed_file_does_not_depend_on_workers(scenario, streamed, tmp_path) -> None:
    two = flowsim.stream(scenario, tmp_path / "two.nc", replicates=N, seed=21,
                         block_size=BLOCK, keep=("departures",), workers=2)
    for v in streamed.dataset.data_vars:
        np.testing.assert_array_equal(two.dataset[v].values, streamed.dataset[v].values,
                                      err_msg=str(v))


def test_open_results_reads_a_streamed_file_and_plots_it(streamed) -> None:
    import matplotlib.pyplot as plt

    from flowsim import plots

    back = open_results(streamed.dataset.encoding["source"])
    assert isinstance(back, StreamedResults)
    assert back.scenario is not None
    pd.testing.assert_frame_equal(back.summary(), streamed.summary())
    for fig in (plots.fan_chart(back), plots.destinations(back)):
        assert fig.axes and fig.axes[0].has_data()
        plt.close(fig)
    with pytest.raises(ValueError, match="all cohorts together"):
        plots.fan_chart(back, cohorts="men_conscription_age")
    with pytest.raises(KeyError, match="were not kept"):
        back.quantiles("stock", [0.33])
    back.close()


# -- bounded memory and no half-written file --------------------------------------------------


def _peak_bytes(scenario: flowsim.Scenario, path: Path, replicates: int) -> int:
    """Peak of the memory allocated during a streamed run, after a warm-up and a garbage
    collection (so that both runs start from the same collector state)."""
    flowsim.stream(scenario, path, replicates=2, seed=1, block_size=10).close()  # warm up
    gc.collect()
    tracemalloc.start()
    try:
        flowsim.stream(scenario, path, replicates=replicates, seed=1, block_size=10).close()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_does_not_grow_with_replicates(tmp_path) -> None:
    toy, _ = validate_data(base_data())  # small, so that tracing allocations stays quick
    small = _peak_bytes(toy, tmp_path / "a.nc", 20)
    large = _peak_bytes(toy, tmp_path / "b.nc", 160)
    # eight times the replicates: the same blocks, one at a time, a few hundred bytes per
    # replicate (its task, its index, its headline numbers read back for the summary) and
    # cyclic garbage (netCDF objects) that the collector frees in its own time, up to about
    # 300 kB here; keeping the blocks' outputs (8.6 kB a replicate) would add 1.2 MB
    assert large - small < 600 * 1_000, (small, large)


def test_param_rows_give_the_matrix_runs_without_holding_the_matrix(tmp_path) -> None:
    # parameters as rows of a table (a posterior's particles): the same replicates as the
    # matrix they stand for, in memory, in worker processes and streamed; the block tasks
    # hold indices until they are sent, and are sent as the plain matrix
    import pickle

    from flowsim.core.compile import compile_scenario
    from flowsim.ensemble.blocks import ParamRows, plan_blocks

    toy, _ = validate_data(base_data())
    model = compile_scenario(toy)
    table = model.default_params(3)
    table[:, model.param_names.index("p_return")] = [0.0, 0.02, 0.04]
    rows = ParamRows(table, np.random.default_rng(0).integers(0, 3, 45))
    matrix = np.asarray(rows)
    np.testing.assert_array_equal(matrix, table[rows.rows])
    base = flowsim.simulate(toy, 45, seed=8, block_size=10, params=matrix)
    for workers in (1, 2):
        run = flowsim.simulate(toy, 45, seed=8, block_size=10, params=rows, workers=workers)
        for v in base.dataset.data_vars:
            np.testing.assert_array_equal(run.dataset[v].values, base.dataset[v].values,
                                          err_msg=f"{v}, {workers} workers")
    a = flowsim.stream(toy, tmp_path / "a.nc", 45, seed=8, block_size=10, params=rows)
    b = flowsim.stream(toy, tmp_path / "b.nc", 45, seed=8, block_size=10, params=matrix)
    for v in b.dataset.data_vars:
        np.testing.assert_array_equal(a.dataset[v].values, b.dataset[v].values, err_msg=v)
    plan = plan_blocks(model, 45, 8, rows, ("stock",), 10, "exact")
    task = plan.tasks[1][1]
    assert not isinstance(task, np.ndarray) and task.rows.shape == (10,)
    sent = pickle.loads(pickle.dumps(task))
    assert isinstance(sent, np.ndarray)
    np.testing.assert_array_equal(sent, matrix[10:20])


def test_param_rows_are_checked() -> None:
    from flowsim.core.compile import compile_scenario
    from flowsim.ensemble.blocks import ParamRows

    toy, _ = validate_data(base_data())
    table = compile_scenario(toy).default_params(2)  # (2, 3)
    with pytest.raises(ValueError, match="index the table's 2 rows"):
        ParamRows(table, [0, 2])
    with pytest.raises(ValueError, match=r"shape \(4, 5\); expected \(4, 3\)"):
        flowsim.simulate(toy, 4, params=ParamRows(np.ones((2, 5)), [0, 1, 1, 0]))
    table[0, 0] = np.nan
    with pytest.raises(ValueError, match="not finite"):
        flowsim.simulate(toy, 2, params=ParamRows(table, [0, 1]))


class _Boom(Exception):
    pass


@pytest.mark.parametrize("error", [_Boom, KeyboardInterrupt])
def test_a_failed_stream_leaves_no_file(scenario, tmp_path, monkeypatch, error) -> None:
    calls = {"n": 0}
    real = streaming._StreamFile.write

    def write(self, rows, block):
        calls["n"] += 1
        if calls["n"] == 2:
            raise error()
        real(self, rows, block)

    monkeypatch.setattr(streaming._StreamFile, "write", write)
    (tmp_path / "old.nc").write_bytes(b"earlier results")
    with pytest.raises(error):
        flowsim.stream(scenario, tmp_path / "old.nc", replicates=30, seed=1, block_size=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.nc"]
    assert (tmp_path / "old.nc").read_bytes() == b"earlier results"


def test_stream_rejects_bad_arguments(scenario, tmp_path) -> None:
    with pytest.raises(ValueError, match="cannot keep"):
        flowsim.stream(scenario, tmp_path / "x.nc", replicates=5, keep=("stocks",))
    with pytest.raises(ValueError, match="levels"):
        flowsim.stream(scenario, tmp_path / "x.nc", replicates=5, levels=(0.5, 1.5))
    with pytest.raises(ValueError, match="replicates"):
        flowsim.stream(scenario, tmp_path / "x.nc", replicates=0)
    assert not list(tmp_path.iterdir())


# -- the command line ------------------------------------------------------------------------


def test_cli_stream_writes_a_run_with_the_in_memory_summary(tmp_path) -> None:
    args = [str(SCENARIO), "-n", "40", "--seed", "4", "--block-size", "20", "-q"]
    r1 = invoke("run", *args, "--stream", "--out", str(tmp_path / "s"))
    r2 = invoke("run", *args, "--out", str(tmp_path / "m"), "--no-figures")
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    files = {p.name for p in (tmp_path / "s").iterdir()}
    assert files == {"results.nc", "summary.csv", "scenario.yaml", "run.json",
                     "fan_departures.png", "destinations.png"}
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "s" / "summary.csv"),
                                  pd.read_csv(tmp_path / "m" / "summary.csv"))
    # nothing else was left beside the output directory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "s"]
    assert isinstance(open_results(tmp_path / "s"), StreamedResults)
