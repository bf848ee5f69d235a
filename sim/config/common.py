"""What every part of the scenario schema shares: the strict base model, the physical limits of every
number, names and stage order, schedules, delays, windows, and the problems a validator raises with their
own field path (rendered as one line by `sim.config.messages`)."""

from __future__ import annotations

import datetime as dt
import math
import typing
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, model_validator

from sim.distributions import Dist

SiteKind = Literal["industrial", "textile", "adapted", "insertion", "esat", "prison", "volunteer", "packaging", "hub"]
StageName = Literal["cut", "sew", "inspect", "pack"]
STAGE_ORDER: tuple[str, ...] = typing.get_args(StageName)
"""A site's stages in flow order (the order of `StageName`)."""
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_\-]*$"

# Physical limits of every number in a config. They are far beyond anything real (the whole French
# effort of 2020 was ~100 sites and ~60 M masks) but finite, so that no value can overflow the model's
# arithmetic or make a run never end. Each field states its own range with Field(ge/gt/le/lt).
MAX_PEOPLE = 100_000  # people (or machines, benches) in one stage of one site
MAX_MINUTES = 600.0  # minutes of work per mask
MAX_DAYS = 3650.0  # any duration in days (the horizon is at most 10 years)
MAX_MASKS = 10**10  # masks in one order or target
MAX_QUANTITY = 1e12  # material quantities, stocks, rates per day
MAX_FACTOR = 10.0  # multipliers (absence factors, disruption factors)
MAX_PRICE = 1000.0  # EUR per mask
MAX_DELAY_DAYS = 365.0  # mean of any delay (lead, transit, report, adjustment)

StrictFloat = Annotated[float, Strict()]
Schedule = StrictFloat | list[tuple[dt.date, StrictFloat]]
"""A value constant over time, or piecewise constant: [[date, value], ...] in date order."""


class StrictModel(BaseModel):
    """Unknown fields are refused; numbers must be finite, and numbers are never taken from booleans
    (`operators: true` is not 1) or from text: every numeric field is declared strict below."""

    model_config = ConfigDict(extra="forbid", frozen=False, allow_inf_nan=False)


class FieldProblem(ValueError):
    """A rule across fields, raised by a model's validator, naming the field (relative to that model) and
    its value, so the one-line error points at the field rather than printing the whole model."""

    def __init__(self, field: str, value: Any, allowed: str) -> None:
        super().__init__(allowed)
        self.field, self.value, self.allowed = field, value, allowed


def check_schedule(value: Schedule, minimum: float = 0.0, maximum: float = MAX_QUANTITY) -> Schedule:
    values = [value] if isinstance(value, int | float) else [v for _, v in value]
    for v in values:
        if not math.isfinite(v) or v < minimum or v > maximum:
            raise ValueError(f"values must be finite numbers between {minimum:g} and {maximum:g}")
    if not isinstance(value, int | float):
        dates = [d for d, _ in value]
        if dates != sorted(dates) or not dates:
            raise ValueError("a schedule is a non-empty list of [date, value] in date order")
    return value


def _mean_at_most(what: str, maximum: float = MAX_DELAY_DAYS) -> AfterValidator:
    def check(value: Dist) -> Dist:
        if value.mean > maximum:
            raise ValueError(f"{what} of {value.mean:g} days on average: at most {maximum:g} days")
        return value

    return AfterValidator(check)


# A delay in days drawn from a distribution, bounded on average. One type per kind of delay, so that the
# error names it ("a lead time of 400 days on average: at most 365 days").
LeadTime = Annotated[Dist, _mean_at_most("a lead time")]
TransitTime = Annotated[Dist, _mean_at_most("a transit time")]
LastMileTime = Annotated[Dist, _mean_at_most("a last-mile transit time")]
ReportDelay = Annotated[Dist, _mean_at_most("a report delay")]
AdjustmentDelay = Annotated[Dist, _mean_at_most("an adjustment delay")]


class DateUniform(StrictModel):
    uniform: tuple[dt.date, dt.date] = Field(description="[earliest, latest] date, whole days drawn uniformly")

    @model_validator(mode="after")
    def _ordered(self) -> DateUniform:
        if self.uniform[0] > self.uniform[1]:
            raise ValueError("uniform needs the earlier date first")
        return self


class Window(StrictModel):
    """A period [start, end) during which a capacity is multiplied by `factor` (0 = shut)."""

    start: dt.date = Field(description="first day")
    end: dt.date = Field(description="day after the last")
    factor: float = Field(0.0, ge=0.0, le=MAX_FACTOR, strict=True, description="capacity multiplier (0 = shut)")

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class ReferenceError_(ValueError):
    """A reference problem with its own field path (rendered by `format_validation_error`)."""

    def __init__(self, path: str, value: Any, allowed: str) -> None:
        super().__init__(allowed)
        self.path, self.value, self.allowed = path, value, allowed


def known_names(kind: str, names: Any) -> str:
    """'unknown calendar; known: a, b, c' (at most twelve names shown)."""
    names = sorted(names)
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f"unknown {kind}; known: {shown or '(none)'}"


def render_path(tokens: list[str | int]) -> str:
    """['sites', 'a', 'cohorts', 0, 'size'] -> 'sites.a.cohorts[0].size'."""
    out = ""
    for t in tokens:
        out += f"[{t}]" if isinstance(t, int) else (f".{t}" if out else t)
    return out
