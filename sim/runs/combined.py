"""The combined tables of an experiment: `runs` (one row per spec: ids, seed, status, sweep point, KPIs) and each
per-run table concatenated over the runs, always in spec order, so that the tables never depend on the executor,
the number of workers or an interruption."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from sim.results.tables import RUN_TABLES, validate
from sim.runs.atomic import atomic_write
from sim.runs.storage import ID_COLUMNS, safe_id
from sim.spec import RunSpec

RUNS_ID_COLUMNS = (*ID_COLUMNS, "seed", "status", "error", "wall_seconds")


def assemble_runs(specs: list[RunSpec], metas: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """runs.parquet: one row per spec in spec order (ids, seed, status, param.*, KPIs as float64)."""
    param_keys: dict[str, None] = {}
    kpi_keys: dict[str, None] = {}
    for spec in specs:
        param_keys.update(dict.fromkeys(spec.point))
        kpi_keys.update(dict.fromkeys(metas[spec.run_id].get("kpis", {})))
    columns: dict[str, list[Any]] = {c: [] for c in RUNS_ID_COLUMNS}
    params: dict[str, list[Any]] = {k: [] for k in param_keys}
    kpis: dict[str, list[float]] = {k: [] for k in kpi_keys}
    for spec in specs:
        meta = metas[spec.run_id]
        columns["run_id"].append(spec.run_id)
        columns["scenario"].append(spec.scenario_name)
        columns["replication"].append(spec.replication)
        columns["seed"].append(meta["seed"])
        columns["status"].append(meta["status"])
        columns["error"].append(meta.get("error"))
        columns["wall_seconds"].append(meta.get("wall_seconds", math.nan))
        for key in param_keys:
            params[key].append(spec.point.get(key))
        values = meta.get("kpis", {})
        for key in kpi_keys:
            value = values.get(key)
            kpis[key].append(math.nan if value is None else float(value))
    data: dict[str, pd.Series] = {
        "run_id": pd.Series(columns["run_id"], dtype="str"),
        "scenario": pd.Series(columns["scenario"], dtype="str"),
        "replication": pd.Series(columns["replication"], dtype="int64"),
        "seed": pd.Series(columns["seed"], dtype="int64"),
        "status": pd.Series(columns["status"], dtype="str"),
        "error": pd.Series(columns["error"], dtype="str"),
        "wall_seconds": pd.Series(columns["wall_seconds"], dtype="float64"),
    }
    for key, values in params.items():
        data[f"param.{key}"] = pd.Series(values)
    for key, values in kpis.items():
        data[key] = pd.Series(values, dtype="float64")
    return pd.DataFrame(data)


def combine(name: str, frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One table from the per-run frames (identifying columns first) of the ok runs, in spec order, validated
    against the contract; with no rows at all, the first (empty) frame, or the id columns alone."""
    non_empty = [f for f in frames if len(f)]
    if non_empty:
        return validate(name, pd.concat(non_empty, ignore_index=True, sort=False))
    if frames:
        return frames[0]
    return pd.DataFrame({
        "run_id": pd.Series([], dtype="str"),
        "scenario": pd.Series([], dtype="str"),
        "replication": pd.Series([], dtype="int64"),
    })


def combined_tables(specs: list[RunSpec], metas: dict[str, dict[str, Any]],
                    frames_of: Any) -> dict[str, pd.DataFrame]:
    """`runs` and every per-run table; `frames_of(name, spec)` gives a run's frame of that table, or None."""
    tables = {"runs": validate("runs", assemble_runs(specs, metas))}
    for name in RUN_TABLES:
        tables[name] = combine(name, [f for s in specs if (f := frames_of(name, s)) is not None])
    return tables


def write_combined(specs: list[RunSpec], metas: dict[str, dict[str, Any]], out_dir: Path) -> dict[str, Path]:
    """Assemble the combined tables from the per-run files of `out_dir/runs`; write each atomically."""
    runs_dir = out_dir / "runs"

    def stored(name: str, spec: RunSpec) -> pd.DataFrame | None:
        if name not in metas[spec.run_id].get("tables", []):
            return None
        return pd.read_parquet(runs_dir / safe_id(spec.run_id) / f"{name}.parquet")

    paths: dict[str, Path] = {}
    for name, frame in combined_tables(specs, metas, stored).items():
        path = out_dir / f"{name}.parquet"
        atomic_write(path, lambda tmp, frame=frame: frame.to_parquet(tmp, index=False))
        paths[name] = path
    return paths
