"""The headline ratios of the benchmark suite, run after run: a table (CSV) and a plot.

``benchmarks/trajectory.csv`` holds one row per saved run of the suite (one per release, and
the runs that changed a headline figure): the engine's floor ratio and replicates per
second on the bundled scenario, the cost of coupled sampling over exact sampling, and the
speed-up of 2 workers over 1. This script draws them as ``benchmarks/trajectory.png``::

    python benchmarks/plot_trajectory.py

and adds the row of a run saved by ``pytest --benchmark-only`` (its figures read from the
``extra_info`` the benchmarks store) before drawing::

    python benchmarks/plot_trajectory.py --add benchmarks/results/Linux-CPython-3.11-64bit/0005_*.json \\
        --label 0.3.0 --version 0.3.0 --note "what changed"

A figure the run did not measure is left empty (a gap in the plot).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

HERE = Path(__file__).resolve().parent
CSV = HERE / "trajectory.csv"
PNG = HERE / "trajectory.png"

#: The columns of the CSV, in order.
COLUMNS = ["label", "date", "version", "commit", "machine", "floor_ratio", "replicates_per_s",
           "coupled_over_exact", "workers_2_over_1", "note"]
#: The headline figures: column, title, target (None: no target) and whether lower is better.
HEADLINES = [
    ("floor_ratio", "engine time / its draws' time", 1.5, True),
    ("replicates_per_s", "replicates per second, one core", None, False),
    ("coupled_over_exact", "coupled / exact sampling", 1.5, True),
    ("workers_2_over_1", "2 workers / 1 worker", 1.7, False),
]


def _figure(benchmarks: dict[str, dict], name: str, key: str) -> float | None:
    info = benchmarks.get(name, {})
    value = info.get(key)
    return float(value) if isinstance(value, int | float) else None


def row_of_run(path: Path, label: str, version: str = "", note: str = "") -> dict[str, str]:
    """The trajectory row of one run saved by pytest-benchmark (``--benchmark-save``)."""
    run = json.loads(Path(path).read_text())
    benchmarks = {b["name"]: b.get("extra_info", {}) for b in run["benchmarks"]}
    one = _figure(benchmarks, "test_workers[2000-1]", "replicates_per_s")
    two = _figure(benchmarks, "test_workers[2000-2]", "replicates_per_s")
    figures = {
        "floor_ratio": _figure(benchmarks, "test_bundled_block[250]", "floor_ratio"),
        "replicates_per_s": _figure(benchmarks, "test_bundled_block[250]", "replicates_per_s"),
        "coupled_over_exact": _figure(benchmarks, "test_coupled_vs_exact_block[250]",
                                      "cost_ratio"),
        "workers_2_over_1": two / one if one and two else None,
    }
    machine = run.get("machine_info", {})
    cpu = machine.get("cpu", {})
    return {
        "label": label,
        "date": run.get("datetime", "")[:10],
        "version": version,
        "commit": run.get("commit_info", {}).get("id", "")[:7],
        "machine": f"{cpu.get('count', '?')} cores, {cpu.get('brand_raw', '?')}",
        **{k: "" if v is None else f"{v:.3g}" for k, v in figures.items()},
        "note": note,
    }


def read_rows(path: Path = CSV) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_rows(rows: list[dict[str, str]], path: Path = CSV) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def plot(rows: list[dict[str, str]], path: Path = PNG) -> None:
    """One small panel per headline figure, the runs in order along x, targets dashed, a
    dotted line where the machine changes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(HEADLINES), figsize=(11, 2.6), constrained_layout=True)
    x = list(range(len(rows)))
    for ax, (column, title, target, lower_better) in zip(axes, HEADLINES, strict=True):
        y = [float(r[column]) if r[column] else math.nan for r in rows]
        ax.plot(x, y, marker="o", color="#1f4e79")
        if target is not None:
            ax.axhline(target, color="#b03a2e", linestyle="--", linewidth=1)
        ax.set_title(title + (" (lower is better)" if lower_better else ""), fontsize=8)
        ax.set_xticks(x, [r["label"] for r in rows], rotation=45, ha="right", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_xlim(-0.5, len(rows) - 0.5)
        for i in range(1, len(rows)):  # figures on different machines do not compare
            if rows[i]["machine"] != rows[i - 1]["machine"]:
                ax.axvline(i - 0.5, color="grey", linestyle=":", linewidth=1)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--add", type=Path, help="a saved pytest-benchmark run to add a row for")
    parser.add_argument("--label", help="the row's label (a release, or a run number)")
    parser.add_argument("--version", default="", help="the flowsim version it measured")
    parser.add_argument("--note", default="", help="what changed in this run")
    parser.add_argument("--csv", type=Path, default=CSV)
    parser.add_argument("--png", type=Path, default=PNG)
    args = parser.parse_args(argv)
    rows = read_rows(args.csv)
    if args.add is not None:
        rows.append(row_of_run(args.add, args.label or args.add.stem[:4], args.version,
                               args.note))
        write_rows(rows, args.csv)
    plot(rows, args.png)


if __name__ == "__main__":
    main()
