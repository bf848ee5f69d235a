"""Allocation of scarce platform stock to open channel demand: each policy a small pure function.

A policy takes the masks in stock and the open demands and returns {order_id: masks}. Every policy
gives non-negative integers, never more than an order's open quantity, and hands out
min(stock, total open demand) in all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Demand:
    order_id: int
    channel: str
    open_qty: int
    priority: int  # lower is served first
    placed_h: float
    free: bool


Policy = Callable[[int, list[Demand]], dict[int, int]]


def _fill_in_order(stock: int, ordered: list[Demand]) -> dict[int, int]:
    out: dict[int, int] = {}
    for d in ordered:
        give = min(stock, d.open_qty)
        if give > 0:
            out[d.order_id] = give
            stock -= give
    return out


def strict_priority(stock: int, demands: list[Demand]) -> dict[int, int]:
    """Orders in (priority, time placed, id) order, each filled completely before the next gets any."""
    return _fill_in_order(stock, sorted(demands, key=lambda d: (d.priority, d.placed_h, d.order_id)))


def first_come(stock: int, demands: list[Demand]) -> dict[int, int]:
    """Orders in (time placed, id) order, whatever their priority."""
    return _fill_in_order(stock, sorted(demands, key=lambda d: (d.placed_h, d.order_id)))


def proportional(stock: int, demands: list[Demand]) -> dict[int, int]:
    """Each order gets stock × its share of the open demand, rounded down, capped at its open quantity;
    the masks left by rounding go one each to the largest remainders (ties: lower id first)."""
    total = sum(d.open_qty for d in demands)
    if total <= stock:
        return {d.order_id: d.open_qty for d in demands if d.open_qty > 0}
    exact = {d.order_id: stock * d.open_qty / total for d in demands}
    out = {i: int(x) for i, x in exact.items()}
    left = stock - sum(out.values())
    by_remainder = sorted(demands, key=lambda d: (-(exact[d.order_id] - out[d.order_id]), d.order_id))
    for d in by_remainder[:left]:
        out[d.order_id] += 1
    return {i: q for i, q in out.items() if q > 0}


POLICIES: dict[str, Policy] = {"priority": strict_priority, "proportional": proportional, "fcfs": first_come}


def with_reserved_free_share(base: Policy, share: float) -> Policy:
    """Free (price 0) orders first get up to floor(share × stock), split among them by `base`; the rest
    of the stock goes to every order (free ones for what they still need) by `base`."""

    def policy(stock: int, demands: list[Demand]) -> dict[int, int]:
        reserved = int(share * stock)
        first = base(reserved, [d for d in demands if d.free]) if reserved > 0 else {}
        remaining = stock - sum(first.values())
        rest = [Demand(d.order_id, d.channel, d.open_qty - first.get(d.order_id, 0), d.priority, d.placed_h, d.free)
                for d in demands]
        second = base(remaining, [d for d in rest if d.open_qty > 0])
        return {i: first.get(i, 0) + second.get(i, 0) for i in set(first) | set(second)}

    return policy


def make_policy(name: str, reserved_free_share: float = 0.0) -> Policy:
    if name not in POLICIES:
        raise ValueError(f"unknown allocation policy {name!r}; known: {', '.join(POLICIES)}")
    base = POLICIES[name]
    return with_reserved_free_share(base, reserved_free_share) if reserved_free_share > 0 else base
