"""outreach-sim-compare (sim/compare.py): the runs table, paired differences, provenance and the
cost per additional family reached, on hand-built run folders with exact expected values; and that
reading runs needs no engine (sim/runs.py, sim/analysis.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import report_fixtures as rf

from sim.analysis import UNDEFINED, cost_per_additional_family, paired_runs
from sim.compare import compare, format_compare, reach_column
from sim.compare import main as compare_main
from sim.runs import is_indicator, provenance_key, runs_table


def _fake_run(root: Path, name: str, scenario: str, seed: int, cov: float, extra: dict | None = None):
    """A run with a minimal summary (as older runs wrote: no costs, counts or provenance)."""
    s = {"scenario": scenario, "seed": seed, "scale": 0.01, "months": 12, "config_hash": name,
         "coverage": {"youth_education": cov}, "reported": {"youth_lectures": 100 * cov},
         "execution_rate": 0.9, "runtime_s": 1.0}
    rf.write_hand_run(root, name, s, extra)


def test_compare_exact_values_on_a_hand_built_sweep(tmp_path, capsys):
    root = tmp_path / "sweep"
    base = {1: 0.20, 2: 0.30, 3: 0.40}
    plus = {1: 0.25, 2: 0.36, 3: 0.47}
    for seed in base:
        _fake_run(root, f"b{seed}", "baseline_2021", seed, base[seed])
        _fake_run(root, f"p{seed}", "budget_plus_20", seed, plus[seed])
    (root / "broken" / ".hydra").mkdir(parents=True)
    (root / "broken" / ".hydra" / "overrides.yaml").write_text("- seed=9\n")
    (root / "broken" / "failed.json").write_text("{}")
    (root / "unfinished" / ".hydra").mkdir(parents=True)
    (root / "unfinished" / ".hydra" / "overrides.yaml").write_text("- seed=8\n")
    df, missing, failed = runs_table([root])
    assert len(df) == 6 and [p.name for p in missing] == ["unfinished"] and [p.name for p in failed] == ["broken"]
    cmp = compare(df, "scenario=baseline_2021")
    row = cmp[(cmp["scenario"] == "budget_plus_20") & (cmp["indicator"] == "coverage.youth_education")].iloc[0]
    assert row["n"] == 3 and row["n_pairs"] == 3
    assert row["mean"] == pytest.approx(np.mean(list(plus.values())))
    assert row["median"] == pytest.approx(0.36)
    assert row["diff_mean"] == pytest.approx(np.mean([0.05, 0.06, 0.07]))
    assert row["diff_p5"] == pytest.approx(np.percentile([0.05, 0.06, 0.07], 5))
    assert row["diff_p95"] == pytest.approx(np.percentile([0.05, 0.06, 0.07], 95))
    b = cmp[(cmp["scenario"] == "baseline_2021") & (cmp["indicator"] == "coverage.youth_education")].iloc[0]
    assert b["is_baseline"] and b["diff_mean"] == 0.0
    # summaries without costs and counts (older runs): no cost per family, and the note says why
    assert np.isnan(row["cost_per_additional_family_yuan"])
    assert row["cost_per_additional_family_note"] == "no cost.total_yuan in the summaries"
    assert row["provenance"] == ""
    assert compare_main([str(root)]) == 0
    out = capsys.readouterr().out
    assert "read 6 complete runs in 2 groups; 1 incomplete, 1 failed" in out
    written = pd.read_parquet(root / "compare.parquet")
    assert len(written) == len(cmp) and (root / "compare.csv").is_file()


def test_compare_pairs_within_swept_parameters(tmp_path):
    root = tmp_path / "sweep"
    for m in ("0.8", "1.2"):
        for seed in (1, 2):
            _fake_run(root, f"b{m}{seed}", "baseline_2021", seed, 0.1 * seed + float(m), {"funding.multiplier": m})
            _fake_run(root, f"x{m}{seed}", "need_based", seed, 0.1 * seed + float(m) + 0.01, {"funding.multiplier": m})
    cmp = compare(runs_table([root])[0], "scenario=baseline_2021")
    rows = cmp[(cmp["scenario"] == "need_based") & (cmp["indicator"] == "coverage.youth_education")]
    assert len(rows) == 2
    assert rows["diff_mean"].to_numpy() == pytest.approx([0.01, 0.01])
    assert set(rows["n_pairs"]) == {2}


def test_pairing_when_only_some_runs_sweep_a_parameter(tmp_path):
    # scenario runs beside a funding sweep of the baseline: the scenario runs have no funding value
    # (NaN), so they pair with the baseline runs that have none either, seed by seed
    root = tmp_path / "runs"
    for seed in (1, 2):
        _fake_run(root, f"b{seed}", "baseline_2021", seed, 0.1 * seed)
        _fake_run(root, f"p{seed}", "budget_plus_20", seed, 0.1 * seed + 0.05)
        _fake_run(root, f"f{seed}", "baseline_2021", seed, 0.1 * seed + 0.2, {"funding.multiplier": "1.2"})
    runs = runs_table([root])[0]
    p = paired_runs(runs, "baseline_2021")
    assert list(p["group"]) == ["scenario=budget_plus_20"] * 2 and list(p["seed"]) == list(p["seed_base"])
    assert (p["coverage.youth_education"] - p["coverage.youth_education_base"]).to_numpy() == pytest.approx([0.05] * 2)
    assert p["param.funding.multiplier_base"].isna().all()
    cmp = compare(runs, "scenario=baseline_2021").set_index(["group", "indicator"])
    assert cmp.loc[("scenario=budget_plus_20", "coverage.youth_education"), "diff_mean"] == pytest.approx(0.05)
    # only the group named exactly as the baseline is the baseline: the funding group is not
    f12 = cmp.loc[("scenario=baseline_2021,funding.multiplier=1.2", "coverage.youth_education")]
    assert not f12["is_baseline"] and f12["n_pairs"] == 0
    assert cmp.loc[("scenario=baseline_2021", "coverage.youth_education"), "is_baseline"]
    # a bare scenario name is the same baseline as scenario=NAME
    assert compare(runs, "baseline_2021").equals(compare(runs, "scenario=baseline_2021"))


def test_compare_bad_input(tmp_path, capsys):
    assert compare_main([str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert compare_main([str(tmp_path)]) == 2
    assert "no complete runs" in capsys.readouterr().err


def _one_line_error(capsys, *words) -> str:
    cap = capsys.readouterr()
    err = cap.err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err, err
    for w in words:
        assert w in err, err
    return err


def test_baseline_that_matches_no_run_is_an_error_and_keeps_compare_csv(tmp_path, capsys):
    root = tmp_path / "sweep"
    for seed in (1, 2):
        _fake_run(root, f"b{seed}", "baseline_2021", seed, 0.1 * seed)
        _fake_run(root, f"p{seed}", "budget_plus_20", seed, 0.1 * seed + 0.05)
    assert compare_main([str(root)]) == 0
    before = (root / "compare.csv").read_bytes()
    capsys.readouterr()
    assert compare_main([str(root), "--baseline", "scenario=nope"]) == 2
    _one_line_error(capsys, "--baseline scenario=nope", "scenario=baseline_2021; scenario=budget_plus_20")
    assert compare_main([str(root), "--baseline", "nope"]) == 2
    _one_line_error(capsys, "no run matches")
    assert (root / "compare.csv").read_bytes() == before


def test_out_that_cannot_be_written_is_one_line(tmp_path, capsys):
    root = tmp_path / "sweep"
    _fake_run(root, "b1", "baseline_2021", 1, 0.1)
    (tmp_path / "file").write_text("keep")
    assert compare_main([str(root), "--out", str(tmp_path / "file")]) == 2
    _one_line_error(capsys, "is a file")
    assert (tmp_path / "file").read_text() == "keep"
    assert compare_main([str(root), "--out", str(tmp_path / "file" / "sub")]) == 2
    _one_line_error(capsys, "cannot make the folder")
    assert not list(tmp_path.glob("**/compare.csv"))


@pytest.mark.parametrize("content", ["[]", "42", "not json {", b"\xff\xfe\x00garbage"])
def test_summary_that_is_no_object_counts_as_incomplete(tmp_path, capsys, content):
    root = tmp_path / "sweep"
    _fake_run(root, "b1", "baseline_2021", 1, 0.1)
    bad = rf.write_hand_run(root, "b2", {"scenario": "baseline_2021", "seed": 2})
    (bad / "summary.json").write_bytes(content if isinstance(content, bytes) else content.encode())
    df, missing, failed = runs_table([root])
    assert len(df) == 1 and missing == [bad] and failed == []
    assert compare_main([str(root)]) == 0
    out = capsys.readouterr().out
    assert "1 incomplete, 0 failed" in out and f"  incomplete: {bad}" in out


def test_runs_of_different_versions_are_kept_apart(tmp_path, capsys):
    root = tmp_path / "runs"
    for seed in (1, 2):
        for ver, commit, d in (("0.1.0", "aaaa", 0.0), ("0.2.0", "bbbb", 0.5)):
            for scen, plus in (("baseline_2021", 0.0), ("budget_plus_20", 0.05)):
                _fake_run(root, f"{scen}{ver}{seed}", scen, seed, 0.1 * seed + d + plus)
                p = root / f"{scen}{ver}{seed}" / "summary.json"
                p.write_text(json.dumps({**json.loads(p.read_text()), "package_version": ver, "git_commit": commit}))
    df = runs_table([root])[0]
    assert sorted(df["group"].unique()) == [
        "scenario=baseline_2021,version=0.1.0@aaaa", "scenario=baseline_2021,version=0.2.0@bbbb",
        "scenario=budget_plus_20,version=0.1.0@aaaa", "scenario=budget_plus_20,version=0.2.0@bbbb"]
    cmp = compare(df).set_index(["group", "indicator"])
    for ver in ("0.1.0@aaaa", "0.2.0@bbbb"):  # each pairs with its own version's baseline
        r = cmp.loc[(f"scenario=budget_plus_20,version={ver}", "coverage.youth_education")]
        assert r["n_pairs"] == 2 and r["diff_mean"] == pytest.approx(0.05)
        assert cmp.loc[(f"scenario=baseline_2021,version={ver}", "coverage.youth_education"), "is_baseline"]
    assert compare_main([str(root)]) == 0
    cap = capsys.readouterr()
    assert cap.err.count("\n") == 1 and "2 package versions/git commits" in cap.err
    assert "read 8 complete runs in 4 groups" in cap.out
    # whole labels in the printed table, never cut short
    assert "scenario=budget_plus_20,version=0.2.0@bbbb " in cap.out


# --------------------------------------------------------------------------- cost per additional family
@pytest.mark.parametrize("d_cost, d_reached, value, note", [
    ([10e6, 12e6, 14e6], [1_000, 3_000, 2_000], 6_000.0, ""),  # ratio of the means, not mean of ratios
    ([2e6], [100], 20_000.0, ""),  # one pair
    ([-5e6] * 3, [-1_000] * 3, 5_000.0, "saving"),
    ([-5e6] * 3, [500] * 3, -10_000.0, "dominant"),
    ([5e6] * 3, [-500] * 3, -10_000.0, "dominated"),
    ([1e6] * 3, [-100, 50, 200], np.nan, UNDEFINED),  # 90 % interval [-85, 185] includes 0
    ([1e6] * 3, [0, 0, 0], np.nan, UNDEFINED),
    ([1e6, 1e6], [0, 100], 20_000.0, ""),  # interval [5, 95]: defined though one seed has no change
    ([np.nan, 1e6], [5, 10], 100_000.0, ""),  # a pair without cost is left out
    ([], [], np.nan, "no paired runs with cost and reach"),
])
def test_cost_per_additional_family(d_cost, d_reached, value, note):
    v, n = cost_per_additional_family(d_cost, d_reached)
    assert v == pytest.approx(value, nan_ok=True)
    assert n.startswith(note) if note else n == ""


def test_ratio_of_means_is_not_the_mean_of_ratios():
    # 10 M for 1,000 more families with one seed, 10 M for 9,000 more with the other: 20 M / 10,000
    # = 2,000 yuan a family, not the mean of the seeds' ratios (10,000 and 1,111)
    v, _ = cost_per_additional_family([10e6, 10e6], [1_000, 9_000])
    assert v == pytest.approx(2_000.0)


def test_indicator_keys_and_their_provenance_key():
    assert is_indicator("cost.total_yuan") and is_indicator("cost.by_pot.raised") and is_indicator("binding.hands")
    assert is_indicator("hands.lecturer.used_share") and not is_indicator("hands.lecturer.available_hours")
    assert is_indicator("coverage_counts.youth_education.reached")
    assert not is_indicator("coverage_counts.youth_education.eligible")
    assert not is_indicator("binding.staff") and not is_indicator("binding.by_activity.visits.hands")
    assert not is_indicator("provenance.coverage.youth_education")
    assert provenance_key("coverage_counts.special_visited.reached") == "coverage.special_visited"
    assert provenance_key("reported.person_visits") == "reported.person_visits"
    assert reach_column("coverage.x") == reach_column("coverage_counts.x.reached") == "coverage_counts.x.reached"
    assert reach_column("cost.total_yuan") is None


@pytest.fixture(scope="module")
def hand_cmp(tmp_path_factory):
    root = rf.hand_built_runs(tmp_path_factory.mktemp("hand") / "sweep")
    df, missing, failed = runs_table([root])
    assert len(df) == 9 and not missing and not failed
    return root, df, compare(df, "scenario=baseline_2021")


def _row(cmp, scenario, indicator) -> pd.Series:
    r = cmp[(cmp["scenario"] == scenario) & (cmp["indicator"] == indicator)]
    assert len(r) == 1, (scenario, indicator)
    return r.iloc[0]


def test_hand_built_cost_per_additional_family(hand_cmp):
    _, _, cmp = hand_cmp
    for (scen, ind), (value, note) in rf.HAND_COST_PER_FAMILY.items():
        for col in (f"coverage.{ind}", f"coverage_counts.{ind}.reached"):
            r = _row(cmp, scen, col)
            assert r["n_pairs"] == 3
            assert r["cost_per_additional_family_yuan"] == pytest.approx(value, nan_ok=True), (scen, col)
            assert r["cost_per_additional_family_note"].startswith(note), (scen, col)
            if note == "":
                assert r["cost_per_additional_family_note"] == ""
    # the differences it is made of
    assert _row(cmp, "budget_plus_20", "cost.total_yuan")["diff_mean"] == pytest.approx(12e6)
    assert _row(cmp, "budget_plus_20", "coverage_counts.youth_education.reached")["diff_mean"] == pytest.approx(2_000)
    assert _row(cmp, "budget_plus_20", "coverage.youth_education")["diff_mean"] == pytest.approx(0.02)
    r = _row(cmp, "budget_plus_20", "coverage_counts.special_visited.reached")
    assert (r["diff_p5"], r["diff_p95"]) == pytest.approx((-85.0, 185.0))
    # baseline rows and rows of other indicators carry no cost per family
    b = _row(cmp, "baseline_2021", "coverage.youth_education")
    assert np.isnan(b["cost_per_additional_family_yuan"]) and b["cost_per_additional_family_note"] == "baseline"
    c = _row(cmp, "budget_plus_20", "cost.total_yuan")
    assert np.isnan(c["cost_per_additional_family_yuan"]) and c["cost_per_additional_family_note"] == ""


def test_hand_built_new_indicators_and_provenance_column(hand_cmp):
    _, df, cmp = hand_cmp
    assert df["provenance.coverage.youth_education"].eq("predicted").all()
    inds = set(cmp["indicator"])
    assert {"cost.total_yuan", "cost.by_pot.association", "cost.by_pot.raised", "cost.by_pot.personnel",
            "binding.money", "binding.hands", "hands.staff.used_share"} <= inds
    assert "hands.staff.available_hours" not in inds and "coverage_counts.youth_education.eligible" not in inds
    assert not any(i.startswith("provenance.") for i in inds)
    assert _row(cmp, "budget_plus_20", "binding.hands")["diff_mean"] == pytest.approx(0.25)
    assert _row(cmp, "budget_cut_20", "binding.money")["diff_mean"] == pytest.approx(0.25)
    assert _row(cmp, "baseline_2021", "cost.by_pot.association")["mean"] == pytest.approx(94e6)
    expected = {"coverage.youth_education": "predicted", "coverage_counts.youth_education.reached": "predicted",
                "coverage.special_insured": "input", "coverage_counts.special_insured.reached": "input",
                "reported.youth_lectures": "calibrated", "execution_rate": "calibrated",
                "cost.total_yuan": "", "binding.hands": "", "families_reached": ""}
    for scen in ("baseline_2021", "budget_plus_20", "budget_cut_20"):
        for ind, prov in expected.items():
            assert _row(cmp, scen, ind)["provenance"] == prov, (scen, ind)
    # the columns come in this order, and the old ones keep their meaning
    assert list(cmp.columns[:4]) == ["group", "scenario", "indicator", "provenance"]
    assert {"n", "mean", "median", "p5", "p95", "is_baseline", "n_pairs", "diff_mean", "diff_median", "diff_p5",
            "diff_p95"} <= set(cmp.columns)


def test_provenance_that_differs_between_runs_lists_both(hand_cmp):
    _, df, _ = hand_cmp
    df = df.copy()
    df.loc[df["seed"] == 2, "provenance.coverage.youth_education"] = "calibrated"
    cmp = compare(df, "scenario=baseline_2021")
    assert _row(cmp, "budget_plus_20", "coverage.youth_education")["provenance"] == "calibrated/predicted"


def test_format_compare_shows_provenance_and_cost_per_family(hand_cmp):
    _, _, cmp = hand_cmp
    lines = format_compare(cmp).splitlines()
    assert "provenance" in lines[0] and "yuan/add. family" in lines[0]

    def line(scen, ind):
        (hit,) = [ln for ln in lines if ln.startswith(f"scenario={scen}") and f" coverage.{ind} " in ln]
        return hit.split()

    assert line("budget_plus_20", "youth_education")[2] == "predicted"
    assert line("budget_plus_20", "youth_education")[-1] == "6,000"
    assert line("budget_plus_20", "special_insured")[-1] == "40,000"
    assert line("budget_plus_20", "special_visited")[-1] == "undefined"
    assert line("budget_cut_20", "youth_education")[-1] == "5,000*"
    assert line("budget_cut_20", "special_visited")[-1] == "-10,000*"
    assert line("baseline_2021", "special_insured")[-1] == "baseline"
    assert "paired mean Δ total cost / paired mean Δ families reached" in lines[-1]


def test_compare_command_on_hand_built_runs(hand_cmp, capsys, tmp_path):
    root, _, _ = hand_cmp
    assert compare_main([str(root), "--out", str(tmp_path)]) == 0
    assert "read 9 complete runs in 3 groups; 0 incomplete, 0 failed" in capsys.readouterr().out
    written = pd.read_csv(tmp_path / "compare.csv")
    r = written[(written["scenario"] == "budget_plus_20") & (written["indicator"] == "coverage.youth_education")]
    assert r["cost_per_additional_family_yuan"].iloc[0] == pytest.approx(6_000.0)
    assert r["provenance"].iloc[0] == "predicted"
    summary = json.loads((Path(root) / "budget_plus_20-1" / "summary.json").read_text())
    assert summary["cost"]["total_yuan"] == 510e6


# --------------------------------------------------------------------------- no engine
ENGINE = ("mesa", "scipy", "sim.model", "sim.province", "matplotlib", "hydra")


@pytest.mark.parametrize("module, engine", [
    ("sim.compare", ENGINE),
    ("sim.runs", ENGINE + ("sim.metrics", "sim.analysis", "sim.compare")),
])
def test_reading_runs_loads_no_engine(module, engine):
    # a fresh interpreter: what importing the module loads, nothing the test session loaded before
    code = f"import sys, {module}; print(' '.join(m for m in {engine!r} if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "", f"importing {module} loads {r.stdout.strip()}"
