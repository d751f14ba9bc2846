"""The engine's gathers and scatters along the middle axis (flowsim.core.indexing) give
exactly what numpy's fancy indexing gives, for slices, short and long index arrays, and
arrays that are not contiguous."""

from __future__ import annotations

import numpy as np
import pytest

from flowsim.core.indexing import VIEW_MIN, add, put, subtract, take


def _cases(rng: np.random.Generator):
    for n_index in (0, 1, 5, VIEW_MIN - 1, VIEW_MIN, 3 * VIEW_MIN):
        yield np.sort(rng.choice(4 * VIEW_MIN, size=n_index, replace=False))
    yield rng.permutation(4 * VIEW_MIN)[: 2 * VIEW_MIN]  # unsorted
    yield slice(None)
    yield slice(3, 40)


@pytest.mark.parametrize("contiguous", [True, False])
def test_each_operation_equals_fancy_indexing(contiguous):
    rng = np.random.default_rng(7)
    for index in _cases(rng):
        base = rng.integers(0, 1000, size=(3, 4 * VIEW_MIN, 5))
        target = base if contiguous else np.asfortranarray(base)
        width = len(range(4 * VIEW_MIN)[index]) if isinstance(index, slice) else len(index)
        values = rng.integers(0, 100, size=(3, width, 5))
        np.testing.assert_array_equal(take(target, index), base[:, index])
        for op, combine in ((put, lambda old, new: new), (add, np.add),
                            (subtract, np.subtract)):
            got, want = target.copy(order="A"), base.copy()
            op(got, index, values)
            want[:, index] = combine(base[:, index], values)
            np.testing.assert_array_equal(got, want)
            assert got.dtype == want.dtype


def test_put_broadcasts_and_casts_like_assignment():
    target = np.zeros((2, 300, 3), dtype=np.int32)
    index = np.arange(0, 300, 2)
    put(target, index, np.int64(4))
    want = np.zeros_like(target)
    want[:, index] = 4
    np.testing.assert_array_equal(target, want)
