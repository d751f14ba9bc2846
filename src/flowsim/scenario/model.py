"""The scenario schema: frozen pydantic models for everything a scenario file can say.

This module is the declarative layer of flowsim. It knows nothing about arrays, files or
YAML: it only says which fields exist, their types, units and defaults, and which values are
acceptable on their own. Checks that need the whole scenario (unknown ids, reachability,
dates against the horizon, parameter references) live in :mod:`flowsim.scenario.checks`.

Units used throughout
---------------------
* **Dates** are calendar dates (``YYYY-MM-DD``); nothing is given by step index.
* **Hazards** (``baseline_hazard``, ``onward_hazard``, ``return_hazard``, ``settle_hazard``,
  ``claim_hazard``) are probabilities *per week*. The compiler converts them to the step
  length: ``p_step = 1 - (1 - p_week) ** (days_in_step / 7)``.
* **Durations** are in days (fields end in ``_days``) and are means of geometric waiting
  times (see the model guide).
* **Capacities** are people per step.
* **Utilities** (attractiveness, cost, regime cost) are on the logit scale.

Any numeric field may hold the *name* of a declared parameter instead of a number; the
parameter's value (or, in calibration, a draw from its prior) is used in its place.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

__all__ = [
    "Asylum",
    "AsylumChange",
    "Behaviour",
    "Calendar",
    "Cohort",
    "Country",
    "CountryChange",
    "Parameter",
    "Policy",
    "Prior",
    "Route",
    "RouteChange",
    "Scenario",
    "Selector",
    "Shock",
    "Target",
    "ValueKind",
    "REGIMES",
    "OBSERVABLES",
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
        if isinstance(v, bool):
            raise ValueError(f"expected {describe_kind(kind)} or a parameter name, got {v!r}")
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
    if isinstance(v, dt.datetime):
        raise ValueError(f"expected a date (YYYY-MM-DD) without a time, got {v.isoformat()}")
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
    "visa_free", "visa_on_arrival", "e_visa", "visa_required", "humanitarian_only", "closed"
]
REGIMES: tuple[str, ...] = (
    "visa_free",
    "visa_on_arrival",
    "e_visa",
    "visa_required",
    "humanitarian_only",
    "closed",
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
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        validate_default=False,
        str_strip_whitespace=True,
    )


# --------------------------------------------------------------------------------------------
# Calendar, countries, routes, cohorts
# --------------------------------------------------------------------------------------------


class Calendar(_Model):
    """The simulated period: ``start`` to ``end`` inclusive, in steps of ``step``."""

    start: Date
    end: Date
    step: Step = "week"


class Asylum(_Model):
    """The asylum system of a country, as it treats people from the origin.

    Present people claim asylum with ``claim_hazard`` per week; a claim is decided after a
    geometric waiting time with mean ``processing_days``, at most ``capacity`` decisions per
    step (``None``: no limit); decisions are positive with ``recognition_rate``. Rejected
    claimants return home with probability ``rejected_return`` and otherwise move on.
    """

    claim_hazard: Probability = 0.0
    processing_days: Positive = 180.0
    recognition_rate: Probability = 0.5
    capacity: Count | None = None
    rejected_return: Probability = 0.5


class Country(_Model):
    """A country (a node of the migration graph)."""

    id: CountryId
    name: str
    roles: tuple[Role, ...] = ("destination",)
    groups: Names = ()
    attractiveness: _per_cohort(ValueKind.real) = Field(default_factory=lambda: {"default": 0.0})
    onward_hazard: Probability = 0.0
    return_hazard: Probability = 0.0
    settle_hazard: Probability = 0.0
    asylum: Asylum | None = None

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
    """

    id: Name | None = None
    from_: CountryId = Field(alias="from")
    to: CountryId
    mode: Mode = "land"
    regime: Regime = "visa_free"
    issuance: Probability = 1.0
    delay_days: NonNegative = 0.0
    capacity: Count | None = None
    cost: Real = 0.0
    documents: Documents = "international"
    requires: Names = ()

    @property
    def key(self) -> str:
        """The route's identifier: ``id`` if given, else ``FROM_TO_mode``."""
        return self.id if self.id is not None else route_key(self.from_, self.to, self.mode)


def route_key(origin: str, destination: str, mode: str) -> str:
    """The default identifier of a route."""
    return f"{origin}_{destination}_{mode}"


class Cohort(_Model):
    """A group of people who differ in who they are and how policy treats them."""

    name: Name
    description: str = ""
    population: Count
    baseline_hazard: Probability
    international_passport: Probability = 1.0
    eligible: Names = ()


class Shock(_Model):
    """A dated event that multiplies the emigration hazard of some cohorts.

    From ``date`` (until ``end`` if given) the hazard is multiplied by
    ``1 + (multiplier - 1) * 0.5 ** (days_since / half_life_days)``; without a half-life the
    multiplier holds at full strength. ``multiplier`` may differ per cohort.
    """

    name: Name
    description: str = ""
    date: Date
    end: Date | None = None
    cohorts: Names | None = None
    multiplier: _per_cohort(ValueKind.nonnegative)
    half_life_days: Positive | None = None


# --------------------------------------------------------------------------------------------
# Policies
# --------------------------------------------------------------------------------------------


class Selector(_Model):
    """What a policy applies to. Each field lists ids or group names; omitted means any.

    Route changes apply to the routes matching all of ``routes`` (route ids), ``from``,
    ``to`` and ``mode``; country changes to ``countries``; both only for ``cohorts``.
    """

    countries: Names | None = None
    routes: Names | None = None
    from_: Names | None = Field(default=None, alias="from")
    to: Names | None = None
    mode: tuple[Mode, ...] | None = None
    cohorts: Names | None = None

    @model_validator(mode="before")
    @classmethod
    def _mode_as_tuple(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("mode"), str):
            data = {**data, "mode": (data["mode"],)}
        return data


class RouteChange(_Model):
    """The route fields a policy can change; omitted fields are left as they are."""

    regime: Regime | None = None
    issuance: Probability | None = None
    delay_days: NonNegative | None = None
    capacity: Count | Literal["unlimited"] | None = None
    cost: Real | None = None


class AsylumChange(_Model):
    """The asylum fields a policy can change; omitted fields are left as they are."""

    claim_hazard: Probability | None = None
    processing_days: Positive | None = None
    recognition_rate: Probability | None = None
    capacity: Count | Literal["unlimited"] | None = None
    rejected_return: Probability | None = None


class CountryChange(_Model):
    """The country fields a policy can change; omitted fields are left as they are."""

    attractiveness: Real | None = None
    onward_hazard: Probability | None = None
    return_hazard: Probability | None = None
    settle_hazard: Probability | None = None
    asylum: AsylumChange | None = None


class Policy(_Model):
    """A dated, named change to routes or countries, for some cohorts.

    A policy is in force for a step when it is in force on the step's middle day; ``end`` is
    the last day in force (``None``: until the end of the horizon). Route changes apply to the
    routes matched by ``select.routes``/``select.from``/``select.to``/``select.mode``; country
    changes to the countries matched by ``select.countries``. Later policies override earlier
    ones.
    """

    name: Name
    description: str = ""
    start: Date
    end: Date | None = None
    select: Selector = Field(default_factory=Selector)
    route: RouteChange | None = None
    country: CountryChange | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> Policy:
        if self.route is None and self.country is None:
            raise ValueError("a policy must change something: give `route:` or `country:`")
        return self


# --------------------------------------------------------------------------------------------
# Parameters and priors
# --------------------------------------------------------------------------------------------


_PRIOR_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "loguniform": ("low", "high"),
    "normal": ("mean", "sd"),
    "truncnormal": ("mean", "sd", "low", "high"),
    "lognormal": ("median", "sigma"),
    "beta": ("a", "b"),
    "gamma": ("shape", "scale"),
}


class Prior(_Model):
    """A prior distribution, one of a small set of scipy distributions.

    ``uniform(low, high)``, ``loguniform(low, high)``, ``normal(mean, sd)``,
    ``truncnormal(mean, sd, low, high)``, ``lognormal(median, sigma)``, ``beta(a, b)``,
    ``gamma(shape, scale)``.
    """

    dist: Literal["uniform", "loguniform", "normal", "truncnormal", "lognormal", "beta", "gamma"]
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = None
    median: float | None = None
    sigma: float | None = None
    a: float | None = None
    b: float | None = None
    shape: float | None = None
    scale: float | None = None

    @model_validator(mode="after")
    def _arguments(self) -> Prior:
        needs = _PRIOR_ARGUMENTS[self.dist]
        given = {k for k in ("low", "high", "mean", "sd", "median", "sigma", "a", "b",
                             "shape", "scale") if getattr(self, k) is not None}
        missing = [k for k in needs if k not in given]
        extra = sorted(given - set(needs))
        problems = []
        if missing:
            problems.append(f"a {self.dist} prior needs {', '.join(needs)}; missing "
                            f"{', '.join(missing)}")
        if extra:
            problems.append(f"a {self.dist} prior does not take {', '.join(extra)}")
        if problems:
            raise ValueError("; ".join(problems))
        for k in given:
            if not math.isfinite(getattr(self, k)):
                raise ValueError(f"prior argument {k} must be finite")
        if self.dist in ("uniform", "loguniform", "truncnormal") and not self.low < self.high:
            raise ValueError(f"prior low ({self.low}) must be below high ({self.high})")
        if self.dist == "loguniform" and self.low <= 0:
            raise ValueError("a loguniform prior needs low > 0")
        for k in ("sd", "sigma", "a", "b", "shape", "scale", "median"):
            v = getattr(self, k)
            if v is not None and v <= 0:
                raise ValueError(f"prior argument {k} must be greater than 0, got {v}")
        return self

    def frozen(self) -> Any:
        """The prior as a frozen ``scipy.stats`` distribution."""
        from scipy import stats

        if self.dist == "uniform":
            return stats.uniform(loc=self.low, scale=self.high - self.low)
        if self.dist == "loguniform":
            return stats.loguniform(self.low, self.high)
        if self.dist == "normal":
            return stats.norm(loc=self.mean, scale=self.sd)
        if self.dist == "truncnormal":
            a, b = (self.low - self.mean) / self.sd, (self.high - self.mean) / self.sd
            return stats.truncnorm(a, b, loc=self.mean, scale=self.sd)
        if self.dist == "lognormal":
            return stats.lognorm(s=self.sigma, scale=self.median)
        if self.dist == "beta":
            return stats.beta(self.a, self.b)
        return stats.gamma(self.shape, scale=self.scale)

    def support(self) -> tuple[float, float]:
        """The interval that holds all the prior's mass."""
        lo, hi = self.frozen().support()
        return float(lo), float(hi)

    def describe(self) -> str:
        """A short text such as ``uniform(0.1, 0.5)``."""
        args = ", ".join(f"{getattr(self, k):g}" for k in _PRIOR_ARGUMENTS[self.dist])
        return f"{self.dist}({args})"


def _parameter_shorthand(v: Any) -> Any:
    # `name: 0.3` is short for `name: {value: 0.3}`.
    if isinstance(v, int | float) and not isinstance(v, bool):
        return {"value": v}
    return v


class _ParameterModel(_Model):
    value: float
    prior: Prior | None = None
    description: str = ""

    @model_validator(mode="after")
    def _finite(self) -> _ParameterModel:
        if not math.isfinite(self.value):
            raise ValueError("a parameter's value must be a finite number")
        return self


class Parameter(_ParameterModel):
    """A named number with an optional prior; any numeric field may refer to it by name."""


ParameterEntry = Annotated[Parameter, BeforeValidator(_parameter_shorthand)]


class Behaviour(_Model):
    """Global behavioural settings of the choice model.

    ``deterrence`` splits the response to closed routes: departures are multiplied by
    ``A ** deterrence`` where ``A`` is the logit choice weight of the origin's routes open to
    the cohort now, relative to those open to it with no policy in force (0: closures only
    divert people to other routes; 1: departures fall in proportion to the lost choice
    weight; a route opened by a policy raises ``A`` above 1). A cohort with no route out
    when no policy is in force has ``A = 1``. ``regime_cost`` is the
    disutility of each entry regime added to a route's own cost.
    """

    deterrence: Probability = 0.5
    regime_cost: dict[Regime, Real] = Field(
        default_factory=lambda: {
            "visa_free": 0.0,
            "visa_on_arrival": 0.2,
            "e_visa": 0.3,
            "visa_required": 1.0,
            "humanitarian_only": 1.0,
        }
    )

    def regime_cost_of(self, regime: str) -> float | str:
        """The cost of a regime (0 if not listed)."""
        return self.regime_cost.get(regime, 0.0)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------

OBSERVABLES: dict[str, str] = {
    "departures": "first departures from the origin during the period",
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

    id: Name
    observable: Observable
    kind: Literal["about", "interval", "at_least", "at_most"]
    where: Names | None = None
    each: bool = False
    cohorts: Names | None = None
    start: Date | None = None
    end: Date | None = None
    at: Date | None = None
    value: float | None = None
    low: float | None = None
    high: float | None = None
    tolerance: float | None = None
    source: str
    quote: str = ""
    note: str = ""

    @model_validator(mode="after")
    def _complete(self) -> Target:
        problems: list[str] = [f"{k} must be a finite number, got {getattr(self, k)}"
                               for k in ("value", "low", "high", "tolerance")
                               if getattr(self, k) is not None
                               and not math.isfinite(getattr(self, k))]
        if problems:
            raise ValueError("; ".join(problems))
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


# --------------------------------------------------------------------------------------------
# The scenario
# --------------------------------------------------------------------------------------------


class Scenario(_Model):
    """A complete migration scenario: the graph, the people, the events, the policies.

    Build it from a YAML file with :func:`flowsim.load_scenario`, or in Python with
    ``Scenario.model_validate({...})``. A Scenario is immutable; derive variants with
    :meth:`with_policies` or with ``model_copy(update=...)`` followed by validation.
    """

    name: str
    description: str = ""
    calendar: Calendar
    countries: tuple[Country, ...]
    groups: dict[Name, Names] = Field(default_factory=dict)
    routes: tuple[Route, ...]
    cohorts: tuple[Cohort, ...]
    shocks: tuple[Shock, ...] = ()
    policies: tuple[Policy, ...] = ()
    parameters: dict[Name, ParameterEntry] = Field(default_factory=dict)
    behaviour: Behaviour = Field(default_factory=Behaviour)
    targets: tuple[Target, ...] = ()

    # -- convenient views -------------------------------------------------------------------

    @property
    def origin(self) -> Country:
        """The origin country (validation guarantees exactly one)."""
        return next(c for c in self.countries if "origin" in c.roles)

    def country(self, cid: str) -> Country:
        """The country with id ``cid``."""
        for c in self.countries:
            if c.id == cid:
                return c
        raise KeyError(cid)

    def route(self, key: str) -> Route:
        """The route with identifier ``key``."""
        for r in self.routes:
            if r.key == key:
                return r
        raise KeyError(key)

    def group_members(self) -> dict[str, frozenset[str]]:
        """Every group with the country ids it holds, groups of groups expanded."""
        from flowsim.scenario.groups import resolve_groups

        members, _ = resolve_groups(self)
        return members

    def expand(self, names: tuple[str, ...] | None) -> frozenset[str] | None:
        """Country ids selected by a list of ids and group names (``None`` means all)."""
        if names is None:
            return None
        groups = self.group_members()
        out: set[str] = set()
        for n in names:
            out |= groups.get(n, {n})
        return frozenset(out)

    def with_policies(
        self,
        add: tuple[Policy, ...] | list[Policy] = (),
        remove: tuple[str, ...] | list[str] = (),
        replace: tuple[Policy, ...] | list[Policy] = (),
    ) -> Scenario:
        """A copy with policies added, removed or replaced by name (the overlay rules).

        Raises
        ------
        KeyError
            If a removed or replaced policy does not exist, or an added one already does.
        """
        names = [p.name for p in self.policies]
        for r in remove:
            if r not in names:
                raise KeyError(f"no policy named {r!r} to remove")
        by_name = {p.name: p for p in replace}
        for n in by_name:
            if n not in names:
                raise KeyError(f"no policy named {n!r} to replace")
        kept = [by_name.get(p.name, p) for p in self.policies if p.name not in set(remove)]
        for p in add:
            if p.name in {q.name for q in kept}:
                raise KeyError(f"a policy named {p.name!r} already exists; replace it instead")
            kept.append(p)
        return self.model_copy(update={"policies": tuple(kept)})

    def to_data(self, json: bool = False) -> dict[str, Any]:
        """The scenario as plain data (aliases, defaults left out), ready for YAML or JSON.

        Parameters
        ----------
        json : bool
            Give dates as ISO text (for JSON); otherwise as ``datetime.date`` (for YAML).
        """
        data = self.model_dump(mode="json" if json else "python", by_alias=True,
                               exclude_defaults=True)
        return _lists(data)


def _lists(x: Any) -> Any:
    """Tuples to lists, recursively, so that YAML writers emit plain sequences."""
    if isinstance(x, dict):
        return {k: _lists(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_lists(v) for v in x]
    return x
