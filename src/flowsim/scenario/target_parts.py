"""The parts of a target: its error model, the windows of a series, the two sides of a ratio.

* :class:`TargetError`: how a published figure relates to the model quantity (``error:`` on
  a target): a normal or log-normal error with an absolute or relative sd, how an interval
  is read (``two_sd`` or ``uniform``), and the share of the model quantity the figure
  counts (``coverage``). What the distance makes of it is in :mod:`flowsim.calibration.errors`.
* :class:`Period`: one window of a series (``windows:``), with its figure, or one window of
  a sum over several windows (without one);
* :class:`Measure`: one side of a ``ratio`` target (``numerator:``, ``denominator:``);
* :func:`series_windows`: the windows of ``every: month`` or ``every: week``.

Pure data and date arithmetic: nothing here knows arrays.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from typing import Literal

from pydantic import Field, model_validator

from flowsim.scenario.values import Date, Names, _Model

__all__ = ["DEFAULT_BOUND_RSD", "DEFAULT_TOLERANCE", "ERROR_MODELS", "Measure", "Period",
           "TargetError", "series_windows"]

#: the relative tolerance of an ``about`` target that gives none
DEFAULT_TOLERANCE = 0.25
#: the relative sd of a one-sided bound read with an error model and no ``sd``/``rsd``: half
#: the default tolerance, as for an ``about`` figure (its band ±25 % read as ±2 sd)
DEFAULT_BOUND_RSD = DEFAULT_TOLERANCE / 2
#: how a targets file may read the targets that give no ``error:`` block
ERROR_MODELS = ("range", "error")


class TargetError(_Model):
    """The error of a published figure: how it relates to the model quantity.

    Without ``sd`` or ``rsd`` the error follows from the target's kind: an ``about`` figure's
    tolerance band is read as ±2 sd (``rsd`` = tolerance / 2, 0.125 by default); an
    ``interval`` as ±2 sd around its middle (``interval: two_sd``) or as flat inside
    (``interval: uniform``, with normal shoulders of that sd outside); a bound
    (``at_least``, ``at_most``) is soft by :data:`DEFAULT_BOUND_RSD` of its value.
    """

    dist: Literal["normal", "lognormal"] = Field(
        "normal", description="The error's distribution: `normal` (an absolute error; the "
        "figure may be negative, for a change) or `lognormal` (a relative error, on the log "
        "scale).", examples=["lognormal"])
    sd: float | None = Field(
        None, description="Standard deviation of a `normal` error, in the figure's units.",
        examples=[5000], json_schema_extra={"unit": "people, or a share"})
    rsd: float | None = Field(
        None, description="Relative standard deviation: `sd = rsd × |figure|` for `normal`, "
        "the sd of the logarithm for `lognormal` (≈ the relative error). Default: from the "
        "target's kind (an `about` tolerance read as ±2 sd).", examples=[0.1],
        json_schema_extra={"unit": "fraction"})
    interval: Literal["two_sd", "uniform"] = Field(
        "two_sd", description="How an `interval` target is read: `two_sd` (its ends are the "
        "figure ± 2 sd) or `uniform` (every value inside equally likely; outside, the "
        "likelihood falls as a normal of the `two_sd` reading's sd).", examples=["uniform"])
    coverage: float = Field(
        1.0, description="Share of the model quantity that the figure counts (e.g. "
        "registrations that capture part of a stock): the model quantity is multiplied by it "
        "before the comparison. A fixed number (a prior on it is not supported).",
        examples=[0.6], json_schema_extra={"unit": "fraction"})

    @model_validator(mode="after")
    def _check(self) -> TargetError:
        problems = [f"{k} must be a finite number greater than 0, got {getattr(self, k)}"
                    for k in ("sd", "rsd", "coverage") if getattr(self, k) is not None
                    and not (math.isfinite(getattr(self, k)) and getattr(self, k) > 0)]
        if self.sd is not None and self.rsd is not None:
            problems.append("give sd or rsd, not both")
        if self.dist == "lognormal" and self.sd is not None:
            problems.append("a lognormal error takes rsd (the sd of the logarithm), not sd")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Period(_Model):
    """One window of a target: of a series (with its figure), or of a sum over windows."""

    start: Date = Field(description="First day of the window.", examples=["2022-03-01"])
    end: Date = Field(description="Last day of the window, inclusive.", examples=["2022-03-31"])
    value: float | None = Field(
        None, description="The figure for this window (in a `series`; not in a sum over "
        "windows).", examples=[40000], json_schema_extra={"unit": "people, or a share"})

    @model_validator(mode="after")
    def _check(self) -> Period:
        problems = []
        if self.end < self.start:
            problems.append(f"end ({self.end}) is before start ({self.start})")
        if self.value is not None and not math.isfinite(self.value):
            problems.append(f"value must be a finite number, got {self.value}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Measure(_Model):
    """One side of a ``ratio`` target: an observable, with the target's places, cohorts and
    dates unless it gives its own."""

    observable: Literal["departures", "emigrants", "abroad", "stock", "settled", "arrivals",
                        "returns", "asylum_applications", "asylum_grants", "asylum_decisions",
                        "visas_issued"] = Field(
        description="The model quantity (a count; `asylum_decisions` counts every decision).",
        examples=["returns"])
    where: Names | None = Field(
        None, description="Countries or groups (summed); default: the target's.",
        examples=[["ARM"]])
    cohorts: Names | None = Field(
        None, description="Cohorts counted; default: the target's.",
        examples=[["men_conscription"]])
    start: Date | None = Field(
        None, description="First day of the period; default: the target's.",
        examples=["2022-03-01"])
    end: Date | None = Field(
        None, description="Last day of the period, inclusive; default: the target's.",
        examples=["2022-12-31"])
    at: Date | None = Field(
        None, description="The date, for `abroad`, `stock` and `settled`; default: the "
        "target's `at` or `end`.", examples=["2022-12-31"])


def series_windows(every: str, start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The windows of a regular series: calendar months, or weeks of 7 days from ``start``.

    Raises
    ------
    ValueError
        If the period is not made of whole months (from a 1st to a month's last day) or of
        whole weeks.
    """
    out: list[tuple[dt.date, dt.date]] = []
    if every == "month":
        last = calendar.monthrange(end.year, end.month)[1]
        if start.day != 1 or end.day != last:
            raise ValueError("a monthly series runs whole months: start on the 1st, end on a "
                             f"month's last day (got {start} to {end})")
        d = start
        while d <= end:
            stop = d.replace(day=calendar.monthrange(d.year, d.month)[1])
            out.append((d, stop))
            d = stop + dt.timedelta(days=1)
        return out
    days = (end - start).days + 1
    if days % 7:
        raise ValueError(f"a weekly series runs whole weeks: {start} to {end} is {days} days, "
                         "not a multiple of 7")
    for w in range(days // 7):
        a = start + dt.timedelta(weeks=w)
        out.append((a, a + dt.timedelta(days=6)))
    return out
