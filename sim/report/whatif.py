"""What-if from an uncertainty study's emulators: sliders for the top drivers (inside their studied ranges only)
answer the headline KPIs, computed in the page from Gaussian-process emulators exported as data.

At report time one GP is fitted per headline KPI (the day the first dated target is reached, the masks delivered by
its date) on the study's design points: inputs are the unit-cube coordinates (design.parquet) of the top drivers
(the study's sensitivity ranking: history matching's active variables; the other parameters' effect joins the noise
term), outputs the mean of the KPI over each point's runs (runs.parquet and series.parquet, read through
ResultsSet), standardized. On the 2020 study (64 Morris points, 31 parameters) a GP on all 31 inputs left 8 of 13
held-back points inside its 95 % band, one on the 4 drivers 13 of 13.
The kernel is the calibration emulators' (sim/calibration/emulator.py): Constant × Matern(3/2) with one length scale
per parameter, plus a white-noise term for the replication noise, which the answer leaves out of the mean's band
and states apart. Before the fit that the page uses, a fit without a fifth of the points is checked on them (the
held-back accuracy the panel shows).

The exporter reads the fitted scikit-learn GaussianProcessRegressor through its public attributes only (`kernel_`,
`X_train_`, `alpha_`, `L_`) and this module's own output scaling. The page evaluates mean = c k(x, X) · alpha and
variance = c − |L⁻¹ c k(x, X)|² (templates/whatif.js), which is what scikit-learn's `predict` computes with the
smooth kernel (`predict_emulator` below): the browser test compares the two.
"""

from __future__ import annotations

import datetime as dt
import math
import shlex
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from sim.report.formatting import fmt_count
from sim.report.labels import target_label
from sim.results.results_set import ResultsSet
from sim.results.tables import DAY_TARGET, kpi_name

DRIVERS = 4  # sliders: the parameters the first KPI depends on most
SLIDER_STEPS = 100
HELD_BACK_SHARE = 0.2
MIN_POINTS = 8  # fewer design points than this: no emulator worth showing


@dataclass
class Emulator:
    """One KPI's fitted GP, with what the page needs to evaluate it."""

    kpi: str
    label: str
    unit: str  # "day" (a day index from the start: the page shows a date) or "masks"
    gp: Any  # sklearn GaussianProcessRegressor fitted on standardized outputs
    mean: float  # output scaling: y = mean + scale * z
    scale: float
    check: dict[str, Any]

    def export(self) -> dict[str, Any]:
        """The emulator as plain data (public attributes of the fitted GP only)."""
        smooth = self.gp.kernel_.k1  # Constant × Matern; k2 is the white noise
        return {"kpi": self.kpi, "label": self.label, "unit": self.unit, "kernel": "matern32_ard",
                "constant": float(smooth.k1.constant_value),
                "length_scales": np.atleast_1d(smooth.k2.length_scale).astype(float).tolist(),
                "x_train": self.gp.X_train_.tolist(), "alpha": np.ravel(self.gp.alpha_).tolist(),
                "L": np.tril(self.gp.L_).tolist(), "mean": self.mean, "scale": self.scale,
                "noise_sd": self.noise_sd, "check": self.check}

    @property
    def noise_sd(self) -> float:
        """Spread of one run around the emulated mean, in the KPI's unit (the white-noise term)."""
        return float(math.sqrt(self.gp.kernel_.k2.noise_level) * self.scale)


def _gp(x: np.ndarray, z: np.ndarray, seed: int) -> Any:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    kernel = (ConstantKernel(1.0, (1e-3, 1e3)) * Matern(np.full(x.shape[1], 0.5), (1e-2, 1e2), nu=1.5)
              + WhiteKernel(1e-2, (1e-8, 1.0)))
    gp = GaussianProcessRegressor(kernel, normalize_y=False, n_restarts_optimizer=1, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return gp.fit(x, z)


def predict_emulator(gp: Any, mean: float, scale: float, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Emulated mean and its standard deviation (the smooth function's, without the run noise) at rows of x, by
    scikit-learn's own `predict` with the white-noise term dropped (the reference the page must match)."""
    import copy

    smooth = copy.copy(gp)  # a shallow twin sharing the fit (fitted without normalize_y): only its kernel differs
    smooth.kernel_ = gp.kernel_.k1
    z, sd = smooth.predict(np.atleast_2d(x), return_std=True)
    return mean + scale * z, scale * sd


def _scaled(y: np.ndarray) -> tuple[float, float]:
    scale = float(np.std(y))
    return float(np.mean(y)), scale if scale > 0 else 1.0


def fit_checked(kpi: str, label: str, unit: str, x: np.ndarray, y: np.ndarray, seed: int) -> Emulator:
    """Fit on all but a fifth of the points, check on that fifth, then fit on all (the emulator the page uses)."""
    rng = np.random.default_rng(seed)
    held = rng.permutation(len(x))[:max(3, round(HELD_BACK_SHARE * len(x)))]
    train = np.setdiff1d(np.arange(len(x)), held)
    mean, scale = _scaled(y[train])
    gp = _gp(x[train], (y[train] - mean) / scale, seed)
    mu, sd = predict_emulator(gp, mean, scale, x[held])
    noise = float(gp.kernel_.k2.noise_level) * scale ** 2
    spread = np.sqrt(sd ** 2 + noise)  # a held-back point is one mean of its runs: the run noise counts
    errors = y[held] - mu
    within = int(np.sum(np.abs(errors) <= 1.96 * spread))
    # failed when more held-back points fall outside than a band right 95 % of the time would leave (one-sided
    # binomial test at 5 %, as the calibration's emulators are checked)
    p_value = binomtest(len(held) - within, len(held), 0.05, alternative="greater").pvalue
    check = {"held_back": len(held), "within_95": within, "rmse": float(np.sqrt(np.mean(errors ** 2))),
             "spread": float(np.std(y)), "points": len(x), "passed": bool(p_value >= 0.05)}
    mean, scale = _scaled(y)
    return Emulator(kpi, label, unit, _gp(x, (y - mean) / scale, seed), mean, scale, check)


def _first_dated_target(rs: ResultsSet) -> tuple[str, dict[str, Any]] | None:
    dated = [(n, t) for n, t in rs.targets.items() if t.get("by")]
    plain = [(n, t) for n, t in dated if t.get("measure") in (None, "all", "delivered")]
    chosen = sorted(plain or dated, key=lambda nt: float(nt[1]["masks"]))
    return chosen[0] if chosen else None


def _point_of(run_ids: pd.Series) -> np.ndarray:
    return run_ids.astype(str).str.split("/").str[1].str[1:].astype(int).to_numpy()


def _outputs(rs: ResultsSet, horizon_day: int) -> tuple[pd.DataFrame, list[tuple[str, str, str]]]:
    """Mean over each design point's runs of the headline KPIs; [(kpi, label, unit)]."""
    found = _first_dated_target(rs)
    ok = rs.ok_runs
    frame = pd.DataFrame({"point": _point_of(ok["run_id"]), "run_id": ok["run_id"].astype(str).to_numpy()})
    kpis: list[tuple[str, str, str]] = []
    if found is None:
        if "masks_delivered" in ok.columns:
            frame["masks_delivered"] = ok["masks_delivered"].to_numpy(dtype=float)
            kpis.append(("masks_delivered", f"Masks delivered by {rs.end_date.day} {rs.end_date:%B}", "masks"))
    else:
        name, target = found
        label = target_label(name, target)
        column = kpi_name(DAY_TARGET, name)
        if column in ok.columns:
            # not reached: counted at the horizon (censored), as the study's own analysis does
            frame[column] = ok[column].to_numpy(dtype=float)
            frame[column] = frame[column].fillna(float(horizon_day))
            kpis.append((column, f"The day {label} are delivered", "day"))
        by = pd.Timestamp(target["by"])
        day = (by - rs.start_date).days
        cum = rs.series("cum_delivered")
        cum = cum[(cum["key"].astype(str) == "all") & (cum["day"] == min(day, horizon_day))]
        if len(cum):
            at = dict(zip(cum["run_id"].astype(str), cum["value"], strict=True))
            frame["masks_by_date"] = frame["run_id"].map(at).astype(float)
            kpis.append(("masks_by_date", f"Masks delivered by {by.day} {by:%B}", "masks"))
    return frame.groupby("point")[[k for k, _, _ in kpis]].mean(), kpis


def _parameters(rs: ResultsSet) -> dict[str, Any]:
    from sim.uncertainty.parameters import UncertainParameter

    spec = ((rs.manifest.get("config") or {}).get("experiment") or {}).get("uncertain") or {}
    return {path: UncertainParameter.model_validate(p) for path, p in spec.items()}


def _drivers(rs: ResultsSet, kpi: str, names: list[str], x: np.ndarray, y: np.ndarray, seed: int) -> list[str]:
    """The parameters the KPI depends on most: the study's sensitivity ranking, else the shortest length scales of
    a GP fitted on every parameter."""
    if len(names) <= DRIVERS:
        return list(names)
    path = rs.dir / "sensitivity.csv"
    if path.exists():
        from sim.uncertainty.sensitivity import ranking

        ranked = ranking(pd.read_csv(path), kpi)
        order = [p for p in ranked["parameter"] if p in names] if len(ranked) else []
        if order:
            return order[:DRIVERS]
    mean, scale = _scaled(y)
    scales = np.atleast_1d(_gp(x, (y - mean) / scale, seed).kernel_.k1.k2.length_scale)
    return [names[i] for i in np.argsort(scales)[:DRIVERS]]


def _slider(path: str, param: Any, integer: bool, nominal_u: float) -> dict[str, Any]:
    """A driver's slider over its studied range: the value shown (as the field takes it) at each step of u."""
    grid = np.linspace(0.0, 1.0, SLIDER_STEPS + 1)
    # 6 significant digits, as a reader would type them: 0.15, not 0.15000000000000002
    values = [param.cast(float(f"{v:.6g}"), integer) for v in param.ppf(grid)]
    shown = [v if isinstance(v, str) else (f"{v:,}" if isinstance(v, int) else f"{v:.4g}") for v in values]
    return {"path": path, "label": param.label, "also": list(param.also), "u": grid.tolist(),
            "values": [str(v) for v in values], "shown": shown, "start": round(nominal_u * SLIDER_STEPS)}


def _nominal_u(param: Any, nominal: Any) -> float:
    """The unit coordinate of the nominal value (the quantile function inverted on a fine grid)."""
    grid = np.linspace(0.0, 1.0, 2001)
    values = param.ppf(grid)
    value = dt.date.fromisoformat(str(nominal)).toordinal() if param.is_date else float(nominal)
    return float(np.clip(np.interp(value, values, grid), 0.0, 1.0))


def whatif_panel(rs: ResultsSet) -> dict[str, Any] | None:
    """The panel's data (emulators, sliders, the command), or None when the results hold no uncertainty study."""
    from sim.uncertainty.study import DESIGN_FILE

    path = rs.dir / DESIGN_FILE
    params = _parameters(rs)
    if not path.exists() or not params:
        return None
    design = pd.read_parquet(path)
    # A structural choice picks among named alternatives: its index is no range a slider can move along, nor a
    # value `--set` takes; like the parameters left out, its effect joins the scatter beside each answer.
    names = [p for p in params if f"u.{p}" in design.columns and params[p].choice is None]
    choices = [params[p].label for p in params if params[p].choice is not None]
    points = design[design["kind"] == "design"].set_index("point")
    horizon_day = int((rs.end_date - rs.start_date).days)
    outputs, kpis = _outputs(rs, horizon_day)
    common = points.index.intersection(outputs.index)
    if len(common) < MIN_POINTS or not kpis or not names:
        return None
    seed = int(rs.manifest.get("root_seed") or 0) if str(rs.manifest.get("root_seed", "")).isdigit() else 0
    kpis = [(k, label, unit) for k, label, unit in kpis if outputs.loc[common, k].notna().all()]
    if not kpis:
        return None
    every = points.loc[common, [f"u.{p}" for p in names]].to_numpy(dtype=float)
    drivers = _drivers(rs, kpis[0][0], names, every, outputs.loc[common, kpis[0][0]].to_numpy(dtype=float), seed)
    # The emulators' inputs are the drivers only (history matching's active variables): the other parameters, which
    # matter less, vary over their ranges in the design, and their effect joins the run noise in the white term.
    x = points.loc[common, [f"u.{p}" for p in drivers]].to_numpy(dtype=float)
    emulators = [fit_checked(k, label, unit, x, outputs.loc[common, k].to_numpy(dtype=float), seed)
                 for k, label, unit in kpis]
    nominal_row = design[design["kind"] != "design"]
    nominal = {p: (nominal_row[p].iloc[0] if len(nominal_row) else None) for p in drivers}
    integer = {p: bool(params[p].integer) if params[p].integer is not None else
               bool(np.all(np.mod(pd.to_numeric(design[p], errors="coerce").dropna(), 1) == 0)) for p in drivers}
    nominal_u = [(_nominal_u(params[p], nominal[p]) if nominal[p] is not None else 0.5) for p in drivers]
    sliders = [dict(_slider(p, params[p], integer[p], nominal_u[i]), index=i) for i, p in enumerate(drivers)]
    others = len(names) - len(drivers)
    return {"emulators": [e.export() for e in emulators], "fixed_u": nominal_u, "names": drivers, "others": others,
            "choices": choices,
            "sliders": sliders, "start_date": rs.start_date.strftime("%Y-%m-%d"), "horizon_day": horizon_day,
            "command": _command_base(rs), "fitted": emulators}


def _command_base(rs: ResultsSet) -> str:
    """`resilience run <the study's base file>`: to which the page appends one --set per driver (and its `also`)."""
    from pathlib import Path

    experiment = (rs.manifest.get("config") or {}).get("experiment") or {}
    file = rs.manifest.get("experiment_file")
    base = experiment.get("base")
    if base and file:  # the base is named relative to the study's file
        base = str(Path(str(file)).parent / str(base))
    return "resilience run " + shlex.quote(str(base or file or "<the study's scenario file>"))


def describe_check(check: dict[str, Any], unit: str) -> str:
    """'Checked on 19 design points held back from the fit: 17 within the emulator's 95 % band; typical error 1.3
    days (the KPI spreads 6.2 days over the design).'"""
    fmt = (lambda v: f"{v:.1f} days") if unit == "day" else (lambda v: f"{fmt_count(v)} masks")
    verdict = "" if check["passed"] else ("; it FAILS this check (more misses than a 95 % band allows): its answers "
                                          "are not shown")
    return (f"checked on {check['held_back']} of the {check['points']} design points, held back from the fit: "
            f"{check['within_95']} of {check['held_back']} within the emulator's 95 % band (scatter included); "
            f"typical error {fmt(check['rmse'])}, against a spread of {fmt(check['spread'])} over the design{verdict}")


__all__ = ["Emulator", "describe_check", "fit_checked", "predict_emulator", "whatif_panel"]
