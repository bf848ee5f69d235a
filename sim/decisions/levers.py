"""Levers: named changes a crisis cell can make, with what they cost and from when they can act.

A lever sets fields (`set`), adds an amount to numbers or schedules (`add`, per unit of the amount) and
adds people (`cohorts`, per unit), all from its `from` date when the field can change on a date:
schedules (supplier capacity, lab background, absenteeism rate) step on that day, a site's calendar
switches on that day, an added cohort starts that day. A field that takes one value for the whole run
(test benches, a stage's operators, a site's start) cannot: giving `from` after the scenario start is
then an error that says so. A scalable lever has an amount with bounds and a step; others have amount 1.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.config import MAX_DAYS, MAX_PEOPLE, MAX_QUANTITY, NAME_PATTERN, FieldProblem, validate_scenario
from sim.decisions.edits import (
    as_date,
    calendar_from,
    get_path,
    is_schedule,
    named,
    set_path_value,
    transform_between,
)
from sim.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


def _amount(default: Any = ..., **bounds: Any) -> Any:
    """A finite number (never true/false or text read as one) within stated bounds."""
    return Field(default, strict=True, **bounds)


PerUnit = Annotated[float, Field(strict=True, ge=-MAX_QUANTITY, le=MAX_QUANTITY)]


MAX_GRID = 10_000
"""Most amounts a scalable lever's grid may hold (what-it-takes searches it)."""


class LeverCost(_Strict):
    """What the lever costs: fixed plus per unit of its amount."""

    euros: float = _amount(0.0, ge=0, le=MAX_QUANTITY, description="fixed cost in euros")
    euros_per_unit: float = _amount(0.0, ge=0, le=MAX_QUANTITY, description="cost in euros per unit of the amount")
    people: float = _amount(0.0, ge=0, le=MAX_PEOPLE, description="people needed (fixed)")
    people_per_unit: float = _amount(0.0, ge=0, le=MAX_PEOPLE, description="people needed per unit of the amount")
    lead_time_days: float = _amount(0.0, ge=0, le=MAX_DAYS, description="days to put it in place once decided")
    source: str = Field(min_length=1, description="where the figures come from, or 'assumption'")

    def at(self, amount: float) -> tuple[float, float]:
        """(euros, people) at this amount."""
        return self.euros + self.euros_per_unit * amount, self.people + self.people_per_unit * amount


class Scalable(_Strict):
    min: float = _amount(0.0, ge=0, le=MAX_QUANTITY, description="smallest amount")
    max: float = _amount(gt=0, le=MAX_QUANTITY, description="largest amount")
    step: float = _amount(gt=0, le=MAX_QUANTITY, description="amounts are min + k × step")
    default: float | None = _amount(None, description="amount used by `resilience run` (default: max)")
    unit: str = Field("unit", description="what one unit of the amount is, in words")

    @model_validator(mode="after")
    def _bounds(self) -> Scalable:
        if self.max < self.min:
            raise FieldProblem("max", self.max, f"max is below min {self.min:g}")
        if (self.max - self.min) / self.step > MAX_GRID:
            raise FieldProblem("step", self.step, f"a step giving at most {MAX_GRID:,} amounts from min to max")
        if self.default is not None:
            if not self.min <= self.default <= self.max:
                raise FieldProblem("default", self.default, f"an amount within [min, max] = [{self.min:g}, "
                                                            f"{self.max:g}]")
            if not any(math.isclose(self.default, a, rel_tol=1e-9, abs_tol=1e-9) for a in self.grid()):
                raise FieldProblem("default", self.default, f"an amount on the grid min + k × step "
                                                            f"({', '.join(f'{a:g}' for a in self.grid()[:6])}, ...)")
        return self

    def grid(self) -> list[float]:
        n = math.floor((self.max - self.min) / self.step + 1e-9)
        return [round(self.min + k * self.step, 9) for k in range(n + 1)]

    @property
    def run_amount(self) -> float:
        return self.max if self.default is None else self.default


class AddedCohort(_Strict):
    """People added at a site from the lever's date: `size_per_unit` × amount (rounded) of them."""

    site: str
    stage: Literal["cut", "sew", "inspect", "pack"] = "sew"
    role: Literal["trainee", "skilled", "trainer"] = "trainee"
    size_per_unit: float = _amount(1.0, gt=0, le=MAX_PEOPLE)


class LeverSpec(_Strict):
    description: str = Field(min_length=1, description="what the lever does, in plain words")
    from_: dt.date | None = Field(None, alias="from", description="earliest date it acts (default: the start)")
    set: dict[str, Any] = Field(default_factory=dict, description="dotted path -> new value")
    add: dict[str, PerUnit] = Field(default_factory=dict, description="dotted path -> added per unit of the amount")
    cohorts: list[AddedCohort] = Field(default_factory=list, description="people added per unit of the amount")
    scalable: Scalable | None = None
    cost: LeverCost

    @model_validator(mode="after")
    def _something(self) -> LeverSpec:
        if not (self.set or self.add or self.cohorts):
            raise ValueError("a lever needs at least one of set, add or cohorts")
        if self.scalable is not None and not (self.add or self.cohorts):
            raise ValueError("a scalable lever scales `add` or `cohorts`; give one of them")
        return self

    def cost_at(self, amount: float) -> tuple[float, float]:
        return self.cost.at(amount)


def check_lever_name(name: str, file: str) -> None:
    import re

    if not re.match(NAME_PATTERN, name):
        raise ConfigError.at(file, f"levers.{name}", name, "a lever name: a letter then letters, digits, _ or -")


def apply_lever(data: dict[str, Any], name: str, lever: LeverSpec, amount: float, file: str) -> None:
    """Apply the lever at `amount` to scenario data in place (then validate the result as a scenario)."""
    where = f"levers.{name}"
    start = as_date(data["start"])
    day = lever.from_ or start
    last = start + dt.timedelta(days=int(data["horizon_days"]) - 1)
    if not start <= day <= last:
        raise ConfigError.at(file, f"{where}.from", day.isoformat(),
                             f"a date inside the simulated period, {start.isoformat()} to {last.isoformat()}")
    dated = day > start
    if lever.scalable is not None and not lever.scalable.min - 1e-9 <= amount <= lever.scalable.max + 1e-9:
        raise ConfigError.at(file, f"{where}.scalable", amount,
                             f"an amount within [{lever.scalable.min}, {lever.scalable.max}]")
    for path, value in lever.set.items():
        current = get_path(data, path, file, f"{where}.set")
        if not dated:
            set_path_value(data, path, copy.deepcopy(value), file)
        elif path.endswith(".calendar") and isinstance(value, str):
            set_path_value(data, path, calendar_from(current, day, value, start), file)
        elif is_schedule(current) and isinstance(value, int | float) and _accepts_schedule(data, path, file):
            set_path_value(data, path, transform_between(current, day, None, start, lambda _v, x=value: float(x)),
                           file)
        else:
            raise _not_datable(file, where, path, day)
    for path, per_unit in lever.add.items():
        current = get_path(data, path, file, f"{where}.add")
        extra = per_unit * amount
        if not is_schedule(current):
            raise ConfigError.at(file, f"{where}.add.{path}", current, "a number or a [[date, value], ...] schedule")
        if dated and not _accepts_schedule(data, path, file):
            raise _not_datable(file, where, path, day)
        if dated:
            set_path_value(data, path, transform_between(current, day, None, start, lambda v, e=extra: v + e), file)
        else:
            new = current + extra if isinstance(current, int | float) else [[d, v + extra] for d, v in current]
            if isinstance(current, int) and float(new).is_integer():
                new = int(new)
            set_path_value(data, path, new, file)
    for i, cohort in enumerate(lever.cohorts):
        site = named(data, "sites", cohort.site, file, f"{where}.cohorts[{i}].site", "site")
        size = round(cohort.size_per_unit * amount)
        if size == 0:
            continue  # an amount of zero adds nobody (and keeps the run identical to the base)
        site.setdefault("cohorts", []).append({
            "name": f"lever_{name}_{i}", "role": cohort.role, "size": size, "stage": cohort.stage,
            "start": day.isoformat()})
    check = copy.deepcopy(data)
    validate_scenario(check, f"{file} (lever {name} at amount {amount:g})")


def _accepts_schedule(data: dict[str, Any], path: str, file: str) -> bool:
    """Whether the field at `path` takes a [[date, value], ...] schedule (tried on a copy)."""
    trial = copy.deepcopy(data)
    start = as_date(data["start"])
    current = get_path(trial, path, file)
    set_path_value(trial, path, transform_between(current, start, None, start, lambda v: v), file)
    try:
        validate_scenario(trial, file)
    except ConfigError:
        return False
    return True


def _not_datable(file: str, where: str, path: str, day: dt.date) -> ConfigError:
    return ConfigError.at(file, f"{where}.from", day.isoformat(),
                          f"{path} takes one value for the whole run and cannot change on a date; drop `from` "
                          "(the change then holds from the start; say so in the description) or use a field "
                          "with a schedule, a calendar change or added cohorts")


def run_amount(lever: LeverSpec) -> float:
    return lever.scalable.run_amount if lever.scalable is not None else 1.0
