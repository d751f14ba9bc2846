"""The migration graph: countries (with their asylum systems) and the routes between them.

Hazards are probabilities per week, durations means in days, capacities people per step and
utilities on the logit scale (see :mod:`flowsim.scenario.model`); any numeric field may name a
parameter instead.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from flowsim.scenario.values import (
    PER_WEEK,
    Count,
    CountryId,
    Documents,
    Mode,
    Name,
    Names,
    NonNegative,
    Positive,
    Probability,
    Real,
    Regime,
    Role,
    ValueKind,
    _Model,
    _per_cohort,
)

__all__ = ["Asylum", "Country", "InitialStock", "Network", "Route", "route_key"]


class Asylum(_Model):
    """The asylum system of a country, as it treats people from the origin.

    Present people claim asylum with ``claim_hazard`` per week; a claim is decided after a
    geometric waiting time with mean ``processing_days``, at most ``capacity`` decisions per
    step (``None``: no limit); decisions are positive with ``recognition_rate``. Rejected
    claimants return home with probability ``rejected_return`` and otherwise move on.
    Pending claimants may leave the procedure before a decision: ``abscond_hazard`` (they
    stay in the country, present and free to move) and ``pending_onward_hazard`` (they move
    on at once); both 0 by default.
    """

    claim_hazard: Probability = Field(
        0.0, description="Chance that a person present claims asylum.",
        examples=[0.002], json_schema_extra={"unit": PER_WEEK})
    processing_days: Positive = Field(
        180.0, description="Mean time to a decision: each step a pending claim is decided with "
        "probability 1 − exp(−days / processing_days).",
        examples=[180], json_schema_extra={"unit": "days"})
    recognition_rate: Probability = Field(
        0.5, description="Share of decisions that grant protection.",
        examples=[0.3], json_schema_extra={"unit": "probability"})
    capacity: Count | None = Field(
        None, description="Most decisions per step (all cohorts together); omit or `null` for no "
        "limit. Claims above it stay pending.",
        examples=[500], json_schema_extra={"unit": "people per step"})
    rejected_return: Probability = Field(
        0.5, description="Chance that a rejected claimant returns to the origin; the others move "
        "on (choose a route out).", examples=[0.5], json_schema_extra={"unit": "probability"})
    abscond_hazard: Probability = Field(
        0.0, description="Chance that a pending claimant leaves the procedure and stays in the "
        "country, present (free to move on, return or claim again). Default 0.",
        examples=[0.01], json_schema_extra={"unit": PER_WEEK})
    pending_onward_hazard: Probability = Field(
        0.0, description="Chance that a pending claimant abandons the claim and moves on at once "
        "(chooses a route out of the country). Default 0.",
        examples=[0.02], json_schema_extra={"unit": PER_WEEK})


class InitialStock(_Model):
    """People of one cohort already in a country when the calendar starts.

    They are people of the origin who left before the simulated period (a diaspora, earlier
    refugees): counted in the country's stock from the first step, and free to move on,
    return, claim asylum or settle like anyone who arrives during the run. They never
    count as departures, which are crossings out of the origin during the period.
    """

    present: Count = Field(
        0, description="People present (free to move) at the start.",
        examples=[12000], json_schema_extra={"unit": "people"})
    pending: Count = Field(
        0, description="People with an asylum claim pending at the start (only where the country "
        "has an `asylum` system).", examples=[300], json_schema_extra={"unit": "people"})
    settled: Count = Field(
        0, description="People holding a permit or protection at the start.",
        examples=[40000], json_schema_extra={"unit": "people"})


class Network(_Model):
    """A country grows more attractive as people of the origin gather there (a diaspora).

    In each step its attractiveness is raised by ``weight * log(1 + stock / scale)``, with
    ``stock`` the people of the origin there at the start of the step (every cohort, in
    that replicate).
    """

    weight: Real = Field(
        description="The network effect: added utility per unit of `log(1 + stock / scale)`.",
        examples=[0.5], json_schema_extra={"unit": "logit scale"})
    scale: Positive = Field(
        1000.0, description="The stock at which the effect reaches `weight × log 2`.",
        examples=[10000], json_schema_extra={"unit": "people"})


class Country(_Model):
    """A country (a node of the migration graph)."""

    id: CountryId = Field(description="ISO 3166 alpha-3 code.", examples=["GEO"])
    name: str = Field(description="Name for people (tables, figures).", examples=["Georgia"])
    roles: tuple[Role, ...] = Field(
        ("destination",), description="`origin` (exactly one country), `transit`, `destination`; a "
        "country may hold several. Only `origin` changes what the model does.",
        examples=[["transit", "destination"]])
    groups: Names = Field(
        (), description="Groups this country belongs to (in addition to `groups:`).",
        examples=[["post_soviet"]])
    attractiveness: _per_cohort(ValueKind.real) = Field(
        default_factory=lambda: {"default": 0.0},
        description="Utility of the country as a destination in the route choice; one value, or "
        "one per cohort with a `default`.",
        examples=[{"default": 1.0, "activists": 1.5}], json_schema_extra={"unit": "logit scale"})
    onward_hazard: Probability = Field(
        0.0, description="Chance that a person present here moves on (then chooses a route out of "
        "this country).", examples=[0.01], json_schema_extra={"unit": PER_WEEK})
    return_hazard: Probability = Field(
        0.0, description="Chance that a person present here returns to the origin (for good).",
        examples=[0.005], json_schema_extra={"unit": PER_WEEK})
    settle_hazard: Probability = Field(
        0.0, description="Chance that a person present here obtains a permit or protection "
        "(becomes settled).", examples=[0.003], json_schema_extra={"unit": PER_WEEK})
    settled_onward_hazard: Probability = Field(
        0.0, description="Chance that a settled person here moves on (then chooses a route out "
        "of this country and arrives present, not settled, where it leads). Default 0: settled "
        "people stay.", examples=[0.001], json_schema_extra={"unit": PER_WEEK})
    settled_return_hazard: Probability = Field(
        0.0, description="Chance that a settled person here returns to the origin. Default 0.",
        examples=[0.002], json_schema_extra={"unit": PER_WEEK})
    asylum: Asylum | None = Field(
        None, description="The asylum system, where people from the origin can claim asylum (omit "
        "it where they cannot).",
        examples=[{"claim_hazard": 0.002, "processing_days": 180, "recognition_rate": 0.3}])
    network: Network | None = Field(
        None, description="A network effect: the attractiveness rises with the people of the "
        "origin already here, `weight × log(1 + stock / scale)` (default: none).",
        examples=[{"weight": 0.5, "scale": 10000}])
    initial: dict[Name, InitialStock] = Field(
        default_factory=dict, description="People of the origin already here when the calendar "
        "starts, by cohort name (default: nobody). They count in the stock and move, return, "
        "claim asylum or settle like later arrivals; they are not departures.",
        examples=[{"men": {"present": 2000, "settled": 15000}, "women": {"settled": 12000}}])

    @model_validator(mode="after")
    def _roles_unique(self) -> Country:
        if len(set(self.roles)) != len(self.roles):
            raise ValueError("roles are listed more than once")
        return self


class Route(_Model):
    """A directed route from one country to another.

    ``regime`` decides how people pass: ``visa_free``, ``visa_on_arrival`` and ``e_visa``
    routes are crossed in the step they are chosen; ``visa_required`` and
    ``humanitarian_only`` routes put applicants in a queue decided after a geometric delay
    with mean ``delay_days`` and granted with ``issuance``; ``closed`` routes carry nobody.
    ``humanitarian_only`` routes are open only to cohorts eligible for ``humanitarian``
    programmes. ``capacity`` caps crossings per step (excess waits at the source).
    ``irregular`` routes are crossed in the step chosen, without a visa, by every cohort the
    documents allow; a share ``interception`` of those crossing is intercepted and sent back
    to the source. On a route with ``asylum_at_border`` every arrival lodges an asylum claim
    on entering (arrives pending, not present). A route may pass through transit countries
    (``via``, where policies on any leg apply) and take time (``travel_days``).
    """

    id: Name | None = Field(
        None, description="Identifier for selectors and overlays; default `FROM_TO_mode`. Needed "
        "when two routes share `from`, `to` and `mode`.", examples=["RUS_DEU_humanitarian"])
    from_: CountryId = Field(
        alias="from", description="Country the route leaves from.", examples=["RUS"])
    to: CountryId = Field(
        description="Country the route leads to (never the origin: returns are hazards).",
        examples=["GEO"])
    mode: Mode = Field(
        "land", description="`land`, `air` or `sea` (for selectors; no effect of its own).",
        examples=["air"])
    regime: Regime = Field(
        "visa_free", description="Entry regime: `visa_free`, `visa_on_arrival`, `e_visa` (crossed "
        "in the step chosen), `visa_required`, `humanitarian_only` (applicants queue for a "
        "decision), `closed` (carries nobody), `irregular` (crossed without a visa in the "
        "step chosen, at the risk of `interception`).", examples=["visa_required"])
    issuance: Probability = Field(
        1.0, description="Share of visa decisions that grant the visa (queued regimes only).",
        examples=[0.6], json_schema_extra={"unit": "probability"})
    delay_days: NonNegative = Field(
        0.0, description="Mean time to a visa decision: each step an application is decided with "
        "probability 1 − exp(−days / delay_days); 0: in the step of application.",
        examples=[30], json_schema_extra={"unit": "days"})
    capacity: Count | None = Field(
        None, description="Most crossings per step (all cohorts together, visa holders included); "
        "omit or `null` for no limit.",
        examples=[5000], json_schema_extra={"unit": "people per step"})
    cost: Real = Field(
        0.0, description="Disutility of the route (distance, price, danger), subtracted from the "
        "destination's attractiveness.", examples=[0.8], json_schema_extra={"unit": "logit scale"})
    documents: Documents = Field(
        "international", description="`internal`: the origin's internal passport is enough; "
        "`international`: only holders of an international passport can use the route.",
        examples=["internal"])
    requires: Names = Field(
        (), description="Eligibility flags a cohort must all hold to use the route.",
        examples=[["israel_return"]])
    via: Names = Field(
        (), description="Transit countries the route passes through without stopping, in order "
        "(default: none). A policy on any leg (`from`/`to` selecting a leg's ends) applies to "
        "the whole route.", examples=[["ECU", "PER"]])
    travel_days: NonNegative = Field(
        0.0, description="Mean time on the way: those who cross are in transit (counted in the "
        "stock of the country they left) and arrive each step with probability 1 − exp(−days "
        "/ travel_days); 0: they arrive in the step they cross.",
        examples=[21], json_schema_extra={"unit": "days"})
    interception: Probability = Field(
        0.0, description="Share of the people crossing an `irregular` route who are intercepted "
        "and sent back to the country the route leaves from (no effect under other regimes).",
        examples=[0.3], json_schema_extra={"unit": "probability"})
    asylum_at_border: bool = Field(
        False, description="Entering by this route means lodging an asylum claim: arrivals are "
        "pending claimants in the destination, which must have an `asylum` system (default "
        "false: arrivals are present).", examples=[True])

    @property
    def key(self) -> str:
        """The route's identifier: ``id`` if given, else ``FROM_TO_mode``."""
        return self.id if self.id is not None else route_key(self.from_, self.to, self.mode)


def route_key(origin: str, destination: str, mode: str) -> str:
    """The default identifier of a route."""
    return f"{origin}_{destination}_{mode}"
