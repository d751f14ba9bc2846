"""Country groups: declared in ``groups:`` (members may be groups) and in each country's
``groups:`` list; resolved here into sets of country ids."""

from __future__ import annotations

from typing import Any

import networkx as nx

__all__ = ["resolve_groups"]


def resolve_groups(scenario: Any) -> tuple[dict[str, frozenset[str]], list[tuple[Any, str]]]:
    """Expand every group to the countries it holds.

    Parameters
    ----------
    scenario : Scenario
        A scenario, possibly only partly valid (missing sections are treated as empty).

    Returns
    -------
    members : dict
        Group name -> frozenset of country ids (groups of groups expanded).
    problems : list of (path, message)
        Cycles among groups and members that are neither a country nor a group.
    """
    countries = getattr(scenario, "countries", ()) or ()
    declared: dict[str, tuple[str, ...]] = dict(getattr(scenario, "groups", {}) or {})
    country_ids = {c.id for c in countries}
    graph = nx.DiGraph()  # group -> member (country or group)
    for name, members in declared.items():
        graph.add_node(name)
        for mbr in members:
            graph.add_edge(name, mbr)
    for c in countries:
        for g in c.groups:
            graph.add_edge(g, c.id)
    group_names = set(declared) | {g for c in countries for g in c.groups}
    problems: list[tuple[Any, str]] = []
    order = {g: i for i, g in enumerate([*declared, *sorted(group_names - set(declared))])}
    for cycle in nx.simple_cycles(graph.subgraph(group_names)):
        # reported at the group declared first, so that the message does not depend on
        # the order networkx finds cycles in
        k = min(range(len(cycle)), key=lambda i: order[cycle[i]])
        cycle = cycle[k:] + cycle[:k]
        first = cycle[0]
        problems.append((("groups", first), "groups contain each other in a cycle: "
                         + " -> ".join([*cycle, first])))
        break
    members: dict[str, frozenset[str]] = {}
    for g in group_names:
        reach = nx.descendants(graph, g)
        members[g] = frozenset(x for x in reach if x in country_ids)
    return members, problems
