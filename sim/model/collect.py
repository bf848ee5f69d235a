"""From a finished network to a RunResult: the KPIs, reported by the components that hold the state
(ledger, channels, platforms, gates, the design and the lab, cohorts, stages), and the tidy tables of
docs/results.md (sim.model.frames).

Everything here runs once per run, after the event loop, and is vectorised over days. The order of the
KPIs is the order of the `runs` table's columns: keep it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.entities.demand import platform_kpis
from sim.metrics import STARVED, TrackInfo
from sim.model.frames import bottleneck_table, cohort_table, daily_table, first_day_reaching, series_table
from sim.results.tables import validate
from sim.spec import RunResult, RunSpec
from sim.timebase import HOURS_PER_DAY

if TYPE_CHECKING:
    from sim.model.builder import Network


def build_result(net: Network, spec: RunSpec) -> RunResult:
    dates = pd.to_datetime([net.start + dt.timedelta(days=d) for d in range(net.days)])
    if net.lab is not None:  # certification as a stage of the daily and bottleneck tables
        net.lab.record_activity(net.recorder.track(TrackInfo("lab", "lab", "", "certification"), None, STARVED),
                                net.horizon_h)
    kpis = network_kpis(net)
    groups = group_of_site(net)
    daily = validate("daily", daily_table(net, dates, groups), with_ids=False)
    series = validate("series", series_table(net, dates), with_ids=False)
    cohorts = validate("cohorts", cohort_table(net, dates, kpis, groups), with_ids=False)
    bottlenecks = validate("bottlenecks", bottleneck_table(net), with_ids=False)
    return RunResult(run_id=spec.run_id, scenario_name=spec.scenario_name, point=dict(spec.point),
                     replication=spec.replication, root_seed=spec.root_seed, kpis=kpis, daily=daily,
                     series=series, cohorts=cohorts, bottlenecks=bottlenecks)


def group_of_site(net: Network) -> dict[str, str]:
    """Site name -> the scenario group it was generated from (named sites are in no group)."""
    return {member: group for group, members in net.members.items() if group in net.s.groups for member in members}


def network_kpis(net: Network) -> dict[str, float]:
    s = net.s
    ledger = net.ledger
    channels = net.channels
    k: dict[str, float] = {}
    delivered_daily = np.sum([ch.delivered_by_day for ch in channels], axis=0) if channels else np.zeros(net.days)
    free_daily = np.sum([ch.delivered_by_day for ch in channels if ch.free], axis=0) if any(
        ch.free for ch in channels) else np.zeros(net.days)
    k["masks_started"] = float(ledger.masks_started)
    k["masks_sewn"] = float(ledger.masks_sewn)
    k["masks_delivered"] = float(ledger.masks_delivered)
    k["masks_free"] = float(free_daily.sum())
    k["masks_scrapped"] = float(ledger.masks_scrapped)
    k["masks_reworked"] = float(ledger.masks_reworked)
    k["masks_escaped_defects"] = float(ledger.escaped_defects)
    inspected = ledger.inspected_first_pass
    k["first_pass_yield"] = 1.0 - ledger.rejected_first_pass / inspected if inspected else float("nan")
    k["revenue_eur"] = float(sum(ch.delivered_by_day.sum() * ch.price for ch in channels))
    k["mean_lead_time_days"] = float(ledger.lead_time_sum / ledger.masks_delivered / HOURS_PER_DAY
                                     if ledger.masks_delivered else float("nan"))
    measures = {"delivered": np.cumsum(delivered_daily), "free": np.cumsum(free_daily),
                "sewn": np.cumsum(ledger.sewn_daily())}
    for name, target in s.targets.items():
        day = first_day_reaching(measures[target.measure], target.masks)
        k[f"day_target.{name}"] = day
        if target.by is not None:
            k[f"reached_by_date.{name}"] = float(not np.isnan(day) and day <= (target.by - net.start).days)
    for ch in channels:
        k.update(ch.kpis(net.horizon_h))
    for kind, arr in ledger.sewn_by_kind.items():
        k[f"output.kind.{kind}"] = float(arr.sum())
    for site in net.sites.values():
        if site.stage("sew") is not None:
            k[f"output.site.{site.name}"] = float(site.sewn)
        gate = net.gates.get(site.name)
        if gate is not None:
            k.update(gate.kpis())
    k["design_approval_day"] = net.design.approval_day()
    if net.lab is not None:
        k.update(net.lab.kpis())
    gates = [net.gates[name] for name in net.sites if name in net.gates]
    k["masks_scrapped_on_audit"] = float(sum(gate.held_scrapped for gate in gates))
    k["masks_held_at_end"] = float(sum(gate.masks_at_gate for gate in gates))
    k.update(platform_kpis(list(net.hubs.values()), net.horizon_h))
    k.update(_workforce_kpis(net))
    return k


def _workforce_kpis(net: Network) -> dict[str, float]:
    """Output per person-day of each sewing site, trainees and their progress, capacity lost."""
    k: dict[str, float] = {}
    sewing = [(site, unit) for site in net.sites.values() for unit in site.stages if unit.name == "sew"]
    nominal = absent = broken = 0.0
    for site, unit in sewing:
        cap, lost_abs, lost_brk, _ = unit.capacity(site.calendar.hours_per_day[: net.days], net.days)
        nominal += cap.sum()
        absent += lost_abs.sum()
        broken += lost_brk.sum()
    trainees = reaching = trainee_hours = 0.0
    for site, unit in sewing:
        hours = site.calendar.hours_per_day[: net.days]
        person_days = 0.0
        for c in unit.team.cohorts:
            person_days += float(c.present.sum())
            if c.role == "trainee":
                trainees += c.size
                trainee_hours += float((c.present * hours).sum())
                reaching += c.size if c.reached_share(0.8) else 0
        k[f"output_per_person_day.site.{site.name}"] = site.sewn / person_days if person_days else float("nan")
    k["trainees"] = trainees
    k["trainees_reaching_80pct"] = reaching
    k["trainee_hours_worked"] = trainee_hours
    k["lost_capacity_share.absence"] = absent / nominal if nominal else float("nan")
    k["lost_capacity_share.breakdown"] = broken / nominal if nominal else float("nan")
    return k
