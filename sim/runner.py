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

`python -m sim.runner SPECS.pkl OUT_DIR --simulate module:function` runs a pickled list of specs (used by
the tests to run an experiment in a subprocess that can be interrupted or killed).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import math
import os
import pickle
import shutil
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.manifest import (
    TMP_PREFIX,
    atomic_write,
    atomic_write_json,
    clean_temporaries,
    fsync_dir,
    git_commit,
    now_iso,
    package_versions,
    spec_hash,
)
from sim.rng import Streams
from sim.spec import RunResult, RunSpec
from sim.tables import RUN_TABLES, validate

SimulateFn = Callable[[RunSpec], RunResult]

TABLES = RUN_TABLES
"""The per-run tables of a RunResult, written as `<name>.parquet` per run and combined (sim/tables.py)."""

ID_COLUMNS = ("run_id", "scenario", "replication")
RUNS_ID_COLUMNS = (*ID_COLUMNS, "seed", "status", "error", "wall_seconds")
RUN_META = "run.json"
MANIFEST = "manifest.json"
MANIFEST_INTERVAL_S = 1.0  # rewrite the manifest at most this often while runs finish


# ------------------------------------------------------------------------------------------ outcome
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


@dataclass
class _Attempt:
    """One attempt at one run, as sent back from a worker (exceptions caught and described there)."""

    run_id: str
    result: RunResult | None
    error: str | None
    traceback: str | None
    wall_seconds: float


def _run_one(simulate: SimulateFn, spec: RunSpec) -> _Attempt:
    """Simulate one spec; an exception becomes an `_Attempt` with the error (so it never kills a pool)."""
    start = time.perf_counter()
    try:
        result = simulate(spec)
    except Exception as exc:  # a failing run is data, not a crash
        return _Attempt(
            spec.run_id,
            None,
            f"{type(exc).__name__}: {exc}",
            traceback.format_exc(),
            time.perf_counter() - start,
        )
    return _Attempt(spec.run_id, result, None, None, time.perf_counter() - start)


def _init_worker(parent_pid: int) -> None:
    """Process-pool worker initializer.

    Ctrl-C is the parent's business (it cancels and shuts the pool down), so workers ignore SIGINT. A
    daemon thread ends the worker if the parent dies without shutting the pool down (SIGKILL, OOM
    killer): an orphaned worker would otherwise wait on its task queue forever.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


# ------------------------------------------------------------------------------------ per-run store
def safe_id(run_id: str) -> str:
    """The file-system name of a run: `/` becomes `__`, other path-hostile characters `_`."""
    name = run_id.replace("/", "__").replace("\\", "_").replace("\0", "_")
    if name in {"", ".", ".."} or name.startswith(TMP_PREFIX):
        name = f"run_{name}"
    return name


def run_seed(spec: RunSpec) -> int:
    """The integer that identifies a run's randomness (see `sim.rng.Streams.run_seed`)."""
    return Streams(spec.root_seed, spec.replication).run_seed()


def _read_meta(run_dir: Path) -> dict[str, Any] | None:
    """The run.json of a stored run, or None if absent or unreadable."""
    try:
        with open(run_dir / RUN_META, encoding="utf-8") as fh:
            meta = json.load(fh)
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def stored_ok(run_dir: Path, digest: str) -> dict[str, Any] | None:
    """The metadata of a finished, reusable run in `run_dir`, else None.

    A run counts as done when its directory holds a run.json whose `spec_hash` equals the current
    spec's hash and whose status is "ok" (failed runs are retried), and every table file it lists is
    present. Directories only ever appear complete (they are renamed into place), so this is enough.
    """
    meta = _read_meta(run_dir)
    if meta is None or meta.get("spec_hash") != digest or meta.get("status") != "ok":
        return None
    if not all((run_dir / f"{name}.parquet").is_file() for name in meta.get("tables", [])):
        return None
    return meta


def _with_ids(frame: pd.DataFrame, spec: RunSpec) -> pd.DataFrame:
    """`frame` with the identifying columns run_id, scenario, replication first, index dropped."""
    frame = frame.reset_index(drop=True)
    frame = frame.drop(columns=[c for c in ID_COLUMNS if c in frame.columns])
    ids = pd.DataFrame(
        {
            "run_id": pd.Series([spec.run_id] * len(frame), dtype="str"),
            "scenario": pd.Series([spec.scenario_name] * len(frame), dtype="str"),
            "replication": pd.Series([spec.replication] * len(frame), dtype="int64"),
        }
    )
    return pd.concat([ids, frame], axis=1)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a table without its index, fsynced (the caller renames it into place)."""
    frame.to_parquet(path, index=False)
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _store_run(runs_dir: Path, spec: RunSpec, digest: str, attempt: _Attempt) -> dict[str, Any]:
    """Write one run's directory atomically and return its metadata.

    The files go into `runs/.tmp-<id>-…/`, which is renamed onto `runs/<id>/`. An older directory of
    the same run (a failure being retried, a stale spec) is first renamed out of the way to a temporary
    name, so the final name only ever shows a complete run.
    """
    result = attempt.result
    meta: dict[str, Any] = {
        "run_id": spec.run_id,
        "scenario": spec.scenario_name,
        "replication": spec.replication,
        "root_seed": spec.root_seed,
        "seed": run_seed(spec),
        "spec_hash": digest,
        "status": "ok" if attempt.error is None else "failed",
        "error": attempt.error,
        "traceback": attempt.traceback,
        "wall_seconds": attempt.wall_seconds,
        "finished_at": now_iso(),
        "kpis": {},
        "tables": [],
    }
    final = runs_dir / safe_id(spec.run_id)
    tmp = runs_dir / f"{TMP_PREFIX}{final.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        if result is not None:
            meta["kpis"] = {str(k): float(v) for k, v in result.kpis.items()}
            for name in TABLES:
                _write_parquet(_with_ids(getattr(result, name), spec), tmp / f"{name}.parquet")
                meta["tables"].append(name)
        text = json.dumps(meta, indent=2, allow_nan=True, ensure_ascii=False) + "\n"
        (tmp / RUN_META).write_text(text, encoding="utf-8")
        with open(tmp / RUN_META, "rb+") as fh:
            os.fsync(fh.fileno())
        fsync_dir(tmp)
        if final.exists():
            old = runs_dir / f"{TMP_PREFIX}old-{final.name}.{uuid.uuid4().hex[:8]}"
            os.replace(final, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(runs_dir)
    return meta


def _invalid_result(spec: RunSpec, result: RunResult) -> str | None:
    """Why a RunResult cannot be stored for `spec`, or None if it can."""
    if not isinstance(result, RunResult):
        return f"TypeError: simulate returned {type(result).__name__}, not RunResult"
    if result.run_id != spec.run_id:
        return f"ValueError: simulate returned run_id {result.run_id!r} for spec {spec.run_id!r}"
    for name in TABLES:
        if not isinstance(getattr(result, name), pd.DataFrame):
            return f"TypeError: RunResult.{name} is {type(getattr(result, name)).__name__}, not DataFrame"
    return None


# ---------------------------------------------------------------------------------------- executors
def _describe_executor(workers: int | None, scheduler: str | None) -> tuple[str, int]:
    """(kind, workers): kind is 'sequential', 'process', 'dask-local' or 'dask'."""
    if scheduler is not None:
        kind = "dask-local" if scheduler == "local" else "dask"
        return kind, int(workers or 2)
    n = int(workers) if workers is not None else (os.cpu_count() or 1)
    if n < 1:
        raise ValueError(f"workers must be >= 1, got {n}")
    return ("sequential" if n == 1 else "process"), n


def _sequential(simulate: SimulateFn, specs: list[RunSpec]) -> Iterator[tuple[RunSpec, _Attempt]]:
    """Run specs one after the other in this process."""
    for spec in specs:
        yield spec, _run_one(simulate, spec)


def _lost(spec: RunSpec, exc: BaseException) -> _Attempt:
    """An attempt whose worker was lost (pool broken, worker killed, result unpicklable)."""
    return _Attempt(spec.run_id, None, f"{type(exc).__name__}: {exc}", None, math.nan)


def _process_pool(simulate: SimulateFn, specs: list[RunSpec], workers: int) -> Iterator[tuple[RunSpec, _Attempt]]:
    """Run specs on a spawn-context process pool, yielding attempts as they complete."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(os.getpid(),)
    )
    clean = False
    try:
        futures = {pool.submit(_run_one, simulate, spec): spec for spec in specs}
        for future in as_completed(futures):
            spec = futures[future]
            try:
                attempt = future.result()
            except Exception as exc:  # BrokenProcessPool, unpicklable result
                attempt = _lost(spec, exc)
            yield spec, attempt
        clean = True
    finally:
        if clean:
            pool.shutdown(wait=True)
        else:  # interrupted (or the consumer stopped): drop queued work, stop running work now
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                with contextlib.suppress(Exception):
                    process.terminate()
            pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT in this process while the block runs (so child processes started in it inherit that)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _dask(
    simulate: SimulateFn, specs: list[RunSpec], scheduler: str, workers: int
) -> Iterator[tuple[RunSpec, _Attempt]]:
    """Run specs on a Dask cluster (a LocalCluster started here for 'local'), yielding as completed."""
    import logging

    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler == "local":
        # Worker processes inherit an ignored SIGINT (dispositions survive exec), so a Ctrl-C on the
        # terminal reaches only this process, which cancels and closes the cluster, instead of every
        # worker printing a KeyboardInterrupt traceback.
        with _sigint_ignored():
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
        client = Client(cluster)
    else:
        client = Client(scheduler)
    futures: dict[Any, RunSpec] = {}
    try:
        token = uuid.uuid4().hex[:8]
        for spec in specs:
            key = f"resilience-run-{safe_id(spec.run_id)}-{token}"
            futures[client.submit(_run_one, simulate, spec, key=key, pure=False)] = spec
        for future in as_completed(list(futures)):
            spec = futures[future]
            try:
                attempt = future.result()
            except Exception as exc:  # KilledWorker, CancelledError, deserialisation errors
                attempt = _lost(spec, exc)
            yield spec, attempt
            future.release()
    finally:
        with contextlib.suppress(Exception):
            client.cancel(list(futures))
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()


# --------------------------------------------------------------------------------------- assembly
def _assemble_runs(specs: list[RunSpec], metas: dict[str, dict[str, Any]]) -> pd.DataFrame:
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


def _assemble_table(name: str, specs: list[RunSpec], runs_dir: Path, metas: dict[str, dict]) -> pd.DataFrame:
    """One combined table: the per-run files of the ok runs, concatenated in spec order."""
    frames = [
        pd.read_parquet(runs_dir / safe_id(spec.run_id) / f"{name}.parquet")
        for spec in specs
        if name in metas[spec.run_id].get("tables", [])
    ]
    non_empty = [f for f in frames if len(f)]
    if non_empty:
        return pd.concat(non_empty, ignore_index=True, sort=False)
    if frames:
        return frames[0]
    return pd.DataFrame(
        {
            "run_id": pd.Series([], dtype="str"),
            "scenario": pd.Series([], dtype="str"),
            "replication": pd.Series([], dtype="int64"),
        }
    )


def _write_table(frame: pd.DataFrame, final: Path) -> None:
    """Write a combined table to `final` atomically."""
    atomic_write(final, lambda tmp: frame.to_parquet(tmp, index=False))


def _write_combined(specs: list[RunSpec], metas: dict[str, dict], out_dir: Path, outcome: RunOutcome) -> None:
    """Assemble runs.parquet and the other combined tables from the per-run files; write each atomically."""
    runs_dir = out_dir / "runs"
    tables = {"runs": _assemble_runs(specs, metas)}
    for name in TABLES:
        tables[name] = _assemble_table(name, specs, runs_dir, metas)
    for name, frame in tables.items():
        if len(frame):  # an id-columns-only frame stands for "no run produced this table"
            validate(name, frame)
        path = out_dir / f"{name}.parquet"
        _write_table(frame, path)
        outcome.tables[name] = path


# ----------------------------------------------------------------------------------------- manifest
class _Manifest:
    """manifest.json, held in memory and rewritten atomically (throttled while runs finish)."""

    def __init__(self, path: Path, specs: list[RunSpec], executor: str, extra: dict[str, Any], out_dir: Path) -> None:
        self.path = path
        self.last_write = 0.0
        root_seeds = sorted({s.root_seed for s in specs})
        self.data: dict[str, Any] = {
            "experiment": out_dir.name,
            "config_hash": None,
            "config": None,
            "root_seed": root_seeds[0] if len(root_seeds) == 1 else root_seeds,
        }
        self.data.update(extra)
        self.data.update(
            {
                "status": "running",
                "started_at": now_iso(),
                "finished_at": None,
                "executor": executor,
                "versions": package_versions(),
                "git": git_commit(),
                "counts": {},
                "runs": {
                    s.run_id: {
                        "run_id": s.run_id,
                        "scenario": s.scenario_name,
                        "replication": s.replication,
                        "point": s.point,
                        "seed": run_seed(s),
                        "status": "pending",
                        "error": None,
                        "wall_seconds": None,
                        "resumed": False,
                    }
                    for s in specs
                },
            }
        )
        self.data["git_commit"] = self.data["git"]["commit"]

    def record(self, meta: dict[str, Any], *, resumed: bool = False) -> None:
        """Set one run's status from its stored metadata."""
        entry = self.data["runs"][meta["run_id"]]
        entry.update(
            status=meta["status"], error=meta.get("error"), wall_seconds=meta.get("wall_seconds"), resumed=resumed
        )

    def write(self, *, force: bool = False) -> None:
        """Rewrite manifest.json now (force) or if the last write is older than MANIFEST_INTERVAL_S."""
        now = time.monotonic()
        if not force and now - self.last_write < MANIFEST_INTERVAL_S:
            return
        counts: dict[str, int] = {}
        for entry in self.data["runs"].values():
            counts[entry["status"]] = counts.get(entry["status"], 0) + 1
        self.data["counts"] = counts
        payload = dict(self.data)
        payload["runs"] = list(self.data["runs"].values())
        atomic_write_json(self.path, payload)
        self.last_write = now


# ----------------------------------------------------------------------------------------- locking
class OutputBusy(RuntimeError):
    """Another runner holds the lock of the results directory."""


@contextlib.contextmanager
def _locked(out_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on `out_dir/.lock` so two runners never write the same directory.

    The lock file is removed when the runner leaves (normally or on an error), while still locked. A
    runner that opened the file just before it was removed may then lock a file no longer in the
    directory: it checks that the file it locked is still the one named `.lock`, and retries if not.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    path = out_dir / ".lock"
    for _ in range(100):
        fh = open(path, "a+")  # noqa: SIM115 - held open for the whole block
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise OutputBusy(f"{out_dir}: another resilience run is writing here (it holds {path}); wait for it "
                             "to finish or give another --out") from None
        try:
            same = os.fstat(fh.fileno()).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        fh.close()
    else:  # pragma: no cover - only under a storm of runners starting and stopping
        raise OutputBusy(f"{out_dir}: could not take the lock {path}")
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


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

    kind, n_workers = _describe_executor(workers, scheduler)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs_dir = out_dir / "runs"
    runs_dir.mkdir(exist_ok=True)

    with _locked(out_dir):
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

        if kind == "process":
            n_workers = max(1, min(n_workers, len(pending)))
        executor = {
            "sequential": "sequential (in-process)",
            "process": f"process pool (spawn, {n_workers} workers)",
            "dask-local": f"dask LocalCluster ({n_workers} workers x 1 thread)",
            "dask": f"dask scheduler {scheduler}",
        }[kind]
        outcome = RunOutcome(out_dir=out_dir, run_ids=ids, executor=executor, skipped=list(metas))
        manifest = _Manifest(out_dir / MANIFEST, specs, executor, dict(manifest_extra or {}), out_dir)
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
        attempts: Iterator[tuple[RunSpec, _Attempt]] = iter(())
        try:
            if pending:
                if kind == "sequential":
                    attempts = _sequential(simulate, pending)
                elif kind == "process":
                    attempts = _process_pool(simulate, pending, n_workers)
                else:
                    attempts = _dask(simulate, pending, scheduler or "local", n_workers)
            for spec, attempt in attempts:
                if attempt.result is not None and (problem := _invalid_result(spec, attempt.result)):
                    attempt = _Attempt(spec.run_id, None, problem, None, attempt.wall_seconds)
                try:
                    meta = _store_run(runs_dir, spec, digests[spec.run_id], attempt)
                except Exception as exc:  # a result that cannot be stored (bad KPI value, column type)
                    error = f"{type(exc).__name__} while storing the result: {exc}"
                    attempt = _Attempt(spec.run_id, None, error, traceback.format_exc(), attempt.wall_seconds)
                    meta = _store_run(runs_dir, spec, digests[spec.run_id], attempt)
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
            _write_combined(specs, metas, out_dir, outcome)
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


# ---------------------------------------------------------------------------------- test entry point
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
    kind, n = _describe_executor(workers, scheduler)
    if kind == "sequential":
        attempts = _sequential(simulate, specs)
    elif kind == "process":
        attempts = _process_pool(simulate, specs, n)
    else:
        attempts = _dask(simulate, specs, scheduler or "local", n)
    results: dict[str, RunResult] = {}
    metas: dict[str, dict[str, Any]] = {}
    failed: list[tuple[str, str]] = []
    for spec, attempt in attempts:
        error = attempt.error or (_invalid_result(spec, attempt.result) if attempt.result is not None else None)
        metas[spec.run_id] = {"seed": run_seed(spec), "status": "failed" if error else "ok", "error": error,
                              "wall_seconds": attempt.wall_seconds,
                              "kpis": {} if error else {str(k): float(v) for k, v in attempt.result.kpis.items()}}
        if error:
            failed.append((spec.run_id, error))
        else:
            results[spec.run_id] = attempt.result
    tables = {"runs": validate("runs", _assemble_runs(specs, metas))}
    for name in TABLES:
        frames = [_with_ids(getattr(results[s.run_id], name), s) for s in specs if s.run_id in results]
        non_empty = [f for f in frames if len(f)]
        tables[name] = validate(name, pd.concat(non_empty, ignore_index=True, sort=False)) if non_empty else (
            frames[0] if frames else pd.DataFrame({c: [] for c in ID_COLUMNS}))
    return tables, sorted(failed, key=lambda f: [s.run_id for s in specs].index(f[0]))


def _load_callable(path: str) -> SimulateFn:
    """`module:function` -> the function."""
    module, _, name = path.partition(":")
    if not module or not name:
        raise ValueError(f"expected module:function, got {path!r}")
    return getattr(importlib.import_module(module), name)


def main(argv: list[str] | None = None) -> int:
    """`python -m sim.runner SPECS.pkl OUT_DIR [--simulate mod:fn] [--workers N] [--scheduler S]`.

    Exit status: 0 all runs ok, 1 some runs failed (named on stderr), 130 interrupted (one line).
    """
    parser = argparse.ArgumentParser(prog="python -m sim.runner", description=main.__doc__)
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


if __name__ == "__main__":
    # Delegate to the imported module so that pickled references say `sim.runner`, not `__main__`.
    from sim import runner as _runner

    raise SystemExit(_runner.main())
