"""How often does `resilience regress` cry wolf, and what sewing slowdown does it catch?

Runs the CI experiment (experiments/ci_regression.yaml) under another root seed and splits the
replications into groups of the CI size (40): each group is one independent CI run (replications have
independent streams, exactly as different root seeds do).
- with the model unchanged: every group with a verdict other than "ok" is a false alarm;
- with every sewing time multiplied by (1 + s), a model change made in the workers: the share of groups
  that fail is the detection rate at slowdown s.
Prints both tables. Usage: python benchmarks/regress_power.py [--groups 20] [--power-groups 5]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from sim.model import simulate as model_simulate
from sim.processes.sewing import SewWork
from sim.regress import compare, load_baseline
from sim.runs.driver import run_specs
from sim.spec import RunResult, RunSpec
from sim.studies import load_experiment

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


def group_verdicts(seed: int, slowdown: float, groups: int, workers: int) -> list[pd.DataFrame]:
    exp = load_experiment(ROOT / "experiments" / "ci_regression.yaml", seed=seed)
    baseline = load_baseline(ROOT / "results" / "baseline", exp)
    size = exp.replications
    os.environ[SLOWDOWN_ENV] = str(slowdown)
    with tempfile.TemporaryDirectory() as out:
        run_specs(exp.run_specs(size * groups), Path(out), simulate=slowed_simulate, workers=workers, progress=False)
        runs = pd.read_parquet(Path(out) / "runs.parquet")
    return [compare(baseline, runs[runs["replication"] // size == g]) for g in range(groups)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=int, default=20, help="CI-sized groups for the false-alarm rate")
    parser.add_argument("--power-groups", type=int, default=5, help="groups per slowdown")
    parser.add_argument("--slowdowns", default="0.02,0.03,0.05,0.10")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    alarms = 0
    for g, table in enumerate(group_verdicts(1000, 0.0, args.groups, args.workers)):
        moved = table[table["verdict"] != "ok"]
        alarms += bool(len(moved))
        print(f"group {g}: {'FALSE ALARM ' + ', '.join(moved['kpi']) if len(moved) else 'ok'}", flush=True)
    if args.groups:
        print(f"\nfalse alarms: {alarms} of {args.groups} CI runs ({alarms / args.groups:.0%}); design bound 1 %/run")
    print("\nslowdown  detected  runs  KPIs named (first run)")
    for slowdown in (float(x) for x in args.slowdowns.split(",")):
        tables = group_verdicts(2000, slowdown, args.power_groups, args.workers)
        failed = [t[t["verdict"] != "ok"] for t in tables]
        hits = sum(bool(len(m)) for m in failed)
        named = next((", ".join(m["kpi"]) for m in failed if len(m)), "")
        print(f"{slowdown:>8.1%}  {hits:>8}  {len(tables):>4}  {named}", flush=True)
    print(f"\nwall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
