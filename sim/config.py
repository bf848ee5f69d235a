"""The scenario schema (pydantic, `extra="forbid"`), YAML loading and dotted-path overrides.

A scenario file is validated here up front, references and the stage order of routes included, so that a typo fails
at once with one line naming the file, the field path, the bad value and what is allowed, instead of
deep inside a run.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import itertools
import json
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, field_validator, model_validator

from sim.distributions import Dist
from sim.errors import ConfigError, problem_line
from sim.public_holidays import is_known

SiteKind = Literal["industrial", "textile", "adapted", "insertion", "esat", "prison", "packaging", "hub"]
StageName = Literal["cut", "sew", "inspect", "pack"]
STAGE_ORDER: tuple[str, ...] = ("cut", "sew", "inspect", "pack")
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


def _check_schedule(value: Schedule, minimum: float = 0.0, maximum: float = MAX_QUANTITY) -> Schedule:
    values = [value] if isinstance(value, int | float) else [v for _, v in value]
    for v in values:
        if not math.isfinite(v) or v < minimum or v > maximum:
            raise ValueError(f"values must be finite numbers between {minimum:g} and {maximum:g}")
    if not isinstance(value, int | float):
        dates = [d for d, _ in value]
        if dates != sorted(dates) or not dates:
            raise ValueError("a schedule is a non-empty list of [date, value] in date order")
    return value


def _check_delay(value: Dist, what: str = "a delay", maximum: float = 365.0) -> Dist:
    if value.mean > maximum:
        raise ValueError(f"{what} of {value.mean:g} days on average: at most {maximum:g} days")
    return value


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


# ----------------------------------------------------------------------------------------------------
# Calendars and people


class CalendarSpec(StrictModel):
    shifts: list[tuple[str, str]] = Field(min_length=1, max_length=24,
                                          description="[start, end] clock times of each shift (HH:MM, end after "
                                                      "start)")
    weekdays: list[Weekday] = Field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"],
                                    description="days of the week the site works")
    holidays: str | list[dt.date] | None = Field(
        None, description="explicit dates off, a list named in `holidays`, or public holidays by country code "
                          "from the holidays package: FR (every year), fr_2020 (that year only)")

    @field_validator("shifts")
    @classmethod
    def _clock_times(cls, shifts: list[tuple[str, str]]) -> list[tuple[str, str]]:
        for start, end in shifts:
            for text in (start, end):
                if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d|24:00", text):
                    raise ValueError(f"{text!r} is not a time HH:MM between 00:00 and 24:00")
            if end <= start:
                raise ValueError(f"shift {start}-{end} must end after it starts (split night shifts in two)")
        ordered = sorted(shifts)
        for (a_start, a_end), (b_start, b_end) in itertools.pairwise(ordered):
            if b_start < a_end:
                raise ValueError(f"shifts {a_start}-{a_end} and {b_start}-{b_end} overlap")
        return shifts


class CalendarChange(StrictModel):
    start: dt.date = Field(alias="from", description="from this date on")
    calendar: str = Field(description="use this calendar")

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


class Learning(StrictModel):
    """How a cohort's efficiency (standard time ÷ actual time per mask) grows.

    - none: constant at `ceiling`.
    - wright: time per mask = first_mask_min × n^log2(rate) on each person's cumulative output n,
      floored at standard time ÷ ceiling.
    - exponential: efficiency = ceiling − (ceiling − e0)·exp(−days on the job / tau_days).
    """

    model: Literal["none", "wright", "exponential"] = Field("none", description="none, wright or exponential")
    first_mask_min: float | None = Field(None, gt=0, le=MAX_MINUTES, strict=True,
                                         description="Wright: minutes for the first mask")
    rate: float | None = Field(None, gt=0, le=1, strict=True,
                               description="Wright: learning rate (time × rate per doubling of output)")
    e0: float | None = Field(None, ge=0, le=2, strict=True, description="exponential: starting efficiency")
    tau_days: float | None = Field(None, gt=0, le=MAX_DAYS, strict=True,
                                   description="exponential: time constant in days")
    ceiling: float | None = Field(None, gt=0, le=2, strict=True, description="highest efficiency")


class Cohort(StrictModel):
    name: str = Field(pattern=NAME_PATTERN, description="unique within the site")
    role: Literal["trainee", "skilled", "trainer"] = Field("skilled", description="trainee, skilled or trainer")
    size: int = Field(ge=0, le=MAX_PEOPLE, strict=True, description="people per shift")
    start: dt.date | None = Field(None, description="first day (default: the site's)")
    stage: StageName = Field("sew", description="the stage the cohort works at")
    learning: Learning | None = Field(None, description="learning curve (default: archetype's)")
    absenteeism_factor: float = Field(1.0, ge=0, le=MAX_FACTOR, strict=True, description="multiplies the absence rate")


class StageSpec(StrictModel):
    minutes_per_mask: float = Field(gt=0, le=MAX_MINUTES, strict=True,
                                    description="standard time of a skilled worker per mask")
    cv: float = Field(0.3, ge=0, le=10, strict=True, description="coefficient of variation of one mask's time")
    operators: int | None = Field(
        None, ge=0, le=MAX_PEOPLE, strict=True,
        description="skilled operators when no cohort is given; each works at the site's ceiling "
        "(`ceiling`, default its kind's archetype ceiling) x 60 / minutes_per_mask masks an hour, not at the "
        "standard time (0.4 min/mask at a packaging site, ceiling 0.6: 90 an hour, not 150)")
    machines: int | None = Field(None, ge=1, le=MAX_PEOPLE, strict=True,
                                 description="machines limiting the operators at work")
    mtbf_hours: float | None = Field(None, gt=0, le=1e6, strict=True,
                                     description="mean time between failures of one machine")
    mttr_hours: float | None = Field(None, gt=0, le=24 * MAX_DAYS, strict=True, description="mean time to repair")
    buffer_days: float | None = Field(
        5.0, gt=0, le=365, strict=True, description="input buffer capacity in days of nominal work, counting lots "
        "on their way (None: unbounded)")


class Supervision(StrictModel):
    trainees_per_trainer: float = Field(8.0, gt=0, le=1000, strict=True,
                                        description="trainees one trainer (or skilled person) can follow")
    trainer_output_loss: float = Field(0.5, ge=0, le=1, strict=True,
                                       description="share of a trainer's output lost to training")


class Archetype(StrictModel):
    """Defaults of a site kind; every field can be overridden per site or cohort."""

    ceiling: float = Field(gt=0, le=2, strict=True)
    first_mask_min: float = Field(gt=0, le=MAX_MINUTES, strict=True)
    wright_rate: float = Field(gt=0, le=1, strict=True)
    absenteeism_factor: float = Field(1.0, ge=0, le=MAX_FACTOR, strict=True)
    defect_trainee: float = Field(ge=0, le=1, strict=True)
    defect_skilled: float = Field(ge=0, le=1, strict=True)
    calendar: str | None = None


class AuditSpec(StrictModel):
    required: bool = Field(True, strict=True, description="this site needs an audit")
    policy: Literal["at_risk", "wait"] | None = Field(None, description="overrides the network policy")


Stock = Annotated[float, Field(ge=0, le=MAX_QUANTITY, strict=True)]


class SiteSpec(StrictModel):
    kind: SiteKind = Field(description="site archetype")
    region: str = Field("france", description="for regional absenteeism waves")
    calendar: str | list[CalendarChange] = Field("one_shift",
                                                 description="calendar name, or [{from: date, calendar: name}, ...] "
                                                             "to change it on dates")
    start: dt.date | None = Field(None, description="first working day (default: the scenario start)")
    stages: dict[StageName, StageSpec] = Field(default_factory=dict, description="stages performed")
    cohorts: list[Cohort] = Field(default_factory=list, description="the people, by cohort")
    stocks: dict[str, Stock] = Field(default_factory=dict, description="opening material stocks")
    cover_days: float = Field(7.0, gt=0, le=365, strict=True,
                              description="order-up-to level in days of nominal consumption")
    ceiling: float | None = Field(None, gt=0, le=2, strict=True,
                                  description="efficiency ceiling for this site (default: the archetype's)")
    defect_trainee: float | None = Field(None, ge=0, le=1, strict=True,
                                         description="defect probability of a novice (default: archetype)")
    defect_skilled: float | None = Field(None, ge=0, le=1, strict=True,
                                         description="defect probability at the ceiling (default: archetype)")
    supervision: Supervision = Field(default_factory=Supervision, description="how trainees are supervised")
    audit: AuditSpec = Field(default_factory=AuditSpec, description="this site's certification audit")

    @model_validator(mode="after")
    def _coherent(self) -> SiteSpec:
        if self.kind == "hub" and self.stages:
            raise ValueError("a hub holds stock and ships; it has no stages")
        if self.kind != "hub" and not self.stages:
            raise ValueError("a site needs at least one stage (cut, sew, inspect, pack)")
        names = [c.name for c in self.cohorts]
        if len(names) != len(set(names)):
            raise ValueError(f"cohort names must be unique within a site: {names}")
        for c in self.cohorts:
            if c.stage not in self.stages:
                raise ValueError(f"cohort {c.name!r} works at stage {c.stage!r}, which this site does not have")
        for name, stage in self.stages.items():
            staffed = stage.operators or any(c.stage == name for c in self.cohorts)
            if not staffed:
                raise FieldProblem(f"stages.{name}.operators", stage.operators, "this stage has neither operators "
                                   "nor a cohort: give it operators or a cohort working at it")
        return self


class GroupSpec(StrictModel):
    """N similar sites; size and start are drawn per member from the member's own named stream.

    Each member's people (size) form its sewing cohorts, so a group needs a `sew` stage, and every
    other stage needs its own `operators`."""

    kind: SiteKind = Field(description="site archetype of every member")
    count: int = Field(ge=1, le=10_000, strict=True, description="number of member sites")
    regions: list[str] = Field(default_factory=lambda: ["france"], min_length=1, description="regions drawn from")
    calendar: str | list[CalendarChange] = Field("one_shift", description="calendar of every member")
    size: Dist = Field(description="people per member (a distribution)")
    start: dt.date | DateUniform = Field(description="start date, or {uniform: [date, date]}")
    role: Literal["trainee", "skilled"] = Field("trainee", description="role of the non-skilled people")
    skilled_share: float = Field(0.2, ge=0, le=1, strict=True,
                                 description="share of each member's people already skilled")
    stages: dict[StageName, StageSpec] = Field(description="stages every member performs")
    cover_days: float = Field(7.0, gt=0, le=365, strict=True, description="order-up-to level in days of consumption")
    stocks: dict[str, Stock] = Field(default_factory=dict, description="opening stocks of every member")
    audit: AuditSpec = Field(default_factory=AuditSpec, description="members' certification audit")

    @field_validator("size")
    @classmethod
    def _people(cls, size: Dist) -> Dist:
        if size.mean > MAX_PEOPLE:
            raise ValueError(f"{size.mean:g} people per member on average: at most {MAX_PEOPLE:,}")
        return size

    @model_validator(mode="after")
    def _staffed(self) -> GroupSpec:
        if self.kind == "hub":
            raise ValueError("a group is a family of production sites; declare hubs under sites")
        if "sew" not in self.stages:
            raise FieldProblem("stages", sorted(self.stages), "a group's people sew: its stages need 'sew'")
        for name, stage in self.stages.items():
            if name != "sew" and not stage.operators:
                raise FieldProblem(f"stages.{name}.operators", stage.operators,
                                   "a group's people all sew: its other stages need operators >= 1")
        return self


# ----------------------------------------------------------------------------------------------------
# Materials, suppliers, routes


class MaterialSpec(StrictModel):
    unit: str = Field(description="unit of the quantities")
    per_mask: float = Field(gt=0, le=1000, strict=True, description="quantity per mask")
    stage: Literal["cut", "pack"] = Field("cut", description="stage that consumes it (cut or pack)")


class SupplierSpec(StrictModel):
    material: str = Field(description="what it supplies")
    capacity_per_day: Schedule = Field(description=f"quantity per day: number or schedule, 0 to {MAX_QUANTITY:g}")
    lead_time_days: Dist = Field(description="delay from shipment to arrival")
    fill_rate: float = Field(1.0, gt=0, le=1, strict=True,
                             description="share of each shipment's quantity that arrives")
    disruptions: list[Window] = Field(default_factory=list,
                                      description="windows when capacity is multiplied by a factor")
    customers: list[str] = Field(min_length=1, description="sites or groups served")
    review_days: float = Field(1.0, gt=0, le=365, strict=True,
                               description="days between two looks at the customers' orders")

    @field_validator("capacity_per_day")
    @classmethod
    def _capacity(cls, value: Schedule) -> Schedule:
        return _check_schedule(value)

    @field_validator("lead_time_days")
    @classmethod
    def _lead(cls, value: Dist) -> Dist:
        return _check_delay(value, "a lead time")


class LaneSpec(StrictModel):
    mode: Literal["immediate", "daily", "full"] = Field("immediate",
                                                        description="immediate: each lot leaves at once; daily: "
                                                                    "trucks leave at departure_hour; full: a truck "
                                                                    "leaves when truck_cartons are loaded")
    departure_hour: float = Field(17.0, ge=0, lt=24, strict=True, description="hour of the daily departure")
    trucks: int = Field(1, ge=1, le=10_000, strict=True, description="trucks per departure")
    truck_cartons: int | None = Field(None, ge=1, le=1_000_000, strict=True,
                                      description="cartons per truck (None: never binding)")
    disruptions: list[Window] = Field(default_factory=list, description="windows with fewer (or no) departures")


def _lane_needs_capacity(lane: LaneSpec) -> LaneSpec:
    if lane.mode == "full" and lane.truck_cartons is None:
        raise ValueError("mode 'full' needs truck_cartons (when is a truck full?)")
    return lane


class RouteSpec(StrictModel):
    source: str = Field(alias="from", description="site or group whose output this is")
    to: list[str] = Field(min_length=1, description="destination sites or groups")
    transit_days: Dist = Field(default_factory=lambda: Dist(const=1.0), description="travel time")
    lane: LaneSpec = Field(default_factory=LaneSpec, description="how lots travel")

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    @field_validator("to", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("lane")
    @classmethod
    def _lane(cls, lane: LaneSpec) -> LaneSpec:
        return _lane_needs_capacity(lane)

    @field_validator("transit_days")
    @classmethod
    def _transit(cls, value: Dist) -> Dist:
        return _check_delay(value, "a transit time")


# ----------------------------------------------------------------------------------------------------
# Certification, quality, packaging


class LabSpec(StrictModel):
    benches: int = Field(1, ge=1, le=10_000, strict=True, description="parallel test benches")
    tests_per_bench_per_day: float = Field(gt=0, le=100_000, strict=True, description="mean test rate of one bench")
    test_time_cv: float = Field(1.0, ge=0, le=10, strict=True, description="1.0 = exponential test times")
    report_delay_days: Dist = Field(default_factory=lambda: Dist(const=1.0), description="from test to verdict")
    background_per_day: Schedule = Field(0.0, description="samples from outside the network: number or schedule, "
                                         "0 to 1e6 a day")
    initial_backlog: int = Field(0, ge=0, le=10_000_000, strict=True, description="outside samples waiting on day 0")
    network_priority: bool = Field(False, strict=True, description="the network's samples go before the outside queue")
    instant: bool = Field(False, strict=True, description="every verdict at once: the no-lab counterfactual")

    @field_validator("background_per_day")
    @classmethod
    def _rate(cls, value: Schedule) -> Schedule:
        return _check_schedule(value, 0.0, 1e6)

    @field_validator("report_delay_days")
    @classmethod
    def _delay(cls, value: Dist) -> Dist:
        return _check_delay(value, "a report delay")


class DesignSpec(StrictModel):
    certified: bool = Field(True, strict=True, description="the standard design is already approved")
    submit: dt.date | None = Field(None, description="date the design sample is sent")
    pass_probability: float = Field(0.3, ge=0, le=1, strict=True, description="chance one submission passes")
    adjust_days: Dist = Field(default_factory=lambda: Dist(tri=(2, 4, 7)), description="delay before a resubmission")

    @field_validator("adjust_days")
    @classmethod
    def _delay(cls, value: Dist) -> Dist:
        return _check_delay(value, "an adjustment delay")


class SiteAuditSpec(StrictModel):
    required: bool = Field(True, strict=True, description="every sewing site needs an audit sample approved")
    pass_probability: float = Field(0.9, ge=0, le=1, strict=True, description="chance an audit sample passes")
    policy: Literal["at_risk", "wait"] = Field("at_risk",
                                               description="at_risk: produce and hold; wait: stop after the sample")
    adjust_days: Dist = Field(default_factory=lambda: Dist(tri=(1, 3, 7)), description="delay before resubmitting")
    on_fail: Literal["scrap", "keep"] = Field("scrap", description="what happens to held stock")

    @field_validator("adjust_days")
    @classmethod
    def _delay(cls, value: Dist) -> Dist:
        return _check_delay(value, "an adjustment delay")


class CertificationSpec(StrictModel):
    lab: LabSpec | None = Field(None, description="the test lab (none: no certification at all)")
    design: DesignSpec = Field(default_factory=DesignSpec, description="the standard design")
    site_audit: SiteAuditSpec = Field(default_factory=SiteAuditSpec, description="audits of each sewing site")


class SamplingPlan(StrictModel):
    max_lot: int = Field(ge=1, le=10_000_000, strict=True, description="plan applies to lots up to this size")
    sample: int = Field(ge=1, le=1_000_000, strict=True, description="masks sampled")
    accept: int = Field(ge=0, le=1_000_000, strict=True,
                        description="accept the lot with at most this many defective in the sample")

    @model_validator(mode="after")
    def _accept_below_sample(self) -> SamplingPlan:
        if self.accept > self.sample:  # accept == sample is legal: a plan that passes every lot
            raise FieldProblem("accept", self.accept, f"cannot exceed sample ({self.sample}): at most the whole "
                               "sample can be defective")
        return self


class QualitySpec(StrictModel):
    sampling_plans: list[SamplingPlan] = Field(min_length=1, description="single sampling plans by lot size")
    rework_share: float = Field(0.7, ge=0, le=1, strict=True,
                                description="share of defective masks found that are reworked")
    rework_minutes_per_mask: float = Field(1.0, gt=0, le=MAX_MINUTES, strict=True,
                                           description="sewing time to rework one defective mask")
    on_reject: Literal["sort", "scrap"] = Field("sort", description="sort (and rework) or scrap")

    @model_validator(mode="after")
    def _ordered(self) -> QualitySpec:
        sizes = [p.max_lot for p in self.sampling_plans]
        if sizes != sorted(sizes):
            raise ValueError("sampling_plans must be in increasing max_lot order")
        return self


class PackagingSpec(StrictModel):
    carton_size: int = Field(500, ge=1, le=1_000_000, strict=True,
                             description="masks per carton (truck loads count cartons)")


# ----------------------------------------------------------------------------------------------------
# Demand


class OrderSpec(StrictModel):
    date: dt.date = Field(description="placed on")
    masks: int = Field(ge=1, le=MAX_MASKS, strict=True, description="quantity")
    due: dt.date | None = Field(None, description="due date")

    @model_validator(mode="after")
    def _due_after_placed(self) -> OrderSpec:
        if self.due is not None and self.due < self.date:
            raise FieldProblem("due", str(self.due), f"on or after the day the order is placed ({self.date})")
        return self


class ChannelSpec(StrictModel):
    hub: str | None = Field(None, description="hub that serves it (default: the first)")
    price: float = Field(0.0, ge=0, le=MAX_PRICE, strict=True, description="EUR per mask (0 = free)")
    priority: int = Field(1, ge=0, le=1000, strict=True, description="lower is served first under the priority policy")
    weekly: float = Field(0.0, ge=0, le=1e9, strict=True, description="standing demand per week, ordered each week")
    weekly_from: dt.date | None = Field(None, description="standing demand starts")
    weekly_until: dt.date | None = Field(None, description="standing demand stops (demand collapse)")
    due_days: float = Field(7.0, ge=0, le=365, strict=True, description="standing orders are due after")
    orders: list[OrderSpec] = Field(default_factory=list, description="one-off orders")
    cancel_open_after: dt.date | None = Field(None, description="open orders are cancelled from this date")
    transit_days: Dist = Field(default_factory=lambda: Dist(const=1.0), description="last-mile delivery time")

    @field_validator("transit_days")
    @classmethod
    def _transit(cls, value: Dist) -> Dist:
        return _check_delay(value, "a last-mile transit time")

    @model_validator(mode="after")
    def _weekly_window(self) -> ChannelSpec:
        if self.weekly_from is not None and self.weekly_until is not None and self.weekly_until <= self.weekly_from:
            raise FieldProblem("weekly_until", str(self.weekly_until), f"after weekly_from ({self.weekly_from})")
        return self


class AllocationSpec(StrictModel):
    policy: Literal["priority", "proportional", "fcfs"] = Field("priority",
                                                                description="priority, proportional or fcfs")
    reserved_free_share: float = Field(0.0, ge=0, le=1, strict=True,
                                       description="share of each allocation reserved for free channels")
    hour: float = Field(16.0, ge=0, lt=24, strict=True, description="hour of the daily allocation")


class AbsenteeismSpec(StrictModel):
    rate: Schedule = Field(0.0, description="share of people absent each day (0 to 1): a number or "
                           "[[date, rate], ...]")
    waves: list[Wave] = Field(default_factory=list, description="correlated regional shocks")

    @field_validator("rate")
    @classmethod
    def _rate(cls, value: Schedule) -> Schedule:
        return _check_schedule(value, 0.0, 1.0)


class Wave(StrictModel):
    """A correlated shock: every site of a region loses an extra share of its people for a period."""

    region: str = Field(description="sites of this region are hit")
    start: dt.date = Field(description="first day")
    end: dt.date = Field(description="day after the last")
    extra_rate: float = Field(gt=0, le=1, strict=True, description="added absence rate")


AbsenteeismSpec.model_rebuild()


class TargetSpec(StrictModel):
    masks: int = Field(ge=1, le=MAX_MASKS, strict=True, description="the goal")
    by: dt.date | None = Field(None, description="the date it should be reached by (optional)")
    measure: Literal["delivered", "sewn", "free"] = Field("delivered",
                                                          description="what counts: masks delivered, sewn, or "
                                                                      "delivered free")


# ----------------------------------------------------------------------------------------------------
# The scenario


class LotSizing(StrictModel):
    """Lots sized per sewing site from its daily output instead of one size for the whole network."""

    day_share: float = Field(gt=0, le=1,
                             description="a sewing site's lot is this share of its nominal output per working day "
                                         "(all sewers present at their ceiling), rounded down to a multiple of "
                                         "lot_size and never below it")
    max_lot: int | None = Field(None, ge=1, le=1_000_000, strict=True, description="largest lot (null: no cap)")


class Scenario(StrictModel):
    name: str = Field(pattern=NAME_PATTERN, description="identifier used for the results directory")
    description: str = Field("", description="free text")
    start: dt.date = Field(description="first simulated day (hour 0 is its midnight)")
    horizon_days: int = Field(ge=1, le=int(MAX_DAYS), strict=True, description="simulated days")
    lot_size: int = Field(ge=1, le=1_000_000, strict=True,
                          description="masks per cut lot: larger is faster, smaller resolves lead times better")
    lot_sizing: LotSizing | None = Field(
        None, description="adaptive lots (null: every lot is lot_size): a sewing site's lots are a share of its "
                          "daily output, in multiples of lot_size (docs/performance.md measures what it changes)")
    seed: int = Field(2020, ge=0, le=2**63 - 1, strict=True, description="root seed of the random streams")
    replications: int = Field(5, ge=1, le=100_000, strict=True, description="default number of replications")
    targets: dict[str, TargetSpec] = Field(default_factory=dict,
                                           description="named goals; each becomes day_target.<name> and "
                                                       "reached_by_date.<name> KPIs")
    holidays: dict[str, list[dt.date]] = Field(default_factory=dict,
                                               description="named lists of dates a calendar can refer to (public "
                                                           "holidays need none: see CalendarSpec.holidays)")
    calendars: dict[str, CalendarSpec] = Field(description="named shift patterns")
    absenteeism: AbsenteeismSpec = Field(default_factory=AbsenteeismSpec,
                                         description="share of people absent each day, and regional waves")
    archetypes: dict[str, dict[str, Any]] = Field(default_factory=dict,
                                                  description="overrides of the site-kind defaults (ceiling, "
                                                              "first_mask_min, wright_rate, ...)")
    materials: dict[str, MaterialSpec] = Field(default_factory=dict,
                                               description="bill of materials per mask and the stage that consumes "
                                                           "each")
    suppliers: dict[str, SupplierSpec] = Field(default_factory=dict,
                                               description="material suppliers and the sites they serve")
    sites: dict[str, SiteSpec] = Field(description="production sites and hubs by name")
    groups: dict[str, GroupSpec] = Field(default_factory=dict,
                                         description="families of similar sites expanded into <group>_01, "
                                                     "<group>_02, ...")
    routes: list[RouteSpec] = Field(default_factory=list,
                                    description="where each site's (or group's) output goes, and how")
    channels: dict[str, ChannelSpec] = Field(default_factory=dict,
                                             description="demand: who orders, how much, when, at what price")
    allocation: AllocationSpec = Field(default_factory=AllocationSpec,
                                       description="how a hub shares scarce stock between open orders")
    certification: CertificationSpec = Field(default_factory=CertificationSpec,
                                             description="the test lab, the design's certification and the site "
                                                         "audits")
    quality: QualitySpec | None = Field(None,
                                        description="in-line sampling inspection (needed when a site has an inspect "
                                                    "stage)")
    packaging: PackagingSpec = Field(default_factory=PackagingSpec,
                                     description="carton size (bags are a material: `materials.bags.per_mask` = 1 / "
                                                 "masks per bag)")

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        check_references(self)
        return self

    @property
    def end_date(self) -> dt.date:
        return self.start + dt.timedelta(days=self.horizon_days)


class ReferenceError_(ValueError):
    """A reference problem with its own field path (rendered by `format_validation_error`)."""

    def __init__(self, path: str, value: Any, allowed: str) -> None:
        super().__init__(allowed)
        self.path, self.value, self.allowed = path, value, allowed


def _known(kind: str, names: Any) -> str:
    names = sorted(names)
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f"unknown {kind}; known: {shown or '(none)'}"


def check_references(s: Scenario) -> None:
    """Names that must exist, and routes that go forward in the stage order (hence without cycles)."""
    from sim.archetype_defaults import ARCHETYPE_DEFAULTS as ARCHETYPES

    clash = set(s.sites) & set(s.groups)
    if clash:
        raise ReferenceError_("groups", sorted(clash)[0], "a group may not share its name with a site")
    nodes = set(s.sites) | set(s.groups)
    kinds = {n: s.sites[n].kind if n in s.sites else s.groups[n].kind for n in nodes}
    stages = {n: set((s.sites[n] if n in s.sites else s.groups[n]).stages) for n in nodes}
    calendars_used: list[tuple[str, Any]] = []
    for name, site in s.sites.items():
        calendars_used.append((f"sites.{name}.calendar", site.calendar))
        for material in site.stocks:
            if material not in s.materials:
                raise ReferenceError_(f"sites.{name}.stocks.{material}", material, _known("material", s.materials))
    for name, group in s.groups.items():
        calendars_used.append((f"groups.{name}.calendar", group.calendar))
    for kind, overrides in s.archetypes.items():
        if kind not in ARCHETYPES:
            raise ReferenceError_(f"archetypes.{kind}", kind, _known("site kind", ARCHETYPES))
        try:
            Archetype(**{**ARCHETYPES[kind], **overrides})
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            raise ReferenceError_(f"archetypes.{kind}.{field}", err.get("input"), err["msg"]) from None
    for path, cal in calendars_used:
        if isinstance(cal, str):
            if cal not in s.calendars:
                raise ReferenceError_(path, cal, _known("calendar", s.calendars))
        else:
            for i, change in enumerate(cal):
                if change.calendar not in s.calendars:
                    raise ReferenceError_(f"{path}[{i}].calendar", change.calendar, _known("calendar", s.calendars))
    for name, cal in s.calendars.items():
        if isinstance(cal.holidays, str) and cal.holidays not in s.holidays and not is_known(cal.holidays):
            raise ReferenceError_(f"calendars.{name}.holidays", cal.holidays,
                                  _known("holiday list", s.holidays) + "; or a country code of the holidays "
                                  "package, alone or with a year (FR, fr_2020, DE_2021)")
    for name, sup in s.suppliers.items():
        if sup.material not in s.materials:
            raise ReferenceError_(f"suppliers.{name}.material", sup.material, _known("material", s.materials))
        needed_stage = s.materials[sup.material].stage
        for i, customer in enumerate(sup.customers):
            if customer not in nodes:
                raise ReferenceError_(f"suppliers.{name}.customers[{i}]", customer, _known("site or group", nodes))
            if needed_stage not in stages[customer]:
                raise ReferenceError_(f"suppliers.{name}.customers[{i}]", customer,
                                      f"this site has no '{needed_stage}' stage to use {sup.material}")
    sources: set[str] = set()
    for i, route in enumerate(s.routes):
        if route.source not in nodes:
            raise ReferenceError_(f"routes[{i}].from", route.source, _known("site or group", nodes))
        if kinds[route.source] == "hub":
            raise ReferenceError_(f"routes[{i}].from", route.source, "a hub ships to channels, not along routes")
        if route.source in sources:
            raise ReferenceError_(f"routes[{i}].from", route.source, "each site or group has one outgoing route")
        sources.add(route.source)
        last = _last_stage(stages[route.source])
        for j, dest in enumerate(route.to):
            if dest not in nodes:
                raise ReferenceError_(f"routes[{i}].to[{j}]", dest, _known("site or group", nodes))
            first = _first_stage(stages[dest])
            if first is not None and STAGE_ORDER.index(first) <= STAGE_ORDER.index(last):
                raise ReferenceError_(f"routes[{i}].to[{j}]", dest,
                                      f"its first stage '{first}' cannot take the output of '{last}'")
    # No cycle check: every route goes forward in STAGE_ORDER (a destination's first stage comes after the
    # source's last, and hubs ship along no route), so routes cannot form a cycle.
    hubs = {n for n in nodes if kinds[n] == "hub"}
    for name, ch in s.channels.items():
        if ch.hub is not None and ch.hub not in hubs:
            raise ReferenceError_(f"channels.{name}.hub", ch.hub, _known("hub", hubs))
    if s.channels and not hubs:
        raise ReferenceError_("channels", sorted(s.channels)[0], "channels need a site of kind 'hub' to ship from")
    for n in nodes:
        if kinds[n] != "hub" and n not in sources:
            section = "sites" if n in s.sites else "groups"
            raise ReferenceError_(f"{section}.{n}", n, "this site's output goes nowhere: add a route from it")
    for name, target in s.targets.items():
        if target.by is not None and not s.start <= target.by:
            raise ReferenceError_(f"targets.{name}.by", str(target.by), f"a date on or after start {s.start}")
    for name, wave in ((f"absenteeism.waves[{i}]", w) for i, w in enumerate(s.absenteeism.waves)):
        if wave.end <= wave.start:
            raise ReferenceError_(f"{name}.end", str(wave.end), "must be after start")


def _first_stage(stages: set[str]) -> str | None:
    return next((st for st in STAGE_ORDER if st in stages), None)


def _last_stage(stages: set[str]) -> str:
    return next(st for st in reversed(STAGE_ORDER) if st in stages)


# ----------------------------------------------------------------------------------------------------
# Loading, overrides and error messages


def read_yaml(path: Path) -> dict[str, Any]:
    """Safe-load a YAML mapping within size, depth and alias limits (sim.yamlsafe); any problem is a
    one-line ConfigError naming the file."""
    from sim.yamlsafe import load_yaml_text, read_text

    file = str(path)
    data = load_yaml_text(read_text(path), file)
    if data is None:
        raise ConfigError.at(file, "", "", "the file is empty; a scenario is a YAML mapping")
    if not isinstance(data, dict):
        raise ConfigError.at(file, "", data, "the top level must be a YAML mapping of fields")
    return data


_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(path: str) -> list[str | int]:
    """'sites.a.cohorts[0].size' -> ['sites', 'a', 'cohorts', 0, 'size']."""
    tokens: list[str | int] = []
    pos = 0
    for match in _PATH_TOKEN.finditer(path):
        between = path[pos:match.start()]
        if between not in ("", "."):
            raise ValueError(f"cannot parse {path!r}")
        tokens.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    if pos != len(path) or not tokens:
        raise ValueError(f"cannot parse {path!r}")
    return tokens


def set_path(data: dict[str, Any], path: str, value: Any, file: str = "--set") -> None:
    """Set `value` at a dotted path. Missing mapping keys at the leaf are created (the schema then
    decides whether they are allowed). A missing (or null) intermediate key is created when the schema
    puts a section there (`certification.lab`, `quality`, `archetypes.esat`); a missing site, group or
    list index is an error naming what exists."""
    try:
        tokens = parse_path(path)
    except ValueError:
        raise ConfigError.at(file, path, value, "a dotted path like sites.NAME.cohorts[0].size") from None
    node: Any = data
    annotation: Any = Scenario
    for depth, token in enumerate(tokens[:-1]):
        here = _render(tokens[: depth + 1])
        child = _child_annotation(annotation, token)
        if isinstance(token, int):
            if not isinstance(node, list) or token >= len(node):
                raise ConfigError.at(file, here, token, "no such list item")
        elif isinstance(node, dict) and node.get(token) is None and _creatable(annotation, child):
            node[token] = {}
        elif not isinstance(node, dict) or token not in node:
            known = sorted(node) if isinstance(node, dict) else []
            raise ConfigError.at(file, here, token, _known("field", known))
        node = node[token]
        annotation = child
    last = tokens[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise ConfigError.at(file, path, last, "no such list item")
    elif not isinstance(node, dict):
        raise ConfigError.at(file, path, value, "the parent of this field is not a mapping")
    node[last] = value


def _sections(annotation: Any) -> list[Any]:
    """The mapping-like alternatives of an annotation (models and dicts), None and scalars dropped."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (dict, list):
        return [annotation]
    return [m for a in typing.get_args(annotation) for m in _sections(a)]


def _child_annotation(annotation: Any, token: str | int) -> Any:
    """The schema type found under `token` of a value of type `annotation` (None when unknown)."""
    import typing

    for option in _sections(annotation):
        if isinstance(option, type) and issubclass(option, BaseModel):
            if isinstance(token, str):
                for name, field in option.model_fields.items():
                    if token in (name, field.alias):
                        return field.annotation
        elif typing.get_origin(option) is dict and isinstance(token, str):
            return typing.get_args(option)[1]
        elif typing.get_origin(option) is list and isinstance(token, int):
            return typing.get_args(option)[0]
    return None


def _creatable(parent: Any, child: Any) -> bool:
    """A missing key may be created as {} when it is a section of a model, or an entry of a mapping of
    plain mappings (`archetypes.<kind>`); never a new site or group made from a dotted path."""
    import typing

    parent_options = _sections(parent)
    child_options = _sections(child)
    if not child_options:
        return False
    if any(isinstance(p, type) and issubclass(p, BaseModel) for p in parent_options):
        return True
    return any(typing.get_origin(p) is dict and typing.get_origin(typing.get_args(p)[1]) is dict
               for p in parent_options)


def _render(tokens: list[str | int]) -> str:
    out = ""
    for t in tokens:
        out += f"[{t}]" if isinstance(t, int) else (f".{t}" if out else t)
    return out


def parse_assignment(text: str) -> tuple[str, Any]:
    """'PATH=VALUE' with VALUE read as YAML (so numbers, dates, lists and mappings work)."""
    if "=" not in text:
        raise ConfigError.at("--set", text, text, "write PATH=VALUE")
    from sim.yamlsafe import load_yaml_text

    path, raw = text.split("=", 1)
    try:
        value = load_yaml_text(raw, "--set")
    except ConfigError as exc:
        reason = re.sub(r"^--set: (line \d+, column \d+: )?", "", exc.problems[0])
        raise ConfigError.at("--set", path.strip(), raw, f"not a valid YAML value ({reason})") from None
    return path.strip(), value


def format_validation_error(exc: ValidationError, file: str, data: Any) -> list[str]:
    """One line per problem. The alternatives of a union (`a number or a schedule`, `a distribution`)
    that all failed on the same value are one problem: their messages are joined on one line."""
    lines: list[str] = []
    by_path: dict[str, tuple[Any, list[str]]] = {}
    errors = exc.errors()
    # A misspelt required key is reported twice by pydantic (unknown 'namex', missing 'name'): once here.
    missing = {(tuple(e["loc"][:-1]), e["loc"][-1]) for e in errors if e["type"] == "missing"}
    typo_of: dict[tuple, str] = {}
    for e in errors:
        if e["type"] == "extra_forbidden" and isinstance(e["loc"][-1], str):
            parent = tuple(e["loc"][:-1])
            names = [str(m) for p, m in missing if p == parent]
            close = difflib.get_close_matches(e["loc"][-1], names, n=1, cutoff=0.6)
            if close:
                typo_of[tuple(e["loc"])] = close[0]
    for err in errors:
        if err["type"] == "missing" and any(k[:-1] == tuple(err["loc"][:-1]) and v == err["loc"][-1]
                                            for k, v in typo_of.items()):
            continue
        ctx = err.get("ctx") or {}
        if err["type"] == "union_tag_invalid":  # a discriminated union: name the tag field, not the whole entry
            field = str(ctx.get("discriminator", "")).strip("'")
            where = _data_loc(data, err["loc"], keep_last=False)
            lines.append(problem_line(file, _render([*where, field]), ctx.get("tag"),
                                      f"one of {ctx.get('expected_tags')}"))
            continue
        inner = ctx.get("error")
        if isinstance(inner, ReferenceError_):
            lines.append(problem_line(file, inner.path, inner.value, inner.allowed))
            continue
        if isinstance(inner, FieldProblem):
            where = _render(_data_loc(data, err["loc"], keep_last=False))
            lines.append(problem_line(file, f"{where}.{inner.field}" if where else inner.field, inner.value,
                                      inner.allowed))
            continue
        loc = _data_loc(data, err["loc"], keep_last=err["type"] in ("missing", "extra_forbidden"))
        path = _render(loc)
        value = err.get("input")
        if err["type"] == "extra_forbidden":
            allowed = _allowed_fields(exc, loc)
            meant = typo_of.get(tuple(err["loc"])) or next(iter(difflib.get_close_matches(
                str(loc[-1]), allowed.removeprefix("; allowed: ").split(", "), n=1, cutoff=0.75)), None)
            hint = f"; did you mean {meant!r}?" if meant else ""
            lines.append(problem_line(file, path, loc[-1], f"unknown field{hint}{allowed}"))
            continue
        if err["type"] == "missing":
            lines.append(problem_line(file, path, None, "this field is required"))
            continue
        message = err["msg"].removeprefix("Value error, ")
        if isinstance(value, dict | list) and len(repr(value)) > 80:
            value = _lookup(data, loc)
        if path in by_path:
            messages = by_path[path][1]
            short = message.removeprefix("Input should be ")
            if message not in messages and short not in messages:
                messages.append(short)
        else:
            by_path[path] = (value, [message])
            lines.append(path)  # placeholder keeps the order of problems
    # The alternatives of a union may fail at different depths ('a date' at start, 'a valid tuple' at
    # start.uniform): a path that another error's path extends is the same problem, told less precisely.
    deeper = [p for p in by_path if any(q != p and _extends(q, p) for q in by_path)]
    return [problem_line(file, line, by_path[line][0], ", or ".join(by_path[line][1])) if line in by_path else line
            for line in lines if line not in deeper]


def _extends(path: str, prefix: str) -> bool:
    return path.startswith(prefix) and path[len(prefix):][:1] in (".", "[") if prefix else bool(path)


def _data_loc(data: Any, loc: Any, keep_last: bool) -> list[str | int]:
    """The error location as a path into the data: steps that are not keys or indices of the data
    (pydantic's names of union alternatives and validators, such as 'float' or 'function-after[...]')
    are dropped. The last step of a missing or unknown field is kept: it names that field."""
    out: list[str | int] = []
    node = data
    for i, step in enumerate(loc):
        last = i == len(loc) - 1
        indexes = (isinstance(node, dict) and step in node) or (
            isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node))
        if indexes:
            out.append(step)
            node = node[step]
        elif last and keep_last:
            out.append(step)
        elif data == {} and isinstance(step, str | int) and not _is_tag(step):
            out.append(step)  # no data to walk (a model built in code): keep the schema's own names
    return out


def _is_tag(step: Any) -> bool:
    return isinstance(step, str) and (step.startswith(("function-", "tagged-", "constrained-", "list[", "dict["))
                                      or "[" in step or step in ("float", "int", "str", "bool", "date", "Dist"))


def _lookup(data: Any, loc: Any) -> Any:
    node = data
    for p in loc:
        try:
            node = node[p]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _allowed_fields(exc: ValidationError, loc: Any) -> str:
    model = _model_at(Scenario, list(loc[:-1]))
    if model is None:
        return ""
    return "; allowed: " + ", ".join(_aliases(model))


def _aliases(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _model_at(model: Any, loc: list[Any]) -> type[BaseModel] | None:
    """Walk the schema along an error location to the model whose field was unknown."""
    import typing

    current: Any = model
    for p in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next((f for n, f in current.model_fields.items() if (f.alias or n) == p or n == p), None)
            if field is None:
                return None
            current = field.annotation
            continue
        args = [a for a in typing.get_args(current) if a is not type(None)]
        origin = typing.get_origin(current)
        if origin in (list, dict) or (origin is None and args):
            current = args[-1] if args else None
        elif args:
            current = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), args[-1])
        else:
            return None
        if isinstance(p, int | str) and isinstance(current, type) and issubclass(current, BaseModel):
            continue
    while not (isinstance(current, type) and issubclass(current, BaseModel)):
        args = [a for a in typing.get_args(current) if a is not type(None)]
        if not args:
            return None
        current = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), args[-1])
    return current


def validate_scenario(data: dict[str, Any], file: str) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, file, data)) from None


def apply_overrides(data: dict[str, Any], overrides: list[str] | dict[str, Any], file: str = "--set") -> None:
    items = overrides.items() if isinstance(overrides, dict) else (parse_assignment(o) for o in overrides)
    for path, value in items:
        set_path(data, path, value, file)


def scenario_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as plain JSON-able data (what travels in a RunSpec and into the manifest)."""
    return scenario.model_dump(mode="json", by_alias=True, exclude_none=False)


def config_hash(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
