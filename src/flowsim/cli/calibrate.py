"""``flowsim calibrate FILE``: fit a scenario's parameters to its targets by ABC-SMC.

Every parameter with a ``prior`` is estimated (:func:`flowsim.calibration.abc_smc`), the
others keep their values; the targets are the scenario's, or those of ``--targets FILE``. One
line per generation reports the tolerance, the acceptance rate, the effective sample size,
the simulations and the time. Then a posterior-predictive run (``--predictive`` replicates,
each with parameters drawn from the posterior) checks every target, and the outputs go to
``--out DIR`` (default ``results/calibrate-<scenario name>/``), all or nothing (see
:mod:`flowsim.calibration.report`): ``posterior.nc``, ``posterior.csv``, ``diagnostics.csv``,
``report.md``, ``report.csv``, ``parameters.csv``, the figures and ``run.json``.

**Convergence** (:mod:`flowsim.calibration.convergence`): a run converged when it stopped on
its tolerance (every target met). One stopped by ``--budget`` or ``--generations`` prints
``warning: NOT CONVERGED: ...`` on stderr, even with ``--quiet``, and says so in
``posterior.nc`` (``converged: "false"``), ``report.md``, ``run.json`` and the figures'
titles. A parameter whose posterior piles up at a bound of its prior gets a warning too.

Defaults are sized for the bundled scenario (``scenarios/russia-2022.yaml``: 71 estimated
parameters, 17 targets) on a 2-core machine: ``--method mcmc`` (replenishment with
Metropolis-Hastings moves, whose weights do not degenerate with many parameters),
``--population`` :data:`DEFAULT_POPULATION` and ``--budget`` :data:`DEFAULT_BUDGET`
simulations. Measured on the 2-core development machine (shared with other work, load
average about 2), with two worker processes: the whole budget (ε 0.004 after 39,889
simulations) took 7.5 minutes including the posterior-predictive check and the figures, at
80-100 simulations a second; the shipped calibration stopped earlier, with every target
met (ε 0), after 30,383 simulations and 5.7 minutes. Even at half that throughput the
default stays under 15 minutes.

Randomness: ``--seed`` is the root; its first child drives the calibration, its second the
posterior-predictive run. The same seed gives the same posterior bit for bit, whatever
``--workers`` is.
"""

from __future__ import annotations

import math
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from flowsim.calibration.convergence import small_sample
from flowsim.calibration.kernels import KERNELS
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
from flowsim.errors import Problem, ScenarioError

__all__ = ["DEFAULT_BUDGET", "DEFAULT_POPULATION", "calibrate", "read_with_targets"]

#: simulations in all (the stopping rule of the default calibration)
DEFAULT_BUDGET = 40_000
#: particles per generation
DEFAULT_POPULATION = 400
#: what the whole default budget took on the bundled scenario with 2 workers (measured)
DEFAULT_BUDGET_MINUTES = 7.5
DEFAULT_METHOD = "mcmc"
METHODS = ("pmc", "mcmc")
#: generations at most: high, so that the budget (or the tolerance 0) stops the run
DEFAULT_GENERATIONS = 100
#: Metropolis-Hastings steps per generation at most (method mcmc)
MCMC_STEPS = 10
#: replicates of the posterior-predictive check
DEFAULT_PREDICTIVE = 1000
ALPHA = 0.5


def calibrate(
    file: Annotated[Path, scenario_file(
        "Scenario file (YAML); parameters with a prior are estimated.")],
    targets: Annotated[Path | None, typer.Option(
        "--targets", metavar="FILE", help="Calibrate to the targets in this YAML file (a "
        "list of targets, or a mapping with a targets: list) instead of the scenario's.",
        show_default=False)] = None,
    budget: Annotated[int, typer.Option(
        "--budget", min=1, help="Simulations in all: the calibration stops before it would "
        "exceed them (or earlier, when every target is met).")] = DEFAULT_BUDGET,
    population: Annotated[int, typer.Option(
        "--population", min=1, help="Particles per generation (the posterior's size).")
    ] = DEFAULT_POPULATION,
    method: Annotated[str, typer.Option(
        "--method", metavar="pmc|mcmc", help="mcmc: Metropolis-Hastings replenishment "
        "(for many parameters); pmc: importance-weighted population Monte Carlo.")
    ] = DEFAULT_METHOD,
    kernel: Annotated[str, typer.Option(
        "--kernel", metavar="beaumont|silverman", help="pmc: the perturbation kernel, twice "
        "the population's covariance (beaumont) or that covariance times Silverman's squared "
        "bandwidth (silverman: narrower, fewer simulations when the posterior is well "
        "identified).")] = "beaumont",
    distance: Annotated[str, typer.Option(
        "--distance", metavar="fixed|adaptive", help="pmc with range targets: adaptive "
        "weights each target by the inverse of its mean miss in the last generation (the "
        "posterior at tolerance 0 is the same).")] = "fixed",
    seed: Annotated[int, seed_option(
        "Root of all randomness: the same seed gives the same posterior bit for bit, "
        "whatever --workers is.")] = DEFAULT_SEED,
    workers: Workers = DEFAULT_WORKERS,
    out: Annotated[Path | None, out_option(
        out_help("results/calibrate-<scenario name>"))] = None,
    predictive: Annotated[int, typer.Option(
        "--predictive", min=1, help="Replicates of the posterior-predictive check (each "
        "with its own draw from the posterior).")] = DEFAULT_PREDICTIVE,
    generations: Annotated[int, typer.Option(
        "--generations", min=1, help="Generations at most (generation 0 included).")
    ] = DEFAULT_GENERATIONS,
    final_moves: Annotated[int | None, typer.Option(
        "--final-moves", min=1, metavar="N", help="mcmc with error models: the "
        "pseudo-marginal steps of the last stage, which samples the posterior itself "
        "(default: until each particle has likely moved once, at most 10). More steps mix "
        "the posterior further, at up to --population simulations a step.",
        show_default=False)] = None,
    figures: Figures = True,
    quiet: Quiet = False,
    report: ReportOption = False,
    force: Force = False,
) -> None:
    """Calibrate a scenario to its targets (ABC-SMC) and write the posterior and a report.

    Writes [bold]posterior.nc[/bold] and [bold]posterior.csv[/bold] (weighted particles),
    [bold]diagnostics.csv[/bold] (per generation), [bold]report.md[/bold] and
    [bold]report.csv[/bold] (every target against the posterior predictive),
    [bold]parameters.csv[/bold], the figures and [bold]run.json[/bold], all or nothing.
    Use the posterior with [bold]flowsim run FILE --posterior posterior.nc[/bold].
    """
    from flowsim.calibration import abc_smc
    from flowsim.calibration.predictive import predictive_results, predictive_table
    from flowsim.ensemble.workers import local_pool
    from flowsim.reports.calibration import write_calibration

    t0 = time.perf_counter()
    err = err_console()
    if method not in METHODS:
        option_error("calibrate", f"--method: unknown method {method!r}; choose pmc or mcmc")
    if kernel not in KERNELS:
        option_error("calibrate", f"--kernel: unknown kernel {kernel!r}; choose "
                     f"{' or '.join(KERNELS)}")
    if distance not in ("fixed", "adaptive"):
        option_error("calibrate", f"--distance: unknown distance {distance!r}; choose fixed "
                     "or adaptive")
    if method == "mcmc" and distance != "fixed":
        option_error("calibrate", "--distance applies to --method pmc; mcmc keeps the fixed "
                     "distance")
    if method == "mcmc" and kernel != "beaumont":
        option_error("calibrate", "--kernel applies to --method pmc; mcmc moves its "
                     "particles by Metropolis-Hastings steps of its own")
    if method != "mcmc" and final_moves is not None:
        option_error("calibrate", "--final-moves applies to --method mcmc; pmc ends with "
                     "generations drawn from the posterior, not with moves")
    with handle_input_errors():
        scenario, warnings = read_with_targets(file, targets)
    print_problems(warnings, err)
    _check_calibratable(scenario, file, targets)
    if distance == "adaptive" and any(t.error is not None for t in scenario.targets):
        option_error("calibrate", "--distance adaptive is for range targets: these targets "
                     "have error models, whose distance is already in sds of each error")
    if final_moves is not None and not any(t.error is not None for t in scenario.targets):
        option_error("calibrate", "--final-moves applies to targets with error models: with "
                     "ranges the calibration ends at the tolerance, without a stage of moves")
    first = math.ceil(population / ALPHA)
    if budget < first:
        option_error("calibrate", f"--budget {budget:,} cannot complete the first "
                     f"generation, which simulates {first:,} prior draws (2 × --population); "
                     f"give at least {first:,} or a smaller --population")
    out_dir = out if out is not None else _default_out(scenario.name)
    hold_output_directory("calibrate", out_dir, force)
    n_workers = resolve_workers(workers)
    estimated = sum(p.prior is not None for p in scenario.parameters.values())
    if not quiet:
        err.print(f"{scenario.name}: calibrating {estimated} parameters to "
                  f"{len(scenario.targets)} targets by ABC-SMC ({method}), population "
                  f"{population:,}, budget {budget:,} simulations, seed {seed}, "
                  f"{n_workers} worker{'s' if n_workers != 1 else ''}", soft_wrap=True)
    repeat = ["flowsim", "calibrate", str(file)]
    if targets is not None:
        repeat += ["--targets", str(targets)]
    repeat += ["--budget", str(budget), "--population", str(population), "--method", method,
               *(["--kernel", kernel] if kernel != "beaumont" else []),
               *(["--distance", distance] if distance != "fixed" else []), "--seed", str(seed), "--generations", str(generations), "--predictive",
               str(predictive),
               *(["--final-moves", str(final_moves)] if final_moves is not None else [])]
    root = np.random.SeedSequence(seed)
    cal_seed, pred_seed = root.spawn(2)
    t_load = time.perf_counter() - t0
    started = time.perf_counter()

    def progress(g: Any) -> None:
        if quiet:
            return
        err.print(f"generation {g.generation:>2}: ε {g.epsilon:.4f}, acceptance "
                  f"{g.acceptance_rate:6.1%}, ESS {g.ess:6,.0f}, simulations "
                  f"{g.simulations:6,} (total {g.total_simulations:,} of {budget:,}), "
                  f"{g.wall_time:5.1f} s (elapsed {time.perf_counter() - started:,.0f} s)",
                  soft_wrap=True)

    pool = local_pool(n_workers) if n_workers > 1 else None
    try:
        t1 = time.perf_counter()
        post = abc_smc(scenario, population=population, budget=budget, method=method,  # type: ignore[arg-type]
                       seed=cal_seed, workers=n_workers, pool=pool, alpha=ALPHA,
                       generations_max=generations, mcmc_steps_max=MCMC_STEPS,
                       final_moves=final_moves, kernel=kernel, distance=distance,  # type: ignore[arg-type]
                       progress=progress)
        t_cal = time.perf_counter() - t1
        if not quiet:
            err.print(f"stopped: {post.attrs['stop_reason']}; {post.size:,} particles, "
                      f"ε {post.epsilon:.4f}, {post.generations[-1].total_simulations:,} "
                      f"simulations in {t_cal:,.0f} s", soft_wrap=True)
        _warn_convergence(post, err, quiet)  # warnings even with --quiet
        if not quiet:
            err.print(f"posterior predictive: {predictive:,} replicates", soft_wrap=True)
        t2 = time.perf_counter()
        from flowsim.calibration.distance import record_for

        record = tuple(dict.fromkeys((*record_for(scenario.targets),
                                      *record_for(scenario.validation), "departures", "stock")))
        results = predictive_results(scenario, post, predictive, pred_seed,
                                     workers=n_workers, record=record, pool=pool)
        norm = post.attrs.get("norm", "rms")
        table = predictive_table(results, scenario.targets, 0.9, norm)
        validation = predictive_table(results, scenario.validation, 0.9, norm) \
            if scenario.validation else None
        t_pred = time.perf_counter() - t2
    except KeyboardInterrupt as e:
        stop_interrupted(out_dir, e)
    except WorkerLost as e:
        fault("calibrate", out_dir, e, "stopped")
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
    if not quiet:
        _print_targets(table)
        if validation is not None:
            _print_targets(validation, "Validation (not calibrated on)")
    run_info = {
        "workers": n_workers,
        "seed": {"given": seed, "calibration": "first child of the seed",
                 "predictive": "second child of the seed"},
        "scenario": {"file": str(file), "name": scenario.name},
        "targets_file": str(targets) if targets is not None else None,
        "settings": {"budget": budget, "population": population, "method": method,
                     "kernel": kernel, "distance": distance,
                     "alpha": ALPHA, "generations_max": generations,
                     "mcmc_steps_max": MCMC_STEPS, "final_moves": final_moves,
                     "predictive_replicates": predictive},
        "command": {"argv": list(sys.argv), "repeat": shlex.join(repeat)},
        "timings": {"load_s": round(t_load, 3), "calibrate_s": round(t_cal, 3),
                    "predictive_s": round(t_pred, 3)},
    }
    try:
        with handle_faults("calibrate", out_dir):
            t3 = time.perf_counter()
            written = write_calibration(out_dir, post, scenario, results, table,
                                        run_info=run_info, figures=figures,
                                        validation=validation)
            t_write = time.perf_counter() - t3
    except KeyboardInterrupt as e:
        stop_interrupted(out_dir, e)
    if report:  # after the directory, from the posterior and predictive run in memory
        from flowsim.reports.html import calibration_report

        written = [*written, write_html(out_dir, calibration_report(
            post, scenario, results, table, run_info, validation))]
    console = out_console()
    if quiet:
        console.print(str(out_dir), soft_wrap=True)
        return
    err.print(f"wrote the outputs in {t_write:.1f} s; total {time.perf_counter() - t0:,.0f} s",
              soft_wrap=True)
    console.print(f"Wrote {out_dir}{'/' if not str(out_dir).endswith('/') else ''}: "
                  + ", ".join(p.name for p in written), soft_wrap=True)
    console.print(f"Repeat with: {shlex.join(repeat)}", soft_wrap=True)


def _warn_convergence(post: Any, err: Any, quiet: bool) -> None:
    """Say loudly on stderr when the calibration did not converge, and name every parameter
    whose posterior piles up at a prior bound (:mod:`flowsim.calibration.convergence`)."""
    if post.converged is False:
        err.print(f"warning: NOT CONVERGED: {post.attrs.get('convergence')}. The posterior "
                  "is written with converged: false; it is not the posterior the targets "
                  "define: raise --budget (or --generations) and calibrate again.",
                  style="bold red", soft_wrap=True, markup=False, highlight=False)
    elif post.converged and not quiet:
        err.print(f"converged: {post.attrs.get('convergence')}", soft_wrap=True,
                  markup=False, highlight=False)
    for w in post.prior_bound_warnings:
        err.print(f"warning: {w}", style="bold yellow", soft_wrap=True, markup=False,
                  highlight=False)
    if few := small_sample(post.ess, post.size):
        err.print(f"warning: {few}", style="bold yellow", soft_wrap=True, markup=False,
                  highlight=False)


def read_with_targets(file: Path, targets: Path | None) -> tuple[Any, list[Problem]]:
    """Read a scenario; with ``targets``, its targets replaced by those of that file.

    The targets file holds a list of targets or a mapping with a ``targets:`` list (and
    optionally ``validation:`` and ``error_model:``, see
    :mod:`flowsim.scenario.targets_file`), as a scenario's ``targets: FILE`` does; they are
    validated with the scenario (so that their countries, groups, cohorts and dates are
    checked), and problems point into the file. The file's validation set, if it has one,
    replaces the scenario's.

    Raises
    ------
    ScenarioError
    """
    from flowsim.scenario import read_scenario

    if targets is None:
        return read_scenario(file)
    # The loader's own steps (reading with `extends`, then validating), with the targets
    # swapped in between; the located values keep their file, line and column.
    from flowsim.scenario.loading import _MergeProblems, _read_merged, validate_data
    from flowsim.scenario.targets_file import targets_file_sections
    from flowsim.scenario.yamlio import YamlProblem, read_yaml

    try:
        data = _read_merged(Path(file), ())
    except YamlProblem as e:
        raise ScenarioError(e.problems) from None
    except _MergeProblems as e:
        raise ScenarioError(e.problems) from None
    try:
        included = read_yaml(Path(targets))
        sections = targets_file_sections(included) \
            if isinstance(included, dict) and "targets" in included else {}
    except YamlProblem as e:
        raise ScenarioError(e.problems) from None
    if isinstance(included, dict):
        if "targets" not in included:
            raise ScenarioError([Problem(
                "a targets file holds a list of targets, or a mapping with a `targets:` "
                f"list; this mapping has {', '.join(map(str, included)) or 'no keys'}",
                file=str(targets), line=1, column=1)])
        included = sections["targets"]
    if not isinstance(included, list) or not included:
        raise ScenarioError([Problem("a targets file holds a non-empty list of targets",
                                     file=str(targets), line=1, column=1)])
    data["targets"] = included
    if "validation" in sections:
        data["validation"] = sections["validation"]
        data.marks["validation"] = data.marks.get("targets", (1, 1))
    return validate_data(data)


def _check_calibratable(scenario: Any, file: Path, targets: Path | None) -> None:
    problems = []
    if not any(p.prior is not None for p in scenario.parameters.values()):
        problems.append(Problem("no parameter has a prior: nothing to calibrate (give "
                                "parameters a `prior:`)", "parameters", str(file)))
    if not scenario.targets:
        problems.append(Problem("no targets to calibrate to (give `targets:` or --targets)",
                                "targets", str(targets if targets is not None else file)))
    else:  # one distance for all the targets (error models and ranges do not mix)
        from flowsim.calibration.distance import TargetSet

        try:
            TargetSet.build(scenario.targets, scenario).check_combinable()
        except ValueError as e:
            problems.append(Problem(str(e), "targets",
                                    str(targets if targets is not None else file)))
    if problems:
        print_problems(problems)
        raise typer.Exit(EXIT_BAD_INPUT)


def _default_out(name: str) -> Path:
    """``results/calibrate-<scenario name>``."""
    run_dir = default_out_dir(name)
    return run_dir.parent / f"calibrate-{run_dir.name}"


def _print_targets(table: Any, title: str = "Targets") -> None:
    from rich import box
    from rich.table import Table

    from flowsim.reports.calibration import _accepted, _label, _num

    t = Table(title=f"{title}: posterior predictive, {int(table['met'].sum())} of "
              f"{len(table)} met", title_justify="left", title_style="bold",
              box=box.SIMPLE_HEAD, header_style="dim")
    for c in ("target", "figure", "accepted", "median", "90% interval", "met"):
        t.add_column(c, justify="right" if c in ("median", "90% interval") else "left",
                     overflow="fold")
    for r in table.to_dict("records"):
        name = _label(r)
        t.add_row(name, r["figure"], _accepted(r), _num(r["median"]),
                  f"{_num(r['lower'])} – {_num(r['upper'])}", "yes" if r["met"] else "NO")
    out_console().print(t)
