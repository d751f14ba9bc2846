"""Ensembles: many replicates of a compiled model, in blocks, on any number of processes.

* :mod:`flowsim.ensemble.blocks`: seeds (one ``SeedSequence``, a spawned stream per block),
  per-replicate parameters (:class:`ParamRows`) and the plan of a run's blocks;
* :mod:`flowsim.ensemble.workers`: where blocks run: here, in local worker processes, in
  the caller's pool or on a Dask cluster, with the same numbers everywhere;
* :mod:`flowsim.ensemble.simulation`: :func:`simulate`, an ensemble in memory;
* :mod:`flowsim.ensemble.streaming`: :func:`stream`, an ensemble reduced block by block to
  a NetCDF file, in memory bounded by the block size;
* :mod:`flowsim.ensemble.sketch`: mergeable histograms for the streamed quantiles.
"""

from flowsim.ensemble.blocks import (
    DEFAULT_BLOCK_SIZE,
    BlockPlan,
    ParamRows,
    SeedLike,
    block_seed,
    plan_blocks,
    resolve_params,
    seed_sequence,
)
from flowsim.ensemble.simulation import simulate
from flowsim.ensemble.streaming import stream
from flowsim.ensemble.workers import local_pool, run_tasks

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "BlockPlan",
    "ParamRows",
    "SeedLike",
    "block_seed",
    "local_pool",
    "plan_blocks",
    "resolve_params",
    "run_tasks",
    "seed_sequence",
    "simulate",
    "stream",
]
