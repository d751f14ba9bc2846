"""Benchmark grids: the full grid when timing, the smallest size when run as tests."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "scenarios" / "russia-2022.yaml"


def timing(config: pytest.Config) -> bool:
    """Whether benchmarks are being timed (``--benchmark-only`` or ``--benchmark-enable``)."""
    opt = config.option
    return bool(getattr(opt, "benchmark_only", False) or getattr(opt, "benchmark_enable", False))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``size`` from the test module's ``SIZES`` (only ``TINY`` when untimed)."""
    if "size" in metafunc.fixturenames:
        module = metafunc.module
        sizes = module.SIZES if timing(metafunc.config) else [module.TINY]
        metafunc.parametrize("size", sizes, ids=[str(s) for s in sizes])


@pytest.fixture(scope="session")
def bundled_scenario():
    import flowsim

    return flowsim.load_scenario(BUNDLED)
