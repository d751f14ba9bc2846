"""Regenerate the field tables of ``docs/scenario-format.md`` from the scenario models.

The prose of the reference is written by hand; the tables between markers are generated::

    <!-- fields:Route -->
    ...a table of every field of flowsim.scenario.Route...
    <!-- /fields -->

    <!-- observables -->
    ...a table of the target observables...
    <!-- /observables -->

Each field's type and default come from the pydantic model, its meaning, unit and example
from the field's own documentation (``Field(description=..., examples=...)``, gathered in
:data:`flowsim.scenario.docs.FIELD_DOCS`: the same text the JSON Schema carries), so the
reference, the schema and the code cannot drift apart: ``tests/test_reference_docs.py``
regenerates the tables and fails when the file differs.

Usage::

    python docs/generate_reference.py           # rewrite docs/scenario-format.md
    python docs/generate_reference.py --check   # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from flowsim.scenario import model as m
from flowsim.scenario.docs import FIELD_DOCS, MODELS, field_default, field_type

DOC = Path(__file__).resolve().parent / "scenario-format.md"

FIELDS = re.compile(r"(<!-- fields:(\w+) -->\n)(.*?)(<!-- /fields -->)", re.DOTALL)
OBSERVABLES = re.compile(r"(<!-- observables -->\n)(.*?)(<!-- /observables -->)", re.DOTALL)


def inline_yaml(x: Any) -> str:
    """A value as YAML flow text, the way a scenario file would write it inline."""
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k}: {inline_yaml(v)}" for k, v in x.items()) + "}"
    if isinstance(x, list | tuple):
        return "[" + ", ".join(inline_yaml(v) for v in x) + "]"
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float):
        if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e7):
            mantissa, exp = f"{x:.1e}".split("e")
            return f"{mantissa}e{int(exp)}"
        return repr(x)
    if isinstance(x, int):
        return str(x)
    text = str(x)
    if re.fullmatch(r"[A-Za-z0-9_./-]+", text) and not re.fullmatch(r"[\d.eE+-]+", text) \
            or re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return text
    return '"' + text.replace('"', '\\"') + '"'


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def field_table(name: str) -> str:
    """The Markdown table of the fields of model ``name`` (a key of ``MODELS``)."""
    model = MODELS[name]
    docs = FIELD_DOCS[name]
    rows = ["| Field | Type | Unit | Default | Meaning | Example |",
            "|---|---|---|---|---|---|"]
    entries: list[tuple[str, str, str]] = []
    if name == "Scenario":
        entries.append(("extends", "path", "—"))
    for fname, field in model.model_fields.items():
        key = field.alias or fname
        has, default = field_default(model, fname)
        if not has:
            shown = "**required**"
        elif default is None:
            shown = "none"
        elif field_type(model, fname).kind == "model":
            shown = "its defaults"
        elif default in ((), [], {}) or default == "":
            shown = "empty"
        else:
            shown = f"`{inline_yaml(default)}`"
        entries.append((key, field_type(model, fname).describe(), shown))
    for key, type_text, default in entries:
        doc = docs[key]
        example = f"`{inline_yaml(doc.example)}`" if doc.example is not None else ""
        rows.append("| " + " | ".join(_cell(c) for c in (
            f"`{key}`", type_text, doc.unit or "—", default, doc.text, example)) + " |")
    return "\n".join(rows) + "\n"


def observables_table() -> str:
    """The Markdown table of target observables: what they count, when, where."""
    rows = ["| Observable | Counts | Dated by | Needs `where` |", "|---|---|---|---|"]
    for name, text in m.OBSERVABLES.items():
        when = "`at`" if name in m.AT_DATE else "`start`, `end`"
        if name in m.NEEDS_PLACE:
            place = "yes"
        elif name == "returns":
            place = "optional: the countries returned from (default: all)"
        else:
            place = "no"
        rows.append(f"| `{name}` | {_cell(text)} | {when} | {place} |")
    return "\n".join(rows) + "\n"


def render(text: str) -> str:
    """``text`` with every generated table replaced by its current version."""
    def fields(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in MODELS:
            raise KeyError(f"unknown model {name!r} in a fields marker; choose from "
                           f"{', '.join(MODELS)}")
        return match.group(1) + field_table(name) + match.group(4)

    text = FIELDS.sub(fields, text)
    return OBSERVABLES.sub(lambda mt: mt.group(1) + observables_table() + mt.group(3), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="exit with status 1 if the file is out of date; write nothing")
    parser.add_argument("file", nargs="?", type=Path, default=DOC)
    args = parser.parse_args(argv)
    old = args.file.read_text(encoding="utf-8")
    new = render(old)
    if args.check:
        if new != old:
            print(f"{args.file} is out of date: run python docs/generate_reference.py",
                  file=sys.stderr)
            return 1
        return 0
    if new != old:
        args.file.write_text(new, encoding="utf-8")
        print(f"updated {args.file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
