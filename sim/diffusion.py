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
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def per_village_sum(values: np.ndarray, village_start: np.ndarray) -> np.ndarray:
    """Sum of ``values`` (one per family, families sorted by village) in each village."""
    values = np.asarray(values)
    if values.dtype == bool:
        values = values.view(np.uint8)
    # A trailing zero gives empty villages at the end a valid start index.
    out = np.add.reduceat(np.append(values, values.dtype.type(0)), village_start[:-1], dtype=np.float64)
    out[np.diff(village_start) == 0] = 0  # reduceat gives the next row for an empty slice
    return out


def village_aware_share(aware: np.ndarray, village_start: np.ndarray) -> np.ndarray:
    """Aware share of each village (families sorted by village; empty villages get 0)."""
    return per_village_sum(aware, village_start) / np.maximum(np.diff(village_start), 1)


def contact_share(a_v: np.ndarray, network: sp.csr_matrix | None, theta: float,
                  n_families: np.ndarray) -> np.ndarray:
    """``w`` of every village from the village aware shares ``a_v``."""
    if network is None:  # well mixed: the province's share (by families)
        return np.full(len(a_v), float((a_v * n_families).sum() / max(n_families.sum(), 1)))
    deg = np.asarray(network.sum(axis=1)).ravel()
    neigh = network @ a_v
    neigh = np.where(deg > 0, neigh / np.maximum(deg, 1), a_v)
    return (1 - theta) * a_v + theta * neigh


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
    base = np.empty((len(w_v), 2))
    base[:, 0] = q * w_v
    base[:, 1] = q * w_v + p_ext
    p_table = (-np.expm1(-base)).astype(np.float32).ravel()
    new = u < p_table[village_digital]
    if len(attended):
        h = base.ravel()[village_digital[attended]] + d_attended
        new[attended] = u[attended] < -np.expm1(-h)
    new &= ~aware
    aware |= new
    return int(new.sum())
