"""Recording what stages do: compact per-day arrays of state hours and output, and active periods for
bottleneck detection. No per-mask log; an update costs a few array additions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.entities.calendar import WorkCalendar
from sim.timebase import HOURS_PER_DAY

WORKING, STARVED, BLOCKED, OFF_SHIFT = 0, 1, 2, 3
STATE_NAMES = ("working", "starved", "blocked", "off_shift")


@dataclass
class TrackInfo:
    site: str
    kind: str
    region: str
    stage: str  # cut, sew, inspect, pack, supply, certification, transport


class StageTrack:
    """The state timeline of one stage at one site (or of one supplier, lab or lane).

    Time in a state counts as that state only while the site's calendar says it works; the rest of
    the period counts as off shift. `active` collects the periods the stage was working (Roser's
    active periods), merged when one lot follows another without a gap.
    """

    __slots__ = ("_day_positions", "_pos", "_pos_t", "active", "calendar", "day_hours", "day_output", "days", "info",
                 "since", "state")

    def __init__(self, info: TrackInfo, days: int, calendar: WorkCalendar | None, state: int = OFF_SHIFT,
                 since: float = 0.0) -> None:
        self.info = info
        self.days = days
        self.calendar = calendar
        # plain lists while the run updates them (a list item costs less than a NumPy scalar update);
        # `hours` and `output` give them as arrays
        self.day_hours = [0.0] * (days * len(STATE_NAMES))  # hours of day d in state s at [d * 4 + s]
        self.day_output = [0.0] * days
        self.active: list[list[float]] = []
        self.state = state
        self.since = since
        self._pos_t = -1.0  # the last time whose calendar position was computed here, and that position
        self._pos = 0.0
        # the calendar's position at 00:00 of days 0 .. days (its own list when it covers them, as built)
        self._day_positions: list[float] = []
        if calendar is not None:
            positions = calendar.day_positions
            self._day_positions = (positions if len(positions) > days
                                   else [calendar.position(day * HOURS_PER_DAY) for day in range(days + 1)])

    @property
    def hours(self) -> np.ndarray:
        """Hours per day (rows) in each state (columns, in STATE_NAMES order)."""
        return np.asarray(self.day_hours, dtype=float).reshape(self.days, len(STATE_NAMES))

    @property
    def output(self) -> np.ndarray:
        """Masks finished per day."""
        return np.asarray(self.day_output, dtype=float)

    def set(self, state: int, t: float) -> None:
        """From t the stage is in `state`."""
        if state == self.state:
            return
        self._close(t)
        self.state = state
        self.since = t

    def finish(self, horizon_h: float) -> None:
        """Count the last period, to the horizon (the state stays)."""
        self._close(horizon_h)
        self.since = horizon_h

    def _close(self, t: float) -> None:
        """The period since the last change, [since, t), added to the state it was in: its state hours per day,
        and its active periods if it was working."""
        a, state = self.since, self.state
        if t <= a:
            return
        if state == WORKING:
            active = self.active
            if active and active[-1][1] >= a:
                active[-1][1] = t
            else:
                active.append([a, t])
        last_day = self.days - 1
        day = int(a // HOURS_PER_DAY)
        if day > last_day:
            return
        hours = self.day_hours
        cal = self.calendar
        if cal is None or state == OFF_SHIFT:
            while a < t and day <= last_day:
                boundary = (day + 1) * HOURS_PER_DAY
                end = t if t <= boundary else boundary  # (min(t, boundary), inline)
                hours[day * 4 + state] += end - a
                a = end
                day += 1
            return
        # working hours in [a, end) of each day: the position at a is usually the one computed at the last
        # close; at a day's end it is the calendar's precomputed position of the next day's start
        day_positions = self._day_positions
        at_a = self._pos if a == self._pos_t else cal.position(a)
        while True:
            boundary = (day + 1) * HOURS_PER_DAY
            if t < boundary:
                end = t
                at_end = cal.position(t)
            else:
                end = boundary
                at_end = day_positions[day + 1]
            worked = at_end - at_a
            row = day * 4
            hours[row + state] += worked
            hours[row + OFF_SHIFT] += (end - a) - worked
            a = end
            at_a = at_end
            day += 1
            if a >= t or day > last_day:
                break
        self._pos_t, self._pos = a, at_a

    def add_output(self, t: float, masks: float) -> None:
        day = int(t // HOURS_PER_DAY)
        if day < self.days:
            self.day_output[day] += masks

    def active_array(self) -> np.ndarray:
        return np.asarray(self.active, dtype=float).reshape(-1, 2)


class Recorder:
    def __init__(self, days: int) -> None:
        self.days = days
        self.tracks: list[StageTrack] = []

    def track(self, info: TrackInfo, calendar: WorkCalendar | None, state: int = OFF_SHIFT) -> StageTrack:
        tr = StageTrack(info, self.days, calendar, state)
        self.tracks.append(tr)
        return tr

    def finish(self, horizon_h: float) -> None:
        for tr in self.tracks:
            tr.finish(horizon_h)
