"""outreach-sim-report: which figures each kind of input gets, the memo's sections and images,
bad input, Chinese (and the fallback without a CJK font), and the memo in headless Chromium."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
import report_fixtures as rf
import yaml

from sim import plots, report
from sim.analysis import group_labels
from sim.compare import compare
from sim.labels import indicator_label
from sim.report import assemble
from sim.runs import runs_table

SECTIONS_EN = ("## Question", "## Scenarios compared", "## Headline", "## Costs", "## Figures", "## Provenance")


@pytest.fixture(scope="session")
def outputs(tmp_path_factory) -> rf.Outputs:
    return rf.outputs(tmp_path_factory)


@pytest.fixture(scope="session")
def scenario_memo(outputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("memo-scenarios")
    assert report.main([str(outputs.scenarios), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def sweep_memo(outputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("memo-sweep")
    assert report.main([str(outputs.sweep), "--out", str(out), "--indicator", "hardship_assisted",
                        "--target", "80"]) == 0
    return out


class Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.srcs.append(dict(attrs).get("src", ""))


def figure_names(out: Path) -> list[str]:
    return sorted(p.stem for p in (out / "figures").glob("*.png"))


def assert_memo_complete(out: Path, n_figures: int, sections=SECTIONS_EN):
    md = (out / "memo.md").read_text(encoding="utf-8")
    for s in sections:
        assert s in md, s
    # every figure: PNG + SVG on disk, linked from the markdown, embedded in the HTML
    pngs = sorted((out / "figures").glob("*.png"))
    assert len(pngs) == n_figures
    assert all(p.with_suffix(".svg").is_file() for p in pngs)
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(links) == n_figures and all((out / link).is_file() for link in links)
    page = (out / "memo.html").read_text(encoding="utf-8")
    parser = Images()
    parser.feed(page)
    assert len(parser.srcs) == n_figures
    for src in parser.srcs:  # no broken image: each is an embedded PNG that decodes
        assert src.startswith("data:image/png;base64,")
        img = mpimg.imread(io.BytesIO(base64.b64decode(src.split(",", 1)[1])), format="png")
        assert img.shape[0] > 500 and img.shape[1] > 500 and img[..., :3].std() > 0.02
    assert not re.search(r"(src|href)=\"(?!data:)", page), "self-contained: no external files"
    return md, page


# --------------------------------------------------------------------------- content
@pytest.mark.slow
def test_scenario_memo_has_every_section_and_the_scenario_figures(scenario_memo, outputs):
    md, page = assert_memo_complete(scenario_memo, 8)
    assert figure_names(scenario_memo) == [
        "fig1_scenario_comparison", "fig4_county_map", "fig4b_binding_map", "fig5_prefectures_1",
        "fig5_prefectures_2", "fig6_cumulative_reach", "fig7_lorenz", "fig8_cost_effectiveness"]
    assert "compared with baseline_2021" in md  # the question
    for s in rf.SCENARIOS:
        assert s in md
    plus = next(outputs.scenarios.glob("*scenario=budget_plus_20*"))
    desc = json.loads((plus / "config.json").read_text())["scenario"]["description"]
    assert desc and f"| {desc} |" in md  # the scenario's description
    # headline differences with intervals, total cost among them
    assert re.search(r"budget_plus_20: .* [+-]\d+\.\d pp \[[+-]\d+\.\d, [+-]\d+\.\d\]", md)
    assert re.search(r"budget_plus_20: .*; total cost [+-]\d+\.\d M yuan \[", md)
    assert "90 % interval" in md
    # the headline table has a provenance column, with the summaries' labels
    assert "| indicator | provenance | baseline_2021 | budget_cut_20 | budget_plus_20 |" in md
    s = json.loads((outputs.single / "summary.json").read_text())
    for ind in ("youth_education", "special_insured", "hardship_assisted"):
        label = indicator_label(ind)
        assert f"| {label} (%) | {s['provenance'][f'coverage.{ind}']} |" in md, ind
    assert re.search(r"\| county-months where hands bound \(%\) \| predicted \| \d+\.\d \|", md)
    assert "Provenance: input = set by an assumption" in md
    # costs by pot, and cost per additional family reached per indicator
    assert ("| group | association budgets (M yuan) | raised funds (M yuan) | personnel budget (M yuan) | "
            "total (M yuan) | yuan (total cost) per family reached | Δ total vs baseline_2021 (M yuan) |") in md
    assert re.search(r"\| budget_plus_20 \| [\d,]+\.\d \| [\d,]+\.\d \| [\d,]+\.\d \| [\d,]+\.\d \| [\d,]+\.\d \| "
                     r"[+-][\d,]+\.\d \[", md)
    assert "## Cost per additional family reached" in md
    assert "| indicator | provenance | budget_cut_20 | budget_plus_20 |" in md
    # the binding map's caption names the activity most often short of hands and the roles
    assert re.search(r"and hands in \d+ \(binding some activity .*\)\. Hands bound most often for [a-z ]+ "
                     r"\(\d+ % of county-months\): the hours of [a-z ,]+ ran out\.", md)
    # one caption per figure
    assert len(re.findall(r"<figcaption>", page)) == 8
    # provenance: version, commit, config hashes, seeds, scale
    runs, _, _ = runs_table([outputs.scenarios])
    for h in runs["config_hash"]:
        assert h in md
    commits = {c for c in runs["git_commit"].dropna()}
    assert all(c in md for c in commits)
    assert "outreach-sim version 0.1.0" in md and f"population scale {rf.SCALE}" in md and "Seeds 1, 2" in md


@pytest.mark.slow
def test_sweep_memo_gets_dose_response_and_heatmap(sweep_memo):
    md, _ = assert_memo_complete(sweep_memo, 6)
    assert figure_names(sweep_memo) == ["fig2_dose_response", "fig3_heatmap", "fig4_county_map",
                                        "fig4b_binding_map", "fig6_cumulative_reach", "fig7_lorenz"]
    assert "funding × staffing sweep" in md and "80 % target" in md
    step = r"Volunteers per village 5 instead of 2 .*: hardship families assisted [+-]\d+\.\d pp \["
    assert re.search(step, md)
    assert "| volunteers per village | ×0.8 | ×1.2 |" in md
    assert re.search(r"Mean hardship families assisted \(%; (input|calibrated|predicted)\)", md)
    # money and hands binding by cell: the funding x staffing interaction
    assert "in which money / hands bound some activity" in md
    assert re.search(r"\| 2 \| \d+\.\d / \d+\.\d \| \d+\.\d / \d+\.\d \|", md)
    # one cost row per cell of the sweep, no difference column (no scenario baseline)
    cost_rows = re.findall(r"^\| multiplier=[^|]+(?:\| [\d,]+\.\d ){5}\|$", md, flags=re.M)
    assert len(cost_rows) == len(rf.FUNDING) * len(rf.VOLUNTEERS)
    assert "Δ total vs" not in md


@pytest.mark.slow
def test_single_run_memo_and_chinese_without_a_cjk_font(outputs, tmp_path, monkeypatch, capsys):
    # --lang zh on a machine without a CJK font: one note, then the memo in English
    monkeypatch.setattr(plots, "cjk_font", lambda: None)
    assert report.main([str(outputs.single), "--lang", "zh", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == ["note: no CJK font found; writing the memo in English"]
    md, _ = assert_memo_complete(tmp_path, 4, ("## Question", "## Scenarios compared", "## Headline results",
                                               "## Costs", "## Figures", "## Provenance"))
    assert "| indicator | provenance | value |" in md and "| special families insured | input | " in md
    assert "## Cost per additional family reached" not in md  # nothing to compare with
    assert figure_names(tmp_path) == ["fig4_county_map", "fig4b_binding_map", "fig6_cumulative_reach",
                                      "fig7_lorenz"]
    assert "read 1 complete runs" in captured.out and f"memo: {tmp_path / 'memo.html'}" in captured.out


# --------------------------------------------------------------------------- language
@pytest.mark.slow
@pytest.mark.requires_system("CJK font")
def test_memo_in_chinese(outputs, tmp_path):
    if plots.cjk_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    assert report.main([str(outputs.single), "--lang", "zh", "--out", str(tmp_path)]) == 0
    sections = ("## 问题", "## 比较的情景", "## 主要结果", "## 成本", "## 图", "## 来源与可重复性")
    md, page = assert_memo_complete(tmp_path, 4, sections)
    assert '<html lang="zh-CN">' in page and "2021年实际预算" in md
    assert "| 指标 | 来源类型 | 数值 |" in md and "| 计生特殊家庭参保 | 输入 |" in md
    assert "协会预算（百万元）" in md and "募集资金（百万元）" in md and "人员经费（百万元）" in md


# --------------------------------------------------------------------------- memo tables, hand-built runs
@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    runs = runs_table([rf.hand_built_runs(tmp_path_factory.mktemp("hand") / "runs")])[0]
    return runs, compare(runs, "scenario=baseline_2021"), group_labels(runs)


GROUPS = ["scenario=baseline_2021", "scenario=budget_plus_20", "scenario=budget_cut_20"]


def test_cost_table_by_pot_with_exact_values(hand):
    runs, cmp, labels = hand
    header, rows = assemble.cost_table(runs, GROUPS, labels, "en", cmp, "baseline_2021")
    assert header == ["group", "association budgets (M yuan)", "raised funds (M yuan)", "personnel budget (M yuan)",
                      "total (M yuan)", "yuan (total cost) per family reached", "Δ total vs baseline_2021 (M yuan)"]
    cpf = {k: f"{np.mean([c / f for c, f in zip(cost, fam, strict=True)]):,.1f}" for k, cost, fam in (
        ("base", (500e6, 510e6, 520e6), (37_000, 38_100, 39_200)),
        ("plus", (510e6, 522e6, 534e6), (38_200, 41_450, 41_700)),
        ("cut", (495e6, 505e6, 515e6), (36_500, 37_600, 38_700)))}
    # association budgets = total - 216 M raised - 200 M personnel; Δ total: 10, 12, 14 M (5-95 %: 10.2, 13.8)
    assert rows == [["baseline_2021", "94.0", "216.0", "200.0", "510.0", cpf["base"], "-"],
                    ["budget_plus_20", "106.0", "216.0", "200.0", "522.0", cpf["plus"], "+12.0 [+10.2, +13.8]"],
                    ["budget_cut_20", "89.0", "216.0", "200.0", "505.0", cpf["cut"], "-5.0 [-5.0, -5.0]"]]
    header, rows = assemble.cost_table(runs, GROUPS[:1], labels, "zh")
    assert header == ["组", "协会预算（百万元）", "募集资金（百万元）", "人员经费（百万元）", "合计（百万元）",
                      "每覆盖一户的总成本（元）"]
    assert rows == [["baseline_2021", "94.0", "216.0", "200.0", "510.0", cpf["base"]]]


def test_cost_per_additional_family_table_with_provenance(hand):
    runs, cmp, labels = hand
    header, rows = assemble.cost_per_family_table(cmp, runs, GROUPS[1:], labels, "en")
    assert header == ["indicator", "provenance", "budget_plus_20", "budget_cut_20"]
    assert rows == [
        ["youth reached by health education", "predicted", "6,000", "5,000 (saved per family not reached)"],
        ["special families visited", "predicted", "undefined", "-10,000 (reaches more for less)"],
        ["special families insured", "input", "40,000", "undefined"]]
    header, rows = assemble.cost_per_family_table(cmp, runs, GROUPS[1:], labels, "zh")
    assert header == ["指标", "来源类型", "budget_plus_20", "budget_cut_20"]
    assert rows == [["青少年健康教育覆盖", "预测", "6,000", "5,000（每少覆盖一户节省）"],
                    ["计生特殊家庭走访", "预测", "不适用", "-10,000（成本更低且覆盖更多）"],
                    ["计生特殊家庭参保", "输入", "40,000", "不适用"]]
    assert assemble.cost_per_family_cell(-2_500.0, "dominated: fewer families for more money", "en") == \
        "-2,500 (reaches fewer for more)"


def test_provenance_labels(hand):
    runs, _, _ = hand
    assert assemble.provenance_text(runs, "coverage.special_insured", "en") == "input"
    assert assemble.provenance_text(runs, "coverage_counts.youth_education.reached", "zh") == "预测"
    assert assemble.provenance_text(runs, "reported.youth_lectures", "zh") == "校准"
    assert assemble.provenance_text(runs, "cost.total_yuan", "en") == "-"
    mixed = runs.assign(**{"provenance.execution_rate": ["input"] + ["calibrated"] * (len(runs) - 1)})
    assert assemble.provenance_text(mixed, "execution_rate", "zh") == "校准/输入"


def test_every_scenario_has_a_chinese_description():
    from sim.cli import CONF_DIR
    from sim.config import ScenarioConfig

    files = sorted((CONF_DIR / "scenario").glob("*.yaml"))
    assert files
    for p in files:
        scenario = ScenarioConfig(**yaml.safe_load(p.read_text(encoding="utf-8"))["scenario"])
        assert scenario.name == p.stem and re.search(r"[\u4e00-\u9fff]", scenario.description_zh), p.name


def test_scenario_descriptions_from_the_runs_config_or_else_the_scenario_file(tmp_path):
    root = rf.hand_built_runs(tmp_path / "runs")
    plus = {"scenario": {"name": "budget_plus_20", "description": "More money.", "description_zh": "更多经费。"}}
    for seed in rf.HAND_SEEDS:
        (root / f"budget_plus_20-{seed}" / "config.json").write_text(json.dumps(plus))
    runs = runs_table([root])[0]
    assert assemble.scenario_descriptions(runs, "en") == {
        "baseline_2021": "2021 budgets, staff and volunteers as reported.", "budget_plus_20": "More money.",
        "budget_cut_20": "All association budgets and project funds 20 % lower (raised funds unchanged)."}
    zh = assemble.scenario_descriptions(runs, "zh")
    assert zh["budget_plus_20"] == "更多经费。" and zh["baseline_2021"] == "2021年实际预算、人员和志愿者。"


# --------------------------------------------------------------------------- bad input
def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_missing_folder_is_one_error_line(tmp_path, capsys):
    assert report.main([str(tmp_path / "nope")]) == 2
    assert "does not exist" in _one_error_line(capsys)


def test_no_complete_runs_is_one_error_line(tmp_path, capsys):
    run = tmp_path / "sweep" / "seed=1"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "overrides.yaml").write_text("- seed=1\n")
    assert report.main([str(tmp_path / "sweep")]) == 2
    assert "no complete runs" in _one_error_line(capsys) and not (tmp_path / "sweep" / "report").exists()


@pytest.mark.parametrize("content", ["[]", "garbage {", b"\xff\x00"])
def test_summary_that_is_no_object_is_incomplete_not_a_crash(tmp_path, capsys, content):
    run = rf.write_hand_run(tmp_path / "sweep", "seed=1", {"scenario": "baseline_2021", "seed": 1})
    (run / "summary.json").write_bytes(content if isinstance(content, bytes) else content.encode())
    assert report.main([str(tmp_path / "sweep")]) == 2
    assert "no complete runs" in _one_error_line(capsys) and not (tmp_path / "sweep" / "report").exists()


def test_out_that_cannot_be_written_is_one_error_line(tmp_path, capsys):
    root = rf.hand_built_runs(tmp_path / "runs")
    (tmp_path / "file").write_text("keep")
    assert report.main([str(root), "--out", str(tmp_path / "file")]) == 2
    assert "--out" in (line := _one_error_line(capsys)) and "is a file" in line
    assert report.main([str(root), "--out", str(tmp_path / "file" / "sub")]) == 2
    assert "cannot make the folder" in _one_error_line(capsys)
    assert (tmp_path / "file").read_text() == "keep" and not (root / "report").exists()


def test_memo_md_escapes_html_as_memo_html_does(tmp_path):
    from sim.report.assemble import Memo
    from sim.report.figures import FigureEntry
    from sim.report.render import render_html, render_md

    bad = "<script>alert(1)</script>"
    img = '<img src=x onerror="alert(2)">'
    (tmp_path / "figures").mkdir()
    png = tmp_path / "figures" / "fig1.png"
    png.write_bytes(b"\x89PNG")
    memo = Memo("en", f"Memo {bad}", f"sub {img}")
    memo.add("h2", f"h {bad}")
    memo.add("p", f"p {img} & more")
    memo.add("ul", [bad, img])
    memo.add("table", [bad, "b|c"], [[img, "x"]])
    memo.add("figure", FigureEntry("fig1", f"t {bad}", f"c {img}", png, tmp_path / "figures" / "fig1.svg"), 1)
    md, page = render_md(memo, tmp_path), render_html(memo)
    assert "<" not in md, md
    assert "<script" not in page and "<img src=x" not in page
    assert md.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 6
    assert "p &lt;img src=x onerror=\"alert(2)\"&gt; &amp; more" in md and "b\\|c" in md
    assert "![t &lt;script&gt;alert(1)&lt;/script&gt;](figures/fig1.png)" in md


@pytest.mark.slow
def test_report_on_sweeps_of_different_keys_and_without_pairs(outputs, tmp_path, capsys):
    # the scenario runs have no funding or staffing value: filled from their config for the sweep figures
    assert report.main([str(outputs.scenarios), str(outputs.sweep), "--out", str(tmp_path / "both")]) == 0
    md = (tmp_path / "both" / "memo.md").read_text(encoding="utf-8")
    assert "figures/fig2_dose_response.png" in md and "figures/fig3_heatmap.png" in md
    assert not re.search(r"[+-]?\bnan\b", md)
    # a scenario whose seeds the baseline never ran: no pairs, said in words, no crash
    lone = tmp_path / "lone"
    for d in outputs.scenarios.iterdir():
        if d.is_dir() and (("baseline_2021" in d.name and d.name.endswith("seed=1"))
                           or ("budget_plus_20" in d.name and d.name.endswith("seed=2"))):
            shutil.copytree(d, lone / d.name)
    assert report.main([str(lone), "--out", str(tmp_path / "lone-report")]) == 0
    md = (tmp_path / "lone-report" / "memo.md").read_text(encoding="utf-8")
    assert "budget_plus_20: no run shares a seed with the baseline" in md and "+nan" not in md
    capsys.readouterr()


@pytest.mark.slow
def test_unknown_baseline_is_one_error_line(outputs, tmp_path, capsys):
    assert report.main([str(outputs.single), "--baseline", "nope", "--out", str(tmp_path)]) == 2
    assert "--baseline nope" in _one_error_line(capsys)


@pytest.mark.slow
@pytest.mark.integration
def test_command_line_exit_status_without_traceback(tmp_path, outputs):
    r = subprocess.run([sys.executable, "-m", "sim.report", str(tmp_path / "missing")], capture_output=True,
                       text=True, env=outputs.env, timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    expected = f"error: {tmp_path / 'missing'} does not exist (give a run or sweep folder)"
    assert r.stderr.strip().splitlines() == [expected]


# --------------------------------------------------------------------------- the browser
@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.requires_system("chromium")
def test_memo_renders_in_headless_chromium(scenario_memo, tmp_path):
    img = rf.chromium_screenshot(scenario_memo / "memo.html", tmp_path, 1200, 1600)
    # text and a figure are on the first screen: dark pixels (text) and mid-tone pixels (the plot)
    grey = img[..., :3].mean(axis=2)
    assert (grey < 0.3).mean() > 0.002 and ((grey > 0.3) & (grey < 0.9)).mean() > 0.002
