"""Error models: standardized residuals, the goal tolerance, the reweighted posterior.

The calibration tests compare with the exact posterior under the error model, computed by
quadrature on the binomial toy of ``test_calibration`` (departures ~ Binomial(n, 1 − (1 −
h)^10), h ~ Beta(2, 30)): ``p(h | y) ∝ prior(h) Σ_k Bin(k; n, p(h)) N(y; k, sd²)`` (on the
log scale for a log-normal error). The Monte Carlo error of the posterior mean is
``sd / sqrt(ESS)``; 4 of them is a false-failure rate of about 6e-5 (seeded, so fixed).
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from scipy import stats
from test_calibration import binomial_toy

from flowsim.calibration import TargetSet, abc_smc, posterior_predictive, rejection_abc
from flowsim.calibration.errors import GOAL_MASS, goal_epsilon
from flowsim.calibration.predictive import predictive_results
from flowsim.scenario.model import Scenario, Target


def _target(**kw) -> Target:
    base = {"id": "t", "observable": "departures", "start": "2022-01-03",
            "end": "2022-03-13", "source": "test"}
    return Target.model_validate({**base, **kw})


def _z(target: Target, x: list[float]) -> np.ndarray:
    ts = TargetSet.build([target])
    return ts.column_distances(np.array(x, dtype=float)[:, None])[:, 0]


# -- standardized residuals -------------------------------------------------------------------


def test_normal_and_lognormal_residuals():
    t = _target(kind="about", value=1000, error={"sd": 50})
    np.testing.assert_allclose(_z(t, [1000, 1100, 850, np.nan]), [0, 2, 3, np.inf])
    # a relative sd, and the default: the tolerance band read as ±2 sd
    np.testing.assert_allclose(_z(_target(kind="about", value=1000, error={"rsd": 0.1}),
                                  [1200]), [2.0])
    np.testing.assert_allclose(_z(_target(kind="about", value=1000, tolerance=0.2,
                                          error={}), [1100, 900]), [1.0, 1.0])
    t = _target(kind="about", value=1000, error={"dist": "lognormal", "rsd": 0.1})
    f = 1e-3 * 1250  # the floor: 1e-3 of the largest bound of the ±25 % band
    expect = abs(math.log((2000 + f) / (1000 + f))) / 0.1
    np.testing.assert_allclose(_z(t, [2000]), [expect])
    np.testing.assert_allclose(_z(t, [500]), [expect], rtol=1e-3)  # twice too low as high


def test_intervals_read_as_two_sd_or_uniform_and_soft_bounds():
    two = _target(kind="interval", low=400, high=600, error={})
    np.testing.assert_allclose(_z(two, [500, 600, 350]), [0, 2, 3])  # sd = 200 / 4
    uni = _target(kind="interval", low=400, high=600, error={"interval": "uniform"})
    np.testing.assert_allclose(_z(uni, [400, 599, 650, 300]), [0, 0, 1, 2])
    off = _target(kind="interval", low=400, high=600, value=450, error={})
    np.testing.assert_allclose(_z(off, [450, 550]), [0, 2])  # around the central value
    low = _target(kind="at_least", value=1000, error={"rsd": 0.1})
    np.testing.assert_allclose(_z(low, [5000, 1000, 900]), [0, 0, 1])
    high = _target(kind="at_most", value=1000, error={})  # soft by 12.5 %
    np.testing.assert_allclose(_z(high, [0, 1125]), [0, 1])


def test_met_and_bands_follow_the_error():
    ts = TargetSet.build([_target(kind="about", value=1000, error={"sd": 50})])
    assert (ts.low[0], ts.high[0]) == (900, 1100)
    assert ts.met(np.array([[905.0], [1099.0], [1101.0]]))[:, 0].tolist() == [True, True,
                                                                             False]
    assert ts.goal == pytest.approx(math.sqrt(stats.chi2.ppf(GOAL_MASS, 1)))
    # ranges: no error columns, the goal is 0, the distance as it always was
    plain = TargetSet.build([_target(kind="about", value=1000)])
    assert plain.errors is None and plain.goal == 0.0


def test_the_goal_tolerance_holds_the_error_models_mass():
    rng = np.random.default_rng(3)
    for m in (1, 5, 21):
        z = rng.standard_normal((200_000, m))
        for norm, d in (("rms", np.sqrt(np.mean(z**2, axis=1))),
                        ("max", np.max(np.abs(z), axis=1))):
            share = float(np.mean(d <= goal_epsilon(m, norm)))
            # binomial sd of the share is 7e-5; 6 of them
            assert abs(share - GOAL_MASS) < 5e-4, (m, norm, share)


def test_the_distance_of_error_models_is_the_rms_of_every_column():
    series = _target(id="s", kind="series", every="week", start="2022-01-03",
                     end="2022-01-23", values=[100, 100, 100], error={"sd": 10})
    single = _target(id="one", kind="about", value=50, error={"sd": 5})
    ts = TargetSet.build([series, single])
    assert ts.columns == ("s[2022-01-03]", "s[2022-01-10]", "s[2022-01-17]", "one")
    obs = np.array([[110.0, 100.0, 90.0, 60.0]])
    z = np.array([1.0, 0.0, 1.0, 2.0])
    assert ts.distance(obs)[0] == pytest.approx(math.sqrt(np.mean(z**2)))
    assert ts.log_likelihood(obs)[0] == pytest.approx(-0.5 * np.sum(z**2))
    np.testing.assert_allclose(ts.target_distances(obs)[0], [math.sqrt(2 / 3), 2.0])


def test_error_models_and_ranges_do_not_mix():
    scenario = binomial_toy()
    data = scenario.to_data()
    data["targets"].append({**data["targets"][0], "id": "dep2", "error": {"sd": 20}})
    mixed = Scenario.model_validate(data)
    with pytest.raises(ValueError, match="mix error models .* and ranges"):
        abc_smc(mixed, population=50, budget=1000, workers=1)
    TargetSet.build(mixed.targets, mixed)  # a table of them (a validation set) is fine


@pytest.mark.parametrize("kw, message", [
    ({"kind": "about", "value": 0, "error": {}}, "relative sd of a figure of 0"),
    ({"kind": "about", "value": 5, "error": {"sd": 1, "rsd": 0.1}}, "sd or rsd, not both"),
    ({"kind": "about", "value": 5, "error": {"dist": "lognormal", "sd": 1}}, "takes rsd"),
    ({"kind": "interval", "low": 1, "high": 2, "error": {"sd": 1}}, "follows from its ends"),
    ({"kind": "about", "value": 5, "error": {"interval": "uniform"}}, "error.interval"),
    ({"kind": "about", "value": 5, "error": {"coverage": 0}}, "coverage must be"),
    ({"kind": "about", "value": 5, "error": {"rsd": -1}}, "rsd must be"),
])
def test_bad_error_blocks_are_refused(kw, message):
    with pytest.raises(ValueError, match=message):
        _target(**kw)


# -- calibration: the posterior under the error model ------------------------------------------


def _scenario(error: dict, value: float = 300) -> Scenario:
    data = binomial_toy(value=value).to_data()
    data["targets"][0]["error"] = error
    return Scenario.model_validate(data)


def _exact(scenario: Scenario, sd: float, log: bool) -> tuple[float, float]:
    y = scenario.targets[0].value
    n = scenario.cohorts[0].population
    ks = np.arange(n + 1)
    h = np.linspace(1e-4, 0.12, 3001)
    pk = stats.binom.pmf(ks[None, :], n, 1 - (1 - h[:, None]) ** 10)
    if log:
        f = 1e-3 * y * 1.05  # the floor: 1e-3 of the upper bound of the toy's ±5 % band
        like = stats.norm.pdf(np.log(ks + f), math.log(y + f), sd)
    else:
        like = stats.norm.pdf(ks, y, sd)
    dens = scenario.parameters["h"].prior.frozen().pdf(h) * (pk @ like)
    z = np.trapezoid(dens, h)
    mean = np.trapezoid(h * dens, h) / z
    return mean, math.sqrt(np.trapezoid((h - mean) ** 2 * dens, h) / z)


@pytest.mark.parametrize("error, sd, log", [({"sd": 30}, 30, False),
                                            ({"dist": "lognormal", "rsd": 0.1}, 0.1, True)])
def test_abc_smc_reaches_the_exact_posterior_under_the_error_model(error, sd, log):
    scenario = _scenario(error)
    mean, sdv = _exact(scenario, sd, log)
    post = abc_smc(scenario, population=400, budget=12_000, seed=1, workers=1)
    assert post.converged and post.attrs["stop_reason"] == "tolerance reached"
    assert post.epsilon == pytest.approx(goal_epsilon(1))
    assert "weighting" in post.attrs and post.ess > 100
    se = sdv / math.sqrt(post.ess)
    assert abs(post.mean()["h"] - mean) < 4 * se, (post.mean()["h"], mean, se)
    assert post.sd()["h"] == pytest.approx(sdv, rel=0.15)
    # the sd of the error sets the width: a larger sd, a wider posterior
    wide = abc_smc(_scenario({"sd": 90}), population=400, budget=12_000, seed=1, workers=1)
    assert wide.sd()["h"] > 1.5 * post.sd()["h"]


def test_more_final_moves_keep_the_exact_posterior_and_mix_the_population_further():
    # method "mcmc" ends with pseudo-marginal moves, which leave the exact posterior
    # invariant: with 30 of them the population still has the exact mean and sd, and its
    # particles moved more often than in the default's few steps (the note says how often)
    scenario = _scenario({"sd": 30})
    mean, sdv = _exact(scenario, 30, False)
    kw = {"population": 400, "budget": 40_000, "seed": 1, "workers": 1, "method": "mcmc"}
    few = abc_smc(scenario, **kw)
    many = abc_smc(scenario, final_moves=30, **kw)
    assert few.converged and many.converged
    assert "final_moves" not in few.attrs and many.attrs["final_moves"] == 30
    note = many.attrs["error_model_stage"]
    assert note.startswith("30 pseudo-marginal steps") and "moved" in note, note
    steps_few = int(few.attrs["error_model_stage"].split()[0])
    assert steps_few <= 10  # the default: until each particle has likely moved once
    moved = [float(p.attrs["error_model_stage"].split(" moved ")[1].split()[0])
             for p in (few, many)]
    assert moved[1] > 2 * moved[0] > 0, moved
    se = sdv / math.sqrt(many.size / 4)  # the chain's draws are correlated: a conservative ESS
    assert abs(many.mean()["h"] - mean) < 4 * se, (many.mean()["h"], mean, se)
    assert many.sd()["h"] == pytest.approx(sdv, rel=0.15)
    with pytest.raises(ValueError, match="final_moves applies to method='mcmc'"):
        abc_smc(scenario, final_moves=5)
    with pytest.raises(ValueError, match="final_moves must be"):
        abc_smc(scenario, final_moves=0, method="mcmc")
    with pytest.raises(ValueError, match="final_moves applies to targets with error models"):
        abc_smc(Scenario.model_validate(binomial_toy().to_data()), final_moves=5, method="mcmc")


def test_the_posterior_is_centred_where_the_figures_and_their_errors_put_it():
    # Two figures of the same departures that the model cannot both meet: 300 and 240.
    # Under normal errors the posterior-predictive median lies at the precision-weighted
    # mean of the two: 270 with equal sds (20 each), 296.5 with sds 10 and 40.
    def two(sd_a: float, sd_b: float) -> Scenario:
        data = binomial_toy(value=300, tolerance=0.05).to_data()
        data["targets"].append({**data["targets"][0], "id": "dep_b", "value": 240})
        for t, sd in zip(data["targets"], (sd_a, sd_b), strict=True):
            t["error"] = {"sd": sd}
        return Scenario.model_validate(data)

    for (sd_a, sd_b), (lo, hi) in (((20, 20), (260, 280)), ((10, 40), (287, 305))):
        scenario = two(sd_a, sd_b)
        post = abc_smc(scenario, population=200, budget=8_000, seed=2, workers=1)
        assert post.converged
        table = posterior_predictive(scenario, post, replicates=300, seed=3, workers=1)
        assert lo < table["median"].iloc[0] < hi, table
        assert table["z"].notna().all()
    assert list(table["met"]) == [True, True]  # 296.5 is within 2 sds of both
    rej = rejection_abc(scenario, n=2_000, seed=4, workers=1)  # 10 %: ε is 2.58
    assert "weighting" in rej.attrs
    assert rej.converged is (rej.epsilon <= goal_epsilon(2)) is True
    assert rejection_abc(scenario, n=2_000, quantile=0.01, seed=4, workers=1).converged


def test_the_defaults_are_the_command_lines():
    for f in (abc_smc, rejection_abc):
        p = inspect.signature(f).parameters
        assert p["seed"].default == 1 and p["workers"].default == 0
    for f in (posterior_predictive, predictive_results):
        p = inspect.signature(f).parameters
        assert p["seed"].default == 1 and p["workers"].default == 0
    assert "one per CPU" in " ".join(abc_smc.__doc__.split())


ERROR_RECOVERY_SEEDS = 30


def test_credible_intervals_under_an_error_model_cover_the_truth_at_their_nominal_rate():
    """Recovery under an error model: draw the hazard from its prior, simulate the departures,
    observe them with the declared normal error (sd 30), calibrate, and count how often the
    50 % and 90 % credible intervals hold the hazard (15 and 28 of 30 with these seeds). With the exact posterior
    under the error model the counts are Binomial(seeds, 0.5) and Binomial(seeds, 0.9); a
    two-sided exact binomial test at 1 % each (seeded, so the outcome is fixed)."""
    import flowsim
    from flowsim.calibration.priors import JointPrior

    base = _scenario({"sd": 30})
    prior = JointPrior.from_scenario(base)
    hits = {0.5: 0, 0.9: 0}
    for seed in range(ERROR_RECOVERY_SEEDS):
        rng = np.random.default_rng([7, seed])
        truth = prior.sample(1, rng)[0]
        res = flowsim.simulate(base, 1, seed=np.random.SeedSequence([8, seed]),
                               params=prior.full(truth[None]),
                               workers=1, record=("departures",))
        y = float(TargetSet.build(base.targets, base).observe(res)[0, 0])
        scenario = _scenario({"sd": 30}, value=max(1.0, y + rng.normal(0.0, 30.0)))
        post = abc_smc(scenario, population=300, budget=12_000, seed=seed, workers=1)
        assert post.converged, post.diagnostics()
        for level in hits:
            lo, hi = post.interval(level)[0]
            hits[level] += int(lo <= truth[0] <= hi)
    for level, k in hits.items():
        p = stats.binomtest(k, ERROR_RECOVERY_SEEDS, level).pvalue
        assert p > 0.01, f"{k}/{ERROR_RECOVERY_SEEDS} {level:.0%} intervals hold the truth"
