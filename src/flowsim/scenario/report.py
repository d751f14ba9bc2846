"""What summaries and comparisons report: headline dates, windows and groups of countries.

Nothing here changes a simulated number; it says which numbers the summary table, the
streamed headline and the comparisons give, and how tables and figures name them. Every
field has a default derived from the scenario itself (its calendar, shocks and groups), so a
scenario without a ``report:`` section still gets a summary that fits it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field, PositiveInt

from flowsim.scenario.values import Date, Name, Names, _Model

__all__ = ["Report", "Window", "label", "report_blocs", "report_dates", "report_groups",
           "report_settled_in", "report_windows"]


class Window(_Model):
    """A named period whose departures the summary reports."""

    name: str = Field(description="What the window is, in words (a row of the summary).",
                      examples=["departures after the mobilization"])
    start: Date = Field(description="First day.", examples=["2022-09-21"])
    end: Date = Field(description="Last day (inclusive).", examples=["2022-11-01"])
    cohorts: Names | None = Field(
        None, description="Cohorts counted (default: all).", examples=[["men_conscription"]])


class Report(_Model):
    """What the summary and the comparisons report (see :mod:`flowsim.scenario.report`)."""

    dates: tuple[Date, ...] | None = Field(
        None, description="Dates of the cumulative departures in the summary (default: 90 days "
        "after the start, every 31 December inside the calendar, and its last day).",
        examples=[["2022-12-31", "2023-12-31"]])
    windows: tuple[Window, ...] | None = Field(
        None, description="Periods whose departures the summary gives (default: `window_days` "
        "after each shock, for the cohorts it hits).",
        examples=[[{"name": "after the mobilization", "start": "2022-09-21",
                    "end": "2022-11-01"}]])
    window_days: PositiveInt = Field(
        42, description="Length of the default windows after each shock.", examples=[42],
        json_schema_extra={"unit": "days"})
    groups: Names | None = Field(
        None, description="Groups of countries whose share of the people abroad the summary "
        "gives (default: every group the scenario declares, in order).",
        examples=[["west", "post_soviet"]])
    blocs: dict[Name, Names] | None = Field(
        None, description="Blocs of countries that comparisons report, by name: each a list of "
        "groups or country ids (default: one bloc per group of `groups`).",
        examples=[{"west": ["west"], "post_soviet_and_neutral": ["post_soviet", "neutral"]}])
    settled_in: Names | None = Field(
        None, description="Blocs where comparisons also report the settled (people with a "
        "permit or protection; default: every bloc).", examples=[["west"]])
    labels: dict[Name, str] = Field(
        default_factory=dict, description="Names in words of groups and blocs, for tables and "
        "figures (default: the name with spaces for underscores).",
        examples=[{"post_soviet_and_neutral": "post-Soviet & neutral states"}])


def report_groups(scenario: Any) -> list[str]:
    """The groups whose share of those abroad the summary gives: ``report.groups``, or every
    group the scenario declares (under ``groups:``, then in countries' lists), in order."""
    if scenario.report.groups is not None:
        return list(scenario.report.groups)
    names = list(scenario.groups)
    for c in scenario.countries:
        names += [g for g in c.groups if g not in names]
    return names


def report_blocs(scenario: Any) -> dict[str, tuple[str, ...]]:
    """The blocs comparisons report, name -> groups or country ids (``report.blocs``, or one
    bloc per group of :func:`report_groups`)."""
    if scenario.report.blocs is not None:
        return {k: tuple(v) for k, v in scenario.report.blocs.items()}
    return {g: (g,) for g in report_groups(scenario)}


def report_settled_in(scenario: Any) -> list[str]:
    """The blocs where comparisons also report the settled."""
    blocs = report_blocs(scenario)
    chosen = scenario.report.settled_in
    return list(blocs) if chosen is None else [b for b in chosen if b in blocs]


def report_dates(scenario: Any, first: dt.date, last: dt.date) -> list[dt.date]:
    """The dates of the summary's cumulative departures, inside ``[first, last]``."""
    dates = scenario.report.dates if scenario is not None else None
    if dates is None:
        dates = [first + dt.timedelta(days=90),
                 *(dt.date(y, 12, 31) for y in range(first.year, last.year + 1)), last]
    return sorted({d for d in dates if first <= d <= last})


def report_windows(scenario: Any, last: dt.date) -> list[tuple[str, dt.date, dt.date,
                                                               tuple[str, ...] | None]]:
    """The summary's windows as ``(name, start, end, cohorts)``: ``report.windows``, or
    ``window_days`` after each shock (shocks of the same day and cohorts share a window)."""
    rep = scenario.report
    if rep.windows is not None:
        return [(w.name, w.start, min(w.end, last), w.cohorts) for w in rep.windows
                if w.start <= last]
    by_key: dict[tuple[Any, Any], list[str]] = {}
    for sh in scenario.shocks:
        if sh.date <= last:
            by_key.setdefault((sh.date, sh.cohorts), []).append(sh.name)
    out = []
    for (date, cohorts), names in by_key.items():
        end = min(date + dt.timedelta(days=rep.window_days), last)
        name = f"departures after {' and '.join(names)}" + (
            f" ({', '.join(cohorts)})" if cohorts else "")
        out.append((name, date, end, cohorts))
    return out


def label(scenario: Any, name: str) -> str:
    """A group's or bloc's name in words (``report.labels``, else underscores as spaces)."""
    labels = scenario.report.labels if scenario is not None else {}
    return labels.get(name, name.replace("_", " "))
