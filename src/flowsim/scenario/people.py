"""The people: cohorts in the origin, and the dated shocks that push them to leave (or move
on, return, claim asylum or settle abroad)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

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

__all__ = ["SHOCK_FIELDS", "Cohort", "Flags", "Shock"]

#: The country hazards a shock can multiply (the hazard set that schedules accept); a shock
#: without a ``field`` multiplies the origin's hazards of leaving.
SHOCK_FIELDS: tuple[str, ...] = ("onward_hazard", "return_hazard", "settle_hazard",
                                 "claim_hazard", "settled_onward_hazard", "settled_return_hazard")


#: Eligibility flags: a list (held by the whole cohort), or a share of the cohort per flag.
#: Only the form given is validated (a mapping's mistakes are not also reported as "expected
#: a list").
Flags = Annotated[
    Annotated[Names, Tag("list")] | Annotated[dict[Name, Probability], Tag("dict")],
    Discriminator(lambda v: "dict" if isinstance(v, dict) else "list"),
]


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
    eligible: Flags = Field(
        (), description="Eligibility flags: `humanitarian` opens `humanitarian_only` routes; any "
        "other flag opens the routes that `require` it. A list gives flags the whole cohort "
        "holds; a mapping gives the share of the cohort holding each flag (a number or a "
        "parameter; shares of different flags, and of the international passport, are "
        "independent).", examples=[["humanitarian"], {"humanitarian": 0.3}],
        json_schema_extra={"unit": "flags, or share per flag"})

    def flag_shares(self) -> dict[str, Any]:
        """Each eligibility flag with the share of the cohort holding it (1 for the list
        form; a number or a parameter name)."""
        if isinstance(self.eligible, dict):
            return dict(self.eligible)
        return {f: 1.0 for f in self.eligible}


class Shock(_Model):
    """A dated event that multiplies a hazard of some cohorts.

    From ``date`` (until ``end`` if given) the hazard is multiplied by
    ``1 + (multiplier - 1) * 0.5 ** (days_since / half_life_days)``, averaged over each
    step's days; without a half-life the multiplier holds at full strength. ``multiplier``
    may differ per cohort. Without ``field`` the hazard is the origin's emigration hazard (and
    the re-emigration hazard of the returned); with ``field`` it is that hazard of the
    people in ``countries`` (default: every country but the origin).
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
    field: Literal[SHOCK_FIELDS] | None = Field(  # type: ignore[valid-type]
        None, description="The hazard of people abroad it multiplies (`onward_hazard`, "
        "`return_hazard`, `settle_hazard`, `claim_hazard`, `settled_onward_hazard`, "
        "`settled_return_hazard`) in `countries`; default: the origin's emigration hazard.",
        examples=["return_hazard"])
    countries: Names | None = Field(
        None, description="Countries or groups whose `field` it multiplies (only with `field`; "
        "default: every country but the origin).", examples=[["ARM", "GEO"]])
    multiplier: _per_cohort(ValueKind.nonnegative) = Field(
        description="Factor on the hazard on the shock's first day; one value, or one "
        "per cohort with a `default`.",
        examples=[{"default": 2, "men_conscription": 40}], json_schema_extra={"unit": "factor"})
    half_life_days: Positive | None = Field(
        None, description="Days for the excess `multiplier - 1` to halve (default: no decay).",
        examples=[14], json_schema_extra={"unit": "days"})
