"""The random streams of a calibration: children of its seed, and their generators.

A calibration's root ``SeedSequence`` has child 0 for the sampler's own draws and child 1
for the simulations; round ``r`` takes their ``r``-th children (see
:mod:`flowsim.calibration.sampler`). The children are derived, not spawned, so that a stream
does not depend on how many were taken before it. Used within :mod:`flowsim.calibration`
only.
"""

from __future__ import annotations

import numpy as np


def _child(ss: np.random.SeedSequence, *key: int) -> np.random.SeedSequence:
    """A derived stream (like ``spawn``, but without changing ``ss``)."""
    return np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, *key))


def _rng(ss: np.random.SeedSequence) -> np.random.Generator:
    """The generator of a stream (PCG64, as :func:`numpy.random.default_rng` would make)."""
    return np.random.Generator(np.random.PCG64(ss))
