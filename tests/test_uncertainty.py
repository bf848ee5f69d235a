"""Uncertainty studies (sim.uncertainty): declared ranges, designs run on the real runner, indices, report.

Every study here runs the real SimPy model on a one-site line (tests/scenarios.py) for a short horizon.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.cli import main
from sim.model import simulate
from sim.runs.driver import RunInterrupted, run_specs
from sim.spec import RunResult, RunSpec
from sim.studies import load_experiment
from sim.uncertainty.design import DesignSpec
from sim.uncertainty.parameters import UncertainParameter
from sim.uncertainty.sensitivity import (
    chi2_variance_interval,
    elementary_effects,
    morris_statistics,
    spearman_indices,
    study_outputs,
)
from tests.scenarios import line

SEW = "sites.workshop.stages.sew.minutes_per_mask"
CUT = "sites.workshop.stages.cut.minutes_per_mask"
PACK = "sites.workshop.stages.pack.minutes_per_mask"
IGNORED = "sites.workshop.cover_days"  # the line has no materials: stock cover is never used


def _line(pack_min: float | None = 0.4, horizon_days: int = 12) -> dict[str, Any]:
    data = line(cv=0.3, sew_min=2.0, cut_min=0.5, pack_min=pack_min, horizon_days=horizon_days)
    data["channels"] = {"buyers": {"price": 1.0, "priority": 0, "weekly": 1_000_000}}
    return data


def _param(label: str, **dist: Any) -> dict[str, Any]:
    return {"label": label, "source": "test", **dist}


def _write_study(tmp_path: Path, uncertain: dict[str, Any], design: dict[str, Any], base: dict[str, Any] | None = None,
                 name: str = "study") -> Path:
    (tmp_path / "line.yaml").write_text(yaml.safe_dump(base or _line()), encoding="utf-8")
    experiment = {"name": name, "base": "line.yaml", "replications": 1, "seed": 11,
                  "uncertain": uncertain, "design": design}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False), encoding="utf-8")
    return path


def _indices(out: Path) -> pd.DataFrame:
    table = pd.read_parquet(out / "sensitivity.parquet")
    assert list(table.columns) == ["kpi", "parameter", "method", "index", "value", "ci_low", "ci_high"]
    assert table.equals(pd.read_csv(out / "sensitivity.csv").astype(table.dtypes.to_dict()))
    return table


def _one(table: pd.DataFrame, kpi: str, parameter: str, index: str) -> pd.Series:
    rows = table[(table["kpi"] == kpi) & (table["parameter"] == parameter) & (table["index"] == index)]
    assert len(rows) == 1, (kpi, parameter, index)
    return rows.iloc[0]


# ----------------------------------------------------------------------------------------- parameters
def test_quantile_functions_map_the_unit_interval_onto_each_range() -> None:
    u = np.array([0.0, 0.5, 1.0])
    assert UncertainParameter(label="x", source="s", uniform=(1.7, 2.5)).ppf(u) == pytest.approx([1.7, 2.1, 2.5])
    tri = UncertainParameter(label="x", source="s", triangular=(0.0, 0.0, 1.0)).ppf(u)
    assert tri == pytest.approx([0.0, 1 - np.sqrt(0.5), 1.0])
    assert UncertainParameter(label="x", source="s", loguniform=(1, 100)).ppf(u) == pytest.approx([1, 10, 100])
    normal = UncertainParameter(label="x", source="s", truncnormal={"mean": 5, "sd": 1, "low": 4, "high": 8})
    assert normal.ppf(u)[0] == pytest.approx(4) and normal.ppf(u)[2] == pytest.approx(8)
    discrete = UncertainParameter(label="x", source="s", discrete=[1, 2])
    assert list(discrete.ppf(np.array([0.0, 0.49, 0.5, 1.0]))) == [1, 1, 2, 2]
    dates = UncertainParameter(label="x", source="s", uniform=(dt.date(2020, 4, 1), dt.date(2020, 4, 21)))
    assert dates.cast(dates.ppf(np.array([0.5]))[0], None) == "2020-04-11"
    assert UncertainParameter(label="x", source="s", uniform=(10, 30)).cast(19.6, True) == 20
    with pytest.raises(ValueError, match="exactly one distribution"):
        UncertainParameter(label="x", source="s", uniform=(1, 2), discrete=[1])
    with pytest.raises(ValueError, match="low < high"):
        UncertainParameter(label="x", source="s", uniform=(2, 1))


# ------------------------------------------------------------------------------------------- validate
@pytest.mark.parametrize(
    ("path", "spec", "expected"),
    [
        ("sites.workshop.stages.sew.minutez", _param("typo", uniform=[1, 2]), "no such field"),
        ("sites.nowhere.stages.sew.minutes_per_mask", _param("unknown site", uniform=[1, 2]), "no such field"),
        (SEW, _param("negative time", uniform=[-1.0, 2.0]), "outside what the field allows"),
        ("sites.workshop.supervision.trainer_output_loss", _param("above 1", uniform=[0.5, 1.5]),
         "outside what the field allows"),
        ("sites.workshop.kind", _param("text field", uniform=[1, 2]), "not a numeric field"),
        (SEW, {"label": "no source", "uniform": [1, 2]}, "source"),
    ],
)
def test_a_bad_uncertain_path_or_range_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                              path: str, spec: dict, expected: str) -> None:
    file = _write_study(tmp_path, {path: spec}, {"method": "lhs", "samples": 4})
    assert main(["validate", str(file)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert str(file) in err[0] and f"uncertain.{path}" in err[0] and expected in err[0], err[0]


def test_a_good_study_validates_and_counts_its_points(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    file = _write_study(tmp_path, {SEW: _param("sewing", uniform=[1.5, 3.0]),
                                   CUT: _param("cutting", triangular=[0.3, 0.5, 0.8])},
                        {"method": "sobol", "samples": 8})
    assert main(["validate", str(file)]) == 0
    exp = load_experiment(file)
    assert exp.study is not None and exp.study.n_design == 8 * (2 + 2)
    specs = exp.run_specs()
    assert len(specs) == 32 + exp.study.design.noise_replications
    # common random numbers: every design point's replication 0 has the same seed
    assert {s.root_seed for s in specs} == {11} and {s.replication for s in specs if s.scenario_name == "base"} == {0}
    assert "not a power of 2" not in capsys.readouterr().err


# ------------------------------------------------------------------------------------------- indices
@pytest.mark.slow
def test_sobol_total_index_finds_the_only_parameter_that_matters(tmp_path: Path) -> None:
    """The line's output depends only on the sewing time (the bottleneck; the stock cover is never used)."""
    file = _write_study(tmp_path, {SEW: _param("sewing time", uniform=[1.5, 3.0]),
                                   IGNORED: _param("stock cover (ignored by the model)", uniform=[2, 10])},
                        {"method": "sobol", "samples": 32, "noise_replications": 3},
                        base=_line(pack_min=None, horizon_days=10))
    out = tmp_path / "out"
    assert main(["run", str(file), "--workers", "1", "--out", str(out), "--no-report"]) == 0
    table = _indices(out)
    sew = _one(table, "masks_sewn", SEW, "ST")
    ignored = _one(table, "masks_sewn", IGNORED, "ST")
    assert sew["value"] > 0.8, f"ST(sewing) = {sew['value']:.3f} [{sew['ci_low']:.3f}, {sew['ci_high']:.3f}]"
    assert ignored["value"] < 0.05, (f"ST(ignored) = {ignored['value']:.3f} "
                                     f"[{ignored['ci_low']:.3f}, {ignored['ci_high']:.3f}]")
    # the intervals say something: the sewing time's excludes the ignored parameter's range and vice versa (the
    # old check, ci_low <= value <= ci_high, held by construction: the interval is value ± its half width)
    assert sew["ci_low"] > 0.5 and ignored["ci_low"] <= 0.0 <= ignored["ci_high"] < 0.5, (sew, ignored)
    print(f"ST(sewing) = {sew['value']:.3f} [{sew['ci_low']:.3f}, {sew['ci_high']:.3f}]; "
          f"ST(ignored) = {ignored['value']:.3f} [{ignored['ci_low']:.3f}, {ignored['ci_high']:.3f}]")
    design = pd.read_parquet(out / "design.parquet")
    assert len(design) == 1 + 32 * 4 and design[SEW].between(1.5, 3.0).all()


@pytest.mark.slow
def test_morris_ranks_the_bottleneck_time_first_and_the_report_says_so(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    """Packing (3 min/mask against sewing's 2) is the line's bottleneck over its whole range. The summary and
    the report describe the grid as a grid: design points, no interval or probability over them."""
    uncertain = {CUT: _param("cutting time", uniform=[0.3, 0.8]),
                 SEW: _param("sewing time", uniform=[1.5, 2.0]),
                 PACK: _param("packing time", uniform=[2.6, 4.0]),
                 IGNORED: _param("stock cover", uniform=[2, 10])}
    base = _line(pack_min=3.0)
    base["targets"] = {"first_goal": {"masks": 1000, "by": "2020-04-08"}}
    file = _write_study(tmp_path, uncertain, {"method": "morris", "samples": 6, "noise_replications": 3},
                        base=base, name="uncertainty_2020")
    out = tmp_path / "out"
    assert main(["run", str(file), "--workers", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert ("Morris screening: 30 design points (6 trajectories × 5 points on a 4-level grid) × 1 replication over "
            "4 uncertain parameters, plus the nominal point × 3") in printed
    assert "warning: only 6 Morris trajectories" in printed and "runs of the nominal point" in printed
    assert "reached by its date at 7 of 30 points" in printed and "(n = 30 replications" not in printed
    summary = pd.read_csv(out / "summary.csv")
    grid, nominal = summary[summary["scenario"] == "base"], summary[summary["scenario"] == "nominal"]
    assert grid["ci_low"].isna().all() and grid["ci_high"].isna().all() and grid["n"].max() == 30
    assert nominal.set_index("kpi").loc["masks_delivered", "ci_low"] == 1100.0  # its replications keep theirs
    table = _indices(out)
    mu_star = table[(table["kpi"] == "masks_delivered") & (table["index"] == "mu_star")]
    ranked = mu_star.sort_values("value", ascending=False)["parameter"].tolist()
    assert ranked[0] == PACK, mu_star
    assert _one(table, "masks_delivered", IGNORED, "mu_star")["value"] == 0.0
    # SALib's μ* and the elementary effects computed here (for σ's interval) agree
    outputs = study_outputs(out, [], 12)
    design = pd.read_parquet(out / "design.parquet").query("kind == 'design'")
    unit = design[[f"u.{p}" for p in uncertain]].to_numpy()
    y = outputs[outputs["scenario"] == "base"].sort_values("point")["masks_delivered"].to_numpy()
    effects = elementary_effects(unit, y)
    assert np.abs(effects).mean(axis=0) == pytest.approx(mu_star.set_index("parameter").loc[list(uncertain), "value"])
    # the variance split needs random points: the grid gets the noise's χ² interval only
    split = table[table["method"] == "variance"]
    assert set(split["index"]) == {"noise_variance", "noise_degrees_of_freedom"}
    runs = pd.read_parquet(out / "runs.parquet")
    sewn = runs.loc[runs["scenario"] == "nominal", "masks_sewn"].to_numpy(float)
    noise = _one(table, "masks_sewn", "(all)", "noise_variance")
    assert (noise["value"], noise["ci_low"], noise["ci_high"]) == pytest.approx(
        (sewn.var(ddof=1), *chi2_variance_interval(sewn.var(ddof=1), len(sewn) - 1)))
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "What drives the answer" in html and "depends mostly on packing time" in html
    # "why it matters" in words: the index, its unit and the KPI as a reader says it, not its identifier
    assert "μ* 3.5 days on the date of 1,000 masks delivered" in html and "sensitivity index" not in html
    assert "Uncertainty 2020" in html and "no. 2020" not in html
    assert "Morris screening: 30 design points" in html and "30 replications" not in html
    assert 'packing time</span>\n= 3 (range 2.6–4)' in html  # behind the headline: label, base value, range
    assert "at 7 of the 30 grid points" in html and "not computed here" in html
    assert (out / "charts" / "uncertainty_rank_masks_delivered.png").stat().st_size > 10_000
    assert not (out / "charts" / "uncertainty_fan.png").exists()  # no distribution over a grid


def test_spearman_shares_tied_ranks_as_scipy_does() -> None:
    """A 0/1 KPI ties half its runs: ranks by row order gave an unrelated parameter ρ = 0.4 here, not 0."""
    from scipy.stats import spearmanr

    design = DesignSpec(method="lhs", samples=4, bootstrap=50)
    unit = np.array([[1.0], [4.0], [2.0], [3.0]])
    rows = spearman_indices("reached", ["x"], unit, np.array([0.0, 0.0, 1.0, 1.0]), design, np.random.default_rng(0))
    assert rows[0]["value"] == 0.0
    rng = np.random.default_rng(5)
    unit = rng.integers(0, 4, (40, 3)).astype(float)  # ties in the parameters too
    y = (unit[:, 0] + rng.integers(0, 2, 40) > 2).astype(float)
    rows = spearman_indices("reached", ["a", "b", "c"], unit, y, design, rng)
    expected = [spearmanr(unit[:, j], y).statistic for j in range(3)]
    assert [r["value"] for r in rows] == pytest.approx(expected, abs=1e-12)


def test_morris_intervals_narrow_with_the_number_of_trajectories() -> None:
    """μ's interval is mean ± t·s/√r (not [min, max] of the effects), σ's lower bound is above 0 when the
    effects vary, and μ*'s interval holds μ* and narrows as r grows."""
    from scipy.stats import t as student

    rng = np.random.default_rng(3)
    widths = {}
    for r in (10, 40):
        effects = rng.normal(2.0, 1.0, (r, 2)) * np.array([1.0, 0.0])  # the second parameter never moves the KPI
        stats = morris_statistics(effects, 1000, rng)
        half = student.ppf(0.975, r - 1) * effects[:, 0].std(ddof=1) / np.sqrt(r)
        assert stats["mu_low"][0] == pytest.approx(effects[:, 0].mean() - half)
        assert stats["mu_high"][0] == pytest.approx(effects[:, 0].mean() + half)
        assert effects[:, 0].min() < stats["mu_low"][0] and stats["mu_high"][0] < effects[:, 0].max()
        assert 0 < stats["sigma_low"][0] < stats["sigma"][0] < stats["sigma_high"][0]
        assert stats["mu_star_low"][0] < stats["mu_star"][0] < stats["mu_star_high"][0]
        assert stats["mu_star_low"][1] == stats["mu_star_high"][1] == stats["sigma_high"][1] == 0.0
        widths[r] = stats["mu_star_high"][0] - stats["mu_star_low"][0]
    assert 1.5 < widths[10] / widths[40] < 3.0  # about √4 = 2


@pytest.mark.slow
def test_morris_intervals_cover_the_g_functions_effects() -> None:
    """The benchmark's check on a small scale: 120 designs of 10 trajectories of the Sobol G function, through
    the study's own functions; each interval must hold the true value in >= 95 % - 3 Monte Carlo errors."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "stat_sensitivity.py"
    spec = importlib.util.spec_from_file_location("stat_sensitivity", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for row in module.morris_checks(module.sobol_g(), 120, 10):
        assert row["measured"] >= row["stated"] - 3 * row["mc_se"], row


def test_the_design_defaults_to_10_trajectories_and_warns_below() -> None:
    assert DesignSpec(method="morris").samples == 10 and DesignSpec(method="morris").warnings() == []
    few = DesignSpec(method="morris", samples=3, noise_replications=4).warnings()
    assert len(few) == 2 and "only 3 Morris trajectories" in few[0] and "0.3 to 14 times" in few[1], few
    with pytest.raises(ValueError, match="lhs needs samples"):
        DesignSpec(method="lhs")


def test_the_noise_variance_interval_is_the_chi2_interval() -> None:
    low, high = chi2_variance_interval(1.0, 9)
    assert (low, high) == pytest.approx((9 / 19.0228, 9 / 2.70039), rel=1e-5)


@pytest.mark.slow
def test_a_random_design_gets_its_sampling_error_and_a_variance_split(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture) -> None:
    """Over LHS points the summary's intervals are the design's sampling error (each point once), the variance
    split is computed, and the report draws the band and gives shares with their Wilson interval."""
    from sim.results.analysis import wilson_interval

    base = _line(pack_min=3.0)
    base["targets"] = {"first_goal": {"masks": 1000, "by": "2020-04-08"}}
    file = _write_study(tmp_path, {PACK: _param("packing time", uniform=[2.6, 4.0]),
                                   SEW: _param("sewing time", uniform=[1.5, 2.0])},
                        {"method": "lhs", "samples": 12, "noise_replications": 2}, base=base)
    out = tmp_path / "out"
    assert main(["run", str(file), "--workers", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Latin hypercube: 12 design points × 1 replication over 2 uncertain parameters, drawn at random" in printed
    runs = pd.read_parquet(out / "runs.parquet")
    design = runs[runs["scenario"] == "base"]
    reached = int(design["reached_by_date.first_goal"].sum())
    summary = pd.read_csv(out / "summary.csv").set_index(["scenario", "kpi"])
    p = summary.loc[("base", "P(reached_by_date.first_goal)")]
    assert (p["n"], p["mean"], p["ci_low"], p["ci_high"]) == pytest.approx((12, *wilson_interval(reached, 12)))
    assert f"({reached}/12 points)" in printed
    delivered = summary.loc[("base", "masks_delivered")]
    assert delivered["ci_low"] < delivered["mean"] < delivered["ci_high"]  # the t interval over 12 points
    table = _indices(out)
    share = _one(table, "masks_delivered", "(all)", "parameter_share")
    total = _one(table, "masks_delivered", "(all)", "total_variance")
    assert total["value"] == pytest.approx(design["masks_delivered"].var(ddof=1))
    assert share["ci_low"] <= share["value"] <= share["ci_high"] and share["ci_high"] - share["ci_low"] < 1
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "of the 12 points drawn at random (95 % CI" in html
    assert (out / "charts" / "uncertainty_fan.png").exists()


def test_the_random_points_of_a_sobol_design_are_its_base_samples() -> None:
    from sim.uncertainty.design import random_rows, unit_sample

    unit = unit_sample(DesignSpec(method="sobol", samples=4), ["a", "b", "c"], 1)
    rows = random_rows("sobol", len(unit), 3)
    assert rows == [0, 4, 5, 9, 10, 14, 15, 19]
    a, b = unit[0::5], unit[4::5]  # SALib's blocks: A, AB_1, AB_2, AB_3, B
    assert (a != b).all() and np.array_equal(unit[rows], np.stack([a, b], axis=1).reshape(-1, 3))
    assert (unit[1][1:] == a[0][1:]).all() and unit[1][0] == b[0][0]  # AB_1 mixes A and B: not a random point
    assert random_rows("morris", 40, 3) == [] and random_rows("lhs", 3, 3) == [0, 1, 2]


# ------------------------------------------------------------------------------------ execution
def _small_study(tmp_path: Path) -> Path:
    return _write_study(tmp_path, {SEW: _param("sewing time", uniform=[1.5, 3.0]),
                                   CUT: _param("cutting time", uniform=[0.3, 0.8])},
                        {"method": "lhs", "samples": 3, "noise_replications": 2}, name="small")


def _comparable(out: Path) -> dict[str, pd.DataFrame]:
    runs = pd.read_parquet(out / "runs.parquet").drop(columns=["wall_seconds"])
    tables = {name: pd.read_parquet(out / f"{name}.parquet") for name in ("design", "series", "sensitivity")}
    return {"runs": runs, **tables}


@pytest.fixture(scope="module")
def small_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pd.DataFrame]]:
    """The small study's file and its tables from one uninterrupted in-process run (`--workers 1`): the
    executors' and the resume test compare their tables with these (one run of it instead of two)."""
    folder = tmp_path_factory.mktemp("small_study")
    file = _small_study(folder)
    out = folder / "one"
    assert main(["run", str(file), "--out", str(out), "--workers", "1", "--no-report"]) == 0
    return file, _comparable(out)


@pytest.mark.slow
def test_design_results_do_not_depend_on_the_executor(small_study: tuple[Path, dict[str, pd.DataFrame]],
                                                      tmp_path: Path) -> None:
    from distributed import LocalCluster

    file, one = small_study
    assert len(one["runs"]) == 3 + 2
    results = {}
    out = tmp_path / "two"
    assert main(["run", str(file), "--out", str(out), "--no-report", "--workers", "2"]) == 0
    results["two"] = _comparable(out)
    assert yaml.safe_load((out / "manifest.json").read_text(encoding="utf-8"))["executor"].startswith("process pool")
    # A Dask cluster of threads reached over TCP (specs and results cross it serialized): runs in fresh worker
    # processes are the process pool's part above, and a cluster of worker processes would cost ~4 s more CPU;
    # `--scheduler local` (the cluster the runner starts itself) is tested in tests/test_runner.py.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://",
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        out = tmp_path / "dask"
        assert main(["run", str(file), "--out", str(out), "--no-report", "--scheduler", cluster.scheduler_address]) == 0
    results["dask"] = _comparable(out)
    assert yaml.safe_load((out / "manifest.json").read_text(encoding="utf-8"))["executor"].startswith("dask scheduler")
    for label in ("two", "dask"):
        for name, frame in one.items():
            pd.testing.assert_frame_equal(frame, results[label][name], obj=f"{label}: {name}")


_calls = {"n": 0}


def _interrupt_after_two(spec: RunSpec) -> RunResult:
    _calls["n"] += 1
    if _calls["n"] > 2:
        raise KeyboardInterrupt
    return simulate(spec)


def test_an_interrupted_design_resumes_where_it_stopped(small_study: tuple[Path, dict[str, pd.DataFrame]],
                                                       tmp_path: Path) -> None:
    file, fresh = small_study
    exp = load_experiment(file)
    out = tmp_path / "resumed"
    _calls["n"] = 0
    with pytest.raises(RunInterrupted) as stopped:
        run_specs(exp.run_specs(), out, simulate=_interrupt_after_two, workers=1, progress=False)
    assert len(stopped.value.outcome.completed) == 2
    assert main(["run", str(file), "--out", str(out), "--workers", "1", "--no-report"]) == 0
    manifest = yaml.safe_load((out / "manifest.json").read_text(encoding="utf-8"))
    assert sum(r["resumed"] for r in manifest["runs"]) == 2 and manifest["status"] == "complete"
    resumed = _comparable(out)
    for name, frame in fresh.items():  # an uninterrupted run of the same file
        pd.testing.assert_frame_equal(frame, resumed[name], obj=name)
