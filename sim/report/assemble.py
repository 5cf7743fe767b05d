"""Assembling a memo, part 2: its content as blocks (headings, paragraphs, lists, tables,
figures) in the language asked for: the question, the scenarios compared (with their
descriptions from the runs' ``config.json``), the headline differences with their 90 % intervals
across seeds (each indicator with its provenance: input, calibrated or predicted, MODEL.md
section 7), the cost of each group by pot and, against the baseline, the cost per additional
family reached per indicator, the figures and a provenance footer (version, git commit, config
hashes, seeds, scale). Which sections there are is the plan's (:mod:`sim.report.plan`); the words
are :mod:`sim.labels`'; nothing here draws or writes a file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import yaml

import sim
from sim.activities import POTS
from sim.analysis import COST, FUNDING, UNDEFINED, group_labels, sweep_grid, varying_params
from sim.compare import compare
from sim.labels import (
    LABELS,
    fmt_multiplier,
    indicator_label,
    param_label,
    pot_label,
    provenance_label,
    seeds_text,
    text,
)
from sim.metrics import EQUITY_INDICATORS
from sim.report.plan import Plan, coverage_columns
from sim.runs import PROVENANCE_PREFIX, provenance_key, read_config

if TYPE_CHECKING:
    from sim.report.figures import FigureEntry


@dataclass
class Memo:
    lang: str
    title: str
    subtitle: str
    blocks: list = field(default_factory=list)
    """("h2", text) | ("p", text) | ("ul", [items]) | ("table", header, rows) | ("figure", FigureEntry, n)"""

    def add(self, *block) -> None:
        self.blocks.append(block)


# --------------------------------------------------------------------------- formatting
def _pp(x: float) -> str:
    return f"{100 * x:+.1f}"


def _ci(lo: float, hi: float, scale: float = 100, fmt: str = "{:+.1f}") -> str:
    return f"[{fmt.format(scale * lo)}, {fmt.format(scale * hi)}]"


def _pct_ci(values: pd.Series) -> tuple[str, str]:
    a = values.dropna().to_numpy(float)
    return f"{100 * a.mean():.1f} %", f"[{100 * np.percentile(a, 5):.1f}, {100 * np.percentile(a, 95):.1f}]"


def _num_ci(values: pd.Series, scale: float = 1.0, fmt: str = "{:,.0f}") -> tuple[str, str]:
    a = values.dropna().to_numpy(float) * scale
    if not len(a):
        return "-", ""
    return fmt.format(a.mean()), f"[{fmt.format(np.percentile(a, 5))}, {fmt.format(np.percentile(a, 95))}]"


def _sortkey(x: str):
    try:
        return (0, float(x), x)
    except ValueError:
        return (1, 0.0, x)


HEADLINE_FORMATS = {
    "families_reached": ("", 1, "{:,.0f}", "{:+,.0f}"),
    COST: ("memo.m_yuan", 1e-6, "{:,.1f}", "{:+,.1f}"),
    "cost_per_family_reached_yuan": ("", 1, "{:,.1f}", "{:+,.1f}"),
    "binding.money": ("memo.pct", 100, "{:.1f}", "{:+.1f}"),
    "binding.hands": ("memo.pct", 100, "{:.1f}", "{:+.1f}"),
}
"""Indicators of the headline tables after coverage: (label suffix, or its key in
:data:`sim.labels.LABELS`; scale; format of values; format of differences)."""


def _format(indicator: str, lang: str) -> tuple[str, float, str, str]:
    unit, scale, vfmt, dfmt = HEADLINE_FORMATS.get(indicator, ("memo.pct", 100, "{:.1f}", "{:+.1f}"))
    return (text(unit, lang) if unit in LABELS else unit), scale, vfmt, dfmt


def _label(indicator: str, lang: str) -> str:
    """The indicator's label without a unit in brackets (the table adds its own)."""
    label = indicator_label(indicator, lang)
    return label.split(" (")[0].split("（")[0] if indicator in (COST, "spend_yuan.total") else label


def provenance_text(runs: pd.DataFrame, indicator: str, lang: str) -> str:
    """The indicator's provenance (input / calibrated / predicted) as the runs' summaries give
    it, in ``lang``; ``-`` where they say nothing."""
    col = PROVENANCE_PREFIX + provenance_key(indicator)
    if col not in runs.columns:
        return "-"
    vals = sorted({str(v) for v in runs[col].dropna()})
    return "/".join(provenance_label(v, lang) for v in vals) or "-"


def _group_sort(runs: pd.DataFrame, group: str):
    r = runs[runs["group"] == group].iloc[0]
    return tuple(_sortkey(str(r[c])) for c in varying_params(runs)) + (group,)


# --------------------------------------------------------------------------- tables
def scenario_descriptions(runs: pd.DataFrame, lang: str) -> dict[str, str]:
    """Scenario -> what it changes, in ``lang``: ``scenario.description`` (``description_zh``) of
    the scenario's first run's ``config.json``; for runs written before a config had it, the
    scenario file's (``sim/conf/scenario/<name>.yaml``); in Chinese, the English one when
    neither has it."""
    out = {}
    for scen, g in runs.groupby("scenario"):
        from_run = (read_config(g["run_dir"].iloc[0]) or {}).get("scenario")
        from_run = from_run if isinstance(from_run, dict) else {}
        from_file = _scenario_file(str(scen))
        en = from_run.get("description") or from_file.get("description") or ""
        zh = from_run.get("description_zh") or from_file.get("description_zh") or en
        out[scen] = zh if lang == "zh" else en
    return out


def _scenario_file(name: str) -> dict:
    """The ``scenario`` entry of ``sim/conf/scenario/<name>.yaml`` (empty when there is none)."""
    try:
        conf = yaml.safe_load((resources.files("sim") / "conf" / "scenario" / f"{name}.yaml").read_text("utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    scenario = (conf or {}).get("scenario")
    return scenario if isinstance(scenario, dict) else {}


def cost_table(runs: pd.DataFrame, groups: list[str], labels: dict, lang: str, cmp: pd.DataFrame | None = None,
               base_label: str = "") -> tuple[list[str], list[list[str]]]:
    """Cost by pot per group (rows): association budgets, raised funds, personnel budget, total
    (M yuan, mean of the seeds), total cost per family reached and, with ``cmp``, the paired
    difference of the total from the baseline with its 90 % interval."""
    m_yuan = text("memo.m_yuan", lang)
    header = [text("memo.col_group", lang)] + [pot_label(k, lang) + m_yuan for k in POTS] + \
        [text("memo.col_total", lang) + m_yuan, text("memo.col_cpf", lang)]
    if cmp is not None:
        header.append(text("memo.col_d_total", lang, base=base_label) + m_yuan)
    rows = []
    for g in groups:
        d = runs[runs["group"] == g]

        def mean(col, scale=1e-6, fmt="{:,.1f}", d=d):
            return fmt.format(scale * d[col].mean()) if col in d.columns and d[col].notna().any() else "-"

        row = [labels.get(g, g) or g] + [mean(f"cost.by_pot.{k}") for k in POTS] + \
            [mean(COST), mean("cost_per_family_reached_yuan", 1, "{:,.1f}")]
        if cmp is not None:
            c = cmp[(cmp["group"] == g) & (cmp["indicator"] == COST)]
            if c.empty or bool(c["is_baseline"].iloc[0]) or not c["n_pairs"].iloc[0]:
                row.append("-")
            else:
                c = c.iloc[0]
                row.append(f"{1e-6 * c['diff_mean']:+,.1f} {_ci(c['diff_p5'], c['diff_p95'], 1e-6)}")
        rows.append(row)
    return header, rows


def cost_per_family_cell(value: float, note: str, lang: str) -> str:
    """A cell of the cost-per-additional-family table (yuan, or why there is no number)."""
    if note == UNDEFINED:
        return text("memo.undefined", lang)
    if not np.isfinite(value):
        return "-"
    v = f"{value:,.0f}"
    for kind in ("dominant", "dominated", "saving"):
        if note.startswith(kind):
            return text(f"memo.{kind}", lang, v=v)
    return v


def cost_per_family_table(cmp: pd.DataFrame, runs: pd.DataFrame, groups: list[str], labels: dict,
                          lang: str) -> tuple[list[str], list[list[str]]]:
    """Yuan of total cost per additional family reached: one row per coverage indicator (with its
    provenance), one column per group (from :func:`sim.compare.compare`)."""
    c = cmp[cmp["group"].isin(groups) & cmp["indicator"].str.startswith("coverage.")]
    header = [text("memo.col_indicator", lang), text("memo.col_provenance", lang)] + [labels.get(g, g) for g in groups]
    rows = []
    for ind in dict.fromkeys(c["indicator"]):
        row = [indicator_label(ind, lang), provenance_text(runs, ind, lang)]
        for g in groups:
            r = c[(c["group"] == g) & (c["indicator"] == ind)]
            row.append("-" if r.empty else cost_per_family_cell(r["cost_per_additional_family_yuan"].iloc[0],
                                                                 r["cost_per_additional_family_note"].iloc[0],
                                                                 lang))
        rows.append(row)
    return header, rows


def sweep_steps(plan: Plan, scope: pd.DataFrame, lang: str) -> list[str]:
    """Paired differences (by seed) of one step in funding and in staffing from the reference cell."""
    ref = scope[scope["group"] == plan.focus].iloc[0]
    keys = [FUNDING] + ([plan.staffing] if plan.staffing else [])
    spec = ",".join([f"scenario={ref['scenario']}"] + [f"{k.removeprefix('param.')}={ref[k]}" for k in keys])
    cmp = compare(scope, spec)
    c = cmp[cmp["indicator"] == plan.indicator]
    num = {k: pd.to_numeric(c[k]) for k in keys}
    out = []
    for k in keys:
        others = [o for o in keys if o != k]
        same = np.ones(len(c), dtype=bool)
        for o in others:
            same &= (num[o] == float(ref[o])).to_numpy()
        levels = np.sort(num[k][same].unique())
        i = int(np.searchsorted(levels, float(ref[k])))
        for j in (i - 1, i + 1):
            if 0 <= j < len(levels):
                r = c[same & (num[k] == levels[j]).to_numpy()].iloc[0]
                if k == FUNDING:
                    def fmt(x):
                        return "×" + fmt_multiplier(x)
                else:
                    def fmt(x):
                        return f"{float(x):g}"
                what = text("memo.funding_word", lang) if k == FUNDING else param_label(k, lang)
                what = what[:1].upper() + what[1:]
                if k == FUNDING:
                    at = (text("memo.at_staff", lang, lvl=f"{float(ref[plan.staffing]):g}",
                               staff=param_label(plan.staffing, lang)) if plan.staffing else "")
                else:
                    at = text("memo.at_funding", lang, f=fmt_multiplier(ref[FUNDING]))
                out.append(text("memo.m_step", lang, what=what, a=fmt(ref[k]), b=fmt(levels[j]), at=at,
                                ind=indicator_label(plan.indicator, lang), d=_pp(r["diff_mean"]),
                                ci=_ci(r["diff_p5"], r["diff_p95"]), n=int(r["n_pairs"])))
    return out


# --------------------------------------------------------------------------- sections
@dataclass
class Inputs:
    """What the sections of one memo read."""

    plan: Plan
    runs: pd.DataFrame
    cmp: pd.DataFrame | None
    figures: list[FigureEntry]
    lang: str
    dirs: list[str]
    missing: list
    failed: list
    uncertainty: list = field(default_factory=list)
    """Sensitivity folders with their figures (:class:`sim.report.uncertainty.Part`)."""
    optimisation: list = field(default_factory=list)
    """Optimisation folders with their figures (:class:`sim.report.optimize.Part`)."""
    labels: dict[str, str] = field(init=False)

    def __post_init__(self):
        self.labels = group_labels(self.runs)

    def label(self, group: str) -> str:
        return self.labels.get(group, group)

    @property
    def base_label(self) -> str:
        """The focus group: the baseline cell the others are paired with."""
        return self.label(self.plan.focus)

    def t(self, key: str, **fields) -> str:
        """The memo text ``key`` in the memo's language."""
        return text(f"memo.{key}", self.lang, **fields)


def _question(memo: Memo, x: Inputs) -> None:
    plan, lang = x.plan, x.lang
    memo.add("h2", x.t("h_question"))
    if plan.multi:
        others = x.t("sep").join(x.label(g) for g in plan.comparators) or "?"
        memo.add("p", x.t("q_multi", others=others, base=x.base_label))
    elif plan.sweep:
        f = pd.to_numeric(x.runs[FUNDING])
        memo.add("p", x.t("q_sweep", ind=indicator_label(plan.indicator, lang), fmin=f.min(), fmax=f.max(),
                          staff=param_label(plan.staffing, lang) if plan.staffing else "-",
                          target=100 * plan.target))
    else:
        memo.add("p", x.t("q_single", base=x.base_label))


def _scenarios(memo: Memo, x: Inputs) -> None:
    runs, lang = x.runs, x.lang
    memo.add("h2", x.t("h_scenarios"))
    desc = scenario_descriptions(runs, lang)
    rows = []
    pcols = varying_params(runs)
    for scen, g in runs.groupby("scenario", sort=True):
        swept = x.t("sep").join(f"{param_label(c, lang)}: "
                                f"{', '.join(sorted(g[c].dropna().astype(str).unique(), key=_sortkey))}"
                                for c in pcols if g[c].notna().any())
        is_base = x.plan.base_rows[runs.index.get_indexer(g.index)].all()
        mark = x.t("baseline_mark") if is_base else ""
        rows.append([f"{scen}{mark}", desc.get(scen, ""), f"{len(g)} ({seeds_text(g['seed'])})", swept or "-"])
    memo.add("table", [x.t(k) for k in ("col_scenario", "col_desc", "col_runs", "col_params")], rows)


def _headline_scenarios(memo: Memo, x: Inputs) -> None:
    """Paired differences of each comparator from the baseline."""
    plan, runs, cmp, lang = x.plan, x.runs, x.cmp, x.lang
    memo.add("h2", x.t("h_headline"))
    n = int(cmp.loc[cmp["group"].isin(plan.comparators), "n_pairs"].max())
    memo.add("p", x.t("interval_note", n=n))
    cost_ind = COST if COST in set(cmp["indicator"]) else "spend_yuan.total"
    items = []
    for g in plan.comparators:
        c = cmp[(cmp["group"] == g)].set_index("indicator")
        if plan.indicator not in c.index:
            continue
        r, fr, sp = c.loc[plan.indicator], c.loc["families_reached"], c.loc[cost_ind]
        if not r["n_pairs"]:
            items.append(x.t("m_unpaired", label=x.label(g)))
            continue
        items.append(x.t("m_multi", label=x.label(g), ind=indicator_label(plan.indicator, lang),
                         d=_pp(r["diff_mean"]), ci=_ci(r["diff_p5"], r["diff_p95"]), df=f"{fr['diff_mean']:+,.0f}",
                         dfci=_ci(fr["diff_p5"], fr["diff_p95"], 1, "{:+,.0f}"),
                         ds=f"{sp['diff_mean'] / 1e6:+,.1f}", dsci=_ci(sp["diff_p5"], sp["diff_p95"], 1e-6)))
    memo.add("ul", items)
    header = [x.t("col_indicator"), x.t("col_provenance"), x.base_label] + [x.label(g) for g in plan.comparators]
    base_c = cmp[cmp["group"] == plan.focus].set_index("indicator")
    rows = []
    inds = [i for i in base_c.index if i.startswith("coverage.")]
    inds += [i for i in HEADLINE_FORMATS if i in base_c.index]
    for i in inds:
        unit, scale, vfmt, dfmt = _format(i, lang)
        row = [_label(i, lang) + unit, provenance_text(runs, i, lang), vfmt.format(scale * base_c.loc[i, "mean"])]
        for g in plan.comparators:
            c = cmp[(cmp["group"] == g) & (cmp["indicator"] == i)]
            if c.empty or not c["n_pairs"].iloc[0]:
                row.append("-")
                continue
            c = c.iloc[0]
            pp = f" {x.t('pp')}" if scale == 100 else ""
            ci = _ci(c["diff_p5"], c["diff_p95"], scale, dfmt)
            row.append(f"{dfmt.format(scale * c['diff_mean'])}{pp} {ci}")
        rows.append(row)
    memo.add("table", header, rows)
    memo.add("p", x.t("prov_note"))


def _headline_sweep(memo: Memo, x: Inputs) -> None:
    """The headline indicator by funding x staffing, against the target; one step each way."""
    plan, runs, lang = x.plan, x.runs, x.lang
    memo.add("h2", x.t("h_headline"))
    scope = plan.sweep_runs(runs)
    grid = sweep_grid(scope, plan.indicator, plan.staffing)
    ind_l = indicator_label(plan.indicator, lang)
    staff_l = param_label(plan.staffing, lang) if plan.staffing else ""
    items = []
    for lvl, r in grid.iterrows():
        hit = r[r >= plan.target]
        if len(hit):
            items.append(x.t("m_sweep_hit", lvl=f"{lvl:g}", staff=staff_l, ind=ind_l, target=100 * plan.target,
                             f=fmt_multiplier(hit.index[0]), v=100 * hit.iloc[0]))
        else:
            items.append(x.t("m_sweep_miss", lvl=f"{lvl:g}", staff=staff_l, ind=ind_l, target=100 * plan.target,
                             f=fmt_multiplier(r.idxmax()), v=100 * r.max()))
    steps = sweep_steps(plan, scope, lang)
    memo.add("ul", items + steps)
    if steps:
        memo.add("p", x.t("interval_note", n=int(scope.groupby("group")["seed"].nunique().min())))
    memo.add("p", x.t("sweep_table", ind=ind_l, staff=staff_l, prov=provenance_text(runs, plan.indicator, lang)))
    funding_cols = [f"×{fmt_multiplier(f)}" for f in grid.columns]
    memo.add("table", [staff_l] + funding_cols,
             [[f"{lvl:g}"] + [f"{100 * v:.1f}" for v in r] for lvl, r in grid.iterrows()])
    if {"binding.money", "binding.hands"} <= set(scope.columns):
        money, hands = (sweep_grid(scope, c, plan.staffing).reindex_like(grid)
                        for c in ("binding.money", "binding.hands"))
        memo.add("p", x.t("sweep_binding", staff=staff_l))
        rows = []
        for lvl in grid.index:
            pairs = zip(money.loc[lvl], hands.loc[lvl], strict=True)
            rows.append([f"{lvl:g}"] + [f"{100 * a:.1f} / {100 * b:.1f}" for a, b in pairs])
        memo.add("table", [staff_l] + funding_cols, rows)
    memo.add("p", x.t("prov_note"))


def _headline_single(memo: Memo, x: Inputs) -> None:
    """The focus group's results: mean and 5-95 % range across seeds."""
    lang = x.lang
    memo.add("h2", x.t("h_headline_single"))
    g = x.runs[x.runs["group"] == x.plan.focus]
    memo.add("p", x.t("single_note", n=g["seed"].nunique()))
    rows = []
    for i in coverage_columns(g):
        v, ci = _pct_ci(g[i])
        rows.append([indicator_label(i, lang), provenance_text(g, i, lang), f"{v} {ci}"])
    for i in HEADLINE_FORMATS:
        if i in g.columns:
            unit, scale, vfmt, _ = _format(i, lang)
            v, ci = _num_ci(g[i], scale, vfmt)
            rows.append([_label(i, lang) + unit, provenance_text(g, i, lang), f"{v} {ci}"])
    for e in EQUITY_INDICATORS:
        col = f"equity.{e}.county_coverage_gini"
        if col in g.columns:
            v, ci = _num_ci(g[col], 1, "{:.3f}")
            rows.append([indicator_label(col, lang), "-", f"{v} {ci}"])
    memo.add("table", [x.t("col_indicator"), x.t("col_provenance"), x.t("col_value")], rows)
    memo.add("p", x.t("prov_note"))


def _costs(memo: Memo, x: Inputs) -> None:
    plan, runs = x.plan, x.runs
    memo.add("h2", x.t("h_cost"))
    if plan.multi:
        groups = [plan.focus] + plan.comparators
    elif plan.sweep:
        groups = sorted(runs.loc[plan.base_rows, "group"].unique(), key=lambda g: _group_sort(runs, g))
    else:
        groups = [plan.focus]
    scope = runs[runs["group"].isin(groups)]
    memo.add("p", x.t("cost_note", n=int(scope.groupby("group")["seed"].nunique().min())))
    memo.add("table", *cost_table(runs, groups, x.labels, x.lang, x.cmp if plan.multi else None, x.base_label))


def _cost_per_family(memo: Memo, x: Inputs) -> None:
    memo.add("h2", x.t("h_cpaf"))
    memo.add("p", x.t("cpaf_note", base=x.base_label))
    memo.add("table", *cost_per_family_table(x.cmp, x.runs, x.plan.comparators, x.labels, x.lang))


def _figures(memo: Memo, x: Inputs) -> None:
    memo.add("h2", x.t("h_figures"))
    for n, f in enumerate(x.figures, 1):
        memo.add("figure", f, n)


def _uncertainty(memo: Memo, x: Inputs) -> None:
    from sim.report.uncertainty import add_section

    add_section(memo, x.uncertainty, x.lang, first_figure=len(x.figures) + 1)


def _optimisation(memo: Memo, x: Inputs) -> None:
    from sim.report.optimize import add_section

    add_section(memo, x.optimisation, x.lang,
                first_figure=len(x.figures) + sum(len(p.figures) for p in x.uncertainty) + 1)


def _provenance(memo: Memo, x: Inputs) -> None:
    runs = x.runs
    memo.add("h2", x.t("h_provenance"))
    commits = sorted({str(c) for c in runs["git_commit"].dropna()}) or [x.t("unknown")]
    versions = sorted({str(v) for v in runs["package_version"].dropna()}) or ["?"]
    memo.add("p", x.t("p_runs", n=len(runs), dirs=", ".join(x.dirs), miss=len(x.missing), fail=len(x.failed)))
    memo.add("p", x.t("p_version", v=", ".join(versions), c=", ".join(commits)))
    if x.uncertainty:
        from sim.report.uncertainty import provenance_text as sensitivity_provenance

        for part in x.uncertainty:
            memo.add("p", sensitivity_provenance(part, x.lang))
    if x.optimisation:
        from sim.report.optimize import provenance_text as optimisation_provenance

        for part in x.optimisation:
            memo.add("p", optimisation_provenance(part, x.lang))
    memo.add("p", x.t("p_seeds", s=seeds_text(runs["seed"]),
                      sc=", ".join(sorted({f"{v:g}" for v in runs["scale"].dropna()})),
                      m=", ".join(sorted({str(int(v)) for v in runs["months"].dropna()}))))
    rows = [[x.label(g) or g, seeds_text(d["seed"]), " ".join(sorted(map(str, d["config_hash"])))]
            for g, d in runs.groupby("group", sort=True)]
    memo.add("table", [x.t("col_group"), x.t("col_seeds"), x.t("col_hashes")], rows)
    if x.missing or x.failed:
        memo.add("ul", [f"{x.t('incomplete')}: {p}" for p in x.missing]
                 + [f"{x.t('failed')}: {p}" for p in x.failed])
    memo.add("p", x.t("p_generated", v=sim.__version__, d=dt.date.today().isoformat(),
                      attr=text("map.attribution", x.lang)))


SECTIONS = {"question": _question, "scenarios": _scenarios, "headline_scenarios": _headline_scenarios,
            "headline_sweep": _headline_sweep, "headline_single": _headline_single, "costs": _costs,
            "cost_per_family": _cost_per_family, "figures": _figures, "uncertainty": _uncertainty,
            "optimisation": _optimisation, "provenance": _provenance}
"""Section of :data:`sim.report.plan.SECTIONS` -> the function adding its blocks."""


def build_memo(plan: Plan, runs: pd.DataFrame, cmp: pd.DataFrame | None, figures: list[FigureEntry],
               lang: str, dirs: list[str], missing: list, failed: list, uncertainty: list | None = None,
               optimisation: list | None = None) -> Memo:
    """The memo's blocks, section by section as ``plan.sections`` lists them (``uncertainty``: the
    sensitivity folders of the uncertainty section, :class:`sim.report.uncertainty.Part`;
    ``optimisation``: the optimisation folders of its section, :class:`sim.report.optimize.Part`)."""
    x = Inputs(plan, runs, cmp, figures, lang, dirs, missing, failed, list(uncertainty or []),
               list(optimisation or []))
    if plan.multi:
        what = x.t("what_multi", n=runs["scenario"].nunique(), base=x.base_label)
    elif plan.sweep:
        what = x.t("what_sweep")
    else:
        what = x.t("what_single", base=x.base_label)
    memo = Memo(lang, x.t("title"), x.t("subtitle", what=what))
    for section in plan.sections:
        SECTIONS[section](memo, x)
    return memo
