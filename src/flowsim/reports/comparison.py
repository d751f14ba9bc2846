"""A comparison's directory, all or nothing (:func:`flowsim.results.files.staged_directory`).

=============================  ===============================================================
``effects.csv``                one row per counterfactual and outcome
                               (:meth:`Comparison.effects <flowsim.comparison.Comparison.effects>`)
``comparison.nc``              every outcome per scenario and replicate, the paired
                               differences and ratios (:meth:`Comparison.to_dataset`), named
                               in parts along ``outcome`` (``quantity``, ``place``,
                               ``start``, ``date``, ``cohort``); people abroad and in each
                               bloc over time (``over_time``); CF-1.10 attributes, the
                               provenance and the baseline's scenario (JSON):
                               :func:`open_comparison` reads it back for the figures
``run.json``                   seed, replicates, scenario files and hashes, posterior,
                               versions, command line, timings, files
``paired_differences.png``     :func:`flowsim.plots.comparison.paired_differences`
``where_people_ended.png``     :func:`flowsim.plots.comparison.where_people_ended`
=============================  ===============================================================
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from flowsim._version import __version__
from flowsim.comparison.effects import Comparison
from flowsim.plots import comparison as plots_compare
from flowsim.results.files import Written, staged_directory, write_run_json

__all__ = ["COMPARISON_FILE", "EFFECTS_FILE", "FIGURES", "PAPER_FIGURES", "RUN_FILE",
           "SavedComparison", "comparison_dataset", "open_comparison", "write_comparison"]

EFFECTS_FILE = "effects.csv"
COMPARISON_FILE = "comparison.nc"
RUN_FILE = "run.json"
#: figure file stem -> function of :mod:`flowsim.plots.comparison`
FIGURES = {"paired_differences": "paired_differences",
           "where_people_ended": "where_people_ended"}
#: The figures for a paper (``flowsim plot DIR --all`` and the HTML report): file stem ->
#: ``module.function`` of :mod:`flowsim.plots`.
PAPER_FIGURES = {"paired_differences": "comparison.paired_differences",
                 "effects_over_time": "effects.effects_over_time",
                 "effects_by_place": "effects.effects_by_place",
                 "effects_by_cohort": "effects.effects_by_cohort",
                 "where_people_ended": "comparison.where_people_ended"}


@dataclasses.dataclass(frozen=True)
class SavedComparison(Comparison):
    """A comparison read back from its directory (:func:`open_comparison`).

    It keeps no runs (``results`` is empty); what the figures need of them is saved with
    it: the baseline's scenario, the series over time (:func:`comparison_series`) and the
    provenance attributes of ``comparison.nc``.
    """

    scenario: Any = None
    series: Any = None
    attrs: dict[str, Any] = dataclasses.field(default_factory=dict)


#: The attributes of comparison.nc's variables and coordinates (CF-1.10).
_VARIABLE_ATTRS = {
    "value": {"long_name": "number of people: each outcome, per scenario and replicate",
              "units": "1"},
    "difference": {"long_name": "paired difference, counterfactual minus baseline (same "
                   "replicate, common random numbers)", "units": "1"},
    "ratio": {"long_name": "paired ratio, counterfactual over baseline (NaN where the "
              "baseline is 0)", "units": "1"},
    "over_time": {"long_name": "number of people abroad and in each bloc at the end of each "
                  "step, per scenario and replicate", "units": "1", "cell_methods":
                  "time: point"},
    "scenario": {"long_name": "scenario (the first is the baseline)"},
    "outcome": {"long_name": "outcome, in words"},
    "quantity": {"long_name": "what the outcome counts"},
    "place": {"long_name": "where (a bloc of the report or a country id; empty: everywhere)"},
    "start": {"long_name": "first day of the outcome's period (empty for a stock)"},
    "date": {"long_name": "day of the stock, or last day of the period"},
    "cohort": {"long_name": "cohort (empty: everyone)"},
    "replicate": {"long_name": "replicate (the same draws in every scenario)"},
    "series": {"long_name": "series over time: abroad, or in a bloc of the report"},
    "time": {"standard_name": "time", "long_name": "last day of the step (inclusive)",
             "axis": "T"},
    "step_start": {"long_name": "first day of the step (inclusive)"},
}


def draw_comparison_figures(comparison: Comparison, which: str = "default"
                            ) -> tuple[dict[str, Any], list[str]]:
    """Draw a comparison's figures: ``which`` is ``"default"`` (:data:`FIGURES`, those its
    directory holds) or ``"all"`` (:data:`PAPER_FIGURES`). Returns the figures by file
    stem and, for each one not drawn, why."""
    import importlib

    table = ({k: f"comparison.{v}" for k, v in FIGURES.items()} if which == "default"
             else PAPER_FIGURES)
    figures, skipped = {}, []
    for stem, name in table.items():
        module, _, func = name.rpartition(".")
        try:
            figures[stem] = getattr(importlib.import_module(f"flowsim.plots.{module}"),
                                    func)(comparison)
        except (KeyError, ValueError) as e:  # e.g. a scenario without blocs
            skipped.append(f"{stem}: {str(e).strip(chr(39))}")
    return figures, skipped


def comparison_dataset(comparison: Comparison, run_info: dict[str, Any] | None = None
                       ) -> xr.Dataset:
    """What ``comparison.nc`` holds: values, paired differences and ratios by structured
    outcome, the series over time, CF attributes and the provenance."""
    from flowsim.plots.effects import comparison_series
    from flowsim.results.cf import CONVENTIONS, parameter_uncertainty, provenance
    from flowsim.results.netcdf import scenario_json

    base = comparison.results[comparison.baseline]
    a = base.dataset.attrs
    ds = comparison.to_dataset()
    try:
        ds["over_time"] = comparison_series(comparison).astype(np.int32)
    except (KeyError, ValueError):  # runs not kept, or without stock: no series
        pass
    for name, attrs in _VARIABLE_ATTRS.items():
        if name in ds.variables:
            ds[name].attrs.update(attrs)
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    params = base.dataset["params"].values if "params" in base.dataset else np.zeros((0, 0))
    ds.attrs.update({
        "Conventions": CONVENTIONS,
        "title": f"flowsim comparison against {comparison.baseline}",
        "source": f"flowsim {__version__}: paired comparison with common random numbers",
        "history": f"{created}: compared by flowsim {__version__}",
        "scenario_name": str(a.get("scenario_name", comparison.baseline)),
        "scenario_hash": str(a.get("scenario_hash", "")),
        "replicates": int(comparison.values.sizes["replicate"]),
        "seed_entropy": str(a.get("seed_entropy")),
        "flowsim_version": __version__,
        "created": created,
        "parameter_uncertainty": parameter_uncertainty(params),
        "period_end": str(base.dataset["time"].values[-1].astype("datetime64[D]")),
        "quantiles": ",".join(map(str, comparison.quantiles)),
        **provenance(run_info),
    })
    if "command" in ds.attrs:
        ds.attrs["history"] += f" ({ds.attrs['command']})"
    if base.scenario is not None:
        ds.attrs["scenario_json"] = scenario_json(base.scenario)
    return ds


def open_comparison(path: str | Path) -> SavedComparison:
    """Read a comparison back from its directory (or its ``comparison.nc``).

    Raises
    ------
    FileNotFoundError
        If there is no such file or the directory holds no ``comparison.nc``.
    """
    import errno

    from flowsim.results.netcdf import _embedded_scenario

    p = Path(path)
    file = p / COMPARISON_FILE if p.is_dir() else p
    if not file.is_file():
        raise FileNotFoundError(errno.ENOENT, "no comparison.nc in this directory"
                                if p.is_dir() else "no such file", str(file))
    with xr.open_dataset(file, engine="netcdf4") as f:
        ds = f.load()
    ds = ds.assign_coords({n: ds[n].astype(str) for n in ds.coords if ds[n].dtype == object})
    attrs = dict(ds.attrs)
    text = attrs.pop("scenario_json", None)
    scenario = _embedded_scenario(text, file) if text else None
    lo, hi = (float(q) for q in str(attrs.get("quantiles", "0.05,0.95")).split(","))
    return SavedComparison(values=ds["value"], results={}, quantiles=(lo, hi), scenario=scenario,
                           series=ds.get("over_time"), attrs=attrs)


def write_comparison(comparison: Comparison, out_dir: str | Path, *,
                     run_info: dict[str, Any] | None = None, figures: bool = True,
                     dpi: int = 200) -> Written:
    """Write a comparison's files to ``out_dir``, all or nothing.

    Parameters
    ----------
    comparison : Comparison
    out_dir : str or Path
        Created if missing; files of the same names in it are replaced, others kept.
    run_info : dict, optional
        Facts for ``run.json`` (seed, files, command line, timings).
    figures : bool
        Draw ``paired_differences.png`` and ``where_people_ended.png``.
    dpi : int
        Resolution of the figures.

    Returns
    -------
    Written
        The files written, ``run.json`` last, and the figures not drawn, each with why.
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    names: list[str] = []
    skipped: list[str] = []
    base_attrs = comparison.results[comparison.baseline].dataset.attrs
    with staged_directory(out) as tmp:
        comparison.effects().to_csv(tmp / EFFECTS_FILE, index=False, float_format="%.10g")
        names.append(EFFECTS_FILE)
        ds = comparison_dataset(comparison, run_info)
        enc = {v: {"zlib": True, "complevel": 1} for v in ds.data_vars}
        ds.to_netcdf(tmp / COMPARISON_FILE, format="NETCDF4", engine="netcdf4", encoding=enc)
        names.append(COMPARISON_FILE)
        if figures:
            for stem, func in FIGURES.items():
                try:
                    fig = getattr(plots_compare, func)(comparison)
                except (KeyError, ValueError) as e:  # e.g. a scenario without the blocs
                    skipped.append(f"{stem}.png: {e}")
                    continue
                fig.savefig(tmp / f"{stem}.png", dpi=dpi,
                            metadata={"Description": f"flowsim {__version__} comparison "
                                      f"against {comparison.baseline}, seed "
                                      f"{base_attrs.get('seed_entropy')}"})
                names.append(f"{stem}.png")
        meta: dict[str, Any] = {
            "flowsim_version": __version__,
            "created": ds.attrs["created"],
            "seed": {"entropy": str(base_attrs.get("seed_entropy"))},
            "outcomes": [str(o) for o in comparison.values["outcome"].values],
            "quantiles": list(comparison.quantiles),
            "environment": {"python": platform.python_version(), "numpy": np.__version__,
                            "xarray": xr.__version__, "platform": platform.platform()},
        }
        for k, v in (run_info or {}).items():
            if isinstance(v, dict) and isinstance(meta.get(k), dict):
                meta[k] = {**meta[k], **v}
            else:
                meta[k] = v
        meta.setdefault("timings", {})["write_s"] = round(time.perf_counter() - t0, 3)
        write_run_json(tmp, meta, names, skipped, RUN_FILE)
    return Written(out, tuple(out / n for n in names), tuple(skipped))

