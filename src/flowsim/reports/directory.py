"""Which command wrote an output directory, and its HTML report, whatever the command.

``flowsim report DIR`` and ``flowsim plot DIR`` work on a run's, a comparison's, a
calibration's or a sensitivity analysis's directory: :func:`directory_kind` tells them
apart by the file each leaves (``results.nc``, ``comparison.nc``, ``posterior.nc``,
``sensitivity.csv``), and :func:`write_report` writes the page of any of them with the
builders of :mod:`flowsim.reports.html` and :mod:`flowsim.reports.sensitivity`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flowsim.reports.html import REPORT_FILE, calibration_report, comparison_report, run_report
from flowsim.results.files import atomic_file

__all__ = ["directory_kind", "write_report"]


def directory_kind(path: str | Path) -> str:
    """``"run"``, ``"compare"``, ``"calibrate"`` or ``"sensitivity"``: what wrote a directory
    (or a file)."""
    p = Path(path)
    if p.is_file():
        name = p.name
        return {"comparison.nc": "compare", "posterior.nc": "calibrate",
                "sensitivity.csv": "sensitivity"}.get(name, "run")
    for file, kind in (("results.nc", "run"), ("comparison.nc", "compare"),
                       ("posterior.nc", "calibrate"), ("sensitivity.csv", "sensitivity")):
        if (p / file).is_file():
            return kind
    import errno

    raise FileNotFoundError(errno.ENOENT, "no results.nc in this directory (nor the "
                            "comparison.nc, posterior.nc or sensitivity.csv of a comparison, "
                            "calibration or sensitivity analysis)",
                            str(p))


def _run_info(directory: Path) -> dict[str, Any]:
    f = directory / "run.json"
    return json.loads(f.read_text(encoding="utf-8")) if f.is_file() else {}


def write_report(path: str | Path, out: str | Path | None = None, *, workers: int = 1
                 ) -> Path:
    """Write the HTML report of a run, comparison, calibration or sensitivity directory, all
    or nothing.

    Parameters
    ----------
    path : str or Path
        The directory (or its ``results.nc``, ``comparison.nc``, ``posterior.nc`` or
        ``sensitivity.csv``).
    out : str or Path, optional
        The file (default: ``report.html`` in the directory).
    workers : int
        Processes for the posterior-predictive run a calibration's report draws again
        (the same replicates as ``flowsim calibrate``, bit for bit).

    Returns
    -------
    Path
    """
    p = Path(path)
    directory = p if p.is_dir() else p.parent
    kind = directory_kind(p)
    info = _run_info(directory)
    if kind == "run":
        from flowsim.results.opening import open_results

        html = run_report(open_results(p), info)
    elif kind == "compare":
        from flowsim.reports.comparison import open_comparison

        html = comparison_report(open_comparison(p), info)
    elif kind == "sensitivity":
        from flowsim.reports.sensitivity import read_sensitivity, sensitivity_report

        html = sensitivity_report(read_sensitivity(directory), info)
    else:
        from flowsim.reports.calibration import open_calibration

        cal = open_calibration(directory)
        if cal.scenario is None:
            raise ValueError(f"{directory / 'posterior.nc'}: the calibrated scenario is not "
                             "in the file (made before flowsim 0.2); calibrate again")
        html = calibration_report(cal.posterior, cal.scenario, cal.predictive(workers),
                                  cal.table, info, cal.validation)
    target = Path(out) if out is not None else directory / REPORT_FILE
    with atomic_file(target) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return target
