"""The optional compiled kernels (``flowsim.core.accel``) give the numpy path's numbers.

The compiled kernels must give exactly the uniforms and counts of the numpy code, for the
same inputs, so that installing numba never changes a result. Without numba, the uncompiled
kernels (the same Python functions numba compiles) are still checked against numpy, and the
compiled comparisons are skipped.
"""

from __future__ import annotations

import datetime
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import flowsim
from flowsim.core import accel
from flowsim.core.compile import compile_scenario
from flowsim.core.engine import run_block
from flowsim.core.samplers import (
    EXACT_VARIANCE,
    CoupledSampler,
    _search,
    _search_stepwise,
    binomial_icdf,
)
from flowsim.testing import linear_chain, quota_route

BUNDLED = Path(__file__).resolve().parents[1] / "scenarios" / "russia-2022.yaml"


#: The tests of the compiled kernels, skipped without the optional extra (``flowsim[fast]``).
requires_numba = pytest.mark.skipif(importlib.util.find_spec("numba") is None,
                                    reason="numba is not installed (the optional fast extra)")


def _compiled() -> None:
    """The kernels compile where numba is installed (a failure here is not a skip)."""
    assert accel.available()


def _search_cases(size: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """``(n, p, u)`` as ``binomial_icdf`` hands them to the search (p <= 1/2, variance below
    EXACT_VARIANCE): small and huge ``n`` (beyond 2**53: the integer path), ``p`` at the
    variance bound, ``u`` in both far tails and at the largest keyed uniform."""
    n = np.choose(rng.integers(0, 6, size),
                  [np.ones(size, dtype=np.int64), rng.integers(1, 30, size),
                   rng.integers(1, 500, size), rng.integers(1, 10**7, size),
                   np.full(size, 2**60), rng.integers(200, 401, size)])
    q_max = np.minimum(0.5, EXACT_VARIANCE / n * 0.999)
    # the largest q with n q (1 - q) below the threshold, where n allows one near it
    edge = (1.0 - np.sqrt(np.maximum(0.0, 1.0 - 4.0 * EXACT_VARIANCE / n * (1 - 1e-12)))) / 2
    q_max = np.where(n >= 4 * EXACT_VARIANCE, np.minimum(q_max, edge), q_max)
    kind = rng.random(size)
    p = np.where(kind < 0.15, q_max, rng.random(size) * q_max)
    p = np.where((kind > 0.15) & (kind < 0.2), 0.5 * (n < 4 * EXACT_VARIANCE), p)
    p = np.maximum(p, 1e-18)
    kind = rng.random(size)
    u = np.where(kind < 0.05, 1.0 - rng.random(size) * 1e-15, rng.random(size))
    # the largest keyed uniform: (2**53 - 1 + 0.5) / 2**53 rounds to 1.0
    u = np.where((kind > 0.05) & (kind < 0.08), 1.0, u)
    u = np.where((kind > 0.08) & (kind < 0.1), rng.random(size) * 1e-13, u)
    u = np.where((kind > 0.1) & (kind < 0.12), 2.0**-54, u)  # the smallest keyed u
    return n.astype(np.int64), p, u


def _numpy_search(n: np.ndarray, p: np.ndarray, u: np.ndarray, monkeypatch) -> np.ndarray:
    with monkeypatch.context() as m:
        m.setenv("FLOWSIM_ACCEL", "0")
        assert not accel.enabled()
        return _search(n, p, u)


def test_the_uncompiled_kernel_gives_the_numpy_counts(monkeypatch) -> None:
    """The function numba compiles, run as plain Python: the numpy search's counts (the
    definition holds even where numba is absent)."""
    rng = np.random.default_rng(61)
    n, p, u = _search_cases(1500, rng)
    out = np.empty(n.shape, dtype=np.int64)
    accel.search_kernel(n, np.exp(n * np.log1p(-p)), p / (1.0 - p), u, out)
    np.testing.assert_array_equal(out, _numpy_search(n, p, u, monkeypatch))


def test_the_environment_turns_the_kernel_off(monkeypatch) -> None:
    for value in ("0", "off", "false", " No "):
        monkeypatch.setenv("FLOWSIM_ACCEL", value)
        assert not accel.enabled()
    monkeypatch.setenv("FLOWSIM_ACCEL", "1")
    assert accel.enabled() == accel.available()


def test_without_numba_the_numpy_path_runs(monkeypatch) -> None:
    """numba not importable: not available, not enabled, and binomial_icdf still works."""
    monkeypatch.setitem(sys.modules, "numba", None)  # makes `import numba` fail
    monkeypatch.setattr(accel, "_loaded", False)
    monkeypatch.setattr(accel, "_kernels", None)
    monkeypatch.delenv("FLOWSIM_ACCEL", raising=False)
    assert not accel.available() and not accel.enabled()
    with pytest.raises(RuntimeError, match="numba"):
        accel.search(np.array([3]), np.array([0.2]), np.array([0.5]))
    n, p, u = np.array([0, 5, 5, 5]), np.array([0.3, 0.0, 1.0, 0.3]), np.full(4, 0.5)
    np.testing.assert_array_equal(binomial_icdf(n, p, u), [0, 0, 5, 1])


@requires_numba
def test_a_kernel_numba_cannot_compile_falls_back_to_numpy(monkeypatch) -> None:
    """A compilation error is a warning and the numpy path, never a failed run."""
    _compiled()
    import numba

    def broken(*args, **kwargs):
        def compiled(*a):
            raise numba.errors.TypingError("no")
        return lambda function: compiled

    monkeypatch.setattr(numba, "njit", broken)
    monkeypatch.setattr(accel, "_loaded", False)
    monkeypatch.setattr(accel, "_kernels", None)
    with pytest.warns(RuntimeWarning, match="could not compile"):
        assert not accel.available()
    assert not accel.enabled()


@pytest.mark.parametrize("size", [7, 300, 20_000], ids=["accumulated", "looped", "chunked"])
@requires_numba
def test_the_compiled_search_gives_the_numpy_counts(size: int, monkeypatch) -> None:
    """Bit for bit against each regime of the numpy search (ufunc.accumulate, the loop over
    terms, chunks cut smaller), with and without the precomputed log1p(-p) and p / (1 - p),
    and against the step-by-step definition where the pmf at 0 underflows."""
    _compiled()
    rng = np.random.default_rng(62)
    for _ in range(4):
        n, p, u = _search_cases(size, rng)
        expected = _numpy_search(n, p, u, monkeypatch)
        np.testing.assert_array_equal(accel.search(n, p, u), expected)
        np.testing.assert_array_equal(
            accel.search(n, p, u, np.log1p(-p), p / (1.0 - p)), expected)
        monkeypatch.delenv("FLOWSIM_ACCEL", raising=False)
        np.testing.assert_array_equal(_search(n, p, u), expected)  # the hook
    n, p, u = np.full(size, 3000), np.full(size, 0.5), rng.random(size)
    np.testing.assert_array_equal(accel.search(n, p, u), _search_stepwise(n, p, u))
    np.testing.assert_array_equal(accel.search(n, p, u), _numpy_search(n, p, u, monkeypatch))


def _transform_cases(size: int, rng: np.random.Generator) -> list[tuple[np.ndarray, ...]]:
    """``(n, p, u)`` for binomial_icdf: n = 0, p = 0, p = 1, p = 1/2, p on both sides of 1/2,
    the variance threshold of the normal approximation from both sides (n q (1 - q) = 100
    (1 -+ 1e-9 ... 1e-3)), u near 0 and 1, and probabilities broadcast along any axes."""
    n = rng.integers(0, 3000, size)
    p = rng.random(size)
    u = rng.random(size)
    part = np.array_split(np.arange(size), 10)
    n[part[0]] = 0
    p[part[1]] = 0.0
    p[part[2]] = 1.0
    p[part[3]] = 0.5
    near = np.concatenate(part[4:7])
    n[near] = rng.integers(401, 3000, near.size)
    target = EXACT_VARIANCE * (1.0 + rng.choice([-1, 1], near.size)
                               * 10.0 ** rng.uniform(-9, -3, near.size))
    q = (1.0 - np.sqrt(1.0 - 4.0 * target / n[near])) / 2.0
    p[near] = np.where(rng.random(near.size) < 0.5, q, 1.0 - q)
    u[part[7]] = 1.0 - 2.0**-53  # the largest float below 1
    u[part[7][::2]] = 1.0  # the largest keyed uniform, (2**53 - 1 + 0.5) / 2**53, rounds to 1
    u[part[8]] = 2.0**-54  # the smallest keyed uniform
    u[part[9]] = 1.0 - rng.random(part[9].size) * 1e-14
    rows = size // 100
    return [(n, p, u),
            (n[:rows * 100].reshape(rows, 100), p[:100], u[:rows * 100].reshape(rows, 100)),
            (n[:rows * 100].reshape(rows, 10, 10), p[:10] * 0.01,
             u[:rows * 100].reshape(rows, 10, 10)),
            # p along the middle axis, or along the first and last: the compiled path steps
            # through p's own strides
            (n[:rows * 100].reshape(rows, 10, 10), p[10:20].reshape(10, 1),
             u[:rows * 100].reshape(rows, 10, 10)),
            (n[:rows * 100].reshape(rows, 10, 10), p[:rows * 10].reshape(rows, 1, 10),
             u[:rows * 100].reshape(rows, 10, 10)),
            (n[:rows], np.float64(0.3), u[:rows]),  # one probability for all
            (np.int64(50), np.float64(0.7), np.float64(0.4))]  # scalars


def _both_transforms(cases, monkeypatch) -> None:
    for nn, pp, uu in cases:
        monkeypatch.setenv("FLOWSIM_ACCEL", "0")
        expected = binomial_icdf(nn, pp, uu)
        monkeypatch.setenv("FLOWSIM_ACCEL", "1")
        assert accel.enabled()
        np.testing.assert_array_equal(binomial_icdf(nn, pp, uu), expected)


def _both_uniforms(monkeypatch) -> None:
    """CoupledSampler's uniforms with and without the kernels, for the engine's shapes."""
    sampler = CoupledSampler(987654321, np.arange(1000, 1013))
    sampler.start_step(41)
    index = np.array([0, 7, 3, 2**40])
    cases = [((13, 5), None), ((13, 4, 5), index), ((13, 4, 2, 5), index), ((13, 3, 5), None),
             ((13,), None), ((13, 4), index)]  # the last: numpy (not the kernel's shapes)
    for shape, idx in cases:
        monkeypatch.setenv("FLOWSIM_ACCEL", "0")
        expected = sampler._uniform(shape, 11, idx)
        monkeypatch.setenv("FLOWSIM_ACCEL", "1")
        got = sampler._uniform(shape, 11, idx)
        assert got.shape == expected.shape, shape
        np.testing.assert_array_equal(got, expected, err_msg=str(shape))
        assert ((got > 0.0) & (got <= 1.0)).all()


# a keyed uniform can be 1.0 (and 1 - 2**-54 rounds to 1.0): on the normal branch the quantile
# is then infinite or NaN, which numpy warns about (both paths alike: NaN is left to numpy)
INVALID_AT_ONE = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")


@INVALID_AT_ONE
def test_the_uncompiled_kernels_give_the_numpy_numbers(monkeypatch) -> None:
    """The whole compiled path run as plain Python (the functions numba compiles): the
    numpy path's counts and uniforms, with or without numba."""
    monkeypatch.setattr(accel, "_kernels", accel._PYTHON)
    monkeypatch.setattr(accel, "_loaded", True)
    with np.errstate(over="ignore"):  # numpy's uint64 scalars warn where they wrap around
        _both_transforms(_transform_cases(2000, np.random.default_rng(64)), monkeypatch)
        _both_uniforms(monkeypatch)


@INVALID_AT_ONE
@requires_numba
def test_the_compiled_transform_gives_the_numpy_counts(monkeypatch) -> None:
    """binomial_icdf with and without the kernels, on every branch and edge."""
    _compiled()
    rng = np.random.default_rng(63)
    for _ in range(3):
        _both_transforms(_transform_cases(30_000, rng), monkeypatch)


@requires_numba
def test_the_compiled_uniforms_are_the_numpy_ones(monkeypatch) -> None:
    _compiled()
    _both_uniforms(monkeypatch)


def _coupled_run(model, size: int, monkeypatch, value: str) -> dict[str, np.ndarray]:
    monkeypatch.setenv("FLOWSIM_ACCEL", value)
    return run_block(model, model.default_params(size), CoupledSampler(2024, np.arange(size)))


@pytest.mark.parametrize("scenario", ["bundled", "chain", "quota"])
@requires_numba
def test_a_coupled_run_is_the_same_with_the_kernel(scenario: str, monkeypatch) -> None:
    """A block with coupled sampling, bit-identical in every recorded variable."""
    _compiled()
    if scenario == "bundled":  # its first 39 weeks (to the end of October 2022), for time;
        # benchmarks/README.md reports a whole block of 250 replicates identical as well
        full = flowsim.load_scenario(BUNDLED)
        calendar = full.calendar.model_copy(update={"end": datetime.date(2022, 10, 31)})
        model, size = compile_scenario(full.model_copy(update={"calendar": calendar})), 4
    elif scenario == "chain":  # counts near 100 with variance below 100: long searches
        model, size = compile_scenario(linear_chain(N=1000, h=0.1, q=0.2, steps=26).scenario), 50
    else:
        model = compile_scenario(quota_route(N1=300, N2=700, capacity=150, steps=26).scenario)
        size = 50
    with_kernel = _coupled_run(model, size, monkeypatch, "1")
    without = _coupled_run(model, size, monkeypatch, "0")
    assert with_kernel.keys() == without.keys()
    for name in without:
        np.testing.assert_array_equal(with_kernel[name], without[name], err_msg=name)
