"""outreach-sim-report on a sensitivity analysis: the uncertainty section (what was varied, which
conclusions are robust, what to measure first, the figures), the memo of a sensitivity folder
alone, bad sensitivity folders, Chinese, escaping, and the figures of :mod:`sim.plots_uncertainty`.

A small real analysis (Morris, N = 2, three parameters, one scenario, population scale 0.005,
six months) is run once per module by ``sim.sensitivity.main``; a hand-written Sobol folder
checks the robustness threshold at its edges with exact numbers.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
import yaml

from sim import plots, report
from sim import plots_uncertainty as pu
from sim import sensitivity as S
from sim.labels import UNCERTAIN_PARAMS, indicator_label, text, uncertain_param_label
from sim.report import uncertainty as U
from sim.report.render import render_html, render_md

PARAMS = ("diffusion.q", "staffing.staff_outreach_share", "activities.elderly_difficulty_share")
SCENARIO = "budget_plus_20"
BASE = "baseline_2021"
SMALL = ["population.scale=0.005", "months=6", "progress=false"]
VERDICT_WORDS = {"robust_better": "robustly better", "robust_worse": "robustly worse", "not_robust": "not robust",
                 "unchanged": "no change"}


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def sens_dir(tmp_path_factory, cache_dir) -> Path:
    """A real Morris analysis: N = 2 trajectories of 3 parameters, baseline and one scenario."""
    out = tmp_path_factory.mktemp("sensitivity") / "morris"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OUTREACH_SIM_CACHE", str(cache_dir))
        rc = S.main(["--method", "morris", "--n", "2", "--out", str(out), "--scenarios", SCENARIO,
                     "--params", ",".join(PARAMS), "--workers", "1", *SMALL])
    assert rc == 0
    return out


@pytest.fixture(scope="module")
def memo_dir(sens_dir, tmp_path_factory) -> Path:
    """The memo of the sensitivity folder alone."""
    out = tmp_path_factory.mktemp("memo-sensitivity")
    assert report.main([str(sens_dir), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def md(memo_dir) -> str:
    return (memo_dir / "memo.md").read_text(encoding="utf-8")


def _tables(d: Path):
    meta = json.loads((d / "sensitivity.json").read_text())
    return meta, pd.read_csv(d / "robustness.csv"), pd.read_csv(d / "measure_first.csv")


def _share(p, lo, hi) -> str:
    return f"{100 * p:.0f} % [{100 * lo:.0f}, {100 * hi:.0f}]"


def _expected_verdict(p_better: float, p_worse: float) -> str:
    if p_better >= 0.9:
        return "robust_better"
    if p_worse >= 0.9:
        return "robust_worse"
    return "unchanged" if p_better == 0 and p_worse == 0 else "not_robust"


def _copy_tables(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for name in ("sensitivity.json", "indices.csv", "robustness.csv", "measure_first.csv"):
        shutil.copy(src / name, dst / name)
    return dst


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


# --------------------------------------------------------------------------- the section
def test_memo_of_a_sensitivity_folder_alone_has_question_section_and_provenance(md, memo_dir, sens_dir):
    meta, _, _ = _tables(sens_dir)
    headings = re.findall(r"^## (.+)$", md, flags=re.M)
    assert headings == ["Question", "Uncertainty: how sure are these conclusions?", "Provenance"]
    assert f"about {SCENARIO} against {BASE} hold whatever the values" in md  # the question
    assert "A Morris screening analysis" in md
    assert f"varied {len(PARAMS)} uncertain parameters together: {meta['points']} parameter draws (N = 2)" in md
    assert f"{meta['runs']} runs in all" in md and "population scale 0.005" in md
    # provenance: the folder, version, commit, seeds, scale, months
    assert f"Sensitivity analysis read from {sens_dir}: Morris screening, N = 2, {meta['runs']} runs" in md
    assert meta["git_commit"] is None or meta["git_commit"] in md
    assert "Seeds 1; population scale 0.005; 6 simulated months." in md
    # the analysis's own sentence, verbatim
    for sentence in meta["sentences"].values():
        assert f"- {sentence}" in md
    assert (memo_dir / "memo.html").is_file()


def test_section_lists_every_parameter_with_range_distribution_kind_and_source(md, sens_dir):
    meta, _, _ = _tables(sens_dir)
    assert [p["key"] for p in meta["params"]] == list(PARAMS)
    assert "| parameter | config key | range | distribution | kind | source of the range |" in md
    for p in meta["params"]:
        dist = {"uniform": "uniform", "loguniform": "log-uniform"}.get(p["dist"], p["dist"])
        row = (f"| {UNCERTAIN_PARAMS[p['key']][0]} | {p['key']} | {p['low']:.4g} – {p['high']:.4g} | {dist} | "
               f"{p['kind']} | {p['source'].replace('|', chr(92) + '|')} |")
        assert row in md, row


def test_robust_and_not_robust_conclusions_match_robustness_csv(md, sens_dir):
    _, rob, _ = _tables(sens_dir)
    assert set(rob["scenario"]) == {SCENARIO}
    bullets = {k: next((line for line in md.splitlines() if line.startswith(f"- {SCENARIO}: {k}")), "")
               for k in ("robustly better", "robustly worse", "not robust", "no change")}
    seen = set()
    for _, r in rob.iterrows():
        v = _expected_verdict(r["p_better"], r["p_worse"])
        seen.add(v)
        label = indicator_label(r["indicator"])
        # the table row: shares with their 90 % intervals and the conclusion
        cells = re.escape(f"| {SCENARIO} | {label}") + r"[^|]* \| " + \
            re.escape(f"{_share(r['p_better'], r['p_better_low'], r['p_better_high'])} | "
                      f"{_share(r['p_worse'], r['p_worse_low'], r['p_worse_high'])} | ") + \
            r"[^|]+ \| " + re.escape(f"{VERDICT_WORDS[v]} |")
        assert re.search(cells, md), (r["indicator"], v)
        if not r["indicator"].startswith("coverage."):
            continue
        # the summary: each coverage indicator in its scenario's bullet of that kind, with its share
        if v == "robust_better":
            assert f"{label} ({_share(r['p_better'], r['p_better_low'], r['p_better_high'])})" in \
                bullets["robustly better"]
        elif v == "robust_worse":
            assert f"{label} ({_share(r['p_worse'], r['p_worse_low'], r['p_worse_high'])})" in \
                bullets["robustly worse"]
        elif v == "not_robust":
            assert (f"{label} (better in {_share(r['p_better'], r['p_better_low'], r['p_better_high'])}, "
                    f"worse in {_share(r['p_worse'], r['p_worse_low'], r['p_worse_high'])})") in bullets["not robust"]
        else:
            assert label in bullets["no change"]
    assert "robust_better" in seen  # more money reaches more youth in every world
    cost = rob.set_index("indicator").loc["cost.total_yuan"]
    assert cost["p_worse"] == 1.0 and "| total cost (yuan) (lower is better) |" in md


def test_what_to_measure_first_matches_measure_first_csv(md, sens_dir):
    _, _, mf = _tables(sens_dir)
    head = pu.headline_indicators(mf)
    assert "What to measure first." in md
    if SCENARIO not in head:
        assert f"- {SCENARIO}: no coverage ranking against {BASE} reverses across the sampled worlds" in md
        return
    ind = head[SCENARIO]
    g = mf[(mf["scenario"] == SCENARIO) & (mf["indicator"] == ind)].sort_values("rank")
    cov = mf[(mf["scenario"] == SCENARIO) & mf["indicator"].str.startswith("coverage.")]
    assert g["evpi"].max() == pytest.approx(cov["evpi"].max())  # the coverage indicator with the most at stake
    top = g.iloc[0]
    assert (f"- {SCENARIO}: measure {uncertain_param_label(top['parameter'])} first; it carries "
            f"{100 * top['evppi_share']:.0f} % of the") in md


def test_figures_are_saved_as_png_and_svg_and_embedded_with_captions(memo_dir, md, sens_dir):
    _, _, mf = _tables(sens_dir)
    expected = ["figu_morris", "figu_robustness"] + (["figu_measure_first"] if pu.headline_indicators(mf) else [])
    pngs = sorted(p.stem for p in (memo_dir / "figures").glob("*.png"))
    assert pngs == sorted(expected)
    for name in expected:
        assert (memo_dir / "figures" / f"{name}.svg").stat().st_size > 1000
        img = mpimg.imread(memo_dir / "figures" / f"{name}.png")
        assert img.shape[0] > 500 and img.shape[1] > 1500 and img[..., :3].std() > 0.02
    for n, name in enumerate(expected, 1):
        assert re.search(rf"### Figure {n}\. .+\n\n!\[.+\]\(figures/{name}\.png\)\n\n.+\. \(\[SVG\]\(figures/"
                         rf"{name}\.svg\)\)", md), name
    page = (memo_dir / "memo.html").read_text(encoding="utf-8")
    srcs = re.findall(r'<img src="([^"]+)"', page)
    assert len(srcs) == len(expected) and len(re.findall("<figcaption>", page)) == len(expected)
    for src in srcs:
        img = mpimg.imread(io.BytesIO(base64.b64decode(src.split(",", 1)[1])), format="png")
        assert img.shape[0] > 500
    assert re.search(r"Under baseline_2021, .+ moves .+ most \(μ\* [\d.e-]+ pp\)", md)
    assert re.search(rf"Of 10 coverage indicators, {SCENARIO} is better than {BASE} in at least 90 % of the "
                     r"sampled worlds on \d+ and worse on \d+\.", md)


@pytest.mark.requires_system("CJK font")
def test_memo_of_a_sensitivity_folder_in_chinese(sens_dir, tmp_path):
    if plots.cjk_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    assert report.main([str(sens_dir), "--lang", "zh", "--out", str(tmp_path)]) == 0
    md = (tmp_path / "memo.md").read_text(encoding="utf-8")
    assert re.findall(r"^## (.+)$", md, flags=re.M) == ["问题", "不确定性：结论有多可靠？", "来源与可重复性"]
    assert "| 参数 | 配置项 | 范围 | 分布 | 类型 | 范围依据 |" in md and "| 口碑传播系数 | diffusion.q |" in md
    assert "| 情景 | 指标 | 更好（占抽样情形 %） | 更差（占抽样情形 %） |" in md and "稳健地更好" in md
    assert '<html lang="zh-CN">' in (tmp_path / "memo.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("damage, words", [
    (lambda d: (d / "robustness.csv").unlink(), "no robustness.csv"),
    (lambda d: (d / "measure_first.csv").unlink(), "no measure_first.csv"),
    (lambda d: (d / "sensitivity.json").write_text("garbage {"), "not readable JSON"),
    (lambda d: (d / "sensitivity.json").write_text("[]"), "must be a JSON object"),
    (lambda d: pd.read_csv(d / "robustness.csv").drop(columns="p_worse").to_csv(d / "robustness.csv"),
     "missing column(s) p_worse"),
], ids=["no-robustness", "no-measure-first", "json-garbage", "json-list", "missing-column"])
def test_bad_sensitivity_folder_is_one_error_line_and_writes_nothing(sens_dir, tmp_path, capsys, damage, words):
    d = _copy_tables(sens_dir, tmp_path / "sens")
    damage(d)
    assert report.main([str(d)]) == 2
    assert words in _one_error_line(capsys)
    assert not (d / "report").exists()


def test_baseline_or_indicator_the_analysis_does_not_have_is_one_error_line(sens_dir, tmp_path, capsys):
    assert report.main([str(sens_dir), "--baseline", "budget_cut_20", "--out", str(tmp_path / "a")]) == 2
    assert "compares against baseline_2021" in _one_error_line(capsys)
    assert report.main([str(sens_dir), "--indicator", "nope", "--out", str(tmp_path / "b")]) == 2
    assert "no such coverage indicator" in _one_error_line(capsys)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_text_from_the_files_is_escaped(sens_dir, tmp_path):
    d = _copy_tables(sens_dir, tmp_path / "sens")
    meta = json.loads((d / "sensitivity.json").read_text())
    meta["sentences"] = {SCENARIO: "<script>alert(1)</script>"}
    meta["params"][0]["source"] = '<img src=x onerror="alert(2)">'
    (d / "sensitivity.json").write_text(json.dumps(meta))
    sens = U.load_sensitivity(d)
    memo = U.build_uncertainty_memo([U.Part(sens, "coverage.youth_education", SCENARIO)], "en")
    md, page = render_md(memo, tmp_path), render_html(memo)
    assert "<script" not in md and "<img" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "<script" not in page and "<img src=x" not in page


# --------------------------------------------------------------------------- exact numbers, hand-written
HAND_ROBUSTNESS = [
    # indicator, p_better (low, high), p_worse (low, high): the threshold's edges
    ("coverage.youth_education", (0.9, 0.8, 1.0), (0.0, 0.0, 0.0)),       # exactly 90 %: robust
    ("coverage.family_health", (0.89, 0.7, 1.0), (0.11, 0.0, 0.3)),       # just under: not robust
    ("coverage.policy_awareness", (0.0, 0.0, 0.0), (0.95, 0.85, 1.0)),    # robustly worse
    ("coverage.special_visited", (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),       # no change anywhere
    ("coverage.special_insured", (0.05, 0.0, 0.1), (0.0, 0.0, 0.0)),      # rarely better: not robust
    ("cost.total_yuan", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),                # costs more: robustly worse
]


def write_hand_sensitivity(d: Path) -> Path:
    """A Sobol folder of two parameters and one scenario with the robustness rows above."""
    d.mkdir(parents=True)
    params = [{"key": "diffusion.q", "low": 0.1, "high": 0.5, "dist": "uniform", "kind": "assumed", "source": "Bass"},
              {"key": "activities.youth_per_lecture", "low": 235.147, "high": 240.719, "dist": "triangular",
               "mode": 237.933, "kind": "fitted", "source": "fit"}]
    meta = {"method": "sobol", "n": 8, "points": 32, "runs": 64, "baseline": BASE, "scenarios": [BASE, "s1"],
            "seeds": [1, 2], "scale": 0.01, "months": 12, "params": params, "package_version": "0.1.0",
            "git_commit": "abc1234", "indicators": [r[0] for r in HAND_ROBUSTNESS],
            "sentences": {"s1": "s1 vs baseline_2021: hand-written."}}
    (d / "sensitivity.json").write_text(json.dumps(meta))
    rows = []
    for ind, b, w in HAND_ROBUSTNESS:
        rows.append({"scenario": "s1", "baseline": BASE, "indicator": ind,
                     "better": "lower" if ind.startswith("cost") else "higher", "worlds": 32,
                     "p_better": b[0], "p_better_low": b[1], "p_better_high": b[2], "p_worse": w[0],
                     "p_worse_low": w[1], "p_worse_high": w[2], "mean_difference": 0.01 * (b[0] - w[0]),
                     "difference_p05": -0.01, "difference_p95": 0.02})
    pd.DataFrame(rows).to_csv(d / "robustness.csv", index=False)
    idx = []
    for scen, kind in ((BASE, "level"), ("s1", "paired_difference")):
        for p, s1, st in (("diffusion.q", 0.6, 0.7), ("activities.youth_per_lecture", 0.2, 0.3)):
            for ix, v in (("S1", s1), ("ST", st)):
                idx.append({"method": "sobol", "output": f"{scen}: coverage.youth_education", "scenario": scen,
                            "kind": kind, "indicator": "coverage.youth_education", "parameter": p, "index": ix,
                            "value": v, "ci_low": v - 0.1, "ci_high": v + 0.1})
    pd.DataFrame(idx).to_csv(d / "indices.csv", index=False)
    mf = [{"scenario": "s1", "baseline": BASE, "indicator": "coverage.family_health", "parameter": p, "evppi": e,
           "evpi": 0.004, "evppi_share": e / 0.004, "total_index": "ST", "total_index_value": st, "rank": k}
          for k, (p, e, st) in enumerate((("diffusion.q", 0.003, 0.7), ("activities.youth_per_lecture", 0.0, 0.3)),
                                         1)]
    pd.DataFrame(mf).to_csv(d / "measure_first.csv", index=False)
    return d


def test_robustness_threshold_at_its_edges_with_hand_written_numbers(tmp_path):
    d = write_hand_sensitivity(tmp_path / "sens")
    assert [pu.verdict(b[0], w[0]) for _, b, w in HAND_ROBUSTNESS] == [
        "robust_better", "not_robust", "robust_worse", "unchanged", "not_robust", "robust_worse"]
    sens = U.load_sensitivity(d)
    items = U.robustness_summary(sens, "en")
    assert items == [
        "s1: robustly better than baseline_2021 on youth reached by health education (90 % [80, 100]).",
        "s1: robustly worse than baseline_2021 on families aware of the birth policy (95 % [85, 100]).",
        "s1: not robust on families at a family health event (better in 89 % [70, 100], worse in 11 % [0, 30]), "
        "special families insured (better in 5 % [0, 10], worse in 0 % [0, 0]).",
        "s1: no change in any sampled world on special families visited.",
    ]
    header, rows = U.robustness_table(sens, "en")
    assert header[-1] == "conclusion" and [r[-1] for r in rows] == [
        "robustly better", "not robust", "robustly worse", "no change", "not robust", "robustly worse"]
    assert rows[0][4] == "+0.90 pp [-1.00, +2.00]" and rows[-1][1] == "total cost (yuan) (lower is better)"
    _, prow = U.parameter_table(sens, "en")
    assert prow[1] == ["youth per lecture", "activities.youth_per_lecture", "235.1 – 240.7",
                       "triangular, mode 237.9", "fitted", "fit"]
    items, _, mrows = U.measure_first_items(sens, "en")
    assert items == ["s1: measure word-of-mouth coefficient first; it carries 75 % of the 0.4 pp at stake on "
                     "families at a family health event."]
    assert mrows == [["s1", "families at a family health event", "0.4 pp", "word-of-mouth coefficient", "0.3 pp",
                      "75 %", "0.70", "1"]]  # parameters without EVPPI are left out


def test_memo_of_a_hand_written_sobol_folder(tmp_path):
    d = write_hand_sensitivity(tmp_path / "sens")
    paths = report.report([str(d)], out=tmp_path / "memo", log=lambda *a: None)
    assert paths["n_figures"] == 3
    md = paths["md"].read_text(encoding="utf-8")
    assert sorted(p.name for p in (tmp_path / "memo" / "figures").iterdir()) == [
        f"figu_{k}.{e}" for k in ("measure_first", "robustness", "sobol") for e in ("png", "svg")]
    # the index figure shows the indicator whose difference varies most (all equal here: the first)
    assert ("Under baseline_2021, word-of-mouth coefficient accounts for the largest share of the variance of youth "
            "reached by health education (ST 0.70); of the difference s1 minus baseline_2021, word-of-mouth "
            "coefficient does (ST 0.70).") in md
    assert ("Knowing word-of-mouth coefficient exactly would settle 75 % of what is at stake in s1's ranking on "
            "families at a family health event.") in md
    assert "Sobol variance-based analysis" in md and "- s1 vs baseline_2021: hand-written." in md


# --------------------------------------------------------------------------- figures and labels
def test_every_uncertain_parameter_has_a_short_label_in_both_languages():
    conf = yaml.safe_load((Path(S.__file__).parent / "conf" / "uncertainty.yaml").read_text(encoding="utf-8"))
    for key in conf["parameters"]:
        en, zh = uncertain_param_label(key, "en"), uncertain_param_label(key, "zh")
        assert en != key and len(en) <= 40, key
        assert re.search(r"[\u4e00-\u9fff]", zh), key
    assert uncertain_param_label("not.a_parameter") == "not.a_parameter"  # the dotted key is the fallback


def test_sobol_bars_and_measure_first_chart_draw_every_parameter(tmp_path):
    d = write_hand_sensitivity(tmp_path / "sens")
    sens = U.load_sensitivity(d)
    fig = pu.sobol_bars(sens.indices, "coverage.youth_education", baseline=BASE, scenario="s1")
    ax0, ax1 = fig.axes[:2]
    assert [t.get_text() for t in ax0.get_yticklabels()] == ["word-of-mouth coefficient", "youth per lecture"]
    widths = sorted(round(p.get_width(), 6) for p in ax0.patches)
    assert widths == [0.2, 0.3, 0.6, 0.7] and len(ax1.patches) == 4
    assert fig.get_suptitle().startswith("Sobol indices: share of the variance of youth reached")
    # a scenario whose ranking is the same everywhere: a note instead of bars
    mf = sens.measure_first.assign(evpi=0.0, evppi=0.0, evppi_share=0.0)
    fig = pu.measure_first_chart(mf)
    assert not fig.axes[0].patches
    assert any(text("uncertainty.f_first_none") in t.get_text().replace("\n", " ") for t in fig.axes[0].texts)
    paths = plots.save(pu.robustness_chart(sens.robustness, source="src"), tmp_path, "rob")
    assert all(p.stat().st_size > 1000 for p in paths)


@pytest.mark.slow
def test_sensitivity_folder_beside_scenario_runs(sens_dir, tmp_path_factory, tmp_path):
    import report_fixtures as rf

    outputs = rf.outputs(tmp_path_factory)
    assert report.main([str(outputs.scenarios), str(sens_dir), "--out", str(tmp_path)]) == 0
    md = (tmp_path / "memo.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", md, flags=re.M)
    assert headings.index("Figures") < headings.index("Uncertainty: how sure are these conclusions?") \
        < headings.index("Provenance")
    assert headings[0] == "Question" and "Headline differences" in headings
    # the uncertainty figures are numbered after the memo's own
    n_own = len([p for p in (tmp_path / "figures").glob("fig[0-9]*.png")])
    assert re.search(rf"### Figure {n_own + 1}\. Morris screening", md)
    assert len(re.findall(r"^### Figure \d+\.", md, flags=re.M)) == len(list((tmp_path / "figures").glob("*.png")))
    assert f"Sensitivity analysis read from {sens_dir}" in md
    assert np.all([(tmp_path / "figures" / f"figu_{k}.svg").is_file() for k in ("morris", "robustness")])
