"""Hypothesis strategies for flowsim's own property tests (and yours).

:func:`scenarios` draws small random scenarios that are valid as a whole: they pass
:func:`flowsim.scenario.validate_data` without an error (warnings, such as a route that only
an ineligible cohort could use, may occur). Each has 2-6 countries with one origin, routes
that reach every country from the origin (plus a few more), 1-3 cohorts, and optionally
shocks, policies that select something, parameters referred to by numeric fields, and
targets. Text fields hold arbitrary printable text, so that file round trips are tested on
text that looks like numbers, dates or YAML syntax.

Examples
--------
>>> from hypothesis import given
>>> from flowsim.testing.strategies import scenarios
>>> @given(scenarios())
... def test_has_an_origin(scenario):
...     assert scenario.origin.id == scenario.countries[0].id
"""

from __future__ import annotations

import datetime as dt
import string
from typing import Any

from hypothesis import strategies as st

from flowsim.scenario.model import OBSERVABLES, REGIMES, Scenario

__all__ = ["scenario_data", "scenarios", "texts"]

_MODES = ("land", "air", "sea")
_FLAGS = ("humanitarian", "israel", "students")
_ASYLUM_OBSERVABLES = ("asylum_applications", "asylum_grants", "recognition_share")
_AT_DATE = ("abroad", "stock", "settled")
_NEEDS_PLACE = ("stock", "settled", "arrivals", "asylum_applications", "asylum_grants",
                "recognition_share", "visas_issued")


def texts(min_size: int = 0, max_size: int = 20) -> st.SearchStrategy[str]:
    """Printable text (with line breaks and tabs), including characters that matter to YAML
    (``:``, ``#``, quotes...); stripped, as scenario text fields are."""
    alphabet = st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs"),
                             include_characters="\n\t")
    return st.text(alphabet, min_size=min_size, max_size=max_size).map(str.strip)


def _names(prefix: str) -> st.SearchStrategy[str]:
    """Identifiers (letters, digits, underscores), including YAML words such as ``yes``."""
    return st.one_of(
        st.from_regex(rf"{prefix}[a-z0-9_]{{0,6}}", fullmatch=True),
        st.sampled_from(["yes", "no", "on", "off", "null", "true", "y", "n", "e5", "nan",
                         "inf", "_1", "x1e5"]),
    )


_PROB = st.floats(0.0, 1.0)
_NONNEG = st.floats(0.0, 1e4)
_POSITIVE = st.floats(0.01, 1e4)
_REAL = st.floats(-50.0, 50.0)
_COUNT = st.integers(0, 10**8)
_STOCK = st.integers(0, 10**6)  # initial stocks: the total stays far below 2**31


class _Params:
    """Parameters made up on demand for numeric fields, each valid for its field's kind."""

    def __init__(self, draw: Any) -> None:
        self.draw = draw
        self.declared: dict[str, Any] = {}

    def value(self, kind: str, literal: st.SearchStrategy[Any]) -> Any:
        """A literal number, or (sometimes) the name of a parameter that fits the field."""
        if kind == "count" or self.draw(st.integers(0, 3)) != 0:
            return self.draw(literal)
        same_kind = [n for n, (k, _) in self.declared.items() if k == kind]
        if same_kind and self.draw(st.booleans()):
            return self.draw(st.sampled_from(same_kind))
        name = f"{kind[0]}{len(self.declared)}"
        if kind == "probability":
            value = self.draw(_PROB)
            prior = self.draw(st.sampled_from([None, {"dist": "uniform", "low": 0.0, "high": 1.0},
                                               {"dist": "beta", "a": 2.0, "b": 5.0}]))
        elif kind == "nonnegative":
            value = self.draw(_NONNEG)
            prior = self.draw(st.sampled_from([None, {"dist": "gamma", "shape": 2.0,
                                                      "scale": 1.5},
                                               {"dist": "loguniform", "low": 0.1, "high": 50}]))
        else:
            value = self.draw(_REAL)
            prior = self.draw(st.sampled_from([None, {"dist": "normal", "mean": 0.0, "sd": 1.0},
                                               {"dist": "uniform", "low": -5.0, "high": 5.0}]))
        entry: Any = value if prior is None else {"value": value, "prior": prior}
        if self.draw(st.booleans()):
            entry = {"value": value, "description": self.draw(texts(max_size=10)),
                     **({"prior": prior} if prior else {})}
        self.declared[name] = (kind, entry)
        return name

    def data(self) -> dict[str, Any]:
        return {n: e for n, (_, e) in self.declared.items()}


def _date_in(draw: Any, lo: dt.date, hi: dt.date) -> dt.date:
    return lo + dt.timedelta(days=draw(st.integers(0, (hi - lo).days)))


@st.composite
def scenario_data(draw: Any, min_countries: int = 2, max_countries: int = 6) -> dict[str, Any]:
    """A valid scenario as plain data (what a YAML file would hold)."""
    params = _Params(draw)
    start = draw(st.dates(dt.date(1990, 1, 1), dt.date(2040, 12, 31)))
    end = start + dt.timedelta(days=draw(st.integers(1, 3 * 365)))
    calendar: dict[str, Any] = {"start": start, "end": end}
    if draw(st.booleans()):
        calendar["step"] = draw(st.sampled_from(["day", "week", "month"]))

    ids = draw(st.lists(st.text(string.ascii_uppercase, min_size=3, max_size=3),
                        min_size=min_countries, max_size=max_countries, unique=True))
    cohort_names = draw(st.lists(_names("c"), min_size=1, max_size=3, unique=True))
    group_names = draw(st.lists(_names("g"), max_size=3, unique=True)
                       .filter(lambda gs: not set(gs) & set(cohort_names)))

    cohorts = []
    for name in cohort_names:
        cohort: dict[str, Any] = {"name": name, "population": draw(_COUNT),
                                  "baseline_hazard": params.value("probability", _PROB)}
        if draw(st.booleans()):
            cohort["description"] = draw(texts())
        if draw(st.booleans()):
            cohort["international_passport"] = params.value("probability", _PROB)
        if draw(st.booleans()):
            cohort["eligible"] = draw(st.lists(st.sampled_from(_FLAGS), unique=True,
                                               max_size=2))
        cohorts.append(cohort)

    def per_cohort(kind: str, literal: st.SearchStrategy[Any]) -> Any:
        if draw(st.booleans()):
            return params.value(kind, literal)
        chosen = draw(st.lists(st.sampled_from(cohort_names), unique=True))
        out = {"default": params.value(kind, literal)}
        out.update({c: params.value(kind, literal) for c in chosen})
        return out

    countries = []
    for i, cid in enumerate(ids):
        c: dict[str, Any] = {"id": cid, "name": draw(texts(min_size=1).filter(bool))}
        if i == 0:
            c["roles"] = ["origin"]
        else:
            c["roles"] = draw(st.lists(st.sampled_from(["transit", "destination"]),
                                       min_size=1, max_size=2, unique=True))
            if group_names and draw(st.booleans()):
                c["groups"] = draw(st.lists(st.sampled_from(group_names), unique=True,
                                            max_size=2))
            if draw(st.booleans()):
                c["attractiveness"] = per_cohort("real", _REAL)
            for field in ("onward_hazard", "return_hazard", "settle_hazard"):
                if draw(st.booleans()):
                    c[field] = params.value("probability", _PROB)
            if draw(st.booleans()):
                asylum: dict[str, Any] = {}
                for field in ("claim_hazard", "recognition_rate", "rejected_return"):
                    if draw(st.booleans()):
                        asylum[field] = params.value("probability", _PROB)
                if draw(st.booleans()):
                    asylum["processing_days"] = draw(_POSITIVE)
                if draw(st.booleans()):
                    asylum["capacity"] = draw(_COUNT)
                c["asylum"] = asylum
            if draw(st.integers(0, 3)) == 0:  # people of the origin here at the start
                kinds = ("present", "settled", *(("pending",) if "asylum" in c else ()))
                c["initial"] = {
                    name: {f: draw(_STOCK) for f in draw(st.lists(st.sampled_from(kinds),
                                                                  min_size=1, unique=True))}
                    for name in draw(st.lists(st.sampled_from(cohort_names), min_size=1,
                                              unique=True))}
        countries.append(c)
    # every group used by a country exists; top-level groups may hold countries and groups
    used_groups = sorted({g for c in countries for g in c.get("groups", ())})
    groups: dict[str, list[str]] = {}
    for g in group_names:
        if g not in used_groups and draw(st.booleans()):
            members = draw(st.lists(st.sampled_from(ids[1:] + used_groups), min_size=1,
                                    max_size=3, unique=True))
            groups[g] = members

    # routes: a tree from the origin reaching every country, then a few more
    seen: set[tuple[str, str, str]] = set()
    routes: list[dict[str, Any]] = []

    def add_route(a: str, b: str) -> None:
        mode = draw(st.sampled_from(_MODES))
        if (a, b, mode) in seen:
            return
        seen.add((a, b, mode))
        r: dict[str, Any] = {"from": a, "to": b, "mode": mode}
        if draw(st.integers(0, 4)) == 0:
            r["id"] = f"route_{len(routes)}"
        if draw(st.booleans()):
            r["regime"] = draw(st.sampled_from(REGIMES))
        if draw(st.booleans()):
            r["issuance"] = params.value("probability", _PROB)
        if draw(st.booleans()):
            r["delay_days"] = params.value("nonnegative", _NONNEG)
        if draw(st.booleans()):
            r["capacity"] = draw(_COUNT)
        if draw(st.booleans()):
            r["cost"] = params.value("real", _REAL)
        if draw(st.booleans()):
            r["documents"] = draw(st.sampled_from(["internal", "international"]))
        if draw(st.integers(0, 3)) == 0:
            r["requires"] = draw(st.lists(st.sampled_from(_FLAGS), unique=True, max_size=2))
        routes.append(r)

    for i in range(1, len(ids)):
        add_route(ids[draw(st.integers(0, i - 1))], ids[i])
    for _ in range(draw(st.integers(0, 4))):
        a = draw(st.sampled_from(ids))
        b = draw(st.sampled_from(ids[1:]))
        if a != b:
            add_route(a, b)

    data: dict[str, Any] = {"name": draw(texts(min_size=1).filter(bool)), "calendar": calendar,
                            "countries": countries, "routes": routes, "cohorts": cohorts}
    if draw(st.booleans()):
        data["description"] = draw(texts(max_size=60))
    if groups:
        data["groups"] = groups

    shock_names = draw(st.lists(_names("s"), max_size=2, unique=True))
    shocks = []
    for name in shock_names:
        date = _date_in(draw, start, end)
        sh: dict[str, Any] = {"name": name, "date": date}
        if draw(st.booleans()):
            sh["end"] = _date_in(draw, date, end + dt.timedelta(days=30))
        if draw(st.booleans()):
            sh["cohorts"] = draw(st.lists(st.sampled_from(cohort_names), min_size=1,
                                          unique=True))
        sh["multiplier"] = per_cohort("nonnegative", _NONNEG)
        if draw(st.booleans()):
            sh["half_life_days"] = draw(_POSITIVE)
        shocks.append(sh)
    if shocks:
        data["shocks"] = shocks

    policies = []
    has_asylum = [c["id"] for c in countries if "asylum" in c]
    for name in draw(st.lists(_names("p"), max_size=3, unique=True)):
        p: dict[str, Any] = {"name": name, "start": _date_in(draw, start, end)}
        if draw(st.booleans()):
            p["end"] = _date_in(draw, p["start"], end)
        if draw(st.booleans()):
            p["description"] = draw(texts())
        cohorts_sel = draw(st.none() | st.lists(st.sampled_from(cohort_names), min_size=1,
                                                 unique=True))
        if draw(st.booleans()):  # a route change, on the routes into one country
            r = draw(st.sampled_from(routes))
            select: dict[str, Any] = {"to": [r["to"]]}
            if draw(st.booleans()):
                select["mode"] = r["mode"]
            if draw(st.booleans()):
                select["from"] = [r["from"]]
            change: dict[str, Any] = {}
            if draw(st.booleans()):
                change["regime"] = draw(st.sampled_from(REGIMES))
            if draw(st.booleans()):
                change["issuance"] = params.value("probability", _PROB)
            if draw(st.booleans()):
                change["capacity"] = draw(st.just("unlimited") | _COUNT)
            if draw(st.booleans()) or not change:
                change["cost"] = params.value("real", _REAL)
            p["select"], p["route"] = select, change
        else:  # a country change
            target = draw(st.sampled_from(ids[1:]))
            change = {"onward_hazard": params.value("probability", _PROB)}
            if target in has_asylum and draw(st.booleans()):
                change["asylum"] = {"recognition_rate": params.value("probability", _PROB)}
            p["select"], p["country"] = {"countries": [target]}, change
        # a route's capacity is shared by all cohorts: capacity changes select none
        if cohorts_sel is not None and "capacity" not in p.get("route", {}):
            p["select"]["cohorts"] = cohorts_sel
        policies.append(p)
    if policies:
        data["policies"] = policies

    targets = []
    for tid in draw(st.lists(_names("t"), max_size=3, unique=True)):
        observable = draw(st.sampled_from(sorted(OBSERVABLES)))
        if observable in _ASYLUM_OBSERVABLES and not has_asylum:
            observable = "departures"
        t: dict[str, Any] = {"id": tid, "observable": observable,
                             "source": draw(texts(min_size=1).filter(bool))}
        if observable == "ratio":  # two sides that need no place of their own
            t["numerator"] = {"observable": draw(st.sampled_from(["departures", "returns"]))}
            t["denominator"] = {"observable": "departures"}
        if observable in _AT_DATE:
            t["at"] = _date_in(draw, start, end)
        else:
            t["start"] = _date_in(draw, start - dt.timedelta(days=60), end)
            t["end"] = _date_in(draw, max(t["start"], start), end)
        if observable in _ASYLUM_OBSERVABLES:
            t["where"] = [draw(st.sampled_from(has_asylum))]
        elif observable in _NEEDS_PLACE or draw(st.booleans()):
            t["where"] = draw(st.lists(st.sampled_from(ids[1:] + used_groups), min_size=1,
                                       max_size=2, unique=True))
            if draw(st.booleans()):
                t["each"] = True
        if draw(st.booleans()):
            t["cohorts"] = draw(st.lists(st.sampled_from(cohort_names), min_size=1,
                                         unique=True))
        figure = st.floats(0.0, 1.0) if observable == "recognition_share" \
            else st.floats(0.0, 1e7)
        kind = draw(st.sampled_from(["about", "interval", "at_least", "at_most"]))
        t["kind"] = kind
        if kind == "interval":
            low, high = sorted((draw(figure), draw(figure)))
            t["low"], t["high"] = low, high
        else:
            t["value"] = draw(figure)
            if kind == "about" and draw(st.booleans()):
                t["tolerance"] = draw(st.floats(0.01, 2.0))
        if draw(st.booleans()):
            t["quote"] = draw(texts(max_size=60))
        targets.append(t)
    if targets:
        data["targets"] = targets

    if draw(st.booleans()):
        behaviour: dict[str, Any] = {"deterrence": params.value("probability", _PROB)}
        if draw(st.booleans()):
            behaviour["regime_cost"] = {
                g: params.value("real", _REAL)
                for g in draw(st.lists(st.sampled_from(REGIMES), unique=True, max_size=3))}
        data["behaviour"] = behaviour
    if params.declared:
        data["parameters"] = params.data()
    return data


def scenarios(min_countries: int = 2, max_countries: int = 6) -> st.SearchStrategy[Scenario]:
    """Valid :class:`~flowsim.Scenario` objects (see the module's description)."""
    return scenario_data(min_countries, max_countries).map(Scenario.model_validate)
