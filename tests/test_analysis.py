"""Output analysis against hand-computed values and scipy's own implementations."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from sim.results.analysis import (
    SUMMARY_COLUMNS,
    fan_bands,
    paired_difference,
    replications_needed,
    summarise,
    t_interval,
    unpaired_difference,
    wilson_interval,
)

# ------------------------------------------------------------------------------------------------
# intervals
# ------------------------------------------------------------------------------------------------


def test_wilson_interval_known_values():
    # by hand: z² = 3.841459, denominator 1.384146, centre 0.716740, half width 0.226577
    p, low, high = wilson_interval(8, 10)
    assert p == 0.8 and low == pytest.approx(0.490162, abs=1e-6) and high == pytest.approx(0.943318, abs=1e-6)
    # 0 of 20: the lower bound is exactly 0 and the upper z² / (n + z²)
    z2 = stats.norm.ppf(0.975) ** 2
    assert wilson_interval(0, 20) == pytest.approx((0.0, 0.0, z2 / (20 + z2)))
    assert wilson_interval(20, 20)[2] == 1.0
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


@given(n=st.integers(1, 500), data=st.data(), confidence=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_interval_matches_scipy(n, data, confidence):
    k = data.draw(st.integers(0, n))
    p, low, high = wilson_interval(k, n, confidence)
    ci = stats.binomtest(k, n).proportion_ci(confidence, method="wilson")
    assert (low, high) == pytest.approx((ci.low, ci.high), abs=1e-12)
    assert low <= p <= high


def test_wilson_interval_refuses_impossible_counts():
    with pytest.raises(ValueError):
        wilson_interval(11, 10)
    with pytest.raises(ValueError):
        wilson_interval(1, 10, confidence=95)


def test_t_interval_known_values():
    mean, half, low, high = t_interval([2.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0, np.nan])
    # n = 7 (the NaN is dropped), mean 36/7, s² = (216 - 7 (36/7)²) / 6 = 36/7, t(0.975, 6) = 2.446912
    assert mean == pytest.approx(36 / 7)
    assert half == pytest.approx(2.446912 * math.sqrt(36 / 7) / math.sqrt(7), rel=1e-6)
    assert (low, high) == pytest.approx((3.045504, 7.240210), abs=1e-6)
    assert t_interval([1.0, 3.0], 0.9)[1] == pytest.approx(stats.t.ppf(0.95, 1) * math.sqrt(2) / math.sqrt(2))


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=40),
       st.sampled_from([0.8, 0.95, 0.99]))
def test_intervals_agree_with_scipy_stats_own(x, confidence):
    """sim.results.analysis computes the intervals from scipy.special quantiles (importing scipy.stats costs about a
    second on every CLI run, docs/performance.md); they must agree with scipy.stats' own intervals."""
    values = np.asarray(x)
    mean, half, low, high = t_interval(values, confidence)
    n = len(values)
    textbook = stats.t.ppf(0.5 + confidence / 2, n - 1) * values.std(ddof=1) / math.sqrt(n)
    assert half == pytest.approx(textbook, rel=1e-9, abs=1e-6) and low <= mean <= high
    if values.std() > 1e-6 * max(1.0, abs(values).max()):  # scipy's t statistic needs some spread
        ci = stats.ttest_1samp(values, 0.0).confidence_interval(confidence_level=confidence)
        assert (low, high) == pytest.approx((ci.low, ci.high), rel=1e-9, abs=1e-6)
    shifted = values + 3.0 + np.linspace(0, 1, n)  # paired, with some spread in the differences
    diff, half_d, _, _ = paired_difference(values, shifted, confidence)
    d = shifted - values
    assert diff == pytest.approx(d.mean()) and half_d == pytest.approx(
        stats.t.ppf(0.5 + confidence / 2, n - 1) * d.std(ddof=1) / math.sqrt(n), rel=1e-9, abs=1e-9)


def test_intervals_without_spread_are_the_point():
    assert t_interval([5.0, 5.0, 5.0]) == (5.0, 0.0, 5.0, 5.0)
    assert paired_difference([1.0, 2.0], [2.0, 3.0]) == (1.0, 0.0, 1.0, 1.0)
    assert unpaired_difference([1.0, 1.0], [3.0, 3.0]) == (2.0, 0.0, 2.0, 2.0)


def test_t_interval_with_too_few_values():
    assert t_interval([4.0, np.nan])[0] == 4.0 and all(math.isnan(v) for v in t_interval([4.0])[1:])
    assert all(math.isnan(v) for v in t_interval([np.nan, np.nan]))
    assert t_interval(pd.Series([1.0, None, 3.0], dtype="Float64"))[0] == 2.0  # pandas NA counts as missing


def test_paired_interval_is_narrower_than_unpaired_under_positive_correlation():
    rng = np.random.default_rng(0)
    common = rng.normal(100, 10, 30)
    a = common + rng.normal(0, 1, 30)
    b = common + 2 + rng.normal(0, 1, 30)
    paired = paired_difference(a, b)
    unpaired = unpaired_difference(a, b)
    assert paired[0] == pytest.approx(unpaired[0])  # same point estimate, much tighter interval
    assert paired[1] < unpaired[1] / 3
    assert paired[2] <= 2 <= paired[3]
    ci = stats.ttest_rel(b, a).confidence_interval(0.95)
    assert (paired[2], paired[3]) == pytest.approx((ci.low, ci.high))


def test_paired_difference_drops_incomplete_pairs():
    diff, half, _, _ = paired_difference([1.0, 2.0, np.nan, 4.0], [3.0, 3.0, 7.0, np.nan])
    assert diff == pytest.approx(1.5)  # pairs (1, 3) and (2, 3) only
    assert half == pytest.approx(stats.t.ppf(0.975, 1) * np.std([2, 1], ddof=1) / math.sqrt(2))
    with pytest.raises(ValueError, match="same length"):
        paired_difference([1.0, 2.0], [1.0])


def test_unpaired_matches_welch():
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 9.0, 10.0]
    diff, _half, low, high = unpaired_difference(a, b)
    ci = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert diff == pytest.approx(6.2 - 2.5)
    assert (low, high) == pytest.approx((ci.low, ci.high))


def test_replications_needed_known_value():
    # x = 90, 110: mean 100, s = 14.142, h = t(0.975, 1) × s / √2 = 127.062; h* = 5 -> 2 × (127.062 / 5)²
    assert replications_needed([90.0, 110.0], 0.05) == math.ceil(2 * (12.706204736 * 10 / 5) ** 2) == 1292


def test_replications_needed_scales_with_the_square_of_the_precision():
    x = np.random.default_rng(1).normal(100, 20, 10)
    mean, half, _, _ = t_interval(x)
    assert half > 0.05 * mean  # ten replications are not enough here
    assert replications_needed(x, 0.05) == math.ceil(10 * (half / (0.05 * mean)) ** 2)
    assert replications_needed(x, 0.025) == pytest.approx(4 * replications_needed(x, 0.05), rel=0.01)
    assert replications_needed(x, 0.5) == 10  # already precise enough: never fewer than we have
    assert replications_needed([5.0]) == 1 and replications_needed([-1.0, 1.0]) == 2  # not estimable


# ------------------------------------------------------------------------------------------------
# fan bands
# ------------------------------------------------------------------------------------------------


def test_fan_bands_quantiles_per_scenario_and_day():
    series = pd.DataFrame({
        "scenario": ["s"] * 6 + ["t"] * 2 + ["s"],
        "day": [0, 0, 0, 1, 1, 1, 0, 0, 0],
        "series": ["cum_delivered"] * 8 + ["delivered"],
        "key": ["all"] * 9,
        "value": [1.0, 2.0, 3.0, 10.0, 20.0, 30.0, 5.0, 7.0, 1e9],
        "replication": [0, 1, 2, 0, 1, 2, 0, 1, 0],
    })
    bands = fan_bands(series)
    assert list(bands.columns) == ["scenario", "day", "p5", "p50", "p95"]
    assert bands[["scenario", "day"]].values.tolist() == [["s", 0], ["s", 1], ["t", 0]]
    assert list(bands["p50"]) == [2.0, 20.0, 6.0]
    assert bands["p5"].iloc[1] == pytest.approx(11.0)  # linear: 10 + 0.05 × 2 × 10
    other = fan_bands(series, series="delivered", quantiles=(0.025, 0.5))
    assert list(other.columns) == ["scenario", "day", "p2.5", "p50"] and other["p50"].tolist() == [1e9]
    assert fan_bands(series, series="stock").empty


# ------------------------------------------------------------------------------------------------
# summary table
# ------------------------------------------------------------------------------------------------

BASE_MASKS = [100.0, 110.0, 95.0, 105.0]
GAIN = [10.0, 12.0, 9.0, 11.0]  # better = base + gain, replication by replication


def runs_frame() -> pd.DataFrame:
    day = {"base": [20.0, 22.0, np.nan, 18.0], "better": [15.0, 16.0, 14.0, np.nan]}
    rows = []
    for scenario in ("base", "better"):
        for r in range(4):
            masks = BASE_MASKS[r] + (GAIN[r] if scenario == "better" else 0.0)
            rows.append({"run_id": f"{scenario}/p0/r{r}", "scenario": scenario, "replication": r, "seed": r,
                         "status": "ok", "error": None, "wall_seconds": 1.0 + r, "masks": masks,
                         "day_target.goal": day[scenario][r],
                         "reached_by_date.goal": 0.0 if np.isnan(day[scenario][r]) else 1.0,
                         "day_target.far": np.nan, "reached_by_date.far": np.nan})
    # a failed run with absurd values must not count
    rows.append({"run_id": "better/p0/r4", "scenario": "better", "replication": 4, "seed": 4, "status": "failed",
                 "error": "boom", "wall_seconds": 0.1, "masks": 1e9, "day_target.goal": 0.0,
                 "reached_by_date.goal": 1.0, "day_target.far": 0.0, "reached_by_date.far": 1.0})
    return pd.DataFrame(rows)


def row_of(summary: pd.DataFrame, scenario: str, kpi: str, point: str = "") -> pd.Series:
    rows = summary[(summary["scenario"] == scenario) & (summary["kpi"] == kpi) & (summary["point"] == point)]
    assert len(rows) == 1, (scenario, kpi, point)
    return rows.iloc[0]


def test_summarise_gives_intervals_paired_differences_and_probabilities():
    summary = summarise(runs_frame(), None, "base")
    assert tuple(summary.columns) == SUMMARY_COLUMNS
    # plain rows for every numeric non-identifying column, P rows instead of the reached_by_date columns
    assert set(summary["kpi"]) == {"masks", "day_target.goal", "day_target.far", "P(reached_by_date.goal)"}

    better = row_of(summary, "better", "masks")
    assert better["n"] == 4 and better["mean"] == pytest.approx(113.0)
    assert better["std"] == pytest.approx(np.std([110, 122, 104, 116], ddof=1))
    assert (better["min"], better["max"], better["p50"]) == (104.0, 122.0, 113.0)
    assert better["p5"] == pytest.approx(104 + 0.15 * 6)  # linear between the two lowest of 104, 110, ...
    half = 3.182446 * np.std([110, 122, 104, 116], ddof=1) / 2
    assert better["half_width"] == pytest.approx(half, rel=1e-6)
    assert (better["ci_low"], better["ci_high"]) == pytest.approx((113.0 - half, 113.0 + half), rel=1e-6)
    # paired: gains 10, 12, 9, 11 -> mean 10.5, s² = 5/3, half width t(0.975, 3) × s / 2 = 2.054260
    assert better["diff_vs_base"] == pytest.approx(10.5)
    assert (better["diff_ci_low"], better["diff_ci_high"]) == pytest.approx((10.5 - 2.054260, 10.5 + 2.054260),
                                                                            rel=1e-6)
    assert better["replications_for_5pct"] == replications_needed([110, 122, 104, 116])

    base = row_of(summary, "base", "masks")
    assert all(math.isnan(base[c]) for c in ("diff_vs_base", "diff_ci_low", "diff_ci_high"))

    goal = row_of(summary, "base", "day_target.goal")
    assert goal["n"] == 3 and goal["mean"] == 20.0  # n = runs that reached the target
    # paired only where both reached: replications 0 and 1 -> 15 - 20, 16 - 22
    assert row_of(summary, "better", "day_target.goal")["diff_vs_base"] == pytest.approx(-5.5)

    prob = row_of(summary, "base", "P(reached_by_date.goal)")
    wilson = wilson_interval(3, 4)
    assert (prob["n"], prob["mean"], prob["ci_low"], prob["ci_high"]) == (4, 0.75, wilson[1], wilson[2])
    assert prob["half_width"] == pytest.approx((wilson[2] - wilson[1]) / 2)
    assert row_of(summary, "better", "P(reached_by_date.goal)")["diff_vs_base"] == 0.0

    far = row_of(summary, "better", "day_target.far")  # never reached, and no date: no P row
    assert far["n"] == 0 and math.isnan(far["mean"]) and math.isnan(far["replications_for_5pct"])


def test_summarise_selected_kpis_bring_their_target_probability():
    summary = summarise(runs_frame(), ["day_target.goal", "no_such_kpi"], None)
    assert sorted(set(summary["kpi"])) == ["P(reached_by_date.goal)", "day_target.goal"]
    assert summary["diff_vs_base"].isna().all()  # no base scenario given
    only_p = summarise(runs_frame(), ["P(reached_by_date.goal)"])
    assert set(only_p["kpi"]) == {"P(reached_by_date.goal)"}
    assert summarise(runs_frame(), ["masks"])["kpi"].unique().tolist() == ["masks"]


def test_summarise_targets_without_a_date_give_no_probability():
    runs = runs_frame()
    undated = summarise(runs, None, None, {"goal": {"masks": 10, "by": None}})
    dated = summarise(runs, None, None, {"goal": {"masks": 10, "by": "2020-04-20"}})
    assert "P(reached_by_date.goal)" not in set(undated["kpi"]) and "P(reached_by_date.goal)" in set(dated["kpi"])


def test_summarise_pairs_within_each_sweep_point():
    frames = []
    for benches, shift in ((1, 0.0), (4, 100.0)):
        frame = runs_frame().assign(**{"param.lab.benches": benches, "param.allocation.policy": "priority"})
        frame["masks"] += shift
        frame["run_id"] = frame["run_id"].str.replace("/p0/", f"/p{benches}/")
        frames.append(frame)
    summary = summarise(pd.concat(frames, ignore_index=True), ["masks"], "base")
    points = ["allocation.policy=priority,lab.benches=1", "allocation.policy=priority,lab.benches=4"]
    assert sorted(set(summary["point"])) == points
    assert len(summary) == 4  # 2 scenarios × 2 points
    for point, shift in zip(points, (0.0, 100.0), strict=True):
        row = row_of(summary, "better", "masks", point)
        assert row["mean"] == pytest.approx(113.0 + shift)
        assert row["diff_vs_base"] == pytest.approx(10.5)  # against the base of the same point only


def test_summarise_with_no_ok_runs_is_an_empty_table_with_the_columns():
    runs = runs_frame().assign(status="failed")
    summary = summarise(runs)
    assert summary.empty and tuple(summary.columns) == SUMMARY_COLUMNS


def test_summarise_refuses_non_binary_reached_flags():
    runs = runs_frame()
    runs.loc[0, "reached_by_date.goal"] = 0.5
    with pytest.raises(ValueError, match=r"reached_by_date\.goal"):
        summarise(runs)
