"""Provenance and durable writes for the runner: spec hashes, package versions, git commit, atomic files.

Everything the runner puts under a final name goes through `atomic_write_bytes` (or a directory renamed
into place by the runner): the content is written to a temporary name starting with `TMP_PREFIX` in the
same directory, flushed and fsynced, then `os.replace`d onto the final name, and the directory is fsynced.
A reader therefore sees either the old complete file, the new complete file or no file, never a partial
one, even after a SIGKILL or a power cut; leftover temporaries are removed by `clean_temporaries`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from sim.errors import BadInput
from sim.spec import RunSpec

TMP_PREFIX = ".tmp-"
"""Names starting with this prefix are temporaries: never read, removed when a runner starts."""

VERSIONED_PACKAGES = ("numpy", "scipy", "pandas", "simpy", "pydantic", "pyarrow", "dask", "distributed")


# --------------------------------------------------------------------------------------------- hashing
def _json_default(value: Any) -> Any:
    """JSON encoding of the non-JSON values a resolved scenario may hold (dates, numpy scalars, sets)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return value.item()
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy array
        return value.tolist()
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__} in a spec hash: {value!r}")


def canonical_json(value: Any) -> str:
    """Canonical JSON text: sorted keys, no whitespace, dates as ISO strings; stable across processes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default, allow_nan=True)


def spec_hash(spec: RunSpec) -> str:
    """SHA-256 of everything that determines a run's result: ids, seed, replication, point and scenario.

    Two specs with the same hash give the same result (simulate is a pure function of the spec), so a
    stored run whose hash matches the current spec can be reused instead of simulated again. The hash
    does not cover the code version: after changing the model, run into a fresh directory.
    """
    payload = {
        "run_id": spec.run_id,
        "scenario_name": spec.scenario_name,
        "point": spec.point,
        "replication": spec.replication,
        "root_seed": spec.root_seed,
        "trace_lots": spec.trace_lots,
        "scenario": spec.scenario,
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------- provenance
def package_versions() -> dict[str, str | None]:
    """Versions of Python, the scientific stack and `sim` itself (None for a package not installed)."""
    # The package is imported already (this is one of its modules): read it, without an import back up.
    sim = sys.modules[__name__.rpartition(".")[0]]
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    versions["sim"] = getattr(sim, "__version__", None)
    return versions


def git_commit(path: Path | None = None) -> dict[str, Any]:
    """`{"commit": sha or None, "dirty": bool or None}` of the git repository holding `path`.

    `path` defaults to the `sim` package directory. Any failure (no git, not a repository, no commit
    yet) gives None values rather than an error: provenance must never stop an experiment.
    """
    if path is None:
        path = Path(__file__).resolve().parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=path, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout if done.returncode == 0 else None

    head = git("rev-parse", "HEAD")
    if head is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": head.strip(), "dirty": None if status is None else bool(status.strip())}


def now_iso() -> str:
    """The current local time as an ISO-8601 string with UTC offset, to the second."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


# ------------------------------------------------------------------------------------- atomic writes
def fsync_dir(path: Path) -> None:
    """fsync a directory so that a rename inside it survives a crash (no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_path(final: Path) -> Path:
    """A fresh temporary name next to `final` (same directory, so os.replace is atomic)."""
    return final.with_name(f"{TMP_PREFIX}{final.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")


def atomic_write(final: Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp)` to write a temporary file, fsync it and rename it onto `final`."""
    tmp = temp_path(final)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.filename is None or str(exc.filename) == str(tmp):  # name the file the user knows
            raise OSError(exc.errno, exc.strerror or str(exc), str(final)) from None
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(final.parent)


def atomic_write_bytes(final: Path, data: bytes) -> None:
    """Write `data` to `final` atomically."""
    atomic_write(final, lambda tmp: tmp.write_bytes(data))


def json_safe(value: Any) -> Any:
    """`value` with NaN/inf floats replaced by None and non-JSON scalars converted (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    return json_safe(_json_default(value))


def atomic_write_json(final: Path, value: Any, *, strict: bool = True) -> None:
    """Write `value` as indented JSON to `final` atomically.

    With `strict`, NaN and infinities become null so that any JSON reader accepts the file; without it
    they are written as Python's `NaN`/`Infinity` tokens so that floats round-trip exactly.
    """
    payload = json_safe(value) if strict else value
    text = json.dumps(payload, indent=2, allow_nan=not strict, default=_json_default, ensure_ascii=False)
    atomic_write_bytes(final, (text + "\n").encode("utf-8"))


def read_results_json(path: Path, what: str = "a results file") -> Any:
    """JSON read from a results folder; a missing, truncated or corrupted file is a ResultsError."""
    from sim.errors import ResultsError

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{path}: missing: is {Path(path).parent} {what}?") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}): the file is "
                           "corrupted or truncated; run the same 'resilience run' command again to rewrite it")\
            from None
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise ResultsError(f"{path}: cannot be read ({exc.__class__.__name__}): the file is corrupted") from None


def read_results_table(path: Path) -> Any:
    """A Parquet table of a results folder; a truncated or corrupted file is a ResultsError saying how to
    rewrite it (rerunning the same command reuses the finished runs and rewrites the combined tables)."""
    import pandas as pd
    import pyarrow

    from sim.errors import ResultsError

    try:
        return pd.read_parquet(path)
    except FileNotFoundError:
        raise ResultsError(f"{path}: missing: is {Path(path).parent} a folder written by 'resilience run'?") from None
    except (pyarrow.ArrowException, OSError, ValueError) as exc:
        text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        first = text.split(". ")[0].split(": ")[-1]
        raise ResultsError(f"{path}: cannot be read ({first[:120]}): the file is truncated or corrupted; run the "
                           "same 'resilience run' command again to rewrite it from the stored runs") from None


def check_results_folder(out: Path) -> None:
    """Read manifest.json and every combined table's Parquet footer: a truncated or corrupted file is a
    ResultsError at once, before any chart is drawn (cheap: footers only)."""
    import pyarrow
    import pyarrow.parquet as pq

    from sim.errors import ResultsError

    if (out / "manifest.json").exists():
        manifest = read_results_json(out / "manifest.json", "a results directory")
        if not isinstance(manifest, dict):
            raise ResultsError(f"{out / 'manifest.json'}: not a manifest written by 'resilience run' (a JSON object)")
    for name in ("runs", "daily", "series", "cohorts", "bottlenecks"):
        path = out / f"{name}.parquet"
        if not path.exists():
            continue
        try:
            pq.ParquetFile(path).metadata  # noqa: B018 - reading the footer is the check
        except (pyarrow.ArrowException, OSError, ValueError) as exc:
            text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
            first = text.split(". ")[0].split(": ")[-1]
            raise ResultsError(f"{path}: cannot be read ({first[:120]}): the file is truncated or corrupted; run "
                               "the same 'resilience run' command again to rewrite it from the stored runs") from None


def clean_temporaries(*directories: Path) -> int:
    """Remove leftover temporaries (files or directories named `TMP_PREFIX*`); return how many."""
    removed = 0
    for directory in directories:
        if not directory.is_dir():
            continue
        for entry in directory.iterdir():
            if not entry.name.startswith(TMP_PREFIX):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed += 1
    return removed


# --------------------------------------------------------------------------------------- results folder
def check_out_dir(out: Path) -> None:
    """Refuse to write results into a folder of the user's own files: results go into a new or empty
    folder, or into a results folder written before (which is then resumed and updated)."""
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {out}: is a file, not a folder")
    if not out.is_dir():
        return
    entries = [p.name for p in out.iterdir() if p.name != ".lock" and not (p.name == "runs" and _only_runs(p))]
    if not entries:  # empty, or a run killed before it wrote its manifest: resumable
        return
    manifest = out / "manifest.json"
    if not manifest.is_file():
        shown = ", ".join(sorted(entries)[:4]) + (", ..." if len(entries) > 4 else "")
        raise BadInput(f"--out {out}: holds files that are not results of 'resilience run' ({shown}; no "
                       "manifest.json): give a new or empty folder, so that none of them is replaced")
    try:
        import json

        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # ours but damaged (the runner rewrites it)
    if not isinstance(data, dict) or "runs" not in data:
        raise BadInput(f"--out {out}: its manifest.json was not written by 'resilience run': give a new or empty "
                       "folder")


def _only_runs(runs: Path) -> bool:
    """A `runs/` folder holding nothing but stored runs (each with its run.json) and our temporaries."""
    return runs.is_dir() and all(p.name.startswith(TMP_PREFIX) or (p / "run.json").is_file() for p in runs.iterdir())
