"""Levers of single counties and prefectures (sim/levers.py): codes and values checked, the
planner's CSV (template, reading, its errors), and what each lever does to money and posts."""

from __future__ import annotations

import csv
import dataclasses

import numpy as np
import pytest

from sim.compose import compose_run_config, config_hash
from sim.config import LeversConfig, PopulationConfig, RunConfig
from sim.errors import ConfigError, UserError
from sim.levers import LEVERS, main, read_file, template
from sim.model import OutreachModel

NINGYUAN, XINHUA, CHANGSHA_COUNTY = 431126, 431322, 430121


# ---------------------------------------------------------------- codes and values


def test_codes_are_normalised_to_six_digits():
    lv = LeversConfig(budget_yuan={"431126": 1e6, 4301: 2e6}, posts={430121: 5})
    assert lv.budget_yuan == {431126: 1e6, 430100: 2e6} and lv.posts == {430121: 5.0}


@pytest.mark.parametrize("over,expected", [
    ({"posts": {431126: -1}}, "levers.posts[431126]=-1 is not allowed: must be a finite number in [0, inf)"),
    ({"weight": {431126: float("inf")}}, "levers.weight[431126]=inf is not allowed: must be a finite number"),
    ({"budget_yuan": {431126: "lots"}}, "levers.budget_yuan[431126]='lots' is not allowed: must be a number"),
    ({"township_posts": {430100: 2}}, "levers.township_posts[430100]=2 is not allowed: takes county codes only"),
    ({"posts": {430199: 3}}, "levers.posts: 430199 is not a county or prefecture code of Hunan; near: 长沙市"),
    ({"posts": {"abc": 3}}, "levers.posts='abc' is not allowed: must be a 6-digit county or prefecture code"),
    ({"posts": {43: 3}}, "levers.posts=43 is not allowed: must be a 6-digit"),
])
def test_bad_codes_and_values_give_one_line_naming_the_code(over, expected):
    with pytest.raises(UserError) as e:
        LeversConfig(**over)
    assert str(e.value).startswith(expected) and "\n" not in str(e.value)


def test_the_command_line_map_forms_compose():
    a = compose_run_config([f"levers.posts={{{NINGYUAN}:6}}", "levers.weight.430100=1.5"])
    assert a.levers.posts == {NINGYUAN: 6.0} and a.levers.weight == {430100: 1.5}
    b = compose_run_config([f"+levers.posts.{NINGYUAN}=6", "levers.weight={4301:1.5}"])
    assert config_hash(a) == config_hash(b)


def test_a_lever_outside_the_region_is_refused_and_its_own_prefecture_is_not():
    refused = r"levers.posts\[430121\]=3.0 is not allowed: 长沙县 .* outside the region 宁远县"
    with pytest.raises(ConfigError, match=refused):
        compose_run_config([f"region={NINGYUAN}", "levers.posts={430121:3}"])
    cfg = compose_run_config([f"region={NINGYUAN}", "levers.budget_yuan={431100:2e6}", "levers.posts={431126:5}"])
    assert cfg.levers.budget_yuan == {431100: 2e6}
    with pytest.raises(ConfigError, match="outside the region 长沙市"):
        compose_run_config(["region=4301", "levers.weight={431100:2}"])


# ---------------------------------------------------------------- the planner's CSV


def _write(path, rows):
    path.write_text("\n".join(",".join(map(str, r)) for r in rows) + "\n", encoding="utf-8")
    return str(path)


def test_the_template_lists_every_county_with_empty_levers_and_reads_back_as_nothing(tmp_path, capsys):
    out = tmp_path / "counties.csv"
    assert main(["--template", str(out)]) == 0
    assert "wrote 122 counties" in capsys.readouterr().out
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert len(rows) == 122 and rows[0]["code"] == "430102" and rows[0]["name_zh"] == "芙蓉区"
    assert sum(float(r["budget_2021_yuan"]) for r in rows) == pytest.approx(100.1e6, abs=200)
    assert all(r[name] == "" for r in rows for name in LEVERS)
    assert read_file(out) == {name: {} for name in LEVERS}
    assert len(template("长沙市")) == 9


def test_a_filled_template_sets_the_levers_and_the_command_line_wins(tmp_path):
    out = tmp_path / "counties.csv"
    main(["--template", str(out), "--region", "永州市"])
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    for r in rows:
        if r["code"] == str(NINGYUAN):
            r["township_posts"], r["budget_yuan"] = "2", "1,200,000"
    with out.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    lv = LeversConfig(file=str(out), budget_yuan={NINGYUAN: 9e5})
    assert lv.township_posts == {NINGYUAN: 2.0}
    assert lv.budget_yuan == {NINGYUAN: 9e5}
    assert dataclasses.replace(lv) == lv  # made again (as with_overrides does): the same


@pytest.mark.parametrize("rows,expected", [
    ([["code", "posts"], ["", 3]], "row 2: the code is missing"),
    ([["code", "posts"], [NINGYUAN, 3], [XINHUA, 2], [NINGYUAN, 4]], "row 4: code 431126 appears twice (rows 2 and 4)"),
    ([["code", "staff"], [NINGYUAN, 3]], "unknown column 'staff'; allowed: ['code', 'budget_yuan'"),
    ([["county", "posts"], [NINGYUAN, 3]], "unknown column 'county'"),
    ([["posts"], [3]], "has no 'code' column"),
    ([["code", "posts"], [NINGYUAN, -3]], "row 2 posts[431126]=-3.0 is not allowed: must be a finite number"),
    ([["code", "posts"], [NINGYUAN, "x"]], "row 2 posts='x' is not allowed: must be a number"),
    ([["code", "posts"], [440100, 3]], "row 2 code: 440100 is not a county or prefecture code of Hunan"),
    ([["code", "township_posts"], [431100, 2]], "row 2 township_posts[431100]=2.0 is not allowed: takes county codes"),
])
def test_bad_csv_files_give_one_line_naming_the_row_code_or_column(tmp_path, rows, expected):
    path = _write(tmp_path / "levers.csv", rows)
    with pytest.raises(UserError) as e:
        LeversConfig(file=path)
    assert expected in str(e.value) and "\n" not in str(e.value)


def test_a_missing_or_empty_file(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        LeversConfig(file=str(tmp_path / "nope.csv"))
    with pytest.raises(UserError, match="is empty"):
        LeversConfig(file=_write(tmp_path / "e.csv", [[""]]))


def test_the_config_hash_follows_the_files_content(tmp_path):
    path = _write(tmp_path / "levers.csv", [["code", "posts"], [NINGYUAN, 3]])
    a = config_hash(compose_run_config([f"levers.file={path}"]))
    _write(tmp_path / "levers.csv", [["code", "posts"], [NINGYUAN, 4]])
    b = config_hash(compose_run_config([f"levers.file={path}"]))
    assert a != b


# ---------------------------------------------------------------- what the levers do


def _model(province, cache_dir, **levers) -> OutreachModel:
    cfg = RunConfig(months=1, progress=False, levers=LeversConfig(**levers),
                    population=PopulationConfig(scale=0.01, cache_dir=str(cache_dir)))
    m = OutreachModel(cfg, province)
    m.step()
    return m


@pytest.fixture(scope="module")
def base(province, cache_dir):
    return _model(province, cache_dir)


def _row(province, code):
    return int(np.flatnonzero(province.admin.counties["code"].to_numpy() == code)[0])


def test_a_county_budget_replaces_its_share_and_leaves_the_others(province, cache_dir, base):
    c = _row(province, NINGYUAN)
    m = _model(province, cache_dir, budget_yuan={NINGYUAN: 3e6})
    assert m.county_budget_yuan[c] == pytest.approx(3e6)
    others = np.arange(m.n_c) != c
    np.testing.assert_allclose(m.county_budget_yuan[others], base.county_budget_yuan[others], rtol=1e-12)


def test_a_prefecture_budget_and_weight(province, cache_dir, base):
    m = _model(province, cache_dir, budget_yuan={431100: 5e6})
    p = 10  # 永州市's row
    assert province.admin.prefectures["code"].iloc[p] == 4311
    assert m.prefecture_budget_yuan[p] == pytest.approx(5e6)
    np.testing.assert_allclose(np.delete(m.prefecture_budget_yuan, p), np.delete(base.prefecture_budget_yuan, p))
    w = _model(province, cache_dir, weight={431100: 2.0})
    share = base.prefecture_budget_yuan / base.prefecture_budget_yuan.sum()
    want = 2 * share[p] / (1 + share[p])
    assert w.prefecture_budget_yuan[p] / w.prefecture_budget_yuan.sum() == pytest.approx(want)
    assert w.prefecture_budget_yuan.sum() == pytest.approx(base.prefecture_budget_yuan.sum())


def test_a_county_weight_takes_from_the_others_and_keeps_the_total(province, cache_dir, base):
    c = _row(province, NINGYUAN)
    m = _model(province, cache_dir, weight={NINGYUAN: 3.0})
    s = base.county_budget_yuan / base.county_budget_yuan.sum()
    got = m.county_budget_yuan
    assert got.sum() == pytest.approx(base.county_budget_yuan.sum(), rel=1e-12)
    assert got[c] / got.sum() == pytest.approx(3 * s[c] / (1 + 2 * s[c]), rel=1e-12)
    # Within its prefecture, the county takes more of the prefecture's money too.
    assert m.money_year["youth_lectures"][c] > base.money_year["youth_lectures"][c]
    assert m.money_year["youth_lectures"].sum() == pytest.approx(base.money_year["youth_lectures"].sum(), rel=1e-12)


def test_posts_and_township_posts_set_hands_and_cost(province, cache_dir, base):
    c = _row(province, NINGYUAN)
    m = _model(province, cache_dir, posts={NINGYUAN: 10}, township_posts={NINGYUAN: 2})
    assert m.county_posts[c] == 10 and m.posts["county"] == base.posts["county"] + 6
    towns = province.villages.township_county == c
    assert (m.township_staff[towns] == 2).all()
    np.testing.assert_array_equal(m.township_staff[~towns], base.township_staff[~towns])
    assert m.posts["township"] == pytest.approx(base.posts["township"] - base.township_staff[towns].sum()
                                                + 2 * towns.sum())
    assert m.prof_hours[c] > base.prof_hours[c]
    post_cost = m.cfg.staffing.post_cost_yuan_per_year / 12
    extra = (m.posts["county"] + m.posts["township"]) - (base.posts["county"] + base.posts["township"])
    assert m.ledger.by_use()["staff_posts"] - base.ledger.by_use()["staff_posts"] == pytest.approx(extra * post_cost)
    pref = _model(province, cache_dir, posts={431100: 12})
    assert pref.posts["prefecture"] == pytest.approx(base.posts["prefecture"] + 4)


def test_a_floor_per_resident_lifts_one_county(province, cache_dir, base):
    c = _row(province, XINHUA)
    pop = province.admin.counties["population"].iloc[c]
    m = _model(province, cache_dir, yuan_per_resident={XINHUA: 3.0})
    assert m.county_budget_yuan[c] == pytest.approx(max(3.0 * pop, base.county_budget_yuan[c]))
    assert m.county_budget_yuan[c] > base.county_budget_yuan[c]
    others = np.arange(m.n_c) != c
    np.testing.assert_allclose(m.county_budget_yuan[others], base.county_budget_yuan[others], rtol=1e-12)
    # A prefecture's floor applies to each of its counties.
    loudi = _model(province, cache_dir, yuan_per_resident={431300: 3.0})
    rows = np.flatnonzero(province.admin.counties["code"].to_numpy() // 100 == 4313)
    pops = province.admin.counties["population"].to_numpy()[rows]
    assert (loudi.county_budget_yuan[rows] >= 3.0 * pops - 1e-6).all()


def test_the_ready_scenarios_set_their_county_and_region():
    ny = compose_run_config(["scenario=ningyuan_two_township_workers"])
    assert ny.region == str(NINGYUAN) and ny.levers.township_posts == {NINGYUAN: 2.0}
    xh = compose_run_config(["scenario=xinhua_township_office"])
    assert xh.region == str(XINHUA) and xh.levers.yuan_per_resident == {XINHUA: 2.0}
    assert xh.levers.township_posts == {XINHUA: 1.0}
