"""The joint prior of a calibration, and the transforms that make its support unbounded.

* :class:`JointPrior`: the independent priors of a scenario's estimated parameters, their
  joint density, draws, and the parameters' fixed values;
* :class:`_Transform`: the bijection of one prior's support to the real line (``logit``,
  ``log`` or identity) in which the perturbation kernels of
  :mod:`flowsim.calibration.kernels` and :mod:`flowsim.calibration.smc` move.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import special

from flowsim.scenario.model import Prior, Scenario

__all__ = ["JointPrior"]


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

