"""Property-based: every randomly generated valid network (tests/strategies.py) validates, runs and conserves
masks and materials."""

from __future__ import annotations

import math

from hypothesis import given

from sim.config import Scenario
from sim.conservation import check_conservation
from sim.model import Network
from sim.rng import Streams
from tests.strategies import NETWORK_SETTINGS, valid_scenarios


@NETWORK_SETTINGS
@given(valid_scenarios())
def test_every_generated_network_validates_runs_and_conserves(data):
    scenario = Scenario.model_validate(data)  # validates (raises otherwise)
    net = Network(scenario, Streams(7, 0))
    net.run()  # no exception
    balance = check_conservation(net)  # masks and materials: raises ConservationError otherwise
    assert balance["started"] >= balance["delivered"] + balance["scrapped"]
    assert all(math.isfinite(v) and v >= 0 for v in balance.values())
    # the last day's levels are the end state (issue 12): held stock and platform stock agree with the walk
    assert net.daily["held"][-1] == sum(s.gate.masks_at_gate for s in net.sites.values() if s.gate is not None)
    assert list(net.daily["platform"][:, -1]) == [hub.stock for hub in net.hubs.values()]
