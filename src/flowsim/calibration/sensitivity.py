"""Global sensitivity over the priors: which parameters move the headline numbers and targets.

:func:`sensitivity` varies every parameter with a prior (or those named) over its prior, the
others keeping their declared values, and says how much each one moves

* the **headline numbers** of the scenario (:meth:`flowsim.Results.headline`, the rows the
  summary reports as headline: cumulative departures at the report's dates, departures in
  its windows, abroad and returned at the end, the share abroad in each of the report's
  groups, asylum applications and grants), plus the **stock in each of the report's groups
  at the end** (:func:`flowsim.scenario.report.report_groups`);
* every column of the **calibration targets** (:meth:`TargetSet.observe
  <flowsim.calibration.distance.TargetSet.observe>`: one per target, per country of an
  ``each: true`` target, per window of a series).

Two methods, each returning a :class:`Sensitivity`:

* ``"sobol"`` (default): first-order and total **Sobol indices**, the share of an outcome's
  variance a parameter explains alone, and with its interactions. The estimators are
  ``scipy.stats.sobol_indices``'s (Saltelli et al. 2010 for the first order, Jansen for the
  total) on its own design (a scrambled Sobol sequence of ``2 d`` dimensions, mapped through
  the priors' quantile functions: matrices A and B, and the d matrices AB_i, A with column i
  from B). scipy was chosen over SALib because flowsim already needs scipy (1.11 has
  ``sobol_indices``), its estimators are the ones SALib uses, and one more dependency is one
  more thing to keep working.
* ``"morris"``: **Morris elementary-effects screening** (:mod:`flowsim.calibration.morris`,
  on numpy: scipy has none), ``mu_star``, ``mu`` and ``sigma`` per parameter in the
  outcome's units, at ``r (d + 1)`` simulations instead of Sobol's ``n (d + 3)``: the way to
  find the few parameters that matter among many, before Sobol indices of those few.

**The engine's batches.** flowsim's engine takes one parameter vector per replicate, so
the whole design (every point of every matrix or trajectory) is *one*
:func:`flowsim.simulate` call with one replicate per point; each block of replicates is
reduced to its outcomes where it ran, so only a few numbers per point come back.

**The model's own randomness.** Every point is simulated once with its own random
numbers, so an outcome varies even at fixed parameters. The Sobol design adds a copy of A
simulated with other random numbers (``n`` more simulations): half the mean squared
difference of the two is the variance the randomness adds, reported as the index
``randomness`` of each outcome (its share of the variance), and subtracted from the total
indices, whose estimator counts it in every parameter's share otherwise (two independent
replicates differ by it whatever the parameters). With the bundled scenario's cohorts of
hundreds of thousands it is a fraction of a percent; with small toys, much more. The
first-order indices need no correction (the randomness of the B runs averages out).

**Intervals** show whether the sample was big enough: Sobol indices get BCa bootstrap
intervals over the ``n`` rows of the design (``scipy.stats.bootstrap``, as
``SobolResult.bootstrap`` does, but with a seeded generator so that the same seed gives the
same intervals; percentile intervals where BCa is undefined), Morris statistics percentile
intervals over trajectories. No further simulation is needed. An index whose interval is
wide needs more samples: double ``samples`` (Sobol: a power of 2) until the intervals are
as narrow as the question needs; they shrink as ``1 / sqrt(samples)``.

Randomness: the seed's ``SeedSequence`` has three children: the design (Sobol scrambling or
Morris trajectories), the simulations, the bootstrap. The same seed gives the same indices
bit for bit, whatever the number of workers.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import time
import warnings
from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats
from scipy.stats import qmc

from flowsim.calibration.distance import TargetSet
from flowsim.calibration.morris import (
    DEFAULT_LEVELS,
    MORRIS_INDICES,
    elementary_effects,
    morris_design,
    morris_indices,
)
from flowsim.calibration.priors import JointPrior
from flowsim.calibration.settings import DEFAULT_CALIBRATION_BLOCK
from flowsim.calibration.streams import _child, _rng
from flowsim.core.compile import compile_scenario
from flowsim.ensemble.blocks import SeedLike, seed_sequence
from flowsim.ensemble.simulation import simulate
from flowsim.results.dataset import Results
from flowsim.scenario.model import Scenario, Target
from flowsim.scenario.report import label, report_groups

__all__ = ["DEFAULT_MORRIS_TRAJECTORIES", "DEFAULT_SOBOL_SAMPLES", "METHODS", "RANDOMNESS",
           "SOBOL_INDICES", "Sensitivity", "sensitivity"]

#: the Sobol design's base sample ``n`` by default: ``n (d + 3)`` simulations, 4,992 for
#: the bundled scenario's 75 parameters (a few minutes on 2 cores)
DEFAULT_SOBOL_SAMPLES = 64
#: Morris trajectories by default: ``r (d + 1)`` simulations, 1,520 for 75 parameters
DEFAULT_MORRIS_TRAJECTORIES = 20
METHODS = ("sobol", "morris")
SOBOL_INDICES = ("first_order", "total_order")
#: the index of the share of an outcome's variance due to the model's own randomness
RANDOMNESS = "randomness"
#: what the headline numbers need recorded (those the model lacks are left out)
_HEADLINE_RECORD = ("departures", "stock", "returns", "asylum_applications", "asylum_grants")
#: the words of each index, for tables and figures
INDEX_WORDS = {"first_order": "first order", "total_order": "total", "mu_star": "μ* (mean |effect|)",
               "mu": "μ (mean effect)", "sigma": "σ (sd of effects)",
               RANDOMNESS: "model randomness"}


@dataclasses.dataclass(frozen=True)
class Sensitivity:
    """Sensitivity indices of a scenario's outcomes to its parameters (see the module doc).

    Attributes
    ----------
    method : {"sobol", "morris"}
    scenario_name : str
    parameters : tuple of str
        The parameters varied over their priors, in declared order.
    outcomes : tuple of str
        The outcomes, in words (targets by their column label).
    sources : tuple of str
        ``"headline"`` or ``"target"``, per outcome.
    estimate, low, high : dict of str to ndarray, shape (outcomes, parameters)
        Each index (``first_order`` and ``total_order``, or ``mu_star``, ``mu`` and
        ``sigma``) and the bounds of its bootstrap interval.
    randomness : tuple of ndarray, shape (outcomes,), or None
        Sobol only: the share of each outcome's variance due to the model's own randomness
        (estimate, low, high).
    confidence : float
        Level of the intervals.
    samples : int
        The Sobol base sample ``n``, or the number of Morris trajectories.
    simulations : int
        Replicates simulated (one per point of the design).
    constant : tuple of str
        Outcomes left out because they did not vary (no index is defined).
    seed : dict
        The seed's entropy and spawn key (to repeat the run).
    wall_time : float
        Seconds the design's simulations took.
    """

    method: str
    scenario_name: str
    parameters: tuple[str, ...]
    outcomes: tuple[str, ...]
    sources: tuple[str, ...]
    estimate: dict[str, np.ndarray]
    low: dict[str, np.ndarray]
    high: dict[str, np.ndarray]
    randomness: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    confidence: float
    samples: int
    simulations: int
    constant: tuple[str, ...] = ()
    seed: dict[str, str] = dataclasses.field(default_factory=dict)
    wall_time: float = 0.0

    @property
    def indices(self) -> tuple[str, ...]:
        """The index kinds, in order (the main one first: ``total_order`` or ``mu_star``)."""
        return ("total_order", "first_order") if self.method == "sobol" else MORRIS_INDICES

    @property
    def main(self) -> str:
        """The index that ranks parameters: ``total_order`` (Sobol) or ``mu_star``."""
        return self.indices[0]

    def to_dataframe(self) -> Any:
        """The indices as a tidy table, one row per outcome, parameter and index.

        Returns
        -------
        pandas.DataFrame
            Columns ``outcome``, ``source`` (headline or target), ``parameter``, ``index``,
            ``estimate``, ``low``, ``high``; the randomness share of an outcome has
            ``parameter`` "" and ``index`` ``randomness``.
        """
        import pandas as pd

        rows = []
        for o, (name, src) in enumerate(zip(self.outcomes, self.sources, strict=True)):
            for kind in sorted(self.indices, key=SOBOL_INDICES.index) \
                    if self.method == "sobol" else self.indices:
                for p, par in enumerate(self.parameters):
                    rows.append((name, src, par, kind, self.estimate[kind][o, p],
                                 self.low[kind][o, p], self.high[kind][o, p]))
            if self.randomness is not None:
                est, lo, hi = self.randomness
                rows.append((name, src, "", RANDOMNESS, est[o], lo[o], hi[o]))
        return pd.DataFrame(rows, columns=["outcome", "source", "parameter", "index",
                                           "estimate", "low", "high"])

    def to_csv(self, path: str | Path) -> Path:
        """Write :meth:`to_dataframe` as CSV, all or nothing; returns the path."""
        from flowsim.results.files import atomic_file

        path = Path(path)
        with atomic_file(path) as tmp:
            self.to_dataframe().to_csv(tmp, index=False, float_format="%.6g")
        return path

    def ranking(self, outcome: str | int, top: int | None = None) -> list[int]:
        """The parameters' positions by decreasing main index for one outcome.

        Parameters
        ----------
        outcome : str or int
            The outcome's name (as in :attr:`outcomes`) or position.
        top : int, optional
            Keep only the first ``top``.
        """
        o = self.outcomes.index(outcome) if isinstance(outcome, str) else int(outcome)
        values = np.nan_to_num(self.estimate[self.main][o], nan=-np.inf)
        order = [int(i) for i in np.argsort(-values, kind="stable")]
        return order if top is None else order[:top]

    def headline_outcomes(self) -> list[int]:
        """Positions of the headline outcomes, abroad at the end and the groups' stocks
        first (the ones a figure shows)."""
        heads = [o for o, s in enumerate(self.sources) if s == "headline"]

        def key(o: int) -> int:
            name = self.outcomes[o]
            return 0 if name.startswith("abroad") else 1 if name.startswith("stock in") else 2
        return sorted(heads, key=key)

    def summary(self, top: int = 3) -> Any:
        """For every outcome, its ``top`` parameters by the main index (for a terminal).

        Returns
        -------
        pandas.DataFrame
            Columns ``outcome``, ``source``, ``rank``, ``parameter``, and for each index its
            estimate and interval as text.
        """
        import pandas as pd

        rows = []
        for o, name in enumerate(self.outcomes):
            for r, p in enumerate(self.ranking(o, top), 1):
                row = {"outcome": name, "source": self.sources[o], "rank": r,
                       "parameter": self.parameters[p]}
                for kind in self.indices:
                    row[kind] = _interval(self.estimate[kind][o, p], self.low[kind][o, p],
                                          self.high[kind][o, p])
                if self.randomness is not None:
                    row[RANDOMNESS] = _interval(*(a[o] for a in self.randomness))
                rows.append(row)
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        head = (f"<b>Sensitivity</b> ({escape(self.method)}) of {escape(self.scenario_name)}: "
                f"{len(self.outcomes)} outcomes × {len(self.parameters)} parameters, "
                f"{self.simulations:,} simulations, {self.confidence:.0%} bootstrap intervals")
        table = self.summary(3)
        cols = [c for c in table.columns if c != "source"]
        body = "".join("<tr>" + "".join(f"<td>{escape(str(r[c]))}</td>" for c in cols)
                       + "</tr>" for r in table.to_dict("records"))
        heads = "".join(f"<th>{escape(INDEX_WORDS.get(c, c))}</th>" for c in cols)
        return (f"<div><p>{head}</p><details><summary>top 3 parameters of each outcome"
                f"</summary><table><thead><tr>{heads}</tr></thead><tbody>{body}</tbody>"
                "</table></details></div>")

    def __repr__(self) -> str:
        return (f"<Sensitivity {self.method} of {self.scenario_name}: {len(self.outcomes)} "
                f"outcomes × {len(self.parameters)} parameters, {self.simulations:,} "
                "simulations>")


def _interval(est: float, lo: float, hi: float) -> str:
    def f(x: float) -> str:
        if not np.isfinite(x):
            return "–"
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.1f}" if abs(x) >= 10 else f"{x:.2f}"
    return f"{f(est)} [{f(lo)}, {f(hi)}]"


# -- outcomes -----------------------------------------------------------------------------------


def _outcome_rows(results: Any, scenario: Scenario, rows: tuple[int, ...],
                  groups: tuple[str, ...], plan: Any) -> np.ndarray:
    """One block's outcomes ``(replicates, K)``: the chosen headline rows, the groups' stocks
    at the end, the target columns. Runs where the block ran (``simulate(reduce=)``)."""
    res = Results(results.dataset, scenario)
    parts = []
    if rows:
        parts.append(res.headline().values[:, list(rows)])
    if groups:
        last = res.dataset["time"].values[-1]
        parts.append(np.column_stack([res.stock(g, last).values for g in groups]))
    if plan is not None:
        ds = results.dataset
        parts.append(plan({v: ds[v].values for v in plan.record}))
    return np.column_stack(parts).astype(float)


@dataclasses.dataclass(frozen=True)
class _Outcomes:
    names: tuple[str, ...]
    sources: tuple[str, ...]
    record: tuple[str, ...]
    reduce: Any


def _outcomes(scenario: Scenario, model: Any, targets: TargetSet | None) -> _Outcomes:
    """Name the outcomes and build the reduction that computes them.

    The headline's rows depend on the scenario and the recorded variables only, never on the
    draws (:meth:`Results.headline`), so one replicate at the declared values names them.
    """
    from flowsim.core.engine import DEFAULT_RECORD

    record = [v for v in _HEADLINE_RECORD if v in DEFAULT_RECORD]
    if targets is not None:
        record += [v for v in targets.record if v not in record]
    pilot = Results(simulate(model, replicates=1, seed=0, workers=1, record=tuple(record),
                             block_size=1).dataset, scenario)
    head = pilot.headline()
    rows = tuple(int(j) for j in np.flatnonzero(head["kind"].values == "headline"))
    names = [f"{head['quantity'].values[j]} {head['when'].values[j]}" for j in rows]
    last = pilot.dataset["time"].values[-1].astype("datetime64[D]").astype(object)
    members = scenario.group_members()
    groups = tuple(g for g in report_groups(scenario) if members.get(g))
    names += [f"stock in {label(scenario, g)} at {last}" for g in groups]
    sources = ["headline"] * len(names)
    plan = None
    if targets is not None:
        plan = targets.plan(model, scenario)
        names += list(targets.columns)
        sources += ["target"] * len(targets.columns)
    reduce = functools.partial(_outcome_rows, scenario=scenario, rows=rows, groups=groups,
                               plan=plan)
    return _Outcomes(tuple(names), tuple(sources), tuple(record), reduce)


# -- the two methods ----------------------------------------------------------------------------


def _quantiles(prior: JointPrior, u: np.ndarray) -> np.ndarray:
    """Probabilities ``(m, d)`` mapped through the priors' quantile functions."""
    return np.column_stack([dist.ppf(u[:, i]) for i, dist in enumerate(prior._dists)])


def _sobol_engine(d: int, rng: np.random.Generator) -> qmc.Sobol:
    # scipy >= 1.15 names the generator `rng`; 1.11-1.14 call it `seed`
    key = "rng" if "rng" in inspect.signature(qmc.Sobol).parameters else "seed"
    return qmc.Sobol(d=d, scramble=True, **{key: rng})


def _sobol_design(prior: JointPrior, n: int, rng: np.random.Generator) -> np.ndarray:
    """The rows A, B, AB_1..AB_d and A again (``n (d + 3)`` by ``d``), as scipy's design."""
    d = prior.dim
    with warnings.catch_warnings():  # scipy warns about n that are not powers of 2
        warnings.simplefilter("ignore", UserWarning)
        u = _sobol_engine(2 * d, rng).random(n)
    a, b = _quantiles(prior, u[:, :d]), _quantiles(prior, u[:, d:])
    ab = np.repeat(a[None], d, axis=0)
    ab[np.arange(d), :, np.arange(d)] = b.T
    return np.concatenate([a, b, ab.reshape(d * n, d), a])


def _sobol_statistic(f_a: np.ndarray, f_b: np.ndarray, f_ab: np.ndarray, f_a2: np.ndarray
                     ) -> np.ndarray:
    """First-order, total (less the randomness) and randomness share, stacked
    ``(2 s d + s,)``, of outputs ``f_a``, ``f_b``, ``f_a2`` ``(s, n)``, ``f_ab`` ``(d, s, n)``
    centred on the mean of A and B.

    The estimators are scipy's (``saltelli_2010`` of ``scipy.stats.sobol_indices``: Saltelli
    et al. 2010, Table 2 (b) and (f)), written out because the bootstrap's jackknife needs
    them on samples whose size is no power of 2, which ``sobol_indices`` refuses; the tests
    check that the full sample gives ``sobol_indices``'s numbers.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.var([f_a, f_b], axis=(0, -1))
        first = (np.mean(f_b * (f_ab - f_a), axis=-1) / var).T  # (s, d)
        total = (0.5 * np.mean((f_a - f_ab) ** 2, axis=-1) / var).T
        noise = 0.5 * np.mean((f_a - f_a2) ** 2, axis=-1) / var
    return np.concatenate([first.ravel(), (total - noise[:, None]).ravel(), noise])


def _bootstrap(statistic: Any, n: int, rng: np.random.Generator, confidence: float,
               resamples: int) -> tuple[np.ndarray, np.ndarray]:
    """BCa intervals of ``statistic(rows)`` over resamples of ``n`` rows; percentile
    intervals where BCa is undefined (a statistic that barely varies)."""
    key = "rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state"
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        boot = stats.bootstrap((np.arange(n),), statistic, vectorized=False, method="BCa",
                               confidence_level=confidence, n_resamples=resamples,
                               **{key: rng})
    low, high = np.array(boot.confidence_interval.low), np.array(boot.confidence_interval.high)
    bad = ~(np.isfinite(low) & np.isfinite(high))
    if bad.any():
        tail = (1 - confidence) / 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            q = np.nanquantile(boot.bootstrap_distribution, [tail, 1 - tail], axis=-1)
        low[bad], high[bad] = q[0][bad], q[1][bad]
    return low, high


def sensitivity(
    scenario: Scenario | str | Path,
    method: str = "sobol",
    samples: int | None = None,
    parameters: Sequence[str] | None = None,
    targets: Sequence[Target] | None = None,
    seed: SeedLike = 1,
    workers: int = 0,
    pool: Any = None,
    confidence: float = 0.9,
    resamples: int = 999,
    levels: int = DEFAULT_LEVELS,
    block_size: int = DEFAULT_CALIBRATION_BLOCK,
    progress: Callable[[float], None] | None = None,
) -> Sensitivity:
    """Global sensitivity of a scenario's headline numbers and targets to its priors.

    See :mod:`flowsim.calibration.sensitivity` for the outcomes, the methods, the model's
    randomness and the intervals.

    Parameters
    ----------
    scenario : Scenario or path
    method : {"sobol", "morris"}
        First-order and total Sobol indices, or Morris screening.
    samples : int, optional
        Sobol: the base sample ``n``, a power of 2 (default :data:`DEFAULT_SOBOL_SAMPLES`),
        for ``n (d + 3)`` simulations. Morris: trajectories ``r`` (default
        :data:`DEFAULT_MORRIS_TRAJECTORIES`), for ``r (d + 1)`` simulations.
    parameters : sequence of str, optional
        Vary only these (each must have a prior); default: every parameter with a prior.
    targets : sequence of Target, optional
        The targets whose columns are outcomes (default: the scenario's; ``[]`` for none).
    seed : int, SeedSequence, Generator or None
        Root of all randomness (design, simulations, bootstrap).
    workers : int
        Worker processes (0: one per CPU); does not change the results.
    pool : concurrent.futures.Executor, optional
        An executor to run the blocks in (``workers`` is then ignored).
    confidence : float
        Level of the bootstrap intervals.
    resamples : int
        Bootstrap resamples.
    levels : int
        Morris: levels of each parameter's grid (even).
    block_size : int
        Replicates per block of the simulation.
    progress : callable, optional
        Called with the share of the design simulated (0 to 1) as blocks complete.

    Returns
    -------
    Sensitivity

    Raises
    ------
    ValueError
        For an unknown method, a Sobol sample that is not a power of 2, fewer than 2
        Morris trajectories, a parameter without a prior, or nothing to vary.
    KeyError
        For an unknown parameter.

    Examples
    --------
    >>> import flowsim
    >>> s = flowsim.sensitivity("scenarios/russia-2022.yaml", samples=64)  # doctest: +SKIP
    >>> s.to_dataframe().query("index == 'total_order'")  # doctest: +SKIP
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose sobol or morris")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    if isinstance(scenario, str | Path):
        from flowsim.scenario import load_scenario

        scenario = load_scenario(scenario)
    if not isinstance(scenario, Scenario):
        raise TypeError(f"sensitivity needs a Scenario, not {type(scenario).__name__}")
    if samples is None:
        samples = DEFAULT_SOBOL_SAMPLES if method == "sobol" else DEFAULT_MORRIS_TRAJECTORIES
    samples = int(samples)
    if method == "sobol" and (samples < 2 or samples & (samples - 1)):
        raise ValueError(f"the Sobol sample must be a power of 2 (32, 64, 128, ...), not "
                         f"{samples}: the balance of Sobol points needs it")
    if method == "morris" and samples < 2:
        raise ValueError(f"Morris screening needs at least 2 trajectories, not {samples}")
    prior = JointPrior.from_scenario(scenario, parameters)
    tlist = scenario.targets if targets is None else targets
    tset = TargetSet.build(tlist, scenario) if tlist else None
    model = compile_scenario(scenario)
    out = _outcomes(scenario, model, tset)
    root = seed_sequence(seed)
    design_rng, sim_seed, boot_rng = _rng(_child(root, 0)), _child(root, 1), \
        _rng(_child(root, 2))
    d, n = prior.dim, samples
    if method == "sobol":
        theta = _sobol_design(prior, n, design_rng)
    else:
        u, order, sign = morris_design(d, n, design_rng, levels)
        theta = _quantiles(prior, u.reshape(-1, d))
    t0 = time.perf_counter()
    f = np.asarray(simulate(model, replicates=theta.shape[0], seed=sim_seed, workers=workers,
                            params=prior.full(theta), record=out.record, pool=pool,
                            reduce=out.reduce, block_size=block_size,
                            progress=None if progress is None else
                            lambda done, total: progress(done / total)), dtype=float)
    wall = time.perf_counter() - t0
    varies = np.nanstd(f, axis=0) > 0
    keep = np.flatnonzero(varies)
    f = f[:, keep]
    s = keep.size
    estimate, low, high = {}, {}, {}
    randomness = None
    if method == "sobol":
        blocks = f.reshape(d + 3, n, s)  # A, B, AB_1..AB_d, A again
        f_a, f_b, f_ab, f_a2 = (blocks[0].T, blocks[1].T, blocks[2:d + 2].transpose(0, 2, 1),
                                blocks[d + 2].T)

        # centred as scipy centres them (on the mean of A and B), once for every resample
        mean = np.mean([f_a, f_b], axis=(0, -1))[:, None]
        f_a, f_b, f_ab, f_a2 = f_a - mean, f_b - mean, f_ab - mean, f_a2 - mean

        def statistic(rows: np.ndarray) -> np.ndarray:
            return _sobol_statistic(f_a[:, rows], f_b[:, rows], f_ab[..., rows], f_a2[:, rows])

        point = statistic(np.arange(n))
        lo, hi = _bootstrap(statistic, n, boot_rng, confidence, resamples)
        sd = s * d
        for k, kind in enumerate(SOBOL_INDICES):
            sl = slice(k * sd, (k + 1) * sd)
            estimate[kind], low[kind], high[kind] = (a[sl].reshape(s, d) for a in (point, lo, hi))
        randomness = (point[2 * sd:], lo[2 * sd:], hi[2 * sd:])
    else:
        ee = elementary_effects(f.reshape(n, d + 1, s), order, sign)
        for kind, (e, lo_, hi_) in morris_indices(ee, boot_rng, confidence, resamples).items():
            estimate[kind], low[kind], high[kind] = e, lo_, hi_
    return Sensitivity(
        method=method, scenario_name=scenario.name, parameters=prior.names,
        outcomes=tuple(out.names[i] for i in keep),
        sources=tuple(out.sources[i] for i in keep), estimate=estimate, low=low, high=high,
        randomness=randomness, confidence=confidence, samples=n,
        simulations=int(theta.shape[0]) + 1,
        constant=tuple(out.names[i] for i in np.flatnonzero(~varies)),
        seed={"entropy": str(root.entropy), "spawn_key": ",".join(map(str, root.spawn_key))},
        wall_time=wall)
