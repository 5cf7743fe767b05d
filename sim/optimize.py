"""The best use of a budget and of posts: ``outreach-sim-optimize`` (MODEL.md §10).

``outreach-sim-optimize --mode budget|target|pareto --trials N --out DIR [key=value ...]``

**What may change** (``sim/conf/optimize.yaml``, or ``--spec FILE``): the channel shares of the
county outreach money (made to sum to 1 within their bounds), money moved online, the county
allocation rule (``funding.policy``) and its floor per resident, the share of prefecture and
county budgets given to outreach, and the posts per level (prefecture, county, share of
townships with a post). Each within ``bound`` (default ±50 %) of its 2021 value unless the file
gives its own range; a variable can be dropped or fixed by editing the file.

**Modes.**

* ``budget``: maximise the objective (the weighted mean of coverages, ``weights``) within a total
  yearly cost and an equity floor (no county below a coverage of chosen indicators,
  ``equity_floor``). The total cost is what the allocation *plans*: every pot's money (association
  budgets and project funds, raised funds) plus the posts at ``post_cost_yuan_per_year`` and the
  stipends, computed from the model's own allocation (:func:`planned_cost`); the booked cost of a
  run (``cost.total_yuan``) can only be lower (money not spent). The budget is
  ``budget_yuan``, or by default what ``baseline_2021`` plans in the same seed (the 2021 total).
  An allocation is made to spend exactly the budget: what it leaves goes to the county outreach
  money (``funding.extra_outreach_yuan``, shared like the rest of it); one that needs more than the
  budget is infeasible (more posts must be paid by giving less of the budgets to outreach).
* ``target``: the least total planned cost whose coverages reach ``targets`` (mean over the
  search seeds), within the equity floor; the extra outreach money (0 to
  ``extra_money_max_yuan``) is a decision variable.
* ``pareto``: within the budget, the frontier of the objective against equity (the lowest county
  coverage of the first ``equity_floor`` indicator): what a planner chooses from.

**Search.** Optuna (TPE; NSGA-II for ``pareto``), seeded, with its constraints
(``constraints_func``), on fixed search seeds at a small scale: every trial runs on the same seeds
(common random numbers), so trials differ by their allocation, not by chance. The first trial is
the 2021 allocation itself. Trials are asked in batches and run in parallel worker processes that
keep the province (:func:`sim.batch.run_chunk`); the study lives in ``DIR/study.db`` (SQLite), so an
interrupted search resumes where it stopped (trials left running are marked failed) and several
processes can share one study. Optuna was chosen over ``scipy.optimize`` because the space mixes a
categorical rule with bounded continuous shares, the objective is noisy and piecewise flat
(whole events, hands that bind), and a persistent, resumable study is part of the requirement.

**Verification.** The best allocation and the runners-up (``verify.top``) are run again on fresh
seeds (``verify.first_seed`` on, never the search seeds) at a larger scale, paired with
``baseline_2021`` and ``need_based`` on the same seeds: the mean paired difference of the
objective and of every indicator with a 90 % t-interval (``verification.csv``), whether the floor,
the targets and the budget hold there, and how much of the search's gain over ``baseline_2021``
survives (``survival`` = verified gain / search gain; the search's best is optimistic, being the
best of many noisy trials).

**Files** under ``--out``: ``trials.parquet`` (every trial: variables, planned cost, objective,
constraints, mean indicators), ``best.yaml`` (a scenario file: ``outreach-sim --config-dir DIR
scenario=optimized_<mode>`` reproduces it, as it is also written to ``DIR/scenario/``),
``verification.csv``, ``response.csv`` and ``figures/response.png`` (the objective and each
channel's coverage against the channel's money, the other variables at the optimum, the optimum
marked), ``pareto.csv`` (pareto mode), ``optimize.json`` (the spec, the budget, the best, the
search and verified gains, timing) and ``study.db``.

**Bad input** is one line and exit status 2: an unknown variable or indicator, all-zero weights,
conflicting bounds (low above high, share bounds that cannot sum to 1), a bad mode. A floor or
target that no allocation within the bounds reached ends with status 1 and a message naming the
best result found (the files are written).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.batch import Job, ModelTask, run_batch, run_chunk
from sim.compose import CONF_DIR, compose_run_config, with_overrides
from sim.config import RunConfig
from sim.errors import ConfigError, UserError, check_range
from sim.marginal import t_interval
from sim.metrics import COVERAGE, EQUITY_INDICATORS

SPEC_FILE = CONF_DIR / "optimize.yaml"
MODES = ("budget", "target", "pareto")
SHARE_KEYS = ("funding.share_youth_lectures", "funding.share_family_health", "funding.share_policy_events",
              "funding.share_volunteers")
CHANNEL_OF_SHARE = {"funding.share_youth_lectures": "youth_lectures",
                    "funding.share_family_health": "family_health_events",
                    "funding.share_policy_events": "policy_events", "funding.share_volunteers": "volunteers"}
EXTRA = "funding.extra_outreach_yuan"
BASELINE = "baseline_2021"
INDICATORS = (*(f"coverage.{k}" for k in COVERAGE), "cost.total_yuan",
              *(f"equity.{k}.county_coverage_min" for k in EQUITY_INDICATORS))
LEVEL = 0.90
BASELINE_FLOOR = "baseline"
"""An equity floor given as ``baseline``: no county below the 2021 allocation's lowest county
coverage of the indicator, in the same seeds (nobody worse off than the worst-off county today)."""


# ---------------------------------------------------------------------------- the spec
@dataclass(frozen=True)
class Var:
    """A decision variable: a config key with bounds, or a choice among values."""

    key: str
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    base: object = None
    """Its 2021 value (baseline_2021)."""


@dataclass(frozen=True)
class Spec:
    variables: tuple[Var, ...]
    weights: dict[str, float]
    equity_floor: dict[str, float | str]
    targets: dict[str, float]
    extra_money_max_yuan: float
    budget_yuan: float | None
    search_scale: float
    search_seeds: tuple[int, ...]
    verify_scale: float
    verify_seeds: tuple[int, ...]
    top: int
    against: tuple[str, ...]
    bound: float
    path: str = ""

    @property
    def shares(self) -> list[Var]:
        return [v for v in self.variables if v.key in SHARE_KEYS]

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["variables"] = [{k: x for k, x in dataclasses.asdict(v).items() if x is not None} for v in self.variables]
        return d


def _get(cfg: RunConfig, key: str):
    group, _, name = key.partition(".")
    return getattr(getattr(cfg, group), name)


def _indicator_map(where: str, d, allowed: Sequence[str], low: float = 0.0, high: float = 1.0) -> dict[str, float]:
    if d is None:
        return {}
    if not isinstance(d, dict):
        raise ConfigError(where, d, f"must be a mapping of indicators to numbers; indicators: {list(allowed)}")
    out = {}
    for k, v in d.items():
        if k not in allowed:
            raise ConfigError(f"{where}.{k}", v, f"is not an indicator here; allowed: {list(allowed)}")
        check_range(f"{where}.{k}", v, low, high)
        out[str(k)] = float(v)
    return out


def load_spec(path: str | Path | None, cfg: RunConfig, *, weights=None, floors=None, targets=None) -> Spec:
    """Read and check the optimisation spec (default ``sim/conf/optimize.yaml``); ``weights``,
    ``floors`` and ``targets`` (from the command line) replace the file's.

    Raises:
        UserError / ConfigError: one line naming the entry and what is allowed.
    """
    path = Path(path) if path else SPEC_FILE
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as e:
        raise UserError(f"cannot read the optimisation spec {path}: {e.strerror}") from None
    except yaml.YAMLError:
        raise UserError(f"{path}: not valid YAML") from None
    if not isinstance(doc, dict):
        raise UserError(f"{path}: must be a mapping (see sim/conf/optimize.yaml)")
    allowed_top = {"bound", "variables", "weights", "equity_floor", "targets", "extra_money_max_yuan", "budget_yuan",
                   "search", "verify"}
    unknown = set(doc) - allowed_top
    if unknown:
        raise UserError(f"{path}: unknown key {sorted(unknown)[0]!r}; allowed: {sorted(allowed_top)}")
    bound = doc.get("bound", 0.5)
    check_range("bound", bound, 0, 1, low_open=True)
    variables = []
    for key, v in (doc.get("variables") or {}).items():
        variables.append(_parse_var(str(key), v or {}, cfg, float(bound)))
    if not variables:
        raise ConfigError("variables", None, "name at least one decision variable")
    shares = [v for v in variables if v.key in SHARE_KEYS]
    if shares and len(shares) != len(SHARE_KEYS):
        raise ConfigError("variables", [v.key for v in shares], f"the channel shares go together: all of "
                                                                 f"{list(SHARE_KEYS)} or none")
    if shares:
        lo, hi = sum(v.low for v in shares), sum(v.high for v in shares)
        if not lo <= 1 <= hi:
            raise ConfigError("variables.funding.share_*", f"low sum {lo:g}, high sum {hi:g}",
                              "the channel shares' bounds must allow shares summing to 1 (low sum <= 1 <= high sum)")
    cov = list(COVERAGE)
    w = _indicator_map("weights", weights if weights is not None else doc.get("weights"), cov, 0, 1e6)
    if not w or not any(x > 0 for x in w.values()):
        raise ConfigError("weights", w, "give at least one coverage indicator a positive weight")
    raw_floor = floors if floors is not None else doc.get("equity_floor")
    floors = _indicator_map("equity_floor", {k: v for k, v in (raw_floor or {}).items() if v != BASELINE_FLOOR}
                            if isinstance(raw_floor, dict) else raw_floor, list(EQUITY_INDICATORS))
    if isinstance(raw_floor, dict):  # 'baseline': the 2021 allocation's own lowest county, in the same seeds
        for k, v in raw_floor.items():
            if v == BASELINE_FLOOR:
                _indicator_map("equity_floor", {k: 0.0}, list(EQUITY_INDICATORS))
                floors[str(k)] = BASELINE_FLOOR
    tg = _indicator_map("targets", targets if targets is not None else doc.get("targets"), cov)
    extra_max = doc.get("extra_money_max_yuan", 100e6)
    check_range("extra_money_max_yuan", extra_max, 0, 1e12, low_open=True)
    budget = doc.get("budget_yuan")
    if budget is not None:
        check_range("budget_yuan", budget, 0, 1e13, low_open=True)
    s, vf = doc.get("search") or {}, doc.get("verify") or {}
    scale = s.get("scale", 0.05)
    check_range("search.scale", scale, 5e-5, 1)
    seeds = tuple(int(x) for x in s.get("seeds", [1, 2]))
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError("search.seeds", list(seeds), "give distinct seeds")
    vscale = vf.get("scale", 0.1)
    check_range("verify.scale", vscale, 5e-5, 1)
    n_verify = vf.get("seeds", 10)
    check_range("verify.seeds", n_verify, 2, 1000)
    first = int(vf.get("first_seed", 1001))
    vseeds = tuple(range(first, first + int(n_verify)))
    if set(vseeds) & set(seeds):
        raise ConfigError("verify.first_seed", first, f"the verification seeds must differ from the search seeds "
                                                      f"{list(seeds)}")
    top = vf.get("top", 3)
    check_range("verify.top", top, 1, 20)
    against = tuple(vf.get("against", [BASELINE, "need_based"]))
    return Spec(tuple(variables), w, floors, tg, float(extra_max), None if budget is None else float(budget),
                float(scale), seeds, float(vscale), vseeds, int(top), against, float(bound), str(path))


def _parse_var(key: str, v: dict, cfg: RunConfig, bound: float) -> Var:
    where = f"variables.{key}"
    if not isinstance(v, dict) or set(v) - {"low", "high", "choices"}:
        raise ConfigError(where, v, "must be {} (within the bound of its 2021 value), {low, high} or {choices: [...]}")
    group, dot, name = key.partition(".")
    sub = getattr(cfg, group, None) if dot else None
    if not dataclasses.is_dataclass(sub) or name not in {f.name for f in dataclasses.fields(sub)}:
        raise ConfigError(where, key, "is not a parameter of the run config (group.key)")
    if key == EXTRA:
        raise ConfigError(where, key, "is set by the optimiser itself (the budget's rest, or target mode's money)")
    base = getattr(sub, name)
    if "choices" in v:
        choices = tuple(v["choices"])
        if not choices:
            raise ConfigError(f"{where}.choices", [], "give at least one value")
        for c in choices:
            with_overrides(cfg, {key: c})  # each must be a valid value (raises ConfigError)
        return Var(key, choices=choices, base=base)
    if isinstance(base, bool) or not isinstance(base, int | float):
        raise ConfigError(where, key, "is not numeric: give {choices: [...]}")
    if base == 0 and not {"low", "high"} <= set(v):
        raise ConfigError(where, v, "its 2021 value is 0, so a bound relative to it leaves no room: give low and high")
    low = v.get("low", base * (1 - bound))
    high = v.get("high", base * (1 + bound))
    for k, x in (("low", low), ("high", high)):
        if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
            raise ConfigError(f"{where}.{k}", x, "must be a finite number")
    if not low < high:
        raise ConfigError(f"{where}.low", low, f"must be below high={high:g} (conflicting bounds)")
    if key in SHARE_KEYS:  # checked together (they must sum to 1): each in [0, 1]
        if low < 0 or high > 1:
            raise ConfigError(where, f"[{low:g}, {high:g}]", "a channel share must stay in [0, 1]")
        return Var(key, float(low), float(high), base=base)
    for x in (low, high):
        try:
            with_overrides(cfg, {key: x})
        except ConfigError as e:
            raise ConfigError(f"{where}", f"[{low:g}, {high:g}]", f"the bounds leave the parameter's range "
                                                                 f"({e.allowed})") from None
    return Var(key, float(low), float(high), base=base)


# ---------------------------------------------------------------------------- the space
def project_shares(raw: np.ndarray, low: np.ndarray, high: np.ndarray, iters: int = 100) -> np.ndarray:
    """Shares summing to 1 within ``[low, high]``, as close to ``raw``'s proportions as the bounds
    allow: scale to sum 1, clip, and spread the excess or deficit over the unclipped ones."""
    s = np.clip(np.asarray(raw, dtype=float), low, high)
    for _ in range(iters):
        s = np.clip(s, low, high)
        gap = 1.0 - s.sum()
        if abs(gap) < 1e-12:
            break
        room = (high - s) if gap > 0 else (s - low)
        free = room > 1e-15
        if not free.any():
            break
        # Spread by the shares themselves, or by the room where they are (about) zero; the
        # weights are made to sum to 1 first (a product with a tiny share could underflow).
        w = s[free] if s[free].sum() > 1e-12 else room[free]
        s[free] += gap * (w / w.sum())
    s = np.clip(s, low, high)
    return s / s.sum()


def suggest(trial, spec: Spec, mode: str) -> dict:
    """The trial's allocation: a value for every variable (shares made to sum to 1)."""
    values = {}
    for v in spec.variables:
        if v.choices is not None:
            values[v.key] = trial.suggest_categorical(v.key, list(v.choices))
        else:
            values[v.key] = trial.suggest_float(v.key, v.low, v.high)
    if mode == "target":
        values[EXTRA] = trial.suggest_float(EXTRA, 0.0, spec.extra_money_max_yuan)
    return normalise(values, spec)


def normalise(values: dict, spec: Spec) -> dict:
    shares = spec.shares
    if shares:
        raw = np.array([values[v.key] for v in shares])
        s = project_shares(raw, np.array([v.low for v in shares]), np.array([v.high for v in shares]))
        for v, x in zip(shares, s, strict=True):
            values[v.key] = float(x)
    return values


def baseline_values(spec: Spec, mode: str) -> dict:
    """The 2021 allocation in the space's terms (the first trial)."""
    values = {v.key: v.base for v in spec.variables}
    for v in spec.variables:
        if v.choices is not None and v.base not in v.choices:
            values[v.key] = v.choices[0]
        elif v.choices is None:
            values[v.key] = float(min(max(v.base, v.low), v.high))
    if mode == "target":
        values[EXTRA] = 0.0
    return normalise(values, spec)


# ---------------------------------------------------------------------------- planned cost
def planned_cost(cfg: RunConfig, province) -> float:
    """The yearly total an allocation plans, in yuan: the money of every pot as the model allocates
    it in January (:func:`sim.plan.allocate`), the paid posts at their cost, the officers' stipends
    and, when the personnel budget pays them, the volunteers' stipends. A run's booked cost
    (``cost.total_yuan``) is at most this (money can stay unspent), except that stipends paid by the
    personnel budget are planned for the volunteers at the start of the year."""
    from sim.model import OutreachModel

    m = OutreachModel(dataclasses.replace(cfg, progress=False), province)
    m.allocate()
    st = cfg.staffing
    money = sum(float(np.sum(v)) for k, v in m.money_year.items() if k != "stipends" or st.volunteer_stipend_pot
                == "association")
    posts = sum(m.posts.values()) * st.post_cost_yuan_per_year
    officers = m.v.n * st.officer_stipend_yuan_per_year * st.officers_per_village / 3
    volunteers = 0.0
    if st.volunteer_stipend_pot == "personnel":  # the volunteers at the start of the year
        volunteers = float(m.volunteers.n_active) * st.volunteer_stipend_yuan_per_month * 12
    return float(money + posts + officers + volunteers)


# ---------------------------------------------------------------------------- evaluation
@dataclass
class Evaluator:
    """Runs allocations on the search seeds in parallel workers (the province kept in each)."""

    spec: Spec
    mode: str
    base: RunConfig
    province: object
    workers: int
    budgets: dict[int, float] = field(default_factory=dict)
    pool: object = None
    floors: dict[str, float] = field(default_factory=dict)
    """The equity floors as numbers (``baseline`` resolved on the search seeds)."""

    def __post_init__(self):
        if self.mode in ("budget", "pareto"):
            for s in self.spec.search_seeds:
                self.budgets[s] = self.spec.budget_yuan or planned_cost(
                    dataclasses.replace(self.base, seed=s), self.province)
        self.floors = {k: v for k, v in self.spec.equity_floor.items() if v != BASELINE_FLOOR}
        relative = [k for k, v in self.spec.equity_floor.items() if v == BASELINE_FLOOR]
        if relative:
            means = self.run([baseline_values(self.spec, self.mode)], floors=False)[0]["means"]
            self.floors.update({k: means[f"equity.{k}.county_coverage_min"] for k in relative})

    def jobs_for(self, values: dict, start_id: int) -> tuple[list[Job], dict]:
        """The jobs of one allocation (one per seed) and its planned cost and budget feasibility."""
        jobs, info = [], {"planned_cost_yuan": [], "budget_gap_yuan": []}
        for s in self.spec.search_seeds:
            v = dict(values)
            cfg = with_overrides(self.base, {**{k: x for k, x in v.items()}, "seed": s})
            cost = planned_cost(cfg, self.province)
            if self.mode in ("budget", "pareto"):
                gap = self.budgets[s] - cost
                info["budget_gap_yuan"].append(gap)
                if gap < -0.5:
                    continue
                v[EXTRA] = max(gap, 0.0)
                cost = cost + v[EXTRA]
            info["planned_cost_yuan"].append(cost)
            jobs.append(Job(start_id + len(jobs), "base", s, tuple(sorted(v.items()))))
        return jobs, info

    def run(self, points: list[dict], floors: bool = True) -> list[dict]:
        """Mean indicators, objective, planned cost and constraints of each allocation."""
        all_jobs, owners, infos = [], [], []
        for i, values in enumerate(points):
            jobs, info = self.jobs_for(values, len(all_jobs))
            infos.append(info)
            all_jobs += jobs
            owners += [i] * len(jobs)
        rows = {}
        task = ModelTask({"base": self.base}, INDICATORS)
        chunks = [all_jobs[k:k + 1] for k in range(len(all_jobs))]
        if self.workers == 1 or len(chunks) <= 1:
            results = [run_chunk(task, c) for c in chunks]
        else:
            from joblib import delayed

            results = self.pool(delayed(run_chunk)(task, c) for c in chunks)
        for res in results:
            for r in res[0]:
                rows[r["id"]] = r
        out = []
        for i, values in enumerate(points):
            mine = [rows[j.id] for j, o in zip(all_jobs, owners, strict=True) if o == i]
            out.append(self.score(values, mine, infos[i], floors))
        return out

    def score(self, values: dict, rows: list[dict], info: dict, floors: bool = True) -> dict:
        sp = self.spec
        ran = len(rows) == len(sp.search_seeds)
        mean = {k: float(np.mean([r[k] for r in rows])) if rows else float("nan") for k in INDICATORS}
        wsum = sum(sp.weights.values())
        objective = sum(w * mean[f"coverage.{k}"] for k, w in sp.weights.items()) / wsum if ran else 0.0
        cons = {}
        if self.mode in ("budget", "pareto"):
            cons["budget"] = max(0.0, -min(info["budget_gap_yuan"])) / 1e6  # M yuan over the budget
        for k, f in (self.floors.items() if floors else ()):
            cons[f"floor.{k}"] = f - mean[f"equity.{k}.county_coverage_min"] if ran else f
        if self.mode == "target":
            for k, t in sp.targets.items():
                cons[f"target.{k}"] = t - mean[f"coverage.{k}"] if ran else t
        cost = float(np.mean(info["planned_cost_yuan"])) if info["planned_cost_yuan"] else float("nan")
        first_floor = next(iter(sp.equity_floor), EQUITY_INDICATORS[0])
        return {"values": values, "objective": objective, "planned_cost_yuan": cost,
                "equity": mean.get(f"equity.{first_floor}.county_coverage_min", float("nan")) if ran else 0.0,
                "constraints": cons, "feasible": ran and all(c <= 1e-12 for c in cons.values()), "means": mean}


# ---------------------------------------------------------------------------- the search
def _study(out: Path, mode: str, seed: int, name: str):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{(out / 'study.db').resolve()}"

    # Constraints are set on each trial (Trial.set_constraint); the samplers read them there.
    if mode == "pareto":
        sampler = optuna.samplers.NSGAIISampler(seed=seed)
        directions = ["maximize", "maximize"]
    else:
        sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True, n_startup_trials=10, multivariate=True)
        directions = ["maximize" if mode == "budget" else "minimize"]
    study = optuna.create_study(study_name=name, storage=storage, directions=directions, sampler=sampler,
                                load_if_exists=True)
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(t.number, state=optuna.trial.TrialState.FAIL)  # left running by an interrupted search
    return study


def search(ev: Evaluator, study, n_trials: int, batch: int, progress: bool | None = None) -> None:
    """Run trials until the study holds ``n_trials`` complete ones (the 2021 allocation first)."""
    import optuna

    from sim.progress import Progress

    def complete() -> int:
        return len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))

    if not study.trials:
        study.enqueue_trial({k: v for k, v in baseline_values(ev.spec, ev.mode).items()},
                            user_attrs={"label": "2021 allocation"})
    with Progress("search", n_trials, enabled=progress) as bar:
        bar.done = complete()
        while complete() < n_trials:
            k = min(batch, n_trials - complete())
            trials = [study.ask() for _ in range(k)]
            points = [suggest(t, ev.spec, ev.mode) for t in trials]
            results = ev.run(points)
            for t, p, r in zip(trials, points, results, strict=True):
                cons = list(r["constraints"].values()) or [0.0]
                for name, c in (r["constraints"].items() or {"none": 0.0}.items()):
                    t.set_constraint(name, float(c))
                t.set_user_attr("constraints", cons)
                t.set_user_attr("values", {k: (float(v) if isinstance(v, int | float) else v) for k, v in p.items()})
                t.set_user_attr("planned_cost_yuan", r["planned_cost_yuan"])
                t.set_user_attr("means", r["means"])
                t.set_user_attr("constraint_names", list(r["constraints"]))
                if ev.mode == "pareto":
                    study.tell(t, [r["objective"], r["equity"]])
                else:
                    study.tell(t, r["objective"] if ev.mode == "budget" else r["planned_cost_yuan"])
            best = trials_table(study, ev.mode)
            feas = best[best["feasible"]]
            note = ""
            if len(feas):
                b = feas.iloc[0]
                note = (f"best {b['objective']:.4f}" if ev.mode != "target"
                        else f"least cost {b['planned_cost_yuan'] / 1e6:.1f} M")
            bar.step(note, n=k)


def trials_table(study, mode: str) -> pd.DataFrame:
    """Every complete trial: its variables, objective, planned cost, constraints and mean
    indicators; feasible ones first, best first."""
    import optuna

    rows = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        cons = dict(zip(t.user_attrs.get("constraint_names", []), t.user_attrs.get("constraints", []), strict=False))
        means = t.user_attrs.get("means", {})
        rows.append({"trial": t.number, "label": t.user_attrs.get("label", ""),
                     **{f"var.{k}": v for k, v in t.user_attrs.get("values", {}).items()},
                     "objective": t.values[0] if mode != "target" else np.nan,
                     "equity": t.values[1] if mode == "pareto" else np.nan,
                     "planned_cost_yuan": t.user_attrs.get("planned_cost_yuan", np.nan),
                     "feasible": all(c <= 1e-12 for c in cons.values()),
                     **{f"constraint.{k}": v for k, v in cons.items()},
                     **{f"mean.{k}": v for k, v in means.items()}})
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    key = "planned_cost_yuan" if mode == "target" else "objective"
    return df.sort_values(["feasible", key], ascending=[False, mode == "target"], kind="stable").reset_index(drop=True)


def add_objective(df: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    """The weighted objective of every trial from its mean coverages (target mode reports it too)."""
    wsum = sum(spec.weights.values())
    df = df.copy()
    if len(df):
        df["objective"] = sum(w * df[f"mean.coverage.{k}"] for k, w in spec.weights.items()) / wsum
    return df


def pareto_front(df: pd.DataFrame) -> pd.DataFrame:
    """The feasible trials no other feasible trial beats on both the objective and equity."""
    f = df[df["feasible"]].sort_values(["objective", "equity"], ascending=False, kind="stable")
    keep, best_eq = [], -np.inf
    for i, r in f.iterrows():
        if r["equity"] > best_eq:
            keep.append(i)
            best_eq = r["equity"]
    return f.loc[keep].reset_index(drop=True)


# ---------------------------------------------------------------------------- verification
def picks_of(df: pd.DataFrame, mode: str, top: int) -> pd.DataFrame:
    """The allocations to verify: the best feasible trial and the runners-up (distinct)."""
    f = df[df["feasible"] & (df["label"] != "2021 allocation")]
    if mode == "pareto":
        front = pareto_front(df[df["label"] != "2021 allocation"])
        ends = [front.iloc[0], front.iloc[-1]] if len(front) else []
        return pd.DataFrame(ends).drop_duplicates(subset="trial").head(top)
    return f.head(top)


def verify(spec: Spec, mode: str, picks: pd.DataFrame, overrides: Sequence[str], out: Path, workers: int,
           config_dir: str | None = None, progress: bool | None = None) -> tuple[pd.DataFrame, dict]:
    """Run the picks and the ``against`` scenarios on fresh seeds at the verification scale;
    paired differences with 90 % intervals (see the module docstring)."""
    from sim.province import province_for

    scale = [f"population.scale={spec.verify_scale}", "progress=false"]
    base = compose_run_config([f"scenario={BASELINE}", *overrides, *scale], config_dir)
    province = province_for(base, progress=False)
    configs = {s: compose_run_config([f"scenario={s}", *overrides, *scale], config_dir) for s in spec.against}
    jobs, checks = [], {}
    budgets = {s: spec.budget_yuan or planned_cost(dataclasses.replace(base, seed=s), province)
               for s in spec.verify_seeds}
    for _, p in picks.iterrows():
        arm = f"trial_{int(p['trial'])}"
        values = {k.removeprefix("var."): v for k, v in p.items() if k.startswith("var.") and pd.notna(v)}
        if mode != "target":  # the budget's rest is set per seed below
            values.pop(EXTRA, None)
        configs[arm] = with_overrides(base, values)
        gaps, costs = [], []
        for s in spec.verify_seeds:
            cfg = dataclasses.replace(configs[arm], seed=s)
            cost = planned_cost(cfg, province)
            v = ()
            if mode in ("budget", "pareto"):
                gap = budgets[s] - cost
                gaps.append(gap)
                v = ((EXTRA, max(gap, 0.0)),)
                cost += max(gap, 0.0)
            costs.append(cost)
            jobs.append(Job(len(jobs), arm, s, v))
        checks[arm] = {"planned_cost_yuan": costs, "budget_gap_yuan": gaps}
    for s_name in spec.against:
        for s in spec.verify_seeds:
            jobs.append(Job(len(jobs), s_name, s))
    rows, stats = run_batch(ModelTask(configs, INDICATORS), jobs, out / "verify", workers=workers,
                            progress=progress, label="verification runs")
    runs = pd.DataFrame([{"arm": j.arm, "seed": j.seed} for j in jobs]).join(rows.drop(columns="id"))
    wsum = sum(spec.weights.values())
    runs["objective"] = sum(w * runs[f"coverage.{k}"] for k, w in spec.weights.items()) / wsum
    table = []
    for arm in [a for a in configs if a.startswith("trial_")]:
        a = runs[runs["arm"] == arm].set_index("seed").sort_index()
        for ref in spec.against:
            b = runs[runs["arm"] == ref].set_index("seed").sort_index()
            for ind in ("objective", *INDICATORS):
                mean, lo, hi = t_interval((a[ind] - b[ind]).to_numpy())
                table.append({"allocation": arm, "against": ref, "indicator": ind, "mean_difference": mean,
                              "low": lo, "high": hi, "level": LEVEL, "seeds": len(a), "scale": spec.verify_scale,
                              "allocation_mean": float(a[ind].mean()), "against_mean": float(b[ind].mean())})
        checks[arm]["booked_cost_yuan"] = a["cost.total_yuan"].tolist()
        checks[arm]["floors"] = {k: float(a[f"equity.{k}.county_coverage_min"].mean()) for k in spec.equity_floor}
        if BASELINE in spec.against:
            ref = runs[runs["arm"] == BASELINE]
            checks["_floors"] = {k: (float(ref[f"equity.{k}.county_coverage_min"].mean()) if f == BASELINE_FLOOR
                                     else f) for k, f in spec.equity_floor.items()}
        checks[arm]["targets"] = {k: float(a[f"coverage.{k}"].mean()) for k in spec.targets}
    checks["_budgets"] = budgets
    checks["_stats"] = stats.as_dict()
    return pd.DataFrame(table), checks


# ---------------------------------------------------------------------------- response curves
def response_curves(ev: Evaluator, best_values: dict, levels: int = 5) -> pd.DataFrame:
    """Each channel share moved across its bounds (the others scaled to keep the sum at 1; every
    other variable at the optimum): the objective, each channel's coverage and the channel's money."""
    from sim.model import OutreachModel

    points, meta = [], []
    for v in ev.spec.shares:
        for x in np.linspace(v.low, v.high, levels):
            vals = dict(best_values)
            others = [w for w in ev.spec.shares if w.key != v.key]
            rest = sum(vals[w.key] for w in others)
            for w in others:
                vals[w.key] = vals[w.key] / rest * (1 - x) if rest > 0 else (1 - x) / len(others)
            vals[v.key] = float(x)
            if ev.mode != "target":  # the budget's rest is set per seed by the evaluator
                vals.pop(EXTRA, None)
            points.append(vals)
            meta.append((v.key, float(x)))
    results = ev.run(points)
    rows = []
    for (key, x), vals, r in zip(meta, points, results, strict=True):
        cfg = with_overrides(ev.base, {**vals, "seed": ev.spec.search_seeds[0]})
        m = OutreachModel(cfg, ev.province)
        m.allocate()
        money = float(np.sum(m.money_year[CHANNEL_OF_SHARE[key]]))
        rows.append({"variable": key, "channel": CHANNEL_OF_SHARE[key], "share": x, "channel_money_yuan": money,
                     "objective": r["objective"], "feasible": r["feasible"],
                     "optimum_share": float(best_values[key]),
                     **{k: v for k, v in r["means"].items() if k.startswith("coverage.")}})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- outputs
def scenario_yaml(name: str, values: dict, mode: str, note: str) -> str:
    """A scenario file holding an allocation (``# @package _global_``, as the package's)."""
    groups: dict[str, dict] = {}
    for k, v in values.items():
        g, _, n = k.partition(".")
        groups.setdefault(g, {})[n] = float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
    doc = {"scenario": {"name": name, "description": note}, **groups}
    head = f"# @package _global_\n# Found by outreach-sim-optimize --mode {mode}; {note}\n"
    return head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def _int_list(text: str, key: str) -> tuple[int, ...]:
    try:
        vals = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ConfigError(key, text, "must be whole numbers separated by commas") from None
    if not vals:
        raise ConfigError(key, text, "give at least one")
    return vals


def _pairs(items: Sequence[str] | None, key: str) -> dict | None:
    if not items:
        return None
    out = {}
    for it in items:
        name, eq, val = it.partition("=")
        if not eq:
            raise ConfigError(key, it, "must be indicator=value, e.g. youth_education=0.3")
        if val.strip() == BASELINE_FLOOR and key == "--floor":
            out[name.strip()] = BASELINE_FLOOR
            continue
        try:
            out[name.strip()] = float(val)
        except ValueError:
            raise ConfigError(f"{key} {name}", val, "must be a number") from None
    return out


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UserError(message)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``outreach-sim-optimize``."""
    ap = _Parser(prog="outreach-sim-optimize", description=__doc__.split("\n")[0])
    ap.add_argument("overrides", nargs="*", help="config overrides for every run (not population.scale: see --spec)")
    ap.add_argument("--mode", required=True, help="budget, target or pareto")
    ap.add_argument("--trials", type=int, required=True, help="complete trials of the search (the 2021 allocation is "
                                                              "the first)")
    ap.add_argument("--out", required=True, help="output folder (re-running into it resumes the search)")
    ap.add_argument("--spec", default=None, help="an optimisation spec (default: the package's)")
    ap.add_argument("--weight", action="append", help="objective weight, e.g. youth_education=2 (replaces the spec's)")
    ap.add_argument("--floor", action="append", help="equity floor, e.g. youth_education=0.1 (replaces the spec's)")
    ap.add_argument("--target", action="append", help="target mode: e.g. youth_education=0.3 (replaces the spec's)")
    ap.add_argument("--search-scale", type=float, default=None, help="scale of the search runs (spec: 0.05)")
    ap.add_argument("--search-seeds", default=None, help="seeds of the search, e.g. 1,2 (spec)")
    ap.add_argument("--verify-scale", type=float, default=None, help="scale of the verification runs (spec: 0.1)")
    ap.add_argument("--verify-seeds", type=int, default=None, help="number of fresh verification seeds (spec: 10)")
    ap.add_argument("--top", type=int, default=None, help="allocations verified (spec: 3)")
    ap.add_argument("--batch", type=int, default=None, help="trials asked at once (default 2 per worker)")
    ap.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    ap.add_argument("--config-dir", default=None, help="a folder of the user's own scenario files")
    t_start = time.perf_counter()
    try:
        args = ap.parse_intermixed_args(argv)
        if args.mode not in MODES:
            raise ConfigError("--mode", args.mode, f"must be one of {list(MODES)}")
        check_range("--trials", args.trials, 2, 100000)
        workers = args.workers or os.cpu_count() or 1
        check_range("--workers", workers, 1, 1024)
        for o in args.overrides:
            if o.split("=")[0].lstrip("+") in ("population.scale", "seed", "scenario"):
                raise ConfigError(o.split("=")[0], o.split("=", 1)[-1], "is set by the optimiser (use --search-scale, "
                                                                       "--search-seeds, --verify-scale)")
        cfg0 = compose_run_config([f"scenario={BASELINE}", *args.overrides, "progress=false"], args.config_dir)
        spec = load_spec(args.spec, cfg0, weights=_pairs(args.weight, "--weight"),
                         floors=_pairs(args.floor, "--floor"), targets=_pairs(args.target, "--target"))
        repl = {}
        if args.search_scale is not None:
            check_range("--search-scale", args.search_scale, 5e-5, 1)
            repl["search_scale"] = args.search_scale
        if args.search_seeds:
            repl["search_seeds"] = _int_list(args.search_seeds, "--search-seeds")
        if args.verify_scale is not None:
            check_range("--verify-scale", args.verify_scale, 5e-5, 1)
            repl["verify_scale"] = args.verify_scale
        if args.verify_seeds is not None:
            check_range("--verify-seeds", args.verify_seeds, 2, 1000)
            first = spec.verify_seeds[0]
            repl["verify_seeds"] = tuple(range(first, first + args.verify_seeds))
        if args.top is not None:
            check_range("--top", args.top, 1, 20)
            repl["top"] = args.top
        spec = dataclasses.replace(spec, **repl)
        if set(spec.verify_seeds) & set(spec.search_seeds):
            raise ConfigError("--search-seeds", list(spec.search_seeds), "must differ from the verification seeds")
        if args.mode == "target" and not spec.targets:
            raise ConfigError("targets", {}, "target mode needs at least one coverage target (--target)")
        for s in spec.against:
            compose_run_config([f"scenario={s}"], args.config_dir)  # an unknown scenario: one line now
        out = Path(args.out)
        from sim.runs import check_out_dir

        check_out_dir(out, str(out))
        base = compose_run_config([f"scenario={BASELINE}", *args.overrides,
                                   f"population.scale={spec.search_scale}", "progress=false"], args.config_dir)
        from sim.province import province_for

        province = province_for(base, progress=None)
        result = run(spec, args.mode, base, province, out, args.trials, workers, args.batch or 2 * workers,
                     args.overrides, args.config_dir)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished trials are kept in the study; re-run the same command to resume",
              file=sys.stderr)
        return 130
    result["seconds"] = round(time.perf_counter() - t_start, 1)
    from sim.results import json_safe, write_json

    write_json(out / "optimize.json", json_safe(result))
    print(result["summary"])
    print(f"\nfiles: {out} (best.yaml, verification.csv, trials.parquet, response.csv, figures/, optimize.json) "
          f"in {result['seconds']:.0f} s")
    return 0 if result["status"] == "ok" else 1


def run(spec: Spec, mode: str, base: RunConfig, province, out: Path, n_trials: int, workers: int, batch: int,
        overrides: Sequence[str], config_dir: str | None) -> dict:
    """The search, the verification, the response curves and the files (see the module docstring)."""
    from joblib import Parallel

    import sim
    from sim.results import _atomic

    out.mkdir(parents=True, exist_ok=True)
    name = f"outreach-{mode}"
    with Parallel(n_jobs=workers, return_as="list") as pool:
        ev = Evaluator(spec, mode, base, province, workers, pool=pool)
        study = _study(out, mode, base.seed, name)
        t0 = time.perf_counter()
        search(ev, study, n_trials, batch)
        search_s = time.perf_counter() - t0
        df = add_objective(trials_table(study, mode), spec)
        _atomic(out / "trials.parquet", lambda t: df.to_parquet(t, index=False))
        feasible = df[df["feasible"]]
        base_row = df[df["label"] == "2021 allocation"]
        result = {"mode": mode, "spec": spec.as_dict(), "trials": len(df), "feasible_trials": len(feasible),
                  "search_seconds": round(search_s, 1), "search_runs": len(df) * len(spec.search_seeds),
                  "budget_yuan_by_seed": ev.budgets, "equity_floors_search": ev.floors,
                  "package_version": sim.__version__}
        picks = picks_of(df, mode, spec.top)
        if picks.empty:
            closest = df.assign(v=df[[c for c in df if c.startswith("constraint.")]].clip(lower=0).sum(axis=1)) \
                .sort_values("v").iloc[0] if len(df) else None
            what = ""
            if closest is not None:
                parts = [f"{c.removeprefix('constraint.')} short by {closest[c]:.4f}" for c in df
                         if c.startswith("constraint.") and closest[c] > 1e-12]
                what = (f"; the closest: trial {int(closest['trial'])} ({', '.join(parts)}; planned cost "
                        f"{closest['planned_cost_yuan'] / 1e6:,.1f} M yuan, objective {closest['objective']:.4f})")
            only_2021 = " but the 2021 allocation" if len(feasible) else ""
            result.update(status="infeasible", summary=(
                f"no allocation within the bounds{only_2021} met every constraint in {len(df)} trials{what}. "
                "Widen the bounds, lower the floor or target, or raise the budget."))
            return result
        best = picks.iloc[0]
        best_values = {k.removeprefix("var."): v for k, v in best.items() if k.startswith("var.") and pd.notna(v)}
        curves = response_curves(ev, best_values) if spec.shares else pd.DataFrame()
    table, checks = verify(spec, mode, picks, overrides, out, workers, config_dir)
    _atomic(out / "verification.csv", lambda t: table.to_csv(t, index=False))
    if len(curves):
        _atomic(out / "response.csv", lambda t: curves.to_csv(t, index=False))
        from sim.plots_optimize import response_figure

        (out / "figures").mkdir(exist_ok=True)
        response_figure(curves, spec, out / "figures" / "response")
    if mode == "pareto":
        front = pareto_front(df)
        _atomic(out / "pareto.csv", lambda t: front.to_csv(t, index=False))
        result["pareto_front"] = len(front)
    label = f"optimized_{mode}"
    arm = f"trial_{int(best['trial'])}"
    note = (f"trial {int(best['trial'])} of {len(df)}; objective {best['objective']:.4f} on the search seeds; planned "
            f"cost {best['planned_cost_yuan'] / 1e6:,.1f} M yuan a year")
    file_values = dict(best_values)
    if mode != "target":  # the budget's rest: exact per seed in the optimiser; here its mean over the fresh seeds
        gaps = checks[arm]["budget_gap_yuan"]
        file_values[EXTRA] = round(float(np.mean([max(g, 0.0) for g in gaps])), 2)
        note += "; funding.extra_outreach_yuan is the budget's rest, averaged over the verification seeds"
    text = scenario_yaml(label, file_values, mode, note)
    (out / "scenario").mkdir(exist_ok=True)
    for p in (out / "best.yaml", out / "scenario" / f"{label}.yaml"):
        _atomic(p, lambda t, text=text: Path(t).write_text(text))
    v = table[(table["allocation"] == arm) & (table["indicator"] == "objective")].set_index("against")
    search_gain = float(best["objective"] - base_row["objective"].iloc[0]) if len(base_row) else float("nan")
    verified = float(v.loc[BASELINE, "mean_difference"]) if BASELINE in v.index else float("nan")
    result.update(status="ok", best={"trial": int(best["trial"]), "values": best_values,
                                     "objective_search": float(best["objective"]),
                                     "planned_cost_yuan_search": float(best["planned_cost_yuan"])},
                  search_gain=search_gain, verified_gain=verified,
                  survival=verified / search_gain if search_gain else float("nan"),
                  verification={k: v2 for k, v2 in checks.items()})
    lines = [f"{mode}: {len(df)} trials x {len(spec.search_seeds)} seeds at scale {spec.search_scale:g} "
             f"({result['search_runs']} runs, {search_s / 60:.1f} min); {len(feasible)} feasible",
             f"best: trial {int(best['trial'])}, objective {best['objective']:.4f} (2021 allocation: "
             f"{base_row['objective'].iloc[0]:.4f}), planned cost {best['planned_cost_yuan'] / 1e6:,.2f} M yuan"]
    for k, x in best_values.items():
        base_v = base_row[f"var.{k}"].iloc[0] if f"var.{k}" in base_row else None
        lines.append(f"  {k:<40} {_fmt(x):>12}   (2021: {_fmt(base_v)})")
    lines.append(f"verified on {len(spec.verify_seeds)} fresh seeds at scale {spec.verify_scale:g} (90 % intervals):")
    for ref in spec.against:
        if ref in v.index:
            r = v.loc[ref]
            lines.append(f"  objective vs {ref:<16} {100 * r['mean_difference']:+.3f} pp "
                         f"[{100 * r['low']:+.3f}, {100 * r['high']:+.3f}]")
    c = checks[arm]
    if c["budget_gap_yuan"]:
        over = max(max(-g, 0.0) for g in c["budget_gap_yuan"])
        booked = max(b - checks["_budgets"][s] for b, s in zip(c["booked_cost_yuan"], spec.verify_seeds, strict=True))
        result["budget_check"] = {"planned_over_budget_yuan": over, "booked_minus_budget_yuan_max": booked}
        lines.append(f"  budget: planned cost over the budget by {over:.2f} yuan at most (seed by seed); booked cost "
                     f"{booked / 1e6:+.2f} M yuan against the budget at most")
    for k, f in spec.equity_floor.items():
        floor = checks.get("_floors", {}).get(k, f)
        what = f"{floor:.4f}" + (" (baseline_2021's lowest county here)" if f == BASELINE_FLOOR else "")
        ok = "met" if c["floors"][k] >= floor - 1e-12 else "NOT met"
        lines.append(f"  equity floor {k} >= {what}: lowest county {c['floors'][k]:.4f} (mean over seeds): {ok}")
    if mode == "target":
        for k, tg in spec.targets.items():
            ok = "met" if c["targets"][k] >= tg else "NOT met"
            lines.append(f"  target {k} >= {tg:g}: {c['targets'][k]:.4f} (mean over seeds): {ok}")
    if mode == "target":  # the gain sought is the saving of planned cost against the 2021 allocation
        base_cost = [checks["_budgets"][s] for s in spec.verify_seeds]
        saving = float(np.mean(base_cost) - np.mean(c["planned_cost_yuan"]))
        search_saving = float(base_row["planned_cost_yuan"].iloc[0] - best["planned_cost_yuan"]) if len(base_row) \
            else float("nan")
        result.update(cost_saving_search_yuan=search_saving, cost_saving_verified_yuan=saving,
                      cost_2021_verified_yuan=float(np.mean(base_cost)))
        lines.append(f"planned cost {np.mean(c['planned_cost_yuan']) / 1e6:,.2f} M yuan a year on the fresh seeds "
                     f"against the 2021 allocation's {np.mean(base_cost) / 1e6:,.2f} M: {saving / 1e6:+,.2f} M saved "
                     f"(search: {search_saving / 1e6:+,.2f} M)")
    lines.append(f"search gain over the 2021 allocation {100 * search_gain:+.3f} pp; verified "
                 f"{100 * verified:+.3f} pp: {100 * result['survival']:.0f} % survives")
    result["summary"] = "\n".join(lines)
    return result


def _fmt(x) -> str:
    if isinstance(x, str) or x is None:
        return str(x)
    return f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.0f}"


if __name__ == "__main__":
    sys.exit(main())
