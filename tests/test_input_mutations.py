"""Random INVALID mutations of valid configs: `resilience validate` answers exit 0 or exit 2 with exactly one
line naming the file (and, for a changed value, the field path), never a traceback; and any mutation that
validates also runs (`sim.model.simulate` without an exception).

The valid configs mutated: the scenario files of experiments/ and the small networks of tests/scenarios.py
(and, about half the time, a random valid network of tests/strategies.py when that module is present).
The CLI runs in this process (`sim.cli.main`) for speed. MUTATION_EXAMPLES examples run in CI; the count
of each outcome is printed (run pytest with -s to see it).
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.config import Scenario, render_path, scenario_dict
from sim.model import simulate
from sim.spec import RunSpec
from sim.studies import load_experiment
from tests.scenarios import line

ROOT = Path(__file__).resolve().parent.parent
MUTATION_EXAMPLES = 120
RUN_HORIZON_DAYS = 7  # a mutation that validates is run on its first days (what fails, fails at build or early)


def _with_channels(data: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(data)
    data["channels"] = {"public": {"weekly": 2000, "price": 0.5,
                                   "orders": [{"date": "2020-04-01", "masks": 500, "due": "2020-04-08"}]}}
    data["certification"] = {"lab": {"tests_per_bench_per_day": 4, "background_per_day": [["2020-03-30", 2.0]]}}
    data["targets"] = {"first": {"masks": 1000, "by": "2020-04-20"}}
    return data


def _with_group(data: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(data)
    data["groups"] = {"esats": {"kind": "esat", "count": 3, "size": {"tri": [4, 8, 12]},
                                "start": {"uniform": ["2020-03-30", "2020-04-06"]},
                                "stages": {"sew": {"minutes_per_mask": 2.5}}}}
    data["routes"].append({"from": "esats", "to": ["platform"], "transit_days": {"uniform": [0.5, 2]},
                           "lane": {"mode": "daily", "departure_hour": 16}})
    return data


def _valid_configs() -> list[tuple[str, dict[str, Any]]]:
    configs = []
    for path in sorted((ROOT / "experiments").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        if "base" not in data:  # a scenario file (experiment files point at one of these)
            configs.append((path.stem, data))
    configs += [
        ("line", line(horizon_days=10)),
        ("line_full", _with_channels(line(horizon_days=10, inspect_min=0.5, pack_min=0.3, materials=True))),
        ("line_group", _with_group(_with_channels(line(horizon_days=10)))),
    ]
    return configs


VALID = _valid_configs()

try:  # the random valid networks of the property-based generator (tests/strategies.py), when present
    from tests.strategies import valid_scenarios

    SOURCES = st.one_of(st.sampled_from(VALID), valid_scenarios().map(lambda data: ("generated", data)))
except ImportError:
    SOURCES = st.sampled_from(VALID)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside the config (mappings and lists included)."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


def _parent(data: Any, path: tuple) -> Any:
    node = data
    for step in path[:-1]:
        node = node[step]
    return node


WRONG_VALUES = {
    "text": "abc",
    "list": [1, 2],
    "mapping": {"x": 1},
    "null": None,
    "bool": True,
    "nan": math.nan,
    "inf": math.inf,
    "-inf": -math.inf,
    "negative": -1,
    "very negative": -1e9,
    "huge float": 1e30,
    "huge int": 10**25,
    "max float": 1e308,
    "zero": 0,
    "bad date": "2020-02-30",
    "broken reference": "no_such_thing",
}

MUTATIONS = [*WRONG_VALUES, "typo in a key", "drop a key"]


@st.composite
def mutated_configs(draw: st.DrawFn) -> tuple[str, str, tuple, dict[str, Any]]:
    name, valid = draw(SOURCES)
    data = copy.deepcopy(valid)
    path = draw(st.sampled_from(_paths(data)))
    kind = draw(st.sampled_from(MUTATIONS))
    parent = _parent(data, path)
    key = path[-1]
    if kind == "typo in a key" and isinstance(key, str):
        position = draw(st.integers(0, len(key)))
        parent[key[:position] + draw(st.sampled_from("xq_")) + key[position:]] = parent.pop(key)
    elif kind == "drop a key" and isinstance(key, str):
        del parent[key]
    else:
        kind = kind if kind in WRONG_VALUES else "text"
        parent[key] = copy.deepcopy(WRONG_VALUES[kind])
    return name, kind, path, data


def _validate(path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["validate", str(path)])
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def _run_briefly(path: Path) -> None:
    """Run every resolved scenario of a config that validated, on its first days."""
    exp = load_experiment(path)
    for scenario in exp.resolved.values():
        data = scenario_dict(scenario)
        data["horizon_days"] = min(data["horizon_days"], RUN_HORIZON_DAYS)
        short = Scenario.model_validate(data)
        simulate(RunSpec("mutant/p0/r000", "mutant", {}, 0, exp.seed, scenario_dict(short)))


OUTCOMES: Counter[str] = Counter()
SOURCES_SEEN: Counter[str] = Counter()


@settings(max_examples=MUTATION_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_configs())
def test_a_mutated_config_is_refused_in_one_line_or_runs(case):
    name, kind, changed, data = case
    SOURCES_SEEN["random valid network" if name == "generated" else "config file or tests/scenarios.py"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        code, out, err = _validate(path)
        assert "Traceback" not in err + out
        if code == 0:
            OUTCOMES["validated and ran"] += 1
            _run_briefly(path)
            return
        OUTCOMES["refused in one line"] += 1
        assert code == 2, (kind, changed, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1, (kind, changed, lines)
        assert lines[0].startswith(f"error: {path}"), lines[0]
        if kind in WRONG_VALUES and kind != "broken reference" and len(changed) >= 2:
            # the line names where the bad value is: its section and entry at least (a cross-field rule
            # names the entry that holds both fields; a reference, the place that refers)
            assert render_path(list(changed[:1])) in lines[0], (kind, changed, lines[0])


def test_zz_mutation_counts_are_reported(capsys):
    """Runs after the property test (alphabetical order within the module): prints the counts."""
    total = sum(OUTCOMES.values())
    with capsys.disabled():
        print(f"\nmutated configs: {total} ({dict(OUTCOMES)}); mutated from: {dict(SOURCES_SEEN)}")
    if total:
        assert OUTCOMES["refused in one line"] > total // 2


@pytest.mark.parametrize("name", [n for n, _ in VALID])
def test_every_valid_config_validates(name, tmp_path):
    data = dict(VALID)[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    code, out, err = _validate(path)
    assert code == 0 and out.startswith("ok"), err
