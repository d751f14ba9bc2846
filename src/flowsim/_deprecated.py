"""Aliases for modules that moved when the package was laid out by stage (flowsim 0.2).

An old module keeps no code: its names are looked up in their new modules on first use, with
a :class:`DeprecationWarning` that says where to import them from. The aliases go in the next
release.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any


def moved(old: str, *new: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for the alias module ``old`` of the modules ``new``.

    Parameters
    ----------
    old : str
        The alias module's name (its ``__name__``).
    *new : str
        The modules its names now live in, searched in order.

    Returns
    -------
    (callable, callable)
        Assign them to the alias module's ``__getattr__`` and ``__dir__``.
    """

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        found = [(m, getattr(importlib.import_module(m), name)) for m in new
                 if hasattr(importlib.import_module(m), name)]
        if not found:
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        # the module that defines it, rather than one that imports it
        module, value = next(((m, v) for m, v in found if getattr(v, "__module__", m) == m),
                             found[0])
        warnings.warn(f"{old}.{name} moved to {module}.{name}; import it from there (the "
                      f"alias {old}.{name} goes in the next release)", DeprecationWarning,
                      stacklevel=2)
        return value

    def __dir__() -> list[str]:
        names: set[str] = set()
        for module in new:
            names.update(n for n in dir(importlib.import_module(module))
                         if not n.startswith("_"))
        return sorted(names)

    return __getattr__, __dir__
