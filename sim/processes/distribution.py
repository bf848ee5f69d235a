"""Distribution: once a day each hub allocates its stock to the open orders of its channels by the
configured policy, and ships each allocation over the last mile (a drawn transit time)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

from sim.allocation import Demand
from sim.entities.demand import Channel, Hub, Order
from sim.entities.ledger import Ledger
from sim.timebase import HOURS_PER_DAY

Policy = Callable[[int, list[Demand]], dict[int, int]]


class Distribution:
    def __init__(self, env: simpy.Environment, ledger: Ledger, horizon_h: float, hub: Hub, policy: Policy,
                 hour: float, transit: dict[int, Any], cancel_h: dict[int, float], rng: np.random.Generator) -> None:
        self.env = env
        self.ledger = ledger
        self.horizon_h = horizon_h
        self.hub = hub
        self.policy = policy
        self.hour = hour
        self.transit = transit
        self.cancel_h = cancel_h
        self.rng = rng
        self.orders: list[Order] = sorted((o for ch in hub.channels for o in ch.orders),
                                          key=lambda o: (o.placed_h, o.order_id))
        self.channels = {ch.index: ch for ch in hub.channels}
        env.process(self._run())

    def _run(self) -> Generator[simpy.Event, Any, None]:
        env = self.env
        t = self.hour
        while t < self.horizon_h:
            yield env.timeout(t - env.now)
            self._allocate(env.now)
            t += HOURS_PER_DAY

    def _allocate(self, now: float) -> None:
        open_orders: list[Order] = []
        for order in self.orders:
            if order.placed_h > now:
                break
            if order.open_qty <= 0:
                continue
            if self.cancel_h.get(order.channel, float("inf")) <= now:
                order.cancelled += order.open_qty
                continue
            open_orders.append(order)
        if not open_orders or self.hub.stock <= 0:
            return
        demands = [Demand(o.order_id, self.channels[o.channel].name, o.open_qty, self.channels[o.channel].priority,
                          o.placed_h, self.channels[o.channel].free) for o in open_orders]
        allocation = self.policy(self.hub.stock, demands)
        by_id = {o.order_id: o for o in open_orders}
        for order_id in sorted(allocation):
            masks = allocation[order_id]
            if masks <= 0:
                continue
            order = by_id[order_id]
            order.allocated += masks
            cut_sum = self.hub.take(masks, now)
            channel = self.channels[order.channel]
            channel.in_transit += masks
            delay = float(self.transit[order.channel].sample(self.rng)) * HOURS_PER_DAY
            event = self.env.timeout(delay)
            event.callbacks.append(lambda _e, c=channel, o=order, q=masks, s=cut_sum: self._deliver(c, o, q, s))

    def _deliver(self, channel: Channel, order: Order, masks: int, cut_sum: float) -> None:
        now = self.env.now
        channel.in_transit -= masks
        order.delivered += masks
        day = int(now // HOURS_PER_DAY)
        if day < channel.days:
            channel.delivered_by_day[day] += masks
        channel.late_masks.append((masks, max(0.0, now - order.due_h) / HOURS_PER_DAY))
        self.ledger.deliver(masks, masks * now - cut_sum)
