"""Every output is bit-identical to the recorded digests (tests/digests/).

The digests were recorded before the package was reorganised by stage and are regenerated
only on purpose (``python tests/digests/update.py``) when a change of numbers is intended: a
refactoring, a speed-up or a new mechanism that is off by default must leave them as they are.
"""

from __future__ import annotations

import json

import pytest
from digests.cases import CASES, case_digests
from digests.update import FILE, versions

RECORDED = json.loads(FILE.read_text())


@pytest.mark.parametrize("name", sorted(CASES))
def test_outputs_are_bit_identical_to_the_recorded_digests(name):
    if RECORDED["versions"] != versions():
        pytest.skip(f"digests recorded with {RECORDED['versions']}, running {versions()}: "
                    "regenerate them with `python tests/digests/update.py` on purpose")
    expected = RECORDED["cases"][name]
    got = case_digests(name)
    assert sorted(got) == sorted(expected), "the set of arrays changed"
    changed = [k for k in expected if got[k] != expected[k]]
    assert not changed, f"{name}: these arrays changed: {changed}"


def test_every_case_has_recorded_digests():
    assert sorted(RECORDED["cases"]) == sorted(CASES)
