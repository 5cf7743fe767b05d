"""The 1,919 townships and 29,213 village associations of the synthetic province.

Owns how villages are allotted, placed and described (MODEL.md section 3):

1. Villages to counties in proportion to population, largest remainder, so the total is exact.
2. Urban communities (社区): ``urban_share`` of all villages, concentrated in districts. A county's
   urban fraction is ``min(0.9, alpha * propensity[type])`` with propensities district 3,
   county-level city 1, county 0.45, autonomous county 0.35, and ``alpha`` solved so the province
   share is met; integer counts by largest remainder.
3. Townships: a county's first ``ceil(T * U / V)`` townships are its urban subdistricts and hold
   its U urban communities; the rest hold the rural villages. Every township holds at least one
   village; the rest are split by lognormal township weights (largest remainder).
4. Places: townships are points in a disk of the county's area around its centroid (urban ones
   near the centre), villages points in a disk of the township's share of the area. Coordinates
   are km on a local plane (x east, y north) and degrees.
5. Population: a county's population split over its villages with weight 2.6 (urban) or 1 (rural)
   times lognormal noise (sigma 0.35), largest remainder. Households = population * family
   household share / household size, rounded.
6. Remoteness: minutes to the township seat at 20 km/h plus 5 minutes (urban: 15 km/h, 3 min).
7. Shares, each drawn around a documented mean: digital access (urban 0.85, rural 0.65, falling
   with remoteness), migrant outflow (urban 0.08, rural 0.30), special families (urban weight
   1.3, rural 1), hardship families (rural 1.5, rising with remoteness); special and hardship
   shares are rescaled so the expected province totals equal the configured household counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.admin import Admin, largest_remainder
from sim.config import PopulationConfig
from sim.errors import ConfigError
from sim.rng import stream

URBAN_PROPENSITY = {"district": 3.0, "county-level city": 1.0, "county": 0.45, "autonomous county": 0.35}
LON0, LAT0 = 111.5, 27.5
KM_PER_DEG_LAT = 110.57
KM_PER_DEG_LON = 111.32 * np.cos(np.radians(LAT0))


@dataclass
class Villages:
    """Townships and villages as arrays (struct of arrays)."""

    township_county: np.ndarray  # int16 [n_townships]
    township_urban: np.ndarray  # bool
    township_x: np.ndarray  # float32 km
    township_y: np.ndarray
    county: np.ndarray  # int16 [n_villages]
    township: np.ndarray  # int16
    urban: np.ndarray  # bool
    x: np.ndarray  # float32 km on the local plane
    y: np.ndarray
    population: np.ndarray  # int32 persons
    households: np.ndarray  # int32 family households
    remoteness_min: np.ndarray  # float32 minutes to the township seat
    digital_share: np.ndarray  # float32 [0, 1]
    migrant_share: np.ndarray
    special_share: np.ndarray
    hardship_share: np.ndarray

    @property
    def n(self) -> int:
        return len(self.county)

    @property
    def lon(self) -> np.ndarray:
        return LON0 + self.x / KM_PER_DEG_LON

    @property
    def lat(self) -> np.ndarray:
        return LAT0 + self.y / KM_PER_DEG_LAT


def _urban_fraction(n_villages: np.ndarray, types, target: int) -> np.ndarray:
    prop = np.array([URBAN_PROPENSITY[t] for t in types])
    lo, hi = 0.0, 100.0
    for _ in range(100):
        alpha = 0.5 * (lo + hi)
        if (np.minimum(0.9, alpha * prop) * n_villages).sum() < target:
            lo = alpha
        else:
            hi = alpha
    return np.minimum(0.9, hi * prop)


def _split(n: int, m: int, weights: np.ndarray) -> np.ndarray:
    """n villages over m townships, at least one each, the rest by weight."""
    return 1 + largest_remainder(n - m, weights[:m])


def _disk(rng: np.random.Generator, n: int, radius) -> tuple[np.ndarray, np.ndarray]:
    r = radius * np.sqrt(rng.random(n))
    a = rng.random(n) * 2 * np.pi
    return r * np.cos(a), r * np.sin(a)


def build_villages(admin: Admin, cfg: PopulationConfig) -> Villages:
    """Allot, place and describe the villages; deterministic in ``cfg.seed``."""
    c = admin.counties
    n_c = len(c)
    n_towns = int(c["n_townships"].sum())
    if cfg.n_villages < n_towns:
        raise ConfigError("population.n_villages", cfg.n_villages,
                          f"must be at least {n_towns} (one village per township)")
    rng = stream(cfg.seed, "province.villages")
    v_per_county = largest_remainder(cfg.n_villages, c["population"].to_numpy(float))
    t_per_county = np.minimum(c["n_townships"].to_numpy(), v_per_county)
    target_urban = round(cfg.urban_share * cfg.n_villages)
    frac = _urban_fraction(v_per_county, c["type"], target_urban)
    u_per_county = largest_remainder(target_urban, frac * v_per_county)
    u_per_county = np.minimum(u_per_county, v_per_county)

    cx = ((c["lon"].to_numpy() - LON0) * KM_PER_DEG_LON)
    cy = ((c["lat"].to_numpy() - LAT0) * KM_PER_DEG_LAT)
    radius_c = np.sqrt(c["area_km2"].to_numpy() / np.pi)

    t_county, t_urban, t_x, t_y = [], [], [], []
    v_county, v_town, v_urban = [], [], []
    t_offset = 0
    for i in range(n_c):
        V, T, U = int(v_per_county[i]), int(t_per_county[i]), int(u_per_county[i])
        k = min(T, int(np.ceil(T * U / V))) if U else 0
        if U and k == T and V > U:
            k = T - 1 if T > 1 else T
        w = rng.lognormal(0.0, 0.5, T)
        counts = np.zeros(T, dtype=np.int64)
        if U:
            counts[:k] += _split(U, k, w[:k])
        rural = V - U
        if rural:
            lo = k if T > k else 0
            counts[lo:] += _split(rural, T - lo, w[lo:]) if rural >= T - lo else largest_remainder(rural, w[lo:])
        urban_t = np.arange(T) < k
        dx, dy = _disk(rng, T, radius_c[i] * 0.8)
        dx[urban_t] *= 0.3
        dy[urban_t] *= 0.3
        t_county.append(np.full(T, i))
        t_urban.append(urban_t)
        t_x.append(cx[i] + dx)
        t_y.append(cy[i] + dy)
        town_of_v = np.repeat(np.arange(T), counts)
        urban_v = np.zeros(V, dtype=bool)
        urban_v[:U] = True  # the first k townships hold the U urban communities first
        v_county.append(np.full(V, i))
        v_town.append(town_of_v + t_offset)
        v_urban.append(urban_v)
        t_offset += T

    township_county = np.concatenate(t_county).astype(np.int16)
    township_urban = np.concatenate(t_urban)
    township_x = np.concatenate(t_x).astype(np.float32)
    township_y = np.concatenate(t_y).astype(np.float32)
    county = np.concatenate(v_county).astype(np.int16)
    township = np.concatenate(v_town).astype(np.int16)
    urban = np.concatenate(v_urban)
    n_v = len(county)

    area_t = (c["area_km2"].to_numpy() / np.maximum(t_per_county, 1))[township_county]
    radius_t = np.sqrt(area_t / np.pi)[township]
    dx, dy = _disk(rng, n_v, np.where(urban, 0.4, 1.0) * radius_t)
    x = (township_x[township] + dx).astype(np.float32)
    y = (township_y[township] + dy).astype(np.float32)
    dist = np.hypot(dx, dy)
    remoteness = np.where(urban, 3 + dist / 15 * 60, 5 + dist / 20 * 60).astype(np.float32)

    weight = np.where(urban, 2.6, 1.0) * rng.lognormal(0.0, 0.35, n_v)
    population = np.zeros(n_v, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(v_per_county)])
    for i in range(n_c):
        s, e = starts[i], starts[i + 1]
        population[s:e] = largest_remainder(int(c["population"].iloc[i]), weight[s:e])
    households = np.maximum(1, np.rint(population * cfg.family_household_share / cfg.avg_household_size))

    def beta(mean, conc=20.0):
        mean = np.clip(mean, 0.01, 0.99)
        return rng.beta(mean * conc, (1 - mean) * conc)

    digital = beta(np.where(urban, 0.85, 0.65 - 0.004 * (remoteness - 15)))
    migrant = beta(np.where(urban, 0.08, 0.30))
    special_w = np.where(urban, 1.3, 1.0) * rng.gamma(4.0, 0.25, n_v)
    hardship_w = np.where(urban, 1.0, 1.5) * (1 + remoteness / 30) * rng.gamma(4.0, 0.25, n_v)
    special = special_w * cfg.special_households / (special_w * households).sum()
    hardship = hardship_w * cfg.hardship_households / (hardship_w * households).sum()

    return Villages(
        township_county=township_county, township_urban=township_urban,
        township_x=township_x, township_y=township_y,
        county=county, township=township, urban=urban, x=x, y=y,
        population=population.astype(np.int32), households=households.astype(np.int32),
        remoteness_min=remoteness,
        digital_share=digital.astype(np.float32), migrant_share=migrant.astype(np.float32),
        special_share=np.minimum(special, 1).astype(np.float32),
        hardship_share=np.minimum(hardship, 1).astype(np.float32),
    )
