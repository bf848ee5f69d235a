"""Replications added per lever until its days gained on the primary target are told apart from 0.

An experiment's `replications` may be too few to tell a lever's days gained from noise. After the main
run, each lever whose paired days-gained interval (primary target, the first of `decisions.targets`)
includes 0 gets a batch of `replications` more runs, paired with as many more of the base (same seeds:
common random numbers), until the interval excludes 0 or `decisions.max_replications` is reached; the table
says which. The extra runs go to <out>/lever_runs/ (the main results stay as run, one size for every
scenario); levers.csv is computed from both.

Looking at the interval after every batch is a repeated test: a lever with no effect would, if each look
used a 95 % interval, have many chances to exclude 0 by luck. So every look uses the Bonferroni level
1 − 0.05 / K (K = the number of looks possible, n, n + batch, ..., max), and the interval written is the
one at that level: all K intervals hold the true gain together with probability ≥ 95 %, so the one at the
look where the search stopped does too (benchmarks/stat_levers.py measures it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from sim.decisions.paired import day_gain
from sim.decisions.sequential import looks_of
from sim.errors import ConfigError

LEVER_RUNS = "lever_runs"
FAMILY_CONFIDENCE = 0.95
EXCLUDES_ZERO, CAP_REACHED = "interval excludes 0", "cap of {cap} replications reached"


def replication_looks(replications: int, max_replications: int | None) -> tuple[int, ...]:
    cap = 4 * replications if max_replications is None else max_replications
    return looks_of(replications, replications, cap)


def look_confidence(looks: tuple[int, ...]) -> float:
    return 1 - (1 - FAMILY_CONFIDENCE) / len(looks)


def stop_reason(low: float, high: float, n: int, looks: tuple[int, ...]) -> str:
    """Why the additions stop at n pairs ('' while they go on)."""
    if low > 0 or high < 0:
        return EXCLUDES_ZERO
    return CAP_REACHED.format(cap=looks[-1]) if n >= looks[-1] else ""


def add_replications(out: Path, exp: Any, runs: pd.DataFrame, series: pd.DataFrame, primary: str | None, *,
                     workers: int | None = None, scheduler: str | None = None
                     ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str], float]:
    """Run the batches the levers need; return (runs, series) with them, lever -> why it stopped, the level."""
    spec = exp.spec
    looks = replication_looks(exp.replications, spec.decisions.max_replications)
    if looks[-1] < exp.replications:
        raise ConfigError.at(exp.file, "decisions.max_replications", looks[-1],
                             f">= replications ({exp.replications})")
    confidence = look_confidence(looks)
    if primary is None or len(exp.points) > 1 or exp.study is not None:
        return runs, series, {name: "" for name in spec.levers}, confidence
    frames = {"series": series}

    def more(wanted: dict[str, int]) -> pd.DataFrame:
        more_runs, frames["series"] = _run_more(out, exp, wanted, runs, series, workers, scheduler)
        return more_runs

    runs, stops = sequential_additions(runs, list(spec.levers), spec.base_scenario, primary,
                                       exp.base.horizon_days, looks, more)
    return runs, frames["series"], stops, confidence


def sequential_additions(runs: pd.DataFrame, levers: list[str], base: str, primary: str, horizon_days: int,
                         looks: tuple[int, ...], more: Callable[[dict[str, int]], pd.DataFrame]
                         ) -> tuple[pd.DataFrame, dict[str, str]]:
    """The additions, lever after lever: `more(wanted)` runs scenario -> replications wanted in all and
    returns every run so far. Returns the runs and, per lever, why it stopped."""
    confidence = look_confidence(looks)
    stops: dict[str, str] = {}
    wanted: dict[str, int] = {}
    for name in levers:
        for n in looks:
            if n > looks[0]:
                wanted[base], wanted[name] = max(wanted.get(base, 0), n), n
                runs = more(dict(wanted))
            _, low, high, pairs, _ = day_gain(runs, base, name, primary, horizon_days, confidence)
            stops[name] = stop_reason(low, high, pairs, looks) if pairs >= n else "runs failed"
            if stops[name]:
                break
    return runs, stops


def _run_more(out: Path, exp: Any, wanted: dict[str, int], runs: pd.DataFrame, series: pd.DataFrame,
              workers: int | None, scheduler: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run replications [replications, wanted) of each scenario in `wanted` into <out>/lever_runs/."""
    from sim.runs.driver import run_specs

    specs = [s for s in exp.run_specs(max(wanted.values()))
             if s.scenario_name in wanted and exp.replications <= s.replication < wanted[s.scenario_name]]
    where = out / LEVER_RUNS
    run_specs(specs, where, workers=workers, scheduler=scheduler, progress=False,
              manifest_extra={"experiment": f"{exp.name}: replications added per lever",
                              "scenarios": sorted(wanted)})
    extra_runs = pd.read_parquet(where / "runs.parquet")
    extra_series = pd.read_parquet(where / "series.parquet", columns=list(series.columns))
    main_runs = runs[runs["replication"] < exp.replications]
    main_series = series[series["replication"] < exp.replications]
    return (pd.concat([main_runs, extra_runs], ignore_index=True),
            pd.concat([main_series, extra_series], ignore_index=True))
