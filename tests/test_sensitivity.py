"""Global sensitivity: the pipeline against known indices, robustness, EVPPI, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim import sensitivity as S
from sim.errors import ConfigError
from sim.uncertainty import Uncertain

ISHIGAMI_S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ISHIGAMI_ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}
"""Analytic indices of Ishigami's function with a = 7, b = 0.1 (SALib's reference values)."""


def ishigami(values: dict, seed: int) -> dict:
    x1, x2, x3 = values["x1"], values["x2"], values["x3"]
    return {"y": math.sin(x1) + 7 * math.sin(x2) ** 2 + 0.1 * x3 ** 4 * math.sin(x1)}


def test_sobol_indices_of_ishigami_through_the_pipeline_match_the_reference(tmp_path):
    params = [Uncertain(f"x{i}", -math.pi, math.pi) for i in (1, 2, 3)]
    design = S.make_design("sobol", params, 1024, seed=7)
    assert design.unit.shape == (1024 * 5, 3)
    res = S.run_function(ishigami, "ishigami", design, tmp_path, indicators=["y"])
    idx = res.indices[res.indices["kind"] == "level"].set_index(["parameter", "index"])
    for ref, name in ((ISHIGAMI_S1, "S1"), (ISHIGAMI_ST, "ST")):
        for p, v in ref.items():
            row = idx.loc[(p, name)]
            assert row["ci_low"] - 0.01 <= v <= row["ci_high"] + 0.01, (p, name, row.to_dict())
            assert row["value"] == pytest.approx(v, abs=0.06)
    # the runs table holds every point once, with the values the design maps to
    assert len(res.runs) == len(design.unit)
    assert np.allclose(res.runs[["x1", "x2", "x3"]].to_numpy(), design.values)


def linear(values: dict, seed: int) -> dict:
    return {"y": 3 * values["a"] - 2 * values["b"] + 0 * values["c"]}


def test_morris_effects_of_a_linear_function_are_its_slopes_times_the_ranges(tmp_path):
    params = [Uncertain("a", 0, 2), Uncertain("b", 10, 15), Uncertain("c", 0, 1)]
    design = S.make_design("morris", params, 10, seed=3)
    assert design.unit.shape == (10 * 4, 3)
    res = S.run_function(linear, "linear", design, tmp_path, indicators=["y"])
    idx = res.indices.set_index(["parameter", "index"])["value"]
    # elementary effects are per unit of quantile: slope x (high - low)
    assert idx[("a", "mu")] == pytest.approx(6.0)
    assert idx[("a", "mu_star")] == pytest.approx(6.0)
    assert idx[("b", "mu")] == pytest.approx(-10.0)
    assert idx[("b", "mu_star")] == pytest.approx(10.0)
    assert idx[("c", "mu_star")] == pytest.approx(0.0)
    assert idx[("a", "sigma")] == pytest.approx(0.0, abs=1e-9)


def test_designs_have_the_documented_sizes_and_blocks():
    params = [Uncertain(f"p{i}", 0, 1) for i in range(8)]
    m = S.make_design("morris", params, 5, levels=4)
    assert m.unit.shape == (45, 8) and m.block.tolist() == np.repeat(np.arange(5), 9).tolist()
    assert np.allclose(np.unique(np.round(m.unit, 12)), [0, 1 / 3, 2 / 3, 1])
    s = S.make_design("sobol", params, 256)
    assert s.unit.shape == (2560, 8) and s.block.max() == 255


@pytest.mark.parametrize("method, n, message", [
    ("sobol", 100, "--n=100 is not allowed: must be a power of two for Sobol sampling (nearest: 64 or 128)"),
    ("sobol", 3, "(nearest: 2 or 4)"),
    ("morris", 1, "--n=1 is not allowed: must be in [2, 1048576]"),
    ("sobol", 2.5, "must be a whole number"),
    ("fast", 8, "--method='fast' is not allowed: must be one of ['morris', 'sobol']"),
])
def test_design_sizes_are_checked(method, n, message):
    with pytest.raises(ConfigError) as e:
        S.make_design(method, [Uncertain("a", 0, 1), Uncertain("b", 0, 1)], n)
    assert message in str(e.value)


def test_evppi_and_evpi_of_hand_built_decisions():
    grid = np.array([0.0, 1 / 3, 2 / 3, 1.0])  # a Morris grid
    x = np.repeat(grid, 24)
    d = 2 * x - 1  # the scenario is better when x > 0.5: E[d] = 0
    noise = np.tile(grid, 24)  # each of its levels meets each level of x six times
    # knowing x decides perfectly: E[max(E[d|x], 0)] = (0 + 0 + 1/3 + 1) / 4
    assert S.evppi(d, x) == pytest.approx((1 / 3 + 1) / 4)
    assert S.evpi(d) == pytest.approx((1 / 3 + 1) / 4)
    assert S.evppi(d, noise) == pytest.approx(0.0, abs=1e-12)  # an unrelated parameter is worth nothing
    # a scenario better in every world: nothing to learn
    assert S.evpi(d + 5) == 0.0 and S.evppi(d + 5, x) == 0.0
    # continuous x: grouped in equal-size bins by rank
    xc = np.linspace(0, 1, 800)
    assert S.evppi(2 * xc - 1, xc, bins=8) == pytest.approx(0.25, abs=0.02)


def test_bootstrap_share_is_exact_at_the_extremes_and_brackets_the_share():
    block = np.repeat(np.arange(50), 3)
    assert S.bootstrap_share(np.ones(150, bool), block) == (1.0, 1.0, 1.0)
    flags = np.zeros(150, bool)
    flags[:60] = True  # 20 whole blocks of 50
    p, lo, hi = S.bootstrap_share(flags, block)
    assert p == pytest.approx(0.4) and lo < 0.4 < hi
    # whole blocks resampled: the interval is that of 50 independent draws (binomial s.e. 0.069)
    assert 0.15 < hi - lo < 0.35


def test_robustness_and_measure_first_on_hand_built_runs():
    params = [Uncertain("a", 0, 1), Uncertain("b", 0, 1)]
    design = S.make_design("morris", params, 20, seed=2)
    a = design.unit[:, 0]
    base = pd.DataFrame({"coverage.youth_education": 0.5 + 0 * a, "cost.total_yuan": 100.0 + 0 * a})
    # the scenario raises coverage when a > 0.5 and lowers it otherwise; it always costs 10 more
    scen = pd.DataFrame({"coverage.youth_education": 0.5 + 0.1 * (a - 0.5), "cost.total_yuan": 110.0 + 0 * a})
    means = {"baseline_2021": base, "s": scen}
    inds = ["coverage.youth_education", "cost.total_yuan"]
    rob = S.robustness_table(design, means, "baseline_2021", inds).set_index("indicator")
    assert rob.loc["coverage.youth_education", "p_better"] == pytest.approx(np.mean(a > 0.5))
    assert rob.loc["coverage.youth_education", "p_worse"] == pytest.approx(np.mean(a < 0.5))
    assert rob.loc["cost.total_yuan", "p_better"] == 0.0 and rob.loc["cost.total_yuan", "p_worse"] == 1.0
    assert rob.loc["cost.total_yuan", "better"] == "lower"
    idx = S.indices_table(design, means, "baseline_2021", inds)
    first = S.measure_first_table(design, means, "baseline_2021", inds, idx)
    top = first[(first["indicator"] == "coverage.youth_education") & (first["rank"] == 1)].iloc[0]
    assert top["parameter"] == "a" and top["evppi_share"] == pytest.approx(1.0)
    # b does not enter the difference: its EVPPI is only the grouping's small upward bias
    assert first[(first["indicator"] == "coverage.youth_education") & (first["parameter"] == "b")][
        "evppi_share"].iloc[0] < 0.1
    sentence = S.sentences(rob.reset_index(), first)["s"]
    assert "the ranking reverses on youth_education (better in 52 %" in sentence and "measure a first" in sentence
    assert S.ranking_class(0.95, 0.0) == "better" and S.ranking_class(0.3, 0.2) == "mixed"
    assert S.ranking_class(0.3, 0.05) == "better_or_same" and S.ranking_class(0.0, 0.0) == "same"


# ---------------------------------------------------------------------------- the command
SMALL = ["population.scale=0.005", "months=3", "progress=false"]


@pytest.fixture
def cache_env(tmp_path, monkeypatch, cache_dir):
    monkeypatch.setenv("OUTREACH_SIM_CACHE", str(cache_dir))
    return cache_dir


def test_the_command_end_to_end_small(tmp_path, cache_env, capsys):
    out = tmp_path / "sens"
    rc = S.main(["--method", "morris", "--n", "2", "--out", str(out), "--scenarios", "budget_plus_20",
                 "--params", "diffusion.q,diffusion.p_ext,staffing.staff_outreach_share", "--workers", "1", *SMALL])
    text = capsys.readouterr()
    assert rc == 0, text.err
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 2 * 4 * 2  # trajectories x points x arms
    assert sorted(runs["scenario"].unique()) == ["baseline_2021", "budget_plus_20"]
    # paired: both arms of a point ran with the same parameter values and seed
    pivot = runs.pivot(index="point", columns="scenario", values="diffusion.q")
    assert (pivot["baseline_2021"] == pivot["budget_plus_20"]).all()
    rob = pd.read_csv(out / "robustness.csv")
    assert set(rob["scenario"]) == {"budget_plus_20"} and len(rob) == len(S.INDICATORS)
    row = rob.set_index("indicator").loc["coverage.youth_education"]
    d = runs.pivot(index="point", columns="scenario", values="coverage.youth_education")
    assert row["p_better"] == pytest.approx(np.mean(d["budget_plus_20"] > d["baseline_2021"]))
    idx = pd.read_csv(out / "indices.csv")
    assert {"mu", "mu_star", "sigma"} == set(idx["index"])
    assert set(idx["kind"]) == {"level", "paired_difference"}
    assert (out / "measure_first.csv").exists() and (out / "sensitivity.json").exists()
    assert "budget_plus_20 vs baseline_2021" in text.out
    # re-running the same command resumes: nothing runs again, the same files come back
    before = runs.copy()
    rc = S.main(["--method", "morris", "--n", "2", "--out", str(out), "--scenarios", "budget_plus_20",
                 "--params", "diffusion.q,diffusion.p_ext,staffing.staff_outreach_share", "--workers", "1", *SMALL])
    assert rc == 0
    assert "all 16 runs already done" in capsys.readouterr().err
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), before)


@pytest.mark.parametrize("args, message", [
    (["--method", "sobol", "--n", "100"], "--n=100 is not allowed: must be a power of two for Sobol sampling "
                                          "(nearest: 64 or 128)"),
    (["--method", "morris", "--n", "2", "--scenarios", "nope"], "nope"),
    (["--method", "morris", "--n", "2", "--params", "diffusion.nope"], "--params='diffusion.nope'"),
    (["--method", "morris", "--n", "2", "--launcher", "slurm"], "--launcher='slurm' is not allowed"),
    (["--method", "morris", "--n", "2", "--seeds", "1,x"], "--seeds='1,x' is not allowed"),
    (["--method", "morris", "--n", "2", "--workers", "0"], "--workers=0 is not allowed"),
    (["--method", "morris", "--n", "2", "--levels", "3"], "--levels=3 is not allowed: must be even"),
    (["--method", "morris", "--n", "2", "--scenarios", "staff_plus_20", "--params",
      "staffing.staff_outreach_share,diffusion.q", "staffing.posts_multiplier=1.0"], None),
    (["--method", "morris", "--n", "2", "funding.multiplier=-1"], "funding.multiplier"),
    (["--method", "morris"], "the following arguments are required: --n, --out"),
])
def test_bad_input_is_one_line_and_exit_2_and_nothing_is_lost(args, message, tmp_path, cache_env, capsys):
    out = tmp_path / "sens"
    out.mkdir()
    keep = out / "earlier.txt"
    keep.write_text("kept")
    argv = [*args, *(["--out", str(out)] if "--n" in args else []), *SMALL]
    if message is None:  # a sampled parameter that a scenario sets is refused
        argv = [a for a in argv if a != "staffing.posts_multiplier=1.0"]
        argv[argv.index("staffing.staff_outreach_share,diffusion.q")] = "staffing.posts_multiplier,diffusion.q"
        message = "--params='staffing.posts_multiplier'"
    rc = S.main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
    assert keep.read_text() == "kept" and sorted(p.name for p in out.iterdir()) == ["earlier.txt"]


def test_an_uncertainty_file_with_an_unknown_parameter_is_refused(tmp_path, cache_env, capsys):
    f = tmp_path / "u.yaml"
    f.write_text("parameters:\n  diffusion.q: {low: 0.1, high: 0.5}\n  diffusion.qq: {low: 0.1, high: 0.5}\n")
    rc = S.main(["--method", "morris", "--n", "2", "--out", str(tmp_path / "o"), "--uncertainty", str(f), *SMALL])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err == ("error: parameters.diffusion.qq='diffusion.qq' is not allowed: is not a parameter of "
                               "the run config (group.key, e.g. diffusion.q)")
