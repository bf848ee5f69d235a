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
    env = net.env
    unit: StageUnit = site.stages[position]
    track = unit.track
    buffer = unit.buffer
    calendar = site.calendar
    team = unit.team
    gate = site.gate if unit.name == "sew" else None
    if site.start_h > env.now:
        yield env.timeout(site.start_h - env.now)
    track.set(STARVED, env.now)
    while True:
        if gate is not None and not gate.may_produce():
            track.set(BLOCKED, env.now)
            yield gate.wait_production()
        if buffer is not None:
            if not buffer.items:
                track.set(STARVED, env.now)
                yield buffer.wait_nonempty()
            lot = buffer.take()
            masks = lot.masks
            unit.current = lot  # in process from now on, even while waiting for materials
        else:
            lot = None
            masks = net.lot_size
        for stock, per_mask in unit.materials:
            need = masks * per_mask
            while stock.level + 1e-9 < need:
                track.set(STARVED, env.now)
                yield stock.wait_delivery()
        for stock, per_mask in unit.materials:
            stock.consume(masks * per_mask)
        unit.materials_used += masks
        if lot is None:
            lot = Lot(masks, env.now, -1)
            net.masks_started += masks
        unit.current = lot
        plan = work.plan(lot, env.now)
        while plan is None:  # nobody at work today: sleep until someone is
            track.set(OFF_SHIFT, env.now)
            day = team.next_staffed_day(int(env.now // HOURS_PER_DAY) + 1)
            if day is None:
                return  # the lot stays in process to the horizon
            yield env.timeout(day * HOURS_PER_DAY - env.now)
            plan = work.plan(lot, env.now)
        hours, outcome = plan
        track.set(WORKING, env.now)
        finish = calendar.finish(env.now, hours)
        if math.isinf(finish):
            return  # the calendar ends before this lot would: it stays in process
        yield env.timeout(finish - env.now)
        results = work.complete(lot, outcome, env.now)
        track.add_output(env.now, lot.masks if not lot.rework or unit.name != "sew" else 0)
        unit.current = None
        for out, where in results:  # rework goes back at once, before anything may block
            if where == REWORK:
                rework_unit = site.stage("sew")
                assert rework_unit is not None and rework_unit.buffer is not None
                rework_unit.buffer.put(out, front=True)
        for out, where in results:
            if where == REWORK:
                continue
            unit.holding = out
            if position + 1 < len(site.stages):
                nxt = site.stages[position + 1].buffer
                assert nxt is not None
                while not nxt.has_space():
                    track.set(BLOCKED, env.now)
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
