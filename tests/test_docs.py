"""Documentation that cannot rot: the generated config reference is current, and the example files
named in the docs validate."""

import subprocess
import sys
from pathlib import Path

import pytest

from sim.docgen import DOC, render
from sim.experiment import load_experiment

ROOT = Path(__file__).resolve().parent.parent


def test_the_config_reference_is_generated_from_the_current_schema():
    text = DOC.read_text(encoding="utf-8")
    assert render(text) == text, "docs/experiments.md is stale: run `python -m sim.docgen`"


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "experiments").glob("*.yaml")))
def test_every_shipped_experiment_validates(name):
    exp = load_experiment(ROOT / "experiments" / name)
    assert exp.run_specs(1)


def test_the_readme_commands_are_what_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = next(line for line in readme.splitlines() if "pytest" in line and not line.startswith("#"))
    assert test_command.strip() in ci
    assert subprocess.run([sys.executable, "-m", "sim", "--help"], capture_output=True).returncode == 0
