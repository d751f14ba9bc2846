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
* :func:`output_lock`: one writer at a time. A lock file beside ``DIR`` (``.DIR.lock``) is
  held with ``flock`` while a directory is staged and moved in (and, by the command line,
  for a whole run), so that a second writer fails at once with :class:`OutputBusy` instead
  of racing the first. The operating system releases the lock when its holder dies, however
  it dies, so a crash leaves no stale lock; the staging directories a crash leaves
  (``DIR.tmp-*``, ``DIR.old-*``, ``.DIR.stream-*``) are removed by the next holder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import glob
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MARKER_FILE", "OutputBusy", "Written", "atomic_file", "json_default", "output_lock",
           "staged_directory", "staging_leftovers", "umask", "write_run_json"]


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


#: The signals held back while files are moved into place: Ctrl-C, and the termination
#: signals the command line turns into the same interrupt.
_HELD_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP")
                      if hasattr(signal, n))


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """Hold back Ctrl-C (and SIGTERM, SIGHUP) for a few renames (main thread only; elsewhere
    a no-op).

    A signal that arrives meanwhile is dropped: the work it would stop is complete. Only a
    termination signal that nothing handles (it would have killed the process) is sent
    again once the renames are done, so that the process still ends, with the directory
    whole.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []
    previous: dict[int, Any] = {}
    try:
        for sig in _HELD_SIGNALS:
            previous[sig] = signal.signal(sig, lambda signum, _: arrived.append(signum))
    except (ValueError, OSError):  # pragma: no cover - no signals here
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        fatal = [sig for sig in arrived if sig != signal.SIGINT
                 and previous.get(sig) == signal.SIG_DFL]
        if fatal:
            signal.raise_signal(fatal[0])


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


class OutputBusy(OSError):
    """Another process is writing the same output directory (it holds its lock)."""


# the output directories this process holds the lock of: path -> (lock fd, depth)
_HELD: dict[Path, list[int]] = {}
_HELD_GUARD = threading.Lock()


def _lock_file(out: Path) -> Path:
    return out.parent / f".{out.name}.lock"


def staging_leftovers(out_dir: str | os.PathLike[str]) -> list[Path]:
    """The staging files and directories of ``out_dir`` that writers make beside it:
    ``DIR.tmp-*`` and ``DIR.old-*`` (:func:`staged_directory`) and ``.DIR.stream-*`` (a
    streamed run of the command line). Found while holding the lock, they are left by a
    writer that crashed."""
    out = Path(out_dir).absolute()
    name = glob.escape(out.name)
    found: list[Path] = []
    for pattern in (f"{name}.tmp-*", f"{name}.old-*", f".{name}.stream-*"):
        found += sorted(out.parent.glob(pattern))
    return found


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _acquire(lock: Path, out: Path) -> int:
    """Open and ``flock`` the lock file, or raise :class:`OutputBusy` at once."""
    import fcntl

    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            raise OutputBusy(errno.EBUSY, "another flowsim process"
                             + (f" (pid {holder})" if holder.isdigit() else "")
                             + " is writing to this directory; wait for it to finish or "
                             "give another --out", str(out)) from None
        # its last holder may have removed the file between our open and our lock: then
        # the lock is on a file nobody else will find, and we start again
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)


@contextlib.contextmanager
def output_lock(out_dir: str | os.PathLike[str]) -> Iterator[list[Path]]:
    """Hold the lock of an output directory: ``with output_lock(DIR) as removed: ...``.

    The lock is a file beside ``DIR`` (``.DIR.lock``, removed again on release) held with
    ``flock``; a process holds it at most once, so a writer inside a command that already
    holds it (``staged_directory`` inside ``flowsim run``) goes on. On taking the lock,
    the staging leftovers of crashed writers (:func:`staging_leftovers`) are removed; their
    paths are what the block gets. Where ``fcntl`` is missing (Windows), nothing is locked.

    Raises
    ------
    OutputBusy
        At once, if another process holds the lock.
    OSError
        If the lock file cannot be made (a read-only or full file system, no permission).
    """
    out = Path(out_dir).absolute()
    with _HELD_GUARD:
        held = _HELD.get(out)
        if held is not None:
            held[1] += 1
    if held is not None:
        try:
            yield []
        finally:
            with _HELD_GUARD:
                held[1] -= 1
        return
    try:
        import fcntl  # noqa: F401
    except ImportError:  # pragma: no cover - not POSIX
        yield []
        return
    created = _missing_parents(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = _lock_file(out)
    try:
        fd = _acquire(lock, out)
    except BaseException:
        _remove_empty(created, out)
        raise
    with _HELD_GUARD:
        _HELD[out] = [fd, 1]
    try:
        removed = staging_leftovers(out)
        for path in removed:
            _remove(path)
        yield removed
    finally:
        with _HELD_GUARD:
            del _HELD[out]
        with contextlib.suppress(OSError):
            lock.unlink()  # while still holding it: see _acquire
        os.close(fd)
        _remove_empty(created, out)


def _remove_empty(created: list[Path], out: Path) -> None:
    """Remove the parents made for ``out`` again, if it was not made and they are empty."""
    if not out.exists():
        for p in created:
            with contextlib.suppress(OSError):
                p.rmdir()


@contextlib.contextmanager
def staged_directory(out_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Write files into a temporary directory that replaces ``out_dir``'s files on success.

    Use as ``with staged_directory(DIR) as tmp: (write files into tmp)``. Only files at the
    top of ``tmp`` are moved; files already in ``DIR`` with other names are kept.

    The directory's lock (:func:`output_lock`) is held meanwhile.

    Raises
    ------
    NotADirectoryError
        If ``out_dir`` exists and is not a directory.
    OutputBusy
        If another process is writing ``out_dir``.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a directory", str(out))
    created = _missing_parents(out)
    if out.parent != out:
        out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with output_lock(out):
            tmp = Path(tempfile.mkdtemp(prefix=f"{out.name}.tmp-", dir=out.parent))
            try:
                os.chmod(tmp, 0o777 & ~umask())  # mkdtemp makes it private; DIR should not be
                yield tmp
                with _sigint_held():
                    _commit(tmp, out)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
    except BaseException:
        _remove_empty(created, out)  # once the lock file beside it is gone too
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


def write_run_json(folder: Path, meta: dict[str, Any], names: list[str],
                   skipped: list[str] | None = None, name: str = "run.json") -> None:
    """Write ``meta`` as ``folder/name``, the metadata file every command writes last.

    It lists ``names`` and itself as the run's ``files`` (and what was ``skipped``, if
    anything), and ``name`` is appended to ``names``.
    """
    meta["files"] = [*names, name]
    if skipped:
        meta["skipped"] = skipped
    (folder / name).write_text(json.dumps(meta, indent=2, ensure_ascii=False,
                                          default=json_default) + "\n", encoding="utf-8")
    names.append(name)
