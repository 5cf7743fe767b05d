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
import zlib
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
from sim.region import Region, resolve_region, restrict
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
    region: Region | None = None
    """Set when the province is cut to one prefecture or county (:func:`sim.region.restrict`)."""

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


TMP_MAX_AGE = 3600.0
"""Seconds after which a leftover ``.tmp-*`` build folder in the cache is removed."""


class BadCacheEntry(Exception):
    """A cache entry that cannot be trusted (the message says what is wrong with it)."""


def _checksum(arr: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(arr).view(np.uint8).reshape(-1).data) if arr.size else 0


def _meta_check(meta: dict) -> str:
    """A hash of the meta fields that decide what a load returns."""
    fields = {k: meta.get(k) for k in ("key", "build_version", "weight", "files")}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:20]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _clean_stale_tmp(root: Path) -> None:
    """Remove ``.tmp-*`` folders left by builds that died: older than an hour, or whose writer is gone."""
    try:
        entries = list(root.glob(".tmp-*"))
    except OSError:
        return
    now = time.time()
    for tmp in entries:
        try:
            if not tmp.is_dir():
                continue
            stale = now - tmp.stat().st_mtime > TMP_MAX_AGE
            parts = tmp.name.split("-")
            if not stale and len(parts) >= 3 and parts[1].isdigit():
                stale = int(parts[1]) != os.getpid() and not _pid_alive(int(parts[1]))
        except OSError:
            continue
        if stale:
            shutil.rmtree(tmp, ignore_errors=True)


def _quarantine(path: Path, reason: str) -> None:
    """Move a bad entry aside (``<entry>.bad-<time>``) and say so in one line on stderr."""
    bad = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
    try:
        os.replace(path, bad)
        where = f"moved to {bad.name}"
    except OSError:  # another process moved it first, or the folder is read-only
        where = "could not move it aside" if path.exists() else "already moved"
    print(f"warning: bad province cache entry {path} ({reason}); {where}; rebuilding", file=sys.stderr)


def _save(path: Path, villages: Villages, families: Families, network, meta: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{os.getpid()}-", dir=path.parent))
    try:
        arrays = {f"v_{f.name}": getattr(villages, f.name) for f in dataclasses.fields(villages)}
        arrays |= {f"f_{name}": arr for name, arr in families.arrays().items()}
        if network is not None:
            arrays |= {"n_indptr": network.indptr, "n_indices": network.indices}
        files = {}
        for name, arr in arrays.items():
            arr = np.ascontiguousarray(arr)
            np.save(tmp / f"{name}.npy", arr)
            files[name] = {"shape": list(arr.shape), "dtype": arr.dtype.str, "crc32": _checksum(arr)}
        meta = meta | {"weight": families.weight, "files": files}
        meta["check"] = _meta_check(meta)
        (tmp / "meta.json").write_text(json.dumps(meta))
        try:
            os.replace(tmp, path)
        except OSError:  # another process cached the same province first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _load(path: Path, key: str):
    """Load and verify an entry; raise :class:`BadCacheEntry` saying what is wrong with it."""
    try:
        text = (path / "meta.json").read_text()
    except FileNotFoundError:
        raise BadCacheEntry("meta.json is missing") from None
    except (OSError, UnicodeDecodeError) as e:
        raise BadCacheEntry(f"meta.json is unreadable: {e}") from None
    try:
        meta = json.loads(text)
    except ValueError:
        raise BadCacheEntry("meta.json is not valid JSON") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("files"), dict):
        raise BadCacheEntry("meta.json lacks the file list (an old or foreign entry)")
    if meta.get("key") != key:
        raise BadCacheEntry(f"its key {meta.get('key')!r} is not {key!r}")
    if meta.get("check") != _meta_check(meta):
        raise BadCacheEntry("meta.json was changed (checksum mismatch)")
    files = meta["files"]
    expected = [f"v_{f.name}" for f in dataclasses.fields(Villages)]
    expected += [f"f_{f.name}" for f in dataclasses.fields(Families) if f.name != "weight"]
    if "n_indptr" in files or "n_indices" in files:
        expected += ["n_indptr", "n_indices"]
    if sorted(files) != sorted(expected):
        raise BadCacheEntry("meta.json lists the wrong array files")
    def read(name: str) -> np.ndarray:
        try:
            arr = np.load(path / f"{name}.npy", allow_pickle=False)
        except FileNotFoundError:
            raise BadCacheEntry(f"{name}.npy is missing") from None
        except Exception as e:  # noqa: BLE001 - truncated or garbage .npy files raise many kinds
            raise BadCacheEntry(f"{name}.npy is unreadable ({type(e).__name__})") from None
        info = files[name]
        if not isinstance(info, dict) or list(arr.shape) != info.get("shape") \
                or arr.dtype.str != info.get("dtype"):
            raise BadCacheEntry(f"{name}.npy has shape {arr.shape} {arr.dtype}, not {info}")
        if _checksum(arr) != info.get("crc32"):
            raise BadCacheEntry(f"{name}.npy checksum mismatch")
        return arr

    arrays = {name: read(name) for name in expected}
    try:
        villages = Villages(**{f.name: arrays[f"v_{f.name}"] for f in dataclasses.fields(Villages)})
        fam = {f.name: arrays[f"f_{f.name}"] for f in dataclasses.fields(Families) if f.name != "weight"}
        families = Families(**fam, weight=float(meta["weight"]))
        n = villages.n
        if any(len(getattr(villages, f.name)) != n for f in dataclasses.fields(Villages)
               if not f.name.startswith("township_")) \
                or any(len(a) != families.n for k, a in fam.items() if k != "village_start") \
                or len(families.village_start) != n + 1:
            raise BadCacheEntry("the arrays have inconsistent lengths")
        network = None
        if "n_indptr" in arrays:
            indptr, indices = arrays["n_indptr"], arrays["n_indices"]
            network = sp.csr_matrix((np.ones(len(indices), np.float32), indices, indptr), shape=(n, n))
    except BadCacheEntry:
        raise
    except Exception as e:  # noqa: BLE001 - any inconsistency the checksums did not catch
        raise BadCacheEntry(f"the arrays do not fit together ({type(e).__name__}: {e})") from None
    return villages, families, network, meta


def province_for(cfg, *, progress: bool | None = None) -> Province:
    """The province (or region, ``cfg.region``) a run of ``cfg`` simulates."""
    return build_province(cfg.population, cfg.network, progress=progress, region=cfg.region)


def build_province(pop: PopulationConfig | None = None, net: NetworkConfig | None = None, *,
                   progress: bool | None = None, region: str = "") -> Province:
    """Build the province, or load it from the cache when an identical one was built before.

    With ``region`` (a prefecture or county, :func:`sim.region.resolve_region`) the province is
    cut to it (:func:`sim.region.restrict`); the whole province is what is cached."""
    if region:
        spec = resolve_region(region)
        return restrict(build_province(pop, net, progress=progress), spec)
    pop = pop or PopulationConfig()
    net = net or NetworkConfig()
    t0 = time.perf_counter()
    admin = load_admin()
    key = cache_key(pop, net)
    path = cache_root(pop) / f"province-{key}"
    hit = False
    if pop.use_cache:
        _clean_stale_tmp(path.parent)
        if path.exists():
            try:
                villages, families, network, meta = _load(path, key)
                hit = True
            except BadCacheEntry as e:
                _quarantine(path, str(e))
    if not hit:
        with Progress("building province", 3, enabled=progress) as bar:
            bar.step("villages")
            villages = build_villages(admin, pop)
            bar.step("families")
            families = sample_families(villages, pop)
            bar.step("network")
            network = build_network(villages, admin.counties["pref"].to_numpy(), net, pop.seed)
        meta = {"key": key, "build_version": BUILD_VERSION, "built_seconds": time.perf_counter() - t0}
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
        "region": p.region.spec.describe() if p.region is not None else "province",
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
        province = province_for(cfg, progress=None if cfg.progress else False)
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
