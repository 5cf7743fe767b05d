"""Marginal values of money and hands (sim/marginal.py): paired finite differences by seed."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

from sim.compose import compose_run_config, with_overrides
from sim.marginal import (
    LEVER_NAMES,
    arm_config,
    lever,
    lever_cost_yuan,
    main,
    marginal_values,
    paired_differences,
    staff_hour_yuan,
    t_interval,
)
from sim.metrics import COVERAGE, summary
from sim.model import OutreachModel

pytest.register_assert_rewrite("model_fixtures")  # before importing it: it is also a plugin
from model_fixtures import SMALL_SCALE  # noqa: E402

pytest_plugins = ("model_fixtures",)

MONTHS = 3
SEEDS = [1, 2]
T_95_1 = 6.313751514675043
"""Student t quantile 0.95 with 1 degree of freedom (two seeds, 90 % interval)."""


def _overrides(cache: str, months: int = MONTHS) -> list[str]:
    return [f"population.scale={SMALL_SCALE}", f"population.cache_dir={cache}", f"months={months}", "progress=false"]


@pytest.fixture(scope="module")
def cfg(model_cache_dir):
    return compose_run_config(_overrides(model_cache_dir))


@pytest.fixture(scope="module")
def money_staff(cfg, small_province):
    """Money (10 M yuan) and staff (10,000 hours a month) levers over seeds 1 and 2."""
    return marginal_values(cfg, SEEDS, money_step_yuan=10e6, hours_step=10_000, province=small_province,
                           levers=("money", "staff"))


def _row(df: pd.DataFrame, lever_name: str, indicator: str) -> pd.Series:
    rows = df[(df["lever"] == lever_name) & (df["indicator"] == indicator)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_t_interval_values():
    mean, lo, hi = t_interval([1.0, 2.0, 3.0])  # sd 1, t(0.95, 2) = 2.919986
    assert mean == 2.0
    assert hi - mean == pytest.approx(2.919985580355516 / math.sqrt(3), rel=1e-12)
    assert mean - lo == pytest.approx(hi - mean, rel=1e-12)
    one = t_interval([0.7])
    assert one[0] == 0.7 and math.isnan(one[1]) and math.isnan(one[2])
    assert t_interval([0.0, 0.0]) == (0.0, 0.0, 0.0)


def test_levers_and_their_costs(cfg):
    assert LEVER_NAMES == ("money", "staff", "officer", "volunteer", "lecturer")
    assert lever_cost_yuan(cfg, lever("money"), 10e6) == 10e6
    st = cfg.staffing
    assert staff_hour_yuan(st) == pytest.approx(st.post_cost_yuan_per_year
                                                / (12 * st.staff_hours_per_month * st.staff_outreach_share))
    # 10,000 hours a month are 10,000 / (160 * 0.12) = 520.8 posts at 125,000 yuan a year.
    assert lever_cost_yuan(cfg, lever("staff"), 10_000) == pytest.approx(
        10_000 / (st.staff_hours_per_month * st.staff_outreach_share) * st.post_cost_yuan_per_year)
    for role in ("officer", "volunteer", "lecturer"):
        assert math.isnan(lever_cost_yuan(cfg, lever(role), 10_000))


def test_an_arm_raises_only_its_lever_from_the_configs_value(cfg):
    start = with_overrides(cfg, {"staffing.extra_volunteer_hours_per_month": 100.0})
    arm = arm_config(start, lever("volunteer"), 50.0)
    assert arm.staffing.extra_volunteer_hours_per_month == 150.0
    assert dataclasses.replace(arm.staffing, extra_volunteer_hours_per_month=100.0) == start.staffing
    assert (arm.funding, arm.activities, arm.population, arm.seed) == (start.funding, start.activities,
                                                                      start.population, start.seed)
    assert arm_config(cfg, lever("money"), 3e6).funding.extra_outreach_yuan == cfg.funding.extra_outreach_yuan + 3e6


def test_a_zero_step_gives_exactly_zero_differences(cfg, small_province):
    df = marginal_values(cfg, SEEDS, money_step_yuan=0.0, hours_step=0.0, province=small_province)
    assert len(df) == len(LEVER_NAMES) * len(COVERAGE)
    assert set(df["lever"]) == set(LEVER_NAMES) and set(df["indicator"]) == set(COVERAGE)
    for col in ("step_coverage_pp", "step_reached", "step_cost_yuan"):
        assert (df[col].fillna(0.0) == 0.0).all(), col  # step_cost_yuan is NaN for unpriced roles
    assert (df["n_seeds"] == 2).all()
    assert df["coverage_pp_per_unit"].isna().all()  # no per-unit value without a step


def test_money_lever_reports_its_step_as_its_cost(money_staff):
    money = money_staff[money_staff["lever"] == "money"]
    assert len(money) == len(COVERAGE)
    assert (money["step"] == 10e6).all()
    assert (money["step_cost_yuan"] == 10e6).all()
    assert (money["cost_yuan_per_unit"] == 1e6).all()
    assert (money["hours_per_month_per_unit"] == 0).all()
    # Per 1 M yuan of cost is per unit for money, and per unit / 6.51 for staff.
    assert np.array_equal(money["coverage_pp_per_million_yuan"], money["coverage_pp_per_unit"])
    staff = money_staff[money_staff["lever"] == "staff"]
    assert (staff["hours_per_month_per_unit"] == 1000).all()
    unit_cost = staff["cost_yuan_per_unit"].iloc[0]
    assert unit_cost == pytest.approx(1000 / (160 * 0.12) * 125_000)
    assert np.allclose(staff["coverage_pp_per_million_yuan"], staff["coverage_pp_per_unit"] * 1e6 / unit_cost)


def test_differences_are_paired_by_seed(cfg, small_province, money_staff):
    """Recompute the money lever's difference from runs made here, seed by seed."""
    def run(c, seed):
        m = OutreachModel(dataclasses.replace(c, seed=seed), small_province)
        m.run()
        return summary(m)

    arm = with_overrides(cfg, {"funding.extra_outreach_yuan": 10e6})
    base_runs = [run(cfg, s) for s in SEEDS]
    arm_runs = [run(arm, s) for s in SEEDS]
    for ind in ("youth_education", "family_health"):
        d = np.array([100 * (a["coverage"][ind] - b["coverage"][ind]) for a, b in zip(arm_runs, base_runs,
                                                                                       strict=True)])
        assert (d > 0).all(), "the extra money must reach more families at this scale"
        r = _row(money_staff, "money", ind)
        assert r["step_coverage_pp"] == pytest.approx(d.mean(), rel=1e-12)
        assert r["coverage_pp_per_unit"] == pytest.approx(d.mean() / 10, rel=1e-12)  # 10 M -> 1 M, linearly
        half = T_95_1 * d.std(ddof=1) / math.sqrt(2) / 10
        assert r["coverage_pp_per_unit_lo"] == pytest.approx(d.mean() / 10 - half, rel=1e-9)
        assert r["coverage_pp_per_unit_hi"] == pytest.approx(d.mean() / 10 + half, rel=1e-9)
        # Pairing across seeds (arm of seed 2 against base of seed 1) would give another spread.
        crossed = np.array([100 * (arm_runs[1]["coverage"][ind] - base_runs[0]["coverage"][ind]),
                            100 * (arm_runs[0]["coverage"][ind] - base_runs[1]["coverage"][ind])])
        assert crossed.std(ddof=1) != pytest.approx(d.std(ddof=1), rel=1e-6)
        reached = np.array([a["coverage_counts"][ind]["reached"] - b["coverage_counts"][ind]["reached"]
                            for a, b in zip(arm_runs, base_runs, strict=True)])
        assert r["reached_per_unit"] == pytest.approx(reached.mean() / 10, rel=1e-12)
    booked = np.mean([a["cost"]["total_yuan"] - b["cost"]["total_yuan"] for a, b in zip(arm_runs, base_runs,
                                                                                       strict=True)])
    assert _row(money_staff, "money", "youth_education")["booked_cost_yuan_per_unit"] == pytest.approx(booked / 10)
    assert 0 < booked <= 10e6 + 1e-3  # money spent, never more than given


def test_paired_differences_need_the_same_seeds():
    a = [{"seed": 1, "coverage": {"x": 0.5}, "reached": {"x": 10.0}, "cost_yuan": 1.0}]
    b = [{"seed": 2, "coverage": {"x": 0.5}, "reached": {"x": 10.0}, "cost_yuan": 1.0}]
    with pytest.raises(ValueError, match="same seeds"):
        paired_differences(a, b)
    d = paired_differences(a, [{"seed": 1, "coverage": {"x": 0.75}, "reached": {"x": 14.0}, "cost_yuan": 3.0}])
    assert d["coverage_pp"]["x"].tolist() == [25.0] and d["reached"]["x"].tolist() == [4.0]
    assert d["cost_yuan"].tolist() == [2.0]


@pytest.mark.parametrize("args, says", [
    (["funding.no_such_key=1"], "funding.no_such_key: no such key"),
    (["staffing.extra_staff_hours_per_month=-5"], "staffing.extra_staff_hours_per_month=-5.0 is not allowed"),
    (["--money-step=-1"], "--money-step=-1.0 is not allowed"),
    (["--hours-step", "-10"], "--hours-step=-10.0 is not allowed"),
    (["--seed-list", "1,x"], "--seed-list"),
    (["--seeds", "2", "--seed-list", "1"], "not allowed with argument"),
])
def test_cli_bad_input_is_one_line_and_status_2(args, says, capsys):
    assert main(args) == 2
    cap = capsys.readouterr()
    err = cap.err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    assert says in err
    assert cap.out == ""


def test_cli_end_to_end_writes_the_table(tmp_path, model_cache_dir, small_province, capsys):
    out = tmp_path / "marg"
    assert main(["--seed-list", "3", "--money-step", "5e6", "--hours-step", "2000", "--out", str(out),
                 *_overrides(model_cache_dir, months=2)]) == 0
    printed = capsys.readouterr().out
    assert f"files: {out}" in printed and "youth_education" in printed and "Per extra 1 M yuan" in printed
    df = pd.read_csv(out / "marginal.csv")
    assert len(df) == len(LEVER_NAMES) * len(COVERAGE)
    assert set(df["lever"]) == set(LEVER_NAMES)
    assert (df["n_seeds"] == 1).all() and df["coverage_pp_per_unit_lo"].isna().all()  # one seed: no interval
    assert (df.loc[df["lever"] == "money", "step"] == 5e6).all()
    assert (df.loc[df["lever"] != "money", "step"] == 2000).all()
    doc = json.loads((out / "marginal.json").read_text())
    assert doc["seeds"] == [3] and doc["months"] == 2 and doc["scale"] == SMALL_SCALE
    assert "linear" in doc["scaling"]
    assert len(doc["rows"]) == len(df)
    assert set(doc["paired_differences"]) == set(LEVER_NAMES)
    assert not list(out.glob(".*"))  # no temporary files left
