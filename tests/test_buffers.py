"""Buffers state and enforce their contracts where the state lives: a put without room, a dispatch to a
full buffer, an arrival never dispatched, a take from an empty buffer or stock is an error that names the
buffer, not a silent overflow or an IndexError."""

from __future__ import annotations

import numpy as np
import pytest
import simpy

from sim.distributions import Dist
from sim.entities.buffer import BufferEmpty, BufferFull, LotBuffer, MaterialStock
from sim.entities.demand import Hub
from sim.entities.lab import CertificationLab
from sim.entities.lot import Lot
from sim.processes.certification import submit_until_pass


def buffer(capacity_lots: int | None = 2, capacity_masks: float | None = None) -> LotBuffer:
    return LotBuffer(simpy.Environment(), "workshop:sew", capacity_lots, capacity_masks)


def test_a_put_without_room_raises_and_names_the_buffer() -> None:
    b = buffer(capacity_lots=2)
    b.put(Lot(100, 0.0, -1))
    b.put(Lot(100, 0.0, -1))
    assert not b.has_space()
    with pytest.raises(BufferFull, match="workshop:sew"):
        b.put(Lot(100, 0.0, -1))
    assert len(b.items) == 2 and b.masks == 200  # the refused lot left nothing behind


def test_a_put_counted_in_masks_needs_room_in_masks() -> None:
    b = buffer(capacity_lots=None, capacity_masks=250)
    b.put(Lot(200, 0.0, -1))
    b.put(Lot(200, 0.0, -1))  # 200 < 250: there was room when it came (a soft capacity of one lot)
    with pytest.raises(BufferFull):
        b.put(Lot(200, 0.0, -1))


def test_a_dispatch_to_a_full_buffer_raises_and_a_reserved_lot_keeps_its_room() -> None:
    b = buffer(capacity_lots=2)
    b.put(Lot(100, 0.0, -1))
    travelling = Lot(100, 0.0, -1)
    b.reserve(travelling)  # counted while it travels: the buffer is full
    with pytest.raises(BufferFull, match="dispatched here without room"):
        b.reserve(Lot(100, 0.0, -1))
    with pytest.raises(BufferFull):
        b.put(Lot(100, 0.0, -1))
    b.arrive(travelling)
    assert len(b.items) == 2 and b.inbound_lots == 0


def test_an_arrival_that_was_never_dispatched_raises() -> None:
    with pytest.raises(BufferFull, match="never reserved"):
        buffer().arrive(Lot(100, 0.0, -1))


def test_rework_goes_back_first_whatever_the_room() -> None:
    b = buffer(capacity_lots=1)
    b.put(Lot(100, 0.0, -1))
    rework = Lot(5, 0.0, 0, rework=True)
    b.readmit(rework)
    assert b.take() is rework and b.masks == 100


def test_a_take_from_an_empty_buffer_raises() -> None:
    b = buffer()
    with pytest.raises(BufferEmpty, match=r"workshop:sew.*empty"):
        b.take()
    b.put(Lot(100, 0.0, -1))
    b.take()
    with pytest.raises(BufferEmpty):
        b.take()


def test_a_stock_gives_only_what_it_holds() -> None:
    stock = MaterialStock(simpy.Environment(), "elastic", 10.0, "workshop:elastic")
    assert stock.holds(10.0) and not stock.holds(10.1)
    stock.consume(4.0)
    with pytest.raises(BufferEmpty, match="workshop:elastic"):
        stock.consume(6.5)
    assert stock.level == 6.0 and stock.consumed == 4.0


def test_a_platform_ships_only_what_it_holds() -> None:
    hub = Hub(0, "platform", "idf")
    hub.receive(Lot(100, 0.0, 0), 1.0)
    with pytest.raises(ValueError, match="platform"):
        hub.take(101, 2.0)
    assert hub.take(100, 2.0) == 0.0 and hub.stock == 0


def test_one_resubmission_loop_counts_tries_and_calls_back_on_each_failure() -> None:
    env = simpy.Environment()
    lab = CertificationLab(benches=1, tests_per_bench_per_day=24.0, test_time_cv=0.0,
                           report_delay=Dist.model_validate({"const": 0.0}), background_per_day=np.zeros(30),
                           initial_backlog=0, network_priority=True, instant=False, rng=np.random.default_rng(1))
    failures: list[float] = []
    rng = np.random.default_rng(4)
    expected = 1
    probe = np.random.default_rng(4)
    while probe.random() >= 0.3:  # the loop's verdict draws (a constant adjustment delay draws nothing)
        expected += 1
    assert expected > 1  # the seed gives at least one failure
    process = env.process(submit_until_pass(env, lab, rng, 0.3, Dist.model_validate({"const": 1.0}),
                                            lambda: failures.append(env.now)))
    env.run()
    assert process.value == expected and len(failures) == expected - 1
    assert len(lab.net_submitted) == expected
