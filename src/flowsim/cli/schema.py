"""``flowsim schema [--out FILE]``: the JSON Schema of the scenario format.

The schema starts from the pydantic models: ``Scenario.model_json_schema(by_alias=True)``
gives the models, their fields under their YAML names (``from``) and which are required.
Each field's schema is then rewritten from the field's type, because the models accept more
than pydantic can say (their before-validators widen what is accepted), so that every
shipped scenario validates against it and editors complete and check fields:

* **number-or-parameter fields** take a number in their range (a probability between 0 and
  1, a whole number of people, ...) or the name of a declared parameter;
* **per-cohort values** (``attractiveness``, a shock's ``multiplier``) take one value or a
  mapping ``{default: x, <cohort>: y}``;
* **lists of names** (``groups``, ``eligible``, ``select.cohorts``, ...) take a single name
  too (``cohorts: men`` is ``cohorts: [men]``), and ``select.mode`` a single mode;
* **dates** are ``YYYY-MM-DD`` text; country ids three capital letters; names
  identifiers;
* **parameters** take ``name: 0.3`` as short for ``name: {value: 0.3}``;
* **priors** and **targets** require the arguments their ``dist``, ``kind`` and
  ``observable`` need;
* **``targets:``** may be the path of a targets file (a list of targets, or a mapping with a
  ``targets:`` list; ``$defs/TargetsFile`` describes such a file);
* **``extends: PATH``** makes the file an overlay: its list sections are edits by name
  (``{add: [...], remove: [names], replace: [...]}``), ``calendar`` and ``behaviour`` are
  merged field by field, so nothing is required but ``extends`` itself.

Each field carries a description with its unit (:data:`FIELD_DOCS`, also the source of the
tables in ``docs/scenario-format.md``), its default and an example. The schema is written for
JSON Schema draft 7, which YAML editors support best (``$defs`` is only a place that
``$ref`` pointers lead to; a ``$ref`` never has sibling keywords).

The shipped copy is ``docs/scenario.schema.json``; regenerate it on purpose with
``flowsim schema --out docs/scenario.schema.json`` (a test compares the two).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import json
import os
import tempfile
import types
import typing
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel

from flowsim.cli._common import handle_input_errors
from flowsim.scenario import model as m

__all__ = ["FIELD_DOCS", "MODELS", "FieldDoc", "FieldType", "field_default", "field_type",
           "scenario_schema", "schema", "schema_text"]

DRAFT = "http://json-schema.org/draft-07/schema#"

# --------------------------------------------------------------------------------------------
# What every field means: one place for the schema's descriptions and the reference tables
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FieldDoc:
    """The documentation of one field.

    Attributes
    ----------
    text : str
        What the field means, in a sentence or two (Markdown: backticks for code).
    unit : str
        Its unit ("" where it has none).
    example : Any
        An example value, as it would be written in YAML (a plain Python value).
    """

    text: str
    unit: str = ""
    example: Any = None


_WEEK = "probability per week"
_VALUE_NOTE = " A number or the name of a parameter."

FIELD_DOCS: dict[str, dict[str, FieldDoc]] = {
    "Scenario": {
        "extends": FieldDoc(
            "Path (relative to this file) of a scenario this file modifies. In such an "
            "overlay the list sections are edits by name (`add`, `remove`, `replace`), "
            "`calendar` and `behaviour` are merged field by field, `parameters` and `groups` "
            "entry by entry; nothing else is required.", "", "../russia-2022.yaml"),
        "name": FieldDoc("The scenario's name (used in results, file names and comparisons).",
                         "", "russia-2022"),
        "description": FieldDoc("Free text: what the scenario represents and its sources.",
                                "", "Emigration from Russia after 24 February 2022."),
        "calendar": FieldDoc("The simulated period and the step length.", "",
                             {"start": "2022-02-01", "end": "2024-06-30", "step": "week"}),
        "countries": FieldDoc("The countries (nodes of the migration graph); exactly one has "
                              "the role `origin`.", "",
                              [{"id": "RUS", "name": "Russia", "roles": ["origin"]}]),
        "groups": FieldDoc("Named groups of countries, usable wherever a country id is: in "
                           "selectors, targets and other groups (groups may contain groups).",
                           "", {"baltics": ["EST", "LVA", "LTU"], "eu": ["DEU", "baltics"]}),
        "routes": FieldDoc("Directed routes between countries, each with an entry regime.",
                           "", [{"from": "RUS", "to": "GEO", "mode": "land"}]),
        "cohorts": FieldDoc("Groups of people in the origin who differ in who they are and "
                            "how policy treats them.", "",
                            [{"name": "men", "population": 1000000,
                              "baseline_hazard": 1.0e-5}]),
        "shocks": FieldDoc("Dated events that multiply the emigration hazard.", "",
                           [{"name": "invasion", "date": "2022-02-24", "multiplier": 20,
                             "half_life_days": 30}]),
        "policies": FieldDoc("Dated changes to routes and countries, applied in file order "
                             "(a later policy overrides an earlier one where both apply).", "",
                             [{"name": "border_closed", "start": "2022-09-30",
                               "select": {"from": "RUS", "to": "FIN"},
                               "route": {"regime": "closed"}}]),
        "parameters": FieldDoc("Named numbers, each with an optional prior; any numeric field "
                               "may name one instead of giving a number.", "",
                               {"deterrence": {"value": 0.5,
                                               "prior": {"dist": "beta", "a": 2, "b": 2}}}),
        "behaviour": FieldDoc("Settings of the choice model shared by all countries.", "",
                              {"deterrence": 0.5}),
        "targets": FieldDoc("Published figures the model should reproduce (for calibration "
                            "and plots): a list, or the path of a file holding one.", "",
                            "russia-2022-targets.yaml"),
    },
    "Calendar": {
        "start": FieldDoc("First simulated day.", "", "2022-02-01"),
        "end": FieldDoc("Last simulated day (inclusive); the last step may be shorter.",
                        "", "2024-06-30"),
        "step": FieldDoc("Step length: `day`, `week` (7 days) or `month` (calendar months "
                         "counted from `start`).", "", "week"),
    },
    "Country": {
        "id": FieldDoc("ISO 3166 alpha-3 code.", "", "GEO"),
        "name": FieldDoc("Name for people (tables, figures).", "", "Georgia"),
        "roles": FieldDoc("`origin` (exactly one country), `transit`, `destination`; a country "
                          "may hold several. Only `origin` changes what the model does.", "",
                          ["transit", "destination"]),
        "groups": FieldDoc("Groups this country belongs to (in addition to `groups:`).", "",
                           ["post_soviet"]),
        "attractiveness": FieldDoc("Utility of the country as a destination in the route "
                                   "choice; one value, or one per cohort with a `default`."
                                   + _VALUE_NOTE, "logit scale",
                                   {"default": 1.0, "activists": 1.5}),
        "onward_hazard": FieldDoc("Chance that a person present here moves on (then chooses "
                                  "a route out of this country)." + _VALUE_NOTE, _WEEK, 0.01),
        "return_hazard": FieldDoc("Chance that a person present here returns to the origin "
                                  "(for good)." + _VALUE_NOTE, _WEEK, 0.005),
        "settle_hazard": FieldDoc("Chance that a person present here obtains a permit or "
                                  "protection and stays for good (settled people neither move "
                                  "on nor return)." + _VALUE_NOTE, _WEEK, 0.003),
        "asylum": FieldDoc("The asylum system, where people from the origin can claim asylum "
                           "(omit it where they cannot).", "",
                           {"claim_hazard": 0.002, "processing_days": 180,
                            "recognition_rate": 0.3}),
    },
    "Asylum": {
        "claim_hazard": FieldDoc("Chance that a person present claims asylum." + _VALUE_NOTE,
                                 _WEEK, 0.002),
        "processing_days": FieldDoc("Mean time to a decision: each step a pending claim is "
                                    "decided with probability 1 − exp(−days / "
                                    "processing_days)." + _VALUE_NOTE, "days", 180),
        "recognition_rate": FieldDoc("Share of decisions that grant protection."
                                     + _VALUE_NOTE, "probability", 0.3),
        "capacity": FieldDoc("Most decisions per step (all cohorts together); omit or `null` "
                             "for no limit. Claims above it stay pending." + _VALUE_NOTE,
                             "people per step", 500),
        "rejected_return": FieldDoc("Chance that a rejected claimant returns to the origin; "
                                    "the others move on (choose a route out)." + _VALUE_NOTE,
                                    "probability", 0.5),
    },
    "Route": {
        "id": FieldDoc("Identifier for selectors and overlays; default `FROM_TO_mode`. Needed "
                       "when two routes share `from`, `to` and `mode`.", "",
                       "RUS_DEU_humanitarian"),
        "from": FieldDoc("Country the route leaves from.", "", "RUS"),
        "to": FieldDoc("Country the route leads to (never the origin: returns are hazards).",
                       "", "GEO"),
        "mode": FieldDoc("`land`, `air` or `sea` (for selectors; no effect of its own).", "",
                         "air"),
        "regime": FieldDoc("Entry regime: `visa_free`, `visa_on_arrival`, `e_visa` (crossed "
                           "in the step chosen), `visa_required`, `humanitarian_only` "
                           "(applicants queue for a decision), `closed` (carries nobody).", "",
                           "visa_required"),
        "issuance": FieldDoc("Share of visa decisions that grant the visa (queued regimes "
                             "only)." + _VALUE_NOTE, "probability", 0.6),
        "delay_days": FieldDoc("Mean time to a visa decision: each step an application is "
                               "decided with probability 1 − exp(−days / delay_days); 0: in "
                               "the step of application." + _VALUE_NOTE, "days", 30),
        "capacity": FieldDoc("Most crossings per step (all cohorts together, visa holders "
                             "included); omit or `null` for no limit." + _VALUE_NOTE,
                             "people per step", 5000),
        "cost": FieldDoc("Disutility of the route (distance, price, danger), subtracted from "
                         "the destination's attractiveness." + _VALUE_NOTE, "logit scale", 0.8),
        "documents": FieldDoc("`internal`: the origin's internal passport is enough; "
                              "`international`: only holders of an international passport "
                              "can use the route.", "", "internal"),
        "requires": FieldDoc("Eligibility flags a cohort must all hold to use the route.", "",
                             ["israel_return"]),
    },
    "Cohort": {
        "name": FieldDoc("Identifier.", "", "men_conscription"),
        "description": FieldDoc("Who is in the cohort.", "", "Men of conscription age."),
        "population": FieldDoc("People at risk of leaving, all in the origin at the start."
                               + _VALUE_NOTE, "people", 25000000),
        "baseline_hazard": FieldDoc("Chance of leaving the origin with no shock in force."
                                    + _VALUE_NOTE, _WEEK, 1.0e-5),
        "international_passport": FieldDoc("Share holding an international passport (the "
                                           "others can use only `documents: internal` "
                                           "routes)." + _VALUE_NOTE, "probability", 0.35),
        "eligible": FieldDoc("Eligibility flags: `humanitarian` opens `humanitarian_only` "
                             "routes; any other flag opens the routes that `require` it.", "",
                             ["humanitarian"]),
    },
    "Shock": {
        "name": FieldDoc("Identifier.", "", "mobilization"),
        "description": FieldDoc("What happened.", "", "Partial mobilization announced."),
        "date": FieldDoc("First day of the shock.", "", "2022-09-21"),
        "end": FieldDoc("Last day of the shock (default: none, it only decays).", "",
                        "2022-12-31"),
        "cohorts": FieldDoc("Cohorts hit (default: all); the others keep a multiplier of 1.",
                            "", ["men_conscription"]),
        "multiplier": FieldDoc("Factor on the emigration hazard on the shock's first day; one "
                               "value, or one per cohort with a `default`." + _VALUE_NOTE,
                               "factor", {"default": 2, "men_conscription": 40}),
        "half_life_days": FieldDoc("Days for the excess `multiplier - 1` to halve (default: "
                                   "no decay)." + _VALUE_NOTE, "days", 14),
    },
    "Policy": {
        "name": FieldDoc("Identifier (overlays add, remove and replace policies by name).", "",
                         "finland_land_border_closed"),
        "description": FieldDoc("What the policy is and its source.", "",
                                "All land crossings closed."),
        "start": FieldDoc("First day in force.", "", "2023-11-30"),
        "end": FieldDoc("Last day in force (default: until the end of the horizon).", "",
                        "2024-03-31"),
        "select": FieldDoc("What the policy applies to (default: everything).", "",
                           {"from": "RUS", "to": "FIN", "mode": "land"}),
        "route": FieldDoc("Changes to the selected routes.", "", {"regime": "closed"}),
        "country": FieldDoc("Changes to the selected countries.", "",
                            {"asylum": {"capacity": 0}}),
    },
    "Selector": {
        "countries": FieldDoc("Countries or groups whose fields a `country:` change sets.", "",
                              ["NLD", "NOR"]),
        "routes": FieldDoc("Route ids a `route:` change applies to.", "",
                           ["RUS_DEU_humanitarian"]),
        "from": FieldDoc("Countries or groups the selected routes leave from.", "",
                         ["RUS", "BLR"]),
        "to": FieldDoc("Countries or groups the selected routes lead to.", "", ["schengen"]),
        "mode": FieldDoc("Modes of the selected routes.", "", "air"),
        "cohorts": FieldDoc("Cohorts the change applies to (default: all). A `capacity` "
                            "change applies to all cohorts and cannot select.", "",
                            ["men_conscription"]),
    },
    "RouteChange": {
        "regime": FieldDoc("New entry regime.", "", "humanitarian_only"),
        "issuance": FieldDoc("New share of visa decisions granted." + _VALUE_NOTE,
                             "probability", 0.1),
        "delay_days": FieldDoc("New mean time to a visa decision." + _VALUE_NOTE, "days", 60),
        "capacity": FieldDoc("New capacity; `unlimited` removes a limit." + _VALUE_NOTE,
                             "people per step", 200),
        "cost": FieldDoc("New route cost." + _VALUE_NOTE, "logit scale", 1.5),
    },
    "CountryChange": {
        "attractiveness": FieldDoc("New attractiveness for the selected cohorts."
                                   + _VALUE_NOTE, "logit scale", -1.0),
        "onward_hazard": FieldDoc("New onward hazard." + _VALUE_NOTE, _WEEK, 0.02),
        "return_hazard": FieldDoc("New return hazard." + _VALUE_NOTE, _WEEK, 0.01),
        "settle_hazard": FieldDoc("New settle hazard." + _VALUE_NOTE, _WEEK, 0.0),
        "asylum": FieldDoc("Changes to the asylum system (selected countries without one are "
                           "left alone).", "", {"recognition_rate": 0.8}),
    },
    "AsylumChange": {
        "claim_hazard": FieldDoc("New claim hazard." + _VALUE_NOTE, _WEEK, 0.01),
        "processing_days": FieldDoc("New mean processing time." + _VALUE_NOTE, "days", 90),
        "recognition_rate": FieldDoc("New recognition rate." + _VALUE_NOTE, "probability",
                                     0.8),
        "capacity": FieldDoc("New decisions per step; `unlimited` removes a limit, 0 stops "
                             "processing." + _VALUE_NOTE, "people per step", 0),
        "rejected_return": FieldDoc("New chance that a rejected claimant returns."
                                    + _VALUE_NOTE, "probability", 0.3),
    },
    "Parameter": {
        "value": FieldDoc("The value used when the parameter is not drawn (a plain run).",
                          "the unit of the fields that use it", 0.5),
        "prior": FieldDoc("Prior distribution for calibration and sensitivity analysis.", "",
                          {"dist": "loguniform", "low": 1.0e-6, "high": 1.0e-4}),
        "description": FieldDoc("Where the value and prior come from.", "",
                                "weakly informative"),
    },
    "Prior": {
        "dist": FieldDoc("`uniform(low, high)`, `loguniform(low, high)`, `normal(mean, sd)`, "
                         "`truncnormal(mean, sd, low, high)`, `lognormal(median, sigma)`, "
                         "`beta(a, b)`, `gamma(shape, scale)`.", "", "beta"),
        "low": FieldDoc("Lower bound (uniform, loguniform, truncnormal).", "", 0.0),
        "high": FieldDoc("Upper bound (uniform, loguniform, truncnormal).", "", 1.0),
        "mean": FieldDoc("Mean of the normal (before truncation).", "", 1.0),
        "sd": FieldDoc("Standard deviation of the normal (before truncation).", "", 0.5),
        "median": FieldDoc("Median of the lognormal.", "", 20.0),
        "sigma": FieldDoc("Standard deviation of the lognormal's logarithm.", "", 0.5),
        "a": FieldDoc("First shape of the beta.", "", 2),
        "b": FieldDoc("Second shape of the beta.", "", 2),
        "shape": FieldDoc("Shape of the gamma.", "", 2.0),
        "scale": FieldDoc("Scale of the gamma.", "", 10.0),
    },
    "Behaviour": {
        "deterrence": FieldDoc("How closures deter rather than divert: departures are "
                               "multiplied by `A ** deterrence`, `A` the choice weight of the "
                               "routes open to the cohort now relative to the routes open with "
                               "no policy in force (0: closures only divert)." + _VALUE_NOTE,
                               "exponent between 0 and 1", 0.5),
        "regime_cost": FieldDoc("Disutility of each entry regime, added to a route's own "
                                "cost; regimes not listed cost 0." + _VALUE_NOTE,
                                "logit scale", {"visa_required": 1.0}),
    },
    "Target": {
        "id": FieldDoc("Identifier.", "", "stock_armenia"),
        "observable": FieldDoc("The model quantity the figure measures (see Targets and "
                               "observables).", "", "stock"),
        "kind": FieldDoc("`about` (value ± tolerance), `interval` (low to high), `at_least` "
                         "or `at_most` (value).", "", "about"),
        "where": FieldDoc("Countries or groups (summed), for place observables.", "",
                          ["ARM"]),
        "each": FieldDoc("Apply the figure to each country of `where` separately.", "", True),
        "cohorts": FieldDoc("Cohorts counted (default: all).", "", ["men_conscription"]),
        "start": FieldDoc("First day of the period (period observables).", "",
                          "2022-09-21"),
        "end": FieldDoc("Last day of the period, inclusive (period observables).", "",
                        "2022-10-31"),
        "at": FieldDoc("The date (observables at a date: `abroad`, `stock`, `settled`).",
                       "", "2024-06-30"),
        "value": FieldDoc("The figure (`about`, `at_least`, `at_most`; optional central "
                          "figure of an `interval`).", "people, or a share", 110000),
        "low": FieldDoc("Lower end of an `interval`.", "people, or a share", 400000),
        "high": FieldDoc("Upper end of an `interval`.", "people, or a share", 500000),
        "tolerance": FieldDoc("Relative tolerance of an `about` target (default 0.25: "
                              "value × (1 ± 0.25)).", "fraction", 0.3),
        "source": FieldDoc("Where the figure comes from.", "", "The Bell via article"),
        "quote": FieldDoc("The sentence the figure is taken from, verbatim.", "",
                          "Armenia took in about 110,000 people"),
        "note": FieldDoc("How the figure maps onto the model quantity.", "",
                         "Stock of emigrants in Armenia at mid-2024."),
    },
}

#: The models of the scenario format, in the order the reference documents them.
MODELS: dict[str, type[BaseModel]] = {
    "Scenario": m.Scenario,
    "Calendar": m.Calendar,
    "Country": m.Country,
    "Asylum": m.Asylum,
    "Route": m.Route,
    "Cohort": m.Cohort,
    "Shock": m.Shock,
    "Policy": m.Policy,
    "Selector": m.Selector,
    "RouteChange": m.RouteChange,
    "CountryChange": m.CountryChange,
    "AsylumChange": m.AsylumChange,
    "Parameter": m.Parameter,
    "Prior": m.Prior,
    "Behaviour": m.Behaviour,
    "Target": m.Target,
}

# --------------------------------------------------------------------------------------------
# What type a field is, beyond what pydantic can say
# --------------------------------------------------------------------------------------------

_KIND_DEF = {
    m.ValueKind.real: "Real",
    m.ValueKind.probability: "Probability",
    m.ValueKind.nonnegative: "NonNegative",
    m.ValueKind.positive: "Positive",
    m.ValueKind.count: "Count",
}
_KIND_TEXT = {
    m.ValueKind.real: "number",
    m.ValueKind.probability: "probability (0 to 1)",
    m.ValueKind.nonnegative: "number ≥ 0",
    m.ValueKind.positive: "number > 0",
    m.ValueKind.count: "whole number ≥ 0",
}


@dataclasses.dataclass(frozen=True)
class FieldType:
    """What a field accepts, in the terms of the scenario format.

    Attributes
    ----------
    kind : str
        ``value`` (number or parameter name, see ``value_kind``), ``per_cohort``, ``names``,
        ``modes``, ``date``, ``country_id``, ``name``, ``model`` (see ``model``), ``models``
        (a list of ``model``), ``parameters``, ``groups``, ``regime_costs``, ``enum``,
        ``enums`` (a list), ``text``, ``number``, ``bool``.
    value_kind : ValueKind or None
    nullable : bool
        ``null`` is accepted (it means "none", e.g. no limit).
    unlimited : bool
        The text ``unlimited`` is accepted.
    model : str or None
    options : tuple of str
        The allowed values of an enum.
    """

    kind: str
    value_kind: m.ValueKind | None = None
    nullable: bool = False
    unlimited: bool = False
    model: str | None = None
    options: tuple[str, ...] = ()

    def describe(self) -> str:
        """The type in words, for the reference tables (Markdown)."""
        k = self.kind
        if k == "value":
            text = f"{_KIND_TEXT[self.value_kind]} or parameter"
        elif k == "per_cohort":
            text = f"{_KIND_TEXT[self.value_kind]} or parameter, or one per cohort"
        elif k == "names":
            text = "name or list of names"
        elif k == "modes":
            text = "mode or list of modes"
        elif k == "date":
            text = "date"
        elif k == "country_id":
            text = "country id"
        elif k == "name":
            text = "name"
        elif k == "model":
            text = f"[{self.model}](#{self.model.lower()})"
        elif k == "models":
            text = f"list of [{self.model}](#{self.model.lower()})"
        elif k == "parameters":
            text = "mapping of name to [Parameter](#parameter) or number"
        elif k == "groups":
            text = "mapping of name to list of names"
        elif k == "regime_costs":
            text = "mapping of regime to number or parameter"
        elif k == "enum":
            text = "one of " + ", ".join(f"`{o}`" for o in self.options)
        elif k == "enums":
            text = "list of " + ", ".join(f"`{o}`" for o in self.options)
        elif k == "bool":
            text = "true or false"
        else:
            text = k
        if self.unlimited:
            text += ", or `unlimited`"
        return text


def _args(tp: Any) -> tuple[Any, ...]:
    return typing.get_args(tp)


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _markers(tp: Any) -> tuple[Any, list[Any]]:
    """The type inside ``Annotated`` and its metadata (validator functions and tags)."""
    meta: list[Any] = []
    while typing.get_origin(tp) is Annotated:
        args = _args(tp)
        tp, meta = args[0], meta + list(args[1:])
    out = []
    for x in meta:
        out.append(getattr(x, "func", x))
    return tp, out


def field_type(model: type[BaseModel], name: str) -> FieldType:
    """What the field ``name`` of ``model`` accepts (see :class:`FieldType`)."""
    if model is m.Selector and name == "mode":
        return FieldType("modes", nullable=True, options=_args(m.Mode))
    if model is m.Scenario and name == "parameters":
        return FieldType("parameters")
    if model is m.Scenario and name == "groups":
        return FieldType("groups")
    if model is m.Behaviour and name == "regime_cost":
        return FieldType("regime_costs")
    field = model.model_fields[name]
    tp = field.annotation
    for meta in field.metadata:  # pydantic moves Annotated metadata of the field here
        tp = Annotated[tp, meta]
    return _classify(tp)


def _classify(tp: Any) -> FieldType:
    inner, meta = _markers(tp)
    tags = [x for x in meta if isinstance(x, m._KindTag)]
    if tags:
        return FieldType("value", value_kind=tags[0].kind)
    if typing.get_origin(inner) is dict:
        value = _classify(_args(inner)[1])
        if value.kind == "value":
            return FieldType("per_cohort", value_kind=value.value_kind)
    if m._as_tuple in meta:
        return FieldType("names")
    if m._as_date in meta:
        return FieldType("date")
    if m._check_country_id in meta:
        return FieldType("country_id")
    if m._check_name in meta:
        return FieldType("name")
    if _is_union(inner):
        members = [a for a in _args(inner) if a is not type(None)]
        nullable = len(members) < len(_args(inner))
        unlimited = any(typing.get_origin(a) is typing.Literal and _args(a) == ("unlimited",)
                        for a in members)
        members = [a for a in members if not (typing.get_origin(a) is typing.Literal
                                              and _args(a) == ("unlimited",))]
        if len(members) == 1:
            base = _classify(members[0])
            return dataclasses.replace(base, nullable=nullable, unlimited=unlimited)
        raise TypeError(f"cannot classify the union {tp!r}")  # pragma: no cover
    if typing.get_origin(inner) is typing.Literal:
        return FieldType("enum", options=tuple(str(a) for a in _args(inner)))
    if typing.get_origin(inner) is tuple:
        item = _classify(_args(inner)[0])
        if item.kind == "model":
            return FieldType("models", model=item.model)
        if item.kind == "enum":
            return FieldType("enums", options=item.options)
        raise TypeError(f"cannot classify the tuple {tp!r}")  # pragma: no cover
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        name = "Parameter" if issubclass(inner, m._ParameterModel) else inner.__name__
        return FieldType("model", model=name)
    if inner is str:
        return FieldType("text")
    if inner is bool:
        return FieldType("bool")
    if inner in (float, int):
        return FieldType("number")
    raise TypeError(f"cannot classify the field type {tp!r}")  # pragma: no cover


def field_default(model: type[BaseModel], name: str) -> tuple[bool, Any]:
    """``(has_default, default)`` of a field, as plain data (what a YAML file would hold)."""
    field = model.model_fields[name]
    if field.is_required():
        return False, None
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    else:
        value = field.default
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    if isinstance(value, dict) and set(value) == {"default"}:
        value = value["default"]  # a per-cohort value given once
    return True, _plain(value)


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, dt.date):
        return x.isoformat()
    return x


# --------------------------------------------------------------------------------------------
# The schema
# --------------------------------------------------------------------------------------------


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


_NAME = m.NAME_PATTERN.pattern
_SHARED_DEFS: dict[str, Any] = {
    "ParameterName": {
        "type": "string", "pattern": _NAME,
        "description": "The name of a parameter declared under `parameters`.",
    },
    "Name": {
        "type": "string", "pattern": _NAME,
        "description": "A name: letters, digits and underscores, starting with a letter.",
    },
    "Names": {
        "description": "A name, or a list of names (`x` is short for `[x]`).",
        "anyOf": [{"type": "string", "pattern": _NAME},
                  {"type": "array", "items": {"type": "string", "pattern": _NAME}}],
    },
    "CountryId": {
        "type": "string", "pattern": m.COUNTRY_PATTERN.pattern,
        "description": "An ISO 3166 alpha-3 country id (three capital letters).",
    },
    "Date": {
        "type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$",
        "description": "A calendar date, YYYY-MM-DD.",
    },
    "Modes": {
        "description": "A mode, or a list of modes.",
        "anyOf": [{"enum": list(_args(m.Mode))},
                  {"type": "array", "items": {"enum": list(_args(m.Mode))}}],
    },
}
_RANGES: dict[m.ValueKind, dict[str, Any]] = {
    m.ValueKind.real: {"type": "number"},
    m.ValueKind.probability: {"type": "number", "minimum": 0, "maximum": 1},
    m.ValueKind.nonnegative: {"type": "number", "minimum": 0},
    m.ValueKind.positive: {"type": "number", "exclusiveMinimum": 0},
    m.ValueKind.count: {"type": "integer", "minimum": 0},
}
for _kind, _def in _KIND_DEF.items():
    _SHARED_DEFS[_def] = {
        "description": f"A {_KIND_TEXT[_kind]}, or the name of a parameter.",
        "anyOf": [_RANGES[_kind], _ref("ParameterName")],
    }
    _SHARED_DEFS[f"PerCohort{_def}"] = {
        "description": f"A {_KIND_TEXT[_kind]} or a parameter name, or one per cohort: "
                       "`{default: x, <cohort>: y}`.",
        "anyOf": [_ref(_def), {
            "type": "object",
            "properties": {"default": _ref(_def)},
            "propertyNames": {"pattern": _NAME},
            "additionalProperties": _ref(_def),
        }],
    }


_JSON_TYPES = {"text": "string", "number": "number", "bool": "boolean"}


def _type_schema(ft: FieldType) -> dict[str, Any]:
    """The schema of a field of type ``ft``."""
    k = ft.kind
    if k == "value":
        s = _ref(_KIND_DEF[ft.value_kind])
    elif k == "per_cohort":
        s = _ref("PerCohort" + _KIND_DEF[ft.value_kind])
    elif k == "names":
        s = _ref("Names")
    elif k == "modes":
        s = _ref("Modes")
    elif k == "date":
        s = _ref("Date")
    elif k == "country_id":
        s = _ref("CountryId")
    elif k == "name":
        s = _ref("Name")
    elif k == "model":
        s = _ref(ft.model)
    elif k == "models":
        s = {"type": "array", "items": _ref(ft.model)}
    elif k == "parameters":
        s = {"type": "object", "propertyNames": {"pattern": _NAME},
             "additionalProperties": {"anyOf": [{"type": "number"}, _ref("Parameter")]}}
    elif k == "groups":
        s = {"type": "object", "propertyNames": {"pattern": _NAME},
             "additionalProperties": _ref("Names")}
    elif k == "regime_costs":
        s = {"type": "object", "propertyNames": {"enum": list(m.REGIMES)},
             "additionalProperties": _ref("Real")}
    elif k == "enum":
        s = {"type": "string", "enum": list(ft.options)}
    elif k == "enums":
        s = {"type": "array", "items": {"type": "string", "enum": list(ft.options)},
             "uniqueItems": True}
    elif k in _JSON_TYPES:
        s = {"type": _JSON_TYPES[k]}
    else:  # pragma: no cover - field_type knows every kind
        raise ValueError(f"no schema for the field kind {k!r}")
    options = [s]
    if ft.unlimited:
        options.append({"const": "unlimited"})
    if ft.nullable:
        options.append({"type": "null"})
    return options[0] if len(options) == 1 else {"anyOf": options}


def _with_doc(schema: dict[str, Any], doc: FieldDoc | None, title: str,
              default: tuple[bool, Any]) -> dict[str, Any]:
    """Add a title, a description, the default and an example (never beside a ``$ref``)."""
    if "$ref" in schema:
        schema = {"allOf": [schema]}
    out: dict[str, Any] = {"title": title}
    if doc is not None:
        text = doc.text + (f" Unit: {doc.unit}." if doc.unit else "")
        out["description"] = text
    out.update(schema)
    has, value = default
    if has:
        out["default"] = value
    if doc is not None and doc.example is not None:
        out["examples"] = [doc.example]
    return out


def _model_schema(name: str, model: type[BaseModel], generated: dict[str, Any]) -> dict[str, Any]:
    """One model's schema: pydantic's, with every field's schema rewritten and documented."""
    out = {k: v for k, v in generated.items() if k not in ("properties", "title")}
    out = {"title": name, **out}
    out["description"] = (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    props: dict[str, Any] = {}
    docs = FIELD_DOCS.get(name, {})
    for fname, field in model.model_fields.items():
        key = field.alias or fname
        ft = field_type(model, fname)
        if key not in generated["properties"]:  # pragma: no cover - pydantic and we disagree
            raise KeyError(f"pydantic's schema of {name} has no field {key!r}")
        schema = _type_schema(ft)
        props[key] = _with_doc(schema, docs.get(key), key, field_default(model, fname))
    out["properties"] = props
    out["additionalProperties"] = False
    return out


def _prior_rules() -> list[dict[str, Any]]:
    """``if dist is X then require X's arguments`` (draft-7 conditionals)."""
    return [{"if": {"properties": {"dist": {"const": dist}}, "required": ["dist"]},
             "then": {"required": list(args)}}
            for dist, args in m._PRIOR_ARGUMENTS.items()]


def _target_rules() -> list[dict[str, Any]]:
    at_date = sorted(m.AT_DATE)
    return [
        {"if": {"properties": {"kind": {"const": "interval"}}, "required": ["kind"]},
         "then": {"required": ["low", "high"]},
         "else": {"required": ["value"]}},
        {"if": {"properties": {"observable": {"enum": at_date}}, "required": ["observable"]},
         "then": {"required": ["at"]},
         "else": {"required": ["start", "end"]}},
        {"if": {"properties": {"observable": {"enum": sorted(m.NEEDS_PLACE)}},
                "required": ["observable"]},
         "then": {"required": ["where"]}},
    ]


def _edits(section: str, item: str, key: str) -> dict[str, Any]:
    """The overlay form of a list section: edits of the parent's items by name."""
    return {
        "title": f"{section} (edits)",
        "description": f"In a file that `extends` another: edits of its `{section}` by "
                       f"{key}, applied in the order remove, replace, add.",
        "type": "object",
        "properties": {
            "remove": {"description": f"Names of {section} to remove (each must exist).",
                       "allOf": [_ref("Names")]},
            "replace": {"description": f"{section} that replace the one of the same {key} "
                                       "(each must exist; it keeps its place).",
                        "type": "array", "items": _ref(item)},
            "add": {"description": f"New {section}, appended at the end (the name must be "
                                   "new).",
                    "type": "array", "items": _ref(item)},
        },
        "additionalProperties": False,
    }


_LIST_SECTIONS = {"countries": ("Country", "id"), "routes": ("Route", "id (or from, to, mode)"),
                  "cohorts": ("Cohort", "name"), "shocks": ("Shock", "name"),
                  "policies": ("Policy", "name"), "targets": ("Target", "id")}


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema (draft 7) of a scenario file, overlays and included targets included.

    Returns
    -------
    dict
        Plain JSON data; ``json.dumps`` it, or see :func:`schema_text`.
    """
    generated = m.Scenario.model_json_schema(by_alias=True)
    gdefs = generated.pop("$defs")
    gdefs["Scenario"] = generated
    defs: dict[str, Any] = {}
    for name, model in MODELS.items():
        defs[name] = _model_schema(name, model, gdefs[name])
    defs["Prior"]["allOf"] = _prior_rules()
    defs["Target"]["allOf"] = _target_rules()

    scen = defs["Scenario"]
    doc = FIELD_DOCS["Scenario"]
    targets_path = {"type": "string",
                    "description": "Path (relative to this file) of a targets file."}
    scen["properties"]["targets"] = _with_doc(
        {"anyOf": [{"type": "array", "items": _ref("Target")}, targets_path]},
        doc["targets"], "targets", (True, []))
    defs["TargetsFile"] = {
        "title": "flowsim targets file",
        "description": "A file of targets, included by `targets: PATH`: a list of targets, "
                       "or a mapping with a `targets:` list.",
        "anyOf": [{"type": "array", "items": _ref("Target")},
                  {"type": "object", "properties": {"targets": {
                      "type": "array", "items": _ref("Target")}},
                   "required": ["targets"]}],
    }

    # the overlay form: list sections are edits, nothing but `extends` is required
    extends = _with_doc({"type": "string"}, doc["extends"], "extends", (False, None))
    overlay_props: dict[str, Any] = {"extends": extends}
    for key, prop in scen["properties"].items():
        if key in _LIST_SECTIONS:
            item, by = _LIST_SECTIONS[key]
            overlay_props[key] = _edits(key, item, by)
        elif key == "calendar":
            patch = copy.deepcopy(defs["Calendar"])
            patch.pop("required", None)
            patch["title"] = "Calendar (changes)"
            defs["CalendarChanges"] = patch
            overlay_props[key] = _with_doc(_ref("CalendarChanges"), FieldDoc(
                "Calendar fields to change."), key, (False, None))
        else:
            overlay_props[key] = prop
    defs["Overlay"] = {
        "title": "Overlay",
        "description": "A scenario file that `extends` another and changes it.",
        "type": "object",
        "properties": overlay_props,
        "required": ["extends"],
        "additionalProperties": False,
    }

    # the top level: every key for completion; the full form or the overlay form decides
    top_props: dict[str, Any] = {"extends": extends}
    for key, prop in scen["properties"].items():
        if key in _LIST_SECTIONS:
            forms = prop.get("anyOf", [{"type": "array", "items": prop.get("items")}])
            top_props[key] = _with_doc({"anyOf": [*forms, overlay_props[key]]}, doc[key], key,
                                       field_default(m.Scenario, key))
        else:
            top_props[key] = overlay_props[key]
    defs.update(copy.deepcopy(_SHARED_DEFS))
    order = [*MODELS, "CalendarChanges", "Overlay", "TargetsFile", *sorted(_SHARED_DEFS)]
    return {
        "$schema": DRAFT,
        "title": "flowsim scenario",
        "description": (
            "A flowsim scenario file: countries, routes, cohorts, shocks, dated policies, "
            "parameters and targets (see docs/scenario-format.md). With `extends: PATH` the "
            "file is an overlay of another scenario. Generated by `flowsim schema`."),
        "type": "object",
        "properties": top_props,
        "additionalProperties": False,
        "if": {"required": ["extends"]},
        "then": _ref("Overlay"),
        "else": _ref("Scenario"),
        "$defs": {k: defs[k] for k in order},
    }


def schema_text() -> str:
    """The schema as the text ``flowsim schema`` prints (two-space JSON, final newline)."""
    return json.dumps(scenario_schema(), indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------------
# the command
# --------------------------------------------------------------------------------------------


def schema(
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write the schema to this file (replaced at once) instead of "
        "printing it.", show_default=False)] = None,
) -> None:
    """Print the JSON Schema of the scenario format (for editors and validators).

    Point a YAML editor at it with a first line such as
    [bold]# yaml-language-server: $schema=../docs/scenario.schema.json[/bold].
    """
    text = schema_text()
    if out is None:
        typer.echo(text, nl=False)
        return
    with handle_input_errors():
        _write_atomically(out, text)


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                               dir=path.parent if str(path.parent) else ".")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; give it a normal file's mode
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
