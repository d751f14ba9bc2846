"""The flow diagram of a run: people along routes, from the origin through transit countries.

:func:`route_flows` draws an alluvial (Sankey) diagram with matplotlib alone: every country
that people reached is a bar in the column of its distance from the origin (the fewest
routes it takes to get there); every route that carried people forward is a band from its
country to the next, as wide as the people who crossed it, split by cohort. It needs the
variable ``flow`` (``record=("flow", ...)``, or ``flowsim run --record all``).

Crossings are summed over the steps up to a date and averaged over replicates: means add
up along routes (the people into a country are the sum of the bands into it), which
medians do not. Routes that lead back towards the origin or between two countries of the
same column are left out of the drawing and counted in its source line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path as MPath

from flowsim.plots.run import _cohort_label, _cohort_names, _origin_name, _step_holding
from flowsim.plots.style import PALETTE, day, new_figure, source_line, source_note, title

__all__ = ["cumulative_route_flows", "route_flows"]

NODE_COLOUR = "0.35"
GAP = 0.04  # vertical space between two bars of a column, as a share of the height


def cumulative_route_flows(results: Any, at: dt.date | str | None = None,
                           cohorts: Sequence[str] | None = None) -> Any:
    """People who crossed each route up to the end of the step holding ``at``, the mean over
    replicates, ``(route, cohort)``, with ``route_from`` and ``route_to`` coordinates."""
    ds = results.dataset
    if "flow" not in ds:
        raise KeyError("the variable 'flow' was not recorded in this run; run again with it "
                       "in `record=` (flowsim run --record all)")
    step = ds.sizes["time"] - 1 if at is None else _step_holding(ds, at)
    flow = ds["flow"].isel(time=slice(0, step + 1)).sum("time").mean("replicate")
    if cohorts is not None:
        flow = flow.sel(cohort=list(cohorts))
    return flow


def _depths(src: list[str], dst: list[str], weight: np.ndarray, origin: str,
            used: np.ndarray) -> dict[str, int]:
    """Each country's column: the longest path from the origin along routes that carried
    people, once the routes that close a loop are set aside (a depth-first search from the
    origin, heaviest routes first: a route back to a country on the current path closes a
    loop). The longest path, not the shortest, puts a transit country before the countries
    people reach through it, so that the main stream runs left to right."""
    nxt: dict[str, list[tuple[float, str]]] = {}
    for s, d, w, u in zip(src, dst, weight, used, strict=True):
        if u and s != d:
            nxt.setdefault(s, []).append((float(w), d))
    for routes in nxt.values():
        routes.sort(key=lambda t: -t[0])
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    order: list[str] = []  # post-order: reversed, a topological order of the kept routes
    keep: set[tuple[str, str]] = set()
    stack = [(origin, iter(nxt.get(origin, ())))]
    state[origin] = 1
    while stack:
        c, it = stack[-1]
        for _, d in it:
            if state.get(d) == 1:  # closes a loop: set aside
                continue
            keep.add((c, d))
            if d not in state:
                state[d] = 1
                stack.append((d, iter(nxt.get(d, ()))))
                break
        else:
            state[c] = 2
            order.append(c)
            stack.pop()
    depth = {origin: 0}
    for c in reversed(order):
        for _, d in nxt.get(c, ()):
            if (c, d) in keep:
                depth[d] = max(depth.get(d, 0), depth[c] + 1)
    return depth


def _band(ax: Any, x0: float, x1: float, top0: float, top1: float, width: float,
          colour: str) -> None:
    """A band from ``(x0, top0)`` to ``(x1, top1)``, ``width`` thick, curved in the middle."""
    xm = (x0 + x1) / 2
    verts = [(x0, top0), (xm, top0), (xm, top1), (x1, top1),
             (x1, top1 - width), (xm, top1 - width), (xm, top0 - width), (x0, top0 - width),
             (x0, top0)]
    codes = [MPath.MOVETO, MPath.CURVE4, MPath.CURVE4, MPath.CURVE4,
             MPath.LINETO, MPath.CURVE4, MPath.CURVE4, MPath.CURVE4, MPath.CLOSEPOLY]
    ax.add_patch(PathPatch(MPath(verts, codes), facecolor=colour, edgecolor="none",
                           alpha=0.72, zorder=1))


def route_flows(results: Any, at: dt.date | str | None = None,
                cohorts: str | Sequence[str] | None = None, *, min_share: float = 0.002,
                figsize: tuple[float, float] | None = None) -> Figure:
    """People along routes from the origin, through transit, to destinations, by cohort.

    Parameters
    ----------
    results : Results
        Needs ``flow``.
    at : date or str, optional
        Count crossings up to the end of the step holding this date (default: the end).
    cohorts : str or sequence of str, optional
        Cohorts drawn (default: all, each in its colour).
    min_share : float
        Routes that carried less than this share of all crossings are left out (their
        people are counted in the source line), so that the diagram stays legible.
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    ds = results.dataset
    names = _cohort_names(cohorts)
    flow = cumulative_route_flows(results, at, names)
    origin = ds.attrs["origin"]
    src = [str(s) for s in flow["route_from"].values]
    dst = [str(d) for d in flow["route_to"].values]
    values = np.asarray(flow.values, dtype=float)  # (route, cohort)
    per_route = values.sum(axis=1)
    total = float(per_route.sum())
    if total <= 0:
        raise ValueError("nobody crossed a route in this run (up to that date)")
    used = per_route >= min_share * total
    depth = _depths(src, dst, per_route, origin, used)
    forward = np.array([u and s in depth and d in depth and depth[d] > depth[s]
                        for s, d, u in zip(src, dst, used, strict=True)])
    left_out = float(per_route[~forward].sum())

    countries = sorted(depth, key=lambda c: depth[c])
    inflow = {c: float(per_route[forward & (np.array(dst) == c)].sum()) for c in countries}
    outflow = {c: float(per_route[forward & (np.array(src) == c)].sum()) for c in countries}
    size = {c: max(inflow[c], outflow[c]) for c in countries}
    columns = max(depth.values()) + 1
    by_column = [sorted((c for c in countries if depth[c] == k and size[c] > 0),
                        key=lambda c: -size[c]) for k in range(columns)]
    biggest = max(sum(size[c] for c in col) for col in by_column)
    most = max(len(col) for col in by_column)
    scale = (1.0 - GAP * (most - 1)) / biggest if biggest > 0 else 1.0

    # the bars: top to bottom in each column, centred vertically
    top: dict[str, float] = {}
    for col in by_column:
        height = sum(size[c] * scale for c in col) + GAP * (len(col) - 1)
        y = 1.0 - (1.0 - height) / 2
        for c in col:
            top[c] = y
            y -= size[c] * scale + GAP

    label = dict(zip((str(c) for c in ds["country"].values),
                     (str(n) for n in ds["country_name"].values), strict=True)) \
        if "country_name" in ds.coords else {}
    cohort_names = [str(k) for k in flow["cohort"].values]
    colours = {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(cohort_names)}
    fig = new_figure(figsize or (min(16.0, 3.0 + 1.7 * columns), 3.8 + 0.28 * most))
    ax = fig.add_subplot()
    bar_w = 0.05
    x_of = {c: depth[c] * 1.0 for c in countries}

    out_cursor = dict(top)
    in_cursor = dict(top)
    # bands leave each bar in the order of their ends, top first, and reach each bar in the
    # order of their starts, so that bands out of and into the same bar do not cross
    order = sorted(np.flatnonzero(forward), key=lambda r: (-top[src[r]], -top[dst[r]]))
    for r in order:
        s, d = src[r], dst[r]
        for k_i, k in enumerate(cohort_names):
            w = values[r, k_i] * scale
            if w <= 0:
                continue
            _band(ax, x_of[s] + bar_w / 2, x_of[d] - bar_w / 2, out_cursor[s], in_cursor[d], w,
                  colours[k])
            out_cursor[s] -= w
            in_cursor[d] -= w
    for c in countries:
        if size[c] <= 0:
            continue
        h = size[c] * scale
        ax.add_patch(Rectangle((x_of[c] - bar_w / 2, top[c] - h), bar_w, h,
                               facecolor=NODE_COLOUR, edgecolor="none", zorder=3))
        first = depth[c] == 0  # the origin's label on its left, the others on their right
        ax.annotate(f"{label.get(c, c)}\n{size[c]:,.0f}" if first else
                    f"{label.get(c, c)} {size[c]:,.0f}", xy=(x_of[c], top[c] - h / 2),
                    xytext=(-6 if first else 6, 0), textcoords="offset points",
                    ha="right" if first else "left", va="center", fontsize=7.5, zorder=4,
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none",
                          "alpha": 0.7})
    for k in range(columns):
        ax.text(k, 1.04, "origin" if k == 0 else f"{k} route{'s' if k > 1 else ''} away",
                ha="center", va="bottom", fontsize=8.5, color="0.3",
                transform=ax.transData)
    ax.set_xlim(-0.45, columns - 1 + 0.55)
    ax.set_ylim(-0.02, 1.1)
    ax.axis("off")
    from matplotlib.patches import Patch

    if len(cohort_names) > 1:
        ax.legend(handles=[Patch(color=colours[k], alpha=0.72, label=k.replace("_", " "))
                           for k in cohort_names], loc="lower left",
                  bbox_to_anchor=(0.0, -0.08), ncols=min(5, len(cohort_names)),
                  frameon=False, fontsize=8, title="cohort", title_fontsize=8)
    step = ds.sizes["time"] - 1 if at is None else _step_holding(ds, at)
    end = day(ds["time"].values[step])
    title(ax, f"Routes taken by people from {_origin_name(results)}, up to {end:%-d %B %Y}"
          f"{_cohort_label(results, names)}")
    note = ("Crossings summed over steps, mean over replicates; a country's bar holds "
            "everyone who entered or left it.")
    if left_out > 0:
        note += (f" Not drawn: {left_out:,.0f} crossings on minor routes or routes back "
                 "towards the origin or sideways.")
    source_line(fig, source_note(results, note))
    return fig
