"""One prefecture or county on its own (sim/region.py): names, the cut province, the region's
own money, posts and starting state, agreement with a province run, and the command line."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim.config import PopulationConfig, RunConfig
from sim.errors import UserError
from sim.model import OutreachModel
from sim.region import resolve_region, restrict
from sim.results import county_tables

CHANGSHA = (430102, 430103, 430104, 430105, 430111, 430112, 430121, 430181, 430182)


# ---------------------------------------------------------------- names


@pytest.mark.parametrize("text", ["430100", "4301", "长沙市", "changsha", "Changsha", " CHANG-SHA "])
def test_every_spelling_of_changsha_names_the_prefecture(text):
    spec = resolve_region(text)
    assert (spec.kind, spec.code, spec.name_zh) == ("prefecture", 430100, "长沙市")
    assert len(spec.counties) == 9


@pytest.mark.parametrize("text,code", [("431126", 431126), ("宁远县", 431126), ("宁远", 431126),
                                       ("ningyuan", 431126), ("Ningyuan County", 431126),
                                       ("长沙县", 430121), ("changsha county", 430121),
                                       ("xiangxi", 433100), ("湘西土家族苗族自治州", 433100)])
def test_counties_and_prefectures_by_code_name_and_pinyin(text, code):
    assert resolve_region(text).code == code


@pytest.mark.parametrize("text,names", [
    ("长沙", ["长沙市 Changsha (430100)", "长沙县 Changsha County (430121)"]),
    ("nowhere", []),
    ("chngsha", ["长沙市 Changsha (430100)", "长沙县 Changsha County (430121)"]),
    ("430199", ["长沙市 Changsha (430100)"]),
])
def test_unknown_or_ambiguous_names_give_one_line_with_the_near_matches(text, names):
    with pytest.raises(UserError) as e:
        resolve_region(text)
    line = str(e.value)
    assert "\n" not in line and line.startswith(f"region={text!r}")
    for n in names:
        assert n in line
    if text == "长沙":
        assert "ambiguous" in line


# ---------------------------------------------------------------- the cut province


@pytest.fixture(scope="module")
def changsha(province):
    return restrict(province, resolve_region("430100"))


def test_the_cut_holds_exactly_the_regions_villages_families_and_ties(province, changsha):
    p, r = province, changsha.region
    codes = p.admin.counties["code"].to_numpy()
    assert tuple(changsha.admin.counties["code"]) == CHANGSHA
    in_region = np.isin(codes[p.villages.county], CHANGSHA)
    np.testing.assert_array_equal(r.villages, np.flatnonzero(in_region))
    assert changsha.villages.n == in_region.sum()
    np.testing.assert_array_equal(changsha.villages.population, p.villages.population[in_region])
    # Families: the province's rows of those villages, every array, in order.
    fam = np.flatnonzero(in_region[p.families.village])
    np.testing.assert_array_equal(r.families, fam)
    for name, arr in changsha.families.arrays().items():
        if name not in ("village", "village_start"):
            np.testing.assert_array_equal(arr, getattr(p.families, name)[fam], err_msg=name)
    np.testing.assert_array_equal(r.villages[changsha.families.village], p.families.village[fam])
    assert changsha.families.weight == p.families.weight
    np.testing.assert_array_equal(np.diff(changsha.families.village_start),
                                  np.diff(p.families.village_start)[in_region])
    # Townships renumbered; every village's township belongs to its county.
    tv = changsha.villages
    assert (tv.township_county[tv.township] == tv.county).all()
    # Ties: the subgraph, and the crossing ties counted.
    coo = p.network.tocoo()
    inside = in_region[coo.row] & in_region[coo.col]
    assert changsha.network.nnz == inside.sum() == 2 * r.ties_kept
    assert r.ties_cut == (in_region[coo.row] & ~in_region[coo.col]).sum()
    assert r.ties_cut < 0.01 * r.ties_kept  # a prefecture keeps almost all of its ties


def test_the_context_counts_every_county_of_the_province(province, changsha):
    ctx, f = changsha.region.context, province.families
    w = f.weight
    assert ctx["special"].sum() == pytest.approx(f.special.sum() * w)
    assert ctx["families"].sum() == pytest.approx(f.n * w)
    assert ctx["youth_members"].sum() == pytest.approx(f.n_youth.sum(dtype=np.int64) * w)
    assert changsha.region.share("special") == pytest.approx(
        f.special[changsha.region.families].sum() / f.special.sum())


# ---------------------------------------------------------------- the region's own money, posts, state


def _cfg(cache_dir, *, region: str = "", months: int = 1, seed: int = 1, **groups) -> RunConfig:
    cfg = RunConfig(seed=seed, months=months, progress=False, region=region,
                    population=PopulationConfig(scale=0.01, cache_dir=str(cache_dir)))
    for group, values in groups.items():
        cfg = dataclasses.replace(cfg, **{group: dataclasses.replace(getattr(cfg, group), **values)})
    return cfg


@pytest.mark.parametrize("funding", [{}, {"policy": "need_based"}, {"policy": "per_capita", "extra_outreach_yuan": 5e6},
                                     {"county_min_yuan_per_resident": 2.0, "multiplier": 0.8}])
def test_a_region_gets_its_counties_money_and_posts_of_a_province_run(province, changsha, cache_dir, funding):
    mp = OutreachModel(_cfg(cache_dir, funding=funding), province)
    mr = OutreachModel(_cfg(cache_dir, region="430100", funding=funding), changsha)
    mp.step()
    mr.step()
    rows = changsha.region.counties
    for ch, v in mr.money_year.items():
        if ch in ("insurance", "nursing_subsidy"):
            assert v[0] == pytest.approx(mp.money_year[ch][0] * changsha.region.share("special"), rel=1e-12)
        elif ch in ("livestreams", "province_web"):
            assert v[0] == pytest.approx(mp.money_year[ch][0] * changsha.region.share("digital"), rel=1e-12)
        else:
            np.testing.assert_allclose(v, mp.money_year[ch][rows], rtol=1e-12, err_msg=ch)
    np.testing.assert_allclose(mr.county_budget_yuan, mp.county_budget_yuan[rows], rtol=1e-12)
    np.testing.assert_allclose(mr.prof_hours, mp.prof_hours[rows], rtol=1e-12)
    np.testing.assert_array_equal(mr.site, mp.site[changsha.region.villages])
    np.testing.assert_array_equal(mr.township_staff, mp.township_staff[changsha.region.townships])
    # Changsha pays all its prefecture's posts, as many as its county posts and township posts.
    assert mr.posts["prefecture"] == pytest.approx(8)
    assert mr.posts["county"] == 4 * 9
    assert mr.posts["township"] == pytest.approx(mp.township_staff[changsha.region.townships].sum())


def test_a_region_starts_from_the_province_runs_state_of_its_families(province, changsha, cache_dir):
    mp = OutreachModel(_cfg(cache_dir, seed=5), province)
    mr = OutreachModel(_cfg(cache_dir, seed=5, region="430100"), changsha)
    fam = changsha.region.families
    np.testing.assert_array_equal(mr.state["eligible_visit"], mp.state["eligible_visit"][fam])
    for flag in ("insured", "contact", "green_channel", "family_doctor"):
        np.testing.assert_array_equal(mr.state[flag], mp.state[flag][fam], err_msg=flag)
    np.testing.assert_array_equal(mr.aware["health"], mp.aware["health"][fam])
    np.testing.assert_allclose(mr.eligible_province, mp.eligible_c, rtol=1e-12)
    mine = np.isin(mp.volunteers.village, changsha.region.villages)
    np.testing.assert_array_equal(mr.volunteers.uid, mp.volunteers.uid[mine])
    np.testing.assert_array_equal(mr.trained, mp.trained[mine])


def test_a_region_run_agrees_with_its_counties_in_a_province_run(province, changsha, cache_dir):
    """Paired by seed, the region's coverage in a region run and in a province run differ by no
    more than sampling error: |mean difference| <= 4 standard errors (+0.002 for the rounding
    of small counts). The border treatment: ties to villages outside are dropped."""
    indicators = ("youth_education", "family_health", "policy_awareness", "special_visited", "special_insured",
                  "hardship_assisted", "elderly_visited")
    diffs = {k: [] for k in indicators}
    for seed in range(1, 7):
        runs = []
        for region, p in (("", province), ("430100", changsha)):
            m = OutreachModel(_cfg(cache_dir, seed=seed, months=12, region=region), p).run()
            wide, _ = county_tables(m)
            w = wide[wide["county_code"].isin(CHANGSHA)]
            runs.append({k: w[f"reached_{k}"].sum() / w[f"eligible_{k}"].sum() for k in indicators})
            assert len(w) == 9
        for k in indicators:
            diffs[k].append(runs[1][k] - runs[0][k])
    for k, d in diffs.items():
        d = np.array(d)
        se = d.std(ddof=1) / np.sqrt(len(d))
        assert abs(d.mean()) <= 4 * se + 0.002, (k, d)


# ---------------------------------------------------------------- the command line


def _run(args, env, cwd):
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def env(cache_dir):
    return dict(os.environ, OUTREACH_SIM_CACHE=str(cache_dir), MPLBACKEND="Agg")


@pytest.mark.integration
def test_a_region_run_from_the_command_line(tmp_path, env):
    out = tmp_path / "cs"
    r = _run(["region=长沙市", "population.scale=0.01", f"hydra.run.dir={out}"], env, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "region 长沙市 Changsha (430100): 9 counties" in r.stdout
    assert "reported totals (长沙市 Changsha, last year)" in r.stdout
    s = json.loads((out / "summary.json").read_text())
    assert s["region"]["code"] == 430100 and s["region"]["counties"] == list(CHANGSHA)
    assert json.loads((out / "config.json").read_text())["region"] == "430100"
    counties = pd.read_parquet(out / "counties.parquet")
    assert list(counties["county_code"]) == list(CHANGSHA)
    assert "money_insurance_yuan" not in counties  # the province pots are not county money
    prefs = pd.read_parquet(out / "prefectures.parquet")
    assert list(prefs["prefecture_code"]) == [430100]
    assert prefs["eligible_youth_education"].iloc[0] == pytest.approx(counties["eligible_youth_education"].sum())


@pytest.mark.parametrize("args,expected", [
    (["region=长沙"], "region='长沙' is ambiguous: it names 长沙市 Changsha (430100), 长沙县 Changsha County "
                      "(430121); give the full name or the code"),
    (["region=nowhere"], "region='nowhere' names no prefecture or county of Hunan"),
    (["region=431126", "levers.posts={430121:3}"],
     "levers.posts[430121]=3.0 is not allowed: 长沙县 Changsha County (430121) is outside the region "
     "宁远县 Ningyuan County (431126)"),
])
def test_bad_regions_are_one_line_before_anything_runs(args, expected):
    """What ``outreach-sim`` prints after ``error:`` (and exits 2) before Hydra starts."""
    from sim.cli import precheck
    from sim.compose import prepare_overrides

    error, configs = precheck(prepare_overrides([*args, "population.scale=0.01"]))
    assert error is not None and error.startswith(expected) and "\n" not in error and configs == []


def test_a_bad_levers_file_is_one_line_before_anything_runs(tmp_path):
    from sim.cli import precheck

    bad = tmp_path / "counties.csv"
    bad.write_text("code,posts\n431126,3\n431322,2\n431126,4\n", encoding="utf-8")
    error, _ = precheck([f"levers.file={bad}", "population.scale=0.01"])
    assert error == f"levers.file={str(bad)!r} row 4: code 431126 appears twice (rows 2 and 4)"


@pytest.mark.integration
def test_a_bad_region_exits_2_with_one_line_and_writes_nothing(tmp_path, env):
    r = _run(["region=长沙", "population.scale=0.01"], env, tmp_path)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        "error: region='长沙' is ambiguous: it names 长沙市 Changsha (430100), 长沙县 Changsha County (430121); "
        "give the full name or the code"]
    assert not (tmp_path / "outputs").exists()


def test_the_cut_province_describes_itself(changsha):
    from sim.province import prefecture_table, summarize

    s = summarize(changsha)
    assert s["region"] == "长沙市 Changsha (430100)"
    assert (s["n_prefectures"], s["n_counties"], s["n_villages"]) == (1, 9, changsha.villages.n)
    assert s["n_townships"] == len(changsha.villages.township_county) == changsha.admin.prefectures["n_townships"][0]
    (row,) = prefecture_table(changsha)
    assert (row["name_zh"], row["counties"], row["villages"]) == ("长沙市", 9, changsha.villages.n)


def test_command_line_names_become_codes_and_other_scripts_are_quoted():
    from sim.compose import compose_jobs, prepare_overrides

    assert prepare_overrides(["region=长沙市", "region=长沙市,ningyuan", "region=长沙", "region=nowhere",
                              "scenario.description=新的", "levers.posts={431126:6}", "seed=1,2"]) == [
        "region=430100", "region=430100,431126", "region='长沙'", "region=nowhere",
        "scenario.description='新的'", "++levers.posts={431126:6}", "seed=1,2"]
    jobs = compose_jobs(["region=长沙市,宁远县", "population.scale=0.01"])
    assert [j.region for j in jobs] == ["430100", "431126"]
