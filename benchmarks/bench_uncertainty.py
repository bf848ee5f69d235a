"""How long an uncertainty study takes (target: a Morris screening of the 2020 case over >= 25 parameters in
under 30 minutes on 2 cores; see docs/uncertainty.md).

    python benchmarks/bench_uncertainty.py [--experiment experiments/uncertainty_2020.yaml] [--workers 2]
    python benchmarks/bench_uncertainty.py --from results/uncertainty_2020     # figures of a finished study

Runs the study (`python -m sim run ... --workers N`, report included) in a subprocess into a fresh directory
unless --from is given, then prints: the wall time of the whole command, the runs and parameters, the
median and total run time as the runner measured it (wall time of each run in its worker) and the machine's
load average before and after (other processes may share the cores: read the times with it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def study_figures(out: Path) -> dict[str, float | int | str]:
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    runs = pd.read_parquet(out / "runs.parquet")
    design = pd.read_parquet(out / "design.parquet")
    started = dt.datetime.fromisoformat(manifest["started_at"])
    finished = dt.datetime.fromisoformat(manifest["finished_at"])
    return {
        "runs": len(runs),
        "runs_ok": int((runs["status"] == "ok").sum()),
        "parameters": sum(1 for c in design.columns if c.startswith("u.")),
        "design_points": int((design["kind"] == "design").sum()),
        "runner_wall_s": (finished - started).total_seconds(),
        "run_wall_median_s": float(runs["wall_seconds"].median()),
        "run_wall_sum_s": float(runs["wall_seconds"].sum()),
        "executor": manifest.get("executor", ""),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiment", default=str(ROOT / "experiments" / "uncertainty_2020.yaml"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--from", dest="from_dir", help="a finished study's results directory: no new run")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    command_s = float("nan")
    if args.from_dir:
        out = Path(args.from_dir)
    else:
        out = Path(tempfile.mkdtemp(prefix="bench-uncertainty-")) / "study"
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sim", "run", args.experiment, "--workers", str(args.workers),
                        "--out", str(out), "--no-progress"], check=True, env=env, cwd=ROOT)
        command_s = time.perf_counter() - start
        print(f"load average before: {load_before:.1f}, after: {os.getloadavg()[0]:.1f} "
              f"(on {os.cpu_count()} CPUs)")
    figures = study_figures(out)
    print(f"study: {out}")
    print(f"  {figures['parameters']} uncertain parameters, {figures['design_points']} design points, "
          f"{figures['runs']} runs ({figures['runs_ok']} ok), executor: {figures['executor']}")
    if command_s == command_s:
        print(f"  whole command (runs, analysis, report): {command_s / 60:.1f} min")
    print(f"  runner, first run start to last run end: {figures['runner_wall_s'] / 60:.1f} min")
    print(f"  one run: median {figures['run_wall_median_s']:.1f} s wall in its worker; sum over runs "
          f"{figures['run_wall_sum_s'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
