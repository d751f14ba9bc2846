"""A run's directory, written all or nothing (:func:`write_outputs`).

========================  ===================================================================
``results.nc``            every recorded variable, NetCDF4 (int32 counts, zlib-compressed);
                          the resolved scenario is embedded in it (attribute
                          ``scenario_json``), so the file alone can be reopened and redrawn.
                          A streamed run's file (:func:`flowsim.stream`) is moved in
                          instead, after the other files were made, with the same CF
                          attributes and the command's provenance added
``summary.csv``           the headline numbers (:meth:`Results.summary`)
``scenario.yaml``         the resolved scenario (``extends`` applied), which ``flowsim run``
                          can simulate again
``run.json``              how the run was made: seed, replicates, block size, workers,
                          versions, scenario hash, command line, timings, files
``fan_departures.png``    :func:`flowsim.plots.fan_chart`
``destinations.png``      :func:`flowsim.plots.destinations`
========================  ===================================================================

All or nothing: see :func:`flowsim.results.files.staged_directory`. :func:`write_figures`
redraws the figures of saved results the same way.
"""

from __future__ import annotations

import os
import platform
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from flowsim.results.cf import provenance_line
from flowsim.results.files import Written, staged_directory, write_run_json
from flowsim.results.netcdf import RESULTS_FILE, SCENARIO_FILE, save_results
from flowsim.results.tables import tidy_summary

SUMMARY_FILE = "summary.csv"


RUN_FILE = "run.json"


#: The figures a run's directory holds: file stem -> (function of :mod:`flowsim.plots.run`
#: or ``module.function`` of :mod:`flowsim.plots`, variables it needs).
FIGURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "fan_departures": ("fan_chart", ("departures",)),
    "destinations": ("destinations", ("stock",)),
}
#: The figures for a paper (``flowsim plot DIR --all`` and the HTML report), in order.
PAPER_FIGURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "fan_departures": ("run.fan_chart", ("departures",)),
    "stocks_over_time": ("stocks.stocks_over_time", ("stock",)),
    "flows_per_step": ("stocks.flows_per_step", ("departures",)),
    "where_at_dates": ("stocks.where_at_dates", ("stock",)),
    "route_flows": ("flows.route_flows", ("flow",)),
    "route_graph": ("network.route_graph", ()),
    "destinations": ("run.destinations", ("stock",)),
}


def run_metadata(results: Any, run_info: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What ``run.json`` says: the run's identity from the results, plus ``run_info``.

    ``run_info`` (e.g. ``workers``, ``command``, ``timings``) is merged in; nested
    mappings are merged key by key.
    """
    import xarray as xr

    ds = results.dataset
    a = ds.attrs
    spawn = str(a.get("seed_spawn_key", ""))
    ends = ds["time"].values.astype("datetime64[D]")
    starts = ds["step_start"].values.astype("datetime64[D]")
    meta: dict[str, Any] = {
        "flowsim_version": a.get("flowsim_version"),
        "created": a.get("created"),
        "scenario": {"name": a.get("scenario_name"), "hash": a.get("scenario_hash")},
        "seed": {"entropy": str(a.get("seed_entropy")),
                 "spawn_key": [int(k) for k in spawn.split(",") if k]},
        "replicates": int(ds.sizes["replicate"]),
        "block_size": int(a["block_size"]) if "block_size" in a else None,
        "sampling": a.get("sampling"),
        "steps": int(ds.sizes["time"]),
        "period": {"start": str(starts[0]), "end": str(ends[-1])},
        "variables": [str(v) for v in ds.data_vars if v != "params"],
        "parameters": [str(p) for p in ds["parameter"].values] if "parameter" in ds else [],
        "environment": {"python": platform.python_version(), "numpy": np.__version__,
                        "xarray": xr.__version__, "platform": platform.platform()},
    }
    return _merge(meta, dict(run_info or {}))


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for k, v in extra.items():
        if isinstance(v, Mapping) and isinstance(base.get(k), dict):
            base[k] = _merge(base[k], v)
        else:
            base[k] = v
    return base


def figure_functions(which: str | Mapping[str, tuple[str, tuple[str, ...]]] = "default"
                     ) -> dict[str, tuple[Callable[..., Any], tuple[str, ...]]]:
    """The figure functions of a run, by file stem: ``"default"`` (:data:`FIGURES`),
    ``"all"`` (:data:`PAPER_FIGURES`) or a mapping like them."""
    import importlib

    table = FIGURES if which == "default" else PAPER_FIGURES if which == "all" else which
    if isinstance(table, str):  # a name, not a table: the value is wrong, not its type
        raise ValueError(f"unknown figure set {which!r}; choose 'default' or 'all'")  # noqa: TRY004
    out = {}
    for stem, (name, needs) in table.items():
        module, _, func = name.rpartition(".")
        mod = importlib.import_module(f"flowsim.plots.{module or 'run'}")
        out[stem] = (getattr(mod, func), needs)
    return out


def draw_figures(results: Any, which: str | Mapping[str, Any] = "default"
                 ) -> tuple[dict[str, Any], list[str]]:
    """Draw a run's figures: ``({stem: Figure}, [why each figure not drawn was not])``."""
    figures, skipped = {}, []
    for stem, (func, needs) in figure_functions(which).items():
        missing = [v for v in needs if v not in results.dataset
                   and v not in getattr(results, "recorded", ())]
        if missing:
            skipped.append(f"{stem}: the variable {', '.join(missing)} was not recorded")
            continue
        try:
            figures[stem] = func(results)
        except (KeyError, ValueError) as e:  # a figure this run cannot have, said why
            skipped.append(f"{stem}: {str(e).strip(chr(39))}")
    return figures, skipped


def _draw(results: Any, tmp: Path, fmt: str, dpi: int, which: str | Mapping[str, Any] =
          "default") -> tuple[list[Path], list[str]]:
    files = []
    drawn, skipped = draw_figures(results, which)
    for stem, fig in drawn.items():
        target = tmp / f"{stem}.{fmt}"
        fig.savefig(target, dpi=dpi, format=fmt, metadata=_figure_metadata(results, fmt))
        files.append(target)
    return files, [f"{why.split(':', 1)[0]}.{fmt}:{why.split(':', 1)[1]}" for why in skipped]


def save_figures(figures: Mapping[str, Any], out_dir: str | os.PathLike[str], *,
                 fmt: str = "png", dpi: int = 200, description: str = "",
                 skipped: tuple[str, ...] = ()) -> Written:
    """Save drawn figures (``{stem: Figure}``) as ``STEM.FMT`` into ``out_dir``, all or
    nothing; ``skipped`` says which figures were not drawn, and why."""
    out = Path(out_dir)
    key = "Subject" if fmt == "pdf" else "Description"
    names = []
    with staged_directory(out) as tmp:
        for stem, fig in figures.items():
            fig.savefig(tmp / f"{stem}.{fmt}", dpi=dpi, format=fmt,
                        metadata={key: description} if description else None)
            names.append(f"{stem}.{fmt}")
    return Written(out, tuple(out / n for n in names), tuple(skipped))


def _figure_metadata(results: Any, fmt: str) -> dict[str, str] | None:
    if fmt not in ("png", "pdf", "svg"):
        return None
    text = provenance_line(results.dataset.attrs, results.replicates)
    key = "Description" if fmt in ("png", "svg") else "Subject"
    return {key: text}


def describe_run(results: Any, run_info: Mapping[str, Any] | None) -> dict[str, str]:
    """Add what the command knows of the run (posterior file and hash, the command line) to
    the results' attributes, so that ``results.nc`` says it too (:mod:`flowsim.results.cf`).

    Returns the attributes added or changed. A streamed run's file is written already,
    block by block: :func:`write_outputs` adds them to it once it is closed (HDF5 does not
    reopen a file for writing while this process still reads it), before moving it in.
    """
    from flowsim.results.cf import provenance

    facts = provenance(run_info)
    attrs = results.dataset.attrs
    attrs.update(facts)
    if "command" in facts and facts["command"] not in str(attrs.get("history", "")):
        attrs["history"] = f"{attrs.get('history', '')} ({facts['command']})".strip()
        facts["history"] = attrs["history"]
    return facts


def _move_streamed(results: Any, target: Path, attrs: Mapping[str, str]) -> None:
    """Move a streamed run's file to ``target`` (closing it: its small variables stay),
    with the global attributes ``attrs`` added to it first."""
    source = Path(results.dataset.encoding["source"])
    results.close()
    if attrs:
        import netCDF4

        with netCDF4.Dataset(source, "a") as nc:
            nc.setncatts(dict(attrs))
    try:
        os.replace(source, target)
    except OSError:  # another file system: copy, then remove the original
        shutil.copyfile(source, target)
        source.unlink()


def write_outputs(results: Any, out_dir: str | os.PathLike[str], *,
                  run_info: Mapping[str, Any] | None = None, figures: bool = True,
                  dpi: int = 200,
                  on_file: Callable[[str], None] | None = None) -> Written:
    """Write a run's outputs to ``out_dir``, all or nothing (see the module docstring).

    Parameters
    ----------
    results : Results or StreamedResults
        Streamed results have their file moved into ``out_dir``, after the other files
        were made (a failure before leaves it where it was), and are closed.
    out_dir : str or Path
        Created if missing (with its parents); files of the same names are replaced.
    run_info : mapping, optional
        Extra facts for ``run.json`` (``workers``, ``command``, ``timings``, ...).
    figures : bool
        Draw the figures (those whose variables were recorded).
    dpi : int
        Resolution of the PNG figures.
    on_file : callable, optional
        Called with each file's name as it is about to be written (for progress).

    Returns
    -------
    Written
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    say = on_file or (lambda name: None)
    skipped: list[str] = []
    with staged_directory(out) as tmp:
        names: list[str] = []
        from flowsim.results.streamed import StreamedResults

        streamed = isinstance(results, StreamedResults)
        facts = describe_run(results, run_info)
        if not streamed:
            say(RESULTS_FILE)
            save_results(results, tmp / RESULTS_FILE)
            names.append(RESULTS_FILE)
        say(SUMMARY_FILE)
        first = str(results.dataset["step_start"].values[0].astype("datetime64[D]"))
        tidy_summary(results.summary(), first).to_csv(tmp / SUMMARY_FILE, index=False,
                                                      float_format="%.10g")
        names.append(SUMMARY_FILE)
        if results.scenario is not None:
            from flowsim.scenario.yamlio import dump_yaml

            say(SCENARIO_FILE)
            a = results.dataset.attrs
            head = (f"# The resolved scenario of a flowsim run ({a.get('created')}): "
                    f"hash {a.get('scenario_hash')}.\n# Simulate it again with: flowsim run "
                    f"{SCENARIO_FILE} -n {results.replicates} --seed {a.get('seed_entropy')}"
                    f" --block-size {a.get('block_size')}\n")
            (tmp / SCENARIO_FILE).write_text(head + dump_yaml(results.scenario.to_data()),
                                             encoding="utf-8")
            names.append(SCENARIO_FILE)
        else:
            skipped.append(f"{SCENARIO_FILE}: the results carry no scenario")
        if figures:
            say("figures")
            drawn, why = _draw(results, tmp, "png", dpi)
            names += [p.name for p in drawn]
            skipped += why
        if streamed:  # moved in last, so that a failure before leaves it where it was
            say(RESULTS_FILE)
            _move_streamed(results, tmp / RESULTS_FILE, facts)
            names.insert(0, RESULTS_FILE)
        say(RUN_FILE)
        timings = {"write_s": round(time.perf_counter() - t0, 3)}
        info = _merge({"timings": timings}, dict(run_info or {}))
        meta = run_metadata(results, info)
        write_run_json(tmp, meta, names, skipped, RUN_FILE)
    return Written(out, tuple(out / n for n in names), tuple(skipped))


def write_figures(results: Any, out_dir: str | os.PathLike[str], *, fmt: str = "png",
                  dpi: int = 200, which: str | Mapping[str, Any] = "default") -> Written:
    """Draw the figures of saved results into ``out_dir``, all or nothing.

    Parameters
    ----------
    results : Results
    out_dir : str or Path
    fmt : {"png", "pdf", "svg"}
        File format (PDF and SVG are vector graphics, for print).
    dpi : int
        Resolution of PNG figures.
    which : "default", "all" or mapping
        The run directory's figures (:data:`FIGURES`), the figures for a paper
        (:data:`PAPER_FIGURES`), or a mapping like them.
    """
    out = Path(out_dir)
    with staged_directory(out) as tmp:
        drawn, skipped = _draw(results, tmp, fmt, dpi, which)
    return Written(out, tuple(out / p.name for p in drawn), tuple(skipped))
