"""What a policy selector picks out: one rule, shared by the checks and the compiler."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["legs", "selected_routes"]


def selected_routes(routes: Sequence[Any], selector: Any,
                    expand: Callable[[tuple[str, ...]], set[str] | frozenset[str]]) -> list[int]:
    """Indices of the routes a selector picks: all of ``routes``, ``from``, ``to`` and ``mode``
    must match (an omitted field matches anything).

    A route that passes through transit countries (``via``) is a chain of legs, and ``from``
    and ``to`` match when the route as a whole, or one of its legs, leaves from and leads to
    the selected countries: a policy on any leg applies to the route (closing Ecuador's
    border closes the route from Colombia to Peru through Ecuador).

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
            and any((src is None or a in src) and (dst is None or b in dst)
                    for a, b in [(r.from_, r.to), *legs(r)])
            and (selector.mode is None or r.mode in selector.mode)]


def legs(route: Any) -> list[tuple[str, str]]:
    """The legs of a route, ``(from, to)`` pairs through its ``via`` countries in order."""
    stops = [route.from_, *(getattr(route, "via", ()) or ()), route.to]
    return list(itertools.pairwise(stops))
