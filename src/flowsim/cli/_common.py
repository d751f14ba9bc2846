"""What every command shares: consoles, number formats, and turning bad input into exit 2.

(The options several commands take are declared once, in :mod:`flowsim.cli.options`.)

Bad input is the user's to fix, so it never shows a traceback: a
:class:`~flowsim.ScenarioError` (and an unreadable file or broken YAML met outside the
scenario loader) becomes its problem lines on stderr and exit status :data:`EXIT_BAD_INPUT`.
Faults of the machine (a full disk, a read-only output, worker processes that keep dying)
are one line naming what failed and exit status :data:`EXIT_FAULT` (:func:`handle_faults`);
an output directory another command is writing is :data:`EXIT_BUSY`
(:func:`output_directory`). Ctrl-C, SIGTERM and SIGHUP stop a command the same way
(:func:`signals_as_interrupts`), with exit status 128 + the signal's number. Anything else
that goes wrong is a bug in flowsim and is allowed to show its traceback.

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
import signal
import threading
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
    "EXIT_BUSY",
    "EXIT_FAULT",
    "EXIT_INTERRUPTED",
    "Interrupted",
    "check_out_dir",
    "err_console",
    "fault",
    "fmt_number",
    "handle_faults",
    "handle_input_errors",
    "hold_output_directory",
    "interrupt_status",
    "option_error",
    "out_console",
    "output_directory",
    "print_problems",
    "read_posterior",
    "signals_as_interrupts",
    "stop_interrupted",
]

#: exit status for input the user must fix (click uses 2 for usage errors too)
EXIT_BAD_INPUT = 2
#: exit status after Ctrl-C (128 + SIGINT), as shells report it
EXIT_INTERRUPTED = 130
#: exit status after a fault of the machine: the disk is full, the output cannot be
#: written, worker processes died more often than the retry limit allows
EXIT_FAULT = 1
#: exit status when another flowsim command is writing the same output directory
#: (``EX_TEMPFAIL`` of sysexits.h: try again later)
EXIT_BUSY = 75

#: The signals that stop a command as Ctrl-C does (where the platform has them).
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


class Interrupted(KeyboardInterrupt):
    """A termination signal (SIGTERM, SIGHUP) turned into an interrupt, so that everything
    that cleans up after Ctrl-C (staging directories, worker processes) runs for it too."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def interrupt_status(e: BaseException) -> int:
    """The exit status after an interrupt: 128 + the signal's number (130 for Ctrl-C)."""
    return 128 + e.signum if isinstance(e, Interrupted) else EXIT_INTERRUPTED


def stop_interrupted(out_dir: Path, e: BaseException) -> NoReturn:
    """Say that an interrupted command wrote nothing to ``out_dir`` (its outputs are written
    all or nothing) and exit with :func:`interrupt_status`."""
    err_console().print(f"interrupted: nothing was written to {out_dir}", soft_wrap=True)
    raise typer.Exit(interrupt_status(e)) from None


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """While the block runs, SIGTERM and SIGHUP raise :class:`Interrupted` (main thread
    only; the previous handlers are put back after)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _: Any) -> None:
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


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
        print_problems(e.problems)
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


@contextlib.contextmanager
def output_directory(command: str, out_dir: Path, force: bool) -> Iterator[None]:
    """Hold ``out_dir`` for a command's whole run: checked, locked, and not overwritten.

    Exits at once, before any work, with status :data:`EXIT_BAD_INPUT` when ``out_dir``
    is not a directory or already holds files (unless ``force``), :data:`EXIT_BUSY` when
    another flowsim command is writing it, and :data:`EXIT_FAULT` when its lock cannot be
    made (a read-only file system, no permission). Staging files left beside it by a run
    that crashed are removed, and said so on stderr.

    Parameters
    ----------
    command
        The command's name, for messages.
    out_dir
        The output directory.
    force
        Whether ``--force`` was given: write into a directory that holds files.
    """
    from flowsim.results.files import OutputBusy, output_lock

    check_out_dir(out_dir)
    with contextlib.ExitStack() as held:
        try:
            removed = held.enter_context(output_lock(out_dir))
        except OutputBusy as e:
            print_problems([Problem(e.strerror or str(e), file=str(out_dir))])
            raise typer.Exit(EXIT_BUSY) from None
        except OSError as e:
            fault(command, out_dir, e, "cannot write there")
        err = err_console()
        for path in removed:
            err.print(f"removed {path}, left by an earlier run that stopped before it "
                      "finished", soft_wrap=True)
        if not force and out_dir.is_dir() and any(out_dir.iterdir()):
            print_problems([Problem("already holds files (of an earlier run?); give --force "
                                    "to replace those of the same names, or another --out",
                                    file=str(out_dir))])
            raise typer.Exit(EXIT_BAD_INPUT)
        yield


def hold_output_directory(command: str, out_dir: Path, force: bool) -> None:
    """:func:`output_directory` and :func:`signals_as_interrupts`, held until the command
    ends (its click context closes), for a command whose body is not one ``with`` block."""
    try:  # typer carries its own copy of click, whose context is the one in force
        from typer.main import get_current_context
    except ImportError:  # pragma: no cover - a typer that uses click itself
        from click import get_current_context

    ctx = get_current_context()
    ctx.with_resource(signals_as_interrupts())
    ctx.with_resource(output_directory(command, out_dir, force))


def check_environment() -> None:
    """Refuse a bad ``FLOWSIM_WORKERS`` before any command starts work: one line on stderr
    and exit status :data:`EXIT_BAD_INPUT`.

    Raises
    ------
    typer.Exit
        With status 2, when the variable is not a positive whole number.
    """
    from flowsim.ensemble.processes import resolve_workers

    try:
        resolve_workers(0)
    except ValueError as e:
        err_console().print(f"flowsim: {e}", soft_wrap=True, markup=False, highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def fault(command: str, out_dir: Path, e: BaseException, what: str) -> NoReturn:
    """Report a fault of the machine as one line naming ``out_dir``; exit :data:`EXIT_FAULT`.
    """
    reason = getattr(e, "strerror", None) or str(e) or type(e).__name__
    print_problems([Problem(f"flowsim {command}: {what}: {reason}; the directory is as it "
                            "was before (nothing of this run was written to it)",
                            file=str(out_dir))])
    raise typer.Exit(EXIT_FAULT) from None


@contextlib.contextmanager
def handle_faults(command: str, out_dir: Path) -> Iterator[None]:
    """Turn the machine's faults while simulating or writing into one line and status
    :data:`EXIT_FAULT`: a full disk or a read-only output (``OSError``, and the
    ``RuntimeError`` NetCDF raises for it), worker processes that kept dying
    (:class:`~flowsim.ensemble.workers.WorkerLost`), and running out of memory.

    The outputs are written all or nothing, so the message can say that ``out_dir`` is as
    it was.
    """
    from flowsim.ensemble.workers import WorkerLost

    try:
        yield
    except WorkerLost as e:
        fault(command, out_dir, e, "stopped")
    except MemoryError as e:
        fault(command, out_dir, e, "ran out of memory (try --stream, fewer --workers or a "
                                    "smaller --block-size)")
    except OSError as e:  # a full disk, no permission, a read-only file system...
        fault(command, out_dir, e, "cannot write the outputs")
    except RuntimeError as e:
        # netCDF4 reports a failed write (a full disk, most often) as "NetCDF: HDF error"
        if str(e).startswith(("NetCDF:", "HDF")):
            fault(command, out_dir, e, "cannot write the outputs (full disk?)")
        raise


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
