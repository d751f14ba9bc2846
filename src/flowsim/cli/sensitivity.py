"""``flowsim sensitivity FILE``: which parameters move the headline numbers and the targets.

Every parameter with a ``prior`` (or those of ``--parameters``) varies over its prior, the
others keep their values, and :func:`flowsim.sensitivity` gives, for each headline number
(the summary's headline rows and the stock in each of the report's groups at the end) and
each target column, first-order and total Sobol indices (``--method sobol``, the default)
or Morris screening (``--method morris``: ``mu_star``, ``mu``, ``sigma``, for many
parameters at a fraction of the cost), each with a bootstrap interval. A table of the top
three parameters of each outcome goes to the terminal, and ``--out DIR`` (default
``results/sensitivity-<scenario name>/``) gets ``sensitivity.csv`` (every index, tidy),
``sensitivity.png`` and ``run.json``, all or nothing (:mod:`flowsim.reports.sensitivity`).

**Size.** ``--samples`` is the Sobol base sample ``n`` (a power of 2; ``n (d + 3)``
simulations for ``d`` parameters) or the number of Morris trajectories (``r (d + 1)``).
The defaults (:data:`~flowsim.calibration.sensitivity.DEFAULT_SOBOL_SAMPLES` = 64, 20
trajectories) are sized for the bundled scenario's 75 parameters on 2 cores: 4,992 and
1,520 simulations (and one that names the outcomes). Measured on the 2-core development
machine, with the 73 parameters of the previous release, while other work shared it (load average 4-7, about 12 simulations a second, two
workers): 7.3 minutes for the Sobol default, 1.7 for Morris; at the 80-100 simulations a
second ``flowsim calibrate`` measured at load 2, the Sobol default takes one to two minutes.
Wide intervals mean the sample is too small: double ``--samples``
(the intervals shrink as one over its square root), or screen with ``--method morris`` and
compute Sobol indices of the few parameters that matter (``--parameters a,b,c``).

Randomness: ``--seed`` is the root of the design, the simulations and the bootstrap; the same
seed gives the same indices bit for bit, whatever ``--workers`` is.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from flowsim.cli._common import (
    EXIT_BAD_INPUT,
    err_console,
    fault,
    handle_faults,
    handle_input_errors,
    hold_output_directory,
    option_error,
    out_console,
    print_problems,
    stop_interrupted,
)
from flowsim.cli.options import (
    DEFAULT_SEED,
    DEFAULT_WORKERS,
    Figures,
    Force,
    Quiet,
    Workers,
    out_help,
    out_option,
    scenario_file,
    seed_option,
)
from flowsim.cli.report import ReportOption, write_html
from flowsim.cli.run import default_out_dir
from flowsim.ensemble.processes import resolve_workers
from flowsim.ensemble.workers import WorkerLost
from flowsim.errors import Problem

__all__ = ["sensitivity"]

METHODS = ("sobol", "morris")
#: column headings of the terminal table
SHORT = {"total_order": "total", "first_order": "first order", "mu_star": "μ*", "mu": "μ",
         "sigma": "σ"}


def sensitivity(
    file: Annotated[Path, scenario_file(
        "Scenario file (YAML); parameters with a prior vary over it.")],
    method: Annotated[str, typer.Option(
        "--method", metavar="sobol|morris", help="sobol: first-order and total Sobol "
        "indices; morris: elementary-effects screening (for many parameters, cheaper).")
    ] = "sobol",
    samples: Annotated[int | None, typer.Option(
        "--samples", "-n", metavar="N", min=2, help="Sobol: the base sample, a power of 2 "
        "(N × (parameters + 3) simulations; default 64). Morris: trajectories "
        "(N × (parameters + 1) simulations; default 20).", show_default=False)] = None,
    parameters: Annotated[str | None, typer.Option(
        "--parameters", metavar="A,B,C", help="Vary only these parameters (each with a "
        "prior), separated by commas; default: every parameter with a prior.",
        show_default=False)] = None,
    targets: Annotated[Path | None, typer.Option(
        "--targets", metavar="FILE", help="The targets whose indices are computed, from this "
        "YAML file instead of the scenario's.", show_default=False)] = None,
    confidence: Annotated[float, typer.Option(
        "--confidence", min=0.5, max=0.999, help="Level of the bootstrap intervals.")] = 0.9,
    seed: Annotated[int, seed_option(
        "Root of all randomness (design, simulations, bootstrap): the same seed gives the "
        "same indices bit for bit, whatever --workers is.")] = DEFAULT_SEED,
    workers: Workers = DEFAULT_WORKERS,
    out: Annotated[Path | None, out_option(
        out_help("results/sensitivity-<scenario name>"))] = None,
    figures: Figures = True,
    quiet: Quiet = False,
    report: ReportOption = False,
    force: Force = False,
) -> None:
    """Global sensitivity of the headline numbers and targets to the parameters' priors.

    Writes [bold]sensitivity.csv[/bold] (every index of every outcome and parameter, with
    its bootstrap interval), [bold]sensitivity.png[/bold] and [bold]run.json[/bold], all
    or nothing, and prints the top parameters of each outcome.
    """
    from flowsim.calibration.sensitivity import (
        DEFAULT_MORRIS_TRAJECTORIES,
        DEFAULT_SOBOL_SAMPLES,
    )
    from flowsim.calibration.sensitivity import sensitivity as analyse
    from flowsim.cli.calibrate import read_with_targets
    from flowsim.ensemble.workers import local_pool
    from flowsim.reports.sensitivity import write_sensitivity

    t0 = time.perf_counter()
    err = err_console()
    if method not in METHODS:
        option_error("sensitivity", f"--method: unknown method {method!r}; choose sobol or "
                     "morris")
    if samples is None:
        samples = DEFAULT_SOBOL_SAMPLES if method == "sobol" else DEFAULT_MORRIS_TRAJECTORIES
    if method == "sobol" and samples & (samples - 1):
        low = 1 << (samples.bit_length() - 1)
        option_error("sensitivity", f"--samples {samples}: the Sobol base sample must be a "
                     f"power of 2 (the balance of Sobol points needs it); try {low} or "
                     f"{2 * low}")
    with handle_input_errors():
        scenario, warnings = read_with_targets(file, targets)
    print_problems(warnings, err)
    chosen = _parameters(scenario, file, parameters)
    d = len(chosen)
    sims = samples * (d + 3) if method == "sobol" else samples * (d + 1)
    out_dir = out if out is not None else _default_out(scenario.name)
    hold_output_directory("sensitivity", out_dir, force)
    n_workers = resolve_workers(workers)
    if not quiet:
        what = "Sobol indices" if method == "sobol" else "Morris screening"
        size = f"base sample {samples}" if method == "sobol" else f"{samples} trajectories"
        err.print(f"{scenario.name}: {what} of {d} parameters over their priors, {size}, "
                  f"{sims + 1:,} simulations, seed {seed}, {n_workers} "
                  f"worker{'s' if n_workers != 1 else ''}", soft_wrap=True)
    repeat = ["flowsim", "sensitivity", str(file), "--method", method, "--samples",
              str(samples)]
    if parameters is not None:
        repeat += ["--parameters", ",".join(chosen)]
    if targets is not None:
        repeat += ["--targets", str(targets)]
    repeat += ["--confidence", str(confidence), "--seed", str(seed)]
    pool = local_pool(n_workers) if n_workers > 1 else None
    started = time.perf_counter()
    shown = [0]

    def progress(share: float) -> None:  # a line at every tenth of the design
        if not quiet and int(share * 10) > shown[0]:
            shown[0] = int(share * 10)
            err.print(f"simulated {share:4.0%} ({time.perf_counter() - started:,.0f} s)",
                      soft_wrap=True)

    try:
        t1 = time.perf_counter()
        result = analyse(scenario, method=method, samples=samples,
                         parameters=chosen if parameters is not None else None,
                         seed=seed, workers=n_workers, pool=pool, confidence=confidence,
                         progress=progress)
        t_sim = time.perf_counter() - t1
    except KeyboardInterrupt as e:
        stop_interrupted(out_dir, e)
    except WorkerLost as e:
        fault("sensitivity", out_dir, e, "stopped")
    except ValueError as e:  # e.g. targets the observation model cannot read
        print_problems([Problem(str(e), file=str(targets if targets is not None else file))])
        raise typer.Exit(EXIT_BAD_INPUT) from None
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
    if not quiet:
        err.print(f"{result.simulations:,} simulations in {result.wall_time:,.0f} s; "
                  f"indices and {confidence:.0%} bootstrap intervals in "
                  f"{t_sim - result.wall_time:,.1f} s", soft_wrap=True)
        for name in result.constant:
            err.print(f"left out (did not vary): {name}", soft_wrap=True)
        _print_table(result)
    run_info = {
        "workers": n_workers,
        "seed": {"given": seed, "design": "first child of the seed",
                 "simulations": "second child of the seed",
                 "bootstrap": "third child of the seed"},
        "scenario": {"file": str(file), "name": scenario.name},
        "targets_file": str(targets) if targets is not None else None,
        "command": {"argv": list(sys.argv), "repeat": shlex.join(repeat)},
        "timings": {"total_s": round(time.perf_counter() - t0, 3),
                    "simulate_s": round(result.wall_time, 3),
                    "indices_s": round(t_sim - result.wall_time, 3)},
    }
    try:
        with handle_faults("sensitivity", out_dir):
            written = write_sensitivity(out_dir, result, run_info=run_info, figures=figures)
    except KeyboardInterrupt as e:
        stop_interrupted(out_dir, e)
    if report:
        from flowsim.reports.sensitivity import sensitivity_report

        written = [*written, write_html(out_dir, sensitivity_report(result, run_info))]
    console = out_console()
    if quiet:
        console.print(str(out_dir), soft_wrap=True)
        return
    console.print(f"Wrote {out_dir}{'/' if not str(out_dir).endswith('/') else ''}: "
                  + ", ".join(p.name for p in written), soft_wrap=True)
    console.print(f"Repeat with: {shlex.join(repeat)}", soft_wrap=True)


def _parameters(scenario: Any, file: Path, given: str | None) -> list[str]:
    """The parameters to vary: those named (checked), or every one with a prior."""
    from flowsim.errors import did_you_mean

    pars = scenario.parameters
    if given is None:
        names = [n for n, p in pars.items() if p.prior is not None]
        if not names:
            print_problems([Problem("no parameter has a prior: nothing to vary (give "
                                    "parameters a `prior:`)", "parameters", str(file))])
            raise typer.Exit(EXIT_BAD_INPUT)
        return names
    names = [n.strip() for n in given.split(",") if n.strip()]
    if not names:
        option_error("sensitivity", "--parameters: give parameter names separated by commas")
    for n in names:
        if n not in pars:
            option_error("sensitivity", f"--parameters: unknown parameter {n!r}"
                         f"{did_you_mean(n, list(pars))}")
        if pars[n].prior is None:
            option_error("sensitivity", f"--parameters: {n!r} has no prior to vary it over")
    return list(dict.fromkeys(names))


def _default_out(name: str) -> Path:
    """``results/sensitivity-<scenario name>``."""
    run_dir = default_out_dir(name)
    return run_dir.parent / f"sensitivity-{run_dir.name}"


def _print_table(result: Any) -> None:
    """The top three parameters of every outcome, headline numbers then targets; the share
    of the model's own randomness goes under the outcome's name."""
    from rich import box
    from rich.table import Table

    from flowsim.calibration.sensitivity import RANDOMNESS

    table = result.summary(3)
    what = "Sobol indices" if result.method == "sobol" else "Morris screening"
    kinds = list(result.indices)
    caption = None if result.method == "sobol" else (
        "μ*: mean |effect|, μ: mean effect, σ: sd of the effects, in the outcome's units, "
        "for a jump of half the prior's probability")
    for source, title in (("headline", "Headline numbers"), ("target", "Targets")):
        rows = table[table["source"] == source]
        if rows.empty:
            continue
        t = Table(title=f"{title}: {what}, top 3 parameters, {result.confidence:.0%} "
                  "bootstrap intervals", title_justify="left", title_style="bold",
                  box=box.SIMPLE_HEAD, header_style="dim", caption=caption,
                  caption_justify="left")
        t.add_column("outcome", overflow="fold", ratio=1)
        t.add_column("parameter", no_wrap=True)
        for c in kinds:
            t.add_column(SHORT.get(c, c), justify="right", overflow="fold")
        last = None
        for r in rows.to_dict("records"):
            name = ""
            if r["outcome"] != last:
                name = r["outcome"] + (f" (model randomness {r[RANDOMNESS].split(' ')[0]})"
                                       if RANDOMNESS in r else "")
            last = r["outcome"]
            t.add_row(name, r["parameter"], *(str(r[c]) for c in kinds))
        out_console().print(t)
