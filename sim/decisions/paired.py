"""Per-replication values of a variant next to the base's, for paired (CRN) comparisons."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.results.analysis import paired_difference
from sim.results.tables import DAY_TARGET


def ok_runs(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["status"] == "ok"] if "status" in runs.columns else runs


def aligned(runs: pd.DataFrame, base: str, variant: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Values of `column` for base and variant, one pair per replication both have."""
    ok = ok_runs(runs)
    a = ok[ok["scenario"] == base].set_index("replication")[column]
    b = ok[ok["scenario"] == variant].set_index("replication")[column]
    common = a.index.intersection(b.index).sort_values()
    return a.loc[common].to_numpy(dtype=float), b.loc[common].to_numpy(dtype=float)


def target_days(values: np.ndarray, horizon_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Days to a target with 'never reached' censored at the horizon: (days, censored flags).

    A censored value is a lower bound on the true day, so differences that involve one are bounds too;
    the tables count them.
    """
    censored = np.isnan(values)
    return np.where(censored, float(horizon_days), values), censored


def day_gain(runs: pd.DataFrame, base: str, variant: str, target: str, horizon_days: int,
             confidence: float = 0.95) -> tuple[float, float, float, int, int]:
    """Days earlier the variant reaches the target than the base (positive = earlier):
    (mean, low, high, pairs, pairs with a censored side); the interval is the paired t at `confidence`."""
    a, b = aligned(runs, base, variant, DAY_TARGET + target)
    da, ca = target_days(a, horizon_days)
    db, cb = target_days(b, horizon_days)
    mean, _, low, high = paired_difference(db, da, confidence)
    return mean, low, high, len(a), int((ca | cb).sum())


def daily_series(series: pd.DataFrame, name: str, key: str | None = None) -> pd.DataFrame:
    """scenario × replication rows, one column per day, of one series (summed over keys unless `key`)."""
    rows = series[series["series"] == name]
    if key is not None:
        rows = rows[rows["key"] == key]
    table = rows.groupby(["scenario", "replication", "day"])["value"].sum().unstack("day").sort_index(axis=1)
    return table.fillna(0.0)
