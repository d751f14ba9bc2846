"""Figures: what they draw, and that they are real pictures made without pyplot's state."""

from __future__ import annotations

import datetime as dt
import io

import matplotlib.image
import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.text import Annotation

import flowsim
from conftest import base_data
from flowsim import plots
from flowsim.results.dataset import Results
from flowsim.scenario import Target, validate_data

TARGETS = [
    {"id": "early", "observable": "departures", "kind": "at_least", "value": 100000,
     "start": dt.date(2022, 2, 24), "end": dt.date(2022, 3, 31), "source": "test"},
    {"id": "mob_wave", "observable": "departures", "kind": "interval", "low": 40000,
     "high": 60000, "value": 50000, "cohorts": ["men"], "start": dt.date(2022, 9, 21),
     "end": dt.date(2022, 10, 31), "source": "test"},
    {"id": "abroad_dec", "observable": "abroad", "kind": "at_least", "value": 250000,
     "at": dt.date(2022, 12, 1), "source": "test"},
    {"id": "cap", "observable": "departures", "kind": "at_most", "value": 400000,
     "start": dt.date(2022, 1, 3), "end": dt.date(2022, 11, 30), "source": "test"},
]
TOO_LATE = {"id": "too_late", "observable": "departures", "kind": "about", "value": 1,
            "start": dt.date(2022, 1, 3), "end": dt.date(2023, 6, 30), "source": "test"}


@pytest.fixture(scope="module")
def results() -> Results:
    data = base_data()
    data["targets"] += TARGETS
    scenario, _ = validate_data(data)
    return flowsim.simulate(scenario, replicates=16, seed=2, block_size=8,
                            params={"mob_mult": np.linspace(5, 40, 16)})


def _png(fig: Figure) -> np.ndarray:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    data = buf.getvalue()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return matplotlib.image.imread(io.BytesIO(data), format="png")


def _labels(fig: Figure) -> set[str]:
    ax = fig.axes[0]
    return {c.get_text() for c in ax.get_children() if isinstance(c, Annotation)}


def test_figures_are_pictures_and_leave_pyplot_alone(results: Results) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    for fig in (plots.fan_chart(results), plots.destinations(results)):
        assert isinstance(fig, Figure)
        img = _png(fig)
        assert img.shape[0] > 100 and img.shape[1] > 100
        assert img[..., :3].std() > 0.05  # not a blank page
    assert plt.get_fignums() == before


def test_fan_chart_draws_the_bands_and_the_targets_that_belong_on_it(results: Results) -> None:
    fig = plots.fan_chart(results)
    ax = fig.axes[0]
    labels = _labels(fig)
    # targets for all cohorts inside the run; not the cohort-specific one, not the one
    # ending after the run
    assert {"left_2022", "early", "cap", "abroad_dec"} <= labels
    assert "mob_wave" not in labels
    late = plots.fan_chart(results, targets=[*results.scenario.targets,
                                             Target.model_validate(TOO_LATE)])
    assert _labels(late) == labels  # a target ending after the run is left out
    assert {"invasion", "mobilization"} <= labels  # shocks are marked
    assert len(ax.collections) >= 2  # the 50% and 90% bands
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "departed (median)" in legend and "90% of replicates" in legend
    assert ax.get_ylim()[0] == 0
    assert ax.yaxis.get_major_formatter()(1234567, 0) == "1,234,567"
    assert "Cumulative departures from Russia" in ax.get_title(loc="left")


def test_fan_chart_median_is_the_median_of_cumulative_departures(results: Results) -> None:
    fig = plots.fan_chart(results, targets=[], abroad=False, shocks=False)
    (median,) = fig.axes[0].get_lines()
    expected = results.cumulative_departures().median("replicate").values
    np.testing.assert_allclose(median.get_ydata()[1:], expected)
    assert median.get_ydata()[0] == 0
    assert _labels(fig) == set()


def test_fan_chart_counts_people_where_returnees_are_kept_apart() -> None:
    """With track_returnees the fan is of first departures, with the figures on emigrants
    (people) and not those on departures (crossings)."""
    data = base_data()
    for cohort in data["cohorts"]:
        cohort["reemigration_hazard"] = 0.2
    data["behaviour"] = {**data.get("behaviour", {}), "track_returnees": True}
    data["targets"] += [{**TARGETS[0], "id": "early_people", "observable": "emigrants"},
                        TARGETS[3]]
    scenario, _ = validate_data(data)
    tracked = flowsim.simulate(scenario, replicates=8, seed=2)
    assert "first_departures" in tracked.dataset  # recorded by default where tracked
    fig = plots.fan_chart(tracked, abroad=False, shocks=False)
    ax = fig.axes[0]
    assert "Cumulative emigrants from Russia" in ax.get_title(loc="left")
    assert _labels(fig) - {""} == {"early_people"}
    median = ax.get_lines()[0].get_ydata()[1:]
    people = tracked.dataset["first_departures"].sum("cohort").cumsum("time")
    np.testing.assert_allclose(median, people.median("replicate").values)
    crossings = tracked.cumulative_departures().median("replicate").values
    assert (crossings >= median).all() and (crossings > median).any()


def test_fan_chart_for_a_cohort_draws_that_cohorts_targets(results: Results) -> None:
    fig = plots.fan_chart(results, cohorts="men")
    labels = _labels(fig)
    assert "mob_wave" in labels and "left_2022" not in labels
    assert "(men)" in fig.axes[0].get_title(loc="left")


def test_fan_chart_places_later_periods_on_the_cumulative_scale(results: Results) -> None:
    (target,) = [t for t in results.scenario.targets if t.id == "mob_wave"]
    fig = plots.fan_chart(results, targets=[target], cohorts="men", abroad=False)
    before = float(results.departures(None, "2022-09-20", "men").median("replicate"))
    bars = [c for c in fig.axes[0].collections if isinstance(c, LineCollection)]
    tops = [seg[:, 1].max() for c in bars for seg in c.get_segments()]
    assert any(abs(top - (60000 + before)) < 1e-6 for top in tops)


def test_destinations_sorted_coloured_by_group_with_intervals(results: Results) -> None:
    fig = plots.destinations(results, top=3)
    ax = fig.axes[0]
    # country ids from the tick labels "Name (ID)", top to bottom
    ticks = sorted(zip(ax.get_yticks(), ax.get_yticklabels(), strict=True),
                   key=lambda tl: -tl[0])
    ids = [label.get_text()[-4:-1] for _, label in ticks]
    assert len(ids) == 3
    stock = results.dataset["stock"].isel(time=-1).sum("cohort").median("replicate")
    order = stock.drop_sel(country="RUS").sortby(lambda s: -s)["country"].values[:3]
    assert ids == [str(c) for c in order]  # largest first
    bars = sorted(ax.patches, key=lambda p: -p.get_y())
    colours = {c: bar.get_facecolor() for c, bar in zip(ids, bars, strict=True)}
    np.testing.assert_allclose([bar.get_width() for bar in bars], stock.sel(country=ids))
    from matplotlib.colors import to_rgba

    # colours and names of the groups come from the scenario's report (defaults: every
    # declared group in order, its name with spaces)
    styles = plots.group_styles(results.scenario)
    assert colours["GEO"] == to_rgba(styles["post_soviet"][1])
    legend = " ".join(t.get_text() for t in ax.get_legend().get_texts())
    assert "west" in legend and "post soviet" in legend
    assert "25 December 2022" in ax.get_title(loc="left")


def test_destinations_at_a_date_and_without_a_scenario(results: Results) -> None:
    fig = plots.destinations(results, at="2022-06-15")
    assert "June 2022" in fig.axes[0].get_title(loc="left")
    bare = Results(results.dataset, None)
    _png(plots.destinations(bare))
    _png(plots.fan_chart(bare))
    with pytest.raises(ValueError, match="outside the simulated period"):
        plots.destinations(results, at="2030-01-01")


def test_destinations_needs_stock(results: Results) -> None:
    bare = Results(results.dataset.drop_vars("stock"), results.scenario)
    with pytest.raises(KeyError, match="'stock' was not recorded"):
        plots.destinations(bare)
