"""Results of a simulation: a labelled ``xarray.Dataset`` and the questions researchers ask.

Dimensions: ``replicate``, ``time`` (each step's last day), ``country``, ``cohort`` and, for
flows, ``route``. Variables are counts of people (see :data:`VARIABLES`); ``params`` holds
each replicate's parameter vector.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import xarray as xr

from flowsim._version import __version__
from flowsim.core.compile import CompiledModel
from flowsim.core.engine import RECORDABLE
from flowsim.results.accessor import PlotAccessor
from flowsim.results.cf import CONVENTIONS, describe, parameter_uncertainty
from flowsim.scenario.report import label as label_of
from flowsim.scenario.report import report_dates, report_groups, report_windows

__all__ = ["VARIABLES", "Results"]

VARIABLES: dict[str, str] = {
    "stock": "people in the country at the end of the step (present, waiting for a visa, "
    "claiming asylum or settled); for the origin, those who never left or came back",
    "departures": "departures from the origin during the step (crossings: a person who "
    "returned and leaves again departs again)",
    "first_departures": "first departures from the origin during the step (people who "
    "never left before)",
    "returns": "returns to the origin during the step, by the country returned from",
    "arrivals": "entries into the country during the step",
    "settled": "people holding a permit or protection in the country at the end of the step",
    "asylum_applications": "asylum claims lodged during the step",
    "asylum_decisions": "asylum decisions during the step",
    "asylum_grants": "positive asylum decisions during the step",
    "visas_issued": "visas and humanitarian admissions granted and used during the step, by "
    "destination",
    "flow": "people crossing each route during the step",
}


def _date(x: dt.date | str | np.datetime64) -> dt.date:
    """A calendar date from a date, a datetime, an ISO string or a numpy/pandas datetime."""
    if isinstance(x, dt.datetime):
        return x.date()
    if isinstance(x, dt.date):
        return x
    if isinstance(x, np.datetime64):
        return x.astype("datetime64[D]").astype(dt.date)
    if hasattr(x, "to_pydatetime"):  # pandas.Timestamp
        return x.to_pydatetime().date()
    return dt.date.fromisoformat(str(x)[:10])


class Results:
    """The outcome of :func:`flowsim.simulate`.

    Attributes
    ----------
    dataset : xarray.Dataset
        Every recorded variable, labelled (see :data:`VARIABLES`).
    scenario : Scenario or None
        The scenario simulated (``None`` when only a compiled model was given).
    plot : accessor
        The figures of the run with the results bound: ``results.plot.stocks()``,
        ``.flows()``, ``.where()``, ``.routes()``, ... (``dir(results.plot)`` lists them;
        registered by :mod:`flowsim.plots`).
    """

    plot = PlotAccessor("results")

    def __init__(self, dataset: xr.Dataset, scenario: Any = None) -> None:
        self.dataset = dataset
        self.scenario = scenario

    @classmethod
    def from_arrays(cls, model: CompiledModel, data: dict[str, np.ndarray], params: np.ndarray,
                    root: np.random.SeedSequence, block_size: int, scenario: Any = None,
                    sampling: str = "exact") -> Results:
        """Label the engine's arrays (the inverse of nothing: this is where labels begin)."""
        R = params.shape[0]
        created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        coords: dict[str, Any] = {
            "replicate": np.arange(R),
            "time": np.array([np.datetime64(d, "ns") for d in model.step_ends]),
            "country": list(model.country_ids),
            "cohort": list(model.cohort_names),
            "route": list(model.route_keys),
            "parameter": list(model.param_names),
            "country_name": ("country", list(model.country_names)),
            "route_from": ("route", [model.country_ids[i] for i in model.route_src]),
            "route_to": ("route", [model.country_ids[i] for i in model.route_dst]),
            "route_mode": ("route", list(model.route_mode)),
            "step_start": ("time", np.array([np.datetime64(d, "ns") for d in model.step_starts])),
        }
        variables = {}
        for name, arr in data.items():
            variables[name] = xr.Variable(("replicate", "time", *RECORDABLE[name]), arr)
        variables["params"] = xr.Variable(("replicate", "parameter"), params)
        ds = xr.Dataset(variables, coords=coords)
        if "flow" not in data:
            ds = ds.drop_vars(["route", "route_from", "route_to", "route_mode"])
        describe(ds, VARIABLES)
        ds.attrs.update({
            "Conventions": CONVENTIONS,
            "title": f"flowsim results: {model.name}",
            "source": f"flowsim {__version__}: stochastic simulation of migration flows "
                      f"({sampling} sampling)",
            "parameter_uncertainty": parameter_uncertainty(params),
            "scenario_name": model.name,
            "scenario_hash": model.scenario_hash,
            "flowsim_version": __version__,
            "seed_entropy": str(root.entropy),
            "seed_spawn_key": ",".join(map(str, root.spawn_key)),
            "block_size": block_size,
            "replicates": R,
            "sampling": sampling,
            "origin": model.country_ids[model.origin],
            "created": created,
            "history": f"{created}: simulated by flowsim {__version__}",
        })
        return cls(ds, scenario)

    # -- places, dates and windows -----------------------------------------------------------

    def countries_in(self, where: str | list[str] | tuple[str, ...] | None) -> list[str]:
        """Country ids selected by a country id, a group name, or a list of them."""
        ids = [str(c) for c in self.dataset["country"].values]
        if where is None:
            return ids
        names = [where] if isinstance(where, str) else list(where)
        groups = self.scenario.group_members() if self.scenario is not None else {}
        out: list[str] = []
        for n in names:
            if n in groups:
                out += [c for c in ids if c in groups[n] and c not in out]
            elif n in ids:
                if n not in out:
                    out.append(n)
            else:
                from flowsim.errors import did_you_mean

                raise KeyError(f"unknown country or group {n!r}"
                               f"{did_you_mean(n, ids + sorted(groups))}")
        return out

    def _step_at(self, at: dt.date | str) -> int:
        at = _date(at)
        starts = self.dataset["step_start"].values.astype("datetime64[D]")
        ends = self.dataset["time"].values.astype("datetime64[D]")
        d = np.datetime64(at, "D")
        if d < starts[0] or d > ends[-1]:
            raise ValueError(f"{at} is outside the simulated period ({starts[0]} to {ends[-1]})")
        return int(np.searchsorted(ends, d, side="left"))

    def _window(self, start: dt.date | str | None, end: dt.date | str | None) -> xr.DataArray:
        """Weight of each step inside ``[start, end]`` (days inside / days in the step)."""
        starts = self.dataset["step_start"].values.astype("datetime64[D]")
        ends = self.dataset["time"].values.astype("datetime64[D]")
        lo = starts[0] if start is None else np.datetime64(_date(start), "D")
        hi = ends[-1] if end is None else np.datetime64(_date(end), "D")
        inside = (np.minimum(ends, hi) - np.maximum(starts, lo)).astype(int) + 1
        days = (ends - starts).astype(int) + 1
        w = np.clip(inside, 0, None) / days
        return xr.DataArray(w, dims=("time",), coords={"time": self.dataset["time"]})

    def _var(self, name: str) -> xr.DataArray:
        if name not in self.dataset:
            raise KeyError(f"the variable {name!r} was not recorded in this run; run again with "
                           f"it in `record=`")
        return self.dataset[name]

    @staticmethod
    def _cohorts(da: xr.DataArray, cohorts: str | list[str] | tuple[str, ...] | None
                 ) -> xr.DataArray:
        if cohorts is None:
            return da.sum("cohort")
        names = [cohorts] if isinstance(cohorts, str) else list(cohorts)
        return da.sel(cohort=names).sum("cohort")

    # -- what researchers ask ----------------------------------------------------------------

    def departures(self, start: dt.date | str | None = None, end: dt.date | str | None = None,
                   cohorts: str | list[str] | None = None) -> xr.DataArray:
        """Departures from the origin in ``[start, end]`` (inclusive), per replicate.

        Crossings: a person who returned and leaves again departs again (see
        :meth:`emigrants` for people). Steps partly inside the window count in proportion
        to their days inside it.
        """
        da = self._cohorts(self._var("departures"), cohorts)
        return (da * self._window(start, end)).sum("time")

    def emigrants(self, start: dt.date | str | None = None, end: dt.date | str | None = None,
                  cohorts: str | list[str] | None = None) -> xr.DataArray:
        """First departures from the origin in ``[start, end]`` (inclusive), per replicate:
        people leaving for the first time, from the recorded ``first_departures``.

        Steps partly inside the window count in proportion to their days inside it.
        """
        da = self._cohorts(self._var("first_departures"), cohorts)
        return (da * self._window(start, end)).sum("time")

    def cumulative_departures(self, cohorts: str | list[str] | None = None) -> xr.DataArray:
        """Cumulative departures by the end of each step, ``(replicate, time)``."""
        return self._cohorts(self._var("departures"), cohorts).cumsum("time")

    def stock(self, where: str | list[str], at: dt.date | str,
              cohorts: str | list[str] | None = None, variable: str = "stock") -> xr.DataArray:
        """People in a country or group at the end of the step holding ``at``, per replicate."""
        da = self._var(variable).isel(time=self._step_at(at))
        return self._cohorts(da.sel(country=self.countries_in(where)).sum("country"), cohorts)

    def abroad(self, at: dt.date | str, cohorts: str | list[str] | None = None) -> xr.DataArray:
        """People who left the origin and are abroad (not returned) at ``at``, per replicate."""
        origin = self.dataset.attrs["origin"]
        others = [c for c in self.countries_in(None) if c != origin]
        return self.stock(others, at, cohorts)

    def returned(self, at: dt.date | str, cohorts: str | list[str] | None = None
                 ) -> xr.DataArray:
        """Returns to the origin from the start until ``at``, per replicate."""
        return self.period_total("returns", None, None, at, cohorts)

    def period_total(self, variable: str, where: str | list[str] | None,
                     start: dt.date | str | None, end: dt.date | str | None,
                     cohorts: str | list[str] | None = None, each: bool = False
                     ) -> xr.DataArray:
        """A flow variable summed over a window and a place (pro rata for partial steps)."""
        da = self._cohorts(self._var(variable), cohorts)
        if "country" in da.dims:
            da = da.sel(country=self.countries_in(where))
            if not each:
                da = da.sum("country")
        return (da * self._window(start, end)).sum("time")

    def observable(self, target: Any) -> xr.DataArray:
        """The model quantity a :class:`~flowsim.scenario.Target` measures, per replicate.

        Returns an array over ``replicate`` (and ``country`` when ``target.each``). Only a
        figure over one period or at one date: a series, a sum over windows, a ratio, a change
        (``since``) and a coverage share are read by the calibration's observation model,
        ``flowsim.calibration.TargetSet.build([target], scenario).observe(results)``.

        Raises
        ------
        ValueError
            For a target this method does not read (see above).
        """
        t = target
        obs = t.observable
        error = getattr(t, "error", None)
        if (obs == "ratio" or getattr(t, "kind", None) == "series"
                or getattr(t, "windows", None) or getattr(t, "since", None) is not None
                or (error is not None and getattr(error, "coverage", 1) != 1)):
            raise ValueError(
                f"target {getattr(t, 'id', '?')!r}: Results.observable reads a figure over one "
                "period or at one date; read series, window sums, ratios, changes and coverage "
                "shares with flowsim.calibration.TargetSet.build([target], scenario)"
                ".observe(results)")
        if obs == "departures":
            return self.departures(t.start, t.end, t.cohorts)
        if obs == "emigrants":
            return self.emigrants(t.start, t.end, t.cohorts)
        if obs == "abroad":
            return self.abroad(t.at, t.cohorts)
        if obs in ("stock", "settled"):
            da = self._var(obs).isel(time=self._step_at(t.at))
            da = self._cohorts(da.sel(country=self.countries_in(t.where)), t.cohorts)
            return da if t.each else da.sum("country")
        if obs == "recognition_share":
            grants = self.period_total("asylum_grants", t.where, t.start, t.end, t.cohorts, t.each)
            dec = self.period_total("asylum_decisions", t.where, t.start, t.end, t.cohorts,
                                    t.each)
            return (grants / dec.where(dec > 0)).fillna(0.0)
        variable = {"arrivals": "arrivals", "returns": "returns",
                    "asylum_applications": "asylum_applications",
                    "asylum_grants": "asylum_grants", "visas_issued": "visas_issued"}[obs]
        return self.period_total(variable, t.where, t.start, t.end, t.cohorts, t.each)

    def headline(self) -> xr.DataArray:
        """The headline numbers of every replicate, before any summary over replicates.

        Rows (dimension ``row``, labelled by the coordinates ``quantity``, ``when``,
        ``kind`` and ``place``, the country id or group a row is about, "" for none):
        cumulative departures at the report's dates; departures in its windows (by default
        the six weeks after each shock, for the cohorts it hits); cumulative emigrants (first
        departures) at the same dates, where ``first_departures`` was recorded; abroad at
        the end; returns;
        the stock at the end in every country but the origin (``kind == "destination"``;
        :func:`summary_table` keeps the largest); asylum applications and grants; the share
        of those abroad in each of the report's groups (by default every group the scenario
        declares). See :class:`flowsim.scenario.report.Report`. Rows depend on the scenario and the recorded variables only,
        never on the draws, so that blocks of one run give the same rows.

        Returns
        -------
        xarray.DataArray
            Shape ``(replicate, row)``, float64.
        """
        rows: list[tuple[str, str, str, str, xr.DataArray]] = []
        ds = self.dataset
        ends = ds["time"].values.astype("datetime64[D]").astype(object)
        first, last = ds["step_start"].values[0].astype("datetime64[D]").astype(object), ends[-1]
        if "departures" in ds:
            for d in report_dates(self.scenario, first, last):
                rows.append(("cumulative departures", f"by {d}", "headline", "",
                             self.departures(None, d)))
            if self.scenario is not None:
                for name, start, end, cohorts in report_windows(self.scenario, last):
                    rows.append((name, f"{start} to {end}", "headline", "",
                                 self.departures(start, end, cohorts)))
        if "first_departures" in ds:  # people, where the scenario keeps returnees apart
            for d in report_dates(self.scenario, first, last):
                rows.append(("cumulative emigrants (first departures)", f"by {d}",
                             "headline", "", self.emigrants(None, d)))
        if "stock" in ds:
            abroad = self.abroad(last)
            rows.append(("abroad (left and not returned)", f"at {last}", "headline", "",
                         abroad))
            if "returns" in ds:
                rows.append(("returned to the origin", f"by {last}", "headline", "",
                             self.returned(last)))
            origin = ds.attrs["origin"]
            end_stock = ds["stock"].isel(time=-1).sum("cohort")
            for c in (str(c) for c in ds["country"].values):
                if c != origin:
                    rows.append((f"in {c}", f"at {last}", "destination", c,
                                 end_stock.sel(country=c)))
            groups = self.scenario.group_members() if self.scenario is not None else {}
            for g in report_groups(self.scenario) if self.scenario is not None else ():
                if groups.get(g):
                    share = self.stock(g, last) / abroad.where(abroad > 0)
                    rows.append((f"share abroad in {g}", f"at {last}", "headline", g,
                                 share.fillna(0.0)))
        for v, label in (("asylum_applications", "asylum applications"),
                         ("asylum_grants", "asylum grants")):
            if v in ds:
                rows.append((label, f"{first} to {last}", "headline", "",
                             self.period_total(v, None, None, None)))
        values = np.zeros((self.replicates, len(rows)))
        for j, (*_, da) in enumerate(rows):
            values[:, j] = da.transpose("replicate").values
        return xr.DataArray(values, dims=("replicate", "row"), coords={
            "replicate": ds["replicate"].values,
            "quantity": ("row", [r[0] for r in rows]),
            "when": ("row", [r[1] for r in rows]),
            "kind": ("row", [r[2] for r in rows]),
            "place": ("row", [r[3] for r in rows])}, name="headline")

    def summary(self, quantiles: tuple[float, float, float] = (0.05, 0.5, 0.95)
                ) -> Any:
        """The headline numbers: median and interval over replicates.

        Rows are those of :meth:`headline`, with only the eight destinations of largest
        median stock at the end. Quantiles are numpy's default (linear interpolation between
        order statistics, Hyndman and Fan's type 7).

        Returns
        -------
        pandas.DataFrame
            Columns ``quantity``, ``when``, ``low``, ``median``, ``high``, ``mean``, and
            ``place`` and ``place_name`` (the country id or group a row is about and its
            name in the scenario, "" for none); ``low`` and ``high`` are the
            ``quantiles[0]`` and ``quantiles[2]`` quantiles.
        """
        head = self.headline()
        values = head.values
        stats = np.column_stack([np.quantile(values, list(quantiles), axis=0).T,
                                 values.mean(axis=0)]) if values.shape[1] else \
            np.zeros((0, 4))
        return summary_table(head["quantity"].values, head["when"].values,
                             head["kind"].values, stats, place=head["place"].values,
                             names=place_names(self.dataset, self.scenario))

    def save(self, path: str | Any) -> Any:
        """Write the results to one NetCDF4 file, atomically (temporary file, then a rename).

        Counts are zlib-compressed int32; the scenario is embedded, so that
        :func:`open_results` restores group and target queries from the file alone.

        Parameters
        ----------
        path : str or Path
            The file to write (conventionally ``*.nc``); replaced if it exists.

        Returns
        -------
        Path
        """
        from flowsim.results.netcdf import save_results

        return save_results(self, path)

    @property
    def replicates(self) -> int:
        """Number of replicates."""
        return int(self.dataset.sizes["replicate"])

    def _repr_html_(self) -> str:
        from flowsim.results.display import results_html

        return results_html(self)

    def __repr__(self) -> str:
        ds = self.dataset
        return (f"<flowsim.Results {ds.attrs.get('scenario_name', '?')!r}: "
                f"{self.replicates} replicates × {ds.sizes['time']} steps, "
                f"variables {', '.join(v for v in ds.data_vars if v != 'params')}>")


# ============================================================================================
# The summary table, shared with streamed results (flowsim.results.streamed).
# ============================================================================================


def place_names(dataset: xr.Dataset, scenario: Any = None) -> dict[str, str]:
    """The name of every country and group: the scenario's ``name:`` of each country (the
    dataset's ``country_name`` without a scenario) and each group's label in words
    (``report.labels``, :func:`flowsim.scenario.report.label`)."""
    names: dict[str, str] = {}
    if "country_name" in dataset.coords:
        names.update(zip(dataset["country"].values.astype(str),
                         dataset["country_name"].values.astype(str), strict=True))
    if scenario is not None:
        names.update({c.id: c.name for c in scenario.countries})
        names.update({g: label_of(scenario, g) for g in scenario.group_members()})
    return names


def _place_of(quantity: str) -> str:
    """The place of a headline row from its words (files streamed before rows had
    ``place``): "in ARM" and "share abroad in eu" name one."""
    for head in ("share abroad in ", "in "):
        if quantity.startswith(head):
            return quantity.removeprefix(head)
    return ""


def summary_table(quantity: Any, when: Any, kind: Any, stats: np.ndarray, top: int = 8,
                  place: Any = None, names: dict[str, str] | None = None) -> Any:
    """The summary table from the rows of :meth:`Results.headline` and their statistics.

    Parameters
    ----------
    quantity, when, kind : sequences of str
        The row labels of the headline.
    stats : ndarray, shape (rows, 4)
        Low, median, high and mean of each row over replicates.
    top : int
        Destinations kept: the ``top`` largest by median, largest first, where the
        destination rows stand.
    place : sequence of str, optional
        The country id or group of each row ("" for none; default: read from
        ``quantity``).
    names : mapping of str to str, optional
        The name of each place (:func:`place_names`); a place without one keeps its id.

    Returns
    -------
    pandas.DataFrame
    """
    import pandas as pd

    from flowsim.results.tables import Table

    kind = np.asarray(kind, dtype=str)
    dest = np.flatnonzero(kind == "destination")
    keep = dest[np.argsort(-stats[dest, 1], kind="stable")[:top]]
    order: list[int] = []
    for j in range(len(kind)):
        if kind[j] != "destination":
            order.append(j)
        elif j == dest[0]:
            order.extend(int(k) for k in keep)
    places = [str(p) for p in place] if place is not None else \
        [_place_of(str(q)) for q in quantity]
    names = names or {}
    table = [{"quantity": str(quantity[j]), "when": str(when[j]), "low": float(stats[j, 0]),
              "median": float(stats[j, 1]), "high": float(stats[j, 2]),
              "mean": float(stats[j, 3]), "place": places[j],
              "place_name": names.get(places[j], places[j])} for j in order]
    # the places last, so that a reader of the columns by position reads what it did
    return Table(pd.DataFrame(table, columns=["quantity", "when", "low", "median", "high",
                                              "mean", "place", "place_name"]))


__all__ += ["place_names", "summary_table"]
