"""`resilience calibrate` end to end on the small line: outputs written and read back, an interrupted calibration
resumed through the runner's process pool reuses every finished run and gives the same answer, and bad input is a
one-line error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.cli import main
from tests.calibration_case import scenario

UNCERTAIN = {
    "sites.workshop.stages.sew.minutes_per_mask": {"label": "sewing time", "source": "assumption: test range",
                                                   "uniform": [1.5, 3.0]},
    "absenteeism.rate": {"label": "absence", "source": "assumption: test range", "uniform": [0.0, 0.5]},
    "sites.workshop.stages.cut.minutes_per_mask": {"label": "cutting time", "source": "assumption: test range",
                                                   "uniform": [0.05, 0.4]},
}
OBSERVATIONS = {  # one run of the line at sewing 2.2 min, absence 0.12, plus 2 % noise (tests/calibration_case.py:
    # the truth (2.2, 0.12, 0.2) of test_synthetic_truth_is_recovered with its seed 1)
    "output": {"kpi": "output", "kind": "textile", "from": "2020-03-30", "to": "2020-04-17", "value": 25980,
               "sd": 516, "source": "synthetic"},
    "per_person_day": {"kpi": "productivity", "kind": "textile", "from": "2020-03-30", "to": "2020-04-17",
                       "staff": "sewing", "value": 192.8, "sd": 3.8, "source": "synthetic"},
}


def write_experiment(folder: Path, **changes: object) -> Path:
    (folder / "line.yaml").write_text(yaml.safe_dump(scenario(2.0, 0.1, 0.2), sort_keys=False))
    exp = {"name": "line_calibration", "base": "line.yaml", "seed": 7, "uncertain": UNCERTAIN,
           "observations": OBSERVATIONS,
           "calibration": {"waves": 2, "points_per_wave": 14, "replications": 2, "uniform_sample": 3000,
                           "discrepancy_share": 0.01}}
    exp.update(changes)
    path = folder / "exp.yaml"
    path.write_text(yaml.safe_dump(exp, sort_keys=False))
    return path


@pytest.mark.slow
def test_calibrate_writes_its_outputs_and_resumes(tmp_path, capsys, monkeypatch):
    path = write_experiment(tmp_path)
    out = tmp_path / "res"
    code = main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--no-progress"])
    first = capsys.readouterr().out
    folder = out / "calibration"
    summary = json.loads((folder / "summary.json").read_text())
    assert code == 0, first
    waves = pd.read_parquet(folder / "waves.parquet")
    kept = pd.read_parquet(folder / "nonimplausible.parquet")
    assert len(waves) == 14 * len(summary["waves"]) and set(waves["wave"]) == {w["wave"] for w in summary["waves"]}
    assert {"mean.output", "sd.per_person_day", "I.output", "max_I_emulated", "nonimplausible",
            "absenteeism.rate", "u.absenteeism.rate"} <= set(waves.columns)
    assert (waves.loc[waves["nonimplausible"], "max_I_emulated"] <= 3.0).all()
    assert set(kept["kind"]) == {"run", "sample"}
    sample = kept[kept["kind"] == "sample"]
    assert len(sample) == summary["nonimplausible_sample_points"] and (sample["max_I_emulated"] <= 3).all()
    shares = summary["share_left"]
    assert 0 < shares[-1] < 0.25 and shares == sorted(shares, reverse=True)
    sew = sample["sites.workshop.stages.sew.minutes_per_mask"]
    assert sew.min() <= 2.2 <= sew.max() and sew.max() - sew.min() < 0.75  # the truth kept, the range narrowed
    assert summary["parameters"]["sites.workshop.stages.sew.minutes_per_mask"]["constrained"]
    assert not summary["parameters"]["sites.workshop.stages.cut.minutes_per_mask"]["constrained"]
    assert summary["observations"]["output"]["source"] == "synthetic" and summary["cutoff"] == 3.0
    assert all(e["held_back"] >= 1 for w in summary["waves"] for e in w["emulators"])
    charts = sorted(p.name for p in (folder / "charts").glob("*.png"))
    assert charts == ["calibration_marginals.png", "calibration_observations.png", "calibration_pairs.png"]
    for wave in summary["waves"]:  # every run went through the runner: its tables and manifest are there
        manifest = json.loads((folder / f"wave_{wave['wave']}" / "manifest.json").read_text())
        assert len(manifest["runs"]) == 14 * 2
    # interrupted before two runs of the last wave were stored: the same command again, on a process pool, reruns
    # the same designs, reuses every finished run, runs the two lost ones on the pool, and gives the same answer
    number = summary["waves"][-1]["wave"]
    last = folder / f"wave_{number}"
    lost = {f"w{number}/p003/r001", f"w{number}/p010/r000"}
    for run_id in lost:
        shutil.rmtree(last / "runs" / run_id.replace("/", "__"))
    before = (folder / "waves.parquet").read_bytes()
    # the resumed run would draw the same three charts from the same numbers (waves.parquet, compared below):
    # they are checked above, and drawing them again was a sixth of this test's CPU
    monkeypatch.setattr("sim.calibration.charts.draw_all", lambda *args: [])
    assert main(["calibrate", str(path), "--out", str(out), "--workers", "2", "--no-progress"]) == 0
    assert json.loads((folder / "summary.json").read_text())["share_left"] == shares
    assert pd.read_parquet(folder / "waves.parquet").equals(pd.read_parquet(__import__("io").BytesIO(before)))
    for wave in summary["waves"]:
        manifest = json.loads((folder / f"wave_{wave['wave']}" / "manifest.json").read_text())
        rerun = {r["run_id"] for r in manifest["runs"] if not r["resumed"]}
        assert len(manifest["runs"]) == 14 * 2 and all(r["status"] == "ok" for r in manifest["runs"])
        if folder / f"wave_{wave['wave']}" == last:
            assert rerun == lost and manifest["executor"] == "process pool (spawn, 2 workers)", manifest["executor"]
        else:
            assert rerun == set()

    # a forecast from the calibrated set: each replication at its own kept point
    forecast = tmp_path / "forecast.yaml"
    forecast.write_text(yaml.safe_dump({"name": "line_forecast", "base": "line.yaml", "seed": 7, "replications": 4,
                                        "parameters_from": "res/calibration"}))
    from sim.experiment import load_experiment

    specs = load_experiment(forecast).run_specs()
    sews = [s.scenario["sites"]["workshop"]["stages"]["sew"]["minutes_per_mask"] for s in specs]
    assert len(set(sews)) == 4 and all(v in set(sew) for v in sews)
    assert [s.scenario["absenteeism"]["rate"] for s in specs] != [0.1] * 4  # the base value is replaced
    assert main(["run", str(forecast), "--out", str(tmp_path / "fc"), "--workers", "1", "--no-report",
                 "--no-progress"]) == 0
    runs = pd.read_parquet(tmp_path / "fc" / "runs.parquet")
    assert len(runs) == 4 and (runs["status"] == "ok").all() and runs["output.site.workshop"].nunique() == 4


@pytest.mark.parametrize(("changes", "expected"), [
    ({"calibration": None, "uncertain": None}, "exp.yaml: calibration: None: a calibration block"),
    ({"design": {"method": "lhs", "samples": 4}}, "give calibration or design, not both"),
    ({"uncertain": {"sites.nowhere.x": {"label": "x", "source": "s", "uniform": [1, 2]}}},
     "exp.yaml: uncertain.sites.nowhere.x: no such field"),
    ({"observations": {"late": {"kpi": "cumulative_delivered", "by": "2020-06-01", "value": 1, "sd": 1,
                                "source": "s"}}}, "exp.yaml: observations.late.by: '2020-06-01': a date within"),
    ({"calibration": None, "uncertain": None, "observations": {}, "parameters_from": "nowhere"},
     "exp.yaml: parameters_from: "),
])
def test_bad_calibration_input_is_a_one_line_error(tmp_path, capsys, changes, expected):
    path = write_experiment(tmp_path, **changes)
    assert main(["calibrate", str(path), "--out", str(tmp_path / "res")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err
    assert not (tmp_path / "res").exists()
