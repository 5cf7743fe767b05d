"""The memo of one prefecture or county: ``outreach-sim-report RUN_OR_SWEEP_DIR... --region REGION``.

``REGION`` is what ``region=`` of a run takes (:func:`sim.region.resolve_region`: an admin code,
a Chinese name or pinyin). The run folders may be of two kinds:

* **province runs** (their ``summary.json`` has no ``region``, or ``null``): the memo keeps the
  region's rows of each run's ``counties.parquet``;
* **region runs** (``outreach-sim region=...``; ``summary.json``'s ``region`` holds ``kind``,
  ``code``, the names, the ``counties`` (admin codes), ``villages``, ``ties_kept``,
  ``ties_cut``, ``share_special`` and ``share_digital``, :meth:`sim.region.Region.summary`):
  taken when they simulated every county of the region, refused otherwise (a run of another
  region, or of one county given its prefecture), in one line naming both.

All runs must have simulated the same area (the province, or one region): the region alone and the
region inside the province are different simulations, and runs of both are refused, not pooled.

From the region's counties of each run it makes the region's own runs table
(:func:`region_runs`): per coverage indicator the eligible and reached families summed over the
counties and the coverage as their ratio (never an average of county coverages), with the
runs' provenance labels; the baseline, the focus group and the scenarios compared come from
:func:`sim.report.plan.make_plan` on that table, the paired differences from
:func:`sim.compare.compare`, as in the province memo.

The memo (:func:`build_region_memo`): the question; what was simulated (for region runs, how
the border was treated: the share of the region's village ties that led outside and were
dropped, and the region's share of the province-level money); the scenarios (the province
memo's table); the region's coverage per indicator with its provenance, eligible and reached
families and the 5-95 % range across seeds, and against the baseline the paired differences
with their 90 % intervals; a table of the region's counties (coverage, budget, spending, hours
used, what bound); the figures (the region's counties on a map, zoomed to the region with the
other counties grey; with several scenarios, their paired differences); the province memo's
provenance footer. ``--lang zh`` writes all of it in Chinese, counties by their Chinese names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim import maps, plots
from sim.admin import load_admin
from sim.analysis import binding_categories, county_values, hands_bound_most, quantiles
from sim.compare import compare
from sim.errors import UserError
from sim.labels import activity_label, county_name, indicator_label, text
from sim.region import RegionSpec, resolve_region
from sim.report.assemble import SECTIONS, Inputs, Memo, provenance_text
from sim.report.figures import FigureEntry
from sim.report.plan import Plan, make_plan
from sim.report.render import render_html, render_md
from sim.runs import META, PROVENANCE_PREFIX, check_out_dir, read_summary, read_table, runs_table, version_note

if TYPE_CHECKING:
    from matplotlib.figure import Figure

KEEP = ("run_dir", "scenario", "seed", "scale", "months", "config_hash", "package_version", "git_commit")
"""Columns of the runs table that the region's runs table keeps as they are (besides ``param.*``
and the provenance labels)."""
REGION_PARAM = "param.region"
"""The ``region=`` override of region runs: dropped (every run simulated the same area, spelled
in any way ``region=`` takes)."""
TIES = ("villages", "ties_kept", "ties_cut", "share_special", "share_digital")


# --------------------------------------------------------------------------- reading the runs
def simulated_region(summary: dict) -> dict | None:
    """A run's ``region`` (the region it simulated alone), or None for a run of the whole province."""
    region = summary.get("region")
    return region if isinstance(region, dict) else None


def _describe(region: dict) -> str:
    return f"{region.get('name_zh', '?')} {region.get('name_en', '?')} ({region.get('code', '?')})"


def check_simulated(run_dir: str, region: dict | None, spec: RegionSpec, codes: list[int]) -> None:
    """Refuse, in one line naming both, a region run that did not simulate every county of ``spec``.

    Raises:
        UserError: ``region`` (the run's) lacks some of ``codes`` (the counties of ``spec``).
    """
    if region is not None and not set(codes) <= {int(c) for c in region.get("counties", [])}:
        raise UserError(f"{run_dir} is a run of {_describe(region)} alone, which does not hold all of "
                        f"--region {spec.describe()}: give runs of the whole province or of a region holding it")


@dataclass
class RegionRuns:
    """The runs cut to one region."""

    runs: pd.DataFrame
    """One row per run: :data:`KEEP`, ``param.*``, ``group``, the provenance labels and, per
    coverage indicator ``<ind>`` of ``counties.parquet``, ``coverage_counts.<ind>.eligible`` and
    ``.reached`` (full-scale families summed over the region's counties) and ``coverage.<ind>``
    (their ratio; NaN without eligible families)."""
    counties: pd.DataFrame
    """The region's rows of every run's ``counties.parquet``, stacked, with the run's
    :data:`sim.runs.META` columns."""
    simulated: dict[str, dict | None]
    """Run folder -> the region the run simulated alone (None: the whole province)."""


def region_runs(runs: pd.DataFrame, spec: RegionSpec) -> RegionRuns:
    """The region's runs table and county rows from a runs table (:func:`sim.runs.runs_table`).

    Raises:
        UserError: a region run of another region (:func:`check_simulated`); runs of different
            areas; a run without ``counties.parquet`` or without some of the region's counties in it.
    """
    codes = [int(c) for c in load_admin().counties["code"].to_numpy()[list(spec.counties)]]
    simulated = {r: simulated_region(read_summary(r) or {}) for r in runs["run_dir"]}
    for run, region in simulated.items():
        check_simulated(run, region, spec, codes)
    _check_same_area(simulated, spec)
    tables, rows = [], []
    for _, r in runs.iterrows():
        counties = read_table(r["run_dir"], "counties")
        if counties is None:
            raise UserError(f"{r['run_dir']} has no counties.parquet: the memo of --region {spec.describe()} "
                            "is made from the runs' county tables")
        cut = counties[counties["county_code"].astype(np.int64).isin(codes)]
        lacking = sorted(set(codes) - set(cut["county_code"].astype(np.int64)))
        if lacking:
            raise UserError(f"{r['run_dir']}: its counties.parquet has no rows for {len(lacking)} counties of "
                            f"--region {spec.describe()} ({', '.join(map(str, lacking))})")
        cut = cut.set_index(cut["county_code"].astype(np.int64)).loc[codes].reset_index(drop=True)
        tables.append(cut.assign(**{c: r[c] for c in META if c in runs.columns}))
        rows.append(region_indicators(cut))
    keep = [c for c in runs.columns if c in KEEP or (c.startswith(("param.", PROVENANCE_PREFIX)) and c != REGION_PARAM)]
    table = pd.concat([runs[keep].reset_index(drop=True), pd.DataFrame(rows)], axis=1)
    pcols = sorted(c for c in table.columns if c.startswith("param."))
    table["group"] = [",".join([f"scenario={t['scenario']}"]
                               + [f"{c.removeprefix('param.')}={t[c]}" for c in pcols if pd.notna(t[c])])
                      for _, t in table.iterrows()]
    counties = pd.concat(tables, ignore_index=True)
    counties["group"] = np.repeat(table["group"].to_numpy(), len(codes))
    return RegionRuns(table, counties, simulated)


def _check_same_area(simulated: dict[str, dict | None], spec: RegionSpec) -> None:
    """Refuse runs of different areas (the whole province and a region, or two regions) in one line."""
    areas: dict[str, list[str]] = {}
    for run, region in simulated.items():
        areas.setdefault("the whole province" if region is None else _describe(region), []).append(run)
    if len(areas) > 1:
        (a, ra), (b, rb) = list(areas.items())[:2]
        raise UserError(f"--region {spec.describe()}: the runs simulated different areas ({len(ra)} of {a}, e.g. "
                        f"{ra[0]}; {len(rb)} of {b}, e.g. {rb[0]}): give runs of one of them")


def region_indicators(counties: pd.DataFrame) -> dict[str, float]:
    """Per coverage indicator of a run's county rows: eligible and reached families summed, and
    coverage = reached / eligible (NaN without eligible families)."""
    out = {}
    for col in counties.columns:
        if col.startswith("eligible_") and f"reached_{col.removeprefix('eligible_')}" in counties.columns:
            ind = col.removeprefix("eligible_")
            eligible, reached = float(counties[col].sum()), float(counties[f"reached_{ind}"].sum())
            out[f"coverage_counts.{ind}.eligible"] = eligible
            out[f"coverage_counts.{ind}.reached"] = reached
            out[f"coverage.{ind}"] = reached / eligible if eligible > 0 else float("nan")
    return out


# --------------------------------------------------------------------------- what the memo shares
@dataclass
class Region:
    """What the sections and figures of one region's memo read."""

    spec: RegionSpec
    data: RegionRuns
    plan: Plan
    cmp: pd.DataFrame | None
    lang: str
    inputs: Inputs
    """The province memo's inputs, for the sections it shares (scenarios, provenance)."""

    @property
    def name(self) -> str:
        """The region's name in the memo's language."""
        return self.spec.name_zh if self.lang == "zh" else self.spec.name_en

    @property
    def n(self) -> int:
        return len(self.spec.counties)

    @property
    def focus(self) -> pd.DataFrame:
        """The focus group's rows of the region's runs table."""
        return self.data.runs[self.data.runs["group"] == self.plan.focus]

    @property
    def focus_counties(self) -> pd.DataFrame:
        return self.data.counties[self.data.counties["group"] == self.plan.focus]

    def t(self, key: str, **fields) -> str:
        """The region text ``key`` in the memo's language."""
        return text(f"region.{key}", self.lang, **fields)

    def ind(self, indicator: str) -> str:
        return indicator_label(indicator, self.lang)

    def prov(self, indicator: str) -> str:
        return provenance_text(self.data.runs, f"coverage.{indicator}", self.lang)


def _pct_range(values: pd.Series) -> str:
    """'mean [p5, p95]' of shares, in %."""
    q = 100 * quantiles(values)
    return f"{q['mean']:.1f} [{q['p5']:.1f}, {q['p95']:.1f}]"


# --------------------------------------------------------------------------- figures
def region_map(r: Region) -> tuple[Figure, str]:
    """The region's counties coloured by the county indicator (mean of the focus group's seeds),
    named, zoomed to the region with the other counties grey; the caption names the lowest and
    highest county."""
    ind = r.plan.county_indicator
    counties = r.focus_counties
    v = county_values(counties, f"coverage_{ind}")
    codes = [int(c) for c in v.index]
    x0, y0, x1, y1 = maps.bounds(codes)
    aspect = (x1 - x0) * np.cos(np.radians((y0 + y1) / 2)) / max(y1 - y0, 1e-6)
    with plots.style(r.lang):
        fig = plots._figure(float(np.clip(4.4 / aspect + 2.4, 4.0, 8.5)), r.lang, width=6.6)
        ax = fig.add_subplot()
        colours, mappable = maps.colour_scale((100 * v["value"]).to_dict(), plots.CMAP)
        maps.draw_counties(ax, colours, region=codes, edgecolor="white", linewidth=0.8)
        maps.label_counties(ax, {int(c): county_name(row, r.lang) for c, row in v.iterrows()})
        maps.scale_bar(ax, None, codes=codes)
        fig.colorbar(mappable, ax=ax, location="bottom", shrink=0.6, aspect=30,
                     label=plots._wrap(text("figure.f4_cbar", r.lang, ind=r.ind(ind)), 70, r.lang))
        extra = f"{r.t('f_map_source', prov=r.prov(ind), region=r.name)}; {text('map.attribution', r.lang)}"
        fig = plots._finish(fig, r.t("f_map_title", ind=r.ind(ind), region=r.name),
                            plots.source_line(counties, r.lang, extra=extra))
    lo, hi = v.loc[v["value"].idxmin()], v.loc[v["value"].idxmax()]
    return fig, r.t("c_map", label=r.inputs.base_label, ind=r.ind(ind), prov=r.prov(ind), lo=county_name(lo, r.lang),
                    lov=100 * lo["value"], hi=county_name(hi, r.lang), hiv=100 * hi["value"], n=r.n, region=r.name)


def scenario_comparison(r: Region) -> tuple[Figure, str]:
    """The region's coverage indicators: each scenario's paired difference from the baseline."""
    cmp, plan = r.cmp, r.plan
    base = cmp["is_baseline"].astype(bool)
    d = cmp[(cmp["group"].isin(plan.comparators)) | (base & (cmp["group"] == plan.focus))]
    source = plots.source_line(r.data.runs, r.lang, extra=r.t("f_scen_source", region=r.name, n=r.n))
    fig = plots.scenario_comparison(d, lang=r.lang, runs=r.data.runs, source=source)
    cov = d[d["indicator"].str.startswith("coverage.") & ~d["is_baseline"].astype(bool) & (d["n_pairs"] > 0)]
    if not (len(cov) and cov["diff_mean"].abs().max() > 0):
        return fig, r.t("c_scen_none", region=r.name, base=r.inputs.base_label)
    w = cov.loc[cov["diff_mean"].abs().idxmax()]
    return fig, r.t("c_scen", region=r.name, label=r.inputs.label(w["group"]), ind=r.ind(w["indicator"]),
                    d=100 * w["diff_mean"], lo=100 * w["diff_p5"], hi=100 * w["diff_p95"],
                    base=r.inputs.base_label)


def draw_region_figures(r: Region, out: Path, log=print) -> list[FigureEntry]:
    """Draw and save the memo's figures into ``out``: the map and, with several scenarios, their
    paired differences."""
    draw = [("fig1_region_map", region_map)]
    if r.plan.multi and r.plan.comparators:
        draw.append(("fig2_region_scenarios", scenario_comparison))
    entries = []
    for key, f in draw:
        fig, caption = f(r)
        png, svg = plots.save(fig, out, key)
        entries.append(FigureEntry(key, " ".join(fig.get_suptitle().split()), caption, png, svg))
        log(f"  figure {key}: {png.name}, {svg.name}")
    return entries


# --------------------------------------------------------------------------- sections
def _question(memo: Memo, r: Region) -> None:
    memo.add("h2", text("memo.h_question", r.lang))
    x = r.inputs
    if r.plan.multi and r.plan.comparators:
        others = text("memo.sep", r.lang).join(x.label(g) for g in r.plan.comparators)
        memo.add("p", r.t("q_multi", others=others, base=x.base_label, region=r.name))
    else:
        memo.add("p", r.t("q_single" if r.n > 1 else "q_single_county", base=x.base_label, region=r.name, n=r.n))


def _simulated(memo: Memo, r: Region) -> None:
    """What the runs simulated: the whole province, or the region alone and how its border was treated."""
    memo.add("h2", r.t("h_input"))
    sims = list(r.data.simulated.values())
    n_province = sum(s is None for s in sims)
    if n_province:
        memo.add("p", r.t("province_runs", n=n_province, k=r.n, region=r.name))
    alone: dict[tuple, int] = {}
    for s in sims:
        if s is not None:
            key = (str(s.get("code")), s.get("name_zh"), s.get("name_en"), *(s.get(k) for k in TIES))
            alone[key] = alone.get(key, 0) + 1
    for (code, name_zh, name_en, villages, kept, cut, share_special, share_digital), n in alone.items():
        keeps = "" if code == str(r.spec.code) else r.t("keeps", region=r.name)
        kept, cut = int(kept or 0), int(cut or 0)
        share = 100 * cut / max(kept + cut, 1)
        memo.add("p", r.t("region_runs", n=n, sim=name_zh if r.lang == "zh" else name_en, v=int(villages or 0),
                          keeps=keeps, cut=cut, all=kept + cut, p=f"{share:.1f}" if share >= 1 else f"{share:.2g}",
                          sp=100 * float(share_special or 0), sd=100 * float(share_digital or 0)))
    memo.add("p", r.t("aggregate" if r.n > 1 else "aggregate_county", region=r.name, n=r.n))


def _headline(memo: Memo, r: Region) -> None:
    """The region's coverage per indicator (focus group) and, against it, each comparator's
    paired difference."""
    plan, lang, x = r.plan, r.lang, r.inputs
    memo.add("h2", r.t("h_headline", region=r.name))
    g = r.focus
    comparators = plan.comparators if plan.multi else []
    if comparators:
        n = int(r.cmp.loc[r.cmp["group"].isin(comparators), "n_pairs"].max())
        memo.add("p", text("memo.interval_note", lang, n=n))
        items = []
        for c in comparators:
            row = r.cmp[(r.cmp["group"] == c) & (r.cmp["indicator"] == plan.indicator)]
            if row.empty or not row["n_pairs"].iloc[0]:
                items.append(text("memo.m_unpaired", lang, label=x.label(c)))
                continue
            w = row.iloc[0]
            items.append(r.t("m_multi", label=x.label(c), ind=r.ind(plan.indicator), region=r.name,
                             d=f"{100 * w['diff_mean']:+.1f}",
                             ci=f"[{100 * w['diff_p5']:+.1f}, {100 * w['diff_p95']:+.1f}]"))
        memo.add("ul", items)
    memo.add("p", r.t("single_note", n=g["seed"].nunique()))
    header = [text("memo.col_indicator", lang), text("memo.col_provenance", lang), r.t("col_eligible"),
              r.t("col_reached"), r.t("col_coverage", base=x.base_label)]
    header += [r.t("col_diff", label=x.label(c)) for c in comparators]
    rows = []
    for col in [c for c in g.columns if c.startswith("coverage.")]:
        ind = col.removeprefix("coverage.")
        row = [r.ind(ind), r.prov(ind), f"{g[f'coverage_counts.{ind}.eligible'].mean():,.0f}",
               f"{g[f'coverage_counts.{ind}.reached'].mean():,.0f}", _pct_range(g[col])]
        for c in comparators:
            w = r.cmp[(r.cmp["group"] == c) & (r.cmp["indicator"] == col)]
            row.append("-" if w.empty or not w["n_pairs"].iloc[0] else
                       f"{100 * w['diff_mean'].iloc[0]:+.1f} "
                       f"[{100 * w['diff_p5'].iloc[0]:+.1f}, {100 * w['diff_p95'].iloc[0]:+.1f}]")
        rows.append(row)
    memo.add("table", header, rows)
    memo.add("p", text("memo.prov_note", lang))


def _bound(counties: pd.DataFrame, category: str, lang: str) -> str:
    """What bound in one county: the class of :func:`sim.analysis.binding_categories`, with the
    activity hands bound most often when hands bound."""
    what = text(f"figure.{category}", lang)
    most = hands_bound_most(counties) if category in ("bind_hands", "bind_both") else None
    return text("region.bound_act", lang, what=what, act=activity_label(most[0], lang)) if most else what


def _counties(memo: Memo, r: Region) -> None:
    """One row per county of the region (focus group, mean of its seeds), and their totals."""
    lang, ind = r.lang, r.plan.county_indicator
    c = r.focus_counties
    c = c.assign(_money=c[[k for k in c.columns if k.startswith("money_") and k.endswith("_yuan")]].sum(axis=1))
    memo.add("h2", r.t("h_counties", region=r.name))
    memo.add("p", r.t("counties_note", base=r.inputs.base_label, n=c["seed"].nunique(), ind=r.ind(ind),
                      prov=r.prov(ind)))
    bound = binding_categories(c)
    rows = []
    for code, d in c.groupby("county_code", sort=False):
        rows.append([county_name(d.iloc[0], lang), f"{d['population'].mean():,.0f}",
                     f"{100 * d[f'coverage_{ind}'].mean():.1f}"]
                    + [f"{d[k].mean() / 1e6:,.2f}" for k in ("budget_yuan", "_money", "spend_yuan")]
                    + [f"{(d['posts_county'] + d['posts_township']).mean():,.1f}" if "posts_county" in d else "-"]
                    + [f"{100 * d[f'hours_used_share_{role}'].mean():.0f}" for role in ("staff", "volunteer")]
                    + [_bound(d, bound.loc[code], lang)])
    cols = ("col_county", "col_population", "col_ind", "col_budget", "col_money", "col_spent", "col_posts",
            "col_staff", "col_volunteer", "col_bound")
    memo.add("table", [r.t(k, ind=r.ind(ind)) for k in cols], rows)
    per_run = c.groupby(["group", "seed"])[["budget_yuan", "_money", "spend_yuan"]].sum().mean() / 1e6
    hours = c[[f"hours_{k}_{role}" for k in ("used", "available") for role in ("staff", "volunteer")]].sum()
    memo.add("p", r.t("totals", n=r.n, b=f"{per_run['budget_yuan']:,.1f}", m=f"{per_run['_money']:,.1f}",
                      s=f"{per_run['spend_yuan']:,.1f}",
                      st=100 * hours["hours_used_staff"] / max(hours["hours_available_staff"], 1e-12),
                      v=100 * hours["hours_used_volunteer"] / max(hours["hours_available_volunteer"], 1e-12)))


def _figures(memo: Memo, r: Region) -> None:
    memo.add("h2", text("memo.h_figures", r.lang))
    for n, f in enumerate(r.inputs.figures, 1):
        memo.add("figure", f, n)


def build_region_memo(r: Region) -> Memo:
    """The memo's blocks: question, what was simulated, scenarios, the region's coverage, its
    counties, figures, provenance."""
    x = r.inputs
    if r.plan.multi:
        what = text("memo.what_multi", r.lang, n=r.data.runs["scenario"].nunique(), base=x.base_label)
    else:
        what = text("memo.what_single", r.lang, base=x.base_label)
    memo = Memo(r.lang, r.t("title", region=r.name),
                r.t("subtitle" if r.n > 1 else "subtitle_county", region=r.name, kind=r.t(f"kind.{r.spec.kind}"),
                    code=r.spec.code, n=r.n, what=what))
    _question(memo, r)
    _simulated(memo, r)
    SECTIONS["scenarios"](memo, x)
    _headline(memo, r)
    _counties(memo, r)
    _figures(memo, r)
    SECTIONS["provenance"](memo, x)
    return memo


# --------------------------------------------------------------------------- the command
def region_report(dirs: list[str], *, region: str, baseline: str | None = None, lang: str = "en",
                  out: str | Path | None = None, indicator: str | None = None, log=print) -> dict:
    """Write the memo of ``region`` from the run folders ``dirs`` into ``out`` (default:
    ``report-<code>/`` in the first folder); returns the paths. Raises :class:`UserError` on bad
    input, before anything is written."""
    spec = resolve_region(region, key="--region")
    runs, missing, failed = runs_table(dirs)
    if runs.empty:
        raise UserError(f"no complete runs under {', '.join(map(str, dirs))} "
                        f"({len(missing)} incomplete, {len(failed)} failed)")
    data = region_runs(runs, spec)
    plan = make_plan(data.runs, baseline, indicator, target=0.8)  # the target draws no figure here
    out = Path(out) if out else Path(dirs[0]) / f"report-{spec.code}"
    check_out_dir(out)
    note = version_note(data.runs)
    if note:
        log(note)
    log(f"read {len(runs)} complete runs in {data.runs['group'].nunique()} groups "
        f"({len(missing)} incomplete, {len(failed)} failed); region {spec.describe()}, {len(spec.counties)} counties")
    cmp = compare(data.runs, plan.baseline) if plan.multi else None
    fig_dir = out / "figures"
    for old in (*fig_dir.glob("fig*.png"), *fig_dir.glob("fig*.svg")):  # figures of an earlier report
        old.unlink()
    x = Inputs(plan, data.runs, cmp, [], lang, [str(d) for d in dirs], missing, failed)
    r = Region(spec, data, plan, cmp, lang, x)
    x.figures = draw_region_figures(r, fig_dir, log)
    memo = build_region_memo(r)
    md, page = out / "memo.md", out / "memo.html"
    md.write_text(render_md(memo, out), encoding="utf-8")
    page.write_text(render_html(memo), encoding="utf-8")
    return {"html": page, "md": md, "figures": fig_dir, "n_figures": len(x.figures)}
