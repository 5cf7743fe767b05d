"""How money is split among prefectures and counties (sim/allocation.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sim.allocation import (
    COUNTIES_OVER_2M,
    COUNTIES_OVER_3M,
    PREFECTURES_OVER_2M,
    county_pattern,
    policy_weights,
    prefecture_pattern,
)
from sim.config import POLICIES, FundingConfig

pytest_plugins = ("model_fixtures",)

PATTERN = np.array([1.0, 2.0, 3.0, 4.0])
POP = np.array([10.0, 20.0, 30.0, 40.0])
NEED = np.array([0.0, 1.0, 1.0, 2.0])


def _w(policy, shortfall=None, pattern=PATTERN, population=POP, need=NEED):
    return policy_weights(policy, pattern=pattern, population=population, need=need, shortfall=shortfall)


# ---------------------------------------------------------------- policy weights


def test_per_capita_is_proportional_to_population():
    np.testing.assert_allclose(_w("per_capita"), [0.1, 0.2, 0.3, 0.4])


def test_equal():
    np.testing.assert_allclose(_w("equal"), [0.25] * 4)


def test_need_based_is_proportional_to_need():
    np.testing.assert_allclose(_w("need_based"), [0, 0.25, 0.25, 0.5])


def test_as_reported_is_the_pattern():
    np.testing.assert_allclose(_w("as_reported"), [0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(_w("as_reported", pattern=np.array([5.0, 0, 0, 15.0])), [0.25, 0, 0, 0.75])


def test_performance_tilts_towards_the_shortfall():
    s = np.array([0.1, 0.2, 0.3, 0.4])  # mean 0.25: factors 0.85, 0.95, 1.05, 1.15
    expected = np.array([1 * 0.85, 2 * 0.95, 3 * 1.05, 4 * 1.15])
    np.testing.assert_allclose(_w("performance", s), expected / expected.sum())
    # counties further behind get more than as reported, those ahead less
    w, base = _w("performance", s), _w("as_reported")
    assert w[3] > base[3] and w[0] < base[0]
    # an equal shortfall everywhere changes nothing
    np.testing.assert_allclose(_w("performance", np.full(4, 0.7)), base)


def test_performance_factor_is_at_least_0_05():
    s = np.array([0.0, 0.0, 0.0, 4.0])  # mean 1: factors 0, 0, 0, 4 -> 0.05, 0.05, 0.05, 4
    expected = np.array([1 * 0.05, 2 * 0.05, 3 * 0.05, 4 * 4])
    np.testing.assert_allclose(_w("performance", s), expected / expected.sum())


def test_performance_without_a_last_year_is_as_reported():
    np.testing.assert_allclose(_w("performance", None), _w("as_reported"))


def test_all_zero_weights_split_evenly_and_negatives_are_clipped():
    np.testing.assert_allclose(_w("need_based", need=np.zeros(4)), [0.25] * 4)
    np.testing.assert_allclose(_w("need_based", need=np.array([-1.0, 1.0, 0.0, 3.0])), [0, 0.25, 0, 0.75])


@given(policy=st.sampled_from(POLICIES),
       arrays=hnp.arrays(np.float64, st.tuples(st.just(4), st.integers(1, 30)),
                         elements=st.floats(0, 1e7, allow_nan=False)),
       shortfall=st.one_of(st.none(), hnp.arrays(np.float64, 30, elements=st.floats(0, 1))))
@settings(max_examples=60, deadline=None)
def test_weights_are_a_distribution(policy, arrays, shortfall):
    pattern, pop, need = arrays[0], arrays[1], arrays[2]
    n = len(pattern)
    sf = None if shortfall is None else shortfall[:n]
    w = policy_weights(policy, pattern=pattern, population=pop, need=need, shortfall=sf)
    assert w.shape == (n,)
    assert (w >= 0).all()
    assert w.sum() == pytest.approx(1.0, rel=1e-9)


# ---------------------------------------------------------------- the 2021 patterns


def test_county_pattern_2021(real_admin):
    c = real_admin.counties
    b = county_pattern(c)
    names = c["name_zh"].to_numpy()
    assert len(b) == 122
    for n in COUNTIES_OVER_3M:
        assert b[names == n] == [3.2e6], n
    assert set(COUNTIES_OVER_3M) == {"宜章县", "永兴县"}
    assert len(COUNTIES_OVER_2M) == 8
    for n in COUNTIES_OVER_2M:
        assert b[names == n] == [2.3e6], n
    assert (b >= 1e6).sum() == 27
    assert (b > 3e6).sum() == 2 and (b > 2e6).sum() == 10
    others_over_1m = (b >= 1e6) & (b <= 1.8e6)
    assert others_over_1m.sum() == 17
    low = b < 1e6
    assert b[low].min() == pytest.approx(0.2e6) and b[low].max() == pytest.approx(0.95e6)
    # the 17 others above 1 M are the most populous counties not named, and rise with population
    pop = c["population"].to_numpy()
    named = np.isin(names, COUNTIES_OVER_3M + COUNTIES_OVER_2M)
    assert pop[others_over_1m].min() > pop[~named & low].max()
    for group in (others_over_1m, low):
        order = np.argsort(pop[group])
        assert (np.diff(b[group][order]) >= 0).all()


def test_prefecture_pattern_2021(real_admin):
    pf = real_admin.prefectures
    b = prefecture_pattern(pf)
    names = pf["name_zh"].to_numpy()
    assert len(b) == 14
    assert b[names == "长沙市"] == [3.86e6]
    for n in PREFECTURES_OVER_2M:
        assert b[names == n] == [2.1e6], n
    rest = ~np.isin(names, PREFECTURES_OVER_2M + ("长沙市",))
    assert (b[rest] >= 1.0e6 - 1e-6).all() and (b[rest] <= 1.9e6 + 1e-6).all()
    assert (b >= 1e6 - 1e-6).all()


def test_default_budget_totals_are_the_2021_pattern_sums(real_admin):
    fu = FundingConfig()
    assert fu.county_budget_yuan == pytest.approx(county_pattern(real_admin.counties).sum(), rel=1e-3)
    assert fu.prefecture_budget_yuan == pytest.approx(prefecture_pattern(real_admin.prefectures).sum(),
                                                      rel=1e-3)
