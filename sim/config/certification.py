"""The schema of certification (the test lab, the design, the site audits), in-line quality sampling and
packaging."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, field_validator, model_validator

from sim.config.common import (
    MAX_MINUTES,
    AdjustmentDelay,
    FieldProblem,
    ReportDelay,
    Schedule,
    StrictModel,
    check_schedule,
)
from sim.distributions import Dist


class LabSpec(StrictModel):
    benches: int = Field(1, ge=1, le=10_000, strict=True, description="parallel test benches")
    tests_per_bench_per_day: float = Field(gt=0, le=100_000, strict=True, description="mean test rate of one bench")
    test_time_cv: float = Field(1.0, ge=0, le=10, strict=True, description="1.0 = exponential test times")
    report_delay_days: ReportDelay = Field(default_factory=lambda: Dist(const=1.0), description="from test to verdict")
    background_per_day: Schedule = Field(0.0, description="samples from outside the network: number or schedule, "
                                         "0 to 1e6 a day")
    initial_backlog: int = Field(0, ge=0, le=10_000_000, strict=True, description="outside samples waiting on day 0")
    network_priority: bool = Field(False, strict=True, description="the network's samples go before the outside queue")
    instant: bool = Field(False, strict=True, description="every verdict at once: the no-lab counterfactual")

    @field_validator("background_per_day")
    @classmethod
    def _rate(cls, value: Schedule) -> Schedule:
        return check_schedule(value, 0.0, 1e6)


class DesignSpec(StrictModel):
    certified: bool = Field(True, strict=True, description="the standard design is already approved")
    submit: dt.date | None = Field(None, description="date the design sample is sent")
    pass_probability: float = Field(0.3, ge=0, le=1, strict=True, description="chance one submission passes")
    adjust_days: AdjustmentDelay = Field(default_factory=lambda: Dist(tri=(2, 4, 7)),
                                        description="delay before a resubmission")


class SiteAuditSpec(StrictModel):
    required: bool = Field(True, strict=True, description="every sewing site needs an audit sample approved")
    pass_probability: float = Field(0.9, ge=0, le=1, strict=True, description="chance an audit sample passes")
    policy: Literal["at_risk", "wait"] = Field("at_risk",
                                               description="at_risk: produce and hold; wait: stop after the sample")
    adjust_days: AdjustmentDelay = Field(default_factory=lambda: Dist(tri=(1, 3, 7)),
                                        description="delay before resubmitting")
    on_fail: Literal["scrap", "keep"] = Field("scrap", description="what happens to held stock")


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

