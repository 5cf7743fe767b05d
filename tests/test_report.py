"""outreach-sim-report: which figures each kind of input gets, the memo's sections and images,
bad input, Chinese (and the fallback without a CJK font), and the memo in headless Chromium."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image as mpimg
import pytest
import report_fixtures as rf

from sim import plots, report

SECTIONS_EN = ("## Question", "## Scenarios compared", "## Headline", "## Figures", "## Provenance")


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
def test_scenario_memo_has_every_section_and_the_scenario_figures(scenario_memo, outputs):
    md, page = assert_memo_complete(scenario_memo, 8)
    assert figure_names(scenario_memo) == [
        "fig1_scenario_comparison", "fig4_county_map", "fig4b_binding_map", "fig5_prefectures_1",
        "fig5_prefectures_2", "fig6_cumulative_reach", "fig7_lorenz", "fig8_cost_effectiveness"]
    assert "compared with baseline_2021" in md  # the question
    for s in rf.SCENARIOS:
        assert s in md
    assert "All budgets and funds 20 % higher." in md  # the scenario's description
    # headline differences with intervals
    assert re.search(r"budget_plus_20: .* [+-]\d+\.\d pp \[[+-]\d+\.\d, [+-]\d+\.\d\]", md)
    assert "90 % interval" in md
    # one caption per figure
    assert len(re.findall(r"<figcaption>", page)) == 8
    # provenance: version, commit, config hashes, seeds, scale
    runs, _, _ = report.runs_table([outputs.scenarios])
    for h in runs["config_hash"]:
        assert h in md
    commits = {c for c in runs["git_commit"].dropna()}
    assert all(c in md for c in commits)
    assert "outreach-sim version 0.1.0" in md and f"population scale {rf.SCALE}" in md and "Seeds 1, 2" in md


def test_sweep_memo_gets_dose_response_and_heatmap(sweep_memo):
    md, _ = assert_memo_complete(sweep_memo, 6)
    assert figure_names(sweep_memo) == ["fig2_dose_response", "fig3_heatmap", "fig4_county_map",
                                        "fig4b_binding_map", "fig6_cumulative_reach", "fig7_lorenz"]
    assert "funding × staffing sweep" in md and "80 % target" in md
    step = r"Volunteers per village 5 instead of 2 .*: hardship families assisted [+-]\d+\.\d pp \["
    assert re.search(step, md)
    assert "| volunteers per village | ×0.8 | ×1.2 |" in md


def test_single_run_memo_and_chinese_without_a_cjk_font(outputs, tmp_path, monkeypatch, capsys):
    # --lang zh on a machine without a CJK font: one note, then the memo in English
    monkeypatch.setattr(plots, "cjk_font", lambda: None)
    assert report.main([str(outputs.single), "--lang", "zh", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == ["note: no CJK font found; writing the memo in English"]
    assert_memo_complete(tmp_path, 4, ("## Question", "## Scenarios compared", "## Headline results",
                                       "## Figures", "## Provenance"))
    assert figure_names(tmp_path) == ["fig4_county_map", "fig4b_binding_map", "fig6_cumulative_reach",
                                      "fig7_lorenz"]
    assert "read 1 complete runs" in captured.out and f"memo: {tmp_path / 'memo.html'}" in captured.out


# --------------------------------------------------------------------------- language
def test_memo_in_chinese(outputs, tmp_path):
    if plots.cjk_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    assert report.main([str(outputs.single), "--lang", "zh", "--out", str(tmp_path)]) == 0
    sections = ("## 问题", "## 比较的情景", "## 主要结果", "## 图", "## 来源与可重复性")
    md, page = assert_memo_complete(tmp_path, 4, sections)
    assert '<html lang="zh-CN">' in page and "2021年实际预算" in md


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


def test_unknown_baseline_is_one_error_line(outputs, tmp_path, capsys):
    assert report.main([str(outputs.single), "--baseline", "nope", "--out", str(tmp_path)]) == 2
    assert "--baseline nope" in _one_error_line(capsys)


def test_command_line_exit_status_without_traceback(tmp_path, outputs):
    r = subprocess.run([sys.executable, "-m", "sim.report", str(tmp_path / "missing")], capture_output=True,
                       text=True, env=outputs.env, timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    expected = f"error: {tmp_path / 'missing'} does not exist (give a run or sweep folder)"
    assert r.stderr.strip().splitlines() == [expected]


# --------------------------------------------------------------------------- the browser
def test_memo_renders_in_headless_chromium(scenario_memo, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not on PATH (Debian: apt-get install chromium)")
    shot = tmp_path / "memo.png"
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,1600", f"--screenshot={shot}",
           (scenario_memo / "memo.html").resolve().as_uri()]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and shot.is_file(), r.stderr[-2000:]
    img = mpimg.imread(shot)
    assert img.shape[:2] == (1600, 1200)
    assert img[..., :3].std() > 0.05, "the screenshot is blank"
    # text and a figure are on the first screen: dark pixels (text) and mid-tone pixels (the plot)
    grey = img[..., :3].mean(axis=2)
    assert (grey < 0.3).mean() > 0.002 and ((grey > 0.3) & (grey < 0.9)).mean() > 0.002
