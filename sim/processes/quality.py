"""In-line inspection by single sampling (ISO 2859-1 style; the plans are config data, not code).

A lot of N masks with D defective (unknown to the inspectors) is sampled without replacement: n masks,
d defective among them (hypergeometric). d <= Ac accepts the lot (its defects escape); otherwise the
whole lot is sorted: every defective mask is found, a share is reworked at the sewing stage and the
rest scrapped (or, with on_reject: scrap, the whole lot is scrapped).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.config import QualitySpec
from sim.entities.lot import Lot
from sim.entities.workforce import Team
from sim.processes.stage import NEXT, REWORK

if TYPE_CHECKING:
    from sim.model import Network


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    inspected: int


def sampling_plan(spec: QualitySpec, lot_size: int) -> tuple[int, int]:
    """(sample size, acceptance number) for a lot of `lot_size` (the last plan covers larger lots)."""
    sizes = [p.max_lot for p in spec.sampling_plans]
    plan = spec.sampling_plans[min(bisect.bisect_left(sizes, lot_size), len(sizes) - 1)]
    return min(plan.sample, lot_size), plan.accept


def judge(rng: np.random.Generator, lot_size: int, defects: int, sample: int, accept: int) -> bool:
    """True if the sample of `sample` masks from the lot holds at most `accept` defective ones."""
    if defects == 0:
        return True
    found = rng.hypergeometric(defects, lot_size - defects, sample)
    return bool(found <= accept)


class InspectWork:
    def __init__(self, net: Network, spec: QualitySpec, team: Team, rng: np.random.Generator) -> None:
        self.net = net
        self.spec = spec
        self.team = team
        self.rng = rng
        self._plans: dict[int, tuple[int, int]] = {}  # sampling plan by lot size (lots mostly share one size)

    def plan(self, lot: Lot, t: float) -> tuple[float, Verdict] | None:
        plan = self._plans.get(lot.masks)
        if plan is None:
            plan = self._plans[lot.masks] = sampling_plan(self.spec, lot.masks)
        sample, accept = plan
        accepted = lot.rework or judge(self.rng, lot.masks, lot.defects, sample, accept)
        inspected = sample if accepted else lot.masks
        work = self.team.work(inspected, t, self.rng)
        return None if work is None else (work[0], Verdict(accepted, inspected))

    def complete(self, lot: Lot, verdict: Verdict, t: float) -> list[tuple[Lot, int]]:
        net = self.net
        if not lot.rework:
            net.inspected_first_pass += lot.masks
        if verdict.accepted:
            if not lot.rework:
                net.escaped_defects += lot.defects
            return [(lot, NEXT)]
        if not lot.rework:
            net.rejected_first_pass += lot.defects if self.spec.on_reject == "sort" else lot.masks
        if self.spec.on_reject == "scrap":
            net.scrap(lot.masks)
            return []
        defective = lot.defects
        reworked = int(self.rng.binomial(defective, self.spec.rework_share))
        net.scrap(defective - reworked)
        net.masks_reworked += reworked
        out: list[tuple[Lot, int]] = []
        good = lot.masks - defective
        if good > 0:
            lot.masks, lot.defects = good, 0
            out.append((lot, NEXT))
        if reworked > 0:
            out.append((Lot(reworked, lot.cut_time, lot.origin, 0, rework=True), REWORK))
        return out
