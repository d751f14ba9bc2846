"""Figures of a calibration: posterior marginals and pairs, and every target against the model.

Like :mod:`flowsim.plots`, each function returns a :class:`matplotlib.figure.Figure` on an Agg
canvas (no ``pyplot``, no global state).

* :func:`posterior_marginals`: one panel per estimated parameter, the weighted histogram of
  the posterior over the prior density, the declared (starting) value marked.
* :func:`posterior_pairs`: the joint posterior of the most informed parameters
  (:func:`information`), two at a time.
* :func:`target_check`: every target's accepted range (or the values within 2 sds of its
  figure, for one with an error model) and the model's median and interval, each relative
  to the published figure, on one log axis; :func:`validation_check`, the same for the
  validation set (figures never calibrated on);
* :func:`series_check`: every series target (one figure per month, week or window) against
  the model's median and interval, one panel per series;
* :func:`convergence_title` and :func:`mark_unconverged`: the titles of a calibration's
  figures say when it did not converge (:mod:`flowsim.calibration.convergence`).

Parameters whose prior is ``loguniform`` or ``lognormal`` (rates, multipliers, durations
spanning decades) are drawn on a log axis and their spread is measured on the log scale;
the others on a linear one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from flowsim.plots.style import FAN_COLOUR, TARGET_COLOUR, new_figure

__all__ = ["convergence_title", "information", "mark_unconverged", "posterior_marginals",
           "posterior_pairs", "series_check", "target_check", "validation_check"]

PRIOR_COLOUR = "0.45"
START_COLOUR = "#E69F00"
MET_COLOUR = "#009E73"
MISSED_COLOUR = TARGET_COLOUR
RANGE_COLOUR = "#BFD3E6"

_LOG_PRIORS = ("loguniform", "lognormal")
_plain = FuncFormatter(lambda v, _: f"{v:g}")


def _log_axis(axis: Any, subs: tuple[float, ...] = (1.0,)) -> None:
    """Plain numbers (0.5, 1, 2, 1e-05) on a log axis, at 1 (2, 5...) per decade."""
    axis.set_major_locator(LogLocator(base=10.0, subs=subs))
    axis.set_major_formatter(_plain)
    axis.set_minor_formatter(NullFormatter())


def _priors(posterior: Any, scenario: Any) -> list[Any]:
    pars = scenario.parameters
    missing = [n for n in posterior.param_names
               if n not in pars or pars[n].prior is None]
    if missing:
        raise ValueError(f"the scenario gives no prior for {', '.join(missing)}")
    return [pars[n].prior for n in posterior.param_names]


def _is_log(prior: Any) -> bool:
    return prior.dist in _LOG_PRIORS


def _prior_sd(prior: Any) -> float:
    """The prior's standard deviation on the scale its parameter is drawn on."""
    if prior.dist == "loguniform":
        return (math.log(prior.high) - math.log(prior.low)) / math.sqrt(12.0)
    if prior.dist == "lognormal":
        return float(prior.sigma)
    return float(prior.frozen().std())


def _weighted_sd(x: np.ndarray, w: np.ndarray) -> float:
    m = float(w @ x)
    return math.sqrt(max(float(w @ np.square(x - m)), 0.0))


def information(posterior: Any, scenario: Any) -> Any:
    """How much the calibration learnt about each parameter.

    Parameters
    ----------
    posterior : Posterior
    scenario : Scenario
        Gives the priors (and the declared values) of the posterior's parameters.

    Returns
    -------
    pandas.DataFrame
        One row per estimated parameter, most informed first: ``prior``, ``value`` (the
        declared starting value), ``median``, ``q05``, ``q95`` (weighted posterior
        quantiles), ``scale`` (``log`` or ``linear``), ``prior_sd``, ``posterior_sd`` (on
        that scale) and ``sd_ratio`` (posterior over prior: 1 means the targets say nothing
        about it, small means they pin it down).
    """
    import pandas as pd

    from flowsim.calibration import weighted_quantile

    w = posterior.weights / posterior.weights.sum()
    rows = []
    for i, (name, prior) in enumerate(zip(posterior.param_names, _priors(posterior, scenario),
                                          strict=True)):
        x = posterior.particles[:, i]
        log = _is_log(prior)
        sd = _weighted_sd(np.log(x) if log else x, w)
        q = weighted_quantile(x, w, [0.05, 0.5, 0.95])
        rows.append({"parameter": name, "prior": prior.describe(),
                     "value": scenario.parameters[name].value, "median": q[1], "q05": q[0],
                     "q95": q[2], "scale": "log" if log else "linear",
                     "prior_sd": _prior_sd(prior), "posterior_sd": sd})
    df = pd.DataFrame(rows).set_index("parameter")
    df["sd_ratio"] = df["posterior_sd"] / df["prior_sd"]
    return df.sort_values("sd_ratio", kind="stable")


def _grid(prior: Any, x: np.ndarray) -> tuple[np.ndarray, bool]:
    """Where to draw a parameter: its prior's central 99.8 % and the posterior's range."""
    d = prior.frozen()
    lo, hi = (float(v) for v in d.ppf([0.001, 0.999]))
    lo, hi = min(lo, float(x.min())), max(hi, float(x.max()))
    log = _is_log(prior)
    if log:
        return np.geomspace(lo, hi, 200), True
    return np.linspace(lo, hi, 200), False


def _marginal(ax: Any, name: str, prior: Any, x: np.ndarray, w: np.ndarray, start: float,
              ratio: float) -> None:
    grid, log = _grid(prior, x)
    u = np.log10(x) if log else x
    ug = np.log10(grid) if log else grid
    edges = np.linspace(ug[0], ug[-1], 31)
    dens, _ = np.histogram(u, bins=edges, weights=w, density=True)
    xe = 10.0 ** edges if log else edges
    ax.stairs(dens, xe, fill=True, color=FAN_COLOUR, alpha=0.55, lw=0)
    pdf = prior.frozen().pdf(grid)
    if log:  # density of log10(x)
        pdf = pdf * grid * math.log(10.0)
    ax.plot(grid, pdf, color=PRIOR_COLOUR, lw=1.0, ls="--")
    if np.isfinite(start):
        ax.axvline(start, color=START_COLOUR, lw=1.0, ls=":")
    if log:
        ax.set_xscale("log")
        _log_axis(ax.xaxis, (1.0,) if grid[-1] / grid[0] > 30 else (1.0, 2.0, 5.0))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.xaxis.set_major_formatter(_plain)
    ax.set_yticks([])
    ax.tick_params(axis="x", which="both", labelsize=6, pad=1)
    ax.set_title(name, fontsize=6.5, loc="left", pad=2)
    ax.text(0.98, 0.95, f"sd ×{ratio:.2f}", transform=ax.transAxes, ha="right", va="top",
            fontsize=5.5, color="0.3")
    ax.spines[["top", "right", "left"]].set_visible(False)


def posterior_marginals(posterior: Any, scenario: Any, ncols: int = 8,
                        panel: tuple[float, float] = (2.0, 1.45)) -> Figure:
    """One panel per estimated parameter: the posterior over its prior.

    Parameters
    ----------
    posterior : Posterior
    scenario : Scenario
        Gives the priors and the declared (starting) values.
    ncols : int
        Panels per row.
    panel : (float, float)
        Size of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Bars: weighted histogram of the particles (density; of ``log10`` of the value for
        log-scale parameters). Dashed: the prior density. Dotted: the declared value.
        Each panel says its posterior-to-prior sd ratio (see :func:`information`).
    """
    priors = _priors(posterior, scenario)
    info = information(posterior, scenario)
    p = len(priors)
    ncols = max(1, min(ncols, p))
    nrows = math.ceil(p / ncols)
    fig = new_figure((panel[0] * ncols, panel[1] * nrows + 0.9))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    w = posterior.weights / posterior.weights.sum()
    for i, (name, prior) in enumerate(zip(posterior.param_names, priors, strict=True)):
        _marginal(axes.flat[i], name, prior, posterior.particles[:, i], w,
                  float(scenario.parameters[name].value), float(info.loc[name, "sd_ratio"]))
    for ax in axes.flat[p:]:
        ax.set_visible(False)
    fig.legend(handles=[Patch(color=FAN_COLOUR, alpha=0.55, lw=0, label="posterior"),
                        Line2D([], [], color=PRIOR_COLOUR, lw=1, ls="--", label="prior"),
                        Line2D([], [], color=START_COLOUR, lw=1, ls=":",
                               label="declared value")],
               loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    fig.suptitle(f"Posterior marginals: {posterior.attrs.get('scenario_name', '')} "
                 f"({posterior.size:,} particles, ESS {posterior.ess:,.0f})", x=0.01,
                 ha="left", fontsize=11, fontweight="bold")
    return fig


def posterior_pairs(posterior: Any, scenario: Any, names: Sequence[str] | None = None,
                    k: int = 6, figsize: float = 9.0) -> Figure:
    """The joint posterior of a few parameters, two at a time.

    Parameters
    ----------
    posterior : Posterior
    scenario : Scenario
    names : sequence of str, optional
        The parameters to show (default: the ``k`` most informed, :func:`information`).
    k : int
        How many, when ``names`` is not given.
    figsize : float
        Width and height in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Diagonal: weighted histograms. Below: the particles (darker for larger weights).
        Above: the weighted correlation (on the drawing scale).
    """
    if names is None:
        names = list(information(posterior, scenario).index[:k])
    names = list(names)
    unknown = [n for n in names if n not in posterior.param_names]
    if unknown:
        raise KeyError(f"not estimated by this posterior: {', '.join(unknown)}")
    idx = [posterior.param_names.index(n) for n in names]
    pars = scenario.parameters
    logs = [_is_log(pars[n].prior) for n in names]
    x = posterior.particles[:, idx]
    u = np.where(logs, np.log10(np.where(logs, x, 1.0)), x)
    w = posterior.weights / posterior.weights.sum()
    alpha = np.clip(0.15 + 0.85 * w / w.max(), 0.0, 1.0) if w.max() > 0 else 0.5
    n = len(names)
    fig = new_figure((figsize, figsize))
    axes = fig.subplots(n, n, squeeze=False)
    m = w @ u
    cov = ((u - m) * w[:, None]).T @ (u - m)
    sd = np.sqrt(np.diag(cov))
    for r in range(n):
        for c in range(n):
            ax = axes[r, c]
            ax.tick_params(labelsize=6, pad=1)
            if r == c:
                ax.hist(u[:, c], bins=30, weights=w, color=FAN_COLOUR, alpha=0.7)
                ax.set_yticks([])
            elif r > c:
                ax.scatter(u[:, c], u[:, r], s=3, color=FAN_COLOUR, alpha=alpha, lw=0)
            else:
                rho = cov[r, c] / (sd[r] * sd[c]) if sd[r] > 0 and sd[c] > 0 else math.nan
                ax.text(0.5, 0.5, f"ρ = {rho:+.2f}", transform=ax.transAxes, ha="center",
                        va="center", fontsize=9,
                        color="0.2" if abs(rho) >= 0.3 else "0.6")
                ax.set_xticks([])
                ax.set_yticks([])
                ax.spines[:].set_visible(False)
            if r == n - 1:
                ax.set_xlabel(("log10 " if logs[c] else "") + names[c], fontsize=7)
            elif r != c or r < n - 1:
                ax.tick_params(labelbottom=False)
            if c == 0 and r > 0:
                ax.set_ylabel(("log10 " if logs[r] else "") + names[r], fontsize=7)
            elif r > c:
                ax.tick_params(labelleft=False)
    pad = 0.04 * (u.max(axis=0) - u.min(axis=0) + 1e-300)
    lims = np.column_stack([u.min(axis=0) - pad, u.max(axis=0) + pad])
    for r in range(n):
        for c in range(r + 1):
            axes[r, c].set_xlim(*lims[c])
            if r != c:
                axes[r, c].set_ylim(*lims[r])
    fig.suptitle(f"Joint posterior of the {n} most informed parameters", x=0.01, ha="left",
                 fontsize=11, fontweight="bold")
    return fig


def _reference(row: Any) -> float:
    """The figure a target is measured against: its value, or the middle of its range."""
    if np.isfinite(row["value"]) and row["value"] > 0:
        return float(row["value"])
    lo, hi = row["low"], row["high"]
    if np.isfinite(lo) and np.isfinite(hi) and lo > 0:
        return math.sqrt(lo * hi)
    b = lo if np.isfinite(lo) else hi
    return float(b) if np.isfinite(b) and b > 0 else 1.0


def target_check(table: Any, title: str = "Every target against the model",
                 note: str = "") -> Figure:
    """Each target's accepted range and the model's median and interval, relative to the figure.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`flowsim.calibration.predictive_table` (or ``posterior_predictive``).
    title, note : str
        Title, and a line of small print under the axis.

    Returns
    -------
    matplotlib.figure.Figure
        One row per target (per country for ``each: true``). Everything is divided by the
        published figure (or the middle of the published range, or the bound), so that 1 is
        the figure and a shaded band is what the target accepts; one-sided bounds run to the
        edge. Dots: the model's median, green when the target is met; lines: its interval.
    """
    rows = list(table.itertuples(index=False))
    n = len(rows)
    fig = new_figure((8.0, 0.32 * n + 1.4))
    ax = fig.add_subplot()
    ref = [_reference(r._asdict()) for r in rows]
    vals = [v for r, f in zip(rows, ref, strict=True)
            for v in (r.lower / f, r.upper / f, r.median / f, r.low / f, r.high / f)
            if np.isfinite(v) and v > 0]
    lo_edge = min(vals + [0.5]) / 1.3
    hi_edge = max(vals + [2.0]) * 1.3
    for i, (r, f) in enumerate(zip(rows, ref, strict=True)):
        y = n - 1 - i
        a = r.low / f if np.isfinite(r.low) and r.low > 0 else lo_edge
        b = r.high / f if np.isfinite(r.high) else hi_edge
        ax.barh(y, b - a, left=a, height=0.6, color=RANGE_COLOUR, lw=0, zorder=1)
        colour = MET_COLOUR if r.met else MISSED_COLOUR
        lo = max(r.lower / f, lo_edge)
        hi = min(r.upper / f, hi_edge)
        ax.plot([lo, hi], [y, y], color=colour, lw=1.6, zorder=2)
        ax.plot([min(max(r.median / f, lo_edge), hi_edge)], [y], "o", color=colour, ms=5,
                zorder=3)
    labels = [r.column if isinstance(getattr(r, "column", None), str) and r.column else
              f"{r.target}[{r.country}]" if r.country else r.target for r in rows]
    ax.set_yticks(range(n), labels[::-1], fontsize=7.5)
    ax.set_xscale("log")
    ax.set_xlim(lo_edge, hi_edge)
    _log_axis(ax.xaxis, (1.0, 2.0, 5.0))
    ax.axvline(1.0, color="0.5", lw=0.8, ls=":", zorder=0)
    ax.set_xlabel("model ÷ published figure (log scale; 1 = the figure)", fontsize=8.5)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", color="0.9", lw=0.6, which="both")
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_axisbelow(True)
    ax.legend(handles=[
        Patch(color=RANGE_COLOUR, lw=0, label="accepted (or within 2 sd of the figure)"),
        Line2D([], [], color=MET_COLOUR, marker="o", ms=5, lw=1.6,
               label="model median, 90% interval: met"),
        Line2D([], [], color=MISSED_COLOUR, marker="o", ms=5, lw=1.6, label="not met")],
        loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, fontsize=7.5, frameon=False)
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold", pad=22)
    if note:
        fig.supxlabel(note, x=0.01, ha="left", fontsize=7, color="0.35", wrap=True)
    return fig


def validation_check(table: Any, note: str = "") -> Figure:
    """The validation set against the posterior predictive: :func:`target_check` of its
    table (from :func:`flowsim.calibration.predictive_table` of ``scenario.validation``),
    titled as figures that were never calibrated on."""
    return target_check(table, title="Validation set (not calibrated on) against the model",
                        note=note)


def series_check(table: Any, validation: Any = None, ncols: int = 2) -> Figure:
    """Every series against the model: the published figure of each window and the model's
    median and 90 % interval, one panel per series target, on a time axis.

    Each window spans its days: the model's median is a segment over the window and its
    interval a band over it, and the figure is a dot at the window's middle. Windows of
    different lengths (a month, four months) and gaps between them stay visible, and nothing
    is drawn between windows, whose figures count different days.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`flowsim.calibration.predictive_table`; its rows with a ``window`` are
        drawn.
    validation : pandas.DataFrame, optional
        The validation set's table; its series are drawn too (their titles say so).
    ncols : int
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
        Dots: the figures, with a bar over what each accepts (its range, or within 2 sds
        under its error model); segments and bands: the model's median and interval.
    """
    import matplotlib.dates as mdates
    import pandas as pd

    from flowsim.calibration.observation import window_span

    parts = [table.assign(_set="target")]
    if validation is not None and len(validation):
        parts.append(validation.assign(_set="validation"))
    rows = pd.concat(parts, ignore_index=True)
    rows = rows[rows["window"].astype(str) != ""]
    keys = list(dict.fromkeys(zip(rows["_set"], rows["target"], rows["country"].astype(str),
                                  strict=True)))
    n = max(len(keys), 1)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig = new_figure((max(4.6 * ncols, 7.0), 2.6 * nrows + 1.0))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, (kind, target, country) in zip(axes.flat, keys, strict=False):
        r = rows[(rows["_set"] == kind) & (rows["target"] == target)
                 & (rows["country"].astype(str) == country)]
        spans = [window_span(str(w)) for w in r["window"]]
        for (first, last), lo_m, med, hi_m in zip(spans, r["lower"], r["median"], r["upper"],
                                                  strict=True):
            days = np.array([first, last + 1])  # the window's days, its last one included
            ax.fill_between(days, lo_m, hi_m, color=FAN_COLOUR, alpha=0.25, lw=0)
            ax.plot(days, [med, med], color=FAN_COLOUR, lw=1.6)
        mid = np.array([a.astype("datetime64[h]") + (b - a + 1).astype("timedelta64[h]") / 2
                        for a, b in spans])
        lo = np.where(np.isfinite(r["low"]), r["low"], np.nan)
        hi = np.where(np.isfinite(r["high"]), r["high"], np.nan)
        ax.vlines(mid, lo, hi, color=PRIOR_COLOUR, lw=1.0, alpha=0.7)
        colour = [MET_COLOUR if m else MISSED_COLOUR for m in r["met"]]
        ax.scatter(mid, r["value"], color=colour, s=14, zorder=3)
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.tick_params(labelsize=7)
        name = f"{target}[{country}]" if country else target
        ax.set_title(name + (" (validation)" if kind == "validation" else ""), loc="left",
                     fontsize=9, fontweight="bold")
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_ylim(bottom=min(0.0, float(np.nanmin(r["lower"]))))
        if float(np.nanmax(r["upper"])) >= 1000:  # counts of people, not shares
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    for ax in list(axes.flat)[len(keys):]:
        ax.set_visible(False)
    fig.legend(handles=[
        Line2D([], [], color=FAN_COLOUR, lw=1.6,
               label="model median over each window (90% interval shaded)"),
        Line2D([], [], color=MET_COLOUR, marker="o", lw=0, label="figure: met"),
        Line2D([], [], color=MISSED_COLOUR, marker="o", lw=0, label="figure: not met"),
        Line2D([], [], color=PRIOR_COLOUR, lw=1.0,
               label="accepted (or within 2 sd of the figure)")],
        loc="outside lower center", ncols=2, fontsize=7.5, frameon=False)
    fig.suptitle("Every series against the model", x=0.01, ha="left", fontsize=11,
                 fontweight="bold")
    return fig


#: colour of the "not converged" flag in titles
UNCONVERGED_COLOUR = "#b2182b"


def convergence_title(converged: bool | None, reason: str = "") -> str:
    """The title of a calibration's target figure, by its convergence.

    Parameters
    ----------
    converged : bool or None
        :attr:`Posterior.converged <flowsim.calibration.Posterior.converged>` (``None``:
        unknown, a posterior written before flowsim recorded it).
    reason : str
        Why, in a few words (shown when not converged).

    Returns
    -------
    str
        "against the calibrated model" only when converged.
    """
    if converged:
        return "Every target against the calibrated model"
    if converged is None:
        return "Every target against the model (convergence unknown)"
    return "Every target against the model: not converged" + (f" ({reason})" if reason
                                                                else "")


def mark_unconverged(fig: Figure, converged: bool | None) -> Figure:
    """Append "not converged" (or "convergence unknown") to the title of each axes of
    ``fig`` that has a left title, in red; a converged figure is left as it is.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    converged : bool or None

    Returns
    -------
    matplotlib.figure.Figure
        ``fig``.
    """
    if converged:
        return fig
    flag = "not converged" if converged is False else "convergence unknown"
    for ax in fig.axes:
        title = ax.get_title(loc="left")
        if title:
            ax.set_title(f"{title}: {flag}", loc="left", color=UNCONVERGED_COLOUR,
                         fontsize=11, fontweight="bold")
    return fig
