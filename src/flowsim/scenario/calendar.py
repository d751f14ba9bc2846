"""Step boundaries of a scenario's calendar."""

from __future__ import annotations

import calendar as _cal
import datetime as dt

from flowsim.scenario.model import Calendar

__all__ = ["step_edges"]


def step_edges(calendar: Calendar) -> list[dt.date]:
    """The first day of every step, followed by the day after the horizon ends.

    Steps are ``day``: one day; ``week``: seven days; ``month``: calendar months counted from
    the start date (the day of month clipped to the month's length). The last step may be
    shorter: it ends with ``calendar.end`` (inclusive).

    Returns
    -------
    list of date
        ``len(edges) - 1`` is the number of steps.
    """
    start, stop = calendar.start, calendar.end + dt.timedelta(days=1)
    edges = [start]
    i = 0
    while edges[-1] < stop:
        i += 1
        if calendar.step == "day":
            nxt = start + dt.timedelta(days=i)
        elif calendar.step == "week":
            nxt = start + dt.timedelta(weeks=i)
        else:
            month0 = start.month - 1 + i
            year, month = start.year + month0 // 12, month0 % 12 + 1
            day = min(start.day, _cal.monthrange(year, month)[1])
            nxt = dt.date(year, month, day)
        edges.append(min(nxt, stop))
    return edges
