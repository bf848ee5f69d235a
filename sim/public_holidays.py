"""Public holidays by name, from the `holidays` package (any country it knows, any year).

A calendar's `holidays: NAME` is either a list the scenario names itself, or one of:
- `FR`, `DE`, `BE`, ... (an ISO country code): that country's public holidays in every simulated year;
- `fr_2020`, `DE_2021`, ...: that country's public holidays of that one year only (`fr_2020` is the name
  the 2020 case has always used: the French holidays of 2020, Code du travail L3133-1).
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache

_NAME = re.compile(r"^(?P<country>[A-Za-z]{2,3})(?:_(?P<year>\d{4}))?$")


def _parse(name: str) -> tuple[str, int | None] | None:
    match = _NAME.match(name)
    if match is None:
        return None
    country = match["country"].upper()
    if country not in _countries():
        return None
    return country, int(match["year"]) if match["year"] else None


@cache
def _countries() -> frozenset[str]:
    import holidays

    return frozenset(holidays.list_supported_countries())


def is_known(name: str) -> bool:
    """True if `name` is a country code of the holidays package, alone or with `_<year>`."""
    return _parse(name) is not None


def holiday_dates(name: str, first: dt.date, last: dt.date) -> set[dt.date]:
    """The public holidays called `name` between `first` and `last` (inclusive)."""
    parsed = _parse(name)
    if parsed is None:
        raise KeyError(f"{name!r} is not a country code of the holidays package (FR, DE, ...), alone or with _<year>")
    country, year = parsed
    years = [year] if year is not None else list(range(first.year, last.year + 1))
    return {day for day in _dates(country, tuple(years)) if first <= day <= last}


@cache
def _dates(country: str, years: tuple[int, ...]) -> frozenset[dt.date]:
    import holidays

    return frozenset(holidays.country_holidays(country, years=years))
