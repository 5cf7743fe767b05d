"""The ``outreach-sim`` command (also ``python -m sim``): Hydra-configured runs and sweeps.

``outreach-sim`` runs the baseline scenario on the embedded province and prints a summary and
its output folder; ``outreach-sim key=value ...`` overrides any parameter;
``outreach-sim -m scenario=baseline_2021,budget_plus_20 seed=1,2,3`` runs a sweep (Hydra
multirun; joblib launcher, one worker per core, by default; ``hydra/launcher=basic`` runs the
jobs one by one, ``hydra/launcher=ray`` on a Ray cluster, ``hydra/launcher=submitit_slurm`` on
SLURM). Re-running a sweep into the same ``hydra.sweep.dir`` skips its complete jobs.

The Hydra config is converted to :class:`sim.config.RunConfig` at once; nothing below this
module sees a ``DictConfig``. Before Hydra starts, every job of the command line is composed
and validated, so a bad override, an unknown scenario or an impossible value ends with one
clear line and exit status 2, and no job starts.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import time
import traceback
from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from sim import config as C
from sim.errors import UserError

CONF_DIR = Path(__file__).resolve().parent / "conf"
"""The config folder, shipped inside the package (so an installed wheel finds it anywhere)."""
GROUPS = {"population": C.PopulationConfig, "network": C.NetworkConfig, "funding": C.FundingConfig,
          "staffing": C.StaffingConfig, "activities": C.ActivitiesConfig, "diffusion": C.DiffusionConfig}


def register_schemas() -> None:
    """Register the dataclass schemas in Hydra's ConfigStore (``base_config``, ``base_<group>``)."""
    cs = ConfigStore.instance()
    cs.store(name="base_config", node=C.RunConfig)
    for group, schema in GROUPS.items():
        cs.store(group=group, name=f"base_{group}", node=schema)
    register_ray_launcher(cs)


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


def to_run_config(cfg) -> C.RunConfig:
    """Hydra config -> RunConfig (range checks run in the dataclasses' ``__post_init__``)."""
    cfg = OmegaConf.masked_copy(cfg, [f.name for f in dataclasses.fields(C.RunConfig)]) \
        if "hydra" in cfg else cfg
    obj = OmegaConf.to_object(cfg)
    if not isinstance(obj, C.RunConfig):  # composed without the schema (should not happen)
        raise UserError("the config does not match the RunConfig schema")
    return obj


def compose_run_config(overrides: list[str]) -> C.RunConfig:
    """The RunConfig of ``conf/config.yaml`` with ``overrides`` (one job; errors as UserError)."""
    from hydra import compose, initialize_config_dir

    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
            return to_run_config(compose(config_name="config", overrides=list(overrides)))
    except UserError:
        raise
    except Exception as ex:  # noqa: BLE001 - composition errors become one line
        raise UserError(_error_line(ex)) from None


def run_job(cfg: C.RunConfig, out_dir: Path, *, quiet: bool = False) -> dict:
    """Run one configured job and write its files into ``out_dir`` (a plain function for tests)."""
    from sim.model import OutreachModel
    from sim.province import build_province
    from sim.results import config_hash, format_summary, read_summary, write_run

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


def _error_line(ex: BaseException) -> str:
    """One line for a composition or validation error."""
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

    if isinstance(ex, UserError):
        return str(ex)
    if isinstance(ex, OmegaConfBaseException):
        key = getattr(ex, "full_key", None) or ""
        msg = str(getattr(ex, "msg", "") or ex).splitlines()[0]
        group, _, name = key.partition(".")
        unknown = isinstance(ex, ConfigKeyError | ConfigAttributeError)
        if unknown and group in GROUPS and name:
            allowed = sorted(f.name for f in dataclasses.fields(GROUPS[group]))
            return f"{key}: no such key; {group} keys are {allowed}"
        if unknown and not name:
            allowed = sorted(f.name for f in dataclasses.fields(C.RunConfig))
            return f"{key}: no such key; top-level keys are {allowed}"
        return f"{key}: {msg}" if key else msg
    cause = ex.__cause__
    while cause is not None:
        if isinstance(cause, OmegaConfBaseException | UserError):
            return _error_line(cause)
        cause = cause.__cause__
    lines = [ln.strip() for ln in str(ex).splitlines() if ln.strip()]
    if lines and "Could not find" in lines[0]:
        missing = lines[0].split("Could not find", 1)[1].strip(" '")
        group, _, option = missing.partition("/")
        options = []
        for ln in lines[1:]:
            if ln.startswith("Config search path"):
                break
            if not ln.startswith(("Available", "base_")):
                options.append(ln)
        return f"{group}={option!r} is not allowed: must be one of {options}"
    return "; ".join(lines[:3])


def precheck(args: list[str]) -> tuple[str | None, list[C.RunConfig]]:
    """Compose and validate every job the command line asks for.

    Returns (the first error as one line, or None; the jobs' configs).
    """
    from hydra import compose, initialize_config_dir
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    if any(a in ("--help", "-h", "--hydra-help", "--info", "-i", "--cfg", "-c", "--shell-completion", "-sc")
           or a.startswith(("--cfg", "--info", "--config-path", "--config-name", "-cp", "-cn"))
           for a in args):
        return None, []
    overrides = [a for a in args if not a.startswith("-")
                 and not a.lstrip("+~").startswith(("hydra.", "hydra/"))]
    configs = []
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
        jobs = [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
            for job in jobs:
                configs.append(to_run_config(compose(config_name="config", overrides=list(job))))
    except Exception as ex:  # noqa: BLE001 - every composition error becomes one line
        return _error_line(ex), []
    return None, configs


@hydra.main(version_base=None, config_path=str(CONF_DIR), config_name="config")
def _hydra_main(cfg) -> None:
    logging.getLogger("MESA").setLevel(logging.WARNING)
    run_cfg = to_run_config(cfg)
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    multirun = HydraConfig.get().mode.name == "MULTIRUN"
    from sim.results import FAILED_FILE, write_json

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
