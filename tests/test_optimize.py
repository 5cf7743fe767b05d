"""outreach-sim-optimize: the space, the planned cost and the budget, the spec's checks, the command."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import optimize as O
from sim.compose import compose_run_config, with_overrides
from sim.errors import ConfigError, UserError


@settings(max_examples=80, deadline=None)
@given(raw=st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4),
       lows=st.lists(st.floats(0.0, 0.2), min_size=4, max_size=4),
       widths=st.lists(st.floats(0.01, 0.6), min_size=4, max_size=4))
def test_projected_shares_sum_to_one_within_their_bounds(raw, lows, widths):
    low, high = np.array(lows), np.array(lows) + np.array(widths)
    if not low.sum() <= 1 <= high.sum():
        return  # bounds that allow no shares are refused by load_spec
    s = O.project_shares(np.array(raw), low, high)
    assert s.sum() == pytest.approx(1.0, abs=1e-9)
    assert np.all(s >= low - 1e-9) and np.all(s <= high + 1e-9)


def test_projection_with_a_tiny_lower_bound_and_all_of_raw_on_one_share():
    """Found by hypothesis: the gap spread in proportion to a share of 5e-324 underflowed."""
    low = np.array([0.0, 0.0, 0.0, 5e-324])
    s = O.project_shares(np.array([0.0, 0.0, 1.0, 0.0]), low, low + 0.5)
    assert s.sum() == pytest.approx(1.0) and s[2] == pytest.approx(0.5) and np.all(s <= 0.5 + 1e-12)


def test_projection_keeps_shares_that_already_fit():
    s = O.project_shares(np.array([0.4, 0.35, 0.15, 0.1]), np.array([0.2, 0.175, 0.075, 0.05]),
                         np.array([0.6, 0.525, 0.225, 0.15]))
    assert s == pytest.approx([0.4, 0.35, 0.15, 0.1])


@pytest.fixture(scope="module")
def cfg():
    return compose_run_config(["scenario=baseline_2021", "progress=false"])


def test_the_package_spec_bounds_each_variable_within_half_its_2021_value(cfg):
    spec = O.load_spec(None, cfg)
    by = {v.key: v for v in spec.variables}
    assert by["funding.share_youth_lectures"].low == pytest.approx(0.2)
    assert by["funding.share_youth_lectures"].high == pytest.approx(0.6)
    assert by["staffing.county_staff"].low == pytest.approx(2) and by["staffing.county_staff"].high == pytest.approx(6)
    assert by["funding.policy"].choices == ("as_reported", "need_based", "per_capita")
    assert spec.equity_floor == {"youth_education": "baseline"}
    assert set(spec.verify_seeds).isdisjoint(spec.search_seeds)
    base = O.baseline_values(spec, "budget")
    assert base["funding.share_youth_lectures"] == pytest.approx(0.4) and base["funding.policy"] == "as_reported"


@pytest.mark.parametrize("text, message", [
    ("variables: {funding.nope: {}}", "variables.funding.nope='funding.nope' is not allowed: is not a parameter"),
    ("variables: {funding.online_shift: {low: 0.3, high: 0.1}}", "must be below high=0.1 (conflicting bounds)"),
    ("variables: {funding.share_youth_lectures: {}}", "the channel shares go together"),
    ("variables:\n  funding.share_youth_lectures: {low: 0.1, high: 0.2}\n  funding.share_family_health: {low: 0.1, "
     "high: 0.2}\n  funding.share_policy_events: {low: 0.1, high: 0.2}\n  funding.share_volunteers: {low: 0.1, "
     "high: 0.2}", "the channel shares' bounds must allow shares summing to 1"),
    ("variables: {funding.policy: {choices: [as_reported, lottery]}}", "funding.policy='lottery' is not allowed"),
    ("variables: {funding.online_shift: {}}", "its 2021 value is 0, so a bound relative to it leaves no room"),
    ("variables: {funding.outreach_share: {}}\nweights: {youth_education: 0}",
     "weights={'youth_education': 0.0} is not allowed: give at least one coverage indicator a positive weight"),
    ("variables: {funding.outreach_share: {}}\nweights: {nope: 1}", "weights.nope=1 is not allowed: is not an "
                                                                   "indicator here"),
    ("variables: {funding.outreach_share: {}}\nweights: {youth_education: 1}\ntargets: {happiness: 0.3}",
     "targets.happiness=0.3 is not allowed"),
    ("variables: {funding.outreach_share: {}}\nweights: {youth_education: 1}\nequity_floor: {family_health: 0.1}",
     "equity_floor.family_health"),
    ("variables: {funding.extra_outreach_yuan: {}}", "is set by the optimiser itself"),
    ("variables: {funding.online_shift: {low: 0, high: 2}}", "the bounds leave the parameter's range"),
    ("variables: {}", "name at least one decision variable"),
    ("colour: red", "unknown key 'colour'"),
])
def test_bad_specs_are_one_line(tmp_path, cfg, text, message):
    f = tmp_path / "spec.yaml"
    f.write_text(text + "\n")
    with pytest.raises(UserError) as e:
        O.load_spec(f, cfg)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_command_line_weights_floors_and_targets_replace_the_specs(cfg):
    spec = O.load_spec(None, cfg, weights={"youth_education": 2.0}, floors={}, targets={"family_health": 0.25})
    assert spec.weights == {"youth_education": 2.0} and spec.equity_floor == {}
    assert spec.targets == {"family_health": 0.25}
    with pytest.raises(ConfigError, match="give at least one coverage indicator a positive weight"):
        O.load_spec(None, cfg, weights={"youth_education": 0.0})


# ---------------------------------------------------------------------------- planned cost and budget
@pytest.fixture(scope="module")
def small(cache_dir):
    from sim.province import build_province

    c = compose_run_config(["scenario=baseline_2021", "population.scale=0.005", "progress=false",
                            f"population.cache_dir={cache_dir}"])
    return c, build_province(c.population, c.network, progress=False)


def test_planned_cost_is_the_years_money_posts_and_stipends_a_run_books(small):
    from sim.metrics import summary
    from sim.model import OutreachModel

    c, province = small
    m = OutreachModel(c, province)
    m.run()
    s = summary(m)
    expected = s["money_yuan"]["total"] + s["cost"]["by_use"]["staff_posts"] + s["cost"]["by_use"]["officer_stipends"]
    assert O.planned_cost(c, province) == pytest.approx(expected, rel=1e-12)
    assert s["cost"]["total_yuan"] <= O.planned_cost(c, province)
    # posts at their cost: one more county post in each of the 122 counties costs 122 posts
    more = with_overrides(c, {"staffing.county_staff": c.staffing.county_staff + 1})
    assert O.planned_cost(more, province) - O.planned_cost(c, province) == pytest.approx(
        122 * c.staffing.post_cost_yuan_per_year)


def test_the_budgets_rest_makes_an_allocation_plan_exactly_the_budget(small):
    c, province = small
    spec = O.load_spec(None, c)
    ev = O.Evaluator(dataclasses.replace(spec, equity_floor={}), "budget", c, province, workers=1)
    rng = np.random.default_rng(5)
    for _ in range(3):
        values = {v.key: (v.choices[rng.integers(len(v.choices))] if v.choices else rng.uniform(v.low, v.high))
                  for v in spec.variables}
        values["staffing.county_staff"] = 2.0  # fewer posts: money left for outreach
        values = O.normalise(values, spec)
        jobs, info = ev.jobs_for(values, 0)
        assert len(jobs) == len(spec.search_seeds)
        for job, seed in zip(jobs, spec.search_seeds, strict=True):
            v = dict(job.values)
            assert v[O.EXTRA] > 0
            cost = O.planned_cost(with_overrides(c, {**v, "seed": seed}), province)
            assert cost == pytest.approx(ev.budgets[seed], abs=1.0)  # to the yuan
    # more posts than the budget pays for: infeasible, not run
    over = O.normalise({**O.baseline_values(spec, "budget"), "staffing.county_staff": 6.0,
                        "funding.outreach_share": 0.35}, spec)
    jobs, info = ev.jobs_for(over, 0)
    assert jobs == [] and min(info["budget_gap_yuan"]) < -1e6


def test_pareto_front_keeps_only_undominated_feasible_trials():
    df = pd.DataFrame({"trial": [0, 1, 2, 3, 4], "objective": [0.5, 0.6, 0.55, 0.7, 0.65],
                       "equity": [0.2, 0.1, 0.15, 0.05, 0.3], "feasible": [True, True, True, True, False]})
    assert O.pareto_front(df)["trial"].tolist() == [3, 1, 2, 0]


# ---------------------------------------------------------------------------- the command
FAST = ["--search-scale", "0.002", "--verify-scale", "0.002", "--verify-seeds", "2", "--top", "1",
        "--search-seeds", "1", "months=3"]


@pytest.fixture
def cache_env(monkeypatch, cache_dir):
    monkeypatch.setenv("OUTREACH_SIM_CACHE", str(cache_dir))


@pytest.mark.slow
def test_budget_mode_end_to_end_and_resume(tmp_path, cache_env, capsys):
    out = tmp_path / "opt"
    rc = O.main(["--mode", "budget", "--trials", "4", "--out", str(out), "--workers", "1", *FAST])
    text = capsys.readouterr()
    assert rc == 0, text.err
    trials = pd.read_parquet(out / "trials.parquet")
    assert len(trials) == 4 and (trials["label"] == "2021 allocation").sum() == 1
    ver = pd.read_csv(out / "verification.csv")
    assert set(ver["against"]) == {"baseline_2021", "need_based"} and (ver["seeds"] == 2).all()
    obj = ver[(ver["indicator"] == "objective") & (ver["against"] == "baseline_2021")]
    assert len(obj) == 1 and obj["low"].iloc[0] <= obj["mean_difference"].iloc[0] <= obj["high"].iloc[0]
    # best.yaml is a scenario: --config-dir OUT scenario=optimized_budget reproduces the allocation
    c = compose_run_config(["scenario=optimized_budget"], config_dir=out)
    best = pd.read_json(out / "optimize.json", typ="series")["best"]["values"]
    assert c.funding.policy == best["funding.policy"]
    assert c.staffing.county_staff == pytest.approx(best["staffing.county_staff"])
    resp = pd.read_csv(out / "response.csv")
    assert set(resp["channel"]) == {"youth_lectures", "family_health_events", "policy_events", "volunteers"}
    assert (out / "figures" / "response.png").exists()
    # re-running resumes the study: no new trial
    rc = O.main(["--mode", "budget", "--trials", "4", "--out", str(out), "--workers", "1", *FAST])
    assert rc == 0 and len(pd.read_parquet(out / "trials.parquet")) == 4


def test_a_floor_no_allocation_reaches_ends_with_the_closest_result(tmp_path, cache_env, capsys):
    out = tmp_path / "opt"
    rc = O.main(["--mode", "budget", "--trials", "3", "--out", str(out), "--workers", "1",
                 "--floor", "youth_education=0.99", *FAST])
    text = capsys.readouterr()
    assert rc == 1
    assert "no allocation within the bounds met every constraint in 3 trials; the closest: trial" in text.out
    assert "floor.youth_education short by" in text.out
    assert (out / "trials.parquet").exists() and (out / "optimize.json").exists()


@pytest.mark.parametrize("args, message", [
    (["--mode", "best"], "--mode='best' is not allowed: must be one of ['budget', 'target', 'pareto']"),
    (["--mode", "budget", "--weight", "youth_education=0"], "give at least one coverage indicator a positive weight"),
    (["--mode", "budget", "--weight", "nope=1"], "weights.nope=1.0 is not allowed"),
    (["--mode", "target", "--target", "youth_education=1.5"], "targets.youth_education=1.5 is not allowed"),
    (["--mode", "budget", "population.scale=0.5"], "population.scale='0.5' is not allowed: is set by the optimiser"),
    (["--mode", "budget", "--trials", "1"], "--trials=1 is not allowed"),
    (["--mode", "budget", "--search-seeds", "1001"], "must differ from the verification seeds"),
])
def test_bad_command_lines_are_one_line_and_exit_2(tmp_path, cache_env, capsys, args, message):
    argv = [*args, "--out", str(tmp_path / "o")]
    if "--trials" not in argv:
        argv += ["--trials", "3"]
    rc = O.main(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error: ") and message in err and "\n" not in err, err
    assert not (tmp_path / "o").exists()
