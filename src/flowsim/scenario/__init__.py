"""The declarative layer: scenario models, YAML loading with positions, and checks."""

from flowsim.scenario.loading import load_scenario, read_scenario, validate_data
from flowsim.scenario.model import (
    Asylum,
    Behaviour,
    Calendar,
    Cohort,
    Country,
    Parameter,
    Policy,
    Prior,
    Route,
    Scenario,
    Selector,
    Shock,
    Target,
)

__all__ = [
    "Asylum",
    "Behaviour",
    "Calendar",
    "Cohort",
    "Country",
    "Parameter",
    "Policy",
    "Prior",
    "Route",
    "Scenario",
    "Selector",
    "Shock",
    "Target",
    "load_scenario",
    "read_scenario",
    "validate_data",
]
