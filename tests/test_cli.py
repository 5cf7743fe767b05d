"""The outreach-sim command: config composition, end-to-end runs, bad input, determinism, and the
files a run writes (sim/results.py: the county tables and the terminal summary)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import results
from sim.activities import MONEY, NAMES, ROLES, role_bit
from sim.cli import CONF_DIR, precheck
from sim.compose import compose_run_config
from sim.config import RunConfig
from sim.metrics import FAMILY_INDICATORS
from sim.results import TIMING_KEYS

SCENARIOS = sorted(p.stem for p in (CONF_DIR / "scenario").glob("*.yaml"))
REQUIRED = {"baseline_2021", "plan_2022", "budget_cut_20", "budget_plus_20", "township_staff_1",
            "volunteer_drive", "need_based", "per_capita_2yuan", "digital_first"}


@pytest.fixture(scope="module")
def cache_env(tmp_path_factory):
    env = dict(os.environ)
    env["OUTREACH_SIM_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    env["MPLBACKEND"] = "Agg"
    return env


def _compose(*overrides: str) -> RunConfig:
    return compose_run_config(overrides)


def test_every_required_scenario_exists():
    assert REQUIRED <= set(SCENARIOS)


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_composes_and_validates(name):
    cfg = _compose(f"scenario={name}")
    assert isinstance(cfg, RunConfig)
    assert cfg.scenario.name == name
    text = (CONF_DIR / "scenario" / f"{name}.yaml").read_text()
    assert text.splitlines()[1].startswith("#"), "each scenario starts with a comment saying what it changes"


def test_scenarios_change_what_they_say():
    base = _compose()
    assert base.funding.multiplier == 1.0 and base.funding.policy == "as_reported"
    assert _compose("scenario=budget_cut_20").funding.multiplier == pytest.approx(0.8)
    assert _compose("scenario=budget_plus_20").funding.multiplier == pytest.approx(1.2)
    assert _compose("scenario=township_staff_1").staffing.township_staff_min == 1
    vd = _compose("scenario=volunteer_drive").staffing
    assert vd.volunteers_per_village == 6 and vd.volunteer_stipend_yuan_per_month > 0
    assert _compose("scenario=need_based").funding.policy == "need_based"
    assert _compose("scenario=per_capita_2yuan").funding.county_min_yuan_per_resident == 2.0
    assert _compose("scenario=digital_first").funding.online_shift > 0
    assert _compose("scenario=plan_2022").activities.p_contact_assign_month > base.activities.p_contact_assign_month


def test_overrides_reach_the_dataclasses():
    cfg = _compose("funding.provincial_budget_yuan=1e6", "staffing.volunteers_per_village=5",
                   "population.scale=0.05", "seed=9", "network=well_mixed")
    assert cfg.funding.provincial_budget_yuan == 1e6
    assert cfg.staffing.volunteers_per_village == 5
    assert cfg.population.scale == 0.05 and cfg.seed == 9 and cfg.network.kind == "well_mixed"


@pytest.mark.parametrize("args, expected", [
    (["funding.foo=1"], "funding.foo: no such key"),
    (["scenario=nope"], "scenario='nope' is not allowed: must be one of ['baseline_2021'"),
    (["population.scale=2"], "population.scale=2.0 is not allowed: must be in (0, 1]"),
    (["population.scale=abc"], "population.scale='abc' is not allowed: must be a number in (0, 1]"),
    (["funding.policy=magic"], "funding.policy='magic' is not allowed: must be one of"),
    (["network=ring"], "network='ring' is not allowed"),
    (["months=0"], "months=0 is not allowed: must be in [1, 60]"),
    (["-m", "seed=1,2", "population.scale=0.1,0"], "population.scale=0.0 is not allowed"),
    (["funding.share_volunteers=0.5"], "shares must sum to 1"),
    (["activities.youth_lecture_lead_roles=[volunteer]"],
     "activities.youth_lecture_lead_roles=['volunteer'] is not allowed: may use only roles ['lecturer', 'staff']"),
    (["activities.visit_visitor_roles=[cook]"], "may use only roles ['officer', 'volunteer', 'lecturer', 'staff']"),
    (["activities.youth_lecture_helper_hours=-2"], "activities.youth_lecture_helper_hours=-2.0 is not allowed"),
    (["staffing.post_cost_yuan_per_year=-1"], "staffing.post_cost_yuan_per_year=-1.0 is not allowed"),
    (["staffing.volunteer_stipend_pot=donors"], "must be one of ['association', 'personnel']"),
    (["funding.county_budget_yuan=inf"], "must be a finite number"),
])
def test_bad_overrides_give_one_line(args, expected):
    msg, _ = precheck(args)
    assert msg is not None and expected in msg
    assert "\n" not in msg


def test_good_overrides_pass_precheck():
    error, configs = precheck(["-m", "scenario=baseline_2021,budget_plus_20", "seed=1,2"])
    assert error is None and len(configs) == 4
    assert sorted((c.scenario.name, c.seed) for c in configs) == [
        ("baseline_2021", 1), ("baseline_2021", 2), ("budget_plus_20", 1), ("budget_plus_20", 2)]


@pytest.fixture
def myconf(tmp_path) -> Path:
    """A user's config folder with one scenario of their own."""
    d = tmp_path / "myconf"
    (d / "scenario").mkdir(parents=True)
    (d / "scenario" / "mine.yaml").write_text("# @package _global_\n# Mine: 10 % more association money.\n"
                                              "scenario:\n  name: mine\nfunding:\n  multiplier: 1.1\n")
    return d


@pytest.mark.parametrize("form", ["--config-dir DIR", "--config-dir=DIR", "-cd DIR"])
def test_precheck_finds_the_users_config_dir(form, myconf, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative folder, as a user would type it
    cd = form.replace("DIR", "myconf").split()
    error, configs = precheck([*cd, "scenario=mine", "population.scale=0.002", "hydra/launcher=basic"])
    assert error is None and [c.scenario.name for c in configs] == ["mine"]
    assert configs[0].funding.multiplier == pytest.approx(1.1)
    error, configs = precheck(["-m", *cd, "scenario=mine,budget_cut_20", "seed=1,2"])
    assert error is None and sorted((c.scenario.name, c.seed) for c in configs) == [
        ("budget_cut_20", 1), ("budget_cut_20", 2), ("mine", 1), ("mine", 2)]


def test_precheck_without_the_config_dir_or_with_a_missing_one(myconf, tmp_path):
    error, _ = precheck(["scenario=mine"])
    assert error.startswith("scenario='mine' is not allowed")
    error, _ = precheck(["--config-dir", str(tmp_path / "nope"), "scenario=mine"])
    assert error == f"--config-dir: additional config directory '{tmp_path / 'nope'}' not found"


@pytest.mark.parametrize("args", [["--help"], ["--hydra-help"], ["--cfg", "hydra"],
                                  ["--info"], ["--info", "searchpath"], ["-cn", "other"], ["--config-name=other"],
                                  ["--version"], ["--no-such-option"]])
def test_precheck_leaves_help_information_and_bad_options_to_hydra(args):
    assert precheck([*args, "scenario=nope"]) == (None, [])


@pytest.mark.parametrize("args", [["--cfg", "job"], ["--cfg=job"], ["-c", "job"], ["--cfg", "all"]])
def test_precheck_runs_for_cfg_job(args):
    error, _ = precheck([*args, "scenario=nope"])
    assert error.startswith("scenario='nope' is not allowed")


@pytest.mark.parametrize("args", [["-cp", "elsewhere"], ["--config-path=elsewhere"]])
def test_config_path_is_refused(args):
    error, _ = precheck([*args, "seed=2"])
    assert error.startswith("--config-path is not allowed") and "--config-dir" in error


@pytest.mark.integration
def test_user_config_dir_end_to_end(myconf, tmp_path, cache_env):
    """The jobs find the user's scenario too (Hydra's own --config-dir), not only the pre-check."""
    r = _run(["--config-dir", str(myconf), "scenario=mine", "population.scale=0.002", "months=1",
              "hydra/launcher=basic"], cache_env, tmp_path)
    assert r.returncode == 0, r.stderr
    (summary,) = (tmp_path / "outputs" / "mine").glob("*/summary.json")
    assert json.loads(summary.read_text())["scenario"] == "mine"
    assert json.loads((summary.parent / "config.json").read_text())["funding"]["multiplier"] == pytest.approx(1.1)


def _run(args, env, cwd):
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.integration
def test_bad_override_exits_nonzero_without_traceback(tmp_path, cache_env):
    r = _run(["population.scale=7"], cache_env, tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == ["error: population.scale=7.0 is not allowed: must be in (0, 1]"]
    assert "Traceback" not in r.stderr + r.stdout


@pytest.mark.integration
def test_a_pot_that_cannot_pay_ends_in_one_line(tmp_path, cache_env):
    r = _run(["staffing.volunteer_stipend_yuan_per_month=5000", "staffing.volunteer_stipend_pot=association",
              "population.scale=0.002", "months=1", "hydra/launcher=basic"], cache_env, tmp_path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: staffing.volunteer_stipend_yuan_per_month=5000.0 "
                                                   "is not allowed: the association pot of ")
    assert "staffing.volunteer_stipend_pot=personnel" in lines[0] and "Traceback" not in r.stderr + r.stdout


def test_end_to_end_run_writes_its_files_and_is_deterministic(tmp_path, cache_env):
    outs = []
    for i in range(2):
        out = tmp_path / f"run{i}"
        r = _run(["population.scale=0.01", "seed=3", f"hydra.run.dir={out}"], cache_env, tmp_path)
        assert r.returncode == 0, r.stderr
        assert "coverage (families)" in r.stdout and str(out) in r.stdout
        outs.append(out)
    text = r.stdout
    assert "[predicted]" in text and "[calibrated]" in text and "[input]" in text
    assert "cost " in text and "association budgets" in text and "personnel budget" in text
    assert "binding: money in" in text and ", hands in" in text and "hands used: staff" in text
    out = outs[0]
    for name in ("summary.json", "summary.csv", "monthly.parquet", "counties.parquet",
                 "county_months.parquet", "config.json", ".hydra/config.yaml"):
        assert (out / name).is_file(), name
    s = json.loads((out / "summary.json").read_text())
    for key in ("coverage", "reported", "spend_yuan", "execution_rate", "cost_per_family_reached_yuan",
                "equity", "binding", "volunteers", "scenario", "seed", "scale", "months", "runtime_s",
                "package_version", "git_commit", "config_hash"):
        assert key in s, key
    assert s["scenario"] == "baseline_2021" and s["seed"] == 3 and s["scale"] == 0.01 and s["months"] == 12
    assert all(0 <= v <= 1 for v in s["coverage"].values())
    monthly = pd.read_parquet(out / "monthly.parquet")
    assert list(monthly["month"]) == list(range(1, 13))
    counties = pd.read_parquet(out / "counties.parquet")
    assert len(counties) == 122 and counties["county_code"].is_unique
    long = pd.read_parquet(out / "county_months.parquet")
    assert len(long) == 122 * 12
    prefs = pd.read_parquet(out / "prefectures.parquet")
    assert len(prefs) == 14 and prefs["counties"].sum() == 122 and prefs["prefecture_code"].is_unique
    assert prefs.set_index("prefecture_zh").loc["长沙市", "prefecture_code"] == 430100
    for name in FAMILY_INDICATORS:  # prefectures add up to the province, coverage made from the sums
        assert prefs[f"reached_{name}"].sum() == pytest.approx(s["coverage_counts"][name]["reached"], rel=1e-9)
        e = prefs[f"eligible_{name}"]
        assert np.allclose(prefs[f"coverage_{name}"][e > 0], (prefs[f"reached_{name}"] / e)[e > 0])
    # counts per county add up to the summary's, and coverage is their ratio
    for name in FAMILY_INDICATORS:
        assert counties[f"reached_{name}"].sum() == pytest.approx(s["coverage_counts"][name]["reached"], rel=1e-9)
        assert counties[f"eligible_{name}"].sum() == pytest.approx(s["coverage_counts"][name]["eligible"], rel=1e-9)
        e = counties[f"eligible_{name}"]
        assert np.allclose(counties[f"coverage_{name}"][e > 0], (counties[f"reached_{name}"] / e)[e > 0])
    # binding: the county shares are the county-months' categories averaged over the months
    for act in NAMES:
        cat = long[f"binding_{act}"]
        assert list(cat.cat.categories) == ["none", "money", "hands", "money+hands"]
        share = cat.isin(["hands", "money+hands"]).groupby(long["county_code"]).mean()
        assert np.allclose(share.loc[counties["county_code"]], counties[f"binding_{act}_hands_share"])
        for r_ in ROLES:
            has = long[f"binding_{act}_roles"].astype(str).str.split("+").apply(lambda x, r_=r_: r_ in x)
            assert np.allclose(has.groupby(long["county_code"]).mean().loc[counties["county_code"]],
                               counties[f"binding_{act}_{r_}_share"])
    assert counties["hands_bound_month_share"].mean() == pytest.approx(s["binding"]["hands"])
    assert counties["money_bound_month_share"].mean() == pytest.approx(s["binding"]["money"])
    for r_ in ROLES:
        assert counties[f"hours_available_{r_}"].sum() == pytest.approx(s["hands"][r_]["available_hours"])
        assert counties[f"hours_used_{r_}"].sum() == pytest.approx(s["hands"][r_]["used_hours"])
    assert not [c for c in counties.columns if "staff_bound" in c or c.endswith("_staff_share") and
                not any(c == f"binding_{a}_staff_share" for a in NAMES)]
    flat = pd.read_csv(out / "summary.csv")
    assert "coverage.youth_education" in set(flat["key"])
    # Same seed and config: identical summaries apart from timing.
    s2 = json.loads((outs[1] / "summary.json").read_text())
    for key in TIMING_KEYS:
        s.pop(key)
        s2.pop(key)
    assert s == s2
    assert not list(Path(out).glob(".*.tmp*")), "no temporary files left behind"


# --------------------------------------------------------------------------- the run's files
def _tiny_model(months: int = 4):
    from model_fixtures import run_config, tiny_province

    from sim.model import OutreachModel

    return OutreachModel(run_config(months=months, scale=1.0), tiny_province()).run()


def test_county_tables_binding_hours_and_counts_with_hand_set_values():
    m = _tiny_model()
    v, y = NAMES.index("visits"), NAMES.index("youth_lectures")
    vol, staff, lect, off = (role_bit(r) for r in ("volunteer", "staff", "lecturer", "officer"))
    m.binding[:] = 0
    m.binding[:, v, 0] = [0, MONEY, vol, MONEY | staff | lect]
    m.binding[:, y, 2] = [off, off | MONEY, 0, 0]
    m.cm["money_bound"][:] = (m.binding & MONEY).any(axis=1)
    m.cm["hands_bound"][:] = (m.binding & ~MONEY).any(axis=1)
    m.hours_available_c[:] = 0.0
    m.hours_used_c[:] = 0.0
    m.hours_available_c[:, ROLES.index("staff"), 1] = [10, 20, 30, 40]
    m.hours_used_c[:, ROLES.index("staff"), 1] = [5, 5, 5, 5]
    m.hours_used_c[:, ROLES.index("officer"), 0] = [1, 0, 0, 0]  # used without available: share 0
    wide, long = results.county_tables(m)

    def col(name):
        return wide[name].tolist()

    assert col("binding_visits_money_share") == [0.5, 0, 0]
    assert col("binding_visits_hands_share") == [0.5, 0, 0]
    assert col("binding_visits_volunteer_share") == col("binding_visits_staff_share") == [0.25, 0, 0]
    assert col("binding_visits_lecturer_share") == [0.25, 0, 0] and col("binding_visits_officer_share") == [0, 0, 0]
    assert col("binding_youth_lectures_officer_share") == col("binding_youth_lectures_hands_share") == [0, 0, 0.5]
    assert col("binding_youth_lectures_money_share") == [0, 0, 0.25]
    assert col("money_bound_month_share") == [0.5, 0, 0.25] and col("hands_bound_month_share") == [0.5, 0, 0.5]
    assert col("hours_available_staff") == [0, 100, 0] and col("hours_used_staff") == [0, 20, 0]
    assert col("hours_used_share_staff") == [0, 0.2, 0] and col("hours_used_share_officer") == [0, 0, 0]
    assert col("hours_used_officer") == [1, 0, 0]
    c0 = long[long["county_code"] == wide["county_code"][0]].sort_values("month")
    assert c0["binding_visits"].tolist() == ["none", "money", "hands", "money+hands"]
    assert c0["binding_visits_roles"].tolist() == ["", "", "volunteer", "staff+lecturer"]
    c2 = long[long["county_code"] == wide["county_code"][2]].sort_values("month")
    assert c2["binding_youth_lectures"].tolist() == ["hands", "money+hands", "none", "none"]
    assert c2["binding_youth_lectures_roles"].tolist() == ["officer", "officer", "", ""]
    assert list(long["binding_visits_roles"].cat.categories) == list(results.ROLE_SETS)
    assert results.ROLE_SETS[:4] == ("", "staff", "officer", "staff+officer") and len(results.ROLE_SETS) == 16
    # eligible and reached families beside each coverage (weight 1: whole families)
    for name in FAMILY_INDICATORS:
        reached, eligible = m.county_counts(name)
        assert col(f"reached_{name}") == reached.tolist() and col(f"eligible_{name}") == eligible.tolist()
        assert np.allclose(wide[f"coverage_{name}"], np.where(eligible > 0, reached / np.maximum(eligible, 1), 0))
    assert wide["eligible_special_visited"].sum() == m.f.special.sum()


def test_prefecture_table_sums_counties_and_makes_ratios_from_the_sums():
    counties = pd.DataFrame({
        "county_code": [430102, 430103, 430202], "county": ["a", "b", "c"], "county_zh": ["甲", "乙", "丙"],
        "prefecture": ["P", "P", "Q"], "prefecture_zh": ["P市", "P市", "Q市"], "population": [100.0, 300.0, 50.0],
        "eligible_youth_education": [10.0, 90.0, 0.0], "reached_youth_education": [9.0, 9.0, 0.0],
        "coverage_youth_education": [0.9, 0.1, 0.0], "hours_available_staff": [10.0, 30.0, 5.0],
        "hours_used_staff": [5.0, 3.0, 5.0], "hours_used_share_staff": [0.5, 0.1, 1.0],
        "money_bound_month_share": [0.5, 0.0, 1.0], "binding_visits_money_share": [0.1, 0.2, 0.3]})
    p = results.prefecture_table(counties).set_index("prefecture")
    assert p.loc["P", "prefecture_code"] == 430100 and p.loc["Q", "prefecture_code"] == 430200
    assert p.loc["P", "counties"] == 2 and p.loc["P", "population"] == 400.0
    # 18 of 100 families: not the mean of 0.9 and 0.1
    assert p.loc["P", "coverage_youth_education"] == pytest.approx(0.18)
    assert p.loc["Q", "coverage_youth_education"] == 0.0
    assert p.loc["P", "hours_used_share_staff"] == pytest.approx(8 / 40)
    assert "money_bound_month_share" not in p.columns and "binding_visits_money_share" not in p.columns


def test_files_are_written_atomically_with_the_summary_last(tmp_path, monkeypatch):
    m = _tiny_model(2)
    replaced = []
    real = results.os.replace

    def record(src, dst):
        replaced.append(Path(dst).name)
        return real(src, dst)

    monkeypatch.setattr(results.os, "replace", record)
    s = results.write_run(tmp_path, m, m.cfg, 1.0)
    assert replaced[-1] == "summary.json"
    assert sorted(replaced) == sorted(["config.json", "monthly.parquet", "counties.parquet", "prefectures.parquet",
                                       "county_months.parquet", "summary.csv", "summary.json"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(replaced)  # no temporary file left
    long = pd.read_parquet(tmp_path / "county_months.parquet")
    assert isinstance(long["binding_visits"].dtype, pd.CategoricalDtype)
    assert "hands_bound_county_share" in pd.read_parquet(tmp_path / "monthly.parquet").columns
    flat = pd.read_csv(tmp_path / "summary.csv").set_index("key")["value"]
    assert flat["provenance.coverage.special_insured"] == "input"
    assert float(flat["cost.total_yuan"]) == pytest.approx(s["cost"]["total_yuan"])


SUMMARY = {
    "package_version": "0.1.0", "scenario": "baseline_2021", "seed": 3, "scale": 0.01, "months": 12,
    "runtime_s": 2.25,
    "coverage": {"youth_education": 0.25, "special_insured": 0.9},
    "reported": {"youth_lectures": 10225.0, "web_reached_families": 1234567.0},
    "provenance": {"coverage.youth_education": "predicted", "coverage.special_insured": "input",
                   "reported.youth_lectures": "calibrated", "execution_rate": "calibrated"},
    "spend_yuan": {"total": 300e6}, "execution_rate": 0.875, "cost_per_family_reached_yuan": 123.45,
    "cost": {"by_pot": {"association": 80e6, "raised": 216e6, "personnel": 237.5e6}, "total_yuan": 533.5e6},
    "equity": {k: {"county_coverage_min": 0.1, "county_coverage_max": 0.5, "county_coverage_gini": 0.125}
               for k in ("youth_education", "special_visited")},
    "binding": {"money": 0.5, "hands": 0.375, "by_activity": {
        "visits": {"money": 0.5, "hands": 0.3, "by_role": {"staff": 0.1, "officer": 0.3, "volunteer": 0.2,
                                                            "lecturer": 0.0}},
        "youth_lectures": {"money": 0.1, "hands": 0.05, "by_role": {"staff": 0.05, "lecturer": 0.04}},
        "insurance": {"money": 0.0, "hands": 0.0, "by_role": {"staff": 0.0}},
        "online": {"money": 0.0, "hands": 0.2, "by_role": {"staff": 0.2}},
        "policy_events": {"money": 0.0, "hands": 0.01, "by_role": {"staff": 0.01}}}},
    "hands": {"staff": {"available_hours": 350_000.0, "used_share": 0.28},
              "volunteer": {"available_hours": 6_020_000.0, "used_share": 0.389}},
    "volunteers": {"start": 87639, "end": 82353, "recruited": 10815, "left": 16101},
}


def test_format_summary_lines():
    text = results.format_summary(SUMMARY, Path("/runs/x"))
    lines = text.splitlines()
    assert lines[0] == "outreach-sim 0.1.0: scenario baseline_2021, seed 3, scale 0.01, 12 months (2.2 s)"
    assert "  youth_education          25.0 %  [predicted]" in lines
    assert "  special_insured          90.0 %  [input]" in lines
    assert "  youth_lectures                        10,225  [calibrated]" in lines
    assert "  web_reached_families               1,234,567" in lines  # no provenance given: no tag
    assert ("cost 533.5 M yuan (association budgets 80.0 M, raised funds 216.0 M, personnel budget 237.5 M)"
            in lines)
    assert ("spend 300.0 M yuan; project-fund execution rate 87.5 % [calibrated]; "
            "123.5 yuan (total cost) per family reached") in lines
    assert "binding: money in 50.0 % of county-months, hands in 37.5 %" in lines
    i = lines.index("binding: money in 50.0 % of county-months, hands in 37.5 %")
    # the three activities most often hands-bound, each with its binding roles, most frequent first
    assert lines[i + 1:i + 4] == ["  hands bound visits in 30.0 % (officer 30.0 %, volunteer 20.0 %, staff 10.0 %)",
                                  "  hands bound online in 20.0 % (staff 20.0 %)",
                                  "  hands bound youth_lectures in 5.0 % (staff 5.0 %, lecturer 4.0 %)"]
    assert lines[i + 4] == "hands used: staff 28.0 % of 0.35 M h, volunteer 38.9 % of 6.02 M h"
    assert lines[-1] == "files: /runs/x"


def test_a_job_whose_sweep_is_gone_writes_nothing(tmp_path, cache_env):
    from sim.cli import run_job

    cfg = compose_run_config(["population.scale=0.002", "months=1", "progress=false",
                              f"population.cache_dir={cache_env['OUTREACH_SIM_CACHE']}"])
    asked = []

    def gone_after_the_run():
        asked.append(1)
        return len(asked) < 2  # alive before the run, gone before the files are written

    assert run_job(cfg, tmp_path / "a", quiet=True, keep_going=gone_after_the_run) is None
    assert len(asked) == 2 and list((tmp_path / "a").iterdir()) == []  # taken, nothing written, given back
    assert run_job(cfg, tmp_path / "b", quiet=True, keep_going=lambda: False) is None and len(asked) == 2
    s = run_job(cfg, tmp_path / "c", quiet=True, keep_going=lambda: True)
    assert s["status"] == "ok" and (tmp_path / "c" / "summary.json").exists()


def test_ctrl_c_ends_in_one_line(monkeypatch, capsys):
    import sim.cli as cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_hydra_main", interrupted)
    monkeypatch.setattr(sys, "argv", ["outreach-sim", "population.scale=0.01"])
    with pytest.raises(SystemExit) as e:
        cli.main()
    assert e.value.code == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["interrupted: runs that finished are kept; re-run the same command to resume a sweep"]


def test_run_files_get_usual_permissions_and_killed_writers_leave_nothing(tmp_path):
    old = os.umask(0o022)
    try:
        results.write_json(tmp_path / "x.json", {"a": 1})
    finally:
        os.umask(old)
    assert (tmp_path / "x.json").stat().st_mode & 0o777 == 0o644
    for name in (".monthly.parquet.abc123", ".summary.json.zz", ".counties.parquet.q"):
        (tmp_path / name).write_text("half")
    (tmp_path / ".keep.other").write_text("not ours")
    assert results.clean_temporary_files(tmp_path) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [".keep.other", "x.json"]
