"""Where blocks run: here, in local worker processes, in the caller's pool, or on Dask.

Every block task carries its own seed, so where and in which order it runs does not change
its numbers. Local workers are started with the ``forkserver`` method where the platform has
it (``spawn`` otherwise) and get the compiled model once, as they start (a caller's pool,
``pool=``, gets it with every task); on a Dask cluster the model is scattered to every
worker once.

Local workers are looked after as Dask looks after its own:

* a worker process that dies (killed, out of memory) is replaced, and the block it was
  running is run again, at most :data:`MAX_RETRIES` more times (then :class:`WorkerLost` is
  raised). A block's seed travels with it, so the results are the same bit for bit as those
  of an undisturbed run;
* when the run stops early (an error, Ctrl-C, SIGTERM turned into an exception by the CLI),
  the workers are terminated at once rather than left to finish their blocks;
* each worker watches the process that started it, and exits within a second when that
  process is gone (killed outright, with no chance to stop it);
* workers ignore Ctrl-C: the terminal sends it to the whole process group, and the parent,
  which stops them, reports it once.
"""

from __future__ import annotations

import collections
import contextlib
import multiprocessing as mp
import multiprocessing.connection
import os
import pickle
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from flowsim.core.compile import CompiledModel
from flowsim.ensemble.blocks import OnArrays, run_block_seeded
from flowsim.ensemble.processes import resolve_workers
from flowsim.scenario.model import Scenario

__all__ = ["MAX_RETRIES", "WorkerLost", "local_pool", "run_tasks"]

#: How many times a block is run again after the local worker process running it died.
MAX_RETRIES = 3
#: The exit status of a worker that finds the process that started it gone.
ORPHAN_EXIT = 70

# The model (and scenario) of a local worker process, set once as it starts; a user's own
# executor (``pool=``) gets them with every task instead.
_WORKER_CONTEXT: tuple[CompiledModel, Scenario | None] | None = None


class WorkerLost(RuntimeError):
    """A local worker process died running a block more often than the retry limit allows
    (see :data:`MAX_RETRIES`): most often the machine ran out of memory."""


def _init_worker(model: CompiledModel, scenario: Scenario | None = None) -> None:
    global _WORKER_CONTEXT
    _WORKER_CONTEXT = (model, scenario)
    with contextlib.suppress(ValueError, OSError):  # (not the main thread: nothing to do)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch_parent()


def _watch_parent() -> None:
    """Exit this process as soon as the process that started it is gone.

    ``multiprocessing`` gives every child a sentinel of its parent (with ``forkserver``
    too: the parent, not the fork server), which becomes ready when the parent dies.
    """
    parent = mp.parent_process()
    if parent is None or parent.sentinel is None:  # pragma: no cover - not a child process
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(ORPHAN_EXIT)  # no clean-up to do: the parent is gone, and its results

    threading.Thread(target=watch, name="flowsim-watch-parent", daemon=True).start()


def _run_task(model: CompiledModel, task: tuple[Any, ...], scenario: Scenario | None = None
              ) -> tuple[int, Any]:
    """Run one block task: ``(block, params, seed key, record, sampling, first, reduce)``.

    Returns the block index and its recorded arrays, or what ``reduce`` makes of the block's
    :class:`~flowsim.Results` (so that only a few numbers per replicate travel back).
    """
    block, params, key, record, sampling, first, reduce = task
    params = np.asarray(params, dtype=float)
    ss = np.random.SeedSequence(key[0], spawn_key=key[1:])
    out = run_block_seeded(model, params, ss, record, sampling, first)
    if reduce is None:
        return block, out
    if isinstance(reduce, OnArrays):  # a few numbers per replicate: no labels needed
        rows = reduce(out)
        del out
        _release_memory()
        return block, rows
    from flowsim.results.dataset import Results

    res = Results.from_arrays(model, out, params, root=ss, block_size=params.shape[0],
                              scenario=scenario, sampling=sampling)
    rows = reduce(res)
    del res, out
    _release_memory()
    return block, rows


def _trim_function() -> Callable[[int], int] | None:
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not glibc: nothing to do
        return None


_MALLOC_TRIM = _trim_function()


def _release_memory() -> None:
    """Give the freed heap of a block back to the system (glibc only).

    A worker that runs thousands of blocks otherwise holds on to a heap that creeps up
    from block to block (about 300 to 360 MB over 60 blocks of the bundled scenario, against
    a flat 180 MB with this), which matters when a run's peak memory must stay bounded.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _worker_block(task: tuple[Any, ...]) -> tuple[int, Any]:
    """One block in a local worker process (the model was set as the process started)."""
    if _WORKER_CONTEXT is None:
        raise RuntimeError("worker process started without a model")
    return _run_task(_WORKER_CONTEXT[0], task, _WORKER_CONTEXT[1])


def _dask_block(task: tuple[Any, ...], context: tuple[CompiledModel, Scenario | None]
                ) -> tuple[int, Any]:
    """One block on a Dask worker (the model arrives once per worker, scattered)."""
    return _run_task(context[0], task, context[1])


#: Blocks in flight on a Dask cluster per worker thread, as the local pool keeps two per
#: worker process: enough to keep every thread busy while results travel back.
DASK_BLOCKS_PER_THREAD = 2


def dask_window(client: Any) -> int:
    """How many blocks may be on a Dask cluster at once: two per worker thread, at least 2.

    Asked again after every block, so that a cluster that grows (or shrinks) gets as many
    blocks as it has threads for.
    """
    return max(DASK_BLOCKS_PER_THREAD, DASK_BLOCKS_PER_THREAD * sum(client.nthreads().values()))


def _dask(model: CompiledModel, scenario: Scenario | None, tasks: list[tuple[Any, ...]],
          client: Any, scheduler: str | None) -> Iterator[tuple[int, Any]]:
    """Run block tasks on a Dask cluster, a window of them at a time; yield (block, arrays).

    The model goes to every worker once (scattered); each block's task, with its parameter
    matrix, is submitted only when a block before it has come back and at most
    :func:`dask_window` blocks are on the cluster, so the scheduler holds a few blocks'
    parameters and results, not a whole run's. Blocks come back in the order they finish;
    Dask recomputes those of a worker that dies (``retries`` covers a block that fails on
    a worker that then dies). An error, or the caller closing the iterator, cancels the
    blocks still on the cluster.
    """
    try:
        from distributed import Client, as_completed
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise ImportError("running on a Dask cluster needs the distributed extra: "
                          "pip install 'flowsim[distributed]'") from None
    own = client is None
    if own:
        client = Client(scheduler, timeout="30s")
    on_cluster: set[Any] = set()
    try:
        [shared] = client.scatter([(model, scenario)], broadcast=True, hash=False)
        waiting = iter(tasks)
        finished = as_completed()

        def fill() -> None:
            window = dask_window(client)
            while len(on_cluster) < window:
                task = next(waiting, None)
                if task is None:
                    return
                future = client.submit(_dask_block, task, shared, pure=False, retries=2)
                on_cluster.add(future)
                finished.add(future)

        fill()
        for future in finished:
            result = future.result()
            # forgotten by the scheduler before the next block is sent (the messages keep
            # their order), so that it never holds more than the window
            on_cluster.discard(future)
            future.release()
            fill()
            yield result
    finally:
        if on_cluster:  # stopped early: nothing is waiting for these any more
            client.cancel(list(on_cluster))
        if own:
            client.close()


def run_tasks(model: CompiledModel, scenario: Scenario | None, tasks: list[tuple[Any, ...]],
               workers: int, client: Any, scheduler: str | None, pool: Any = None) -> Any:
    """Run block tasks here, in local processes, or on a Dask cluster; yield (block, arrays).

    Every task carries its own seed, so where and in which order it runs does not change
    its numbers. On a cluster, Dask recomputes the blocks of a worker that dies.
    """
    if client is not None or scheduler is not None:
        yield from _dask(model, scenario, tasks, client, scheduler)
        return
    if pool is not None:  # the caller's executor, kept across calls
        futures = [pool.submit(_run_task, model, task, scenario) for task in tasks]
        for future in futures:
            yield future.result()
        return
    if workers == 1 or len(tasks) == 1:
        for task in tasks:
            yield _run_task(model, task, scenario)
        return
    yield from _local(model, scenario, tasks, min(workers, len(tasks)), MAX_RETRIES)


def _local(model: CompiledModel, scenario: Scenario | None, tasks: list[tuple[Any, ...]],
           workers: int, retries: int) -> Iterator[tuple[int, Any]]:
    """Run tasks on local worker processes, each with a pipe of its own, one task at a time.

    Not a ``ProcessPoolExecutor``: its workers share one result pipe, so a worker killed
    while it sends a result leaves half a message in it, and the executor then waits for
    the rest for ever (CPython 3.11; the run hung for minutes in issue 16). Here a worker
    that dies closes only its own pipe; the parent sees it at once, knows which block it was
    running, runs that block again on a new worker (at most ``retries`` more times), and
    goes on.
    """
    ctx = _pool_context()
    todo = collections.deque(range(len(tasks)))
    attempts = [0] * len(tasks)
    pool: list[_Worker] = []
    finished = False
    try:
        pool = [_Worker(ctx, model, scenario) for _ in range(workers)]
        while True:
            for k, w in enumerate(pool):
                if w.task is None and todo:
                    if w.process.exitcode is not None:  # died between two tasks
                        w.close()
                        pool[k] = w = _Worker(ctx, model, scenario)
                    w.give(todo.popleft(), tasks)
            busy = [w for w in pool if w.task is not None]
            if not busy:
                break
            ready = set(multiprocessing.connection.wait(
                [w.conn for w in busy] + [w.process.sentinel for w in busy]))
            for w in busy:
                if w.conn not in ready and w.process.sentinel not in ready:
                    continue
                i, result = w.take()
                if result is _LOST:
                    attempts[i] += 1
                    if attempts[i] > retries:
                        raise WorkerLost(
                            f"a worker process died {attempts[i]} times while running block "
                            f"{tasks[i][0]} (killed, or out of memory?); try fewer --workers "
                            "or a smaller --block-size")
                    todo.appendleft(i)
                    w.close()
                    pool[pool.index(w)] = _Worker(ctx, model, scenario)
                    continue
                yield result
        finished = True
    finally:
        for w in pool:
            w.close(kill=not finished)


#: What :meth:`_Worker.take` returns for a block whose worker died.
_LOST = object()


class _Worker:
    """One local worker process and the pipe it takes tasks from and sends results on."""

    def __init__(self, ctx: Any, model: CompiledModel, scenario: Scenario | None) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_serve, args=(child, model, scenario), daemon=True,
                                   name="flowsim-worker")
        self.process.start()
        child.close()  # the worker's end is the worker's alone: its death closes the pipe
        self.task: int | None = None

    def give(self, i: int, tasks: list[tuple[Any, ...]]) -> None:
        self.task = i
        try:
            self.conn.send(tasks[i])
        except OSError:  # already dead: take() finds the pipe closed
            pass

    def take(self) -> tuple[int, Any]:
        """The task's index and its result (or :data:`_LOST`); raises the task's error."""
        i, self.task = self.task, None
        try:
            status, value = self.conn.recv()
        except (EOFError, OSError):  # the worker died, maybe in the middle of a message
            return i, _LOST  # type: ignore[return-value]
        if status == "error":
            raise value
        return i, value  # type: ignore[return-value]

    def close(self, kill: bool = True) -> None:
        """Stop the worker: ask it to, or (``kill``) terminate it at once."""
        if not kill:
            with contextlib.suppress(OSError):
                self.conn.send(None)
            self.process.join(5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)
            if self.process.is_alive():  # pragma: no cover - a worker deaf to SIGTERM
                self.process.kill()
                self.process.join()
        self.conn.close()


def _serve(conn: Any, model: CompiledModel, scenario: Scenario | None) -> None:
    """A local worker's life: run the tasks that arrive on ``conn`` until told to stop."""
    _init_worker(model, scenario)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if task is None:
            return
        try:
            reply: tuple[str, Any] = ("ok", _worker_block(task))
        except Exception as e:  # noqa: BLE001 - any error of a block is raised in the parent
            reply = ("error", e)
        try:
            conn.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError):  # an error it cannot send
            conn.send(("error", RuntimeError(f"{type(reply[1]).__name__}: {reply[1]}")))


def local_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """A process pool to pass as ``simulate(..., pool=)`` across many calls.

    Starting worker processes costs about a second; calibration makes many small calls, so it
    keeps one pool open: ``with local_pool(2) as pool: simulate(..., pool=pool)``.
    """
    n = resolve_workers(workers)
    return ProcessPoolExecutor(max_workers=n, mp_context=_pool_context())


def _pool_context() -> Any:
    # forkserver (or spawn), with processes that do not import the caller's __main__ again
    # where that would fail: a script without a __main__ guard, or code read from stdin
    from flowsim.ensemble.processes import pool_context

    return pool_context()
