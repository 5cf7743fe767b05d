"""Draw and ranking mechanics shared by the submodels.

Every random decision draws from its own named stream (:func:`sim.rng.stream`) one uniform per
row of a fixed set (all families, families with youth, special families, ...) and then masks,
so two scenarios with the same seed draw the same numbers for the same families. Draws and
comparisons run in blocks of ``BLOCK`` rows (the same numbers as one draw; no per-family
temporary is allocated), and long runs of families that cannot be reached (probability 0) are
skipped with PCG64's ``advance``: none of this changes any family's number.
"""

from __future__ import annotations

import numpy as np

from sim.diffusion import BLOCK

MIN_SKIP = 4096
"""Fewest rows :func:`draws_below` skips with ``advance`` rather than draws: a separate draw
call costs about as much as drawing and comparing a few thousand rows, so shorter gaps between
runs of positive villages are drawn through (their rows have probability 0: none is chosen)."""


def blocks(stop: int, start: int = 0) -> list[tuple[int, int]]:
    """(start, stop) of the blocks of ``BLOCK`` rows that cover rows ``start`` to ``stop``."""
    return [(i, min(i + BLOCK, stop)) for i in range(start, stop, BLOCK)]


def lexsort_group_key(group: np.ndarray, key: np.ndarray) -> np.ndarray:
    """``np.lexsort((key, group))``: by group, then key, then row.

    Keys drawn by ``Generator.random`` are multiples of 2**-53 in [0, 1), so (group, key) packs
    exactly into one uint64 whose stable argsort is the same order, 3-4 times faster than
    lexsort. Other keys or groups fall back to lexsort.
    """
    k = key * 2.0**53
    if (len(key) and key.dtype == np.float64 and 0 <= group.min() and group.max() < 2**10
            and 0 <= k.min() and k.max() < 2.0**53 and np.array_equal(k, np.floor(k))):
        packed = k.astype(np.uint64) | (group.astype(np.uint64) << np.uint64(53))
        return np.argsort(packed, kind="stable")
    return np.lexsort((key, group))


def draws_below(gen: np.random.Generator, p_table: np.ndarray, key: np.ndarray | None,
                village_start: np.ndarray | None = None,
                village_positive: np.ndarray | None = None) -> np.ndarray:
    """Rows ``i`` (sorted) where ``u[i] < p_table[key[i]]``, ``u`` one float32 uniform per row of
    ``key`` from ``gen`` (drawn block by block: the same numbers as one draw). With ``key=None``,
    ``p_table`` holds each row's own probability (``u[i] < p_table[i]``).

    With ``village_positive`` (rows are families, ``village_start`` their villages' first rows;
    False where the village's probability is 0, so that no uniform is below it), the families of
    runs of such villages are not drawn: PCG64 makes two float32 uniforms of each 64-bit output,
    so skipping an even number of them with ``advance`` is exact and every other family gets its
    usual uniform. Gaps of fewer than :data:`MIN_SKIP` rows are drawn through (the same numbers;
    nobody in them is chosen).
    """
    n = len(p_table) if key is None else len(key)
    if village_positive is None:
        runs = [(0, n)]
    else:  # families of runs of positive villages, widened to even rows
        edge = np.diff(village_positive.astype(np.int8), prepend=0, append=0)
        vs = village_start
        starts = vs[np.flatnonzero(edge == 1)] // 2 * 2
        stops = np.minimum((vs[np.flatnonzero(edge == -1)] + 1) // 2 * 2, n)
        # Join runs whose gap is short (or, once widened, negative): the joined run starts and
        # ends where runs did, so it stays even.
        far = starts[1:] - stops[:-1] >= MIN_SKIP
        runs = zip(starts[np.r_[True, far]], stops[np.r_[far, True]], strict=True) if len(starts) else []
    rows, at = [], 0  # `at`: rows drawn or skipped so far (even until the last row)
    for start, stop in runs:
        start = max(int(start), at)
        if start >= stop:
            continue
        if start > at:
            gen.bit_generator.advance((start - at) // 2)
        rows += [np.flatnonzero(gen.random(j - i, dtype=np.float32) < _p_rows(p_table, key, i, j)) + i
                 for i, j in blocks(int(stop), start)]
        at = int(stop)
    return np.concatenate(rows) if rows else np.empty(0, np.intp)


def _p_rows(p_table: np.ndarray, key: np.ndarray | None, i: int, j: int) -> np.ndarray:
    """The probabilities of rows ``i`` to ``j`` (see :func:`draws_below`)."""
    return p_table[i:j] if key is None else np.take(p_table, key[i:j], mode="clip")


def digital_draws_below(gen: np.random.Generator, digital: np.ndarray, p: float) -> np.ndarray:
    """Families with internet access (sorted) whose uniform is below ``p``: one float32 uniform
    per such family, in family order, from ``gen`` (the same numbers as one draw)."""
    rows = []
    for i, j in blocks(len(digital)):
        dig = np.flatnonzero(digital[i:j])
        rows.append(dig[gen.random(len(dig), dtype=np.float32) < p] + i)
    return np.concatenate(rows) if rows else np.empty(0, np.intp)


def select(round_gen: np.random.Generator, weight: float, group: np.ndarray, key: np.ndarray,
           candidate: np.ndarray, units: np.ndarray, people: np.ndarray | None = None) -> np.ndarray:
    """Choose candidates, in order of ``key`` within each group, up to ``units`` (full-scale
    families, or people when ``people`` is given) per group.

    ``units / weight`` is rounded stochastically (one uniform per group from ``round_gen``), so
    the reach is right in expectation at any scale while the money (accounted as ``units``
    times the unit cost) never exceeds what is available.
    """
    n_groups = len(units)
    u = round_gen.random(n_groups)
    limit = np.floor(units / weight + u)
    cost = np.ones(len(group)) if people is None else people.astype(np.float64)
    cost = np.where(candidate, cost, 0.0)
    chosen = np.zeros(len(group), dtype=bool)
    if people is None or np.issubdtype(people.dtype, np.integer):
        # Whole-number costs add up exactly in any order, so in a group whose candidates all fit
        # every candidate is chosen, and elsewhere only candidates need sorting (the others cost
        # nothing and are never chosen).
        fits = (np.bincount(group, weights=cost, minlength=n_groups) <= limit + 1e-9)[group]
        chosen[fits] = cost[fits] > 0
        rows = np.flatnonzero(~fits & (cost > 0))
    else:
        rows = np.arange(len(group))
    order = rows[lexsort_group_key(group[rows], key[rows])]
    g = group[order]
    c = cost[order]
    cum = np.cumsum(c)
    new_group = np.ones(len(g), dtype=bool)
    np.not_equal(g[1:], g[:-1], out=new_group[1:])
    first = np.maximum.accumulate(np.where(new_group, np.arange(len(g)), 0))  # of each row's group
    within = cum - (cum[first] - c[first])
    chosen[order] = (within <= limit[g] + 1e-9) & (c > 0)
    return chosen
