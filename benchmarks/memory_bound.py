"""Peak memory of a streamed run, all processes together, as the command line makes it.

Runs ``flowsim run SCENARIO --stream -n N --workers W --out DIR`` and samples, every
``--every`` seconds, the resident memory (RSS, from ``/proc``) of the command and all its
descendants (the worker processes, the forkserver). Prints and writes (``--json``) the peak
of their sum, the peak of the largest single process, the wall time and the output's size.

    python benchmarks/memory_bound.py -n 1000000 --workers 2 --json benchmarks/results/memory/1e6.json

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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--replicates", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "russia-2022.yaml"))
    ap.add_argument("--out", default=None, help="output directory (default: a temporary one)")
    ap.add_argument("--every", type=float, default=0.25, help="sampling interval, seconds")
    ap.add_argument("--json", default=None, help="write the figures to this JSON file")
    args = ap.parse_args()

    out = Path(args.out or tempfile.mkdtemp(prefix="flowsim-memory-")) / "run"
    cmd = [sys.executable, "-m", "flowsim", "run", args.scenario, "--stream", "-q",
           "-n", str(args.replicates), "--workers", str(args.workers), "--out", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    peak_total = peak_one = processes = 0
    samples = 0
    while proc.poll() is None:
        total, one, n = tree_rss(proc.pid)
        peak_total, peak_one = max(peak_total, total), max(peak_one, one)
        processes = max(processes, n)
        samples += 1
        time.sleep(args.every)
    wall = time.perf_counter() - t0
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
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
