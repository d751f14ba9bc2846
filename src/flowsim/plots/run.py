"""Figures of a run, for papers: each function takes :class:`~flowsim.Results`, returns a Figure.

The figures are plain :class:`matplotlib.figure.Figure` objects on an Agg canvas: nothing
here touches ``matplotlib.pyplot``, so drawing leaves no global state behind and works
without a display. Save one with ``fig.savefig("name.png", dpi=200)`` (or ``.pdf``/``.svg``).

* :func:`fan_chart`: cumulative first departures over time, median with 50% and 90% bands of
  the replicates, and the scenario's published figures (targets) on departures drawn where
  they apply.
* :func:`destinations`: where people are at a date, top destinations by stock, median with a
  90% interval, coloured by the scenario's country groups.

Intervals are quantiles over replicates: with parameters fixed, they show stochastic
variation only; with parameters drawn from a posterior, they show both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from flowsim.plots.style import (
    ABROAD_COLOUR,
    FAN_COLOUR,
    OTHER_STYLE,
    TARGET_COLOUR,
    date_axis,
    day,
    fan,
    fan_handles,
    group_styles,
    new_figure,
    source_note,
    thousands,
)

__all__ = ["destinations", "fan_chart"]


def _cohort_names(cohorts: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if cohorts is None:
        return None
    return (cohorts,) if isinstance(cohorts, str) else tuple(cohorts)


def _cohort_label(results: Any, cohorts: tuple[str, ...] | None) -> str:
    if cohorts is None or set(cohorts) == {str(c) for c in results.dataset["cohort"].values}:
        return ""
    return f" ({', '.join(cohorts)})"


def _origin_name(results: Any) -> str:
    ds = results.dataset
    origin = ds.attrs.get("origin", "")
    if "country_name" in ds.coords and origin in ds["country"].values:
        return str(ds["country_name"].sel(country=origin).values)
    return origin or "the origin"


def _step_holding(ds: Any, at: dt.date | str) -> int:
    """Index of the step whose days hold the date ``at``."""
    d = np.datetime64(at if isinstance(at, dt.date) else dt.date.fromisoformat(str(at)), "D")
    starts = ds["step_start"].values.astype("datetime64[D]")
    ends = ds["time"].values.astype("datetime64[D]")
    if d < starts[0] or d > ends[-1]:
        raise ValueError(f"{d} is outside the simulated period ({starts[0]} to {ends[-1]})")
    return int(np.searchsorted(ends, d, side="left"))


def _sum_cohorts(da: Any, cohorts: tuple[str, ...] | None) -> Any:
    if cohorts is not None:
        da = da.sel(cohort=list(cohorts))
    return da.sum("cohort")


# --------------------------------------------------------------------------------------------
# fan chart of cumulative departures
# --------------------------------------------------------------------------------------------


#: What the fan chart counts, by the observable of the figures drawn on it: the recorded
#: variable, and the series a streamed run keeps of its cumulative sum.
_FAN: dict[str, tuple[str, str]] = {
    "departures": ("departures", "cumulative_departures"),
    "emigrants": ("first_departures", "cumulative_emigrants"),
}


def fan_chart(results: Any, targets: Sequence[Any] | None = None,
              cohorts: str | Sequence[str] | None = None, *, abroad: bool = True,
              shocks: bool = True, figsize: tuple[float, float] = (8.0, 5.0)) -> Figure:
    """Cumulative departures over time: a fan chart with the published figures.

    Where the run recorded ``first_departures`` (a scenario that keeps returnees apart,
    ``track_returnees``; a streamed run then keeps ``cumulative_emigrants``), the fan counts
    people (first departures) and the figures drawn on it are those on ``emigrants``;
    otherwise it counts crossings (``departures``), with the figures on ``departures``.

    Parameters
    ----------
    results : Results
    targets : sequence of Target, optional
        Published figures to draw (default: the scenario's targets). Drawn are those on
        the fan's observable for the same cohorts as the chart (at the end of their period) and,
        when ``abroad`` is on, those on ``abroad`` (at their date). An ``interval`` is a
        vertical bar, ``about`` a point with its tolerance, ``at_least``/``at_most`` a bar
        with an arrow; each is labelled with the target's id. A period that starts after
        the simulation does is placed on the cumulative scale by adding the median
        departures before its start.
    cohorts : str or sequence of str, optional
        Cohorts to count (default: all).
    abroad : bool
        Also draw the median number abroad (departed and not returned), when ``stock`` was
        recorded.
    shocks : bool
        Mark the dates of the scenario's shocks.
    figsize : (float, float)
        Size in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    ds = results.dataset
    cohorts = _cohort_names(cohorts)
    streamed = _streamed(results, cohorts)
    people = ("cumulative_emigrants_quantile" in ds if streamed
              else "first_departures" in ds)
    fan_observable = "emigrants" if people else "departures"
    variable, series = _FAN[fan_observable]
    levels = [0.05, 0.25, 0.5, 0.75, 0.95]
    if streamed:
        q = results.quantiles(series, levels).values
    else:
        cum = _sum_cohorts(ds[variable], cohorts).cumsum("time")
        q = cum.quantile(levels, dim="replicate").transpose("quantile", "time").values
    first = ds["step_start"].values[0]
    x = np.concatenate([[first], ds["time"].values]).astype("datetime64[D]")
    q = np.concatenate([np.zeros((len(levels), 1)), q], axis=1)

    fig = new_figure(figsize)
    ax = fig.add_subplot()
    fan(ax, x, q, FAN_COLOUR, lw=2, zorder=1)
    handles: list[Any] = fan_handles(
        FAN_COLOUR, "left for the first time (median)" if people else "departed (median)")

    show_abroad = abroad and ("stock" in ds or streamed)
    if show_abroad:
        if streamed:
            out_med = results.quantiles("abroad", [0.5]).values[0]
        else:
            origin = ds.attrs["origin"]
            out = _sum_cohorts(ds["stock"].drop_sel(country=origin).sum("country"), cohorts)
            out_med = out.median("replicate").values
        med = np.concatenate([[0.0], out_med])
        ax.plot(x, med, color=ABROAD_COLOUR, lw=1.4, ls="--", zorder=3)
        handles.append(Line2D([], [], color=ABROAD_COLOUR, lw=1.4, ls="--",
                              label="abroad, not returned (median)"))

    if shocks and results.scenario is not None:
        _mark_shocks(ax, results, x[0], x[-1])

    if targets is None:
        targets = results.scenario.targets if results.scenario is not None else ()
    drawn, shifted = _draw_targets(ax, results, targets, cohorts, show_abroad, x[0], x[-1],
                                   fan_observable)
    for observable, colour in ((fan_observable, TARGET_COLOUR), ("abroad", ABROAD_COLOUR)):
        if drawn.get(observable):
            handles.append(Line2D([], [], color=colour, marker="o", ms=4, lw=1.2,
                                  label=f"published figure on {observable}"))

    ax.set_ylim(0, ax.get_ylim()[1] * 1.05)
    pad = (x[-1] - x[0]) * 0.03
    ax.set_xlim(x[0], x[-1] + pad)
    ax.yaxis.set_major_formatter(thousands)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=7, steps=[1, 2, 2.5, 5, 10]))
    date_axis(ax.xaxis, x[0], x[-1])
    ax.set_ylabel("people who have left (cumulative)")
    ax.grid(axis="y", color="0.88", lw=0.8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_axisbelow(True)
    ax.legend(handles=handles, loc="lower right", frameon=True, framealpha=0.9,
              edgecolor="none", fontsize=8.5)
    ax.set_title(f"Cumulative {fan_observable} from "
                 f"{_origin_name(results)}"
                 f"{_cohort_label(results, cohorts)}", loc="left", fontsize=12,
                 fontweight="bold")
    extra = ("Targets on periods that start later are shifted by the median departures "
             "before their start." if shifted else "")
    fig.supxlabel(source_note(results, extra), x=0.01, ha="left", fontsize=7, color="0.35",
                  wrap=True)
    return fig


def _mark_shocks(ax: Any, results: Any, lo: np.datetime64, hi: np.datetime64) -> None:
    by_date: dict[dt.date, list[str]] = {}
    for sh in results.scenario.shocks:
        by_date.setdefault(sh.date, []).append(sh.name)
    for date, names in sorted(by_date.items()):
        d = np.datetime64(date, "D")
        if not lo <= d <= hi:
            continue
        ax.axvline(d, color="0.55", lw=0.8, ls=":", zorder=0)
        ax.annotate(", ".join(names), xy=(d, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(3, -3), textcoords="offset points", ha="left", va="top",
                    fontsize=7.5, color="0.4", rotation=90)


def _streamed(results: Any, cohorts: tuple[str, ...] | None) -> bool:
    """Whether ``results`` are streamed (quantiles kept, not replicates); those keep their
    bands for all cohorts together."""
    from flowsim.results.streamed import StreamedResults

    if not isinstance(results, StreamedResults):
        return False
    if cohorts:
        raise ValueError("a streamed run keeps its quantiles for all cohorts together; "
                         "draw it without cohorts")
    return True


def _median_departures_by(results: Any, day: dt.date, cohorts: tuple[str, ...] | None,
                          observable: str = "departures") -> float:
    """Median cumulative departures (``emigrants``: first departures) by the end of ``day``.

    Streamed results keep the median at the end of each step only: in between, it is
    interpolated by days, as one replicate's departures are counted pro rata.
    """
    if not _streamed(results, cohorts):  # Results.departures or Results.emigrants
        count = getattr(results, observable)
        return float(count(None, day, list(cohorts) if cohorts else None)
                     .median("replicate"))
    ds = results.dataset
    ends = ds["time"].values.astype("datetime64[D]").astype(np.int64)
    start = ds["step_start"].values[0].astype("datetime64[D]").astype(np.int64) - 1
    med = results.quantiles(_FAN[observable][1], [0.5]).values[0]
    d = np.datetime64(day, "D").astype(np.int64)
    return float(np.interp(d, np.concatenate([[start], ends]), np.concatenate([[0.0], med])))


def _draw_targets(ax: Any, results: Any, targets: Sequence[Any],
                  cohorts: tuple[str, ...] | None, show_abroad: bool,
                  lo: np.datetime64, hi: np.datetime64, fan_observable: str = "departures"
                  ) -> tuple[dict[str, int], bool]:
    """Draw the targets that belong on the chart; return (how many per observable, whether
    any was shifted)."""
    want = None if cohorts is None else set(cohorts)
    all_cohorts = {str(c) for c in results.dataset["cohort"].values}
    drawn: dict[str, int] = {}
    shifted = False
    for t in targets:
        tc = None if t.cohorts is None else set(t.cohorts)
        if (tc or all_cohorts) != (want or all_cohorts) or t.where:
            continue
        if getattr(t, "kind", "") == "series" or getattr(t, "windows", None) is not None \
                or getattr(t, "since", None) is not None:
            continue  # a series, a sum over windows or a change: not one point on this chart
        if t.observable == fan_observable:
            when = np.datetime64(t.end, "D")
            if not lo <= when <= hi:
                continue
            offset = 0.0
            if np.datetime64(t.start, "D") > lo:  # counted from its start: shift it up
                before = t.start - dt.timedelta(days=1)
                offset = _median_departures_by(results, before, cohorts, fan_observable)
                shifted = shifted or offset > 0
        elif t.observable == "abroad" and show_abroad:
            when = np.datetime64(t.at, "D")
            if not lo <= when <= hi:
                continue
            offset = 0.0
        else:
            continue
        near_end = (when - lo) > 0.85 * (hi - lo)
        colour = TARGET_COLOUR if t.observable == fan_observable else ABROAD_COLOUR
        _draw_target(ax, t, when, offset, colour, label_left=bool(near_end))
        drawn[t.observable] = drawn.get(t.observable, 0) + 1
    return drawn, shifted


def _draw_target(ax: Any, t: Any, x: np.datetime64, offset: float, colour: str,
                 label_left: bool = False) -> None:
    style = {"color": colour, "lw": 1.4, "capsize": 4, "capthick": 1.4, "zorder": 5}
    label_y: float
    below = False  # the label goes on the side away from the arrow
    if t.kind in ("interval", "about"):
        low, high = t.bounds
        low, high = low + offset, high + offset
        mid = (t.value + offset) if t.value is not None else None
        centre = mid if mid is not None else (low + high) / 2
        ax.errorbar([x], [centre], yerr=[[centre - low], [high - centre]], fmt="none",
                    **style)
        if mid is not None:
            ax.plot([x], [mid], "o", color=colour, ms=4.5, zorder=6)
        label_y = high
    else:
        v = t.value + offset
        up = t.kind == "at_least"
        ax.plot([x], [v], marker="_", ms=12, mew=1.8, color=colour, zorder=6)
        ax.annotate("", xy=(x, v), xytext=(0, 22 if up else -22), textcoords="offset points",
                    arrowprops={"arrowstyle": "<|-", "color": colour, "lw": 1.4,
                                "shrinkA": 0, "shrinkB": 0, "mutation_scale": 10}, zorder=6)
        label_y, below = v, up
    ax.annotate(t.id, xy=(x, label_y), xytext=(-5 if label_left else 5, -3 if below else 2),
                textcoords="offset points", fontsize=7.5, color=colour,
                ha="right" if label_left else "left", va="top" if below else "bottom",
                zorder=7,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75})


# --------------------------------------------------------------------------------------------
# destinations
# --------------------------------------------------------------------------------------------


def _group_of(results: Any) -> dict[str, str]:
    """Each country's display group: the first of the report's groups that holds it."""
    groups = results.scenario.group_members() if results.scenario is not None else {}
    styles = group_styles(results.scenario)
    out: dict[str, str] = {}
    for c in (str(c) for c in results.dataset["country"].values):
        out[c] = next((g for g in styles if c in groups.get(g, ())), "other")
    return out


def _streamed_share(results: Any, group: str) -> float | None:
    """The median share abroad in a group at the end of a streamed run, if it was kept."""
    ds = results.dataset
    rows = np.flatnonzero(ds["quantity"].values == f"share abroad in {group}")
    if not rows.size:
        return None
    return float(results.quantiles("headline", [0.5]).values[0, rows[0]])


def destinations(results: Any, at: dt.date | str | None = None, top: int = 12,
                 cohorts: str | Sequence[str] | None = None, *,
                 figsize: tuple[float, float] | None = None) -> Figure:
    """Where people are at a date: the top destinations by stock, median and 90% interval.

    Parameters
    ----------
    results : Results
    at : date or str, optional
        The date (default: the end of the run); the stock at the end of the step holding it.
    top : int
        How many countries to show, largest median first.
    cohorts : str or sequence of str, optional
        Cohorts to count (default: all).
    figsize : (float, float), optional
        Size in inches (default: grows with ``top``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    cohorts = _cohort_names(cohorts)
    streamed = _streamed(results, cohorts)
    if "stock" not in results.dataset and not streamed:
        raise KeyError("the variable 'stock' was not recorded in this run; run again with it "
                       "in `record=`")
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    ds = results.dataset
    step = ds.sizes["time"] - 1 if at is None else _step_holding(ds, at)
    when = day(ds["time"].values[step])
    origin = ds.attrs["origin"]
    if streamed:
        q = results.quantiles("stock", [0.05, 0.5, 0.95]).isel(time=step).drop_sel(
            country=origin).transpose("quantile", "country")
    else:
        stock = _sum_cohorts(ds["stock"].isel(time=step).drop_sel(country=origin), cohorts)
        q = stock.quantile([0.05, 0.5, 0.95], dim="replicate").transpose("quantile",
                                                                           "country")
    med = q.values[1]
    order = np.argsort(-med, kind="stable")[:top]
    ids = [str(c) for c in q["country"].values]
    names = ([str(n) for n in q["country_name"].values] if "country_name" in q.coords
             else ids)
    group = _group_of(results)
    styles = group_styles(results.scenario)

    n = len(order)
    fig = new_figure(figsize or (7.5, 1.6 + 0.32 * n))
    ax = fig.add_subplot()
    y = np.arange(n)[::-1]
    lo, mid, hi = q.values[0][order], med[order], q.values[2][order]
    colours = [styles.get(group[ids[i]], OTHER_STYLE)[1] for i in order]
    ax.barh(y, mid, color=colours, height=0.7, zorder=2)
    ax.errorbar(mid, y, xerr=[mid - lo, hi - mid], fmt="none", ecolor="0.15", elinewidth=1,
                capsize=2.5, zorder=3)
    span = float(hi.max()) if n else 1.0
    for yi, m, h in zip(y, mid, hi, strict=True):
        ax.text(h + 0.01 * span, yi, f"{m:,.0f}", va="center", ha="left", fontsize=8,
                color="0.2")
    ax.set_yticks(y, [f"{names[i]} ({ids[i]})" for i in order], fontsize=9)
    ax.set_xlim(0, span * 1.13 if span > 0 else 1)
    ax.xaxis.set_major_formatter(thousands)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    ax.set_xlabel("people in the country (median; whiskers: 90% of replicates)")
    ax.grid(axis="x", color="0.88", lw=0.8)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)

    handles = []
    for g in [*styles, "other"]:
        members = [c for c in ids if group[c] == g]
        if not members or not any(group[ids[i]] == g for i in order) and g == "other":
            continue
        label, colour = styles.get(g, OTHER_STYLE)
        if streamed:  # group shares are kept at the end of the run only
            share = _streamed_share(results, g) if step == ds.sizes["time"] - 1 else None
        else:
            total = stock.sum("country")
            share = stock.sel(country=members).sum("country") / total.where(total > 0)
            share = float(share.fillna(0.0).median("replicate"))
        handles.append(Patch(color=colour, label=label if share is None else
                             f"{label}: {share:.0%} of those abroad"))
    if any(group[ids[i]] != "other" for i in order):
        ax.legend(handles=handles, loc="lower right", frameon=False, fontsize=8,
                  title="group (median share)", title_fontsize=8)
    ax.set_title(f"Where emigrants from {_origin_name(results)} are on {when:%-d %B %Y}"
                 f"{_cohort_label(results, cohorts)}", loc="left", fontsize=12,
                 fontweight="bold")
    others = len(ids) - n
    if streamed:
        extra = f"Not shown: {others} other countries." if others else ""
    else:
        total = stock.sum("country")
        rest = float((total - stock.isel(country=order).sum("country")).median("replicate"))
        extra = (f"Not shown: {others} other countries, {rest:,.0f} people (median)."
                 if others else "")
    fig.supxlabel(source_note(results, extra), x=0.01, ha="left", fontsize=7, color="0.35",
                  wrap=True)
    return fig
