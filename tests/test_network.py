"""The village network (sim/network.py)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import N_VILLAGES, assert_networks_equal
from scipy.sparse.csgraph import connected_components

from sim.config import NetworkConfig, PopulationConfig
from sim.network import build_network, describe
from sim.province import build_province


def _pref(province) -> np.ndarray:
    return province.admin.counties["pref"].to_numpy()


def _check_simple_graph(a: sp.csr_matrix, n: int) -> None:
    assert a.shape == (n, n)
    assert (a != a.T).nnz == 0, "not symmetric"
    assert a.diagonal().sum() == 0, "self-loops"
    a = a.tocsr()
    a.sum_duplicates()
    assert np.all(a.data == 1), "entries must be 0/1"


def test_geo_network(province):
    a = province.network
    n = province.villages.n
    assert isinstance(a, sp.csr_matrix)
    _check_simple_graph(a, n)
    n_comp, _ = connected_components(a, directed=False)
    assert n_comp == 1
    mean_degree, comps = describe(a, n)
    assert comps == 1
    assert mean_degree == pytest.approx(a.nnz / n)
    assert 5 <= mean_degree <= 7
    degree = np.diff(a.indptr)
    assert degree.min() >= 1


def test_geo_network_is_the_one_rebuilt(province):
    """The cached session network equals a fresh build from the same villages and seed."""
    a = build_network(province.villages, _pref(province), NetworkConfig(), province.seed)
    assert_networks_equal(a, province.network)


def test_skeleton_is_a_spanning_tree(province):
    """Without k-nearest links, shortcuts and migrant links the network is the township, county
    and province spanning trees: one component with exactly n - 1 edges."""
    v = province.villages
    a = build_network(v, _pref(province), NetworkConfig(k_near=0, p_shortcut=0, p_migrant_link=0), 1)
    _check_simple_graph(a, v.n)
    assert a.nnz == 2 * (v.n - 1)
    assert describe(a, v.n)[1] == 1


def test_local_links_stay_in_the_township(province):
    v = province.villages
    a = build_network(v, _pref(province), NetworkConfig(k_near=4, p_shortcut=0, p_migrant_link=0), 1)
    skeleton = build_network(v, _pref(province), NetworkConfig(k_near=0, p_shortcut=0, p_migrant_link=0), 1)
    extra = (a - skeleton).tocoo()
    extra.eliminate_zeros()
    assert extra.nnz > 0
    assert np.all(v.township[extra.row] == v.township[extra.col])


def test_shortcuts_and_migrant_links_add_edges(province):
    v = province.villages
    pref = _pref(province)
    base = build_network(v, pref, NetworkConfig(p_shortcut=0, p_migrant_link=0), 1)
    more = build_network(v, pref, NetworkConfig(p_shortcut=0.5, p_migrant_link=0), 1)
    mig = build_network(v, pref, NetworkConfig(p_shortcut=0, p_migrant_link=1.0), 1)
    assert more.nnz > base.nnz + 2 * 0.3 * v.n
    assert mig.nnz > base.nnz
    # migrant links join rural villages to urban communities of the same prefecture
    new = (mig - base).tocoo()
    new.eliminate_zeros()
    rows, cols = new.row, new.col
    vp = pref[v.county]
    assert np.all(vp[rows] == vp[cols])
    assert np.all(v.urban[rows] | v.urban[cols])


def test_network_depends_on_seed(province):
    v = province.villages
    a = build_network(v, _pref(province), NetworkConfig(), 1)
    b = build_network(v, _pref(province), NetworkConfig(), 2)
    assert (a != b).nnz > 0


def test_isolated(province):
    v = province.villages
    a = build_network(v, _pref(province), NetworkConfig(kind="isolated"), 1)
    assert a.shape == (v.n, v.n)
    assert a.nnz == 0
    assert describe(a, v.n) == (0.0, v.n)


def test_well_mixed(province):
    v = province.villages
    assert build_network(v, _pref(province), NetworkConfig(kind="well_mixed"), 1) is None
    assert describe(None, v.n) == (float(v.n - 1), 1)
    assert describe(None, N_VILLAGES) == (29212.0, 1)


@pytest.mark.parametrize("kind", ["isolated", "well_mixed"])
def test_other_kinds_through_build_province(tmp_path, kind):
    pop = PopulationConfig(scale=0.002, cache_dir=str(tmp_path))
    p = build_province(pop, NetworkConfig(kind=kind), progress=False)
    q = build_province(pop, NetworkConfig(kind=kind), progress=False)
    assert not p.cache_hit and q.cache_hit
    assert p.network_kind == q.network_kind == kind
    if kind == "well_mixed":
        assert p.network is None and q.network is None
    else:
        assert p.network.nnz == 0 and q.network.nnz == 0
        assert q.network.shape == (N_VILLAGES, N_VILLAGES)


def test_bad_network_config():
    from sim.errors import ConfigError

    with pytest.raises(ConfigError, match="network.kind") as info:
        NetworkConfig(kind="ring")
    assert "'geo'" in str(info.value)
    assert "'well_mixed'" in str(info.value) and "'isolated'" in str(info.value)
    with pytest.raises(ConfigError, match="network.k_near"):
        NetworkConfig(k_near=-1)
    with pytest.raises(ConfigError, match="network.p_shortcut"):
        NetworkConfig(p_shortcut=1.5)
