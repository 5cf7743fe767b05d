"""The ``outreach-sim`` command (also ``python -m sim``): Hydra-configured runs and sweeps.

``outreach-sim`` runs the baseline scenario on the embedded province and prints a summary and
its output folder; ``outreach-sim key=value ...`` overrides any parameter;
``outreach-sim -m scenario=baseline_2021,budget_plus_20 seed=1,2,3`` runs a sweep (Hydra
multirun; joblib launcher, one worker per core, by default; ``hydra/launcher=basic`` runs the
jobs one by one, ``hydra/launcher=ray`` on a Ray cluster, ``hydra/launcher=submitit_slurm`` on
SLURM). Re-running a sweep into the same ``hydra.sweep.dir`` skips its complete jobs.
``outreach-sim --config-dir ./myconf scenario=mine`` adds a folder of the user's own configs
(here ``./myconf/scenario/mine.yaml``), searched after the package's ``sim/conf/``.

The Hydra config is converted to :class:`sim.config.RunConfig` at once; nothing below this
module sees a ``DictConfig``. Before Hydra starts, every job of the command line is composed
and validated, so a bad override, an unknown scenario or an impossible value ends with one
clear line and exit status 2, and no job starts. Composition itself (the config folder, the
schemas, overrides) lives in :mod:`sim.compose`.

What a command line and a config file may do (checked before Hydra starts, exit status 2):

* ``hydra`` overrides are limited to ``hydra.run.dir``, ``hydra.sweep.dir``,
  ``hydra.sweep.subdir``, ``hydra.job.chdir``, ``hydra/launcher=NAME`` and the launcher
  settings allowed for that launcher (:data:`sim.compose.HYDRA_OVERRIDES`); a value may not
  hold control characters (a newline would start a new line of a SLURM batch script).
  ``hydra.callbacks*``, ``hydra.job.env_set*``, ``hydra.searchpath`` (use ``--config-dir``),
  other ``hydra/...`` groups and any ``_target_`` key or value are refused: they import code or
  change the process environment. ``--config-path`` is refused too (use ``--config-dir``).
* launchers and their settings, an explicit allow-list (:data:`sim.compose.LAUNCHER_KEYS`;
  each ``hydra.launcher.<key>`` one plain value, not a ``{...}``/``[...]`` node):

  - ``basic``: none;
  - ``joblib`` (the default): ``n_jobs``, ``backend``, ``prefer``, ``require``, ``verbose``,
    ``timeout``, ``pre_dispatch``, ``batch_size``, ``max_nbytes``, ``mmap_mode``;
  - ``ray``: ``ray.init.{address, num_cpus, num_gpus, object_store_memory, namespace,
    log_to_driver}`` and ``ray.remote.{num_cpus, num_gpus, memory, max_retries, max_calls}``;
  - ``submitit_local``: ``timeout_min``, ``cpus_per_task``, ``gpus_per_node``,
    ``tasks_per_node``, ``mem_gb``, ``nodes``, ``name``, ``stderr_to_stdout``;
  - ``submitit_slurm``: those and ``partition``, ``qos``, ``account``, ``comment``,
    ``constraint``, ``exclude``, ``gres``, ``cpus_per_gpu``, ``gpus_per_task``, ``mem_per_gpu``,
    ``mem_per_cpu``, ``signal_delay_s``, ``max_num_timeout``, ``array_parallelism``.

  Refused, because they run code, change the jobs' environment or write elsewhere: every
  launcher's ``_target_``; Ray's ``runtime_env`` (``env_vars``, ``pip``, ``working_dir``...),
  its dashboard and any other ``ray.init``/``ray.remote`` key; submitit's ``setup`` (shell
  lines), ``srun_args``, ``additional_parameters`` (any ``sbatch`` option) and
  ``submitit_folder``; joblib's ``temp_folder``; other launchers (``ray_aws``).
* scenario and group files (the package's ``sim/conf/<group>/`` and everything in a
  ``--config-dir``) may hold run parameters only: no ``hydra:`` block, ``hydra/`` folder,
  ``# @package hydra...`` header or ``_target_`` key (:func:`sim.compose.check_config_files`).
* ``+key=value`` must name a field of the run config (a typo is not added silently).

Run folders (:func:`run_job`, :mod:`sim.sweep`):

* one writer per folder: a job takes its folder's ``.run.lock`` exclusively before it writes
  anything (for ``hydra.run.dir=DIR``, before Hydra starts) and removes it at the end; a second
  ``outreach-sim`` writing into the same folder ends with one line (exit status 2). A lock left
  by a process that is gone is taken over. The default run folder ends in a random
  ``${run_id:}`` so two commands started in the same second do not share one.
* ``hydra.run.dir=DIR`` naming a folder that holds a complete run of another config, or of this
  config by another package version or git commit, is refused (this code's run of the same
  config is skipped).
* sweeps: one folder per job whatever its values hold, resume that skips only this code's
  complete runs (another version's run of the same config is refused, kept and reported), a
  complete sweep re-run answered without starting Hydra, and workers that end within about a
  second when the sweep that launched them is killed: see :mod:`sim.sweep`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import secrets
import socket
import sys
import time
import traceback
from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from sim import config as C
from sim.compose import (
    CONF_DIR,
    CONFIG_NAME,
    compose_run_config,
    config_hash,
    register_schemas,
    to_run_config,
)
from sim.errors import UserError
from sim.sweep import safe_dirname

__all__ = ["CONF_DIR", "compose_run_config", "main", "precheck", "run_job", "to_run_config"]
"""``CONF_DIR``, ``compose_run_config`` and ``to_run_config`` live in :mod:`sim.compose`."""


def register_ray_launcher(cs: ConfigStore) -> None:
    """``hydra/launcher=ray`` ready for an existing cluster (when the ``ray`` extra is installed).

    Replaces the plugin's own ``ray`` config with one that connects to ``$RAY_ADDRESS`` (or a
    cluster started on this machine: ``ray start --head --node-ip-address=127.0.0.1``), does not
    ask for an object store size (Ray refuses one from a driver joining a cluster) and gives
    each job one CPU. ``hydra.launcher.ray.init.address=HOST:PORT`` overrides the address.
    """
    try:
        from hydra_plugins.hydra_ray_launcher._config import RayConf, RayLauncherConf
    except ImportError:
        return
    init = {"address": "${oc.env:RAY_ADDRESS,auto}", "object_store_memory": None}
    cs.store(group="hydra/launcher", name="ray", provider="outreach-sim",
             node=RayLauncherConf(ray=RayConf(init=init, remote={"num_cpus": 1})))


register_schemas()
register_ray_launcher(ConfigStore.instance())

_RUN_ID = {"id": secrets.token_hex(3)}
"""The ``${run_id:}`` of this command's default run folder (new for every :func:`main`)."""
if not OmegaConf.has_resolver("run_id"):
    OmegaConf.register_new_resolver("run_id", lambda: _RUN_ID["id"])
if not OmegaConf.has_resolver("job_dirname"):  # a sweep job's folder: conf/config.yaml, sim.sweep.safe_dirname
    OmegaConf.register_new_resolver("job_dirname", safe_dirname)


class FolderRefused(UserError):
    """A run folder this job may not write: another process writes into it, or it holds a complete
    run of this config by another version (or, for a single run, of another config). The folder
    is left as it is and no ``failed.json`` is written into it."""


def run_job(cfg: C.RunConfig, out_dir: Path, *, quiet: bool = False, keep_going=None, watch: bool = False,
            replace_other_config: bool = True) -> dict | None:
    """Run one configured job and write its files into ``out_dir`` (a plain function for tests).

    A folder that already holds a complete run of the same config (hash) by this code is
    skipped (its summary is returned). Otherwise the job takes the folder
    (:func:`sim.sweep.claim_run_dir`) before it writes anything, and gives it back at the end;
    a job that fails writes ``failed.json`` (the error and its traceback) and raises again.

    Args:
        keep_going: For a sweep's job: asked before the run and before writing; when it says
            False (the sweep that launched the job is gone) the job stops and writes nothing.
        watch: Also ask ``keep_going`` every second while the model runs, and end this process
            at once when it says False (:func:`sim.sweep.watchdog`; for a sweep's worker
            process, never for the process that runs the sweep).
        replace_other_config: When False (a single run), a complete run of another config in
            the folder is refused instead of replaced.

    Raises:
        FolderRefused: the folder holds this config's run by another version or commit
            (naming both), another config's run (``replace_other_config=False``), or another
            live process writes into it.
    """
    from sim.model import OutreachModel
    from sim.province import province_for
    from sim.results import format_summary, write_json, write_run
    from sim.runs import FAILED_FILE
    from sim.sweep import claim_run_dir, release_run_dir, watchdog

    out_dir = Path(out_dir)
    want = config_hash(cfg)
    done = _complete(out_dir, want, replace_other_config)
    if done is not None:
        return done
    if keep_going is not None and not keep_going():
        return None
    try:
        took = claim_run_dir(out_dir)
    except UserError as ex:
        raise FolderRefused(str(ex)) from None
    try:
        done = _complete(out_dir, want, replace_other_config)  # finished while we waited to take it?
        if done is not None:
            return done
        (out_dir / FAILED_FILE).unlink(missing_ok=True)
        try:
            with watchdog(out_dir, keep_going) if watch and keep_going is not None else contextlib.nullcontext():
                t0 = time.perf_counter()
                province = province_for(cfg, progress=None if cfg.progress else False)
                t1 = time.perf_counter()
                model = OutreachModel(cfg, province)
                model.run()
                t2 = time.perf_counter()
                timing = {"province_s": round(t1 - t0, 3), "model_s": round(t2 - t1, 3)}
                if keep_going is not None and not keep_going():
                    print(f"job stopped: {out_dir}: the sweep that launched it is gone", file=sys.stderr)
                    return None
                s = write_run(out_dir, model, cfg, time.perf_counter() - t0, timing=timing)
        except Exception as ex:  # recorded in the folder while this job still holds it
            write_json(out_dir / FAILED_FILE, {"error": f"{type(ex).__name__}: {ex}",
                                                 "traceback": traceback.format_exc()})
            raise
    finally:
        if took:
            release_run_dir(out_dir)
    if not quiet:
        print(format_summary(s, out_dir))
    return s


def _complete(out_dir: Path, want: str, replace_other_config: bool) -> dict | None:
    """The summary of a complete run of config hash ``want`` by this code in ``out_dir``, or None.

    Raises:
        FolderRefused: a complete run of this config by another version or commit, or (unless
            ``replace_other_config``) of another config.
    """
    from sim.runs import code_version, read_summary, same_version, version_label

    done = read_summary(out_dir)
    if done is None:
        return None
    if done.get("config_hash") != want:
        if not replace_other_config:
            raise FolderRefused(f"{out_dir} already holds a complete run of another config (config_hash "
                                f"{done.get('config_hash')}, this one {want}): choose another hydra.run.dir")
        return None
    if not same_version(done):
        raise FolderRefused(f"{out_dir} holds a complete run of this config by outreach-sim {version_label(done)}, "
                            f"this is {version_label(code_version())}: it is kept; move the folder away to "
                            "re-run it with this code, or choose another folder")
    print(f"skipped (already complete): {out_dir}")
    return done


SKIP_PRECHECK = ("help", "hydra_help", "cfg", "info", "shell_completion", "config_path", "config_name",
                 "experimental_rerun")
"""Hydra options that do not run this app's jobs (or choose another primary config): no pre-check."""


class _BadOption(Exception):
    """Raised instead of argparse's exit, so Hydra reports a bad option itself."""


@dataclasses.dataclass
class Checked:
    """What the pre-check found: the first error (one line) or the jobs, and the parsed command line."""

    error: str | None = None
    configs: list[C.RunConfig] = dataclasses.field(default_factory=list)
    jobs: list[list[str]] = dataclasses.field(default_factory=list)
    """Each job's overrides (without ``hydra.*``), as Hydra's sweeper gives them."""
    ns: argparse.Namespace | None = None


def precheck(args: list[str]) -> tuple[str | None, list[C.RunConfig]]:
    """Compose and validate every job the command line asks for.

    The command line is read by Hydra's own argument parser, so ``--config-dir DIR``,
    ``--config-dir=DIR`` and ``-cd DIR`` add the user's config folder here as Hydra adds it.
    Overrides of ``hydra.*`` (the launcher, the output folders) are checked against
    :data:`sim.compose.HYDRA_OVERRIDES` and :data:`sim.compose.LAUNCHER_KEYS` and left to Hydra.

    Returns:
        (the first error as one line, or None; the jobs' configs). Both are empty when the
        command line only asks Hydra for help or information, or does not parse (Hydra says why).
    """
    checked = _precheck(args)
    return checked.error, checked.configs


def _precheck(args: list[str]) -> Checked:
    from hydra._internal.utils import get_args_parser

    from sim.compose import _compose, check_config_files, check_override_keys, expand_jobs, parse_overrides

    if "--version" in args:  # Hydra prints it
        return Checked()
    parser = get_args_parser()

    def error(message: str):
        raise _BadOption(message)

    parser.error = error
    try:
        ns = parser.parse_args(args)
    except (_BadOption, SystemExit):  # an option Hydra will refuse with its usage line
        return Checked()
    try:
        if ns.config_path:
            raise UserError("--config-path is not allowed (it replaces the package's configs): "
                            "use --config-dir DIR to add a folder of your own configs")
        check_override_keys(ns.overrides)
        if ns.config_dir is not None and Path(ns.config_dir).is_dir():
            check_config_files(ns.config_dir)
        if ns.cfg not in (None, "job", "all") or any(getattr(ns, name, None) for name in SKIP_PRECHECK
                                                    if name != "cfg"):
            return Checked(ns=ns)
        overrides = [o for o in ns.overrides if not o.lstrip("+~").startswith(("hydra.", "hydra/"))]
        parse_overrides([o for o in ns.overrides if o not in overrides])  # Hydra's own error is many lines
        jobs = expand_jobs(overrides)
        configs = _compose(jobs, ns.config_dir)
        if not ns.multirun and not ns.cfg:
            check_run_dir(ns.overrides, configs)
        return Checked(configs=configs, jobs=jobs, ns=ns)
    except UserError as ex:
        return Checked(error=str(ex), ns=ns)


def _last(overrides: list[str], key: str) -> str | None:
    """The value of the last override of ``key`` (``key=value`` or ``+key=value``), or None."""
    values = [o.partition("=")[2] for o in overrides if o.lstrip("+").partition("=")[0].strip() == key]
    return values[-1] if values else None


def check_run_dir(overrides: list[str], configs: list[C.RunConfig]) -> None:
    """Refuse ``hydra.run.dir=DIR`` when DIR holds a complete run of another config, or of this
    config by another version or commit (see :func:`run_job`).

    Raises:
        UserError: naming the folder and both config hashes (or both versions).
    """
    from sim.runs import code_version, read_summary, same_version, version_label

    run_dir = _last(overrides, "hydra.run.dir")
    if run_dir is None or "${" in run_dir or len(configs) != 1:
        return
    done = read_summary(Path(run_dir))
    want = config_hash(configs[0])
    if done is None:
        return
    if done.get("config_hash") != want:
        raise UserError(f"hydra.run.dir={run_dir} already holds a complete run of another config "
                        f"(config_hash {done.get('config_hash')}, this one {want}): choose another folder")
    if not same_version(done):
        raise UserError(f"hydra.run.dir={run_dir} holds a complete run of this config by outreach-sim "
                        f"{version_label(done)}, this is {version_label(code_version())}: it is kept; "
                        "choose another folder")


def fast_resume(checked: Checked) -> int | None:
    """When a sweep's every job is already complete in its ``hydra.sweep.dir``: print the end
    report without starting Hydra and return the exit status; else None (Hydra runs the sweep).

    Only for ``hydra.sweep.dir=DIR`` given without interpolations, the default job folders (no
    ``hydra.sweep.subdir``) and no live sweep writing into DIR (Hydra then refuses in one line).
    """
    from sim.sweep import complete_sweep, lock_is_live, read_lock, report, rerun_command

    ns = checked.ns
    sweep_dir = _last(ns.overrides, "hydra.sweep.dir")
    if (not ns.multirun or ns.cfg or not checked.configs or sweep_dir is None
            or _last(ns.overrides, "hydra.sweep.subdir") is not None or lock_is_live(read_lock(Path(sweep_dir)))
            or not complete_sweep(sweep_dir, checked.jobs, checked.configs)):
        return None
    root = Path(sweep_dir).resolve()
    task = [o for o in ns.overrides if not o.lstrip("+~").startswith(("hydra.", "hydra/"))]
    hydra_overrides = [o for o in ns.overrides if o.lstrip("+~").startswith(("hydra.", "hydra/"))]
    config_dirs = [os.path.abspath(ns.config_dir)] if ns.config_dir is not None else []
    return 1 if report(root, rerun_command(task, hydra_overrides, config_dirs, root)) else 0


@hydra.main(version_base=None, config_path=str(CONF_DIR), config_name=CONFIG_NAME)
def _hydra_main(cfg) -> None:
    logging.getLogger("MESA").setLevel(logging.WARNING)
    run_cfg = to_run_config(cfg)
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    multirun = HydraConfig.get().mode.name == "MULTIRUN"
    keep_going, watch = None, False
    if multirun:  # a worker whose sweep is gone (killed, or replaced by a re-run) stops
        from sim.sweep import guard_worker, read_lock, sweep_owner_alive

        sweep_dir = Path(str(HydraConfig.get().sweep.dir)).resolve()
        owner = read_lock(sweep_dir)
        keep_going = lambda: sweep_owner_alive(sweep_dir, owner)  # noqa: E731
        watch = owner is not None and owner != {"pid": os.getpid(), "host": socket.gethostname()}
        if watch:  # a worker process, not the one running the sweep: ends also when idle
            guard_worker(keep_going)
    try:
        s = run_job(run_cfg, out_dir, quiet=multirun, keep_going=keep_going, watch=watch,
                    replace_other_config=multirun)
    except FolderRefused as ex:  # the folder is left as it is
        if not multirun:
            print(f"error: {ex}", file=sys.stderr)
            sys.exit(2)
        print(f"job refused: {ex}", file=sys.stderr)
        return
    except Exception as ex:  # keep the other jobs of a sweep going; failed.json says why this one failed
        if not multirun:
            if isinstance(ex, UserError):  # found while running (e.g. a pot that cannot pay): one line
                print(f"error: {ex}", file=sys.stderr)
                sys.exit(2)
            raise
        print(f"job failed: {out_dir}: {type(ex).__name__}: {ex}", file=sys.stderr)
        return
    if multirun and s is not None:
        print(f"done: {out_dir}", flush=True)


def main() -> None:
    """Entry point of ``outreach-sim``."""
    from sim.compose import prepare_overrides

    args = sys.argv[1:] = prepare_overrides(sys.argv[1:])  # region=长沙市, levers.posts={431126:6}
    _RUN_ID["id"] = secrets.token_hex(3)
    checked = _precheck(args)
    if checked.error:
        print(f"error: {checked.error}", file=sys.stderr)
        sys.exit(2)
    multirun = checked.ns is not None and checked.ns.multirun
    claimed = None
    if multirun and checked.configs:
        status = fast_resume(checked)
        if status is not None:
            sys.exit(status)
        from sim.sweep import check_lock, prebuild

        sweep_dir = _last(checked.ns.overrides, "hydra.sweep.dir")
        if sweep_dir is not None and "${" not in sweep_dir:
            try:
                check_lock(Path(sweep_dir))
            except UserError as ex:
                print(f"error: {ex}", file=sys.stderr)
                sys.exit(2)
        prebuild(checked.configs)
    elif checked.configs and not checked.ns.cfg:  # one run into a given folder: take it before Hydra writes
        from sim.sweep import claim_run_dir

        run_dir = _last(checked.ns.overrides, "hydra.run.dir")
        if run_dir is not None and "${" not in run_dir:
            try:
                if claim_run_dir(Path(run_dir)):
                    claimed = Path(run_dir)
            except UserError as ex:
                print(f"error: {ex}", file=sys.stderr)
                sys.exit(2)
    try:
        _hydra_main()
    except KeyboardInterrupt:  # Ctrl-C: one line; finished runs and their files are kept
        print("interrupted: runs that finished are kept; re-run the same command to resume a sweep",
              file=sys.stderr)
        sys.exit(130)
    finally:
        if claimed is not None:
            from sim.sweep import release_run_dir

            release_run_dir(claimed)
    if multirun:
        from sim.sweep import STATE

        if STATE["failed"]:
            sys.exit(1)


if __name__ == "__main__":
    main()
