"""Runs that are interrupted, lose a worker or would not fit in memory (issue 16).

Faults are made to happen (STYLE.md, 18): a worker process is killed with SIGKILL in the
middle of a run (in memory and streamed), the parent is sent SIGTERM or SIGHUP, or killed
outright; and a run asks for more memory than the limit. Linux only where ``/proc`` is read
to find the worker processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from cli_helpers import invoke

import flowsim
from conftest import base_data, write_yaml
from flowsim.cli._common import EXIT_FAULT
from flowsim.ensemble import workers as workers_module
from flowsim.ensemble.simulation import (
    MEMORY_VARIABLE,
    ResultsTooLarge,
    memory_limit,
    parse_size,
    results_bytes,
)
from flowsim.results.opening import open_results
from flowsim.results.streamed import StreamedResults
from flowsim.scenario import validate_data

linux = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                kids.setdefault(int(fields[1]), []).append(int(d))
    return kids


def _workers(pid: int) -> list[int]:
    """The pool's worker processes under ``pid``: children of its fork server."""
    kids = _children()
    return [w for c in kids.get(pid, []) for w in kids.get(c, [])]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def toy():
    scenario, _ = validate_data(base_data())
    return scenario


# -- a worker dies: its blocks run again, the results do not change ------------------------------


class _KillOneWorker:
    """A progress callback that SIGKILLs one worker process when the first block is in."""

    def __init__(self) -> None:
        self.killed: list[int] = []

    def __call__(self, done: int, total: int) -> None:
        if not self.killed:
            found = _workers(os.getpid())
            assert found, "no worker processes found"
            os.kill(found[0], signal.SIGKILL)
            self.killed.append(found[0])


@linux
def test_a_killed_worker_is_replaced_and_the_results_are_bit_identical(toy) -> None:
    args = {"replicates": 24, "seed": 3, "block_size": 2}
    undisturbed = flowsim.simulate(toy, workers=1, **args)
    kill = _KillOneWorker()
    t0 = time.perf_counter()
    disturbed = flowsim.simulate(toy, workers=2, progress=kill, **args)
    assert kill.killed and not _alive(kill.killed[0])
    assert time.perf_counter() - t0 < 120  # no hang
    xr.testing.assert_identical(undisturbed.dataset.drop_attrs(), disturbed.dataset.drop_attrs())


@linux
def test_a_killed_worker_in_a_streamed_run(toy, tmp_path: Path) -> None:
    args = {"replicates": 24, "seed": 3, "block_size": 2, "keep": ("departures",)}
    a = flowsim.stream(toy, tmp_path / "a.nc", workers=1, **args)
    kill = _KillOneWorker()
    b = flowsim.stream(toy, tmp_path / "b.nc", workers=2, progress=kill, **args)
    assert kill.killed
    xr.testing.assert_identical(a.dataset.drop_attrs(), b.dataset.drop_attrs())
    a.close()
    b.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.nc", "b.nc"]


def _die(results) -> None:
    """A reducer that kills the worker running it: every block's worker dies."""
    os._exit(9)


def test_a_block_that_always_kills_its_worker_ends_the_run(toy,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setattr(workers_module, "MAX_RETRIES", 1)
    t0 = time.perf_counter()
    with pytest.raises(workers_module.WorkerLost, match=r"a worker process died 2 times "
                       r"while running block \d+"):
        flowsim.simulate(toy, replicates=8, seed=1, block_size=2, workers=2, reduce=_die)
    assert time.perf_counter() - t0 < 60


def _die_while_sending(results) -> np.ndarray:
    """A reducer whose worker dies about when its 64 MB of rows are being sent back: once
    the way a ``ProcessPoolExecutor`` hung for ever (half a message in its shared pipe)."""
    import threading

    threading.Timer(0.02 + 0.03 * np.random.default_rng().random(), os._exit, (9,)).start()
    return np.ones((results.replicates, (64 << 20) // 8 // results.replicates))


def test_a_worker_that_dies_while_sending_its_result_does_not_hang_the_run(
        toy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers_module, "MAX_RETRIES", 2)
    t0 = time.perf_counter()
    try:  # (a worker that wins the race and sends its rows in time lets its block through)
        rows = flowsim.simulate(toy, replicates=8, seed=1, block_size=2, workers=2,
                                reduce=_die_while_sending)
    except workers_module.WorkerLost:
        pass
    else:
        assert rows.shape[0] == 8 and (rows == 1).all()
    assert time.perf_counter() - t0 < 90  # the run ended, one way or the other


def test_the_cli_reports_lost_workers_in_one_line(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def lost(*args, **kwargs):
        raise workers_module.WorkerLost("a worker process died 4 times while running block 3")

    monkeypatch.setattr(flowsim, "simulate", lost)
    toy = write_yaml(tmp_path / "toy.yaml", base_data())
    result = invoke("run", str(toy), "-n", "2", "-o", str(tmp_path / "out"))
    assert result.exit_code == EXIT_FAULT
    assert result.stderr.strip().endswith(
        "flowsim run: stopped: a worker process died 4 times while running block 3; the "
        "directory is as it was before (nothing of this run was written to it)")


# -- signals -----------------------------------------------------------------------------------


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flowsim", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_workers(proc: subprocess.Popen, n: int = 2, timeout: float = 60) -> list[int]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = _workers(proc.pid)
        if len(found) >= n:
            return found
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the workers did not start")


def _gone_within(pids: list[int], seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


@linux
@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
@pytest.mark.parametrize("stream", [False, True])
def test_sigterm_and_sighup_stop_a_run_like_ctrl_c(tmp_path: Path, sig: int, status: int,
                                                   stream: bool) -> None:
    toy = write_yaml(tmp_path / "toy.yaml", base_data())
    proc = _start(["run", str(toy), "-n", "4000", "--block-size", "4", "-w", "2", "-o",
                   str(tmp_path / "out"), *(["--stream"] if stream else [])], tmp_path)
    found = _wait_for_workers(proc)
    time.sleep(0.5)  # blocks under way, the streamed file begun
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == status, err
    assert "Traceback" not in err
    assert err.strip().endswith(f"interrupted: nothing was written to {tmp_path / 'out'}")
    assert _gone_within(found, 5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy.yaml"]  # no staging left


_ORPHAN = """
import sys
import flowsim
from flowsim.scenario import validate_data
sys.path.insert(0, sys.argv[1])
from conftest import base_data
scenario, _ = validate_data(base_data())
blocks = []

def progress(done, total):
    blocks.append(done)
    if len(blocks) == 10:
        print("running", flush=True)

flowsim.simulate(scenario, replicates=20000, block_size=4, workers=2, seed=1,
                 progress=progress)
"""


@linux
def test_workers_exit_within_seconds_when_the_parent_is_killed_outright(tmp_path: Path
                                                                        ) -> None:
    proc = subprocess.Popen([sys.executable, "-c", _ORPHAN, str(Path(__file__).parent)],
                            cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "running"  # both workers are up: 10 blocks in
    found = _wait_for_workers(proc)
    proc.kill()  # SIGKILL: no handler runs in the parent
    proc.wait()
    assert _gone_within(found, 5), [p for p in found if _alive(p)]


# -- memory ------------------------------------------------------------------------------------


def test_the_estimate_is_the_size_of_the_results(toy) -> None:
    res = flowsim.simulate(toy, replicates=5, seed=1)
    ds = res.dataset
    recorded = [v for v in ds.data_vars if v != "params"]
    actual = sum(ds[v].nbytes for v in recorded) + ds["params"].nbytes
    from flowsim.core.compile import compile_scenario

    assert results_bytes(compile_scenario(toy), 5, recorded) == actual


def test_the_api_refuses_a_run_that_would_not_fit(toy, monkeypatch: pytest.MonkeyPatch
                                                  ) -> None:
    with pytest.raises(ResultsTooLarge, match=r"1,000 replicates × 51 steps of 9 variables "
                       r"would take 16\.0 MB in memory, more than the limit of 1\.0 MB "
                       r"\(max_memory\)\. Stream them to a file instead \(flowsim\.stream"):
        flowsim.simulate(toy, replicates=1000, seed=1, max_memory="1M")
    monkeypatch.setenv(MEMORY_VARIABLE, "100k")
    with pytest.raises(ResultsTooLarge, match="FLOWSIM_MAX_MEMORY"):
        flowsim.simulate(toy, replicates=100, seed=1)
    # fewer variables fit; a reducer is not bounded; raising the limit lets it run
    assert flowsim.simulate(toy, replicates=100, seed=1, record=("departures",)).replicates
    assert flowsim.simulate(toy, replicates=100, seed=1, max_memory="1G").replicates == 100
    monkeypatch.delenv(MEMORY_VARIABLE)
    limit, origin = memory_limit()
    assert limit > 1 << 26 and "of this machine's" in origin


def test_the_cli_streams_a_run_that_would_not_fit(tmp_path: Path) -> None:
    toy = write_yaml(tmp_path / "toy.yaml", base_data())
    out = tmp_path / "out"
    result = invoke("run", str(toy), "-n", "200", "-w", "1", "--no-figures", "-o", str(out),
                    "--max-memory", "64k")
    assert result.exit_code == 0, result.output
    assert "streaming them to disk instead, as --stream does" in result.stderr
    res = open_results(out)
    assert isinstance(res, StreamedResults) and res.replicates == 200
    # the same replicates as a run held in memory
    kept = flowsim.simulate(validate_data(base_data())[0], replicates=200, seed=1)
    np.testing.assert_allclose(res.dataset["headline"].values, kept.headline().values)
    res.close()
    result = invoke("run", str(toy), "-n", "2", "--max-memory", "lots", "-o",
                    str(tmp_path / "x"))
    assert result.exit_code == 2 and "--max-memory: not a size: 'lots'" in result.stderr


@pytest.mark.parametrize("text, size", [("512", 512), ("64k", 65536), ("1.5M", 1572864),
                                        ("16G", 16 << 30), ("2 GiB", 2 << 30),
                                        ("1tb", 1 << 40), (4096, 4096)])
def test_sizes(text, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "-1G", "0", "1Q", "G"])
def test_not_sizes(text: str) -> None:
    with pytest.raises(ValueError, match="not a size|positive"):
        parse_size(text)
