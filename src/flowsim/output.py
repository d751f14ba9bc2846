"""A run's outputs on disk, written all or nothing; saved results read back.

A run directory (``flowsim run … --out DIR``, :func:`write_outputs`) holds:

========================  ===================================================================
``results.nc``            every recorded variable, NetCDF4 (int32 counts, zlib-compressed);
                          the resolved scenario is embedded in it (attribute
                          ``scenario_json``), so the file alone can be reopened and redrawn.
                          A streamed run's file (:mod:`flowsim.streaming`) is moved in
                          instead, after the other files were made
``summary.csv``           the headline numbers (:meth:`Results.summary`)
``scenario.yaml``         the resolved scenario (``extends`` applied), which ``flowsim run``
                          can simulate again
``run.json``              how the run was made: seed, replicates, block size, workers,
                          versions, scenario hash, command line, timings, files
``fan_departures.png``    :func:`flowsim.plots.fan_chart`
``destinations.png``      :func:`flowsim.plots.destinations`
========================  ===================================================================

All or nothing: the files are first written to a temporary sibling directory
(``DIR.tmp-XXXXXXXX``, in the same parent, hence on the same file system) and moved into
place only when every one of them was written. If ``DIR`` did not exist, the temporary
directory is renamed to it in one step. If it did, each file is moved in with
:func:`os.replace`, after the file it replaces has been set aside; should a move fail, the
files set aside are put back. Ctrl-C is held back during those few renames. On any error or
interrupt before that, the temporary directory is removed and ``DIR`` is left as it was
(parents created for it are removed again if still empty).

:func:`save_results` writes one NetCDF file the same way (a temporary file beside it, then
:func:`os.replace`); :func:`open_results` reads either a file or a run directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import json
import os
import platform
import shutil
import signal
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "FIGURES",
    "RESULTS_FILE",
    "RUN_FILE",
    "SCENARIO_FILE",
    "SUMMARY_FILE",
    "Written",
    "open_results",
    "run_metadata",
    "save_results",
    "staged_directory",
    "write_figures",
    "write_outputs",
]

RESULTS_FILE = "results.nc"
SUMMARY_FILE = "summary.csv"
SCENARIO_FILE = "scenario.yaml"
RUN_FILE = "run.json"

#: The figures of a run: file stem -> (function of Results, variables it needs).
FIGURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "fan_departures": ("fan_chart", ("departures",)),
    "destinations": ("destinations", ("stock",)),
}

#: The dataset attribute that carries the resolved scenario (JSON) inside a NetCDF file.
SCENARIO_ATTR = "scenario_json"


@dataclasses.dataclass(frozen=True)
class Written:
    """What a writer put on disk.

    Attributes
    ----------
    directory : Path
        The output directory.
    files : tuple of Path
        The files written, in the order they were made.
    skipped : tuple of str
        Outputs not made, each with the reason (e.g. a figure whose variable was not
        recorded).
    """

    directory: Path
    files: tuple[Path, ...]
    skipped: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# all or nothing
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """Hold back Ctrl-C for a few renames (main thread only; elsewhere a no-op).

    An interrupt that arrives meanwhile is dropped: the work it would stop is complete.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        previous = signal.signal(signal.SIGINT, lambda *_: None)
    except (ValueError, OSError):  # pragma: no cover - no signals here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _missing_parents(path: Path) -> list[Path]:
    """The ancestors of ``path`` that do not exist, deepest first."""
    out = []
    for p in path.parents:
        if p.exists():
            break
        out.append(p)
    return out


@contextlib.contextmanager
def staged_directory(out_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Write files into a temporary directory that replaces ``out_dir``'s files on success.

    Use as ``with staged_directory(DIR) as tmp: (write files into tmp)``. Only files at the
    top of ``tmp`` are moved; files already in ``DIR`` with other names are kept.

    Raises
    ------
    NotADirectoryError
        If ``out_dir`` exists and is not a directory.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a directory", str(out))
    created = _missing_parents(out)
    if out.parent != out:
        out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{out.name}.tmp-", dir=out.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; DIR should not be
        yield tmp
        with _sigint_held():
            _commit(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if not out.exists():
            for p in created:
                with contextlib.suppress(OSError):
                    p.rmdir()
        raise


def _commit(tmp: Path, out: Path) -> None:
    """Move the staged files into ``out``, all of them or none."""
    if not out.exists():
        os.rename(tmp, out)
        return
    names = sorted((p.name for p in tmp.iterdir() if p.is_file()),
                   key=lambda n: (n == RUN_FILE, n))  # run.json last: it marks a whole run
    backup = Path(tempfile.mkdtemp(prefix=f"{out.name}.old-", dir=out.parent))
    moved: list[tuple[str, bool]] = []
    try:
        for name in names:
            had = (out / name).exists()
            if had:
                os.replace(out / name, backup / name)
            moved.append((name, had))
            os.replace(tmp / name, out / name)
    except BaseException:
        for name, had in reversed(moved):
            with contextlib.suppress(OSError):
                if had:
                    os.replace(backup / name, out / name)
                elif (out / name).exists():
                    (out / name).unlink()
        raise
    finally:
        shutil.rmtree(backup, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# NetCDF
# --------------------------------------------------------------------------------------------


def _netcdf_dataset(results: Any) -> Any:
    """The dataset as written: the scenario embedded, every variable compressed."""
    ds = results.dataset.copy(deep=False)
    ds.attrs = dict(ds.attrs)
    if results.scenario is not None:
        ds.attrs[SCENARIO_ATTR] = scenario_json(results.scenario)
    return ds


def scenario_json(scenario: Any) -> str:
    """The resolved scenario as compact JSON, as NetCDF files embed it (``scenario_json``)."""
    return json.dumps(scenario.to_data(json=True), ensure_ascii=False, separators=(",", ":"))


#: Bytes of one NetCDF chunk (before compression), about: chunks hold whole replicates
CHUNK_BYTES = 4 * 1024 * 1024


def _encoding(var: Any) -> dict[str, Any]:
    """zlib level 1 with byte shuffling (level 4 is 30% slower for files 10% smaller), in
    chunks of whole replicates, so that reading some replicates reads only their chunks."""
    enc: dict[str, Any] = {"zlib": True, "complevel": 1, "shuffle": True}
    if var.ndim and var.dims[0] == "replicate" and var.size:
        per_replicate = max(1, var.size // var.shape[0]) * var.dtype.itemsize
        n = int(min(var.shape[0], max(1, CHUNK_BYTES // per_replicate)))
        enc["chunksizes"] = (n, *var.shape[1:])
    return enc


def save_results(results: Any, path: str | os.PathLike[str]) -> Path:
    """Write results to one NetCDF4 file, atomically (a temporary file, then a rename).

    Counts are stored as zlib-compressed int32; the scenario (if known) is embedded as the
    attribute ``scenario_json`` so that :func:`open_results` can restore group and target
    queries from the file alone.

    Parameters
    ----------
    results : Results
    path : str or Path
        The file to write (conventionally ``*.nc``); replaced if it exists.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    ds = _netcdf_dataset(results)
    encoding = {v: _encoding(ds[v]) for v in ds.data_vars}
    fd, name = tempfile.mkstemp(prefix=f"{path.name}.tmp-", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        ds.to_netcdf(tmp, mode="w", format="NETCDF4", engine="netcdf4", encoding=encoding)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


def open_results(path: str | os.PathLike[str]) -> Any:
    """Read results saved by :func:`save_results` or :func:`write_outputs`.

    Parameters
    ----------
    path : str or Path
        A NetCDF file, or a run directory holding ``results.nc``.

    Returns
    -------
    Results or StreamedResults
        The latter for the file of a streamed run (:func:`flowsim.stream`). Results come
        with the scenario restored, so that group and target queries work: the one embedded
        in the file, else ``scenario.yaml`` beside it if its content hash matches the run's.
        Without either (or if the scenario no longer validates), ``scenario`` is ``None``
        and a warning says why.

    Raises
    ------
    FileNotFoundError
        If there is no such file, or the directory holds no ``results.nc``.
    """
    import xarray as xr

    from flowsim.results import Results

    p = Path(path)
    file = p / RESULTS_FILE if p.is_dir() else p
    if not file.is_file():
        what = f"no {RESULTS_FILE} in this directory" if p.is_dir() else "no such file"
        raise FileNotFoundError(errno.ENOENT, what, str(file))
    with xr.open_dataset(file, engine="netcdf4") as f:
        streamed = f.attrs.get("flowsim_layout") == "streamed"
        ds = None if streamed else f.load()
    if streamed:
        from flowsim.streaming import StreamedResults

        return StreamedResults.open(file)
    # strings come back as objects: give them str dtype, as in a fresh run
    strings = {n: ds[n].astype(str) for n in ds.coords if ds[n].dtype == object}
    ds = ds.assign_coords(strings)
    for name in ds.variables:
        ds[name].encoding = {}
    text = ds.attrs.pop(SCENARIO_ATTR, None)
    scenario = _embedded_scenario(text, file) if text is not None else \
        _sidecar_scenario(file.parent / SCENARIO_FILE, ds.attrs.get("scenario_hash"))
    return Results(ds, scenario)


def _embedded_scenario(text: str, file: Path) -> Any:
    from flowsim.errors import ScenarioError
    from flowsim.scenario import validate_data

    try:
        scenario, _ = validate_data(json.loads(text))
    except (ScenarioError, ValueError) as e:
        warnings.warn(f"{file}: the scenario saved with the results does not load ({e}); "
                      "group and target queries are unavailable", stacklevel=3)
        return None
    return scenario


def _sidecar_scenario(file: Path, expected: str | None) -> Any:
    from flowsim.compile import scenario_hash
    from flowsim.errors import ScenarioError
    from flowsim.scenario import read_scenario

    if not file.is_file():
        return None
    try:
        scenario, _ = read_scenario(file)
    except ScenarioError as e:
        warnings.warn(f"{file} does not load ({e}); group and target queries are "
                      "unavailable", stacklevel=3)
        return None
    if expected is not None and scenario_hash(scenario) != expected:
        warnings.warn(f"{file} is not the scenario these results were simulated from (hash "
                      f"{scenario_hash(scenario)}, results {expected}); it is not used",
                      stacklevel=3)
        return None
    return scenario


# --------------------------------------------------------------------------------------------
# a run directory
# --------------------------------------------------------------------------------------------


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


def _draw(results: Any, tmp: Path, fmt: str, dpi: int) -> tuple[list[Path], list[str]]:
    from flowsim import plots

    files, skipped = [], []
    for stem, (func, needs) in FIGURES.items():
        missing = [v for v in needs if v not in results.dataset
                   and v not in getattr(results, "recorded", ())]
        if missing:
            skipped.append(f"{stem}.{fmt}: the variable {', '.join(missing)} was not recorded")
            continue
        fig = getattr(plots, func)(results)
        target = tmp / f"{stem}.{fmt}"
        fig.savefig(target, dpi=dpi, format=fmt, metadata=_figure_metadata(results, fmt))
        files.append(target)
    return files, skipped


def _figure_metadata(results: Any, fmt: str) -> dict[str, str] | None:
    if fmt not in ("png", "pdf", "svg"):
        return None
    a = results.dataset.attrs
    text = (f"flowsim {a.get('flowsim_version')}, scenario {a.get('scenario_name')} "
            f"({a.get('scenario_hash')}), seed {a.get('seed_entropy')}")
    key = "Description" if fmt in ("png", "svg") else "Subject"
    return {key: text}


def _move_streamed(results: Any, target: Path) -> None:
    """Move a streamed run's file to ``target`` (closing it: its small variables stay)."""
    source = Path(results.dataset.encoding["source"])
    results.close()
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
        from flowsim.streaming import StreamedResults

        streamed = isinstance(results, StreamedResults)
        if not streamed:
            say(RESULTS_FILE)
            save_results(results, tmp / RESULTS_FILE)
            names.append(RESULTS_FILE)
        say(SUMMARY_FILE)
        results.summary().to_csv(tmp / SUMMARY_FILE, index=False, float_format="%.10g")
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
            _move_streamed(results, tmp / RESULTS_FILE)
            names.insert(0, RESULTS_FILE)
        say(RUN_FILE)
        timings = {"write_s": round(time.perf_counter() - t0, 3)}
        info = _merge({"timings": timings}, dict(run_info or {}))
        meta = run_metadata(results, info)
        meta["files"] = [*names, RUN_FILE]
        if skipped:
            meta["skipped"] = skipped
        (tmp / RUN_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False,
                                               default=json_default) + "\n",
                                    encoding="utf-8")
        names.append(RUN_FILE)
    return Written(out, tuple(out / n for n in names), tuple(skipped))


def write_figures(results: Any, out_dir: str | os.PathLike[str], *, fmt: str = "png",
                  dpi: int = 200) -> Written:
    """Draw the figures of saved results into ``out_dir``, all or nothing.

    Parameters
    ----------
    results : Results
    out_dir : str or Path
    fmt : {"png", "pdf", "svg"}
        File format (PDF and SVG are vector graphics, for print).
    dpi : int
        Resolution of PNG figures.
    """
    out = Path(out_dir)
    with staged_directory(out) as tmp:
        drawn, skipped = _draw(results, tmp, fmt, dpi)
    return Written(out, tuple(out / p.name for p in drawn), tuple(skipped))


def json_default(x: Any) -> Any:
    """``json.dumps(default=...)`` for numpy numbers and arrays, dates and paths."""
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, dt.date | Path):
        return str(x)
    raise TypeError(f"cannot write {type(x).__name__} to JSON")
