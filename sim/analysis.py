"""Output analysis of replications (scipy.stats): intervals, paired differences under common random
numbers, target probabilities, fan bands and how many replications a precision needs."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy import stats

ID_COLUMNS = ("run_id", "scenario", "replication", "seed", "status", "error", "wall_seconds")


def _clean(values: Iterable[float]) -> np.ndarray:
    arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    return arr[~np.isnan(arr)]


def t_interval(values: Iterable[float], confidence: float = 0.95) -> tuple[float, float, float, float]:
    """(mean, half width, low, high) of the Student-t interval of the mean; NaNs dropped."""
    x = _clean(values)
    n = len(x)
    if n == 0:
        return (math.nan,) * 4
    mean = float(x.mean())
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, half, mean - half, mean + half


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """(proportion, low, high) of the Wilson score interval."""
    if n <= 0:
        return math.nan, math.nan, math.nan
    p = successes / n
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return p, max(0.0, centre - half), min(1.0, centre + half)


def paired_difference(a: Iterable[float], b: Iterable[float], confidence: float = 0.95
                      ) -> tuple[float, float, float, float]:
    """t-interval of the mean of b - a over pairs (replication r of both); pairs with a NaN dropped."""
    a, b = np.asarray(list(a), dtype=float), np.asarray(list(b), dtype=float)
    if len(a) != len(b):
        raise ValueError("paired samples need the same length")
    return t_interval(b - a, confidence)


def unpaired_difference(a: Iterable[float], b: Iterable[float], confidence: float = 0.95
                        ) -> tuple[float, float, float, float]:
    """Welch interval of mean(b) - mean(a): (difference, half width, low, high)."""
    x, y = _clean(a), _clean(b)
    if len(x) < 2 or len(y) < 2:
        return float(y.mean() - x.mean()) if len(x) and len(y) else math.nan, math.nan, math.nan, math.nan
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    diff = float(y.mean() - x.mean())
    if vx + vy == 0:
        return diff, 0.0, diff, diff
    dof = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, dof) * math.sqrt(vx + vy))
    return diff, half, diff - half, diff + half


def replications_needed(values: Iterable[float], rel_half_width: float = 0.05, confidence: float = 0.95) -> int:
    """Replications for a half width of `rel_half_width` × |mean|: n* = n (h / h*)², at least n."""
    x = _clean(values)
    mean, half, _, _ = t_interval(x, confidence)
    if len(x) < 2 or not np.isfinite(half) or mean == 0:
        return len(x)
    target = rel_half_width * abs(mean)
    return max(len(x), math.ceil(len(x) * (half / target) ** 2))


def fan_bands(series: pd.DataFrame, name: str = "cum_delivered", key: str = "all",
              quantiles: tuple[float, ...] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
    """Per scenario and day, quantiles over replications of one series (columns p5, p50, p95)."""
    rows = series[(series["series"] == name) & (series["key"] == key)]
    grouped = rows.groupby(["scenario", "day"])["value"]
    out = grouped.quantile(list(quantiles)).unstack()
    out.columns = [f"p{round(q * 100)}" for q in quantiles]
    return out.reset_index()


def _point_label(row: pd.Series, params: list[str]) -> str:
    return ",".join(f"{p.removeprefix('param.')}={row[p]}" for p in params)


def summarise(runs: pd.DataFrame, kpis: list[str] | None = None, base_scenario: str | None = None,
              targets: dict[str, dict] | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """One row per scenario × sweep point × KPI (see docs/experiments.md for the columns)."""
    ok = runs[runs["status"] == "ok"].copy() if "status" in runs else runs.copy()
    params = sorted(c for c in ok.columns if c.startswith("param."))
    ok["point"] = ok.apply(lambda r: _point_label(r, params), axis=1) if params and len(ok) else ""
    numeric = [c for c in ok.columns if c not in ID_COLUMNS and c != "point" and not c.startswith("param.")
               and pd.api.types.is_numeric_dtype(ok[c])]
    wanted = numeric if kpis is None else [k for k in kpis if k in ok.columns]
    rows = []
    for (scenario, point), group in ok.groupby(["scenario", "point"], sort=False):
        group = group.sort_values("replication")
        base = None
        if base_scenario is not None and scenario != base_scenario:
            base = ok[(ok["scenario"] == base_scenario) & (ok["point"] == point)].sort_values("replication")
        for kpi in wanted:
            if kpi.startswith("reached_by_date."):
                continue
            x = group[kpi].to_numpy(dtype=float)
            clean = x[~np.isnan(x)]
            mean, half, low, high = t_interval(clean, confidence)
            row = {"scenario": scenario, "point": point, "kpi": kpi, "n": len(clean), "mean": mean,
                   "std": float(clean.std(ddof=1)) if len(clean) > 1 else math.nan,
                   "ci_low": low, "ci_high": high, "half_width": half,
                   "p5": _q(clean, 0.05), "p50": _q(clean, 0.5), "p95": _q(clean, 0.95),
                   "min": _q(clean, 0.0), "max": _q(clean, 1.0),
                   "diff_vs_base": math.nan, "diff_ci_low": math.nan, "diff_ci_high": math.nan,
                   "replications_for_5pct": replications_needed(clean, 0.05, confidence)}
            if base is not None and kpi in base:
                a = base.set_index("replication")[kpi]
                b = group.set_index("replication")[kpi]
                common = a.index.intersection(b.index)
                diff, _, dlow, dhigh = paired_difference(a[common], b[common], confidence)
                row.update({"diff_vs_base": diff, "diff_ci_low": dlow, "diff_ci_high": dhigh})
            rows.append(row)
        for col in (c for c in group.columns if c.startswith("reached_by_date.")):
            if kpis is not None and col not in kpis and f"day_target.{col.split('.', 1)[1]}" not in kpis:
                continue
            x = group[col].dropna()
            p, low, high = wilson_interval(int(x.sum()), len(x), confidence)
            rows.append({"scenario": scenario, "point": point, "kpi": f"P({col})", "n": len(x), "mean": p,
                         "std": math.nan, "ci_low": low, "ci_high": high, "half_width": (high - low) / 2,
                         "p5": math.nan, "p50": math.nan, "p95": math.nan, "min": math.nan, "max": math.nan,
                         "diff_vs_base": math.nan, "diff_ci_low": math.nan, "diff_ci_high": math.nan,
                         "replications_for_5pct": math.nan})
    del targets  # target definitions live in the manifest; the KPI columns carry everything needed here
    return pd.DataFrame(rows)


def _q(x: np.ndarray, q: float) -> float:
    return float(np.quantile(x, q)) if len(x) else math.nan
