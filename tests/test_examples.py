"""Every script in examples/ runs (with ``--small``) and writes its figures, so none can rot.

Each runs in a subprocess, as a user would start it, from a folder other than the
repository, with ``--out`` pointing into a temporary folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

FIGURES = {
    "quickstart": ["fan_departures.png", "destinations.png"],
    "build_in_python": ["fan_departures.png", "destinations.png", "stocks.png"],
    "calibrate_small": ["posterior.png"],
    "counterfactual": ["effects.png", "effect_vs_deterrence.png"],
    "sensitivity": ["sobol.png"],
}


def test_every_example_is_tested() -> None:
    assert sorted(p.stem for p in EXAMPLES.glob("*.py")) == sorted(FIGURES)


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_example_runs_and_writes_its_figures(name: str, tmp_path: Path) -> None:
    out = tmp_path / "figures"
    env = {**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning"}
    proc = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), "--small",
                           "--out", str(out)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    for figure in FIGURES[name]:
        path = out / figure
        assert path.exists(), f"{name} did not write {figure}: {sorted(os.listdir(out))}"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 10_000  # a drawn figure, not an empty canvas
    assert sorted(os.listdir(out)) == sorted(FIGURES[name])


def test_examples_default_to_examples_output() -> None:
    for name in FIGURES:
        text = (EXAMPLES / f"{name}.py").read_text(encoding="utf-8")
        assert f'HERE / "output" / "{name}"' in text, name
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/examples/output/" in ignored
