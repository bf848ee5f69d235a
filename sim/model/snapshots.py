"""End-of-day levels of the network: work in progress per stage, material stocks, platform stock, masks
held at certification gates and masks moving (lanes and last mile)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

from sim.entities.demand import Hub
from sim.entities.site import Site, StageUnit
from sim.processes.certification import SiteGate
from sim.timebase import HOURS_PER_DAY


class DailySnapshots:
    """Records the levels at each day's end into `daily` (arrays of one column per day).

    The horizon convention, one for the whole model: `env.run(until=horizon)` stops before any event due
    at exactly the horizon, so the world at the end is the state after every event strictly before it
    (what conservation walks). Days 0 .. n-2 are recorded by a process at their midnight; the last day is
    recorded by `record_last_day` once the clock has stopped, from that same final state (a timeout due at
    the horizon would never fire, leaving the last day at zero)."""

    def __init__(self, env: simpy.Environment, days: int, sites: dict[str, Site], hubs: dict[str, Hub],
                 gates: dict[str, SiteGate], in_transit: Callable[[], int]) -> None:
        self.env = env
        self.days = days
        self.units: list[tuple[Site, StageUnit]] = [(site, unit) for site in sites.values() for unit in site.stages]
        self.stock_keys = [(site.name, m) for site in sites.values() for m in site.stocks]
        self._stocks = [sites[name].stocks[m] for name, m in self.stock_keys]
        self._hubs = list(hubs.values())
        self._gates = [gates[name] for name in sites if name in gates]  # in site order
        self._in_transit = in_transit
        self.daily: dict[str, np.ndarray] = {
            "wip": np.zeros((len(self.units), days)), "stocks": np.zeros((len(self.stock_keys), days)),
            "platform": np.zeros((len(hubs), days)), "held": np.zeros(days), "in_transit": np.zeros(days)}
        env.process(self._run())

    def _run(self) -> Generator[simpy.Event, Any, None]:
        for day in range(self.days - 1):
            yield self.env.timeout((day + 1) * HOURS_PER_DAY - self.env.now)
            self.record(day)

    def record(self, day: int) -> None:
        daily = self.daily
        for i, (_, unit) in enumerate(self.units):
            daily["wip"][i, day] = unit.wip_masks()
        for i, stock in enumerate(self._stocks):
            daily["stocks"][i, day] = stock.level
        for i, hub in enumerate(self._hubs):
            daily["platform"][i, day] = hub.stock
        daily["held"][day] = sum(gate.masks_at_gate for gate in self._gates)
        daily["in_transit"][day] = self._in_transit()

    def record_last_day(self) -> None:
        self.record(self.days - 1)

    def series(self, hub_names: list[str]) -> list[tuple[str, str, np.ndarray]]:
        """Rows of the series table: (series, key, values per day)."""
        rows = [("stock", f"{site}:{material}", self.daily["stocks"][i]) for i, (site, material)
                in enumerate(self.stock_keys)]
        rows += [("platform_stock", hub, self.daily["platform"][i]) for i, hub in enumerate(hub_names)]
        rows.append(("held", "all", self.daily["held"]))
        rows.append(("in_transit", "all", self.daily["in_transit"]))
        return rows
