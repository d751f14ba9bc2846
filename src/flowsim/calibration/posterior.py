"""A calibration's result: the weighted particles (:class:`Posterior`) and their diagnostics.

* :class:`Posterior`: the particles, weights, distances and observables of the last
  generation, summaries (mean, sd, quantiles), draws for :func:`flowsim.simulate`, and the
  files it is kept in (NetCDF, CSV; written all or nothing with
  :func:`flowsim.results.files.atomic_file`);
* :class:`GenerationInfo`: the diagnostics of one generation;
* :func:`weighted_quantile` and :func:`effective_sample_size`: statistics of a weighted
  sample, which the samplers use too.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from flowsim.calibration.streams import _rng
from flowsim.ensemble.blocks import SeedLike, seed_sequence
from flowsim.results.accessor import PlotAccessor
from flowsim.results.files import atomic_file

__all__ = ["GenerationInfo", "Posterior", "effective_sample_size", "weighted_quantile"]


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

#: ``long_name`` and ``units`` (None: the parameter's own, or none) of every variable and
#: coordinate of ``posterior.nc``, so that the file describes itself in xarray or ncdump.
_LONG_NAMES: dict[str, tuple[str, str | None]] = {
    "particles": ("value of each estimated parameter in each particle", None),
    "weight": ("normalised importance weight", "1"),
    "distance": (("ABC distance to the targets (the median over the particle's replicates; "
                  "0: every range met)"), "1"),
    "observable": ("the particle's simulated observable (the mean over its replicates)", None),
    "target_id": ("the target each observation column belongs to", None),
    "target_low": ("lower end of the column's accepted range", None),
    "target_high": ("upper end of the column's accepted range", None),
    "prior": ("prior of the parameter, as written in the scenario", None),
    "fixed_value": ("declared value of every scenario parameter (used where not estimated)",
                    None),
    "epsilon": ("ABC tolerance of the generation", "1"),
    "proposed": ("particles proposed in the generation", "1"),
    "accepted": ("particles accepted in the generation", "1"),
    "acceptance_rate": ("share of proposals accepted", "1"),
    "ess": ("effective sample size of the generation's weights", "1"),
    "simulations": ("simulations run in the generation", "1"),
    "total_simulations": ("simulations run up to and including the generation", "1"),
    "rounds": ("rounds of proposals in the generation", "1"),
    "wall_time": ("wall-clock time of the generation", "s"),
    "distance_q10": ("10% quantile of the accepted distances", "1"),
    "distance_median": ("median of the accepted distances", "1"),
    "distance_q90": ("90% quantile of the accepted distances", "1"),
    "particle": ("particle index", None),
    "parameter": ("estimated parameter", None),
    "target": ("observation column of the targets", None),
    "generation": ("ABC-SMC generation", None),
    "scenario_parameter": ("parameter of the scenario", None),
}


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
        Provenance: scenario name and hash, method, stop reason, seed, settings; and the
        verdict of :mod:`flowsim.calibration.convergence` (``converged``, ``convergence``,
        ``prior_bound_warnings``, as text), read by :attr:`converged`.
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

    #: the figures of the posterior, ``posterior.plot.marginals(scenario)`` and
    #: ``.pairs(scenario)`` (registered by :mod:`flowsim.plots`; see
    #: :mod:`flowsim.results.accessor`)
    plot = PlotAccessor("posterior")

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

    @property
    def converged(self) -> bool | None:
        """Whether the sampler reached its tolerance (see
        :mod:`flowsim.calibration.convergence`); ``None`` for a posterior written before
        flowsim recorded it (convergence unknown)."""
        from flowsim.calibration.convergence import converged_from_attrs

        return converged_from_attrs(self.attrs)

    @property
    def prior_bound_warnings(self) -> tuple[str, ...]:
        """One sentence per parameter whose posterior piles up at a bound of its prior
        (:func:`flowsim.calibration.convergence.bound_pileups`); empty when none or unknown."""
        text = self.attrs.get("prior_bound_warnings") or ""
        return tuple(line for line in str(text).split("\n") if line.strip())

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
        for name, (long_name, units) in _LONG_NAMES.items():
            ds[name].attrs["long_name"] = long_name
            if units is not None:
                ds[name].attrs["units"] = units
        ds.attrs.update({k: v for k, v in self.attrs.items() if v is not None})
        ds.attrs["title"] = "flowsim posterior"
        ds.attrs["Conventions"] = "CF-1.10"
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
        """Write the posterior to a NetCDF file, all or nothing.

        Parameters
        ----------
        path : str or Path

        Returns
        -------
        Path
            ``path``. The file is written beside it and moved into place when complete
            (:func:`flowsim.results.files.atomic_file`): a failed write leaves no file, or
            the old one as it was.
        """
        ds = self.to_dataset()
        with atomic_file(path) as tmp:
            ds.to_netcdf(tmp)
        return Path(path)

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
        """Write :meth:`to_frame` as CSV, all or nothing (like :meth:`save`).

        Parameters
        ----------
        path : str or Path

        Returns
        -------
        Path
            ``path``.
        """
        df = self.to_frame()
        with atomic_file(path) as tmp:
            df.to_csv(tmp)
        return Path(path)

    def _repr_html_(self) -> str:
        """A card in a notebook (:func:`flowsim.calibration.display.posterior_html`)."""
        from flowsim.calibration.display import posterior_html

        return posterior_html(self)

    def __repr__(self) -> str:
        return (f"<flowsim.Posterior {self.attrs.get('scenario_name', '?')!r}: {self.size} "
                f"particles (ESS {self.ess:.0f}) over {', '.join(self.param_names)}; "
                f"epsilon {self.epsilon:.4g} after {len(self.generations)} generations>")

