"""The active-period method on lines whose bottleneck is known by construction."""

import numpy as np
import pytest

from sim.bottleneck import bottleneck_shares, group_shares, momentary_weights, weekly_headline
from sim.model import simulate
from tests.scenarios import line, spec_of

WEEK = 168.0


def periodic(period: float, busy: float, horizon: float, offset: float = 0.0) -> np.ndarray:
    starts = np.arange(offset, horizon, period)
    return np.column_stack([starts, np.minimum(starts + busy, horizon)])


def test_the_slow_stage_of_a_three_stage_line_is_named():
    horizon = 2 * WEEK
    active = {"cut": periodic(10, 3, horizon), "sew": periodic(10, 9.5, horizon, 0.2),
              "pack": periodic(10, 4, horizon, 5)}
    shares = bottleneck_shares(active, horizon, np.array([0.0, WEEK]))
    for w in (0, 1):
        week = shares[shares["week_index"] == w].set_index("stage")["share"]
        assert week.idxmax() == "sew" and week["sew"] > 0.7
        assert week.sum() == pytest.approx(1.0)


def test_a_switch_halfway_is_reported_in_the_right_week():
    horizon = 4 * WEEK
    half = 2 * WEEK
    active = {
        "cut": np.vstack([periodic(10, 9.5, half), periodic(10, 3, horizon)[periodic(10, 3, horizon)[:, 0] >= half]]),
        "sew": np.vstack([periodic(10, 3, half), periodic(10, 9.5, horizon)[periodic(10, 9.5, horizon)[:, 0] >= half]]),
    }
    shares = bottleneck_shares(active, horizon, np.arange(4) * WEEK)
    top = shares.loc[shares.groupby("week_index")["share"].idxmax()].set_index("week_index")["stage"]
    assert list(top) == ["cut", "cut", "sew", "sew"]
    lines = weekly_headline(shares, ["30 March", "6 April", "13 April", "20 April"])
    assert lines[2].startswith("week of 13 April: sew")


def test_overlapping_periods_of_consecutive_bottlenecks_are_shared():
    # A is active [0, 10), B [6, 20): B is the longest from 6 on; A led before. Overlap [6, 10) is shifting.
    names, weights, _grid = momentary_weights({"A": np.array([[0.0, 10.0]]), "B": np.array([[6.0, 20.0]])},
                                             20.0, 1.0)
    a, b = names.index("A"), names.index("B")
    assert weights[a, 3] == 1.0  # t = 3.5: A alone
    assert weights[a, 7] == 0.5 and weights[b, 7] == 0.5  # t = 7.5: shifting
    assert weights[b, 15] == 1.0


def test_nobody_active_counts_as_none_and_grouping_sums():
    shares = bottleneck_shares({"s1/sew": np.array([[0.0, 84.0]]), "s2/sew": np.empty((0, 2))}, WEEK,
                               np.array([0.0]))
    grouped = group_shares(shares, {"s1/sew": "sew", "s2/sew": "sew"}).set_index("stage")["share"]
    assert grouped["sew"] == pytest.approx(0.5) and grouped["none"] == pytest.approx(0.5)


def test_in_the_model_a_slow_sewing_stage_is_the_bottleneck():
    data = line(horizon_days=21, cv=0.3, cut_min=0.5, sew_min=3.0, inspect_min=0.5, pack_min=0.5,
                operators={"cut": 1, "sew": 1, "inspect": 1, "pack": 1})
    result = simulate(spec_of(data))
    network = result.bottlenecks[result.bottlenecks["level"] == "network"]
    per_week = network[network["stage"] != "none"].groupby("week_index")
    for _, week in per_week:
        assert week.loc[week["share"].idxmax(), "stage"] == "sew"
    site = result.bottlenecks[(result.bottlenecks["level"] == "site") & (result.bottlenecks["stage"] != "none")]
    assert site.groupby("stage")["share"].sum().idxmax() == "sew"


def test_a_stage_group_is_active_when_most_of_its_capacity_is():
    from sim.bottleneck import group_activity

    horizon = 100.0
    active = {"big/sew": np.array([[0.0, 50.0]]), "small/sew": np.array([[0.0, 100.0]]),
              "mill/supply": np.array([[80.0, 90.0]]), "other/supply": np.empty((0, 2))}
    groups = {k: k.split("/")[1] for k in active}
    out = group_activity(active, groups, {"big/sew": 9.0, "small/sew": 1.0}, {}, {"supply"}, horizon, 1.0)
    assert out["sew"].tolist() == [[0.0, 50.0]]  # the small always-busy workshop alone is not enough
    assert out["supply"].tolist() == [[80.0, 90.0]]  # any supplier binding makes supply active
