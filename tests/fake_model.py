"""A stand-in for `sim.model.simulate` used by tests/test_runner.py until the real model exists.

`simulate` is a pure, module-level function of its RunSpec (picklable by reference, so it runs on
process-pool and Dask workers): every number comes from `sim.rng.Streams(root_seed, replication)`.
It produces tables shaped like docs/results.md (daily, series, cohorts, bottlenecks) with string, int,
float and datetime columns so that Parquet round trips are exercised.

Test hooks:
- `scenario["fail"] = True` makes the run raise `ValueError` (a failing run);
- the environment variable `FAKE_MODEL_SLEEP` (seconds) makes every run sleep first, so that a
  subprocess running an experiment can be interrupted midway. It never changes the results.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import pandas as pd

from sim.rng import Streams
from sim.spec import RunResult, RunSpec

SITES = ("roubaix_pilot", "esat_lille", "cut_centre")
STAGES = ("cut", "sew", "inspect")


def simulate(spec: RunSpec) -> RunResult:
    """A deterministic fake run: the same spec gives the same result in any process."""
    delay = float(os.environ.get("FAKE_MODEL_SLEEP", "0") or 0)
    if delay > 0:
        time.sleep(delay)
    scenario = spec.scenario
    if scenario.get("fail"):
        raise ValueError(f"conservation broken in {spec.run_id}")
    streams = Streams(spec.root_seed, spec.replication)
    days = int(scenario.get("horizon_days", 10))
    rate = float(scenario.get("rate", 100.0)) * float(spec.point.get("sites.roubaix_pilot.rate_factor", 1.0))
    start = pd.Timestamp(scenario.get("start", "2020-03-30"))
    dates = pd.date_range(start, periods=days, freq="D")

    daily_rows: list[dict[str, Any]] = []
    for site in SITES:
        gen = streams.get(f"site:{site}:output")
        for stage in STAGES:
            output = gen.poisson(rate, size=days)
            working = gen.uniform(0.0, 8.0, size=days)
            for day in range(days):
                daily_rows.append(
                    {
                        "day": day,
                        "date": dates[day],
                        "site": site,
                        "kind": "esat" if "esat" in site else "insertion",
                        "stage": stage,
                        "output": int(output[day]),
                        "working_h": float(working[day]),
                        "off_shift_h": 24.0 - float(working[day]),
                    }
                )
    daily = pd.DataFrame(daily_rows)

    delivered = streams.get("channel:charities:delivered").poisson(rate * 2, size=days).astype(np.int64)
    series = pd.DataFrame(
        {
            "day": np.concatenate([np.arange(days), np.arange(days)]),
            "date": np.concatenate([dates.values, dates.values]),
            "series": ["delivered"] * days + ["cum_delivered"] * days,
            "key": ["charities"] * days + ["all"] * days,
            "value": np.concatenate([delivered, np.cumsum(delivered)]).astype(np.float64),
        }
    )

    eff = np.minimum(1.0, 0.3 + 0.07 * np.arange(days) + streams.get("cohort:trainees").normal(0, 0.01, days))
    cohorts = pd.DataFrame(
        {
            "day": np.arange(days),
            "date": dates,
            "site": "roubaix_pilot",
            "cohort": "trainees",
            "role": "trainee",
            "size": 80,
            "present": streams.get("cohort:trainees:absence").binomial(80, 0.9, size=days),
            "efficiency": eff,
        }
    )

    weeks = dates[::7]
    share = streams.get("bottleneck").dirichlet(np.ones(len(STAGES)), size=len(weeks))
    bottlenecks = pd.DataFrame(
        [
            {"week_start": week, "level": "network", "site": "", "stage": stage, "share": float(share[w, s])}
            for w, week in enumerate(weeks)
            for s, stage in enumerate(STAGES)
        ]
    )

    total = float(delivered.sum())
    kpis = {
        "masks_sewn": float(daily.loc[daily["stage"] == "sew", "output"].sum()),
        "masks_delivered": total,
        "mean_lead_time_days": float(streams.get("lead").gamma(2.0, 1.5)),
        "day_target.first_goal": float(np.searchsorted(np.cumsum(delivered), rate * 5))
        if total > rate * 5
        else float("nan"),
    }
    return RunResult(
        run_id=spec.run_id,
        scenario_name=spec.scenario_name,
        point=dict(spec.point),
        replication=spec.replication,
        root_seed=spec.root_seed,
        kpis=kpis,
        daily=daily,
        series=series,
        cohorts=cohorts,
        bottlenecks=bottlenecks,
    )


def make_specs(replications: int = 3, *, root_seed: int = 20200330, failing: bool = False) -> list[RunSpec]:
    """Specs for two scenarios, the second swept over two points, `replications` each.

    With `failing`, a third scenario whose runs raise is appended.
    """
    base = {"horizon_days": 12, "rate": 100.0, "start": "2020-03-30"}
    plan: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [("base", "p0", {}, base)]
    for p, factor in enumerate((0.5, 1.5)):
        plan.append(("second_shift", f"p{p}", {"sites.roubaix_pilot.rate_factor": factor}, base | {"rate": 140.0}))
    if failing:
        plan.append(("broken", "p0", {}, base | {"fail": True}))
    return [
        RunSpec(
            run_id=f"{name}/{point_id}/r{r:03d}",
            scenario_name=name,
            point=point,
            replication=r,
            root_seed=root_seed,
            scenario=scenario,
        )
        for name, point_id, point, scenario in plan
        for r in range(replications)
    ]
