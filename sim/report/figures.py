"""Assembling a memo, part 1: the planned figures, each drawn by :mod:`sim.plots`, saved (PNG at
300 dpi and SVG) and given a one-sentence caption from :mod:`sim.analysis` numbers and
:mod:`sim.labels` words. One function per figure; :data:`DRAW` maps the figure keys of
:data:`sim.report.plan.FIGURES` to them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim import plots
from sim.analysis import (
    baseline_mask,
    binding_categories,
    cost_column,
    county_values,
    group_labels,
    hands_bound_most,
    incremental_costs,
    mean_gini,
    prefecture_values,
    sweep_grid,
)
from sim.labels import MONTHLY_SERIES, activity_label, county_name, indicator_label, join_words, role_label, text
from sim.report.plan import Plan
from sim.runs import run_tables

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass
class FigureEntry:
    key: str
    title: str
    caption: str
    png: Path
    svg: Path


@dataclass
class Context:
    """What the figures of one memo share."""

    plan: Plan
    runs: pd.DataFrame
    cmp: pd.DataFrame | None
    lang: str

    @functools.cached_property
    def labels(self) -> dict[str, str]:
        return group_labels(self.runs)

    def label(self, group: str) -> str:
        return self.labels.get(group, group)

    @property
    def focus_label(self) -> str:
        """The focus group: the baseline cell the others are paired with."""
        return self.label(self.plan.focus)

    def counties(self, group: str) -> pd.DataFrame:
        return run_tables(self.runs[self.runs["group"] == group], "counties")

    @functools.cached_property
    def focus_counties(self) -> pd.DataFrame:
        return self.counties(self.plan.focus)

    @functools.cached_property
    def lowest_county(self) -> pd.Series:
        """The focus group's county with the lowest county indicator (mean of the seeds)."""
        v = county_values(self.focus_counties, f"coverage_{self.plan.county_indicator}")
        return v.loc[v["value"].idxmin()]

    def ind(self, indicator: str) -> str:
        return indicator_label(indicator, self.lang)


def scenario_comparison(c: Context) -> tuple[Figure, str]:
    """1: paired differences of every coverage indicator from the baseline, per scenario."""
    cmp, plan = c.cmp, c.plan
    d = cmp[cmp["group"].isin(plan.comparators) | cmp["is_baseline"].astype(bool)]
    if plan.comparators:
        d = d[~d["is_baseline"].astype(bool) | (d["group"] == plan.focus)]
    fig = plots.scenario_comparison(d, lang=c.lang, runs=c.runs)
    cov = d[d["indicator"].str.startswith("coverage.") & ~d["is_baseline"].astype(bool) & (d["n_pairs"] > 0)]
    if not (len(cov) and cov["diff_mean"].abs().max() > 0):
        return fig, text("memo.c1_none", c.lang, base=c.focus_label)
    r = cov.loc[cov["diff_mean"].abs().idxmax()]
    return fig, text("memo.c1", c.lang, label=c.label(r["group"]), ind=c.ind(r["indicator"]), d=100 * r["diff_mean"],
                     lo=100 * r["diff_p5"], hi=100 * r["diff_p95"], base=c.focus_label)


def dose_response(c: Context) -> tuple[Figure, str]:
    """2: the headline indicator against funding, one line per staffing level."""
    plan = c.plan
    scope = plan.sweep_runs(c.runs)
    fig = plots.dose_response(scope, plan.indicator, staffing=plan.staffing, lang=c.lang)
    grid = sweep_grid(scope, plan.indicator, plan.staffing)
    avg = grid.mean(axis=0)
    spread = float(np.nanmax(grid.max(axis=0) - grid.min(axis=0))) if len(grid) else 0.0
    return fig, text("memo.c2", c.lang, ind=c.ind(plan.indicator), a=100 * avg.iloc[0], fa=avg.index[0],
                     b=100 * avg.iloc[-1], fb=avg.index[-1], s=100 * spread)


def heatmap(c: Context) -> tuple[Figure, str]:
    """3: the headline indicator by funding x staffing, with the target contour."""
    plan = c.plan
    scope = plan.sweep_runs(c.runs)
    fig = plots.heatmap(scope, plan.indicator, target=plan.target, staffing=plan.staffing, lang=c.lang)
    z = sweep_grid(scope, plan.indicator, plan.staffing).to_numpy(float)
    ind, tg = c.ind(plan.indicator), 100 * plan.target
    if np.nanmax(z) < plan.target:
        return fig, text("memo.c3_never", c.lang, ind=ind, target=tg, v=100 * np.nanmax(z))
    if np.nanmin(z) >= plan.target:
        return fig, text("memo.c3_always", c.lang, ind=ind, target=tg, v=100 * np.nanmin(z))
    return fig, text("memo.c3_hit", c.lang, ind=ind, target=tg)


def county_map(c: Context) -> tuple[Figure, str]:
    """4: the county indicator by county (focus group)."""
    plan, counties = c.plan, c.focus_counties
    fig = plots.coverage_map(counties, plan.county_indicator, lang=c.lang)
    v = county_values(counties, f"coverage_{plan.county_indicator}")
    lo, hi = v.loc[v["value"].idxmin()], v.loc[v["value"].idxmax()]
    return fig, text("memo.c4", c.lang, label=c.focus_label, ind=c.ind(plan.county_indicator),
                     lo=county_name(lo, c.lang), lov=100 * lo["value"], hi=county_name(hi, c.lang),
                     hiv=100 * hi["value"])


def binding_map(c: Context) -> tuple[Figure, str]:
    """4b: the binding limit by county (focus group), and the activity most often short of hands."""
    counties = c.focus_counties
    fig = plots.binding_map(counties, lang=c.lang)
    cat = binding_categories(counties).value_counts()
    cap = text("memo.c4b", c.lang, label=c.focus_label, m=int(cat.get("bind_money", 0) + cat.get("bind_both", 0)),
               s=int(cat.get("bind_hands", 0) + cat.get("bind_both", 0)))
    most = hands_bound_most(counties)
    if most:
        cap += text("memo.c4b_hands", c.lang, act=activity_label(most[0], c.lang), v=100 * most[1],
                    roles=join_words([role_label(r, c.lang) for r in most[2]], c.lang))
    return fig, cap


def prefectures(c: Context, group: str) -> tuple[Figure, str]:
    """5: the county indicator by prefecture, focus group against ``group``."""
    ind = c.plan.county_indicator
    a, b = c.focus_counties, c.counties(group)
    fig = plots.prefecture_bars(a, b, ind, label_a=c.focus_label, label_b=c.label(group), lang=c.lang)
    pa = prefecture_values(a, ind, c.lang)
    pb = prefecture_values(b, ind, c.lang).reindex(pa.index)
    dd = 100 * (pb["mean"] - pa["mean"])
    return fig, text("memo.c5", c.lang, a=c.focus_label, b=c.label(group), ind=c.ind(ind), lo=dd.min(),
                     hi=dd.max())


def cumulative_reach(c: Context) -> tuple[Figure, str]:
    """6: cumulative reach by month (focus group), campaign months shaded."""
    monthly = run_tables(c.runs[c.runs["group"] == c.plan.focus], "monthly")
    fig = plots.cumulative_reach(monthly, lang=c.lang)
    last = monthly[monthly["month"] == monthly["month"].max()]
    parts = [text("memo.c6_part", c.lang, s=text(f"series.{s}", c.lang), v=100 * last[s].median())
             for s in MONTHLY_SERIES if s in last.columns][:3]
    return fig, text("memo.c6", c.lang, m=int(monthly["month"].max()), parts=text("memo.sep", c.lang).join(parts))


def lorenz(c: Context) -> tuple[Figure, str]:
    """7: Lorenz curves of county coverage, focus group and the first comparators."""
    plan, lo = c.plan, c.lowest_county
    tables = {c.focus_label: c.focus_counties}
    for g in plan.lorenz_groups:
        tables[c.label(g)] = c.counties(g)
    fig = plots.lorenz(tables, plan.county_indicator, lang=c.lang)
    return fig, text("memo.c7", c.lang, ind=c.ind(plan.county_indicator),
                     g=mean_gini(c.focus_counties, plan.county_indicator), label=c.focus_label,
                     name=county_name(lo, c.lang), v=100 * lo["value"])


def cost_effectiveness(c: Context) -> tuple[Figure, str]:
    """8: yuan per additional family reached, each comparator against the focus group."""
    plan, runs = c.plan, c.runs
    sub = runs[runs["group"].isin(plan.comparators) | (runs["group"] == plan.focus)]
    fig = plots.cost_effectiveness(sub, baseline=plan.baseline, lang=c.lang)
    ic = incremental_costs(sub, plan.baseline).dropna(subset=["ratio"])
    base = sub[baseline_mask(sub, plan.baseline)]
    avg = float((base[cost_column(sub)] / base["families_reached"]).mean())
    if not len(ic):
        return fig, text("memo.c8_none", c.lang)
    r = ic.loc[ic["d_families"].idxmax()]
    return fig, text("memo.c8", c.lang, label=c.label(r["group"]), r=r["ratio"], lo=r["ratio_p5"],
                     hi=r["ratio_p95"], avg=avg, base=c.focus_label)


DRAW: dict[str, Callable[[Context], tuple[Figure, str]]] = {
    "fig1_scenario_comparison": scenario_comparison, "fig2_dose_response": dose_response,
    "fig3_heatmap": heatmap, "fig4_county_map": county_map, "fig4b_binding_map": binding_map,
    "fig6_cumulative_reach": cumulative_reach, "fig7_lorenz": lorenz,
    "fig8_cost_effectiveness": cost_effectiveness,
}
"""Figure key -> the function drawing it and writing its caption (figure 5: :func:`prefectures`)."""


def draw_figures(plan: Plan, runs: pd.DataFrame, cmp: pd.DataFrame | None, lang: str, out: Path,
                 log=print) -> list[FigureEntry]:
    """Draw and save every figure of ``plan.figures`` into ``out``, in order, with its caption."""
    c = Context(plan, runs, cmp, lang)
    entries = []
    for key in plan.figures:
        if key.startswith("fig5_prefectures_"):
            fig, caption = prefectures(c, plan.prefecture_groups[int(key.rsplit("_", 1)[1]) - 1])
        else:
            fig, caption = DRAW[key](c)
        png, svg = plots.save(fig, out, key)
        title = " ".join(fig.get_suptitle().split())  # the figure's title is wrapped; the memo's is not
        entries.append(FigureEntry(key, title, caption, png, svg))
        log(f"  figure {key}: {png.name}, {svg.name}")
    return entries
