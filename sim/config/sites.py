"""The schema of sites and groups of sites: calendars, stages, cohorts and their learning, supervision,
site-kind archetypes, audits, and the people's absenteeism."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from typing import Annotated, Literal

from pydantic import (
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from sim.config.common import (
    MAX_DAYS,
    MAX_FACTOR,
    MAX_MINUTES,
    MAX_PEOPLE,
    MAX_QUANTITY,
    NAME_PATTERN,
    DateUniform,
    FieldProblem,
    Schedule,
    SiteKind,
    StageName,
    StrictModel,
    Weekday,
    check_schedule,
)
from sim.config.supply import StockPolicySpec
from sim.distributions import Dist

STOCK_POLICIES_HELP = ("replenishment by material (or 'all'): kind order_up_to, reorder_point or s_S and its levels "
                       "(default: order up to cover_days)")


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


class Location(StrictModel):
    """Where a site is (WGS 84 degrees), for the report's map only: the model never reads it."""

    lat: float = Field(ge=-90, le=90, strict=True, description="latitude in degrees north (-90 to 90)")
    lon: float = Field(ge=-180, le=180, strict=True, description="longitude in degrees east (-180 to 180)")


ACTIVE_HELP = ("false: the site is left out of this network, with its supply and the routes to and from it (a "
               "structural alternative, see docs/uncertainty.md)")


class SiteSpec(StrictModel):
    kind: SiteKind = Field(description="site archetype")
    active: bool = Field(True, strict=True, description=ACTIVE_HELP)
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
    stock_policies: dict[str, StockPolicySpec] = Field(default_factory=dict, description=STOCK_POLICIES_HELP)
    ceiling: float | None = Field(None, gt=0, le=2, strict=True,
                                  description="efficiency ceiling for this site (default: the archetype's)")
    defect_trainee: float | None = Field(None, ge=0, le=1, strict=True,
                                         description="defect probability of a novice (default: archetype)")
    defect_skilled: float | None = Field(None, ge=0, le=1, strict=True,
                                         description="defect probability at the ceiling (default: archetype)")
    supervision: Supervision = Field(default_factory=Supervision, description="how trainees are supervised")
    audit: AuditSpec = Field(default_factory=AuditSpec, description="this site's certification audit")
    location: Location | None = Field(None, description="{lat, lon} of the site, for the report's map (default: "
                                                        "placed in its region)")

    @model_serializer(mode="wrap")
    def _without_absent_location(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        # A site without a location dumps as before locations existed: configuration hashes (regression
        # baselines, stored runs) of scenarios that give none are unchanged.
        data = handler(self)
        if self.location is None:
            data.pop("location", None)
        return data

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
    active: bool = Field(True, strict=True, description=ACTIVE_HELP)
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
    stock_policies: dict[str, StockPolicySpec] = Field(default_factory=dict, description=STOCK_POLICIES_HELP)
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


# People absent: a base rate and regional waves


class Wave(StrictModel):
    """A correlated shock: every site of a region loses an extra share of its people for a period."""

    region: str = Field(description="sites of this region are hit")
    start: dt.date = Field(description="first day")
    end: dt.date = Field(description="day after the last")
    extra_rate: float = Field(gt=0, le=1, strict=True, description="added absence rate")


class AbsenteeismSpec(StrictModel):
    rate: Schedule = Field(0.0, description="share of people absent each day (0 to 1): a number or "
                           "[[date, rate], ...]")
    waves: list[Wave] = Field(default_factory=list, description="correlated regional shocks")

    @field_validator("rate")
    @classmethod
    def _rate(cls, value: Schedule) -> Schedule:
        return check_schedule(value, 0.0, 1.0)

