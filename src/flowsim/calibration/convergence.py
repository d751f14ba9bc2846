"""Whether a calibration converged, and whether its posterior piles up at a prior bound.

**Converged** means the sampler reached the tolerance it was asked for: ABC-SMC stopped
because a generation's tolerance fell to ``min_epsilon`` (zero by default: every accepted
particle meets every target, see :mod:`flowsim.calibration.distance`). A run stopped by its
simulation budget, by ``generations_max``, by a tolerance that no longer decreases or by a
low acceptance rate did **not** converge, whatever its last tolerance: its posterior is the
ABC posterior at that looser tolerance, wider (or shifted) than the one the targets define.
Rejection ABC converged when a tolerance was given (every kept particle meets it by
construction) or, with a quantile, when every kept particle meets every target.

The verdict travels with the posterior as text attributes of ``posterior.nc`` (NetCDF has no
boolean attribute): ``converged`` (``"true"`` or ``"false"``), ``convergence`` (the reason,
one sentence) and ``prior_bound_warnings`` (one sentence per parameter, newline-separated;
empty when none). Posteriors written before these existed read back as *convergence
unknown* (:attr:`Posterior.converged <flowsim.calibration.Posterior.converged>` is ``None``).

**Piling up at a prior bound** (:func:`bound_pileups`): the weighted share of the particles
within :data:`BOUND_BAND` (5 %) of the prior's range from one of its finite bounds (on the
log scale for a ``loguniform`` prior) exceeds ``max(BOUND_SHARE, 2 × the prior's own mass in
that band)``, with :data:`BOUND_SHARE` = 25 %. Why these numbers: a posterior that lies well
inside the prior puts about the prior's own mass in the band (5 % for a uniform prior) or,
once the targets inform the parameter, much less; a posterior cut off by the bound (the
value that fits lies beyond it) puts there the share of its mass that the bound folds onto
it, which for a posterior at least as narrow as the band is most of it. 25 % is five times
the uniform prior's share, so the rule fires when the bound is cutting the posterior off,
not by chance (with 1,000 equally weighted particles from a uniform posterior the share is
5 % ± 0.7 %). The ``2 ×`` term keeps a prior that itself crowds its bound (a truncated normal
centred on it) from warning when the data say nothing. Only the bounds of ``uniform``,
``loguniform`` and ``truncnormal`` priors are checked: there the density stays positive at
the bound, so the bound is the modeller's choice and may exclude the answer; the natural
limits of ``beta``, ``gamma`` and ``lognormal`` priors (0 or 1) are not choices.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from flowsim.scenario.model import Prior

__all__ = ["BOUND_BAND", "BOUND_SHARE", "BoundPileUp", "bound_pileups", "converged_from_attrs",
           "convergence_attrs", "convergence_note"]

#: width of the band next to a bound, as a share of the prior's range
BOUND_BAND = 0.05
#: the weighted share of particles in that band above which a parameter piles up
BOUND_SHARE = 0.25
#: the priors whose finite bounds are the modeller's choice (density positive there)
_TRUNCATED = ("uniform", "loguniform", "truncnormal")


@dataclasses.dataclass(frozen=True)
class BoundPileUp:
    """A parameter whose posterior piles up at a bound of its prior.

    Attributes
    ----------
    parameter : str
    side : {"lower", "upper"}
    bound : float
        The prior's bound.
    share : float
        The posterior weight within :data:`BOUND_BAND` of the range from the bound.
    prior_share : float
        The prior's mass in the same band.
    """

    parameter: str
    side: str
    bound: float
    share: float
    prior_share: float

    def sentence(self) -> str:
        """The warning in words (without a ``warning:`` prefix)."""
        return (f"the posterior of {self.parameter} piles up at the {self.side} bound of its "
                f"prior ({self.bound:g}): {self.share:.0%} of the weight lies within "
                f"{BOUND_BAND:.0%} of the prior's range from it (the prior puts "
                f"{self.prior_share:.0%} there); the value that fits may lie beyond the "
                "bound, so widen the prior or check the model")


def bound_pileups(names: Sequence[str], particles: Any, weights: Any,
                  priors: Sequence[Prior]) -> list[BoundPileUp]:
    """The parameters whose posterior piles up at a prior bound (the rule in the module doc).

    Parameters
    ----------
    names : sequence of str
        The estimated parameters (columns of ``particles``).
    particles : array_like, shape (n, p)
    weights : array_like, shape (n,)
    priors : sequence of Prior
        The prior of each column.

    Returns
    -------
    list of BoundPileUp
        In column order, lower bound before upper.
    """
    theta = np.atleast_2d(np.asarray(particles, dtype=float))
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    out = []
    for j, (name, prior) in enumerate(zip(names, priors, strict=True)):
        if prior.dist not in _TRUNCATED:
            continue
        lo, hi = float(prior.low), float(prior.high)  # type: ignore[arg-type]
        # the band's inner edges, on the scale the prior is flat on (log for loguniform)
        if prior.dist == "loguniform":
            span = math.log(hi) - math.log(lo)
            edges = (math.exp(math.log(lo) + BOUND_BAND * span),
                     math.exp(math.log(hi) - BOUND_BAND * span))
        else:
            edges = (lo + BOUND_BAND * (hi - lo), hi - BOUND_BAND * (hi - lo))
        dist = prior.frozen()
        x = theta[:, j]
        bands = (("lower", lo, x <= edges[0], float(dist.cdf(edges[0]))),
                 ("upper", hi, x >= edges[1], float(dist.sf(edges[1]))))
        for side, bound, inside, prior_share in bands:
            share = float(w[inside].sum())
            if share > max(BOUND_SHARE, 2.0 * prior_share):
                out.append(BoundPileUp(name, side, bound, share, prior_share))
    return out


def convergence_attrs(converged: bool, reason: str,
                      pileups: Sequence[BoundPileUp]) -> dict[str, str]:
    """The attributes a posterior carries (text: NetCDF has no boolean attribute)."""
    return {"converged": "true" if converged else "false", "convergence": reason,
            "prior_bound_warnings": "\n".join(p.sentence() for p in pileups)}


def converged_from_attrs(attrs: Mapping[str, Any]) -> bool | None:
    """``True`` or ``False`` from a posterior's ``converged`` attribute; ``None`` without it
    (a posterior written before flowsim recorded convergence)."""
    v = attrs.get("converged")
    if v is None:
        return None
    if isinstance(v, str):
        s = v.strip().lower()
        if s in ("true", "1", "yes"):
            return True
        if s in ("false", "0", "no"):
            return False
        return None
    return bool(np.asarray(v).item())


def convergence_note(attrs: Mapping[str, Any]) -> str:
    """One phrase for reports: ``converged (...)``, ``NOT converged (...)`` or
    ``convergence unknown (...)``."""
    c = converged_from_attrs(attrs)
    reason = attrs.get("convergence") or attrs.get("stop_reason") or "no reason recorded"
    if c is None:
        return ("convergence unknown (the posterior was written before flowsim recorded it; "
                f"stopped: {attrs.get('stop_reason', '?')})")
    return f"{'converged' if c else 'NOT converged'} ({reason})"


#: The smallest effective sample size a posterior is reported without a warning.
MIN_ESS = 100


def small_sample(ess: float, size: int) -> str:
    """A sentence when a posterior's effective sample is too small to trust its intervals.

    The error models' reweighting (:mod:`flowsim.calibration.errors`) can leave a population
    whose weights rest on a few particles; quantiles of a few dozen distinct draws are
    rough. Empty when the effective sample size is at least :data:`MIN_ESS` (or the whole
    population, when smaller).

    Parameters
    ----------
    ess : float
        The effective sample size of the posterior's weights.
    size : int
        The number of particles.
    """
    if ess >= min(MIN_ESS, size) - 1e-9:
        return ""
    return (f"the posterior's effective sample is {ess:,.0f} of {size:,} particles: its "
            "intervals rest on few distinct draws (the error model's likelihood gives a few "
            "particles most of the weight); read them as rough")
