"""Builds the network of a scenario on one `simpy.Environment` and runs it: `simulate(spec)`.

`simulate` is a pure function of its RunSpec: every random draw comes from a stream named after its
source (sim.rng), so the same spec gives the same result in any process, and scenarios compare under
common random numbers.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from sim.allocation import make_policy
from sim.config import STAGE_ORDER, CalendarChange, Cohort, Scenario, SiteSpec, StageSpec
from sim.distributions import Dist
from sim.entities.archetypes import archetype_for
from sim.entities.buffer import LotBuffer, MaterialStock
from sim.entities.calendar import WorkCalendar
from sim.entities.demand import Channel, Hub, Order
from sim.entities.lab import CertificationLab
from sim.entities.lot import Lot
from sim.entities.site import Site, StageUnit
from sim.entities.workforce import CohortState, Team, draw_machines_up, draw_presence
from sim.metrics import BLOCKED, OFF_SHIFT, STARVED, Recorder, StageTrack, TrackInfo
from sim.processes.certification import DesignCertification, SiteGate
from sim.processes.distribution import Distribution
from sim.processes.quality import InspectWork
from sim.processes.sewing import SewWork
from sim.processes.stage import PlainWork, run_stage
from sim.processes.supply import Supplier, schedule_array
from sim.processes.transport import Dispatcher, Lane
from sim.rng import Streams
from sim.spec import RunResult, RunSpec
from sim.timebase import HOURS_PER_DAY

CALENDAR_MARGIN_DAYS = 60  # lots started near the horizon may finish after it


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
                                   audit=g.audit)
    return sites


def group_members(s: Scenario, sites: dict[str, SiteSpec]) -> dict[str, list[str]]:
    """Name -> member site names (a site is its own only member)."""
    members = {name: [name] for name in s.sites}
    for gname, g in s.groups.items():
        width = max(2, len(str(g.count)))
        members[gname] = [f"{gname}_{i + 1:0{width}d}" for i in range(g.count)]
    return members


class Network:
    """All entities and processes of one run, and the counters that conservation checks."""

    def __init__(self, s: Scenario, streams: Streams) -> None:
        self.s = s
        self.streams = streams
        self.env = simpy.Environment()
        self.start = s.start
        self.days = s.horizon_days
        self.horizon_h = s.horizon_days * HOURS_PER_DAY
        self.lot_size = s.lot_size
        self.carton_size = s.packaging.carton_size
        self.recorder = Recorder(self.days)
        # counters
        self.masks_started = 0
        self.masks_sewn = 0
        self.masks_scrapped = 0
        self.masks_reworked = 0
        self.masks_delivered = 0
        self.inspected_first_pass = 0
        self.rejected_first_pass = 0
        self.escaped_defects = 0
        self.lead_time_sum = 0.0
        self.site_kinds = sorted({*(v.kind for v in s.sites.values()), *(g.kind for g in s.groups.values())})
        self.sewn_by_kind = {k: np.zeros(self.days) for k in self.site_kinds}
        self.blocked_senders: dict[Any, None] = {}  # dispatchers waiting for room, in the order they blocked
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
        self._calendars: dict[Any, WorkCalendar] = {}
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
        self.design = DesignCertification(self, s.certification.design, self.lab, self.streams.get("lab:design"))
        self.sites: dict[str, Site] = {}
        self.hubs: dict[str, Hub] = {}
        for name, spec in self.site_specs.items():
            if spec.kind == "hub":
                self.hubs[name] = Hub(len(self.hubs), name, spec.region)
            else:
                self.sites[name] = self._build_site(len(self.sites), name, spec)
        self.lanes: list[Lane] = []
        for route in s.routes:
            for source in self.members[route.source]:
                lanes = []
                for dest_group in route.to:
                    for dest in self.members[dest_group]:
                        target: Site | Hub = self.hubs[dest] if dest in self.hubs else self.sites[dest]
                        binding = route.lane.mode == "daily" and route.lane.truck_cartons is not None
                        track = self.recorder.track(TrackInfo(f"{source}->{dest}", "lane", "", "transport"),
                                                    None, STARVED) if binding else None
                        lane = Lane(self, f"{source}->{dest}", target, route.transit_days, route.lane,
                                    self.streams.get(f"lane:{source}->{dest}"), track)
                        lanes.append(lane)
                self.lanes.extend(lanes)
                self.sites[source].dispatcher = Dispatcher(self, self.sites[source], lanes)
        self.suppliers: list[Supplier] = []
        for name, sup in s.suppliers.items():
            material = s.materials[sup.material]
            customers = [self.sites[m] for c in sup.customers for m in self.members[c]]
            track = self.recorder.track(TrackInfo(name, "supplier", "", "supply"), None, STARVED)
            self.suppliers.append(Supplier(
                self, name, sup, customers, material.per_mask, material.stage,
                schedule_array(sup.capacity_per_day, self.start, self.days), self.streams.get(f"supplier:{name}"),
                track))
        self._build_demand()
        for site in self.sites.values():
            for position, unit in enumerate(site.stages):
                self.env.process(run_stage(self, site, position, self._work_model(site, unit)))
        self._units = [(site, unit) for site in self.sites.values() for unit in site.stages]
        self.stock_keys = [(site.name, m) for site in self.sites.values() for m in site.stocks]
        self.daily: dict[str, np.ndarray] = {
            "wip": np.zeros((len(self._units), self.days)), "stocks": np.zeros((len(self.stock_keys), self.days)),
            "platform": np.zeros((len(self.hubs), self.days)), "held": np.zeros(self.days),
            "in_transit": np.zeros(self.days)}
        self.env.process(self._snapshots())

    def _build_site(self, index: int, name: str, spec: SiteSpec) -> Site:
        s = self.s
        arch = archetype_for(spec.kind, s.archetypes)
        calendar = self._calendar(spec.calendar if spec.calendar != "one_shift" or arch.calendar is None
                                  else arch.calendar)
        start_day = max(0, (spec.start - self.start).days) if spec.start else 0
        absence = self._absence_rates(spec.region)
        stocks = {m: MaterialStock(self.env, m, spec.stocks.get(m, 0.0)) for m, mat in s.materials.items()
                  if mat.stage in spec.stages}
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
            if stage_name == "cut":
                buffer = None
            elif s.lot_sizing is None:
                buffer = LotBuffer(self.env, self._buffer_lots(stage, team, calendar, lot_size))
            else:  # lots of several sizes arrive: capacity counted in masks
                buffer = LotBuffer(self.env, None, self._buffer_masks(stage, team, calendar), self.lot_size)
            if buffer is not None:
                buffer.blocked_senders = self.blocked_senders
            materials = [(stocks[m], mat.per_mask) for m, mat in s.materials.items() if mat.stage == stage_name]
            stages.append(StageUnit(stage_name, team, track, buffer, materials))
        site = Site(index, name, spec.kind, spec.region, start_day * HOURS_PER_DAY, calendar, stages, stocks,
                    spec.cover_days, lot_size=lot_size)
        if s.lot_sizing is not None and stages and stages[0].name == "sew" and stages[0].buffer is not None:
            stages[0].buffer.split_above = lot_size
        if "sew" in spec.stages:
            audit = s.certification.site_audit
            site.gate = SiteGate(self, site, audit, audit.required and spec.audit.required,
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

    def _work_model(self, site: Site, unit: StageUnit) -> Any:
        key = f"site:{site.name}:{unit.name}"
        if unit.name == "sew":
            rework = self.s.quality.rework_minutes_per_mask if self.s.quality else unit.team.std_min
            return SewWork(self, site, unit.team, rework, self.streams.get(f"{key}:time"),
                           self.streams.get(f"{key}:defects"))
        if unit.name == "inspect":
            if self.s.quality is None:
                raise ValueError("a site inspects but the scenario has no 'quality' section")
            return InspectWork(self, self.s.quality, unit.team, self.streams.get(f"{key}:time"),
                               self.streams.get(f"{key}:verdict"), self.streams.get(f"{key}:rework"))
        return PlainWork(unit.team, self.streams.get(f"{key}:time"))

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
            Distribution(self, hub, policy, s.allocation.hour, transit[name], cancel[name],
                         self.streams.get(f"hub:{name}:last_mile"))
            for name, hub in self.hubs.items() if hub.channels]

    # ------------------------------------------------------------------------------------- behaviour
    def ship(self, site: Site, lot: Lot, track: StageTrack | None) -> Generator[simpy.Event, Any, None]:
        """A site's finished lot leaves, unless its certification gate holds it. Once the gate opens, what
        it held leaves first: new output waits (blocked) until the held stock is on its way."""
        gate = site.gate
        if gate is not None:
            if not gate.is_open():
                gate.hold(lot)
                return
            while gate.releasing_backlog():
                if track is not None:
                    track.set(BLOCKED, self.env.now)
                yield gate.wait_drained()
        yield from self.dispatch(site, lot, track)

    def dispatch(self, site: Site, lot: Lot, track: StageTrack | None) -> Generator[simpy.Event, Any, None]:
        assert site.dispatcher is not None
        yield from site.dispatcher.send(lot, track)

    def receive(self, dest: Site | Hub, lot: Lot) -> None:
        if isinstance(dest, Hub):
            dest.receive(lot, self.env.now)
        else:
            assert dest.input is not None
            dest.input.arrive(lot)

    def scrap(self, masks: int) -> None:
        self.masks_scrapped += masks

    def delivered(self, channel: Channel, masks: int, lead_sum: float) -> None:
        self.masks_delivered += masks
        self.lead_time_sum += lead_sum

    def _snapshots(self) -> Generator[simpy.Event, Any, None]:
        """End-of-day levels: work in progress, stocks, held and moving masks.

        The horizon convention, one for the whole model: `env.run(until=horizon)` stops before any event due
        at exactly the horizon, so the world at the end is the state after every event strictly before it
        (what conservation walks). Days 0 .. n-2 are recorded here at their midnight; the last day is
        recorded by `run` once the clock has stopped, from that same final state (a timeout due at the
        horizon would never fire, leaving the last day at zero)."""
        for day in range(self.days - 1):
            yield self.env.timeout((day + 1) * HOURS_PER_DAY - self.env.now)
            self._record_day(day)

    def _record_day(self, day: int) -> None:
        daily = self.daily
        for i, (_, unit) in enumerate(self._units):
            daily["wip"][i, day] = self._unit_masks(unit)
        for i, (site_name, m) in enumerate(self.stock_keys):
            daily["stocks"][i, day] = self.sites[site_name].stocks[m].level
        for i, hub in enumerate(self.hubs.values()):
            daily["platform"][i, day] = hub.stock
        daily["held"][day] = sum(site.gate.masks_at_gate for site in self.sites.values() if site.gate is not None)
        daily["in_transit"][day] = self._in_transit()

    @staticmethod
    def _unit_masks(unit: StageUnit) -> int:
        total = unit.buffer.masks if unit.buffer is not None else 0
        for lot in (unit.current, unit.holding):
            if lot is not None:
                total += lot.masks
        return total

    def _in_transit(self) -> int:
        return sum(lane.in_transit for lane in self.lanes) + sum(ch.in_transit for ch in self.channels)

    def run(self) -> None:
        self.env.run(until=self.horizon_h)
        self._record_day(self.days - 1)  # see _snapshots: the last day's levels are the final state
        self.recorder.finish(self.horizon_h)
        if self.lab is not None:
            self.lab.finish(self.horizon_h)
        for hub in self.hubs.values():
            hub.finish(self.horizon_h)


def simulate(spec: RunSpec) -> RunResult:
    """Run one replication of one scenario; check conservation; return KPIs and tables."""
    from sim.results.run_tables import build_result

    started = time.perf_counter()
    scenario = Scenario.model_validate(spec.scenario)
    net = Network(scenario, Streams(spec.root_seed, spec.replication))
    net.run()
    from sim.conservation import check_conservation

    check_conservation(net)
    result = build_result(net, spec)
    result.wall_seconds = time.perf_counter() - started
    return result

