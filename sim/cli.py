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
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig

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


def run_job(cfg: C.RunConfig, out_dir: Path, *, quiet: bool = False) -> dict:
    """Run one configured job and write its files into ``out_dir`` (a plain function for tests)."""
    from sim.model import OutreachModel
    from sim.province import build_province
    from sim.results import config_hash, format_summary, write_run
    from sim.runs import read_summary

    out_dir = Path(out_dir)
    done = read_summary(out_dir)
    if done is not None and done.get("config_hash") == config_hash(cfg):
        print(f"skipped (already complete): {out_dir}")
        return done
    t0 = time.perf_counter()
    province = build_province(cfg.population, cfg.network, progress=None if cfg.progress else False)
    t1 = time.perf_counter()
    model = OutreachModel(cfg, province)
    model.run()
    t2 = time.perf_counter()
    timing = {"province_s": round(t1 - t0, 3), "model_s": round(t2 - t1, 3)}
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
    if any(getattr(ns, name, None) for name in SKIP_PRECHECK):
        return None, []
    overrides = [o for o in ns.overrides if not o.lstrip("+~").startswith(("hydra.", "hydra/"))]
    try:
        return None, compose_jobs(overrides, config_dir=ns.config_dir)
    except UserError as ex:
        return str(ex), []


@hydra.main(version_base=None, config_path=str(CONF_DIR), config_name=CONFIG_NAME)
def _hydra_main(cfg) -> None:
    logging.getLogger("MESA").setLevel(logging.WARNING)
    run_cfg = to_run_config(cfg)
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    multirun = HydraConfig.get().mode.name == "MULTIRUN"
    from sim.results import write_json
    from sim.runs import FAILED_FILE

    (out_dir / FAILED_FILE).unlink(missing_ok=True)
    try:
        run_job(run_cfg, out_dir, quiet=multirun)
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
    error, configs = precheck(args)
    if error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    multirun = "-m" in args or "--multirun" in args
    if multirun and configs:
        from sim.sweep import prebuild

        prebuild(configs)
    _hydra_main()
    if multirun:
        from sim.sweep import STATE

        if STATE["failed"]:
            sys.exit(1)


if __name__ == "__main__":
    main()
