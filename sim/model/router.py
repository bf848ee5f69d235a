"""The routes of a network: the lanes from each source site to its destinations, the dispatcher that
chooses among them, and each site's outlet (its certification gate in front of its dispatcher).

Processes never call back into the network to move a lot: a stage is given its site's outlet, a gate
the dispatcher it releases into, a lane the destination it delivers to.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from sim.config import Scenario
from sim.entities.buffer import Sender
from sim.entities.demand import Hub
from sim.entities.lot import Lot
from sim.entities.site import Site
from sim.metrics import STARVED, Recorder, StageTrack, TrackInfo
from sim.processes.certification import SiteGate
from sim.processes.stage import Ship
from sim.processes.transport import Dispatcher, Lane
from sim.rng import Streams


class Router:
    def __init__(self, env: simpy.Environment, s: Scenario, members: dict[str, list[str]], sites: dict[str, Site],
                 hubs: dict[str, Hub], gates: dict[str, SiteGate], recorder: Recorder, streams: Streams,
                 blocked_senders: dict[Sender, None]) -> None:
        self.lanes: list[Lane] = []
        self.dispatchers: dict[str, Dispatcher] = {}
        self._gates = gates
        for route in s.routes:
            for source in members[route.source]:
                lanes = []
                for dest_group in route.to:
                    lane_spec = route.lane_to(dest_group)
                    for dest in members[dest_group]:
                        target: Site | Hub = hubs[dest] if dest in hubs else sites[dest]
                        binding = lane_spec.mode == "daily" and lane_spec.truck_cartons is not None
                        track = recorder.track(TrackInfo(f"{source}->{dest}", "lane", "", "transport"),
                                               None, STARVED) if binding else None
                        lanes.append(Lane(env, s.start, s.packaging.carton_size, f"{source}->{dest}", target,
                                          route.transit_days, lane_spec, streams.get(f"lane:{source}->{dest}"),
                                          track))
                self.lanes.extend(lanes)
                self.dispatchers[source] = Dispatcher(env, lanes, blocked_senders, s.lot_size)
        for name, gate in gates.items():
            dispatcher = self.dispatchers.get(name)
            if dispatcher is not None:
                gate.send = dispatcher.send

    def outlet(self, site: Site) -> Ship:
        """How the site's last stage sends a finished lot on: through its gate if it has one."""
        gate = self._gates.get(site.name)
        dispatcher = self.dispatchers.get(site.name)
        if dispatcher is None:
            return _nowhere(site.name)
        return gate.ship if gate is not None else dispatcher.send

    def in_transit(self) -> int:
        return sum(lane.in_transit for lane in self.lanes)

    def dock_masks(self) -> int:
        return sum(lane.dock_masks for lane in self.lanes)


def _nowhere(site_name: str) -> Ship:
    def ship(lot: Lot, track: StageTrack | None) -> Generator[simpy.Event, Any, None]:
        raise RuntimeError(f"{site_name} finished a lot of {lot.masks} masks but no route leaves it")
        yield  # a generator, like every outlet

    return ship
