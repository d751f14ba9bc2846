"""Tables that print whole: :class:`Table`, and the tidy long form of the summary for CSV.

pandas cuts a long or wide table to ``...`` and wraps it at the terminal's width, which
splits the rows of a summary or an effects table into pieces. A :class:`Table` is a
:class:`pandas.DataFrame` whose text and HTML views always show every row and column, so
that ``print(results.summary())`` in a script and the table in a notebook hold every number.
Everything else is the DataFrame's own.

:func:`tidy_summary` turns the summary into the form its CSV file has: one row per quantity,
the place it is about by id and by name, its period in ``start`` and ``end`` columns (ISO
dates), quantiles named by their level (``q05``, ``q50``, ``q95``) and counts of people as
integers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["Table", "quantile_name", "tidy_summary"]


class Table(pd.DataFrame):
    """A :class:`pandas.DataFrame` that prints whole (every row, every column, unwrapped)."""

    @property
    def _constructor(self) -> type[Table]:
        return Table

    def __repr__(self) -> str:
        return self.to_string(float_format=_number)

    def _repr_html_(self) -> str:
        return self.to_html(max_rows=None, max_cols=None, notebook=True, border=0,
                            float_format=_number)


def _number(x: float) -> str:
    """Counts with thousands separators and one decimal; shares and rates to 4 digits."""
    return f"{x:,.1f}" if abs(x) >= 100 else f"{x:.4g}"


def quantile_name(q: float) -> str:
    """The column of a quantile level: 0.05 -> ``q05``, 0.5 -> ``q50``, 0.025 -> ``q2.5``."""
    pct = round(100 * float(q), 6)
    return f"q{pct:02.0f}" if float(pct).is_integer() else f"q{pct:g}"


_BY = re.compile(r"^by (\d{4}-\d{2}-\d{2})$")
_AT = re.compile(r"^at (\d{4}-\d{2}-\d{2})$")
_SPAN = re.compile(r"^(\d{4}-\d{2}-\d{2}) to (\d{4}-\d{2}-\d{2})$")


def _period(when: str, first: str) -> tuple[str, str]:
    """``(start, end)`` of a summary row's ``when``: a stock ``at D`` is the instant D."""
    if m := _BY.match(when):
        return first, m.group(1)
    if m := _AT.match(when):
        return m.group(1), m.group(1)
    if m := _SPAN.match(when):
        return m.group(1), m.group(2)
    return "", ""


def tidy_summary(table: pd.DataFrame, first_day: str,
                 quantiles: Sequence[float] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
    """The summary (:meth:`flowsim.Results.summary`) as its CSV file holds it.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``quantity``, ``when``, ``low``, ``median``, ``high``, ``mean`` and, when
        it has them, ``place`` and ``place_name``.
    first_day : str
        The run's first day (ISO), where periods "by D" start.
    quantiles : sequence of three floats
        The levels of ``low``, ``median`` and ``high``.

    Returns
    -------
    pandas.DataFrame
        Columns ``quantity``, ``when``, one per quantile (``q05``, ``q50``, ``q95``),
        ``mean``, ``start``, ``end``, ``unit``, ``place`` (a country id or group, "" for
        none) and ``place_name`` (its name in the scenario). Counts of people (``unit`` "people") are
        rounded to whole people: a quantile between two replicates' counts is no one's
        count; shares (``unit`` "share", from 0 to 1) and means are kept as they are.
    """
    names = [quantile_name(q) for q in quantiles]
    share = table["quantity"].astype(str).str.startswith("share")
    out = pd.DataFrame({"quantity": table["quantity"].astype(str),
                        "when": table["when"].astype(str)})
    for name, col in zip(names, ("low", "median", "high"), strict=True):
        out[name] = [round(float(v), 6) if is_share else round(float(v))
                     for v, is_share in zip(table[col], share, strict=True)]
    out["mean"] = table["mean"].to_numpy(dtype=float)
    periods = [_period(w, first_day) for w in out["when"]]
    out["start"] = [p[0] for p in periods]
    out["end"] = [p[1] for p in periods]
    out["unit"] = np.where(share, "share", "people")
    # the places last, so that a reader of the columns by position reads what it did
    for col in ("place", "place_name"):
        out[col] = table[col].astype(str) if col in table else ""
    return out
