"""Saved results read back: :func:`open_results`, for a file or a run directory.

A streamed run's file (attribute ``flowsim_layout = "streamed"``) comes back as
:class:`~flowsim.StreamedResults`, any other as :class:`~flowsim.Results`, with its
scenario restored.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

from flowsim.results.netcdf import (
    RESULTS_FILE,
    SCENARIO_ATTR,
    SCENARIO_FILE,
    TIME_BOUNDS,
    _embedded_scenario,
    _sidecar_scenario,
)


def open_results(path: str | os.PathLike[str]) -> Any:
    """Read results saved by :func:`save_results` or :func:`write_outputs`.

    Parameters
    ----------
    path : str or Path
        A NetCDF file, or a run directory holding ``results.nc``.

    Returns
    -------
    Results or StreamedResults
        The latter for the file of a streamed run (:func:`flowsim.stream`). Results come
        with the scenario restored, so that group and target queries work: the one embedded
        in the file, else ``scenario.yaml`` beside it if its content hash matches the run's.
        Without either (or if the scenario no longer validates), ``scenario`` is ``None``
        and a warning says why.

    Raises
    ------
    FileNotFoundError
        If there is no such file, or the directory holds no ``results.nc``.
    """
    import xarray as xr

    from flowsim.results.dataset import Results

    p = Path(path)
    file = p / RESULTS_FILE if p.is_dir() else p
    if not file.is_file():
        what = f"no {RESULTS_FILE} in this directory" if p.is_dir() else "no such file"
        raise FileNotFoundError(errno.ENOENT, what, str(file))
    with xr.open_dataset(file, engine="netcdf4") as f:
        streamed = f.attrs.get("flowsim_layout") == "streamed"
        ds = None if streamed else f.load()
    if streamed:
        from flowsim.results.streamed import StreamedResults

        return StreamedResults.open(file)
    # the time bounds repeat step_start and time (written for CF readers): not in a run
    if TIME_BOUNDS in ds.variables:
        ds = ds.drop_vars(TIME_BOUNDS)
        ds["time"].attrs = {k: v for k, v in ds["time"].attrs.items() if k != "bounds"}
    # strings come back as objects: give them str dtype, as in a fresh run
    strings = {n: ds[n].astype(str) for n in ds.coords if ds[n].dtype == object}
    ds = ds.assign_coords(strings)
    for name in ds.variables:
        ds[name].encoding = {}
    text = ds.attrs.pop(SCENARIO_ATTR, None)
    scenario = _embedded_scenario(text, file) if text is not None else \
        _sidecar_scenario(file.parent / SCENARIO_FILE, ds.attrs.get("scenario_hash"))
    return Results(ds, scenario)
