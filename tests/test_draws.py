"""Block draws give exactly the values of one-at-a-time NumPy calls, whatever the parameters do."""

from __future__ import annotations

import numpy as np

from sim.distributions import gamma_sum
from sim.entities.draws import GammaSums, Triangular


def test_gamma_sums_in_blocks_are_the_one_at_a_time_values_when_lot_sizes_change() -> None:
    sizes = [200] * 100 + [180, 200, 200, 32, 32, 200] * 20 + [200] * 70 + [0, 200, 5]
    one, blocks = np.random.default_rng(9), GammaSums(np.random.default_rng(9), block=16)
    expected = [gamma_sum(one, n, 0.02, 0.4) for n in sizes]
    assert [blocks.gamma_sum(n, 0.02, 0.4) for n in sizes] == expected
    assert blocks.gamma_sum(200, 0.02, 0.0) == gamma_sum(one, 200, 0.02, 0.0)  # no variation: no draw


def test_triangular_in_blocks_are_the_one_at_a_time_values() -> None:
    params = [(1.0, 1.5, 3.0)] * 150 + [(0.5, 1.0, 2.0), (1.0, 1.5, 3.0)] * 10
    one, blocks = np.random.default_rng(4), Triangular(np.random.default_rng(4), block=8)
    assert [blocks.draw(*p) for p in params] == [float(one.triangular(*p)) for p in params]
