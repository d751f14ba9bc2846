"""Targets: published figures the model should reproduce, and the observables they measure.

A target names an **observable** (a model quantity: departures over a period, the stock in a
place at a date, ...), a **kind** of figure (``about``, ``interval``, ``at_least``,
``at_most``, or a ``series`` of figures over windows) and, optionally, an **error model**
(``error:``, :class:`~flowsim.scenario.target_parts.TargetError`). Beyond a plain period or
date, a target may measure

* a **series**: ``kind: series`` with ``every: month`` (or ``week``), ``start``, ``end`` and
  ``values``, or ``windows:`` each with its ``value``: one figure per window;
* a **sum over windows**: ``windows:`` without values instead of ``start``/``end``;
* a **ratio** of two observables: ``observable: ratio`` with ``numerator:`` and
  ``denominator:`` (e.g. returns ÷ departures); ``recognition_share`` is the ratio of
  asylum grants to decisions;
* a **change** of a stock between two dates: ``since:`` beside ``at``; a ``series`` of a
  stock observable (``abroad``, ``stock``, ``settled``) is its change over each window (the
  new permits of each month, as the change of ``settled``).

How each maps onto the engine's arrays is :mod:`flowsim.calibration.observation`; how far a
simulated value is from the figure, :mod:`flowsim.calibration.distance`.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from flowsim.scenario.target_parts import (
    DEFAULT_BOUND_RSD,
    DEFAULT_TOLERANCE,
    Measure,
    Period,
    TargetError,
    series_windows,
)
from flowsim.scenario.values import Date, Name, Names, _Model

__all__ = ["AT_DATE", "NEEDS_PLACE", "OBSERVABLES", "Observable", "Target"]


OBSERVABLES: dict[str, str] = {
    "departures": "departures from the origin during the period (crossings: a person who "
    "returned and leaves again, where a cohort's reemigration hazard allows it, departs again)",
    "emigrants": "people leaving the origin for the first time during the period (first "
    "departures: a person who returned and leaves again is not counted again; where a "
    "cohort may leave again, the scenario needs `behaviour.track_returnees`)",
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
    "ratio": "`numerator` ÷ `denominator`, two observables that take the target's places, "
    "cohorts and dates unless they give their own (0 when the denominator is 0)",
}
Observable = Literal[
    "departures",
    "emigrants",
    "abroad",
    "stock",
    "settled",
    "arrivals",
    "returns",
    "asylum_applications",
    "asylum_grants",
    "recognition_share",
    "visas_issued",
    "ratio",
]
AT_DATE = frozenset({"abroad", "stock", "settled"})
NEEDS_PLACE = frozenset(
    {"stock", "settled", "arrivals", "asylum_applications", "asylum_grants",
     "recognition_share", "visas_issued", "asylum_decisions"}
)
SHARES = frozenset({"recognition_share"})


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:,.6g}"


class Target(_Model):
    """A published figure the model should reproduce.

    Kinds: ``about`` (``value`` with a relative ``tolerance``, default 0.25), ``interval``
    (``low`` to ``high``), ``at_least`` (``value``), ``at_most`` (``value``), ``series``
    (one figure per window). Period observables take ``start`` and ``end`` (inclusive) or
    ``windows``; stock observables take ``at`` (and ``since`` for a change), or, in a
    ``series``, windows over which each figure is their change. ``where`` lists
    countries or groups (summed), or, with ``each: true``, applies the figure to each country
    separately. ``error`` reads the figure with an error model instead of as a range.
    """

    id: Name = Field(description="Identifier.", examples=["stock_armenia"])
    observable: Observable = Field(
        description="The model quantity the figure measures (see Targets and observables).",
        examples=["stock"])
    kind: Literal["about", "interval", "at_least", "at_most", "series"] = Field(
        description="`about` (value ± tolerance), `interval` (low to high), `at_least` or "
        "`at_most` (value), `series` (one figure per window: `every` with `values`, or "
        "`windows` with values; a series of `abroad`, `stock` or `settled` is its change "
        "over each window).", examples=["about"])
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
    since: Date | None = Field(
        None, description="With `at`: the figure is the change of the observable from this "
        "date to `at` (a stock change; may be negative with a `normal` error).",
        examples=["2022-12-31"])
    every: Literal["month", "week"] | None = Field(
        None, description="A `series` over whole months or weeks from `start` to `end`, one "
        "figure each in `values`.", examples=["month"])
    values: tuple[float, ...] | None = Field(
        None, description="The figures of an `every:` series, one per month or week.",
        examples=[[40000, 30000, 20000]], json_schema_extra={"unit": "people, or a share"})
    windows: tuple[Period, ...] | None = Field(
        None, description="Windows instead of `start`/`end`: with a `value` each, the "
        "windows of a `series`; without, the observable is summed over them.",
        examples=[[{"start": "2022-03-01", "end": "2022-03-31", "value": 40000}]])
    numerator: Measure | None = Field(
        None, description="The observable above the line of a `ratio`.",
        examples=[{"observable": "returns"}])
    denominator: Measure | None = Field(
        None, description="The observable below the line of a `ratio`.",
        examples=[{"observable": "departures"}])
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
        None, description="Relative tolerance of an `about` target or of each figure of a "
        "`series` (default 0.25: value × (1 ± 0.25)).", examples=[0.3],
        json_schema_extra={"unit": "fraction"})
    error: TargetError | None = Field(
        None, description="Read the figure as an observation with an error (a normal or "
        "log-normal sd, how an interval is read, the coverage of the count) instead of as a "
        "range in which every value is as good; see docs/calibration.md.",
        examples=[{"dist": "lognormal", "rsd": 0.15}])
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
        numbers = [("value", self.value), ("low", self.low), ("high", self.high),
                   ("tolerance", self.tolerance)]
        numbers += [(f"values[{i}]", v) for i, v in enumerate(self.values or ())]
        problems: list[str] = [f"{k} must be a finite number, got {v}" for k, v in numbers
                               if v is not None and not math.isfinite(v)]
        if problems:
            raise ValueError("; ".join(problems))
        problems += self._figure_problems()
        problems += self._when_problems()
        problems += self._ratio_problems()
        if self.observable in NEEDS_PLACE and not self.where:
            problems.append(f"a {self.observable} target needs `where` (countries or groups)")
        if self.each and not self.where:
            problems.append("`each: true` needs `where`")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _figure_problems(self) -> list[str]:
        problems: list[str] = []
        signed = self.is_change and self.error is not None and self.error.dist == "normal"
        if not signed:
            # every observable counts people or is a share: a negative figure is a typing
            # slip (and an `about` range around it would be upside down); a change read with
            # a normal error may fall
            figures = [("value", self.value), ("low", self.low), ("high", self.high)]
            figures += [(f"values[{i}]", v) for i, v in enumerate(self.values or ())]
            figures += [(f"windows[{i}].value", w.value) for i, w in enumerate(self.windows or ())]
            problems += [f"{k} must not be negative (a count of people or a share), got {v:g}"
                         + ("; a change (`since`, or a series of a stock) may fall with a "
                            "normal error" if self.is_change else "")
                         for k, v in figures if v is not None and v < 0]
        if self.kind == "interval":
            if self.low is None or self.high is None:
                problems.append("an interval target needs low and high")
            elif not self.low <= self.high:
                problems.append(f"low ({self.low:g}) is above high ({self.high:g})")
            if self.value is not None and self.low is not None and self.high is not None \
                    and not self.low <= self.value <= self.high:
                problems.append("value (the central figure) lies outside low..high")
        elif self.kind == "series":
            if self.value is not None or self.low is not None or self.high is not None:
                problems.append("a series target takes `values` (or `windows` with values), "
                                "not value/low/high")
            if self.every is not None:
                if self.windows is not None:
                    problems.append("a series takes `every` with `values`, or `windows`, not "
                                    "both")
                elif self.start is None or self.end is None:
                    problems.append("an `every:` series needs `start` and `end`")
                elif self.values is None:
                    problems.append("an `every:` series needs `values`, one per "
                                    f"{self.every}")
                elif self.end >= self.start:
                    try:
                        n = len(series_windows(self.every, self.start, self.end))
                    except ValueError as e:
                        problems.append(str(e))
                    else:
                        if n != len(self.values):
                            problems.append(f"{self.start} to {self.end} holds {n} "
                                            f"{self.every}s but `values` has "
                                            f"{len(self.values)} figures")
            elif self.windows is None:
                problems.append("a series target needs `every` (with start, end and values) "
                                "or `windows` with a value each")
            else:
                if any(w.value is None for w in self.windows):
                    problems.append("each window of a series needs its `value`")
                if self.values is not None:
                    problems.append("`values` goes with `every`; give each window its value")
        else:
            if self.value is None:
                problems.append(f"an {self.kind} target needs value")
            if self.low is not None or self.high is not None:
                problems.append(f"an {self.kind} target takes value, not low/high")
        if self.kind != "series":
            if self.every is not None or self.values is not None:
                problems.append("`every` and `values` make a series: give `kind: series`")
            if self.windows is not None and any(w.value is not None for w in self.windows):
                problems.append("windows with a value each make a series: give `kind: "
                                "series` (without values, the windows are summed)")
        if self.tolerance is not None:
            if self.kind not in ("about", "series"):
                problems.append("tolerance applies to `about` and `series` targets only")
            elif not 0 < self.tolerance:
                problems.append("tolerance must be greater than 0")
        if self.observable in SHARES:
            for k, v in (("value", self.value), ("low", self.low), ("high", self.high)):
                if v is not None and not 0 <= v <= 1:
                    problems.append(f"a recognition share is between 0 and 1 ({k} is {v:g})")
                    break
        e = self.error
        if e is not None:
            if self.kind == "interval" and (e.sd is not None or e.rsd is not None):
                problems.append("an interval's error follows from its ends (`interval: "
                                "two_sd` or `uniform`); give an `about` target for an sd")
            if self.kind != "interval" and "interval" in e.model_fields_set:
                problems.append("`error.interval` says how an interval target is read; this "
                                f"is an {self.kind} target")
            if e.dist == "lognormal" and self.is_change:
                problems.append("a change (`since`, or a series of a stock over windows) may "
                                "be negative: give it a normal error")
            if e.dist == "normal" and e.sd is None and self.kind != "interval":
                figs = [self.value] if self.kind != "series" else \
                    list(self.values or ()) + [w.value for w in self.windows or ()]
                if any(v == 0 for v in figs):
                    problems.append("a relative sd of a figure of 0 is 0: give `error.sd` "
                                    "(in the figure's units)")
            if self.kind == "interval" and self.low is not None and self.low == self.high:
                problems.append("an interval of no width has no error: give an `about` "
                                "target with an sd")
        return problems

    def _when_problems(self) -> list[str]:
        problems: list[str] = []
        if self.observable == "ratio":
            return problems
        if self.observable in AT_DATE and self.kind == "series":
            # each window's figure is the change of the stock over it (series checks above)
            if self.at is not None or self.since is not None:
                problems.append(f"a series of {self.observable} is its change over each "
                                "window: give the windows (`every` with start and end, or "
                                "`windows`), not `at` or `since`")
        elif self.observable in AT_DATE:
            if self.at is None:
                problems.append(f"a {self.observable} target needs `at` (a date)")
            if self.start is not None or self.end is not None or self.windows is not None:
                problems.append(f"a {self.observable} target takes `at`, not start/end or "
                                "windows")
            if self.since is not None and self.at is not None and not self.since < self.at:
                problems.append(f"since ({self.since}) must be before at ({self.at})")
        else:
            if self.windows is not None:
                if self.start is not None or self.end is not None:
                    problems.append("give `windows` or `start`/`end`, not both")
            elif self.start is None or self.end is None:
                problems.append(f"a {self.observable} target needs `start` and `end`")
            elif self.end < self.start:
                problems.append(f"end ({self.end}) is before start ({self.start})")
            if self.at is not None:
                problems.append(f"a {self.observable} target takes start/end, not `at`")
            if self.since is not None:
                problems.append("`since` (a change between two dates) applies to `abroad`, "
                                "`stock` and `settled`")
        return problems

    def _ratio_problems(self) -> list[str]:
        problems: list[str] = []
        if self.observable != "ratio":
            if self.numerator is not None or self.denominator is not None:
                problems.append("`numerator` and `denominator` belong to a `ratio` target")
            return problems
        if self.since is not None:
            problems.append("`since` does not apply to a ratio")
        if self.kind == "series" and self.windows is None and self.every is None:
            return problems
        for side in ("numerator", "denominator"):
            m: Measure | None = getattr(self, side)
            if m is None:
                problems.append(f"a ratio target needs `{side}` (an observable)")
                continue
            if m.observable in NEEDS_PLACE and not (m.where or self.where):
                problems.append(f"the {side} ({m.observable}) needs `where`, its own or the "
                                "target's")
            if m.observable in AT_DATE:
                if (m.at or self.at or self.end) is None:
                    problems.append(f"the {side} ({m.observable}) needs a date: `at` (its own "
                                    "or the target's) or the target's `end`")
            elif self.kind != "series" and self.windows is None and \
                    ((m.start or self.start) is None or (m.end or self.end) is None):
                problems.append(f"the {side} ({m.observable}) needs a period: `start` and "
                                "`end`, its own or the target's")
        return problems

    # -- views --------------------------------------------------------------------------------

    @property
    def figures(self) -> list[tuple[float, float, float | None]]:
        """One ``(start, end, value)`` per window of a series (dates as ``datetime.date``)."""
        if self.kind != "series":
            raise ValueError(f"target {self.id!r} is not a series")
        if self.every is not None:
            wins = series_windows(self.every, self.start, self.end)  # type: ignore[arg-type]
            return [(a, b, v) for (a, b), v in zip(wins, self.values or (), strict=True)]
        return [(w.start, w.end, w.value) for w in self.windows or ()]

    @property
    def bounds(self) -> tuple[float, float]:
        """The accepted range ``(low, high)`` of the observable (infinite where open); for
        a series, that of its figures' tolerance around 1 (one window's range is
        ``value × bounds``)."""
        if self.kind == "interval":
            return float(self.low), float(self.high)  # type: ignore[arg-type]
        if self.kind == "at_least":
            return float(self.value), math.inf  # type: ignore[arg-type]
        if self.kind == "at_most":
            return -math.inf, float(self.value)  # type: ignore[arg-type]
        tol = DEFAULT_TOLERANCE if self.tolerance is None else self.tolerance
        v = 1.0 if self.kind == "series" else float(self.value)  # type: ignore[arg-type]
        return v * (1 - tol), v * (1 + tol)

    @property
    def is_change(self) -> bool:
        """Whether the figure is a change of a stock: ``since``, or a series of a stock
        observable (its change over each window)."""
        return self.since is not None or (self.kind == "series" and self.observable in AT_DATE)

    @property
    def plain(self) -> bool:
        """Whether the target is a first-edition one: one figure on one period or date, read
        as a range (no series, windows, ratio, change or error model)."""
        return (self.kind != "series" and self.windows is None and self.since is None
                and self.observable != "ratio" and self.error is None)

    def figure_text(self) -> str:
        """The published figure in words: ``about 500,000 (±25%)``, ``1 to 2``, ``6 monthly
        figures``, with the error model where there is one."""
        if self.kind == "interval":
            text = f"{_num(self.low)} to {_num(self.high)}"  # type: ignore[arg-type]
        elif self.kind == "at_least":
            text = f">= {_num(self.value)}"  # type: ignore[arg-type]
        elif self.kind == "at_most":
            text = f"<= {_num(self.value)}"  # type: ignore[arg-type]
        elif self.kind == "series":
            n = len(self.figures)
            text = f"{n} {self.every}ly figures" if self.every else f"{n} window figures"
        else:
            text = f"about {_num(self.value)}"  # type: ignore[arg-type]
        e = self.error
        if e is None:
            if self.kind in ("about", "series"):
                tol = DEFAULT_TOLERANCE if self.tolerance is None else self.tolerance
                text += f" (±{tol:.0%})"
            return text
        if self.kind == "interval":
            how = "uniform" if e.interval == "uniform" else "±2 sd"
            text += f" ({e.dist}, {how})"
        elif e.sd is not None:
            text += f" ({e.dist}, sd {_num(e.sd)})"
        else:
            rsd = e.rsd if e.rsd is not None else (
                DEFAULT_BOUND_RSD if self.kind in ("at_least", "at_most") else
                (DEFAULT_TOLERANCE if self.tolerance is None else self.tolerance) / 2)
            text += f" ({e.dist}, rsd {rsd:.3g})"
        if e.coverage != 1:
            text += f", coverage {e.coverage:g}"
        return text
