"""Admission programmes: one quota shared by several routes and cohorts, per step or in total.

A route's own ``capacity`` caps the crossings of that route in each step. Real programmes
are often wider and longer: one yearly number of humanitarian visas for every consulate
(several routes), a parole programme of 24,000 places over a period, a resettlement scheme
shared by several destinations. A programme selects routes (as a policy does) and cohorts,
and caps the crossings of all of them together, in each step (``capacity``) and over its
whole period (``total``). Those above the cap wait as above a route's capacity: at the
source, or still in the queue when they held a visa.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from flowsim.scenario.policies import Selector
from flowsim.scenario.values import Count, Date, Name, _Model

__all__ = ["Programme"]


class Programme(_Model):
    """A quota on the crossings of several routes and cohorts together.

    In force from ``start`` to ``end`` (default: the whole horizon); while in force, at most
    ``capacity`` people cross its routes in a step and at most ``total`` over the period (both
    counted over every selected route and cohort). Outside its period it limits nothing:
    whether the routes are open then is for policies to say.
    """

    name: Name = Field(description="Identifier.", examples=["us_parole"])
    description: str = Field("", description="What the programme is, and its source.",
                             examples=["Humanitarian parole: 30,000 places a month."])
    select: Selector = Field(
        description="The routes it covers (`routes`, `from`, `to`, `mode`) and the cohorts "
        "(`cohorts`, default all); `countries` has no meaning here.",
        examples=[{"to": ["USA"], "mode": "air"}])
    capacity: Count | None = Field(
        None, description="Most crossings per step over all its routes and cohorts; omit for no "
        "limit per step.", examples=[7000], json_schema_extra={"unit": "people per step"})
    total: Count | None = Field(
        None, description="Most crossings over the programme's whole period; omit for no total.",
        examples=[24000], json_schema_extra={"unit": "people"})
    start: Date | None = Field(
        None, description="First day in force (default: the start of the horizon).",
        examples=["2023-01-05"])
    end: Date | None = Field(
        None, description="Last day in force (default: the end of the horizon).",
        examples=["2023-12-31"])

    @model_validator(mode="after")
    def _limits_something(self) -> Programme:
        if self.capacity is None and self.total is None:
            raise ValueError("a programme must limit something: give `capacity:` or `total:`")
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"the programme ends ({self.end}) before it starts ({self.start})")
        return self
