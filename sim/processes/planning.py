"""A stage's lots of one day share one plan of the team's speed, defects and learning.

Planning a lot used to ask the team for its speed, defect rates and learning at every lot (some forty
Python calls a lot). A plan is made once for the masks in hand (the lot started and those waiting in the
stage's buffer, at most what the team makes in the rest of the day) and each lot it covers costs a gamma
draw: its time is the sum of its masks' times at the plan's speed. A plan lasts for its day and its masks;
the next lot after either is planned anew, with the learning credited by the lots finished since.
"""

from __future__ import annotations

from sim.entities.buffer import LotBuffer
from sim.entities.calendar import WorkCalendar
from sim.entities.draws import GammaSums
from sim.entities.lot import Lot
from sim.entities.workforce import RatePlan, Team, WorkPlan
from sim.timebase import HOURS_PER_DAY


class DayPlans:
    def __init__(self, team: Team, times: GammaSums, calendar: WorkCalendar, buffer: LotBuffer | None) -> None:
        self.team = team
        self.times = times
        self.calendar = calendar
        self.buffer = buffer
        self._plan: RatePlan | None = None
        self._left = 0.0  # masks the current plan still covers
        self._last_day = team.days - 1

    def work(self, masks: int, t: float) -> WorkPlan | None:
        """The lot's hours, defect probability and credits under the day's plan (None: nobody at work)."""
        plan = self._plan
        day = int(t // HOURS_PER_DAY)
        if day > self._last_day:
            day = self._last_day  # (min(day, last day), inline)
        if plan is None or plan.day != day or self._left < masks:
            plan = self._plan = self._new_plan(masks, t)
            if plan is None:
                return None
            self._left = plan.masks
        self._left -= masks
        return WorkPlan(self.times.gamma_sum(masks, 1.0 / plan.rate, self.team.cv), plan.defect_probability,
                        plan.credits, masks)

    def plan_lot(self, lot: Lot, t: float) -> tuple[float, WorkPlan] | None:
        """`work` for the lot's masks as a stage's `WorkModel.plan` (hours, the plan itself as the outcome):
        cutting's and packing's per-lot call."""
        plan = self.work(lot.masks, t)
        return None if plan is None else (plan.hours, plan)

    def _new_plan(self, masks: int, t: float) -> RatePlan | None:
        in_hand = masks + (self.buffer.masks if self.buffer is not None else 0)
        calendar = self.calendar
        next_day = int(t // HOURS_PER_DAY) + 1
        positions = calendar.day_positions  # (the position of 00:00 the next day, precomputed)
        day_end = positions[next_day] if next_day < len(positions) else calendar.position(next_day * HOURS_PER_DAY)
        hours_left = day_end - calendar.position(t)
        return self.team.rate_plan(t, masks, in_hand, hours_left)
