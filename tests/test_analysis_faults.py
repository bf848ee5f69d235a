"""Faults of the analysis layer's runs, each tried on the real thing (issue 24): a study folder whose design,
sensitivity or summary table is truncated gives one line and exit 2 from `resilience report` (and no report
beside the unreadable file); a run killed by SIGKILL leaves a stale `.lock` that the next run reports in one
line (naming the lock and the dead pid), takes over and finishes with the same answer as an unbroken run; an
unreachable Dask scheduler is one line, exit 2, within seconds, and nothing is written.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.cli import main
from tests.scenarios import line

ROOT = Path(__file__).resolve().parent.parent


def _files(tmp_path: Path, experiment: dict) -> Path:
    base = line(horizon_days=8, sew_min=2.0, cv=0.3)
    (tmp_path / "line.yaml").write_text(yaml.safe_dump(base), encoding="utf-8")
    path = tmp_path / f"{experiment['name']}.yaml"
    path.write_text(yaml.safe_dump({"base": "line.yaml", "seed": 5, **experiment}, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def study_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small uncertainty study run for real, without its report."""
    tmp = tmp_path_factory.mktemp("study")
    study = _files(tmp, {"name": "study", "replications": 1, "design": {"method": "lhs", "samples": 4,
                                                                        "noise_replications": 2, "checkpoints": [5]},
                         "uncertain": {"sites.workshop.stages.sew.minutes_per_mask":
                                       {"label": "sewing time", "source": "test", "uniform": [1.5, 2.5]}}})
    out = tmp / "out"
    assert main(["run", str(study), "--out", str(out), "--workers", "1", "--no-report", "--no-progress"]) == 0
    return out


@pytest.mark.parametrize("table", ["design.parquet", "sensitivity.parquet", "summary.parquet"])
def test_a_truncated_study_table_is_one_line_and_no_report_is_written_beside_it(study_folder, tmp_path, capsys, table):
    folder = tmp_path / "copy"
    folder.mkdir()
    for item in study_folder.iterdir():  # the small files copied, the runs linked: only `table` is broken
        (folder / item.name).symlink_to(item) if item.is_dir() else (folder / item.name).write_bytes(item.read_bytes())
    data = (folder / table).read_bytes()
    (folder / table).write_bytes(data[: len(data) // 2])
    capsys.readouterr()
    assert main(["report", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {folder / table}: cannot be read"), err
    assert not (folder / "report.html").exists() and not (folder / "charts").exists()


def _text(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


def _stored(out: Path) -> int:
    """Runs stored so far (each renamed into runs/ once complete)."""
    return len([p for p in (out / "runs").glob("*") if not p.name.startswith(".")]) if (out / "runs").is_dir() else 0


def test_a_stale_lock_of_a_killed_run_is_reported_and_taken_over(tmp_path, capsys):
    experiment = _files(tmp_path, {"name": "locked", "replications": 16})
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "sim", "run", str(experiment), "--out", str(out), "--workers", "1",
                             "--no-report", "--no-progress"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    lock = out / ".lock"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and not (_text(lock) and _stored(out) >= 1):
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert lock.read_text().strip() == str(proc.pid)  # the killed runner's lock is left behind
    capsys.readouterr()
    assert main(["run", str(experiment), "--out", str(out), "--workers", "1", "--no-report", "--no-progress"]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and str(lock) in err[0] and f"process {proc.pid}" in err[0] and "stale lock" in err[0], err
    assert not lock.exists()  # released and removed by the runner that took it over
    fresh = tmp_path / "fresh"
    assert main(["run", str(experiment), "--out", str(fresh), "--workers", "1", "--no-report", "--no-progress"]) == 0
    resumed, unbroken = (pd.read_parquet(d / "runs.parquet") for d in (out, fresh))
    kpis = [c for c in unbroken.columns if c.startswith(("masks_", "day_target"))]
    pd.testing.assert_frame_equal(resumed[["run_id", *kpis]], unbroken[["run_id", *kpis]])


def test_an_unreachable_scheduler_is_one_line_quickly_and_nothing_is_written(tmp_path, capsys):
    pytest.importorskip("distributed")
    experiment = _files(tmp_path, {"name": "nowhere", "replications": 2})
    out = tmp_path / "out"
    started = time.monotonic()
    assert main(["run", str(experiment), "--out", str(out), "--scheduler", "tcp://127.0.0.1:1"]) == 2
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --scheduler tcp://127.0.0.1:1: no Dask scheduler answers"), err
    assert elapsed < 15 and not out.exists()


@pytest.mark.parametrize(("args", "expected"), [
    (["what-it-takes", "{exp}", "--target", "goal", "--lever", ""], "error: --lever: '': a lever name"),
    (["what-it-takes", "{exp}", "--target", "goal", "--levers", "sewers,,"], "error: --levers: 'sewers,,': a lever"),
    (["what-it-takes", "{exp}", "--target", "goal", "--lever", "sewers", "--workers", "0"],
     "error: --workers: 0: a whole number >= 1"),
    (["what-it-takes", "{exp}", "--target", "goal", "--lever", "sewers", "--out", "{file}"], "error: --out '{file}': "
     "is a file, not a folder"),
    (["calibrate", "{exp}", "--out", "{file}"], "error: --out '{file}': is a file, not a folder"),
    (["calibrate", "{exp}", "--workers", "0"], "error: --workers: 0: a whole number >= 1"),
    (["validate", "{shock}"], "error: {shock}: a shock file (it lists effects), not an experiment"),
    (["calibrate", "{shock}"], "error: {shock}: a shock file (it lists effects), not an experiment"),
])
def test_argument_abuse_and_a_shock_file_given_as_an_experiment_are_one_line_exit_2(tmp_path, capsys, args,
                                                                                      expected):
    experiment = _files(tmp_path, {"name": "abuse", "levers": {"sewers": {
        "description": "more sewers", "add": {"sites.workshop.stages.sew.operators": 1},
        "scalable": {"max": 2, "step": 1}, "cost": {"source": "test"}}}})
    (tmp_path / "shocks").mkdir()
    shock = tmp_path / "shocks" / "strike.yaml"
    shock.write_text(yaml.safe_dump({"name": "strike", "description": "x", "start": "2020-04-01", "duration_days": 2,
                                     "effects": [{"site_closure": "workshop"}]}))
    (tmp_path / "afile").write_text("mine")
    names = {"exp": str(experiment), "file": str(tmp_path / "afile"), "shock": str(shock)}
    capsys.readouterr()
    assert main([a.format(**names) for a in args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(expected.format(**names)), err
    assert (tmp_path / "afile").read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == [
        "abuse.yaml", "afile", "line.yaml", "shocks"]
