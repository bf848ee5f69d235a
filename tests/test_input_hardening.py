"""Hostile files and machine faults, each through the real command line in a subprocess with a time limit:
one line, the right exit status (2 bad input, 1 a failure of the machine), no traceback, nothing
half-written left behind. Then the researcher's mistakes that used to pass silently (in-process)."""

from __future__ import annotations

import contextlib
import copy
import errno
import fcntl
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sim import cli
from sim.config import Scenario, scenario_dict
from sim.errors import ConfigError
from sim.experiment import kpi_names
from sim.model import Network, simulate
from sim.rng import Streams
from sim.spec import RunSpec
from tests.scenarios import line

ROOT = Path(__file__).resolve().parent.parent
TIME_LIMIT_S = 60
SMALL = line(horizon_days=4)


def cli_subprocess(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True,
                          timeout=TIME_LIMIT_S, env=env, cwd=cwd)


def one_error_line(proc: subprocess.CompletedProcess, code: int) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    return lines[0]


def cli_here(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(args))
    return code, out.getvalue(), err.getvalue()


def cli_in_process(*args: str) -> subprocess.CompletedProcess:
    """`cli.main` in this process, as a CompletedProcess: the messages are the same as a subprocess's without an
    interpreter start per case (process behaviour itself, exit status and no traceback, is tested in
    test_cli_errors.py and by the full-disk test below)."""
    code, out, err = cli_here(*args)
    return subprocess.CompletedProcess(list(args), code, out, err)


# ---------------------------------------------------------------------------------- raw-text attacks
def _alias_bomb() -> str:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, name = chr(96 + i), chr(97 + i)
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    return "\n".join(levels) + "\n"  # 10^9 leaves once expanded


ATTACKS = {
    "alias bomb": (_alias_bomb(), "expands to more than"),
    "deep nesting": ("sites: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 64 levels deep"),
    "huge integer": ("name: x\nseed: " + "7" * 5000 + "\n", "an integer of 5000 digits"),
    "non-UTF-8 bytes": ("name: caf\xe9\n".encode("latin-1"), "not UTF-8 text"),
    "binary file": (bytes(range(256)) * 4, "a binary file"),
    "empty file": ("", "the file is empty"),
    "python object tag": ("name: !!python/object/apply:os.system ['echo pwned']\n", "is not allowed"),
    "impossible date": (yaml.safe_dump({**SMALL, "start": "DATE"}).replace("DATE", "2020-13-30"),
                        "'2020-13-30' is not a calendar date"),
    "a key given twice": (yaml.safe_dump(SMALL) + "name: again\n", "the key 'name' is given twice in one mapping"),
}


def test_a_merge_key_may_be_overridden_but_not_a_key_given_twice():
    from sim.yamlsafe import load_yaml_text

    text = "base: &b {x: 1, y: 2}\nmerged:\n  <<: *b\n  x: 3\n"
    assert load_yaml_text(text, "f.yaml")["merged"] == {"x": 3, "y": 2}  # YAML's merge: the explicit key wins
    with pytest.raises(ConfigError, match=r"f.yaml: line 3, column 3: the key 'x' is given twice"):
        load_yaml_text("merged:\n  x: 1\n  x: 3\n", "f.yaml")


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_hostile_file_gets_one_line(tmp_path, attack):
    content, fragment = ATTACKS[attack]
    path = tmp_path / "attack.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    line_ = one_error_line(cli_in_process("validate", str(path)), 2)
    assert line_.startswith(f"error: {path}") and fragment in line_, line_


def test_a_directory_is_not_a_config(tmp_path):
    line_ = one_error_line(cli_in_process("validate", str(tmp_path)), 2)
    assert "is a directory" in line_


# ------------------------------------------------------------------------------------------- faults
@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """A small results folder, written once by the real command (in-process: faster)."""
    base = tmp_path_factory.mktemp("faults")
    config = base / "small.yaml"
    config.write_text(yaml.safe_dump(SMALL))
    code, _, err = cli_here("run", str(config), "--out", str(base / "results"), "--workers", "1",
                            "--replications", "2", "--no-report")
    assert code == 0, err
    return base / "results"


def test_a_second_run_into_a_busy_folder_is_refused(results, tmp_path):
    out = tmp_path / "busy"
    shutil.copytree(results, out)
    with open(out / ".lock", "a+") as held:  # another runner holds the folder
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        line_ = one_error_line(cli_in_process("run", str(results.parent / "small.yaml"), "--out", str(out),
                                              "--workers", "1", "--no-report"), 2)
    assert "another resilience run is writing here" in line_ and str(out) in line_


def test_the_lock_is_released_and_removed_after_a_run(results):
    assert not (results / ".lock").exists()


def test_a_corrupted_baseline_is_bad_input_not_a_regression(tmp_path):
    baseline = tmp_path / "baseline"
    baseline.mkdir()
    (baseline / "baseline.json").write_text('{"experiment": "ci_regression", "kpis": {"masks_')
    line_ = one_error_line(cli_in_process("regress", "--baseline", str(baseline), "--out", str(tmp_path / "r")), 2)
    assert f"{baseline / 'baseline.json'}: not valid JSON" in line_ and "--update-baseline" in line_
    assert not (tmp_path / "r").exists()  # refused before running anything


@pytest.mark.parametrize("damage", ["truncated runs.parquet", "truncated daily.parquet", "corrupted manifest"])
def test_report_and_compare_on_damaged_results(results, tmp_path, damage):
    out = tmp_path / "damaged"
    shutil.copytree(results, out)
    name = {"truncated runs.parquet": "runs.parquet", "truncated daily.parquet": "daily.parquet",
            "corrupted manifest": "manifest.json"}[damage]
    data = (out / name).read_bytes()
    (out / name).write_bytes(data[: len(data) // 3])
    line_ = one_error_line(cli_in_process("report", str(out)), 2)
    assert f"{out / name}: " in line_ and ("truncated" in line_ or "corrupted" in line_), line_
    assert not (out / "report.html").exists()
    if name != "daily.parquet":  # compare reads the manifest and runs table only
        line_ = one_error_line(cli_in_process("compare", str(results), str(out)), 2)
        assert f"{out / name}: " in line_


def _tiny_filesystem(path: Path) -> bool:
    """Mount a 300 KB tmpfs at `path` (root only); False where that is not possible."""
    path.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(path)], capture_output=True,
                          timeout=10, check=False)
    return done.returncode == 0


def test_a_full_disk_gets_one_line_and_leaves_nothing_half_written(results, tmp_path):
    disk = tmp_path / "disk"
    mounted = _tiny_filesystem(disk)
    out = disk / "results"
    config = results.parent / "small.yaml"
    try:
        if mounted:  # the real thing: the tables fit (about 180 KB), the filesystem fills up with the charts
            proc = cli_subprocess("run", str(config), "--out", str(out), "--workers", "1", "--replications", "2")
            assert (out / "runs.parquet").is_file(), "the disk filled before the charts: make it larger"
        else:  # no root: the chart writer fails as a full disk would (ENOSPC), in a subprocess all the same
            code = ("import errno, sys; from matplotlib.figure import Figure\n"
                    "def full(self, *a, **k): raise OSError(errno.ENOSPC, 'No space left on device')\n"
                    "Figure.savefig = full\nfrom sim.cli import main\nsys.exit(main(sys.argv[1:]))\n")
            env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}
            proc = subprocess.run([sys.executable, "-c", code, "run", str(config), "--out", str(out), "--workers",
                                   "1", "--replications", "2"], capture_output=True, text=True,
                                  timeout=TIME_LIMIT_S, env=env)
        line_ = one_error_line(proc, 1)
        assert f"(errno {errno.ENOSPC})" in line_ and "No space left on device" in line_, line_
        assert str(out) in line_  # names the file it could not write
        leftovers = [p for p in out.rglob("*") if p.name.startswith(".tmp-") or p.name == ".lock"]
        assert leftovers == []
        for png in (out / "charts").glob("*.png"):  # every chart under its final name is whole
            assert png.read_bytes().endswith(b"IEND\xaeB`\x82"), png
        assert not (out / "report.html").exists() or (out / "report.html").read_text().rstrip().endswith("</html>")
    finally:
        if mounted:
            subprocess.run(["umount", str(disk)], capture_output=True, timeout=10, check=False)


# ----------------------------------------------------------------------- mistakes that passed silently
def _write(tmp_path: Path, data: dict, name: str) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _experiment(tmp_path: Path, **fields) -> Path:
    _write(tmp_path, SMALL, "base.yaml")
    return _write(tmp_path, {"name": "exp", "base": "base.yaml", **fields}, "exp.yaml")


def test_an_experiment_level_field_error_is_one_line(tmp_path):
    path = _experiment(tmp_path)
    data = yaml.safe_load(path.read_text())
    for field, value, fragment in [("name", -0.5, "name: -0.5"), ("replications", True, "replications: True"),
                                   ("seed", -1, "seed: -1")]:
        _write(tmp_path, {**data, field: value}, "exp.yaml")
        code, _, err = cli_here("validate", str(path))
        assert code == 2 and len(err.strip().splitlines()) == 1 and fragment in err, err
    plain = _write(tmp_path, {**SMALL, "name": -0.5}, "plain.yaml")
    code, _, err = cli_here("validate", str(plain))
    assert code == 2 and "name: -0.5" in err


def test_a_misspelt_kpi_is_refused_with_a_suggestion(tmp_path):
    code, _, err = cli_here("validate", str(_experiment(tmp_path, kpis=["masks_deliverd"])))
    assert code == 2 and "kpis[0]: 'masks_deliverd': not a KPI of this experiment" in err
    assert "did you mean masks_delivered" in err
    code, _, err = cli_here("validate", str(_experiment(tmp_path, kpis=["masks_delivered", "output.kind.textile"])))
    assert code == 0, err


@pytest.mark.parametrize("data", [line(horizon_days=6, inspect_min=0.5, pack_min=0.3, materials=True),
                                  yaml.safe_load((ROOT / "experiments" / "ci_regression.yaml").read_text())])
def test_every_kpi_a_run_produces_is_a_known_kpi_name(data):
    data = copy.deepcopy(data)
    data["horizon_days"] = 6
    scenario = Scenario.model_validate(data)
    result = simulate(RunSpec("k/p0/r000", "k", {}, 0, 3, scenario_dict(scenario)))
    known = kpi_names(Network(scenario, Streams(3, 0)))
    assert set(result.kpis) <= known, sorted(set(result.kpis) - known)


def test_a_path_set_by_a_scenario_and_the_sweep_is_refused(tmp_path):
    path = _experiment(tmp_path, scenarios={"base": {}, "fast": {"set": {"sites.workshop.stages.sew.operators": 3}}},
                       sweep={"grid": {"sites.workshop.stages.sew": [{"minutes_per_mask": 2, "operators": 2}]}})
    code, _, err = cli_here("validate", str(path))
    assert code == 2 and "scenarios.fast.set.sites.workshop.stages.sew.operators" in err
    assert "the sweep also sets sites.workshop.stages.sew" in err
    path = _experiment(tmp_path, sweep={"grid": {"lot_size": [50, 100]}})
    code, _, err = cli_here("validate", str(path), "--set", "lot_size=20")
    assert code == 2 and "--set: lot_size" in err and "would override it" in err


def test_set_reaches_documented_sections_and_refuses_impossible_dates(tmp_path):
    path = _write(tmp_path, SMALL, "s.yaml")
    assert cli_here("validate", str(path), "--set", "archetypes.esat.ceiling=0.5")[0] == 0
    code, _, err = cli_here("validate", str(path), "--set", "archetypes.esat.ceiling=5")
    assert code == 2 and "archetypes.esat.ceiling: 5" in err
    code, _, err = cli_here("validate", str(path), "--set", "start=2020-13-30")
    assert code == 2 and "'2020-13-30' is not a calendar date" in err


def test_regress_finds_the_repository_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli_here("regress", "--baseline", str(tmp_path / "none"))
    assert code == 2 and f"{tmp_path / 'none' / 'baseline.json'}: no baseline" in err  # the experiment was found


def test_out_refuses_a_folder_of_the_users_files(tmp_path):
    config = _write(tmp_path, SMALL, "s.yaml")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "summary.csv").write_text("my numbers\n")
    (mine / ".tmp-notes").write_text("my notes\n")
    code, _, err = cli_here("run", str(config), "--out", str(mine), "--workers", "1", "--no-report")
    assert code == 2 and "not results of 'resilience run'" in err and "summary.csv" in err
    assert (mine / "summary.csv").read_text() == "my numbers\n" and (mine / ".tmp-notes").exists()
    assert sorted(p.name for p in mine.iterdir()) == [".tmp-notes", "summary.csv"]


def test_a_model_error_is_recorded_and_reported_as_ours(tmp_path, monkeypatch):
    import sim.model

    def broken(spec):
        if spec.replication == 1:
            raise ZeroDivisionError("a model bug")
        return simulate(spec)

    monkeypatch.setattr(sim.model, "simulate", broken)
    config = _write(tmp_path, SMALL, "s.yaml")
    out = tmp_path / "out"
    code, _, err = cli_here("run", str(config), "--out", str(out), "--workers", "1", "--replications", "2",
                            "--no-report")
    assert code == 1
    assert "failed: base/p0/r001 (seed " in err and "ZeroDivisionError: a model bug" in err
    assert "This is a model error, not a problem with your input" in err
    manifest = json.loads((out / "manifest.json").read_text())
    failed = [r for r in manifest["runs"] if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["seed"] is not None and "a model bug" in failed[0]["error"]
