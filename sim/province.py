"""The synthetic Hunan province: build it from a seed, cache it on disk, show it.

A :class:`Province` bundles the admin tables (14 prefectures, 122 counties), the 1,919
townships and 29,213 villages (:mod:`sim.villages`), the sampled families
(:mod:`sim.population`) and the village network (:mod:`sim.network`). Building is
deterministic in ``population.seed``; the result is cached under a key made of everything
that affects it (the builder version, the embedded data files, the population and network
configs), so the second build of the same province loads from disk.

Run ``python -m sim.province --help`` to see it.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from sim.admin import DATA_FILES, Admin, data_path, load_admin
from sim.compose import compose_run_config, without_neutral
from sim.config import NetworkConfig, PopulationConfig, StaffingConfig
from sim.errors import UserError
from sim.network import build_network, describe
from sim.population import Families, make_volunteers, sample_families
from sim.progress import Progress
from sim.villages import Villages, build_villages

BUILD_VERSION = 1
"""Bump when the builder changes what it produces (invalidates every cache entry)."""


@dataclass
class Province:
    admin: Admin
    villages: Villages
    families: Families
    network: sp.csr_matrix | None
    network_kind: str
    scale: float
    seed: int
    build_seconds: float = 0.0
    cache_hit: bool = False
    cache_path: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def n_counties(self) -> int:
        return len(self.admin.counties)

    @property
    def n_prefectures(self) -> int:
        return len(self.admin.prefectures)

    @property
    def village_pref(self) -> np.ndarray:
        return self.admin.counties["pref"].to_numpy()[self.villages.county]


def cache_root(cfg: PopulationConfig) -> Path:
    if cfg.cache_dir:
        return Path(cfg.cache_dir).expanduser()
    env = os.environ.get("OUTREACH_SIM_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "outreach-sim"


def cache_key(pop: PopulationConfig, net: NetworkConfig) -> str:
    """A hash of everything that affects the built province (not :data:`sim.compose.NEUTRAL_KEYS`)."""
    h = hashlib.sha256()
    h.update(f"build-v{BUILD_VERSION}".encode())
    for name in DATA_FILES:
        h.update(data_path(name).read_bytes())
    d = without_neutral({"population": dataclasses.asdict(pop), "network": dataclasses.asdict(net)})
    h.update(json.dumps(d, sort_keys=True).encode())
    return h.hexdigest()[:20]


def _save(path: Path, villages: Villages, families: Families, network, meta: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=path.parent))
    try:
        for f in dataclasses.fields(villages):
            np.save(tmp / f"v_{f.name}.npy", getattr(villages, f.name))
        for name, arr in families.arrays().items():
            np.save(tmp / f"f_{name}.npy", arr)
        if network is not None:
            np.save(tmp / "n_indptr.npy", network.indptr)
            np.save(tmp / "n_indices.npy", network.indices)
        (tmp / "meta.json").write_text(json.dumps(meta | {"weight": families.weight}))
        try:
            os.replace(tmp, path)
        except OSError:  # another process cached the same province first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _load(path: Path):
    meta = json.loads((path / "meta.json").read_text())
    villages = Villages(**{f.name: np.load(path / f"v_{f.name}.npy") for f in dataclasses.fields(Villages)})
    fam = {f.name: np.load(path / f"f_{f.name}.npy") for f in dataclasses.fields(Families) if f.name != "weight"}
    families = Families(**fam, weight=meta["weight"])
    network = None
    if (path / "n_indptr.npy").exists():
        indptr = np.load(path / "n_indptr.npy")
        indices = np.load(path / "n_indices.npy")
        network = sp.csr_matrix((np.ones(len(indices), np.float32), indices, indptr),
                                shape=(villages.n, villages.n))
    return villages, families, network, meta


def build_province(pop: PopulationConfig | None = None, net: NetworkConfig | None = None, *,
                   progress: bool | None = None) -> Province:
    """Build the province, or load it from the cache when an identical one was built before."""
    pop = pop or PopulationConfig()
    net = net or NetworkConfig()
    t0 = time.perf_counter()
    admin = load_admin()
    key = cache_key(pop, net)
    path = cache_root(pop) / f"province-{key}"
    if pop.use_cache and (path / "meta.json").exists():
        villages, families, network, meta = _load(path)
        hit = True
    else:
        with Progress("building province", 3, enabled=progress) as bar:
            bar.step("villages")
            villages = build_villages(admin, pop)
            bar.step("families")
            families = sample_families(villages, pop)
            bar.step("network")
            network = build_network(villages, admin.counties["pref"].to_numpy(), net, pop.seed)
        meta = {"key": key, "build_version": BUILD_VERSION, "built_seconds": time.perf_counter() - t0}
        hit = False
        if pop.use_cache:
            try:
                _save(path, villages, families, network, meta)
            except OSError as e:
                print(f"warning: could not cache the province in {path.parent}: {e}", file=sys.stderr)
    return Province(admin=admin, villages=villages, families=families, network=network,
                    network_kind=net.kind, scale=pop.scale, seed=pop.seed,
                    build_seconds=time.perf_counter() - t0, cache_hit=hit, cache_path=str(path),
                    meta=meta)


def summarize(p: Province, staffing: StaffingConfig | None = None) -> dict:
    """The province's headline numbers (the keys of ``python -m sim.province --json``)."""
    staffing = staffing or StaffingConfig()
    v, f = p.villages, p.families
    degree, comps = describe(p.network, v.n)
    w = f.weight
    n_vol = len(make_volunteers(v.n, staffing.volunteers_per_village, 0.0).village)
    return {
        "n_prefectures": p.n_prefectures,
        "n_counties": p.n_counties,
        "n_townships": int(len(v.township_county)),
        "n_villages": int(v.n),
        "n_urban_communities": int(v.urban.sum()),
        "population": int(v.population.sum()),
        "n_households_full_scale": int(v.households.sum()),
        "n_families_simulated": int(f.n),
        "scale": p.scale,
        "family_weight": round(w, 4),
        "n_special_households": round(float(f.special.sum()) * w),
        "n_hardship_households": round(float(f.hardship.sum()) * w),
        "n_volunteers": n_vol,
        "network_kind": p.network_kind,
        "network_mean_degree": round(degree, 3),
        "network_components": comps,
        "seed": p.seed,
        "build_seconds": round(p.build_seconds, 3),
        "cache_hit": p.cache_hit,
        "cache_path": p.cache_path,
    }


def prefecture_table(p: Province) -> list[dict]:
    """Per prefecture: counties, townships, villages, urban communities, population, households."""
    pref = p.admin.prefectures
    vpref = p.village_pref
    v = p.villages
    fpref = vpref[p.families.village]
    rows = []
    for i in range(len(pref)):
        m = vpref == i
        rows.append({
            "prefecture": pref["name_en"].iloc[i], "name_zh": pref["name_zh"].iloc[i],
            "counties": int(pref["n_counties"].iloc[i]), "townships": int(pref["n_townships"].iloc[i]),
            "villages": int(m.sum()), "urban": int(v.urban[m].sum()),
            "population": int(v.population[m].sum()), "census": int(pref["population"].iloc[i]),
            "households": int(v.households[m].sum()),
            "special": round(float(p.families.special[fpref == i].sum()) * p.families.weight),
        })
    return rows


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.province [--json] [key=value ...]``: build or load the province, print it.

    Overrides are composed as ``outreach-sim`` composes them (:func:`sim.compose.compose_run_config`);
    the population, network and staffing groups describe the province.
    """
    ap = argparse.ArgumentParser(
        prog="python -m sim.province",
        description="Build (or load from the cache) the synthetic Hunan province and describe it.",
        epilog="Overrides: population.scale=0.05, population.seed=7, network.kind=well_mixed, "
               "staffing.volunteers_per_village=5, population.use_cache=false, ... "
               "(any field of the population, network or staffing config; any override of outreach-sim, "
               "e.g. population=full or scenario=volunteer_drive).")
    ap.add_argument("overrides", nargs="*", help="group.key=value settings")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = ap.parse_args(argv)
    try:
        cfg = compose_run_config(args.overrides)
        staffing = cfg.staffing
        province = build_province(cfg.population, cfg.network, progress=None if cfg.progress else False)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    s = summarize(province, staffing)
    if args.json:
        print(json.dumps(s))
        return 0
    width = max(map(len, s))
    for k, v in s.items():
        print(f"{k:<{width}}  {v:,}" if isinstance(v, int) and not isinstance(v, bool) else f"{k:<{width}}  {v}")
    print()
    rows = prefecture_table(province)
    cols = list(rows[0])
    print("  ".join(f"{c:>12}" if c not in ("prefecture", "name_zh") else f"{c:<14}" for c in cols))
    for r in rows:
        print("  ".join(f"{r[c]:>12,}" if isinstance(r[c], int) else f"{str(r[c])[:14]:<14}" for c in cols))
    return 0


if __name__ == "__main__":
    sys.exit(main())
