"""Benchmark of the engine: province build, 12-month runs, a plain-Mesa reference, a numpy lower
bound (issue #7), and the overhead of a 100-job sweep (issue #6).

Usage::

    python -m sim.bench            # everything, scales 0.01, 0.1 and 1.0 (about 2 minutes)
    python -m sim.bench --quick    # the same with fewer repeats (about 1 minute)
    python -m sim.bench --sweep    # 100-job sweep, joblib and basic launchers (about 3 minutes)
    python -m sim.bench --against REV   # full-scale year: this code against git revision REV
    python -m sim.bench --batch    # many runs: the batch runner against Hydra multirun (about 2 minutes)
    python -m sim.bench --batch --sobol   # ... and a Sobol analysis of 8 parameters, N = 256, scale 0.02

Every measurement runs in a fresh process (``python -m sim.bench --child KIND ARGS``), so its
peak resident set size (``ru_maxrss`` of the child) is its own; times are medians over repeated
processes. What is measured:

* **province build**: ``build_province`` into a fresh, empty cache folder (cold: builds and
  writes the cache) and again from that cache (hit);
* **run**: ``baseline_2021`` (composed as ``outreach-sim scenario=baseline_2021`` composes it),
  12 months, seed 1, province loaded from a warm cache first and not timed. Wall time is the
  model's construction plus its 12 steps (the ``timing.model_s`` of a run's ``summary.json``);
  a *family-step* is one simulated family advanced by one month; peak RSS is the whole process
  (imports, province and model);
* **plain-Mesa reference** (``experiments/mesa_reference.py``): the diffusion submodel of
  MODEL.md section 6 with one ``mesa.Agent`` per family and ``shuffle_do("step")``, against the
  same submodel run by the engine's functions (:func:`vectorized_diffusion`: one topic,
  ``health`` with its initial 30 % aware, no activities), same province, parameters, seed and
  initial awareness. Family-steps per second count the monthly steps only (not building the
  agents or arrays); the ratio is vectorized / Mesa on the same province, and the vectorized
  submodel is also timed at full scale;
* **numpy lower bound** of one month at full scale: for each of the 3 topics, one float32
  uniform per family (PCG64, the engine's generator, into a reused buffer), one float32
  ``exp`` of a per-family hazard (into a reused buffer) and one village aggregation of the
  aware flags (``np.add.reduceat`` over families sorted by village, as
  :func:`sim.diffusion.per_village_sum` does it); the median of 7 months after a warm-up.
  The engine's time per month is the full-scale run's wall time / 12;
* **sweep** (``--sweep``): ``outreach-sim -m`` over 5 scenarios x 20 seeds at scale 0.05 with
  the default joblib launcher and with ``hydra/launcher=basic``: wall time, speed-up, per-job
  overhead ``wall * workers / jobs - mean(model_s)`` and mean ``province_s``, and the variance
  ratio ``var(b - a) / (var(a) + var(b))`` of paired seeds, ``budget_plus_20`` vs
  ``baseline_2021``, on a few indicators.

* **many runs** (``--batch``, issue #14): at scale 0.02, the model alone (construction, 12 steps
  and the summary, in this process: median of 5), a Hydra multirun of 6 jobs (3 scenarios x 2
  seeds, joblib launcher), the batch runner (:mod:`sim.batch`) on 120 runs of the same 3
  scenarios (2 joblib workers; their start-up is part of the overhead), and re-running each when
  complete: the batch's resume in this process and as the whole ``outreach-sim-sensitivity``
  command, and Hydra's re-run of the complete multirun. Runs per minute of each, their ratio
  (target: batch >= 5x Hydra), and the batch's overhead per run, ``(wall x workers - the
  model's own seconds in the workers) / runs`` (target: <= 0.1 s; it holds worker start-up,
  imports, loading the province, sending chunks, writing parts and idle workers at the end),
  also shown against the model alone in this process (which a busy machine inflates). With
  ``--sobol``: ``outreach-sim-sensitivity --method sobol --n 256`` on the 8 default parameters
  of the uncertainty file, baseline only (2,560 runs; target: <= 20 minutes). Writes
  ``results/bench/batch.json``.

* **one region** (``--region``, issue #16): a year of 长沙市 Changsha alone against the whole
  province, both at scale 0.2, seed 1, alternately, 3 times each, in this process after one
  untimed run of each (which builds the province into a temporary cache). Each time holds what a run does before
  writing its files: the province loaded (and cut, for the region), the model built, 12 months
  and the summary. Medians, and the ratio province / region (target: >= 3). Writes
  ``results/bench/region.json``.

* **against a revision** (``--against REV``): the full-scale 12-month run of this code and of git
  revision ``REV`` (checked out into a temporary worktree and run by its own ``sim.bench`` child,
  same interpreter and warm province cache), alternately, ``--repeats`` times each; medians, the
  ratio this / REV (target: at most 1.5) and both peaks (target: at most 2 GB for this code);
  written to ``results/bench/against.json``.

Prints tables and PASS/FAIL per target, writes ``results/bench/bench.json`` (``bench-quick.json``
with ``--quick``) or ``results/bench/sweep.json``, and exits with status 1 when a target fails.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "results" / "bench"
MESA_REFERENCE = ROOT / "experiments" / "mesa_reference.py"

TARGETS = {
    "full_scale_seconds": 30.0,
    "full_scale_peak_mb": 8 * 1024.0,
    "scale_0.1_seconds": 3.0,
    "mesa_speedup": 100.0,
    "lower_bound_ratio": 3.0,
    "sweep_seconds": 300.0,
    "sweep_overhead_seconds": 2.0,
}

TOPICS_LB = 3
"""Topics in the lower bound (policy, health, youth)."""

SWEEP_SCENARIOS = ("baseline_2021", "budget_plus_20", "budget_cut_20", "digital_first", "need_based")
SWEEP_SEEDS = 20
SWEEP_SCALE = 0.05
PAIRED_INDICATORS = ("coverage.youth_education", "coverage.family_health", "coverage.policy_awareness",
                     "coverage.special_visited", "families_reached")


# ---------------------------------------------------------------- what is measured (in a child)


def peak_mb() -> float:
    """Peak resident set size of this process so far (MB)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 2**20 if sys.platform == "darwin" else kb / 1024


def run_config(scale: float, cache_dir: str, *, seed: int = 1, months: int = 12):
    """``baseline_2021`` at ``scale``, composed as the ``outreach-sim`` command composes it."""
    from sim.compose import compose_run_config
    from sim.errors import UserError

    try:
        return compose_run_config(["scenario=baseline_2021", f"population.scale={scale}", f"seed={seed}",
                                   f"months={months}", "progress=false", f"population.cache_dir={cache_dir}"])
    except UserError as e:
        raise SystemExit(f"cannot compose the benchmark config: {e}") from None


def initial_aware(n: int, share: float, seed: int) -> np.ndarray:
    """The starting awareness shared by the Mesa reference and the vectorized submodel."""
    from sim.rng import stream

    return stream(seed, "bench.initial_aware").random(n, dtype=np.float32) < share


def vectorized_diffusion(province, diffusion, aware: np.ndarray, *, seed: int, months: int,
                         q: float | None = None) -> tuple[list[float], list[float]]:
    """The engine's diffusion submodel alone (MODEL.md section 6, one topic, no activities).

    Each month: ``a_v`` from the start-of-month awareness, ``w_v`` through the village network,
    one float32 uniform per family from stream ``diffusion.health`` and
    :func:`sim.diffusion.step_topic`.

    Returns:
        (aware share after each month, seconds of each month). ``aware`` is not changed.
    """
    from sim.diffusion import contact_share, network_degree, step_topic, village_aware_share
    from sim.rng import stream

    f = province.families
    aware = aware.copy()
    village_digital = f.village * 2
    village_digital += f.digital
    families_v = np.diff(f.village_start)
    degree = network_degree(province.network)
    nobody = np.empty(0, np.int64)
    q = diffusion.q if q is None else q
    shares, seconds = [], []
    for month in range(1, months + 1):
        t0 = time.perf_counter()
        a_v = village_aware_share(aware, f.village_start)
        w_v = contact_share(a_v, province.network, diffusion.theta, families_v, degree)
        u = stream(seed, "diffusion.health", month).random(f.n, dtype=np.float32)
        step_topic(aware, u, village_digital, w_v, diffusion.p_ext, q, nobody, 0.0)
        seconds.append(time.perf_counter() - t0)
        shares.append(np.count_nonzero(aware) / max(f.n, 1))
    return shares, seconds


def load_mesa_reference():
    """``experiments/mesa_reference.py`` as a module (``experiments`` is not a package)."""
    spec = importlib.util.spec_from_file_location("mesa_reference", MESA_REFERENCE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["mesa_reference"] = module
    spec.loader.exec_module(module)
    return module


def mesa_diffusion(province, diffusion, aware: np.ndarray, *, seed: int, months: int,
                   q: float | None = None) -> tuple[list[float], float, float]:
    """The plain-Mesa reference on a province: (aware share after each month, seconds to build
    the agents, seconds of the monthly steps)."""
    ref = load_mesa_reference()
    t0 = time.perf_counter()
    model = ref.from_province(province, diffusion, aware, seed=seed, q=q)
    t1 = time.perf_counter()
    for _ in range(months):
        model.step()
    t2 = time.perf_counter()
    shares = model.datacollector.get_model_vars_dataframe()["aware_share"].tolist()
    return shares, t1 - t0, t2 - t1


def lower_bound(province, *, repeats: int = 7, seed: int = 1) -> dict:
    """Seconds of the bare per-family work of one month (see the module docstring)."""
    from sim.diffusion import per_village_sum
    from sim.rng import stream

    f = province.families
    n = f.n
    u = np.empty(n, dtype=np.float32)
    p = np.empty(n, dtype=np.float32)
    hazard = -(stream(seed, "bench.hazard").random(n, dtype=np.float32) * np.float32(0.5))
    aware = initial_aware(n, 0.3, seed)
    parts = {"draw": [], "exp": [], "aggregate": []}
    months = []
    for month in range(repeats + 1):  # the first month is a warm-up (first touch of the buffers)
        spent = dict.fromkeys(parts, 0.0)
        for k in range(TOPICS_LB):
            t0 = time.perf_counter()
            stream(seed, f"bench.lower_bound.{k}", month).random(dtype=np.float32, out=u)
            t1 = time.perf_counter()
            np.exp(hazard, out=p)
            t2 = time.perf_counter()
            per_village_sum(aware, f.village_start)
            t3 = time.perf_counter()
            spent["draw"] += t1 - t0
            spent["exp"] += t2 - t1
            spent["aggregate"] += t3 - t2
        if month:
            months.append(sum(spent.values()))
            for k, v in spent.items():
                parts[k].append(v)
    return {"month_seconds": statistics.median(months), "month_seconds_min": min(months),
            "parts_seconds": {k: statistics.median(v) for k, v in parts.items()}, "repeats": repeats}


def child(kind: str, a: dict) -> dict:
    """One measurement in this (fresh) process; returns one JSON-able row."""
    from sim.config import NetworkConfig, PopulationConfig
    from sim.province import build_province

    if kind == "province":
        pop = PopulationConfig(scale=a["scale"], cache_dir=a["cache_dir"], use_cache=True)
        t0 = time.perf_counter()
        p = build_province(pop, NetworkConfig(), progress=False)
        seconds = time.perf_counter() - t0
        if "expect_hit" in a and p.cache_hit != a["expect_hit"]:
            raise SystemExit(f"expected cache_hit={a['expect_hit']}, got {p.cache_hit} in {a['cache_dir']}")
        return {"scale": a["scale"], "cache_hit": p.cache_hit, "seconds": seconds, "peak_mb": peak_mb(),
                "n_families": int(p.families.n)}

    cfg = run_config(a["scale"], a["cache_dir"], seed=a.get("seed", 1), months=a.get("months", 12))
    province = build_province(cfg.population, cfg.network, progress=False)
    if not province.cache_hit:
        raise SystemExit(f"the province at scale {a['scale']} is not in the warm cache {a['cache_dir']}")
    n = int(province.families.n)
    row = {"scale": a["scale"], "n_families": n}

    if kind == "run":
        from sim.model import OutreachModel

        t0 = time.perf_counter()
        model = OutreachModel(cfg, province)
        t1 = time.perf_counter()
        month_s = []
        while model.month < cfg.months:
            ts = time.perf_counter()
            model.step()
            month_s.append(time.perf_counter() - ts)
        t2 = time.perf_counter()
        return row | {"months": cfg.months, "seconds": t2 - t0, "construct_seconds": t1 - t0,
                      "steps_seconds": t2 - t1, "month_seconds": month_s,
                      "family_steps_per_s": n * cfg.months / (t2 - t0), "peak_mb": peak_mb()}
    if kind == "lower_bound":
        return row | lower_bound(province, repeats=a.get("repeats", 7)) | {"peak_mb": peak_mb()}

    d = cfg.diffusion
    aware = initial_aware(n, d.initial_health_aware, cfg.seed)
    if kind == "vectorized":
        t0 = time.perf_counter()
        shares, month_s = vectorized_diffusion(province, d, aware, seed=cfg.seed, months=cfg.months)
        steps = sum(month_s)
        return row | {"months": cfg.months, "setup_seconds": time.perf_counter() - t0 - steps,
                      "steps_seconds": steps, "family_steps_per_s": n * cfg.months / steps,
                      "aware_share": shares, "peak_mb": peak_mb()}
    if kind == "mesa":
        shares, setup, steps = mesa_diffusion(province, d, aware, seed=cfg.seed, months=cfg.months)
        return row | {"months": cfg.months, "setup_seconds": setup, "steps_seconds": steps,
                      "family_steps_per_s": n * cfg.months / steps, "aware_share": shares,
                      "peak_mb": peak_mb()}
    raise SystemExit(f"{kind!r} is not a benchmark kind; it must be one of "
                     f"['province', 'run', 'lower_bound', 'vectorized', 'mesa']")


# ---------------------------------------------------------------- the parent


def measure(kind: str, *, code: Path = ROOT, **args) -> dict:
    """Run one child process (of the code in folder ``code``); its JSON row plus the process's
    own wall time."""
    cmd = [sys.executable, "-m", "sim.bench", "--child", kind, json.dumps(args)]
    t0 = time.perf_counter()
    env = os.environ | {"PYTHONHASHSEED": "0"}
    if code != ROOT:
        env["PYTHONPATH"] = str(code)
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=code, env=env)
    if res.returncode != 0:
        sys.stderr.write(res.stderr)
        raise SystemExit(f"benchmark child failed ({res.returncode}): {' '.join(cmd)}")
    return json.loads(res.stdout.strip().splitlines()[-1]) | {"process_seconds": time.perf_counter() - t0}


def note(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def bench_province(scale: float, cold: int, hit: int, tmp: Path, warm: Path) -> dict:
    """Cold builds into fresh folders, then cache hits; the last cold build joins ``warm``."""
    cold_rows, hit_rows, last = [], [], None
    for i in range(cold):
        last = tmp / f"cold-{scale}-{i}"
        last.mkdir()
        cold_rows.append(measure("province", scale=scale, cache_dir=str(last), expect_hit=False))
        note(f"  province {scale}: cold {i + 1}/{cold}: {cold_rows[-1]['seconds']:.2f} s")
    for i in range(hit):
        hit_rows.append(measure("province", scale=scale, cache_dir=str(last), expect_hit=True))
        note(f"  province {scale}: hit {i + 1}/{hit}: {hit_rows[-1]['seconds']:.3f} s")
    for entry in last.iterdir():
        shutil.move(str(entry), warm / entry.name)
    cold_s = statistics.median(r["seconds"] for r in cold_rows)
    hit_s = statistics.median(r["seconds"] for r in hit_rows) if hit_rows else None
    return {"scale": scale, "n_families": cold_rows[0]["n_families"], "cold_seconds": cold_s,
            "cold_peak_mb": max(r["peak_mb"] for r in cold_rows), "hit_seconds": hit_s,
            "hit_peak_mb": max(r["peak_mb"] for r in hit_rows) if hit_rows else None,
            "cache_speedup": cold_s / hit_s if hit_s else None, "cold_runs": cold_rows, "hit_runs": hit_rows}


def bench_runs(scale: float, repeats: int, warm: Path) -> dict:
    rows = []
    for i in range(repeats):
        rows.append(measure("run", scale=scale, cache_dir=str(warm)))
        note(f"  run {scale}: {i + 1}/{repeats}: {rows[-1]['seconds']:.2f} s, {rows[-1]['peak_mb']:.0f} MB")
    wall = [r["seconds"] for r in rows]
    return {"scale": scale, "n_families": rows[0]["n_families"], "months": rows[0]["months"],
            "repeats": repeats, "seconds": statistics.median(wall), "seconds_min": min(wall),
            "seconds_max": max(wall),
            "construct_seconds": statistics.median(r["construct_seconds"] for r in rows),
            "steps_seconds": statistics.median(r["steps_seconds"] for r in rows),
            "family_steps_per_s": rows[0]["n_families"] * rows[0]["months"] / statistics.median(wall),
            "peak_mb": max(r["peak_mb"] for r in rows), "runs": rows}


def bench_mesa(scale: float, months: int, vec_repeats: int, warm: Path, full_scale: bool) -> dict:
    mesa = measure("mesa", scale=scale, cache_dir=str(warm), months=months)
    note(f"  Mesa reference {scale}: {mesa['steps_seconds']:.2f} s for {months} months")
    vec = [measure("vectorized", scale=scale, cache_dir=str(warm), months=months) for _ in range(vec_repeats)]
    vec_fsps = statistics.median(r["family_steps_per_s"] for r in vec)
    out = {"scale": scale, "months": months, "n_families": mesa["n_families"], "mesa": mesa,
           "vectorized": vec, "mesa_family_steps_per_s": mesa["family_steps_per_s"],
           "vectorized_family_steps_per_s": vec_fsps, "speedup": vec_fsps / mesa["family_steps_per_s"],
           "max_share_difference": max(abs(x - y) for x, y in zip(mesa["aware_share"], vec[0]["aware_share"],
                                                                   strict=True))}
    if full_scale:
        full = measure("vectorized", scale=1.0, cache_dir=str(warm), months=months)
        out |= {"vectorized_full_scale": full,
                "speedup_full_scale": full["family_steps_per_s"] / mesa["family_steps_per_s"]}
    return out


def checks_for(r: dict) -> list[dict]:
    """PASS/FAIL of each target that was measured."""
    out = []

    def add(target, value, unit, ok):
        out.append({"target": target, "value": value, "unit": unit, "ok": bool(ok)})

    runs = {x["scale"]: x for x in r.get("runs", [])}
    if 1.0 in runs:
        add(f"full scale, 12 months <= {TARGETS['full_scale_seconds']:g} s", runs[1.0]["seconds"], "s",
            runs[1.0]["seconds"] <= TARGETS["full_scale_seconds"])
        add(f"full scale peak RSS <= {TARGETS['full_scale_peak_mb'] / 1024:g} GB", runs[1.0]["peak_mb"], "MB",
            runs[1.0]["peak_mb"] <= TARGETS["full_scale_peak_mb"])
    if 0.1 in runs:
        add(f"scale 0.1, 12 months <= {TARGETS['scale_0.1_seconds']:g} s", runs[0.1]["seconds"], "s",
            runs[0.1]["seconds"] <= TARGETS["scale_0.1_seconds"])
    if "mesa" in r:
        m = r["mesa"]
        add(f">= {TARGETS['mesa_speedup']:g}x plain Mesa (family-steps/s, scale {m['scale']})", m["speedup"], "x",
            m["speedup"] >= TARGETS["mesa_speedup"])
    lb = r.get("lower_bound")
    if lb and lb["scale"] == 1.0:
        add(f"full scale within {TARGETS['lower_bound_ratio']:g}x of the numpy lower bound", lb["ratio"], "x",
            lb["ratio"] <= TARGETS["lower_bound_ratio"])
    return out


def format_checks(checks: list[dict]) -> list[str]:
    fmt = {"s": "{:.2f} s", "MB": "{:,.0f} MB", "x": "{:.1f}x"}
    return [f"{'PASS' if c['ok'] else 'FAIL'}  {c['target']:<58} ({fmt[c['unit']].format(c['value'])})"
            for c in checks]


def table(r: dict) -> str:
    lines = []
    if r.get("province"):
        head = (f"{'province build':<16}{'scale':>6}  {'families':>11}  {'cold s':>7}  {'cold MB':>8}"
                f"  {'hit s':>7}  {'hit MB':>7}  {'speed-up':>8}  {'runs':>6}")
        lines += [head, "-" * len(head)]
        for p in r["province"]:
            lines.append(f"{'':<16}{p['scale']:>6}  {p['n_families']:>11,}  {p['cold_seconds']:>7.2f}  "
                         f"{p['cold_peak_mb']:>8,.0f}  {p['hit_seconds']:>7.3f}  {p['hit_peak_mb']:>7,.0f}  "
                         f"{p['cache_speedup']:>7.1f}x  {len(p['cold_runs'])}+{len(p['hit_runs']):<4}")
        lines.append("")
    if r.get("runs"):
        head = (f"{'baseline_2021':<16}{'scale':>6}  {'families':>11}  {'wall s':>7}  {'min-max s':>11}"
                f"  {'build s':>7}  {'s/month':>7}  {'family-steps/s':>14}  {'peak MB':>8}  {'runs':>4}")
        lines += [head, "-" * len(head)]
        for x in r["runs"]:
            lines.append(f"{'12 months':<16}{x['scale']:>6}  {x['n_families']:>11,}  {x['seconds']:>7.2f}  "
                         f"{x['seconds_min']:>5.2f}-{x['seconds_max']:<5.2f}  {x['construct_seconds']:>7.2f}  "
                         f"{x['seconds'] / x['months']:>7.3f}  {x['family_steps_per_s']:>14,.0f}  "
                         f"{x['peak_mb']:>8,.0f}  {x['repeats']:>4}")
        lines.append("   (wall = model construction + 12 steps; build = construction alone; "
                     "province loaded from a warm cache, not timed)")
        lines.append("")
    lb = r.get("lower_bound")
    if lb:
        parts = lb["parts_seconds"]
        lines.append(f"numpy lower bound, one month at scale {lb['scale']} ({lb['n_families']:,} families, "
                     f"{TOPICS_LB} topics): {lb['month_seconds'] * 1000:.0f} ms  "
                     f"(draws {parts['draw'] * 1000:.0f}, exp {parts['exp'] * 1000:.0f}, "
                     f"village sums {parts['aggregate'] * 1000:.0f} ms)")
        lines.append(f"engine, one month at scale {lb['scale']} (run wall / 12): "
                     f"{lb['engine_month_seconds'] * 1000:.0f} ms  ->  {lb['ratio']:.2f}x the lower bound "
                     f"({lb['ratio_steps_only']:.2f}x counting the 12 steps only)")
        lines.append("")
    m = r.get("mesa")
    if m:
        lines.append(f"diffusion submodel only, {m['months']} months, scale {m['scale']} "
                     f"({m['n_families']:,} families, same province, seed and initial awareness):")
        lines.append(f"  plain Mesa (one Agent per family, shuffle_do): {m['mesa_family_steps_per_s']:>14,.0f} "
                     f"family-steps/s  (steps {m['mesa']['steps_seconds']:.2f} s, "
                     f"building the agents {m['mesa']['setup_seconds']:.2f} s)")
        lines.append(f"  vectorized (sim.diffusion):                     {m['vectorized_family_steps_per_s']:>14,.0f} "
                     f"family-steps/s  ->  {m['speedup']:,.0f}x Mesa")
        if "vectorized_full_scale" in m:
            v = m["vectorized_full_scale"]
            lines.append(f"  vectorized at full scale ({v['n_families']:,} families): "
                         f"{v['family_steps_per_s']:>14,.0f} family-steps/s  ->  {m['speedup_full_scale']:,.0f}x Mesa")
        runs = {x["scale"]: x for x in r.get("runs", [])}
        if 1.0 in runs:
            fs = runs[1.0]["family_steps_per_s"]
            lines.append(f"  whole engine (every submodel) at full scale:    {fs:>14,.0f} "
                         f"family-steps/s  ->  {fs / m['mesa_family_steps_per_s']:,.0f}x Mesa (diffusion only)")
        lines.append(f"  largest monthly aware-share difference, Mesa vs vectorized: {m['max_share_difference']:.4f}")
        lines.append("")
    lines += format_checks(r["checks"])
    return "\n".join(lines)


def machine() -> dict:
    import mesa
    import scipy

    return {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "mesa": mesa.__version__, "platform": platform.platform(), "cpus": os.cpu_count()}


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             check=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def write(name: str, payload: dict) -> Path:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / name
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def bench(quick: bool) -> int:
    """The engine benchmark (everything but the sweep)."""
    if quick:
        plan = {"province": [(0.1, 1, 2), (1.0, 1, 1)], "runs": [(0.01, 3), (0.1, 3), (1.0, 1)],
                "lower_bound": 1.0, "mesa": (0.01, 6, 3), "mesa_full_scale": False}
    else:
        plan = {"province": [(0.1, 3, 3), (1.0, 2, 3)], "runs": [(0.01, 5), (0.1, 5), (1.0, 5)],
                "lower_bound": 1.0, "mesa": (0.01, 12, 3), "mesa_full_scale": True}
    t_start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="outreach-bench-"))
    warm = tmp / "warm"
    warm.mkdir()
    r: dict = {"benchmark": "engine (issue #7)", "quick": quick, "targets": TARGETS}
    try:
        note("province build (cold into a fresh cache folder, then cache hits):")
        r["province"] = [bench_province(s, c, h, tmp, warm) for s, c, h in plan["province"]]
        built = {p["scale"] for p in r["province"]}
        for s in sorted({s for s, _ in plan["runs"]} | {plan["mesa"][0]} - built):
            measure("province", scale=s, cache_dir=str(warm))  # warm the cache; not timed
        note("12-month baseline_2021 runs:")
        r["runs"] = [bench_runs(s, n, warm) for s, n in plan["runs"]]
        note("numpy lower bound:")
        lb = measure("lower_bound", scale=plan["lower_bound"], cache_dir=str(warm))
        run = next(x for x in r["runs"] if x["scale"] == plan["lower_bound"])
        lb["engine_month_seconds"] = run["seconds"] / run["months"]
        lb["ratio"] = lb["engine_month_seconds"] / lb["month_seconds"]
        lb["ratio_steps_only"] = run["steps_seconds"] / run["months"] / lb["month_seconds"]
        r["lower_bound"] = lb
        note("plain-Mesa reference and the vectorized diffusion submodel:")
        scale, months, vec_repeats = plan["mesa"]
        r["mesa"] = bench_mesa(scale, months, vec_repeats, warm, plan["mesa_full_scale"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r["checks"] = checks_for(r)
    r["all_pass"] = all(c["ok"] for c in r["checks"])
    r |= {"date": datetime.now(UTC).isoformat(timespec="seconds"), "commit": git_commit(),
          "machine": machine(), "total_seconds": time.perf_counter() - t_start}
    print(table(r))
    path = write("bench-quick.json" if quick else "bench.json", r)
    print(f"\nwrote {path.relative_to(ROOT)} in {r['total_seconds']:.0f} s")
    return 0 if r["all_pass"] else 1


# ---------------------------------------------------------------- the sweep (issue #6)


def _get(d: dict, dotted: str):
    for k in dotted.split("."):
        d = d[k]
    return d


def paired_variance_ratio(a: dict[int, float], b: dict[int, float]) -> dict:
    """``var(b - a) / (var(a) + var(b))`` over the seeds both arms ran (1 = no gain from pairing)."""
    seeds = sorted(set(a) & set(b))
    x = np.array([a[s] for s in seeds])
    y = np.array([b[s] for s in seeds])
    denom = x.var(ddof=1) + y.var(ddof=1) if len(seeds) > 1 else 0.0
    ratio = float((y - x).var(ddof=1) / denom) if denom > 0 else None
    return {"seeds": len(seeds), "mean_a": float(x.mean()) if len(x) else None,
            "mean_b": float(y.mean()) if len(y) else None,
            "var_paired": float((y - x).var(ddof=1)) if len(x) > 1 else None,
            "var_unpaired": float(denom), "ratio": ratio}


def run_sweep(launcher: str, sweep_dir: Path, cache: Path) -> dict:
    from sim.runs import read_summary
    from sim.sweep import job_dirs

    cmd = [sys.executable, "-m", "sim", "-m", f"scenario={','.join(SWEEP_SCENARIOS)}",
           f"seed=range(1,{SWEEP_SEEDS + 1})", f"population.scale={SWEEP_SCALE}", "progress=false",
           f"hydra.sweep.dir={sweep_dir}"]
    if launcher == "basic":
        cmd.append("hydra/launcher=basic")
    workers = 1 if launcher == "basic" else os.cpu_count() or 1  # joblib: n_jobs=-1, one per core
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                         env=os.environ | {"OUTREACH_SIM_CACHE": str(cache), "PYTHONHASHSEED": "0"})
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        sys.stderr.write(res.stdout[-3000:] + res.stderr[-3000:])
        raise SystemExit(f"the {launcher} sweep failed ({res.returncode})")
    summaries = [s for s in (read_summary(d) for d in job_dirs(sweep_dir)) if s is not None]
    n = len(summaries)
    model_s = [s["timing"]["model_s"] for s in summaries]
    province_s = [s["timing"]["province_s"] for s in summaries]
    runtime_s = [s["runtime_s"] for s in summaries]
    return {"launcher": launcher, "jobs": n, "workers": workers, "seconds": wall,
            "mean_model_s": statistics.mean(model_s), "mean_province_s": statistics.mean(province_s),
            "mean_runtime_s": statistics.mean(runtime_s),
            "overhead_per_job_s": wall * workers / n - statistics.mean(model_s),
            "summaries": summaries}


def sweep() -> int:
    """The 100-job sweep with the joblib and basic launchers (issue #6's speed requirement)."""
    from sim.config import NetworkConfig, PopulationConfig
    from sim.province import build_province

    t_start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="outreach-bench-sweep-"))
    cache = tmp / "cache"
    try:
        build_province(PopulationConfig(scale=SWEEP_SCALE, cache_dir=str(cache)), NetworkConfig(), progress=False)
        out = {}
        for launcher in ("joblib", "basic"):
            note(f"sweep with the {launcher} launcher ({len(SWEEP_SCENARIOS)} scenarios x {SWEEP_SEEDS} seeds, "
                 f"scale {SWEEP_SCALE}) ...")
            out[launcher] = run_sweep(launcher, tmp / launcher, cache)
            note(f"  {out[launcher]['seconds']:.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    by = {}
    for s in out["joblib"].pop("summaries"):
        by.setdefault(s["scenario"], {})[s["seed"]] = s
    out["basic"].pop("summaries")
    paired = {ind: paired_variance_ratio({k: _get(v, ind) for k, v in by.get("baseline_2021", {}).items()},
                                         {k: _get(v, ind) for k, v in by.get("budget_plus_20", {}).items()})
              for ind in PAIRED_INDICATORS}
    j, b = out["joblib"], out["basic"]
    checks = [
        {"target": f"100-job joblib sweep <= {TARGETS['sweep_seconds'] / 60:g} minutes", "value": j["seconds"],
         "unit": "s", "ok": j["seconds"] <= TARGETS["sweep_seconds"]},
        {"target": f"per-job overhead (joblib) <= {TARGETS['sweep_overhead_seconds']:g} s",
         "value": j["overhead_per_job_s"], "unit": "s",
         "ok": j["overhead_per_job_s"] <= TARGETS["sweep_overhead_seconds"]},
    ]
    r = {"benchmark": "sweep overhead (issue #6)", "scenarios": SWEEP_SCENARIOS, "seeds": SWEEP_SEEDS,
         "scale": SWEEP_SCALE, "joblib": j, "basic": b, "speedup_joblib_vs_basic": b["seconds"] / j["seconds"],
         "paired_variance_ratio": {"a": "baseline_2021", "b": "budget_plus_20", "indicators": paired},
         "targets": {k: TARGETS[k] for k in ("sweep_seconds", "sweep_overhead_seconds")}, "checks": checks,
         "all_pass": all(c["ok"] for c in checks), "date": datetime.now(UTC).isoformat(timespec="seconds"),
         "commit": git_commit(), "machine": machine(), "total_seconds": time.perf_counter() - t_start}
    head = (f"{'launcher':<8}  {'jobs':>4}  {'workers':>7}  {'wall s':>7}  {'model s':>8}  {'province s':>10}"
            f"  {'overhead s/job':>14}")
    lines = [head, "-" * len(head)]
    for x in (j, b):
        lines.append(f"{x['launcher']:<8}  {x['jobs']:>4}  {x['workers']:>7}  {x['seconds']:>7.1f}  "
                     f"{x['mean_model_s']:>8.3f}  {x['mean_province_s']:>10.3f}  {x['overhead_per_job_s']:>14.3f}")
    lines.append(f"joblib is {r['speedup_joblib_vs_basic']:.2f}x faster than basic "
                 f"(overhead per job = wall x workers / jobs - mean model_s)")
    lines.append("")
    lines.append("paired seeds, budget_plus_20 vs baseline_2021: var(b - a) / (var(a) + var(b))")
    for ind, v in paired.items():
        ratio = "n/a" if v["ratio"] is None else f"{v['ratio']:.3f}"
        lines.append(f"  {ind:<28} {ratio:>7}   (means {v['mean_a']:.4g} -> {v['mean_b']:.4g}, {v['seeds']} seeds)")
    lines.append("")
    lines += format_checks(checks)
    print("\n".join(lines))
    path = write("sweep.json", r)
    print(f"\nwrote {path.relative_to(ROOT)} in {r['total_seconds']:.0f} s")
    return 0 if r["all_pass"] else 1


AGAINST_TARGETS = {"ratio": 1.5, "peak_mb": 2048.0}


def against(rev: str, repeats: int, scale: float = 1.0) -> int:
    """The full-scale year of this code against git revision ``rev`` (see the module docstring)."""
    t_start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="outreach-bench-against-"))
    tree = tmp / "tree"
    try:
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), rev], cwd=ROOT, check=True,
                       capture_output=True, text=True)
        commit = subprocess.run(["git", "rev-parse", rev], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        warm = tmp / "warm"
        warm.mkdir()
        note(f"warming the province cache at scale {scale}:")
        measure("province", scale=scale, cache_dir=str(warm))
        rows: dict[str, list[dict]] = {"this": [], "rev": []}
        for i in range(repeats):
            for who, code in (("this", ROOT), ("rev", tree)):
                rows[who].append(measure("run", code=code, scale=scale, cache_dir=str(warm)))
                note(f"  {who} {i + 1}/{repeats}: {rows[who][-1]['seconds']:.2f} s, {rows[who][-1]['peak_mb']:.0f} MB")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    med = {w: statistics.median(r["seconds"] for r in rows[w]) for w in rows}
    peak = {w: max(r["peak_mb"] for r in rows[w]) for w in rows}
    ratio = med["this"] / med["rev"]
    r = {"benchmark": f"full-scale year against {rev}", "scale": scale, "repeats": repeats, "rev": rev,
         "rev_commit": commit, "seconds_this": med["this"], "seconds_rev": med["rev"], "ratio": ratio,
         "peak_mb_this": peak["this"], "peak_mb_rev": peak["rev"], "targets": AGAINST_TARGETS,
         "all_pass": ratio <= AGAINST_TARGETS["ratio"] and peak["this"] <= AGAINST_TARGETS["peak_mb"],
         "runs": rows, "date": datetime.now(UTC).isoformat(timespec="seconds"), "commit": git_commit(),
         "machine": machine(), "total_seconds": time.perf_counter() - t_start}
    print(f"full-scale 12-month baseline_2021, median of {repeats} alternating runs each:")
    print(f"  this code      {med['this']:7.2f} s   peak {peak['this']:6.0f} MB")
    print(f"  {rev[:12]:<14} {med['rev']:7.2f} s   peak {peak['rev']:6.0f} MB")
    print(f"  ratio {ratio:.2f} (target <= {AGAINST_TARGETS['ratio']}) "
          f"{'PASS' if ratio <= AGAINST_TARGETS['ratio'] else 'FAIL'}; peak "
          f"{'PASS' if peak['this'] <= AGAINST_TARGETS['peak_mb'] else 'FAIL'} (<= 2 GB)")
    path = write("against.json", r)
    print(f"\nwrote {path.relative_to(ROOT)} in {r['total_seconds']:.0f} s")
    return 0 if r["all_pass"] else 1


# ---------------------------------------------------------------- many runs (issue #14)
BATCH_SCALE = 0.02
BATCH_SCENARIOS = ("baseline_2021", "budget_plus_20", "need_based")
BATCH_RUNS = 120
"""Runs of the batch measurement: 3 scenarios x 40 seeds, a small analysis's worth (the workers'
start-up, about 2 s each, is part of the overhead and is shared by these runs)."""
BATCH_TARGETS = {"overhead_per_run_s": 0.1, "speedup_vs_hydra": 5.0, "resume_s": 2.0, "sobol_seconds": 20 * 60.0}


def _timed(cmd: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        sys.stderr.write(res.stdout[-2000:] + res.stderr[-3000:])
        raise SystemExit(f"failed ({res.returncode}): {' '.join(cmd)}")
    return wall, res


REGION_BENCH = {"region": "430100", "scale": 0.2, "repeats": 3, "target_ratio": 3.0}


def region_bench() -> int:
    """A year of one region (Changsha) against the whole province (see the module docstring)."""
    spec = REGION_BENCH
    cache = Path(tempfile.mkdtemp(prefix="outreach-bench-region-"))
    try:
        return _region_bench(spec, cache)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def _region_bench(spec: dict, cache: Path) -> int:
    from sim.compose import compose_run_config
    from sim.metrics import summary
    from sim.model import OutreachModel
    from sim.progress import Progress
    from sim.province import province_for

    base = [f"population.scale={spec['scale']}", "progress=false", f"population.cache_dir={cache}"]
    configs = {"province": compose_run_config(base), "region": compose_run_config([*base, f"region={spec['region']}"])}

    def one(cfg) -> tuple[float, dict]:
        t0 = time.perf_counter()
        m = OutreachModel(cfg, province_for(cfg, progress=False)).run()
        s = summary(m)
        return time.perf_counter() - t0, {"families": int(m.f.n), "villages": int(m.v.n), "counties": int(m.n_c),
                                          "youth_education": s["coverage"]["youth_education"]}

    info = {k: one(cfg)[1] for k, cfg in configs.items()}  # untimed: the province built and cached, imports done
    times: dict[str, list[float]] = {k: [] for k in configs}
    with Progress("region against province", spec["repeats"] * 2) as bar:
        for _ in range(spec["repeats"]):
            for k, cfg in configs.items():
                times[k].append(one(cfg)[0])
                bar.step(k)
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["province"] / med["region"]
    ok = ratio >= spec["target_ratio"]
    print(f"{'':<10}{'families':>12}{'villages':>10}{'counties':>10}{'median s':>10}  runs (s)")
    for k in configs:
        i = info[k]
        print(f"{k:<10}{i['families']:>12,}{i['villages']:>10,}{i['counties']:>10}{med[k]:>10.2f}  "
              + ", ".join(f"{t:.2f}" for t in times[k]))
    print(f"province / region = {ratio:.1f}x (target >= {spec['target_ratio']:g}x): {'PASS' if ok else 'FAIL'}")
    path = write("region.json", {"spec": spec, "git_commit": git_commit(), "machine": platform.platform(),
                                 "cpus": os.cpu_count(), "load_avg": os.getloadavg(), "runs": info,
                                 "seconds": times, "median_seconds": med, "ratio": ratio, "pass": ok})
    print(f"written: {path}")
    return 0 if ok else 1


def batch_bench(sobol: bool) -> int:
    """The batch runner against Hydra multirun at scale 0.02 (see the module docstring)."""
    import dataclasses

    from sim.batch import Job, ModelTask, run_batch
    from sim.compose import compose_run_config
    from sim.metrics import summary
    from sim.model import OutreachModel
    from sim.province import build_province
    from sim.sensitivity import INDICATORS

    t_start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="outreach-bench-batch-"))
    env = os.environ | {"OUTREACH_SIM_CACHE": str(tmp / "cache"), "PYTHONHASHSEED": "0"}
    os.environ["OUTREACH_SIM_CACHE"] = env["OUTREACH_SIM_CACHE"]
    workers = 2
    try:
        small = [f"population.scale={BATCH_SCALE}", "progress=false"]
        configs = {s: compose_run_config([f"scenario={s}", *small]) for s in BATCH_SCENARIOS}
        province = build_province(configs["baseline_2021"].population, configs["baseline_2021"].network,
                                  progress=False)
        note("the model alone (5 runs) ...")
        alone = []
        for seed in range(1, 6):
            t0 = time.perf_counter()
            m = OutreachModel(dataclasses.replace(configs["baseline_2021"], seed=seed), province)
            m.run()
            summary(m)
            alone.append(time.perf_counter() - t0)
        model_s = statistics.median(alone)

        note("Hydra multirun, 6 jobs ...")
        sweep_dir = tmp / "hydra"
        hydra_cmd = [sys.executable, "-m", "sim", "-m", f"scenario={','.join(BATCH_SCENARIOS)}", "seed=1,2", *small,
                     f"hydra.sweep.dir={sweep_dir}"]
        hydra_s, _ = _timed(hydra_cmd, env)
        hydra_resume_s, _ = _timed(hydra_cmd, env)

        note(f"batch runner, {BATCH_RUNS} runs ...")
        jobs = [Job(i, s, seed) for i, (seed, s) in enumerate((seed, s) for seed in range(1, BATCH_RUNS // 3 + 1)
                                                             for s in BATCH_SCENARIOS)]
        task = ModelTask(configs, INDICATORS)
        _, stats = run_batch(task, jobs, tmp / "batch", workers=workers, progress=False)
        t0 = time.perf_counter()
        _, again = run_batch(task, jobs, tmp / "batch", workers=workers, progress=False)
        batch_resume_s = time.perf_counter() - t0
        assert again.ran == 0

        note("outreach-sim-sensitivity, complete, re-run ...")
        sens = [sys.executable, "-m", "sim.sensitivity", "--method", "morris", "--n", "2", "--params",
                "diffusion.q,diffusion.p_ext", "--out", str(tmp / "sens"), *small]
        _timed(sens, env)
        command_resume_s, _ = _timed(sens, env)

        hydra_rpm = 60 * 6 / hydra_s
        batch_rpm = stats.runs_per_minute
        overhead = stats.overhead_per_run_s  # wall x workers - the model's own seconds in the workers, per run
        vs_alone = stats.wall_s * workers / stats.ran - model_s
        r = {"benchmark": "many runs (issue #14)", "scale": BATCH_SCALE, "scenarios": BATCH_SCENARIOS,
             "workers": workers, "model_alone_s": model_s, "model_alone_all_s": alone,
             "hydra": {"jobs": 6, "seconds": hydra_s, "runs_per_minute": hydra_rpm, "complete_rerun_s": hydra_resume_s},
             "batch": {**stats.as_dict(), "overhead_per_run_vs_model_alone_s": vs_alone,
                       "model_in_workers_per_run_s": stats.model_s / stats.ran,
                       "complete_resume_s": batch_resume_s, "command_complete_rerun_s": command_resume_s},
             "speedup_vs_hydra": batch_rpm / hydra_rpm}
        checks = [
            {"target": f"batch overhead per run <= {BATCH_TARGETS['overhead_per_run_s']:g} s", "value": overhead,
             "unit": "s", "ok": overhead <= BATCH_TARGETS["overhead_per_run_s"]},
            {"target": f"batch runs/min >= {BATCH_TARGETS['speedup_vs_hydra']:g}x Hydra multirun's",
             "value": r["speedup_vs_hydra"], "unit": "x",
             "ok": r["speedup_vs_hydra"] >= BATCH_TARGETS["speedup_vs_hydra"]},
            {"target": f"complete batch resumed in <= {BATCH_TARGETS['resume_s']:g} s", "value": batch_resume_s,
             "unit": "s", "ok": batch_resume_s <= BATCH_TARGETS["resume_s"]},
        ]
        if sobol:
            note("Sobol, 8 parameters, N = 256 (2,560 runs) ...")
            sobol_cmd = [sys.executable, "-m", "sim.sensitivity", "--method", "sobol", "--n", "256",
                         "--out", str(tmp / "sobol"), *small]
            sobol_s, res = _timed(sobol_cmd, env)
            r["sobol"] = {"parameters": 8, "n": 256, "runs": 2560, "seconds": sobol_s,
                          "summary": res.stdout.strip().splitlines()[:14]}
            checks.append({"target": f"Sobol, 8 parameters, N = 256, in <= {BATCH_TARGETS['sobol_seconds'] / 60:g} min",
                           "value": sobol_s, "unit": "s", "ok": sobol_s <= BATCH_TARGETS["sobol_seconds"]})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.update({"targets": BATCH_TARGETS, "checks": checks, "all_pass": all(c["ok"] for c in checks),
              "date": datetime.now(UTC).isoformat(timespec="seconds"), "commit": git_commit(), "machine": machine(),
              "total_seconds": time.perf_counter() - t_start})
    b, h = r["batch"], r["hydra"]
    lines = [f"scale {BATCH_SCALE}, {workers} workers; the model alone: {model_s:.3f} s a run (median of 5)",
             f"{'':<24} {'runs':>5} {'wall s':>8} {'runs/min':>9} {'re-run complete s':>18}",
             f"{'Hydra multirun':<24} {6:>5} {h['seconds']:>8.1f} {h['runs_per_minute']:>9.1f} "
             f"{h['complete_rerun_s']:>18.2f}",
             f"{'batch runner':<24} {b['ran']:>5} {b['wall_s']:>8.1f} {b['runs_per_minute']:>9.1f} "
             f"{b['complete_resume_s']:>18.2f}",
             f"batch / Hydra runs per minute: {r['speedup_vs_hydra']:.1f}x; batch overhead per run "
             f"{overhead:.3f} s (wall x workers - the model's own seconds in the workers, per run; the model took "
             f"{stats.model_s / stats.ran:.3f} s a run there); against the model alone here: {vs_alone:.3f} s; "
             f"outreach-sim-sensitivity re-run when complete: {b['command_complete_rerun_s']:.2f} s (whole command)"]
    if sobol:
        lines.append(f"Sobol, 8 parameters, N = 256: 2,560 runs in {r['sobol']['seconds'] / 60:.1f} min")
    lines += ["", *format_checks(checks)]
    print("\n".join(lines))
    path = write("batch.json", r)
    print(f"\nwrote {path.relative_to(ROOT)} in {r['total_seconds']:.0f} s")
    return 0 if r["all_pass"] else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sim.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats (under 2 minutes)")
    ap.add_argument("--sweep", action="store_true", help="the 100-job sweep overhead (issue #6) instead")
    ap.add_argument("--batch", action="store_true", help="many runs: the batch runner against Hydra multirun")
    ap.add_argument("--sobol", action="store_true", help="with --batch: also time a Sobol analysis (2,560 runs)")
    ap.add_argument("--region", action="store_true", help="one region (Changsha) against the whole province")
    ap.add_argument("--against", metavar="REV", help="full-scale year of this code against git revision REV")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each side with --against (default 3)")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "ARGS_JSON"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.against:
        return against(args.against, args.repeats)
    if args.child:
        kind, raw = args.child
        print(json.dumps(child(kind, json.loads(raw))))
        return 0
    if args.batch:
        return batch_bench(args.sobol)
    if args.region:
        return region_bench()
    return sweep() if args.sweep else bench(args.quick)


if __name__ == "__main__":
    sys.exit(main())
