"""flowsim: stochastic simulation of migration flows under visa and asylum policies.

The shape convention, used everywhere arrays meet the public API, is
``(replicate, time, country, cohort)`` (routes take the place of countries for flows).

The package is laid out by stage of the pipeline, each importing only the stages before it
(see ``docs/architecture.md``): :mod:`flowsim.scenario` → :mod:`flowsim.core` →
:mod:`flowsim.results` → :mod:`flowsim.ensemble` → :mod:`flowsim.calibration`,
:mod:`flowsim.comparison` → :mod:`flowsim.plots` → :mod:`flowsim.reports` →
:mod:`flowsim.cli`.
"""

# The deprecated alias module of the same name, loaded before the function is bound: a
# later ``import flowsim.simulate`` then finds it loaded and leaves ``flowsim.simulate``
# the function.
import flowsim.simulate as _simulate_alias  # noqa: F401
from flowsim._version import __version__
from flowsim.comparison.effects import Comparison, compare
from flowsim.ensemble.simulation import simulate
from flowsim.ensemble.streaming import stream
from flowsim.errors import Problem, ScenarioError, ScenarioWarning

# registers ``results.plot`` and ``comparison.plot`` (matplotlib loads on their first use)
from flowsim.plots import registration as _plots_registration  # noqa: F401
from flowsim.results.dataset import Results
from flowsim.results.streamed import StreamedResults
from flowsim.scenario import Scenario, load_scenario

__all__ = [
    "Comparison",
    "Problem",
    "Results",
    "Scenario",
    "ScenarioError",
    "ScenarioWarning",
    "StreamedResults",
    "__version__",
    "compare",
    "load_scenario",
    "sensitivity",
    "simulate",
    "stream",
]


def __getattr__(name: str) -> object:
    # flowsim.sensitivity is loaded on first use: it brings in the calibration stage, which
    # a plain simulation does not need
    if name == "sensitivity":
        from flowsim.calibration.sensitivity import sensitivity

        return sensitivity
    raise AttributeError(f"module 'flowsim' has no attribute {name!r}")
