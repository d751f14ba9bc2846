"""Repository-wide pytest set-up.

The benchmarks in ``benchmarks/`` are part of the test suite so that they cannot rot: a plain
``python -m pytest`` runs each of them once, untimed, at its smallest size. They are timed
(over their whole grid of sizes) only when asked: ``python -m pytest benchmarks/
--benchmark-only``.
"""

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    opt = config.option
    if hasattr(opt, "benchmark_only") and not (opt.benchmark_only or opt.benchmark_enable):
        opt.benchmark_disable = True
