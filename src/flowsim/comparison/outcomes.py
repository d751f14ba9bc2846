"""The outcomes a comparison compares, per replicate, read from a run's results.

:func:`outcomes` turns a :class:`~flowsim.Results` into one number per replicate and outcome
(abroad, in each bloc of countries, returns, asylum claims and grants, ... at given dates);
:data:`GROUP_BLOCS` names the blocs by the scenario's country groups.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import xarray as xr

from flowsim.results.dataset import Results

# Comparison blocs: the West / EU vs post-Soviet and neutral states vs Kremlin-aligned states.
GROUP_BLOCS: dict[str, tuple[str, ...]] = {
    "west": ("west",),
    "eu": ("eu",),
    "post_soviet_and_neutral": ("post_soviet", "neutral"),
    "kremlin_aligned": ("kremlin_aligned",),
}


def outcomes(results: Results, dates: Sequence[dt.date] | None = None) -> xr.DataArray:
    """The outcomes compared between scenarios, per replicate.

    * ``abroad at D``: people who left and are abroad at each date ``D`` (default: the end of
      each year in the horizon and the horizon's end);
    * ``in <bloc> at END``: people in each comparison bloc of :data:`GROUP_BLOCS` whose
      groups the scenario defines (the West, the EU, post-Soviet and neutral states,
      Kremlin-aligned states);
    * ``settled in the west at END`` where ``west`` is defined (permits and protection);
    * ``departures``, ``returns to the origin``, ``asylum applications`` and ``asylum grants``
      over the whole horizon;
    * ``abroad at END: <cohort>`` for every cohort.

    Returns
    -------
    xarray.DataArray, dims (outcome, replicate)
    """
    ds = results.dataset
    first = ds["step_start"].values[0].astype("datetime64[D]").astype(dt.date)
    last = ds["time"].values[-1].astype("datetime64[D]").astype(dt.date)
    if dates is None:
        dates = sorted({*(dt.date(y, 12, 31) for y in range(first.year, last.year + 1)
                          if first <= dt.date(y, 12, 31) < last), last})
    rows: dict[str, xr.DataArray] = {}
    for d in dates:
        rows[f"abroad at {d}"] = results.abroad(d)
    groups = results.scenario.group_members() if results.scenario is not None else {}
    for bloc, names in GROUP_BLOCS.items():
        present = [g for g in names if groups.get(g)]
        if present:
            rows[f"in {bloc} at {last}"] = results.stock(present, last)
    if "west" in groups and groups["west"] and "settled" in ds:
        rows[f"settled in the west at {last}"] = results.stock("west", last, variable="settled")
    rows["departures"] = results.departures()
    if "returns" in ds:
        rows["returns to the origin"] = results.returned(last)
    for v, label in (("asylum_applications", "asylum applications"),
                     ("asylum_grants", "asylum grants")):
        if v in ds:
            rows[label] = results.period_total(v, None, None, None)
    for k in ds["cohort"].values:
        rows[f"abroad at {last}: {k}"] = results.abroad(last, cohorts=str(k))
    names = list(rows)
    data = np.stack([np.asarray(rows[n].values, dtype=float) for n in names])
    return xr.DataArray(data, dims=("outcome", "replicate"),
                        coords={"outcome": names, "replicate": ds["replicate"].values})
