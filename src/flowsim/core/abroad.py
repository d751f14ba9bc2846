"""Hazards abroad that are not fixed by the epoch: shocks on them, and regularisations that
only those present before a cut-off date get.

**Shocks abroad.** A shock with a ``field`` multiplies that hazard of the people in its
countries (:class:`HazardShockSpec`); :func:`hazard_factors` gives, for one step, the mean
over its days of the product of the multipliers in force, per field, as the emigration
shocks of :func:`flowsim.core.engine.shock_multiplier` are averaged.

**Regularisation before a cut-off.** A policy's ``settle_hazard`` with
``settle_arrived_before`` holds only for the people present in the country on the cut-off
day and present ever since. Hazards do not depend on the time spent in a compartment, so at
any later step the present people who were there on the cut-off day are a uniformly random
subset of the present: the engine keeps their count per (replicate, country, cohort)
(:class:`Eligible`), draws their events apart from the others' (their settle hazard
differs), and where movers find no route and stay, draws how many of the stayers were
eligible (hypergeometric: the stayers are a uniformly random subset of the movers).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from flowsim.core.fields import Field
from flowsim.core.shocks import daily_factor, shock_fields

__all__ = ["Eligible", "HazardShockSpec", "compile_hazard_shocks", "cutoff_steps",
           "hazard_factors"]


@dataclasses.dataclass(frozen=True)
class HazardShockSpec:
    """One shock on a hazard of people abroad: the field, the countries, its days and size."""

    name: str
    field: str  # e.g. "return_hazard"
    countries: np.ndarray  # (C,) bool: the countries it acts in
    start_day: int  # day index (0 = calendar start) of the shock
    end_day: float  # last day in force (inf: open-ended)
    multiplier: Field  # shape (cohorts,); 1 for cohorts not hit
    half_life_days: Field | None  # shape (); None: no decay


def compile_hazard_shocks(scenario: Any, countries: list[str], cohorts: list[str],
                          slots: dict[str, int], expand: Callable[[Any], set[str] | None]
                          ) -> tuple[HazardShockSpec, ...]:
    """The scenario's shocks that have a ``field`` (the others act on departures)."""
    origin = scenario.origin.id
    out = []
    for sh in scenario.shocks:
        if sh.field is None:
            continue
        chosen = expand(sh.countries)
        where = np.array([c != origin and (chosen is None or c in chosen) for c in countries],
                         dtype=bool)
        mult, hl = shock_fields(sh, cohorts, slots)
        where.setflags(write=False)
        start = scenario.calendar.start
        out.append(HazardShockSpec(
            name=sh.name, field=sh.field, countries=where, start_day=(sh.date - start).days,
            end_day=math.inf if sh.end is None else float((sh.end - start).days),
            multiplier=mult, half_life_days=hl))
    return tuple(out)


def hazard_factors(shocks: Sequence[HazardShockSpec], params: np.ndarray, first_day: int,
                   days: int, n_countries: int, n_cohorts: int) -> dict[str, np.ndarray]:
    """Per hazard field with a shock in force in the step, the mean over the step's days of
    the product of the shocks' multipliers, ``(1|B, C, K)`` (fields with none are absent)."""
    day = np.arange(first_day, first_day + days, dtype=float)  # (D,)
    total: dict[str, np.ndarray] = {}
    for sh in shocks:
        f = daily_factor(sh, day, params)  # (1|B, D, K)
        if f is None:
            continue
        f = np.where(sh.countries[None, None, :, None], f[:, :, None, :], 1.0)  # (1|B, D, C, K)
        prev = total.get(sh.field, np.ones((1, days, n_countries, n_cohorts)))
        total[sh.field] = prev * f
    return {name: t.mean(axis=1) for name, t in total.items()}


def cutoff_steps(scenario: Any, countries: list[str], step_starts: Sequence[dt.date],
                 step_ends: Sequence[dt.date], expand: Callable[[Any], set[str] | None]
                 ) -> np.ndarray:
    """``(C,)`` int: for each country with a regularisation cut-off, the step at whose start
    the eligible are counted (the step holding the cut-off day, 0 for a day before the
    calendar); -1 elsewhere."""
    out = np.full(len(countries), -1, dtype=np.int64)
    origin = scenario.origin.id
    for p in scenario.policies:
        if p.country is None or p.country.settle_arrived_before is None:
            continue
        d = p.country.settle_arrived_before
        step = next((t for t, end in enumerate(step_ends) if d <= end), len(step_ends) - 1)
        if d < step_starts[0]:
            step = 0
        chosen = expand(p.select.countries)
        for i, c in enumerate(countries):
            if c != origin and (chosen is None or c in chosen):
                out[i] = step
    out.setflags(write=False)
    return out


class Eligible:
    """The present people of each tracked country who are eligible for a regularisation
    (present on its cut-off day and ever since), for one block: ``count`` (B, n, K)."""

    def __init__(self, cutoff_step: np.ndarray, B: int, K: int) -> None:
        self.countries = np.flatnonzero(cutoff_step >= 0)  # the tracked countries
        self.step = cutoff_step[self.countries]
        self.count = np.zeros((B, self.countries.size, K), dtype=np.int64)
        self.first = int(self.step.min())
        self.rows = np.repeat(np.arange(B), self.countries.size * K)
        # keyed samplers key each draw on (replicate, group): one group per country and cohort
        self.groups = np.tile((self.countries[:, None] * K + np.arange(K)[None, :]).ravel(), B)

    def snapshot(self, t: int, present: np.ndarray) -> None:
        """At the start of step ``t``: those present where the cut-off falls in ``t``."""
        now = np.flatnonzero(self.step == t)
        if now.size:
            self.count[:, now] = present[:, self.countries[now]]

    def stayed(self, sampler: Any, site: int, movers: np.ndarray, eligible_movers: np.ndarray,
               stayed: np.ndarray) -> None:
        """Movers of the tracked countries who found no route stay, and so stay eligible: of
        the ``stayed`` (B, n, K) of ``movers``, the eligible are hypergeometric."""
        if not (eligible_movers.any() and stayed.any()):
            return
        back = sampler.hypergeometric(eligible_movers.ravel(),
                                      (movers - eligible_movers).ravel(), stayed.ravel(),
                                      site, (self.rows, self.groups))
        self.count += back.reshape(self.count.shape)
