"""Running the ``flowsim`` CLI in-process in tests (a helper module, not a test file)."""

from __future__ import annotations

from typer.testing import CliRunner, Result

from flowsim.cli import app

runner = CliRunner()
WIDE = {"COLUMNS": "200"}  # keep rich tables from wrapping in the content checks


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run ``flowsim ARGS``; bad input must never show a traceback, and unexpected
    exceptions (not exits) are re-raised so the test shows them."""
    result = runner.invoke(app, list(args), env=env or WIDE)
    assert "Traceback" not in result.output, result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result
