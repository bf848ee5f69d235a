"""Bottleneck detection by the active-period method (Roser, Nakano & Tanaka, 2001; "shifting
bottleneck detection", Proc. Winter Simulation Conference 2002).

Each stage is *active* while it works (or, for supply, certification and transport, while it is the
binding constraint) and inactive while it waits (starved or blocked). At any moment the stage whose
current uninterrupted active period is the longest is the momentary bottleneck. Where the active period
of one momentary bottleneck overlaps that of the next one, the bottleneck is *shifting*: during the
overlap both are bottlenecks and the time is split equally between them. Exact ties of the longest
period are split equally too. Time at which no stage is active is counted as `none`.

Implementation: time is sampled on a grid of `resolution_h` (the centre of each cell); for every stage the
length of the active period covering each grid point is found by binary search over its sorted
intervals, so the whole computation is a few numpy passes over a (stages × grid points) array.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NONE = "none"


def _period_lengths(intervals: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each grid time: length, start and end of the active interval containing it (0, nan, nan if none)."""
    if len(intervals) == 0:
        zeros = np.zeros(len(grid))
        return zeros, np.full(len(grid), np.nan), np.full(len(grid), np.nan)
    starts, ends = intervals[:, 0], intervals[:, 1]
    idx = np.searchsorted(starts, grid, side="right") - 1
    safe = np.clip(idx, 0, len(starts) - 1)
    inside = (idx >= 0) & (grid < ends[safe])
    length = np.where(inside, ends[safe] - starts[safe], 0.0)
    return length, np.where(inside, starts[safe], np.nan), np.where(inside, ends[safe], np.nan)


def momentary_weights(active: dict[str, np.ndarray], horizon_h: float, resolution_h: float = 0.25
                      ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(stage names + 'none', weights[stages + 1, grid points] summing to 1 per point, grid times)."""
    names = list(active)
    grid = (np.arange(int(np.ceil(horizon_h / resolution_h))) + 0.5) * resolution_h
    n, k = len(names), len(grid)
    lengths = np.zeros((n, k))
    starts = np.full((n, k), np.nan)
    ends = np.full((n, k), np.nan)
    for i, name in enumerate(names):
        iv = np.asarray(active[name], dtype=float).reshape(-1, 2)
        iv = iv[np.argsort(iv[:, 0])] if len(iv) else iv
        lengths[i], starts[i], ends[i] = _period_lengths(iv, grid)
    weights = np.zeros((n + 1, k))
    if n == 0:
        weights[0] = 1.0
        return [NONE], weights, grid
    longest = lengths.max(axis=0)
    nobody = longest <= 0
    ties = (lengths == longest) & ~nobody
    weights[:n] = ties / np.maximum(ties.sum(axis=0), 1)
    weights[n, nobody] = 1.0
    # shifting bottlenecks: overlap of consecutive sole bottlenecks' active periods
    leader = np.where(nobody, -1, lengths.argmax(axis=0))
    cols = np.arange(k)
    lead_start = np.where(nobody, np.nan, starts[np.maximum(leader, 0), cols])
    lead_end = np.where(nobody, np.nan, ends[np.maximum(leader, 0), cols])
    change = np.flatnonzero((leader[1:] != leader[:-1]) | (lead_start[1:] != lead_start[:-1]))
    for c in change:
        a, b = leader[c], leader[c + 1]
        if a < 0 or b < 0 or a == b:
            continue
        lo = max(lead_start[c], lead_start[c + 1])
        hi = min(lead_end[c], lead_end[c + 1])
        if not hi > lo:
            continue
        # the overlap, limited to the two neighbouring sole-bottleneck runs
        run_start = c
        while run_start > 0 and leader[run_start - 1] == a and lead_start[run_start - 1] == lead_start[c]:
            run_start -= 1
        run_end = c + 1
        while run_end + 1 < k and leader[run_end + 1] == b and lead_start[run_end + 1] == lead_start[c + 1]:
            run_end += 1
        span = np.arange(run_start, run_end + 1)
        span = span[(grid[span] >= lo) & (grid[span] < hi)]
        weights[:n, span] = 0.0
        weights[a, span] = 0.5
        weights[b, span] = 0.5
    return [*names, NONE], weights, grid


def bottleneck_shares(active: dict[str, np.ndarray], horizon_h: float, week_starts_h: np.ndarray,
                      resolution_h: float = 0.25) -> pd.DataFrame:
    """Per week, the share of time each stage was the (momentary or shifting) bottleneck; 'none' where
    no stage was active. Columns: week_index, stage, share (shares of a week sum to 1)."""
    names, weights, grid = momentary_weights(active, horizon_h, resolution_h)
    week = np.searchsorted(np.asarray(week_starts_h, dtype=float), grid, side="right") - 1
    n_weeks = len(week_starts_h)
    counts = np.bincount(week, minlength=n_weeks).astype(float)
    rows = []
    for i, name in enumerate(names):
        totals = np.bincount(week, weights=weights[i], minlength=n_weeks)
        for w in range(n_weeks):
            if totals[w] > 0:
                rows.append((w, name, totals[w] / counts[w]))
    return pd.DataFrame(rows, columns=["week_index", "stage", "share"])


def group_shares(shares: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    """Sum the shares of stage ids into groups (e.g. 'roubaix_pilot/sew' -> 'sew'); 'none' stays."""
    grouped = shares.assign(stage=shares["stage"].map(lambda s: mapping.get(s, s)))
    return grouped.groupby(["week_index", "stage"], as_index=False, sort=True)["share"].sum()


def weekly_headline(shares: pd.DataFrame, week_labels: list[str]) -> list[str]:
    """One plain line per week: 'week of 6 April: sew, 71 %' (the dominant group, 'none' excluded)."""
    lines = []
    for w, label in enumerate(week_labels):
        week = shares[(shares["week_index"] == w) & (shares["stage"] != NONE)]
        if week.empty:
            lines.append(f"week of {label}: no stage active")
            continue
        top = week.loc[week["share"].idxmax()]
        lines.append(f"week of {label}: {top['stage']}, {top['share']:.0%}")
    return lines


def group_activity(active: dict[str, np.ndarray], group_of: dict[str, str], weight: dict[str, float],
                   start_h: dict[str, float], any_groups: set[str], horizon_h: float, resolution_h: float = 0.25
                   ) -> dict[str, np.ndarray]:
    """Active intervals of stage *groups* (all sewing stations of the network, all cutting stations ...).

    The active-period method compares stations of a serial line. A network stage made of many parallel
    stations is active when most of its capacity is: the stations at work hold at least half of the
    nominal capacity of the stations open at that moment (a lone always-busy small workshop does not make
    sewing the network's constraint). Groups in `any_groups` (supply, certification, transport: each
    member is a separate gate every lot must pass) are active when any member is.
    """
    grid = (np.arange(int(np.ceil(horizon_h / resolution_h))) + 0.5) * resolution_h
    busy: dict[str, np.ndarray] = {}
    total: dict[str, np.ndarray] = {}
    for name, intervals in active.items():
        group = group_of[name]
        iv = np.asarray(intervals, dtype=float).reshape(-1, 2)
        on = _period_lengths(iv[np.argsort(iv[:, 0])] if len(iv) else iv, grid)[0] > 0
        w = weight.get(name, 1.0)
        opened = grid >= start_h.get(name, 0.0)
        busy[group] = busy.get(group, np.zeros(len(grid))) + w * on
        total[group] = total.get(group, np.zeros(len(grid))) + w * opened
    out = {}
    for group in busy:
        if group in any_groups:
            flag = busy[group] > 0
        else:
            flag = (total[group] > 0) & (busy[group] >= 0.5 * total[group])
        out[group] = _runs(flag, resolution_h)
    return out


def _runs(flag: np.ndarray, resolution_h: float) -> np.ndarray:
    """Grid cells where flag holds, as [start, end) intervals in hours."""
    padded = np.concatenate([[False], flag, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return (edges.reshape(-1, 2) * resolution_h).astype(float)
