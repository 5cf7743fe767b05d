"""The village network: a symmetric 0/1 ``scipy.sparse`` matrix over the 29,213 villages.

Kinds (``network.kind``):

* ``geo`` (default): within each township a minimum spanning tree over the villages plus links
  to the ``k_near`` nearest villages of the same township; township seats (the village nearest
  the township's centre) joined by a spanning tree within each county, county seats by one
  across the province (so the graph is one component); per village, with probability
  ``p_shortcut``, a small-world shortcut to a random village of another township of the same
  prefecture; per rural village, with probability ``p_migrant_link`` times its migrant outflow
  relative to the mean, a link to an urban community of its prefecture (chosen in proportion
  to population), where its migrants go.
* ``isolated``: no edges (no cross-village ties).
* ``well_mixed``: no matrix; the model uses the province's aware share as every family's
  contact share.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
from scipy.spatial import cKDTree

from sim.config import NetworkConfig
from sim.rng import stream
from sim.villages import Villages


def _mst_edges(idx: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(idx) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) + 1e-6
    tree = minimum_spanning_tree(d).tocoo()
    return idx[tree.row], idx[tree.col]


def _groups(labels: np.ndarray):
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    return np.split(order, bounds)


def build_network(villages: Villages, pref_of_county: np.ndarray, cfg: NetworkConfig,
                  seed: int) -> sp.csr_matrix | None:
    """The network of kind ``cfg.kind`` (``None`` for ``well_mixed``)."""
    n = villages.n
    if cfg.kind == "well_mixed":
        return None
    if cfg.kind == "isolated":
        return sp.csr_matrix((n, n), dtype=np.float32)
    rng = stream(seed, "province.network")
    x, y = villages.x.astype(np.float64), villages.y.astype(np.float64)
    town = villages.township.astype(np.int64)
    rows, cols = [], []

    # Spanning tree inside each township, and the township seats.
    n_town = len(villages.township_county)
    seat = np.zeros(n_town, dtype=np.int64)
    for members in _groups(town):
        t = town[members[0]]
        r, c = _mst_edges(members, x[members], y[members])
        rows.append(r)
        cols.append(c)
        d = np.hypot(x[members] - villages.township_x[t], y[members] - villages.township_y[t])
        seat[t] = members[np.argmin(d)]
    # Seats joined within counties, county seats across the province.
    tcounty = villages.township_county.astype(np.int64)
    county_seat = []
    for towns in _groups(tcounty):
        s = seat[towns]
        r, c = _mst_edges(s, x[s], y[s])
        rows.append(r)
        cols.append(c)
        county_seat.append(s[0])
    cs = np.array(county_seat)
    r, c = _mst_edges(cs, x[cs], y[cs])
    rows.append(r)
    cols.append(c)

    # k nearest villages of the same township (townships pushed far apart on a third axis).
    if cfg.k_near > 0:
        pts = np.column_stack([x, y, town * 1e5])
        k = min(cfg.k_near + 1, n)
        _, nb = cKDTree(pts).query(pts, k=k)
        nb = nb[:, 1:]
        src = np.repeat(np.arange(n), nb.shape[1])
        dst = nb.ravel()
        same = town[src] == town[dst]
        rows.append(src[same])
        cols.append(dst[same])

    # Small-world shortcuts within the prefecture.
    pref = pref_of_county[villages.county.astype(np.int64)]
    pref_groups = _groups(pref)
    u = rng.random(n)
    pick = rng.random(n)
    src = np.flatnonzero(u < cfg.p_shortcut)
    for members in pref_groups:
        s = src[np.isin(src, members)]
        if len(s) == 0:
            continue
        d = members[(pick[s] * len(members)).astype(np.int64)]
        ok = town[d] != town[s]
        rows.append(s[ok])
        cols.append(d[ok])

    # Rural -> urban migrant links within the prefecture.
    mig = villages.migrant_share.astype(np.float64)
    rural = ~villages.urban
    p_link = np.where(rural, cfg.p_migrant_link * mig / max(mig[rural].mean(), 1e-9), 0.0)
    u2 = rng.random(n)
    pick2 = rng.random(n)
    for members in pref_groups:
        urb = members[villages.urban[members]]
        if len(urb) == 0:
            continue
        cum = np.cumsum(villages.population[urb].astype(np.float64))
        s = members[u2[members] < p_link[members]]
        d = urb[np.searchsorted(cum, pick2[s] * cum[-1], side="right").clip(0, len(urb) - 1)]
        rows.append(s)
        cols.append(d)

    r = np.concatenate(rows)
    c = np.concatenate(cols)
    keep = r != c
    r, c = r[keep], c[keep]
    a = sp.coo_matrix((np.ones(2 * len(r), dtype=np.float32),
                       (np.concatenate([r, c]), np.concatenate([c, r]))), shape=(n, n)).tocsr()
    a.data[:] = 1.0  # duplicates summed above: back to 0/1
    a.sum_duplicates()
    a.data[:] = 1.0
    return a


def describe(adj: sp.csr_matrix | None, n: int) -> tuple[float, int]:
    """(mean degree, number of connected components) of a network; ``None`` is well mixed."""
    if adj is None:
        return float(n - 1), 1
    n_comp, _ = connected_components(adj, directed=False)
    return float(adj.nnz) / n, int(n_comp)
