"""Changes to scenario data that take effect from a date: a schedule that steps on a day, a calendar
change, a window during which a schedule is transformed. Shared by levers (from a date on) and shocks
(during a window).

A Schedule field (sim.config.Schedule) is a number or [[date, value], ...]; a site's calendar is a name or
[{from: date, calendar: name}, ...]. Other fields take one value for the whole run and cannot change on a
date: callers say so to the user.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sim.config import get_path as config_get_path
from sim.config import set_path
from sim.config.common import known_names
from sim.errors import ConfigError


def as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def get_path(data: Any, path: str, file: str = "", field: str = "") -> Any:
    """The value at a dotted path, or a one-line ConfigError naming the first missing part (sim.config's walker)."""
    return config_get_path(data, path, file, field)


def set_path_value(data: Any, path: str, value: Any, file: str = "", field: str = "") -> None:
    """Set an existing field (or a new key of an existing mapping); never creates sections."""
    set_path(data, path, value, file, field, create=False)


def named(data: dict[str, Any], section: str, name: Any, file: str, field: str, kind: str) -> Any:
    """The entry `name` of a section of the scenario (`sites`, `suppliers`, `channels`), or one line at `field`
    (where the name was given) listing the known ones."""
    entries = data.get(section) or {}
    if not isinstance(name, str) or name not in entries:
        raise ConfigError.at(file, field, name, known_names(kind, map(str, entries)))
    return entries[name]


def is_schedule(value: Any) -> bool:
    """A number, or a non-empty list of [date, number] pairs."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return (isinstance(value, list) and len(value) > 0
            and all(isinstance(p, list | tuple) and len(p) == 2 and isinstance(p[1], int | float) for p in value))


def _steps(value: Any, start: dt.date) -> list[list[Any]]:
    if isinstance(value, int | float):
        return [[start, float(value)]]
    return [[as_date(d), float(v)] for d, v in value]


def value_on(value: Any, day: dt.date, start: dt.date) -> float:
    """The schedule's value on `day` (its first value before its first date)."""
    steps = _steps(value, start)
    current = steps[0][1]
    for d, v in steps:
        if d <= day:
            current = v
    return current


def transform_between(value: Any, first: dt.date, end: dt.date | None, start: dt.date,
                      fn: Callable[[float], float]) -> list[list[Any]]:
    """The schedule with fn applied to its values on [first, end) (to the end of time when end is None).

    Steps are inserted at `first` and `end` so the values outside the window are unchanged.
    """
    steps = _steps(value, start)
    cuts = {first} | ({end} if end is not None else set())
    for cut in sorted(cuts):
        if all(d != cut for d, _ in steps):
            steps.append([cut, value_on(value, cut, start)])
    steps.sort(key=lambda s: s[0])
    out = []
    for d, v in steps:
        inside = d >= first and (end is None or d < end)
        out.append([d.isoformat(), fn(v) if inside else v])
    # a step before the scenario start and one at it would both be kept; that is fine for the schema
    return out


def calendar_from(current: Any, day: dt.date, calendar: str, start: dt.date) -> list[dict[str, Any]]:
    """A site calendar that switches to `calendar` on `day` (changes after `day` are replaced)."""
    changes = ([{"from": start.isoformat(), "calendar": current}] if isinstance(current, str)
               else [dict(c) for c in current])
    kept = [c for c in changes if as_date(c["from"]) < day]
    if not kept:
        return [{"from": day.isoformat(), "calendar": calendar}]
    return [*kept, {"from": day.isoformat(), "calendar": calendar}]
