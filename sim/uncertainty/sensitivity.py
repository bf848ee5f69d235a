"""Global sensitivity of each KPI to the uncertain parameters, from a finished study's result tables.

Per KPI (masks delivered, cumulative delivered at the design's checkpoint days, the day of each target,
whether each dated target is met, first-pass yield, fill rate per channel, the network bottleneck share per
stage) this computes

- morris: from the elementary effects of the r trajectories (effects are per unit of the unit hypercube,
  i.e. the change in the KPI when the parameter moves across its whole range, in the KPI's own unit):
  μ (mean effect) with the Student t interval over trajectories (r - 1 degrees of freedom); μ* (mean
  absolute effect) with a studentized (bootstrap-t) interval over trajectories, whose width follows r and
  which allows for the skew of absolute effects; σ (their standard deviation) with the χ² interval of a
  standard deviation (normal theory, r - 1 degrees of freedom). benchmarks/stat_sensitivity.py measures the
  coverage of each on the Ishigami and Sobol G functions (docs/uncertainty.md gives the figures);
- sobol: first-order S1 and total ST indices with SALib's bootstrap intervals;
- lhs: Spearman rank correlation (ties share their average rank, as scipy.stats.spearmanr) with bootstrap
  percentile intervals;
- variance (every design): the noise variance, i.e. the variance between replications of one point: the
  pooled within-point variance when every design point has >= 2 replications, else the nominal point's
  (noise taken as the same everywhere), with its χ² interval and its degrees of freedom; with random points
  (an LHS design, or the base samples A and B of a Sobol design) also the total variance of the KPI over the
  runs at those points (bootstrap over points) and the shares of it due to the parameters and to noise. A
  Morris grid is not a random sample of the ranges (its 4 levels have a larger variance than the uniform's),
  so a Morris study gets the noise variance only.

The day of a target not reached within the horizon counts as the horizon (a censored value: read indices of
rarely reached targets with care). Output: sensitivity.csv and sensitivity.parquet with columns
kpi, parameter, method, index, value, ci_low, ci_high (parameter "(all)" for the variance split).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from sim.uncertainty.design import DesignSpec, random_rows, unit_problem
from sim.uncertainty.study import DESIGN_FILE, NOMINAL, Study

COLUMNS = ("kpi", "parameter", "method", "index", "value", "ci_low", "ci_high")
SENSITIVITY_FILE = "sensitivity"
ALL = "(all)"
CONFIDENCE = 0.95
RANK_INDEX = {"morris": "mu_star", "sobol": "ST", "lhs": "spearman"}
_KPI_PREFIXES = ("day_target.", "reached_by_date.", "fill_rate.")


# ------------------------------------------------------------------------------------------ outputs
def study_outputs(out: Path, checkpoints: list[int], horizon_days: int) -> pd.DataFrame:
    """One row per finished run: run_id, scenario, point, replication and the KPIs analysed."""
    runs = pd.read_parquet(out / "runs.parquet")
    runs = runs[runs["status"] == "ok"].reset_index(drop=True)
    frame = pd.DataFrame({
        "run_id": runs["run_id"], "scenario": runs["scenario"],
        "point": runs["run_id"].str.split("/").str[1].str[1:].astype(int),
        "replication": runs["replication"].astype(int)})
    for column in runs.columns:
        if column in ("masks_delivered", "masks_sewn", "first_pass_yield") or column.startswith(_KPI_PREFIXES):
            values = runs[column].astype(float)
            if column.startswith("day_target."):
                values = values.fillna(float(horizon_days))  # not reached: censored at the horizon
            frame[column] = values.to_numpy()
    series = pd.read_parquet(out / "series.parquet", columns=["run_id", "day", "series", "key", "value"])
    cum = series[(series["series"] == "cum_delivered") & (series["key"] == "all")]
    for day in checkpoints:
        at = cum[cum["day"] == day].set_index("run_id")["value"]
        if len(at):
            frame[f"delivered_by_day.{day}"] = frame["run_id"].map(at).astype(float).to_numpy()
    bottlenecks = pd.read_parquet(out / "bottlenecks.parquet")
    network = bottlenecks[bottlenecks["level"] == "network"]
    if len(network):
        shares = network.groupby(["run_id", "stage"])["share"].mean().unstack(fill_value=0.0)
        for stage in shares.columns:
            frame[f"bottleneck_share.{stage}"] = frame["run_id"].map(shares[stage]).fillna(0.0).to_numpy()
    return frame


def kpi_columns(outputs: pd.DataFrame) -> list[str]:
    return [c for c in outputs.columns if c not in ("run_id", "scenario", "point", "replication")]


# ------------------------------------------------------------------------------------------ methods
def _row(kpi: str, parameter: str, method: str, index: str, value: float, low: float, high: float) -> dict:
    return {"kpi": kpi, "parameter": parameter, "method": method, "index": index, "value": float(value),
            "ci_low": float(low), "ci_high": float(high)}


def _in_chunks(draws: int, cells_per_draw: int) -> list[slice]:
    """Consecutive slices of `draws` bootstrap draws, each holding at most ~4 M cells (~32 MB of float64)."""
    step = max(1, (1 << 22) // max(cells_per_draw, 1))
    return [slice(start, min(start + step, draws)) for start in range(0, draws, step)]


def random_points(design_frame: pd.DataFrame, method: str) -> list[int]:
    """The design points (numbers, 1-based) drawn at random from the declared distributions (`random_rows`)."""
    points = design_frame.loc[design_frame["kind"] == "design", "point"].sort_values().to_list()
    dimensions = sum(1 for c in design_frame.columns if c.startswith("u."))
    return [points[i] for i in random_rows(method, len(points), dimensions)]


def noise_variance(groups: list[np.ndarray]) -> tuple[float, int]:
    """(variance, degrees of freedom) of replication noise pooled over groups of runs of one point each."""
    df = sum(len(g) - 1 for g in groups if len(g) >= 2)
    if df < 1:
        return math.nan, 0
    return float(sum(((g - g.mean()) ** 2).sum() for g in groups if len(g) >= 2) / df), df


def chi2_variance_interval(variance: float, df: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The χ² interval of a variance estimated with `df` degrees of freedom (normal noise)."""
    from scipy.stats import chi2

    tail = (1 - confidence) / 2
    return df * variance / float(chi2.ppf(1 - tail, df)), df * variance / float(chi2.ppf(tail, df))


def variance_split(kpi: str, design_runs: pd.DataFrame, nominal_runs: np.ndarray, random: list[int],
                   bootstrap: int, rng: np.random.Generator) -> list[dict]:
    """The noise variance of the KPI (with its χ² interval), and with random points the shares of its variance
    over the runs at those points due to the parameters and to noise.

    Noise share = noise variance / total variance over runs at random points. Runs at different points share
    their seeds (common random numbers), which hides part of the noise from the spread across points, so the
    share is an upper bound on the noise's part (and the parameter share a lower bound). Its interval joins
    two 97.5 % intervals (noise: χ²; total: bootstrap over points), which hold together with probability
    >= 95 %."""
    groups = [g[kpi].to_numpy(dtype=float) for _, g in design_runs.groupby("point", sort=True)]
    replicated = bool(groups) and min(len(g) for g in groups) >= 2
    noise, df = noise_variance(groups if replicated else [nominal_runs])
    if df < 1:
        return []
    low, high = chi2_variance_interval(noise, df)
    rows = [_row(kpi, ALL, "variance", "noise_variance", noise, low, high),
            _row(kpi, ALL, "variance", "noise_degrees_of_freedom", df, math.nan, math.nan)]
    at_random = design_runs[design_runs["point"].isin(random)]
    by_point = [g[kpi].to_numpy(dtype=float) for _, g in at_random.groupby("point", sort=True)]
    if len(by_point) < 3:
        return rows  # no random points (a Morris grid), or too few to say anything
    total = float(np.concatenate(by_point).var(ddof=1))
    if total <= 0:
        return rows
    picks = rng.integers(0, len(by_point), (bootstrap, len(by_point)))
    if len({len(g) for g in by_point}) == 1:  # as many runs at every point: a draw's runs are rows of one matrix
        matrix = np.stack(by_point)
        boot = np.concatenate([matrix[picks[chunk]].reshape(len(picks[chunk]), -1).var(axis=1, ddof=1)
                               for chunk in _in_chunks(bootstrap, matrix.size)])
    else:
        boot = np.array([np.concatenate([by_point[i] for i in pick]).var(ddof=1) for pick in picks])
    total_low, total_high = np.percentile(boot, [2.5, 97.5])
    joint_low, joint_high = np.percentile(boot, [1.25, 98.75])
    noise_low, noise_high = chi2_variance_interval(noise, df, 1 - (1 - CONFIDENCE) / 2)
    share = min(noise / total, 1.0)
    share_low = min(noise_low / joint_high, 1.0)
    share_high = min(noise_high / joint_low, 1.0) if joint_low > 0 else float(noise_high > 0)
    rows += [_row(kpi, ALL, "variance", "total_variance", total, total_low, total_high),
             _row(kpi, ALL, "variance", "noise_share", share, share_low, share_high),
             _row(kpi, ALL, "variance", "parameter_share", 1 - share, 1 - share_high, 1 - share_low)]
    return rows


def elementary_effects(unit: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Morris elementary effects, shape (trajectories, d): each step of a trajectory moves one parameter."""
    n, d = unit.shape
    trajectories = n // (d + 1)
    effects = np.full((trajectories, d), np.nan)
    for t in range(trajectories):
        rows = slice(t * (d + 1), (t + 1) * (d + 1))
        x, yt = unit[rows], y[rows]
        for s in range(d):
            step = x[s + 1] - x[s]
            j = int(np.argmax(np.abs(step)))
            effects[t, j] = (yt[s + 1] - yt[s]) / step[j]
    return effects


def morris_statistics(effects: np.ndarray, bootstrap: int, rng: np.random.Generator,
                      confidence: float = CONFIDENCE) -> dict[str, np.ndarray]:
    """μ, μ* and σ of each parameter's elementary effects (rows: trajectories) with their intervals:
    μ: Student t; μ*: studentized bootstrap (bootstrap-t) of the mean absolute effect, which allows for the
    skew of absolute effects where the t interval fell short (G function, 10 trajectories: 92-94 %); σ: χ².
    With fewer than 2 trajectories the intervals are NaN."""
    from scipy.stats import chi2
    from scipy.stats import t as student

    r = len(effects)
    absolute = np.abs(effects)
    out = {"mu": effects.mean(axis=0), "mu_star": absolute.mean(axis=0),
           "sigma": effects.std(axis=0, ddof=1) if r >= 2 else np.full(effects.shape[1], math.nan)}
    if r < 2:
        for name in ("mu", "mu_star", "sigma"):
            out[f"{name}_low"] = out[f"{name}_high"] = np.full(effects.shape[1], math.nan)
        return out
    tail = (1 - confidence) / 2
    mu_half = float(student.ppf(1 - tail, r - 1)) * out["sigma"] / math.sqrt(r)
    out["mu_low"], out["mu_high"] = out["mu"] - mu_half, out["mu"] + mu_half
    spread = absolute.std(axis=0, ddof=1) / math.sqrt(r)
    picks = rng.integers(0, r, (bootstrap, r))
    studentized = []
    for chunk in _in_chunks(bootstrap, absolute.size):
        draws = absolute[picks[chunk]]  # (draws, trajectories, parameters)
        with np.errstate(invalid="ignore", divide="ignore"):
            studentized.append((draws.mean(axis=1) - out["mu_star"]) / (draws.std(axis=1, ddof=1) / math.sqrt(r)))
    # a draw of identical effects has no spread: 0/0 is dropped, a non-zero gap over 0 counts as ±infinity
    # (quantiles without interpolation, so that an infinite one stays infinite rather than NaN)
    with warnings.catch_warnings():  # a parameter that never moves the KPI has only 0/0 draws
        warnings.simplefilter("ignore", RuntimeWarning)
        t_low, t_high = np.nanquantile(np.concatenate(studentized), [tail, 1 - tail], axis=0, method="inverted_cdf")
    # where most draws have no spread (one non-zero effect among few trajectories) the bootstrap-t bound is
    # infinite: the t interval's bound then, which is finite but not measured to hold there
    t_plain = float(student.ppf(1 - tail, r - 1))
    t_low, t_high = np.where(np.isfinite(t_low), t_low, -t_plain), np.where(np.isfinite(t_high), t_high, t_plain)
    out["mu_star_low"] = np.where(spread > 0, np.maximum(out["mu_star"] - t_high * spread, 0.0), out["mu_star"])
    out["mu_star_high"] = np.where(spread > 0, out["mu_star"] - t_low * spread, out["mu_star"])
    out["sigma_low"] = out["sigma"] * math.sqrt((r - 1) / float(chi2.ppf(1 - tail, r - 1)))
    out["sigma_high"] = out["sigma"] * math.sqrt((r - 1) / float(chi2.ppf(tail, r - 1)))
    return out


def morris_indices(kpi: str, names: list[str], unit: np.ndarray, y: np.ndarray, design: DesignSpec,
                   rng: np.random.Generator) -> list[dict]:
    """μ*, μ and σ of each parameter with their intervals (see `morris_statistics`)."""
    stats = morris_statistics(elementary_effects(unit, y), design.bootstrap, rng)
    return [_row(kpi, name, "morris", index, stats[index][j], stats[f"{index}_low"][j], stats[f"{index}_high"][j])
            for j, name in enumerate(names) for index in ("mu_star", "mu", "sigma")]


def sobol_indices(kpi: str, names: list[str], y: np.ndarray, design: DesignSpec,
                  rng: np.random.Generator) -> list[dict]:
    from SALib.analyze import sobol

    result = sobol.analyze(unit_problem(names), y, calc_second_order=False, num_resamples=design.bootstrap,
                           conf_level=CONFIDENCE, seed=int(rng.integers(2**31)))
    rows = []
    for j, name in enumerate(names):
        for index in ("S1", "ST"):
            value, conf = float(result[index][j]), float(result[f"{index}_conf"][j])
            rows.append(_row(kpi, name, "sobol", index, value, value - conf, value + conf))
    return rows


def _spearman(unit: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's ρ of each column of `unit` with `y` (the runs axis is the one before the last; with a leading
    axis, of each draw): Pearson's correlation of the ranks, ties sharing their average rank
    (scipy.stats.rankdata), as scipy.stats.spearmanr. A constant column or KPI gives NaN."""
    from scipy.stats import rankdata

    rx, ry = rankdata(unit, axis=-2), rankdata(y[..., None], axis=-2)
    rx -= rx.mean(axis=-2, keepdims=True)
    ry -= ry.mean(axis=-2, keepdims=True)
    denominator = np.sqrt((rx**2).sum(axis=-2) * (ry**2).sum(axis=-2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(axis=-2) / denominator


def spearman_indices(kpi: str, names: list[str], unit: np.ndarray, y: np.ndarray, design: DesignSpec,
                     rng: np.random.Generator) -> list[dict]:
    rho = _spearman(unit, y)
    picks = rng.integers(0, len(y), (design.bootstrap, len(y)))
    boot = np.concatenate([_spearman(unit[picks[chunk]], y[picks[chunk]])
                           for chunk in _in_chunks(design.bootstrap, unit.size)])
    with np.errstate(invalid="ignore"):
        low, high = np.nanpercentile(boot, [2.5, 97.5], axis=0)
    return [_row(kpi, name, "lhs", "spearman", rho[j], low[j], high[j]) for j, name in enumerate(names)]


# ------------------------------------------------------------------------------------------ driver
def analyse(outputs: pd.DataFrame, design_frame: pd.DataFrame, design: DesignSpec) -> pd.DataFrame:
    """All indices for all KPIs (see the module docstring)."""
    names = [c[2:] for c in design_frame.columns if c.startswith("u.")]
    points = design_frame[design_frame["kind"] == "design"].sort_values("point")
    unit = points[[f"u.{n}" for n in names]].to_numpy(dtype=float)
    random = random_points(design_frame, design.method)
    design_runs = outputs[outputs["scenario"] != NOMINAL]
    nominal_runs = outputs[outputs["scenario"] == NOMINAL]
    rng = np.random.default_rng(design.seed if design.seed is not None else 0)
    rows: list[dict] = []
    for kpi in kpi_columns(outputs):
        values = design_runs[["point", kpi]]
        if values[kpi].isna().any() or values[kpi].std() == 0 or not len(values):
            continue  # a KPI without a value in some run (no orders, nothing inspected) or that never moves
        rows += variance_split(kpi, values, nominal_runs[kpi].dropna().to_numpy(float), random,
                               design.bootstrap, rng)
        per_point = values.groupby("point")[kpi].mean().reindex(points["point"])
        if per_point.isna().any():
            continue  # a point without a finished run: the design is incomplete for this KPI
        y = per_point.to_numpy(dtype=float)
        if design.method == "morris":
            rows += morris_indices(kpi, names, unit, y, design, rng)
        elif design.method == "sobol":
            rows += sobol_indices(kpi, names, y, design, rng)
        else:
            rows += spearman_indices(kpi, names, unit, y, design, rng)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def write_sensitivity(out: Path, design: DesignSpec, horizon_days: int) -> pd.DataFrame:
    """Read the study's tables in `out`, compute every index, write sensitivity.csv and .parquet atomically."""
    from sim.runs.atomic import atomic_write

    outputs = study_outputs(out, design.checkpoints, horizon_days)
    table = analyse(outputs, pd.read_parquet(out / DESIGN_FILE), design)
    atomic_write(out / f"{SENSITIVITY_FILE}.csv", lambda p: table.to_csv(p, index=False))
    atomic_write(out / f"{SENSITIVITY_FILE}.parquet", lambda p: table.to_parquet(p, index=False))
    return table


def ranking(table: pd.DataFrame, kpi: str) -> pd.DataFrame:
    """The parameters of one KPI, most influential first, by the design's ranking index (|ρ| for lhs)."""
    rows = table[(table["kpi"] == kpi) & (table["index"].isin(RANK_INDEX.values()))].copy()
    rows["strength"] = rows["value"].abs()
    return rows.sort_values("strength", ascending=False).reset_index(drop=True)


def print_leaders(table: pd.DataFrame, out: Path, labels: dict[str, str] | None = None, top: int = 5) -> None:
    """Print the leading parameters of the headline KPIs, by label, with their 95 % intervals."""
    from sim.uncertainty.labels import INDEX_WORDS, fmt_effect, fmt_interval

    labels = labels or {}
    headline = [k for k in table["kpi"].unique() if k.startswith(("day_target.", "delivered_by_day."))
                or k == "masks_delivered"]
    print(f"\nsensitivity: {out / (SENSITIVITY_FILE + '.csv')} ({len(table)} rows)")
    for kpi in headline:
        ranked = ranking(table, kpi).head(top)
        if ranked.empty:
            continue
        print(f"  {kpi}:")
        for _, r in ranked.iterrows():
            index = r["index"]
            print(f"    {labels.get(r['parameter'], r['parameter']):<58} {INDEX_WORDS[index]} "
                  f"{fmt_effect(r['value'], kpi, index):>14}  95 % "
                  f"{fmt_interval(r['ci_low'], r['ci_high'], kpi, index)}")


def after_run(study: Study, out: Path, horizon_days: int) -> pd.DataFrame:
    """Compute the sensitivity indices, write sensitivity.csv/.parquet, print the leading parameters (the
    command's hook after the runs of a study; here rather than in sim.uncertainty.study, which this module
    imports: the other way round was an import cycle)."""
    table = write_sensitivity(out, study.design, horizon_days)
    print_leaders(table, out, {path: p.label for path, p in study.params.items()})
    return table
