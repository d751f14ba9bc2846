"""The machinery every ABC sampler shares: a run, its batches of candidates, a generation.

Every sampler evaluates candidate parameter vectors in **batches**: every round stacks the
candidates (each repeated ``replicates_per_particle`` times) into one parameter matrix and
makes **one** :func:`flowsim.simulate` call, which spreads the blocks of replicates
(:data:`~flowsim.calibration.settings.DEFAULT_CALIBRATION_BLOCK` each) over the worker
processes. Only the engine variables the targets need are recorded, and each block is
reduced to its target observables where it ran (``simulate(..., reduce=)`` with
:func:`_observe`), so a batch costs the sampler a few numbers per candidate and its size is
not limited by memory. One process pool (:func:`flowsim.simulate.local_pool`, or the
caller's ``pool`` or Dask ``client``) is kept for the whole calibration instead of one per
round.

* :class:`_Run`: what one calibration shares (model, prior, targets, streams, workers, the
  count of simulations), built from a :class:`~flowsim.calibration.settings.RunSettings`;
* :class:`_Population`: one generation's accepted particles;
* :func:`_generation`: fill a population from a proposal (:func:`_from_prior`,
  :func:`_from_kernel`) at a tolerance; :func:`_next_epsilon`, the next tolerance;
* :func:`_info` and :func:`_posterior`: a population's diagnostics, and the
  :class:`~flowsim.calibration.posterior.Posterior` it becomes.

Randomness: the seed's ``SeedSequence`` has two children, one for the sampler's own draws
(prior draws, ancestors, perturbations) and one for the simulations; round ``r`` of the run
uses their ``r``-th children (:mod:`flowsim.calibration.streams`). The number of candidates
in each round depends only on earlier results, so a calibration is reproducible bit for bit
for a seed whatever the number of workers.

Used within :mod:`flowsim.calibration` only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import os
from collections.abc import Callable, Sequence
from typing import Any, Self

import numpy as np
from scipy import linalg

from flowsim._version import __version__
from flowsim.calibration.convergence import bound_pileups, convergence_attrs
from flowsim.calibration.distance import ObservationPlan, TargetSet
from flowsim.calibration.kernels import _Kernel
from flowsim.calibration.posterior import (
    GenerationInfo,
    Posterior,
    effective_sample_size,
    weighted_quantile,
)
from flowsim.calibration.priors import JointPrior
from flowsim.calibration.settings import RunSettings
from flowsim.calibration.streams import _child, _rng
from flowsim.core.compile import CompiledModel, compile_scenario
from flowsim.ensemble.blocks import OnArrays, seed_sequence
from flowsim.ensemble.processes import resolve_workers
from flowsim.ensemble.simulation import simulate
from flowsim.ensemble.workers import local_pool
from flowsim.scenario.model import Scenario, Target

_BYTES = 8  # a float64 parameter or observable


@dataclasses.dataclass
class _Population:
    """One generation's accepted particles, and what it took to find them."""

    theta: np.ndarray  # (n, p)
    weights: np.ndarray  # (n,) normalised
    rep_dist: np.ndarray  # (n, k) per-replicate distances
    obs: np.ndarray  # (n, k, M)
    epsilon: float
    proposed: int
    accepted: int
    simulations: int
    rounds: int
    exact: bool = False  # drawn from the error model's posterior itself (no reweighting)
    target_mean: np.ndarray | None = None  # (targets,) mean distance over every simulation
    next_reference: float | None = None  # Σ z² reference for the next likelihood generation


def _observe(arrays: dict[str, np.ndarray], plan: ObservationPlan) -> np.ndarray:
    """The observation matrix ``(replicates, M)`` of one block's recorded arrays.

    The reduction that calibration hands to :func:`flowsim.simulate` (``reduce=``, wrapped
    in :class:`~flowsim.ensemble.blocks.OnArrays`: the raw arrays, no labelled Dataset),
    bound with :func:`functools.partial` so that it pickles: it runs where the block ran,
    and only these few numbers per replicate travel back to the sampler.
    """
    return plan({v: arrays[v] for v in plan.record})


class _Run:
    """What one calibration shares: model, prior, targets, streams, workers and the budget.

    Use it as a context manager: a local process pool (``workers > 1``, no ``client`` and no
    ``pool`` given) is started on entry and kept for every round of the calibration, and
    shut down on exit.
    """

    def __init__(self, scenario: Scenario, targets: Sequence[Target] | None,
                 settings: RunSettings) -> None:
        if isinstance(scenario, str | os.PathLike):
            from flowsim.scenario import load_scenario

            scenario = load_scenario(scenario)
        if not isinstance(scenario, Scenario):
            raise TypeError("calibration needs a Scenario (its targets, groups and priors), "
                            f"not {type(scenario).__name__}")
        self.block_size = settings.block_size
        self.scenario = scenario
        self.model: CompiledModel = compile_scenario(scenario)
        self.prior = JointPrior.from_scenario(scenario, settings.parameters)
        self.targets = TargetSet.build(scenario.targets if targets is None else targets,
                                       scenario, settings.norm)
        self.targets.check_combinable()
        self.record = self.targets.record
        self.reduce = OnArrays(functools.partial(
            _observe, plan=self.targets.plan(self.model, scenario)))
        workers = settings.workers
        self.workers = resolve_workers(workers)
        self.client = settings.client
        self.pool = settings.pool
        self._own_pool: Any = None
        self.k = settings.replicates_per_particle
        # What a batch holds here: each candidate's parameter row and observables (the
        # engine's arrays stay in the workers, one block at a time).
        per_sim = (len(self.model.param_names) + len(self.targets.columns)) * _BYTES
        self.max_sims = max(self.k, int(settings.batch_memory // per_sim))
        self.root = seed_sequence(settings.seed)
        self._own = _child(self.root, 0)
        self._sim = _child(self.root, 1)
        self.round = 0
        self.simulations = 0
        self.stage_note: str | None = None  # how the error model's last stage ended

    def __enter__(self) -> Self:
        if self.pool is None and self.client is None and self.workers > 1:
            self._own_pool = self.pool = local_pool(self.workers)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if self._own_pool is not None:
            self._own_pool.shutdown(wait=exc_type is None, cancel_futures=True)
            self._own_pool = self.pool = None

    def next_round(self) -> tuple[np.random.Generator, np.random.SeedSequence]:
        r = self.round
        self.round += 1
        return _rng(_child(self._own, r)), _child(self._sim, r)

    def evaluate(self, theta: np.ndarray, ss: np.random.SeedSequence
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Simulate each row of ``theta`` ``k`` times in one call.

        The blocks run in the kept pool (or on the Dask client, or here) and return only
        their observables (:func:`_observe`). Returns observables ``(m, k, M)`` and
        distances ``(m, k)``.
        """
        m = theta.shape[0]
        rows = np.repeat(self.prior.full(theta), self.k, axis=0)
        obs = simulate(self.model, replicates=m * self.k, seed=ss, workers=self.workers,
                       params=rows, record=self.record, client=self.client, pool=self.pool,
                       reduce=self.reduce, block_size=self.block_size)
        obs = np.asarray(obs, dtype=float).reshape(m, self.k, -1)
        self.simulations += m * self.k
        return obs, self.targets.distance(obs)

    def attrs(self, method: str) -> dict[str, Any]:
        return {
            "method": method,
            "scenario_name": self.model.name,
            "scenario_hash": self.model.scenario_hash,
            "flowsim_version": __version__,
            "seed_entropy": str(self.root.entropy),
            "seed_spawn_key": ",".join(map(str, self.root.spawn_key)),
            "norm": self.targets.norm,
            "replicates_per_particle": self.k,
            "block_size": self.block_size,
            "targets": ",".join(t.id for t in self.targets.targets),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }


Proposal = Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]]


def _from_prior(run: _Run) -> Proposal:
    def propose(rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
        return run.prior.sample(m, rng), np.zeros(m)

    return propose


def _from_kernel(run: _Run, prev: _Population, kind: str = "beaumont") -> Proposal:
    prior = run.prior
    kernel = _Kernel(prior.to_unconstrained(prev.theta), prev.weights, kind)

    def propose(rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
        zs, ths, lps = [], [], []
        got, tries = 0, 0
        while got < m:
            z = kernel.propose(rng, m - got)
            th = prior.from_unconstrained(z)
            lp = prior.logpdf(th)
            ok = np.isfinite(lp)
            zs.append(z[ok])
            ths.append(th[ok])
            lps.append(lp[ok])
            got += int(ok.sum())
            tries += 1
            if tries > 1000:
                raise RuntimeError("the perturbation kernel keeps leaving the prior's support")
        z, th, lp = np.concatenate(zs), np.concatenate(ths), np.concatenate(lps)
        return th, lp + prior.log_jacobian(z) - kernel.logpdf(z)

    return propose


def _round_size(run: _Run, n_left: int, accepted: int, proposed: int, rate_guess: float,
                margin: float, left: int) -> int:
    """Candidates for a round that should give ``n_left`` more accepted particles: the
    expected need at the acceptance rate seen so far (``rate_guess`` before any), times
    ``1 + margin``, plus 8; at most what memory (``run.max_sims``) and the budget allow."""
    rate = accepted / proposed if accepted > 0 else rate_guess
    m = math.ceil((1.0 + margin) * n_left / max(rate, 1e-6)) + 8
    return max(1, min(m, run.max_sims // run.k, left // run.k))


def _walk_cholesky(z: np.ndarray) -> np.ndarray:
    """The Cholesky factor of a random walk's step covariance from particles ``z`` (n, p):
    ``min(2, 2.38² / p)`` times their covariance (the identity for fewer than two), with a
    jitter of 1e-10 of its mean variance (Metropolis-Hastings moves of ``"mcmc"``)."""
    p = z.shape[1]
    cov = np.atleast_2d(np.cov(z.T, ddof=1)) if z.shape[0] > 1 else np.eye(p)
    cov = min(2.0, 2.38**2 / p) * cov
    cov += 1e-10 * (np.trace(cov) / p if np.trace(cov) > 0 else 1.0) * np.eye(p)
    return linalg.cholesky(cov, lower=True)


def _moves_needed(accepted: int, proposed: int, steps_max: int) -> int:
    """Metropolis-Hastings steps in all after a first with this acceptance: enough for each
    particle to have moved at least once with probability about 0.99, at most
    ``steps_max``."""
    a = accepted / proposed
    return steps_max if a <= 0 else 1 if a >= 1 else min(
        steps_max, max(1, math.ceil(math.log(0.01) / math.log1p(-a))))


#: How a filler judges one round: from its generator, observables ``(m, k, M)`` and distances
#: ``(m, k)``, the candidates accepted and the log of the factor their weights take.
Judge = Callable[[np.random.Generator, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclasses.dataclass
class _Filled:
    """The accepted candidates of a population filled round by round, and what it took."""

    theta: np.ndarray
    weights: np.ndarray  # normalised
    rep_dist: np.ndarray
    obs: np.ndarray
    proposed: int
    accepted: int
    simulations: int
    rounds: int


def _fill(run: _Run, n: int, propose: Proposal, judge: Judge, budget: int,
          size: Callable[[int, int, int, int], int]) -> _Filled | None:
    """Rounds of candidates until ``n`` are accepted; ``None`` if the budget runs out.

    Each round simulates ``size(n_left, accepted, proposed, left)`` candidates from
    ``propose``, which ``judge`` accepts or not; the first ``n_left`` accepted are kept (the
    simulations past them are discarded), weighted ``prior / proposal`` times the judge's
    factor.
    """
    k = run.k
    thetas, logws, dists, obss = [], [], [], []
    n_acc = proposed = accepted = sims = rounds = 0
    while n_acc < n:
        left = budget - run.simulations
        if left < k:
            return None
        m = size(n - n_acc, accepted, proposed, left)
        rng, ss = run.next_round()
        theta, logq = propose(rng, m)
        obs, d = run.evaluate(theta, ss)
        sims += m * k
        proposed += m
        rounds += 1
        ok, log_factor = judge(rng, obs, d)
        accepted += ok.size
        take = slice(0, n - n_acc)
        thetas.append(theta[ok[take]])
        logws.append(logq[ok[take]] + log_factor[take])
        dists.append(d[ok[take]])
        obss.append(obs[ok[take]])
        n_acc += ok[take].size
    logw = np.concatenate(logws)
    w = np.exp(logw - logw.max())
    return _Filled(np.concatenate(thetas), w / w.sum(), np.concatenate(dists),
                   np.concatenate(obss), proposed, accepted, sims, rounds)


def _generation(run: _Run, n: int, propose: Proposal, epsilon: float | None, alpha: float,
                rate_guess: float, budget: int, margin: float = 0.1,
                scales: bool = False) -> _Population | None:
    """Fill one population of ``n`` accepted particles; ``None`` if the budget runs out.

    With ``epsilon=None`` the tolerance is the ``alpha`` quantile of the first round's
    distances (that round then holds ``ceil(n / alpha)`` candidates). Later rounds hold the
    candidates expected to give the accepted particles still missing, at the acceptance rate
    seen so far, times ``1 + margin``, plus 8: a margin saves rounds (each a call of the
    engine) and costs the simulations past the last acceptance, which are discarded.
    With ``scales`` the population also holds each target's mean distance over every
    replicate simulated (accepted or not), the scales of the adaptive distance.
    """
    ts = run.targets
    t_sum = np.zeros(len(ts.targets))
    t_count = np.zeros(len(ts.targets))
    eps = epsilon

    def size(n_left: int, accepted: int, proposed: int, left: int) -> int:
        if eps is None:  # the first round of generation 0
            return max(1, min(math.ceil(n / alpha), run.max_sims // run.k, left // run.k))
        return _round_size(run, n_left, accepted, proposed, rate_guess, margin, left)

    def judge(_: np.random.Generator, obs: np.ndarray, d: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
        nonlocal eps
        if scales:
            td = ts.target_distances(obs).reshape(-1, t_sum.size)
            fin = np.isfinite(td)
            t_sum[:] += np.where(fin, td, 0.0).sum(axis=0)
            t_count[:] += fin.sum(axis=0)
        if eps is None:
            eps = float(np.quantile(d.ravel(), alpha, method="inverted_cdf"))
        frac = ((d <= eps) & np.isfinite(d)).mean(axis=1)
        ok = np.flatnonzero(frac > 0)
        return ok, np.log(frac[ok])

    got = _fill(run, n, propose, judge, budget, size)
    if got is None:
        return None
    return _Population(got.theta, got.weights, got.rep_dist, got.obs, float(eps), got.proposed,
                       got.accepted, got.simulations, got.rounds,
                       target_mean=t_sum / np.maximum(t_count, 1) if scales else None)


#: The adaptive distance's largest ratio of two targets' weights.
MAX_WEIGHT_RATIO = 100.0


def adaptive_weights(target_mean: np.ndarray, ratio: float = MAX_WEIGHT_RATIO) -> np.ndarray:
    """Target weights of the adaptive distance: the inverse of each target's mean distance
    over the last generation's simulations, the smallest means raised to ``1 / ratio`` of
    the largest (a target every simulation met would otherwise weigh infinitely), and
    normalised to a mean of 1.

    >>> adaptive_weights(np.array([0.5, 0.05, 0.0])).round(3).tolist()
    [0.027, 0.27, 2.703]
    """
    m = np.asarray(target_mean, dtype=float)
    top = float(np.max(m, initial=0.0))
    if not top > 0:
        return np.ones_like(m)
    w = 1.0 / np.maximum(m, top / ratio)
    return w / w.mean()


def _rescaled(run: _Run, pop: _Population) -> _Population:
    """Re-weight the targets from ``pop``'s scales (:func:`adaptive_weights`) and restate
    ``pop``'s distances in the new distance: the same particles are within its tolerance,
    which becomes the largest of their new distances."""
    within = (pop.rep_dist <= pop.epsilon) & np.isfinite(pop.rep_dist)
    run.targets = run.targets.with_weights(adaptive_weights(pop.target_mean))
    d = run.targets.distance(pop.obs)
    return dataclasses.replace(pop, rep_dist=np.where(within, d, np.inf),
                               epsilon=float(d[within].max(initial=0.0)))


def _likelihood_generation(run: _Run, n: int, propose: Proposal, reference: float,
                           rate_guess: float, budget: int, epsilon: float,
                           margin: float = 0.1) -> _Population | None:
    """Fill a population of the **error model's posterior** itself; ``None`` on budget.

    A candidate's likelihood ``L = exp(-Σ z² / 2)`` is estimated by the mean over its
    replicates (unbiased, so the target is exact: Wilkinson 2013). It is accepted with
    probability ``min(1, L / L_ref)`` and weighted ``max(1, L / L_ref)`` times ``prior /
    proposal``, with ``L_ref = exp(-reference / 2)``: the product of the two is ``L / L_ref``
    whatever ``L_ref``, which only trades acceptances (a high reference accepts more) against
    unequal weights (those above it are weighted up). No tolerance ball: the population is a
    sample of ``prior × E[L]`` (``epsilon`` is only recorded, as the goal that was reached).
    """
    s_all: list[np.ndarray] = []

    def size(n_left: int, accepted: int, proposed: int, left: int) -> int:
        return _round_size(run, n_left, accepted, proposed, rate_guess, margin, left)

    def judge(rng: np.random.Generator, obs: np.ndarray, _: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
        ll = run.targets.log_likelihood(obs)  # (m, k)
        top = ll.max(axis=1, keepdims=True)
        top = np.where(np.isfinite(top), top, -np.inf)
        with np.errstate(invalid="ignore"):
            log_l = top[:, 0] + np.log(np.exp(ll - top).mean(axis=1))  # log mean over k
        s_all.append(-2.0 * log_l[np.isfinite(log_l)])
        log_r = np.where(np.isfinite(log_l), log_l + 0.5 * reference, -np.inf)
        ok = np.flatnonzero(np.log(rng.random(obs.shape[0])) < np.minimum(log_r, 0.0))
        return ok, np.maximum(log_r[ok], 0.0)

    got = _fill(run, n, propose, judge, budget, size)
    if got is None:
        return None
    s_cand = np.concatenate(s_all)
    return _Population(got.theta, got.weights, got.rep_dist, got.obs, float(epsilon),
                       got.proposed, got.accepted, got.simulations, got.rounds, exact=True,
                       next_reference=float(np.quantile(s_cand, NEXT_REFERENCE))
                       if s_cand.size else reference)


#: The quantile of the candidates' ``Σ z²`` that sets the next likelihood generation's
#: reference: taken from the candidates, not from the accepted particles, whose ``Σ z²`` the
#: acceptance has already tilted low (a reference from them falls from generation to
#: generation and the acceptance rate with it: measured on a two-parameter chain toy, 0.6 %
#: and 54,000 simulations for one generation, against at most 18,000 for a whole calibration
#: with this rule over 50 seeds).
NEXT_REFERENCE = 0.02


def _reference(run: _Run, pop: _Population, share: float = 0.1) -> float:
    """``Σ z²`` at the weighted ``share`` quantile of a population's replicates: the
    reference of :func:`_likelihood_generation` (one in ten candidates like the best tenth
    of the last population is accepted for sure; weights vary at most by the likelihood
    ratio of the rest of that tenth)."""
    s = -2.0 * run.targets.log_likelihood(pop.obs)  # (n, k)
    w = np.repeat(pop.weights[:, None] / s.shape[1], s.shape[1], axis=1)
    ok = np.isfinite(s)
    return float(weighted_quantile(s[ok], w[ok], share))


def _info(pop: _Population, generation: int, total: int, wall: float) -> GenerationInfo:
    dist = np.median(pop.rep_dist, axis=1)
    q = weighted_quantile(dist, pop.weights, [0.1, 0.5, 0.9])
    return GenerationInfo(generation, pop.epsilon, pop.proposed, pop.accepted,
                          pop.accepted / pop.proposed if pop.proposed else 0.0,
                          effective_sample_size(pop.weights), pop.simulations, total,
                          pop.rounds, wall, float(q[0]), float(q[1]), float(q[2]))


def _next_epsilon(pop: _Population, alpha: float) -> float:
    """Weighted ``alpha`` quantile of the accepted replicate distances."""
    within = (pop.rep_dist <= pop.epsilon) & np.isfinite(pop.rep_dist)
    count = within.sum(axis=1, keepdims=True)
    w = np.where(within, pop.weights[:, None] / np.maximum(count, 1), 0.0)
    return float(weighted_quantile(pop.rep_dist[within], w[within], alpha))


def _posterior(run: _Run, pop: _Population, gens: list[GenerationInfo], method: str,
               extra: dict[str, Any], converged: bool, convergence: str) -> Posterior:
    """The posterior of a population, with its provenance and convergence attributes
    (:mod:`flowsim.calibration.convergence`)."""
    ts = run.targets
    attrs = run.attrs(method)
    attrs.update(extra)
    weights = pop.weights
    if ts.errors is not None and pop.exact:
        attrs["weighting"] = (
            "none needed: the last population samples the error model's posterior itself, "
            "prior x E[exp(-sum z^2 / 2)] (flowsim.calibration.likelihood_stage)")
    elif ts.errors is not None:
        weights = _likelihood_weights(ts, pop)
        attrs["weighting"] = (
            "the last population's ABC weights times the error model's likelihood "
            "exp(-sum z^2 / 2) (flowsim.calibration.errors); ESS "
            f"{effective_sample_size(pop.weights):.1f} before, "
            f"{effective_sample_size(weights):.1f} after")
    if run.stage_note is not None:
        attrs["error_model_stage"] = run.stage_note
    # every simulation run, those of a generation the budget cut short included
    attrs["simulations_spent"] = run.simulations
    attrs.update(convergence_attrs(converged, convergence, bound_pileups(
        run.prior.names, pop.theta, weights, run.prior.priors)))
    return Posterior(
        param_names=run.prior.names,
        particles=pop.theta,
        weights=weights,
        distances=np.median(pop.rep_dist, axis=1),
        target_columns=ts.columns,
        target_ids=tuple(ts.targets[i].id for i in ts.column_target),
        target_low=ts.low.copy(),
        target_high=ts.high.copy(),
        observables=pop.obs.mean(axis=1),
        generations=tuple(gens),
        scenario_parameters=run.prior.param_names,
        fixed_values=run.prior.defaults.copy(),
        priors=tuple(p.describe() for p in run.prior.priors),
        attrs=attrs,
    )



def _likelihood_weights(ts: TargetSet, pop: _Population) -> np.ndarray:
    """The population's weights times the error model's likelihood, normalised.

    A particle's ABC weight holds the share of its replicates within the tolerance; its
    likelihood under the error model is estimated by the mean over those replicates of
    ``exp(-Σ z² / 2)`` (:mod:`flowsim.calibration.errors`), so the weight is multiplied by
    that mean over the share (for one replicate per particle: by its ``exp(-Σ z² / 2)``).
    """
    within = (pop.rep_dist <= pop.epsilon) & np.isfinite(pop.rep_dist)  # (n, k)
    ll = ts.log_likelihood(pop.obs)  # (n, k)
    ll = np.where(within, ll, -np.inf)
    top = float(np.max(ll)) if np.isfinite(ll).any() else 0.0
    kern = np.exp(ll - top).sum(axis=1) / np.maximum(within.sum(axis=1), 1)
    w = pop.weights * kern
    total = w.sum()
    if not total > 0:  # pragma: no cover - every accepted replicate has a finite z
        return pop.weights
    return w / total
