"""History matching and the calibrated forecast, measured on synthetic truths of the tests' small line (a real
SimPy model: 10 sewers, 4 cutters, three weeks; tests/calibration_case.py).

For each truth, drawn uniformly in the three-parameter space (sewing time, absence, cutting time):
- the observations are one run at the truth (its own seed, 35 days) read off its first three weeks, plus 2 %
  observation noise (stated as the observations' sd); the model is exact here, so no discrepancy is assumed
  (the cut-off's claim is tested where its assumptions hold);
- `history_match` runs as `resilience calibrate` does (waves, k-fold checked emulators, resampled kept region);
- **kept**: is the truth still non-implausible after the last wave? Stated: the cut-off 3 rules out a point
  whose distance to the observations is within Pukelsheim's 3 sd with probability <= 0.05;
- **share interval**: does the last wave's exact 95 % interval of the share left (from its `uniform_sample`
  points) cover the share measured on 100,000 fresh uniform points under the same emulators?
- **forecast**: 20 replications, each at its own point drawn from the calibrated set (`CalibratedSet.draws`),
  forecast the line's output over 20 April - 1 May, a period the observations do not cover, and the summary's
  p5-p95 band (`summarise` + the discrepancy widening of a forecast) should cover the truth run's own output
  over that period 90 % of the time.

Run alone: `python benchmarks/stat_calibration.py [--quick]` prints its rows; `benchmarks/bench_statistics.py`
collects them through `checks(quick)`.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: the project and its tests' small line
    sys.path.insert(0, str(ROOT))

from sim.calibration.forecast import CalibratedSet  # noqa: E402
from sim.calibration.history_matching import Settings, Target, history_match  # noqa: E402
from sim.calibration.observations import extract  # noqa: E402
from sim.config import Scenario  # noqa: E402
from sim.model import simulate  # noqa: E402
from sim.results.analysis import summarise  # noqa: E402
from tests import calibration_case as case  # noqa: E402
from tests.scenarios import spec_of  # noqa: E402

NOISE_SD = 0.02  # observation error, relative
FORECAST_DAYS = 35
FORECAST_REPLICATIONS = 20
HELD_BACK = {"later_output": {"kpi": "output", "kind": "textile", "from": "2020-04-20", "to": "2020-05-01"}}


def _scenario(values: np.ndarray | dict[str, Any], horizon: int) -> dict[str, Any]:
    v = dict(zip(case.PARAMETERS, map(float, values), strict=True)) if not isinstance(values, dict) else values
    data = case.scenario(v["sew_minutes"], v["absence"], v["cut_minutes"])
    return {**data, "horizon_days": horizon} if horizon != data["horizon_days"] else data


def _observe(values: np.ndarray | dict[str, Any], replication: int, seed: int) -> tuple[list[float], float]:
    """One run of 35 days: the calibration's two observations and the held-back later output."""
    from pydantic import TypeAdapter

    from sim.calibration.observations import Observation

    data = _scenario(values, FORECAST_DAYS)
    result = simulate(spec_of(data, replication=replication, seed=seed))
    scenario = Scenario.model_validate(data)
    seen = extract(case.observations(), scenario, result.kpis, result.daily, result.series)
    held = TypeAdapter(Observation).validate_python({**HELD_BACK["later_output"], "value": 1, "sd": 1,
                                                     "source": "synthetic"})
    later = extract({"later_output": held}, scenario, result.kpis, result.daily, result.series)["later_output"]
    return list(seen.values()), later


def one_truth(index: int, settings: Settings) -> dict[str, Any]:
    rng = np.random.default_rng([2026, index])
    truth = case.SPACE.to_values(rng.random((1, case.SPACE.dim)))[0]
    clean, later_truth = _observe(truth, replication=99, seed=1000 + index)
    targets = [Target(name, z * (1 + NOISE_SD * rng.standard_normal()), (NOISE_SD * z) ** 2, 0.0)
               for name, z in zip(case.OBSERVATIONS, clean, strict=True)]
    cal = history_match(case.SPACE, targets, case.evaluate(settings.replications),
                        Settings(**{**settings.__dict__, "seed": index}))
    out: dict[str, Any] = {"truth": truth.round(3).tolist(), "failed": cal.failed, "why": cal.stopped_because}
    if not cal.waves or cal.waves[-1].share is None:
        return out
    out["kept"] = bool(cal.max_implausibility(case.SPACE.unit_of(truth[None]))[0] <= settings.cutoff)
    share = cal.waves[-1].share
    big = np.random.default_rng([7, index]).random((100_000, case.SPACE.dim))
    measured = float(cal.is_kept(big).mean())
    low, high = share.interval
    out["share_covered"] = bool(low <= measured <= high)
    if not len(cal.kept_unit):
        out["forecast_covered"] = False  # nothing to forecast from: counted as a miss
        return out
    kept = CalibratedSet(Path("."), {name: {"label": name, "also": [], "is_date": False, "integer": False,
                                            "definition": p.model_dump(mode="json", exclude_none=True)}
                                     for name, p in zip(case.PARAMETERS, case.SPACE.parameters, strict=True)},
                         pd.DataFrame(case.SPACE.to_values(cal.kept_unit), columns=case.PARAMETERS), 0.0)
    rows = []
    for r, draw in enumerate(kept.draws(FORECAST_REPLICATIONS, seed=index)):
        _, later = _observe(draw, replication=r, seed=case.SEED)
        rows.append({"run_id": f"r{r}", "scenario": "base", "replication": r, "status": "ok", "later": later})
    runs = pd.DataFrame(rows)
    band = kept.with_discrepancy(summarise(runs), runs).set_index("kpi").loc["later"]
    out["forecast_covered"] = bool(band["p5"] <= later_truth <= band["p95"])
    return out


def _row(method: str, claim: str, kind: str, stated: float, hits: list[bool], detail: str) -> dict[str, Any]:
    n = len(hits)
    p = sum(hits) / n if n else math.nan
    return {"method": method, "claim": claim, "kind": kind, "stated": stated, "measured": p, "n": n,
            "mc_se": math.sqrt(p * (1 - p) / n) if n else math.nan, "exact": False, "detail": detail}


def checks(quick: bool) -> list[dict[str, Any]]:
    truths = 20 if quick else 40
    settings = Settings(waves=2 if quick else 3, points_per_wave=16, replications=2, uniform_sample=2000,
                        kept_points=400)
    results = [one_truth(i, settings) for i in range(truths)]
    setup = (f"{truths} truths uniform in the tests' 3-parameter line, observations one 35-day run at the truth "
             f"+ {NOISE_SD:.0%} noise, no discrepancy; {settings.waves} waves, first {settings.first_wave(3)} then "
             f"{settings.points_per_wave} points x {settings.replications} runs")
    done = [r for r in results if "kept" in r]
    lost = [r["truth"] for r in done if not r["kept"]]
    return [
        _row("history matching", "a point is ruled out when I > 3 (Pukelsheim: the truth is kept with "
             "probability >= 0.95)", "coverage", 0.95, [r["kept"] for r in done],
             f"{setup}; truths ruled out (sewing min, absence, cutting min): {lost or 'none'}; "
             f"calibrations that stopped on a failed check: {sum(r['failed'] for r in results)}"),
        _row("history matching", "the share of the space left lies in its exact 95 % interval", "coverage", 0.95,
             [r["share_covered"] for r in done], f"{setup}; share on {settings.uniform_sample} points against "
                                                 "100,000 fresh ones"),
        _row("calibrated forecast", "the forecast's p5-p95 band (runs at calibrated draws, discrepancy included) "
             "holds 90 % of outcomes", "coverage", 0.90, [r["forecast_covered"] for r in done],
             f"{setup}; held-back output 20 Apr-1 May of the truth's run, {FORECAST_REPLICATIONS} draws"),
    ]


if __name__ == "__main__":
    from bench_statistics import run_alone  # benchmarks/ is on the path when this file runs as a script

    sys.exit(run_alone(__file__))
