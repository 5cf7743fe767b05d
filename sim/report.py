"""Figures and a policy memo from finished runs.

``outreach-sim-report RUN_OR_SWEEP_DIR... [--baseline NAME] [--lang en|zh] [--out DIR]`` reads
only run outputs (``summary.json``, ``.hydra/overrides.yaml``, ``config.json``,
``counties.parquet``, ``monthly.parquet``) and writes ``memo.html`` (self-contained: figures
embedded, opens offline), ``memo.md`` and the figures (``figures/*.png`` at 300 dpi and
``*.svg``) into ``--out`` (default: ``report/`` in the first folder).

Which figures apply depends on what the folders hold:

* always, for the baseline (or the reference cell of a sweep): a county map of the chosen
  indicator and a map of the binding limit (4), monthly cumulative reach (6), a Lorenz curve of
  county coverage (7);
* several scenarios: paired differences from the baseline (1), prefecture bars baseline vs each
  scenario (5), cost per additional family reached (8);
* a sweep over ``funding.multiplier`` (and a ``staffing.*`` key): dose-response (2) and a
  funding x staffing heatmap with the target contour (3).

The memo states the question, the scenarios compared, the headline differences with their
90 % intervals across seeds (each indicator with its provenance: input, calibrated or predicted,
MODEL.md section 7), the cost of each scenario by pot (association budgets, raised funds,
personnel budget) and, against the baseline, the cost per additional family reached per
indicator (:func:`sim.compare.cost_per_additional_family`), the figures with one-sentence
captions and a provenance footer (version, git commit, config hashes, seeds, scale). ``--lang zh``
writes it in Chinese when a CJK font is installed (e.g. Debian's ``fonts-noto-cjk``); otherwise it
says so and writes English.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import html
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import sim
from sim import plots
from sim.activities import POTS
from sim.compare import COST, PROVENANCE_PREFIX, UNDEFINED, compare, provenance_key, runs_table
from sim.errors import UserError
from sim.maps import attribution
from sim.metrics import EQUITY_INDICATORS, FAMILY_INDICATORS
from sim.results import POT_LABELS, PROVENANCE_LABELS

META = ("scenario", "seed", "scale", "package_version", "git_commit", "group", "config_hash")
FUNDING = "param.funding.multiplier"
MAX_PREFECTURE_FIGURES = 4
MAX_LORENZ_CURVES = 6

SCENARIO_ZH = {
    "baseline_2021": "2021年实际预算、人员和志愿者。",
    "budget_cut_20": "全部协会预算和项目资金减少20%（募集资金不变）。",
    "budget_plus_20": "全部协会预算和项目资金增加20%（募集资金不变）。",
    "digital_first": "30%的线下活动经费转向线上。",
    "need_based": "按需要分配经费，各渠道按其目标人群分配。",
    "per_capita_2yuan": "每个县的预算不低于每位常住人口2元。",
    "plan_2022": "2022年目标：特殊家庭“三个全覆盖”。",
    "staff_plus_20": "各级专职编制增加20%，计入其人员经费。",
    "township_staff_1": "每个乡镇至少一名专职人员，计入其编制经费。",
    "trained_lecturers": "10%的志愿者培训为同伴教育主持人，计入培训费用。",
    "volunteer_drive": "志愿者翻倍，每月补贴50元，由人员经费支付。",
}
"""Chinese descriptions of the scenarios (the English ones are in ``sim/conf/scenario/*.yaml``)."""

T = {
    "title": ("Outreach simulation memo", "计生协宣传服务模拟备忘录"),
    "subtitle": ("Hunan family planning association outreach: {what}", "湖南省计生协宣传服务：{what}"),
    "what_multi": ("{n} scenarios against {base}", "{n} 个情景与 {base} 的比较"),
    "what_sweep": ("funding × staffing sweep", "经费 × 人员配置扫描"),
    "what_single": ("scenario {base}", "情景 {base}"),
    "h_question": ("Question", "问题"),
    "q_multi": ("How would {others} change the coverage, cost and equity of outreach by Hunan's family "
                "planning association, compared with {base}?",
                "与 {base} 相比，{others} 会如何改变湖南省计生协宣传服务的覆盖率、成本和公平性？"),
    "q_sweep": ("How does {ind} respond to funding (×{fmin:g} to ×{fmax:g}) and to {staff}, and which "
                "combinations reach the {target:g} % target?",
                "{ind}如何随经费（×{fmin:g} 至 ×{fmax:g}）和{staff}变化？"
                "哪些组合能达到 {target:g}% 的目标？"),
    "q_single": ("What coverage, cost and equity does {base} give, and where is coverage lowest?",
                 "{base} 的覆盖率、成本和公平性如何？哪里覆盖率最低？"),
    "h_scenarios": ("Scenarios compared", "比较的情景"),
    "col_scenario": ("scenario", "情景"), "col_desc": ("what it changes", "改变了什么"),
    "col_runs": ("runs (seeds)", "运行次数（随机种子）"), "col_params": ("swept values", "扫描取值"),
    "baseline_mark": (" (baseline)", "（基线）"),
    "h_headline": ("Headline differences", "主要差异"),
    "h_headline_single": ("Headline results", "主要结果"),
    "interval_note": ("Differences are paired by seed (common random numbers); brackets give the 90 % "
                      "interval "
                      "(5th to 95th percentile) across {n} seeds. Coverage in % of eligible families, "
                      "differences in percentage points (pp).",
                      "差异按随机种子配对（共同随机数）；"
                      "方括号内为 {n} 个随机种子的 90% 区间（第5至第95百分位）。"
                      "覆盖率为占符合条件家庭的百分比，差异单位为百分点。"),
    "single_note": ("Mean across {n} seeds, with the 5-95 % range in brackets.",
                    "{n} 个随机种子的均值，方括号内为 5%-95% 范围。"),
    "col_indicator": ("indicator", "指标"), "col_value": ("value", "数值"),
    "m_multi": ("{label}: {ind} {d} pp {ci}; families reached {df} {dfci}; total cost {ds} M yuan {dsci}.",
                "{label}：{ind} {d} 个百分点 {ci}；覆盖家庭 {df} {dfci}；总成本 {ds} 百万元 {dsci}。"),
    "m_sweep_hit": ("With {lvl} {staff}, mean {ind} reaches the {target:g} % target from funding ×{f} "
                    "({v:.1f} %).",
                    "{staff}为 {lvl} 时，经费 ×{f} 起{ind}均值达到 {target:g}% 目标（{v:.1f}%）。"),
    "m_sweep_miss": ("With {lvl} {staff}, mean {ind} stays below the {target:g} % target "
                     "(at most {v:.1f} % at funding ×{f}).",
                     "{staff}为 {lvl} 时，{ind}均值未达到 {target:g}% 目标（最高 {v:.1f}%，经费 ×{f}）。"),
    "m_step": ("{what} {b} instead of {a}{at}: {ind} {d} pp {ci} ({n} paired seeds).",
               "{what}由 {a} 改为 {b}{at}：{ind} {d} 个百分点 {ci}（{n} 个配对随机种子）。"),
    "funding_word": ("funding", "经费"),
    "at_staff": (" (with {lvl} {staff})", "（{staff}为 {lvl}）"),
    "at_funding": (" (at funding ×{f})", "（经费 ×{f}）"),
    "m_single": ("{ind}: {v} {ci}.", "{ind}：{v} {ci}。"),
    "sweep_table": ("Mean {ind} (%; {prov}) by funding multiplier (columns) and {staff} (rows).",
                    "{ind}均值（%；{prov}），列为经费倍数，行为{staff}。"),
    "sweep_binding": ("Share of county-months (%) in which money / hands bound some activity, by funding "
                      "multiplier (columns) and {staff} (rows).",
                      "有活动受经费 / 人手限制的县·月比例（%），列为经费倍数，行为{staff}。"),
    "col_provenance": ("provenance", "来源类型"),
    "prov_note": ("Provenance: input = set by an assumption or an accounting identity; calibrated = a fitted "
                  "parameter makes it match a 2021 figure (so matching that figure is no validation); "
                  "predicted = a model result that no fitted parameter pins (MODEL.md section 7).",
                  "来源类型：输入 = 由假设或会计恒等式设定；校准 = 由拟合参数使其与2021年数据一致"
                  "（因此与该数据一致并不构成验证）；预测 = 没有拟合参数约束的模型结果。"),
    "h_cost": ("Costs", "成本"),
    "cost_note": ("Cost in the last simulated year by pot, in M yuan (mean across {n} seeds): association "
                  "budgets (province, prefecture and county budgets, project funds), raised funds and goods "
                  "(festival visits) and the personnel budget (paid posts, officers' stipends). Total cost is "
                  "the sum of the three pots.",
                  "最后一个模拟年度按资金来源分列的成本，单位百万元（{n} 个随机种子的均值）："
                  "协会预算（省、市、县预算及项目资金）、募集资金和物资（节日走访）、人员经费"
                  "（专职编制、村协会干部补贴）。总成本为三者之和。"),
    "col_total": ("total", "合计"), "col_d_total": ("Δ total vs {base}", "总成本与 {base} 之差"),
    "col_cpf": ("yuan (total cost) per family reached", "每覆盖一户的总成本（元）"),
    "h_cpaf": ("Cost per additional family reached", "每多覆盖一户的成本"),
    "cpaf_note": ("Yuan of total cost per additional family reached, per indicator, against {base}: the mean "
                  "over paired seeds of the difference in total cost divided by the mean difference in families "
                  "reached (persons, for the nursing subsidy). Undefined where the 90 % interval of the "
                  "difference in families reached includes 0.",
                  "相对 {base} 每多覆盖一户所需的总成本（元），按指标分列：配对随机种子总成本差的均值"
                  "除以覆盖户数差的均值（护理补贴按人计）。覆盖户数差的 90% 区间包含 0 时不予计算。"),
    "undefined": ("undefined", "不适用"),
    "dominant": ("{v} (reaches more for less)", "{v}（成本更低且覆盖更多）"),
    "dominated": ("{v} (reaches fewer for more)", "{v}（成本更高且覆盖更少）"),
    "saving": ("{v} (saved per family not reached)", "{v}（每少覆盖一户节省）"),
    "h_figures": ("Figures", "图"),
    "h_provenance": ("Provenance", "来源与可重复性"),
    "p_runs": ("{n} complete runs read from {dirs}; {miss} incomplete, {fail} failed.",
               "从 {dirs} 读取完整运行 {n} 次；未完成 {miss} 次，失败 {fail} 次。"),
    "p_version": ("outreach-sim version {v}; git commit {c}.", "outreach-sim 版本 {v}；git 提交 {c}。"),
    "p_seeds": ("Seeds {s}; population scale {sc}; {m} simulated months.",
                "随机种子 {s}；人口规模 {sc}；模拟 {m} 个月。"),
    "p_generated": ("Generated by outreach-sim-report {v} on {d}. Map: {attr}.",
                    "由 outreach-sim-report {v} 于 {d} 生成。地图{attr}。"),
    "col_group": ("group", "组"), "col_seeds": ("seeds", "随机种子"),
    "col_hashes": ("config hashes", "配置哈希"),
    "incomplete": ("incomplete", "未完成"), "failed": ("failed", "失败"),
    "unknown": ("unknown", "未知"),
    "figure": ("Figure {n}", "图 {n}"),
    # captions
    "c1": ("Of all coverage indicators, {label} changes {ind} most: {d:+.1f} pp (90 % interval {lo:+.1f} to "
           "{hi:+.1f}) against {base}.",
           "在各覆盖率指标中，{label} 对{ind}的改变最大："
           "相对 {base} {d:+.1f} 个百分点（90% 区间 {lo:+.1f} 至 {hi:+.1f}）。"),
    "c1_none": ("No scenario changes any coverage indicator against {base}.",
                "没有情景改变相对 {base} 的覆盖率指标。"),
    "c2": ("Mean {ind} goes from {a:.1f} % at funding ×{fa:g} to {b:.1f} % at ×{fb:g}; at a given funding "
           "level, staffing moves it by at most {s:.1f} pp.",
           "{ind}均值从经费 ×{fa:g} 时的 {a:.1f}% 升至 ×{fb:g} 时的 {b:.1f}%；"
           "在同一经费水平下，人员配置的影响最多 {s:.1f} 个百分点。"),
    "c3_hit": ("The black line marks where mean {ind} crosses {target:g} %; cells at or above {target:g} "
               "meet the target.",
               "黑线为{ind}均值等于 {target:g}% 的位置；数值不低于 {target:g} 的格子达到目标。"),
    "c3_never": ("Mean {ind} stays below the {target:g} % target in every cell (highest {v:.1f} %).",
                 "所有组合的{ind}均值都低于 {target:g}% 目标（最高 {v:.1f}%）。"),
    "c3_always": ("Mean {ind} meets the {target:g} % target in every cell (lowest {v:.1f} %).",
                  "所有组合的{ind}均值都达到 {target:g}% 目标（最低 {v:.1f}%）。"),
    "c4": ("Under {label}, {ind} is lowest in {lo} ({lov:.1f} %) and highest in {hi} ({hiv:.1f} %).",
           "在 {label} 下，{ind}最低的是{lo}（{lov:.1f}%），最高的是{hi}（{hiv:.1f}%）。"),
    "c4b": ("Under {label}, money was the binding limit in {m} of 122 counties and hands in {s} "
            "(binding some activity in at least half of the last year's months).",
            "在 {label} 下，122 个县中有 {m} 个县受经费约束，{s} 个县受人手约束"
            "（最后一年至少一半月份有活动受限）。"),
    "c4b_hands": (" Hands bound most often for {act} ({v:.0f} % of county-months): the hours of {roles} ran out.",
                  "人手最常限制的是{act}（{v:.0f}% 的县·月）：{roles}工时不足。"),
    "c5": ("Against {a}, {b} changes {ind} by {lo:+.1f} to {hi:+.1f} pp across the 14 prefectures.",
           "与 {a} 相比，{b} 使 14 个市州的{ind}变化 {lo:+.1f} 至 {hi:+.1f} 个百分点。"),
    "c6": ("By month {m}, {parts}; campaign months are shaded.",
           "到第 {m} 个月，{parts}；阴影为集中活动月。"),
    "c6_part": ("{s} {v:.0f} %", "{s} {v:.0f}%"),
    "c7": ("Across counties, {ind} has a Gini coefficient of {g:.3f} under {label}; the lowest county is "
           "{name} ({v:.1f} %).",
           "在 {label} 下，县际{ind}的基尼系数为 {g:.3f}；最低的是{name}（{v:.1f}%）。"),
    "c8": ("Each additional family reached under {label} costs {r:,.0f} yuan of total cost (seeds' 90 % "
           "interval {lo:,.0f} to {hi:,.0f}), against {avg:,.0f} yuan per family reached on average under "
           "{base}.",
           "在 {label} 下，每多覆盖一户需总成本 {r:,.0f} 元（各随机种子 90% 区间 {lo:,.0f} 至 {hi:,.0f}），"
           "而 {base} 下平均每覆盖一户 {avg:,.0f} 元。"),
    "c8_none": ("No scenario surely changes the number of families reached (the 90 % interval of every "
                "difference includes 0).", "没有情景确定地改变覆盖家庭数（各差值的 90% 区间均包含 0）。"),
    "sep": (", ", "，"),
    "pp": ("pp", "个百分点"),
    "m_yuan": (" (M yuan)", "（百万元）"),
    "pct": (" (%)", "（%）"),
}


def t(key: str, lang: str, **kw) -> str:
    return T[key][1 if lang == "zh" else 0].format(**kw)


# --------------------------------------------------------------------------- reading
def run_tables(runs: pd.DataFrame, name: str) -> pd.DataFrame:
    """``<name>.parquet`` of every run in ``runs``, stacked, with the run's :data:`META` columns."""
    frames = []
    for _, r in runs.iterrows():
        p = Path(r["run_dir"]) / f"{name}.parquet"
        if not p.is_file():
            continue
        d = pd.read_parquet(p)
        for c in META:
            if c in runs.columns:
                d[c] = r[c]
        frames.append(d)
    if not frames:
        raise UserError(f"no {name}.parquet in the runs of {', '.join(sorted(set(runs['group'])))}")
    return pd.concat(frames, ignore_index=True)


def scenario_descriptions(runs: pd.DataFrame, lang: str) -> dict[str, str]:
    out = {}
    for scen, g in runs.groupby("scenario"):
        desc = ""
        try:
            cfg = json.loads((Path(g["run_dir"].iloc[0]) / "config.json").read_text())
            desc = cfg["scenario"]["description"]
        except (OSError, KeyError, TypeError, json.JSONDecodeError):
            pass
        out[scen] = SCENARIO_ZH.get(scen, desc) if lang == "zh" else desc
    return out


# --------------------------------------------------------------------------- what to draw
@dataclass
class Plan:
    baseline: str
    base_rows: np.ndarray
    focus: str
    """The group drawn by the single-run figures (4, 6, 7)."""
    multi: bool
    sweep: bool
    staffing: str | None
    indicator: str
    county_indicator: str
    target: float
    comparators: list[str] = field(default_factory=list)
    """Non-baseline groups paired with the focus group (same swept values but the scenario)."""


def _coverage_cols(runs: pd.DataFrame) -> list[str]:
    return [c for c in runs.columns if c.startswith("coverage.")]


def _resolve_baseline(runs: pd.DataFrame, arg: str | None) -> str:
    scen = sorted(runs["scenario"].dropna().unique())
    if arg is None:
        return "scenario=" + ("baseline_2021" if "baseline_2021" in scen else scen[0])
    spec = arg if "=" in arg else f"scenario={arg}"
    if not plots.baseline_mask(runs, spec).any():
        raise UserError(f"--baseline {arg}: no complete run matches it (scenarios: {', '.join(scen)})")
    return spec


def make_plan(runs: pd.DataFrame, baseline: str | None, indicator: str | None, target: float) -> Plan:
    spec = _resolve_baseline(runs, baseline)
    base = plots.baseline_mask(runs, spec)
    multi = runs["scenario"].nunique() > 1
    scope = runs[base] if multi else runs
    varying = plots.varying_params(scope)
    sweep = FUNDING in varying
    staffing = plots.staffing_key(scope, None) if sweep else None
    # focus: the baseline group nearest funding 1.0 and the middle staffing level
    bg = runs[base].drop_duplicates("group")

    def score(r):
        f = abs(float(r[FUNDING]) - 1.0) if FUNDING in r and pd.notna(r[FUNDING]) else 0.0
        s = 0.0
        if staffing and pd.notna(r.get(staffing)):
            lv = np.sort(pd.to_numeric(bg[staffing], errors="coerce").dropna().unique())
            s = abs(float(r[staffing]) - lv[(len(lv) - 1) // 2])
        return (f, s, r["group"])

    focus = min((r for _, r in bg.iterrows()), key=score)["group"]
    focus_row = bg[bg["group"] == focus].iloc[0]
    comparators = []
    if multi:
        pcols = [c for c in runs.columns if c.startswith("param.")]
        for g, d in runs[~base].groupby("group", sort=True):
            r = d.iloc[0]
            if all(str(r[c]) == str(focus_row[c]) for c in pcols if c in r and pd.notna(r[c])
                   and pd.notna(focus_row.get(c)) and c != "param.population.scale"):
                comparators.append(g)
    cov = _coverage_cols(runs)
    county_ok = [f"coverage.{n}" for n in FAMILY_INDICATORS if f"coverage.{n}" in cov]
    if indicator:
        ind = indicator if indicator.startswith("coverage.") else f"coverage.{indicator}"
        if ind not in cov:
            raise UserError(f"--indicator {indicator}: no such coverage indicator "
                            f"(one of {', '.join(c.removeprefix('coverage.') for c in cov)})")
        cind = ind if ind in county_ok else None
    else:
        ind = cind = None
    if multi:
        paired = plots.paired_runs(runs, spec)
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
            g = f"equity.{plots.indicator_name(c)}.county_coverage_gini"
            return runs[g].mean() if g in runs.columns else -1.0

    def strongest(pool):
        return max(pool, key=lambda c: (np.nan_to_num(effect(c), nan=-1.0), c))

    # county figures (maps, Lorenz, prefectures) default to the equity indicators of the summary
    equity = [f"coverage.{n}" for n in EQUITY_INDICATORS if f"coverage.{n}" in cov] or county_ok
    if ind is None:
        ind = strongest(cov if (multi or sweep) else equity)
    if cind is None:
        cind = strongest(equity)
    return Plan(spec, base, focus, multi, sweep, staffing, ind, plots.indicator_name(cind), target,
                comparators)


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


# --------------------------------------------------------------------------- memo tables
HEADLINE_FORMATS = {
    "families_reached": ("", 1, "{:,.0f}", "{:+,.0f}"),
    COST: ("m_yuan", 1e-6, "{:,.1f}", "{:+,.1f}"),
    "cost_per_family_reached_yuan": ("", 1, "{:,.1f}", "{:+,.1f}"),
    "binding.money": ("pct", 100, "{:.1f}", "{:+.1f}"),
    "binding.hands": ("pct", 100, "{:.1f}", "{:+.1f}"),
}
"""Indicators of the headline tables after coverage: (label suffix, or a key of T; scale;
format of values; format of differences)."""


def _format(indicator: str, lang: str) -> tuple[str, float, str, str]:
    unit, scale, vfmt, dfmt = HEADLINE_FORMATS.get(indicator, ("pct", 100, "{:.1f}", "{:+.1f}"))
    return (t(unit, lang) if unit in T else unit), scale, vfmt, dfmt


def _label(indicator: str, lang: str) -> str:
    """The indicator's label without a unit in brackets (the table adds its own)."""
    label = plots.indicator_label(indicator, lang)
    return label.split(" (")[0].split("（")[0] if indicator in (COST, "spend_yuan.total") else label


def _prov(runs: pd.DataFrame, indicator: str, lang: str) -> str:
    """The indicator's provenance (input / calibrated / predicted) as the runs' summaries give
    it, in ``lang``; ``-`` where they say nothing."""
    col = PROVENANCE_PREFIX + provenance_key(indicator)
    if col not in runs.columns:
        return "-"
    vals = sorted({str(v) for v in runs[col].dropna()})
    return "/".join(PROVENANCE_LABELS.get(v, (v, v))[1 if lang == "zh" else 0] for v in vals) or "-"


def _group_sort(runs: pd.DataFrame, group: str):
    r = runs[runs["group"] == group].iloc[0]
    return tuple(_sortkey(str(r[c])) for c in plots.varying_params(runs)) + (group,)


def cost_table(runs: pd.DataFrame, groups: list[str], labels: dict, lang: str, cmp: pd.DataFrame | None = None,
               base_label: str = "") -> tuple[list[str], list[list[str]]]:
    """Cost by pot per group (rows): association budgets, raised funds, personnel budget, total
    (M yuan, mean of the seeds), total cost per family reached and, with ``cmp``, the paired
    difference of the total from the baseline with its 90 % interval."""
    i = 1 if lang == "zh" else 0
    header = [t("col_group", lang)] + [POT_LABELS[k][i] + t("m_yuan", lang) for k in POTS] + \
        [t("col_total", lang) + t("m_yuan", lang), t("col_cpf", lang)]
    if cmp is not None:
        header.append(t("col_d_total", lang, base=base_label) + t("m_yuan", lang))
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
        return t("undefined", lang)
    if not np.isfinite(value):
        return "-"
    v = f"{value:,.0f}"
    for kind in ("dominant", "dominated", "saving"):
        if note.startswith(kind):
            return t(kind, lang, v=v)
    return v


def cost_per_family_table(cmp: pd.DataFrame, runs: pd.DataFrame, groups: list[str], labels: dict,
                          lang: str) -> tuple[list[str], list[list[str]]]:
    """Yuan of total cost per additional family reached: one row per coverage indicator (with its
    provenance), one column per group (from :func:`sim.compare.compare`)."""
    c = cmp[cmp["group"].isin(groups) & cmp["indicator"].str.startswith("coverage.")]
    header = [t("col_indicator", lang), t("col_provenance", lang)] + [labels.get(g, g) for g in groups]
    rows = []
    for ind in dict.fromkeys(c["indicator"]):
        row = [plots.indicator_label(ind, lang), _prov(runs, ind, lang)]
        for g in groups:
            r = c[(c["group"] == g) & (c["indicator"] == ind)]
            row.append("-" if r.empty else cost_per_family_cell(r["cost_per_additional_family_yuan"].iloc[0],
                                                                 r["cost_per_additional_family_note"].iloc[0],
                                                                 lang))
        rows.append(row)
    return header, rows


# --------------------------------------------------------------------------- the memo
@dataclass
class FigureEntry:
    key: str
    title: str
    caption: str
    png: Path
    svg: Path


@dataclass
class Memo:
    lang: str
    title: str
    subtitle: str
    blocks: list = field(default_factory=list)
    """("h2", text) | ("p", text) | ("ul", [items]) | ("table", header, rows) | ("figure", FigureEntry, n)"""

    def add(self, *block) -> None:
        self.blocks.append(block)


def _figures(plan: Plan, runs: pd.DataFrame, cmp: pd.DataFrame | None, lang: str, out: Path,
             log) -> list[FigureEntry]:
    labels = plots.group_labels(runs)
    entries = []

    def emit(key, fig, caption):
        png, svg = plots.save(fig, out, key)
        title = " ".join(fig.get_suptitle().split())  # the figure's title is wrapped; the memo's is not
        entries.append(FigureEntry(key, title, caption, png, svg))
        log(f"  figure {key}: {png.name}, {svg.name}")

    focus_runs = runs[runs["group"] == plan.focus]
    focus_label = labels.get(plan.focus, plan.focus)
    base_label = labels.get(plan.focus, plan.focus)  # the baseline cell the others are paired with
    ind_l = plots.indicator_label(plan.indicator, lang)
    cind_l = plots.indicator_label(plan.county_indicator, lang)

    # 1 scenario comparison
    if plan.multi and cmp is not None:
        c = cmp[cmp["group"].isin(plan.comparators) | cmp["is_baseline"].astype(bool)]
        if plan.comparators:
            c = c[~c["is_baseline"].astype(bool) | (c["group"] == plan.focus)]
        fig = plots.scenario_comparison(c, lang=lang, runs=runs)
        cov = c[c["indicator"].str.startswith("coverage.") & ~c["is_baseline"].astype(bool)
                & (c["n_pairs"] > 0)]
        if len(cov) and cov["diff_mean"].abs().max() > 0:
            r = cov.loc[cov["diff_mean"].abs().idxmax()]
            cap = t("c1", lang, label=labels.get(r["group"], r["group"]),
                    ind=plots.indicator_label(r["indicator"], lang), d=100 * r["diff_mean"],
                    lo=100 * r["diff_p5"], hi=100 * r["diff_p95"], base=base_label)
        else:
            cap = t("c1_none", lang, base=base_label)
        emit("fig1_scenario_comparison", fig, cap)

    # 2, 3 funding x staffing
    if plan.sweep:
        scope = runs[plan.base_rows] if plan.multi else runs
        fig = plots.dose_response(scope, plan.indicator, staffing=plan.staffing, lang=lang)
        d = scope.assign(_f=pd.to_numeric(scope[FUNDING]),
                         _s=pd.to_numeric(scope[plan.staffing]) if plan.staffing else 0.0)
        grid = d.groupby(["_s", "_f"])[plan.indicator].mean().unstack().sort_index(axis=1)
        avg = grid.mean(axis=0)
        spread = float(np.nanmax(grid.max(axis=0) - grid.min(axis=0))) if len(grid) else 0.0
        cap = t("c2", lang, ind=ind_l, a=100 * avg.iloc[0], fa=avg.index[0], b=100 * avg.iloc[-1],
                fb=avg.index[-1], s=100 * spread)
        emit("fig2_dose_response", fig, cap)
        if plan.staffing and grid.shape[0] >= 2 and grid.shape[1] >= 2:
            fig = plots.heatmap(scope, plan.indicator, target=plan.target, staffing=plan.staffing, lang=lang)
            z = grid.to_numpy(float)
            tg = 100 * plan.target
            if np.nanmax(z) < plan.target:
                cap = t("c3_never", lang, ind=ind_l, target=tg, v=100 * np.nanmax(z))
            elif np.nanmin(z) >= plan.target:
                cap = t("c3_always", lang, ind=ind_l, target=tg, v=100 * np.nanmin(z))
            else:
                cap = t("c3_hit", lang, ind=ind_l, target=tg)
            emit("fig3_heatmap", fig, cap)

    # 4 maps
    counties = run_tables(focus_runs, "counties")
    fig = plots.coverage_map(counties, plan.county_indicator, lang=lang)
    v = plots.county_values(counties, f"coverage_{plan.county_indicator}")
    lo, hi = v.loc[v["value"].idxmin()], v.loc[v["value"].idxmax()]
    cap = t("c4", lang, label=focus_label, ind=cind_l, lo=plots.county_name(lo, lang), lov=100 * lo["value"],
            hi=plots.county_name(hi, lang), hiv=100 * hi["value"])
    emit("fig4_county_map", fig, cap)
    fig = plots.binding_map(counties, lang=lang)
    cat = plots.binding_categories(counties).value_counts()
    cap = t("c4b", lang, label=focus_label, m=int(cat.get("bind_money", 0) + cat.get("bind_both", 0)),
            s=int(cat.get("bind_hands", 0) + cat.get("bind_both", 0)))
    most = plots.hands_bound_most(counties)
    if most:
        cap += t("c4b_hands", lang, act=plots.activity_label(most[0], lang), v=100 * most[1],
                 roles=plots.join_words([plots.role_label(r, lang) for r in most[2]], lang))
    emit("fig4b_binding_map", fig, cap)

    # 5 prefecture bars
    if plan.multi and plan.comparators:
        paired = plots.paired_runs(runs, plan.baseline)
        col = f"coverage.{plan.county_indicator}"
        eff = {g: (d[col] - d[col + "_base"]).abs().mean() for g, d in paired.groupby("group")}
        chosen = sorted(plan.comparators, key=lambda g: -eff.get(g, 0.0))[:MAX_PREFECTURE_FIGURES]
        for k, g in enumerate(sorted(chosen)):
            cb = run_tables(runs[runs["group"] == g], "counties")
            fig = plots.prefecture_bars(counties, cb, plan.county_indicator, label_a=focus_label,
                                        label_b=labels.get(g, g), lang=lang)
            pa = plots.prefecture_values(counties, plan.county_indicator, lang)
            pb = plots.prefecture_values(cb, plan.county_indicator, lang).reindex(pa.index)
            dd = 100 * (pb["mean"] - pa["mean"])
            cap = t("c5", lang, a=focus_label, b=labels.get(g, g), ind=cind_l, lo=dd.min(), hi=dd.max())
            emit(f"fig5_prefectures_{k + 1}", fig, cap)

    # 6 cumulative reach
    monthly = run_tables(focus_runs, "monthly")
    fig = plots.cumulative_reach(monthly, lang=lang)
    last = monthly[monthly["month"] == monthly["month"].max()]
    parts = [t("c6_part", lang, s=plots.MONTHLY_SERIES[s][1 if lang == "zh" else 0], v=100 * last[s].median())
             for s in plots.MONTHLY_SERIES if s in last.columns][:3]
    emit("fig6_cumulative_reach", fig,
         t("c6", lang, m=int(monthly["month"].max()), parts=t("sep", lang).join(parts)))

    # 7 Lorenz
    tables = {focus_label: counties}
    for g in plan.comparators[:MAX_LORENZ_CURVES - 1]:
        tables[labels.get(g, g)] = run_tables(runs[runs["group"] == g], "counties")
    fig = plots.lorenz(tables, plan.county_indicator, lang=lang)
    cap = t("c7", lang, ind=cind_l, g=plots.mean_gini(counties, plan.county_indicator), label=focus_label,
            name=plots.county_name(lo, lang),
            v=100 * lo["value"])
    emit("fig7_lorenz", fig, cap)

    # 8 cost-effectiveness
    if plan.multi and plan.comparators:
        sub = runs[runs["group"].isin(plan.comparators) | (runs["group"] == plan.focus)]
        fig = plots.cost_effectiveness(sub, baseline=plan.baseline, lang=lang)
        ic = plots.incremental_costs(sub, plan.baseline).dropna(subset=["ratio"])
        base = sub[plots.baseline_mask(sub, plan.baseline)]
        avg = float((base[plots.cost_column(sub)] / base["families_reached"]).mean())
        if len(ic):
            r = ic.loc[ic["d_families"].idxmax()]
            cap = t("c8", lang, label=labels.get(r["group"], r["group"]), r=r["ratio"], lo=r["ratio_p5"],
                    hi=r["ratio_p95"], avg=avg, base=base_label)
        else:
            cap = t("c8_none", lang)
        emit("fig8_cost_effectiveness", fig, cap)
    return entries


def _sweep_steps(plan: Plan, scope: pd.DataFrame, lang: str) -> list[str]:
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
                        return "×" + plots.fmt_multiplier(x)
                else:
                    def fmt(x):
                        return f"{float(x):g}"
                what = t("funding_word", lang) if k == FUNDING else plots.param_label(k, lang)
                what = what[:1].upper() + what[1:]
                if k == FUNDING:
                    at = (t("at_staff", lang, lvl=f"{float(ref[plan.staffing]):g}",
                            staff=plots.param_label(plan.staffing, lang)) if plan.staffing else "")
                else:
                    at = t("at_funding", lang, f=plots.fmt_multiplier(ref[FUNDING]))
                out.append(t("m_step", lang, what=what, a=fmt(ref[k]), b=fmt(levels[j]), at=at,
                             ind=plots.indicator_label(plan.indicator, lang), d=_pp(r["diff_mean"]),
                             ci=_ci(r["diff_p5"], r["diff_p95"]), n=int(r["n_pairs"])))
    return out


def build_memo(plan: Plan, runs: pd.DataFrame, cmp: pd.DataFrame | None, figures: list[FigureEntry],
               lang: str, dirs: list[str], missing: list, failed: list) -> Memo:
    labels = plots.group_labels(runs)
    base_label = labels.get(plan.focus, plan.focus)  # the baseline cell the others are paired with
    focus_label = labels.get(plan.focus, plan.focus)
    ind_l = plots.indicator_label(plan.indicator, lang)
    sep = t("sep", lang)
    if plan.multi:
        what = t("what_multi", lang, n=runs["scenario"].nunique(), base=base_label)
    elif plan.sweep:
        what = t("what_sweep", lang)
    else:
        what = t("what_single", lang, base=focus_label)
    memo = Memo(lang, t("title", lang), t("subtitle", lang, what=what))

    # question
    memo.add("h2", t("h_question", lang))
    if plan.multi:
        others = sep.join(labels.get(g, g) for g in plan.comparators) or "?"
        memo.add("p", t("q_multi", lang, others=others, base=base_label))
    elif plan.sweep:
        f = pd.to_numeric(runs[FUNDING])
        memo.add("p", t("q_sweep", lang, ind=ind_l, fmin=f.min(), fmax=f.max(),
                        staff=plots.param_label(plan.staffing, lang) if plan.staffing else "-",
                        target=100 * plan.target))
    else:
        memo.add("p", t("q_single", lang, base=focus_label))

    # scenarios
    memo.add("h2", t("h_scenarios", lang))
    desc = scenario_descriptions(runs, lang)
    rows = []
    pcols = plots.varying_params(runs)
    for scen, g in runs.groupby("scenario", sort=True):
        swept = sep.join(f"{plots.param_label(c, lang)}: "
                         f"{', '.join(sorted(g[c].astype(str).unique(), key=_sortkey))}"
                         for c in pcols if g[c].notna().any())
        is_base = plan.base_rows[runs.index.get_indexer(g.index)].all()
        mark = t("baseline_mark", lang) if is_base else ""
        rows.append([f"{scen}{mark}", desc.get(scen, ""), f"{len(g)} ({plots.seeds_text(g['seed'])})",
                     swept or "-"])
    header = [t(k, lang) for k in ("col_scenario", "col_desc", "col_runs", "col_params")]
    memo.add("table", header, rows)

    # headline
    if plan.multi and cmp is not None and plan.comparators:
        memo.add("h2", t("h_headline", lang))
        n = int(cmp.loc[cmp["group"].isin(plan.comparators), "n_pairs"].max())
        memo.add("p", t("interval_note", lang, n=n))
        cost_ind = COST if COST in set(cmp["indicator"]) else "spend_yuan.total"
        items = []
        for g in plan.comparators:
            c = cmp[(cmp["group"] == g)].set_index("indicator")
            if plan.indicator not in c.index:
                continue
            r, fr, sp = c.loc[plan.indicator], c.loc["families_reached"], c.loc[cost_ind]
            items.append(t("m_multi", lang, label=labels.get(g, g), ind=ind_l, d=_pp(r["diff_mean"]),
                           ci=_ci(r["diff_p5"], r["diff_p95"]), df=f"{fr['diff_mean']:+,.0f}",
                           dfci=_ci(fr["diff_p5"], fr["diff_p95"], 1, "{:+,.0f}"),
                           ds=f"{sp['diff_mean'] / 1e6:+,.1f}", dsci=_ci(sp["diff_p5"], sp["diff_p95"], 1e-6)))
        memo.add("ul", items)
        header = [t("col_indicator", lang), t("col_provenance", lang), base_label] + \
            [labels.get(g, g) for g in plan.comparators]
        base_c = cmp[cmp["group"] == plan.focus].set_index("indicator")
        rows = []
        inds = [i for i in base_c.index if i.startswith("coverage.")]
        inds += [i for i in HEADLINE_FORMATS if i in base_c.index]
        for i in inds:
            unit, scale, vfmt, dfmt = _format(i, lang)
            row = [_label(i, lang) + unit, _prov(runs, i, lang), vfmt.format(scale * base_c.loc[i, "mean"])]
            for g in plan.comparators:
                c = cmp[(cmp["group"] == g) & (cmp["indicator"] == i)]
                if c.empty or not c["n_pairs"].iloc[0]:
                    row.append("-")
                    continue
                c = c.iloc[0]
                pp = f" {t('pp', lang)}" if scale == 100 else ""
                ci = _ci(c["diff_p5"], c["diff_p95"], scale, dfmt)
                row.append(f"{dfmt.format(scale * c['diff_mean'])}{pp} {ci}")
            rows.append(row)
        memo.add("table", header, rows)
        memo.add("p", t("prov_note", lang))
    elif plan.sweep:
        memo.add("h2", t("h_headline", lang))
        scope = runs[plan.base_rows] if plan.multi else runs
        d = scope.assign(_f=pd.to_numeric(scope[FUNDING]),
                         _s=pd.to_numeric(scope[plan.staffing]) if plan.staffing else 0.0)
        grid = d.groupby(["_s", "_f"])[plan.indicator].mean().unstack().sort_index(axis=1)
        staff_l = plots.param_label(plan.staffing, lang) if plan.staffing else ""
        items = []
        for lvl, r in grid.iterrows():
            hit = r[r >= plan.target]
            if len(hit):
                items.append(t("m_sweep_hit", lang, lvl=f"{lvl:g}", staff=staff_l, ind=ind_l,
                               target=100 * plan.target, f=plots.fmt_multiplier(hit.index[0]),
                               v=100 * hit.iloc[0]))
            else:
                items.append(t("m_sweep_miss", lang, lvl=f"{lvl:g}", staff=staff_l, ind=ind_l,
                               target=100 * plan.target, f=plots.fmt_multiplier(r.idxmax()), v=100 * r.max()))
        steps = _sweep_steps(plan, scope, lang)
        memo.add("ul", items + steps)
        if steps:
            memo.add("p", t("interval_note", lang, n=int(scope.groupby("group")["seed"].nunique().min())))
        memo.add("p", t("sweep_table", lang, ind=ind_l, staff=staff_l, prov=_prov(runs, plan.indicator, lang)))
        memo.add("table", [staff_l] + [f"×{plots.fmt_multiplier(f)}" for f in grid.columns],
                 [[f"{lvl:g}"] + [f"{100 * x:.1f}" for x in r] for lvl, r in grid.iterrows()])
        if {"binding.money", "binding.hands"} <= set(d.columns):
            money, hands = (d.groupby(["_s", "_f"])[c].mean().unstack().reindex_like(grid)
                            for c in ("binding.money", "binding.hands"))
            memo.add("p", t("sweep_binding", lang, staff=staff_l))
            rows = []
            for lvl in grid.index:
                pairs = zip(money.loc[lvl], hands.loc[lvl], strict=True)
                rows.append([f"{lvl:g}"] + [f"{100 * a:.1f} / {100 * b:.1f}" for a, b in pairs])
            memo.add("table", [staff_l] + [f"×{plots.fmt_multiplier(f)}" for f in grid.columns], rows)
        memo.add("p", t("prov_note", lang))
    else:
        memo.add("h2", t("h_headline_single", lang))
        g = runs[runs["group"] == plan.focus]
        memo.add("p", t("single_note", lang, n=g["seed"].nunique()))
        rows = []
        for i in _coverage_cols(g):
            v, ci = _pct_ci(g[i])
            rows.append([plots.indicator_label(i, lang), _prov(g, i, lang), f"{v} {ci}"])
        for i in HEADLINE_FORMATS:
            if i in g.columns:
                unit, scale, vfmt, _ = _format(i, lang)
                v, ci = _num_ci(g[i], scale, vfmt)
                rows.append([_label(i, lang) + unit, _prov(g, i, lang), f"{v} {ci}"])
        for e in EQUITY_INDICATORS:
            col = f"equity.{e}.county_coverage_gini"
            if col in g.columns:
                v, ci = _num_ci(g[col], 1, "{:.3f}")
                rows.append([plots.indicator_label(col, lang), "-", f"{v} {ci}"])
        memo.add("table", [t("col_indicator", lang), t("col_provenance", lang), t("col_value", lang)], rows)
        memo.add("p", t("prov_note", lang))

    # costs
    if COST in runs.columns:
        memo.add("h2", t("h_cost", lang))
        groups = ([plan.focus] + plan.comparators) if plan.multi else \
            ([plan.focus] if not plan.sweep else sorted(runs.loc[plan.base_rows, "group"].unique(),
                                                         key=lambda g: _group_sort(runs, g)))
        scope = runs[runs["group"].isin(groups)]
        memo.add("p", t("cost_note", lang, n=int(scope.groupby("group")["seed"].nunique().min())))
        header, rows = cost_table(runs, groups, labels, lang, cmp if plan.multi else None, base_label)
        memo.add("table", header, rows)
        if plan.multi and cmp is not None and plan.comparators:
            memo.add("h2", t("h_cpaf", lang))
            memo.add("p", t("cpaf_note", lang, base=base_label))
            header, rows = cost_per_family_table(cmp, runs, plan.comparators, labels, lang)
            memo.add("table", header, rows)

    # figures
    memo.add("h2", t("h_figures", lang))
    for n, f in enumerate(figures, 1):
        memo.add("figure", f, n)

    # provenance
    memo.add("h2", t("h_provenance", lang))
    commits = sorted({str(c) for c in runs["git_commit"].dropna()}) or [t("unknown", lang)]
    versions = sorted({str(v) for v in runs["package_version"].dropna()}) or ["?"]
    memo.add("p", t("p_runs", lang, n=len(runs), dirs=", ".join(dirs), miss=len(missing), fail=len(failed)))
    memo.add("p", t("p_version", lang, v=", ".join(versions), c=", ".join(commits)))
    memo.add("p", t("p_seeds", lang, s=plots.seeds_text(runs["seed"]),
                    sc=", ".join(sorted({f"{x:g}" for x in runs["scale"].dropna()})),
                    m=", ".join(sorted({str(int(x)) for x in runs["months"].dropna()}))))
    rows = []
    for g, d in runs.groupby("group", sort=True):
        rows.append([labels.get(g, g) or g, plots.seeds_text(d["seed"]),
                     " ".join(sorted(map(str, d["config_hash"])))])
    memo.add("table", [t("col_group", lang), t("col_seeds", lang), t("col_hashes", lang)], rows)
    if missing or failed:
        memo.add("ul", [f"{t('incomplete', lang)}: {p}" for p in missing]
                 + [f"{t('failed', lang)}: {p}" for p in failed])
    memo.add("p", t("p_generated", lang, v=sim.__version__, d=dt.date.today().isoformat(), attr=attribution(lang)))
    return memo


def _sortkey(x: str):
    try:
        return (0, float(x), x)
    except ValueError:
        return (1, 0.0, x)


# --------------------------------------------------------------------------- rendering
def _md_cell(x) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def render_md(memo: Memo, out: Path) -> str:
    lines = [f"# {memo.title}", "", f"*{memo.subtitle}*", ""]
    for b in memo.blocks:
        kind = b[0]
        if kind == "h2":
            lines += [f"## {b[1]}", ""]
        elif kind == "p":
            lines += [b[1], ""]
        elif kind == "ul":
            lines += [f"- {x}" for x in b[1]] + [""]
        elif kind == "table":
            header, rows = b[1], b[2]
            lines.append("| " + " | ".join(map(_md_cell, header)) + " |")
            lines.append("|" + "---|" * len(header))
            lines += ["| " + " | ".join(map(_md_cell, r)) + " |" for r in rows]
            lines.append("")
        elif kind == "figure":
            f, n = b[1], b[2]
            rel = f.png.relative_to(out).as_posix()
            lines += [f"### {t('figure', memo.lang, n=n)}. {f.title}", "", f"![{f.title}]({rel})", "",
                      f"{f.caption} ([SVG]({f.svg.relative_to(out).as_posix()}))", ""]
    return "\n".join(lines)


CSS = """
body { font-family: "DejaVu Sans", "Noto Sans CJK SC", "Noto Sans", Arial, sans-serif; color: #111;
       max-width: 60em; margin: 2em auto; padding: 0 1.5em; line-height: 1.45; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: 0.1em; } h2 { font-size: 1.25em; border-bottom: 1px solid #999;
     padding-bottom: 0.15em; margin-top: 1.6em; }
.subtitle { color: #444; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.88em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.55em; text-align: left; vertical-align: top; }
th { background: #eee; } td { font-variant-numeric: tabular-nums; }
figure { margin: 1.2em 0 1.8em; } figure img { width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.92em; color: #222; margin-top: 0.3em; }
footer, .provenance { font-size: 0.85em; color: #333; }
"""


def render_html(memo: Memo) -> str:
    e = html.escape
    lang = "zh-CN" if memo.lang == "zh" else "en"
    parts = [f"<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">",
             f"<title>{e(memo.title)}</title>", f"<style>{CSS}</style>\n</head>\n<body>",
             f"<h1>{e(memo.title)}</h1>", f"<p class=\"subtitle\">{e(memo.subtitle)}</p>"]
    for b in memo.blocks:
        kind = b[0]
        if kind == "h2":
            parts.append(f"<h2>{e(b[1])}</h2>")
        elif kind == "p":
            parts.append(f"<p>{e(b[1])}</p>")
        elif kind == "ul":
            parts.append("<ul>" + "".join(f"<li>{e(x)}</li>" for x in b[1]) + "</ul>")
        elif kind == "table":
            head = "".join(f"<th>{e(str(h))}</th>" for h in b[1])
            body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in b[2])
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif kind == "figure":
            f, n = b[1], b[2]
            data = base64.b64encode(f.png.read_bytes()).decode("ascii")
            parts.append(f"<figure id=\"{e(f.key)}\">"
                         f"<img src=\"data:image/png;base64,{data}\" alt=\"{e(f.title)}\">"
                         f"<figcaption><b>{e(t('figure', memo.lang, n=n))}.</b> {e(f.caption)}</figcaption>"
                         "</figure>")
    parts.append("</body>\n</html>\n")
    return "\n".join(parts)


# --------------------------------------------------------------------------- command
def report(dirs: list[str], *, baseline: str | None = None, lang: str = "en", out: str | Path | None = None,
           indicator: str | None = None, target: float = 0.8, log=print) -> dict:
    """Write the memo and figures; returns the paths. Raises :class:`UserError` on bad input."""
    runs, missing, failed = runs_table(dirs)
    if runs.empty:
        raise UserError(f"no complete runs under {', '.join(map(str, dirs))} "
                        f"({len(missing)} incomplete, {len(failed)} failed)")
    if target > 1:
        target = target / 100
    if not 0 < target <= 1:
        raise UserError(f"--target {target}: must be a share in (0, 1] or a percentage in (1, 100]")
    out = Path(out) if out else Path(dirs[0]) / "report"
    log(f"read {len(runs)} complete runs in {runs['group'].nunique()} groups "
        f"({len(missing)} incomplete, {len(failed)} failed)")
    plan = make_plan(runs, baseline, indicator, target)
    cmp = compare(runs, plan.baseline) if plan.multi else None
    log(f"baseline {plan.baseline}; indicator {plan.indicator}; county figures: {plan.county_indicator}")
    fig_dir = out / "figures"
    for old in (*fig_dir.glob("fig*.png"), *fig_dir.glob("fig*.svg")):  # figures of an earlier report
        old.unlink()
    with plots.style(lang):
        figures = _figures(plan, runs, cmp, lang, fig_dir, log)
    memo = build_memo(plan, runs, cmp, figures, lang, [str(d) for d in dirs], missing, failed)
    out.mkdir(parents=True, exist_ok=True)
    md, page = out / "memo.md", out / "memo.html"
    md.write_text(render_md(memo, out), encoding="utf-8")
    page.write_text(render_html(memo), encoding="utf-8")
    return {"html": page, "md": md, "figures": fig_dir, "n_figures": len(figures)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="outreach-sim-report", description=__doc__.split("\n\n")[1])
    ap.add_argument("dirs", nargs="+", metavar="RUN_OR_SWEEP_DIR", help="run or sweep folders")
    ap.add_argument("--baseline", default=None,
                    help="baseline scenario NAME, or key=value[,key=value] "
                         "(default: baseline_2021 if present)")
    ap.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the memo and figures")
    ap.add_argument("--out", default=None, help="output folder (default: <first dir>/report)")
    ap.add_argument("--indicator", default=None,
                    help="coverage indicator for the headline, maps and sweep figures "
                         "(default: chosen by effect size)")
    ap.add_argument("--target", type=float, default=0.8,
                    help="coverage target of the heatmap contour (default 0.8)")
    args = ap.parse_args(argv)
    lang = args.lang
    if lang == "zh" and plots.cjk_font() is None:
        print("note: no CJK font found; writing the memo in English", file=sys.stderr)
        lang = "en"
    try:
        paths = report(args.dirs, baseline=args.baseline, lang=lang, out=args.out, indicator=args.indicator,
                       target=args.target)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    n = paths["n_figures"]
    print(f"memo: {paths['html']}\n      {paths['md']}\n"
          f"figures: {paths['figures']} ({n} PNG at 300 dpi + SVG)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
