"""Running ensembles: seeds, blocks of replicates, worker processes, parameters.

Randomness is derived, never added: the run's root ``SeedSequence`` gives block ``b`` the
stream ``SeedSequence(root.entropy, spawn_key=root.spawn_key + (b,))``. Replicates are
simulated in fixed-size blocks, so replicate ``i`` always sees the same stream and the same
draws whatever the number of worker processes, the order blocks run in, or whether the run
is a baseline or a counterfactual.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing as mp
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from flowsim.compile import CompiledModel, compile_scenario
from flowsim.engine import DEFAULT_RECORD, RECORDABLE, ExactSampler, record_shape, run_block
from flowsim.scenario.model import Scenario

__all__ = ["simulate", "seed_sequence", "block_seed", "resolve_params", "local_pool",
           "DEFAULT_BLOCK_SIZE", "plan_blocks", "BlockPlan", "run_tasks", "ParamRows"]

DEFAULT_BLOCK_SIZE = 250

SeedLike = int | np.random.SeedSequence | np.random.Generator | None


def seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    """Normalise a seed to a ``SeedSequence``.

    Parameters
    ----------
    seed : int, SeedSequence, Generator or None
        ``None`` draws fresh entropy (recorded in the results so the run can be repeated).
    """
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        ss = seed.bit_generator.seed_seq
        if not isinstance(ss, np.random.SeedSequence):
            raise TypeError("the Generator was not seeded from a SeedSequence")
        return ss
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an int, a SeedSequence, a Generator or None, not "
                        f"{type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must not be negative, got {seed}")
    return np.random.SeedSequence(int(seed))


def block_seed(root: np.random.SeedSequence, block: int) -> np.random.SeedSequence:
    """The stream of block ``block``: a child of ``root`` that does not depend on the others."""
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, block))


@dataclasses.dataclass(frozen=True)
class ParamRows:
    """Per-replicate parameters as rows of a table: replicate ``i`` takes ``table[rows[i]]``.

    A million replicates drawn from a posterior of a few thousand particles need the
    particles and one index per replicate (8 MB), not the (replicates × parameters) matrix
    (568 MB for the bundled scenario). :func:`simulate` and :func:`flowsim.stream` accept
    it as ``params``; each block's rows are made when the block is sent to a worker, so a
    streamed run never holds the matrix (on a Dask cluster every block is sent at the start,
    and the scheduler holds them all).

    Parameters
    ----------
    table : ndarray, shape (M, P)
        Complete parameter vectors, in declared order.
    rows : ndarray of int, shape (replicates,)
    """

    table: np.ndarray
    rows: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "table", np.asarray(self.table, dtype=float))
        object.__setattr__(self, "rows", np.asarray(self.rows, dtype=np.int64))
        if self.table.ndim != 2 or self.rows.ndim != 1:
            raise ValueError("ParamRows needs a (M, P) table and a one-dimensional rows")
        if self.rows.size and (self.rows.min() < 0 or self.rows.max() >= len(self.table)):
            raise ValueError(f"rows must index the table's {len(self.table)} rows")

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows.shape[0], self.table.shape[1])

    def __getitem__(self, key: slice) -> np.ndarray:
        """The parameter matrix of some replicates, e.g. ``params[0:250]``."""
        return self.table[self.rows[key]]

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return self.table[self.rows].astype(dtype or float, copy=False)

    def block(self, key: slice) -> _BlockRows:
        """The rows of one block, made only when used or sent to another process."""
        return _BlockRows(self.table, self.rows[key])


class _BlockRows(ParamRows):
    """One block's parameters, kept as a table and rows while its task waits in a queue;
    pickled (sent to a worker), it is the plain (B, P) matrix."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (np.asarray, (np.asarray(self),))


def resolve_params(model: CompiledModel, replicates: int,
                   params: Mapping[str, Any] | np.ndarray | ParamRows | None
                   ) -> np.ndarray | ParamRows:
    """The ``(replicates, parameters)`` matrix for a run.

    Parameters
    ----------
    params : None, mapping, array or ParamRows
        ``None``: every replicate takes the declared values. A mapping from parameter name
        to a number or to one value per replicate overrides those parameters. An array of
        shape ``(replicates, P)`` (or ``(P,)``) gives every value, in declared order.
        :class:`ParamRows` gives them as rows of a table (checked, and kept so).

    Returns
    -------
    ndarray, shape (replicates, P), or ParamRows
        Read-only when ``params`` is ``None`` (one row, broadcast: a million replicates
        take no more memory than one).
    """
    P = len(model.param_names)
    if isinstance(params, ParamRows):
        if params.shape != (replicates, P):
            raise ValueError(f"params has shape {params.shape}; expected ({replicates}, {P}) "
                             f"for parameters {', '.join(model.param_names) or '(none)'}")
        if not np.isfinite(params.table).all():
            raise ValueError("params holds values that are not finite")
        return params
    if params is None:  # one row seen R times: no memory per replicate
        return np.broadcast_to(model.param_defaults.astype(float), (replicates, P))
    if isinstance(params, Mapping):
        out = model.default_params(replicates)
        for name, value in params.items():
            if name not in model.param_names:
                from flowsim.errors import did_you_mean

                raise KeyError(f"unknown parameter {name!r}"
                               f"{did_you_mean(str(name), model.param_names)}")
            v = np.asarray(value, dtype=float)
            if v.ndim > 1 or (v.ndim == 1 and v.shape[0] != replicates):
                raise ValueError(f"parameter {name!r}: give one number or {replicates} values")
            if not np.isfinite(v).all():
                raise ValueError(f"parameter {name!r} holds values that are not finite")
            out[:, model.param_names.index(name)] = v
        return out
    arr = np.asarray(params, dtype=float)
    if arr.ndim == 1:
        arr = np.broadcast_to(arr, (replicates, arr.shape[0]))
    if arr.shape != (replicates, P):
        raise ValueError(f"params has shape {arr.shape}; expected ({replicates}, {P}) for "
                         f"parameters {', '.join(model.param_names) or '(none)'}")
    if not np.isfinite(arr).all():
        raise ValueError("params holds values that are not finite")
    return np.array(arr)


# -- worker processes ---------------------------------------------------------------------

# The model (and scenario) of the local worker processes, set once per process by the pool
# initializer; a user's own executor (``pool=``) gets them with every task instead.
_WORKER_CONTEXT: tuple[CompiledModel, Scenario | None] | None = None

Reducer = Callable[[Any], np.ndarray]


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
    from flowsim.results import Results

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


SAMPLING_MODES = ("exact", "coupled")


def make_sampler(ss: np.random.SeedSequence, sampling: str, first: int, size: int) -> Any:
    """The sampler of one block: its own stream (exact), or keyed uniforms (coupled).

    Parameters
    ----------
    ss : SeedSequence
        The block's stream (see :func:`block_seed`).
    sampling : {"exact", "coupled"}
    first, size : int
        Global index of the block's first replicate, and the number of replicates.
    """
    if sampling == "exact":
        return ExactSampler(np.random.Generator(np.random.PCG64(ss)))
    if sampling == "coupled":
        from flowsim.sampling import CoupledSampler

        # keyed on the run's root seed (the block's parent) and global replicate indices
        root = np.random.SeedSequence(ss.entropy, spawn_key=ss.spawn_key[:-1])
        key = int(root.generate_state(2, np.uint64)[0])
        return CoupledSampler(key, np.arange(first, first + size))
    raise ValueError(f"unknown sampling mode {sampling!r}; choose from {SAMPLING_MODES}")


def run_block_seeded(model: CompiledModel, params: np.ndarray, ss: np.random.SeedSequence,
                     record: Sequence[str], sampling: str = "exact", first: int = 0,
                     on_step: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    """Run one block with its own stream (the unit of work of every scheduler)."""
    sampler = make_sampler(ss, sampling, first, params.shape[0])
    return run_block(model, params, sampler, record, on_step=on_step)


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


@dataclasses.dataclass(frozen=True)
class BlockPlan:
    """A run cut into blocks: each block's parameters, stream and task.

    Attributes
    ----------
    record : tuple of str
        Variables the engine records.
    root : SeedSequence
        The run's root stream.
    params : ndarray, shape (replicates, P), or ParamRows
    n_blocks : int
    tasks : list of tuple
        One task per block, in the order they are to be sent: ``(block, params, seed key,
        record, sampling, first replicate, reduce)``.
    """

    record: tuple[str, ...]
    root: np.random.SeedSequence
    params: np.ndarray | ParamRows
    block_size: int
    n_blocks: int
    tasks: list[tuple[Any, ...]]

    def span(self, b: int) -> slice:
        """The replicates of block ``b``."""
        return slice(b * self.block_size,
                     min((b + 1) * self.block_size, self.params.shape[0]))


def plan_blocks(model: CompiledModel, replicates: int, seed: SeedLike,
                params: Mapping[str, Any] | np.ndarray | ParamRows | None, record: Sequence[str],
                block_size: int, sampling: str, reduce: Reducer | None = None,
                order: Sequence[int] | None = None) -> BlockPlan:
    """Check a run's arguments and cut it into block tasks (see :func:`simulate`)."""
    if isinstance(replicates, bool) or not isinstance(replicates, int | np.integer) \
            or replicates < 1:
        raise ValueError(f"replicates must be a positive whole number, got {replicates!r}")
    if block_size < 1:
        raise ValueError(f"block_size must be positive, got {block_size}")
    unknown = set(record) - set(RECORDABLE)
    if unknown:
        raise ValueError(f"cannot record {sorted(unknown)}; choose from {sorted(RECORDABLE)}")
    if sampling not in SAMPLING_MODES:
        raise ValueError(f"unknown sampling mode {sampling!r}; choose from {SAMPLING_MODES}")
    record = tuple(dict.fromkeys(record))
    root = seed_sequence(seed)
    P = resolve_params(model, int(replicates), params)
    n_blocks = math.ceil(replicates / block_size)
    order = list(range(n_blocks)) if order is None else list(order)
    if sorted(order) != list(range(n_blocks)):
        raise ValueError("_block_order must be a permutation of the block indices")
    plan = BlockPlan(record, root, P, int(block_size), n_blocks, [])
    for b in order:
        ss = block_seed(root, b)
        sl = plan.span(b)
        rows = P.block(sl) if isinstance(P, ParamRows) else P[sl]
        plan.tasks.append((b, rows, (ss.entropy, *ss.spawn_key), record, sampling, sl.start,
                           reduce))
    return plan


def simulate(
    scenario: Scenario | CompiledModel,
    replicates: int = 1000,
    seed: SeedLike = None,
    workers: int = 1,
    params: Mapping[str, Any] | np.ndarray | ParamRows | None = None,
    record: Sequence[str] = DEFAULT_RECORD,
    block_size: int = DEFAULT_BLOCK_SIZE,
    progress: Callable[[int, int], None] | None = None,
    sampling: str = "exact",
    client: Any = None,
    scheduler: str | None = None,
    pool: Any = None,
    reduce: Reducer | None = None,
    _block_order: Sequence[int] | None = None,
) -> Any:
    """Simulate an ensemble of replicates of a scenario.

    Parameters
    ----------
    scenario : Scenario or CompiledModel
    replicates : int
        Number of replicates.
    seed : int, SeedSequence, Generator or None
        The root of all randomness; the same seed gives the same numbers bit for bit,
        whatever ``workers`` is or the order blocks run in. With exact sampling, replicate
        ``i`` is reproduced by every run (with this seed and block size) that holds its whole
        block; with coupled sampling by every run, whatever its length, block size or the
        parameters of the other replicates.
    workers : int
        Local worker processes (1: run in this process; 0 or less: one per CPU).
    params : None, mapping, array or ParamRows
        Parameter values (see :func:`resolve_params`); one vector per replicate.
    record : sequence of str
        Variables to keep (default: all but ``flow``, which is large).
    block_size : int
        Replicates per block. Part of a run's identity: changing it changes the draws
        (with ``sampling="exact"``).
    sampling : {"exact", "coupled"}
        ``"exact"``: numpy's exact samplers, one stream per block. ``"coupled"``: draws keyed
        on (seed, replicate, step, event) and monotone in their uniform, so that runs of two
        scenarios with the same seed share their random numbers (common random numbers for
        paired comparisons; see :mod:`flowsim.sampling`).
    progress : callable, optional
        Called as ``progress(done, total)`` in steps of work, as blocks complete.
    client : distributed.Client, optional
        Send the blocks to this Dask cluster instead of local processes (``workers`` is then
        ignored). Needs the ``distributed`` extra.
    scheduler : str, optional
        The address of a Dask scheduler (``tcp://HOST:PORT``); a client is opened and closed
        for this run.
    pool : concurrent.futures.Executor, optional
        An executor kept across calls (see :func:`local_pool`); ``workers`` is then ignored.
    reduce : callable, optional
        Applied where each block ran to that block's :class:`~flowsim.Results` (its replicate
        coordinate counts from 0 within the block); it returns an array with one row per
        replicate of the block. ``simulate`` then returns these rows stacked in replicate
        order instead of a Results, so that big ensembles and calibrations move only the
        numbers they need. It must be picklable to run in worker processes (a module-level
        function or a ``functools.partial`` of one).

    Returns
    -------
    Results, or ndarray when ``reduce`` is given

    See Also
    --------
    flowsim.stream : the same replicates, summarised block by block into a NetCDF file,
        in memory bounded by the block size (for a million replicates).
    """
    from flowsim.results import Results

    model = scenario if isinstance(scenario, CompiledModel) else compile_scenario(scenario)
    scen = None if isinstance(scenario, CompiledModel) else scenario
    plan = plan_blocks(model, replicates, seed, params, record, block_size, sampling,
                       reduce, _block_order)
    record, root, P, n_blocks, span, tasks = (plan.record, plan.root, plan.params,
                                              plan.n_blocks, plan.span, plan.tasks)
    if workers is None or workers <= 0:
        workers = os.cpu_count() or 1

    data = {} if reduce is not None else {
        v: np.zeros((replicates, model.n_steps, *record_shape(model, v)), dtype=np.int32)
        for v in record}

    total_work = replicates * model.n_steps
    done = 0

    def store(b: int, out: dict[str, np.ndarray]) -> None:
        nonlocal done
        for v in record:
            data[v][span(b)] = out[v]
        done += (span(b).stop - span(b).start) * model.n_steps
        if progress is not None:
            progress(done, total_work)

    if reduce is not None:
        parts: dict[int, np.ndarray] = {}
        for b, rows in run_tasks(model, scen, tasks, workers, client, scheduler, pool):
            rows = np.asarray(rows)
            if rows.shape[:1] != (span(b).stop - span(b).start,):
                raise ValueError(f"reduce returned shape {rows.shape} for a block of "
                                 f"{span(b).stop - span(b).start} replicates; it must return "
                                 "one row per replicate")
            parts[b] = rows
            done += rows.shape[0] * model.n_steps
            if progress is not None:
                progress(done, total_work)
        return np.concatenate([parts[b] for b in range(n_blocks)], axis=0)
    for b, out in run_tasks(model, scen, tasks, workers, client, scheduler, pool):
        store(b, out)

    return Results.from_arrays(model, data, np.asarray(P), root=root, block_size=block_size,
                               scenario=scen, sampling=sampling)
