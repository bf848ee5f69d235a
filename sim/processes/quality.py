"""In-line inspection by single sampling (ISO 2859-1 style; the plans are config data, not code).

A lot of N masks with D defective (unknown to the inspectors) is sampled without replacement: n masks,
d defective among them (hypergeometric). d <= Ac accepts the lot (its defects escape); otherwise the
whole lot is sorted: every defective mask is found, a share is reworked at the sewing stage and the
rest scrapped (or, with on_reject: scrap, the whole lot is scrapped).

Randomness: one stream per purpose (service times, verdicts, rework), and exactly one verdict draw per
lot, defects or not (a uniform compared with the plan's acceptance probability): a scenario that changes
sewing quality changes verdicts, never the draws of the inspection times or of later verdicts, so
scenarios stay paired under common random numbers.
"""

from __future__ import annotations

import bisect
import functools
import math
from typing import NamedTuple

import numpy as np

from sim.config import QualitySpec
from sim.entities.ledger import Ledger
from sim.entities.lot import Lot
from sim.entities.workforce import Team, WorkPlan
from sim.processes.planning import DayPlans
from sim.processes.stage import NEXT, REWORK


class Verdict(NamedTuple):  # (a named tuple: made once per inspected lot, cheaper than a frozen dataclass)
    accepted: bool
    inspected: int
    work: WorkPlan


def sampling_plan(spec: QualitySpec, lot_size: int) -> tuple[int, int]:
    """(sample size, acceptance number) for a lot of `lot_size` (the last plan covers larger lots)."""
    sizes = [p.max_lot for p in spec.sampling_plans]
    plan = spec.sampling_plans[min(bisect.bisect_left(sizes, lot_size), len(sizes) - 1)]
    return min(plan.sample, lot_size), plan.accept


@functools.lru_cache(maxsize=4096)  # a pure function of a few recurring integers, asked once per inspected lot
def acceptance_probability(lot_size: int, defects: int, sample: int, accept: int) -> float:
    """P(a sample of `sample` masks drawn without replacement holds at most `accept` of the `defects`
    defective ones): the hypergeometric distribution function, exact in integers."""
    if defects <= accept:
        return 1.0
    ways = sum(math.comb(defects, k) * math.comb(lot_size - defects, sample - k) for k in range(accept + 1))
    return ways / math.comb(lot_size, sample)


def judge(rng: np.random.Generator, lot_size: int, defects: int, sample: int, accept: int) -> bool:
    """True if the sample of `sample` masks from the lot holds at most `accept` defective ones. Exactly one
    uniform per lot, whatever its defects (see the module docstring)."""
    u = rng.random()
    return bool(u < acceptance_probability(lot_size, defects, sample, accept))


class InspectWork:
    def __init__(self, ledger: Ledger, spec: QualitySpec, team: Team, plans: DayPlans,
                 verdict_rng: np.random.Generator, rework_rng: np.random.Generator) -> None:
        self.ledger = ledger
        self.spec = spec
        self.team = team
        self.plans = plans
        self.verdict_rng = verdict_rng
        self.rework_rng = rework_rng
        self._plans: dict[int, tuple[int, int]] = {}  # sampling plan by lot size (lots mostly share one size)

    def plan(self, lot: Lot, t: float) -> tuple[float, Verdict] | None:
        plan = self._plans.get(lot.masks)
        if plan is None:
            plan = self._plans[lot.masks] = sampling_plan(self.spec, lot.masks)
        sample, accept = plan
        accepted = lot.rework or judge(self.verdict_rng, lot.masks, lot.defects, sample, accept)
        inspected = sample if accepted else lot.masks
        work = self.plans.work(inspected, t)
        return None if work is None else (work.hours, Verdict(accepted, inspected, work))

    def complete(self, lot: Lot, verdict: Verdict, t: float) -> list[tuple[Lot, int]]:
        ledger = self.ledger
        self.team.credit(verdict.work)
        if verdict.accepted:
            if not lot.rework:
                ledger.inspect(lot.masks, rejected=0, escaped=lot.defects)
            return [(lot, NEXT)]
        if not lot.rework:
            rejected = lot.defects if self.spec.on_reject == "sort" else lot.masks
            ledger.inspect(lot.masks, rejected=rejected, escaped=0)
        if self.spec.on_reject == "scrap":
            ledger.scrap(lot.masks)
            return []
        defective = lot.defects
        reworked = int(self.rework_rng.binomial(defective, self.spec.rework_share))
        ledger.scrap(defective - reworked)
        ledger.rework(reworked)
        out: list[tuple[Lot, int]] = []
        good = lot.masks - defective
        if good > 0:
            lot.masks, lot.defects = good, 0
            out.append((lot, NEXT))
        if reworked > 0:
            out.append((Lot(reworked, lot.cut_time, lot.origin, 0, rework=True), REWORK))
        return out
