"""Errors and warnings that flowsim reports about user input."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

__all__ = ["Problem", "ScenarioError", "ScenarioWarning", "did_you_mean"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or suspicious) in a scenario, with its place in the file.

    Attributes
    ----------
    message : str
        A plain sentence saying what is wrong and, where possible, how to fix it.
    path : str
        Where in the document, as ``routes[3].to``; empty for the whole file.
    file : str or None
        The file the offending text is in (after ``extends``, possibly a parent file).
    line, column : int or None
        1-based position of the offending text in ``file``.
    severity : {"error", "warning"}
    """

    message: str
    path: str = ""
    file: str | None = None
    line: int | None = None
    column: int | None = None
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = self.file or "<scenario>"
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        prefix = f"{where}: " + (f"{self.path}: " if self.path else "")
        tag = "warning: " if self.severity == "warning" else ""
        return f"{prefix}{tag}{self.message}"

    def to_dict(self) -> dict[str, object]:
        """The problem as plain data (for ``--json``)."""
        return asdict(self)


class ScenarioError(ValueError):
    """A scenario could not be loaded; ``problems`` lists every error found, in file order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = sorted(
            problems, key=lambda p: (p.file or "", p.line or 0, p.column or 0, p.path)
        )
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the scenario:"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))


class ScenarioWarning(UserWarning):
    """Something in a scenario is legal but probably not what was meant."""


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` — did you mean 'X'?`` for the closest candidate, or an empty string."""
    candidates = list(candidates)
    best = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    if not best:
        lowered = {c.lower(): c for c in candidates}
        best = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
        best = [lowered[b] for b in best]
    return f" — did you mean {best[0]!r}?" if best else ""
