"""A streamed run's file read back: :class:`StreamedResults`.

:func:`flowsim.stream` writes per-replicate headline numbers and, for every series drawn in
the figures, quantiles over replicates from mergeable histograms and exact means. This
module reads such a file: small variables at once, per-replicate ones only when used.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
import xarray as xr

from flowsim.results.accessor import PlotAccessor
from flowsim.results.dataset import place_names, summary_table

#: Bytes of per-replicate numbers an exact summary reads at a time.
READ_BUDGET = 128 * 1024 * 1024


class StreamedResults:
    """A streamed run read back: quantiles and means over replicates, and per-replicate rows.

    Variables of :attr:`dataset`: ``headline`` (replicate, row) and any kept variable, read
    from the file only when used; for every series ``NAME`` (``cumulative_departures``,
    ``departures``, ``abroad``, ``stock``, ``returns``, ``asylum_applications``,
    ``asylum_grants`` per step; ``returns_by_country``, ... over the whole period),
    ``NAME_quantile`` (quantile, ...) and ``NAME_mean``; ``headline_quantile`` and
    ``headline_mean``.

    Attributes
    ----------
    dataset : xarray.Dataset
    scenario : Scenario or None
        The scenario embedded in the file.
    plot : accessor
        The figures of the run, as for :class:`~flowsim.Results` (those a streamed run
        can draw: drawn from its streamed quantiles).
    """

    plot = PlotAccessor("results")

    def __init__(self, dataset: xr.Dataset, scenario: Any = None) -> None:
        self.dataset = dataset
        self.scenario = scenario

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> StreamedResults:
        """Open a file written by :func:`stream` (what :func:`flowsim.results.open_results`
        does for such a file)."""
        from flowsim.results.netcdf import SCENARIO_ATTR, TIME_BOUNDS, _embedded_scenario

        path = Path(path)
        ds = raw = xr.open_dataset(path, engine="netcdf4")
        small = [v for v in ds.variables if "replicate" not in ds[v].dims]
        ds = ds.assign({v: ds[v].load() for v in small if v in ds.data_vars})
        ds = ds.assign_coords({n: ds[n].astype(str) for n in ds.coords if ds[n].dtype == object})
        # the time bounds repeat step_start and time (written for CF readers), as in
        # open_results
        if TIME_BOUNDS in ds.variables:
            ds = ds.drop_vars(TIME_BOUNDS)
            ds["time"].attrs = {k: v for k, v in ds["time"].attrs.items() if k != "bounds"}
        # a dataset derived from another does not close its file: this one must, so that
        # close() lets the file be written again (HDF5 refuses while it is open here)
        ds.set_close(raw.close)
        text = ds.attrs.pop(SCENARIO_ATTR, None)
        scenario = _embedded_scenario(text, path) if text is not None else None
        return cls(ds, scenario)

    @property
    def replicates(self) -> int:
        """Number of replicates."""
        return int(self.dataset.sizes["replicate"])

    @property
    def levels(self) -> tuple[float, ...]:
        """The quantile levels kept."""
        return tuple(float(q) for q in self.dataset["quantile"].values)

    @property
    def recorded(self) -> tuple[str, ...]:
        """The variables the engine recorded (summarised, not kept, unless in ``kept``)."""
        return tuple(v for v in str(self.dataset.attrs.get("recorded", "")).split(",") if v)

    def quantiles(self, name: str, levels: Sequence[float] | None = None) -> xr.DataArray:
        """Streamed quantiles of a series, ``(quantile, ...)``.

        Parameters
        ----------
        name : str
            A series (``cumulative_departures``, ``stock``, ...) or ``headline``.
        levels : sequence of float, optional
            Among :attr:`levels` (default: all).
        """
        key = f"{name}_quantile"
        if key not in self.dataset:
            known = sorted(v[:-len("_quantile")] for v in self.dataset.data_vars
                           if str(v).endswith("_quantile"))
            raise KeyError(f"no streamed series {name!r}; the file has {', '.join(known)}")
        da = self.dataset[key]
        if levels is None:
            return da
        missing = [q for q in levels if not np.isclose(self.levels, q).any()]
        if missing:
            raise KeyError(f"the quantiles at {missing} were not kept; this run kept "
                           f"{', '.join(map(str, self.levels))} (stream(..., levels=...))")
        idx = [int(np.argmin(np.abs(np.array(self.levels) - q))) for q in levels]
        return da.isel(quantile=idx)

    def mean(self, name: str) -> xr.DataArray:
        """The mean over replicates of a series (exact)."""
        return self.dataset[f"{name}_mean"]

    def headline(self) -> xr.DataArray:
        """The headline numbers of every replicate, ``(replicate, row)`` (read lazily)."""
        return self.dataset["headline"]

    def summary(self, quantiles: tuple[float, float, float] = (0.05, 0.5, 0.95),
                exact: bool = True) -> Any:
        """The headline numbers, as :meth:`flowsim.Results.summary` gives them.

        Parameters
        ----------
        quantiles : (float, float, float)
            Levels of ``low``, ``median`` and ``high``.
        exact : bool
            Compute quantiles and means from the per-replicate headline numbers in the
            file, read a few rows of the headline at a time (at most
            :data:`READ_BUDGET` bytes), so that they equal those of
            :meth:`flowsim.Results.summary` on the same replicates bit for bit. With
            ``False``, take the streamed quantiles (any level kept; relative accuracy
            ``quantile_accuracy``, see :mod:`flowsim.ensemble.sketch`) and the streamed means
            (exact but for float rounding), without reading the replicates.

        Returns
        -------
        pandas.DataFrame
        """
        ds = self.dataset
        if exact:
            head = ds["headline"]
            Q = head.sizes["row"]
            step = max(1, READ_BUDGET // (8 * max(self.replicates, 1)))
            stats = np.zeros((Q, 4))
            for a in range(0, Q, step):
                values = head.isel(row=slice(a, a + step)).values
                stats[a:a + step, :3] = np.quantile(values, list(quantiles), axis=0).T
                stats[a:a + step, 3] = values.mean(axis=0)
                del values
        else:
            q = self.quantiles("headline", quantiles).values
            stats = np.column_stack([q.T, ds["headline_mean"].values])
        return summary_table(ds["quantity"].values, ds["when"].values, ds["kind"].values,
                             stats, place=ds["place"].values if "place" in ds.coords else None,
                             names=place_names(ds, self.scenario))

    def close(self) -> None:
        """Close the file (per-replicate variables can no longer be read)."""
        self.dataset.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _repr_html_(self) -> str:
        from flowsim.results.display import results_html

        return results_html(self)

    def __repr__(self) -> str:
        a = self.dataset.attrs
        return (f"<flowsim.StreamedResults {a.get('scenario_name', '?')!r}: "
                f"{self.replicates} replicates × {self.dataset.sizes['time']} steps, "
                f"quantiles at {', '.join(map(str, self.levels))}>")
