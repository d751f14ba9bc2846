"""What a policy selector picks out: one rule, shared by the checks and the compiler."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["selected_routes"]


def selected_routes(routes: Sequence[Any], selector: Any,
                    expand: Callable[[tuple[str, ...]], set[str] | frozenset[str]]) -> list[int]:
    """Indices of the routes a selector picks: all of ``routes``, ``from``, ``to`` and ``mode``
    must match (an omitted field matches anything).

    Parameters
    ----------
    routes : sequence of Route
    selector : Selector
    expand : callable
        Turns a list of country ids and group names into the set of country ids.
    """
    src = expand(selector.from_) if selector.from_ is not None else None
    dst = expand(selector.to) if selector.to is not None else None
    keys = set(selector.routes) if selector.routes is not None else None
    return [i for i, r in enumerate(routes)
            if (keys is None or r.key in keys)
            and (src is None or r.from_ in src) and (dst is None or r.to in dst)
            and (selector.mode is None or r.mode in selector.mode)]
