"""What a results folder records about how it was made: the hash of each run's spec (for resuming), the
package versions and git commit, and `manifest.json`, rewritten atomically as runs finish."""

from __future__ import annotations

import functools
import hashlib
import json
import platform
import subprocess
import sys
import time
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from sim.rng import Streams
from sim.runs.atomic import atomic_write_json, to_json_value
from sim.spec import RunSpec

MANIFEST = "manifest.json"
MANIFEST_INTERVAL_S = 1.0  # rewrite the manifest at most this often while runs finish
VERSIONED_PACKAGES = ("numpy", "scipy", "pandas", "simpy", "pydantic", "pyarrow", "dask", "distributed")


# --------------------------------------------------------------------------------------------- hashing
def canonical_json(value: Any) -> str:
    """Canonical JSON text: sorted keys, no whitespace, dates as ISO strings; stable across processes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=to_json_value, allow_nan=True)


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


def config_hash(config: Any) -> str:
    """The first 16 hex digits of the SHA-256 of a resolved configuration's canonical JSON: what the manifest
    records, and what a regression baseline must match."""
    return hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()[:16]


def run_seed(spec: RunSpec) -> int:
    """The integer that identifies a run's randomness (see `sim.rng.Streams.run_seed`)."""
    return Streams(spec.root_seed, spec.replication).run_seed()


# ---------------------------------------------------------------------------------------- provenance
def package_versions() -> dict[str, str | None]:
    """Versions of Python, the scientific stack and `sim` itself (None for a package not installed)."""
    return dict(_package_versions())


@functools.cache
def _package_versions() -> dict[str, str | None]:
    """Read once per process: each metadata lookup scans every distribution on sys.path (~12 ms for the
    lot, and every call of run_specs wrote them), and the modules this process runs are the ones it
    imported, whatever is installed later."""
    # The package is imported already (this is one of its modules): read it, without an import back up.
    sim = sys.modules[__name__.partition(".")[0]]
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


# ------------------------------------------------------------------------------------ manifest.json
class RunManifest:
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
