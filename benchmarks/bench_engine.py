"""Per-event cost of two engine designs on the same lot flow (issue 14; docs/performance.md).

    python benchmarks/bench_engine.py [--lots 40000] [--repeat 5]

The flow is the 2020 case's in miniature, at its scale: 40,000 lots of 200 masks (the 2020 case cuts about
39,000) leave a cutting stage, travel on a lane (a drawn transit time) to a sewing stage, then go through
inspection and packing, and travel on a second lane to a platform. Each stage is one team working one lot
at a time (a gamma time per lot); the buffers in front of sewing, inspection and packing hold a few lots,
so stages starve and block as the model's do (a lot dispatched to sewing takes its place when it leaves).

- **processes**: the model's design. One SimPy process per stage, a generator resumed by SimPy events: a
  timeout per lot and stage, an event when a stage must wait for a lot or for room (made only then, as
  sim.entities.buffer does), lane arrivals as timeout callbacks.
- **callbacks**: the same flow as plain callbacks on one heap: a stage is a small state machine whose
  `finish` is scheduled as (time, sequence, function, argument); a lot put into a buffer starts an idle
  stage by a function call, and a freed place resumes a blocked stage by a function call, neither with an
  event. A lot's transit and its arrival are one scheduled call.

Both draw the same times from the same arrays (per stage, in lot order), so both give the same lot
completion times (checked: the benchmark fails if they differ). Printed per design: CPU seconds (the
minimum of --repeat alternating runs, the figure least disturbed by other load), events scheduled, events
per lot, microseconds per event and per lot.
"""

from __future__ import annotations

import argparse
import heapq
import time
from collections import deque
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

LOT = 200  # masks per lot
# (stage, mean minutes per mask): sewing binds, cutting runs ahead and blocks on a full sewing buffer
STAGES = (("cut", 0.05), ("sew", 0.06), ("inspect", 0.03), ("pack", 0.04))
CV = 0.3  # of a lot's time (the model's lots are gamma sums of their masks' times)
BUFFER_LOTS = 4  # capacity of the buffers in front of sewing, inspection and packing
TRANSIT_H = (2.0, 4.0, 9.0)  # triangular transit of both lanes, hours


def draws(lots: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Service hours per (stage, lot) and transit hours of the two lanes per lot."""
    rng = np.random.default_rng(seed)
    shape = 1.0 / (CV * CV)
    service = np.stack([rng.gamma(shape, LOT * minutes / 60.0 / shape, lots) for _, minutes in STAGES])
    kits = rng.triangular(*TRANSIT_H, lots)
    cartons = rng.triangular(*TRANSIT_H, lots)
    return service, kits, cartons


# ------------------------------------------------------------------------------------- SimPy processes
class EventBuffer:
    """The model's input buffer (sim.entities.buffer.LotBuffer, reduced): events only when someone waits."""

    def __init__(self, env: simpy.Environment, capacity: int) -> None:
        self.env = env
        self.capacity = capacity
        self.items: deque[int] = deque()
        self.inbound = 0
        self._nonempty: simpy.Event | None = None
        self._space: deque[simpy.Event] = deque()

    def has_space(self) -> bool:
        return len(self.items) + self.inbound < self.capacity

    def put(self, lot: int) -> None:
        self.items.append(lot)
        if self._nonempty is not None:
            event, self._nonempty = self._nonempty, None
            event.succeed()

    def take(self) -> int:
        lot = self.items.popleft()
        if self._space:
            self._space.popleft().succeed()
        return lot

    def wait_nonempty(self) -> simpy.Event:
        if self._nonempty is None:
            self._nonempty = self.env.event()
        return self._nonempty

    def wait_space(self) -> simpy.Event:
        event = self.env.event()
        self._space.append(event)
        return event


def run_processes(lots: int, service: np.ndarray, kits: np.ndarray, cartons: np.ndarray
                  ) -> tuple[list[float], int]:
    env = simpy.Environment()
    buffers = [EventBuffer(env, BUFFER_LOTS) for _ in STAGES]  # buffers[0] unused (cutting starts lots)
    done: list[float] = []

    def arrive(event: simpy.Event) -> None:
        lot = event.value
        buffers[1].inbound -= 1
        buffers[1].put(lot)

    def deliver(event: simpy.Event) -> None:
        done.append(env.now)

    def stage(i: int) -> Generator[simpy.Event, Any, None]:
        times = service[i]
        buffer = buffers[i]
        nxt = buffers[i + 1] if i + 1 < len(STAGES) else None
        made = 0
        while True:
            if i == 0:
                if made == lots:
                    return
                lot = made
                made += 1
            else:
                if not buffer.items:
                    yield buffer.wait_nonempty()
                lot = buffer.take()
            yield env.timeout(float(times[lot]))
            if i == 0:  # the kit lane: room reserved at sewing while the lot travels
                assert nxt is not None
                while not nxt.has_space():
                    yield nxt.wait_space()
                nxt.inbound += 1
                env.timeout(float(kits[lot]), lot).callbacks.append(arrive)
            elif nxt is not None:
                while not nxt.has_space():
                    yield nxt.wait_space()
                nxt.put(lot)
            else:
                env.timeout(float(cartons[lot]), lot).callbacks.append(deliver)

    for i in range(len(STAGES)):
        env.process(stage(i))
    env.run()
    return done, next(env._eid)  # type: ignore[attr-defined]  (events scheduled)


# ------------------------------------------------------------------------------ callbacks on one heap
class Loop:
    """The whole engine: a heap of (time, sequence, function, argument)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.heap: list[tuple[float, int, Callable[[Any], None], Any]] = []
        self.scheduled = 0

    def at(self, t: float, fn: Callable[[Any], None], arg: Any) -> None:
        heapq.heappush(self.heap, (t, self.scheduled, fn, arg))
        self.scheduled += 1

    def run(self) -> None:
        heap, pop = self.heap, heapq.heappop
        while heap:
            t, _, fn, arg = pop(heap)
            self.now = t
            fn(arg)


class CallbackBuffer:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.items: deque[int] = deque()
        self.inbound = 0
        self.consumer: CallbackStage | None = None  # starts when a lot comes
        self.blocked: deque[CallbackStage] = deque()  # resume when a place frees

    def has_space(self) -> bool:
        return len(self.items) + self.inbound < self.capacity

    def put(self, lot: int) -> None:
        self.items.append(lot)
        consumer = self.consumer
        if consumer is not None and consumer.idle:
            consumer.start()

    def take(self) -> int:
        lot = self.items.popleft()
        if self.blocked:
            self.blocked.popleft().push()
        return lot


class CallbackStage:
    def __init__(self, loop: Loop, i: int, times: np.ndarray, buffer: CallbackBuffer | None,
                 nxt: CallbackBuffer | None, lots: int, lane: np.ndarray | None, done: list[float]) -> None:
        self.loop = loop
        self.i = i
        self.times = times
        self.buffer = buffer
        self.nxt = nxt
        self.lots = lots
        self.lane = lane
        self.done = done
        self.made = 0
        self.idle = True
        self.holding = -1  # a finished lot waiting for room downstream

    def start(self) -> None:
        self.idle = False  # before taking: the place it frees may let upstream put a lot here at once
        buffer = self.buffer
        if buffer is None:
            if self.made == self.lots:
                self.idle = True
                return
            lot = self.made
            self.made += 1
        elif buffer.items:
            lot = buffer.take()
        else:
            self.idle = True
            return
        loop = self.loop
        loop.at(loop.now + float(self.times[lot]), self.finish, lot)

    def finish(self, lot: int) -> None:
        self.holding = lot
        self.push()

    def push(self) -> None:
        lot, nxt, loop = self.holding, self.nxt, self.loop
        if self.i == 0:  # the kit lane: transit and arrival are one scheduled call
            assert nxt is not None and self.lane is not None
            if not nxt.has_space():
                nxt.blocked.append(self)
                return
            nxt.inbound += 1
            loop.at(loop.now + float(self.lane[lot]), self.arrive, lot)
        elif nxt is not None:
            if not nxt.has_space():
                nxt.blocked.append(self)
                return
            nxt.put(lot)
        else:
            assert self.lane is not None
            loop.at(loop.now + float(self.lane[lot]), self.done.append, loop.now + float(self.lane[lot]))
        self.holding = -1
        self.start()

    def arrive(self, lot: int) -> None:
        assert self.nxt is not None
        self.nxt.inbound -= 1
        self.nxt.put(lot)


def run_callbacks(lots: int, service: np.ndarray, kits: np.ndarray, cartons: np.ndarray
                  ) -> tuple[list[float], int]:
    loop = Loop()
    buffers = [CallbackBuffer(BUFFER_LOTS) for _ in STAGES]
    done: list[float] = []
    stages = []
    for i in range(len(STAGES)):
        lane = kits if i == 0 else cartons if i == len(STAGES) - 1 else None
        stages.append(CallbackStage(loop, i, service[i], None if i == 0 else buffers[i],
                                    buffers[i + 1] if i + 1 < len(STAGES) else None, lots, lane, done))
        buffers[i].consumer = stages[-1]
    for stage in stages:
        loop.at(0.0, lambda s: s.start(), stage)
    loop.run()
    done.sort()
    return done, loop.scheduled


def measure(lots: int, repeat: int, seed: int = 2020) -> dict[str, dict[str, float]]:
    service, kits, cartons = draws(lots, seed)
    designs = {"processes": run_processes, "callbacks": run_callbacks}
    cpu: dict[str, list[float]] = {name: [] for name in designs}
    events: dict[str, int] = {}
    finished: dict[str, list[float]] = {}
    for _ in range(repeat):
        for name, run in designs.items():  # alternate: both see the same machine load
            started = time.process_time()
            done, scheduled = run(lots, service, kits, cartons)
            cpu[name].append(time.process_time() - started)
            events[name] = scheduled
            finished[name] = sorted(done)
    if finished["processes"] != finished["callbacks"]:
        raise SystemExit("the two designs disagree on the lot completion times")
    out = {}
    for name in designs:
        best = min(cpu[name])
        out[name] = {"cpu_s": best, "events": events[name], "events_per_lot": events[name] / lots,
                     "us_per_event": best / events[name] * 1e6, "us_per_lot": best / lots * 1e6,
                     "makespan_h": finished[name][-1]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lots", type=int, default=40_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with open("/proc/loadavg") as f:
        print(f"load average at start: {f.read().split()[0]}")
    result = measure(args.lots, args.repeat)
    print(f"{args.lots} lots of {LOT} masks, {len(STAGES)} stages and 2 lanes; CPU: min of {args.repeat} runs")
    print(f"{'design':<10} {'CPU s':>7} {'events':>9} {'ev/lot':>7} {'µs/event':>9} {'µs/lot':>8}")
    for name, r in result.items():
        print(f"{name:<10} {r['cpu_s']:7.3f} {r['events']:9d} {r['events_per_lot']:7.2f} "
              f"{r['us_per_event']:9.2f} {r['us_per_lot']:8.2f}")
    p, c = result["processes"], result["callbacks"]
    print(f"same completion times (makespan {p['makespan_h']:.1f} h); callbacks are "
          f"{p['cpu_s'] / c['cpu_s']:.1f}x faster per lot, {p['us_per_event'] / c['us_per_event']:.1f}x per event")
    with open("/proc/loadavg") as f:
        print(f"load average at end: {f.read().split()[0]}")


if __name__ == "__main__":
    main()
