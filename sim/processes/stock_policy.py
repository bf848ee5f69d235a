"""Stock policies: how much a supplier's review orders for one site's stock of one material.

A policy turns the site's stock on hand and on order into the quantity it needs now (sim.config.supply.
StockPolicySpec states the three kinds). The supplier then ships what its capacity and fill rate allow,
shared in proportion to need, so a policy decides who asks and how much, never what arrives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from sim.config import StockPolicySpec
from sim.config.supply import ALL_MATERIALS
from sim.distributions import Dist


@dataclass(frozen=True)
class StockRule:
    """One site's policy for one material, in units of the material (levels already times consumption)."""

    kind: str
    level: float  # order_up_to: the target; s_S: S
    reorder_at: float = 0.0  # reorder_point: the reorder point; s_S: s
    quantity: float = 0.0  # reorder_point: one order

    def need(self, on_hand: float, on_order: float) -> float:
        if self.kind == "order_up_to":
            # written as before the policies existed (target - level - on_order), so the default's numbers stay
            # bit for bit what they were
            return max(0.0, self.level - on_hand - on_order)
        position = on_hand + on_order
        if position > self.reorder_at:
            return 0.0
        if self.kind == "s_S":
            return self.level - position
        # reorder_point: the fewest whole orders that lift the position above the reorder point
        if self.quantity <= 0.0:
            return 0.0
        return self.quantity * (math.floor((self.reorder_at - position) / self.quantity) + 1)


def policy_for(policies: dict[str, StockPolicySpec], material: str) -> StockPolicySpec | None:
    """The site's policy for this material: its own, else the one for all materials, else None (the default)."""
    return policies.get(material, policies.get(ALL_MATERIALS))


def stock_rule(policy: StockPolicySpec | None, cover_days: float, daily_use: float, lead_time_days: Dist,
               review_days: float) -> StockRule:
    """The rule for a site consuming `daily_use` a day, served after `lead_time_days` at every `review_days`."""
    if policy is None or policy.kind == "order_up_to":
        days = cover_days if policy is None or policy.cover_days is None else policy.cover_days
        return StockRule("order_up_to", days * daily_use)
    if policy.kind == "s_S":
        assert policy.s_days is not None and policy.S_days is not None
        return StockRule("s_S", policy.S_days * daily_use, reorder_at=policy.s_days * daily_use)
    assert policy.order_days is not None
    protection = lead_time_days.mean + review_days  # days until the next order can arrive
    z = NormalDist().inv_cdf(policy.service_level)
    sd = math.sqrt(protection * (policy.demand_cv * daily_use) ** 2 + (daily_use * lead_time_days.sd) ** 2)
    return StockRule("reorder_point", 0.0, reorder_at=daily_use * protection + z * sd,
                     quantity=policy.order_days * daily_use)
