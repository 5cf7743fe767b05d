"""Calibration to the 2021 report: ``outreach-sim-validate`` and ``outreach-sim-calibrate``.

*Validate* runs ``baseline_2021`` over several seeds and compares, for each reported figure,
the simulated median and 90 % interval with the report (pass: median within +-10 %).

*Calibrate* fits the uncertain parameters listed in ``sim/conf/calibrate.yaml`` (each with bounds
and the figure it is fitted to) with ``scipy.optimize.least_squares`` on fixed seeds: common
random numbers make the objective a deterministic, nearly smooth function of the parameters.
The fitted values are written to ``sim/conf/calibration/fitted.yaml`` (used by every scenario) and
the table of values, bounds and final errors into ``docs/ODD.md``.

References: sim/data/hunan_2021_reported.yaml; MODEL.md section 7.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from sim.admin import data_path
from sim.compose import CONF_DIR, compose_run_config, with_overrides  # with_overrides: also imported from here
from sim.config import RunConfig
from sim.errors import ConfigError, UserError
from sim.progress import Progress

TOLERANCE = 0.10


@dataclass(frozen=True)
class Target:
    """A 2021 figure and where the model reports it."""

    name: str
    value: float
    summary_key: str
    source: str


def load_targets() -> list[Target]:
    """The figures of the 2021 report that the baseline must reproduce."""
    r = yaml.safe_load(data_path("hunan_2021_reported.yaml").read_text())
    he, asst, fu = r["health_education"], r["assistance"], r["funding"]
    streams = he["livestreams"]
    viewers = (streams["may29_launch_2021"]["viewers"] + streams["youth_health_stream"]["viewers"]
               + streams["family_health_stream"]["viewers"])
    rows = [
        ("youth_lectures", he["youth_lectures"]["value"], "reported.youth_lectures", he["youth_lectures"]["cn"]),
        ("youth_lecture_beneficiaries", he["youth_lecture_beneficiaries"]["value"],
         "reported.youth_lecture_beneficiaries", he["youth_lecture_beneficiaries"]["cn"]),
        ("family_health_events", he["family_health_activities"]["value"], "reported.family_health_events",
         he["family_health_activities"]["cn"]),
        ("family_health_participants", he["family_health_participants"]["value"],
         "reported.family_health_participants", he["family_health_participants"]["cn"]),
        ("person_visits", asst["festival_visits"]["person_visits"], "reported.person_visits",
         asst["festival_visits"]["cn"]),
        ("insured_special_households", asst["special_family_insurance_yuan"]["households"],
         "reported.insured_special_households", asst["special_family_insurance_yuan"]["cn"]),
        ("nursing_subsidy_people", asst["nursing_subsidy_yuan"]["people"], "reported.nursing_subsidy_people",
         asst["nursing_subsidy_yuan"]["cn"]),
        ("hardship_households_helped", asst["hardship_households_helped"]["value"],
         "reported.hardship_households_helped", asst["hardship_households_helped"]["cn"]),
        ("policy_events", he["policy_theme_activities"]["value"], "reported.policy_events",
         he["policy_theme_activities"]["cn"]),
        ("livestream_viewers", viewers, "reported.livestream_viewers", "35 万 + 65 万 + 92 万人次"),
        ("execution_rate", fu["budget_execution_rate"]["value"], "execution_rate", fu["budget_execution_rate"]["cn"]),
    ]
    return [Target(n, float(v), k, s) for n, v, k, s in rows]


def _get(summary: dict, dotted: str) -> float:
    x = summary
    for part in dotted.split("."):
        x = x[part]
    return float(x)


def require_province(cfg: RunConfig) -> None:
    """Refuse a region run: the 2021 figures are the whole province's."""
    if cfg.region:
        raise ConfigError("region", cfg.region, "must be empty here: the 2021 figures it is compared with "
                                                "are the whole province's")


def simulate(cfg: RunConfig, seeds: list[int], targets: list[Target], province=None,
             progress: Progress | None = None) -> np.ndarray:
    """Simulated value of every target (columns) for every seed (rows)."""
    from sim.metrics import summary
    from sim.model import OutreachModel
    from sim.province import build_province

    require_province(cfg)
    province = province or build_province(cfg.population, cfg.network, progress=False)
    out = np.zeros((len(seeds), len(targets)))
    for i, seed in enumerate(seeds):
        m = OutreachModel(dataclasses.replace(cfg, seed=seed, progress=False), province)
        m.run()
        s = summary(m)
        out[i] = [_get(s, t.summary_key) for t in targets]
        if progress:
            progress.step(f"seed {seed}")
    return out


HELD_OUT = (
    "No 2021 figure is held out of the fit today: each validated figure is fitted one-to-one or set "
    "by an accounting identity (its provenance says which), so passing shows the fit holds at other "
    "scales and seeds, not that the model predicts. Figures that could be held out are not modelled "
    "yet: the special-family insurance claims (近 2 万人, 1600 多万元), the family insurance "
    "programme's claims (16.4 万人), and the 2020 livestream audience (15 万) for a 2020 run."
)
"""What ``validate`` says about held-out validation (MODEL.md section 7)."""


def provenance_of(summary_key: str) -> str:
    """``input``, ``calibrated`` or ``predicted`` for a summary key (:data:`sim.metrics.PROVENANCE`)."""
    from sim.metrics import PROVENANCE

    return PROVENANCE.get(summary_key, ("predicted", ""))[0]


def validation_table(values: np.ndarray, targets: list[Target], tolerance: float = TOLERANCE) -> list[dict]:
    """Per figure: reported, simulated median and 90 % interval, relative error, pass/fail and
    provenance (input, calibrated or predicted)."""
    rows = []
    for j, t in enumerate(targets):
        v = values[:, j]
        med = float(np.median(v))
        rel = med / t.value - 1 if t.value else float("nan")
        rows.append({"figure": t.name, "reported": t.value, "median": med,
                     "p5": float(np.percentile(v, 5)), "p95": float(np.percentile(v, 95)),
                     "rel_error": rel, "pass": bool(abs(rel) <= tolerance + 1e-12),
                     "provenance": provenance_of(t.summary_key), "source": t.source})
    return rows


def format_table(rows: list[dict]) -> str:
    lines = [f"{'figure':<30}{'reported':>14}{'simulated median':>18}{'90 % interval':>28}{'error':>9}  result"
             f"  provenance"]
    for r in rows:
        fmt = (lambda x: f"{x:.3f}") if r["reported"] < 10 else (lambda x: f"{x:,.0f}")
        lines.append(f"{r['figure']:<30}{fmt(r['reported']):>14}{fmt(r['median']):>18}"
                     f"{fmt(r['p5']) + ' - ' + fmt(r['p95']):>28}{100 * r['rel_error']:>+8.1f}%  "
                     f"{'pass' if r['pass'] else 'FAIL'}  {r.get('provenance', '')}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- calibrate
@dataclass(frozen=True)
class Param:
    """A fitted parameter: its bounds, the figure it is fitted to and, when the model measures
    that figure differently from the validated summary key, the key to compare (``measure``)."""

    key: str
    low: float
    high: float
    target: str
    measure: str | None = None


def load_spec(path: Path) -> dict:
    """The calibration spec (``sim/conf/calibrate.yaml``): parameters with bounds and targets."""
    try:
        spec = yaml.safe_load(Path(path).read_text())
    except OSError as e:
        raise UserError(f"cannot read the calibration spec {path}: {e.strerror}") from None
    params = []
    for key, p in spec.get("parameters", {}).items():
        if not (isinstance(p, dict) and {"low", "high", "target"} <= set(p)):
            raise ConfigError(f"parameters.{key}", p, "needs low, high and target")
        if not p["low"] < p["high"]:
            raise ConfigError(f"parameters.{key}.low", p["low"], f"must be below high={p['high']}")
        params.append(Param(key, float(p["low"]), float(p["high"]), str(p["target"]), p.get("measure")))
    spec["parameters"] = params
    return spec


def fit(cfg: RunConfig, params: list[Param], targets: list[Target], seeds: list[int], province=None,
        max_evaluations: int = 200, progress: bool | None = None) -> dict:
    """Least-squares fit of ``params`` (log-space, within bounds) to their targets' values.

    Returns the fitted values, the final relative errors and the number of model evaluations.
    """
    from scipy.optimize import least_squares

    from sim.province import build_province

    require_province(cfg)
    by_name = {t.name: t for t in targets}
    unknown = [p.target for p in params if p.target not in by_name]
    if unknown:
        raise ConfigError("parameters.*.target", unknown[0], f"must be one of {sorted(by_name)}")
    fitted_targets = list({p.target: dataclasses.replace(by_name[p.target],
                                                         summary_key=p.measure or by_name[p.target].summary_key)
                           for p in params}.values())
    province = province or build_province(cfg.population, cfg.network, progress=False)
    # Work on u in [0, 1]: u = (log value - log low) / (log high - log low).
    lo = np.log([p.low for p in params])
    span = np.log([p.high for p in params]) - lo
    start = []
    for p in params:
        group, _, name = p.key.partition(".")
        start.append(float(np.clip(getattr(getattr(cfg, group), name), p.low, p.high)))
    u0 = np.clip((np.log(start) - lo) / span, 0.02, 0.98)
    bar = Progress("calibrating", 0, enabled=progress)
    cache: dict[tuple, np.ndarray] = {}

    def values_of(u: np.ndarray) -> dict[str, float]:
        return {p.key: float(np.exp(lo[i] + span[i] * u[i])) for i, p in enumerate(params)}

    def residuals(u: np.ndarray) -> np.ndarray:
        key = tuple(np.round(u, 12))
        if key not in cache:
            c = with_overrides(cfg, values_of(u))
            sim = simulate(c, seeds, fitted_targets, province).mean(axis=0)
            cache[key] = sim / np.array([t.value for t in fitted_targets]) - 1
            bar.step(f"max error {np.abs(cache[key]).max():.3f}")
        return cache[key]

    t0 = time.perf_counter()
    # Finite differences of ~5 % in each value: wider than the steps counts make at small scales.
    res = least_squares(residuals, u0, bounds=(0.0, 1.0), diff_step=0.06, xtol=1e-5, ftol=1e-5, gtol=1e-12,
                        max_nfev=max_evaluations)
    bar.close()
    values = values_of(res.x)
    errors = dict(zip([t.name for t in fitted_targets], residuals(res.x).tolist(), strict=True))
    return {"values": values, "errors": errors, "evaluations": len(cache), "seconds": time.perf_counter() - t0,
            "success": bool(res.success), "message": res.message}


def write_fitted(path: Path, result: dict, params: list[Param], spec: dict, scale: float, seeds: list[int]) -> None:
    """Write ``sim/conf/calibration/fitted.yaml`` (a Hydra overlay of the fitted values)."""
    from sim.results import _atomic

    nested: dict[str, dict] = {}
    for key, v in result["values"].items():
        group, _, name = key.partition(".")
        nested.setdefault(group, {})[name] = float(f"{v:.6g}")
    for key, v in (spec.get("accounting") or {}).items():
        group, _, name = key.partition(".")
        nested.setdefault(group, {})[name] = v["value"]
    head = ["# @package _global_",
            "# Fitted by outreach-sim-calibrate (do not edit by hand; re-run the command).",
            f"# Scale {scale}, seeds {seeds}; {result['evaluations']} model evaluations.",
            "# parameter: fitted value (bounds) -> figure: final relative error"]
    for p in params:
        head.append(f"#   {p.key}: {result['values'][p.key]:.6g} ({p.low:g}-{p.high:g}) -> {p.target}: "
                    f"{100 * result['errors'][p.target]:+.2f} %")
    head.append("# Set from the report (accounting), not fitted: see sim/conf/calibrate.yaml.")
    text = "\n".join(head) + "\n" + yaml.safe_dump(nested, sort_keys=True, allow_unicode=True)
    _atomic(Path(path), lambda t: Path(t).write_text(text))


ODD_BEGIN, ODD_END = "<!-- calibration:begin -->", "<!-- calibration:end -->"


def odd_table(result: dict, params: list[Param], spec: dict, validation: list[dict], scale: float,
              seeds: list[int]) -> str:
    lines = [ODD_BEGIN, "",
             f"Fitted by `outreach-sim-calibrate` at scale {scale} on seeds {seeds} "
             f"({result['evaluations']} model evaluations, {result['seconds']:.0f} s); "
             "written to `sim/conf/calibration/fitted.yaml`.", "",
             "| parameter | fitted | bounds | fitted to | final error |", "|---|---|---|---|---|"]
    for p in params:
        lines.append(f"| `{p.key}` | {result['values'][p.key]:.4g} | {p.low:g} – {p.high:g} | {p.target} | "
                     f"{100 * result['errors'][p.target]:+.1f} % |")
    lines += ["", "Set directly from the report (pure accounting, not fitted):", "",
              "| parameter | value | from |", "|---|---|---|"]
    for key, v in (spec.get("accounting") or {}).items():
        lines.append(f"| `{key}` | {v['value']} | {v['from']} |")
    lines += ["", f"Validation after the fit (`outreach-sim-validate`, scale {scale}, seeds {seeds}):", "",
              "| figure | reported | simulated median | 90 % interval | error | provenance |",
              "|---|---|---|---|---|---|"]
    for r in validation:
        lines.append(f"| {r['figure']} | {r['reported']:,.3f} | {r['median']:,.3f} | "
                     f"{r['p5']:,.3f} – {r['p95']:,.3f} | {100 * r['rel_error']:+.1f} % | {r['provenance']} |")
    lines += ["", ODD_END]
    return "\n".join(lines)


def update_odd(path: Path, block: str) -> bool:
    """Replace the calibration block of docs/ODD.md; False when the file or markers are missing."""
    try:
        text = Path(path).read_text()
    except OSError:
        return False
    if ODD_BEGIN not in text or ODD_END not in text:
        return False
    before, rest = text.split(ODD_BEGIN, 1)
    after = rest.split(ODD_END, 1)[1]
    Path(path).write_text(before + block + after)
    return True


# ---------------------------------------------------------------------------- command lines
def validate_main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="outreach-sim-validate",
                                 description="Run baseline_2021 over several seeds and compare with the 2021 report.")
    ap.add_argument("overrides", nargs="*", help="config overrides, e.g. population.scale=0.05")
    ap.add_argument("--seeds", type=int, default=5, help="number of seeds (1..N; default 5)")
    ap.add_argument("--tolerance", type=float, default=TOLERANCE, help="allowed relative error (default 0.10)")
    ap.add_argument("--out", default=None, help="output folder (default outputs/validate/<time>)")
    args = ap.parse_args(argv)
    try:
        if args.seeds < 1:
            raise ConfigError("--seeds", args.seeds, "must be at least 1")
        cfg = compose_run_config(["scenario=baseline_2021", *args.overrides])
        targets = load_targets()
        seeds = [cfg.seed + i for i in range(args.seeds)]
        with Progress("validating", len(seeds)) as bar:
            values = simulate(cfg, seeds, targets, progress=bar)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = validation_table(values, targets, args.tolerance)
    out = Path(args.out or Path("outputs") / "validate" / time.strftime("%Y-%m-%d_%H-%M-%S"))
    _write_validation(out, rows, cfg, seeds)
    print(format_table(rows))
    print(f"\n{HELD_OUT}")
    n_fail = sum(not r["pass"] for r in rows)
    print(f"\n{len(rows) - n_fail} of {len(rows)} figures within ±{100 * args.tolerance:g} % "
          f"(scale {cfg.population.scale}, seeds {seeds[0]}-{seeds[-1]}); files: {out}")
    return 1 if n_fail else 0


def _write_validation(out: Path, rows: list[dict], cfg: RunConfig, seeds: list[int]) -> None:
    import pandas as pd

    from sim.results import _atomic, config_hash, write_json

    write_json(out / "validation.json", {"scale": cfg.population.scale, "seeds": seeds,
                                         "config_hash": config_hash(cfg), "figures": rows, "held_out": HELD_OUT})
    _atomic(out / "validation.csv", lambda t: pd.DataFrame(rows).to_csv(t, index=False))


def calibrate_main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="outreach-sim-calibrate",
        description="Fit the uncertain parameters to the 2021 report (sim/conf/calibrate.yaml).")
    ap.add_argument("overrides", nargs="*", help="config overrides for the runs, e.g. population.scale=0.05")
    ap.add_argument("--spec", default=str(CONF_DIR / "calibrate.yaml"), help="parameters, bounds and targets")
    ap.add_argument("--out", default=str(CONF_DIR / "calibration" / "fitted.yaml"), help="fitted config file")
    ap.add_argument("--odd", default=str(Path(__file__).resolve().parents[1] / "docs" / "ODD.md"),
                    help="ODD document to update (skipped when missing, e.g. in an installed package)")
    ap.add_argument("--max-evaluations", type=int, default=200)
    args = ap.parse_args(argv)
    try:
        spec = load_spec(Path(args.spec))
        scale = float(spec.get("scale", 0.05))
        seeds = [int(s) for s in spec.get("seeds", [1, 2])]
        # Fit from the schema defaults plus the accounting values, not from a previous fit.
        accounting = [f"{k}={v['value']}" for k, v in (spec.get("accounting") or {}).items()]
        cfg = compose_run_config(["scenario=baseline_2021", "calibration=none", f"population.scale={scale}",
                                  *accounting, *args.overrides])
        targets = load_targets()
        result = fit(cfg, spec["parameters"], targets, seeds, max_evaluations=args.max_evaluations)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    params = spec["parameters"]
    write_fitted(Path(args.out), result, params, spec, cfg.population.scale, seeds)
    fitted_cfg = with_overrides(cfg, result["values"])
    rows = validation_table(simulate(fitted_cfg, seeds, targets), targets)
    updated = update_odd(Path(args.odd), odd_table(result, params, spec, rows, cfg.population.scale, seeds))
    print(f"fitted {len(params)} parameters in {result['evaluations']} model evaluations "
          f"({result['seconds']:.0f} s): {result['message']}")
    for p in params:
        print(f"  {p.key:<48}{result['values'][p.key]:>12.5g}  ({p.low:g}-{p.high:g})  "
              f"{p.target}: {100 * result['errors'][p.target]:+.2f} %")
    print()
    print(format_table(rows))
    print(f"\nwrote {args.out}" + (f" and the calibration table of {args.odd}" if updated else ""))
    print(json.dumps({"errors": result["errors"]}))
    return 0 if all(r["pass"] for r in rows) else 1
