"""Hunan's administrative facts: 14 prefectures and 122 counties, read from ``sim/data``.

Owns the embedded data files and the rule that gives every county a 2020 population:

* Counties with a 2020 census figure keep it.
* In each prefecture, the rest of the prefecture's census population (census total minus the
  counties with figures) is split among the counties without one, in proportion to a weight:
  the county's 2010 census population where known, otherwise its number of township-level
  units times the prefecture's median 2010 persons per township (the province's median where
  the prefecture has none). Integer persons by largest remainder.
* Where every county has a figure but they do not add up to the census, the gap is spread over
  the counties in proportion to their figures and they are labelled ``census_adjusted``. This
  happens in Zhuzhou only: its nine figures (rounded to 100) add up to 3,776,800 against a census
  total of 3,902,738; rounding explains at most a few hundred of the 125,938, so the gap is most
  likely residents of a zone outside the 122 county-level units (unverified).

So every prefecture total equals its 2020 census population exactly, and the province
totals 66,444,864.

References: sim/data/SOURCES.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import UserError

DATA_FILES = ("hunan_admin.csv", "hunan_prefectures.csv", "hunan_province_facts.csv",
              "hunan_2021_reported.yaml")


def data_path(name: str) -> Path:
    """Path of an embedded data file; a clear error if it is missing."""
    path = Path(str(resources.files("sim") / "data" / name))
    if not path.is_file():
        raise UserError(f"data file {name!r} is missing from {path.parent} (reinstall outreach-sim)")
    return path


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` that sum exactly to ``total`` (Hamilton's method).

    Ties in the remainders go to the lower index, so the result is deterministic.
    """
    w = np.asarray(weights, dtype=np.float64)
    if total < 0 or np.any(w < 0):
        raise ValueError("largest_remainder needs a non-negative total and weights")
    if w.sum() <= 0:
        if total == 0:
            return np.zeros(len(w), dtype=np.int64)
        raise ValueError("largest_remainder needs positive weights for a positive total")
    quota = w / w.sum() * total
    base = np.floor(quota).astype(np.int64)
    short = int(total - base.sum())
    if short > 0:
        order = np.argsort(-(quota - base), kind="stable")
        base[order[:short]] += 1
    return base


@dataclass(frozen=True)
class Admin:
    """Prefecture and county tables (pandas, a few hundred rows)."""

    prefectures: pd.DataFrame
    """code, name_zh, name_en, population (2020 census), n_townships."""
    counties: pd.DataFrame
    """code, name_zh, name_en, type, pref (row index of the prefecture), population,
    population_source ('census', 'census_adjusted' or 'synthesised'), n_townships, lon, lat, area_km2."""
    facts: dict[str, float]
    """Province census facts by key (hunan_province_facts.csv)."""


def load_admin() -> Admin:
    """Read the embedded tables and complete the county populations (see module docstring)."""
    raw = pd.read_csv(data_path("hunan_admin.csv"), dtype={"adcode": int, "prefecture_code": int})
    pref_raw = pd.read_csv(data_path("hunan_prefectures.csv"), dtype={"code": int})
    facts_raw = pd.read_csv(data_path("hunan_province_facts.csv"))
    facts = {k: float(v) for k, v in zip(facts_raw["key"], facts_raw["value"], strict=True) if _is_number(v)}

    pref = pd.DataFrame({
        "code": pref_raw["code"].to_numpy(),
        "name_zh": pref_raw["name_zh"], "name_en": pref_raw["name_en"],
        "population": pref_raw["pop_2020_census"].astype(np.int64),
    })
    pref_index = {c: i for i, c in enumerate(pref["code"])}
    pop = raw["pop_2020"].to_numpy(dtype=np.float64)
    pop_2010 = raw["pop_2010"].to_numpy(dtype=np.float64)
    n_town = raw["n_townships_2023"].to_numpy(dtype=np.int64)
    pref_of = np.array([pref_index[c] for c in raw["prefecture_code"]])

    per_town_2010 = pop_2010 / n_town
    province_median = np.nanmedian(per_town_2010)
    final = np.zeros(len(raw), dtype=np.int64)
    source = np.where(np.isnan(pop), "synthesised", "census").astype(object)
    for p in range(len(pref)):
        rows = np.flatnonzero(pref_of == p)
        census = int(pref["population"].iloc[p])
        known = rows[~np.isnan(pop[rows])]
        unknown = rows[np.isnan(pop[rows])]
        if len(unknown):
            rest = census - int(pop[known].sum())
            med = np.nanmedian(per_town_2010[rows]) if np.any(~np.isnan(pop_2010[rows])) else province_median
            weight = np.where(np.isnan(pop_2010[unknown]), n_town[unknown] * med, pop_2010[unknown])
            final[known] = pop[known].astype(np.int64)
            final[unknown] = largest_remainder(rest, weight)
        else:
            final[rows] = largest_remainder(census, pop[rows])
            if final[rows].sum() != pop[rows].sum():
                source[rows] = "census_adjusted"
    counties = pd.DataFrame({
        "code": raw["adcode"].to_numpy(), "name_zh": raw["county_zh"], "name_en": raw["county_en"],
        "type": raw["type"], "pref": pref_of, "population": final, "population_source": source,
        "n_townships": n_town, "lon": raw["centroid_lon"].to_numpy(float),
        "lat": raw["centroid_lat"].to_numpy(float), "area_km2": raw["area_km2"].to_numpy(float),
    })
    pref["n_townships"] = np.bincount(pref_of, weights=n_town, minlength=len(pref)).astype(np.int64)
    pref["n_counties"] = np.bincount(pref_of, minlength=len(pref))
    return Admin(prefectures=pref, counties=counties, facts=facts)


def _is_number(v) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True
