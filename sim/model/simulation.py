"""`simulate(spec)`: one replication of one scenario, checked for conservation, as KPIs and tables.

`simulate` is a pure function of its RunSpec: every random draw comes from a stream named after its
source (sim.rng), so the same spec gives the same result in any process, and scenarios compare under
common random numbers.
"""

from __future__ import annotations

import time

from sim.config import Scenario
from sim.model.builder import Network
from sim.model.conservation import check_conservation
from sim.rng import Streams
from sim.spec import RunResult, RunSpec


def simulate(spec: RunSpec) -> RunResult:
    """Run one replication of one scenario; check conservation; return KPIs and tables."""
    from sim.model.collect import build_result  # pandas: only where results are built

    started = time.perf_counter()
    scenario = Scenario.model_validate(spec.scenario)
    net = Network(scenario, Streams(spec.root_seed, spec.replication))
    net.run()
    check_conservation(net)
    result = build_result(net, spec)
    net.release()
    result.wall_seconds = time.perf_counter() - started
    return result
