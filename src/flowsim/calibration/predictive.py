"""The posterior-predictive check: simulations with parameters drawn from a posterior.

* :func:`posterior_predictive`: every target against such simulations, in one call;
* :func:`predictive_results`: the simulations themselves (:class:`~flowsim.results.Results`);
* :func:`posterior_params` and :func:`posterior_rows`: the draws, matched to a model's
  parameters by name (as a matrix, or as rows of the particles);
* :func:`predictive_table`: every target against an ensemble: median, interval, met or not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from flowsim.calibration.distance import Norm, TargetSet
from flowsim.calibration.posterior import Posterior
from flowsim.calibration.settings import _check_positive_int
from flowsim.calibration.streams import _child
from flowsim.core.compile import CompiledModel, compile_scenario
from flowsim.ensemble.blocks import ParamRows, SeedLike, seed_sequence
from flowsim.ensemble.simulation import simulate
from flowsim.scenario.model import Scenario, Target

__all__ = ["posterior_params", "posterior_predictive", "posterior_rows", "predictive_results",
           "predictive_table"]


def posterior_predictive(
    scenario: Scenario,
    posterior: Posterior,
    replicates: int = 1000,
    seed: SeedLike = 1,
    workers: int = 0,
    targets: Sequence[Target] | None = None,
    level: float = 0.9,
    client: Any = None,
    pool: Any = None,
) -> Any:
    """Check every target against simulations with parameters drawn from the posterior.

    Parameters
    ----------
    scenario : Scenario
    posterior : Posterior
    replicates : int
        Replicates, each with its own posterior draw.
    seed, workers, client, pool
        As in :func:`flowsim.simulate` (default: seed 1 and one worker per CPU, as
        ``flowsim calibrate``).
    targets : sequence of Target, optional
        Default: the scenario's targets.
    level : float
        Width of the predictive interval (default 90 %).

    Returns
    -------
    pandas.DataFrame
        See :func:`predictive_table`.
    """
    ts = TargetSet.build(scenario.targets if targets is None else targets, scenario,
                         posterior.attrs.get("norm", "rms"))
    res = predictive_results(scenario, posterior, replicates, seed, workers, ts.record,
                             client, pool)
    return predictive_table(res, ts.targets, level, ts.norm)


def predictive_results(scenario: Scenario, posterior: Posterior, replicates: int = 1000,
                       seed: SeedLike = 1, workers: int = 0,
                       record: Sequence[str] | None = None, client: Any = None,
                       pool: Any = None) -> Any:
    """Simulate a scenario with each replicate's parameters drawn from a posterior.

    Parameters
    ----------
    scenario : Scenario
        Its parameters are matched to the posterior's by name; those the posterior did not
        estimate keep the scenario's values.
    posterior : Posterior
    replicates : int
    seed : int, SeedSequence, Generator or None
        Its first child draws the parameters, its second runs the simulations (default 1,
        as ``flowsim calibrate``).
    workers, client, pool
        As in :func:`flowsim.simulate` (default 0: one worker per CPU).
    record : sequence of str, optional
        Variables to keep (default: :data:`flowsim.engine.DEFAULT_RECORD`).

    Returns
    -------
    Results
        With the scenario attached, so that targets and figures can be read off it.
    """
    from flowsim.core.engine import DEFAULT_RECORD
    from flowsim.results.dataset import Results

    replicates = _check_positive_int("replicates", replicates)
    model = compile_scenario(scenario)
    root = seed_sequence(seed)
    params = posterior_params(posterior, model, replicates, _child(root, 0))
    res = simulate(model, replicates=replicates, seed=_child(root, 1), workers=workers,
                   params=params, record=DEFAULT_RECORD if record is None else record,
                   client=client, pool=pool)
    return Results(res.dataset, scenario)


def posterior_params(posterior: Posterior, model: CompiledModel, n: int,
                     seed: SeedLike) -> np.ndarray:
    """Parameters for ``simulate(model, n, params=...)``, drawn from a posterior by name.

    Parameters
    ----------
    posterior : Posterior
    model : CompiledModel
        Its parameters that the posterior estimated take the draws (whole particles, by
        :meth:`Posterior.sample`); the others keep the model's declared values, and the
        posterior's parameters the model does not declare are ignored.
    n : int
    seed : int, SeedSequence, Generator or None

    Returns
    -------
    ndarray, shape (n, P)
    """
    return np.asarray(posterior_rows(posterior, model, n, seed))


def posterior_rows(posterior: Posterior, model: CompiledModel, n: int,
                   seed: SeedLike) -> ParamRows:
    """The draws of :func:`posterior_params` as rows of the particles, not a matrix.

    ``simulate`` and ``stream`` take it as ``params``: a million replicates then hold the
    particles and 8 MB of indices rather than a (replicates × parameters) matrix.

    Returns
    -------
    ParamRows
        ``table``: one complete parameter vector per particle; ``rows``: the particle of
        each replicate (:meth:`Posterior.resample` with this seed).
    """
    table = model.default_params(posterior.size)
    for j, name in enumerate(posterior.param_names):
        if name in model.param_names:
            table[:, model.param_names.index(name)] = posterior.particles[:, j]
    return ParamRows(table, posterior.resample(n, seed))


def predictive_table(results: Any, targets: Sequence[Target] | None = None,
                     level: float = 0.9, norm: Norm = "rms") -> Any:
    """Every target against an ensemble of simulations: median, interval, met or not.

    Parameters
    ----------
    results : Results
        Carrying its scenario and the variables the targets need (e.g. a run with
        parameters drawn from a posterior: the posterior-predictive check).
    targets : sequence of Target, optional
        Default: the scenario's targets. They may mix error models and ranges (as a
        validation set may): each column is judged on its own.
    level : float
        Width of the interval over replicates (default 90 %).
    norm : {"rms", "max"}
        How an ``each: true`` target's countries combine in its distance.

    Returns
    -------
    pandas.DataFrame
        One row per column (per country for ``each: true``, per window for a series):
        ``target``, ``column`` (its label), ``country``, ``window``, ``observable``,
        ``kind``, ``figure`` (the published figure as text, with its error model),
        ``value`` (its central figure, NaN for a range or bound without one), ``low``,
        ``high`` (the accepted range, or the values within 2 sds of the figure under its
        error model), ``median``, ``lower``, ``upper`` (the median and interval over
        replicates), ``met`` (whether the median lies in ``low``..``high``), ``distance``
        (of the median: the range distance, or ``|z|``, see
        :mod:`flowsim.calibration.distance`), ``z`` (the median's standardized residual
        under the error model, NaN for a range) and ``vs_value`` (``median / value - 1``).
    """
    import pandas as pd

    scenario = results.scenario
    if targets is None:
        if scenario is None:
            raise ValueError("the results carry no scenario: pass targets=")
        targets = scenario.targets
    ts = TargetSet.build(targets, scenario, norm)
    obs = ts.observe(results)
    a = (1.0 - level) / 2.0
    q = np.quantile(obs, [a, 0.5, 1.0 - a], axis=0)
    dist = ts.column_distances(q[1])
    z = ts.z(q[1])
    rows = []
    for j, col in enumerate(ts.columns):
        t = ts.targets[ts.column_target[j]]
        value = float(ts.column_value[j]) if ts.column_value is not None else math.nan
        country = ts.column_country[j] or ""
        window = col.rsplit("[", 1)[1].rstrip("]") if t.kind == "series" else ""
        rows.append({
            "target": t.id, "column": col, "country": country, "window": window,
            "observable": _observable(t), "kind": t.kind,
            "figure": _figure(t, value if t.kind == "series" else None), "value": value,
            "low": ts.low[j], "high": ts.high[j],
            "median": q[1, j], "lower": q[0, j], "upper": q[2, j],
            "met": bool(ts.low[j] <= q[1, j] <= ts.high[j]), "distance": float(dist[j]),
            "z": float(z[j]),
            "vs_value": q[1, j] / value - 1.0 if value and np.isfinite(value) else math.nan,
        })
    return pd.DataFrame(rows)


def _observable(t: Target) -> str:
    """The observable in a few words: ``stock``, ``returns ÷ departures``, ``change of
    stock``, with a coverage share."""
    if t.observable == "ratio" and t.numerator is not None and t.denominator is not None:
        text = f"{t.numerator.observable} ÷ {t.denominator.observable}"
    elif t.since is not None:
        text = f"change of {t.observable}"
    else:
        text = t.observable
    if t.error is not None and t.error.coverage != 1:
        text += f" × {t.error.coverage:g}"
    return text


def _figure(t: Target, window_value: float | None = None) -> str:
    """A target's published figure as text (``400,000 to 500,000``, ``>= 0.333``); for a
    window of a series, that window's figure."""
    if window_value is None:
        return t.figure_text()
    one = t.model_copy(update={"kind": "about", "value": window_value, "every": None,
                               "values": None, "windows": None})
    return one.figure_text()
