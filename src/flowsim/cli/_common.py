"""What every command shares: consoles, number formats, and turning bad input into exit 2.

(The options several commands take are declared once, in :mod:`flowsim.cli.options`.)

Bad input is the user's to fix, so it never shows a traceback: a
:class:`~flowsim.ScenarioError` (and an unreadable file or broken YAML met outside the
scenario loader) becomes its problem lines on stderr and exit status :data:`EXIT_BAD_INPUT`.
Anything else that goes wrong is a bug in flowsim and is allowed to show its traceback.

A command uses :func:`handle_input_errors` as a context manager around its work::

    def run(file: Path, ...) -> None:
        with handle_input_errors():
            scenario = flowsim.load_scenario(file)
            ...

or as a decorator (``@handle_input_errors()`` under the command's signature).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import typer
import yaml
from rich.console import Console

from flowsim.errors import Problem, ScenarioError
from flowsim.scenario.yamlio import YamlProblem

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INTERRUPTED",
    "check_out_dir",
    "err_console",
    "fmt_number",
    "handle_input_errors",
    "option_error",
    "out_console",
    "print_problems",
    "read_posterior",
]

#: exit status for input the user must fix (click uses 2 for usage errors too)
EXIT_BAD_INPUT = 2
#: exit status after Ctrl-C (128 + SIGINT), as shells report it
EXIT_INTERRUPTED = 130


def out_console() -> Console:
    """A console on stdout that prints user text literally (no markup, emoji or highlights).

    Made per call, so that it writes to the ``sys.stdout`` of the moment (tests swap it).
    Rich drops colour by itself when stdout is not a terminal.
    """
    return Console(markup=False, emoji=False, highlight=False)


def err_console() -> Console:
    """Like :func:`out_console`, on stderr."""
    return Console(stderr=True, markup=False, emoji=False, highlight=False)


def print_problems(problems: Iterable[Problem], console: Console | None = None) -> None:
    """Print each problem on one line of its own (``file:line:column: path: message``)."""
    console = console or err_console()
    for p in problems:
        console.print(str(p), soft_wrap=True)


@contextlib.contextmanager
def handle_input_errors() -> Iterator[None]:
    """Turn errors in the user's input into problem lines on stderr and exit status 2."""
    try:
        yield
    except ScenarioError as e:
        print_problems(e.problems)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except YamlProblem as e:
        print_problems([e.problem])
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        name = getattr(mark, "name", None)
        problem = Problem(f"is not valid YAML: {getattr(e, 'problem', None) or e}",
                          file=name if name and not name.startswith("<") else None,
                          line=mark.line + 1 if mark else None,
                          column=mark.column + 1 if mark else None)
        print_problems([problem])
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except OSError as e:
        what = e.strerror or str(e)
        print_problems([Problem(what[:1].lower() + what[1:],
                                file=str(e.filename) if e.filename is not None else None)])
        raise typer.Exit(EXIT_BAD_INPUT) from None


def option_error(command: str, *lines: str) -> NoReturn:
    """Report a bad option value and exit with status :data:`EXIT_BAD_INPUT`.

    Parameters
    ----------
    command
        The command's name, for the prefix of each line (``flowsim run: ...``).
    *lines
        What is wrong, one line each, printed on stderr.

    Raises
    ------
    typer.Exit
        Always, with status 2.
    """
    err = err_console()
    for line in lines:
        err.print(f"flowsim {command}: {line}", soft_wrap=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def check_out_dir(out_dir: Path) -> None:
    """Exit with status 2 when ``--out`` names something that exists but is no directory.

    Checked before any work is done, so that a long run does not fail at its very end.

    Parameters
    ----------
    out_dir
        The output directory a command is about to write (it need not exist yet).

    Raises
    ------
    typer.Exit
        With status 2, after the problem line on stderr.
    """
    if out_dir.exists() and not out_dir.is_dir():
        print_problems([Problem("exists and is not a directory; give another --out",
                                file=str(out_dir))])
        raise typer.Exit(EXIT_BAD_INPUT)


def fmt_number(x: float) -> str:
    """A number for people: ``1,000,000``, ``0.35``, ``2.5e-05``."""
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int) or (math.isfinite(x) and float(x).is_integer() and abs(x) < 1e15):
        return f"{int(x):,}"
    return f"{x:,.6g}"


def read_posterior(path: Path, scenario: Any, label: str | None = None) -> Any:
    """``--posterior FILE`` read for a scenario (:func:`flowsim.calibration.load_posterior`).

    Exits with status 2 when the file is missing or not a posterior, or when the scenario
    declares none of its parameters; prints the warnings (another scenario's calibration,
    parameters not declared) on stderr.

    Returns
    -------
    LoadedPosterior
    """
    try:
        # through the package, not the submodule: an import of the submodule alone would
        # succeed from the module cache although the package itself is unavailable
        from flowsim.calibration import loading
    except ImportError as e:
        print_problems([Problem(f"--posterior: calibration not available in this "
                                f"installation of flowsim ({e})", file=str(path))])
        raise typer.Exit(EXIT_BAD_INPUT) from None
    with handle_input_errors():
        loaded = loading.load_posterior(path, scenario, label)
    err = err_console()
    for line in loaded.warnings:
        err.print(line, soft_wrap=True)
    return loaded
