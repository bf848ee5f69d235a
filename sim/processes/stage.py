"""The one shape every production stage has: take a lot, hold the team for a drawn time, emit.

Cutting, sewing, inspection and packaging differ only in their work model: how long a lot takes and
what comes out (`plan`), and what is counted when it is done (`complete`). Work pauses outside shifts
by calendar arithmetic: a lot needing w working hours that starts at t ends at `calendar.finish(t, w)`,
one timeout, however many nights and holidays it spans.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import simpy

from sim.entities.lot import Lot
from sim.entities.site import Site, StageUnit
from sim.entities.workforce import Team, WorkPlan
from sim.metrics import BLOCKED, OFF_SHIFT, STARVED, WORKING
from sim.timebase import HOURS_PER_DAY

if TYPE_CHECKING:
    from sim.model import Network

NEXT, REWORK = 0, 1


class WorkModel(Protocol):
    def plan(self, lot: Lot, t: float) -> tuple[float, Any] | None:
        """(working hours, outcome) for `lot` started at t, or None if nobody can work that day."""

    def complete(self, lot: Lot, outcome: Any, t: float) -> list[tuple[Lot, int]]:
        """Count what the finished work produced; the lots to pass on, each to NEXT or REWORK."""


def run_stage(net: Network, site: Site, position: int, work: WorkModel) -> Generator[simpy.Event, Any, None]:
    # the hot loop of the model (one pass per lot per stage): attributes are read once into locals
    env = net.env
    unit: StageUnit = site.stages[position]
    track = unit.track
    track_set = track.set
    output = track.day_output
    days = track.days
    buffer = unit.buffer
    materials = unit.materials
    calendar = site.calendar
    finish_at = calendar.finish
    team = unit.team
    plan_of = work.plan
    complete = work.complete
    is_sew = unit.name == "sew"
    gate = site.gate if is_sew else None
    nxt = site.stages[position + 1].buffer if position + 1 < len(site.stages) else None
    last = position + 1 >= len(site.stages)
    # cutting makes lots of the size they are sewn in: the site's own or, at a cutting centre with adaptive
    # lots, the size of the destination its next lot would go to (0: ask the dispatcher each time)
    dispatcher = site.dispatcher
    adaptive_centre = net.s.lot_sizing is not None and site.stage("sew") is None and dispatcher is not None
    cut_size = 0 if adaptive_centre else (site.lot_size or net.lot_size)
    if site.start_h > env.now:
        yield env.timeout(site.start_h - env.now)
    track_set(STARVED, env.now)
    while True:
        if gate is not None and not gate.may_produce():
            track_set(BLOCKED, env.now)
            yield gate.wait_production()
        if buffer is not None:
            if not buffer.items:
                track_set(STARVED, env.now)
                yield buffer.wait_nonempty()
            lot = buffer.take()
            masks = lot.masks
            unit.current = lot  # in process from now on, even while waiting for materials
        else:
            lot = None
            masks = cut_size if cut_size else dispatcher.next_lot_size(env.now)  # type: ignore[union-attr]
        if materials:
            for stock, per_mask in materials:
                need = masks * per_mask
                while stock.level + 1e-9 < need:
                    track_set(STARVED, env.now)
                    yield stock.wait_delivery()
            for stock, per_mask in materials:
                stock.consume(masks * per_mask)
        unit.materials_used += masks
        now = env.now
        if lot is None:
            lot = Lot(masks, now, -1)
            net.masks_started += masks
        unit.current = lot
        plan = plan_of(lot, now)
        while plan is None:  # nobody at work today: sleep until someone is
            track_set(OFF_SHIFT, now)
            day = team.next_staffed_day(int(now // HOURS_PER_DAY) + 1)
            if day is None:
                return  # the lot stays in process to the horizon
            yield env.timeout(day * HOURS_PER_DAY - now)
            now = env.now
            plan = plan_of(lot, now)
        hours, outcome = plan
        if track.state != WORKING:
            track_set(WORKING, now)
        finish = finish_at(now, hours)
        if math.isinf(finish):
            return  # the calendar ends before this lot would: it stays in process
        yield env.timeout(finish - now)
        now = env.now
        results = complete(lot, outcome, now)
        day = int(now // HOURS_PER_DAY)  # output of the day (rework is not new output of sewing)
        if day < days:
            output[day] += lot.masks if not lot.rework or not is_sew else 0
        unit.current = None
        if len(results) > 1 or (results and results[0][1] == REWORK):
            for out, where in results:  # rework goes back at once, before anything may block
                if where == REWORK:
                    rework_unit = site.stage("sew")
                    assert rework_unit is not None and rework_unit.buffer is not None
                    rework_unit.buffer.put(out, front=True)
        for out, where in results:
            if where == REWORK:
                continue
            unit.holding = out
            if not last:
                assert nxt is not None
                while not nxt.has_space():
                    track_set(BLOCKED, env.now)
                    yield nxt.wait_space()
                nxt.put(out)
            else:
                yield from net.ship(site, out, track)
            unit.holding = None


class PlainWork:
    """Cutting and packaging: the team's time for the lot's masks, and the same lot passed on."""

    def __init__(self, team: Team, rng: np.random.Generator) -> None:
        self.team = team
        self.rng = rng

    def plan(self, lot: Lot, t: float) -> tuple[float, WorkPlan] | None:
        work = self.team.work(lot.masks, t, self.rng)
        return None if work is None else (work.hours, work)

    def complete(self, lot: Lot, work: WorkPlan, t: float) -> list[tuple[Lot, int]]:
        self.team.credit(work)
        return [(lot, NEXT)]
