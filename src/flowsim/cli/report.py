"""``flowsim report DIR``: one self-contained HTML page of a run, comparison or calibration.

The page (``report.html`` in the directory, or ``--out FILE``) holds the figures as SVG,
the tables, the scenario's summary and the provenance, and loads nothing from anywhere:
it reads offline and can be sent by mail (:mod:`flowsim.reports.html`).
"""

from __future__ import annotations

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
from flowsim.cli.options import DEFAULT_WORKERS, Workers
from flowsim.ensemble.processes import resolve_workers
from flowsim.errors import Problem

__all__ = ["report"]


def report(
    directory: Annotated[Path, typer.Argument(
        metavar="DIR", help="A directory written by flowsim run, compare or calibrate.",
        show_default=False)],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", metavar="FILE", help="The HTML file (default: DIR/report.html).",
        show_default=False)] = None,
    workers: Workers = DEFAULT_WORKERS,
) -> None:
    """Write one self-contained HTML report (figures, tables, scenario, provenance).

    For a calibration, the posterior-predictive run is simulated again for the fan chart
    (the same replicates, bit for bit, from the seed in run.json).
    """
    from flowsim.reports.directory import write_report

    with handle_input_errors():
        try:
            path = write_report(directory, out, workers=resolve_workers(workers))
        except FileNotFoundError:
            raise
        except (OSError, ValueError, KeyError) as e:
            print_problems([Problem(f"cannot be reported: {e}", file=str(directory))],
                           err_console())
            raise typer.Exit(EXIT_BAD_INPUT) from None
    out_console().print(f"Wrote {path}", soft_wrap=True)


#: ``--report``: run, compare and calibrate.
ReportOption = Annotated[bool, typer.Option(
    "--report", help="Also write report.html: one self-contained page with the figures, "
    "the tables, the scenario and the provenance (readable offline).")]


def write_html(out_dir: Path, html: str | None) -> Path:
    """Write a report built in memory (or, with ``None``, from the directory) as
    ``out_dir/report.html``, all or nothing; bad outputs exit 2 with a sentence."""
    from flowsim.reports.directory import write_report
    from flowsim.reports.html import REPORT_FILE
    from flowsim.results.files import atomic_file

    target = out_dir / REPORT_FILE
    with handle_input_errors():
        if html is None:
            return write_report(out_dir)
        with atomic_file(target) as tmp:
            tmp.write_text(html, encoding="utf-8")
    return target
