"""Run many RunSpecs on an executor and write their results, resumably and atomically.

`run_specs(specs, out_dir)` is the one entry point. It

1. skips every run already finished in `out_dir` (same spec hash, status ok) and reruns the others;
2. submits the remaining runs to an executor: in-process (`workers=1`), a process pool (`workers=N`,
   the default being one worker per CPU), a Dask `LocalCluster` (`scheduler="local"`) or an existing Dask
   cluster (`scheduler="tcp://host:port"`);
3. writes each finished run at once, as a directory `runs/<safe id>/` renamed into place when complete;
4. at the end concatenates the per-run files, in the order of `specs`, into `runs.parquet`,
   `daily.parquet`, `series.parquet`, `cohorts.parquet` and `bottlenecks.parquet`.

Results never depend on the executor or the number of workers: each run's randomness comes only from its
spec, and the combined tables are always assembled from the per-run files on disk in spec order, so a
resumed experiment writes the same bytes as an uninterrupted one.

Layout of `out_dir`::

    manifest.json                  provenance and per-run status, rewritten atomically as runs finish
    runs.parquet ... bottlenecks.parquet   combined tables (written once all runs were attempted)
    runs/<safe id>/run.json        spec hash, seed, status, error, wall time and KPIs of one run
    runs/<safe id>/daily.parquet   the run's tables, identifying columns first (ok runs only)
    runs/<safe id>/series.parquet, cohorts.parquet, bottlenecks.parquet
    .tmp-*, runs/.tmp-*            temporaries: never read, removed at the next start
    .lock                          held while a runner works in the directory

`<safe id>` is the run id with "/" replaced by "__" (e.g. `base/p0/r003` -> `base__p0__r003`).

`python -m sim.runs SPECS.pkl OUT_DIR --simulate module:function` runs a pickled list of specs (used by
the tests to run an experiment in a subprocess that can be interrupted or killed).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import pickle
import signal
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.runs.atomic import clean_temporaries
from sim.runs.combined import combined_tables, write_combined
from sim.runs.executors import Attempt, Executor, SimulateFn, check_scheduler
from sim.runs.manifest import MANIFEST, RunManifest, now_iso, run_seed, spec_hash
from sim.runs.storage import invalid_result, locked, safe_id, store_attempt, stored_ok, with_ids
from sim.spec import RunResult, RunSpec


@dataclass
class RunOutcome:
    """What `run_specs` did.

    `failed` lists `(run_id, "ExceptionType: message")` for every run that raised; `skipped` the runs
    reused from an earlier invocation; `completed` the runs simulated successfully this time.
    """

    out_dir: Path
    run_ids: list[str]
    completed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    interrupted: bool = False
    executor: str = ""
    tables: dict[str, Path] = field(default_factory=dict)
    manifest: Path | None = None

    @property
    def ok(self) -> bool:
        """True when every run finished without error and nothing was interrupted."""
        return not self.failed and not self.interrupted


class RunInterrupted(KeyboardInterrupt):
    """Raised by `run_specs` after a clean stop on Ctrl-C / SIGINT; `.outcome` tells what is done."""

    def __init__(self, outcome: RunOutcome) -> None:
        super().__init__("interrupted")
        self.outcome = outcome


def _show_progress(progress: bool | None) -> bool:
    """Progress bar on a terminal unless CI is set; `progress` True/False forces it on/off."""
    if progress is not None:
        return progress
    return sys.stderr.isatty() and not os.environ.get("CI")


# ------------------------------------------------------------------------------------------- driver
def run_specs(
    specs: Iterable[RunSpec],
    out_dir: Path | str,
    *,
    simulate: SimulateFn | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool | None = None,
    manifest_extra: dict[str, Any] | None = None,
) -> RunOutcome:
    """Run `specs` (skipping those already done in `out_dir`) and write the combined result tables.

    Args:
        specs: the runs, in the order their rows appear in every combined table. Run ids must be unique.
        out_dir: the results directory (created if needed); see the module docstring for its layout.
        simulate: a module-level function RunSpec -> RunResult (picklable by reference); defaults to
            `sim.model.simulate`.
        workers: 1 runs in this process; N > 1 uses a process pool of N (default: one per CPU); with a
            scheduler, the number of LocalCluster workers (default 2).
        scheduler: None for the local executors above, "local" to start a Dask LocalCluster for this
            call, or the address of a running Dask scheduler ("tcp://host:8786").
        progress: force the tqdm bar on (True) or off (False); by default on only on a terminal
            without the CI environment variable.
        manifest_extra: merged into manifest.json; the keys `experiment`, `config_hash` and `config`
            (resolved configuration) are the expected ones.

    Returns:
        A RunOutcome; `outcome.failed` names every run that raised (the others still ran).

    Raises:
        RunInterrupted: (a KeyboardInterrupt) on Ctrl-C, after cancelling pending runs, stopping the
            workers and writing the manifest; finished runs are kept and reused by the next call.
        ValueError: duplicate run ids.
    """
    specs = list(specs)
    out_dir = Path(out_dir)
    ids = [s.run_id for s in specs]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"duplicate run ids: {dupes[:5]}")
    safe = [safe_id(i) for i in ids]
    if len(set(safe)) != len(safe):
        raise ValueError("run ids collide once '/' is replaced by '__' in file names")
    if simulate is None:
        from sim.model import simulate as model_simulate

        simulate = model_simulate

    chosen = Executor.choose(workers, scheduler)
    check_scheduler(scheduler)  # before anything is written: an unreachable scheduler leaves no folder behind
    out_dir.mkdir(parents=True, exist_ok=True)
    runs_dir = out_dir / "runs"
    runs_dir.mkdir(exist_ok=True)

    with locked(out_dir):
        clean_temporaries(out_dir, runs_dir, out_dir / "charts")
        digests = {s.run_id: spec_hash(s) for s in specs}
        metas: dict[str, dict[str, Any]] = {}
        pending: list[RunSpec] = []
        for spec in specs:
            meta = stored_ok(runs_dir / safe_id(spec.run_id), digests[spec.run_id])
            if meta is None:
                pending.append(spec)
            else:
                metas[spec.run_id] = meta

        chosen = chosen.sized_for(len(pending))
        executor = chosen.describe()
        outcome = RunOutcome(out_dir=out_dir, run_ids=ids, executor=executor, skipped=list(metas))
        manifest = RunManifest(out_dir / MANIFEST, specs, executor, dict(manifest_extra or {}), out_dir)
        for meta in metas.values():
            manifest.record(meta, resumed=True)
        manifest.write(force=True)
        outcome.manifest = manifest.path

        from tqdm.auto import tqdm

        bar = tqdm(
            total=len(specs),
            initial=len(metas),
            unit="run",
            desc=out_dir.name,
            disable=not _show_progress(progress),
            dynamic_ncols=True,
            file=sys.stderr,
        )
        attempts: Iterator[tuple[RunSpec, Attempt]] = iter(())
        try:
            attempts = chosen.attempts(simulate, pending)
            for spec, attempt in attempts:
                meta = store_attempt(runs_dir, spec, digests[spec.run_id], attempt)
                metas[spec.run_id] = meta
                manifest.record(meta)
                if meta["status"] == "ok":
                    outcome.completed.append(spec.run_id)
                else:
                    outcome.failed.append((spec.run_id, meta["error"]))
                    bar.set_postfix(failed=len(outcome.failed), refresh=False)
                bar.update(1)
                manifest.write(force=meta["status"] != "ok")
            bar.close()

            order = {spec.run_id: i for i, spec in enumerate(specs)}
            outcome.failed.sort(key=lambda item: order[item[0]])
            outcome.completed.sort(key=order.__getitem__)
            outcome.tables.update(write_combined(specs, metas, out_dir))
        except KeyboardInterrupt:
            close = getattr(attempts, "close", None)
            if close is not None:  # runs the executor's cleanup: cancel, stop workers
                with contextlib.suppress(BaseException):
                    close()
            bar.close()
            outcome.interrupted = True
            manifest.data.update(status="interrupted", finished_at=now_iso())
            manifest.write(force=True)
            raise RunInterrupted(outcome) from None
        finally:
            bar.close()

        manifest.data.update(
            status="complete" if not outcome.failed else "complete_with_failures", finished_at=now_iso()
        )
        manifest.write(force=True)
    return outcome


# --------------------------------------------------------------------------------------- in memory
def simulate_in_memory(
    specs: list[RunSpec],
    *,
    simulate: SimulateFn | None = None,
    workers: int | None = 1,
    scheduler: str | None = None,
) -> tuple[dict[str, pd.DataFrame], list[tuple[str, str]]]:
    """Run `specs` on the chosen executor and return the combined tables and the failures, writing nothing.

    The same executors, per-run failure handling and table assembly as `run_specs` (so the tables equal
    the files `run_specs` writes, row for row), for notebooks and the Python API (`sim.api`).
    """
    if simulate is None:
        from sim.model import simulate
    attempts = Executor.choose(workers, scheduler).sized_for(len(specs)).attempts(simulate, specs)
    results: dict[str, RunResult] = {}
    metas: dict[str, dict[str, Any]] = {}
    failed: list[tuple[str, str]] = []
    for spec, attempt in attempts:
        error = attempt.error or (invalid_result(spec, attempt.result) if attempt.result is not None else None)
        metas[spec.run_id] = {"seed": run_seed(spec), "status": "failed" if error else "ok", "error": error,
                              "wall_seconds": attempt.wall_seconds,
                              "kpis": {} if error else {str(k): float(v) for k, v in attempt.result.kpis.items()}}
        if error:
            failed.append((spec.run_id, error))
        else:
            results[spec.run_id] = attempt.result

    def in_memory(name: str, spec: RunSpec) -> pd.DataFrame | None:
        result = results.get(spec.run_id)
        return None if result is None else with_ids(getattr(result, name), spec)

    return combined_tables(specs, metas, in_memory), sorted(failed, key=lambda f: [s.run_id for s in specs].index(f[0]))


def _load_callable(path: str) -> SimulateFn:
    """`module:function` -> the function."""
    module, _, name = path.partition(":")
    if not module or not name:
        raise ValueError(f"expected module:function, got {path!r}")
    return getattr(importlib.import_module(module), name)


def main(argv: list[str] | None = None) -> int:
    """`python -m sim.runs SPECS.pkl OUT_DIR [--simulate mod:fn] [--workers N] [--scheduler S]`.

    Exit status: 0 all runs ok, 1 some runs failed (named on stderr), 130 interrupted (one line).
    """
    parser = argparse.ArgumentParser(prog="python -m sim.runs", description=main.__doc__)
    parser.add_argument("specs", type=Path, help="pickle file holding a list of RunSpec")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--simulate", default="sim.model:simulate", help="module:function")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--scheduler", default=None)
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    args = parser.parse_args(argv)

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    with open(args.specs, "rb") as fh:
        specs = pickle.load(fh)
    try:
        outcome = run_specs(
            specs,
            args.out_dir,
            simulate=_load_callable(args.simulate),
            workers=args.workers,
            scheduler=args.scheduler,
            progress=args.progress,
        )
    except KeyboardInterrupt as exc:
        done = len(exc.outcome.completed) + len(exc.outcome.skipped) if isinstance(exc, RunInterrupted) else "?"
        print(f"interrupted: {done} of {len(specs)} runs done; run again to resume", file=sys.stderr)
        return 130
    for run_id, error in outcome.failed:
        print(f"run {run_id} failed: {error}", file=sys.stderr)
    return 0 if outcome.ok else 1


