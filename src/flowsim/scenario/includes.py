"""Where ``extends:`` and ``targets:`` may read from: the scenario's own tree, or allowed roots.

A scenario file is input, possibly written by someone else, and the files it names are read
and reported on. So the loader reads them only inside the scenario's own folder tree, or
under roots the user allows, and never follows a path (absolute, ``../``, or a symbolic
link) out of them:

* the **scenario's tree** is the folder of the file given to the loader, or, when that folder
  lies inside a project (the nearest folder above it with one of :data:`PROJECT_MARKERS`,
  such as a git checkout), the project's folder. So ``scenarios/counterfactuals/x.yaml`` of
  a repository may extend ``../russia-2022.yaml``, while a file in a downloads folder cannot
  reach the home folder above it;
* **allowed roots** are folders given by the caller (``allow=`` of
  :func:`flowsim.load_scenario`, ``--allow-root DIR`` on the command line) or listed in the
  environment variable :data:`ROOTS_VARIABLE` (separated by ``os.pathsep``).

Paths are compared after every symbolic link is resolved. A file outside is not opened (not
even to say whether it exists), so no message can show any of its contents.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["PROJECT_MARKERS", "ROOTS_VARIABLE", "Outside", "confined", "scenario_roots"]

#: The environment variable listing further roots (``os.pathsep``-separated folders).
ROOTS_VARIABLE = "FLOWSIM_ALLOW_ROOTS"
#: Names whose presence makes a folder a project's root (the scenario tree's top).
PROJECT_MARKERS = (".git", ".hg", "pyproject.toml")


class Outside(Exception):
    """A path that ``extends:`` or ``targets:`` names lies outside every allowed root."""


def _resolved(path: Path) -> Path:
    try:
        return path.absolute().resolve()
    except (OSError, RuntimeError, ValueError):  # a loop of links, a NUL: compared as given
        return path.absolute()


def _project(folder: Path) -> Path:
    """The nearest folder at or above ``folder`` holding a project marker, else ``folder``."""
    for candidate in (folder, *folder.parents):
        for marker in PROJECT_MARKERS:
            try:
                if (candidate / marker).exists():
                    return candidate
            except OSError:  # an unreadable folder: not a project
                continue
    return folder


def scenario_roots(file: str | os.PathLike[str],
                   allow: Iterable[str | os.PathLike[str]] = ()) -> tuple[Path, ...]:
    """The folders under which the files a scenario names may lie.

    Parameters
    ----------
    file : str or Path
        The scenario file given to the loader (the first of an ``extends`` chain).
    allow : iterable of str or Path
        Further roots, besides those in the environment variable :data:`ROOTS_VARIABLE`.

    Returns
    -------
    tuple of Path
        Resolved folders: the scenario's tree first.
    """
    roots = [_project(_resolved(Path(file).absolute().parent))]
    extra = [*allow, *(p for p in os.environ.get(ROOTS_VARIABLE, "").split(os.pathsep) if p)]
    roots += [_resolved(Path(r).expanduser()) for r in extra]
    return tuple(dict.fromkeys(roots))


def confined(ref: str, base: Path, roots: tuple[Path, ...], key: str) -> Path:
    """The file that ``ref`` (written in ``base`` under ``key``) names, if it may be read.

    Parameters
    ----------
    ref : str
        The path as written (relative to ``base``'s folder, or absolute).
    base : Path
        The file that names it.
    roots : tuple of Path
        From :func:`scenario_roots`.
    key : str
        ``"extends"`` or ``"targets"``, for the message.

    Returns
    -------
    Path
        ``base.parent / ref``, unresolved (messages show it as the user wrote it).

    Raises
    ------
    Outside
        If the file, once its links are resolved, is under none of ``roots``.
    """
    target = base.parent / ref
    real = _resolved(target)
    if any(real == r or r in real.parents for r in roots):
        return target
    how = "leads (through a symbolic link) to a place" if _lexical(target) != real \
        else "is"
    where = str(roots[0]) + (f" or under {', '.join(map(str, roots[1:]))}" if roots[1:] else "")
    raise Outside(f"`{key}` may name only files in the scenario's folder tree ({where}); "
                  f"{ref!r} {how} outside it. To read it, allow its folder with --allow-root "
                  f"DIR or the environment variable {ROOTS_VARIABLE}")


def _lexical(path: Path) -> Path:
    """``path`` made absolute with ``..`` removed, but links not followed."""
    return Path(os.path.normpath(path.absolute()))
