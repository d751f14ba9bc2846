"""Targets files: a list of targets, or a mapping with ``targets:``, ``validation:`` and
``error_model:``.

A scenario's ``targets: FILE`` and ``flowsim calibrate --targets FILE`` read such a file::

    error_model: error     # optional: `range` (the default) or `error`
    targets:               # calibrated on
      - {id: ..., observable: ..., kind: about, value: ..., source: ...}
    validation:            # the same format; compared with the posterior predictive,
      - {id: ..., ...}     # never calibrated on

``error_model: error`` gives every target (and validation figure) that has no ``error:``
block the error its kind implies (``error: {}``: an ``about`` tolerance read as ±2 sd, an
interval as ±2 sd, a bound soft by 12.5 %; see :class:`~flowsim.scenario.target_parts.TargetError`);
``range`` (the default) leaves them ranges, as they always were. :func:`targets_file_sections`
turns the file into the scenario's ``targets`` and ``validation`` sections, keeping every
value's place in the file so that problems point into it.
"""

from __future__ import annotations

from typing import Any

from flowsim.errors import Problem, did_you_mean
from flowsim.scenario.target_parts import ERROR_MODELS
from flowsim.scenario.yamlio import LocatedDict, YamlProblem

__all__ = ["TARGETS_FILE_KEYS", "targets_file_sections"]

#: the keys of a targets file that is a mapping
TARGETS_FILE_KEYS = ("targets", "validation", "error_model")


def targets_file_sections(included: Any) -> dict[str, Any]:
    """The ``targets`` (and ``validation``) sections a targets file gives.

    Parameters
    ----------
    included : Any
        The file as :func:`flowsim.scenario.yamlio.read_yaml` read it: a list of targets,
        or a mapping with the keys :data:`TARGETS_FILE_KEYS` (``targets`` required).

    Returns
    -------
    dict
        ``{"targets": ...}`` and, when the file has one, ``"validation"``; with
        ``error_model: error`` applied (see the module doc). A value that is not a list is
        returned as it is, for the caller to report.

    Raises
    ------
    YamlProblem
        For an unknown key or an ``error_model`` other than ``range`` or ``error``, at its
        place in the file.
    """
    if not isinstance(included, dict):
        return {"targets": included}
    file = getattr(included, "file", None)
    marks = getattr(included, "marks", {})

    def problem(key: Any, message: str) -> YamlProblem:
        line, col = marks.get(key, (1, 1))
        return YamlProblem(Problem(message, str(key), file, line, col))

    for key in included:
        if key not in TARGETS_FILE_KEYS:
            raise problem(key, f"unknown key {key!r} in a targets file"
                               f"{did_you_mean(str(key), TARGETS_FILE_KEYS)}; it holds "
                               "`targets`, `validation` and `error_model`")
    mode = included.get("error_model", "range")
    if mode not in ERROR_MODELS:
        raise problem("error_model", f"error_model is `range` (targets without an `error:` "
                                     f"block are ranges) or `error`, got {mode!r}")
    out = {k: included[k] for k in ("targets", "validation") if k in included}
    if mode == "error":
        at = marks.get("error_model", (1, 1))
        for items in out.values():
            for item in items if isinstance(items, list) else ():
                if isinstance(item, dict) and "error" not in item:
                    _add_error(item, at)
    return out


def _add_error(item: dict[str, Any], at: tuple[int, int]) -> None:
    """``error: {}`` on a target, placed (for messages) where ``error_model`` is written."""
    block = LocatedDict()
    if isinstance(item, LocatedDict):
        block.file, block.path, block.mark, block.marks = item.file, (*item.path, "error"), \
            at, {}
        item.marks["error"] = at
    item["error"] = block
