"""Analysis of finished runs, apart from drawing: which runs are the baseline, how runs pair by seed,
and the numbers figures and memo captions show. Pure pandas and numpy (no matplotlib), on the
tables of :mod:`sim.runs`: the runs table (one row per run) and stacked ``counties`` tables.

Baseline: a spec ``key=value[,key=value...]`` (``scenario=baseline_2021``,
``scenario=x,funding.multiplier=1.0``) or a bare scenario name; its rows are the runs whose
scenario and ``param.<key>`` columns equal those values (:func:`baseline_mask`).

Pairing: each run pairs with the baseline run of the same seed and the same values of the swept
parameters the baseline does not fix (e.g. the same funding multiplier in a funding x scenario
sweep); scenarios run with the same seed share random draws (common random numbers), so paired
differences show the policy's effect, not noise (:func:`partners`, :func:`paired_runs`).

Cost per additional family reached, per indicator (MODEL.md section 4b): over the seeds paired
with the baseline, mean(Δ ``cost.total_yuan``) / mean(Δ families reached), Δ = scenario -
baseline of the same seed: a ratio of paired means, in yuan of total cost (all pots) per
full-scale family (person, for ``nursing_subsidy_met``). It is undefined (NaN, with a note) when
the 90 % interval (5th to 95th percentile) of the paired reach differences includes 0: the
scenario does not surely reach more, or fewer, families (:func:`cost_per_additional_family`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.activities import ROLES
from sim.errors import UserError
from sim.metrics import gini
from sim.runs import indicator_name

FUNDING = "param.funding.multiplier"
"""The funding axis of a sweep."""
COST = "cost.total_yuan"
"""The cost of cost per additional family reached: total cost, all pots."""
UNDEFINED = "undefined: the 90 % interval of the paired reach difference includes 0"


# --------------------------------------------------------------------------- baseline
def parse_baseline(baseline: str) -> list[tuple[str, str]]:
    """``NAME`` or ``key=value[,key=value...]`` -> [(key, value), ...] (a bare name is the scenario)."""
    if "=" not in baseline:
        baseline = f"scenario={baseline}"
    return [(k, v) for k, _, v in (part.partition("=") for part in baseline.split(","))]


def _column(key: str) -> str:
    return "scenario" if key == "scenario" else f"param.{key}"


def baseline_mask(runs: pd.DataFrame, baseline: str, *, strict: bool = False) -> np.ndarray:
    """Rows of the runs table that belong to the baseline (all False when a key is no column).

    Raises:
        UserError: with ``strict``, when no run has one of the baseline's keys or no run matches.
    """
    mask = np.ones(len(runs), dtype=bool)
    for key, value in parse_baseline(baseline):
        col = _column(key)
        if col not in runs.columns:
            if strict:
                raise UserError(f"--baseline {baseline}: no run has {key!r} "
                                f"(groups: {'; '.join(sorted(runs['group'].unique()))})")
            return np.zeros(len(runs), dtype=bool)
        mask &= runs[col].astype(str).to_numpy() == value
    if strict and not mask.any():
        raise UserError(f"--baseline {baseline}: no run matches it "
                        f"(groups: {'; '.join(sorted(runs['group'].unique()))})")
    exact = mask & (_defined_items(runs) == len(parse_baseline(baseline)))
    return exact if exact.any() else mask  # a group named exactly so is the only baseline


def _defined_items(runs: pd.DataFrame) -> np.ndarray:
    """Per run, how many of scenario and the ``param.*`` columns have a value."""
    cols = ["scenario"] + [c for c in runs.columns if c.startswith("param.")]
    return runs[cols].notna().sum(axis=1).to_numpy()


def resolve_baseline(runs: pd.DataFrame, arg: str | None) -> str:
    """The baseline spec of ``--baseline arg``: ``baseline_2021`` when present (else the first
    scenario) without one.

    Raises:
        UserError: no complete run matches ``arg``.
    """
    scen = sorted(runs["scenario"].dropna().unique())
    if arg is None:
        return "scenario=" + ("baseline_2021" if "baseline_2021" in scen else scen[0])
    spec = arg if "=" in arg else f"scenario={arg}"
    if not baseline_mask(runs, spec).any():
        raise UserError(f"--baseline {arg}: no complete run matches it (scenarios: {', '.join(scen)}; "
                        f"groups: {'; '.join(sorted(runs['group'].unique()))})")
    return spec


def varying_params(table: pd.DataFrame, exclude: Sequence[str] = ("param.population.scale",)) -> list[str]:
    """``param.*`` columns taking more than one value in ``table``."""
    return [c for c in table.columns if c.startswith("param.") and c not in exclude
            and table[c].astype(str).nunique() > 1]


def staffing_key(runs: pd.DataFrame, staffing: str | None = None) -> str | None:
    """The staffing axis of a sweep: ``staffing`` as a ``param.`` column, or the swept
    ``param.staffing.*`` column with the most levels (None when there is none)."""
    if staffing:
        return staffing if staffing.startswith("param.") else f"param.{staffing}"
    cands = [c for c in varying_params(runs) if c.startswith("param.staffing.")]
    return max(cands, key=lambda c: runs[c].nunique()) if cands else None


def focus_group(runs: pd.DataFrame, base: np.ndarray, staffing: str | None) -> str:
    """The baseline group the single-run figures show: nearest funding 1.0 and the middle
    staffing level (then the first by name)."""
    bg = runs[base].drop_duplicates("group")

    def score(r):
        f = abs(float(r[FUNDING]) - 1.0) if FUNDING in r and pd.notna(r[FUNDING]) else 0.0
        s = 0.0
        if staffing and pd.notna(r.get(staffing)):
            lv = np.sort(pd.to_numeric(bg[staffing], errors="coerce").dropna().unique())
            s = abs(float(r[staffing]) - lv[(len(lv) - 1) // 2])
        return (f, s, r["group"])

    return min((r for _, r in bg.iterrows()), key=score)["group"]


def comparator_groups(runs: pd.DataFrame, base: np.ndarray, focus: str) -> list[str]:
    """Non-baseline groups with the focus group's swept values (all but the scenario and the
    population scale), sorted."""
    focus_row = runs[runs["group"] == focus].iloc[0]
    pcols = [c for c in runs.columns if c.startswith("param.")]
    out = []
    for g, d in runs[~base].groupby("group", sort=True):
        r = d.iloc[0]
        if all(str(r[c]) == str(focus_row[c]) for c in pcols if c in r and pd.notna(r[c])
               and pd.notna(focus_row.get(c)) and c != "param.population.scale"):
            out.append(g)
    return out


def group_labels(table: pd.DataFrame) -> dict[str, str]:
    """Group name -> short label: the scenario, plus the swept values that differ between groups."""
    if "group" not in table.columns:
        return {}
    first = table.drop_duplicates("group")
    pcols = varying_params(first)
    out = {}
    for _, r in first.iterrows():
        parts = [str(r["scenario"])] if first["scenario"].nunique() > 1 or not pcols else []
        parts += [f"{c.removeprefix('param.').rsplit('.', 1)[-1]}={r[c]}" for c in pcols if pd.notna(r[c])]
        out[r["group"]] = ", ".join(parts)
    return out


# --------------------------------------------------------------------------- pairing by seed
def match_columns(runs: pd.DataFrame, baseline: str) -> list[str]:
    """Columns a run shares with its baseline partner: the seed and the swept parameters the
    baseline does not fix."""
    fixed = {"scenario"} | {_column(k) for k, _ in parse_baseline(baseline)}
    return ["seed"] + [c for c in runs.columns if c.startswith("param.") and c not in fixed]


def partners(runs: pd.DataFrame, baseline: str) -> pd.Series:
    """Index of each run's baseline partner (:func:`match_columns`), for the runs that have one
    (a baseline run is its own partner; of several baseline runs alike, the last)."""
    mask = baseline_mask(runs, baseline)
    cols = match_columns(runs, baseline)
    keys = [tuple(None if pd.isna(v) else v for v in row) for row in runs[cols].itertuples(index=False, name=None)]
    base = {k: i for k, i, m in zip(keys, runs.index, mask, strict=True) if m}
    pairs = {i: base[k] for k, i in zip(keys, runs.index, strict=True) if k in base}
    return pd.Series(pairs, dtype=runs.index.dtype)


def paired_runs(runs: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Each non-baseline run with its baseline partner's columns suffixed ``_base``."""
    p = partners(runs, baseline)
    other = runs[~baseline_mask(runs, baseline) & runs.index.isin(p.index)]
    base = runs.loc[p[other.index]].add_suffix("_base")
    return pd.concat([other.reset_index(drop=True), base.reset_index(drop=True)], axis=1)


def quantiles(x: pd.Series) -> pd.Series:
    """Mean, 5th and 95th percentile and count of the non-missing values."""
    a = x.dropna().to_numpy(float)
    if not len(a):
        return pd.Series({"mean": np.nan, "p5": np.nan, "p95": np.nan, "n": 0})
    return pd.Series({"mean": a.mean(), "p5": np.percentile(a, 5), "p95": np.percentile(a, 95), "n": len(a)})


# --------------------------------------------------------------------------- cost per additional family
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


def cost_column(runs: pd.DataFrame) -> str:
    """``cost.total_yuan`` (total cost, all pots), or ``spend_yuan.total`` for runs written before
    the summary had costs."""
    return COST if COST in runs.columns and runs[COST].notna().any() else "spend_yuan.total"


def incremental_costs(runs: pd.DataFrame, baseline: str, reached: str = "families_reached") -> pd.DataFrame:
    """Per non-baseline group: paired Δ total cost and Δ ``reached`` by seed, their means, and the
    yuan per additional family reached (``ratio``: :func:`cost_per_additional_family`, NaN with
    a ``note`` when the reach difference's 90 % interval includes 0), with the 5-95 % range of
    the seeds' own ratios (``ratio_p5``, ``ratio_p95``; NaN where the ratio is undefined)."""
    p = paired_runs(runs, baseline)
    if p.empty:  # no pairs: no rows, but the columns
        return pd.DataFrame(columns=["group", "n_pairs", "d_cost", "d_families", "ratio", "note",
                                     "ratio_p5", "ratio_p95"])
    cost = cost_column(runs)
    p["d_cost"] = p[cost] - p[cost + "_base"]
    p["d_families"] = p[reached] - p[reached + "_base"]
    rows = []
    for g, d in p.groupby("group", sort=True):
        ratio, note = cost_per_additional_family(d["d_cost"], d["d_families"])
        per_seed = (d["d_cost"] / d["d_families"].where(d["d_families"].abs() > 0)) if np.isfinite(ratio) \
            else pd.Series(dtype=float)
        q = quantiles(per_seed)
        rows.append({"group": g, "n_pairs": len(d), "d_cost": d["d_cost"].mean(),
                     "d_families": d["d_families"].mean(), "ratio": ratio, "note": note,
                     "ratio_p5": q["p5"], "ratio_p95": q["p95"]})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- sweeps
def sweep_grid(runs: pd.DataFrame, column: str, staffing: str | None, funding: str = FUNDING) -> pd.DataFrame:
    """Mean of ``column`` by staffing level (rows; one row 0.0 without a staffing axis) and
    funding multiplier (columns), both sorted."""
    d = runs.assign(_f=pd.to_numeric(runs[funding], errors="coerce"),
                    _s=pd.to_numeric(runs[staffing], errors="coerce") if staffing else 0.0)
    return d.groupby(["_s", "_f"])[column].mean().unstack().sort_index().sort_index(axis=1)


# --------------------------------------------------------------------------- counties
def county_values(counties: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per county: mean of ``column`` over the runs, with names (``county``, ``county_zh``)."""
    names = [c for c in ("county", "county_zh", "prefecture", "prefecture_zh") if c in counties.columns]
    return counties.groupby("county_code", sort=True).agg(value=(column, "mean"),
                                                          **{n: (n, "first") for n in names})


def binding_categories(counties: pd.DataFrame, threshold: float = 0.5) -> pd.Series:
    """Per county: ``bind_money`` / ``bind_hands`` / ``bind_both`` / ``bind_none``, from the share of
    the last year's months in which money, or some role's hours, bound an activity (mean of the
    runs; ``counties.parquet``'s ``money_bound_month_share`` and ``hands_bound_month_share``)."""
    v = counties.groupby("county_code")[["money_bound_month_share", "hands_bound_month_share"]].mean()
    m = v["money_bound_month_share"] >= threshold
    h = v["hands_bound_month_share"] >= threshold
    return pd.Series(np.select([m & h, m, h], ["bind_both", "bind_money", "bind_hands"], "bind_none"),
                     index=v.index)


def hands_bound_most(counties: pd.DataFrame, near: float = 0.9) -> tuple[str, float, list[str]] | None:
    """(activity, share, roles): the activity most often hands-bound (mean over the rows of
    ``binding_<act>_hands_share``: the share of county-months) and the roles that bound it in at
    least ``near`` times as many county-months as the most frequent one (several roles bind
    together when they may stand in for each other), in :data:`sim.activities.ROLES` order; None
    when hands never bound."""
    shares = {c.removeprefix("binding_").removesuffix("_hands_share"): float(counties[c].mean())
              for c in counties.columns if c.startswith("binding_") and c.endswith("_hands_share")}
    if not shares or max(shares.values()) <= 0:
        return None
    act = max(shares, key=lambda a: (shares[a], a))
    roles = {r: float(counties[f"binding_{act}_{r}_share"].mean()) for r in ROLES
             if f"binding_{act}_{r}_share" in counties.columns}
    top = max(roles.values(), default=0.0)
    return act, shares[act], [r for r, x in roles.items() if top > 0 and x >= near * top]


def prefecture_values(counties: pd.DataFrame, indicator: str, lang: str = "en") -> pd.DataFrame:
    """Per prefecture (named in ``lang``): population-weighted mean county coverage per run, then
    mean and 5-95 % across runs (fractions)."""
    col = f"coverage_{indicator_name(indicator)}"
    name = "prefecture_zh" if lang == "zh" and "prefecture_zh" in counties.columns else "prefecture"
    d = counties.assign(_w=counties["population"] * counties[col],
                        _seed=counties["seed"] if "seed" in counties.columns else 0)
    per_run = d.groupby(["_seed", name]).apply(lambda g: g["_w"].sum() / g["population"].sum(),
                                                include_groups=False)
    return per_run.groupby(level=name).apply(quantiles).unstack()


def run_keys(table: pd.DataFrame) -> list[str]:
    """Columns that tell the runs of a stacked table apart."""
    return [c for c in ("group", "seed") if c in table.columns]


def mean_gini(counties: pd.DataFrame, indicator: str) -> float:
    """Mean over the runs of the Gini coefficient of county coverage (``summary.json``'s
    ``equity.<indicator>.county_coverage_gini`` for a single run)."""
    col = f"coverage_{indicator_name(indicator)}"
    keys = run_keys(counties)
    runs = [g[col].to_numpy() for _, g in counties.groupby(keys)] if keys else [counties[col].to_numpy()]
    return float(np.mean([gini(r) for r in runs]))


def lorenz_points(values) -> tuple[np.ndarray, np.ndarray]:
    """(cumulative share of counties, cumulative share of the summed values), both from 0 to 1."""
    v = np.sort(np.asarray(values, dtype=float))
    x = np.arange(len(v) + 1) / max(len(v), 1)
    y = np.concatenate([[0.0], np.cumsum(v) / v.sum()]) if v.sum() > 0 else x
    return x, y
