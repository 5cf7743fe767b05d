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
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

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

    from sim.compare import compare, runs_table
    from sim.report import run_tables

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
