"""Peak memory of a streamed run, all processes together, as the command line makes it.

Runs ``flowsim run SCENARIO --stream -n N --workers W --out DIR`` and samples, every
``--every`` seconds, the resident memory (RSS, from ``/proc``) of the command and all its
descendants (the worker processes, the forkserver). Prints and writes (``--json``) the peak
of their sum, the peak of the largest single process, the wall time and the output's size.

    python benchmarks/memory_bound.py -n 1000000 --workers 2 --json benchmarks/results/memory/1e6.json

With ``--synthetic COUNTRIES`` it measures instead one block (``--block`` replicates,
``--weeks`` weekly steps) of a synthetic graph (``flowsim.testing.synthetic``, about 3 routes
a country) simulated by the engine in a child process, after compiling it there; the child
also reports its resident memory before the block and its own peak (``ru_maxrss``).
``--dense`` forces the dense route sums of small graphs (:class:`flowsim.core.sums.ChainSums`),
as every graph had before issue 17:

    python benchmarks/memory_bound.py --synthetic 10000 --block 10 --weeks 26

Linux only (it reads ``/proc``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = os.sysconf("SC_PAGE_SIZE")


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids, for every process now."""
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except OSError:
        return 0


def tree_rss(root: int) -> tuple[int, int, int]:
    """(sum of RSS, largest RSS, number of processes) of ``root`` and its descendants."""
    kids = _children()
    todo, total, largest, n = [root], 0, 0, 0
    while todo:
        pid = todo.pop()
        r = _rss(pid)
        total, largest, n = total + r, max(largest, r), n + 1
        todo += kids.get(pid, [])
    return total, largest, n


# run by the child process in --synthetic mode: argv countries, block, weeks, dense (0/1)
SYNTHETIC_BLOCK = """
import json, os, resource, sys, time
import numpy as np
from flowsim.core.compile import compile_scenario
from flowsim.core.engine import run_block
from flowsim.core.samplers import ExactSampler
from flowsim.core.sums import ChainSums
from flowsim.testing.synthetic import synthetic_scenario
countries, block, weeks, dense = (int(a) for a in sys.argv[1:5])
if dense:
    ChainSums.DENSE_LIMIT = np.iinfo(np.int64).max
t0 = time.perf_counter()
model = compile_scenario(synthetic_scenario(countries=countries, routes_per_country=3.0,
                                            cohorts=4, weeks=weeks))
t1 = time.perf_counter()
with open("/proc/self/statm") as f:
    before = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
run_block(model, model.default_params(block), ExactSampler(np.random.default_rng(1)))
t2 = time.perf_counter()
print(json.dumps({"countries": model.n_countries, "routes": model.n_routes,
    "max_out_degree": int(model.route_position.max()) + 1, "steps": model.n_steps,
    "compile_s": round(t1 - t0, 1), "block_s": round(t2 - t1, 1),
    "rss_before_block_mb": round(before / 2**20, 1),
    "child_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--replicates", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "russia-2022.yaml"))
    ap.add_argument("--out", default=None, help="output directory (default: a temporary one)")
    ap.add_argument("--every", type=float, default=0.25, help="sampling interval, seconds")
    ap.add_argument("--json", default=None, help="write the figures to this JSON file")
    ap.add_argument("--synthetic", type=int, default=None, metavar="COUNTRIES",
                    help="measure one engine block of a synthetic graph instead of a run")
    ap.add_argument("--block", type=int, default=10, help="replicates of the synthetic block")
    ap.add_argument("--weeks", type=int, default=26, help="weeks of the synthetic scenario")
    ap.add_argument("--dense", action="store_true", help="force the dense route sums")
    args = ap.parse_args()

    out = Path(args.out or tempfile.mkdtemp(prefix="flowsim-memory-")) / "run"
    if args.synthetic is not None:
        cmd = [sys.executable, "-c", SYNTHETIC_BLOCK, str(args.synthetic), str(args.block),
               str(args.weeks), str(int(args.dense))]
    else:
        cmd = [sys.executable, "-m", "flowsim", "run", args.scenario, "--stream", "-q",
               "-n", str(args.replicates), "--workers", str(args.workers), "--out", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE if args.synthetic is not None else None,
                            text=True)
    peak_total = peak_one = processes = 0
    samples = 0
    while proc.poll() is None:
        total, one, n = tree_rss(proc.pid)
        peak_total, peak_one = max(peak_total, total), max(peak_one, one)
        processes = max(processes, n)
        samples += 1
        time.sleep(args.every)
    wall = time.perf_counter() - t0
    if args.synthetic is not None:
        child = proc.stdout.read() if proc.stdout else ""
        result = {
            "command": " ".join(sys.argv), "returncode": proc.returncode,
            "block": args.block, "dense": args.dense,
            **(json.loads(child) if proc.returncode == 0 and child.strip() else {}),
            "peak_rss_mb": round(peak_total / 2**20, 1), "wall_s": round(wall, 1),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version()},
            "date": time.strftime("%Y-%m-%d"),
        }
        if "child_peak_rss_mb" in result:
            result["block_mb_per_replicate"] = round(
                (result["child_peak_rss_mb"] - result["rss_before_block_mb"]) / args.block, 1)
        return _report(result, args.json, proc.returncode)
    size = sum(p.stat().st_size for p in out.glob("*")) if out.exists() else 0
    result = {
        "command": " ".join(cmd), "returncode": proc.returncode,
        "replicates": args.replicates, "workers": args.workers,
        "peak_rss_all_processes_mb": round(peak_total / 2**20, 1),
        "peak_rss_largest_process_mb": round(peak_one / 2**20, 1),
        "processes": processes, "samples": samples, "wall_s": round(wall, 1),
        "replicates_per_s": round(args.replicates / wall, 1),
        "output_mb": round(size / 2**20, 1),
        "results_nc_mb": round((out / "results.nc").stat().st_size / 2**20, 1)
        if (out / "results.nc").exists() else None,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "processor": platform.processor(), "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%d"),
    }
    return _report(result, args.json, proc.returncode)


def _report(result: dict, path: str | None, returncode: int) -> int:
    """Print the figures, write them to ``path`` if given, and pass the return code on."""
    print(json.dumps(result, indent=2))
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(result, indent=2) + "\n")
    return returncode


if __name__ == "__main__":
    sys.exit(main())
