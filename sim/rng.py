"""Named random streams: one `SeedSequence` per run, one `Generator` per source of randomness.

A stream's seed is derived from the root seed, the replication number and a stable hash of the stream's
key (its owner's name and purpose, e.g. "site:roubaix_pilot:absence"), never from the order in which
streams are created. So adding a site leaves every other site's draws unchanged, and replication r of
every scenario sees the same draws from every source it shares with the others (common random numbers).
"""

from __future__ import annotations

import functools
import hashlib
import struct

import numpy as np


@functools.lru_cache(maxsize=65_536)
def key_words(key: str) -> tuple[int, ...]:
    """A stable 128-bit digest of `key` as four little-endian 32-bit words (Python's hash() is salted per
    process). Cached: every network build of a study asks for the same keys again."""
    return struct.unpack("<4I", hashlib.blake2b(key.encode("utf-8"), digest_size=16).digest())


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


class CheckStreams(Streams):
    """Streams for a network built only to check that it builds (`sim.experiment.build_check`).

    The draws that shape the network (a group's members, keys starting with "group:") come from the run's own
    streams; every other source shares one generator, since its draws set values (presence, machines up), not
    structure. Making a generator costs about 30 µs and a network of the 2020 case has about 1,300 sources, so
    a study that checks 97 design points saves seconds.
    """

    SHAPING_PREFIX = "group:"

    def get(self, key: str) -> np.random.Generator:
        if key.startswith(self.SHAPING_PREFIX):
            return super().get(key)
        return super().get("check:shared")

