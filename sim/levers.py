"""Levers of single counties and prefectures, keyed by admin code (:class:`sim.config.LeversConfig`).

A planner sets a county's or prefecture's budget, posts or allocation weight, a county's
township posts or its floor per resident, on the command line (``levers.posts={431126:6}``),
in a scenario file, or in a CSV file (``levers.file=counties.csv``) that
``python -m sim.levers --template FILE [--region R]`` writes with every county's code, names,
population and 2021 budget, the lever columns left empty. What each lever does is in
:class:`sim.config.LeversConfig`; :func:`resolve` turns them into per-county and
per-prefecture arrays for :mod:`sim.plan` and :mod:`sim.model`.

Every code is checked when the config is made: not a code of Hunan, a prefecture code where
only counties are allowed, a negative or non-finite value, a CSV without a ``code`` column, with
an empty or repeated code or an unknown column each give one line naming the file, row, code or
column, and the allowed values.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.errors import ConfigError, UserError

LEVERS = ("budget_yuan", "posts", "township_posts", "weight", "yuan_per_resident")
COUNTY_ONLY = ("township_posts",)
INFO_COLUMNS = ("name_zh", "name_en", "kind", "prefecture_zh", "population", "budget_2021_yuan")
"""Columns of the template a planner reads but the run ignores."""


def _codes() -> dict[int, object]:
    from sim.region import units

    return {u.code: u for u in units()}


def parse_code(key: str, code) -> int:
    """A county's six-digit code, or a prefecture's six (430100) or four (4301) digits, as an int."""
    text = str(code).strip()
    if isinstance(code, bool) or not text.isdigit() or len(text) not in (4, 6):
        raise ConfigError(key, code, "must be a 6-digit county or prefecture code (e.g. 431126, 430100) "
                                     "or a 4-digit prefecture code (4301)")
    value = int(text) * 100 if len(text) == 4 else int(text)
    units = _codes()
    if value not in units:
        near = [u for c, u in units.items() if str(c)[:4] == str(value)[:4]][:5]
        hint = "; near: " + ", ".join(u.describe() for u in near) if near else \
            " (python -m sim.levers --template FILE lists them)"
        raise UserError(f"{key}: {text} is not a county or prefecture code of Hunan{hint}")
    return value


def normalise_codes(lever: str, mapping, key: str | None = None) -> dict[int, float]:
    """``mapping`` (of lever ``lever``) with its keys made admin codes (ints) and its values
    checked: a finite number >= 0, and for :data:`COUNTY_ONLY` levers a county code. ``key``
    names it in errors (default ``levers.<lever>``)."""
    key = key or f"levers.{lever}"
    out: dict[int, float] = {}
    for raw, value in dict(mapping or {}).items():
        code = parse_code(key, raw)
        item = f"{key}[{code}]"
        if lever in COUNTY_ONLY and code % 100 == 0:
            raise ConfigError(item, value, "takes county codes only (this is a prefecture's)")
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ConfigError(item, value, "must be a number") from None
        if not math.isfinite(v) or v < 0:
            raise ConfigError(item, value, "must be a finite number in [0, inf)")
        if code in out and out[code] != v:
            raise ConfigError(item, value, f"is given twice ({raw!r} and an equal code with {out[code]:g})")
        out[code] = v
    return out


def read_file(path: str | Path) -> dict[str, dict[int, float]]:
    """The levers of a CSV file: lever -> {code: value}; see the module docstring for its checks."""
    key = "levers.file"
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"{key}={str(path)!r}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{key}={str(path)!r} cannot be read as UTF-8 text: {e}") from None
    rows = list(csv.reader(text.splitlines()))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise UserError(f"{key}={str(path)!r} is empty: it needs a header with 'code' and any of {list(LEVERS)}")
    header = [h.strip() for h in rows[0]]
    allowed = ("code", *LEVERS, *INFO_COLUMNS)
    unknown = [h for h in header if h not in allowed]
    if unknown:
        raise UserError(f"{key}={str(path)!r}: unknown column {unknown[0]!r}; allowed: {list(allowed)}")
    if "code" not in header:
        raise UserError(f"{key}={str(path)!r} has no 'code' column (columns: {header})")
    dup = [h for h in header if header.count(h) > 1]
    if dup:
        raise UserError(f"{key}={str(path)!r}: column {dup[0]!r} appears twice")
    out: dict[str, dict[int, float]] = {name: {} for name in LEVERS if name in header}
    seen: dict[int, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        cells = dict(zip(header, [c.strip() for c in row] + [""] * (len(header) - len(row)), strict=False))
        where = f"{key}={str(path)!r} row {line}"
        if not cells["code"]:
            raise UserError(f"{where}: the code is missing")
        code = parse_code(f"{where} code", cells["code"])
        if code in seen:
            raise UserError(f"{where}: code {code} appears twice (rows {seen[code]} and {line})")
        seen[code] = line
        for name in out:
            if cells.get(name, ""):
                value = _number(f"{where} {name}", cells[name])
                out[name].update(normalise_codes(name, {code: value}, key=f"{where} {name}"))
    return out


def _number(key: str, text: str):
    try:
        return float(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise ConfigError(key, text, "must be a number") from None


def merge_file(levers) -> None:
    """Add the levers of ``levers.file`` to ``levers``' maps (theirs win for the same code)."""
    for name, values in read_file(levers.file).items():
        setattr(levers, name, values | getattr(levers, name))


def check_region(levers, region_code: int) -> None:
    """Refuse a lever of a county outside the region (or of a prefecture other than its own)."""
    units = _codes()
    reg = units[region_code]
    own_pref = next(u.code for u in units.values() if u.kind == "prefecture" and u.prefecture == reg.prefecture)
    for name in LEVERS:
        for code in getattr(levers, name):
            u = units[code]
            inside = (u.kind == "county" and set(u.counties) <= set(reg.counties)) or code == own_pref
            if not inside:
                raise ConfigError(f"levers.{name}[{code}]", getattr(levers, name)[code],
                                  f"{u.describe()} is outside the region {reg.describe()}")


@dataclass(frozen=True)
class Resolved:
    """The levers as arrays over the province's counties (122, ``hunan_admin.csv`` order) and
    prefectures (14); ``nan`` where a lever is not set, weights 1."""

    county_budget_yuan: np.ndarray
    county_posts: np.ndarray
    township_posts: np.ndarray
    county_weight: np.ndarray
    yuan_per_resident: np.ndarray
    prefecture_budget_yuan: np.ndarray
    prefecture_posts: np.ndarray
    prefecture_weight: np.ndarray


def resolve(levers, counties, prefectures) -> Resolved:
    """Per-county and per-prefecture arrays of ``levers`` (tables of the whole province)."""
    c_row = {int(c): i for i, c in enumerate(counties["code"].to_numpy())}
    p_row = {int(c) * 100: i for i, c in enumerate(prefectures["code"].to_numpy())}
    pref_of = counties["pref"].to_numpy()
    n_c, n_p = len(counties), len(prefectures)

    def arrays(name: str, default: float) -> tuple[np.ndarray, np.ndarray]:
        ca, pa = np.full(n_c, default), np.full(n_p, default)
        for code, v in getattr(levers, name).items():
            if code in c_row:
                ca[c_row[code]] = v
            else:
                pa[p_row[code]] = v
        return ca, pa

    budget_c, budget_p = arrays("budget_yuan", np.nan)
    posts_c, posts_p = arrays("posts", np.nan)
    town_c, _ = arrays("township_posts", np.nan)
    weight_c, weight_p = arrays("weight", 1.0)
    floor_c, floor_p = arrays("yuan_per_resident", np.nan)
    floor_c = np.where(np.isnan(floor_c), floor_p[pref_of], floor_c)  # a prefecture's floor, for its counties
    return Resolved(county_budget_yuan=budget_c, county_posts=posts_c, township_posts=town_c,
                    county_weight=weight_c, yuan_per_resident=floor_c, prefecture_budget_yuan=budget_p,
                    prefecture_posts=posts_p, prefecture_weight=weight_p)


def template(region: str = "") -> list[dict]:
    """Rows of the planner's CSV: every county of the province (or region), its names, population
    and 2021 budget (``as_reported``), the lever columns empty."""
    from sim.admin import load_admin
    from sim.allocation import county_pattern
    from sim.config import FundingConfig
    from sim.region import resolve_region

    admin = load_admin()
    c, p = admin.counties, admin.prefectures
    pattern = county_pattern(c)
    budget = pattern / pattern.sum() * FundingConfig().county_budget_yuan
    rows_c = list(resolve_region(region).counties) if region else range(len(c))
    rows = []
    for i in rows_c:
        rows.append({"code": int(c["code"].iloc[i]), "name_zh": c["name_zh"].iloc[i], "name_en": c["name_en"].iloc[i],
                     "kind": "county", "prefecture_zh": p["name_zh"].iloc[int(c["pref"].iloc[i])],
                     "population": int(c["population"].iloc[i]), "budget_2021_yuan": round(float(budget[i])),
                     **{name: "" for name in LEVERS}})
    return rows


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.levers --template FILE [--region R]``: write the planner's CSV of levers."""
    ap = argparse.ArgumentParser(prog="python -m sim.levers",
                                 description="Write a CSV of per-county levers to fill in; run with levers.file=FILE.")
    ap.add_argument("--template", required=True, metavar="FILE", help="the CSV file to write")
    ap.add_argument("--region", default="", help="only this prefecture's or county's rows (code, name or pinyin)")
    args = ap.parse_args(argv)
    try:
        rows = template(args.region)
        out = Path(args.template)
        if out.is_dir():
            raise UserError(f"--template {args.template!r} is a folder; give a file name")
        with out.open("w", newline="", encoding="utf-8-sig") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    except (UserError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {len(rows)} counties to {out}; fill in any of {', '.join(LEVERS)} and run with levers.file={out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
