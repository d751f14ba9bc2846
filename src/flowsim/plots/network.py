"""The route graph of a scenario on a date, each route in the colour of its entry regime.

:func:`route_graph` draws every country as a point in the column of its distance from the
origin (as the flow diagram places them) and every route as an arrow coloured by its regime
on that date, once the policies in force then are applied (read from the compiled model,
so that the figure shows what the engine simulates). Closed routes are dotted and
irregular ones dashed, so that the figure reads in greyscale too. With ``flow`` recorded,
arrows are as thick as the people who crossed the route up to that date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch

from flowsim.plots.flows import _depths
from flowsim.plots.style import day, group_styles, new_figure, source_line, title
from flowsim.scenario.values import REGIMES

__all__ = ["REGIME_STYLE", "route_graph"]

#: Colour (Okabe–Ito) and line style of each regime: open ones in greens and blues, visas in
#: orange, humanitarian admission in purple, closed in vermilion dots, irregular in black.
REGIME_STYLE: dict[str, tuple[str, str, str]] = {
    "visa_free": ("#009E73", "-", "visa free"),
    "visa_on_arrival": ("#56B4E9", "-", "visa on arrival"),
    "e_visa": ("#0072B2", "-", "e-visa"),
    "visa_required": ("#E69F00", "-", "visa required"),
    "humanitarian_only": ("#CC79A7", "-", "humanitarian visas only"),
    "closed": ("#D55E00", ":", "closed"),
    "irregular": ("#000000", "--", "irregular crossing"),
}


def route_graph(source: Any, at: dt.date | str | None = None, cohort: str | None = None, *,
                figsize: tuple[float, float] | None = None) -> Figure:
    """Every route on a date, coloured by its entry regime.

    Parameters
    ----------
    source : Results, StreamedResults or Scenario
        Results also give each route's crossings (when ``flow`` was recorded) and the
        source line.
    at : date or str, optional
        The date (default: the last day of the calendar); the regimes of the step holding it.
    cohort : str, optional
        Whose regimes (default: the regime most cohorts have; routes where cohorts differ
        are drawn with a white core and counted in the note).
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from flowsim.core.compile import compile_scenario
    from flowsim.results.dataset import Results
    from flowsim.results.streamed import StreamedResults

    results = source if isinstance(source, Results | StreamedResults) else None
    scenario = results.scenario if results is not None else source
    if scenario is None:
        raise ValueError("the route graph needs the scenario (these results carry none)")
    model = compile_scenario(scenario)
    ends = np.array(model.step_ends, dtype="datetime64[D]")
    starts = np.array(model.step_starts, dtype="datetime64[D]")
    when = ends[-1] if at is None else np.datetime64(str(at)[:10], "D")
    if when < starts[0] or when > ends[-1]:
        raise ValueError(f"{when} is outside the calendar ({starts[0]} to {ends[-1]})")
    step = int(np.searchsorted(ends, when, side="left"))
    epoch = int(model.epoch_of_step[step])
    regimes = np.asarray(model.route_regime[epoch])  # (R, K)
    if cohort is not None:
        if cohort not in model.cohort_names:
            from flowsim.errors import did_you_mean

            raise KeyError(f"unknown cohort {cohort!r}"
                           f"{did_you_mean(cohort, list(model.cohort_names))}")
        code = regimes[:, model.cohort_names.index(cohort)]
        mixed = np.zeros(len(code), dtype=bool)
    else:
        code = np.array([np.bincount(row, minlength=len(REGIMES)).argmax() for row in regimes])
        mixed = np.array([len(set(row.tolist())) > 1 for row in regimes])
    ids = list(model.country_ids)
    src = [ids[i] for i in model.route_src]
    dst = [ids[i] for i in model.route_dst]
    origin = ids[model.origin]

    crossings = None
    if results is not None and "flow" in results.dataset:
        flow = results.dataset["flow"].isel(time=slice(0, step + 1)).sum(("time", "cohort"))
        crossings = np.asarray(flow.mean("replicate").values, dtype=float)
    depth = _depths(src, dst, np.ones(len(src)), origin, np.ones(len(src), dtype=bool))
    for c in ids:
        depth.setdefault(c, max(depth.values()) + 1)  # unreachable: a column of their own
    columns = max(depth.values()) + 1
    by_column = [[c for c in ids if depth[c] == k] for k in range(columns)]
    # order each column by the mean height of its predecessors (fewer crossing arrows)
    y: dict[str, float] = {}
    for k, col in enumerate(by_column):
        def height(c: str) -> float:
            ups = [y[s] for s, d in zip(src, dst, strict=True) if d == c and s in y]
            return float(np.mean(ups)) if ups else 0.0

        col.sort(key=height if k else (lambda c: 0.0))
        n = len(col)
        for i, c in enumerate(col):
            y[c] = (i - (n - 1) / 2) if n > 1 else 0.0
    most = max(len(col) for col in by_column)
    fig = new_figure(figsize or (min(16.0, 2.5 + 1.9 * columns), 2.4 + 0.36 * most))
    ax = fig.add_subplot()
    top = max(crossings.max(), 1.0) if crossings is not None else 1.0
    for r in range(len(src)):
        regime = REGIMES[int(code[r])]
        colour, ls, _ = REGIME_STYLE[regime]
        width = 0.8 if crossings is None else 0.6 + 5.0 * np.sqrt(crossings[r] / top)
        a, b = (depth[src[r]], y[src[r]]), (depth[dst[r]], y[dst[r]])
        arrow = FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=7, lw=width,
                                linestyle=ls, color=colour, shrinkA=7, shrinkB=7,
                                connectionstyle="arc3,rad=0.12", zorder=2, alpha=0.9)
        ax.add_patch(arrow)
        if mixed[r]:
            ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-", lw=max(0.4, width / 3),
                                         color="white", shrinkA=7, shrinkB=7,
                                         connectionstyle="arc3,rad=0.12", zorder=2.5))
    styles = group_styles(scenario)
    groups = scenario.group_members()
    for c in ids:
        g = next((g for g in styles if c in groups.get(g, ())), None)
        face = styles[g][1] if g else "0.6"
        ax.plot([depth[c]], [y[c]], "o", ms=9, color=face, mec="white", mew=1.2, zorder=3)
        ax.annotate(c, (depth[c], y[c]), xytext=(0, 7), textcoords="offset points",
                    ha="center", va="bottom", fontsize=7.5, zorder=4,
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none",
                          "alpha": 0.75})
    ax.set_xlim(-0.5, columns - 0.5)
    half = (most - 1) / 2 + 0.8
    ax.set_ylim(-half, half)
    ax.axis("off")
    present = sorted({REGIMES[int(c)] for c in code}, key=REGIMES.index)
    handles = [Line2D([], [], color=REGIME_STYLE[r][0], ls=REGIME_STYLE[r][1], lw=2,
                      label=REGIME_STYLE[r][2]) for r in present]
    handles += [Line2D([], [], ls="none", marker="o", color=styles[g][1], label=styles[g][0])
                for g in styles if groups.get(g)]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False,
              fontsize=8)
    who = f" for {cohort.replace('_', ' ')}" if cohort else ""
    in_force = model.epoch_policies[epoch]
    title(ax, f"Routes and their entry regimes{who} on {day(when):%-d %B %Y}")
    note = (f"Scenario '{scenario.name}'; policies in force: "
            f"{', '.join(in_force) if in_force else 'none'}.")
    if mixed.any():
        note += (f" {int(mixed.sum())} routes (white core) have other regimes for some "
                 "cohorts; drawn is the regime of most.")
    if crossings is not None:
        note += " Arrow width: people who crossed the route up to the date (mean over " \
                "replicates)."
    note += " Points: countries, in their group's colour."
    source_line(fig, note)
    return fig
