"""The ``flowsim`` command line: a thin layer over the library.

Each command lives in a module of its own (``validate.py``, later ``run.py``, ``plot.py``,
``calibrate.py``) as a plain function with typed options, and is registered below with one
line. Commands wrap their work in :func:`flowsim.cli._common.handle_input_errors`, so that
bad input ends with its problem lines on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

from typing import Annotated

import typer

from flowsim._version import __version__
from flowsim.cli import (
    calibrate,
    compare,
    diff,
    plot,
    report,
    run,
    schema,
    sensitivity,
    validate,
)
from flowsim.cli._common import check_environment

__all__ = ["app", "main"]

app = typer.Typer(
    name="flowsim",
    help="Stochastic simulation of migration flows under visa and asylum policies.",
    rich_markup_mode="rich",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"flowsim {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="Print flowsim's version and exit.")] = False,
) -> None:
    """Stochastic simulation of migration flows under visa and asylum policies.

    Describe countries, routes, cohorts and policies in a scenario file (YAML), check it with
    [bold]flowsim validate[/bold], and simulate it.
    """
    check_environment()


# -- commands: one module each (the module keeps its name here), registered with one line ---
app.command(name="validate")(validate.validate)
app.command(name="run")(run.run)
app.command(name="plot")(plot.plot)
app.command(name="report")(report.report)
app.command(name="diff")(diff.diff)
app.command(name="schema")(schema.schema)
app.command(name="compare")(compare.compare)
app.command(name="calibrate")(calibrate.calibrate)
app.command(name="sensitivity")(sensitivity.sensitivity)


def main() -> None:
    """Entry point of the ``flowsim`` script."""
    app(prog_name="flowsim")
