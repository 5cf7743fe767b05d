"""outreach-sim-report --region: the memo of one prefecture or county (sim/report/region.py) and the
map of a region (sim/maps.py), on small runs made with the real command (tests/report_fixtures.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
import report_fixtures as rf
from matplotlib.figure import Figure

from sim import maps, plots, report
from sim.admin import load_admin
from sim.labels import indicator_label
from sim.metrics import FAMILY_INDICATORS
from sim.region import resolve_region
from sim.report.region import region_runs
from sim.runs import runs_table

CJK = re.compile(r"[\u4e00-\u9fff]")
CHANGSHA = load_admin().counties.query("code // 100 == 4301")
"""The 9 counties of 长沙市, in admin order."""


@pytest.fixture(scope="session")
def region_outputs(tmp_path_factory) -> rf.RegionOutputs:
    return rf.region_outputs(tmp_path_factory)


def need_cjk():
    if plots.cjk_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")


@pytest.fixture(scope="session")
def changsha_zh(region_outputs, tmp_path_factory):
    """The Chinese memo of 长沙市 from the province sweep (``name/``), and the same asked for by
    code (``430100/``) and by pinyin (``changsha/``)."""
    need_cjk()
    root = tmp_path_factory.mktemp("memo-changsha")
    for arg, out in (("长沙市", "name"), ("430100", "430100"), ("changsha", "changsha")):
        assert report.main([str(region_outputs.province), "--region", arg, "--lang", "zh",
                            "--out", str(root / out)]) == 0
    return root


# --------------------------------------------------------------------------- expected values
def changsha_rows(run: Path) -> pd.DataFrame:
    c = pd.read_parquet(run / "counties.parquet")
    return c[c["county_code"].isin(CHANGSHA["code"])]


def region_coverage(runs: list[Path]) -> dict[str, np.ndarray]:
    """Per indicator, per run (in order): sum(reached) / sum(eligible) over Changsha's counties."""
    rows = [changsha_rows(r) for r in runs]
    return {ind: np.array([c[f"reached_{ind}"].sum() / c[f"eligible_{ind}"].sum() for c in rows])
            for ind in FAMILY_INDICATORS if f"eligible_{ind}" in rows[0].columns}


def sweep_runs(province: Path, scenario: str) -> list[Path]:
    return [next(province.glob(f"*scenario={scenario},seed={s}")) for s in (1, 2)]


def mean_range(a: np.ndarray) -> str:
    """'mean [p5, p95]' of shares, in % to one decimal (as the memo prints them)."""
    a = 100 * np.asarray(a)
    return f"{a.mean():.1f} [{np.percentile(a, 5):.1f}, {np.percentile(a, 95):.1f}]"


def table_after(md: str, heading: str) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the first table after ``heading``."""
    lines = md[md.index(heading):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| "))
    block = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        block.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return block[0], block[2:]


# --------------------------------------------------------------------------- the Chinese memo of 长沙市
@pytest.mark.slow
@pytest.mark.requires_system("CJK font")
def test_changsha_memo_in_chinese_has_the_regions_coverage_counties_and_map(changsha_zh, region_outputs):
    out = changsha_zh / "name"
    md = (out / "memo.md").read_text(encoding="utf-8")
    assert md.startswith("# 长沙市计生协宣传服务模拟备忘录\n")
    assert "长沙市（市州，代码 430100，9 个县市区）" in md
    n_runs = len(rf.SCENARIOS) * len(rf.SEEDS)
    assert f"{n_runs} 次运行均模拟了全省；本备忘录从其县级结果表（counties.parquet）中取出长沙市的 9 个县市区。" in md
    # the region's coverage: summed reached over summed eligible of its 9 counties, per seed; mean and 5-95 %
    base = sweep_runs(region_outputs.province, "baseline_2021")
    others = sorted(s for s in rf.SCENARIOS if s != "baseline_2021")  # the memo orders them by name
    cov_base = region_coverage(base)
    cov_other = [region_coverage(sweep_runs(region_outputs.province, s)) for s in others]
    header, rows = table_after(md, "## 长沙市的覆盖率")
    assert header == ["指标", "来源类型", "符合条件户数", "覆盖户数", "baseline_2021：覆盖率（%）",
                      *[f"{s}：差异（百分点）" for s in others]]
    summary = json.loads((base[0] / "summary.json").read_text())
    prov = {"input": "输入", "calibrated": "校准", "predicted": "预测"}
    assert [r[0] for r in rows] == [indicator_label(i, "zh") for i in cov_base]
    for (ind, v), row in zip(cov_base.items(), rows, strict=True):
        eligible = np.mean([changsha_rows(r)[f"eligible_{ind}"].sum() for r in base])
        assert row[1] == prov[summary["provenance"][f"coverage.{ind}"]], ind
        assert row[2] == f"{eligible:,.0f}" and row[4] == mean_range(v), ind
        for cov, cell in zip(cov_other, row[5:], strict=True):
            diff = 100 * (cov[ind] - v)  # paired by seed
            assert cell == f"{diff.mean():+.1f} [{np.percentile(diff, 5):+.1f}, {np.percentile(diff, 95):+.1f}]", ind
    # the table of counties: exactly the 9 of Changsha, by their Chinese names, with their coverage
    header, rows = table_after(md, "## 长沙市各县市区")
    assert header[:3] == ["县市区", "人口", "青少年健康教育覆盖（%）"] and header[-1] == "约束因素"
    assert [r[0] for r in rows] == CHANGSHA["name_zh"].tolist()
    by_county = pd.concat(changsha_rows(r) for r in base).groupby("county_code", sort=False)
    assert [r[2] for r in rows] == [f"{100 * x:.1f}" for x in by_county["coverage_youth_education"].mean()]
    posts = (by_county["posts_county"].mean() + by_county["posts_township"].mean()).tolist()
    assert header[6] == "专职岗位，县级+乡镇（输入）" and [r[6] for r in rows] == [f"{x:,.1f}" for x in posts]
    assert all(r[-1].startswith(("仅经费", "仅人手", "经费和人手", "均无")) for r in rows)
    # the map, a valid PNG at 300 dpi, and the scenarios' differences
    png = out / "figures" / "fig1_region_map.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.with_suffix(".svg").is_file()
    img = mpimg.imread(png)
    assert img.shape[0] > 1000 and img.shape[1] > 1500 and img[..., :3].std() > 0.05
    assert (out / "figures" / "fig2_region_scenarios.png").is_file()
    assert "### 图 1. 长沙市各县市区的青少年健康教育覆盖比例" in md
    # every heading, table header and sentence is Chinese
    for line in md.splitlines():
        if line.startswith(("#", "- ", "*")) or (line and not line.startswith(("|", "!"))):
            assert CJK.search(line), line
    for line, rule in zip(md.splitlines(), md.splitlines()[1:], strict=False):
        if rule.startswith("|---"):
            assert all(CJK.search(cell) for cell in line.strip("|").split(" | ")), line
    for english in ("coverage", "eligible", "Figure", "seeds", "prefecture", "County", "District"):
        assert english not in md, english
    page = (out / "memo.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and page.count("data:image/png;base64,") == 2
    assert not re.search(r"(src|href)=\"(?!data:)", page), "self-contained: no external files"


@pytest.mark.slow
@pytest.mark.requires_system("CJK font")
def test_the_region_by_code_or_pinyin_gives_the_same_memo(changsha_zh):
    md = (changsha_zh / "name" / "memo.md").read_text(encoding="utf-8")
    for arg in ("430100", "changsha"):
        assert (changsha_zh / arg / "memo.md").read_text(encoding="utf-8") == md, arg
        figures = sorted(p.name for p in (changsha_zh / arg / "figures").iterdir())
        assert figures == sorted(p.name for p in (changsha_zh / "name" / "figures").iterdir())


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.requires_system("chromium", "CJK font")
def test_region_memo_renders_in_headless_chromium(changsha_zh, tmp_path):
    img = rf.chromium_screenshot(changsha_zh / "name" / "memo.html", tmp_path, 1200, 3000)
    # the text, the tables and the map (below them) are on the page: dark and mid-tone pixels
    grey = img[..., :3].mean(axis=2)
    assert (grey < 0.3).mean() > 0.002 and ((grey > 0.3) & (grey < 0.9))[1500:].mean() > 0.05


# --------------------------------------------------------------------------- a run of the region alone
@pytest.mark.slow
def test_memo_of_a_run_of_the_region_alone_says_how_its_border_was_treated(region_outputs, tmp_path):
    assert report.main([str(region_outputs.alone), "--region", "changsha", "--out", str(tmp_path)]) == 0
    md = (tmp_path / "memo.md").read_text(encoding="utf-8")
    assert md.startswith("# Outreach simulation memo: Changsha\n")
    summary = json.loads((region_outputs.alone / "summary.json").read_text())
    g = summary["region"]
    assert g["code"] == rf.CHANGSHA and g["counties"] == CHANGSHA["code"].tolist()
    cut, ties = g["ties_cut"], g["ties_cut"] + g["ties_kept"]
    m = re.search(rf"The runs \(1\) simulated Changsha alone \({g['villages']:,} village associations\)\. Of the "
                  rf"village ties of its villages, {cut:,} of {ties:,} \(([\d.]+) %\) led to villages outside it "
                  r"and were dropped", md)
    assert m and float(m[1]) == pytest.approx(100 * cut / ties, rel=0.05), md
    assert (f"{100 * g['share_special']:.1f} % of the insurance and nursing subsidy funds" in md
            and f"{100 * g['share_digital']:.1f} % of the livestream" in md)
    # its coverage: summed over its counties, which is the run's own coverage of the region
    _, rows = table_after(md, "## Coverage in Changsha")
    cov = region_coverage([region_outputs.alone])
    assert [r[4] for r in rows] == [mean_range(v) for v in cov.values()]
    assert all(v[0] == pytest.approx(summary["coverage"][ind], abs=1e-12) for ind, v in cov.items())
    _, rows = table_after(md, "## Counties of Changsha")
    assert [r[0] for r in rows] == CHANGSHA["name_en"].tolist()
    assert [p.name for p in (tmp_path / "figures").glob("*.png")] == ["fig1_region_map.png"]


@pytest.mark.slow
def test_a_county_of_a_run_of_its_prefecture_alone(region_outputs):
    runs = runs_table([region_outputs.alone])[0]
    data = region_runs(runs, resolve_region("长沙县"))
    assert data.counties["county_zh"].tolist() == ["长沙县"]
    c = data.counties.iloc[0]
    assert data.runs["coverage.special_visited"].iloc[0] == c["reached_special_visited"] / c["eligible_special_visited"]
    assert "param.region" not in data.runs.columns and data.runs["group"].tolist() == [
        f"scenario=baseline_2021,population.scale={rf.SCALE}"]


# --------------------------------------------------------------------------- bad input
def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


@pytest.mark.parametrize(("region", "words"), [
    ("nowhere", ["'nowhere' names no prefecture or county of Hunan"]),
    ("changsah", ["near: 长沙市 Changsha (430100)"]),
    ("长沙", ["ambiguous", "长沙市 Changsha (430100)", "长沙县 Changsha County (430121)"]),
])
def test_a_region_that_names_no_unit_or_several_is_one_error_line(tmp_path, capsys, region, words):
    runs = rf.hand_built_runs(tmp_path / "runs")
    assert report.main([str(runs), "--region", region]) == 2
    line = one_error_line(capsys)
    assert line.startswith("error: --region=") and all(w in line for w in words), line
    assert not any(p.name.startswith("report") for p in runs.iterdir())


@pytest.mark.parametrize(("code", "name"), [(430200, "株洲市 Zhuzhou (430200)"),
                                            (430121, "长沙县 Changsha County (430121)")])
def test_a_run_of_another_region_is_refused_naming_both(tmp_path, capsys, code, name):
    summary = rf.hand_summary("baseline_2021", 1, cost=5e8, reached={k: 1_000 for k in rf.HAND_ELIGIBLE})
    run = rf.write_hand_run(tmp_path / "runs", "seed=1", {**summary, "region": rf.region_summary(code)})
    assert report.main([str(run.parent), "--region", "长沙市", "--lang", "zh"]) == 2
    line = one_error_line(capsys)
    assert f"is a run of {name} alone" in line and "--region 长沙市 Changsha (430100)" in line, line


def test_runs_of_the_province_and_of_the_region_alone_are_not_pooled(tmp_path, capsys):
    summary = rf.hand_summary("baseline_2021", 1, cost=5e8, reached={k: 1_000 for k in rf.HAND_ELIGIBLE})
    rf.write_hand_run(tmp_path / "runs", "province", summary)
    rf.write_hand_run(tmp_path / "runs", "alone", {**summary, "region": rf.region_summary(rf.CHANGSHA)})
    assert report.main([str(tmp_path / "runs"), "--region", "430100"]) == 2
    assert "the runs simulated different areas" in one_error_line(capsys)


def test_a_sensitivity_folder_beside_region_is_refused(tmp_path, capsys):
    (tmp_path / "sens").mkdir()
    (tmp_path / "sens" / "sensitivity.json").write_text("{}")
    assert report.main([str(tmp_path / "sens"), "--region", "长沙市"]) == 2
    assert "give run or sweep folders only" in one_error_line(capsys)


# --------------------------------------------------------------------------- the map of a region
def test_map_of_a_region_is_zoomed_to_its_counties_with_the_others_grey():
    codes = CHANGSHA["code"].tolist()
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    patches = maps.draw_counties(ax, {c: "red" for c in codes}, region=codes)
    inside = [p for p in patches if p.get_label() == "_county"]
    assert sorted(int(p.get_gid()) for p in inside) == sorted(codes)
    assert len(patches) == maps.N_COUNTIES and all(p.get_facecolor()[:3] == (1, 0, 0) for p in inside)
    x0, y0, x1, y1 = maps.bounds(codes)
    (vx0, vx1), (vy0, vy1) = ax.get_xlim(), ax.get_ylim()
    assert vx0 < x0 < x1 < vx1 and vy0 < y0 < y1 < vy1 and vx1 - vx0 < 1.3 * (x1 - x0)
    assert maps.bounds()[2] - maps.bounds()[0] > 2 * (x1 - x0)
    texts = maps.label_counties(ax, dict(zip(CHANGSHA["code"], CHANGSHA["name_zh"], strict=True)))
    assert sorted(t.get_text() for t in texts) == sorted(CHANGSHA["name_zh"])
    maps.scale_bar(ax, None, codes=codes)
    assert [t.get_text() for t in ax.texts if t.get_text().endswith(" km")] == ["20 km"]
    ax2 = Figure().add_subplot()
    assert len(maps.draw_counties(ax2, {}, region=[431126], others=None)) == 1
    with pytest.raises(ValueError, match="no county"):
        maps.bounds([1])


def test_colour_scale_runs_from_floor_to_ceiling():
    colours, mappable = maps.colour_scale({430102: 12.3, 430103: 17.8, 430104: float("nan")}, plots.CMAP)
    assert set(colours) == {430102, 430103} and mappable.norm.vmin == 12 and mappable.norm.vmax == 18
