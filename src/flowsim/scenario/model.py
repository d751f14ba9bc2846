"""The scenario format: frozen pydantic models for everything a scenario file can say.

This is the declarative layer of flowsim. It knows nothing about arrays, files or YAML: it
only says which fields exist, their types, units and defaults, and which values are
acceptable on their own. Checks that need the whole scenario (unknown ids, reachability,
dates against the horizon, parameter references) live in :mod:`flowsim.scenario.checks`.

The models are spread by topic; this module defines the calendar, the behaviour settings
and the :class:`Scenario` that holds them all, and gathers every name of the format so that
``from flowsim.scenario.model import X`` finds it wherever it is defined:

* :mod:`flowsim.scenario.values`: kinds of numbers (:class:`ValueKind`) and the field types
  every model shares (number-or-parameter fields, dates, names, country ids, vocabularies);
* :mod:`flowsim.scenario.network`: countries, their asylum systems, routes;
* :mod:`flowsim.scenario.people`: cohorts and shocks;
* :mod:`flowsim.scenario.policies`: policies, their selectors and changes;
* :mod:`flowsim.scenario.parameters`: parameters and priors;
* :mod:`flowsim.scenario.targets`: targets and observables.

Every field carries its own documentation (``description``, ``examples`` and a unit in
``json_schema_extra``): :mod:`flowsim.scenario.docs` turns it into the reference tables and
:mod:`flowsim.scenario.schema` into the JSON Schema.

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

from typing import Any

from pydantic import Field

from flowsim.scenario import parameters as _parameters
from flowsim.scenario import values as _values
from flowsim.scenario.network import Asylum, Country, InitialStock, Network, Route, route_key
from flowsim.scenario.parameters import Parameter, ParameterEntry, Prior
from flowsim.scenario.people import Cohort, Shock
from flowsim.scenario.policies import AsylumChange, CountryChange, Policy, RouteChange, Selector
from flowsim.scenario.programmes import Programme
from flowsim.scenario.report import Report, Window
from flowsim.scenario.schedules import Schedule, SchedulePoint
from flowsim.scenario.targets import AT_DATE, NEEDS_PLACE, OBSERVABLES, Observable, Target
from flowsim.scenario.values import (
    COUNTRY_PATTERN,
    NAME_PATTERN,
    REGIMES,
    Count,
    CountryId,
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
    Role,
    Step,
    ValueKind,
    _Model,
    describe_kind,
    kind_accepts,
)

# Private helpers that lived here before the format was split by topic, still reachable here
# for code written against the old module (the checks and the documentation read the markers
# and validators of the field types; they import them from their modules now).
_KIND_SENTENCE = _values._KIND_SENTENCE
_KindTag = _values._KindTag
_as_date = _values._as_date
_as_tuple = _values._as_tuple
_check_country_id = _values._check_country_id
_check_name = _values._check_name
_per_cohort = _values._per_cohort
_value_type = _values._value_type
_value_validator = _values._value_validator
_PRIOR_ARGUMENTS = _parameters._PRIOR_ARGUMENTS
_ParameterModel = _parameters._ParameterModel
_parameter_shorthand = _parameters._parameter_shorthand

# Every public name of the format, wherever it is defined: the models and the field types.
__all__ = [
    "AT_DATE",
    "COUNTRY_PATTERN",
    "NAME_PATTERN",
    "NEEDS_PLACE",
    "OBSERVABLES",
    "REGIMES",
    "Asylum",
    "AsylumChange",
    "Behaviour",
    "Calendar",
    "Cohort",
    "Count",
    "Country",
    "CountryChange",
    "CountryId",
    "Date",
    "Documents",
    "InitialStock",
    "Mode",
    "Name",
    "Names",
    "Network",
    "NonNegative",
    "Observable",
    "Parameter",
    "ParameterEntry",
    "Policy",
    "Positive",
    "Prior",
    "Probability",
    "Programme",
    "Real",
    "Regime",
    "Report",
    "Role",
    "Route",
    "RouteChange",
    "Scenario",
    "Schedule",
    "SchedulePoint",
    "Selector",
    "Shock",
    "Step",
    "Target",
    "ValueKind",
    "Window",
    "describe_kind",
    "kind_accepts",
    "route_key",
]


# --------------------------------------------------------------------------------------------
# Settings of the whole scenario
# --------------------------------------------------------------------------------------------


class Calendar(_Model):
    """The simulated period: ``start`` to ``end`` inclusive, in steps of ``step``."""

    start: Date = Field(description="First simulated day.", examples=["2022-02-01"])
    end: Date = Field(
        description="Last simulated day (inclusive); the last step may be shorter.",
        examples=["2024-06-30"])
    step: Step = Field(
        "week", description="Step length: `day`, `week` (7 days) or `month` (calendar months "
        "counted from `start`).", examples=["week"])


class Behaviour(_Model):
    """Global behavioural settings of the choice model.

    ``deterrence`` splits the response to closed routes: departures are multiplied by
    ``A ** deterrence`` where ``A`` is the logit choice weight of the origin's routes open to
    the cohort now, relative to those open to it with no policy in force (0: closures only
    divert people to other routes; 1: departures fall in proportion to the lost choice
    weight; a route opened by a policy raises ``A`` above 1). A cohort with no route out
    when no policy is in force has ``A = 1``. With ``deterrence_abroad``, the same rule damps
    moves on from every other country: its onward hazards (of present and settled people)
    are multiplied by ``A_c ** deterrence``, ``A_c`` the choice weight of the routes out of
    that country. ``regime_cost`` is the disutility of each entry regime added to a route's
    own cost. With ``track_returnees``, the returned who leave again stay returnees until
    they cross out of the origin (``docs/model.md``, "People and crossings").
    """

    deterrence: Probability = Field(
        0.5, description="How closures deter rather than divert: departures are multiplied by `A "
        "** deterrence`, `A` the choice weight of the routes open to the cohort now relative to "
        "the routes open with no policy in force (0: closures only divert).",
        examples=[0.5], json_schema_extra={"unit": "exponent between 0 and 1"})
    deterrence_abroad: bool = Field(
        False, description="Apply `deterrence` to moves from every country, not only departures "
        "from the origin: a country's onward hazards are multiplied by `A_c ** deterrence`, "
        "`A_c` the choice weight of the routes open out of it now relative to those open with "
        "no policy in force (default false: closures abroad only divert).", examples=[True])
    track_returnees: bool = Field(
        False, description="Keep the people who returned to the origin apart from those who "
        "never left until they cross out again: a returnee refused a visa, turned back at a "
        "capacity or quota, or intercepted stays a returnee, and the origin's first departures "
        "(the observable `emigrants`) count people, not crossings (default false: a person "
        "sent back to the origin counts among those who never left).", examples=[True])
    regime_cost: dict[Regime, Real] = Field(
        default_factory=lambda: {
            "visa_free": 0.0,
            "visa_on_arrival": 0.2,
            "e_visa": 0.3,
            "visa_required": 1.0,
            "humanitarian_only": 1.0,
        },
        description="Disutility of each entry regime, added to a route's own cost; regimes not "
        "listed cost 0.",
        examples=[{"visa_required": 1.0}], json_schema_extra={"unit": "logit scale"})

    def regime_cost_of(self, regime: str) -> float | str:
        """The cost of a regime (0 if not listed)."""
        return self.regime_cost.get(regime, 0.0)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# The scenario
# --------------------------------------------------------------------------------------------


class Scenario(_Model):
    """A complete migration scenario: the graph, the people, the events, the policies.

    Build it from a YAML file with :func:`flowsim.load_scenario`, or in Python with
    ``Scenario.model_validate({...})``. A Scenario is immutable; derive variants with
    :meth:`with_policies` or with ``model_copy(update=...)`` followed by validation.
    """

    name: str = Field(
        description="The scenario's name (used in results, file names and comparisons).",
        examples=["russia-2022"])
    description: str = Field(
        "", description="Free text: what the scenario represents and its sources.",
        examples=["Emigration from Russia after 24 February 2022."])
    calendar: Calendar = Field(
        description="The simulated period and the step length.",
        examples=[{"start": "2022-02-01", "end": "2024-06-30", "step": "week"}])
    countries: tuple[Country, ...] = Field(
        description="The countries (nodes of the migration graph); exactly one has the role "
        "`origin`.", examples=[[{"id": "RUS", "name": "Russia", "roles": ["origin"]}]])
    groups: dict[Name, Names] = Field(
        default_factory=dict, description="Named groups of countries, usable wherever a country id "
        "is: in selectors, targets and other groups (groups may contain groups).",
        examples=[{"baltics": ["EST", "LVA", "LTU"], "eu": ["DEU", "baltics"]}])
    routes: tuple[Route, ...] = Field(
        description="Directed routes between countries, each with an entry regime.",
        examples=[[{"from": "RUS", "to": "GEO", "mode": "land"}]])
    cohorts: tuple[Cohort, ...] = Field(
        description="Groups of people in the origin who differ in who they are and how policy "
        "treats them.",
        examples=[[{"name": "men", "population": 1000000, "baseline_hazard": 1e-05}]])
    shocks: tuple[Shock, ...] = Field(
        (), description="Dated events that multiply the emigration hazard, or a hazard of people "
        "abroad (`field`, in `countries`).",
        examples=[[{"name": "invasion", "date": "2022-02-24", "multiplier": 20,
                    "half_life_days": 30}]])
    policies: tuple[Policy, ...] = Field(
        (), description="Dated changes to routes and countries, applied in file order (a later "
        "policy overrides an earlier one where both apply).",
        examples=[[{"name": "border_closed", "start": "2022-09-30",
                    "select": {"from": "RUS", "to": "FIN"}, "route": {"regime": "closed"}}]])
    parameters: dict[Name, ParameterEntry] = Field(
        default_factory=dict, description="Named numbers, each with an optional prior; any numeric "
        "field may name one instead of giving a number.",
        examples=[{"deterrence": {"value": 0.5, "prior": {"dist": "beta", "a": 2, "b": 2}}}])
    behaviour: Behaviour = Field(
        default_factory=Behaviour, description="Settings of the choice model shared by all "
        "countries.", examples=[{"deterrence": 0.5}])
    schedules: tuple[Schedule, ...] = Field(
        (), description="Behaviour that changes over time whatever the policies: dated paths of "
        "hazards and attractiveness, kept apart from policies so that a counterfactual keeps "
        "them.", examples=[[{"name": "turn_north", "field": "attractiveness",
                             "countries": ["USA"], "interpolate": "linear",
                             "points": [{"date": "2021-01-01", "value": 0},
                                        {"date": "2023-06-30", "value": 1.5}]}]])
    programmes: tuple[Programme, ...] = Field(
        (), description="Admission programmes: quotas shared by several routes and cohorts, per "
        "step and in total over a period (beside each route's own capacity).",
        examples=[[{"name": "parole", "select": {"to": ["USA"]}, "total": 24000,
                    "start": "2022-10-12", "end": "2023-01-05"}]])
    report: Report = Field(
        default_factory=Report, description="What the summary and the comparisons report: "
        "headline dates, windows, groups and blocs of countries, and their names in words "
        "(defaults derived from the scenario).",
        examples=[{"groups": ["west", "post_soviet"], "labels": {"west": "the West"}}])
    targets: tuple[Target, ...] = Field(
        (), description="Published figures the model should reproduce (for calibration and plots): "
        "a list, or the path of a file holding one.", examples=["russia-2022-targets.yaml"])
    validation: tuple[Target, ...] = Field(
        (), description="Published figures kept apart from calibration (the same format as "
        "`targets`): never in the distance, shown against the posterior predictive in the "
        "calibration report. Usually given in the targets file, beside `targets:`.",
        examples=[[{"id": "stock_arm_2023", "observable": "stock", "kind": "about",
                    "value": 40000, "where": ["ARM"], "at": "2023-06-30",
                    "source": "synthetic"}]])

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

    def _repr_html_(self) -> str:
        """A summary card in a notebook (:func:`flowsim.scenario.display.scenario_html`)."""
        from flowsim.scenario.display import scenario_html

        return scenario_html(self)

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
