"""outreach-sim-report on an optimisation (``outreach-sim-optimize --out``): the optimisation
section (the question, what could change, the best allocation against 2021, the verification on
fresh seeds, whether the budget, floor and targets hold, how much of the gain survives, the
response and frontier figures), the memo of an optimisation folder alone, an infeasible search,
bad optimisation folders, Chinese and escaping.

Fast tier: hand-written folders with exact numbers (no model runs) and one real infeasible search
(two trials at population scale 0.002, three months). Slow tier: real budget, target and pareto
searches (six trials, three fresh seeds), built once per module with the fast settings of
``tests/test_optimize.py``, and an optimisation beside scenario runs.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import matplotlib.image as mpimg
import pandas as pd
import pytest

from sim import optimize as O
from sim import plots, report
from sim.labels import indicator_label
from sim.plots_optimize import response_figure
from sim.report import optimize as RO
from sim.report.render import render_html, render_md

FAST = ["--search-scale", "0.002", "--verify-scale", "0.002", "--verify-seeds", "3", "--top", "2",
        "--search-seeds", "1", "--workers", "1", "months=3"]
BASE = "baseline_2021"
HEADING = "Optimisation: the best use of the money and posts"


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def _pp(m, lo=None, hi=None) -> str:
    head = f"{100 * m:+.2f} pp"
    return head if lo is None else f"{head} [{100 * lo:+.2f}, {100 * hi:+.2f}]"


def _m_yuan(m, lo, hi) -> str:
    return f"{m / 1e6:+,.1f} M yuan [{lo / 1e6:+,.1f}, {hi / 1e6:+,.1f}]"


def _diff(indicator: str, r) -> str:
    if indicator.startswith("cost."):
        return _m_yuan(r["mean_difference"], r["low"], r["high"])
    return _pp(r["mean_difference"], r["low"], r["high"])


def _level(indicator: str, v) -> str:
    return f"{v / 1e6:,.1f} M yuan" if indicator.startswith("cost.") else f"{100 * v:.2f} %"


def _value(x) -> str:
    if isinstance(x, str):
        return {"as_reported": "as reported (2021)", "need_based": "by need", "per_capita": "per capita"}.get(x, x)
    return f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.0f}"


def _row(*cells) -> str:
    return "| " + " | ".join(cells) + " |"


def check_verification_rows(md: str, d: Path) -> None:
    """Every indicator of the best allocation in verification.csv is a row of the memo's table:
    its mean, and its paired difference with the 90 % interval against each scenario."""
    meta = json.loads((d / "optimize.json").read_text())
    ver = pd.read_csv(d / "verification.csv")
    arm = f"trial_{meta['best']['trial']}"
    mine = ver[ver["allocation"] == arm]
    refs = list(dict.fromkeys(mine["against"]))
    assert refs == meta["spec"]["against"]
    assert f"| indicator | provenance | trial {meta['best']['trial']} (mean) | " + \
        " | ".join(f"difference from {r}" for r in refs) + " |" in md
    for ind, g in mine.groupby("indicator", sort=False):
        g = g.set_index("against")
        row = _row(RO.verified_indicator_label(ind), "predicted", _level(ind, g["allocation_mean"].iloc[0]),
                   *[_diff(ind, g.loc[r]) for r in refs])
        assert row in md, row
    assert "| objective (weighted mean coverage) | predicted |" in md
    for k in ("youth_education", "family_health"):
        assert f"| {indicator_label(k)} | predicted |" in md


def check_best_table(md: str, d: Path) -> None:
    meta = json.loads((d / "optimize.json").read_text())
    best = meta["best"]
    base = {v["key"]: v.get("base") for v in meta["spec"]["variables"]}
    assert f"| variable | 2021 value | optimum (trial {best['trial']}) |" in md
    for key, x in best["values"].items():
        label = RO.var_label(key)
        assert label != key or key not in base  # every variable of the spec has a label
        assert _row(label, _value(base.get(key, 0.0)), _value(x)) in md, key
    obj = best["objective_search"]
    assert _row("objective (%)", f"{100 * (obj - meta['search_gain']):.2f}", f"{100 * obj:.2f}") in md
    assert "| planned cost (M yuan a year) | " in md and f" | {best['planned_cost_yuan_search'] / 1e6:,.1f} |" in md


def check_survival(md: str, d: Path) -> None:
    meta = json.loads((d / "optimize.json").read_text())
    ver = pd.read_csv(d / "verification.csv")
    r = ver[(ver["allocation"] == f"trial_{meta['best']['trial']}") & (ver["against"] == BASE)
            & (ver["indicator"] == "objective")].iloc[0]
    assert r["mean_difference"] == pytest.approx(meta["verified_gain"])
    if meta["search_gain"] > 0:
        assert (f"the search found {_pp(meta['search_gain'])} in the objective over the 2021 allocation; on the "
                f"fresh seeds the gain over baseline_2021 is {_pp(r['mean_difference'], r['low'], r['high'])}, so "
                f"{100 * meta['survival']:.0f} % of it survives") in md
    else:
        assert f"The search found no gain over the 2021 allocation in the objective ({_pp(meta['search_gain'])})" in md


def check_figures(out: Path, md: str, names: list[str]) -> None:
    """The figures are in the memo's folder (PNG and SVG), linked in memo.md with a caption and
    embedded in memo.html."""
    for n, name in enumerate(names, 1):
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
        assert (out / "figures" / f"{name}.svg").stat().st_size > 1000
        assert re.search(rf"### Figure {n}\. .+\n\n!\[.+\]\(figures/{name}\.png\)\n\n.+\. \(\[SVG\]\(figures/"
                         rf"{name}\.svg\)\)", md), name
    page = (out / "memo.html").read_text(encoding="utf-8")
    srcs = re.findall(r'<img src="([^"]+)"', page)
    assert len(srcs) == len(names) == len(re.findall("<figcaption>", page))
    for src in srcs:
        img = mpimg.imread(io.BytesIO(base64.b64decode(src.split(",", 1)[1])), format="png")
        assert img.shape[0] > 500 and img[..., :3].std() > 0.02


# --------------------------------------------------------------------------- hand-written folders
VARIABLES = [
    {"key": "funding.share_youth_lectures", "low": 0.2, "high": 0.6, "base": 0.4},
    {"key": "funding.share_family_health", "low": 0.175, "high": 0.525, "base": 0.35},
    {"key": "funding.share_policy_events", "low": 0.075, "high": 0.225, "base": 0.15},
    {"key": "funding.share_volunteers", "low": 0.05, "high": 0.15, "base": 0.1},
    {"key": "funding.policy", "choices": ["as_reported", "need_based", "per_capita"], "base": "as_reported"},
    {"key": "staffing.county_staff", "low": 2.0, "high": 6.0, "base": 4.0},
]
BEST = {"funding.share_youth_lectures": 0.45, "funding.share_family_health": 0.3, "funding.share_policy_events": 0.15,
        "funding.share_volunteers": 0.1, "funding.policy": "need_based", "staffing.county_staff": 3.25}
RUNNER_UP = {**BEST, "staffing.county_staff": 5.5, "funding.policy": "per_capita"}
INDICATORS = ("objective", "coverage.youth_education", "coverage.family_health", "cost.total_yuan",
              "equity.youth_education.county_coverage_min")


def _verification_rows(arm: str, shift: float) -> list[dict]:
    rows = []
    for ref, off in ((BASE, 0.0), ("need_based", -0.004)):
        for k, ind in enumerate(INDICATORS):
            scale = 1e6 if ind.startswith("cost.") else 0.01
            m = (1.5 + k * 0.3 + shift) * scale + off * (scale / 0.01)
            rows.append({"allocation": arm, "against": ref, "indicator": ind, "mean_difference": m,
                         "low": m - 0.5 * scale, "high": m + 0.5 * scale, "level": 0.9, "seeds": 3, "scale": 0.02,
                         "allocation_mean": (0.3 + 0.01 * k) if scale < 1 else 460e6,
                         "against_mean": (0.285 + 0.01 * k) if scale < 1 else 455e6})
    return rows


def write_hand_optimisation(d: Path, mode: str = "budget", status: str = "ok") -> Path:
    """A search of six variables with exact numbers: best trial 7, runner-up trial 9; in pareto
    mode a frontier of three trials; infeasible: no best, the closest trial 9."""
    d.mkdir(parents=True)
    spec = {"variables": VARIABLES, "weights": {"youth_education": 1.0, "family_health": 2.0},
            "equity_floor": {"youth_education": "baseline"},
            "targets": {"youth_education": 0.3} if mode == "target" else {}, "extra_money_max_yuan": 1e8,
            "budget_yuan": None, "search_scale": 0.01, "search_seeds": [1, 2], "verify_scale": 0.02,
            "verify_seeds": [1001, 1002, 1003], "top": 2, "against": [BASE, "need_based"], "bound": 0.5,
            "path": "hand.yaml"}
    meta = {"mode": mode, "spec": spec, "trials": 20, "feasible_trials": 12, "search_seconds": 90.0,
            "search_runs": 40, "budget_yuan_by_seed": {"1": 500e6, "2": 502e6},
            "equity_floors_search": {"youth_education": 0.05}, "package_version": "0.1.0", "seconds": 123.4}
    trials = pd.DataFrame([
        {"trial": 7, "label": "", **{f"var.{k}": v for k, v in BEST.items()}, "objective": 0.42, "equity": 0.06,
         "planned_cost_yuan": 501e6, "feasible": True, "constraint.budget": 0.0,
         "constraint.floor.youth_education": -0.01},
        {"trial": 9, "label": "", **{f"var.{k}": v for k, v in RUNNER_UP.items()}, "objective": 0.415,
         "equity": 0.07, "planned_cost_yuan": 501e6, "feasible": True, "constraint.budget": 0.0,
         "constraint.floor.youth_education": -0.02},
        {"trial": 0, "label": "2021 allocation",
         **{f"var.{v['key']}": v["base"] for v in VARIABLES}, "objective": 0.40, "equity": 0.05,
         "planned_cost_yuan": 501e6, "feasible": True, "constraint.budget": 0.0,
         "constraint.floor.youth_education": 0.0},
        {"trial": 3, "label": "", **{f"var.{k}": v for k, v in RUNNER_UP.items()}, "objective": 0.41,
         "equity": 0.08, "planned_cost_yuan": 530e6, "feasible": False, "constraint.budget": 29.0,
         "constraint.floor.youth_education": -0.03},
    ])
    if status == "infeasible":
        trials["feasible"] = False
        trials["constraint.floor.youth_education"] = [0.2, 0.125, 0.3, 0.25]
        meta["spec"]["equity_floor"] = {"youth_education": 0.5}
        meta.update(status="infeasible", feasible_trials=0, summary=(
            "no allocation within the bounds met every constraint in 20 trials; the closest: trial 9 "
            "(floor.youth_education short by 0.1250; planned cost 501.0 M yuan, objective 0.4150). Widen the bounds, "
            "lower the floor or target, or raise the budget."))
        trials.to_parquet(d / "trials.parquet", index=False)
        (d / "optimize.json").write_text(json.dumps(meta))
        return d
    trials.to_parquet(d / "trials.parquet", index=False)
    meta.update(status="ok", best={"trial": 7, "values": BEST, "objective_search": 0.42,
                                   "planned_cost_yuan_search": 501e6},
                search_gain=0.02, verified_gain=0.015, survival=0.75,
                verification={
                    "trial_7": {"planned_cost_yuan": [500e6, 502e6, 504e6], "budget_gap_yuan": [10e6, 12e6, -0.2],
                                "booked_cost_yuan": [450e6, 460e6, 470e6], "floors": {"youth_education": 0.06},
                                "targets": {"youth_education": 0.31} if mode == "target" else {}},
                    "trial_9": {"planned_cost_yuan": [500e6, 502e6, 504e6], "budget_gap_yuan": [1e6, 2e6, 3e6],
                                "booked_cost_yuan": [450e6, 460e6, 470e6], "floors": {"youth_education": 0.05},
                                "targets": {}},
                    "_floors": {"youth_education": 0.055},
                    "_budgets": {"1001": 500e6, "1002": 502e6, "1003": 504e6}},
                budget_check={"planned_over_budget_yuan": 0.2, "booked_minus_budget_yuan_max": -34e6},
                summary="budget: hand-written")
    if mode == "target":
        meta["verification"]["trial_7"]["budget_gap_yuan"] = []
        del meta["budget_check"]
    (d / "optimize.json").write_text(json.dumps(meta))
    ver = _verification_rows("trial_7", 0.0) + _verification_rows("trial_9", -1.0)
    ver[0]["mean_difference"], ver[0]["low"], ver[0]["high"] = 0.015, 0.01, 0.02  # objective vs baseline_2021
    pd.DataFrame(ver).to_csv(d / "verification.csv", index=False)
    curves = []
    for var, ch in O.CHANNEL_OF_SHARE.items():
        for k, x in enumerate((0.1, 0.2, 0.3)):
            gain = 0.02 if ch == "family_health_events" else 0.005
            curves.append({"variable": var, "channel": ch, "share": x, "channel_money_yuan": 1e7 * (k + 1),
                           "objective": 0.40 + gain * k, "feasible": True, "optimum_share": 0.2,
                           "coverage.youth_education": 0.1, "coverage.family_health": 0.2,
                           "coverage.policy_awareness": 0.05})
    curves = pd.DataFrame(curves)
    curves.to_csv(d / "response.csv", index=False)
    response_figure(curves, SimpleNamespace(weights=spec["weights"], search_scale=0.01, search_seeds=[1, 2]),
                    d / "figures" / "response")
    if mode == "pareto":
        pd.DataFrame([{"trial": 7, "objective": 0.42, "equity": 0.06, "planned_cost_yuan": 501e6},
                      {"trial": 9, "objective": 0.415, "equity": 0.07, "planned_cost_yuan": 501e6}]) \
            .to_csv(d / "pareto.csv", index=False)
    return d


@pytest.fixture(scope="module")
def hand(tmp_path_factory) -> Path:
    return write_hand_optimisation(tmp_path_factory.mktemp("hand") / "budget")


@pytest.fixture(scope="module")
def hand_memo(hand, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("memo-hand")
    assert report.main([str(hand), "--out", str(out)]) == 0
    return out, (out / "memo.md").read_text(encoding="utf-8")


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


# --------------------------------------------------------------------------- the section, exact numbers
def test_memo_of_an_optimisation_folder_alone(hand_memo, hand):
    out, md = hand_memo
    assert re.findall(r"^## (.+)$", md, flags=re.M) == ["Question", HEADING, "Provenance"]
    assert "*Hunan family planning association outreach: the best use of the 2021 total*" in md
    assert ("Within the 2021 total (a planned cost of 501.0 M yuan a year, what baseline_2021 plans), which "
            "allocation of the association's money and posts gives the highest objective, with no county below "
            "baseline_2021's lowest county on youth reached by health education (5.00 % on the search seeds)?") in md
    assert ("The objective is the weighted mean of 2 coverage indicators: youth reached by health education ×1 and "
            "families at a family health event ×2.") in md
    assert (f"The search (folder {hand}) tried 20 allocations, 12 of which met every constraint, the first being the "
            "2021 allocation; each ran on search seeds 1, 2 at population scale 0.01 (40 runs, 1.5 min; Optuna "
            "TPE).") in md
    assert "every number in this section is predicted" in md
    assert (f"Optimisation read from {hand}: budget mode, 20 trials on search seeds 1, 2 at population scale 0.01 "
            "(40 runs), verified on seeds 1001-1003 at population scale 0.02; package version 0.1.0; spec hand.yaml; "
            "123 s in all.") in md
    assert (out / "memo.html").is_file()


def test_what_could_change_and_the_best_allocation_against_2021(hand_memo, hand):
    _, md = hand_memo
    assert "| variable | config key | bounds | 2021 value |" in md
    assert _row("share of county outreach money: youth lectures", "funding.share_youth_lectures", "0.2 – 0.6",
                "0.4") in md
    assert _row("county allocation rule", "funding.policy", "as reported (2021) / by need / per capita",
                "as reported (2021)") in md
    assert _row("posts per county association", "staffing.county_staff", "2 – 6", "4") in md
    check_best_table(md, hand)
    assert _row("county allocation rule", "as reported (2021)", "by need") in md
    assert _row("objective (%)", "40.00", "42.00") in md and _row("planned cost (M yuan a year)", "501.0",
                                                                  "501.0") in md
    assert ("Planned cost of the optimum: 501.0 M yuan a year on the search seeds and 502.0 M yuan on the fresh seeds "
            "(mean), the whole budget: what the allocation leaves goes to the county outreach money (7.3 M yuan a "
            "year on the fresh seeds).") in md


def test_verification_checks_and_survival_match_the_files(hand_memo, hand):
    _, md = hand_memo
    assert ("Verification: trial 7 run again on 3 fresh seeds (1001-1003; never the search seeds) at population scale "
            "0.02, paired seed by seed with baseline_2021 and need_based: the mean paired difference with its 90 % "
            "t-interval in brackets.") in md
    check_verification_rows(md, hand)
    assert _row("objective (weighted mean coverage)", "predicted", "30.00 %", "+1.50 pp [+1.00, +2.00]",
                "+1.10 pp [+0.60, +1.60]") in md
    assert _row("total cost", "predicted", "460.0 M yuan", "+2.4 M yuan [+1.9, +2.9]",
                "+2.0 M yuan [+1.5, +2.5]") in md
    assert "- Runner-up trial 9: objective +0.50 pp [+0.00, +1.00] against baseline_2021." in md
    assert ("- budget: the planned cost is at most 0 yuan over the budget on any seed: holds; the booked cost (what "
            "the runs spent) is at least 34.0 M yuan below the budget.") in md
    assert ("- equity floor on youth reached by health education: the lowest county reaches 6.00 % (mean over the "
            "seeds) against a floor of 5.50 % (baseline_2021's lowest county on these seeds): holds.") in md
    check_survival(md, hand)
    assert "so 75 % of it survives" in md


def test_response_figure_is_copied_and_embedded_with_a_caption(hand_memo, hand):
    out, md = hand_memo
    check_figures(out, md, ["figo_response"])
    assert (out / "figures" / "figo_response.png").read_bytes() == (hand / "figures" / "response.png").read_bytes()
    assert ("At the optimum, the objective moves most with the money for family health events: from 40.00 % to "
            "44.00 % as its share goes from 0.10 to 0.30") in md


def test_response_figure_is_drawn_from_response_csv_when_the_picture_is_missing(hand, tmp_path):
    d = _copy(hand, tmp_path / "opt")
    shutil.rmtree(d / "figures")
    paths = report.report([str(d)], out=tmp_path / "memo", log=lambda *a: None)
    assert paths["n_figures"] == 1
    assert (tmp_path / "memo" / "figures" / "figo_response.png").stat().st_size > 1000


def test_target_mode_states_the_targets_and_whether_they_hold(tmp_path):
    d = write_hand_optimisation(tmp_path / "target", mode="target")
    paths = report.report([str(d)], out=tmp_path / "memo", log=lambda *a: None)
    md = paths["md"].read_text(encoding="utf-8")
    assert ("What is the least planned yearly cost of an allocation whose coverage reaches 30.00 % on youth reached by "
            "health education (mean over the search seeds), with no county below") in md
    assert "- target on youth reached by health education: 31.00 % (mean over the seeds) against 30.00 %: holds." in md
    assert "- budget:" not in md and "The search minimises the planned cost" in md
    assert ("Planned cost of the optimum, the least found: 501.0 M yuan a year on the search seeds and 502.0 M yuan on "
            "the fresh seeds (mean), against 501.0 M yuan for the 2021 allocation.") in md


def test_pareto_mode_has_the_frontier_table_and_figure(tmp_path):
    d = write_hand_optimisation(tmp_path / "pareto", mode="pareto")
    paths = report.report([str(d)], out=tmp_path / "memo", log=lambda *a: None)
    md = paths["md"].read_text(encoding="utf-8")
    assert "how much equity (the lowest county's youth reached by health education) must be given up" in md
    assert "The frontier (pareto.csv) holds 2 of the 12 feasible trials" in md
    assert "| trial | objective (%) | lowest county: youth reached by health education (%) | planned cost" in md
    assert _row("7", "42.00", "6.00", "501.0") in md and _row("9", "41.50", "7.00", "501.0") in md
    check_figures(tmp_path / "memo", md, ["figo_response", "figo_pareto"])
    assert ("The frontier holds 2 of 3 feasible trials, from an objective of 42.00 % with the lowest county at 6.00 % "
            "to 41.50 % with it at 7.00 %; the 2021 allocation is marked.") in md


def test_an_infeasible_search_gives_the_message_and_the_closest_trial(tmp_path):
    d = write_hand_optimisation(tmp_path / "inf", status="infeasible")
    paths = report.report([str(d)], out=tmp_path / "memo", log=lambda *a: None)
    md = paths["md"].read_text(encoding="utf-8")
    meta = json.loads((d / "optimize.json").read_text())
    assert f"No allocation met every constraint. The optimiser says: {meta['summary']}" in md
    assert "| variable | 2021 value | closest (trial 9) |" in md
    assert _row("posts per county association", "4", "5.5") in md
    assert _row("shortfall: equity floor on youth reached by health education", "-", "12.50 pp") in md
    assert "Verification:" not in md and paths["n_figures"] == 0
    assert re.findall(r"^## (.+)$", md, flags=re.M) == ["Question", HEADING, "Provenance"]


def test_a_real_infeasible_search_names_the_closest_trial(tmp_path, cache_dir, monkeypatch, capsys):
    monkeypatch.setenv("OUTREACH_SIM_CACHE", str(cache_dir))
    d = tmp_path / "opt"
    assert O.main(["--mode", "budget", "--trials", "2", "--out", str(d), "--floor", "youth_education=0.99",
                   *FAST]) == 1
    capsys.readouterr()
    assert report.main([str(d), "--out", str(tmp_path / "memo")]) == 0
    md = (tmp_path / "memo" / "memo.md").read_text(encoding="utf-8")
    meta = json.loads((d / "optimize.json").read_text())
    assert meta["status"] == "infeasible" and meta["summary"] in md
    trial = re.search(r"the closest: trial (\d+)", meta["summary"])[1]
    assert f"| variable | 2021 value | closest (trial {trial}) |" in md
    assert "with no county below 99.00 % on youth reached by health education?" in md
    assert "shortfall: equity floor on youth reached by health education" in md


# --------------------------------------------------------------------------- bad input, escaping, options
def _bad_json(d: Path, content):
    (d / "optimize.json").write_text(content if isinstance(content, str) else json.dumps(content))


def _edit_json(d: Path, **changes):
    meta = json.loads((d / "optimize.json").read_text())
    meta.update(changes)
    _bad_json(d, meta)


@pytest.mark.parametrize("damage, words", [
    (lambda d: _bad_json(d, "garbage {"), "optimize.json: not readable JSON"),
    (lambda d: _bad_json(d, "[1, 2]"), "optimize.json: must be a JSON object"),
    (lambda d: _edit_json(d, mode="best"), "mode 'best' must be one of ['budget', 'target', 'pareto']"),
    (lambda d: _edit_json(d, status="running"), "status 'running' must be one of ['ok', 'infeasible']"),
    (lambda d: _edit_json(d, spec={"variables": "all"}), "spec.variables must be a list"),
    (lambda d: _edit_json(d, best=None), "status ok but no best trial"),
    (lambda d: (d / "verification.csv").unlink(), "no verification.csv (status ok"),
    (lambda d: pd.read_csv(d / "verification.csv").drop(columns="high").to_csv(d / "verification.csv"),
     "missing column(s) high"),
    (lambda d: pd.read_csv(d / "verification.csv").query("allocation != 'trial_7'").to_csv(d / "verification.csv"),
     "no rows for trial_7"),
    (lambda d: (d / "trials.parquet").write_text("not parquet"), "trials.parquet: not a readable parquet table"),
], ids=["json-garbage", "json-list", "mode", "status", "spec", "no-best", "no-verification", "missing-column",
        "no-best-rows", "bad-trials"])
def test_bad_optimisation_folder_is_one_error_line_and_writes_nothing(hand, tmp_path, capsys, damage, words):
    d = _copy(hand, tmp_path / "opt")
    damage(d)
    assert report.main([str(d)]) == 2
    assert words in _one_error_line(capsys)
    assert not (d / "report").exists()


def test_bad_optimisation_folder_beside_runs_writes_nothing(hand, tmp_path, capsys):
    import report_fixtures as rf

    runs = rf.hand_built_runs(tmp_path / "runs")
    d = _copy(hand, tmp_path / "opt")
    (d / "verification.csv").unlink()
    assert report.main([str(runs), str(d), "--out", str(tmp_path / "memo")]) == 2
    assert "no verification.csv" in _one_error_line(capsys)
    assert not (tmp_path / "memo").exists()


def test_baseline_the_verification_did_not_run_is_one_error_line(hand, tmp_path, capsys):
    assert report.main([str(hand), "--baseline", "budget_cut_20", "--out", str(tmp_path / "a")]) == 2
    assert "was verified against baseline_2021, need_based" in _one_error_line(capsys)
    assert not (tmp_path / "a").exists()


def test_text_from_the_files_is_escaped(tmp_path):
    d = write_hand_optimisation(tmp_path / "inf", status="infeasible")
    meta = json.loads((d / "optimize.json").read_text())
    meta["summary"] = "<script>alert(1)</script>"
    meta["spec"]["variables"][4]["base"] = '<img src=x onerror="alert(2)">'
    (d / "optimize.json").write_text(json.dumps(meta))
    o = RO.load_optimisation(d)
    memo = RO.build_optimisation_memo([RO.Part(o)], "en")
    md, page = render_md(memo, tmp_path), render_html(memo)
    assert "<script" not in md and "<img" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "<script" not in page and "<img src=x" not in page


def test_formatting_helpers():
    assert RO.difference_text("objective", 0.0035, 0.0025, 0.0046) == "+0.35 pp [+0.25, +0.46]"
    assert RO.difference_text("cost.total_yuan", -6.1e6, float("nan"), float("nan")) == "-6.1 M yuan"
    assert RO.level_text("coverage.youth_education", 0.0493) == "4.93 %"
    assert RO.value_text(5336255.3) == "5,336,255" and RO.value_text(0.380217) == "0.3802"
    assert RO.value_text("need_based") == "by need" and RO.value_text("other") == "other"
    assert RO.verified_indicator_label("equity.special_visited.county_coverage_min") == \
        "lowest county: special families visited"


@pytest.mark.requires_system("CJK font")
def test_memo_of_an_optimisation_folder_in_chinese(hand, tmp_path):
    if plots.cjk_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    assert report.main([str(hand), "--lang", "zh", "--out", str(tmp_path)]) == 0
    md = (tmp_path / "memo.md").read_text(encoding="utf-8")
    assert re.findall(r"^## (.+)$", md, flags=re.M) == ["问题", "优化：经费和岗位的最佳配置", "来源与可重复性"]
    assert "| 变量 | 配置项 | 范围 | 2021年取值 |" in md and "| 县级分配规则 | funding.policy |" in md
    assert "| 指标 | 来源类型 | 试验 7（均值） | 与 baseline_2021 之差 | 与 need_based 之差 |" in md
    assert "| 目标值（覆盖率加权平均） | 预测 | 30.00 % | +1.50 个百分点 [+1.00, +2.00] |" in md
    assert '<html lang="zh-CN">' in (tmp_path / "memo.html").read_text(encoding="utf-8")


def test_optimisation_beside_a_sensitivity_folder(hand, tmp_path):
    from test_report_uncertainty import write_hand_sensitivity

    sens = write_hand_sensitivity(tmp_path / "sens")
    paths = report.report([str(hand), str(sens)], out=tmp_path / "memo", log=lambda *a: None)
    md = paths["md"].read_text(encoding="utf-8")
    assert re.findall(r"^## (.+)$", md, flags=re.M) == [
        "Question", "Uncertainty: how sure are these conclusions?", HEADING, "Provenance"]
    assert paths["n_figures"] == 4
    assert re.search(r"### Figure 4\. Response curves", md)  # after the three sensitivity figures
    assert f"Optimisation read from {hand}" in md and f"Sensitivity analysis read from {sens}" in md


# --------------------------------------------------------------------------- real searches (slow)
@pytest.fixture(scope="module")
def real(tmp_path_factory, cache_dir) -> dict[str, Path]:
    """Real budget, target and pareto searches: six trials on one seed, three fresh seeds, two picks."""
    root = tmp_path_factory.mktemp("optimize")
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OUTREACH_SIM_CACHE", str(cache_dir))
        for mode, extra in (("budget", []), ("target", ["--target", "youth_education=0.03"]), ("pareto", [])):
            d = root / mode
            assert O.main(["--mode", mode, *extra, "--trials", "6", "--out", str(d), *FAST]) == 0, mode
            out[mode] = d
    return out


def _memo(d: Path, out: Path) -> str:
    assert report.main([str(d), "--out", str(out)]) == 0
    return (out / "memo.md").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["budget", "target", "pareto"])
def test_memo_of_a_real_search_matches_its_files(real, tmp_path, mode):
    d = real[mode]
    md = _memo(d, tmp_path)
    meta = json.loads((d / "optimize.json").read_text())
    assert re.findall(r"^## (.+)$", md, flags=re.M) == ["Question", HEADING, "Provenance"]
    question = {"budget": "which allocation of the association's money and posts gives the highest objective",
                "target": "What is the least planned yearly cost of an allocation whose coverage reaches 3.00 % on "
                          "youth reached by health education",
                "pareto": "what is the frontier of allocations no other beats on both"}[mode]
    assert question in md
    if mode != "target":
        budget = sum(meta["budget_yuan_by_seed"].values()) / len(meta["budget_yuan_by_seed"])
        assert f"a planned cost of {budget / 1e6:,.1f} M yuan a year" in md
    assert f"tried {meta['trials']} allocations, {meta['feasible_trials']} of which met every constraint" in md
    check_best_table(md, d)
    check_verification_rows(md, d)
    check_survival(md, d)
    c = meta["verification"][f"trial_{meta['best']['trial']}"]
    floor = meta["verification"]["_floors"]["youth_education"]
    ok = "holds" if c["floors"]["youth_education"] >= floor - 1e-12 else "does NOT hold"
    assert (f"- equity floor on youth reached by health education: the lowest county reaches "
            f"{100 * c['floors']['youth_education']:.2f} % (mean over the seeds) against a floor of "
            f"{100 * floor:.2f} % (baseline_2021's lowest county on these seeds): {ok}.") in md
    if mode == "target":
        v = c["targets"]["youth_education"]
        assert (f"- target on youth reached by health education: {100 * v:.2f} % (mean over the seeds) against "
                f"3.00 %: {'holds' if v >= 0.03 else 'does NOT hold'}.") in md
    else:
        over = meta["budget_check"]["planned_over_budget_yuan"]
        assert f"- budget: the planned cost is at most {over:,.0f} yuan over the budget on any seed: holds" in md
    figures = ["figo_response"] + (["figo_pareto"] if mode == "pareto" else [])
    check_figures(tmp_path, md, figures)
    if mode == "pareto":
        front = pd.read_csv(d / "pareto.csv")
        for _, r in front.iterrows():
            assert _row(str(int(r["trial"])), f"{100 * r['objective']:.2f}", f"{100 * r['equity']:.2f}",
                        f"{r['planned_cost_yuan'] / 1e6:,.1f}") in md


@pytest.mark.slow
def test_optimisation_beside_scenario_runs(real, tmp_path_factory, tmp_path):
    import report_fixtures as rf

    outputs = rf.outputs(tmp_path_factory)
    assert report.main([str(outputs.scenarios), str(real["pareto"]), "--out", str(tmp_path)]) == 0
    md = (tmp_path / "memo.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", md, flags=re.M)
    assert headings[0] == "Question" and "Headline differences" in headings
    assert headings.index("Figures") < headings.index(HEADING) < headings.index("Provenance")
    # the optimisation's figures are numbered after the memo's own
    n_own = len(list((tmp_path / "figures").glob("fig[0-9]*.png")))
    assert re.search(rf"### Figure {n_own + 1}\. Response curves", md)
    assert re.search(rf"### Figure {n_own + 2}\. The coverage/equity frontier", md)
    assert len(re.findall(r"^### Figure \d+\.", md, flags=re.M)) == len(list((tmp_path / "figures").glob("*.png")))
    assert f"Optimisation read from {real['pareto']}: pareto mode" in md
    check_verification_rows(md, real["pareto"])
