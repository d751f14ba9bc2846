"""``flowsim run FILE``: simulate a scenario, print the headline numbers, write the outputs.

The outputs go to ``--out DIR`` (default ``results/<scenario name>/`` under the current
directory), all or nothing (see :mod:`flowsim.output`): ``results.nc``, ``summary.csv``,
``scenario.yaml``, ``run.json``, ``fan_departures.png``, ``destinations.png``.

The seed defaults to :data:`DEFAULT_SEED`, so that running the same command twice gives the
same numbers; give another ``--seed`` for an independent run. The results are the same bit
for bit whatever ``--workers`` is; ``--block-size`` is part of a run's identity.

``--posterior FILE`` (from ``flowsim calibrate``) draws each replicate's parameters from a
calibrated posterior, matched by name (parameters it did not estimate keep the scenario's
values), so that the intervals hold the uncertainty about the parameters as well as the
randomness of who moves. The seed's second child draws the parameters and its first runs
the simulation (as in ``flowsim compare``).

A run whose results would not fit comfortably in memory (see
:func:`flowsim.ensemble.simulation.memory_limit`; ``--max-memory`` sets the limit) is
streamed to disk as with ``--stream``, and says so. The output directory is locked for the
whole run, and one that already holds files is refused unless ``--force`` is given.
"""

from __future__ import annotations

import re
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from flowsim.cli._common import (
    EXIT_INTERRUPTED,
    err_console,
    fmt_number,
    handle_faults,
    handle_input_errors,
    interrupt_status,
    option_error,
    out_console,
    output_directory,
    print_problems,
    read_posterior,
    signals_as_interrupts,
    stop_interrupted,
)
from flowsim.cli.options import (
    DEFAULT_REPLICATES,
    DEFAULT_SEED,
    DEFAULT_WORKERS,
    AllowRoots,
    Figures,
    Force,
    MaxSteps,
    Quiet,
    Workers,
    out_help,
    out_option,
    posterior_option,
    replicates_option,
    scenario_file,
    seed_option,
)
from flowsim.cli.report import ReportOption, write_html
from flowsim.core.engine import DEFAULT_RECORD, RECORDABLE
from flowsim.ensemble.blocks import DEFAULT_BLOCK_SIZE
from flowsim.errors import did_you_mean
from flowsim.scenario import read_scenario
from flowsim.scenario.calendar import step_edges

# DEFAULT_SEED, DEFAULT_REPLICATES (flowsim.cli.options) and EXIT_INTERRUPTED
# (flowsim.cli._common) are also imported from here, where they were first defined.
__all__ = ["DEFAULT_REPLICATES", "DEFAULT_SEED", "EXIT_INTERRUPTED", "default_out_dir", "run"]

#: How ``--posterior`` draws reach the replicates, as ``run.json`` says.
POSTERIOR_DRAWS = ("each replicate's parameters drawn from the posterior with the second child "
                   "of --seed; the simulation uses the first (as flowsim run documents)")


def default_out_dir(scenario_name: str) -> Path:
    """``results/<scenario name>``, the name made safe for a file system."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", scenario_name).strip("-.") or "run"
    return Path("results") / slug


def run(
    file: Annotated[Path, scenario_file()],
    replicates: Annotated[int, replicates_option()] = DEFAULT_REPLICATES,
    seed: Annotated[int, seed_option(
        "Root of all randomness: the same seed gives the same numbers bit for bit, whatever "
        "--workers is. Change it for an independent run.")] = DEFAULT_SEED,
    workers: Workers = DEFAULT_WORKERS,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", metavar="ADDRESS", help="Run the blocks on a Dask cluster "
        "(tcp://HOST:PORT) instead of local processes; needs flowsim\\[distributed]. Does "
        "not change the results.", show_default=False)] = None,
    out: Annotated[Path | None, out_option(out_help("results/<scenario name>"))] = None,
    block_size: Annotated[int, typer.Option(
        "--block-size", min=1, help="Replicates per block (memory per worker grows with it). "
        "Part of a run's identity: changing it changes the draws.")] = DEFAULT_BLOCK_SIZE,
    record: Annotated[list[str] | None, typer.Option(
        "--record", metavar="VAR", help="Variables to keep, repeated or comma-separated "
        f"(default: all but flow; 'all' for all). Choices: {', '.join(RECORDABLE)}.",
        show_default=False)] = None,
    posterior: Annotated[Path | None, posterior_option("by parameter name")] = None,
    stream: Annotated[bool, typer.Option(
        "--stream", help="For very large runs: keep only each replicate's headline numbers "
        "(and the --record variables, default none) and streamed quantiles of every "
        "series, written block by block; memory is bounded by the block size, not by -n. "
        "Same replicates as without it.")] = False,
    figures: Figures = True,
    quiet: Quiet = False,
    report: ReportOption = False,
    force: Force = False,
    max_memory: Annotated[str | None, typer.Option(
        "--max-memory", metavar="SIZE", help="The most memory the results may take before "
        "the run is streamed to disk by itself, as with --stream (e.g. 16G; default: a "
        "quarter of the machine's memory, or the environment variable FLOWSIM_MAX_MEMORY).",
        show_default=False)] = None,
    allow_root: AllowRoots = None,
    max_steps: MaxSteps = None,
) -> None:
    """Simulate a scenario: show the headline numbers and write results, summary and figures.

    Writes [bold]results.nc[/bold] (every variable, NetCDF; with --stream the headline
    numbers of each replicate and quantiles over replicates), [bold]summary.csv[/bold],
    [bold]scenario.yaml[/bold] (the resolved scenario), [bold]run.json[/bold] (seed,
    versions, timings) and the figures [bold]fan_departures.png[/bold] and
    [bold]destinations.png[/bold] to the output directory, all or nothing: after an error
    or Ctrl-C (or SIGTERM, SIGHUP) nothing is left half-written. Exit status: 0, 2 for bad
    input, 1 for a fault (full disk, unwritable output, workers that kept dying), 75 when
    another command is writing the output directory, 128 + the signal after an interrupt.
    """
    with signals_as_interrupts():
        try:
            _run(file, replicates, seed, workers, scheduler, out, block_size, record, posterior,
                 stream, figures, quiet, force, max_memory, allow_root or (), max_steps,
                 report)
        except KeyboardInterrupt as e:  # before the outputs were begun
            err_console().print("interrupted", soft_wrap=True)
            raise typer.Exit(interrupt_status(e)) from None


def _run(file: Path, replicates: int, seed: int, workers: int, scheduler: str | None,
         out: Path | None, block_size: int, record: list[str] | None, posterior: Path | None,
         stream: bool, figures: bool, quiet: bool, force: bool, max_memory: str | None,
         allow: Any, max_steps: int | None, report: bool) -> None:
    import flowsim

    t0 = time.perf_counter()
    err = err_console()
    with handle_input_errors():
        scenario, warnings = read_scenario(file, allow=allow, max_steps=max_steps)
    print_problems(warnings, err)
    variables = _record(record)
    out_dir = out if out is not None else default_out_dir(scenario.name)
    limit = _memory_limit(max_memory)
    with output_directory("run", out_dir, force):
        _simulate_and_write(flowsim, file, scenario, variables, out_dir, limit, t0, replicates,
                            seed, workers, scheduler, block_size, record, posterior, stream,
                            figures, quiet, report)


def _memory_limit(max_memory: str | None) -> tuple[int, str]:
    from flowsim.ensemble.simulation import memory_limit

    try:
        return memory_limit(max_memory)
    except ValueError as e:
        option_error("run", f"--max-memory: {e}" if max_memory is not None else str(e))


def _simulate_and_write(flowsim: Any, file: Path, scenario: Any, variables: tuple[str, ...],
                        out_dir: Path, limit: tuple[int, str], t0: float, replicates: int,
                        seed: int, workers: int, scheduler: str | None, block_size: int,
                        record: list[str] | None, posterior: Path | None, stream: bool,
                        figures: bool, quiet: bool, report: bool) -> None:
    from flowsim.core.compile import compile_scenario
    from flowsim.ensemble.simulation import format_bytes, results_bytes

    err = err_console()
    params, sim_seed, post_info = None, seed, None
    if posterior is not None:
        import numpy as np

        from flowsim.calibration import posterior_rows

        loaded = read_posterior(posterior, scenario)
        post, post_info = loaded.posterior, {**loaded.info(), "draws": POSTERIOR_DRAWS}
        sim_seed, draw_seed = np.random.SeedSequence(seed).spawn(2)
        # rows of the particles, not a (replicates x parameters) matrix: a streamed
        # million-replicate run then needs 8 MB of indices, not 568 MB of values
        params = posterior_rows(post, compile_scenario(scenario), replicates, draw_seed)
    t_load = time.perf_counter() - t0

    steps = len(step_edges(scenario.calendar)) - 1
    need = results_bytes(compile_scenario(scenario), replicates, variables)
    if not stream and need > limit[0]:
        stream = True
        err.print(f"the results would take {format_bytes(need)} in memory, more than the "
                  f"limit of {format_bytes(limit[0])} ({limit[1]}): streaming them to disk "
                  "instead, as --stream does (give --max-memory SIZE to keep them in memory)",
                  soft_wrap=True)
    if not quiet:
        err.print(f"{scenario.name}: {replicates:,} replicates × {steps} "
                  f"{scenario.calendar.step} steps, seed {seed}, block size {block_size}"
                  + (f", parameters from {posterior}" if posterior is not None else ""),
                  soft_wrap=True)
    repeat = ["flowsim", "run", str(file), "-n", str(replicates), "--seed", str(seed),
              "--block-size", str(block_size)]
    if record:
        repeat += ["--record", ",".join(variables)]
    if posterior is not None:
        repeat += ["--posterior", str(posterior)]
    if stream:
        repeat.append("--stream")
    partial: Path | None = None
    try:
        with handle_faults("run", out_dir):
            t1 = time.perf_counter()
            try:
                with _progress(err, replicates, quiet) as progress:
                    if stream:
                        partial = _stream_file(out_dir)
                        results = flowsim.stream(scenario, partial, replicates=replicates,
                                                 seed=sim_seed, workers=workers,
                                                 params=params,
                                                 keep=variables if record else (),
                                                 block_size=block_size, progress=progress,
                                                 scheduler=scheduler)
                    else:
                        results = flowsim.simulate(scenario, replicates=replicates,
                                                   seed=sim_seed, workers=workers,
                                                   record=variables, params=params,
                                                   block_size=block_size, progress=progress,
                                                   scheduler=scheduler,
                                                   max_memory=limit[0])
            except (ImportError, OSError) as e:
                if scheduler is None or not _from_dask(e):
                    raise
                option_error("run", f"--scheduler {scheduler}: {e}")
            t_sim = time.perf_counter() - t1
            if not quiet:
                rate = replicates / t_sim if t_sim > 0 else float("inf")
                err.print(f"simulated in {t_sim:.1f} s ({rate:,.0f} replicates/s)")
                _print_summary(results, out_console())
            from flowsim.reports.run import write_outputs

            run_info = {
                "workers": workers,
                "scheduler": scheduler,
                "seed": {"given": seed},
                **({"posterior": post_info} if post_info is not None else {}),
                "scenario": {"file": str(file)},
                "command": {"argv": list(sys.argv), "repeat": shlex.join(repeat)},
                "timings": {"load_s": round(t_load, 3), "simulate_s": round(t_sim, 3)},
            }
            written = write_outputs(results, out_dir, run_info=run_info, figures=figures)
    except KeyboardInterrupt as e:
        stop_interrupted(out_dir, e)
    finally:
        if partial is not None and partial.exists():  # a streamed file not moved in
            partial.unlink()
    for why in written.skipped:
        err.print(f"not written: {why}", soft_wrap=True)
    if report:  # after the directory; a streamed run's page is drawn from its file
        import dataclasses

        from flowsim.reports.html import run_report

        page = write_html(out_dir, None if stream else run_report(results, run_info))
        written = dataclasses.replace(written, files=(*written.files, page))
    console = out_console()
    if quiet:
        console.print(str(out_dir), soft_wrap=True)
        return
    console.print(f"Wrote {out_dir}{'/' if not str(out_dir).endswith('/') else ''}: "
                  + ", ".join(p.name for p in written.files), soft_wrap=True)
    console.print(f"Repeat with: {shlex.join(repeat)}", soft_wrap=True)


def _stream_file(out_dir: Path) -> Path:
    """Where a streamed run writes before its outputs are moved into ``out_dir``: a hidden
    file beside it (same file system), removed if the run fails."""
    import os
    import tempfile

    parent = out_dir.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out_dir.name}.stream-", suffix=".nc", dir=parent)
    os.close(fd)
    return Path(name)


def _from_dask(e: BaseException) -> bool:
    """Whether an error came from connecting to a Dask cluster (not from writing files)."""
    if isinstance(e, ImportError):
        return True
    tb = e.__traceback__
    while tb is not None:
        if "distributed" in tb.tb_frame.f_code.co_filename:
            return True
        tb = tb.tb_next
    return False


def _record(record: list[str] | None) -> tuple[str, ...]:
    """The variables to record, from ``--record`` values (repeated or comma-separated)."""
    if not record:
        return DEFAULT_RECORD
    names = [n.strip() for r in record for n in r.split(",") if n.strip()]
    if "all" in names:
        return tuple(RECORDABLE)
    unknown = [n for n in names if n not in RECORDABLE]
    if unknown:
        option_error("run", *(f"--record: unknown variable {n!r}"
                              f"{did_you_mean(n, RECORDABLE)}; choose from "
                              f"{', '.join(RECORDABLE)} or 'all'" for n in unknown))
    return tuple(dict.fromkeys(names))


class _progress:
    """A rich progress bar fed by ``simulate``'s ``progress(done, total)`` callback."""

    def __init__(self, console: Console, replicates: int, quiet: bool) -> None:
        self.replicates = replicates
        self.bar = None if quiet or not console.is_terminal else Progress(
            TextColumn("simulating"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[reps]}"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=console, transient=True)
        self.task: Any = None

    def __enter__(self) -> Any:
        if self.bar is None:
            return None
        self.bar.start()
        self.task = self.bar.add_task("simulate", total=None,
                                      reps=f"0 of {self.replicates:,} replicates")
        return self.update

    def update(self, done: int, total: int) -> None:
        reps = round(done / total * self.replicates) if total else 0
        self.bar.update(self.task, completed=done, total=total,  # type: ignore[union-attr]
                        reps=f"{reps:,} of {self.replicates:,} replicates")

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _in_words(quantity: Any, place: Any, name: Any) -> str:
    """``quantity`` with its trailing place id replaced by the place's name."""
    q, p, n = str(quantity), str(place or ""), str(name or "")
    if p and n and p != "nan" and n != "nan" and q.endswith(" " + p):
        return q[: -len(p)] + n
    return q


def _print_summary(results: Any, console: Console) -> None:
    """The headline numbers (:meth:`Results.summary`) as a table."""
    import pandas as pd

    df = results.summary()
    if df.empty:
        console.print("No headline numbers: the variables they need were not recorded.")
        return
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and c != "mean"]
    # the quantity names its place by id ("stock in ARM"); the table says it in words
    # ("stock in Armenia") rather than in two more columns that fold a narrow terminal
    if {"place", "place_name"} <= set(df.columns):
        df = df.assign(quantity=[_in_words(q, p, n) for q, p, n in
                                 zip(df["quantity"], df["place"], df["place_name"],
                                     strict=True)])
    labels = [c for c in df.columns if c not in numeric
              and c not in ("mean", "place", "place_name")]
    mid = "median" if "median" in numeric else numeric[len(numeric) // 2]
    lo, hi = numeric[0], numeric[-1]
    table = Table(title=f"Headline numbers: median and 90% interval over "
                  f"{results.replicates:,} replicates", title_justify="left",
                  title_style="bold", box=box.SIMPLE_HEAD, header_style="dim")
    for c in labels:
        table.add_column(str(c).replace("_", " "), overflow="fold")
    table.add_column("median", justify="right", no_wrap=True)
    table.add_column("90% interval", justify="right", no_wrap=True)
    for _, row in df.iterrows():
        share = str(row[labels[0]]).startswith("share")
        fmt = (lambda x: f"{x:.1%}") if share else (lambda x: fmt_number(round(float(x))))
        table.add_row(*(str(row[c]) for c in labels), fmt(row[mid]),
                      f"{fmt(row[lo])} – {fmt(row[hi])}")
    console.print(table)
