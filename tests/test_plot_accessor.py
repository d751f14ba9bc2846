"""``results.plot.…`` and ``comparison.plot.…``: the figure functions with the object bound,
registered by :mod:`flowsim.plots` (results never import the figures)."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest
from matplotlib.figure import Figure

import flowsim
from conftest import base_data
from flowsim.comparison import compare
from flowsim.plots import accessor, comparison, effects, flows, network, registration, run, stocks
from flowsim.results import accessor as hook
from flowsim.scenario import validate_data

RECORD = ("stock", "departures", "returns", "arrivals", "flow")


@pytest.fixture(scope="module")
def results() -> flowsim.Results:
    scenario, _ = validate_data(base_data())
    return flowsim.simulate(scenario, replicates=6, seed=4, record=RECORD, workers=1)


@pytest.fixture(scope="module")
def paired(results: flowsim.Results) -> flowsim.Comparison:
    data = base_data()
    cf = {**data, "name": "no closure",
          "policies": [p for p in data["policies"] if p["name"] != "finland_closes"]}
    other, _ = validate_data(cf)
    return compare(results.scenario, other, replicates=6, seed=2, workers=1,
                   by=("country", "cohort"))


def _titles(fig: Figure) -> list[str]:
    """Every axes' titles and the figure's own: what says which figure this is."""
    out = [fig._suptitle.get_text() if fig._suptitle is not None else ""]
    for ax in fig.axes:
        out += [ax.get_title(loc=loc) for loc in ("left", "center", "right")]
    return out


def _close(fig: Figure) -> None:
    fig.clear()


# a method, its function, and arguments other than the defaults (so that they must be passed)
RESULTS_CASES = [
    ("stocks", stocks.stocks_over_time, {"places": ["abroad", "DEU"]}),
    ("flows", stocks.flows_per_step, {}),
    ("where", stocks.where_at_dates, {"dates": ["2022-04-30", "2022-06-30"], "top": 3}),
    ("departures", run.fan_chart, {"abroad": False}),
    ("destinations", run.destinations, {"top": 3}),
    ("routes", flows.route_flows, {"at": "2022-05-31"}),
    ("network", network.route_graph, {"at": "2022-03-15"}),
]
COMPARISON_CASES = [
    ("effects", effects.effects_over_time, {}),
    ("by_place", effects.effects_by_place, {"top": 4}),
    ("by_cohort", effects.effects_by_cohort, {}),
    ("differences", comparison.paired_differences, {"columns": 1}),
    ("where_people_ended", comparison.where_people_ended, {}),
]


@pytest.mark.parametrize("name, func, kwargs", RESULTS_CASES, ids=[c[0] for c in RESULTS_CASES])
def test_a_results_method_draws_its_function_s_figure(results, name, func, kwargs) -> None:
    fig = getattr(results.plot, name)(**kwargs)
    expected = func(results, **kwargs)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == len(expected.axes) and fig.axes[0].has_data()
    assert _titles(fig) == _titles(expected) and any(_titles(fig))
    _close(fig)
    _close(expected)


@pytest.mark.parametrize("name, func, kwargs", COMPARISON_CASES,
                         ids=[c[0] for c in COMPARISON_CASES])
def test_a_comparison_method_draws_its_function_s_figure(paired, name, func, kwargs) -> None:
    fig = getattr(paired.plot, name)(**kwargs)
    expected = func(paired, **kwargs)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == len(expected.axes) and fig.axes[0].has_data()
    assert _titles(fig) == _titles(expected) and any(_titles(fig))
    _close(fig)
    _close(expected)


def test_arguments_reach_the_figure(results) -> None:
    two = results.plot.stocks(places=["abroad", "DEU"])
    assert "Germany (DEU)" in two.axes[1].get_title(loc="left")
    one = results.plot.stocks(["DEU"])  # positionally, as the function takes them
    assert len([ax for ax in one.axes if ax.has_data()]) == 1
    with pytest.raises(TypeError, match="positional"):  # the results are bound already
        results.plot.stocks(["DEU"], None, None, None)


@pytest.mark.parametrize("cls, cases", [(accessor.ResultsPlot, RESULTS_CASES),
                                        (accessor.ComparisonPlot, COMPARISON_CASES)])
def test_methods_have_their_function_s_signature_and_docstring(cls, cases) -> None:
    assert list(cls.figures) == [name for name, _, _ in cases]
    for name, func, _ in cases:
        method = getattr(cls, name)
        first, *rest = inspect.signature(func).parameters.values()
        assert list(inspect.signature(method).parameters.values())[1:] == rest
        doc = inspect.getdoc(method)
        assert doc.splitlines()[0] == inspect.getdoc(func).splitlines()[0]
        params = doc.split("Parameters\n----------\n", 1)[-1].split("\n\n", 1)[0]
        assert f"{first.name} :" not in params, name  # the bound argument is not documented
        assert "Returns\n-------" in doc
        assert f"See Also\n--------\n{func.__module__}.{func.__name__} :" in doc
        assert method.__name__ == name


def test_repr_and_dir_list_the_figures(results, paired) -> None:
    assert dir(results.plot) == sorted(accessor.ResultsPlot.figures)
    assert dir(paired.plot) == sorted(accessor.ComparisonPlot.figures)
    text = repr(results.plot)
    assert text.startswith(f"Figures of the run, {results!r}")
    for name, func in accessor.ResultsPlot.figures.items():
        assert f".{name}()" in text and inspect.getdoc(func).splitlines()[0] in text
    assert ".by_place()" in repr(paired.plot)


def test_streamed_results_have_the_accessor(results, tmp_path) -> None:
    streamed = flowsim.stream(results.scenario, tmp_path / "s.nc", replicates=4, seed=1,
                              workers=1)
    try:
        fig = streamed.plot.departures()
        assert fig.axes[0].has_data()
        assert network.route_graph(streamed).axes  # a streamed run carries its scenario
        _close(fig)
    finally:
        streamed.close()


def test_without_registration_the_error_says_what_to_import(results, paired,
                                                             monkeypatch) -> None:
    monkeypatch.setattr(hook, "_FACTORIES", {})
    for obj, kind in ((results, "results"), (paired, "comparison")):
        with pytest.raises(hook.PlottingNotRegistered,
                           match=rf"\.plot: no figures are registered for {kind}; "
                                 r"`import flowsim.plots` registers them"):
            obj.plot  # noqa: B018
        assert not hasattr(obj, "plot")
    registration.register()
    assert isinstance(results.plot, accessor.ResultsPlot)
    assert isinstance(type(results).plot, hook.PlotAccessor)  # on the class: the hook


def test_import_flowsim_registers_the_accessors_without_loading_matplotlib() -> None:
    # (that .plot then loads the figures is the other tests' business: this one only checks
    # what a fresh interpreter holds after the import)
    code = ("import sys, flowsim\n"
            "from flowsim.results import accessor\n"
            "print(*sorted(accessor._FACTORIES), 'matplotlib' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["comparison", "posterior", "results", "False"]


def test_a_posterior_draws_its_marginals_and_pairs() -> None:
    from pathlib import Path

    from flowsim.calibration.posterior import Posterior
    from flowsim.plots import calibration

    root = Path(__file__).resolve().parents[1] / "scenarios"
    scenario = flowsim.load_scenario(root / "syria-2015.yaml")
    posterior = Posterior.load(root / "syria-2015-posterior.nc")
    assert sorted(dir(posterior.plot)) == ["marginals", "pairs"]
    names = list(posterior.param_names[:2])
    fig = posterior.plot.pairs(scenario, names=names)
    direct = calibration.posterior_pairs(posterior, scenario, names=names)
    assert isinstance(fig, Figure) and _titles(fig) == _titles(direct)
    assert "scenario" in inspect.signature(posterior.plot.marginals).parameters
    _close(fig)
    _close(direct)
