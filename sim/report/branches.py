"""Constraints per branch of the network and per site, with their spread across replications.

The network bottleneck (sim.results.bottleneck) names one stage group a week; it can hide a branch that is held back by
its own supplier: forty workshops starved of kits behind one cutting centre while "packaging" binds the whole.
Here every producing site's shift time (working + starved + blocked hours, daily.parquet) is split into the
share spent waiting for input (starved) and waiting for room downstream (blocked), per replication; a branch is
the set of sites one upstream site (a cutting centre, a sewing site feeding a packer) supplies, from the
scenario's routes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sim.results.results_set import ResultsSet


@dataclass(frozen=True)
class Spread:
    mean: float
    low: float  # lowest replication
    high: float  # highest replication
    runs: int


def _spread(values: pd.Series) -> Spread:
    v = values.to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return Spread(np.nan, np.nan, np.nan, 0)
    return Spread(float(v.mean()), float(v.min()), float(v.max()), int(v.size))


def feeders(scenario: dict[str, Any]) -> dict[str, list[str]]:
    """site or group name -> the sites that ship to it (from the scenario's routes)."""
    out: dict[str, list[str]] = {}
    for route in scenario.get("routes") or []:
        targets = route.get("to")
        for target in [targets] if isinstance(targets, str) else targets or []:
            out.setdefault(str(target), []).append(str(route.get("from")))
    return out


def group_of(site: str, groups: set[str]) -> str:
    """'insertion_workshops_07' -> 'insertion_workshops' when that is a group; else the site itself."""
    match = re.fullmatch(r"(.+)_\d+", site)
    return match[1] if match and match[1] in groups else site


def site_shares(rs: ResultsSet, until_day: float | None = None) -> pd.DataFrame:
    """One row per run × site × stage of the base: hours working, starved, blocked up to `until_day`
    (default: the horizon) and the starved/blocked shares of the shift time. Computed once per results set."""
    key = ("site_shares", until_day)
    if key not in rs.derived:
        rs.derived[key] = _site_shares(rs, until_day)
    return rs.derived[key]


HOURS = ("working_h", "starved_h", "blocked_h")


def _site_shares(rs: ResultsSet, until_day: float | None) -> pd.DataFrame:
    # Summed while daily.parquet is read (a row per run × day × site × stage: millions at a thousand runs).
    rows = rs.rows("daily", rs.base_variant)
    if rows is None or not len(rows) or any(c not in rows.columns for c in ("run_id", "site", "kind", "stage", *HOURS)):
        return pd.DataFrame()
    if until_day is not None and np.isfinite(until_day):
        rows = rows.where(rows.number("day") <= until_day)
    sums = rows.sums(("run_id", "site", "kind", "stage"), {h: rows.number(h) for h in HOURS})
    shift = sums[list(HOURS)].sum(axis=1)
    sums = sums[shift > 0].copy()
    shift = shift[shift > 0]
    sums["starved_share"] = sums["starved_h"] / shift
    sums["blocked_share"] = sums["blocked_h"] / shift
    return sums


def branch_table(rs: ResultsSet, scenario: dict[str, Any], until_day: float | None = None,
                 stage: str = "sew", shares: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (feeder, group of sites it feeds) for the `stage` of the fed sites: how many sites, the share
    of their shift spent waiting for input (hours-weighted over the branch, mean and range across replications),
    the share blocked, and the three sites waiting most. Sorted by the hours lost waiting. `shares`: the
    site_shares(rs, until_day) the caller already has."""
    shares = site_shares(rs, until_day) if shares is None else shares
    if shares.empty:
        return pd.DataFrame()
    shares = shares[shares["stage"] == stage].copy()
    if shares.empty:
        return pd.DataFrame()
    groups = set((scenario.get("groups") or {}).keys())
    feeds = feeders(scenario)
    # Per site, not per row (a row per run × site: hundreds of thousands at a thousand runs).
    codes, sites = pd.factorize(shares["site"])
    units = [group_of(str(site), groups) for site in sites]
    shares["unit"] = pd.array(units, dtype="str")[codes]
    shares["feeder"] = pd.array([" + ".join(feeds.get(u, feeds.get(str(site), ["(no route in)"])))
                                 for u, site in zip(units, sites, strict=True)], dtype="str")[codes]
    out = []
    for (feeder, unit), part in shares.groupby(["feeder", "unit"]):
        per_run = part.groupby("run_id")[["working_h", "starved_h", "blocked_h"]].sum()
        shift = per_run.sum(axis=1)
        starved = _spread(per_run["starved_h"] / shift)
        blocked = _spread(per_run["blocked_h"] / shift)
        by_site = part.groupby("site")["starved_share"].mean().sort_values(ascending=False)
        out.append({"feeder": feeder, "unit": unit, "kind": str(part["kind"].iloc[0]),
                    "sites": int(part["site"].nunique()), "starved": starved.mean, "starved_low": starved.low,
                    "starved_high": starved.high, "blocked": blocked.mean, "blocked_low": blocked.low,
                    "blocked_high": blocked.high, "runs": starved.runs,
                    "starved_hours": float(per_run["starved_h"].mean()),
                    "worst_sites": list(by_site.index[:3]), "worst_shares": list(by_site.to_numpy()[:3])})
    table = pd.DataFrame(out)
    return table.sort_values("starved_hours", ascending=False).reset_index(drop=True)


def feeder_loads(scenario: dict[str, Any]) -> dict[str, int]:
    """Upstream site -> how many sites it ships to (a group counts its members)."""
    counts: dict[str, int] = {}
    groups = scenario.get("groups") or {}
    for route in scenario.get("routes") or []:
        targets = route.get("to")
        n = sum(int((groups.get(t) or {}).get("count", 1)) for t in ([targets] if isinstance(targets, str)
                                                                     else targets or []))
        counts[str(route.get("from"))] = counts.get(str(route.get("from")), 0) + n
    return counts


def stage_spread(rs: ResultsSet) -> pd.DataFrame:
    """Weeks × stage: the network bottleneck share's mean and range across replications (base), and in how
    many replications each stage was the week's main bottleneck."""
    per_run = rs.network_shares(rs.base_variant)
    if per_run.empty:
        return pd.DataFrame()
    top = per_run.idxmax(axis=1).rename("top").reset_index()
    out = []
    for week, part in per_run.groupby(level="week_start"):
        mean = part.mean()
        stage = str(mean.idxmax())
        tops = top[top["week_start"] == week]["top"].value_counts()
        out.append({"week_start": week, "stage": stage, "mean": float(mean[stage]), "low": float(part[stage].min()),
                    "high": float(part[stage].max()), "runs": len(part), "top_runs": int(tops.get(stage, 0)),
                    "other_tops": {str(k): int(v) for k, v in tops.items() if k != stage}})
    return pd.DataFrame(out)
