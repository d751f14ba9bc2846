"""The outputs whose digests pin flowsim's numbers bit for bit.

Each case runs through the public API only (so that it keeps working whatever moves inside
the package) and returns ``{name: ndarray}``: every variable and coordinate of the
``results.nc`` that :meth:`flowsim.Results.save` writes, read back raw with netCDF4 (no
decoding), or the particles and weights of a small calibration's posterior.

The digest of an array is the SHA-256 of its dtype, shape and little-endian bytes. They are
stored in ``tests/digests/digests.json`` and regenerated only on purpose, with
``python tests/digests/update.py`` (see that module), when a change of numbers is intended.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from collections.abc import Callable
from pathlib import Path

import netCDF4
import numpy as np

import flowsim
from flowsim.calibration import abc_smc
from flowsim.testing import linear_chain, quota_route
from flowsim.testing.border_toys import (
    return_and_leave_again,
    returnees_sent_back,
    shared_quota,
    slow_route,
)

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "scenarios" / "russia-2022.yaml"
#: The bundled scenario as it was before the model's third edition (without re-emigration
#: and the repatriation queue), kept to pin the engine on a full-size scenario that uses none
#: of the later mechanisms: its digests are those the bundled scenario had then.
PREVIOUS = Path(__file__).with_name("russia-2022-v2") / "russia-2022.yaml"
#: The bundled scenario as it was before it kept returnees apart (``track_returnees``), with
#: re-emigration and everything else of the model's third and fourth editions: its digests
#: are those the bundled scenario had then, pinning the engine's default bookkeeping.
PREVIOUS_V3 = Path(__file__).with_name("russia-2022-v3") / "russia-2022.yaml"
#: Every variable the engine can record, so that ``flow`` and the queues are pinned too.
RECORD_ALL = ("stock", "departures", "returns", "flow", "asylum_applications",
              "asylum_decisions", "asylum_grants")


def digest(a: np.ndarray) -> str:
    """SHA-256 of an array's dtype, shape and little-endian bytes (strings as UTF-8)."""
    a = np.asarray(a)
    h = hashlib.sha256()
    if a.dtype.kind in "OUS":
        h.update(f"str{a.shape}".encode())
        for x in a.ravel():
            v = x.decode() if isinstance(x, bytes) else str(x)
            h.update(v.encode() + b"\0")
        return h.hexdigest()
    a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
    h.update(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def _netcdf_variables(results: flowsim.Results) -> dict[str, np.ndarray]:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "results.nc"
        results.save(path)
        with netCDF4.Dataset(path) as nc:
            nc.set_auto_maskandscale(False)
            return {name: np.array(var[...]) for name, var in nc.variables.items()}


def _run(scenario: flowsim.Scenario, replicates: int, sampling: str) -> dict[str, np.ndarray]:
    # first departures too where returnees are kept apart (elsewhere they are the departures,
    # or cannot be recorded)
    record = (*RECORD_ALL, "first_departures") if scenario.behaviour.track_returnees \
        else RECORD_ALL
    res = flowsim.simulate(scenario, replicates=replicates, seed=20221, workers=1,
                           sampling=sampling, record=record)
    return _netcdf_variables(res)


def _bundled(sampling: str, path: Path = BUNDLED) -> Callable[[], dict[str, np.ndarray]]:
    return lambda: _run(flowsim.load_scenario(path), 12, sampling)


def _mechanisms(sampling: str) -> Callable[[], dict[str, np.ndarray]]:
    """Toys of the third edition's mechanisms: a leg that closes on a route that takes time,
    and a quota shared by two routes (flow recorded, so that both are pinned)."""
    def run() -> dict[str, np.ndarray]:
        out = {}
        for name, toy in (("slow", slow_route(N=3_000, h=0.2, travel_days=12, steps=12,
                                               closed_from=6)),
                          ("quota", shared_quota(N1=2_000, N2=1_000, capacity=200,
                                                 total=1_500, steps=10)),
                          ("again", return_and_leave_again(S=2_000, r=0.1, a=0.2, steps=12))):
            out.update({f"{name}.{k}": v for k, v in _run(toy.scenario, 30, sampling).items()})
        return out
    return run


def _returnees(sampling: str) -> Callable[[], dict[str, np.ndarray]]:
    """Returnees kept apart, sent back by interception and by visa refusals."""
    def run() -> dict[str, np.ndarray]:
        out = {}
        for regime in ("irregular", "visa_required"):
            toy = returnees_sent_back(N=3_000, h=0.2, a=0.4, r=0.3, passing=0.6, steps=12,
                                      regime=regime)
            out.update({f"{regime}.{k}": v for k, v in _run(toy.scenario, 30, sampling).items()})
        return out
    return run


def _chain(sampling: str) -> Callable[[], dict[str, np.ndarray]]:
    return lambda: _run(linear_chain(N=10_000, h=0.05, q=0.1, steps=20).scenario, 50, sampling)


def _quota(sampling: str) -> Callable[[], dict[str, np.ndarray]]:
    return lambda: _run(quota_route(N1=3_000, N2=2_000, capacity=150, steps=15).scenario, 50,
                        sampling)


def _calibration() -> dict[str, np.ndarray]:
    """A small ABC-SMC (both methods) on a two-destination toy with three priors."""
    start = dt.date(2022, 1, 3)
    end = start + dt.timedelta(weeks=12, days=-1)
    common = {"kind": "about", "tolerance": 0.1, "source": "synthetic"}
    scenario = flowsim.Scenario.model_validate({
        "name": "digest-calibration",
        "calendar": {"start": start, "end": end},
        "countries": [{"id": "ORG", "name": "Origin", "roles": ["origin"]},
                      {"id": "AAA", "name": "A", "return_hazard": "r"},
                      {"id": "BBB", "name": "B", "attractiveness": "a_b"}],
        "routes": [{"from": "ORG", "to": "AAA"}, {"from": "ORG", "to": "BBB"}],
        "cohorts": [{"name": "all", "population": 20_000, "baseline_hazard": "h"}],
        "parameters": {
            "h": {"value": 0.02, "prior": {"dist": "loguniform", "low": 0.005, "high": 0.05}},
            "a_b": {"value": 0.0, "prior": {"dist": "normal", "mean": 0.0, "sd": 0.5}},
            "r": {"value": 0.05, "prior": {"dist": "uniform", "low": 0.01, "high": 0.1}},
        },
        "targets": [
            {"id": "dep", "observable": "departures", "value": 4_000, "start": start,
             "end": end, **common},
            {"id": "in_b", "observable": "stock", "value": 1_500, "where": ["BBB"], "at": end,
             **common},
        ],
    })
    out: dict[str, np.ndarray] = {}
    for method in ("pmc", "mcmc"):
        post = abc_smc(scenario, population=60, budget=900, generations_max=3, seed=7,
                       method=method)
        out[f"{method}.particles"] = np.asarray(post.particles)
        out[f"{method}.weights"] = np.asarray(post.weights)
        out[f"{method}.distances"] = np.asarray(post.distances)
    return out


CASES: dict[str, Callable[[], dict[str, np.ndarray]]] = {
    "bundled-exact": _bundled("exact"),
    "bundled-coupled": _bundled("coupled"),
    "bundled_v2-exact": _bundled("exact", PREVIOUS),
    "bundled_v2-coupled": _bundled("coupled", PREVIOUS),
    "bundled_v3-exact": _bundled("exact", PREVIOUS_V3),
    "bundled_v3-coupled": _bundled("coupled", PREVIOUS_V3),
    "mechanisms-exact": _mechanisms("exact"),
    "mechanisms-coupled": _mechanisms("coupled"),
    "returnees-exact": _returnees("exact"),
    "returnees-coupled": _returnees("coupled"),
    "linear_chain-exact": _chain("exact"),
    "linear_chain-coupled": _chain("coupled"),
    "quota_route-exact": _quota("exact"),
    "quota_route-coupled": _quota("coupled"),
    "calibration-smc": _calibration,
}


def array_digests(arrays: dict[str, np.ndarray]) -> dict[str, str]:
    """The digest of each of a case's arrays, by array name."""
    return {k: digest(v) for k, v in sorted(arrays.items())}


def float_values(a: np.ndarray) -> str:
    """A float array's values exactly, as ``float.hex`` strings separated by spaces (its
    shape is in the digest)."""
    return " ".join(float(x).hex() for x in np.asarray(a, dtype=float).ravel())


def parse_values(text: str) -> np.ndarray:
    """The values :func:`float_values` wrote, flat."""
    return np.array([float.fromhex(x) for x in text.split()], dtype=float)
