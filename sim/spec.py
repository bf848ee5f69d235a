"""What one simulation run is given (RunSpec) and what it gives back (RunResult).

`simulate(spec)` in `sim.model` is a pure function RunSpec -> RunResult: the same spec gives the same
result, bit for bit, in any process on any machine. Both types pickle cheaply so that they travel to
process-pool and Dask workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class RunSpec:
    """One replication of one scenario (at one sweep point).

    `scenario` is the resolved scenario as plain data (the dict a `Scenario` model dumps to), so a spec
    carries everything the run needs and nothing that depends on files on the worker.
    """

    run_id: str  # stable, e.g. "base/p0/r003"; used as the file name of the run's results
    scenario_name: str
    point: dict[str, Any]  # sweep point: dotted path -> value ({} without a sweep)
    replication: int
    root_seed: int
    scenario: dict[str, Any]
    trace_lots: bool = False


@dataclass
class RunResult:
    """Everything one run produced. Tables are tidy: one row per observation (see docs/results.md)."""

    run_id: str
    scenario_name: str
    point: dict[str, Any]
    replication: int
    root_seed: int
    kpis: dict[str, float]
    daily: pd.DataFrame  # site x stage x day
    series: pd.DataFrame  # network-level series, long format
    cohorts: pd.DataFrame  # cohort x day
    bottlenecks: pd.DataFrame  # week x level x site x stage
    wall_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
