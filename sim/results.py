"""A run's files: what a finished run writes into its own folder, and how to read them back.

Files (plots and reports read only these):

* ``summary.json``: :func:`sim.metrics.summary` plus ``scenario``, ``seed``, ``scale``,
  ``months``, ``runtime_s`` and ``timing`` (the only fields that vary between identical runs),
  ``package_version``, ``git_commit``, ``config_hash`` and ``status``; ``config.json``: the resolved config.
* ``summary.csv``: the summary flattened to ``key,value`` rows (for a spreadsheet).
* ``monthly.parquet``: one row per month (province series).
* ``counties.parquet``: one row per county (money, spend, coverage, binding, results of the
  last year); ``county_months.parquet``: one row per county and month.

Every file is written to a temporary name and renamed, so a killed run never leaves a
half-written file, and ``summary.json`` is written last: its presence means the run is complete.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import sim
from sim.calendar import campaigns
from sim.config import RunConfig
from sim.metrics import EQUITY_INDICATORS, FAMILY_INDICATORS, last_year, summary
from sim.model import ACTIVITIES, OutreachModel

TIMING_KEYS = ("runtime_s", "timing")
"""Summary keys that vary between identical runs."""


def config_dict(cfg: RunConfig) -> dict:
    return dataclasses.asdict(cfg)


def config_hash(cfg: RunConfig) -> str:
    """Hash of everything that affects results (not progress display nor the cache folder)."""
    d = config_dict(cfg)
    d.pop("progress", None)
    d["population"].pop("cache_dir", None)
    d["population"].pop("use_cache", None)
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(sim.__file__).parent,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj) -> None:
    _atomic(path, lambda tmp: Path(tmp).write_text(json.dumps(obj, indent=2, default=_jsonable)))


def _jsonable(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(type(x))


def flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


def monthly_table(m: OutreachModel) -> pd.DataFrame:
    df = m.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    months = np.arange(1, m.month + 1)
    df["year"] = (months - 1) // 12 + 1
    df["month_of_year"] = (months - 1) % 12 + 1
    df["campaigns"] = [",".join(campaigns(int(x))) for x in df["month_of_year"]]
    for k, v in m.cm.items():
        if k in ("money_bound", "staff_bound"):
            df[f"{k}_county_share"] = v[: m.month].mean(axis=1)
        else:
            df[k] = v[: m.month].sum(axis=1)
    for k, v in m.province_month.items():
        df[k] = v[: m.month]
    return df


def county_tables(m: OutreachModel) -> tuple[pd.DataFrame, pd.DataFrame]:
    c = m.province.admin.counties
    pref = m.province.admin.prefectures
    base = pd.DataFrame({
        "county_code": c["code"], "county": c["name_en"], "county_zh": c["name_zh"],
        "prefecture": pref["name_en"].to_numpy()[c["pref"]], "prefecture_zh": pref["name_zh"].to_numpy()[c["pref"]],
    })
    ly = last_year(m)
    wide = base.copy()
    wide["population"] = m.county_population
    wide["budget_yuan"] = m.county_budget_yuan
    for ch, v in m.money_year.items():
        if len(v) == m.n_c:
            wide[f"money_{ch}_yuan"] = v
            wide[f"spent_{ch}_yuan"] = m.spent_year[ch]
    for name in FAMILY_INDICATORS:
        wide[f"coverage_{name}"] = m.county_coverage(name)
    for k, v in m.cm.items():
        agg = v[ly].mean(axis=0) if k in ("money_bound", "staff_bound", "volunteers_active") else v[ly].sum(axis=0)
        wide[k if not k.endswith("bound") else f"{k}_month_share"] = agg
    b = m.binding[ly]
    for i, act in enumerate(ACTIVITIES):
        wide[f"binding_{act}_money_share"] = (b[:, i] & 1).astype(bool).mean(axis=0)
        wide[f"binding_{act}_staff_share"] = (b[:, i] & 2).astype(bool).mean(axis=0)
    n = m.month
    long = pd.concat([base.assign(month=t + 1) for t in range(n)], ignore_index=True)
    for k, v in m.cm.items():
        long[k] = v[:n].ravel()
    for i, act in enumerate(ACTIVITIES):
        long[f"binding_{act}"] = pd.Categorical.from_codes(m.binding[:n, i].ravel(),
                                                                       ["none", "money", "staff", "money+staff"])
    return wide, long


def run_summary(m: OutreachModel, cfg: RunConfig, runtime_s: float, timing: dict | None = None) -> dict:
    s = summary(m)
    return {
        "status": "ok", "scenario": cfg.scenario.name, "seed": cfg.seed, "scale": cfg.population.scale,
        "months": cfg.months, **s, "runtime_s": round(runtime_s, 3), "timing": timing or {},
        "package_version": sim.__version__, "git_commit": git_commit(), "config_hash": config_hash(cfg),
    }


def write_run(out_dir: Path, m: OutreachModel, cfg: RunConfig, runtime_s: float,
              timing: dict | None = None) -> dict:
    """Write every file of a finished run into ``out_dir``; returns the summary."""
    out_dir = Path(out_dir)
    s = run_summary(m, cfg, runtime_s, timing)
    write_json(out_dir / "config.json", config_dict(cfg))
    _atomic(out_dir / "monthly.parquet", lambda t: monthly_table(m).to_parquet(t, index=False))
    wide, long = county_tables(m)
    _atomic(out_dir / "counties.parquet", lambda t: wide.to_parquet(t, index=False))
    _atomic(out_dir / "county_months.parquet", lambda t: long.to_parquet(t, index=False))
    flat = flatten(s)
    _atomic(out_dir / "summary.csv",
            lambda t: pd.DataFrame({"key": list(flat), "value": list(flat.values())}).to_csv(t, index=False))
    write_json(out_dir / "summary.json", s)
    return s


FAILED_FILE = "failed.json"
"""Written into a job's folder when the job fails (the error and its traceback)."""


def run_status(run_dir: Path) -> tuple[str, dict | None]:
    """("complete", summary), ("failed", None) or ("incomplete", None) for a run folder."""
    s = read_summary(run_dir)
    if s is not None:
        return "complete", s
    return ("failed" if (Path(run_dir) / FAILED_FILE).exists() else "incomplete"), None


def read_summary(run_dir: Path) -> dict | None:
    """The summary of a complete run, or None when the run is missing or incomplete."""
    p = Path(run_dir) / "summary.json"
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def format_summary(s: dict, out_dir: Path | None = None) -> str:
    """A short readable summary of a run for the terminal."""
    pct = lambda x: f"{100 * x:5.1f} %"  # noqa: E731
    lines = [f"outreach-sim {s['package_version']}: scenario {s['scenario']}, seed {s['seed']}, "
             f"scale {s['scale']}, {s['months']} months ({s['runtime_s']:.1f} s)", "", "coverage (families)"]
    lines += [f"  {k:<24}{pct(v)}" for k, v in s["coverage"].items()]
    lines += ["", "reported totals (full province, last year)"]
    lines += [f"  {k:<30}{v:>14,.0f}" for k, v in s["reported"].items()]
    sp = s["spend_yuan"]
    lines += ["", f"spend {sp['total'] / 1e6:,.1f} M yuan; project-fund execution rate "
                  f"{pct(s['execution_rate']).strip()}; "
                  f"{s['cost_per_family_reached_yuan'] or float('nan'):.1f} yuan per family reached"]
    for name in EQUITY_INDICATORS:
        e = s["equity"][name]
        lines.append(f"equity {name}: counties {pct(e['county_coverage_min']).strip()} - "
                     f"{pct(e['county_coverage_max']).strip()}, Gini {e['county_coverage_gini']:.3f}")
    b = s["binding"]
    lines.append(f"binding: money in {pct(b['money']).strip()} of county-months, staff in {pct(b['staff']).strip()}")
    v = s["volunteers"]
    lines.append(f"volunteers: {v['start']:,} -> {v['end']:,} (+{v['recruited']:,} / -{v['left']:,})")
    if out_dir is not None:
        lines += ["", f"files: {out_dir}"]
    return "\n".join(lines)
