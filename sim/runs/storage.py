"""Each run stored on its own, so that an experiment resumes where it stopped.

A finished run is the directory `runs/<safe id>/` (run.json: spec hash, seed, status, error, wall time, KPIs,
the size and SHA-256 of each table file; one Parquet file per table, identifying columns first), written under
a temporary name and renamed into place, so the final name only ever shows a complete run to a reader while
the machine stays up (a killed runner included: the rename is atomic and the files' bytes are in the page cache).

The files are not fsynced (seven fsyncs per run cost more than a small run itself): after a power cut or an
OS crash a run directory may be missing (the run is redone) or may hold files whose bytes never reached the
disk. A run is therefore reused only when its run.json parses, its spec hash matches, it succeeded, and every
table file it lists has the size and SHA-256 recorded in run.json (`stored_ok`); any other run is redone. A
run.json written before the checksums existed (its files were fsynced) is reused when its files exist. The
combined tables and the manifest are written with `atomic_write` (fsynced). The results folder is locked while
a runner writes in it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import sys
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.errors import short_repr
from sim.results.tables import RUN_TABLES
from sim.runs.atomic import TMP_PREFIX
from sim.runs.executors import Attempt
from sim.runs.manifest import now_iso, run_seed
from sim.spec import RunResult, RunSpec

if TYPE_CHECKING:
    import pyarrow as pa

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
    spec's hash and whose status is "ok" (failed runs are retried), and every table file it lists has
    the size and SHA-256 recorded in run.json (files are not fsynced: after a power cut they may not
    hold what was written; see the module docstring). Directories only ever appear complete (they are
    renamed into place), so this is enough.
    """
    meta = _read_meta(run_dir)
    if meta is None or meta.get("spec_hash") != digest or meta.get("status") != "ok":
        return None
    files = meta.get("files")
    for name in meta.get("tables", []):
        path = run_dir / f"{name}.parquet"
        if files is None:  # written before checksums, with every file fsynced
            if not path.is_file():
                return None
        elif not _file_matches(path, files.get(name)):
            return None
    return meta


def _file_matches(path: Path, recorded: Any) -> bool:
    """`path` holds exactly the bytes `recorded` ({"bytes": size, "sha256": hex digest}) describes."""
    if not isinstance(recorded, dict):
        return False
    try:
        if path.stat().st_size != recorded.get("bytes"):
            return False
        data = path.read_bytes()
    except OSError:
        return False
    return hashlib.sha256(data).hexdigest() == recorded.get("sha256")


def _id_frame(spec: RunSpec, rows: int) -> pd.DataFrame:
    """The identifying columns run_id, scenario, replication of `rows` rows of a run."""
    return pd.DataFrame(
        {
            "run_id": pd.Series([spec.run_id] * rows, dtype="str"),
            "scenario": pd.Series([spec.scenario_name] * rows, dtype="str"),
            "replication": pd.Series([spec.replication] * rows, dtype="int64"),
        }
    )


def with_ids(frame: pd.DataFrame, spec: RunSpec) -> pd.DataFrame:
    """`frame` with the identifying columns run_id, scenario, replication first, index dropped."""
    frame = frame.reset_index(drop=True)
    frame = frame.drop(columns=[c for c in ID_COLUMNS if c in frame.columns])
    return pd.concat([_id_frame(spec, len(frame)), frame], axis=1)


def table_with_ids(frame: pd.DataFrame, spec: RunSpec) -> pa.Table:
    """`pa.Table.from_pandas(with_ids(frame, spec), preserve_index=False)`, schema metadata included.

    The tables of a run are small and many: pyarrow's own conversion spends most of its time on per-column
    Python bookkeeping (and `with_ids` on pandas). For a frame of plain columns (numbers, datetimes, str) the
    schema depends only on the column names and dtypes, so it is made once (from an empty slice) and the
    columns are converted one by one as pyarrow does (`pa.array(column, from_pandas=True)`).
    """
    import pyarrow as pa

    columns = list(frame.items())  # one Series per column, taken once
    names, dtypes = tuple(name for name, _ in columns), tuple(column.dtype for _, column in columns)
    if not _plain(names, dtypes) or frame.attrs:
        return pa.Table.from_pandas(with_ids(frame, spec), preserve_index=False)
    schema = _schema_with_ids(names, dtypes)
    rows = len(frame)
    values = (spec.run_id, spec.scenario_name, spec.replication)
    arrays = [pa.repeat(pa.scalar(value, type=schema.field(i).type), rows) for i, value in enumerate(values)]
    # what pa.array(column, from_pandas=True) does with a Series: its NumPy values (NaN as null) or its
    # extension array's Arrow data
    arrays += [pa.array(column.to_numpy() if isinstance(column.dtype, np.dtype) else column.array, from_pandas=True)
               for _, column in columns]
    if any(array.type != field.type for array, field in zip(arrays, schema, strict=True)):
        return pa.Table.from_pandas(with_ids(frame, spec), preserve_index=False)
    return pa.Table.from_arrays(arrays, schema=schema)


def _plain(names: tuple[Any, ...], dtypes: tuple[Any, ...]) -> bool:
    """Unique string column names, no id column, every dtype a number, a naive datetime or str."""
    return (all(isinstance(n, str) for n in names) and len(set(names)) == len(names)
            and not set(ID_COLUMNS) & set(names)
            and all(isinstance(d, pd.StringDtype) or (isinstance(d, np.dtype) and d.kind in "biufM") for d in dtypes))


@functools.lru_cache(maxsize=64)
def _schema_with_ids(names: tuple[str, ...], dtypes: tuple[Any, ...]) -> pa.Schema:
    """The schema, pandas metadata included, of `with_ids` of a frame of these plain columns."""
    import pyarrow as pa

    empty = pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in zip(names, dtypes, strict=True)})
    sample = RunSpec(run_id="r", scenario_name="s", point={}, replication=0, root_seed=0, scenario={})
    return pa.Table.from_pandas(with_ids(empty, sample), preserve_index=False).schema


def parquet_bytes(table: pa.Table) -> bytes:
    """`table` as a Parquet file (pyarrow's defaults, as `DataFrame.to_parquet` writes them)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue().to_pybytes()


def store_run(runs_dir: Path, spec: RunSpec, digest: str, attempt: Attempt) -> dict[str, Any]:
    """Write one run's directory and return its metadata.

    The files go into `runs/.tmp-<id>-…/`, which is renamed onto `runs/<id>/`. An older directory of
    the same run (a failure being retried, a stale spec) is first renamed out of the way to a temporary
    name, so the final name only ever shows a complete run. Nothing is fsynced: run.json records each
    table file's size and SHA-256, which `stored_ok` checks before reusing the run.
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
        "files": {},
    }
    final = runs_dir / safe_id(spec.run_id)
    tmp = runs_dir / f"{TMP_PREFIX}{final.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        if result is not None:
            meta["kpis"] = {str(k): float(v) for k, v in result.kpis.items()}
            for name in RUN_TABLES:
                data = parquet_bytes(table_with_ids(getattr(result, name), spec))
                (tmp / f"{name}.parquet").write_bytes(data)
                meta["tables"].append(name)
                meta["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        text = json.dumps(meta, indent=2, allow_nan=True, ensure_ascii=False) + "\n"
        (tmp / RUN_META).write_text(text, encoding="utf-8")
        if final.exists():
            old = runs_dir / f"{TMP_PREFIX}old-{final.name}.{uuid.uuid4().hex[:8]}"
            os.replace(final, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
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
def _take_over(fh: Any, path: Path) -> None:
    """Write this runner's pid into the lock it now holds. A pid already there is a runner that left without
    removing its lock (killed: SIGKILL, power loss); the kernel released its flock, so the lock is taken over,
    and said so in one line (the runs it finished are reused, the half-written ones were never renamed in)."""
    fh.seek(0)
    previous = fh.read().strip()
    if previous:
        who = previous if previous.isdigit() else short_repr(previous)
        print(f"note: {path}: a stale lock left by process {who}, which no longer holds it "
              "(killed?): taken over; its finished runs are reused", file=sys.stderr, flush=True)
    fh.seek(0)
    fh.truncate()
    fh.write(f"{os.getpid()}\n")
    fh.flush()



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
    _take_over(fh, path)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()
