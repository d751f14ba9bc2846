"""Reading YAML with positions, and writing scenarios back to YAML.

Scenario files are read with PyYAML's *safe* loader, composed into nodes and turned into
plain dicts and lists that remember where each value stood in its file
(:class:`LocatedDict`, :class:`LocatedList`). Those positions survive merging with a parent
file (``extends:``), so that every error can point at the line a user wrote.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from flowsim.errors import Problem

__all__ = [
    "LocatedDict",
    "LocatedList",
    "YamlProblem",
    "dump_yaml",
    "format_path",
    "locate",
    "read_yaml",
]

MAX_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64
# A real scenario (36 countries, 73 routes) has about 3,000 values. The limit applies while
# the file is parsed, too: pure-Python PyYAML takes about 20 s and 700 MB per million values,
# so a large file is refused before it is all read, not after.
MAX_NODES = 200_000


class YamlProblem(Exception):
    """A file could not be read as a YAML mapping; carries the problems to report.

    ``problem`` is the first of ``problems`` (most failures have one; a file with several
    control characters in it has one problem for each).
    """

    def __init__(self, problem: Problem, *more: Problem) -> None:
        super().__init__("\n".join(map(str, (problem, *more))))
        self.problem = problem
        self.problems = [problem, *more]


class LocatedDict(dict):
    """A dict that knows its file, its path in that file, and where each key's value is."""

    file: str
    path: tuple[Any, ...]
    mark: tuple[int, int]
    marks: dict[Any, tuple[int, int]]


class LocatedList(list):
    """A list that knows its file, its path in that file, and where each item is."""

    file: str
    path: tuple[Any, ...]
    mark: tuple[int, int]
    marks: list[tuple[int, int]]


class _TooManyNodes(Exception):
    def __init__(self, mark: Any) -> None:
        self.mark = mark


class _TooDeep(Exception):
    def __init__(self, mark: Any) -> None:
        self.mark = mark


class _Loader(yaml.SafeLoader):
    """The safe loader, reading ``1e6`` and ``2.5e-3`` as numbers (YAML 1.2 style), that
    gives up after :data:`MAX_NODES` parsed values or beyond :data:`MAX_DEPTH` levels.

    The depth is checked while composing, not after: the composer recurses once per level,
    so ten thousand ``[`` would otherwise end in a ``RecursionError`` with no position.
    """

    _composed = 0
    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._composed += 1
        if self._composed > MAX_NODES:
            raise _TooManyNodes(self.peek_event().start_mark)
        # the document's root is depth 0 for _build; one more level is allowed here so that
        # _build, which knows the path, reports the first level too deep
        if self._depth > MAX_DEPTH + 1:
            raise _TooDeep(self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.VERBOSE,
)
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:float"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def read_yaml(file: str | Path, path: tuple[Any, ...] = ()) -> Any:
    """Read one YAML document with positions.

    Parameters
    ----------
    file : str or Path
        The file to read.
    path : tuple
        The document's path prefix (for included files).

    Returns
    -------
    LocatedDict, LocatedList or scalar

    Raises
    ------
    YamlProblem
        If the file cannot be read, is not UTF-8, is too large or too deeply nested, is not
        valid YAML, holds several documents, or is empty.
    """
    name = str(file)

    def fail(message: str, line: int | None = None, column: int | None = None) -> YamlProblem:
        return YamlProblem(Problem(message, file=name, line=line, column=column))

    try:
        with open(file, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except IsADirectoryError:
        raise fail("is a directory, not a scenario file") from None
    except FileNotFoundError:
        raise fail("does not exist") from None
    except OSError as e:
        raise fail(f"cannot be read: {e.strerror or e}") from None
    except ValueError:  # a path with a NUL character in it (from a YAML string)
        raise fail("cannot be read: the file name holds a NUL character") from None
    if len(raw) > MAX_BYTES:
        raise fail(f"is larger than {MAX_BYTES // (1024 * 1024)} MiB; a scenario file is text "
                   "of a few hundred kilobytes at most")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise fail(f"is not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start}); "
                   "save it as UTF-8", line, 1) from None
    if "\x00" in text:
        raise fail("holds NUL bytes: it is a binary file, not YAML",
                   *_position(text, text.index("\x00")))
    if not text.strip():
        raise fail("is empty")  # (no place in the file to point at)
    bad = _unprintable(name, text)
    if bad:
        raise YamlProblem(*bad)
    try:
        loader = _Loader(text)
    except yaml.YAMLError as e:  # the reader's own check, should _unprintable miss a case
        raise _yaml_error(name, e, text) from None
    try:
        try:
            node = loader.get_single_node()
        except _TooDeep as e:
            raise fail(f"is nested too deeply (more than {MAX_DEPTH} levels)",
                       e.mark.line + 1, e.mark.column + 1) from None
        except RecursionError:  # pragma: no cover - _TooDeep stops the composer first
            raise fail(f"is nested too deeply (more than {MAX_DEPTH} levels)") from None
        except _TooManyNodes as e:
            raise fail(f"holds more than {MAX_NODES:,} values; a scenario is much smaller",
                       e.mark.line + 1, e.mark.column + 1) from None
        except yaml.composer.ComposerError as e:
            if "single document" in f"{e.context or ''} {e.problem or ''}":
                m = e.problem_mark
                raise fail("holds several YAML documents (`---`); a scenario is one document",
                           m.line + 1 if m else None, m.column + 1 if m else None) from None
            raise _yaml_error(name, e, text) from None
        except yaml.YAMLError as e:
            raise _yaml_error(name, e, text) from None
        if node is None:
            raise fail("is empty (only comments)")
        state = {"nodes": 0}
        return _build(node, loader, name, path, 0, state)
    finally:
        loader.dispose()


#: Characters YAML does not allow in a file (PyYAML's reader refuses them).
_UNPRINTABLE = yaml.reader.Reader.NON_PRINTABLE
#: At most this many of them are reported, each at its place.
MAX_REPORTED = 20


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of the character at ``index`` of ``text``."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _unprintable(name: str, text: str) -> list[Problem]:
    """A problem at every character YAML does not allow (the first :data:`MAX_REPORTED`)."""
    out = []
    for match in _UNPRINTABLE.finditer(text):
        line, col = _position(text, match.start())
        if len(out) == MAX_REPORTED:
            out.append(Problem(f"holds more characters that YAML does not allow, from here "
                               f"on (only the first {MAX_REPORTED} are listed)", file=name,
                               line=line, column=col))
            break
        out.append(Problem(f"holds the control character U+{ord(match.group()):04X}, which "
                           "YAML does not allow; delete it (or write it as an escape, such "
                           "as \\t, inside double quotes)", file=name, line=line, column=col))
    return out


def _yaml_error(name: str, e: yaml.YAMLError, text: str) -> YamlProblem:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    if mark is not None:
        line, col = mark.line + 1, mark.column + 1
    elif isinstance(getattr(e, "position", None), int):  # a ReaderError: an index in text
        line, col = _position(text, e.position)  # type: ignore[attr-defined]
    else:
        line, col = 1, 1
    what = getattr(e, "problem", None) or getattr(e, "reason", None) or str(e).split("\n")[0]
    context = getattr(e, "context", None)
    message = f"is not valid YAML: {what}" + (f" ({context})" if context else "")
    return YamlProblem(Problem(message, file=name, line=line, column=col))


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def _build(node: yaml.Node, loader: _Loader, name: str, path: tuple[Any, ...], depth: int,
           state: dict[str, int]) -> Any:
    state["nodes"] += 1
    if state["nodes"] > MAX_NODES:
        line, col = _mark(node)
        raise YamlProblem(Problem(f"expands to more than {MAX_NODES:,} values (through aliases?); "
                                  "a scenario is much smaller", file=name, line=line, column=col))
    if depth > MAX_DEPTH:
        line, col = _mark(node)
        raise YamlProblem(Problem(f"is nested too deeply (more than {MAX_DEPTH} levels)",
                                  file=name, line=line, column=col))
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _PLAIN_TAGS:
        line, col = _mark(node)
        raise YamlProblem(Problem(f"the tag {node.tag!r} is not allowed in a scenario; write "
                                  "plain mappings and lists", format_path(path), name, line,
                                  col))
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves `<<:` merge keys
        out = LocatedDict()
        out.file, out.path, out.mark, out.marks = name, path, _mark(node), {}
        for knode, vnode in node.value:
            key = loader.construct_object(knode, deep=True)
            if isinstance(key, list | dict):
                line, col = _mark(knode)
                raise YamlProblem(Problem("a mapping key must be plain text", format_path(path),
                                          name, line, col))
            if key in out:
                line, col = _mark(knode)
                raise YamlProblem(Problem(f"the key {key!r} appears twice in the same mapping",
                                          format_path(path), name, line, col))
            out[key] = _build(vnode, loader, name, (*path, key), depth + 1, state)
            out.marks[key] = _mark(knode) if not isinstance(vnode, yaml.ScalarNode) \
                else _mark(vnode)
        return out
    if isinstance(node, yaml.SequenceNode):
        out_l = LocatedList()
        out_l.file, out_l.path, out_l.mark, out_l.marks = name, path, _mark(node), []
        for i, item in enumerate(node.value):
            out_l.append(_build(item, loader, name, (*path, i), depth + 1, state))
            out_l.marks.append(_mark(item))
        return out_l
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError as e:  # e.g. an impossible date such as 2022-02-30
        line, col = _mark(node)
        raise YamlProblem(Problem(f"cannot read the value {node.value!r}: "
                                  f"{getattr(e, 'problem', None) or e}",
                                  format_path(path), name, line, col)) from None
    except ValueError as e:
        line, col = _mark(node)
        raise YamlProblem(Problem(f"cannot read the value {node.value!r}: {e}",
                                  format_path(path), name, line, col)) from None


def format_path(path: tuple[Any, ...] | list[Any]) -> str:
    """``('routes', 3, 'to')`` as ``routes[3].to``."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += f".{p}" if out else str(p)
    return out


def locate(root: Any, path: tuple[Any, ...] | list[Any]) -> tuple[str | None, int | None,
                                                                 int | None, str]:
    """Where a path into (possibly merged) located data points in its source file.

    Walks ``path`` as far as the data goes. Returns ``(file, line, column, yaml_path)``; the
    yaml path is the path in the file the value came from, followed by any part of ``path``
    that the data does not hold (a missing key is reported at its parent).
    """
    node = root
    file = getattr(root, "file", None)
    line = col = None
    if isinstance(root, LocatedDict | LocatedList):  # the document itself: where it starts
        line, col = root.mark
    src_path: tuple[Any, ...] = tuple(getattr(root, "path", ()))
    rest = list(path)
    while rest:
        key = rest[0]
        held = (isinstance(node, LocatedDict) and key in node
                or isinstance(node, LocatedList) and isinstance(key, int) and 0 <= key < len(node))
        if held:
            file, (line, col) = node.file, node.marks[key]
            src_path = (*node.path, key)
        else:
            if isinstance(node, LocatedDict | LocatedList):
                file, (line, col) = node.file, node.mark
                src_path = tuple(node.path)
            break
        node = node[key]
        rest.pop(0)
    return file, line, col, format_path((*src_path, *rest))


def plain(x: Any) -> Any:
    """Located containers to ordinary dicts and lists (for pydantic and for dumping)."""
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [plain(v) for v in x]
    return x


class _Dumper(yaml.SafeDumper):
    """Block style, keys in the order given, long lists of ids on one line."""


# The dumper quotes a string when a resolver would read it as something else. It must know
# the loader's wider float syntax (``1e6``, ``1.0e5``), or such text would come back as a
# number; it keeps the YAML 1.1 float syntax too, so other YAML readers also see text.
_Dumper.yaml_implicit_resolvers = {
    k: list(v) for k, v in yaml.SafeDumper.yaml_implicit_resolvers.items()
}
_Dumper.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(isinstance(x, str | int | float) and not isinstance(x, bool) for x in data) \
        and len(data) <= 12
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(dict, lambda d, data: d.represent_dict(data.items()))


def dump_yaml(data: Any) -> str:
    """Plain data as readable YAML (the inverse of :func:`read_yaml` for scenarios)."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
