"""Figures of what a policy changed: when, where and for whom (paired effects).

Each function takes a :class:`~flowsim.comparison.Comparison` (or one read back from a
comparison directory) and draws the paired difference ``counterfactual - baseline`` of
each replicate, whose spread is the effect's uncertainty (common random numbers: the same
draws in every scenario):

* :func:`effects_over_time`: the effect on the people abroad and in each bloc of the
  report, step by step, median with 50% and 90% bands;
* :func:`effects_by_place`: the effect at the end in each country (with ``by=("country",)``)
  or bloc, largest first, median and interval, one panel per counterfactual;
* :func:`effects_by_cohort`: the effect on each cohort (people abroad at the end, and with
  ``by=("cohort",)`` departures and returns).

:func:`comparison_series` gives the series :func:`effects_over_time` draws, from the runs
kept in memory or from the ``series`` of a saved comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from flowsim.comparison.outcomes import _present_blocs
from flowsim.plots.style import (
    PALETTE,
    date_axis,
    fan,
    fan_handles,
    new_figure,
    source_line,
    tidy_axes,
    title,
)
from flowsim.results.cf import provenance_line
from flowsim.scenario.report import label as label_of

__all__ = ["comparison_series", "effects_by_cohort", "effects_by_place", "effects_over_time"]

#: Counterfactual colours, in order (the baseline is never drawn: effects are against it).
CF_COLOURS = PALETTE
_signed = FuncFormatter(lambda x, _: f"{x:+,.0f}" if x else "0")
LEVELS = [0.05, 0.25, 0.5, 0.75, 0.95]


def _scenario(comparison: Any) -> Any:
    """The baseline's scenario: kept with its results, or with a comparison read back."""
    res = comparison.results.get(comparison.baseline) if comparison.results else None
    if res is not None:
        return res.scenario
    return getattr(comparison, "scenario", None)


def _attrs(comparison: Any) -> dict[str, Any]:
    res = comparison.results.get(comparison.baseline) if comparison.results else None
    if res is not None:
        return dict(res.dataset.attrs)
    return dict(getattr(comparison, "attrs", {}) or {})


def comparison_source(comparison: Any, extra: str = "") -> str:
    """The source line of a comparison's figure (paired comparison, provenance)."""
    a = _attrs(comparison)
    n = int(comparison.values.sizes["replicate"])
    note = (f"Source: paired comparison with common random numbers against "
            f"'{comparison.baseline}'; {provenance_line(a, n)}")
    return note + (f" {extra}" if extra else "")


def comparison_series(comparison: Any) -> xr.DataArray:
    """People abroad and in each bloc over time, per scenario and replicate.

    Returns
    -------
    xarray.DataArray
        Dims ``(scenario, series, time, replicate)``; series ``abroad`` and ``in <bloc>``
        for the baseline report's blocs. A comparison read back from its directory holds
        them (``comparison.series``); otherwise they are read off the runs it keeps.
    """
    saved = getattr(comparison, "series", None)
    if saved is not None:
        return saved
    scenarios = [str(s) for s in comparison.values["scenario"].values]
    if not comparison.results or any(s not in comparison.results for s in scenarios):
        raise ValueError("this comparison keeps neither its runs nor their series")
    blocs = _present_blocs(_scenario(comparison))
    out = []
    for s in scenarios:
        r = comparison.results[s]
        stock = r.dataset["stock"].sum("cohort")
        origin = r.dataset.attrs["origin"]
        rows = {"abroad": stock.drop_sel(country=origin).sum("country")}
        for bloc, names in blocs.items():
            rows[f"in {bloc}"] = stock.sel(country=r.countries_in(list(names))).sum("country")
        out.append(xr.concat(list(rows.values()), dim="series").assign_coords(
            series=list(rows)).transpose("series", "time", "replicate"))
    return xr.concat(out, dim="scenario").assign_coords(scenario=scenarios).astype(float)


def _series_label(name: str, scenario: Any) -> str:
    if name == "abroad":
        return "people abroad"
    bloc = name.removeprefix("in ")
    return f"people in {label_of(scenario, bloc) if scenario is not None else bloc}"


def effects_over_time(comparison: Any, series: Sequence[str] | None = None, *,
                      columns: int = 2, figsize: tuple[float, float] | None = None) -> Figure:
    """The paired effect over time: counterfactual − baseline, per step.

    Parameters
    ----------
    comparison : Comparison
    series : sequence of str, optional
        ``"abroad"`` and ``"in <bloc>"`` (default: all of :func:`comparison_series`).
    columns : int
        Panels per row.
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
        One panel per series; in each, one median line per counterfactual with its 50% and
        90% bands over replicates, and the zero line (no effect).
    """
    data = comparison_series(comparison)
    names = list(series) if series is not None else [str(s) for s in data["series"].values]
    unknown = [n for n in names if n not in data["series"].values]
    if unknown:
        raise KeyError(f"unknown series {unknown[0]!r}; choose from "
                       f"{', '.join(map(str, data['series'].values))}")
    base = data.sel(scenario=comparison.baseline)
    cfs = comparison.counterfactuals
    x = data["time"].values.astype("datetime64[D]")
    scenario = _scenario(comparison)
    columns = max(1, min(columns, len(names)))
    rows = -(-len(names) // columns)
    fig = new_figure(figsize or (4.6 * columns, 1.0 + 2.8 * rows))
    axes = fig.subplots(rows, columns, squeeze=False, sharex=True)
    for k, ax in enumerate(axes.flat):
        if k >= len(names):
            ax.set_visible(False)
            continue
        for j, cf in enumerate(cfs):
            d = data.sel(scenario=cf, series=names[k]) - base.sel(series=names[k])
            q = np.asarray(d.quantile(LEVELS, dim="replicate").transpose("quantile", "time")
                           .values)
            fan(ax, x, q, CF_COLOURS[j % len(CF_COLOURS)], lw=1.6, zorder=2 + j)
        ax.axhline(0, color="0.25", lw=0.9, zorder=1)
        ax.set_title(_series_label(names[k], scenario), loc="left", fontsize=9.5)
        ax.yaxis.set_major_formatter(_signed)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
        ax.tick_params(labelsize=8)
        date_axis(ax.xaxis, x[0], x[-1])
        if k % columns == 0:
            ax.set_ylabel("difference, people", fontsize=8.5)
        tidy_axes(ax)
    handles = [Line2D([], [], color=CF_COLOURS[j % len(CF_COLOURS)], lw=2, label=cf)
               for j, cf in enumerate(cfs)] + fan_handles("0.3")[1:]
    axes.flat[0].legend(handles=handles, loc="upper left", fontsize=7.5, frameon=True,
                        framealpha=0.85, edgecolor="none")
    title(fig, f"Effects over time against {comparison.baseline}: counterfactual − baseline")
    source_line(fig, comparison_source(comparison, "Lines: median of the paired "
                                       "differences; bands: 50% and 90% of replicates."))
    return fig


def _dot_panels(comparison: Any, outcomes: list[str], labels: list[str], heading: str,
                figsize: tuple[float, float] | None) -> Figure:
    """One panel per counterfactual: a dot at the median paired difference of each outcome
    and a bar over its interval, largest effects at the top."""
    cfs = comparison.counterfactuals
    diff = comparison.differences.sel(outcome=outcomes)
    lo_q, hi_q = comparison.quantiles
    med = np.asarray(diff.median("replicate").transpose("scenario", "outcome").values)
    lo = np.asarray(diff.quantile(lo_q, dim="replicate").transpose("scenario", "outcome")
                    .values)
    hi = np.asarray(diff.quantile(hi_q, dim="replicate").transpose("scenario", "outcome")
                    .values)
    order = np.argsort(-np.abs(med).max(axis=0), kind="stable")
    n = len(outcomes)
    fig = new_figure(figsize or (max(6.5, 1.5 + 3.4 * len(cfs)), 1.5 + 0.27 * n))
    axes = fig.subplots(1, len(cfs), squeeze=False, sharey=True)[0]
    y = np.arange(n)[::-1]
    for j, ax in enumerate(axes):
        colour = CF_COLOURS[j % len(CF_COLOURS)]
        m, a, b = med[j, order], lo[j, order], hi[j, order]
        ax.hlines(y, a, b, color=colour, lw=2.2, zorder=2)
        ax.plot(m, y, "o", color="white", mec=colour, mew=1.6, ms=5, zorder=3)
        ax.axvline(0, color="0.25", lw=0.9, zorder=1)
        ax.set_title(cfs[j], loc="left", fontsize=9.5)
        ax.xaxis.set_major_formatter(_signed)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
        ax.tick_params(labelsize=8)
        tidy_axes(ax, grid="x")
    axes[0].set_yticks(y, [labels[i] for i in order], fontsize=8.5)
    title(fig, heading)
    source_line(fig, comparison_source(
        comparison, f"Dots: median of the paired differences; bars: {hi_q - lo_q:.0%} "
        "interval over replicates; largest effects first."))
    return fig


def _outcome_coords(comparison: Any) -> dict[str, np.ndarray]:
    """The structured parts of each outcome's name (quantity, place, date, cohort)."""
    v = comparison.values
    if "quantity" not in v.coords:
        raise ValueError("this comparison's outcomes have no structured names (made before "
                         "flowsim 0.2); compare again")
    return {f: np.asarray(v[f].values, dtype=str) for f in ("quantity", "place", "date",
                                                           "cohort") if f in v.coords}


def effects_by_place(comparison: Any, top: int = 20, *,
                     figsize: tuple[float, float] | None = None) -> Figure:
    """The paired effect at the end on the people in each country (or bloc).

    Parameters
    ----------
    comparison : Comparison
        Countries when it was made with ``by=("country",)``, else the report's blocs.
    top : int
        Places shown at most, largest effect first.
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    c = _outcome_coords(comparison)
    scenario = _scenario(comparison)
    names = [str(o) for o in comparison.values["outcome"].values]
    stock = [i for i in range(len(names)) if c["quantity"][i] == "stock" and not c["cohort"][i]]
    ids = {str(x.id) for x in scenario.countries} if scenario is not None else set()
    countries = [i for i in stock if c["place"][i] in ids]
    rows = countries or stock
    if not rows:
        raise ValueError("the comparison holds no stock by place (give by=('country',) or "
                         "blocs in the report)")
    diff = comparison.differences.isel(outcome=rows)
    size = np.abs(diff.median("replicate")).max("scenario").values
    keep = [rows[i] for i in np.argsort(-size, kind="stable")[:top]]
    country_name = {x.id: x.name for x in scenario.countries} if scenario is not None else {}
    labels = [f"{country_name.get(c['place'][i], c['place'][i])}" if countries else
              (label_of(scenario, c["place"][i]) if scenario is not None else c["place"][i])
              for i in keep]
    what = "country" if countries else "bloc"
    return _dot_panels(comparison, [names[i] for i in keep], labels,
                       f"Effects on the people in each {what} on {c['date'][keep[0]]}",
                       figsize)


def effects_by_cohort(comparison: Any, *, figsize: tuple[float, float] | None = None
                      ) -> Figure:
    """The paired effect on each cohort: abroad at the end, departures and returns.

    Parameters
    ----------
    comparison : Comparison
        Departures and returns by cohort when it was made with ``by=("cohort",)``.
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    c = _outcome_coords(comparison)
    names = [str(o) for o in comparison.values["outcome"].values]
    rows = [i for i in range(len(names)) if c["cohort"][i]]
    if not rows:
        raise ValueError("the comparison holds no outcome by cohort")
    words = {"abroad": "abroad at the end", "departures": "left", "returns": "returned"}
    labels = [c["cohort"][i].replace("_", " ") + ": "
              + words.get(c["quantity"][i], c["quantity"][i]) for i in rows]
    return _dot_panels(comparison, [names[i] for i in rows], labels,
                       "Effects on each cohort", figsize)
