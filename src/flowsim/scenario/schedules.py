"""Behaviour over time, kept apart from policies: dated paths for hazards and attractiveness.

A policy is something a government decides and a counterfactual may remove; a schedule is how
people's behaviour changes over the period whatever the policies (a turn north, a growing
wish to return). Each schedule gives, for some countries and cohorts, a path of values for
one field: a factor on a hazard, or an addition to the attractiveness (logit scale). The path
is constant between dated points (``interpolate: step``) or linear between them
(``linear``); before the first point the first value holds, after the last the last. It
applies on top of the field's value in force (declared, or set by a policy).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from flowsim.scenario.values import Date, Name, Names, _Model

__all__ = ["COHORT_FIELDS", "SCHEDULE_FIELDS", "Schedule", "SchedulePoint"]

#: The country fields a schedule can move, and how: ``factor`` multiplies, ``shift`` adds.
SCHEDULE_FIELDS: dict[str, str] = {
    "attractiveness": "shift",
    "onward_hazard": "factor",
    "return_hazard": "factor",
    "settle_hazard": "factor",
    "claim_hazard": "factor",
    "settled_onward_hazard": "factor",
    "settled_return_hazard": "factor",
    # the origin's cohorts: factors on first departures and on leaving again after a return
    "emigration_hazard": "factor",
    "reemigration_hazard": "factor",
}
#: The schedule fields of the origin's cohorts (``countries`` must be omitted or the origin).
COHORT_FIELDS = ("emigration_hazard", "reemigration_hazard")


class SchedulePoint(_Model):
    """One dated value of a schedule."""

    date: Date = Field(description="The day the value is reached.", examples=["2022-06-01"])
    value: float = Field(
        description="A factor on a hazard (1: unchanged), or an addition to the attractiveness "
        "(0: unchanged).", examples=[1.5])


class Schedule(_Model):
    """A dated path of one country field for some countries and cohorts."""

    name: Name = Field(description="Identifier.", examples=["turn_north"])
    description: str = Field("", description="What changes, and the source.",
                             examples=["Venezuelans turn to the United States."])
    field: Literal[tuple(SCHEDULE_FIELDS)] = Field(  # type: ignore[valid-type]
        description="The country field it moves: `attractiveness` (the values are added) or a "
        "hazard (`onward_hazard`, `return_hazard`, `settle_hazard`, `claim_hazard`, "
        "`settled_onward_hazard`, `settled_return_hazard`: the values multiply it); or, in "
        "the origin, `emigration_hazard` (a factor on the cohorts' baseline hazard of leaving) "
        "or `reemigration_hazard` (a factor on leaving again after a return).",
        examples=["attractiveness"])
    countries: Names | None = Field(
        None, description="Countries or groups it applies to (default: every country).",
        examples=[["USA"]])
    cohorts: Names | None = Field(
        None, description="Cohorts it applies to (default: all).", examples=[["all"]])
    points: tuple[SchedulePoint, ...] = Field(
        min_length=1, description="The dated values, in date order.",
        examples=[[{"date": "2021-01-01", "value": 0}, {"date": "2023-06-30", "value": 1.5}]])
    interpolate: Literal["step", "linear"] = Field(
        "step", description="`step`: each value holds from its date until the next point; "
        "`linear`: values change linearly between points.", examples=["linear"])
