"""An ensemble cut into blocks: seeds, per-replicate parameters, the plan of a run.

Randomness is derived, never added: the run's root ``SeedSequence`` gives block ``b`` the
stream ``SeedSequence(root.entropy, spawn_key=root.spawn_key + (b,))``. Replicates are
simulated in fixed-size blocks, so replicate ``i`` always sees the same stream and the same
draws whatever the number of worker processes, the order blocks run in, or whether the run
is a baseline or a counterfactual.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from flowsim.core.compile import CompiledModel
from flowsim.core.engine import (
    DEFAULT_RECORD,
    RECORDABLE,
    check_record,
    default_record,
    run_block,
)
from flowsim.core.samplers import ExactSampler

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "BlockPlan",
    "ParamRows",
    "block_seed",
    "plan_blocks",
    "resolve_params",
    "seed_sequence",
]

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
        from flowsim.core.samplers import CoupledSampler

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
    if record == DEFAULT_RECORD:
        record = default_record(model)
    check_record(model, record)
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


Reducer = Callable[[Any], np.ndarray]


@dataclasses.dataclass(frozen=True)
class OnArrays:
    """A ``reduce`` for :func:`flowsim.simulate` that reads a block's raw arrays.

    Given as ``reduce=OnArrays(f)``, ``f`` receives the engine's recorded arrays of the block
    (a dict from variable name to its array, ``(replicates, steps, ...)``, as in
    :data:`flowsim.core.engine.RECORDABLE`) instead of a labelled :class:`~flowsim.Results`.
    Labelling a block as an xarray Dataset costs more than simulating it when the model is
    small (measured: 44 % of a calibration of the one-parameter chain toy), and a reduction
    to a few numbers per replicate needs no labels. ``f`` must pickle, as any ``reduce``.
    """

    func: Callable[[dict[str, np.ndarray]], np.ndarray]

    def __call__(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        return self.func(arrays)
