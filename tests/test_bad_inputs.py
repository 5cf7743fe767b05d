"""A catalogue of bad input: hostile configs, pre-check gaps, impossible values, run folders.

Every case ends with one line that names the key and what is allowed (exit status 2 on the
command line), no traceback, and no file touched outside the intended folder. Pure composition
errors are checked in-process with :func:`sim.cli.precheck` (fast tier); a few cases run the
real command (``integration``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import precheck
from sim.compose import CONF_DIR, check_config_files, compose_run_config
from sim.config import MIN_SCALE
from sim.errors import UserError
from sim.results import config_hash, git_commit, write_json

HYDRA_ALLOWED = "the hydra settings allowed are"
TARGET = "_target_ may not be set"

OVERRIDE_CASES = [
    # hostile overrides: code to import, the process environment, other hydra settings
    (["+hydra.callbacks.x._target_=builtins.open", "+hydra.callbacks.x.file=F", "+hydra.callbacks.x.mode=w"],
     "hydra.callbacks.x._target_", TARGET),
    (["+hydra.callbacks.x.file=F"], "hydra.callbacks.x.file", HYDRA_ALLOWED),
    (["++hydra.callbacks.sweep_report._target_=os.system"], "hydra.callbacks.sweep_report._target_", TARGET),
    (["~hydra.callbacks.sweep_report"], "hydra.callbacks.sweep_report", HYDRA_ALLOWED),
    (["hydra.callbacks=null"], "hydra.callbacks", HYDRA_ALLOWED),
    (["+hydra.job.env_set.LD_PRELOAD=x.so"], "hydra.job.env_set.LD_PRELOAD", HYDRA_ALLOWED),
    (["hydra.job.env_set={PATH: /tmp}"], "hydra.job.env_set", HYDRA_ALLOWED),
    (["hydra.launcher._target_=os.system"], "hydra.launcher._target_", TARGET),
    (["hydra.launcher.setup=[touch_x]"], "hydra.launcher.setup", HYDRA_ALLOWED),
    (["hydra/job_logging=disabled"], "hydra/job_logging", HYDRA_ALLOWED),
    (["hydra/callbacks=x"], "hydra/callbacks", HYDRA_ALLOWED),
    (["hydra.output_subdir=null"], "hydra.output_subdir", HYDRA_ALLOWED),
    (["hydra.job.name=x"], "hydra.job.name", HYDRA_ALLOWED),
    (["hydra.searchpath=[file:///tmp]"], "hydra.searchpath", "--config-dir"),
    (["+funding={_target_: os.system}"], "funding", TARGET),
    (["+scenario._target_=os.system"], "scenario._target_", TARGET),
    (["-m", "seed=1,2", "+hydra.job.env_set.A=1"], "hydra.job.env_set.A", HYDRA_ALLOWED),
    # keys added with + or ++ that are no field of the run config
    (["+funding.multiplyer=2"], "funding.multiplyer", "funding keys are ["),
    (["++funding.bogus=1"], "funding.bogus", "funding keys are ["),
    (["+typo.key=1"], "typo.key", "top-level keys are ["),
    (["+typo=1"], "typo", "top-level keys are ["),
    (["+population.scal=0.1"], "population.scal", "population keys are ["),
    (["++scenario.title=x"], "scenario.title", "scenario keys are ["),
    (["-m", "seed=1,2", "+staffing.volunteers=3"], "staffing.volunteers", "staffing keys are ["),
    # the pre-check runs for --cfg job and refuses --config-path
    (["--cfg", "job", "months=99"], "months=99", "must be in [1, 60]"),
    (["--cfg=job", "scenario=nope"], "scenario='nope'", "must be one of"),
    (["-c", "job", "+funding.multiplyer=2"], "funding.multiplyer", "funding keys are ["),
    (["-cp", "elsewhere"], "--config-path", "--config-dir"),
    (["--config-path=/tmp"], "--config-path", "--config-dir"),
    # impossible values
    (["population.scale=1e-9"], "population.scale=1e-09", f"[{MIN_SCALE:g}, 1]"),
    (["population.scale=1e-6"], "population.scale=1e-06", f"[{MIN_SCALE:g}, 1]"),
    (["population.scale=0.00004"], "population.scale=4e-05", f"[{MIN_SCALE:g}, 1]"),
    (["months=12.5"], "months=12.5", "whole number in [1, 60]"),
    (["months=0"], "months=0", "[1, 60]"),
    (["months=61"], "months=61", "[1, 60]"),
    (["seed=1.5"], "seed=1.5", "whole number in [0, "),
    (["population.n_villages=2.5"], "population.n_villages=2.5", "whole number in [1, inf)"),
    (["population.scale=abc"], "population.scale='abc'", "a number in (0, 1]"),
    (["scenario.name=a/b"], "scenario.name='a/b'", "folder name without '/'"),
    (["scenario.name=../etc"], "scenario.name='../etc'", "'..'"),
    (["scenario.name=.."], "scenario.name='..'", "'..'"),
    (["scenario.name=a\\\\b"], "scenario.name='a\\\\b'", "'\\'"),
    (["scenario.name=''"], "scenario.name=''", "non-empty"),
]


def _one_line(error: str | None, key: str, allowed: str) -> None:
    assert error is not None, "no error"
    assert "\n" not in error and "Traceback" not in error
    assert key in error and allowed in error, error


@pytest.mark.parametrize(("args", "key", "allowed"), OVERRIDE_CASES,
                         ids=[" ".join(c[0])[:60] for c in OVERRIDE_CASES])
def test_bad_command_line_gives_one_line(args, key, allowed, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    error, configs = precheck(args)
    _one_line(error, key, allowed)
    assert configs == []
    assert list(tmp_path.iterdir()) == []


def test_allowed_hydra_overrides_pass():
    error, configs = precheck(["hydra/launcher=basic", "hydra.launcher.n_jobs=2", "hydra.run.dir=x",
                               "hydra.sweep.dir=y", "hydra.sweep.subdir=z", "hydra.job.chdir=false",
                               "activities.livelihood_target_share=0.2"])
    assert error is None and len(configs) == 1


SCENARIO = "scenario:\n  name: mine\n"
FILE_CASES = [
    ("scenario/mine.yaml", "# @package _global_\n" + SCENARIO + "hydra:\n  job:\n    env_set:\n      A: b\n",
     "a 'hydra:' block is not allowed"),
    ("scenario/mine.yaml", "# @package _global_\n" + SCENARIO + "funding:\n  _target_: os.system\n",
     "'funding._target_' is not allowed"),
    ("scenario/mine.yaml", "# @package hydra.job.env_set\nLD_PRELOAD: x.so\n", "'# @package' may not name hydra"),
    ("scenario/mine.yaml", "# @package _global_\ndefaults:\n  - override /hydra/launcher: basic\n" + SCENARIO,
     "may not name hydra"),
    ("scenario/mine.yaml", "# @package _global_\n" + SCENARIO + "x:\n  - _target_: builtins.open\n",
     "'x.0._target_' is not allowed"),
    ("hydra/launcher/evil.yaml", "_target_: os.system\n", "a 'hydra/' folder"),
    ("scenario/other.yaml", "hydra:\n  run:\n    dir: /tmp\n", "a 'hydra:' block is not allowed"),
    ("scenario/mine.yaml", "a: [unclosed\n", "cannot be read as YAML"),
]


@pytest.mark.parametrize(("rel", "text", "allowed"), FILE_CASES, ids=[f"{c[0]}:{c[2][:30]}" for c in FILE_CASES])
def test_hostile_config_dir_is_refused(rel, text, allowed, tmp_path, monkeypatch):
    conf = tmp_path / "myconf"
    (conf / rel).parent.mkdir(parents=True)
    (conf / rel).write_text(text)
    (conf / "scenario").mkdir(exist_ok=True)
    if not (conf / "scenario" / "mine.yaml").exists():
        (conf / "scenario" / "mine.yaml").write_text("# @package _global_\n" + SCENARIO)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    error, configs = precheck(["--config-dir", str(conf), "scenario=mine"])
    _one_line(error, str(conf / rel), allowed)
    assert configs == [] and list(work.iterdir()) == []
    with pytest.raises(UserError, match="not allowed|may not|cannot be read"):
        compose_run_config(["scenario=mine"], config_dir=conf)
    # --cfg job and --info do not escape the check either
    assert precheck(["--cfg", "job", "--config-dir", str(conf)])[0] == error


def test_a_clean_config_dir_passes(tmp_path):
    (tmp_path / "scenario").mkdir()
    (tmp_path / "scenario" / "mine.yaml").write_text(
        "# @package _global_\n" + SCENARIO + "activities:\n  livelihood_target_share: 0.2\n")
    error, configs = precheck(["--config-dir", str(tmp_path), "scenario=mine"])
    assert error is None and configs[0].scenario.name == "mine"


def test_packaged_configs_follow_the_rule(tmp_path):
    check_config_files(CONF_DIR, groups_only=True)
    copy = tmp_path / "conf"
    shutil.copytree(CONF_DIR, copy)
    check_config_files(copy, groups_only=True)
    with (copy / "funding" / "default.yaml").open("a") as f:
        f.write("hydra:\n  job:\n    chdir: true\n")
    with pytest.raises(UserError, match=r"funding/default.yaml: a 'hydra:' block is not allowed"):
        check_config_files(copy, groups_only=True)


def _complete_run(folder: Path, cfg_hash: str) -> None:
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({"config_hash": cfg_hash}))


def test_run_dir_of_another_config_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    other, same = tmp_path / "other", tmp_path / "same"
    _complete_run(other, "0123456789abcdef")
    _complete_run(same, config_hash(compose_run_config(["seed=3"])))
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    error, _ = precheck(["seed=3", f"hydra.run.dir={other}"])
    _one_line(error, f"hydra.run.dir={other}", "choose another folder")
    assert "0123456789abcdef" in error
    assert precheck(["seed=3", f"hydra.run.dir={same}"])[0] is None  # the same config: skipped later
    assert precheck(["seed=3", f"hydra.run.dir={tmp_path / 'new'}"])[0] is None
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_write_json_refuses_nan(tmp_path, value):
    path = tmp_path / "summary.json"
    with pytest.raises(UserError) as info:
        write_json(path, {"ok": 1.0, "families": {"reached": [1.0, value]}})
    msg = str(info.value)
    assert "\n" not in msg and "families.reached.1" in msg and "summary.json" in msg
    assert list(tmp_path.iterdir()) == []


def test_git_commit_ignores_the_callers_git_environment(tmp_path, monkeypatch):
    expected = git_commit()
    monkeypatch.setenv("GIT_DIR", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'core.fsmonitor=touch x'")
    assert git_commit() == expected
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- the real command


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    e = dict(os.environ)
    e["OUTREACH_SIM_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    e["MPLBACKEND"] = "Agg"
    return e


def _command(args, env, cwd):
    r = subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    return lines[0]


@pytest.mark.integration
@pytest.mark.parametrize(("args", "expected"), [
    (["+hydra.callbacks.x._target_=builtins.open", "+hydra.callbacks.x.file=F", "+hydra.callbacks.x.mode=w"],
     TARGET),
    (["+hydra.job.env_set.LD_PRELOAD=x.so"], HYDRA_ALLOWED),
    (["-m", "seed=1,2", "+funding.multiplyer=2"], "funding keys are ["),
    (["--cfg", "job", "months=12.5"], "whole number in [1, 60]"),
    (["population.scale=1e-9"], f"[{MIN_SCALE:g}, 1]"),
])
def test_command_refuses_with_one_line(args, expected, tmp_path, env):
    line = _command(args, env, tmp_path)
    assert expected in line
    assert list(tmp_path.iterdir()) == []  # no F, no outputs/, no multirun/


@pytest.mark.integration
def test_command_refuses_a_hostile_config_dir(tmp_path, env):
    conf = tmp_path / "myconf" / "scenario"
    conf.mkdir(parents=True)
    (conf / "mine.yaml").write_text("# @package _global_\n" + SCENARIO + "hydra:\n  run:\n    dir: /tmp/x\n")
    work = tmp_path / "work"
    work.mkdir()
    line = _command(["--config-dir", str(tmp_path / "myconf"), "scenario=mine"], env, work)
    assert "a 'hydra:' block is not allowed" in line and list(work.iterdir()) == []


@pytest.mark.integration
def test_command_refuses_a_run_dir_of_another_config(tmp_path, env):
    other = tmp_path / "other"
    _complete_run(other, "0123456789abcdef")
    before = sorted(p.name for p in other.iterdir())
    line = _command(["seed=3", f"hydra.run.dir={other}"], env, tmp_path)
    assert "already holds a complete run of another config" in line
    assert sorted(p.name for p in other.iterdir()) == before
