"""An ensemble in memory: :func:`simulate`.

The run is planned in blocks (:mod:`flowsim.ensemble.blocks`), the blocks run wherever
:mod:`flowsim.ensemble.workers` sends them, and their arrays are put together, in block
order, into one :class:`~flowsim.Results`. Replicate ``i`` gets the same stream, hence the
same numbers, whatever the number of processes or machines.

Before any block runs, the size of the results is estimated (:func:`results_bytes`: steps ×
replicates × the numbers recorded per step, 4 bytes each, plus the parameters). A run whose
results would not fit comfortably in memory (more than :func:`memory_limit`: a quarter of
the machine's memory unless raised) is refused with :class:`ResultsTooLarge`, which says
the size and the ways out: :func:`flowsim.stream`, fewer variables, fewer replicates, or a
higher limit (``max_memory=``, or the environment variable :data:`MEMORY_VARIABLE`).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from flowsim.core.compile import CompiledModel, compile_scenario
from flowsim.core.engine import DEFAULT_RECORD, record_shape
from flowsim.ensemble.blocks import DEFAULT_BLOCK_SIZE, ParamRows, Reducer, SeedLike, plan_blocks
from flowsim.ensemble.processes import resolve_workers
from flowsim.ensemble.workers import run_tasks
from flowsim.scenario.model import Scenario

__all__ = ["MEMORY_VARIABLE", "ResultsTooLarge", "format_bytes", "memory_limit", "parse_size",
           "results_bytes", "simulate"]

#: The environment variable that sets the memory limit of a run held in memory (a size such
#: as ``16G``; see :func:`parse_size`).
MEMORY_VARIABLE = "FLOWSIM_MAX_MEMORY"
#: The share of the machine's memory that results may take by default: the results, and the
#: copies that summaries and files make of parts of them, then fit with room to spare.
MEMORY_SHARE = 0.25


class ResultsTooLarge(ValueError):
    """A run's results would not fit comfortably in memory; the message says how large they
    would be and what to do instead."""


_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str | float) -> int:
    """A size in bytes from ``"512M"``, ``"16G"``, ``"1.5 GiB"``, ``"2TB"`` or a number.

    Units are powers of 1024, whether written ``G``, ``GB`` or ``GiB``.

    Raises
    ------
    ValueError
        If the text is not a size.
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        if not math.isfinite(text) or text <= 0:
            raise ValueError(f"a size must be positive, got {text}")
        return int(text)
    found = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([kmgt]?)(?:i?b)?\s*", str(text),
                         re.IGNORECASE)
    if found is None or float(found.group(1)) <= 0:
        raise ValueError(f"not a size: {text!r} (write, for example, 512M or 16G)")
    return int(float(found.group(1)) * _UNITS[found.group(2).lower()])


def format_bytes(n: float) -> str:
    """``1.3 GB``, ``640 MB`` (powers of 1024, as :func:`parse_size` reads them)."""
    for unit, size in (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{int(n)} bytes"


def _machine_memory() -> int | None:
    """The memory this process may use: the machine's, or its container's limit if lower."""
    total = None
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        pass
    for name in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(name) as fh:
                text = fh.read().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < (total or math.inf):
            total = int(text)
    return total


def memory_limit(max_memory: int | str | None = None) -> tuple[int, str]:
    """The most bytes a run's results may take in memory, and where that limit comes from.

    ``max_memory`` if given, else :data:`MEMORY_VARIABLE`, else :data:`MEMORY_SHARE` of the
    machine's memory (of its container, if limited), else 4 GB.

    Returns
    -------
    (int, str)
        The limit in bytes, and its origin in words (for messages).
    """
    if max_memory is not None:
        return parse_size(max_memory), "max_memory"
    if os.environ.get(MEMORY_VARIABLE, "").strip():
        return parse_size(os.environ[MEMORY_VARIABLE]), MEMORY_VARIABLE
    total = _machine_memory()
    if total is None:  # pragma: no cover - not POSIX
        return 4 << 30, "the default"
    return int(total * MEMORY_SHARE), (f"a quarter of this machine's {format_bytes(total)} "
                                       "of memory")


def results_bytes(model: CompiledModel, replicates: int, record: Sequence[str]) -> int:
    """The bytes a run's results take in memory: steps × replicates × the numbers recorded
    per step (4-byte integers), plus one parameter vector (8-byte floats) per replicate."""
    per_step = sum(math.prod(record_shape(model, v)) for v in record)
    return int(replicates) * (model.n_steps * per_step * 4 + 8 * len(model.param_names))


def simulate(
    scenario: Scenario | CompiledModel,
    replicates: int = 1000,
    seed: SeedLike = 1,
    workers: int = 0,
    params: Mapping[str, Any] | np.ndarray | ParamRows | None = None,
    record: Sequence[str] = DEFAULT_RECORD,
    block_size: int = DEFAULT_BLOCK_SIZE,
    progress: Callable[[int, int], None] | None = None,
    sampling: str = "exact",
    client: Any = None,
    scheduler: str | None = None,
    pool: Any = None,
    reduce: Reducer | None = None,
    max_memory: int | str | None = None,
    _block_order: Sequence[int] | None = None,
) -> Any:
    """Simulate an ensemble of replicates of a scenario.

    Parameters
    ----------
    scenario : Scenario or CompiledModel
    replicates : int
        Number of replicates.
    seed : int, SeedSequence, Generator or None
        The root of all randomness (default 1, as ``flowsim run``: the same call gives the
        same numbers; ``None`` for fresh entropy); the same seed gives the same numbers bit
        for bit, whatever ``workers`` is or the order blocks run in. With exact sampling, replicate
        ``i`` is reproduced by every run (with this seed and block size) that holds its whole
        block; with coupled sampling by every run, whatever its length, block size or the
        parameters of the other replicates.
    workers : int
        Local worker processes (1: run in this process; 0 or less, the default as for
        ``flowsim run``: one per CPU; a run of one block runs here). Works in a script
        without an ``if __name__ == "__main__":`` guard, under ``python -c``, from stdin and
        in Jupyter (:mod:`flowsim.ensemble.processes`).
    params : None, mapping, array or ParamRows
        Parameter values (see :func:`resolve_params`); one vector per replicate.
    record : sequence of str
        Variables to keep (default: :data:`~flowsim.core.engine.DEFAULT_RECORD`, all but
        ``flow``, which is large, and the variables of later mechanisms; with it, a model
        that keeps returnees apart records ``first_departures`` too).
    block_size : int
        Replicates per block. Part of a run's identity: changing it changes the draws
        (with ``sampling="exact"``).
    sampling : {"exact", "coupled"}
        ``"exact"``: numpy's exact samplers, one stream per block. ``"coupled"``: draws keyed
        on (seed, replicate, step, event) and monotone in their uniform, so that runs of two
        scenarios with the same seed share their random numbers (common random numbers for
        paired comparisons; see :mod:`flowsim.core.samplers`).
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
        function or a ``functools.partial`` of one). Wrapped as
        :class:`~flowsim.ensemble.blocks.OnArrays`, it receives the block's raw arrays
        instead, which is faster where the model is small.
    max_memory : int or str, optional
        The most memory the results may take, in bytes or as ``"16G"`` (default: the
        environment variable ``FLOWSIM_MAX_MEMORY``, else a quarter of the machine's memory;
        see :func:`memory_limit`). Not checked with ``reduce``.

    Returns
    -------
    Results, or ndarray when ``reduce`` is given

    Raises
    ------
    ResultsTooLarge
        Before anything runs, when the results would take more than the memory limit; the
        message gives their size and the ways out (:func:`flowsim.stream`, fewer variables
        in ``record``, fewer replicates, a higher ``max_memory``).

    See Also
    --------
    flowsim.stream : the same replicates, summarised block by block into a NetCDF file,
        in memory bounded by the block size (for a million replicates).
    """
    from flowsim.results.dataset import Results

    model = scenario if isinstance(scenario, CompiledModel) else compile_scenario(scenario)
    scen = None if isinstance(scenario, CompiledModel) else scenario
    plan = plan_blocks(model, replicates, seed, params, record, block_size, sampling,
                       reduce, _block_order)
    record, root, P, n_blocks, span, tasks = (plan.record, plan.root, plan.params,
                                              plan.n_blocks, plan.span, plan.tasks)
    if reduce is None:
        _check_memory(model, replicates, record, max_memory)
    workers = resolve_workers(workers)

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


def _check_memory(model: CompiledModel, replicates: int, record: Sequence[str],
                  max_memory: int | str | None) -> None:
    need = results_bytes(model, replicates, record)
    limit, origin = memory_limit(max_memory)
    if need <= limit:
        return
    raise ResultsTooLarge(
        f"{replicates:,} replicates × {model.n_steps:,} steps of {len(record)} variables "
        f"would take {format_bytes(need)} in memory, more than the limit of "
        f"{format_bytes(limit)} ({origin}). Stream them to a file instead "
        "(flowsim.stream(...): memory bounded by the block size, whatever the number of "
        "replicates), record fewer variables (record=...), run fewer replicates, or raise "
        f"the limit (max_memory=..., or the environment variable {MEMORY_VARIABLE})")
