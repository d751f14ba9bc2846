"""Results as NetCDF4 files: int32 counts, zlib-compressed, the scenario embedded.

:func:`save_results` writes a :class:`~flowsim.Results` to one file all or nothing
(:func:`flowsim.results.files.atomic_file`). The resolved scenario travels inside the file
as the attribute :data:`SCENARIO_ATTR` (compact JSON), so that the file alone can be reopened
with its group and target queries; a run directory's ``scenario.yaml`` is used instead only
when its hash matches the run's.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

from flowsim.results.files import atomic_file

RESULTS_FILE = "results.nc"


SCENARIO_FILE = "scenario.yaml"


#: The dataset attribute that carries the resolved scenario (JSON) inside a NetCDF file.
SCENARIO_ATTR = "scenario_json"


#: The CF bounds variable of ``time``: each step's first and last day, ``(time, 2)``.
TIME_BOUNDS = "time_bnds"


def _netcdf_dataset(results: Any) -> Any:
    """The dataset as written: the scenario embedded, CF time bounds, every variable
    compressed."""
    ds = results.dataset.copy(deep=False)
    ds.attrs = dict(ds.attrs)
    if results.scenario is not None:
        ds.attrs[SCENARIO_ATTR] = scenario_json(results.scenario)
    return with_time_bounds(ds)


def with_time_bounds(ds: Any) -> Any:
    """``ds`` with the CF bounds variable :data:`TIME_BOUNDS` of ``time`` (each step's
    first and last day), when it has both ``time`` and ``step_start``; the streamed file
    (:func:`flowsim.stream`) gets them the same way."""
    import numpy as np

    if "time" in ds.coords and "step_start" in ds.coords:
        # CF cell bounds: a step is the cell [first day, last day] (xarray gives the bounds
        # the time coordinate's units and calendar when it encodes them)
        bounds = np.stack([ds["step_start"].values, ds["time"].values], axis=1)
        ds = ds.assign({TIME_BOUNDS: (("time", "nv"), bounds)})
        ds["time"].attrs = {**ds["time"].attrs, "bounds": TIME_BOUNDS}
        ds[TIME_BOUNDS].attrs = {"long_name": "first and last day of the step (inclusive)"}
    return ds


def time_encoding(ds: Any) -> dict[str, dict[str, str]]:
    """One set of units for ``time`` and its bounds, as CF asks: those xarray gives time
    by itself (days since the last day of the first step); empty without bounds."""
    if TIME_BOUNDS not in ds.variables or not ds.sizes["time"]:
        return {}
    first = str(ds["time"].values[0].astype("datetime64[s]")).replace("T", " ")
    units = {"units": f"days since {first}", "calendar": "proleptic_gregorian"}
    return {"time": units, TIME_BOUNDS: units}


def scenario_json(scenario: Any) -> str:
    """The resolved scenario as compact JSON, as NetCDF files embed it (``scenario_json``)."""
    return json.dumps(scenario.to_data(json=True), ensure_ascii=False, separators=(",", ":"))


#: Bytes of one NetCDF chunk (before compression), about: chunks hold whole replicates
CHUNK_BYTES = 4 * 1024 * 1024


def _encoding(var: Any) -> dict[str, Any]:
    """zlib level 1 with byte shuffling (level 4 is 30% slower for files 10% smaller), in
    chunks of whole replicates, so that reading some replicates reads only their chunks."""
    enc: dict[str, Any] = {"zlib": True, "complevel": 1, "shuffle": True}
    if var.ndim and var.dims[0] == "replicate" and var.size:
        per_replicate = max(1, var.size // var.shape[0]) * var.dtype.itemsize
        n = int(min(var.shape[0], max(1, CHUNK_BYTES // per_replicate)))
        enc["chunksizes"] = (n, *var.shape[1:])
    return enc


def save_results(results: Any, path: str | os.PathLike[str]) -> Path:
    """Write results to one NetCDF4 file, atomically (a temporary file, then a rename).

    Counts are stored as zlib-compressed int32; the scenario (if known) is embedded as the
    attribute ``scenario_json`` so that :func:`open_results` can restore group and target
    queries from the file alone.

    Parameters
    ----------
    results : Results
    path : str or Path
        The file to write (conventionally ``*.nc``); replaced if it exists.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    ds = _netcdf_dataset(results)
    encoding = {v: _encoding(ds[v]) for v in ds.data_vars}
    for name, units in time_encoding(ds).items():
        encoding[name] = {**encoding.get(name, {}), **units}
    with atomic_file(path) as tmp:
        ds.to_netcdf(tmp, mode="w", format="NETCDF4", engine="netcdf4", encoding=encoding)
    return path


def _embedded_scenario(text: str, file: Path) -> Any:
    from flowsim.errors import ScenarioError
    from flowsim.scenario.loading import validate_data

    try:
        scenario, _ = validate_data(json.loads(text))
    except (ScenarioError, ValueError) as e:
        warnings.warn(f"{file}: the scenario saved with the results does not load ({e}); "
                      "group and target queries are unavailable", stacklevel=3)
        return None
    return scenario


def _sidecar_scenario(file: Path, expected: str | None) -> Any:
    from flowsim.core.compile import scenario_hash
    from flowsim.errors import ScenarioError
    from flowsim.scenario.loading import read_scenario

    if not file.is_file():
        return None
    try:
        scenario, _ = read_scenario(file)
    except ScenarioError as e:
        warnings.warn(f"{file} does not load ({e}); group and target queries are "
                      "unavailable", stacklevel=3)
        return None
    if expected is not None and scenario_hash(scenario) != expected:
        warnings.warn(f"{file} is not the scenario these results were simulated from (hash "
                      f"{scenario_hash(scenario)}, results {expected}); it is not used",
                      stacklevel=3)
        return None
    return scenario
