"""Shared fixtures: a small valid scenario as plain data, and a helper that writes variants."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flowsim.scenario.yamlio import dump_yaml

BASE: dict[str, Any] = {
    "name": "toy",
    "description": "A small valid scenario for tests.",
    "calendar": {"start": dt.date(2022, 1, 3), "end": dt.date(2022, 12, 25), "step": "week"},
    "countries": [
        {"id": "RUS", "name": "Russia", "roles": ["origin"]},
        {"id": "GEO", "name": "Georgia", "roles": ["transit", "destination"],
         "groups": ["post_soviet"], "onward_hazard": 0.02, "return_hazard": "p_return"},
        {"id": "ARM", "name": "Armenia", "roles": ["destination"], "groups": ["post_soviet"]},
        {"id": "DEU", "name": "Germany", "roles": ["destination"], "groups": ["schengen"],
         "attractiveness": {"default": 1.0, "men": 1.5},
         "asylum": {"claim_hazard": 0.01, "recognition_rate": 0.4, "capacity": 500}},
        {"id": "FIN", "name": "Finland", "roles": ["transit", "destination"],
         "groups": ["schengen"]},
    ],
    "groups": {"west": ["schengen"]},
    "routes": [
        {"from": "RUS", "to": "GEO", "mode": "land"},
        {"from": "RUS", "to": "ARM", "mode": "air", "cost": 0.5},
        {"from": "RUS", "to": "FIN", "mode": "land", "regime": "visa_required",
         "issuance": "p_issue", "delay_days": 14, "capacity": 2000},
        {"from": "GEO", "to": "DEU", "mode": "air", "regime": "visa_required", "issuance": 0.3},
        {"from": "FIN", "to": "DEU", "mode": "land"},
    ],
    "cohorts": [
        {"name": "men", "population": 1_000_000, "baseline_hazard": 0.001},
        {"name": "rest", "population": 5_000_000, "baseline_hazard": 0.0005,
         "eligible": ["humanitarian"]},
    ],
    "shocks": [
        {"name": "invasion", "date": dt.date(2022, 2, 24), "multiplier": 8.0,
         "half_life_days": 30},
        {"name": "mobilization", "date": dt.date(2022, 9, 21), "cohorts": ["men"],
         "multiplier": "mob_mult", "half_life_days": 14},
    ],
    "policies": [
        {"name": "finland_closes", "start": dt.date(2022, 9, 30),
         "select": {"to": ["FIN"]}, "route": {"regime": "closed"}},
        {"name": "schengen_tightens", "start": dt.date(2022, 3, 1),
         "end": dt.date(2022, 6, 30), "select": {"to": ["schengen"], "mode": "air"},
         "route": {"issuance": 0.1}},
        {"name": "germany_asylum", "start": dt.date(2022, 5, 1),
         "select": {"countries": ["DEU"]}, "country": {"asylum": {"recognition_rate": 0.6}}},
    ],
    "parameters": {
        "p_return": {"value": 0.01, "prior": {"dist": "uniform", "low": 0.0, "high": 0.05}},
        "p_issue": 0.5,
        "mob_mult": {"value": 20.0, "prior": {"dist": "lognormal", "median": 20, "sigma": 0.5}},
    },
    "targets": [
        {"id": "left_2022", "observable": "departures", "kind": "about", "value": 500000,
         "start": dt.date(2022, 2, 24), "end": dt.date(2022, 12, 25), "source": "article"},
        {"id": "in_georgia", "observable": "stock", "kind": "interval", "low": 50000,
         "high": 150000, "where": ["GEO"], "at": dt.date(2022, 12, 1), "source": "article"},
    ],
}


def base_data() -> dict[str, Any]:
    """A fresh deep copy of the valid base scenario."""
    return copy.deepcopy(BASE)


def write_yaml(path: Path, data: Any) -> Path:
    """Write ``data`` as YAML to ``path`` and return the path."""
    path.write_text(dump_yaml(data), encoding="utf-8")
    return path


@pytest.fixture
def base() -> dict[str, Any]:
    """The valid base scenario, as plain data (a fresh copy per test)."""
    return base_data()


@pytest.fixture
def scenario_file(tmp_path: Path) -> Callable[..., Path]:
    """``scenario_file(modify=None, name="s.yaml", text=None)`` writes a scenario file.

    ``modify`` receives a fresh copy of the base data and may change it in place or return
    a replacement; ``text`` writes raw text instead.
    """

    def make(modify: Callable[[dict[str, Any]], Any] | None = None, name: str = "s.yaml",
             text: str | None = None) -> Path:
        path = tmp_path / name
        if text is not None:
            path.write_text(text, encoding="utf-8")
            return path
        data = base_data()
        if modify is not None:
            result = modify(data)
            if result is not None:
                data = result
        return write_yaml(path, data)

    return make
