"""The run settings the ABC samplers share, defined, checked and documented once.

:func:`~flowsim.calibration.rejection.rejection_abc` and
:func:`~flowsim.calibration.smc.abc_smc` take the same keywords for how a calibration runs
(``seed``, ``workers``, ``replicates_per_particle``, ``norm``, ``parameters``,
``batch_memory``, ``client``, ``pool``, ``block_size``). Each keeps them in its own signature,
so that a user's editor and :func:`help` show them, but here they are defined once:

* :class:`RunSettings`: the settings with their defaults, checked when built; each sampler
  packs its keywords into one and hands it to :class:`~flowsim.calibration.sampler._Run`;
* :data:`RUN_SETTINGS_DOC`: their numpydoc entries, which :func:`documents_run_settings`
  puts into each sampler's docstring (at its line ``{run settings}``), after checking that
  the sampler takes every setting as a keyword with the same default, so that a signature
  cannot drift from the definition;
* :data:`DEFAULT_CALIBRATION_BLOCK` and :func:`_check_positive_int`, which the samplers and
  the posterior-predictive check use too.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from flowsim.calibration.distance import Norm
from flowsim.ensemble.blocks import SeedLike

__all__ = ["DEFAULT_CALIBRATION_BLOCK", "RUN_SETTINGS_DOC", "RunSettings",
           "documents_run_settings"]

#: Replicates per block in calibration. Small, so that the Metropolis-Hastings rounds of
#: ``method="mcmc"`` (a hundred or so candidates each) keep two workers busy; per core, the
#: bundled scenario runs about 10 % slower in blocks of 50 than of 100 (25 %: 25), while a
#: round of 110 candidates finishes in 60 block-units of time instead of 100. Part of a
#: calibration's identity, like ``simulate``'s ``block_size`` (``workers`` is not).
DEFAULT_CALIBRATION_BLOCK = 50


def _check_positive_int(name: str, v: Any) -> int:
    """``v`` as an int if it is a whole number >= 1 (not a bool); else a ValueError."""
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
        raise ValueError(f"{name} must be a positive whole number, got {v!r}")
    return int(v)


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """How a calibration runs: the keywords every ABC sampler takes.

    The attributes are the samplers' keywords of the same names, with the same defaults
    (see :data:`RUN_SETTINGS_DOC`). Building one checks them: ``replicates_per_particle``
    and ``block_size`` become ints, ``parameters`` a tuple.

    Raises
    ------
    ValueError
        If ``replicates_per_particle`` or ``block_size`` is not a positive whole number, or
        ``batch_memory`` is not positive.
    """

    seed: SeedLike = 1
    workers: int = 0
    replicates_per_particle: int = 1
    norm: Norm = "rms"
    parameters: Sequence[str] | None = None
    batch_memory: float = 2**30
    client: Any = None
    pool: Any = None
    block_size: int = DEFAULT_CALIBRATION_BLOCK

    def __post_init__(self) -> None:
        # in the order the samplers have always checked them, so the same error comes first
        k = _check_positive_int("replicates_per_particle", self.replicates_per_particle)
        block_size = _check_positive_int("block_size", self.block_size)
        if not self.batch_memory > 0:
            raise ValueError(f"batch_memory must be positive, got {self.batch_memory}")
        # frozen: the normalised values are set the one way a frozen dataclass allows
        object.__setattr__(self, "replicates_per_particle", k)
        object.__setattr__(self, "block_size", block_size)
        if self.parameters is not None:
            object.__setattr__(self, "parameters", tuple(self.parameters))


#: The numpydoc ``Parameters`` entries of the run settings, as each sampler documents them.
RUN_SETTINGS_DOC = """\
seed : int, SeedSequence, Generator or None
    The calibration's root seed: the same seed gives the same posterior bit for bit,
    whatever the number of workers (see :mod:`flowsim.calibration.sampler`). Default 1,
    as ``flowsim calibrate`` (``None``: fresh entropy).
workers : int
    Worker processes for the simulations (results do not depend on it). Default 0: one
    per CPU, as ``flowsim calibrate`` (and ``flowsim.simulate``); a script that starts
    workers needs an ``if __name__ == "__main__":`` guard only where it defines functions
    the workers need (see :mod:`flowsim.ensemble.processes`); 1 runs in this process.
replicates_per_particle : int
    Simulations of each candidate: a candidate is accepted when at least one of its
    replicates is within the tolerance, and weighted by the fraction that are (see
    :mod:`flowsim.calibration.smc`).
norm : {"rms", "max"}
    How target distances combine (see :mod:`flowsim.calibration.distance`).
parameters : sequence of str, optional
    Estimate only these parameters (default: every parameter with a prior).
batch_memory : float
    Bytes the sampler may hold for one batch of candidates (their parameter rows and
    observables, 8 bytes each); caps the batch size. The engine's arrays never reach
    the sampler: each block is reduced to its observables where it ran (see
    :func:`flowsim.simulate`'s ``reduce``), so the default (1 GiB) does not bind.
client : distributed.Client, optional
    Run the simulations on this Dask cluster (see :func:`flowsim.simulate`); a client
    kept open across the calibration avoids starting workers in every round.
pool : concurrent.futures.Executor, optional
    A process pool to run the blocks in (see :func:`flowsim.simulate.local_pool`), e.g.
    one shared with a posterior-predictive check. Default: with ``workers > 1`` and no
    ``client``, a pool of ``workers`` processes is started for the calibration and kept
    for all its rounds.
block_size : int
    Replicates per block of work (see
    :data:`~flowsim.calibration.settings.DEFAULT_CALIBRATION_BLOCK`); part of the
    calibration's identity: changing it changes the draws. ``workers`` does not."""

#: The line of a sampler's docstring that :func:`documents_run_settings` replaces.
MARKER = "{run settings}"

F = TypeVar("F", bound=Callable[..., Any])


def documents_run_settings(func: F) -> F:
    """Decorate a sampler: check its run-settings keywords, and document them.

    Parameters
    ----------
    func : callable
        A sampler that takes every field of :class:`RunSettings` as a keyword-only
        argument with the field's default, and whose docstring has the line
        ``{run settings}`` in its ``Parameters`` section.

    Returns
    -------
    callable
        ``func`` itself (not a wrapper: its signature and introspection are untouched), its
        docstring's marker line replaced by :data:`RUN_SETTINGS_DOC` at the same indent.

    Raises
    ------
    TypeError
        At import, if a setting is missing from the signature, is not keyword-only or has
        another default, or if the docstring lacks the marker.
    """
    signature = inspect.signature(func).parameters
    for field in dataclasses.fields(RunSettings):
        arg = signature.get(field.name)
        if arg is None or arg.kind is not inspect.Parameter.KEYWORD_ONLY or \
                arg.default != field.default:
            raise TypeError(f"{func.__qualname__} must take {field.name}="
                            f"{field.default!r} as a keyword, as RunSettings defines it")
    lines = (func.__doc__ or "").split("\n")
    at = [i for i, line in enumerate(lines) if line.strip() == MARKER]
    if len(at) != 1:
        raise TypeError(f"the docstring of {func.__qualname__} needs one line {MARKER!r}")
    line = lines[at[0]]
    indent = line[:len(line) - len(line.lstrip())]
    section = [indent + s if s else s for s in RUN_SETTINGS_DOC.split("\n")]
    func.__doc__ = "\n".join(lines[:at[0]] + section + lines[at[0] + 1:])
    return func
