"""Benchmark of the province build: cold build and cache-hit load, time and peak memory.

Usage::

    python experiments/bench_province.py           # scales 0.1 and 1.0
    python experiments/bench_province.py --quick   # scale 0.1 only, fewer repeats

Every measurement runs in a fresh subprocess, so the peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss`` in the child) is that of one build. A cold run
builds into a fresh, empty cache directory with ``use_cache=True`` (so it also writes the
cache, as a first real run does); the cache-hit runs then load from the directory of the last
cold run. Times are the wall time of ``build_province`` inside the child (imports excluded).

Prints a table of medians and PASS/FAIL per target, writes ``results/bench/province.json``,
and exits with status 1 when a target fails.
"""

from __future__ import annotations

import argparse
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

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "bench" / "province.json"

TARGETS = {
    "cold_seconds_0.1": 10.0,
    "cold_seconds_1.0": 60.0,
    "peak_mb": 6 * 1024.0,
    "cache_speedup": 10.0,
}


# ---------------------------------------------------------------- child


def child(scale: float, cache_dir: str, expect_hit: bool) -> None:
    """One measurement; prints one JSON line on stdout."""
    from sim.config import NetworkConfig, PopulationConfig
    from sim.province import build_province

    pop = PopulationConfig(scale=scale, cache_dir=cache_dir, use_cache=True)
    t0 = time.perf_counter()
    p = build_province(pop, NetworkConfig(), progress=False)
    seconds = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    peak_mb = peak_kb / 1024 if sys.platform != "darwin" else peak_kb / 2**20
    if p.cache_hit != expect_hit:
        raise SystemExit(f"expected cache_hit={expect_hit}, got {p.cache_hit} in {cache_dir}")
    print(json.dumps({"scale": scale, "cache_hit": p.cache_hit, "seconds": seconds, "peak_mb": peak_mb,
                      "n_families": int(p.families.n), "n_villages": int(p.villages.n),
                      "network_nnz": int(p.network.nnz) if p.network is not None else None}))


# ---------------------------------------------------------------- parent


def measure(scale: float, cache_dir: Path, expect_hit: bool) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(scale), str(cache_dir),
           "hit" if expect_hit else "cold"]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                         env=os.environ | {"PYTHONHASHSEED": "0"})
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        sys.stderr.write(res.stderr)
        raise SystemExit(f"child failed ({res.returncode}): {' '.join(cmd)}")
    row = json.loads(res.stdout.strip().splitlines()[-1])
    row["process_seconds"] = wall
    return row


def du_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def bench_scale(scale: float, repeats: int, tmp_root: Path) -> dict:
    cold, hit = [], []
    cache_dir = None
    for i in range(repeats):
        cache_dir = tmp_root / f"scale-{scale}-cold-{i}"
        cache_dir.mkdir()
        cold.append(measure(scale, cache_dir, expect_hit=False))
        print(f"  scale {scale}: cold run {i + 1}/{repeats}: {cold[-1]['seconds']:.2f} s, "
              f"{cold[-1]['peak_mb']:.0f} MB", file=sys.stderr)
    cache_mb = du_mb(cache_dir)
    for i in range(repeats):
        hit.append(measure(scale, cache_dir, expect_hit=True))
        print(f"  scale {scale}: cache hit {i + 1}/{repeats}: {hit[-1]['seconds']:.3f} s, "
              f"{hit[-1]['peak_mb']:.0f} MB", file=sys.stderr)
    cold_s = statistics.median(r["seconds"] for r in cold)
    hit_s = statistics.median(r["seconds"] for r in hit)
    return {
        "scale": scale, "repeats": repeats,
        "n_families": cold[0]["n_families"],
        "cold_median_seconds": cold_s,
        "cold_peak_mb": max(r["peak_mb"] for r in cold),
        "hit_median_seconds": hit_s,
        "hit_peak_mb": max(r["peak_mb"] for r in hit),
        "cache_speedup": cold_s / hit_s,
        "cache_size_mb": cache_mb,
        "cold_runs": cold, "hit_runs": hit,
    }


def check(results: list[dict]) -> list[dict]:
    checks = []
    for r in results:
        s = r["scale"]
        key = f"cold_seconds_{s}"
        if key in TARGETS:
            checks.append({"target": f"scale {s} cold build <= {TARGETS[key]:g} s", "unit": "s",
                           "value": r["cold_median_seconds"], "ok": r["cold_median_seconds"] <= TARGETS[key]})
        peak = max(r["cold_peak_mb"], r["hit_peak_mb"])
        checks.append({"target": f"scale {s} peak RSS <= {TARGETS['peak_mb'] / 1024:g} GB", "unit": "MB",
                       "value": peak, "ok": peak <= TARGETS["peak_mb"]})
        checks.append({"target": f"scale {s} cache hit >= {TARGETS['cache_speedup']:g}x faster", "unit": "x",
                       "value": r["cache_speedup"], "ok": r["cache_speedup"] >= TARGETS["cache_speedup"]})
    return checks


def table(results: list[dict], checks: list[dict]) -> str:
    head = (f"{'scale':>6}  {'families':>11}  {'cold s':>8}  {'cold MB':>8}  {'hit s':>8}  {'hit MB':>8}"
            f"  {'speed-up':>9}  {'cache MB':>9}  {'runs':>4}")
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(f"{r['scale']:>6}  {r['n_families']:>11,}  {r['cold_median_seconds']:>8.2f}  "
                     f"{r['cold_peak_mb']:>8.0f}  {r['hit_median_seconds']:>8.3f}  {r['hit_peak_mb']:>8.0f}  "
                     f"{r['cache_speedup']:>8.1f}x  {r['cache_size_mb']:>9.0f}  {r['repeats']:>4}")
    lines.append("")
    fmt = {"s": "{:.2f} s", "MB": "{:.0f} MB", "x": "{:.1f}x"}
    for c in checks:
        shown = fmt[c["unit"]].format(c["value"])
        lines.append(f"{'PASS' if c['ok'] else 'FAIL'}  {c['target']:<40} ({shown})")
    return "\n".join(lines)


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="scale 0.1 only, 2 repeats")
    ap.add_argument("--child", nargs=3, metavar=("SCALE", "CACHE_DIR", "cold|hit"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        scale, cache_dir, mode = args.child
        child(float(scale), cache_dir, mode == "hit")
        return 0

    plan = [(0.1, 2)] if args.quick else [(0.1, 3), (1.0, 2)]
    tmp_root = Path(tempfile.mkdtemp(prefix="bench-province-"))
    t0 = time.perf_counter()
    try:
        results = [bench_scale(scale, repeats, tmp_root) for scale, repeats in plan]
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    checks = check(results)
    print(table(results, checks))

    import numpy
    import scipy

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "benchmark": "province build (cold, cache hit)",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick, "commit": git_commit(),
        "machine": {"python": platform.python_version(), "numpy": numpy.__version__,
                    "scipy": scipy.__version__, "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "targets": TARGETS, "results": results, "checks": checks,
        "all_pass": all(c["ok"] for c in checks),
        "total_seconds": time.perf_counter() - t0,
    }, indent=2) + "\n")
    print(f"\nwrote {OUT.relative_to(ROOT)}")
    return 0 if all(c["ok"] for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
