"""Build a small but realistic results directory on disk, in the docs/results.md schema.

The chart and report tests need results without running the model (written in parallel by others), so this
writes what the runner would: the five Parquet tables and manifest.json, for a few scenarios × replications
× days, with sites of two kinds, two channels, named and group-member cohorts, a certification gate that
holds output back for the first weeks and a network bottleneck that switches from certification to sewing.

The numbers follow the shape of the spring 2020 network (2 M masks by about 20 April), scaled down in sites,
and are deterministic for a given seed so that tests can recompute the expected headline numbers.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

START = dt.date(2020, 3, 30)
STAGES_OF_SITE = {"cut": 7.0, "sew": 7.0}  # shift length (h) on working days
TARGETS: dict[str, dict[str, Any]] = {
    "first_goal": {"masks": 2_000_000, "by": "2020-04-22", "measure": "delivered"},
    "national": {"masks": 60_000_000, "by": None, "measure": "delivered"},
}
CHANNELS = {"charities": 0.0, "hauts_de_france": 1.6}  # channel -> price (EUR); price 0 = free


@dataclass(frozen=True)
class Site:
    name: str
    kind: str
    region: str
    start_day: int
    masks_per_day: float  # at full efficiency
    stages: tuple[str, ...]


SITES = (
    Site("roubaix_pilot", "insertion", "hauts_de_france", 0, 45_000, ("cut", "sew")),
    Site("lille_textile", "textile", "hauts_de_france", 0, 60_000, ("cut", "sew")),
    Site("troyes_textile", "textile", "grand_est", 3, 50_000, ("sew",)),
    Site("esat_workshops_01", "esat", "normandie", 2, 9_000, ("sew",)),
    Site("esat_workshops_02", "esat", "hauts_de_france", 5, 8_000, ("sew",)),
    Site("esat_workshops_03", "esat", "auvergne_rhone_alpes", 8, 9_500, ("sew",)),
    Site("esat_workshops_04", "esat", "normandie", 11, 7_000, ("sew",)),
)
LAB = "dga_lab"
SUPPLIER = "elastic_mill"
LANE = "north_lane"
MATERIALS = {"fabric": 0.14, "elastic": 0.38}  # per mask


def _is_workday(day: int) -> bool:
    return (START + dt.timedelta(days=day)).weekday() < 5


def _efficiency(days_on_job: np.ndarray, start_eff: float, ceiling: float, tau: float) -> np.ndarray:
    """Exponential learning in time on the job (one of the two curves the model offers)."""
    grown = ceiling - (ceiling - start_eff) * np.exp(-np.maximum(days_on_job, 0) / tau)
    return np.where(days_on_job >= 0, grown, np.nan)  # NaN before the start, as the model writes


def _one_run(
    scenario: str, replication: int, days: int, rng: np.random.Generator
) -> dict[str, pd.DataFrame | dict[str, float]]:
    run_id = f"{scenario}/r{replication:03d}"
    ident = {"run_id": run_id, "scenario": scenario, "replication": replication}
    dates = [START + dt.timedelta(days=d) for d in range(days)]
    # The lab is the gate: nothing ships before the site's approval day; the alternative scenario has a
    # faster lab, which is the lever the comparison chart must show.
    lab_speedup = 0.5 if scenario != "base" else 1.0
    approval_day = {s.name: s.start_day + round(rng.triangular(5, 9, 14) * lab_speedup) for s in SITES}
    tau = {"base": 9.0}.get(scenario, 8.0)

    daily_rows: list[dict[str, Any]] = []
    cohort_rows: list[dict[str, Any]] = []
    sewn = np.zeros((len(SITES), days))
    for i, site in enumerate(SITES):
        on_job = np.arange(days) - site.start_day
        ceiling = 0.45 if site.kind == "esat" else 0.95
        eff = _efficiency(on_job, 0.15, ceiling, tau * rng.uniform(0.85, 1.15))
        cohort_name = "workers" if site.kind == "esat" else "trainees"
        size = 12 if site.kind == "esat" else 80
        for d in range(days):
            present = round(size * (1 - rng.uniform(0.04, 0.11))) if on_job[d] >= 0 else 0
            cohort_rows.append(
                {
                    **ident,
                    "day": d,
                    "date": dates[d],
                    "site": site.name,
                    "kind": site.kind,
                    "cohort": cohort_name,
                    "role": "trainee",
                    "size": size,
                    "present": present,
                    "efficiency": float(eff[d]),
                    "standard_share": float(eff[d] / ceiling),
                }
            )
            if site.kind != "esat":
                cohort_rows.append(
                    {
                        **ident,
                        "day": d,
                        "date": dates[d],
                        "site": site.name,
                        "kind": site.kind,
                        "cohort": "skilled",
                        "role": "skilled",
                        "size": 20,
                        "present": 18 if on_job[d] >= 0 else 0,
                        "efficiency": 1.0 if on_job[d] >= 0 else 0.0,
                        "standard_share": 1.0 if on_job[d] >= 0 else 0.0,
                    }
                )
        for d in range(days):
            works = _is_workday(d) and on_job[d] >= 0
            shift = 7.0 if works else 0.0
            starved = shift * (0.35 if d < 12 else 0.08) * rng.uniform(0.5, 1.5) if works else 0.0
            starved = min(starved, shift)
            down = min(shift - starved, shift * rng.uniform(0.0, 0.05)) if works else 0.0
            working = shift - starved - down
            out = (
                1.5 * site.masks_per_day * (eff[d] / ceiling) * (working / 7.0) * rng.uniform(0.9, 1.1)
                if works
                else 0.0
            )
            sewn[i, d] = out
            for stage in site.stages:
                daily_rows.append(
                    {
                        **ident,
                        "day": d,
                        "date": dates[d],
                        "site": site.name,
                        "kind": site.kind,
                        "region": site.region,
                        "stage": stage,
                        "output": float(out),
                        "wip": float(out * 0.3),
                        "working_h": working * (0.6 if stage == "cut" else 1.0),
                        "starved_h": starved,
                        "blocked_h": working * (0.4 if stage == "cut" else 0.0),
                        "off_shift_h": 24.0 - shift,
                        "down_h": down,
                        "capacity_h": shift,
                        "lost_absence_h": shift * 0.08,
                        "lost_breakdown_h": down,
                    }
                )
    # Network-wide rows for the lab, the supplier and the lane (site = their names).
    for d in range(days):
        for stage, name in (("certification", LAB), ("supply", SUPPLIER), ("transport", LANE)):
            daily_rows.append(
                {
                    **ident,
                    "day": d,
                    "date": dates[d],
                    "site": name,
                    "kind": stage,
                    "region": "national",
                    "stage": stage,
                    "output": float(sewn[:, d].sum()),
                    "wip": 0.0,
                    "working_h": 20.0,
                    "starved_h": 4.0,
                    "blocked_h": 0.0,
                    "off_shift_h": 0.0,
                    "down_h": 0.0,
                    "capacity_h": 24.0,
                    "lost_absence_h": 0.0,
                    "lost_breakdown_h": 0.0,
                }
            )

    # Deliveries: a site's masks ship two days after sewing, once the site is approved.
    shipped = np.zeros(days)
    for i, site in enumerate(SITES):
        for d in range(days):
            ship_day = max(d, approval_day[site.name]) + 2
            if ship_day < days:
                shipped[ship_day] += sewn[i, d]
    cum = np.cumsum(shipped)
    free = shipped * 0.04
    paid = shipped - free
    held = np.zeros(days)
    for i, site in enumerate(SITES):
        for d in range(days):
            if d < approval_day[site.name]:
                held[d] += sewn[i, : d + 1].sum()
    series_rows: list[dict[str, Any]] = []

    def add(series: str, key: str, values: np.ndarray) -> None:
        for d in range(days):
            series_rows.append(
                {**ident, "day": d, "date": dates[d], "series": series, "key": key, "value": float(values[d])}
            )

    add("delivered", "charities", free)
    add("delivered", "hauts_de_france", paid)
    add("cum_delivered", "all", cum)
    add("demand", "charities", np.full(days, 50_000 / 7))
    add("demand", "hauts_de_france", np.where(np.arange(days) == 17, 6_000_000.0, 0.0))
    kinds = sorted({s.kind for s in SITES})
    for kind in kinds:
        add("sewn_by_kind", kind, sum(sewn[i] for i, s in enumerate(SITES) if s.kind == kind))
    for i, site in enumerate(SITES):
        for material, per_mask in MATERIALS.items():
            # Elastic runs short in the second and third weeks (the 2020 scarcity), fabric does not.
            refill = per_mask * site.masks_per_day * (0.9 if material == "elastic" else 1.2)
            stock = np.zeros(days)
            level = per_mask * site.masks_per_day * 5
            for d in range(days):
                short = material == "elastic" and 8 <= d <= 18
                level = max(0.0, level + (0.3 * refill if short else refill) - per_mask * sewn[i, d])
                stock[d] = level
            add("stock", f"{site.name}:{material}", stock)
    add("platform_stock", "hub_lille", np.maximum(0, np.cumsum(shipped * 0.1)))
    queue = np.maximum(
        0.0, 180 * np.exp(-((np.arange(days) - 9) ** 2) / 40) * lab_speedup + rng.normal(0, 5, days)
    )
    add("lab_queue", "all", np.round(queue))
    wait = np.where(np.arange(days) % 7 < 5, 2 + queue / 25, np.nan)  # no test starts at weekends
    add("lab_wait_days", "all", wait)
    add("held", "all", held)
    add("in_transit", "all", shipped * 0.5)

    # Bottlenecks: certification dominates the first two weeks, then sewing (the switch the chart shows).
    bn_rows: list[dict[str, Any]] = []
    n_weeks = (days + 6) // 7
    for w in range(n_weeks):
        week_start = START + dt.timedelta(days=7 * w)
        if w < 2:
            shares = {"certification": 0.70, "sew": 0.20, "supply": 0.10}
        elif w == 2:
            shares = {"certification": 0.30, "sew": 0.45, "supply": 0.25}
        else:
            shares = {"sew": 0.62, "supply": 0.28, "cut": 0.10}
        jitter = rng.uniform(-0.04, 0.04)
        stages = list(shares)
        shares[stages[0]] += jitter
        shares[stages[1]] -= jitter
        for stage, share in shares.items():
            bn_rows.append(
                {
                    **ident,
                    "week_start": week_start,
                    "level": "network",
                    "site": "",
                    "stage": stage,
                    "share": share,
                }
            )
        for site in SITES:
            bn_rows.append(
                {
                    **ident,
                    "week_start": week_start,
                    "level": "site",
                    "site": site.name,
                    "stage": "sew",
                    "share": 0.8,
                }
            )
            if "cut" in site.stages:
                bn_rows.append(
                    {
                        **ident,
                        "week_start": week_start,
                        "level": "site",
                        "site": site.name,
                        "stage": "cut",
                        "share": 0.2,
                    }
                )

    target_days: dict[str, float] = {}
    for name, target in TARGETS.items():
        hit = np.nonzero(cum >= target["masks"])[0]
        target_days[name] = float(hit[0]) if hit.size else float("nan")
    kpis: dict[str, float] = {
        "masks_started": float(sewn.sum() * 1.02),
        "masks_sewn": float(sewn.sum()),
        "masks_delivered": float(cum[-1]),
        "masks_free": float(free.sum()),
        "masks_scrapped": float(sewn.sum() * 0.01),
        "masks_reworked": float(sewn.sum() * 0.03),
        "first_pass_yield": 0.96,
        "revenue_eur": float(paid.sum() * CHANNELS["hauts_de_france"]),
        "mean_lead_time_days": float(rng.uniform(4, 7) * lab_speedup + 2),
        "lost_capacity_share.absence": 0.08,
        "lost_capacity_share.breakdown": 0.02,
    }
    for name, target in TARGETS.items():
        kpis[f"day_target.{name}"] = target_days[name]
        if target["by"] is None:
            kpis[f"reached_by_date.{name}"] = float("nan")
        else:
            by_day = (dt.date.fromisoformat(target["by"]) - START).days
            kpis[f"reached_by_date.{name}"] = float(target_days[name] <= by_day)
    demand_hdf = 6_000_000.0
    demand_ch = 50_000 / 7 * days
    kpis["delivered.channel.charities"] = float(free.sum())
    kpis["delivered.channel.hauts_de_france"] = float(paid.sum())
    kpis["fill_rate.charities"] = min(1.0, float(free.sum()) / demand_ch)
    kpis["fill_rate.hauts_de_france"] = min(1.0, float(paid.sum()) / demand_hdf)
    for kind in kinds:
        kpis[f"output.kind.{kind}"] = float(sum(sewn[i].sum() for i, s in enumerate(SITES) if s.kind == kind))
    for i, site in enumerate(SITES):
        kpis[f"output.site.{site.name}"] = float(sewn[i].sum())
        kpis[f"approval_days.{site.name}"] = float(approval_day[site.name] - site.start_day)
    return {
        "kpis": kpis,
        "daily": pd.DataFrame(daily_rows),
        "series": pd.DataFrame(series_rows),
        "cohorts": pd.DataFrame(cohort_rows),
        "bottlenecks": pd.DataFrame(bn_rows),
    }


def build_results(
    out_dir: Path,
    scenarios: tuple[str, ...] = ("base", "faster_lab"),
    replications: int = 3,
    days: int = 40,
    failed_runs: tuple[str, ...] = ("faster_lab/r002",),
    seed: int = 20200330,
) -> Path:
    """Write a complete results directory into `out_dir` and return it.

    `failed_runs` lists run ids that fail: they appear in runs.parquet and the manifest with status
    'failed' and NaN KPIs, and contribute no rows to the other tables (as the runner does).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    run_rows: list[dict[str, Any]] = []
    tables: dict[str, list[pd.DataFrame]] = {"daily": [], "series": [], "cohorts": [], "bottlenecks": []}
    manifest_runs: list[dict[str, Any]] = []
    for scenario in scenarios:
        for rep in range(replications):
            run_id = f"{scenario}/r{rep:03d}"
            run_seed = int(rng.integers(0, 2**31))
            result = _one_run(scenario, rep, days, np.random.default_rng(run_seed))
            kpis: dict[str, float] = result["kpis"]  # type: ignore[assignment]
            ident = {"run_id": run_id, "scenario": scenario, "replication": rep, "seed": run_seed}
            if run_id in failed_runs:
                error = "ConservationError: masks started 1,204,000 != accounted 1,203,800"
                run_rows.append(
                    {
                        **ident,
                        "status": "failed",
                        "error": error,
                        "wall_seconds": 1.5,
                        **{k: float("nan") for k in kpis},
                    }
                )
                manifest_runs.append({"run_id": run_id, "status": "failed", "error": error, "seed": run_seed})
                continue
            run_rows.append({**ident, "status": "ok", "error": "", "wall_seconds": 2.0 + rep, **kpis})
            manifest_runs.append({"run_id": run_id, "status": "ok", "seed": run_seed})
            for name in tables:
                tables[name].append(result[name])  # type: ignore[arg-type]
    pd.DataFrame(run_rows).to_parquet(out_dir / "runs.parquet", index=False)
    for name, frames in tables.items():
        pd.concat(frames, ignore_index=True).to_parquet(out_dir / f"{name}.parquet", index=False)
    manifest = {
        "experiment": "projet_resilience_test",
        "start_date": START.isoformat(),
        "targets": TARGETS,
        "base_scenario": scenarios[0],
        "scenarios": list(scenarios),
        "config_hash": "sha256:3f1c9a7be0d2",
        "root_seed": seed,
        "versions": {"python": "3.11.9", "simpy": "4.1.1", "resilience-sim": "0.1.0"},
        "git_commit": "0123456789abcdef0123456789abcdef01234567",
        "command": "resilience run experiments/projet_resilience.yaml --replications 3 --out results/test",
        "assumptions": [
            {"path": "materials.elastic.per_mask", "value": 0.38, "source": "tutorials (H)"},
            {
                "path": "sites.roubaix_pilot.stages.sew.minutes_per_mask",
                "value": 2.1,
                "source": "derived from 100 sewers at 20,000/day (M)",
            },
            {"path": "certification.turnaround_days", "value": {"tri": [3, 10, 21]}, "source": None},
            {"path": "lot_size", "value": 200, "source": "assumption"},
            {
                "path": "channels.charities.note",
                "value": "<b>free & fast</b>",
                "source": "<script>alert('x')</script>",
            },
        ],
        "runs": manifest_runs,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return out_dir
