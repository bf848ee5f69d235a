"""Foundation checks of the lot-level model against numbers that follow from its inputs."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from sim.model import simulate
from tests.scenarios import line, spec_of


def sew_rows(result):
    daily = result.daily
    return daily[(daily["site"] == "workshop") & (daily["stage"] == "sew")].set_index("day")


def test_capacity_equals_operators_times_efficiency_times_hours_over_minutes():
    # 4 skilled sewers (textile ceiling 1.0), 7 h shifts, 2.0 min per mask, deterministic times, nobody
    # absent: 4 x 1.0 x 7 x 60 / 2.0 = 840 masks per working day. Cutting is 8x faster, never the limit.
    data = line(lot_size=20, horizon_days=21, cv=0.0, sew_min=2.0, cut_min=0.25, operators={"sew": 4})
    result = simulate(spec_of(data))
    rows = sew_rows(result)
    expected = 4 * 1.0 * 7 * 60 / 2.0
    working_days = rows[rows["working_h"] > 0].index[1:-1]  # whole days after the first lot, before the end
    assert len(working_days) >= 10
    for day in working_days:
        assert abs(rows.loc[day, "output"] - expected) <= data["lot_size"], (day, rows.loc[day, "output"])
    weekend = rows[rows["date"].dt.day_of_week >= 5]
    assert (weekend["output"] == 0).all() and (weekend["working_h"] == 0).all()


def test_state_hours_add_up_to_whole_days():
    result = simulate(spec_of(line(horizon_days=14, cv=0.3)))
    site_rows = result.daily[result.daily["site"] == "workshop"]
    totals = site_rows[["working_h", "starved_h", "blocked_h", "off_shift_h", "down_h"]].sum(axis=1)
    assert np.allclose(totals, 24.0)


def test_a_stage_starved_of_elastic_produces_nothing_and_says_so():
    data = line(horizon_days=10, materials=True)
    data["sites"]["workshop"]["stocks"] = {"fabric": 10_000}  # plenty of fabric, no elastic at all
    result = simulate(spec_of(data))
    cut = result.daily[(result.daily["site"] == "workshop") & (result.daily["stage"] == "cut")]
    assert cut["output"].sum() == 0
    assert result.kpis["masks_started"] == 0
    working_days = cut[cut["date"].dt.day_of_week < 5]
    assert np.allclose(working_days["starved_h"], 7.0)
    assert working_days["working_h"].sum() == 0


def test_elastic_arriving_ends_the_starvation():
    data = line(horizon_days=14, materials=True)
    data["sites"]["workshop"]["stocks"] = {"fabric": 10_000}
    data["suppliers"] = {"elastic_mill": {"material": "elastic", "capacity_per_day": 1000,
                                          "lead_time_days": 3, "customers": ["workshop"]}}
    result = simulate(spec_of(data))
    cut = result.daily[(result.daily["site"] == "workshop") & (result.daily["stage"] == "cut")].set_index("day")
    assert cut.loc[0:2, "output"].sum() == 0  # nothing before the first delivery (lead time 3 days)
    assert cut.loc[3:, "output"].sum() > 0
    assert result.kpis["masks_started"] > 0


@pytest.mark.slow
def test_lot_level_matches_per_mask_throughput():
    """The same tandem line (cut, sew, inspect, pack; per-mask times gamma with cv 0.5) with lots of 1
    mask and lots of 500. Tolerance: the difference of means must lie within 4 standard errors of the
    difference plus one lot per stage (what can be in process at the horizon), so the test fails on a
    real bias of more than that and almost never on noise (4 SE: two-sided p ~ 6e-5)."""
    n = 8
    sewn = {}
    for lot in (1, 500):
        values = []
        for r in range(n):
            data = line(lot_size=lot, horizon_days=40, cv=0.5, cut_min=0.8, sew_min=2.0, inspect_min=0.5,
                        pack_min=0.6, operators={"sew": 1})
            values.append(simulate(spec_of(data, replication=r)).kpis["masks_sewn"])
        sewn[lot] = np.array(values)
    diff = sewn[1].mean() - sewn[500].mean()
    se = math.sqrt(sewn[1].var(ddof=1) / n + sewn[500].var(ddof=1) / n)
    assert abs(diff) <= 4 * se + 500 * 4, (sewn, diff, se)
    # and both are the line's capacity: 1 sewer x 7 h x 60 / 2 min per working day
    working_days = int(np.busday_count("2020-03-30", "2020-05-09"))  # no holidays in this calendar
    assert sewn[1].mean() == pytest.approx(working_days * 7 * 60 / 2.0, rel=0.05)


@pytest.mark.slow
def test_projet_resilience_conserves_masks_and_is_deterministic_across_processes(tmp_path):
    code = (
        "import json, sys, hashlib\n"
        "from sim.experiment import load_experiment\n"
        "from sim.model import simulate\n"
        "spec = load_experiment('experiments/projet_resilience.yaml').run_specs(1)[0]\n"
        "r = simulate(spec)\n"
        "digest = hashlib.sha256(r.daily.to_csv().encode() + r.series.to_csv().encode()).hexdigest()\n"
        "print(json.dumps({'kpis': r.kpis, 'tables': digest}))\n"
    )
    outputs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
               for _ in range(2)]
    first, second = (json.loads(o) for o in outputs)
    assert first["tables"] == second["tables"]
    assert json.dumps(first["kpis"], sort_keys=True) == json.dumps(second["kpis"], sort_keys=True)
    assert first["kpis"]["masks_delivered"] > 0  # simulate() raises if conservation breaks
