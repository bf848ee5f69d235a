"""Comparing like with like: `resilience compare` matches scenarios by name and sweep point, and the scenario
comparison chart credits each change with its own effect."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from sim.cli import main
from sim.report.charts import scenarios
from sim.results.analysis import match_scenarios
from sim.results.results_set import ResultsSet

ROOT = Path(__file__).resolve().parent.parent


def write_runs(folder: Path, means: dict[tuple[str, float | None], float], replications: int = 4,
               base: str = "base") -> Path:
    """A results folder with runs.parquet and manifest.json only: masks_delivered per (scenario, sweep value
    of 'packing.operators') = its mean plus the same small noise per replication (common random numbers)."""
    folder.mkdir(parents=True)
    noise = np.random.default_rng(1).normal(0, 10, replications)
    rows = []
    swept = any(point is not None for _, point in means)
    for (scenario, point), mean in means.items():
        for r in range(replications):
            row = {"run_id": f"{scenario}/p{point}/r{r:03d}", "scenario": scenario, "replication": r, "seed": 7,
                   "status": "ok", "error": "", "wall_seconds": 1.0, "masks_delivered": mean + noise[r],
                   "masks_sewn": mean * 1.1}
            if swept:
                row["param.packing.operators"] = point
            rows.append(row)
    pd.DataFrame(rows).to_parquet(folder / "runs.parquet", index=False)
    scenarios = list(dict.fromkeys(s for s, _ in means))
    (folder / "manifest.json").write_text(json.dumps({
        "experiment": "t", "start_date": "2020-03-30", "targets": {}, "base_scenario": base,
        "scenarios": scenarios}))
    return folder


def compare(a: Path, b: Path, capsys) -> tuple[int, str, str]:
    """`resilience compare a b` in this process (the subprocess test below checks the real command line)."""
    code = main(["compare", str(a), str(b)])
    out, err = capsys.readouterr()
    return code, out, err


def section(out: str, label: str) -> dict[str, list[float]]:
    """The KPI rows printed under one scenario label: kpi -> [A, B, B - A]."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(label + "  (A:"))
    rows = {}
    for line in lines[start + 2:]:
        if not line.strip():
            break
        parts = line.split()
        rows[parts[0]] = [float(x.replace(",", "")) for x in parts[1:4]]
    return rows


def test_compare_matches_scenarios_by_name_and_names_the_unmatched(tmp_path, capsys):
    a = write_runs(tmp_path / "a", {("base", None): 1_000_000, ("faster_lab", None): 1_000_300,
                                    ("old_only", None): 5_000_000})
    b = write_runs(tmp_path / "b", {("base", None): 1_100_000, ("faster_lab", None): 1_100_300,
                                    ("new_only", None): 9_000_000})
    code, out, err = compare(a, b, capsys)
    assert code == 0, err
    assert f"only in A ({a}): old_only" in out
    assert f"only in B ({b}): new_only" in out
    base = section(out, "base")["masks_delivered"]
    lab = section(out, "faster_lab")["masks_delivered"]
    # pooled, A's mean would be ~2.33 M (three scenarios); matched, each scenario is compared with itself
    assert abs(base[0] - 1_000_000) < 50 and abs(base[2] - 100_000) < 50
    assert abs(lab[0] - 1_000_300) < 50 and abs(lab[2] - 100_000) < 50


def test_compare_matches_sweep_points(tmp_path, capsys):
    a = write_runs(tmp_path / "a", {("base", 40.0): 1_000_000, ("base", 80.0): 2_000_000})
    b = write_runs(tmp_path / "b", {("base", 40.0): 1_000_500, ("base", 120.0): 3_000_000})
    both, only_a, only_b = match_scenarios(pd.read_parquet(a / "runs.parquet"), pd.read_parquet(b / "runs.parquet"))
    assert both == [("base", "packing.operators=40")]
    assert only_a == ["base [packing.operators=80]"] and only_b == ["base [packing.operators=120]"]
    code, out, err = compare(a, b, capsys)
    assert code == 0, err
    delivered = section(out, "base [packing.operators=40]")["masks_delivered"]
    assert abs(delivered[2] - 500) < 50


def test_compare_refuses_folders_without_a_common_scenario(tmp_path, capsys):
    a = write_runs(tmp_path / "a", {("base", None): 1.0})
    b = write_runs(tmp_path / "b", {("other", None): 1.0})
    assert main(["compare", str(a), str(b)]) == 2
    err = capsys.readouterr().err
    assert "share no scenario" in err and "Traceback" not in err


def test_scenario_comparison_credits_the_sweep_not_the_lab(tmp_path):
    """The packing sweep adds 1.2 M masks, the faster lab 282 at each point. Before, every variant was
    compared with the base at the first sweep point, so the title credited the lab with the sweep's 1.2 M."""
    folder = write_runs(tmp_path / "swept", {
        ("base", 40.0): 5_000_000, ("base", 80.0): 6_200_000,
        ("faster_lab", 40.0): 5_000_282, ("faster_lab", 80.0): 6_200_282})
    rs = ResultsSet(folder)
    refs = scenarios._comparison_references(rs)
    lab80 = next(v for v in refs if v.startswith("faster_lab") and "80" in v)
    assert refs[lab80][0].startswith("base") and "80" in refs[lab80][0]
    fig, _ = scenarios.draw_scenario_comparison(rs)
    title = fig.get_suptitle().replace("\n", " ")
    assert title.startswith("Sweep point (packing.operators=80.0) delivers +1.2"), title
    assert "faster_lab" not in title
    # with the sweep's gain out of the way, the lab is credited with its own 282
    lab_only = write_runs(tmp_path / "lab", {
        ("base", 40.0): 5_000_000, ("base", 80.0): 5_000_000,
        ("faster_lab", 40.0): 5_000_282, ("faster_lab", 80.0): 5_000_282})
    fig, _ = scenarios.draw_scenario_comparison(ResultsSet(lab_only))
    title = fig.get_suptitle().replace("\n", " ")
    assert title.startswith("Faster lab at (packing.operators=") and "+282" in title, title
