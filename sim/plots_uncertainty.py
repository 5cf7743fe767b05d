"""Figures of a sensitivity analysis (:mod:`sim.sensitivity`) for the memo, in the style of
:mod:`sim.plots`: one plain function per figure, taking the analysis's tables and returning a
:class:`matplotlib.figure.Figure` (save them with :func:`sim.plots.save`: PNG at 300 dpi + SVG).

Tables (as ``outreach-sim-sensitivity`` writes them):

* ``indices``: ``indices.csv`` (method, output, scenario, kind, indicator, parameter, index, value,
  ci_low, ci_high);
* ``robustness``: ``robustness.csv`` (scenario, baseline, indicator, p_better, p_worse with their
  90 % intervals, ...);
* ``measure_first``: ``measure_first.csv`` (scenario, indicator, parameter, evppi, evpi,
  evppi_share, total_index, total_index_value, rank);
* ``meta``: ``sensitivity.json`` (for the source line: version, commit, scenarios, seeds, scale).

The figures:

* :func:`morris_scatter`: Morris ``mu_star`` (with its interval) against ``sigma`` of a coverage
  indicator, one panel per output (the baseline's level, a scenario's paired difference), the
  parameters labelled;
* :func:`sobol_bars`: Sobol ``S1`` and ``ST`` with their intervals, one panel per output;
* :func:`robustness_chart`: per scenario and coverage indicator, the share of the sampled worlds
  in which the scenario beats the baseline and in which it is worse (90 % intervals), the 50 %
  line and the robustness threshold;
* :func:`measure_first_chart`: per scenario, the share of the value at stake (EVPPI / EVPI) of
  each parameter on the scenario's headline indicator (:func:`headline_indicators`).

Parameters are named by their short labels (:func:`sim.labels.uncertain_param_label`, the dotted
key when there is none); every other word comes from :mod:`sim.labels` (``uncertainty.*``), in
Chinese with ``lang="zh"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.labels import indicator_label, text, uncertain_param_label
from sim.plots import HATCHES, MARKERS, PALETTE, _figure, _finish, _wrap, source_line, style

ROBUST = 0.90
"""A conclusion is robust when the scenario is better (or worse) in at least this share of worlds."""
EPS = 1e-12
"""Expected values of information at or below this are zero (rounding of sums)."""
VERDICTS = ("robust_better", "robust_worse", "not_robust", "unchanged")
COVERAGE = "coverage."


# --------------------------------------------------------------------------- shared helpers
def verdict(p_better: float, p_worse: float, threshold: float = ROBUST) -> str:
    """``robust_better`` / ``robust_worse`` (better / worse in at least ``threshold`` of the worlds),
    ``unchanged`` (neither better nor worse in any world) or ``not_robust``."""
    p_better, p_worse = float(p_better), float(p_worse)
    if p_better >= threshold - 1e-12:
        return "robust_better"
    if p_worse >= threshold - 1e-12:
        return "robust_worse"
    if p_better == 0 and p_worse == 0:
        return "unchanged"
    return "not_robust"


def headline_indicators(measure_first: pd.DataFrame) -> dict[str, str]:
    """Scenario -> the coverage indicator with the most at stake (the largest EVPI), for the
    scenarios where something is (EVPI above :data:`EPS`)."""
    out = {}
    if measure_first.empty:
        return out
    m = measure_first[measure_first["indicator"].astype(str).str.startswith(COVERAGE)]
    for scen, g in m.groupby("scenario", sort=False):
        evpi = g.groupby("indicator", sort=False)["evpi"].max()
        if len(evpi) and evpi.max() > EPS:
            out[str(scen)] = str(evpi.idxmax())
    return out


def unit_of(indicator: str) -> tuple[float, str]:
    """(scale, unit key) of an indicator's values in the figures: coverage in percentage points,
    cost in M yuan, the rest as they are."""
    if indicator.startswith(COVERAGE):
        return 100.0, "unit.pp"
    if indicator.startswith("cost."):
        return 1e-6, "unit.m_yuan"
    return 1.0, "unit.index"


def amount(indicator: str, value: float, lang: str = "en") -> str:
    """A value in the indicator's units, for text: '0.123 pp', '4.27 M yuan', '0.0153'."""
    if indicator.startswith(COVERAGE):
        return text("uncertainty.pp", lang, v=f"{100 * value:.3g}")
    if indicator.startswith("cost."):
        return text("uncertainty.m_yuan", lang, v=f"{value / 1e6:,.3g}")
    return f"{value:.3g}"


def method_label(method: str, lang: str = "en") -> str:
    return text(f"uncertainty.method.{method}", lang, default=str(method))


def sensitivity_source(meta: Mapping, lang: str = "en") -> str:
    """The figures' source line: version, commit, scenarios, seeds, scale and the design."""
    scen = [str(s) for s in meta.get("scenarios") or [meta.get("baseline", "?")]]
    seeds = list(meta.get("seeds") or [])
    rows = [{"scenario": s, "seed": seed, "scale": meta.get("scale"), "package_version": meta.get("package_version"),
             "git_commit": meta.get("git_commit")} for s in scen for seed in (seeds or [None])]
    extra = text("uncertainty.f_design", lang, method=method_label(str(meta.get("method")), lang),
                 n=meta.get("n", "?"), points=meta.get("points", "?"))
    return source_line(pd.DataFrame(rows), lang, extra=extra)


def _select(indices: pd.DataFrame, scenario: str, kind: str, indicator: str) -> pd.DataFrame:
    """parameter x index -> value, ci_low, ci_high, for one output."""
    d = indices[(indices["scenario"] == scenario) & (indices["kind"] == kind) & (indices["indicator"] == indicator)]
    return d.set_index(["parameter", "index"])[["value", "ci_low", "ci_high"]]


def _panels(baseline: str, scenario: str | None) -> list[tuple[str, str]]:
    return [(baseline, "level")] + ([(scenario, "paired_difference")] if scenario else [])


def _panel_title(scen: str, kind: str, baseline: str, lang: str) -> str:
    if kind == "level":
        return text("uncertainty.f_level", lang, base=scen)
    return text("uncertainty.f_diff", lang, scen=scen, base=baseline)


def _flat(ax, lang: str) -> None:
    ax.text(0.5, 0.5, text("uncertainty.f_flat", lang), transform=ax.transAxes, ha="center", va="center",
            fontsize=8, color="0.35", style="italic")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_frame_on(False)


# --------------------------------------------------------------------------- (a) Morris
def morris_scatter(indices: pd.DataFrame, indicator: str, *, baseline: str, scenario: str | None = None,
                   lang: str = "en", source: str | None = None) -> Figure:
    """Morris screening of ``indicator``: ``mu_star`` (x, with its 95 % interval) against ``sigma``
    (y) of every parameter, one panel for the baseline's level and, with ``scenario``, one for
    the paired difference ``scenario - baseline``; the dotted line ``sigma = mu_star`` separates
    parameters acting alone (below) from non-linear or interacting ones (above)."""
    with style(lang):
        scale, unit_key = unit_of(indicator)
        unit = text(f"uncertainty.{unit_key}", lang)
        panels = _panels(baseline, scenario)
        fig = _figure(4.3, lang)
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, (scen, kind) in zip(axes, panels, strict=True):
            ax.set_title(_wrap(_panel_title(scen, kind, baseline, lang), 45, lang), fontsize=9)
            d = _select(indices[indices["method"] == "morris"], scen, kind, indicator)
            if d.empty or "mu_star" not in d.index.get_level_values("index"):
                _flat(ax, lang)
                continue
            ms = d.xs("mu_star", level="index")
            sg = d.xs("sigma", level="index")["value"].reindex(ms.index)
            x = scale * ms["value"].to_numpy(float)
            y = scale * sg.to_numpy(float)
            if not np.nanmax(np.abs(np.concatenate([x, y]))) > 0:
                _flat(ax, lang)
                continue
            lo = np.nan_to_num(x - scale * ms["ci_low"].to_numpy(float))
            hi = np.nan_to_num(scale * ms["ci_high"].to_numpy(float) - x)
            err = np.clip(np.vstack([np.minimum(lo, x), hi]), 0, None)
            xmax = float(np.nanmax(x + err[1])) or 1.0
            ymax = float(np.nanmax(y)) or 1.0
            for k, name in enumerate(ms.index):
                ax.errorbar(x[k], y[k], xerr=err[:, k:k + 1], fmt=MARKERS[k % len(MARKERS)],
                            color=PALETTE[k % len(PALETTE)], markersize=5, capsize=2, elinewidth=0.9,
                            markeredgecolor="black", markeredgewidth=0.4, zorder=3)
                if x[k] >= 0.04 * np.nanmax(x) or y[k] >= 0.04 * ymax:
                    ax.annotate(_wrap(uncertain_param_label(name, lang), 26, lang), (x[k], y[k]),
                                xytext=(4, 3), textcoords="offset points", fontsize=6.5, color="0.1", zorder=4)
            lim = max(xmax, ymax) * 1.3
            ax.plot([0, lim], [0, lim], linestyle=":", color="0.45", linewidth=0.9, zorder=1,
                    label=text("uncertainty.f_morris_diag", lang))
            ax.set_xlim(0, xmax * 1.35)
            ax.set_ylim(0, ymax * 1.2)
            ax.grid(color="0.92", linewidth=0.6)
            ax.set_axisbelow(True)
            ax.set_xlabel(_wrap(text("uncertainty.f_morris_x", lang, unit=unit), 48, lang), fontsize=7.5)
            ax.set_ylabel(_wrap(text("uncertainty.f_morris_y", lang, unit=unit), 40, lang), fontsize=7.5)
            ax.legend(loc="upper left", fontsize=6.5, frameon=True, framealpha=0.9)
        title = text("uncertainty.f_morris_title", lang, ind=indicator_label(indicator, lang))
        return _finish(fig, title, source or "")


# --------------------------------------------------------------------------- (b) Sobol
def sobol_bars(indices: pd.DataFrame, indicator: str, *, baseline: str, scenario: str | None = None,
               lang: str = "en", source: str | None = None) -> Figure:
    """Sobol indices of ``indicator``: first-order ``S1`` and total ``ST`` of every parameter as
    bars with their 95 % intervals, one panel for the baseline's level and, with ``scenario``, one
    for the paired difference; parameters in the order of their largest ``ST``."""
    with style(lang):
        panels = _panels(baseline, scenario)
        sob = indices[indices["method"] == "sobol"]
        data = [_select(sob, scen, kind, indicator) for scen, kind in panels]
        params = list(dict.fromkeys(p for d in data for p in d.index.get_level_values("parameter")))
        best = {p: max((float(d.loc[(p, "ST"), "value"]) for d in data if (p, "ST") in d.index), default=0.0)
                for p in params}
        params.sort(key=lambda p: -np.nan_to_num(best[p]))
        fig = _figure(1.5 + 0.3 * max(len(params), 3), lang)
        axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
        ypos = np.arange(len(params))
        h = 0.38
        for ax, (scen, kind), d in zip(axes, panels, data, strict=True):
            ax.set_title(_wrap(_panel_title(scen, kind, baseline, lang), 45, lang), fontsize=9)
            if d.empty:
                ax.text(0.5, 0.5, text("uncertainty.f_flat", lang), transform=ax.transAxes, ha="center",
                        va="center", fontsize=8, color="0.35", style="italic")
                ax.set_xticks([])
                continue
            lows, highs = [0.0], [1.0]
            for k, (ix, off) in enumerate((("S1", -h / 2), ("ST", h / 2))):
                r = pd.DataFrame([d.loc[(p, ix)] if (p, ix) in d.index else pd.Series(dtype=float) for p in params],
                                 columns=["value", "ci_low", "ci_high"])
                v = r["value"].to_numpy(float)
                err = np.clip(np.vstack([v - r["ci_low"].to_numpy(float), r["ci_high"].to_numpy(float) - v]), 0, None)
                ax.barh(ypos + off, np.nan_to_num(v), h, xerr=np.nan_to_num(err), color=PALETTE[k],
                        hatch=HATCHES[2 * k], edgecolor="black", linewidth=0.4,
                        error_kw={"elinewidth": 0.8, "capsize": 1.5, "ecolor": "0.2"},
                        label=text(f"uncertainty.{ix.lower()}", lang))
                lows.append(np.nanmin(r["ci_low"].to_numpy(float), initial=0.0))
                highs.append(np.nanmax(r["ci_high"].to_numpy(float), initial=1.0))
            ax.axvline(0, color="0.15", linewidth=0.9)
            ax.set_xlim(min(lows) - 0.05, max(highs) + 0.05)
            ax.grid(axis="x", color="0.92", linewidth=0.6)
            ax.set_axisbelow(True)
            ax.set_xlabel(_wrap(text("uncertainty.f_sobol_x", lang), 48, lang), fontsize=7.5)
        axes[0].set_yticks(ypos, [_wrap(uncertain_param_label(p, lang), 30, lang) for p in params])
        axes[0].set_ylim(len(params) - 0.5, -0.5)
        handles = [Patch(facecolor=PALETTE[k], hatch=HATCHES[2 * k], edgecolor="black", linewidth=0.4,
                         label=text(f"uncertainty.{ix}", lang)) for k, ix in enumerate(("s1", "st"))]
        axes[-1].legend(handles=handles, loc="lower right", fontsize=7, frameon=True, framealpha=0.9)
        title = text("uncertainty.f_sobol_title", lang, ind=indicator_label(indicator, lang))
        return _finish(fig, title, source or "")


# --------------------------------------------------------------------------- (c) robustness
def robustness_chart(robustness: pd.DataFrame, *, indicators: Sequence[str] | None = None, lang: str = "en",
                     source: str | None = None, threshold: float = ROBUST) -> Figure:
    """How sure each ranking is: for each scenario (a panel) and indicator (a row; default the
    coverage indicators), the share of the sampled worlds in which the scenario beats the
    baseline (filled circle) and is worse (open square), with 90 % intervals, the 50 % line and
    the band at or above ``threshold``; rows where nothing changes in any world say so."""
    with style(lang):
        rob = robustness
        inds = list(indicators) if indicators else [i for i in dict.fromkeys(rob["indicator"].astype(str))
                                                    if i.startswith(COVERAGE)]
        scens = list(dict.fromkeys(rob["scenario"].astype(str)))
        base = str(rob["baseline"].iloc[0]) if len(rob) else "?"
        ncols = max(1, min(len(scens), 3))
        nrows = max(1, math.ceil(len(scens) / ncols))
        row_h, key_h = 0.32 * max(len(inds), 2) + 0.7, 0.25
        fig = _figure(1.7 + key_h + nrows * row_h, lang)
        # a thin first row holds the legend (a figure legend would collide with the title or source)
        gs = fig.add_gridspec(nrows + 1, ncols, height_ratios=[key_h / row_h] + [1.0] * nrows)
        key_ax = fig.add_subplot(gs[0, :])
        key_ax.set_axis_off()
        axes = gs[1:, :].subgridspec(nrows, ncols).subplots(squeeze=False, sharex=True, sharey=True).ravel()
        ypos = np.arange(len(inds))
        for ax in axes[len(scens):]:
            ax.set_visible(False)
        for ax, scen in zip(axes, scens, strict=False):
            r = rob[rob["scenario"].astype(str) == scen].set_index("indicator").reindex(inds)
            ax.axvspan(100 * threshold, 101, color="0.9", linewidth=0, zorder=0)
            ax.axvline(50, color="0.45", linewidth=0.9, linestyle="--", zorder=1)
            for which, off, fmt, color, face in (("better", -0.15, "o", PALETTE[0], None),
                                                 ("worse", 0.15, "s", PALETTE[3], "white")):
                p = 100 * r[f"p_{which}"].to_numpy(float)
                lo = 100 * r[f"p_{which}_low"].to_numpy(float)
                hi = 100 * r[f"p_{which}_high"].to_numpy(float)
                keep = np.isfinite(p) & ~((r["p_better"] == 0) & (r["p_worse"] == 0)).to_numpy()
                err = np.clip(np.nan_to_num(np.vstack([p - lo, hi - p])), 0, None)
                ax.errorbar(p[keep], ypos[keep] + off, xerr=err[:, keep], fmt=fmt, color=color, markersize=4.5,
                            capsize=2, elinewidth=1.0, markeredgecolor=color if face else "black",
                            markeredgewidth=0.8 if face else 0.4, markerfacecolor=face or color, zorder=3)
            for k, ind in enumerate(inds):
                row = r.loc[ind]
                if pd.notna(row["p_better"]) and row["p_better"] == 0 and row["p_worse"] == 0:
                    ax.text(50, k, text("uncertainty.unchanged_mark", lang), ha="center", va="center",
                            fontsize=6.5, color="0.35", style="italic",
                            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"})
            for yl in ypos[:-1] + 0.5:
                ax.axhline(yl, color="0.92", linewidth=0.6, zorder=0)
            ax.set_title(_wrap(scen, 40, lang), fontsize=9)
            ax.set_xlim(-3, 103)
            ax.set_xticks([0, 25, 50, 75, 100])
            ax.set_xlabel(_wrap(text("uncertainty.f_robust_x", lang), 36, lang), fontsize=7.5)
        axes[0].set_yticks(ypos, [_wrap(indicator_label(i, lang), 34, lang) for i in inds])
        axes[0].set_ylim(len(inds) - 0.5, -0.5)
        handles = [Line2D([], [], marker="o", color=PALETTE[0], markeredgecolor="black", markeredgewidth=0.4,
                          linestyle="-", label=text("uncertainty.better", lang, base=base)),
                   Line2D([], [], marker="s", color=PALETTE[3], markerfacecolor="white", linestyle="-",
                          label=text("uncertainty.worse", lang, base=base)),
                   Patch(facecolor="0.9", label=text("uncertainty.threshold", lang, t=100 * threshold))]
        key_ax.legend(handles=handles, loc="center", ncols=3, frameon=False, fontsize=7.5)
        return _finish(fig, text("uncertainty.f_robust_title", lang, base=base), source or "")


# --------------------------------------------------------------------------- (d) what to measure first
def measure_first_chart(measure_first: pd.DataFrame, *, headline: Mapping[str, str] | None = None,
                        lang: str = "en", source: str | None = None, top: int = 8) -> Figure:
    """What to measure first: for each scenario (a panel), the EVPPI of each parameter with a
    positive one (at most ``top``) as a share of the EVPI on the scenario's headline indicator
    (default :func:`headline_indicators`); a scenario whose ranking is the same in every world
    says so."""
    with style(lang):
        mf = measure_first
        scens = list(dict.fromkeys(mf["scenario"].astype(str)))
        headline = dict(headline) if headline is not None else headline_indicators(mf)
        shown = {scen: _carriers(mf, scen, headline.get(scen), top) for scen in scens}
        n = max(len(scens), 1)
        ncols = min(n, 2)
        nrows = math.ceil(n / ncols)
        n_params = max([len(g) for g in shown.values()] + [2])
        fig = _figure(1.4 + nrows * (0.3 * n_params + 0.9), lang)
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax in axes[len(scens):]:
            ax.set_visible(False)
        for k, (ax, scen) in enumerate(zip(axes, scens, strict=False)):
            ind, g = headline.get(scen), shown[scen]
            title = scen if ind is None else text("uncertainty.f_first_panel", lang, scen=scen,
                                                  ind=indicator_label(ind, lang),
                                                  v=amount(ind, at_stake(mf, scen, ind), lang))
            ax.set_title(_wrap(title, 40, lang), fontsize=8.5)
            if g.empty:
                note = "f_first_none" if ind is None else "f_first_joint"
                ax.text(0.5, 0.5, _wrap(text(f"uncertainty.{note}", lang), 40, lang), transform=ax.transAxes,
                        ha="center", va="center", fontsize=7, color="0.35", style="italic")
                ax.set_xticks([])
                ax.set_yticks([])
                continue
            share = 100 * g["evppi_share"].to_numpy(float)
            ypos = np.arange(len(g))
            bars = ax.barh(ypos, share, 0.6, color=PALETTE[k % len(PALETTE)], edgecolor="black", linewidth=0.4)
            for b in bars.patches:
                b.set_hatch(HATCHES[k % len(HATCHES)])
            for yk, v in zip(ypos, share, strict=True):
                ax.text(v + 1.5, yk, f"{v:.0f} %", va="center", fontsize=6.5)
            ax.set_yticks(ypos, [_wrap(uncertain_param_label(p, lang), 30, lang) for p in g["parameter"]])
            ax.set_ylim(n_params - 0.5, -0.5)
            ax.set_xlim(0, 115)
            ax.set_xticks([0, 25, 50, 75, 100])
            ax.grid(axis="x", color="0.92", linewidth=0.6)
            ax.set_axisbelow(True)
            ax.set_xlabel(_wrap(text("uncertainty.f_first_x", lang), 44, lang), fontsize=7.5)
        return _finish(fig, text("uncertainty.f_first_title", lang), source or "")


def at_stake(mf: pd.DataFrame, scen: str, ind: str) -> float:
    """The EVPI of ``scen`` on ``ind`` (what the ranking puts at stake; 0 when there is no row)."""
    g = mf[(mf["scenario"].astype(str) == scen) & (mf["indicator"] == ind)]
    return float(g["evpi"].max()) if len(g) else 0.0


def _carriers(mf: pd.DataFrame, scen: str, ind: str | None, top: int) -> pd.DataFrame:
    """The (at most ``top``) parameters with a positive EVPPI on ``ind``, largest first."""
    if ind is None:
        return mf.iloc[0:0]
    g = mf[(mf["scenario"].astype(str) == scen) & (mf["indicator"] == ind) & (mf["evppi"] > EPS)]
    return g.sort_values("rank").head(top)
