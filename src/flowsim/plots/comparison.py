"""Figures of a comparison: each function takes a :class:`~flowsim.comparison.Comparison`.

Like :mod:`flowsim.plots`, the figures are plain :class:`matplotlib.figure.Figure` objects on an
Agg canvas (nothing here touches ``matplotlib.pyplot``).

* :func:`paired_differences`: the distribution over replicates of the paired difference
  ``counterfactual - baseline``, one panel per key outcome, one violin per counterfactual,
  with the median, the 90% interval and the zero line.
* :func:`where_people_ended`: where the people who left are at the end, by bloc (the blocs
  of the baseline's ``report:``, back in the origin), one stacked bar per scenario, medians
  with 90% intervals.

With parameters fixed the intervals show the randomness of who moves only; with parameters
drawn from a posterior they show the uncertainty about the parameters too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from flowsim.plots.effects import _scenario as effects_scenario
from flowsim.plots.effects import comparison_source
from flowsim.plots.style import PALETTE, new_figure, thousands
from flowsim.scenario.report import label as label_of
from flowsim.scenario.report import report_blocs

__all__ = ["KEY_BLOCS", "key_outcomes", "paired_differences", "where_people_ended"]

#: How many blocs :func:`key_outcomes` draws at most (the report's first ones).
KEY_BLOCS = 3
RETURNED_COLOUR = "#8C8C8C"
ELSEWHERE_COLOUR = "#CFCFCF"
SCENARIO_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9",
                    "#F0E442", "#000000")

_signed = FuncFormatter(lambda x, _: f"{x:+,.0f}" if x else "0")


def _end_label(comparison: Any) -> str:
    """The last day of the runs, as the outcomes name it (``YYYY-MM-DD``)."""
    res = comparison.results.get(comparison.baseline) if comparison.results else None
    if res is not None:
        return str(res.dataset["time"].values[-1].astype("datetime64[D]"))
    return str(getattr(comparison, "attrs", {}).get("period_end", ""))


def _scenario(comparison: Any) -> Any:
    """The baseline's scenario (whose report names the blocs): kept with its results, or
    with a comparison read back from its directory."""
    return effects_scenario(comparison)


def _blocs(comparison: Any) -> list[str]:
    """The report's blocs that the comparison holds outcomes for, in the report's order."""
    scenario = _scenario(comparison)
    if scenario is None:
        return []
    end = _end_label(comparison)
    have = {str(o) for o in comparison.values["outcome"].values}
    return [b for b in report_blocs(scenario) if f"in {b} at {end}" in have]


def key_outcomes(comparison: Any) -> list[str]:
    """The outcomes drawn by default: abroad at the end, in the report's first
    :data:`KEY_BLOCS` blocs, returns and asylum grants, those the comparison holds."""
    end = _end_label(comparison)
    have = {str(o) for o in comparison.values["outcome"].values}
    names = [f"abroad at {end}", *(f"in {b} at {end}" for b in _blocs(comparison)[:KEY_BLOCS]),
             "returns to the origin", "asylum grants"]
    return [n for n in names if n in have]


def _label(outcome: str, scenario: Any = None) -> str:
    """A readable panel title for an outcome name (blocs in the report's words)."""
    if outcome.startswith(("in ", "settled in ")) and scenario is not None:
        head, _, rest = outcome.partition("in ")
        bloc, sep, tail = rest.partition(" at ")
        outcome = f"{head}in {label_of(scenario, bloc)}{sep}{tail}"
    return outcome.replace(" at ", " on ", 1)


def _source_note(comparison: Any, extra: str = "") -> str:
    return comparison_source(comparison, extra)


def paired_differences(comparison: Any, outcomes: Sequence[str] | None = None, *,
                       columns: int = 2, figsize: tuple[float, float] | None = None
                       ) -> Figure:
    """The paired difference ``counterfactual - baseline`` per outcome, over replicates.

    Parameters
    ----------
    comparison : Comparison
    outcomes : sequence of str, optional
        Outcome names (default: :func:`key_outcomes`).
    columns : int
        Panels per row.
    figsize : (float, float), optional
        Size in inches (default: grows with the panels and counterfactuals).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per outcome; in each, one violin per counterfactual (the distribution of
        its paired differences over replicates), a dot at the median, a bar over the 90%
        interval, and a line at zero (no effect).
    """
    names = list(outcomes) if outcomes is not None else key_outcomes(comparison)
    if not names:
        raise ValueError("no outcome to draw")
    known = {str(o) for o in comparison.values["outcome"].values}
    unknown = [n for n in names if n not in known]
    if unknown:
        from flowsim.errors import did_you_mean

        raise KeyError(f"unknown outcome {unknown[0]!r}{did_you_mean(unknown[0], known)}")
    cfs = comparison.counterfactuals
    diff = comparison.differences
    lo_q, hi_q = comparison.quantiles
    columns = max(1, min(columns, len(names)))
    rows = -(-len(names) // columns)
    height = 0.9 + 0.42 * len(cfs)
    fig = new_figure(figsize or (4.6 * columns, 0.6 + height * rows))
    axes = fig.subplots(rows, columns, squeeze=False)
    y = np.arange(len(cfs))[::-1]
    for k, ax in enumerate(axes.flat):
        if k >= len(names):
            ax.set_visible(False)
            continue
        out = names[k]
        for j, cf in enumerate(cfs):
            d = np.asarray(diff.sel(scenario=cf, outcome=out).values, dtype=float)
            colour = SCENARIO_COLOURS[j % len(SCENARIO_COLOURS)]
            if np.ptp(d) > 0:
                parts = ax.violinplot([d], positions=[y[j]], orientation="horizontal",
                                      widths=0.8, showextrema=False)
                for body in parts["bodies"]:
                    body.set_facecolor(colour)
                    body.set_edgecolor("none")
                    body.set_alpha(0.45)
            lo, med, hi = np.quantile(d, [lo_q, 0.5, hi_q])
            ax.plot([lo, hi], [y[j], y[j]], color=colour, lw=2.2, solid_capstyle="butt",
                    zorder=3)
            ax.plot([med], [y[j]], "o", color="white", mec=colour, mew=1.6, ms=5.5, zorder=4)
        ax.axvline(0, color="0.25", lw=0.9, zorder=2)
        ax.set_yticks(y, cfs if k % columns == 0 else [""] * len(cfs), fontsize=8.5)
        ax.set_ylim(-0.6, len(cfs) - 0.4)
        ax.set_title(_label(out, _scenario(comparison)), loc="left", fontsize=9.5)
        ax.xaxis.set_major_formatter(_signed)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", color="0.9", lw=0.8)
        ax.set_axisbelow(True)
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(f"Effects against {comparison.baseline}: counterfactual − baseline, people",
                 x=0.01, ha="left", fontsize=12, fontweight="bold")
    fig.supxlabel(_source_note(comparison, f"Violins: replicates; dot: median; bar: "
                               f"{hi_q - lo_q:.0%} interval."),
                  x=0.01, ha="left", fontsize=7, color="0.35", wrap=True)
    return fig


def where_people_ended(comparison: Any, *, figsize: tuple[float, float] | None = None
                       ) -> Figure:
    """Where those who left are at the end, by bloc, under each scenario side by side.

    One stacked bar per scenario (the baseline first): the people abroad in each bloc of the
    baseline's report (:func:`flowsim.scenario.report.report_blocs`), elsewhere abroad (when
    the blocs leave countries out), and those who went back to the origin. Each
    segment is the median over replicates; its whisker spans the segment's own 90% interval,
    drawn from the top of the segments below it.

    Parameters
    ----------
    comparison : Comparison
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    end = _end_label(comparison)
    have = {str(o) for o in comparison.values["outcome"].values}
    scenario = _scenario(comparison)
    segments = [(f"in {b} at {end}", label_of(scenario, b),
                 PALETTE[i] if i < len(PALETTE) else ELSEWHERE_COLOUR)
                for i, b in enumerate(_blocs(comparison))]
    if not segments:
        raise ValueError("the comparison holds none of the bloc outcomes (its baseline's "
                         "report names no bloc of countries: give `report.blocs` or groups)")
    if "returns to the origin" in have:
        segments.append(("returns to the origin", "returned", RETURNED_COLOUR))
    values = comparison.values
    scenarios = [str(s) for s in values["scenario"].values]
    abroad = values.sel(outcome=f"abroad at {end}")
    blocs = [o for o, _, _ in segments if o.startswith("in ")]
    data = {o: values.sel(outcome=o) for o, _, _ in segments}
    elsewhere = abroad - sum(values.sel(outcome=o) for o in blocs) if blocs else abroad
    if float(elsewhere.max()) > 0:
        data["elsewhere"] = elsewhere
        n_blocs = len(blocs)
        segments.insert(n_blocs, ("elsewhere", "elsewhere abroad", ELSEWHERE_COLOUR))
    lo_q, hi_q = comparison.quantiles

    fig = new_figure(figsize or (2.0 + 1.25 * len(scenarios), 5.4))
    ax = fig.add_subplot()
    x = np.arange(len(scenarios))
    bottom = np.zeros(len(scenarios))
    offsets = np.linspace(-0.22, 0.22, len(segments))
    quantiles = {o: np.stack([np.quantile(np.asarray(data[o].sel(scenario=s).values,
                                                     dtype=float), [lo_q, 0.5, hi_q])
                              for s in scenarios]) for o, _, _ in segments}  # (S, 3) each
    tallest = float(sum(q[:, 1] for q in quantiles.values()).max())
    for (o, label, colour), dx in zip(segments, offsets, strict=True):
        q = quantiles[o]
        med = q[:, 1]
        ax.bar(x, med, bottom=bottom, width=0.62, color=colour, label=label, zorder=2,
               edgecolor="white", linewidth=0.6)
        top = bottom + med
        ax.errorbar(x + dx, top, yerr=[med - q[:, 0], q[:, 2] - med], fmt="none",
                    ecolor="0.15", elinewidth=0.9, capsize=2, zorder=3)
        for xi, b, m in zip(x, bottom, med, strict=True):
            if m > 0.045 * tallest:  # label the segments tall enough to hold their number
                ax.text(xi, b + m / 2, f"{m:,.0f}", ha="center", va="center", fontsize=7.5,
                        color="white" if colour != ELSEWHERE_COLOUR else "0.2", zorder=4)
        bottom = top
    for xi, total in zip(x, bottom, strict=True):
        ax.text(xi, total * 1.01, f"{total:,.0f}", ha="center", va="bottom", fontsize=7.5,
                color="0.25")
    ax.set_xticks(x, scenarios, rotation=20 if len(scenarios) > 3 else 0,
                  ha="right" if len(scenarios) > 3 else "center", fontsize=8.5)
    ax.get_xticklabels()[0].set_fontweight("bold")
    ax.set_ylim(0, float(bottom.max()) * 1.08 if bottom.max() > 0 else 1)
    ax.yaxis.set_major_formatter(thousands)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=7, steps=[1, 2, 2.5, 5, 10]))
    ax.set_ylabel(f"people who left, on {end} (medians)")
    ax.grid(axis="y", color="0.9", lw=0.8)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    handles = [Patch(color=c, label=lab) for _, lab, c in segments][::-1]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False,
              fontsize=8.5)
    ax.set_title("Where the people who left ended up, by scenario", loc="left", fontsize=12,
                 fontweight="bold")
    fig.supxlabel(_source_note(comparison, f"Whiskers: {hi_q - lo_q:.0%} interval of each "
                               "segment over replicates."),
                  x=0.01, ha="left", fontsize=7, color="0.35", wrap=True)
    return fig
