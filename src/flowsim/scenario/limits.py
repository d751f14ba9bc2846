"""Limits on what a scenario may ask for: the number of steps of its horizon.

A scenario is input, possibly someone else's: a slip in a year (``start: 0001-01-01``) would
otherwise start a run of a hundred thousand steps. The loader refuses a horizon of more than
:data:`MAX_STEPS` steps, with a message that says how to raise the limit (``--max-steps``, or
the environment variable :data:`STEPS_VARIABLE`).
"""

from __future__ import annotations

import datetime as dt
import os
from calendar import monthrange
from typing import Any

__all__ = ["MAX_STEPS", "STEPS_VARIABLE", "step_count", "step_limit"]

#: The most steps a scenario may have unless the limit is raised: 27 years of days, 190 years
#: of weeks. (A horizon from the year 1 in weeks, 105,608 steps, takes 1.3 GB for 20
#: replicates of a small scenario; a typo in a year should not start that.)
MAX_STEPS = 10_000
#: The environment variable that raises (or lowers) :data:`MAX_STEPS`.
STEPS_VARIABLE = "FLOWSIM_MAX_STEPS"


def step_limit(max_steps: int | None = None) -> int:
    """The step limit: ``max_steps`` if given, else ``$FLOWSIM_MAX_STEPS``, else
    :data:`MAX_STEPS`.

    Raises
    ------
    ValueError
        If the environment variable is not a positive whole number.
    """
    if max_steps is not None:
        return int(max_steps)
    text = os.environ.get(STEPS_VARIABLE, "").strip().replace("_", "").replace(",", "")
    if not text:
        return MAX_STEPS
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{STEPS_VARIABLE} must be a positive whole number, got "
                         f"{os.environ[STEPS_VARIABLE]!r}")
    return int(text)


def step_count(calendar: Any) -> int:
    """The number of steps of a calendar, counted without listing them (as
    :func:`flowsim.scenario.calendar.step_edges` would make them)."""
    start, end = calendar.start, calendar.end
    if end < start:
        return 0
    days = (end - start).days + 1
    if calendar.step == "day":
        return days
    if calendar.step == "week":
        return -(-days // 7)
    # month i starts on the start's day of month, clipped to the month's length; the step
    # that starts in the end's month exists if it starts on or before the end
    n = (end.year - start.year) * 12 + end.month - start.month
    first = min(start.day, monthrange(end.year, end.month)[1])
    return n + 1 if dt.date(end.year, end.month, first) <= end else n
