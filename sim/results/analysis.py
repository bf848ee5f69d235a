"""Output analysis of replications (t and normal quantiles from scipy.special): confidence intervals,
paired differences under common random numbers, target probabilities, fan bands, and how many
replications a precision needs.

Every function takes the per-replication values of one KPI (one value per independent run) and treats
them as an i.i.d. sample; NaN means "no value in that run" (a target never reached, a channel without
orders) and is dropped, so `n` always counts the values actually used.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# the two quantile functions from scipy.special: importing scipy.stats costs a second on every run
from scipy.special import ndtri, stdtrit

from sim.results.tables import (
    DAY_TARGET,
    PARAM_PREFIX,
    REACHED_BY_DATE,
    TABLES,
    point_labels,
    probability_name,
    validate,
)

ID_COLUMNS = ("run_id", "scenario", "replication", "seed", "status", "error", "wall_seconds")
SUMMARY_COLUMNS = TABLES["summary"].column_names

NAN4 = (math.nan, math.nan, math.nan, math.nan)


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")


def _values(values: Iterable[float]) -> np.ndarray:
    """The values as a 1-d float array (pandas NA and None become NaN)."""
    if isinstance(values, pd.Series | pd.Index):
        return values.to_numpy(dtype=float, na_value=np.nan)
    if isinstance(values, np.ndarray):
        return values.astype(float).reshape(-1)
    return np.asarray([math.nan if v is None else v for v in values], dtype=float).reshape(-1)


def _clean(values: Iterable[float]) -> np.ndarray:
    x = _values(values)
    return x[~np.isnan(x)]


def t_interval(values: Iterable[float], confidence: float = 0.95) -> tuple[float, float, float, float]:
    """Student-t confidence interval of the mean: (mean, half width, low, high).

    half width = t_{(1+confidence)/2, n-1} × s / √n with s the sample standard deviation (ddof = 1).
    NaNs are dropped first. With no value everything is NaN; with one value the mean is that value and
    the half width, low and high are NaN (no variance estimate).
    """
    _check_confidence(confidence)
    x = _clean(values)
    n = len(x)
    if n == 0:
        return NAN4
    mean = float(x.mean())
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    half = float(stdtrit(n - 1, 0.5 + confidence / 2) * x.std(ddof=1) / math.sqrt(n))
    return mean, half, mean - half, mean + half


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """Wilson score interval of a proportion: (successes / n, low, high).

    With z the two-sided normal quantile: centre = (p + z²/2n) / (1 + z²/n), half width =
    z √(p(1-p)/n + z²/4n²) / (1 + z²/n). Unlike the Wald interval it stays inside [0, 1] and is not
    degenerate at 0/n or n/n. n = 0 gives NaNs.
    """
    _check_confidence(confidence)
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return math.nan, math.nan, math.nan
    p = successes / n
    z = float(ndtri(0.5 + confidence / 2))
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # clip only float noise: mathematically the interval is inside [0, 1] and holds p
    return p, min(p, max(0.0, centre - half)), max(p, min(1.0, centre + half))


def paired_difference(a: Iterable[float], b: Iterable[float], confidence: float = 0.95
                      ) -> tuple[float, float, float, float]:
    """Paired comparison: t-interval of the mean of d_r = b_r - a_r, as (mean diff, half width, low, high).

    a[r] and b[r] must come from the same replication r (same random numbers under CRN), so the
    positive correlation between them cancels out of Var(d). Pairs where either value is NaN are
    dropped.
    """
    x, y = _values(a), _values(b)
    if len(x) != len(y):
        raise ValueError(f"paired samples need the same length, got {len(x)} and {len(y)}")
    return t_interval(y - x, confidence)


def unpaired_difference(a: Iterable[float], b: Iterable[float], confidence: float = 0.95
                        ) -> tuple[float, float, float, float]:
    """Welch interval of mean(b) - mean(a) for independent samples: (difference, half width, low, high).

    Standard error √(s_a²/n_a + s_b²/n_b), Welch–Satterthwaite degrees of freedom. NaNs dropped. With
    fewer than two values on either side the half width, low and high are NaN.
    """
    _check_confidence(confidence)
    x, y = _clean(a), _clean(b)
    if len(x) == 0 or len(y) == 0:
        return NAN4
    diff = float(y.mean() - x.mean())
    if len(x) < 2 or len(y) < 2:
        return diff, math.nan, math.nan, math.nan
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    if vx + vy == 0:
        return diff, 0.0, diff, diff
    dof = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1))
    half = float(stdtrit(dof, 0.5 + confidence / 2) * math.sqrt(vx + vy))
    return diff, half, diff - half, diff + half


def replications_needed(values: Iterable[float], rel_half_width: float = 0.05, confidence: float = 0.95) -> int:
    """Replications for a t-interval half width of at most `rel_half_width` × |mean|.

    The classic approximation: with n replications giving half width h, n* = ceil(n × (h / h*)²) with
    h* = rel_half_width × |mean|, never fewer than n. Half widths shrink as 1/√n, so this assumes the
    standard deviation and the t quantile stay about the same as n grows (it slightly underestimates for
    small n, where the t quantile still falls). Returns n itself when it cannot be estimated (fewer than
    two values, or a mean of 0).
    """
    if rel_half_width <= 0:
        raise ValueError(f"rel_half_width must be positive, got {rel_half_width!r}")
    x = _clean(values)
    n = len(x)
    mean, half, _, _ = t_interval(x, confidence)
    if n < 2 or mean == 0:
        return n
    target = rel_half_width * abs(mean)
    # the small tolerance keeps an exact integer (e.g. 40.000000000000004) from rounding up
    return max(n, math.ceil(n * (half / target) ** 2 - 1e-9))


def _quantile_label(q: float) -> str:
    """0.05 -> 'p5', 0.5 -> 'p50', 0.025 -> 'p2.5'."""
    return f"p{round(q * 100, 6):g}"


def fan_bands(series_df: pd.DataFrame, series: str = "cum_delivered", key: str = "all",
              quantiles: Sequence[float] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
    """Quantiles over replications of one series of `series.parquet`, per scenario and day.

    series_df is the long table (columns scenario, day, series, key, value, ...). Returns one row per
    scenario × day with columns scenario, day and one column per quantile named p5, p50, p95 (p2.5 for
    0.025 ...), computed with linear interpolation between order statistics (numpy's default). A day
    on which some run has no row is summarised over the runs that have one.
    """
    labels = [_quantile_label(q) for q in quantiles]
    if len(set(labels)) != len(labels) or not all(0.0 <= q <= 1.0 for q in quantiles):
        raise ValueError(f"quantiles must be distinct values in [0, 1], got {quantiles!r}")
    rows = series_df[(series_df["series"] == series) & (series_df["key"] == key)]
    if rows.empty:
        return pd.DataFrame(columns=["scenario", "day", *labels])
    out = rows.groupby(["scenario", "day"], sort=True)["value"].quantile(list(quantiles)).unstack()
    out.columns = labels
    return out.reset_index()


# --------------------------------------------------------------------------------------------------
# summary table
# --------------------------------------------------------------------------------------------------

def _describe(x: np.ndarray, confidence: float) -> dict[str, float]:
    """The distribution columns of one KPI (x without NaN)."""
    mean, half, low, high = t_interval(x, confidence)
    n = len(x)
    q = np.quantile(x, [0.05, 0.5, 0.95, 0.0, 1.0]) if n else np.full(5, np.nan)
    estimable = n >= 2 and mean != 0
    return {"n": n, "mean": mean, "std": float(x.std(ddof=1)) if n >= 2 else math.nan,
            "ci_low": low, "ci_high": high, "half_width": half,
            "p5": float(q[0]), "p50": float(q[1]), "p95": float(q[2]), "min": float(q[3]), "max": float(q[4]),
            "replications_for_5pct": float(replications_needed(x, 0.05, confidence)) if estimable else math.nan}


def _describe_proportion(x: np.ndarray, confidence: float) -> dict[str, float]:
    """The columns of a P(...) row: x holds 0/1 outcomes (NaN already dropped)."""
    n = len(x)
    p, low, high = wilson_interval(int(np.sum(x == 1.0)), n, confidence) if n else (math.nan,) * 3
    return {"n": n, "mean": p, "std": float(x.std(ddof=1)) if n >= 2 else math.nan,
            "ci_low": low, "ci_high": high, "half_width": (high - low) / 2,
            "p5": math.nan, "p50": math.nan, "p95": math.nan,
            "min": float(x.min()) if n else math.nan, "max": float(x.max()) if n else math.nan,
            "replications_for_5pct": math.nan}


def _paired_vs_base(group: pd.DataFrame, base: pd.DataFrame | None, column: str,
                    confidence: float) -> dict[str, float]:
    """diff_vs_base and its interval: paired by replication number (only replications in both)."""
    if base is None or column not in base.columns:
        return {"diff_vs_base": math.nan, "diff_ci_low": math.nan, "diff_ci_high": math.nan}
    a = base.set_index("replication")[column]
    b = group.set_index("replication")[column]
    if not (a.index.is_unique and b.index.is_unique):
        raise ValueError(f"{column}: a replication number appears twice in one scenario and point; "
                         "pairing by replication needs one run per replication")
    common = a.index.intersection(b.index).sort_values()
    diff, _, low, high = paired_difference(a.loc[common], b.loc[common], confidence)
    return {"diff_vs_base": diff, "diff_ci_low": low, "diff_ci_high": high}


def summarise(runs: pd.DataFrame, kpis: list[str] | None = None, base_scenario: str | None = None,
              targets: dict[str, dict] | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """The summary table: one row per scenario × sweep point × KPI (columns SUMMARY_COLUMNS).

    Rows: only runs with status 'ok' count (all rows if there is no status column). Runs are grouped by
    scenario and sweep point; `point` is 'a=1,b=2' built from the run's non-empty param.* columns
    (without the 'param.' prefix), '' when there is no sweep.

    KPIs: `kpis` (names that are not columns of `runs` are ignored: a channel or target may be absent
    from an experiment), or when None every numeric column that is not identifying (run_id, scenario,
    replication, seed, status, error, wall_seconds, param.*). For each KPI, over the runs' non-NaN
    values: n, mean, std, the Student-t interval (ci_low, ci_high, half_width), the empirical p5, p50,
    p95, min and max, and replications_for_5pct (see `replications_needed`; NaN when n < 2 or the mean
    is 0). For `day_target.<t>` n is therefore the number of runs that reached target t.

    Target probabilities: a `reached_by_date.<t>` column (1.0 / 0.0, NaN when the target has no date)
    gives a row with kpi 'P(reached_by_date.<t>)': mean = share of runs that reached t by its date,
    ci_low/ci_high the Wilson interval, half_width half its width, min/max of the 0/1 outcomes. It
    replaces the plain row of that column. It is produced when `reached_by_date.<t>` is selected, or
    `day_target.<t>` is (so asking for a target's day also gives its probability), or
    'P(reached_by_date.<t>)' is named in `kpis`; a target whose column is NaN in every run is skipped.
    `targets` ({name: {"masks": ..., "by": ...}}), when given, also skips targets without a `by` date.

    Differences: with `base_scenario`, every row of another scenario gets diff_vs_base = mean over
    replications r of (value_r - base value_r) for the base scenario at the same point, with its paired
    t-interval (diff_ci_low, diff_ci_high); replications missing or NaN on either side are left out, so
    for day_target KPIs it compares runs that reached the target in both. For P rows it is the paired
    difference of the 0/1 outcomes. NaN for the base scenario itself or where it has no runs.
    """
    _check_confidence(confidence)
    ok = runs[runs["status"] == "ok"] if "status" in runs.columns else runs
    ok = ok.copy()
    params = sorted(c for c in ok.columns if c.startswith(PARAM_PREFIX))
    ok["point"] = point_labels(ok, params)

    identifying = set(ID_COLUMNS) | {"point"}
    numeric = [c for c in ok.columns if c not in identifying and not c.startswith(PARAM_PREFIX)
               and pd.api.types.is_numeric_dtype(ok[c])]
    selected = numeric if kpis is None else [k for k in kpis if k in ok.columns and k not in identifying]

    # which targets get a P(...) row, from the prefix rule only
    target_names: list[str] = []
    wanted = set(selected) | set(kpis or ())
    for column in ok.columns:
        if not column.startswith(REACHED_BY_DATE):
            continue
        name = column.removeprefix(REACHED_BY_DATE)
        asked = {column, DAY_TARGET + name, probability_name(name)} & wanted
        dated = targets is None or name not in targets or targets[name].get("by") is not None
        if asked and dated and ok[column].notna().any():
            outcomes = ok[column].dropna()
            if not outcomes.isin([0.0, 1.0]).all():
                raise ValueError(f"{column} must hold 1.0 (reached), 0.0 (not reached) or NaN")
            target_names.append(name)
    plain = [k for k in selected if not k.startswith(REACHED_BY_DATE)]

    rows: list[dict[str, object]] = []
    for (scenario, point), group in ok.groupby(["scenario", "point"], sort=False):
        base = None
        if base_scenario is not None and scenario != base_scenario:
            base = ok[(ok["scenario"] == base_scenario) & (ok["point"] == point)]
            base = base if len(base) else None
        for kpi in plain:
            x = _clean(group[kpi])
            rows.append({"scenario": scenario, "point": point, "kpi": kpi, **_describe(x, confidence),
                         **_paired_vs_base(group, base, kpi, confidence)})
        for name in target_names:
            column = REACHED_BY_DATE + name
            x = _clean(group[column])
            rows.append({"scenario": scenario, "point": point, "kpi": probability_name(name),
                         **_describe_proportion(x, confidence), **_paired_vs_base(group, base, column, confidence)})
    return validate("summary", pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS)))


def match_scenarios(a: pd.DataFrame, b: pd.DataFrame) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """Pair the ok runs of two results folders by scenario name and sweep point.

    Returns ((scenario, point) keys present in both, in A's order; labels only in A; labels only in B),
    where a label is 'scenario' or 'scenario [point]' (point as in `summarise`: 'a=1,b=2')."""
    keys = []
    for runs in (a, b):
        runs = runs[runs["status"] == "ok"] if "status" in runs.columns else runs
        params = sorted(c for c in runs.columns if c.startswith(PARAM_PREFIX))
        points = point_labels(runs, params)
        keys.append(list(dict.fromkeys(zip(runs["scenario"].astype(str), points, strict=True))))
    in_b = set(keys[1])
    in_a = set(keys[0])
    both = [k for k in keys[0] if k in in_b]
    return both, [scenario_label(*k) for k in keys[0] if k not in in_b], \
        [scenario_label(*k) for k in keys[1] if k not in in_a]


def scenario_label(scenario: str, point: str) -> str:
    return f"{scenario} [{point}]" if point else scenario


def runs_of(runs: pd.DataFrame, scenario: str, point: str) -> pd.DataFrame:
    """The ok runs of one scenario at one sweep point."""
    ok = runs[runs["status"] == "ok"] if "status" in runs.columns else runs
    params = sorted(c for c in ok.columns if c.startswith(PARAM_PREFIX))
    points = point_labels(ok, params)
    return ok[(ok["scenario"].astype(str) == scenario) & (points == point)]


# intervals a grid of design points does not support: they would treat the grid as a random sample of the ranges
_GRID_BLANK = ("std", "ci_low", "ci_high", "half_width", "p5", "p95", "replications_for_5pct", "diff_vs_base",
               "diff_ci_low", "diff_ci_high")


def design_point_numbers(runs: pd.DataFrame) -> pd.Series:
    """The design point of each run of a study, from its run id `<scenario>/p<i>/r<rrr>`."""
    return runs["run_id"].str.split("/").str[1].str[1:].astype(int)


def summarise_design(runs: pd.DataFrame, random_points: Sequence[int], kpis: list[str] | None = None,
                     targets: dict[str, dict] | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """The summary rows of a study's design points (columns SUMMARY_COLUMNS), as far as the design supports them.

    With points drawn at random from the declared ranges (`random_points`: an LHS design, a Sobol design's base
    samples A and B), the rows describe each KPI over those points as `summarise` does over replications: the
    t interval of the mean over the ranges and the Wilson interval of a target's probability are the design's
    sampling error. Each point counts once (its replication 0), so that `n` counts independent draws.
    Without random points (a Morris grid, whose levels over-represent the ends of each range) the rows keep the
    count, the mean, median, lowest and highest value over the points, and every interval, percentile and
    difference is NaN: a grid says which parameters matter (sensitivity.csv), not how likely an outcome is."""
    ok = runs[runs["status"] == "ok"] if "status" in runs.columns else runs
    points = design_point_numbers(ok)
    if len(random_points):
        chosen = ok[points.isin(list(random_points)).to_numpy()]
        chosen = chosen[chosen["replication"] == chosen.groupby(design_point_numbers(chosen))["replication"]
                        .transform("min")]
        return summarise(chosen, kpis, None, targets, confidence)
    out = summarise(ok, kpis, None, targets, confidence)
    out.loc[:, list(_GRID_BLANK)] = math.nan
    return out


def write_summary(out: Path, exp: Any) -> pd.DataFrame:
    """summary.csv and summary.parquet of the results folder `out` of experiment `exp`, from its runs table. For an
    uncertainty study: the nominal point's replications as any scenario's, the design points by
    `summarise_design`."""
    from sim.results.folder import read_results_table
    from sim.runs.atomic import atomic_write

    runs = read_results_table(out / "runs.parquet")
    targets = {k: t.model_dump(mode="json") for k, t in exp.base.targets.items()}
    study = getattr(exp, "study", None)
    if study is None:
        compare = len(exp.resolved) > 1
        summary = summarise(runs, exp.spec.kpis, exp.spec.base_scenario if compare else None, targets)
        if getattr(exp, "calibrated", None) is not None:  # a forecast: its bands include the model discrepancy
            summary = exp.calibrated.with_discrepancy(summary, runs)
    else:
        nominal = runs["scenario"] == study.scenario_name(0, "")
        summary = validate("summary", pd.concat(
            [summarise(runs[nominal], exp.spec.kpis, None, targets),
             summarise_design(runs[~nominal], study.random_points(), exp.spec.kpis, targets)], ignore_index=True))
    atomic_write(out / "summary.csv", lambda p: summary.to_csv(p, index=False))
    atomic_write(out / "summary.parquet", lambda p: summary.to_parquet(p, index=False))
    return summary
