"""Planning a memo: what a set of runs calls for, from the runs table alone (nothing drawn or
written yet).

:func:`make_plan` picks the baseline, the group the single-run figures show (the focus: the
baseline group nearest funding 1.0 and the middle staffing level), the scenarios compared with
it, the headline and county indicators (the ones that change most, unless given), and from
these the memo's sections and figures:

* sections (:data:`SECTIONS`): question, scenarios compared, one headline (``scenarios``: paired
  differences from the baseline; ``sweep``: the funding x staffing grid; ``single``: one
  group's results), costs (when the summaries have them) and cost per additional family
  reached (several scenarios), figures, provenance;
* figures (:data:`FIGURES`): always, for the focus group: a county map of the county indicator
  and a map of the binding limit (4, 4b), monthly cumulative reach (6), a Lorenz curve of county
  coverage (7); several scenarios: paired differences from the baseline (1), prefecture bars of
  the baseline against the (at most 4) scenarios that change the county indicator most (5),
  cost per additional family reached (8); a sweep over ``funding.multiplier``: dose-response
  (2) and, with a staffing axis, a funding x staffing heatmap with the target contour (3).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.analysis import (
    COST,
    FUNDING,
    baseline_mask,
    comparator_groups,
    focus_group,
    paired_runs,
    resolve_baseline,
    staffing_key,
    sweep_grid,
    varying_params,
)
from sim.errors import UserError
from sim.metrics import EQUITY_INDICATORS, FAMILY_INDICATORS
from sim.runs import fill_params, indicator_name

MAX_PREFECTURE_FIGURES = 4
MAX_LORENZ_CURVES = 6
SECTIONS = ("question", "scenarios", "headline_scenarios", "headline_sweep", "headline_single", "costs",
            "cost_per_family", "figures", "uncertainty", "optimisation", "provenance")
"""Every section a memo may have, in memo order (``uncertainty``: added by :func:`sim.report.report`
when a sensitivity folder is given, see :mod:`sim.report.uncertainty`; ``optimisation``: likewise
when an optimisation folder is given, see :mod:`sim.report.optimize`)."""
FIGURES = ("fig1_scenario_comparison", "fig2_dose_response", "fig3_heatmap", "fig4_county_map",
           "fig4b_binding_map", "fig5_prefectures", "fig6_cumulative_reach", "fig7_lorenz",
           "fig8_cost_effectiveness")
"""Every figure a memo may have, in memo order (``fig5_prefectures`` once per prefecture group,
as ``fig5_prefectures_<k>``)."""


@dataclass
class Plan:
    baseline: str
    """The baseline spec (``scenario=baseline_2021``, see :mod:`sim.analysis`)."""
    base_rows: np.ndarray
    focus: str
    """The group drawn by the single-run figures (4, 6, 7)."""
    multi: bool
    """More than one scenario."""
    sweep: bool
    """``funding.multiplier`` takes several values (within the baseline scenario)."""
    staffing: str | None
    """The staffing axis of the sweep (a ``param.staffing.*`` column)."""
    indicator: str
    """Headline coverage indicator (``coverage.<name>``)."""
    county_indicator: str
    """Indicator of the county figures (a name, no prefix)."""
    target: float
    comparators: list[str] = field(default_factory=list)
    """Non-baseline groups paired with the focus group (same swept values but the scenario)."""
    sections: list[str] = field(default_factory=list)
    """The memo's sections, in order (of :data:`SECTIONS`)."""
    figures: list[str] = field(default_factory=list)
    """The memo's figures, in order (keys of :data:`FIGURES`; file names without extension)."""
    prefecture_groups: list[str] = field(default_factory=list)
    """Comparators with a prefecture figure (5): those that change the county indicator most."""
    lorenz_groups: list[str] = field(default_factory=list)
    """Comparators drawn beside the focus group in the Lorenz figure (7)."""

    def sweep_runs(self, runs: pd.DataFrame) -> pd.DataFrame:
        """The runs of the sweep figures and tables: the baseline scenario's when there are several."""
        return fill_params(runs[self.base_rows] if self.multi else runs)


def coverage_columns(runs: pd.DataFrame) -> list[str]:
    return [c for c in runs.columns if c.startswith("coverage.")]


def make_plan(runs: pd.DataFrame, baseline: str | None, indicator: str | None, target: float) -> Plan:
    """What the runs call for (module docstring).

    Raises:
        UserError: ``baseline`` matches no run, or ``indicator`` is no coverage indicator.
    """
    spec = resolve_baseline(runs, baseline)
    base = baseline_mask(runs, spec)
    multi = runs["scenario"].nunique() > 1
    scope = fill_params(runs[base] if multi else runs)  # sweeps of different keys: values filled
    sweep = FUNDING in varying_params(scope)
    staffing = staffing_key(scope, None) if sweep else None
    focus = focus_group(runs, base, staffing)
    comparators = comparator_groups(runs, base, focus) if multi else []
    cov = coverage_columns(runs)
    county_ok = [f"coverage.{n}" for n in FAMILY_INDICATORS if f"coverage.{n}" in cov]
    if indicator:
        ind = indicator if indicator.startswith("coverage.") else f"coverage.{indicator}"
        if ind not in cov:
            raise UserError(f"--indicator {indicator}: no such coverage indicator "
                            f"(one of {', '.join(c.removeprefix('coverage.') for c in cov)})")
        cind = ind if ind in county_ok else None
    else:
        ind = cind = None
    paired = None
    if multi:
        paired = paired_runs(runs, spec)
        paired = paired[paired["group"].isin(comparators)] if comparators else paired

        def effect(c):
            return (paired[c] - paired[c + "_base"]).abs().mean() if len(paired) else 0.0
    elif sweep:
        def effect(c):
            # the range over the sweep, ranked after indicators that both funding and staffing move
            # by at least half a percentage point
            cells = scope.groupby([FUNDING] + ([staffing] if staffing else []))[c].mean()
            both = all(np.nanmax(cells.groupby(level=k).agg(np.ptp)) >= 0.005
                       for k in range(cells.index.nlevels))
            return float(both) + np.ptp(cells.to_numpy(float))
    else:
        def effect(c):
            g = f"equity.{indicator_name(c)}.county_coverage_gini"
            return runs[g].mean() if g in runs.columns else -1.0

    def strongest(pool):
        return max(pool, key=lambda c: (np.nan_to_num(effect(c), nan=-1.0), c))

    # county figures (maps, Lorenz, prefectures) default to the equity indicators of the summary
    equity = [f"coverage.{n}" for n in EQUITY_INDICATORS if f"coverage.{n}" in cov] or county_ok
    if ind is None:
        ind = strongest(cov if (multi or sweep) else equity)
    if cind is None:
        cind = strongest(equity)
    plan = Plan(spec, base, focus, multi, sweep, staffing, ind, indicator_name(cind), target, comparators)
    plan.prefecture_groups = _prefecture_groups(plan, paired) if multi and comparators else []
    plan.lorenz_groups = comparators[:MAX_LORENZ_CURVES - 1]
    plan.sections = _sections(plan, runs)
    plan.figures = _figures(plan, runs)
    return plan


def _prefecture_groups(plan: Plan, paired: pd.DataFrame) -> list[str]:
    col = f"coverage.{plan.county_indicator}"
    eff = {g: (d[col] - d[col + "_base"]).abs().mean() for g, d in paired.groupby("group")}
    return sorted(sorted(plan.comparators, key=lambda g: -eff.get(g, 0.0))[:MAX_PREFECTURE_FIGURES])


def _sections(plan: Plan, runs: pd.DataFrame) -> list[str]:
    headline = "headline_scenarios" if plan.multi and plan.comparators else \
        "headline_sweep" if plan.sweep else "headline_single"
    out = ["question", "scenarios", headline]
    if COST in runs.columns:
        out.append("costs")
        if plan.multi and plan.comparators:
            out.append("cost_per_family")
    return out + ["figures", "provenance"]


def _figures(plan: Plan, runs: pd.DataFrame) -> list[str]:
    out = ["fig1_scenario_comparison"] if plan.multi else []
    if plan.sweep:
        out.append("fig2_dose_response")
        grid = sweep_grid(plan.sweep_runs(runs), plan.indicator, plan.staffing)
        if plan.staffing and grid.shape[0] >= 2 and grid.shape[1] >= 2:
            out.append("fig3_heatmap")
    out += ["fig4_county_map", "fig4b_binding_map"]
    out += [f"fig5_prefectures_{k + 1}" for k in range(len(plan.prefecture_groups))]
    out += ["fig6_cumulative_reach", "fig7_lorenz"]
    if plan.multi and plan.comparators:
        out.append("fig8_cost_effectiveness")
    return out
