"""Targets: published figures the model should reproduce, and the observables they measure."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from flowsim.scenario.values import Date, Name, Names, _Model

__all__ = ["AT_DATE", "NEEDS_PLACE", "OBSERVABLES", "Observable", "Target"]


OBSERVABLES: dict[str, str] = {
    "departures": "departures from the origin during the period (crossings: a person who "
    "returned and leaves again, where a cohort's reemigration hazard allows it, departs again)",
    "abroad": "people who left the origin and are abroad (not returned) at the date",
    "stock": "people from the origin in the place at the date (present, waiting, "
    "claiming asylum or settled)",
    "settled": "people holding a permit or protection in the place at the date",
    "arrivals": "entries into the place during the period",
    "returns": "returns to the origin during the period",
    "asylum_applications": "asylum claims lodged in the place during the period",
    "asylum_grants": "positive asylum decisions in the place during the period",
    "recognition_share": "share of asylum decisions in the place during the period that are "
    "positive",
    "visas_issued": "visas (and humanitarian admissions) granted on routes into the place "
    "during the period",
}
Observable = Literal[
    "departures",
    "abroad",
    "stock",
    "settled",
    "arrivals",
    "returns",
    "asylum_applications",
    "asylum_grants",
    "recognition_share",
    "visas_issued",
]
AT_DATE = frozenset({"abroad", "stock", "settled"})
NEEDS_PLACE = frozenset(
    {"stock", "settled", "arrivals", "asylum_applications", "asylum_grants",
     "recognition_share", "visas_issued"}
)


class Target(_Model):
    """A published figure the model should reproduce.

    Kinds: ``about`` (``value`` with a relative ``tolerance``, default 0.25), ``interval``
    (``low`` to ``high``), ``at_least`` (``value``), ``at_most`` (``value``). Period
    observables take ``start`` and ``end`` (inclusive); stock observables take ``at``.
    ``where`` lists countries or groups (summed), or, with ``each: true``, applies the figure
    to each country separately.
    """

    id: Name = Field(description="Identifier.", examples=["stock_armenia"])
    observable: Observable = Field(
        description="The model quantity the figure measures (see Targets and observables).",
        examples=["stock"])
    kind: Literal["about", "interval", "at_least", "at_most"] = Field(
        description="`about` (value ± tolerance), `interval` (low to high), `at_least` or "
        "`at_most` (value).", examples=["about"])
    where: Names | None = Field(
        None, description="Countries or groups (summed), for place observables.",
        examples=[["ARM"]])
    each: bool = Field(
        False, description="Apply the figure to each country of `where` separately.",
        examples=[True])
    cohorts: Names | None = Field(
        None, description="Cohorts counted (default: all).", examples=[["men_conscription"]])
    start: Date | None = Field(
        None, description="First day of the period (period observables).", examples=["2022-09-21"])
    end: Date | None = Field(
        None, description="Last day of the period, inclusive (period observables).",
        examples=["2022-10-31"])
    at: Date | None = Field(
        None, description="The date (observables at a date: `abroad`, `stock`, `settled`).",
        examples=["2024-06-30"])
    value: float | None = Field(
        None, description="The figure (`about`, `at_least`, `at_most`; optional central figure of "
        "an `interval`).", examples=[110000], json_schema_extra={"unit": "people, or a share"})
    low: float | None = Field(
        None, description="Lower end of an `interval`.",
        examples=[400000], json_schema_extra={"unit": "people, or a share"})
    high: float | None = Field(
        None, description="Upper end of an `interval`.",
        examples=[500000], json_schema_extra={"unit": "people, or a share"})
    tolerance: float | None = Field(
        None, description="Relative tolerance of an `about` target (default 0.25: value × (1 ± "
        "0.25)).", examples=[0.3], json_schema_extra={"unit": "fraction"})
    source: str = Field(
        description="Where the figure comes from.", examples=["The Bell via article"])
    quote: str = Field(
        "", description="The sentence the figure is taken from, verbatim.",
        examples=["Armenia took in about 110,000 people"])
    note: str = Field(
        "", description="How the figure maps onto the model quantity.",
        examples=["Stock of emigrants in Armenia at mid-2024."])

    @model_validator(mode="after")
    def _complete(self) -> Target:
        problems: list[str] = [f"{k} must be a finite number, got {getattr(self, k)}"
                               for k in ("value", "low", "high", "tolerance")
                               if getattr(self, k) is not None
                               and not math.isfinite(getattr(self, k))]
        if problems:
            raise ValueError("; ".join(problems))
        # every observable counts people or is a share: a negative figure is a typing slip
        # (and an `about` range around it would be upside down)
        problems += [f"{k} must not be negative (a count of people or a share), got "
                     f"{getattr(self, k):g}" for k in ("value", "low", "high")
                     if getattr(self, k) is not None and getattr(self, k) < 0]
        if self.kind == "interval":
            if self.low is None or self.high is None:
                problems.append("an interval target needs low and high")
            elif not self.low <= self.high:
                problems.append(f"low ({self.low:g}) is above high ({self.high:g})")
            if self.value is not None and self.low is not None and self.high is not None \
                    and not self.low <= self.value <= self.high:
                problems.append("value (the central figure) lies outside low..high")
        else:
            if self.value is None:
                problems.append(f"an {self.kind} target needs value")
            if self.low is not None or self.high is not None:
                problems.append(f"an {self.kind} target takes value, not low/high")
        if self.tolerance is not None:
            if self.kind != "about":
                problems.append("tolerance applies to `about` targets only")
            elif not 0 < self.tolerance:
                problems.append("tolerance must be greater than 0")
        if self.observable in AT_DATE:
            if self.at is None:
                problems.append(f"a {self.observable} target needs `at` (a date)")
            if self.start is not None or self.end is not None:
                problems.append(f"a {self.observable} target takes `at`, not start/end")
        else:
            if self.start is None or self.end is None:
                problems.append(f"a {self.observable} target needs `start` and `end`")
            elif self.end < self.start:
                problems.append(f"end ({self.end}) is before start ({self.start})")
            if self.at is not None:
                problems.append(f"a {self.observable} target takes start/end, not `at`")
        if self.observable in NEEDS_PLACE and not self.where:
            problems.append(f"a {self.observable} target needs `where` (countries or groups)")
        if self.observable == "recognition_share" and self.kind != "interval":
            for v in (self.value,):
                if v is not None and not 0 <= v <= 1:
                    problems.append("a recognition share is between 0 and 1")
        if self.each and not self.where:
            problems.append("`each: true` needs `where`")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def bounds(self) -> tuple[float, float]:
        """The accepted range ``(low, high)`` of the observable (infinite where open)."""
        if self.kind == "interval":
            return float(self.low), float(self.high)  # type: ignore[arg-type]
        if self.kind == "at_least":
            return float(self.value), math.inf  # type: ignore[arg-type]
        if self.kind == "at_most":
            return -math.inf, float(self.value)  # type: ignore[arg-type]
        tol = 0.25 if self.tolerance is None else self.tolerance
        v = float(self.value)  # type: ignore[arg-type]
        return v * (1 - tol), v * (1 + tol)
