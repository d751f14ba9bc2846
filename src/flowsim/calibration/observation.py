"""The observation model: every observable of a target mapped onto the engine's arrays.

One module says what each target measures in the model, for calibration (the observables of
every block of replicates, where the block ran), the posterior-predictive check, the
validation set and ``TargetSet.observe``. A target becomes one or more **columns** of an
observation matrix ``(replicates, M)`` (:func:`column_layout`):

* a plain target: one column; with ``each: true``, one per country (``"id[ARM]"``);
* a ``series``: one per window (``"id[2022-03]"`` for months, ``"id[2022-03-07]"`` for the
  week starting that day, ``"id[2022-03-01..2022-03-20]"`` for listed windows), per
  country too with ``each: true`` (``"id[ARM][2022-03]"``).

Each column is computed from **counts**, each a sum over cohorts (all, or the target's),
then over places, of one recorded variable:

===================== ===================================================================
observable             count
===================== ===================================================================
``departures``         ``departures`` of the origin, summed over the period's steps
``emigrants``          ``first_departures`` of the origin, the same way
``abroad``             ``stock`` in every country but the origin, at the step holding the date
``stock``, ``settled`` that variable in the places, at the step holding the date
``arrivals`` ...       ``arrivals``, ``returns``, ``asylum_applications``, ``asylum_grants``,
                       ``asylum_decisions``, ``visas_issued`` in the places, over the period
===================== ===================================================================

*Over a period*: each step's count is weighted by the share of the step's days that lie in
the period, then summed over steps (a month observed on weekly steps counts the weeks that
straddle its ends in part); a sum over several windows adds their weights. *At a date*: the
count at the end of the step that holds the date. Then:

* ``recognition_share`` is ``asylum_grants ÷ asylum_decisions`` over the period, and
  ``ratio`` is ``numerator ÷ denominator`` (each a count as above, with the target's places,
  cohorts and dates unless it gives its own); both are 0 where the denominator is 0;
* a target with ``since`` is the count at ``at`` minus the count at ``since``, and a window
  of a series of a stock observable is the count at its last day minus the count on the
  day before its first (the new permits of a month, from ``settled``);
* a target whose error has a ``coverage`` other than 1 is that share of the model quantity
  (registrations that count part of a stock), so that it compares with the figure.

The counts are exact integers until the period weights; the order of the sums is that of
:meth:`flowsim.Results.observable`, which gives the same numbers for the first-edition
targets (tested). A :class:`Layout` holds what the mapping needs of the time axis, the
countries and the cohorts, from a compiled model or from saved results.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from flowsim.scenario.model import Scenario, Target

__all__ = ["Column", "Layout", "ObservationPlan", "column_layout", "needs", "window_span"]

# The engine variable each count is read from ("abroad" is the stock outside the origin).
_VARIABLE: dict[str, str] = {
    "departures": "departures", "emigrants": "first_departures", "abroad": "stock",
    "stock": "stock", "settled": "settled",
    "arrivals": "arrivals", "returns": "returns", "asylum_applications": "asylum_applications",
    "asylum_grants": "asylum_grants", "asylum_decisions": "asylum_decisions",
    "visas_issued": "visas_issued",
}
_AT_DATE = frozenset({"abroad", "stock", "settled"})


def needs(target: Target) -> tuple[str, ...]:
    """The engine variables a target's columns are computed from."""
    if target.observable == "recognition_share":
        return ("asylum_grants", "asylum_decisions")
    if target.observable == "ratio":
        sides = [target.numerator, target.denominator]
        return tuple(dict.fromkeys(_VARIABLE[m.observable] for m in sides if m is not None))
    return (_VARIABLE[target.observable],)


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of the observation matrix.

    Attributes
    ----------
    target : int
        Index of its target.
    label : str
        ``"id"``, ``"id[COUNTRY]"``, ``"id[WINDOW]"`` or ``"id[COUNTRY][WINDOW]"``.
    country : str or None
        The country of an ``each: true`` target's column.
    window : (date, date, float) or None
        The window and its figure, for a series.
    """

    target: int
    label: str
    country: str | None = None
    window: tuple[dt.date, dt.date, float] | None = None


def _countries_in(scenario: Scenario | None, where: Sequence[str]) -> list[str]:
    # The same order as Results.countries_in: groups in scenario order, ids as listed.
    if scenario is None:
        return list(where)
    ids = [c.id for c in scenario.countries]
    groups = scenario.group_members()
    out: list[str] = []
    for n in where:
        if n in groups:
            out += [c for c in ids if c in groups[n] and c not in out]
        elif n not in out:
            out.append(n)
    return out


def _window_label(t: Target, start: dt.date, end: dt.date) -> str:
    if t.every == "month":
        return f"{start:%Y-%m}"
    if t.every == "week":
        return start.isoformat()
    return f"{start.isoformat()}..{end.isoformat()}"


def window_span(label: str) -> tuple[np.datetime64, np.datetime64]:
    """The first and last day of the window a series column's label names (the inverse of
    the labels above: ``2022-03`` a whole month, ``2022-03-07`` the week from that day,
    ``2022-03-01..2022-03-20`` listed days), for tables that keep only the label."""
    if ".." in label:
        first, last = label.split("..")
        return np.datetime64(first, "D"), np.datetime64(last, "D")
    if len(label) == 7:  # a month
        month = np.datetime64(label, "M")
        return month.astype("datetime64[D]"), (month + 1).astype("datetime64[D]") - 1
    day = np.datetime64(label, "D")
    return day, day + 6


def column_layout(targets: Sequence[Target], scenario: Scenario | None = None) -> list[Column]:
    """The columns of ``targets``, in order (see the module doc).

    Raises
    ------
    ValueError
        If an ``each: true`` target is given without the scenario (which knows its
        countries).
    """
    out: list[Column] = []
    for i, t in enumerate(targets):
        if t.each:
            if scenario is None:
                raise ValueError(f"target {t.id!r} has `each: true`: pass the scenario to "
                                 "know its countries")
            places: list[str | None] = list(_countries_in(scenario, t.where or ()))
        else:
            places = [None]
        windows = t.figures if t.kind == "series" else [None]
        for c in places:
            for w in windows:
                label = t.id if c is None else f"{t.id}[{c}]"
                if w is not None:
                    label += f"[{_window_label(t, w[0], w[1])}]"
                out.append(Column(i, label, c, None if w is None else
                                  (w[0], w[1], float(w[2]))))  # type: ignore[arg-type]
    return out


def _days(dates: Any) -> np.ndarray:
    return np.array([np.datetime64(d, "D") for d in dates], dtype="datetime64[D]")


@dataclasses.dataclass(frozen=True)
class Layout:
    """What the observation model needs of a run: its steps, countries, cohorts, groups.

    Build it with :meth:`from_model` (a compiled model, in calibration) or
    :meth:`from_results` (saved or returned :class:`~flowsim.Results`).
    """

    step_starts: np.ndarray  # datetime64[D], (T,)
    step_ends: np.ndarray  # datetime64[D], (T,), inclusive
    countries: tuple[str, ...]
    cohorts: tuple[str, ...]
    origin: int
    groups: Mapping[str, Any]

    @classmethod
    def from_model(cls, model: Any, scenario: Scenario | None = None) -> Layout:
        """From a :class:`~flowsim.core.compile.CompiledModel` (and its scenario, for groups)."""
        return cls(_days(model.step_starts), _days(model.step_ends), tuple(model.country_ids),
                   tuple(model.cohort_names), int(model.origin),
                   scenario.group_members() if scenario is not None else {})

    @classmethod
    def from_results(cls, results: Any) -> Layout:
        """From :class:`~flowsim.Results` (its scenario, if it carries one, gives groups)."""
        ds = results.dataset
        countries = tuple(str(c) for c in ds["country"].values)
        scenario = results.scenario
        return cls(ds["step_start"].values.astype("datetime64[D]"),
                   ds["time"].values.astype("datetime64[D]"), countries,
                   tuple(str(k) for k in ds["cohort"].values),
                   countries.index(str(ds.attrs["origin"])),
                   scenario.group_members() if scenario is not None else {})

    def weights(self, periods: Sequence[tuple[Any, Any]]) -> np.ndarray:
        """The share of each step's days inside the periods, added over them, shape ``(T,)``."""
        starts, ends = self.step_starts, self.step_ends
        total = np.zeros(starts.shape, dtype=float)
        for start, end in periods:
            lo = starts[0] if start is None else np.datetime64(start, "D")
            hi = ends[-1] if end is None else np.datetime64(end, "D")
            inside = (np.minimum(ends, hi) - np.maximum(starts, lo)).astype(int) + 1
            w = np.clip(inside, 0, None) / ((ends - starts).astype(int) + 1)
            total = w if len(periods) == 1 else total + w
        return total

    def step_at(self, at: Any) -> int:
        """The step whose end is the first on or after the date."""
        d = np.datetime64(at, "D")
        starts, ends = self.step_starts, self.step_ends
        if d < starts[0] or d > ends[-1]:
            raise ValueError(f"{d} is outside the simulated period ({starts[0]} to {ends[-1]})")
        return int(np.searchsorted(ends, d, side="left"))

    def places(self, where: Any) -> np.ndarray:
        """Country indices of countries and groups (group members in country order)."""
        if where is None:
            return np.arange(len(self.countries))
        out: list[str] = []
        for n in where:
            if n in self.groups:
                out += [c for c in self.countries if c in self.groups[n] and c not in out]
            elif n in self.countries:
                if n not in out:
                    out.append(n)
            else:
                raise KeyError(f"unknown country or group {n!r}")
        return np.array([self.countries.index(c) for c in out], dtype=np.int64)

    def cohort_index(self, cohorts: Any) -> np.ndarray | None:
        return None if cohorts is None else np.array([self.cohorts.index(c) for c in cohorts])


#: one count: (variable, cohort indices or None, country indices or None, time weights or
#: None, step or None); a column is ("count", c), ("ratio", c, c) or ("change", c, c)
_Count = tuple[str, Any, Any, Any, Any]


@dataclasses.dataclass(frozen=True, eq=False)
class ObservationPlan:
    """How to read the columns of some targets off the engine's arrays, without labels.

    Build it with :meth:`build`; call it with a mapping from variable name to the
    ``(replicate, time, ...)`` arrays of :data:`flowsim.core.engine.RECORDABLE` (as the
    engine returns them, or as ``Results.dataset`` holds them).
    """

    record: tuple[str, ...]
    columns: tuple[tuple[Any, ...], ...]
    coverage: np.ndarray  # (M,)

    @classmethod
    def build(cls, targets: Sequence[Target], layout: Layout,
              scenario: Scenario | None = None) -> ObservationPlan:
        """The plan of ``targets`` on ``layout`` (``scenario`` expands ``each: true``)."""
        L = layout
        others = np.array([i for i in range(len(L.countries)) if i != L.origin])

        def count(observable: str, where: Any, cohorts: Any, periods: Any, at: Any) -> _Count:
            coh = L.cohort_index(cohorts)
            if observable in ("departures", "emigrants"):  # out of the origin
                return (_VARIABLE[observable], coh, None, L.weights(periods), None)
            if observable == "abroad":
                return ("stock", coh, others, None, L.step_at(at))
            if observable in _AT_DATE:
                return (observable, coh, L.places(where), None, L.step_at(at))
            return (_VARIABLE[observable], coh, L.places(where), L.weights(periods), None)

        cols: list[tuple[Any, ...]] = []
        cover: list[float] = []
        for col in column_layout(targets, scenario):
            t = targets[col.target]
            where = t.where if col.country is None else (col.country,)
            if col.window is not None:
                periods: list[tuple[Any, Any]] = [(col.window[0], col.window[1])]
            elif t.windows is not None:
                periods = [(w.start, w.end) for w in t.windows]
            else:
                periods = [(t.start, t.end)]
            cover.append(1.0 if t.error is None else float(t.error.coverage))
            if t.observable == "recognition_share":
                cols.append(("ratio", count("asylum_grants", where, t.cohorts, periods, None),
                             count("asylum_decisions", where, t.cohorts, periods, None)))
            elif t.observable == "ratio":
                sides = []
                for m in (t.numerator, t.denominator):
                    assert m is not None  # checked by Target
                    own = m.start is not None or m.end is not None
                    sides.append(count(
                        m.observable, m.where if m.where is not None else where,
                        m.cohorts if m.cohorts is not None else t.cohorts,
                        [(m.start or t.start, m.end or t.end)] if own else periods,
                        m.at or t.at or (periods[-1][1] if periods else None)))
                cols.append(("ratio", *sides))
            elif col.window is not None and t.observable in _AT_DATE:
                first, last = col.window[0], col.window[1]
                cols.append(("change", count(t.observable, where, t.cohorts, None, last),
                             count(t.observable, where, t.cohorts, None,
                                   first - dt.timedelta(days=1))))
            elif t.since is not None:
                cols.append(("change", count(t.observable, where, t.cohorts, None, t.at),
                             count(t.observable, where, t.cohorts, None, t.since)))
            else:
                cols.append(("count", count(t.observable, where, t.cohorts, periods, t.at)))
        record: dict[str, None] = {}
        for t in targets:
            record.update(dict.fromkeys(needs(t)))
        return cls(tuple(record), tuple(cols), np.array(cover, dtype=float))

    @classmethod
    def for_results(cls, targets: Sequence[Target], results: Any) -> ObservationPlan:
        """The plan of ``targets`` on the layout of ``results``."""
        return cls.build(targets, Layout.from_results(results), results.scenario)

    def __call__(self, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
        """The observation matrix ``(replicates, M)``."""
        summed: dict[tuple[str, Any], np.ndarray] = {}

        def by_cohort(variable: str, coh: Any) -> np.ndarray:
            key = (variable, None if coh is None else tuple(coh))
            if key not in summed:
                a = arrays[variable]
                summed[key] = a.sum(axis=-1) if coh is None else a[..., coh].sum(axis=-1)
            return summed[key]  # (R, T[, country])

        def value(c: _Count) -> np.ndarray:
            variable, coh, where, w, step = c
            a = by_cohort(variable, coh)
            if step is not None:  # at a date
                return a[:, step][:, where].sum(axis=1)
            if a.ndim == 3:
                a = a[:, :, where].sum(axis=2)
            return (a * w).sum(axis=1)

        out = np.empty((next(iter(arrays.values())).shape[0], len(self.columns)))
        for j, col in enumerate(self.columns):
            if col[0] == "ratio":
                g, d = value(col[1]), value(col[2])
                with np.errstate(divide="ignore", invalid="ignore"):
                    x = np.where(d > 0, g / np.where(d > 0, d, 1.0), 0.0)
            elif col[0] == "change":
                x = value(col[1]).astype(float) - value(col[2])
            else:
                x = value(col[1])
            out[:, j] = x
        if np.any(self.coverage != 1.0):
            out *= self.coverage
        return out

    def observe(self, results: Any) -> np.ndarray:
        """The observation matrix of :class:`~flowsim.Results` (which must hold
        :attr:`record`)."""
        ds = results.dataset
        missing = [v for v in self.record if v not in ds]
        if missing:
            raise ValueError(f"the results do not hold {', '.join(missing)}: simulate with "
                             f"record={list(self.record)}")
        arrays = {}
        for v in self.record:
            da = ds[v]
            order = ["replicate", "time"] + [d for d in ("country",) if d in da.dims] + ["cohort"]
            arrays[v] = da.transpose(*order).values
        return self(arrays)
