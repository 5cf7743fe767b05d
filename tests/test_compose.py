"""Config composition (sim/compose.py): the one compose path, an extra config folder, programmatic
overrides and the keys that do not affect results."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import sim.calibration
from sim import compose
from sim.compose import (
    CONF_DIR,
    NEUTRAL_KEYS,
    compose_jobs,
    compose_run_config,
    run_neutral_keys,
    with_overrides,
    without_neutral,
)
from sim.config import NetworkConfig, PopulationConfig, RunConfig, StaffingConfig
from sim.errors import ConfigError, UserError
from sim.province import cache_key
from sim.results import config_hash

USER_SCENARIO = """# @package _global_
# A user's own scenario: ten per cent more association money.
scenario:
  name: mine
  description: "A user's scenario."
funding:
  multiplier: 1.1
"""


@pytest.fixture
def myconf(tmp_path) -> Path:
    d = tmp_path / "myconf"
    (d / "scenario").mkdir(parents=True)
    (d / "scenario" / "mine.yaml").write_text(USER_SCENARIO)
    return d


def test_importing_compose_does_not_import_hydra():
    code = "import sys, sim.compose; print(sorted(m for m in ('hydra', 'omegaconf') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_config_folder_is_inside_the_package():
    assert CONF_DIR == Path(compose.__file__).resolve().parent / "conf"
    assert (CONF_DIR / "config.yaml").is_file() and (CONF_DIR / "scenario" / "baseline_2021.yaml").is_file()


def test_default_composition_is_the_schema_defaults_of_the_province_groups():
    """``python -m sim.province`` without overrides describes the province of the schema defaults."""
    cfg = compose_run_config()
    assert isinstance(cfg, RunConfig)
    assert cfg.scenario.name == "baseline_2021"
    assert cfg.population == PopulationConfig()
    assert cfg.network == NetworkConfig()
    assert cfg.staffing == StaffingConfig()


def test_overrides_and_group_options():
    cfg = compose_run_config(["scenario=budget_plus_20", "population=small", "network=isolated", "seed=4",
                              "staffing.volunteers_per_village=2.5"])
    assert cfg.scenario.name == "budget_plus_20" and cfg.funding.multiplier == pytest.approx(1.2)
    assert cfg.population.scale == 0.01 and cfg.network.kind == "isolated" and cfg.seed == 4
    assert cfg.staffing.volunteers_per_village == 2.5


def test_compose_jobs_expands_a_sweep():
    jobs = compose_jobs(["scenario=baseline_2021,need_based", "seed=range(1,4)", "months=2"])
    assert sorted((c.scenario.name, c.seed) for c in jobs) == [
        (s, k) for s in ("baseline_2021", "need_based") for k in (1, 2, 3)]
    assert {c.months for c in jobs} == {2}
    assert compose_jobs(["seed=5"]) == [compose_run_config(["seed=5"])]


@pytest.mark.parametrize("overrides, expected", [
    (["funding.foo=1"], "funding.foo: no such key; funding keys are ["),
    (["scenario=nope"], "scenario='nope' is not allowed: must be one of ['baseline_2021'"),
    (["population.scale=2"], "population.scale=2.0 is not allowed: must be in (0, 1]"),
    (["scale0.01"], "override 'scale0.01' does not parse: write key=value"),
    (["x"], "override 'x' does not parse (missing EQUAL at '<EOF>'): write key=value"),
])
def test_errors_are_one_user_error_line(overrides, expected):
    for call in (compose_run_config, compose_jobs):
        with pytest.raises(UserError) as info:
            call(overrides)
        assert expected in str(info.value) and "\n" not in str(info.value)


def test_an_extra_config_dir_adds_the_users_scenarios(myconf, monkeypatch):
    assert compose_run_config(["scenario=mine"], config_dir=myconf).funding.multiplier == pytest.approx(1.1)
    # the package's own configs are still there, and a relative folder is relative to the working folder
    monkeypatch.chdir(myconf.parent)
    jobs = compose_jobs(["scenario=mine,budget_cut_20"], config_dir="myconf")
    assert [c.funding.multiplier for c in jobs] == pytest.approx([1.1, 0.8])
    with pytest.raises(UserError, match=r"scenario='mine' is not allowed"):
        compose_run_config(["scenario=mine"])
    with pytest.raises(UserError, match=r"scenario='nope' is not allowed: must be one of \[.*'mine'"):
        compose_run_config(["scenario=nope"], config_dir=myconf)


def test_a_missing_config_dir_is_one_line(tmp_path):
    with pytest.raises(UserError, match=r"^--config-dir: additional config directory '.*nope' not found$"):
        compose_run_config([], config_dir=tmp_path / "nope")
    with pytest.raises(UserError, match="not both"):
        compose_run_config([f"hydra.searchpath=['file://{tmp_path}']"], config_dir=tmp_path)


def test_a_config_dir_with_a_quote_in_its_name(tmp_path):
    d = tmp_path / "it's, mine"
    (d / "scenario").mkdir(parents=True)
    (d / "scenario" / "mine.yaml").write_text(USER_SCENARIO)
    assert compose_run_config(["scenario=mine"], config_dir=d).scenario.name == "mine"


# ---------------------------------------------------------------- with_overrides
def test_with_overrides_replaces_converts_and_validates():
    cfg = compose_run_config(["population.scale=0.05"])
    c = with_overrides(cfg, {"activities.youth_per_lecture": 300, "diffusion.q": 0.5, "seed": 7.0,
                             "staffing.township_staff_min": 2.0})
    assert c.activities.youth_per_lecture == 300 and c.diffusion.q == 0.5
    assert c.seed == 7 and isinstance(c.seed, int)
    assert c.staffing.township_staff_min == 2 and isinstance(c.staffing.township_staff_min, int)
    assert c.population == cfg.population and c.funding == cfg.funding
    assert cfg.seed == 1 and cfg.diffusion.q != 0.5, "the original is unchanged"
    with pytest.raises(ConfigError, match=r"activities\.nope"):
        with_overrides(cfg, {"activities.nope": 1})
    with pytest.raises(ConfigError, match="population"):
        with_overrides(cfg, {"population": 1})
    with pytest.raises(ConfigError, match=r"seed\.x"):
        with_overrides(cfg, {"seed.x": 1})
    with pytest.raises(ConfigError, match=r"months"):
        with_overrides(cfg, {"months": 0})
    with pytest.raises(ConfigError, match=r"diffusion\.theta"):
        with_overrides(cfg, {"diffusion.theta": 2.0})


def test_with_overrides_uses_the_declared_type():
    """A float field whose default is written as an int (volunteers_per_village = 3) takes 2.5;
    an int field refuses a fraction."""
    cfg = RunConfig()
    assert with_overrides(cfg, {"staffing.volunteers_per_village": 2.5}).staffing.volunteers_per_village == 2.5
    with pytest.raises(ConfigError, match=r"seed=2\.5 is not allowed: must be a whole number"):
        with_overrides(cfg, {"seed": 2.5})
    assert with_overrides(cfg, {"progress": 0}).progress is False


def test_with_overrides_matches_composition():
    values = {"funding.multiplier": 1.3, "staffing.volunteers_per_village": 4.5, "months": 3}
    cfg = compose_run_config()
    assert with_overrides(cfg, values) == compose_run_config([f"{k}={v}" for k, v in values.items()])


def test_calibration_still_exports_with_overrides():
    assert sim.calibration.with_overrides is with_overrides


# ---------------------------------------------------------------- keys that do not affect results
def test_neutral_keys_are_keys_of_the_config():
    cfg = compose_run_config()
    for key in run_neutral_keys():
        node = cfg
        for part in key.split("."):
            assert hasattr(node, part), key
            node = getattr(node, part)
    assert set(NEUTRAL_KEYS) - set(run_neutral_keys()) == {"hydra.launcher.n_jobs"}


def test_sweep_folder_names_leave_out_the_neutral_keys():
    """conf/config.yaml keeps its own list (Hydra reads it); it must equal NEUTRAL_KEYS."""
    conf = yaml.safe_load((CONF_DIR / "config.yaml").read_text())
    exclude = conf["hydra"]["job"]["config"]["override_dirname"]["exclude_keys"]
    assert sorted(exclude) == sorted(NEUTRAL_KEYS)
    assert len(exclude) == len(set(exclude))


def test_without_neutral_drops_only_the_neutral_keys_and_copies():
    d = dataclasses.asdict(compose_run_config())
    out = without_neutral(d)
    assert "progress" not in out and "cache_dir" not in out["population"] and "use_cache" not in out["population"]
    assert "progress" in d and "cache_dir" in d["population"], "the input is unchanged"
    assert out["scenario"] == {"name": "baseline_2021"}, "descriptions do not affect results"
    assert {k: v for k, v in out.items() if k not in ("population", "scenario")} == {
        k: v for k, v in d.items() if k not in ("progress", "population", "scenario")}
    assert out["population"] == {k: v for k, v in d["population"].items() if k not in ("cache_dir", "use_cache")}


def test_results_and_province_cache_ignore_exactly_the_neutral_keys(tmp_path):
    cfg = compose_run_config(["population.scale=0.05"])
    neutral = compose_run_config(["population.scale=0.05", "progress=false", f"population.cache_dir={tmp_path}",
                                  "population.use_cache=false"])
    assert neutral != cfg
    assert config_hash(neutral) == config_hash(cfg)
    assert cache_key(neutral.population, neutral.network) == cache_key(cfg.population, cfg.network)
    for override in ("seed=2", "months=11", "population.scale=0.04", "funding.multiplier=1.01"):
        assert config_hash(compose_run_config(["population.scale=0.05", override])) != config_hash(cfg), override


# ---------------------------------------------------------------- many jobs, one composition per shape
SWEEP = ["scenario=baseline_2021,need_based", "seed=1,2", "funding.multiplier=1.0,1.5", "months=3",
         "scenario.description=a/b", "activities.youth_lecture_lead_roles=[lecturer,staff]"]


def test_compose_jobs_equals_composing_each_job(monkeypatch):
    """Jobs that differ only in plain values share one Hydra composition, with the same result."""
    import hydra

    calls = []
    real = hydra.compose

    def counted(*args, **kwargs):
        calls.append(kwargs.get("overrides"))
        return real(*args, **kwargs)

    monkeypatch.setattr(hydra, "compose", counted)
    jobs = compose.expand_jobs(SWEEP)
    fast = compose_jobs(SWEEP)
    assert len(jobs) == len(fast) == 8 and len(calls) == 2  # one per scenario
    each = [compose_run_config(job) for job in jobs]
    assert fast == each
    assert [(c.scenario.name, c.seed, c.funding.multiplier) for c in fast] == [
        (s, k, m) for s in ("baseline_2021", "need_based") for k in (1, 2) for m in (1.0, 1.5)]
    assert {c.scenario.description for c in fast} == {"a/b"} and fast[0].months == 3


@pytest.mark.parametrize("overrides, bad_job, expected", [
    (["seed=1,2.5"], ["seed=2.5"], "seed=2.5 is not allowed: must be a whole number"),
    (["population.scale=0.1,0"], ["population.scale=0"], "population.scale=0.0 is not allowed"),
    (["funding.multiplier=1,abc"], ["funding.multiplier=abc"], "funding.multiplier='abc' is not allowed"),
    (["months=2", "seed=1,null"], ["months=2", "seed=null"], "seed"),
])
def test_a_bad_value_in_a_shared_composition_reads_as_hydras_error(overrides, bad_job, expected):
    with pytest.raises(UserError) as shared:
        compose_jobs(overrides)
    with pytest.raises(UserError) as alone:
        compose_run_config(bad_job)
    assert expected in str(shared.value) and str(shared.value) == str(alone.value)


def test_group_options_and_added_keys_are_composed_by_hydra(myconf, monkeypatch):
    """A key naming a config group (also one of the user's folder) is never a plain value."""
    (myconf / "seed").mkdir()  # a user's group named like a top-level key: seed=... is a group option
    jobs = compose_jobs(["scenario=mine,budget_cut_20", "population=small,default"], config_dir=myconf)
    assert [(c.scenario.name, c.population.scale) for c in jobs] == [
        ("mine", 0.01), ("mine", PopulationConfig().scale), ("budget_cut_20", 0.01),
        ("budget_cut_20", PopulationConfig().scale)]
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    shape, values = compose._shape(parser, ["seed=2", "+funding.extra_outreach_yuan=1", "months=${seed}"],
                                   [CONF_DIR, myconf])
    assert values == [] and [kind for kind, _ in shape] == ["other", "other", "other"]


# ---------------------------------------------------------------- job folders
@pytest.mark.parametrize("name, expected", [
    ("seed=1", "seed=1"),
    ("scenario=regional/changsha,seed=1", "scenario=regional%2Fchangsha,seed=1"),
    ("x=../../etc", "x=..%2F..%2Fetc"),
    ("x=a\\b", "x=a%5Cb"),
    ("x=100%", "x=100%25"),
    ("x=a%2Fb", "x=a%252Fb"),  # different names stay different
    ("x=line\nbreak\ttab", "x=line%0Abreak%09tab"),
    ("", "defaults"),
    ("..", "%2E%2E"),
])
def test_safe_dirname_makes_one_folder(name, expected):
    from sim.sweep import safe_dirname

    assert safe_dirname(name) == expected
    assert "/" not in expected and expected not in (".", "..", "")


def test_safe_dirname_cuts_long_names_and_keeps_them_apart():
    from sim.sweep import NAME_MAX, safe_dirname

    a, b = "x=" + "é" * 300 + "a", "x=" + "é" * 300 + "b"
    sa, sb = safe_dirname(a), safe_dirname(b)
    assert len(sa.encode()) <= NAME_MAX and len(sb.encode()) <= NAME_MAX and sa != sb
    assert sa.startswith("x=éé") and sa[-17] == "~" and sa == safe_dirname(a)


@pytest.mark.parametrize("job", [
    ["seed=1"],
    ["scenario=budget_plus_20", "seed=2", "funding.multiplier=1.5"],
    ["funding.policy=need_based", "activities.youth_lecture_lead_roles=[lecturer,staff]", "months=3"],
    ["progress=false", "population.cache_dir=/a/b"],  # only neutral keys: 'defaults'
    [],
])
def test_hydra_names_a_jobs_folder_as_job_dirname_says(job):
    """conf/config.yaml's hydra.sweep.subdir (through the job_dirname resolver) equals
    sim.sweep.job_dirname, which the fast resume uses without Hydra."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from omegaconf import OmegaConf

    import sim.cli  # noqa: F401 - registers the resolvers
    from sim.sweep import job_dirname

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        cfg = hydra_compose(config_name="config", overrides=job, return_hydra_config=True)
    subdir = OmegaConf.select(cfg, "hydra.sweep.subdir")
    assert subdir == job_dirname(job)
    expected = ",".join(sorted(o for o in job if not o.startswith(("progress", "population.cache_dir")))) or "defaults"
    assert subdir == expected
