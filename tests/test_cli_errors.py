"""Bad input: one clear line naming file, field path, value and what is allowed; exit 2; no traceback;
nothing already written is touched."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.scenarios import line

GOOD = line(horizon_days=5)


def write(tmp_path: Path, data: object, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, timeout=120)


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
def test_bad_config_exits_2_with_one_clear_line(tmp_path, case, command):
    data, fragments = CASES[case]
    path = write(tmp_path, data)
    out = tmp_path / "results"
    out.mkdir()
    sentinel = out / "runs.parquet"
    sentinel.write_bytes(b"earlier results")
    args = [command, str(path)] + (["--out", str(out), "--workers", "1"] if command == "run" else [])
    proc = run_cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {path}")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert sentinel.read_bytes() == b"earlier results"
    assert sorted(p.name for p in out.iterdir()) == ["runs.parquet"]


def test_a_missing_file_is_bad_input(tmp_path):
    proc = run_cli("validate", str(tmp_path / "nope.yaml"))
    assert proc.returncode == 2 and "no such file" in proc.stderr and "Traceback" not in proc.stderr


def test_a_bad_override_names_the_path(tmp_path):
    path = write(tmp_path, GOOD)
    proc = run_cli("validate", str(path), "--set", "sites.workshop.stages.sew.minutes_per_mask=-1")
    assert proc.returncode == 2
    assert "sites.workshop.stages.sew.minutes_per_mask: -1" in proc.stderr
    proc = run_cli("validate", str(path), "--set", "sites.nowhere.start=2020-04-01")
    assert proc.returncode == 2 and "sites.nowhere" in proc.stderr and "known: platform, workshop" in proc.stderr


def test_a_good_file_validates(tmp_path):
    proc = run_cli("validate", str(write(tmp_path, GOOD)))
    assert proc.returncode == 0 and proc.stdout.startswith("ok")
