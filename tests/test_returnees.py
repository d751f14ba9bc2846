"""Returnees kept apart from first leavers (``behaviour.track_returnees``) in the engine.

The distributions are tested elsewhere: exact expectations on the toy
``returnees_sent_back`` (``test_toys.py``) and the per-person reference on the scenario
``returnees`` (``test_reference_gof.py``). Here: the setting changes nothing where nobody
leaves twice, people are conserved through every way back to the origin with both samplers,
and first departures are asked for only where they can be told apart.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import flowsim
from conftest import base_data
from flowsim.core.compile import compile_scenario
from flowsim.core.engine import RECORDABLE, default_record, recordable, run_block
from flowsim.core.samplers import CoupledSampler, ExactSampler
from flowsim.scenario import validate_data


def _model(track: bool, again: float | None = None):
    data = base_data()
    if again is not None:
        for cohort in data["cohorts"]:
            cohort["reemigration_hazard"] = again
    data["behaviour"] = {**data.get("behaviour", {}), "track_returnees": track}
    scenario, problems = validate_data(data)
    assert not [p for p in problems if p.severity == "error"]
    return compile_scenario(scenario)


def test_tracking_changes_nothing_where_nobody_leaves_twice() -> None:
    off, on = _model(False), _model(True)
    params = off.default_params(20)
    record = tuple(RECORDABLE)
    a = run_block(off, params, ExactSampler(np.random.default_rng(3)), record=record)
    b = run_block(on, params, ExactSampler(np.random.default_rng(3)), record=record)
    for v in record:
        np.testing.assert_array_equal(a[v], b[v], err_msg=v)
    np.testing.assert_array_equal(a["first_departures"], a["departures"])


@pytest.mark.parametrize("sampling", ["exact", "coupled"])
def test_people_are_conserved_with_returnees_kept_apart(sampling: str) -> None:
    """On the bundled scenario (visa refusals and route capacities send people back to the
    origin) and on the base one, the engine's own invariant check holds at every step, and
    first departures are part of the crossings. (Quotas and interception are in the
    reference toy ``returnees`` of ``test_reference_gof.py``.)"""
    bundled = compile_scenario(flowsim.load_scenario("scenarios/russia-2022.yaml"))
    for model in (dataclasses.replace(bundled, track_returnees=True), _model(True, 0.3)):
        params = model.default_params(8)
        sampler = (ExactSampler(np.random.default_rng(5)) if sampling == "exact"
                   else CoupledSampler(5, np.arange(8)))
        out = run_block(model, params, sampler, record=recordable(model), check=True)
        first, crossings = out["first_departures"], out["departures"]
        assert (first <= crossings).all()
        assert (crossings > first).any()  # returnees did leave again
        people = model.people(params)
        assert (first.sum(axis=1) <= people).all()


def test_first_departures_need_returnees_told_apart() -> None:
    mixed = _model(False, 0.3)
    assert "first_departures" not in recordable(mixed)
    assert "first_departures" not in default_record(mixed)
    assert "first_departures" in default_record(_model(True, 0.3))
    with pytest.raises(ValueError, match="cannot record first_departures: returned people "
                       "leave again and are not told apart"):
        flowsim.simulate(mixed, replicates=2, record=("departures", "first_departures"))


def test_the_summary_counts_emigrants_where_they_are_recorded() -> None:
    tracked = flowsim.simulate(_model(True, 0.3), replicates=6, seed=4, workers=1)
    table = tracked.summary()
    people = table[table.quantity == "cumulative emigrants (first departures)"]
    crossings = table[table.quantity == "cumulative departures"]
    assert len(people) == len(crossings) > 0
    assert list(people.when) == list(crossings.when)
    assert (people["median"].values <= crossings["median"].values).all()
    mixed = flowsim.simulate(_model(False, 0.3), replicates=6, seed=4, workers=1)
    assert not (mixed.summary().quantity == "cumulative emigrants (first departures)").any()


def test_a_streamed_run_keeps_the_emigrants(tmp_path) -> None:
    """A streamed run of a scenario that keeps returnees apart keeps the quantiles of the
    cumulative emigrants, and its fan chart counts people as a run in memory does."""
    from flowsim import plots

    model = _model(True, 0.3)
    streamed = flowsim.stream(model, tmp_path / "s.nc", replicates=40, workers=1)
    in_memory = flowsim.simulate(model, replicates=40, workers=1)
    median = streamed.quantiles("cumulative_emigrants", [0.5]).values[0]
    people = in_memory.dataset["first_departures"].sum("cohort").cumsum("time")
    np.testing.assert_allclose(median, people.median("replicate").values, rtol=0.01)
    for results in (streamed, in_memory):
        title = plots.fan_chart(results).axes[0].get_title(loc="left")
        assert title.startswith("Cumulative emigrants from")
    streamed.close()


def test_a_comparison_reports_the_emigrants_where_they_are_told_apart() -> None:
    data = base_data()
    for cohort in data["cohorts"]:
        cohort["reemigration_hazard"] = 0.3
    data["behaviour"] = {**data.get("behaviour", {}), "track_returnees": True}
    baseline, _ = validate_data(data)
    fewer = baseline.model_copy(update={"name": "fewer"})
    comparison = flowsim.compare(baseline, [fewer], replicates=6, seed=3, workers=1)
    values = comparison.values
    people = values.sel(outcome="emigrants")
    crossings = values.sel(outcome="departures")
    assert (people <= crossings).all() and (people < crossings).any()
