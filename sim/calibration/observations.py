"""Observations of the real network: what was seen, how sure we are of it, where it comes from, and how to read
the same quantity off a model run.

An experiment's `observations:` block names each observation and gives a selector (`kpi:` and its fields), the
observed `value`, its uncertainty (`sd`, or an `interval` read as a 95 % range, so sd = width / 4) and its
`source`; a one-sided statement ("more than 125,000") is `at_least` (or `at_most`) with its `sd`. Local
selectors (`output`, `productivity` of a site or a kind) speak to speeds and ceilings; the whole network's
(`network_output`, `cumulative_delivered`, `channel_delivered`) to its size.
`check_observations` validates the selectors against the scenario (dates inside the horizon, known sites, kinds,
channels and targets); `extract` reads each observation's model value from one run's tables.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sim.config import Scenario
from sim.errors import ConfigError, problem_line

if TYPE_CHECKING:  # pandas loads only where runs are read, not with every experiment file
    import pandas as pd

INTERVAL_SDS = 4.0  # an interval is read as a 95 % range: about +-2 sd around its middle


class _Base(BaseModel):
    """What was seen: a `value` (with `sd` or an `interval`), or a one-sided bound `at_least` / `at_most`
    (with its `sd`). Every model value here is a count or a rate of masks or a day, never negative."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    value: float | None = Field(None, ge=0, allow_inf_nan=False,
                                description="the observed value (default: the middle of the interval)")
    at_least: float | None = Field(None, ge=0, allow_inf_nan=False,
                                   description="one-sided: the model must reach at least this (no upper end)")
    at_most: float | None = Field(None, ge=0, allow_inf_nan=False,
                                  description="one-sided: the model must stay at most at this (no lower end)")
    sd: float | None = Field(None, gt=0, allow_inf_nan=False,
                             description="standard deviation of the observation error")
    interval: tuple[float, float] | None = Field(
        None, description="[low, high]: a 95 % range of the observation (sd = (high - low) / 4)")
    discrepancy_sd: float | None = Field(
        None, ge=0, allow_inf_nan=False,
        description="model discrepancy sd (default: the calibration's discrepancy_share x value)")
    source: str = Field(min_length=1, description="where the figure comes from, with its confidence grade")

    @field_validator("interval")
    @classmethod
    def _ordered(cls, interval: tuple[float, float] | None) -> tuple[float, float] | None:
        if interval is not None and not (all(map(math.isfinite, interval)) and 0 <= interval[0] < interval[1]):
            raise ValueError("[low, high] with finite 0 <= low < high")
        return interval

    @model_validator(mode="after")
    def _uncertainty(self) -> _Base:
        given = [k for k in ("value", "at_least", "at_most") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError("give one of value, at_least or at_most")
        if self.sd is not None and self.interval is not None:
            raise ValueError("give exactly one of sd (> 0) or interval [low, high]")
        if self.interval is not None:
            low, high = self.interval
            if self.at_least is not None or self.at_most is not None:
                raise ValueError("a one-sided observation (at_least, at_most) takes an sd, not an interval")
            if self.value is not None and not low <= self.value <= high:
                raise ValueError("the value must lie inside its interval")
        elif self.sd is None:
            raise ValueError("give exactly one of sd (> 0) or interval [low, high]")
        elif not given:
            raise ValueError("give the observed value, an interval, at_least or at_most")
        return self

    @property
    def side(self) -> str:
        """both (a value), at_least or at_most (one-sided: no implausibility on the allowed side)."""
        return "at_least" if self.at_least is not None else "at_most" if self.at_most is not None else "both"

    @property
    def observed(self) -> float:
        for given in (self.value, self.at_least, self.at_most):
            if given is not None:
                return float(given)
        assert self.interval is not None
        return (self.interval[0] + self.interval[1]) / 2.0

    @property
    def obs_sd(self) -> float:
        if self.sd is not None:
            return float(self.sd)
        assert self.interval is not None
        return (self.interval[1] - self.interval[0]) / INTERVAL_SDS

    def dates(self) -> dict[str, dt.date]:
        """Field name -> date, for the horizon check."""
        return {}


class CumulativeDelivered(_Base):
    """Masks delivered to all channels from the start to the end of `by`."""

    kpi: Literal["cumulative_delivered"]
    by: dt.date = Field(description="last day counted (included)")

    def dates(self) -> dict[str, dt.date]:
        return {"by": self.by}


class ChannelDelivered(_Base):
    """Masks delivered to the named channels from the start to the end of `by`."""

    kpi: Literal["channel_delivered"]
    channels: list[str] = Field(min_length=1, description="channels of the scenario, summed")
    by: dt.date = Field(description="last day counted (included)")

    def dates(self) -> dict[str, dt.date]:
        return {"by": self.by}


class NetworkOutput(_Base):
    """Masks sewn by every sewing site of the network (groups' members and volunteers' points included) from
    `from` (default: the scenario's first day) to the end of `by`: the whole network's output, for statements
    about all of it (a national total it is part of, a cumulative count reported on a date). Masks sewn, not
    masks that passed inspection: the count a "made" figure reports, and the larger of the two, so an
    `at_most` on it is the stricter reading."""

    kpi: Literal["network_output"]
    start: dt.date | None = Field(None, alias="from", description="first day counted (default: the start)")
    by: dt.date = Field(description="last day counted (included)")

    @model_validator(mode="after")
    def _ordered_days(self) -> NetworkOutput:
        if self.start is not None and self.by < self.start:
            raise ValueError("by must not be before from")
        return self

    def dates(self) -> dict[str, dt.date]:
        return {"by": self.by} if self.start is None else {"from": self.start, "by": self.by}


class _Period(_Base):
    """Sites chosen by `site` (a site or a group) or by `kind`, over [from, to] (both included) or a `week`."""

    site: str | None = Field(None, description="a sewing site, or a group (all its members)")
    kind: str | None = Field(None, description="every sewing site of this kind")
    start: dt.date | None = Field(None, alias="from", description="first day of the period")
    end: dt.date | None = Field(None, alias="to", description="last day of the period (included)")
    week: dt.date | None = Field(None, description="first day of a 7-day period (instead of from/to)")

    @model_validator(mode="after")
    def _selector(self) -> _Period:
        if (self.site is None) == (self.kind is None):
            raise ValueError("give exactly one of site or kind")
        if self.week is not None:
            if self.start is not None or self.end is not None:
                raise ValueError("give either week or from/to")
        elif self.start is None or self.end is None:
            raise ValueError("give a week, or both from and to")
        elif self.end < self.start:
            raise ValueError("to must not be before from")
        return self

    @property
    def first(self) -> dt.date:
        return self.week if self.week is not None else self.start  # type: ignore[return-value]

    @property
    def last(self) -> dt.date:
        return self.week + dt.timedelta(days=6) if self.week is not None else self.end  # type: ignore[return-value]

    def dates(self) -> dict[str, dt.date]:
        if self.week is not None:
            return {"week": self.week, "week (last day)": self.last}
        return {"from": self.first, "to": self.last}


class Output(_Period):
    """Masks sewn by the chosen sites over the period: in all (`per: period`) or per working day."""

    kpi: Literal["output"]
    per: Literal["period", "working_day"] = Field(
        "period", description="period: masks in all; working_day: per day on which the chosen sites work")


class Productivity(_Period):
    """Masks sewn per person-day present on working days: sewers only, or everyone at the sewing sites."""

    kpi: Literal["productivity"]
    staff: Literal["sewing", "whole_site"] = Field(
        "whole_site", description="sewing: sewers only; whole_site: everyone present at those sites")


class TargetDay(_Base):
    """The day (from the start) a target of the scenario is reached; the horizon if never reached."""

    kpi: Literal["target_day"]
    target: str = Field(description="a target of the scenario")


Observation = Annotated[CumulativeDelivered | ChannelDelivered | NetworkOutput | Output | Productivity | TargetDay,
                        Field(discriminator="kpi")]
KPIS = ("cumulative_delivered", "channel_delivered", "network_output", "output", "productivity", "target_day")


# ---------------------------------------------------------------------------------------------- checks
def _members(scenario: Scenario, name: str) -> list[str]:
    if name in scenario.sites:
        return [name]
    group = scenario.groups[name]
    width = max(2, len(str(group.count)))
    return [f"{name}_{i + 1:0{width}d}" for i in range(group.count)]


def sewing_kinds(scenario: Scenario) -> list[str]:
    kinds = {s.kind for s in scenario.sites.values() if "sew" in s.stages}
    kinds |= {g.kind for g in scenario.groups.values() if "sew" in g.stages}
    return sorted(kinds)


def sewing_sites(scenario: Scenario) -> list[str]:
    names = [n for n, s in scenario.sites.items() if "sew" in s.stages]
    return names + [n for n, g in scenario.groups.items() if "sew" in g.stages]


def check_observations(observations: Mapping[str, BaseModel], scenario: Scenario, file: str) -> None:
    """Every selector must name something the scenario has, at dates inside its horizon."""
    problems: list[str] = []
    first, last = scenario.start, scenario.start + dt.timedelta(days=scenario.horizon_days - 1)
    for name, obs in observations.items():
        where = f"observations.{name}"
        for field, date in obs.dates().items():  # type: ignore[attr-defined]
            if not first <= date <= last:
                problems.append(problem_line(file, f"{where}.{field.split(' ')[0]}", date.isoformat(),
                                             f"a date within the horizon {first} .. {last}"))
        if isinstance(obs, ChannelDelivered):
            for i, ch in enumerate(obs.channels):
                if ch not in scenario.channels:
                    known = ", ".join(scenario.channels) or "none"
                    problems.append(problem_line(file, f"{where}.channels[{i}]", ch,
                                                 f"a channel of the scenario: {known}"))
        if isinstance(obs, _Period):
            if obs.site is not None and obs.site not in sewing_sites(scenario):
                problems.append(problem_line(file, f"{where}.site", obs.site,
                                             f"a sewing site or group: {', '.join(sewing_sites(scenario))}"))
            if obs.kind is not None and obs.kind not in sewing_kinds(scenario):
                problems.append(problem_line(file, f"{where}.kind", obs.kind,
                                             f"a kind of sewing site: {', '.join(sewing_kinds(scenario))}"))
        if isinstance(obs, TargetDay) and obs.target not in scenario.targets:
            problems.append(problem_line(file, f"{where}.target", obs.target,
                                         f"a target of the scenario: {', '.join(scenario.targets) or 'none'}"))
    if problems:
        raise ConfigError(problems)


# ---------------------------------------------------------------------------------------------- extraction
# The columns extraction reads. It works on them as NumPy arrays, taken once per run: selecting rows of a
# DataFrame copies every column of it, and those frames made the test line's two observations cost 14 ms of CPU
# a run against 30 ms for the simulation itself (1 ms as arrays, to the same values).
DAILY_COLUMNS = ("day", "site", "kind", "stage", "output", "present", "capacity_h")
SERIES_COLUMNS = ("day", "series", "key", "value")
Columns = Mapping[str, np.ndarray]


def _columns(table: pd.DataFrame | Columns, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    return {name: np.asarray(table[name]) for name in names}


def _day(date: dt.date, start: dt.date) -> int:
    return (date - start).days


def _period_rows(daily: Columns, obs: _Period, scenario: Scenario, start: dt.date) -> np.ndarray:
    if obs.site is not None:
        sites = _members(scenario, obs.site)
    else:  # the sites of that kind that sew
        sites = np.unique(daily["site"][(daily["stage"] == "sew") & (daily["kind"] == obs.kind)])
    day = daily["day"]
    return np.isin(daily["site"], sites) & (day >= _day(obs.first, start)) & (day <= _day(obs.last, start))


def _delivered(series: Columns, channels: list[str] | None, by: int) -> float:
    rows = (series["series"] == "delivered") & (series["day"] <= by)
    if channels is not None:
        rows &= np.isin(series["key"], channels)
    return float(np.nansum(series["value"][rows]))  # NaN-skipping, as pandas sums


def _value(obs: BaseModel, scenario: Scenario, kpis: Mapping[str, float], daily: Columns, series: Columns
           ) -> float:
    start = scenario.start
    if isinstance(obs, CumulativeDelivered):
        return _delivered(series, None, _day(obs.by, start))
    if isinstance(obs, ChannelDelivered):
        return _delivered(series, obs.channels, _day(obs.by, start))
    if isinstance(obs, NetworkOutput):
        first = 0 if obs.start is None else _day(obs.start, start)
        day = daily["day"]
        sewn = (daily["stage"] == "sew") & (day >= first) & (day <= _day(obs.by, start))
        return float(np.nansum(daily["output"][sewn]))
    if isinstance(obs, TargetDay):
        day = float(kpis.get(f"day_target.{obs.target}", math.nan))
        return float(scenario.horizon_days) if math.isnan(day) else day  # censored at the horizon
    if isinstance(obs, Output | Productivity):
        rows = _period_rows(daily, obs, scenario, start)
        sew = rows & (daily["stage"] == "sew")
        made = float(np.nansum(daily["output"][sew]))
        capacity = daily["capacity_h"].astype(float)
        if isinstance(obs, Output):
            if obs.per == "period":
                return made
            # working days: those on which the chosen sites' sewing teams have hours (capacities are >= 0, so
            # a day's total is positive exactly when one of them is)
            days = len(np.unique(daily["day"][sew & (capacity > 0)]))
            return made / days if days else math.nan
        staff = sew if obs.staff == "sewing" else rows & (daily["stage"] != "transport")
        on_duty = daily["present"][staff].astype(float) * (capacity[staff] > 0)
        person_days = float(np.nansum(on_duty))
        return made / person_days if person_days else math.nan
    raise TypeError(f"unknown observation type {type(obs).__name__}")


def extract_one(obs: BaseModel, scenario: Scenario, kpis: Mapping[str, float], daily: pd.DataFrame | Columns,
                series: pd.DataFrame | Columns) -> float:
    """The model's value of one observation in one run (tables as in RunResult / docs/results.md, or their
    columns as arrays)."""
    return _value(obs, scenario, kpis, _columns(daily, DAILY_COLUMNS), _columns(series, SERIES_COLUMNS))


def extract(observations: Mapping[str, BaseModel], scenario: Scenario, kpis: Mapping[str, float],
            daily: pd.DataFrame | Columns, series: pd.DataFrame | Columns) -> dict[str, float]:
    daily_columns, series_columns = _columns(daily, DAILY_COLUMNS), _columns(series, SERIES_COLUMNS)
    return {name: _value(obs, scenario, kpis, daily_columns, series_columns) for name, obs in observations.items()}


def _rows_by_run(table: pd.DataFrame, names: tuple[str, ...]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """A combined table's columns and, per run id, the indices of its rows (in table order)."""
    rows = {str(rid): idx for rid, idx in table.groupby("run_id", sort=False).indices.items()}
    return _columns(table, names), rows


def extract_runs(observations: Mapping[str, BaseModel], scenario: Scenario | Mapping[str, Scenario],
                 runs: pd.DataFrame, daily: pd.DataFrame, series: pd.DataFrame) -> pd.DataFrame:
    """One row per ok run of the combined tables (runs/daily/series.parquet): run_id and one column per
    observation. `scenario`: that of every run, or run id -> scenario (the points of a calibration wave)."""
    import pandas as pd

    ok = runs[runs["status"] == "ok"]
    daily_columns, daily_rows = _rows_by_run(daily, DAILY_COLUMNS)
    series_columns, series_rows = _rows_by_run(series, SERIES_COLUMNS)
    nothing = np.empty(0, dtype=np.intp)
    targets = [c for c in ok.columns if c.startswith("day_target.")]
    rows = []
    for rid, *days in zip(ok["run_id"], *(ok[c] for c in targets), strict=True):
        kpis = {k: float(v) for k, v in zip(targets, days, strict=True)}
        in_daily, in_series = daily_rows.get(rid, nothing), series_rows.get(rid, nothing)
        values = extract(observations, scenario if isinstance(scenario, Scenario) else scenario[rid], kpis,
                         {k: v[in_daily] for k, v in daily_columns.items()},
                         {k: v[in_series] for k, v in series_columns.items()})
        rows.append({"run_id": rid, **values})
    return pd.DataFrame(rows, columns=["run_id", *observations])
