"""Output directories: one writer at a time, no silent overwrite, nothing left behind, and
clear errors when the disk is full or the output cannot be written (issue 16).

Faults are made to happen (STYLE.md, 18): a second process holds the lock, a crashed run's
staging directories lie beside the output, the writer gets ``OSError(ENOSPC)`` or NetCDF's
``RuntimeError``, the output directory is made read-only.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_helpers import invoke

from conftest import base_data, write_yaml
from flowsim.cli._common import EXIT_BAD_INPUT, EXIT_BUSY, EXIT_FAULT
from flowsim.reports import run as output
from flowsim.results.files import OutputBusy, output_lock, staged_directory

FAST = ("-n", "3", "--no-figures", "-q", "-w", "1")


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    return write_yaml(tmp_path / "toy.yaml", base_data())


def _snapshot(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def _siblings(d: Path) -> list[str]:
    return sorted(p.name for p in d.parent.iterdir() if p.name != "toy.yaml")


# -- the lock -----------------------------------------------------------------------------------


_HOLD = textwrap.dedent("""
    import sys, time
    from flowsim.results.files import output_lock
    with output_lock(sys.argv[1]):
        print("held", flush=True)
        time.sleep(60)
""")


@pytest.fixture
def held(tmp_path: Path):
    """``held(DIR)`` makes another process hold DIR's lock until the test ends."""
    procs = []

    def hold(out: Path) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(out)], stdout=subprocess.PIPE,
                                text=True)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc

    yield hold
    for proc in procs:
        proc.kill()
        proc.wait()


def test_a_second_writer_fails_at_once(toy: Path, tmp_path: Path, held) -> None:
    out = tmp_path / "out"
    proc = held(out)
    result = invoke("run", str(toy), *FAST, "-o", str(out))
    assert result.exit_code == EXIT_BUSY, result.output
    assert result.stderr.strip() == (
        f"{out}: another flowsim process (pid {proc.pid}) is writing to this directory; "
        "wait for it to finish or give another --out")
    assert not out.exists()
    # the library's writers take the same lock
    with pytest.raises(OutputBusy, match="is writing to this directory"), \
            staged_directory(out):
        pass
    # and when the holder dies, however it dies, the lock is free
    proc.kill()
    proc.wait()
    assert invoke("run", str(toy), *FAST, "-o", str(out)).exit_code == 0
    assert _siblings(out) == ["out"]  # no lock file, no staging left


def test_the_lock_is_held_once_per_process(tmp_path: Path) -> None:
    out = tmp_path / "a" / "out"
    # inside a command that holds it, a writer goes on
    with output_lock(out), staged_directory(out) as tmp:
        (tmp / "x.txt").write_text("x")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["out"]
    with output_lock(tmp_path / "b" / "out"):
        pass
    assert not (tmp_path / "b").exists()  # the parents made for the lock are removed


# -- no silent overwrite -------------------------------------------------------------------------


def test_an_output_directory_with_files_needs_force(toy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("run", str(toy), *FAST, "-o", str(out)).exit_code == 0
    before = _snapshot(out)
    result = invoke("run", str(toy), *FAST, "--seed", "5", "-o", str(out))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "already holds files" in result.stderr and "--force" in result.stderr
    assert _snapshot(out) == before
    result = invoke("run", str(toy), *FAST, "--seed", "5", "-o", str(out), "--force")
    assert result.exit_code == 0, result.output
    assert json.loads((out / "run.json").read_text())["seed"]["given"] == 5
    (tmp_path / "empty").mkdir()  # an empty directory is not an earlier run
    assert invoke("run", str(toy), *FAST, "-o", str(tmp_path / "empty")).exit_code == 0


@pytest.mark.parametrize("command", ["compare", "calibrate"])
def test_compare_and_calibrate_refuse_too(toy: Path, tmp_path: Path, command: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    (tmp_path / "cf.yaml").write_text("extends: toy.yaml\nname: cf\n", encoding="utf-8")
    args = [str(toy), str(tmp_path / "cf.yaml")] if command == "compare" else [str(toy)]
    result = invoke(command, *args, "-o", str(out), "--no-figures")
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "already holds files" in result.stderr
    assert _snapshot(out) == {"keep.txt": b"mine"}


# -- a crash's leftovers ------------------------------------------------------------------------


def test_staging_left_by_a_crash_is_removed_and_reported(toy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (tmp_path / "out.tmp-abc123").mkdir()
    (tmp_path / "out.tmp-abc123" / "results.nc").write_bytes(b"half")
    (tmp_path / ".out.stream-xyz.nc").write_bytes(b"half")
    (tmp_path / ".out.stream-xyz.nc.tmp-1").write_bytes(b"half")
    (tmp_path / "other.tmp-abc").mkdir()  # someone else's: not touched
    result = invoke("run", str(toy), *FAST, "-o", str(out))
    assert result.exit_code == 0, result.output
    for name in ("out.tmp-abc123", ".out.stream-xyz.nc", ".out.stream-xyz.nc.tmp-1"):
        assert f"removed {tmp_path / name}, left by an earlier run" in result.stderr
    assert _siblings(out) == ["other.tmp-abc", "out"]


# -- a full disk, a read-only output -----------------------------------------------------------


def _full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("stream", [False, True])
def test_a_full_disk_is_one_line_naming_the_output(toy: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   stream: bool) -> None:
    out = tmp_path / "out"
    assert invoke("run", str(toy), *FAST, "-o", str(out)).exit_code == 0
    before = _snapshot(out)
    if stream:  # while the streamed file is written, block by block
        from flowsim.ensemble import streaming

        monkeypatch.setattr(streaming._StreamFile, "write", _full_disk)
    else:  # while results.nc is written into the staging directory
        monkeypatch.setattr(output, "save_results", _full_disk)
    result = invoke("run", str(toy), *FAST, "-o", str(out), "--force",
                    *(["--stream"] if stream else []))
    assert result.exit_code == EXIT_FAULT, result.output
    assert result.stderr.strip() == (
        f"{out}: flowsim run: cannot write the outputs: No space left on device; the "
        "directory is as it was before (nothing of this run was written to it)")
    assert _snapshot(out) == before
    assert _siblings(out) == ["out"]


def test_netcdfs_own_error_for_a_full_disk_is_a_fault_too(toy: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    def hdf_error(*args, **kwargs):
        raise RuntimeError("NetCDF: HDF error")

    monkeypatch.setattr(output, "save_results", hdf_error)
    out = tmp_path / "out"
    result = invoke("run", str(toy), *FAST, "-o", str(out))
    assert result.exit_code == EXIT_FAULT
    assert result.stderr.startswith(f"{out}: flowsim run: cannot write the outputs (full "
                                    "disk?): NetCDF: HDF error")
    assert not out.exists()


def test_an_unwritable_output_is_one_line(toy: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Without root's rights a read-only directory is refused by the system; with them (in
    a container) the refusal is injected where the files are moved in."""
    out = tmp_path / "out"
    assert invoke("run", str(toy), *FAST, "-o", str(out)).exit_code == 0
    before = _snapshot(out)
    if os.geteuid() == 0:
        real = os.replace

        def read_only(src, dst, *args, **kwargs):  # no entry of `out` may be added or removed
            if out.resolve() in (Path(src).resolve().parent, Path(dst).resolve().parent):
                raise PermissionError(errno.EACCES, "Permission denied")
            return real(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, "replace", read_only)
    else:  # pragma: no cover - depends on who runs the tests
        out.chmod(0o555)
    try:
        result = invoke("run", str(toy), *FAST, "-o", str(out), "--force")
    finally:
        out.chmod(0o755)
    assert result.exit_code == EXIT_FAULT, result.output
    assert result.stderr.startswith(f"{out}: flowsim run: cannot write the outputs: "
                                    "Permission denied")
    assert _snapshot(out) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only directory")
def test_a_read_only_parent_fails_before_the_run(toy: Path, tmp_path: Path) -> None:
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        result = invoke("run", str(toy), *FAST, "-o", str(parent / "out"))
    finally:
        parent.chmod(0o755)
    assert result.exit_code == EXIT_FAULT
    assert "cannot write there: Permission denied" in result.stderr
