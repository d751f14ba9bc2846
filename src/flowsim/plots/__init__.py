"""Figures, in one shared style (matplotlib, drawn without pyplot's global state).

* :mod:`flowsim.plots.style`: colours, the figure canvas, date axes, the source line;
* :mod:`flowsim.plots.run`: a run's figures (:func:`fan_chart`, :func:`destinations`);
* :mod:`flowsim.plots.stocks`, :mod:`~flowsim.plots.flows`, :mod:`~flowsim.plots.network`:
  where people are over time, along routes, and the route graph;
* :mod:`flowsim.plots.comparison`, :mod:`~flowsim.plots.effects`: a comparison's figures;
* :mod:`flowsim.plots.calibration`: a calibration's figures;
* :mod:`flowsim.plots.accessor`: the same figures as ``results.plot.…`` and
  ``comparison.plot.…``, registered on import (:mod:`flowsim.plots.registration`).

Importing the package registers the accessors but loads matplotlib only when a figure
module is used, so that ``import flowsim`` (which imports this package) stays quick.
"""

import importlib

from flowsim.plots import registration as _registration  # noqa: F401 - registers .plot

__all__ = ["destinations", "fan_chart", "group_styles"]

#: The package's own names, from the modules that define them (loaded on first use).
_LAZY = {"destinations": "flowsim.plots.run", "fan_chart": "flowsim.plots.run",
         "group_styles": "flowsim.plots.style"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name == "GROUP_STYLE":
        raise AttributeError(
            "flowsim.plots.GROUP_STYLE was removed: groups and their colours come from the "
            "scenario's report (flowsim.plots.group_styles(scenario))")
    raise AttributeError(f"module 'flowsim.plots' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
