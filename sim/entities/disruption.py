"""Disruption windows: periods during which a capacity (a supplier's, a lane's) is multiplied by a factor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sim.config import Window
from sim.timebase import hours_at


class Disruptions:
    def __init__(self, start: dt.date, windows: Iterable[Window]) -> None:
        self.windows = [(hours_at(start, w.start), hours_at(start, w.end), w.factor) for w in windows]

    def factor(self, t: float) -> float:
        """Capacity multiplier at time t (1.0 outside every window)."""
        return next((f for a, b, f in self.windows if a <= t < b), 1.0)

    def reopening(self, t: float) -> float:
        """t if open at t, else the end of the shut window(s) covering t."""
        while self.factor(t) == 0.0:
            t = next(b for a, b, f in self.windows if a <= t < b)
        return t
