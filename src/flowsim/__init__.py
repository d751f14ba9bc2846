"""flowsim: stochastic simulation of migration flows under visa and asylum policies.

The shape convention, used everywhere arrays meet the public API, is
``(replicate, time, country, cohort)`` (routes take the place of countries for flows).
"""

from flowsim._version import __version__
from flowsim.comparison import Comparison, compare
from flowsim.errors import Problem, ScenarioError, ScenarioWarning
from flowsim.results import Results
from flowsim.scenario import Scenario, load_scenario
from flowsim.simulate import simulate
from flowsim.streaming import StreamedResults, stream

__all__ = [
    "Comparison",
    "Problem",
    "Results",
    "Scenario",
    "ScenarioError",
    "StreamedResults",
    "ScenarioWarning",
    "__version__",
    "compare",
    "load_scenario",
    "simulate",
    "stream",
]
