"""Reading finished runs back: a run folder's files (as :mod:`sim.results` writes them), the run
folders of a sweep with their overrides, and the runs table. Needs only json, pathlib, pyyaml and
pandas: never the engine (mesa, scipy, :mod:`sim.model`, :mod:`sim.metrics`, the province), so
``outreach-sim-compare`` and ``outreach-sim-report`` start quickly.

A run folder holds ``summary.json`` (written last: its presence means the run is complete),
``config.json``, ``monthly.parquet``, ``counties.parquet``, ``county_months.parquet`` (their
columns are listed in :mod:`sim.results`) and, for a Hydra job, ``.hydra/overrides.yaml``; a job
that failed holds ``failed.json`` instead of a summary.

The runs table (:func:`runs_table`): one row per complete run: ``run_dir``, ``scenario``,
``seed``, ``scale``, ``months``, ``config_hash``, ``package_version``, ``git_commit``, ``group``,
``param.<key>`` for each swept override, the flattened indicators (``coverage.<name>``,
``coverage_counts.<name>.reached``, ``reported.<name>``, ``spend_yuan.<channel>``,
``cost.by_pot.<pot>``, ``cost.by_use.<use>``, ``cost.total_yuan``, ``execution_rate``,
``cost_per_family_reached_yuan``, ``families_reached``, ``equity.<indicator>.<statistic>``,
``binding.money``, ``binding.hands``, ``hands.<role>.used_share``, ``volunteers.end``) and the
summary's provenance labels as text (``provenance.coverage.<name>``,
``provenance.reported.<name>``, ``provenance.execution_rate``).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

import sim
from sim.compose import NEUTRAL_KEYS
from sim.errors import UserError

if TYPE_CHECKING:  # pandas is imported where a table is made: checking a folder's status stays quick
    import pandas as pd

SUMMARY_FILE = "summary.json"
CONFIG_FILE = "config.json"
FAILED_FILE = "failed.json"
"""Written into a job's folder when the job fails (the error and its traceback)."""
OVERRIDES_FILE = ".hydra/overrides.yaml"

IGNORED_OVERRIDES = ("seed", "hydra", *NEUTRAL_KEYS)
"""Overrides that do not make a group of runs (the seed pairs runs; the others change no result)."""
INDICATOR_PREFIXES = ("coverage.", "coverage_counts.", "reported.", "spend_yuan.", "cost.", "equity.",
                      "binding.money", "binding.hands", "hands.", "volunteers.end", "execution_rate",
                      "cost_per_family_reached_yuan", "families_reached")
"""Flattened summary keys of the runs table (``hands.`` only ``used_share``, ``coverage_counts.`` only
``reached``)."""
PROVENANCE_PREFIX = "provenance."
VERSION = "param.version"
REGION = "param.region"
"""Set from each run's summary when some run simulated one region (``region=``): the region's
admin code, ``province`` for the others, so runs pair only with baseline runs of the same region."""
"""Added to the runs table (and so to each group) only when the runs differ in
``package_version@git_commit``: runs of different code are never pooled, and pair only with a
baseline run of the same version."""
META = ("scenario", "seed", "scale", "package_version", "git_commit", "group", "config_hash")
"""Columns of the runs table that :func:`run_tables` copies onto each run's rows."""


# --------------------------------------------------------------------------- one run folder
def flatten(d: dict, prefix: str = "") -> dict:
    """Nested dict -> {"a.b.c": value}."""
    out = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


def read_summary(run_dir: Path) -> dict | None:
    """The summary of a complete run, or None when the run is missing or incomplete."""
    try:
        s = json.loads((Path(run_dir) / SUMMARY_FILE).read_text())
    except (OSError, ValueError):  # unreadable, not UTF-8 or not JSON: incomplete
        return None
    return s if isinstance(s, dict) else None  # ``[]`` or a bare value is no summary either


def run_status(run_dir: Path) -> tuple[str, dict | None]:
    """("complete", summary), ("failed", None) or ("incomplete", None) for a run folder."""
    s = read_summary(run_dir)
    if s is not None:
        return "complete", s
    return ("failed" if (Path(run_dir) / FAILED_FILE).exists() else "incomplete"), None


def git_commit() -> str | None:
    """The git commit of this code (None outside a git checkout). Git runs with a clean
    environment (``PATH``, ``HOME``, ``LANG`` only): no ``GIT_*`` or ``LD_*`` of the caller."""
    try:
        env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}  # no GIT_* etc.
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(sim.__file__).parent,
                             capture_output=True, text=True, timeout=5, env=env)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


@functools.lru_cache(maxsize=1)
def code_version() -> dict:
    """``{"package_version", "git_commit"}`` of this code, as a run's summary records them (asked once)."""
    return {"package_version": sim.__version__, "git_commit": git_commit()}


def version_label(d: dict) -> str:
    """``<package_version>@<git_commit, 12 characters>`` of a summary or of :func:`code_version`."""
    return f"{d.get('package_version')}@{str(d.get('git_commit'))[:12]}"


def same_version(summary: dict) -> bool:
    """Whether a run's summary was written by this code (same package version and git commit)."""
    here = code_version()
    return all(summary.get(k) == v for k, v in here.items())


def read_config(run_dir: Path) -> dict | None:
    """The resolved config of a run (``config.json``), or None when it is missing or unreadable."""
    try:
        return json.loads((Path(run_dir) / CONFIG_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def read_table(run_dir: Path, name: str) -> pd.DataFrame | None:
    """``<name>.parquet`` of a run (``monthly``, ``counties``, ``county_months``), or None when absent."""
    import pandas as pd

    p = Path(run_dir) / f"{name}.parquet"
    return pd.read_parquet(p) if p.is_file() else None


def read_overrides(run_dir: Path) -> dict[str, str]:
    """The swept values of a Hydra job (``.hydra/overrides.yaml``), without the scenario and the
    :data:`IGNORED_OVERRIDES`; empty for a run without it."""
    try:
        items = yaml.safe_load((Path(run_dir) / OVERRIDES_FILE).read_text()) or []
    except (OSError, yaml.YAMLError):
        return {}
    out = {}
    for item in items:
        key, _, value = str(item).lstrip("+~").partition("=")
        if key != "scenario" and not key.startswith(IGNORED_OVERRIDES):
            out[key] = value
    return out


# --------------------------------------------------------------------------- many run folders
def find_runs(dirs: Iterable[str | Path]) -> Iterator[Path]:
    """Run folders (holding ``.hydra/`` or a summary) under each directory, sorted.

    Raises:
        UserError: a directory does not exist.
    """
    for d in dirs:
        d = Path(d)
        if not d.exists():
            raise UserError(f"{d} does not exist (give a run or sweep folder)")
        seen = set()
        for marker in sorted(d.rglob("overrides.yaml")):
            if marker.parent.name == ".hydra":
                seen.add(marker.parent.parent)
        for s in sorted(d.rglob(SUMMARY_FILE)):
            seen.add(s.parent)
        yield from sorted(seen)


def is_indicator(key: str) -> bool:
    """Whether a flattened summary key is a column of the runs table (:data:`INDICATOR_PREFIXES`)."""
    if not key.startswith(INDICATOR_PREFIXES):
        return False
    if key.startswith("hands."):
        return key.endswith(".used_share")
    if key.startswith("coverage_counts."):
        return key.endswith(".reached")
    return True


def indicator_columns(df: pd.DataFrame) -> list[str]:
    """The indicator columns of a runs table, in its order."""
    return [c for c in df.columns if is_indicator(c)]


def provenance_key(indicator: str) -> str:
    """The summary's provenance key of an indicator (``coverage_counts.x.reached`` -> ``coverage.x``)."""
    if indicator.startswith("coverage_counts."):
        return "coverage." + indicator.split(".")[1]
    if indicator.startswith("cost.by_use."):
        return "cost.by_use"
    if indicator.startswith(("binding.", "hands.", "equity.", "spend_yuan.")):
        return indicator.split(".")[0]
    return indicator


def indicator_name(name: str) -> str:
    """``coverage.x`` (runs table) / ``coverage_x`` (``counties.parquet``) / ``x`` -> ``x``
    (``coverage_counts.*`` is kept whole)."""
    if name.startswith("coverage_counts."):
        return name
    for p in ("coverage.", "coverage_"):
        if name.startswith(p):
            return name[len(p):]
    return name


def runs_table(dirs: Iterable[str | Path]) -> tuple[pd.DataFrame, list[Path], list[Path]]:
    """(runs table, incomplete run folders, failed run folders), reading one summary at a time;
    the columns are listed in the module docstring."""
    import pandas as pd

    rows, missing, failed = [], [], []
    for run in find_runs(dirs):
        status, s = run_status(run)
        if s is None:
            (failed if status == "failed" else missing).append(run)
            continue
        params = read_overrides(run)
        row = {"run_dir": str(run), "scenario": s.get("scenario"), "seed": s.get("seed"),
               "scale": s.get("scale"), "months": s.get("months"), "config_hash": s.get("config_hash"),
               "package_version": s.get("package_version"), "git_commit": s.get("git_commit")}
        row.update({f"param.{k}": v for k, v in sorted(params.items())})
        region = s.get("region")
        row[REGION] = str(region["code"]) if isinstance(region, dict) and "code" in region else None
        flat = flatten(s)
        row.update({k: v for k, v in flat.items() if is_indicator(k)
                    and isinstance(v, int | float) and not isinstance(v, bool)})
        row.update({k: v for k, v in flat.items() if k.startswith(PROVENANCE_PREFIX) and isinstance(v, str)})
        rows.append(row)
    df = pd.DataFrame(rows)
    if len(df) and df[REGION].notna().any():  # the region the run simulated, however it was named
        df[REGION] = df[REGION].fillna("province")
    elif len(df):
        df = df.drop(columns=REGION)
    if len(df) and _versions(df).nunique() > 1:
        df[VERSION] = _versions(df)
    if len(df):
        pcols = sorted(c for c in df.columns if c.startswith("param."))
        df["group"] = [_group_name(r, pcols) for _, r in df.iterrows()]
    return df, missing, failed


def fill_params(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with each missing ``param.<key>`` value (a run of a sweep that did not vary ``key``)
    filled from the run's resolved config (``config.json``), as text like the overrides; left
    missing when the run has no config or no such key. For the runs of one scenario (a sweep's
    figures): across scenarios the filled values would pair a scenario with the baseline at the
    scenario's own settings."""
    import pandas as pd

    pcols = [c for c in runs.columns if c.startswith("param.") and c != VERSION and runs[c].isna().any()]
    if not pcols:
        return runs
    out = runs.copy()
    for i in out.index[out[pcols].isna().any(axis=1)]:
        cfg = read_config(out.at[i, "run_dir"])
        if cfg is None:
            continue
        flat = flatten(cfg)
        for c in pcols:
            v = flat.get(c.removeprefix("param."))
            if pd.isna(out.at[i, c]) and v is not None and not isinstance(v, dict | list):
                out.at[i, c] = str(v)
    return out


def _versions(df: pd.DataFrame) -> pd.Series:
    return df["package_version"].astype(str) + "@" + df["git_commit"].astype(str).str[:12]


def version_note(df: pd.DataFrame) -> str | None:
    """One line saying that the runs come from different package versions or git commits (kept
    apart: :data:`VERSION` is then part of each group), or None when they all agree."""
    if VERSION not in df.columns:
        return None
    return (f"warning: the runs come from {df[VERSION].nunique()} package versions/git commits "
            f"({', '.join(sorted(df[VERSION].unique()))}); their groups are kept apart by version=")


def _group_name(row: pd.Series, pcols: list[str]) -> str:
    import pandas as pd

    parts = [f"scenario={row['scenario']}"]
    parts += [f"{c[len('param.'):]}={row[c]}" for c in pcols if pd.notna(row[c])]
    return ",".join(parts)


def run_tables(runs: pd.DataFrame, name: str) -> pd.DataFrame:
    """``<name>.parquet`` of every run in ``runs`` (rows of a runs table), stacked, with the run's
    :data:`META` columns.

    Raises:
        UserError: none of the runs has the table.
    """
    import pandas as pd

    frames = []
    for _, r in runs.iterrows():
        d = read_table(r["run_dir"], name)
        if d is None:
            continue
        for c in META:
            if c in runs.columns:
                d[c] = r[c]
        frames.append(d)
    if not frames:
        raise UserError(f"no {name}.parquet in the runs of {', '.join(sorted(set(runs['group'])))}")
    return pd.concat(frames, ignore_index=True)


def check_out_dir(out: Path, label: str | None = None) -> None:
    """Make the output folder ``out`` or say in one line why it cannot be written.

    Args:
        out: The folder.
        label: How the message names it (default ``--out <out>``).

    Raises:
        UserError: ``out`` is a file, or cannot be made or written.
    """
    out = Path(out)
    label = label or f"--out {out}"
    if out.exists() and not out.is_dir():
        raise UserError(f"{label}: is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{label}: cannot make the folder ({e.strerror or e})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UserError(f"{label}: the folder is not writable")
