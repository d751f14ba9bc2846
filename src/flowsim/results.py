"""Results of a simulation: a labelled ``xarray.Dataset`` and the questions researchers ask.

Dimensions: ``replicate``, ``time`` (each step's last day), ``country``, ``cohort`` and, for
flows, ``route``. Variables are counts of people (see :data:`VARIABLES`); ``params`` holds
each replicate's parameter vector.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import xarray as xr

from flowsim._version import __version__
from flowsim.compile import CompiledModel
from flowsim.engine import RECORDABLE

__all__ = ["Results", "VARIABLES"]

VARIABLES: dict[str, str] = {
    "stock": "people in the country at the end of the step (present, waiting for a visa, "
    "claiming asylum or settled); for the origin, those who never left or came back",
    "departures": "first departures from the origin during the step",
    "returns": "returns to the origin during the step, by the country returned from",
    "arrivals": "entries into the country during the step",
    "settled": "people holding a permit or protection in the country at the end of the step",
    "asylum_applications": "asylum claims lodged during the step",
    "asylum_decisions": "asylum decisions during the step",
    "asylum_grants": "positive asylum decisions during the step",
    "visas_issued": "visas and humanitarian admissions granted and used during the step, by "
    "destination",
    "flow": "people crossing each route during the step",
}


class Results:
    """The outcome of :func:`flowsim.simulate`.

    Attributes
    ----------
    dataset : xarray.Dataset
        Every recorded variable, labelled (see :data:`VARIABLES`).
    scenario : Scenario or None
        The scenario simulated (``None`` when only a compiled model was given).
    """

    def __init__(self, dataset: xr.Dataset, scenario: Any = None) -> None:
        self.dataset = dataset
        self.scenario = scenario

    @classmethod
    def from_arrays(cls, model: CompiledModel, data: dict[str, np.ndarray], params: np.ndarray,
                    root: np.random.SeedSequence, block_size: int, scenario: Any = None,
                    sampling: str = "exact") -> Results:
        """Label the engine's arrays (the inverse of nothing: this is where labels begin)."""
        R = params.shape[0]
        coords: dict[str, Any] = {
            "replicate": np.arange(R),
            "time": np.array([np.datetime64(d, "ns") for d in model.step_ends]),
            "country": list(model.country_ids),
            "cohort": list(model.cohort_names),
            "route": list(model.route_keys),
            "parameter": list(model.param_names),
            "country_name": ("country", list(model.country_names)),
            "route_from": ("route", [model.country_ids[i] for i in model.route_src]),
            "route_to": ("route", [model.country_ids[i] for i in model.route_dst]),
            "route_mode": ("route", list(model.route_mode)),
            "step_start": ("time", np.array([np.datetime64(d, "ns") for d in model.step_starts])),
        }
        variables = {}
        for name, arr in data.items():
            variables[name] = xr.Variable(("replicate", "time", *RECORDABLE[name]), arr,
                                          attrs={"long_name": VARIABLES[name], "units": "people"})
        variables["params"] = xr.Variable(("replicate", "parameter"), params,
                                          attrs={"long_name": "parameter values per replicate"})
        ds = xr.Dataset(variables, coords=coords)
        if "flow" not in data:
            ds = ds.drop_vars(["route", "route_from", "route_to", "route_mode"])
        ds.attrs.update({
            "title": f"flowsim results: {model.name}",
            "scenario_name": model.name,
            "scenario_hash": model.scenario_hash,
            "flowsim_version": __version__,
            "seed_entropy": str(root.entropy),
            "seed_spawn_key": ",".join(map(str, root.spawn_key)),
            "block_size": block_size,
            "replicates": R,
            "sampling": sampling,
            "origin": model.country_ids[model.origin],
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        })
        return cls(ds, scenario)

    @property
    def replicates(self) -> int:
        """Number of replicates."""
        return int(self.dataset.sizes["replicate"])

    def __repr__(self) -> str:
        ds = self.dataset
        return (f"<flowsim.Results {ds.attrs.get('scenario_name', '?')!r}: "
                f"{self.replicates} replicates × {ds.sizes['time']} steps, "
                f"variables {', '.join(v for v in ds.data_vars if v != 'params')}>")
