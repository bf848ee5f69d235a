"""Global sensitivity of each KPI to the uncertain parameters, from a finished study's result tables.

Per KPI (masks delivered, cumulative delivered at the design's checkpoint days, the day of each target,
whether each dated target is met, first-pass yield, fill rate per channel, the network bottleneck share per
stage) this computes

- morris: μ* (mean absolute elementary effect, SALib, interval ± SALib's bootstrap half-width), μ and σ
  (bootstrap percentile intervals over trajectories). Effects are per unit of the unit hypercube, i.e. the
  change in the KPI when the parameter moves across its whole range, in the KPI's own unit;
- sobol: first-order S1 and total ST indices with SALib's bootstrap intervals;
- lhs: Spearman rank correlation with bootstrap percentile intervals;
- variance (every design): the share of the KPI's variance across runs due to the parameters and due to
  replication noise. Noise variance is the pooled within-point variance when points have >= 2
  replications, else the variance over the nominal point's replications (noise taken as homoscedastic).

The day of a target not reached within the horizon counts as the horizon (a censored value: read indices of
rarely reached targets with care). Output: sensitivity.csv and sensitivity.parquet with columns
kpi, parameter, method, index, value, ci_low, ci_high (parameter "(all)" for the variance split).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from sim.uncertainty.design import DesignSpec, unit_problem
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


def variance_split(design_runs: pd.DataFrame, nominal_runs: np.ndarray, kpi: str, bootstrap: int,
                   rng: np.random.Generator) -> list[dict]:
    """Shares of the KPI's variance over design runs due to the parameters and to replication noise."""
    groups = [g[kpi].to_numpy(dtype=float) for _, g in design_runs.groupby("point", sort=True)]
    replicated = min(len(g) for g in groups) >= 2
    # each point's own variance once, not once per bootstrap draw of it; with as many runs at every point, a
    # draw's runs are rows of one matrix (the same numbers in the same order as concatenating the groups)
    group_noise = np.array([g.var(ddof=1) for g in groups]) if replicated else np.empty(0)
    by_point = np.stack(groups) if len({len(g) for g in groups}) == 1 else None

    def shares(picks: np.ndarray, nominals: np.ndarray) -> np.ndarray:
        """The noise share of each draw (a row of `picks`: points; of `nominals`: nominal runs). Each row is
        reduced on its own, contiguous, as a 1-D array would be: the same numbers as one draw at a time."""
        if by_point is not None:
            total = by_point[picks].reshape(len(picks), -1).var(axis=1, ddof=1)
        else:
            total = np.array([np.concatenate([groups[i] for i in pick]).var(ddof=1) for pick in picks])
        noise = group_noise[picks].mean(axis=1) if replicated else nominals.var(axis=1, ddof=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, np.clip(noise / np.where(total > 0, total, 1.0), 0.0, 1.0), math.nan)

    if not replicated and len(nominal_runs) < 2:
        return []
    noise_share = float(shares(np.arange(len(groups))[None, :], nominal_runs[None, :])[0])
    if math.isnan(noise_share):
        return []
    # the draws one by one, in the order (points, then nominal runs) that fixes the bootstrap's numbers; the
    # arithmetic on many draws at once (a Python loop of 1,000 tiny NumPy calls per KPI was most of a study's
    # analysis time)
    picks = np.empty((bootstrap, len(groups)), dtype=np.int64)
    nominal_picks = np.empty((bootstrap, len(nominal_runs)), dtype=np.int64)
    for b in range(bootstrap):
        picks[b] = rng.integers(0, len(groups), len(groups))
        if len(nominal_runs):
            nominal_picks[b] = rng.integers(0, len(nominal_runs), len(nominal_runs))
    cells = len(groups) * (len(groups[0]) if by_point is not None else 1) + len(nominal_runs)
    boot = np.concatenate([shares(picks[chunk], nominal_runs[nominal_picks[chunk]])
                           for chunk in _in_chunks(bootstrap, cells)])
    low, high = np.nanpercentile(boot, [2.5, 97.5])
    return [_row(kpi, ALL, "variance", "noise_share", noise_share, low, high),
            _row(kpi, ALL, "variance", "parameter_share", 1 - noise_share, 1 - high, 1 - low)]


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


def morris_indices(kpi: str, names: list[str], unit: np.ndarray, y: np.ndarray, design: DesignSpec,
                   rng: np.random.Generator) -> list[dict]:
    from SALib.analyze import morris

    result = morris.analyze(unit_problem(names), unit, y, num_resamples=design.bootstrap, conf_level=CONFIDENCE,
                            num_levels=design.levels, seed=int(rng.integers(2**31)))
    effects = elementary_effects(unit, y)
    trajectories = len(effects)
    # the draws one by one (their order fixes the numbers), the means and deviations of many draws at once
    picks = np.array([rng.integers(0, trajectories, trajectories) for _ in range(design.bootstrap)],
                     dtype=np.int64).reshape(design.bootstrap, trajectories)
    boot_mu, boot_sigma = [], []
    for chunk in _in_chunks(design.bootstrap, effects.size):
        samples = effects[picks[chunk]]  # (draws, trajectories, parameters)
        boot_mu.append(samples.mean(axis=1))
        boot_sigma.append(samples.std(axis=1, ddof=1))
    boot_mu, boot_sigma = np.concatenate(boot_mu), np.concatenate(boot_sigma)
    mu_low, mu_high = np.percentile(boot_mu, [2.5, 97.5], axis=0)
    sigma_low, sigma_high = np.percentile(boot_sigma, [2.5, 97.5], axis=0)
    rows = []
    for j, name in enumerate(names):
        star, conf = float(result["mu_star"][j]), float(result["mu_star_conf"][j])
        rows.append(_row(kpi, name, "morris", "mu_star", star, max(star - conf, 0.0), star + conf))
        rows.append(_row(kpi, name, "morris", "mu", result["mu"][j], mu_low[j], mu_high[j]))
        rows.append(_row(kpi, name, "morris", "sigma", result["sigma"][j], sigma_low[j], sigma_high[j]))
    return rows


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


def _ranks(a: np.ndarray) -> np.ndarray:
    """Ranks along the runs axis (the one before the last: `a` is (runs, columns) or (draws, runs, columns))."""
    return np.argsort(np.argsort(a, axis=-2, kind="stable"), axis=-2).astype(float)


def _spearman(unit: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's ρ of each column of `unit` with `y`; with a leading axis, of each draw. Ranks, their means
    (half-integers) and the sums of their products are exact in float64, so the numbers do not depend on how
    many draws are computed at once."""
    rx, ry = _ranks(unit), _ranks(y[..., None])
    rx -= rx.mean(axis=-2, keepdims=True)
    ry -= ry.mean(axis=-2, keepdims=True)
    denominator = np.sqrt((rx**2).sum(axis=-2) * (ry**2).sum(axis=-2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(axis=-2) / denominator


def spearman_indices(kpi: str, names: list[str], unit: np.ndarray, y: np.ndarray, design: DesignSpec,
                     rng: np.random.Generator) -> list[dict]:
    rho = _spearman(unit, y)
    picks = np.array([rng.integers(0, len(y), len(y)) for _ in range(design.bootstrap)],
                     dtype=np.int64).reshape(design.bootstrap, len(y))
    boot = np.concatenate([_spearman(unit[picks[chunk]], y[picks[chunk]])
                           for chunk in _in_chunks(design.bootstrap, unit.size)])
    low, high = np.nanpercentile(boot, [2.5, 97.5], axis=0)
    return [_row(kpi, name, "lhs", "spearman", rho[j], low[j], high[j]) for j, name in enumerate(names)]


# ------------------------------------------------------------------------------------------ driver
def analyse(outputs: pd.DataFrame, design_frame: pd.DataFrame, design: DesignSpec) -> pd.DataFrame:
    """All indices for all KPIs (see the module docstring)."""
    names = [c[2:] for c in design_frame.columns if c.startswith("u.")]
    points = design_frame[design_frame["kind"] == "design"].sort_values("point")
    unit = points[[f"u.{n}" for n in names]].to_numpy(dtype=float)
    design_runs = outputs[outputs["scenario"] != NOMINAL]
    nominal_runs = outputs[outputs["scenario"] == NOMINAL]
    rng = np.random.default_rng(design.seed if design.seed is not None else 0)
    rows: list[dict] = []
    for kpi in kpi_columns(outputs):
        values = design_runs[["point", kpi]]
        if values[kpi].isna().any() or values[kpi].std() == 0 or not len(values):
            continue  # a KPI without a value in some run (no orders, nothing inspected) or that never moves
        rows += variance_split(design_runs[["point", kpi]], nominal_runs[kpi].dropna().to_numpy(float), kpi,
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


def print_leaders(table: pd.DataFrame, out: Path, top: int = 5) -> None:
    """Print the leading parameters of the headline KPIs."""
    headline = [k for k in table["kpi"].unique() if k.startswith(("day_target.", "delivered_by_day."))
                or k == "masks_delivered"]
    print(f"\nsensitivity: {out / (SENSITIVITY_FILE + '.csv')} ({len(table)} rows)")
    for kpi in headline:
        ranked = ranking(table, kpi).head(top)
        if ranked.empty:
            continue
        print(f"  {kpi}:")
        for _, r in ranked.iterrows():
            print(f"    {r['parameter']:<58} {r['index']} {r['value']:>12.4g}  "
                  f"[{r['ci_low']:.4g} .. {r['ci_high']:.4g}]")


def after_run(study: Study, out: Path, horizon_days: int) -> pd.DataFrame:
    """Compute the sensitivity indices, write sensitivity.csv/.parquet, print the leading parameters (the
    command's hook after the runs of a study; here rather than in sim.uncertainty.study, which this module
    imports: the other way round was an import cycle)."""
    table = write_sensitivity(out, study.design, horizon_days)
    print_leaders(table, out)
    return table
