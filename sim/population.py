"""Families and volunteers as vectorized agents (struct of arrays, one row per agent).

Families are sampled at ``population.scale``: village *v* gets ``floor(s * H_v)`` families plus
one more with probability ``frac(s * H_v)`` (stratified rounding), so the simulated count is
``s * H`` within sampling error. Each simulated family stands for ``weight = H / n`` families
of the province; every count the model reports is multiplied by it.

Members: size ``1 + Poisson(avg_household_size - 1)`` (max 10); then members 60+, 10-24 and
0-3 by successive binomial draws with the census age shares (60+ 19.88 %; 10-24 and 0-3
derived from the 0-14 share of 19.52 %). Flags special, hardship, migrant and digital are
Bernoulli draws with the village's shares. Families are sorted by village, so a village's
families are a contiguous slice (``village_start``).

Volunteers are full-scale (not sampled): a volunteer's hours serve the simulated families in
proportion to their weight.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sim.config import PopulationConfig
from sim.rng import stream
from sim.villages import Villages


@dataclass
class Families:
    """One row per simulated family, sorted by village."""

    village: np.ndarray  # int32
    size: np.ndarray  # uint8 members
    n_youth: np.ndarray  # uint8 members aged 10-24
    n_infant: np.ndarray  # uint8 members aged 0-3
    n_elderly: np.ndarray  # uint8 members aged 60+
    special: np.ndarray  # bool: lost or has a disabled only child
    hardship: np.ndarray  # bool
    migrant: np.ndarray  # bool: a member works away
    digital: np.ndarray  # bool: internet access
    village_start: np.ndarray  # int64 [n_villages + 1] row offsets
    weight: float  # families of the province per simulated family

    @property
    def n(self) -> int:
        return len(self.village)

    def arrays(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "weight"}


def sample_families(villages: Villages, cfg: PopulationConfig) -> Families:
    """Draw the families of every village at ``cfg.scale``; deterministic in ``cfg.seed``."""
    rng = stream(cfg.seed, "province.families")
    expected = villages.households.astype(np.float64) * cfg.scale
    n_v = np.floor(expected).astype(np.int64)
    n_v += rng.random(len(n_v)) < (expected - n_v)
    village = np.repeat(np.arange(villages.n, dtype=np.int32), n_v)
    n = len(village)
    size = np.minimum(10, 1 + rng.poisson(cfg.avg_household_size - 1, n)).astype(np.uint8)
    p_e, p_y, p_i = cfg.elderly_share, cfg.youth_share, cfg.infant_share
    n_elderly = rng.binomial(size, p_e).astype(np.uint8)
    rest = size - n_elderly
    n_youth = rng.binomial(rest, min(1.0, p_y / (1 - p_e))).astype(np.uint8)
    n_infant = rng.binomial(rest - n_youth, min(1.0, p_i / (1 - p_e - p_y))).astype(np.uint8)

    def flag(share: np.ndarray) -> np.ndarray:
        return rng.random(n, dtype=np.float32) < share[village]

    special = flag(villages.special_share)
    hardship = flag(villages.hardship_share)
    migrant = flag(villages.migrant_share)
    digital = flag(villages.digital_share)
    start = np.zeros(villages.n + 1, dtype=np.int64)
    np.cumsum(n_v, out=start[1:])
    weight = float(villages.households.sum()) / max(n, 1)
    return Families(village=village, size=size, n_youth=n_youth, n_infant=n_infant,
                    n_elderly=n_elderly, special=special, hardship=hardship, migrant=migrant,
                    digital=digital, village_start=start, weight=weight)


@dataclass
class Volunteers:
    """One row per volunteer (full scale). Rows are appended on recruitment, never removed."""

    village: np.ndarray  # int32
    active: np.ndarray  # bool
    hours_per_month: np.ndarray  # float32
    month_joined: np.ndarray  # int16 (0 = at the start)
    uid: np.ndarray  # uint64: village id * 2**24 + serial within the village (stable across scenarios)
    village_id: np.ndarray | None = None
    """Id of each village in the uids: its row in the whole province (a region run's villages are
    numbered from 0; None: the village itself), so a volunteer's draws are the same in both."""

    @property
    def n_active(self) -> int:
        return int(self.active.sum())

    def append(self, village: np.ndarray, hours: float, month: int) -> None:
        """Add volunteers (``village`` sorted); their serials follow the village's last one."""
        village = np.asarray(village, dtype=np.int64)
        last = np.zeros(int(village.max()) + 1 if len(village) else 0, dtype=np.int64)
        if len(village):
            mine = self.village < len(last)
            np.maximum.at(last, self.village[mine], (self.uid[mine] & np.uint64(2**24 - 1)).astype(np.int64) + 1)
        rank = np.arange(len(village)) - np.searchsorted(village, village)
        serial = last[village] + rank
        ids = village if self.village_id is None else self.village_id[village]
        self.uid = np.concatenate([self.uid, (ids.astype(np.uint64) << np.uint64(24)) | serial.astype(np.uint64)])
        self.village = np.concatenate([self.village, village.astype(np.int32)])
        self.active = np.concatenate([self.active, np.ones(len(village), dtype=bool)])
        self.hours_per_month = np.concatenate(
            [self.hours_per_month, np.full(len(village), hours, dtype=np.float32)])
        self.month_joined = np.concatenate([self.month_joined, np.full(len(village), month, dtype=np.int16)])


def make_volunteers(n_villages: int, per_village: float, hours_per_month: float,
                    village_id: np.ndarray | None = None) -> Volunteers:
    """``per_village`` volunteers in every village (a fractional part is spread by village index
    so the total is ``round(per_village * n_villages)``); ``village_id``: see :class:`Volunteers`."""
    whole = int(np.floor(per_village))
    extra = round((per_village - whole) * n_villages)
    counts = np.full(n_villages, whole, dtype=np.int64)
    if extra:
        counts[np.linspace(0, n_villages - 1, extra).astype(np.int64)] += 1
    village = np.repeat(np.arange(n_villages, dtype=np.int32), counts)
    n = len(village)
    serial = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
    ids = village if village_id is None else np.asarray(village_id)[village]
    uid = (ids.astype(np.uint64) << np.uint64(24)) | serial.astype(np.uint64)
    return Volunteers(village=village, active=np.ones(n, dtype=bool),
                      hours_per_month=np.full(n, hours_per_month, dtype=np.float32),
                      month_joined=np.zeros(n, dtype=np.int16), uid=uid, village_id=village_id)
