"""A streamed run's ``results.nc`` describes itself as a run in memory's does: CF-1.10
attributes on every variable and coordinate, time bounds, and the same provenance (the
posterior and the command line included, when ``flowsim run --stream`` writes it)."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest

import flowsim
from conftest import base_data
from flowsim.core.compile import compile_scenario
from flowsim.ensemble.blocks import ParamRows
from flowsim.reports.run import write_outputs
from flowsim.results.opening import open_results
from flowsim.scenario import validate_data
from flowsim.testing import linear_chain

#: What says where a run's numbers come from: the same in both files.
IDENTITY = ("Conventions", "title", "source", "scenario_name", "scenario_hash",
            "flowsim_version", "seed_entropy", "seed_spawn_key", "block_size", "replicates",
            "sampling", "origin", "parameter_uncertainty", "posterior_file",
            "posterior_hash", "command")


def _attrs(path: Path) -> tuple[dict[str, object], dict[str, dict[str, object]]]:
    with netCDF4.Dataset(path) as nc:
        return ({k: nc.getncattr(k) for k in nc.ncattrs()},
                {v: {k: nc[v].getncattr(k) for k in nc[v].ncattrs()} for v in nc.variables})


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same run written in memory and streamed, as ``flowsim run`` writes them."""
    tmp = tmp_path_factory.mktemp("cf")
    scenario = linear_chain(N=800, h=0.1, q=0.1, steps=5).scenario
    posterior = tmp / "posterior.nc"
    posterior.write_bytes(b"a posterior's bytes")  # its hash is what the file records
    info = {"posterior": {"file": str(posterior)},
            "command": {"repeat": "flowsim run chain.yaml -n 6 --seed 3"}}
    kw = {"replicates": 6, "seed": 3, "workers": 1, "block_size": 4}
    memory = flowsim.simulate(scenario, record=("stock", "departures", "returns",
                                                "asylum_applications", "asylum_grants"), **kw)
    write_outputs(memory, tmp / "memory", run_info=info, figures=False)
    streamed = flowsim.stream(scenario, tmp / "s.nc", keep=("departures",), **kw)
    write_outputs(streamed, tmp / "streamed", run_info=info, figures=False)
    return {"memory": tmp / "memory" / "results.nc", "streamed": tmp / "streamed" / "results.nc",
            "posterior": posterior}


def test_the_streamed_file_has_the_provenance_of_a_run_in_memory(runs) -> None:
    memory, _ = _attrs(runs["memory"])
    streamed, _ = _attrs(runs["streamed"])
    for key in IDENTITY:
        assert key in memory, key
        assert streamed.get(key) == memory[key], key
    assert streamed["Conventions"] == "CF-1.10"
    assert streamed["posterior_file"] == str(runs["posterior"])
    assert streamed["parameter_uncertainty"] == "with parameter uncertainty"
    assert streamed["history"].endswith("(flowsim run chain.yaml -n 6 --seed 3)")
    assert streamed["flowsim_layout"] == "streamed"


def test_every_variable_of_the_streamed_file_is_described(runs) -> None:
    _, variables = _attrs(runs["streamed"])
    for name, attrs in variables.items():
        assert attrs.get("long_name"), name
    # CF time cells: time names its bounds, in the same units
    assert variables["time"]["bounds"] == "time_bnds"
    assert variables["time"]["standard_name"] == "time"
    with netCDF4.Dataset(runs["streamed"]) as nc, netCDF4.Dataset(runs["memory"]) as mem:
        assert nc["time_bnds"].dimensions == ("time", "nv")
        np.testing.assert_array_equal(nc["time_bnds"][:], mem["time_bnds"][:])
        assert nc["time"].units == mem["time"].units
    # counts of people are dimensionless in UDUNITS, as in the file of a run in memory
    counts = [n for n in variables if n.endswith(("_quantile", "_mean"))
              or n in ("departures", "headline")]
    assert len(counts) > 10
    for name in counts:
        assert variables[name]["units"] == "1", name
    assert variables["departures"]["cell_methods"] == "time: sum"
    assert variables["quantile"]["units"] == "1"


def test_the_streamed_file_reads_back_as_it_was_made(runs) -> None:
    back = open_results(runs["streamed"])
    try:
        assert "time_bnds" not in back.dataset.variables  # it repeats time and step_start
        assert "bounds" not in back.dataset["time"].attrs
        assert back.dataset.attrs["command"] == "flowsim run chain.yaml -n 6 --seed 3"
        assert back.summary()["place_name"].tolist().count("") < len(back.summary())
    finally:
        back.close()


def test_closing_streamed_results_closes_their_file(tmp_path) -> None:
    scenario = linear_chain(N=300, h=0.1, q=0.1, steps=3).scenario
    streamed = flowsim.stream(scenario, tmp_path / "s.nc", replicates=3, seed=1, workers=1)
    streamed.close()
    with netCDF4.Dataset(tmp_path / "s.nc", "a") as nc:  # HDF5 refuses while it is open
        nc.setncattr("checked", "yes")


@pytest.mark.parametrize("rows, expected", [([0, 0, 0, 0], "chance only"),
                                            ([0, 1, 0, 1], "with parameter uncertainty")])
def test_a_streamed_run_says_whether_its_parameters_vary(tmp_path, rows, expected) -> None:
    scenario, _ = validate_data(base_data())
    model = compile_scenario(scenario)
    table = model.default_params(2)
    table[:, model.param_names.index("p_return")] = [0.0, 0.02]
    for params in (ParamRows(table, np.array(rows)), table[rows]):
        with flowsim.stream(scenario, tmp_path / "p.nc", replicates=4, seed=1, workers=1,
                            params=params) as s:
            assert s.dataset.attrs["parameter_uncertainty"] == expected
