"""The perturbation kernel of ABC-SMC by population Monte Carlo: a Gaussian mixture.

:class:`_Kernel` is ``Σ_j w_j N(z_j, Σ)`` over the previous population in the unconstrained
space of :class:`~flowsim.calibration.priors.JointPrior`: it draws the next candidates and
gives their density, which the importance weights divide by. ``Σ`` is the population's
weighted covariance ``S`` times a factor (:data:`KERNELS`):

* ``"beaumont"`` (the default): ``2 S`` (Beaumont et al. 2009), which minimises the
  Kullback-Leibler divergence between the kernel-smoothed population and the next target
  for Gaussian-like posteriors: it explores widely, at the price of many candidates beyond
  the next tolerance;
* ``"silverman"``: ``h² S`` with Silverman's rule of thumb ``h = (4 / (n (p + 2)))^(1 /
  (p + 4))`` for ``n`` the population's effective sample size and ``p`` parameters, the
  bandwidth of a kernel density estimate of the population (pyabc's default
  ``MultivariateNormalTransition``). Narrower (``h² = 0.07`` for one parameter and 1,000
  particles, 0.6 for 30), so that more candidates fall within the next tolerance: measured on
  the one-parameter chain toy, 26 % fewer simulations to the same accuracy
  (``benchmarks/README.md``). With few particles and many parameters a narrow kernel can
  lose modes the population has not yet found; the default stays the wider one.

Either way the importance weights make the population a sample of the same ABC posterior.
Used within :mod:`flowsim.calibration` only.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import linalg

#: The kernel scales :class:`_Kernel` knows (see the module doc).
KERNELS = ("beaumont", "silverman")


def kernel_factor(kind: str, n_eff: float, p: int) -> float:
    """The factor of the weighted covariance in the kernel ``kind`` (module doc).

    >>> kernel_factor("beaumont", 1000, 1)
    2.0
    >>> round(kernel_factor("silverman", 1000, 1), 4)  # (4 / 3000)^(2 / 5)
    0.0707
    """
    if kind == "beaumont":
        return 2.0
    if kind == "silverman":
        return float((4.0 / (max(n_eff, 1.0) * (p + 2))) ** (2.0 / (p + 4)))
    raise ValueError(f"unknown kernel {kind!r}; choose one of {', '.join(KERNELS)}")


class _Kernel:
    """The mixture ``Σ_j w_j N(z_j, Σ)``, ``Σ`` a factor times the weighted covariance of ``z``."""

    def __init__(self, z: np.ndarray, w: np.ndarray, kind: str = "beaumont") -> None:
        self.z = z
        self.w = w / w.sum()
        mean = self.w @ z
        dz = z - mean
        p = z.shape[1]
        factor = kernel_factor(kind, 1.0 / float(np.square(self.w).sum()), p)
        cov = factor * (dz * self.w[:, None]).T @ dz / max(1.0 - np.square(self.w).sum(),
                                                           1e-12)
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
