"""Figures of where people are over time: stocks by place, flows per step, snapshots at dates.

Each function takes :class:`~flowsim.Results` and returns a Figure (Agg canvas, no pyplot):

* :func:`stocks_over_time`: the people in each country or group over time, one panel per
  place, median with 50% and 90% bands of the replicates, and the scenario's published
  figures on those places;
* :func:`flows_per_step`: departures from the origin, entries into countries abroad and
  returns home during each step;
* :func:`where_at_dates`: small multiples of where people are at chosen dates, the same
  countries in the same order in every panel, on one shared scale.

Every figure works for any scenario: places, groups, labels and colours come from the
scenario's own ``report:`` and groups (:func:`flowsim.plots.style.group_styles`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from flowsim.plots.run import (
    _cohort_label,
    _cohort_names,
    _draw_target,
    _group_of,
    _origin_name,
    _step_holding,
    _streamed,
    _sum_cohorts,
)
from flowsim.plots.style import (
    ABROAD_COLOUR,
    OTHER_STYLE,
    PALETTE,
    TARGET_COLOUR,
    date_axis,
    day,
    fan,
    fan_handles,
    group_styles,
    new_figure,
    source_line,
    source_note,
    step_unit,
    thousands,
    tidy_axes,
    title,
)
from flowsim.scenario.report import label as label_of
from flowsim.scenario.report import report_dates

__all__ = ["ABROAD", "default_places", "flows_per_step", "stocks_over_time", "where_at_dates"]

#: The place name that means every country but the origin.
ABROAD = "abroad"
LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Panels of :func:`stocks_over_time` by default at most (abroad, then the report's groups).
DEFAULT_PLACES = 6


def _quantiles(da: Any) -> np.ndarray:
    """The :data:`LEVELS` quantiles over replicates of a ``(replicate, time)`` array."""
    return np.asarray(da.quantile(list(LEVELS), dim="replicate").transpose("quantile", "time")
                      .values, dtype=float)


def _members(results: Any, place: str) -> list[str]:
    origin = results.dataset.attrs["origin"]
    if place == ABROAD:
        return [c for c in results.countries_in(None) if c != origin]
    return results.countries_in(place)


def _place_label(results: Any, place: str) -> str:
    if place == ABROAD:
        return "abroad (every country but the origin)"
    ds = results.dataset
    if "country_name" in ds.coords and place in ds["country"].values:
        return f"{ds['country_name'].sel(country=place).item()} ({place})"
    return label_of(results.scenario, place) if results.scenario is not None else place


def default_places(results: Any, most: int = DEFAULT_PLACES) -> list[str]:
    """Abroad, then the report's groups that hold a country; without groups, the countries
    of largest median stock at the end."""
    ds = results.dataset
    places = [ABROAD]
    groups = results.scenario.group_members() if results.scenario is not None else {}
    places += [g for g in group_styles(results.scenario) if groups.get(g)]
    if len(places) == 1 and "stock" in ds:
        origin = ds.attrs["origin"]
        end = ds["stock"].isel(time=-1).sum("cohort").drop_sel(country=origin)
        med = end.median("replicate")
        order = np.argsort(-med.values, kind="stable")
        places += [str(med["country"].values[i]) for i in order[:most - 1]]
    return places[:most]


def _place_colours(results: Any, places: Sequence[str]) -> dict[str, str]:
    styles = group_styles(results.scenario)
    group = _group_of(results)
    out: dict[str, str] = {}
    spare = iter(PALETTE[len(styles):] + PALETTE[:len(styles)])
    for p in places:
        if p == ABROAD:
            out[p] = ABROAD_COLOUR
        elif p in styles:
            out[p] = styles[p][1]
        elif p in group and group[p] in styles:
            out[p] = styles[group[p]][1]
        else:
            out[p] = next(spare, OTHER_STYLE[1])
    return out


def _targets_on(results: Any, place: str, targets: Sequence[Any],
                cohorts: tuple[str, ...] | None) -> list[Any]:
    """The published figures on the number of people in ``place`` (same cohorts)."""
    want = set(cohorts) if cohorts else None
    members = set(_members(results, place))
    out = []
    for t in targets:
        if (set(t.cohorts) if t.cohorts else None) != want or getattr(t, "each", False):
            continue
        if t.observable == "abroad" and place == ABROAD:
            out.append(t)
        elif t.observable == "stock" and t.where and place != ABROAD:
            try:
                if set(results.countries_in(list(t.where))) == members:
                    out.append(t)
            except KeyError:
                continue
    return out


def stocks_over_time(results: Any, places: Sequence[str] | None = None,
                     cohorts: str | Sequence[str] | None = None,
                     targets: Sequence[Any] | None = None, *, columns: int = 3,
                     figsize: tuple[float, float] | None = None) -> Figure:
    """The people in each place over time: median with 50% and 90% bands, and targets.

    Parameters
    ----------
    results : Results
        Needs the variable ``stock``.
    places : sequence of str, optional
        Country ids, group names, or ``"abroad"`` (every country but the origin); default
        :func:`default_places`.
    cohorts : str or sequence of str, optional
        Cohorts counted (default: all).
    targets : sequence of Target, optional
        Published figures (default: the scenario's); drawn are those on ``stock`` in
        exactly a panel's countries, and on ``abroad`` in the abroad panel.
    columns : int
        Panels per row.
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
        One panel per place, each on its own scale (the places differ by orders of
        magnitude); the bands are quantiles over replicates.
    """
    ds = results.dataset
    cohorts = _cohort_names(cohorts)
    streamed = _streamed(results, cohorts)
    if "stock" not in ds and not streamed:
        raise KeyError("the variable 'stock' was not recorded in this run; run again with it "
                       "in `record=`")
    places = list(places) if places is not None else default_places(results)
    if not places:
        raise ValueError("no place to draw")
    if targets is None:
        targets = results.scenario.targets if results.scenario is not None else ()
    colours = _place_colours(results, places)
    x = ds["time"].values.astype("datetime64[D]")
    columns = max(1, min(columns, len(places)))
    rows = -(-len(places) // columns)
    fig = new_figure(figsize or (3.9 * columns, 0.9 + 2.7 * rows))
    axes = fig.subplots(rows, columns, squeeze=False, sharex=True)
    drawn_targets = 0
    for k, ax in enumerate(axes.flat):
        if k >= len(places):
            ax.set_visible(False)
            continue
        place = places[k]
        if streamed:
            q = _streamed_quantiles(results, place)
        else:
            stock = _sum_cohorts(ds["stock"].sel(country=_members(results, place)).sum(
                "country"), cohorts)
            q = _quantiles(stock)
        fan(ax, x, q, colours[place])
        for t in _targets_on(results, place, targets, cohorts):
            when = np.datetime64(t.at, "D")
            if x[0] <= when <= x[-1]:
                _draw_target(ax, t, when, 0.0, TARGET_COLOUR,
                             label_left=bool((when - x[0]) > 0.8 * (x[-1] - x[0])))
                drawn_targets += 1
        ax.set_ylim(0, max(ax.get_ylim()[1], 1.0) * 1.05)
        ax.yaxis.set_major_formatter(thousands)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
        ax.tick_params(labelsize=8)
        date_axis(ax.xaxis, x[0], x[-1])
        ax.set_title(_place_label(results, place), loc="left", fontsize=9.5)
        if k % columns == 0:
            ax.set_ylabel("people", fontsize=8.5)
        tidy_axes(ax)
    handles = fan_handles("0.3")
    if drawn_targets:
        handles.append(_target_handle())
    axes.flat[0].legend(handles=handles, loc="upper left", fontsize=7.5, frameon=True,
                        framealpha=0.85, edgecolor="none")
    title(fig, f"People from {_origin_name(results)} in each place, at the end of each step"
          f"{_cohort_label(results, cohorts)}")
    source_line(fig, source_note(results, "Each panel on its own scale."))
    return fig


def _target_handle() -> Any:
    """The legend entry of a published figure."""
    from matplotlib.lines import Line2D

    return Line2D([], [], color=TARGET_COLOUR, marker="o", ms=4, lw=1.2,
                  label="published figure")


def _streamed_quantiles(results: Any, place: str) -> np.ndarray:
    """A streamed run keeps quantiles for each country and for everyone abroad only."""
    if place == ABROAD:
        return np.asarray(results.quantiles("abroad", list(LEVELS)).values, dtype=float)
    ids = [str(c) for c in results.dataset["country"].values]
    if place not in ids:
        raise ValueError(f"a streamed run keeps quantiles per country, not for the group "
                         f"{place!r}: draw countries, or run without --stream")
    q = results.quantiles("stock", list(LEVELS)).sel(country=place)
    return np.asarray(q.transpose("quantile", "time").values, dtype=float)


# --------------------------------------------------------------------------------------------
# flows per step
# --------------------------------------------------------------------------------------------


def flows_per_step(results: Any, cohorts: str | Sequence[str] | None = None, *,
                   figsize: tuple[float, float] | None = None) -> Figure:
    """Departures from the origin, entries abroad and returns home during each step.

    Parameters
    ----------
    results : Results
        Draws a panel for each of ``departures``, ``arrivals`` (entries into every country
        but the origin: a person passing through two countries counts twice) and
        ``returns`` that was recorded.
    cohorts : str or sequence of str, optional
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    ds = results.dataset
    cohorts = _cohort_names(cohorts)
    if _streamed(results, cohorts):
        raise ValueError("flows per step need the replicates; a streamed run keeps "
                         "quantiles of cumulative series only")
    origin = ds.attrs["origin"]
    abroad = [c for c in results.countries_in(None) if c != origin]
    panels = []
    if "departures" in ds:
        panels.append(("departures from the origin", "#0072B2",
                       _sum_cohorts(ds["departures"], cohorts)))
    if "arrivals" in ds:
        panels.append(("entries into countries abroad", "#009E73",
                       _sum_cohorts(ds["arrivals"].sel(country=abroad).sum("country"),
                                    cohorts)))
    if "returns" in ds:
        panels.append(("returns to the origin", "#D55E00",
                       _sum_cohorts(ds["returns"].sum("country"), cohorts)))
    if not panels:
        raise KeyError("none of departures, arrivals and returns was recorded in this run")
    days = (ds["time"].values.astype("datetime64[D]")
            - ds["step_start"].values.astype("datetime64[D]")).astype(int) + 1
    unit = step_unit(days)
    x = ds["time"].values.astype("datetime64[D]")
    fig = new_figure(figsize or (8.0, 0.9 + 2.2 * len(panels)))
    axes = fig.subplots(len(panels), 1, squeeze=False, sharex=True)[:, 0]
    for ax, (name, colour, da) in zip(axes, panels, strict=True):
        fan(ax, x, _quantiles(da), colour, lw=1.4)
        ax.set_ylim(0, max(ax.get_ylim()[1], 1.0) * 1.05)
        ax.yaxis.set_major_formatter(thousands)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
        ax.set_ylabel(f"people per {unit}", fontsize=8.5)
        ax.set_title(name, loc="left", fontsize=9.5)
        ax.tick_params(labelsize=8)
        tidy_axes(ax)
        if results.scenario is not None:
            for sh in results.scenario.shocks:
                d = np.datetime64(sh.date, "D")
                if x[0] <= d <= x[-1]:
                    ax.axvline(d, color="0.55", lw=0.8, ls=":", zorder=0)
    date_axis(axes[-1].xaxis, x[0], x[-1])
    axes[0].legend(handles=fan_handles("0.3"), loc="upper right", fontsize=7.5, frameon=True,
                   framealpha=0.85, edgecolor="none")
    title(fig, f"Movements of people from {_origin_name(results)} in each {unit}"
          f"{_cohort_label(results, cohorts)}")
    source_line(fig, source_note(results, "Dotted lines: the scenario's shocks."))
    return fig


# --------------------------------------------------------------------------------------------
# small multiples at dates
# --------------------------------------------------------------------------------------------


def _default_dates(results: Any, most: int = 4) -> list[dt.date]:
    ds = results.dataset
    first = day(ds["step_start"].values[0])
    last = day(ds["time"].values[-1])
    dates = report_dates(results.scenario, first, last) if results.scenario is not None \
        else []
    if len(dates) < 2:
        ends = ds["time"].values
        idx = np.unique(np.linspace(0, len(ends) - 1, min(most, len(ends))).round().astype(int))
        return [day(ends[i]) for i in idx]
    if len(dates) > most:
        idx = np.unique(np.linspace(0, len(dates) - 1, most).round().astype(int))
        dates = [dates[i] for i in idx]
    return list(dates)


def where_at_dates(results: Any, dates: Sequence[dt.date | str] | None = None, top: int = 10,
                   cohorts: str | Sequence[str] | None = None, *,
                   figsize: tuple[float, float] | None = None) -> Figure:
    """Small multiples: where people are at each of a few dates.

    Parameters
    ----------
    results : Results
        Needs ``stock``.
    dates : sequence of date or str, optional
        Default: the report's dates (at most four), else four dates spread over the run.
    top : int
        Countries shown: those with the largest median stock at any of the dates, in the
        same order in every panel.
    cohorts : str or sequence of str, optional
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
        One panel per date, bars at the median with whiskers over 90% of replicates, on one
        scale shared by the panels; colours are the scenario's groups.
    """
    ds = results.dataset
    cohorts = _cohort_names(cohorts)
    if _streamed(results, cohorts):
        raise ValueError("draw a streamed run's destinations with flowsim.plots.destinations")
    if "stock" not in ds:
        raise KeyError("the variable 'stock' was not recorded in this run; run again with it "
                       "in `record=`")
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    when = list(dates) if dates is not None else _default_dates(results)
    steps = [_step_holding(ds, d) for d in when]
    origin = ds.attrs["origin"]
    stock = _sum_cohorts(ds["stock"].isel(time=steps).drop_sel(country=origin), cohorts)
    q = stock.quantile([0.05, 0.5, 0.95], dim="replicate").transpose("quantile", "time",
                                                                      "country").values
    ids = [str(c) for c in stock["country"].values]
    best = q[1].max(axis=0)
    order = np.argsort(-best, kind="stable")[:top]
    names = ([str(ds["country_name"].sel(country=ids[i]).item()) for i in order]
             if "country_name" in ds.coords else [ids[i] for i in order])
    group = _group_of(results)
    styles = group_styles(results.scenario)
    colours = [styles.get(group[ids[i]], OTHER_STYLE)[1] for i in order]
    n = len(order)
    fig = new_figure(figsize or (2.2 + 2.3 * len(steps), 1.4 + 0.3 * n))
    axes = fig.subplots(1, len(steps), squeeze=False, sharey=True, sharex=True)[0]
    y = np.arange(n)[::-1]
    span = float(q[2][:, order].max()) if n else 1.0
    for j, ax in enumerate(axes):
        lo, mid, hi = q[0][j, order], q[1][j, order], q[2][j, order]
        ax.barh(y, mid, color=colours, height=0.7, zorder=2)
        ax.errorbar(mid, y, xerr=[mid - lo, hi - mid], fmt="none", ecolor="0.15",
                    elinewidth=0.9, capsize=2, zorder=3)
        for yi, m, h in zip(y, mid, hi, strict=True):
            ax.text(h + 0.02 * span, yi, f"{m:,.0f}", va="center", ha="left", fontsize=7,
                    color="0.25")
        ax.set_title(f"{day(ds['time'].values[steps[j]]):%-d %b %Y}", loc="left",
                     fontsize=9.5)
        ax.set_xlim(0, span * 1.3 if span > 0 else 1)
        ax.xaxis.set_major_formatter(thousands)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=3, steps=[1, 2, 2.5, 5, 10]))
        ax.tick_params(labelsize=7.5)
        tidy_axes(ax, grid="x")
    axes[0].set_yticks(y, [f"{nm} ({ids[i]})" for nm, i in zip(names, order, strict=True)],
                       fontsize=8.5)
    present = [g for g in [*styles, "other"] if any(group[ids[i]] == g for i in order)]
    if any(g != "other" for g in present):
        axes[-1].legend(handles=[Patch(color=styles.get(g, OTHER_STYLE)[1],
                                       label=styles.get(g, OTHER_STYLE)[0]) for g in present],
                        loc="lower right", frameon=True, framealpha=0.85, edgecolor="none",
                        fontsize=7.5)
    title(fig, f"Where people from {_origin_name(results)} are, at {len(steps)} dates"
          f"{_cohort_label(results, cohorts)}")
    source_line(fig, source_note(results, "Bars: medians; whiskers: 90% of replicates; one "
                                 "scale for every panel; stock at the end of the step "
                                 "holding each date."))
    return fig
