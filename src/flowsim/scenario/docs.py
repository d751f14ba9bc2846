"""What every field of the scenario format means, read from the models themselves.

Each field documents itself where it is declared (:mod:`flowsim.scenario.model` and the
modules it gathers): ``Field(description=..., examples=[...], json_schema_extra={"unit":
...})``. This module turns that into :class:`FieldDoc` entries (:data:`FIELD_DOCS`), works out
what a field accepts in the terms of the format (:func:`field_type`: a probability or a
parameter name, a list of names, ...) and its default as a YAML file would write it
(:func:`field_default`). The reference tables of ``docs/scenario-format.md``
(``docs/generate_reference.py``) and the JSON Schema (:mod:`flowsim.scenario.schema`) both
read from here, so the code, the reference and the schema say the same thing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel

from flowsim.scenario.model import (
    Asylum,
    AsylumChange,
    Behaviour,
    Calendar,
    Cohort,
    Country,
    CountryChange,
    InitialStock,
    Network,
    Parameter,
    Policy,
    Prior,
    Programme,
    Report,
    Route,
    RouteChange,
    Scenario,
    Schedule,
    SchedulePoint,
    Selector,
    Shock,
    Target,
    Window,
)
from flowsim.scenario.parameters import _ParameterModel
from flowsim.scenario.target_parts import Measure, Period, TargetError
from flowsim.scenario.values import (
    Mode,
    ValueKind,
    _as_date,
    _as_tuple,
    _check_country_id,
    _check_name,
    _KindTag,
)

__all__ = ["FIELD_DOCS", "FILE_KEYS", "KIND_TEXT", "MODELS", "VALUE_NOTE", "FieldDoc",
           "FieldType", "field_default", "field_doc", "field_type"]


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


#: The models of the scenario format, in the order the reference documents them.
MODELS: dict[str, type[BaseModel]] = {
    "Scenario": Scenario,
    "Calendar": Calendar,
    "Country": Country,
    "Asylum": Asylum,
    "InitialStock": InitialStock,
    "Network": Network,
    "Route": Route,
    "Cohort": Cohort,
    "Shock": Shock,
    "Policy": Policy,
    "Selector": Selector,
    "RouteChange": RouteChange,
    "CountryChange": CountryChange,
    "AsylumChange": AsylumChange,
    "Parameter": Parameter,
    "Prior": Prior,
    "Schedule": Schedule,
    "SchedulePoint": SchedulePoint,
    "Programme": Programme,
    "Behaviour": Behaviour,
    "Report": Report,
    "Window": Window,
    "Target": Target,
    "TargetError": TargetError,
    "Period": Period,
    "Measure": Measure,
}

#: Keys of a scenario file that are no field of a model, documented here because no field
#: can carry their text: the loader reads ``extends`` (and resolves the file it names) before
#: the data reaches :class:`~flowsim.scenario.model.Scenario`.
FILE_KEYS: dict[str, dict[str, FieldDoc]] = {
    "Scenario": {
        "extends": FieldDoc(
            "Path (relative to this file) of a scenario this file modifies. In such an "
            "overlay the list sections are edits by name (`add`, `remove`, `replace`), "
            "`calendar` and `behaviour` are merged field by field, `parameters` and `groups` "
            "entry by entry; nothing else is required.", "", "../russia-2022.yaml"),
    },
}

#: Added to the description of every field that takes a number or a parameter name: it
#: follows from the field's type, so the fields do not repeat it.
VALUE_NOTE = " A number or the name of a parameter."

#: Each kind of number in words, for the reference tables and the schema's descriptions.
KIND_TEXT: dict[ValueKind, str] = {
    ValueKind.real: "number",
    ValueKind.probability: "probability (0 to 1)",
    ValueKind.nonnegative: "number ≥ 0",
    ValueKind.positive: "number > 0",
    ValueKind.count: "whole number ≥ 0",
}

# --------------------------------------------------------------------------------------------
# What type a field is, beyond what pydantic can say
# --------------------------------------------------------------------------------------------


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
    value_kind: ValueKind | None = None
    nullable: bool = False
    unlimited: bool = False
    model: str | None = None
    options: tuple[str, ...] = ()

    @property
    def takes_parameters(self) -> bool:
        """Whether the field takes numbers that may be parameter names (:data:`VALUE_NOTE`)."""
        return self.kind in ("value", "per_cohort", "regime_costs", "flags")

    def describe(self) -> str:
        """The type in words, for the reference tables (Markdown)."""
        k = self.kind
        if k == "value":
            text = f"{KIND_TEXT[self.value_kind]} or parameter"
        elif k == "per_cohort":
            text = f"{KIND_TEXT[self.value_kind]} or parameter, or one per cohort"
        elif k == "names":
            text = "name or list of names"
        elif k == "flags":  # a cohort's eligibility: whole flags, or a share per flag
            text = "name or list of names, or mapping of name to probability or parameter"
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
        elif k == "cohort_models":
            text = f"mapping of cohort name to [{self.model}](#{self.model.lower()})"
        elif k == "parameters":
            text = "mapping of name to [Parameter](#parameter) or number"
        elif k in ("groups", "name_lists"):
            text = "mapping of name to list of names"
        elif k == "texts":
            text = "mapping of name to text"
        elif k == "dates":
            text = "list of dates"
        elif k == "numbers":
            text = "list of numbers"
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
    """What a field accepts, in the terms of the scenario format.

    Parameters
    ----------
    model : type of BaseModel
        A model of the format (a value of :data:`MODELS`).
    name : str
        The field's Python name (``from_``, not ``from``).

    Returns
    -------
    FieldType
    """
    # Four fields whose types pydantic states less exactly than the validators accept them.
    if model is Selector and name == "mode":
        return FieldType("modes", nullable=True, options=_args(Mode))
    if model is Scenario and name == "parameters":
        return FieldType("parameters")
    if model is Scenario and name == "groups":
        return FieldType("groups")
    if model is Behaviour and name == "regime_cost":
        return FieldType("regime_costs")
    if model is Cohort and name == "eligible":
        return FieldType("flags")
    field = model.model_fields[name]
    tp = field.annotation
    for meta in field.metadata:  # pydantic moves Annotated metadata of the field here
        tp = Annotated[tp, meta]
    return _classify(tp)


def _classify(tp: Any) -> FieldType:
    inner, meta = _markers(tp)
    tags = [x for x in meta if isinstance(x, _KindTag)]
    if tags:
        return FieldType("value", value_kind=tags[0].kind)
    if typing.get_origin(inner) is dict:
        value = _classify(_args(inner)[1])
        if value.kind == "value":
            return FieldType("per_cohort", value_kind=value.value_kind)
        if value.kind == "model":
            return FieldType("cohort_models", model=value.model)
        if value.kind == "names":
            return FieldType("name_lists")
        if value.kind == "text":
            return FieldType("texts")
    if _as_tuple in meta:
        return FieldType("names")
    if _as_date in meta:
        return FieldType("date")
    if _check_country_id in meta:
        return FieldType("country_id")
    if _check_name in meta:
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
        if item.kind == "date":
            return FieldType("dates")
        if item.kind == "number":
            return FieldType("numbers")
        raise TypeError(f"cannot classify the tuple {tp!r}")  # pragma: no cover
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        name = "Parameter" if issubclass(inner, _ParameterModel) else inner.__name__
        return FieldType("model", model=name)
    if inner is str:
        return FieldType("text")
    if inner is bool:
        return FieldType("bool")
    if inner in (float, int):
        return FieldType("number")
    raise TypeError(f"cannot classify the field type {tp!r}")  # pragma: no cover


def field_default(model: type[BaseModel], name: str) -> tuple[bool, Any]:
    """A field's default as plain data (what a YAML file would hold).

    Parameters
    ----------
    model : type of BaseModel
        A model of the format.
    name : str
        The field's Python name.

    Returns
    -------
    (bool, Any)
        ``(False, None)`` for a required field, else ``(True, default)``; a per-cohort value
        given once is shown as that value.
    """
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
# What a field means
# --------------------------------------------------------------------------------------------


def field_doc(model: type[BaseModel], name: str) -> FieldDoc:
    """The documentation a field carries, as a :class:`FieldDoc`.

    Parameters
    ----------
    model : type of BaseModel
        A model of the format.
    name : str
        The field's Python name.

    Returns
    -------
    FieldDoc
        Its ``description`` (with :data:`VALUE_NOTE` for fields that take parameter names),
        its unit (``json_schema_extra["unit"]``, "" without one) and its first example. A
        field without a description gets an empty text rather than an error, so that the
        command line still starts; ``tests/test_schema.py`` requires every field to have one.
    """
    field = model.model_fields[name]
    text = field.description or ""
    if field_type(model, name).takes_parameters:
        text += VALUE_NOTE
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    example = field.examples[0] if field.examples else None
    return FieldDoc(text, str(extra.get("unit", "")), example)


def _model_docs(name: str, model: type[BaseModel]) -> dict[str, FieldDoc]:
    """Every documented key of a model, by its YAML name (``from``, not ``from_``)."""
    fields = {f.alias or n: field_doc(model, n) for n, f in model.model_fields.items()}
    return {**FILE_KEYS.get(name, {}), **fields}


#: The documentation of every key of every model, by model name and then YAML key: the
#: fields' own (:func:`field_doc`), and the file keys no field holds (:data:`FILE_KEYS`).
FIELD_DOCS: dict[str, dict[str, FieldDoc]] = {
    name: _model_docs(name, model) for name, model in MODELS.items()
}
