"""Figures for planners: one plain function per figure, each taking pandas tables of run outputs
and returning a :class:`matplotlib.figure.Figure` (no pyplot, no global state; the Agg canvas
is used when saving, whatever the backend).

Tables (built by :mod:`sim.report` from the files a run writes, see :mod:`sim.results`):

* ``runs``: the runs table of :func:`sim.compare.runs_table` (one row per run);
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
from sim.calendar import campaigns as campaigns_of
from sim.compare import COST, cost_per_additional_family
from sim.metrics import COVERAGE, gini
from sim.results import POT_LABELS

# Okabe & Ito (2008), ordered so neighbours differ in lightness as well as hue.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#000000", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)))
HATCHES = ("", "///", "...", "xxx", "\\\\\\", "ooo", "++", "--")
CMAP = "cividis"
DPI = 300
WIDTH = 7.5
"""Figure width in inches (fits an A4 page with margins)."""

COVERAGE_NAMES = COVERAGE
"""Coverage indicators in the summary's order (:data:`sim.metrics.COVERAGE`)."""

ROLE_LABELS = {"staff": ("paid staff", "专职人员"), "officer": ("village officers", "村协会干部"),
               "volunteer": ("volunteers", "志愿者"), "lecturer": ("trained lecturers", "同伴教育主持人")}
"""The roles of :data:`sim.activities.ROLES` (kinds of hands)."""

ACTIVITY_LABELS = {
    "insurance": ("free insurance enrolment", "免费保险参保"),
    "nursing_subsidy": ("nursing subsidy claims", "护理补贴申领"),
    "livelihood": ("livelihood projects", "生计帮扶项目"),
    "contact_persons": ("contact persons", "双岗联系人"),
    "lecturer_training": ("training of peer lecturers", "同伴教育主持人培训"),
    "youth_lectures": ("youth health lectures", "青少年健康讲座"),
    "policy_events": ("policy publicity events", "政策宣传活动"),
    "family_health_events": ("family health events", "家庭健康活动"),
    "online": ("county online outreach", "县级线上宣传"),
    "livestreams": ("livestreams", "直播"),
    "province_web": ("province web publicity", "省级网络宣传"),
    "visits": ("festival and condolence visits", "节日慰问走访"),
    "volunteer_support": ("volunteer support", "志愿者保障"),
}
"""The activities of :data:`sim.activities.NAMES`."""

INDICATORS = {
    "youth_education": ("youth reached by health education", "青少年健康教育覆盖"),
    "family_health": ("families at a family health event", "家庭健康活动参与"),
    "policy_awareness": ("families aware of the birth policy", "生育政策知晓"),
    "special_visited": ("special families visited", "计生特殊家庭走访"),
    "special_insured": ("special families insured", "计生特殊家庭参保"),
    "special_contact_person": ("special families with a contact person", "特殊家庭有联系人"),
    "special_three_full": ("special families with all three services", "特殊家庭“三个全覆盖”"),
    "nursing_subsidy_met": ("nursing subsidy claims met", "住院护理补贴兑现"),
    "hardship_assisted": ("hardship families assisted", "困难家庭帮扶"),
    "elderly_visited": ("elderly families in difficulty visited", "困难老年家庭走访"),
    "families_reached": ("families reached", "覆盖家庭数"),
    "spend_yuan.total": ("spending (yuan)", "支出（元）"),
    "cost.total_yuan": ("total cost (yuan)", "总成本（元）"),
    **{f"cost.by_pot.{k}": (f"cost: {en} (yuan)", f"成本：{zh}（元）") for k, (en, zh) in POT_LABELS.items()},
    "cost_per_family_reached_yuan": ("yuan (total cost) per family reached", "每覆盖一户的总成本（元）"),
    "execution_rate": ("project-fund execution rate", "项目资金执行率"),
    "binding.money": ("county-months where money bound", "经费受限的县·月比例"),
    "binding.hands": ("county-months where hands bound", "人手受限的县·月比例"),
    "volunteers.end": ("active volunteers at the end", "期末在岗志愿者"),
    **{f"hands.{r}.used_share": (f"{en}: share of hours used", f"{zh}工时使用率")
       for r, (en, zh) in ROLE_LABELS.items()},
}

PARAMS = {
    "funding.multiplier": ("funding multiplier (1.0 = 2021 budgets)", "经费倍数（1.0 = 2021年预算）"),
    "staffing.volunteers_per_village": ("volunteers per village", "每村志愿者（人）"),
    "staffing.township_staff_share": ("share of townships with a full-time staffer", "配专职人员的乡镇比例"),
    "staffing.township_staff_min": ("minimum full-time staff per township", "每乡镇最少专职人员"),
    "staffing.county_staff": ("staff per county association", "县级协会工作人员"),
    "staffing.officers_per_village": ("association officers per village", "每村协会干部"),
    "staffing.volunteer_hours_per_month": ("volunteer hours per month", "志愿者每月工时"),
    "staffing.volunteer_stipend_yuan_per_month": ("volunteer stipend (yuan per month)",
                                                  "志愿者每月补贴（元）"),
    "staffing.staff_hours_per_month": ("staff hours per month", "工作人员每月工时"),
    "staffing.posts_multiplier": ("paid posts (1.0 = 2021 posts)", "专职编制倍数（1.0 = 2021年）"),
    "staffing.lecturer_target_share": ("share of volunteers trained as lecturers", "培训为同伴教育主持人的志愿者比例"),
    "staffing.officer_hours_per_month": ("officer hours per month", "村协会干部每月工时"),
}

CAMPAIGNS = {
    "spring_festival": ("Spring Festival", "春节"), "may29": ("5.29", "5·29"), "jul11": ("7.11", "7·11"),
    "school_start": ("school term", "开学"), "dec1": ("12.1", "12·1"),
}

MONTHLY_SERIES = {
    "youth_reached": ("youth reached by health education", "青少年受健康教育"),
    "special_visited": ("special families visited", "计生特殊家庭走访"),
    "special_contact": ("special families with a contact person", "特殊家庭有联系人"),
    "aware_health": ("families aware of health messages (any source)", "家庭健康知识知晓（任何渠道）"),
    "aware_policy": ("families aware of the birth policy (any source)", "生育政策知晓（任何渠道）"),
}

TEXT = {
    "source": ("Source: {version} simulation; {scenarios}; seeds {seeds}; scale {scale}",
               "来源：{version} 模拟；{scenarios}；随机种子 {seeds}；规模 {scale}"),
    "scenario_one": ("scenario {names}", "情景 {names}"),
    "scenario_many": ("scenarios {names}", "情景 {names}"),
    # figure 1
    "f1_title": ("Coverage change against {base}, by indicator", "各项覆盖率相对 {base} 的变化"),
    "f1_x": ("difference from {base} (percentage points); mean and 90 % interval of {n} paired seeds",
             "与 {base} 之差（百分点）；{n} 个配对随机种子的均值及 90% 区间"),
    "scenario": ("scenario", "情景"),
    # figure 2
    "f2_title": ("{ind}: response to funding, by staffing level", "{ind}：随经费的变化（按人员配置）"),
    "f2_y": ("{ind} (% of eligible families)", "{ind}（占符合条件家庭的 %）"),
    "f2_band": ("lines: mean; bands: 5-95 % of {n} seeds", "线：均值；带：{n} 个随机种子的 5%-95%"),
    "ref_2021": ("2021 funding", "2021年经费"),
    "one_level": ("one staffing level", "单一人员配置"),
    # figure 3
    "f3_title": ("{ind}: funding × staffing, with the {target:g} % target contour",
                 "{ind}：经费 × 人员配置，及 {target:g}% 目标等值线"),
    "f3_cbar": ("{ind} (% of eligible families, mean of seeds)", "{ind}（占符合条件家庭的 %，随机种子均值）"),
    "target": ("target {target:g} %", "目标 {target:g}%"),
    "target_never": ("target {target:g} % not reached in this range", "此范围内未达到 {target:g}% 目标"),
    "target_always": ("target {target:g} % reached everywhere in this range",
                      "此范围内均达到 {target:g}% 目标"),
    # figure 4
    "f4_title": ("{ind}: coverage by county", "各县{ind}覆盖率"),
    "f4_cbar": ("{ind} (% of eligible families)", "{ind}（占符合条件家庭的 %）"),
    "lowest": ("lowest: {name} ({v:.1f} %)", "最低：{name}（{v:.1f}%）"),
    "highest": ("highest: {name} ({v:.1f} %)", "最高：{name}（{v:.1f}%）"),
    "no_data": ("no data", "无数据"),
    "and_others": (" and {n} more", "等 {n} 个县"),
    "f4b_title": ("Binding limit by county: money or hands", "各县的约束因素：经费还是人手"),
    "f4b_note": ("a limit counts when it bound an activity in ≥ {t:.0f} % of the months of the last year",
                 "某约束在最后一年 ≥ {t:.0f}% 的月份中限制了某项活动即计入"),
    "bind_money": ("money only", "仅经费"), "bind_hands": ("hands only", "仅人手"),
    "bind_both": ("money and hands", "经费和人手"), "bind_none": ("neither", "均无"),
    # figure 5
    "f5_title": ("{ind} by prefecture: {a} vs {b}", "各市州{ind}：{a} 与 {b}"),
    "f5_x": ("{ind} (% of eligible families; population-weighted mean of counties)",
             "{ind}（占符合条件家庭的 %；各县按人口加权平均）"),
    "f5_diff": ("numbers: {b} minus {a} (percentage points)", "数字：{b} 减 {a}（百分点）"),
    # figure 6
    "f6_title": ("Cumulative reach by month, with campaign months shaded",
                 "逐月累计覆盖（阴影为集中活动月）"),
    "f6_x": ("month of the simulation", "模拟月份"),
    "f6_y": ("cumulative share reached (% of eligible)", "累计覆盖比例（占符合条件者的 %）"),
    "f6_band": ("bands: 5-95 % of {n} seeds", "带：{n} 个随机种子的 5%-95%"),
    # figure 7
    "f7_title": ("Equity across counties: {ind}", "县际公平：{ind}"),
    "f7_x": ("cumulative share of counties, lowest coverage first (%)",
             "县的累计比例（按覆盖率由低到高，%）"),
    "f7_y": ("cumulative share of summed county coverage (%)", "县覆盖率之和的累计比例（%）"),
    "f7_equal": ("perfect equality", "完全均等"),
    "f7_label": ("{label}: Gini {g:.3f}; lowest {name} ({v:.1f} %)",
                 "{label}：基尼系数 {g:.3f}；最低 {name}（{v:.1f}%）"),
    # figure 8
    "f8_title": ("Cost-effectiveness against {base}: yuan per additional family reached",
                 "相对 {base} 的成本效益：每多覆盖一户的成本"),
    "f8_x": ("Δ total cost / Δ families reached (yuan per family; ratio of the paired means, "
             "bars: 90 % interval of the seeds' ratios)",
             "总成本变化 / 覆盖家庭数变化（元/户；配对均值之比，误差线为各随机种子比值的 90% 区间）"),
    "f8_base": ("{base} average: {v:,.0f} yuan (total cost) per family reached",
                "{base} 平均：每覆盖一户总成本 {v:,.0f} 元"),
    "f8_note": ("{df:+,.0f} families, {ds:+,.1f} M yuan", "{df:+,.0f} 户，{ds:+,.1f} 百万元"),
    "f8_none": ("no sure change in families reached", "覆盖家庭数无确定变化"),
}


# --------------------------------------------------------------------------- language and fonts
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
                "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC",
                "Hiragino Sans GB", "Noto Serif CJK SC", "Droid Sans Fallback", "AR PL UMing CN",
                "Noto Sans CJK JP", "Noto Sans CJK TC")


def _has_glyphs(path: str, text: str = "湖南县") -> bool:
    from matplotlib.ft2font import FT2Font

    try:
        f = FT2Font(path)
        return all(f.get_char_index(ord(ch)) for ch in text)
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


def _i(lang: str) -> int:
    return 1 if lang == "zh" else 0


def tr(key: str, lang: str = "en", **kw) -> str:
    """A label of :data:`TEXT` in ``lang``, formatted with ``kw``."""
    return TEXT[key][_i(lang)].format(**kw)


def indicator_name(name: str) -> str:
    """``coverage.x`` / ``coverage_x`` / ``x`` -> ``x`` (``coverage_counts.*`` is kept whole)."""
    if name.startswith("coverage_counts."):
        return name
    for p in ("coverage.", "coverage_"):
        if name.startswith(p):
            return name[len(p):]
    return name


def indicator_label(name: str, lang: str = "en") -> str:
    n = indicator_name(name)
    if n in INDICATORS:
        return INDICATORS[n][_i(lang)]
    m = re.fullmatch(r"coverage_counts\.(\w+)\.(reached|eligible)", n)
    if m:
        base = INDICATORS.get(m[1], (m[1], m[1]))[_i(lang)]
        if lang == "zh":
            return f"{base}：{'覆盖户数' if m[2] == 'reached' else '符合条件户数'}"
        return f"{base}: {'families reached' if m[2] == 'reached' else 'eligible families'}"
    m = re.fullmatch(r"equity\.(\w+)\.county_coverage_(\w+)", n)
    if m:
        base = INDICATORS.get(m[1], (m[1], m[1]))[_i(lang)]
        return f"{base}: county {m[2]}" if lang != "zh" else f"{base}：县际{m[2]}"
    return n.replace("_", " ")


def activity_label(name: str, lang: str = "en") -> str:
    return ACTIVITY_LABELS.get(name, (name.replace("_", " "),) * 2)[_i(lang)]


def role_label(name: str, lang: str = "en") -> str:
    return ROLE_LABELS.get(name, (name,) * 2)[_i(lang)]


def hands_bound_most(counties: pd.DataFrame, near: float = 0.9) -> tuple[str, float, list[str]] | None:
    """(activity, share, roles): the activity most often hands-bound (mean over the rows of
    ``binding_<act>_hands_share``: the share of county-months) and the roles that bound it in at
    least ``near`` times as many county-months as the most frequent one (several roles bind
    together when they may stand in for each other), in :data:`ROLE_LABELS` order; None when
    hands never bound."""
    shares = {c.removeprefix("binding_").removesuffix("_hands_share"): float(counties[c].mean())
              for c in counties.columns if c.startswith("binding_") and c.endswith("_hands_share")}
    if not shares or max(shares.values()) <= 0:
        return None
    act = max(shares, key=lambda a: (shares[a], a))
    roles = {r: float(counties[f"binding_{act}_{r}_share"].mean()) for r in ROLE_LABELS
             if f"binding_{act}_{r}_share" in counties.columns}
    top = max(roles.values(), default=0.0)
    return act, shares[act], [r for r, x in roles.items() if top > 0 and x >= near * top]


def join_words(words: Sequence[str], lang: str = "en") -> str:
    """'a', 'a and b', 'a, b and c' (Chinese: 'a、b、c')."""
    if lang == "zh":
        return "、".join(words)
    return " and ".join(words) if len(words) <= 2 else ", ".join(words[:-1]) + " and " + words[-1]


def param_label(key: str, lang: str = "en") -> str:
    key = key.removeprefix("param.")
    if key in PARAMS:
        return PARAMS[key][_i(lang)]
    return key.rsplit(".", 1)[-1].replace("_", " ")


def campaign_label(name: str, lang: str = "en") -> str:
    return CAMPAIGNS.get(name, (name, name))[_i(lang)]


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


def _wrap(text: str, width: int, lang: str = "en") -> str:
    """Break ``text`` into lines of at most ``width`` characters (Chinese characters count double)."""
    if lang == "zh":
        width = max(width // 2 + width // 6, 10)
    if len(text) <= width:
        return text
    return "\n".join(textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False))


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
def seeds_text(seeds: Sequence) -> str:
    s = sorted({int(x) for x in seeds if pd.notna(x)})
    if not s:
        return "?"
    if len(s) > 2 and s == list(range(s[0], s[-1] + 1)):
        return f"{s[0]}-{s[-1]}"
    return ", ".join(map(str, s)) if len(s) <= 6 else f"{s[0]}-{s[-1]} ({len(s)})"


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
    scen_text = tr("scenario_one" if len(scen) == 1 else "scenario_many", lang, names=", ".join(scen) or "?")
    seeds = seeds_text(table["seed"]) if "seed" in table.columns else "?"
    scales = uniq("scale")
    text = tr("source", lang, version=version, scenarios=scen_text, seeds=seeds,
              scale="/".join(scales) or "?")
    return text + (f"; {extra}" if extra else "")


def fmt_multiplier(x: float) -> str:
    """0.6 -> '0.6', 1 -> '1.0', 1.25 -> '1.25'."""
    text = f"{float(x):.3f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce")


def _quantiles(x: pd.Series) -> pd.Series:
    a = x.dropna().to_numpy(float)
    if not len(a):
        return pd.Series({"mean": np.nan, "p5": np.nan, "p95": np.nan, "n": 0})
    return pd.Series({"mean": a.mean(), "p5": np.percentile(a, 5), "p95": np.percentile(a, 95), "n": len(a)})


def varying_params(table: pd.DataFrame, exclude: Sequence[str] = ("param.population.scale",)) -> list[str]:
    """``param.*`` columns taking more than one value in ``table``."""
    return [c for c in table.columns if c.startswith("param.") and c not in exclude
            and table[c].astype(str).nunique() > 1]


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


def baseline_mask(runs: pd.DataFrame, baseline: str) -> np.ndarray:
    """Rows of the baseline: ``NAME`` (a scenario) or ``key=value[,key=value...]`` as in sim.compare."""
    if "=" not in baseline:
        baseline = f"scenario={baseline}"
    mask = np.ones(len(runs), dtype=bool)
    for part in baseline.split(","):
        key, _, value = part.partition("=")
        col = "scenario" if key == "scenario" else f"param.{key}"
        if col not in runs.columns:
            return np.zeros(len(runs), dtype=bool)
        mask &= runs[col].astype(str).to_numpy() == value
    return mask


def paired_runs(runs: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Each non-baseline run with its baseline partner (same seed and same values of the swept
    parameters the baseline does not fix), as in :func:`sim.compare.compare`; partner columns
    are suffixed ``_base``."""
    if "=" not in baseline:
        baseline = f"scenario={baseline}"
    mask = baseline_mask(runs, baseline)
    fixed = {"scenario"} | {f"param.{p.partition('=')[0]}" for p in baseline.split(",")}
    match = ["seed"] + [c for c in runs.columns if c.startswith("param.") and c not in fixed]
    key = runs[match].astype(str)
    base = runs[mask].assign(_key=key[mask].agg("|".join, axis=1)).drop_duplicates("_key")
    other = runs[~mask].assign(_key=key[~mask].agg("|".join, axis=1))
    return other.merge(base.add_suffix("_base"), left_on="_key", right_on="_key_base", how="inner")


def county_values(counties: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per county: mean of ``column`` over the runs, with names (``county``, ``county_zh``)."""
    names = [c for c in ("county", "county_zh", "prefecture", "prefecture_zh") if c in counties.columns]
    agg = counties.groupby("county_code", sort=True).agg(value=(column, "mean"),
                                                         **{n: (n, "first") for n in names})
    return agg


def county_name(row: pd.Series, lang: str) -> str:
    if lang == "zh" and "county_zh" in row:
        return str(row["county_zh"])
    return str(row.get("county", row.name))


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
        n_text = str(n_pairs[0]) if len(n_pairs) == 1 else f"{n_pairs[0]}-{n_pairs[-1]}"
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
        ax.set_xlabel(_wrap(tr("f1_x", lang, base=base_label, n=n_text), 80, lang))
        ax.set_axisbelow(True)
        if groups:
            ax.legend(title=tr("scenario", lang), loc="best", frameon=True, framealpha=0.9)
        if source is None:
            source = source_line(runs if runs is not None else c, lang)
        return _finish(fig, tr("f1_title", lang, base=base_label), source)


# --------------------------------------------------------------------------- 2 dose-response
def staffing_key(runs: pd.DataFrame, staffing: str | None) -> str | None:
    if staffing:
        return staffing if staffing.startswith("param.") else f"param.{staffing}"
    cands = [c for c in varying_params(runs) if c.startswith("param.staffing.")]
    return max(cands, key=lambda c: runs[c].nunique()) if cands else None


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
            s = g.groupby("_f")[col].apply(_quantiles).unstack().sort_index()
            color = PALETTE[k % len(PALETTE)]
            label = f"{lvl:g}" if skey else tr("one_level", lang)
            ax.plot(s.index, 100 * s["mean"], color=color, marker=MARKERS[k % len(MARKERS)],
                    linestyle=LINESTYLES[k % len(LINESTYLES)], markeredgecolor="black", markeredgewidth=0.4,
                    label=label)
            if n_seeds > 1:
                ax.fill_between(s.index, 100 * s["p5"], 100 * s["p95"], color=color, alpha=0.2, linewidth=0)
        lo, hi = d["_f"].min(), d["_f"].max()
        if lo <= 1.0 <= hi:
            ax.axvline(1.0, color="0.4", linestyle=":", linewidth=0.9, label="_ref", zorder=0)
            ax.annotate(tr("ref_2021", lang), (1.0, 1), xycoords=("data", "axes fraction"), xytext=(3, -3),
                        textcoords="offset points", ha="left", va="top", fontsize=7, color="0.3")
        ax.set_xlabel(param_label(funding, lang))
        ax.set_ylabel(_wrap(tr("f2_y", lang, ind=indicator_label(col, lang)), 50, lang))
        fx = sorted(d["_f"].dropna().unique())
        ax.set_xticks(fx, [fmt_multiplier(x) for x in fx])
        ax.grid(color="0.92", linewidth=0.6)
        _pct_axis(ax)
        leg_title = param_label(skey, lang) if skey else None
        ax.legend(title=leg_title, loc="best", frameon=True, framealpha=0.9)
        if n_seeds > 1:
            ax.text(0.99, 0.01, tr("f2_band", lang, n=n_seeds), transform=ax.transAxes, ha="right",
                    va="bottom", fontsize=7, color="0.3")
        return _finish(fig, tr("f2_title", lang, ind=indicator_label(col, lang)),
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
        d = runs.assign(_f=_num(runs[funding]), _s=_num(runs[skey]) if skey else 0.0)
        grid = d.groupby(["_s", "_f"])[col].mean().unstack().sort_index().sort_index(axis=1) * 100
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
            handles.append(Line2D([], [], color="black", linewidth=2, label=tr("target", lang, target=t)))
            note = None
        elif np.nanmax(z) < t:
            note = tr("target_never", lang, target=t)
        elif np.nanmin(z) >= t:
            note = tr("target_always", lang, target=t)
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
        fig.colorbar(mesh, ax=ax, label=_wrap(tr("f3_cbar", lang, ind=indicator_label(col, lang)), 45, lang),
                     shrink=0.9)
        return _finish(fig, tr("f3_title", lang, ind=indicator_label(col, lang), target=t),
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
                     label=_wrap(tr("f4_cbar", lang, ind=indicator_label(col, lang)), 40, lang))
        shapes = {c.adcode: c.path for c in maps.load_counties()}
        x0, y0, x1, y1 = maps.bounds()
        used = set()
        for key, idx in (("lowest", vals.idxmin()), ("highest", vals.idxmax())):
            row = v.loc[idx]
            ties = int(np.isclose(vals, vals.loc[idx]).sum()) - 1
            name = county_name(row, lang) + (tr("and_others", lang, n=ties) if ties else "")
            if key == "highest" and ties:
                continue
            ext = shapes[int(idx)].get_extents()
            cx, cy = (ext.x0 + ext.x1) / 2, (ext.y0 + ext.y1) / 2
            # the label goes in the top corner on its county's side (the map's top corners are empty)
            east = cx > (x0 + x1) / 2
            xy = (0.98 if east else 0.02, 0.92 if east in used else 0.98)
            used.add(east)
            ann = ax.annotate(tr(key, lang, name=name, v=100 * row["value"]), xy=(cx, cy), xytext=xy,
                              textcoords="axes fraction", ha="left" if xy[0] < 0.5 else "right", va="top",
                              fontsize=7.5, arrowprops={"arrowstyle": "->", "color": "black", "lw": 0.8},
                              bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "0.6"})
            ann.arrow_patch.set_path_effects([patheffects.withStroke(linewidth=2.2, foreground="white")])
        src = source or source_line(counties, lang, extra=maps.attribution(lang))
        return _finish(fig, tr("f4_title", lang, ind=indicator_label(col, lang)), src)


BINDING_STYLE = {"bind_money": ("#E69F00", ""), "bind_hands": ("#0072B2", "///"),
                 "bind_both": ("#D55E00", "xxx"), "bind_none": ("#F2F2F2", "")}


def binding_categories(counties: pd.DataFrame, threshold: float = 0.5) -> pd.Series:
    """Per county: ``bind_money`` / ``bind_hands`` / ``bind_both`` / ``bind_none``, from the share of
    the last year's months in which money, or some role's hours, bound an activity (mean of the
    runs; ``counties.parquet``'s ``money_bound_month_share`` and ``hands_bound_month_share``)."""
    v = counties.groupby("county_code")[["money_bound_month_share", "hands_bound_month_share"]].mean()
    m = v["money_bound_month_share"] >= threshold
    h = v["hands_bound_month_share"] >= threshold
    return pd.Series(np.select([m & h, m, h], ["bind_both", "bind_money", "bind_hands"], "bind_none"),
                     index=v.index)


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
        handles = [Patch(facecolor=c, hatch=h, edgecolor="0.35", label=f"{tr(k, lang)} ({counts.get(k, 0)})")
                   for k, (c, h) in BINDING_STYLE.items()]
        note = _wrap(tr("f4b_note", lang, t=100 * threshold), 30, lang)
        leg = ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False,
                        title=note, alignment="left")
        leg.get_title().set_fontsize(7)
        src = source or source_line(counties, lang, extra=maps.attribution(lang))
        return _finish(fig, tr("f4b_title", lang), src)


# --------------------------------------------------------------------------- 5 prefecture bars
def _short_prefecture(name: str) -> str:
    """'Xiangxi Tujia and Miao Autonomous Prefecture' -> 'Xiangxi' (Chinese names are kept)."""
    return name.split()[0] if "Autonomous" in name else name


def prefecture_values(counties: pd.DataFrame, indicator: str, lang: str = "en") -> pd.DataFrame:
    """Per prefecture: population-weighted mean county coverage per run, then mean and 5-95 %
    across runs (fractions)."""
    col = f"coverage_{indicator_name(indicator)}"
    name = "prefecture_zh" if lang == "zh" and "prefecture_zh" in counties.columns else "prefecture"
    d = counties.assign(_w=counties["population"] * counties[col],
                        _seed=counties["seed"] if "seed" in counties.columns else 0)
    per_run = d.groupby(["_seed", name]).apply(lambda g: g["_w"].sum() / g["population"].sum(),
                                                include_groups=False)
    return per_run.groupby(level=name).apply(_quantiles).unstack()


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
        ax.set_xlabel(_wrap(tr("f5_x", lang, ind=indicator_label(indicator, lang)), 80, lang))
        ax.grid(axis="x", color="0.92", linewidth=0.6)
        ax.set_axisbelow(True)
        ncols = 2 if len(label_a) + len(label_b) < 70 else 1
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=ncols, frameon=False,
                  title=_wrap(tr("f5_diff", lang, a=label_a, b=label_b), 90, lang), alignment="left")
        src = source or source_line(pd.concat([counties_a, counties_b]), lang)
        title = tr("f5_title", lang, ind=indicator_label(indicator, lang), a=label_a, b=label_b)
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
            q = monthly.groupby("month")[s].apply(_quantiles).unstack().sort_index()
            med = monthly.groupby("month")[s].median().sort_index()
            color = PALETTE[k % len(PALETTE)]
            ax.plot(med.index, 100 * med, color=color, marker=MARKERS[k % len(MARKERS)], markersize=4,
                    linestyle=LINESTYLES[k % len(LINESTYLES)], markeredgecolor="black", markeredgewidth=0.3,
                    label=MONTHLY_SERIES[s][_i(lang)])
            if n_seeds > 1:
                ax.fill_between(q.index, 100 * q["p5"], 100 * q["p95"], color=color, alpha=0.2, linewidth=0)
        ax.set_xlim(months.min() - 0.5, months.max() + 0.5)
        ax.set_ylim(0, 100)
        step = 1 if len(months) <= 24 else 3
        ax.set_xticks(months[::step])
        ax.set_xlabel(tr("f6_x", lang))
        ax.set_ylabel(tr("f6_y", lang))
        ax.grid(axis="y", color="0.92", linewidth=0.6)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=2, frameon=False,
                  title=tr("f6_band", lang, n=n_seeds) if n_seeds > 1 else None)
        return _finish(fig, tr("f6_title", lang), source or source_line(monthly, lang))


# --------------------------------------------------------------------------- 7 Lorenz
def _run_keys(table: pd.DataFrame) -> list[str]:
    """Columns that tell the runs of a stacked table apart."""
    return [c for c in ("group", "seed") if c in table.columns]


def mean_gini(counties: pd.DataFrame, indicator: str) -> float:
    """Mean over the runs of the Gini coefficient of county coverage (``summary.json``'s
    ``equity.<indicator>.county_coverage_gini`` for a single run)."""
    col = f"coverage_{indicator_name(indicator)}"
    keys = _run_keys(counties)
    runs = [g[col].to_numpy() for _, g in counties.groupby(keys)] if keys else [counties[col].to_numpy()]
    return float(np.mean([gini(r) for r in runs]))


def lorenz_points(values) -> tuple[np.ndarray, np.ndarray]:
    """(cumulative share of counties, cumulative share of the summed values), both from 0 to 1."""
    v = np.sort(np.asarray(values, dtype=float))
    x = np.arange(len(v) + 1) / max(len(v), 1)
    y = np.concatenate([[0.0], np.cumsum(v) / v.sum()]) if v.sum() > 0 else x
    return x, y


def lorenz(county_tables: Mapping[str, pd.DataFrame], indicator: str, *, lang: str = "en",
           source: str | None = None) -> Figure:
    """Figure 7: Lorenz curve of county coverage (mean of each label's runs), one per label, with
    its Gini coefficient (mean of the runs' Gini coefficients, as in ``summary.json``) and the
    lowest county named."""
    with style(lang):
        col = f"coverage_{indicator_name(indicator)}"
        fig = _figure(5.6, lang, width=6.4)
        ax = fig.add_subplot()
        ax.plot([0, 100], [0, 100], color="0.45", linestyle=":", linewidth=1, label=tr("f7_equal", lang))
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
                    label=tr("f7_label", lang, label=label, g=g_mean,
                             name=county_name(low, lang), v=100 * low["value"]))
            if first is None:
                first = (x, y, low)
        if first is not None:
            x, y, low = first
            ax.annotate(tr("lowest", lang, name=county_name(low, lang), v=100 * low["value"]),
                        xy=(100 * x[1], 100 * y[1]), xytext=(0.4, 0.1), textcoords="axes fraction",
                        fontsize=7.5, arrowprops={"arrowstyle": "->", "linewidth": 0.8},
                        bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "0.6"})
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.set_aspect("equal")
        ax.set_xlabel(tr("f7_x", lang))
        ax.set_ylabel(tr("f7_y", lang))
        ax.grid(color="0.92", linewidth=0.6)
        ax.legend(loc="upper left", frameon=True, framealpha=0.95)
        src = source or source_line(pd.concat(list(county_tables.values())), lang)
        return _finish(fig, tr("f7_title", lang, ind=indicator_label(col, lang)), src)


# --------------------------------------------------------------------------- 8 cost-effectiveness
def cost_column(runs: pd.DataFrame) -> str:
    """``cost.total_yuan`` (total cost, all pots), or ``spend_yuan.total`` for runs written before
    the summary had costs."""
    return COST if COST in runs.columns and runs[COST].notna().any() else "spend_yuan.total"


def incremental_costs(runs: pd.DataFrame, baseline: str, reached: str = "families_reached") -> pd.DataFrame:
    """Per non-baseline group: paired Δ total cost and Δ ``reached`` by seed, their means, and the
    yuan per additional family reached as :func:`sim.compare.cost_per_additional_family` defines
    it (``ratio``: ratio of the paired means, NaN with a ``note`` when the reach difference's 90 %
    interval includes 0), with the 5-95 % range of the seeds' own ratios (``ratio_p5``,
    ``ratio_p95``; NaN where the ratio is undefined)."""
    p = paired_runs(runs, baseline)
    if p.empty:
        return pd.DataFrame()
    cost = cost_column(runs)
    p["d_cost"] = p[cost] - p[cost + "_base"]
    p["d_families"] = p[reached] - p[reached + "_base"]
    rows = []
    for g, d in p.groupby("group", sort=True):
        ratio, note = cost_per_additional_family(d["d_cost"], d["d_families"])
        per_seed = (d["d_cost"] / d["d_families"].where(d["d_families"].abs() > 0)) if np.isfinite(ratio) \
            else pd.Series(dtype=float)
        q = _quantiles(per_seed)
        rows.append({"group": g, "n_pairs": len(d), "d_cost": d["d_cost"].mean(),
                     "d_families": d["d_families"].mean(), "ratio": ratio, "note": note,
                     "ratio_p5": q["p5"], "ratio_p95": q["p95"]})
    return pd.DataFrame(rows)


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
                note = (tr("f8_note", lang, df=r["d_families"], ds=r["d_cost"] / 1e6)
                        if np.isfinite(r["ratio"]) else tr("f8_none", lang))
                right = max(np.nan_to_num(r["ratio_p95"]), np.nan_to_num(r["ratio"]), 0)
                ax.text(right + 0.02 * xmax, k, note, va="center", fontsize=7.5)
            ax.set_xlim(0, xmax * 1.6)
        if np.isfinite(avg):
            ax.axvline(avg, color="black", linestyle="--", linewidth=1,
                       label=tr("f8_base", lang, base=base_label, v=avg))
            ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False)
        ax.set_yticks(y, [labels.get(g, g) for g in ic["group"]] if len(ic) else [])
        ax.set_ylim(len(ic) - 0.5, -0.5)
        ax.set_xlabel(_wrap(tr("f8_x", lang), 80, lang))
        ax.grid(axis="x", color="0.92", linewidth=0.6)
        ax.set_axisbelow(True)
        return _finish(fig, tr("f8_title", lang, base=base_label), source or source_line(runs, lang))
