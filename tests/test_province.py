"""The assembled province (sim/province.py): determinism, cache, command line, bad input."""

from __future__ import annotations

import json
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import (
    N_COUNTIES,
    N_PREFECTURES,
    N_TOWNSHIPS,
    N_VILLAGES,
    PROVINCE_POPULATION,
    assert_provinces_differ,
    assert_provinces_equal,
)
from hypothesis import given, settings
from hypothesis import strategies as st

import sim.admin
from sim.config import MIN_SCALE, NetworkConfig, PopulationConfig
from sim.errors import ConfigError, UserError
from sim.network import describe
from sim.province import build_province, cache_key, cache_root, main, summarize

SMALL = 0.002

JSON_KEYS = {
    "region", "n_prefectures", "n_counties", "n_townships", "n_villages", "n_urban_communities", "population",
    "n_households_full_scale", "n_families_simulated", "scale", "n_special_households",
    "n_hardship_households", "n_volunteers", "network_kind", "network_mean_degree",
    "network_components", "build_seconds", "cache_hit",
}


def _fresh(**pop) -> object:
    return build_province(PopulationConfig(use_cache=False, **pop), NetworkConfig(), progress=False)


# ---------------------------------------------------------------- the session province


def test_session_province(province, cache_dir):
    p = province
    assert p.n_prefectures == N_PREFECTURES and p.n_counties == N_COUNTIES
    assert p.scale == 0.01 and p.seed == 2021 and p.network_kind == "geo"
    assert p.cache_path.startswith(str(cache_dir))
    assert p.build_seconds > 0
    assert p.village_pref.shape == (N_VILLAGES,)
    assert p.village_pref.min() == 0 and p.village_pref.max() == N_PREFECTURES - 1


def assert_headline_counts(s: dict) -> None:
    """The exact counts every summary of the default province must show."""
    assert JSON_KEYS <= set(s)
    assert s["n_prefectures"] == 14
    assert s["n_counties"] == 122
    assert s["n_townships"] == 1919
    assert s["n_villages"] == 29213
    assert s["n_urban_communities"] == 5258
    assert s["population"] == PROVINCE_POPULATION
    assert 22_800_000 <= s["n_households_full_scale"] <= 23_000_000


def test_summarize(province):
    s = summarize(province)
    assert_headline_counts(s)
    assert s["n_families_simulated"] == province.families.n
    assert s["n_volunteers"] == 3 * 29213 == 87_639
    assert s["n_special_households"] == pytest.approx(90_000, rel=0.10)
    assert s["n_hardship_households"] == pytest.approx(200_000, rel=0.10)
    assert s["network_components"] == 1
    assert 5 <= s["network_mean_degree"] <= 7


# ---------------------------------------------------------------- determinism


def test_same_seed_same_province(province):
    a = _fresh(scale=0.01)
    b = _fresh(scale=0.01)
    assert not a.cache_hit and not b.cache_hit
    assert_provinces_equal(a, b)
    assert_provinces_equal(a, province)  # and equal to the cached session build


def test_other_seed_other_province(province):
    other = _fresh(scale=0.01, seed=2022)
    assert_provinces_differ(province, other)
    assert other.villages.n == N_VILLAGES  # the structure stays
    assert int(other.villages.urban.sum()) == 5258


@given(seed=st.integers(0, 2**32 - 1))
@settings(max_examples=3, deadline=None)
def test_any_seed_builds_a_valid_province(seed):
    p = _fresh(scale=SMALL, seed=seed)
    v, f = p.villages, p.families
    assert v.n == N_VILLAGES and len(v.township_county) == N_TOWNSHIPS
    assert int(v.urban.sum()) == 5258
    assert int(v.population.astype(np.int64).sum()) == PROVINCE_POPULATION
    assert np.bincount(v.township, minlength=N_TOWNSHIPS).min() >= 1
    assert np.array_equal(v.township_county[v.township], v.county)
    assert 0 <= v.county.min() and v.county.max() < N_COUNTIES
    for name in ("digital_share", "migrant_share", "special_share", "hardship_share"):
        a = getattr(v, name)
        assert np.all((a >= 0) & (a <= 1)), name
    assert np.all(v.remoteness_min > 0)
    assert abs(f.n - float(v.households.astype(np.int64).sum()) * SMALL) < 5 * np.sqrt(v.n)
    assert np.all(f.n_youth.astype(int) + f.n_infant + f.n_elderly <= f.size)
    degree, comps = describe(p.network, v.n)
    assert comps == 1 and 5 <= degree <= 7


# ---------------------------------------------------------------- cache


def test_cache_round_trip(tmp_path):
    pop = PopulationConfig(scale=SMALL, cache_dir=str(tmp_path))
    first = build_province(pop, progress=False)
    assert not first.cache_hit
    assert (tmp_path / f"province-{cache_key(pop, NetworkConfig())}" / "meta.json").is_file()
    second = build_province(pop, progress=False)
    assert second.cache_hit
    assert second.cache_path == first.cache_path
    fresh = build_province(replace(pop, use_cache=False), progress=False)
    assert not fresh.cache_hit
    assert_provinces_equal(second, fresh)
    assert_provinces_equal(first, fresh)
    assert second.families.weight == fresh.families.weight
    assert summarize(second) | {"build_seconds": 0, "cache_hit": 0} == \
        summarize(fresh) | {"build_seconds": 0, "cache_hit": 0}


def test_use_cache_false_writes_nothing(tmp_path):
    build_province(PopulationConfig(scale=SMALL, cache_dir=str(tmp_path), use_cache=False), progress=False)
    assert list(tmp_path.iterdir()) == []


def test_cache_key():
    base = cache_key(PopulationConfig(scale=0.01), NetworkConfig())
    assert base == cache_key(PopulationConfig(scale=0.01), NetworkConfig())
    assert len(base) == 20
    # what does not change the province does not change the key
    assert base == cache_key(PopulationConfig(scale=0.01, cache_dir="/elsewhere", use_cache=False),
                             NetworkConfig())
    # what does, does
    others = {
        cache_key(PopulationConfig(scale=0.02), NetworkConfig()),
        cache_key(PopulationConfig(scale=0.01, seed=1), NetworkConfig()),
        cache_key(PopulationConfig(scale=0.01), NetworkConfig(kind="isolated")),
        cache_key(PopulationConfig(scale=0.01), NetworkConfig(kind="well_mixed")),
        cache_key(PopulationConfig(scale=0.01), NetworkConfig(k_near=5)),
        cache_key(PopulationConfig(scale=0.01, urban_share=0.2), NetworkConfig()),
    }
    assert base not in others
    assert len(others) == 6


def test_cache_root(monkeypatch, tmp_path):
    assert cache_root(PopulationConfig(cache_dir=str(tmp_path))) == tmp_path
    monkeypatch.setenv("OUTREACH_SIM_CACHE", str(tmp_path / "env"))
    assert cache_root(PopulationConfig()) == tmp_path / "env"
    monkeypatch.delenv("OUTREACH_SIM_CACHE")
    assert cache_root(PopulationConfig()).parts[-2:] == (".cache", "outreach-sim")


def test_unwritable_cache_warns_and_builds(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    p = build_province(PopulationConfig(scale=SMALL, cache_dir=str(blocker)), progress=False)
    assert p.villages.n == N_VILLAGES and not p.cache_hit
    err = capsys.readouterr().err
    assert err.startswith("warning: could not cache the province")


# ---------------------------------------------------------------- cache: bad entries


def _entry(tmp_path):
    """A small province cached in ``tmp_path``: (config, entry folder, the province)."""
    pop = PopulationConfig(scale=SMALL, cache_dir=str(tmp_path))
    p = build_province(pop, progress=False)
    assert not p.cache_hit
    return pop, tmp_path / f"province-{cache_key(pop, NetworkConfig())}", p


def _edit_meta(entry, **changes):
    meta = json.loads((entry / "meta.json").read_text())
    (entry / "meta.json").write_text(json.dumps(meta | changes))


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_last_byte(path):
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


CORRUPTIONS = {
    "weight_x10": (lambda e: _edit_meta(e, weight=json.loads((e / "meta.json").read_text())["weight"] * 10),
                   "meta.json was changed"),
    "truncated_npy": (lambda e: _truncate(e / "f_village.npy"), "f_village.npy is unreadable"),
    "garbage_meta": (lambda e: (e / "meta.json").write_bytes(b"\x00{not json"), "meta.json is not valid JSON"),
    "missing_meta": (lambda e: (e / "meta.json").unlink(), "meta.json is missing"),
    "wrong_key": (lambda e: _edit_meta(e, key="0" * 20), "its key '00000000000000000000'"),
    "flipped_byte": (lambda e: _flip_last_byte(e / "v_x.npy"), "v_x.npy checksum mismatch"),
    "wrong_shape": (lambda e: np.save(e / "v_y.npy", np.zeros(3, np.float32)), "v_y.npy has shape (3,)"),
    "missing_npy": (lambda e: (e / "n_indices.npy").unlink(), "n_indices.npy is missing"),
    "old_format": (lambda e: (e / "meta.json").write_text(json.dumps({"weight": 500.0})), "lacks the file list"),
}


FAST_CORRUPTIONS = ("weight_x10", "truncated_npy", "missing_meta")
"""The fast tier checks these three; the other kinds run with the slow tests (each builds a province)."""


@pytest.mark.parametrize("kind", [k if k in FAST_CORRUPTIONS else pytest.param(k, marks=pytest.mark.slow)
                                  for k in CORRUPTIONS])
def test_bad_cache_entry_is_quarantined_and_rebuilt(kind, tmp_path, capsys):
    pop, entry, first = _entry(tmp_path)
    corrupt, reason = CORRUPTIONS[kind]
    corrupt(entry)
    capsys.readouterr()
    p = build_province(pop, progress=False)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"warning: bad province cache entry {entry} (")
    assert reason in lines[0]
    assert "Traceback" not in err
    bad = list(tmp_path.glob(f"{entry.name}.bad-*"))
    assert len(bad) == 1 and bad[0].is_dir()
    assert bad[0].name in lines[0]
    assert not p.cache_hit
    fresh = build_province(replace(pop, use_cache=False), progress=False)
    assert_provinces_equal(p, fresh)
    assert p.families.weight == fresh.families.weight == first.families.weight
    again = build_province(pop, progress=False)
    assert again.cache_hit
    assert capsys.readouterr().err == ""
    assert_provinces_equal(again, fresh)
    assert again.families.weight == fresh.families.weight


def test_cache_entry_records_key_and_checksums(tmp_path):
    pop, entry, _ = _entry(tmp_path)
    meta = json.loads((entry / "meta.json").read_text())
    assert meta["key"] == cache_key(pop, NetworkConfig())
    assert set(meta["files"]) == {p.stem for p in entry.glob("*.npy")}
    assert all(isinstance(f["crc32"], int) for f in meta["files"].values())
    assert len(meta["check"]) == 20


def test_stale_tmp_folders_are_cleaned(tmp_path):
    import os
    import time
    pop, entry, _ = _entry(tmp_path)
    dead = tmp_path / ".tmp-999999999-abc"  # no such process
    old = tmp_path / ".tmp-xyz"  # no writer id, two hours old
    live = tmp_path / f".tmp-{os.getpid()}-abc"  # a live writer, fresh: kept
    for d in (dead, old, live):
        d.mkdir()
        (d / "v_x.npy").write_bytes(b"partial")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    p = build_province(pop, progress=False)
    assert p.cache_hit
    assert not dead.exists() and not old.exists()
    assert live.exists()
    assert sorted(d.name for d in tmp_path.iterdir()) == sorted([entry.name, live.name])


def test_second_save_keeps_the_first_entry(tmp_path):
    """Two builds racing to the same entry: the loser's copy is dropped and the entry stays intact."""
    import sim.province as province_mod
    pop, entry, p = _entry(tmp_path)
    before = {f.name: f.read_bytes() for f in entry.iterdir()}
    province_mod._save(entry, p.villages, p.families, p.network, {"key": cache_key(pop, NetworkConfig()),
                                                                  "build_version": 1, "built_seconds": 0})
    assert {f.name: f.read_bytes() for f in entry.iterdir()} == before
    assert [d.name for d in tmp_path.iterdir()] == [entry.name]
    assert build_province(pop, progress=False).cache_hit


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("scale", [0, 1.5, -0.1, float("nan")])
def test_bad_scale(scale):
    with pytest.raises(ConfigError, match=r"population\.scale") as info:
        PopulationConfig(scale=scale)
    assert "(0, 1]" in str(info.value)
    assert "\n" not in str(info.value)


def test_scale_bounds_are_allowed():
    assert PopulationConfig(scale=1.0).scale == 1.0
    assert PopulationConfig(scale=MIN_SCALE).scale == MIN_SCALE


@pytest.mark.parametrize("scale", [1e-9, 1e-6, MIN_SCALE / 2])
def test_scale_without_families_is_refused(scale):
    """Fewer than about 1,000 simulated families (scale x 22.9 million households) is refused."""
    with pytest.raises(ConfigError, match=r"population\.scale") as info:
        PopulationConfig(scale=scale)
    assert f"[{MIN_SCALE:g}, 1]" in str(info.value) and "\n" not in str(info.value)


def test_bad_network_kind():
    with pytest.raises(ConfigError, match=r"network\.kind") as info:
        NetworkConfig(kind="ring")
    assert "'geo'" in str(info.value)
    assert isinstance(info.value, UserError)


@pytest.mark.parametrize("override", [
    "population.scale=0",
    "population.scale=1.5",
    "population.scale=abc",
    "network.kind=ring",
    "population.nope=1",
    "nosuchgroup.scale=1",
    "population.seed=-1",
    "population.seed=1.5",
    "population.use_cache=maybe",
    "scale0.01",
])
def test_main_bad_override(override, capsys, tmp_path):
    status = main(["--json", override, f"population.cache_dir={tmp_path}"])
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error:")
    assert "Traceback" not in err
    key = override.split("=")[0]
    if "." in key and key != "nosuchgroup.scale":
        assert key in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_main_json(capsys, tmp_path):
    status = main(["--json", "population.scale=0.01", f"population.cache_dir={tmp_path}"])
    out, err = capsys.readouterr()
    assert status == 0
    s = json.loads(out)
    assert_headline_counts(s)
    assert s["scale"] == 0.01
    assert abs(s["n_families_simulated"] - s["n_households_full_scale"] * 0.01) < 5 * np.sqrt(29213)
    assert s["n_volunteers"] == 87_639
    assert s["network_kind"] == "geo"
    assert s["network_components"] == 1
    assert 5 <= s["network_mean_degree"] <= 7
    assert s["cache_hit"] is False
    assert s["build_seconds"] >= 0
    # the second call loads the cache
    assert main(["--json", "population.scale=0.01", f"population.cache_dir={tmp_path}"]) == 0
    s2 = json.loads(capsys.readouterr().out)
    assert s2["cache_hit"] is True
    assert {k: v for k, v in s2.items() if k not in ("cache_hit", "build_seconds")} == \
        {k: v for k, v in s.items() if k not in ("cache_hit", "build_seconds")}


def test_main_overrides_reach_the_build(capsys, tmp_path):
    status = main(["--json", "population.scale=0.002", "population.use_cache=false",
                   "network.kind=well_mixed", "staffing.volunteers_per_village=5",
                   f"population.cache_dir={tmp_path}"])
    assert status == 0
    s = json.loads(capsys.readouterr().out)
    assert s["scale"] == 0.002
    assert s["network_kind"] == "well_mixed"
    assert s["network_mean_degree"] == 29212.0
    assert s["n_volunteers"] == 5 * 29213
    assert list(tmp_path.iterdir()) == []


def test_main_composes_as_outreach_sim(capsys, tmp_path):
    """Group options and scenarios work here too: the overrides go through sim.compose."""
    status = main(["--json", "population.scale=0.002", "population.use_cache=false", "network=isolated",
                   "scenario=volunteer_drive", f"population.cache_dir={tmp_path}"])
    assert status == 0, capsys.readouterr().err
    s = json.loads(capsys.readouterr().out)
    assert s["network_kind"] == "isolated"
    assert s["n_volunteers"] == 6 * 29213


def test_main_help_lists_the_overrides(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for example in ("population.scale=0.05", "population.seed=7", "network.kind=well_mixed",
                    "staffing.volunteers_per_village=5", "population.use_cache=false", "--json"):
        assert example in out


def test_main_tables(capsys, tmp_path):
    assert main(["population.scale=0.002", f"population.cache_dir={tmp_path}"]) == 0
    out = capsys.readouterr().out
    assert "n_villages" in out and "29,213" in out
    assert "Changsha" in out and "Xiangxi" in out


def test_missing_data_file_through_main(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(sim.admin, "resources", SimpleNamespace(files=lambda package: tmp_path))
    with pytest.raises(UserError, match=r"hunan_admin\.csv"):
        build_province(PopulationConfig(scale=SMALL, use_cache=False), progress=False)
    status = main(["--json", "population.scale=0.002", "population.use_cache=false"])
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert err.startswith("error: data file 'hunan_admin.csv' is missing")
    assert len(err.strip().splitlines()) == 1


def test_main_float_override_of_int_default(capsys, tmp_path):
    """A float field whose default is written as an int (volunteers_per_village = 3) takes 2.5."""
    status = main(["--json", "population.scale=0.002", "population.use_cache=false",
                   "staffing.volunteers_per_village=2.5", f"population.cache_dir={tmp_path}"])
    assert status == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["n_volunteers"] == round(2.5 * 29213)


def test_negative_seed_is_a_config_error():
    with pytest.raises(ConfigError, match=r"population\.seed"):
        build_province(PopulationConfig(scale=SMALL, seed=-1, use_cache=False), progress=False)
    assert main(["--json", "population.seed=-1", "population.use_cache=false"]) == 2
