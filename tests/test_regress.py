"""The CI regression: passes on noise (other seeds), fails on real changes of the model, refuses a
baseline made from another configuration."""

import json
from pathlib import Path

import pytest
import yaml

from sim import cli
from sim.processes.sewing import SewWork

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def small_experiment(tmp_path_factory) -> Path:
    """The CI network, shorter and with fewer replications, so each regress call takes seconds."""
    directory = tmp_path_factory.mktemp("regress")
    data = yaml.safe_load((ROOT / "experiments" / "ci_regression.yaml").read_text())
    data["horizon_days"] = 35  # the industrial site (the biggest) works from day 21: two weeks of it
    data["replications"] = 12
    path = directory / "ci_small.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def baseline(small_experiment, tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("baseline")
    code = cli.main(["regress", "--experiment", str(small_experiment), "--baseline", str(directory),
                     "--update-baseline", "--workers", "1", "--out", str(directory / "run")])
    assert code == 0
    stored = json.loads((directory / "baseline.json").read_text())
    assert stored["replications"] == 12 and "masks_delivered" in stored["kpis"]
    return directory


def regress(small_experiment, baseline, tmp_path, *extra) -> int:
    return cli.main(["regress", "--experiment", str(small_experiment), "--baseline", str(baseline),
                     "--workers", "1", "--out", str(tmp_path / "run"), *extra])


@pytest.mark.slow
def test_same_model_other_seed_passes(small_experiment, baseline, tmp_path, capsys):
    """One other seed; the false-alarm rate itself (many independent CI-sized groups) is measured by
    benchmarks/regress_power.py, not re-measured on a handful of seeds in every test run."""
    assert regress(small_experiment, baseline, tmp_path, "--seed", "101") == 0
    assert "no KPI moved beyond noise" in capsys.readouterr().out


@pytest.mark.slow
def test_sewing_ten_percent_slower_fails_and_names_the_kpis(small_experiment, baseline, tmp_path, monkeypatch,
                                                            capsys):
    original = SewWork.plan

    def slower(self, lot, t):
        plan = original(self, lot, t)
        return None if plan is None else (plan[0] * 1.10, plan[1])

    monkeypatch.setattr(SewWork, "plan", slower)
    assert regress(small_experiment, baseline, tmp_path) == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out and "masks_sewn" in out.split("REGRESSION")[1]


@pytest.mark.slow
def test_one_shift_fewer_at_the_biggest_site_fails(small_experiment, baseline, tmp_path, monkeypatch, capsys):
    from sim.model import Network

    original = Network._calendar

    def one_shift_only(self, key):
        return original(self, "one_shift" if key == "two_shifts" else key)

    monkeypatch.setattr(Network, "_calendar", one_shift_only)
    assert regress(small_experiment, baseline, tmp_path) == 1
    out = capsys.readouterr().out
    assert "output.kind.industrial" in out.split("REGRESSION")[1]


def test_a_baseline_from_another_configuration_is_refused(small_experiment, tmp_path, capsys):
    directory = tmp_path / "baseline"
    directory.mkdir()
    (directory / "baseline.json").write_text(json.dumps({"config_hash": "0123456789abcdef", "kpis": {},
                                                         "root_seed": 1}))
    code = regress(small_experiment, directory, tmp_path)
    err = capsys.readouterr().err
    assert code == 2
    assert "another configuration" in err and "0123456789abcdef" in err and "--update-baseline" in err


def test_runs_made_by_other_code_are_never_reused(tmp_path):
    """The default regression folder is named after the simulator's source: after a model change,
    `regress --update-baseline` simulates again instead of resuming the old code's stored runs (it did:
    the baseline silently kept the old numbers)."""
    import shutil

    from sim.regress import model_source_hash

    package = tmp_path / "sim"
    shutil.copytree(Path(cli.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    before = model_source_hash(package)
    assert before == model_source_hash(package) == model_source_hash()
    stage = package / "processes" / "stage.py"
    stage.write_text(stage.read_text(encoding="utf-8") + "\n# a change\n", encoding="utf-8")
    assert model_source_hash(package) != before
