"""What one scenario changes against another, in words (``flowsim diff BASE OVERLAY``).

:func:`scenario_diff` compares two resolved scenarios (``extends`` applied) field by field:
lists of named things (countries, routes, cohorts, shocks, policies, schedules, programmes,
targets) by their name or id, so that an added, removed or changed policy is one line, and
any other field by its value. Each change is a :class:`Change` with a path and a sentence.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["Change", "scenario_diff"]

#: The key that names each item of a list of the scenario format.
_KEYS = {"countries": "id", "routes": "id", "cohorts": "name", "shocks": "name",
         "policies": "name", "schedules": "name", "programmes": "name", "targets": "id",
         "validation": "id"}
_SINGULAR = {"countries": "country", "routes": "route", "cohorts": "cohort",
             "shocks": "shock", "policies": "policy", "schedules": "schedule",
             "programmes": "programme", "targets": "target", "parameters": "parameter",
             "groups": "group", "validation": "validation figure"}


@dataclasses.dataclass(frozen=True)
class Change:
    """One difference: ``kind`` is "added", "removed" or "changed"; ``path`` where (as in a
    scenario file, e.g. ``policies[finland_closes].start``); ``text`` in words."""

    kind: str
    path: str
    text: str


def _short(v: Any) -> str:
    text = repr(v) if isinstance(v, str) else str(v)
    return text if len(text) <= 80 else text[:77] + "..."


def _route_key(item: dict[str, Any]) -> str:
    return str(item.get("id") or f"{item.get('from')}_{item.get('to')}_{item.get('mode', '')}")


def _compare(a: Any, b: Any, path: str, out: list[Change]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in [*a, *(k for k in b if k not in a)]:
            sub = f"{path}.{k}" if path else str(k)
            if k not in b:
                out.append(Change("removed", sub, f"{sub}: removed (was {_short(a[k])})"))
            elif k not in a:
                out.append(Change("added", sub, f"{sub}: set to {_short(b[k])}"))
            else:
                _compare(a[k], b[k], sub, out)
        return
    if a != b:
        out.append(Change("changed", path, f"{path}: {_short(a)} → {_short(b)}"))


def _named(items: list[Any], key: str, section: str) -> dict[str, Any]:
    out = {}
    for item in items:
        name = _route_key(item) if section == "routes" else str(item.get(key))
        out[name] = item
    return out


def scenario_diff(base: Any, other: Any) -> list[Change]:
    """The changes that turn ``base`` into ``other``, in the order of the scenario format.

    Parameters
    ----------
    base, other : Scenario
        Resolved scenarios (an overlay read with :func:`flowsim.scenario.read_scenario` has
        its ``extends`` applied).

    Returns
    -------
    list of Change
        Empty when the scenarios are the same.
    """
    a = base.to_data(json=True)
    b = other.to_data(json=True)
    out: list[Change] = []
    for section in [*a, *(k for k in b if k not in a)]:
        va, vb = a.get(section), b.get(section)
        if va == vb:
            continue
        if section in _KEYS and isinstance(va or [], list) and isinstance(vb or [], list):
            na = _named(list(va or []), _KEYS[section], section)
            nb = _named(list(vb or []), _KEYS[section], section)
            what = _SINGULAR[section]
            for name in [*na, *(n for n in nb if n not in na)]:
                where = f"{section}[{name}]"
                if name not in nb:
                    out.append(Change("removed", where, f"{what} {name!r} removed"))
                elif name not in na:
                    out.append(Change("added", where, f"{what} {name!r} added: "
                                      f"{_short(nb[name])}"))
                else:
                    _compare(na[name], nb[name], where, out)
            if [k for k in na if k in nb] != [k for k in nb if k in na]:
                out.append(Change("changed", section, f"{section}: the same items in another "
                                  "order (policies compose in file order)"))
        elif section in ("parameters", "groups") and isinstance(va or {}, dict) \
                and isinstance(vb or {}, dict):
            what = _SINGULAR[section]
            for name in [*(va or {}), *(n for n in (vb or {}) if n not in (va or {}))]:
                where = f"{section}[{name}]"
                if name not in (vb or {}):
                    out.append(Change("removed", where, f"{what} {name!r} removed"))
                elif name not in (va or {}):
                    out.append(Change("added", where, f"{what} {name!r} added: "
                                      f"{_short(vb[name])}"))
                else:
                    _compare(va[name], vb[name], where, out)
        else:
            _compare(va, vb, section, out)
    return out
