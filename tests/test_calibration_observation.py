"""The observation model: every kind of target against its exact expectation on a toy.

Toys (:mod:`flowsim.testing.toys`): :func:`linear_chain` (ORG → AAA → BBB, hazards ``h`` and
``q``) and :func:`two_country_swap` (everybody leaves in step 1). In both, people move
independently, so every observable below is a sum over people of independent, identically
distributed terms, and its mean and variance are exact:

* a flow over windows is ``Σ_t w_t X_t`` with ``w_t`` the share of step ``t``'s days in the
  windows: per person ``w_T`` (``T`` the step of the event, ``w = 0`` if none), so
  ``E = N Σ w_t p_t`` and ``Var = N (Σ w_t² p_t − (Σ w_t p_t)²)``;
* a stock change in ``BBB`` (nobody leaves it) is ``Binomial(N, p_B(t2) − p_B(t1))``, and
  so is each window of a series of that stock (its change over the window);
* a stock times a coverage ``c`` has mean ``c N p`` and variance ``c² N p (1 − p)``;
* a ratio over a denominator that is ``N`` in every replicate (everybody leaves in step 1)
  is ``Binomial(N, p) / N``.

Each column's mean over ``R`` replicates must be within ``Z = 4.5`` standard errors of its
expectation: a two-sided false-failure rate of 7e-6 per column, under 3e-4 for the 40 or so
columns here (seeded, so the outcome is fixed).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

import flowsim
from flowsim.calibration import TargetSet
from flowsim.calibration.observation import (
    Layout,
    ObservationPlan,
    column_layout,
    window_span,
)
from flowsim.core.compile import compile_scenario
from flowsim.scenario.model import Scenario, Target
from flowsim.testing.toys import START, linear_chain, two_country_swap

Z = 4.5
R = 400
N, H, Q, STEPS = 20_000, 0.05, 0.1, 20
CHAIN = linear_chain(N=N, h=H, q=Q, steps=STEPS)


def _t(**kw) -> dict:
    return {"source": "test", **kw}


def _step_days(steps: int) -> list[tuple[dt.date, dt.date]]:
    return [(START + dt.timedelta(weeks=s), START + dt.timedelta(weeks=s, days=6))
            for s in range(steps)]


def _weights(windows: list[tuple[dt.date, dt.date]], steps: int) -> np.ndarray:
    """Share of each weekly step's days inside the windows (counted day by day)."""
    w = np.zeros(steps)
    for s, (a, _) in enumerate(_step_days(steps)):
        for d in range(7):
            day = a + dt.timedelta(days=d)
            w[s] += sum(lo <= day <= hi for lo, hi in windows) / 7
    return w


def _chain_probs() -> dict[str, np.ndarray]:
    """Per person: departure (= arrival in AAA) and arrival in BBB in each step; p_A, p_B."""
    t = np.arange(1, STEPS + 1, dtype=float)
    a, b = 1 - H, 1 - Q
    p_a = H * (b**t - a**t) / (H - Q)
    p_b = 1 - a**t - p_a
    return {"dep": H * a ** (t - 1), "arr_b": np.diff(np.concatenate([[0.0], p_b])),
            "p_a": p_a, "p_b": p_b}


def _flow_moments(p: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    m = float(w @ p)
    return N * m, N * (float(np.square(w) @ p) - m * m)


def _observe(scenario: Scenario, targets: list[dict], replicates: int = R,
             seed: int = 11) -> tuple[TargetSet, np.ndarray]:
    ts = TargetSet.build([Target.model_validate(t) for t in targets], scenario)
    res = flowsim.simulate(scenario, replicates, seed=seed, workers=1, record=ts.record)
    obs = ts.observe(res)
    # the calibration's path (index arithmetic on the engine's arrays) is the same numbers
    plan = ts.plan(compile_scenario(scenario), scenario)
    np.testing.assert_array_equal(plan({v: res.dataset[v].values for v in plan.record}), obs)
    return ts, obs


def _check(obs: np.ndarray, mean: float, var: float) -> None:
    se = math.sqrt(max(var, 0.0) / obs.shape[0])
    assert abs(obs.mean() - mean) <= Z * se + 1e-9, (obs.mean(), mean, se)


MONTHS = [(dt.date(2022, 2, 1), dt.date(2022, 2, 28)), (dt.date(2022, 3, 1),
                                                       dt.date(2022, 3, 31)),
          (dt.date(2022, 4, 1), dt.date(2022, 4, 30))]


def test_monthly_series_of_departures_on_weekly_steps():
    ts, obs = _observe(CHAIN.scenario, [_t(
        id="dep_monthly", observable="departures", kind="series", every="month",
        start="2022-02-01", end="2022-04-30", values=[900, 700, 500])])
    assert ts.columns == ("dep_monthly[2022-02]", "dep_monthly[2022-03]",
                          "dep_monthly[2022-04]")
    assert ts.column_value.tolist() == [900, 700, 500]
    p = _chain_probs()["dep"]
    for j, window in enumerate(MONTHS):
        w = _weights([window], STEPS)
        assert 0 < w.sum() and not np.all(np.isin(w, (0.0, 1.0)))  # months cut weeks
        _check(obs[:, j], *_flow_moments(p, w))


def test_a_series_columns_label_names_its_window():
    # window_span reads back the windows the labels name (a table keeps only the label)
    targets = [Target.model_validate(_t(id=i, observable="departures", kind="series", **kw))
               for i, kw in (("m", {"every": "month", "start": "2022-02-01",
                                    "end": "2022-04-30", "values": [1, 1, 1]}),
                             ("w", {"every": "week", "start": "2022-02-07",
                                    "end": "2022-02-20", "values": [1, 1]}),
                             ("x", {"windows": [{"start": "2022-04-01", "end": "2022-07-24",
                                                 "value": 1}]}))]
    labels = [c.label.split("[", 1)[1].rstrip("]") for c in column_layout(targets)]
    spans = [(np.datetime64(a, "D"), np.datetime64(b, "D")) for t in targets
             for a, b, _ in t.figures]
    assert [window_span(label) for label in labels] == spans
    assert spans[3] == (np.datetime64("2022-02-07"), np.datetime64("2022-02-13"))  # a week


def test_weekly_series_is_the_steps_departures():
    ts, obs = _observe(CHAIN.scenario, [_t(
        id="dep_weekly", observable="departures", kind="series", every="week",
        start=START, end=START + dt.timedelta(weeks=6, days=-1), values=[1] * 6)])
    assert ts.columns[0] == f"dep_weekly[{START.isoformat()}]" and len(ts.columns) == 6
    res = flowsim.simulate(CHAIN.scenario, R, seed=11, workers=1, record=["departures"])
    np.testing.assert_array_equal(obs, res.dataset["departures"].sum("cohort").values[:, :6])
    p = _chain_probs()["dep"]
    for j in range(6):
        _check(obs[:, j], N * p[j], N * p[j] * (1 - p[j]))


def test_windows_series_and_each_country():
    windows = [{"start": "2022-01-10", "end": "2022-02-13", "value": 3000},
               {"start": "2022-02-14", "end": "2022-03-20", "value": 2000}]
    ts, obs = _observe(CHAIN.scenario, [_t(
        id="arr", observable="arrivals", kind="series", where=["AAA", "BBB"], each=True,
        windows=windows)])
    assert ts.columns == ("arr[AAA][2022-01-10..2022-02-13]",
                          "arr[AAA][2022-02-14..2022-03-20]",
                          "arr[BBB][2022-01-10..2022-02-13]",
                          "arr[BBB][2022-02-14..2022-03-20]")
    p = _chain_probs()
    spans = [(dt.date.fromisoformat(w["start"]), dt.date.fromisoformat(w["end"]))
             for w in windows]
    for j, (key, span) in enumerate([("dep", spans[0]), ("dep", spans[1]),
                                     ("arr_b", spans[0]), ("arr_b", spans[1])]):
        _check(obs[:, j], *_flow_moments(p[key], _weights([span], STEPS)))


def test_sum_over_windows():
    spans = [(dt.date(2022, 1, 10), dt.date(2022, 1, 23)),
             (dt.date(2022, 3, 9), dt.date(2022, 3, 20))]  # the second cuts a step
    ts, obs = _observe(CHAIN.scenario, [_t(
        id="two_windows", observable="departures", kind="about", value=1500,
        windows=[{"start": a, "end": b} for a, b in spans])])
    assert ts.columns == ("two_windows",)
    _check(obs[:, 0], *_flow_moments(_chain_probs()["dep"], _weights(spans, STEPS)))
    # the sum over the two windows is the sum of the two windows' series columns
    _, parts = _observe(CHAIN.scenario, [_t(
        id="parts", observable="departures", kind="series",
        windows=[{"start": a, "end": b, "value": 1} for a, b in spans])])
    np.testing.assert_allclose(obs[:, 0], parts.sum(axis=1), rtol=1e-12)


def test_stock_change_between_two_dates():
    t1, t2 = 6, 15  # steps (1-based); the dates are the steps' last days
    at1 = START + dt.timedelta(weeks=t1, days=-1)
    at2 = START + dt.timedelta(weeks=t2, days=-1)
    _, obs = _observe(CHAIN.scenario, [_t(
        id="growth_b", observable="stock", kind="about", where=["BBB"], value=5000,
        since=at1, at=at2)])
    p_b = _chain_probs()["p_b"]
    p = p_b[t2 - 1] - p_b[t1 - 1]
    _check(obs[:, 0], N * p, N * p * (1 - p))
    with pytest.raises(ValueError, match="before at"):
        Target.model_validate(_t(id="x", observable="stock", kind="about", where=["BBB"],
                                 value=1, since=at2, at=at1))
    with pytest.raises(ValueError, match="must not be negative"):
        Target.model_validate(_t(id="x", observable="stock", kind="about", where=["BBB"],
                                 value=-5, since=at1, at=at2))
    ok = Target.model_validate(_t(id="x", observable="stock", kind="about", where=["AAA"],
                                  value=-5, since=at1, at=at2, error={"sd": 50}))
    assert ok.value == -5


def test_a_series_of_a_stock_is_its_change_over_each_window():
    # windows of whole steps: [step 3's first day, step 8's last], [step 9's, step 14's];
    # each is the change from the day before it starts, a Binomial of p_B's growth
    def day(step: int, last: bool) -> dt.date:  # a 1-based step's first or last day
        return START + dt.timedelta(weeks=step - 1, days=6 if last else 0)

    spans = [(3, 8), (9, 14)]
    windows = [{"start": day(a, False), "end": day(b, True), "value": 3000} for a, b in spans]
    ts, obs = _observe(CHAIN.scenario, [
        _t(id="permits", observable="stock", kind="series", where=["BBB"], windows=windows,
           error={"dist": "normal", "rsd": 0.1}),
        *[_t(id=f"since_{k}", observable="stock", kind="about", where=["BBB"], value=1,
             since=day(a - 1, True), at=day(b, True)) for k, (a, b) in enumerate(spans)]])
    assert list(ts.columns)[:2] == [
        f"permits[{day(3, False)}..{day(8, True)}]", f"permits[{day(9, False)}..{day(14, True)}]"]
    np.testing.assert_array_equal(obs[:, :2], obs[:, 2:])  # the same numbers as `since`
    p_b = _chain_probs()["p_b"]
    for k, (a, b) in enumerate(spans):
        p = p_b[b - 1] - p_b[a - 2]
        _check(obs[:, k], N * p, N * p * (1 - p))
    # a monthly series of a stock: the same reading, month by month
    _, monthly = _observe(CHAIN.scenario, [_t(
        id="m", observable="settled", kind="series", every="month", where=["BBB"],
        start="2022-03-01", end="2022-04-30", values=[0, 0], error={"sd": 10})])
    assert monthly.shape[1] == 2 and (monthly == 0).all()  # nobody settles in this toy
    # a change may fall: a log-normal error, `at` or `since` are refused, a negative figure
    # is allowed with a normal error
    kw = {"id": "x", "observable": "stock", "kind": "series", "where": ["BBB"],
          "windows": windows}
    with pytest.raises(ValueError, match="give it a normal error"):
        Target.model_validate(_t(**kw, error={"dist": "lognormal", "rsd": 0.1}))
    with pytest.raises(ValueError, match="its change over each window"):
        Target.model_validate(_t(**kw, at=day(14, True)))
    falling = [{**w, "value": -10} for w in windows]
    assert Target.model_validate(_t(**{**kw, "windows": falling}, error={"sd": 50}))
    with pytest.raises(ValueError, match="must not be negative"):
        Target.model_validate(_t(**{**kw, "windows": falling}))


def test_coverage_multiplies_the_model_quantity():
    at = START + dt.timedelta(weeks=8, days=-1)
    _, obs = _observe(CHAIN.scenario, [
        _t(id="in_a", observable="stock", kind="about", where=["AAA"], value=1, at=at),
        _t(id="in_a_reg", observable="stock", kind="about", where=["AAA"], value=1, at=at,
           error={"coverage": 0.6, "rsd": 0.1})])
    np.testing.assert_allclose(obs[:, 1], 0.6 * obs[:, 0], rtol=1e-12)
    p = _chain_probs()["p_a"][7]
    _check(obs[:, 1], 0.6 * N * p, 0.36 * N * p * (1 - p))


def test_ratio_of_two_observables():
    steps, a, b, n = 10, 0.2, 0.1, 5_000
    toy = two_country_swap(N=n, a=a, b=b, steps=steps)
    end = START + dt.timedelta(weeks=steps, days=-1)
    _, obs = _observe(toy.scenario, [_t(
        id="share_b", observable="ratio", kind="about", value=0.3, start=START, end=end,
        numerator={"observable": "stock", "where": ["BBB"]},
        denominator={"observable": "departures"})])
    p_b = 1 - toy.mean["A"][-1] / n  # stock in B at the end over N, who all left
    _check(obs[:, 0], p_b, p_b * (1 - p_b) / n)
    # an `at` of its own, and a denominator of zero reads as 0
    early = START + dt.timedelta(weeks=3, days=-1)
    _, obs2 = _observe(toy.scenario, [_t(
        id="share_b3", observable="ratio", kind="about", value=0.3, start=START, end=end,
        numerator={"observable": "stock", "where": ["BBB"], "at": early},
        denominator={"observable": "departures"}),
        _t(id="zero", observable="ratio", kind="about", value=0.3, start=START, end=end,
           numerator={"observable": "departures"},
           denominator={"observable": "returns"})], replicates=50)
    p3 = 1 - toy.mean["A"][2] / n
    _check(obs2[:, 0], p3, p3 * (1 - p3) / n)
    assert (obs2[:, 1] == 0).all()


def test_first_edition_targets_read_as_results_observable():
    """For the observables Results.observable knows, the observation model gives its
    numbers exactly (the reference of the first edition)."""
    end = START + dt.timedelta(weeks=STEPS, days=-1)
    targets = [Target.model_validate(t) for t in [
        _t(id="dep", observable="departures", kind="about", value=1, start="2022-01-12",
           end="2022-03-15"),
        _t(id="abroad", observable="abroad", kind="about", value=1, at="2022-02-16"),
        _t(id="stock", observable="stock", kind="about", value=1, where=["AAA", "BBB"],
           each=True, at=end),
        _t(id="arr", observable="arrivals", kind="about", value=1, where=["BBB"],
           start=START, end=end)]]
    ts = TargetSet.build(targets, CHAIN.scenario)
    res = flowsim.simulate(CHAIN.scenario, 7, seed=2, workers=1, record=ts.record)
    expect = np.column_stack([res.observable(t).transpose("replicate", ...).values
                              .reshape(7, -1) for t in targets])
    np.testing.assert_array_equal(ts.observe(res), expect)
    # the kinds of the second edition are the observation model's only, and say so
    for t in [_t(id="r", observable="ratio", kind="about", value=0.3, start=START, end=end,
                 numerator={"observable": "returns"}, denominator={"observable": "departures"}),
              _t(id="c", observable="stock", kind="about", value=1, where=["BBB"], at=end,
                 since="2022-02-16"),
              _t(id="w", observable="arrivals", kind="about", value=1, where=["BBB"],
                 error={"coverage": 0.5}, start=START, end=end)]:
        with pytest.raises(ValueError, match="TargetSet.build"):
            res.observable(Target.model_validate(t))


def test_layouts_from_model_and_results_agree_and_columns_are_labelled():
    res = flowsim.simulate(CHAIN.scenario, 2, seed=1, workers=1, record=["departures"])
    a = Layout.from_model(compile_scenario(CHAIN.scenario), CHAIN.scenario)
    b = Layout.from_results(res)
    for f in ("step_starts", "step_ends"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert (a.countries, a.cohorts, a.origin) == (b.countries, b.cohorts, b.origin)
    with pytest.raises(ValueError, match="its change over each window: give the windows"):
        Target.model_validate(_t(id="s", observable="stock", kind="series", where=["AAA"],
                                 at="2022-02-01", every="month", start="2022-02-01",
                                 end="2022-02-28", values=[1]))
    with pytest.raises(ValueError, match="pass the scenario"):
        column_layout([Target.model_validate(_t(id="e", observable="stock", kind="about",
                                                value=1, where=["AAA"], each=True,
                                                at="2022-02-01"))])
    with pytest.raises(ValueError, match="do not hold"):
        ObservationPlan.for_results(
            [Target.model_validate(_t(id="r", observable="returns", kind="about", value=1,
                                      start=START, end="2022-02-01"))], res).observe(res)
