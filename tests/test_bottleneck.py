"""The active-period method on lines whose bottleneck is known by construction, against a slow
cell-by-cell reference, and inside the model."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model import simulate
from sim.results.bottleneck import (
    NONE,
    bottleneck_shares,
    group_activity,
    group_shares,
    momentary_weights,
    weekly_headline,
)
from tests.scenarios import line, spec_of

WEEK = 168.0


def periodic(period: float, busy: float, horizon: float, offset: float = 0.0) -> np.ndarray:
    starts = np.arange(offset, horizon, period)
    return np.column_stack([starts, np.minimum(starts + busy, horizon)])


def week_shares(shares, week: int) -> dict[str, float]:
    return shares[shares["week_index"] == week].set_index("stage")["share"].to_dict()


def test_the_slow_stage_of_a_three_stage_line_is_named_with_the_exact_split():
    # Every 10 h: cut works [0, 2), sew [1, 9), pack [8, 10). Sew (8 h periods) is the longest from 1 to 9;
    # cut leads [0, 1) and pack [9, 10). Shifting: cut-sew [1, 2), sew-pack [8, 9), split half and half.
    # Per cycle: cut 1 + 0.5, sew 0.5 + 6 + 0.5, pack 0.5 + 1 -> 15 %, 70 %, 15 %.
    horizon = 80.0
    active = {"cut": periodic(10, 2, horizon), "sew": periodic(10, 8, horizon, 1), "pack": periodic(10, 2, horizon, 8)}
    shares = bottleneck_shares(active, horizon, np.array([0.0, 40.0]))
    for w in (0, 1):
        assert week_shares(shares, w) == pytest.approx({"cut": 0.15, "sew": 0.70, "pack": 0.15})


def test_a_mostly_busy_stage_dominates_a_line_with_unaligned_periods():
    horizon = 2 * WEEK
    active = {"cut": periodic(10, 3, horizon), "sew": periodic(10, 9.5, horizon, 0.2),
              "pack": periodic(10, 4, horizon, 5)}
    shares = bottleneck_shares(active, horizon, np.array([0.0, WEEK]))
    for w in (0, 1):
        week = week_shares(shares, w)
        assert max(week, key=week.get) == "sew" and week["sew"] > 0.7
        assert sum(week.values()) == pytest.approx(1.0)


def test_a_switch_halfway_is_reported_in_the_right_week():
    horizon = 4 * WEEK
    half = 2 * WEEK
    busy_then_idle = np.vstack([periodic(10, 9.5, half), periodic(10, 3, horizon, half)])
    idle_then_busy = np.vstack([periodic(10, 3, half), periodic(10, 9.5, horizon, half)])
    shares = bottleneck_shares({"cut": busy_then_idle, "sew": idle_then_busy}, horizon, np.arange(4) * WEEK)
    top = shares.loc[shares.groupby("week_index")["share"].idxmax()].set_index("week_index")["stage"]
    assert list(top) == ["cut", "cut", "sew", "sew"]
    lines = weekly_headline(shares, ["30 March", "6 April", "13 April", "20 April"])
    assert lines[1].startswith("week of 6 April: cut, ") and lines[2].startswith("week of 13 April: sew, ")


def test_overlapping_periods_of_consecutive_bottlenecks_are_shared():
    # A is active [0, 10), B [6, 20): B is the longest from 6 on; A led before. Overlap [6, 10) is shifting.
    names, weights, _grid = momentary_weights({"A": np.array([[0.0, 10.0]]), "B": np.array([[6.0, 20.0]])},
                                             20.0, 1.0)
    a, b = names.index("A"), names.index("B")
    assert weights[a, 3] == 1.0  # t = 3.5: A alone
    assert weights[a, 7] == 0.5 and weights[b, 7] == 0.5  # t = 7.5: shifting
    assert weights[b, 15] == 1.0 and weights[a, 15] == 0.0


def test_the_shifting_period_is_the_whole_overlap_of_the_two_periods():
    # X [0, 10) leads until 10, A [5, 14) until 14, B [6, 14.5) after. X-A overlap [5, 10), A-B overlap
    # [6, 14): the A-B overlap reaches back into X's episode, where all three then share the time.
    active = {"X": np.array([[0.0, 10.0]]), "A": np.array([[5.0, 14.0]]), "B": np.array([[6.0, 14.5]])}
    names, weights, grid = momentary_weights(active, 16.0, 0.5)
    at = {float(t): dict(zip(names, weights[:, i], strict=True)) for i, t in enumerate(grid)}
    assert at[4.75] == {"X": 1.0, "A": 0.0, "B": 0.0, NONE: 0.0}
    assert at[5.25] == {"X": 0.5, "A": 0.5, "B": 0.0, NONE: 0.0}
    assert at[8.25] == pytest.approx({"X": 1 / 3, "A": 1 / 3, "B": 1 / 3, NONE: 0.0})
    assert at[12.25] == {"X": 0.0, "A": 0.5, "B": 0.5, NONE: 0.0}
    assert at[14.25] == {"X": 0.0, "A": 0.0, "B": 1.0, NONE: 0.0}
    assert at[15.25] == {"X": 0.0, "A": 0.0, "B": 0.0, NONE: 1.0}


def test_touching_intervals_are_one_uninterrupted_period():
    # A works [0, 5) then is down [5, 10) (still active): one 10 h period, longer than B's 7 h
    names, weights, _ = momentary_weights({"A": np.array([[5.0, 10.0], [0.0, 5.0]]), "B": np.array([[2.0, 9.0]])},
                                          10.0, 1.0)
    assert weights[names.index("A")].tolist() == [1.0] * 10


def test_equal_periods_tie_even_with_float_noise():
    # the same 7.7 h period, once with a start computed as 0.1 + 2.2: without tolerance B would lose
    active = {"A": np.array([[2.3, 10.0]]), "B": np.array([[0.1 + 2.2, 10.0]])}
    assert 10.0 - (0.1 + 2.2) < 10.0 - 2.3
    shares = bottleneck_shares(active, 11.0, np.array([0.0]), 0.1)
    assert week_shares(shares, 0) == pytest.approx({"A": 77 / 220, "B": 77 / 220, NONE: 33 / 110})


def test_nobody_active_counts_as_none_and_grouping_sums():
    shares = bottleneck_shares({"s1/sew": np.array([[0.0, 84.0]]), "s2/sew": np.empty((0, 2))}, WEEK,
                               np.array([0.0]))
    grouped = group_shares(shares, {"s1/sew": "sew", "s2/sew": "sew"}).set_index("stage")["share"]
    assert grouped["sew"] == pytest.approx(0.5) and grouped["none"] == pytest.approx(0.5)


def test_a_partial_last_week_is_measured_against_its_own_length():
    # horizon 10 days: week 1 has 3 days, of which sew is active 1.5 days
    shares = bottleneck_shares({"sew": np.array([[168.0, 204.0]])}, 240.0, np.array([0.0, 168.0]))
    assert week_shares(shares, 0) == {NONE: 1.0}
    assert week_shares(shares, 1) == pytest.approx({"sew": 0.5, NONE: 0.5})


def test_groups_sum_and_the_headline_names_the_dominant_group():
    horizon = WEEK
    active = {"a/sew": np.array([[0.0, 40.0]]), "b/sew": np.array([[50.0, 90.0]]),
              "a/cut": np.array([[100.0, 160.0]])}
    shares = group_shares(bottleneck_shares(active, horizon, np.array([0.0])), {k: k.split("/")[1] for k in active})
    assert week_shares(shares, 0) == pytest.approx({"sew": 80 / WEEK, "cut": 60 / WEEK, NONE: 28 / WEEK})
    assert weekly_headline(shares, ["6 April", "13 April"]) == ["week of 6 April: sew, 48 %",
                                                                "week of 13 April: no stage active"]


def test_bad_week_starts_are_refused():
    with pytest.raises(ValueError, match="increasing"):
        bottleneck_shares({"a": np.array([[0.0, 1.0]])}, 10.0, np.array([5.0, 0.0]))


def reference_weights(active: dict[str, np.ndarray], horizon: float, res: float) -> np.ndarray:
    """The method of the module docstring, written cell by cell with plain loops."""
    names = list(active)
    cells = [(c + 0.5) * res for c in range(int(np.ceil(horizon / res)))]
    periods = {}
    for name, iv in active.items():
        merged: list[list[float]] = []
        for s, e in sorted(map(tuple, iv)):
            if e <= s:
                continue
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        periods[name] = merged
    holding = []  # per cell: {stage: (start, end)} of the periods containing it
    for t in cells:
        holding.append({n: (s, e) for n in names for s, e in periods[n] if s <= t < e})
    leaders, involved = [], []
    for here in holding:
        if not here:
            leaders.append(None)
            involved.append(set())
            continue
        longest = max(round(e - s, 9) for s, e in here.values())
        tied = [n for n in names if n in here and round(here[n][1] - here[n][0], 9) == longest]
        leaders.append((tied[0], here[tied[0]]))
        involved.append(set(tied))
    episodes = [leaders[0]] + [b for a, b in itertools.pairwise(leaders) if b != a]
    for prev, nxt in itertools.pairwise(episodes):
        if prev is None or nxt is None or prev[0] == nxt[0]:
            continue
        lo, hi = max(prev[1][0], nxt[1][0]), min(prev[1][1], nxt[1][1])
        for i, t in enumerate(cells):
            if lo <= t < hi:
                involved[i] |= {prev[0], nxt[0]}
    out = np.zeros((len(names) + 1, len(cells)))
    for i, inv in enumerate(involved):
        for n in inv:
            out[names.index(n), i] = 1 / len(inv)
        if not inv:
            out[-1, i] = 1.0
    return out


interval_sets = st.lists(st.tuples(st.integers(0, 29), st.integers(1, 12)), max_size=5).map(
    lambda pairs: np.array([[s, min(s + d, 30)] for s, d in pairs], dtype=float).reshape(-1, 2))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), interval_sets, min_size=1, max_size=4))
def test_the_vectorised_method_matches_the_cell_by_cell_reference(active):
    _names, weights, _ = momentary_weights(active, 30.0, 0.5)
    np.testing.assert_allclose(weights, reference_weights(active, 30.0, 0.5), atol=1e-12)
    np.testing.assert_allclose(weights.sum(axis=0), 1.0)


def test_a_network_sized_input_runs_and_every_week_sums_to_one():
    # ~300 stations over 150 days at 0.25 h: the size the network level sees (timing is left to benchmarks)
    rng = np.random.default_rng(0)
    horizon = 150 * 24.0
    active = {}
    for i in range(300):
        gaps = rng.exponential(1.0, 3000)
        busy = rng.exponential(2.0 + i % 7, 3000)
        starts = np.concatenate([[0.0], np.cumsum(busy + gaps)[:-1]])
        keep = starts < horizon
        active[f"s{i}/sew"] = np.column_stack([starts[keep], np.minimum(starts + busy, horizon)[keep]])
    shares = bottleneck_shares(active, horizon, np.arange(0, 150, 7) * 24.0)
    assert shares["week_index"].nunique() == 22
    np.testing.assert_allclose(shares.groupby("week_index")["share"].sum(), 1.0)
    # stations with longer busy spells (i % 7 == 6) should be the bottleneck far more often than the shortest
    by_kind = shares[shares["stage"] != NONE].assign(k=lambda d: d["stage"].str[1:-4].astype(int) % 7)
    per_kind = by_kind.groupby("k")["share"].sum().reindex(range(7), fill_value=0.0)
    assert per_kind[6] > 3 * per_kind[0]


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
    horizon = 100.0
    active = {"big/sew": np.array([[0.0, 50.0]]), "small/sew": np.array([[0.0, 100.0]]),
              "mill/supply": np.array([[80.0, 90.0]]), "other/supply": np.empty((0, 2))}
    groups = {k: k.split("/")[1] for k in active}
    out = group_activity(active, groups, {"big/sew": 9.0, "small/sew": 1.0}, {}, {"supply"}, horizon, 1.0)
    assert out["sew"].tolist() == [[0.0, 50.0]]  # the small always-busy workshop alone is not enough
    assert out["supply"].tolist() == [[80.0, 90.0]]  # any supplier binding makes supply active
