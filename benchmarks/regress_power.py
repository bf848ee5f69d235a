"""How often does `resilience regress` cry wolf, and what sewing slowdown does it catch?

Runs the CI experiment (experiments/ci_regression.yaml) under other root seeds:
- with the model unchanged: every verdict other than "ok" is a false alarm;
- with every sewing time multiplied by (1 + s), a model change made in the workers: the share of runs
  that fail is the detection rate at slowdown s.
Prints both tables. Usage: python benchmarks/regress_power.py [--seeds 20] [--power-seeds 5]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from sim.experiment import load_experiment
from sim.model import simulate as model_simulate
from sim.processes.sewing import SewWork
from sim.regress import compare, load_baseline
from sim.runner import run_specs
from sim.spec import RunResult, RunSpec

ROOT = Path(__file__).resolve().parent.parent
SLOWDOWN_ENV = "RESILIENCE_BENCH_SEW_SLOWDOWN"


def slowed_simulate(spec: RunSpec) -> RunResult:
    """The real model with every sewing lot taking (1 + slowdown) times as long (a stand-in for a model
    change); the factor comes from the environment, which pool workers inherit."""
    factor = 1.0 + float(os.environ.get(SLOWDOWN_ENV, "0"))
    original = SewWork.plan

    def plan(self: SewWork, lot, t):  # type: ignore[no-untyped-def]
        out = original(self, lot, t)
        return None if out is None else (out[0] * factor, out[1])

    SewWork.plan = plan  # type: ignore[method-assign]
    try:
        return model_simulate(spec)
    finally:
        SewWork.plan = original  # type: ignore[method-assign]


def verdicts(seed: int, slowdown: float, workers: int) -> pd.DataFrame:
    exp = load_experiment(ROOT / "experiments" / "ci_regression.yaml", seed=seed)
    baseline = load_baseline(ROOT / "results" / "baseline", exp)
    os.environ[SLOWDOWN_ENV] = str(slowdown)
    with tempfile.TemporaryDirectory() as out:
        run_specs(exp.run_specs(), Path(out), simulate=slowed_simulate, workers=workers, progress=False)
        runs = pd.read_parquet(Path(out) / "runs.parquet")
    return compare(baseline, runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20, help="seeds for the false-alarm rate")
    parser.add_argument("--power-seeds", type=int, default=5, help="seeds per slowdown")
    parser.add_argument("--slowdowns", default="0.02,0.03,0.05,0.10")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    alarms = 0
    for seed in range(1000, 1000 + args.seeds):
        table = verdicts(seed, 0.0, args.workers)
        moved = table[table["verdict"] != "ok"]
        alarms += bool(len(moved))
        print(f"seed {seed}: {'FALSE ALARM ' + ', '.join(moved['kpi']) if len(moved) else 'ok'}", flush=True)
    print(f"\nfalse alarms: {alarms} of {args.seeds} runs ({alarms / args.seeds:.0%}); designed bound 1 % per run")
    print("\nslowdown  detected  runs  KPIs named (first run)")
    for slowdown in (float(s) for s in args.slowdowns.split(",")):
        hits = 0
        named = ""
        for seed in range(2000, 2000 + args.power_seeds):
            table = verdicts(seed, slowdown, args.workers)
            moved = table[table["verdict"] != "ok"]
            hits += bool(len(moved))
            named = named or ", ".join(moved["kpi"])
        print(f"{slowdown:>8.0%}  {hits:>8}  {args.power_seeds:>4}  {named}", flush=True)
    print(f"\nwall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
