"""Working calendars: when a site works, and calendar arithmetic on working hours.

Work in progress pauses outside shifts. Instead of waking processes at every shift change, a job that
needs `w` working hours and starts at `t` ends at `finish(t, w)`, found by bisection on the cumulative
working hours of the precomputed shift intervals (O(log n) per job).
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence

import numpy as np

from sim.config import CalendarSpec
from sim.public_holidays import holiday_dates
from sim.timebase import HOURS_PER_DAY, parse_clock

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class WorkCalendar:
    """Shift intervals from day 0 to `days` (a pattern may change on given days: a second shift)."""

    def __init__(self, start: dt.date, days: int, patterns: Sequence[tuple[int, CalendarSpec]],
                 holidays: dict[str, list[dt.date]] | None = None) -> None:
        holidays = holidays or {}
        patterns = sorted(patterns, key=lambda p: p[0])
        starts: list[float] = []
        ends: list[float] = []
        hours_per_day = np.zeros(days)
        last = start + dt.timedelta(days=max(days - 1, 0))
        off = {id(spec): _holiday_set(spec, holidays, start, last) for _, spec in patterns}
        for day in range(days):
            spec = _pattern_on(patterns, day)
            if spec is None:
                continue
            date = start + dt.timedelta(days=day)
            if WEEKDAYS[date.weekday()] not in spec.weekdays or date in off[id(spec)]:
                continue
            base = day * HOURS_PER_DAY
            for a, b in spec.shifts:
                s, e = base + parse_clock(a), base + parse_clock(b)
                if starts and s <= ends[-1]:  # contiguous or overlapping shifts merge
                    ends[-1] = max(ends[-1], e)
                else:
                    starts.append(s)
                    ends.append(e)
                hours_per_day[day] += e - s
        self.starts = starts
        self.ends = ends
        self.cum: list[float] = []  # working hours before interval i
        total = 0.0
        for s, e in zip(starts, ends, strict=True):
            self.cum.append(total)
            total += e - s
        self.cum_end = [c + (e - s) for c, s, e in zip(self.cum, starts, ends, strict=True)]
        self.total_hours = total
        self.hours_per_day = hours_per_day
        self._intervals = len(starts)
        # the last position asked for: a stage asks twice in a row for `now`
        self._last_t = math.nan
        self._last_position = 0.0
        # the position at 00:00 of each day 0 .. days (the state-hour bookkeeping asks for day boundaries at
        # every state change): the values `position` gives, computed once
        self.day_positions = [self.position(day * HOURS_PER_DAY) for day in range(days + 1)]

    def position(self, t: float) -> float:
        """Working hours elapsed between time 0 and time t."""
        if t == self._last_t:
            return self._last_position
        i = bisect_right(self.starts, t) - 1
        if i < 0:
            position = 0.0
        else:
            end = self.ends[i]
            position = self.cum[i] + (t if t <= end else end) - self.starts[i]  # (min(t, end), inline)
        self._last_t = t
        self._last_position = position
        return position

    def time_at(self, position: float) -> float:
        """Earliest time at which `position` working hours have elapsed (inf past the calendar)."""
        if position <= 0.0:
            return self.starts[0] if self.starts else math.inf
        j = bisect_left(self.cum_end, position)
        if j >= self._intervals:
            return math.inf
        return self.starts[j] + (position - self.cum[j])

    def finish(self, t: float, work_hours: float) -> float:
        """When a job needing `work_hours` of work, started (or waiting) at t, is done."""
        if work_hours <= 0.0:
            return t
        # position(t) skipped when t is the last position asked (the stage asks it first)
        if t == self._last_t:
            position = self._last_position + work_hours
        else:
            position = self.position(t) + work_hours
        return self.time_at(position)

    def next_work_start(self, t: float) -> float:
        """t itself if the site is working at t, else the start of the next shift (inf if none)."""
        i = bisect_right(self.starts, t) - 1
        if i >= 0 and t < self.ends[i]:
            return t
        return self.starts[i + 1] if i + 1 < len(self.starts) else math.inf

    def working_hours(self, a: float, b: float) -> float:
        return self.position(b) - self.position(a)


def _pattern_on(patterns: Sequence[tuple[int, CalendarSpec]], day: int) -> CalendarSpec | None:
    current = None
    for first_day, spec in patterns:
        if first_day <= day:
            current = spec
        else:
            break
    return current


def _holiday_set(spec: CalendarSpec, named: dict[str, list[dt.date]], first: dt.date, last: dt.date
                 ) -> set[dt.date]:
    """The calendar's days off: explicit dates, a list the scenario names, or public holidays by name."""
    if spec.holidays is None:
        return set()
    if isinstance(spec.holidays, list):
        return set(spec.holidays)
    if spec.holidays in named:
        return set(named[spec.holidays])
    return holiday_dates(spec.holidays, first, last)
