"""Documentation that cannot rot: the generated config reference is current, and the example files
named in the docs validate."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sim.docgen import DOC, render

ROOT = Path(__file__).resolve().parent.parent


def test_the_config_reference_is_generated_from_the_current_schema():
    text = DOC.read_text(encoding="utf-8")
    assert render(text) == text, "docs/experiments.md is stale: run `python -m sim.docgen`"


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "experiments").glob("*.yaml")))
def test_every_shipped_experiment_validates(name, shipped_experiment):
    exp = shipped_experiment(name)
    assert exp.run_specs(1)


def test_the_readme_commands_are_what_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = next(line for line in readme.splitlines() if "pytest" in line and not line.startswith("#"))
    assert test_command.strip() in ci
    assert subprocess.run([sys.executable, "-m", "sim", "--help"], capture_output=True).returncode == 0


def test_every_number_of_the_2020_case_carries_its_source_or_the_word_assumption():
    from sim.assumptions import extract

    rows = extract(ROOT / "experiments" / "projet_resilience.yaml")
    assert len(rows) > 80
    missing = [r["path"] for r in rows if r["source"] == "not stated"]
    assert not missing, missing


def test_the_assumption_reader_follows_nesting_lists_and_comments(tmp_path):
    from sim.assumptions import extract

    path = tmp_path / "s.yaml"
    path.write_text("a:\n  # from the line above\n  b: 1\n  c:\n    - {x: 2}   # inline\n    - y: 3\nd: text\n")
    rows = {r["path"]: r["source"] for r in extract(path)}
    assert rows == {"a.b": "from the line above", "a.c[0]": "inline", "a.c[1].y": "not stated"}


def test_the_assumption_reader_follows_lists_as_pyyaml_writes_them(tmp_path):
    """yaml.safe_dump puts a key's list at the key's own indent and nests lists as `- - a`: the paths must
    still be the ones `--set` and the uncertain blocks take (routes[0].transit_days, not [0].transit_days)."""
    import yaml

    from sim.assumptions import extract

    data = {"calendars": {"one": {"shifts": [["08:00", "15:00"], ["16:00", "20:00"]]}},
            "routes": [{"from": "a", "to": "b", "transit_days": 1}, {"from": "b", "to": "c", "transit_days": 2}],
            "sites": {"s": {"cohorts": [{"size": 3}, {"size": 4}]}}, "lot_size": 100}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    rows = {r["path"]: r["value"] for r in extract(path)}
    assert rows == {"calendars.one.shifts[0][0]": "08:00", "calendars.one.shifts[0][1]": "15:00",
                    "calendars.one.shifts[1][0]": "16:00", "calendars.one.shifts[1][1]": "20:00",
                    "routes[0].transit_days": "1", "routes[1].transit_days": "2",
                    "sites.s.cohorts[0].size": "3", "sites.s.cohorts[1].size": "4", "lot_size": "100"}


def test_the_assumptions_table_states_the_speed_cap_of_declared_operators(shipped_experiment):
    from sim.assumptions import extract, with_operator_speeds

    exp = shipped_experiment("projet_resilience.yaml")
    notes = {r["path"]: r["note"] for r in with_operator_speeds(extract(exp.base_file), exp.base) if "note" in r}
    # 0.4 min/mask is 150 masks/h at the standard time; a packaging site's ceiling is 0.6
    assert "90 masks/h each (150 at the standard time)" in notes["sites.packing_north.stages.pack"]
    assert "prison ceiling 0.2" in notes["sites.prison_val_de_reuil.stages.inspect"]


def test_sources_are_cited_inside_the_repository():
    """Code and experiments cite docs/sources.md, never a file outside the product."""
    assert (ROOT / "docs" / "sources.md").is_file()
    offenders = [str(p.relative_to(ROOT)) for pattern in ("sim/**/*.py", "experiments/*.yaml", "docs/*.md", "README.md")
                 for p in ROOT.glob(pattern) if "shared/domain" in p.read_text(encoding="utf-8")]
    assert offenders == []


# Here rather than in test_uncertainty.py: the 2020 study (97 networks built) is then loaded once per test run,
# by test_every_shipped_experiment_validates, on one worker.
def test_the_2020_study_declares_at_least_25_sourced_ranges(shipped_experiment) -> None:
    exp = shipped_experiment("uncertainty_2020.yaml")
    assert exp.study is not None and len(exp.study.params) >= 25
    assert all(p.source and p.label for p in exp.study.params.values())
    assert exp.study.design.method == "morris"
    assert exp.study.design.warnings() == []  # >= 10 trajectories and >= 10 runs of the nominal point
    nominal = exp.resolved[("base", 0)]
    assert nominal.archetypes["esat"]["ceiling"] == 0.2  # the archetypes written out keep the code's values


def test_the_lock_pins_every_dependency_within_its_range():
    """README, .ci/run and so the tests install with `-c requirements/lock.txt`: a dependency added to pyproject
    without regenerating the lock (or a lock pin outside a range) would leave a fresh install unpinned."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"],
              *project["optional-dependencies"]["dask"]]
    pins = {}
    for raw in (ROOT / "requirements" / "lock.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name.split("[")[0])] = version
    problems = []
    for text in wanted:
        req = Requirement(text)
        pin = pins.get(canonicalize_name(req.name))
        if pin is None or not req.specifier.contains(pin, prereleases=True):
            problems.append(f"{req}: lock has {pin}")
    assert not problems, problems
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "-c requirements/lock.txt" in ci
    assert len(re.findall(r"pip install (?:-q )?-c requirements/lock\.txt -e", readme)) == 2
