"""Compare runs across scenarios and swept parameters, with paired differences by seed.

``outreach-sim-compare SWEEP_DIR... [--baseline scenario=baseline_2021] [--out DIR]`` reads every
run folder under the given folders one at a time (only each run's ``summary.json`` and its
``.hydra/overrides.yaml``), and writes ``compare.parquet`` and ``compare.csv``: for each group
of runs (scenario and swept parameter values except the seed) and each indicator, the mean,
median and 5-95 % range across seeds, and the paired difference from the baseline group by
seed (common random numbers make these differences reflect policy, not noise) with its
mean and 90 % interval. It prints a readable table and says how many runs it read, which were
incomplete and which failed.

Tables:

* runs table (:func:`runs_table`): one row per complete run: ``run_dir``, ``scenario``,
  ``seed``, ``scale``, ``months``, ``config_hash``, ``group``, ``param.<key>`` for each swept
  override, the flattened indicators (``coverage.<name>``, ``coverage_counts.<name>.reached``,
  ``reported.<name>``, ``spend_yuan.<channel>``, ``cost.by_pot.<pot>``, ``cost.by_use.<use>``,
  ``cost.total_yuan``, ``execution_rate``, ``cost_per_family_reached_yuan``,
  ``families_reached``, ``equity.<indicator>.<statistic>``, ``binding.money``,
  ``binding.hands``, ``hands.<role>.used_share``, ``volunteers.end``) and the summary's
  provenance labels as text (``provenance.coverage.<name>``, ``provenance.reported.<name>``,
  ``provenance.execution_rate``).
* comparison (:func:`compare`): one row per group and indicator: ``group``, ``scenario``,
  ``indicator``, ``provenance`` (``input`` / ``calibrated`` / ``predicted`` as the runs'
  summaries say, MODEL.md section 7; empty where they say nothing), ``n``, ``mean``,
  ``median``, ``p5``, ``p95``, ``n_pairs``, ``diff_mean``, ``diff_median``, ``diff_p5``,
  ``diff_p95`` (difference = group - baseline, same seed), and on the rows of
  ``coverage.<ind>`` and ``coverage_counts.<ind>.reached`` the
  ``cost_per_additional_family_yuan`` with its ``cost_per_additional_family_note`` (see
  :func:`cost_per_additional_family`).

Cost per additional family reached, per indicator (MODEL.md section 4b): over the seeds paired
with the baseline, mean(Δ ``cost.total_yuan``) / mean(Δ ``coverage_counts.<ind>.reached``),
Δ = scenario - baseline of the same seed: a ratio of paired means, in yuan of total cost (all
pots) per full-scale family (person, for ``nursing_subsidy_met``). It is undefined (NaN, with a
note) when the 90 % interval (5th to 95th percentile) of the paired reach differences includes
0: the scenario does not surely reach more, or fewer, families.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.errors import UserError
from sim.results import flatten, run_status

IGNORED_OVERRIDES = ("seed", "hydra", "progress", "population.cache_dir", "population.use_cache")
INDICATOR_PREFIXES = ("coverage.", "coverage_counts.", "reported.", "spend_yuan.", "cost.", "equity.",
                      "binding.money", "binding.hands", "hands.", "volunteers.end", "execution_rate",
                      "cost_per_family_reached_yuan", "families_reached")
"""Flattened summary keys compared (``hands.`` only ``used_share``, ``coverage_counts.`` only ``reached``)."""
COST = "cost.total_yuan"
"""The cost of cost per additional family reached: total cost, all pots."""
PROVENANCE_PREFIX = "provenance."
UNDEFINED = "undefined: the 90 % interval of the paired reach difference includes 0"


def is_indicator(key: str) -> bool:
    """Whether a flattened summary key is compared (see :data:`INDICATOR_PREFIXES`)."""
    if not key.startswith(INDICATOR_PREFIXES):
        return False
    if key.startswith("hands."):
        return key.endswith(".used_share")
    if key.startswith("coverage_counts."):
        return key.endswith(".reached")
    return True


def provenance_key(indicator: str) -> str:
    """The summary's provenance key of an indicator (``coverage_counts.x.reached`` -> ``coverage.x``)."""
    if indicator.startswith("coverage_counts."):
        return "coverage." + indicator.split(".")[1]
    if indicator.startswith("cost.by_use."):
        return "cost.by_use"
    if indicator.startswith(("binding.", "hands.", "equity.", "spend_yuan.")):
        return indicator.split(".")[0]
    return indicator


def reach_column(indicator: str) -> str | None:
    """``coverage.x`` or ``coverage_counts.x.reached`` -> ``coverage_counts.x.reached``; else None."""
    if indicator.startswith("coverage."):
        return f"coverage_counts.{indicator.removeprefix('coverage.')}.reached"
    if indicator.startswith("coverage_counts.") and indicator.endswith(".reached"):
        return indicator
    return None


def cost_per_additional_family(d_cost, d_reached) -> tuple[float, str]:
    """Paired cost per additional family reached and a note (module docstring).

    Args:
        d_cost: Per paired seed, scenario minus baseline total cost (yuan).
        d_reached: Per paired seed, scenario minus baseline families reached (full scale).

    Returns:
        (mean(d_cost) / mean(d_reached) in yuan per family, note). The value is NaN when there
        is no pair with both numbers, or when the 5-95 % interval of ``d_reached`` includes 0.
        The note is empty for the usual case (more cost, more families); otherwise it says why
        the value is missing or how to read its sign: ``dominant`` (more families for less
        money), ``dominated`` (fewer families for more money), ``saving`` (fewer families for
        less money: the yuan saved per family no longer reached).
    """
    d_cost = np.asarray(d_cost, dtype=float)
    d_reached = np.asarray(d_reached, dtype=float)
    ok = np.isfinite(d_cost) & np.isfinite(d_reached)
    d_cost, d_reached = d_cost[ok], d_reached[ok]
    if not len(d_cost):
        return float("nan"), "no paired runs with cost and reach"
    lo, hi = np.percentile(d_reached, [5, 95])
    if lo <= 0 <= hi:
        return float("nan"), UNDEFINED
    dc, dr = float(d_cost.mean()), float(d_reached.mean())
    if dr > 0:
        note = "dominant: more families for less money" if dc < 0 else ""
    else:
        note = "dominated: fewer families for more money" if dc > 0 else \
            "saving: fewer families for less money (yuan saved per family not reached)"
    return dc / dr, note


def find_runs(dirs: Iterable[str | Path]) -> Iterator[Path]:
    """Run folders (holding ``.hydra/`` or a summary) under each directory, sorted."""
    for d in dirs:
        d = Path(d)
        if not d.exists():
            raise UserError(f"{d} does not exist (give a run or sweep folder)")
        seen = set()
        for marker in sorted(d.rglob("overrides.yaml")):
            if marker.parent.name == ".hydra":
                seen.add(marker.parent.parent)
        for s in sorted(d.rglob("summary.json")):
            seen.add(s.parent)
        yield from sorted(seen)


def _overrides(run_dir: Path) -> dict[str, str]:
    p = run_dir / ".hydra" / "overrides.yaml"
    try:
        items = yaml.safe_load(p.read_text()) or []
    except (OSError, yaml.YAMLError):
        return {}
    out = {}
    for item in items:
        key, _, value = str(item).lstrip("+~").partition("=")
        if key != "scenario" and not key.startswith(IGNORED_OVERRIDES):
            out[key] = value
    return out


def runs_table(dirs: Iterable[str | Path]) -> tuple[pd.DataFrame, list[Path], list[Path]]:
    """(runs table, incomplete run folders, failed run folders), reading one run at a time."""
    rows, missing, failed = [], [], []
    for run in find_runs(dirs):
        status, s = run_status(run)
        if s is None:
            (failed if status == "failed" else missing).append(run)
            continue
        params = _overrides(run)
        row = {"run_dir": str(run), "scenario": s.get("scenario"), "seed": s.get("seed"),
               "scale": s.get("scale"), "months": s.get("months"), "config_hash": s.get("config_hash"),
               "package_version": s.get("package_version"), "git_commit": s.get("git_commit")}
        row.update({f"param.{k}": v for k, v in sorted(params.items())})
        flat = flatten(s)
        row.update({k: v for k, v in flat.items() if is_indicator(k)
                    and isinstance(v, int | float) and not isinstance(v, bool)})
        row.update({k: v for k, v in flat.items() if k.startswith(PROVENANCE_PREFIX) and isinstance(v, str)})
        rows.append(row)
    df = pd.DataFrame(rows)
    if len(df):
        pcols = sorted(c for c in df.columns if c.startswith("param."))
        df["group"] = [_group_name(r, pcols) for _, r in df.iterrows()]
    return df, missing, failed


def _group_name(row: pd.Series, pcols: list[str]) -> str:
    parts = [f"scenario={row['scenario']}"]
    parts += [f"{c[len('param.'):]}={row[c]}" for c in pcols if pd.notna(row[c])]
    return ",".join(parts)


def indicator_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if is_indicator(c)]


def _provenance(g: pd.DataFrame, indicator: str) -> str:
    col = PROVENANCE_PREFIX + provenance_key(indicator)
    if col not in g.columns:
        return ""
    return "/".join(sorted({str(v) for v in g[col].dropna()}))


def _baseline_mask(df: pd.DataFrame, baseline: str) -> np.ndarray:
    mask = np.ones(len(df), dtype=bool)
    for part in baseline.split(","):
        key, _, value = part.partition("=")
        col = "scenario" if key == "scenario" else f"param.{key}"
        if col not in df.columns:
            raise UserError(f"--baseline {baseline!r}: no run has {key!r} "
                            f"(groups: {sorted(df['group'].unique())})")
        mask &= df[col].astype(str).to_numpy() == value
    return mask


def compare(df: pd.DataFrame, baseline: str = "scenario=baseline_2021") -> pd.DataFrame:
    """Per group and indicator: spread across seeds and paired difference from the baseline."""
    if df.empty:
        return pd.DataFrame()
    ind = indicator_columns(df)
    base_mask = _baseline_mask(df, baseline)
    pcols = [c for c in df.columns if c.startswith("param.")]
    base = df[base_mask]
    # A baseline run pairs with a run of the same seed and the same values of the parameters
    # the baseline does not fix (e.g. the same funding multiplier in a funding x scenario sweep).
    fixed = {"scenario"} | {f"param.{p.partition('=')[0]}" for p in baseline.split(",")}
    match_cols = ["seed"] + [c for c in pcols if c not in fixed]
    base_idx = {tuple(r[c] if pd.notna(r[c]) else None for c in match_cols): i
                for i, r in base.iterrows()}
    out = []
    for group, g in df.groupby("group", sort=True):
        vals = g[ind]
        pairs = [(i, base_idx.get(tuple(r[c] if pd.notna(r[c]) else None for c in match_cols)))
                 for i, r in g.iterrows()]
        pairs = [(i, j) for i, j in pairs if j is not None]
        diffs = (df.loc[[i for i, _ in pairs], ind].to_numpy(float)
                 - df.loc[[j for _, j in pairs], ind].to_numpy(float)) if pairs else None
        is_base = bool(base_mask[g.index].all())
        for k, col in enumerate(ind):
            x = vals[col].to_numpy(float)
            x = x[~np.isnan(x)]
            row = {"group": group, "scenario": g["scenario"].iloc[0], "indicator": col,
                   "provenance": _provenance(g, col), "n": len(x),
                   "mean": _stat(np.mean, x), "median": _stat(np.median, x),
                   "p5": _stat(lambda a: np.percentile(a, 5), x), "p95": _stat(lambda a: np.percentile(a, 95), x),
                   "is_baseline": is_base}
            for c in pcols:
                row[c] = g[c].iloc[0]
            d = diffs[:, k][~np.isnan(diffs[:, k])] if diffs is not None else np.empty(0)
            row.update({"n_pairs": len(d), "diff_mean": _stat(np.mean, d), "diff_median": _stat(np.median, d),
                        "diff_p5": _stat(lambda a: np.percentile(a, 5), d),
                        "diff_p95": _stat(lambda a: np.percentile(a, 95), d)})
            row.update(_cost_per_family(col, ind, diffs, is_base))
            out.append(row)
    return pd.DataFrame(out)


def _cost_per_family(col: str, ind: list[str], diffs: np.ndarray | None, is_base: bool) -> dict:
    reach = reach_column(col)
    if reach is None:
        return {"cost_per_additional_family_yuan": float("nan"), "cost_per_additional_family_note": ""}
    if is_base:
        value, note = float("nan"), "baseline"
    elif COST not in ind or reach not in ind:
        value, note = float("nan"), f"no {COST if COST not in ind else reach} in the summaries"
    elif diffs is None:
        value, note = float("nan"), "no paired runs with cost and reach"
    else:
        value, note = cost_per_additional_family(diffs[:, ind.index(COST)], diffs[:, ind.index(reach)])
    return {"cost_per_additional_family_yuan": value, "cost_per_additional_family_note": note}


def _stat(f, x) -> float:
    return float(f(x)) if len(x) else float("nan")


def format_compare(cmp: pd.DataFrame, indicators: Iterable[str] | None = None) -> str:
    """A readable table: coverage indicators by group, with their provenance, paired differences
    and the cost per additional family reached (yuan of total cost)."""
    if cmp.empty:
        return "no complete runs"
    indicators = list(indicators or [c for c in cmp["indicator"].unique() if c.startswith("coverage.")])
    lines = [f"{'group':<44}{'indicator':<34}{'provenance':<12}{'n':>4}{'median':>10}{'5-95 %':>18}"
             f"{'paired diff (90 %)':>32}{'yuan/add. family':>18}"]
    for _, r in cmp[cmp["indicator"].isin(indicators)].iterrows():
        rng = f"{r['p5']:.3f}-{r['p95']:.3f}"
        diff = "baseline" if r["is_baseline"] else (
            f"{r['diff_mean']:+.4f} [{r['diff_p5']:+.4f}, {r['diff_p95']:+.4f}]" if r["n_pairs"] else "unpaired")
        cpf = r.get("cost_per_additional_family_yuan", float("nan"))
        if r["is_baseline"] or not r["n_pairs"]:
            cost = ""
        elif pd.notna(cpf):
            cost = f"{cpf:,.0f}" + ("*" if r.get("cost_per_additional_family_note") else "")
        else:
            cost = "undefined" if r.get("cost_per_additional_family_note") == UNDEFINED else "-"
        lines.append(f"{r['group'][:43]:<44}{r['indicator'][:33]:<34}{str(r.get('provenance', ''))[:11]:<12}"
                     f"{r['n']:>4}{r['median']:>10.3f}{rng:>18}{diff:>32}{cost:>18}")
    lines.append("yuan/add. family: paired mean Δ total cost / paired mean Δ families reached; undefined when "
                 "the reach difference's 90 % interval includes 0; * see cost_per_additional_family_note")
    return "\n".join(lines)


def write_atomic_table(df: pd.DataFrame, out_dir: Path) -> None:
    from sim.results import _atomic

    _atomic(out_dir / "compare.parquet", lambda t: df.to_parquet(t, index=False))
    _atomic(out_dir / "compare.csv", lambda t: df.to_csv(t, index=False))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="outreach-sim-compare", description=__doc__.split("\n\n")[1])
    ap.add_argument("dirs", nargs="+", help="run or sweep folders")
    ap.add_argument("--baseline", default="scenario=baseline_2021",
                    help="the baseline group, e.g. scenario=baseline_2021 or scenario=x,funding.multiplier=1.0")
    ap.add_argument("--out", default=None, help="output folder (default: the first folder)")
    args = ap.parse_args(argv)
    try:
        df, missing, failed = runs_table(args.dirs)
        if df.empty:
            raise UserError(f"no complete runs under {', '.join(args.dirs)}")
        cmp = compare(df, args.baseline)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out or args.dirs[0])
    write_atomic_table(cmp, out)
    print(format_compare(cmp))
    print(f"\nread {len(df)} complete runs in {df['group'].nunique()} groups; "
          f"{len(missing)} incomplete, {len(failed)} failed")
    for p in missing:
        print(f"  incomplete: {p}")
    for p in failed:
        print(f"  failed: {p}")
    print(f"files: {out / 'compare.parquet'}, {out / 'compare.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
