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
  ``hydra.sweep.subdir``, ``hydra.job.chdir``, ``hydra/launcher=NAME`` and ``hydra.launcher.*``
  (except ``_target_`` and ``setup``) (:data:`sim.compose.HYDRA_OVERRIDES`);
  ``hydra.callbacks*``, ``hydra.job.env_set*``, ``hydra.searchpath`` (use ``--config-dir``),
  other ``hydra/...`` groups and any ``_target_`` key or value are refused: they import code or
  change the process environment. ``--config-path`` is refused too (use ``--config-dir``).
* scenario and group files (the package's ``sim/conf/<group>/`` and everything in a
  ``--config-dir``) may hold run parameters only: no ``hydra:`` block, ``hydra/`` folder,
  ``# @package hydra...`` header or ``_target_`` key (:func:`sim.compose.check_config_files`).
* ``+key=value`` must name a field of the run config (a typo is not added silently).
* ``hydra.run.dir=DIR`` naming a folder that holds a complete run of another config is refused
  (the same config is skipped). The default run folder ends in a random ``${run_id:}`` so two
  commands started in the same second do not share one.
"""

from __future__ import annotations

import logging
import secrets
import sys
import time
import traceback
from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from sim import config as C
from sim.compose import CONF_DIR, CONFIG_NAME, compose_jobs, compose_run_config, register_schemas, to_run_config
from sim.errors import UserError

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


def run_job(cfg: C.RunConfig, out_dir: Path, *, quiet: bool = False, keep_going=None) -> dict | None:
    """Run one configured job and write its files into ``out_dir`` (a plain function for tests).

    ``keep_going`` (for a sweep's job): asked before the run and before writing; when it says
    False (the sweep that launched the job is gone) the job stops and writes nothing.
    """
    from sim.model import OutreachModel
    from sim.province import build_province
    from sim.results import config_hash, format_summary, write_run
    from sim.runs import read_summary

    out_dir = Path(out_dir)
    done = read_summary(out_dir)
    if done is not None and done.get("config_hash") == config_hash(cfg):
        print(f"skipped (already complete): {out_dir}")
        return done
    if keep_going is not None and not keep_going():
        return None
    t0 = time.perf_counter()
    province = build_province(cfg.population, cfg.network, progress=None if cfg.progress else False)
    t1 = time.perf_counter()
    model = OutreachModel(cfg, province)
    model.run()
    t2 = time.perf_counter()
    timing = {"province_s": round(t1 - t0, 3), "model_s": round(t2 - t1, 3)}
    if keep_going is not None and not keep_going():
        print(f"job stopped: {out_dir}: the sweep that launched it is gone", file=sys.stderr)
        return None
    s = write_run(out_dir, model, cfg, time.perf_counter() - t0, timing=timing)
    if not quiet:
        print(format_summary(s, out_dir))
    return s


SKIP_PRECHECK = ("help", "hydra_help", "cfg", "info", "shell_completion", "config_path", "config_name",
                 "experimental_rerun")
"""Hydra options that do not run this app's jobs (or choose another primary config): no pre-check."""


class _BadOption(Exception):
    """Raised instead of argparse's exit, so Hydra reports a bad option itself."""


def precheck(args: list[str]) -> tuple[str | None, list[C.RunConfig]]:
    """Compose and validate every job the command line asks for.

    The command line is read by Hydra's own argument parser, so ``--config-dir DIR``,
    ``--config-dir=DIR`` and ``-cd DIR`` add the user's config folder here as Hydra adds it.
    Overrides of ``hydra.*`` (the launcher, the output folders) are left to Hydra.

    Returns:
        (the first error as one line, or None; the jobs' configs). Both are empty when the
        command line only asks Hydra for help or information, or does not parse (Hydra says why).
    """
    from hydra._internal.utils import get_args_parser

    from sim.compose import check_config_files, check_override_keys

    if "--version" in args:  # Hydra prints it
        return None, []
    parser = get_args_parser()

    def error(message: str):
        raise _BadOption(message)

    parser.error = error
    try:
        ns = parser.parse_args(args)
    except (_BadOption, SystemExit):  # an option Hydra will refuse with its usage line
        return None, []
    try:
        if ns.config_path:
            raise UserError("--config-path is not allowed (it replaces the package's configs): "
                            "use --config-dir DIR to add a folder of your own configs")
        check_override_keys(ns.overrides)
        if ns.config_dir is not None and Path(ns.config_dir).is_dir():
            check_config_files(ns.config_dir)
        if ns.cfg not in (None, "job", "all") or any(getattr(ns, name, None) for name in SKIP_PRECHECK
                                                    if name != "cfg"):
            return None, []
        overrides = [o for o in ns.overrides if not o.lstrip("+~").startswith(("hydra.", "hydra/"))]
        configs = compose_jobs(overrides, config_dir=ns.config_dir)
        if not ns.multirun and not ns.cfg:
            check_run_dir(ns.overrides, configs)
        return None, configs
    except UserError as ex:
        return str(ex), []


def check_run_dir(overrides: list[str], configs: list[C.RunConfig]) -> None:
    """Refuse ``hydra.run.dir=DIR`` when DIR holds a complete run of another config.

    Raises:
        UserError: naming the folder and both config hashes.
    """
    from sim.results import config_hash
    from sim.runs import read_summary

    dirs = [o.partition("=")[2] for o in overrides if o.lstrip("+").partition("=")[0] == "hydra.run.dir"]
    if not dirs or "${" in dirs[-1] or len(configs) != 1:
        return
    done = read_summary(Path(dirs[-1]))
    want = config_hash(configs[0])
    if done is not None and done.get("config_hash") != want:
        raise UserError(f"hydra.run.dir={dirs[-1]} already holds a complete run of another config "
                        f"(config_hash {done.get('config_hash')}, this one {want}): choose another folder")


@hydra.main(version_base=None, config_path=str(CONF_DIR), config_name=CONFIG_NAME)
def _hydra_main(cfg) -> None:
    logging.getLogger("MESA").setLevel(logging.WARNING)
    run_cfg = to_run_config(cfg)
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    multirun = HydraConfig.get().mode.name == "MULTIRUN"
    from sim.results import write_json
    from sim.runs import FAILED_FILE

    if not multirun:  # hydra.run.dir with an interpolation: the pre-check could not look
        from sim.results import config_hash
        from sim.runs import read_summary

        done = read_summary(out_dir)
        if done is not None and done.get("config_hash") != config_hash(run_cfg):
            print(f"error: {out_dir} already holds a complete run of another config "
                  f"(config_hash {done.get('config_hash')}): choose another hydra.run.dir", file=sys.stderr)
            sys.exit(2)
    (out_dir / FAILED_FILE).unlink(missing_ok=True)
    keep_going = None
    if multirun:  # a worker whose sweep is gone (killed) stops instead of writing on
        from sim.sweep import sweep_owner_alive

        sweep_dir = Path(str(HydraConfig.get().sweep.dir)).resolve()
        keep_going = lambda: sweep_owner_alive(sweep_dir)  # noqa: E731
    try:
        run_job(run_cfg, out_dir, quiet=multirun, keep_going=keep_going)
    except Exception as ex:  # keep the other jobs of a sweep going; record why this one failed
        write_json(out_dir / FAILED_FILE, {"error": f"{type(ex).__name__}: {ex}",
                                             "traceback": traceback.format_exc()})
        if not multirun:
            if isinstance(ex, UserError):  # found while running (e.g. a pot that cannot pay): one line
                print(f"error: {ex}", file=sys.stderr)
                sys.exit(2)
            raise
        print(f"job failed: {out_dir}: {type(ex).__name__}: {ex}", file=sys.stderr)
        return
    if multirun and not (out_dir / FAILED_FILE).exists():
        print(f"done: {out_dir}", flush=True)


def main() -> None:
    """Entry point of ``outreach-sim``."""
    args = sys.argv[1:]
    _RUN_ID["id"] = secrets.token_hex(3)
    error, configs = precheck(args)
    if error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    multirun = "-m" in args or "--multirun" in args
    if multirun and configs:
        from sim.sweep import prebuild

        prebuild(configs)
    try:
        _hydra_main()
    except KeyboardInterrupt:  # Ctrl-C: one line; finished runs and their files are kept
        print("interrupted: runs that finished are kept; re-run the same command to resume a sweep",
              file=sys.stderr)
        sys.exit(130)
    if multirun:
        from sim.sweep import STATE

        if STATE["failed"]:
            sys.exit(1)


if __name__ == "__main__":
    main()
