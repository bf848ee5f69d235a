"""Transport: where a site's output goes (the dispatcher) and how it gets there (lanes).

A dispatcher sends each lot to the destination with the least work waiting for it (join the shortest
queue, measured in hours of the destination's current speed), skipping full destinations; when every
destination is full the sending stage is blocked. A lane either ships each lot at once (`immediate`)
loads trucks at a daily departure (`daily`), with a truck capacity in cartons that may bind, or sends
a truck as soon as it is full (`full`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from collections.abc import Generator, Iterable
from typing import Any

import numpy as np
import simpy

from sim.config import LaneSpec
from sim.distributions import Dist
from sim.entities.buffer import LotBuffer, Sender
from sim.entities.calendar import WEEKDAYS
from sim.entities.demand import Hub
from sim.entities.disruption import Disruptions
from sim.entities.draws import Triangular
from sim.entities.lot import Lot
from sim.entities.site import Site
from sim.metrics import BLOCKED, STARVED, WORKING, StageTrack
from sim.timebase import HOURS_PER_DAY


class Lane:
    def __init__(self, env: simpy.Environment, start: dt.date, carton_size: int, name: str, dest: Site | Hub,
                 transit: Dist, spec: LaneSpec, rng: np.random.Generator, track: StageTrack | None) -> None:
        self.env = env
        self.carton_size = carton_size
        self.name = name
        self.dest = dest
        self.transit = transit
        self.spec = spec
        self.rng = rng
        self.track = track
        self.disruptions = Disruptions(start, spec.disruptions)
        self.start = start
        self.in_transit = 0
        self.dock: deque[tuple[Lot, float]] = deque()  # (lot, time it reached the dock)
        self.dock_masks = 0
        self.dock_cartons = 0
        self._loaded: simpy.Event | None = None
        self.lead_times: list[float] = []  # per lot: hours from reaching the lane to arriving
        self._immediate = spec.mode == "immediate"
        self._disrupted = bool(self.disruptions.windows)
        # the transit time drawn as Dist.sample would, without its dispatch on the kind (hot path)
        tri = transit.tri
        self._tri = tri if tri is not None and tri[0] != tri[2] else None
        self._tri_draws = Triangular(rng)
        if spec.mode == "daily":
            self.env.process(self._departures())

    def send(self, lot: Lot) -> None:
        if self._immediate:
            now = self.env.now
            # a shut lane holds lots until it reopens
            depart = self.disruptions.reopening(now) if self._disrupted else now
            self._ship([lot], [now], depart)
            return
        self.dock.append((lot, self.env.now))
        self.dock_masks += lot.masks
        self.dock_cartons += math.ceil(lot.masks / self.carton_size)
        if self.spec.mode == "full":
            load = self.spec.trucks * (self.spec.truck_cartons or 1)
            if self.dock_cartons >= load * self.disruptions.factor(self.env.now) > 0:
                lots, since = self._load(load)
                self._ship(lots, since, self.env.now)
        elif self._loaded is not None:
            event, self._loaded = self._loaded, None
            event.succeed()

    def _ship(self, lots: list[Lot], since: list[float], depart: float) -> None:
        now = self.env.now
        tri = self._tri
        days = self._tri_draws.draw_tuple(tri) if tri is not None else float(self.transit.sample(self.rng))
        delay = depart - now + days * HOURS_PER_DAY
        arrival = now + delay
        lead_times = self.lead_times
        masks = 0
        for lot, t in zip(lots, since, strict=True):
            lead_times.append(arrival - t)
            masks += lot.masks
        self.in_transit += masks
        event = self.env.timeout(delay, lots)
        event.callbacks.append(self._arrive)

    def _arrive(self, event: simpy.Event) -> None:
        now = self.env.now
        dest = self.dest
        for lot in event.value:
            self.in_transit -= lot.masks
            dest.receive(lot, now)

    def _load(self, room: float) -> tuple[list[Lot], list[float]]:
        """Take lots off the dock, first come first loaded, while their cartons fit (at least one lot)."""
        carton = self.carton_size
        load: list[Lot] = []
        since: list[float] = []
        while self.dock:
            cartons = math.ceil(self.dock[0][0].masks / carton)
            if load and cartons > room:
                break
            room -= cartons
            lot, t = self.dock.popleft()
            self.dock_masks -= lot.masks
            self.dock_cartons -= cartons
            load.append(lot)
            since.append(t)
        return load, since

    def _next_departure(self, t: float) -> float:
        day = math.floor(t / HOURS_PER_DAY)
        dep = day * HOURS_PER_DAY + self.spec.departure_hour
        if dep < t:
            dep += HOURS_PER_DAY
        while self.disruptions.factor(dep) == 0.0 or not self._round_day(dep):
            dep += HOURS_PER_DAY
        return dep

    def _round_day(self, t: float) -> bool:
        """A lane with `weekdays` (a collection round) departs only on those days."""
        if self.spec.weekdays is None:
            return True
        day = self.start + dt.timedelta(days=math.floor(t / HOURS_PER_DAY))
        return WEEKDAYS[day.weekday()] in self.spec.weekdays

    def _departures(self) -> Generator[simpy.Event, Any, None]:
        env = self.env
        while True:
            if not self.dock:
                if self.track is not None:
                    self.track.set(STARVED, env.now)
                self._loaded = env.event()
                yield self._loaded
            dep = self._next_departure(env.now)
            yield env.timeout(dep - env.now)
            if self.spec.truck_cartons is None:
                room = math.inf
            else:
                room = self.spec.trucks * self.spec.truck_cartons * self.disruptions.factor(dep)
            load, since = self._load(room)
            self._ship(load, since, env.now)
            if self.track is not None:  # the lane binds while lots are left on the dock
                self.track.set(WORKING if self.dock else STARVED, env.now)
            yield env.timeout(1e-9)  # leave the departure hour before the next look


_INF = math.inf
_HUB = object()  # (Dispatcher.send: a lane that leads to a hub, not a site's buffer)
WATCH_ABOVE = 8  # a dispatcher keeps its destinations' scores between choices when it has more than this many


class Dispatcher:
    """A site's outgoing route: its destinations and the lane to each."""

    def __init__(self, env: simpy.Environment, lanes: list[Lane], blocked_senders: dict[Sender, None],
                 default_lot_size: int) -> None:
        self.env = env
        self.lanes = lanes
        self.hub_lanes = [lane for lane in lanes if isinstance(lane.dest, Hub)]
        self.site_lanes = [(lane, lane.dest, lane.dest.input) for lane in lanes if isinstance(lane.dest, Site)]
        # sends waiting for room, oldest first: a site's stage and its certification gate (releasing what it
        # held) both send through the dispatcher, so more than one send can be blocked at once
        self._room: deque[simpy.Event] = deque()
        self.destinations: set[LotBuffer] = {buffer for _, _, buffer in self.site_lanes}  # type: ignore[misc]
        # (lane, input buffer, team of the first stage, start) per destination site, in route order
        self._scan = [(lane, buffer, dest.stages[0].team, dest.start_h) for lane, dest, buffer in self.site_lanes]
        self._inputs = {lane: buffer for lane, _, buffer in self.site_lanes}  # a site lane's destination buffer
        # what a score reads, per destination: (input buffer, team, the buffer's capacity in lots: fixed)
        self._rows = [(buffer, team, buffer.capacity_lots) for _, buffer, team, _ in self._scan]
        self._one_hub = self.hub_lanes[0] if len(self.hub_lanes) == 1 else None
        self.blocked = blocked_senders
        self._scores = [0.0] * len(self._scan)
        self._stale: set[int] = set(range(len(self._scan)))
        # Kept scores pay where a dispatcher has many destinations (a cutting centre and its tens of workshops);
        # a packing site is the destination of tens of workshops' dispatchers with two or three destinations
        # each, and marking each of them stale at every lot it takes costs more than they save: those recompute
        # every score at each choice.
        self._watched = len(self._scan) > WATCH_ABOVE
        self._every = range(len(self._scan))
        if self._watched:
            for i, (_, buffer, team, _) in enumerate(self._scan):
                buffer.watchers.append((self._stale, i))
                team.rate_watchers.append((self._stale, i))
        self._not_open = [(i, start_h) for i, (_, _, _, start_h) in enumerate(self._scan)]
        self._last_start = max((start_h for _, start_h in self._not_open), default=-math.inf)
        # with adaptive lots a destination counts its room in masks (LotBuffer.has_space); else in lots
        self._in_masks = any(buffer.capacity_masks is not None for _, _, buffer in self.site_lanes)
        self._next_size = (min((dest.lot_size for _, dest, _ in self.site_lanes), default=default_lot_size)
                           or default_lot_size)

    def wake(self) -> None:
        """A destination got room: resume the oldest blocked send."""
        room = self._room.popleft()
        if not self._room:
            del self.blocked[self]
        for buffer in self.destinations:
            buffer.senders_waiting_here -= 1
        room.succeed()

    def next_lot_size(self, now: float) -> int:
        """With adaptive lots, the size of a lot cut now: that of the destination it would be sent to
        (the last such size while every destination is full)."""
        lane = self._choose(now)
        if lane is not None and isinstance(lane.dest, Site):
            self._next_size = lane.dest.lot_size
        return self._next_size

    def _choose(self, now: float) -> Lane | None:
        if self._one_hub is not None:
            return self._one_hub
        hub_lanes = self.hub_lanes
        if hub_lanes:  # hubs never refuse stock: spread over them
            return min(hub_lanes, key=lambda lane: lane.dest.received)  # type: ignore[union-attr]
        # Each destination's score (work waiting, in hours at its team's last speed; inf when full) is kept in
        # `_scores` and recomputed only when its buffer or its team's speed changed since (they mark it in
        # `_stale`); the least score wins, the first in route order on a tie, as a scan would choose.
        scores = self._scores
        if not scores:
            return None
        stale = self._stale if self._watched else self._every
        if stale:
            rows = self._rows
            in_masks = self._in_masks
            for i in stale:
                buffer, team, capacity = rows[i]
                if in_masks:
                    full = not buffer.has_space()
                else:
                    full = capacity is not None and len(buffer.items) + buffer.inbound_lots >= capacity
                scores[i] = _INF if full else (buffer.masks + buffer.inbound_masks) / (team.last_rate or 1e-9)
            if self._watched:
                self._stale.clear()
        if now < self._last_start:  # some destinations not open yet: their wait until opening counts too
            scores = list(scores)
            for i, start_h in self._not_open:
                if start_h > now and scores[i] != math.inf:
                    scores[i] += start_h - now
        least = min(scores)  # (in C; `index` gives the first destination with it, as the scan's strict < did)
        return None if least == _INF else self._scan[scores.index(least)][0]

    def send(self, lot: Lot, track: StageTrack | None) -> Iterable[simpy.Event]:
        """Send `lot` to the destination with the least work waiting. The caller yields from what this returns:
        nothing when a destination has room (the lot is on its way: most sends, without a process step of their
        own), else the wait, blocked, until one has room, after which the lot goes."""
        lane = self._choose(self.env._now)  # (env.now without its property call: once per lot sent)
        if lane is None:
            return self._send_when_room(lot, track)
        self._go(lane, lot)
        return ()

    def _go(self, lane: Lane, lot: Lot) -> None:
        """The lot on its way by `lane`, its place reserved at the destination's input (not at a hub)."""
        buffer = self._inputs.get(lane, _HUB)  # (lane.dest.input if lane.dest is a Site)
        if buffer is not _HUB:
            assert buffer is not None
            buffer.reserve(lot)
        lane.send(lot)

    def _send_when_room(self, lot: Lot, track: StageTrack | None) -> Generator[simpy.Event, Any, None]:
        """`send` when every destination is full (just found so): wait until one has room, then send."""
        env = self.env
        lane = None
        while lane is None:
            if track is not None:
                track.set(BLOCKED, env.now)
            room = env.event()
            self._room.append(room)
            self.blocked[self] = None  # keeps its place in the registry if already there
            for buffer in self.destinations:
                buffer.senders_waiting_here += 1
            yield room
            lane = self._choose(env.now)
        self._go(lane, lot)
