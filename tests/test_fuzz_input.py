"""Fuzzing ``flowsim validate``: whatever the file, no traceback, exit 0 or 2, every error
positioned (issue 16).

Two sources of input, both drawn by hypothesis:

* **YAML structure**: documents nested from the scenario format's own keys and from values of
  every YAML type, dumped as YAML; and raw text made of YAML's syntax (flow brackets,
  anchors, tags, merge keys, tabs, control characters, several documents);
* **mutations of the bundled scenario** ``scenarios/russia-2022.yaml`` (with its targets
  file): its text with lines deleted, duplicated or swapped and characters replaced, and its
  data with a value replaced or a key removed at a random place.

Each file is checked in-process with ``flowsim validate``. An error is *positioned* when its
line starts with ``FILE:LINE:COLUMN:``; only a problem of the whole file (it is empty) may
name the file alone. The examples are fixed (``derandomize``) so that the suite is
reproducible and takes about 20 s (on 2 cores); set ``FLOWSIM_FUZZ_EXAMPLES=N`` to explore N random
examples per test instead.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path
from typing import Any

import yaml
from cli_helpers import invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowsim.cli._common import EXIT_BAD_INPUT
from flowsim.scenario import model as m
from flowsim.scenario.yamlio import dump_yaml, plain, read_yaml

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
BUNDLED = SCENARIOS / "russia-2022.yaml"
TARGETS = SCENARIOS / "russia-2022-targets.yaml"

_EXPLORE = os.environ.get("FLOWSIM_FUZZ_EXAMPLES")


def _settings(examples: int) -> settings:
    return settings(max_examples=int(_EXPLORE) if _EXPLORE else examples,
                    derandomize=not _EXPLORE, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


POSITIONED = re.compile(r"^(?P<file>.+?):\d+:\d+: ")
WHOLE_FILE = ("is empty",)


def _check(path: Path) -> None:
    """``flowsim validate PATH``: exit 0 or 2, no traceback, every error positioned."""
    result = invoke("validate", str(path))  # (invoke fails on a traceback or an exception)
    assert result.exit_code in (0, EXIT_BAD_INPUT), result.output
    if result.exit_code == 0:
        return
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines[-1].startswith(f"{path}: invalid ("), result.stderr
    for line in lines[:-1]:
        if any(line == f"{path}: {w}" or line.startswith(f"{path}: {w} ")
               for w in WHOLE_FILE):
            continue
        assert POSITIONED.match(line), f"not positioned: {line!r}"
        assert "\n" not in line


# -- YAML structure ----------------------------------------------------------------------------


def _field_names() -> list[str]:
    names: set[str] = {"extends", "add", "remove", "replace", "default", "<<"}
    stack: list[Any] = [m.Scenario]
    seen: set[Any] = set()
    while stack:
        model = stack.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            names.add(field.alias or name)
            stack += _models_in(field.annotation)
    return sorted(names)


def _models_in(tp: Any) -> list[Any]:
    import typing

    from pydantic import BaseModel

    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return [x for a in typing.get_args(tp) for x in _models_in(a)]


KEYS = _field_names()
WORDS = ["RUS", "GEO", "ARM", "week", "day", "month", "visa_free", "closed", "origin",
         "destination", "about", "interval", "departures", "stock", "2022-02-24",
         "0001-01-01", "9999-12-31", "1e309", "-.inf", ".nan", "~", "yes", "null", "p_return",
         "default", "all", "targets.yaml", "../x.yaml", "/etc/passwd"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**15), 10**15),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)), st.sampled_from(WORDS))
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.sampled_from(WORDS),
                                  st.integers(-3, 3), st.booleans()), children, max_size=5)),
    max_leaves=40)
# a scenario-shaped document: the top-level sections, each filled with anything
sections = st.dictionaries(st.sampled_from([*m.Scenario.model_fields, "extends", "bogus"]),
                           documents, min_size=1, max_size=8)

TOKENS = ["name: x", "\n", "  ", "- ", ": ", "{", "}", "[", "]", ", ", "&a ", "*a", "<<: *a",
          "!!python/object/apply:os.system [ls]", "!tag ", "---\n", "...\n", "'", '"', "# c",
          "\t", "\x01", "\x7f", "\ufeff", "%YAML 1.1\n", "? ", "| \n", "> \n", "countries:",
          "- id: RUS", "calendar: {start: 2022-01-01, end: 2022-02-30}", "1e6", "-", ":",
          "\\u0000", "\u2028", "é"]
raw_text = st.lists(st.sampled_from(TOKENS), max_size=30).map("".join)


def _write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


@_settings(60)
@given(doc=st.one_of(sections, documents))
def test_any_yaml_document(tmp_path_factory, doc: Any) -> None:
    tmp = tmp_path_factory.mktemp("doc")
    try:
        text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:  # pragma: no cover - e.g. a key PyYAML cannot write
        return
    _check(_write(tmp, "s.yaml", text))


@_settings(60)
@given(text=raw_text)
def test_any_yaml_text(tmp_path_factory, text: str) -> None:
    _check(_write(tmp_path_factory.mktemp("text"), "s.yaml", text))


# -- mutations of the bundled scenario --------------------------------------------------------


_LINES = BUNDLED.read_text(encoding="utf-8").splitlines(keepends=True)
_DATA = plain(read_yaml(BUNDLED))
_DATA["targets"] = plain(read_yaml(TARGETS))
_CHARS = [" ", "\t", ":", "-", "#", "{", "[", "'", '"', "&", "*", "!", "0", "9", ".", "\x01",
          "\x0c", "x", "Ж", "\n"]


def _paths(x: Any, p: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [p]
    if isinstance(x, dict):
        for k, v in x.items():
            out += _paths(v, (*p, k))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            out += _paths(v, (*p, i))
    return out


_ALL_PATHS = _paths(_DATA)[1:]


@st.composite
def text_mutations(draw: Any) -> str:
    lines = list(_LINES)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["delete", "duplicate", "swap", "char", "indent"]))
        if how == "delete":
            del lines[i]
        elif how == "duplicate":
            lines.insert(i, lines[i])
        elif how == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif how == "indent":
            lines[i] = draw(st.sampled_from(["", " ", "  ", "\t"])) + lines[i].lstrip(" ")
        elif lines[i]:
            k = draw(st.integers(0, len(lines[i]) - 1))
            lines[i] = lines[i][:k] + draw(st.sampled_from(_CHARS)) + lines[i][k + 1:]
        if not lines:
            break
    return "".join(lines)


@st.composite
def data_mutations(draw: Any) -> Any:
    import copy

    data = copy.deepcopy(_DATA)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_ALL_PATHS))
        parent = data
        try:
            for k in path[:-1]:
                parent = parent[k]
            if isinstance(parent, dict) and draw(st.booleans()) and draw(st.booleans()):
                del parent[path[-1]]
            else:
                parent[path[-1]] = draw(st.one_of(scalars, st.sampled_from(
                    [[1, 2], {"a": 1}, [None], -5, -1e9, 0, 10**30, "RUS", True])))
        except (KeyError, IndexError, TypeError):  # an earlier mutation moved it
            continue
    return data


@_settings(20)
@given(text=text_mutations())
def test_mutations_of_the_bundled_scenario_text(tmp_path_factory, text: str) -> None:
    tmp = tmp_path_factory.mktemp("mut")
    shutil.copy(TARGETS, tmp / TARGETS.name)
    _check(_write(tmp, BUNDLED.name, text))


@_settings(15)
@given(data=data_mutations())
def test_mutations_of_the_bundled_scenario_data(tmp_path_factory, data: Any) -> None:
    tmp = tmp_path_factory.mktemp("mut")
    try:
        text = dump_yaml(data)
    except (yaml.YAMLError, ValueError):  # pragma: no cover - not writable as YAML
        return
    _check(_write(tmp, BUNDLED.name, text))
