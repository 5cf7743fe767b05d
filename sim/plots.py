"""Figures for planners: one plain function per figure, each taking pandas tables of run outputs
and returning a :class:`matplotlib.figure.Figure` (no pyplot, no global state; the Agg canvas
is used when saving, whatever the backend).

Tables (read by :mod:`sim.runs` from the files a run writes; the numbers they show come from
:mod:`sim.analysis`, the words from :mod:`sim.labels`):

* ``runs``: the runs table of :func:`sim.runs.runs_table` (one row per run);
* ``cmp``: the comparison table of :func:`sim.compare.compare`;
* ``counties`` / ``monthly``: a run's ``counties.parquet`` / ``monthly.parquet``, or several
  runs' stacked, with the run's ``scenario``, ``seed``, ``scale``, ``package_version``,
  ``git_commit`` (and ``group``) as extra columns.

Every figure has a title naming what it shows, axes labelled with units, and a source line
(scenario, seeds, scale, version; text artist with ``gid="source"``) at its foot. Colours are the
Okabe-Ito colour-blind-safe palette paired with distinct markers, line styles and hatches, and
the sequential maps use ``cividis`` (monotonic lightness), so every figure reads in greyscale.
``lang="zh"`` labels everything in Chinese (it needs a CJK font, see :func:`cjk_font`).
"""

from __future__ import annotations

import contextlib
import functools
import re
import shutil
import subprocess
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim import maps
from sim.analysis import (
    baseline_mask,
    binding_categories,
    cost_column,
    county_values,
    group_labels,
    incremental_costs,
    lorenz_points,
    mean_gini,
    prefecture_values,
    quantiles,
    staffing_key,
    sweep_grid,
)
from sim.calendar import campaigns as campaigns_of
from sim.labels import (
    MONTHLY_SERIES,
    campaign_label,
    county_name,
    fmt_multiplier,
    indicator_label,
    param_label,
    seeds_text,
    text,
)
from sim.runs import indicator_name

# Okabe & Ito (2008), ordered so neighbours differ in lightness as well as hue.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#000000", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)))
HATCHES = ("", "///", "...", "xxx", "\\\\\\", "ooo", "++", "--")
CMAP = "cividis"
DPI = 300
WIDTH = 7.5
"""Figure width in inches (fits an A4 page with margins)."""

# --------------------------------------------------------------------------- language and fonts
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
                "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC",
                "Hiragino Sans GB", "Noto Serif CJK SC", "Droid Sans Fallback", "AR PL UMing CN",
                "Noto Sans CJK JP", "Noto Sans CJK TC")


def _has_glyphs(path: str, chars: str = "湖南县") -> bool:
    from matplotlib.ft2font import FT2Font

    try:
        f = FT2Font(path)
        return all(f.get_char_index(ord(ch)) for ch in chars)
    except (OSError, RuntimeError, ValueError):
        return False


@functools.cache
def cjk_font() -> str | None:
    """The name of an installed font that draws Chinese, or None.

    Looks through matplotlib's font list first, then (for fonts installed after matplotlib
    built its cache) through ``fc-list :lang=zh``, registering what it finds.
    """
    from matplotlib import font_manager

    def search() -> str | None:
        by_name = {}
        for f in font_manager.fontManager.ttflist:
            by_name.setdefault(f.name, f.fname)
        for fam in CJK_FAMILIES:
            if fam in by_name and _has_glyphs(by_name[fam]):
                return fam
        for name, path in sorted(by_name.items()):
            if re.search(r"CJK|Han Sans|WenQuanYi|Hei|Song|Kai|Ming", name) and _has_glyphs(path):
                return name
        return None

    found = search()
    if found or not shutil.which("fc-list"):
        return found
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True,
                             timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        path = line.split(":")[0].strip()
        if path:
            with contextlib.suppress(Exception):
                font_manager.fontManager.addfont(path)
    return search()


@contextlib.contextmanager
def style(lang: str = "en") -> Iterator[None]:
    """rc settings of every figure (fonts for ``lang``, sizes, deterministic SVG)."""
    fonts = ["DejaVu Sans"]
    if lang == "zh":
        cjk = cjk_font()
        if cjk:
            fonts.append(cjk)
    rc = {"font.family": fonts, "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9,
          "xtick.labelsize": 8, "ytick.labelsize": 8, "legend.fontsize": 8, "legend.title_fontsize": 8,
          "axes.spines.top": False, "axes.spines.right": False, "hatch.linewidth": 0.6,
          "svg.hashsalt": "outreach-sim", "svg.fonttype": "path", "figure.dpi": 100}
    with mpl.rc_context(rc):
        yield


def _figure(height: float, lang: str, width: float = WIDTH) -> Figure:
    fig = Figure(figsize=(width, height), layout=ConstrainedLayoutEngine(h_pad=0.06, w_pad=0.06))
    fig._outreach_lang = lang
    return fig


def _wrap(line: str, width: int, lang: str = "en") -> str:
    """Break ``line`` into lines of at most ``width`` characters (Chinese characters count double)."""
    if lang == "zh":
        width = max(width // 2 + width // 6, 10)
    if len(line) <= width:
        return line
    return "\n".join(textwrap.wrap(line, width, break_long_words=True, break_on_hyphens=False))


def _finish(fig: Figure, title: str, source: str) -> Figure:
    lang = getattr(fig, "_outreach_lang", "en")
    if lang != "zh" and title:
        title = title[0].upper() + title[1:]
    fig.suptitle(_wrap(title, int(fig.get_figwidth() * 10.5), lang), fontsize=11, fontweight="bold")
    # the source line is the figure's supxlabel, so constrained layout keeps room for it
    src = fig.supxlabel(_wrap(source, int(fig.get_figwidth() * 19), lang), x=0.01, ha="left", fontsize=6.5,
                        color="0.25")
    src.set_gid("source")
    return fig


def save(fig: Figure, out_dir: str | Path, name: str) -> list[Path]:
    """Write ``name.png`` (300 dpi) and ``name.svg`` into ``out_dir``; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.png", out / f"{name}.svg"]
    with style(getattr(fig, "_outreach_lang", "en")):
        fig.savefig(paths[0], dpi=DPI, facecolor="white", metadata={"Software": None})
        fig.savefig(paths[1], facecolor="white", metadata={"Date": None, "Creator": None})
    return paths


# --------------------------------------------------------------------------- table helpers
def source_line(table: pd.DataFrame, lang: str = "en", extra: str = "") -> str:
    """'Source: outreach-sim <version> (<commit>) simulation; scenarios ...; seeds ...; scale ...'."""
    def uniq(col):
        return sorted({str(x) for x in table[col].dropna()}) if col in table.columns else []

    versions = uniq("package_version")
    commits = [c[:7] for c in uniq("git_commit")]
    version = "outreach-sim " + ("/".join(versions) if versions else "?")
    if commits:
        version += f" ({'/'.join(commits[:3])}{'...' if len(commits) > 3 else ''})"
    scen = uniq("scenario")
    scen_text = text("figure.scenario_one" if len(scen) == 1 else "figure.scenario_many", lang,
                     names=", ".join(scen) or "?")
    seeds = seeds_text(table["seed"]) if "seed" in table.columns else "?"
    scales = uniq("scale")
    line = text("figure.source", lang, version=version, scenarios=scen_text, seeds=seeds,
                scale="/".join(scales) or "?")
    return line + (f"; {extra}" if extra else "")


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce")


def _pct_axis(ax, axis: str = "y") -> None:
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(mpl.ticker.FormatStrFormatter("%g"))


# --------------------------------------------------------------------------- 1 scenario comparison
def scenario_comparison(cmp: pd.DataFrame, *, indicators: Sequence[str] | None = None, lang: str = "en",
                        source: str | None = None, runs: pd.DataFrame | None = None) -> Figure:
    """Figure 1: each coverage indicator's paired difference from the baseline, per scenario
    (mean and 90 % interval across seeds); one error-bar series per non-baseline group."""
    with style(lang):
        inds = list(indicators) if indicators else [i for i in dict.fromkeys(cmp["indicator"])
                                                    if str(i).startswith("coverage.")]
        c = cmp[cmp["indicator"].isin(inds)]
        base_groups = c.loc[c["is_baseline"].astype(bool), "group"].unique()
        others = c[~c["is_baseline"].astype(bool) & (c["n_pairs"] > 0)]
        groups = list(dict.fromkeys(others["group"]))
        labels = group_labels(c.drop_duplicates("group"))
        base_label = ", ".join(labels.get(g, g) for g in base_groups) or "baseline"
        n_pairs = sorted({int(x) for x in others["n_pairs"]})
        n_text = (str(n_pairs[0]) if len(n_pairs) == 1 else f"{n_pairs[0]}-{n_pairs[-1]}") if n_pairs else "0"
        fig = _figure(1.6 + 0.32 * len(inds) * max(1.0, len(groups) ** 0.5), lang)
        ax = fig.add_subplot()
        pos = np.arange(len(inds), dtype=float)
        width = 0.7
        offs = (np.arange(len(groups)) - (len(groups) - 1) / 2) * (width / max(len(groups), 1))
        for k, g in enumerate(groups):
            r = others[others["group"] == g].set_index("indicator").reindex(inds)
            x = 100 * r["diff_mean"].to_numpy(float)
            err = np.vstack([x - 100 * r["diff_p5"].to_numpy(float), 100 * r["diff_p95"].to_numpy(float) - x])
            ax.errorbar(x, pos + offs[k], xerr=np.clip(err, 0, None), fmt=MARKERS[k % len(MARKERS)],
                        color=PALETTE[k % len(PALETTE)], markersize=5, capsize=2.5, elinewidth=1.2,
                        markeredgecolor="black", markeredgewidth=0.4, label=labels.get(g, g))
        ax.axvline(0, color="0.15", linewidth=1.0, zorder=1.5)
        for y in pos[:-1] + 0.5:
            ax.axhline(y, color="0.9", linewidth=0.6, zorder=0)
        ax.set_yticks(pos, [indicator_label(i, lang) for i in inds])
        ax.set_ylim(len(inds) - 0.5, -0.5)
        ax.grid(axis="x", color="0.9", linewidth=0.6)
        ax.set_xlabel(_wrap(text("figure.f1_x", lang, base=base_label, n=n_text), 80, lang))
        ax.set_axisbelow(True)
        if groups:
            ax.legend(title=text("figure.scenario", lang), loc="best", frameon=True, framealpha=0.9)
        if source is None:
            source = source_line(runs if runs is not None else c, lang)
        return _finish(fig, text("figure.f1_title", lang, base=base_label), source)


# --------------------------------------------------------------------------- 2 dose-response
def dose_response(runs: pd.DataFrame, indicator: str, *, funding: str = "param.funding.multiplier",
                  staffing: str | None = None, lang: str = "en", source: str | None = None) -> Figure:
    """Figure 2: ``indicator`` (in %) against the funding multiplier, one line per staffing level
    (mean of seeds) with a 5-95 % band across seeds."""
    with style(lang):
        col = indicator if indicator in runs.columns else f"coverage.{indicator_name(indicator)}"
        skey = staffing_key(runs, staffing)
        d = runs.assign(_f=_num(runs[funding]), _s=_num(runs[skey]) if skey else 0.0)
        fig = _figure(4.6, lang)
        ax = fig.add_subplot()
        n_seeds = int(d.groupby(["_s", "_f"])["seed"].nunique().max()) if "seed" in d.columns else 1
        for k, (lvl, g) in enumerate(sorted(d.groupby("_s"), key=lambda t: t[0])):
            s = g.groupby("_f")[col].apply(quantiles).unstack().sort_index()
            color = PALETTE[k % len(PALETTE)]
            label = f"{lvl:g}" if skey else text("figure.one_level", lang)
            ax.plot(s.index, 100 * s["mean"], color=color, marker=MARKERS[k % len(MARKERS)],
                    linestyle=LINESTYLES[k % len(LINESTYLES)], markeredgecolor="black", markeredgewidth=0.4,
                    label=label)
            if n_seeds > 1:
                ax.fill_between(s.index, 100 * s["p5"], 100 * s["p95"], color=color, alpha=0.2, linewidth=0)
        lo, hi = d["_f"].min(), d["_f"].max()
        if lo <= 1.0 <= hi:
            ax.axvline(1.0, color="0.4", linestyle=":", linewidth=0.9, label="_ref", zorder=0)
            ax.annotate(text("figure.ref_2021", lang), (1.0, 1), xycoords=("data", "axes fraction"), xytext=(3, -3),
                        textcoords="offset points", ha="left", va="top", fontsize=7, color="0.3")
        ax.set_xlabel(param_label(funding, lang))
        ax.set_ylabel(_wrap(text("figure.f2_y", lang, ind=indicator_label(col, lang)), 50, lang))
        fx = sorted(d["_f"].dropna().unique())
        ax.set_xticks(fx, [fmt_multiplier(x) for x in fx])
        ax.grid(color="0.92", linewidth=0.6)
        _pct_axis(ax)
        leg_title = param_label(skey, lang) if skey else None
        ax.legend(title=leg_title, loc="best", frameon=True, framealpha=0.9)
        if n_seeds > 1:
            ax.text(0.99, 0.01, text("figure.f2_band", lang, n=n_seeds), transform=ax.transAxes, ha="right",
                    va="bottom", fontsize=7, color="0.3")
        return _finish(fig, text("figure.f2_title", lang, ind=indicator_label(col, lang)),
                       source or source_line(runs, lang))


# --------------------------------------------------------------------------- 3 heatmap
def _edges(levels: np.ndarray) -> np.ndarray:
    levels = np.asarray(levels, dtype=float)
    if len(levels) == 1:
        return np.array([levels[0] - 0.5, levels[0] + 0.5])
    mid = (levels[1:] + levels[:-1]) / 2
    return np.concatenate([[levels[0] - (mid[0] - levels[0])], mid, [levels[-1] + (levels[-1] - mid[-1])]])


def heatmap(runs: pd.DataFrame, indicator: str, *, target: float = 0.8,
            funding: str = "param.funding.multiplier", staffing: str | None = None, lang: str = "en",
            source: str | None = None) -> Figure:
    """Figure 3: mean ``indicator`` (in %) over funding (x) by staffing (y) cells, each cell
    labelled, with the contour where the mean crosses ``target`` (a fraction, 0.8 = 80 %)."""
    with style(lang):
        col = indicator if indicator in runs.columns else f"coverage.{indicator_name(indicator)}"
        skey = staffing_key(runs, staffing)
        grid = sweep_grid(runs, col, skey, funding) * 100
        xs, ys, z = grid.columns.to_numpy(float), grid.index.to_numpy(float), grid.to_numpy(float)
        fig = _figure(4.8, lang)
        ax = fig.add_subplot()
        vmin, vmax = np.nanmin(z), np.nanmax(z)
        if vmax - vmin < 1e-9:
            vmin, vmax = vmin - 1, vmax + 1
        norm = Normalize(vmin, vmax)
        mesh = ax.pcolormesh(_edges(xs), _edges(ys), z, cmap=CMAP, norm=norm, edgecolors="white",
                             linewidth=0.8)
        cmap = mpl.colormaps[CMAP]
        for i, y in enumerate(ys):
            for j, x in enumerate(xs):
                if np.isfinite(z[i, j]):
                    dark = sum(cmap(norm(z[i, j]))[:3]) / 3 < 0.5
                    ax.text(x, y, f"{z[i, j]:.1f}", ha="center", va="center", fontsize=8,
                            color="white" if dark else "black")
        t = 100 * target
        handles = []
        if z.shape[0] >= 2 and z.shape[1] >= 2 and vmin < t < vmax:
            cs = ax.contour(xs, ys, z, levels=[t], colors="black", linewidths=2.0)
            cs.set(path_effects=[patheffects.withStroke(linewidth=4, foreground="white")])
            handles.append(Line2D([], [], color="black", linewidth=2, label=text("figure.target", lang, target=t)))
            note = None
        elif np.nanmax(z) < t:
            note = text("figure.target_never", lang, target=t)
        elif np.nanmin(z) >= t:
            note = text("figure.target_always", lang, target=t)
        else:
            note = None
        if handles:
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, -0.12), frameon=False)
        if note:
            ax.set_title(note, fontsize=8, color="0.25")
        ax.set_xticks(xs, [fmt_multiplier(x) for x in xs])
        ax.set_yticks(ys, [f"{y:g}" for y in ys])
        ax.set_xlabel(param_label(funding, lang))
        ax.set_ylabel(param_label(skey, lang) if skey else "")
        fig.colorbar(mesh, ax=ax, label=_wrap(text("figure.f3_cbar", lang, ind=indicator_label(col, lang)), 45, lang),
                     shrink=0.9)
        return _finish(fig, text("figure.f3_title", lang, ind=indicator_label(col, lang), target=t),
                       source or source_line(runs, lang))


# --------------------------------------------------------------------------- 4 maps
def coverage_map(counties: pd.DataFrame, indicator: str, *, lang: str = "en",
                 source: str | None = None) -> Figure:
    """Figure 4: Hunan's 122 counties coloured by ``indicator`` (mean of the runs, in %), with
    the lowest and highest county named."""
    with style(lang):
        col = f"coverage_{indicator_name(indicator)}"
        v = county_values(counties, col)
        vals = 100 * v["value"]
        lo_v, hi_v = np.floor(vals.min()), np.ceil(vals.max())
        norm = Normalize(lo_v, hi_v if hi_v > lo_v else lo_v + 1)
        cmap = mpl.colormaps[CMAP]
        colors = {int(code): cmap(norm(x)) for code, x in vals.items() if np.isfinite(x)}
        fig = _figure(6.6, lang, width=6.6)
        ax = fig.add_subplot()
        maps.draw_counties(ax, colors, edgecolor="white", linewidth=0.3)
        maps.scale_bar(ax)
        sm = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
        fig.colorbar(sm, ax=ax, shrink=0.6,
                     label=_wrap(text("figure.f4_cbar", lang, ind=indicator_label(col, lang)), 40, lang))
        shapes = {c.adcode: c.path for c in maps.load_counties()}
        x0, y0, x1, y1 = maps.bounds()
        used = set()
        for key, idx in (("lowest", vals.idxmin()), ("highest", vals.idxmax())):
            row = v.loc[idx]
            ties = int(np.isclose(vals, vals.loc[idx]).sum()) - 1
            name = county_name(row, lang) + (text("figure.and_others", lang, n=ties) if ties else "")
            if key == "highest" and ties:
                continue
            ext = shapes[int(idx)].get_extents()
            cx, cy = (ext.x0 + ext.x1) / 2, (ext.y0 + ext.y1) / 2
            # the label goes in the top corner on its county's side (the map's top corners are empty)
            east = cx > (x0 + x1) / 2
            xy = (0.98 if east else 0.02, 0.92 if east in used else 0.98)
            used.add(east)
            ann = ax.annotate(text(f"figure.{key}", lang, name=name, v=100 * row["value"]), xy=(cx, cy), xytext=xy,
                              textcoords="axes fraction", ha="left" if xy[0] < 0.5 else "right", va="top",
                              fontsize=7.5, arrowprops={"arrowstyle": "->", "color": "black", "lw": 0.8},
                              bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "0.6"})
            ann.arrow_patch.set_path_effects([patheffects.withStroke(linewidth=2.2, foreground="white")])
        src = source or source_line(counties, lang, extra=text("map.attribution", lang))
        return _finish(fig, text("figure.f4_title", lang, ind=indicator_label(col, lang)), src)


BINDING_STYLE = {"bind_money": ("#E69F00", ""), "bind_hands": ("#0072B2", "///"),
                 "bind_both": ("#D55E00", "xxx"), "bind_none": ("#F2F2F2", "")}


def binding_map(counties: pd.DataFrame, *, threshold: float = 0.5, lang: str = "en",
                source: str | None = None) -> Figure:
    """Figure 4b: which limit bound in each county (money, hands, both, neither), each class
    with its own colour and hatch, counts in the legend."""
    with style(lang):
        cat = binding_categories(counties, threshold)
        colors = {int(c): BINDING_STYLE[k][0] for c, k in cat.items()}
        hatches = {int(c): BINDING_STYLE[k][1] for c, k in cat.items()}
        fig = _figure(6.6, lang, width=6.6)
        ax = fig.add_subplot()
        maps.draw_counties(ax, colors, hatches=hatches, edgecolor="0.35", linewidth=0.3)
        maps.scale_bar(ax)
        counts = cat.value_counts()
        handles = [Patch(facecolor=c, hatch=h, edgecolor="0.35",
                         label=f"{text(f'figure.{k}', lang)} ({counts.get(k, 0)})")
                   for k, (c, h) in BINDING_STYLE.items()]
        note = _wrap(text("figure.f4b_note", lang, t=100 * threshold), 30, lang)
        leg = ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False,
                        title=note, alignment="left")
        leg.get_title().set_fontsize(7)
        src = source or source_line(counties, lang, extra=text("map.attribution", lang))
        return _finish(fig, text("figure.f4b_title", lang), src)


# --------------------------------------------------------------------------- 5 prefecture bars
def _short_prefecture(name: str) -> str:
    """'Xiangxi Tujia and Miao Autonomous Prefecture' -> 'Xiangxi' (Chinese names are kept)."""
    return name.split()[0] if "Autonomous" in name else name


def prefecture_bars(counties_a: pd.DataFrame, counties_b: pd.DataFrame, indicator: str, *, label_a: str,
                    label_b: str, lang: str = "en", source: str | None = None) -> Figure:
    """Figure 5: ``indicator`` by prefecture for scenario A and B (horizontal bars, 90 % interval
    across seeds), with B - A written beside each pair."""
    with style(lang):
        a = prefecture_values(counties_a, indicator, lang)
        b = prefecture_values(counties_b, indicator, lang).reindex(a.index)
        order = a["mean"].sort_values(ascending=False).index
        a, b = a.loc[order], b.loc[order]
        fig = _figure(1.4 + 0.36 * len(order), lang)
        ax = fig.add_subplot()
        y = np.arange(len(order))
        h = 0.4
        for k, (t, lab, off) in enumerate(((a, label_a, -h / 2), (b, label_b, h / 2))):
            x = 100 * t["mean"].to_numpy(float)
            err = np.vstack([x - 100 * t["p5"].to_numpy(float), 100 * t["p95"].to_numpy(float) - x])
            err = np.clip(err, 0, None)
            ax.barh(y + off, x, h, xerr=err if (t["n"] > 1).any() else None, color=PALETTE[k],
                    hatch=HATCHES[2 * k], edgecolor="black", linewidth=0.4, label=lab,
                    error_kw={"elinewidth": 0.8, "capsize": 1.5, "ecolor": "0.2"})
        diff = 100 * (b["mean"] - a["mean"]).to_numpy(float)
        right = 100 * np.fmax(a["p95"], b["p95"]).to_numpy(float)
        for yi, (dv, r) in enumerate(zip(diff, right, strict=True)):
            if np.isfinite(dv):
                ax.text(r + 0.6, yi, f"{dv:+.1f}", va="center", ha="left", fontsize=7)
        ax.set_yticks(y, [_short_prefecture(n) for n in order])
        ax.set_ylim(len(order) - 0.4, -0.6)
        ax.set_xlim(0, np.nanmax(right) * 1.12 + 2)
        ax.set_xlabel(_wrap(text("figure.f5_x", lang, ind=indicator_label(indicator, lang)), 80, lang))
        ax.grid(axis="x", color="0.92", linewidth=0.6)
        ax.set_axisbelow(True)
        ncols = 2 if len(label_a) + len(label_b) < 70 else 1
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=ncols, frameon=False,
                  title=_wrap(text("figure.f5_diff", lang, a=label_a, b=label_b), 90, lang), alignment="left")
        src = source or source_line(pd.concat([counties_a, counties_b]), lang)
        title = text("figure.f5_title", lang, ind=indicator_label(indicator, lang), a=label_a, b=label_b)
        return _finish(fig, title, src)


# --------------------------------------------------------------------------- 6 cumulative reach
def campaign_months(monthly: pd.DataFrame) -> dict[int, tuple[str, ...]]:
    """Month of the simulation -> campaigns running (from ``campaigns`` or the calendar)."""
    m = monthly.drop_duplicates("month").sort_values("month")
    out = {}
    for _, r in m.iterrows():
        if "campaigns" in m.columns and isinstance(r["campaigns"], str):
            c = tuple(x for x in r["campaigns"].split(",") if x)
        else:
            moy = int(r["month_of_year"]) if "month_of_year" in m.columns else (int(r["month"]) - 1) % 12 + 1
            c = campaigns_of(moy)
        if c:
            out[int(r["month"])] = c
    return out


def cumulative_reach(monthly: pd.DataFrame, *, lang: str = "en", source: str | None = None) -> Figure:
    """Figure 6: cumulative share of eligible families (youth) reached by month, one line per
    series (median of seeds, 5-95 % band), campaign months shaded and named."""
    with style(lang):
        series = [c for c in MONTHLY_SERIES if c in monthly.columns]
        n_seeds = monthly["seed"].nunique() if "seed" in monthly.columns else 1
        fig = _figure(5.4, lang, width=WIDTH)
        ax = fig.add_subplot()
        camp = campaign_months(monthly)
        months = np.sort(monthly["month"].unique())
        runs_of_months = []  # (first, last, campaigns) of consecutive months with the same campaigns
        for mo in months:
            c = camp.get(int(mo))
            if c:
                ax.axvspan(mo - 0.5, mo + 0.5, color="0.9", linewidth=0, zorder=0, gid="campaign")
                if runs_of_months and runs_of_months[-1][2] == c and runs_of_months[-1][1] == mo - 1:
                    runs_of_months[-1][1] = mo
                else:
                    runs_of_months.append([mo, mo, c])
        for first, last, c in runs_of_months:
            ax.text((first + last) / 2, 1.01, "\n".join(campaign_label(x, lang) for x in c),
                    transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=6.5, color="0.25")
        for k, s in enumerate(series):
            q = monthly.groupby("month")[s].apply(quantiles).unstack().sort_index()
            med = monthly.groupby("month")[s].median().sort_index()
            color = PALETTE[k % len(PALETTE)]
            ax.plot(med.index, 100 * med, color=color, marker=MARKERS[k % len(MARKERS)], markersize=4,
                    linestyle=LINESTYLES[k % len(LINESTYLES)], markeredgecolor="black", markeredgewidth=0.3,
                    label=text(f"series.{s}", lang))
            if n_seeds > 1:
                ax.fill_between(q.index, 100 * q["p5"], 100 * q["p95"], color=color, alpha=0.2, linewidth=0)
        ax.set_xlim(months.min() - 0.5, months.max() + 0.5)
        ax.set_ylim(0, 100)
        step = 1 if len(months) <= 24 else 3
        ax.set_xticks(months[::step])
        ax.set_xlabel(text("figure.f6_x", lang))
        ax.set_ylabel(text("figure.f6_y", lang))
        ax.grid(axis="y", color="0.92", linewidth=0.6)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=2, frameon=False,
                  title=text("figure.f6_band", lang, n=n_seeds) if n_seeds > 1 else None)
        return _finish(fig, text("figure.f6_title", lang), source or source_line(monthly, lang))


# --------------------------------------------------------------------------- 7 Lorenz
def lorenz(county_tables: Mapping[str, pd.DataFrame], indicator: str, *, lang: str = "en",
           source: str | None = None) -> Figure:
    """Figure 7: Lorenz curve of county coverage (mean of each label's runs), one per label, with
    its Gini coefficient (mean of the runs' Gini coefficients, as in ``summary.json``) and the
    lowest county named."""
    with style(lang):
        col = f"coverage_{indicator_name(indicator)}"
        fig = _figure(5.6, lang, width=6.4)
        ax = fig.add_subplot()
        ax.plot([0, 100], [0, 100], color="0.45", linestyle=":", linewidth=1, label=text("figure.f7_equal", lang))
        first = None
        for k, (label, c) in enumerate(county_tables.items()):
            v = county_values(c, col).sort_values("value")
            x, y = lorenz_points(v["value"])
            low = v.iloc[0]
            g_mean = mean_gini(c, col)
            ax.plot(100 * x, 100 * y, color=PALETTE[k % len(PALETTE)],
                    linestyle=LINESTYLES[k % len(LINESTYLES)],
                    marker=MARKERS[k % len(MARKERS)], markevery=max(len(x) // 8, 1), markersize=4,
                    markeredgecolor="black", markeredgewidth=0.3,
                    label=text("figure.f7_label", lang, label=label, g=g_mean,
                             name=county_name(low, lang), v=100 * low["value"]))
            if first is None:
                first = (x, y, low)
        if first is not None:
            x, y, low = first
            ax.annotate(text("figure.lowest", lang, name=county_name(low, lang), v=100 * low["value"]),
                        xy=(100 * x[1], 100 * y[1]), xytext=(0.4, 0.1), textcoords="axes fraction",
                        fontsize=7.5, arrowprops={"arrowstyle": "->", "linewidth": 0.8},
                        bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "0.6"})
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.set_aspect("equal")
        ax.set_xlabel(text("figure.f7_x", lang))
        ax.set_ylabel(text("figure.f7_y", lang))
        ax.grid(color="0.92", linewidth=0.6)
        ax.legend(loc="upper left", frameon=True, framealpha=0.95)
        src = source or source_line(pd.concat(list(county_tables.values())), lang)
        return _finish(fig, text("figure.f7_title", lang, ind=indicator_label(col, lang)), src)


# --------------------------------------------------------------------------- 8 cost-effectiveness
def cost_effectiveness(runs: pd.DataFrame, *, baseline: str = "scenario=baseline_2021", lang: str = "en",
                       source: str | None = None) -> Figure:
    """Figure 8: yuan per additional family reached (paired Δ total cost / Δ families reached, see
    :func:`incremental_costs`) of each scenario against the baseline, one bar per scenario, with
    the baseline's average total cost per family reached as a reference line."""
    with style(lang):
        ic = incremental_costs(runs, baseline)
        labels = group_labels(runs)
        mask = baseline_mask(runs, baseline)
        base = runs[mask]
        base_label = ", ".join(sorted({labels.get(g, g) for g in base["group"]})) or baseline
        avg = float((base[cost_column(runs)] / base["families_reached"]).mean()) if len(base) else np.nan
        fig = _figure(1.8 + 0.5 * max(len(ic), 1), lang)
        ax = fig.add_subplot()
        y = np.arange(len(ic))
        if len(ic):
            x = ic["ratio"].to_numpy(float)
            err = np.clip(np.vstack([x - ic["ratio_p5"], ic["ratio_p95"] - x]), 0, None)
            colors = [PALETTE[k % len(PALETTE)] for k in range(len(ic))]
            bars = ax.barh(y, np.nan_to_num(x), 0.55, xerr=np.nan_to_num(err), color=colors,
                           edgecolor="black", linewidth=0.5, error_kw={"elinewidth": 1, "capsize": 3},
                           label="_bars")
            for k, bar in enumerate(bars.patches):
                bar.set_hatch(HATCHES[k % len(HATCHES)])
            xmax = np.nanmax(np.concatenate([ic["ratio_p95"].to_numpy(float), ic["ratio"].to_numpy(float),
                                             [avg, 1.0]]))
            for k, r in ic.reset_index(drop=True).iterrows():
                note = (text("figure.f8_note", lang, df=r["d_families"], ds=r["d_cost"] / 1e6)
                        if np.isfinite(r["ratio"]) else text("figure.f8_none", lang))
                right = max(np.nan_to_num(r["ratio_p95"]), np.nan_to_num(r["ratio"]), 0)
                ax.text(right + 0.02 * xmax, k, note, va="center", fontsize=7.5)
            ax.set_xlim(0, xmax * 1.6)
        if np.isfinite(avg):
            ax.axvline(avg, color="black", linestyle="--", linewidth=1,
                       label=text("figure.f8_base", lang, base=base_label, v=avg))
            ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False)
        ax.set_yticks(y, [labels.get(g, g) for g in ic["group"]] if len(ic) else [])
        ax.set_ylim(max(len(ic), 1) - 0.5, -0.5)
        ax.set_xlabel(_wrap(text("figure.f8_x", lang), 80, lang))
        ax.grid(axis="x", color="0.92", linewidth=0.6)
        ax.set_axisbelow(True)
        return _finish(fig, text("figure.f8_title", lang, base=base_label), source or source_line(runs, lang))
