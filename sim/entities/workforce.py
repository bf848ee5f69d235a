"""A stage's team: cohorts of people who learn, are absent some days and share machines that break down.

A team works a lot together (the lot's masks are split across the people present in proportion to
their speed), so a lot's flow time is its team time, not one person's. Daily presence and machine
availability are drawn for the whole horizon when the team is built (vectorised, one named stream per
cohort and per machine park), so no process wakes up daily for them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.entities.draws import GammaSums
from sim.timebase import HOURS_PER_DAY, MINUTES_PER_HOUR


class CohortState:
    """One cohort of a team; `experience` is per-person cumulative output (Wright) or days (exponential)."""

    def __init__(self, *, name: str, role: str, size: int, start_day: int, model: str, std_min: float,
                 ceiling: float, first_mask_min: float, wright_rate: float, e0: float, tau_days: float,
                 defect_trainee: float, defect_skilled: float, present: np.ndarray) -> None:
        self.name = name
        self.role = role
        self.size = size
        self.start_day = start_day
        self.start_h = start_day * HOURS_PER_DAY
        self.model = model
        self.std_min = std_min
        self.ceiling = ceiling
        self.first_mask_min = first_mask_min
        self.exponent = math.log2(wright_rate)
        self.floor_min = std_min / ceiling
        self.e0 = e0
        self.tau_days = tau_days
        self.defect_trainee = defect_trainee
        self.defect_skilled = defect_skilled
        self.present = present  # people present per day (0 before start)
        # the same as Python ints for the per-lot arithmetic: a NumPy scalar would make every rate, speed and
        # experience that follows a NumPy scalar too, several times slower to compute with (same values)
        self.present_by_day: list[int] = present.tolist()
        self.experience = 0.0
        self.output = 0.0
        self.efficiency_by_day = np.full(len(present), np.nan)
        self.start_efficiency = self._initial_efficiency()

    @property
    def learns(self) -> bool:
        return self.model != "none"

    @property
    def trains_others(self) -> bool:
        return self.role in ("trainer", "skilled")

    def _initial_efficiency(self) -> float:
        if self.model == "wright":
            return min(self.ceiling, self.std_min / self.first_mask_min)
        if self.model == "exponential":
            return self.e0
        return self.ceiling

    def efficiency(self, t: float, learning_speed: float) -> float:
        """Efficiency (standard time ÷ own time per mask) at time t."""
        if self.model == "wright":
            minutes = self.first_mask_min * (self.experience + 1.0) ** self.exponent
            return self.std_min / max(minutes, self.floor_min)
        if self.model == "exponential":
            days_on_job = max(0.0, (t - self.start_h) / HOURS_PER_DAY) * learning_speed
            return self.ceiling - (self.ceiling - self.e0) * math.exp(-days_on_job / self.tau_days)
        return self.ceiling

    def wright_minutes(self, done: float, more: float) -> float:
        """Minutes one person needs for masks done+1 .. done+more on the Wright curve (its continuous
        integral, so a lot is charged what its masks cost, not `more` times the cost of its first)."""
        b1 = self.exponent + 1.0
        first, floor = self.first_mask_min, self.floor_min
        knee = (floor / first) ** (1.0 / self.exponent) - 1.0  # experience where the curve meets the floor
        a, z = done, done + more
        minutes = 0.0
        if a < knee:
            upper = min(z, knee)
            minutes += first / b1 * ((upper + 1.0) ** b1 - (a + 1.0) ** b1)
            a = upper
        return minutes + max(0.0, z - a) * floor

    def efficiency_record(self, days: int) -> tuple[np.ndarray, np.ndarray]:
        """Per day: efficiency (the last one seen at work carried forward; the starting efficiency before
        the first lot; NaN before the cohort starts) and its share of the ceiling."""
        eff = forward_fill(self.efficiency_by_day)
        started = np.arange(days) >= self.start_day
        eff = np.where(started & np.isnan(eff), self.start_efficiency, eff)
        eff = np.where(started, eff, np.nan)
        return eff, eff / self.ceiling

    def reached_share(self, share: float) -> bool:
        """Whether the cohort was ever seen working at `share` of its ceiling or more."""
        return bool(np.nanmax(self.efficiency_by_day / self.ceiling, initial=0.0) >= share - 1e-9)

    def defect_rate(self, eff: float) -> float:
        """Defects fall from the trainee rate to the skilled rate as efficiency climbs to the ceiling."""
        span = self.ceiling - self.start_efficiency
        progress = 1.0 if span <= 0 else min(1.0, max(0.0, (eff - self.start_efficiency) / span))
        return self.defect_skilled + (self.defect_trainee - self.defect_skilled) * (1.0 - progress)


@dataclass
class WorkPlan:
    """What a planned lot will take (`hours`) and yield (`defect_probability`), and what it will teach each
    cohort once it is made: `masks` times (cohort, masks made per mask of the lot, experience gained per
    person per mask of the lot). Nothing is credited when the lot is planned: `Team.credit` applies it at
    completion, so a lot cut off by the horizon teaches nobody."""

    hours: float
    defect_probability: float
    credits: list[tuple[CohortState, float, float]] = field(default_factory=list)
    masks: float = 1.0


@dataclass
class RatePlan:
    """A team's speed, defect probability and learning per mask, planned once for the masks in hand on one
    day (`Team.rate_plan`) and shared by the lots of that day that it covers (`masks`)."""

    day: int
    rate: float  # masks per working hour
    defect_probability: float
    credits: list[tuple[CohortState, float, float]]  # (cohort, share of each mask, experience per mask)
    masks: float  # the masks it was planned for (inf on a day nobody at work learns: it covers the day)


class Team:
    """The people and machines of one stage at one site."""

    def __init__(self, *, std_min: float, cv: float, cohorts: list[CohortState], machines: int | None,
                 machines_up: np.ndarray, trainees_per_trainer: float, trainer_output_loss: float,
                 self_learning: float = 0.5) -> None:
        self.std_min = std_min
        self.cv = cv
        self.cohorts = cohorts
        self.machines = machines
        self.machines_up = machines_up  # machines available per day (mean over the day)
        self.machines_up_by_day: list[float] = machines_up.tolist()  # (as Python floats, see CohortState)
        self.trainees_per_trainer = trainees_per_trainer
        self.trainer_output_loss = trainer_output_loss
        self.self_learning = self_learning
        self.days = len(machines_up)
        self.first_day = min((c.start_day for c in cohorts), default=self.days)
        self.people = sum(c.size for c in cohorts)
        self.nominal_rate = (
            sum(c.size * c.ceiling for c in cohorts) * MINUTES_PER_HOUR / std_min
        )  # masks per working hour with everyone present and trained (a routing hint)
        self.last_rate = self.nominal_rate
        # dispatchers whose score of a destination uses `last_rate` (see LotBuffer.watchers)
        self.rate_watchers: list[tuple[set[int], int]] = []
        self._supervision_by_day: dict[int, tuple[float, float]] = {}
        self._static_plans: dict[int, RatePlan | None] = {}  # the plan of a day nobody at work learns
        self._wright_at_work: dict[int, bool] = {}  # day -> some cohort at work learns on the Wright curve
        self._day_plans: dict[int, tuple[list[tuple[CohortState, int, bool]], float, float | None,
                                         tuple[float, list[tuple[CohortState, float, float]]] | None]] = {}

    def forget_plans(self) -> None:
        """Drop the per-day memos once the run is over: the team sits in reference cycles (its dispatchers
        and buffers point back at it), so everything it holds waits for the cyclic collector, which must walk
        each memo's lists and tuples (most of a 2020 run's garbage); emptied, reference counting frees them."""
        for memo in (self._supervision_by_day, self._static_plans, self._wright_at_work, self._day_plans):
            memo.clear()

    def _supervision(self, day: int) -> tuple[float, float]:
        """(learning speed of trainees, share of trainers' time spent training) on `day` (memoised:
        it depends on the day's presence only, and every lot of the day asks)."""
        cached = self._supervision_by_day.get(day)
        if cached is None:
            cached = self._supervision_by_day[day] = self._compute_supervision(day)
        return cached

    def _compute_supervision(self, day: int) -> tuple[float, float]:
        trainees = trainers = 0
        for c in self.cohorts:
            if c.start_day <= day:
                if c.role == "trainee":
                    trainees += c.present_by_day[day]
                elif c.trains_others:
                    trainers += c.present_by_day[day]
        if trainees == 0:
            return 1.0, 0.0
        coverage = min(1.0, trainers * self.trainees_per_trainer / trainees)
        load = 0.0 if trainers == 0 else min(1.0, trainees / (trainers * self.trainees_per_trainer))
        return self.self_learning + (1.0 - self.self_learning) * coverage, load

    def _day_plan(self, day: int) -> tuple[list[tuple[CohortState, int, bool]], float, float | None,
                                            tuple[float, list[tuple[CohortState, float, float]]] | None]:
        """What `rates` needs that depends on the day only (memoised per day): the cohorts at work with
        their head count and whether their output is cut by training others, the trainees' learning
        speed, the machine scale factor (None if machines do not bind) and, when no cohort at work
        learns, the finished (total, parts) of the day."""
        cached = self._day_plans.get(day)
        if cached is not None:
            return cached
        speed, load = self._supervision(day)
        at_work: list[tuple[CohortState, int, bool]] = []
        people = 0
        for c in self.cohorts:
            if c.start_day > day:
                continue
            n = c.present_by_day[day]
            if n <= 0:
                continue
            at_work.append((c, n, bool(load and c.trains_others)))
            people += n
        scale = None
        if self.machines is not None and people > self.machines_up_by_day[day]:
            scale = self.machines_up_by_day[day] / people
        static = None
        if all(c.model == "none" for c, _, _ in at_work):
            static = self._rates_of(at_work, speed, load, scale, 0.0)
        cached = self._day_plans[day] = (at_work, speed, scale, static)
        return cached

    def _rates_of(self, at_work: list[tuple[CohortState, int, bool]], speed: float, load: float,
                  scale: float | None, t: float) -> tuple[float, list[tuple[CohortState, float, float]]]:
        parts: list[tuple[CohortState, float, float]] = []
        total = 0.0
        std_min = self.std_min
        for c, n, trains in at_work:
            eff = c.efficiency(t, speed if c.role == "trainee" else 1.0)
            rate = n * eff * MINUTES_PER_HOUR / std_min
            if trains:
                rate *= 1.0 - self.trainer_output_loss * load
            parts.append((c, rate, eff))
            total += rate
        if scale is not None:
            total *= scale
            parts = [(c, r * scale, e) for c, r, e in parts]
        return total, parts

    def rates(self, t: float) -> tuple[float, list[tuple[CohortState, float, float]]]:
        """Team speed (masks per working hour) at t and each cohort's (speed, efficiency)."""
        day = min(int(t // HOURS_PER_DAY), self.days - 1)
        at_work, speed, scale, static = self._day_plan(day)
        if static is not None:
            return static[0], list(static[1])
        return self._rates_of(at_work, speed, self._supervision(day)[1], scale, t)

    def rate_plan(self, t: float, masks: float, in_hand: float = 0.0, hours_left: float = 0.0, learn: bool = True
                  ) -> RatePlan | None:
        """The team's speed, defect probability and learning per mask for a lot of `masks` masks started at t
        and the masks in hand after it, or None when nobody can work that day.

        On a day when some cohort at work learns on the Wright curve, its speed is its mean over its share of
        the masks planned: `in_hand` (the lot's and those waiting), at most what the team makes in the
        `hours_left` working hours left in the day at its speed at t (a plan covers one day's lots, not the
        week's), at least the lot's, rounded up to whole lots of its size (`_wright_average`). The lots of a plan
        share one speed and one defect probability, their sum taking what the same masks take one lot at a
        time (the Wright integral is additive). Changes nothing but the speed last seen (a routing hint) and
        the day's efficiency record; output and learning are credited at completion (`credit`)."""
        day = min(int(t // HOURS_PER_DAY), self.days - 1)
        at_work, speed, scale, static = self._day_plan(day)
        if static is not None:
            if day in self._static_plans:
                plan = self._static_plans[day]
            else:
                plan = self._static_plans[day] = self._plan_of(day, static[0], static[1], 0.0, math.inf)
            if plan is not None:
                self.last_rate = plan.rate
                for stale, index in self.rate_watchers:
                    stale.add(index)
            return plan
        total, parts = self._rates_of(at_work, speed, self._supervision(day)[1], scale, t)
        if total <= 0.0:
            return None
        wright = self._wright_at_work.get(day)
        if wright is None:  # (the cohorts of `parts` are the day's at work: asked once per day)
            wright = self._wright_at_work[day] = any(c.model == "wright" for c, _, _ in parts)
        if wright:
            # in whole lots of this one's size, so that the lots it covers make exactly the masks it averages over
            if masks > 0:
                masks *= max(1, math.ceil(min(in_hand, total * hours_left) / masks - 1e-9))
            parts, total = self._wright_average(parts, total, masks)
        plan = self._plan_of(day, total, parts, speed if learn else 0.0, masks)
        assert plan is not None
        self.last_rate = total
        for stale, index in self.rate_watchers:
            stale.add(index)
        return plan

    def _plan_of(self, day: int, total: float, parts: list[tuple[CohortState, float, float]], speed: float,
                 masks: float) -> RatePlan | None:
        if total <= 0.0:
            return None
        defect = 0.0
        credits = []
        for c, rate, eff in parts:
            share = rate / total
            defect += share * c.defect_rate(eff)
            c.efficiency_by_day[day] = eff
            gain = 0.0
            if speed and c.model == "wright":
                gain = share / c.present_by_day[day] * (speed if c.role == "trainee" else 1.0)
            credits.append((c, share, gain))
        return RatePlan(day, total, defect, credits, masks)

    def work(self, masks: int, t: float, times: GammaSums, learn: bool = True) -> WorkPlan | None:
        """Working hours the team needs for one lot of `masks` masks started at t, planned on its own (see
        `rate_plan`), and the lot's defect probability; None when nobody can work that day."""
        plan = self.rate_plan(t, masks, learn=learn)
        if plan is None:
            return None
        return WorkPlan(times.gamma_sum(masks, 1.0 / plan.rate, self.cv), plan.defect_probability, plan.credits,
                        masks)

    @staticmethod
    def credit(plan: WorkPlan) -> None:
        """The lot of `plan` is made: each cohort's output and experience advance by its share."""
        masks = plan.masks
        for c, share, gain in plan.credits:
            c.output += share * masks
            c.experience += gain * masks

    def _wright_average(self, parts: list[tuple[CohortState, float, float]], total: float, masks: int
                        ) -> tuple[list[tuple[CohortState, float, float]], float]:
        """Replace each Wright cohort's speed at the lot's start by its mean speed over its share of the
        lot (shares split by the speeds at the start)."""
        out = []
        new_total = 0.0
        for c, rate, eff in parts:
            if c.model == "wright" and rate > 0:
                n = rate * self.std_min / (eff * MINUTES_PER_HOUR)  # people at work (after trainer load)
                per_person = masks * rate / total / n
                mean_eff = self.std_min * per_person / c.wright_minutes(c.experience, per_person)
                rate *= mean_eff / eff
                eff = mean_eff
            out.append((c, rate, eff))
            new_total += rate
        return out, new_total

    def next_staffed_day(self, day: int) -> int | None:
        """The first day >= `day` on which someone of the team is present."""
        for d in range(max(day, self.first_day), self.days):
            staffed = any(c.start_day <= d and c.present[d] > 0 for c in self.cohorts)
            if staffed and (self.machines is None or self.machines_up[d] > 0):
                return d
        return None


def forward_fill(values: np.ndarray) -> np.ndarray:
    """Each NaN replaced by the last value before it (leading NaNs stay): pandas' ffill without a Series."""
    last = np.where(np.isnan(values), 0, np.arange(len(values)))
    np.maximum.accumulate(last, out=last)
    return values[last]


def draw_presence(rng: np.random.Generator, size: int, absence_rate: np.ndarray, start_day: int) -> np.ndarray:
    """People present each day: Binomial(size, 1 − absence rate of the day); zero before the start day."""
    present = rng.binomial(size, 1.0 - np.clip(absence_rate, 0.0, 1.0))
    present[: max(0, start_day)] = 0
    return present.astype(np.int64)


def draw_machines_up(rng: np.random.Generator, machines: int, mtbf_h: float, mttr_h: float, days: int
                     ) -> np.ndarray:
    """Mean number of machines up during each day, each machine alternating exponential up and down
    periods (MTBF, MTTR), all machines starting up."""
    horizon = days * HOURS_PER_DAY
    cycles = int(horizon / (mtbf_h + mttr_h) * 1.5) + 20
    up = rng.exponential(mtbf_h, (machines, cycles))
    down = rng.exponential(mttr_h, (machines, cycles))
    fail_at = np.cumsum(up + down, axis=1) - down  # failure k happens after k ups and k-1 downs
    repaired_at = fail_at + down
    fail_at, repaired_at = fail_at.ravel(), repaired_at.ravel()
    keep = fail_at < horizon
    fail_at, repaired_at = fail_at[keep], np.minimum(repaired_at[keep], horizon)
    bounds = np.arange(days + 1) * HOURS_PER_DAY
    # down time before each day boundary, summed over all down periods
    down_before = np.clip(bounds[:, None] - fail_at[None, :], 0.0, (repaired_at - fail_at)[None, :]).sum(axis=1)
    down_per_day = np.diff(down_before)
    return machines - down_per_day / HOURS_PER_DAY
