"""From a finished Network to a RunResult: KPIs and the tidy tables of docs/results.md.

Everything here runs once per run, after the event loop, and is vectorised over days.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.bottleneck import bottleneck_shares, group_activity
from sim.metrics import BLOCKED, OFF_SHIFT, STARVED, STATE_NAMES, WORKING, StageTrack, TrackInfo
from sim.spec import RunResult, RunSpec
from sim.tables import validate
from sim.timebase import HOURS_PER_DAY

if TYPE_CHECKING:
    from sim.entities.site import Site, StageUnit
    from sim.model import Network

BOTTLENECK_RESOLUTION_H = 0.5


def first_day_reaching(cumulative: np.ndarray, level: float) -> float:
    """Index of the first day whose end-of-day cumulative value reaches `level` (NaN if none)."""
    hit = np.flatnonzero(cumulative >= level)
    return float(hit[0]) if len(hit) else float("nan")


def build_result(net: Network, spec: RunSpec) -> RunResult:
    dates = pd.to_datetime([net.start + dt.timedelta(days=d) for d in range(net.days)])
    lab_track = _lab_track(net)
    kpis = _kpis(net)
    groups = _group_of_site(net)
    daily = validate("daily", _daily_table(net, dates, groups), with_ids=False)
    series = validate("series", _series_table(net, dates, lab_track), with_ids=False)
    cohorts = validate("cohorts", _cohort_table(net, dates, kpis, groups), with_ids=False)
    bottlenecks = validate("bottlenecks", _bottleneck_table(net), with_ids=False)
    return RunResult(run_id=spec.run_id, scenario_name=spec.scenario_name, point=dict(spec.point),
                     replication=spec.replication, root_seed=spec.root_seed, kpis=kpis, daily=daily,
                     series=series, cohorts=cohorts, bottlenecks=bottlenecks)


def _group_of_site(net: Network) -> dict[str, str]:
    """Site name -> the scenario group it was generated from (named sites are in no group)."""
    return {member: group for group, members in net.members.items() if group in net.s.groups for member in members}


# ---------------------------------------------------------------------------------------------- KPIs
def _kpis(net: Network) -> dict[str, float]:
    s = net.s
    k: dict[str, float] = {}
    delivered_daily = np.sum([ch.delivered_by_day for ch in net.channels], axis=0) if net.channels else np.zeros(
        net.days)
    free_daily = np.sum([ch.delivered_by_day for ch in net.channels if ch.free], axis=0) if any(
        ch.free for ch in net.channels) else np.zeros(net.days)
    sewn_daily = np.sum(list(net.sewn_by_kind.values()), axis=0)
    k["masks_started"] = float(net.masks_started)
    k["masks_sewn"] = float(net.masks_sewn)
    k["masks_delivered"] = float(net.masks_delivered)
    k["masks_free"] = float(free_daily.sum())
    k["masks_scrapped"] = float(net.masks_scrapped)
    k["masks_reworked"] = float(net.masks_reworked)
    k["masks_escaped_defects"] = float(net.escaped_defects)
    inspected = net.inspected_first_pass
    k["first_pass_yield"] = 1.0 - net.rejected_first_pass / inspected if inspected else float("nan")
    k["revenue_eur"] = float(sum(ch.delivered_by_day.sum() * ch.price for ch in net.channels))
    k["mean_lead_time_days"] = float(net.lead_time_sum / net.masks_delivered / HOURS_PER_DAY
                                if net.masks_delivered else float("nan"))
    measures = {"delivered": np.cumsum(delivered_daily), "free": np.cumsum(free_daily), "sewn": np.cumsum(sewn_daily)}
    for name, target in s.targets.items():
        day = first_day_reaching(measures[target.measure], target.masks)
        k[f"day_target.{name}"] = day
        if target.by is not None:
            k[f"reached_by_date.{name}"] = float(not np.isnan(day) and day <= (target.by - net.start).days)
    horizon = net.horizon_h
    for ch in net.channels:
        ordered = sum(o.masks for o in ch.orders if o.placed_h < horizon)
        due = [o for o in ch.orders if o.due_h <= horizon]
        delivered = float(ch.delivered_by_day.sum())
        k[f"delivered.channel.{ch.name}"] = delivered
        k[f"fill_rate.{ch.name}"] = delivered / ordered if ordered else float("nan")
        due_masks = sum(o.masks for o in due)
        late = np.asarray(ch.late_masks, dtype=float).reshape(-1, 2)
        on_time_masks = late[late[:, 1] <= 0.0, 0].sum()
        k[f"on_time.{ch.name}"] = min(1.0, on_time_masks / due_masks) if due_masks else float("nan")
        if len(late) and late[:, 0].sum() > 0:
            k[f"mean_days_late.{ch.name}"] = float(np.average(late[:, 1], weights=late[:, 0]))
            k[f"p95_days_late.{ch.name}"] = _weighted_quantile(late[:, 1], late[:, 0], 0.95)
        else:
            k[f"mean_days_late.{ch.name}"] = float("nan")
            k[f"p95_days_late.{ch.name}"] = float("nan")
    for kind, arr in net.sewn_by_kind.items():
        k[f"output.kind.{kind}"] = float(arr.sum())
    for site in net.sites.values():
        if site.stage("sew") is not None:
            k[f"output.site.{site.name}"] = float(site.sewn)
        gate = site.gate
        if gate is not None and gate.required:
            k[f"approval_days.{site.name}"] = (
                (gate.approved_h - gate.first_sample_h) / HOURS_PER_DAY
                if gate.approved_h is not None and gate.first_sample_h is not None else float("nan"))
    k["design_approval_day"] = (net.design.approved_h / HOURS_PER_DAY if net.design.approved_h is not None
                                else float("nan"))
    if net.lab is not None and net.lab.net_submitted:
        waits = np.asarray(net.lab.net_started) - np.asarray(net.lab.net_submitted)
        k["lab_mean_wait_days"] = float(waits.mean() / HOURS_PER_DAY)
        k["lab_network_samples"] = float(len(waits))
    held_scrapped = sum(site.gate.held_scrapped for site in net.sites.values() if site.gate is not None)
    k["masks_scrapped_on_audit"] = float(held_scrapped)
    k["masks_held_at_end"] = float(sum(site.gate.masks_at_gate for site in net.sites.values() if site.gate))
    stock_end = float(sum(h.stock for h in net.hubs.values()))
    k["platform_stock_end"] = stock_end
    shipped = sum(h.shipped for h in net.hubs.values())
    k["platform_mean_stock"] = float(sum(h.stock_integral for h in net.hubs.values()) / horizon)
    k["platform_throughput_per_day"] = float(shipped / (horizon / HOURS_PER_DAY))
    k["platform_mean_days_in_stock"] = (float(sum(h.time_in_stock_sum for h in net.hubs.values()) / shipped
                                              / HOURS_PER_DAY) if shipped else float("nan"))
    nominal = absent = broken = 0.0
    for site, unit in _units(net, "sew"):
        cap, lost_abs, lost_brk, _ = _capacity(net, site, unit)
        nominal += cap.sum()
        absent += lost_abs.sum()
        broken += lost_brk.sum()
    trainees = reaching = trainee_hours = 0.0
    for site, unit in _units(net, "sew"):
        hours = site.calendar.hours_per_day[: net.days]
        person_days = 0.0
        for c in unit.team.cohorts:
            person_days += float(c.present.sum())
            if c.role == "trainee":
                trainees += c.size
                trainee_hours += float((c.present * hours).sum())
                share = c.efficiency_by_day / c.ceiling
                reaching += c.size if np.nanmax(share, initial=0.0) >= 0.8 - 1e-9 else 0
        k[f"output_per_person_day.site.{site.name}"] = site.sewn / person_days if person_days else float("nan")
    k["trainees"] = trainees
    k["trainees_reaching_80pct"] = reaching
    k["trainee_hours_worked"] = trainee_hours
    k["lost_capacity_share.absence"] = absent / nominal if nominal else float("nan")
    k["lost_capacity_share.breakdown"] = broken / nominal if nominal else float("nan")
    return k


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, q * cum[-1])])


def _units(net: Network, stage: str | None = None) -> list[tuple[Site, StageUnit]]:
    return [(site, unit) for site in net.sites.values() for unit in site.stages
            if stage is None or unit.name == stage]


def _capacity(net: Network, site: Site, unit: StageUnit) -> tuple[np.ndarray, ...]:
    """Per day: nominal person-hours, hours lost to absence, hours lost to machines down, people present."""
    hours = site.calendar.hours_per_day[: net.days]
    team = unit.team
    size = np.zeros(net.days)
    present = np.zeros(net.days)
    for c in team.cohorts:
        started = np.arange(net.days) >= c.start_day
        size += c.size * started
        present += c.present
    lost_break = np.zeros(net.days)
    if team.machines is not None:
        lost_break = np.maximum(0.0, present - team.machines_up) * hours
    return size * hours, (size - present) * hours, lost_break, present


# ---------------------------------------------------------------------------------------------- tables
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


def _daily_table(net: Network, dates: pd.DatetimeIndex, groups: dict[str, str]) -> pd.DataFrame:
    blocks: list[dict[str, object]] = []
    unit_of = {id(unit.track): (site, unit) for site, unit in _units(net)}
    wip = net.daily["wip"]
    wip_row = {id(unit.track): i for i, (_, unit) in enumerate(_units(net))}
    missing = np.full(net.days, np.nan)
    for tr in net.recorder.tracks:
        h = tr.hours
        working = h[:, WORKING].copy()
        down = np.zeros(net.days)
        capacity = lost_abs = lost_brk = present = missing
        if id(tr) in unit_of:
            site, unit = unit_of[id(tr)]
            capacity, lost_abs, lost_brk, present = _capacity(net, site, unit)
            if unit.team.machines is not None:
                frac = np.clip(1.0 - unit.team.machines_up / unit.team.machines, 0.0, 1.0)
                scheduled = h[:, WORKING] + h[:, STARVED] + h[:, BLOCKED]
                down = np.minimum(working, scheduled * frac)
                working = working - down
        blocks.append({
            "site": tr.info.site, "kind": tr.info.kind, "region": tr.info.region, "stage": tr.info.stage,
            "output": tr.output, "wip": wip[wip_row[id(tr)]] if id(tr) in wip_row else missing,
            "working_h": working, "starved_h": h[:, STARVED], "blocked_h": h[:, BLOCKED],
            "off_shift_h": h[:, OFF_SHIFT], "down_h": down, "capacity_h": capacity, "lost_absence_h": lost_abs,
            "lost_breakdown_h": lost_brk, "present": present, "group": groups.get(tr.info.site, "")})
    assert STATE_NAMES[WORKING] == "working"
    return _stack(blocks, net.days, dates)


def _series_table(net: Network, dates: pd.DatetimeIndex, lab_track: StageTrack | None) -> pd.DataFrame:
    rows: list[tuple[str, str, np.ndarray]] = []
    total = np.zeros(net.days)
    for ch in net.channels:
        rows.append(("delivered", ch.name, ch.delivered_by_day))
        rows.append(("demand", ch.name, ch.ordered_by_day))
        total = total + ch.delivered_by_day
    rows.append(("cum_delivered", "all", np.cumsum(total)))
    for kind, arr in net.sewn_by_kind.items():
        rows.append(("sewn_by_kind", kind, arr))
    for i, (site, material) in enumerate(net.stock_keys):
        rows.append(("stock", f"{site}:{material}", net.daily["stocks"][i]))
    for i, hub in enumerate(net.hubs):
        rows.append(("platform_stock", hub, net.daily["platform"][i]))
    rows.append(("held", "all", net.daily["held"]))
    rows.append(("in_transit", "all", net.daily["in_transit"]))
    if net.lab is not None:
        queue, wait = net.lab.daily_queue(net.days)
        rows.append(("lab_queue", "all", queue))
        rows.append(("lab_wait_days", "all", wait))
        queue, wait = net.lab.daily_queue(net.days, network_only=True)
        rows.append(("lab_queue", "network", queue))
        rows.append(("lab_wait_days", "network", wait))
    n = net.days
    return pd.DataFrame({
        "day": np.tile(np.arange(n), len(rows)),
        "date": np.tile(dates.values, len(rows)),
        "series": np.repeat([r[0] for r in rows], n),
        "key": np.repeat([r[1] for r in rows], n),
        "value": np.concatenate([np.asarray(r[2], dtype=float) for r in rows]),
    })


def _cohort_table(net: Network, dates: pd.DatetimeIndex, kpis: dict[str, float], groups: dict[str, str]
                  ) -> pd.DataFrame:
    blocks: list[dict[str, object]] = []
    day_index = np.arange(net.days)
    for site, unit in _units(net):
        for c in unit.team.cohorts:
            eff = _ffill(c.efficiency_by_day)
            started = day_index >= c.start_day
            eff = np.where(started & np.isnan(eff), c.start_efficiency, eff)
            eff = np.where(started, eff, np.nan)
            share = eff / c.ceiling
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


def _ffill(values: np.ndarray) -> np.ndarray:
    """Each NaN replaced by the last value before it (leading NaNs stay): pandas' ffill without a Series."""
    last = np.where(np.isnan(values), 0, np.arange(len(values)))
    np.maximum.accumulate(last, out=last)
    return values[last]


def _lab_track(net: Network) -> StageTrack | None:
    """Certification as a stage: active while any network sample is at the lab."""
    lab = net.lab
    if lab is None:
        return None
    track = net.recorder.track(TrackInfo("lab", "lab", "", "certification"), None, STARVED)
    spans = sorted(zip(lab.net_submitted, lab.net_verdicts, strict=True))
    merged: list[list[float]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    for a, b in merged:
        track.set(WORKING, min(a, net.horizon_h))
        track.set(STARVED, min(b, net.horizon_h))
    track.finish(net.horizon_h)
    return track


def _bottleneck_table(net: Network) -> pd.DataFrame:
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

    def add(frame: pd.DataFrame, level: str, site_name: str, stage_names: np.ndarray) -> None:
        week_index.append(frame["week_index"].to_numpy())
        stages.append(stage_names)
        shares.append(frame["share"].to_numpy())
        levels.append((level, site_name, len(frame)))

    network = bottleneck_shares(groups, net.horizon_h, weeks, BOTTLENECK_RESOLUTION_H)
    add(network, "network", "", network["stage"].to_numpy(dtype=object))
    for site in net.sites.values():
        keys = {f"{site.name}/{u.name}": active[f"{site.name}/{u.name}"] for u in site.stages}
        if len(keys) < 2:
            continue
        per_site = bottleneck_shares(keys, net.horizon_h, weeks, BOTTLENECK_RESOLUTION_H)
        # one track per stage: the site-level key names its stage
        add(per_site, "site", site.name,
            np.asarray([stage_of.get(key, key) for key in per_site["stage"].to_numpy(dtype=object)], dtype=object))
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
