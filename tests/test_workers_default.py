"""What ``workers=0`` (the default of the library and the command line) means.

A positive number is taken as it is; 0 asks for "as many as this machine gives": the
environment variable ``FLOWSIM_WORKERS`` when set, else one process per CPU this process may
run on. The suite itself sets ``FLOWSIM_WORKERS=1`` (see the repository's ``conftest.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_helpers import invoke

from flowsim.ensemble.processes import WORKERS_VARIABLE, resolve_workers

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "russia-2022.yaml"


def test_a_positive_number_is_taken_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WORKERS_VARIABLE, "3")
    assert resolve_workers(5) == 5
    assert resolve_workers(1) == 1


def test_zero_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WORKERS_VARIABLE, " 3 ")
    assert resolve_workers(0) == 3
    assert resolve_workers(None) == 3
    assert resolve_workers(-1) == 3


def test_without_the_variable_one_per_usable_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WORKERS_VARIABLE, raising=False)
    usable = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
              else os.cpu_count() or 1)
    assert resolve_workers(0) == usable
    if hasattr(os, "sched_getaffinity"):
        # a narrower affinity mask (taskset, a batch scheduler) narrows the default
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
        assert resolve_workers(0) == 1


@pytest.mark.parametrize("bad", ["two", "0", "-2", "1.5"])
def test_a_bad_value_is_refused_in_a_sentence(monkeypatch: pytest.MonkeyPatch,
                                              bad: str) -> None:
    monkeypatch.setenv(WORKERS_VARIABLE, bad)
    with pytest.raises(ValueError, match="FLOWSIM_WORKERS must be a positive whole number"):
        resolve_workers(0)
    # the command line says it in one line, with exit status 2 and no traceback
    result = invoke("validate", str(SCENARIO))
    assert result.exit_code == 2
    assert "FLOWSIM_WORKERS must be a positive whole number" in result.stderr
