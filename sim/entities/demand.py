"""Hubs (logistics platforms), channels and their order books."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from sim.entities.lot import Lot
from sim.timebase import HOURS_PER_DAY


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

    def kpis(self, horizon_h: float) -> dict[str, float]:
        """Delivered, fill rate (of what was ordered by the horizon), on-time share (of what was due by the
        horizon) and lateness of this channel's deliveries."""
        k: dict[str, float] = {}
        ordered = sum(o.masks for o in self.orders if o.placed_h < horizon_h)
        due = [o for o in self.orders if o.due_h <= horizon_h]
        delivered = float(self.delivered_by_day.sum())
        k[f"delivered.channel.{self.name}"] = delivered
        k[f"fill_rate.{self.name}"] = delivered / ordered if ordered else float("nan")
        due_masks = sum(o.masks for o in due)
        late = np.asarray(self.late_masks, dtype=float).reshape(-1, 2)
        on_time_masks = late[late[:, 1] <= 0.0, 0].sum()
        k[f"on_time.{self.name}"] = min(1.0, on_time_masks / due_masks) if due_masks else float("nan")
        if len(late) and late[:, 0].sum() > 0:
            k[f"mean_days_late.{self.name}"] = float(np.average(late[:, 1], weights=late[:, 0]))
            k[f"p95_days_late.{self.name}"] = weighted_quantile(late[:, 1], late[:, 0], 0.95)
        else:
            k[f"mean_days_late.{self.name}"] = float("nan")
            k[f"p95_days_late.{self.name}"] = float("nan")
        return k


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, q * cum[-1])])


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
        """Remove `masks` first in, first out; returns Σ cut time over the masks taken (for lead times).
        Taking more than the stock holds is an error."""
        if masks > self.stock:
            raise ValueError(f"hub {self.name}: take of {masks} masks with {self.stock} in stock")
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


def platform_kpis(hubs: list[Hub], horizon_h: float) -> dict[str, float]:
    """Stock at the end, time-average stock, throughput and mean days in stock over every platform."""
    k: dict[str, float] = {}
    k["platform_stock_end"] = float(sum(h.stock for h in hubs))
    shipped = sum(h.shipped for h in hubs)
    k["platform_mean_stock"] = float(sum(h.stock_integral for h in hubs) / horizon_h)
    k["platform_throughput_per_day"] = float(shipped / (horizon_h / HOURS_PER_DAY))
    k["platform_mean_days_in_stock"] = (float(sum(h.time_in_stock_sum for h in hubs) / shipped / HOURS_PER_DAY)
                                        if shipped else float("nan"))
    return k
