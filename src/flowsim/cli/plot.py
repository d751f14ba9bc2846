"""``flowsim plot RESULTS``: draw the figures of saved results again.

``RESULTS`` is a run directory written by ``flowsim run`` (it reads ``results.nc`` and the
scenario saved with it) or a NetCDF file written by :meth:`flowsim.Results.save`. The
figures go to ``--out DIR`` (default: the directory the results are in), all or nothing.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from flowsim.cli._common import (
    EXIT_BAD_INPUT,
    err_console,
    handle_input_errors,
    out_console,
    print_problems,
)
from flowsim.cli.options import out_option
from flowsim.errors import Problem

__all__ = ["plot"]


class Format(str, Enum):
    """Figure file formats."""

    png = "png"
    pdf = "pdf"
    svg = "svg"


def plot(
    results_path: Annotated[Path, typer.Argument(
        metavar="RESULTS", help="A run directory (from flowsim run) or a results .nc file.",
        show_default=False)],
    out: Annotated[Path | None, out_option(
        "Directory for the figures (default: where the results are).")] = None,
    fmt: Annotated[Format, typer.Option(
        "--format", "-f", help="File format (pdf and svg are vector graphics, for print).")
    ] = Format.png,
    dpi: Annotated[int, typer.Option("--dpi", min=30, max=1200,
                                     help="Resolution of PNG figures.")] = 200,
) -> None:
    """Draw the figures of saved results: fan_departures and destinations.

    Uses the scenario saved with the results for targets and country groups.
    """
    from flowsim.reports.run import write_figures
    from flowsim.results.opening import open_results

    err = err_console()
    with handle_input_errors():
        try:
            results = open_results(results_path)
        except FileNotFoundError:
            raise
        except (OSError, ValueError) as e:
            file = results_path / "results.nc" if results_path.is_dir() else results_path
            print_problems([Problem(f"is not a flowsim results file (NetCDF): {e}",
                                    file=str(file))], err)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        out_dir = out if out is not None else (
            results_path if results_path.is_dir() else results_path.parent)
        written = write_figures(results, out_dir, fmt=fmt.value, dpi=dpi)
    for why in written.skipped:
        err.print(f"not drawn: {why}", soft_wrap=True)
    if not written.files:
        raise typer.Exit(1)
    out_console().print(f"Wrote {out_dir}: " + ", ".join(p.name for p in written.files),
                        soft_wrap=True)
