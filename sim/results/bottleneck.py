"""Bottleneck detection by the active-period method (Roser, Nakano & Tanaka: "A practical bottleneck
detection method", Proc. Winter Simulation Conference 2001; "Shifting bottleneck detection", Proc. WSC
2002).

What is implemented, precisely
------------------------------
Input: per stage, its *active periods*: maximal intervals [start, end) in hours during which the stage
was not waiting (working, and for supply / certification / transport, binding). Intervals that touch or
overlap are merged first, because the method is about *uninterrupted* activity.

1. **Momentary bottleneck.** At time t, every stage active at t has an active period containing t; its
   *length* is the full duration end - start of that period (the method is applied after the fact, so
   the whole period is known, as in the published method). The stage whose period is the longest is
   the momentary bottleneck. Ties (lengths equal after rounding to 1e-9 h) make every tied stage a bottleneck.
2. **Bottleneck episodes.** Consecutive times with the same bottleneck stage *and* the same active
   period of it form an episode; an episode has a stage and that stage's active period [s, e).
3. **Shifting bottleneck.** For each pair of consecutive episodes (the previous and the next
   bottleneck) of different stages, the overlap of their two active periods,
   [max(s1, s2), min(e1, e2)), is a shifting period: both stages are bottlenecks throughout it. As in the
   paper, this is the whole overlap of the two periods, not only the part where either stage was the
   longest; so a stage can be a (shifting) bottleneck a little before its own episode starts or after it
   ends. The rest of an episode is a *sole* bottleneck period of its stage.
4. **Shares.** At each moment the bottlenecks (the longest stage, stages tied with it, and stages in a
   shifting period there) share the moment equally: 1/k each when k stages are involved. (Roser et al.
   report sole and shifting percentages per machine, which can add up to more than 100 %; splitting
   keeps a week's shares summing to 1, as docs/results.md asks.) A moment at which no stage is active
   goes to `none`. A week's share of a stage = the stage's weight summed over the week's moments /
   the number of moments of that week within the horizon, so the shares of a week (with `none`) sum to 1.

Discretisation: time is sampled at the centres of cells of `resolution_h` over [0, horizon_h); a cell
counts wholly for what holds at its centre, so any boundary is resolved to within resolution_h / 2.
Active periods still running at the horizon are cut there (their length is then a lower bound).

Vectorisation: the period containing every cell is found by a binary search per stage
(`np.searchsorted`), the longest stage per cell by a max over a (stages × cells) array, episodes from
the change points of the leader, and the shifting marks with a difference array; no Python loop runs
over cells or episodes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

NONE = "none"

# Lengths are compared after rounding to this many decimals of an hour, so that two periods of the same
# duration computed from different start times (e.g. 13.3 - 3.3 and 20.3 - 10.3) tie exactly.
_LENGTH_DECIMALS = 9


def _grid(horizon_h: float, resolution_h: float) -> np.ndarray:
    """Cell centres over [0, horizon_h)."""
    if resolution_h <= 0:
        raise ValueError(f"resolution_h must be positive, got {resolution_h!r}")
    return (np.arange(int(np.ceil(horizon_h / resolution_h - 1e-9))) + 0.5) * resolution_h


def _merged(intervals: np.ndarray) -> np.ndarray:
    """Sorted intervals with touching or overlapping ones merged into one uninterrupted period."""
    iv = np.asarray(intervals, dtype=float).reshape(-1, 2)
    iv = iv[iv[:, 1] > iv[:, 0]]
    if len(iv) < 2:
        return iv
    iv = iv[np.argsort(iv[:, 0], kind="stable")]
    running_end = np.maximum.accumulate(iv[:, 1])
    # a new period starts where an interval begins after everything before it has ended
    new = np.concatenate([[True], iv[1:, 0] > running_end[:-1]])
    starts = iv[new, 0]
    last = np.concatenate([np.flatnonzero(new)[1:] - 1, [len(iv) - 1]])
    return np.column_stack([starts, running_end[last]])


def _period_lengths(intervals: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each grid time: length, start and end of the (sorted, disjoint) interval containing it
    (0, nan, nan where none does)."""
    if len(intervals) == 0:
        return np.zeros(len(grid)), np.full(len(grid), np.nan), np.full(len(grid), np.nan)
    starts, ends = intervals[:, 0], intervals[:, 1]
    idx = np.searchsorted(starts, grid, side="right") - 1
    safe = np.clip(idx, 0, len(starts) - 1)
    inside = (idx >= 0) & (grid < ends[safe])
    length = np.where(inside, ends[safe] - starts[safe], 0.0)
    return length, np.where(inside, starts[safe], np.nan), np.where(inside, ends[safe], np.nan)


def momentary_weights(active: Mapping[str, np.ndarray], horizon_h: float, resolution_h: float = 0.25
                      ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The bottleneck weight of every stage at every grid time (steps 1-4 of the module docstring).

    Returns (names, weights, grid): names are the stages in input order followed by 'none'; weights has
    shape (len(names), len(grid)) and each column sums to 1 (1/k for each of k bottlenecks, or 1 for
    'none' when no stage is active); grid holds the cell centres in hours.
    """
    names = list(active)
    grid = _grid(horizon_h, resolution_h)
    n, k = len(names), len(grid)
    weights = np.zeros((n + 1, k))
    if n == 0 or k == 0:
        weights[n] = 1.0
        return [*names, NONE], weights, grid

    lengths = np.zeros((n, k))
    best = np.zeros(k)
    leader = np.full(k, -1)
    lead_start = np.full(k, np.nan)
    lead_end = np.full(k, np.nan)
    for i, name in enumerate(names):
        length, start, end = _period_lengths(_merged(active[name]), grid)
        length = np.round(length, _LENGTH_DECIMALS)
        lengths[i] = length
        # strictly longer replaces the leader, so on a tie the first stage leads the episode bookkeeping;
        # the tied stages still share the weight below
        better = length > best
        best = np.where(better, length, best)
        leader = np.where(better, i, leader)
        lead_start = np.where(better, start, lead_start)
        lead_end = np.where(better, end, lead_end)

    someone = best > 0
    involved = (lengths == best) & someone  # the longest stage(s)

    # Episodes: runs of cells with the same leader and the same active period of it.
    # (a period's start is copied, not recomputed, into every cell it covers, so exact equality is safe)
    period = np.where(someone, lead_start, -np.inf)
    change = np.flatnonzero((leader[1:] != leader[:-1]) | (period[1:] != period[:-1])) + 1
    first = np.concatenate([[0], change])
    ep_stage, ep_start, ep_end = leader[first], lead_start[first], lead_end[first]
    # consecutive episodes of two different stages: the overlap of their periods is shifting
    pair = (ep_stage[:-1] >= 0) & (ep_stage[1:] >= 0) & (ep_stage[:-1] != ep_stage[1:])
    lo = np.maximum(ep_start[:-1], ep_start[1:])[pair]
    hi = np.minimum(ep_end[:-1], ep_end[1:])[pair]
    keep = hi > lo
    if keep.any():
        a, b = ep_stage[:-1][pair][keep], ep_stage[1:][pair][keep]
        c_lo = np.searchsorted(grid, lo[keep], side="left")
        c_hi = np.searchsorted(grid, hi[keep], side="left")
        # difference array over (stage, cell): +1 where a shifting period starts, -1 where it ends
        marks = np.zeros((n, k + 1), dtype=np.int32)
        np.add.at(marks, (np.concatenate([a, b]), np.concatenate([c_lo, c_lo])), 1)
        np.add.at(marks, (np.concatenate([a, b]), np.concatenate([c_hi, c_hi])), -1)
        involved |= np.cumsum(marks, axis=1, dtype=np.int32)[:, :k] > 0

    count = involved.sum(axis=0)
    weights[:n] = np.divide(involved, count, out=np.zeros((n, k)), where=count > 0)
    weights[n] = ~someone
    return [*names, NONE], weights, grid


def bottleneck_shares(active: Mapping[str, np.ndarray], horizon_h: float, week_starts_h: Sequence[float] | np.ndarray,
                      resolution_h: float = 0.25) -> pd.DataFrame:
    """Per week, the share of time each stage was the (sole or shifting) bottleneck.

    active: stage id -> (k, 2) array of active intervals [start_h, end_h) in hours.
    week_starts_h: increasing start hours of the weeks; week w covers [week_starts_h[w], the next start)
    (the last week runs to the horizon). Time before the first start is not reported.
    Returns columns week_index, stage, share, one row per stage with a non-zero share in a week plus a
    `none` row for time when no stage was active; the shares of a week sum to 1 (a partial last week is
    measured against its own length within the horizon).
    """
    week_index, stage, share = weekly_shares(active, horizon_h, week_starts_h, resolution_h)
    return pd.DataFrame({"week_index": week_index, "stage": stage, "share": share})


def weekly_shares(active: Mapping[str, np.ndarray], horizon_h: float, week_starts_h: Sequence[float] | np.ndarray,
                  resolution_h: float = 0.25) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`bottleneck_shares` as its three columns (week index, stage as an object array, share), for callers that
    assemble a larger table (a frame per call cost more than the computation)."""
    starts = np.asarray(week_starts_h, dtype=float).reshape(-1)
    if np.any(np.diff(starts) <= 0):
        raise ValueError("week_starts_h must be strictly increasing")
    names, weights, grid = momentary_weights(active, horizon_h, resolution_h)
    n_weeks = len(starts)
    week = np.searchsorted(starts, grid, side="right") - 1
    inside = week >= 0
    # one-hot (cells × weeks) so the per-week sums of every stage are a single matrix product
    onehot = np.zeros((len(grid), n_weeks))
    onehot[np.flatnonzero(inside), week[inside]] = 1.0
    totals = weights @ onehot
    cells = onehot.sum(axis=0)
    shares = np.divide(totals, cells, out=np.zeros_like(totals), where=cells > 0)
    stage_idx, week_idx = np.nonzero(shares > 0)
    order = np.lexsort((stage_idx, week_idx))
    stage_idx, week_idx = stage_idx[order], week_idx[order]
    return week_idx.astype(int), np.asarray(names, dtype=object)[stage_idx], shares[stage_idx, week_idx]


def group_shares(shares: pd.DataFrame, mapping: Mapping[str, str]) -> pd.DataFrame:
    """Sum the shares of stage ids into groups (e.g. 'roubaix_pilot/sew' -> 'sew'); ids not in `mapping`
    (such as 'none') keep their own name. Returns week_index, stage (the group), share, sorted."""
    grouped = shares.assign(stage=shares["stage"].map(lambda s: mapping.get(s, s)))
    return grouped.groupby(["week_index", "stage"], as_index=False, sort=True)["share"].sum()


def weekly_headline(shares: pd.DataFrame, week_labels: Sequence[str]) -> list[str]:
    """One plain line per label: 'week of 6 April: sew, 71 %', naming the stage (or group) with the
    largest share of week `i` for label `i`. `none` is never named; a week with no active stage reads
    'week of 6 April: no stage active'. Ties go to the name first in alphabetical order."""
    lines = []
    for w, label in enumerate(week_labels):
        week = shares[(shares["week_index"] == w) & (shares["stage"] != NONE) & (shares["share"] > 0)]
        if week.empty:
            lines.append(f"week of {label}: no stage active")
            continue
        top = week.sort_values(["share", "stage"], ascending=[False, True], kind="stable").iloc[0]
        lines.append(f"week of {label}: {top['stage']}, {round(100 * float(top['share']))} %")
    return lines


def group_activity(active: Mapping[str, np.ndarray], group_of: Mapping[str, str], weight: Mapping[str, float],
                   start_h: Mapping[str, float], any_groups: set[str], horizon_h: float, resolution_h: float = 0.25
                   ) -> dict[str, np.ndarray]:
    """Active intervals of stage *groups* (all sewing stations of the network, all cutting stations ...).

    The active-period method compares stations of a serial line. A network stage made of many parallel
    stations is active when most of its capacity is: the stations at work hold at least half of the
    nominal capacity of the stations open at that moment (a lone always-busy small workshop does not make
    sewing the network's constraint). Groups in `any_groups` (supply, certification, transport: each
    member is a separate gate every lot must pass) are active when any member is. A station counts as
    open from `start_h` (default 0) and with capacity `weight` (default 1).
    """
    grid = _grid(horizon_h, resolution_h)
    busy: dict[str, np.ndarray] = {}
    total: dict[str, np.ndarray] = {}
    for name, intervals in active.items():
        group = group_of[name]
        on = _period_lengths(_merged(intervals), grid)[0] > 0
        w = weight.get(name, 1.0)
        opened = grid >= start_h.get(name, 0.0)
        busy[group] = busy.get(group, np.zeros(len(grid))) + w * on
        total[group] = total.get(group, np.zeros(len(grid))) + w * opened
    out = {}
    for group in busy:
        flag = busy[group] > 0 if group in any_groups else (total[group] > 0) & (busy[group] >= 0.5 * total[group])
        out[group] = _runs(flag, resolution_h)
    return out


def _runs(flag: np.ndarray, resolution_h: float) -> np.ndarray:
    """Grid cells where flag holds, as [start, end) intervals in hours."""
    padded = np.concatenate([[False], flag, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return (edges.reshape(-1, 2) * resolution_h).astype(float)
