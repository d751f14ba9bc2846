"""The package's layout: one stage of the pipeline per folder, imports running one way.

Read from the source with :mod:`ast` (:mod:`flowsim.testing.imports`), deferred imports
inside functions included: an import made late is still an arrow between two stages. The
stages, earliest first, and what each may import, are in :data:`flowsim.testing.layout.STAGES`; the page
``docs/architecture.md`` draws the same graph.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import networkx as nx
import pytest

import flowsim
from flowsim.testing.layout import ALIASES, OUTPUT_LIBRARIES, STAGES, imports, modules, stage_of

PACKAGE = Path(flowsim.__file__).parent

MAX_LINES = 600

EDGES = imports(PACKAGE)
MODULES = modules(PACKAGE)


def _rel(module: str) -> str:
    return module.removeprefix("flowsim").removeprefix(".")


def _stage(module: str) -> str:
    return stage_of(module)


def _rank(stage: str) -> int:
    return STAGES[stage][0]


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
        if a != b and _rank(b) >= _rank(a):
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


def _architecture_script():
    spec = importlib.util.spec_from_file_location(
        "make_architecture", PACKAGE.parents[1] / "docs" / "make_architecture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_architecture_page_is_up_to_date():
    script = _architecture_script()
    assert script.main(["--check"]) == 0, "run python docs/make_architecture.py"
    page = script.PAGE.read_text()
    for stage in STAGES:
        if f"flowsim.{stage}" in MODULES and stage:
            assert f"`{stage}" in page, f"docs/architecture.md does not name {stage}"


def test_the_pipeline_is_drawn_from_the_import_graph(tmp_path):
    script = _architecture_script()
    graph = script.stage_graph()
    assert nx.is_directed_acyclic_graph(graph)
    assert {("scenario", "core"), ("core", "results"), ("results", "ensemble")} <= \
        set(graph.edges)
    out = script.draw(tmp_path / "architecture.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert script.OUT.exists()
