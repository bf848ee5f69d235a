"""Input buffers of lots and stocks of material, with the events a waiting process needs.

Hand-written rather than simpy.Store/Container: a stage takes from a non-empty buffer without creating
any event, which halves the event count on the hot path; an event is made only when a process must wait.

The contract, enforced here where the state lives (as SimPy's own resources refuse a bad request):
- `put` (a lot from the stage before, at the same site) needs room: the caller waits on `wait_space`
  until `has_space()`; a put without room raises `BufferFull`.
- a lot from another site is counted against the capacity when it is dispatched (`reserve`, which needs
  room as `put` does) and enters on arrival (`arrive`, which needs that reservation), so the room it took
  stays taken while it travels;
- `readmit` puts a lot back at the front whatever the room (rework returned by inspection goes back at
  once, before anything may block: it may overfill the buffer, on purpose);
- `take` needs a lot: the caller waits on `wait_nonempty` first; a take from an empty buffer raises
  `BufferEmpty`.
- a material stock gives what it holds: `consume` beyond the level raises `BufferEmpty`.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Protocol

import simpy

from sim.entities.lot import Lot

TOLERANCE = 1e-9  # a material quantity this close to the level counts as available


class BufferFull(RuntimeError):
    """A lot was put into a buffer without room for it."""


class BufferEmpty(RuntimeError):
    """A lot (or material) was taken from a buffer that does not hold it."""


class Sender(Protocol):
    destinations: set[LotBuffer]

    def wake(self) -> None:
        """Resume the sender's blocked send."""


class LotBuffer:
    def __init__(self, env: simpy.Environment, name: str, capacity_lots: int | None = None,
                 capacity_masks: float | None = None, base_lot: int = 1,
                 blocked_senders: dict[Sender, None] | None = None) -> None:
        self.env = env
        self.name = name
        self.items: deque[Lot] = deque()
        self.masks = 0
        self.capacity_lots = capacity_lots
        # with adaptive lots, lots of several sizes arrive and the capacity is counted in masks instead
        self.capacity_masks = capacity_masks
        self.base_lot = base_lot  # (the scenario's lot_size, to know how many senders a freed place may take)
        self.split_above = 0  # with adaptive lots, larger kit lots are split on arrival (0: never)
        self.inbound_lots = 0  # dispatched towards this buffer and not yet arrived
        self.inbound_masks = 0
        self._nonempty: simpy.Event | None = None
        self._space: deque[simpy.Event] = deque()
        # senders (dispatchers) blocked because all their destinations are full, shared by every buffer of
        # the network: a sender waits once, not once per destination
        self.blocked_senders: dict[Sender, None] = {} if blocked_senders is None else blocked_senders
        self.senders_waiting_here = 0  # how many of them could send here
        # dispatchers that keep a score for this buffer, as (their set of stale destinations, this buffer's index
        # there): every change of its masks or lots marks the score stale (see Dispatcher._choose)
        self.watchers: list[tuple[set[int], int]] = []

    def __repr__(self) -> str:
        room = self.capacity_masks if self.capacity_masks is not None else self.capacity_lots
        return (f"LotBuffer({self.name}: {len(self.items)} lots, {self.masks} masks, {self.inbound_lots} inbound, "
                f"capacity {room})")

    # -- filling
    def reserve(self, lot: Lot) -> None:
        """Count a lot sent towards this buffer (in transit) against its capacity."""
        if not self.has_space():
            raise BufferFull(f"{self!r}: a lot of {lot.masks} masks was dispatched here without room")
        self.inbound_lots += 1
        self.inbound_masks += lot.masks
        for stale, index in self.watchers:
            stale.add(index)

    def arrive(self, lot: Lot) -> None:
        """A reserved lot arrives (after its transit)."""
        if self.inbound_lots <= 0 or self.inbound_masks < lot.masks:
            raise BufferFull(f"{self!r}: a lot of {lot.masks} masks arrived that was never reserved")
        self.inbound_lots -= 1
        self.inbound_masks -= lot.masks
        split = self.split_above
        if split and lot.masks > split and not lot.defects:
            # a kit lot cut for a larger workshop (adaptive lots) is worked here in this site's own lot size
            while lot.masks > split:
                self._add(Lot(split, lot.cut_time, lot.origin))
                lot.masks -= split
        self._add(lot)

    def put(self, lot: Lot) -> None:
        """A lot from the stage before: needs room (wait on `wait_space` until `has_space()`)."""
        if not self.try_put(lot):
            raise BufferFull(f"{self!r}: put of a lot of {lot.masks} masks without room")

    def try_put(self, lot: Lot) -> bool:
        """`put` if `has_space()` (True), else nothing (False): the stage before's hand-on in one call
        (has_space() and _add(), inline: one pass per lot and stage)."""
        items = self.items
        if self.capacity_masks is not None:
            if self.masks + self.inbound_masks >= self.capacity_masks:
                return False
        elif self.capacity_lots is not None and len(items) + self.inbound_lots >= self.capacity_lots:
            return False
        items.append(lot)
        self.masks += lot.masks
        for stale, index in self.watchers:
            stale.add(index)
        if self._nonempty is not None:
            event, self._nonempty = self._nonempty, None
            event.succeed()
        return True

    def readmit(self, lot: Lot) -> None:
        """A lot sent back (rework): first in line, whatever the room."""
        self._add(lot, front=True)

    def _add(self, lot: Lot, front: bool = False) -> None:
        if front:
            self.items.appendleft(lot)
        else:
            self.items.append(lot)
        self.masks += lot.masks
        for stale, index in self.watchers:
            stale.add(index)
        if self._nonempty is not None:
            event, self._nonempty = self._nonempty, None
            event.succeed()

    def has_space(self) -> bool:
        if self.capacity_masks is not None:
            return self.masks + self.inbound_masks < self.capacity_masks
        return self.capacity_lots is None or len(self.items) + self.inbound_lots < self.capacity_lots

    def wait_space(self) -> simpy.Event:
        event = self.env.event()
        self._space.append(event)
        return event

    # -- emptying
    def wait_nonempty(self) -> simpy.Event:
        if self._nonempty is None:
            self._nonempty = self.env.event()
        return self._nonempty

    def take(self) -> Lot:
        """The first lot (wait on `wait_nonempty` while the buffer is empty)."""
        if not self.items:
            raise BufferEmpty(f"{self!r}: take from an empty buffer")
        lot = self.items.popleft()
        self.masks -= lot.masks
        for stale, index in self.watchers:
            stale.add(index)
        if self._space or self.senders_waiting_here:
            self._wake_senders()
        return lot

    def _wake_senders(self) -> None:
        """Wake as many blocked senders as there are free places (not all of them: a crowd of senders
        waking for one place costs a process resume each, the hot spot of a blocked network)."""
        if self.capacity_masks is not None:
            free = math.ceil((self.capacity_masks - self.masks - self.inbound_masks) / self.base_lot)
        else:
            free = math.inf if self.capacity_lots is None else self.capacity_lots - len(self.items) - self.inbound_lots
        waiting = self._space
        while free > 0 and waiting:
            event = waiting.popleft()
            if not event.triggered:
                event.succeed()
                free -= 1
        if free > 0 and self.senders_waiting_here:
            # blocked senders in the order they blocked (a dict keeps insertion order): first come, first served
            chosen = []
            for sender in self.blocked_senders:
                if self in sender.destinations:
                    chosen.append(sender)
                    if len(chosen) >= free:
                        break
            for sender in chosen:  # (waking changes the registry: choose first, then wake)
                sender.wake()

    @property
    def backlog_masks(self) -> int:
        return self.masks + self.inbound_masks


class MaterialStock:
    """A site's stock of one material, with what is on order and the totals conservation checks."""

    def __init__(self, env: simpy.Environment, material: str, initial: float, name: str = "") -> None:
        self.env = env
        self.material = material
        self.name = name or material
        self.level = float(initial)
        self.initial = float(initial)
        self.on_order = 0.0
        self.received = 0.0
        self.consumed = 0.0
        self._waiting: simpy.Event | None = None

    def receive(self, quantity: float) -> None:
        self.level += quantity
        self.on_order -= quantity
        self.received += quantity
        if self._waiting is not None:
            event, self._waiting = self._waiting, None
            event.succeed()

    def holds(self, quantity: float) -> bool:
        return self.level + TOLERANCE >= quantity

    def consume(self, quantity: float) -> None:
        """Take `quantity` (wait on `wait_delivery` until `holds(quantity)`)."""
        if self.level + TOLERANCE < quantity:
            raise BufferEmpty(f"{self.name}: consume {quantity} with {self.level} in stock")
        self.level -= quantity
        self.consumed += quantity

    def wait_delivery(self) -> simpy.Event:
        if self._waiting is None:
            self._waiting = self.env.event()
        return self._waiting
