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

The suite itself runs on every core (pytest-xdist, one of the test extras): ``-n auto``, one
module per worker at a time (``--dist loadscope``) so that a module's fixtures are built once.
That is the default here, not in ``addopts``, for three reasons: a timed benchmark run must
stay in one process (pytest-benchmark does not time under xdist); ``-n 0`` (or ``-p
no:xdist``) still gives a serial run, as ``--pdb`` and ``--trace`` do by themselves; and
without the plugin the suite runs serially rather than failing on an unknown option.
"""

import os

import pytest

os.environ.setdefault("FLOWSIM_WORKERS", "1")


def _times_benchmarks(opt: object) -> bool:
    """Whether the command line asked pytest-benchmark to time (else each runs once)."""
    return bool(getattr(opt, "benchmark_only", False) or getattr(opt, "benchmark_enable", False))


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    # before xdist's own hook reads the options: spread the suite over the cores unless the
    # command line chose (-n), a worker is asking, or the run is a timed or debugging one
    opt = config.option
    if (not config.pluginmanager.hasplugin("xdist") or opt.numprocesses is not None
            or hasattr(config, "workerinput") or _times_benchmarks(opt) or opt.usepdb
            or getattr(opt, "trace", False) or opt.collectonly):
        return
    opt.numprocesses = "auto"
    if opt.dist == "no":
        opt.dist = "loadscope"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    opt = config.option
    if hasattr(opt, "benchmark_only") and not _times_benchmarks(opt):
        opt.benchmark_disable = True
