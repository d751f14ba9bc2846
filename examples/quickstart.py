"""Quickstart: simulate the bundled Russia 2022 scenario and draw its two figures.

    python examples/quickstart.py [--out DIR] [--small]

Loads ``scenarios/russia-2022.yaml`` (countries, routes, cohorts, shocks and the 2022-2023
policy timeline), runs it as a stochastic model over many replicates, prints the headline
numbers with 90% intervals, and saves the fan chart of cumulative departures and the chart
of where people are at the end (default folder: ``examples/output/quickstart/``).

The parameters are the scenario's starting values, not a calibrated posterior, so the
intervals show the model's own randomness only (see calibrate_small.py for parameter
uncertainty).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import flowsim
from flowsim import plots

HERE = Path(__file__).resolve().parent
SCENARIO = HERE.parent / "scenarios" / "russia-2022.yaml"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "output" / "quickstart",
                        help="folder for the figures")
    parser.add_argument("--small", action="store_true", help="a tiny run (for the tests)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    # 1. Load and validate the scenario (a flowsim.ScenarioError lists every problem at once).
    scenario = flowsim.load_scenario(SCENARIO)
    print(f"{scenario.name}: {len(scenario.countries)} countries, {len(scenario.routes)} "
          f"routes, {len(scenario.cohorts)} cohorts, {len(scenario.policies)} policies")

    # 2. Simulate. The same seed gives the same numbers, whatever the number of workers.
    replicates = 20 if args.small else 1000
    results = flowsim.simulate(scenario, replicates=replicates, seed=1,
                               workers=1 if args.small else 0)  # 0: one worker per CPU
    print(results)

    # 3. The headline table (a pandas DataFrame): median and 90% interval over replicates.
    table = results.summary()
    shares = table["quantity"].str.startswith("share")
    for col in ("low", "median", "high"):
        table[col] = [f"{v:.1%}" if s else f"{v:,.0f}" for v, s in zip(table[col], shares)]
    table = table.drop(columns="mean").rename(columns={"low": "5%", "high": "95%"})
    print(table.to_string(index=False))

    # Any other question is a line of xarray: e.g. men who left during the mobilization wave.
    men = results.departures("2022-09-21", "2022-10-31", cohorts="men_conscription")
    lo, mid, hi = men.quantile([0.05, 0.5, 0.95]).values
    print(f"men of conscription age leaving 21 Sep - 31 Oct 2022: {mid:,.0f} "
          f"({lo:,.0f} - {hi:,.0f}); the article: 400,000 - 500,000")

    # 4. The figures: plain matplotlib Figures (no pyplot), with the published targets drawn.
    for name, fig in (("fan_departures", plots.fan_chart(results)),
                      ("destinations", plots.destinations(results))):
        fig.savefig(args.out / f"{name}.png", dpi=150)
        print(f"wrote {args.out / f'{name}.png'}")


if __name__ == "__main__":
    main()
