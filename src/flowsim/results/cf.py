"""Self-describing files: CF-1.10 attributes and provenance for every dataset flowsim writes.

:func:`describe` gives a run's dataset the attributes of the CF conventions (version 1.10):
``units`` and ``long_name`` on every variable, ``cell_methods`` that say whether a count is
at the end of a step (``time: point``) or summed over its days (``time: sum``),
``standard_name``/``axis`` on time, and the global ``Conventions``, ``title``, ``source``
and ``history``. :func:`provenance` says where the numbers come from: scenario and hash,
replicates, seed, version, the parameters (declared values, "chance only", or drawn from a
posterior, "with parameter uncertainty", with the posterior's file and hash), the command.

Counts of people are dimensionless in UDUNITS, so their ``units`` is ``"1"`` and their
``long_name`` begins "number of people". Each step is a cell of days: ``time`` holds its last
day and ``step_start`` its first (both inclusive); the file written by
:func:`flowsim.results.netcdf.save_results` also holds them as the CF bounds variable
``time_bnds`` (``time: bounds = "time_bnds"``), which :func:`flowsim.open_results` drops
again (it repeats two coordinates).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CHANCE_ONLY", "CONVENTIONS", "WITH_PARAMETERS", "describe", "file_hash",
           "parameter_uncertainty", "provenance", "provenance_line"]

CONVENTIONS = "CF-1.10"
CHANCE_ONLY = "chance only"
WITH_PARAMETERS = "with parameter uncertainty"

#: How each variable is aggregated over a step (CF ``cell_methods``).
CELL_METHODS: dict[str, str] = {
    "stock": "time: point", "settled": "time: point",
    "departures": "time: sum", "first_departures": "time: sum", "returns": "time: sum",
    "arrivals": "time: sum",
    "asylum_applications": "time: sum", "asylum_decisions": "time: sum",
    "asylum_grants": "time: sum", "visas_issued": "time: sum", "flow": "time: sum",
}

#: The attributes of every coordinate a run's dataset may hold.
COORDINATES: dict[str, dict[str, str]] = {
    "replicate": {"long_name": "replicate (one draw of the stochastic model)"},
    "time": {"standard_name": "time", "long_name": "last day of the step (inclusive)",
             "axis": "T"},
    "step_start": {"long_name": "first day of the step (inclusive)"},
    "country": {"long_name": "country (ISO 3166-1 alpha-3 code)"},
    "country_name": {"long_name": "country name"},
    "cohort": {"long_name": "cohort of people (as the scenario names it)"},
    "route": {"long_name": "route (from, to and mode)"},
    "route_from": {"long_name": "country the route leaves (ISO 3166-1 alpha-3)"},
    "route_to": {"long_name": "country the route enters (ISO 3166-1 alpha-3)"},
    "route_mode": {"long_name": "mode of travel of the route"},
    "parameter": {"long_name": "scenario parameter"},
}


def parameter_uncertainty(params: np.ndarray) -> str:
    """``"with parameter uncertainty"`` if any parameter differs between replicates, else
    ``"chance only"`` (every replicate has the same parameters: the spread is chance)."""
    p = np.asarray(params, dtype=float)
    if p.ndim != 2 or p.shape[0] < 2 or p.shape[1] == 0:
        return CHANCE_ONLY
    same = np.all(p == p[:1], axis=0) | np.all(np.isnan(p), axis=0)
    return CHANCE_ONLY if bool(same.all()) else WITH_PARAMETERS


def describe(ds: Any, variables: Mapping[str, str]) -> Any:
    """Give a run's dataset its CF attributes, in place; returns it.

    Parameters
    ----------
    ds : xarray.Dataset
        A run's dataset (:meth:`flowsim.Results.from_arrays`).
    variables : mapping of str to str
        What each count variable is, in words (:data:`flowsim.results.dataset.VARIABLES`).
    """
    for name, attrs in COORDINATES.items():
        if name in ds.variables:
            ds[name].attrs.update(attrs)
    for name in ds.data_vars:
        if ds[name].dims[:2] != ("replicate", "time"):
            continue
        what = variables.get(str(name), str(name).replace("_", " "))
        attrs = {"long_name": f"number of people: {what}", "units": "1"}
        if name in CELL_METHODS:
            attrs["cell_methods"] = CELL_METHODS[str(name)]
        ds[name].attrs.update(attrs)
    if "params" in ds:
        ds["params"].attrs.update({
            "long_name": "parameter values per replicate",
            "comment": "each parameter in the unit its scenario declares (a weekly "
                       "probability, a multiplier, a number of days, ...)"})
    ds.attrs.setdefault("Conventions", CONVENTIONS)
    return ds


def file_hash(path: str | os.PathLike[str]) -> str:
    """The first 16 hex digits of a file's SHA-256 (as scenario hashes are given)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def provenance(run_info: Mapping[str, Any] | None) -> dict[str, str]:
    """Global attributes from what a command knows of its run (a ``run.json``'s facts).

    ``posterior_file`` and ``posterior_hash`` (SHA-256 of the file, 16 digits) when a
    posterior was given, ``parameter_uncertainty`` accordingly, ``command`` and ``history``
    (the command line). Keys whose facts are missing are left out.
    """
    info = dict(run_info or {})
    out: dict[str, str] = {}
    post = info.get("posterior")
    if isinstance(post, Mapping) and post.get("file"):
        out["posterior_file"] = str(post["file"])
        path = Path(str(post["file"]))
        if path.is_file():
            out["posterior_hash"] = file_hash(path)
        out["parameter_uncertainty"] = WITH_PARAMETERS
    command = info.get("command")
    if isinstance(command, Mapping):
        line = command.get("repeat") or " ".join(map(str, command.get("argv", ())))
        if line:
            out["command"] = str(line)
    return out


def provenance_line(attrs: Mapping[str, Any], replicates: int | None = None) -> str:
    """One sentence for a figure's source line or a report: version, scenario, replicates,
    seed, and where the parameters came from."""
    n = replicates if replicates is not None else attrs.get("replicates", "?")
    n_text = f"{n:,}" if isinstance(n, (int, np.integer)) else str(n)
    seed = attrs.get("seed_entropy", "?")
    if attrs.get("posterior_file"):
        params = (f"parameters drawn from the posterior {Path(str(attrs['posterior_file'])).name}"
                  + (f" ({attrs['posterior_hash']})" if attrs.get("posterior_hash") else "")
                  + f", {WITH_PARAMETERS}")
    elif attrs.get("parameter_uncertainty") == WITH_PARAMETERS:
        params = f"parameters varying by replicate, {WITH_PARAMETERS}"
    else:
        params = f"parameters at their declared values ({CHANCE_ONLY})"
    return (f"flowsim {attrs.get('flowsim_version', '?')}, scenario "
            f"'{attrs.get('scenario_name', '?')}' ({attrs.get('scenario_hash', '?')}); "
            f"{n_text} replicates, seed {seed}; {params}.")
