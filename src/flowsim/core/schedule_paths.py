"""Schedules in time: a schedule's value on a day, and its value put on a field's entries.

Used by the compiler (:mod:`flowsim.core.compile`) when it builds each epoch's tensors: a
schedule's value on a step's middle day is a factor on a hazard or an addition to the
attractiveness, applied to the countries and cohorts it names.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import numpy as np

from flowsim.core.fields import _Builder
from flowsim.scenario.schedules import SCHEDULE_FIELDS

__all__ = ["apply_schedule", "neutral", "schedule_value"]


def neutral(schedule: Any) -> float:
    """The value that leaves a field unchanged: factor 1, addition 0."""
    return 0.0 if SCHEDULE_FIELDS[schedule.field] == "shift" else 1.0


def schedule_value(schedule: Any, day: dt.date) -> float:
    """A schedule's value on ``day``: the first value before the first point, the last after
    the last; in between the last point's value (step) or the linear interpolation."""
    points = schedule.points
    if day <= points[0].date:
        return float(points[0].value)
    for a, b in itertools.pairwise(points):
        if day < b.date:
            if schedule.interpolate == "step":
                return float(a.value)
            w = (day - a.date).days / (b.date - a.date).days
            return float(a.value + w * (b.value - a.value))
    return float(points[-1].value)


def apply_schedule(schedule: Any, value: float, builder: _Builder, countries: list[str],
                    expand: Any, cohorts: list[str]) -> None:
    """Put one schedule's value for an epoch on its field's entries (countries x cohorts)."""
    if value == neutral(schedule):
        return
    chosen = expand(schedule.countries)
    idx = [i for i, c in enumerate(countries) if (chosen is None or c in chosen)]
    ks = [k for k, name in enumerate(cohorts)
          if schedule.cohorts is None or name in schedule.cohorts]
    index = np.ix_(idx, ks)
    if SCHEDULE_FIELDS[schedule.field] == "shift":
        builder.add(index, value)
    else:
        builder.multiply(index, value)
