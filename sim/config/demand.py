"""The schema of demand: channels and their orders, how a hub allocates scarce stock, and the targets."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from sim.config.common import MAX_MASKS, MAX_PRICE, FieldProblem, LastMileTime, StrictModel
from sim.distributions import Dist


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
    transit_days: LastMileTime = Field(default_factory=lambda: Dist(const=1.0), description="last-mile delivery time")

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

class TargetSpec(StrictModel):
    masks: int = Field(ge=1, le=MAX_MASKS, strict=True, description="the goal")
    by: dt.date | None = Field(None, description="the date it should be reached by (optional)")
    measure: Literal["delivered", "sewn", "free"] = Field("delivered",
                                                          description="what counts: masks delivered, sewn, or "
                                                                      "delivered free")

