"""The people: cohorts in the origin, and the dated shocks that push them to leave."""

from __future__ import annotations

from pydantic import Field

from flowsim.scenario.values import (
    PER_WEEK,
    Count,
    Date,
    Name,
    Names,
    Positive,
    Probability,
    ValueKind,
    _Model,
    _per_cohort,
)

__all__ = ["Cohort", "Shock"]


class Cohort(_Model):
    """A group of people who differ in who they are and how policy treats them."""

    name: Name = Field(description="Identifier.", examples=["men_conscription"])
    description: str = Field(
        "", description="Who is in the cohort.", examples=["Men of conscription age."])
    population: Count = Field(
        description="People at risk of leaving, all in the origin at the start.",
        examples=[25000000], json_schema_extra={"unit": "people"})
    baseline_hazard: Probability = Field(
        description="Chance of leaving the origin with no shock in force.",
        examples=[1e-05], json_schema_extra={"unit": PER_WEEK})
    international_passport: Probability = Field(
        1.0, description="Share holding an international passport (the others can use only "
        "`documents: internal` routes).",
        examples=[0.35], json_schema_extra={"unit": "probability"})
    reemigration_hazard: Probability = Field(
        0.0, description="Chance that a person who returned to the origin leaves again, "
        "multiplied by the same shocks and damped by the same deterrence as first departures "
        "(default 0: returns are for good).",
        examples=[0.002], json_schema_extra={"unit": PER_WEEK})
    eligible: Names = Field(
        (), description="Eligibility flags: `humanitarian` opens `humanitarian_only` routes; any "
        "other flag opens the routes that `require` it.", examples=[["humanitarian"]])


class Shock(_Model):
    """A dated event that multiplies the emigration hazard of some cohorts.

    From ``date`` (until ``end`` if given) the hazard is multiplied by
    ``1 + (multiplier - 1) * 0.5 ** (days_since / half_life_days)``; without a half-life the
    multiplier holds at full strength. ``multiplier`` may differ per cohort.
    """

    name: Name = Field(description="Identifier.", examples=["mobilization"])
    description: str = Field(
        "", description="What happened.", examples=["Partial mobilization announced."])
    date: Date = Field(description="First day of the shock.", examples=["2022-09-21"])
    end: Date | None = Field(
        None, description="Last day of the shock (default: none, it only decays).",
        examples=["2022-12-31"])
    cohorts: Names | None = Field(
        None, description="Cohorts hit (default: all); the others keep a multiplier of 1.",
        examples=[["men_conscription"]])
    multiplier: _per_cohort(ValueKind.nonnegative) = Field(
        description="Factor on the emigration hazard on the shock's first day; one value, or one "
        "per cohort with a `default`.",
        examples=[{"default": 2, "men_conscription": 40}], json_schema_extra={"unit": "factor"})
    half_life_days: Positive | None = Field(
        None, description="Days for the excess `multiplier - 1` to halve (default: no decay).",
        examples=[14], json_schema_extra={"unit": "days"})
