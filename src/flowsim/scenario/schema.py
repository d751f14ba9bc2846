"""The JSON Schema of the scenario format (what ``flowsim schema`` prints).

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

Each field carries a description with its unit, its default and an example, read from the
field itself (:mod:`flowsim.scenario.docs`, also the source of the tables in
``docs/scenario-format.md``). The schema is written for JSON Schema draft 7, which YAML
editors support best (``$defs`` is only a place that ``$ref`` pointers lead to; a ``$ref``
never has sibling keywords).

The shipped copy is ``docs/scenario.schema.json``; regenerate it on purpose with
``flowsim schema --out docs/scenario.schema.json`` (a test compares the two).
"""

from __future__ import annotations

import copy
import json
import typing
from typing import Any

from pydantic import BaseModel

from flowsim.scenario.docs import (
    FIELD_DOCS,
    KIND_TEXT,
    MODELS,
    FieldDoc,
    FieldType,
    field_default,
    field_type,
)
from flowsim.scenario.model import AT_DATE, NAME_PATTERN, NEEDS_PLACE, REGIMES, Scenario
from flowsim.scenario.parameters import _PRIOR_ARGUMENTS
from flowsim.scenario.values import COUNTRY_PATTERN, Mode, ValueKind

__all__ = ["DRAFT", "scenario_schema", "schema_text"]

#: The JSON Schema draft the schema is written for (the one YAML editors support best).
DRAFT = "http://json-schema.org/draft-07/schema#"

#: The name of each kind of number's shared definition under ``$defs``.
_KIND_DEF = {
    ValueKind.real: "Real",
    ValueKind.probability: "Probability",
    ValueKind.nonnegative: "NonNegative",
    ValueKind.positive: "Positive",
    ValueKind.count: "Count",
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


_NAME = NAME_PATTERN.pattern
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
        "type": "string", "pattern": COUNTRY_PATTERN.pattern,
        "description": "An ISO 3166 alpha-3 country id (three capital letters).",
    },
    "Date": {
        "type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$",
        "description": "A calendar date, YYYY-MM-DD.",
    },
    "Modes": {
        "description": "A mode, or a list of modes.",
        "anyOf": [{"enum": list(typing.get_args(Mode))},
                  {"type": "array", "items": {"enum": list(typing.get_args(Mode))}}],
    },
}
_RANGES: dict[ValueKind, dict[str, Any]] = {
    ValueKind.real: {"type": "number"},
    ValueKind.probability: {"type": "number", "minimum": 0, "maximum": 1},
    ValueKind.nonnegative: {"type": "number", "minimum": 0},
    ValueKind.positive: {"type": "number", "exclusiveMinimum": 0},
    ValueKind.count: {"type": "integer", "minimum": 0},
}
for _kind, _def in _KIND_DEF.items():
    _SHARED_DEFS[_def] = {
        "description": f"A {KIND_TEXT[_kind]}, or the name of a parameter.",
        "anyOf": [_RANGES[_kind], _ref("ParameterName")],
    }
    _SHARED_DEFS[f"PerCohort{_def}"] = {
        "description": f"A {KIND_TEXT[_kind]} or a parameter name, or one per cohort: "
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
    elif k == "flags":  # a cohort's eligibility: whole flags, or a share per flag
        s = {"anyOf": [_ref("Names"), {
            "type": "object", "propertyNames": {"pattern": _NAME},
            "additionalProperties": _ref(_KIND_DEF[ValueKind.probability])}]}
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
    elif k == "cohort_models":
        s = {"type": "object", "propertyNames": {"pattern": _NAME},
             "additionalProperties": _ref(ft.model)}
    elif k == "parameters":
        s = {"type": "object", "propertyNames": {"pattern": _NAME},
             "additionalProperties": {"anyOf": [{"type": "number"}, _ref("Parameter")]}}
    elif k in ("groups", "name_lists"):
        s = {"type": "object", "propertyNames": {"pattern": _NAME},
             "additionalProperties": _ref("Names")}
    elif k == "texts":
        s = {"type": "object", "propertyNames": {"pattern": _NAME},
             "additionalProperties": {"type": "string"}}
    elif k == "dates":
        s = {"type": "array", "items": _ref("Date")}
    elif k == "numbers":
        s = {"type": "array", "items": {"type": "number"}}
    elif k == "regime_costs":
        s = {"type": "object", "propertyNames": {"enum": list(REGIMES)},
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
            for dist, args in _PRIOR_ARGUMENTS.items()]


def _target_rules() -> list[dict[str, Any]]:
    at_date = sorted(AT_DATE)
    period = {"anyOf": [{"required": ["start", "end"]}, {"required": ["windows"]}]}
    return [
        {"if": {"properties": {"kind": {"const": "interval"}}, "required": ["kind"]},
         "then": {"required": ["low", "high"]},
         "else": {"if": {"properties": {"kind": {"const": "series"}}, "required": ["kind"]},
                  "then": {"anyOf": [{"required": ["every", "start", "end", "values"]},
                                     {"required": ["windows"]}]},
                  "else": {"required": ["value"]}}},
        # a stock observable is read `at` a date, or, in a series, as its change over
        # each window (which the series rule above requires)
        {"if": {"properties": {"observable": {"enum": at_date}}, "required": ["observable"]},
         "then": {"anyOf": [{"required": ["at"]},
                            {"properties": {"kind": {"const": "series"}},
                             "required": ["kind"]}]},
         "else": {"if": {"properties": {"observable": {"const": "ratio"}},
                         "required": ["observable"]},
                  "then": {"required": ["numerator", "denominator"]},
                  "else": period}},
        {"if": {"properties": {"observable": {"enum": sorted(NEEDS_PLACE)}},
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
                  "policies": ("Policy", "name"), "schedules": ("Schedule", "name"),
                  "programmes": ("Programme", "name"), "targets": ("Target", "id"),
                  "validation": ("Target", "id")}


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema (draft 7) of a scenario file, overlays and included targets included.

    Returns
    -------
    dict
        Plain JSON data; ``json.dumps`` it, or see :func:`schema_text`.
    """
    generated = Scenario.model_json_schema(by_alias=True)
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
                       "or a mapping with a `targets:` list, an optional `validation:` list "
                       "(figures never calibrated on) and an optional `error_model`.",
        "anyOf": [{"type": "array", "items": _ref("Target")},
                  {"type": "object", "properties": {
                      "targets": {"type": "array", "items": _ref("Target")},
                      "validation": {"type": "array", "items": _ref("Target")},
                      "error_model": {
                          "description": "`range` (default): targets without an `error:` "
                                         "block are ranges; `error`: they get the error "
                                         "their kind implies (`error: {}`).",
                          "enum": ["range", "error"]}},
                   "required": ["targets"], "additionalProperties": False}],
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
                                       field_default(Scenario, key))
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
