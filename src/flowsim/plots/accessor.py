"""``results.plot`` and ``comparison.plot``: the figure functions with the object bound.

Each method of :class:`ResultsPlot` and :class:`ComparisonPlot` is a figure function of
:mod:`flowsim.plots` with its first argument filled in: ``results.plot.stocks(places=...)``
is ``stocks_over_time(results, places=...)``, with the function's own signature (less that
argument) and docstring. The accessors are registered with
:mod:`flowsim.results.accessor` by :mod:`flowsim.plots.registration`, which imports this
module (and matplotlib) only when ``.plot`` is first used.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Any, ClassVar

from matplotlib.figure import Figure

from flowsim.plots.calibration import posterior_marginals, posterior_pairs
from flowsim.plots.comparison import paired_differences, where_people_ended
from flowsim.plots.effects import effects_by_cohort, effects_by_place, effects_over_time
from flowsim.plots.flows import route_flows
from flowsim.plots.network import route_graph
from flowsim.plots.run import destinations, fan_chart
from flowsim.plots.stocks import flows_per_step, stocks_over_time, where_at_dates

__all__ = ["ComparisonPlot", "PosteriorPlot", "ResultsPlot"]

#: numpydoc sections that come after "See Also".
_LATER_SECTIONS = ("Notes", "References", "Examples")


def _section_at(lines: list[str], i: int) -> bool:
    """Whether a numpydoc section header (a word, then a line of dashes) starts at ``i``."""
    return (i + 1 < len(lines) and bool(lines[i].strip())
            and re.fullmatch(r"-{3,}", lines[i + 1].strip()) is not None)


def _bound_doc(func: Callable[..., Any], first: str) -> str:
    """``func``'s numpydoc docstring without its first parameter, and a "See Also" entry
    naming ``func`` itself."""
    lines = inspect.cleandoc(func.__doc__ or "").splitlines()
    if "Parameters" in lines and _section_at(lines, lines.index("Parameters")):
        head = lines.index("Parameters")
        start = head + 2
        if start < len(lines) and lines[start].split(":")[0].strip() == first:
            end = start + 1
            while end < len(lines) and lines[end].startswith(" "):
                end += 1
            del lines[start:end]
        if start >= len(lines) or not lines[start].strip() or _section_at(lines, start):
            del lines[head:start]  # no parameter left: no section
            while head < len(lines) and head > 0 and not lines[head].strip() \
                    and not lines[head - 1].strip():
                del lines[head]
    where = next((i for i, line in enumerate(lines)
                  if line in _LATER_SECTIONS and _section_at(lines, i)), len(lines))
    while where > 0 and not lines[where - 1].strip():
        where -= 1
    entry = f"{func.__module__}.{func.__name__} : The same figure, {first} given first."
    later = ["", *lines[where:]] if where < len(lines) else []
    return "\n".join([*lines[:where], "", "See Also", "--------", entry, *later])


def _bind(func: Callable[..., Figure]) -> Callable[..., Figure]:
    """A method that calls ``func`` with the accessor's object as its first argument."""
    sig = inspect.signature(func)
    first, *rest = sig.parameters.values()

    @functools.wraps(func)
    def method(self: _Figures, /, *args: Any, **kwargs: Any) -> Figure:
        return func(self._obj, *args, **kwargs)

    del method.__wrapped__  # help() and inspect show the signature below, not func's
    this = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    method.__signature__ = sig.replace(parameters=[this, *rest])  # type: ignore[attr-defined]
    method.__doc__ = _bound_doc(func, first.name)
    method.figure = func  # type: ignore[attr-defined]
    return method


class _Figures:
    """What both accessors share: the object, the list of figures, ``repr`` and ``dir``."""

    #: method name -> the figure function it binds (filled for each subclass).
    figures: ClassVar[dict[str, Callable[..., Figure]]] = {}
    _what: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.figures = {}
        for name, value in vars(cls).items():
            if callable(value) and hasattr(value, "figure"):
                cls.figures[name] = value.figure
                # named as the method it is (help() shows "stocks", not the function's name)
                value.__name__, value.__qualname__ = name, f"{cls.__name__}.{name}"
                value.__module__ = cls.__module__

    def __init__(self, obj: Any) -> None:
        self._obj = obj

    def __dir__(self) -> list[str]:
        return sorted(self.figures)

    def __repr__(self) -> str:
        width = max(map(len, self.figures)) + 3
        rows = [f"  .{name + '()':<{width}} {_summary(func)}"
                for name, func in self.figures.items()]
        return (f"Figures of {self._what}, {self._obj!r}\n(each method returns a matplotlib "
                "Figure; help(.plot.NAME) gives its arguments):\n" + "\n".join(rows))


def _summary(func: Callable[..., Any]) -> str:
    return inspect.cleandoc(func.__doc__ or "").split("\n", 1)[0]


class ResultsPlot(_Figures):
    """The figures of a run, as ``results.plot.NAME(...)``: each a figure function of
    :mod:`flowsim.plots` with the results given first (:class:`~flowsim.Results` or
    :class:`~flowsim.StreamedResults`).

    Parameters
    ----------
    obj : Results or StreamedResults
        The run the figures draw.
    """

    _what = "the run"
    stocks = _bind(stocks_over_time)
    flows = _bind(flows_per_step)
    where = _bind(where_at_dates)
    departures = _bind(fan_chart)
    destinations = _bind(destinations)
    routes = _bind(route_flows)
    network = _bind(route_graph)


class ComparisonPlot(_Figures):
    """The figures of a comparison, as ``comparison.plot.NAME(...)``: each a figure
    function of :mod:`flowsim.plots` with the comparison given first.

    Parameters
    ----------
    obj : Comparison
        The comparison the figures draw.
    """

    _what = "the comparison"
    effects = _bind(effects_over_time)
    by_place = _bind(effects_by_place)
    by_cohort = _bind(effects_by_cohort)
    differences = _bind(paired_differences)
    where_people_ended = _bind(where_people_ended)


class PosteriorPlot(_Figures):
    """The figures of a calibration's posterior, as ``posterior.plot.NAME(scenario, ...)``:
    each a figure function of :mod:`flowsim.plots.calibration` with the posterior given
    first (the scenario gives the priors and the declared values).

    Parameters
    ----------
    obj : Posterior
        The posterior the figures draw.
    """

    _what = "the posterior"
    marginals = _bind(posterior_marginals)
    pairs = _bind(posterior_pairs)
