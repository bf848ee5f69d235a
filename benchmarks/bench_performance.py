"""Performance figures of the lot-level model, measured in one run (see docs/performance.md).

    python benchmarks/bench_performance.py [--repeat 3] [--quick]

Prints, as medians of --repeat repetitions where it says so:
1. one replication of experiments/national_60m.yaml on one core: wall time and peak memory (each
   repetition in a fresh subprocess, peak RSS from getrusage);
2. masks simulated per second by that replication and by a per-mask reference model of a tandem
   cut/sew/inspect/pack line written here in plain SimPy (one process per mask, one Resource per station),
   and their ratio;
3. throughput of the lot-level model against the per-mask reference on that same line (same stations,
   same gamma per-mask times, one operator each, around the clock);
4. how the cost grows with the number of sites (0.25x .. 4x the groups) and the horizon (1x, 2x);
5. 20 replications on 1 worker, 2 workers and a Dask LocalCluster of 2 workers: scaling efficiency;
6. what the lot size changes on the 2020 case: accuracy (KPIs) and speed.
Also writes benchmarks/last_run.json.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import simpy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.config import Scenario, scenario_dict  # noqa: E402
from sim.experiment import load_experiment  # noqa: E402
from sim.model import simulate  # noqa: E402
from sim.spec import RunSpec  # noqa: E402

NATIONAL = ROOT / "experiments" / "national_60m.yaml"
CASE_2020 = ROOT / "experiments" / "projet_resilience.yaml"

# the tandem line: (station, mean minutes per mask); per-mask times gamma with this coefficient of variation
LINE = (("cut", 0.8), ("sew", 2.0), ("inspect", 0.6), ("pack", 0.7))
CV = 0.5


def median(values: list[float]) -> float:
    return float(statistics.median(values))


# ------------------------------------------------------------------------------ 1. national replication
CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from sim.experiment import load_experiment
from sim.model import simulate
spec = load_experiment({path!r}).run_specs(1)[0]
t = time.perf_counter()
r = simulate(spec)
wall = time.perf_counter() - t
print(json.dumps({{"wall": wall, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                   "started": r.kpis["masks_started"], "sewn": r.kpis["masks_sewn"],
                   "delivered": r.kpis["masks_delivered"]}}))
"""


def national_replication(repeat: int, path: Path = NATIONAL) -> dict[str, float]:
    runs = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT), path=str(path))],
                             capture_output=True, text=True, check=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    return {"wall_s": median([r["wall"] for r in runs]), "peak_mb": median([r["maxrss_mb"] for r in runs]),
            "masks_started": runs[0]["started"], "masks_sewn": runs[0]["sewn"],
            "masks_delivered": runs[0]["delivered"], "repeat": repeat}


# ------------------------------------------------------------------------------ 2-3. per-mask reference
def per_mask_line(masks: int, seed: int) -> tuple[float, np.ndarray]:
    """The naive model: one SimPy process per mask through four single-server stations, masks released
    as fast as the first station takes them. Returns (wall seconds, completion times in minutes)."""
    rng = np.random.default_rng(seed)
    shape = 1.0 / (CV * CV)
    times = {name: rng.gamma(shape, mean / shape, masks) for name, mean in LINE}
    env = simpy.Environment()
    stations = {name: simpy.Resource(env, capacity=1) for name, _ in LINE}
    done: list[float] = []

    def mask(i: int, entered: simpy.Event) -> Any:
        for k, (name, _) in enumerate(LINE):
            with stations[name].request() as req:
                yield req
                if k == 0:
                    entered.succeed()
                yield env.timeout(times[name][i])
        done.append(env.now)

    def source() -> Any:
        for i in range(masks):
            entered = env.event()
            env.process(mask(i, entered))
            yield entered  # release the next mask once this one holds the first station

    started = time.perf_counter()
    env.process(source())
    env.run()
    return time.perf_counter() - started, np.asarray(done)


def steady_rate(completions: np.ndarray, warm_up: float, end: float) -> float:
    """Masks per minute leaving the line between warm_up and end (both in minutes): the steady state,
    free of the start (an empty line) and of the end (work in process)."""
    inside = (completions >= warm_up) & (completions < end)
    return float(inside.sum() / (end - warm_up))


def lot_line_scenario(lot_size: int, days: int) -> dict[str, Any]:
    """The same line in the lot-level model: one skilled operator per station, around the clock."""
    stages = {name: {"minutes_per_mask": mean, "operators": 1, "cv": CV, "buffer_days": None} for name, mean in LINE}
    return {
        "name": "tandem", "start": "2020-03-30", "horizon_days": days, "lot_size": lot_size,
        "calendars": {"one_shift": {"shifts": [["00:00", "24:00"]],
                                    "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}},
        "sites": {"line": {"kind": "textile", "stages": stages}, "platform": {"kind": "hub"}},
        "routes": [{"from": "line", "to": "platform", "transit_days": 0}],
        # every mask inspected (sample = the lot), all accepted: inspection costs 0.6 min a mask as in the reference
        "quality": {"sampling_plans": [{"max_lot": 10**9, "sample": 10**9, "accept": 10**9}]},
    }


def lot_line(lot_size: int, days: int, replications: int) -> tuple[float, float]:
    """(steady masks per simulated minute out of the last station, days 10 to days-5; wall s per replication)."""
    data = Scenario.model_validate(lot_line_scenario(lot_size, days))
    rates, walls = [], []
    for r in range(replications):
        spec = RunSpec(run_id=f"t/p0/r{r:03d}", scenario_name="t", point={}, replication=r, root_seed=42,
                       scenario=scenario_dict(data))
        started = time.perf_counter()
        result = simulate(spec)
        walls.append(time.perf_counter() - started)
        pack = result.daily[result.daily["stage"] == "pack"].set_index("day")["output"]
        window = pack.loc[10:days - 6]
        rates.append(window.sum() / (len(window) * 24 * 60))
    return float(np.mean(rates)), median(walls)


# ------------------------------------------------------------------------------ 4. scaling
def scaled(factor: float, horizon_factor: float = 1.0) -> dict[str, Any]:
    exp = load_experiment(NATIONAL)
    data = scenario_dict(exp.base)
    for group in data["groups"].values():
        group["count"] = max(1, round(group["count"] * factor))
    data["horizon_days"] = int(data["horizon_days"] * horizon_factor)
    return data


def time_scenario(data: dict[str, Any], repeat: int) -> tuple[float, float]:
    scenario = Scenario.model_validate(data)
    walls, masks = [], 0.0
    for _ in range(repeat):
        spec = RunSpec(run_id="s/p0/r000", scenario_name="s", point={}, replication=0, root_seed=2020,
                       scenario=scenario_dict(scenario))
        started = time.perf_counter()
        result = simulate(spec)
        walls.append(time.perf_counter() - started)
        masks = result.kpis["masks_started"]
    return median(walls), masks


# ------------------------------------------------------------------------------ 5. executors
def executors(replications: int) -> dict[str, float]:
    from sim.runner import run_specs

    specs = load_experiment(NATIONAL).run_specs(replications)
    out: dict[str, float] = {}
    for label, kwargs in (("1 worker", {"workers": 1}), ("2 workers", {"workers": 2}),
                          ("Dask LocalCluster, 2 workers", {"workers": 2, "scheduler": "local"})):
        with tempfile.TemporaryDirectory() as directory:
            started = time.perf_counter()
            outcome = run_specs(specs, Path(directory), progress=False, **kwargs)  # type: ignore[arg-type]
            out[label] = time.perf_counter() - started
            assert not outcome.failed, outcome.failed
    return out


# ------------------------------------------------------------------------------ 6. lot size
def lot_sizes(sizes: list[int]) -> list[dict[str, float]]:
    exp = load_experiment(CASE_2020)
    rows = []
    for size in sizes:
        data = copy.deepcopy(scenario_dict(exp.base))
        data["lot_size"] = size
        scenario = Scenario.model_validate(data)
        kpis, walls = [], []
        for r in range(3):
            spec = RunSpec(run_id=f"l/p0/r{r:03d}", scenario_name="l", point={}, replication=r, root_seed=2020,
                           scenario=scenario_dict(scenario))
            started = time.perf_counter()
            kpis.append(simulate(spec).kpis)
            walls.append(time.perf_counter() - started)
        rows.append({"lot_size": size, "wall_s": median(walls),
                     "delivered": float(np.mean([k["masks_delivered"] for k in kpis])),
                     "day_2M": float(np.nanmean([k["day_target.first_goal"] for k in kpis])),
                     "lead_time_days": float(np.mean([k["mean_lead_time_days"] for k in kpis]))})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer masks and replications (a smoke run)")
    args = parser.parse_args()
    quick = args.quick
    figures: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpu": platform.processor(),
                                           "cores": __import__("os").cpu_count()}}
    t0 = time.perf_counter()

    print("1. one replication of national_60m on one core (fresh process each)")
    nat = national_replication(args.repeat)
    figures["national"] = nat
    print(f"   wall {nat['wall_s']:.2f} s (median of {nat['repeat']}), peak memory {nat['peak_mb']:.0f} MB, "
          f"{nat['masks_started'] / 1e6:.1f} M masks cut, {nat['masks_sewn'] / 1e6:.1f} M sewn, "
          f"{nat['masks_delivered'] / 1e6:.1f} M delivered")

    print("\n2-3. per-mask SimPy reference vs the lot-level model on the same tandem line")
    ref_masks = 20_000 if quick else 200_000
    ref = [per_mask_line(ref_masks, seed) for seed in range(args.repeat)]
    ref_wall = median([w for w, _ in ref])
    ref_speed = ref_masks / ref_wall
    ref_rate = float(np.mean([steady_rate(done, 10 * 1440, done.max() - 5 * 1440) for _, done in ref]))
    national_speed = nat["masks_started"] / nat["wall_s"]
    days = 40 if quick else 300
    lot_rate, lot_wall = lot_line(500, days, 3 if quick else 8)
    figures["per_mask"] = {"masks": ref_masks, "wall_s": ref_wall, "masks_per_s": ref_speed,
                           "masks_per_min_simulated": ref_rate}
    figures["lot_line"] = {"lot_size": 500, "days": days, "masks_per_min_simulated": lot_rate,
                           "wall_s_per_replication": lot_wall}
    figures["speed_ratio"] = national_speed / ref_speed
    figures["throughput_gap"] = lot_rate / ref_rate - 1
    print(f"   per-mask reference: {ref_masks:,} masks in {ref_wall:.2f} s = {ref_speed:,.0f} masks/s")
    print(f"   lot-level national: {national_speed:,.0f} masks/s   ratio {figures['speed_ratio']:,.0f}x")
    print(f"   steady throughput, masks per simulated minute: per-mask {ref_rate:.4f}, lot-level (lots of 500) "
          f"{lot_rate:.4f}: {figures['throughput_gap']:+.2%}  (bottleneck: sew at 1/2.0 = 0.5000)")

    print("\n4. cost against the number of sites and the horizon (one replication, median)")
    scaling = []
    for factor in (0.25, 0.5, 1, 2, 4):
        wall, masks = time_scenario(scaled(factor), 1 if quick else args.repeat)
        scaling.append({"sites_factor": factor, "horizon_factor": 1, "wall_s": wall, "masks": masks})
        print(f"   sites x{factor:<5} {wall:6.2f} s  {masks / 1e6:6.1f} M masks  {wall / masks * 1e6:.3f} s/M masks")
    for factor in (1, 2):
        wall, masks = time_scenario(scaled(1, factor), 1 if quick else args.repeat)
        scaling.append({"sites_factor": 1, "horizon_factor": factor, "wall_s": wall, "masks": masks})
        print(f"   horizon x{factor:<3} {wall:6.2f} s  {masks / 1e6:6.1f} M masks  {wall / masks * 1e6:.3f} s/M masks")
    sites = [r for r in scaling if r["horizon_factor"] == 1]
    slope = np.polyfit(np.log([r["sites_factor"] for r in sites]), np.log([r["wall_s"] for r in sites]), 1)[0]
    figures["scaling"] = scaling
    figures["sites_exponent"] = float(slope)
    print(f"   log-log slope of time against sites: {slope:.2f} (1 = linear)")

    print("\n5. replications of national_60m on three executors")
    reps = 4 if quick else 20
    walls = executors(reps)
    figures["executors"] = {"replications": reps, **walls}
    for label, wall in walls.items():
        print(f"   {label:<30} {wall:7.1f} s")
    efficiency_pool = walls["1 worker"] / (2 * walls["2 workers"])
    efficiency_dask = walls["1 worker"] / (2 * walls["Dask LocalCluster, 2 workers"])
    figures["scaling_efficiency"] = {"process_pool": efficiency_pool, "dask": efficiency_dask}
    print(f"   scaling efficiency on 2 workers: process pool {efficiency_pool:.2f}, Dask {efficiency_dask:.2f}")

    print("\n6. lot size on the 2020 case (3 replications each)")
    sizes = [200, 1000] if quick else [50, 200, 1000, 5000]
    figures["lot_sizes"] = lot_sizes(sizes)
    print("   lot   wall s   delivered M   day 2 M   lead time d")
    for row in figures["lot_sizes"]:
        print(f"   {row['lot_size']:<5} {row['wall_s']:7.2f}   {row['delivered'] / 1e6:10.2f}   {row['day_2M']:7.1f}"
              f"   {row['lead_time_days']:10.2f}")

    figures["benchmark_wall_s"] = time.perf_counter() - t0
    (ROOT / "benchmarks" / "last_run.json").write_text(json.dumps(figures, indent=2))
    print(f"\nbenchmark wall time {figures['benchmark_wall_s']:.0f} s; figures in benchmarks/last_run.json")
    print(f"peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
