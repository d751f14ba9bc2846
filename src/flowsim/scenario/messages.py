"""Pydantic's validation errors in plain sentences, at the place in the file they concern.

The loader (:mod:`flowsim.scenario.loading`) validates each section and each item on its
own; what fails is turned here into one sentence per mistake, with the path of the
offending value, and what can be saved of a broken item is kept for the whole-scenario
checks (:func:`salvage`, :func:`fieldwise`).
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, TypeAdapter, ValidationError

from flowsim.errors import did_you_mean

__all__ = ["clean_loc", "fieldwise", "kind_of", "report_errors", "salvage"]


class _Sink(Protocol):
    def add(self, path: tuple[Any, ...] | list[Any], message: str,
            severity: str = "error") -> None: ...


def salvage(adapter: TypeAdapter, item: Any, error: ValidationError) -> Any:
    """The item with its offending optional keys dropped, if that makes it valid.

    Whole-scenario checks then still see the rest of the item (a policy with a misspelt
    regime still gets its dates and selector checked). Returns ``None`` if nothing valid is
    left.
    """
    for _ in range(4):
        for err in error.errors(include_url=False):
            loc = clean_loc(tuple(err["loc"]))
            parent = item
            for part in loc[:-1]:
                try:
                    parent = parent[part]
                except (KeyError, IndexError, TypeError):
                    parent = None
                    break
            if isinstance(parent, dict) and loc and loc[-1] in parent:
                del parent[loc[-1]]
        try:
            return adapter.validate_python(item)
        except ValidationError as e:
            error = e
    return None


def fieldwise(model: type[BaseModel], item: Any) -> BaseModel | None:
    """What can be read of an item that failed its model's own check, field by field.

    Each field that validates on its own keeps its value; the others (and missing required
    fields) are ``None``. The result is built without validation, for the whole-scenario
    checks only: a target whose ``observable`` is misspelt, or whose ``low`` is above its
    ``high``, still gets its id, places and dates checked in the same pass.

    Returns
    -------
    BaseModel or None
        ``None`` if ``item`` is not a mapping.
    """
    if not isinstance(item, dict):
        return None
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in item:
            values[name] = None if field.is_required() else field.get_default(
                call_default_factory=True)
            continue
        tp = Annotated[(field.annotation, *field.metadata)] if field.metadata \
            else field.annotation
        try:
            values[name] = TypeAdapter(tp).validate_python(item[key])
        except ValidationError:
            values[name] = None
    return model.model_construct(**values)


def kind_of(x: Any) -> str:
    """A value described in words (``the text 'x'``, ``a list``) for a message."""
    if x is None:
        return "nothing (null)"
    if isinstance(x, dict):
        return "a mapping"
    if isinstance(x, list):
        return "a list"
    if isinstance(x, str):
        return f"the text {x!r}"
    return f"the value {x!r}"


_PYDANTIC_TAGS = ("function-", "tagged-union", "union[", "literal[", "json-or-python",
                  "lax-or-strict", "chain[", "nullable[", "default[")


def clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop pydantic's union/validator tags from an error location."""
    out = []
    for part in loc:
        if isinstance(part, str) and (
            part in ("int", "float", "str", "bool", "dict", "list", "tuple", "none", "date",
                     "constrained-str", "is-instance[date]")
            or any(part.startswith(t) for t in _PYDANTIC_TAGS)
            or "[" in part and part.endswith("]")
        ):
            continue
        out.append(part)
    return tuple(out)


def report_errors(e: ValidationError, prefix: tuple[Any, ...], model_type: Any,
                  out: _Sink) -> None:
    """Add one sentence per mistake of ``e`` to ``out``, at ``prefix`` + its location."""
    seen: set[tuple[tuple[Any, ...], str]] = set()
    for err in e.errors(include_url=False):
        loc = clean_loc(tuple(err["loc"]))
        message = _sentence(err, loc, model_type)
        if (loc, message) in seen:
            continue  # a union reports the same mistake once per member
        seen.add((loc, message))
        out.add((*prefix, *loc), message)


def _sentence(err: dict[str, Any], loc: tuple[Any, ...], model_type: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model_type, loc[:-1])
        key = str(loc[-1]) if loc else "?"
        hint = did_you_mean(key, allowed) if allowed else ""
        listing = f" (allowed: {', '.join(allowed)})" if allowed and not hint else ""
        return f"unknown key {key!r}{hint}{listing}"
    if kind == "missing":
        return f"`{loc[-1]}` is required" if loc else "a required field is missing"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        got = err.get("input")
        options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",")]
        hint = did_you_mean(str(got), options) if isinstance(got, str) else ""
        return f"{got!r} is not one of {expected}{hint}"
    if kind in ("value_error", "assertion_error"):
        msg = err["msg"]
        for p in ("Value error, ", "Assertion failed, "):
            msg = msg.removeprefix(p)
        return msg
    if kind == "model_type" or kind == "model_attributes_type" or kind == "dict_type":
        return f"expected a mapping, got {kind_of(err.get('input'))}"
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {kind_of(err.get('input'))}"
    if kind in ("float_type", "float_parsing", "int_type", "int_parsing"):
        return f"expected a number, got {kind_of(err.get('input'))}"
    if kind in ("string_type",):
        return f"expected text, got {kind_of(err.get('input'))}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {kind_of(err.get('input'))}"
    return err["msg"][:1].lower() + err["msg"][1:]


def _unwrap(tp: Any) -> list[Any]:
    """The model/container types inside an annotation (through Annotated, unions, None)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        out = []
        for a in typing.get_args(tp):
            out += _unwrap(a)
        return out
    return [tp]


def _allowed_keys(tp: Any, loc: tuple[Any, ...]) -> list[str]:
    """The keys a mapping at ``loc`` under type ``tp`` may hold (for "did you mean")."""
    current = _unwrap(tp)
    for part in loc:
        nxt: list[Any] = []
        for t in current:
            origin = typing.get_origin(t)
            if isinstance(t, type) and issubclass(t, BaseModel) and isinstance(part, str):
                for fname, f in t.model_fields.items():
                    if part in (fname, f.alias):
                        nxt += _unwrap(f.annotation)
            elif origin in (tuple, list) and isinstance(part, int):
                nxt += _unwrap(typing.get_args(t)[0])
            elif origin is dict:
                nxt += _unwrap(typing.get_args(t)[1])
        current = nxt
    for t in current:
        if isinstance(t, type) and issubclass(t, BaseModel):
            return [f.alias or n for n, f in t.model_fields.items()]
    return []

