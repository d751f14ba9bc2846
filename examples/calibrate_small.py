"""Calibrate a toy scenario to three published-style figures, and plot the posterior.

    python examples/calibrate_small.py [--out DIR] [--small]

A toy migration system whose answer we know: people leave an origin for country A or B; A's
residents go home at some rate. Three parameters are uncertain, each with a prior: the
weekly hazard of leaving ``h``, B's attractiveness ``a_b`` and the return hazard from A
``r``. We simulate it once with "true" values, read three figures off that run (departures,
the number in B at the end, returns), give them a ±10% tolerance as if they had been
published, and ask ABC-SMC (``flowsim.calibration``) which parameter values reproduce them.
The posterior marginals should hold the true values.

Writes ``posterior.png`` (default folder: ``examples/output/calibrate_small/``).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import flowsim
from flowsim.calibration import Posterior, calibrate, posterior_predictive

HERE = Path(__file__).resolve().parent
START, END = dt.date(2024, 1, 1), dt.date(2024, 5, 19)  # 20 weekly steps
TRUTH = {"h": 0.02, "a_b": 0.4, "r": 0.04}


def toy(figures: dict[str, float] | None = None) -> flowsim.Scenario:
    """The toy scenario; with ``figures``, its three targets (±10%)."""
    figures = figures or {"departures": 1.0, "in_b": 1.0, "returns": 1.0}
    about = {"kind": "about", "tolerance": 0.1, "source": "synthetic (this example)"}
    return flowsim.Scenario.model_validate({
        "name": "toy-calibration",
        "calendar": {"start": START, "end": END},
        "countries": [{"id": "ORG", "name": "Origin", "roles": ["origin"]},
                      {"id": "AAA", "name": "A", "return_hazard": "r"},
                      {"id": "BBB", "name": "B", "attractiveness": "a_b"}],
        "routes": [{"from": "ORG", "to": "AAA"}, {"from": "ORG", "to": "BBB"}],
        "cohorts": [{"name": "all", "population": 50_000, "baseline_hazard": "h"}],
        "parameters": {
            "h": {"value": 0.02, "prior": {"dist": "loguniform", "low": 0.005, "high": 0.05}},
            "a_b": {"value": 0.0, "prior": {"dist": "normal", "mean": 0.0, "sd": 0.5}},
            "r": {"value": 0.05, "prior": {"dist": "uniform", "low": 0.01, "high": 0.1}},
        },
        "targets": [
            {"id": "departures", "observable": "departures", "start": START, "end": END,
             "value": figures["departures"], **about},
            {"id": "in_b", "observable": "stock", "where": ["BBB"], "at": END,
             "value": figures["in_b"], **about},
            {"id": "returns", "observable": "returns", "start": START, "end": END,
             "value": figures["returns"], **about},
        ],
    })


def posterior_figure(post: Posterior, scenario: flowsim.Scenario) -> Figure:
    """Each parameter: weighted posterior histogram, prior density, true value."""
    fig = Figure(figsize=(10, 3.4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(post.param_names))
    for i, (ax, name) in enumerate(zip(axes, post.param_names, strict=True)):
        prior = scenario.parameters[name].prior
        lo, hi = prior.frozen().ppf([0.001, 0.999])
        ax.hist(post.particles[:, i], bins=60, range=(lo, hi), weights=post.weights,
                density=True, color="#0072B2", alpha=0.7, label="posterior")
        x = np.linspace(lo, hi, 200)
        ax.plot(x, prior.frozen().pdf(x), color="grey", label=f"prior: {prior.describe()}")
        ax.axvline(TRUTH[name], color="#D55E00", linewidth=2, label="true value")
        ax.set_title(name)
        ax.set_yticks([])
        ax.legend(frameon=False, fontsize=7, loc="upper right")
    fig.suptitle(f"ABC-SMC posterior marginals: {post.size} particles, effective sample size "
                 f"{post.ess:.0f}, final tolerance {post.epsilon:.3g}")
    return fig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "output" / "calibrate_small",
                        help="folder for the figures")
    parser.add_argument("--small", action="store_true", help="a tiny run (for the tests)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    # 1. Synthetic "published" figures: one run of the toy with the true parameters.
    truth_run = flowsim.simulate(toy(), replicates=1, seed=11, params=TRUTH)
    figures = {"departures": float(truth_run.departures()[0]),
               "in_b": float(truth_run.stock("BBB", END)[0]),
               "returns": float(truth_run.returned(END)[0])}
    print("figures to reproduce:", {k: round(v) for k, v in figures.items()})
    scenario = toy(figures)

    # 2. ABC-SMC: each round of candidate parameter sets is one flowsim.simulate call (one
    #    parameter row per replicate); it stops when every target is met (tolerance 0) or
    #    the simulation budget is spent.
    population, budget = (100, 3_000) if args.small else (1_000, 100_000)
    post = calibrate(scenario, population=population, budget=budget, seed=1)
    print(post.diagnostics().to_string(index=False))
    print(post.summary().to_string())

    # 3. Check: simulate with parameters drawn from the posterior; is every figure met?
    check = posterior_predictive(scenario, post, replicates=200, seed=2)
    print(check[["target", "figure", "median", "lower", "upper", "met"]].to_string(index=False))

    # The posterior can be saved (post.save("posterior.nc")) and its draws fed to
    # flowsim.simulate(..., params=post.sample(n)) or flowsim.compare(..., posterior=post).
    fig = posterior_figure(post, scenario)
    fig.savefig(args.out / "posterior.png", dpi=150)
    print(f"wrote {args.out / 'posterior.png'}")


if __name__ == "__main__":
    main()
