"""``flowsim compare BASELINE COUNTERFACTUAL...``: paired effects of policy counterfactuals.

Every scenario runs on the same parameter draws and the same keyed random numbers (common
random numbers, :func:`flowsim.compare`), so each replicate's difference
``counterfactual - baseline`` is the effect of the policies alone. The effects are printed as
one table per counterfactual and written to ``--out DIR`` (default
``results/compare-<baseline name>/``), all or nothing: ``effects.csv``, ``comparison.nc``,
``run.json`` and the figures (:mod:`flowsim.reports.comparison` lists them).

``--posterior FILE`` draws each replicate's parameters from a calibration's posterior
(:class:`flowsim.calibration.Posterior`), the same draws for every scenario; without it every
replicate takes the declared values, and the intervals show only the randomness of who moves.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from flowsim.cli._common import (
    EXIT_BAD_INPUT,
    err_console,
    fault,
    fmt_number,
    handle_faults,
    handle_input_errors,
    hold_output_directory,
    option_error,
    out_console,
    print_problems,
    read_posterior,
    stop_interrupted,
)
from flowsim.cli.options import (
    DEFAULT_REPLICATES,
    DEFAULT_SEED,
    DEFAULT_WORKERS,
    Figures,
    Force,
    Quiet,
    Workers,
    out_help,
    out_option,
    posterior_option,
    replicates_option,
    seed_option,
)
from flowsim.cli.report import ReportOption, write_html
from flowsim.cli.run import default_out_dir
from flowsim.ensemble.simulation import ResultsTooLarge
from flowsim.ensemble.workers import WorkerLost
from flowsim.errors import Problem

__all__ = ["DEFAULT_REPLICATES", "compare", "print_effects", "write_comparison"]


def compare(
    baseline: Annotated[Path, typer.Argument(
        metavar="BASELINE", help="The baseline scenario file (YAML).", show_default=False)],
    counterfactuals: Annotated[list[Path], typer.Argument(
        metavar="COUNTERFACTUAL...", help="Counterfactual scenario files, usually overlays "
        "of the baseline (extends:).", show_default=False)],
    posterior: Annotated[Path | None, posterior_option(
        "the same draws for every scenario")] = None,
    replicates: Annotated[int, replicates_option("Replicates per scenario.")] = DEFAULT_REPLICATES,
    seed: Annotated[int, seed_option(
        "Root of all randomness, shared by every scenario: the same seed gives the same "
        "numbers bit for bit, whatever --workers is.")] = DEFAULT_SEED,
    workers: Workers = DEFAULT_WORKERS,
    out: Annotated[Path | None, out_option(out_help("results/compare-<baseline name>"))] = None,
    by: Annotated[list[str] | None, typer.Option(
        "--by", metavar="country|cohort", help="Also report effects by country (the stock in "
        "each) or by cohort (departures and returns of each); repeat for both.",
        show_default=False)] = None,
    figures: Figures = True,
    quiet: Quiet = False,
    report: ReportOption = False,
    force: Force = False,
) -> None:
    """Compare counterfactual policies with a baseline: paired effects with intervals.

    Runs every scenario on the same parameter draws and the same random numbers, so that
    each replicate's difference [bold]counterfactual − baseline[/bold] is the effect of the
    policies alone. Prints the effects (median and 90% interval of the paired difference, and
    the ratio) and writes [bold]effects.csv[/bold], [bold]comparison.nc[/bold],
    [bold]run.json[/bold] and the figures [bold]paired_differences.png[/bold] and
    [bold]where_people_ended.png[/bold], all or nothing.
    """
    from flowsim.comparison.effects import compare as run_compare
    from flowsim.scenario import read_scenario

    t0 = time.perf_counter()
    err = err_console()
    unknown = sorted(set(by or ()) - {"country", "cohort"})
    if unknown:
        _fail(Problem(f"--by takes country or cohort, not {', '.join(map(repr, unknown))}"))
    files = [baseline, *counterfactuals]
    scenarios, problems, warnings = [], [], []
    for f in files:
        try:
            with handle_input_errors():
                s, found = read_scenario(f)
        except typer.Exit:  # its problems are printed; go on to report the other files too
            problems.append(f)
            continue
        scenarios.append(s)
        warnings += found
    print_problems(warnings, err)
    if problems:
        raise typer.Exit(EXIT_BAD_INPUT)
    names = _names(files, scenarios)
    _check_comparable(files, scenarios)
    post, post_info = _load_posterior(posterior, scenarios, names) if posterior is not None \
        else (None, None)
    out_dir = out if out is not None else default_out_dir(f"compare-{scenarios[0].name}")
    hold_output_directory("compare", out_dir, force)
    t_load = time.perf_counter() - t0

    base, cfs = scenarios[0], dict(zip(names[1:], scenarios[1:], strict=True))
    if not quiet:
        err.print(f"{names[0]} vs {', '.join(names[1:])}: {replicates:,} replicates each, "
                  f"seed {seed}, coupled sampling"
                  + (f", parameters from {posterior}" if posterior is not None else
                     ", declared parameter values"), soft_wrap=True)
    repeat = ["flowsim", "compare", *map(str, files), "-n", str(replicates), "--seed",
              str(seed)]
    if posterior is not None:
        repeat += ["--posterior", str(posterior)]
    try:
        t1 = time.perf_counter()
        with _progress(err, names, quiet) as progress:
            comparison = run_compare(base, cfs, replicates=replicates, seed=seed,
                                     posterior=post, workers=workers, progress=progress,
                                     by=tuple(by or ()))
        t_sim = time.perf_counter() - t1
        if not quiet:
            err.print(f"simulated {len(names)} scenarios in {t_sim:.1f} s", soft_wrap=True)
            print_effects(comparison, out_console())
            if post is None:
                out_console().print("Parameters at their declared values: the intervals show "
                                    "the randomness of who moves, not the uncertainty about "
                                    "the parameters (give --posterior for that).\n",
                                    soft_wrap=True)
        run_info = {
            "seed": {"given": seed},
            "replicates": replicates,
            "workers": workers,
            "sampling": "coupled",
            "baseline": _scenario_info(files[0], scenarios[0], names[0]),
            "counterfactuals": [_scenario_info(f, s, n) for f, s, n in
                                zip(files[1:], scenarios[1:], names[1:], strict=True)],
            "posterior": post_info,
            "command": {"argv": list(sys.argv), "repeat": shlex.join(repeat)},
            "timings": {"load_s": round(t_load, 3), "simulate_s": round(t_sim, 3)},
        }
        with handle_faults("compare", out_dir):
            written = write_comparison(comparison, out_dir, run_info=run_info,
                                       figures=figures)
    except KeyboardInterrupt as e:
        stop_interrupted(out_dir, e)
    except WorkerLost as e:
        fault("compare", out_dir, e, "stopped")
    except ResultsTooLarge as e:
        option_error("compare", str(e))
    if report:  # after the directory, from the comparison in memory
        from flowsim.reports.html import comparison_report

        written = [*written, write_html(out_dir, comparison_report(comparison, run_info))]
    console = out_console()
    if quiet:
        console.print(str(out_dir), soft_wrap=True)
        return
    console.print(f"Wrote {out_dir}{'/' if not str(out_dir).endswith('/') else ''}: "
                  + ", ".join(p.name for p in written), soft_wrap=True)
    console.print(f"Repeat with: {shlex.join(repeat)}", soft_wrap=True)


# --------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------


def _fail(*problems: Problem) -> None:
    print_problems(problems)
    raise typer.Exit(EXIT_BAD_INPUT)


def _names(files: list[Path], scenarios: list[Any]) -> list[str]:
    """Each scenario's name in the comparison: its ``name``, except that a counterfactual
    whose name the baseline or another counterfactual also has is called after its file (an
    overlay without ``name:`` inherits its parent's)."""
    names = [s.name for s in scenarios]
    out = names[:1] + [n if n != names[0] and names[1:].count(n) == 1 else f.stem
                       for n, f in zip(names[1:], files[1:], strict=True)]
    for i, n in enumerate(out):
        if out.count(n) > 1:
            _fail(Problem(f"two scenarios would both be called {n!r} in the comparison; give "
                          "each counterfactual a `name:` of its own", file=str(files[i])))
    return out


def _check_comparable(files: list[Path], scenarios: list[Any]) -> None:
    """Paired effects need the same horizon, origin and cohorts in every scenario."""
    base = scenarios[0]
    found = []
    for f, s in zip(files[1:], scenarios[1:], strict=True):
        for what, a, b in (("calendar", base.calendar, s.calendar),
                           ("origin", base.origin.id, s.origin.id),
                           ("cohorts", [k.name for k in base.cohorts],
                            [k.name for k in s.cohorts])):
            if a != b:
                found.append(Problem(f"cannot be compared with the baseline {files[0]}: its "
                                     f"{what} differs; a counterfactual changes policies, "
                                     "routes or parameters, on the baseline's horizon, origin "
                                     "and cohorts", file=str(f)))
                break
    if found:
        _fail(*found)


def _load_posterior(path: Path, scenarios: list[Any], names: list[str]
                    ) -> tuple[Any, dict[str, Any]]:
    """The calibrated posterior in ``path``, checked against the scenarios."""
    loaded = read_posterior(path, scenarios[0], label=f"the baseline {names[0]!r}")
    base, err = scenarios[0], err_console()
    # a counterfactual that gives a calibrated parameter another value is overridden by the
    # draws: say so rather than compare something other than what its file says
    for s, n in zip(scenarios[1:], names[1:], strict=True):
        changed = [p for p in loaded.used if p in s.parameters
                   and s.parameters[p].value != base.parameters[p].value]
        if changed:
            err.print(f"{n}: warning: changes the value of the calibrated parameter"
                      f"{'s' if len(changed) > 1 else ''} {', '.join(changed)}, which the "
                      "posterior's draws override; change policies instead", soft_wrap=True)
    return loaded.posterior, loaded.info()


def _scenario_info(file: Path, scenario: Any, name: str) -> dict[str, Any]:
    from flowsim.core.compile import scenario_hash

    return {"name": name, "file": str(file), "hash": scenario_hash(scenario),
            "description": scenario.description}


# --------------------------------------------------------------------------------------------
# progress and the printed table
# --------------------------------------------------------------------------------------------


class _progress:
    """A rich progress bar fed by ``compare``'s ``progress(name, done, total)`` callback."""

    def __init__(self, console: Console, names: list[str], quiet: bool) -> None:
        self.names = names
        self.bar = None if quiet or not console.is_terminal else Progress(
            TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
            TimeElapsedColumn(), console=console, transient=True)
        self.task: Any = None
        self.done: dict[str, float] = {}

    def __enter__(self) -> Any:
        if self.bar is None:
            return None
        self.bar.start()
        self.task = self.bar.add_task(f"simulating {self.names[0]}", total=len(self.names))
        return self.update

    def update(self, name: str, done: int, total: int) -> None:
        self.done[name] = done / total if total else 1.0
        i = self.names.index(name) + 1 if name in self.names else len(self.done)
        self.bar.update(self.task, completed=sum(self.done.values()),  # type: ignore[union-attr]
                        description=f"simulating {name} ({i} of {len(self.names)})")

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _signed(x: float) -> str:
    return "0" if round(x) == 0 else f"{round(x):+,}"


def print_effects(comparison: Any, console: Console) -> None:
    """The effects as one table per counterfactual."""
    df = comparison.effects()
    n = comparison.values.sizes["replicate"]
    lo, hi = comparison.quantiles
    for cf, rows in df.groupby("counterfactual", sort=False):
        table = Table(title=f"{cf} vs {comparison.baseline}: paired difference, median and "
                      f"{hi - lo:.0%} interval over {n:,} replicates", title_justify="left",
                      title_style="bold", box=box.SIMPLE_HEAD, header_style="dim")
        table.add_column("outcome", overflow="fold")
        table.add_column("baseline", justify="right", no_wrap=True)
        table.add_column("counterfactual", justify="right", no_wrap=True)
        table.add_column("difference [interval]", justify="right", no_wrap=True)
        table.add_column("ratio", justify="right", no_wrap=True)
        for _, r in rows.iterrows():
            ratio = "–" if not np.isfinite(r["ratio"]) else f"{r['ratio']:.3f}"
            table.add_row(str(r["outcome"]), fmt_number(round(r["baseline"])),
                          fmt_number(round(r["counterfactual_median"])),
                          f"{_signed(r['difference'])} [{_signed(r['difference_low'])}, "
                          f"{_signed(r['difference_high'])}]", ratio)
        console.print(table)


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------


def write_comparison(comparison: Any, out_dir: str | Path, *,
                     run_info: dict[str, Any] | None = None, figures: bool = True,
                     dpi: int = 200) -> list[Path]:
    """Write a comparison's files (:func:`flowsim.reports.comparison.write_comparison`) and
    say on stderr which figures were not drawn; returns the files written, ``run.json`` last."""
    from flowsim.reports.comparison import write_comparison as write

    written = write(comparison, out_dir, run_info=run_info, figures=figures, dpi=dpi)
    for why in written.skipped:
        err_console().print(f"not drawn: {why}", soft_wrap=True)
    return list(written.files)
