"""Calibration: the ABC distance, ABC-SMC against exact answers, recovery, reproducibility.

Random tests are seeded and compare with exact answers at stated tolerances (STYLE §9):

* the binomial toy has a closed-form ABC posterior (quadrature of prior × binomial pmf);
* the recovery test uses *noisy ABC* (Fearnhead & Prangle 2012): the published figure is
  the simulated one times ``exp(η)`` with ``η`` drawn from the ABC kernel itself, which makes
  the ABC posterior at tolerance 0 exactly calibrated, so 90 % intervals cover the truth
  (drawn from the prior) 90 % of the time up to Monte Carlo error.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math

import numpy as np
import pytest
from scipy import stats

import flowsim
from flowsim.calibration import (
    JointPrior,
    Posterior,
    TargetSet,
    abc_smc,
    posterior_predictive,
    rejection_abc,
    target_distance,
    weighted_quantile,
)
from flowsim.calibration.posterior import GenerationInfo
from flowsim.scenario.model import Scenario, Target

START = dt.date(2022, 1, 3)


def _end(weeks: int) -> dt.date:
    return START + dt.timedelta(weeks=weeks, days=-1)


def _target(**kw) -> Target:
    base = {"id": "t", "observable": "departures", "start": START, "end": _end(10),
            "source": "test"}
    return Target.model_validate({**base, **kw})


# -- toy scenarios ------------------------------------------------------------------------------


def binomial_toy(value: float = 300, tolerance: float = 0.05, n: int = 1000,
                 weeks: int = 10) -> Scenario:
    """Origin → one country; departures over the horizon ~ Binomial(n, 1 - (1 - h)^weeks).

    ``h`` (the weekly hazard) has a Beta(2, 30) prior; one ``about`` target on departures.
    """
    return Scenario.model_validate({
        "name": "toy-binomial",
        "calendar": {"start": START, "end": _end(weeks)},
        "countries": [{"id": "ORG", "name": "Origin", "roles": ["origin"]},
                      {"id": "DST", "name": "Destination"}],
        "routes": [{"from": "ORG", "to": "DST"}],
        "cohorts": [{"name": "all", "population": n, "baseline_hazard": "h"}],
        "parameters": {"h": {"value": 0.03, "prior": {"dist": "beta", "a": 2, "b": 30}}},
        "targets": [{"id": "dep", "observable": "departures", "kind": "about", "value": value,
                     "tolerance": tolerance, "start": START, "end": _end(weeks),
                     "source": "synthetic"}],
    })


RECOVERY_WEEKS = 20


def three_parameter_toy(figures: tuple[float, float, float] = (1.0, 1.0, 1.0),
                        tolerance: float = 0.1) -> Scenario:
    """Origin → A or B. Parameters: the hazard ``h`` (loguniform), B's attractiveness ``a_b``
    (normal) and the return hazard ``r`` from A (uniform); targets: departures, the stock in
    B at the end, returns (all ``about`` with the given tolerance)."""
    end = _end(RECOVERY_WEEKS)
    dep, in_b, ret = figures
    common = {"kind": "about", "tolerance": tolerance, "source": "synthetic"}
    return Scenario.model_validate({
        "name": "toy-three",
        "calendar": {"start": START, "end": end},
        "countries": [{"id": "ORG", "name": "Origin", "roles": ["origin"]},
                      {"id": "AAA", "name": "A", "return_hazard": "r"},
                      {"id": "BBB", "name": "B", "attractiveness": "a_b"}],
        "routes": [{"from": "ORG", "to": "AAA"}, {"from": "ORG", "to": "BBB"}],
        "cohorts": [{"name": "all", "population": 50_000, "baseline_hazard": "h"}],
        "parameters": {
            "h": {"value": 0.02, "prior": {"dist": "loguniform", "low": 0.005, "high": 0.05}},
            "a_b": {"value": 0.0, "prior": {"dist": "normal", "mean": 0.0, "sd": 0.5}},
            "r": {"value": 0.05, "prior": {"dist": "uniform", "low": 0.01, "high": 0.1}},
            "unused_fixed": 7.0,
        },
        "targets": [
            {"id": "dep", "observable": "departures", "value": dep, "start": START, "end": end,
             **common},
            {"id": "in_b", "observable": "stock", "value": in_b, "where": ["BBB"], "at": end,
             **common},
            {"id": "ret", "observable": "returns", "value": ret, "start": START, "end": end,
             **common},
        ],
    })


# -- the distance -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, args, inside, outside", [
    ("interval", {"low": 400.0, "high": 500.0}, [400.0, 450.0, 500.0], [399.0, 501.0, 0.0]),
    ("at_least", {"value": 300.0}, [300.0, 1e9], [299.9, 0.0]),
    ("at_most", {"value": 1000.0}, [0.0, 1000.0], [1000.5, 1e7]),
    ("about", {"value": 100.0, "tolerance": 0.1}, [90.0, 100.0, 110.0], [89.0, 111.0]),
    ("about", {"value": 100.0}, [75.0, 125.0], [74.9, 125.1]),
])
def test_distance_is_zero_exactly_inside_and_positive_outside(kind, args, inside, outside):
    ts = TargetSet.build([_target(kind=kind, **args)])
    assert np.array_equal(ts.distance(np.array(inside)[:, None]), np.zeros(len(inside)))
    assert (ts.distance(np.array(outside)[:, None]) > 0).all()
    assert ts.met(np.array(inside)[:, None]).all()
    assert not ts.met(np.array(outside)[:, None]).any()


def test_distance_is_a_relative_log_scale_whatever_the_size():
    # 10 % above the upper bound costs log(1.1) (up to the 1e-3 floor) for a share and for a
    # count alike; twice too low and twice too high cost about log 2.
    small = TargetSet.build([_target(observable="departures", kind="at_most", value=0.3)])
    large = TargetSet.build([_target(observable="departures", kind="at_most", value=3e5)])
    d_small = small.distance(np.array([[0.33]]))
    d_large = large.distance(np.array([[3.3e5]]))
    assert d_small == pytest.approx(d_large, rel=1e-12)
    assert d_large[0] == pytest.approx(math.log(1.1), rel=2e-3)
    low = TargetSet.build([_target(kind="at_least", value=1000.0)])
    assert low.distance(np.array([[500.0]]))[0] == pytest.approx(math.log(2), rel=2e-3)
    assert large.distance(np.array([[6e5]]))[0] == pytest.approx(math.log(2), rel=2e-3)
    # monotone away from the band
    x = np.array([[3.1e5], [4e5], [1e6], [1e9]])
    assert np.all(np.diff(large.distance(x)) > 0)


def test_distance_zero_nan_and_negative_observables():
    ts = TargetSet.build([_target(kind="at_least", value=3e5)])
    d0 = ts.distance(np.array([[0.0]]))[0]
    assert np.isfinite(d0) and d0 == pytest.approx(math.log(1001), rel=1e-9)
    assert ts.distance(np.array([[-5.0]]))[0] == d0  # read as zero
    assert ts.distance(np.array([[np.nan]]))[0] == np.inf
    assert ts.distance(np.array([[np.inf]]))[0] == np.inf
    zero = TargetSet.build([_target(kind="at_most", value=0.0)])  # floor 1: log(1 + x)
    assert zero.distance(np.array([[0.0], [np.e - 1]])).tolist() == pytest.approx([0.0, 1.0])
    # the elementwise function broadcasts over columns
    d = target_distance(np.array([[1.0, 5.0]]), [2.0, 0.0], [3.0, 4.0], [1e-3, 1e-3])
    assert d.shape == (1, 2) and (d > 0).all()


def test_distance_combines_targets_and_countries():
    scenario = three_parameter_toy()
    each = Target.model_validate({"id": "each", "observable": "stock", "kind": "interval",
                                  "low": 10.0, "high": 20.0, "where": ["AAA", "BBB"],
                                  "each": True, "at": _end(RECOVERY_WEEKS), "source": "t"})
    plain = _target(id="plain", kind="at_least", value=100.0)
    for norm in ("rms", "max"):
        ts = TargetSet.build([plain, each], scenario, norm=norm)
        assert ts.columns == ("plain", "each[AAA]", "each[BBB]")
        obs = np.array([[150.0, 15.0, 15.0],    # all met
                        [150.0, 15.0, 40.0],    # one country of `each` missed
                        [50.0, 40.0, 40.0]])
        per_col = ts.column_distances(obs)
        per_t = ts.target_distances(obs)
        total = ts.distance(obs)
        assert total[0] == 0.0 and (total[1:] > 0).all()
        if norm == "rms":
            assert per_t[1, 1] == pytest.approx(math.sqrt(per_col[1, 2] ** 2 / 2))
            assert total[2] == pytest.approx(math.sqrt((per_t[2] ** 2).mean()))
        else:
            assert per_t[1, 1] == per_col[1, 2]
            assert total[2] == per_t[2].max()
    with pytest.raises(ValueError, match="each: true"):
        TargetSet.build([each])
    with pytest.raises(ValueError, match="unknown norm"):
        TargetSet.build([plain], norm="l1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no targets"):
        TargetSet.build([])


def test_observe_matches_results_and_records_only_what_is_needed():
    scenario = three_parameter_toy((1.0, 1.0, 1.0))
    ts = TargetSet.build(scenario.targets, scenario)
    assert set(ts.record) == {"departures", "stock", "returns"}
    res = flowsim.simulate(scenario, 5, seed=1, record=ts.record)
    obs = ts.observe(res)
    assert obs.shape == (5, 3)
    np.testing.assert_array_equal(obs[:, 0], res.departures().values)


@pytest.mark.parametrize("name", ["russia-2022", "syria-2015"])
def test_observation_plan_reads_the_same_numbers_as_results_for_every_observable(name):
    from pathlib import Path

    from flowsim.core.compile import compile_scenario

    path = Path(__file__).resolve().parents[1] / "scenarios" / f"{name}.yaml"
    scenario = flowsim.load_scenario(path)
    ts = TargetSet.build(scenario.targets, scenario)
    res = flowsim.simulate(scenario, 12, seed=3, record=ts.record)
    plan = ts.plan(compile_scenario(scenario), scenario)
    fast = plan({v: res.dataset[v].values for v in plan.record})
    np.testing.assert_array_equal(fast, ts.observe(res))


def test_the_shipped_targets_use_every_observable_kind():
    """Between them, the two shipped cases' targets use every observable the plan reads
    (each: true included), so the test above covers them all."""
    from pathlib import Path

    kinds = set()
    for name in ("russia-2022", "syria-2015"):
        scenario = flowsim.load_scenario(
            Path(__file__).resolve().parents[1] / "scenarios" / f"{name}.yaml")
        kinds |= {t.observable for t in TargetSet.build(scenario.targets, scenario).targets}
    assert kinds >= {"departures", "abroad", "stock", "settled", "arrivals", "visas_issued",
                     "asylum_applications", "recognition_share"}


# -- the prior ----------------------------------------------------------------------------------


def test_joint_prior_transforms_and_fixed_parameters():
    scenario = three_parameter_toy()
    jp = JointPrior.from_scenario(scenario)
    assert jp.names == ("h", "a_b", "r") and "unused_fixed" in jp.param_names
    theta = jp.sample(2000, np.random.default_rng(0))
    assert jp.in_support(theta).all()
    z = jp.to_unconstrained(theta)
    np.testing.assert_allclose(jp.from_unconstrained(z), theta, rtol=1e-10)
    # log |dθ/dz| against a finite difference
    eps = 1e-6
    for i in range(jp.dim):
        dz = np.zeros_like(z[:5])
        dz[:, i] = eps
        fd = (jp.from_unconstrained(z[:5] + dz) - jp.from_unconstrained(z[:5] - dz))[:, i]
        expect = np.log(np.abs(fd) / (2 * eps))
        per_dim = [t.log_jacobian(z[:5, i]) for t in jp._transforms][i]
        np.testing.assert_allclose(per_dim, expect, rtol=1e-5, atol=1e-7)
    assert np.isneginf(jp.logpdf(np.array([[0.1, 0.0, 0.05]]))).all()  # h above its support
    full = jp.full(theta[:3])
    assert full.shape == (3, 4) and (full[:, jp.param_names.index("unused_fixed")] == 7).all()
    with pytest.raises(ValueError, match="no prior"):
        JointPrior.from_scenario(scenario, ["unused_fixed"])
    with pytest.raises(KeyError, match="unknown parameter"):
        JointPrior.from_scenario(scenario, ["hh"])


def test_weighted_quantile():
    v = np.array([3.0, 1.0, 2.0])
    assert weighted_quantile(v, [1, 1, 1], 0.5) == 2.0
    assert weighted_quantile(v, [0, 0, 1], [0.0, 1.0]).tolist() == [2.0, 2.0]
    assert weighted_quantile(v, [1, 1, 1], [0.0, 1.0]).tolist() == [1.0, 3.0]
    assert weighted_quantile(v, [10, 1, 1], 0.5) == 3.0


# -- ABC-SMC against the exact ABC posterior ----------------------------------------------------


def exact_abc_posterior(scenario: Scenario) -> tuple[float, float]:
    """Mean and sd of prior(h) × P(low <= X <= high | h), X ~ Binomial(n, 1 - (1 - h)^T)."""
    t = scenario.targets[0]
    lo, hi = t.bounds
    n = scenario.cohorts[0].population
    weeks = 10
    ks = np.arange(math.ceil(lo), math.floor(hi) + 1)
    prior = scenario.parameters["h"].prior.frozen()
    h = np.linspace(1e-7, 0.25, 25_001)
    like = stats.binom.pmf(ks[None, :], n, 1 - (1 - h[:, None]) ** weeks).sum(axis=1)
    dens = prior.pdf(h) * like
    z = np.trapezoid(dens, h)
    mean = np.trapezoid(h * dens, h) / z
    return mean, math.sqrt(np.trapezoid((h - mean) ** 2 * dens, h) / z)


def test_abc_smc_matches_the_exact_abc_posterior():
    scenario = binomial_toy(value=300, tolerance=0.05)
    mean, sd = exact_abc_posterior(scenario)
    seen: list[GenerationInfo] = []
    post = abc_smc(scenario, population=1000, budget=60_000, seed=1, workers=1, progress=seen.append)
    # it reaches tolerance 0 (the target's band itself), so its target is the exact posterior
    assert post.attrs["stop_reason"] == "tolerance reached" and post.epsilon == 0.0
    assert [g.generation for g in seen] == list(range(len(post.generations)))
    eps = [g.epsilon for g in post.generations]
    assert all(a > b for a, b in itertools.pairwise(eps))
    assert post.ess > 500
    # Monte Carlo error of the mean is sd / sqrt(ESS) ≈ 0.045 sd; 4 of them: false failure
    # rate about 1e-4 (seeded, so deterministic). The sd within 10 %.
    se = sd / math.sqrt(post.ess)
    assert abs(post.mean()["h"] - mean) < 4 * se, (post.mean()["h"], mean, se)
    assert post.sd()["h"] == pytest.approx(sd, rel=0.10)
    assert (post.distances == 0).all() and (post.observables >= 285).all()
    diag = post.diagnostics()
    assert list(diag["generation"]) == list(range(len(post.generations)))
    assert (diag["acceptance_rate"] > 0).all() and (diag["ess"] > 0).all()
    assert diag["total_simulations"].iloc[-1] <= 60_000

    # rejection ABC at tolerance 0 targets the same posterior
    rej = rejection_abc(scenario, n=12_000, epsilon=0.0, seed=2, workers=1)
    se_rej = sd / math.sqrt(rej.size)
    assert abs(rej.mean()["h"] - mean) < 4 * se_rej
    assert rej.sd()["h"] == pytest.approx(sd, rel=0.12)
    assert np.allclose(rej.weights, 1 / rej.size)


def test_the_silverman_kernel_without_margin_targets_the_same_posterior_with_fewer_simulations():
    # the narrower kernel and rounds sized to the need change the path, not the target
    scenario = binomial_toy(value=300, tolerance=0.05)
    mean, sd = exact_abc_posterior(scenario)
    wide = abc_smc(scenario, population=1000, budget=60_000, seed=1, workers=1)
    post = abc_smc(scenario, population=1000, budget=60_000, seed=1, workers=1,
                   kernel="silverman", round_margin=0.0)
    assert post.epsilon == 0.0 and "Silverman" in post.attrs["kernel"]
    assert post.attrs["round_margin"] == 0.0 and "round_margin" not in wide.attrs
    se = sd / math.sqrt(post.ess)  # 4 standard errors: false failure rate about 1e-4
    assert abs(post.mean()["h"] - mean) < 4 * se, (post.mean()["h"], mean, se)
    assert post.sd()["h"] == pytest.approx(sd, rel=0.10)
    # one parameter, 1,000 particles: the kernel's variance is 0.07 / 2 of the default's, so
    # more candidates fall within each tolerance (measured: 26 % fewer simulations)
    rates = [g.acceptance_rate for g in post.generations[1:]]
    wide_rates = [g.acceptance_rate for g in wide.generations[1:]]
    assert np.mean(rates) > np.mean(wide_rates)
    assert post.generations[-1].total_simulations < wide.generations[-1].total_simulations
    with pytest.raises(ValueError, match="unknown kernel"):
        abc_smc(scenario, kernel="gauss")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="kernel applies to method='pmc'"):
        abc_smc(scenario, method="mcmc", kernel="silverman")
    with pytest.raises(ValueError, match="round_margin"):
        abc_smc(scenario, round_margin=-0.5)


def _two_hazard_chain() -> Scenario:
    """linear_chain (N 10,000, 8 weeks) with h ~ U(0.01, 0.3) and q ~ U(0.01, 0.5) from
    departures (±2 %) and the stock in BBB at the end (±5 %), both at their expectations at
    h = 0.1, q = 0.2 (exact ABC posterior: h 0.1000 ± 0.0021, q 0.2008 ± 0.0111, the grid
    of benchmarks/test_pyabc_comparison.py)."""
    from flowsim.testing.toys import linear_chain

    chain = linear_chain(N=10_000, h=0.1, q=0.2, steps=8)
    data = chain.scenario.to_data()
    cal = data["calendar"]
    data["cohorts"][0]["baseline_hazard"] = "h"
    data["countries"][1]["onward_hazard"] = "q"
    data["parameters"] = {k: {"value": v, "prior": {"dist": "uniform", "low": 0.01, "high": hi}}
                          for k, v, hi in (("h", 0.1, 0.3), ("q", 0.2, 0.5))}
    data["targets"] = [
        {"id": "departures", "observable": "departures", "kind": "about", "tolerance": 0.02,
         "value": round(10_000 * (1 - 0.9**8)), "start": cal["start"], "end": cal["end"],
         "source": "exact expectation"},
        {"id": "in_b", "observable": "stock", "where": ["BBB"], "at": cal["end"],
         "kind": "about", "tolerance": 0.05, "value": round(float(chain.mean["B"][-1])),
         "source": "exact expectation"}]
    return Scenario.model_validate(data)


def test_the_adaptive_distance_weights_targets_by_their_misses_and_keeps_the_posterior():
    scenario = _two_hazard_chain()
    fixed = abc_smc(scenario, population=300, budget=100_000, seed=2, workers=1)
    post = abc_smc(scenario, population=300, budget=100_000, seed=2, workers=1,
                   distance="adaptive")
    assert post.epsilon == fixed.epsilon == 0.0 and "final weights" in post.attrs["distance"]
    assert "distance" not in fixed.attrs
    # the same posterior at tolerance 0: within 4 combined standard errors of the exact one
    for k, (mean, sd) in {"h": (0.1000, 0.0021), "q": (0.2008, 0.0111)}.items():
        for p in (fixed, post):
            assert abs(p.mean()[k] - mean) < 4 * sd / math.sqrt(p.ess), (k, p.mean()[k])
            assert p.sd()[k] == pytest.approx(sd, rel=0.15)
    # the weights are the inverse mean misses, capped, with mean 1
    from flowsim.calibration.sampler import MAX_WEIGHT_RATIO, adaptive_weights

    w = adaptive_weights(np.array([0.2, 0.1, 0.0, 1e-9]))
    assert w.mean() == pytest.approx(1.0) and w[0] * 2 == pytest.approx(w[1])
    assert w[2] == w[3] == pytest.approx(w[0] * MAX_WEIGHT_RATIO)
    assert (adaptive_weights(np.zeros(3)) == 1).all()
    with pytest.raises(ValueError, match="unknown distance"):
        abc_smc(scenario, distance="scaled")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="range targets"):
        abc_smc(scenario, distance="adaptive", method="mcmc")


@pytest.mark.parametrize("uninformed", [0, 20])
def test_abc_smc_mcmc_matches_the_exact_abc_posterior_even_with_many_parameters(uninformed):
    # `uninformed` extra parameters with Beta(2, 2) priors that no target depends on: the
    # importance weights of "pmc" collapse there (ESS ~10 of 1000 with 20 of them); the
    # replenishment sampler keeps h's posterior and leaves the others at their prior.
    data = binomial_toy(value=300, tolerance=0.05).to_data()
    for i in range(uninformed):
        data["parameters"][f"u{i}"] = {"value": 0.5, "prior": {"dist": "beta", "a": 2, "b": 2}}
    scenario = Scenario.model_validate(data)
    mean, sd = exact_abc_posterior(scenario)
    post = abc_smc(scenario, population=1000, budget=60_000, seed=1, workers=1, method="mcmc")
    assert post.epsilon == 0.0 and post.attrs["method"] == "abc-smc-mcmc"
    assert np.allclose(post.weights, 1e-3)
    # MCMC copies are correlated: allow 4 standard errors at an effective size of 300
    assert abs(post.mean()["h"] - mean) < 4 * sd / math.sqrt(300)
    assert post.sd()["h"] == pytest.approx(sd, rel=0.12)
    if uninformed:
        u = post.particles[:, 1:]
        assert abs(u.mean() - 0.5) < 0.02 and abs(u.std() - math.sqrt(0.05)) < 0.02


def test_abc_smc_with_replicates_per_particle_targets_the_same_posterior():
    scenario = binomial_toy(value=300, tolerance=0.05)
    mean, sd = exact_abc_posterior(scenario)
    post = abc_smc(scenario, population=600, budget=60_000, seed=3, workers=1, replicates_per_particle=3)
    assert post.epsilon == 0.0
    se = sd / math.sqrt(post.ess)
    assert abs(post.mean()["h"] - mean) < 4 * se
    assert post.sd()["h"] == pytest.approx(sd, rel=0.15)


def test_abc_smc_stops_on_budget_and_checks_its_arguments():
    scenario = binomial_toy(value=300, tolerance=0.001)
    post = abc_smc(scenario, population=200, budget=2_500, seed=4, workers=1)
    assert post.attrs["stop_reason"] == "budget exhausted"
    assert post.generations[-1].total_simulations <= 2_500
    post = abc_smc(scenario, population=200, budget=50_000, generations_max=2, seed=4, workers=1)
    assert len(post.generations) == 2 and post.attrs["stop_reason"] == "generations_max reached"
    with pytest.raises(ValueError, match="cannot complete the first generation"):
        abc_smc(scenario, population=200, budget=100, seed=4, workers=1)
    with pytest.raises(ValueError, match="alpha"):
        abc_smc(scenario, alpha=1.5)
    with pytest.raises(ValueError, match="population"):
        abc_smc(scenario, population=0)
    with pytest.raises(ValueError, match="unknown method"):
        abc_smc(scenario, method="nuts")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="replicates_per_particle=1"):
        abc_smc(scenario, method="mcmc", replicates_per_particle=2)
    post = abc_smc(scenario, population=200, budget=3_000, seed=4, workers=1, method="mcmc")
    assert post.attrs["stop_reason"] == "budget exhausted"
    assert post.generations[-1].total_simulations <= 3_000
    assert (post.distances <= post.epsilon).all()  # a valid population at its tolerance


# -- recovery -----------------------------------------------------------------------------------

RECOVERY_SEEDS = 10


def test_recovery_credible_intervals_cover_the_truth_at_the_nominal_rate():
    base = three_parameter_toy()
    prior = JointPrior.from_scenario(base)
    ts = TargetSet.build(base.targets, base)
    tol = 0.1
    covered = []
    for seed in range(RECOVERY_SEEDS):
        ss = np.random.SeedSequence([2024, seed])
        rng = np.random.Generator(np.random.PCG64(ss))
        truth = prior.sample(1, rng)[0]
        res = flowsim.simulate(base, 1, seed=np.random.SeedSequence([2025, seed]),
                               params=prior.full(truth[None]), record=ts.record)
        y = ts.observe(res)[0]
        # noisy ABC: figure = y × exp(η), η from the uniform log-scale kernel of `about`
        eta = rng.uniform(-math.log(1 + tol), -math.log(1 - tol), size=y.size)
        scenario = three_parameter_toy(tuple(y * np.exp(eta)), tol)
        post = abc_smc(scenario, population=400, budget=40_000, seed=seed, workers=1)
        assert post.epsilon == 0.0, post.diagnostics()
        ci = post.interval(0.9)
        covered.append((ci[:, 0] <= truth) & (truth <= ci[:, 1]))
    covered = np.array(covered)
    hits, n = int(covered.sum()), covered.size
    # Two-sided exact binomial test at a 1 % false-failure rate (for independent intervals;
    # the three intervals of one seed are mildly correlated).
    p = stats.binomtest(hits, n, 0.9).pvalue
    assert p > 0.01, f"{hits}/{n} intervals cover the truth (p = {p:.3g})"


# -- reproducibility ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["pmc", "mcmc"])
def test_calibration_is_reproducible_whatever_the_number_of_workers(method):
    scenario = three_parameter_toy((12_000.0, 6_000.0, 1_500.0), 0.2)
    kw = {"population": 300, "budget": 20_000, "generations_max": 3, "seed": 11,
          "method": method}
    one = abc_smc(scenario, workers=1, **kw)
    two = abc_smc(scenario, workers=2, **kw)
    assert one.generations[0].proposed >= 500  # several blocks of 250 replicates per call
    np.testing.assert_array_equal(one.particles, two.particles)
    np.testing.assert_array_equal(one.weights, two.weights)
    np.testing.assert_array_equal(one.observables, two.observables)
    assert [g.epsilon for g in one.generations] == [g.epsilon for g in two.generations]
    other = abc_smc(scenario, workers=1, **{**kw, "seed": 12})
    assert not np.array_equal(one.particles, other.particles)


# -- the posterior object -----------------------------------------------------------------------


def _small_posterior() -> Posterior:
    gen = GenerationInfo(0, 0.5, 10, 3, 0.3, 2.1, 10, 10, 1, 0.01, 0.0, 0.1, 0.4)
    return Posterior(
        param_names=("h", "r"),
        particles=np.array([[0.01, 0.1], [0.02, 0.2], [0.03, 0.3]]),
        weights=np.array([0.7, 0.2, 0.1]),
        distances=np.array([0.0, 0.1, 0.4]),
        target_columns=("dep", "each[AAA]"),
        target_ids=("dep", "each"),
        target_low=np.array([1.0, -np.inf]),
        target_high=np.array([np.inf, 5.0]),
        observables=np.array([[2.0, 3.0], [4.0, 5.0], [6.0, 7.0]]),
        generations=(gen,),
        scenario_parameters=("a", "h", "r"),
        fixed_values=np.array([9.0, 0.0, 0.0]),
        priors=("uniform(0, 1)", "beta(2, 2)"),
        attrs={"method": "abc-smc", "scenario_name": "t"},
    )


def test_posterior_save_load_round_trip(tmp_path):
    post = _small_posterior()
    path = post.save(tmp_path / "posterior.nc")
    assert [p.name for p in tmp_path.iterdir()] == ["posterior.nc"]  # no temporary left
    back = Posterior.load(path)
    for f in ("particles", "weights", "distances", "observables", "target_low", "target_high",
              "fixed_values"):
        np.testing.assert_array_equal(getattr(back, f), getattr(post, f))
    for f in ("param_names", "target_columns", "target_ids", "scenario_parameters", "priors",
              "generations"):
        assert getattr(back, f) == getattr(post, f)
    assert back.attrs["method"] == "abc-smc"
    ds = post.to_dataset()
    assert set(ds.dims) == {"particle", "parameter", "target", "generation",
                            "scenario_parameter"}
    csv = post.to_csv(tmp_path / "posterior.csv")
    import pandas as pd

    df = pd.read_csv(csv, index_col="particle")
    assert list(df.columns) == ["h", "r", "weight", "distance", "target:dep", "target:each[AAA]"]
    np.testing.assert_allclose(df["weight"].values, post.weights)


def test_posterior_sample_shape_order_and_weights():
    post = _small_posterior()
    draws = post.sample(20_000, seed=5)
    assert draws.shape == (20_000, 3)
    assert (draws[:, 0] == 9.0).all()  # the fixed parameter keeps its value
    np.testing.assert_array_equal(draws[:, 2], draws[:, 1] * 10)  # rows are whole particles
    freq = np.array([(draws[:, 1] == v).mean() for v in (0.01, 0.02, 0.03)])
    # 5 binomial standard errors: false failure ~1e-6
    se = np.sqrt(post.weights * (1 - post.weights) / 20_000)
    assert (np.abs(freq - post.weights) < 5 * se).all(), freq
    np.testing.assert_array_equal(draws, post.sample(20_000, seed=5))
    # resample gives the particles that sample draws (posterior_rows relies on it)
    idx = post.resample(20_000, seed=5)
    np.testing.assert_array_equal(draws[:, 1], post.particles[idx, post.param_names.index("h")])
    assert post.sample(4, seed=1, parameters=["r", "h"]).shape == (4, 2)
    with pytest.raises(KeyError, match="no value"):
        post.sample(4, seed=1, parameters=["zz"])
    summary = post.summary()
    assert list(summary.index) == ["h", "r"]
    assert summary.loc["h", "mean"] == pytest.approx(0.7 * 0.01 + 0.2 * 0.02 + 0.1 * 0.03)


def test_posterior_predictive_reports_every_target():
    scenario = binomial_toy(value=300, tolerance=0.05)
    post = abc_smc(scenario, population=300, budget=20_000, seed=6, workers=1)
    table = posterior_predictive(scenario, post, replicates=500, seed=7, workers=1)
    assert list(table["target"]) == ["dep"]
    row = table.iloc[0]
    assert row["lower"] <= row["median"] <= row["upper"]
    assert row["met"] and row["distance"] == 0.0
    assert row["figure"].startswith("about 300")
    # the posterior's draws feed simulate directly
    res = flowsim.simulate(scenario, 100, seed=8, params=post.sample(100, seed=9),
                           record=["departures"])
    assert 250 < float(res.departures().median()) < 350
