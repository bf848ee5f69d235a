"""A forecast from a calibrated set: each draw cast by its parameter's own definition (whole numbers stay whole,
dates are dates), and the summary's bands and interval of the mean widened by the model discrepancy assumed in
calibration."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from sim.calibration.forecast import CalibratedSet, mixture_quantile, with_discrepancy
from sim.results.analysis import summarise
from sim.uncertainty.parameters import UncertainParameter


def _meta(param: UncertainParameter, integer: bool) -> dict:
    return {"label": param.label, "also": [], "is_date": param.is_date, "integer": integer,
            "definition": param.model_dump(mode="json", exclude_none=True)}


def test_draws_cast_each_value_by_its_parameter():
    sewers = UncertainParameter(label="sewers", source="s", uniform=(10, 20))
    ramp = UncertainParameter(label="ramp", source="s", uniform=(dt.date(2020, 4, 1), dt.date(2020, 4, 30)))
    rate = UncertainParameter(label="rate", source="s", uniform=(0.1, 0.9))
    values = pd.DataFrame({"sewers": [12.6, 17.2], "ramp": [float(dt.date(2020, 4, 6).toordinal()) + 0.4] * 2,
                           "rate": [0.25, 0.5]})
    kept = CalibratedSet(Path("."), {"sewers": _meta(sewers, True), "ramp": _meta(ramp, False),
                                     "rate": _meta(rate, False)}, values, 0.1)
    draws = kept.draws(2, seed=3)
    assert sorted(d["sewers"] for d in draws) == [13, 17] and all(type(d["sewers"]) is int for d in draws)
    assert {d["ramp"] for d in draws} == {"2020-04-06"}
    assert sorted(d["rate"] for d in draws) == [0.25, 0.5] and all(type(d["rate"]) is float for d in draws)


def test_mixture_quantile_is_the_runs_blurred_by_the_discrepancy():
    # one run: the quantiles of x (1 + share Z) exactly
    assert mixture_quantile(np.array([100.0]), 0.1, 0.95) == pytest.approx(100 * (1 + 0.1 * norm.ppf(0.95)))
    # many runs: against a large Monte Carlo sample of the same mixture
    rng = np.random.default_rng(0)
    x = rng.normal(1000, 50, 40)
    blurred = np.repeat(x, 25_000) * (1 + 0.05 * rng.standard_normal(40 * 25_000))
    for q in (0.05, 0.5, 0.95):
        assert mixture_quantile(x, 0.05, q) == pytest.approx(np.quantile(blurred, q), rel=2e-3)


def test_the_summary_of_a_forecast_is_widened_by_the_discrepancy():
    """Counts are widened; a share near 1 is not (10 % of 0.99 as an sd put a yield's band at 119 %), nor a date."""
    runs = pd.DataFrame({"run_id": [f"r{i}" for i in range(20)], "scenario": "base", "replication": range(20),
                         "status": "ok", "masks_delivered": np.linspace(900, 1100, 20),
                         "first_pass_yield": np.linspace(0.98, 0.995, 20),
                         "day_target.first_goal": 40.0 + np.arange(20) % 3})
    plain = summarise(runs)
    wide = with_discrepancy(plain, runs, 0.1)
    for kpi in ("first_pass_yield", "day_target.first_goal"):
        assert wide.set_index("kpi").loc[kpi].equals(plain.set_index("kpi").loc[kpi])
    assert wide.set_index("kpi").loc["first_pass_yield", "ci_high"] <= 1.0
    p, w = plain.set_index("kpi").loc["masks_delivered"], wide.set_index("kpi").loc["masks_delivered"]
    assert w["half_width"] == pytest.approx(np.hypot(p["half_width"], norm.ppf(0.975) * 0.1 * p["mean"]))
    assert w["ci_low"] < p["ci_low"] and w["ci_high"] > p["ci_high"] and w["mean"] == p["mean"]
    assert w["p5"] < p["p5"] - 75 and w["p95"] > p["p95"] + 75  # 10 % of 1000 as an sd: much wider
    assert with_discrepancy(plain, runs, 0.0).equals(plain)
