"""Each run stored on its own, durably, so that an experiment resumes where it stopped.

A finished run is the directory `runs/<safe id>/` (run.json: spec hash, seed, status, error, wall time, KPIs;
one Parquet file per table, identifying columns first), written under a temporary name and renamed into place,
so the final name only ever shows a complete run. A run is reused when its spec hash matches and it succeeded.
The results folder is locked while a runner writes in it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from sim.results.tables import RUN_TABLES
from sim.runs.atomic import TMP_PREFIX, fsync_dir
from sim.runs.executors import Attempt
from sim.runs.manifest import now_iso, run_seed
from sim.spec import RunResult, RunSpec

ID_COLUMNS = ("run_id", "scenario", "replication")
RUN_META = "run.json"


def safe_id(run_id: str) -> str:
    """The file-system name of a run: `/` becomes `__`, other path-hostile characters `_`."""
    name = run_id.replace("/", "__").replace("\\", "_").replace("\0", "_")
    if name in {"", ".", ".."} or name.startswith(TMP_PREFIX):
        name = f"run_{name}"
    return name


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


def with_ids(frame: pd.DataFrame, spec: RunSpec) -> pd.DataFrame:
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


def store_run(runs_dir: Path, spec: RunSpec, digest: str, attempt: Attempt) -> dict[str, Any]:
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
            for name in RUN_TABLES:
                _write_parquet(with_ids(getattr(result, name), spec), tmp / f"{name}.parquet")
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


def store_attempt(runs_dir: Path, spec: RunSpec, digest: str, attempt: Attempt) -> dict[str, Any]:
    """Store an attempt (a result that breaks the contract, or cannot be written, is stored as a failure) and
    return its metadata."""
    if attempt.result is not None and (problem := invalid_result(spec, attempt.result)):
        attempt = Attempt(spec.run_id, None, problem, None, attempt.wall_seconds)
    try:
        return store_run(runs_dir, spec, digest, attempt)
    except Exception as exc:  # a result that cannot be stored (bad KPI value, column type)
        error = f"{type(exc).__name__} while storing the result: {exc}"
        attempt = Attempt(spec.run_id, None, error, traceback.format_exc(), attempt.wall_seconds)
        return store_run(runs_dir, spec, digest, attempt)


def invalid_result(spec: RunSpec, result: RunResult) -> str | None:
    """Why a RunResult cannot be stored for `spec`, or None if it can."""
    if not isinstance(result, RunResult):
        return f"TypeError: simulate returned {type(result).__name__}, not RunResult"
    if result.run_id != spec.run_id:
        return f"ValueError: simulate returned run_id {result.run_id!r} for spec {spec.run_id!r}"
    for name in RUN_TABLES:
        if not isinstance(getattr(result, name), pd.DataFrame):
            return f"TypeError: RunResult.{name} is {type(getattr(result, name)).__name__}, not DataFrame"
    return None


# ----------------------------------------------------------------------------------------- locking
class OutputBusy(RuntimeError):
    """Another runner holds the lock of the results directory."""


@contextlib.contextmanager
def locked(out_dir: Path) -> Iterator[None]:
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
