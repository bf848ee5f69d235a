"""Random draws of the hot path, fetched from NumPy in blocks instead of one call per lot.

A NumPy call for one value costs about a microsecond and a half of overhead; a block of 64 costs about the
same as a few. The values are those of the one-at-a-time calls, bit for bit: a NumPy generator draws a block
element by element with the same routine, and `rng.gamma(shape, scale)` is `scale * standard_gamma(shape)`.
A block is drawn for one set of parameters; when they change (a lot of another size), the stream is put
back where the one-at-a-time calls would have left it (its state before the block, advanced by the values
used) and the new parameters start a new block. So the stream a stage owns gives the same values whatever
the block size, and changing the block size can never change a result.
"""

from __future__ import annotations

from typing import Any

import numpy as np

BLOCK = 64


class BlockDraws:
    """Draws of one distribution family from one generator that nothing else draws from."""

    def __init__(self, rng: np.random.Generator, block: int = BLOCK) -> None:
        self.rng = rng
        self.block = block
        self._params: tuple[float, ...] | None = None  # the parameters of the current block
        self._last: tuple[float, ...] | None = None  # the parameters of the last draw
        self._values: list[float] = []
        self._size = 0  # len(self._values)
        self._used = 0
        self._state_before: dict[str, Any] | None = None

    def _draw_block(self, params: tuple[float, ...], n: int) -> np.ndarray:
        raise NotImplementedError

    def _draw_one(self, params: tuple[float, ...]) -> float:
        raise NotImplementedError

    def _next(self, params: tuple[float, ...]) -> float:
        if params != self._params:
            # new parameters: one value at a time until they repeat (a stage whose lots vary in size, as a
            # packer behind inspection, would otherwise rewind a block at every lot)
            self._rewind()
            repeated = params == self._last
            self._last = params
            if not repeated:
                self._params = None
                return self._draw_one(params)
            self._params = params
            self._values = []  # empty: a block is drawn below
            self._size = 0
            self._used = 0
        if self._used == self._size:
            self._state_before = self.rng.bit_generator.state
            self._values = self._draw_block(params, self.block).tolist()
            self._size = len(self._values)
            self._used = 0
        value = self._values[self._used]
        self._used += 1
        return value

    def _rewind(self) -> None:
        """Put the stream where one-at-a-time draws would be: before the block, plus the values used."""
        if self._params is None or self._used == self._size:
            return
        assert self._state_before is not None
        self.rng.bit_generator.state = self._state_before
        if self._used:
            self._draw_block(self._params, self._used)


class GammaSums(BlockDraws):
    """`gamma_sum(rng, n, mean_each, cv)` of sim.distributions (a lot's service time), drawn in blocks."""

    def _draw_block(self, params: tuple[float, ...], n: int) -> np.ndarray:
        return self.rng.standard_gamma(params[0], n)

    def _draw_one(self, params: tuple[float, ...]) -> float:
        return float(self.rng.standard_gamma(params[0]))

    def gamma_sum(self, n: int, mean_each: float, cv: float) -> float:
        if n <= 0:
            return 0.0
        if cv <= 0.0:
            return n * mean_each
        shape_each = 1.0 / (cv * cv)
        shape = n * shape_each
        used = self._used
        if used < self._size and self._params is not None and self._params[0] == shape:
            self._used = used + 1  # the common case, inline: a value of the current block
            return (mean_each / shape_each) * self._values[used]
        return (mean_each / shape_each) * self._next((shape,))


class Triangular(BlockDraws):
    """`float(rng.triangular(low, mode, high))`, drawn in blocks."""

    def _draw_block(self, params: tuple[float, ...], n: int) -> np.ndarray:
        return self.rng.triangular(params[0], params[1], params[2], n)

    def _draw_one(self, params: tuple[float, ...]) -> float:
        return float(self.rng.triangular(params[0], params[1], params[2]))

    def draw(self, low: float, mode: float, high: float) -> float:
        used = self._used
        if used < self._size and self._params == (low, mode, high):
            self._used = used + 1  # the common case, inline: a value of the current block
            return self._values[used]
        return self._next((low, mode, high))

    def draw_tuple(self, params: tuple[float, float, float]) -> float:
        """`draw(*params)` without building the tuple again."""
        used = self._used
        if used < self._size and self._params == params:
            self._used = used + 1
            return self._values[used]
        return self._next(params)
