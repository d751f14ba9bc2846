"""Build a scenario in Python, without YAML: flowsim is not tied to Russia.

    python examples/build_in_python.py [--out DIR] [--small]

A made-up case with made-up numbers (an illustration, not an estimate): people leave
"Norland" after a crackdown, over land into Eastmark (the internal passport is enough) or by
air into Southport, and on to three destinations: Westria (a visa is required; it has an
asylum system), Lakeland (visa-free from Eastmark) and Hillmont (an e-visa). In June 2025
Eastmark closes its border. The scenario is plain data validated by
``flowsim.Scenario.model_validate``, exactly as if it had been read from a file; its fields
are described in docs/scenario-format.md.

Writes ``fan_departures.png``, ``destinations.png`` and ``stocks.png`` (default folder:
``examples/output/build_in_python/``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import flowsim
from flowsim import plots
from flowsim.scenario import validate_data

HERE = Path(__file__).resolve().parent

SCENARIO = {
    "name": "norland-2025",
    "description": "Illustrative: emigration from a made-up country after a crackdown.",
    "calendar": {"start": "2025-01-01", "end": "2026-12-31", "step": "week"},
    # Country ids are three capital letters (ISO 3166 alpha-3 in real cases).
    "countries": [
        {"id": "NRL", "name": "Norland", "roles": ["origin"]},
        {"id": "EMK", "name": "Eastmark", "roles": ["transit", "destination"],
         "groups": ["neighbours"], "attractiveness": 0.3,
         "onward_hazard": 0.03, "return_hazard": 0.01, "settle_hazard": 0.002},
        {"id": "SPT", "name": "Southport", "roles": ["transit", "destination"],
         "groups": ["neighbours"], "attractiveness": 0.5,
         "onward_hazard": 0.02, "return_hazard": 0.005, "settle_hazard": 0.003},
        {"id": "WST", "name": "Westria", "groups": ["west"],
         # a utility on the logit scale; families value it more
         "attractiveness": {"default": 1.5, "families": 2.0},
         "return_hazard": 0.001, "settle_hazard": 0.01,
         "asylum": {"claim_hazard": 0.02, "processing_days": 150,
                    "recognition_rate": "recognition_westria", "capacity": 300}},
        {"id": "LKL", "name": "Lakeland", "attractiveness": 0.8,
         "return_hazard": 0.004, "settle_hazard": 0.005},
        {"id": "HLM", "name": "Hillmont", "attractiveness": 0.6,
         "return_hazard": 0.006, "settle_hazard": 0.004},
    ],
    "routes": [
        {"from": "NRL", "to": "EMK", "mode": "land", "documents": "internal", "cost": 0.2},
        {"from": "NRL", "to": "SPT", "mode": "air", "cost": 0.8, "capacity": 1500},
        {"from": "NRL", "to": "WST", "mode": "air", "regime": "visa_required",
         "issuance": 0.3, "delay_days": 60, "cost": 0.5},
        {"from": "NRL", "to": "HLM", "mode": "air", "regime": "e_visa", "cost": 1.2},
        {"from": "EMK", "to": "LKL", "mode": "land", "cost": 0.3},
        {"from": "EMK", "to": "WST", "mode": "air", "regime": "visa_required",
         "issuance": 0.5, "delay_days": 45, "cost": 0.6},
        {"from": "SPT", "to": "WST", "mode": "air", "regime": "visa_required",
         "issuance": 0.5, "delay_days": 45, "cost": 0.6},
        {"from": "SPT", "to": "HLM", "mode": "air", "regime": "e_visa", "cost": 0.4},
    ],
    "cohorts": [
        {"name": "professionals", "population": 400_000, "baseline_hazard": 2.0e-4,
         "international_passport": 0.9},
        {"name": "families", "population": 3_000_000, "baseline_hazard": 3.0e-5,
         "international_passport": 0.3},
    ],
    "shocks": [
        {"name": "crackdown", "date": "2025-03-10",
         "multiplier": {"default": 8, "professionals": 20}, "half_life_days": 60},
    ],
    "policies": [
        {"name": "eastmark_border_closed", "start": "2025-06-01",
         "description": "Eastmark closes its land border with Norland.",
         "select": {"from": "NRL", "to": "EMK"}, "route": {"regime": "closed"}},
    ],
    "parameters": {
        # how much a closure deters rather than diverts (see docs/model.md)
        "deterrence": {"value": 0.5, "prior": {"dist": "beta", "a": 2, "b": 2}},
        "recognition_westria": {"value": 0.4,
                                "prior": {"dist": "uniform", "low": 0.2, "high": 0.7}},
    },
    "behaviour": {"deterrence": "deterrence"},
    "targets": [
        {"id": "left_in_spring", "observable": "departures", "kind": "interval",
         "low": 12_000, "high": 20_000, "start": "2025-03-10", "end": "2025-05-31",
         "source": "made up for this example"},
    ],
}


def stocks_figure(results: flowsim.Results) -> Figure:
    """People in each country abroad over time (median and 90% band), from the dataset."""
    ds = results.dataset  # xarray: stock has dims (replicate, time, country, cohort)
    stock = ds["stock"].sum("cohort").drop_sel(country=ds.attrs["origin"])
    q = stock.quantile([0.05, 0.5, 0.95], dim="replicate")
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for country in stock["country"].values:
        line = q.sel(country=country)
        name = str(ds["country_name"].sel(country=country).values)
        ax.plot(ds["time"].values, line.sel(quantile=0.5), label=name)
        ax.fill_between(ds["time"].values, line.sel(quantile=0.05), line.sel(quantile=0.95),
                        alpha=0.25)
    ax.axvline(np.datetime64("2025-06-01"), color="grey", linestyle=":")
    ax.text(np.datetime64("2025-06-08"), ax.get_ylim()[1] * 0.95, "Eastmark closes",
            color="grey", va="top")
    ax.set_ylabel("people from Norland (median, 90% band)")
    ax.set_title("Where people from Norland are, over time")
    ax.legend(frameon=False, ncols=2)
    return fig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "output" / "build_in_python",
                        help="folder for the figures")
    parser.add_argument("--small", action="store_true", help="a tiny run (for the tests)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    # 1. Validate. model_validate checks every field (a pydantic ValidationError says which);
    #    validate_data adds the checks that need the whole scenario (unknown ids, unreachable
    #    countries, parameter references) and reports every problem at once, as
    #    `flowsim validate` does for a file (a flowsim.ScenarioError, or warnings).
    scenario = flowsim.Scenario.model_validate(SCENARIO)
    _, warnings = validate_data(SCENARIO)
    for warning in warnings:
        print(warning)

    # 2. Uncertain parameters: one value per replicate, here drawn from their priors.
    replicates = 40 if args.small else 500
    rng = np.random.default_rng(7)
    params = {name: scenario.parameters[name].prior.frozen().rvs(replicates, random_state=rng)
              for name in ("deterrence", "recognition_westria")}
    results = flowsim.simulate(scenario, replicates=replicates, seed=2025, params=params)

    # 3. Questions are one line each; every answer has one value per replicate.
    end = scenario.calendar.end
    for label, values in (
        ("left Norland by the end", results.departures()),
        ("abroad at the end", results.abroad(end)),
        ("in the West at the end", results.stock("west", end)),
        ("asylum grants in Westria", results.period_total("asylum_grants", "WST", None, None)),
    ):
        lo, mid, hi = np.quantile(values, [0.05, 0.5, 0.95])
        print(f"{label:>26}: {mid:>9,.0f}   (90%: {lo:,.0f} - {hi:,.0f})")

    # 4. Figures: the library's two, and one drawn from the xarray dataset directly.
    figures = {"fan_departures": plots.fan_chart(results),
               "destinations": plots.destinations(results, top=5),
               "stocks": stocks_figure(results)}
    for name, fig in figures.items():
        fig.savefig(args.out / f"{name}.png", dpi=150)
        print(f"wrote {args.out / f'{name}.png'}")


if __name__ == "__main__":
    main()
