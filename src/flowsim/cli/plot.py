"""``flowsim plot DIR``: draw the figures of saved outputs again, as PNG, PDF or SVG.

``DIR`` is a directory written by ``flowsim run`` (its ``results.nc``, or any NetCDF file
written by :meth:`flowsim.Results.save`), ``flowsim compare`` (``comparison.nc``) or
``flowsim calibrate`` (``posterior.nc``, ``report.csv`` and ``run.json``). By default the
figures the directory holds are drawn again; ``--all`` adds the figures for a paper
(:data:`flowsim.reports.run.PAPER_FIGURES`, :data:`flowsim.reports.comparison.PAPER_FIGURES`).
The figures go to ``--out DIR`` (default: the directory itself), all or nothing.
"""

from __future__ import annotations

import errno
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from flowsim.cli._common import (
    EXIT_BAD_INPUT,
    err_console,
    handle_input_errors,
    out_console,
    print_problems,
)
from flowsim.cli.options import DEFAULT_WORKERS, Workers, out_option
from flowsim.ensemble.processes import resolve_workers
from flowsim.errors import Problem

__all__ = ["plot"]


class Format(str, Enum):
    """Figure file formats."""

    png = "png"
    pdf = "pdf"
    svg = "svg"


def plot(
    results_path: Annotated[Path, typer.Argument(
        metavar="DIR", help="A directory written by flowsim run, compare or calibrate, or "
        "its results.nc, comparison.nc or posterior.nc.", show_default=False)],
    out: Annotated[Path | None, out_option(
        "Directory for the figures (default: where the results are).")] = None,
    fmt: Annotated[Format, typer.Option(
        "--format", "-f", help="File format (pdf and svg are vector graphics, for print).")
    ] = Format.png,
    dpi: Annotated[int, typer.Option("--dpi", min=30, max=1200,
                                     help="Resolution of PNG figures.")] = 200,
    every: Annotated[bool, typer.Option(
        "--all", help="Draw the figures for a paper too: for a run, stocks over time, flows "
        "per step, where people are at dates, the routes taken (with flow recorded) and the "
        "route graph; for a comparison, effects over time, by place and by cohort.")
    ] = False,
    workers: Workers = DEFAULT_WORKERS,
) -> None:
    """Draw the figures of saved outputs again: a run's, a comparison's, a calibration's or a
    sensitivity analysis's.

    Uses the scenario saved with them for targets, groups and labels. A calibration's fan
    chart needs its posterior-predictive run, which is simulated again (the same
    replicates, bit for bit, from the seed in run.json).
    """
    from flowsim.reports.run import save_figures, write_figures

    err = err_console()
    which = "all" if every else "default"
    with handle_input_errors():
        kind = _kind(results_path)
        out_dir = out if out is not None else (
            results_path if results_path.is_dir() else results_path.parent)
        if kind == "run":
            results = _open(results_path, _open_results, "flowsim results file (NetCDF)")
            written = write_figures(results, out_dir, fmt=fmt.value, dpi=dpi, which=which)
        elif kind == "compare":
            from flowsim.reports.comparison import draw_comparison_figures, open_comparison

            comparison = _open(results_path, open_comparison, "flowsim comparison file")
            figures, skipped = draw_comparison_figures(comparison, which)
            written = save_figures(figures, out_dir, fmt=fmt.value, dpi=dpi,
                                   description=f"flowsim comparison against "
                                   f"{comparison.baseline}", skipped=tuple(skipped))
        elif kind == "sensitivity":
            from flowsim.plots.sensitivity import sensitivity_figure
            from flowsim.reports.sensitivity import read_sensitivity

            directory = results_path if results_path.is_dir() else results_path.parent
            result = _open(directory, read_sensitivity, "flowsim sensitivity directory")
            written = save_figures({"sensitivity": sensitivity_figure(result)}, out_dir,
                                   fmt=fmt.value, dpi=dpi, description="flowsim sensitivity "
                                   f"of {result.scenario_name}")
        else:
            from flowsim.reports.calibration import draw_calibration_figures, open_calibration

            directory = results_path if results_path.is_dir() else results_path.parent
            saved = _open(directory, open_calibration, "flowsim posterior file")
            figures, skipped = draw_calibration_figures(saved, resolve_workers(workers))
            written = save_figures(figures, out_dir, fmt=fmt.value, dpi=dpi,
                                   description="flowsim calibration of "
                                   f"{saved.posterior.attrs.get('scenario_name')}",
                                   skipped=tuple(skipped))
    for why in written.skipped:
        err.print(f"not drawn: {why}", soft_wrap=True)
    if not written.files:
        raise typer.Exit(1)
    out_console().print(f"Wrote {out_dir}: " + ", ".join(p.name for p in written.files),
                        soft_wrap=True)


def _kind(path: Path) -> str:
    """What wrote ``path``; a file that is none of the three is read as results."""
    from flowsim.reports.directory import directory_kind

    if path.is_dir():
        return directory_kind(path)
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "no such file", str(path))
    return directory_kind(path)


def _open_results(path: Path) -> Any:
    from flowsim.results.opening import open_results

    return open_results(path)


def _open(path: Path, opener: Any, what: str) -> Any:
    """Open with ``opener``; a file that is not what it should be exits 2 with a sentence."""
    try:
        return opener(path)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError) as e:
        file = path / "results.nc" if path.is_dir() and what.endswith("(NetCDF)") else path
        print_problems([Problem(f"is not a {what}: {e}", file=str(file))], err_console())
        raise typer.Exit(EXIT_BAD_INPUT) from None
