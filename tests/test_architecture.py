"""The package's layout: one stage of the pipeline per folder, imports running one way.

Read from the source with :mod:`ast` (:mod:`flowsim.testing.imports`), deferred imports
inside functions included: an import made late is still an arrow between two stages. The
stages, earliest first, and what each may import, are in :data:`STAGES`; the page
``docs/architecture.md`` draws the same graph.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

import flowsim
from flowsim.testing.imports import imports, modules

PACKAGE = Path(flowsim.__file__).parent

#: The stages in pipeline order. A module may import modules of its own stage and of earlier
#: stages only; stages of the same rank (calibration, comparison) do not import each other.
STAGES: dict[str, int] = {
    "_version": 0, "errors": 0, "_deprecated": 0,
    "scenario": 1,
    "core": 2,
    "results": 3,
    "ensemble": 4,
    "calibration": 5, "comparison": 5,
    "plots": 6,
    "reports": 7, "testing": 7,
    "": 8,  # the package itself: the public API, gathered from the stages
    "cli": 9,
    "__main__": 10,
}

#: Modules kept for one release where names used to be, each an alias that warns.
ALIASES = {"compile", "engine", "sampling", "sketch", "simulate", "streaming", "output",
           "plots_compare", "plots_calibration", "calibration.abc", "calibration.report"}

#: Third-party libraries of output (files, figures, terminals) that the scenario layer and
#: the core never import: they hand plain values to the stages that write and draw.
OUTPUT_LIBRARIES = {"matplotlib", "netCDF4", "xarray", "typer", "rich", "pandas"}

MAX_LINES = 600

EDGES = imports(PACKAGE)
MODULES = modules(PACKAGE)


def _rel(module: str) -> str:
    return module.removeprefix("flowsim").removeprefix(".")


def _stage(module: str) -> str:
    return _rel(module).split(".")[0]


def _is_alias(module: str) -> bool:
    return _rel(module) in ALIASES and MODULES[module].read_text().count("moved(") == 1


def test_every_module_belongs_to_a_stage():
    unknown = sorted(m for m in MODULES if _stage(m) not in STAGES and not _is_alias(m))
    assert not unknown, f"modules outside every stage (add them to STAGES): {unknown}"


def test_no_import_cycles():
    graph = nx.DiGraph((e.source, e.target) for e in EDGES)
    cycles = sorted(sorted(c) for c in nx.simple_cycles(graph))
    assert not cycles, f"import cycles: {cycles}"


def test_imports_run_down_the_pipeline():
    wrong = []
    for e in EDGES:
        if _is_alias(e.source) or _is_alias(e.target):
            continue
        a, b = _stage(e.source), _stage(e.target)
        if a != b and STAGES[b] >= STAGES[a]:
            wrong.append(f"{e.source}:{e.line} imports {e.target} ({a} -> {b})")
    assert not wrong, "imports against the pipeline:\n" + "\n".join(wrong)


@pytest.mark.parametrize("stage", ["scenario", "core"])
def test_scenario_and_core_import_no_output_libraries(stage):
    found = []
    for name, path in MODULES.items():
        if _stage(name) != stage:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level \
                else []
            found += [f"{name}:{node.lineno} imports {m}" for m in mods
                      if m.split(".")[0] in OUTPUT_LIBRARIES]
    assert not found, "\n".join(found)


def test_packages_gather_only_their_own_modules():
    wrong = [f"{e.source}:{e.line} imports {e.target}" for e in EDGES
             if MODULES[e.source].name == "__init__.py" and _rel(e.source)
             and _stage(e.target) != _stage(e.source)
             and _stage(e.target) not in ("errors", "_version")]
    assert not wrong, "\n".join(wrong)


def test_only_the_cli_imports_the_package_itself():
    wrong = [f"{e.source}:{e.line}" for e in EDGES
             if e.target == "flowsim" and _stage(e.source) not in ("cli", "__main__")]
    assert not wrong, f"modules importing the package flowsim itself: {wrong}"


def test_aliases_hold_no_code():
    for alias in ALIASES:
        module = f"flowsim.{alias}"
        assert _is_alias(module), f"{module} is not a plain alias (moved(...))"
        targets = {e.target for e in EDGES if e.source == module}
        assert targets == {"flowsim._deprecated"}, (module, targets)


def test_modules_are_small_enough_to_read_in_one_sitting():
    long = {name: n for name, path in MODULES.items()
            if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"
