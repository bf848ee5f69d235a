"""Allocation of scarce platform stock to open channel demand: each policy a small pure function.

A policy is called as ``policy(stock, demands)`` with the masks in stock at a hub and the open orders of
its channels, and returns ``{order_id: masks}``. Every policy here guarantees, for any input:

- allocations are integers >= 1 (orders that get nothing are left out of the dict);
- no order gets more than its open quantity;
- ``min(stock, total open quantity)`` masks are handed out in all (no stock is held back while an order
  is still open).

Policies do not look at prices except through ``Demand.free``, and never at the channel name: the name
is carried for reporting only. Ties are always broken by ``order_id`` so results do not depend on the
order of the input list.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Demand:
    """One open order as a policy sees it.

    order_id: unique within one call; the key of the returned allocation.
    channel: the channel's name (reporting only).
    open_qty: masks ordered and not yet allocated (>= 0).
    priority: lower is served first by `strict_priority`.
    placed_h: when the order was placed (simulation hours); older is served first by `first_come`.
    free: True for channels with price 0 (charities ...); see `with_reserved_free_share`.
    """

    order_id: int
    channel: str
    open_qty: int
    priority: int
    placed_h: float
    free: bool


Policy = Callable[[int, list[Demand]], dict[int, int]]

# Tolerance when flooring share × stock: 0.29 × 100 is 28.999999999999996 in binary floating point and
# must reserve 29 masks, not 28.
_FLOOR_EPS = 1e-9


def _checked(stock: int | float, demands: list[Demand]) -> int:
    """Validate the inputs every policy relies on; return the stock as an int."""
    if stock < 0 or not float(stock).is_integer():
        raise ValueError(f"stock must be a non-negative whole number of masks, got {stock!r}")
    ids = [d.order_id for d in demands]
    if len(set(ids)) != len(ids):
        raise ValueError("order ids must be unique within one allocation")
    bad = [d.order_id for d in demands if d.open_qty < 0]
    if bad:
        raise ValueError(f"negative open quantity for orders {bad}")
    return int(stock)


def _fill_in_order(stock: int, ordered: list[Demand]) -> dict[int, int]:
    """Fill each order completely, in the given order, until the stock runs out."""
    out: dict[int, int] = {}
    for d in ordered:
        if stock <= 0:
            break
        give = min(stock, d.open_qty)
        if give > 0:
            out[d.order_id] = give
            stock -= give
    return out


def strict_priority(stock: int, demands: list[Demand]) -> dict[int, int]:
    """Strict priority: orders sorted by (priority, placed_h, order_id), lower first; each is filled
    completely before the next gets anything. An order of a lower-priority channel gets masks only once
    every higher-priority order is full.

    >>> orders = [Demand(1, "public", 600, 1, 10.0, False), Demand(2, "region", 400, 0, 20.0, False)]
    >>> strict_priority(700, orders)
    {2: 400, 1: 300}
    """
    stock = _checked(stock, demands)
    return _fill_in_order(stock, sorted(demands, key=lambda d: (d.priority, d.placed_h, d.order_id)))


def first_come(stock: int, demands: list[Demand]) -> dict[int, int]:
    """First come, first served: orders sorted by (placed_h, order_id), whatever their priority; each is
    filled completely before the next gets anything."""
    stock = _checked(stock, demands)
    return _fill_in_order(stock, sorted(demands, key=lambda d: (d.placed_h, d.order_id)))


def proportional(stock: int, demands: list[Demand]) -> dict[int, int]:
    """Proportional to open quantity, by the largest-remainder (Hamilton) method.

    If the stock covers all open demand, every order is filled. Otherwise order i's exact quota is
    ``stock × open_i / total_open``; each order first gets the integer part, and the masks left over
    (fewer than the number of orders) go one each to the orders with the largest fractional parts,
    ties to the lower order_id. Quotas are computed in exact integer arithmetic (no float rounding
    decides a tie). No order exceeds its open quantity: a quota is below it whenever stock < total.

    >>> orders = [Demand(1, "a", 600, 0, 0.0, False), Demand(2, "b", 300, 0, 0.0, False),
    ...           Demand(3, "c", 400, 0, 0.0, False)]
    >>> proportional(500, orders)  # quotas 230.77, 115.38, 153.85
    {1: 231, 2: 115, 3: 154}
    """
    stock = _checked(stock, demands)
    total = sum(d.open_qty for d in demands)
    if total <= stock:
        return {d.order_id: d.open_qty for d in demands if d.open_qty > 0}
    base = {d.order_id: stock * d.open_qty // total for d in demands}
    remainder = {d.order_id: stock * d.open_qty % total for d in demands}  # numerator of the fraction
    left = stock - sum(base.values())
    by_remainder = sorted(demands, key=lambda d: (-remainder[d.order_id], d.order_id))
    for d in by_remainder[:left]:
        base[d.order_id] += 1
    return {d.order_id: base[d.order_id] for d in demands if base[d.order_id] > 0}


POLICIES: dict[str, Policy] = {"priority": strict_priority, "proportional": proportional, "fcfs": first_come}


def with_reserved_free_share(base_policy: Policy, share: float) -> Policy:
    """Wrap `base_policy` so that free channels keep a reserved share of each allocation.

    Step 1: ``reserved = floor(share × stock)`` masks are split among the free orders only, by
    `base_policy` (if free demand is below the reserve, the unused part is not lost: it flows to step 2).
    Step 2: all the remaining stock goes to every order, free ones included for what they still need,
    by `base_policy`. The result is the sum of both steps.

    With share = 0 this is `base_policy` itself; with share = 1 free orders are served before any other.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"reserved free share must be in [0, 1], got {share!r}")

    def policy(stock: int, demands: list[Demand]) -> dict[int, int]:
        stock = _checked(stock, demands)
        reserved = math.floor(share * stock + _FLOOR_EPS)
        free = [d for d in demands if d.free]
        first = base_policy(reserved, free) if reserved > 0 and free else {}
        remaining = stock - sum(first.values())
        rest = [replace(d, open_qty=d.open_qty - first.get(d.order_id, 0)) for d in demands]
        second = base_policy(remaining, [d for d in rest if d.open_qty > 0])
        merged = dict(first)
        for order_id, masks in second.items():
            merged[order_id] = merged.get(order_id, 0) + masks
        return merged

    policy.__name__ = f"{getattr(base_policy, '__name__', 'policy')}_reserving_{share:g}_free"
    policy.__doc__ = f"{policy.__name__}: see with_reserved_free_share."
    return policy


def make_policy(name: str, reserved_free_share: float = 0.0) -> Policy:
    """The policy named `name` (a key of POLICIES), wrapped by `with_reserved_free_share` when
    `reserved_free_share` > 0. Raises ValueError for an unknown name or a share outside [0, 1]."""
    if name not in POLICIES:
        raise ValueError(f"unknown allocation policy {name!r}; known: {', '.join(POLICIES)}")
    base = POLICIES[name]
    return with_reserved_free_share(base, reserved_free_share) if reserved_free_share != 0 else base
