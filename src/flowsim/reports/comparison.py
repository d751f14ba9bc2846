"""A comparison's directory, all or nothing (:func:`flowsim.results.files.staged_directory`).

=============================  ===============================================================
``effects.csv``                one row per counterfactual and outcome
                               (:meth:`Comparison.effects <flowsim.comparison.Comparison.effects>`)
``comparison.nc``              every outcome per scenario and replicate, the paired
                               differences and ratios (:meth:`Comparison.to_dataset`)
``run.json``                   seed, replicates, scenario files and hashes, posterior,
                               versions, command line, timings, files
``paired_differences.png``     :func:`flowsim.plots.comparison.paired_differences`
``where_people_ended.png``     :func:`flowsim.plots.comparison.where_people_ended`
=============================  ===============================================================
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from flowsim._version import __version__
from flowsim.comparison.effects import Comparison
from flowsim.plots import comparison as plots_compare
from flowsim.results.files import Written, json_default, staged_directory

__all__ = ["COMPARISON_FILE", "EFFECTS_FILE", "FIGURES", "RUN_FILE", "write_comparison"]

EFFECTS_FILE = "effects.csv"
COMPARISON_FILE = "comparison.nc"
RUN_FILE = "run.json"
#: figure file stem -> function of :mod:`flowsim.plots.comparison`
FIGURES = {"paired_differences": "paired_differences",
           "where_people_ended": "where_people_ended"}


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
        ds = comparison.to_dataset()
        ds.attrs.update({"replicates": int(comparison.values.sizes["replicate"]),
                         "seed_entropy": str(base_attrs.get("seed_entropy")),
                         "flowsim_version": __version__,
                         "created": dt.datetime.now(dt.UTC).isoformat(
                             timespec="seconds")})
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
        meta["files"] = [*names, RUN_FILE]
        if skipped:
            meta["skipped"] = skipped
        (tmp / RUN_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False,
                                               default=json_default) + "\n", encoding="utf-8")
        names.append(RUN_FILE)
    return Written(out, tuple(out / n for n in names), tuple(skipped))

