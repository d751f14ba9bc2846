"""An ensemble in memory: :func:`simulate`.

The run is planned in blocks (:mod:`flowsim.ensemble.blocks`), the blocks run wherever
:mod:`flowsim.ensemble.workers` sends them, and their arrays are put together, in block
order, into one :class:`~flowsim.Results`. Replicate ``i`` gets the same stream, hence the
same numbers, whatever the number of processes or machines.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from flowsim.core.compile import CompiledModel, compile_scenario
from flowsim.core.engine import DEFAULT_RECORD, record_shape
from flowsim.ensemble.blocks import DEFAULT_BLOCK_SIZE, ParamRows, Reducer, SeedLike, plan_blocks
from flowsim.ensemble.workers import run_tasks
from flowsim.scenario.model import Scenario


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
        function or a ``functools.partial`` of one).

    Returns
    -------
    Results, or ndarray when ``reduce`` is given

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
