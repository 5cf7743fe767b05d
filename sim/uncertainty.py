"""What we do not know: the uncertain parameters, their ranges and distributions (MODEL.md §9).

The uncertainty file (``sim/conf/uncertainty.yaml``, or one a user passes) lists every uncertain
parameter of the run config with its range, its distribution and where the range comes from::

    parameters:
      diffusion.q: {low: 0.1, high: 0.5, dist: uniform, kind: assumed, source: "..."}
      activities.youth_per_lecture: {low: 232, high: 244, dist: triangular, mode: 237.9,
                                     kind: fitted, source: "..."}
    default: [diffusion.q, ...]      # the subset analysed when no --params is given

* ``dist`` is ``uniform``, ``loguniform`` (uniform in the logarithm: for rates whose order of
  magnitude is unknown) or ``triangular`` (with ``mode``, for a fitted value and the range the fit
  supports). Every distribution is bounded, so a design point on the unit cube's edge (Morris
  levels 0 and 1) maps to a finite value.
* ``kind`` is ``fitted`` (the range the calibration supports: :func:`fitted_ranges`) or
  ``assumed`` (a documented plausible range; no 2021 figure pins the parameter).

Designs are drawn on the unit cube by SALib and mapped to values here (:meth:`Uncertain.value`,
the distribution's quantile function). Sobol indices do not change under such a monotone map;
Morris elementary effects are then per unit of quantile, which makes them comparable across
parameters of different units.

``python -m sim.uncertainty --fitted-ranges`` re-derives the fitted parameters' ranges (see
:func:`fitted_ranges`) and prints them as YAML for the file.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from sim.compose import CONF_DIR, compose_run_config, with_overrides
from sim.config import RunConfig
from sim.errors import ConfigError, UserError

UNCERTAINTY_FILE = CONF_DIR / "uncertainty.yaml"
DISTRIBUTIONS = ("uniform", "loguniform", "triangular")
KINDS = ("fitted", "assumed")


@dataclass(frozen=True)
class Uncertain:
    """One uncertain parameter: its config key, bounds, distribution and the source of its range."""

    key: str
    low: float
    high: float
    dist: str = "uniform"
    mode: float | None = None
    kind: str = "assumed"
    source: str = ""

    def value(self, u) -> np.ndarray:
        """The parameter's value at quantile ``u`` in [0, 1] (arrays work elementwise)."""
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        lo, hi = self.low, self.high
        if self.dist == "uniform":
            return lo + u * (hi - lo)
        if self.dist == "loguniform":
            return np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))
        # triangular: the inverse of its cumulative distribution, piecewise
        c = (self.mode - lo) / (hi - lo)
        left = lo + np.sqrt(u * (hi - lo) * (self.mode - lo))
        right = hi - np.sqrt((1 - u) * (hi - lo) * (hi - self.mode))
        return np.where(u < c, left, right)

    def quantile(self, x) -> np.ndarray:
        """The inverse of :meth:`value`: the quantile of value ``x``."""
        x = np.clip(np.asarray(x, dtype=float), self.low, self.high)
        lo, hi = self.low, self.high
        if self.dist == "uniform":
            return (x - lo) / (hi - lo)
        if self.dist == "loguniform":
            return (np.log(x) - np.log(lo)) / (np.log(hi) - np.log(lo))
        left = (x - lo) ** 2 / ((hi - lo) * (self.mode - lo)) if self.mode > lo else np.zeros_like(x)
        right = 1 - (hi - x) ** 2 / ((hi - lo) * (hi - self.mode)) if self.mode < hi else np.ones_like(x)
        return np.where(x < self.mode, left, right)

    def as_dict(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Uncertainty:
    """The uncertainty file: every uncertain parameter and the default subset to analyse."""

    params: dict[str, Uncertain]
    default: tuple[str, ...]
    path: str = ""

    def select(self, names=None) -> list[Uncertain]:
        """The parameters ``names`` (default: the file's ``default`` subset), in that order.

        Raises:
            ConfigError: a name that is not in the file, a repeated name, or none at all.
        """
        names = list(self.default if names is None else names)
        if not names:
            raise ConfigError("--params", names, "name at least one parameter of the uncertainty file")
        for n in names:
            if n not in self.params:
                raise ConfigError("--params", n, f"must be parameters of {self.path or 'the uncertainty file'}: "
                                                 f"{sorted(self.params)}")
        if len(set(names)) != len(names):
            raise ConfigError("--params", ",".join(names), "must not repeat a parameter")
        return [self.params[n] for n in names]


def _number(key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(key, value, "must be a number")
    if not math.isfinite(value):
        raise ConfigError(key, value, "must be a finite number")
    return float(value)


def parse_param(key: str, spec, cfg: RunConfig) -> Uncertain:
    """One entry of the file, checked: a numeric parameter of the run config, ``low < high``, a
    known distribution (positive bounds for ``loguniform``, ``low <= mode <= high`` for
    ``triangular``), and both bounds accepted by the config's own checks.

    Raises:
        ConfigError: naming ``parameters.<key>`` and what is allowed.
    """
    where = f"parameters.{key}"
    if not isinstance(spec, dict):
        raise ConfigError(where, spec, "must be a mapping with low, high, dist, kind and source")
    unknown = set(spec) - {"low", "high", "dist", "mode", "kind", "source"}
    if unknown:
        raise ConfigError(f"{where}.{sorted(unknown)[0]}", spec[sorted(unknown)[0]],
                          "is not a field; the fields are low, high, dist, mode, kind, source")
    for need in ("low", "high"):
        if need not in spec:
            raise ConfigError(where, spec, f"needs {need}")
    low, high = _number(f"{where}.low", spec["low"]), _number(f"{where}.high", spec["high"])
    if not low < high:
        raise ConfigError(f"{where}.low", spec["low"], f"must be below high={spec['high']}")
    dist = spec.get("dist", "uniform")
    if dist not in DISTRIBUTIONS:
        raise ConfigError(f"{where}.dist", dist, f"must be one of {list(DISTRIBUTIONS)}")
    if dist == "loguniform" and low <= 0:
        raise ConfigError(f"{where}.low", spec["low"], "must be above 0 for a loguniform distribution")
    mode = None
    if dist == "triangular":
        if "mode" not in spec:
            raise ConfigError(f"{where}.mode", None, "a triangular distribution needs a mode in [low, high]")
        mode = _number(f"{where}.mode", spec["mode"])
        if not low <= mode <= high:
            raise ConfigError(f"{where}.mode", spec["mode"], f"must be in [{low:g}, {high:g}]")
    elif "mode" in spec:
        raise ConfigError(f"{where}.mode", spec["mode"], "only a triangular distribution has a mode")
    kind = spec.get("kind", "assumed")
    if kind not in KINDS:
        raise ConfigError(f"{where}.kind", kind, f"must be one of {list(KINDS)}")
    group, dot, name = key.partition(".")
    field = getattr(cfg, group, None) if dot else None
    if not dataclasses.is_dataclass(field) or name not in {f.name for f in dataclasses.fields(field)}:
        raise ConfigError(where, key, "is not a parameter of the run config (group.key, e.g. diffusion.q)")
    declared = {f.name: f.type for f in dataclasses.fields(field)}[name]
    if declared not in ("float", float):
        what = "a whole-number" if declared in ("int", int) else f"not a real-valued ({declared})"
        raise ConfigError(where, key, f"is {what} parameter; only real-valued parameters can be sampled")
    for bound in (low, high):
        try:
            with_overrides(cfg, {key: bound})
        except ConfigError as e:
            raise ConfigError(f"{where}.{'low' if bound == low else 'high'}", bound,
                              f"is outside the parameter's own range ({e.allowed})") from None
    return Uncertain(key, low, high, dist, mode, kind, str(spec.get("source", "")))


def load_uncertainty(path: str | Path | None = None, cfg: RunConfig | None = None) -> Uncertainty:
    """Read and check an uncertainty file (default: the package's ``sim/conf/uncertainty.yaml``).

    Raises:
        UserError: the file cannot be read or parsed; ConfigError: an entry is not allowed.
    """
    path = Path(path) if path else UNCERTAINTY_FILE
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as e:
        raise UserError(f"cannot read the uncertainty file {path}: {e.strerror}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise UserError(f"{path}: not valid YAML{where}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("parameters"), dict) or not doc["parameters"]:
        raise UserError(f"{path}: needs a 'parameters:' mapping of config keys to {{low, high, dist, kind, source}}")
    unknown = set(doc) - {"parameters", "default"}
    if unknown:
        raise UserError(f"{path}: unknown top-level key {sorted(unknown)[0]!r}; allowed: parameters, default")
    cfg = cfg or RunConfig()
    params = {str(k): parse_param(str(k), v, cfg) for k, v in doc["parameters"].items()}
    default = doc.get("default", list(params))
    if not isinstance(default, list):
        raise UserError(f"{path}: 'default' must be a list of parameter names")
    u = Uncertainty(params, tuple(str(d) for d in default), str(path))
    u.select()  # the default subset must name parameters of the file
    return u


# ---------------------------------------------------------------------------- fitted ranges
Z = 2.0
"""Half-width of a fitted range in standard errors (about 95 %)."""
FLOOR = 0.005
"""Smallest relative half-width of a fitted range (the fit's own tolerance on its figure)."""


def fitted_ranges(cfg: RunConfig, seeds: list[int], step: float = 0.05, calibration_seeds: int | None = None,
                  progress: bool | None = None) -> list[dict]:
    """The range each fitted parameter's figure supports, from the fit's sensitivity and seed noise.

    For each parameter of ``sim/conf/calibrate.yaml`` (value ``v`` as fitted), the model is run on
    ``seeds`` at ``v``, ``v (1 - step)`` and ``v (1 + step)`` with common random numbers. The slope
    of its figure ``dy/dv`` comes from the two outer arms (central difference, mean over seeds);
    the noise is the standard error of the figure the fit matched: the seed standard deviation
    at ``v`` over the square root of the calibration's seed count. The supported range is
    ``v +- Z * se / |dy/dv|`` (the values whose figure the fit could not tell from the report's),
    at least ``+- FLOOR * v``.

    Returns:
        One dict per parameter: key, value, low, high, the figure, its relative standard error and
        the relative change of the figure per relative change of the parameter (elasticity).
    """
    from sim.calibration import load_spec, load_targets, simulate
    from sim.progress import Progress
    from sim.province import build_province

    spec = load_spec(CONF_DIR / "calibrate.yaml")
    targets = {t.name: t for t in load_targets()}
    n_cal = calibration_seeds or len(spec.get("seeds", [1]))
    province = build_province(cfg.population, cfg.network, progress=False)
    out = []
    with Progress("fitted ranges", 3 * len(spec["parameters"]), enabled=progress) as bar:
        for p in spec["parameters"]:
            t = targets[p.target]
            t = dataclasses.replace(t, summary_key=p.measure or t.summary_key)
            group, _, name = p.key.partition(".")
            v = float(getattr(getattr(cfg, group), name))
            ys = {}
            for arm, factor in (("mid", 1.0), ("lo", 1 - step), ("hi", 1 + step)):
                ys[arm] = simulate(with_overrides(cfg, {p.key: v * factor}), seeds, [t], province)[:, 0]
                bar.step(p.key)
            slope = (ys["hi"].mean() - ys["lo"].mean()) / (2 * step * v)
            se = ys["mid"].std(ddof=1) / math.sqrt(n_cal) if len(seeds) > 1 else 0.0
            half = Z * se / abs(slope) if slope != 0 else math.inf
            half = min(max(half, FLOOR * v), v - p.low, p.high - v) if math.isfinite(half) else min(
                v - p.low, p.high - v)
            ymid = ys["mid"].mean()
            out.append({"key": p.key, "value": v, "low": v - half, "high": v + half, "figure": p.target,
                        "figure_rel_se": se / ymid if ymid else float("nan"),
                        "elasticity": slope * v / ymid if ymid else float("nan")})
    return out


def fitted_yaml(rows: list[dict], scale: float, seeds: list[int]) -> str:
    """The fitted ranges as entries of the uncertainty file."""
    lines = []
    for r in rows:
        src = (f"fitted to {r['figure']}; range = value +- {Z:g} standard errors of the fitted figure "
               f"(rel. s.e. {r['figure_rel_se']:.2%}) over its slope (elasticity {r['elasticity']:.2f}); "
               f"python -m sim.uncertainty --fitted-ranges at scale {scale:g}, seeds {seeds}")
        lines.append(f"  {r['key']}: {{low: {r['low']:.6g}, high: {r['high']:.6g}, dist: triangular, "
                     f"mode: {r['value']:.6g}, kind: fitted,\n    source: \"{src}\"}}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.uncertainty --fitted-ranges [--seeds 1,2,3,4] [key=value ...]``."""
    ap = argparse.ArgumentParser(prog="python -m sim.uncertainty", description=__doc__.split("\n")[0])
    ap.add_argument("--fitted-ranges", action="store_true", help="derive the fitted parameters' ranges")
    ap.add_argument("--seeds", default="1,2,3,4", help="seeds of the derivation (default 1,2,3,4)")
    ap.add_argument("--check", default=None, metavar="FILE", help="check an uncertainty file and list it")
    ap.add_argument("overrides", nargs="*", help="config overrides (default scale: the calibration's, 0.05)")
    args = ap.parse_args(argv)
    try:
        if args.fitted_ranges:
            seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
            cfg = compose_run_config(["population.scale=0.05", "progress=false", *args.overrides])
            rows = fitted_ranges(cfg, seeds)
            print(fitted_yaml(rows, cfg.population.scale, seeds))
            return 0
        u = load_uncertainty(args.check)
        for p in u.params.values():
            mode = f" mode {p.mode:g}" if p.mode is not None else ""
            print(f"{p.key:<45} {p.kind:<8} {p.dist:<11} [{p.low:g}, {p.high:g}]{mode}")
        print(f"default subset ({len(u.default)}): {', '.join(u.default)}")
        return 0
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
