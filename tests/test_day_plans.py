"""A day's lots share one plan of the team's speed (sim/processes/planning.py, Team.rate_plan): the plan charges
its lots what the same masks take one lot at a time, and it never serves another day."""

import pytest

from sim.config import Scenario
from sim.entities.draws import GammaSums
from sim.entities.workforce import WorkPlan
from sim.model import Network
from sim.processes.planning import DayPlans
from sim.rng import Streams
from sim.timebase import HOURS_PER_DAY
from tests.scenarios import line, spec_of


def _sewing_team(data: dict):
    spec = spec_of(data)
    net = Network(Scenario.model_validate(spec.scenario), Streams(spec.root_seed, spec.replication))
    site = net.sites["workshop"]
    return site, site.stage("sew")


def _wright_line() -> dict:
    data = line(lot_size=5, horizon_days=10, cv=0.0, sew_min=2.0)
    del data["sites"]["workshop"]["stages"]["sew"]["operators"]
    data["sites"]["workshop"]["cohorts"] = [{"name": "sewer", "role": "skilled", "size": 1, "learning": {
        "model": "wright", "first_mask_min": 90, "rate": 0.7, "ceiling": 1.0}}]
    return data


def test_a_plan_charges_its_lots_what_they_take_one_at_a_time():
    # One sewer on a steep Wright curve, no noise (cv 0): five lots of 5 masks planned one at a time (each
    # credited before the next) take the Wright integral of masks 1-25; under one plan for the 25 masks in hand
    # they share its mean speed and take the same in all, and teach the same experience.
    t = 8.0  # day 0, 08:00: the shift's start
    _, alone = _sewing_team(_wright_line())
    team = alone.team
    one_at_a_time = []
    for _ in range(5):
        work = team.work(5, t, GammaSums(None))  # type: ignore[arg-type]  (cv 0: no draw)
        one_at_a_time.append(work.hours)
        team.credit(work)
    experience_alone = team.cohorts[0].experience

    _, planned = _sewing_team(_wright_line())
    team = planned.team
    plan = team.rate_plan(t, 5, in_hand=25, hours_left=1000.0)  # (the masks in hand bind, not the day)
    assert plan is not None and plan.masks == 25
    shared = [5 / plan.rate] * 5
    for hours in shared:  # each lot credited as the stage credits it (Team.credit of the lot's WorkPlan)
        team.credit(WorkPlan(hours, plan.defect_probability, plan.credits, 5))
    assert sum(shared) == pytest.approx(sum(one_at_a_time), rel=1e-9)
    assert team.cohorts[0].experience == pytest.approx(experience_alone, rel=1e-12)
    # the plan is shared, not made per lot: its first lot is faster than the first lot made alone
    assert shared[0] < one_at_a_time[0] * 0.9


def test_a_plan_never_serves_the_next_day():
    # Ten sewers, half of them absent on average: the head count differs from one day to the next. A lot started
    # on a day takes that day's speed even when the plan of the day before still covered masks.
    data = line(lot_size=20, horizon_days=20, cv=0.0, sew_min=2.0, operators={"sew": 10}, absence=0.5)
    site, sew = _sewing_team(data)
    team = sew.team
    present = team.cohorts[0].present_by_day
    day = next(d for d in range(19) if present[d] > 0 and present[d + 1] > 0 and present[d] != present[d + 1])
    plans = DayPlans(team, GammaSums(None), site.calendar, sew.buffer)  # type: ignore[arg-type]
    first = plans.work(20, day * HOURS_PER_DAY + 8.0)
    second = plans.work(20, (day + 1) * HOURS_PER_DAY + 8.0)
    assert first is not None and second is not None
    minutes_per_mask = 2.0
    assert first.hours == pytest.approx(20 * minutes_per_mask / 60 / present[day])
    assert second.hours == pytest.approx(20 * minutes_per_mask / 60 / present[day + 1])
