"""Material supply by periodic review: every `review_days` a supplier looks at what its customer sites
need by their stock policies (sim.processes.stock_policy; by default, to get back to their order-up-to
level: cover_days of nominal consumption, less stock and what is already on order), ships what its
capacity, fill rate and disruptions allow, shared in proportion to need, and each shipment arrives after
a drawn lead time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from sim.config import StockPolicySpec, SupplierSpec
from sim.entities.buffer import MaterialStock
from sim.entities.disruption import Disruptions
from sim.entities.site import Site
from sim.metrics import STARVED, WORKING, StageTrack
from sim.processes.stock_policy import stock_rule
from sim.timebase import HOURS_PER_DAY


class Supplier:
    def __init__(self, env: simpy.Environment, start: dt.date, horizon_h: float, name: str, spec: SupplierSpec,
                 customers: list[Site], per_mask: float, stage: str, capacity_per_day: np.ndarray,
                 rng: np.random.Generator, track: StageTrack,
                 policies: list[StockPolicySpec | None] | None = None) -> None:
        self.env = env
        self.horizon_h = horizon_h
        self.name = name
        self.spec = spec
        self.customers = customers
        self.stocks: list[MaterialStock] = [site.stocks[spec.material] for site in customers]
        policies = policies or [None] * len(customers)  # None: order up to the site's cover_days
        self.rules = [stock_rule(policy, site.cover_days, site.daily_consumption(stage, per_mask),
                                 spec.lead_time_days, spec.review_days)
                      for site, policy in zip(customers, policies, strict=True)]
        self.capacity_per_day = capacity_per_day
        self.lead_mean_h = spec.lead_time_days.mean * HOURS_PER_DAY
        self.rng = rng
        self.track = track
        self.shipped = 0.0
        self.in_transit = 0.0
        self.disruptions = Disruptions(start, spec.disruptions)
        env.process(self._run())

    def _run(self) -> Generator[simpy.Event, Any, None]:
        env = self.env
        period_h = self.spec.review_days * HOURS_PER_DAY
        while env.now < self.horizon_h:
            day = min(int(env.now // HOURS_PER_DAY), len(self.capacity_per_day) - 1)
            capacity = float(self.capacity_per_day[day]) * self.spec.review_days * self.disruptions.factor(env.now)
            horizon = env.now + self.lead_mean_h + period_h
            needs = [rule.need(stock.level, stock.on_order) if site.start_h <= horizon else 0.0
                     for site, stock, rule in zip(self.customers, self.stocks, self.rules, strict=True)]
            wanted = sum(needs) * self.spec.fill_rate
            if wanted > 0:
                ship = min(capacity, wanted)
                for stock, need in zip(self.stocks, needs, strict=True):
                    if need > 0:
                        self._send(stock, ship * need / sum(needs))
            self.track.set(WORKING if wanted > capacity else STARVED, env.now)
            yield env.timeout(period_h)

    def _send(self, stock: MaterialStock, quantity: float) -> None:
        stock.on_order += quantity
        self.shipped += quantity
        self.in_transit += quantity
        lead = float(self.spec.lead_time_days.sample(self.rng)) * HOURS_PER_DAY
        event = self.env.timeout(lead)
        event.callbacks.append(lambda _e: self._deliver(stock, quantity))

    def _deliver(self, stock: MaterialStock, quantity: float) -> None:
        self.in_transit -= quantity
        stock.receive(quantity)


def schedule_array(value: float | list[tuple[Any, float]], start: Any, days: int) -> np.ndarray:
    """A constant or piecewise-constant [[date, value], ...] schedule as one value per day."""
    out = np.zeros(days)
    if isinstance(value, int | float):
        out[:] = value
        return out
    for date, v in value:
        first = max(0, (date - start).days)
        out[first:] = v
    return out
