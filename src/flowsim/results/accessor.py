"""The ``plot`` attribute of results and comparisons: a hook that the figures fill in.

Figures are a later stage of the pipeline than results (:mod:`flowsim.plots` imports
:mod:`flowsim.results`, never the other way), so ``results.plot`` cannot import them. As
xarray's accessors do, this module holds a registry instead: :mod:`flowsim.plots`
registers a factory for each kind of object when it is imported (``import flowsim``
imports it), and :class:`PlotAccessor`, a class attribute of :class:`~flowsim.Results`,
:class:`~flowsim.StreamedResults` and :class:`~flowsim.Comparison`, looks the factory up
on each access and calls it with the object. Without a registered factory the attribute
raises :class:`PlottingNotRegistered`, which says what to import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["PlotAccessor", "PlottingNotRegistered", "register_plot_accessor"]

#: kind ("results", "comparison") -> factory called with the object, giving its accessor.
_FACTORIES: dict[str, Callable[[Any], Any]] = {}


class PlottingNotRegistered(AttributeError):
    """``obj.plot`` was used before any figures were registered for its kind of object.

    An :class:`AttributeError`, so that ``hasattr(obj, "plot")`` is ``False`` then.
    """


def register_plot_accessor(kind: str, factory: Callable[[Any], Any]) -> None:
    """Make ``obj.plot`` of every object of ``kind`` return ``factory(obj)``.

    Parameters
    ----------
    kind : str
        The kind of object: ``"results"`` (:class:`~flowsim.Results` and
        :class:`~flowsim.StreamedResults`), ``"comparison"`` (:class:`~flowsim.Comparison`)
        or ``"posterior"`` (:class:`~flowsim.calibration.Posterior`).
    factory : callable
        Called with the object on each access of its ``plot`` attribute; a later
        registration for the same kind replaces an earlier one.
    """
    _FACTORIES[kind] = factory


class PlotAccessor:
    """The descriptor behind ``obj.plot``: the registered accessor of ``kind``, bound to obj.

    Parameters
    ----------
    kind : str
        The key of the factory in the registry (see :func:`register_plot_accessor`).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:  # on the class: the descriptor itself (for help() and docs)
            return self
        factory = _FACTORIES.get(self.kind)
        if factory is None:
            raise PlottingNotRegistered(
                f"{type(obj).__name__}.plot: no figures are registered for {self.kind}; "
                "`import flowsim.plots` registers them (it needs matplotlib), or call the "
                "functions of flowsim.plots with the object directly")
        return factory(obj)

    def __repr__(self) -> str:
        return f"<flowsim plot accessor for {self.kind}>"
