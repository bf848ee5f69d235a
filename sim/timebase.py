"""The simulated clock: one unit (hours) counted from 00:00 of the scenario's start date.

Every conversion between simulated time and calendar dates goes through this module, so the unit is
defined in exactly one place.
"""

from __future__ import annotations

import datetime as dt

HOURS_PER_DAY = 24.0
MINUTES_PER_HOUR = 60.0


def day_index(start: dt.date, when: dt.date) -> int:
    """Whole days from the start date to `when` (negative before the start)."""
    return (when - start).days


def hours_at(start: dt.date, when: dt.date) -> float:
    """Simulated time (hours) of 00:00 on `when`."""
    return day_index(start, when) * HOURS_PER_DAY


def days(t_hours: float) -> float:
    """Hours expressed in days (for KPIs)."""
    return t_hours / HOURS_PER_DAY


def parse_clock(text: str) -> float:
    """'08:30' -> 8.5 hours after midnight ('24:00' allowed for an end of day)."""
    hours, minutes = text.split(":")
    value = int(hours) + int(minutes) / MINUTES_PER_HOUR
    if not 0 <= value <= HOURS_PER_DAY:
        raise ValueError(f"{text!r} is not a time of day between 00:00 and 24:00")
    return value
