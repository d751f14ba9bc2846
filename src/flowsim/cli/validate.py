"""``flowsim validate FILE...``: check scenario files and summarise the valid ones.

The summary is built as plain data by :func:`summarize` (which ``--json`` prints as is) and
drawn for people by :func:`render_summary`; both are thin views of the :class:`Scenario`.
"""

from __future__ import annotations

import datetime as dt
import json
from calendar import monthrange
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from flowsim.cli._common import (
    EXIT_BAD_INPUT,
    err_console,
    fmt_number,
    handle_input_errors,
    out_console,
    print_problems,
)
from flowsim.cli.options import AllowRoots, MaxSteps
from flowsim.errors import Problem, ScenarioError
from flowsim.scenario import Scenario, read_scenario
from flowsim.scenario.calendar import step_edges
from flowsim.scenario.model import REGIMES, Target

__all__ = ["render_summary", "summarize", "target_figure", "validate"]

ROLES = ("origin", "transit", "destination")


def validate(
    files: Annotated[list[Path], typer.Argument(
        help="Scenario files (YAML) to check.", show_default=False)],
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print one JSON document on stdout instead of text.")] = False,
    allow_root: AllowRoots = None,
    max_steps: MaxSteps = None,
) -> None:
    """Check scenario files: print a summary of each valid one, or every problem found.

    Exits with status 0 when every file is valid (warnings allowed) and 2 when any file
    has an error.
    """
    with handle_input_errors():
        reports = [_check(f, allow_root or (), max_steps) for f in files]
    if as_json:
        doc = {"files": [{"file": str(f), "ok": s is not None,
                          "summary": summarize(s) if s is not None else None,
                          "problems": [p.to_dict() for p in problems]}
                         for f, s, problems in reports]}
        for entry, (f, s, _) in zip(doc["files"], reports, strict=True):
            changes = _overlay_changes(f, s, allow_root or (), max_steps) if s else None
            if changes is not None:
                entry["extends"], diff = changes
                entry["changes"] = [{"kind": c.kind, "path": c.path, "text": c.text}
                                    for c in diff]
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        out, err = out_console(), err_console()
        for i, (f, s, problems) in enumerate(reports):
            if s is not None:
                if i:
                    out.print()
                changes = _overlay_changes(f, s, allow_root or (), max_steps)
                if changes is None:
                    render_summary(summarize(s), str(f), problems, out)
                else:  # an overlay: what it changes, not the whole merged scenario
                    _render_changes(f, changes, problems, out)
            else:
                print_problems(problems, err)
                err.print(f"{f}: invalid ({_counts(problems)})", soft_wrap=True)
    if any(s is None for _, s, _ in reports):
        raise typer.Exit(EXIT_BAD_INPUT)


def _overlay_changes(file: Path, scenario: Scenario, allow: Any, max_steps: int | None
                     ) -> tuple[str, list[Any]] | None:
    """For an overlay (a file with ``extends:``), the file it extends and what it changes
    against it; ``None`` for any other file."""
    import yaml

    from flowsim.scenario.diff import scenario_diff

    try:
        top = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None
    parent = top.get("extends") if isinstance(top, dict) else None
    if not isinstance(parent, str):
        return None
    path = (file.parent / parent).resolve()
    try:  # it loaded as the overlay's parent a moment ago, under the same rules
        base, _ = read_scenario(path, allow=allow, max_steps=max_steps)
    except (ScenarioError, OSError):
        return None
    return str(path), scenario_diff(base, scenario)


def _render_changes(file: Path, changes: tuple[str, list[Any]], warnings: list[Problem],
                    console: Any) -> None:
    parent, diff = changes
    console.print(f"{file} (valid): an overlay of {parent} with {len(diff)} "
                  f"change{'s' if len(diff) != 1 else ''}", soft_wrap=True, markup=False,
                  highlight=False)
    for c in diff:
        mark = {"added": "+", "removed": "-", "changed": "~"}[c.kind]
        console.print(f"  {mark} {c.text}", soft_wrap=True, markup=False, highlight=False)
    if warnings:
        console.print(f"  Warnings ({len(warnings)})", style="bold yellow")
        for w in warnings:
            console.print(f"    {w}", soft_wrap=True, markup=False, highlight=False)
    console.print("  (flowsim diff BASE OVERLAY says the same; validate the base for its "
                  "summary)", markup=False, highlight=False)


def _check(file: Path, allow: Any = (), max_steps: int | None = None
           ) -> tuple[Path, Scenario | None, list[Problem]]:
    try:
        scenario, warnings = read_scenario(file, allow=allow, max_steps=max_steps)
    except ScenarioError as e:
        return file, None, e.problems
    return file, scenario, warnings


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _counts(problems: list[Problem]) -> str:
    n_err = sum(p.severity == "error" for p in problems)
    n_warn = len(problems) - n_err
    return _plural(n_err, "error") + (f", {_plural(n_warn, 'warning')}" if n_warn else "")


# --------------------------------------------------------------------------------------------
# the summary as data
# --------------------------------------------------------------------------------------------


def summarize(s: Scenario) -> dict[str, Any]:
    """A valid scenario's outline as JSON-ready data.

    Keys: ``name``, ``description``, ``horizon`` (``start``, ``end``, ``step``, ``steps``,
    ``last_step_days``, ``last_step_partial``), ``countries`` (``count`` and ids
    ``by_role``), ``routes`` (``count`` and route ids ``by_regime``), ``cohorts`` (name,
    population and the parameter that gives it, if any), ``population`` (total),
    ``shocks``, ``policies`` (in date order), ``parameters`` (value and prior) and
    ``targets`` (observable, kind and the figure as text).
    """
    edges = step_edges(s.calendar)
    last_days = (edges[-1] - edges[-2]).days
    by_regime: dict[str, list[str]] = {}
    for r in s.routes:
        by_regime.setdefault(r.regime, []).append(r.key)
    order = {p.name: i for i, p in enumerate(s.policies)}
    populations = {c.name: _number(s, c.population) for c in s.cohorts}
    return {
        "name": s.name,
        "description": s.description,
        "horizon": {
            "start": s.calendar.start.isoformat(),
            "end": s.calendar.end.isoformat(),
            "step": s.calendar.step,
            "steps": len(edges) - 1,
            "last_step_days": last_days,
            "last_step_partial": _last_step_partial(s.calendar, edges),
        },
        "countries": {
            "count": len(s.countries),
            "by_role": {role: [c.id for c in s.countries if role in c.roles] for role in ROLES},
        },
        "routes": {
            "count": len(s.routes),
            "by_regime": {g: by_regime[g] for g in REGIMES if g in by_regime},
        },
        "cohorts": [{"name": c.name, "population": populations[c.name],
                     "parameter": c.population if isinstance(c.population, str) else None}
                    for c in s.cohorts],
        "population": sum(populations.values()),
        "shocks": [{"name": sh.name, "date": sh.date.isoformat(),
                    "end": sh.end.isoformat() if sh.end else None} for sh in s.shocks],
        "policies": [{"start": p.start.isoformat(), "end": p.end.isoformat() if p.end else None,
                      "name": p.name}
                     for p in sorted(s.policies, key=lambda p: (p.start, order[p.name]))],
        "parameters": [{"name": n, "value": p.value,
                        "prior": p.prior.describe() if p.prior is not None else None}
                       for n, p in s.parameters.items()],
        "targets": [{"id": t.id, "observable": t.observable, "kind": t.kind,
                     "figure": target_figure(t)} for t in s.targets],
        "validation": [{"id": t.id, "observable": t.observable, "kind": t.kind,
                        "figure": target_figure(t)} for t in s.validation],
    }


def _number(s: Scenario, v: float | str) -> float | int:
    """A field's number, a parameter's name read as the parameter's value (counts rounded)."""
    if isinstance(v, str):
        return round(s.parameters[v].value)
    return v


def _last_step_partial(calendar: Any, edges: list[dt.date]) -> bool:
    """Whether the last step is cut short by the end of the horizon."""
    if calendar.step == "day":
        return False
    if calendar.step == "week":
        return (edges[-1] - edges[-2]).days < 7
    # months are anchored on the start date's day of the month (see step_edges)
    index = calendar.start.year * 12 + calendar.start.month - 1 + len(edges) - 1
    year, month = divmod(index, 12)
    try:
        whole = dt.date(year, month + 1,
                        min(calendar.start.day, monthrange(year, month + 1)[1]))
    except ValueError:  # past year 9999
        return True
    return edges[-1] < whole


def target_figure(t: Target) -> str:
    """The published figure of a target in words: ``about 500,000 (±25%)``, ``1 to 2``
    (a series, or a figure with an error model: :meth:`Target.figure_text`)."""
    if t.kind == "series" or t.error is not None:
        return t.figure_text()
    if t.kind == "interval":
        text = f"{fmt_number(t.low)} to {fmt_number(t.high)}"  # type: ignore[arg-type]
        if t.value is not None:
            text += f" (central {fmt_number(t.value)})"
        return text
    if t.kind == "at_least":
        return f"at least {fmt_number(t.value)}"  # type: ignore[arg-type]
    if t.kind == "at_most":
        return f"at most {fmt_number(t.value)}"  # type: ignore[arg-type]
    tol = 0.25 if t.tolerance is None else t.tolerance
    return f"about {fmt_number(t.value)} (±{tol:.0%})"  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# the summary for people
# --------------------------------------------------------------------------------------------


def render_summary(summary: dict[str, Any], file: str, warnings: list[Problem],
                   console: Console) -> None:
    """Print a summary made by :func:`summarize` (and the file's warnings)."""
    head = Text(f"{file}: ", style="bold")
    head.append(summary["name"], style="bold cyan")
    head.append(f"  (valid{', ' + _plural(len(warnings), 'warning') if warnings else ''})",
                style="green" if not warnings else "yellow")
    console.print(head, soft_wrap=True)
    if summary["description"]:
        console.print(_indent(Text(summary["description"], style="italic"), 2))

    h = summary["horizon"]
    steps = _plural(h["steps"], f"{h['step']} step")
    if h["last_step_partial"]:
        steps += f", the last one {_plural(h['last_step_days'], 'day')}"
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column()
    facts.add_row("Horizon", f"{h['start']} to {h['end']}: {steps}")
    c = summary["countries"]
    facts.add_row("Countries", f"{c['count']}: " + "; ".join(
        f"{role} {', '.join(ids)}" for role, ids in c["by_role"].items() if ids))
    routes = summary["routes"]
    facts.add_row("Routes", f"{routes['count']}: " + "; ".join(
        f"{regime} {len(keys)} ({', '.join(keys)})"
        for regime, keys in routes["by_regime"].items()))
    facts.add_row("Cohorts", "; ".join(
        f"{x['name']} {fmt_number(x['population'])}" for x in summary["cohorts"])
        + f"; total {fmt_number(summary['population'])}")
    if summary["shocks"]:
        facts.add_row("Shocks", "; ".join(
            f"{x['name']} {x['date']}" + (f" to {x['end']}" if x["end"] else "")
            for x in summary["shocks"]))
    console.print(_indent(facts, 2))

    blocks = []
    if summary["policies"]:
        t = _table("Policies", len(summary["policies"]), ["start", "end", "name"])
        for p in summary["policies"]:
            t.add_row(p["start"], p["end"] or "(horizon end)", p["name"])
        blocks.append(t)
    if summary["parameters"]:
        t = _table("Parameters", len(summary["parameters"]), ["name", "value", "prior"])
        for p in summary["parameters"]:
            t.add_row(p["name"], f"{p['value']:g}", p["prior"] or "(fixed)")
        blocks.append(t)
    if summary["targets"]:
        t = _table("Targets", len(summary["targets"]), ["id", "observable", "kind", "figure"])
        for x in summary["targets"]:
            t.add_row(x["id"], x["observable"], x["kind"], x["figure"])
        blocks.append(t)
    if summary.get("validation"):
        t = _table("Validation (not calibrated on)", len(summary["validation"]),
                   ["id", "observable", "kind", "figure"])
        for x in summary["validation"]:
            t.add_row(x["id"], x["observable"], x["kind"], x["figure"])
        blocks.append(t)
    for block in blocks:
        console.print()
        console.print(_indent(block, 2))
    if warnings:
        console.print()
        console.print(_indent(Text(f"Warnings ({len(warnings)})", style="bold yellow"), 2))
        for w in warnings:
            console.print(Text(f"    {w}"), soft_wrap=True)


def _indent(renderable: Any, n: int) -> Padding:
    return Padding(renderable, (0, 0, 0, n), expand=False)


def _table(title: str, n: int, columns: list[str]) -> Table:
    t = Table(title=f"{title} ({n})", title_justify="left", title_style="bold", box=box.SIMPLE_HEAD,
              show_edge=False, pad_edge=False, header_style="dim")
    for i, col in enumerate(columns):
        t.add_column(col, no_wrap=i < len(columns) - 1, overflow="fold")
    return t
