"""Recovery with time-series targets and error models, on a toy with two parameters.

The toy is :func:`flowsim.testing.toys.linear_chain` (``ORG → AAA → BBB``, ``N = 10,000``
people, 8 weekly steps) with both hazards estimated: the origin's weekly hazard ``h`` and
``AAA``'s onward hazard ``q``. The targets are

* a **weekly series** of departures (``kind: series``, ``every: week``, 8 figures), each with a
  **log-normal** error of rsd 0.1: the departures identify ``h``;
* the **change of BBB's stock** from the end of week 2 to the end of week 8 (``since:``), with
  a **normal** error of sd 100 people: it identifies ``q`` once ``h`` is known.

Priors: ``h ~ Beta(10, 90)`` (mean 0.1, 99.8 % within 0.03–0.21) and ``q ~ Beta(6, 24)``
(mean 0.2, 99.8 % within 0.04–0.46). Beta rather than uniform priors because a beta with
both shapes above 1 has a density that falls smoothly to 0 at its ends: a truth drawn from it
is rarely near them, and never against a hard bound of a flat prior, which cuts the posterior
off and, in the logit space the kernel works in, stretches it into a one-sided tail
(measured with ``q ~ U(0.05, 0.4)``: a truth of 0.052 left the likelihood stage at an
effective sample of 105 of 300 after its three generations). Their ranges also keep every week's departures above 240 people, where the
binomial noise of a week (sd at most 6.5 % of it) stays below the error's 10 %.

Why the figures are exact draws of the declared error model (so that the posterior under the
error model is the exact posterior, and its credible intervals hold the truth at their
nominal rate whatever the seeds, up to the sampler's Monte Carlo error): each seed draws the
truth from the prior, simulates one replicate, and observes it through the error the targets
declare: ``y_w = x_w exp(0.1 η_w)`` for each week and ``y = x + 100 η`` for the change,
``η ~ N(0, 1)`` independent. (The log scale of :mod:`flowsim.calibration.errors` adds a floor
of 1.25e-3 of the figure to both sides, which moves a residual by 0.13 % of itself:
negligible here.) The normal error is absolute: a relative sd, ``rsd × |y|``, would depend on
the figure, and its likelihood would not be a density of ``y`` with the same normalisation
for every parameter.

With an exact posterior, the number of seeds whose 50 % (90 %) interval of a parameter holds
the truth is Binomial(S, 0.5) (Binomial(S, 0.9)). Each of the four counts (two parameters,
two levels) is tested two-sided with an exact binomial test at 0.25 %: by Bonferroni the
family's false-failure rate is at most 1 %, whatever the dependence between the counts
(the 50 % and 90 % intervals are nested, and ``h`` and ``q`` share a seed).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from scipy import stats

import flowsim
from flowsim.calibration import JointPrior, TargetSet, abc_smc, posterior_predictive
from flowsim.scenario.model import Scenario
from flowsim.testing.toys import START, linear_chain

N = 10_000
WEEKS = 8
END = START + dt.timedelta(weeks=WEEKS, days=-1)
SINCE = START + dt.timedelta(weeks=2, days=-1)  # the end of week 2
DEPARTURES_RSD = 0.1  # log-normal error of each week's departures
CHANGE_SD = 100.0  # normal error of the change of BBB's stock, in people

RECOVERY_SEEDS = 50
POPULATION = 300
LEVELS = (0.5, 0.9)
#: per count: 4 counts, 1 % for the family (Bonferroni)
COUNT_TEST_LEVEL = 0.01 / 4
#: the most the posterior-predictive median of the series may miss the observed figures by,
#: as the root mean square of its |z| over the weeks (see the test)
SERIES_RMS_Z = 2.5
#: the most the mean of z² over every week of every seed may be (see the test)
SERIES_POOLED_Z2 = 2.0


def chain_scenario(departures: list[float] | None = None, change: float = 1.0) -> Scenario:
    """The linear chain with ``h`` and ``q`` estimated and the two targets of the module doc.

    ``departures``: the 8 weekly figures (default: placeholders, for the layout).
    """
    data = linear_chain(N, 0.1, 0.2, WEEKS).scenario.to_data()
    data["parameters"] = {
        "h": {"value": 0.1, "prior": {"dist": "beta", "a": 10, "b": 90}},
        "q": {"value": 0.2, "prior": {"dist": "beta", "a": 6, "b": 24}},
    }
    data["cohorts"][0]["baseline_hazard"] = "h"
    aaa = next(c for c in data["countries"] if c["id"] == "AAA")
    aaa["onward_hazard"] = "q"
    data["targets"] = [
        {"id": "departures", "observable": "departures", "kind": "series", "every": "week",
         "start": START, "end": END,
         "values": [1.0] * WEEKS if departures is None else [float(v) for v in departures],
         "error": {"dist": "lognormal", "rsd": DEPARTURES_RSD}, "source": "synthetic"},
        {"id": "bbb_change", "observable": "stock", "kind": "about", "where": ["BBB"],
         "at": END, "since": SINCE, "value": float(change), "error": {"sd": CHANGE_SD},
         "source": "synthetic"},
    ]
    return Scenario.model_validate(data)


def test_series_and_error_models_recover_the_truth_at_the_nominal_rate():
    """Recovery over 50 seeds (module doc): draw ``(h, q)`` from the prior, observe one
    replicate through the declared errors, calibrate (ABC-SMC, 300 particles, one worker),
    and count the seeds whose 50 % and 90 % credible intervals hold the truth.

    These seeds give, of 50: ``h`` 25 (50 %) and 42 (90 %), ``q`` 22 and 49 (p-values 1.0,
    0.16, 0.48, 0.058); each count passes its test at 0.25 % (acceptance regions 14–36 and
    38–50).

    Each posterior must also have converged and end with an effective sample of at least
    half the population (the error-model stage: generations accepted by the likelihood;
    these seeds end between 152 and 235 of 300, after 4,469 to 18,087 simulations).

    And the series must be fitted, not ignored: the posterior-predictive median's ``|z|``
    over the 8 weeks has a root mean square of at most 2.5 in every seed, and a mean ``z²``
    over every week of every seed of at most 2. Under the fitted model each week's ``z`` is
    close to standard normal (variance 1, plus the week's binomial noise over the error, at
    most 0.4, less the share the two parameters fit), so an RMS above 2.5 (a sum of squares
    above 50) has probability below 1e-5 per seed, and a pooled mean of 2 is about 6 of its
    sds above its expectation (measured with these seeds: RMS at most 1.68, pooled mean
    1.05). The prior's predictive median, a posterior that ignored the series, gives a
    pooled mean of 6.2 and an RMS above 2.5 in 16 of the 50 seeds.

    Measured on the 2-core development machine, one worker: 26 s of CPU for the 50 seeds
    (39 s wall under a load of 7); 4,500–61,000 simulations per calibration, median 7,600.
    """
    base = chain_scenario()
    prior = JointPrior.from_scenario(base)
    assert prior.names == ("h", "q")
    ts = TargetSet.build(base.targets, base)
    assert len(ts.columns) == WEEKS + 1
    sds = np.r_[np.full(WEEKS, DEPARTURES_RSD), CHANGE_SD]
    hits = np.zeros((len(LEVELS), 2), dtype=np.int64)
    problems: list[str] = []
    series_z: list[np.ndarray] = []
    for seed in range(RECOVERY_SEEDS):
        rng = np.random.default_rng([14, 7, seed])
        truth = prior.sample(1, rng)[0]
        res = flowsim.simulate(base, 1, seed=np.random.SeedSequence([14, 8, seed]),
                               params=prior.full(truth[None]), workers=1, record=ts.record)
        x = ts.observe(res)[0]
        eta = rng.standard_normal(x.size) * sds
        scenario = chain_scenario(list(x[:WEEKS] * np.exp(eta[:WEEKS])), x[WEEKS] + eta[WEEKS])
        # blocks of 1,000 replicates instead of the calibration default of 50 (sized for
        # the many-country model): on a three-country toy the engine's per-block cost
        # dominates, and this is four times faster
        post = abc_smc(scenario, population=POPULATION, budget=60_000, seed=seed, workers=1,
                       block_size=1000)
        if not post.converged:
            problems.append(f"seed {seed}: not converged ({post.attrs.get('stop_reason')})")
        if not post.ess >= 0.5 * POPULATION:
            problems.append(f"seed {seed}: ESS {post.ess:.1f} < {0.5 * POPULATION:g} after "
                            f"{len(post.generations)} generations")
        for i, level in enumerate(LEVELS):
            ci = post.interval(level)
            hits[i] += (ci[:, 0] <= truth) & (truth <= ci[:, 1])
        table = posterior_predictive(scenario, post, replicates=200, seed=seed, workers=1)
        z = table.loc[table["target"] == "departures", "z"].to_numpy()
        assert z.size == WEEKS
        series_z.append(z)
        rms = float(np.sqrt(np.mean(z**2)))
        if not rms <= SERIES_RMS_Z:
            problems.append(f"seed {seed}: the predictive median misses the series by an RMS "
                            f"|z| of {rms:.2f}")
    counts = {f"{name} {level:.0%}": int(hits[i, j]) for i, level in enumerate(LEVELS)
              for j, name in enumerate(prior.names)}
    assert not problems, "; ".join(problems) + f" (intervals holding the truth: {counts})"
    pooled = float(np.mean(np.square(series_z)))
    assert pooled <= SERIES_POOLED_Z2, f"mean z² of the series over every seed: {pooled:.2f}"
    for i, level in enumerate(LEVELS):
        for j in range(2):
            p = stats.binomtest(int(hits[i, j]), RECOVERY_SEEDS, level).pvalue
            assert p > COUNT_TEST_LEVEL, (f"of {RECOVERY_SEEDS} seeds, intervals holding the "
                                          f"truth: {counts}")
