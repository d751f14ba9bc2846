"""The figures for a paper: what they draw, for any scenario (the test scenario, Syria, toys)."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib.colors
import matplotlib.image
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch, Rectangle

import flowsim
from conftest import base_data
from flowsim.comparison import compare
from flowsim.plots import effects, flows, network, stocks
from flowsim.plots.style import BAND_TINTS, tint
from flowsim.scenario import validate_data
from flowsim.testing import linear_chain, network_choice, two_country_swap

ROOT = Path(__file__).resolve().parents[1]
RECORD = ("stock", "departures", "returns", "arrivals", "flow", "settled", "asylum_grants")


def _png(fig: Figure) -> np.ndarray:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50)
    img = matplotlib.image.imread(io.BytesIO(buf.getvalue()), format="png")
    assert img[..., :3].std() > 0.05  # not a blank page
    return img


@pytest.fixture(scope="module")
def toy() -> flowsim.Results:
    scenario, _ = validate_data(base_data())
    return flowsim.simulate(scenario, replicates=12, seed=4, record=RECORD)


@pytest.fixture(scope="module")
def syria() -> flowsim.Results:
    scenario = flowsim.load_scenario(ROOT / "scenarios" / "syria-2015.yaml")
    return flowsim.simulate(scenario, replicates=6, seed=4, record=RECORD)


TOYS = {
    "linear_chain": lambda: linear_chain(N=5_000, h=0.05, q=0.1, steps=12),
    "network_choice": lambda: network_choice(N=5_000, S=1_000, weight=1.0, scale=500.0),
    "two_country_swap": lambda: two_country_swap(N=4_000, a=0.1, b=0.05, steps=12),
}


@pytest.mark.parametrize("name", sorted(TOYS))
def test_every_run_figure_draws_for_the_toys(name: str) -> None:
    res = flowsim.simulate(TOYS[name]().scenario, replicates=5, seed=1, record=RECORD)
    for fig in (stocks.stocks_over_time(res), stocks.flows_per_step(res),
                stocks.where_at_dates(res), flows.route_flows(res),
                network.route_graph(res)):
        _png(fig)


def test_every_run_figure_draws_for_syria(syria: flowsim.Results) -> None:
    for fig in (stocks.stocks_over_time(syria), stocks.flows_per_step(syria),
                stocks.where_at_dates(syria), flows.route_flows(syria),
                network.route_graph(syria)):
        _png(fig)
        assert "syria-2015" in fig._supxlabel.get_text()  # the source line names the run


def test_stocks_over_time_medians_and_distinct_bands(toy: flowsim.Results) -> None:
    fig = stocks.stocks_over_time(toy, places=["abroad", "DEU"])
    ax_abroad, ax_deu = fig.axes[:2]
    (median,) = [ln for ln in ax_deu.get_lines() if ln.get_linewidth() > 1]
    expected = toy.dataset["stock"].sel(country="DEU").sum("cohort").median("replicate")
    np.testing.assert_allclose(median.get_ydata(), expected.values)
    assert "Germany (DEU)" in ax_deu.get_title(loc="left")
    assert ax_abroad.get_title(loc="left").startswith("abroad")
    # the two bands are opaque tints far apart, not one colour at two opacities
    light, mid = (np.array(matplotlib.colors.to_rgb(tint("#0072B2", BAND_TINTS[k])))
                  for k in (90, 50))
    assert np.abs(light - mid).max() > 0.2
    text = fig._supxlabel.get_text()
    assert "12 replicates, seed 4" in text and "chance only" in text


def test_the_source_line_says_when_parameters_vary(toy: flowsim.Results) -> None:
    varied = flowsim.simulate(toy.scenario, replicates=6, seed=1, record=RECORD,
                              params={"mob_mult": np.linspace(5, 40, 6)})
    assert varied.dataset.attrs["parameter_uncertainty"] == "with parameter uncertainty"
    assert "with parameter uncertainty" in stocks.flows_per_step(varied)._supxlabel.get_text()


def test_route_flows_bands_add_up_to_the_crossings(toy: flowsim.Results) -> None:
    fig = flows.route_flows(toy, min_share=0.0)
    ax = fig.axes[0]
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    bands = [p for p in ax.patches if isinstance(p, PathPatch)]
    crossings = flows.cumulative_route_flows(toy)
    assert bands and bars
    # the origin's bar (the tallest in the first column) holds everyone who left by a route
    origin = toy.dataset.attrs["origin"]
    out = float(crossings.where(crossings["route_from"] == origin, drop=True).sum())
    labels = {t.get_text() for t in ax.texts}
    assert any(f"{out:,.0f}" in t for t in labels)
    # every band's width is the people on one route and cohort (scaled): their total
    # height is the total of forward crossings
    heights = sum(p.get_path().vertices[0, 1] - p.get_path().vertices[-2, 1] for p in bands)
    scale = max(b.get_height() for b in bars) / out
    drawn = float(crossings.sum()) - _left_out(fig)
    np.testing.assert_allclose(heights, drawn * scale, rtol=1e-9)


def _left_out(fig: Figure) -> float:
    import re

    m = re.search(r"Not drawn: ([\d,]+) crossings", fig._supxlabel.get_text())
    return float(m.group(1).replace(",", "")) if m else 0.0


def test_route_flows_needs_flow(toy: flowsim.Results) -> None:
    res = flowsim.simulate(toy.scenario, replicates=2, seed=1)
    with pytest.raises(KeyError, match="'flow' was not recorded"):
        flows.route_flows(res)


def test_route_graph_colours_routes_by_their_regime_on_the_date(toy: flowsim.Results) -> None:
    # the test scenario closes the Finnish border on 2022-09-30
    before = network.route_graph(toy.scenario, at="2022-06-01")
    after = network.route_graph(toy, at="2022-12-01")
    closed = network.REGIME_STYLE["closed"][2]

    def legend(fig: Figure) -> set[str]:
        return {t.get_text() for t in fig.axes[0].get_legend().get_texts()}

    assert closed not in legend(before) and closed in legend(after)
    assert "finland_closes" in after._supxlabel.get_text()
    with pytest.raises(ValueError, match="outside the calendar"):
        network.route_graph(toy, at="2030-01-01")


def test_where_at_dates_small_multiples_share_one_scale(toy: flowsim.Results) -> None:
    fig = stocks.where_at_dates(toy, dates=["2022-03-31", "2022-12-25"], top=3)
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.patches]
    assert len(panels) == 2
    assert panels[0].get_xlim() == panels[1].get_xlim()
    # the same countries in the same rows (the labels are on the first panel only)
    assert panels[0].get_shared_y_axes().joined(panels[0], panels[1])
    assert len(panels[0].get_yticklabels()) == 3
    heights = [[bar.get_width() for bar in ax.patches] for ax in panels]
    assert heights[1][0] >= heights[0][0]  # people accumulate in the first country


@pytest.fixture(scope="module")
def comparison(toy: flowsim.Results) -> flowsim.Comparison:
    data = base_data()
    cf = {**data, "name": "no closure",
          "policies": [p for p in data["policies"] if p["name"] != "finland_closes"]}
    other, _ = validate_data(cf)
    return compare(toy.scenario, other, replicates=8, seed=2, by=("country", "cohort"))


def test_outcomes_are_named_in_parts(comparison: flowsim.Comparison) -> None:
    v = comparison.values
    row = v.sel(outcome="in FIN at 2022-12-25")
    assert (str(row["quantity"].values), str(row["place"].values),
            str(row["date"].values), str(row["cohort"].values)) == \
        ("stock", "FIN", "2022-12-25", "")
    assert str(v.sel(outcome="departures: men")["cohort"].values) == "men"
    assert str(v.sel(outcome="departures")["start"].values) == "2022-01-03"


def test_effects_figures(comparison: flowsim.Comparison) -> None:
    series = effects.comparison_series(comparison)
    assert series.dims == ("scenario", "series", "time", "replicate")
    fig = effects.effects_over_time(comparison, ["abroad"])
    (median,) = [ln for ln in fig.axes[0].get_lines() if ln.get_linewidth() > 1.2]
    diff = (series.sel(scenario="no closure", series="abroad")
            - series.sel(scenario="toy", series="abroad")).median("replicate")
    np.testing.assert_allclose(median.get_ydata(), diff.values)
    by_place = effects.effects_by_place(comparison, top=3)
    labels = [t.get_text() for t in by_place.axes[0].get_yticklabels()]
    assert labels[0] == "Finland"  # reopening its border changes Finland most
    _png(effects.effects_by_cohort(comparison))


def test_series_are_drawn_over_their_windows_on_a_time_axis() -> None:
    """A monthly series and one of windows of different lengths: each window's median is a
    segment over its own days (nothing joins windows), each figure a dot at its middle, and
    the legend lies inside the figure."""
    import matplotlib.dates as mdates
    import pandas as pd

    from flowsim.plots.calibration import series_check

    def rows(target: str, windows: list[str], values: list[float]) -> list[dict]:
        return [{"target": target, "country": "", "window": w, "median": v * 1.1,
                 "lower": v * 0.9, "upper": v * 1.3, "low": v * 0.8, "high": v * 1.2,
                 "value": v, "met": k != 1} for k, (w, v) in enumerate(zip(windows, values))]

    table = pd.DataFrame(rows("monthly", ["2022-03", "2022-04"], [900.0, 700.0])
                         + rows("windows", ["2022-04-01..2022-07-24", "2022-11-01..2022-11-30"],
                                [14346.0, 6700.0]))
    fig = series_check(table)
    _png(fig)
    monthly, windows = fig.axes[:2]
    medians = [ln for ln in windows.get_lines() if len(ln.get_xdata()) == 2]
    assert len(medians) == 2 and all(len(ln.get_xdata()) == 2 for ln in windows.get_lines())
    spans = sorted(tuple(np.asarray(ln.get_xdata(), dtype="datetime64[D]")) for ln in medians)
    assert spans == [(np.datetime64("2022-04-01"), np.datetime64("2022-07-25")),
                     (np.datetime64("2022-11-01"), np.datetime64("2022-12-01"))]
    dots = windows.collections[-1].get_offsets()[:, 0]  # the figures, at the windows' middles
    middle = mdates.date2num(np.datetime64("2022-04-01")) + (30 + 31 + 30 + 24) / 2
    assert dots[0] == pytest.approx(middle)
    assert [ln.get_xdata()[0] for ln in monthly.get_lines()][:1] == [np.datetime64("2022-03-01")]
    fig.canvas.draw()
    legend = fig.legends[0].get_window_extent()
    box = fig.bbox
    assert box.x0 <= legend.x0 and legend.x1 <= box.x1  # no label cut off at the sides
    assert windows.yaxis.get_major_formatter()(14000, 0) == "14,000"
