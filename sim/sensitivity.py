"""How sure are we: global sensitivity, robust rankings, what to measure first (MODEL.md §9).

``outreach-sim-sensitivity --method morris|sobol --n N --out DIR [--scenarios A,B] [key=value ...]``

**Design.** The uncertain parameters (:mod:`sim.uncertainty`; the file's default subset or
``--params``) are sampled on the unit cube by SALib and mapped to values by their distributions:

* ``morris``: ``N`` trajectories of ``D + 1`` points on a ``--levels`` grid (SALib's
  ``morris.sample``); elementary effects give ``mu``, ``mu_star`` (with its interval) and ``sigma``.
* ``sobol``: Saltelli's scheme with base ``N`` (a power of two), ``N (D + 2)`` points without
  second-order terms (SALib's ``sobol.sample``); first-order ``S1`` and total ``ST`` indices with
  bootstrap intervals (SALib's ``sobol.analyze``).

Every design point is run for the baseline and for each scenario of ``--scenarios``, on the same
seeds (``--seeds``, default the config's seed): the same parameter draw and the same seed for both
arms, so each scenario's **paired difference** from the baseline reflects the policy, not noise
(common random numbers). An indicator's value at a design point is its mean over the seeds. The
indices are computed for each indicator's level in every arm and for each paired difference.

**Robustness** (``robustness.csv``): for each scenario and indicator, the share of design points
(plausible worlds) in which the scenario is better than the baseline (higher coverage; lower cost
and Gini), and worse; differences smaller than ``--material`` (0.1 percentage point of coverage;
0.1 % of the baseline's cost or Gini) are no material change and count as neither. A ranking is
robust when one share reaches :data:`ROBUST` (90 %); it *reverses* when the scenario is better
in at least 10 % of worlds and worse in at least 10 % (:func:`ranking_class`). Its 90 % interval
is a percentile bootstrap over the design's independent blocks (Morris trajectories; Sobol's rows
``A_j, AB_j, B_j``), since points within a block share coordinates. All points count: each is a
draw from the parameters' joint distribution (Morris points only approximately: they sit on a grid).

**What to measure first** (``measure_first.csv``): for each scenario and indicator, the expected
value of partial perfect information of each parameter, in the indicator's units:
``EVPPI_i = E_xi[max(E[d | x_i], 0)] - max(E[d], 0)`` where ``d`` is the paired difference
signed so that positive means better. It is what knowing ``x_i`` exactly would gain the choice
between the scenario and the baseline: zero when the ranking is the same whatever ``x_i`` is.
``E[d | x_i]`` is estimated by grouping the design points by ``x_i`` (Morris: by grid level; Sobol:
in :data:`EVPPI_BINS` quantile bins); with few points per group it is biased upwards, a little.
The total sensitivity index of ``d`` (Sobol ``ST``; Morris ``mu_star``) is listed beside it. The
sentence for a scenario names the coverage indicator with the largest expected value of perfect
information (EVPI, the most at stake in the ranking) and the parameter with the largest EVPPI
on it, among the indicators whose ranking reverses; a parameter carrying less than
:data:`DECISIVE` (20 %) of it is not named as the one to measure.

**Files** under ``--out``: ``runs.parquet`` (one row per run: design point, block, scenario,
seed, parameter values, indicators, the summary's SHA-256), ``indices.csv`` (method, output,
scenario, kind, indicator, parameter, index, value, ci_low, ci_high; intervals 95 % as SALib
gives them), ``robustness.csv``, ``measure_first.csv``, ``sensitivity.json`` (the design, the
parameters with their ranges and sources, the sentences, timing) and ``batch/`` (the batch
runner's finished chunks: a killed analysis resumes where it stopped).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.batch import LAUNCHERS, FunctionTask, Job, ModelTask, print_stats, run_batch
from sim.compose import compose_run_config
from sim.config import RunConfig
from sim.errors import ConfigError, UserError, check_range
from sim.metrics import COVERAGE, EQUITY_INDICATORS
from sim.uncertainty import Uncertain, load_uncertainty

METHODS = ("morris", "sobol")
BASELINE = "baseline_2021"
INDICATORS = (*(f"coverage.{k}" for k in COVERAGE), "cost.total_yuan",
              *(f"equity.{k}.county_coverage_gini" for k in EQUITY_INDICATORS))
"""What the analysis keeps of each run's summary."""
LOWER_IS_BETTER = ("cost.", "equity.")
"""Indicators whose prefix is here are better when lower."""
LEVEL = 0.90
"""Coverage of the robustness intervals (the project's paired intervals are 90 %)."""
SALIB_CONF = 0.95
"""Coverage of SALib's index intervals."""
EVPPI_BINS = 8
BOOTSTRAP = 2000


def better_sign(indicator: str) -> int:
    """+1 when a higher value is better, -1 when a lower one is."""
    return -1 if indicator.startswith(LOWER_IS_BETTER) else 1


def problem(params: Sequence[Uncertain]) -> dict:
    """SALib's problem on the unit cube (values come from :meth:`Uncertain.value`)."""
    return {"num_vars": len(params), "names": [p.key for p in params], "bounds": [[0.0, 1.0]] * len(params)}


def nearest_powers_of_two(n: int) -> tuple[int, int]:
    lo = 2 ** max(0, math.floor(math.log2(max(n, 1))))
    return lo, lo * 2


def check_n(method: str, n) -> int:
    """The design size: whole, at least 2; a power of two for Sobol (say the nearest)."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise ConfigError("--n", n, "must be a whole number")
    check_range("--n", int(n), 2, 1 << 20)
    if method == "sobol" and n & (n - 1):
        lo, hi = nearest_powers_of_two(n)
        raise ConfigError("--n", n, f"must be a power of two for Sobol sampling (nearest: {lo} or {hi})")
    return int(n)


@dataclass(frozen=True)
class Design:
    """Points of a design on the unit cube, the block of each point and the values they map to."""

    method: str
    params: tuple[Uncertain, ...]
    n: int
    levels: int
    unit: np.ndarray
    """points x parameters, in [0, 1]."""
    block: np.ndarray
    """The independent unit each point belongs to (Morris trajectory, Sobol base row)."""

    @property
    def values(self) -> np.ndarray:
        return np.column_stack([p.value(self.unit[:, i]) for i, p in enumerate(self.params)])

    @property
    def names(self) -> list[str]:
        return [p.key for p in self.params]


def make_design(method: str, params: Sequence[Uncertain], n: int, *, seed: int = 1, levels: int = 4) -> Design:
    """SALib's Morris or Saltelli/Sobol sample of ``params`` (unit cube)."""
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    if method not in METHODS:
        raise ConfigError("--method", method, f"must be one of {list(METHODS)}")
    n = check_n(method, n)
    params = tuple(params)
    d = len(params)
    if d < 2 and method == "morris":
        raise ConfigError("--params", ",".join(p.key for p in params), "Morris needs at least two parameters")
    prob = problem(params)
    if method == "morris":
        check_range("--levels", levels, 2, 20)
        if levels % 2:
            raise ConfigError("--levels", levels, "must be even (Morris grids with an odd number of levels are biased)")
        unit = morris_sample.sample(prob, n, num_levels=levels, seed=seed)
        block = np.repeat(np.arange(n), d + 1)
    else:
        unit = sobol_sample.sample(prob, n, calc_second_order=False, seed=seed)
        block = np.repeat(np.arange(n), d + 2)
    return Design(method, params, n, levels, np.asarray(unit, dtype=float), block)


def make_jobs(design: Design, arms: Sequence[str], seeds: Sequence[int]) -> list[Job]:
    """One job per design point, arm and seed; a point's arms and seeds are next to each other."""
    values = design.values
    jobs = []
    for r in range(len(values)):
        v = tuple((k, float(values[r, i])) for i, k in enumerate(design.names))
        for arm in arms:
            for s in seeds:
                jobs.append(Job(len(jobs), arm, int(s), v))
    return jobs


def runs_table(design: Design, jobs: Sequence[Job], rows: pd.DataFrame) -> pd.DataFrame:
    """``runs.parquet``: the jobs (point, block, scenario, seed, parameter values) with their rows."""
    n_per_point = len(jobs) // len(design.unit)
    meta = pd.DataFrame({"run": [j.id for j in jobs],
                         "point": np.arange(len(jobs)) // n_per_point,
                         "scenario": [j.arm for j in jobs],
                         "seed": [j.seed for j in jobs]})
    meta["block"] = design.block[meta["point"].to_numpy()]
    params = pd.DataFrame(design.values[meta["point"].to_numpy()], columns=design.names)
    out = pd.concat([meta, params, rows.drop(columns="id").reset_index(drop=True)], axis=1)
    return out


def point_means(runs: pd.DataFrame, indicators: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Each arm's indicators at each design point, averaged over the seeds (points in order)."""
    means = runs.groupby(["scenario", "point"], sort=True)[list(indicators)].mean()
    return {arm: means.xs(arm, level="scenario").sort_index() for arm in runs["scenario"].unique()}


# ---------------------------------------------------------------------------- indices
def indices(design: Design, y: np.ndarray, *, seed: int = 1) -> list[dict]:
    """SALib's indices of output ``y`` (one value per design point) for every parameter.

    Rows ``{parameter, index, value, ci_low, ci_high}``. An output that does not vary gets zero
    Morris effects and no Sobol indices (undefined: nothing to attribute).
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    prob = problem(design.params)
    y = np.asarray(y, dtype=float)
    out = []
    constant = not np.isfinite(y).all() or np.ptp(y) == 0
    if design.method == "morris":
        if constant:
            for name in design.names:
                out += [{"parameter": name, "index": ix, "value": 0.0, "ci_low": 0.0, "ci_high": 0.0}
                        for ix in ("mu", "mu_star", "sigma")]
            return out
        r = morris_analyze.analyze(prob, design.unit, y, num_levels=design.levels, conf_level=SALIB_CONF,
                                   num_resamples=1000, seed=seed)
        for i, name in enumerate(design.names):
            ms, conf = float(r["mu_star"][i]), float(r["mu_star_conf"][i])
            out.append({"parameter": name, "index": "mu", "value": float(r["mu"][i]), "ci_low": np.nan,
                        "ci_high": np.nan})
            out.append({"parameter": name, "index": "mu_star", "value": ms, "ci_low": ms - conf, "ci_high": ms + conf})
            out.append({"parameter": name, "index": "sigma", "value": float(r["sigma"][i]), "ci_low": np.nan,
                        "ci_high": np.nan})
        return out
    if constant:
        return out
    r = sobol_analyze.analyze(prob, y, calc_second_order=False, conf_level=SALIB_CONF, num_resamples=500,
                              seed=seed)
    for i, name in enumerate(design.names):
        for ix in ("S1", "ST"):
            v, c = float(r[ix][i]), float(r[f"{ix}_conf"][i])
            out.append({"parameter": name, "index": ix, "value": v, "ci_low": v - c, "ci_high": v + c})
    return out


def indices_table(design: Design, means: dict[str, pd.DataFrame], baseline: str, indicators: Sequence[str],
                  seed: int = 1) -> pd.DataFrame:
    """``indices.csv``: indices of every indicator's level in every arm and of every paired difference."""
    rows = []
    for arm, m in means.items():
        for ind in indicators:
            outputs = [("level", arm, m[ind].to_numpy())]
            if arm != baseline:
                outputs.append(("paired_difference", f"{arm} - {baseline}",
                                m[ind].to_numpy() - means[baseline][ind].to_numpy()))
            for kind, label, y in outputs:
                for r in indices(design, y, seed=seed):
                    rows.append({"method": design.method, "output": f"{label}: {ind}", "scenario": arm,
                                 "kind": kind, "indicator": ind, **r})
    return pd.DataFrame(rows, columns=["method", "output", "scenario", "kind", "indicator", "parameter", "index",
                                       "value", "ci_low", "ci_high"])


# ---------------------------------------------------------------------------- robustness
def bootstrap_share(flags: np.ndarray, block: np.ndarray, *, level: float = LEVEL, draws: int = BOOTSTRAP,
                    seed: int = 1) -> tuple[float, float, float]:
    """(share, low, high): the share of true ``flags`` with a percentile interval from resampling
    whole blocks (points in one block are not independent)."""
    flags = np.asarray(flags, dtype=float)
    ids, inv = np.unique(block, return_inverse=True)
    sums = np.bincount(inv, weights=flags, minlength=len(ids))
    counts = np.bincount(inv, minlength=len(ids)).astype(float)
    share = float(sums.sum() / counts.sum())
    if len(ids) < 2:
        return share, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(ids), size=(draws, len(ids)))
    boot = sums[pick].sum(axis=1) / counts[pick].sum(axis=1)
    a = (1 - level) / 2
    return share, float(np.quantile(boot, a)), float(np.quantile(boot, 1 - a))


def signed_differences(means: dict[str, pd.DataFrame], arm: str, baseline: str, ind: str) -> np.ndarray:
    """The paired difference at every design point, signed so that positive means better."""
    return better_sign(ind) * (means[arm][ind].to_numpy() - means[baseline][ind].to_numpy())


MATERIAL = 0.001
"""Smallest difference that counts as a change: 0.1 percentage point of coverage; for other
indicators 0.1 % of the baseline's mean (``--material`` sets it)."""


def tie_tolerance(means: dict[str, pd.DataFrame], baseline: str, ind: str, material: float = MATERIAL) -> float:
    """Differences smaller than this are ties: no material change (coverage: ``material`` itself,
    a share; other indicators: ``material`` times the baseline's mean)."""
    if ind.startswith("coverage."):
        return material
    return material * float(np.nanmean(np.abs(means[baseline][ind].to_numpy())))


def robustness_table(design: Design, means: dict[str, pd.DataFrame], baseline: str,
                     indicators: Sequence[str], material: float = MATERIAL) -> pd.DataFrame:
    """``robustness.csv``: per scenario and indicator, the share of worlds where it beats the baseline."""
    rows = []
    for arm in means:
        if arm == baseline:
            continue
        for ind in indicators:
            d = signed_differences(means, arm, baseline, ind)
            tol = tie_tolerance(means, baseline, ind, material)
            p, lo, hi = bootstrap_share(d > tol, design.block)
            worse, wlo, whi = bootstrap_share(d < -tol, design.block)
            raw = means[arm][ind].to_numpy() - means[baseline][ind].to_numpy()
            rows.append({"scenario": arm, "baseline": baseline, "indicator": ind,
                         "better": "lower" if better_sign(ind) < 0 else "higher", "worlds": len(d), "material": tol,
                         "p_better": p, "p_better_low": lo, "p_better_high": hi,
                         "p_worse": worse, "p_worse_low": wlo, "p_worse_high": whi,
                         "mean_difference": float(raw.mean()), "difference_p05": float(np.quantile(raw, 0.05)),
                         "difference_p95": float(np.quantile(raw, 0.95))})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- what to measure first
def evppi(d: np.ndarray, x: np.ndarray, bins: int = EVPPI_BINS) -> float:
    """Expected value of partial perfect information of ``x`` for a two-way choice with net
    benefit ``d`` (positive: the scenario is better): ``E_x[max(E[d|x], 0)] - max(E[d], 0)``.

    ``E[d|x]`` is the mean of ``d`` within groups of ``x``: its distinct values when there are at
    most ``bins`` (a Morris grid), else ``bins`` groups of equal size by rank.
    """
    d = np.asarray(d, dtype=float)
    x = np.asarray(x, dtype=float)
    base = max(d.mean(), 0.0)
    levels = np.unique(x)
    if len(levels) <= bins:
        groups = np.searchsorted(levels, x)
    else:
        groups = np.minimum((np.argsort(np.argsort(x, kind="stable")) * bins) // len(x), bins - 1)
    sums = np.bincount(groups, weights=d)
    counts = np.bincount(groups)
    keep = counts > 0
    value = float((np.maximum(sums[keep] / counts[keep], 0) * counts[keep]).sum() / counts.sum()) - base
    return max(value, 0.0)


def evpi(d: np.ndarray) -> float:
    """Expected value of perfect information: ``E[max(d, 0)] - max(E[d], 0)``."""
    d = np.asarray(d, dtype=float)
    return float(np.maximum(d, 0).mean() - max(d.mean(), 0.0))


def measure_first_table(design: Design, means: dict[str, pd.DataFrame], baseline: str, indicators: Sequence[str],
                        idx: pd.DataFrame, material: float = MATERIAL) -> pd.DataFrame:
    """``measure_first.csv``: per scenario, indicator and parameter: EVPPI, its share of the EVPI,
    the total sensitivity index of the paired difference and the parameter's rank. Differences
    below the material size count as zero (a flip of no material size is not worth measuring)."""
    total = "ST" if design.method == "sobol" else "mu_star"
    rows = []
    for arm in means:
        if arm == baseline:
            continue
        for ind in indicators:
            d = signed_differences(means, arm, baseline, ind)
            d = np.where(np.abs(d) < tie_tolerance(means, baseline, ind, material), 0.0, d)
            full = evpi(d)
            sel = idx[(idx["kind"] == "paired_difference") & (idx["scenario"] == arm) & (idx["indicator"] == ind)
                      & (idx["index"] == total)].set_index("parameter")["value"]
            part = []
            for i, name in enumerate(design.names):
                v = evppi(d, design.unit[:, i])
                part.append({"scenario": arm, "baseline": baseline, "indicator": ind, "parameter": name,
                             "evppi": v, "evpi": full, "evppi_share": v / full if full > 0 else 0.0,
                             "total_index": total, "total_index_value": float(sel.get(name, np.nan))})
            part.sort(key=lambda r: (-r["evppi"], -np.nan_to_num(r["total_index_value"])))
            for rank, r in enumerate(part, 1):
                rows.append({**r, "rank": rank})
    return pd.DataFrame(rows)


def _fmt_value(ind: str, v: float) -> str:
    """An amount of an indicator in its units, to 3 significant figures."""
    if ind.startswith("coverage."):
        return f"{100 * v:.3g} pp"
    if ind.startswith("cost."):
        return f"{v / 1e6:.3g} M yuan"
    return f"{v:.3g}"


ROBUST = 0.9
"""A ranking is robust when the scenario is better (or worse) in at least this share of worlds."""
DECISIVE = 0.2
"""A parameter decides a ranking when it carries at least this share of the EVPI."""


def ranking_class(p_better: float, p_worse: float) -> str:
    """How a scenario ranks against the baseline on one indicator across plausible worlds:
    ``better`` or ``worse`` (in at least :data:`ROBUST` of them), ``mixed`` (better in at least
    ``1 - ROBUST`` and worse in at least ``1 - ROBUST``: the ranking reverses), ``better_or_same``,
    ``worse_or_same`` (one-sided, otherwise no material change) or ``same``."""
    if p_better >= ROBUST:
        return "better"
    if p_worse >= ROBUST:
        return "worse"
    if min(p_better, p_worse) >= 1 - ROBUST:
        return "mixed"
    if p_better == 0 and p_worse == 0:
        return "same"
    return "better_or_same" if p_better >= p_worse else "worse_or_same"


def sentences(robust: pd.DataFrame, first: pd.DataFrame) -> dict[str, str]:
    """One sentence per scenario: how sure its ranking is on the coverage indicators and, where a
    ranking reverses across worlds, what to measure first (for the reversing indicator with the
    largest EVPI)."""
    out = {}
    for arm, g in robust.groupby("scenario", sort=False):
        base = g["baseline"].iloc[0]
        cov = g[g["indicator"].str.startswith("coverage.")].copy()
        cov["class"] = [ranking_class(b, w) for b, w in zip(cov["p_better"], cov["p_worse"], strict=True)]
        name = {i: i.removeprefix("coverage.") for i in cov["indicator"]}
        mixed = cov[cov["class"] == "mixed"]
        if mixed.empty:
            groups = [("better on", "better", "p_better"), ("worse on", "worse", "p_worse"),
                      ("better or unchanged on", "better_or_same", "p_better"),
                      ("worse or unchanged on", "worse_or_same", "p_worse")]
            parts = []
            for label, cls, col in groups:
                sel = cov[cov["class"] == cls]
                if len(sel):
                    parts.append(f"{label} " + ", ".join(f"{name[i]} ({100 * p:.0f} %)"
                                                         for i, p in zip(sel["indicator"], sel[col], strict=True)))
            if (cov["class"] == "same").any():
                parts.append("no material change on the rest")
            text = f"{arm} vs {base}: no coverage ranking reverses across plausible worlds ({'; '.join(parts)})"
            sided = cov[cov["class"].isin(["better_or_same", "worse_or_same"])]
            if sided.empty:
                out[arm] = text + "; no measurement is needed to choose."
                continue
            # one-sided: whether the scenario changes anything at all depends on the world; name the
            # parameter that drives the largest such change most (total index of its paired difference)
            ind = sided.loc[sided["mean_difference"].abs().idxmax(), "indicator"]
            f = first[(first["scenario"] == arm) & (first["indicator"] == ind)].dropna(subset=["total_index_value"])
            if f.empty:
                out[arm] = text + "."
                continue
            top = f.loc[f["total_index_value"].idxmax()]
            out[arm] = (f"{text}; whether it changes {name[ind]} at all turns most on {top['parameter']} (largest "
                        f"{top['total_index']} of the paired difference): measure it first.")
            continue
        f = first[(first["scenario"] == arm) & (first["rank"] == 1) & first["indicator"].isin(mixed["indicator"])]
        f = f.sort_values("evpi", ascending=False, kind="stable")
        ind = f["indicator"].iloc[0] if len(f) else mixed["indicator"].iloc[0]
        r = cov[cov["indicator"] == ind].iloc[0]
        head = (f"{arm} vs {base}: the ranking reverses on {name[ind]} (better in {100 * r['p_better']:.0f} % of "
                f"plausible worlds, 90 % interval {100 * r['p_better_low']:.0f}-{100 * r['p_better_high']:.0f} %, "
                f"worse in {100 * r['p_worse']:.0f} %)")
        if not len(f) or f["evpi"].iloc[0] <= 0:
            out[arm] = head + "."
            continue
        top = f.iloc[0]
        stake = _fmt_value(ind, top["evpi"])
        if top["evppi_share"] >= DECISIVE:
            out[arm] = (f"{head}; measure {top['parameter']} first (it carries {100 * top['evppi_share']:.0f} % of "
                        f"the {stake} the ranking puts at stake).")
        else:
            out[arm] = (f"{head}; no single parameter decides it (the largest share of the {stake} at stake, "
                        f"{top['parameter']}'s, is {100 * top['evppi_share']:.0f} %): it turns on several "
                        "parameters together or on chance.")
    return out


# ---------------------------------------------------------------------------- the analysis
@dataclass
class Result:
    design: Design
    runs: pd.DataFrame
    indices: pd.DataFrame
    robustness: pd.DataFrame
    measure_first: pd.DataFrame
    sentences: dict[str, str]
    stats: object


def analyse(design: Design, runs: pd.DataFrame, baseline: str, indicators: Sequence[str], seed: int = 1,
            material: float = MATERIAL):
    """Indices, robustness, what to measure first and the sentences from a finished ``runs`` table."""
    means = point_means(runs, indicators)
    idx = indices_table(design, means, baseline, indicators, seed=seed)
    robust = robustness_table(design, means, baseline, indicators, material)
    first = measure_first_table(design, means, baseline, indicators, idx, material)
    return idx, robust, first, sentences(robust, first) if len(robust) else {}


def run_function(fn, name: str, design: Design, out: str | Path, *, indicators: Sequence[str], seeds=(0,),
                 workers: int | None = 1, launcher: str = "joblib", progress: bool | None = False) -> Result:
    """The same pipeline for a plain function ``fn(values, seed) -> {indicator: value}`` (one arm,
    named ``baseline``): how the pipeline is checked against known indices (Ishigami's)."""
    jobs = make_jobs(design, ["baseline"], seeds)
    rows, stats = run_batch(FunctionTask(fn, name), jobs, Path(out) / "batch", workers=workers, launcher=launcher,
                            progress=progress, chunk_size=max(1, math.ceil(len(jobs) / 4)))
    runs = runs_table(design, jobs, rows)
    idx, robust, first, sent = analyse(design, runs, "baseline", indicators)
    return Result(design, runs, idx, robust, first, sent, stats)


def scenario_configs(scenarios: Sequence[str], overrides: Sequence[str], baseline: str = BASELINE,
                     config_dir: str | None = None) -> dict[str, RunConfig]:
    """The composed config of the baseline and each scenario (the same overrides for all)."""
    arms = [baseline, *[s for s in scenarios if s != baseline]]
    if len(set(arms)) != len(arms):
        raise ConfigError("--scenarios", ",".join(scenarios), "must not repeat a scenario")
    return {s: compose_run_config([f"scenario={s}", *overrides], config_dir) for s in arms}


def check_no_overlap(configs: dict[str, RunConfig], params: Sequence[Uncertain], baseline: str) -> None:
    """A sampled parameter must not be one a scenario sets (it would overwrite the scenario)."""
    from sim.results import config_dict
    from sim.runs import flatten

    base = flatten(config_dict(configs[baseline]))
    for arm, cfg in configs.items():
        flat = flatten(config_dict(cfg))
        for p in params:
            if flat.get(p.key) != base.get(p.key):
                raise ConfigError("--params", p.key, f"scenario {arm} sets this parameter; sampling it would undo the "
                                                     "scenario (leave it out of --params)")


def prebuild(configs: dict[str, RunConfig]) -> None:
    from sim.sweep import prebuild as sweep_prebuild

    sweep_prebuild(list(configs.values()))


def write_outputs(out: Path, res: Result, meta: dict) -> None:
    """Every file of the analysis (each written atomically)."""
    from sim.results import _atomic, json_safe, write_json

    _atomic(out / "runs.parquet", lambda t: res.runs.to_parquet(t, index=False))
    _atomic(out / "indices.csv", lambda t: res.indices.to_csv(t, index=False))
    _atomic(out / "robustness.csv", lambda t: res.robustness.to_csv(t, index=False))
    _atomic(out / "measure_first.csv", lambda t: res.measure_first.to_csv(t, index=False))
    write_json(out / "sensitivity.json", json_safe(meta))


def format_report(res: Result, meta: dict) -> str:
    """The console summary: the design, the top parameters and the robustness of each scenario."""
    lines = [f"{meta['method']} on {len(res.design.params)} parameters, N = {res.design.n}: "
             f"{len(res.runs)} runs ({meta['points']} points x {len(meta['scenarios'])} arms x "
             f"{len(meta['seeds'])} seeds), scale {meta['scale']:g}"]
    total = "ST" if res.design.method == "sobol" else "mu_star"
    lvl = res.indices[(res.indices["kind"] == "level") & (res.indices["scenario"] == meta["baseline"])
                      & (res.indices["index"] == total) & res.indices["indicator"].str.startswith("coverage.")]
    if len(lvl):
        lines.append(f"\nmost influential parameter per coverage indicator ({meta['baseline']}, {total}):")
        for ind, g in lvl.groupby("indicator", sort=False):
            top = g.sort_values("value", ascending=False).iloc[0]
            lines.append(f"  {ind.removeprefix('coverage.'):<22} {top['parameter']:<42} {top['value']:.3f}")
    for s in res.sentences.values():
        lines.append("\n" + s)
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UserError(message)


def _int_list(key: str, text: str) -> list[int]:
    try:
        vals = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(key, text, "must be whole numbers separated by commas, e.g. 1,2,3") from None
    if not vals:
        raise ConfigError(key, text, "give at least one")
    for v in vals:
        check_range(key, v, 0, 2**63 - 1)
    if len(set(vals)) != len(vals):
        raise ConfigError(key, text, "must not repeat")
    return vals


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [s.strip() for s in text.split(",") if s.strip()]


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``outreach-sim-sensitivity``."""
    ap = _Parser(prog="outreach-sim-sensitivity", description=__doc__.split("\n")[0])
    ap.add_argument("overrides", nargs="*", help="config overrides for every run, e.g. population.scale=0.02")
    ap.add_argument("--method", required=True, help="morris (screening) or sobol (variance-based indices)")
    ap.add_argument("--n", type=int, required=True, help="Morris: trajectories; Sobol: base sample (a power of two)")
    ap.add_argument("--out", required=True, help="output folder (re-running into it resumes)")
    ap.add_argument("--scenarios", default="",
                    help="scenarios compared with the baseline, e.g. budget_plus_20,need_based")
    ap.add_argument("--baseline", default=BASELINE, help=f"the scenario compared against (default {BASELINE})")
    ap.add_argument("--params", default=None, help="parameters of the uncertainty file (default: its default set)")
    ap.add_argument("--uncertainty", default=None, help="an uncertainty file (default: the package's)")
    ap.add_argument("--seeds", default=None, help="seeds of every design point, e.g. 1,2 (default: the config's seed)")
    ap.add_argument("--levels", type=int, default=4, help="Morris grid levels (default 4)")
    ap.add_argument("--material", type=float, default=MATERIAL,
                    help="smallest change that counts: a share of coverage (default 0.001 = 0.1 pp); for cost and "
                         "Gini, a share of the baseline's mean")
    ap.add_argument("--sample-seed", type=int, default=1, help="seed of the design and the bootstraps (default 1)")
    ap.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    ap.add_argument("--launcher", default="joblib", help=f"one of {list(LAUNCHERS)} (default joblib)")
    ap.add_argument("--ray-address", default=None, help="Ray cluster address (default $RAY_ADDRESS)")
    ap.add_argument("--config-dir", default=None, help="a folder of the user's own scenario files")
    try:
        args = ap.parse_intermixed_args(argv)  # overrides may come before, between or after options
        if args.method not in METHODS:
            raise ConfigError("--method", args.method, f"must be one of {list(METHODS)}")
        check_n(args.method, args.n)
        if args.launcher not in LAUNCHERS:
            raise ConfigError("--launcher", args.launcher, f"must be one of {list(LAUNCHERS)}")
        if args.workers is not None:
            check_range("--workers", args.workers, 1, 1024)
        check_range("--material", args.material, 0, 1)
        scenarios = _names(args.scenarios) or []
        configs = scenario_configs(scenarios, args.overrides, args.baseline, args.config_dir)
        base_cfg = configs[args.baseline]
        unc = load_uncertainty(args.uncertainty, base_cfg)
        params = unc.select(_names(args.params))
        check_no_overlap(configs, params, args.baseline)
        seeds = _int_list("--seeds", args.seeds) if args.seeds else [base_cfg.seed]
        design = make_design(args.method, params, args.n, seed=args.sample_seed, levels=args.levels)
        jobs = make_jobs(design, list(configs), seeds)
        out = Path(args.out)
        t0 = time.perf_counter()
        task = ModelTask(configs, INDICATORS)
        rows, stats = run_batch(task, jobs, out / "batch", workers=args.workers, launcher=args.launcher,
                                ray_address=args.ray_address, progress=None if base_cfg.progress else False,
                                label=f"{args.method} runs", before=lambda: prebuild(configs))
        print_stats(stats)
        runs = runs_table(design, jobs, rows)
        idx, robust, first, sent = analyse(design, runs, args.baseline, INDICATORS, seed=args.sample_seed,
                                           material=args.material)
        res = Result(design, runs, idx, robust, first, sent, stats)
        import sim
        from sim.results import git_commit

        meta = {"method": args.method, "n": args.n, "levels": args.levels if args.method == "morris" else None,
                "points": len(design.unit), "runs": len(runs), "baseline": args.baseline,
                "scenarios": list(configs), "seeds": seeds, "sample_seed": args.sample_seed,
                "material": args.material,
                "scale": base_cfg.population.scale, "months": base_cfg.months, "overrides": args.overrides,
                "indicators": list(INDICATORS), "params": [p.as_dict() for p in params],
                "uncertainty_file": unc.path, "robustness_level": LEVEL, "index_level": SALIB_CONF,
                "measure_first": "EVPPI of the paired difference (see sim.sensitivity)",
                "sentences": sent, "batch": stats.as_dict(), "seconds": round(time.perf_counter() - t0, 1),
                "package_version": sim.__version__, "git_commit": git_commit()}
        write_outputs(out, res, meta)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished chunks are kept; re-run the same command to resume", file=sys.stderr)
        return 130
    print(format_report(res, meta))
    print(f"\nfiles: {out} (runs.parquet, indices.csv, robustness.csv, measure_first.csv, sensitivity.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
