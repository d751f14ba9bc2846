"""The two findings every whole-scenario check shares: names declared twice, and names
that refer to nothing (with a guess at what was meant)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flowsim.errors import did_you_mean

__all__ = ["Found", "duplicates", "unknown_names"]

#: One finding: the path in the document, the message, and ``"error"`` or ``"warning"``.
Found = tuple[tuple[Any, ...], str, str]


def duplicates(items: tuple[Any, ...], attr: str, section: str, what: str) -> Iterator[Found]:
    """``section``'s items whose ``attr`` repeats an earlier item's, each at the repeat."""
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        key = getattr(item, attr)
        if key is None:  # a broken item's unreadable name (see messages.fieldwise)
            continue
        if key in first:
            yield ((section, i, attr if attr != "key" else "to"),
                   f"the {what} {key!r} is declared twice (first at {section}[{first[key]}])",
                   "error")
        else:
            first[key] = i


def unknown_names(names: tuple[str, ...] | None, known: list[str], path: tuple[Any, ...],
                  what: str) -> Iterator[Found]:
    """Each of ``names`` that is not in ``known``, at ``path`` and its index, with a guess."""
    if not known:
        return  # the section is missing or broken: already reported
    for j, n in enumerate(names or ()):
        if n not in known:
            yield ((*path, j), f"unknown {what} {n!r}{did_you_mean(n, known)}", "error")
