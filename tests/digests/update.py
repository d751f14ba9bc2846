"""Regenerate ``tests/digests/digests.json``: run only when a change of numbers is intended.

    python tests/digests/update.py

The file also records the numpy and scipy versions it was made with: numpy's generators
and special functions are what the digests depend on outside flowsim, so the test skips
(saying so) under a different minor version instead of failing on a change that is not
flowsim's.

It records the values of every floating-point array too (``values``), exactly (as
``float.hex``). The counts are the same bit for bit on any machine, but a real-valued
output that goes through numpy's vectorised ``exp`` and ``log`` and through BLAS (the
calibration's particles and weights) can differ in its last bits between CPUs: numpy and
OpenBLAS choose their implementations for the CPU they run on (AVX2 or AVX-512, for
example). Where such an array's digest differs, the test compares its values instead, to a
relative 1e-12.

The digests of this file were recorded on a CPU without AVX-512 (numpy's AVX2 code, and
OpenBLAS's Haswell kernels). On a CPU with it, the same digests come out of::

    OPENBLAS_CORETYPE=Haswell NPY_DISABLE_CPU_FEATURES="AVX512F AVX512CD AVX512VL \
        AVX512BW AVX512DQ AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR X86_V4" \
        python tests/digests/update.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import scipy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, as pytest has it
from digests.cases import CASES, array_digests, float_values

FILE = Path(__file__).with_name("digests.json")


def versions() -> dict[str, str]:
    """numpy's and scipy's ``major.minor``."""
    return {"numpy": ".".join(np.__version__.split(".")[:2]),
            "scipy": ".".join(scipy.__version__.split(".")[:2])}


def main() -> None:
    cases: dict[str, dict[str, str]] = {}
    values: dict[str, dict[str, str]] = {}
    for name in CASES:
        arrays = CASES[name]()
        cases[name] = array_digests(arrays)
        floats = {k: float_values(v) for k, v in sorted(arrays.items())
                  if np.asarray(v).dtype.kind == "f" and np.size(v)}
        if floats:
            values[name] = floats
    data = {"versions": versions(), "cases": cases, "values": values}
    FILE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {FILE}: {sum(len(v) for v in cases.values())} digests")


if __name__ == "__main__":
    main()
