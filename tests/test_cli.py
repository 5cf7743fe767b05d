"""The outreach-sim command: config composition, end-to-end runs, bad input, determinism."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from sim.cli import CONF_DIR, precheck, to_run_config
from sim.config import RunConfig
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
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        return to_run_config(compose(config_name="config", overrides=list(overrides)))


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
    (["population.scale=abc"], "population.scale:"),
    (["funding.policy=magic"], "funding.policy='magic' is not allowed: must be one of"),
    (["network=ring"], "network='ring' is not allowed"),
    (["months=0"], "months=0 is not allowed: must be in [1, 60]"),
    (["-m", "seed=1,2", "population.scale=0.1,0"], "population.scale=0.0 is not allowed"),
    (["funding.share_volunteers=0.5"], "funding.share_* (sum)"),
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


def _run(args, env, cwd):
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_bad_override_exits_nonzero_without_traceback(tmp_path, cache_env):
    r = _run(["population.scale=7"], cache_env, tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == ["error: population.scale=7.0 is not allowed: must be in (0, 1]"]
    assert "Traceback" not in r.stderr + r.stdout


def test_end_to_end_run_writes_its_files_and_is_deterministic(tmp_path, cache_env):
    outs = []
    for i in range(2):
        out = tmp_path / f"run{i}"
        r = _run(["population.scale=0.01", "seed=3", f"hydra.run.dir={out}"], cache_env, tmp_path)
        assert r.returncode == 0, r.stderr
        assert "coverage (families)" in r.stdout and str(out) in r.stdout
        outs.append(out)
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
    assert len(pd.read_parquet(out / "county_months.parquet")) == 122 * 12
    flat = pd.read_csv(out / "summary.csv")
    assert "coverage.youth_education" in set(flat["key"])
    # Same seed and config: identical summaries apart from timing.
    s2 = json.loads((outs[1] / "summary.json").read_text())
    for key in TIMING_KEYS:
        s.pop(key)
        s2.pop(key)
    assert s == s2
    assert not list(Path(out).glob(".*.tmp*")), "no temporary files left behind"
