"""Knowledge diffusion, exactly as MODEL.md section 6 states.

Each month an unaware family *i* on topic *k* becomes aware with probability

    1 - exp(-(d_i + p_ext * digital_i + q * w_i)),
    w_i = (1 - theta) * a_v + theta * sum_u A_vu a_u / sum_u A_vu,

with ``d_i`` the hazard from activities it attended this month, ``a_v`` the aware share of its
village *v* at the start of the month and ``A`` the village network. With ``well_mixed`` the
contact share is the province's aware share; a village without neighbours (``isolated``) has
only its own families as contacts, so its neighbour term is ``a_v``.

Since ``d_i`` is zero for most families, the probability takes two values per village (digital
or not) for them; families that attended get their own. One uniform draw per family and topic.
:func:`step_topic` applies the rule to every family at once; the model applies it with
:func:`step_block` to blocks of ``BLOCK`` consecutive families, with the same result.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

BLOCK = 1 << 18
"""Families per block of the engine's per-family passes (draws, comparisons, village sums): a
block's temporaries stay in the CPU cache, and no temporary of one value per family is needed."""


SMALL_VILLAGE = 32
"""Families per village below which :func:`per_village_sum` adds flags by a running sum rather
than by ``reduceat`` (whose cost per village dominates for small villages; measured crossover
about 40 families a village, population.scale 0.05)."""


def per_village_sum(values: np.ndarray, village_start: np.ndarray) -> np.ndarray:
    """Sum of ``values`` (one per family, families sorted by village) in each village."""
    values = np.asarray(values)
    top = 1 if values.dtype == bool else 255  # the largest value of a one-byte type
    if values.dtype == bool:
        values = values.view(np.uint8)
    starts = village_start[:-1]
    n = len(values)
    if values.dtype.kind == "u" and values.dtype.itemsize == 1:
        # Small unsigned integers (flags, members) sum exactly as integers, on blocks of whole
        # villages of about BLOCK families (villages from `last` on are empty: start == n). Small
        # villages (small scales): a running sum differenced at the villages' starts, as
        # reduceat's cost per village dominates there; large villages: reduceat, in the narrowest
        # unsigned type that holds the largest village's sum (it first copies its input into it).
        out = np.zeros(len(starts), dtype=np.float64)
        last = int(np.searchsorted(starts, n))
        cuts = [0, last] if n <= BLOCK else np.append(
            np.unique(np.searchsorted(starts[:last], np.arange(0, n, BLOCK))), last)
        acc = None
        for va, vb in zip(cuts[:-1], cuts[1:], strict=True):
            if va < vb:
                edges = village_start[va:vb + 1]  # (village_start[last] is n)
                a, b = edges[0], edges[-1]
                edges = edges - a
                if b - a < SMALL_VILLAGE * (vb - va):
                    running_acc = np.uint32 if (b - a) * top < 2**32 else np.uint64
                    running = np.zeros(b - a + 1, dtype=running_acc)
                    np.cumsum(values[a:b], dtype=running_acc, out=running[1:])
                    out[va:vb] = np.diff(running[edges])
                else:
                    if acc is None:
                        acc = _count_dtype(int(np.diff(village_start).max(initial=0)) * top)
                    block = np.add.reduceat(values[a:b], edges[:-1], dtype=acc)
                    block[edges[1:] == edges[:-1]] = 0  # reduceat gives the next row for an empty village
                    out[va:vb] = block
        return out
    # Other values: a trailing zero gives empty villages at the end a valid start index.
    out = np.add.reduceat(np.append(values, values.dtype.type(0)), starts, dtype=np.float64)
    out[np.diff(village_start) == 0] = 0  # reduceat gives the next row for an empty slice
    return out


def _count_dtype(max_sum: int) -> type:
    """The narrowest unsigned integer type that holds ``max_sum``."""
    for dt in (np.uint16, np.uint32):
        if max_sum <= np.iinfo(dt).max:
            return dt
    return np.uint64


def village_aware_share(aware: np.ndarray, village_start: np.ndarray) -> np.ndarray:
    """Aware share of each village (families sorted by village; empty villages get 0)."""
    return per_village_sum(aware, village_start) / np.maximum(np.diff(village_start), 1)


def network_degree(network: sp.csr_matrix | None) -> np.ndarray | None:
    """``sum_u A_vu`` of every village (``None`` for a well-mixed province)."""
    return None if network is None else np.asarray(network.sum(axis=1)).ravel()


def contact_share(a_v: np.ndarray, network: sp.csr_matrix | None, theta: float,
                  n_families: np.ndarray, degree: np.ndarray | None = None) -> np.ndarray:
    """``w`` of every village from the village aware shares ``a_v`` (``degree``: the
    network's :func:`network_degree`, computed here when not given)."""
    if network is None:  # well mixed: the province's share (by families)
        return np.full(len(a_v), float((a_v * n_families).sum() / max(n_families.sum(), 1)))
    deg = network_degree(network) if degree is None else degree
    neigh = network @ a_v
    neigh = np.where(deg > 0, neigh / np.maximum(deg, 1), a_v)
    return (1 - theta) * a_v + theta * neigh


def attended_hazards(parts: list[tuple[np.ndarray, float]]) -> tuple[np.ndarray, np.ndarray | float]:
    """Each family that attended once (sorted indices) with its summed hazard ``d_i``.

    Args:
        parts: (family indices, hazard per attendance) of each activity this month.

    Returns:
        (indices, hazards), or (empty, 0.0) when nobody attended. A family that attended
        several activities gets the sum of their hazards, added in the order of ``parts``.
    """
    if not parts:
        return np.empty(0, np.int64), 0.0
    idx = np.concatenate([p[0] for p in parts])
    h = np.concatenate([np.full(len(p[0]), p[1]) for p in parts])
    if len(idx) == 0:
        return idx, h
    # The parts are mostly sorted runs, which a stable sort merges in about linear time
    # (np.unique's default sort does not); the result is np.unique's.
    order = np.argsort(idx, kind="stable")
    srt = idx[order]
    first = np.empty(len(srt), dtype=bool)
    first[0] = True
    np.not_equal(srt[1:], srt[:-1], out=first[1:])
    inv = np.empty(len(srt), dtype=np.intp)
    inv[order] = np.cumsum(first) - 1
    return srt[first], np.bincount(inv, weights=h)


def step_topic(aware: np.ndarray, u: np.ndarray, village_digital: np.ndarray, w_v: np.ndarray,
               p_ext: float, q: float, attended: np.ndarray, d_attended: float | np.ndarray) -> int:
    """Advance one topic by one month, in place. Returns the number of newly aware families.

    Args:
        aware: bool per family, updated in place.
        u: uniform draw per family in [0, 1).
        village_digital: per family, ``2 * village + digital`` (index into the per-village table).
        w_v: contact share per village.
        p_ext: broadcast hazard for families with digital access (per month).
        q: word-of-mouth coefficient.
        attended: indices of families that attended an activity on the topic this month.
        d_attended: hazard ``d_i`` of those families (scalar or per index).
    """
    tables = hazard_tables(w_v, p_ext, q)
    return step_block(aware, u, village_digital, tables, attended, d_attended)


def hazard_tables(w_v: np.ndarray, p_ext: float, q: float) -> tuple[np.ndarray, np.ndarray]:
    """The month's hazard ``q * w_v + p_ext * digital`` per (village, digital), flattened
    (index ``2 * village + digital``), and its probability ``1 - exp(-hazard)`` as float32."""
    base = np.empty((len(w_v), 2))
    base[:, 0] = q * w_v
    base[:, 1] = q * w_v + p_ext
    base = base.ravel()
    return base, (-np.expm1(-base)).astype(np.float32)


def step_block(aware: np.ndarray, u: np.ndarray, village_digital: np.ndarray,
               tables: tuple[np.ndarray, np.ndarray], attended: np.ndarray,
               d_attended: float | np.ndarray, *, count: bool = True) -> int | None:
    """:func:`step_topic` on a block of consecutive families, with the month's
    :func:`hazard_tables`: ``aware``, ``u`` and ``village_digital`` are the block's rows and
    ``attended`` indexes into them. The model runs blocks that fit in the CPU cache.
    With ``count=False`` the newly aware are not counted (returns None)."""
    base, p_table = tables
    # The indices are valid by construction; mode="clip" skips numpy's bounds check and buffer.
    new = np.less(u, np.take(p_table, village_digital, mode="clip"))
    if len(attended):
        h = base[village_digital[attended]] + d_attended
        new[attended] = u[attended] < -np.expm1(-h)
    if not count:
        aware |= new
        return None
    np.greater(new, aware, out=new)  # new and not yet aware
    aware |= new
    return int(np.count_nonzero(new))
