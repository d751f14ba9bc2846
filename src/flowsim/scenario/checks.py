"""Whole-scenario checks: ids, references, the route graph, dates and parameters.

Each field's own constraints are in :mod:`flowsim.scenario.model`; this module checks what
needs the scenario as a whole. It works on a possibly partial scenario (sections that failed
their own validation are missing or hold only their valid items), so that a broken file gets
all its problems at once. Every check yields ``(path, message, severity)``; the loader turns
the path into a file position.
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Iterator
from typing import Any

import networkx as nx
from pydantic import BaseModel

from flowsim.errors import did_you_mean
from flowsim.scenario.admission_checks import check_admission
from flowsim.scenario.found import Found, duplicates, unknown_names
from flowsim.scenario.groups import resolve_groups
from flowsim.scenario.limits import STEPS_VARIABLE, step_count
from flowsim.scenario.schedules import COHORT_FIELDS
from flowsim.scenario.select import selected_routes
from flowsim.scenario.status_checks import check_status
from flowsim.scenario.target_checks import check_targets
from flowsim.scenario.values import ValueKind, _KindTag, describe_kind, kind_accepts

__all__ = ["check_scenario", "iter_values", "route_graph"]

def check_scenario(s: Any, max_steps: int | None = None) -> list[Found]:
    """Every whole-scenario problem of ``s`` as ``(path, message, severity)``.

    ``max_steps``: the most steps the calendar may have (``None``: no limit; the loader
    passes :func:`flowsim.scenario.limits.step_limit`).
    """
    ctx = _Context(s)
    ctx.max_steps = max_steps
    found: list[Found] = []
    for check in (_check_calendar, _check_countries, _check_groups, _check_cohorts,
                  _check_routes, _check_graph, _check_shocks, _check_policies,
                  _check_schedules, check_admission, check_status, check_targets, _check_report,
                  _check_parameters):
        found.extend(check(ctx))
    return found


class _Context:
    """What the checks share: the scenario's sections, ids and resolved groups."""

    def __init__(self, s: Any) -> None:
        self.s = s
        self.max_steps: int | None = None
        # dates are checked against the horizon only when the calendar itself is sound;
        # a broken calendar is reported once, not once per dated item
        calendar = getattr(s, "calendar", None)
        sound = calendar is not None and not _calendar_problems(calendar)
        self.calendar = calendar if sound else None
        self.countries = tuple(getattr(s, "countries", ()) or ())
        self.routes = tuple(getattr(s, "routes", ()) or ())
        self.cohorts = tuple(getattr(s, "cohorts", ()) or ())
        self.shocks = tuple(getattr(s, "shocks", ()) or ())
        self.policies = tuple(getattr(s, "policies", ()) or ())
        self.targets = tuple(getattr(s, "targets", ()) or ())
        self.parameters = dict(getattr(s, "parameters", {}) or {})
        self.country_ids = [c.id for c in self.countries]
        self.cohort_names = [c.name for c in self.cohorts]
        # names of items that failed their own validation: known, so not reported again
        also = getattr(s, "__pydantic_extra__", None) or {}
        # (only names that are text: a number where a name belongs is reported already)
        self.also_countries = _texts(also.get("invalid_countries", ()))
        self.also_cohorts = _texts(also.get("invalid_cohorts", ()))
        self.also_groups = _texts(also.get("invalid_groups", ()))
        self.also_parameters = _texts(also.get("invalid_parameters", ()))
        self.groups, self.group_problems = resolve_groups(s)
        self.origins = [c.id for c in self.countries if "origin" in c.roles]

    def places(self) -> list[str]:
        if not self.countries:
            return []  # the countries section is missing or broken: already reported
        return self.country_ids + self.also_countries + sorted(self.groups) + self.also_groups

    def known_cohorts(self) -> list[str]:
        return self.cohort_names + self.also_cohorts

    def expand(self, names: tuple[str, ...]) -> set[str]:
        out: set[str] = set()
        for n in names:
            out |= set(self.groups.get(n, {n} if n in self.country_ids else set()))
        return out

    def in_horizon(self, d: dt.date) -> bool:
        return self.calendar is None or self.calendar.start <= d <= self.calendar.end

    def horizon(self) -> str:
        return f"{self.calendar.start} to {self.calendar.end}" if self.calendar else "?"


def _texts(names: Any) -> list[str]:
    return [x for x in names if isinstance(x, str) and x]


# --------------------------------------------------------------------------------------------


def _calendar_problems(cal: Any) -> list[Found]:
    if cal.end <= cal.start:
        return [(("calendar", "end"),
                 (f"the calendar ends ({cal.end}) on or before it starts "
                  f"({cal.start})"), "error")]
    if cal.end >= dt.date.max:
        return [(("calendar", "end"), f"the calendar must end before {dt.date.max}", "error")]
    return []


def _check_calendar(ctx: _Context) -> Iterator[Found]:
    cal = getattr(ctx.s, "calendar", None)
    if cal is not None:
        yield from _calendar_problems(cal)
    if ctx.calendar is not None and ctx.max_steps is not None:
        n = step_count(ctx.calendar)
        if n > ctx.max_steps:
            yield (("calendar", "start"),
                   (f"the horizon {ctx.horizon()} has {n:,} {ctx.calendar.step} steps, more "
                    f"than the limit of {ctx.max_steps:,}; check the years, or use a longer "
                    f"step, or raise the limit (--max-steps, or the environment variable "
                    f"{STEPS_VARIABLE})"), "error")


def _check_countries(ctx: _Context) -> Iterator[Found]:
    yield from duplicates(ctx.countries, "id", "countries", "country")
    if ctx.countries and not ctx.origins:
        yield (("countries",), "no country has the role `origin`; exactly one must", "error")
    for i, c in enumerate(ctx.countries):
        if "origin" in c.roles and c.id != ctx.origins[0]:
            yield (("countries", i, "roles"),
                   (f"{c.id} is a second origin ({ctx.origins[0]} is "
                    "the first); flowsim models one origin per scenario"), "error")
        for j, g in enumerate(c.groups):
            if g in ctx.country_ids:
                yield (("countries", i, "groups", j), f"{g!r} is a country id, not a group name",
                       "error")
        yield from _per_cohort_keys(c.attractiveness, ("countries", i, "attractiveness"), ctx)
        yield from _check_initial(ctx, i, c)


def _check_initial(ctx: _Context, i: int, c: Any) -> Iterator[Found]:
    """Initial stocks: abroad only, of known cohorts, pending claims only under asylum."""
    if not c.initial:
        return
    path = ("countries", i, "initial")
    if "origin" in c.roles:
        yield (path, (f"{c.id} is the origin: its people at the start are the cohorts' "
                      "`population`, not an initial stock"), "error")
        return
    known = ctx.known_cohorts()
    for name, stock in c.initial.items():
        if known and name not in known:
            yield ((*path, name), f"unknown cohort {name!r}{did_you_mean(name, known)}",
                   "error")
        if c.asylum is None and stock.pending not in (0, 0.0):
            yield ((*path, name, "pending"),
                   (f"{c.id} has no `asylum` system, so nobody can have a claim pending "
                    "there"), "error")


def _per_cohort_keys(mapping: dict[str, Any], path: tuple[Any, ...],
                     ctx: _Context) -> Iterator[Found]:
    if "default" not in mapping and ctx.cohorts and \
            set(ctx.cohort_names) - set(mapping):
        missing = sorted(set(ctx.cohort_names) - set(mapping))
        yield (path, f"gives no `default` and no value for the cohorts {', '.join(missing)}",
               "error")
    for k in mapping:
        if k != "default" and k not in ctx.known_cohorts() and ctx.cohorts:
            yield ((*path, k),
                   (f"unknown cohort {k!r}"
                    f"{did_you_mean(k, ctx.cohort_names + ['default'])}"), "error")


def _check_groups(ctx: _Context) -> Iterator[Found]:
    declared = dict(getattr(ctx.s, "groups", {}) or {})
    for name, members in declared.items():
        if name in ctx.country_ids:
            yield (("groups", name), f"the group name {name!r} is also a country id", "error")
        yield from unknown_names(members, ctx.places(), ("groups", name), "country or group")
    for path, message in ctx.group_problems:
        yield (path, message, "error")


def _check_cohorts(ctx: _Context) -> Iterator[Found]:
    yield from duplicates(ctx.cohorts, "name", "cohorts", "cohort")
    def number(x: Any) -> float:
        if isinstance(x, str):
            par = ctx.parameters.get(x)
            return par.value if par is not None else 0
        return x

    total = sum(number(k.population) for k in ctx.cohorts)
    abroad = sum(number(v) for c in ctx.countries for stock in c.initial.values()
                 for v in (stock.present, stock.pending, stock.settled))
    if total + abroad >= 2**31:
        also = f" and {abroad:,.0f} abroad at the start" if abroad else ""
        yield (("cohorts",),
               (f"the cohorts hold {total:,} people in all{also}; flowsim counts people "
                "in 32-bit integers, so the total must stay below 2,147,483,648"), "error")


def _check_routes(ctx: _Context) -> Iterator[Found]:
    yield from duplicates(ctx.routes, "key", "routes", "route")
    flags = {f for c in ctx.cohorts for f in c.eligible}
    for i, r in enumerate(ctx.routes):
        for end in ("from", "to"):
            cid = r.from_ if end == "from" else r.to
            if ctx.country_ids and cid not in ctx.country_ids + ctx.also_countries:
                yield (("routes", i, end),
                       (f"unknown country {cid!r}"
                        f"{did_you_mean(cid, ctx.country_ids)}"), "error")
        if r.from_ == r.to:
            yield (("routes", i, "to"), f"a route from {r.from_} to itself", "error")
        if ctx.origins and r.to == ctx.origins[0]:
            yield (("routes", i, "to"),
                   (f"a route into the origin {r.to}: returns home are "
                    "modelled by each country's return_hazard, not by routes"), "error")
        if ctx.cohorts:
            for j, f in enumerate(r.requires):
                if f not in flags:
                    yield (("routes", i, "requires", j),
                           (f"no cohort is eligible for {f!r}"
                            f"{did_you_mean(f, sorted(flags))}, so the route carries nobody"),
                           "warning")
            if r.regime == "humanitarian_only" and "humanitarian" not in flags:
                yield (("routes", i, "regime"),
                       ("no cohort is eligible for `humanitarian` "
                        "programmes, so this humanitarian_only route carries nobody"), "warning")


def route_graph(s: Any) -> nx.MultiDiGraph:
    """The scenario's countries and routes as a networkx multigraph (one edge per route)."""
    g = nx.MultiDiGraph()
    for c in getattr(s, "countries", ()) or ():
        g.add_node(c.id, name=c.name, roles=c.roles)
    for r in getattr(s, "routes", ()) or ():
        g.add_edge(r.from_, r.to, key=r.key, mode=r.mode, regime=r.regime)
    return g


def _check_graph(ctx: _Context) -> Iterator[Found]:
    if len(ctx.origins) != 1:
        return
    g = route_graph(ctx.s)
    origin = ctx.origins[0]
    i_origin = ctx.country_ids.index(origin)
    if g.out_degree(origin) == 0:
        yield (("countries", i_origin, "id"), f"the origin {origin} has no route out", "error")
        return
    reach = nx.descendants(g, origin)
    for i, c in enumerate(ctx.countries):
        if c.id != origin and c.id not in reach:
            yield (("countries", i, "id"),
                   (f"{c.id} ({c.name}) cannot be reached from "
                    f"{origin} by any route"), "warning")


def _check_shocks(ctx: _Context) -> Iterator[Found]:
    yield from duplicates(ctx.shocks, "name", "shocks", "shock")
    for i, sh in enumerate(ctx.shocks):
        if not ctx.in_horizon(sh.date):
            yield (("shocks", i, "date"), f"{sh.date} is outside the horizon ({ctx.horizon()})",
                   "error")
        if sh.end is not None and sh.end < sh.date:
            yield (("shocks", i, "end"),
                   (f"the shock ends ({sh.end}) before it starts "
                    f"({sh.date})"), "error")
        yield from unknown_names(sh.cohorts, ctx.known_cohorts(), ("shocks", i, "cohorts"),
                                  "cohort")
        for k in sh.multiplier:
            if k != "default" and k not in ctx.known_cohorts() and ctx.cohorts:
                yield (("shocks", i, "multiplier", k),
                       (f"unknown cohort {k!r}"
                        f"{did_you_mean(k, ctx.cohort_names + ['default'])}"), "error")
        if "default" not in sh.multiplier and ctx.cohorts:
            hit = set(sh.cohorts or ctx.cohort_names) - set(sh.multiplier)
            if hit:
                yield (("shocks", i, "multiplier"),
                       ("gives no `default` and no value for the "
                        f"cohorts {', '.join(sorted(hit))}"), "error")


def _check_policies(ctx: _Context) -> Iterator[Found]:
    yield from duplicates(ctx.policies, "name", "policies", "policy")
    for i, p in enumerate(ctx.policies):
        here = ("policies", i)
        sel = p.select
        if p.end is not None and p.end < p.start:
            yield ((*here, "end"), f"the policy ends ({p.end}) before it starts ({p.start})",
                   "error")
        if ctx.calendar is not None:
            if p.start > ctx.calendar.end:
                yield ((*here, "start"),
                       (f"{p.start} is after the horizon ends "
                        f"({ctx.calendar.end})"), "error")
            if p.end is not None and p.end < ctx.calendar.start:
                yield ((*here, "end"),
                       (f"{p.end} is before the horizon starts "
                        f"({ctx.calendar.start})"), "error")
            if p.end is not None and p.end > ctx.calendar.end:
                yield ((*here, "end"),
                       (f"{p.end} is after the horizon ends "
                        f"({ctx.calendar.end}); leave `end` out for 'until the end'"), "error")
        for field in ("countries", "from", "to"):
            names = getattr(sel, "from_" if field == "from" else field)
            yield from unknown_names(names, ctx.places(), (*here, "select", field),
                                      "country or group")
        yield from unknown_names(sel.cohorts, ctx.known_cohorts(), (*here, "select", "cohorts"),
                                  "cohort")
        if sel.cohorts is not None and not sel.cohorts:
            yield ((*here, "select", "cohorts"), "selects no cohort", "error")
        route_keys = [r.key for r in ctx.routes]
        yield from unknown_names(sel.routes, route_keys, (*here, "select", "routes"), "route")
        if p.route is not None:
            for shared in ("capacity", "documents"):
                if getattr(p.route, shared) is not None and sel.cohorts is not None:
                    yield ((*here, "select", "cohorts"),
                           (f"a route's {shared} is shared by all cohorts; a policy that "
                            f"changes `{shared}` cannot select cohorts"), "error")
            if sel.countries is not None and sel.from_ is None and sel.to is None \
                    and sel.routes is None:
                yield ((*here, "select"),
                       ("a route change selects routes by `from`, `to` and "
                        "`mode`; `countries` selects countries for `country:` changes"), "error")
            elif ctx.routes and _all_known(ctx, sel.from_, sel.to) \
                    and all(k in route_keys for k in sel.routes or ()) \
                    and not _selected_routes(ctx, sel):
                yield ((*here, "select"),
                       (f"selects no route (from {_list(sel.from_)} to "
                        f"{_list(sel.to)}, mode {_list(sel.mode)})"), "error")
        if p.country is not None:
            if sel.countries is None and (sel.from_ is not None or sel.to is not None
                                          or sel.routes is not None):
                yield ((*here, "select"),
                       ("a country change selects countries by `countries`; "
                        "`routes`/`from`/`to` select routes for `route:` changes"), "error")
            elif ctx.countries and _all_known(ctx, sel.countries):
                chosen = ctx.expand(sel.countries) if sel.countries is not None \
                    else set(ctx.country_ids)
                if not chosen:
                    yield ((*here, "select", "countries"), "selects no country", "error")
                elif p.country.asylum is not None and not any(
                        c.asylum is not None for c in ctx.countries if c.id in chosen):
                    yield ((*here, "country", "asylum"),
                           ("changes asylum, but none of the "
                            "selected countries has an asylum system"), "error")


def _all_known(ctx: _Context, *name_lists: tuple[str, ...] | None) -> bool:
    """Whether every name is a valid country or group (so what it selects can be judged)."""
    places = set(ctx.places()) - set(ctx.also_countries) - set(ctx.also_groups)
    return all(n in places for names in name_lists for n in names or ())


def _list(x: tuple[str, ...] | None) -> str:
    return "any" if x is None else ", ".join(x) or "nothing"


def _selected_routes(ctx: _Context, sel: Any) -> list[int]:
    return selected_routes(ctx.routes, sel, ctx.expand)


# --------------------------------------------------------------------------------------------
# parameters
# --------------------------------------------------------------------------------------------


def _check_schedules(ctx: _Context) -> Iterator[Found]:
    """Schedules: unique names, known places and cohorts, points in date order, and factors
    that cannot make a hazard negative."""
    schedules = tuple(getattr(ctx.s, "schedules", ()) or ())
    yield from duplicates(schedules, "name", "schedules", "schedule")
    for i, sc in enumerate(schedules):
        path = ("schedules", i)
        yield from unknown_names(sc.countries, ctx.places(), (*path, "countries"),
                                  "country or group")
        yield from unknown_names(sc.cohorts, ctx.known_cohorts(), (*path, "cohorts"), "cohort")
        if sc.field in COHORT_FIELDS and sc.countries is not None and ctx.origins and (
                set(sc.countries) != {ctx.origins[0]}):
            yield ((*path, "countries"), (f"{sc.field} is a hazard of leaving the origin: omit "
                                          f"`countries` or give only {ctx.origins[0]}"), "error")
        for j, pt in enumerate(sc.points):
            if j and pt.date <= sc.points[j - 1].date:
                yield ((*path, "points", j, "date"),
                       (f"{pt.date} is not after the point before it "
                        f"({sc.points[j - 1].date}): points are in date order"), "error")
            if sc.field != "attractiveness" and pt.value < 0:
                yield ((*path, "points", j, "value"),
                       f"a factor on {sc.field} cannot be negative, got {pt.value:g}", "error")


def _check_report(ctx: _Context) -> Iterator[Found]:
    """The report names known groups, countries, blocs and cohorts, and dates in the horizon."""
    rep = getattr(ctx.s, "report", None)
    if rep is None:
        return
    groups = sorted(ctx.groups) + ctx.also_groups
    if rep.groups is not None and ctx.countries:
        yield from unknown_names(rep.groups, groups, ("report", "groups"), "group")
    places = ctx.places()
    for name, members in (rep.blocs or {}).items():
        yield from unknown_names(members, places, ("report", "blocs", name),
                                  "group or country")
    if rep.settled_in is not None:
        blocs = list(rep.blocs) if rep.blocs is not None else \
            list(rep.groups) if rep.groups is not None else groups
        yield from unknown_names(rep.settled_in, blocs, ("report", "settled_in"), "bloc")
    for j, d in enumerate(rep.dates or ()):
        if not ctx.in_horizon(d):
            yield (("report", "dates", j), f"{d} is outside the calendar ({ctx.horizon()})",
                   "error")
    for j, w in enumerate(rep.windows or ()):
        path = ("report", "windows", j)
        if w.end < w.start:
            yield ((*path, "end"), f"the window ends ({w.end}) before it starts ({w.start})",
                   "error")
        if not ctx.in_horizon(w.start):
            yield ((*path, "start"), f"{w.start} is outside the calendar ({ctx.horizon()})",
                   "error")
        yield from unknown_names(w.cohorts, ctx.known_cohorts(), (*path, "cohorts"),
                                  "cohort")
    named = set(groups) | set(rep.blocs or ()) | set(ctx.country_ids)
    for key in rep.labels:
        if named and key not in named:
            yield (("report", "labels", key),
                   f"no group or bloc is called {key!r}{did_you_mean(key, sorted(named))}",
                   "error")


def _tag_kind(annotation: Any) -> ValueKind | None:
    """The value kind carried by a field annotation (through unions, Optional and dicts)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        for meta in annotation.__metadata__:
            if isinstance(meta, _KindTag):
                return meta.kind
        return _tag_kind(typing.get_args(annotation)[0])
    if origin is dict:
        return _tag_kind(typing.get_args(annotation)[1])
    for a in typing.get_args(annotation):
        k = _tag_kind(a)
        if k is not None:
            return k
    return None


def iter_values(obj: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any,
                                                                         ValueKind]]:
    """Every number-or-parameter field under ``obj`` as ``(path, value, kind)``."""
    if isinstance(obj, BaseModel):
        for name, field in type(obj).model_fields.items():
            if name not in obj.__dict__:
                continue
            v = obj.__dict__[name]
            key = field.alias or name
            kind = next((m.kind for m in field.metadata if isinstance(m, _KindTag)), None) \
                or _tag_kind(field.annotation)
            if kind is not None:
                if isinstance(v, dict):
                    for k, x in v.items():
                        yield (*path, key, k), x, kind
                elif v is not None and v != "unlimited":
                    yield (*path, key), v, kind
            elif name != "parameters":
                yield from iter_values(v, (*path, key))
    elif isinstance(obj, tuple | list):
        for i, x in enumerate(obj):
            yield from iter_values(x, (*path, i))
    elif isinstance(obj, dict):
        for k, x in obj.items():
            yield from iter_values(x, (*path, k))


def _check_parameters(ctx: _Context) -> Iterator[Found]:
    declared = ctx.parameters
    used: set[str] = set()
    for path, value, kind in iter_values(ctx.s):
        if not isinstance(value, str):
            continue
        if value in ctx.also_parameters:
            continue  # declared, but broken: already reported
        if value not in declared:
            yield (path,
                   (f"unknown parameter {value!r} (parameters are declared under "
                    f"`parameters:`){did_you_mean(value, declared)}"), "error")
            continue
        used.add(value)
        par = declared[value]
        where = _dotted(path)
        if not kind_accepts(kind, par.value) and not (
                kind is ValueKind.count and kind_accepts(ValueKind.nonnegative, par.value)):
            yield (path,
                   (f"the parameter {value!r} has value {par.value:g}, but {where} needs "
                    f"{describe_kind(kind)}"), "error")
        if par.prior is not None:
            lo, hi = par.prior.support()
            if not (_bound_ok(kind, lo) and _bound_ok(kind, hi)):
                yield (path,
                       (f"the prior of {value!r}, {par.prior.describe()}, reaches "
                        f"[{lo:g}, {hi:g}], but {where} needs {describe_kind(kind)}"), "error")
    for name in declared:
        if name not in used:
            yield (("parameters", name), f"the parameter {name!r} is declared but never used",
                   "warning")


def _bound_ok(kind: ValueKind, x: float) -> bool:
    if kind is ValueKind.count:
        kind = ValueKind.nonnegative  # counts from parameters are rounded
    if kind is ValueKind.real:
        return True
    if kind is ValueKind.positive:
        return x >= 0  # a support bound of 0 is fine: the density at the bound is what is 0
    import math

    return kind_accepts(kind, x) or (kind is not ValueKind.probability and math.isinf(x)
                                     and x > 0)


def _dotted(path: tuple[Any, ...]) -> str:
    from flowsim.scenario.yamlio import format_path

    return format_path(path)
