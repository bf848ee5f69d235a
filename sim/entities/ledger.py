"""The network's counters of masks, the one place processes add to them.

Processes are given this ledger, not the network: a stage counts the masks it starts, sewing what it sews,
inspection what it sees, rejects and lets escape, distribution what it delivers. Conservation compares
these counts with what a walk of every buffer, lane, gate and hub finds (sim.model.conservation).
"""

from __future__ import annotations

import numpy as np

from sim.timebase import HOURS_PER_DAY


class Ledger:
    def __init__(self, days: int, site_kinds: list[str]) -> None:
        self.days = days
        self.masks_started = 0
        self.masks_sewn = 0
        self.masks_scrapped = 0
        self.masks_reworked = 0
        self.masks_delivered = 0
        self.inspected_first_pass = 0
        self.rejected_first_pass = 0
        self.escaped_defects = 0
        self.lead_time_sum = 0.0  # Σ masks × (delivery time − cut time), hours
        self.sewn_by_kind = {kind: np.zeros(days) for kind in site_kinds}

    def start(self, masks: int) -> None:
        """Kits cut: masks enter the network."""
        self.masks_started += masks

    def sew(self, kind: str, t: float, masks: int) -> None:
        self.masks_sewn += masks
        day = int(t // HOURS_PER_DAY)
        if day < self.days:
            self.sewn_by_kind[kind][day] += masks

    def scrap(self, masks: int) -> None:
        self.masks_scrapped += masks

    def rework(self, masks: int) -> None:
        self.masks_reworked += masks

    def inspect(self, masks: int, rejected: int, escaped: int) -> None:
        """A first-pass inspection of `masks` masks: `rejected` counted as rejected, `escaped` defects
        accepted unseen."""
        self.inspected_first_pass += masks
        self.rejected_first_pass += rejected
        self.escaped_defects += escaped

    def deliver(self, masks: int, lead_sum: float) -> None:
        self.masks_delivered += masks
        self.lead_time_sum += lead_sum

    def sewn_daily(self) -> np.ndarray:
        return np.sum(list(self.sewn_by_kind.values()), axis=0)
