"""Bad input: one clear line naming file, field path, value and what is allowed; exit 2; no traceback;
nothing already written is touched.

The messages are checked in-process (`sim.cli.main` with captured output: no interpreter start per case);
one test runs a real process, for what only a process shows (exit status, no traceback on stderr).
"""

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from sim.cli import main
from tests.scenarios import line

GOOD = line(horizon_days=5)


def write(tmp_path: Path, data: object, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., subprocess.CompletedProcess]:
    """`sim.cli.main(args)` in this process, its exit code and output as a CompletedProcess."""

    def call(*args: str) -> subprocess.CompletedProcess:
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse errors exit
            code = exc.code if isinstance(exc.code, int) else 2
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, out, err)

    return call


def mutated(change) -> dict:
    import copy

    data = copy.deepcopy(GOOD)
    change(data)
    return data


CASES = {
    "typo in a key": (
        mutated(lambda d: d["sites"]["workshop"]["stages"]["sew"].update({"minutes_per_mask": 2.0,
                                                                          "minutes_per_msk": 2.0})),
        ["sites.workshop.stages.sew.minutes_per_msk", "unknown field", "allowed: minutes_per_mask"]),
    "negative rate": (
        mutated(lambda d: d["sites"]["workshop"]["stages"]["sew"].update({"minutes_per_mask": -2.0})),
        ["sites.workshop.stages.sew.minutes_per_mask", "-2.0", "greater than 0"]),
    "unknown site in a route": (
        mutated(lambda d: d["routes"][0].update({"to": ["platfrom"]})),
        ["routes[0].to[0]", "'platfrom'", "unknown site or group", "platform"]),
    "route cycle (refused as going backwards in the stage order: no cycle can pass that rule)": (
        mutated(lambda d: (d["sites"].update({"b": {"kind": "textile", "stages": {"sew": {"minutes_per_mask": 2,
                                                                                          "operators": 1}}}}),
                           d["routes"].__setitem__(0, {"from": "workshop", "to": ["b"]}),
                           d["routes"].append({"from": "b", "to": ["workshop"]}))),
        ["routes[", "cannot take the output"]),
    "unknown material at a site": (
        mutated(lambda d: d["sites"]["workshop"].update({"stocks": {"elastik": 5}})),
        ["sites.workshop.stocks.elastik", "unknown material"]),
    "empty file": ("", ["empty"]),
    "broken YAML": ("name: x\nsites: [unclosed\n", ["broken YAML at line"]),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("command", ["run", "validate"])
def test_bad_config_exits_2_with_one_clear_line(tmp_path, cli, case, command):
    data, fragments = CASES[case]
    path = write(tmp_path, data)
    out = tmp_path / "results"
    out.mkdir()
    sentinel = out / "runs.parquet"
    sentinel.write_bytes(b"earlier results")
    args = [command, str(path)] + (["--out", str(out), "--workers", "1"] if command == "run" else [])
    proc = cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {path}")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert sentinel.read_bytes() == b"earlier results"
    assert sorted(p.name for p in out.iterdir()) == ["runs.parquet"]


def test_a_real_process_exits_2_without_traceback(tmp_path):
    path = write(tmp_path, CASES["negative rate"][0])
    proc = run_cli("run", str(path), "--out", str(tmp_path / "out"), "--workers", "1")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and "minutes_per_mask" in proc.stderr


def test_a_missing_file_is_bad_input(tmp_path, cli):
    proc = cli("validate", str(tmp_path / "nope.yaml"))
    assert proc.returncode == 2 and "no such file" in proc.stderr and "Traceback" not in proc.stderr


def test_a_bad_override_names_the_path(tmp_path, cli):
    path = write(tmp_path, GOOD)
    proc = cli("validate", str(path), "--set", "sites.workshop.stages.sew.minutes_per_mask=-1")
    assert proc.returncode == 2
    assert "sites.workshop.stages.sew.minutes_per_mask: -1" in proc.stderr
    proc = cli("validate", str(path), "--set", "sites.nowhere.start=2020-04-01")
    assert proc.returncode == 2 and "sites.nowhere" in proc.stderr and "known: platform, workshop" in proc.stderr


def test_a_good_file_validates(tmp_path, cli):
    proc = cli("validate", str(write(tmp_path, GOOD)))
    assert proc.returncode == 0 and proc.stdout.startswith("ok")
