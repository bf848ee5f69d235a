"""The honesty check at the end of every run: no mask and no material is created or lost.

masks started = delivered + in stock + in transit + in process + scrapped, counted independently:
the left side from the ledger, the right side by walking every buffer, lane, gate and hub.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.errors import ConservationError

if TYPE_CHECKING:
    from sim.model.builder import Network

TOLERANCE = 1e-6


def mask_balance(net: Network) -> dict[str, float]:
    in_stock = in_process = 0.0
    for site in net.sites.values():
        for unit in site.stages:
            if unit.buffer is not None:
                in_stock += unit.buffer.masks
            in_process += unit.in_process_masks()
        gate = net.gates.get(site.name)
        if gate is not None:
            in_stock += sum(lot.masks for lot in gate.held)
            if gate.releasing is not None:
                in_process += gate.releasing.masks
    in_stock += sum(hub.stock for hub in net.hubs.values())
    in_stock += net.router.dock_masks()
    in_transit = float(net.in_transit())
    ledger = net.ledger
    return {"started": float(ledger.masks_started), "delivered": float(ledger.masks_delivered),
            "in_stock": in_stock, "in_transit": in_transit, "in_process": in_process,
            "scrapped": float(ledger.masks_scrapped)}


def check_conservation(net: Network) -> dict[str, float]:
    b = mask_balance(net)
    accounted = b["delivered"] + b["in_stock"] + b["in_transit"] + b["in_process"] + b["scrapped"]
    if abs(b["started"] - accounted) > TOLERANCE:
        detail = ", ".join(f"{k}={v:.0f}" for k, v in b.items())
        raise ConservationError(
            f"masks not conserved: started {b['started']:.0f} != accounted {accounted:.0f} ({detail})")
    shipped = sum(s.shipped for s in net.suppliers)
    received = sum(stock.received for site in net.sites.values() for stock in site.stocks.values())
    moving = sum(s.in_transit for s in net.suppliers)
    if abs(shipped - received - moving) > 1e-6 * max(1.0, shipped):
        raise ConservationError(f"material not conserved: shipped {shipped} != received {received} + moving {moving}")
    for site in net.sites.values():
        for stock in site.stocks.values():
            if abs(stock.initial + stock.received - stock.level - stock.consumed) > 1e-6 * max(1.0, stock.received):
                raise ConservationError(f"{site.name}:{stock.material} stock does not balance")
            if stock.level < -1e-6:
                raise ConservationError(f"{site.name}:{stock.material} stock went negative ({stock.level})")
    for name, material in net.s.materials.items():
        consumed = sum(site.stocks[name].consumed for site in net.sites.values() if name in site.stocks)
        worked = _masks_through(net, material.stage)
        if abs(consumed - worked * material.per_mask) > 1e-6 * max(1.0, consumed):
            raise ConservationError(f"{name}: consumed {consumed} != {worked} masks x {material.per_mask}")
    return b


def _masks_through(net: Network, stage: str) -> float:
    """Masks for which `stage` has drawn its materials (lots finished, in process or waiting downstream)."""
    if stage == "cut":
        return float(net.ledger.masks_started)
    units = [site.stage(stage) for site in net.sites.values()]
    return float(sum(unit.materials_used for unit in units if unit is not None))
