"""Writing files all or nothing: the one helper every flowsim writer uses.

* :func:`atomic_file`: one file, written to a temporary file beside it (hence on the same
  file system) and moved into place with :func:`os.replace` once complete, with a normal
  file's permissions; on any error or interrupt the temporary file is removed and the old
  file, if any, is left as it was.
* :func:`staged_directory`: a directory of files. The files are first written to a temporary
  sibling directory (``DIR.tmp-XXXXXXXX``) and moved into place only when every one of them
  was written. If ``DIR`` did not exist, the temporary directory is renamed to it in one
  step. If it did, each file is moved in with :func:`os.replace`, after the file it replaces
  has been set aside (:data:`MARKER_FILE` last); should a move fail, the files set aside are
  put back. Ctrl-C is held back during those few renames. On any error or interrupt before
  that, the temporary directory is removed and ``DIR`` is left as it was (parents created
  for it are removed again if still empty).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MARKER_FILE", "Written", "atomic_file", "json_default", "staged_directory", "umask"]


#: The file every flowsim writer makes last (``run.json``): a directory that has it is whole.
MARKER_FILE = "run.json"


@dataclasses.dataclass(frozen=True)
class Written:
    """What a writer put on disk.

    Attributes
    ----------
    directory : Path
        The output directory.
    files : tuple of Path
        The files written, in the order they were made.
    skipped : tuple of str
        Outputs not made, each with the reason (e.g. a figure whose variable was not
        recorded).
    """

    directory: Path
    files: tuple[Path, ...]
    skipped: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# all or nothing
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """Hold back Ctrl-C for a few renames (main thread only; elsewhere a no-op).

    An interrupt that arrives meanwhile is dropped: the work it would stop is complete.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        previous = signal.signal(signal.SIGINT, lambda *_: None)
    except (ValueError, OSError):  # pragma: no cover - no signals here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def umask() -> int:
    """The process's file-mode creation mask (read without changing it for long)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Write one file all or nothing: ``with atomic_file(PATH) as tmp: (write tmp)``.

    ``tmp`` is a new empty file beside ``path``; when the block ends without an error it
    gets a normal file's permissions (``0o666`` less the umask: :func:`tempfile.mkstemp`
    makes it private) and replaces ``path``. On any error or interrupt it is removed.
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f"{path.name}.tmp-", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _missing_parents(path: Path) -> list[Path]:
    """The ancestors of ``path`` that do not exist, deepest first."""
    out = []
    for p in path.parents:
        if p.exists():
            break
        out.append(p)
    return out


@contextlib.contextmanager
def staged_directory(out_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Write files into a temporary directory that replaces ``out_dir``'s files on success.

    Use as ``with staged_directory(DIR) as tmp: (write files into tmp)``. Only files at the
    top of ``tmp`` are moved; files already in ``DIR`` with other names are kept.

    Raises
    ------
    NotADirectoryError
        If ``out_dir`` exists and is not a directory.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a directory", str(out))
    created = _missing_parents(out)
    if out.parent != out:
        out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{out.name}.tmp-", dir=out.parent))
    try:
        os.chmod(tmp, 0o777 & ~umask())  # mkdtemp makes it private; DIR should not be
        yield tmp
        with _sigint_held():
            _commit(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if not out.exists():
            for p in created:
                with contextlib.suppress(OSError):
                    p.rmdir()
        raise


def _commit(tmp: Path, out: Path) -> None:
    """Move the staged files into ``out``, all of them or none."""
    if not out.exists():
        os.rename(tmp, out)
        return
    names = sorted((p.name for p in tmp.iterdir() if p.is_file()),
                   key=lambda n: (n == MARKER_FILE, n))  # last: it marks a whole run
    backup = Path(tempfile.mkdtemp(prefix=f"{out.name}.old-", dir=out.parent))
    moved: list[tuple[str, bool]] = []
    try:
        for name in names:
            had = (out / name).exists()
            if had:
                os.replace(out / name, backup / name)
            moved.append((name, had))
            os.replace(tmp / name, out / name)
    except BaseException:
        for name, had in reversed(moved):
            with contextlib.suppress(OSError):
                if had:
                    os.replace(backup / name, out / name)
                elif (out / name).exists():
                    (out / name).unlink()
        raise
    finally:
        shutil.rmtree(backup, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# NetCDF
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# a run directory
# --------------------------------------------------------------------------------------------


def json_default(x: Any) -> Any:
    """``json.dumps(default=...)`` for numpy numbers and arrays, dates and paths."""
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, dt.date | Path):
        return str(x)
    raise TypeError(f"cannot write {type(x).__name__} to JSON")
