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

__all__ = ["CSV_FILE", "FIGURE_FILE", "read_sensitivity", "sensitivity_report",
           "write_sensitivity"]

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
    from flowsim.results.files import staged_directory, write_run_json

    out = Path(out_dir)
    names = [CSV_FILE]
    with staged_directory(out) as tmp:
        result.to_dataframe().to_csv(tmp / CSV_FILE, index=False, float_format="%.6g")
        if figures:
            from flowsim.plots.sensitivity import sensitivity_figure

            sensitivity_figure(result).savefig(tmp / FIGURE_FILE, dpi=dpi)
            names.append(FIGURE_FILE)
        meta = _meta(result, run_info)
        write_run_json(tmp, meta, names)
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


def read_sensitivity(directory: str | Path) -> Any:
    """The :class:`~flowsim.calibration.sensitivity.Sensitivity` a directory holds, read
    back from its ``sensitivity.csv`` and ``run.json`` (for ``flowsim report`` and
    ``flowsim plot``).

    Parameters
    ----------
    directory : path
        A directory written by ``flowsim sensitivity``.

    Returns
    -------
    Sensitivity

    Raises
    ------
    FileNotFoundError
        Without ``sensitivity.csv`` or ``run.json``.
    ValueError
        When the two do not describe the same analysis.
    """
    import pandas as pd

    from flowsim.calibration.sensitivity import RANDOMNESS, Sensitivity

    d = Path(directory)
    table = pd.read_csv(d / CSV_FILE, keep_default_na=False)
    info = json.loads((d / "run.json").read_text(encoding="utf-8"))
    parameters = tuple(info.get("parameters", ()))
    outcomes = tuple(dict.fromkeys(table["outcome"]))
    sources = tuple(table.drop_duplicates("outcome").set_index("outcome")
                    .loc[list(outcomes), "source"])
    kinds = [k for k in dict.fromkeys(table["index"]) if k != RANDOMNESS]
    if info.get("kind") != "sensitivity" or not parameters:
        raise ValueError(f"{d / 'run.json'}: not the run.json of a sensitivity analysis")
    estimate, low, high = {}, {}, {}
    for kind in kinds:
        rows = table[table["index"] == kind]
        grid = rows.pivot(index="outcome", columns="parameter")
        if sorted(grid["estimate"].columns) != sorted(parameters):
            raise ValueError(f"{d / CSV_FILE}: its parameters are not those of run.json")
        for out, col in ((estimate, "estimate"), (low, "low"), (high, "high")):
            out[kind] = grid[col].loc[list(outcomes), list(parameters)].to_numpy(float)
    noise = table[table["index"] == RANDOMNESS].set_index("outcome")
    randomness = (tuple(noise.loc[list(outcomes), c].to_numpy(float)
                        for c in ("estimate", "low", "high")) if len(noise) else None)
    return Sensitivity(
        method=str(info.get("method")), scenario_name=str(info["scenario"]["name"]),
        parameters=parameters, outcomes=outcomes, sources=sources, estimate=estimate,
        low=low, high=high, randomness=randomness,
        confidence=float(info.get("confidence", 0.9)), samples=int(info.get("samples", 0)),
        simulations=int(info.get("simulations", 0)),
        constant=tuple(info.get("constant_outcomes", ())),
        seed=dict(info.get("seed_sequence") or {}),
        wall_time=float((info.get("timings") or {}).get("simulate_s", 0.0)))
