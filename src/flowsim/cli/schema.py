"""``flowsim schema [--out FILE]``: print or write the JSON Schema of the scenario format.

The schema is made by :mod:`flowsim.scenario.schema`, from the field documentation of
:mod:`flowsim.scenario.docs`; this module is only the command. The names that lived here
before flowsim 0.2 (``FIELD_DOCS``, ``MODELS``, ``FieldDoc``, ``FieldType``,
``field_default``, ``field_type``, ``scenario_schema``, ``schema_text``, ``DRAFT``) are
still found here for one release, each with a :class:`DeprecationWarning` that names its
new module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flowsim._deprecated import moved
from flowsim.cli._common import handle_input_errors
from flowsim.results.files import atomic_file

# The module, not its names: a name imported here would be found without the warning below.
from flowsim.scenario import schema as _json_schema

__all__ = ["schema"]

# Names that moved to the scenario layer, looked up there with a warning (docs first: the
# module that defines FIELD_DOCS and MODELS, which the schema module imports too).
__getattr__ = moved(__name__, "flowsim.scenario.docs", "flowsim.scenario.schema")[0]


def schema(
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write the schema to this file (replaced at once) instead of "
        "printing it.", show_default=False)] = None,
) -> None:
    """Print the JSON Schema of the scenario format (for editors and validators).

    Point a YAML editor at it with a first line such as
    [bold]# yaml-language-server: $schema=../docs/scenario.schema.json[/bold].
    """
    text = _json_schema.schema_text()
    if out is None:
        typer.echo(text, nl=False)
        return
    with handle_input_errors(), atomic_file(out) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")
