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
``schedules``, ``programmes``, ``targets``) must be edits by name, applied in this order::

    policies:
      remove: [name, ...]          # must exist
      replace: [{name: ..., ...}]  # must exist; keeps its place in the order
      add: [{name: ..., ...}]      # must not exist; appended at the end

Mapping sections (``parameters``, ``groups``) replace entries by key; ``calendar`` and
``behaviour`` are merged field by field; ``name`` and ``description`` replace.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from flowsim.errors import Problem, ScenarioError, ScenarioWarning, did_you_mean
from flowsim.scenario import model as m
from flowsim.scenario.includes import Outside, confined, scenario_roots
from flowsim.scenario.limits import step_limit
from flowsim.scenario.messages import fieldwise as _fieldwise
from flowsim.scenario.messages import kind_of as _kind
from flowsim.scenario.messages import report_errors as _report
from flowsim.scenario.messages import salvage as _salvage
from flowsim.scenario.targets_file import targets_file_sections
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
    "programmes": "name",
    "targets": "id",
    "validation": "id",
}
ITEM_MODELS: dict[str, type[BaseModel]] = {
    "countries": m.Country,
    "routes": m.Route,
    "cohorts": m.Cohort,
    "shocks": m.Shock,
    "policies": m.Policy,
    "schedules": m.Schedule,
    "programmes": m.Programme,
    "targets": m.Target,
    "validation": m.Target,
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


def load_scenario(path: str | Path, *, allow: Iterable[str | Path] = (),
                  max_steps: int | None = None) -> m.Scenario:
    """Load and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        A YAML scenario file; it may ``extends:`` another.
    allow : iterable of str or Path
        Folders, besides the scenario's own tree, from which ``extends:`` and ``targets:``
        may read (see :mod:`flowsim.scenario.includes`; also ``$FLOWSIM_ALLOW_ROOTS``).
    max_steps : int, optional
        The most steps the horizon may have (default: ``$FLOWSIM_MAX_STEPS``, else
        :data:`flowsim.scenario.limits.MAX_STEPS`).

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
    scenario, problems = read_scenario(path, allow=allow, max_steps=max_steps)
    for p in problems:
        warnings.warn(str(p), ScenarioWarning, stacklevel=2)
    return scenario


def read_scenario(path: str | Path, *, allow: Iterable[str | Path] = (),
                  max_steps: int | None = None) -> tuple[m.Scenario, list[Problem]]:
    """Load a scenario file; return it with its warnings instead of emitting them.

    ``allow`` and ``max_steps`` are as for :func:`load_scenario`. A parameter declared in a
    file that ``path`` extends and left unused (by policies the overlay removed) is not
    reported: the overlay cannot remove it.

    Raises
    ------
    ScenarioError
        If the file has any error.
    """
    try:
        limit = step_limit(max_steps)
    except ValueError as e:
        raise ScenarioError([Problem(str(e), file=str(path))]) from None
    try:
        data = _read_merged(Path(path), (), scenario_roots(path, allow))
    except YamlProblem as e:
        raise ScenarioError(e.problems) from None
    except _MergeProblems as e:
        raise ScenarioError(e.problems) from None
    scenario, found = validate_data(data, max_steps=limit)
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


def validate_data(data: Any, *, max_steps: int | None = None
                  ) -> tuple[m.Scenario, list[Problem]]:
    """Validate scenario data (plain or located) and run every whole-scenario check.

    ``max_steps`` bounds the number of steps of the horizon (default: no bound; files read
    by :func:`read_scenario` are bounded by default).

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
    for path, message, severity in check_scenario(partial.scenario, max_steps):
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


def _read_merged(file: Path, chain: tuple[Path, ...],
                 roots: tuple[Path, ...] | None = None) -> Any:
    roots = scenario_roots(file) if roots is None else roots
    resolved = _identity(file)
    data = read_yaml(file)
    if not isinstance(data, dict):
        # (a file it extends is not quoted: the user may not have written it)
        raise YamlProblem(Problem(f"a scenario file holds a mapping of sections, not "
                                  f"{_shape(data) if chain else _kind(data)}", file=str(file),
                                  line=1, column=1))
    _include_targets(data, file, roots)
    if "extends" not in data:
        return data
    parent_ref = data["extends"]
    out = _Collector(data)
    if not isinstance(parent_ref, str) or not parent_ref.strip():
        out.add(("extends",), "`extends` takes the path of another scenario file")
        raise _MergeProblems(out.problems)
    try:
        parent_file = confined(parent_ref, file, roots, "extends")
    except Outside as e:
        out.add(("extends",), str(e))
        raise _MergeProblems(out.problems) from None
    if _identity(parent_file) in (*chain, resolved):
        cycle = " -> ".join(str(p) for p in (*chain, resolved, _identity(parent_file)))
        out.add(("extends",), f"`extends` makes a cycle: {cycle}")
        raise _MergeProblems(out.problems)
    try:
        parent = _read_merged(parent_file, (*chain, resolved), roots)
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


def _shape(x: Any) -> str:
    """What a value is, in words, without quoting it."""
    if isinstance(x, dict | list):
        return "a mapping" if isinstance(x, dict) else "a list"
    return "nothing" if x is None else "text" if isinstance(x, str) else "a single value"


def _include_targets(data: LocatedDict, file: Path, roots: tuple[Path, ...]) -> None:
    """``targets: FILE`` reads the targets from a file in the scenario's tree."""
    ref = data.get("targets")
    if not isinstance(ref, str):
        return
    line, col = data.marks["targets"]
    try:
        target_file = confined(ref, file, roots, "targets")
    except Outside as e:
        raise YamlProblem(Problem(str(e), "targets", str(file), line, col)) from None
    try:
        included = read_yaml(target_file)
    except YamlProblem as e:
        p = e.problem
        if p.line is None:
            raise YamlProblem(Problem(f"cannot read the targets file {ref!r}: it {p.message}",
                                      "targets", str(file), line, col)) from None
        raise
    if isinstance(included, dict) and "targets" in included:
        sections = targets_file_sections(included)
        included = sections["targets"]
        if "validation" in sections:
            if "validation" in data:
                raise YamlProblem(Problem(
                    f"the targets file {ref!r} has a `validation:` list, and so has the "
                    "scenario: give it in one place", "validation", str(file),
                    *data.marks["validation"]))
            data["validation"] = sections["validation"]
            data.marks["validation"] = (line, col)
    if not isinstance(included, list):
        raise YamlProblem(Problem(f"the targets file {ref!r} holds {_shape(included)}, not a "
                                  "list of targets (or a mapping with a `targets:` list)",
                                  "targets", str(file), line, col))
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
             "policies": "policy", "schedules": "schedule", "programmes": "programme",
             "targets": "target", "validation": "validation figure"}


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
                    elif name in ("targets", "validation") and isinstance(item, dict):
                        # the rest of a broken target is still checked (its id, places,
                        # dates), so that fixing one mistake does not reveal the next
                        good.append(_fieldwise(ITEM_MODELS[name], plain(item)))
                        kept.append(i)
                    elif isinstance(item, dict) and name in ("countries", "cohorts") \
                            and isinstance(item.get(KEYED_SECTIONS[name]), str):
                        broken.append(item[KEYED_SECTIONS[name]])
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
