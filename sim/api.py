"""The Python API, for notebooks and scripts: load an experiment, change it, run it, get DataFrames.

    import sim
    exp = sim.load("experiments/ci_regression.yaml", {"horizon_days": 30})
    results = sim.run(exp, replications=4, executor="processes", workers=2)
    results.runs, results.daily, results.summary

Nothing is written unless `out=` is given (then the folder is exactly what `resilience run --no-report`
writes, and `sim.report.charts` / `sim.report` can draw from it). The tables follow the contract of
`sim/results/tables.py` (docs/results.md); the numbers are those of the command line for the same seed.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import ValidationError

from sim.config import format_validation_error, read_yaml
from sim.errors import ConfigError
from sim.results.tables import RUN_TABLES
from sim.studies import Experiment, ExperimentSpec, load_experiment

Executor = Literal["sequential", "processes", "dask"]
Overrides = Mapping[str, Any] | list[str] | None


@dataclass
class Results:
    """The tables of one experiment as pandas DataFrames (columns: docs/results.md)."""

    runs: pd.DataFrame
    daily: pd.DataFrame
    series: pd.DataFrame
    cohorts: pd.DataFrame
    bottlenecks: pd.DataFrame
    summary: pd.DataFrame
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(run id, "ExceptionType: message") of every run that raised."""
    out_dir: Path | None = None
    """The results folder, when the run was written to one."""

    def kpi(self, name: str, scenario: str | None = None) -> pd.Series:
        """One KPI of the ok runs, indexed by run id (optionally of one scenario)."""
        ok = self.runs[self.runs["status"] == "ok"]
        if scenario is not None:
            ok = ok[ok["scenario"] == scenario]
        return ok.set_index("run_id")[name]


def _overrides(overrides: Overrides) -> dict[str, Any] | list[str]:
    if overrides is None:
        return []
    return list(overrides) if isinstance(overrides, list) else dict(overrides)


def load(source: str | Path | Mapping[str, Any], overrides: Overrides = None, *, seed: int | None = None,
         base_dir: str | Path = ".") -> Experiment:
    """An experiment from a YAML file, or from a dict (a scenario, or an experiment whose `base` is a file
    relative to `base_dir`), with `overrides` ({"dotted.path": value} or ["path=value", ...]) applied to
    the base scenario, as `--set` does. Bad input raises sim.errors.ConfigError with one line per problem."""
    changes = _overrides(overrides)
    if not isinstance(source, Mapping):
        if isinstance(changes, list):
            return load_experiment(source, changes, seed)
        exp = load_experiment(source, [], seed)  # the file's own checks and messages, then the overrides
        return Experiment(exp.spec, exp.file, read_yaml(Path(exp.base_file)), exp.base_file, changes)  # type: ignore[arg-type]
    data = dict(source)
    if "base" in data:
        try:
            spec = ExperimentSpec.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, "<dict>", data)) from None
        base_path = Path(base_dir) / spec.base
        base_data, base_file = read_yaml(base_path), str(base_path)
    else:
        spec = ExperimentSpec(name=str(data.get("name", "notebook")), base="<dict>")
        base_data, base_file = copy.deepcopy(data), "<dict>"
    if seed is not None:
        spec = spec.model_copy(update={"seed": seed})
    return Experiment(spec, "<dict>", base_data, base_file, changes)  # type: ignore[arg-type]


def _workers(executor: Executor, workers: int | None) -> tuple[int | None, str | None]:
    if executor == "sequential":
        return 1, None
    if executor == "processes":
        return (workers or 2), None
    if executor == "dask":
        return workers, "local"
    raise ValueError(f"executor {executor!r}: one of 'sequential', 'processes', 'dask'")


def run(experiment: Experiment | str | Path | Mapping[str, Any], *, replications: int | None = None,
        executor: Executor = "sequential", workers: int | None = None, scheduler: str | None = None,
        out: str | Path | None = None) -> Results:
    """Run every scenario × point × replication of `experiment` and return its tables and summary.

    executor: 'sequential' (this process), 'processes' (a process pool of `workers`), or 'dask' (a
    Dask LocalCluster of `workers`, or the cluster at `scheduler`). Results never depend on the executor.
    out: a folder to write the results into (resumable, as with the command line); None writes nothing.
    """
    from sim.results.analysis import summarise

    exp = experiment if isinstance(experiment, Experiment) else load(experiment)
    specs = exp.run_specs(replications)
    n, address = _workers(executor, workers)
    address = scheduler or address
    if out is None:
        from sim.runs.driver import simulate_in_memory

        tables, failed = simulate_in_memory(specs, workers=n, scheduler=address)
        out_dir = None
    else:
        from sim.results.analysis import write_summary
        from sim.runs.driver import run_specs
        from sim.studies import manifest_extra

        out_dir = Path(out)
        outcome = run_specs(specs, out_dir, workers=n, scheduler=address, progress=False,
                            manifest_extra=manifest_extra(exp, "sim.api.run"))
        write_summary(out_dir, exp)
        tables = {name: pd.read_parquet(out_dir / f"{name}.parquet") for name in ("runs", *RUN_TABLES)}
        failed = list(outcome.failed)
    targets = {k: t.model_dump(mode="json") for k, t in exp.base.targets.items()}
    summary = summarise(tables["runs"], exp.spec.kpis, exp.spec.base_scenario if len(exp.resolved) > 1 else None,
                        targets)
    return Results(summary=summary, failed=failed, out_dir=out_dir, **tables)
