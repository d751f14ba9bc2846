"""The last stage of a calibration under error models: from the goal's ball to the posterior.

ABC-SMC lowers its tolerance to the goal (:func:`~flowsim.calibration.errors.goal_epsilon`,
the ball holding 99.9 % of the error model's mass). The posterior under the error model is
``prior × E[L]`` with ``L = exp(-Σ z² / 2)`` (Wilkinson 2013). Reweighting the ball's
population by ``L`` reaches it exactly, but with many observations the weights degenerate:
measured on the Russian baseline (23 columns, replenishment sampler), an effective sample of
19 particles of 400. So both samplers end with a stage that samples the posterior itself:

* ``"pmc"`` (:func:`error_model_stage`): up to :data:`LIKELIHOOD_GENERATIONS` generations
  drawn from the kernel around the last one, each candidate accepted with probability
  ``min(1, L / L_ref)`` and weighted ``max(1, L / L_ref)`` times ``prior / proposal``
  (:func:`~flowsim.calibration.sampler._likelihood_generation`), until the effective sample
  is at least half the population. ``L_ref`` is the likelihood at the best tenth of the
  ball's population, then at the best 2 % of the previous generation's candidates
  (:data:`~flowsim.calibration.sampler.NEXT_REFERENCE`);
* ``"mcmc"`` (:func:`error_model_moves`): the ball's population is resampled by ``L`` and
  every particle moves by **pseudo-marginal** Metropolis-Hastings (Andrieu & Roberts 2009)
  targeting ``prior × L``: a move to ``θ'`` simulates once, estimates ``L'``, and is
  accepted with probability ``min(1, π(θ') L' / (π(θ) L))``, the current particle keeping
  its own estimate. Because the estimate is unbiased, the chain leaves the exact posterior
  invariant. By default it makes as many steps as the replenishment generations do (each
  particle moved at least once with probability about 0.99, at most ``steps_max``); given
  ``moves``, exactly that many, so that the population mixes further.

If the budget cannot complete the stage, what it reached is returned: for ``"pmc"`` the
reweighted ball (the earlier method), for ``"mcmc"`` the resampled population with the moves
made so far. Used within :mod:`flowsim.calibration` only.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

from flowsim.calibration.posterior import GenerationInfo
from flowsim.calibration.sampler import (
    _from_kernel,
    _info,
    _likelihood_generation,
    _likelihood_weights,
    _moves_needed,
    _Population,
    _reference,
    _Run,
    _walk_cholesky,
)
from flowsim.calibration.streams import _child

__all__ = ["LIKELIHOOD_GENERATIONS", "error_model_moves", "error_model_stage"]

#: Generations drawn from the error model's posterior at most (``"pmc"``).
LIKELIHOOD_GENERATIONS = 3

Progress = Callable[[GenerationInfo], None] | None


def error_model_stage(run: _Run, pop: _Population, gens: list[GenerationInfo], n: int,
                      budget: int, progress: Progress, kernel: str,
                      margin: float) -> _Population:
    """``"pmc"``: generations accepted by the likelihood (module doc); appends their info."""
    for done in range(LIKELIHOOD_GENERATIONS):  # done: the generations completed so far
        t0 = time.perf_counter()
        ref = pop.next_reference if pop.next_reference is not None else _reference(run, pop)
        new = _likelihood_generation(run, n, _from_kernel(run, pop, kernel), ref,
                                     gens[-1].acceptance_rate, budget, pop.epsilon, margin)
        if new is None:
            run.stage_note = (f"the budget stopped the last stage after {done} of up to "
                              f"{LIKELIHOOD_GENERATIONS} generations"
                              + ("" if done else ": the ball's population reweighted instead"))
            break
        pop = new
        info = _info(pop, len(gens), run.simulations, time.perf_counter() - t0)
        gens.append(info)
        if progress is not None:
            progress(info)
        if info.ess >= 0.5 * n:
            run.stage_note = (f"{done + 1} generation{'s' if done else ''} from the posterior "
                              f"itself, effective sample {info.ess:.0f} of {n}")
            break
    else:
        run.stage_note = (f"{LIKELIHOOD_GENERATIONS} generations from the posterior itself, "
                          f"effective sample {gens[-1].ess:.0f} of {n}, short of half")
    return pop


def error_model_moves(run: _Run, pop: _Population, gens: list[GenerationInfo], budget: int,
                      steps_max: int, progress: Progress,
                      moves: int | None = None) -> _Population:
    """``"mcmc"``: resample by the likelihood, then pseudo-marginal moves (module doc).

    ``moves``: the number of steps; default: as the replenishment generations choose it."""
    t0 = time.perf_counter()
    prior, ts = run.prior, run.targets
    n, p = pop.theta.shape
    rng, _ = run.next_round()
    # resample the ball's particles by their likelihood (systematic: the least added noise)
    w = _likelihood_weights(ts, pop)
    idx = np.minimum(np.searchsorted(np.cumsum(w), (rng.random() + np.arange(n)) / n), n - 1)
    theta = pop.theta[idx].copy()
    z = prior.to_unconstrained(theta)
    lp = prior.logpdf(theta) + prior.log_jacobian(z)
    obs = pop.obs[idx, 0].copy()
    d = pop.rep_dist[idx, 0].copy()
    ll = ts.log_likelihood(obs)
    chol = _walk_cholesky(z[np.unique(idx)])
    proposed = accepted = sims = rounds = 0
    times_moved = np.zeros(n, dtype=np.int64)  # per particle: how far the population mixed
    steps, step = (steps_max if moves is None else moves), 0
    while step < steps:
        rng, ss = run.next_round()
        zp = z + rng.standard_normal((n, p)) @ chol.T
        thp = prior.from_unconstrained(zp)
        lpp = prior.logpdf(thp) + prior.log_jacobian(zp)
        log_u = np.log(rng.random(n))
        # early rejection: a move the prior alone refuses (the likelihood is at most 1 times
        # the current one's inverse) is not simulated
        cand = np.flatnonzero(np.isfinite(lpp) & (log_u < lpp - lp - ll))
        if run.simulations + cand.size > budget:
            run.stage_note = (f"the budget stopped the pseudo-marginal moves after {step} of "
                              f"{steps} steps")
            break
        for j, lo in enumerate(range(0, cand.size, max(1, run.max_sims))):
            chunk = cand[lo:lo + run.max_sims]
            o, dc = run.evaluate(thp[chunk], _child(ss, j))
            llc = ts.log_likelihood(o[:, 0])
            ok = np.isfinite(llc) & (log_u[chunk] < lpp[chunk] + llc - lp[chunk] - ll[chunk])
            moved = chunk[ok]
            theta[moved], z[moved], lp[moved], ll[moved] = thp[moved], zp[moved], lpp[moved], \
                llc[ok]
            d[moved], obs[moved] = dc[ok, 0], o[ok, 0]
            times_moved[moved] += 1
            accepted += int(ok.sum())
        proposed += n
        sims += cand.size
        rounds += 1
        step += 1
        if step == 1 and moves is None:
            steps = _moves_needed(accepted, proposed, steps_max)
    else:
        run.stage_note = (f"{step} pseudo-marginal steps, acceptance "
                          f"{accepted / max(proposed, 1):.1%}; each particle moved "
                          f"{times_moved.mean():.1f} times on average, "
                          f"{(times_moved == 0).mean():.0%} never")
    new = _Population(theta, np.full(n, 1.0 / n), d[:, None], obs[:, None], pop.epsilon,
                      proposed, accepted, sims, rounds, exact=True)
    info = _info(new, len(gens), run.simulations, time.perf_counter() - t0)
    info = dataclasses.replace(info, ess=float(np.unique(theta, axis=0).shape[0]))
    gens.append(info)
    if progress is not None:
        progress(info)
    return new
