"""One prefecture or county on its own: which region a name means, and the province cut to it.

**Names.** ``region=`` takes an admin code (a county's six digits, 431126; a prefecture's six,
430100, or four, 4301), a Chinese name (长沙市, 宁远县; the name without its suffix, 宁远, when
it names one unit only) or pinyin (changsha, "Changsha County", ningyuan; case, spaces and
hyphens do not matter). An exact name wins over a name without its suffix: ``changsha`` is the
prefecture Changsha, ``长沙`` names both 长沙市 and 长沙县 and is refused with both listed.

**The cut** (:func:`restrict`). A region run simulates the region's villages and families only,
the very ones a province run of the same ``population`` config simulates (the province is
built, or loaded from the cache, and cut), so a region run and the same counties inside a
province run differ only by the draws of the run itself. The village network keeps the ties
between the region's villages and drops the ties that cross its border: a village's neighbour
share is then over its neighbours inside. :attr:`Region.ties_cut` counts them; a prefecture
loses almost none (shortcuts and migrant links stay within the prefecture; only the spanning
tree of county seats crosses it), a county loses its shortcuts and migrant links to the rest of
its prefecture.

**Money and posts** are the region's own (:mod:`sim.plan`, :mod:`sim.model`): every split
among counties and prefectures is worked out over the whole province and the region keeps its
rows, so a county gets what it gets in a province run. Province-level money enters as the
region's share: the provincial project funds for insurance and the nursing subsidy by its share
of the province's special families, the provincial outreach money (livestreams, web publicity)
by its share of families with internet access, which is how a province run spends them. The
livestreams the province funds are the province's; the region pays its share of each.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from sim.admin import Admin, load_admin
from sim.errors import UserError

SUFFIX_ZH = ("土家族苗族自治州", "自治州", "自治县", "市", "县", "区")
SUFFIX_EN = ("tujiaandmiaoautonomousprefecture", "autonomousprefecture", "autonomouscounty", "county",
             "district", "city")


@dataclass(frozen=True)
class RegionSpec:
    """What ``region=`` names: a prefecture or a county, and its counties' rows in the province."""

    kind: str
    """``prefecture`` or ``county``."""
    code: int
    """Six-digit admin code (a prefecture's ends in 00)."""
    name_zh: str
    name_en: str
    counties: tuple[int, ...]
    """Rows of the region's counties in the province's county table (``hunan_admin.csv`` order)."""
    prefecture: int
    """Row of the region's prefecture (a county's own prefecture)."""

    def describe(self) -> str:
        return f"{self.name_zh} {self.name_en} ({self.code})"


def _norm_en(text: str) -> str:
    return re.sub(r"[\s\-'’_.]", "", text.lower())


def _strip(text: str, suffixes: tuple[str, ...]) -> str:
    for s in suffixes:
        if text.endswith(s) and len(text) > len(s):
            return text[: -len(s)]
    return text


@lru_cache(maxsize=1)
def _units() -> tuple[tuple[str, int, str, str, tuple[int, ...], int], ...]:
    """(kind, code, name_zh, name_en, county rows, prefecture row) of every prefecture and county."""
    admin = load_admin()
    c, p = admin.counties, admin.prefectures
    out = []
    for i in range(len(p)):
        rows = tuple(int(r) for r in np.flatnonzero(c["pref"].to_numpy() == i))
        out.append(("prefecture", int(p["code"].iloc[i]) * 100, p["name_zh"].iloc[i], p["name_en"].iloc[i], rows, i))
    for i in range(len(c)):
        out.append(("county", int(c["code"].iloc[i]), c["name_zh"].iloc[i], c["name_en"].iloc[i], (i,),
                    int(c["pref"].iloc[i])))
    return tuple(out)


def units() -> list[RegionSpec]:
    """Every prefecture (14) and county (122) as a :class:`RegionSpec`."""
    return [RegionSpec(*u) for u in _units()]


def resolve_region(text, key: str = "region") -> RegionSpec:
    """The prefecture or county ``text`` names (see the module docstring); a :class:`UserError`
    naming the near matches when it names none or several."""
    raw = str(text).strip()
    if not raw:
        raise UserError(f"{key} is empty: give an admin code (430100), a name (长沙市) or pinyin (changsha)")
    all_units = units()
    if raw.isdigit():
        code = int(raw) * 100 if len(raw) == 4 else int(raw)
        for u in all_units:
            if u.code == code:
                return u
        near = [u for u in all_units if str(u.code).startswith(raw[:4])][:6] or all_units[:3]
        raise UserError(f"{key}={raw!r} is not a prefecture or county code of Hunan; near: "
                        + ", ".join(u.describe() for u in near))
    en = _norm_en(raw)
    exact = [u for u in all_units if raw == u.name_zh or en == _norm_en(u.name_en)]
    if len(exact) == 1:
        return exact[0]
    loose = exact or [u for u in all_units
                      if _strip(raw, SUFFIX_ZH) == _strip(u.name_zh, SUFFIX_ZH)
                      or _strip(en, SUFFIX_EN) == _strip(_norm_en(u.name_en), SUFFIX_EN)]
    if len(loose) == 1:
        return loose[0]
    if len(loose) > 1:
        raise UserError(f"{key}={raw!r} is ambiguous: it names " + ", ".join(u.describe() for u in loose)
                        + "; give the full name or the code")
    names = {u.name_zh: u for u in all_units} | {u.name_en.lower(): u for u in all_units}
    close = difflib.get_close_matches(raw.lower() if raw.isascii() else raw, list(names), n=5, cutoff=0.5)
    seen = list(dict.fromkeys(names[n] for n in close))
    hint = "; near: " + ", ".join(u.describe() for u in seen) if seen else \
        " (give an admin code such as 430100, a name such as 长沙市 or pinyin such as changsha)"
    raise UserError(f"{key}={raw!r} names no prefecture or county of Hunan{hint}")


@dataclass(frozen=True)
class Region:
    """A province cut to one region: what the model needs of the whole province to give the
    region its own share of money, posts and sites (module docstring)."""

    spec: RegionSpec
    province_admin: Admin
    """The whole province's admin tables (the cut province's ``admin`` holds the region's rows)."""
    counties: np.ndarray
    """Rows of the region's counties in ``province_admin.counties``."""
    villages: np.ndarray
    """Rows of the region's villages among the province's (their ids in a province run)."""
    townships: np.ndarray
    """Rows of the region's townships among the province's."""
    families: np.ndarray
    """Rows of the region's families among the province's."""
    special_rank: np.ndarray
    """Rank of each of the region's special families among the province's special families."""
    n_villages_province: int
    n_townships_province: int
    n_families_province: int
    n_special_province: int
    elderly_other_bits: np.ndarray
    """The province's families with members 60+ that are neither special nor hardship, one bit
    each (``np.packbits``): with the run's draw, the visit-eligible families of every county."""
    county_family_start: np.ndarray
    """Row of each province county's first family (families are numbered county by county)."""
    families_stats: dict[str, float]
    """Province-wide family figures a run uses as constants: ``p_elderly`` (share of families
    with members 60+), and for the mean size of visit-eligible families ``n_fixed``,
    ``persons_fixed`` (special or hardship) and ``n_elderly_other``, ``persons_elderly_other``."""

    def persons_per_eligible(self, elderly_difficulty_share: float) -> float:
        """Mean members of the province's visit-eligible families (the elderly in difficulty at
        their expected number: a province run counts the drawn ones, the same to about 1e-4)."""
        s, k = self.families_stats, elderly_difficulty_share
        n = s["n_fixed"] + k * s["n_elderly_other"]
        return (s["persons_fixed"] + k * s["persons_elderly_other"]) / n if n > 0 else 0.0
    context: dict[str, np.ndarray]
    """Per province county (all 122), full-scale family counts of the built province: ``families``,
    ``youth_members``, ``special``, ``hardship``, ``digital``, ``eligible_fixed`` (special or
    hardship; ``eligible_fixed_n`` the simulated families) and ``elderly_other`` (members 60+,
    neither special nor hardship)."""
    ties_kept: int
    ties_cut: int
    """Undirected village ties inside the region, and ties from it to villages outside (dropped)."""

    def widen(self, values: np.ndarray, name: str | None = None, fill: float | None = None) -> np.ndarray:
        """A per-county array of the region made one of the whole province: the region's rows
        hold ``values``; the other counties hold ``context[name]`` or ``fill``."""
        out = self.context[name].astype(np.float64) if name is not None else \
            np.full(len(self.province_admin.counties), np.nan if fill is None else fill)  # (a new array)
        out[self.counties] = values
        return out

    def share(self, name: str) -> float:
        """The region's share of the province's ``context[name]`` (e.g. ``special``)."""
        total = float(self.context[name].sum())
        return float(self.context[name][self.counties].sum()) / total if total > 0 else 0.0

    def summary(self) -> dict:
        s = self.spec
        return {"kind": s.kind, "code": s.code, "name_zh": s.name_zh, "name_en": s.name_en,
                "counties": [int(c) for c in self.province_admin.counties["code"].to_numpy()[self.counties]],
                "villages": int(len(self.villages)), "ties_kept": self.ties_kept, "ties_cut": self.ties_cut,
                "share_special": round(self.share("special"), 6), "share_digital": round(self.share("digital"), 6)}


def county_context(county_family_start: np.ndarray, families, elderly_other: np.ndarray) -> dict[str, np.ndarray]:
    """Full-scale family counts per county of a built province (:attr:`Region.context`), its
    families numbered county by county from ``county_family_start``."""
    w = families.weight
    bounds = list(zip(county_family_start[:-1], county_family_start[1:], strict=True))

    def count(values: np.ndarray, weight: float = w) -> np.ndarray:
        if values.dtype == bool:
            out = [np.count_nonzero(values[i:j]) for i, j in bounds]
        else:
            out = [values[i:j].sum(dtype=np.int64) for i, j in bounds]
        return np.array(out, dtype=np.float64) * weight

    sp, hd = families.special, families.hardship
    fixed = count(sp | hd, 1.0)
    return {
        "families": np.diff(county_family_start).astype(np.float64) * w,
        "youth_members": count(families.n_youth),
        "special": count(sp),
        "hardship": count(hd),
        "digital": count(families.digital),
        "eligible_fixed": fixed * w,
        "eligible_fixed_n": fixed,
        "elderly_other": count(elderly_other),
    }


def _cut_admin(admin: Admin, spec: RegionSpec) -> Admin:
    rows = list(spec.counties)
    prefs = sorted({int(admin.counties["pref"].iloc[r]) for r in rows})
    counties = admin.counties.iloc[rows].reset_index(drop=True).copy()
    counties["pref"] = counties["pref"].map({p: i for i, p in enumerate(prefs)}).astype(np.int64)
    prefectures = admin.prefectures.iloc[prefs].reset_index(drop=True).copy()
    # The region's part of its prefecture (its census population stays the prefecture's).
    prefectures["n_counties"] = np.bincount(counties["pref"], minlength=len(prefs))
    prefectures["n_townships"] = np.bincount(counties["pref"], weights=counties["n_townships"],
                                             minlength=len(prefs)).astype(np.int64)
    return Admin(prefectures=prefectures, counties=counties, facts=admin.facts)


def restrict(province, spec: RegionSpec):
    """The province cut to ``spec``'s villages and families (a new :class:`sim.province.Province`
    whose ``region`` is set); see the module docstring for the border and the money."""
    from sim.population import Families
    from sim.province import Province
    from sim.villages import Villages

    admin, v, f = province.admin, province.villages, province.families
    rows = np.asarray(spec.counties, dtype=np.int64)
    county_new = np.full(len(admin.counties), -1, dtype=np.int64)
    county_new[rows] = np.arange(len(rows))
    keep_v = np.flatnonzero(county_new[v.county.astype(np.int64)] >= 0)
    keep_t = np.flatnonzero(county_new[v.township_county.astype(np.int64)] >= 0)
    town_new = np.full(len(v.township_county), -1, dtype=np.int64)
    town_new[keep_t] = np.arange(len(keep_t))
    per_v = {fld.name: getattr(v, fld.name) for fld in dataclasses.fields(Villages)}
    cut_v = {}
    for name, arr in per_v.items():
        if name.startswith("township_"):
            cut_v[name] = arr[keep_t]
        else:
            cut_v[name] = arr[keep_v]
    cut_v["township_county"] = county_new[v.township_county.astype(np.int64)[keep_t]].astype(v.township_county.dtype)
    cut_v["county"] = county_new[v.county.astype(np.int64)[keep_v]].astype(v.county.dtype)
    cut_v["township"] = town_new[v.township.astype(np.int64)[keep_v]].astype(v.township.dtype)
    villages = Villages(**cut_v)

    # Families: the region's villages' blocks of rows, in village order.
    starts, ends = f.village_start[keep_v], f.village_start[keep_v + 1]
    counts = ends - starts
    fam_rows = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
    arrays = {name: arr[fam_rows] for name, arr in f.arrays().items() if name not in ("village", "village_start")}
    village = np.repeat(np.arange(len(keep_v), dtype=f.village.dtype), counts)
    village_start = np.zeros(len(keep_v) + 1, dtype=np.int64)
    np.cumsum(counts, out=village_start[1:])
    families = Families(village=village, village_start=village_start, weight=f.weight, **arrays)

    network, kept, cut = province.network, 0, 0
    if network is not None:
        sub = network[keep_v][:, keep_v].tocsr()
        inside = np.zeros(v.n, dtype=bool)
        inside[keep_v] = True
        coo = network.tocoo()
        cut = int(np.count_nonzero(inside[coo.row] & ~inside[coo.col]))
        kept = int(sub.nnz // 2)
        network = sub
    special_rank = np.searchsorted(np.flatnonzero(f.special), fam_rows[f.special[fam_rows]])
    v_county = v.county.astype(np.int64)
    if (np.diff(v_county) < 0).any():
        raise RuntimeError("a region needs the province's villages numbered county by county")
    county_family_start = f.village_start[np.searchsorted(v_county, np.arange(len(admin.counties) + 1))]
    elderly_other = (f.n_elderly > 0) & ~f.special & ~f.hardship
    region = Region(spec=spec, province_admin=admin, counties=rows, villages=keep_v, townships=keep_t,
                    families=fam_rows, special_rank=special_rank,
                    n_villages_province=int(v.n), n_townships_province=int(len(v.township_county)),
                    n_families_province=int(f.n), n_special_province=int(np.count_nonzero(f.special)),
                    elderly_other_bits=np.packbits(elderly_other), county_family_start=county_family_start,
                    families_stats={"p_elderly": float((f.n_elderly > 0).mean()) if f.n else 0.0,
                                    "n_fixed": float(np.count_nonzero(f.special | f.hardship)),
                                    "persons_fixed": float(f.size[f.special | f.hardship].sum(dtype=np.int64)),
                                    "n_elderly_other": float(np.count_nonzero(elderly_other)),
                                    "persons_elderly_other": float(f.size[elderly_other].sum(dtype=np.int64))},
                    context=county_context(county_family_start, f, elderly_other), ties_kept=kept, ties_cut=cut)
    return Province(admin=_cut_admin(admin, spec), villages=villages, families=families, network=network,
                    network_kind=province.network_kind, scale=province.scale, seed=province.seed,
                    build_seconds=province.build_seconds, cache_hit=province.cache_hit,
                    cache_path=province.cache_path, meta=province.meta, region=region)

