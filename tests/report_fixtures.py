"""Run outputs for the plot and report tests, made once per test session with the real command.

:func:`outputs` runs two small sweeps with ``python -m sim -m ...`` into a temporary folder,
with ``OUTREACH_SIM_CACHE`` pointing into it (never ``~/.cache``):

* ``scenarios``: baseline_2021, budget_plus_20 and budget_cut_20 x seeds 1, 2;
* ``sweep``: funding.multiplier 0.8, 1.2 x staffing.volunteers_per_village 2, 5 x seeds 1, 2;

both at population scale 0.005 (about 1 s a run), the two sweeps side by side. The result is
cached in the process, so the test modules that ask for it share one build. :func:`tables`
reads them back as the tables the figure functions take.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

SCALE = 0.005
SEEDS = (1, 2)
MONTHS = 12
"""Months of each run (the default)."""
SCENARIOS = ("baseline_2021", "budget_plus_20", "budget_cut_20")
FUNDING = (0.8, 1.2)
VOLUNTEERS = (2, 5)
N_COUNTIES = 122
N_PREFECTURES = 14


@dataclass(frozen=True)
class Outputs:
    root: Path
    env: dict
    scenarios: Path
    """Sweep folder of the scenario runs."""
    sweep: Path
    """Sweep folder of the funding x staffing runs."""
    single: Path
    """One run folder (baseline_2021, seed 1)."""


_OUTPUTS: Outputs | None = None


def _sweep(args: list[str], out: Path, env: dict, cwd: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "sim", "-m", *args, f"population.scale={SCALE}",
           "seed=" + ",".join(map(str, SEEDS)), f"hydra.sweep.dir={out}"]
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def outputs(tmp_path_factory) -> Outputs:
    """Build the run outputs once per process (both sweeps at once)."""
    global _OUTPUTS
    if _OUTPUTS is not None:
        return _OUTPUTS
    root = tmp_path_factory.mktemp("report-runs")
    env = dict(os.environ, OUTREACH_SIM_CACHE=str(root / "cache"), MPLBACKEND="Agg")
    scen, sweep = root / "scenarios", root / "sweep"
    # The two sweeps run side by side (Hydra's basic launcher in each); both may build the
    # province, and the cache keeps whichever lands first.
    procs = [_sweep(["scenario=" + ",".join(SCENARIOS)], scen, env, root),
             _sweep(["funding.multiplier=" + ",".join(map(str, FUNDING)),
                     "staffing.volunteers_per_village=" + ",".join(map(str, VOLUNTEERS))], sweep, env, root)]
    for p in procs:
        out, err = p.communicate(timeout=900)
        assert p.returncode == 0, f"{p.args}\n{out}\n{err}"
    single = next(d for d in scen.iterdir()
                  if "scenario=baseline_2021" in d.name and d.name.endswith("seed=1"))
    _OUTPUTS = Outputs(root, env, scen, sweep, single)
    return _OUTPUTS


@dataclass(frozen=True)
class Tables:
    runs: pd.DataFrame
    cmp: pd.DataFrame
    sweep_runs: pd.DataFrame
    counties_base: pd.DataFrame
    counties_plus: pd.DataFrame
    monthly_base: pd.DataFrame
    single_counties: pd.DataFrame
    single_summary: dict


def tables(o: Outputs) -> Tables:
    """The tables the figure functions take, read from the fixture runs."""
    import json

    from sim.compare import compare
    from sim.runs import run_tables, runs_table

    runs, _, _ = runs_table([o.scenarios])
    sweep_runs, _, _ = runs_table([o.sweep])
    base = runs[runs["scenario"] == "baseline_2021"]
    single, _, _ = runs_table([o.single])
    return Tables(
        runs=runs, cmp=compare(runs, "scenario=baseline_2021"), sweep_runs=sweep_runs,
        counties_base=run_tables(base, "counties"),
        counties_plus=run_tables(runs[runs["scenario"] == "budget_plus_20"], "counties"),
        monthly_base=run_tables(base, "monthly"), single_counties=run_tables(single, "counties"),
        single_summary=json.loads((o.single / "summary.json").read_text()),
    )


# --------------------------------------------------------------------------- hand-built runs
# Summaries written by hand (no model run), with round numbers so that the expected values of
# the comparison, the cost tables and the figures' data are exact. Three seeds per scenario.
#
#                         cost.total_yuan (M)   youth reached         special visited      special insured
#   baseline_2021         500, 510, 520         20,000 21,000 22,000  8,000 8,100 8,200    9,000 x 3
#   budget_plus_20  Δ     +10, +12, +14         +1,000 +3,000 +2,000  -100 +50 +200        +300 x 3
#   budget_cut_20   Δ     -5 x 3                -1,000 x 3            +500 x 3             0 x 3
#
# Cost per additional family reached = mean Δ cost / mean Δ reached:
#   budget_plus_20: youth 12 M / 2,000 = 6,000; special visited: the 90 % interval of (-100, 50,
#   200) is [-85, 185], which includes 0: undefined; insured 12 M / 300 = 40,000.
#   budget_cut_20: youth -5 M / -1,000 = 5,000 (saving); special visited -5 M / 500 = -10,000
#   (dominant); insured: no difference at all: undefined.
# ``binding`` gives each scenario's (money, hands) shares of county-months, not differences.

HAND_SEEDS = (1, 2, 3)
HAND_ELIGIBLE = {"youth_education": 100_000.0, "special_visited": 10_000.0, "special_insured": 10_000.0}
HAND_PROVENANCE = {"coverage.youth_education": "predicted", "coverage.special_visited": "predicted",
                   "coverage.special_insured": "input", "reported.youth_lectures": "calibrated",
                   "execution_rate": "calibrated"}
RAISED, PERSONNEL = 216e6, 200e6
HAND_BASE = {"cost": (500e6, 510e6, 520e6), "youth_education": (20_000, 21_000, 22_000),
             "special_visited": (8_000, 8_100, 8_200), "special_insured": (9_000, 9_000, 9_000),
             "binding": (0.5, 0.25)}
HAND_DELTA = {
    "budget_plus_20": {"cost": (10e6, 12e6, 14e6), "youth_education": (1_000, 3_000, 2_000),
                       "special_visited": (-100, 50, 200), "special_insured": (300, 300, 300),
                       "binding": (0.25, 0.5)},
    "budget_cut_20": {"cost": (-5e6,) * 3, "youth_education": (-1_000,) * 3, "special_visited": (500,) * 3,
                      "special_insured": (0,) * 3, "binding": (0.75, 0.0)},
}
HAND_COST_PER_FAMILY = {  # (scenario, indicator) -> (yuan, note prefix)
    ("budget_plus_20", "youth_education"): (6_000.0, ""),
    ("budget_plus_20", "special_visited"): (float("nan"), "undefined"),
    ("budget_plus_20", "special_insured"): (40_000.0, ""),
    ("budget_cut_20", "youth_education"): (5_000.0, "saving"),
    ("budget_cut_20", "special_visited"): (-10_000.0, "dominant"),
    ("budget_cut_20", "special_insured"): (float("nan"), "undefined"),
}


def hand_summary(scenario: str, seed: int, *, cost: float, reached: dict[str, float],
                 binding: tuple[float, float] = (0.5, 0.25)) -> dict:
    """A run summary with the keys :mod:`sim.runs` reads for :mod:`sim.compare` and :mod:`sim.report`."""
    families = sum(reached.values())
    return {
        "status": "ok", "scenario": scenario, "seed": seed, "scale": 0.01, "months": 12,
        "coverage": {k: reached[k] / HAND_ELIGIBLE[k] for k in HAND_ELIGIBLE},
        "coverage_counts": {k: {"reached": float(reached[k]), "eligible": HAND_ELIGIBLE[k]} for k in HAND_ELIGIBLE},
        "reported": {"youth_lectures": 10_000.0},
        "provenance": dict(HAND_PROVENANCE),
        "spend_yuan": {"total": cost - PERSONNEL},
        "cost": {"by_pot": {"association": cost - RAISED - PERSONNEL, "raised": RAISED, "personnel": PERSONNEL},
                 "by_use": {"visits": RAISED, "staff_posts": PERSONNEL, "youth_lectures": cost - RAISED - PERSONNEL},
                 "total_yuan": cost},
        "execution_rate": 0.9, "families_reached": families, "cost_per_family_reached_yuan": cost / families,
        "binding": {"money": binding[0], "hands": binding[1], "by_activity": {}},
        "hands": {"staff": {"available_hours": 1000.0, "used_hours": 500.0, "used_share": 0.5, "by_activity": {}}},
        "volunteers": {"start": 100, "end": 90, "recruited": 5, "left": 15},
        "runtime_s": 1.0, "package_version": "0.1.0", "git_commit": "abcdef1234567890",
        "config_hash": f"{scenario}-{seed}",
    }


def write_hand_run(root: Path, name: str, summary: dict, overrides: dict | None = None) -> Path:
    """A run folder holding ``.hydra/overrides.yaml`` and ``summary.json`` (nothing else)."""
    import json

    d = root / name
    (d / ".hydra").mkdir(parents=True)
    ov = {"scenario": summary["scenario"], "seed": summary["seed"], **(overrides or {})}
    (d / ".hydra" / "overrides.yaml").write_text("".join(f"- {k}={v}\n" for k, v in ov.items()))
    (d / "summary.json").write_text(json.dumps(summary))
    return d


def hand_built_runs(root: Path) -> Path:
    """Write the hand-built scenario runs of the table above under ``root``; returns ``root``."""
    for k, seed in enumerate(HAND_SEEDS):
        base = {key: HAND_BASE[key][k] for key in HAND_ELIGIBLE}
        write_hand_run(root, f"baseline_2021-{seed}", hand_summary(
            "baseline_2021", seed, cost=HAND_BASE["cost"][k], reached=base, binding=HAND_BASE["binding"]))
        for scen, delta in HAND_DELTA.items():
            reached = {key: base[key] + delta[key][k] for key in HAND_ELIGIBLE}
            write_hand_run(root, f"{scen}-{seed}", hand_summary(
                scen, seed, cost=HAND_BASE["cost"][k] + delta["cost"][k], reached=reached, binding=delta["binding"]))
    return root


HAND_COUNTIES = pd.DataFrame({
    "county_code": [430102, 430103, 430104, 430105, 430111],
    "money_bound_month_share": [0.5, 0.5, 0.25, 0.0, 0.75],
    "hands_bound_month_share": [0.5, 0.0, 0.75, 0.25, 0.4999],
})
"""Binding shares of five counties, and their class at the default threshold (0.5):"""
HAND_COUNTY_CLASSES = {430102: "bind_both", 430103: "bind_money", 430104: "bind_hands", 430105: "bind_none",
                       430111: "bind_money"}


# --------------------------------------------------------------------------- one region
# Runs for the memo of one region (tests/test_report_region.py), made with the real command: the
# scenario sweep of the province (:func:`outputs`) and, beside it, a run of Changsha alone.
CHANGSHA = 430100


@dataclass(frozen=True)
class RegionOutputs:
    root: Path
    env: dict
    province: Path
    """Sweep folder: :data:`SCENARIOS` x :data:`SEEDS` of the whole province at :data:`SCALE`
    (:attr:`Outputs.scenarios`)."""
    alone: Path
    """A run of Changsha alone (``region=changsha``, baseline_2021, seed 1, the same scale)."""


_REGION_OUTPUTS: RegionOutputs | None = None


def region_summary(code: int) -> dict:
    """The ``region`` entry of a region run's ``summary.json`` (:meth:`sim.region.Region.summary`),
    without its villages and ties (0), for runs written by hand."""
    from sim.admin import load_admin
    from sim.region import resolve_region

    spec = resolve_region(str(code))
    codes = load_admin().counties["code"].to_numpy()[list(spec.counties)]
    return {"kind": spec.kind, "code": spec.code, "name_zh": spec.name_zh, "name_en": spec.name_en,
            "counties": [int(c) for c in codes], "villages": 0, "ties_kept": 0, "ties_cut": 0,
            "share_special": 0.0, "share_digital": 0.0}


def region_outputs(tmp_path_factory) -> RegionOutputs:
    """The province sweep of :func:`outputs` and a run of Changsha alone (about 2 s more), once per
    process."""
    global _REGION_OUTPUTS
    if _REGION_OUTPUTS is not None:
        return _REGION_OUTPUTS
    o = outputs(tmp_path_factory)
    alone = o.root / "changsha-alone"
    cmd = [sys.executable, "-m", "sim", "region=changsha", "seed=1", f"population.scale={SCALE}",
           f"hydra.run.dir={alone}"]
    r = subprocess.run(cmd, cwd=o.root, env=o.env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{cmd}\n{r.stdout}\n{r.stderr}"
    _REGION_OUTPUTS = RegionOutputs(o.root, o.env, o.scenarios, alone)
    return _REGION_OUTPUTS


def chromium_screenshot(html: Path, tmp_path: Path, width: int, height: int):
    """Screenshot (RGBA array, height x width) of ``html`` in headless Chromium, offline; skips
    when Chromium is not on PATH (the ``requires_system`` marker makes that a failure in CI)."""
    import matplotlib.image as mpimg

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not on PATH (Debian: apt-get install chromium)")
    shot = tmp_path / "memo.png"
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={width},{height}", f"--screenshot={shot}",
           html.resolve().as_uri()]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and shot.is_file(), r.stderr[-2000:]
    img = mpimg.imread(shot)
    assert img.shape[:2] == (height, width)
    assert img[..., :3].std() > 0.05, "the screenshot is blank"
    return img
