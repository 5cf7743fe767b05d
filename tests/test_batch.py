"""The batch runner: chunks, resume, refusal of another batch's folder, kill and resume, Ray."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import ray_available, ray_head

from sim import batch as B
from sim.errors import ConfigError, UserError

CALLS: list[int] = []


def square(values: dict, seed: int) -> dict:
    CALLS.append(seed)
    return {"y": values["x"] ** 2 + seed}


def failing(values: dict, seed: int) -> dict:
    if seed == 7:
        raise ValueError("boom")
    return {"y": float(seed)}


def jobs_of(n: int) -> list[B.Job]:
    return [B.Job(i, "a", i, (("x", float(i) / 2),)) for i in range(n)]


def test_rows_come_back_sorted_with_every_job_once(tmp_path):
    CALLS.clear()
    rows, stats = B.run_batch(B.FunctionTask(square, "square"), list(reversed(jobs_of(10))), tmp_path, workers=1,
                              chunk_size=3)
    assert rows["id"].tolist() == list(range(10))
    assert rows["y"].tolist() == [(i / 2) ** 2 + i for i in range(10)]
    assert stats.ran == 10 and stats.resumed == 0 and stats.chunks == 4
    assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == [
        "part-0000000-0000002.parquet", "part-0000003-0000005.parquet", "part-0000006-0000008.parquet",
        "part-0000009-0000009.parquet"]


def test_a_rerun_runs_only_the_missing_chunks_and_gives_the_same_rows(tmp_path):
    task = B.FunctionTask(square, "square")
    first, _ = B.run_batch(task, jobs_of(10), tmp_path, workers=1, chunk_size=3)
    (tmp_path / "parts" / "part-0000003-0000005.parquet").unlink()  # as if killed before this chunk
    (tmp_path / "parts" / ".part-0000006-0000008.parquet.tmp123").write_text("half")  # a killed writer's temp
    CALLS.clear()
    again, stats = B.run_batch(task, jobs_of(10), tmp_path, workers=1, chunk_size=3)
    assert sorted(CALLS) == [3, 4, 5] and stats.ran == 3 and stats.resumed == 7
    pd.testing.assert_frame_equal(first, again)
    assert not list((tmp_path / "parts").glob(".part-*"))


def test_joblib_workers_give_the_same_rows_as_one_process(tmp_path):
    task = B.FunctionTask(square, "square")
    one, _ = B.run_batch(task, jobs_of(12), tmp_path / "one", workers=1, chunk_size=2)
    two, stats = B.run_batch(task, jobs_of(12), tmp_path / "two", workers=2, chunk_size=2)
    pd.testing.assert_frame_equal(one, two)
    assert stats.workers == 2 and stats.ran == 12


def test_a_folder_of_another_batch_is_refused_and_kept(tmp_path):
    B.run_batch(B.FunctionTask(square, "square"), jobs_of(4), tmp_path, workers=1, chunk_size=2)
    before = sorted(p.name for p in (tmp_path / "parts").iterdir())
    with pytest.raises(UserError, match="holds the runs of another batch"):
        B.run_batch(B.FunctionTask(square, "square"), jobs_of(5), tmp_path, workers=1, chunk_size=2)
    with pytest.raises(UserError, match="holds the runs of another batch"):
        B.run_batch(B.FunctionTask(square, "other"), jobs_of(4), tmp_path, workers=1, chunk_size=2)
    assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == before


def test_a_failing_job_is_named_in_one_line_and_finished_chunks_are_kept(tmp_path):
    with pytest.raises(UserError) as e:
        B.run_batch(B.FunctionTask(failing, "failing"), jobs_of(10), tmp_path, workers=1, chunk_size=3)
    msg = str(e.value)
    assert "run 7 (a, seed 7, {'x': 3.5}) failed: ValueError: boom" in msg and "\n" not in msg
    assert "the 6 finished runs are kept" in msg
    assert len(list((tmp_path / "parts").glob("part-*.parquet"))) == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"launcher": "dask"}, "--launcher='dask' is not allowed: must be one of ['joblib', 'ray']"),
    ({"workers": 0}, "--workers=0 is not allowed"),
])
def test_bad_runner_options(tmp_path, kwargs, message):
    with pytest.raises(ConfigError) as e:
        B.run_batch(B.FunctionTask(square, "square"), jobs_of(2), tmp_path, **kwargs)
    assert message in str(e.value)


def test_repeated_job_ids_are_refused(tmp_path):
    jobs = jobs_of(3) + [B.Job(1, "a", 9)]
    with pytest.raises(ConfigError, match="every job needs its own id"):
        B.run_batch(B.FunctionTask(square, "square"), jobs, tmp_path, workers=1)


def test_chunk_size_aims_at_seconds_of_work_and_four_chunks_a_worker():
    assert B.default_chunk_size(1000, 2, seconds_per_run=0.5) == 10
    assert B.default_chunk_size(40, 2, seconds_per_run=0.01) == 5
    assert B.default_chunk_size(3, 8) == 1


# ---------------------------------------------------------------------------- subprocesses
SENS = ["--method", "morris", "--n", "4", "--params", "diffusion.q,diffusion.p_ext,diffusion.theta",
        "--scenarios", "budget_plus_20", "population.scale=0.005", "months=4", "progress=false"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    e = dict(os.environ)
    e["OUTREACH_SIM_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    e.pop("RAY_ADDRESS", None)
    return e


def sensitivity(args, env, **kw):
    return subprocess.Popen([sys.executable, "-m", "sim.sensitivity", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.integration
def test_killing_part_way_and_rerunning_gives_the_same_runs_as_an_uninterrupted_run(tmp_path, env):
    full = sensitivity([*SENS, "--out", str(tmp_path / "full"), "--workers", "1"], env)
    assert full.wait(timeout=300) == 0, full.stderr.read()
    killed = tmp_path / "killed"
    p = sensitivity([*SENS, "--out", str(killed), "--workers", "2"], env)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((killed / "batch" / "parts").glob("part-*.parquet"))) < 2:
        time.sleep(0.05)
    workers = _loky_workers(p.pid)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    assert workers, "the batch ran no worker processes"
    deadline = time.time() + 20
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.2)
    assert not any(_alive(w) for w in workers), "workers ran on after their driver was killed"
    parts = list((killed / "batch" / "parts").glob("part-*.parquet"))
    assert len(parts) >= 2 and not (killed / "runs.parquet").exists(), "killed too late to test resuming"
    again = sensitivity([*SENS, "--out", str(killed), "--workers", "2"], env)
    assert again.wait(timeout=300) == 0, again.stderr.read()
    assert f"{len(pd.concat(pd.read_parquet(f) for f in parts))} already done" in again.stderr.read()
    a, b = pd.read_parquet(tmp_path / "full" / "runs.parquet"), pd.read_parquet(killed / "runs.parquet")
    pd.testing.assert_frame_equal(a, b)
    for name in ("indices.csv", "robustness.csv", "measure_first.csv"):
        assert (tmp_path / "full" / name).read_bytes() == (killed / name).read_bytes(), name


def _loky_workers(pid: int) -> list[int]:
    """The loky worker processes among ``pid``'s children."""
    out = []
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid \
                    and b"LokyProcess" in (d / "cmdline").read_bytes():
                out.append(int(d.name))
        except (OSError, IndexError, ValueError):
            continue
    return out


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not ray_available(), reason="the ray extra is not installed (pip install -e '.[ray]')")
@pytest.mark.integration
@pytest.mark.slow
def test_ray_and_joblib_give_byte_identical_runs(tmp_path, env):
    """A Ray head on 127.0.0.1 runs the same batch as joblib: identical rows and summary digests."""
    with ray_head(env) as (address, head_env):
        r = sensitivity([*SENS, "--out", str(tmp_path / "ray"), "--launcher", "ray", "--ray-address", address],
                        head_env)
        assert r.wait(timeout=300) == 0, r.stderr.read()[-3000:]
        j = sensitivity([*SENS, "--out", str(tmp_path / "joblib")], env)
        assert j.wait(timeout=300) == 0, j.stderr.read()
        a, b = pd.read_parquet(tmp_path / "ray" / "runs.parquet"), pd.read_parquet(tmp_path / "joblib" / "runs.parquet")
        assert len(a) == 4 * 4 * 2
        pd.testing.assert_frame_equal(a, b)
        assert a["summary_sha256"].tolist() == b["summary_sha256"].tolist()
