"""A scenario shown in a notebook or a report: a summary card in HTML (pure string building).

:func:`scenario_html` is what ``Scenario._repr_html_`` returns and what the HTML report
prints under "Scenario": the calendar, the countries by role, the routes by regime, the
cohorts, shocks and policies, the parameters and targets, each list folded in a
``<details>`` element so that the card stays short. It uses no output library.
"""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import Any

__all__ = ["scenario_html", "scenario_text"]

_STYLE = ("font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;"
          "line-height:1.4;max-width:60em")


def _value(x: Any) -> str:
    """A number or a parameter reference, as a scenario file gives it."""
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return f"{x:,.6g}"
    return escape(str(x))


def _list(summary: str, items: list[str]) -> str:
    if not items:
        return ""
    body = "".join(f"<li>{i}</li>" for i in items)
    return (f"<details><summary>{summary}</summary><ul style='margin:0.2em 0 0.4em 1.2em;"
            f"padding:0'>{body}</ul></details>")


def scenario_text(scenario: Any) -> list[tuple[str, str]]:
    """The card's facts as ``(label, text)`` rows (plain text, for tables and tests)."""
    cal = scenario.calendar
    roles = Counter(r for c in scenario.countries for r in c.roles)
    regimes = Counter(r.regime for r in scenario.routes)
    origin = next((c for c in scenario.countries if "origin" in c.roles), None)
    rows = [
        ("calendar", f"{cal.start} to {cal.end}, one step a {cal.step}"),
        ("origin", f"{origin.name} ({origin.id})" if origin is not None else "none"),
        ("countries", f"{len(scenario.countries)} ("
         + ", ".join(f"{n} {r}" for r, n in sorted(roles.items())) + ")"),
        ("routes", f"{len(scenario.routes)} ("
         + ", ".join(f"{n} {r.replace('_', ' ')}" for r, n in regimes.most_common()) + ")"),
        ("cohorts", f"{len(scenario.cohorts)}, "
         + f"{sum(c.population for c in scenario.cohorts if isinstance(c.population, int)):,}"
         " people"),
        ("shocks", str(len(scenario.shocks))),
        ("policies", str(len(scenario.policies))),
        ("parameters", (f"{len(scenario.parameters)} ("
                        f"{sum(p.prior is not None for p in scenario.parameters.values())} "
                        "with a prior)")),
        ("targets", str(len(scenario.targets))),
    ]
    return rows


def scenario_html(scenario: Any) -> str:
    """A summary card of a scenario, in HTML.

    Parameters
    ----------
    scenario : Scenario

    Returns
    -------
    str
        A ``<div>`` (no scripts, no external resources), readable offline.
    """
    head = (f"<div style=\"{_STYLE}\"><div style='font-weight:600;font-size:14px'>"
            f"flowsim.Scenario <code>{escape(scenario.name)}</code></div>")
    if scenario.description:
        head += f"<div style='color:#555;margin:0.2em 0 0.4em'>{escape(scenario.description)}</div>"
    rows = "".join(f"<tr><th style='text-align:left;padding:1px 12px 1px 0;font-weight:500'>"
                   f"{escape(k)}</th><td style='text-align:left'>{escape(v)}</td></tr>"
                   for k, v in scenario_text(scenario))
    table = f"<table style='border-collapse:collapse;margin:0.2em 0 0.4em'>{rows}</table>"
    countries = [f"{escape(c.name)} (<code>{escape(c.id)}</code>): "
                 f"{escape(', '.join(c.roles))}"
                 + (f"; groups {escape(', '.join(c.groups))}" if c.groups else "")
                 for c in scenario.countries]
    groups = [f"<code>{escape(g)}</code>: {escape(', '.join(m))}"
              for g, m in scenario.groups.items()]
    routes = [f"<code>{escape(r.from_)}</code> → <code>{escape(r.to)}</code> "
              f"({escape(r.mode)}, {escape(r.regime.replace('_', ' '))})"
              for r in scenario.routes]
    cohorts = [f"<code>{escape(c.name)}</code>: {_value(c.population)} people, weekly "
               f"hazard {_value(c.baseline_hazard)}" for c in scenario.cohorts]
    shocks = [f"{escape(s.name)} on {s.date}" for s in scenario.shocks]
    policies = [f"<code>{escape(p.name)}</code> from {p.start}"
                + (f" to {p.end}" if p.end else "")
                + (f": {escape(p.description)}" if p.description else "")
                for p in scenario.policies]
    params = [f"<code>{escape(n)}</code> = {_value(p.value)}"
              + (" (prior)" if p.prior is not None else "")
              for n, p in scenario.parameters.items()]
    targets = [f"<code>{escape(t.id)}</code>: {escape(t.observable)}"
               for t in scenario.targets]
    lists = "".join([
        _list(f"{len(countries)} countries", countries), _list(f"{len(groups)} groups", groups),
        _list(f"{len(routes)} routes", routes), _list(f"{len(cohorts)} cohorts", cohorts),
        _list(f"{len(shocks)} shocks", shocks), _list(f"{len(policies)} policies", policies),
        _list(f"{len(params)} parameters", params), _list(f"{len(targets)} targets", targets),
    ])
    return head + table + lists + "</div>"
