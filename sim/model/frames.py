"""The tidy tables of one run (daily, series, cohorts, bottlenecks; docs/results.md), each built from
what the components report, with one DataFrame per table from NumPy columns."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.entities.site import Site, StageUnit
from sim.metrics import BLOCKED, OFF_SHIFT, STARVED, STATE_NAMES, WORKING
from sim.results.bottleneck import group_activity, weekly_shares
from sim.timebase import HOURS_PER_DAY

if TYPE_CHECKING:
    from sim.model.builder import Network

BOTTLENECK_RESOLUTION_H = 0.5


def first_day_reaching(cumulative: np.ndarray, level: float) -> float:
    """Index of the first day whose end-of-day cumulative value reaches `level` (NaN if none)."""
    hit = np.flatnonzero(cumulative >= level)
    return float(hit[0]) if len(hit) else float("nan")


def _units(net: Network) -> list[tuple[Site, StageUnit]]:
    return [(site, unit) for site in net.sites.values() for unit in site.stages]


def _stack(blocks: list[dict[str, object]], days: int, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """One frame from per-entity blocks of `days` rows: arrays are concatenated, scalars repeated (one
    DataFrame instead of hundreds; building frames was the slowest part of a run's finish)."""
    n = len(blocks)
    columns: dict[str, object] = {"day": np.tile(np.arange(days), n), "date": np.tile(dates.values, n)}
    for name in blocks[0]:
        first = blocks[0][name]
        if isinstance(first, np.ndarray):
            columns[name] = np.concatenate([np.asarray(b[name]) for b in blocks])
        else:
            columns[name] = np.repeat(np.asarray([b[name] for b in blocks]), days)
    return pd.DataFrame(columns)


def daily_table(net: Network, dates: pd.DatetimeIndex, groups: dict[str, str]) -> pd.DataFrame:
    """One row per track (stage of a site, supplier, lane, lab) and day: state hours, output, WIP, capacity."""
    blocks: list[dict[str, object]] = []
    units = _units(net)
    unit_of = {id(unit.track): (site, unit) for site, unit in units}
    wip = net.snapshots.daily["wip"]
    wip_row = {id(unit.track): i for i, (_, unit) in enumerate(net.snapshots.units)}
    missing = np.full(net.days, np.nan)
    for tr in net.recorder.tracks:
        h = tr.hours
        working = h[:, WORKING].copy()
        down = np.zeros(net.days)
        capacity = lost_abs = lost_brk = present = missing
        if id(tr) in unit_of:
            site, unit = unit_of[id(tr)]
            capacity, lost_abs, lost_brk, present = unit.capacity(site.calendar.hours_per_day[: net.days], net.days)
            working, down = unit.working_and_down(h)
        blocks.append({
            "site": tr.info.site, "kind": tr.info.kind, "region": tr.info.region, "stage": tr.info.stage,
            "output": tr.output, "wip": wip[wip_row[id(tr)]] if id(tr) in wip_row else missing,
            "working_h": working, "starved_h": h[:, STARVED], "blocked_h": h[:, BLOCKED],
            "off_shift_h": h[:, OFF_SHIFT], "down_h": down, "capacity_h": capacity, "lost_absence_h": lost_abs,
            "lost_breakdown_h": lost_brk, "present": present, "group": groups.get(tr.info.site, "")})
    assert STATE_NAMES[WORKING] == "working"
    return _stack(blocks, net.days, dates)


def series_table(net: Network, dates: pd.DatetimeIndex) -> pd.DataFrame:
    rows: list[tuple[str, str, np.ndarray]] = []
    total = np.zeros(net.days)
    for ch in net.channels:
        rows.append(("delivered", ch.name, ch.delivered_by_day))
        rows.append(("demand", ch.name, ch.ordered_by_day))
        total = total + ch.delivered_by_day
    rows.append(("cum_delivered", "all", np.cumsum(total)))
    for kind, arr in net.ledger.sewn_by_kind.items():
        rows.append(("sewn_by_kind", kind, arr))
    rows += net.snapshots.series(list(net.hubs))
    if net.lab is not None:
        rows += net.lab.series(net.days)
    n = net.days
    return pd.DataFrame({
        "day": np.tile(np.arange(n), len(rows)),
        "date": np.tile(dates.values, len(rows)),
        "series": np.repeat([r[0] for r in rows], n),
        "key": np.repeat([r[1] for r in rows], n),
        "value": np.concatenate([np.asarray(r[2], dtype=float) for r in rows]),
    })


def cohort_table(net: Network, dates: pd.DatetimeIndex, kpis: dict[str, float], groups: dict[str, str]
                 ) -> pd.DataFrame:
    """One row per cohort and day: presence and efficiency; adds the sewing cohorts' days to 50 % and 80 %
    of their ceiling to `kpis`."""
    blocks: list[dict[str, object]] = []
    for site, unit in _units(net):
        for c in unit.team.cohorts:
            eff, share = c.efficiency_record(net.days)
            if unit.name == "sew" and c.learns:
                for level in (50, 80):
                    day = first_day_reaching(np.nan_to_num(share, nan=-1.0), level / 100.0 - 1e-9)
                    kpis[f"cohort.{site.name}.{c.name}.days_to_{level}"] = day - c.start_day
            blocks.append({"site": site.name, "kind": site.kind, "stage": unit.name, "cohort": c.name,
                           "role": c.role, "size": c.size, "present": c.present.astype(float), "efficiency": eff,
                           "standard_share": share, "group": groups.get(site.name, "")})
    if not blocks:
        return pd.DataFrame(columns=["day", "date", "site", "kind", "stage", "cohort", "role", "size", "present",
                                     "efficiency", "standard_share", "group"])
    return _stack(blocks, net.days, dates)


def bottleneck_table(net: Network) -> pd.DataFrame:
    """Network level: stage groups (every sewing station together, ...); site level: a site's own stages."""
    weeks = np.arange(0, net.days, 7) * HOURS_PER_DAY
    week_dates = [net.start + dt.timedelta(days=int(w // HOURS_PER_DAY)) for w in weeks]
    active: dict[str, np.ndarray] = {}
    stage_of: dict[str, str] = {}
    weight: dict[str, float] = {}
    start_h: dict[str, float] = {}
    units = {id(unit.track): (site, unit) for site, unit in _units(net)}
    for tr in net.recorder.tracks:
        key = f"{tr.info.site}/{tr.info.stage}"
        active[key] = tr.active_array()
        stage_of[key] = tr.info.stage
        if id(tr) in units:
            site, unit = units[id(tr)]
            weight[key] = unit.team.nominal_rate
            start_h[key] = max(site.start_h, unit.team.first_day * HOURS_PER_DAY)
    groups = group_activity(active, stage_of, weight, start_h, {"supply", "certification", "transport"},
                            net.horizon_h, BOTTLENECK_RESOLUTION_H)
    # one frame at the end from numpy columns (a frame per site plus pandas assignments cost more than the
    # bottleneck computation itself on a network of a hundred sites)
    week_index: list[np.ndarray] = []
    stages: list[np.ndarray] = []
    shares: list[np.ndarray] = []
    levels: list[tuple[str, str, int]] = []  # (level, site, rows) per block

    def add(level: str, site_name: str, weeks_of_rows: np.ndarray, stage_names: np.ndarray, share: np.ndarray
            ) -> None:
        week_index.append(weeks_of_rows)
        stages.append(stage_names)
        shares.append(share)
        levels.append((level, site_name, len(share)))

    add("network", "", *weekly_shares(groups, net.horizon_h, weeks, BOTTLENECK_RESOLUTION_H))
    for site in net.sites.values():
        keys = {f"{site.name}/{u.name}": active[f"{site.name}/{u.name}"] for u in site.stages}
        if len(keys) < 2:
            continue
        site_weeks, site_keys, site_shares = weekly_shares(keys, net.horizon_h, weeks, BOTTLENECK_RESOLUTION_H)
        # one track per stage: the site-level key names its stage
        add("site", site.name, site_weeks, np.asarray([stage_of.get(key, key) for key in site_keys], dtype=object),
            site_shares)
    rows = [n for _, _, n in levels]
    index = np.concatenate(week_index).astype(int)
    return pd.DataFrame({
        "week_start": pd.to_datetime(week_dates)[index],
        "week_index": index,
        "level": np.repeat(np.asarray([lv for lv, _, _ in levels], dtype=object), rows),
        "site": np.repeat(np.asarray([st for _, st, _ in levels], dtype=object), rows),
        "stage": np.concatenate(stages),
        "share": np.concatenate(shares),
    })
