"""The report's headline answers as data for the page template: when the targets are reached, what limits output
week by week, which branches and sites wait and for whom, which scenario delivers most, which runs failed.

Every function returns plain values (strings already formatted, with ids kept beside their labels); the page
template (templates/report.html.j2) lays them out and Jinja2 escapes them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from sim.report.branches import branch_table, feeder_loads, site_shares, stage_spread
from sim.report.data import base_scenario_config
from sim.report.formatting import fmt_approx, fmt_count, fmt_date, fmt_date_long, fmt_pct, fmt_signed_approx, stage_name
from sim.report.labels import words
from sim.results.results_set import ResultsSet, median_with_unreached

MAIN_KPI = "masks_delivered"


def interval(low: float, high: float, fmt: Any) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "interval needs ≥ 2 runs"
    return f"95 % CI {fmt(low)}–{fmt(high)}"


def _when(rs: ResultsSet, days: np.ndarray) -> tuple[float, int, str]:
    """(median day, runs reaching it, the phrase for the table)."""
    reached = int(np.isfinite(days).sum())
    median_day = median_with_unreached(days)
    end = fmt_date(rs.end_date)
    if days.size == 0:
        return median_day, reached, "no finished run"
    if math.isfinite(median_day):
        day = fmt_date(rs.day_to_date(median_day))
        return median_day, reached, f"{day} (median; {reached}/{days.size} runs reach it)"
    if reached == 0:
        return median_day, reached, f"not reached by {end} in any run"
    return median_day, reached, f"not reached by {end} in most runs ({reached}/{days.size} reach it)"


def targets(rs: ResultsSet) -> dict[str, Any]:
    """{'lead': one sentence per target for the base, 'rows': every scenario × target} for 'when?'."""
    ordered = sorted(rs.targets.items(), key=lambda kv: float(kv[1].get("masks", 0)))
    lead, rows = [], []
    for variant in rs.variants:
        for name, target in ordered:
            masks = float(target["masks"])
            by = rs.target_by(name)
            days = rs.target_reach_days(variant, name)
            median_day, reached, when = _when(rs, days)
            prob = rs.target_probability(variant, name)
            if prob is None:
                chance = "no date set"
            else:
                share, low, high, k, n = prob
                chance = f"{fmt_pct(share)} ({k}/{n} runs; {interval(low, high, fmt_pct)})" if n else "no run"
            rows.append({"id": name, "label": words(name), "masks": fmt_count(masks),
                         "by": fmt_date(by) if by is not None else "—", "variant_id": variant,
                         "variant": words(variant), "when": when, "chance": chance})
            if variant != rs.base_variant:
                continue
            item: dict[str, Any] = {"id": name, "label": words(name), "masks": fmt_count(masks),
                                    "by": fmt_date_long(by) if by is not None else None,
                                    "reached_on": (fmt_date_long(rs.day_to_date(median_day))
                                                   if math.isfinite(median_day) else None),
                                    "end": fmt_date_long(rs.end_date),
                                    "runs_word": "any run" if reached == 0
                                    else f"most runs ({reached}/{days.size} reach it)", "p": None}
            if prob is not None and prob[4]:
                item["p"] = {"share": fmt_pct(prob[0]), "interval": interval(prob[1], prob[2], fmt_pct),
                             "runs": prob[4]}
            lead.append(item)
    return {"lead": lead, "rows": rows, "base": words(rs.base_variant) if len(rs.variants) > 1 else None}


def delivered(rs: ResultsSet) -> dict[str, Any] | None:
    if MAIN_KPI not in rs.ok_runs.columns:
        return None
    mean = rs.kpi_interval(rs.base_variant, MAIN_KPI)[0]
    if not math.isfinite(mean):
        return None
    return {"variant": words(rs.base_variant), "variant_id": rs.base_variant, "masks": fmt_approx(mean),
            "end": fmt_date_long(rs.end_date), "runs": len(rs.kpi_values(rs.base_variant, MAIN_KPI))}


def bottleneck_weeks(rs: ResultsSet) -> list[dict[str, Any]]:
    """Per week: the stage that bound the network most, its mean share and spread across replications."""
    spread = stage_spread(rs)
    return [{"week": fmt_date_long(r.week_start), "stage": stage_name(r.stage), "mean": fmt_pct(r.mean),
             "low": fmt_pct(r.low), "high": fmt_pct(r.high), "runs": r.runs, "top_runs": r.top_runs,
             "others": "; ".join(f"{stage_name(k)} in {v}" for k, v in r.other_tops.items())}
            for r in spread.itertuples()]


def branches(rs: ResultsSet) -> dict[str, Any] | None:
    """Per branch (sites of one stage fed by one upstream site) and per site: the share of shift time waiting
    for input, for every producing stage the data hold."""
    scenario = base_scenario_config(rs)
    shares = site_shares(rs)
    if shares.empty:
        return None
    loads = feeder_loads(scenario)
    rows = []
    for stage in [s for s in ("cut", "sew", "inspect", "pack") if s in set(shares["stage"].unique())]:
        table = branch_table(rs, scenario, stage=stage, shares=shares)
        for r in table.itertuples():
            feeders = [f for f in str(r.feeder).split(" + ") if not f.startswith("(")]
            rows.append({"stage": stage_name(stage), "unit": words(r.unit), "unit_id": r.unit, "sites": r.sites,
                         "feeder": " and ".join(words(f) for f in feeders) or "no site upstream (suppliers, own stock)",
                         "feeder_id": r.feeder, "feeds": sum(loads.get(f, 0) for f in feeders),
                         "starved": fmt_pct(r.starved), "low": fmt_pct(r.starved_low),
                         "high": fmt_pct(r.starved_high), "blocked": fmt_pct(r.blocked),
                         "hours": fmt_approx(r.starved_hours), "sort": r.starved_hours})
    rows.sort(key=lambda row: -row["sort"])
    per_site = (shares.groupby(["site", "stage"])["starved_share"].agg(["mean", "min", "max"])
                .sort_values("mean", ascending=False).head(12).reset_index())
    sites = [{"label": words(r.site), "id": r.site, "stage": stage_name(r.stage), "mean": fmt_pct(r.mean),
              "low": fmt_pct(r.min), "high": fmt_pct(r.max)} for r in per_site.itertuples()]
    return {"rows": rows, "sites": sites}


def ranking(rs: ResultsSet) -> dict[str, Any] | None:
    """Scenarios ranked by the mean masks delivered, with intervals and the difference to the base."""
    runs = rs.table("runs")
    if runs is None or MAIN_KPI not in runs.columns:
        return None
    stats = {v: rs.kpi_interval(v, MAIN_KPI) for v in rs.variants}
    ranked = sorted(stats, key=lambda v: stats[v][0] if math.isfinite(stats[v][0]) else -math.inf, reverse=True)
    base = rs.base_variant
    base_mean = stats[base][0] if base in stats else math.nan
    items = []
    for variant in ranked:
        mean, low, high, n = stats[variant]
        versus = ("base" if variant == base else
                  f"{fmt_signed_approx(mean - base_mean)} vs base" if math.isfinite(base_mean) else "")
        items.append({"id": variant, "label": words(variant), "masks": fmt_approx(mean), "end": fmt_date(rs.end_date),
                      "interval": interval(low, high, fmt_approx), "runs": n, "versus": versus})
    return {"items": items}


def failed_runs(rs: ResultsSet) -> dict[str, Any] | None:
    failed = rs.failed_runs
    if failed.empty:
        return None
    rows = [{"run_id": r.get("run_id"), "scenario": r.get("scenario"), "replication": r.get("replication"),
             "status": r.get("status"), "error": r.get("error") if pd.notna(r.get("error")) else ""}
            for r in failed.to_dict("records")]
    return {"rows": rows, "total": len(rs.runs)}
