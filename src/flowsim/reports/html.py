"""One self-contained HTML report of a run, a comparison or a calibration (``report.html``).

The page holds everything in itself: the figures as SVG (vector, embedded as ``data:``
images), the tables, the scenario's summary card and the provenance. It loads no script,
font, style sheet or image from anywhere, so it reads offline and can be sent by mail.

* :func:`run_report`, :func:`comparison_report`, :func:`calibration_report` build the page
  from what is in memory (what ``--report`` on ``flowsim run``, ``compare`` and
  ``calibrate`` uses);
* :func:`flowsim.reports.directory.write_report` builds it from a directory those commands
  wrote (``flowsim report DIR``), whichever it is, and writes it all or nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from flowsim._version import __version__
from flowsim.results.cf import provenance_line
from flowsim.scenario.display import scenario_html

__all__ = ["REPORT_FILE", "calibration_report", "comparison_report", "figure_data_uri",
           "run_report"]

REPORT_FILE = "report.html"

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1a1a1a;
margin:0;background:#fff;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:1.5em 1.2em 3em}
h1{font-size:1.6em;margin:0.2em 0 0.1em}h2{font-size:1.25em;margin:1.6em 0 0.5em;
border-bottom:1px solid #ddd;padding-bottom:0.2em}
.lede{color:#444;margin:0 0 1em}
figure{margin:1.2em 0 2em}figure img{max-width:100%;height:auto;display:block;
border:1px solid #eee}figcaption{font-size:0.85em;color:#555;margin-top:0.3em}
table.data{border-collapse:collapse;font-size:0.85em;margin:0.5em 0 1em;
font-variant-numeric:tabular-nums}
table.data th,table.data td{padding:2px 10px;border-bottom:1px solid #eee;text-align:right}
table.data th:first-child,table.data td:first-child{text-align:left}
table.data thead th{border-bottom:1px solid #999;background:#fafafa}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:2px 14px;font-size:0.9em}
dl.facts dt{font-weight:600}dl.facts dd{margin:0}
.skipped{color:#8a4b00;font-size:0.85em}
nav a{margin-right:1em}
code{font-size:0.92em}
"""


def figure_data_uri(fig: Any) -> str:
    """A figure as an SVG ``data:`` URI (vector; text drawn as paths, so no font is
    needed to read it)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _table(df: Any, columns: Sequence[str] | None = None, formats: Mapping[str, str] | None
           = None) -> str:
    """A DataFrame as an HTML table, every row, numbers with thousands separators."""
    import numpy as np

    cols = list(columns) if columns is not None else list(df.columns)
    formats = dict(formats or {})

    def cell(c: str, v: Any) -> str:
        if isinstance(v, (float, np.floating)) and not np.isfinite(v):
            return "–"
        if c in formats:
            try:
                return escape(format(v, formats[c]))
            except (TypeError, ValueError):
                return escape(str(v))
        if isinstance(v, (int, np.integer)):
            return f"{int(v):,}"
        if isinstance(v, (float, np.floating)):
            return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
        return escape(str(v))

    head = "".join(f"<th>{escape(str(c).replace('_', ' '))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{cell(c, r[c])}</td>" for c in cols) + "</tr>"
                   for r in df.to_dict("records"))
    return f"<table class='data'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _facts(rows: Sequence[tuple[str, Any]]) -> str:
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in rows
                    if v not in (None, ""))
    return f"<dl class='facts'>{items}</dl>"


def _figures(figures: Mapping[str, Any], skipped: Sequence[str]) -> str:
    parts = []
    for stem, fig in figures.items():
        axes = [ax for ax in fig.axes if ax.get_visible()]
        caption = (fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None
                   else axes[0].get_title(loc="left") if axes else stem)
        parts.append(f"<figure id='fig-{escape(stem)}'><img alt='{escape(caption)}' "
                     f"src='{figure_data_uri(fig)}'><figcaption>{escape(stem)}: "
                     f"{escape(caption)}</figcaption></figure>")
    if skipped:
        parts.append("<p class='skipped'>Not drawn: " + "; ".join(escape(s) for s in skipped)
                     + ".</p>")
    return "".join(parts)


def _page(title: str, lede: str, sections: Sequence[tuple[str, str]]) -> str:
    nav = "".join(f"<a href='#s{i}'>{escape(h)}</a>" for i, (h, _) in enumerate(sections))
    body = "".join(f"<section id='s{i}'><h2>{escape(h)}</h2>{html}</section>"
                   for i, (h, html) in enumerate(sections))
    made = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<link rel='icon' href='data:,'><title>{escape(title)}</title>"
            f"<meta name='generator' content='flowsim {__version__}'>"
            f"<style>{_CSS}</style></head><body><main><h1>{escape(title)}</h1>"
            f"<p class='lede'>{escape(lede)}</p><nav>{nav}</nav>{body}"
            f"<p class='lede' style='margin-top:3em;font-size:0.8em'>Made by flowsim "
            f"{__version__} on {made}.</p></main></body></html>\n")


def _provenance_rows(attrs: Mapping[str, Any], run_info: Mapping[str, Any] | None
                     ) -> list[tuple[str, Any]]:
    info = dict(run_info or {})
    command = info.get("command", {}) if isinstance(info.get("command"), Mapping) else {}
    return [("scenario", f"{attrs.get('scenario_name')} (hash {attrs.get('scenario_hash')})"),
            ("replicates", attrs.get("replicates")),
            ("seed", attrs.get("seed_entropy")),
            ("parameters", attrs.get("parameter_uncertainty")),
            ("posterior", attrs.get("posterior_file")),
            ("posterior hash", attrs.get("posterior_hash")),
            ("sampling", attrs.get("sampling")),
            ("flowsim", attrs.get("flowsim_version")),
            ("made", attrs.get("created")),
            ("repeat with", command.get("repeat") or attrs.get("command"))]


def run_report(results: Any, run_info: Mapping[str, Any] | None = None,
               which: str = "all") -> str:
    """The HTML report of a run: headline numbers, the figures for a paper, the scenario,
    the provenance.

    Parameters
    ----------
    results : Results or StreamedResults
    run_info : mapping, optional
        What ``run.json`` says (the command line, timings).
    which : {"all", "default"}
        The figures (:data:`flowsim.reports.run.PAPER_FIGURES` or ``FIGURES``).
    """
    from flowsim.reports.run import draw_figures

    a = {"replicates": results.replicates, **results.dataset.attrs}
    figures, skipped = draw_figures(results, which)
    summary = results.summary()
    sections = [
        ("Headline numbers", "<p>Median and 90% interval over replicates.</p>"
         + _table(summary, [c for c in ("quantity", "place_name", "when", "median", "low",
                                        "high") if c in summary])),
        ("Figures", _figures(figures, skipped)),
    ]
    if results.scenario is not None:
        sections.append(("Scenario", scenario_html(results.scenario)))
    sections.append(("Provenance", _facts(_provenance_rows(a, run_info))))
    return _page(f"flowsim run: {a.get('scenario_name', '?')}", provenance_line(a),
                 sections)


def comparison_report(comparison: Any, run_info: Mapping[str, Any] | None = None) -> str:
    """The HTML report of a comparison: the effects table per counterfactual, the figures,
    the baseline scenario, the provenance."""
    from flowsim.plots.effects import _attrs, _scenario
    from flowsim.reports.comparison import PAPER_FIGURES
    from flowsim.reports.run import figure_functions

    a = {"replicates": int(comparison.values.sizes["replicate"]), **_attrs(comparison)}
    figures, skipped = {}, []
    for stem, (func, _) in figure_functions({k: (v, ()) for k, v in PAPER_FIGURES.items()}
                                            ).items():
        try:
            figures[stem] = func(comparison)
        except (KeyError, ValueError) as e:
            skipped.append(f"{stem}: {str(e).strip(chr(39))}")
    eff = comparison.effects()
    lo, hi = comparison.quantiles
    tables = "".join(
        f"<h3>{escape(cf)} against {escape(comparison.baseline)}</h3>"
        + _table(rows, [c for c in ("outcome", "place_name", "baseline",
                                    "counterfactual_median", "difference", "difference_low",
                                    "difference_high", "ratio") if c in rows],
                 {"difference": "+,.0f", "difference_low": "+,.0f",
                  "difference_high": "+,.0f", "ratio": ".3f"})
        for cf, rows in eff.groupby("counterfactual", sort=False))
    sections = [
        ("Effects", f"<p>Paired differences counterfactual − baseline: median and "
         f"{hi - lo:.0%} interval over replicates (common random numbers).</p>" + tables),
        ("Figures", _figures(figures, skipped)),
    ]
    scenario = _scenario(comparison)
    if scenario is not None:
        sections.append(("Baseline scenario", scenario_html(scenario)))
    sections.append(("Provenance", _facts(_provenance_rows(a, run_info))))
    return _page(f"flowsim comparison against {comparison.baseline}",
                 f"Counterfactuals: {', '.join(comparison.counterfactuals)}. "
                 + provenance_line(a), sections)


def calibration_report(posterior: Any, scenario: Any, results: Any, table: Any,
                       run_info: Mapping[str, Any] | None = None,
                       validation: Any = None) -> str:
    """The HTML report of a calibration: every target against the posterior predictive,
    the validation set (``validation``: its table, if any; never calibrated on), the
    generations, the parameters, the figures, the scenario, the provenance."""
    from flowsim.calibration.convergence import convergence_note
    from flowsim.plots import calibration as plots_calibration
    from flowsim.plots import run as plots
    from flowsim.reports.calibration import _extra_figures, _on_fan

    info = plots_calibration.information(posterior, scenario)
    converged = posterior.converged
    # the figures say "not converged" unless the sampler reached its tolerance
    title = plots_calibration.convergence_title(converged,
                                                posterior.attrs.get("stop_reason", ""))
    figures = {
        "targets": plots_calibration.target_check(table, title=title),
        "posterior_marginals": plots_calibration.posterior_marginals(posterior, scenario),
        "posterior_pairs": plots_calibration.posterior_pairs(posterior, scenario,
                                                             names=list(info.index[:6])),
    }
    skipped = []
    figures.update(_extra_figures(posterior, table, validation))
    if results is not None:
        figures["fan_departures"] = plots_calibration.mark_unconverged(
            plots.fan_chart(results, targets=_on_fan(scenario)), converged)
    else:
        skipped.append("fan_departures: the posterior-predictive run was not given")
    a = dict(posterior.attrs)
    targets = table.copy()
    if "met" in targets:
        targets["met"] = targets["met"].map(lambda m: "yes" if m else "no")
    cols = [c for c in ("column" if "column" in targets else "target", "country",
                        "observable", "figure", "median", "lower", "upper", "met",
                        "distance") if c in targets]
    diag = posterior.diagnostics()
    pars = info.reset_index().rename(columns={"index": "parameter"})
    sections = [
        ("Targets", f"<p>{int(table['met'].sum())} of {len(table)} targets met by the "
         "posterior-predictive median.</p>" + _table(targets, cols, {"distance": ".3f"})),
        *([("Validation (not calibrated on)",
            f"<p>{int(validation['met'].sum())} of {len(validation)} validation figures "
            "within their range or error (never used in the calibration).</p>"
            + _table(validation.assign(met=validation["met"].map(
                lambda m: "yes" if m else "no")), cols, {"distance": ".3f"}))]
          if validation is not None and len(validation) else []),
        ("Figures", _figures(figures, skipped)),
        ("Generations", _table(diag, formats={"epsilon": ".4f", "acceptance_rate": ".1%"})),
        ("Parameters", _table(pars)),
        ("Scenario", scenario_html(scenario)),
        ("Provenance", _facts([
            ("scenario", f"{a.get('scenario_name')} (hash {a.get('scenario_hash')})"),
            ("method", a.get("method")), ("stopped", a.get("stop_reason")),
            ("converged", convergence_note(a)),
            ("particles", posterior.size), ("ESS", f"{posterior.ess:,.0f}"),
            ("seed", (run_info or {}).get("seed", {}).get("given")),
            ("flowsim", a.get("flowsim_version")),
            ("repeat with", (run_info or {}).get("command", {}).get("repeat"))])),
    ]
    return _page(f"flowsim calibration: {a.get('scenario_name', '?')}",
                 f"ABC-SMC ({a.get('method')}): {posterior.size:,} particles after "
                 f"{len(posterior.generations)} generations; final tolerance "
                 f"{posterior.epsilon:.4f}.", sections)

