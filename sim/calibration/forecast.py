"""Forecasting from a calibration: `parameters_from: <calibration folder>` in an experiment makes every
replication run at its own point of the non-implausible set (drawn from `nonimplausible.parquet`'s sample of the
region left), so the bands of `resilience run` hold parameter uncertainty that the observations left, as well
as the noise between runs. Replication r of every scenario uses draw r (common random numbers and common
parameter draws across scenarios).

The model discrepancy assumed in calibration (`discrepancy_share` x the value, as an sd) is part of the
forecast too: the real quantity is the model's at its best input plus that discrepancy, so the summary's
bands (p5, p50, p95: quantiles of the runs each widened by a normal discrepancy) and its interval of the mean
(ci_low, ci_high: the t half-width and z x the discrepancy sd added in quadrature) include it. Differences
between scenarios are left as they are: one discrepancy, common to both, is assumed to cancel."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.stats import norm

from sim.errors import ConfigError
from sim.uncertainty.parameters import UncertainParameter


@dataclass
class CalibratedSet:
    folder: Path
    parameters: dict[str, dict[str, Any]]  # path -> {label, also, is_date, integer, definition}
    values: pd.DataFrame  # the kept sample: one column per path
    discrepancy_share: float = 0.0  # the calibration's assumed model discrepancy (sd as a share of the value)

    @classmethod
    def load(cls, folder: Path, file: str, field: str = "parameters_from") -> CalibratedSet:
        summary_path, kept_path = folder / "summary.json", folder / "nonimplausible.parquet"
        if not summary_path.exists() or not kept_path.exists():
            raise ConfigError.at(file, field, str(folder), "a calibration folder written by 'resilience calibrate' "
                                                           "(with summary.json and nonimplausible.parquet)")
        from sim.calibration.calibrated_folder import read_kept, read_summary  # every fault: one line

        parameters = read_summary(folder, file, field)
        if any("definition" not in p for p in parameters.values()):
            raise ConfigError.at(file, field, str(folder), "a calibration written by this version (summary.json "
                                                           "gives each parameter's definition); run calibrate again")
        for name, meta in parameters.items():
            try:
                UncertainParameter.model_validate(meta["definition"])
            except ValueError:
                raise ConfigError.at(file, field, str(folder), f"summary.json: the definition of {name!r} is not an "
                                     "uncertain parameter's; run 'resilience calibrate' again") from None
        settings = json.loads(summary_path.read_text(encoding="utf-8")).get("settings", {})
        share = settings.get("discrepancy_share", 0.0) if isinstance(settings, dict) else 0.0
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share < math.inf:
            raise ConfigError.at(file, field, str(folder), f"summary.json: settings.discrepancy_share is "
                                 f"{share!r}, not a share >= 0; run 'resilience calibrate' again")
        return cls(folder, parameters, read_kept(folder, file, field, parameters), float(share))

    @property
    def definitions(self) -> dict[str, UncertainParameter]:
        """Each calibrated parameter as declared (load checked that summary.json gives a valid one)."""
        return {path: UncertainParameter.model_validate(meta["definition"]) for path, meta in self.parameters.items()}

    def draws(self, n: int, seed: int) -> list[dict[str, Any]]:
        """n points of the kept set (without replacement while it lasts), as scenario overrides, each value cast
        by its parameter's own definition (dates as ISO dates, whole numbers as integers)."""
        rng = np.random.default_rng([seed, 16])  # a stream of its own: the runs' streams are untouched
        rows = rng.choice(len(self.values), size=n, replace=n > len(self.values))
        definitions = self.definitions
        out = []
        for row in rows:
            point: dict[str, Any] = {}
            for path, meta in self.parameters.items():  # a choice: its alternative's overrides
                point.update(definitions[path].as_overrides(path, float(self.values.at[int(row), path]),
                                                            meta["integer"]))
            out.append(point)
        return out

    def with_discrepancy(self, summary: pd.DataFrame, runs: pd.DataFrame, confidence: float = 0.95
                         ) -> pd.DataFrame:
        """The summary's bands and intervals of the mean widened by the assumed model discrepancy."""
        return with_discrepancy(summary, runs, self.discrepancy_share, confidence)


def mixture_quantile(x: np.ndarray, share: float, q: float) -> float:
    """The q-quantile of x_i + e, e ~ N(0, (share x_i)^2), i drawn uniformly: the runs each blurred by the
    discrepancy (exact, by root finding on the mixture's distribution function)."""
    x = np.asarray(x, dtype=float)
    sd = np.maximum(share * np.abs(x), 1e-12 * max(1.0, float(np.abs(x).max())))
    cdf = lambda y: float(norm.cdf((y - x) / sd).mean()) - q  # noqa: E731
    low, high = float((x - 10 * sd).min()), float((x + 10 * sd).max())
    return brentq(cdf, low, high, xtol=1e-9 * max(1.0, abs(high)))


def with_discrepancy(summary: pd.DataFrame, runs: pd.DataFrame, share: float, confidence: float = 0.95
                     ) -> pd.DataFrame:
    """Widen each plain KPI row (not the P(...) rows, which are shares of runs) of a summary by a model
    discrepancy of sd share x value: p5/p50/p95 become the quantiles of the runs blurred by it, and the
    interval of the mean adds z x share x |mean| to its half-width in quadrature."""
    if share <= 0:
        return summary
    from sim.results.tables import PARAM_PREFIX, point_labels

    out = summary.copy()
    ok = (runs[runs["status"] == "ok"] if "status" in runs.columns else runs).copy()
    ok["point"] = point_labels(ok, sorted(c for c in ok.columns if c.startswith(PARAM_PREFIX)))
    z = float(norm.ppf(0.5 + confidence / 2))
    for i, row in out.iterrows():
        kpi = str(row["kpi"])
        if kpi.startswith("P(") or kpi not in ok.columns:
            continue
        x = ok.loc[(ok["scenario"] == row["scenario"]) & (ok["point"] == row["point"]), kpi].to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        if not len(x):
            continue
        for column, q in (("p5", 0.05), ("p50", 0.5), ("p95", 0.95)):
            out.at[i, column] = mixture_quantile(x, share, q)
        half = float(row["half_width"]) if math.isfinite(row["half_width"]) else 0.0
        widened = math.hypot(half, z * share * abs(float(row["mean"])))
        out.at[i, "half_width"] = widened
        out.at[i, "ci_low"], out.at[i, "ci_high"] = row["mean"] - widened, row["mean"] + widened
    return out
