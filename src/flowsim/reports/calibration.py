"""A calibration's outputs on disk: posterior, diagnostics, the report and its figures.

:func:`write_calibration` writes a directory, all or nothing
(:func:`flowsim.results.files.staged_directory`):

===========================  =================================================================
``posterior.nc``             the weighted particles, diagnostics and provenance, with
                             ``converged`` (``"true"``/``"false"``) and why
                             (:meth:`Posterior.save <flowsim.calibration.Posterior.save>`,
                             :mod:`flowsim.calibration.convergence`)
``posterior.csv``            one row per particle: parameters, ``weight``, ``distance``, and
                             the particle's observables (``target:<column>``)
``diagnostics.csv``          one row per generation: tolerance, acceptance, ESS, simulations,
                             time, distance quantiles
``report.md``                the calibration report: converged or not (first, as a
                             warning when not) and any prior-bound warnings, every target
                             against the posterior predictive, the generations, the most
                             informed parameters, the figures
``report.csv``               the report's target table (:func:`predictive_table`)
``parameters.csv``           prior, starting value, posterior quantiles and sd ratio of every
                             estimated parameter (:func:`flowsim.plots.calibration.information`)
``targets.png``              :func:`flowsim.plots.calibration.target_check`
``fan_departures.png``       :func:`flowsim.plots.fan_chart` of the posterior predictive, with
                             the targets on departures and on people abroad
``posterior_marginals.png``  :func:`flowsim.plots.calibration.posterior_marginals`
``posterior_pairs.png``      :func:`flowsim.plots.calibration.posterior_pairs`
``run.json``                 how it was made: seed, settings, scenario, versions, timings;
                             ``converged``, ``convergence``, ``prior_bound_warnings``
``validation.csv``           only with a validation set (``validation:``): each of its figures
                             against the posterior predictive (:func:`predictive_table`)
``validation.png``           :func:`flowsim.plots.calibration.validation_check`
``series.png``               only with series targets (or validation series): each series
                             against the posterior predictive
                             (:func:`flowsim.plots.calibration.series_check`)
===========================  =================================================================

The validation set is never calibrated on: it is simulated in the same posterior-predictive
run as the targets and reported in its own table, figure and section of ``report.md``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from flowsim.results.files import write_run_json

__all__ = ["FILES", "SavedCalibration", "open_calibration", "report_markdown",
           "target_markdown", "write_calibration"]

#: The attribute of ``posterior.nc`` that carries the calibrated scenario (JSON).
SCENARIO_ATTR = "scenario_json"

FILES = ("posterior.nc", "posterior.csv", "diagnostics.csv", "report.md", "report.csv",
         "parameters.csv", "targets.png", "fan_departures.png", "posterior_marginals.png",
         "posterior_pairs.png", "run.json")
#: written besides, only when the scenario has a validation set, or series
VALIDATION_FILES = ("validation.csv", "validation.png")
SERIES_FILE = "series.png"
#: parameters listed in the report (all of them are in parameters.csv)
REPORT_PARAMETERS = 15
PAIRS = 6


def _num(x: float) -> str:
    """A figure for a table: three significant digits, thousands separators; shares as is."""
    if x is None or not np.isfinite(x):
        return "–" if x is None or np.isnan(x) else ("∞" if x > 0 else "−∞")
    if x == 0:
        return "0"
    if abs(x) < 10:
        return f"{x:.3g}"
    digits = 3 - math.floor(math.log10(abs(x))) - 1
    return f"{round(x, digits):,.0f}"


def _duration(secs: float) -> str:
    return f"{secs:.1f} s" if secs < 120 else f"{secs / 60:.1f} minutes"


def _exact(x: float) -> str:
    """A published bound as given: ``448,800``, ``0.333``."""
    return f"{int(x):,}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:,.6g}"


def _accepted(row: Mapping[str, Any]) -> str:
    """The range a target accepts, with its bounds as published (not rounded)."""
    lo, hi = row["low"], row["high"]
    z = row.get("z")
    # an error model's band (within 2 sds) is computed, not published: rounded
    fmt = _num if z is not None and not np.isnan(z) else _exact
    if np.isfinite(lo) and np.isfinite(hi):
        return f"{fmt(lo)} – {fmt(hi)}"
    if np.isfinite(lo):
        return f"≥ {fmt(lo)}"
    return f"≤ {fmt(hi)}"


def _label(r: Mapping[str, Any]) -> str:
    """A row's column label (``id``, ``id[ARM]``, ``id[2022-03]``)."""
    col = r.get("column")
    if isinstance(col, str) and col:
        return col
    return f"{r['target']}[{r['country']}]" if r["country"] else r["target"]


def target_markdown(table: Any) -> str:
    """The target table of the report, as a Markdown table.

    Columns: target (and country), observable, the published figure, the range the target
    accepts, the posterior-predictive median and 90 % interval, whether the median is in
    the range, its distance (0 inside; log scale outside; for a figure with an error model,
    the standardized residual ``|z|``, met within 2 sds), and for figures with a central
    value the median's deviation from it.
    """
    lines = [("| Target | Observable | Published figure | Accepted | Median | 90% interval "
             "| Met | Distance | Median vs figure |"),
             "|---|---|---|---|--:|--:|:-:|--:|--:|"]
    for r in table.to_dict("records"):
        name = _label(r)
        vs = f"{r['vs_value']:+.1%}" if np.isfinite(r["vs_value"]) else ""
        lines.append(
            f"| {name} | {r['observable']} | {r['figure']} | {_accepted(r)} "
            f"| {_num(r['median'])} | {_num(r['lower'])} – {_num(r['upper'])} "
            f"| {'yes' if r['met'] else '**no**'} | {r['distance']:.3f} | {vs} |")
    return "\n".join(lines)


def _diagnostics_markdown(diag: Any) -> str:
    lines = [("| Generation | Tolerance ε | Acceptance | ESS | Simulations | Total | Time (s) "
             "| Distance median |"),
             "|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in diag.to_dict("records"):
        lines.append(f"| {r['generation']} | {r['epsilon']:.4f} | {r['acceptance_rate']:.1%} "
                     f"| {r['ess']:,.0f} | {r['simulations']:,} | {r['total_simulations']:,} "
                     f"| {r['wall_time']:.1f} | {r['distance_median']:.4f} |")
    return "\n".join(lines)


def _parameters_markdown(info: Any, n: int) -> str:
    lines = [("| Parameter | Prior | Declared value | Posterior median | 90% interval "
             "| sd ratio |"), "|---|---|--:|--:|--:|--:|"]
    for name, r in info.head(n).iterrows():
        lines.append(f"| {name} | {r['prior']} | {r['value']:.4g} | {r['median']:.4g} "
                     f"| {r['q05']:.4g} – {r['q95']:.4g} | {r['sd_ratio']:.2f} |")
    return "\n".join(lines)


def report_markdown(posterior: Any, table: Any, info: Any, run_info: Mapping[str, Any],
                    replicates: int, validation: Any = None, series: bool = False) -> str:
    """The text of ``report.md`` (``validation``: the validation set's table, if any;
    ``series``: whether ``series.png`` is drawn)."""
    a = posterior.attrs
    met = int(table["met"].sum())
    missed = [_label(r) for r in table.to_dict("records") if not r["met"]]
    errors = "weighting" in a  # calibrated with error models (see the sampler)
    if errors:
        goal = a.get("min_epsilon")
        what = ("root mean square of the standardized residuals of every figure under its "
                "error model; " + (f"the goal is {float(goal):.4g}, " if goal is not None
                                   else "at the goal, ")
                + "every figure is within its error")
        rule = ("A target with an error model is **met** when the median is within 2 sds of "
                "the figure (the *Accepted* column); its *Distance* is the median's "
                "standardized residual `|z|` (see `flowsim.calibration.errors`). Weights: "
                f"{a['weighting']}"
                + (f"; last stage: {a['error_model_stage']}" if a.get("error_model_stage")
                   else "")
                + ("." if a.get("weighting", "").startswith("none needed") else
                   "; a small ESS after means the population was spread wide against the "
                   "likelihood, so that a few particles carry the weight: the intervals then "
                   "rest on few distinct draws."))
    else:
        what = "root mean square of the targets' log-scale distances; 0 when every target is met"
        rule = ("A target is **met** when the median lies in the range it "
                "accepts (the interval, the bound, or the `about` figure ± its tolerance). "
                "Distance: `|log((median + f) / (bound + f))|` to the nearest bound, 0 inside "
                "(see `flowsim.calibration.distance`).")
    secs = run_info.get("timings", {}).get("calibrate_s")
    gens = posterior.generations
    head = [
        f"# Calibration report: {a.get('scenario_name', '?')}",
        "",
        _convergence_markdown(posterior),
        "",
        f"ABC-SMC ({a.get('method')}) of {len(posterior.param_names)} parameters to "
        f"{len(table)} target figures: {posterior.size:,} particles (ESS "
        f"{posterior.ess:,.0f}) after {len(gens)} generations and "
        f"{gens[-1].total_simulations:,} simulations"
        + (f" in {_duration(secs)}" if secs is not None else "")
        + f"; stopped: {a.get('stop_reason')}. Final tolerance ε = {posterior.epsilon:.4f} "
        f"({what}). "
        f"Seed {run_info.get('seed', {}).get('given', '?')}, scenario hash "
        f"{a.get('scenario_hash')}.",
        "",
        "## Targets",
        "",
        (f"Posterior predictive check: {replicates:,} replicates, each with its parameters "
         f"drawn from the posterior. {rule} *Median vs figure*: the median's deviation from "
         "the published central figure, where there is one."),
        "",
        target_markdown(table),
        "",
        f"**{met} of {len(table)} met.**" + (f" Not met: {', '.join(missed)}." if missed
                                              else ""),
        "",
        "![Every target against the model](targets.png)",
        "",
        "![Cumulative departures, posterior predictive](fan_departures.png)",
        "",
        *(["![Every series against the model](series.png)", ""] if series else []),
        *_validation_markdown(validation),
        "## Generations",
        "",
        _diagnostics_markdown(posterior.diagnostics()),
        "",
        ("ESS: effective sample size of the weights (for the `mcmc` method, the number of "
        "distinct particles). Acceptance: accepted / proposed candidates (for `mcmc`, of the "
        "Metropolis-Hastings moves)."),
        "",
        "## Parameters",
        "",
        (f"The {min(REPORT_PARAMETERS, len(info))} most informed of "
        f"{len(info)} estimated parameters (all in `parameters.csv`). sd ratio: posterior "
        "over prior standard deviation (on the log scale for loguniform and lognormal "
        "priors); near 1, the targets say little about the parameter."),
        "",
        _parameters_markdown(info, REPORT_PARAMETERS),
        "",
        "![Posterior marginals](posterior_marginals.png)",
        "",
        "![Posterior pairs](posterior_pairs.png)",
        "",
        "## Repeat",
        "",
        f"    {run_info.get('command', {}).get('repeat', '')}",
        "",
    ]
    return "\n".join(head)


def _validation_markdown(table: Any) -> list[str]:
    """The report's section on the validation set (nothing without one)."""
    if table is None or not len(table):
        return []
    met = int(table["met"].sum())
    missed = [_label(r) for r in table.to_dict("records") if not r["met"]]
    return [
        "## Validation (not calibrated on)",
        "",
        ("Published figures kept apart from the calibration (`validation:`): they never "
         "entered the distance, and are read here off the same posterior-predictive run as "
         "the targets, each by its own range or error model."),
        "",
        target_markdown(table),
        "",
        f"**{met} of {len(table)} within their range or error.**"
        + (f" Not: {', '.join(missed)}." if missed else ""),
        "",
        "![The validation set against the model](validation.png)",
        "",
    ]


def _has_series(*tables: Any) -> bool:
    return any(t is not None and "window" in t and bool((t["window"].astype(str) != "").any())
               for t in tables)


def _on_fan(scenario: Any) -> list[Any]:
    """The targets the fan chart of departures can show (one figure at one date)."""
    return [t for t in scenario.targets if t.kind != "series" and t.windows is None
            and t.since is None]


def _extra_figures(posterior: Any, table: Any, validation: Any, note: str = ""
                   ) -> dict[str, Any]:
    """The validation figure and the series figure, where there is something to draw."""
    from flowsim.plots import calibration as plots_calibration

    out: dict[str, Any] = {}
    if validation is not None and len(validation):
        out["validation"] = plots_calibration.mark_unconverged(
            plots_calibration.validation_check(validation, note=note), posterior.converged)
    if _has_series(table, validation):
        out["series"] = plots_calibration.mark_unconverged(
            plots_calibration.series_check(table, validation), posterior.converged)
    return out


def _targets_title(posterior: Any) -> str:
    from flowsim.plots.calibration import convergence_title

    return convergence_title(posterior.converged, posterior.attrs.get("stop_reason", ""))


def _convergence_markdown(posterior: Any) -> str:
    """The report's first paragraph: converged or not (loudly), and the prior-bound
    warnings (:mod:`flowsim.calibration.convergence`)."""
    from flowsim.calibration.convergence import convergence_note, small_sample

    c = posterior.converged
    note = convergence_note(posterior.attrs)
    if c:
        lines = [f"**Converged**: {posterior.attrs.get('convergence')}."]
    elif c is None:
        lines = [f"**Convergence unknown**: {note.removeprefix('convergence unknown ')}."]
    else:
        lines = [(f"> **Warning: NOT CONVERGED.** {posterior.attrs.get('convergence')}. This "
                  "posterior is the ABC posterior at that looser tolerance, not the one the "
                  "targets define: give a larger budget (or more generations) before using "
                  "it.")]
    for w in posterior.prior_bound_warnings:
        lines += ["", f"> **Warning**: {w}."]
    if few := small_sample(posterior.ess, posterior.size):
        lines += ["", f"> **Warning**: {few}."]
    return "\n".join(lines)


def write_calibration(out_dir: str | Path, posterior: Any, scenario: Any, results: Any,
                      table: Any, run_info: Mapping[str, Any] | None = None,
                      figures: bool = True, dpi: int = 150, validation: Any = None
                      ) -> list[Path]:
    """Write a calibration's outputs to ``out_dir``, all or nothing (see the module doc).

    Parameters
    ----------
    out_dir : str or Path
    posterior : Posterior
    scenario : Scenario
        The scenario calibrated (its targets, priors and declared values).
    results : Results
        The posterior predictive run (for the fan chart); it needs ``departures`` and,
        for the line of people abroad, ``stock``.
    table : pandas.DataFrame
        :func:`predictive_table` of ``results``.
    run_info : mapping, optional
        Facts for ``run.json`` (seed, settings, command, timings...).
    figures : bool
        Draw the figures.
    dpi : int
    validation : pandas.DataFrame, optional
        :func:`predictive_table` of the validation set (``scenario.validation``) on
        ``results``; written as ``validation.csv`` and ``validation.png`` and reported in
        its own section.

    Returns
    -------
    list of Path
        The files written.
    """
    from flowsim.plots import calibration as plots_calibration
    from flowsim.plots import run as plots
    from flowsim.results.files import staged_directory

    run_info = dict(run_info or {})
    info = plots_calibration.information(posterior, scenario)
    out = Path(out_dir)
    names: list[str] = []
    with staged_directory(out) as tmp:
        # the scenario travels in the posterior's file, so that `flowsim plot` and
        # `flowsim report` can redraw the directory without the scenario file
        from flowsim.results.netcdf import scenario_json

        dataclasses.replace(posterior, attrs={**posterior.attrs, SCENARIO_ATTR: scenario_json(
            scenario)}).save(tmp / "posterior.nc")
        posterior.to_csv(tmp / "posterior.csv")
        posterior.diagnostics().to_csv(tmp / "diagnostics.csv", index=False,
                                       float_format="%.10g")
        table.to_csv(tmp / "report.csv", index=False, float_format="%.10g")
        info.to_csv(tmp / "parameters.csv", float_format="%.10g")
        names += ["posterior.nc", "posterior.csv", "diagnostics.csv", "report.csv",
                  "parameters.csv"]
        has_validation = validation is not None and len(validation) > 0
        if has_validation:
            validation.to_csv(tmp / "validation.csv", index=False, float_format="%.10g")
            names.append("validation.csv")
        series = figures and _has_series(table, validation)
        (tmp / "report.md").write_text(
            report_markdown(posterior, table, info, run_info, results.replicates,
                            validation if has_validation else None, series),
            encoding="utf-8")
        names.append("report.md")
        if figures:
            note = (f"Posterior predictive: {results.replicates:,} replicates of scenario "
                    f"'{posterior.attrs.get('scenario_name', '?')}', parameters drawn from "
                    "the posterior.")
            drawn = {
                "targets": plots_calibration.target_check(
                    table, title=_targets_title(posterior), note=note),
                "fan_departures": plots_calibration.mark_unconverged(
                    plots.fan_chart(results, targets=_on_fan(scenario)), posterior.converged),
                "posterior_marginals": plots_calibration.posterior_marginals(posterior,
                                                                             scenario),
                "posterior_pairs": plots_calibration.posterior_pairs(
                    posterior, scenario, names=list(info.index[:PAIRS])),
            }
            drawn.update(_extra_figures(posterior, table, validation, note))
            for stem, fig in drawn.items():
                fig.savefig(tmp / f"{stem}.png", dpi=dpi)
                names.append(f"{stem}.png")
        meta = {
            "flowsim_version": posterior.attrs.get("flowsim_version"),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "scenario": {"name": posterior.attrs.get("scenario_name"),
                         "hash": posterior.attrs.get("scenario_hash")},
            "method": posterior.attrs.get("method"),
            "stop_reason": posterior.attrs.get("stop_reason"),
            "converged": posterior.converged,
            "convergence": posterior.attrs.get("convergence"),
            "prior_bound_warnings": list(posterior.prior_bound_warnings),
            "particles": posterior.size,
            "ess": posterior.ess,
            "epsilon": posterior.epsilon,
            "generations": len(posterior.generations),
            "simulations": posterior.generations[-1].total_simulations,
            "targets_met": int(table["met"].sum()),
            "targets": len(table),
            **({"validation_met": int(validation["met"].sum()),
                "validation": len(validation)} if has_validation else {}),
            "predictive_replicates": results.replicates,
            "environment": {"python": platform.python_version(), "numpy": np.__version__},
            **run_info,
        }
        write_run_json(tmp, meta, names)
    return [out / n for n in names]


@dataclasses.dataclass(frozen=True)
class SavedCalibration:
    """A calibration directory read back (:func:`open_calibration`).

    Attributes
    ----------
    posterior : Posterior
    scenario : Scenario or None
        The scenario calibrated (targets included), from ``posterior.nc``.
    table : pandas.DataFrame
        The target table (``report.csv``).
    run_info : dict
        ``run.json``.
    directory : Path
    validation : pandas.DataFrame or None
        The validation set's table (``validation.csv``), if the calibration had one.
    """

    posterior: Any
    scenario: Any
    table: Any
    run_info: dict[str, Any]
    directory: Path
    validation: Any = None

    def predictive(self, workers: int = 1) -> Any:
        """The posterior-predictive run again, bit for bit: the same replicates and the same
        child of the seed as ``flowsim calibrate`` (from ``run.json``)."""
        from flowsim.calibration.distance import record_for
        from flowsim.calibration.predictive import predictive_results

        if self.scenario is None:
            raise ValueError("the calibrated scenario is not in posterior.nc (made before "
                             "flowsim 0.2); calibrate again")
        seed = self.run_info.get("seed", {}).get("given")
        n = self.run_info.get("settings", {}).get("predictive_replicates")
        if seed is None or n is None:
            raise ValueError("run.json does not say the seed and the predictive replicates")
        pred_seed = np.random.SeedSequence(int(seed)).spawn(2)[1]
        record = tuple(dict.fromkeys((*record_for(self.scenario.targets),
                                      *record_for(self.scenario.validation), "departures",
                                      "stock")))
        return predictive_results(self.scenario, self.posterior, int(n), pred_seed,
                                  workers=workers, record=record)


def draw_calibration_figures(saved: SavedCalibration, workers: int = 1
                             ) -> tuple[dict[str, Any], list[str]]:
    """Draw a calibration directory's figures again (the posterior-predictive run is made
    again for the fan chart, bit for bit; see :meth:`SavedCalibration.predictive`)."""
    from flowsim.plots import calibration as plots_calibration
    from flowsim.plots import run as plots

    figures: dict[str, Any] = {}
    skipped: list[str] = []
    if saved.table is not None:
        figures["targets"] = plots_calibration.target_check(
            saved.table, title=_targets_title(saved.posterior))
    else:
        skipped.append("targets: no report.csv in the directory")
    if saved.table is not None:
        figures.update(_extra_figures(saved.posterior, saved.table, saved.validation))
    if saved.scenario is None:
        skipped.append("fan_departures, posterior_marginals, posterior_pairs: the calibrated "
                       "scenario is not in posterior.nc (made before flowsim 0.2)")
        return figures, skipped
    try:
        figures["fan_departures"] = plots_calibration.mark_unconverged(
            plots.fan_chart(saved.predictive(workers), targets=_on_fan(saved.scenario)),
            saved.posterior.converged)
    except ValueError as e:
        skipped.append(f"fan_departures: {e}")
    info = plots_calibration.information(saved.posterior, saved.scenario)
    figures["posterior_marginals"] = plots_calibration.posterior_marginals(saved.posterior,
                                                                           saved.scenario)
    figures["posterior_pairs"] = plots_calibration.posterior_pairs(
        saved.posterior, saved.scenario, names=list(info.index[:PAIRS]))
    return figures, skipped


def open_calibration(path: str | Path) -> SavedCalibration:
    """Read a calibration directory written by :func:`write_calibration`.

    Raises
    ------
    FileNotFoundError
        If the directory holds no ``posterior.nc``.
    """
    import errno

    from flowsim.calibration.posterior import Posterior
    from flowsim.results.netcdf import _embedded_scenario

    d = Path(path)
    file = d / "posterior.nc"
    if not file.is_file():
        raise FileNotFoundError(errno.ENOENT, "no posterior.nc in this directory", str(file))
    post = Posterior.load(file)
    text = post.attrs.pop(SCENARIO_ATTR, None)
    scenario = _embedded_scenario(text, file) if text else None
    table, validation = (_read_table(d / name) for name in ("report.csv", "validation.csv"))
    info = json.loads((d / "run.json").read_text(encoding="utf-8")) \
        if (d / "run.json").is_file() else {}
    return SavedCalibration(post, scenario, table, info, d, validation)


def _read_table(file: Path) -> Any:
    """A target table written by :func:`write_calibration`, read back (``None`` if absent)."""
    import pandas as pd

    if not file.is_file():
        return None
    table = pd.read_csv(file, keep_default_na=False,
                        na_values={"median": [""], "lower": [""], "upper": [""]})
    for col in ("low", "high", "value", "vs_value", "median", "lower", "upper", "z",
                "distance"):
        if col in table:
            table[col] = pd.to_numeric(table[col], errors="coerce")
    if "met" in table:
        table["met"] = table["met"].astype(str).str.lower() == "true"
    for col in ("column", "country", "window"):
        if col in table:
            table[col] = table[col].astype(str)
    return table
