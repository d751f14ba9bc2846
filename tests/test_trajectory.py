"""The benchmark trajectory (benchmarks/trajectory.csv) is read from the saved runs it names,
and its plot script draws it."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import plot_trajectory as pt

RESULTS = Path(pt.__file__).parent / "results" / "Linux-CPython-3.11-64bit"
FIGURES = ("floor_ratio", "replicates_per_s", "coupled_over_exact", "workers_2_over_1")


def test_the_rows_of_saved_runs_are_their_figures() -> None:
    rows = {r["label"]: r for r in pt.read_rows()}
    saved = sorted(RESULTS.glob("000*.json"))
    assert saved, "no saved run"
    for path in saved:
        label = "run " + path.name[:4]
        got = pt.row_of_run(path, label)
        assert {k: got[k] for k in FIGURES} == {k: rows[label][k] for k in FIGURES}, label
    # the 2-worker figure is the ratio of the two worker benchmarks' rates
    assert float(rows["run 0004"]["workers_2_over_1"]) == pytest.approx(167.255 / 89.675, 1e-2)


def test_the_plot_is_drawn(tmp_path) -> None:
    out = tmp_path / "trajectory.png"
    pt.plot(pt.read_rows(), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
