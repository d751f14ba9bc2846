"""Whole-scenario checks of targets and of the validation set: ids, places, cohorts, dates.

The validation set (``validation:``) has the format of ``targets:`` and is checked the same
way, each problem at its place in the file (the targets file, where they come from one).
:func:`check_targets` is one of the checks :func:`flowsim.scenario.checks.check_scenario`
runs; it reads the scenario through the checks' context (countries, groups, cohorts, the
calendar).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flowsim.scenario.found import Found, duplicates, unknown_names
from flowsim.scenario.targets import AT_DATE

__all__ = ["ASYLUM_OBSERVABLES", "check_targets"]

ASYLUM_OBSERVABLES = frozenset({"asylum_applications", "asylum_grants", "recognition_share",
                                "asylum_decisions"})


def _all_known(ctx: Any, names: Any) -> bool:
    """Whether every name is a valid country or group (so what it selects can be judged)."""
    places = set(ctx.places()) - set(ctx.also_countries) - set(ctx.also_groups)
    return all(n in places for n in names or ())


def check_targets(ctx: Any) -> Iterator[Found]:
    """Targets and the validation set (the same format, checked the same way): unique ids,
    known places and cohorts (of a ratio's sides too), dates inside the horizon."""
    validation = tuple(getattr(ctx.s, "validation", ()) or ())
    yield from duplicates(ctx.targets, "id", "targets", "target")
    yield from duplicates(validation, "id", "validation", "validation figure")
    for section, items in (("targets", ctx.targets), ("validation", validation)):
        for i, t in enumerate(items):
            yield from _check_target(ctx, t, (section, i))


def _check_target(ctx: Any, t: Any, here: tuple[Any, ...]) -> Iterator[Found]:
    yield from _check_measure(ctx, t, t.observable, t.where, t.cohorts, here)
    for side in ("numerator", "denominator"):
        m = getattr(t, side, None)
        if m is not None:
            yield from _check_measure(ctx, t, m.observable, m.where, m.cohorts,
                                      (*here, side), own=True)
    if ctx.calendar is None:
        return
    dated: list[tuple[tuple[Any, ...], Any]] = []
    if t.observable in AT_DATE:
        dated += [((*here, "at"), t.at), ((*here, "since"), t.since)]
    for side in ("numerator", "denominator"):
        m = getattr(t, side, None)
        if m is not None:
            dated.append(((*here, side, "at"), m.at))
    for path, d in dated:
        if d is not None and not ctx.in_horizon(d):
            yield (path, f"{d} is outside the horizon ({ctx.horizon()})", "error")
    periods: list[tuple[tuple[Any, ...], Any, Any]] = []
    change_series = t.observable in AT_DATE and t.kind == "series"
    if t.observable not in AT_DATE or change_series:
        if t.windows is not None:
            periods += [((*here, "windows", k), w.start, w.end)
                        for k, w in enumerate(t.windows)]
        else:
            periods.append((here, t.start, t.end))
    if change_series:
        yield from _check_change_starts(ctx, t, periods)
    for side in ("numerator", "denominator"):
        m = getattr(t, side, None)
        if m is not None and (m.start is not None or m.end is not None):
            periods.append(((*here, side), m.start or t.start, m.end or t.end))
    for path, start, end in periods:
        if start is None or end is None:
            continue
        # A period may start before the horizon (nothing happens there in the model);
        # it may not end after it, or lie wholly before it.
        if end > ctx.calendar.end:
            yield ((*path, "end"), f"{end} is after the horizon ends ({ctx.calendar.end})",
                   "error")
        if end < ctx.calendar.start:
            yield ((*path, "end"), (f"the period ends ({end}) before the horizon starts "
                                    f"({ctx.calendar.start})"), "error")


def _check_change_starts(ctx: Any, t: Any,
                         windows: list[tuple[tuple[Any, ...], Any, Any]]) -> Iterator[Found]:
    """A series of a stock observable: each window's change is read from the day before the
    window, which must be inside the horizon (their ends are checked as any period's)."""
    for path, start, end in windows:
        if start is not None and end is not None and start <= ctx.calendar.start:
            yield ((*path, "start"), (f"a window of a series of {t.observable} is its change "
                                      f"from the day before it starts, which must be inside "
                                      f"the horizon: start after {ctx.calendar.start} (read "
                                      f"the first window as a figure `at` its end)"), "error")


def _check_measure(ctx: Any, t: Any, observable: str, where: Any, cohorts: Any,
                   here: tuple[Any, ...], own: bool = False) -> Iterator[Found]:
    """Places and cohorts of a target, or of one side of a ratio (``own``: only what the
    side gives itself; it takes the rest from the target, checked there)."""
    yield from unknown_names(where, ctx.places(), (*here, "where"), "country or group")
    yield from unknown_names(cohorts, ctx.known_cohorts(), (*here, "cohorts"), "cohort")
    places = where if where is not None or own is False else t.where
    if places and ctx.countries and _all_known(ctx, places):
        chosen = ctx.expand(places)
        path = (*here, "where") if where is not None else (*here[:2], "where")
        if not chosen:
            if where is not None or not own:
                yield (path, "selects no country", "error")
        elif observable in ASYLUM_OBSERVABLES and not any(
                c.asylum is not None for c in ctx.countries if c.id in chosen):
            yield (path, (f"a {observable} target, but none of the selected countries has "
                          "an asylum system"), "error")
    if observable == "emigrants":
        yield from _check_emigrants(ctx, (*here, "observable"))


def _check_emigrants(ctx: Any, path: tuple[Any, ...]) -> Iterator[Found]:
    """First departures can be told from crossings only where nobody leaves twice, or where
    the returnees are kept apart."""
    s = ctx.s
    behaviour = getattr(s, "behaviour", None)
    if behaviour is None or behaviour.track_returnees:
        return
    again = [c.name for c in getattr(s, "cohorts", ()) or ()
             if isinstance(c.reemigration_hazard, str) or c.reemigration_hazard > 0]
    if again:
        yield (path, ("an emigrants figure counts people leaving for the first time, but "
                      f"{', '.join(again)} may leave again after a return and the model does "
                      "not tell returnees apart: set `track_returnees: true` under "
                      "`behaviour`, or use `departures` (crossings)"), "error")
