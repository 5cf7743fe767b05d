"""Sweeps: resume, failed jobs, launchers giving identical results, Ray on 127.0.0.1, paired runs
(the comparison itself is tested in tests/test_compare.py)."""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

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


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, "the Ray head exited"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                time.sleep(3)  # the GCS accepts connections a moment before it serves them
                return
        time.sleep(0.5)
    raise AssertionError(f"the Ray head did not open port {port} within {timeout} s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(importlib.util.find_spec("hydra_plugins.hydra_ray_launcher") is None
                    or shutil.which("ray", path=str(Path(sys.executable).parent)) is None,
                    reason="the ray extra is not installed (pip install -e '.[ray]')")
@pytest.mark.slow
def test_ray_launcher_on_a_local_head(tmp_path, env):
    """Start a Ray head on 127.0.0.1, sweep through it, compare with the basic launcher, stop it."""
    ray = str(Path(sys.executable).parent / "ray")
    port = _free_port()
    # A fresh, short RAY_TMPDIR: Ray's unix socket paths must stay under 108 characters.
    ray_tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    head_env = dict(env, RAY_TMPDIR=ray_tmp)
    head_env.pop("RAY_ADDRESS", None)
    e = dict(head_env, RAY_ADDRESS=f"127.0.0.1:{port}")
    head = subprocess.Popen([ray, "start", "--head", "--block", "--node-ip-address=127.0.0.1",
                             f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
                             "--disable-usage-stats"], env=head_env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for_port(port, head, timeout=90)
        args = ["scenario=baseline_2021,budget_plus_20", "seed=1", *SMALL]
        r = sweep([*args, f"hydra.sweep.dir={tmp_path / 'ray_sweep'}", "hydra/launcher=ray"], e, tmp_path,
                  timeout=300)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
        sr = summaries(tmp_path / "ray_sweep")
        assert len(sr) == 2 and all(s["status"] == "ok" for s in sr.values())
        b = sweep([*args, f"hydra.sweep.dir={tmp_path / 'basic'}", "hydra/launcher=basic"], env, tmp_path)
        assert b.returncode == 0
        assert summaries(tmp_path / "basic") == sr
    finally:  # stop the head by its pid: SIGTERM lets it stop its processes, then SIGKILL the rest
        if head.poll() is None:
            head.send_signal(signal.SIGTERM)
            try:
                head.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(head.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        head.wait(timeout=10)
        shutil.rmtree(ray_tmp, ignore_errors=True)


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
