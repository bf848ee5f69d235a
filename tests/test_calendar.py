import datetime as dt

import pytest

from sim.config import CalendarSpec
from sim.entities.calendar import WorkCalendar
from sim.timebase import HOURS_PER_DAY


def calendar(start: dt.date, shifts: list[tuple[str, str]], days: int = 30, holidays: object = "fr_2020"):
    return WorkCalendar(start, days, [(0, CalendarSpec(shifts=shifts, holidays=holidays))])


def test_job_spanning_a_weekend_and_a_holiday_ends_at_the_right_hour():
    # Thursday 9 April 2020, 13:00. Friday 10 works; Sat 11, Sun 12 and Easter Monday 13 April are off.
    cal = calendar(dt.date(2020, 4, 9), [("08:00", "15:00")])
    start = 13.0
    end = cal.finish(start, 2 + 7 + 3)  # 2 h on Thursday, 7 h on Friday, 3 h on Tuesday
    assert end == pytest.approx(5 * HOURS_PER_DAY + 11.0)  # Tuesday 14 April, 11:00
    assert cal.working_hours(start, end) == pytest.approx(12.0)


def test_a_job_that_fills_a_shift_exactly_ends_at_the_shift_end():
    cal = calendar(dt.date(2020, 4, 6), [("08:00", "15:00")])
    assert cal.finish(8.0, 7.0) == pytest.approx(15.0)


def test_work_waiting_outside_shifts_starts_at_the_next_shift():
    cal = calendar(dt.date(2020, 4, 6), [("08:00", "12:00"), ("13:00", "17:00")])
    assert cal.finish(20.0, 1.0) == pytest.approx(HOURS_PER_DAY + 9.0)  # Monday 20:00 -> Tuesday 09:00
    assert cal.finish(11.0, 2.0) == pytest.approx(14.0)  # the lunch break does not count
    assert cal.next_work_start(12.5) == pytest.approx(13.0)


def test_contiguous_shifts_make_one_working_span_and_days_count_their_hours():
    cal = calendar(dt.date(2020, 4, 6), [("06:00", "13:00"), ("13:00", "20:00")], days=7, holidays=None)
    assert cal.finish(6.0, 14.0) == pytest.approx(20.0)
    assert list(cal.hours_per_day) == [14, 14, 14, 14, 14, 0, 0]


def test_a_pattern_change_adds_a_second_shift_from_its_date():
    one = CalendarSpec(shifts=[("08:00", "15:00")])
    two = CalendarSpec(shifts=[("06:00", "13:00"), ("13:00", "20:00")])
    cal = WorkCalendar(dt.date(2020, 4, 6), 14, [(0, one), (7, two)])
    assert cal.hours_per_day[0] == 7 and cal.hours_per_day[7] == 14


def test_position_and_time_at_are_inverse():
    cal = calendar(dt.date(2020, 3, 30), [("08:00", "15:00")], days=60)
    for hours in (0.5, 7.0, 13.25, 100.0, 200.0):
        assert cal.position(cal.time_at(hours)) == pytest.approx(hours)


def test_beyond_the_calendar_a_job_never_ends():
    cal = calendar(dt.date(2020, 3, 30), [("08:00", "15:00")], days=3)
    assert cal.finish(0.0, 1000.0) == float("inf")
