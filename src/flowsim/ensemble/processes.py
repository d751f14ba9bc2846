"""Worker processes that start from a script, ``python -c``, stdin or a notebook alike.

Local pools start their workers with ``forkserver`` (or ``spawn``), which import the
caller's ``__main__`` again in every new process. That is what makes a script without an
``if __name__ == "__main__":`` guard fail (the new process runs the simulation again, and
multiprocessing stops it with a ``RuntimeError`` while bootstrapping), and what makes code
read from stdin fail (there is no file ``<stdin>`` to import). Flowsim's workers need
nothing from ``__main__``: the model travels with the pool's initializer.

:func:`pool_context` gives the context local pools use. Its processes skip importing
``__main__`` when that would go wrong: when the main module's file does not exist (stdin),
or when flowsim is called from the script's top-level code outside a ``__main__`` guard
(read from the script's source with :mod:`ast`). Under a guard, and where there is no main
file at all (``python -c``, Jupyter, the REPL), nothing changes: functions of the script
(such as a ``reduce`` given to :func:`flowsim.simulate`) still reach the workers.

:func:`resolve_workers` turns the ``workers`` argument (0: "as many as the machine has")
into a number of processes, the same way for every command and function.
"""

from __future__ import annotations

import ast
import contextlib
import multiprocessing as mp
import os
import sys
import types
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["WORKERS_VARIABLE", "main_is_unsafe", "pool_context", "resolve_workers"]

#: The environment variable that sets what ``workers=0`` (the default) means.
WORKERS_VARIABLE = "FLOWSIM_WORKERS"


def resolve_workers(workers: int | None) -> int:
    """The number of local worker processes that ``workers`` asks for.

    Parameters
    ----------
    workers : int or None
        A positive number is taken as it is. 0, a negative number or ``None`` mean "as many as
        this machine gives": the environment variable ``FLOWSIM_WORKERS`` when it is set (on
        a shared machine, or where a run should stay in one process), else one per CPU this
        process may run on (its affinity mask, which a batch scheduler or ``taskset``
        narrows; ``os.cpu_count()`` where the platform has no mask).

    Returns
    -------
    int
        At least 1.

    Raises
    ------
    ValueError
        ``FLOWSIM_WORKERS`` is set to something other than a positive whole number.
    """
    if workers is not None and workers > 0:
        return int(workers)
    text = os.environ.get(WORKERS_VARIABLE, "").strip()
    if text:
        try:
            n = int(text)
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"{WORKERS_VARIABLE} must be a positive whole number, not {text!r}")
        return n
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity mask on this platform (macOS, Windows)
        return os.cpu_count() or 1


@lru_cache(maxsize=8)
def _guarded_lines(path: str) -> tuple[tuple[int, int], ...]:
    """The line ranges of a script's top-level ``if __name__ == "__main__":`` blocks."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return ()
    out = []
    for node in tree.body:
        if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
            continue
        names = [node.test.left, *node.test.comparators]
        texts = {n.id if isinstance(n, ast.Name) else n.value if isinstance(n, ast.Constant)
                 else None for n in names}
        if texts == {"__name__", "__main__"}:
            out.append((node.lineno, node.end_lineno or node.lineno))
    return tuple(out)


def main_is_unsafe() -> bool:
    """Whether importing ``__main__`` again in a new process would fail or recurse."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None:  # python -c, Jupyter, the REPL: nothing is imported
        return False
    if getattr(main, "__spec__", None) is not None:  # python -m: imported by name, guarded
        return False                                 # like any module run with -m
    if not Path(path).is_file():  # stdin ('<stdin>'), or a file gone since
        return True
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals is not main.__dict__:
        frame = frame.f_back
    while frame is not None and frame.f_back is not None \
            and frame.f_back.f_globals is main.__dict__:
        frame = frame.f_back  # the script's own top-level frame
    if frame is None or frame.f_code.co_name != "<module>":
        return False  # not called from the script (a thread, a callback): leave it
    line = frame.f_lineno
    return not any(a <= line <= b for a, b in _guarded_lines(str(Path(path).resolve())))


@contextlib.contextmanager
def _without_main() -> Iterator[None]:
    """Hide ``__main__`` from the process about to start (a blank module in its place)."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


class _SpawnProcess(mp.get_context("spawn").Process):  # type: ignore[misc]
    """A process that starts without importing ``__main__`` (see :func:`pool_context`)."""

    def start(self) -> None:
        with _without_main():
            super().start()


if "forkserver" in mp.get_all_start_methods():
    class _ForkServerProcess(mp.get_context("forkserver").Process):  # type: ignore[misc]
        """A process that starts without importing ``__main__`` (see
        :func:`pool_context`)."""

        def start(self) -> None:
            with _without_main():
                super().start()


def pool_context() -> Any:
    """The multiprocessing context of local pools: ``forkserver`` where the platform has it,
    ``spawn`` otherwise, with processes that skip ``__main__`` when importing it would fail
    (see the module docstring). Whether it would is decided here, in the caller's thread:
    pools start their processes from threads of their own."""
    forkserver = "forkserver" in mp.get_all_start_methods()
    base = mp.get_context("forkserver" if forkserver else "spawn")
    if not main_is_unsafe():
        return base
    ctx = type(base)()  # a context of the same kind, whose processes skip __main__
    ctx.Process = _ForkServerProcess if forkserver else _SpawnProcess  # type: ignore[misc]
    return ctx
