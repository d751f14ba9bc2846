"""Draw the flowsim-pyabc comparison: accuracy against simulations, one panel per toy.

Reads ``benchmarks/results/pyabc/<toy>.csv`` (written by a timed run of
``benchmarks/test_pyabc_comparison.py``) and writes ``benchmarks/pyabc.png``: for each
sampler and seed, the Wasserstein-1 distance of the posterior to the exact one (in posterior
sds, the largest over the parameters) after each generation, against the simulations so far,
with the goal of 0.1 sd.

    python benchmarks/plot_pyabc.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "pyabc"
OUT = HERE / "pyabc.png"
STYLE = {"pyabc": ("#444444", "pyabc 0.13 (defaults)"),
         "flowsim": ("#1f77b4", "flowsim (defaults)"),
         "flowsim-silverman": ("#2ca02c", "flowsim, kernel='silverman'"),
         "flowsim-silverman-margin0": ("#d62728", "flowsim, kernel='silverman', round_margin=0")}
TITLES = {"chain-h": "one parameter (h)", "chain-hq": "two parameters (h, q)"}


def main(results: Path = RESULTS, out: Path = OUT) -> None:
    """Draw every ``results/<toy>.csv`` into ``out``."""
    files = sorted(results.glob("*.csv"))
    if not files:
        raise SystemExit(f"no results in {results}: run the benchmark timed first")
    fig, axes = plt.subplots(1, len(files), figsize=(5.2 * len(files), 4.0), squeeze=False)
    for ax, path in zip(axes[0], files, strict=True):
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        for sampler, (colour, label) in STYLE.items():
            seeds = sorted({r["seed"] for r in rows if r["sampler"] == sampler})
            for i, seed in enumerate(seeds):
                mine = [r for r in rows if r["sampler"] == sampler and r["seed"] == seed]
                ax.plot([int(r["simulations"]) / 1000 for r in mine],
                        [float(r["w1_sd"]) for r in mine], "o-", color=colour, ms=3, lw=1.2,
                        alpha=0.85, label=label if i == 0 else None)
        ax.axhline(0.1, color="black", lw=0.8, ls="--")
        ax.text(ax.get_xlim()[0], 0.1, " goal: 0.1 sd", va="bottom", fontsize=8)
        ax.set_yscale("log")
        ax.set_xlabel("simulations (thousands)")
        ax.set_ylabel("W1 to the exact posterior (posterior sds)")
        ax.set_title(f"linear chain, {TITLES.get(path.stem, path.stem)}", fontsize=10)
        ax.grid(alpha=0.3, which="both")
    axes[0][0].legend(fontsize=8, frameon=False, loc="upper right")
    fig.suptitle("Accuracy against simulations: flowsim and pyabc on toys with exact "
                 "posteriors (1,000 particles, one core)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=130)
    plt.close(fig)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
