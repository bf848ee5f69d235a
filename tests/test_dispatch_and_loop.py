"""The hot path's shortcuts give what the plain computation gives: the dispatcher's kept scores choose the
destination a full scan chooses at every moment of a real run, and the inlined event loop runs the same events
to the same end as SimPy's `Environment.run(until=...)`."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import simpy

import sim.processes.transport as transport
from sim.config import Scenario
from sim.model import Network
from sim.model.collect import build_result
from sim.model.loop import run_until
from sim.processes.transport import Dispatcher, Lane
from sim.rng import Streams
from sim.studies import load_experiment

CI = Path(__file__).resolve().parent.parent / "experiments" / "ci_regression.yaml"


def scanned_choice(dispatcher: Dispatcher, now: float) -> Lane | None:
    """The dispatcher's rule computed from scratch: the least work waiting (hours at the destination team's
    last speed, plus the wait until it opens), skipping full destinations, the first in route order on a tie."""
    best, best_score = None, math.inf
    for lane, buffer, team, start_h in dispatcher._scan:
        if not buffer.has_space():
            continue
        score = (buffer.masks + buffer.inbound_masks) / (team.last_rate or 1e-9)
        if start_h > now:
            score += start_h - now
        if score < best_score:
            best, best_score = lane, score
    return best


def network(replication: int = 0) -> Network:
    spec = load_experiment(CI).run_specs(replication + 1)[replication]
    return Network(Scenario.model_validate(spec.scenario), Streams(spec.root_seed, spec.replication))


@pytest.mark.parametrize("replication", [0, 1])
def test_kept_scores_choose_what_a_scan_chooses_throughout_a_run(monkeypatch, replication):
    # every dispatcher keeps its scores (not only those of more than 8 destinations), so that every buffer and
    # team change of the run must mark them stale; a missed mark shows as a choice that differs from the scan
    monkeypatch.setattr(transport, "WATCH_ABOVE", 0)
    net = network(replication)
    dispatchers = [d for d in net.router.dispatchers.values() if d._scan and not d.hub_lanes]
    assert dispatchers and all(d._watched for d in dispatchers)
    compared = 0
    original = Dispatcher._choose

    def checked(self: Dispatcher, now: float) -> Lane | None:
        nonlocal compared
        chosen = original(self, now)
        if not self.hub_lanes:
            assert chosen is scanned_choice(self, now), f"at {now:.3f} h"
            compared += 1
        return chosen

    monkeypatch.setattr(Dispatcher, "_choose", checked)
    net.run()
    assert compared > 1000  # the run dispatched (and so compared) for real


def test_the_inlined_loop_runs_what_simpy_runs():
    ours, simpys = network(), network()
    ours.run()
    # the same network run by SimPy's own loop (what Network.run did before sim/model/loop.py)
    simpys.env.run(until=simpys.horizon_h)
    simpys.snapshots.record_last_day()
    simpys.recorder.finish(simpys.horizon_h)
    if simpys.lab is not None:
        simpys.lab.finish(simpys.horizon_h)
    for hub in simpys.hubs.values():
        hub.finish(simpys.horizon_h)
    assert ours.env.now == simpys.env.now == ours.horizon_h
    spec = load_experiment(CI).run_specs(1)[0]
    a, b = build_result(ours, spec), build_result(simpys, spec)
    assert a.kpis == b.kpis
    for name in ("daily", "series", "cohorts", "bottlenecks"):
        assert getattr(a, name).equals(getattr(b, name)), name


def test_the_inlined_loop_stops_before_events_due_at_the_horizon_and_raises_a_crash():
    env = simpy.Environment()
    seen: list[float] = []

    def ticker():
        while True:
            seen.append(env.now)
            yield env.timeout(1.0)

    env.process(ticker())
    run_until(env, 3.0)
    assert seen == [0.0, 1.0, 2.0] and env.now == 3.0  # the event due at exactly 3.0 is left for later

    def crash():
        yield env.timeout(0.5)
        raise ZeroDivisionError("a process failed")

    env.process(crash())
    with pytest.raises(ZeroDivisionError, match="a process failed"):
        run_until(env, 10.0)
    with pytest.raises(ValueError):
        run_until(env, env.now)
