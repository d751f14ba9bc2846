"""The example notebook runs, cell by cell, as Jupyter would (without Jupyter), and every
object it shows has an HTML view; flowsim's worker pools start from a script without a
``__main__`` guard, from ``python -c`` and from stdin."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "notebook.ipynb"


def _display(value: Any) -> str:
    """What Jupyter shows for a cell's last value: its HTML, else its text."""
    if isinstance(value, Figure):
        return "figure"
    html = getattr(value, "_repr_html_", None)
    return html() if callable(html) else repr(value)


def test_the_example_notebook_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    monkeypatch.chdir(ROOT / "examples")
    namespace: dict[str, Any] = {"__name__": "__main__"}
    shown = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        tree = ast.parse("".join(cell["source"]))
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, str(NOTEBOOK), "exec"), namespace)  # noqa: S102 - our notebook
        if last is not None:
            value = eval(compile(ast.Expression(last.value), str(NOTEBOOK), "eval"),
                         namespace)
            shown.append(_display(value))
    cards = [s for s in shown if s.startswith("<div")]
    # the scenario, the results, the comparison and the posterior show themselves as cards
    for title in ("flowsim.Scenario", "flowsim.Results", "flowsim.Comparison",
                  "flowsim.Posterior"):
        assert any(title in c for c in cards), title
    assert shown.count("figure") >= 6
    assert "..." not in namespace["results"].summary().__repr__()  # prints whole


SCRIPT = """
import flowsim
from flowsim.testing import linear_chain

scenario = linear_chain(N=2000, h=0.05, q=0.1, steps=6).scenario
results = flowsim.simulate(scenario, replicates=520, workers=2, block_size=260)
print("departures", int(results.dataset["departures"].sum()))
"""


@pytest.mark.parametrize("how", ["script", "stdin", "-c"])
def test_worker_pools_start_from_a_script_stdin_and_python_c(tmp_path: Path, how: str) -> None:
    # no `if __name__ == "__main__":` guard: the workers must not run the script again
    script = tmp_path / "api.py"
    script.write_text(SCRIPT)
    args = {"script": [sys.executable, str(script)], "stdin": [sys.executable, "-"],
            "-c": [sys.executable, "-c", SCRIPT]}[how]
    proc = subprocess.run(args, input=SCRIPT if how == "stdin" else None, cwd=tmp_path,
                          capture_output=True, text=True, timeout=240, check=False,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("departures") == 1  # run once, not again in each worker


def test_a_guarded_script_still_gives_its_workers_its_own_functions(tmp_path: Path) -> None:
    script = tmp_path / "guarded.py"
    script.write_text(
        "import numpy as np\nimport flowsim\nfrom flowsim.testing import linear_chain\n\n"
        "def rows(res):\n    return res.dataset['departures'].sum(('time', 'cohort'))"
        ".values[:, None]\n\n"
        "if __name__ == '__main__':\n"
        "    s = linear_chain(N=2000, h=0.05, q=0.1, steps=6).scenario\n"
        "    a = flowsim.simulate(s, replicates=520, workers=2, block_size=260, reduce=rows)\n"
        "    b = flowsim.simulate(s, replicates=520, workers=1, block_size=260, reduce=rows)\n"
        "    print('same', bool((np.asarray(a) == np.asarray(b)).all()))\n")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "same True" in proc.stdout
