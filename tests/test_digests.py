"""Every output is bit-identical to the recorded digests (tests/digests/).

The digests were recorded before the package was reorganised by stage and are regenerated
only on purpose (``python tests/digests/update.py``) when a change of numbers is intended: a
refactoring, a speed-up or a new mechanism that is off by default must leave them as they are.

Counts must match bit for bit. A floating-point array whose digest differs passes if its
values are within a relative 1e-12 of the recorded ones: the calibration's particles and
weights go through numpy's vectorised ``exp`` and ``log`` and through BLAS, whose
implementations numpy and OpenBLAS choose for the CPU, and so differ in their last bits
between CPUs (measured: at most 3e-15 relative between AVX2 and AVX-512 code on the same
machine, with the same counts and distances). Any change of method moves them by far more.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from digests.cases import CASES, array_digests, parse_values
from digests.update import FILE, versions

RECORDED = json.loads(FILE.read_text())


@pytest.mark.parametrize("name", sorted(CASES))
def test_outputs_are_bit_identical_to_the_recorded_digests(name):
    if RECORDED["versions"] != versions():
        pytest.skip(f"digests recorded with {RECORDED['versions']}, running {versions()}: "
                    "regenerate them with `python tests/digests/update.py` on purpose")
    expected = RECORDED["cases"][name]
    arrays = CASES[name]()
    got = array_digests(arrays)
    assert sorted(got) == sorted(expected), "the set of arrays changed"
    changed = [k for k in expected if got[k] != expected[k]]
    values = RECORDED["values"].get(name, {})
    # real values computed differently by another CPU's vector code: the same to rounding
    changed = [k for k in changed if not (k in values and _within_rounding(arrays[k], values[k]))]
    assert not changed, f"{name}: these arrays changed: {changed}"


def _within_rounding(a, recorded: str) -> bool:
    a = np.asarray(a)
    want = parse_values(recorded)
    return (a.dtype.kind == "f" and a.size == want.size
            and bool(np.all(np.abs(a.ravel() - want) <= 1e-12 * np.abs(want))))


def test_every_case_has_recorded_digests():
    assert sorted(RECORDED["cases"]) == sorted(CASES)


def test_real_values_pass_to_rounding_and_no_further():
    from digests.cases import float_values

    x = np.array([0.1, -2.5, 3e-7, 0.0])
    recorded = float_values(x)
    assert _within_rounding(x * (1 + 3e-15), recorded)  # another CPU's last bits
    assert not _within_rounding(x * (1 + 1e-9), recorded)  # a change of numbers
    assert not _within_rounding(x[:3], recorded)
    assert not _within_rounding(np.array([1, -2, 0, 0]), float_values([1, -2, 0, 0]))
