"""ABC-SMC: populations at falling tolerances, by importance weights or by MCMC moves.

:func:`abc_smc` (also available as :func:`calibrate`) is the calibration of flowsim.

Population Monte Carlo ABC (Beaumont et al. 2009, with an adaptive tolerance, Del Moral et
al. 2012) in this implementation (:func:`_smc_pmc`, ``method="pmc"``, the default):

* **Generation 0** is rejection ABC from the prior: ``ceil(population / alpha)`` prior draws
  are simulated and the tolerance ``eps_0`` is the ``alpha`` quantile of their distances.
* **Tolerance schedule**: ``eps_t = max(min_epsilon, q_alpha)``, where ``q_alpha`` is the
  weighted ``alpha`` quantile (default: the median) of the accepted distances of
  generation ``t - 1``.
* **Kernel**: a multivariate normal random walk whose covariance is **twice the weighted
  covariance** of the previous population (Beaumont et al. 2009; it minimises the
  Kullback-Leibler divergence between the kernel-smoothed population and the next target
  for Gaussian-like posteriors), or with ``kernel="silverman"`` that covariance times
  Silverman's squared bandwidth, narrower (:mod:`flowsim.calibration.kernels`). It acts in an **unconstrained space**: ``logit`` for
  parameters whose prior has a bounded support (on the log scale for ``loguniform``
  priors), ``log`` for half-bounded ones, identity otherwise, so proposals never leave the
  prior's support and rates spanning decades are explored in proportion.
* **Weights**: ``w ∝ π(θ) |dθ/dz| / Σ_j w_j K(z | z_j)``: the prior density carried to the
  unconstrained space ``z`` by its Jacobian, over the kernel mixture density there. (The
  ratio equals the importance weight computed in the original space, so the posterior is
  unchanged by the transformation.)
* **Replicates per particle**: with ``k > 1`` a candidate is accepted when at least one of
  its ``k`` replicates is within the tolerance and its weight is multiplied by the fraction
  that are. This estimate of the ABC likelihood is unbiased, so the target is the same ABC
  posterior as with ``k = 1``, with less variance in the weights.
* **Stopping**: after a generation whose tolerance is ``<= min_epsilon`` (by default the
  targets' goal: zero for ranges, every target met, see :mod:`flowsim.calibration.distance`;
  for error models the radius within which every observation is within its error, after
  which the population is reweighted by the error model's likelihood, see
  :mod:`flowsim.calibration.errors`); when the tolerance no longer
  decreases; after ``generations_max`` generations; when the acceptance rate falls below
  ``min_acceptance``; or when the simulation ``budget`` cannot complete another generation
  (the incomplete generation is discarded and the last complete one returned).

**Many parameters**: the importance weights above degenerate when the targets leave many
parameters uninformed (the kernel mixture is wider than the prior in each such direction and
the mismatch multiplies); ``abc_smc(..., method="mcmc")`` then replaces the weighting by
replenishment with Metropolis-Hastings moves (Drovandi & Pettitt 2011; see
:func:`_smc_mcmc`), with the same tolerance schedule, batching and stopping rules.

Both methods evaluate their candidates in batches, with the machinery (and the random
streams) of :mod:`flowsim.calibration.sampler`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from flowsim.calibration.distance import Norm
from flowsim.calibration.kernels import KERNELS
from flowsim.calibration.likelihood_stage import error_model_moves, error_model_stage
from flowsim.calibration.posterior import GenerationInfo, Posterior
from flowsim.calibration.sampler import (
    _from_kernel,
    _from_prior,
    _generation,
    _info,
    _moves_needed,
    _next_epsilon,
    _Population,
    _posterior,
    _rescaled,
    _Run,
    _walk_cholesky,
)
from flowsim.calibration.settings import (
    DEFAULT_CALIBRATION_BLOCK,
    RunSettings,
    _check_positive_int,
    documents_run_settings,
)
from flowsim.calibration.streams import _child
from flowsim.ensemble.blocks import SeedLike
from flowsim.scenario.model import Scenario, Target

__all__ = ["abc_smc", "calibrate"]


@documents_run_settings
def abc_smc(
    scenario: Scenario,
    targets: Sequence[Target] | None = None,
    *,
    population: int = 1000,
    budget: int = 200_000,
    min_epsilon: float | None = None,
    generations_max: int = 20,
    alpha: float = 0.5,
    min_acceptance: float = 0.0,
    seed: SeedLike = 1,
    workers: int = 0,
    replicates_per_particle: int = 1,
    norm: Norm = "rms",
    parameters: Sequence[str] | None = None,
    batch_memory: float = 2**30,
    client: Any = None,
    pool: Any = None,
    block_size: int = DEFAULT_CALIBRATION_BLOCK,
    method: Literal["pmc", "mcmc"] = "pmc",
    mcmc_steps_max: int = 50,
    final_moves: int | None = None,
    kernel: Literal["beaumont", "silverman"] = "beaumont",
    round_margin: float = 0.1,
    distance: Literal["fixed", "adaptive"] = "fixed",
    progress: Callable[[GenerationInfo], None] | None = None,
) -> Posterior:
    """Calibrate a scenario's parameters to its targets by ABC-SMC (see the module doc).

    Parameters
    ----------
    scenario : Scenario
        Parameters with a prior are estimated; the others keep their values.
    targets : sequence of Target, optional
        Default: the scenario's targets.
    population : int
        Accepted particles per generation.
    budget : int
        The most simulated replicates (candidates × ``replicates_per_particle``) in all.
    min_epsilon : float, optional
        Stop after a generation with a tolerance at or below this. Default: the targets'
        goal (:attr:`TargetSet.goal <flowsim.calibration.TargetSet.goal>`): 0 for ranges
        (every target met), and for error models the radius within which every
        observation is within its error (:func:`flowsim.calibration.errors.goal_epsilon`).
    generations_max : int
        Stop after this many generations (generation 0 included).
    alpha : float
        Quantile of the previous distances that sets the next tolerance (0 < alpha < 1).
    min_acceptance : float
        Stop when a generation's acceptance rate falls below this.
    {run settings}
    method : {"pmc", "mcmc"}
        ``"pmc"``: importance-weighted populations from the kernel mixture (the module doc).
        ``"mcmc"``: replenishment with Metropolis-Hastings moves (Drovandi & Pettitt 2011),
        equal weights; use it with **many parameters** (more than about ten), where the
        importance weights of ``"pmc"`` degenerate (see :func:`_smc_mcmc`). Needs
        ``replicates_per_particle=1``.
    mcmc_steps_max : int
        ``"mcmc"`` only: the most Metropolis-Hastings steps per generation.
    final_moves : int, optional
        ``"mcmc"`` with error models only: the pseudo-marginal steps of the last stage, which
        samples the error model's posterior itself
        (:func:`~flowsim.calibration.likelihood_stage.error_model_moves`). Default: as many
        as the replenishment generations make (each particle moved at least once with
        probability about 0.99, at most ``mcmc_steps_max``). More steps mix the population
        further, at up to ``population`` simulations a step; ``attrs["error_model_stage"]``
        says how often each particle moved.
    kernel : {"beaumont", "silverman"}
        ``"pmc"`` only: the perturbation kernel's covariance, twice the population's
        weighted covariance (``"beaumont"``) or that covariance times Silverman's squared
        bandwidth (``"silverman"``, narrower: fewer simulations where the posterior is
        well identified; see :mod:`flowsim.calibration.kernels`).
    round_margin : float
        How many more candidates than expected to be needed a round of a generation
        simulates (a share, >= 0): 0.1 by default; 0 takes the fewest simulations and more
        rounds (calls of the engine).
    distance : {"fixed", "adaptive"}
        ``"pmc"`` with range targets only: ``"adaptive"`` weights each target's distance by
        the inverse of its mean distance over the last generation's simulations (as pyabc's
        adaptive p-norm distance; :func:`~flowsim.calibration.sampler.adaptive_weights`),
        so that a target far from its figure everywhere does not drown the others. The
        posterior at tolerance 0 is the same; each generation's ε is on its own scale.
    progress : callable, optional
        Called with the :class:`GenerationInfo` of each completed generation.

    Returns
    -------
    Posterior
        The last complete generation; ``attrs["stop_reason"]`` says why it stopped.
    """
    population = _check_positive_int("population", population)
    budget = _check_positive_int("budget", budget)
    generations_max = _check_positive_int("generations_max", generations_max)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    if min_epsilon is not None and not min_epsilon >= 0:
        raise ValueError(f"min_epsilon must be >= 0, got {min_epsilon}")
    if method not in ("pmc", "mcmc"):
        raise ValueError(f"unknown method {method!r}; choose 'pmc' or 'mcmc'")
    mcmc_steps_max = _check_positive_int("mcmc_steps_max", mcmc_steps_max)
    if final_moves is not None:
        final_moves = _check_positive_int("final_moves", final_moves)
        if method != "mcmc":
            raise ValueError("final_moves applies to method='mcmc': method='pmc' ends with "
                             "generations drawn from the posterior, not with moves")
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}")
    if method == "mcmc" and kernel != "beaumont":
        raise ValueError("kernel applies to method='pmc'; method='mcmc' moves its particles "
                         "by Metropolis-Hastings steps of its own")
    if distance not in ("fixed", "adaptive"):
        raise ValueError(f"unknown distance {distance!r}; choose 'fixed' or 'adaptive'")
    if not (isinstance(round_margin, int | float) and 0 <= round_margin < math.inf):
        raise ValueError(f"round_margin must be a number >= 0, got {round_margin!r}")
    settings = RunSettings(seed=seed, workers=workers,
                           replicates_per_particle=replicates_per_particle, norm=norm,
                           parameters=parameters, batch_memory=batch_memory, client=client,
                           pool=pool, block_size=block_size)
    run = _Run(scenario, targets, settings)
    errors = run.targets.errors is not None
    if distance == "adaptive" and (errors or method == "mcmc"):
        raise ValueError("distance='adaptive' is for method='pmc' with range targets: an "
                         "error model's distance is already in sds of each figure's error")
    if final_moves is not None and not errors:
        raise ValueError("final_moves applies to targets with error models: with ranges the "
                         "calibration ends at the tolerance, without a stage of moves")
    if min_epsilon is None:
        min_epsilon = run.targets.goal
    if method == "mcmc" and run.k != 1:
        raise ValueError("method='mcmc' needs replicates_per_particle=1")
    first = math.ceil(population / alpha) * run.k
    if budget < first:
        raise ValueError(f"a budget of {budget} simulations cannot complete the first "
                         f"generation, which needs {first} (population / alpha × "
                         "replicates_per_particle)")
    settings = {"alpha": alpha, "budget": budget, "min_epsilon": min_epsilon}
    if method == "mcmc":
        with run:
            pop, gens, reason = _smc_mcmc(run, population, alpha, min_epsilon,
                                          generations_max, min_acceptance, budget,
                                          mcmc_steps_max, progress)
            if reason == "tolerance reached" and errors:  # the posterior itself
                pop = error_model_moves(run, pop, gens, budget, mcmc_steps_max, progress,
                                        final_moves)
        # the default's attributes are those of earlier versions
        moves = {} if final_moves is None else {"final_moves": final_moves}
        return _posterior(run, pop, gens, "abc-smc-mcmc", {
            "stop_reason": reason, **settings, "mcmc_steps_max": mcmc_steps_max, **moves,
            "kernel": "random-walk Metropolis-Hastings in the unconstrained space, covariance "
                      "min(2, 2.38^2/p) x the survivors' covariance (replenishment, Drovandi "
                      "& Pettitt 2011)"}, *_verdict(reason, pop.epsilon, min_epsilon, errors))
    with run:
        pop, gens, reason = _smc_pmc(run, population, alpha, min_epsilon, generations_max,
                                     min_acceptance, budget, progress, kernel,
                                     float(round_margin), distance == "adaptive")
    extra = {"stop_reason": reason, **settings, "kernel": _KERNEL_NAMES[kernel]}
    if distance == "adaptive":
        ts = run.targets  # unweighted only if it stopped after generation 0
        weights = ts.target_weights if ts.target_weights is not None else np.ones(len(ts.targets))
        extra["distance"] = ("adaptive: each target's distance weighted by the inverse of its "
                             "mean over the last generation's simulations; final weights "
                             + ", ".join(f"{t.id} {w:.3g}"
                                         for t, w in zip(ts.targets, weights, strict=True)))
    if round_margin != 0.1:  # the default's attributes are those of earlier versions
        extra["round_margin"] = float(round_margin)
    return _posterior(run, pop, gens, "abc-smc", extra,
                      *_verdict(reason, pop.epsilon, min_epsilon, errors))


_KERNEL_NAMES = {
    "beaumont": "multivariate normal, 2x weighted covariance, unconstrained space",
    "silverman": "multivariate normal, weighted covariance x Silverman's squared bandwidth, "
                 "unconstrained space",
}


def _verdict(reason: str, epsilon: float, min_epsilon: float,
             errors: bool = False) -> tuple[bool, str]:
    """Converged, and why (:mod:`flowsim.calibration.convergence`).

    Only "tolerance reached" converges. In particular a ``"mcmc"`` run whose budget ran out
    during the moves of a generation at ``min_epsilon`` did not: some of its particles are
    still unmoved copies, so the population is not yet a sample of the posterior.
    """
    if errors:
        goal = (f"ε ≤ {min_epsilon:.4g}: every observation within its error (the ball that "
                "holds 99.9 % of the error model's mass)")
    else:
        goal = "every target met" if min_epsilon == 0 else f"min_epsilon {min_epsilon:g}"
    if reason == "tolerance reached":
        return True, f"tolerance reached: ε = {epsilon:.4g} ({goal})"
    return False, f"{reason} at ε = {epsilon:.4g}, short of the goal ({goal})"


def _smc_pmc(run: _Run, population: int, alpha: float, min_epsilon: float,
             generations_max: int, min_acceptance: float, budget: int,
             progress: Callable[[GenerationInfo], None] | None, kernel: str = "beaumont",
             margin: float = 0.1, adaptive: bool = False
             ) -> tuple[_Population, list[GenerationInfo], str]:
    """ABC-SMC by population Monte Carlo (importance weights; see the module doc)."""
    gens: list[GenerationInfo] = []
    pop: _Population | None = None
    epsilon: float | None = None
    reason = "generations_max reached"
    for t in range(generations_max):
        t0 = time.perf_counter()
        if pop is None:
            new = _generation(run, population, _from_prior(run), None, alpha, 1.0, budget,
                              scales=adaptive)
        else:
            prev_rate = gens[-1].acceptance_rate
            new = _generation(run, population, _from_kernel(run, pop, kernel), epsilon,
                              alpha, prev_rate, budget, margin, scales=adaptive)
        if new is None:
            reason = "budget exhausted"
            break
        pop = new
        info = _info(pop, t, run.simulations, time.perf_counter() - t0)
        gens.append(info)
        if progress is not None:
            progress(info)
        if pop.epsilon <= min_epsilon:
            reason = "tolerance reached"
            break
        if info.acceptance_rate < min_acceptance:
            reason = "acceptance rate below min_acceptance"
            break
        if adaptive:  # the next generation's distance, from this one's simulations
            pop = _rescaled(run, pop)
        nxt = max(min_epsilon, _next_epsilon(pop, alpha))
        if not nxt < pop.epsilon:
            reason = "tolerance no longer decreases"
            break
        epsilon = nxt
    if pop is None:  # pragma: no cover - excluded by the budget check of abc_smc
        raise RuntimeError("no generation completed")
    if reason == "tolerance reached" and run.targets.errors is not None:
        pop = error_model_stage(run, pop, gens, population, budget, progress, kernel,
                                margin)  # from the goal's ball to the posterior itself
    return pop, gens, reason


def _smc_mcmc(run: _Run, n: int, alpha: float, min_epsilon: float, generations_max: int,
              min_acceptance: float, budget: int, steps_max: int,
              progress: Callable[[GenerationInfo], None] | None
              ) -> tuple[_Population, list[GenerationInfo], str]:
    """ABC-SMC by replenishment (Drovandi & Pettitt 2011), in batches.

    Why it exists: the importance weights of the ``"pmc"`` sampler are ``prior / mixture``,
    and in every direction the targets do not inform the kernel mixture is wider than the
    prior (it is the prior convolved with the kernel); the mismatch multiplies over those
    directions. Measured on the binomial toy with extra parameters that no target informs
    (population 1000): effective sample size about 200 with 5 such parameters, 10 with 20,
    2 with 60. Here particles keep equal weights and move by Metropolis-Hastings, which
    needs no density of the proposal mixture.

    Generation 0 is the rejection step of ``"pmc"``. Then, each generation:

    1. ``eps_t = max(min_epsilon, alpha quantile of the distances)``; the particles beyond
       it are dropped and replaced by copies of survivors drawn uniformly;
    2. the copies move by random-walk Metropolis-Hastings in the unconstrained space
       (Gaussian steps with covariance ``min(2, 2.38² / p)`` times the survivors'
       covariance) targeting ``prior × 1(distance <= eps_t)``: a step passes the prior
       ratio test first (early rejection: those that fail are not simulated), then all
       candidates that passed are simulated in one call and kept if within ``eps_t``;
    3. after a first step with acceptance rate ``a`` the generation makes
       ``R = ceil(log 0.01 / log(1 - a))`` steps in all (at most ``steps_max``), so that
       each copy has moved at least once with probability about 0.99.

    A budget that runs out during the moves leaves a valid population (every particle
    within ``eps_t``, some still copies), which is returned. ``GenerationInfo.ess`` is here
    the number of distinct particles; ``acceptance_rate`` that of the moves.
    """
    prior = run.prior
    p = prior.dim
    t0 = time.perf_counter()
    pop = _generation(run, n, _from_prior(run), None, alpha, 1.0, budget)
    if pop is None:  # pragma: no cover - excluded by the budget check of abc_smc
        raise RuntimeError("the first generation did not complete")
    info = _info(pop, 0, run.simulations, time.perf_counter() - t0)
    gens = [info]
    if progress is not None:
        progress(info)
    if pop.epsilon <= min_epsilon:
        return pop, gens, "tolerance reached"
    theta = pop.theta.copy()
    z = prior.to_unconstrained(theta)
    lp = prior.logpdf(theta) + prior.log_jacobian(z)
    d = pop.rep_dist[:, 0].copy()
    obs = pop.obs[:, 0].copy()
    reason = "generations_max reached"
    for t in range(1, generations_max):
        t0 = time.perf_counter()
        eps = max(min_epsilon, float(np.quantile(d, alpha, method="inverted_cdf")))
        if not eps < pop.epsilon:
            reason = "tolerance no longer decreases"
            break
        rng, _ = run.next_round()
        keep, drop = np.flatnonzero(d <= eps), np.flatnonzero(d > eps)
        src = keep[rng.integers(keep.size, size=drop.size)]
        for arr in (theta, z, lp, d, obs):
            arr[drop] = arr[src]
        chol = _walk_cholesky(z[keep])
        proposed = accepted = sims = rounds = 0
        steps, out_of_budget = steps_max, False
        step = 0
        while step < steps and drop.size:
            rng, ss = run.next_round()
            zp = z[drop] + rng.standard_normal((drop.size, p)) @ chol.T
            thp = prior.from_unconstrained(zp)
            lpp = prior.logpdf(thp) + prior.log_jacobian(zp)
            log_u = np.log(rng.random(drop.size))
            cand = np.flatnonzero(np.isfinite(lpp) & (log_u < lpp - lp[drop]))
            if run.simulations + cand.size > budget:
                out_of_budget = True
                break
            for j, lo in enumerate(range(0, cand.size, max(1, run.max_sims))):
                chunk = cand[lo:lo + run.max_sims]
                o, dc = run.evaluate(thp[chunk], _child(ss, j))
                ok = np.isfinite(dc[:, 0]) & (dc[:, 0] <= eps)
                moved = chunk[ok]
                idx = drop[moved]
                theta[idx], z[idx], lp[idx] = thp[moved], zp[moved], lpp[moved]
                d[idx], obs[idx] = dc[ok, 0], o[ok, 0]
                accepted += int(ok.sum())
            proposed += drop.size
            sims += cand.size
            rounds += 1
            step += 1
            if step == 1:
                steps = _moves_needed(accepted, proposed, steps_max)
        pop = _Population(theta.copy(), np.full(n, 1.0 / n), d[:, None].copy(),
                          obs[:, None].copy(), eps, proposed, accepted, sims, rounds)
        info = _info(pop, t, run.simulations, time.perf_counter() - t0)
        info = dataclasses.replace(info, ess=float(np.unique(theta, axis=0).shape[0]))
        gens.append(info)
        if progress is not None:
            progress(info)
        if out_of_budget:
            reason = "budget exhausted"
            break
        if eps <= min_epsilon:
            reason = "tolerance reached"
            break
        if proposed and info.acceptance_rate < min_acceptance:
            reason = "acceptance rate below min_acceptance"
            break
    return pop, gens, reason


#: Another name of :func:`abc_smc`, the calibration of flowsim.
calibrate = abc_smc
