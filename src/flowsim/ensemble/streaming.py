"""Memory-bounded ensembles: a million replicates, streamed to a NetCDF file block by block.

:func:`stream` runs the blocks of :func:`flowsim.simulate` (the same seeds, so the same
draws) but keeps no block once it is summarised. Where a block ran (a worker process, a Dask
worker), it is reduced to:

* the **headline numbers** of each of its replicates (:meth:`Results.headline`: cumulative
  departures at key dates, departures after each shock, abroad, returns, the stock in every
  destination, asylum, group shares) and any variable named in ``keep``: these per-replicate
  numbers are written to the file at the block's rows;
* **histograms** (:mod:`flowsim.ensemble.sketch`) of the headline numbers and of the series drawn in
  fan charts: cumulative departures, departures, abroad (per step), the stock in every
  country (per step), returns and asylum applications and grants (per step, and per
  country over the whole period); and their exact integer sums.

At the end the file gets quantiles of every series at :data:`DEFAULT_LEVELS` and their exact
means. The quantiles have a relative accuracy (see :mod:`flowsim.ensemble.sketch`) of 0.05% for the
totals per step and 0.2% for the headline numbers and the series by country, stated by each
quantile variable's attribute ``relative_accuracy``. Histograms and sums
add up in integers, so the file's numbers do not depend on the number of processes or
machines or on the order blocks finish. The peak memory is that of a block per worker plus
the histograms (about 120 MB for the bundled scenario), whatever the number of replicates.

The file is written beside its final place and renamed into it once complete: a failed or
interrupted run leaves nothing behind. :func:`flowsim.results.open_results` reads it back as
:class:`~flowsim.StreamedResults` (:mod:`flowsim.results.streamed`).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from flowsim.core.compile import CompiledModel, compile_scenario
from flowsim.core.engine import RECORDABLE, record_shape, tracked_record
from flowsim.ensemble.blocks import DEFAULT_BLOCK_SIZE, ParamRows, SeedLike, plan_blocks
from flowsim.ensemble.processes import resolve_workers
from flowsim.ensemble.sketch import DEFAULT_ACCURACY, Sketch
from flowsim.ensemble.workers import run_tasks
from flowsim.results.cf import CELL_METHODS, CHANCE_ONLY, COORDINATES, parameter_uncertainty
from flowsim.results.dataset import VARIABLES, Results
from flowsim.results.files import atomic_file
from flowsim.results.netcdf import SCENARIO_ATTR, scenario_json, time_encoding, with_time_bounds
from flowsim.results.streamed import StreamedResults
from flowsim.scenario.model import Scenario

#: Relative accuracy of the streamed quantiles of totals per step (see :func:`stream`).
TOTAL_ACCURACY = 0.0005

__all__ = ["DEFAULT_LEVELS", "LAYOUT", "STREAM_RECORD", "stream"]

#: Quantile levels kept for every series.
DEFAULT_LEVELS = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)

#: What the engine records in a streamed run (besides ``keep``): what the headline needs
#: (and ``first_departures`` where the model keeps returnees apart: :func:`stream_record`).
STREAM_RECORD = ("departures", "stock", "returns", "asylum_applications", "asylum_grants")


def stream_record(model: CompiledModel) -> tuple[str, ...]:
    """What a streamed run of ``model`` records: :data:`STREAM_RECORD`, and the first
    departures where the model keeps returnees apart (:func:`tracked_record`), so that its
    headline numbers are those of a run in memory."""
    return (*STREAM_RECORD, *tracked_record(model))

#: The value of the file attribute ``flowsim_layout`` that marks a streamed file.
LAYOUT = "streamed"


#: The coordinates along ``row`` that label the headline numbers (:meth:`Results.headline`).
ROW_LABELS = ("quantity", "when", "kind", "place")

#: CF attributes of the headline numbers and of the coordinates a streamed file adds.
_HEADLINE_ATTRS = {"long_name": "headline numbers of each replicate (see Results.headline)",
                   "units": "1", "comment": "counts of people, or shares from 0 to 1 for the "
                   "rows whose quantity starts with 'share'"}
_COORD_ATTRS = {
    "quantile": {"long_name": "quantile level over replicates", "units": "1"},
    "quantity": {"long_name": "headline number, in words"},
    "when": {"long_name": "date or period of the headline number, in words"},
    "kind": {"long_name": "kind of headline number (headline or destination)"},
    "place": {"long_name": "country id or group of the headline number (empty: none)"},
}


def _uncertainty(params: np.ndarray | ParamRows) -> str:
    """:func:`flowsim.results.cf.parameter_uncertainty` of a run's parameters, a chunk of
    replicates at a time (a million replicates' matrix is not copied whole)."""
    if isinstance(params, ParamRows):
        return parameter_uncertainty(params.table[np.unique(params.rows)])
    first = np.asarray(params[:1], dtype=float)
    for a in range(0, params.shape[0], 1 << 16):
        chunk = parameter_uncertainty(np.vstack([first, params[a:a + (1 << 16)]]))
        if chunk != CHANCE_ONLY:
            return chunk
    return CHANCE_ONLY


#: Series summarised per step and, for flows by country, per country over the period.
_FLOWS_BY_COUNTRY = ("returns", "asylum_applications", "asylum_grants")


def _series(res: Results) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
    """The summarised series of a block: name -> (dims after replicate, int64 values)."""
    ds = res.dataset
    origin = ds.attrs["origin"]
    dep = ds["departures"].values.sum(axis=2, dtype=np.int64)  # (B, T)
    stock = ds["stock"].values.sum(axis=3, dtype=np.int64)  # (B, T, C)
    o = list(ds["country"].values).index(origin)
    out = {
        "cumulative_departures": (("time",), np.cumsum(dep, axis=1)),
        "departures": (("time",), dep),
        "abroad": (("time",), stock.sum(axis=2) - stock[:, :, o]),
        "stock": (("time", "country"), stock),
    }
    if "first_departures" in ds:  # people, where the model keeps returnees apart
        first = ds["first_departures"].values.sum(axis=2, dtype=np.int64)
        out["cumulative_emigrants"] = (("time",), np.cumsum(first, axis=1))
    for v in _FLOWS_BY_COUNTRY:
        x = ds[v].values.sum(axis=3, dtype=np.int64)  # (B, T, C)
        out[v] = (("time",), x.sum(axis=2))
        out[f"{v}_by_country"] = (("country",), x.sum(axis=1))
    return out


def _reduce_block(res: Results, keep: tuple[str, ...], sketches: dict[str, Sketch],
                  reals: Sketch) -> dict[str, Any]:
    """What a block sends back: per-replicate rows, sparse histograms, sums."""
    head = res.headline().values
    series = _series(res)
    out: dict[str, Any] = {"headline": head, "keep": {v: res.dataset[v].values for v in keep}}
    for group, sketch in sketches.items():
        flat = np.concatenate([x.reshape(x.shape[0], -1) for name, (_, x) in series.items()
                               if _group(name, series[name][0]) == group], axis=1)
        out[group] = (*sketch.histogram(flat), flat.sum(axis=0, dtype=np.int64))
    rk, rn = reals.histogram(head)
    out["headline_hist"] = (rk, rn, head.sum(axis=0))
    return out


def _group(name: str, dims: tuple[str, ...]) -> str:
    """Series by country are many and get the coarser accuracy; totals the finer one."""
    return "by_country" if "country" in dims else "total"


@dataclasses.dataclass
class _Layout:
    """Names, dimensions and sizes of the summarised series, from a one-replicate probe."""

    series: dict[str, tuple[str, ...]]
    shapes: dict[str, tuple[int, ...]]
    head: xr.DataArray

    def names(self, group: str) -> list[str]:
        """The series of a group, in order."""
        return [n for n, d in self.series.items() if _group(n, d) == group]

    def width(self, group: str) -> int:
        """Number of numbers per replicate in a group."""
        return sum(int(np.prod(self.shapes[n])) for n in self.names(group))


def _layout(model: CompiledModel, scenario: Scenario | None, root: Any) -> _Layout:
    """Row labels and series shapes do not depend on the draws: read them off a zero run."""
    zero = {v: np.zeros((1, model.n_steps, *record_shape(model, v)), dtype=np.int32)
            for v in stream_record(model)}
    res = Results.from_arrays(model, zero, model.default_params(1), root=root, block_size=1,
                              scenario=scenario)
    series = _series(res)
    return _Layout({k: d for k, (d, _) in series.items()},
                   {k: tuple(x.shape[1:]) for k, (_, x) in series.items()},
                   res.headline())


class _StreamFile:
    """The NetCDF file under construction: coordinates first, then rows block by block."""

    def __init__(self, tmp: Path, skeleton: xr.Dataset, replicates: int, block_size: int,
                 rows: int, params: np.ndarray, keep: Mapping[str, tuple[int, ...]]) -> None:
        import netCDF4

        skeleton.to_netcdf(tmp, mode="w", format="NETCDF4", engine="netcdf4",
                           encoding=time_encoding(skeleton))
        self.nc = netCDF4.Dataset(tmp, "a")
        nc = self.nc
        nc.createDimension("replicate", replicates)
        rep = nc.createVariable("replicate", "i8", ("replicate",))
        rep.setncatts(COORDINATES["replicate"])
        chunk = min(block_size, replicates)
        for a in range(0, replicates, 1 << 20):
            rep[a:a + (1 << 20)] = np.arange(a, min(a + (1 << 20), replicates))

        def var(name: str, dtype: str, dims: tuple[str, ...], shape: tuple[int, ...],
                attrs: dict[str, str]) -> Any:
            v = nc.createVariable(name, dtype, ("replicate", *dims), zlib=True, complevel=1,
                                  shuffle=True, chunksizes=(chunk, *shape), fill_value=False)
            v.setncatts(attrs)
            # blocks fill whole chunks: a small cache, so that it cannot grow with the run
            v.set_var_chunk_cache(size=4 * 1024 * 1024)
            return v

        var("headline", "f8", ("row",), (rows,), _HEADLINE_ATTRS)
        P = params.shape[1]
        pv = var("params", "f8", ("parameter",), (P,),
                 {"long_name": "parameter values per replicate",
                  "comment": "each parameter in the unit its scenario declares (a weekly "
                  "probability, a multiplier, a number of days, ...)"})
        for a in range(0, replicates, 1 << 16):
            pv[a:a + (1 << 16)] = params[a:a + (1 << 16)]
        for name, shape in keep.items():
            attrs = {"long_name": f"number of people: {VARIABLES[name]}", "units": "1"}
            if name in CELL_METHODS:
                attrs["cell_methods"] = CELL_METHODS[name]
            var(name, "i4", ("time", *RECORDABLE[name]), shape, attrs)

    def write(self, rows: slice, block: dict[str, Any]) -> None:
        self.nc["headline"][rows] = block["headline"]
        for name, x in block["keep"].items():
            self.nc[name][rows] = x

    def close(self) -> None:
        self.nc.close()


def stream(
    scenario: Scenario | CompiledModel,
    path: str | os.PathLike[str],
    replicates: int = 1000,
    seed: SeedLike = 1,
    workers: int = 0,
    params: Mapping[str, Any] | np.ndarray | ParamRows | None = None,
    keep: Sequence[str] = (),
    block_size: int = DEFAULT_BLOCK_SIZE,
    levels: Sequence[float] = DEFAULT_LEVELS,
    accuracy: float = DEFAULT_ACCURACY,
    total_accuracy: float = TOTAL_ACCURACY,
    progress: Callable[[int, int], None] | None = None,
    client: Any = None,
    scheduler: str | None = None,
    pool: Any = None,
) -> StreamedResults:
    """Simulate a large ensemble in bounded memory, writing it to a NetCDF file as it goes.

    The replicates are those of :func:`flowsim.simulate` with the same ``seed`` and
    ``block_size`` (exact sampling); only their headline numbers, the variables in ``keep``
    and streamed quantiles are kept (see the module docstring).

    Parameters
    ----------
    scenario : Scenario or CompiledModel
    path : str or Path
        The NetCDF file to write; replaced, once complete, if it exists.
    replicates, seed, workers, params, block_size, progress, client, scheduler, pool
        As for :func:`flowsim.simulate`.
    keep : sequence of str
        Variables to keep for every replicate (e.g. ``("departures",)``: 2.5 kB per
        replicate of the bundled scenario, before compression). Default: none.
    levels : sequence of float
        Quantile levels to keep for every series (0.05, 0.5 and 0.95 at least, for the
        summary).
    accuracy : float
        Relative accuracy of the quantiles of the headline numbers and of the series by
        country (see :mod:`flowsim.ensemble.sketch`).
    total_accuracy : float
        Relative accuracy of the quantiles of the totals per step (cumulative departures,
        abroad, ...): finer, so that a fan chart's median does not move in steps of a
        bucket.

    Returns
    -------
    StreamedResults
        Reading the file written.
    """
    model = scenario if isinstance(scenario, CompiledModel) else compile_scenario(scenario)
    scen = None if isinstance(scenario, CompiledModel) else scenario
    levels = tuple(sorted({float(q) for q in levels} | {0.05, 0.5, 0.95}))
    if not all(0.0 <= q <= 1.0 for q in levels):
        raise ValueError(f"quantile levels must lie in [0, 1], got {levels}")
    keep = tuple(dict.fromkeys(keep))
    bad = [v for v in keep if v not in RECORDABLE]
    if bad:
        raise ValueError(f"cannot keep {bad}; choose from {sorted(RECORDABLE)}")
    plan = plan_blocks(model, replicates, seed, params, (*stream_record(model), *keep),
                       block_size, "exact")
    # no count exceeds a few times the people followed (people may return and leave again)
    top = 4.0 * max(float(np.max(np.sum(model.people(plan.params[a:a + 65536]),
                                        axis=-1))) for a in range(0, replicates, 65536))
    sketches = {"total": Sketch(total_accuracy, True, top),
                "by_country": Sketch(accuracy, True, top)}
    reals = Sketch(accuracy, False, top)
    reduce = functools.partial(_reduce_block, keep=keep, sketches=sketches, reals=reals)
    plan.tasks[:] = [(*task[:-1], reduce) for task in plan.tasks]
    workers = resolve_workers(workers)
    lay = _layout(model, scen, plan.root)
    skeleton = Results.from_arrays(model, {}, np.zeros((0, len(model.param_names))),
                                   root=plan.root, block_size=block_size, scenario=scen)
    base = skeleton.dataset.drop_vars(["params", "replicate"])
    base = with_time_bounds(base.assign_coords(
        quantile=list(levels), **{k: ("row", lay.head[k].values.astype(str))
                                  for k in ROW_LABELS}))
    for k, attrs in _COORD_ATTRS.items():
        base[k].attrs.update(attrs)
    base.attrs.update({"replicates": int(replicates), "flowsim_layout": LAYOUT,
                       "parameter_uncertainty": _uncertainty(plan.params),
                       "recorded": ",".join(plan.record), "kept": ",".join(keep),
                       "quantile_method": "DDSketch histograms (flowsim.ensemble.sketch), levels "
                       "interpolated as numpy's default (type 7); each NAME_quantile variable "
                       "states its relative_accuracy",
                       "quantile_accuracy": accuracy})
    if scen is not None:
        base.attrs[SCENARIO_ATTR] = scenario_json(scen)
    keep_shapes = {v: (model.n_steps, *record_shape(model, v)) for v in keep}

    path = Path(path)
    with atomic_file(path) as tmp:
        out = _StreamFile(tmp, base, int(replicates), block_size, lay.head.sizes["row"],
                          plan.params, keep_shapes)
        try:
            rows_q = lay.head.sizes["row"]
            hists = {g: np.zeros(lay.width(g) * sk.size, dtype=np.int32)
                     for g, sk in sketches.items()}
            sums = {g: np.zeros(lay.width(g), dtype=np.int64) for g in sketches}
            hist_r = np.zeros(rows_q * reals.size, dtype=np.int32)
            sums_r: dict[int, np.ndarray] = {}
            total, done = int(replicates) * model.n_steps, 0
            for b, block in run_tasks(model, scen, plan.tasks, workers, client, scheduler,
                                      pool):
                rows = plan.span(b)
                out.write(rows, block)
                for g in sketches:
                    keys, n, sum_ = block[g]
                    hists[g][keys] += n
                    sums[g] += sum_
                keys, n, sums_r[b] = block["headline_hist"]
                hist_r[keys] += n
                done += (rows.stop - rows.start) * model.n_steps
                if progress is not None:
                    progress(done, total)
        finally:
            out.close()
        # the real sums are added in block order, so their rounding does not depend on
        # the order blocks finished
        sum_r = np.sum([sums_r[b] for b in range(plan.n_blocks)], axis=0)
        summary = _summaries(lay, sketches, hists, sums, reals, hist_r, sum_r, levels,
                             int(replicates))
        summary.to_netcdf(tmp, mode="a", format="NETCDF4", engine="netcdf4",
                          encoding={v: {"zlib": True, "complevel": 1} for v in summary})
    return StreamedResults.open(path)


def _summaries(lay: _Layout, sketches: dict[str, Sketch], hists: dict[str, np.ndarray],
               sums: dict[str, np.ndarray], reals: Sketch, hist_r: np.ndarray,
               sum_r: np.ndarray, levels: tuple[float, ...], n: int) -> xr.Dataset:
    """Quantiles and means of every series, as dataset variables."""
    out: dict[str, xr.Variable] = {}
    for g, sketch in sketches.items():
        q = sketch.quantiles(hists[g].reshape(lay.width(g), sketch.size), levels)
        a = 0
        for name in lay.names(g):
            dims, shape = lay.series[name], lay.shapes[name]
            k = int(np.prod(shape))
            what = name.replace("_", " ")
            out[f"{name}_quantile"] = xr.Variable(
                ("quantile", *dims), q[:, a:a + k].reshape(len(levels), *shape),
                attrs={"long_name": f"number of people: quantiles of {what} over replicates",
                       "units": "1", "relative_accuracy": sketch.accuracy})
            out[f"{name}_mean"] = xr.Variable(
                dims, (sums[g][a:a + k] / n).reshape(shape),
                attrs={"long_name": f"number of people: mean of {what} over replicates",
                       "units": "1"})
            a += k
    qr = reals.quantiles(hist_r.reshape(-1, reals.size), levels)
    out["headline_quantile"] = xr.Variable(("quantile", "row"), qr, attrs={
        "long_name": "quantiles of the headline numbers over replicates",
        "units": "1", "relative_accuracy": reals.accuracy})
    out["headline_mean"] = xr.Variable(("row",), sum_r / n, attrs={
        "long_name": "mean of the headline numbers over replicates", "units": "1"})
    return xr.Dataset(out)


