"""Sewing: kits become masks. The team's learning sets the time and the defect probability; a rework
lot (defective masks sent back by inspection) takes the rework time per mask and teaches nothing."""

from __future__ import annotations

import numpy as np

from sim.entities.draws import GammaSums
from sim.entities.ledger import Ledger
from sim.entities.lot import Lot
from sim.entities.site import Site
from sim.entities.workforce import Team, WorkPlan
from sim.processes.certification import SiteGate
from sim.processes.planning import DayPlans
from sim.processes.stage import NEXT


class SewWork:
    def __init__(self, ledger: Ledger, site: Site, gate: SiteGate | None, team: Team, rework_min: float,
                 times: GammaSums, plans: DayPlans, quality_rng: np.random.Generator) -> None:
        self.ledger = ledger
        self.site = site
        self.gate = gate
        self.team = team
        self.rework_factor = rework_min / team.std_min
        self.times = times  # (the draws `plans` takes its lots' times from: a rework lot's too)
        self.plans = plans
        self.quality_rng = quality_rng

    def plan(self, lot: Lot, t: float) -> tuple[float, tuple[WorkPlan, int]] | None:
        if lot.rework:
            equivalent = max(1, round(lot.masks * self.rework_factor))
            work = self.team.work(equivalent, t, self.times, learn=False)
            return None if work is None else (work.hours, (work, 0))
        work = self.plans.work(lot.masks, t)
        if work is None:
            return None
        return work.hours, (work, int(self.quality_rng.binomial(lot.masks, work.defect_probability)))

    def complete(self, lot: Lot, outcome: tuple[WorkPlan, int], t: float) -> list[tuple[Lot, int]]:
        work, defects = outcome
        self.team.credit(work)
        lot.defects = defects
        if not lot.rework:
            lot.origin = self.site.index
            self.site.sewn += lot.masks
            self.ledger.sew(self.site.kind, t, lot.masks)
            gate = self.gate
            if gate is not None and gate.first_sample_h is None:  # (first_output acts on the first lot only)
                gate.first_output(t)
        return [(lot, NEXT)]
