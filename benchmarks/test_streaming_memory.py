"""Memory-bounded ensembles: peak memory of ``flowsim run --stream`` against replicates.

Each size runs the command line (2 workers) on the bundled scenario in a subprocess and
samples the resident memory of its whole process tree (``benchmarks/memory_bound.py``). The
peak should not grow with the number of replicates; replicates per second are recorded as
well. The million-replicate run takes about three hours on two cores: run it with
``python benchmarks/memory_bound.py -n 1000000 --workers 2 --json ...``.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from benchmarks.conftest import BUNDLED
from benchmarks.memory_bound import tree_rss

SIZES = [1_000, 10_000, 100_000]
TINY = 20


@pytest.mark.benchmark(group="streamed memory")
def test_streamed_peak_memory(benchmark, size, tmp_path):
    cmd = [sys.executable, "-m", "flowsim", "run", str(BUNDLED), "--stream", "-q",
           "--no-figures", "-n", str(size), "--workers", "2", "--out", str(tmp_path / "run")]

    def run() -> tuple[int, float]:
        peak = 0
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc.pid)[0])
            time.sleep(0.25)
        assert proc.returncode == 0
        return peak, time.perf_counter() - t0

    peak, wall = benchmark.pedantic(run, rounds=1, iterations=1)
    assert (tmp_path / "run" / "results.nc").is_file()
    benchmark.extra_info.update({"replicates": size, "peak_rss_mb": peak / 2**20,
                                 "replicates_per_s": size / wall})
