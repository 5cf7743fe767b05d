"""Families and volunteers (sim/population.py)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import N_VILLAGES, SCALE

from sim.config import PopulationConfig
from sim.population import make_volunteers, sample_families


def test_family_count_within_sampling_error(province):
    f, v = province.families, province.villages
    expected = float(v.households.astype(np.int64).sum()) * SCALE
    assert abs(f.n - expected) < 5 * np.sqrt(v.n)
    assert f.n == len(f.village)
    for name, arr in f.arrays().items():
        if name != "village_start":
            assert len(arr) == f.n, name


def test_families_per_village_are_stratified(province):
    """Each village gets floor(s*H) or ceil(s*H) families."""
    f, v = province.families, province.villages
    per_village = np.bincount(f.village, minlength=v.n)
    exp = v.households.astype(np.float64) * SCALE
    assert np.all(per_village >= np.floor(exp))
    assert np.all(per_village <= np.ceil(exp))


def test_families_sorted_and_village_start(province):
    f, v = province.families, province.villages
    assert np.all(np.diff(f.village) >= 0)
    assert f.village.min() >= 0 and f.village.max() < v.n
    vs = f.village_start
    assert len(vs) == v.n + 1
    assert vs[0] == 0 and vs[-1] == f.n
    assert np.array_equal(np.diff(vs), np.bincount(f.village, minlength=v.n))
    for i in (0, 1, 17, v.n // 2, v.n - 1):
        assert np.all(f.village[vs[i]:vs[i + 1]] == i)


def test_weight(province):
    f, v = province.families, province.villages
    assert f.weight == pytest.approx(float(v.households.astype(np.int64).sum()) / f.n)
    assert f.weight == pytest.approx(1 / SCALE, rel=0.01)


def test_special_and_hardship_households(province):
    f = province.families
    special = float(f.special.sum()) * f.weight
    hardship = float(f.hardship.sum()) * f.weight
    assert special == pytest.approx(90_000, rel=0.10)
    assert hardship == pytest.approx(200_000, rel=0.10)


def test_members(province):
    f = province.families
    size = f.size.astype(np.int64)
    assert size.min() >= 1 and size.max() <= 10
    assert size.mean() == pytest.approx(2.67, abs=0.05)
    parts = f.n_youth.astype(np.int64) + f.n_infant + f.n_elderly
    assert np.all(parts <= size)
    members = size.sum()
    assert f.n_elderly.sum() / members == pytest.approx(0.1988, abs=0.01)
    assert f.n_youth.sum() / members == pytest.approx(0.165, abs=0.01)
    assert f.n_infant.sum() / members == pytest.approx(0.045, abs=0.01)


def test_flags_follow_village_shares(province):
    f, v = province.families, province.villages
    for flag, share in (("digital", "digital_share"), ("migrant", "migrant_share")):
        got = getattr(f, flag).mean()
        want = getattr(v, share)[f.village].astype(np.float64).mean()
        assert got == pytest.approx(want, abs=0.005), flag
    urban = v.urban[f.village]
    assert f.digital[urban].mean() > f.digital[~urban].mean()
    assert f.migrant[~urban].mean() > f.migrant[urban].mean()


def test_dtypes(province):
    f = province.families
    assert f.village.dtype == np.int32
    for name in ("size", "n_youth", "n_infant", "n_elderly"):
        assert getattr(f, name).dtype == np.uint8
    for name in ("special", "hardship", "migrant", "digital"):
        assert getattr(f, name).dtype == bool
    assert f.village_start.dtype == np.int64


def test_sampling_is_deterministic_and_seeded(province):
    v = province.villages
    a = sample_families(v, PopulationConfig(scale=0.002))
    b = sample_families(v, PopulationConfig(scale=0.002))
    for name, arr in a.arrays().items():
        assert np.array_equal(arr, b.arrays()[name]), name
    c = sample_families(v, PopulationConfig(scale=0.002, seed=5))
    assert not np.array_equal(a.size[:1000], c.size[:1000])


def test_full_scale_count_is_exact_where_households_are_whole(province):
    """At scale 1 every village gets exactly its households (no rounding draw)."""
    v = province.villages
    idx = np.arange(0, v.n, 97)
    from dataclasses import replace

    sub = replace(v, **{name: getattr(v, name)[idx] for name in (
        "county", "township", "urban", "x", "y", "population", "households", "remoteness_min",
        "digital_share", "migrant_share", "special_share", "hardship_share")})
    f = sample_families(sub, PopulationConfig(scale=1.0))
    assert np.array_equal(np.diff(f.village_start), sub.households.astype(np.int64))
    assert f.weight == 1.0


# ---------------------------------------------------------------- volunteers


def test_volunteers_default():
    vol = make_volunteers(N_VILLAGES, 3, 6.0)
    assert len(vol.village) == 3 * N_VILLAGES == 87_639
    assert vol.n_active == 87_639
    assert np.array_equal(np.bincount(vol.village, minlength=N_VILLAGES), np.full(N_VILLAGES, 3))
    assert np.all(vol.hours_per_month == 6.0)
    assert np.all(vol.month_joined == 0)


@pytest.mark.parametrize("per_village", [0.0, 0.5, 2.25, 2.999, 4.0])
def test_volunteers_fractional(per_village):
    n = 1000
    vol = make_volunteers(n, per_village, 6.0)
    counts = np.bincount(vol.village, minlength=n)
    assert counts.sum() == round(per_village * n)
    assert counts.min() >= int(per_village) and counts.max() <= int(per_village) + 1


def test_volunteers_append():
    vol = make_volunteers(10, 1, 6.0)
    vol.append(np.array([3, 4]), 8.0, 5)
    assert len(vol.village) == 12
    assert vol.village.dtype == np.int32
    assert vol.n_active == 12
    assert vol.hours_per_month[-2:].tolist() == [8.0, 8.0]
    assert vol.month_joined[-2:].tolist() == [5, 5]
    vol.active[0] = False
    assert vol.n_active == 11
