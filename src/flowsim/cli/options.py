"""The options several commands share, each declared once.

A command takes an option by annotating a parameter with one of these; its default stays in
the command's signature (typer reads it from there)::

    def run(
        file: Annotated[Path, scenario_file()],
        seed: Annotated[int, seed_option("Root of all randomness: ...")] = DEFAULT_SEED,
        workers: Workers = DEFAULT_WORKERS,
        quiet: Quiet = False,
    ) -> None: ...

An option that means the same in every command is a ready-made type alias (:data:`Workers`,
:data:`Figures`, :data:`Quiet`). One whose help says something particular to the command (what
the seed reproduces, where the outputs go by default, how posterior draws are shared) is made
by a function that takes that text, so that the names, short flags, metavar and validation
stay the same everywhere while each command's help keeps saying what it does.

Which commands take which:

- ``FILE`` (argument), :func:`scenario_file`: run, calibrate
- ``-n`` / ``--replicates``, :func:`replicates_option`: run, compare
- ``--seed``, :func:`seed_option`: run, calibrate, compare
- ``--workers`` / ``-w``, :data:`Workers`: run, calibrate, compare
- ``--out`` / ``-o``, :func:`out_option`: run, calibrate, compare, plot
- ``--posterior FILE``, :func:`posterior_option`: run, compare
- ``--figures/--no-figures``, :data:`Figures`: run, calibrate, compare
- ``--quiet`` / ``-q``, :data:`Quiet`: run, calibrate, compare
- ``--force``, :data:`Force`: run, calibrate, compare
- ``--allow-root DIR``, :data:`AllowRoots`: run, validate
- ``--max-steps N``, :data:`MaxSteps`: run, validate

Options only one command takes (``--block-size``, ``--record``, ``--scheduler`` and
``--stream`` of ``run``; ``--format`` and ``--dpi`` of ``plot``; calibrate's settings) are
declared in that command's module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer.models import ArgumentInfo, OptionInfo

__all__ = [
    "DEFAULT_REPLICATES",
    "DEFAULT_SEED",
    "DEFAULT_WORKERS",
    "AllowRoots",
    "Figures",
    "Force",
    "MaxSteps",
    "Quiet",
    "Workers",
    "out_help",
    "out_option",
    "posterior_option",
    "replicates_option",
    "scenario_file",
    "seed_option",
]

#: ``--seed`` when none is given: runs are reproducible unless asked otherwise
DEFAULT_SEED = 1
#: ``-n`` / ``--replicates`` when none is given
DEFAULT_REPLICATES = 1000
#: ``--workers`` when none is given: one worker process per CPU
DEFAULT_WORKERS = 0


# -- the same in every command: type aliases --------------------------------------------------

#: ``--workers`` / ``-w``: worker processes, 0 for one per CPU (never changes the results).
Workers = Annotated[int, typer.Option(
    "--workers", "-w", help="Worker processes (0: one per CPU). Does not change the results.")]

#: ``--figures/--no-figures``: whether to draw the figures (default: draw them).
Figures = Annotated[bool, typer.Option("--figures/--no-figures", help="Draw the figures.")]

#: ``--quiet`` / ``-q``: no progress or tables, only where the outputs went (on stdout).
Quiet = Annotated[bool, typer.Option(
    "--quiet", "-q", help="No progress or tables; print only where the outputs went.")]


#: ``--force``: write into an output directory that already holds files.
Force = Annotated[bool, typer.Option(
    "--force", help="Write into an output directory that already holds files, replacing "
    "those of the same names (without it, such a directory is refused).")]

#: ``--allow-root DIR``: a folder, besides the scenario's own tree, that ``extends:`` and
#: ``targets:`` may read from (see :mod:`flowsim.scenario.includes`).
AllowRoots = Annotated[list[Path] | None, typer.Option(
    "--allow-root", metavar="DIR", help="A folder that `extends:` and `targets:` may read "
    "from besides the scenario's own folder tree (repeatable; also the environment "
    "variable FLOWSIM_ALLOW_ROOTS).", show_default=False)]

#: ``--max-steps N``: raise (or lower) the limit on the number of steps of a horizon.
MaxSteps = Annotated[int | None, typer.Option(
    "--max-steps", metavar="N", min=1, help="The most steps a scenario's horizon may have "
    "(default: 10,000, or the environment variable FLOWSIM_MAX_STEPS).",
    show_default=False)]


# -- the same flags, help particular to the command: factories ----------------------------------
# Each returns the typer.Option (or Argument) to put in the parameter's Annotated[...]; typer
# copies it per command, so one call per signature is all it takes.


def scenario_file(text: str = "Scenario file (YAML).") -> ArgumentInfo:
    """The ``FILE`` argument: the scenario file a command reads.

    Parameters
    ----------
    text
        The argument's help text.

    Returns
    -------
    ArgumentInfo
        For ``Annotated[Path, scenario_file(...)]``.
    """
    return typer.Argument(metavar="FILE", help=text, show_default=False)


def replicates_option(text: str = "Number of replicates.") -> OptionInfo:
    """``-n`` / ``--replicates``: how many replicates to simulate (at least 1).

    Parameters
    ----------
    text
        The option's help text (``compare`` counts replicates per scenario).

    Returns
    -------
    OptionInfo
        For ``Annotated[int, replicates_option(...)] = DEFAULT_REPLICATES``.
    """
    return typer.Option("-n", "--replicates", min=1, help=text)


def seed_option(text: str) -> OptionInfo:
    """``--seed``: the root of all randomness (a non-negative integer).

    Parameters
    ----------
    text
        The option's help text: what the same seed reproduces differs per command (numbers,
        a posterior, numbers shared by every scenario).

    Returns
    -------
    OptionInfo
        For ``Annotated[int, seed_option(...)] = DEFAULT_SEED``.
    """
    return typer.Option("--seed", min=0, help=text)


def out_help(default: str) -> str:
    """The help of an ``--out`` directory: locked while written, refused if it holds files
    unless ``--force`` (:func:`flowsim.cli._common.output_directory`).

    Parameters
    ----------
    default
        Where the outputs go without ``--out``, in words (``results/<scenario name>``).

    Returns
    -------
    str
    """
    return (f"Output directory (default: {default}); one that already holds files is "
            "refused unless --force is given.")


def out_option(text: str) -> OptionInfo:
    """``--out`` / ``-o``: the output directory (no default shown: it depends on the input).

    Parameters
    ----------
    text
        The option's help text, usually :func:`out_help` of the command's default directory.

    Returns
    -------
    OptionInfo
        For ``Annotated[Path | None, out_option(...)] = None``.
    """
    return typer.Option("--out", "-o", help=text, show_default=False)


def posterior_option(draws: str) -> OptionInfo:
    """``--posterior FILE``: draw each replicate's parameters from a calibrated posterior.

    Parameters
    ----------
    draws
        How the draws reach the scenario(s), put in the middle of the help text ("by
        parameter name", "the same draws for every scenario").

    Returns
    -------
    OptionInfo
        For ``Annotated[Path | None, posterior_option(...)] = None``.
    """
    return typer.Option(
        "--posterior", metavar="FILE", help="Draw each replicate's parameters from this "
        f"calibrated posterior (NetCDF, from flowsim calibrate), {draws}. Without it, every "
        "replicate takes the declared values.", show_default=False)
