"""Regenerate ``tests/digests/digests.json``: run only when a change of numbers is intended.

    python tests/digests/update.py

The file also records the numpy and scipy versions it was made with: numpy's generators
and special functions are what the digests depend on outside flowsim, so the test skips
(saying so) under a different minor version instead of failing on a change that is not
flowsim's.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import scipy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, as pytest has it
from digests.cases import CASES, case_digests

FILE = Path(__file__).with_name("digests.json")


def versions() -> dict[str, str]:
    """numpy's and scipy's ``major.minor``."""
    return {"numpy": ".".join(np.__version__.split(".")[:2]),
            "scipy": ".".join(scipy.__version__.split(".")[:2])}


def main() -> None:
    data = {"versions": versions(), "cases": {name: case_digests(name) for name in CASES}}
    FILE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {FILE}: {sum(len(v) for v in data['cases'].values())} digests")


if __name__ == "__main__":
    main()
