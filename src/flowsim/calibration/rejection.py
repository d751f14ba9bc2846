"""Rejection ABC: candidates from the prior, kept when close enough to the targets.

:func:`rejection_abc` simulates ``n`` prior draws in batches (with the machinery of
:mod:`flowsim.calibration.sampler`) and keeps those within a tolerance, given or set as a
quantile of the distances: one generation, no kernel. It is the first generation of
ABC-SMC (:mod:`flowsim.calibration.smc`) on its own, and the reference for it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from flowsim.calibration.distance import Norm
from flowsim.calibration.posterior import Posterior
from flowsim.calibration.sampler import _info, _Population, _posterior, _Run
from flowsim.calibration.settings import (
    DEFAULT_CALIBRATION_BLOCK,
    RunSettings,
    _check_positive_int,
    documents_run_settings,
)
from flowsim.ensemble.blocks import SeedLike
from flowsim.scenario.model import Scenario, Target

__all__ = ["rejection_abc"]


@documents_run_settings
def rejection_abc(
    scenario: Scenario,
    targets: Sequence[Target] | None = None,
    *,
    n: int = 10_000,
    quantile: float | None = None,
    epsilon: float | None = None,
    seed: SeedLike = 1,
    workers: int = 0,
    replicates_per_particle: int = 1,
    norm: Norm = "rms",
    parameters: Sequence[str] | None = None,
    batch_memory: float = 2**30,
    client: Any = None,
    pool: Any = None,
    block_size: int = DEFAULT_CALIBRATION_BLOCK,
) -> Posterior:
    """Plain rejection ABC: ``n`` prior draws, keep those close enough to the targets.

    Parameters
    ----------
    scenario : Scenario
    targets : sequence of Target, optional
        Default: the scenario's targets.
    n : int
        Prior draws (candidates) to simulate.
    quantile : float, optional
        Keep this fraction of the candidates: the tolerance is the ``quantile`` quantile of
        the distances (default 0.1 when neither ``quantile`` nor ``epsilon`` is given).
    epsilon : float, optional
        Keep the candidates with distance ``<= epsilon``.
    {run settings}

    Returns
    -------
    Posterior
        One generation; equal weights when ``replicates_per_particle`` is 1.
    """
    n = _check_positive_int("n", n)
    if quantile is not None and epsilon is not None:
        raise ValueError("give quantile or epsilon, not both")
    if quantile is None and epsilon is None:
        quantile = 0.1
    if quantile is not None and not 0 < quantile <= 1:
        raise ValueError(f"quantile must be in (0, 1], got {quantile}")
    if epsilon is not None and not epsilon >= 0:
        raise ValueError(f"epsilon must be >= 0, got {epsilon}")
    settings = RunSettings(seed=seed, workers=workers,
                           replicates_per_particle=replicates_per_particle, norm=norm,
                           parameters=parameters, batch_memory=batch_memory, client=client,
                           pool=pool, block_size=block_size)
    run = _Run(scenario, targets, settings)
    t0 = time.perf_counter()
    thetas, dists, obss = [], [], []
    done = 0
    with run:
        while done < n:
            m = min(n - done, max(1, run.max_sims // run.k))
            rng, ss = run.next_round()
            theta = run.prior.sample(m, rng)
            obs, d = run.evaluate(theta, ss)
            thetas.append(theta)
            dists.append(d)
            obss.append(obs)
            done += m
    theta, d, obs = np.concatenate(thetas), np.concatenate(dists), np.concatenate(obss)
    eps = float(np.quantile(d.ravel(), quantile, method="inverted_cdf")) if epsilon is None \
        else float(epsilon)
    within = (d <= eps) & np.isfinite(d)
    frac = within.mean(axis=1)
    ok = np.flatnonzero(frac > 0)
    if ok.size == 0:
        raise ValueError(f"no candidate came within epsilon={eps:g} of the targets; "
                         "raise epsilon or use quantile=")
    w = frac[ok] / frac[ok].sum()
    pop = _Population(theta[ok], w, d[ok], obs[ok], eps, n, int(ok.size), n * run.k, run.round)
    info = _info(pop, 0, run.simulations, time.perf_counter() - t0)
    # a given tolerance is met by construction; a quantile's is a tolerance only when it
    # is 0, every kept particle meeting every target
    if epsilon is not None:
        converged, why = True, f"every kept particle is within the tolerance ε = {eps:g} given"
    elif eps <= run.targets.goal:
        converged, why = True, ("every kept particle meets every target (ε = 0)"
                                if run.targets.errors is None else
                                f"every kept particle is within ε = {eps:.4g} ≤ the goal "
                                f"{run.targets.goal:.4g} of the error models")
    else:
        converged, why = False, (f"the {quantile:g} quantile of the distances is ε = {eps:.4g}"
                                 f" > {run.targets.goal:.4g}: not every target is met")
    return _posterior(run, pop, [info], "rejection",
                      {"stop_reason": "single generation", "quantile": quantile},
                      converged, why)

