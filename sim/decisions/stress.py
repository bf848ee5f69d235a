"""stress.csv: how the network absorbs each shock of the stress matrix, paired with the base (CRN).

Per shock (and pair): days of delay per target (shock day − base day; never reached counts as the horizon),
masks lost by the horizon (sewn and delivered), the deepest drop in daily output (the largest shortfall of
the shocked run's trailing-mean sewn output below the base's, in masks a day and as a share of the base),
and the days to recover to the pre-shock daily rate: the trailing `window`-day mean of sewn output on the eve
of the shock is the pre-shock rate; after the shock starts, the first day on which the trailing mean is back
at that rate after having fallen below it, minus the shock's first day (0 when it never falls below; runs
that never recover count as the horizon and are counted). In a ramp-up the base's own output dips too (a
holiday, noise), so `extra_recovery_days` is the paired difference with the base measured the same way from
the same day: the recovery the shock itself costs. Every value is a mean over replications with its
95 % t-interval. One row per shock × metric (tidy).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from sim.decisions.paired import aligned, daily_series, day_gain
from sim.decisions.shocks import ShockSpec
from sim.results.analysis import paired_difference, t_interval

STRESS_COLUMNS = ("shock", "description", "start", "end", "severity", "metric", "target", "unit", "n", "mean",
                  "low", "high", "censored")


def trailing_mean(daily: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last `window` days (fewer at the very start), day by day."""
    c = np.cumsum(np.concatenate([[0.0], np.asarray(daily, dtype=float)]))
    idx = np.arange(1, len(daily) + 1)
    lo = np.maximum(0, idx - window)
    return (c[idx] - c[lo]) / (idx - lo)


def recovery_days(daily: np.ndarray, shock_day: int, window: int) -> float:
    """Days from the shock's first day until the trailing mean is back at its pre-shock value (NaN: never).

    0 when the trailing mean never falls below the pre-shock rate.
    """
    rolled = trailing_mean(daily, window)
    if shock_day <= 0 or shock_day >= len(rolled):
        return math.nan
    pre = rolled[shock_day - 1]
    after = rolled[shock_day:]
    below = np.flatnonzero(after < pre - 1e-9)
    if len(below) == 0:
        return 0.0
    back = np.flatnonzero(after[below[0]:] >= pre - 1e-9)
    return float(below[0] + back[0]) if len(back) else math.nan


def deepest_drop(base_daily: np.ndarray, shock_daily: np.ndarray, shock_day: int, window: int) -> tuple[float, float]:
    """(largest shortfall of the trailing mean below the base's from the shock on, that shortfall / base rate)."""
    b = trailing_mean(base_daily, window)[shock_day:]
    s = trailing_mean(shock_daily, window)[shock_day:]
    if len(b) == 0:
        return math.nan, math.nan
    gap = b - s
    i = int(np.argmax(gap))
    return float(max(gap[i], 0.0)), float(max(gap[i], 0.0) / b[i]) if b[i] > 0 else math.nan


def stress_table(runs: pd.DataFrame, series: pd.DataFrame, variants: dict[str, tuple[str, list[ShockSpec]]],
                 base: str, target_names: list[str], start: dt.date, horizon_days: int, window: int) -> pd.DataFrame:
    sewn = daily_series(series, "sewn_by_kind")
    rows: list[dict[str, Any]] = []
    for name, (description, shocks) in variants.items():
        first = min(s.start for s in shocks)
        last = max(s.end for s in shocks)
        shock_day = (first - start).days
        common = dict(shock=name, description=description, start=first.isoformat(), end=last.isoformat(),
                      severity=max(s.severity for s in shocks))

        def add(metric: str, target: str, unit: str, stats: tuple[float, float, float], n: int, censored: int = 0,
                common: dict[str, Any] = common) -> None:
            rows.append({**common, "metric": metric, "target": target, "unit": unit, "n": n, "mean": stats[0],
                         "low": stats[1], "high": stats[2], "censored": censored})

        for target in target_names:
            gain, low, high, n, censored = day_gain(runs, base, name, target, horizon_days)
            add("delay_days", target, "days", (-gain, -high, -low), n, censored)
        for kpi, metric in (("masks_sewn", "masks_lost_sewn"), ("masks_delivered", "masks_lost_delivered")):
            a, b = aligned(runs, base, name, kpi)
            m, _, lo, hi = paired_difference(b, a)
            add(metric, "", "masks", (m, lo, hi), len(a))
        if base not in sewn.index.get_level_values(0) or name not in sewn.index.get_level_values(0):
            continue
        b_rows, s_rows = sewn.loc[base], sewn.loc[name]
        reps = b_rows.index.intersection(s_rows.index)
        drops, shares, recov, recov_base = [], [], [], []
        for r in reps:
            bd, sd = b_rows.loc[r].to_numpy(), s_rows.loc[r].to_numpy()
            d, share = deepest_drop(bd, sd, shock_day, window)
            drops.append(d)
            shares.append(share)
            recov.append(recovery_days(sd, shock_day, window))
            recov_base.append(recovery_days(bd, shock_day, window))
        censor_at = float(horizon_days - shock_day)
        recov_arr, base_arr = np.asarray(recov, dtype=float), np.asarray(recov_base, dtype=float)
        never = int(np.isnan(recov_arr).sum())
        never_either = int((np.isnan(recov_arr) | np.isnan(base_arr)).sum())
        recov_arr, base_arr = (np.where(np.isnan(x), censor_at, x) for x in (recov_arr, base_arr))
        for metric, unit, values, cens in (("deepest_drop", "masks/day", drops, 0),
                                           ("deepest_drop_share", "share", shares, 0),
                                           ("recovery_days", "days", recov_arr, never),
                                           ("extra_recovery_days", "days", recov_arr - base_arr, never_either)):
            m, _, lo, hi = t_interval(values)
            add(metric, "", unit, (m, lo, hi), len(reps), cens)
    return pd.DataFrame(rows, columns=list(STRESS_COLUMNS))


def most_damaging(table: pd.DataFrame, primary: str | None) -> pd.Series | None:
    """The shock with the longest delay on the primary target (masks lost break ties); None if empty."""
    if table.empty:
        return None
    delay = table[(table["metric"] == "delay_days") & (table["target"] == (primary or ""))].set_index("shock")
    lost = table[table["metric"] == "masks_lost_delivered"].set_index("shock")["mean"]
    if delay.empty:
        key = lost.sort_values(ascending=False)
        return table[(table["shock"] == key.index[0]) & (table["metric"] == "masks_lost_delivered")].iloc[0]
    frame = pd.DataFrame({"delay": delay["mean"], "lost": lost.reindex(delay.index)})
    worst = frame.sort_values(["delay", "lost"], ascending=False).index[0]
    return delay.loc[worst].rename(worst)
