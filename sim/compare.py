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
  override, and the flattened indicators (``coverage.<name>``, ``reported.<name>``,
  ``spend_yuan.<channel>``, ``execution_rate``, ``cost_per_family_reached_yuan``,
  ``families_reached``, ``equity.<indicator>.<statistic>``, ``binding.money``, ...).
* comparison (:func:`compare`): one row per group and indicator: ``group``, ``scenario``,
  ``indicator``, ``n``, ``mean``, ``median``, ``p5``, ``p95``, ``n_pairs``, ``diff_mean``,
  ``diff_median``, ``diff_p5``, ``diff_p95`` (difference = group - baseline, same seed).
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
INDICATOR_PREFIXES = ("coverage.", "reported.", "spend_yuan.", "equity.", "binding.money", "binding.staff",
                      "volunteers.end", "execution_rate", "cost_per_family_reached_yuan", "families_reached")


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
        row.update({k: v for k, v in flat.items() if k.startswith(INDICATOR_PREFIXES)
                    and isinstance(v, int | float) and not isinstance(v, bool)})
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
    return [c for c in df.columns if c.startswith(INDICATOR_PREFIXES)]


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
        for k, col in enumerate(ind):
            x = vals[col].to_numpy(float)
            x = x[~np.isnan(x)]
            row = {"group": group, "scenario": g["scenario"].iloc[0], "indicator": col, "n": len(x),
                   "mean": _stat(np.mean, x), "median": _stat(np.median, x),
                   "p5": _stat(lambda a: np.percentile(a, 5), x), "p95": _stat(lambda a: np.percentile(a, 95), x),
                   "is_baseline": bool(base_mask[g.index].all())}
            for c in pcols:
                row[c] = g[c].iloc[0]
            d = diffs[:, k][~np.isnan(diffs[:, k])] if diffs is not None else np.empty(0)
            row.update({"n_pairs": len(d), "diff_mean": _stat(np.mean, d), "diff_median": _stat(np.median, d),
                        "diff_p5": _stat(lambda a: np.percentile(a, 5), d),
                        "diff_p95": _stat(lambda a: np.percentile(a, 95), d)})
            out.append(row)
    return pd.DataFrame(out)


def _stat(f, x) -> float:
    return float(f(x)) if len(x) else float("nan")


def format_compare(cmp: pd.DataFrame, indicators: Iterable[str] | None = None) -> str:
    """A readable table: coverage indicators by group, with paired differences."""
    if cmp.empty:
        return "no complete runs"
    indicators = list(indicators or [c for c in cmp["indicator"].unique() if c.startswith("coverage.")])
    lines = [f"{'group':<44}{'indicator':<34}{'n':>4}{'median':>10}{'5-95 %':>18}{'paired diff (90 %)':>32}"]
    for _, r in cmp[cmp["indicator"].isin(indicators)].iterrows():
        rng = f"{r['p5']:.3f}-{r['p95']:.3f}"
        diff = "baseline" if r["is_baseline"] else (
            f"{r['diff_mean']:+.4f} [{r['diff_p5']:+.4f}, {r['diff_p95']:+.4f}]" if r["n_pairs"] else "unpaired")
        lines.append(f"{r['group'][:43]:<44}{r['indicator'][:33]:<34}{r['n']:>4}{r['median']:>10.3f}{rng:>18}{diff:>32}")
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
