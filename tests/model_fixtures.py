"""Fixtures and helpers for the model tests: hand-built tiny provinces, a small real province,
configs with deterministic (0/1) probabilities, village relabelling and state snapshots.

Import what you need from here in a test module; the pytest fixtures defined here are made
visible to a test module by ``pytest_plugins = ("model_fixtures",)`` or by importing them.
Every province is built into a temporary cache (never ``~/.cache/outreach-sim``).
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from sim.admin import Admin, load_admin
from sim.config import (
    ActivitiesConfig,
    DiffusionConfig,
    FundingConfig,
    NetworkConfig,
    PopulationConfig,
    RunConfig,
    StaffingConfig,
)
from sim.population import Families
from sim.province import Province, build_province
from sim.villages import Villages

SMALL_SCALE = 0.005
"""Scale of the real-province runs (about 114,000 simulated families, weight about 200)."""

# ---------------------------------------------------------------- the tiny province
# Two prefectures, three counties, five townships, ten villages, fifty families (weight 1).
#
#   prefecture 0 (pop 4000): county 0 (pop 1000, township 0: village 0)
#                            county 1 (pop 3000, township 1: villages 1, 2; township 2: village 3)
#   prefecture 1 (pop 6000): county 2 (pop 6000, township 3: villages 4, 5, 6 (urban);
#                                               township 4: villages 7, 8, 9)
#
# Villages per county (1, 3, 6) are proportional to the county populations, so the default
# 1,452 family health sites (capped at 10) put a site in every village.
# Network: the path 0-1-2-3-4-5-6-7-8 plus the chord 1-3; village 9 is isolated.
# Villages 5 and 9 have no special or hardship family (nothing to visit there).

TINY_PREF_POP = np.array([4000, 6000])
TINY_COUNTY_PREF = np.array([0, 0, 1])
TINY_COUNTY_POP = np.array([1000, 3000, 6000])
TINY_COUNTY_TOWNSHIPS = np.array([1, 2, 2])
TINY_TOWNSHIP_COUNTY = np.array([0, 1, 1, 2, 2])
TINY_VILLAGE_TOWNSHIP = np.array([0, 1, 1, 2, 3, 3, 3, 4, 4, 4])
TINY_FAMILIES_PER_VILLAGE = np.array([4, 5, 3, 6, 8, 7, 5, 4, 6, 2])
TINY_REMOTENESS = np.array([10.0, 5.0, 20.0, 40.0, 3.0, 4.0, 6.0, 15.0, 30.0, 60.0])
TINY_EDGES = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7), (7, 8), (1, 3)]
TINY_NO_ELIGIBLE = (5, 9)


def make_admin(pref_pop, county_pref, county_pop, county_townships) -> Admin:
    """An :class:`Admin` with the columns :func:`sim.admin.load_admin` produces."""
    pref_pop = np.asarray(pref_pop, dtype=np.int64)
    county_pref = np.asarray(county_pref, dtype=np.int64)
    n_p, n_c = len(pref_pop), len(county_pref)
    county_townships = np.asarray(county_townships, dtype=np.int64)
    prefectures = pd.DataFrame({
        "code": 4390 + np.arange(1, n_p + 1),
        "name_zh": [f"测{i}市" for i in range(n_p)],
        "name_en": [f"Test Prefecture {i}" for i in range(n_p)],
        "population": pref_pop,
        "n_townships": np.bincount(county_pref, weights=county_townships, minlength=n_p).astype(np.int64),
        "n_counties": np.bincount(county_pref, minlength=n_p).astype(np.int64),
    })
    counties = pd.DataFrame({
        "code": 439000 + np.arange(1, n_c + 1),
        "name_zh": [f"测{i}县" for i in range(n_c)],
        "name_en": [f"Test County {i}" for i in range(n_c)],
        "type": ["county"] * n_c,
        "pref": county_pref,
        "population": np.asarray(county_pop, dtype=np.int64),
        "population_source": ["census"] * n_c,
        "n_townships": county_townships,
        "lon": 112.0 + 0.1 * np.arange(n_c),
        "lat": 27.0 + 0.1 * np.arange(n_c),
        "area_km2": np.full(n_c, 500.0),
    })
    return Admin(prefectures=prefectures, counties=counties, facts={})


def make_province(admin: Admin, *, township_county, village_township, families: dict,
                  remoteness=None, urban=None, edges=None, network_kind: str = "geo") -> Province:
    """A :class:`Province` from arrays. ``families`` holds per-family arrays (any order; they
    are sorted by village here); weight is 1 (full scale == simulated)."""
    township_county = np.asarray(township_county)
    village_township = np.asarray(village_township)
    n_v, n_t = len(village_township), len(township_county)
    county = township_county[village_township]
    fam = {k: np.asarray(v) for k, v in families.items()}
    order = np.argsort(fam["village"], kind="stable")
    fam = {k: v[order] for k, v in fam.items()}
    n_per_v = np.bincount(fam["village"], minlength=n_v)
    start = np.zeros(n_v + 1, dtype=np.int64)
    np.cumsum(n_per_v, out=start[1:])
    rem = np.full(n_v, 10.0) if remoteness is None else np.asarray(remoteness, dtype=np.float64)
    urb = np.zeros(n_v, dtype=bool) if urban is None else np.asarray(urban, dtype=bool)
    size = fam["size"].astype(np.int64)
    per_v = lambda x: np.bincount(fam["village"], weights=x, minlength=n_v)  # noqa: E731
    n_safe = np.maximum(n_per_v, 1)
    villages = Villages(
        township_county=township_county.astype(np.int16),
        township_urban=np.zeros(n_t, dtype=bool),
        township_x=np.arange(n_t, dtype=np.float32) * 10,
        township_y=np.zeros(n_t, dtype=np.float32),
        county=county.astype(np.int16),
        township=village_township.astype(np.int16),
        urban=urb,
        x=np.arange(n_v, dtype=np.float32),
        y=np.ones(n_v, dtype=np.float32),
        population=per_v(size).astype(np.int32),
        households=n_per_v.astype(np.int32),
        remoteness_min=rem.astype(np.float32),
        digital_share=(per_v(fam["digital"]) / n_safe).astype(np.float32),
        migrant_share=(per_v(fam["migrant"]) / n_safe).astype(np.float32),
        special_share=(per_v(fam["special"]) / n_safe).astype(np.float32),
        hardship_share=(per_v(fam["hardship"]) / n_safe).astype(np.float32),
    )
    families_ = Families(
        village=fam["village"].astype(np.int32), size=fam["size"].astype(np.uint8),
        n_youth=fam["n_youth"].astype(np.uint8), n_infant=fam["n_infant"].astype(np.uint8),
        n_elderly=fam["n_elderly"].astype(np.uint8), special=fam["special"].astype(bool),
        hardship=fam["hardship"].astype(bool), migrant=fam["migrant"].astype(bool),
        digital=fam["digital"].astype(bool), village_start=start, weight=1.0)
    if network_kind == "well_mixed":
        network = None
    else:
        network = adjacency(n_v, [] if network_kind == "isolated" else (edges or []))
    return Province(admin=admin, villages=villages, families=families_, network=network,
                    network_kind=network_kind, scale=1.0, seed=7)


def adjacency(n: int, edges) -> sp.csr_matrix:
    """A symmetric 0/1 float32 csr matrix with the given undirected edges."""
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    rows = np.concatenate([e[:, 0], e[:, 1]])
    cols = np.concatenate([e[:, 1], e[:, 0]])
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n, n))


def tiny_families(families_per_village=TINY_FAMILIES_PER_VILLAGE, no_eligible=TINY_NO_ELIGIBLE) -> dict:
    """Per-family arrays of the tiny province (a fixed pattern, no randomness)."""
    village = np.repeat(np.arange(len(families_per_village)), families_per_village)
    i = np.arange(len(village))
    size = 1 + i % 5
    n_elderly = (i % 3 == 0).astype(int) * np.minimum(size, 2)
    n_youth = np.minimum(size - n_elderly, (i % 4 == 2) + (i % 7 == 3))
    n_infant = np.minimum(size - n_elderly - n_youth, (i % 6 == 1).astype(int))
    quiet = np.isin(village, no_eligible)
    return {
        "village": village, "size": size, "n_youth": n_youth, "n_infant": n_infant,
        "n_elderly": n_elderly, "special": (i % 6 == 0) & ~quiet, "hardship": (i % 4 == 1) & ~quiet,
        "migrant": i % 5 == 2, "digital": i % 2 == 0,
    }


def tiny_province(network_kind: str = "geo") -> Province:
    """The tiny province described at the top of this module."""
    admin = make_admin(TINY_PREF_POP, TINY_COUNTY_PREF, TINY_COUNTY_POP, TINY_COUNTY_TOWNSHIPS)
    urban = np.isin(np.arange(10), (4, 5, 6))
    return make_province(admin, township_county=TINY_TOWNSHIP_COUNTY,
                         village_township=TINY_VILLAGE_TOWNSHIP, families=tiny_families(),
                         remoteness=TINY_REMOTENESS, urban=urban, edges=TINY_EDGES,
                         network_kind=network_kind)


def permute_villages(p: Province, order: np.ndarray) -> tuple[Province, np.ndarray]:
    """Relabel villages: new village ``j`` is old village ``order[j]``.

    Families keep their attributes, move to their village's new label and are re-sorted by it;
    the network's rows and columns are permuted alike; townships, counties and prefectures
    are unchanged. Returns the new province and ``rows`` with new family row ``k`` == old
    family row ``rows[k]``.
    """
    order = np.asarray(order)
    inv = np.empty_like(order)
    inv[order] = np.arange(len(order))
    v = p.villages
    per_village = {f.name: getattr(v, f.name)[order] for f in dataclasses.fields(Villages)
                   if not f.name.startswith("township_")}
    villages = dataclasses.replace(v, **per_village)
    f = p.families
    new_village = inv[f.village]
    rows = np.argsort(new_village, kind="stable")
    n_per_v = np.bincount(new_village, minlength=v.n)
    start = np.zeros(v.n + 1, dtype=np.int64)
    np.cumsum(n_per_v, out=start[1:])
    arrays = {k: a[rows] for k, a in f.arrays().items() if k not in ("village", "village_start")}
    families = Families(village=new_village[rows].astype(np.int32), village_start=start,
                        weight=f.weight, **arrays)
    network = None if p.network is None else p.network[order][:, order].tocsr()
    return dataclasses.replace(p, villages=villages, families=families, network=network), rows


# ---------------------------------------------------------------- configs


def run_config(*, months: int = 1, seed: int = 1, scale: float = SMALL_SCALE, cache_dir: str = "",
               funding: dict | None = None, staffing: dict | None = None,
               activities: dict | None = None, diffusion: dict | None = None,
               network: dict | None = None) -> RunConfig:
    """A :class:`RunConfig` with the given overrides per group (and no progress bar)."""
    return RunConfig(
        seed=seed, months=months, progress=False,
        population=PopulationConfig(scale=scale, cache_dir=cache_dir),
        network=NetworkConfig(**(network or {})),
        funding=FundingConfig(**(funding or {})),
        staffing=StaffingConfig(**(staffing or {})),
        activities=ActivitiesConfig(**(activities or {})),
        diffusion=DiffusionConfig(**(diffusion or {})),
    )


AMPLE_MONEY = {"multiplier": 10.0, "raised_visit_funds_yuan": 1e12, "insurance_funds_yuan": 1e12,
               "nursing_subsidy_funds_yuan": 1e12, "livelihood_funds_yuan": 1e12,
               "county_budget_yuan": 1e12, "prefecture_budget_yuan": 1e12,
               "provincial_budget_yuan": 1e12}
"""Funding under which no channel runs short at any scale."""

ZERO_MONEY = {"multiplier": 0.0, "raised_funds_multiplier": 0.0, "county_min_yuan_per_resident": 0.0}
"""No money in any pot (association budgets and project funds, raised funds)."""

ZERO_STAFF = {"prefecture_staff": 0, "county_staff": 0, "township_staff_share": 0.0,
              "township_staff_min": 0, "officers_per_village": 0, "volunteers_per_village": 0}


def deterministic_config(months: int = 3, seed: int = 1, **over) -> RunConfig:
    """A config for the tiny province (weight 1) in which every random decision has probability
    0 or 1 (in float32 and float64): everyone due is visited, contacts are assigned to all,
    everyone who attends becomes aware, and word of mouth makes every family aware whose
    village or a neighbour has an aware family. Lectures and policy events are off (their reach
    cannot be made certain); so are family health events (they would reach everybody), county
    online outreach and the province's web publicity (the provincial outreach money buys the
    three livestreams exactly: 0.9 M x 0.5 x 10 = 3 x 1.5 M)."""
    groups = {
        "funding": dict(AMPLE_MONEY, policy="per_capita", online_shift=0.0, provincial_budget_yuan=9e5,
                        provincial_outreach_share=0.5),
        "staffing": {"county_staff": 1000, "officer_hours_per_month": 700, "township_staff_share": 1.0,
                     "p_volunteer_leave_month": 0.0, "p_volunteer_recruit_month": 0.0,
                     "volunteer_stipend_yuan_per_month": 0.0, "lecturer_share": 0.0,
                     "lecturer_target_share": 0.0},
        "activities": {"youth_lecture_target_share": 0.0, "policy_events_per_county_year": 0.0,
                       "family_health_events_per_site_year": 0.0, "elderly_difficulty_share": 0.0,
                       "visits_per_eligible_family_year": 1000.0, "p_visit_health_education": 1.0,
                       "initial_insured_share": 0.0, "p_insurance_enrol_month": 1.0,
                       "p_hospital_person_month": 1.0, "initial_contact_share": 0.0,
                       "p_contact_assign_month": 1.0, "p_green_channel_month": 1.0,
                       "initial_green_channel_share": 0.0, "initial_family_doctor_share": 0.0,
                       "p_family_doctor_month": 1.0, "livelihood_target_share": 1.0,
                       "livestream_months": (1, 2, 3), "p_view_livestream": (1.0, 1.0, 1.0),
                       "livestream_topics": ("youth", "youth", "youth"), "livestream_cost_yuan": 1.5e6},
        "diffusion": {"p_ext": 0.0, "q": 1e4, "hazard_attend": 60.0, "hazard_online": 60.0,
                      "initial_health_aware": 0.0},
    }
    for g, d in over.items():
        groups[g] = {**groups.get(g, {}), **d}
    return run_config(months=months, seed=seed, scale=1.0, **groups)


# ---------------------------------------------------------------- snapshots


def snapshot(m) -> dict:
    """Copies of every per-family, per-volunteer and per-county state array of a model."""
    vol = m.volunteers
    return {
        "state": {k: v.copy() for k, v in m.state.items()},
        "aware": {k: v.copy() for k, v in m.aware.items()},
        "volunteers": {k: getattr(vol, k).copy() for k in ("village", "active", "hours_per_month",
                                                            "month_joined", "uid")},
        "trained": m.trained.copy(),
        "cm": {k: v[:m.month].copy() for k, v in m.cm.items()},
        "binding": m.binding[:m.month].copy(),
        "hours_used_c": m.hours_used_c[:m.month].copy(),
        "spent_year": copy.deepcopy(m.spent_year),
        "ledger": {f"{pot}.{use}": v for (pot, use), v in m.ledger.year.items()},
    }


def differences(a: dict, b: dict, prefix: str = "") -> list[str]:
    """Names of the arrays that differ between two (nested) snapshots (or are in one only)."""
    out = [f"{prefix}{k}" for k in b if k not in a]
    for k in a:
        if k not in b:
            out.append(f"{prefix}{k}")
            continue
        x, y = a[k], b[k]
        if isinstance(x, dict):
            out += differences(x, y, f"{prefix}{k}.")
        elif np.shape(x) != np.shape(y) or not np.array_equal(x, y):
            out.append(f"{prefix}{k}")
    return out


# ---------------------------------------------------------------- session fixtures


@pytest.fixture(scope="session")
def model_cache_dir(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("model-province-cache"))


@pytest.fixture(scope="session")
def small_province(model_cache_dir) -> Province:
    """The default (geo) province at scale 0.005, built once into a temporary cache."""
    return build_province(PopulationConfig(scale=SMALL_SCALE, cache_dir=model_cache_dir), NetworkConfig(),
                          progress=False)


@pytest.fixture(scope="session")
def real_admin() -> Admin:
    return load_admin()


@pytest.fixture(scope="session")
def baseline_run(small_province, model_cache_dir):
    """A 12-month baseline run on the scale-0.005 province (do not mutate)."""
    from sim.model import OutreachModel

    m = OutreachModel(run_config(months=12, cache_dir=model_cache_dir), small_province)
    return m.run()
