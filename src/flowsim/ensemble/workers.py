"""Where blocks run: here, in local worker processes, in the caller's pool, or on Dask.

Every block task carries its own seed, so where and in which order it runs does not change
its numbers. Local pools start their workers with the ``forkserver`` method where the
platform has it (``spawn`` otherwise) and send the compiled model once per worker, through
the pool initializer; on a Dask cluster the model is scattered to every worker once.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from flowsim.core.compile import CompiledModel
from flowsim.ensemble.blocks import run_block_seeded
from flowsim.scenario.model import Scenario

# The model (and scenario) of the local worker processes, set once per process by the pool
# initializer; a user's own executor (``pool=``) gets them with every task instead.
_WORKER_CONTEXT: tuple[CompiledModel, Scenario | None] | None = None


def _init_worker(model: CompiledModel, scenario: Scenario | None = None) -> None:
    global _WORKER_CONTEXT
    _WORKER_CONTEXT = (model, scenario)


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
    """One block in a local worker process (the model was set by the pool initializer)."""
    if _WORKER_CONTEXT is None:
        raise RuntimeError("worker process started without a model")
    return _run_task(_WORKER_CONTEXT[0], task, _WORKER_CONTEXT[1])


def _dask_block(task: tuple[Any, ...], context: tuple[CompiledModel, Scenario | None]
                ) -> tuple[int, Any]:
    """One block on a Dask worker (the model arrives once per worker, scattered)."""
    return _run_task(context[0], task, context[1])


def run_tasks(model: CompiledModel, scenario: Scenario | None, tasks: list[tuple[Any, ...]],
               workers: int, client: Any, scheduler: str | None, pool: Any = None) -> Any:
    """Run block tasks here, in local processes, or on a Dask cluster; yield (block, arrays).

    Every task carries its own seed, so where and in which order it runs does not change
    its numbers. On a cluster, Dask recomputes the blocks of a worker that dies.
    """
    if client is not None or scheduler is not None:
        try:
            from distributed import Client, as_completed
        except ImportError:  # pragma: no cover - depends on the installed extras
            raise ImportError("running on a Dask cluster needs the distributed extra: "
                              "pip install 'flowsim[distributed]'") from None
        own = client is None
        if own:
            client = Client(scheduler, timeout="30s")
        try:
            [shared] = client.scatter([(model, scenario)], broadcast=True, hash=False)
            futures = [client.submit(_dask_block, task, shared, pure=False, retries=2)
                       for task in tasks]
            for future in as_completed(futures):
                yield future.result()
                future.release()
        finally:
            if own:
                client.close()
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
    # (no max_tasks_per_child: on CPython 3.11 a pool that replaces its workers can hang)
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=_pool_context(),
                             initializer=_init_worker, initargs=(model, scenario)) as own:
        yield from own.map(_worker_block, tasks)


def local_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """A process pool to pass as ``simulate(..., pool=)`` across many calls.

    Starting worker processes costs about a second; calibration makes many small calls, so it
    keeps one pool open: ``with local_pool(2) as pool: simulate(..., pool=pool)``.
    """
    n = (os.cpu_count() or 1) if workers is None or workers <= 0 else workers
    return ProcessPoolExecutor(max_workers=n, mp_context=_pool_context())


def _pool_context() -> Any:
    methods = mp.get_all_start_methods()
    return mp.get_context("forkserver" if "forkserver" in methods else "spawn")
