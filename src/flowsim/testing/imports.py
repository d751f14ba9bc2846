"""The package's import graph, read from its source with :mod:`ast` (nothing is imported).

``tests/test_architecture.py`` checks the layout against it, and ``docs/architecture.md``
draws it (``python docs/make_architecture.py``).
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

__all__ = ["Import", "imports", "modules"]


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
