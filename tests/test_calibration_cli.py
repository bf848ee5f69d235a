"""`resilience calibrate` end to end on the small line: outputs written and read back, an interrupted calibration
resumed through the runner's process pool reuses every finished run and gives the same answer, and bad input is a
one-line error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
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
           "calibration": {"waves": 2, "points_per_wave": 14, "first_wave_points": 14,
                           "first_wave_reason": "a test: seconds, not minutes", "replications": 2,
                           "uniform_sample": 3000, "kept_points": 300, "discrepancy_share": 0.01}}
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
    assert {"mean.output", "sd.per_person_day", "I.output", "max_I_emulated", "max_I_cv", "nonimplausible",
            "absenteeism.rate", "u.absenteeism.rate"} <= set(waves.columns)
    assert set(kept["kind"]) == {"run", "sample"}
    sample = kept[kept["kind"] == "sample"]
    assert len(sample) == summary["nonimplausible_sample_points"] == 300
    last = summary["waves"][-1]["share"]
    assert last["n"] == 3000 and 0 < last["ci95"][0] <= last["share"] <= last["ci95"][1] < 0.25, last
    assert f"{last['kept']:,} of 3,000 points" in first  # the share is printed with its interval
    # the kept sample surrounds the truth: a kept point within 0.1 of it on the unit scale of the two
    # identifiable parameters (sewing 2.2 min -> 0.467, absence 0.12 -> 0.24)
    near = ((sample["u.sites.workshop.stages.sew.minutes_per_mask"] - 0.467) ** 2
            + (sample["u.absenteeism.rate"] - 0.24) ** 2) ** 0.5
    assert near.min() < 0.1, near.min()
    sew = sample["sites.workshop.stages.sew.minutes_per_mask"]
    assert sew.min() <= 2.2 <= sew.max() and sew.max() - sew.min() < 0.75  # the truth kept, the range narrowed
    # the emulators' out-of-fold verdict never rules out a run clearly within the cut-off on its own runs (near
    # the cut-off both verdicts are noisy: wave 2's design sits on the edge of the region left)
    for wave in summary["waves"]:
        mis = wave["misclassification"]
        assert mis["runs"] == 14 and mis["ruled_out_though_clearly_kept"] == 0, mis
    assert (waves["max_I_cv"] - waves["max_I_runs"]).abs().median() < 1.0  # the two verdicts track each other
    assert summary["parameters"]["sites.workshop.stages.sew.minutes_per_mask"]["constrained"]
    assert not summary["parameters"]["sites.workshop.stages.cut.minutes_per_mask"]["constrained"]
    assert summary["observations"]["output"]["source"] == "synthetic" and summary["cutoff"] == 3.0
    # wave 1's emulators learn from its 14 runs; later waves' from theirs plus the earlier runs still kept
    first, *later = summary["waves"]
    assert all(e["held_back"] == 14 and e["folds"] == 5 for e in first["emulators"])
    assert all(14 < e["held_back"] <= 14 * w["wave"] for w in later for e in w["emulators"]), later
    # the emulators written out by their public parameters predict, from the file alone, the run means of the
    # last wave they were fitted on (they nearly interpolate the means of their own design)
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern

    exported = json.loads((folder / "emulators.json").read_text())["waves"][-1]["emulators"][0]
    kernel = ConstantKernel(exported["signal_variance"]) * Matern(exported["length_scales"], nu=exported["nu"])
    x_train = np.asarray(exported["x_train"])
    by_file = exported["y_mean"] + exported["y_scale"] * kernel(x_train, x_train) @ np.asarray(exported["alpha"])
    means = waves.loc[waves["wave"] == waves["wave"].max(), "mean.output"].to_numpy()
    by_file = by_file[:len(means)]  # the wave's own points come first in its training set
    assert exported["observation"] == "output" and np.abs(by_file - means).max() < 0.2 * means.std(), (by_file, means)
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
    assert json.loads((folder / "summary.json").read_text())["share_left"] == summary["share_left"]
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
    from sim.studies import load_experiment

    specs = load_experiment(forecast).run_specs()
    sews = [s.scenario["sites"]["workshop"]["stages"]["sew"]["minutes_per_mask"] for s in specs]
    assert len(set(sews)) == 4 and all(v in set(sew) for v in sews)
    assert [s.scenario["absenteeism"]["rate"] for s in specs] != [0.1] * 4  # the base value is replaced
    assert main(["run", str(forecast), "--out", str(tmp_path / "fc"), "--workers", "1", "--no-report",
                 "--no-progress"]) == 0
    runs = pd.read_parquet(tmp_path / "fc" / "runs.parquet")
    # outputs come in whole lots of 200 masks, so two of the four draws may give the same output
    assert len(runs) == 4 and (runs["status"] == "ok").all() and runs["output.site.workshop"].nunique() >= 3
    # the forecast's interval of the mean includes the discrepancy assumed in calibration (1 % of the value)
    from sim.results.analysis import summarise

    plain = summarise(runs).set_index("kpi").loc["masks_sewn"]
    written = pd.read_csv(tmp_path / "fc" / "summary.csv").set_index("kpi").loc["masks_sewn"]
    assert written["half_width"] == pytest.approx((plain["half_width"] ** 2 + (1.96 * 0.01 * plain["mean"]) ** 2)
                                                  ** 0.5, rel=1e-3)
    assert written["p5"] < plain["p5"] and written["p95"] > plain["p95"] and written["mean"] == plain["mean"]
    # the report says it is a forecast, what its intervals hold, and which values the runs took instead of the file's
    manifest = json.loads((tmp_path / "fc" / "manifest.json").read_text())
    points = manifest["calibrated_from"]["points"]
    assert points == len(load_experiment(forecast).calibrated.values) > 4
    assert main(["report", str(tmp_path / "fc")]) == 0
    html = (tmp_path / "fc" / "report.html").read_text(encoding="utf-8")
    assert f"A forecast: each replication runs at its own point of a calibrated set ({points:,} points of" in html
    assert "sd 1% of the value" in html
    low, high = min(sews), max(sews)
    assert f"drawn from the calibration: minutes per mask {low:.3g}–{high:.3g} over 4 runs" in html


@pytest.mark.parametrize(("changes", "expected"), [
    ({"calibration": None, "uncertain": None}, "exp.yaml: calibration: None: a calibration block"),
    ({"design": {"method": "lhs", "samples": 4}}, "give calibration or design, not both"),
    ({"uncertain": {"sites.nowhere.x": {"label": "x", "source": "s", "uniform": [1, 2]}}},
     "exp.yaml: uncertain.sites.nowhere.x: no such field"),
    ({"observations": {"late": {"kpi": "cumulative_delivered", "by": "2020-06-01", "value": 1, "sd": 1,
                                "source": "s"}}}, "exp.yaml: observations.late.by: '2020-06-01': a date within"),
    # observations of the whole network (issue 28): a day past the horizon, a channel the line has not
    ({"observations": {"made": {"kpi": "network_output", "by": "2020-04-20", "at_most": 1, "sd": 1,
                                "source": "s"}}}, "exp.yaml: observations.made.by: '2020-04-20': a date within"),
    ({"observations": {"gift": {"kpi": "channel_delivered", "channels": ["charities"], "by": "2020-04-10",
                                "at_least": 1, "sd": 1, "source": "s"}}},
     "exp.yaml: observations.gift.channels[0]: 'charities': a channel of the scenario: none"),
    ({"calibration": None, "uncertain": None, "observations": {}, "parameters_from": "nowhere"},
     "exp.yaml: parameters_from: "),
    # the calibration block's checks (issue 24): each one line naming the field, the value and what is allowed
    ({"calibration": {"cutoff": float("inf")}}, "exp.yaml: calibration.cutoff: inf: a finite number from 1 to 6"),
    ({"calibration": {"cutoff": "3"}}, "exp.yaml: calibration.cutoff: '3': a finite number from 1 to 6"),
    ({"calibration": {"discrepancy_share": 5.0}},
     "exp.yaml: calibration.discrepancy_share: 5.0: a finite number from 0 to 1"),
    ({"calibration": {"discrepancy_share": float("inf")}}, "exp.yaml: calibration.discrepancy_share: inf: a finite"),
    ({"calibration": {"first_wave_points": 12}},
     "exp.yaml: calibration.first_wave_points: 12: at least 30 (10 x the 3 parameters), or a first_wave_reason"),
    ({"observations": {"output": {**OBSERVATIONS["output"], "value": float("nan")}}},
     "exp.yaml: observations.output.value: nan: Input should be a finite number"),
    ({"observations": {"output": {**OBSERVATIONS["output"], "value": -5}}},
     "exp.yaml: observations.output.value: -5: Input should be greater than or equal to 0"),
    ({"observations": {"output": {**OBSERVATIONS["output"], "sd": float("inf")}}},
     "exp.yaml: observations.output.sd: inf: Input should be a finite number"),
    ({"observations": {"output": {**{k: v for k, v in OBSERVATIONS["output"].items() if k != "sd"},
                                  "interval": [-5000, 30000]}}},
     "exp.yaml: observations.output.interval: [-5000, 30000]: [low, high] with finite 0 <= low < high"),
    ({"observations": {"output": {**OBSERVATIONS["output"], "at_least": 20000}}},
     "exp.yaml: observations.output: "),
    ({"uncertain": {**UNCERTAIN, "sites.workshop.stages.sew.operators": {"label": "sewers", "source": "s",
                                                                         "uniform": [True, 12]}}},
     "exp.yaml: uncertain.sites.workshop.stages.sew.operators.uniform: [True, 12]: numbers or dates (true/false"),
])
def test_bad_calibration_input_is_a_one_line_error(tmp_path, capsys, changes, expected):
    path = write_experiment(tmp_path, **changes)
    assert main(["calibrate", str(path), "--out", str(tmp_path / "res")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err
    assert not (tmp_path / "res").exists()


def test_a_calibration_against_an_impossible_observation_exits_3_and_names_it(tmp_path, capsys):
    """Ten times the line's output in three weeks: nothing is kept, the command exits with its own status (3,
    not 1 or 2), says in one line on stderr that nothing fits, naming that observation and not the other, and
    summary.json says failed."""
    from sim.errors import EXIT_NOTHING_FITS

    observations = {**OBSERVATIONS, "output": {**OBSERVATIONS["output"], "value": 259_800, "sd": 5_160}}
    path = write_experiment(tmp_path, observations=observations)
    out = tmp_path / "res"
    code = main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--no-progress"])
    captured = capsys.readouterr()
    assert code == EXIT_NOTHING_FITS == 3, captured.out
    err = captured.err.strip().splitlines()
    assert len(err) == 1, err
    line = err[0]
    assert line.startswith(f"error: {path}: nothing fits: none of 3,000 sampled points kept"), line
    assert "every one of the 14 runs is incompatible" in line and "observations in conflict: output (best run" in line
    assert "per_person_day" not in line.split("observations in conflict:")[1].split(";")[0], line
    summary = json.loads((out / "calibration" / "summary.json").read_text())
    assert summary["failed"] is True and summary["nothing_fits"] and summary["waves"][0]["share"]["kept"] == 0


TEAM_CHOICE = {"label": "sewers at the workshop", "source": "assumption: test alternatives",
               "choice": {"six": {"set": {"sites.workshop.stages.sew.operators": 6}},
                          "ten": {"set": {}, "source": "as built (the truth of OBSERVATIONS)"},
                          "sixteen": {"set": {"sites.workshop.stages.sew.operators": 16}}}}


@pytest.mark.slow
def test_a_structural_choice_is_calibrated_and_drawn_by_a_forecast(tmp_path, capsys):
    """The truth has ten sewers. Six cannot make the observed output at the observed masks per person-day
    whatever the absence (six present at most, the truth has about 8.8), so the observations rule it out;
    sixteen can, with about 45 % absent, so it stays, only with high absence; a forecast draws the kept
    alternatives' overrides."""
    uncertain = {"sites.workshop.stages.sew.minutes_per_mask": UNCERTAIN["sites.workshop.stages.sew.minutes_per_mask"],
                 "absenteeism.rate": UNCERTAIN["absenteeism.rate"], "team": TEAM_CHOICE}
    path = write_experiment(tmp_path, uncertain=uncertain, calibration={
        "waves": 2, "points_per_wave": 18, "first_wave_points": 24, "first_wave_reason": "a test: seconds",
        "replications": 2, "uniform_sample": 6000, "kept_points": 300, "discrepancy_share": 0.01})
    out = tmp_path / "res"
    code = main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    folder = out / "calibration"
    summary = json.loads((folder / "summary.json").read_text())
    alternatives = summary["parameters"]["team"]["alternatives"]
    assert list(alternatives) == ["six", "ten", "sixteen"]
    six, ten, sixteen = (alternatives[k] for k in ("six", "ten", "sixteen"))
    assert six["kept"] == 0 and ten["kept"] > 0 and sixteen["kept"] > 0, alternatives
    assert six["ci95"][1] < min(ten["ci95"][0], sixteen["ci95"][0])  # ruled out, by more than sampling error
    assert abs(sum(a["weight"] for a in alternatives.values()) - 1) < 1e-9
    assert "sewers at the workshop: share of each alternative's prior left" in printed
    assert "six " in printed and "weight 0% (prior 33%)" in printed
    sample = pd.read_parquet(folder / "nonimplausible.parquet").query("kind == 'sample'")
    assert set(sample["team"].round()) == {1.0, 2.0}  # indices of ten and sixteen only
    # sixteen sewers fit only with high absence (16 x (1 - a) ~ 8.8 present: a ~ 0.45), ten with about the
    # truth's 0.12: two separate ranges of absence (after two waves the emulators still keep their edges)
    absence = sample.groupby(sample["team"].round())["absenteeism.rate"].describe()
    assert absence.loc[2.0, "25%"] > 0.35 and absence.loc[1.0, "75%"] < 0.25, absence
    assert absence.loc[1.0, "max"] < absence.loc[2.0, "min"], absence
    # every coordinate of a choice in the runs sits at its alternative's bin centre (1/6, 1/2, 5/6)
    waves = pd.read_parquet(folder / "waves.parquet")
    assert set(np.round(waves["u.team"], 6)) <= {round(1 / 6, 6), 0.5, round(5 / 6, 6)}

    forecast = tmp_path / "forecast.yaml"
    forecast.write_text(yaml.safe_dump({"name": "line_forecast", "base": "line.yaml", "seed": 7, "replications": 12,
                                        "parameters_from": "res/calibration"}))
    from sim.studies import load_experiment

    specs = load_experiment(forecast).run_specs()
    teams = [s.scenario["sites"]["workshop"]["stages"]["sew"]["operators"] for s in specs]
    assert set(teams) <= {10, 16} and 10 in teams, teams  # the kept alternatives' overrides, never six
    absences = [s.scenario["absenteeism"]["rate"] for s in specs]
    # drawn jointly, not one by one: each draw with sixteen has absence above every draw with ten
    assert max(a for a, t in zip(absences, teams, strict=True) if t == 10) < min(
        [a for a, t in zip(absences, teams, strict=True) if t == 16] or [1.0])
