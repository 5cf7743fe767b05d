"""The regression baseline: summary numbers of a few scenarios at fixed seeds, on a small
province, kept in ``baseline.json`` beside this file and checked by ``tests/test_regression.py``.

Only this script rewrites the file, so a change of results is always a deliberate one:

    .venv/bin/python -m tests.regression.baseline --update

Without ``--update`` it prints the numbers that differ from the file (exit status 1 if any).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import tempfile
from pathlib import Path

FILE = Path(__file__).with_name("baseline.json")
SCENARIOS = ("baseline_2021", "budget_plus_20", "need_based", "staff_plus_20", "volunteer_drive",
             "trained_lecturers", "digital_first")
SEEDS = (1, 2)
SCALE = 0.005
MONTHS = 12
KEYS = ("coverage.", "reported.", "cost.by_pot.", "cost.total_yuan", "binding.money", "binding.hands",
        "execution_rate", "volunteers.end", "families_reached")
RTOL = 1e-6
"""Relative tolerance: identical code gives identical numbers; this absorbs last-digit changes of
numpy's float reductions between versions, nothing a model change could hide behind."""


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else k
        out.update(_flat(v, key) if isinstance(v, dict) else {key: v})
    return out


def compute(cache_dir: str | None = None, scenarios: tuple[str, ...] = SCENARIOS) -> dict:
    """The baseline's numbers: {"<scenario>/seed<k>": {key: value}}."""
    from sim.compose import compose_run_config
    from sim.metrics import summary
    from sim.model import OutreachModel
    from sim.province import build_province

    with tempfile.TemporaryDirectory() as tmp:
        cache = cache_dir or tmp
        out, province = {}, None
        for name in scenarios:
            cfg = compose_run_config([f"scenario={name}", f"population.scale={SCALE}", f"months={MONTHS}",
                                      f"population.cache_dir={cache}", "progress=false"])
            province = province or build_province(cfg.population, cfg.network, progress=False)
            for seed in SEEDS:
                m = OutreachModel(dataclasses.replace(cfg, seed=seed), province)
                m.run()
                flat = _flat(summary(m))
                out[f"{name}/seed{seed}"] = {k: float(v) for k, v in flat.items()
                                             if k.startswith(KEYS) and isinstance(v, int | float)}
    return out


def differences(expected: dict, actual: dict, rtol: float = RTOL) -> list[str]:
    """One line per number that differs (or is missing on either side)."""
    lines = []
    for run in sorted(set(expected) | set(actual)):
        e, a = expected.get(run, {}), actual.get(run, {})
        for k in sorted(set(e) | set(a)):
            if k not in e or k not in a:
                lines.append(f"{run} {k}: {'missing in the baseline' if k not in e else 'no longer reported'}")
            elif not math.isclose(e[k], a[k], rel_tol=rtol, abs_tol=1e-12):
                lines.append(f"{run} {k}: baseline {e[k]:.10g}, now {a[k]:.10g}")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.regression.baseline", description=__doc__.split("\n\n")[0])
    ap.add_argument("--update", action="store_true", help="rewrite baseline.json with the current numbers")
    args = ap.parse_args(argv)
    actual = compute()
    if args.update:
        FILE.write_text(json.dumps({"scale": SCALE, "months": MONTHS, "seeds": list(SEEDS), "runs": actual},
                                   indent=1, sort_keys=True) + "\n")
        print(f"wrote {FILE} ({len(actual)} runs)")
        return 0
    diff = differences(json.loads(FILE.read_text())["runs"], actual)
    print("\n".join(diff) if diff else "no differences")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
