"""After `resilience run`: write levers.csv and stress.csv when the experiment has levers or a stress matrix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from sim.decisions.adding import add_replications
from sim.decisions.ranking import lever_table
from sim.decisions.stress import stress_table
from sim.decisions.variants import shock_variants
from sim.runs.atomic import atomic_write

LEVERS_CSV, STRESS_CSV = "levers.csv", "stress.csv"


def target_names(exp: Any) -> list[str]:
    wanted = exp.spec.decisions.targets
    known = list(exp.base.targets)
    return [t for t in (wanted or known) if t in known]


def write_decision_tables(out: Path, exp: Any, workers: int | None = None, scheduler: str | None = None
                          ) -> list[Path]:
    """Write the tables this experiment asks for; return their paths (none for a plain experiment).

    Levers whose days gained cannot yet be told from 0 get more replications first (sim/decisions/adding.py),
    run with `workers` / `scheduler` into <out>/lever_runs/."""
    spec = exp.spec
    if not spec.levers and spec.stress is None:
        return []
    runs = pd.read_parquet(out / "runs.parquet")
    series = pd.read_parquet(out / "series.parquet", columns=["scenario", "replication", "day", "series", "key",
                                                               "value"])
    base = exp.base
    targets = {k: t.model_dump(mode="json") for k, t in base.targets.items()}
    names = target_names(exp)
    written = []
    if spec.levers:
        by = spec.decisions.masks_by or next((t.by for t in base.targets.values() if t.by is not None), None)
        by_day = (by - base.start).days if by is not None else None
        runs, series, stops, confidence = add_replications(out, exp, runs, series, names[0] if names else None,
                                                           workers=workers, scheduler=scheduler)
        table = lever_table(runs, series, spec.levers, spec.base_scenario, targets, names, by_day,
                            by.isoformat() if by else "", base.horizon_days, confidence, stops)
        atomic_write(out / LEVERS_CSV, lambda p: table.to_csv(p, index=False))
        written.append(out / LEVERS_CSV)
    if spec.stress is not None:
        variants = shock_variants(spec.stress, exp.file)
        table = stress_table(runs, series, variants, spec.base_scenario, names, base.start, base.horizon_days,
                             spec.stress.recovery_window_days)
        atomic_write(out / STRESS_CSV, lambda p: table.to_csv(p, index=False))
        written.append(out / STRESS_CSV)
    return written
