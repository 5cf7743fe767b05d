"""Knowledge diffusion (sim/diffusion.py) against MODEL.md section 6's exact rule:
an unaware family becomes aware with probability 1 - exp(-(d_i + p_ext*digital_i + q*w_i)),
w_i = (1 - theta)*a_v + theta * sum_u A_vu a_u / sum_u A_vu."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from sim.diffusion import contact_share, per_village_sum, step_topic, village_aware_share
from sim.model import OutreachModel

pytest.register_assert_rewrite("model_fixtures")  # before importing it: it is also a plugin
from model_fixtures import adjacency, make_admin, make_province, run_config  # noqa: E402

# ---------------------------------------------------------------- per-village sums


def test_village_aware_share_with_empty_villages():
    aware = np.array([1, 0, 1, 1, 1, 0], dtype=bool)
    # villages: 0 -> rows 0-2, 1 empty, 2 -> rows 3-4, 3 -> row 5
    start = np.array([0, 3, 3, 5, 6])
    np.testing.assert_allclose(village_aware_share(aware, start), [2 / 3, 0, 1, 0])


def test_village_aware_share_empty_first_and_all_empty():
    np.testing.assert_allclose(village_aware_share(np.array([True, False]), np.array([0, 0, 0, 2])),
                               [0, 0, 0.5])
    np.testing.assert_allclose(village_aware_share(np.zeros(0, bool), np.array([0, 0, 0])), [0, 0])


def test_per_village_sum():
    start = np.array([0, 0, 2, 2, 5])
    np.testing.assert_allclose(per_village_sum(np.array([1.5, 2.0, 3.0, 4.0, 5.0]), start),
                               [0, 3.5, 0, 12.0])
    np.testing.assert_allclose(per_village_sum(np.array([3, 200, 200], np.uint8), np.array([0, 1, 3])),
                               [3, 400])  # no uint8 overflow
    np.testing.assert_allclose(per_village_sum(np.array([True, True, False]), np.array([0, 3])), [2])


def test_per_village_sum_with_trailing_empty_villages():
    # village 1 holds rows 2-4; villages 2 and 3 are empty
    start = np.array([0, 2, 5, 5, 5])
    np.testing.assert_allclose(per_village_sum(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), start),
                               [3.0, 12.0, 0, 0])


def test_village_aware_share_with_a_trailing_empty_village():
    aware = np.array([1, 0, 1, 1], dtype=bool)
    np.testing.assert_allclose(village_aware_share(aware, np.array([0, 2, 4, 4])), [0.5, 1.0, 0.0])


@pytest.mark.parametrize("small_village", [0, 32, 10**9])
@pytest.mark.parametrize("block", [7, 64, 1 << 18])
def test_per_village_sum_of_small_integers_is_exact_across_blocks(monkeypatch, block, small_village):
    """Flags and member counts are summed as integers, block by block of whole villages (with a
    village larger than a block, empty villages first, inside and last), by running sums or
    reduceat: every village's exact sum, whatever the block size and the method."""
    rng = np.random.default_rng(3)
    sizes = rng.integers(0, 30, 400) * (rng.random(400) < 0.8)
    sizes[:3] = sizes[-4:] = 0
    sizes[200] = 5 * block + 3
    start = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=start[1:])
    monkeypatch.setattr("sim.diffusion.BLOCK", block)
    monkeypatch.setattr("sim.diffusion.SMALL_VILLAGE", small_village)
    for values in (rng.random(start[-1]) < 0.3, rng.integers(0, 256, start[-1]).astype(np.uint8)):
        want = [int(values[a:b].astype(np.int64).sum()) for a, b in zip(start[:-1], start[1:], strict=True)]
        got = per_village_sum(values, start)
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------- contact share


def test_contact_share_well_mixed_is_the_province_share_by_families():
    a_v = np.array([0.5, 0.0, 1.0, 0.25])
    n = np.array([2, 0, 4, 4])
    expected = (0.5 * 2 + 1.0 * 4 + 0.25 * 4) / 10
    np.testing.assert_allclose(contact_share(a_v, None, 0.2, n), np.full(4, expected))
    # and it does not depend on theta
    np.testing.assert_allclose(contact_share(a_v, None, 0.9, n), np.full(4, expected))


def test_contact_share_isolated_is_the_own_village_share():
    a_v = np.array([0.1, 0.7, 0.0])
    isolated = sp.csr_matrix((3, 3), dtype=np.float32)
    np.testing.assert_allclose(contact_share(a_v, isolated, 0.3, np.array([5, 5, 5])), a_v)


def test_contact_share_on_a_small_graph():
    # path 0-1-2 plus 2-3, and village 4 without neighbours
    a_v = np.array([0.1, 0.5, 0.9, 0.3, 0.6])
    net = adjacency(5, [(0, 1), (1, 2), (2, 3)])
    theta = 0.2
    expected = [
        0.8 * 0.1 + 0.2 * 0.5,  # neighbour 1
        0.8 * 0.5 + 0.2 * (0.1 + 0.9) / 2,  # neighbours 0, 2
        0.8 * 0.9 + 0.2 * (0.5 + 0.3) / 2,  # neighbours 1, 3
        0.8 * 0.3 + 0.2 * 0.9,  # neighbour 2
        0.6,  # no neighbours: its own share
    ]
    np.testing.assert_allclose(contact_share(a_v, net, theta, np.ones(5)), expected, atol=1e-7)
    np.testing.assert_allclose(contact_share(a_v, net, 0.0, np.ones(5)), a_v)
    np.testing.assert_allclose(contact_share(a_v, net, 1.0, np.ones(5))[:4],
                               [0.5, 0.5, 0.4, 0.9], atol=1e-7)


# ---------------------------------------------------------------- one step, by hand


def _p(hazard: float) -> float:
    return 1 - math.exp(-hazard)


def test_step_topic_exact_rule_on_a_three_village_toy():
    w_v = np.array([0.0, 0.5, 1.0])
    q, p_ext = 0.6, 0.2
    rows = []  # (village, digital, u, attended hazard or None, aware before, expected after)
    for v in range(3):
        for dig in (0, 1):
            p = _p(q * w_v[v] + p_ext * dig)
            if p > 0:
                rows.append((v, dig, p - 0.01, None, False, True))
            rows.append((v, dig, min(p + 0.01, 0.999), None, False, False))
    # p = 0 (village 0, no digital access): even u = 0 stays unaware
    rows.append((0, 0, 0.0, None, False, False))
    # attended with d = 1.0 in village 1, non-digital: p = 1 - exp(-(0.3 + 1.0))
    p_att = _p(q * 0.5 + 1.0)
    rows.append((1, 0, p_att - 0.01, 1.0, False, True))
    rows.append((1, 0, p_att + 0.01, 1.0, False, False))
    # attended with d = 0.5 in village 2, digital: p = 1 - exp(-(0.6 + 0.2 + 0.5))
    p_att2 = _p(q * 1.0 + p_ext + 0.5)
    rows.append((2, 1, p_att2 - 0.005, 0.5, False, True))
    rows.append((2, 1, p_att2 + 0.005, 0.5, False, False))
    # already aware stays aware whatever u is, and is not counted as new
    rows.append((0, 0, 0.99, None, True, True))
    rows.append((2, 1, 0.0, 2.0, True, True))

    village = np.array([r[0] for r in rows])
    digital = np.array([r[1] for r in rows])
    u = np.array([r[2] for r in rows], dtype=np.float32)
    att = np.array([i for i, r in enumerate(rows) if r[3] is not None])
    d = np.array([rows[i][3] for i in att])
    aware = np.array([r[4] for r in rows])
    expected = np.array([r[5] for r in rows])
    before = aware.copy()
    n_new = step_topic(aware, u, 2 * village + digital, w_v, p_ext, q, att, d)
    np.testing.assert_array_equal(aware, expected)
    assert n_new == int((expected & ~before).sum())


def test_step_topic_scalar_hazard_and_nothing_attended():
    w_v = np.array([0.5])
    aware = np.zeros(4, bool)
    u = np.array([0.05, 0.5, 0.7, 0.95], dtype=np.float32)
    vd = np.zeros(4, dtype=np.int32)  # all in village 0, no digital access
    # q * w = 0.1 -> p = 0.0952: only u = 0.05
    assert step_topic(aware.copy(), u, vd, w_v, 0.0, 0.2, np.empty(0, np.int64), 0.0) == 1
    # scalar d = 1.0 for families 1 and 2: p = 1 - exp(-1.1) = 0.667 -> family 1 only (and family 0)
    a = aware.copy()
    assert step_topic(a, u, vd, w_v, 0.0, 0.2, np.array([1, 2]), 1.0) == 2
    np.testing.assert_array_equal(a, [True, True, False, False])


# ---------------------------------------------------------------- statistics


def _se(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n)


def test_broadcast_alone_gives_one_minus_exp_minus_p_ext():
    n, p_ext = 200_000, 0.05
    rng = np.random.default_rng(20210601)
    digital = rng.random(n) < 0.6
    aware = np.zeros(n, bool)
    u = rng.random(n, dtype=np.float32)
    step_topic(aware, u, digital.astype(np.int32), np.zeros(1), p_ext, 0.0, np.empty(0, np.int64), 0.0)
    p = 1 - math.exp(-p_ext)
    share = aware[digital].mean()
    assert abs(share - p) < 4 * _se(p, digital.sum())
    assert not aware[~digital].any()  # no digital access, q = 0: nobody


def test_word_of_mouth_alone_gives_one_minus_exp_minus_q_w():
    n, q = 200_000, 0.3
    rng = np.random.default_rng(5)
    aware = rng.random(n) < 0.4
    a_v = village_aware_share(aware, np.array([0, n]))
    w_v = contact_share(a_v, sp.csr_matrix((1, 1), dtype=np.float32), 0.2, np.array([n]))
    before = aware.copy()
    step_topic(aware, rng.random(n, dtype=np.float32), np.zeros(n, np.int32), w_v, 0.0, q,
               np.empty(0, np.int64), 0.0)
    p = 1 - math.exp(-q * a_v[0])
    share = aware[~before].mean()
    assert abs(share - p) < 4 * _se(p, (~before).sum())


def _one_village_province(n: int):
    """Two counties: county 0 has one village of ``n`` families (every other one digital),
    county 1 one village of 2 families; no special or hardship families."""
    admin = make_admin([3000], [0, 0], [2000, 1000], [1, 1])
    fam = {
        "village": np.r_[np.zeros(n, int), [1, 1]],
        "size": np.full(n + 2, 2), "n_youth": np.zeros(n + 2, int), "n_infant": np.zeros(n + 2, int),
        "n_elderly": np.zeros(n + 2, int), "special": np.zeros(n + 2, bool),
        "hardship": np.zeros(n + 2, bool), "migrant": np.zeros(n + 2, bool),
        "digital": np.arange(n + 2) % 2 == 0,
    }
    return make_province(admin, township_county=[0, 1], village_township=[0, 1], families=fam,
                         edges=[], network_kind="isolated")


@pytest.mark.parametrize("topic", ["policy", "health", "youth"])
def test_model_broadcast_matches_the_rule(topic):
    """Through the model: no money in any pot, no awareness at the start, q = 0; after one month the aware
    share of digital families is 1 - exp(-p_ext) within 4 standard errors, and nobody
    without digital access is aware."""
    n, p_ext = 200_000, 0.08
    p = _one_village_province(n)
    cfg = run_config(months=1, scale=1.0, funding={"multiplier": 0.0, "raised_funds_multiplier": 0.0},
                     diffusion={"p_ext": p_ext, "q": 0.0, "initial_health_aware": 0.0,
                                "policy_announce_month": 1})
    m = OutreachModel(cfg, p)
    m.step()
    dig = p.families.digital
    expected = 1 - math.exp(-p_ext)
    share = m.aware[topic][dig].mean()
    assert abs(share - expected) < 4 * _se(expected, dig.sum())
    assert not m.aware[topic][~dig].any()


def test_model_policy_broadcast_waits_for_the_announcement():
    p = _one_village_province(2_000)
    cfg = run_config(months=1, scale=1.0, funding={"multiplier": 0.0, "raised_funds_multiplier": 0.0},
                     diffusion={"p_ext": 5.0, "q": 0.0, "policy_announce_month": 2})
    m = OutreachModel(cfg, p)
    m.step()
    assert not m.aware["policy"].any()
    assert m.aware["youth"][p.families.digital].mean() > 0.95  # p = 1 - exp(-5) for the others
