"""Paired comparisons of policy scenarios, with common random numbers.

:func:`compare` runs a baseline and its counterfactuals on the same parameter draws and with
the coupled sampler (:mod:`flowsim.core.samplers`), so that replicate ``i`` of every scenario sees
the same random numbers for the same events. The effect of a policy on an outcome is then
the per-replicate difference ``counterfactual - baseline``, whose spread reflects the
uncertainty about the parameters and the genuine randomness of who moves, not the noise of
two unrelated runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from flowsim.comparison.outcomes import outcomes
from flowsim.core.compile import compile_scenario
from flowsim.core.engine import tracked_record
from flowsim.ensemble.blocks import SeedLike, seed_sequence
from flowsim.ensemble.simulation import simulate
from flowsim.results.accessor import PlotAccessor
from flowsim.results.dataset import Results, place_names
from flowsim.scenario.model import Scenario
from flowsim.scenario.report import label, report_blocs

__all__ = ["Comparison", "compare",]


RECORD = ("stock", "departures", "returns", "asylum_applications", "asylum_grants",
          "settled")


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Paired effects of counterfactual scenarios against a baseline.

    Attributes
    ----------
    values : xarray.DataArray
        Every outcome for every scenario and replicate, dims (scenario, outcome, replicate);
        the first scenario is the baseline.
    results : dict of str to Results
        The simulations, by scenario name.
    quantiles : tuple of float
        The interval reported (default: the 90% interval, 0.05 to 0.95).
    plot : accessor
        The figures of the comparison with it bound: ``comparison.plot.effects()``,
        ``.by_place()``, ``.by_cohort()``, ``.differences()``, ... (``dir(comparison.plot)``
        lists them; registered by :mod:`flowsim.plots`).
    """

    plot = PlotAccessor("comparison")

    values: xr.DataArray
    results: dict[str, Results]
    quantiles: tuple[float, float] = (0.05, 0.95)

    @property
    def baseline(self) -> str:
        return str(self.values["scenario"].values[0])

    @property
    def counterfactuals(self) -> list[str]:
        return [str(s) for s in self.values["scenario"].values[1:]]

    @property
    def differences(self) -> xr.DataArray:
        """Per-replicate ``counterfactual - baseline``, dims (scenario, outcome, replicate)."""
        base = self.values.sel(scenario=self.baseline)
        return self.values.sel(scenario=self.counterfactuals) - base

    @property
    def ratios(self) -> xr.DataArray:
        """Per-replicate ``counterfactual / baseline`` (NaN where the baseline is 0)."""
        base = self.values.sel(scenario=self.baseline)
        return self.values.sel(scenario=self.counterfactuals) / base.where(base != 0)

    def effects(self) -> Any:
        """The effects table: one row per counterfactual and outcome.

        Returns
        -------
        pandas.DataFrame
            Columns: ``counterfactual``, ``outcome``, ``baseline`` and ``counterfactual_median``
            (medians of each scenario's outcome), ``difference`` with ``difference_low`` and
            ``difference_high`` (median and interval of the paired difference), ``ratio`` with
            ``ratio_low`` and ``ratio_high`` (of the paired ratio), and ``place`` and
            ``place_name`` (the bloc or country id an outcome is about and its name in
            words, "" for none).
        """
        import pandas as pd

        lo, hi = self.quantiles
        base = self.values.sel(scenario=self.baseline)
        diff, ratio = self.differences, self.ratios
        names = self._place_names()
        places = (self.values["place"].values.astype(str) if "place" in self.values.coords
                  else np.full(self.values.sizes["outcome"], ""))
        rows = []
        for cf in self.counterfactuals:
            for out, place in zip(self.values["outcome"].values, places, strict=True):
                d = diff.sel(scenario=cf, outcome=out).values
                r = ratio.sel(scenario=cf, outcome=out).values
                r = r[np.isfinite(r)]
                rows.append({
                    "counterfactual": cf,
                    "outcome": str(out),
                    "baseline": float(np.median(base.sel(outcome=out).values)),
                    "counterfactual_median": float(np.median(
                        self.values.sel(scenario=cf, outcome=out).values)),
                    "difference": float(np.median(d)),
                    "difference_low": float(np.quantile(d, lo)),
                    "difference_high": float(np.quantile(d, hi)),
                    "ratio": float(np.median(r)) if r.size else float("nan"),
                    "ratio_low": float(np.quantile(r, lo)) if r.size else float("nan"),
                    "ratio_high": float(np.quantile(r, hi)) if r.size else float("nan"),
                    # last, so that a reader of the columns by position reads what it did
                    "place": str(place),
                    "place_name": names.get(str(place), str(place)),
                })
        from flowsim.results.tables import Table

        return Table(pd.DataFrame(rows))

    def _place_names(self) -> dict[str, str]:
        """The names of the countries, groups and blocs the outcomes are about, from the
        baseline's scenario (a saved comparison keeps it as ``scenario``)."""
        run = self.results.get(self.baseline)
        scenario = getattr(self, "scenario", None) or (run.scenario if run is not None
                                                       else None)
        names = place_names(run.dataset, scenario) if run is not None else \
            place_names(xr.Dataset(), scenario)
        if scenario is not None:
            names.update({b: label(scenario, b) for b in report_blocs(scenario)})
        return names

    def __repr__(self) -> str:
        n = self.values.sizes["replicate"]
        return (f"<flowsim.Comparison {', '.join(map(repr, self.counterfactuals))} against "
                f"{self.baseline!r}: {n:,} replicates, {self.values.sizes['outcome']} "
                "outcomes>")

    def _repr_html_(self) -> str:
        from flowsim.results.display import card

        lo, hi = self.quantiles
        facts = [("baseline", self.baseline),
                 ("counterfactuals", ", ".join(self.counterfactuals)),
                 ("replicates", f"{self.values.sizes['replicate']:,}"),
                 ("outcomes", self.values.sizes["outcome"]),
                 ("interval", f"{hi - lo:.0%} (quantiles {lo:g} and {hi:g})")]
        table = self.effects().to_html(index=False, float_format=lambda x: f"{x:,.4g}",
                                       border=0)
        return card("flowsim.Comparison", facts,
                    [("effects (paired differences and ratios)", table, True)])

    def to_dataset(self) -> xr.Dataset:
        """Values, differences and ratios as one dataset (for NetCDF)."""
        order = self.values["scenario"]  # aligning would sort the scenarios by name
        ds = xr.Dataset({"value": self.values,
                         "difference": self.differences.reindex(scenario=order),
                         "ratio": self.ratios.reindex(scenario=order)})
        ds.attrs.update({"baseline": self.baseline,
                         "counterfactuals": ", ".join(self.counterfactuals),
                         "sampling": "coupled"})
        return ds


def _named(scenarios: Scenario | Sequence[Scenario] | Mapping[str, Scenario]
           ) -> dict[str, Scenario]:
    if isinstance(scenarios, Scenario):
        scenarios = [scenarios]
    if isinstance(scenarios, Mapping):
        return dict(scenarios)
    out: dict[str, Scenario] = {}
    for s in scenarios:
        name, i = s.name, 2
        while name in out:
            name, i = f"{s.name} ({i})", i + 1
        out[name] = s
    return out


def _posterior_draws(posterior: Any, n: int, seed: np.random.SeedSequence
                     ) -> tuple[list[str], np.ndarray]:
    """Parameter names and an ``(n, names)`` matrix of draws from a posterior.

    Takes an object with ``parameter_names`` and ``sample(n, seed)``, or a
    :class:`flowsim.calibration.Posterior` (``param_names``): of the latter only the estimated
    parameters are drawn, so that every other parameter keeps each scenario's own value.
    """
    if getattr(posterior, "parameter_names", None) is None and hasattr(posterior, "param_names"):
        names = list(posterior.param_names)
        return names, np.asarray(posterior.sample(n, seed=seed, parameters=names), dtype=float)
    names = list(posterior.parameter_names)
    return names, np.asarray(posterior.sample(n, seed=seed), dtype=float)


def _params_for(scenario: Scenario, names: Sequence[str], matrix: np.ndarray | None,
                replicates: int) -> dict[str, np.ndarray] | None:
    """The shared draws, by name, restricted to the parameters this scenario declares."""
    if matrix is None:
        return None
    return {n: matrix[:, i] for i, n in enumerate(names) if n in scenario.parameters}


def compare(
    baseline: Scenario,
    counterfactuals: Scenario | Sequence[Scenario] | Mapping[str, Scenario],
    replicates: int = 1000,
    seed: SeedLike = 1,
    posterior: Any = None,
    params: Mapping[str, Any] | None = None,
    dates: Sequence[dt.date] | None = None,
    workers: int = 0,
    client: Any = None,
    progress: Callable[[str, int, int], None] | None = None,
    record: Sequence[str] = (),
    by: Sequence[str] = (),
) -> Comparison:
    """Run a baseline and counterfactuals on the same draws and report paired effects.

    Parameters
    ----------
    baseline : Scenario
    counterfactuals : Scenario, list of Scenario, or mapping of name to Scenario
        Usually overlays of the baseline (``extends:``) that add, remove or replace policies.
    replicates : int
    seed : int, SeedSequence, Generator or None
        Default 1, as ``flowsim compare`` (``None`` for fresh entropy). Shared by every
        scenario: with coupled sampling, the same seed means the same random
        numbers for the same event in every scenario.
    posterior : object with ``sample(n, seed)`` and ``parameter_names``, optional
        Draw each replicate's parameters from it (the same draws for every scenario); a
        :class:`flowsim.calibration.Posterior` is accepted too (its estimated parameters);
        parameters a scenario does not declare are ignored, and parameters only it declares
        keep their values.
    params : mapping, optional
        Fixed parameter values (or one per replicate) for every scenario, by name.
    dates : sequence of date, optional
        Dates for the "abroad at" outcomes.
    workers, client
        As for :func:`flowsim.simulate` (default 0: one process per CPU, as the command).
    progress : callable, optional
        ``progress(scenario_name, done, total)``.
    record : sequence of str
        Variables to record besides those the outcomes need (:data:`RECORD`), kept in
        :attr:`Comparison.results` (e.g. ``("flow",)``).
    by : sequence of {"country", "cohort"}
        Also report effects by country (``in XXX at END`` for every country but the
        origin) and by cohort (departures and returns of each cohort); see
        :func:`flowsim.comparison.outcomes`.

    Returns
    -------
    Comparison
    """
    bad = sorted(set(by) - {"country", "cohort"})
    if bad:
        raise ValueError(f"cannot report effects by {bad}; choose from ['cohort', 'country']")
    recorded = tuple(dict.fromkeys((*RECORD, *record)))
    cfs = _named(counterfactuals)
    if baseline.name in cfs:
        raise ValueError(f"a counterfactual has the baseline's name {baseline.name!r}; "
                         "give the counterfactuals a mapping of distinct names")
    scenarios = {baseline.name: baseline, **cfs}
    root = seed_sequence(seed)
    sim_seed, draw_seed = root.spawn(2)
    names: list[str] = []
    matrix: np.ndarray | None = None
    if posterior is not None:
        names, matrix = _posterior_draws(posterior, replicates, draw_seed)
        if matrix.shape != (replicates, len(names)):
            raise ValueError(f"the posterior's sample has shape {matrix.shape}; expected "
                             f"({replicates}, {len(names)})")
    if params is not None:
        fixed = {k: np.broadcast_to(np.asarray(v, dtype=float), (replicates,))
                 for k, v in params.items()}
        if matrix is None:
            names, matrix = list(fixed), np.stack(list(fixed.values()), axis=1) \
                if fixed else None
        else:
            for k, v in fixed.items():
                if k in names:
                    matrix[:, names.index(k)] = v
                else:
                    names.append(k)
                    matrix = np.column_stack([matrix, v])
    if matrix is not None:
        declared = set().union(*(s.parameters for s in scenarios.values()))
        unknown = [n for n in names if n not in declared]
        if params is not None and unknown:
            raise KeyError(f"no scenario declares the parameters {', '.join(unknown)}")

    results: dict[str, Results] = {}
    values = []
    for name, scenario in scenarios.items():
        model = compile_scenario(scenario)

        def step(done: int, total: int, _name: str = name) -> None:
            if progress is not None:
                progress(_name, done, total)

        # the emigrants (people) beside the departures, where the model tells them apart
        wanted = (*recorded, *tracked_record(model))
        r = simulate(model, replicates=replicates, seed=sim_seed, workers=workers,
                     params=_params_for(scenario, names, matrix, replicates), record=wanted,
                     sampling="coupled", client=client, progress=step)
        r = Results(r.dataset, scenario)
        results[name] = r
        values.append(outcomes(r, dates, by=by))
    common = [o for o in values[0]["outcome"].values
              if all(o in v["outcome"].values for v in values)]
    stacked = xr.concat([v.sel(outcome=common) for v in values], dim="scenario")
    stacked = stacked.assign_coords(scenario=list(scenarios))
    return Comparison(stacked, results)
