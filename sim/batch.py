"""Many runs, fast: a batch runner that keeps the province and the imports in each worker.

A Hydra job pays its start-up (interpreter, imports, composition, loading the province) for
every run: seconds at small scales. The batch runner pays it once per worker: the driver sends
*chunks* of jobs (a few seconds of work each) to long-lived workers, each keeping the provinces
it has loaded (:func:`province_for`) and its imports, and a job only replaces parameter values
in an already composed config (:func:`sim.compose.with_overrides`, microseconds).

* **Jobs** (:class:`Job`): an arm (a name the task maps to a composed config, e.g. a scenario),
  a seed and parameter values. Results depend on nothing else: the same job gives the same row
  on any worker, in any chunk, on any launcher.
* **Tasks** say what a job computes: :class:`ModelTask` runs the model and keeps chosen summary
  indicators and a SHA-256 of the whole summary (so two launchers can be checked byte for byte);
  :class:`FunctionTask` evaluates a plain function (test functions such as Ishigami's go
  through the same pipeline).
* **Launchers**: ``joblib`` (loky processes on this machine, one per core by default) and
  ``ray`` (a Ray cluster: ``$RAY_ADDRESS`` or ``ray_address``; the workers must see the same
  province cache folder, e.g. a shared disk). Chunks are the same on both.
* **Resumable**: each finished chunk is written by the driver as ``parts/part-<first>-<last>.parquet``
  through a temporary file renamed into place, so a kill leaves no half-written file; re-running
  the same batch into the same folder runs only the chunks without a part (finished chunks are
  kept; the runs of chunks in flight at the kill are redone). ``batch.json`` holds the batch's
  fingerprint (task and jobs); a folder holding another batch is refused in one line. A joblib
  worker whose driver is killed ends before its next run (it checks the driver's pid), so no
  worker runs on for nobody.
* **Progress**: a one-line bar (runs done, runs a minute) on a terminal.

The rows come back sorted by job id, whatever order chunks finished in.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from sim.config import RunConfig
from sim.errors import ConfigError, UserError
from sim.progress import Progress

LAUNCHERS = ("joblib", "ray")
PARTS = "parts"
BATCH_FILE = "batch.json"
TARGET_CHUNK_SECONDS = 5.0
"""Aimed-at work per chunk: long enough that sending a chunk costs little, short enough that a
kill loses little and the last chunks balance between workers."""


@dataclass(frozen=True)
class Job:
    """One run: ``arm`` (the task's name for a base config), ``seed`` and parameter ``values``."""

    id: int
    arm: str
    seed: int
    values: tuple[tuple[str, float], ...] = ()

    def key(self) -> str:
        return json.dumps([self.id, self.arm, self.seed, [[k, float(v)] for k, v in self.values]])


class Task(Protocol):
    """What a job computes: ``run(job)`` returns a row of numbers (a dict), the same on any worker."""

    def fingerprint(self) -> str: ...

    def run(self, job: Job) -> dict: ...


# ---------------------------------------------------------------------------- tasks
_PROVINCES: dict[tuple[str, str], Any] = {}
"""The provinces this process has loaded, by (population, network) config."""


def province_for(cfg: RunConfig):
    """The province of ``cfg``, loaded once per process (from the cache the driver filled)."""
    key = (repr(cfg.population), repr(cfg.network), cfg.region)
    if key not in _PROVINCES:
        from sim.province import province_for

        _PROVINCES[key] = province_for(cfg, progress=False)
    return _PROVINCES[key]


def dig(d: dict, dotted: str) -> float:
    """The number at ``a.b.c`` of a nested dict (None becomes NaN)."""
    for part in dotted.split("."):
        d = d[part]
    return float("nan") if d is None else float(d)


def summary_digest(s: dict) -> str:
    """SHA-256 of a summary's canonical JSON (sorted keys): equal digests, equal summaries."""
    return hashlib.sha256(json.dumps(s, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class ModelTask:
    """Run the model: ``configs[job.arm]`` with the job's values and seed; keep ``indicators``."""

    configs: dict[str, RunConfig]
    indicators: tuple[str, ...]

    def fingerprint(self) -> str:
        """The configs, the indicators and the code (package version and git commit): a batch is
        resumed only by the code that started it, as a sweep is (:mod:`sim.sweep`)."""
        import sim
        from sim.results import config_hash
        from sim.runs import git_commit
        return json.dumps({"task": "model", "version": sim.__version__, "commit": git_commit(),
                           "indicators": list(self.indicators),
                           "configs": {k: config_hash(c) for k, c in sorted(self.configs.items())}})

    def run(self, job: Job) -> dict:
        from sim.compose import with_overrides
        from sim.metrics import summary
        from sim.model import OutreachModel

        cfg = with_overrides(self.configs[job.arm], {**dict(job.values), "seed": job.seed, "progress": False})
        province = province_for(cfg)
        t0 = time.perf_counter()
        m = OutreachModel(cfg, province)
        m.run()
        s = summary(m)
        return {**{k: dig(s, k) for k in self.indicators}, "summary_sha256": summary_digest(s),
                MODEL_SECONDS: time.perf_counter() - t0}


@dataclass(frozen=True)
class FunctionTask:
    """Evaluate ``fn(values: dict, seed: int) -> dict`` (a test function through the same pipeline)."""

    fn: Callable[[dict, int], dict]
    name: str

    def fingerprint(self) -> str:
        return json.dumps({"task": "function", "name": self.name})

    def run(self, job: Job) -> dict:
        return dict(self.fn(dict(job.values), job.seed))


MODEL_SECONDS = "_model_s"
"""A task may add this key to a row: the seconds of the model itself (kept out of the results)."""


def run_chunk(task: Task, jobs: Sequence[Job], driver: int | None = None) -> tuple[list[dict], dict]:
    """Run ``jobs`` in this process; returns their rows (with ``id``) and timing: ``work_s``
    (the whole chunk in this process) and ``model_s`` (the model itself, where the task says).

    ``driver``: the pid of the process that sent the chunk (joblib workers on this machine). When
    it is gone (killed), the worker ends at once instead of running on for nobody: nothing of
    the chunk would be kept, as only the driver writes parts.
    """
    from sim.sweep import pid_alive

    t0 = time.perf_counter()
    rows = []
    model_s = 0.0
    for j in jobs:
        if driver is not None and not pid_alive(driver):
            os._exit(0)
        try:
            row = task.run(j)
        except Exception as e:  # noqa: BLE001 - said in one line by run_batch, with the job
            raise JobError(f"run {j.id} ({j.arm}, seed {j.seed}, {dict(j.values)}) failed: "
                           f"{type(e).__name__}: {e}") from e
        model_s += row.pop(MODEL_SECONDS, 0.0)
        rows.append({"id": j.id, **row})
    return rows, {"work_s": time.perf_counter() - t0, "model_s": model_s}


class JobError(RuntimeError):
    """A job of a batch failed (the message names it)."""


# ---------------------------------------------------------------------------- the runner
@dataclass
class BatchStats:
    """What a batch did: runs done now and before, wall time, run seconds inside the workers."""

    jobs: int = 0
    resumed: int = 0
    ran: int = 0
    chunks: int = 0
    workers: int = 1
    launcher: str = "joblib"
    wall_s: float = 0.0
    work_s: float = 0.0
    """Seconds the workers spent inside :func:`run_chunk` (the runs, with loading provinces)."""
    model_s: float = 0.0
    """Seconds of the model itself (construction, steps, summary), where the task measures it."""
    extra: dict = field(default_factory=dict)

    @property
    def runs_per_minute(self) -> float:
        return 60 * self.ran / self.wall_s if self.wall_s > 0 else float("nan")

    @property
    def overhead_per_run_s(self) -> float:
        """(Wall time x workers - the model's own seconds) / runs: what a run costs beyond the
        model itself (starting workers, imports, loading the province, sending chunks, writing
        parts, idle workers at the end). Uses ``work_s`` when the task does not time the model."""
        if not self.ran:
            return float("nan")
        inside = self.model_s or self.work_s
        return (self.wall_s * min(self.workers, self.chunks or 1) - inside) / self.ran

    def as_dict(self) -> dict:
        return {**dataclasses.asdict(self), "runs_per_minute": self.runs_per_minute,
                "overhead_per_run_s": self.overhead_per_run_s}


def chunks_of(jobs: Sequence[Job], size: int) -> list[list[Job]]:
    return [list(jobs[i:i + size]) for i in range(0, len(jobs), size)]


def part_name(chunk: Sequence[Job]) -> str:
    return f"part-{chunk[0].id:07d}-{chunk[-1].id:07d}.parquet"


def fingerprint(task: Task, jobs: Sequence[Job]) -> str:
    """What identifies a batch: its task (code version, configs, indicators) and its jobs."""
    h = hashlib.sha256()
    for j in jobs:
        h.update(j.key().encode())
    return hashlib.sha256(f"{task.fingerprint()}|{h.hexdigest()}".encode()).hexdigest()


def default_chunk_size(n_jobs: int, workers: int, seconds_per_run: float | None = None) -> int:
    """Jobs per chunk: about :data:`TARGET_CHUNK_SECONDS` of work, and at least four chunks a worker."""
    by_time = max(1, int(TARGET_CHUNK_SECONDS / seconds_per_run)) if seconds_per_run else 8
    by_balance = max(1, math.ceil(n_jobs / (4 * max(1, workers))))
    return max(1, min(by_time, by_balance, 256))


def _open_folder(out: Path, fp: str, n_jobs: int, chunk_size: int | None, workers: int) -> int:
    """Make ``out``, or check that it holds this batch (same fingerprint); returns the chunk size
    (a resumed batch keeps the one it started with: parts are named by their jobs)."""
    from sim.results import write_json
    from sim.runs import check_out_dir

    check_out_dir(out, str(out))
    meta = out / BATCH_FILE
    if meta.exists():
        try:
            held = json.loads(meta.read_text())
        except (OSError, ValueError):
            held = {}
        if held.get("fingerprint") != fp:
            raise UserError(f"{out} holds the runs of another batch (other parameters, design, scenarios or code); "
                            "choose another output folder, or delete it to start again")
        held_size = held.get("chunk_size")
        if chunk_size is not None and chunk_size != held_size:
            raise ConfigError("chunk_size", chunk_size, f"must be {held_size} to resume the batch in {out}")
        return int(held_size)
    chunk_size = chunk_size or default_chunk_size(n_jobs, workers)
    write_json(meta, {"fingerprint": fp, "jobs": n_jobs, "chunk_size": chunk_size})
    return chunk_size


def _write_part(path: Path, rows: list[dict]) -> None:
    from sim.results import _atomic

    _atomic(path, lambda t: pd.DataFrame(rows).to_parquet(t, index=False))


def read_parts(out: Path) -> pd.DataFrame:
    """Every finished row in ``out/parts``, sorted by job id."""
    files = sorted((Path(out) / PARTS).glob("part-*.parquet"))
    if not files:
        return pd.DataFrame({"id": pd.Series(dtype="int64")})
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True).sort_values("id", kind="stable") \
        .reset_index(drop=True)


def _joblib_chunks(task: Task, pending: list[list[Job]], workers: int) -> Iterable[tuple[list[Job], tuple]]:
    from joblib import Parallel, delayed

    if workers == 1:  # in this process: no pickling, same results
        for c in pending:
            yield c, run_chunk(task, c)
        return
    par = Parallel(n_jobs=workers, return_as="generator_unordered")
    yield from par(delayed(_with_chunk)(task, c, os.getpid()) for c in pending)


def _with_chunk(task: Task, chunk: list[Job], driver: int) -> tuple[list[Job], tuple[list[dict], dict]]:
    return chunk, run_chunk(task, chunk, driver)


def _ray_chunks(task: Task, pending: list[list[Job]], workers: int,
                address: str | None) -> Iterable[tuple[list[Job], tuple]]:
    try:
        import ray
    except ImportError:
        raise UserError("--launcher ray needs the ray extra: pip install -e '.[ray]'") from None
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS")
        if address:  # an existing cluster: it has its own resources and dashboard settings
            ray.init(address=address, log_to_driver=False, logging_level="ERROR")
        else:  # a cluster of this machine for this batch
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    remote = ray.remote(num_cpus=1)(run_chunk)
    task_ref = ray.put(task)
    in_flight = {}
    queue = list(pending)
    limit = max(2 * workers, 2)
    while queue or in_flight:
        while queue and len(in_flight) < limit:
            c = queue.pop(0)
            in_flight[remote.remote(task_ref, c)] = c
        done, _ = ray.wait(list(in_flight), num_returns=1)
        for ref in done:
            yield in_flight.pop(ref), ray.get(ref)


def run_batch(task: Task, jobs: Sequence[Job], out: str | Path, *, workers: int | None = None,
              launcher: str = "joblib", chunk_size: int | None = None, ray_address: str | None = None,
              progress: bool | None = None, label: str = "runs",
              before: Callable[[], None] | None = None) -> tuple[pd.DataFrame, BatchStats]:
    """Run ``jobs`` (or the ones ``out`` does not hold yet) and return every row, sorted by id.

    Args:
        task: What a job computes.
        jobs: The jobs, with distinct ids.
        out: Folder of the batch (``parts/`` and ``batch.json``); made if missing.
        workers: Processes (joblib) or concurrent chunks (Ray); default one per core.
        launcher: ``joblib`` or ``ray``.
        chunk_size: Jobs per chunk (default :func:`default_chunk_size`; a resumed batch keeps its own).
        ray_address: Address of the Ray cluster (default ``$RAY_ADDRESS``, else a local one).
        progress: Show the progress line (None: on a terminal).
        before: Called once before any job runs, only if some job has to run (e.g. building the
            provinces the jobs need into the cache).

    Raises:
        ConfigError: an unknown launcher, a bad worker count or repeated job ids.
        UserError: ``out`` cannot be written or holds another batch.
    """
    if launcher not in LAUNCHERS:
        raise ConfigError("--launcher", launcher, f"must be one of {list(LAUNCHERS)}")
    workers = (os.cpu_count() or 1) if workers is None else workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError("--workers", workers, "must be a whole number >= 1")
    ids = [j.id for j in jobs]
    if len(set(ids)) != len(ids):
        raise ConfigError("jobs", "repeated ids", "every job needs its own id")
    jobs = sorted(jobs, key=lambda j: j.id)
    out = Path(out)
    chunk_size = _open_folder(out, fingerprint(task, jobs), len(jobs), chunk_size, workers)
    parts = out / PARTS
    parts.mkdir(exist_ok=True)
    for tmp in parts.glob(".part-*"):  # a killed writer's temporaries (see sim.results._atomic)
        tmp.unlink(missing_ok=True)
    all_chunks = chunks_of(jobs, chunk_size)
    pending = [c for c in all_chunks if not (parts / part_name(c)).exists()]
    stats = BatchStats(jobs=len(jobs), resumed=sum(len(c) for c in all_chunks) - sum(len(c) for c in pending),
                       chunks=len(pending), workers=workers, launcher=launcher)
    t0 = time.perf_counter()
    if pending:
        if before:
            before()
        source = (_joblib_chunks(task, pending, workers) if launcher == "joblib"
                  else _ray_chunks(task, pending, workers, ray_address))
        with Progress(label, len(jobs), enabled=progress) as bar:
            bar.done = stats.resumed
            try:
                for chunk, (rows, timing) in source:
                    _write_part(parts / part_name(chunk), rows)
                    stats.ran += len(chunk)
                    stats.work_s += timing["work_s"]
                    stats.model_s += timing["model_s"]
                    rate = 60 * stats.ran / max(time.perf_counter() - t0, 1e-9)
                    bar.step(f"({rate:.0f} runs/min)", n=len(chunk))
            except JobError as e:
                raise UserError(f"{e}; the {stats.resumed + stats.ran} finished runs are kept in {out}") from None
    stats.wall_s = time.perf_counter() - t0
    rows = read_parts(out)
    if len(rows) != len(jobs) or not np.array_equal(rows["id"].to_numpy(), np.array([j.id for j in jobs])):
        raise UserError(f"{parts}: the parts do not hold exactly this batch's runs; delete the folder and re-run")
    return rows, stats


def job_table(jobs: Sequence[Job]) -> pd.DataFrame:
    """The jobs as a table: id, arm, seed and one column per parameter."""
    return pd.DataFrame([{"id": j.id, "arm": j.arm, "seed": j.seed, **dict(j.values)} for j in jobs])


def print_stats(stats: BatchStats, file=None) -> None:
    """One line: what ran, how fast, what was already done."""
    if not stats.ran:
        line = f"all {stats.resumed} runs already done (resumed in {stats.wall_s:.2f} s)"
    else:
        line = (f"{stats.ran} runs in {stats.wall_s:.1f} s ({stats.runs_per_minute:.0f} runs/min, {stats.workers} "
                f"{stats.launcher} workers); {stats.resumed} already done")
    print(line, file=file or sys.stderr)
