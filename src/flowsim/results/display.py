"""How results show themselves in a notebook: an HTML card (pure string building).

:func:`card` is the frame every flowsim object's ``_repr_html_`` uses (a title, a table of
facts, folded sections); :func:`results_html` is a run's: its identity and provenance, the
variables recorded, and the headline numbers, whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

__all__ = ["card", "results_html"]

_STYLE = ("font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;"
          "line-height:1.4;max-width:64em")


def card(title: str, facts: Sequence[tuple[str, Any]],
         sections: Sequence[tuple[str, str, bool]] = ()) -> str:
    """An HTML card: ``title``, a table of ``(label, value)`` facts (values escaped), and
    ``(summary, html, open)`` sections folded in ``<details>``."""
    rows = "".join(f"<tr><th style='text-align:left;padding:1px 12px 1px 0;font-weight:500'>"
                   f"{escape(str(k))}</th><td style='text-align:left'>{escape(str(v))}</td>"
                   "</tr>" for k, v in facts if v is not None and v != "")
    parts = "".join(f"<details{' open' if is_open else ''}><summary>{escape(s)}</summary>"
                    f"{html}</details>" for s, html, is_open in sections)
    return (f"<div style=\"{_STYLE}\"><div style='font-weight:600;font-size:14px'>"
            f"{escape(title)}</div><table style='border-collapse:collapse;margin:0.2em 0 "
            f"0.4em'>{rows}</table>{parts}</div>")


def results_html(results: Any) -> str:
    """The notebook card of :class:`flowsim.Results` (or streamed results)."""
    ds = results.dataset
    a = ds.attrs
    start = str(ds["step_start"].values[0])[:10]
    end = str(ds["time"].values[-1])[:10]
    variables = [str(v) for v in ds.data_vars if v != "params"]
    facts = [("scenario", f"{a.get('scenario_name', '?')} (hash {a.get('scenario_hash')})"),
             ("replicates", f"{results.replicates:,}"),
             ("steps", f"{ds.sizes['time']} from {start} to {end}"),
             ("seed", a.get("seed_entropy")), ("sampling", a.get("sampling")),
             ("parameters", a.get("parameter_uncertainty")),
             ("posterior", a.get("posterior_file")), ("flowsim", a.get("flowsim_version"))]
    var_rows = "".join(f"<li><code>{escape(v)}</code> {escape(str(ds[v].dims))}: "
                       f"{escape(str(ds[v].attrs.get('long_name', '')))}</li>"
                       for v in variables)
    sections = [(f"{len(variables)} variables", f"<ul>{var_rows}</ul>", False)]
    try:  # a streamed run's card reads its streamed quantiles, not a million replicates
        table = results.summary(exact=False) if hasattr(results, "levels") else \
            results.summary()
    except (KeyError, ValueError):  # nothing recorded that the summary reads
        table = None
    if table is not None and len(table):
        sections.append(("headline numbers (median and 90% interval)",
                         table.to_html(index=False, float_format=lambda x: f"{x:,.4g}",
                                       border=0), True))
    return card(f"flowsim.Results {a.get('scenario_name', '?')!s}", facts, sections)
