import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.analysis import (
    fan_bands,
    paired_difference,
    replications_needed,
    summarise,
    t_interval,
    unpaired_difference,
    wilson_interval,
)


def test_wilson_interval_known_values():
    p, low, high = wilson_interval(8, 10)
    assert p == 0.8 and low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert wilson_interval(0, 20)[1] == 0.0 and wilson_interval(20, 20)[2] == 1.0


def test_t_interval_known_values():
    mean, half, low, high = t_interval([2.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0, np.nan])
    # n = 7, mean 36/7, s = 2.23607; t(0.975, 6) = 2.446912
    assert mean == pytest.approx(36 / 7)
    assert half == pytest.approx(2.446912 * np.std([2, 4, 4, 5, 5, 7, 9], ddof=1) / np.sqrt(7), rel=1e-6)
    assert (low, high) == pytest.approx((mean - half, mean + half))


def test_paired_interval_is_narrower_than_unpaired_under_positive_correlation():
    rng = np.random.default_rng(0)
    common = rng.normal(100, 10, 30)
    a = common + rng.normal(0, 1, 30)
    b = common + 2 + rng.normal(0, 1, 30)
    paired = paired_difference(a, b)
    unpaired = unpaired_difference(a, b)
    assert paired[1] < unpaired[1] / 3
    assert paired[2] <= 2 <= paired[3]


def test_unpaired_matches_welch():
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 9.0, 10.0]
    _diff, _half, low, high = unpaired_difference(a, b)
    res = stats.ttest_ind(b, a, equal_var=False)
    ci = res.confidence_interval(0.95)
    assert (low, high) == pytest.approx((ci.low, ci.high))


def test_replications_needed_scales_with_the_square_of_the_precision():
    x = np.random.default_rng(1).normal(100, 20, 10)
    mean, half, _, _ = t_interval(x)
    assert half > 0.05 * mean  # ten replications are not enough here
    assert replications_needed(x, 0.05) == int(np.ceil(10 * (half / (0.05 * mean)) ** 2))
    assert replications_needed(x, 0.5) == 10  # already precise enough: never fewer than we have


def runs_frame() -> pd.DataFrame:
    rows = []
    for scenario, shift in (("base", 0.0), ("better", 10.0)):
        for r in range(4):
            rows.append({"run_id": f"{scenario}/p0/r{r}", "scenario": scenario, "replication": r, "seed": r,
                         "status": "ok", "error": None, "wall_seconds": 1.0,
                         "masks": 100.0 + r + shift, "day_target.goal": np.nan if r == 3 else 20.0 - shift / 10,
                         "reached_by_date.goal": 0.0 if r == 3 else 1.0})
    return pd.DataFrame(rows)


def test_summarise_gives_intervals_paired_differences_and_probabilities():
    summary = summarise(runs_frame(), None, "base")
    row = summary[(summary["scenario"] == "better") & (summary["kpi"] == "masks")].iloc[0]
    assert row["mean"] == pytest.approx(111.5) and row["n"] == 4
    assert row["diff_vs_base"] == pytest.approx(10.0) and row["diff_ci_low"] == pytest.approx(10.0)
    goal = summary[(summary["scenario"] == "base") & (summary["kpi"] == "day_target.goal")].iloc[0]
    assert goal["n"] == 3 and goal["mean"] == 20.0
    prob = summary[(summary["scenario"] == "base") & (summary["kpi"] == "P(reached_by_date.goal)")].iloc[0]
    assert prob["mean"] == 0.75 and prob["ci_low"] == pytest.approx(wilson_interval(3, 4)[1])


def test_fan_bands_quantiles_per_day():
    series = pd.DataFrame({"scenario": "s", "day": [0, 0, 0, 1, 1, 1], "series": "cum_delivered", "key": "all",
                           "value": [1.0, 2.0, 3.0, 10.0, 20.0, 30.0], "replication": [0, 1, 2, 0, 1, 2]})
    bands = fan_bands(series)
    assert list(bands["p50"]) == [2.0, 20.0]
    assert bands["p5"].iloc[1] == pytest.approx(11.0)
