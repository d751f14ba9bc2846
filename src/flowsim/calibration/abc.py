"""Approximate Bayesian computation: the joint prior, rejection ABC and ABC-SMC.

Both samplers evaluate candidate parameter vectors in **batches**: every round stacks the
candidates (each repeated ``replicates_per_particle`` times) into one parameter matrix and
makes **one** :func:`flowsim.simulate` call, which spreads the blocks of replicates
(:data:`DEFAULT_CALIBRATION_BLOCK` each) over the worker processes. Only the engine
variables the targets need are recorded, and each block is reduced to its target
observables where it ran (``simulate(..., reduce=)`` with :func:`_observe`), so a batch
costs the sampler a few numbers per candidate and its size is not limited by memory. One
process pool (:func:`flowsim.simulate.local_pool`, or the caller's ``pool`` or Dask
``client``) is kept for the whole calibration instead of one per round.

ABC-SMC (population Monte Carlo ABC, Beaumont et al. 2009, with an adaptive tolerance,
Del Moral et al. 2012) in this implementation:

* **Generation 0** is rejection ABC from the prior: ``ceil(population / alpha)`` prior draws
  are simulated and the tolerance ``eps_0`` is the ``alpha`` quantile of their distances.
* **Tolerance schedule**: ``eps_t = max(min_epsilon, q_alpha)``, where ``q_alpha`` is the
  weighted ``alpha`` quantile (default: the median) of the accepted distances of
  generation ``t - 1``.
* **Kernel**: a multivariate normal random walk whose covariance is **twice the weighted
  covariance** of the previous population (Beaumont et al. 2009; it minimises the
  Kullback-Leibler divergence between the kernel-smoothed population and the next target
  for Gaussian-like posteriors). It acts in an **unconstrained space**: ``logit`` for
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
* **Stopping**: after a generation whose tolerance is ``<= min_epsilon`` (zero by default:
  every target met, see :mod:`flowsim.calibration.distance`); when the tolerance no longer
  decreases; after ``generations_max`` generations; when the acceptance rate falls below
  ``min_acceptance``; or when the simulation ``budget`` cannot complete another generation
  (the incomplete generation is discarded and the last complete one returned).

**Many parameters**: the importance weights above degenerate when the targets leave many
parameters uninformed (the kernel mixture is wider than the prior in each such direction and
the mismatch multiplies); ``abc_smc(..., method="mcmc")`` then replaces the weighting by
replenishment with Metropolis-Hastings moves (Drovandi & Pettitt 2011; see
:func:`_smc_mcmc`), with the same tolerance schedule, batching and stopping rules.

Randomness: the seed's ``SeedSequence`` has two children, one for the sampler's own draws
(prior draws, ancestors, perturbations) and one for the simulations; round ``r`` of the run
uses their ``r``-th children. The number of candidates in each round depends only on
earlier results, so a calibration is reproducible bit for bit for a seed whatever the
number of workers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
from scipy import linalg, special

from flowsim._version import __version__
from flowsim.calibration.distance import Norm, ObservationPlan, TargetSet
from flowsim.core.compile import CompiledModel, compile_scenario
from flowsim.ensemble.blocks import ParamRows, SeedLike, seed_sequence
from flowsim.ensemble.simulation import simulate
from flowsim.ensemble.workers import local_pool
from flowsim.scenario.model import Prior, Scenario, Target

__all__ = [
    "GenerationInfo",
    "JointPrior",
    "Posterior",
    "abc_smc",
    "calibrate",
    "effective_sample_size",
    "posterior_params",
    "posterior_predictive",
    "posterior_rows",
    "predictive_results",
    "predictive_table",
    "rejection_abc",
    "weighted_quantile",
]

_BYTES = 8  # a float64 parameter or observable

#: Replicates per block in calibration. Small, so that the Metropolis-Hastings rounds of
#: ``method="mcmc"`` (a hundred or so candidates each) keep two workers busy; per core, the
#: bundled scenario runs about 10 % slower in blocks of 50 than of 100 (25 %: 25), while a
#: round of 110 candidates finishes in 60 block-units of time instead of 100. Part of a
#: calibration's identity, like ``simulate``'s ``block_size`` (``workers`` is not).
DEFAULT_CALIBRATION_BLOCK = 50

# =============================================================================================
# Helpers
# =============================================================================================


def weighted_quantile(values: Any, weights: Any, q: Any) -> np.ndarray:
    """Weighted quantiles by the inverted CDF: the smallest value whose weight share is >= q.

    Parameters
    ----------
    values, weights : array_like, shape (n,)
    q : float or array_like of float in [0, 1]

    Returns
    -------
    ndarray with the shape of ``q``
    """
    v = np.asarray(values, dtype=float).ravel()
    w = np.broadcast_to(np.asarray(weights, dtype=float).ravel(), v.shape)
    v, w = v[w > 0], w[w > 0]
    if v.size == 0:
        return np.full(np.shape(q), np.nan)
    order = np.argsort(v, kind="stable")
    cw = np.cumsum(w[order])
    cw /= cw[-1]
    idx = np.searchsorted(cw, np.asarray(q, dtype=float) - 1e-12, side="left")
    return v[order][np.clip(idx, 0, v.size - 1)]


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size ``(Σw)² / Σw²``."""
    w = np.asarray(weights, dtype=float)
    s = w.sum()
    return float(s * s / np.square(w).sum()) if s > 0 else 0.0


def _child(ss: np.random.SeedSequence, *key: int) -> np.random.SeedSequence:
    """A derived stream (like ``spawn``, but without changing ``ss``)."""
    return np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, *key))


def _rng(ss: np.random.SeedSequence) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(ss))


def _atomic_write(path: str | os.PathLike[str], write: Callable[[str], None]) -> Path:
    """Write through a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        write(tmp)
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes the file private; the result should not be
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


# =============================================================================================
# The joint prior
# =============================================================================================


@dataclasses.dataclass(frozen=True)
class _Transform:
    """A bijection from a prior's support to the real line (``z = forward(x)``)."""

    kind: str  # identity | log_lower | log_upper | logit | logit_log
    lo: float
    hi: float

    @classmethod
    def for_prior(cls, prior: Prior) -> _Transform:
        lo, hi = prior.support()
        if prior.dist == "loguniform":
            return cls("logit_log", math.log(lo), math.log(hi))
        if math.isfinite(lo) and math.isfinite(hi):
            return cls("logit", lo, hi)
        if math.isfinite(lo):
            return cls("log_lower", lo, hi)
        if math.isfinite(hi):
            return cls("log_upper", lo, hi)
        return cls("identity", lo, hi)

    def forward(self, x: np.ndarray) -> np.ndarray:
        tiny = 1e-15
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.kind == "logit":
                u = (x - self.lo) / (self.hi - self.lo)
                return special.logit(np.clip(u, tiny, 1 - tiny))
            if self.kind == "logit_log":
                u = (np.log(x) - self.lo) / (self.hi - self.lo)
                return special.logit(np.clip(u, tiny, 1 - tiny))
            if self.kind == "log_lower":
                return np.log(np.maximum(x - self.lo, 1e-300))
            if self.kind == "log_upper":
                return np.log(np.maximum(self.hi - x, 1e-300))
        return np.array(x, dtype=float)

    def backward(self, z: np.ndarray) -> np.ndarray:
        if self.kind == "logit":
            return self.lo + (self.hi - self.lo) * special.expit(z)
        if self.kind == "logit_log":
            return np.exp(self.lo + (self.hi - self.lo) * special.expit(z))
        with np.errstate(over="ignore"):
            if self.kind == "log_lower":
                return self.lo + np.exp(z)
            if self.kind == "log_upper":
                return self.hi - np.exp(z)
        return np.array(z, dtype=float)

    def log_jacobian(self, z: np.ndarray) -> np.ndarray:
        """``log |dx/dz|`` at ``z``."""
        if self.kind in ("logit", "logit_log"):
            lj = math.log(self.hi - self.lo) + special.log_expit(z) + special.log_expit(-z)
            if self.kind == "logit_log":
                lj = lj + self.lo + (self.hi - self.lo) * special.expit(z)
            return lj
        if self.kind in ("log_lower", "log_upper"):
            return np.array(z, dtype=float)
        return np.zeros_like(z, dtype=float)


@dataclasses.dataclass(frozen=True, eq=False)
class JointPrior:
    """The prior over the parameters of a scenario that are calibrated.

    Parameters with a prior are estimated (independent priors, their product is the joint
    prior); the others stay fixed at their declared values. Build it with
    :meth:`from_scenario`.

    Attributes
    ----------
    param_names : tuple of str
        Every parameter of the scenario, in declared order (the engine's column order).
    defaults : ndarray, shape (P,)
        Their declared values (used for the fixed ones).
    names : tuple of str
        The estimated parameters, in declared order.
    index : ndarray of int, shape (p,)
        Their columns in the full parameter vector.
    priors : tuple of Prior
    """

    param_names: tuple[str, ...]
    defaults: np.ndarray
    names: tuple[str, ...]
    index: np.ndarray
    priors: tuple[Prior, ...]

    @classmethod
    def from_scenario(cls, scenario: Scenario,
                      parameters: Sequence[str] | None = None) -> JointPrior:
        """The joint prior of a scenario.

        Parameters
        ----------
        scenario : Scenario
        parameters : sequence of str, optional
            Estimate only these (each must have a prior); default: all with a prior.
        """
        pars = scenario.parameters
        all_names = tuple(pars)
        if parameters is None:
            chosen = [n for n in all_names if pars[n].prior is not None]
        else:
            chosen = list(dict.fromkeys(parameters))
            for n in chosen:
                if n not in pars:
                    from flowsim.errors import did_you_mean

                    raise KeyError(f"unknown parameter {n!r}{did_you_mean(n, list(all_names))}")
                if pars[n].prior is None:
                    raise ValueError(f"parameter {n!r} has no prior to calibrate it from")
            chosen = [n for n in all_names if n in set(chosen)]
        if not chosen:
            raise ValueError("no parameter of the scenario has a prior: nothing to calibrate")
        return cls(all_names, np.array([pars[n].value for n in all_names], dtype=float),
                   tuple(chosen), np.array([all_names.index(n) for n in chosen], dtype=np.int64),
                   tuple(pars[n].prior for n in chosen))  # type: ignore[misc]

    @functools.cached_property
    def _dists(self) -> tuple[Any, ...]:
        return tuple(p.frozen() for p in self.priors)

    @functools.cached_property
    def _transforms(self) -> tuple[_Transform, ...]:
        return tuple(_Transform.for_prior(p) for p in self.priors)

    @property
    def dim(self) -> int:
        """Number of estimated parameters."""
        return len(self.names)

    def support(self) -> np.ndarray:
        """``(p, 2)`` array of each estimated parameter's support."""
        return np.array([p.support() for p in self.priors], dtype=float)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` independent draws, shape ``(n, p)``."""
        return np.column_stack([d.rvs(size=n, random_state=rng) for d in self._dists])

    def logpdf(self, theta: np.ndarray) -> np.ndarray:
        """Joint log density, shape ``(n,)``; ``-inf`` outside the support."""
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        with np.errstate(divide="ignore", invalid="ignore"):
            lp = sum(d.logpdf(theta[:, i]) for i, d in enumerate(self._dists))
        lp = np.asarray(lp, dtype=float)
        return np.where(np.isnan(lp), -np.inf, lp)

    def in_support(self, theta: np.ndarray) -> np.ndarray:
        """Whether each row has a positive, finite prior density."""
        return np.isfinite(self.logpdf(theta))

    def to_unconstrained(self, theta: np.ndarray) -> np.ndarray:
        """The parameters in the kernel's unconstrained space, shape ``(n, p)``."""
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        return np.column_stack([t.forward(theta[:, i]) for i, t in enumerate(self._transforms)])

    def from_unconstrained(self, z: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`to_unconstrained`."""
        z = np.atleast_2d(np.asarray(z, dtype=float))
        return np.column_stack([t.backward(z[:, i]) for i, t in enumerate(self._transforms)])

    def log_jacobian(self, z: np.ndarray) -> np.ndarray:
        """``log |dθ/dz|`` of each row of ``z``, shape ``(n,)``."""
        z = np.atleast_2d(np.asarray(z, dtype=float))
        return np.sum([t.log_jacobian(z[:, i]) for i, t in enumerate(self._transforms)], axis=0)

    def full(self, theta: np.ndarray) -> np.ndarray:
        """Complete parameter matrices ``(n, P)``: ``theta`` in place, fixed values elsewhere."""
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        out = np.broadcast_to(self.defaults, (theta.shape[0], len(self.param_names))).copy()
        out[:, self.index] = theta
        return out


# =============================================================================================
# The perturbation kernel
# =============================================================================================


class _Kernel:
    """The mixture ``Σ_j w_j N(z_j, Σ)`` with ``Σ`` twice the weighted covariance of ``z``."""

    def __init__(self, z: np.ndarray, w: np.ndarray) -> None:
        self.z = z
        self.w = w / w.sum()
        mean = self.w @ z
        dz = z - mean
        cov = 2.0 * (dz * self.w[:, None]).T @ dz / max(1.0 - np.square(self.w).sum(), 1e-12)
        p = z.shape[1]
        jitter = 1e-10 * (np.trace(cov) / p if np.trace(cov) > 0 else 1.0)
        self.cov = cov + jitter * np.eye(p)
        self.chol = linalg.cholesky(self.cov, lower=True)
        self._white = linalg.solve_triangular(self.chol, z.T, lower=True).T  # (N, p)
        self._sq = np.square(self._white).sum(axis=1)
        self._logw = np.log(self.w)
        self._half_sq_minus_logw = 0.5 * self._sq - self._logw
        self._const = -0.5 * p * math.log(2 * math.pi) - np.log(np.diag(self.chol)).sum()

    def propose(self, rng: np.random.Generator, m: int) -> np.ndarray:
        j = rng.choice(len(self.w), size=m, p=self.w)
        return self.z[j] + rng.standard_normal((m, self.z.shape[1])) @ self.chol.T

    def logpdf(self, z: np.ndarray, chunk: int = 4_000_000) -> np.ndarray:
        """Log density of the mixture at each row of ``z``."""
        y = linalg.solve_triangular(self.chol, z.T, lower=True).T
        ysq = np.square(y).sum(axis=1)
        out = np.empty(len(z))
        step = max(1, chunk // max(1, len(self.w)))
        for a in range(0, len(z), step):
            b = min(len(z), a + step)
            e = y[a:b] @ self._white.T  # -0.5 |y - y_j|² + log w_j, built in place
            e -= 0.5 * ysq[a:b, None]
            e -= self._half_sq_minus_logw[None, :]
            np.minimum(e, self._logw[None, :], out=e)  # rounding: the distance is >= 0
            mx = e.max(axis=1, keepdims=True)
            e -= mx
            np.exp(e, out=e)
            out[a:b] = mx[:, 0] + np.log(e.sum(axis=1))
        return out + self._const


# =============================================================================================
# Results: generations and the posterior
# =============================================================================================


@dataclasses.dataclass(frozen=True)
class GenerationInfo:
    """Diagnostics of one generation (passed to ``progress`` and kept in the posterior).

    Attributes
    ----------
    generation : int
    epsilon : float
        The tolerance: candidates with distance ``<= epsilon`` were accepted.
    proposed, accepted : int
        Candidates simulated and accepted (accepted may exceed the population in the last
        round; the surplus is dropped).
    acceptance_rate : float
        ``accepted / proposed``.
    ess : float
        Effective sample size of the population's weights.
    simulations, total_simulations : int
        Replicates simulated in this generation, and since the start.
    rounds : int
        ``simulate`` calls in this generation.
    wall_time : float
        Seconds spent in this generation.
    distance_q10, distance_median, distance_q90 : float
        Weighted quantiles of the population's distances.
    """

    generation: int
    epsilon: float
    proposed: int
    accepted: int
    acceptance_rate: float
    ess: float
    simulations: int
    total_simulations: int
    rounds: int
    wall_time: float
    distance_q10: float
    distance_median: float
    distance_q90: float


_GEN_FIELDS = tuple(f.name for f in dataclasses.fields(GenerationInfo))


@dataclasses.dataclass(frozen=True, eq=False)
class Posterior:
    """Weighted posterior particles of a calibration, with its diagnostics.

    Attributes
    ----------
    param_names : tuple of str
        The estimated parameters (columns of ``particles``).
    particles : ndarray, shape (n, p)
    weights : ndarray, shape (n,)
        Normalised importance weights.
    distances : ndarray, shape (n,)
        Each particle's distance (the median over its replicates).
    target_columns : tuple of str
        Observation columns (see :class:`~flowsim.calibration.distance.TargetSet`).
    target_ids : tuple of str
        The target of each column.
    target_low, target_high : ndarray, shape (M,)
        The accepted range of each column.
    observables : ndarray, shape (n, M)
        Each particle's observables (the mean over its replicates).
    generations : tuple of GenerationInfo
    scenario_parameters : tuple of str
        Every parameter of the scenario, in declared order.
    fixed_values : ndarray, shape (P,)
        Their declared values (used for parameters that were not estimated).
    priors : tuple of str
        The prior of each estimated parameter, as text.
    attrs : dict
        Provenance: scenario name and hash, method, stop reason, seed, settings.
    """

    param_names: tuple[str, ...]
    particles: np.ndarray
    weights: np.ndarray
    distances: np.ndarray
    target_columns: tuple[str, ...]
    target_ids: tuple[str, ...]
    target_low: np.ndarray
    target_high: np.ndarray
    observables: np.ndarray
    generations: tuple[GenerationInfo, ...]
    scenario_parameters: tuple[str, ...]
    fixed_values: np.ndarray
    priors: tuple[str, ...]
    attrs: dict[str, Any] = dataclasses.field(default_factory=dict)

    # -- summaries ------------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Number of particles."""
        return int(self.particles.shape[0])

    @property
    def ess(self) -> float:
        """Effective sample size of the weights."""
        return effective_sample_size(self.weights)

    @property
    def epsilon(self) -> float:
        """The final tolerance."""
        return float(self.generations[-1].epsilon) if self.generations else math.nan

    def mean(self) -> Any:
        """Weighted posterior mean of each parameter (a pandas Series)."""
        import pandas as pd

        return pd.Series(self.weights @ self.particles, index=list(self.param_names),
                         name="mean")

    def sd(self) -> Any:
        """Weighted posterior standard deviation of each parameter (a pandas Series)."""
        import pandas as pd

        m = self.weights @ self.particles
        var = self.weights @ np.square(self.particles - m)
        return pd.Series(np.sqrt(var), index=list(self.param_names), name="sd")

    def quantile(self, q: float | Sequence[float]) -> Any:
        """Weighted quantiles of each parameter: a DataFrame, one row per parameter."""
        import pandas as pd

        qs = np.atleast_1d(np.asarray(q, dtype=float))
        rows = [weighted_quantile(self.particles[:, i], self.weights, qs)
                for i in range(len(self.param_names))]
        return pd.DataFrame(rows, index=list(self.param_names), columns=list(qs))

    def interval(self, level: float = 0.9) -> np.ndarray:
        """Equal-tailed credible intervals, shape ``(p, 2)``."""
        a = (1.0 - level) / 2.0
        return self.quantile([a, 1.0 - a]).to_numpy()

    def summary(self) -> Any:
        """Prior, mean, sd and the 5 %, 50 % and 95 % quantiles of each parameter."""
        import pandas as pd

        q = self.quantile([0.05, 0.5, 0.95])
        return pd.DataFrame({"prior": list(self.priors), "mean": self.mean().values,
                             "sd": self.sd().values, "q05": q.iloc[:, 0].values,
                             "median": q.iloc[:, 1].values, "q95": q.iloc[:, 2].values},
                            index=pd.Index(list(self.param_names), name="parameter"))

    def diagnostics(self) -> Any:
        """One row per generation (see :class:`GenerationInfo`), as a DataFrame."""
        import pandas as pd

        return pd.DataFrame([dataclasses.asdict(g) for g in self.generations],
                            columns=list(_GEN_FIELDS))

    # -- drawing parameters ---------------------------------------------------------------------

    def sample(self, n: int, seed: SeedLike = None,
               parameters: Sequence[str] | None = None) -> np.ndarray:
        """Draw ``n`` parameter vectors from the posterior (multinomial resampling by weight).

        Parameters
        ----------
        n : int
        seed : int, SeedSequence, Generator or None
        parameters : sequence of str, optional
            Column order of the result; default: the scenario's declared order, as
            ``simulate(..., params=...)`` expects. Parameters that were not estimated take
            their declared values.

        Returns
        -------
        ndarray, shape (n, P)
        """
        names = self.scenario_parameters if parameters is None else tuple(parameters)
        known = dict(zip(self.scenario_parameters, self.fixed_values, strict=True))
        missing = [p for p in names if p not in known and p not in self.param_names]
        if missing:
            raise KeyError(f"the posterior knows no value for {', '.join(missing)}")
        idx = self.resample(n, seed)
        out = np.empty((int(n), len(names)))
        for j, p in enumerate(names):
            if p in self.param_names:
                out[:, j] = self.particles[idx, self.param_names.index(p)]
            else:
                out[:, j] = known[p]
        return out

    def resample(self, n: int, seed: SeedLike = None) -> np.ndarray:
        """The particles that :meth:`sample` draws with this seed: ``n`` indices, by weight.

        Parameters
        ----------
        n : int
        seed : int, SeedSequence, Generator or None

        Returns
        -------
        ndarray of int, shape (n,)
        """
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"n must be a positive whole number, got {n!r}")
        rng = _rng(seed_sequence(seed))
        return rng.choice(self.size, size=int(n), p=self.weights / self.weights.sum())

    # -- files ----------------------------------------------------------------------------------

    def to_dataset(self) -> Any:
        """The posterior as an ``xarray.Dataset``.

        Dimensions ``particle``, ``parameter`` (estimated), ``target`` (observation columns),
        ``generation`` and ``scenario_parameter`` (every parameter, for the fixed values).
        """
        import xarray as xr

        gens = {f: ("generation", np.array([getattr(g, f) for g in self.generations]))
                for f in _GEN_FIELDS if f != "generation"}
        ds = xr.Dataset(
            {
                "particles": (("particle", "parameter"), self.particles),
                "weight": ("particle", self.weights),
                "distance": ("particle", self.distances),
                "observable": (("particle", "target"), self.observables),
                "target_id": ("target", np.array(self.target_ids, dtype=object)),
                "target_low": ("target", self.target_low),
                "target_high": ("target", self.target_high),
                "prior": ("parameter", np.array(self.priors, dtype=object)),
                "fixed_value": ("scenario_parameter", self.fixed_values),
                **gens,
            },
            coords={
                "particle": np.arange(self.size),
                "parameter": list(self.param_names),
                "target": list(self.target_columns),
                "generation": np.array([g.generation for g in self.generations], dtype=int),
                "scenario_parameter": list(self.scenario_parameters),
            },
        )
        ds["weight"].attrs["long_name"] = "normalised importance weight"
        ds["distance"].attrs["long_name"] = "ABC distance to the targets (0: all met)"
        ds["observable"].attrs["long_name"] = "the particle's simulated observable"
        ds.attrs.update({k: v for k, v in self.attrs.items() if v is not None})
        ds.attrs["title"] = "flowsim posterior"
        return ds

    @classmethod
    def from_dataset(cls, ds: Any) -> Posterior:
        """The inverse of :meth:`to_dataset`."""
        gens = []
        for i, g in enumerate(ds["generation"].values):
            row = {"generation": int(g)}
            for f in _GEN_FIELDS[1:]:
                v = ds[f].values[i]
                row[f] = int(v) if f in ("proposed", "accepted", "simulations",
                                         "total_simulations", "rounds") else float(v)
            gens.append(GenerationInfo(**row))
        attrs = {k: v for k, v in ds.attrs.items() if k != "title"}
        return cls(
            param_names=tuple(str(p) for p in ds["parameter"].values),
            particles=np.asarray(ds["particles"].values, dtype=float).reshape(
                ds.sizes["particle"], ds.sizes["parameter"]),
            weights=np.asarray(ds["weight"].values, dtype=float),
            distances=np.asarray(ds["distance"].values, dtype=float),
            target_columns=tuple(str(t) for t in ds["target"].values),
            target_ids=tuple(str(t) for t in ds["target_id"].values),
            target_low=np.asarray(ds["target_low"].values, dtype=float),
            target_high=np.asarray(ds["target_high"].values, dtype=float),
            observables=np.asarray(ds["observable"].values, dtype=float).reshape(
                ds.sizes["particle"], ds.sizes["target"]),
            generations=tuple(gens),
            scenario_parameters=tuple(str(p) for p in ds["scenario_parameter"].values),
            fixed_values=np.asarray(ds["fixed_value"].values, dtype=float),
            priors=tuple(str(p) for p in ds["prior"].values),
            attrs=attrs,
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the posterior to a NetCDF file, atomically (temporary file, then rename)."""
        ds = self.to_dataset()
        return _atomic_write(path, lambda tmp: ds.to_netcdf(tmp))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Posterior:
        """Read a posterior written by :meth:`save`."""
        import xarray as xr

        with xr.open_dataset(path) as ds:
            return cls.from_dataset(ds.load())

    def to_frame(self) -> Any:
        """One row per particle: parameters, ``weight``, ``distance``, and each observable
        as ``target:<column>``."""
        import pandas as pd

        df = pd.DataFrame(self.particles, columns=list(self.param_names))
        df["weight"] = self.weights
        df["distance"] = self.distances
        for j, c in enumerate(self.target_columns):
            df[f"target:{c}"] = self.observables[:, j]
        df.index.name = "particle"
        return df

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_frame` as CSV, atomically."""
        df = self.to_frame()
        return _atomic_write(path, lambda tmp: df.to_csv(tmp))

    def __repr__(self) -> str:
        return (f"<flowsim.Posterior {self.attrs.get('scenario_name', '?')!r}: {self.size} "
                f"particles (ESS {self.ess:.0f}) over {', '.join(self.param_names)}; "
                f"epsilon {self.epsilon:.4g} after {len(self.generations)} generations>")


# =============================================================================================
# The sampler machinery
# =============================================================================================


@dataclasses.dataclass
class _Population:
    theta: np.ndarray  # (n, p)
    weights: np.ndarray  # (n,) normalised
    rep_dist: np.ndarray  # (n, k) per-replicate distances
    obs: np.ndarray  # (n, k, M)
    epsilon: float
    proposed: int
    accepted: int
    simulations: int
    rounds: int


def _observe(results: Any, plan: ObservationPlan) -> np.ndarray:
    """The observation matrix ``(replicates, M)`` of one block's results.

    The reduction that calibration hands to :func:`flowsim.simulate` (``reduce=``), bound
    with :func:`functools.partial` so that it pickles: it runs where the block ran, and only
    these few numbers per replicate travel back to the sampler.
    """
    ds = results.dataset
    return plan({v: ds[v].values for v in plan.record})


class _Run:
    """What one calibration shares: model, prior, targets, streams, workers and the budget.

    Use it as a context manager: a local process pool (``workers > 1``, no ``client`` and no
    ``pool`` given) is started on entry and kept for every round of the calibration, and
    shut down on exit.
    """

    def __init__(self, scenario: Scenario, targets: Sequence[Target] | None, norm: Norm,
                 parameters: Sequence[str] | None, seed: SeedLike, workers: int,
                 replicates_per_particle: int, batch_memory: float,
                 client: Any = None, pool: Any = None,
                 block_size: int = DEFAULT_CALIBRATION_BLOCK) -> None:
        if isinstance(scenario, str | os.PathLike):
            from flowsim.scenario import load_scenario

            scenario = load_scenario(scenario)
        if not isinstance(scenario, Scenario):
            raise TypeError("calibration needs a Scenario (its targets, groups and priors), "
                            f"not {type(scenario).__name__}")
        k = replicates_per_particle
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"replicates_per_particle must be a positive whole number, got {k!r}")
        self.block_size = _check_positive_int("block_size", block_size)
        if not batch_memory > 0:
            raise ValueError(f"batch_memory must be positive, got {batch_memory}")
        self.scenario = scenario
        self.model: CompiledModel = compile_scenario(scenario)
        self.prior = JointPrior.from_scenario(scenario, parameters)
        self.targets = TargetSet.build(scenario.targets if targets is None else targets,
                                       scenario, norm)
        self.record = self.targets.record
        self.reduce = functools.partial(_observe,
                                        plan=self.targets.plan(self.model, scenario))
        self.workers = (os.cpu_count() or 1) if workers is None or workers <= 0 else workers
        self.client = client
        self.pool = pool
        self._own_pool: Any = None
        self.k = int(k)
        # What a batch holds here: each candidate's parameter row and observables (the
        # engine's arrays stay in the workers, one block at a time).
        per_sim = (len(self.model.param_names) + len(self.targets.columns)) * _BYTES
        self.max_sims = max(self.k, int(batch_memory // per_sim))
        self.root = seed_sequence(seed)
        self._own = _child(self.root, 0)
        self._sim = _child(self.root, 1)
        self.round = 0
        self.simulations = 0

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


def _from_kernel(run: _Run, prev: _Population) -> Proposal:
    prior = run.prior
    kernel = _Kernel(prior.to_unconstrained(prev.theta), prev.weights)

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


def _generation(run: _Run, n: int, propose: Proposal, epsilon: float | None, alpha: float,
                rate_guess: float, budget: int) -> _Population | None:
    """Fill one population of ``n`` accepted particles; ``None`` if the budget runs out.

    With ``epsilon=None`` the tolerance is the ``alpha`` quantile of the first round's
    distances (that round then holds ``ceil(n / alpha)`` candidates).
    """
    k = run.k
    thetas, logws, dists, obss = [], [], [], []
    n_acc = proposed = accepted = sims = rounds = 0
    while n_acc < n:
        left = budget - run.simulations
        if left < k:
            return None
        if epsilon is None:
            m = math.ceil(n / alpha)
        else:
            rate = accepted / proposed if accepted > 0 else rate_guess
            m = math.ceil(1.1 * (n - n_acc) / max(rate, 1e-6)) + 8
        m = max(1, min(m, run.max_sims // k, left // k))
        rng, ss = run.next_round()
        theta, logq = propose(rng, m)
        obs, d = run.evaluate(theta, ss)
        sims += m * k
        proposed += m
        rounds += 1
        if epsilon is None:
            epsilon = float(np.quantile(d.ravel(), alpha, method="inverted_cdf"))
        within = (d <= epsilon) & np.isfinite(d)
        frac = within.mean(axis=1)
        ok = np.flatnonzero(frac > 0)
        accepted += ok.size
        take = ok[:n - n_acc]
        thetas.append(theta[take])
        logws.append(logq[take] + np.log(frac[take]))
        dists.append(d[take])
        obss.append(obs[take])
        n_acc += take.size
    logw = np.concatenate(logws)
    w = np.exp(logw - logw.max())
    return _Population(np.concatenate(thetas), w / w.sum(), np.concatenate(dists),
                       np.concatenate(obss), float(epsilon), proposed, accepted, sims, rounds)


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
               extra: dict[str, Any]) -> Posterior:
    ts = run.targets
    attrs = run.attrs(method)
    attrs.update(extra)
    return Posterior(
        param_names=run.prior.names,
        particles=pop.theta,
        weights=pop.weights,
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


def _check_positive_int(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
        raise ValueError(f"{name} must be a positive whole number, got {v!r}")
    return int(v)


# =============================================================================================
# The samplers
# =============================================================================================


def rejection_abc(
    scenario: Scenario,
    targets: Sequence[Target] | None = None,
    *,
    n: int = 10_000,
    quantile: float | None = None,
    epsilon: float | None = None,
    seed: SeedLike = None,
    workers: int = 1,
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
    seed, workers, replicates_per_particle, norm, parameters, batch_memory, client, pool, \
block_size
        As in :func:`abc_smc`.

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
    run = _Run(scenario, targets, norm, parameters, seed, workers, replicates_per_particle,
               batch_memory, client, pool, block_size)
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
    return _posterior(run, pop, [info], "rejection",
                      {"stop_reason": "single generation", "quantile": quantile})


def abc_smc(
    scenario: Scenario,
    targets: Sequence[Target] | None = None,
    *,
    population: int = 1000,
    budget: int = 200_000,
    min_epsilon: float = 0.0,
    generations_max: int = 20,
    alpha: float = 0.5,
    min_acceptance: float = 0.0,
    seed: SeedLike = None,
    workers: int = 1,
    replicates_per_particle: int = 1,
    norm: Norm = "rms",
    parameters: Sequence[str] | None = None,
    batch_memory: float = 2**30,
    client: Any = None,
    pool: Any = None,
    block_size: int = DEFAULT_CALIBRATION_BLOCK,
    method: Literal["pmc", "mcmc"] = "pmc",
    mcmc_steps_max: int = 50,
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
    min_epsilon : float
        Stop after a generation with a tolerance at or below this (0: all targets met).
    generations_max : int
        Stop after this many generations (generation 0 included).
    alpha : float
        Quantile of the previous distances that sets the next tolerance (0 < alpha < 1).
    min_acceptance : float
        Stop when a generation's acceptance rate falls below this.
    seed : int, SeedSequence, Generator or None
    workers : int
        Worker processes for the simulations (results do not depend on it).
    replicates_per_particle : int
        Simulations of each candidate (see the module doc).
    norm : {"rms", "max"}
        How target distances combine (see :mod:`flowsim.calibration.distance`).
    parameters : sequence of str, optional
        Estimate only these parameters (default: every parameter with a prior).
    batch_memory : float
        Bytes the sampler may hold for one batch of candidates (their parameter rows and
        observables, 8 bytes each); caps the batch size. The engine's arrays never reach
        the sampler: each block is reduced to its observables where it ran (see
        :func:`flowsim.simulate`'s ``reduce``), so the default (1 GiB) does not bind.
    client : distributed.Client, optional
        Run the simulations on this Dask cluster (see :func:`flowsim.simulate`); a client
        kept open across the calibration avoids starting workers in every round.
    pool : concurrent.futures.Executor, optional
        A process pool to run the blocks in (see :func:`flowsim.simulate.local_pool`), e.g.
        one shared with a posterior-predictive check. Default: with ``workers > 1`` and no
        ``client``, a pool of ``workers`` processes is started for the calibration and kept
        for all its rounds.
    block_size : int
        Replicates per block of work (see :data:`DEFAULT_CALIBRATION_BLOCK`); part of the
        calibration's identity: changing it changes the draws. ``workers`` does not.
    method : {"pmc", "mcmc"}
        ``"pmc"``: importance-weighted populations from the kernel mixture (the module doc).
        ``"mcmc"``: replenishment with Metropolis-Hastings moves (Drovandi & Pettitt 2011),
        equal weights; use it with **many parameters** (more than about ten), where the
        importance weights of ``"pmc"`` degenerate (see :func:`_smc_mcmc`). Needs
        ``replicates_per_particle=1``.
    mcmc_steps_max : int
        ``"mcmc"`` only: the most Metropolis-Hastings steps per generation.
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
    if not min_epsilon >= 0:
        raise ValueError(f"min_epsilon must be >= 0, got {min_epsilon}")
    if method not in ("pmc", "mcmc"):
        raise ValueError(f"unknown method {method!r}; choose 'pmc' or 'mcmc'")
    mcmc_steps_max = _check_positive_int("mcmc_steps_max", mcmc_steps_max)
    run = _Run(scenario, targets, norm, parameters, seed, workers, replicates_per_particle,
               batch_memory, client, pool, block_size)
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
        return _posterior(run, pop, gens, "abc-smc-mcmc", {
            "stop_reason": reason, **settings, "mcmc_steps_max": mcmc_steps_max,
            "kernel": "random-walk Metropolis-Hastings in the unconstrained space, covariance "
                      "min(2, 2.38^2/p) x the survivors' covariance (replenishment, Drovandi "
                      "& Pettitt 2011)"})
    with run:
        pop, gens, reason = _smc_pmc(run, population, alpha, min_epsilon, generations_max,
                                     min_acceptance, budget, progress)
    return _posterior(run, pop, gens, "abc-smc", {
        "stop_reason": reason, **settings,
        "kernel": "multivariate normal, 2x weighted covariance, unconstrained space",
    })


def _smc_pmc(run: _Run, population: int, alpha: float, min_epsilon: float,
             generations_max: int, min_acceptance: float, budget: int,
             progress: Callable[[GenerationInfo], None] | None
             ) -> tuple[_Population, list[GenerationInfo], str]:
    """ABC-SMC by population Monte Carlo (importance weights; see the module doc)."""
    gens: list[GenerationInfo] = []
    pop: _Population | None = None
    epsilon: float | None = None
    reason = "generations_max reached"
    for t in range(generations_max):
        t0 = time.perf_counter()
        if pop is None:
            new = _generation(run, population, _from_prior(run), None, alpha, 1.0, budget)
        else:
            prev_rate = gens[-1].acceptance_rate
            new = _generation(run, population, _from_kernel(run, pop), epsilon, alpha,
                              prev_rate, budget)
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
        nxt = max(min_epsilon, _next_epsilon(pop, alpha))
        if not nxt < pop.epsilon:
            reason = "tolerance no longer decreases"
            break
        epsilon = nxt
    if pop is None:  # pragma: no cover - excluded by the budget check of abc_smc
        raise RuntimeError("no generation completed")
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
        zk = z[keep]
        cov = np.atleast_2d(np.cov(zk.T, ddof=1)) if keep.size > 1 else np.eye(p)
        cov = min(2.0, 2.38**2 / p) * cov
        cov += 1e-10 * (np.trace(cov) / p if np.trace(cov) > 0 else 1.0) * np.eye(p)
        chol = linalg.cholesky(cov, lower=True)
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
                a = accepted / proposed
                steps = steps_max if a <= 0 else 1 if a >= 1 else min(
                    steps_max, max(1, math.ceil(math.log(0.01) / math.log1p(-a))))
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


calibrate = abc_smc


# =============================================================================================
# Posterior predictive check
# =============================================================================================


def posterior_predictive(
    scenario: Scenario,
    posterior: Posterior,
    replicates: int = 1000,
    seed: SeedLike = None,
    workers: int = 1,
    targets: Sequence[Target] | None = None,
    level: float = 0.9,
    client: Any = None,
    pool: Any = None,
) -> Any:
    """Check every target against simulations with parameters drawn from the posterior.

    Parameters
    ----------
    scenario : Scenario
    posterior : Posterior
    replicates : int
        Replicates, each with its own posterior draw.
    seed, workers, client, pool
        As in :func:`flowsim.simulate`.
    targets : sequence of Target, optional
        Default: the scenario's targets.
    level : float
        Width of the predictive interval (default 90 %).

    Returns
    -------
    pandas.DataFrame
        See :func:`predictive_table`.
    """
    ts = TargetSet.build(scenario.targets if targets is None else targets, scenario,
                         posterior.attrs.get("norm", "rms"))
    res = predictive_results(scenario, posterior, replicates, seed, workers, ts.record,
                             client, pool)
    return predictive_table(res, ts.targets, level, ts.norm)


def predictive_results(scenario: Scenario, posterior: Posterior, replicates: int = 1000,
                       seed: SeedLike = None, workers: int = 1,
                       record: Sequence[str] | None = None, client: Any = None,
                       pool: Any = None) -> Any:
    """Simulate a scenario with each replicate's parameters drawn from a posterior.

    Parameters
    ----------
    scenario : Scenario
        Its parameters are matched to the posterior's by name; those the posterior did not
        estimate keep the scenario's values.
    posterior : Posterior
    replicates : int
    seed : int, SeedSequence, Generator or None
        Its first child draws the parameters, its second runs the simulations.
    workers, client, pool
        As in :func:`flowsim.simulate`.
    record : sequence of str, optional
        Variables to keep (default: :data:`flowsim.engine.DEFAULT_RECORD`).

    Returns
    -------
    Results
        With the scenario attached, so that targets and figures can be read off it.
    """
    from flowsim.core.engine import DEFAULT_RECORD
    from flowsim.results.dataset import Results

    replicates = _check_positive_int("replicates", replicates)
    model = compile_scenario(scenario)
    root = seed_sequence(seed)
    params = posterior_params(posterior, model, replicates, _child(root, 0))
    res = simulate(model, replicates=replicates, seed=_child(root, 1), workers=workers,
                   params=params, record=DEFAULT_RECORD if record is None else record,
                   client=client, pool=pool)
    return Results(res.dataset, scenario)


def posterior_params(posterior: Posterior, model: CompiledModel, n: int,
                     seed: SeedLike) -> np.ndarray:
    """Parameters for ``simulate(model, n, params=...)``, drawn from a posterior by name.

    Parameters
    ----------
    posterior : Posterior
    model : CompiledModel
        Its parameters that the posterior estimated take the draws (whole particles, by
        :meth:`Posterior.sample`); the others keep the model's declared values, and the
        posterior's parameters the model does not declare are ignored.
    n : int
    seed : int, SeedSequence, Generator or None

    Returns
    -------
    ndarray, shape (n, P)
    """
    return np.asarray(posterior_rows(posterior, model, n, seed))


def posterior_rows(posterior: Posterior, model: CompiledModel, n: int,
                   seed: SeedLike) -> ParamRows:
    """The draws of :func:`posterior_params` as rows of the particles, not a matrix.

    ``simulate`` and ``stream`` take it as ``params``: a million replicates then hold the
    particles and 8 MB of indices rather than a (replicates × parameters) matrix.

    Returns
    -------
    ParamRows
        ``table``: one complete parameter vector per particle; ``rows``: the particle of
        each replicate (:meth:`Posterior.resample` with this seed).
    """
    table = model.default_params(posterior.size)
    for j, name in enumerate(posterior.param_names):
        if name in model.param_names:
            table[:, model.param_names.index(name)] = posterior.particles[:, j]
    return ParamRows(table, posterior.resample(n, seed))


def predictive_table(results: Any, targets: Sequence[Target] | None = None,
                     level: float = 0.9, norm: Norm = "rms") -> Any:
    """Every target against an ensemble of simulations: median, interval, met or not.

    Parameters
    ----------
    results : Results
        Carrying its scenario and the variables the targets need (e.g. a run with
        parameters drawn from a posterior: the posterior-predictive check).
    targets : sequence of Target, optional
        Default: the scenario's targets.
    level : float
        Width of the interval over replicates (default 90 %).
    norm : {"rms", "max"}
        How an ``each: true`` target's countries combine in its distance.

    Returns
    -------
    pandas.DataFrame
        One row per target (per country for ``each: true``): ``target``, ``country``,
        ``observable``, ``kind``, ``figure`` (the published figure as text), ``value`` (its
        central figure, NaN for a range or bound without one), ``low``, ``high`` (its
        accepted range), ``median``, ``lower``, ``upper`` (the median and interval over
        replicates), ``met`` (whether the median lies in the accepted range), ``distance``
        (of the median, see :mod:`flowsim.calibration.distance`) and ``vs_value`` (the
        median's relative deviation from ``value``: ``median / value - 1``).
    """
    import pandas as pd

    scenario = results.scenario
    if targets is None:
        if scenario is None:
            raise ValueError("the results carry no scenario: pass targets=")
        targets = scenario.targets
    ts = TargetSet.build(targets, scenario, norm)
    obs = ts.observe(results)
    a = (1.0 - level) / 2.0
    q = np.quantile(obs, [a, 0.5, 1.0 - a], axis=0)
    dist = ts.column_distances(q[1])
    rows = []
    for j, col in enumerate(ts.columns):
        t = ts.targets[ts.column_target[j]]
        value = math.nan if t.value is None else float(t.value)
        rows.append({
            "target": t.id, "country": ts.column_country[j] or "",
            "observable": t.observable, "kind": t.kind, "figure": _figure(t), "value": value,
            "low": ts.low[j], "high": ts.high[j],
            "median": q[1, j], "lower": q[0, j], "upper": q[2, j],
            "met": bool(ts.low[j] <= q[1, j] <= ts.high[j]), "distance": float(dist[j]),
            "vs_value": q[1, j] / value - 1.0 if value else math.nan,
        })
    return pd.DataFrame(rows)


def _figure(t: Target) -> str:
    """A target's published figure as text (``400,000 to 500,000``, ``>= 0.333``)."""

    def num(x: float) -> str:
        return f"{int(x):,}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:,.6g}"

    if t.kind == "interval":
        return f"{num(t.low)} to {num(t.high)}"  # type: ignore[arg-type]
    if t.kind == "at_least":
        return f">= {num(t.value)}"  # type: ignore[arg-type]
    if t.kind == "at_most":
        return f"<= {num(t.value)}"  # type: ignore[arg-type]
    tol = 0.25 if t.tolerance is None else t.tolerance
    return f"about {num(t.value)} (±{tol:.0%})"  # type: ignore[arg-type]
