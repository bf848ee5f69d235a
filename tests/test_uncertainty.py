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
from sim.experiment import load_experiment
from sim.model import simulate
from sim.runs.driver import RunInterrupted, run_specs
from sim.spec import RunResult, RunSpec
from sim.uncertainty.parameters import UncertainParameter
from sim.uncertainty.sensitivity import elementary_effects, study_outputs
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
    # the intervals tell the two apart (the old check, ci_low <= value <= ci_high, held by construction: the
    # interval is value ± its half width)
    assert sew["ci_high"] > sew["ci_low"] > ignored["ci_high"]
    print(f"ST(sewing) = {sew['value']:.3f} [{sew['ci_low']:.3f}, {sew['ci_high']:.3f}]; "
          f"ST(ignored) = {ignored['value']:.3f} [{ignored['ci_low']:.3f}, {ignored['ci_high']:.3f}]")
    design = pd.read_parquet(out / "design.parquet")
    assert len(design) == 1 + 32 * 4 and design[SEW].between(1.5, 3.0).all()


@pytest.mark.slow
def test_morris_ranks_the_bottleneck_time_first_and_the_report_says_so(tmp_path: Path) -> None:
    """Packing (3 min/mask against sewing's 2) is the line's bottleneck over its whole range."""
    uncertain = {CUT: _param("cutting time", uniform=[0.3, 0.8]),
                 SEW: _param("sewing time", uniform=[1.5, 2.0]),
                 PACK: _param("packing time", uniform=[2.6, 4.0]),
                 IGNORED: _param("stock cover", uniform=[2, 10])}
    file = _write_study(tmp_path, uncertain, {"method": "morris", "samples": 6, "noise_replications": 3},
                        base=_line(pack_min=3.0))
    out = tmp_path / "out"
    assert main(["run", str(file), "--workers", "1", "--out", str(out)]) == 0
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
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "What drives the answer" in html and "depends mostly on packing time" in html
    assert (out / "charts" / "uncertainty_rank_masks_delivered.png").stat().st_size > 10_000
    assert (out / "charts" / "uncertainty_fan.png").exists()


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
