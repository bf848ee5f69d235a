"""A production site: its stages in order, their buffers and teams, its material stocks and its
certification gate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sim.entities.buffer import LotBuffer, MaterialStock
from sim.entities.calendar import WorkCalendar
from sim.entities.lot import Lot
from sim.entities.workforce import Team
from sim.metrics import StageTrack

if TYPE_CHECKING:
    from sim.processes.certification import SiteGate
    from sim.processes.transport import Dispatcher


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
    gate: SiteGate | None = None
    dispatcher: Dispatcher | None = None
    sewn: float = 0.0
    lot_size: int = 0  # masks per lot sewn here (with adaptive lots, per site; see Network._site_lot_size)

    @property
    def input(self) -> LotBuffer | None:
        return self.stages[0].buffer if self.stages else None

    def stage(self, name: str) -> StageUnit | None:
        return next((s for s in self.stages if s.name == name), None)

    def daily_consumption(self, stage: str, per_mask: float) -> float:
        unit = self.stage(stage)
        if unit is None:
            return 0.0
        hours_per_day = float(self.calendar.hours_per_day.mean()) if len(self.calendar.hours_per_day) else 0.0
        return unit.team.nominal_rate * hours_per_day * per_mask
