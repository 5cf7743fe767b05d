"""Sweeps: the province built once, resumable jobs, and the end-of-sweep report.

* Before Hydra launches a multirun, :func:`prebuild` builds (or loads) every distinct province
  the jobs need, in the driving process, so jobs only load it from the cache.
* A job whose folder already holds a complete ``summary.json`` with the same config hash is
  skipped (:func:`sim.cli.run_job`); re-running the same sweep command into the same
  ``hydra.sweep.dir`` runs only the jobs that are missing or failed. The hash and the job
  folder's name leave out :data:`sim.compose.NEUTRAL_KEYS` (the progress display, the cache
  folder, ``hydra.launcher.n_jobs``), so a re-run that changes only those still skips them.
* A job that fails writes ``failed.json`` and the others go on; :class:`SweepReport` (a Hydra
  callback) lists the failed and incomplete jobs at the end, with the command that re-runs only
  them.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from sim.config import RunConfig
from sim.errors import UserError
from sim.runs import FAILED_FILE, run_status

STATE: dict[str, Any] = {"failed": 0}
"""What the last sweep of this process left (read by :func:`sim.cli.main`)."""


def prebuild(configs: list[RunConfig]) -> None:
    """Build or load each distinct province that ``configs`` need, once."""
    from sim.province import build_province

    seen = set()
    for cfg in configs:
        key = (repr(cfg.population), repr(cfg.network))
        if key in seen:
            continue
        seen.add(key)
        try:
            p = build_province(cfg.population, cfg.network, progress=None if cfg.progress else False)
        except UserError as e:  # the jobs that need it will fail and say why; the others run
            print(f"province scale {cfg.population.scale}: cannot be built: {e}", file=sys.stderr)
            continue
        how = "loaded from cache" if p.cache_hit else "built"
        print(f"province scale {cfg.population.scale}, network {cfg.network.kind}: {how} "
              f"in {p.build_seconds:.1f} s", file=sys.stderr)


def job_dirs(sweep_dir: Path) -> list[Path]:
    return sorted(p.parent.parent for p in Path(sweep_dir).glob("*/.hydra/overrides.yaml"))


class SweepReport(Callback):
    """At the end of a multirun: how many jobs completed, which failed, how to re-run them."""

    def on_multirun_end(self, config, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
        done, failed, missing = [], [], []
        for d in job_dirs(sweep_dir):
            status, _ = run_status(d)
            {"complete": done, "failed": failed, "incomplete": missing}[status].append(d)
        STATE["failed"] = len(failed) + len(missing)
        print(f"\nsweep finished: {len(done)} complete, {len(failed)} failed, {len(missing)} incomplete "
              f"in {sweep_dir}")
        for d in failed:
            print(f"  failed: {d.name} (see {d / FAILED_FILE})")
        for d in missing:
            print(f"  incomplete: {d.name}")
        if failed or missing:
            task = [o for o in config.hydra.overrides.task]
            hydra_over = [o for o in config.hydra.overrides.hydra
                          if o.startswith("hydra/launcher") or o.startswith("hydra.launcher")]
            config_dirs = [f"--config-dir={src.path}" for src in config.hydra.runtime.config_sources
                           if src.provider == "command-line"]
            cmd = ["outreach-sim", "-m", *config_dirs, *task, *hydra_over, f"hydra.sweep.dir={sweep_dir}"]
            print("re-run only these (complete jobs are skipped):\n  " + shlex.join(cmd))
        print(f"compare: outreach-sim-compare {shlex.quote(str(sweep_dir))}")
