"""Hubs (logistics platforms), channels and their order books."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from sim.entities.lot import Lot


@dataclass
class Order:
    order_id: int
    channel: int
    placed_h: float
    due_h: float
    masks: int
    delivered: int = 0
    allocated: int = 0
    cancelled: int = 0

    @property
    def open_qty(self) -> int:
        return self.masks - self.allocated - self.cancelled


@dataclass
class Channel:
    index: int
    name: str
    price: float
    priority: int
    free: bool
    days: int
    orders: list[Order] = field(default_factory=list)
    delivered_by_day: np.ndarray = field(default=None)  # type: ignore[assignment]
    ordered_by_day: np.ndarray = field(default=None)  # type: ignore[assignment]
    late_masks: list[tuple[int, float]] = field(default_factory=list)  # (masks, days late >= 0)
    in_transit: int = 0

    def __post_init__(self) -> None:
        self.delivered_by_day = np.zeros(self.days)
        self.ordered_by_day = np.zeros(self.days)


class Hub:
    """A platform: FIFO stock of received masks, each batch remembering when it was cut and arrived."""

    def __init__(self, index: int, name: str, region: str) -> None:
        self.index = index
        self.name = name
        self.region = region
        self.batches: deque[list[float]] = deque()  # [masks, cut time, arrival time]
        self.stock = 0
        self.received = 0
        self.shipped = 0
        self.stock_integral = 0.0  # ∫ stock dt, for the time-average (Little's law)
        self.time_in_stock_sum = 0.0  # Σ masks × time in stock, over shipped masks
        self._last_t = 0.0
        self.channels: list[Channel] = []

    def _integrate(self, t: float) -> None:
        self.stock_integral += self.stock * (t - self._last_t)
        self._last_t = t

    def receive(self, lot: Lot, t: float) -> None:
        self._integrate(t)
        self.batches.append([lot.masks, lot.cut_time, t])
        self.stock += lot.masks
        self.received += lot.masks

    def take(self, masks: int, t: float) -> float:
        """Remove `masks` first in, first out; returns Σ cut time over the masks taken (for lead times)."""
        self._integrate(t)
        cut_sum = 0.0
        left = masks
        while left > 0:
            batch = self.batches[0]
            q = min(left, int(batch[0]))
            cut_sum += q * batch[1]
            self.time_in_stock_sum += q * (t - batch[2])
            batch[0] -= q
            left -= q
            if batch[0] <= 0:
                self.batches.popleft()
        self.stock -= masks
        self.shipped += masks
        return cut_sum

    def finish(self, t: float) -> None:
        self._integrate(t)
