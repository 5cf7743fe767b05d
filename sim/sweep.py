"""Sweeps: the province built once, resumable jobs, and the end-of-sweep report.

* Before Hydra launches a multirun, :func:`prebuild` builds (or loads) every distinct province
  the jobs need, in the driving process, so jobs only load it from the cache.
* A job whose folder already holds a complete ``summary.json`` with the same config hash is
  skipped (:func:`sim.cli.run_job`); re-running the same sweep command into the same
  ``hydra.sweep.dir`` runs only the jobs that are missing or failed. The hash and the job
  folder's name leave out :data:`sim.compose.NEUTRAL_KEYS` (the progress display, the cache
  folder, ``hydra.launcher.n_jobs``), so a re-run that changes only those still skips them.
* A job that fails writes ``failed.json`` and the others go on; :class:`SweepReport` (a Hydra
  callback) lists the failed and incomplete jobs at the end, with the command that re-runs only
  them.
* One sweep at a time per ``hydra.sweep.dir``: at the start of a multirun :class:`SweepReport`
  checks that the folder can be written and takes its lock (``.sweep.lock``, holding the driving
  process's pid and host, :func:`acquire_lock`); a second sweep into the same folder while the
  first runs is refused in one line (exit status 2). A lock whose process is gone (same host) is
  stale and taken over; the lock is released when the sweep ends or its process exits. A job
  may call :func:`sweep_owner_alive` before writing, to stop when the sweep that launched it is
  gone.
"""

from __future__ import annotations

import atexit
import json
import os
import shlex
import socket
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from sim.config import RunConfig
from sim.errors import UserError
from sim.runs import FAILED_FILE, check_out_dir, run_status

STATE: dict[str, Any] = {"failed": 0}
"""What the last sweep of this process left (read by :func:`sim.cli.main`)."""


def prebuild(configs: list[RunConfig]) -> None:
    """Build or load each distinct province that ``configs`` need, once."""
    from sim.province import build_province

    seen = set()
    for cfg in configs:
        key = (repr(cfg.population), repr(cfg.network))
        if key in seen:
            continue
        seen.add(key)
        try:
            p = build_province(cfg.population, cfg.network, progress=None if cfg.progress else False)
        except UserError as e:  # the jobs that need it will fail and say why; the others run
            print(f"province scale {cfg.population.scale}: cannot be built: {e}", file=sys.stderr)
            continue
        how = "loaded from cache" if p.cache_hit else "built"
        print(f"province scale {cfg.population.scale}, network {cfg.network.kind}: {how} "
              f"in {p.build_seconds:.1f} s", file=sys.stderr)


LOCK_FILE = ".sweep.lock"
"""In a sweep folder while a sweep writes into it: ``{"pid": ..., "host": ...}`` of its driver."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user
        return True
    except (OSError, OverflowError, ValueError):
        return False
    return True


def read_lock(sweep_dir: Path) -> dict | None:
    """The lock of a sweep folder (``{"pid", "host"}``), or None when there is none or it is unreadable."""
    try:
        d = json.loads((Path(sweep_dir) / LOCK_FILE).read_text())
    except (OSError, ValueError):
        return None
    return d if isinstance(d, dict) else None


def lock_is_live(lock: dict | None) -> bool:
    """Whether a lock's process still runs (a lock from another host counts as live)."""
    if not lock:
        return False
    if lock.get("host") != socket.gethostname():
        return True
    try:
        return _pid_alive(int(lock.get("pid")))
    except (TypeError, ValueError):
        return False


def acquire_lock(sweep_dir: Path) -> Path:
    """Make ``sweep_dir`` and take its lock for this process; returns the lock file.

    Raises:
        UserError: the folder cannot be made or written, or another live sweep holds the lock.
    """
    sweep_dir = Path(sweep_dir)
    check_out_dir(sweep_dir, f"hydra.sweep.dir={sweep_dir}")
    lock = sweep_dir / LOCK_FILE
    me = {"pid": os.getpid(), "host": socket.gethostname()}
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            held = read_lock(sweep_dir)
            if held == me:
                return lock
            if lock_is_live(held):
                raise UserError(f"another sweep (pid {held.get('pid')} on {held.get('host')}) is writing into "
                                f"{sweep_dir}; wait for it to end or choose another hydra.sweep.dir") from None
            lock.unlink(missing_ok=True)  # stale: its process is gone
            continue
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        atexit.register(release_lock, sweep_dir)
        return lock
    raise UserError(f"{lock}: cannot take the sweep lock (another sweep is starting); try again")


def release_lock(sweep_dir: Path) -> None:
    """Remove the lock of ``sweep_dir`` if this process holds it."""
    if (read_lock(sweep_dir) or {}).get("pid") == os.getpid():
        (Path(sweep_dir) / LOCK_FILE).unlink(missing_ok=True)


def sweep_owner_alive(sweep_dir: Path) -> bool:
    """For a job: whether the sweep that launched it still runs (True when there is no lock)."""
    lock = read_lock(sweep_dir)
    return lock is None or lock_is_live(lock)


def job_dirs(sweep_dir: Path) -> list[Path]:
    return sorted(p.parent.parent for p in Path(sweep_dir).glob("*/.hydra/overrides.yaml"))


class SweepReport(Callback):
    """At the end of a multirun: how many jobs completed, which failed, how to re-run them."""

    def on_multirun_start(self, config, **kwargs: Any) -> None:
        try:
            acquire_lock(Path(str(config.hydra.sweep.dir)).resolve())
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)

    def on_multirun_end(self, config, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
        release_lock(sweep_dir)
        done, failed, missing = [], [], []
        for d in job_dirs(sweep_dir):
            status, _ = run_status(d)
            {"complete": done, "failed": failed, "incomplete": missing}[status].append(d)
        STATE["failed"] = len(failed) + len(missing)
        print(f"\nsweep finished: {len(done)} complete, {len(failed)} failed, {len(missing)} incomplete "
              f"in {sweep_dir}")
        for d in failed:
            print(f"  failed: {d.name} (see {d / FAILED_FILE})")
        for d in missing:
            print(f"  incomplete: {d.name}")
        if failed or missing:
            task = [o for o in config.hydra.overrides.task]
            hydra_over = [o for o in config.hydra.overrides.hydra
                          if o.startswith("hydra/launcher") or o.startswith("hydra.launcher")]
            config_dirs = [f"--config-dir={src.path}" for src in config.hydra.runtime.config_sources
                           if src.provider == "command-line"]
            cmd = ["outreach-sim", "-m", *config_dirs, *task, *hydra_over, f"hydra.sweep.dir={sweep_dir}"]
            print("re-run only these (complete jobs are skipped):\n  " + shlex.join(cmd))
        print(f"compare: outreach-sim-compare {shlex.quote(str(sweep_dir))}")
