"""A run's files: what a finished run writes into its own folder (:mod:`sim.runs` reads them back).

Files (plots and reports read only these):

* ``summary.json``: :func:`sim.metrics.summary` plus ``scenario``, ``seed``, ``scale``,
  ``months``, ``region`` (what a region run simulates, :meth:`sim.region.Region.summary`; null
  for the province), ``runtime_s`` and ``timing`` (the only fields that vary between identical runs),
  ``package_version``, ``git_commit``, ``config_hash`` and ``status``; ``config.json``: the resolved config.
* ``summary.csv``: the summary flattened to ``key,value`` rows (for a spreadsheet).
* ``monthly.parquet``: one row per month (province series).
* ``counties.parquet``: one row per county, results of the last (possibly partial) year:
  ``budget_yuan``, paid posts (``posts_county``, ``posts_township``: the county association's and
  its townships'), money and spend by channel; per family indicator ``coverage_<ind>`` with the full-scale
  ``eligible_<ind>`` and ``reached_<ind>`` families it is the ratio of (sum these, not the
  coverages, to aggregate counties); the county-month counters; ``money_bound_month_share`` and
  ``hands_bound_month_share`` (share of months in which money, or any role's hours, bound some
  activity); per activity ``binding_<act>_money_share``, ``binding_<act>_hands_share`` and per
  role ``binding_<act>_<role>_share`` (share of months); per role ``hours_available_<role>``,
  ``hours_used_<role>`` (hours in the year) and ``hours_used_share_<role>``.
* ``prefectures.parquet``: one row per prefecture (:func:`prefecture_table`; ``prefecture_code``
  is the admin code, e.g. 430100), its counties summed: population, budgets, money and spend by
  channel, ``eligible_<ind>`` and ``reached_<ind>`` per family indicator and ``coverage_<ind>``
  as their ratio (not a mean of county coverages), hours by role and their used share, the
  county counters, and ``counties``.
* ``county_months.parquet``: one row per county and month: the counters, and per activity
  ``binding_<act>`` (category: ``none``, ``money``, ``hands``, ``money+hands``) and
  ``binding_<act>_roles`` (category: the roles whose hours bound, joined by ``+`` in the order
  of :data:`sim.activities.ROLES`; empty when hands did not bind).

Every file is written to a temporary name and renamed, so a killed run never leaves a
half-written file, and ``summary.json`` is written last: its presence means the run is complete.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

import sim
from sim.activities import HANDS, MONEY, NAMES, POTS, ROLES, role_bit
from sim.calendar import campaigns
from sim.compose import config_hash  # here for its users: sim.results.config_hash
from sim.errors import UserError
from sim.labels import pot_label
from sim.metrics import EQUITY_INDICATORS, FAMILY_INDICATORS, last_year, summary
from sim.plan import COUNTY_CHANNELS
from sim.runs import flatten, git_commit  # git_commit: here for its users too

if TYPE_CHECKING:  # the engine is needed to write a run, never to read one
    from sim.config import RunConfig
    from sim.model import OutreachModel

TIMING_KEYS = ("runtime_s", "timing")
"""Summary keys that vary between identical runs."""

BINDING_LABELS = ("none", "money", "hands", "money+hands")
"""Categories of ``binding_<act>`` in ``county_months.parquet``: what limited an activity."""
BOUND_COUNTERS = ("money_bound", "hands_bound")
"""Counters (``model.cm``) that flag a county-month: averaged, not summed, over months."""


def config_dict(cfg: RunConfig) -> dict:
    return dataclasses.asdict(cfg)


TEMP_PREFIX = "."
"""Temporary files of :func:`_atomic` are ``.<name>.<random>`` beside their target."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic(path: Path, write) -> None:
    """Write ``path`` through a temporary file renamed into place (a killed writer leaves no
    half-written file); the file gets the usual permissions (0666 less the umask), not
    ``mkstemp``'s 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def json_safe(x):
    """``x`` with numpy numbers and arrays made plain and NaN or infinite floats made None (for
    :func:`write_json`, which refuses them), through dicts, lists and tuples."""
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [json_safe(v) for v in x]
    if isinstance(x, np.ndarray):
        return json_safe(x.tolist())
    if isinstance(x, float | np.floating):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def write_json(path: Path, obj) -> None:
    """Write ``obj`` as strict JSON (atomically).

    Raises:
        UserError: a value is NaN or infinite (strict JSON has no such number); nothing is written.
    """
    try:
        text = json.dumps(obj, indent=2, default=_jsonable, allow_nan=False)
    except ValueError:
        try:
            bad = _nonfinite_key(json.loads(json.dumps(obj, default=_jsonable)))
        except ValueError:  # not a NaN (e.g. a circular reference): not bad input
            raise
        raise UserError(f"{Path(path).name}: {bad or 'a value'} is not a finite number (NaN or infinity); "
                        "JSON allows finite numbers only, nothing written") from None
    _atomic(path, lambda tmp: Path(tmp).write_text(text))


def _nonfinite_key(node, prefix: str = "") -> str | None:
    """The dotted key of the first NaN or infinite number in a JSON-like value, or None."""
    if isinstance(node, float):
        return None if np.isfinite(node) else prefix or "the value"
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        found = _nonfinite_key(v, f"{prefix}.{k}" if prefix else str(k))
        if found is not None:
            return found
    return None


def _jsonable(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(type(x))


def monthly_table(m: OutreachModel) -> pd.DataFrame:
    df = m.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    months = np.arange(1, m.month + 1)
    df["year"] = (months - 1) // 12 + 1
    df["month_of_year"] = (months - 1) % 12 + 1
    df["campaigns"] = [",".join(campaigns(int(x))) for x in df["month_of_year"]]
    for k, v in m.cm.items():
        if k in BOUND_COUNTERS:
            df[f"{k}_county_share"] = v[: m.month].mean(axis=1)
        else:
            df[k] = v[: m.month].sum(axis=1)
    for k, v in m.province_month.items():
        df[k] = v[: m.month]
    return df


def binding_class(codes: np.ndarray) -> np.ndarray:
    """Binding codes (bit flags) -> index into :data:`BINDING_LABELS` (money 1, hands 2, both 3)."""
    codes = np.asarray(codes)
    return ((codes & MONEY) > 0).astype(np.int8) + 2 * ((codes & HANDS) > 0).astype(np.int8)


ROLE_SETS = tuple("+".join(r for r in ROLES if (k << 1) & role_bit(r)) for k in range(1 << len(ROLES)))
"""Categories of ``binding_<act>_roles``: entry ``k`` names the roles of the hands bits ``k << 1``
(``""`` when hands did not bind), e.g. ``"staff+lecturer"``."""


def binding_roles(codes: np.ndarray) -> pd.Categorical:
    """Binding codes -> the roles whose hours bound (categories :data:`ROLE_SETS`)."""
    return pd.Categorical.from_codes((np.asarray(codes) & HANDS) >> 1, list(ROLE_SETS))


def county_tables(m: OutreachModel) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(counties: one row per county, last year; county_months: one row per county and month);
    the columns are listed in the module docstring."""
    c = m.province.admin.counties
    pref = m.province.admin.prefectures
    base = pd.DataFrame({
        "county_code": c["code"], "county": c["name_en"], "county_zh": c["name_zh"],
        "prefecture": pref["name_en"].to_numpy()[c["pref"]], "prefecture_zh": pref["name_zh"].to_numpy()[c["pref"]],
    })
    ly = last_year(m)
    cols: dict[str, np.ndarray] = {"population": m.county_population, "budget_yuan": m.county_budget_yuan,
                                   "posts_county": m.county_posts,
                                   "posts_township": m.township_posts_c}
    for ch, v in m.money_year.items():
        if ch in COUNTY_CHANNELS or ch == "stipends":  # (not the province pots, even in a one-county region)
            cols[f"money_{ch}_yuan"] = v
            cols[f"spent_{ch}_yuan"] = m.spent_year[ch]
    for name in FAMILY_INDICATORS:
        reached, eligible = m.county_counts(name)
        cols[f"coverage_{name}"] = np.where(eligible > 0, reached / np.maximum(eligible, 1e-12), 0.0)
        cols[f"eligible_{name}"] = eligible
        cols[f"reached_{name}"] = reached
    for k, v in m.cm.items():
        if k in BOUND_COUNTERS:
            cols[f"{k}_month_share"] = v[ly].mean(axis=0)
        else:
            cols[k] = v[ly].mean(axis=0) if k == "volunteers_active" else v[ly].sum(axis=0)
    b = m.binding[ly]
    for i, act in enumerate(NAMES):
        cols[f"binding_{act}_money_share"] = ((b[:, i] & MONEY) > 0).mean(axis=0)
        cols[f"binding_{act}_hands_share"] = ((b[:, i] & HANDS) > 0).mean(axis=0)
        for r in ROLES:
            cols[f"binding_{act}_{r}_share"] = ((b[:, i] & role_bit(r)) > 0).mean(axis=0)
    avail = m.hours_available_c[ly].sum(axis=0)  # roles x counties
    used = m.hours_used_c[ly].sum(axis=0)
    for i, r in enumerate(ROLES):
        cols[f"hours_available_{r}"] = avail[i]
        cols[f"hours_used_{r}"] = used[i]
        cols[f"hours_used_share_{r}"] = np.where(avail[i] > 0, used[i] / np.maximum(avail[i], 1e-12), 0.0)
    wide = pd.concat([base, pd.DataFrame(cols, index=base.index)], axis=1)

    n = m.month
    long = pd.concat([base.assign(month=t + 1) for t in range(n)], ignore_index=True)
    lcols: dict[str, object] = {k: v[:n].ravel() for k, v in m.cm.items()}
    for i, act in enumerate(NAMES):
        codes = m.binding[:n, i].ravel()
        lcols[f"binding_{act}"] = pd.Categorical.from_codes(binding_class(codes), list(BINDING_LABELS))
        lcols[f"binding_{act}_roles"] = binding_roles(codes)
    long = pd.concat([long, pd.DataFrame(lcols, index=long.index)], axis=1)
    return wide, long


def prefecture_table(counties: pd.DataFrame) -> pd.DataFrame:
    """``prefectures.parquet`` from ``counties.parquet``: sums over each prefecture's counties, and
    the ratios made again from the sums (coverage = reached / eligible; hours used share = used /
    available), so a prefecture's coverage counts every family once, however its counties differ
    in size. Shares of months (binding, bound) do not add up and are left out."""
    ratio = ("coverage_", "binding_", "hours_used_share_")
    summed = [c for c in counties.columns if pd.api.types.is_numeric_dtype(counties[c]) and c != "county_code"
              and not c.startswith(ratio) and not c.endswith("_month_share")]
    key = counties["county_code"].astype(np.int64) // 100 * 100
    g = counties.assign(prefecture_code=key).groupby(["prefecture_code", "prefecture", "prefecture_zh"], sort=False)
    out = g[summed].sum().reset_index()
    out.insert(3, "counties", g.size().to_numpy())
    for c in [c for c in out.columns if c.startswith("eligible_")]:
        ind = c.removeprefix("eligible_")
        out[f"coverage_{ind}"] = np.where(out[c] > 0, out[f"reached_{ind}"] / np.maximum(out[c], 1e-12), 0.0)
    for c in [c for c in out.columns if c.startswith("hours_available_")]:
        r = c.removeprefix("hours_available_")
        out[f"hours_used_share_{r}"] = np.where(out[c] > 0, out[f"hours_used_{r}"] / np.maximum(out[c], 1e-12), 0.0)
    return out


def run_summary(m: OutreachModel, cfg: RunConfig, runtime_s: float, timing: dict | None = None) -> dict:
    s = summary(m)
    return {
        "status": "ok", "scenario": cfg.scenario.name, "seed": cfg.seed, "scale": cfg.population.scale,
        "months": cfg.months, "region": m.region.summary() if m.region is not None else None,
        **s, "runtime_s": round(runtime_s, 3), "timing": timing or {},
        "package_version": sim.__version__, "git_commit": git_commit(), "config_hash": config_hash(cfg),
    }


def clean_temporary_files(out_dir: Path, names=("config.json", "monthly.parquet", "counties.parquet",
                                                "prefectures.parquet", "county_months.parquet", "summary.csv",
                                                "summary.json")) -> int:
    """Remove what a killed writer left in a run folder (``.<file>.<random>`` temporaries of
    :func:`_atomic`); returns how many were removed."""
    n = 0
    for name in names:
        for p in Path(out_dir).glob(f"{TEMP_PREFIX}{name}.*"):
            p.unlink(missing_ok=True)
            n += 1
    return n


def write_run(out_dir: Path, m: OutreachModel, cfg: RunConfig, runtime_s: float,
              timing: dict | None = None) -> dict:
    """Write every file of a finished run into ``out_dir``; returns the summary."""
    out_dir = Path(out_dir)
    clean_temporary_files(out_dir)
    s = run_summary(m, cfg, runtime_s, timing)
    write_json(out_dir / "config.json", config_dict(cfg))
    _atomic(out_dir / "monthly.parquet", lambda t: monthly_table(m).to_parquet(t, index=False))
    wide, long = county_tables(m)
    _atomic(out_dir / "counties.parquet", lambda t: wide.to_parquet(t, index=False))
    _atomic(out_dir / "prefectures.parquet", lambda t: prefecture_table(wide).to_parquet(t, index=False))
    _atomic(out_dir / "county_months.parquet", lambda t: long.to_parquet(t, index=False))
    flat = flatten(s)
    _atomic(out_dir / "summary.csv",
            lambda t: pd.DataFrame({"key": list(flat), "value": list(flat.values())}).to_csv(t, index=False))
    write_json(out_dir / "summary.json", s)
    return s


def _tag(s: dict, key: str) -> str:
    """``[predicted]`` etc. for a summary key (blank when the summary does not say)."""
    prov = s.get("provenance", {}).get(key)
    return f"[{prov}]" if prov else ""


def hands_bound_activities(binding: dict, n: int = 3) -> list[tuple[str, float, list[tuple[str, float]]]]:
    """The ``n`` activities most often hands-bound (share of county-months > 0), each with its
    binding roles by share: [(activity, share, [(role, share), ...]), ...]."""
    acts = [(a, v["hands"], sorted(((r, x) for r, x in v.get("by_role", {}).items() if x > 0),
                                   key=lambda t: -t[1]))
            for a, v in binding.get("by_activity", {}).items() if v.get("hands", 0) > 0]
    return sorted(acts, key=lambda t: -t[1])[:n]


def format_summary(s: dict, out_dir: Path | None = None) -> str:
    """A short readable summary of a run for the terminal: coverage and reported totals with
    their provenance tag, cost by pot, equity, binding limits (and the roles whose hours bound),
    hands used by role, volunteers."""
    pct = lambda x: f"{100 * x:5.1f} %"  # noqa: E731
    lines = [f"outreach-sim {s['package_version']}: scenario {s['scenario']}, seed {s['seed']}, "
             f"scale {s['scale']}, {s['months']} months ({s['runtime_s']:.1f} s)"]
    region = s.get("region")
    where = "full province"
    if region:
        where = f"{region['name_zh']} {region['name_en']}"
        ties = region["ties_kept"] + region["ties_cut"]
        n = len(region["counties"])
        lines.append(f"region {where} ({region['code']}): {n} {'county' if n == 1 else 'counties'}, "
                     f"{region['villages']:,} villages; {region['ties_cut']:,} of {ties:,} village ties cross its "
                     f"border (dropped); province money in its share: {100 * region['share_special']:.1f} % of "
                     f"the special-family funds, {100 * region['share_digital']:.1f} % of the online outreach")
    lines += ["", "coverage (families)"]
    lines += [f"  {k:<24}{pct(v)}  {_tag(s, f'coverage.{k}')}".rstrip() for k, v in s["coverage"].items()]
    lines += ["", f"reported totals ({where}, last year)"]
    lines += [f"  {k:<30}{v:>14,.0f}  {_tag(s, f'reported.{k}')}".rstrip() for k, v in s["reported"].items()]
    lines.append("")
    cost = s.get("cost")
    if cost:
        pots = cost.get("by_pot", {})
        parts = [f"{pot_label(k)} {pots.get(k, 0.0) / 1e6:,.1f} M" for k in POTS]
        parts += [f"{k} {v / 1e6:,.1f} M" for k, v in pots.items() if k not in POTS]
        lines.append(f"cost {cost['total_yuan'] / 1e6:,.1f} M yuan ({', '.join(parts)})")
    cpf = s.get("cost_per_family_reached_yuan")
    lines.append(f"spend {s['spend_yuan']['total'] / 1e6:,.1f} M yuan; project-fund execution rate "
                 f"{pct(s['execution_rate']).strip()} {_tag(s, 'execution_rate')}; "
                 f"{cpf if cpf is not None else float('nan'):.1f} yuan (total cost) per family reached")
    for name in EQUITY_INDICATORS:
        e = s["equity"][name]
        lines.append(f"equity {name}: counties {pct(e['county_coverage_min']).strip()} - "
                     f"{pct(e['county_coverage_max']).strip()}, Gini {e['county_coverage_gini']:.3f}")
    b = s["binding"]
    lines.append(f"binding: money in {pct(b['money']).strip()} of county-months, hands in {pct(b['hands']).strip()}")
    for act, share, roles in hands_bound_activities(b):
        who = ", ".join(f"{r} {pct(x).strip()}" for r, x in roles)
        lines.append(f"  hands bound {act} in {pct(share).strip()} ({who})")
    hands = s.get("hands")
    if hands:
        lines.append("hands used: " + ", ".join(
            f"{r} {pct(h['used_share']).strip()} of {h['available_hours'] / 1e6:,.2f} M h" for r, h in hands.items()))
    v = s["volunteers"]
    lines.append(f"volunteers: {v['start']:,} -> {v['end']:,} (+{v['recruited']:,} / -{v['left']:,})")
    if out_dir is not None:
        lines += ["", f"files: {out_dir}"]
    return "\n".join(lines)
