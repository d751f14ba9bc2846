"""Paired comparisons of policy scenarios, with common random numbers.

* :mod:`flowsim.comparison.effects`: :func:`compare` and the :class:`Comparison` it returns;
* :mod:`flowsim.comparison.outcomes`: the outcomes compared, per replicate.
"""

from flowsim.comparison.effects import RECORD, Comparison, compare
from flowsim.comparison.outcomes import GROUP_BLOCS, outcomes

__all__ = ["GROUP_BLOCS", "RECORD", "Comparison", "compare", "outcomes"]
