"""What every shock shares, on departures or on a hazard abroad: its compiled multiplier and
half-life, and its factor on each day of a step.

A shock multiplies a hazard by ``1 + (multiplier - 1) * 0.5 ** (days since / half_life)``
while it is in force (no decay without a half-life). :func:`shock_fields` builds the
multiplier (per cohort, 1 for cohorts it does not hit) and the half-life as parameter-aware
fields; :func:`daily_factor` gives the factor on each day of a step, which
:func:`flowsim.core.engine.shock_multiplier` (departures) and
:func:`flowsim.core.abroad.hazard_factors` (hazards abroad) multiply and average.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from flowsim.core.fields import Field, _Builder

__all__ = ["daily_factor", "shock_fields"]


def shock_fields(shock: Any, cohorts: list[str], slots: dict[str, int]
                 ) -> tuple[Field, Field | None]:
    """A scenario shock's multiplier, shape ``(cohorts,)`` (1 for the cohorts it does not
    hit), and its half-life, shape ``()`` (``None`` without one)."""
    mult = _Builder((len(cohorts),), slots, fill=1.0)
    hit = set(shock.cohorts) if shock.cohorts is not None else set(cohorts)
    for k, name in enumerate(cohorts):
        if name in hit:
            mult.set(k, shock.multiplier.get(name, shock.multiplier.get("default", 1.0)))
    if shock.half_life_days is None:
        return mult.field(), None
    hb = _Builder((), slots)
    hb.set((), shock.half_life_days)
    return mult.field(), hb.field()


def daily_factor(spec: Any, day: np.ndarray, params: np.ndarray) -> np.ndarray | None:
    """A compiled shock's factor on each of a step's days, ``(1|B, D, K)``; ``None`` when it
    is in force on none of them.

    ``spec`` has ``start_day``, ``end_day``, ``multiplier`` and ``half_life_days`` (a
    :class:`~flowsim.core.compile.ShockSpec` or :class:`~flowsim.core.abroad.HazardShockSpec`).
    """
    active = (day >= spec.start_day) & (day <= spec.end_day)
    if not active.any():
        return None
    since = np.where(active, day - spec.start_day, 0.0)
    if spec.half_life_days is None:
        decay = active.astype(float)[None, :]  # (1, D)
    else:
        hl = spec.half_life_days.values(params).reshape(-1, 1)  # (1|B, 1)
        decay = np.where(active[None, :], np.exp2(-since[None, :] / hl), 0.0)  # (1|B, D)
    mult = spec.multiplier.values(params)  # (1|B, K)
    return 1.0 + (mult[:, None, :] - 1.0) * decay[:, :, None]
