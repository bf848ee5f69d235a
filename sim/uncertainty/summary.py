"""A study's summary on the command line: what its design supports, in words.

The nominal point's replications are summarised like any scenario's (by the command line's own printer). The
design points are described by what the design is: over points drawn at random (an LHS design, a Sobol
design's base samples A and B) the mean with its sampling error, a target's probability with its Wilson
interval and the median date; over a Morris grid only counts and the lowest and highest values, since a grid
over-represents the ends of each range and says which parameters matter (the sensitivity printed after), not
how likely an outcome is. The rows come from `sim.results.analysis.summarise_design`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.uncertainty.design import design_words
from sim.uncertainty.study import NOMINAL, Study

Formatter = Callable[[str, float, Any], str]  # (kpi, value, start date) -> text


def nominal_words() -> str:
    return "nominal point (every uncertain parameter at its base value)"


def _reach_days(out: Path | None, study: Study, kpi: str) -> np.ndarray:
    """The day each described design point reaches a target (NaN: never), as summarise_design counts them."""
    if out is None or not (out / "runs.parquet").exists():
        return np.array([])
    from sim.results.analysis import design_point_numbers
    from sim.results.folder import read_results_table

    runs = read_results_table(out / "runs.parquet")
    runs = runs[(runs["status"] == "ok") & (runs["scenario"] != NOMINAL)]
    if kpi not in runs.columns:
        return np.array([])
    points = design_point_numbers(runs)
    random = study.random_points()
    if random:
        runs = runs[points.isin(random).to_numpy()]
        runs = runs[runs["replication"] == runs.groupby(design_point_numbers(runs))["replication"].transform("min")]
    return runs[kpi].to_numpy(dtype=float)


def print_design_summary(summary: pd.DataFrame, study: Study, replications: int, start: Any, wanted: list[str],
                         fmt: Formatter, out: Path | None = None) -> None:
    """Print the design points' rows of `summary` (every scenario but the nominal point's)."""
    from sim.results.results_set import median_with_unreached

    rows = summary[summary["scenario"] != NOMINAL]
    random = study.random_points()
    print("\n" + design_words(study.design, len(study.params), study.n_design, replications))
    if random:
        print(f"  over the {len(random)} points drawn at random from the declared ranges (each once): mean "
              "[95 % interval: the design's sampling error]; a date: median over the points, a point that never "
              "reaches a target counting as later than any; a probability: 95 % Wilson interval")
    else:
        print("  a grid, not a random sample of the ranges (it over-represents their ends): no probability and no "
              "interval, only counts and the lowest and highest value over the points; what drives each KPI: "
              "the sensitivity below")
    for kpi in wanted:
        row = rows[rows["kpi"] == kpi]
        if row.empty:
            continue
        r = row.iloc[0]
        n = int(r["n"])
        if kpi.startswith("P("):
            hits = round(float(r["mean"]) * n)
            text = (f"{fmt(kpi, float(r['mean']), start)}  [{fmt(kpi, float(r['ci_low']), start)} .. "
                    f"{fmt(kpi, float(r['ci_high']), start)}]  ({hits}/{n} points)" if random
                    else f"reached by its date at {hits} of {n} points")
        elif kpi.startswith("day_target."):
            days = _reach_days(out, study, kpi)
            reached = int(np.isfinite(days).sum())
            if random and len(days):
                median = median_with_unreached(days)
                when = fmt(kpi, median, start) if math.isfinite(median) else "not reached at most points"
                text = f"median {when}  reached at {reached}/{len(days)} points"
            elif reached:
                text = (f"reached at {reached} of {len(days)} points, {fmt(kpi, float(r['min']), start)} at the "
                        f"earliest")
            else:
                text = f"reached at none of the {len(days)} points"
        elif random:
            interval = ("" if math.isnan(float(r["ci_low"])) else
                        f"  [{fmt(kpi, float(r['ci_low']), start)} .. {fmt(kpi, float(r['ci_high']), start)}]")
            text = fmt(kpi, float(r["mean"]), start) + interval
        else:
            text = f"lowest {fmt(kpi, float(r['min']), start)} .. highest {fmt(kpi, float(r['max']), start)}"
        print(f"  {kpi:<36} {text}")
    for warning in study.design.warnings():
        print(f"warning: {warning}")
