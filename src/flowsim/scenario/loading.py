"""Loading scenarios from YAML: ``extends``, overlays, and every problem reported at once.

The loader works in three passes, so that a broken file gets all of its problems in one
:class:`~flowsim.ScenarioError`:

1. read each file with positions (:mod:`flowsim.scenario.yamlio`) and resolve ``extends``
   and included target files into one merged document;
2. validate each section, and each item of each list, on its own against the pydantic models,
   keeping the items that are valid;
3. run the whole-scenario checks (:mod:`flowsim.scenario.checks`) on what is valid.

Overlays
--------
A file with ``extends: PATH`` (relative to the file) starts from the scenario in ``PATH``.
Its list sections (``countries``, ``routes``, ``cohorts``, ``shocks``, ``policies``,
``schedules``, ``targets``) must be edits by name, applied in this order::

    policies:
      remove: [name, ...]          # must exist
      replace: [{name: ..., ...}]  # must exist; keeps its place in the order
      add: [{name: ..., ...}]      # must not exist; appended at the end

Mapping sections (``parameters``, ``groups``) replace entries by key; ``calendar`` and
``behaviour`` are merged field by field; ``name`` and ``description`` replace.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from flowsim.errors import Problem, ScenarioError, ScenarioWarning, did_you_mean
from flowsim.scenario import model as m
from flowsim.scenario.yamlio import (
    LocatedDict,
    LocatedList,
    YamlProblem,
    locate,
    plain,
    read_yaml,
)

__all__ = ["KEYED_SECTIONS", "load_scenario", "read_scenario", "validate_data"]

# list sections, and the field that names their items
KEYED_SECTIONS: dict[str, str] = {
    "countries": "id",
    "routes": "id",
    "cohorts": "name",
    "shocks": "name",
    "policies": "name",
    "schedules": "name",
    "targets": "id",
}
ITEM_MODELS: dict[str, type[BaseModel]] = {
    "countries": m.Country,
    "routes": m.Route,
    "cohorts": m.Cohort,
    "shocks": m.Shock,
    "policies": m.Policy,
    "schedules": m.Schedule,
    "targets": m.Target,
}
TOP_KEYS = tuple(m.Scenario.model_fields) + ("extends",)
# mapping sections, validated entry by entry
MAPPING_SECTIONS = ("parameters", "groups")


class _Collector:
    """Gathers problems, turning document paths into file positions."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def add(self, path: tuple[Any, ...] | list[Any], message: str,
            severity: str = "error") -> None:
        file, line, col, ypath = locate(self.root, path)
        self.problems.append(Problem(message, ypath, file, line, col, severity))  # type: ignore[arg-type]

    def extend(self, problems: list[Problem]) -> None:
        self.problems.extend(problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


def load_scenario(path: str | Path) -> m.Scenario:
    """Load and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        A YAML scenario file; it may ``extends:`` another.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        With every problem found, each with its file, line, column and path.

    Warns
    -----
    ScenarioWarning
        For things that are legal but suspicious (unreachable countries, unused parameters).
    """
    scenario, problems = read_scenario(path)
    for p in problems:
        warnings.warn(str(p), ScenarioWarning, stacklevel=2)
    return scenario


def read_scenario(path: str | Path) -> tuple[m.Scenario, list[Problem]]:
    """Load a scenario file; return it with its warnings instead of emitting them.

    A parameter declared in a file that ``path`` extends and left unused (by policies the
    overlay removed) is not reported: the overlay cannot remove it.

    Raises
    ------
    ScenarioError
        If the file has any error.
    """
    try:
        data = _read_merged(Path(path), ())
    except YamlProblem as e:
        raise ScenarioError([e.problem]) from None
    except _MergeProblems as e:
        raise ScenarioError(e.problems) from None
    scenario, found = validate_data(data)
    # An overlay cannot remove a parameter of the file it extends, so a parameter there that
    # only the policies the overlay removed used is left unused through no fault of its own.
    unused = [p for p in found if p.path.startswith("parameters.")
              and p.message.endswith("is declared but never used")]
    if unused:
        own = read_yaml(Path(path))
        if "extends" in own:
            declared = own.get("parameters")
            declared = set(declared) if isinstance(declared, dict) else set()
            found = [p for p in found if p not in unused
                     or p.path.removeprefix("parameters.") in declared]
    return scenario, found


def validate_data(data: Any) -> tuple[m.Scenario, list[Problem]]:
    """Validate scenario data (plain or located) and run every whole-scenario check.

    Returns
    -------
    (Scenario, warnings)

    Raises
    ------
    ScenarioError
        With every error found.
    """
    from flowsim.scenario.checks import check_scenario

    out = _Collector(data)
    if not isinstance(data, dict):
        out.add((), f"a scenario is a mapping of sections, not {_kind(data)}")
        raise ScenarioError(out.problems)
    partial = _validate_sections(data, out)
    for path, message, severity in check_scenario(partial.scenario):
        out.add(partial.remap(path), message, severity)
    if out.errors:
        raise ScenarioError(out.problems)
    scenario = m.Scenario.model_validate(plain(data))
    return scenario, out.warnings


# --------------------------------------------------------------------------------------------
# reading and merging files
# --------------------------------------------------------------------------------------------


class _MergeProblems(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


def _read_merged(file: Path, chain: tuple[Path, ...]) -> Any:
    resolved = _identity(file)
    data = read_yaml(file)
    if not isinstance(data, dict):
        raise YamlProblem(Problem(f"a scenario file holds a mapping of sections, not {_kind(data)}",
                                  file=str(file), line=1, column=1))
    _include_targets(data, file)
    if "extends" not in data:
        return data
    parent_ref = data["extends"]
    out = _Collector(data)
    if not isinstance(parent_ref, str) or not parent_ref.strip():
        out.add(("extends",), "`extends` takes the path of another scenario file")
        raise _MergeProblems(out.problems)
    parent_file = file.parent / parent_ref
    if _identity(parent_file) in (*chain, resolved):
        cycle = " -> ".join(str(p) for p in (*chain, resolved, _identity(parent_file)))
        out.add(("extends",), f"`extends` makes a cycle: {cycle}")
        raise _MergeProblems(out.problems)
    try:
        parent = _read_merged(parent_file, (*chain, resolved))
    except YamlProblem as e:
        p = e.problem
        if p.line is None and p.file == str(parent_file):
            out.add(("extends",), f"cannot extend {parent_ref!r}: the file {p.message}")
            raise _MergeProblems(out.problems) from None
        raise
    merged = _overlay(parent, data, out)
    if out.errors:
        raise _MergeProblems(out.problems)
    return merged


def _identity(file: Path) -> Path:
    """The file's absolute, resolved path (for spotting ``extends`` cycles)."""
    try:
        return file.resolve()
    except (OSError, ValueError):  # a loop of symlinks, a NUL in the name: read_yaml reports
        return file.absolute()


def _include_targets(data: LocatedDict, file: Path) -> None:
    """``targets: FILE`` reads the targets from a file beside the scenario."""
    ref = data.get("targets")
    if not isinstance(ref, str):
        return
    target_file = file.parent / ref
    try:
        included = read_yaml(target_file)
    except YamlProblem as e:
        p = e.problem
        if p.line is None:
            line, col = data.marks["targets"]
            raise YamlProblem(Problem(f"cannot read the targets file {ref!r}: it {p.message}",
                                      "targets", str(file), line, col)) from None
        raise
    if isinstance(included, dict) and "targets" in included:
        included = included["targets"]
    data["targets"] = included


def _overlay(parent: LocatedDict, child: LocatedDict, out: _Collector) -> LocatedDict:
    merged = LocatedDict(parent)
    merged.file, merged.path, merged.mark = parent.file, parent.path, parent.mark
    merged.marks = dict(parent.marks)
    for key, value in child.items():
        if key == "extends":
            continue
        merged.marks[key] = child.marks[key]
        if key not in TOP_KEYS:
            merged[key] = value  # reported by section validation, with its position
            continue
        if key in KEYED_SECTIONS:
            merged[key] = _edit_list(parent.get(key), value, key, child, out)
        elif key in ("parameters", "groups") and isinstance(value, dict) \
                and isinstance(parent.get(key), dict):
            merged[key] = _merge_mapping(parent[key], value, deep=False)
        elif key in ("calendar", "behaviour") and isinstance(value, dict) \
                and isinstance(parent.get(key), dict):
            merged[key] = _merge_mapping(parent[key], value, deep=True)
        else:
            merged[key] = value
    return merged


def _merge_mapping(base: LocatedDict, new: LocatedDict, deep: bool) -> LocatedDict:
    out = LocatedDict(base)
    out.file, out.path, out.mark, out.marks = base.file, base.path, base.mark, dict(base.marks)
    for k, v in new.items():
        if deep and isinstance(v, dict) and isinstance(base.get(k), dict):
            out[k] = _merge_mapping(base[k], v, deep=True)
        else:
            out[k] = v
        out.marks[k] = new.marks[k]
    return out


def _item_name(section: str, item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    if section == "routes" and item.get("id") is None:
        if isinstance(item.get("from"), str) and isinstance(item.get("to"), str):
            return m.route_key(item["from"], item["to"], item.get("mode", "land"))
        return None
    name = item.get(KEYED_SECTIONS[section])
    return name if isinstance(name, str) else None


_SINGULAR = {"countries": "country", "routes": "route", "cohorts": "cohort", "shocks": "shock",
             "policies": "policy", "schedules": "schedule", "targets": "target"}


def _edit_list(base: Any, edits: Any, section: str, child: LocatedDict,
               out: _Collector) -> Any:
    if not isinstance(edits, dict):
        out.add((section,), f"in a file that extends another, `{section}` takes edits by name: "
                            "`add:`, `remove:` and/or `replace:`")
        return base
    what = _SINGULAR[section]
    for k in edits:
        if k not in ("add", "remove", "replace"):
            out.add((section, k), f"unknown edit {k!r}"
                                  f"{did_you_mean(str(k), ['add', 'remove', 'replace'])}"
                                  "; use add, remove or replace")
    lists: dict[str, list[Any]] = {}
    for k in ("remove", "replace", "add"):
        v = edits.get(k)
        if k == "remove" and isinstance(v, str):
            v = [v]
        if v is None:
            v = []
        if not isinstance(v, list):
            listed = f"{what} names" if k == "remove" else section
            out.add((section, k), f"`{k}` takes a list of {listed}, got {_kind(v)}")
            v = []
        lists[k] = v
    items = list(base) if isinstance(base, list) else []
    marks = list(base.marks) if isinstance(base, LocatedList) else [(1, 1)] * len(items)
    names = [_item_name(section, it) for it in items]
    known = [n for n in names if n]
    for i, name in enumerate(lists["remove"]):
        if name not in names:
            out.add((section, "remove", i), f"there is no {what} named {name!r} to remove"
                                            f"{did_you_mean(str(name), known)}")
            continue
        j = names.index(name)
        del items[j], marks[j], names[j]
    for edit in ("replace", "add"):
        for i, item in enumerate(lists[edit]):
            name = _item_name(section, item)
            if name is None:
                key = "`id` (or `from`, `to`, `mode`)" if section == "routes" \
                    else f"`{KEYED_SECTIONS[section]}`"
                out.add((section, edit, i), f"each {what} to {edit} is a mapping with its {key}")
                continue
            mark = edits[edit].marks[i] if isinstance(edits[edit], LocatedList) else (1, 1)
            if edit == "replace":
                if name not in names:
                    out.add((section, edit, i), f"there is no {what} named {name!r} to replace"
                                                f"{did_you_mean(name, known)}; use `add` for "
                                                f"a new {what}")
                    continue
                j = names.index(name)
                items[j], marks[j] = item, mark
            else:
                if name in names:
                    out.add((section, edit, i), f"a {what} named {name!r} already exists; use "
                                                "`replace` to change it")
                    continue
                items.append(item)
                names.append(name)
                marks.append(mark)
    result = LocatedList(items)
    result.file = base.file if isinstance(base, LocatedList) else child.file
    result.path = base.path if isinstance(base, LocatedList) else (section,)
    result.mark = base.mark if isinstance(base, LocatedList) else child.marks[section]
    result.marks = marks
    return result


# --------------------------------------------------------------------------------------------
# section-by-section validation
# --------------------------------------------------------------------------------------------


class _Partial:
    """The valid part of a scenario, and how its list indices map back to the document."""

    def __init__(self, scenario: m.Scenario, index_maps: dict[str, list[int]]) -> None:
        self.scenario = scenario
        self.index_maps = index_maps

    def remap(self, path: tuple[Any, ...]) -> tuple[Any, ...]:
        if len(path) >= 2 and path[0] in self.index_maps and isinstance(path[1], int):
            return (path[0], self.index_maps[path[0]][path[1]], *path[2:])
        return path


def _validate_sections(data: dict[str, Any], out: _Collector) -> _Partial:
    fields = m.Scenario.model_fields
    for key in data:
        if key not in fields:
            out.add((key,), f"unknown section {key!r}{did_you_mean(str(key), fields)}")
    values: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    index_maps: dict[str, list[int]] = {}
    for name, field in fields.items():
        if name not in data:
            if field.is_required():
                out.add((), f"the scenario has no `{name}` section; it is required")
            continue
        raw = data[name]
        if name in ITEM_MODELS:
            if not isinstance(raw, list):
                out.add((name,), f"`{name}` is a list, got {_kind(raw)}")
                continue
            adapter = TypeAdapter(ITEM_MODELS[name])
            good, kept, broken = [], [], []
            for i, item in enumerate(raw):
                try:
                    good.append(adapter.validate_python(plain(item)))
                    kept.append(i)
                except ValidationError as e:
                    _report(e, (name, i), ITEM_MODELS[name], out)
                    salvaged = _salvage(adapter, plain(item), e)
                    if salvaged is not None:
                        good.append(salvaged)
                        kept.append(i)
                    elif isinstance(item, dict) and name in ("countries", "cohorts"):
                        broken.append(item.get(KEYED_SECTIONS[name]))
            values[name] = tuple(good)
            index_maps[name] = kept
            if broken:
                extras[f"invalid_{name}"] = broken
        elif name in MAPPING_SECTIONS and isinstance(raw, dict):
            # entry by entry, so that one bad parameter or group does not make every
            # reference to the others look unknown; broken names stay known to the checks
            adapter = TypeAdapter(field.annotation)
            entries: dict[str, Any] = {}
            for key, entry in raw.items():
                try:
                    entries.update(adapter.validate_python({key: plain(entry)}))
                except ValidationError as e:
                    _report(e, (name,), field.annotation, out)
                    extras.setdefault(f"invalid_{name}", []).append(key)
            values[name] = entries
        else:
            adapter = TypeAdapter(field.annotation)
            try:
                values[name] = adapter.validate_python(plain(raw))
            except ValidationError as e:
                _report(e, (name,), field.annotation, out)
                # a stray key in `calendar:` should not hide the horizon from the checks
                salvaged = _salvage(adapter, plain(raw), e)
                if salvaged is not None:
                    values[name] = salvaged
    partial = m.Scenario.model_construct(**values)
    object.__setattr__(partial, "__pydantic_extra__", extras)
    return _Partial(partial, index_maps)


def _salvage(adapter: TypeAdapter, item: Any, error: ValidationError) -> Any:
    """The item with its offending optional keys dropped, if that makes it valid.

    Whole-scenario checks then still see the rest of the item (a policy with a misspelt
    regime still gets its dates and selector checked). Returns ``None`` if nothing valid is
    left.
    """
    for _ in range(4):
        for err in error.errors(include_url=False):
            loc = _clean_loc(tuple(err["loc"]))
            parent = item
            for part in loc[:-1]:
                try:
                    parent = parent[part]
                except (KeyError, IndexError, TypeError):
                    parent = None
                    break
            if isinstance(parent, dict) and loc and loc[-1] in parent:
                del parent[loc[-1]]
        try:
            return adapter.validate_python(item)
        except ValidationError as e:
            error = e
    return None


def _kind(x: Any) -> str:
    if x is None:
        return "nothing (null)"
    if isinstance(x, dict):
        return "a mapping"
    if isinstance(x, list):
        return "a list"
    if isinstance(x, str):
        return f"the text {x!r}"
    return f"the value {x!r}"


_PYDANTIC_TAGS = ("function-", "tagged-union", "union[", "literal[", "json-or-python",
                  "lax-or-strict", "chain[", "nullable[", "default[")


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop pydantic's union/validator tags from an error location."""
    out = []
    for part in loc:
        if isinstance(part, str) and (
            part in ("int", "float", "str", "bool", "dict", "list", "tuple", "none", "date",
                     "constrained-str", "is-instance[date]")
            or any(part.startswith(t) for t in _PYDANTIC_TAGS)
            or "[" in part and part.endswith("]")
        ):
            continue
        out.append(part)
    return tuple(out)


def _report(e: ValidationError, prefix: tuple[Any, ...], model_type: Any,
            out: _Collector) -> None:
    seen: set[tuple[tuple[Any, ...], str]] = set()
    for err in e.errors(include_url=False):
        loc = _clean_loc(tuple(err["loc"]))
        message = _sentence(err, loc, model_type)
        if (loc, message) in seen:
            continue  # a union reports the same mistake once per member
        seen.add((loc, message))
        out.add((*prefix, *loc), message)


def _sentence(err: dict[str, Any], loc: tuple[Any, ...], model_type: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model_type, loc[:-1])
        key = str(loc[-1]) if loc else "?"
        hint = did_you_mean(key, allowed) if allowed else ""
        listing = f" (allowed: {', '.join(allowed)})" if allowed and not hint else ""
        return f"unknown key {key!r}{hint}{listing}"
    if kind == "missing":
        return f"`{loc[-1]}` is required" if loc else "a required field is missing"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        got = err.get("input")
        options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",")]
        hint = did_you_mean(str(got), options) if isinstance(got, str) else ""
        return f"{got!r} is not one of {expected}{hint}"
    if kind in ("value_error", "assertion_error"):
        msg = err["msg"]
        for p in ("Value error, ", "Assertion failed, "):
            msg = msg.removeprefix(p)
        return msg
    if kind == "model_type" or kind == "model_attributes_type" or kind == "dict_type":
        return f"expected a mapping, got {_kind(err.get('input'))}"
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {_kind(err.get('input'))}"
    if kind in ("float_type", "float_parsing", "int_type", "int_parsing"):
        return f"expected a number, got {_kind(err.get('input'))}"
    if kind in ("string_type",):
        return f"expected text, got {_kind(err.get('input'))}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {_kind(err.get('input'))}"
    return err["msg"][:1].lower() + err["msg"][1:]


def _unwrap(tp: Any) -> list[Any]:
    """The model/container types inside an annotation (through Annotated, unions, None)."""
    import types
    import typing

    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        out = []
        for a in typing.get_args(tp):
            out += _unwrap(a)
        return out
    return [tp]


def _allowed_keys(tp: Any, loc: tuple[Any, ...]) -> list[str]:
    """The keys a mapping at ``loc`` under type ``tp`` may hold (for "did you mean")."""
    import typing

    current = _unwrap(tp)
    for part in loc:
        nxt: list[Any] = []
        for t in current:
            origin = typing.get_origin(t)
            if isinstance(t, type) and issubclass(t, BaseModel) and isinstance(part, str):
                for fname, f in t.model_fields.items():
                    if part in (fname, f.alias):
                        nxt += _unwrap(f.annotation)
            elif origin in (tuple, list) and isinstance(part, int):
                nxt += _unwrap(typing.get_args(t)[0])
            elif origin is dict:
                nxt += _unwrap(typing.get_args(t)[1])
        current = nxt
    for t in current:
        if isinstance(t, type) and issubclass(t, BaseModel):
            return [f.alias or n for n, f in t.model_fields.items()]
    return []

