"""Sweeps: resume, failed jobs, launchers giving identical results, Ray on 127.0.0.1, paired runs
(the comparison itself is tested in tests/test_compare.py)."""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ray_available, ray_head

from sim.compare import runs_table
from sim.results import TIMING_KEYS

SMALL = ["population.scale=0.005", "months=3"]
pytestmark = pytest.mark.integration  # every test runs the command (and Ray) in subprocesses


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    e = dict(os.environ)
    e["OUTREACH_SIM_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    return e


def sweep(args, env, cwd, timeout=600):
    return subprocess.run([sys.executable, "-m", "sim", "-m", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def summaries(sweep_dir: Path) -> dict[str, dict]:
    out = {}
    for p in sorted(sweep_dir.glob("*/summary.json")):
        s = json.loads(p.read_text())
        for k in TIMING_KEYS:
            s.pop(k)
        out[p.parent.name] = s
    return out


@pytest.mark.slow
def test_resume_skips_complete_jobs_and_failed_jobs_do_not_stop_others(tmp_path, env):
    d = tmp_path / "sweep"
    args = ["population.n_villages=100,29213", "seed=1,2", *SMALL, f"hydra.sweep.dir={d}"]
    r = sweep(args, env, tmp_path)
    assert r.returncode == 1, r.stderr  # two jobs failed
    assert "sweep finished: 2 complete, 2 failed, 0 incomplete" in r.stdout
    assert "re-run only these" in r.stdout and f"hydra.sweep.dir={d}" in r.stdout
    good = sorted(p.parent.name for p in d.glob("*/summary.json"))
    assert good == ["months=3,population.n_villages=29213,population.scale=0.005,seed=1",
                    "months=3,population.n_villages=29213,population.scale=0.005,seed=2"]
    failed = sorted(d.glob("*/failed.json"))
    assert len(failed) == 2
    assert "population.n_villages=100 is not allowed" in json.loads(failed[0].read_text())["error"]

    # Remove one complete job; the re-run computes only that one and skips the other.
    before = {p: p.stat().st_mtime_ns for p in d.glob("*/summary.json")}
    victim = sorted(before)[0]
    victim.unlink()
    r = sweep(args, env, tmp_path)
    assert r.stdout.count("skipped (already complete)") == 1
    after = {p: p.stat().st_mtime_ns for p in d.glob("*/summary.json")}
    assert victim in after
    kept = sorted(before)[1]
    assert after[kept] == before[kept]


@pytest.mark.slow
def test_config_change_reruns_a_job(tmp_path, env):
    d = tmp_path / "sweep"
    base = ["seed=1", "population.scale=0.005", f"hydra.sweep.dir={d}", "hydra/launcher=basic"]
    assert sweep([*base, "months=2"], env, tmp_path).returncode == 0
    # Same job folder name is not reused for a different config (override_dirname differs) ...
    assert sweep([*base, "months=3"], env, tmp_path).returncode == 0
    assert len(list(d.glob("*/summary.json"))) == 2
    # ... and a job folder whose summary has another config hash is recomputed.
    job = next(d.glob("months=2*"))
    s = json.loads((job / "summary.json").read_text())
    s["config_hash"] = "stale"
    (job / "summary.json").write_text(json.dumps(s))
    r = sweep([*base, "months=2"], env, tmp_path)
    assert "skipped" not in r.stdout
    assert json.loads((job / "summary.json").read_text())["config_hash"] != "stale"


@pytest.mark.slow
def test_user_config_dir_rerun_command_and_neutral_keys(tmp_path, env):
    """A sweep of a user's scenario (--config-dir) prints a re-run command that works as printed;
    a re-run that changes only keys that do not affect results (sim.compose.NEUTRAL_KEYS) uses
    the same job folders and skips the complete jobs."""
    conf = tmp_path / "myconf"
    (conf / "scenario").mkdir(parents=True)
    (conf / "scenario" / "mine.yaml").write_text("# @package _global_\n# Mine.\nscenario:\n  name: mine\n"
                                                 "funding:\n  multiplier: 1.1\n")
    d = tmp_path / "sweep"
    task = ["scenario=mine", "population.n_villages=100,29213", "population.scale=0.002", "months=1"]
    r = sweep(["--config-dir", str(conf), *task, f"population.cache_dir={tmp_path / 'a'}", "hydra/launcher=basic",
               f"hydra.sweep.dir={d}"], env, tmp_path)
    assert r.returncode == 1 and "sweep finished: 1 complete, 1 failed" in r.stdout, r.stdout + r.stderr
    folders = sorted(p.name for p in d.iterdir() if p.is_dir())
    assert folders == ["months=1,population.n_villages=100,population.scale=0.002,scenario=mine",
                       "months=1,population.n_villages=29213,population.scale=0.002,scenario=mine"]
    lines = r.stdout.splitlines()
    rerun = shlex.split(lines[lines.index("re-run only these (complete jobs are skipped):") + 1])
    assert rerun[:3] == ["outreach-sim", "-m", f"--config-dir={conf}"]
    r = subprocess.run([sys.executable, "-m", "sim", *rerun[1:]], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.stdout.count("skipped (already complete)") == 1, r.stdout + r.stderr
    assert "sweep finished: 1 complete, 1 failed" in r.stdout
    r = sweep(["--config-dir", str(conf), *task, f"population.cache_dir={tmp_path / 'b'}", "progress=false",
               "hydra/launcher=basic", f"hydra.sweep.dir={d}"], env, tmp_path)
    assert r.stdout.count("skipped (already complete)") == 1, r.stdout + r.stderr
    assert sorted(p.name for p in d.iterdir() if p.is_dir()) == folders


@pytest.mark.slow
def test_basic_and_joblib_launchers_give_identical_summaries(tmp_path, env):
    args = ["scenario=baseline_2021,budget_plus_20", "seed=1,2", *SMALL]
    a = sweep([*args, f"hydra.sweep.dir={tmp_path / 'basic'}", "hydra/launcher=basic"], env, tmp_path)
    b = sweep([*args, f"hydra.sweep.dir={tmp_path / 'joblib'}", "hydra/launcher=joblib"], env, tmp_path)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    sa, sb = summaries(tmp_path / "basic"), summaries(tmp_path / "joblib")
    assert len(sa) == 4 and sa == sb


@pytest.mark.skipif(importlib.util.find_spec("hydra_plugins.hydra_ray_launcher") is None or not ray_available(),
                    reason="the ray extra is not installed (pip install -e '.[ray]')")
@pytest.mark.slow
def test_ray_launcher_on_a_local_head(tmp_path, env):
    """Start a Ray head on 127.0.0.1, sweep through it, compare with the basic launcher, stop it."""
    with ray_head(env) as (_, e):
        args = ["scenario=baseline_2021,budget_plus_20", "seed=1", *SMALL]
        r = sweep([*args, f"hydra.sweep.dir={tmp_path / 'ray_sweep'}", "hydra/launcher=ray"], e, tmp_path,
                  timeout=300)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
        sr = summaries(tmp_path / "ray_sweep")
        assert len(sr) == 2 and all(s["status"] == "ok" for s in sr.values())
        b = sweep([*args, f"hydra.sweep.dir={tmp_path / 'basic'}", "hydra/launcher=basic"], env, tmp_path)
        assert b.returncode == 0
        assert summaries(tmp_path / "basic") == sr


@pytest.mark.slow
def test_paired_differences_are_much_tighter_than_unpaired(tmp_path, env):
    """Common random numbers: budget_plus_20 - baseline varies far less by seed when paired."""
    d = tmp_path / "crn"
    r = sweep(["scenario=baseline_2021,budget_plus_20", "seed=1,2,3,4,5", "population.scale=0.005",
               f"hydra.sweep.dir={d}"], env, tmp_path)
    assert r.returncode == 0, r.stderr
    df = runs_table([d])[0]
    col = "reported.person_visits"
    a = df[df["scenario"] == "baseline_2021"].sort_values("seed")[col].to_numpy()
    b = df[df["scenario"] == "budget_plus_20"].sort_values("seed")[col].to_numpy()
    paired = np.var(b - a, ddof=1)
    unpaired = np.var(a, ddof=1) + np.var(b, ddof=1)
    assert paired < 0.25 * unpaired, (paired, unpaired)


# --------------------------------------------------------------------------- one sweep per folder
def _error_lines(r) -> list[str]:
    """The one error line, last on stderr (before it only the province's "loaded from cache")."""
    lines = r.stderr.strip().splitlines()
    err = [x for x in lines if x.startswith("error:")]
    assert len(err) == 1 and lines[-1] == err[0] and "Traceback" not in r.stderr, r.stderr
    assert all(x.startswith("province scale") for x in lines[:-1]), r.stderr
    return err


def _lock(d: Path, pid: int) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / ".sweep.lock").write_text(json.dumps({"pid": pid, "host": socket.gethostname()}))


def test_second_sweep_into_a_locked_folder_is_refused_in_one_line(tmp_path, env):
    d = tmp_path / "sweep"
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        _lock(d, holder.pid)
        r = sweep(["seed=1", *SMALL, f"hydra.sweep.dir={d}"], env, tmp_path)
    finally:
        holder.kill()
        holder.wait()
    assert r.returncode == 2, r.stderr
    err = _error_lines(r)
    assert err[0].startswith("error: another sweep (pid ") and str(d) in err[0], r.stderr
    assert r.stderr.strip().splitlines() == err  # refused before the province is loaded
    assert "Traceback" not in r.stderr and not list(d.glob("*/summary.json"))
    assert json.loads((d / ".sweep.lock").read_text())["pid"] == holder.pid  # the holder's lock is kept


@pytest.mark.slow
def test_stale_lock_is_taken_over_and_released(tmp_path, env):
    d = tmp_path / "sweep"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _lock(d, dead.pid)
    r = sweep(["seed=1", *SMALL, f"hydra.sweep.dir={d}"], env, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "sweep finished: 1 complete, 0 failed, 0 incomplete" in r.stdout
    assert not (d / ".sweep.lock").exists()


@pytest.mark.parametrize("make", ["file", "under_file", "readonly"])
def test_sweep_dir_that_cannot_be_written_is_one_line(tmp_path, env, make):
    if make == "file":
        d = tmp_path / "taken"
        d.write_text("keep")
        expected = "is a file"
    elif make == "under_file":
        (tmp_path / "taken").write_text("keep")
        d = tmp_path / "taken" / "sweep"
        expected = "cannot make the folder"
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        d = ro / "sweep"
        expected = "cannot make the folder"
    try:
        r = sweep(["seed=1", *SMALL, f"hydra.sweep.dir={d}"], env, tmp_path)
    finally:
        if make == "readonly":
            ro.chmod(0o700)
    assert r.returncode == 2, r.stderr
    err = _error_lines(r)
    assert err[0].startswith("error: hydra.sweep.dir=") and expected in err[0], r.stderr
    assert "Unable to configure handler" not in r.stderr + r.stdout
    if make == "file":
        assert d.read_text() == "keep"


# --------------------------------------------------------------------------- job folders, resume, orphans
def test_a_slash_in_a_swept_value_makes_one_folder_per_job(tmp_path, env):
    """A user's scenario in a subfolder (``scenario=regional/changsha``) is one job folder, named as
    sim.sweep.job_dirname says (Hydra's workers resolve it the same way), and counted complete."""
    from sim.compose import expand_jobs
    from sim.sweep import job_dirname, job_dirs

    conf = tmp_path / "myconf" / "scenario" / "regional"
    conf.mkdir(parents=True)
    (conf / "changsha.yaml").write_text("# @package _global_\n# Changsha.\nscenario:\n  name: changsha\n")
    d = tmp_path / "sweep"
    task = ["scenario=regional/changsha,baseline_2021", "population.scale=0.002", "months=1"]
    r = sweep(["--config-dir", str(tmp_path / "myconf"), *task, f"hydra.sweep.dir={d}"], env, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"sweep finished: 2 complete, 0 failed, 0 incomplete in {d}" in r.stdout
    names = sorted(p.name for p in d.iterdir() if p.is_dir())
    assert names == ["months=1,population.scale=0.002,scenario=baseline_2021",
                     "months=1,population.scale=0.002,scenario=regional%2Fchangsha"]
    assert names == sorted(job_dirname(job) for job in expand_jobs(task))
    assert [p.name for p in job_dirs(d)] == names
    s = json.loads((d / names[1] / "summary.json").read_text())
    assert s["scenario"] == "changsha" and s["status"] == "ok"


def _mtimes(d: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in d.rglob("*")}


def test_resume_fast_partial_and_of_another_version(tmp_path, env):
    """Re-running a complete sweep reports it without starting Hydra and touches nothing; a partly
    complete one runs only its missing job; a job folder holding this config's run by another
    version is refused in one line and kept, and the other jobs go on."""
    d = tmp_path / "sweep"
    # (Hydra's basic launcher: what is tested happens in the job, and no worker pool starts.)
    args = ["scenario=baseline_2021,budget_plus_20", "seed=1,2,3", "population.scale=0.002", "months=1",
            f"hydra.sweep.dir={d}", "hydra/launcher=basic"]
    r = sweep(args, env, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    jobs = sorted(p.parent for p in d.glob("*/summary.json"))
    assert len(jobs) == 6

    before = _mtimes(d)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        r = sweep(args, env, tmp_path)
        times.append(time.perf_counter() - t0)
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout.splitlines() == ["", f"sweep finished: 6 complete, 0 failed, 0 incomplete in {d}",
                                         f"compare: outreach-sim-compare {d}"]
        assert r.stderr == ""  # no province loaded, no Hydra log
    assert _mtimes(d) == before, "a complete sweep's re-run touches no file"
    print(f"fast resume of 6 complete jobs: median {sorted(times)[1]:.2f} s ({', '.join(f'{t:.2f}' for t in times)})")

    victim = jobs[2] / "summary.json"
    victim.unlink()
    kept = {p: before[p] for p in before if p.name == "summary.json" and p != victim}
    r = sweep(args, env, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("skipped (already complete)") == 5 and victim.exists()
    assert "sweep finished: 6 complete, 0 failed, 0 incomplete" in r.stdout
    assert {p: p.stat().st_mtime_ns for p in kept} == kept

    old = jobs[4] / "summary.json"
    s = json.loads(old.read_text())
    s.update(package_version="0.0.9", git_commit="e" * 40)
    old.write_text(json.dumps(s))
    old_bytes = old.read_bytes()
    r = sweep(args, env, tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    refused = [x for x in r.stderr.splitlines() if x.startswith("job refused:")]
    assert refused == [f"job refused: {jobs[4]} holds a complete run of this config by outreach-sim "
                       f"0.0.9@eeeeeeeeeeee, this is {s_version()}: it is kept; move the folder away to re-run it "
                       "with this code, or choose another folder"]
    assert "Traceback" not in r.stderr and r.stdout.count("skipped (already complete)") == 5
    assert f"sweep finished: 5 complete, 0 failed, 0 incomplete, 1 of another version in {d}" in r.stdout
    assert f"  other version: {jobs[4].name} (a complete run of outreach-sim 0.0.9@eeeeeeeeeeee" in r.stdout
    assert old.read_bytes() == old_bytes and not (jobs[4] / "failed.json").exists()


def s_version() -> str:
    from sim.runs import code_version, version_label

    return version_label(code_version())


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc to find the workers")
def test_workers_of_a_killed_sweep_stop_within_seconds_and_write_nothing(tmp_path, env):
    """``kill -9`` of a joblib sweep's driver while its jobs run: every worker ends within a few
    seconds (the watchdog), no file is written after the kill, no temporary or lock is left in
    the job folders, and the dead sweep's lock is stale (a re-run takes it over)."""
    from sim.sweep import lock_is_live, read_lock

    d = tmp_path / "sweep"
    args = ["seed=1,2", "population.scale=0.2", "months=60", "progress=false", f"hydra.sweep.dir={d}"]
    driver = subprocess.Popen([sys.executable, "-m", "sim", "-m", *args], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    workers: list[int] = []
    try:
        deadline = time.time() + 120
        while len(list(d.glob("*/.run.lock"))) < 2:  # both jobs have taken their folders
            assert driver.poll() is None and time.time() < deadline, driver.communicate()
            time.sleep(0.2)
        time.sleep(3)  # the province loaded, the models running (a 60-month run takes well over 10 s)
        workers = _children(driver.pid)
        assert len(workers) >= 2
        snapshot = _mtimes(d)
        driver.kill()
        killed = time.monotonic()
        driver.wait()
        while any(_running(w) for w in workers) and time.monotonic() - killed < 10:
            time.sleep(0.1)
        stopped_after = time.monotonic() - killed
        time.sleep(max(0.0, 10 - stopped_after))
        assert not [w for w in workers if _running(w)], "workers survive the driver"
        print(f"workers stopped {stopped_after:.1f} s after kill -9 of the driver")
        assert stopped_after < 5
        after = {p: t for p, t in _mtimes(d).items() if p.is_file()}  # folders change: the run locks are removed
        assert not [p for p in after if p not in snapshot or after[p] != snapshot[p]], "written after the kill"
        assert not list(d.glob("*/summary.json")) and not list(d.glob("*/.run.lock*"))
        assert not [p for p in d.rglob(".*.*") if p.parent != d and p.parent.name != ".hydra"]  # temporaries
        assert read_lock(d)["pid"] == driver.pid and not lock_is_live(read_lock(d))
        assert driver.stderr.read().count("the sweep that launched it is gone") == 2
    finally:
        for w in [*workers, *_children(driver.pid)]:
            if _running(w):
                os.kill(w, signal.SIGKILL)
        if driver.poll() is None:
            driver.kill()
            driver.wait()
