"""The schema of materials, their suppliers, and the routes (with their truck lanes) between sites."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator

from sim.config.common import MAX_QUANTITY, LeadTime, Schedule, StrictModel, TransitTime, Window, check_schedule
from sim.distributions import Dist


class MaterialSpec(StrictModel):
    unit: str = Field(description="unit of the quantities")
    per_mask: float = Field(gt=0, le=1000, strict=True, description="quantity per mask")
    stage: Literal["cut", "pack"] = Field("cut", description="stage that consumes it (cut or pack)")


class SupplierSpec(StrictModel):
    material: str = Field(description="what it supplies")
    capacity_per_day: Schedule = Field(description=f"quantity per day: number or schedule, 0 to {MAX_QUANTITY:g}")
    lead_time_days: LeadTime = Field(description="delay from shipment to arrival")
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
        return check_schedule(value)


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
    transit_days: TransitTime = Field(default_factory=lambda: Dist(const=1.0), description="travel time")
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

