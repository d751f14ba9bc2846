"""Helpers for testing flowsim and models built with it.

Modules are imported on their own, so that using one does not pull in the test-only
dependencies of another:

* :mod:`flowsim.testing.strategies`: hypothesis strategies for valid random scenarios
  (needs ``hypothesis``);
* :mod:`flowsim.testing.synthetic`: synthetic scenarios of any size, for benchmarks;
* :mod:`flowsim.testing.toys`: toy scenarios with closed-form expectations and variances
  (a linear chain, a two-country swap, a route with a quota, a diaspora already abroad,
  settled people who return or move on, a closure abroad that deters moves on, a hazard
  that fades by a schedule, a choice drawn by a diaspora),
  re-exported here since they need nothing beyond flowsim itself.
"""

from flowsim.testing.toys import (
    Toy,
    deterred_chain,
    diaspora,
    linear_chain,
    network_choice,
    quota_route,
    scheduled_chain,
    settled_mobility,
    two_country_swap,
)

__all__ = ["Toy", "deterred_chain", "diaspora", "linear_chain", "network_choice",
           "quota_route", "scheduled_chain", "settled_mobility", "two_country_swap"]
