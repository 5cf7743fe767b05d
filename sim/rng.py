"""Named random streams: one generator per (seed, stream name, step).

Every random decision draws from its own stream, derived with ``numpy.random.SeedSequence``
from the run's seed, a stable hash of the stream's name and the step (month). Adding a
process does not shift the draws of the others, and two scenarios run with the same seed
draw the same numbers for the same families (common random numbers).
"""

from __future__ import annotations

import zlib

import numpy as np


def stream_id(name: str) -> int:
    """A stable 32-bit id of a stream name (CRC-32; Python's ``hash`` is salted per process)."""
    return zlib.crc32(name.encode("utf-8"))


def stream(seed: int, name: str, step: int = 0) -> np.random.Generator:
    """The generator of stream ``name`` at ``step`` for run ``seed``."""
    ss = np.random.SeedSequence(entropy=int(seed), spawn_key=(stream_id(name), int(step)))
    return np.random.Generator(np.random.PCG64(ss))


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def keyed_uniform(seed: int, name: str, step: int, keys: np.ndarray) -> np.ndarray:
    """Uniforms in [0, 1) that depend only on (seed, name, step, key), one per key.

    For agents whose rows come and go (volunteers): adding a row does not change the numbers
    any other row draws, unlike a sequential generator.
    """
    salt = np.random.SeedSequence(entropy=int(seed), spawn_key=(stream_id(name), int(step))).generate_state(
        1, np.uint64)[0]
    z = _splitmix64(np.asarray(keys, dtype=np.uint64) ^ salt)
    z = _splitmix64(z)
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
