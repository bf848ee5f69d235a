"""A production site: its stages in order, their buffers and teams, and its material stocks.

A site is state only: the processes that work its stages, hold its output at the certification gate
and dispatch it are built beside it (sim.model), not stored in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.entities.buffer import LotBuffer, MaterialStock
from sim.entities.calendar import WorkCalendar
from sim.entities.lot import Lot
from sim.entities.workforce import Team
from sim.metrics import BLOCKED, STARVED, WORKING, StageTrack


@dataclass
class StageUnit:
    """One stage (cut, sew, inspect or pack) at one site."""

    name: str
    team: Team
    track: StageTrack
    buffer: LotBuffer | None  # None for cutting, which draws on material stocks instead
    materials: list[tuple[MaterialStock, float]] = field(default_factory=list)  # (stock, per mask)
    current: Lot | None = None  # the lot being worked on (for conservation and WIP)
    holding: Lot | None = None  # a finished lot waiting for room downstream
    materials_used: float = 0.0  # masks for which this stage drew its materials

    def wip_masks(self) -> int:
        """Masks at this stage: waiting in its buffer, in process, or finished and waiting for room."""
        total = self.buffer.masks if self.buffer is not None else 0
        for lot in (self.current, self.holding):
            if lot is not None:
                total += lot.masks
        return total

    def in_process_masks(self) -> int:
        return sum(lot.masks for lot in (self.current, self.holding) if lot is not None)

    def working_and_down(self, hours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per day, from the track's state hours (days x states): hours working, and hours the stage was
        scheduled but its machines were down (taken out of working, in proportion to the machines down)."""
        working = hours[:, WORKING].copy()
        team = self.team
        if team.machines is None:
            return working, np.zeros(len(hours))
        frac = np.clip(1.0 - team.machines_up / team.machines, 0.0, 1.0)
        scheduled = hours[:, WORKING] + hours[:, STARVED] + hours[:, BLOCKED]
        down = np.minimum(working, scheduled * frac)
        return working - down, down

    def capacity(self, hours: np.ndarray, days: int) -> tuple[np.ndarray, ...]:
        """Per day: nominal person-hours, hours lost to absence, hours lost to machines down, people present
        (`hours`: the site's working hours per day)."""
        team = self.team
        size = np.zeros(days)
        present = np.zeros(days)
        for c in team.cohorts:
            started = np.arange(days) >= c.start_day
            size += c.size * started
            present += c.present
        lost_break = np.zeros(days)
        if team.machines is not None:
            lost_break = np.maximum(0.0, present - team.machines_up) * hours
        return size * hours, (size - present) * hours, lost_break, present


@dataclass
class Site:
    index: int
    name: str
    kind: str
    region: str
    start_h: float
    calendar: WorkCalendar
    stages: list[StageUnit]
    stocks: dict[str, MaterialStock]
    cover_days: float
    sewn: float = 0.0
    lot_size: int = 0  # masks per lot sewn here (with adaptive lots, per site; see sim.model.builder)

    @property
    def input(self) -> LotBuffer | None:
        return self.stages[0].buffer if self.stages else None

    def stage(self, name: str) -> StageUnit | None:
        return next((s for s in self.stages if s.name == name), None)

    def receive(self, lot: Lot, t: float) -> None:
        """A lot dispatched here arrives at the site's first stage."""
        buffer = self.stages[0].buffer if self.stages else None  # (self.input, read once)
        assert buffer is not None, f"{self.name} receives lots but its first stage has no input buffer"
        buffer.arrive(lot)

    def daily_consumption(self, stage: str, per_mask: float) -> float:
        unit = self.stage(stage)
        if unit is None:
            return 0.0
        hours_per_day = float(self.calendar.hours_per_day.mean()) if len(self.calendar.hours_per_day) else 0.0
        return unit.team.nominal_rate * hours_per_day * per_mask
