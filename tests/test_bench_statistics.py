"""benchmarks/bench_statistics.py: the verdicts it gives, and one real section run through it end to end."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def driver():
    spec = importlib.util.spec_from_file_location("bench_statistics", ROOT / "benchmarks" / "bench_statistics.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("kind, stated, measured, mc_se, expected", [
    ("error", 0.025, 0.030, 0.002, "FAILS"),     # 2.5 SE above the stated rate
    ("error", 0.025, 0.028, 0.002, "holds"),     # within 2 SE
    ("error", 0.025, 0.0251, 0.0, "FAILS"),      # an exact sum has no Monte Carlo allowance
    ("coverage", 0.95, 0.94, 0.004, "FAILS"),
    ("coverage", 0.95, 0.943, 0.004, "holds"),
])
def test_the_verdict_allows_two_monte_carlo_standard_errors_and_no_more(kind, stated, measured, mc_se, expected):
    row = {"kind": kind, "stated": stated, "measured": measured, "mc_se": mc_se}
    assert driver().verdict(row) == expected


def test_a_section_with_no_match_is_an_error(capsys):
    assert driver().main(["--only", "no_such_section"]) == 2
    assert "no benchmarks/stat_*.py matches" in capsys.readouterr().err


@pytest.mark.slow
def test_the_what_it_takes_section_runs_through_the_driver_and_every_claim_holds(tmp_path, capsys):
    out = tmp_path / "rows.json"
    assert driver().main(["--quick", "--only", "stat_what_it_takes", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert len(rows) == 16 and all(r["verdict"] == "holds" for r in rows)
    assert all(r["section"] == "stat_what_it_takes.py" and r["method"] == "what-it-takes" for r in rows)
    assert "16 claims, 16 hold, 0 fail" in capsys.readouterr().out
