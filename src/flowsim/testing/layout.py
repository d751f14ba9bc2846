"""The package's layout: its stages in pipeline order, and its import graph read from source.

:data:`STAGES` is the one statement of the layout: every folder (or top-level module) of
``flowsim`` is a stage with a rank, and a module may import only modules of its own stage or
of stages of a lower rank. :func:`imports` reads the import graph with :mod:`ast` (nothing is
imported). ``tests/test_architecture.py`` checks the package against both, and
``docs/make_architecture.py`` draws them in ``docs/architecture.md``.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

__all__ = ["ALIASES", "OUTPUT_LIBRARIES", "STAGES", "Import", "imports", "modules", "stage_of"]

#: The stages in pipeline order (rank, then what the stage is for). A module may import
#: modules of its own stage and of stages of a lower rank; stages of the same rank
#: (calibration and comparison; reports and testing) do not import each other.
STAGES: dict[str, tuple[int, str]] = {
    "_version": (0, "the version"),
    "errors": (0, "problems in the input, shared by every stage"),
    "_deprecated": (0, "aliases for names that moved"),
    "scenario": (1, "the declarative layer"),
    "core": (2, "compiled arrays and the engine"),
    "results": (3, "labelled results and their files"),
    "ensemble": (4, "many replicates, on many processes"),
    "calibration": (5, "parameters fitted to published figures"),
    "comparison": (5, "paired policy comparisons"),
    "plots": (6, "figures"),
    "reports": (7, "output directories"),
    "testing": (7, "toys, strategies, the layout"),
    "": (8, "the public API"),
    "cli": (9, "the command line"),
    "__main__": (10, "python -m flowsim"),
}

#: Modules kept for one release where names used to be: aliases that warn and hold no code.
ALIASES = frozenset({
    "compile", "engine", "sampling", "sketch", "simulate", "streaming", "output",
    "plots_compare", "plots_calibration", "calibration.abc", "calibration.report",
})

#: Third-party libraries of output (files, figures, tables, terminals) that the scenario
#: layer and the core never import: they hand plain values to the stages that write and draw.
OUTPUT_LIBRARIES = frozenset({"matplotlib", "netCDF4", "xarray", "typer", "rich", "pandas"})


def stage_of(module: str) -> str:
    """The stage of a dotted module name: ``flowsim.core.engine`` -> ``core``."""
    return module.removeprefix("flowsim").removeprefix(".").split(".")[0]


@dataclasses.dataclass(frozen=True)
class Import:
    """One import statement's edge: ``source`` imports ``target`` (at ``line``).

    ``deferred`` is true for an import inside a function (made when the function runs).
    """

    source: str
    target: str
    line: int
    deferred: bool


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules(package: Path) -> dict[str, Path]:
    """Every module of the package in the folder ``package``, by dotted name."""
    return {_module_name(package, p): p for p in sorted(package.rglob("*.py"))}


def imports(package: Path) -> list[Import]:
    """Every import of one of the package's own modules by another, in file order.

    ``from a.b import c`` is an import of the module ``a.b.c`` when there is one, else of
    ``a.b``; relative imports are resolved.
    """
    mods = modules(package)
    out: list[Import] = []
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        deferred_lines = {n.lineno for f in ast.walk(tree)
                          if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
                          for n in ast.walk(f) if isinstance(n, ast.Import | ast.ImportFrom)}
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    here = name.split(".") if is_package else name.split(".")[:-1]
                    here = here[: len(here) - (node.level - 1)]
                    base = ".".join([*here, *([node.module] if node.module else [])])
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in mods else base)
            for t in dict.fromkeys(targets):
                while t and t not in mods:  # import a.b.c of a package a.b: its module
                    t = t.rpartition(".")[0]
                if t and t != name:
                    out.append(Import(name, t, node.lineno, node.lineno in deferred_lines))
    return out
