"""Composing a run's config: the one path from ``key=value`` overrides to a :class:`~sim.config.RunConfig`.

This module owns:

* :data:`CONF_DIR`, the Hydra config folder shipped inside the package (so an installed wheel
  finds it from any folder), and the dataclass schemas registered in Hydra's ConfigStore
  (:func:`register_schemas`);
* :func:`compose_run_config` (one job) and :func:`compose_jobs` (every job of a sweep command
  line such as ``seed=1,2,3``, split by :func:`expand_jobs` as Hydra's sweeper splits it): Hydra
  composition exactly as ``outreach-sim`` does it, with an optional extra config folder
  (``--config-dir``) searched after the package's own; jobs that differ only in plain values
  share one composition of their defaults list (a sweep's pre-check costs one Hydra composition
  per scenario, not per job); every error becomes one :class:`~sim.errors.UserError` line
  naming the key and what is allowed.
  ``outreach-sim``'s pre-check, ``outreach-sim-validate``/``-calibrate``/``-marginal``,
  ``python -m sim.province``, the benchmark and the regression baseline all compose here;
* :func:`with_overrides`: replace values of a RunConfig that is already composed, without
  Hydra (calibration and marginal values change a few parameters for many runs);
* :data:`NEUTRAL_KEYS`: the keys that do not affect results, and :func:`config_hash`, the hash
  of the rest;
* what a command line may override (:data:`HYDRA_OVERRIDES`, :data:`LAUNCHER_KEYS`,
  :func:`check_override_keys`) and what a config file may hold (:func:`check_config_files`).

Hydra and the config schemas are imported inside the functions, so importing this module is
cheap (:mod:`sim.results`, :mod:`sim.runs`, :mod:`sim.sweep` and :mod:`sim.province` use it).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import numbers
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.errors import ConfigError, UserError

if TYPE_CHECKING:
    from sim.config import RunConfig

CONF_DIR = Path(__file__).resolve().parent / "conf"
"""The config folder, shipped inside the package (so an installed wheel finds it anywhere)."""
CONFIG_NAME = "config"
"""The primary config: ``conf/config.yaml``."""

NEUTRAL_KEYS = ("progress", "population.cache_dir", "population.use_cache", "scenario.description",
                "scenario.description_zh", "hydra.launcher.n_jobs")
"""Override keys that do not affect results: the progress display, where the province is
cached (and whether), and how many jobs run at once. They are left out of the config hash
(:func:`sim.results.config_hash`, so a sweep re-run with other values of them still skips its
complete jobs), of the province's cache key (:func:`sim.province.cache_key`), of a sweep job's
folder name (``hydra.job.config.override_dirname.exclude_keys`` in ``conf/config.yaml``, which
a test keeps equal to this tuple) and of the grouping of ``outreach-sim-compare``. Keys of the
run config are dotted paths (``population.cache_dir``); ``hydra.*`` keys exist only in Hydra's
config."""


def run_neutral_keys() -> tuple[str, ...]:
    """The :data:`NEUTRAL_KEYS` that are fields of the run config (not ``hydra.*``)."""
    return tuple(k for k in NEUTRAL_KEYS if not k.startswith("hydra."))


def without_neutral(d: Mapping[str, Any]) -> dict:
    """A copy of a run config as a nested dict without the :data:`NEUTRAL_KEYS`."""
    out = dict(d)
    for key in run_neutral_keys():
        *parents, leaf = key.split(".")
        node = out
        for p in parents:
            if not isinstance(node.get(p), Mapping):
                break
            node[p] = dict(node[p])
            node = node[p]
        else:
            node.pop(leaf, None)
    return out


def config_hash(cfg: RunConfig) -> str:
    """Hash of everything that affects results: the config without :data:`NEUTRAL_KEYS`.

    Here rather than in :mod:`sim.results` (which re-exports it) so that a sweep's pre-check
    can compare a job with its folder's summary without importing the engine.
    """
    d = without_neutral(dataclasses.asdict(cfg))
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


def group_schemas() -> dict[str, type]:
    """Config group -> its dataclass schema (registered as ``base_<group>``)."""
    from sim import config as C

    return {"population": C.PopulationConfig, "network": C.NetworkConfig, "funding": C.FundingConfig,
            "staffing": C.StaffingConfig, "activities": C.ActivitiesConfig, "diffusion": C.DiffusionConfig}


def register_schemas() -> None:
    """Register the dataclass schemas in Hydra's ConfigStore (``base_config``, ``base_<group>``).

    Idempotent: storing the same node again replaces it.
    """
    from hydra.core.config_store import ConfigStore

    from sim.config import RunConfig

    cs = ConfigStore.instance()
    cs.store(name="base_config", node=RunConfig)
    for group, schema in group_schemas().items():
        cs.store(group=group, name=f"base_{group}", node=schema)


def to_run_config(cfg) -> RunConfig:
    """Hydra config -> RunConfig (range checks run in the dataclasses' ``__post_init__``)."""
    from omegaconf import OmegaConf

    from sim.config import RunConfig

    cfg = OmegaConf.masked_copy(cfg, [f.name for f in dataclasses.fields(RunConfig)]) \
        if "hydra" in cfg else cfg
    obj = OmegaConf.to_object(cfg)
    if not isinstance(obj, RunConfig):  # composed without the schema (should not happen)
        raise UserError("the config does not match the RunConfig schema")
    return obj


def config_dir_override(config_dir: str | os.PathLike) -> str:
    """The ``hydra.searchpath`` override that adds ``config_dir`` after the package's folder.

    This is where Hydra's own ``--config-dir`` puts it (before the structured schemas), so a
    user's ``scenario/mine.yaml`` is found and the package's configs keep their names.

    Raises:
        UserError: when the folder does not exist.
    """
    path = Path(config_dir).expanduser().absolute()
    if not path.is_dir():
        raise UserError(f"--config-dir: additional config directory '{path}' not found")
    quoted = str(path).replace("\\", "\\\\").replace("'", "\\'")
    return f"hydra.searchpath=['file://{quoted}']"


HYDRA_OVERRIDES = ("hydra.run.dir", "hydra.sweep.dir", "hydra.sweep.subdir", "hydra.job.chdir",
                   "hydra.launcher.*", "hydra/launcher")
"""The ``hydra`` overrides a command line may give; ``hydra.launcher.*`` only as
:data:`LAUNCHER_KEYS` allows for the launcher chosen. Everything else under ``hydra``
(``hydra.callbacks``, ``hydra.job.env_set``, other ``hydra/...`` groups, ``hydra.searchpath``) and
any ``_target_`` key or value is refused: those import code or change the process environment."""

DEFAULT_LAUNCHER = "joblib"
"""The launcher of ``conf/config.yaml`` (``override hydra/launcher: joblib``)."""
_SUBMITIT = ("timeout_min", "cpus_per_task", "gpus_per_node", "tasks_per_node", "mem_gb", "nodes", "name",
             "stderr_to_stdout")
LAUNCHER_KEYS: dict[str, tuple[str, ...]] = {
    "basic": (),
    "joblib": ("n_jobs", "backend", "prefer", "require", "verbose", "timeout", "pre_dispatch", "batch_size",
               "max_nbytes", "mmap_mode"),
    "ray": ("ray.init.address", "ray.init.num_cpus", "ray.init.num_gpus", "ray.init.object_store_memory",
            "ray.init.namespace", "ray.init.log_to_driver", "ray.remote.num_cpus", "ray.remote.num_gpus",
            "ray.remote.memory", "ray.remote.max_retries", "ray.remote.max_calls"),
    "submitit_local": _SUBMITIT,
    "submitit_slurm": (*_SUBMITIT, "partition", "qos", "account", "comment", "constraint", "exclude", "gres",
                       "cpus_per_gpu", "gpus_per_task", "mem_per_gpu", "mem_per_cpu", "signal_delay_s",
                       "max_num_timeout", "array_parallelism"),
}
"""``hydra/launcher=NAME`` -> the ``hydra.launcher.<key>`` settings a command line may give it, each
one plain value (no ``{...}``/``[...]``, no control characters): how many jobs run at once and
where, and what each may use. Left out, because they run code, change the jobs' environment or
write elsewhere: the launcher's ``_target_``; Ray's ``runtime_env`` (``env_vars``, ``pip``,
``working_dir``, ``py_modules``) and the dashboard; submitit's ``setup`` (shell lines run before
each job), ``srun_args``, ``additional_parameters`` (any ``sbatch`` option) and
``submitit_folder``; joblib's ``temp_folder``. Other launchers (``ray_aws`` runs setup commands
on the machines it makes) are refused."""

_TARGET_VALUE = re.compile(r"\b_target_\s*:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def chosen_launcher(overrides: Iterable[str]) -> str:
    """The launcher a command line chooses (the last ``hydra/launcher=NAME``, else :data:`DEFAULT_LAUNCHER`)."""
    name = DEFAULT_LAUNCHER
    for o in overrides:
        key, eq, value = o.partition("=")
        if eq and key.strip().lstrip("+~").strip() == "hydra/launcher":
            name = value.strip()
    return name


def check_override_keys(overrides: Iterable[str]) -> None:
    """Refuse overrides outside :data:`HYDRA_OVERRIDES` and :data:`LAUNCHER_KEYS`, and any ``_target_`` (see there).

    Raises:
        UserError: naming the override and what is allowed.
    """
    overrides = list(overrides)
    launcher = chosen_launcher(overrides)
    if launcher not in LAUNCHER_KEYS:
        raise UserError(f"hydra/launcher={launcher} is not allowed: must be one of {list(LAUNCHER_KEYS)}")
    for o in overrides:
        key, _, value = o.partition("=")
        key = key.strip().lstrip("+~").strip()
        parts = re.split(r"[./@]", key)
        if "_target_" in parts or _TARGET_VALUE.search(value):
            raise UserError(f"{key}: _target_ may not be set (it names code to import); "
                            "overrides may set config values only")
        if parts[0] != "hydra":
            continue
        if _CONTROL.search(o):
            raise UserError(f"{key}: the value may not hold control characters (a newline, a tab, ...)")
        if key == "hydra.searchpath":
            raise UserError("hydra.searchpath may not be overridden: use --config-dir DIR to add a config folder")
        if key == "hydra/launcher":
            continue
        if key.startswith("hydra.launcher."):
            allowed = LAUNCHER_KEYS.get(launcher, ())
            if key.removeprefix("hydra.launcher.") not in allowed:
                raise UserError(f"{key} may not be overridden: the hydra.launcher settings allowed with "
                                f"hydra/launcher={launcher} are {list(allowed)} (others can run code or change "
                                "the jobs' environment)")
            if value.strip().startswith(("{", "[")):
                raise UserError(f"{key}={value.strip()} is not allowed: must be one plain value")
            continue
        if key not in HYDRA_OVERRIDES:
            raise UserError(f"{key} may not be overridden: the hydra settings allowed are {list(HYDRA_OVERRIDES)} "
                            "(hydra.launcher.* as sim.compose.LAUNCHER_KEYS lists)")


def check_added_keys(overrides: Iterable[str]) -> None:
    """Refuse ``+key=value``/``++key=value`` where ``key`` is not a field of the run config.

    Hydra adds such keys silently and the schema then drops them; a typo would change nothing.

    Raises:
        UserError: naming the key and the keys allowed there.
    """
    from sim.config import RunConfig

    defaults = RunConfig()
    top = {f.name for f in dataclasses.fields(RunConfig)}
    for o in overrides:
        if not o.startswith("+"):
            continue
        key = o.lstrip("+").partition("=")[0].strip()
        if key.startswith(("hydra.", "hydra/")) or "@" in key or "/" in key:
            continue
        group, dot, name = key.partition(".")
        if group not in top:
            raise UserError(f"{key}: no such key; top-level keys are {sorted(top)}")
        sub = getattr(defaults, group)
        if dot and dataclasses.is_dataclass(sub):
            allowed = sorted(f.name for f in dataclasses.fields(sub))
            if name.partition(".")[0] not in allowed:
                raise UserError(f"{key}: no such key; {group} keys are {allowed}")


def check_config_files(folder: str | os.PathLike, *, groups_only: bool = False) -> None:
    """Refuse config files that could run code or change Hydra: the rule for ``--config-dir`` and ``conf/``.

    A scenario or group file may not hold a ``_target_`` key (anywhere), a top-level ``hydra``
    key, a ``# @package`` header naming ``hydra`` or a defaults entry naming ``hydra``; a folder
    ``hydra/`` is refused. ``groups_only`` skips the files at the top of ``folder`` (the
    package's primary configs, which own the ``hydra`` settings).

    Raises:
        UserError: naming the file and what is not allowed.
    """
    import yaml

    root = Path(folder)
    for path in sorted([*root.rglob("*.yaml"), *root.rglob("*.yml")]):
        rel = path.relative_to(root)
        if groups_only and len(rel.parts) == 1:
            continue
        where = f"config file {path}"
        if rel.parts[0] == "hydra":
            raise UserError(f"{where}: config files may not configure hydra (a 'hydra/' folder); "
                            "only run parameters are allowed")
        try:
            text = path.read_text(encoding="utf-8")
            data = yaml.safe_load(text)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as ex:
            first = (str(ex).strip().splitlines() or [type(ex).__name__])[0]
            raise UserError(f"{where}: cannot be read as YAML ({first})") from None
        for line in text.splitlines():
            if line.lstrip().startswith("#") and "@package" in line and "hydra" in line:
                raise UserError(f"{where}: '# @package' may not name hydra; only run parameters are allowed")
        if isinstance(data, Mapping):
            if "hydra" in data:
                raise UserError(f"{where}: a 'hydra:' block is not allowed; only run parameters are allowed")
            for entry in data.get("defaults") or []:
                if "hydra" in str(entry):
                    raise UserError(f"{where}: defaults entry {entry!r} may not name hydra")
        bad = _target_path(data)
        if bad is not None:
            raise UserError(f"{where}: '{bad}' is not allowed: _target_ names code to import; "
                            "only run parameters are allowed")


def _target_path(node, prefix: str = "") -> str | None:
    """The dotted path of the first ``_target_`` key in a loaded YAML document, or None."""
    items = node.items() if isinstance(node, Mapping) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        path = f"{prefix}.{k}" if prefix else str(k)
        if k == "_target_":
            return path
        found = _target_path(v, path)
        if found is not None:
            return found
    return None


@functools.lru_cache(maxsize=4)
def _check_package_files(folder: str) -> None:
    check_config_files(folder, groups_only=True)


def prepare_overrides(overrides: Iterable[str]) -> list[str]:
    """``overrides`` as Hydra's grammar and struct mode need them, for two forms we accept:

    * a region's name becomes its admin code (``region=长沙市`` -> ``region=430100``; a sweep's
      ``region=长沙市,株洲市`` each), so its folder and group say the code; a name that names no
      region is left for the config to refuse.
    * other plain values in other scripts are quoted (Hydra takes only ASCII unquoted):
      ``scenario.description=新的`` -> ``scenario.description='新的'``; values already quoted, or
      holding brackets, braces or an interpolation, are left alone.
    * the per-county lever maps take new codes: ``levers.posts={431126:6}`` and
      ``levers.posts.431126=6`` -> ``++levers.posts...`` (a plain override may not add a key).
    """
    from sim.levers import LEVERS
    from sim.region import resolve_region

    def code(name: str) -> str:
        try:
            return str(resolve_region(name).code)
        except UserError:  # the config says why, naming what was given
            return name

    out = []
    for o in overrides:
        key, eq, value = o.partition("=")
        plain = eq and not any(c in value for c in "'\"[]{}()$")
        if plain and key.strip().lstrip("+") == "region" and value.strip():
            value = ",".join(code(v) for v in value.split(","))  # region=长沙市 -> region=430100
        if plain and not value.isascii():
            value = ",".join(f"'{v}'" if not v.isascii() else v for v in value.split(","))
        if eq and key.strip().split(".")[:2] in [["levers", name] for name in LEVERS]:
            key = "++" + key.strip()
        out.append(f"{key}{eq}{value}")
    return out


def expand_jobs(overrides: Iterable[str]) -> list[list[str]]:
    """Each job's overrides, as Hydra's basic sweeper makes them (``seed=1,2`` -> two jobs).

    These are the strings Hydra gives each job (and names its folder after: see
    :func:`sim.sweep.job_dirname`).

    Raises:
        UserError: an override that does not parse, as one line.
    """
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    parsed = parse_overrides(overrides)
    try:
        return [list(job) for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]
    except Exception as ex:  # noqa: BLE001 - every parse error becomes one line
        raise UserError(error_line(ex)) from None


def parse_overrides(overrides: Iterable[str]) -> list:
    """Hydra's parse of ``overrides`` (its ``Override`` objects); also for ``hydra.*`` overrides,
    which the pre-check leaves to Hydra but whose syntax errors it words in one line.

    Raises:
        UserError: the first override that does not parse, as one line.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        return OverridesParser.create().parse_overrides(list(overrides))
    except Exception as ex:  # noqa: BLE001 - every parse error becomes one line
        raise UserError(error_line(ex)) from None


def compose_jobs(overrides: Iterable[str], config_dir: str | os.PathLike | None = None) -> list[RunConfig]:
    """The RunConfig of every job a command line asks for (sweep syntax ``seed=1,2`` expanded).

    Args:
        overrides: Hydra overrides (``key=value``, ``group=option``, ``+key=value``; a
            comma list or ``range(...)`` makes one job per value, as ``outreach-sim -m``).
        config_dir: An extra config folder searched after the package's ``conf/``
            (``outreach-sim --config-dir DIR``); relative to the working folder.

    Raises:
        UserError: the first composition or validation error, as one line.
    """
    return _compose(expand_jobs(prepare_overrides(overrides)), config_dir)


def compose_run_config(overrides: Iterable[str] = (), config_dir: str | os.PathLike | None = None) -> RunConfig:
    """The RunConfig of ``conf/config.yaml`` with ``overrides``: one job, as ``outreach-sim`` composes it.

    Args:
        overrides: Hydra overrides, e.g. ``["scenario=budget_plus_20", "population.scale=0.05"]``.
        config_dir: An extra config folder searched after the package's ``conf/``.

    Raises:
        UserError: a composition or validation error, as one line.
    """
    return _compose([prepare_overrides(overrides)], config_dir)[0]


def _compose(jobs: list[list[str]], config_dir: str | os.PathLike | None) -> list[RunConfig]:
    """Compose ``jobs``; jobs that differ only in plain values share one Hydra composition.

    Hydra composes a job in two steps: the defaults list (the primary config and the group
    options such as ``scenario=need_based``), then each plain ``key=value`` override, in order,
    with ``OmegaConf.update(cfg, key, value, merge=True)``. Jobs whose overrides have the same
    shape (the same group options and the same plain keys in the same order, see
    :func:`_shape`) share the first step, so only the first of them is composed by Hydra and the
    others repeat the second step on a copy of it. This is what Hydra does, without composing
    the defaults list again for every seed (about 0.15 s a job). A job for which the shortcut
    fails is composed by Hydra, so errors read as Hydra's.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import DictConfig

    register_schemas()
    _check_package_files(str(CONF_DIR))
    for job in jobs:
        check_added_keys(job)
    try:
        extra = [config_dir_override(config_dir)] if config_dir is not None else []
        if config_dir is not None:
            check_config_files(config_dir)
        if extra and any(o.lstrip("+~").startswith("hydra.searchpath") for job in jobs for o in job):
            raise UserError("give either an extra config dir or hydra.searchpath, not both")
        roots = [CONF_DIR] + ([Path(config_dir)] if config_dir is not None else [])
        parser = OverridesParser.create()
        composed: dict[tuple, DictConfig] = {}
        out = []
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
            for job in jobs:
                shape, values = _shape(parser, job, roots)
                cfg = None
                if shape is not None and shape in composed:
                    cfg = _replay(composed[shape], values)
                if cfg is None:
                    full = compose(config_name=CONFIG_NAME, overrides=[*job, *extra])
                    if shape is not None:
                        composed.setdefault(shape, full)
                    cfg = to_run_config(full)
                out.append(cfg)
        return out
    except UserError:
        raise
    except Exception as ex:  # noqa: BLE001 - composition errors become one line
        raise UserError(error_line(ex)) from None


def _shape(parser, job: list[str], roots: list[Path]) -> tuple[tuple | None, list[tuple[str, Any]]]:
    """(what a job's composition depends on apart from its plain values, its plain values).

    A plain value is an override ``key=value`` (no ``+``, ``++``, ``~`` or ``@package``) whose
    key names no config group (no folder of that name in a config folder, none in Hydra's
    ConfigStore) and whose value is a scalar (a dict would be merged into the old value, not
    replace it) without an interpolation. The shape is None when the job cannot share (a parse
    error: Hydra will say it).
    """
    from hydra.core.config_store import ConfigStore
    from hydra.core.override_parser.types import OverrideType

    shape, values = [], []
    try:
        parsed = parser.parse_overrides(job)
    except Exception:  # noqa: BLE001 - Hydra reports it when it composes the job
        return None, []
    groups = ConfigStore.instance().repo
    for o in parsed:
        key = o.key_or_group
        value = o.value() if not o.is_sweep_override() else None
        plain = o.type == OverrideType.CHANGE and o.package is None and "/" not in key \
            and key.partition(".")[0] != "hydra" \
            and not any((root / key).is_dir() for root in roots) and key not in groups \
            and (value is None or isinstance(value, str | int | float | bool)) \
            and "${" not in str(o.input_line)
        if plain:
            shape.append(("value", key))
            values.append((key, value))
        else:
            shape.append(("other", o.input_line))
    return tuple(shape), values


def _replay(base, values: list[tuple[str, Any]]) -> RunConfig | None:
    """``base`` (a composed config) with each plain value set as Hydra sets it; None if that fails."""
    from omegaconf import OmegaConf

    try:
        cfg = copy.deepcopy(base)
        for key, value in values:
            OmegaConf.update(cfg, key, value, merge=True)
        return to_run_config(cfg)
    except Exception:  # noqa: BLE001 - Hydra composes the job and words the error
        return None


def with_overrides(cfg: RunConfig, values: Mapping[str, Any]) -> RunConfig:
    """A copy of ``cfg`` with values replaced by key, validated again; no Hydra, no files.

    Args:
        cfg: A run config.
        values: ``group.key`` (``activities.youth_per_lecture``) or top-level key (``seed``)
            -> new value. A number is converted to the field's declared type (``int``,
            ``float`` or ``bool``), as composition would.

    Raises:
        ConfigError: a key that is not a parameter of the run config, a fractional value for
            a whole-number field, or a value out of range.
    """
    top: dict[str, Any] = {}
    groups: dict[str, dict] = {}
    top_fields = {f.name: f for f in dataclasses.fields(cfg)}
    for key, v in values.items():
        group, dot, name = key.partition(".")
        if not dot:
            if key not in top_fields or dataclasses.is_dataclass(getattr(cfg, key)):
                raise ConfigError(key, v, f"no such parameter; top-level parameters are {_values(cfg)}")
            top[key] = _as_field_type(key, top_fields[key], v)
            continue
        sub = getattr(cfg, group) if group in top_fields else None
        fields = {f.name: f for f in dataclasses.fields(sub)} if dataclasses.is_dataclass(sub) else {}
        if name not in fields:
            allowed = f"{group} keys are {sorted(fields)}" if fields else f"groups are {_groups(cfg)}"
            raise ConfigError(key, v, f"no such parameter; {allowed}")
        groups.setdefault(group, {})[name] = _as_field_type(key, fields[name], v)
    return dataclasses.replace(cfg, **top,
                               **{g: dataclasses.replace(getattr(cfg, g), **kv) for g, kv in groups.items()})


def _values(cfg) -> list[str]:
    return sorted(f.name for f in dataclasses.fields(cfg) if not dataclasses.is_dataclass(getattr(cfg, f.name)))


def _groups(cfg) -> list[str]:
    return sorted(f.name for f in dataclasses.fields(cfg) if dataclasses.is_dataclass(getattr(cfg, f.name)))


def _as_field_type(key: str, field: dataclasses.Field, value: Any) -> Any:
    """A number as the field's declared type (``float`` stays a float even if its default is ``3``)."""
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    if not isinstance(value, numbers.Real) or kind not in ("int", "float", "bool"):
        return value
    if kind == "int" and not float(value).is_integer():
        raise ConfigError(key, value, "must be a whole number")
    return {"int": int, "float": float, "bool": bool}[kind](value)


def _conversion_line(key: str, value, msg: str) -> str:
    """``months=12.5``: the value, the type the field wants and its range (found by probing the schema)."""
    from sim.config import RunConfig

    kind = msg.rsplit(" ", 1)[-1].lower()
    kind = {"integer": "a whole number", "float": "a number", "boolean": "true or false"}.get(kind, kind)
    group, dot, name = key.partition(".")
    allowed = kind
    try:
        target = getattr(RunConfig(), group) if dot else RunConfig()
        field = name if dot else group
        for probe in (-10**30, 10**30):
            try:
                dataclasses.replace(target, **{field: probe})
            except ConfigError as bad:
                allowed = f"{kind} {bad.allowed.removeprefix('must be ')}"
                break
    except (AttributeError, TypeError, ValueError):
        pass
    return f"{key}={value!r} is not allowed: must be {allowed}"


def error_line(ex: BaseException) -> str:
    """One line for a composition or validation error."""
    from hydra.errors import OverrideParseException
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

    from sim.config import RunConfig

    if isinstance(ex, UserError):
        return str(ex)
    if isinstance(ex, OverrideParseException):
        lines = [ln.strip() for ln in str(ex.message).splitlines()]
        detail = f" ({lines[1]})" if len(lines) > 1 and lines[0].startswith("Error parsing") else ""
        return f"override {ex.override!r} does not parse{detail}: write key=value, group=option or key=a,b,c"
    if isinstance(ex, OmegaConfBaseException):
        key = getattr(ex, "full_key", None) or ""
        msg = str(getattr(ex, "msg", "") or ex).splitlines()[0]
        group, _, name = key.partition(".")
        unknown = isinstance(ex, ConfigKeyError | ConfigAttributeError)
        schemas = group_schemas()
        if unknown and group in schemas and name:
            allowed = sorted(f.name for f in dataclasses.fields(schemas[group]))
            return f"{key}: no such key; {group} keys are {allowed}"
        if unknown and not name:
            allowed = sorted(f.name for f in dataclasses.fields(RunConfig))
            return f"{key}: no such key; top-level keys are {allowed}"
        if key and "could not be converted to" in msg:
            return _conversion_line(key, getattr(ex, "value", None), msg)
        return f"{key}: {msg}" if key else msg
    cause = ex.__cause__
    while cause is not None:
        if isinstance(cause, OmegaConfBaseException | UserError):
            return error_line(cause)
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
