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
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.cli import FolderRefused, precheck, run_job
from sim.compose import CONF_DIR, check_config_files, compose_jobs, compose_run_config, expand_jobs
from sim.config import MIN_SCALE
from sim.errors import UserError
from sim.results import config_hash, git_commit, write_json
from sim.runs import code_version, version_label
from sim.sweep import RUN_LOCK, STOPPED, job_dirname, report

HYDRA_ALLOWED = "the hydra settings allowed are"
TARGET = "_target_ may not be set"
LAUNCHER = "the hydra.launcher settings allowed with hydra/launcher="

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
    (["hydra.launcher.setup=[touch_x]"], "hydra.launcher.setup", LAUNCHER + "joblib are ['n_jobs'"),
    (["hydra/job_logging=disabled"], "hydra/job_logging", HYDRA_ALLOWED),
    (["hydra/callbacks=x"], "hydra/callbacks", HYDRA_ALLOWED),
    (["hydra.output_subdir=null"], "hydra.output_subdir", HYDRA_ALLOWED),
    (["hydra.job.name=x"], "hydra.job.name", HYDRA_ALLOWED),
    (["hydra.searchpath=[file:///tmp]"], "hydra.searchpath", "--config-dir"),
    (["+funding={_target_: os.system}"], "funding", TARGET),
    (["+scenario._target_=os.system"], "scenario._target_", TARGET),
    (["-m", "seed=1,2", "+hydra.job.env_set.A=1"], "hydra.job.env_set.A", HYDRA_ALLOWED),
    # launcher settings that run code, change the jobs' environment or write elsewhere (sim.compose.LAUNCHER_KEYS)
    (["hydra/launcher=ray", "+hydra.launcher.ray.init.runtime_env.env_vars.LD_PRELOAD=x.so"],
     "hydra.launcher.ray.init.runtime_env.env_vars.LD_PRELOAD", LAUNCHER + "ray are ['ray.init.address'"),
    (["hydra/launcher=ray", "hydra.launcher.ray.init.runtime_env={working_dir: /tmp/evil}"],
     "hydra.launcher.ray.init.runtime_env", LAUNCHER + "ray"),
    (["hydra/launcher=ray", "+hydra.launcher.ray.remote.runtime_env={env_vars: {A: b}}"],
     "hydra.launcher.ray.remote.runtime_env", LAUNCHER + "ray"),
    (["hydra/launcher=ray", "hydra.launcher.ray={init: {runtime_env: {pip: [evil]}}}"], "hydra.launcher.ray",
     LAUNCHER + "ray"),
    (["hydra/launcher=ray", "hydra.launcher.ray.init.include_dashboard=true"],
     "hydra.launcher.ray.init.include_dashboard", LAUNCHER + "ray"),
    (["hydra/launcher=submitit_slurm", "hydra.launcher.setup=[curl x | sh]"], "hydra.launcher.setup",
     LAUNCHER + "submitit_slurm are ['timeout_min'"),
    (["hydra/launcher=submitit_slurm", "hydra.launcher.srun_args=[--export=ALL]"], "hydra.launcher.srun_args",
     LAUNCHER + "submitit_slurm"),
    (["hydra/launcher=submitit_slurm", "+hydra.launcher.additional_parameters.wrap=rm"],
     "hydra.launcher.additional_parameters.wrap", LAUNCHER + "submitit_slurm"),
    (["hydra/launcher=submitit_slurm", "hydra.launcher.submitit_folder=/tmp/x"], "hydra.launcher.submitit_folder",
     LAUNCHER + "submitit_slurm"),
    (["hydra/launcher=submitit_slurm", "hydra.launcher.partition=cpu\nrm -rf ~"], "hydra.launcher.partition",
     "may not hold control characters"),
    (["hydra/launcher=submitit_local", "hydra.launcher.setup=[x]"], "hydra.launcher.setup",
     LAUNCHER + "submitit_local"),
    (["hydra.launcher.temp_folder=/tmp/x"], "hydra.launcher.temp_folder", LAUNCHER + "joblib"),
    (["hydra/launcher=basic", "hydra.launcher.n_jobs=2"], "hydra.launcher.n_jobs", LAUNCHER + "basic are []"),
    (["-m", "seed=1,2", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "hydra/launcher=basic"],
     "hydra.launcher.n_jobs", LAUNCHER + "basic are []"),
    (["hydra/launcher=ray_aws"], "hydra/launcher=ray_aws", "must be one of ['basic', 'joblib', 'ray'"),
    (["hydra.launcher={n_jobs: 2}"], "hydra.launcher", HYDRA_ALLOWED),
    (["hydra.launcher.n_jobs={a: 1}"], "hydra.launcher.n_jobs={a: 1}", "must be one plain value"),
    (["-m", "seed=1,2", "hydra.sweep.subdir=${a:${b}}"], "hydra.sweep.subdir", "does not parse"),
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


@pytest.mark.parametrize("launcher", [
    ["hydra/launcher=basic"],
    ["hydra.launcher.n_jobs=2", "hydra.launcher.prefer=threads", "hydra.launcher.batch_size=1",
     "hydra.launcher.pre_dispatch=3*n_jobs"],
    ["hydra/launcher=ray", "hydra.launcher.ray.init.address=127.0.0.1:6379", "hydra.launcher.ray.init.num_cpus=2",
     "hydra.launcher.ray.remote.num_cpus=1", "hydra.launcher.ray.remote.max_retries=0"],
    ["hydra/launcher=submitit_slurm", "hydra.launcher.partition=cpu", "hydra.launcher.timeout_min=30",
     "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=4", "hydra.launcher.account=me"],
    ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5"],
])
def test_allowed_hydra_overrides_pass(launcher):
    error, configs = precheck([*launcher, "hydra.run.dir=x", "hydra.sweep.dir=y", "hydra.sweep.subdir=z",
                               "hydra.job.chdir=false", "activities.livelihood_target_share=0.2"])
    assert error is None and len(configs) == 1
    assert configs[0].activities.livelihood_target_share == 0.2


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


def _complete_run(folder: Path, cfg_hash: str, **version) -> None:
    """A complete run's summary (only what resume reads): this code's version unless ``version`` says."""
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({"config_hash": cfg_hash, **code_version(), **version}))


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


def test_run_dir_of_another_version_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    old = tmp_path / "old"
    _complete_run(old, config_hash(compose_run_config(["seed=3"])), package_version="0.0.9", git_commit="f" * 40)
    before = (old / "summary.json").read_bytes()
    error, _ = precheck(["seed=3", f"hydra.run.dir={old}"])
    _one_line(error, f"hydra.run.dir={old}", "choose another folder")
    assert "outreach-sim 0.0.9@ffffffffffff" in error and f"this is {version_label(code_version())}" in error
    assert sorted(p.name for p in old.iterdir()) == ["summary.json"] and (old / "summary.json").read_bytes() == before


# ---------------------------------------------------------------- run folders: resume, one writer, workers
@pytest.fixture(scope="module")
def small(env):
    """A small job's config; its province is cached in this module's cache folder."""
    return compose_run_config(["population.scale=0.002", "months=1", "progress=false",
                               f"population.cache_dir={env['OUTREACH_SIM_CACHE']}"])


def test_resume_refuses_a_run_of_this_config_by_another_version(tmp_path, small):
    job = tmp_path / "job"
    _complete_run(job, config_hash(small), package_version="0.0.9", git_commit="a" * 40)
    before = {p.name: p.read_bytes() for p in job.iterdir()}
    with pytest.raises(FolderRefused) as info:
        run_job(small, job, quiet=True)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{job} holds a complete run of this config by outreach-sim "
                                              f"0.0.9@aaaaaaaaaaaa, this is {version_label(code_version())}")
    assert {p.name: p.read_bytes() for p in job.iterdir()} == before  # kept: no failed.json, no lock left
    for other in ({"package_version": "0.0.9"}, {"git_commit": "b" * 40}, {"git_commit": None}):
        if other.get("git_commit", 1) == code_version()["git_commit"]:
            continue  # (outside a git checkout this code's commit is None too)
        (job / "summary.json").write_text(json.dumps({"config_hash": config_hash(small), **code_version(), **other}))
        with pytest.raises(FolderRefused):
            run_job(small, job, quiet=True)
    # this code's complete run of the same config is skipped: returned as it is, nothing rewritten
    (job / "summary.json").write_text(json.dumps({"config_hash": config_hash(small), **code_version(), "x": 7}))
    assert run_job(small, job, quiet=True)["x"] == 7


def test_a_run_of_another_config_is_refused_by_a_single_run_and_replaced_by_a_sweep_job(tmp_path, small):
    job = tmp_path / "job"
    _complete_run(job, "0123456789abcdef")
    before = (job / "summary.json").read_bytes()
    with pytest.raises(FolderRefused) as info:
        run_job(small, job, quiet=True, replace_other_config=False)
    assert str(info.value) == (f"{job} already holds a complete run of another config (config_hash "
                               f"0123456789abcdef, this one {config_hash(small)}): choose another hydra.run.dir")
    assert (job / "summary.json").read_bytes() == before and sorted(p.name for p in job.iterdir()) == ["summary.json"]
    s = run_job(small, job, quiet=True)  # a sweep's job: its folder's name says its overrides; the config changed
    assert json.loads((job / "summary.json").read_text())["config_hash"] == s["config_hash"] == config_hash(small)


def _run_lock(folder: Path, pid: int, host: str | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RUN_LOCK).write_text(json.dumps({"pid": pid, "host": host or socket.gethostname()}))


def test_a_run_folder_has_one_writer_and_a_stale_lock_is_taken_over(tmp_path, small):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        for name, pid, host in (("here", holder.pid, None), ("elsewhere", 1, "another-host")):
            job = tmp_path / name
            _run_lock(job, pid, host)
            with pytest.raises(FolderRefused) as info:
                run_job(small, job, quiet=True)
            msg = str(info.value)
            assert "\n" not in msg and msg.startswith(f"{job}: another outreach-sim (pid {pid} on "
                                                      f"{host or socket.gethostname()}) is writing into this folder")
            assert sorted(p.name for p in job.iterdir()) == [RUN_LOCK]  # nothing written, the lock kept
            assert json.loads((job / RUN_LOCK).read_text())["pid"] == pid
    finally:
        holder.kill()
        holder.wait()
    job = tmp_path / "here"  # its writer is gone: the lock is stale, taken over, removed when done
    s = run_job(small, job, quiet=True)
    assert s["status"] == "ok" and json.loads((job / "summary.json").read_text())["seed"] == small.seed
    assert not (job / RUN_LOCK).exists() and not list(job.glob(f"{RUN_LOCK}*"))


CLAIM = """
import os, sys, time
from pathlib import Path
from sim.errors import UserError
from sim.sweep import claim_run_dir
go, stop = Path(sys.argv[2]), Path(sys.argv[3])
while not go.exists():
    time.sleep(0.005)
try:
    took = claim_run_dir(Path(sys.argv[1]))
except UserError:
    sys.exit(1)
t0 = time.monotonic()
while not stop.exists() and time.monotonic() - t0 < 60:  # hold it while the others try
    time.sleep(0.01)
os._exit(0 if took else 2)
"""


def test_only_one_of_many_processes_takes_a_run_folder(tmp_path):
    """Four processes try at once, over a stale lock: exactly one takes the folder."""
    folder, go, stop = tmp_path / "run", tmp_path / "go", tmp_path / "stop"
    _run_lock(folder, 2**22 + 12345)  # no such process: stale
    procs = [subprocess.Popen([sys.executable, "-c", CLAIM, str(folder), str(go), str(stop)]) for _ in range(4)]
    time.sleep(1.0)  # (most of) the four started and waiting
    go.write_text("")
    deadline = time.monotonic() + 60
    while sum(p.poll() is not None for p in procs) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.write_text("")  # the holder may go now
    codes = sorted(p.wait(timeout=60) for p in procs)
    assert codes == [0, 1, 1, 1]
    assert sorted(p.name for p in folder.iterdir()) == [RUN_LOCK]  # no takeover or temporary file left


WATCHED = """
import sys, time
from pathlib import Path
from sim.sweep import claim_run_dir, watchdog
job, alive = Path(sys.argv[1]), Path(sys.argv[2])
claim_run_dir(job)
(job / ".summary.json.tmp123").write_text("half")
(job / ".monthly.parquet.tmp456").write_text("half")
with watchdog(job, alive.exists, interval=0.2):
    print("running", flush=True)
    time.sleep(30)  # the model running
"""


def test_watchdog_ends_a_worker_whose_sweep_is_gone(tmp_path):
    """While a sweep's job runs, its sweep disappearing ends the process within about a second,
    after removing the job's temporary files and its run lock."""
    job, alive = tmp_path / "job", tmp_path / "sweep-alive"
    alive.write_text("")
    p = subprocess.Popen([sys.executable, "-c", WATCHED, str(job), str(alive)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "running\n"
        assert {x.name for x in job.iterdir()} == {".monthly.parquet.tmp456", ".summary.json.tmp123", RUN_LOCK}
        alive.unlink()
        t0 = time.monotonic()
        assert p.wait(timeout=10) == STOPPED and time.monotonic() - t0 < 3
    finally:
        p.kill()
        p.wait()
    assert list(job.iterdir()) == []  # temporaries and the run lock removed
    assert p.stderr.read().splitlines() == [f"job stopped: {job}: the sweep that launched it is gone"]


def test_a_job_knows_whether_the_sweep_that_launched_it_still_runs(tmp_path):
    """The job notes the lock it started under: its sweep runs while that lock stays and its
    process lives; a stale lock (kill -9) or another sweep's lock (a re-run took it over) stops it."""
    from sim.sweep import LOCK_FILE, read_lock, sweep_owner_alive

    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        host = socket.gethostname()
        (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": holder.pid, "host": host}))
        owner = read_lock(tmp_path)
        assert sweep_owner_alive(tmp_path, owner) and sweep_owner_alive(tmp_path)
        (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": os.getpid(), "host": host}))  # a re-run's lock
        assert not sweep_owner_alive(tmp_path, owner) and sweep_owner_alive(tmp_path)
        (tmp_path / LOCK_FILE).write_text(json.dumps(owner))
        holder.kill()
        holder.wait()
        assert not sweep_owner_alive(tmp_path, owner) and not sweep_owner_alive(tmp_path)  # stale
        (tmp_path / LOCK_FILE).unlink()  # released: the sweep ended normally
        assert sweep_owner_alive(tmp_path, owner)
    finally:
        holder.kill()
        holder.wait()


def _job(sweep: Path, name: str, **summary) -> Path:
    d = sweep / name
    (d / ".hydra").mkdir(parents=True)
    (d / ".hydra" / "overrides.yaml").write_text("[]\n")
    if summary:
        (d / "summary.json").write_text(json.dumps(summary))
    return d


def test_sweep_report_lists_failed_incomplete_and_other_versions(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    _job(sweep, "seed=1", config_hash="x", **code_version())
    _job(sweep, "scenario=regional%2Fchangsha,seed=1", config_hash="x", **code_version())
    (_job(sweep, "seed=2") / "failed.json").write_text("{}")
    _job(sweep, "seed=3")
    _job(sweep, "seed=4", config_hash="x", package_version="0.0.9", git_commit="c" * 40)
    _job(sweep / "scenario=a", "b,seed=5", config_hash="x", **code_version())  # nested by an older version
    bad = report(sweep, ["outreach-sim", "-m", "seed=1,2,3,4", f"hydra.sweep.dir={sweep}"])
    out = capsys.readouterr().out.splitlines()
    assert bad == 3
    assert out[1] == f"sweep finished: 3 complete, 1 failed, 1 incomplete, 1 of another version in {sweep}"
    assert out[2:5] == [f"  failed: seed=2 (see {sweep / 'seed=2' / 'failed.json'})", "  incomplete: seed=3",
                        f"  other version: seed=4 (a complete run of outreach-sim 0.0.9@cccccccccccc, this is "
                        f"{version_label(code_version())}; kept: move it away to re-run it)"]
    assert out[5:] == ["re-run only these (complete jobs are skipped):",
                       f"  outreach-sim -m seed=1,2,3,4 hydra.sweep.dir={sweep}",
                       f"compare: outreach-sim-compare {sweep}"]


# ---------------------------------------------------------------- a complete sweep re-run without Hydra
FAST = ["scenario=baseline_2021,budget_plus_20", "seed=1,2,3", "population.scale=0.002", "months=1"]


def _fake_sweep(sweep: Path, overrides: list[str], skip: int | None = None) -> list[Path]:
    """Job folders of a sweep as Hydra names them, each with a complete summary of its config."""
    jobs = expand_jobs(overrides)
    folders = []
    for i, (job, cfg) in enumerate(zip(jobs, compose_jobs(overrides), strict=True)):
        d = _job(sweep, job_dirname(job))
        if i != skip:
            (d / "summary.json").write_text(json.dumps({"config_hash": config_hash(cfg), **code_version()}))
        folders.append(d)
    return folders


def _main(monkeypatch, args: list[str]) -> int:
    import sim.cli as cli

    monkeypatch.setattr(sys, "argv", ["outreach-sim", *args])
    with pytest.raises(SystemExit) as e:
        cli.main()
    return e.value.code


def test_a_complete_sweep_is_reported_without_starting_hydra(tmp_path, monkeypatch, capsys):
    import sim.cli as cli
    import sim.sweep

    sweep = tmp_path / "sweep"
    folders = _fake_sweep(sweep, FAST)
    assert len({d.name for d in folders}) == 6
    monkeypatch.setattr(cli, "_hydra_main", lambda: pytest.fail("Hydra started"))
    monkeypatch.setattr(sim.sweep, "prebuild", lambda configs: pytest.fail("province built"))
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    assert _main(monkeypatch, ["-m", *FAST, f"hydra.sweep.dir={sweep}"]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines() == ["", f"sweep finished: 6 complete, 0 failed, 0 incomplete in {sweep}",
                                    f"compare: outreach-sim-compare {sweep}"]
    assert out.err == "" and {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before
    # a relative sweep folder and neutral keys (progress, n_jobs) do not change the jobs' folders
    monkeypatch.chdir(tmp_path)
    assert _main(monkeypatch, ["-m", *FAST, "progress=false", "hydra.launcher.n_jobs=1", "hydra.sweep.dir=sweep"]) == 0
    assert f"sweep finished: 6 complete, 0 failed, 0 incomplete in {sweep}" in capsys.readouterr().out


@pytest.mark.parametrize("change", ["missing", "other_config", "other_version", "subdir"])
def test_a_sweep_that_is_not_complete_starts_hydra(tmp_path, monkeypatch, capsys, change):
    import sim.cli as cli
    import sim.sweep

    sweep = tmp_path / "sweep"
    folders = _fake_sweep(sweep, FAST, skip=2 if change == "missing" else None)
    extra = []
    if change in ("other_config", "other_version"):
        s = json.loads((folders[4] / "summary.json").read_text())
        s.update({"config_hash": "0" * 16} if change == "other_config" else {"git_commit": "d" * 40})
        (folders[4] / "summary.json").write_text(json.dumps(s))
    elif change == "subdir":
        extra = ["hydra.sweep.subdir=x"]
    started = []
    monkeypatch.setattr(cli, "_hydra_main", lambda: started.append(1))
    monkeypatch.setattr(sim.sweep, "prebuild", lambda configs: started.append(len(configs)))
    monkeypatch.setattr(sys, "argv", ["outreach-sim", "-m", *FAST, f"hydra.sweep.dir={sweep}", *extra])
    sim.sweep.STATE["failed"] = 0
    cli.main()
    assert started == [6, 1] and "sweep finished" not in capsys.readouterr().out


def test_a_sweep_into_a_folder_another_sweep_writes_is_refused_before_anything_starts(tmp_path, monkeypatch,
                                                                                       capsys):
    """Even when every job is complete: the live sweep may be rewriting them."""
    import sim.cli as cli
    import sim.sweep

    sweep = tmp_path / "sweep"
    _fake_sweep(sweep, FAST)
    holder = {"pid": os.getppid(), "host": socket.gethostname()}  # a live process that is not this one
    (sweep / ".sweep.lock").write_text(json.dumps(holder))
    monkeypatch.setattr(cli, "_hydra_main", lambda: pytest.fail("Hydra started"))
    monkeypatch.setattr(sim.sweep, "prebuild", lambda configs: pytest.fail("province built"))
    assert _main(monkeypatch, ["-m", *FAST, f"hydra.sweep.dir={sweep}"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.splitlines() == [
        f"error: another sweep (pid {holder['pid']} on {holder['host']}) is writing into {sweep.resolve()}; "
        "wait for it to end or choose another hydra.sweep.dir"]


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


@pytest.mark.integration
def test_a_second_run_into_a_folder_being_written_is_refused(tmp_path, env):
    """Two ``outreach-sim`` into one ``hydra.run.dir`` at once: the second ends in one line before
    Hydra writes anything, and the folder holds the first run only (summary, config, overrides)."""
    out = tmp_path / "run"
    first = subprocess.Popen([sys.executable, "-m", "sim", "seed=1", "population.scale=0.05", "months=60",
                              "progress=false", f"hydra.run.dir={out}"], cwd=tmp_path, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not (out / RUN_LOCK).exists():
            assert first.poll() is None and time.time() < deadline, first.communicate()
            time.sleep(0.05)
        line = _command(["seed=2", "population.scale=0.05", "months=60", f"hydra.run.dir={out}"], env, tmp_path)
        assert first.poll() is None, "the first run ended before the second was refused: make it longer"
        assert line == (f"error: {out}: another outreach-sim (pid {first.pid} on {socket.gethostname()}) is "
                        "writing into this folder; wait for it to end or choose another folder")
        assert first.wait(timeout=300) == 0, first.stderr.read()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert json.loads((out / "summary.json").read_text())["seed"] == 1
    assert json.loads((out / "config.json").read_text())["seed"] == 1
    assert "seed=1" in (out / ".hydra" / "overrides.yaml").read_text()
    assert not (out / RUN_LOCK).exists() and not (out / "failed.json").exists()
