"""Streaming quantiles over replicates: mergeable histograms with relative accuracy.

A run of a million replicates cannot keep every replicate's numbers to take their quantiles.
It keeps, for each series (a number per replicate: the stock in Armenia at one date, the
cumulative departures at another), a histogram over fixed, logarithmically spaced buckets,
the method of DDSketch (Masson, Rim and Lee, *DDSketch: a fast and fully-mergeable quantile
sketch with relative-error guarantees*, VLDB 2019):

* Bucket edges grow by the factor ``gamma = (1 + a) / (1 - a)``, ``a`` the relative
  accuracy. Every value in a bucket ``(lo, hi]`` is within ``a`` (relative) of the bucket's
  representative ``2 lo hi / (lo + hi)``, since ``hi / lo <= gamma``.
* For counts of people (:class:`Sketch` with ``integer=True``) the edges are rounded down to
  whole numbers and repeated ones dropped, so that every count below about ``1 / a`` has a
  bucket of its own and is recovered exactly; above, a bucket ``(lo, hi]`` of integers has
  representative ``2 (lo + 1) hi / (lo + 1 + hi)``, again within ``a`` of any of them.
  Zero has its own bucket.
* Real values (shares, pro-rata sums; ``integer=False``) have geometric edges from
  ``1e-9`` up; a value at or below ``1e-9`` is known to within ``1e-9`` (absolute).

Histograms of blocks add up, in integers: the result does not depend on how replicates
were split into blocks, on the order blocks finish, or on the number of processes.

**The quantile** at level ``q`` of ``n`` values is numpy's default (linear interpolation,
Hyndman and Fan's type 7): with ``h = (n - 1) q``, ``k = floor(h)``, it is
``x[k] + (h - k) (x[k+1] - x[k])`` over the sorted values ``x``. The sketch puts the
representatives of the buckets holding ranks ``k`` and ``k + 1`` in place of ``x[k]`` and
``x[k+1]``, so its error is at most ``a * x[k+1]`` (relative accuracy ``a`` on the
quantile, but for float rounding), and zero where both order statistics are counts below
about ``1 / a``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["DEFAULT_ACCURACY", "Sketch"]

#: Relative accuracy of streamed quantiles: 0.2%.
DEFAULT_ACCURACY = 0.002

#: The default largest value a sketch resolves; larger ones share an overflow bucket.
TOP = 1e13

#: Real values at or below this are kept within it (absolute).
FLOOR = 1e-9


class Sketch:
    """Fixed buckets shared by many series; histograms are plain integer arrays.

    Parameters
    ----------
    accuracy : float
        Relative accuracy ``a`` of the quantiles, in (0, 0.5).
    integer : bool
        The values are whole numbers (counts of people): exact below about ``1 / a``.
    top : float
        The largest value resolved. Larger values fall in an overflow bucket; a quantile
        that lands there is NaN.

    Attributes
    ----------
    edges : ndarray
        Upper edges of the buckets; bucket 0 is ``[0, edges[0]] = {0}`` (integers) or
        ``[0, 1e-9]`` (reals).
    values : ndarray
        The representative of each bucket.
    """

    def __init__(self, accuracy: float = DEFAULT_ACCURACY, integer: bool = True,
                 top: float = TOP) -> None:
        if not 0 < accuracy < 0.5:
            raise ValueError(f"accuracy must be in (0, 0.5), got {accuracy}")
        self.accuracy = float(accuracy)
        self.integer = bool(integer)
        gamma = (1 + accuracy) / (1 - accuracy)
        # Python floats (correctly rounded pow), computed once where the run starts and
        # shipped to the workers, so that every machine buckets alike.
        self.top = float(top)
        n = math.ceil(math.log(max(self.top, 2.0)) / math.log(gamma))
        if integer:
            up = sorted({math.floor(gamma ** i) for i in range(n + 1)})
            edges = np.array([0.0, *up])
            lo = np.concatenate([[0.0], edges[:-1] + 1.0])
            values = np.where(edges == 0, 0.0, 2 * lo * edges / np.maximum(lo + edges, 1.0))
        else:
            bottom = math.floor(math.log(FLOOR) / math.log(gamma))
            edges = np.array([gamma ** i for i in range(bottom, n + 1)])
            lo = np.concatenate([[0.0], edges[:-1]])
            values = np.where(lo == 0, edges / 2, 2 * lo * edges / (lo + edges))
        self.edges = np.append(edges, np.inf)  # the overflow bucket
        self.values = np.append(values, np.nan)

    @property
    def size(self) -> int:
        """Number of buckets."""
        return int(self.edges.size)

    def bucket(self, x: np.ndarray) -> np.ndarray:
        """The bucket of each value (an integer array of ``x``'s shape).

        Raises
        ------
        ValueError
            For a negative or NaN value.
        """
        x = np.asarray(x, dtype=float)
        if x.size and not np.all(x >= 0):
            bad = x[~(x >= 0)][0]
            raise ValueError(f"a streamed summary cannot hold the value {bad}: values must "
                             "not be negative")
        return np.searchsorted(self.edges, x, side="left")

    def histogram(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The histogram of a block as sparse ``(keys, counts)``.

        Parameters
        ----------
        x : ndarray, shape (replicates, series)

        Returns
        -------
        keys, counts : ndarray of int64
            ``keys = series * size + bucket``, each once, and how many values fall there:
            add ``counts`` at ``keys`` of a flat ``(series * size)`` histogram.
        """
        x = np.asarray(x)
        keys = self.bucket(x) + np.arange(x.shape[1], dtype=np.int64) * self.size
        keys, counts = np.unique(keys, return_counts=True)
        return keys.astype(np.int64), counts.astype(np.int64)

    def quantiles(self, hist: np.ndarray, levels: np.ndarray | list[float]) -> np.ndarray:
        """Quantiles of every series from its histogram.

        Parameters
        ----------
        hist : ndarray, shape (series, size)
            Counts per bucket; every series holds the same number ``n`` of values.
        levels : sequence of float
            Levels in [0, 1].

        Returns
        -------
        ndarray, shape (len(levels), series)
        """
        hist = np.asarray(hist)
        n = int(hist[0].sum()) if hist.shape[0] else 0
        out = np.full((len(levels), hist.shape[0]), np.nan)
        if n == 0:
            return out
        # a few hundred series at a time: the cumulative counts of all would be large
        for a in range(0, hist.shape[0], 256):
            cum = np.cumsum(hist[a:a + 256], axis=1)
            for i, q in enumerate(levels):
                h = (n - 1) * float(q)
                k = math.floor(h)
                f = h - k
                lo = self._order_statistic(cum, k)
                out[i, a:a + 256] = lo if f == 0 else \
                    lo + f * (self._order_statistic(cum, min(k + 1, n - 1)) - lo)
        return out

    def _order_statistic(self, cum: np.ndarray, rank: int) -> np.ndarray:
        """The representative of the bucket holding the value of 0-based ``rank``."""
        return self.values[(cum <= rank).sum(axis=1)]
