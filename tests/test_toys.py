"""Ensemble means of the toy models against their exact expectations.

Every comparison is ``|mean - E| < 5 * sd / sqrt(R)`` with the *exact* standard deviation
``sd`` of one replicate (binomial or hypergeometric, from :mod:`flowsim.testing.toys` and
:mod:`flowsim.testing.border_toys`) and
``R`` replicates. Under normality of the ensemble mean (``R`` = 4000) one comparison fails
by chance with probability ``P(|Z| > 5) = 5.7e-7``; this file makes about 1,060 comparisons,
so a correct engine fails it with probability below ``7e-4`` (Bonferroni). The seeds are
fixed, so the outcome is reproducible. Outcomes whose exact variance is 0 must match
exactly, in every replicate.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import flowsim
from flowsim.scenario import validate_data
from flowsim.testing.border_toys import (
    border_claims,
    intercepted_crossing,
    partial_eligibility,
    pending_moves,
    regularised_before,
    return_and_leave_again,
    returnees_sent_back,
    scheduled_departures,
    shared_quota,
    shocked_returns,
    slow_route,
)
from flowsim.testing.toys import (
    Toy,
    deterred_chain,
    diaspora,
    linear_chain,
    network_choice,
    quota_route,
    scheduled_chain,
    settled_mobility,
    two_country_swap,
)

R = 4000
Z = 5.0
FALSE_FAILURE_PER_COMPARISON = 2 * stats.norm.sf(Z)  # 5.7e-7


def _assert_means(toy: Toy, results: flowsim.Results) -> float:
    """Every outcome at every step within Z exact standard errors; returns the max |z|."""
    z = toy.z_scores(results)
    worst = 0.0
    for name, zs in z.items():
        finite = zs[~np.isnan(zs)]
        bad = np.flatnonzero(np.abs(finite) >= Z)
        assert not bad.size, (
            f"{toy.name}: {name} off its exact expectation at steps {bad + 1}: z = "
            f"{finite[bad]} (|z| < {Z} fails by chance with probability "
            f"{FALSE_FAILURE_PER_COMPARISON:.1e} per comparison); "
            f"mean {toy.observed(results)[name].mean(axis=0)[bad]}, "
            f"expected {toy.mean[name][bad]}")
        worst = max(worst, float(np.abs(finite).max(initial=0.0)))
    return worst


def _assert_variance(toy: Toy, results: flowsim.Results, name: str, n: int,
                     p: np.ndarray) -> None:
    """The sample variance of a Bin(n, p) outcome within Z of its exact variance.

    ``Var(s^2) = sigma^4 (2 / (R - 1) + kappa / R)`` with the binomial excess kurtosis
    ``kappa = (1 - 6 p (1 - p)) / (n p (1 - p))``.
    """
    x = toy.observed(results)[name]
    sigma2 = n * p * (1 - p)
    ok = sigma2 > 0
    kappa = np.where(ok, (1 - 6 * p * (1 - p)) / np.where(ok, sigma2, 1.0), 0.0)
    se = sigma2 * np.sqrt(2 / (R - 1) + kappa / R)
    s2 = x.var(axis=0, ddof=1)
    z = np.where(ok, (s2 - sigma2) / np.where(ok, se, 1.0), 0.0)
    assert np.all(np.abs(z) < Z), f"{toy.name}: variance of {name} off: z = {z}"


@pytest.mark.parametrize("toy", [
    linear_chain(N=1000, h=0.1, q=0.25, steps=12),
    linear_chain(N=500, h=0.2, q=0.2, steps=10),  # h == q: the other branch of the formula
    linear_chain(N=800, h=0.6, q=0.05, steps=8),
    linear_chain(N=2000, h=0.3, q=0.5, steps=21, step="day"),  # hazard per week -> per day
    two_country_swap(N=1000, a=0.3, b=0.1, steps=12),
    two_country_swap(N=400, a=0.9, b=0.7, steps=10),  # oscillating: 1 - a - b < 0
    quota_route(N1=300, N2=700, capacity=130, steps=10),
    quota_route(N1=50, N2=25, capacity=100, steps=3),  # quota never binds
    diaspora(present=3000, pending=800, settled=500, r=0.05, processing_days=60,
             recognition=0.4, steps=15),
    diaspora(present=0, pending=2000, settled=0, r=0.2, processing_days=7,  # fast decisions
             recognition=0.9, steps=6),
    settled_mobility(S=2000, sr=0.03, so=0.08, steps=12),
    settled_mobility(S=500, sr=0.0, so=0.3, steps=6),  # onward only: w = 0
    deterred_chain(N=1000, h=0.2, q=0.4, a=1.0, d=0.7, steps=10),
    deterred_chain(N=1000, h=0.2, q=0.4, a=1.0, d=0.0, steps=6),  # d = 0: no damping
    scheduled_chain(N=1000, h=0.2, q=0.5, fade_days=50, steps=12),
    network_choice(N=2000, S=5000, weight=0.8, scale=1000),
    network_choice(N=2000, S=5000, weight=-0.5, scale=1000),  # a diaspora that repels
    return_and_leave_again(S=2000, r=0.1, a=0.3, steps=12),
    return_and_leave_again(S=1000, r=0.4, a=0.0, steps=6),  # a = 0: returns for good
    pending_moves(S=2000, ab=0.05, po=0.1, steps=10),
    pending_moves(S=1000, ab=0.0, po=0.2, steps=6),  # onward only: w = 0
    border_claims(N=1000, h=0.2, steps=8),
    intercepted_crossing(N=1000, h=0.3, c=0.4, steps=10),
    intercepted_crossing(N=500, h=1.0, c=0.5, steps=6),  # everybody tries every week
    returnees_sent_back(N=2000, h=0.2, a=0.4, r=0.3, passing=0.6, steps=12),
    returnees_sent_back(N=2000, h=0.2, a=0.4, r=0.3, passing=0.5, steps=12,
                        regime="visa_required"),
    returnees_sent_back(N=2000, h=0.2, a=0.4, r=0.3, passing=0.6, steps=12,
                        track=False),  # the default bookkeeping: stopped returnees never left
    shared_quota(N1=300, N2=500, capacity=70, total=500, steps=10),
    shared_quota(N1=100, N2=50, capacity=500, total=1000, steps=3),  # never binds
    scheduled_departures(N=1000, h=0.05, f=4.0, from_week=4, steps=10),
    slow_route(N=1000, h=0.2, travel_days=20, steps=10),
    slow_route(N=1000, h=0.3, travel_days=10, steps=10, closed_from=4),  # a leg closes
    shocked_returns(S=2000, r=0.05, m=6.0, half_life_days=10, from_day=17, steps=10),
    partial_eligibility(N=2000, h=0.2, share=0.3, passport=0.6, u=0.5, steps=8),
    partial_eligibility(N=1000, h=0.3, share=1.0, passport=0.0, u=0.0, steps=5),  # all AAA
    regularised_before(S=1000, N=2000, h=0.1, o=0.2, b=0.02, g=0.3, cutoff_week=4,
                       from_week=6, steps=12),
], ids=lambda t: t.scenario.name)
def test_toy_means_match_exact_expectations(toy: Toy) -> None:
    _, problems = validate_data(toy.scenario.to_data())
    assert [p for p in problems if p.severity == "error"] == []
    res = flowsim.simulate(toy.scenario, replicates=R, seed=20240601,
                           **({} if toy.record is None else {"record": toy.record}))
    _assert_means(toy, res)


def test_toy_variances_are_binomial() -> None:
    """People move independently: the replicate-to-replicate variance is the binomial one."""
    toy = linear_chain(N=1000, h=0.1, q=0.25, steps=12)
    res = flowsim.simulate(toy.scenario, replicates=R, seed=7)
    for name in ("never", "A", "B", "departures"):
        _assert_variance(toy, res, name, 1000, toy.mean[name] / 1000)
    swap = two_country_swap(N=1000, a=0.3, b=0.1, steps=12)
    res = flowsim.simulate(swap.scenario, replicates=R, seed=8)
    _assert_variance(swap, res, "A", 1000, swap.mean["A"] / 1000)
    # people abroad at the start: the settled are binomial in the 800 initial claimants
    abroad = diaspora(present=3000, pending=800, settled=500, r=0.05, processing_days=60,
                      recognition=0.4, steps=15)
    res = flowsim.simulate(abroad.scenario, replicates=R, seed=9)
    _assert_variance(abroad, res, "settled", 800, (abroad.mean["settled"] - 500) / 800)


def test_quota_is_exact_in_every_replicate() -> None:
    toy = quota_route(N1=300, N2=700, capacity=130, steps=10)
    res = flowsim.simulate(toy.scenario, replicates=200, seed=3, record=("stock", "departures",
                                                                         "flow"))
    obs = toy.observed(res)
    np.testing.assert_array_equal(obs["total"], np.broadcast_to(toy.mean["total"],
                                                                 obs["total"].shape))
    np.testing.assert_array_equal(obs["departures"],
                                  np.broadcast_to(toy.mean["departures"],
                                                  obs["departures"].shape))
    # and the origin keeps the rest
    origin = res.dataset["stock"].sel(country="ORG").sum("cohort").values
    np.testing.assert_array_equal(origin, 1000 - obs["total"])
    assert (res.dataset["flow"].sum("cohort").values <= 130).all()


def test_toy_expectations_by_recursion() -> None:
    """The closed forms agree with a direct step-by-step recursion of the probabilities."""
    h, q, T = 0.15, 0.4, 9
    toy = linear_chain(N=1, h=h, q=q, steps=T)
    p = np.array([1.0, 0.0, 0.0])  # origin, A, B
    for t in range(T):
        dep = p[0] * h
        p = np.array([p[0] - dep, p[1] * (1 - q) + dep, p[2] + p[1] * q])
        np.testing.assert_allclose([toy.mean["never"][t], toy.mean["A"][t], toy.mean["B"][t]],
                                   p, atol=1e-12)
    a, b = 0.3, 0.45
    swap = two_country_swap(N=1, a=a, b=b, steps=T)
    pa = 1.0
    for t in range(T):
        np.testing.assert_allclose(swap.mean["A"][t], pa, atol=1e-12)
        pa = pa * (1 - a) + (1 - pa) * b
    quota = quota_route(N1=30, N2=10, capacity=8, steps=6)
    hyper = stats.hypergeom(40, 30, 8)
    assert quota.mean["cohort1_first"][0] == pytest.approx(hyper.mean())
    assert quota.variance["cohort1_first"][0] == pytest.approx(hyper.var())


def test_toy_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="h must be a probability"):
        linear_chain(N=10, h=1.5, q=0.1, steps=3)
    with pytest.raises(ValueError, match="steps must be at least 1"):
        two_country_swap(N=10, a=0.1, b=0.1, steps=0)
