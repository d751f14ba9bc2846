"""The one style of flowsim's figures: colours, the canvas, date axes, the source line.

Figures are plain :class:`matplotlib.figure.Figure` objects on an Agg canvas: nothing in
:mod:`flowsim.plots` touches ``matplotlib.pyplot`` or its global state, so drawing is safe
in worker threads and in notebooks alike. Colours are from the Okabe–Ito palette, safe for
colour-blind readers and in greyscale print.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import matplotlib.dates as mdates
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, FuncFormatter

from flowsim._version import __version__
from flowsim.scenario.report import label, report_groups

__all__ = ["ABROAD_COLOUR", "FAN_COLOUR", "OTHER_STYLE", "PALETTE", "TARGET_COLOUR",
           "MonthFormatter", "date_axis", "day", "group_styles", "new_figure", "source_note",
           "thousands"]

#: The colours of groups and blocs, in the order the scenario's report names them (the
#: Okabe–Ito palette: safe for colour-blind readers and in greyscale print).
PALETTE: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9",
                            "#F0E442")
OTHER_STYLE = ("other", "#9A9A9A")
FAN_COLOUR = "#1F4E79"
ABROAD_COLOUR = "#6A3D9A"
TARGET_COLOUR = "#B2182B"

#: Axis labels in whole numbers with thousands separators.
thousands = FuncFormatter(lambda y, _: f"{y:,.0f}")


def new_figure(size: tuple[float, float]) -> Figure:
    """A figure of ``size`` inches, laid out by matplotlib's constrained layout, on Agg."""
    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def day(x: Any) -> dt.date:
    """A date of any kind numpy reads, as a :class:`datetime.date`."""
    return np.datetime64(x, "D").astype(object)


def source_note(results: Any, extra: str = "") -> str:
    """The source line under a run's figure: version, scenario, replicates, seed."""
    a = results.dataset.attrs
    seed = a.get("seed_entropy", "?")
    note = (f"Source: flowsim {a.get('flowsim_version', __version__)} simulation of scenario "
            f"'{a.get('scenario_name', '?')}' ({a.get('scenario_hash', '?')}); "
            f"{results.replicates:,} replicates, seed {seed}.")
    return note + (f" {extra}" if extra else "")


class MonthFormatter(Formatter):
    """Month names, with the year under the first visible tick and under each January."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{mdates.num2date(x):%b}"

    def format_ticks(self, values: Any) -> list[str]:
        lo, hi = sorted(self.axis.get_view_interval()) if self.axis else (-np.inf, np.inf)
        out, first = [], True
        for v in values:
            d = mdates.num2date(v)
            visible = lo <= v <= hi
            out.append(f"{d:%b}\n{d:%Y}" if visible and (first or d.month == 1) else f"{d:%b}")
            first = first and not visible
        return out


def date_axis(axis: Any, lo: np.datetime64, hi: np.datetime64) -> None:
    """Month ticks (every 1, 2, 3, 6 or 12 months by span), or automatic for short spans."""
    months = (hi - lo).astype(int) / 30.4
    if months < 3:
        locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
        axis.set_major_locator(locator)
        axis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        return
    step = next(k for limit, k in ((8, 1), (16, 2), (36, 3), (72, 6), (np.inf, 12))
                if months <= limit)
    axis.set_major_locator(mdates.MonthLocator(bymonth=range(1, 13, step)))
    axis.set_major_formatter(MonthFormatter())


def group_styles(scenario: Any) -> dict[str, tuple[str, str]]:
    """The report's groups (:func:`flowsim.scenario.report.report_groups`) with their names
    in words and colours, in order: ``{group: (label, colour)}``. Groups past the palette's
    length share the colour of "other"."""
    if scenario is None:
        return {}
    return {g: (label(scenario, g), PALETTE[i] if i < len(PALETTE) else OTHER_STYLE[1])
            for i, g in enumerate(report_groups(scenario))}
