"""Paired comparisons of policy scenarios, with common random numbers.

* :mod:`flowsim.comparison.effects`: :func:`compare` and the :class:`Comparison` it returns;
* :mod:`flowsim.comparison.outcomes`: the outcomes compared, per replicate.
"""

from flowsim.comparison.effects import RECORD, Comparison, compare
from flowsim.comparison.outcomes import outcomes

__all__ = ["RECORD", "Comparison", "compare", "outcomes"]


def __getattr__(name: str) -> object:
    if name == "GROUP_BLOCS":
        raise AttributeError(
            "flowsim.comparison.GROUP_BLOCS was removed: the blocs a comparison reports are "
            "the scenario's own (`report.blocs`; flowsim.scenario.report.report_blocs)")
    raise AttributeError(f"module 'flowsim.comparison' has no attribute {name!r}")
