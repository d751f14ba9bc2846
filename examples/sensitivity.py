"""Which parameters move the headline outcome most? Sobol indices over the priors.

    python examples/sensitivity.py [--out DIR] [--small]

A global sensitivity analysis of the bundled Russia 2022 scenario: six of its uncertain
parameters vary over their priors (the others keep their values), and Sobol indices say how
much of the variance of two outcomes each one explains — the number of people abroad at the
end, and the number in the West at the end:

* the **first-order** index of a parameter is the share of the variance it explains alone;
* the **total** index adds its interactions with the others (1 − total is the share that
  would remain if only that parameter were known).

The indices are computed by ``scipy.stats.sobol_indices`` (Saltelli's estimators, scipy 1.11
and later). SALib would do the same but is one more dependency for what scipy, which flowsim
already needs, now provides; scipy also draws the samples from the priors' own scipy
distributions (``Prior.frozen()``), so nothing is re-declared here.

flowsim's engine takes one parameter vector per replicate, so each batch of parameter sets
that scipy asks for is *one* ``flowsim.simulate`` call with one replicate per set.
Replicates also differ by the model's own randomness, which the indices count as
unexplained variance; with the scenario's large cohorts it is tiny next to the parameters'
effects. Writes ``sobol.png`` (default folder: ``examples/output/sensitivity/``).
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import stats

import flowsim
from flowsim.core.compile import compile_scenario
from flowsim.ensemble.workers import local_pool

HERE = Path(__file__).resolve().parent
SCENARIO = HERE.parent / "scenarios" / "russia-2022.yaml"
PARAMETERS = ("baseline_hazard_rest", "persistent_mult", "mobilization_mult_men",
              "return_post_soviet", "return_central_asia", "deterrence")
OUTCOMES = ("abroad at the end", "in the West at the end")


def sobol_figure(result, n: int) -> Figure:
    """First-order and total indices per parameter, one panel per outcome."""
    # bootstrap intervals cost no simulation: they resample the runs already made
    ci = result.bootstrap(confidence_level=0.9, n_resamples=200)
    first = np.atleast_2d(result.first_order)  # (outcomes, parameters)
    total = np.atleast_2d(result.total_order)
    fig = Figure(figsize=(10, 4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(OUTCOMES), sharey=True)
    y = np.arange(len(PARAMETERS))
    for o, ax in enumerate(axes):
        for values, offset, colour, label, which in (
                (first[o], -0.2, "#0072B2", "first order", "first_order"),
                (total[o], 0.2, "#E69F00", "total", "total_order")):
            interval = getattr(ci, which).confidence_interval
            lo, hi = np.atleast_2d(interval.low)[o], np.atleast_2d(interval.high)[o]
            err = np.nan_to_num(np.clip([values - lo, hi - values], 0, None))
            ax.barh(y + offset, values, height=0.4, color=colour, label=label, xerr=err,
                    error_kw={"elinewidth": 0.8, "capsize": 2})
        ax.set_title(OUTCOMES[o])
        ax.axvline(0, color="grey", linewidth=0.8)
        ax.set_xlabel("Sobol index (share of variance)")
    axes[0].set_yticks(y, PARAMETERS)
    axes[0].invert_yaxis()
    axes[0].legend(frameon=False, loc="lower right")
    fig.suptitle(f"Russia 2022: sensitivity over the priors (n = {n}, "
                 f"{n * (len(PARAMETERS) + 2):,} simulations, 90% bootstrap intervals)")
    return fig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "output" / "sensitivity",
                        help="folder for the figures")
    parser.add_argument("--small", action="store_true", help="a tiny run (for the tests)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    scenario = flowsim.load_scenario(SCENARIO)
    model = compile_scenario(scenario)  # compiled once, simulated many times
    priors = [scenario.parameters[p].prior.frozen() for p in PARAMETERS]
    end = scenario.calendar.end
    n = 8 if args.small else 256  # a power of 2; scipy runs n × (d + 2) parameter sets

    def func(x: np.ndarray, pool) -> np.ndarray:
        """Outcomes of parameter sets ``x`` (d, m): shape (s, m), one replicate per set."""
        params = {name: x[i] for i, name in enumerate(PARAMETERS)}  # the others: declared
        res = flowsim.simulate(model, replicates=x.shape[1], seed=1, params=params,
                               record=("stock",), pool=pool)
        res = flowsim.Results(res.dataset, scenario)  # with the scenario: groups work
        return np.stack([res.abroad(end).values, res.stock("west", end).values]).astype(float)

    # scipy >= 1.15 names the random generator `rng`; 1.11-1.14 call it `random_state`
    key = "rng" if "rng" in inspect.signature(stats.sobol_indices).parameters \
        else "random_state"
    # one pool of worker processes (one per CPU) kept across scipy's three calls (A, B and
    # their mixes); the tiny run stays in this process
    with contextlib.nullcontext() if args.small else local_pool(0) as pool:
        result = stats.sobol_indices(func=lambda x: func(x, pool), n=n, dists=priors,
                                     **{key: np.random.default_rng(2022)})

    first, total = np.atleast_2d(result.first_order), np.atleast_2d(result.total_order)
    for o, outcome in enumerate(OUTCOMES):
        print(f"{outcome}:")
        order = np.argsort(-total[o])
        for i in order:
            print(f"  {PARAMETERS[i]:>24}  first order {first[o, i]:6.2f}   "
                  f"total {total[o, i]:6.2f}")

    fig = sobol_figure(result, n)
    fig.savefig(args.out / "sobol.png", dpi=150)
    print(f"wrote {args.out / 'sobol.png'}")


if __name__ == "__main__":
    main()
