"""The outcomes a comparison compares, per replicate, read from a run's results.

:func:`outcomes` turns a :class:`~flowsim.Results` into one number per replicate and outcome
(abroad, in each bloc of countries, returns, asylum claims and grants, ... at given dates);
the blocs are the scenario's own (its ``report:``, :mod:`flowsim.scenario.report`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from flowsim.results.dataset import Results
from flowsim.scenario.report import report_blocs, report_settled_in

#: The coordinates along ``outcome`` that name each outcome in parts: what is counted
#: (``abroad``, ``stock``, ``settled``, ``departures``, ``emigrants``, ``returns``,
#: ``asylum_applications``, ``asylum_grants``), where (a bloc or a country id; "" for
#: everywhere), over which period (``start`` and ``date``, ISO days; a stock has ``date``
#: only) and for whom (a cohort, or "" for everyone).
OUTCOME_FIELDS = ("quantity", "place", "start", "date", "cohort")


def outcomes(results: Results, dates: Sequence[dt.date] | None = None,
             by: Sequence[str] = ()) -> xr.DataArray:
    """The outcomes compared between scenarios, per replicate.

    * ``abroad at D``: people who left and are abroad at each date ``D`` (default: the end of
      each year in the horizon and the horizon's end);
    * ``in <bloc> at END``: people in each bloc of the scenario's report
      (:func:`flowsim.scenario.report.report_blocs`: ``report.blocs``, by default one bloc
      per declared group) that holds a country;
    * ``settled in <bloc> at END`` for the blocs of ``report.settled_in`` (permits and
      protection; by default every bloc);
    * ``departures``, ``returns to the origin``, ``asylum applications`` and ``asylum grants``
      over the whole horizon, and ``emigrants`` (first departures: people) where the run
      recorded ``first_departures``;
    * ``abroad at END: <cohort>`` for every cohort;
    * with ``by`` holding ``"country"``: ``in <country id> at END`` for every country but the
      origin; with ``"cohort"``: ``departures: <cohort>`` and ``returns to the origin:
      <cohort>`` for every cohort.

    Returns
    -------
    xarray.DataArray, dims (outcome, replicate)
        The outcome's name in words is its label; the coordinates of
        :data:`OUTCOME_FIELDS` along ``outcome`` give it in parts (select with
        ``values.where(values.quantity == "stock", drop=True)``).
    """
    ds = results.dataset
    first = ds["step_start"].values[0].astype("datetime64[D]").astype(dt.date)
    last = ds["time"].values[-1].astype("datetime64[D]").astype(dt.date)
    if dates is None:
        dates = sorted({*(dt.date(y, 12, 31) for y in range(first.year, last.year + 1)
                          if first <= dt.date(y, 12, 31) < last), last})
    rows: dict[str, xr.DataArray] = {}
    # the structured name of each outcome: (quantity, place, start, date, cohort); "" where
    # it does not apply (a stock has no start; a total over everyone has no cohort)
    parts: dict[str, tuple[str, str, str, str, str]] = {}
    whole = (str(first), str(last))

    def add(name: str, value: xr.DataArray, quantity: str, place: str = "",
            period: tuple[str, str] | str = whole, cohort: str = "") -> None:
        rows[name] = value
        start, date = period if isinstance(period, tuple) else ("", period)
        parts[name] = (quantity, place, start, date, cohort)

    for d in dates:
        add(f"abroad at {d}", results.abroad(d), "abroad", period=str(d))
    scenario = results.scenario
    blocs = _present_blocs(scenario)
    for bloc, names in blocs.items():
        add(f"in {bloc} at {last}", results.stock(names, last), "stock", bloc, str(last))
    if "settled" in ds and scenario is not None:
        for bloc in report_settled_in(scenario):
            if bloc in blocs:
                add(f"settled in {bloc} at {last}",
                    results.stock(blocs[bloc], last, variable="settled"), "settled", bloc,
                    str(last))
    add("departures", results.departures(), "departures")
    if "first_departures" in ds:  # people, where the scenario keeps returnees apart
        add("emigrants", results.emigrants(), "emigrants")
    if "returns" in ds:
        add("returns to the origin", results.returned(last), "returns")
    for v, label in (("asylum_applications", "asylum applications"),
                     ("asylum_grants", "asylum grants")):
        if v in ds:
            add(label, results.period_total(v, None, None, None), v)
    for k in ds["cohort"].values:
        add(f"abroad at {last}: {k}", results.abroad(last, cohorts=str(k)), "abroad",
            period=str(last), cohort=str(k))
    if "country" in by:
        origin = ds.attrs["origin"]
        for c in (str(c) for c in ds["country"].values if str(c) != origin):
            add(f"in {c} at {last}", results.stock(c, last), "stock", c, str(last))
    if "cohort" in by:
        for k in (str(k) for k in ds["cohort"].values):
            add(f"departures: {k}", results.departures(cohorts=k), "departures", cohort=k)
            if "returns" in ds:
                add(f"returns to the origin: {k}", results.returned(last, cohorts=k),
                    "returns", cohort=k)
    names = list(rows)
    data = np.stack([np.asarray(rows[n].values, dtype=float) for n in names])
    coords: dict[str, Any] = {"outcome": names, "replicate": ds["replicate"].values}
    for i, field in enumerate(OUTCOME_FIELDS):
        coords[field] = ("outcome", [parts[n][i] for n in names])
    return xr.DataArray(data, dims=("outcome", "replicate"), coords=coords,
                        attrs={"units": "1", "long_name": "number of people"})


def _present_blocs(scenario: Any) -> dict[str, list[str]]:
    """The report's blocs with their groups or countries that exist and hold a country."""
    if scenario is None:
        return {}
    groups = scenario.group_members()
    ids = {c.id for c in scenario.countries}
    out = {}
    for bloc, names in report_blocs(scenario).items():
        present = [g for g in names if groups.get(g) or g in ids]
        if present:
            out[bloc] = present
    return out
