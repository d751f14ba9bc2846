"""Dated policies: what they select, and the changes they make to routes and countries.

Every change field is optional: an omitted field (``None``) leaves the value as it is.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from flowsim.scenario.values import (
    PER_WEEK,
    Count,
    Date,
    Documents,
    Mode,
    Name,
    Names,
    NonNegative,
    Positive,
    Probability,
    Real,
    Regime,
    _Model,
)

__all__ = ["AsylumChange", "CountryChange", "Policy", "RouteChange", "Selector"]


class Selector(_Model):
    """What a policy applies to. Each field lists ids or group names; omitted means any.

    Route changes apply to the routes matching all of ``routes`` (route ids), ``from``,
    ``to`` and ``mode``; country changes to ``countries``; both only for ``cohorts``.
    """

    countries: Names | None = Field(
        None, description="Countries or groups whose fields a `country:` change sets.",
        examples=[["NLD", "NOR"]])
    routes: Names | None = Field(
        None, description="Route ids a `route:` change applies to.",
        examples=[["RUS_DEU_humanitarian"]])
    from_: Names | None = Field(
        default=None, alias="from", description="Countries or groups the selected routes leave "
        "from.", examples=[["RUS", "BLR"]])
    to: Names | None = Field(
        None, description="Countries or groups the selected routes lead to.",
        examples=[["schengen"]])
    mode: tuple[Mode, ...] | None = Field(
        None, description="Modes of the selected routes.", examples=["air"])
    cohorts: Names | None = Field(
        None, description="Cohorts the change applies to (default: all). A `capacity` change "
        "applies to all cohorts and cannot select.", examples=[["men_conscription"]])

    @model_validator(mode="before")
    @classmethod
    def _mode_as_tuple(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("mode"), str):
            data = {**data, "mode": (data["mode"],)}
        return data


class RouteChange(_Model):
    """The route fields a policy can change; omitted fields are left as they are."""

    regime: Regime | None = Field(
        None, description="New entry regime.", examples=["humanitarian_only"])
    issuance: Probability | None = Field(
        None, description="New share of visa decisions granted.",
        examples=[0.1], json_schema_extra={"unit": "probability"})
    delay_days: NonNegative | None = Field(
        None, description="New mean time to a visa decision.",
        examples=[60], json_schema_extra={"unit": "days"})
    capacity: Count | Literal["unlimited"] | None = Field(
        None, description="New capacity; `unlimited` removes a limit.",
        examples=[200], json_schema_extra={"unit": "people per step"})
    cost: Real | None = Field(
        None, description="New route cost.",
        examples=[1.5], json_schema_extra={"unit": "logit scale"})
    documents: Documents | None = Field(
        None, description="New documents accepted: `internal` or `international` (applies to "
        "every cohort; cannot select cohorts).", examples=["international"])
    requires: Names | None = Field(
        None, description="New eligibility flags the selected cohorts must hold to use the "
        "route (replaces the route's `requires`; `[]` lifts every requirement).",
        examples=[["humanitarian_visa"]])
    interception: Probability | None = Field(
        None, description="New share of irregular crossings intercepted.",
        examples=[0.5], json_schema_extra={"unit": "probability"})
    asylum_at_border: bool | None = Field(
        None, description="Whether arrivals lodge an asylum claim on entering.",
        examples=[True])


class AsylumChange(_Model):
    """The asylum fields a policy can change; omitted fields are left as they are."""

    claim_hazard: Probability | None = Field(
        None, description="New claim hazard.",
        examples=[0.01], json_schema_extra={"unit": PER_WEEK})
    processing_days: Positive | None = Field(
        None, description="New mean processing time.",
        examples=[90], json_schema_extra={"unit": "days"})
    recognition_rate: Probability | None = Field(
        None, description="New recognition rate.",
        examples=[0.8], json_schema_extra={"unit": "probability"})
    capacity: Count | Literal["unlimited"] | None = Field(
        None, description="New decisions per step; `unlimited` removes a limit, 0 stops "
        "processing.", examples=[0], json_schema_extra={"unit": "people per step"})
    rejected_return: Probability | None = Field(
        None, description="New chance that a rejected claimant returns.",
        examples=[0.3], json_schema_extra={"unit": "probability"})
    abscond_hazard: Probability | None = Field(
        None, description="New chance that a pending claimant leaves the procedure and stays.",
        examples=[0.01], json_schema_extra={"unit": PER_WEEK})
    pending_onward_hazard: Probability | None = Field(
        None, description="New chance that a pending claimant moves on.",
        examples=[0.02], json_schema_extra={"unit": PER_WEEK})


class CountryChange(_Model):
    """The country fields a policy can change; omitted fields are left as they are."""

    attractiveness: Real | None = Field(
        None, description="New attractiveness for the selected cohorts.",
        examples=[-1.0], json_schema_extra={"unit": "logit scale"})
    onward_hazard: Probability | None = Field(
        None, description="New onward hazard.",
        examples=[0.02], json_schema_extra={"unit": PER_WEEK})
    return_hazard: Probability | None = Field(
        None, description="New return hazard.",
        examples=[0.01], json_schema_extra={"unit": PER_WEEK})
    settle_hazard: Probability | None = Field(
        None, description="New settle hazard.",
        examples=[0.0], json_schema_extra={"unit": PER_WEEK})
    settle_arrived_before: Date | None = Field(
        None, description="Only people present in the country on this day (and present ever "
        "since) get this policy's `settle_hazard`; the others keep the settle hazard in force "
        "without it (a regularisation of those who arrived before a cut-off date; the date "
        "may not be after the policy's `start`).", examples=["2021-01-31"])
    settled_onward_hazard: Probability | None = Field(
        None, description="New onward hazard of settled people.",
        examples=[0.001], json_schema_extra={"unit": PER_WEEK})
    settled_return_hazard: Probability | None = Field(
        None, description="New return hazard of settled people.",
        examples=[0.002], json_schema_extra={"unit": PER_WEEK})
    asylum: AsylumChange | None = Field(
        None, description="Changes to the asylum system (selected countries without one are left "
        "alone).", examples=[{"recognition_rate": 0.8}])


class Policy(_Model):
    """A dated, named change to routes or countries, for some cohorts.

    A policy is in force for a step when it is in force on the step's middle day; ``end`` is
    the last day in force (``None``: until the end of the horizon). Route changes apply to the
    routes matched by ``select.routes``/``select.from``/``select.to``/``select.mode``; country
    changes to the countries matched by ``select.countries``. Later policies override earlier
    ones.
    """

    name: Name = Field(
        description="Identifier (overlays add, remove and replace policies by name).",
        examples=["finland_land_border_closed"])
    description: str = Field(
        "", description="What the policy is and its source.",
        examples=["All land crossings closed."])
    start: Date = Field(description="First day in force.", examples=["2023-11-30"])
    end: Date | None = Field(
        None, description="Last day in force (default: until the end of the horizon).",
        examples=["2024-03-31"])
    select: Selector = Field(
        default_factory=Selector, description="What the policy applies to (default: everything).",
        examples=[{"from": "RUS", "to": "FIN", "mode": "land"}])
    route: RouteChange | None = Field(
        None, description="Changes to the selected routes.", examples=[{"regime": "closed"}])
    country: CountryChange | None = Field(
        None, description="Changes to the selected countries.",
        examples=[{"asylum": {"capacity": 0}}])

    @model_validator(mode="after")
    def _changes_something(self) -> Policy:
        if self.route is None and self.country is None:
            raise ValueError("a policy must change something: give `route:` or `country:`")
        return self
