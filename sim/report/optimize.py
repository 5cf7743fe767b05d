"""The memo's optimisation section: what an ``outreach-sim-optimize`` search (:mod:`sim.optimize`)
found, and how much of it held on fresh seeds.

A folder given to ``outreach-sim-report`` is an optimisation when it holds ``optimize.json``
(:func:`is_optimisation_dir`); with status ``ok`` it must also hold ``verification.csv``
(:func:`load_optimisation`; otherwise one error line, exit status 2). ``trials.parquet``,
``response.csv``, ``figures/response.png`` and ``pareto.csv`` are read when they are there. The
section (:func:`add_section`) gives, for each such folder:

* **the question** asked: ``budget``, the best use of the 2021 total (or of ``budget_yuan``);
  ``target``, the least planned cost reaching the targets; ``pareto``, the frontier of the
  objective against equity; each within the equity floor;
* the objective (its weights) and the search (trials, feasible trials, seeds, scale, runs, time);
* **what could change**: every variable with its bounds (or choices) and its 2021 value;
* **the best allocation against 2021**: each variable's 2021 value and optimum, the objective and
  the planned cost on the search seeds, and the planned cost on the fresh seeds;
* **the verification**: the paired differences of the best allocation from each ``against``
  scenario (``baseline_2021``, ``need_based``) on fresh seeds, with their 90 % t-intervals
  (``verification.csv``: the objective, every coverage indicator, the lowest counties, the booked
  cost), and the runners-up's objective;
* **whether the budget, the equity floor and the targets hold** on the fresh seeds, and **how
  much of the search's gain survives** (verified gain / search gain);
* pareto mode: the frontier (``pareto.csv``) as a table and a figure
  (:func:`sim.plots_optimize.pareto_figure`);
* the response curves (``figures/response.png``, copied into the memo's figures as
  ``figo_response``; drawn from ``response.csv`` when the picture is missing) with a one-sentence
  caption;
* for an infeasible search: the optimiser's message and the closest trial against 2021.

Every number of the section is ``predicted`` (a model output under the allocations searched, MODEL.md
section 7) and the section says so. Given only optimisation folders (and perhaps sensitivity
folders), the memo (:func:`optimisation_report`) is the question, the section(s) and a provenance
footer; beside run or sweep folders, the ordinary memo gets the section after its figures
(:mod:`sim.report`). Words come from :mod:`sim.labels` (``optimize.*``); text read from the files
(the optimiser's message, variable values, folder names) is escaped by the renderer like the rest
of the memo.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

import sim
from sim import plots
from sim.errors import UserError
from sim.labels import indicator_label, join_words, provenance_label, seeds_text, text
from sim.metrics import EQUITY_INDICATORS
from sim.optimize import BASELINE, BASELINE_FLOOR, EXTRA, LEVEL, MODES, pareto_front
from sim.report.assemble import Memo
from sim.report.figures import FigureEntry
from sim.runs import check_out_dir

OPTIMIZE_FILE = "optimize.json"
STATUSES = ("ok", "infeasible")
VERIFICATION_COLUMNS = ("allocation", "against", "indicator", "mean_difference", "low", "high", "level", "seeds",
                        "scale", "allocation_mean", "against_mean")
"""The columns of ``verification.csv`` the memo reads."""
COVERAGE = "coverage."
LABEL_2021 = "2021 allocation"
"""The label of the first trial in ``trials.parquet``."""


# --------------------------------------------------------------------------- reading
@dataclass
class Optimisation:
    """One optimisation folder, read and checked."""

    dir: Path
    meta: dict
    verification: pd.DataFrame
    """``verification.csv`` (empty for an infeasible search)."""
    trials: pd.DataFrame | None = None
    response: pd.DataFrame | None = None
    front: pd.DataFrame | None = None
    """``pareto.csv`` (pareto mode)."""

    @property
    def mode(self) -> str:
        return str(self.meta["mode"])

    @property
    def ok(self) -> bool:
        return self.meta["status"] == "ok"

    @property
    def spec(self) -> dict:
        return self.meta["spec"]

    @property
    def variables(self) -> list[dict]:
        return list(self.spec["variables"])

    @property
    def best(self) -> dict:
        return self.meta.get("best") or {}

    @property
    def arm(self) -> str:
        """The best allocation's name in ``verification.csv``."""
        return f"trial_{self.best.get('trial')}"

    @property
    def against(self) -> list[str]:
        """The scenarios the verification paired the allocations with (in the spec's order)."""
        listed = [str(s) for s in self.spec.get("against") or []]
        found = [str(s) for s in dict.fromkeys(self.verification["against"])] if len(self.verification) else []
        return [s for s in listed if s in found] + [s for s in found if s not in listed]

    @property
    def equity_indicator(self) -> str:
        """The indicator of the pareto mode's equity: the first of the equity floor."""
        floors = self.spec.get("equity_floor") or {}
        return str(next(iter(floors), EQUITY_INDICATORS[0]))

    def trial_row(self, label: str = LABEL_2021) -> pd.Series | None:
        """The row of ``trials.parquet`` with this label (the 2021 allocation)."""
        if self.trials is None or "label" not in self.trials.columns:
            return None
        r = self.trials[self.trials["label"].astype(str) == label]
        return r.iloc[0] if len(r) else None


def is_optimisation_dir(path) -> bool:
    """Whether ``path`` is an optimisation's folder (it holds ``optimize.json``)."""
    return (Path(path) / OPTIMIZE_FILE).is_file()


def _first_line(e: Exception) -> str:
    s = str(e)
    return s.splitlines()[0] if s else type(e).__name__


def _optional_csv(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise UserError(f"{path}: not a readable CSV table ({_first_line(e)})") from None


def load_optimisation(path) -> Optimisation:
    """Read and check an optimisation folder.

    Raises:
        UserError: ``optimize.json`` is not a JSON object with a mode, a status and the spec's
            variables; or the status is ``ok`` and the best trial or ``verification.csv`` (or its
            rows for the best trial) is missing; or a table is unreadable (one line).
    """
    d = Path(path)
    f = d / OPTIMIZE_FILE
    try:
        meta = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise UserError(f"{f}: not readable JSON ({_first_line(e)})") from None
    if not isinstance(meta, dict):
        raise UserError(f"{f}: must be a JSON object (as outreach-sim-optimize writes it)")
    if meta.get("mode") not in MODES:
        raise UserError(f"{f}: mode {meta.get('mode')!r} must be one of {list(MODES)}")
    if meta.get("status") not in STATUSES:
        raise UserError(f"{f}: status {meta.get('status')!r} must be one of {list(STATUSES)} (an unfinished search? "
                        "re-run outreach-sim-optimize with the same --out)")
    spec = meta.get("spec")
    variables = spec.get("variables") if isinstance(spec, dict) else None
    if not isinstance(variables, list) or not all(isinstance(v, dict) and "key" in v for v in variables):
        raise UserError(f"{f}: spec.variables must be a list of variables, each with its key")
    for k in ("weights", "equity_floor", "targets"):
        if not isinstance(spec.get(k) or {}, dict):
            raise UserError(f"{f}: spec.{k} must be a mapping")
    verification = pd.DataFrame(columns=list(VERIFICATION_COLUMNS))
    if meta["status"] == "ok":
        best = meta.get("best")
        if not isinstance(best, dict) or not isinstance(best.get("trial"), int) \
                or not isinstance(best.get("values"), dict):
            raise UserError(f"{f}: status ok but no best trial (best.trial and best.values)")
        vpath = d / "verification.csv"
        if not vpath.is_file():
            raise UserError(f"{d}: no verification.csv (status ok, so the search verified its best allocation; "
                            "re-run outreach-sim-optimize with the same --out to write it)")
        verification = _optional_csv(vpath)
        missing = [c for c in VERIFICATION_COLUMNS if c not in verification.columns]
        if missing:
            raise UserError(f"{vpath}: missing column(s) {', '.join(missing)}")
        for c in ("mean_difference", "low", "high", "level", "allocation_mean", "against_mean"):
            verification[c] = pd.to_numeric(verification[c], errors="coerce")
        if not (verification["allocation"].astype(str) == f"trial_{best['trial']}").any():
            raise UserError(f"{vpath}: no rows for trial_{best['trial']}, the best allocation of {f.name}")
    trials = None
    tpath = d / "trials.parquet"
    if tpath.is_file():
        try:
            trials = pd.read_parquet(tpath)
        except Exception as e:  # pyarrow raises many kinds on a damaged file
            raise UserError(f"{tpath}: not a readable parquet table ({_first_line(e)})") from None
    return Optimisation(d, meta, verification, trials, _optional_csv(d / "response.csv"),
                        _optional_csv(d / "pareto.csv"))


# --------------------------------------------------------------------------- formatting
def _float(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _mean(xs) -> float:
    vals = [_float(x) for x in xs or []]
    vals = [v for v in vals if math.isfinite(v)]
    return float(np.mean(vals)) if vals else math.nan


def _num(x, fmt: str = "{:.4g}") -> str:
    v = _float(x)
    return fmt.format(v) if math.isfinite(v) else "-"


def _m_yuan(x) -> str:
    """Yuan as millions: '548.5'."""
    return _num(_float(x) / 1e6, "{:,.1f}")


def _pct(x) -> str:
    """A share as percent: '4.93'."""
    return _num(100 * _float(x), "{:.2f}")


def value_text(x, lang: str = "en") -> str:
    """A variable's value: a choice by its label, a number with 4 significant digits (yuan whole)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if isinstance(x, str):
        return text(f"optimize.choice.{x}", lang, default=x)
    if isinstance(x, bool):
        return str(x)
    v = _float(x)
    if not math.isfinite(v):
        return str(x)
    return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"


def var_label(key: str, lang: str = "en") -> str:
    """A decision variable: its label in ``optimize.var.*``, else the dotted key."""
    return text(f"optimize.var.{key}", lang, default=key)


def bounds_text(v: dict, lang: str = "en") -> str:
    """'0.2 – 0.6', or the choices: 'as reported (2021) / by need / per capita'."""
    if v.get("choices") is not None:
        return " / ".join(value_text(c, lang) for c in v["choices"])
    return f"{value_text(v.get('low'), lang)} – {value_text(v.get('high'), lang)}"


def _is_cost(indicator: str) -> bool:
    return str(indicator).startswith("cost.")


def level_text(indicator: str, v, lang: str = "en") -> str:
    """A level: coverage, objective and lowest counties in percent ('4.93 %'), cost in M yuan."""
    if _is_cost(indicator):
        return text("optimize.m_yuan", lang, v=_m_yuan(v))
    return f"{_pct(v)} %"


def difference_text(indicator: str, mean, low, high, lang: str = "en") -> str:
    """'+0.35 pp [+0.25, +0.46]' (coverage, objective, lowest counties) or '+1.2 M yuan [+0.9, +1.5]'
    (cost); without the brackets when there is no interval."""
    if _is_cost(indicator):
        s, fmt, key = 1e-6, "{:+,.1f}", "optimize.m_yuan"
    else:
        s, fmt, key = 100.0, "{:+.2f}", "optimize.pp"
    m, lo, hi = (_float(x) for x in (mean, low, high))
    if not math.isfinite(m):
        return "-"
    head = text(key, lang, v=fmt.format(s * m))
    if math.isfinite(lo) and math.isfinite(hi):
        return f"{head} [{fmt.format(s * lo)}, {fmt.format(s * hi)}]"
    return head


def verified_indicator_label(indicator: str, lang: str = "en") -> str:
    """The objective, a coverage indicator, a lowest county or the booked cost (no unit)."""
    if indicator == "objective":
        return text("optimize.objective_label", lang)
    parts = str(indicator).split(".")
    if len(parts) == 3 and parts[0] == "equity" and parts[2] == "county_coverage_min":
        return text("optimize.lowest_county", lang, ind=indicator_label(parts[1], lang))
    label = indicator_label(indicator, lang)
    return label.split(" (")[0].split("（")[0] if _is_cost(indicator) else label


# --------------------------------------------------------------------------- the section's parts
def _floors_text(o: Optimisation, lang: str) -> str:
    floors = o.spec.get("equity_floor") or {}
    resolved = o.meta.get("equity_floors_search") or {}
    items = []
    for k, f in floors.items():
        ind = indicator_label(k, lang)
        if f == BASELINE_FLOOR:
            items.append(text("optimize.floor_base", lang, ind=ind, v=_pct(resolved.get(k))))
        else:
            items.append(text("optimize.floor_item", lang, ind=ind, v=_pct(f)))
    return text("optimize.floors", lang, items=join_words(items, lang)) if items else ""


def budget_yuan(o: Optimisation) -> float:
    """The budget of budget and pareto modes: the spec's, else the mean of the 2021 totals of the search seeds."""
    given = _float(o.spec.get("budget_yuan"))
    return given if math.isfinite(given) else _mean((o.meta.get("budget_yuan_by_seed") or {}).values())


def question_text(o: Optimisation, lang: str) -> str:
    """The question the search answered, by mode."""
    floors = _floors_text(o, lang)
    if o.mode == "target":
        targets = join_words([text("optimize.target_item", lang, ind=indicator_label(k, lang), v=_pct(t))
                              for k, t in (o.spec.get("targets") or {}).items()], lang)
        return text("optimize.q.target", lang, targets=targets or "-", floors=floors)
    given = math.isfinite(_float(o.spec.get("budget_yuan")))
    total = text("optimize.total_given" if given else "optimize.total_2021", lang, b=_m_yuan(budget_yuan(o)))
    if o.mode == "pareto":
        return text("optimize.q.pareto", lang, total=total, ind=indicator_label(o.equity_indicator, lang),
                    floors=floors)
    return text("optimize.q.budget", lang, total=total, floors=floors)


def objective_text(o: Optimisation, lang: str) -> str:
    weights = o.spec.get("weights") or {}
    items = [text("optimize.weight_item", lang, ind=indicator_label(k, lang), w=_num(w, "{:g}"))
             for k, w in weights.items()]
    key = "optimize.objective_target" if o.mode == "target" else "optimize.objective"
    return text(key, lang, n=len(items), items=join_words(items, lang))


def search_text(o: Optimisation, lang: str) -> str:
    m, s = o.meta, o.spec
    return text("optimize.search", lang, dir=str(o.dir), trials=m.get("trials", "?"),
                feasible=m.get("feasible_trials", "?"), seeds=seeds_text(s.get("search_seeds") or []),
                scale=_num(s.get("search_scale"), "{:g}"), runs=m.get("search_runs", "?"),
                min=_float(m.get("search_seconds")) / 60, sampler=text(f"optimize.sampler.{o.mode}", lang))


def variables_table(o: Optimisation, lang: str) -> tuple[list[str], list[list[str]]]:
    """What could change: label, config key, bounds (or choices), 2021 value."""
    header = [text(f"optimize.col_{c}", lang) for c in ("var", "key", "bounds", "2021")]
    rows = [[var_label(str(v["key"]), lang), str(v["key"]), bounds_text(v, lang), value_text(v.get("base"), lang)]
            for v in o.variables]
    return header, rows


def _allocation_rows(o: Optimisation, values: dict, lang: str) -> list[list[str]]:
    """Variable, 2021 value, the allocation's value: every variable of the spec, then any other
    value of the allocation (target mode's extra outreach money, 0 in 2021)."""
    rows, keys = [], set()
    for v in o.variables:
        key = str(v["key"])
        keys.add(key)
        rows.append([var_label(key, lang), value_text(v.get("base"), lang), value_text(values.get(key), lang)])
    for key, x in values.items():
        if key not in keys:
            rows.append([var_label(key, lang), value_text(0.0 if key == EXTRA else None, lang), value_text(x, lang)])
    return rows


def best_table(o: Optimisation, lang: str) -> tuple[list[str], list[list[str]]]:
    """The best allocation against 2021: each variable, the objective and the planned cost (search seeds)."""
    b = o.best
    header = [text("optimize.col_var", lang), text("optimize.col_2021", lang),
              text("optimize.col_best", lang, t=b.get("trial"))]
    rows = _allocation_rows(o, b.get("values") or {}, lang)
    obj = _float(b.get("objective_search"))
    rows.append([text("optimize.row_objective", lang), _pct(obj - _float(o.meta.get("search_gain"))), _pct(obj)])
    base = o.trial_row()
    rows.append([text("optimize.row_cost", lang), _m_yuan(base["planned_cost_yuan"]) if base is not None else "-",
                 _m_yuan(b.get("planned_cost_yuan_search"))])
    return header, rows


def _checks(o: Optimisation) -> dict:
    return (o.meta.get("verification") or {}).get(o.arm) or {}


def cost_text(o: Optimisation, lang: str) -> str:
    c = _checks(o)
    search, fresh = _m_yuan(o.best.get("planned_cost_yuan_search")), _m_yuan(_mean(c.get("planned_cost_yuan")))
    if o.mode == "target":
        base = o.trial_row()
        return text("optimize.cost_target", lang, c=search, v=fresh,
                    b=_m_yuan(base["planned_cost_yuan"]) if base is not None else "-")
    extra = _mean([max(_float(g), 0.0) for g in c.get("budget_gap_yuan") or []])
    return text("optimize.cost_budget", lang, c=search, v=fresh, e=_m_yuan(extra))


def verify_text(o: Optimisation, lang: str) -> str:
    v = o.verification[o.verification["allocation"].astype(str) == o.arm]
    seeds = o.spec.get("verify_seeds") or []
    n = int(v["seeds"].max()) if len(v) and pd.notna(v["seeds"].max()) else len(seeds)
    level = _float(v["level"].iloc[0]) if len(v) else LEVEL
    return text("optimize.verify", lang, t=o.best.get("trial"), n=n, seeds=seeds_text(seeds),
                scale=_num(v["scale"].iloc[0] if len(v) else o.spec.get("verify_scale"), "{:g}"),
                against=join_words(o.against, lang), level=100 * (level if math.isfinite(level) else LEVEL))


def verification_table(o: Optimisation, lang: str) -> tuple[list[str], list[list[str]]]:
    """The best allocation on the fresh seeds: each indicator's mean (with its provenance,
    predicted) and its paired difference from each ``against`` scenario with the 90 % interval."""
    refs = o.against
    header = [text("memo.col_indicator", lang), text("memo.col_provenance", lang),
              text("optimize.col_mean", lang, t=o.best.get("trial"))] + \
             [text("optimize.col_diff", lang, ref=r) for r in refs]
    v = o.verification[o.verification["allocation"].astype(str) == o.arm]
    rows = []
    for ind in dict.fromkeys(v["indicator"].astype(str)):
        g = v[v["indicator"].astype(str) == ind].set_index("against")
        row = [verified_indicator_label(ind, lang), provenance_label("predicted", lang),
               level_text(ind, g["allocation_mean"].iloc[0], lang)]
        for r in refs:
            row.append(difference_text(ind, *g.loc[r, ["mean_difference", "low", "high"]], lang)
                       if r in g.index else "-")
        rows.append(row)
    return header, rows


def runner_up_items(o: Optimisation, lang: str) -> list[str]:
    """The objective of the other verified allocations against each ``against`` scenario."""
    v = o.verification[(o.verification["indicator"] == "objective") & (o.verification["allocation"] != o.arm)]
    items = []
    for arm, g in v.groupby("allocation", sort=False):
        for _, r in g.iterrows():
            items.append(text("optimize.runner_up", lang, t=str(arm).removeprefix("trial_"), ref=r["against"],
                              d=difference_text("objective", r["mean_difference"], r["low"], r["high"], lang)))
    return items


def check_items(o: Optimisation, lang: str) -> list[str]:
    """Whether the budget (budget and pareto modes), each equity floor and each target (target
    mode) hold for the best allocation on the fresh seeds (``optimize.json``'s verification)."""
    c, ver = _checks(o), o.meta.get("verification") or {}
    holds, fails = text("optimize.holds", lang), text("optimize.fails", lang)
    items = []
    gaps = [_float(g) for g in c.get("budget_gap_yuan") or []]
    if o.mode != "target" and gaps:
        over = max(max(-g, 0.0) for g in gaps)
        budgets = ver.get("_budgets") or {}
        seeds = o.spec.get("verify_seeds") or []
        booked = _float((o.meta.get("budget_check") or {}).get("booked_minus_budget_yuan_max"))
        if not math.isfinite(booked):
            pairs = zip(c.get("booked_cost_yuan") or [], seeds, strict=False)
            booked = max((_float(b) - _float(budgets.get(str(s))) for b, s in pairs), default=math.nan)
        if math.isfinite(booked):
            btxt = text("optimize.booked_over" if booked > 0 else "optimize.booked_below", lang,
                        v=_m_yuan(abs(booked)))
        else:
            btxt = "-"
        items.append(text("optimize.budget_check", lang, over=_num(over, "{:,.0f}"), booked=btxt,
                          verdict=holds if over <= 0.5 else fails))
    resolved = ver.get("_floors") or {}
    for k, f in (o.spec.get("equity_floor") or {}).items():
        floor = _float(resolved.get(k, f))
        v = _float((c.get("floors") or {}).get(k))
        ok = math.isfinite(v) and math.isfinite(floor) and v >= floor - 1e-12
        items.append(text("optimize.floor_check", lang, ind=indicator_label(k, lang), v=_pct(v), f=_pct(floor),
                          base=text("optimize.floor_is_base", lang) if f == BASELINE_FLOOR else "",
                          verdict=holds if ok else fails))
    if o.mode == "target":
        for k, t in (o.spec.get("targets") or {}).items():
            v = _float((c.get("targets") or {}).get(k))
            ok = math.isfinite(v) and v >= _float(t)
            items.append(text("optimize.target_check", lang, ind=indicator_label(k, lang), v=_pct(v), t=_pct(t),
                              verdict=holds if ok else fails))
    return items


def survival_text(o: Optimisation, lang: str) -> str:
    """How much of the search's gain in the objective over the 2021 allocation survives on fresh seeds."""
    m = o.meta
    sg = _float(m.get("search_gain"))
    s = difference_text("objective", sg, None, None, lang)
    v = o.verification[(o.verification["allocation"] == o.arm) & (o.verification["indicator"] == "objective")
                       & (o.verification["against"] == BASELINE)]
    if v.empty:
        return text("optimize.survival_unknown", lang, s=s)
    r = v.iloc[0]
    vtxt = difference_text("objective", r["mean_difference"], r["low"], r["high"], lang)
    if not sg > 0:
        return text("optimize.survival_none", lang, s=s, v=vtxt)
    p = _float(m.get("survival"))
    if not math.isfinite(p):
        p = _float(r["mean_difference"]) / sg
    return text("optimize.survival", lang, s=s, v=vtxt, p=100 * p)


def front_table(o: Optimisation, lang: str) -> tuple[list[str], list[list[str]]]:
    """The frontier of pareto mode: trial, objective, equity (%), planned cost (M yuan)."""
    ind = indicator_label(o.equity_indicator, lang)
    header = [text("optimize.col_trial", lang), text("optimize.col_objective", lang),
              text("optimize.col_equity", lang, ind=ind), text("optimize.col_cost", lang)]
    f = o.front if o.front is not None else pd.DataFrame()
    rows = [[_num(r.get("trial"), "{:.0f}"), _pct(r.get("objective")), _pct(r.get("equity")),
             _m_yuan(r.get("planned_cost_yuan"))] for _, r in f.iterrows()]
    return header, rows


def closest_trial(o: Optimisation) -> pd.Series | None:
    """The trial with the smallest sum of constraint shortfalls (as :mod:`sim.optimize` names it)."""
    df = o.trials
    if df is None or df.empty:
        return None
    cons = [c for c in df.columns if str(c).startswith("constraint.")]
    if not cons:
        return None
    return df.assign(v=df[cons].clip(lower=0).sum(axis=1)).sort_values("v").iloc[0]


def _constraint_label(name: str, lang: str) -> str:
    kind, _, ind = name.partition(".")
    if kind == "budget":
        return text("optimize.constraint.budget", lang)
    return text(f"optimize.constraint.{kind}", lang, ind=indicator_label(ind, lang), default=name)


def closest_table(o: Optimisation, row: pd.Series, lang: str) -> tuple[list[str], list[list[str]]]:
    """The closest trial against 2021: its variables, objective, planned cost and shortfalls."""
    header = [text("optimize.col_var", lang), text("optimize.col_2021", lang),
              text("optimize.col_closest", lang, t=int(row["trial"]))]
    values = {str(k).removeprefix("var."): v for k, v in row.items() if str(k).startswith("var.") and pd.notna(v)}
    rows = _allocation_rows(o, values, lang)
    base = o.trial_row()
    rows.append([text("optimize.row_objective", lang), _pct(base["objective"]) if base is not None else "-",
                 _pct(row.get("objective"))])
    rows.append([text("optimize.row_cost", lang), _m_yuan(base["planned_cost_yuan"]) if base is not None else "-",
                 _m_yuan(row.get("planned_cost_yuan"))])
    for c in row.index:
        if str(c).startswith("constraint.") and _float(row[c]) > 1e-12:
            name = str(c).removeprefix("constraint.")
            short = (text("optimize.m_yuan", lang, v=_num(row[c], "{:,.1f}")) if name == "budget"
                     else text("optimize.pp", lang, v=_num(100 * _float(row[c]), "{:.2f}")))
            rows.append([text("optimize.row_short", lang, name=_constraint_label(name, lang)), "-", short])
    return header, rows


# --------------------------------------------------------------------------- figures
@dataclass
class Part:
    """One optimisation folder in the memo: the search and its figures."""

    opt: Optimisation
    figures: list[FigureEntry] = field(default_factory=list)


def response_caption(curves: pd.DataFrame | None, lang: str) -> str:
    """The channel whose money moves the objective most across its share's bounds."""
    need = {"channel", "share", "objective"}
    if curves is None or curves.empty or not need <= set(curves.columns):
        return text("optimize.c_response_plain", lang)
    best = None
    for ch, g in curves.groupby("channel", sort=False):
        g = g.sort_values("share")
        spread = float(g["objective"].max() - g["objective"].min())
        if best is None or spread > best[0]:
            best = (spread, str(ch), g)
    _, ch, g = best
    return text("optimize.c_response", lang, ch=text(f"optimize.channel.{ch}", lang, default=ch),
                a=100 * float(g["objective"].iloc[0]), b=100 * float(g["objective"].iloc[-1]),
                lo=float(g["share"].iloc[0]), hi=float(g["share"].iloc[-1]))


def _response_figure(o: Optimisation, lang: str, out: Path, name: str) -> tuple[Path, Path] | None:
    """Copy ``figures/response.png`` and ``.svg`` into the memo's figures; draw them from
    ``response.csv`` when the pictures are missing."""
    src = o.dir / "figures"
    png, svg = out / f"{name}.png", out / f"{name}.svg"
    if (src / "response.png").is_file() and (src / "response.svg").is_file():
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / "response.png", png)
        shutil.copyfile(src / "response.svg", svg)
        return png, svg
    curves = o.response
    need = {"channel", "share", "channel_money_yuan", "objective", "feasible", "optimum_share"}
    if curves is None or curves.empty or not need <= set(curves.columns):
        return None
    from sim.plots_optimize import response_figure

    spec = SimpleNamespace(weights=o.spec.get("weights") or {}, search_scale=_float(o.spec.get("search_scale")),
                           search_seeds=o.spec.get("search_seeds") or [])
    paths = response_figure(curves, spec, out / name, lang)
    return paths[0], paths[1]


def _pareto_caption(o: Optimisation, front: pd.DataFrame, lang: str) -> str:
    f = front.sort_values("objective", ascending=False)
    top, fair = f.iloc[0], f.iloc[-1]  # the highest objective, then the highest equity
    key = "optimize.c_pareto" if len(f) > 1 else "optimize.c_pareto_one"
    return text(key, lang, n=int(o.trials["feasible"].astype(bool).sum()), k=len(f), o1=100 * float(top["objective"]),
                e1=100 * float(top["equity"]), o2=100 * float(fair["objective"]), e2=100 * float(fair["equity"]))


def draw_part(o: Optimisation, lang: str, out: Path, *, suffix: str = "", log=print) -> Part:
    """The figures of one optimisation folder in ``out`` (``figo_*<suffix>``): the response curves
    (copied) and, in pareto mode, the frontier."""
    part = Part(o)
    name = "figo_response" + suffix
    paths = _response_figure(o, lang, out, name) if o.ok else None
    if paths:
        part.figures.append(FigureEntry(name, text("optimize.f_response_title", lang),
                                        response_caption(o.response, lang), *paths))
        log(f"  figure {name}: {paths[0].name}, {paths[1].name}")
    t = o.trials
    if o.mode == "pareto" and t is not None and {"objective", "equity", "feasible"} <= set(t.columns):
        front = o.front if o.front is not None and {"objective", "equity"} <= set(o.front.columns) \
            else pareto_front(t)
        front = front.dropna(subset=["objective", "equity"])
        if len(front):
            from sim.plots_optimize import pareto_figure

            s = o.spec
            src = text("optimize.f_source", lang, n=len(t), seeds=seeds_text(s.get("search_seeds") or []),
                       scale=_num(s.get("search_scale"), "{:g}"))
            fig = pareto_figure(t, front, equity_indicator=o.equity_indicator, lang=lang, source=src)
            name = "figo_pareto" + suffix
            png, svg = plots.save(fig, out, name)
            title = " ".join(fig.get_suptitle().split())
            part.figures.append(FigureEntry(name, title, _pareto_caption(o, front, lang), png, svg))
            log(f"  figure {name}: {png.name}, {svg.name}")
    return part


def draw_parts(optimisations: list[Optimisation], lang: str, out: Path, log=print) -> list[Part]:
    """:func:`draw_part` for every folder (the second and later with a suffix ``_2``, ``_3`` ...)."""
    return [draw_part(o, lang, out, suffix="" if k == 0 else f"_{k + 1}", log=log)
            for k, o in enumerate(optimisations)]


# --------------------------------------------------------------------------- the section
def add_section(memo: Memo, parts: list[Part], lang: str, first_figure: int = 1, question: bool = True) -> None:
    """The optimisation section of every folder; its figures numbered from ``first_figure``
    (``question``: open each folder with its question, left out when the memo's own question
    section has it)."""
    memo.add("h2", text("optimize.h", lang))
    n = first_figure
    for part in parts:
        o = part.opt
        if question:
            memo.add("p", question_text(o, lang))
        memo.add("p", ("" if lang == "zh" else " ").join((objective_text(o, lang), search_text(o, lang))))
        memo.add("p", text("optimize.predicted", lang))
        memo.add("p", text("optimize.vars", lang))
        memo.add("table", *variables_table(o, lang))
        if not o.ok:
            memo.add("p", text("optimize.infeasible", lang, msg=str(o.meta.get("summary") or "-")))
            row = closest_trial(o)
            if row is not None:
                memo.add("p", text("optimize.closest", lang))
                memo.add("table", *closest_table(o, row, lang))
        else:
            memo.add("p", text("optimize.best", lang, t=o.best.get("trial"), n=o.meta.get("trials", "?")))
            memo.add("table", *best_table(o, lang))
            memo.add("p", cost_text(o, lang))
            memo.add("p", verify_text(o, lang))
            memo.add("table", *verification_table(o, lang))
            runners = runner_up_items(o, lang)
            if runners:
                memo.add("ul", runners)
            checks = check_items(o, lang)
            if checks:
                memo.add("p", text("optimize.checks", lang))
                memo.add("ul", checks)
            memo.add("p", survival_text(o, lang))
            if o.mode == "pareto" and o.front is not None and len(o.front):
                memo.add("p", text("optimize.front", lang, k=len(o.front), n=o.meta.get("feasible_trials", "?")))
                memo.add("table", *front_table(o, lang))
        for f in part.figures:
            memo.add("figure", f, n)
            n += 1


def provenance_text(part: Part, lang: str) -> str:
    o = part.opt
    m, s = o.meta, o.spec
    verified = text("optimize.p_verified", lang, vs=seeds_text(s.get("verify_seeds") or []),
                    vsc=_num(s.get("verify_scale"), "{:g}")) if o.ok else ""
    return text("optimize.p_opt", lang, dir=str(o.dir), mode=o.mode, trials=m.get("trials", "?"),
                ss=seeds_text(s.get("search_seeds") or []), sc=_num(s.get("search_scale"), "{:g}"),
                runs=m.get("search_runs", "?"), verified=verified, v=m.get("package_version", "?"),
                spec=s.get("path") or "-", s=_num(m.get("seconds"), "{:,.0f}"))


# --------------------------------------------------------------------------- a memo without run folders
def build_optimisation_memo(parts: list[Part], lang: str, uncertainty: list | None = None) -> Memo:
    """The memo of optimisation folders (and perhaps sensitivity folders) alone: the question,
    the uncertainty section, the optimisation section, provenance."""
    from sim.report import uncertainty as U

    uparts = list(uncertainty or [])
    what = join_words(list(dict.fromkeys(text(f"optimize.what.{p.opt.mode}", lang) for p in parts)), lang)
    memo = Memo(lang, text("memo.title", lang), text("memo.subtitle", lang, what=what))
    memo.add("h2", text("memo.h_question", lang))
    for p in parts:
        memo.add("p", question_text(p.opt, lang))
    for up in uparts:
        s = up.sens
        if s.scenarios:
            memo.add("p", text("uncertainty.question", lang, others=join_words(s.scenarios, lang), base=s.baseline))
        else:
            memo.add("p", text("uncertainty.question_base", lang, base=s.baseline))
    if uparts:
        U.add_section(memo, uparts, lang)
    add_section(memo, parts, lang, first_figure=1 + sum(len(p.figures) for p in uparts), question=False)
    memo.add("h2", text("memo.h_provenance", lang))
    for p in parts:
        memo.add("p", provenance_text(p, lang))
    for up in uparts:
        U.add_provenance(memo, up, lang)
    memo.add("p", text("optimize.p_generated", lang, v=sim.__version__, d=dt.date.today().isoformat()))
    return memo


def _check_baseline(optimisations: list[Optimisation], baseline: str | None) -> None:
    if not baseline:
        return
    name = baseline.removeprefix("scenario=")
    for o in optimisations:
        if o.ok and name not in o.against:
            raise UserError(f"--baseline {baseline}: the optimisation in {o.dir} was verified against "
                            f"{', '.join(o.against)}")


def optimisation_report(optimisations: list[Optimisation], sensitivities: list | None = None, *, out: Path,
                        lang: str = "en", indicator: str | None = None, baseline: str | None = None,
                        log=print) -> dict:
    """Write the memo of optimisation folders without run folders (``memo.md``, ``memo.html``,
    ``figures/``), with the uncertainty section of any sensitivity folders."""
    from sim.report import uncertainty as U
    from sim.report.render import render_html, render_md

    sensitivities = list(sensitivities or [])
    _check_baseline(optimisations, baseline)
    if sensitivities:
        U._check_baseline(sensitivities, baseline)
        U._check_indicator(sensitivities, indicator)
    check_out_dir(out)
    for o in optimisations:
        log(f"read optimisation {o.dir}: {o.mode} mode, {o.meta.get('trials', '?')} trials, status "
            f"{o.meta['status']}")
    fig_dir = out / "figures"
    for old in (*fig_dir.glob("fig*.png"), *fig_dir.glob("fig*.svg")):  # figures of an earlier report
        old.unlink()
    with plots.style(lang):
        uparts = U.draw_parts(sensitivities, lang, fig_dir, indicator=indicator, log=log)
        parts = draw_parts(optimisations, lang, fig_dir, log=log)
    memo = build_optimisation_memo(parts, lang, uparts)
    md, page = out / "memo.md", out / "memo.html"
    md.write_text(render_md(memo, out), encoding="utf-8")
    page.write_text(render_html(memo), encoding="utf-8")
    return {"html": page, "md": md, "figures": fig_dir,
            "n_figures": sum(len(p.figures) for p in parts) + sum(len(p.figures) for p in uparts)}
