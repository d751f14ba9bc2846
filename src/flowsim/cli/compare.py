"""``flowsim compare BASELINE COUNTERFACTUAL...``: paired effects of policy counterfactuals.

Every scenario runs on the same parameter draws and the same keyed random numbers (common
random numbers, :func:`flowsim.compare`), so each replicate's difference
``counterfactual - baseline`` is the effect of the policies alone. The effects are printed as
one table per counterfactual and written to ``--out DIR`` (default
``results/compare-<baseline name>/``), all or nothing (:func:`flowsim.output.staged_directory`):

=============================  ===============================================================
``effects.csv``                one row per counterfactual and outcome
                               (:meth:`Comparison.effects <flowsim.comparison.Comparison.effects>`)
``comparison.nc``              every outcome per scenario and replicate, the paired
                               differences and ratios (:meth:`Comparison.to_dataset`)
``run.json``                   seed, replicates, scenario files and hashes, posterior,
                               versions, command line, timings, files
``paired_differences.png``     :func:`flowsim.plots_compare.paired_differences`
``where_people_ended.png``     :func:`flowsim.plots_compare.where_people_ended`
=============================  ===============================================================

``--posterior FILE`` draws each replicate's parameters from a calibration's posterior
(:class:`flowsim.calibration.Posterior`), the same draws for every scenario; without it every
replicate takes the declared values, and the intervals show only the randomness of who moves.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from flowsim.cli._common import (
    EXIT_BAD_INPUT,
    err_console,
    fmt_number,
    handle_input_errors,
    out_console,
    print_problems,
)
from flowsim.cli.run import DEFAULT_SEED, EXIT_INTERRUPTED, default_out_dir
from flowsim.errors import Problem

__all__ = ["DEFAULT_REPLICATES", "compare", "print_effects", "write_comparison"]

DEFAULT_REPLICATES = 1000
EFFECTS_FILE = "effects.csv"
COMPARISON_FILE = "comparison.nc"
RUN_FILE = "run.json"
#: figure file stem -> function of :mod:`flowsim.plots_compare`
FIGURES = {"paired_differences": "paired_differences",
           "where_people_ended": "where_people_ended"}


def compare(
    baseline: Annotated[Path, typer.Argument(
        metavar="BASELINE", help="The baseline scenario file (YAML).", show_default=False)],
    counterfactuals: Annotated[list[Path], typer.Argument(
        metavar="COUNTERFACTUAL...", help="Counterfactual scenario files, usually overlays "
        "of the baseline (extends:).", show_default=False)],
    posterior: Annotated[Path | None, typer.Option(
        "--posterior", metavar="FILE", help="Draw each replicate's parameters from this "
        "calibrated posterior (NetCDF, from flowsim calibrate), the same draws for every "
        "scenario. Without it, every replicate takes the declared values.",
        show_default=False)] = None,
    replicates: Annotated[int, typer.Option(
        "-n", "--replicates", min=1, help="Replicates per scenario.")] = DEFAULT_REPLICATES,
    seed: Annotated[int, typer.Option(
        "--seed", min=0, help="Root of all randomness, shared by every scenario: the same "
        "seed gives the same numbers bit for bit, whatever --workers is.")] = DEFAULT_SEED,
    workers: Annotated[int, typer.Option(
        "--workers", "-w", help="Worker processes (0: one per CPU). Does not change the "
        "results.")] = 0,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Output directory (default: results/compare-<baseline name>); "
        "files of the same names in it are replaced.", show_default=False)] = None,
    figures: Annotated[bool, typer.Option(
        "--figures/--no-figures", help="Draw the figures.")] = True,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No progress or tables; print only where the outputs went.")
    ] = False,
) -> None:
    """Compare counterfactual policies with a baseline: paired effects with intervals.

    Runs every scenario on the same parameter draws and the same random numbers, so that
    each replicate's difference [bold]counterfactual − baseline[/bold] is the effect of the
    policies alone. Prints the effects (median and 90% interval of the paired difference, and
    the ratio) and writes [bold]effects.csv[/bold], [bold]comparison.nc[/bold],
    [bold]run.json[/bold] and the figures [bold]paired_differences.png[/bold] and
    [bold]where_people_ended.png[/bold], all or nothing.
    """
    from flowsim.comparison import compare as run_compare
    from flowsim.scenario import read_scenario

    t0 = time.perf_counter()
    err = err_console()
    files = [baseline, *counterfactuals]
    scenarios, problems, warnings = [], [], []
    for f in files:
        try:
            with handle_input_errors():
                s, found = read_scenario(f)
        except typer.Exit:  # its problems are printed; go on to report the other files too
            problems.append(f)
            continue
        scenarios.append(s)
        warnings += found
    print_problems(warnings, err)
    if problems:
        raise typer.Exit(EXIT_BAD_INPUT)
    names = _names(files, scenarios)
    _check_comparable(files, scenarios)
    post, post_info = _load_posterior(posterior, scenarios, names) if posterior is not None \
        else (None, None)
    out_dir = out if out is not None else default_out_dir(f"compare-{scenarios[0].name}")
    if out_dir.exists() and not out_dir.is_dir():
        _fail(Problem("exists and is not a directory; give another --out", file=str(out_dir)))
    t_load = time.perf_counter() - t0

    base, cfs = scenarios[0], dict(zip(names[1:], scenarios[1:], strict=True))
    if not quiet:
        err.print(f"{names[0]} vs {', '.join(names[1:])}: {replicates:,} replicates each, "
                  f"seed {seed}, coupled sampling"
                  + (f", parameters from {posterior}" if posterior is not None else
                     ", declared parameter values"), soft_wrap=True)
    repeat = ["flowsim", "compare", *map(str, files), "-n", str(replicates), "--seed",
              str(seed)]
    if posterior is not None:
        repeat += ["--posterior", str(posterior)]
    try:
        t1 = time.perf_counter()
        with _progress(err, names, quiet) as progress:
            comparison = run_compare(base, cfs, replicates=replicates, seed=seed,
                                     posterior=post, workers=workers, progress=progress)
        t_sim = time.perf_counter() - t1
        if not quiet:
            err.print(f"simulated {len(names)} scenarios in {t_sim:.1f} s", soft_wrap=True)
            print_effects(comparison, out_console())
            if post is None:
                out_console().print("Parameters at their declared values: the intervals show "
                                    "the randomness of who moves, not the uncertainty about "
                                    "the parameters (give --posterior for that).\n",
                                    soft_wrap=True)
        run_info = {
            "seed": {"given": seed},
            "replicates": replicates,
            "workers": workers,
            "sampling": "coupled",
            "baseline": _scenario_info(files[0], scenarios[0], names[0]),
            "counterfactuals": [_scenario_info(f, s, n) for f, s, n in
                                zip(files[1:], scenarios[1:], names[1:], strict=True)],
            "posterior": post_info,
            "command": {"argv": list(sys.argv), "repeat": shlex.join(repeat)},
            "timings": {"load_s": round(t_load, 3), "simulate_s": round(t_sim, 3)},
        }
        with handle_input_errors():
            written = write_comparison(comparison, out_dir, run_info=run_info,
                                       figures=figures)
    except KeyboardInterrupt:
        err.print(f"interrupted: nothing was written to {out_dir}", soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    console = out_console()
    if quiet:
        console.print(str(out_dir), soft_wrap=True)
        return
    console.print(f"Wrote {out_dir}{'/' if not str(out_dir).endswith('/') else ''}: "
                  + ", ".join(p.name for p in written), soft_wrap=True)
    console.print(f"Repeat with: {shlex.join(repeat)}", soft_wrap=True)


# --------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------


def _fail(*problems: Problem) -> None:
    print_problems(problems)
    raise typer.Exit(EXIT_BAD_INPUT)


def _names(files: list[Path], scenarios: list[Any]) -> list[str]:
    """Each scenario's name in the comparison: its ``name``, except that a counterfactual
    whose name the baseline or another counterfactual also has is called after its file (an
    overlay without ``name:`` inherits its parent's)."""
    names = [s.name for s in scenarios]
    out = names[:1] + [n if n != names[0] and names[1:].count(n) == 1 else f.stem
                       for n, f in zip(names[1:], files[1:], strict=True)]
    for i, n in enumerate(out):
        if out.count(n) > 1:
            _fail(Problem(f"two scenarios would both be called {n!r} in the comparison; give "
                          "each counterfactual a `name:` of its own", file=str(files[i])))
    return out


def _check_comparable(files: list[Path], scenarios: list[Any]) -> None:
    """Paired effects need the same horizon, origin and cohorts in every scenario."""
    base = scenarios[0]
    found = []
    for f, s in zip(files[1:], scenarios[1:], strict=True):
        for what, a, b in (("calendar", base.calendar, s.calendar),
                           ("origin", base.origin.id, s.origin.id),
                           ("cohorts", [k.name for k in base.cohorts],
                            [k.name for k in s.cohorts])):
            if a != b:
                found.append(Problem(f"cannot be compared with the baseline {files[0]}: its "
                                     f"{what} differs; a counterfactual changes policies, "
                                     "routes or parameters, on the baseline's horizon, origin "
                                     "and cohorts", file=str(f)))
                break
    if found:
        _fail(*found)


def _load_posterior(path: Path, scenarios: list[Any], names: list[str]
                    ) -> tuple[Any, dict[str, Any]]:
    """The calibrated posterior in ``path``, checked against the scenarios."""
    try:
        from flowsim.calibration import Posterior
    except ImportError as e:
        _fail(Problem(f"--posterior: calibration not available in this installation of "
                      f"flowsim ({e})", file=str(path)))
    err = err_console()
    if not path.is_file():
        what = "is a directory, not a posterior file" if path.is_dir() else "does not exist"
        _fail(Problem(what, file=str(path)))
    try:
        post = Posterior.load(path)
    except (OSError, ValueError, KeyError, TypeError) as e:
        _fail(Problem(f"is not a flowsim posterior (NetCDF, from flowsim calibrate): {e}",
                      file=str(path)))
    base = scenarios[0]
    estimated = list(post.param_names)
    missing = [p for p in estimated if p not in base.parameters]
    if len(missing) == len(estimated):
        _fail(Problem(f"the baseline {names[0]!r} declares none of the posterior's parameters "
                      f"({', '.join(estimated[:5])}{', ...' if len(estimated) > 5 else ''})",
                      file=str(path)))
    from flowsim.compile import scenario_hash

    calibrated = post.attrs.get("scenario_hash")
    if calibrated is not None and calibrated != scenario_hash(base):
        err.print(f"{path}: warning: the posterior was calibrated on scenario "
                  f"{post.attrs.get('scenario_name', '?')!r} ({calibrated}), not on the "
                  f"baseline ({scenario_hash(base)})", soft_wrap=True)
    if missing:
        err.print(f"{path}: warning: the baseline does not declare {', '.join(missing)}; "
                  "these draws are not used", soft_wrap=True)
    # a counterfactual that gives a calibrated parameter another value is overridden by the
    # draws: say so rather than compare something other than what its file says
    for s, n in zip(scenarios[1:], names[1:], strict=True):
        changed = [p for p in estimated if p in s.parameters and p in base.parameters
                   and s.parameters[p].value != base.parameters[p].value]
        if changed:
            err.print(f"{n}: warning: changes the value of the calibrated parameter"
                      f"{'s' if len(changed) > 1 else ''} {', '.join(changed)}, which the "
                      "posterior's draws override; change policies instead", soft_wrap=True)
    info = {"file": str(path), "parameters": estimated,
            "scenario": post.attrs.get("scenario_name"), "scenario_hash": calibrated,
            "particles": int(post.size), "ess": float(post.ess)}
    return post, info


def _scenario_info(file: Path, scenario: Any, name: str) -> dict[str, Any]:
    from flowsim.compile import scenario_hash

    return {"name": name, "file": str(file), "hash": scenario_hash(scenario),
            "description": scenario.description}


# --------------------------------------------------------------------------------------------
# progress and the printed table
# --------------------------------------------------------------------------------------------


class _progress:
    """A rich progress bar fed by ``compare``'s ``progress(name, done, total)`` callback."""

    def __init__(self, console: Console, names: list[str], quiet: bool) -> None:
        self.names = names
        self.bar = None if quiet or not console.is_terminal else Progress(
            TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
            TimeElapsedColumn(), console=console, transient=True)
        self.task: Any = None
        self.done: dict[str, float] = {}

    def __enter__(self) -> Any:
        if self.bar is None:
            return None
        self.bar.start()
        self.task = self.bar.add_task(f"simulating {self.names[0]}", total=len(self.names))
        return self.update

    def update(self, name: str, done: int, total: int) -> None:
        self.done[name] = done / total if total else 1.0
        i = self.names.index(name) + 1 if name in self.names else len(self.done)
        self.bar.update(self.task, completed=sum(self.done.values()),  # type: ignore[union-attr]
                        description=f"simulating {name} ({i} of {len(self.names)})")

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _signed(x: float) -> str:
    return "0" if round(x) == 0 else f"{round(x):+,}"


def print_effects(comparison: Any, console: Console) -> None:
    """The effects as one table per counterfactual."""
    df = comparison.effects()
    n = comparison.values.sizes["replicate"]
    lo, hi = comparison.quantiles
    for cf, rows in df.groupby("counterfactual", sort=False):
        table = Table(title=f"{cf} vs {comparison.baseline}: paired difference, median and "
                      f"{hi - lo:.0%} interval over {n:,} replicates", title_justify="left",
                      title_style="bold", box=box.SIMPLE_HEAD, header_style="dim")
        table.add_column("outcome", overflow="fold")
        table.add_column("baseline", justify="right", no_wrap=True)
        table.add_column("counterfactual", justify="right", no_wrap=True)
        table.add_column("difference [interval]", justify="right", no_wrap=True)
        table.add_column("ratio", justify="right", no_wrap=True)
        for _, r in rows.iterrows():
            ratio = "–" if not np.isfinite(r["ratio"]) else f"{r['ratio']:.3f}"
            table.add_row(str(r["outcome"]), fmt_number(round(r["baseline"])),
                          fmt_number(round(r["counterfactual_median"])),
                          f"{_signed(r['difference'])} [{_signed(r['difference_low'])}, "
                          f"{_signed(r['difference_high'])}]", ratio)
        console.print(table)


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------


def write_comparison(comparison: Any, out_dir: str | Path, *,
                     run_info: dict[str, Any] | None = None, figures: bool = True,
                     dpi: int = 200) -> list[Path]:
    """Write a comparison's files to ``out_dir``, all or nothing.

    Parameters
    ----------
    comparison : Comparison
    out_dir : str or Path
        Created if missing; files of the same names in it are replaced, others kept.
    run_info : dict, optional
        Facts for ``run.json`` (seed, files, command line, timings).
    figures : bool
        Draw ``paired_differences.png`` and ``where_people_ended.png``.
    dpi : int
        Resolution of the figures.

    Returns
    -------
    list of Path
        The files written, ``run.json`` last.
    """
    import xarray as xr

    from flowsim import plots_compare
    from flowsim._version import __version__
    from flowsim.output import json_default, staged_directory

    t0 = time.perf_counter()
    out = Path(out_dir)
    names: list[str] = []
    skipped: list[str] = []
    base_attrs = comparison.results[comparison.baseline].dataset.attrs
    with staged_directory(out) as tmp:
        comparison.effects().to_csv(tmp / EFFECTS_FILE, index=False, float_format="%.10g")
        names.append(EFFECTS_FILE)
        ds = comparison.to_dataset()
        ds.attrs.update({"replicates": int(comparison.values.sizes["replicate"]),
                         "seed_entropy": str(base_attrs.get("seed_entropy")),
                         "flowsim_version": __version__,
                         "created": dt.datetime.now(dt.UTC).isoformat(
                             timespec="seconds")})
        enc = {v: {"zlib": True, "complevel": 1} for v in ds.data_vars}
        ds.to_netcdf(tmp / COMPARISON_FILE, format="NETCDF4", engine="netcdf4", encoding=enc)
        names.append(COMPARISON_FILE)
        if figures:
            for stem, func in FIGURES.items():
                try:
                    fig = getattr(plots_compare, func)(comparison)
                except (KeyError, ValueError) as e:  # e.g. a scenario without the blocs
                    skipped.append(f"{stem}.png: {e}")
                    continue
                fig.savefig(tmp / f"{stem}.png", dpi=dpi,
                            metadata={"Description": f"flowsim {__version__} comparison "
                                      f"against {comparison.baseline}, seed "
                                      f"{base_attrs.get('seed_entropy')}"})
                names.append(f"{stem}.png")
        meta: dict[str, Any] = {
            "flowsim_version": __version__,
            "created": ds.attrs["created"],
            "seed": {"entropy": str(base_attrs.get("seed_entropy"))},
            "outcomes": [str(o) for o in comparison.values["outcome"].values],
            "quantiles": list(comparison.quantiles),
            "environment": {"python": platform.python_version(), "numpy": np.__version__,
                            "xarray": xr.__version__, "platform": platform.platform()},
        }
        for k, v in (run_info or {}).items():
            if isinstance(v, dict) and isinstance(meta.get(k), dict):
                meta[k] = {**meta[k], **v}
            else:
                meta[k] = v
        meta.setdefault("timings", {})["write_s"] = round(time.perf_counter() - t0, 3)
        meta["files"] = [*names, RUN_FILE]
        if skipped:
            meta["skipped"] = skipped
        (tmp / RUN_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False,
                                               default=json_default) + "\n", encoding="utf-8")
        names.append(RUN_FILE)
    for why in skipped:
        err_console().print(f"not drawn: {why}", soft_wrap=True)
    return [out / n for n in names]

