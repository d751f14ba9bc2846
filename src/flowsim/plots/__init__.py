"""Figures, in one shared style (matplotlib, drawn without pyplot's global state).

* :mod:`flowsim.plots.style`: colours, the figure canvas, date axes, the source line;
* :mod:`flowsim.plots.run`: a run's figures (:func:`fan_chart`, :func:`destinations`);
* :mod:`flowsim.plots.comparison`: a comparison's figures;
* :mod:`flowsim.plots.calibration`: a calibration's figures.
"""

from flowsim.plots.run import destinations, fan_chart
from flowsim.plots.style import GROUP_STYLE

__all__ = ["GROUP_STYLE", "destinations", "fan_chart"]
