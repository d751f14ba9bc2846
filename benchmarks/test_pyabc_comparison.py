"""flowsim's ABC-SMC against pyabc's on toys with exact posteriors, in the same run.

The toys are :func:`flowsim.testing.toys.linear_chain` (N = 10,000, 8 weeks; every person
independently still at home, in ``AAA`` or in ``BBB``: a multinomial), with uniform priors:

* ``chain-h``: the origin's hazard ``h ~ U(0.01, 0.3)`` estimated from departures "about
  5,695" (±2 %, their expectation at ``h = 0.1``). The ABC posterior at tolerance 0 is
  ``prior × P(D in the band | h)``, ``D ~ Binomial(N, 1 - (1 - h)^8)``, computed on a grid.
* ``chain-hq``: ``h`` and the onward hazard ``q ~ U(0.01, 0.5)`` from departures and the stock
  in ``BBB`` at the end (±5 % around its expectation at ``q = 0.2``); ``P(D, B in their bands)
  = Σ_b P(B = b) P(A in [D band - b] | B = b)`` with ``A | B = b ~ Binomial(N - b, p_A /
  (1 - p_B))``, on a grid.

Both samplers use the same settings: 1,000 particles, the median of the last population's
distances as the next tolerance (pyabc's ``MedianEpsilon``, flowsim's ``alpha=0.5``), the same
distance (flowsim's log distance to the band, :mod:`flowsim.calibration.distance`; pyabc calls
:meth:`TargetSet.distance` on each simulation), one core, and the same simulator: pyabc's model
runs one replicate of the same compiled model with :func:`flowsim.simulate`, as a user of pyabc
would. pyabc runs with its defaults otherwise (``MultivariateNormalTransition`` with
Silverman's bandwidth; its calibration sample of 1,000 prior draws is counted, as it counts
it). flowsim runs three ways: its defaults, ``kernel="silverman"`` (pyabc's kernel scale), and
that with ``round_margin=0`` (rounds sized to the expected need, as pyabc's one-at-a-time
sampler is by construction).

Measured per generation: simulations so far, wall time so far, and the **Wasserstein-1
distance of each parameter's weighted marginal to the exact one, in posterior sds** (the
largest over parameters). The benchmark's figures are the simulations and wall time to the
first generation with ``W1 <= 0.1 sd``, for each sampler and seed, and their ratios to pyabc's
in the same run (``extra_info``); when timed, the per-generation rows go to
``benchmarks/results/pyabc/<toy>.csv`` and ``python benchmarks/plot_pyabc.py`` draws them.
pyabc is a benchmark peer only (``pip install -e '.[peers]'``), never a dependency: without
it the benchmark runs flowsim alone, and as a test it runs at a tiny size.
"""

from __future__ import annotations

import csv
import functools
import logging
import math
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import flowsim
from flowsim.calibration import TargetSet, abc_smc
from flowsim.core.compile import compile_scenario
from flowsim.scenario.model import Scenario
from flowsim.testing.toys import linear_chain

N, STEPS = 10_000, 8
H, Q = 0.1, 0.2
PRIORS = {"h": (0.01, 0.3), "q": (0.01, 0.5)}
GOAL = 0.1  # W1 in posterior sds
GENERATIONS = 12
SEEDS = (1, 2, 3)
RESULTS = Path(__file__).resolve().parent / "results" / "pyabc"

# size = particles per generation
SIZES = [1000]
TINY = 50

FLOWSIM_WAYS: dict[str, dict[str, object]] = {
    "flowsim": {},
    "flowsim-silverman": {"kernel": "silverman"},
    "flowsim-silverman-margin0": {"kernel": "silverman", "round_margin": 0.0},
}


def _probabilities(h: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``p_A(8), p_B(8)`` of :func:`linear_chain` (its docstring's formulas)."""
    a, b = 1.0 - h, 1.0 - q
    with np.errstate(invalid="ignore", divide="ignore"):
        p_a = np.where(np.abs(h - q) > 1e-12, h * (b**STEPS - a**STEPS) / (h - q),
                       STEPS * h * a ** (STEPS - 1))
    return p_a, 1.0 - a**STEPS - p_a


@functools.cache
def toy(name: str) -> Scenario:
    """The scenario of toy ``name`` with its priors and targets (module doc)."""
    base = linear_chain(N=N, h=H, q=Q, steps=STEPS)
    data = base.scenario.to_data()
    cal = data["calendar"]
    data["cohorts"][0]["baseline_hazard"] = "h"
    params = {"h": {"value": H, "prior": {"dist": "uniform", "low": PRIORS["h"][0],
                                          "high": PRIORS["h"][1]}}}
    dep = round(N * (1 - (1 - H) ** STEPS))
    targets = [{"id": "departures", "observable": "departures", "kind": "about", "value": dep,
                "tolerance": 0.02, "start": cal["start"], "end": cal["end"],
                "source": "the exact expectation at h = 0.1"}]
    if name == "chain-hq":
        data["countries"][1]["onward_hazard"] = "q"
        params["q"] = {"value": Q, "prior": {"dist": "uniform", "low": PRIORS["q"][0],
                                             "high": PRIORS["q"][1]}}
        in_b = round(N * float(_probabilities(np.array(H), np.array(Q))[1]))
        targets.append({"id": "in_b", "observable": "stock", "where": ["BBB"], "at": cal["end"],
                        "kind": "about", "value": in_b, "tolerance": 0.05,
                        "source": "the exact expectation at q = 0.2"})
    return Scenario.model_validate({**data, "parameters": params, "targets": targets})


@functools.cache
def exact_marginals(name: str) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """Each parameter's exact ABC posterior at tolerance 0: grid, probabilities, sd."""
    scenario = toy(name)
    ts = TargetSet.build(scenario.targets, scenario)
    lo, hi = np.ceil(ts.low).astype(int), np.floor(ts.high).astype(int)
    if name == "chain-h":
        h = np.linspace(*PRIORS["h"], 200_001)
        p = 1 - (1 - h) ** STEPS
        like = stats.binom.cdf(hi[0], N, p) - stats.binom.cdf(lo[0] - 1, N, p)
        grids = {"h": (h, like)}
    else:
        # the band of departures confines h to [0.09, 0.11]; q is bounded by its prior
        # and the band of BBB's stock q to [0.14, 0.27] (the exact sd is 0.011 around 0.2);
        # the grid's steps are 0.05 posterior sd
        h = np.linspace(0.088, 0.112, 241)[:, None]
        q = np.linspace(0.14, 0.27, 261)[None, :]
        p_a, p_b = _probabilities(h, q)
        cond = np.clip(p_a / (1 - p_b), 0, 1)
        like = np.zeros(np.broadcast_shapes(h.shape, q.shape))
        for b in range(lo[1], hi[1] + 1):  # Σ_b P(B = b) P(A in [lo - b, hi - b] | B = b)
            like += stats.binom.pmf(b, N, p_b) * (
                stats.binom.cdf(hi[0] - b, N - b, cond) - stats.binom.cdf(lo[0] - b - 1, N - b,
                                                                           cond))
        grids = {"h": (h[:, 0], like.sum(axis=1)), "q": (q[0], like.sum(axis=0))}
    out = {}
    for k, (x, lk) in grids.items():
        w = lk / lk.sum()
        mean = float((x * w).sum())
        out[k] = (x, w, math.sqrt(float(((x - mean) ** 2 * w).sum())))
    return out


def w1(name: str, particles: dict[str, np.ndarray], weights: np.ndarray) -> float:
    """The largest marginal Wasserstein-1 distance to the exact posterior, in its sds."""
    exact = exact_marginals(name)
    return max(stats.wasserstein_distance(particles[k], x, weights, w) / sd
               for k, (x, w, sd) in exact.items())


Row = dict[str, object]


def run_flowsim(name: str, way: str, seed: int, size: int, generations: int) -> list[Row]:
    """One row per generation: flowsim run with ``generations_max`` 1, 2, ... (reproducible,
    so that run ``g`` holds the first ``g`` generations of every longer one), until the goal."""
    scenario = toy(name)
    rows: list[Row] = []
    for g in range(1, generations + 1):
        t0 = time.perf_counter()
        post = abc_smc(scenario, population=size, budget=10**8, generations_max=g, seed=seed,
                       workers=1, **FLOWSIM_WAYS[way])  # type: ignore[arg-type]
        wall = time.perf_counter() - t0
        d = w1(name, {k: post.particles[:, i] for i, k in enumerate(post.param_names)},
               post.weights)
        rows.append({"toy": name, "sampler": way, "seed": seed, "generation": g - 1,
                     "simulations": post.generations[-1].total_simulations,
                     "wall_s": round(wall, 3), "epsilon": post.epsilon, "w1_sd": round(d, 4)})
        if d <= GOAL or len(post.generations) < g:  # met, or stopped before generation g
            break
    return rows


def run_pyabc(name: str, seed: int, size: int, generations: int) -> list[Row]:
    """One row per generation of one pyabc run (its defaults, the module doc's settings)."""
    import pyabc

    for logger in ("ABC", "ABC.Sampler", "ABC.History", "ABC.Epsilon", "ABC.Distance"):
        logging.getLogger(logger).setLevel(logging.WARNING)
    scenario = toy(name)
    model = compile_scenario(scenario)
    ts = TargetSet.build(scenario.targets, scenario)
    names = list(model.param_names)
    rng = np.random.default_rng(seed)

    def simulate(par: dict[str, float]) -> dict[str, np.ndarray]:
        res = flowsim.simulate(model, 1, seed=int(rng.integers(2**63)),
                               params=np.array([[par[k] for k in names]]), record=ts.record)
        return {"obs": ts.observe(res)[0]}

    def distance(x: dict[str, np.ndarray], _: dict[str, np.ndarray]) -> float:
        return float(ts.distance(x["obs"][None, :])[0])

    np.random.seed(seed)  # pyabc draws from numpy's global generator
    prior = pyabc.Distribution(**{k: pyabc.RV("uniform", PRIORS[k][0], PRIORS[k][1] -
                                              PRIORS[k][0]) for k in names})
    abc = pyabc.ABCSMC(simulate, prior, distance, population_size=size,
                       eps=pyabc.MedianEpsilon(), sampler=pyabc.sampler.SingleCoreSampler())
    with tempfile.TemporaryDirectory() as tmp:
        abc.new("sqlite:///" + os.path.join(tmp, "abc.db"), {"obs": np.zeros(len(ts.columns))})
        start = time.time()
        history = abc.run(minimum_epsilon=0.0, max_nr_populations=generations)
        pops = history.get_all_populations()
        rows: list[Row] = []
        total = int(pops[pops.t == -1].samples.sum())  # the calibration sample, counted
        for t in range(history.max_t + 1):
            row = pops[pops.t == t].iloc[0]
            total += int(row.samples)
            df, w = history.get_distribution(m=0, t=t)
            d = w1(name, {k: df[k].to_numpy() for k in names}, np.asarray(w))
            rows.append({"toy": name, "sampler": "pyabc", "seed": seed, "generation": t,
                         "simulations": total,
                         "wall_s": round(row.population_end_time.timestamp() - start, 3),
                         "epsilon": float(row.epsilon), "w1_sd": round(d, 4)})
            if d <= GOAL:
                break
    return rows


def to_goal(rows: list[Row]) -> tuple[float, float]:
    """Simulations and wall time at the first generation within the goal (NaN if none)."""
    for r in rows:
        if float(r["w1_sd"]) <= GOAL:  # type: ignore[arg-type]
            return float(r["simulations"]), float(r["wall_s"])  # type: ignore[arg-type]
    return math.nan, math.nan


def _pyabc() -> bool:
    try:
        import pyabc  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.benchmark(group="calibration-vs-pyabc")
@pytest.mark.parametrize("name", ["chain-h", "chain-hq"])
def test_simulations_and_time_to_the_exact_posterior(benchmark, name, size, request):
    """Simulations and wall time to W1 <= 0.1 posterior sd, flowsim and pyabc, same run."""
    from benchmarks.conftest import timing

    timed = timing(request.config)
    if not timed and name != "chain-h":
        pytest.skip("the two-parameter toy's exact posterior takes a while: timed runs only")
    seeds = SEEDS if timed else SEEDS[:1]
    generations = GENERATIONS if timed else 2
    rows: list[Row] = []
    runners: list[Callable[[int], list[Row]]] = [
        functools.partial(run_flowsim, name, way, size=size, generations=generations)
        for way in FLOWSIM_WAYS]
    if _pyabc() and (timed or os.environ.get("FLOWSIM_BENCH_PYABC")):
        runners.append(functools.partial(run_pyabc, name, size=size, generations=generations))

    def run() -> None:
        for seed in seeds:
            for runner in runners:
                rows.extend(runner(seed))

    benchmark.pedantic(run, rounds=1, iterations=1, warmup_rounds=0)
    assert rows and all(0 <= float(r["w1_sd"]) < math.inf for r in rows)  # type: ignore[arg-type]
    if not timed:  # the untimed run (the test suite): the samplers ran; draw them
        from benchmarks.plot_pyabc import main as plot

        tmp = Path(tempfile.mkdtemp())
        _write(rows, tmp / f"{name}.csv")
        plot(tmp, tmp / "pyabc.png")
        assert (tmp / "pyabc.png").stat().st_size > 0
        return
    samplers = dict.fromkeys(str(r["sampler"]) for r in rows)
    goal = {sampler: [to_goal([r for r in rows if r["sampler"] == sampler
                               and r["seed"] == seed]) for seed in seeds]
            for sampler in samplers}
    info: dict[str, object] = {"toy": name, "particles": size, "seeds": list(seeds)}
    for sampler, pairs in goal.items():
        info[f"{sampler}_simulations"] = [p[0] for p in pairs]
        info[f"{sampler}_wall_s"] = [p[1] for p in pairs]
    if "pyabc" in goal:
        ref = np.array(goal["pyabc"])
        for sampler in FLOWSIM_WAYS:
            own = np.array(goal[sampler])
            info[f"{sampler}_simulations_vs_pyabc"] = round(float(np.mean(own[:, 0] /
                                                                         ref[:, 0])), 3)
            info[f"{sampler}_speedup_vs_pyabc"] = round(float(np.mean(ref[:, 1] /
                                                                      own[:, 1])), 1)
    benchmark.extra_info.update(info)
    RESULTS.mkdir(parents=True, exist_ok=True)
    _write(rows, RESULTS / f"{name}.csv")


def _write(rows: list[Row], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
