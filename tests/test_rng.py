"""Named random streams (sim/rng.py): reproducible, independent by name and step, and keyed
uniforms that depend only on their key."""

from __future__ import annotations

import os
import subprocess
import sys
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sim.rng import keyed_uniform, stream, stream_id

# ---------------------------------------------------------------- stream


def test_stream_id_is_crc32_of_the_utf8_name():
    assert stream_id("abc") == 891568578  # CRC-32 of b"abc", a published check value
    assert stream_id("visits") == zlib.crc32(b"visits")
    assert stream_id("宜章县") == zlib.crc32("宜章县".encode())
    assert stream_id("visits") != stream_id("visits.round")


def test_stream_is_reproducible():
    a = stream(7, "visits", 3).random(1000)
    b = stream(7, "visits", 3).random(1000)
    assert np.array_equal(a, b)
    assert np.array_equal(stream(7, "x").random(5), stream(7, "x", 0).random(5))


def test_stream_is_seedsequence_of_seed_name_and_step():
    """The stream's definition is part of every stored result's reproducibility."""
    ss = np.random.SeedSequence(entropy=7, spawn_key=(zlib.crc32(b"visits"), 3))
    expected = np.random.Generator(np.random.PCG64(ss)).random(100)
    assert np.array_equal(stream(7, "visits", 3).random(100), expected)


@pytest.mark.parametrize("other", [(8, "visits", 3), (7, "contact", 3), (7, "visits", 4),
                                   (7, "visits", 0), (7, "Visits", 3)])
def test_streams_differ_by_seed_name_and_step(other):
    a = stream(7, "visits", 3).random(1000)
    b = stream(*other).random(1000)
    assert (a == b).sum() == 0
    # and they are not correlated either
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.15


def test_stream_is_the_same_in_another_process():
    """Python's salted ``hash`` must not leak into the stream (same seed, same draws anywhere)."""
    code = "from sim.rng import stream; print(repr(stream(5, 'diffusion.policy', 2).random(3).tolist()))"
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert eval(out.stdout) == stream(5, "diffusion.policy", 2).random(3).tolist()


# ---------------------------------------------------------------- keyed_uniform


def test_keyed_uniform_depends_only_on_the_key():
    keys = np.arange(1000, dtype=np.uint64)
    full = keyed_uniform(3, "volunteers.leave", 2, keys)
    pick = np.array([999, 5, 17, 5, 0], dtype=np.uint64)
    more = np.concatenate([pick, np.array([10**12, 2**63 + 1], dtype=np.uint64)])
    assert np.array_equal(keyed_uniform(3, "volunteers.leave", 2, pick), full[pick.astype(int)])
    assert np.array_equal(keyed_uniform(3, "volunteers.leave", 2, more)[:5], full[pick.astype(int)])


@given(keys=st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=30),
       i=st.integers(0, 29))
@settings(max_examples=50, deadline=None)
def test_keyed_uniform_of_one_key_equals_its_value_in_any_batch(keys, i):
    i = i % len(keys)
    arr = np.array(keys, dtype=np.uint64)
    one = keyed_uniform(11, "volunteers.leave", 4, arr[i:i + 1])
    assert keyed_uniform(11, "volunteers.leave", 4, arr)[i] == one[0]


def test_keyed_uniform_range_and_dtype():
    keys = np.concatenate([np.arange(50_000, dtype=np.uint64),
                           np.array([2**64 - 1, 2**63, 2**32], dtype=np.uint64)])
    u = keyed_uniform(1, "x", 1, keys)
    assert u.dtype == np.float64 and u.shape == keys.shape
    assert u.min() >= 0.0 and u.max() < 1.0


def test_keyed_uniform_is_roughly_uniform():
    u = keyed_uniform(1, "volunteers.leave", 1, np.arange(100_000, dtype=np.uint64))
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    # volunteer-shaped keys: village << 24 | serial
    village = np.repeat(np.arange(20_000, dtype=np.uint64), 5)
    serial = np.tile(np.arange(5, dtype=np.uint64), 20_000)
    v = keyed_uniform(1, "volunteers.leave", 1, (village << np.uint64(24)) | serial)
    assert stats.kstest(v, "uniform").pvalue > 1e-3
    # the mean of 100k uniforms is 0.5 within 5 standard errors (sd 1/sqrt(12))
    assert abs(v.mean() - 0.5) < 5 * (1 / np.sqrt(12)) / np.sqrt(len(v))


@pytest.mark.parametrize("other", [(2, "volunteers.leave", 1), (1, "volunteers.join", 1),
                                   (1, "volunteers.leave", 2)])
def test_keyed_uniform_differs_by_seed_name_and_step(other):
    keys = np.arange(100_000, dtype=np.uint64)
    a = keyed_uniform(1, "volunteers.leave", 1, keys)
    b = keyed_uniform(*other, keys)
    assert (a == b).sum() == 0
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.02  # 100k pairs: sd of r about 0.003


def test_keyed_uniform_is_reproducible():
    keys = np.array([1, 2, 3, 2**40], dtype=np.uint64)
    assert np.array_equal(keyed_uniform(9, "a", 3, keys), keyed_uniform(9, "a", 3, keys))
