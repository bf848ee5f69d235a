"""Named random streams: one `SeedSequence` per run, one `Generator` per source of randomness.

A stream's seed is derived from the root seed, the replication number and a stable hash of the stream's
key (its owner's name and purpose, e.g. "site:roubaix_pilot:absence"), never from the order in which
streams are created. So adding a site leaves every other site's draws unchanged, and replication r of
every scenario sees the same draws from every source it shares with the others (common random numbers).
"""

from __future__ import annotations

import hashlib

import numpy as np


def key_words(key: str) -> tuple[int, ...]:
    """A stable 128-bit digest of `key` as four 32-bit words (Python's hash() is salted per process)."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


class Streams:
    """Factory of independent, reproducible generators for one replication."""

    def __init__(self, root_seed: int, replication: int) -> None:
        self.root_seed = int(root_seed)
        self.replication = int(replication)
        self._cache: dict[str, np.random.Generator] = {}

    def seed_sequence(self, key: str) -> np.random.SeedSequence:
        return np.random.SeedSequence(entropy=self.root_seed, spawn_key=(self.replication, *key_words(key)))

    def get(self, key: str) -> np.random.Generator:
        """The generator for `key`; the same object on every call within a run."""
        gen = self._cache.get(key)
        if gen is None:
            gen = np.random.Generator(np.random.PCG64(self.seed_sequence(key)))
            self._cache[key] = gen
        return gen

    def run_seed(self) -> int:
        """A single integer identifying this run's randomness (for manifests)."""
        return int(np.random.SeedSequence(self.root_seed, spawn_key=(self.replication,)).generate_state(1)[0])
