"""Administrative facts (sim/admin.py): counts, county populations, largest remainder, data files."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from conftest import N_COUNTIES, N_PREFECTURES, N_TOWNSHIPS, PROVINCE_POPULATION
from hypothesis import given, settings
from hypothesis import strategies as st

import sim.admin
from sim.admin import DATA_FILES, data_path, largest_remainder, load_admin
from sim.errors import UserError

# ---------------------------------------------------------------- counts and populations


def test_counts(admin):
    assert len(admin.prefectures) == N_PREFECTURES
    assert len(admin.counties) == N_COUNTIES
    assert int(admin.counties["n_townships"].sum()) == N_TOWNSHIPS
    assert int(admin.prefectures["n_townships"].sum()) == N_TOWNSHIPS
    assert int(admin.prefectures["n_counties"].sum()) == N_COUNTIES
    assert admin.counties["code"].is_unique
    assert admin.prefectures["code"].is_unique
    assert set(admin.counties["pref"]) == set(range(N_PREFECTURES))
    assert (admin.counties["n_townships"] >= 1).all()


def test_county_types(admin):
    # 36 districts, 19 county-level cities, 60 counties, 7 autonomous counties (hunan_province_facts.csv)
    counts = admin.counties["type"].value_counts().to_dict()
    assert counts == {"district": 36, "county-level city": 19, "county": 60, "autonomous county": 7}


def test_county_populations_sum_to_prefecture_census(admin):
    by_pref = np.bincount(admin.counties["pref"], weights=admin.counties["population"],
                          minlength=N_PREFECTURES)
    census = admin.prefectures["population"].to_numpy()
    assert np.array_equal(by_pref.astype(np.int64), census)
    assert int(admin.counties["population"].sum()) == PROVINCE_POPULATION
    assert int(census.sum()) == PROVINCE_POPULATION
    assert admin.facts["resident_population"] == PROVINCE_POPULATION
    assert admin.counties["population"].dtype == np.int64
    assert (admin.counties["population"] > 0).all()


def test_prefecture_table_matches_file(admin):
    import pandas as pd

    raw = pd.read_csv(data_path("hunan_prefectures.csv"))
    assert np.array_equal(admin.prefectures["population"].to_numpy(), raw["pop_2020_census"].to_numpy())
    assert list(admin.prefectures["code"]) == list(raw["code"])


def _fully_known_prefectures_with_gap(admin, raw_admin) -> set[int]:
    """Prefectures whose counties all have a 2020 figure but do not add up to the census."""
    out = set()
    pop = raw_admin["pop_2020"].to_numpy()
    for p in range(N_PREFECTURES):
        rows = admin.counties["pref"].to_numpy() == p
        if not np.isnan(pop[rows]).any() and pop[rows].sum() != admin.prefectures["population"].iloc[p]:
            out.add(p)
    return out


def test_census_counties_keep_their_figures(admin, raw_admin):
    """A county with a 2020 census figure keeps it exactly, except where the documented gap rule
    applies (all counties of the prefecture have figures that do not add up to the census)."""
    pop = raw_admin["pop_2020"].to_numpy()
    known = ~np.isnan(pop)
    assert known.sum() == 56
    assert np.array_equal(raw_admin["adcode"].to_numpy(), admin.counties["code"].to_numpy())
    gap_prefs = _fully_known_prefectures_with_gap(admin, raw_admin)
    exempt = np.isin(admin.counties["pref"].to_numpy(), sorted(gap_prefs))
    keep = known & ~exempt
    assert keep.sum() == 47
    assert np.array_equal(admin.counties["population"].to_numpy()[keep], pop[keep].astype(np.int64))
    assert list(admin.counties["population_source"][keep]) == ["census"] * int(keep.sum())
    assert list(admin.counties["population_source"][known & exempt]) == ["census_adjusted"] * 9
    assert list(admin.counties["population_source"][~known]) == ["synthesised"] * int((~known).sum())


def test_gap_rule_only_in_zhuzhou(admin, raw_admin):
    """Zhuzhou is the one prefecture whose county figures (all present) miss its census total
    (3,776,800 vs 3,902,738); the gap is spread in proportion to the figures."""
    gap_prefs = _fully_known_prefectures_with_gap(admin, raw_admin)
    assert [admin.prefectures["name_en"].iloc[p] for p in gap_prefs] == ["Zhuzhou"]
    (p,) = gap_prefs
    rows = admin.counties["pref"].to_numpy() == p
    figures = raw_admin["pop_2020"].to_numpy()[rows]
    census = int(admin.prefectures["population"].iloc[p])
    assert int(figures.sum()) == 3_776_800 and census == 3_902_738
    final = admin.counties["population"].to_numpy()[rows]
    assert np.array_equal(final, largest_remainder(census, figures))
    assert np.all(np.abs(final - figures * census / figures.sum()) < 1)


def test_synthesised_counties_follow_the_documented_weights(admin, raw_admin):
    """The rest of each prefecture's census goes to its counties without a 2020 figure in
    proportion to their 2010 population, else townships x the prefecture's median 2010 persons
    per township (the rule re-implemented here from the module docstring)."""
    pop = raw_admin["pop_2020"].to_numpy()
    pop2010 = raw_admin["pop_2010"].to_numpy()
    towns = raw_admin["n_townships_2023"].to_numpy()
    per_town = pop2010 / towns
    pref = admin.counties["pref"].to_numpy()
    final = admin.counties["population"].to_numpy()
    checked = 0
    for p in range(N_PREFECTURES):
        rows = np.flatnonzero(pref == p)
        unknown = rows[np.isnan(pop[rows])]
        if len(unknown) == 0:
            continue
        rest = int(admin.prefectures["population"].iloc[p]) - int(np.nansum(pop[rows]))
        med = (np.nanmedian(per_town[rows]) if not np.isnan(per_town[rows]).all()
               else np.nanmedian(per_town))
        weight = np.where(np.isnan(pop2010[unknown]), towns[unknown] * med, pop2010[unknown])
        name = admin.prefectures["name_en"].iloc[p]
        assert np.array_equal(final[unknown], largest_remainder(rest, weight)), name
        checked += len(unknown)
    assert checked == N_COUNTIES - 56


def test_counties_have_places(admin):
    c = admin.counties
    assert c["lon"].between(108.5, 114.5).all()
    assert c["lat"].between(24.5, 30.5).all()
    assert (c["area_km2"] > 0).all()


# ---------------------------------------------------------------- largest remainder


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (10, [1, 1, 1], [4, 3, 3]),  # ties go to the lower index
        (11, [1, 1, 1], [4, 4, 3]),
        (9, [1, 1, 1], [3, 3, 3]),
        (7, [1, 2, 4], [1, 2, 4]),
        (10, [1, 2, 4], [1, 3, 6]),  # quotas 1.43, 2.86, 5.71
        (100, [0.5, 0.25, 0.25], [50, 25, 25]),
        (5, [3, 0, 1], [4, 0, 1]),  # quotas 3.75, 0, 1.25
        (1, [1, 1, 1, 1], [1, 0, 0, 0]),
        (3, [1, 1, 1, 1], [1, 1, 1, 0]),
        (0, [2, 5], [0, 0]),
        (0, [0, 0], [0, 0]),
        (6, [5], [6]),
        (2, [1, 3], [1, 1]),  # quotas 0.5, 1.5: both remainders 0.5, the tie goes to index 0
    ],
)
def test_largest_remainder_hand_computed(total, weights, expected):
    got = largest_remainder(total, np.array(weights, dtype=float))
    assert got.dtype == np.int64
    assert got.tolist() == expected


def test_largest_remainder_tie_break_and_ints():
    assert largest_remainder(3, [1, 1]).tolist() == [2, 1]
    assert largest_remainder(13, [10, 20, 70]).tolist() == [1, 3, 9]  # 1.3, 2.6, 9.1


@pytest.mark.parametrize(("total", "weights"), [(-1, [1, 1]), (5, [1, -1]), (5, [0, 0]), (1, [])])
def test_largest_remainder_rejects_bad_input(total, weights):
    with pytest.raises(ValueError, match="largest_remainder"):
        largest_remainder(total, np.array(weights, dtype=float))


weights_st = st.lists(
    st.one_of(st.integers(0, 10**6).map(float),
              st.floats(1e-3, 1e6, allow_nan=False, allow_infinity=False)),
    min_size=1, max_size=40,
).filter(lambda w: sum(w) > 0)


@given(total=st.integers(0, 10**9), weights=weights_st)
@settings(max_examples=300, deadline=None)
def test_largest_remainder_properties(total, weights):
    w = np.array(weights)
    got = largest_remainder(total, w)
    quota = w / w.sum() * total
    assert got.shape == w.shape
    assert int(got.sum()) == total
    assert (got >= 0).all()
    assert np.all(np.abs(got - quota) < 1 + 1e-6 * max(1.0, quota.max()))
    assert np.all(got[w == 0] == 0)


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_largest_remainder_tiny_weights():
    """Normalising the weights first: no overflow when their sum is tiny (found by hypothesis)."""
    assert largest_remainder(4, np.array([2.2250738585072014e-308])).tolist() == [4]
    assert largest_remainder(5, np.array([1e-308, 3e-308, 1e-308])).tolist() == [1, 3, 1]


@given(total=st.integers(0, 10**6), weights=weights_st, factor=st.sampled_from([0.5, 2.0, 8.0]))
@settings(max_examples=100, deadline=None)
def test_largest_remainder_scale_invariant(total, weights, factor):
    """Scaling all weights by a power of two (exact in floating point) changes nothing."""
    w = np.array(weights)
    assert np.array_equal(largest_remainder(total, w), largest_remainder(total, w * factor))


# ---------------------------------------------------------------- data files


def test_data_files_present():
    for name in DATA_FILES:
        assert data_path(name).is_file()


def test_missing_data_file_names_it():
    with pytest.raises(UserError, match=r"nope\.csv"):
        data_path("nope.csv")


def test_missing_data_directory_fails_in_load_admin(monkeypatch, tmp_path):
    monkeypatch.setattr(sim.admin, "resources", SimpleNamespace(files=lambda package: tmp_path))
    with pytest.raises(UserError, match=r"hunan_admin\.csv") as info:
        load_admin()
    assert "missing" in str(info.value)
    assert str(tmp_path / "data") in str(info.value)
