"""Figures, in one shared style (matplotlib, drawn without pyplot's global state).

* :mod:`flowsim.plots.style`: colours, the figure canvas, date axes, the source line;
* :mod:`flowsim.plots.run`: a run's figures (:func:`fan_chart`, :func:`destinations`);
* :mod:`flowsim.plots.comparison`: a comparison's figures;
* :mod:`flowsim.plots.calibration`: a calibration's figures.
"""

from flowsim.plots.run import destinations, fan_chart
from flowsim.plots.style import group_styles

__all__ = ["destinations", "fan_chart", "group_styles"]


def __getattr__(name: str) -> object:
    if name == "GROUP_STYLE":
        raise AttributeError(
            "flowsim.plots.GROUP_STYLE was removed: groups and their colours come from the "
            "scenario's report (flowsim.plots.group_styles(scenario))")
    raise AttributeError(f"module 'flowsim.plots' has no attribute {name!r}")
