"""Sweeps: the province built once, resumable jobs, safe job folders, one writer per folder, and
the end-of-sweep report.

* Before Hydra launches a multirun, :func:`prebuild` builds (or loads) every distinct province
  the jobs need, in the driving process, so jobs only load it from the cache.
* **Job folders.** Hydra names a job's folder after its overrides
  (``hydra.job.override_dirname``, without :data:`sim.compose.NEUTRAL_KEYS`); ``conf/config.yaml``
  passes that name through the ``${job_dirname:...}`` resolver (:func:`safe_dirname`), so a job's
  folder is always one folder directly inside ``hydra.sweep.dir``, whatever its values hold:
  ``%``, ``/``, ``\\`` and control characters are written ``%25``, ``%2F``, ``%5C``, ``%0A``...
  (``scenario=regional/changsha`` -> ``scenario=regional%2Fchangsha``), a name longer than a file
  system allows is cut and ends in a hash of the whole name, and a job without overrides of its
  own writes into ``defaults/`` (not into the sweep folder itself). :func:`job_dirname` computes
  the same name from a job's overrides without Hydra; :func:`job_dirs` finds the job folders.
* **Resume.** A job whose folder already holds a complete ``summary.json`` with the same config
  hash, written by this code (the same ``package_version`` and ``git_commit``), is skipped
  (:func:`sim.cli.run_job`); re-running the same sweep command into the same
  ``hydra.sweep.dir`` runs only the jobs that are missing or failed. The hash and the folder's
  name leave out :data:`sim.compose.NEUTRAL_KEYS` (the progress display, the cache folder,
  ``hydra.launcher.n_jobs``), so a re-run that changes only those still skips them. A folder
  holding a complete run of the same config by **another version or commit** is kept as it is
  and its job is refused, with one line naming the folder and both versions (``job refused:
  ...``): skipping it would pass another code's results off as this code's, and re-running would
  replace them. The other jobs go on; the end report lists the folder under ``other version``
  and the sweep exits with status 1. Move the folder away (or choose another
  ``hydra.sweep.dir``) to run the job with this code. (A summary of another config hash in a
  job's folder, i.e. the config files changed since, is replaced by the job's new run.)
* **Fast resume.** When every job of the command line is already complete in the given
  ``hydra.sweep.dir`` (same config hash, this code's version), ``outreach-sim`` prints the end
  report and exits in about a second without starting Hydra (:func:`complete_sweep`, called by
  the pre-check, which has composed every job anyway).
* A job that fails writes ``failed.json`` and the others go on; :class:`SweepReport` (a Hydra
  callback) lists the failed and incomplete jobs at the end, with the command that re-runs only
  them (:func:`report`).
* **One writer per run folder.** :func:`claim_run_dir` creates the folder's ``.run.lock``
  exclusively (``O_EXCL``; the writer's pid and host) before a job writes anything into it, and
  :func:`release_run_dir` removes it when the job ends; a second writer gets one line (exit status
  2 for a single run; a sweep's job is refused and the folder stays the first writer's). A lock
  whose process is gone (same host) is stale and taken over.
* **One sweep at a time per** ``hydra.sweep.dir``: at the start of a multirun :class:`SweepReport`
  checks that the folder can be written and takes its lock (``.sweep.lock``, holding the driving
  process's pid and host, :func:`acquire_lock`); a second sweep into the same folder while the
  first runs is refused in one line (exit status 2). A stale lock is taken over; the lock is
  released when the sweep ends or its process exits.
* **Workers stop when their sweep is gone.** A job notes the sweep lock it started under
  (:func:`read_lock`); :func:`sweep_owner_alive` says whether that same sweep still runs (its lock
  unchanged and its process alive: after ``kill -9`` of the driver the lock is stale, after a
  re-run it is another sweep's). While a sweep's job runs, a watchdog thread asks every second
  (:func:`watchdog`); when the sweep is gone, it removes the job's temporary files and run lock
  and ends the worker process at once (``os._exit``), before the job writes anything. A worker
  process that is idle between jobs ends the same way (:func:`guard_worker`).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import re
import secrets
import shlex
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from sim.compose import NEUTRAL_KEYS, config_hash
from sim.config import RunConfig
from sim.errors import UserError
from sim.runs import FAILED_FILE, check_out_dir, code_version, read_summary, run_status, same_version, version_label

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


# --------------------------------------------------------------------------- job folders
DEFAULT_JOB_DIR = "defaults"
"""The folder of a job without overrides of its own (Hydra would write it into the sweep folder)."""
NAME_MAX = 255
"""Bytes in one file name (Linux, macOS and Windows file systems)."""
_ESCAPE = re.compile(r"[%/\\\x00-\x1f\x7f]")


def safe_dirname(name: str) -> str:
    """A job folder's name from Hydra's ``override_dirname``: always one folder, never ``.``/``..``.

    ``%``, ``/``, ``\\`` and control characters become ``%XX`` (so different names stay
    different); an empty name becomes :data:`DEFAULT_JOB_DIR`; a name longer than
    :data:`NAME_MAX` bytes is cut and ends in ``~`` and 16 hex digits of its SHA-256.
    """
    name = _ESCAPE.sub(lambda m: f"%{ord(m.group()):02X}", str(name))
    if name in ("", ".", ".."):
        return DEFAULT_JOB_DIR if name == "" else name.replace(".", "%2E")
    raw = name.encode()
    if len(raw) > NAME_MAX:
        tail = "~" + hashlib.sha256(raw).hexdigest()[:16]
        name = raw[:NAME_MAX - len(tail)].decode(errors="ignore") + tail
    return name


def job_dirname(job: Iterable[str]) -> str:
    """The folder name Hydra gives a sweep job with these overrides (as :func:`sim.compose.expand_jobs`
    makes them): ``override_dirname`` (the overrides but :data:`sim.compose.NEUTRAL_KEYS`, sorted,
    joined by ``,``) through :func:`safe_dirname`, as ``conf/config.yaml`` says."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(list(job))
    lines = sorted(o.input_line for o in parsed if o.key_or_group not in NEUTRAL_KEYS)
    return safe_dirname(",".join(lines))


def job_dirs(sweep_dir: Path) -> list[Path]:
    """The job folders of a sweep (each holds ``.hydra/overrides.yaml``), at any depth (folders
    nested by a ``/`` in a value, from before :func:`safe_dirname`, are found too)."""
    return sorted(p.parent.parent for p in Path(sweep_dir).rglob("overrides.yaml") if p.parent.name == ".hydra")


# --------------------------------------------------------------------------- locks: a sweep, a run folder
LOCK_FILE = ".sweep.lock"
"""In a sweep folder while a sweep writes into it: ``{"pid": ..., "host": ...}`` of its driver."""
RUN_LOCK = ".run.lock"
"""In a run folder while a job writes into it: ``{"pid": ..., "host": ...}`` of the writer."""


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (a zombie, killed but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user
        return True
    except (OSError, OverflowError, ValueError):
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (macOS): os.kill said it exists
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _me() -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname()}


def _read(path: Path) -> dict | None:
    try:
        d = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return d if isinstance(d, dict) else None


def read_lock(sweep_dir: Path) -> dict | None:
    """The lock of a sweep folder (``{"pid", "host"}``), or None when there is none or it is unreadable."""
    return _read(Path(sweep_dir) / LOCK_FILE)


def lock_is_live(lock: dict | None) -> bool:
    """Whether a lock's process still runs (a lock from another host counts as live)."""
    if not lock:
        return False
    if lock.get("host") != socket.gethostname():
        return True
    try:
        return pid_alive(int(lock.get("pid")))
    except (TypeError, ValueError):
        return False


TAKEOVER_STALE_SECONDS = 30.0
"""A ``<lock>.takeover`` file older than this was left by a process killed while taking over a lock."""


def _take(lock: Path, busy: Callable[[dict], str]) -> bool:
    """Create ``lock`` for this process, exclusively; True when this call took it (False: it held it).

    The lock appears whole (its content is written first and hard-linked into place, which fails
    when the lock exists, also on NFS), so nobody reads a half-written lock. A lock whose process
    is gone (same host), or that cannot be read, is stale: it is removed under a ``.takeover``
    file created exclusively, and only if it is still the lock found stale, so two processes
    taking over the same stale lock cannot both end up holding it.

    Raises:
        UserError: ``busy(holder)`` when a live process holds it.
    """
    me = _me()
    tmp = lock.with_name(f"{lock.name}.{os.getpid()}.{secrets.token_hex(4)}")
    tmp.write_text(json.dumps(me))
    try:
        for _ in range(200):
            try:
                os.link(tmp, lock)
                return True
            except FileExistsError:
                pass
            held = _read(lock)
            if held == me:
                return False
            if held is not None and lock_is_live(held):
                raise UserError(busy(held))
            _remove_stale(lock, held)
    finally:
        tmp.unlink(missing_ok=True)
    raise UserError(f"{lock}: cannot take the lock (other processes keep taking it); try again")


def _remove_stale(lock: Path, stale: dict | None) -> None:
    """Remove ``lock`` if it still holds ``stale``, under an exclusive ``<lock>.takeover`` file."""
    token = lock.with_name(f"{lock.name}.takeover")
    try:
        fd = os.open(token, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:  # another process is taking it over; one left by a killed process expires
        with contextlib.suppress(OSError):
            if time.time() - token.stat().st_mtime > TAKEOVER_STALE_SECONDS:
                token.unlink()
        time.sleep(0.01)
        return
    try:
        if lock.exists() and _read(lock) == stale:
            lock.unlink(missing_ok=True)
    finally:
        os.close(fd)
        token.unlink(missing_ok=True)


def acquire_lock(sweep_dir: Path) -> Path:
    """Make ``sweep_dir`` and take its lock for this process; returns the lock file.

    Raises:
        UserError: the folder cannot be made or written, or another live sweep holds the lock.
    """
    sweep_dir = Path(sweep_dir)
    check_out_dir(sweep_dir, f"hydra.sweep.dir={sweep_dir}")
    lock = sweep_dir / LOCK_FILE
    if _take(lock, lambda held: _busy_sweep(sweep_dir, held)):
        atexit.register(release_lock, sweep_dir)
    return lock


def _busy_sweep(sweep_dir: Path, held: dict) -> str:
    return (f"another sweep (pid {held.get('pid')} on {held.get('host')}) is writing into {sweep_dir}; "
            "wait for it to end or choose another hydra.sweep.dir")


def check_lock(sweep_dir: Path) -> None:
    """Refuse early (before the province is loaded) a sweep into a folder another live sweep holds.

    Raises:
        UserError: as :func:`acquire_lock` would.
    """
    sweep_dir = Path(sweep_dir).resolve()
    held = read_lock(sweep_dir)
    if held is not None and held != _me() and lock_is_live(held):
        raise UserError(_busy_sweep(sweep_dir, held))


def release_lock(sweep_dir: Path) -> None:
    """Remove the lock of ``sweep_dir`` if this process holds it."""
    if (read_lock(sweep_dir) or {}).get("pid") == os.getpid():
        (Path(sweep_dir) / LOCK_FILE).unlink(missing_ok=True)


def claim_run_dir(out_dir: Path) -> bool:
    """Make the run folder ``out_dir`` and take its :data:`RUN_LOCK` for this process.

    Returns True when this call took it, False when this process held it already (then the
    caller that took it releases it).

    Raises:
        UserError: the folder cannot be made, or another live process writes into it.
    """
    out_dir = Path(out_dir)
    check_out_dir(out_dir, str(out_dir))
    return _take(out_dir / RUN_LOCK, lambda held: f"{out_dir}: another outreach-sim (pid {held.get('pid')} on "
                                                  f"{held.get('host')}) is writing into this folder; wait for it "
                                                  "to end or choose another folder")


def release_run_dir(out_dir: Path) -> None:
    """Remove the :data:`RUN_LOCK` of ``out_dir`` if this process holds it."""
    lock = Path(out_dir) / RUN_LOCK
    if (_read(lock) or {}).get("pid") == os.getpid():
        lock.unlink(missing_ok=True)


# --------------------------------------------------------------------------- workers of a gone sweep
def sweep_owner_alive(sweep_dir: Path, owner: dict | None = None) -> bool:
    """For a job: whether the sweep that launched it still runs.

    ``owner`` is the sweep lock as the job found it when it started (:func:`read_lock`): the
    sweep runs while the lock is unchanged and its process alive; after ``kill -9`` of the
    driver its lock is stale, after a re-run the lock is another sweep's. Without ``owner``,
    any live lock counts. No lock at all counts as running (a sweep removes its lock only when
    its jobs are done).
    """
    lock = read_lock(sweep_dir)
    if owner is None or lock is None:  # no lock now: the sweep ended normally (its jobs are done)
        return lock is None or lock_is_live(lock)
    return lock == owner and lock_is_live(lock)


WATCH_SECONDS = 1.0
"""How often a job's :func:`watchdog` asks whether its sweep still runs."""
STOPPED = 3
"""Exit status of a worker process ended by :func:`watchdog` or :func:`guard_worker`."""
_CURRENT: dict[str, Any] = {"out_dir": None}
"""The run folder the job in this process is writing (cleaned when the process is ended)."""


def _stop_process(reason: str) -> None:
    """Remove the current job's temporaries and run lock, say why in one line, end the process."""
    from sim.results import clean_temporary_files

    out_dir = _CURRENT["out_dir"]
    try:
        if out_dir is not None:
            clean_temporary_files(out_dir)
            release_run_dir(out_dir)
        print(f"job stopped: {out_dir or 'idle worker'}: {reason}", file=sys.stderr, flush=True)
    finally:
        os._exit(STOPPED)


@contextlib.contextmanager
def watchdog(out_dir: Path, keep_going: Callable[[], bool], interval: float = WATCH_SECONDS) -> Iterator[None]:
    """While the block runs (a job writing ``out_dir``), end the process when ``keep_going()`` says False.

    A daemon thread asks every ``interval`` seconds; it stops with the block.
    """
    done = threading.Event()
    _CURRENT["out_dir"] = Path(out_dir)

    def watch():
        while not done.wait(interval):
            try:
                alive = keep_going()
            except Exception:  # noqa: BLE001 - an unreadable lock is not a reason to stop
                alive = True
            if not alive and not done.is_set():
                _stop_process("the sweep that launched it is gone")

    thread = threading.Thread(target=watch, name="outreach-sim-watchdog", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        _CURRENT["out_dir"] = None


_GUARD: dict[str, Any] = {"thread": None}


def guard_worker(keep_going: Callable[[], bool], interval: float = WATCH_SECONDS) -> None:
    """In a sweep's worker process (not its driver): end the process, also between jobs, once
    ``keep_going()`` says False (its sweep is gone). Started once per process."""
    if _GUARD["thread"] is not None:
        _GUARD["keep_going"] = keep_going
        return
    _GUARD["keep_going"] = keep_going

    def watch():
        while True:
            time.sleep(interval)
            try:
                alive = _GUARD["keep_going"]()
            except Exception:  # noqa: BLE001
                alive = True
            if not alive:
                _stop_process("the sweep that launched it is gone")

    _GUARD["thread"] = threading.Thread(target=watch, name="outreach-sim-worker-guard", daemon=True)
    _GUARD["thread"].start()


# --------------------------------------------------------------------------- the end of a sweep
def job_status(run_dir: Path) -> str:
    """``complete`` (this code's run), ``other_version`` (a complete run of another version or
    commit), ``failed`` or ``incomplete``."""
    status, s = run_status(run_dir)
    if status == "complete" and not same_version(s):
        return "other_version"
    return status


def rerun_command(task: Iterable[str], hydra_overrides: Iterable[str], config_dirs: Iterable[str],
                  sweep_dir: Path) -> list[str]:
    """The command that re-runs a sweep into ``sweep_dir`` (its complete jobs are skipped)."""
    launcher = [o for o in hydra_overrides if o.startswith(("hydra/launcher", "hydra.launcher"))]
    return ["outreach-sim", "-m", *[f"--config-dir={d}" for d in config_dirs], *task, *launcher,
            f"hydra.sweep.dir={sweep_dir}"]


def report(sweep_dir: Path, rerun: list[str]) -> int:
    """Print the end of a sweep: how many jobs are complete, which failed, are incomplete or hold
    another version's run, the command that re-runs the missing ones and the compare hint.

    Returns:
        How many jobs are not complete (failed, incomplete or of another version).
    """
    sweep_dir = Path(sweep_dir)
    found: dict[str, list[Path]] = {"complete": [], "failed": [], "incomplete": [], "other_version": []}
    for d in job_dirs(sweep_dir):
        found[job_status(d)].append(d)
    done, failed, missing, other = (found[k] for k in ("complete", "failed", "incomplete", "other_version"))
    kept = f", {len(other)} of another version" if other else ""
    print(f"\nsweep finished: {len(done)} complete, {len(failed)} failed, {len(missing)} incomplete{kept} "
          f"in {sweep_dir}")
    for d in failed:
        print(f"  failed: {_rel(d, sweep_dir)} (see {d / FAILED_FILE})")
    for d in missing:
        print(f"  incomplete: {_rel(d, sweep_dir)}")
    here = version_label(code_version())
    for d in other:
        print(f"  other version: {_rel(d, sweep_dir)} (a complete run of outreach-sim "
              f"{version_label(read_summary(d) or {})}, this is {here}; kept: move it away to re-run it)")
    if failed or missing:
        print("re-run only these (complete jobs are skipped):\n  " + shlex.join(rerun))
    print(f"compare: outreach-sim-compare {shlex.quote(str(sweep_dir))}")
    return len(failed) + len(missing) + len(other)


def _rel(d: Path, sweep_dir: Path) -> str:
    try:
        return str(d.relative_to(sweep_dir))
    except ValueError:
        return d.name


def complete_sweep(sweep_dir: str, jobs: list[list[str]], configs: list[RunConfig]) -> bool:
    """Whether every job is already complete in ``sweep_dir``: its folder (:func:`job_dirname`)
    holds a summary of the same config hash written by this code. Reads only."""
    if "${" in sweep_dir or any("${" in o for job in jobs for o in job):  # Hydra resolves these
        return False
    root = Path(sweep_dir)
    for job, cfg in zip(jobs, configs, strict=True):
        s = read_summary(root / job_dirname(job))
        if s is None or s.get("config_hash") != config_hash(cfg) or not same_version(s):
            return False
    return True


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
        config_dirs = [src.path for src in config.hydra.runtime.config_sources if src.provider == "command-line"]
        cmd = rerun_command(list(config.hydra.overrides.task), list(config.hydra.overrides.hydra), config_dirs,
                            sweep_dir)
        STATE["failed"] = report(sweep_dir, cmd)
