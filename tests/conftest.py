"""Shared fixtures: one small REAL experiment, run once per test session, whose results folder the chart,
report, contract and API tests read (instead of a fake writer of the tables).

The experiment is tests/data/fixture_experiment.yaml (the CI network, 35 days, base against a faster lab,
3 replications) run through the same steps as `resilience run --no-report`: the real model, the real
runner, the manifest and summary the CLI writes. One run fails for real: its spec carries a lot size the
model rejects, so failed-run handling is exercised on a real failure.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import settings

# A 2-core machine shared with other jobs: a per-example deadline would make property tests flaky.
settings.register_profile("shared-machine", deadline=None)
settings.load_profile("shared-machine")

FIXTURE_EXPERIMENT = Path(__file__).resolve().parent / "data" / "fixture_experiment.yaml"
FIXTURE_OVERRIDES = ["horizon_days=35", "targets.quarter_million_delivered.by=2020-05-02"]
"""Base overrides (an experiment file cannot override its base for every scenario): a short horizon and
one dated target, so the report has a probability to state. Both are assumptions for the fixture."""
FAILED_RUN = "more_smes/p0/r002"


def run_fixture_experiment(out: Path) -> Path:
    from sim.model import simulate
    from sim.results.analysis import write_summary
    from sim.runs.driver import run_specs
    from sim.studies import load_experiment, manifest_extra

    exp = load_experiment(FIXTURE_EXPERIMENT, overrides=FIXTURE_OVERRIDES)
    specs = [dataclasses.replace(s, scenario={**s.scenario, "lot_size": -5}) if s.run_id == FAILED_RUN else s
             for s in exp.run_specs()]
    command = f"resilience run {FIXTURE_EXPERIMENT.name} " + " ".join(f"--set {o}" for o in FIXTURE_OVERRIDES)
    outcome = run_specs(specs, out, simulate=simulate, workers=1, progress=False,
                        manifest_extra=manifest_extra(exp, command))
    assert [run_id for run_id, _ in outcome.failed] == [FAILED_RUN]
    write_summary(out, exp)
    return out


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished results folder of a real experiment (do not modify: copy it first)."""
    return run_fixture_experiment(tmp_path_factory.mktemp("fixture") / "fixture")


@pytest.fixture(scope="session")
def shipped_experiment():
    """`shipped_experiment("uncertainty_2020.yaml")`: a file of experiments/ loaded once per test session
    (loading builds the network of every scenario and design point: 97 of them for the 2020 study). Read only."""
    from sim.studies import load_experiment

    loaded: dict[str, object] = {}
    folder = Path(__file__).resolve().parent.parent / "experiments"

    def load(name: str):
        if name not in loaded:
            loaded[name] = load_experiment(folder / name)
        return loaded[name]

    return load


LEVER_TARGET = "quarter_million_delivered"


def write_two_levers(out: Path) -> None:
    """levers.csv as the decision layer writes it: a cheap lever that gains many masks and few days, a dear one
    that gains many days (the first screen ranks levers by days gained, not by masks)."""
    import pandas as pd

    from sim.decisions.ranking import LEVER_COLUMNS

    lever = {"target": LEVER_TARGET, "amount": 1.0, "unit": "", "from": "2020-04-06", "people": 10.0,
             "lead_time_days": 3.0, "cost_source": "assumption", "n": 3, "censored_pairs": 0,
             "interval_confidence": 0.9875}  # the Bonferroni level once replications were added (4 looks)
    pd.DataFrame([
        {**lever, "rank": 1, "lever": "cheap_small", "description": "a cheap lever", "euros": 1e5,
         "days_gained": 1.0, "days_gained_low": 0.5, "days_gained_high": 1.5, "masks_gained": 9e5},
        {**lever, "rank": 2, "lever": "dear_big", "description": "a dear lever", "euros": 2e6,
         "days_gained": 4.0, "days_gained_low": 3.0, "days_gained_high": 5.0, "masks_gained": 1e5},
    ]).assign(days_per_meur=lambda t: t["days_gained"] / t["euros"] * 1e6, days_per_100_people=lambda t:
              t["days_gained"] / t["people"] * 100, p_base=0.0, p_lever=0.0, dp=0.0, dp_low=0.0, dp_high=0.0,
              masks_by="2020-04-20", masks_gained_low=0.0, masks_gained_high=1e6,
              ).reindex(columns=list(LEVER_COLUMNS)).to_csv(out / "levers.csv", index=False)


@pytest.fixture(scope="session")
def drawn_report(results_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`write_report` on a copy of the session's results with two levers added (levers.csv): the path it returns
    (report.html; charts/, summary.html beside it). Drawing the report is the costliest step of the report
    tests, so tests/test_charts_report.py and tests/test_report_first_screen.py share this one. Read only."""
    import shutil

    from sim.report import write_report

    out = Path(shutil.copytree(results_dir, tmp_path_factory.mktemp("drawn_report") / "fixture"))
    write_two_levers(out)
    return write_report(out)
