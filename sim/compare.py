"""Compare runs across scenarios and swept parameters, with paired differences by seed.

``outreach-sim-compare SWEEP_DIR... [--baseline scenario=baseline_2021] [--out DIR]`` reads every
run folder under the given folders one at a time (only each run's ``summary.json`` and its
``.hydra/overrides.yaml``, see :mod:`sim.runs`), and writes ``compare.parquet`` and
``compare.csv``: for each group of runs (scenario and swept parameter values except the seed)
and each indicator, the mean, median and 5-95 % range across seeds, and the paired difference
from the baseline group by seed (common random numbers make these differences reflect policy,
not noise) with its mean and 90 % interval. It prints a readable table and says how many runs
it read, which were incomplete and which failed.

Bad input is answered in one line on stderr with exit status 2, before anything is written: a
``--baseline`` that matches no run (the line lists the groups), an ``--out`` that is a file or
cannot be made or written. A group named exactly as ``--baseline`` is the only baseline (a
baseline spec naming only some keys, e.g. the scenario in a funding sweep, marks every group
with those values). Runs of different ``package_version``/``git_commit`` are never pooled: a
one-line warning, and ``version=<version>@<commit>`` becomes part of each group (runs pair only
with baseline runs of the same version). Runs of one region (``region=``) pair only with baseline
runs of the same region, however it was named (``region=<code>`` is part of each group when some
run simulated a region). A ``summary.json`` that is not a JSON object counts as incomplete.

The comparison (:func:`compare`), from the runs table of :func:`sim.runs.runs_table`: one row per
group and indicator: ``group``, ``scenario``, ``indicator``, ``provenance`` (``input`` /
``calibrated`` / ``predicted`` as the runs' summaries say, MODEL.md section 7; empty where they
say nothing), ``n``, ``mean``, ``median``, ``p5``, ``p95``, ``n_pairs``, ``diff_mean``,
``diff_median``, ``diff_p5``, ``diff_p95`` (difference = group - baseline, same seed: the
pairing of :func:`sim.analysis.partners`), and on the rows of ``coverage.<ind>`` and
``coverage_counts.<ind>.reached`` the ``cost_per_additional_family_yuan`` with its
``cost_per_additional_family_note`` (:func:`sim.analysis.cost_per_additional_family`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis import COST, UNDEFINED, baseline_mask, cost_per_additional_family, partners
from sim.errors import UserError
from sim.runs import PROVENANCE_PREFIX, check_out_dir, indicator_columns, provenance_key, runs_table, version_note


def reach_column(indicator: str) -> str | None:
    """``coverage.x`` or ``coverage_counts.x.reached`` -> ``coverage_counts.x.reached``; else None."""
    if indicator.startswith("coverage."):
        return f"coverage_counts.{indicator.removeprefix('coverage.')}.reached"
    if indicator.startswith("coverage_counts.") and indicator.endswith(".reached"):
        return indicator
    return None


def _provenance(g: pd.DataFrame, indicator: str) -> str:
    col = PROVENANCE_PREFIX + provenance_key(indicator)
    if col not in g.columns:
        return ""
    return "/".join(sorted({str(v) for v in g[col].dropna()}))


def compare(df: pd.DataFrame, baseline: str = "scenario=baseline_2021") -> pd.DataFrame:
    """Per group and indicator: spread across seeds and paired difference from the baseline."""
    if df.empty:
        return pd.DataFrame()
    ind = indicator_columns(df)
    base_mask = baseline_mask(df, baseline, strict=True)
    pcols = [c for c in df.columns if c.startswith("param.")]
    partner = partners(df, baseline)
    out = []
    for group, g in df.groupby("group", sort=True):
        vals = g[ind]
        pairs = [(i, partner[i]) for i in g.index if i in partner.index]
        diffs = (df.loc[[i for i, _ in pairs], ind].to_numpy(float)
                 - df.loc[[j for _, j in pairs], ind].to_numpy(float)) if pairs else None
        is_base = bool(base_mask[df.index.get_indexer(g.index)].all())
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
    w = max(44, int(cmp["group"].astype(str).str.len().max()) + 2)
    lines = [f"{'group':<{w}}{'indicator':<34}{'provenance':<12}{'n':>4}{'median':>10}{'5-95 %':>18}"
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
        lines.append(f"{r['group']:<{w}}{r['indicator']:<34}{str(r.get('provenance', ''))[:11]:<12}"
                     f"{r['n']:>4}{r['median']:>10.3f}{rng:>18}{diff:>32}{cost:>18}")
    lines.append("yuan/add. family: paired mean Δ total cost / paired mean Δ families reached; undefined when "
                 "the reach difference's 90 % interval includes 0; * see cost_per_additional_family_note")
    return "\n".join(lines)


def write_atomic_table(df: pd.DataFrame, out_dir: Path) -> None:
    from sim.results import _atomic  # the writer of run files; imports no engine either

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
        out = Path(args.out or args.dirs[0])
        check_out_dir(out)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    note = version_note(df)
    if note:
        print(note, file=sys.stderr)
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
