"""Tests of the execution layer (sim.runs): executors agree, runs resume, files are atomic, failures recorded.

The simulate function and the specs come from the `model` fixture alone: the real model
(`tests/slow_model.py` wraps `sim.model.simulate`; `SLOW_ENV` makes each run sleep first, so that a
subprocess can be interrupted midway, without changing any result).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `tests.slow_model` must import here and on every worker
    sys.path.insert(0, str(REPO))

from sim.results.tables import RUN_TABLES as TABLES  # noqa: E402
from sim.runs.atomic import TMP_PREFIX  # noqa: E402
from sim.runs.driver import RunOutcome, run_specs  # noqa: E402
from sim.runs.manifest import run_seed, spec_hash  # noqa: E402
from sim.runs.storage import safe_id  # noqa: E402
from sim.spec import RunResult, RunSpec  # noqa: E402
from tests import slow_model  # noqa: E402

ALL_TABLES = ("runs", *TABLES)
# seconds per run in the kill tests: the six runs left after the third take >= 1.8 s on 2 workers, so that a
# loaded machine delaying this test between its check and its signal cannot let the runner finish first
SLOW_ENV = {"SLOW_MODEL_SLEEP": "0.6"}


@dataclass(frozen=True)
class ModelUnderTest:
    """Where the simulate function and the specs come from (one place to switch to the real model)."""

    simulate: Callable[[RunSpec], RunResult]
    make_specs: Callable[..., list[RunSpec]]  # make_specs(replications, *, failing=False)

    @property
    def simulate_path(self) -> str:
        """`module:function`, for `python -m sim.runs --simulate`."""
        return f"{self.simulate.__module__}:{self.simulate.__qualname__}"

    def specs(self, *, failing: bool = False) -> list[RunSpec]:
        """The specs every test uses (18 ok runs; with `failing`, 3 more that raise)."""
        return self.make_specs(6, failing=failing)


@pytest.fixture(scope="session")
def model() -> ModelUnderTest:
    """The model under test: the real one."""
    return ModelUnderTest(simulate=slow_model.simulate, make_specs=slow_model.make_specs)


@pytest.fixture(scope="session")
def reference(model: ModelUnderTest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted in-process run of the standard specs: the tables every other run must match."""
    out = tmp_path_factory.mktemp("reference")
    outcome = run_specs(model.specs(), out, simulate=model.simulate, workers=1, progress=False)
    assert outcome.ok and not outcome.skipped
    return out


@pytest.fixture(scope="session")
def reference_with_failures(model: ModelUnderTest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same in-process run of the specs with the three failing runs added."""
    out = tmp_path_factory.mktemp("reference_with_failures")
    outcome = run_specs(model.specs(failing=True), out, simulate=model.simulate, workers=1, progress=False)
    assert [run_id for run_id, _ in outcome.failed] == broken_ids(model) and not outcome.skipped
    return out


@pytest.fixture(scope="module")
def on_pool(model: ModelUnderTest, tmp_path_factory: pytest.TempPathFactory) -> tuple[RunOutcome, Path]:
    """The specs with failing runs, once on a process pool of 2 (two Python start-ups): the executors' test
    compares its tables with the in-process run's, the failures' test reads how the failures were recorded."""
    out = tmp_path_factory.mktemp("pool") / "failing"
    return run_specs(model.specs(failing=True), out, simulate=model.simulate, workers=2, progress=False), out


@pytest.fixture
def worker_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for subprocesses and Dask workers: the repo on PYTHONPATH, no progress bars."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.delenv("SLOW_MODEL_SLEEP", raising=False)
    return {**os.environ, "PYTHONPATH": path}


# ------------------------------------------------------------------------------------------ helpers
def broken_ids(model: ModelUnderTest) -> list[str]:
    """The run ids of the failing runs of `model.specs(failing=True)`, in spec order."""
    return [s.run_id for s in model.specs(failing=True) if s.scenario_name == "broken"]


def read_tables(out: Path) -> dict[str, pd.DataFrame]:
    """The combined tables of a results directory."""
    return {name: pd.read_parquet(out / f"{name}.parquet") for name in ALL_TABLES}


def assert_same_results(out: Path, ref: Path) -> None:
    """Same tables as the reference: equal frames; equal bytes (runs.parquet: all but wall_seconds)."""
    got, want = read_tables(out), read_tables(ref)
    for name in ALL_TABLES:
        a, b = got[name], want[name]
        if name == "runs":  # wall time is the one thing that differs between two runs of a spec
            a, b = a.drop(columns="wall_seconds"), b.drop(columns="wall_seconds")
            assert a.to_parquet(index=False) == b.to_parquet(index=False)
        else:
            assert (out / f"{name}.parquet").read_bytes() == (ref / f"{name}.parquet").read_bytes(), name
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)


def final_file_versions(folder: str) -> Iterator[tuple[str, tuple[int, int, int, int]]]:
    """(path, version) of every file under `folder` with a final name (no temporary component, not the lock
    file); a version is (inode, size, mtime, ctime). Files that vanish while listed are left out."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.name.startswith(TMP_PREFIX) or entry.name == ".lock":
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                yield from final_file_versions(entry.path)
            else:
                st = entry.stat(follow_symlinks=False)
                yield entry.path, (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        except FileNotFoundError:
            continue


class Poller(threading.Thread):
    """Reads every version of every final-named file under a directory, until stopped.

    A version is a file's (inode, size, mtime, ctime): a file replaced by a rename or rewritten in place
    is a new version and is read again, an unchanged one is not (re-reading it could only find the bytes
    already read, and made each sweep of the directory ~50 ms long and the poller a busy core). A file
    that vanishes between listing and reading is fine (it was replaced); one that exists but cannot be
    parsed is a half-written file and is recorded in `errors`.
    """

    def __init__(self, out: Path) -> None:
        super().__init__(daemon=True)
        self.out = out
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.reads = 0

    def run(self) -> None:
        read: set[tuple[str, tuple[int, int, int, int]]] = set()
        while not self.stop.is_set():
            for path, version in final_file_versions(str(self.out)):
                if (path, version) in read:
                    continue
                try:
                    if path.endswith(".parquet"):
                        pq.read_table(path)
                    elif path.endswith(".json"):
                        with open(path, encoding="utf-8") as fh:
                            json.load(fh)
                    read.add((path, version))
                    self.reads += 1
                except FileNotFoundError:
                    continue
                except Exception as exc:
                    self.errors.append(f"{path}: {type(exc).__name__}: {exc}")
            time.sleep(0.005)

    def __enter__(self) -> Poller:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.join()


def done_runs(out: Path) -> int:
    """How many run directories are complete (under their final name)."""
    runs = out / "runs"
    if not runs.is_dir():
        return 0
    return sum(1 for d in runs.iterdir() if not d.name.startswith(TMP_PREFIX) and (d / "run.json").exists())


def start_runner(
    model: ModelUnderTest, specs: list[RunSpec], out: Path, env: dict[str, str], workers: int = 2
) -> subprocess.Popen[str]:
    """`python -m sim.runs` on pickled specs, in its own session (so we can clean up its workers)."""
    specs_file = out.parent / f"{out.name}.specs.pkl"
    specs_file.write_bytes(pickle.dumps(specs))
    cmd = [sys.executable, "-m", "sim.runs", str(specs_file), str(out), "--simulate", model.simulate_path]
    cmd += ["--workers", str(workers), "--no-progress"]
    return subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def reap(proc: subprocess.Popen[str], timeout: float = 30) -> tuple[int, str]:
    """Wait for a runner subprocess, then kill what is left of its process group and read its stderr."""
    try:
        proc.wait(timeout=timeout)
    finally:
        # pool workers of a SIGKILLed runner end on their own within ~0.5 s; don't wait for that
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
    return proc.returncode, err


# -------------------------------------------------------------------------------------------- tests
def test_executors_give_identical_tables(
    model: ModelUnderTest,
    reference_with_failures: Path,
    on_pool: tuple[RunOutcome, Path],
    tmp_path: Path,
    worker_env: dict[str, str],
) -> None:
    """workers=1, a process pool of 2, a Dask cluster by address and scheduler="local" write the same tables,
    the rows of failed runs included."""
    from distributed import LocalCluster

    specs = model.specs(failing=True)
    bad = broken_ids(model)

    def assert_all_attempted(outcome: RunOutcome) -> None:
        assert [run_id for run_id, _ in outcome.failed] == bad and not outcome.interrupted
        assert len(outcome.completed) == len(specs) - len(bad)

    pool, pool_out = on_pool
    assert_all_attempted(pool)
    assert pool.executor.startswith("process pool")
    assert_same_results(pool_out, reference_with_failures)

    # Threads, not processes: this cluster is here for the by-address client path (specs and results still
    # cross TCP serialized, `tcp://` protocol); runs in worker processes are the pool's and scheduler="local"'s
    # part, and two more Dask worker processes would cost ~7 s of CPU.
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://", dashboard_address=None,
        silence_logs=40,
    ) as cluster:
        dask = run_specs(
            specs, tmp_path / "dask", simulate=model.simulate, scheduler=cluster.scheduler_address, progress=False
        )
    assert_all_attempted(dask)
    assert dask.executor.startswith("dask scheduler tcp://")
    assert_same_results(tmp_path / "dask", reference_with_failures)

    local = run_specs(specs, tmp_path / "local", simulate=model.simulate, scheduler="local", progress=False)
    assert_all_attempted(local)
    assert local.executor.startswith("dask LocalCluster")
    assert_same_results(tmp_path / "local", reference_with_failures)


def test_layout_manifest_and_ids(model: ModelUnderTest, reference: Path) -> None:
    """Per-run directories, identifying and param columns, seeds and the manifest are as documented."""
    specs = model.specs()
    tables = read_tables(reference)
    runs = tables["runs"]
    assert list(runs["run_id"]) == [s.run_id for s in specs]
    assert list(runs.columns[:7]) == ["run_id", "scenario", "replication", "seed", "status", "error", "wall_seconds"]
    assert list(runs["seed"]) == [run_seed(s) for s in specs]
    assert (runs["status"] == "ok").all() and runs["error"].isna().all()
    for key in {k for s in specs for k in s.point}:
        assert f"param.{key}" in runs.columns
    for name in TABLES:
        assert list(tables[name].columns[:3]) == ["run_id", "scenario", "replication"]
        order = {s.run_id: i for i, s in enumerate(specs)}
        assert tables[name]["run_id"].map(order).is_monotonic_increasing  # spec order, not completion order
    for spec in specs:
        meta = json.loads((reference / "runs" / safe_id(spec.run_id) / "run.json").read_text())
        assert meta["spec_hash"] == spec_hash(spec) and meta["status"] == "ok"
    manifest = json.loads((reference / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["root_seed"] == specs[0].root_seed
    assert {"python", "numpy", "pandas", "pyarrow", "sim"} <= set(manifest["versions"])
    assert "git_commit" in manifest and manifest["executor"].startswith("sequential")
    assert [r["run_id"] for r in manifest["runs"]] == [s.run_id for s in specs]
    assert not [p for p in reference.rglob(f"{TMP_PREFIX}*")]


def test_resume_reuses_matching_runs_only(model: ModelUnderTest, reference: Path, tmp_path: Path) -> None:
    """A second call skips every run whose stored spec hash matches and reruns a changed spec."""
    out = tmp_path / "resume"
    specs = model.specs()
    first = run_specs(specs[:5], out, simulate=model.simulate, workers=1, progress=False)
    assert first.completed == [s.run_id for s in specs[:5]]
    changed = dataclasses.replace(specs[1], scenario={**specs[1].scenario, "lot_size": 77})
    second = run_specs([specs[0], changed, *specs[2:5]], out, simulate=model.simulate, workers=1, progress=False)
    assert second.completed == [changed.run_id] and len(second.skipped) == 4
    third = run_specs(
        specs, out, simulate=model.simulate, workers=1, progress=False, manifest_extra={"experiment": "x"}
    )
    assert set(third.skipped) == {s.run_id for s in specs[:5]} - {changed.run_id}
    assert_same_results(out, reference)
    assert json.loads((out / "manifest.json").read_text())["experiment"] == "x"


def test_files_are_the_bytes_pandas_writes(model: ModelUnderTest, reference: Path, tmp_path: Path) -> None:
    """The run files (written with pyarrow from the run's frames) and the combined tables (per-run files
    concatenated with pyarrow) are the files pandas writes: `with_ids(frame).to_parquet()`, and the per-run
    files read, concatenated and written by pandas; files whose schemas differ are left to pandas."""
    from sim.runs.combined import concat_stored
    from sim.runs.storage import with_ids

    specs = model.specs()
    spec = specs[0]
    result = model.simulate(spec)
    for name in TABLES:
        path = reference / "runs" / safe_id(spec.run_id) / f"{name}.parquet"
        assert path.read_bytes() == with_ids(getattr(result, name), spec).to_parquet(index=False), name
        files = [reference / "runs" / safe_id(s.run_id) / f"{name}.parquet" for s in specs]
        frames = [frame for frame in map(pd.read_parquet, files) if len(frame)]
        by_pandas = pd.concat(frames, ignore_index=True, sort=False).to_parquet(index=False)
        assert (reference / f"{name}.parquet").read_bytes() == by_pandas, name
    other = tmp_path / "other.parquet"
    with_ids(result.series.assign(value=result.series["value"].astype("float32")), spec).to_parquet(other)
    assert concat_stored("series", [reference / "runs" / safe_id(spec.run_id) / "series.parquet", other]) is None


def test_resume_redoes_a_run_whose_files_lost_their_bytes(
    model: ModelUnderTest, reference: Path, tmp_path: Path
) -> None:
    """Run files are not fsynced: after a power cut a renamed run directory may hold a truncated or zeroed file.
    Resume checks each file against the size and SHA-256 in run.json and redoes such a run only; a run.json
    from before the checksums (fsynced files) is reused as long as its files exist."""
    out = tmp_path / "powercut"
    specs = model.specs()
    shutil.copytree(reference, out)  # a finished folder of these specs (the bytes a run of them writes)
    truncated, zeroed, legacy = (out / "runs" / safe_id(s.run_id) for s in specs[:3])
    data = (truncated / "series.parquet").read_bytes()
    (truncated / "series.parquet").write_bytes(data[: len(data) // 2])
    size = (zeroed / "daily.parquet").stat().st_size
    (zeroed / "daily.parquet").write_bytes(b"\0" * size)  # right size, bytes never written
    meta = json.loads((legacy / "run.json").read_text())
    del meta["files"]
    (legacy / "run.json").write_text(json.dumps(meta))
    again = run_specs(specs, out, simulate=model.simulate, workers=1, progress=False)
    assert again.completed == [specs[0].run_id, specs[1].run_id]
    assert len(again.skipped) == len(specs) - 2
    assert_same_results(out, reference)


def test_failing_run_is_recorded_and_others_continue(
    model: ModelUnderTest, reference: Path, on_pool: tuple[RunOutcome, Path], tmp_path: Path
) -> None:
    """A run that raises (in a pool worker) is recorded with its error and seed; the others finish; resume
    retries it."""
    specs = model.specs(failing=True)
    bad = [s for s in specs if s.scenario_name == "broken"]
    assert bad
    outcome, pool_out = on_pool
    out = tmp_path / "failing"
    shutil.copytree(pool_out, out)  # the resume below rewrites the folder the executors' test also reads
    assert not outcome.ok
    assert [run_id for run_id, _ in outcome.failed] == [s.run_id for s in bad]
    assert all(error.startswith("ValidationError: ") and "lot_size" in error for _, error in outcome.failed)
    assert len(outcome.completed) == len(specs) - len(bad)

    runs = pd.read_parquet(out / "runs.parquet").set_index("run_id")
    for spec in bad:
        row = runs.loc[spec.run_id]
        assert row["status"] == "failed" and row["error"].startswith("ValidationError: ")
        assert row["seed"] == run_seed(spec) and pd.isna(row["masks_delivered"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete_with_failures"
    entries = {r["run_id"]: r for r in manifest["runs"]}
    assert all(entries[s.run_id]["status"] == "failed" and entries[s.run_id]["error"] for s in bad)
    ok_ids = set(read_tables(reference)["runs"]["run_id"])
    for name in TABLES:  # the ok runs' rows are exactly the reference's
        got = pd.read_parquet(out / f"{name}.parquet")
        assert set(got["run_id"]) == ok_ids
        pd.testing.assert_frame_equal(got, pd.read_parquet(reference / f"{name}.parquet"))

    again = run_specs(specs, out, simulate=model.simulate, workers=1, progress=False)
    assert [r for r, _ in again.failed] == [s.run_id for s in bad]  # retried, failed again
    assert len(again.skipped) == len(specs) - len(bad) and not again.completed


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "sigkill"])
def test_killed_midway_then_resumed_matches(
    model: ModelUnderTest, reference: Path, tmp_path: Path, worker_env: dict[str, str], sig: signal.Signals
) -> None:
    """Interrupt (SIGINT) or kill (SIGKILL) a runner subprocess midway, re-run: same tables as uninterrupted.

    While the subprocesses run, every final-named file seen is read: none may be half-written.
    """
    specs = model.specs()
    out = tmp_path / "killed"
    with Poller(out) as poller:
        proc = start_runner(model, specs, out, {**worker_env, **SLOW_ENV})
        try:
            deadline = time.monotonic() + 30
            while done_runs(out) < 3 and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            assert proc.poll() is None, "the runner finished before it could be interrupted"
            proc.send_signal(sig)
        finally:
            code, err = reap(proc)
        if sig == signal.SIGINT:
            assert code == 130, err
            assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
            assert "interrupted" in err
            assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
        else:
            assert code == -signal.SIGKILL
        done = done_runs(out)
        assert 3 <= done < len(specs)
        assert not (out / "runs.parquet").exists()

        # resume in a subprocess too, so the combined tables' writes are also watched by the poller; in that
        # process (workers=1): which executor runs the remaining runs is test_executors_give_identical_tables'
        # business, and two more pool workers would cost two more Python start-ups
        proc = start_runner(model, specs, out, worker_env, workers=1)
        code, err = reap(proc, timeout=60)
        assert code == 0, err
    assert poller.reads > 0 and not poller.errors, poller.errors[:5]

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert sum(r["resumed"] for r in manifest["runs"]) == done  # every complete run dir was reused
    assert not [p for p in out.rglob(f"{TMP_PREFIX}*")]
    assert_same_results(out, reference)
