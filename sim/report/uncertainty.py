"""The memo's uncertainty section: what a sensitivity analysis (:mod:`sim.sensitivity`) says about
how sure the memo's conclusions are.

A folder given to ``outreach-sim-report`` is a sensitivity analysis when it holds
``sensitivity.json``; it must also hold ``indices.csv``, ``robustness.csv`` and
``measure_first.csv`` (:func:`load_sensitivity`; otherwise one error line, exit status 2). The
section (:func:`add_section`) gives, for each such folder:

* the design (method, N, parameter draws, arms, seeds, scale, runs) and **what was varied**: a
  table of the parameters with their range, distribution, kind (fitted / assumed) and the source
  of the range;
* **which conclusions are robust**: per scenario, the coverage indicators on which the scenario
  beats the baseline in at least 90 % of the sampled worlds (:data:`sim.plots_uncertainty.ROBUST`),
  those on which it is worse in at least 90 %, those that are not robust and those that do not
  change in any world, each with the share and its 90 % interval; then a table of every indicator
  of ``robustness.csv`` with the shares, the difference (mean, 5-95 % across worlds) and the
  conclusion (:func:`sim.plots_uncertainty.verdict`);
* the analysis's own one-sentence summary per scenario (``sentences`` of ``sensitivity.json``);
* **what to measure first**: per scenario, the coverage indicator with the most at stake (the
  largest EVPI) and its parameters with the largest EVPPI;
* the figures (:mod:`sim.plots_uncertainty`) with one-sentence captions: the Morris or Sobol
  indices of one coverage indicator (:func:`choose_indicator`), the robustness chart and, when
  some ranking is at stake, what to measure first.

Given only sensitivity folders, the memo (:func:`uncertainty_report`) is the question, this
section and a provenance footer. Given run or sweep folders too, the ordinary memo gets the
section after its figures (:mod:`sim.report`). Words come from :mod:`sim.labels`
(``uncertainty.*``); text read from the files (scenario names, sources, sentences) is escaped by
the renderer like the rest of the memo.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import sim
from sim import plots
from sim import plots_uncertainty as pu
from sim.errors import UserError
from sim.labels import indicator_label, join_words, seeds_text, text, uncertain_param_label
from sim.report.assemble import Memo
from sim.report.figures import FigureEntry
from sim.runs import check_out_dir

SENSITIVITY_FILE = "sensitivity.json"
TABLES = {
    "indices.csv": ("method", "scenario", "kind", "indicator", "parameter", "index", "value", "ci_low", "ci_high"),
    "robustness.csv": ("scenario", "baseline", "indicator", "p_better", "p_better_low", "p_better_high", "p_worse",
                       "p_worse_low", "p_worse_high", "mean_difference", "difference_p05", "difference_p95"),
    "measure_first.csv": ("scenario", "indicator", "parameter", "evppi", "evpi", "evppi_share", "total_index",
                          "total_index_value", "rank"),
}
"""The tables of a sensitivity folder and the columns the memo reads."""
METHODS = ("morris", "sobol")
TOP_PARAMETERS = 3
"""Parameters per scenario in the what-to-measure-first table."""
COVERAGE = pu.COVERAGE


# --------------------------------------------------------------------------- reading
@dataclass
class Sensitivity:
    """One sensitivity folder, read and checked."""

    dir: Path
    meta: dict
    indices: pd.DataFrame
    robustness: pd.DataFrame
    measure_first: pd.DataFrame

    @property
    def method(self) -> str:
        return str(self.meta["method"])

    @property
    def baseline(self) -> str:
        return str(self.meta["baseline"])

    @property
    def scenarios(self) -> list[str]:
        """The scenarios compared with the baseline (in the analysis's order)."""
        listed = [str(s) for s in self.meta.get("scenarios") or [] if str(s) != self.baseline]
        found = [str(s) for s in dict.fromkeys(self.robustness["scenario"])]
        return listed + [s for s in found if s not in listed]

    @property
    def params(self) -> list[dict]:
        return list(self.meta.get("params") or [])

    @property
    def total_index(self) -> str:
        return "ST" if self.method == "sobol" else "mu_star"

    @property
    def indicators(self) -> list[str]:
        inds = self.meta.get("indicators") or list(dict.fromkeys(self.indices["indicator"]))
        return [str(i) for i in inds]


def is_sensitivity_dir(path) -> bool:
    """Whether ``path`` is a sensitivity analysis's folder (it holds ``sensitivity.json``)."""
    return (Path(path) / SENSITIVITY_FILE).is_file()


def _read_table(d: Path, name: str) -> pd.DataFrame:
    path = d / name
    if not path.is_file():
        raise UserError(f"{d}: no {name} (an unfinished or damaged sensitivity analysis; re-run "
                        "outreach-sim-sensitivity with the same --out to finish it)")
    try:
        t = pd.read_csv(path)
    except pd.errors.EmptyDataError:  # an analysis without scenarios writes empty tables
        return pd.DataFrame(columns=list(TABLES[name]))
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise UserError(f"{path}: not a readable CSV table ({str(e).splitlines()[0] if str(e) else e})") from None
    missing = [c for c in TABLES[name] if c not in t.columns]
    if missing:
        raise UserError(f"{path}: missing column(s) {', '.join(missing)}")
    return t


def load_sensitivity(path) -> Sensitivity:
    """Read and check a sensitivity folder.

    Raises:
        UserError: ``sensitivity.json`` is not a JSON object naming the method, baseline and
            parameters, or a table is missing, unreadable or lacks a column (one line).
    """
    d = Path(path)
    try:
        meta = json.loads((d / SENSITIVITY_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise UserError(f"{d / SENSITIVITY_FILE}: not readable JSON ({str(e).splitlines()[0]})") from None
    if not isinstance(meta, dict):
        raise UserError(f"{d / SENSITIVITY_FILE}: must be a JSON object (as outreach-sim-sensitivity writes it)")
    if meta.get("method") not in METHODS:
        raise UserError(f"{d / SENSITIVITY_FILE}: method {meta.get('method')!r} must be one of {list(METHODS)}")
    if not isinstance(meta.get("baseline"), str) or not meta["baseline"]:
        raise UserError(f"{d / SENSITIVITY_FILE}: no baseline")
    params = meta.get("params")
    if not isinstance(params, list) or not all(isinstance(p, dict) and "key" in p for p in params):
        raise UserError(f"{d / SENSITIVITY_FILE}: params must be a list of parameters, each with its key")
    tables = {name: _read_table(d, name) for name in TABLES}
    return Sensitivity(d, meta, tables["indices.csv"], tables["robustness.csv"], tables["measure_first.csv"])


# --------------------------------------------------------------------------- formatting
def _num(x, fmt: str = "{:.4g}") -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    return fmt.format(v) if math.isfinite(v) else "-"


def share_text(p: float, lo: float, hi: float) -> str:
    """'94 % [83, 100]' (the interval left out when there is none)."""
    if not np.isfinite(p):
        return "-"
    if np.isfinite(lo) and np.isfinite(hi):
        return f"{100 * p:.0f} % [{100 * lo:.0f}, {100 * hi:.0f}]"
    return f"{100 * p:.0f} %"


def difference_text(indicator: str, mean: float, p05: float, p95: float, lang: str) -> str:
    """'+3.26 pp [+2.50, +3.52]', '+6.1 M yuan [+4.3, +6.6]', '-0.0154 [-0.0185, -0.0058]'."""
    if indicator.startswith(COVERAGE):
        s, fmt, key = 100.0, "{:+.2f}", "uncertainty.pp"
    elif indicator.startswith("cost."):
        s, fmt, key = 1e-6, "{:+,.1f}", "uncertainty.m_yuan"
    else:
        s, fmt, key = 1.0, "{:+.4f}", None
    head = fmt.format(s * mean)
    head = text(key, lang, v=head) if key else head
    return f"{head} [{fmt.format(s * p05)}, {fmt.format(s * p95)}]"


def _range_text(p: dict) -> str:
    return f"{_num(p.get('low'))} – {_num(p.get('high'))}"


def _dist_text(p: dict, lang: str) -> str:
    dist = str(p.get("dist", "uniform"))
    return text(f"uncertainty.dist.{dist}", lang, default=dist, mode=_num(p.get("mode")))


def _verdicts(rob: pd.DataFrame) -> pd.Series:
    return pd.Series([pu.verdict(b, w) for b, w in zip(rob["p_better"], rob["p_worse"], strict=True)],
                     index=rob.index, dtype=object)


def _index_value(sens: Sensitivity, indicator: str, value: float, lang: str) -> str:
    if sens.method == "sobol":
        return _num(value, "{:.2f}")
    return pu.amount(indicator, value, lang) if np.isfinite(value) else "-"


# --------------------------------------------------------------------------- choices
def _varies(sens: Sensitivity, indicator: str) -> bool:
    """Whether some parameter moves ``indicator`` (a positive total index of its level or difference)."""
    d = sens.indices[(sens.indices["indicator"] == indicator) & (sens.indices["index"] == sens.total_index)]
    return bool((pd.to_numeric(d["value"], errors="coerce") > 0).any())


def choose_indicator(sens: Sensitivity, indicator: str | None = None,
                     prefer: str | None = None) -> tuple[str, str | None]:
    """(coverage indicator, scenario) of the index figure: ``indicator`` when the analysis has
    it; else ``prefer`` (the memo's headline indicator) when some parameter moves it; else the
    coverage indicator whose paired difference varies most across the sampled worlds (the widest
    5-95 % range in ``robustness.csv``); without scenarios, the baseline's coverage indicator with
    the largest total index. The scenario is the one whose difference on it varies most."""
    cov = [i for i in sens.indicators if i.startswith(COVERAGE)]
    rob = sens.robustness[sens.robustness["indicator"].astype(str).str.startswith(COVERAGE)]
    scen = None
    for wanted, check in ((indicator, False), (prefer, True)):
        if not wanted:
            continue
        ind = wanted if wanted.startswith(COVERAGE) else f"{COVERAGE}{wanted}"
        if ind in cov and (not check or _varies(sens, ind)):
            r = rob[rob["indicator"] == ind]
            if len(r):
                scen = str(r.loc[(r["difference_p95"] - r["difference_p05"]).abs().idxmax(), "scenario"])
            return ind, scen
    if len(rob):
        spread = (rob["difference_p95"] - rob["difference_p05"]).abs()
        if spread.max() > 0:
            r = rob.loc[spread.idxmax()]
            return str(r["indicator"]), str(r["scenario"])
        return str(rob["indicator"].iloc[0]), str(rob["scenario"].iloc[0])
    lvl = sens.indices[(sens.indices["kind"] == "level") & (sens.indices["index"] == sens.total_index)
                       & sens.indices["indicator"].astype(str).str.startswith(COVERAGE)]
    if len(lvl):
        return str(lvl.groupby("indicator")["value"].sum().idxmax()), None
    return (cov[0] if cov else f"{COVERAGE}youth_education"), None


# --------------------------------------------------------------------------- figures
@dataclass
class Part:
    """One sensitivity folder in the memo: the analysis, its chosen indicator and its figures."""

    sens: Sensitivity
    indicator: str
    scenario: str | None
    figures: list[FigureEntry] = field(default_factory=list)


def _top(d: pd.DataFrame, scen: str, kind: str, ind: str, ix: str) -> pd.Series | None:
    r = d[(d["scenario"] == scen) & (d["kind"] == kind) & (d["indicator"] == ind) & (d["index"] == ix)]
    r = r[np.isfinite(r["value"].astype(float))]
    return r.loc[r["value"].astype(float).idxmax()] if len(r) and r["value"].max() > 0 else None


def _index_caption(part: Part, lang: str) -> str:
    s, ind, scen = part.sens, part.indicator, part.scenario
    ix = s.total_index
    lvl = _top(s.indices, s.baseline, "level", ind, ix)
    diff = _top(s.indices, scen, "paired_difference", ind, ix) if scen else None
    ind_l = indicator_label(ind, lang)
    if lvl is None and diff is None:
        return text("uncertainty.c_flat", lang, ind=ind_l, base=s.baseline)
    if s.method == "morris":
        def v(r):
            return f"{100 * float(r['value']):.3g}" if r is not None else "0"
    else:
        def v(r):
            return float(r["value"]) if r is not None else 0.0

    def p(r):
        return uncertain_param_label(str(r["parameter"]), lang) if r is not None else "-"

    key = "c_morris" if s.method == "morris" else "c_sobol"
    if diff is None:
        return text(f"uncertainty.{key}_level", lang, base=s.baseline, p1=p(lvl), ind=ind_l, v1=v(lvl))
    return text(f"uncertainty.{key}", lang, base=s.baseline, p1=p(lvl), ind=ind_l, v1=v(lvl), scen=scen, p2=p(diff),
                v2=v(diff))


def _robust_caption(sens: Sensitivity, lang: str) -> str:
    rob = sens.robustness[sens.robustness["indicator"].astype(str).str.startswith(COVERAGE)]
    parts = []
    for scen in sens.scenarios:
        v = _verdicts(rob[rob["scenario"] == scen])
        parts.append(text("uncertainty.c_robust_part", lang, scen=scen, base=sens.baseline, t=100 * pu.ROBUST,
                          b=int((v == "robust_better").sum()), w=int((v == "robust_worse").sum())))
    return text("uncertainty.c_robust", lang, n=rob["indicator"].nunique(), parts=text("memo.sep", lang).join(parts))


def _first_caption(sens: Sensitivity, headline: dict[str, str], lang: str) -> str:
    mf = sens.measure_first
    best = max(headline.items(), key=lambda kv: pu.at_stake(mf, *kv))
    scen, ind = best
    g = mf[(mf["scenario"] == scen) & (mf["indicator"] == ind)].sort_values("rank")
    top = g.iloc[0]
    return text("uncertainty.c_first", lang, param=uncertain_param_label(str(top["parameter"]), lang),
                s=100 * float(top["evppi_share"]), scen=scen, ind=indicator_label(ind, lang))


def draw_part(sens: Sensitivity, lang: str, out: Path, *, indicator: str | None = None, prefer: str | None = None,
              suffix: str = "", log=print) -> Part:
    """Draw and save the figures of one sensitivity folder into ``out`` (``figu_*<suffix>``); the
    index figure's indicator is chosen by :func:`choose_indicator`."""
    ind, scen = choose_indicator(sens, indicator, prefer)
    part = Part(sens, ind, scen)
    src = pu.sensitivity_source(sens.meta, lang)
    todo = []
    if sens.method == "morris":
        todo.append(("figu_morris", lambda: pu.morris_scatter(sens.indices, ind, baseline=sens.baseline, scenario=scen,
                                                               lang=lang, source=src),
                     lambda: _index_caption(part, lang)))
    else:
        todo.append(("figu_sobol", lambda: pu.sobol_bars(sens.indices, ind, baseline=sens.baseline, scenario=scen,
                                                         lang=lang, source=src),
                     lambda: _index_caption(part, lang)))
    if len(sens.robustness) and sens.scenarios:
        todo.append(("figu_robustness", lambda: pu.robustness_chart(sens.robustness, lang=lang, source=src),
                     lambda: _robust_caption(sens, lang)))
    headline = pu.headline_indicators(sens.measure_first)
    if headline:
        todo.append(("figu_measure_first", lambda: pu.measure_first_chart(sens.measure_first, headline=headline,
                                                                          lang=lang, source=src),
                     lambda: _first_caption(sens, headline, lang)))
    for key, draw, caption in todo:
        fig = draw()
        png, svg = plots.save(fig, out, key + suffix)
        title = " ".join(fig.get_suptitle().split())
        part.figures.append(FigureEntry(key + suffix, title, caption(), png, svg))
        log(f"  figure {key + suffix}: {png.name}, {svg.name}")
    return part


def draw_parts(sensitivities: list[Sensitivity], lang: str, out: Path, *, indicator: str | None = None,
               prefer: str | None = None, log=print) -> list[Part]:
    """:func:`draw_part` for every folder (the second and later with a suffix ``_2``, ``_3`` ...)."""
    return [draw_part(s, lang, out, indicator=indicator, prefer=prefer, suffix="" if k == 0 else f"_{k + 1}",
                      log=log) for k, s in enumerate(sensitivities)]


# --------------------------------------------------------------------------- the section
def parameter_table(sens: Sensitivity, lang: str) -> tuple[list[str], list[list[str]]]:
    """What was varied: label, key, range, distribution, kind and source of every parameter."""
    header = [text(f"uncertainty.col_{c}", lang) for c in ("param", "key", "range", "dist", "kind", "source")]
    rows = [[uncertain_param_label(str(p["key"]), lang), str(p["key"]), _range_text(p), _dist_text(p, lang),
             text(f"uncertainty.kind.{p.get('kind', 'assumed')}", lang, default=str(p.get("kind", "-"))),
             str(p.get("source", "") or "-")] for p in sens.params]
    return header, rows


def robustness_summary(sens: Sensitivity, lang: str) -> list[str]:
    """Per scenario: the coverage indicators robustly better, robustly worse, not robust and
    unchanged, each with its share of worlds and 90 % interval."""
    rob = sens.robustness[sens.robustness["indicator"].astype(str).str.startswith(COVERAGE)]
    sep = text("memo.sep", lang)
    items = []
    for scen in sens.scenarios:
        r = rob[rob["scenario"] == scen]
        v = _verdicts(r)

        def share(row, which):
            return share_text(row[f"p_{which}"], row[f"p_{which}_low"], row[f"p_{which}_high"])

        lists = {k: r[v == k] for k in pu.VERDICTS}
        if len(lists["robust_better"]):
            items.append(text("uncertainty.r_better", lang, scen=scen, base=sens.baseline, items=sep.join(
                text("uncertainty.r_item", lang, ind=indicator_label(row["indicator"], lang), p=share(row, "better"))
                for _, row in lists["robust_better"].iterrows())))
        if len(lists["robust_worse"]):
            items.append(text("uncertainty.r_worse", lang, scen=scen, base=sens.baseline, items=sep.join(
                text("uncertainty.r_item", lang, ind=indicator_label(row["indicator"], lang), p=share(row, "worse"))
                for _, row in lists["robust_worse"].iterrows())))
        if not len(lists["robust_better"]) and not len(lists["robust_worse"]):
            items.append(text("uncertainty.r_none", lang, scen=scen))
        if len(lists["not_robust"]):
            items.append(text("uncertainty.r_unsure", lang, scen=scen, items=sep.join(
                text("uncertainty.r_item_unsure", lang, ind=indicator_label(row["indicator"], lang),
                     p=share(row, "better"), w=share(row, "worse"))
                for _, row in lists["not_robust"].iterrows())))
        if len(lists["unchanged"]):
            items.append(text("uncertainty.r_unchanged", lang, scen=scen, items=join_words(
                [indicator_label(i, lang) for i in lists["unchanged"]["indicator"]], lang)))
    return items


def robustness_table(sens: Sensitivity, lang: str) -> tuple[list[str], list[list[str]]]:
    """Every indicator of ``robustness.csv``: shares better / worse with their intervals, the
    difference across worlds and the conclusion."""
    header = [text("memo.col_scenario", lang), text("memo.col_indicator", lang),
              text("uncertainty.col_better", lang), text("uncertainty.col_worse", lang),
              text("uncertainty.col_diff", lang, base=sens.baseline), text("uncertainty.col_verdict", lang)]
    rows = []
    rob = sens.robustness
    for (_, r), v in zip(rob.iterrows(), _verdicts(rob), strict=True):
        ind = str(r["indicator"])
        label = indicator_label(ind, lang)
        if str(r.get("better", "higher")) == "lower":
            label += text("uncertainty.lower_better", lang)
        rows.append([str(r["scenario"]), label, share_text(r["p_better"], r["p_better_low"], r["p_better_high"]),
                     share_text(r["p_worse"], r["p_worse_low"], r["p_worse_high"]),
                     difference_text(ind, r["mean_difference"], r["difference_p05"], r["difference_p95"], lang),
                     text(f"uncertainty.verdict.{v}", lang)])
    return header, rows


def measure_first_items(sens: Sensitivity, lang: str) -> tuple[list[str], list[str], list[list[str]]]:
    """(sentences, table header, table rows) of what to measure first."""
    mf = sens.measure_first
    headline = pu.headline_indicators(mf)
    header = [text("memo.col_scenario", lang), text("memo.col_indicator", lang), text("uncertainty.col_at_stake", lang),
              text("uncertainty.col_param", lang), text("uncertainty.col_evppi", lang),
              text("uncertainty.col_share", lang), text("uncertainty.col_total", lang, ix=sens.total_index),
              text("uncertainty.col_rank", lang)]
    items, rows = [], []
    for scen in sens.scenarios:
        ind = headline.get(scen)
        if ind is None:
            items.append(text("uncertainty.m_none", lang, scen=scen, base=sens.baseline))
            continue
        g = mf[(mf["scenario"] == scen) & (mf["indicator"] == ind)].sort_values("rank")
        evpi = float(g["evpi"].max())
        top = g.iloc[0]
        items.append(text("uncertainty.m_first", lang, scen=scen,
                          param=uncertain_param_label(str(top["parameter"]), lang),
                          s=100 * float(top["evppi_share"]), v=pu.amount(ind, evpi, lang),
                          ind=indicator_label(ind, lang)))
        for _, r in g[g["evppi"] > pu.EPS].head(TOP_PARAMETERS).iterrows():
            rows.append([scen, indicator_label(ind, lang), pu.amount(ind, evpi, lang),
                         uncertain_param_label(str(r["parameter"]), lang), pu.amount(ind, float(r["evppi"]), lang),
                         f"{100 * float(r['evppi_share']):.0f} %",
                         _index_value(sens, ind, float(r["total_index_value"]), lang), str(int(r["rank"]))])
    return items, header, rows


def design_text(sens: Sensitivity, lang: str) -> str:
    m = sens.meta
    return text("uncertainty.design", lang, method=pu.method_label(sens.method, lang), dir=str(sens.dir),
                d=len(sens.params), points=m.get("points", "?"), n=m.get("n", "?"),
                arms=join_words([sens.baseline, *sens.scenarios], lang), seeds=seeds_text(m.get("seeds") or []),
                scale=_num(m.get("scale"), "{:g}"), runs=m.get("runs", "?"))


def add_section(memo: Memo, parts: list[Part], lang: str, first_figure: int = 1) -> None:
    """The uncertainty section of every sensitivity folder; its figures numbered from ``first_figure``."""
    memo.add("h2", text("uncertainty.h", lang))
    n = first_figure
    for part in parts:
        s = part.sens
        memo.add("p", design_text(s, lang))
        if not s.scenarios:
            memo.add("p", text("uncertainty.no_scenarios", lang, base=s.baseline))
        memo.add("p", text("uncertainty.varied", lang))
        memo.add("table", *parameter_table(s, lang))
        if s.scenarios and len(s.robustness):
            memo.add("p", text("uncertainty.robust_note", lang, base=s.baseline, t=100 * pu.ROBUST))
            memo.add("ul", robustness_summary(s, lang))
            memo.add("table", *robustness_table(s, lang))
        sentences = s.meta.get("sentences")
        if isinstance(sentences, dict) and sentences:
            memo.add("p", text("uncertainty.sentences", lang))
            memo.add("ul", [str(v) for v in sentences.values()])
        if s.scenarios and len(s.measure_first):
            items, header, rows = measure_first_items(s, lang)
            memo.add("p", text("uncertainty.measure_note", lang, base=s.baseline))
            memo.add("ul", items)
            if rows:
                memo.add("table", header, rows)
        for f in part.figures:
            memo.add("figure", f, n)
            n += 1


def provenance_text(part: Part, lang: str) -> str:
    s = part.sens
    return text("uncertainty.p_sens", lang, dir=str(s.dir), method=pu.method_label(s.method, lang),
                n=s.meta.get("n", "?"), runs=s.meta.get("runs", "?"), v=s.meta.get("package_version", "?"),
                c=s.meta.get("git_commit") or text("memo.unknown", lang),
                file=s.meta.get("uncertainty_file") or "-")


def add_provenance(memo: Memo, part: Part, lang: str) -> None:
    """The provenance paragraphs of one analysis: its folder, method and version; its seeds and scale."""
    m = part.sens.meta
    memo.add("p", provenance_text(part, lang))
    memo.add("p", text("memo.p_seeds", lang, s=seeds_text(m.get("seeds") or []), sc=_num(m.get("scale"), "{:g}"),
                       m=m.get("months", "?")))


# --------------------------------------------------------------------------- a memo of sensitivity folders alone
def build_uncertainty_memo(parts: list[Part], lang: str) -> Memo:
    """The memo of sensitivity folders alone: question, the uncertainty section, provenance."""
    first = parts[0].sens
    others = join_words(first.scenarios, lang)
    method = pu.method_label(first.method, lang)
    if first.scenarios:
        what = text("uncertainty.what", lang, method=method, others=others, base=first.baseline)
        question = text("uncertainty.question", lang, others=others, base=first.baseline)
    else:
        what = text("uncertainty.what_base", lang, method=method, base=first.baseline)
        question = text("uncertainty.question_base", lang, base=first.baseline)
    memo = Memo(lang, text("memo.title", lang), text("memo.subtitle", lang, what=what))
    memo.add("h2", text("memo.h_question", lang))
    memo.add("p", question)
    add_section(memo, parts, lang)
    memo.add("h2", text("memo.h_provenance", lang))
    for part in parts:
        add_provenance(memo, part, lang)
    memo.add("p", text("uncertainty.p_generated", lang, v=sim.__version__, d=dt.date.today().isoformat()))
    return memo


def _check_baseline(sensitivities: list[Sensitivity], baseline: str | None) -> None:
    if not baseline:
        return
    name = baseline.removeprefix("scenario=")
    for s in sensitivities:
        if s.baseline != name:
            raise UserError(f"--baseline {baseline}: the sensitivity analysis in {s.dir} compares against "
                            f"{s.baseline}")


def _check_indicator(sensitivities: list[Sensitivity], indicator: str | None) -> None:
    if not indicator:
        return
    ind = indicator if indicator.startswith(COVERAGE) else f"{COVERAGE}{indicator}"
    cov = [i for i in sensitivities[0].indicators if i.startswith(COVERAGE)]
    if ind not in cov:
        raise UserError(f"--indicator {indicator}: no such coverage indicator "
                        f"(one of {', '.join(c.removeprefix(COVERAGE) for c in cov)})")


def uncertainty_report(sensitivities: list[Sensitivity], *, out: Path, lang: str = "en", indicator: str | None = None,
                       baseline: str | None = None, log=print) -> dict:
    """Write the memo of sensitivity folders alone (``memo.md``, ``memo.html``, ``figures/``)."""
    from sim.report.render import render_html, render_md

    _check_baseline(sensitivities, baseline)
    _check_indicator(sensitivities, indicator)
    check_out_dir(out)
    for s in sensitivities:
        log(f"read sensitivity analysis {s.dir}: {s.method}, N = {s.meta.get('n', '?')}, "
            f"{s.meta.get('runs', '?')} runs, {len(s.scenarios)} scenario(s) against {s.baseline}")
    fig_dir = out / "figures"
    for old in (*fig_dir.glob("fig*.png"), *fig_dir.glob("fig*.svg")):  # figures of an earlier report
        old.unlink()
    with plots.style(lang):
        parts = draw_parts(sensitivities, lang, fig_dir, indicator=indicator, log=log)
    memo = build_uncertainty_memo(parts, lang)
    md, page = out / "memo.md", out / "memo.html"
    md.write_text(render_md(memo, out), encoding="utf-8")
    page.write_text(render_html(memo), encoding="utf-8")
    return {"html": page, "md": md, "figures": fig_dir, "n_figures": sum(len(p.figures) for p in parts)}
