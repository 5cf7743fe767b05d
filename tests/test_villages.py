"""Townships and villages (sim/villages.py)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import N_COUNTIES, N_TOWNSHIPS, N_VILLAGES, PROVINCE_POPULATION, assert_arrays_equal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.admin import largest_remainder
from sim.config import PopulationConfig
from sim.errors import ConfigError
from sim.villages import build_villages

N_URBAN = round(0.18 * N_VILLAGES)  # 5258


def test_counts(province):
    v = province.villages
    assert v.n == N_VILLAGES
    assert len(v.township_county) == N_TOWNSHIPS
    for name in ("township_urban", "township_x", "township_y"):
        assert len(getattr(v, name)) == N_TOWNSHIPS
    for name in ("township", "urban", "x", "y", "population", "households", "remoteness_min",
                 "digital_share", "migrant_share", "special_share", "hardship_share"):
        assert len(getattr(v, name)) == N_VILLAGES, name
    assert N_URBAN == 5258
    assert int(v.urban.sum()) == N_URBAN


def test_townships_per_county_match_admin(province, admin):
    v = province.villages
    got = np.bincount(v.township_county, minlength=N_COUNTIES)
    assert np.array_equal(got, admin.counties["n_townships"].to_numpy())


def test_villages_per_county_by_population(province, admin):
    v = province.villages
    got = np.bincount(v.county, minlength=N_COUNTIES)
    want = largest_remainder(N_VILLAGES, admin.counties["population"].to_numpy(float))
    assert np.array_equal(got, want)
    assert np.all(np.diff(v.county) >= 0), "villages are ordered by county"


def test_every_township_has_a_village(province):
    v = province.villages
    per_town = np.bincount(v.township, minlength=N_TOWNSHIPS)
    assert len(per_town) == N_TOWNSHIPS
    assert per_town.min() >= 1
    assert per_town.sum() == N_VILLAGES


def test_village_township_belongs_to_village_county(province):
    v = province.villages
    assert v.township.min() >= 0 and v.township.max() < N_TOWNSHIPS
    assert np.array_equal(v.township_county[v.township], v.county)


def test_urban_communities_concentrate_in_districts(province, admin):
    v = province.villages
    vtype = admin.counties["type"].to_numpy()[v.county]
    share = {t: v.urban[vtype == t].mean() for t in set(vtype)}
    assert share["district"] > share["county-level city"] > share["county"]
    assert share["district"] > 2 * share["county"]
    assert share["district"] > share["autonomous county"]
    assert v.urban.mean() == pytest.approx(0.18, abs=1e-4)
    # a county's urban fraction is capped at 0.9
    per_county = np.bincount(v.county, weights=v.urban) / np.bincount(v.county)
    assert per_county.max() <= 0.9 + 1e-9


def test_urban_villages_sit_in_urban_townships(province):
    v = province.villages
    assert v.township_urban[v.township[v.urban]].all()
    n_urban_towns = int(v.township_urban.sum())
    assert 0 < n_urban_towns < N_TOWNSHIPS


def test_village_population_sums_to_county(province, admin):
    v = province.villages
    by_county = np.bincount(v.county, weights=v.population, minlength=N_COUNTIES).astype(np.int64)
    assert np.array_equal(by_county, admin.counties["population"].to_numpy())
    assert int(v.population.astype(np.int64).sum()) == PROVINCE_POPULATION
    assert v.population.min() > 0
    # urban communities are bigger (weight 2.6 vs 1)
    assert np.median(v.population[v.urban]) > np.median(v.population[~v.urban])


def test_households(province):
    v = province.villages
    cfg = PopulationConfig()
    want = np.maximum(1, np.rint(v.population * cfg.family_household_share / cfg.avg_household_size))
    assert np.array_equal(v.households, want.astype(np.int32))
    total = int(v.households.astype(np.int64).sum())
    assert 22_800_000 <= total <= 23_000_000  # census: 22,878,336 family households


def test_remoteness_and_places(province):
    v = province.villages
    assert np.all(v.remoteness_min > 0)
    assert np.all(v.remoteness_min[v.urban] >= 3)
    assert np.all(v.remoteness_min[~v.urban] >= 5)
    assert np.isfinite(v.x).all() and np.isfinite(v.y).all()
    # all inside a generous box around Hunan (108.8-114.3 E, 24.6-30.1 N)
    assert v.lon.min() > 108 and v.lon.max() < 115
    assert v.lat.min() > 24 and v.lat.max() < 31
    # a village lies within its township's disk: no village more than ~60 km from its seat
    d = np.hypot(v.x - v.township_x[v.township], v.y - v.township_y[v.township])
    assert d.max() < 60


def test_shares(province):
    v = province.villages
    for name in ("digital_share", "migrant_share", "special_share", "hardship_share"):
        a = getattr(v, name)
        assert a.dtype == np.float32
        assert np.all((a >= 0) & (a <= 1)), name
    assert v.digital_share[v.urban].mean() == pytest.approx(0.85, abs=0.03)
    assert v.digital_share[v.urban].mean() > v.digital_share[~v.urban].mean()
    assert v.migrant_share[v.urban].mean() == pytest.approx(0.08, abs=0.02)
    assert v.migrant_share[~v.urban].mean() == pytest.approx(0.30, abs=0.02)
    assert v.hardship_share[~v.urban].mean() > v.hardship_share[v.urban].mean()


def test_special_and_hardship_expected_totals(province):
    """The shares are rescaled so the expected province totals are the configured counts."""
    v = province.villages
    h = v.households.astype(np.float64)
    assert float((v.special_share * h).sum()) == pytest.approx(90_000, rel=1e-4)
    assert float((v.hardship_share * h).sum()) == pytest.approx(200_000, rel=1e-4)


def test_villages_do_not_depend_on_scale(province, admin):
    other = build_villages(admin, PopulationConfig(scale=0.5))
    assert_arrays_equal(province.villages, other)


def test_villages_depend_on_seed(province, admin):
    other = build_villages(admin, PopulationConfig(seed=7))
    v = province.villages
    assert np.array_equal(v.county, other.county)  # allotment is not random
    assert int(other.urban.sum()) == N_URBAN
    assert not np.array_equal(v.x, other.x)
    assert not np.array_equal(v.population, other.population)
    assert not np.array_equal(v.digital_share, other.digital_share)


def test_urban_share_is_configurable(admin):
    v = build_villages(admin, PopulationConfig(urban_share=0.3))
    assert int(v.urban.sum()) == round(0.3 * N_VILLAGES)
    assert np.bincount(v.township, minlength=N_TOWNSHIPS).min() >= 1


@pytest.mark.parametrize("n_villages", [2000, 2500, 5000])
def test_few_villages_still_fill_every_township(admin, n_villages):
    """With few villages a county keeps min(townships, villages) townships, each with a village."""
    v = build_villages(admin, PopulationConfig(n_villages=n_villages))
    per_county = largest_remainder(n_villages, admin.counties["population"].to_numpy(float))
    n_towns = int(np.minimum(admin.counties["n_townships"].to_numpy(), per_county).sum())
    assert v.n == n_villages
    assert len(v.township_county) == n_towns
    assert np.bincount(v.township, minlength=n_towns).min() >= 1
    assert np.array_equal(v.township_county[v.township], v.county)
    assert int(v.urban.sum()) == round(0.18 * n_villages)


@given(i=st.integers(0, N_VILLAGES - 1))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_village_is_consistent(province, admin, i):
    v = province.villages
    c = int(v.county[i])
    t = int(v.township[i])
    assert 0 <= c < N_COUNTIES
    assert 0 <= t < N_TOWNSHIPS
    assert int(v.township_county[t]) == c
    towns_of_c = np.flatnonzero(v.township_county == c)
    assert t in towns_of_c
    assert 0 <= v.digital_share[i] <= 1
    assert 0 <= v.migrant_share[i] <= 1
    assert 0 <= v.special_share[i] <= 1
    assert 0 <= v.hardship_share[i] <= 1
    assert v.remoteness_min[i] > 0
    assert v.population[i] > 0 and v.households[i] >= 1
    assert v.households[i] <= v.population[i]
    if v.urban[i]:
        assert v.township_urban[t]


@pytest.mark.parametrize("n_villages", [1, 100, 1918])
def test_too_few_villages_is_a_config_error(admin, n_villages):
    """Fewer villages than townships cannot give every township a village: a ConfigError naming
    population.n_villages (not a bare ValueError from an empty county)."""
    with pytest.raises(ConfigError, match=r"population\.n_villages"):
        build_villages(admin, PopulationConfig(n_villages=n_villages))


def test_too_few_villages_through_main(capsys, tmp_path):
    from sim.province import main

    assert main(["--json", "population.n_villages=100", f"population.cache_dir={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: population.n_villages=100") and len(err.strip().splitlines()) == 1
