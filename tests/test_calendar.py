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


def test_public_holidays_come_from_the_holidays_package_for_any_country_and_year():
    from sim.public_holidays import holiday_dates, is_known

    # fr_2020 is still the French holidays of 2020, exactly the eleven dates of the hand-typed list it replaced
    assert sorted(holiday_dates("fr_2020", dt.date(2020, 1, 1), dt.date(2020, 12, 31))) == [
        dt.date(2020, m, d) for m, d in
        [(1, 1), (4, 13), (5, 1), (5, 8), (5, 21), (6, 1), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]]
    # a year alone: the holidays of other years are not in it (a horizon crossing into 2021 keeps working days)
    assert holiday_dates("fr_2020", dt.date(2020, 12, 1), dt.date(2021, 1, 31)) == {dt.date(2020, 12, 25)}
    # a country alone: every simulated year, so 2021 is no longer silently without holidays
    assert dt.date(2021, 5, 13) in holiday_dates("FR", dt.date(2021, 1, 1), dt.date(2021, 12, 31))  # Ascension
    assert dt.date(2021, 10, 3) in holiday_dates("de", dt.date(2021, 1, 1), dt.date(2021, 12, 31))
    assert is_known("DE_2021") and not is_known("xx") and not is_known("fr_20")


def test_a_calendar_of_another_year_and_country_has_its_holidays():
    # Easter Monday 2021 is 5 April: no shift that day in France, one in a calendar without holidays
    cal = calendar(dt.date(2021, 4, 5), [("08:00", "15:00")], days=2, holidays="FR")
    assert list(cal.hours_per_day[:2]) == [0.0, 7.0]
    assert list(calendar(dt.date(2021, 4, 5), [("08:00", "15:00")], days=2, holidays=None).hours_per_day[:2]) == \
        [7.0, 7.0]
