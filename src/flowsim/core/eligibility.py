"""Eligibility flags that only a share of a cohort holds: the classes of movers they make.

A cohort's ``eligible`` may give a flag a share (``{humanitarian: 0.3}``). As with the
international passport, the share is not a state: every mover of the cohort holds the flag
with that probability, independently of the passport and of the other flags, and the route
choice is the mixture over the ``2 ** F`` combinations (*classes*) of the ``F`` flags that
some cohort holds in part. :class:`FlagClasses` holds, per epoch, which routes each class may
use; :meth:`FlagClasses.probabilities` the probability of each class per replicate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from flowsim.core.fields import Field, _Builder

__all__ = ["FlagClasses", "flag_classes", "requirements_met"]


@dataclasses.dataclass(frozen=True)
class FlagClasses:
    """The classes of movers made by flags held in part (``G = 2 ** F`` classes).

    Class ``g`` holds partial flag ``i`` where bit ``i`` of ``g`` is set, and the flags its
    cohort holds whole.
    """

    flags: tuple[str, ...]  # (F,) the flags some cohort holds in part
    share: Field  # (F, K) the share of each cohort holding each of them
    eligible: np.ndarray  # (E, G, R, K) bool: the class holds the flags the route requires
    humanitarian: np.ndarray  # (G, K) bool: the class may use humanitarian_only routes

    @property
    def n_classes(self) -> int:
        return 2 ** len(self.flags)

    def probabilities(self, params: np.ndarray) -> np.ndarray:
        """The probability of each class for each cohort, ``(1|B, G, K)``: a product over
        the flags of the share (flag held) or one less the share (not held)."""
        s = self.share.values(params)  # (1|B, F, K)
        G, F = self.n_classes, len(self.flags)
        bits = ((np.arange(G)[:, None] >> np.arange(F)[None, :]) & 1).astype(bool)  # (G, F)
        p = np.where(bits[None, :, :, None], s[:, None, :, :], 1.0 - s[:, None, :, :])
        return p.prod(axis=2)


def requirements_met(requires: Sequence[Sequence[set[str]]], held: Sequence[set[str]]
                     ) -> np.ndarray:
    """``(R, K)`` bool: whether cohort ``k`` holding ``held[k]`` has every flag route ``r``
    requires of it (``requires[r][k]``)."""
    R, K = len(requires), len(held)
    return np.array([[requires[r][k] <= held[k] for k in range(K)] for r in range(R)],
                    dtype=bool).reshape(R, K)


def flag_classes(cohorts: Sequence[Any], requires: Sequence[Sequence[Sequence[set[str]]]],
                 slots: dict[str, int]) -> tuple[list[set[str]], FlagClasses | None]:
    """The flags each cohort may hold, and the classes of partial flags (``None``: none).

    Parameters
    ----------
    cohorts : the scenario's cohorts
    requires : per epoch, per route and cohort, the flags the route requires
    slots : parameter columns

    Returns
    -------
    (held, classes)
        ``held[k]``: the flags cohort ``k`` holds in whole or in part (what the open-route
        mask of the cohort uses: a route is open to the cohort when some class may use it);
        ``classes``: the classes, or ``None`` when every flag is held whole or not at all.
    """
    shares = [c.flag_shares() for c in cohorts]
    # a flag with share 0 is not held; a parameter may be anything from 0 to 1
    held = [{f for f, v in sh.items() if isinstance(v, str) or v > 0} for sh in shares]
    partial = sorted({f for sh in shares for f, v in sh.items()
                      if isinstance(v, str) or 0.0 < v < 1.0})
    if not partial:
        return held, None
    K, F = len(cohorts), len(partial)
    share = _Builder((F, K), slots)
    for k, sh in enumerate(shares):
        for i, f in enumerate(partial):
            share.set((i, k), sh.get(f, 0.0))
    whole = [{f for f in h if f not in partial} for h in held]
    G = 2 ** F
    by_class = [[whole[k] | {f for i, f in enumerate(partial) if g >> i & 1 and f in held[k]}
                 for k in range(K)] for g in range(G)]
    eligible = np.stack([np.stack([requirements_met(req, by_class[g]) for g in range(G)])
                         for req in requires])
    humanitarian = np.array([["humanitarian" in by_class[g][k] for k in range(K)]
                             for g in range(G)], dtype=bool).reshape(G, K)
    for a in (eligible, humanitarian):
        a.setflags(write=False)
    return held, FlagClasses(tuple(partial), share.field(), eligible, humanitarian)
