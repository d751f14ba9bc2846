"""The figures registered as ``results.plot``, ``comparison.plot`` and ``posterior.plot``
(when ``flowsim.plots`` is imported), without importing matplotlib until ``.plot`` is first
used.

:mod:`flowsim.results.accessor` holds the hook; this module fills it with factories that
build :class:`flowsim.plots.accessor.ResultsPlot` and
:class:`~flowsim.plots.accessor.ComparisonPlot` around the object.
"""

from __future__ import annotations

from typing import Any

from flowsim.results.accessor import register_plot_accessor

__all__ = ["register"]


def _results_plot(obj: Any) -> Any:
    from flowsim.plots.accessor import ResultsPlot

    return ResultsPlot(obj)


def _comparison_plot(obj: Any) -> Any:
    from flowsim.plots.accessor import ComparisonPlot

    return ComparisonPlot(obj)


def _posterior_plot(obj: Any) -> Any:
    from flowsim.plots.accessor import PosteriorPlot

    return PosteriorPlot(obj)


def register() -> None:
    """Register the accessors (done once, when :mod:`flowsim.plots` is imported; call it
    again to restore them after replacing them)."""
    register_plot_accessor("results", _results_plot)
    register_plot_accessor("comparison", _comparison_plot)
    register_plot_accessor("posterior", _posterior_plot)


register()
