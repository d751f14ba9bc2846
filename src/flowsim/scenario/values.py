"""Kinds of numbers and the field types every part of a scenario shares.

What a single field accepts on its own, whichever model it sits on: numbers of a kind
(:class:`ValueKind`: a probability, a count of people, ...) or the name of a parameter in
their place, dates, names, country ids, lists of names given as a single name, values that
may differ per cohort, and the fixed vocabularies (roles, modes, regimes, documents, steps).
:class:`_Model` is the base of every scenario model: frozen, and strict about unknown keys.

The models themselves are in :mod:`flowsim.scenario.network` (countries, asylum, routes),
:mod:`flowsim.scenario.people` (cohorts, shocks), :mod:`flowsim.scenario.policies`,
:mod:`flowsim.scenario.parameters` (parameters, priors), :mod:`flowsim.scenario.targets` and
:mod:`flowsim.scenario.model` (calendar, behaviour, the scenario; every name gathered).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, PlainSerializer

__all__ = [
    "COUNTRY_PATTERN",
    "NAME_PATTERN",
    "PER_WEEK",
    "REGIMES",
    "Count",
    "CountryId",
    "Date",
    "Documents",
    "Mode",
    "Name",
    "Names",
    "NonNegative",
    "Positive",
    "Probability",
    "Real",
    "Regime",
    "Role",
    "Step",
    "ValueKind",
    "describe_kind",
    "kind_accepts",
]

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
COUNTRY_PATTERN = re.compile(r"^[A-Z]{3}$")


class ValueKind(str, Enum):
    """What a numeric field accepts; used by field checks and by parameter checks."""

    real = "real"  # any finite number (utilities, costs)
    probability = "probability"  # in [0, 1]
    nonnegative = "nonnegative"  # >= 0
    positive = "positive"  # > 0
    count = "count"  # a non-negative whole number of people


_KIND_SENTENCE = {
    ValueKind.real: "a finite number",
    ValueKind.probability: "a probability between 0 and 1",
    ValueKind.nonnegative: "a number that is not negative",
    ValueKind.positive: "a number greater than 0",
    ValueKind.count: "a whole number that is not negative",
}


def kind_accepts(kind: ValueKind, x: float) -> bool:
    """Whether the number ``x`` is acceptable for a field of this kind."""
    if not math.isfinite(x):
        return False
    if kind is ValueKind.probability:
        return 0.0 <= x <= 1.0
    if kind is ValueKind.nonnegative:
        return x >= 0.0
    if kind is ValueKind.positive:
        return x > 0.0
    if kind is ValueKind.count:
        return x >= 0.0 and float(x).is_integer()
    return True


def describe_kind(kind: ValueKind) -> str:
    """The plain-language description of a value kind, for error messages."""
    return _KIND_SENTENCE[kind]


def _value_validator(kind: ValueKind):
    """A before-validator for a number-or-parameter-name field of the given kind."""

    def check(v: Any) -> float | int | str:
        # ValueError, not TypeError, throughout: pydantic reports a ValueError as a problem
        # of the input, where a TypeError would escape as a crash.
        if isinstance(v, bool):
            raise ValueError(  # noqa: TRY004
                f"expected {describe_kind(kind)} or a parameter name, got {v!r}")
        if isinstance(v, str):
            if not NAME_PATTERN.match(v):
                raise ValueError(
                    f"expected {describe_kind(kind)} or a parameter name, got the text {v!r}"
                )
            return v
        if isinstance(v, int | float):
            if not kind_accepts(kind, float(v)):
                raise ValueError(f"expected {describe_kind(kind)}, got {v!r}")
            return int(v) if kind is ValueKind.count else float(v)
        raise ValueError(
            f"expected {describe_kind(kind)} or a parameter name, got {type(v).__name__}"
        )

    return check


class _KindTag:
    """Metadata marker carried by value fields so that checks can find their kind."""

    def __init__(self, kind: ValueKind) -> None:
        self.kind = kind

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"_KindTag({self.kind.value})"


def _value_type(kind: ValueKind) -> Any:
    base = int | str if kind is ValueKind.count else float | str
    return Annotated[base, BeforeValidator(_value_validator(kind)), _KindTag(kind)]


Real = _value_type(ValueKind.real)
Probability = _value_type(ValueKind.probability)
NonNegative = _value_type(ValueKind.nonnegative)
Positive = _value_type(ValueKind.positive)
Count = _value_type(ValueKind.count)


def _as_date(v: Any) -> dt.date:
    # YAML gives dates as datetime.date; quoted ISO text is accepted too. Numbers are refused
    # (pydantic would otherwise read 20220224 as a Unix timestamp).
    if isinstance(v, dt.datetime):  # a ValueError: pydantic reports it (see _value_validator)
        raise ValueError(  # noqa: TRY004
            f"expected a date (YYYY-MM-DD) without a time, got {v.isoformat()}")
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v.strip())
        except ValueError:
            raise ValueError(f"expected a date (YYYY-MM-DD), got {v!r}") from None
    raise ValueError(f"expected a date (YYYY-MM-DD), got {v!r}")


Date = Annotated[dt.date, BeforeValidator(_as_date)]


def _check_name(v: str) -> str:
    if not NAME_PATTERN.match(v):
        raise ValueError(
            f"{v!r} is not a valid name: use letters, digits and underscores, "
            "starting with a letter"
        )
    return v


def _check_country_id(v: str) -> str:
    if not COUNTRY_PATTERN.match(v):
        raise ValueError(f"{v!r} is not an ISO 3166 alpha-3 country id (three capital letters)")
    return v


Name = Annotated[str, AfterValidator(_check_name)]
CountryId = Annotated[str, AfterValidator(_check_country_id)]


def _as_tuple(v: Any) -> Any:
    """Accept a single item where a list is expected (``cohorts: men`` = ``cohorts: [men]``)."""
    if isinstance(v, str):
        return (v,)
    return v


Names = Annotated[tuple[str, ...], BeforeValidator(_as_tuple)]

Role = Literal["origin", "transit", "destination"]
Mode = Literal["land", "air", "sea"]
Regime = Literal[
    "visa_free", "visa_on_arrival", "e_visa", "visa_required", "humanitarian_only", "closed",
    "irregular",
]
REGIMES: tuple[str, ...] = (
    "visa_free",
    "visa_on_arrival",
    "e_visa",
    "visa_required",
    "humanitarian_only",
    "closed",
    "irregular",  # last: the engine's regime codes of the others do not move
)
Documents = Literal["internal", "international"]
Step = Literal["day", "week", "month"]


def _per_cohort(kind: ValueKind) -> Any:
    """A value that may differ per cohort: a number/parameter, or ``{default: x, cohort: y}``."""

    def to_mapping(v: Any) -> Any:
        if isinstance(v, dict):
            return v
        return {"default": v}

    def collapse(m: dict[str, Any]) -> Any:
        return m["default"] if set(m) == {"default"} else dict(m)

    return Annotated[
        dict[str, _value_type(kind)],
        BeforeValidator(to_mapping),
        PlainSerializer(collapse),
    ]


class _Model(BaseModel):
    """The base of every scenario model: immutable, unknown keys refused, names or aliases.

    Each field documents itself: ``description`` (what it means), ``examples`` (one value as
    a YAML file would write it) and, where it has one, ``json_schema_extra={"unit": ...}``;
    :mod:`flowsim.scenario.docs` reads them for the reference tables and the JSON Schema.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        validate_default=False,
        str_strip_whitespace=True,
    )


#: The unit of every hazard: the compiler converts it to the step length.
PER_WEEK = "probability per week"
