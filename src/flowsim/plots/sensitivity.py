"""The figure of a sensitivity analysis: the parameters that move each headline number most.

:func:`sensitivity_figure` draws one panel per headline outcome of a
:class:`~flowsim.calibration.sensitivity.Sensitivity` (abroad at the end and the stock in each
of the report's groups first, at most :data:`MAX_PANELS`), each with its
:data:`TOP` parameters by the main index: the total and first-order Sobol indices side by
side, or Morris's ``mu_star`` with ``sigma`` as a hollow marker, every bar with its bootstrap
interval. Parameters are named in words (underscores as spaces). The targets' indices are in
``sensitivity.csv``; a figure of them all would be a wall of bars.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from flowsim.plots.style import PALETTE, new_figure, source_line, tidy_axes, title

__all__ = ["MAX_PANELS", "TOP", "sensitivity_figure"]

#: headline outcomes drawn at most
MAX_PANELS = 6
#: parameters per panel
TOP = 8
_COLOURS = {"total_order": PALETTE[0], "first_order": PALETTE[1], "mu_star": PALETTE[0],
            "sigma": PALETTE[3]}
_WORDS = {"total_order": "total (with interactions)", "first_order": "first order (alone)",
          "mu_star": "μ*: mean |change| for a jump of half the prior's probability",
          "sigma": "σ: sd of the changes (interactions, non-linearity)"}


def _words(name: str) -> str:
    return name.replace("_", " ")


def _errors(est: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.nan_to_num(np.clip(np.vstack([est - lo, hi - est]), 0.0, None))


def sensitivity_figure(result: Any, panels: int = MAX_PANELS, top: int = TOP,
                       note: str | None = None) -> Figure:
    """The indices of the headline outcomes, with their intervals.

    Parameters
    ----------
    result : Sensitivity
    panels : int
        Headline outcomes drawn at most (in :meth:`Sensitivity.headline_outcomes` order).
    top : int
        Parameters per panel, by decreasing main index.
    note : str, optional
        The source line under the figure (default: the method, sample and simulations).

    Returns
    -------
    matplotlib.figure.Figure
    """
    outcomes = result.headline_outcomes()[:panels] or list(range(min(panels,
                                                                     len(result.outcomes))))
    cols = 2 if len(outcomes) > 1 else 1
    rows = max(1, math.ceil(len(outcomes) / cols))
    k = min(top, len(result.parameters))
    fig = new_figure((6.2 * cols, 0.32 * k * rows + 1.1 * rows + 1.2))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    sobol = result.method == "sobol"
    kinds = ("total_order", "first_order") if sobol else ("mu_star", "sigma")
    for ax, o in zip(axes, outcomes, strict=False):
        order = result.ranking(o, k)
        y = np.arange(len(order))
        for j, kind in enumerate(kinds):
            est = result.estimate[kind][o, order]
            lo, hi = result.low[kind][o, order], result.high[kind][o, order]
            if sobol or kind == "mu_star":
                off = (-0.2 + 0.4 * j) if sobol else 0.0
                ax.barh(y + off, est, height=0.38 if sobol else 0.6, color=_COLOURS[kind],
                        xerr=_errors(est, lo, hi), error_kw={"elinewidth": 0.8,
                                                             "capsize": 2, "ecolor": "0.25"})
            else:
                ax.errorbar(est, y, xerr=_errors(est, lo, hi), fmt="o", mfc="white",
                            mec=_COLOURS[kind], ecolor=_COLOURS[kind], ms=4, lw=0.8)
        ax.set_yticks(y, [_words(result.parameters[p]) for p in order], fontsize=8)
        ax.invert_yaxis()
        ax.axvline(0, color="0.5", lw=0.8)
        name = result.outcomes[o]
        if sobol and result.randomness is not None:
            share = result.randomness[0][o]
            name += (f" (model randomness: {'under 0.1%' if share < 0.001 else f'{share:.1%}'}"
                     " of the variance)")
        ax.set_title(name, loc="left", fontsize=9, wrap=True)
        ax.set_xlabel("share of the variance" if sobol else "change of the outcome",
                      fontsize=8)
        if sobol:
            ax.set_xlim(min(-0.05, ax.get_xlim()[0]), max(1.0, ax.get_xlim()[1]))
        tidy_axes(ax, grid="x")
    for ax in axes[len(outcomes):]:
        ax.set_visible(False)
    handles = [Patch(color=_COLOURS[kinds[0]], label=_WORDS[kinds[0]])]
    handles.append(Patch(color=_COLOURS[kinds[1]], label=_WORDS[kinds[1]]) if sobol else
                   Line2D([], [], marker="o", ls="", mfc="white", mec=_COLOURS["sigma"],
                          label=_WORDS["sigma"]))
    fig.legend(handles=handles, loc="outside upper right", frameon=False, fontsize=8,
               ncols=2)
    what = "Sobol indices" if sobol else "Morris screening"
    title(fig, f"{result.scenario_name}: {what} over the priors, "
          f"{result.confidence:.0%} bootstrap intervals")
    if note is None:
        size = (f"base sample n = {result.samples}" if sobol
                else f"{result.samples} trajectories")
        note = (f"{len(result.parameters)} parameters varied over their priors, {size}, "
                f"{result.simulations:,} simulations (one replicate per parameter set).")
    source_line(fig, note)
    return fig
