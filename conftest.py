"""Repository-wide pytest set-up.

The benchmarks in ``benchmarks/`` are part of the test suite so that they cannot rot: a plain
``python -m pytest`` runs each of them once, untimed, at its smallest size. They are timed
(over their whole grid of sizes) only when asked: ``python -m pytest benchmarks/
--benchmark-only``.

The suite runs thousands of small simulations, and starting a pool of worker processes costs
seconds where the simulation itself takes milliseconds; so ``workers=0`` (the default of the
library and the command line) means one process here (``FLOWSIM_WORKERS=1``, see
:func:`flowsim.ensemble.processes.resolve_workers`), unless the environment says otherwise.
The tests of parallel runs ask for their workers explicitly.
"""

import os

import pytest

os.environ.setdefault("FLOWSIM_WORKERS", "1")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    opt = config.option
    if hasattr(opt, "benchmark_only") and not (opt.benchmark_only or opt.benchmark_enable):
        opt.benchmark_disable = True
