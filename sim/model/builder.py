"""Builds the network of a scenario on one `simpy.Environment`: sites with their stages, teams, buffers
and stocks, certification, routes, suppliers, demand, and the process of every stage.

Every random draw comes from a stream named after its source (sim.rng), so building the same scenario
with the same streams gives the same network in any process, and scenarios compare under common random
numbers. The order in which processes are made is part of that contract (SimPy breaks ties between
events due at the same time by the order they were scheduled): keep it when changing the build.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import simpy

from sim.allocation import make_policy
from sim.config import STAGE_ORDER, CalendarChange, Cohort, Scenario, SiteSpec, StageSpec
from sim.distributions import Dist
from sim.entities.archetypes import archetype_for
from sim.entities.buffer import LotBuffer, MaterialStock, Sender
from sim.entities.calendar import WorkCalendar
from sim.entities.demand import Channel, Hub, Order
from sim.entities.draws import GammaSums
from sim.entities.lab import CertificationLab
from sim.entities.ledger import Ledger
from sim.entities.site import Site, StageUnit
from sim.entities.workforce import CohortState, Team, draw_machines_up, draw_presence
from sim.metrics import OFF_SHIFT, STARVED, Recorder, TrackInfo
from sim.model.loop import run_until
from sim.model.router import Router
from sim.model.snapshots import DailySnapshots
from sim.processes.certification import DesignCertification, SiteGate
from sim.processes.distribution import Distribution
from sim.processes.planning import DayPlans
from sim.processes.quality import InspectWork
from sim.processes.sewing import SewWork
from sim.processes.stage import PlainWork, StageRole, WorkModel, run_stage
from sim.processes.stock_policy import policy_for
from sim.processes.supply import Supplier, schedule_array
from sim.rng import Streams
from sim.timebase import HOURS_PER_DAY

CALENDAR_MARGIN_DAYS = 60  # lots started near the horizon may finish after it
# Python's cyclic garbage collector during the event loop: a young-generation collection every this many
# allocations instead of 700 (see quiet_collector)
GC_YOUNG_THRESHOLD = 50_000


@contextlib.contextmanager
def quiet_collector() -> Iterator[None]:
    """The event loop allocates an object or more per event (events, lots, tuples) that reference counting
    frees; the cyclic collector, run every 700 allocations by default and over every object alive (the
    network, the imported libraries) in its older generations, took 14-15 % of a 2020 replication's CPU
    (measured with gc.callbacks: 0.95-1.24 s of 6.5-8.9 s, 559 young, 51 middle and 4 full collections).
    Here everything alive before the run is frozen out of the collector's sight (`gc.freeze`) and the young
    generation is collected every GC_YOUNG_THRESHOLD allocations: 0.14 s, 4 collections. Both are restored
    after the run. The collector never changes what a run computes, only when memory of cycles is freed.

    A full collection comes first: the networks of earlier runs in this process are reference cycles, and
    frozen with the rest they would go back to the oldest generation, which the rare young collections never
    reach: a calibration's workers grew by 15 MB a run of the 2020 case (1.7 to 2.4 GB over 50 runs). With it,
    a worker's memory stays flat; it costs about 0.26 s of CPU after a 2020 run (0.55 s before
    `Network.release` emptied the teams' memos, most of the garbage)."""
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, thresholds[1], thresholds[2])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def expand_groups(s: Scenario, streams: Streams) -> dict[str, SiteSpec]:
    """Every site of the scenario, groups expanded into members `<group>_01`, ... Each member's size,
    start and region come from its own stream, so adding a site or a group elsewhere changes nothing
    here."""
    sites: dict[str, SiteSpec] = dict(s.sites)
    for gname, g in s.groups.items():
        width = max(2, len(str(g.count)))
        for i in range(g.count):
            name = f"{gname}_{i + 1:0{width}d}"
            rng = streams.get(f"group:{gname}:{i}")
            size = max(1, round(float(g.size.sample(rng))))
            if isinstance(g.start, dt.date):
                start = g.start
            else:
                lo, hi = g.start.uniform
                start = lo + dt.timedelta(days=int(rng.integers(0, (hi - lo).days + 1)))
            region = g.regions[int(rng.integers(0, len(g.regions)))]
            skilled = round(size * g.skilled_share) if g.role == "trainee" else size
            cohorts = []
            if skilled:
                cohorts.append(Cohort(name="skilled", role="skilled", size=skilled, start=start))
            if size - skilled:
                cohorts.append(Cohort(name="trainees", role="trainee", size=size - skilled, start=start))
            sites[name] = SiteSpec(kind=g.kind, region=region, calendar=g.calendar, start=start, stages=dict(g.stages),
                                   cohorts=cohorts, stocks=dict(g.stocks), cover_days=g.cover_days,
                                   stock_policies=dict(g.stock_policies), audit=g.audit)
    return sites


def group_members(s: Scenario, sites: dict[str, SiteSpec]) -> dict[str, list[str]]:
    """Name -> member site names (a site is its own only member)."""
    members = {name: [name] for name in s.sites}
    for gname, g in s.groups.items():
        width = max(2, len(str(g.count)))
        members[gname] = [f"{gname}_{i + 1:0{width}d}" for i in range(g.count)]
    return members


class Network:
    """Every component of one run, built from the scenario; `run()` runs it to the horizon.

    What the processes share is narrow: the `ledger` of mask counts and the `router`'s outlets; each
    component keeps its own state and reports its own results (sim.model.collect reads them)."""

    def __init__(self, s: Scenario, streams: Streams) -> None:
        self.s = s
        self.streams = streams
        self.env = simpy.Environment()
        self.start = s.start
        self.days = s.horizon_days
        self.horizon_h = s.horizon_days * HOURS_PER_DAY
        self.lot_size = s.lot_size
        self.recorder = Recorder(self.days)
        self.site_kinds = sorted({*(v.kind for v in s.sites.values()), *(g.kind for g in s.groups.values())})
        self.ledger = Ledger(self.days, self.site_kinds)
        # dispatchers waiting for room, in the order they blocked (shared by every input buffer)
        self.blocked_senders: dict[Sender, None] = {}
        self._calendars: dict[Any, WorkCalendar] = {}
        self._build()

    # ------------------------------------------------------------------------------------------ build
    def _calendar(self, key: str | list[CalendarChange]) -> WorkCalendar:
        cache_key = key if isinstance(key, str) else tuple((c.start, c.calendar) for c in key)
        cal = self._calendars.get(cache_key)
        if cal is None:
            changes = [(0, self.s.calendars[key])] if isinstance(key, str) else [
                ((c.start - self.start).days, self.s.calendars[c.calendar]) for c in key]
            cal = WorkCalendar(self.start, self.days + CALENDAR_MARGIN_DAYS, changes, self.s.holidays)
            self._calendars[cache_key] = cal
        return cal

    def _absence_rates(self, region: str) -> np.ndarray:
        rates = schedule_array(self.s.absenteeism.rate, self.start, self.days)
        for wave in self.s.absenteeism.waves:
            if wave.region == region:
                a = max(0, (wave.start - self.start).days)
                b = min(self.days, (wave.end - self.start).days)
                rates[a:b] += wave.extra_rate
        return rates

    def _build(self) -> None:
        s = self.s
        env = self.env
        self.site_specs = expand_groups(s, self.streams)
        self.members = group_members(s, self.site_specs)
        lab_spec = s.certification.lab
        self.lab = None
        if lab_spec is not None:
            self.lab = CertificationLab(
                benches=lab_spec.benches, tests_per_bench_per_day=lab_spec.tests_per_bench_per_day,
                test_time_cv=lab_spec.test_time_cv, report_delay=lab_spec.report_delay_days,
                background_per_day=schedule_array(lab_spec.background_per_day, self.start,
                                                  self.days + CALENDAR_MARGIN_DAYS),
                initial_backlog=lab_spec.initial_backlog, network_priority=lab_spec.network_priority,
                instant=lab_spec.instant, rng=self.streams.get("lab:tests"))
        self.design = DesignCertification(env, self.start, s.certification.design, self.lab,
                                          self.streams.get("lab:design"))
        self.sites: dict[str, Site] = {}
        self.hubs: dict[str, Hub] = {}
        self.gates: dict[str, SiteGate] = {}  # the certification gate of each sewing site
        for name, spec in self.site_specs.items():
            if spec.kind == "hub":
                self.hubs[name] = Hub(len(self.hubs), name, spec.region)
            else:
                self.sites[name] = self._build_site(len(self.sites), name, spec)
        self.router = Router(env, s, self.members, self.sites, self.hubs, self.gates, self.recorder, self.streams,
                             self.blocked_senders)
        self.lanes = self.router.lanes
        self.suppliers: list[Supplier] = []
        for name, sup in s.suppliers.items():
            material = s.materials[sup.material]
            customers = [self.sites[m] for c in sup.customers for m in self.members[c]]
            track = self.recorder.track(TrackInfo(name, "supplier", "", "supply"), None, STARVED)
            self.suppliers.append(Supplier(
                env, self.start, self.horizon_h, name, sup, customers, material.per_mask, material.stage,
                schedule_array(sup.capacity_per_day, self.start, self.days), self.streams.get(f"supplier:{name}"),
                track, [policy_for(self.site_specs[site.name].stock_policies, sup.material) for site in customers]))
        self._build_demand()
        for site in self.sites.values():
            for position, unit in enumerate(site.stages):
                env.process(run_stage(env, self.ledger, unit, self._role(site, position),
                                      self._work_model(site, unit)))
        self.snapshots = DailySnapshots(env, self.days, self.sites, self.hubs, self.gates, self.in_transit)
        self.daily = self.snapshots.daily

    def _build_site(self, index: int, name: str, spec: SiteSpec) -> Site:
        s = self.s
        arch = archetype_for(spec.kind, s.archetypes)
        calendar = self._calendar(spec.calendar if spec.calendar != "one_shift" or arch.calendar is None
                                  else arch.calendar)
        start_day = max(0, (spec.start - self.start).days) if spec.start else 0
        absence = self._absence_rates(spec.region)
        stocks = {m: MaterialStock(self.env, m, spec.stocks.get(m, 0.0), f"{name}:{m}")
                  for m, mat in s.materials.items() if mat.stage in spec.stages}
        stages: list[StageUnit] = []
        lot_size = self.lot_size
        for stage_name in STAGE_ORDER:
            stage = spec.stages.get(stage_name)
            if stage is None:
                continue
            team = self._build_team(name, spec, stage_name, stage, arch, start_day, absence)
            if stage_name == "sew":
                lot_size = self._site_lot_size(team, calendar)
            track = self.recorder.track(TrackInfo(name, spec.kind, spec.region, stage_name), calendar, OFF_SHIFT)
            # every stage takes lots from a buffer, but cutting, which draws on material stocks
            buffer_name = f"{name}:{stage_name}"
            if stage_name == "cut":
                buffer = None
            elif s.lot_sizing is None:
                buffer = LotBuffer(self.env, buffer_name, self._buffer_lots(stage, team, calendar, lot_size),
                                   blocked_senders=self.blocked_senders)
            else:  # lots of several sizes arrive: capacity counted in masks
                buffer = LotBuffer(self.env, buffer_name, None, self._buffer_masks(stage, team, calendar),
                                   self.lot_size, blocked_senders=self.blocked_senders)
            materials = [(stocks[m], mat.per_mask) for m, mat in s.materials.items() if mat.stage == stage_name]
            stages.append(StageUnit(stage_name, team, track, buffer, materials))
        site = Site(index, name, spec.kind, spec.region, start_day * HOURS_PER_DAY, calendar, stages, stocks,
                    spec.cover_days, lot_size=lot_size)
        if s.lot_sizing is not None and stages and stages[0].name == "sew" and stages[0].buffer is not None:
            stages[0].buffer.split_above = lot_size
        if "sew" in spec.stages:
            audit = s.certification.site_audit
            self.gates[name] = SiteGate(self.env, self.ledger, name, audit, audit.required and spec.audit.required,
                                        spec.audit.policy or audit.policy, self.design, self.lab,
                                        self.streams.get(f"site:{name}:audit"))
        return site

    def _nominal_per_day(self, team: Team, calendar: WorkCalendar) -> float:
        return team.nominal_rate * float(calendar.hours_per_day[: self.days].mean() or 0.0)

    def _buffer_masks(self, stage: StageSpec, team: Team, calendar: WorkCalendar) -> float | None:
        """Masks an input buffer holds: `buffer_days` of the stage's nominal work (None: unbounded)."""
        if stage.buffer_days is None:
            return None
        return stage.buffer_days * self._nominal_per_day(team, calendar)

    def _buffer_lots(self, stage: StageSpec, team: Team, calendar: WorkCalendar, lot_size: float) -> int | None:
        masks = self._buffer_masks(stage, team, calendar)
        return None if masks is None else max(2, math.ceil(masks / lot_size))

    def _site_lot_size(self, sew: Team, calendar: WorkCalendar) -> int:
        """The lot size of a sewing site: `lot_size`, or with `lot_sizing` a share of the site's nominal
        daily output in whole multiples of `lot_size` (so a 100-sewer workshop does not make 100 lots a day
        while a 10-person ESAT keeps lots of `lot_size`)."""
        sizing = self.s.lot_sizing
        if sizing is None:
            return self.lot_size
        hours = calendar.hours_per_day[: self.days]
        per_working_day = sew.nominal_rate * float(hours[hours > 0].mean()) if (hours > 0).any() else 0.0
        multiple = max(1, math.floor(sizing.day_share * per_working_day / self.lot_size))
        size = multiple * self.lot_size
        return size if sizing.max_lot is None else max(self.lot_size, min(size, sizing.max_lot))

    def _build_team(self, site_name: str, spec: SiteSpec, stage_name: str, stage: StageSpec, arch: Any,
                    start_day: int, absence: np.ndarray) -> Team:
        cohorts = [c for c in spec.cohorts if c.stage == stage_name]
        if stage.operators:
            cohorts = [Cohort(name=f"{stage_name}_operators", role="skilled", size=stage.operators, stage=stage_name),
                       *cohorts]
        ceiling_site = spec.ceiling if spec.ceiling is not None else arch.ceiling
        states = []
        for c in cohorts:
            learning = c.learning
            model = learning.model if learning else ("wright" if c.role == "trainee" else "none")
            ceiling = (learning.ceiling if learning and learning.ceiling else ceiling_site)
            c_start = max(start_day, (c.start - self.start).days if c.start else start_day)
            rng = self.streams.get(f"site:{site_name}:cohort:{c.name}:absence")
            present = draw_presence(rng, c.size, absence * arch.absenteeism_factor * c.absenteeism_factor, c_start)
            states.append(CohortState(
                name=c.name, role=c.role, size=c.size, start_day=c_start, model=model,
                std_min=stage.minutes_per_mask, ceiling=ceiling,
                first_mask_min=(learning.first_mask_min if learning and learning.first_mask_min
                                else arch.first_mask_min * stage.minutes_per_mask / 2.1),
                wright_rate=learning.rate if learning and learning.rate else arch.wright_rate,
                e0=learning.e0 if learning and learning.e0 is not None else 0.1 * ceiling,
                tau_days=learning.tau_days if learning and learning.tau_days else 14.0,
                defect_trainee=spec.defect_trainee if spec.defect_trainee is not None else arch.defect_trainee,
                defect_skilled=spec.defect_skilled if spec.defect_skilled is not None else arch.defect_skilled,
                present=present))
        machines = stage.machines
        if machines is None and stage.mtbf_hours is not None:
            machines = sum(c.size for c in cohorts)
        if machines is not None and stage.mtbf_hours is not None and stage.mttr_hours is not None:
            up = draw_machines_up(self.streams.get(f"site:{site_name}:{stage_name}:machines"), machines,
                                  stage.mtbf_hours, stage.mttr_hours, self.days)
        else:
            up = np.full(self.days, float(machines) if machines is not None else math.inf)
        return Team(std_min=stage.minutes_per_mask, cv=stage.cv, cohorts=states, machines=machines, machines_up=up,
                    trainees_per_trainer=spec.supervision.trainees_per_trainer,
                    trainer_output_loss=spec.supervision.trainer_output_loss)

    def _role(self, site: Site, position: int) -> StageRole:
        """What the stage at `position` does besides the common shape, from its kind and place in the site."""
        unit = site.stages[position]
        last = position + 1 >= len(site.stages)
        role = StageRole(calendar=site.calendar, start_h=site.start_h,
                         downstream=None if last else site.stages[position + 1].buffer,
                         ship=self.router.outlet(site) if last else None)
        if unit.name == "cut":
            # cutting makes lots of the size they are sewn in: the site's own or, at a cutting centre with
            # adaptive lots, the size of the destination its next lot would go to
            role.starts_lots = True
            dispatcher = self.router.dispatchers.get(site.name)
            if self.s.lot_sizing is not None and site.stage("sew") is None and dispatcher is not None:
                role.next_lot_size = dispatcher.next_lot_size
            else:
                role.lot_size = site.lot_size or self.lot_size
        elif unit.name == "sew":
            role.gate = self.gates.get(site.name)
            role.rework_is_output = False  # rework lots come back from inspection: not new output
        elif unit.name == "inspect":
            sew = site.stage("sew")
            role.rework_to = sew.buffer if sew is not None else None
        return role

    def _work_model(self, site: Site, unit: StageUnit) -> WorkModel:
        key = f"site:{site.name}:{unit.name}"
        times = GammaSums(self.streams.get(f"{key}:time"))
        plans = DayPlans(unit.team, times, site.calendar, unit.buffer)
        if unit.name == "sew":
            rework = self.s.quality.rework_minutes_per_mask if self.s.quality else unit.team.std_min
            return SewWork(self.ledger, site, self.gates.get(site.name), unit.team, rework, times, plans,
                           self.streams.get(f"{key}:defects"))
        if unit.name == "inspect":
            if self.s.quality is None:
                raise ValueError("a site inspects but the scenario has no 'quality' section")
            return InspectWork(self.ledger, self.s.quality, unit.team, plans, self.streams.get(f"{key}:verdict"),
                               self.streams.get(f"{key}:rework"))
        return PlainWork(unit.team, plans)

    def _build_demand(self) -> None:
        s = self.s
        hub_names = list(self.hubs)
        self.channels: list[Channel] = []
        transit: dict[str, dict[int, Dist]] = {h: {} for h in hub_names}
        cancel: dict[str, dict[int, float]] = {h: {} for h in hub_names}
        order_id = 0
        for index, (name, ch) in enumerate(s.channels.items()):
            channel = Channel(index, name, ch.price, ch.priority, ch.price == 0.0, self.days)
            hub = ch.hub or hub_names[0]
            for o in ch.orders:
                placed = (o.date - self.start).days * HOURS_PER_DAY
                due = ((o.due - self.start).days + 1) * HOURS_PER_DAY if o.due else placed + ch.due_days * 24
                channel.orders.append(Order(order_id, index, placed, due, o.masks))
                order_id += 1
            if ch.weekly > 0:
                first = max(0, (ch.weekly_from - self.start).days) if ch.weekly_from else 0
                last = min(self.days, (ch.weekly_until - self.start).days) if ch.weekly_until else self.days
                for day in range(first, last, 7):
                    placed = day * HOURS_PER_DAY
                    channel.orders.append(Order(order_id, index, placed, placed + ch.due_days * HOURS_PER_DAY,
                                                round(ch.weekly)))
                    order_id += 1
            for order in channel.orders:
                day = int(order.placed_h // HOURS_PER_DAY)
                if 0 <= day < self.days:
                    channel.ordered_by_day[day] += order.masks
            transit[hub][index] = ch.transit_days
            if ch.cancel_open_after is not None:
                cancel[hub][index] = (ch.cancel_open_after - self.start).days * HOURS_PER_DAY
            self.hubs[hub].channels.append(channel)
            self.channels.append(channel)
        policy = make_policy(s.allocation.policy, s.allocation.reserved_free_share)
        self.distributions = [
            Distribution(self.env, self.ledger, self.horizon_h, hub, policy, s.allocation.hour, transit[name],
                         cancel[name], self.streams.get(f"hub:{name}:last_mile"))
            for name, hub in self.hubs.items() if hub.channels]

    # ------------------------------------------------------------------------------------------- run
    def in_transit(self) -> int:
        """Masks on lanes and on the last mile."""
        return self.router.in_transit() + sum(ch.in_transit for ch in self.channels)

    def run(self) -> None:
        with quiet_collector():
            run_until(self.env, self.horizon_h)
        self.snapshots.record_last_day()  # the last day's levels are the final state (see DailySnapshots)
        self.recorder.finish(self.horizon_h)
        if self.lab is not None:
            self.lab.finish(self.horizon_h)
        for hub in self.hubs.values():
            hub.finish(self.horizon_h)

    def release(self) -> None:
        """Once the results are read: empty what the cyclic collector would otherwise have to walk element by
        element (the stages' working intervals, the teams' per-day memos, the lanes' per-lot lead times, the
        events still scheduled), so that freeing a finished run, a web of reference cycles, is cheap (see
        quiet_collector)."""
        for site in self.sites.values():
            for unit in site.stages:
                unit.team.forget_plans()
                unit.track.active = []
        for lane in self.lanes:
            lane.lead_times.clear()
        self.env._queue.clear()  # SimPy's own heap: the run is over
