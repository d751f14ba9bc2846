"""The core: a scenario compiled to arrays, and the engine that steps them.

* :mod:`flowsim.core.compile`: :func:`compile_scenario` turns a validated
  :class:`~flowsim.Scenario` into an immutable :class:`CompiledModel` (index maps and
  time-indexed tensors, parameters as slots filled per replicate);
* :mod:`flowsim.core.engine`: :func:`run_block` steps one block of replicates with exact
  integer draws, no Python loop over replicates or people;
* :mod:`flowsim.core.samplers`: where randomness enters the engine: :class:`ExactSampler`
  (numpy's exact binomial and hypergeometric draws) and :class:`CoupledSampler` (keyed
  uniforms through monotone inverse CDFs, for paired comparisons);
* :mod:`flowsim.core.fields`: numeric tensors of numbers and parameter references;
* :mod:`flowsim.core.epochs`: what a block needs of each policy epoch, computed once;
* :mod:`flowsim.core.sums`: sums over routes grouped by country;
* :mod:`flowsim.core.route_tree`: the route choice's draws: the chain of conditional
  binomials, and a tree of them beyond a country's first 64 routes.

The core knows nothing of YAML, files, figures or the command line.
"""

from flowsim.core.compile import CompiledModel, compile_scenario, scenario_hash
from flowsim.core.engine import DEFAULT_RECORD, RECORDABLE, InvariantError, record_shape, run_block
from flowsim.core.samplers import CoupledSampler, ExactSampler

__all__ = [
    "DEFAULT_RECORD",
    "RECORDABLE",
    "CompiledModel",
    "CoupledSampler",
    "ExactSampler",
    "InvariantError",
    "compile_scenario",
    "record_shape",
    "run_block",
    "scenario_hash",
]
