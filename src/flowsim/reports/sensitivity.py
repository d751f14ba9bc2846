"""The files of ``flowsim sensitivity``, all or nothing, and its HTML report.

:func:`write_sensitivity` writes, through :func:`flowsim.results.files.staged_directory` (a
directory is whole or as it was):

``sensitivity.csv``   every index of every outcome and parameter, tidy (outcome, source,
                      parameter, index, estimate, low, high;
                      :meth:`Sensitivity.to_dataframe`)
``sensitivity.png``   the headline outcomes' indices with their intervals
                      (:func:`flowsim.plots.sensitivity.sensitivity_figure`)
``run.json``          how it was made: the command, seed, method, sample, simulations,
                      versions, timings (last: a directory that has it is whole)

:func:`sensitivity_report` is the same as one HTML page (``--report``).
"""

from __future__ import annotations

import datetime as dt
import json
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from flowsim._version import __version__

__all__ = ["CSV_FILE", "FIGURE_FILE", "sensitivity_report", "write_sensitivity"]

CSV_FILE = "sensitivity.csv"
FIGURE_FILE = "sensitivity.png"


def _meta(result: Any, run_info: Mapping[str, Any] | None) -> dict[str, Any]:
    return {
        "flowsim_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "kind": "sensitivity",
        "scenario": {"name": result.scenario_name},
        "method": result.method,
        "samples": result.samples,
        "simulations": result.simulations,
        "parameters": list(result.parameters),
        "outcomes": len(result.outcomes),
        "constant_outcomes": list(result.constant),
        "confidence": result.confidence,
        "seed_sequence": result.seed,
        "environment": {"python": platform.python_version(), "numpy": np.__version__},
        **dict(run_info or {}),
    }


def write_sensitivity(out_dir: str | Path, result: Any, *,
                      run_info: Mapping[str, Any] | None = None, figures: bool = True,
                      dpi: int = 150) -> list[Path]:
    """Write a sensitivity analysis's files into ``out_dir``, all or nothing.

    Parameters
    ----------
    out_dir : path
    result : Sensitivity
    run_info : mapping, optional
        Facts for ``run.json`` (command, seed, workers, timings...).
    figures : bool
        Draw ``sensitivity.png``.
    dpi : int

    Returns
    -------
    list of Path
        The files written, ``run.json`` last.
    """
    from flowsim.results.files import json_default, staged_directory

    out = Path(out_dir)
    names = [CSV_FILE]
    with staged_directory(out) as tmp:
        result.to_dataframe().to_csv(tmp / CSV_FILE, index=False, float_format="%.6g")
        if figures:
            from flowsim.plots.sensitivity import sensitivity_figure

            sensitivity_figure(result).savefig(tmp / FIGURE_FILE, dpi=dpi)
            names.append(FIGURE_FILE)
        meta = _meta(result, run_info)
        meta["files"] = [*names, "run.json"]
        (tmp / "run.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False,
                                                 default=json_default) + "\n",
                                      encoding="utf-8")
        names.append("run.json")
    return [out / n for n in names]


def sensitivity_report(result: Any, run_info: Mapping[str, Any] | None = None) -> str:
    """A sensitivity analysis as one self-contained HTML page.

    Sections: what was done, the figure, the top parameters of every outcome (headline
    numbers, then targets), and the provenance.

    Parameters
    ----------
    result : Sensitivity
    run_info : mapping, optional

    Returns
    -------
    str
    """
    from flowsim.plots.sensitivity import sensitivity_figure
    from flowsim.reports.html import _facts, _figures, _page, _table

    info = _meta(result, run_info)
    what = "Sobol indices" if result.method == "sobol" else "Morris screening"
    facts = _facts([("method", what), ("parameters varied", len(result.parameters)),
                    ("sample", result.samples), ("simulations", f"{result.simulations:,}"),
                    ("intervals", f"{result.confidence:.0%} bootstrap"),
                    ("outcomes left out (constant)", ", ".join(result.constant)),
                    ("command", (info.get("command") or {}).get("repeat"))])
    table = result.summary(3)
    sections = [("Summary", facts),
                ("Figure", _figures({"sensitivity": sensitivity_figure(result)}, [])),
                ("Headline numbers", _table(table[table["source"] == "headline"].drop(
                    columns="source"))),
                ("Targets", _table(table[table["source"] == "target"].drop(columns="source"))),
                ("Provenance", _facts([(k, v) for k, v in info.items()
                                       if isinstance(v, str | int | float)]))]
    return _page(f"Sensitivity of {result.scenario_name}",
                 f"{what} of the headline numbers and targets over the priors: the three "
                 "parameters that move each outcome most, with bootstrap intervals (every "
                 "index is in sensitivity.csv).", sections)
