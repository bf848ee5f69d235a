"""The schema of materials, their suppliers, and the routes (with their truck lanes) between sites."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from sim.config.common import (
    MAX_QUANTITY,
    FieldProblem,
    LeadTime,
    Schedule,
    StrictModel,
    TransitTime,
    Weekday,
    Window,
    check_schedule,
)
from sim.distributions import Dist


class MaterialSpec(StrictModel):
    unit: str = Field(description="unit of the quantities")
    per_mask: float = Field(gt=0, le=1000, strict=True, description="quantity per mask")
    stage: Literal["cut", "pack"] = Field("cut", description="stage that consumes it (cut or pack)")


STOCK_POLICIES = ("order_up_to", "reorder_point", "s_S")
ALL_MATERIALS = "all"  # the key of `stock_policies` that applies to every material without its own


class StockPolicySpec(StrictModel):
    """How a site's stock of one material is replenished; the supplier looks at it every `review_days`.

    All levels are in days of the site's nominal consumption d (its team's nominal rate x mean hours a day x
    per_mask), so one policy suits a 10-person ESAT and a 100-person workshop. The stock position is stock on
    hand plus what is on order.
    - order_up_to: order up to `cover_days` x d at every review (the default, with the site's cover_days).
    - reorder_point: when the position is at or below the reorder point d x P + z x sqrt(P x (cv x d)^2 +
      d^2 x sd_L^2) (P = mean lead time + review period, sd_L the lead time's standard deviation, z the
      normal quantile of `service_level`), order the fewest multiples of `order_days` x d that lift it above.
    - s_S: when the position is at or below `s_days` x d, order up to `S_days` x d.
    """

    kind: Literal["order_up_to", "reorder_point", "s_S"] = Field(
        "order_up_to", description="order_up_to, reorder_point or s_S")
    cover_days: float | None = Field(None, gt=0, le=365, strict=True,
                                     description="order_up_to: level in days of consumption (default: the site's "
                                                 "cover_days)")
    service_level: float = Field(0.95, ge=0.5, lt=1, strict=True,
                                 description="reorder_point: chance the stock lasts until the order arrives")
    demand_cv: float = Field(0.3, ge=0, le=5, strict=True,
                             description="reorder_point: coefficient of variation of a day's consumption "
                                         "(assumption)")
    order_days: float | None = Field(None, gt=0, le=365, strict=True,
                                     description="reorder_point: order quantity in days of consumption")
    s_days: float | None = Field(None, ge=0, le=365, strict=True,
                                 description="s_S: reorder level s in days of consumption")
    S_days: float | None = Field(None, gt=0, le=365, strict=True,
                                 description="s_S: order-up-to level S in days of consumption")

    @model_validator(mode="after")
    def _complete(self) -> StockPolicySpec:
        if self.kind == "reorder_point" and self.order_days is None:
            raise FieldProblem("order_days", None, "reorder_point needs order_days (days of consumption per order)")
        if self.kind == "s_S":
            if self.s_days is None or self.S_days is None:
                missing = "s_days" if self.s_days is None else "S_days"
                raise FieldProblem(missing, None, "s_S needs s_days and S_days (days of consumption)")
            if not self.s_days < self.S_days:
                raise FieldProblem("S_days", self.S_days, f"S_days must be above s_days ({self.s_days:g})")
        unused = {"order_up_to": ("order_days", "s_days", "S_days"), "reorder_point": ("cover_days", "s_days",
                  "S_days"), "s_S": ("cover_days", "order_days")}[self.kind]
        for name in unused:
            if getattr(self, name) is not None:
                raise FieldProblem(name, getattr(self, name), f"not used by kind {self.kind!r}: remove it")
        return self


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
    weekdays: list[Weekday] | None = Field(None, min_length=1,
                                           description="daily: depart only on these days (a round: kits handed "
                                                       "out or collected twice a week); None: every day")


def _lane_needs_capacity(lane: LaneSpec) -> LaneSpec:
    if lane.mode == "full" and lane.truck_cartons is None:
        raise ValueError("mode 'full' needs truck_cartons (when is a truck full?)")
    if lane.weekdays is not None and lane.mode != "daily":
        raise FieldProblem("weekdays", lane.weekdays, "rounds on given days need mode 'daily'")
    return lane


class RouteSpec(StrictModel):
    source: str = Field(alias="from", description="site or group whose output this is")
    to: list[str] = Field(min_length=1, description="destination sites or groups")
    transit_days: TransitTime = Field(default_factory=lambda: Dist(const=1.0), description="travel time")
    lane: LaneSpec = Field(default_factory=LaneSpec, description="how lots travel")
    lanes: dict[str, LaneSpec] = Field(default_factory=dict,
                                       description="destination (of `to`) -> its own lane, replacing `lane` for it "
                                                   "(kits handed out to volunteers on rounds)")

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    @field_validator("to", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("lane")
    @classmethod
    def _lane(cls, lane: LaneSpec) -> LaneSpec:
        return _lane_needs_capacity(lane)

    @field_validator("lanes")
    @classmethod
    def _lanes(cls, lanes: dict[str, LaneSpec]) -> dict[str, LaneSpec]:
        for lane in lanes.values():
            _lane_needs_capacity(lane)
        return lanes

    def lane_to(self, destination: str) -> LaneSpec:
        """The lane lots take to one destination of `to` (a group's name for its members)."""
        return self.lanes.get(destination, self.lane)

