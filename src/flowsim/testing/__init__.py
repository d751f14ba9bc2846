"""Helpers for testing flowsim and models built with it.

Modules are imported on their own, so that using one does not pull in the test-only
dependencies of another:

* :mod:`flowsim.testing.strategies`: hypothesis strategies for valid random scenarios
  (needs ``hypothesis``);
* :mod:`flowsim.testing.synthetic`: synthetic scenarios of any size, for benchmarks.
"""
