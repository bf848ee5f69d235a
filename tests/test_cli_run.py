"""`resilience run` end to end on a small two-scenario experiment: tables, summary, charts, report,
screenshot, and resuming from what is on disk."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def experiment(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("exp")
    base = yaml.safe_load((ROOT / "experiments" / "ci_regression.yaml").read_text())
    base["horizon_days"] = 30
    (directory / "base.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    (directory / "exp.yaml").write_text(yaml.safe_dump({
        "name": "small", "base": "base.yaml", "replications": 3, "seed": 11,
        "scenarios": {"base": {}, "more_recruits": {"set": {"sites.insertion_shop.cohorts[1].size": 50}}},
    }, sort_keys=False))
    return directory / "exp.yaml"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, timeout=600,
                          cwd=ROOT)


@pytest.mark.slow
def test_run_writes_every_table_summary_chart_and_the_report(experiment, tmp_path):
    out = tmp_path / "results"
    screenshot = ["--screenshot"] if shutil.which("chromium") else []
    proc = run("run", str(experiment), "--out", str(out), "--workers", "2", *screenshot)
    assert proc.returncode == 0, proc.stderr
    for name in ("runs", "daily", "series", "cohorts", "bottlenecks", "summary"):
        assert len(pd.read_parquet(out / f"{name}.parquet")) > 0
    runs = pd.read_parquet(out / "runs.parquet")
    assert sorted(runs["scenario"].unique()) == ["base", "more_recruits"] and (runs["status"] == "ok").all()
    summary = pd.read_csv(out / "summary.csv")
    diff = summary[(summary["scenario"] == "more_recruits") & (summary["kpi"] == "output.kind.insertion")].iloc[0]
    assert diff["diff_vs_base"] > 0  # more recruits at the insertion shop sew more there
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config_hash"] and len(manifest["runs"]) == 6 and manifest["assumptions"]
    assert len(list((out / "charts").glob("*.png"))) >= 6
    html = (out / "report.html").read_text()
    assert "Headline" in html and html.count("data:image/png;base64") >= 6
    assert "more_recruits" in proc.stdout and "day_target.quarter_million_delivered" in proc.stdout
    # a share's difference in percentage points, as its values print as percentages (was '+0.06' beside '79.9%')
    fill = next(line for line in proc.stdout.splitlines()
                if line.strip().startswith("fill_rate.") and "vs base" in line)
    assert fill.count(" pts") == 3 and "%" in fill.split("vs base")[0], fill
    if screenshot:
        assert (out / "report.png").stat().st_size > 10_000
    # a second call finds every run done and rewrites identical tables
    before = (out / "daily.parquet").read_bytes()
    from sim.cli import main  # in-process: resuming is the runner's behaviour, not the interpreter's

    assert main(["run", str(experiment), "--out", str(out), "--workers", "1", "--no-report"]) == 0
    assert (out / "daily.parquet").read_bytes() == before
    entries = json.loads((out / "manifest.json").read_text())["runs"]
    assert all(e["resumed"] for e in entries) and len(entries) == 6
