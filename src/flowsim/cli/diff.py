"""``flowsim diff BASE OVERLAY``: what a counterfactual changes against its baseline, in words.

Both files are read and resolved (``extends`` applied), then compared field by field
(:func:`flowsim.scenario.diff.scenario_diff`): one line per added, removed or changed
policy, route, country, cohort, parameter, ... Exit status 0 when they differ or not; 2
for a file that does not load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flowsim.cli._common import handle_input_errors, out_console

__all__ = ["diff"]


def diff(
    base: Annotated[Path, typer.Argument(metavar="BASE", help="The baseline scenario (YAML).",
                                         show_default=False)],
    overlay: Annotated[Path, typer.Argument(
        metavar="OVERLAY", help="The counterfactual (an overlay with extends:, or any "
        "scenario file).", show_default=False)],
) -> None:
    """Say what OVERLAY changes against BASE, one line per change."""
    from flowsim.scenario import read_scenario
    from flowsim.scenario.diff import scenario_diff

    with handle_input_errors():
        a, _ = read_scenario(base)
        b, _ = read_scenario(overlay)
    changes = scenario_diff(a, b)
    console = out_console()
    if not changes:
        console.print(f"{overlay} is the same scenario as {base}.", soft_wrap=True)
        return
    console.print(f"{overlay} ('{b.name}') against {base} ('{a.name}'): {len(changes)} "
                  f"change{'s' if len(changes) != 1 else ''}", soft_wrap=True, markup=False)
    for c in changes:
        mark = {"added": "+", "removed": "-", "changed": "~"}[c.kind]
        console.print(f"  {mark} {c.text}", soft_wrap=True, markup=False, highlight=False)
