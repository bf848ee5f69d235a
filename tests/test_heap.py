"""sim.heap: the live heap is frozen only inside the block, a freeze made by someone else is left alone,
and garbage made inside the block (a dropped network: a reference cycle) is still collected."""

import gc
import weakref

from sim.heap import live_objects_frozen


class Node:
    pass


def test_the_heap_is_frozen_inside_the_block_only_and_cycles_made_inside_are_collected():
    assert gc.get_freeze_count() == 0
    with live_objects_frozen():
        assert gc.get_freeze_count() > 0
        cycle = Node()
        cycle.itself = cycle
        alive = weakref.ref(cycle)
        del cycle
        gc.collect()
        assert alive() is None  # not frozen: made after the freeze
    assert gc.get_freeze_count() == 0


def test_someone_elses_freeze_is_kept():
    gc.freeze()
    try:
        with live_objects_frozen():
            pass
        assert gc.get_freeze_count() > 0  # still frozen (the count itself drops as frozen objects die)
    finally:
        gc.unfreeze()
