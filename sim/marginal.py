"""Marginal value of money and hands: ``outreach-sim-marginal``.

This module owns the marginal analysis: how much coverage one more unit of each lever buys,
per indicator, and what that unit costs. The levers are the extra association outreach money
(``funding.extra_outreach_yuan``, yuan a year, province total) and the extra hours a month of
each role (``staffing.extra_<role>_hours_per_month`` for the roles of
:data:`sim.activities.ROLES`, province total); the model shares them among counties and
villages like the money and hours they add to.

Method: paired finite differences with common random numbers. For every seed the config is run
once as composed (the base) and once per lever with that lever raised by its step (same seed:
the model's named random streams give both arms the same draws for the same families, so the
difference is the lever's effect, not noise). The steps are larger than one unit (default
10 M yuan and 10,000 hours a month) so the difference stands above the granularity of whole
activities; the result is scaled linearly to one unit (1 M yuan a year; 1,000 hours a month):
a secant slope over the step, not a derivative at the point. The mean paired difference gets a
90 % t-interval across seeds (none with one seed); being linear, the scaling applies to the
bounds too.

Cost of a lever, per year: the money lever costs its yuan. Staff hours are valued at what the
posts supplying them would cost: ``post_cost_yuan_per_year / (12 * staff_hours_per_month *
staff_outreach_share)`` yuan an hour (the model counts only the outreach share of a post's
hours). Officer, volunteer and lecturer hours have no yuan value in the model (volunteers are
unpaid by default; officers' stipends are per village, not per hour), so their per-yuan columns
are empty. The coverage gained per extra 1 M yuan puts money and staff on one yuan scale. The
change of the runs' booked cost (``cost.total_yuan``: money actually spent, including existing
money that extra hands let counties spend; not the extra posts, which the model does not book)
is reported as well.

Table (:func:`marginal_values`), one row per lever and indicator of
:data:`sim.metrics.COVERAGE`:

* ``lever``, ``config_key``, ``indicator``, ``provenance`` (input, calibrated or predicted),
  ``unit`` (``1 M yuan a year`` or ``1,000 hours a month``), ``step`` (in the lever's own
  units), ``step_cost_yuan`` (the step's cost a year), ``n_seeds``, ``base_coverage`` (mean
  base coverage, a fraction);
* ``step_coverage_pp``, ``step_reached``: mean paired difference over the whole step
  (percentage points; full-scale families, persons for ``nursing_subsidy_met``);
* ``coverage_pp_per_unit`` and ``reached_per_unit`` with ``_lo``/``_hi`` (90 % interval);
* ``hours_per_month_per_unit``, ``cost_yuan_per_unit`` (the lever's cost a year; NaN where
  the model gives hours no yuan value), ``booked_cost_yuan_per_unit`` (mean change of
  ``cost.total_yuan``);
* ``coverage_pp_per_million_yuan`` and ``reached_per_million_yuan`` with ``_lo``/``_hi``.

References: MODEL.md sections 4b (costs that compare) and 6 (common random numbers);
:mod:`sim.compare` (paired differences by seed).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.activities import ROLES
from sim.compose import compose_run_config, with_overrides
from sim.config import RunConfig, StaffingConfig
from sim.errors import ConfigError, UserError, check_range
from sim.progress import Progress

MONEY_UNIT_YUAN = 1e6
"""The money unit of the results: 1 M yuan a year."""
HOURS_UNIT = 1000.0
"""The hours unit of the results: 1,000 hours a month."""
DEFAULT_MONEY_STEP_YUAN = 10e6
DEFAULT_HOURS_STEP = 10_000.0
LEVEL = 0.90
"""Coverage of the interval of the mean paired difference."""


@dataclass(frozen=True)
class Lever:
    """A lever of the marginal analysis: its name, its config key and what it adds."""

    name: str
    key: str
    kind: str
    """``money`` (yuan a year) or ``hours`` (hours a month)."""

    @property
    def unit(self) -> str:
        return "1 M yuan a year" if self.kind == "money" else "1,000 hours a month"

    @property
    def unit_size(self) -> float:
        return MONEY_UNIT_YUAN if self.kind == "money" else HOURS_UNIT


LEVERS = (Lever("money", "funding.extra_outreach_yuan", "money"),
          *(Lever(r, f"staffing.extra_{r}_hours_per_month", "hours") for r in ROLES))
LEVER_NAMES = tuple(lv.name for lv in LEVERS)
BASE = "base"


def lever(name: str) -> Lever:
    """The lever called ``name``."""
    for lv in LEVERS:
        if lv.name == name:
            return lv
    raise ConfigError("lever", name, f"must be one of {list(LEVER_NAMES)}")


def staff_hour_yuan(st: StaffingConfig) -> float:
    """Yuan a staff outreach hour costs: a post's yearly cost over its outreach hours a year
    (NaN when posts give no outreach hours)."""
    hours_year = 12 * st.staff_hours_per_month * st.staff_outreach_share
    return st.post_cost_yuan_per_year / hours_year if hours_year > 0 else float("nan")


def lever_cost_yuan(cfg: RunConfig, lv: Lever, amount: float) -> float:
    """Yearly cost in yuan of ``amount`` of a lever (yuan a year, or hours a month); NaN for
    hours the model gives no yuan value (officers, volunteers, lecturers)."""
    if lv.kind == "money":
        return float(amount)
    if lv.name == "staff":
        return float(amount) * 12 * staff_hour_yuan(cfg.staffing)
    return float("nan")


def arm_config(cfg: RunConfig, lv: Lever, step: float) -> RunConfig:
    """``cfg`` with lever ``lv`` raised by ``step`` (from its value in ``cfg``; validated again)."""
    group, _, name = lv.key.partition(".")
    return with_overrides(cfg, {lv.key: getattr(getattr(cfg, group), name) + step})


def _check_steps(money_step_yuan: float, hours_step: float) -> None:
    check_range("money_step_yuan", money_step_yuan, 0)
    check_range("hours_step", hours_step, 0)


def _check_seeds(seeds) -> list[int]:
    seeds = list(seeds)
    if not seeds:
        raise ConfigError("seeds", seeds, "give at least one seed")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int | np.integer):
            raise ConfigError("seeds", s, "must be whole numbers")
        check_range("seed", s, 0, 2**63 - 1)
    if len(set(seeds)) != len(seeds):
        raise ConfigError("seeds", seeds, "must not repeat (each seed is one pair)")
    return [int(s) for s in seeds]


def _result(summary: dict, seed: int) -> dict:
    """What the marginal analysis keeps of a run's summary."""
    return {"seed": seed, "coverage": dict(summary["coverage"]),
            "reached": {k: v["reached"] for k, v in summary["coverage_counts"].items()},
            "cost_yuan": float(summary["cost"]["total_yuan"]), "provenance": summary.get("provenance", {})}


def run_arms(cfg: RunConfig, seeds, steps: dict[str, float], *, province=None,
             progress: Progress | None = None) -> dict[str, list[dict]]:
    """Run the base and, for each lever in ``steps``, the arm with it raised by its step.

    Args:
        cfg: The base config (its seed is replaced by each of ``seeds``).
        seeds: Seeds of the pairs.
        steps: Step of each lever by name (yuan a year for ``money``, hours a month for roles).
        province: The province (built from ``cfg`` when None; the same for every run).
        progress: Stepped once per run.

    Returns:
        ``{"base": [...], lever: [...]}``: per seed (in the order of ``seeds``) the run's
        coverage, reached counts (full scale) and booked cost (yuan).
    """
    from sim.metrics import summary
    from sim.model import OutreachModel
    from sim.province import province_for

    seeds = _check_seeds(seeds)
    arms = {BASE: cfg}
    for name, step in steps.items():
        check_range(f"step of {name}", step, 0)
        arms[name] = arm_config(cfg, lever(name), step)
    province = province or province_for(cfg, progress=False)
    out: dict[str, list[dict]] = {name: [] for name in arms}
    for seed in seeds:
        for name, c in arms.items():
            m = OutreachModel(dataclasses.replace(c, seed=seed, progress=False), province)
            m.run()
            out[name].append(_result(summary(m), seed))
            if progress:
                progress.step(f"seed {seed} {name}")
    return out


def t_interval(d, level: float = LEVEL) -> tuple[float, float, float]:
    """(mean, low, high) of the mean of paired differences ``d``: a Student t-interval.

    With one difference the bounds are NaN; with none, everything is.
    """
    from scipy.stats import t

    d = np.asarray(d, dtype=np.float64)
    n = len(d)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(d.mean())
    if n == 1:
        return mean, math.nan, math.nan
    half = float(t.ppf(0.5 + level / 2, n - 1) * d.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def paired_differences(base: list[dict], arm: list[dict]) -> dict:
    """Arm minus base, seed by seed: ``coverage_pp`` and ``reached`` per indicator (arrays over
    seeds, percentage points and full-scale families) and ``cost_yuan`` (booked cost)."""
    if [r["seed"] for r in base] != [r["seed"] for r in arm]:
        raise ValueError("the base and the arm must have run the same seeds in the same order")
    inds = list(base[0]["coverage"]) if base else []
    return {
        "seeds": [r["seed"] for r in base],
        "coverage_pp": {k: np.array([100 * (a["coverage"][k] - b["coverage"][k]) for a, b in zip(arm, base,
                                                                                               strict=True)])
                        for k in inds},
        "reached": {k: np.array([a["reached"][k] - b["reached"][k] for a, b in zip(arm, base, strict=True)])
                    for k in inds},
        "cost_yuan": np.array([a["cost_yuan"] - b["cost_yuan"] for a, b in zip(arm, base, strict=True)]),
    }


def _scaled(col: str, stat: tuple[float, float, float], k: float) -> dict[str, float]:
    """``col``, ``col_lo``, ``col_hi``: a (mean, low, high) scaled by ``k``."""
    return {col: stat[0] * k, f"{col}_lo": stat[1] * k, f"{col}_hi": stat[2] * k}


def marginal_table(runs: dict[str, list[dict]], steps: dict[str, float], cfg: RunConfig,
                   level: float = LEVEL) -> pd.DataFrame:
    """The marginal values (see the module docstring) from the runs of :func:`run_arms`."""
    base = runs[BASE]
    rows = []
    for name, step in steps.items():
        lv = lever(name)
        diff = paired_differences(base, runs[name])
        per_unit = lv.unit_size / step if step > 0 else math.nan
        cost_unit = lever_cost_yuan(cfg, lv, lv.unit_size)
        per_million = per_unit * MONEY_UNIT_YUAN / cost_unit if cost_unit > 0 else math.nan
        booked = t_interval(diff["cost_yuan"], level)[0] * per_unit
        for ind, pp in diff["coverage_pp"].items():
            cov = t_interval(pp, level)
            reach = t_interval(diff["reached"][ind], level)
            row = {"lever": name, "config_key": lv.key, "indicator": ind,
                   "provenance": base[0]["provenance"].get(f"coverage.{ind}", ""),
                   "unit": lv.unit, "step": float(step), "step_cost_yuan": lever_cost_yuan(cfg, lv, step),
                   "n_seeds": len(pp),
                   "base_coverage": float(np.mean([r["coverage"][ind] for r in base])),
                   "step_coverage_pp": cov[0], "step_reached": reach[0]}
            row.update(_scaled("coverage_pp_per_unit", cov, per_unit))
            row.update(_scaled("reached_per_unit", reach, per_unit))
            row.update({"hours_per_month_per_unit": lv.unit_size if lv.kind == "hours" else 0.0,
                        "cost_yuan_per_unit": cost_unit, "booked_cost_yuan_per_unit": booked})
            row.update(_scaled("coverage_pp_per_million_yuan", cov, per_million))
            row.update(_scaled("reached_per_million_yuan", reach, per_million))
            rows.append(row)
    return pd.DataFrame(rows)


def marginal_values(cfg: RunConfig, seeds, *, money_step_yuan: float = DEFAULT_MONEY_STEP_YUAN,
                    hours_step: float = DEFAULT_HOURS_STEP, province=None, progress: Progress | None = None,
                    levers=LEVER_NAMES) -> pd.DataFrame:
    """Marginal coverage per extra 1 M yuan a year and per extra 1,000 hours a month of each role.

    Args:
        cfg: The config at which the margins are taken (the base arm).
        seeds: Seeds of the pairs (each runs the base and every lever once).
        money_step_yuan: Step of the money lever, yuan a year (>= 0).
        hours_step: Step of each role's hours, hours a month (>= 0).
        province: The province (built from ``cfg`` when None).
        progress: Stepped once per run.
        levers: Names of the levers to evaluate (default all: money and every role).

    Returns:
        One row per lever and indicator (columns in the module docstring). A zero step gives
        zero step differences and NaN per-unit values.
    """
    _check_steps(money_step_yuan, hours_step)
    steps = {name: (money_step_yuan if lever(name).kind == "money" else hours_step) for name in levers}
    runs = run_arms(cfg, seeds, steps, province=province, progress=progress)
    return marginal_table(runs, steps, cfg)


# ---------------------------------------------------------------------------- output
def _fmt(x: float, lo: float, hi: float, digits: int) -> str:
    if not math.isfinite(x):
        return "-"
    if x == 0 and not (lo or hi):  # no difference in any seed
        return "0"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{x:+.{digits}f}"
    return f"{x:+.{digits}f}±{(hi - lo) / 2:.{digits}f}"


def _digits(values) -> int:
    """Decimals to show: enough for the median non-zero magnitude to have 2 significant digits."""
    v = np.abs(np.asarray([x for x in values if math.isfinite(x) and x != 0]))
    if not len(v):
        return 2
    return int(np.clip(1 - math.floor(math.log10(np.median(v))), 0, 6))


def format_table(df: pd.DataFrame, hour_yuan: float | None = None) -> str:
    """A readable table: coverage points per unit by indicator and lever, then per 1 M yuan."""
    if df.empty:
        return "no levers evaluated"
    levers = list(dict.fromkeys(df["lever"]))
    inds = list(dict.fromkeys(df["indicator"]))
    cell = {(r.lever, r.indicator): r for r in df.itertuples()}
    n = int(df["n_seeds"].iloc[0])
    spread = "mean ± half-width of the 90 % interval" if n > 1 else "mean (one seed: no interval)"
    by_unit: dict[str, list[str]] = {}
    for lv in levers:
        by_unit.setdefault(lever(lv).unit, []).append(lv)
    units = "; ".join(f"{', '.join(names)}: per {unit}" for unit, names in by_unit.items())
    lines = [f"Coverage gain, percentage points, {spread}, over {n} seed{'s' * (n > 1)}",
             f"({units}; differences over the steps scaled linearly to one unit)", ""]

    def block(col: str, names: list[str]) -> None:
        d = _digits(df[df["lever"].isin(names)][col])
        width = max(12, 2 * d + 8)
        lines.append(f"{'indicator':<24}" + "".join(f"{lv:>{width}}" for lv in names))
        for ind in inds:
            lines.append(f"{ind:<24}" + "".join(
                f"{_fmt(getattr(cell[lv, ind], col), getattr(cell[lv, ind], col + '_lo'), getattr(cell[lv, ind], col + '_hi'), d):>{width}}"  # noqa: E501
                for lv in names))

    block("coverage_pp_per_unit", levers)
    priced = [lv for lv in levers if math.isfinite(cell[lv, inds[0]].cost_yuan_per_unit)]
    if priced:
        costs = ", ".join(f"{lv}: {cell[lv, inds[0]].cost_yuan_per_unit / 1e6:,.2f} M yuan a year per unit"
                          for lv in priced)
        lines += ["", f"Per extra 1 M yuan of cost ({costs}"
                  + (f"; staff hours at {hour_yuan:,.0f} yuan an hour, the cost of the posts" if
                     "staff" in priced and hour_yuan else "") + ")"]
        block("coverage_pp_per_million_yuan", priced)
    return "\n".join(lines)


def write_outputs(out: Path, df: pd.DataFrame, runs: dict[str, list[dict]], steps: dict[str, float],
                  cfg: RunConfig, seconds: float) -> None:
    """Write ``marginal.csv`` (the table) and ``marginal.json`` (the table, the method, the
    config's identity and the paired differences of every seed), each atomically."""
    import sim
    from sim.results import _atomic, config_hash, git_commit, json_safe, write_json

    base = runs[BASE]
    per_seed = {}
    for name in steps:
        d = paired_differences(base, runs[name])
        per_seed[name] = {"coverage_pp": d["coverage_pp"], "reached": d["reached"], "booked_cost_yuan": d["cost_yuan"]}
    doc = {
        "method": "paired finite differences with common random numbers: for each seed, the base config and, "
                  "per lever, the config with that lever raised by its step, run with the same seed; "
                  f"mean paired difference with a {100 * LEVEL:g} % Student t-interval across seeds",
        "scaling": "linear: value per unit = difference over the step x unit / step (a secant slope, "
                   "not a derivative); the interval bounds are scaled alike",
        "units": {"money": "1 M yuan a year", "hours": "1,000 hours a month"},
        "steps": {name: {"value": step, "key": lever(name).key,
                         "unit": "yuan a year" if lever(name).kind == "money" else "hours a month"}
                  for name, step in steps.items()},
        "cost": "money: its yuan; staff hours: the yearly cost of the posts that would supply them; officer, "
                "volunteer and lecturer hours: no yuan value in the model (per-yuan values empty)",
        "staff_hour_yuan": staff_hour_yuan(cfg.staffing),
        "level": LEVEL,
        "scenario": cfg.scenario.name, "scale": cfg.population.scale, "months": cfg.months,
        "seeds": [r["seed"] for r in base], "config_hash": config_hash(cfg),
        "package_version": sim.__version__, "git_commit": git_commit(), "runtime_s": round(seconds, 1),
        "rows": df.to_dict(orient="records"),
        "base": {"coverage": {k: [r["coverage"][k] for r in base] for k in base[0]["coverage"]},
                 "cost_yuan": [r["cost_yuan"] for r in base]},
        "paired_differences": per_seed,
    }
    _atomic(out / "marginal.csv", lambda t: df.to_csv(t, index=False))
    write_json(out / "marginal.json", json_safe(doc))


# ---------------------------------------------------------------------------- command line
class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (as :class:`UserError`)."""

    def error(self, message: str):
        raise UserError(message)


def _seed_list(text: str) -> list[int]:
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ConfigError("--seed-list", text, "must be whole numbers separated by commas, e.g. 1,2,3") from None


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``outreach-sim-marginal``."""
    ap = _Parser(prog="outreach-sim-marginal",
                 description="Marginal coverage per extra 1 M yuan a year and per extra 1,000 hours a month of "
                             "each role, by paired finite differences with common random numbers.")
    ap.add_argument("overrides", nargs="*", help="config overrides, e.g. population.scale=0.05")
    seeds = ap.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=int, default=5, help="number of seeds: seed, seed+1, ... (default 5)")
    seeds.add_argument("--seed-list", default=None, help="the seeds, e.g. 1,2,3")
    ap.add_argument("--money-step", type=float, default=DEFAULT_MONEY_STEP_YUAN,
                    help="step of the money lever, yuan a year (default 10e6)")
    ap.add_argument("--hours-step", type=float, default=DEFAULT_HOURS_STEP,
                    help="step of each role's hours, hours a month (default 10000)")
    ap.add_argument("--scenario", default=None, help="scenario to take the margins at (default: the config's)")
    ap.add_argument("--out", default=None, help="output folder (default marginal/<time>)")
    try:
        args = ap.parse_args(argv)
        check_range("--money-step", args.money_step, 0, low_open=True)
        check_range("--hours-step", args.hours_step, 0, low_open=True)
        scenario = [f"scenario={args.scenario}"] if args.scenario else []
        cfg = compose_run_config([*scenario, *args.overrides])
        if args.seed_list is not None:
            seed_list = _seed_list(args.seed_list)
        else:
            check_range("--seeds", args.seeds, 1)
            seed_list = [cfg.seed + i for i in range(args.seeds)]
        seed_list = _check_seeds(seed_list)
        steps = {lv.name: args.money_step if lv.kind == "money" else args.hours_step for lv in LEVERS}
        t0 = time.perf_counter()
        from sim.province import province_for

        province = province_for(cfg, progress=None if cfg.progress else False)
        with Progress("marginal values", len(seed_list) * (1 + len(steps)),
                      enabled=None if cfg.progress else False) as bar:
            runs = run_arms(cfg, seed_list, steps, province=province, progress=bar)
        seconds = time.perf_counter() - t0
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    df = marginal_table(runs, steps, cfg)
    out = Path(args.out or Path("marginal") / time.strftime("%Y-%m-%d_%H-%M-%S"))
    write_outputs(out, df, runs, steps, cfg, seconds)
    print(format_table(df, staff_hour_yuan(cfg.staffing)))
    print(f"\n{cfg.scenario.name}, scale {cfg.population.scale}, {cfg.months} months, seeds "
          f"{','.join(map(str, seed_list))}, steps {args.money_step:,.0f} yuan a year and "
          f"{args.hours_step:,.0f} hours a month ({seconds:.0f} s); files: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
