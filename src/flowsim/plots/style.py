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
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, FuncFormatter

from flowsim._version import __version__
from flowsim.results.cf import provenance_line
from flowsim.scenario.report import label, report_groups

__all__ = [
    "ABROAD_COLOUR",
    "BAND_TINTS",
    "FAN_COLOUR",
    "OTHER_STYLE",
    "PALETTE",
    "TARGET_COLOUR",
    "MonthFormatter",
    "date_axis",
    "day",
    "fan",
    "fan_handles",
    "group_styles",
    "new_figure",
    "source_line",
    "source_note",
    "step_unit",
    "thousands",
    "tidy_axes",
    "tint",
    "title",
]

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
    """The source line under a run's figure: version, scenario, replicates, seed, and where
    the parameters came from (declared values, or a posterior and its file)."""
    attrs = {"flowsim_version": __version__, **results.dataset.attrs}
    note = f"Source: {provenance_line(attrs, results.replicates)}"
    return note + (f" {extra}" if extra else "")


def source_line(fig: Figure, note: str) -> None:
    """Write ``note`` under the figure, small and grey, wrapped to its width."""
    fig.supxlabel(note, x=0.01, ha="left", fontsize=7, color="0.35", wrap=True)


def tint(colour: str, amount: float) -> str:
    """``colour`` mixed with white: ``amount`` 0 keeps it, 1 is white (an opaque tint, so
    that overlapping bands stay distinct in print and on screen)."""
    r, g, b = to_rgb(colour)
    return to_hex((r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount))


#: How far each band is tinted towards white: the 90% band is light, the 50% band halfway,
#: so that the two are told apart at a glance (and in greyscale).
BAND_TINTS = {90: 0.78, 50: 0.45}


def fan(ax: Any, x: Any, q: np.ndarray, colour: str, *, lw: float = 1.8,
        zorder: float = 2) -> None:
    """A median line with its 50% and 90% bands: ``q`` holds the 5, 25, 50, 75 and 95%
    quantiles over replicates, in that order, along ``x``."""
    ax.fill_between(x, q[0], q[4], color=tint(colour, BAND_TINTS[90]), lw=0, zorder=zorder)
    ax.fill_between(x, q[1], q[3], color=tint(colour, BAND_TINTS[50]), lw=0,
                    zorder=zorder + 0.1)
    ax.plot(x, q[2], color=colour, lw=lw, zorder=zorder + 0.2)


def fan_handles(colour: str, what: str = "median") -> list[Any]:
    """Legend entries of :func:`fan`: the median and the two bands."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    return [Line2D([], [], color=colour, lw=2, label=what),
            Patch(color=tint(colour, BAND_TINTS[50]), lw=0, label="50% of replicates"),
            Patch(color=tint(colour, BAND_TINTS[90]), lw=0, label="90% of replicates")]


def tidy_axes(ax: Any, grid: str = "y") -> None:
    """The house style of an axis: light grid behind, no top or right spine."""
    ax.grid(axis=grid, color="0.88", lw=0.8)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)


def title(ax_or_fig: Any, text: str, size: float = 12) -> None:
    """A bold title at the left (of an axis, or of a figure with panels)."""
    if isinstance(ax_or_fig, Figure):
        ax_or_fig.suptitle(text, x=0.01, ha="left", fontsize=size, fontweight="bold")
    else:
        ax_or_fig.set_title(text, loc="left", fontsize=size, fontweight="bold")


def step_unit(days: Any) -> str:
    """The unit of one step ("day", "week" or "month"), from the days of a run's steps."""
    days = np.asarray(days)
    med = float(np.median(days)) if days.size else 7.0
    return "day" if med <= 1 else "week" if med <= 8 else "month"


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
