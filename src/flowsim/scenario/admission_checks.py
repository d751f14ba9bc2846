"""Whole-scenario checks of admission: programmes, asylum at the border, interception, and
the transit countries of routes that pass through others (``via``).

Called by :func:`flowsim.scenario.checks.check_scenario` with its context (the scenario's
sections, ids and resolved groups); each check yields ``(path, message, severity)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flowsim.errors import did_you_mean
from flowsim.scenario.found import Found, duplicates, unknown_names
from flowsim.scenario.select import selected_routes

__all__ = ["check_admission"]


def check_admission(ctx: Any) -> Iterator[Found]:
    """Programmes and border rules that need the scenario as a whole."""
    yield from _check_border_routes(ctx)
    yield from _check_via(ctx)
    yield from _check_programmes(ctx)


def _check_via(ctx: Any) -> Iterator[Found]:
    known = ctx.country_ids + ctx.also_countries
    origin = ctx.origins[0] if ctx.origins else None
    for i, r in enumerate(ctx.routes):
        for j, v in enumerate(r.via):
            here = ("routes", i, "via", j)
            if ctx.country_ids and v not in known:
                yield (here, f"unknown country {v!r}{did_you_mean(v, ctx.country_ids)}", "error")
            elif v == origin:
                yield (here, f"a route cannot pass through the origin {v}", "error")
            elif v in (r.from_, r.to) or v in r.via[:j]:
                yield (here, (f"{v} is already a stop of this route: each country is passed "
                             "once"), "error")


def _check_border_routes(ctx: Any) -> Iterator[Found]:
    with_asylum = {c.id for c in ctx.countries if c.asylum is not None}
    known = set(ctx.country_ids)
    for i, r in enumerate(ctx.routes):
        if r.asylum_at_border and r.to in known and r.to not in with_asylum:
            yield (("routes", i, "asylum_at_border"),
                   (f"arrivals by this route lodge an asylum claim, but {r.to} has no "
                    "`asylum` system"), "error")
        if r.interception and r.regime != "irregular" and not _ever_irregular(ctx, i):
            yield (("routes", i, "interception"),
                   ("interception acts only on `irregular` routes, and this route is never "
                    "irregular (no regime or policy makes it so)"), "warning")
    for i, p in enumerate(ctx.policies):
        ch = p.route
        if ch is None or not ch.asylum_at_border or not ctx.countries:
            continue
        for r in selected_routes(ctx.routes, p.select, ctx.expand):
            to = ctx.routes[r].to
            if to in known and to not in with_asylum:
                yield (("policies", i, "route", "asylum_at_border"),
                       (f"makes arrivals on {ctx.routes[r].key} lodge an asylum claim, but "
                        f"{to} has no `asylum` system"), "error")
                break


def _ever_irregular(ctx: Any, i: int) -> bool:
    return any(p.route is not None and p.route.regime == "irregular"
               and i in selected_routes(ctx.routes, p.select, ctx.expand)
               for p in ctx.policies)


def _check_programmes(ctx: Any) -> Iterator[Found]:
    programmes = tuple(getattr(ctx.s, "programmes", ()) or ())
    yield from duplicates(programmes, "name", "programmes", "programme")
    claimed: dict[tuple[int, str], int] = {}  # (route, cohort) -> programme
    for i, p in enumerate(programmes):
        here = ("programmes", i)
        sel = p.select
        if sel.countries is not None:
            yield ((*here, "select", "countries"),
                   ("a programme covers routes: select them with `routes`, `from`, `to` and "
                    "`mode` (`countries` has no meaning here)"), "error")
        unknown = [*unknown_names(sel.from_, ctx.places(), (*here, "select", "from"),
                                  "country or group"),
                   *unknown_names(sel.to, ctx.places(), (*here, "select", "to"),
                                  "country or group"),
                   *unknown_names(sel.routes, [r.key for r in ctx.routes],
                                  (*here, "select", "routes"), "route"),
                   *unknown_names(sel.cohorts, ctx.known_cohorts(),
                                  (*here, "select", "cohorts"), "cohort")]
        yield from unknown
        if ctx.calendar is not None:
            for key in ("start", "end"):
                d = getattr(p, key)
                if d is not None and not ctx.in_horizon(d):
                    yield ((*here, key), f"{d} is outside the horizon ({ctx.horizon()})",
                           "error")
        if unknown or not ctx.routes:
            continue
        chosen = selected_routes(ctx.routes, sel, ctx.expand)
        if not chosen:
            yield ((*here, "select"), "selects no route", "error")
            continue
        # one quota per crossing: a route and cohort in two programmes would have two caps
        for r in chosen:
            for k in sel.cohorts or ctx.cohort_names:
                other = claimed.setdefault((r, k), i)
                if other != i:
                    yield ((*here, "select"),
                           (f"the route {ctx.routes[r].key} for cohort {k!r} is already in "
                            f"the programme {programmes[other].name!r}: a crossing counts "
                            "against one programme at most"), "error")
                    break
            else:
                continue
            break
