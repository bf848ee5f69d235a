"""The one shape every production stage has: take a lot, hold the team for a drawn time, emit.

Cutting, sewing, inspection and packaging differ only in their work model: how long a lot takes and
what comes out (`plan`), and what is counted when it is done (`complete`), and in their role (`StageRole`):
whether the stage starts lots from materials or takes them from its buffer, waits for a certification
gate, sends rework back, and where its output goes. Work pauses outside shifts by calendar arithmetic: a
lot needing w working hours that starts at t ends at `calendar.finish(t, w)`, one timeout, however many
nights and holidays it spans.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import simpy

from sim.entities.buffer import TOLERANCE, LotBuffer
from sim.entities.calendar import WorkCalendar
from sim.entities.ledger import Ledger
from sim.entities.lot import Lot
from sim.entities.site import StageUnit
from sim.entities.workforce import Team, WorkPlan
from sim.metrics import BLOCKED, OFF_SHIFT, STARVED, WORKING, StageTrack
from sim.processes.certification import SiteGate
from sim.processes.planning import DayPlans
from sim.timebase import HOURS_PER_DAY

NEXT, REWORK = 0, 1

Ship = Callable[[Lot, StageTrack | None], Iterable[simpy.Event]]
"""A site's outlet: sends a finished lot on (through its certification gate and dispatcher); the stage yields
from what it returns (nothing to wait for, or a wait until the lot could leave)."""


class WorkModel(Protocol):
    def plan(self, lot: Lot, t: float) -> tuple[float, Any] | None:
        """(working hours, outcome) for `lot` started at t, or None if nobody can work that day."""

    def complete(self, lot: Lot, outcome: Any, t: float) -> list[tuple[Lot, int]]:
        """Count what the finished work produced; the lots to pass on, each to NEXT or REWORK."""


@dataclass
class StageRole:
    """What a stage does besides the common shape (set by the builder from the stage's kind)."""

    calendar: WorkCalendar
    start_h: float  # the site opens
    downstream: LotBuffer | None  # the next stage's buffer; None: the last stage ships through `ship`
    ship: Ship | None = None
    starts_lots: bool = False  # cutting: makes new lots from materials instead of taking them from a buffer
    lot_size: int = 0  # size of the lots it starts (0: ask `next_lot_size`, the adaptive cutting centre)
    next_lot_size: Callable[[float], int] | None = None
    gate: SiteGate | None = None  # production waits for this certification gate (sewing)
    rework_to: LotBuffer | None = None  # where lots sent back for rework go (inspection: sewing's buffer)
    rework_is_output: bool = True  # False where rework is not new output (sewing)


def run_stage(env: simpy.Environment, ledger: Ledger, unit: StageUnit, role: StageRole, work: WorkModel
              ) -> Generator[simpy.Event, Any, None]:
    # the hot loop of the model (one pass per lot per stage): attributes are read once into locals
    track = unit.track
    track_set = track.set
    output = track.day_output
    days = track.days
    buffer = unit.buffer
    materials = unit.materials
    finish_at = role.calendar.finish
    team = unit.team
    plan_of = work.plan
    complete = work.complete
    rework_is_output = role.rework_is_output
    gate = role.gate
    nxt = role.downstream
    ship = role.ship
    last = nxt is None
    cut_size = role.lot_size
    next_lot_size = role.next_lot_size
    starts_lots = role.starts_lots
    put = nxt.try_put if nxt is not None else None
    inf = math.inf
    if role.start_h > env.now:
        yield env.timeout(role.start_h - env.now)
    track_set(STARVED, env.now)
    while True:
        if gate is not None and not gate.may_produce():
            track_set(BLOCKED, env.now)
            yield gate.wait_production()
        if not starts_lots:
            assert buffer is not None
            if not buffer.items:
                track_set(STARVED, env.now)
                yield buffer.wait_nonempty()
            lot = buffer.take()
            masks = lot.masks
            unit.current = lot  # in process from now on, even while waiting for materials
        else:
            lot = None
            masks = cut_size if cut_size else next_lot_size(env.now)  # type: ignore[misc]
        if materials:
            for stock, per_mask in materials:
                need = masks * per_mask
                while stock.level + TOLERANCE < need:  # (not stock.holds(need), inline: the hot loop)
                    track_set(STARVED, env.now)
                    yield stock.wait_delivery()
            for stock, per_mask in materials:
                stock.consume(masks * per_mask)
        unit.materials_used += masks
        now = env._now  # (env.now without its property call: the hot loop)
        if lot is None:
            lot = Lot(masks, now, -1)
            ledger.start(masks)
            unit.current = lot  # (a lot taken from the buffer is current since it was taken)
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
        if finish == inf:
            return  # the calendar ends before this lot would: it stays in process
        yield env.timeout(finish - now)
        now = env._now
        results = complete(lot, outcome, now)
        day = int(now // HOURS_PER_DAY)  # output of the day
        if day < days:
            output[day] += lot.masks if rework_is_output or not lot.rework else 0
        unit.current = None
        if len(results) > 1 or (results and results[0][1] == REWORK):
            for out, where in results:  # rework goes back at once, before anything may block
                if where == REWORK:
                    assert role.rework_to is not None, "a stage sent rework back but has nowhere to send it"
                    role.rework_to.readmit(out)
        for out, where in results:
            if where == REWORK:
                continue
            unit.holding = out
            if not last:
                assert nxt is not None and put is not None
                while not put(out):  # (has_space() and put() in one call)
                    track_set(BLOCKED, env.now)
                    yield nxt.wait_space()
            else:
                yield from ship(out, track)  # type: ignore[misc]
            unit.holding = None


class PlainWork:
    """Cutting and packaging: the team's time for the lot's masks, and the same lot passed on."""

    def __init__(self, team: Team, plans: DayPlans) -> None:
        self.team = team
        self.plans = plans
        # the lot's (hours, plan) under the day's plan: the day plans' own method, called by the stage directly
        self.plan: Callable[[Lot, float], tuple[float, WorkPlan] | None] = plans.plan_lot

    def complete(self, lot: Lot, work: WorkPlan, t: float) -> list[tuple[Lot, int]]:
        self.team.credit(work)
        return [(lot, NEXT)]
