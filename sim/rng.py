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
