"""A map of territories and scans, as PNG or SVG bytes, for the territory page.

matplotlib's object API with no pyplot: no global figure state, so the web
process can render in several threads at once.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable

import matplotlib
import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch
from matplotlib.path import Path
from numpy.typing import ArrayLike

from geo.geometry import polygons_of
from geo.index import TerritoryIndex

IN_ZONE = "#1a9850"
OUT_OF_ZONE = "#d73027"
UNJUDGED = "#4575b4"


def _territory_path(index: TerritoryIndex, position: int) -> Path:
    # shells are counter-clockwise and holes clockwise, so the nonzero fill rule
    # leaves the holes empty
    verts: list[list[float]] = []
    codes: list[np.uint8] = []
    for poly in polygons_of(index.territories[position].geometry):
        for ring in poly:
            verts.extend([p[0], p[1]] for p in ring)
            codes.extend([Path.MOVETO] + [Path.LINETO] * (len(ring) - 2) + [Path.CLOSEPOLY])
    return Path(np.asarray(verts, dtype=np.float64), np.asarray(codes, dtype=np.uint8))


def render_map(
    index: TerritoryIndex,
    lon: ArrayLike = (),
    lat: ArrayLike = (),
    in_zone: ArrayLike | None = None,
    *,
    highlight: Iterable[int] | Iterable[str] = (),
    bbox: tuple[float, float, float, float] | None = None,
    fmt: str = "png",
    width_px: int = 1200,
    title: str | None = None,
    max_points: int = 200_000,
    point_size: float = 4.0,
) -> bytes:
    """Draw every territory, ``highlight`` ones (positions or codes, with their
    descendants: a party's zone) in green, and the scans as dots: green in
    zone, red out of zone (``in_zone`` boolean per scan), blue when ``in_zone``
    is None.

    ``bbox`` (min lon, min lat, max lon, max lat) frames the map, by default the
    highlighted territories, else all of them. Beyond ``max_points`` scans an
    evenly spaced sample is drawn (out-of-zone scans on top) while the legend
    counts all of them. ``point_size`` is a dot's area in points² (out-of-zone
    dots are half as large again, outlined in white so they stand out where
    scans crowd). ``fmt`` is ``"png"`` or ``"svg"``; output is deterministic
    for the same input.
    """
    if fmt not in ("png", "svg"):
        raise ValueError(f"fmt must be 'png' or 'svg', not {fmt!r}")
    x = np.asarray(lon, dtype=np.float64).reshape(-1)
    y = np.asarray(lat, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"lon and lat differ in length: {x.shape[0]} != {y.shape[0]}")
    zone = None if in_zone is None else np.asarray(in_zone, dtype=np.bool_).reshape(-1)
    if zone is not None and zone.shape != x.shape:
        raise ValueError(f"in_zone has {zone.shape[0]} values for {x.shape[0]} scans")
    lit = {int(p) for p in index.descendants(index.positions(highlight))}

    if bbox is None:
        boxes = [index.territories[p].bbox for p in (sorted(lit) or range(len(index)))]
        if boxes:
            bbox = (
                min(b[0] for b in boxes),
                min(b[1] for b in boxes),
                max(b[2] for b in boxes),
                max(b[3] for b in boxes),
            )
        elif x.size:
            bbox = (float(x.min()), float(y.min()), float(x.max()), float(y.max()))
        else:
            bbox = (-180.0, -90.0, 180.0, 90.0)
    x0, y0, x1, y1 = bbox
    pad = 0.03 * max(x1 - x0, y1 - y0, 0.01)
    x0, y0, x1, y1 = x0 - pad, max(y0 - pad, -90.0), x1 + pad, min(y1 + pad, 90.0)
    # equirectangular, stretched so that shapes look right at the map's mid-latitude
    aspect = 1.0 / max(math.cos(math.radians((y0 + y1) / 2.0)), 0.2)
    ratio = min(max((y1 - y0) * aspect / (x1 - x0), 0.2), 2.0)
    dpi = 100
    height_px = max(width_px * ratio, 200)
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    # margins in pixels, so tick labels and the title fit on flat maps too
    left, bottom, right, top = 34 / width_px, 22 / height_px, 10 / width_px, 10 / height_px
    if title:
        top += 26 / height_px
    ax = fig.add_axes((left, bottom, 1 - left - right, 1 - bottom - top))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(aspect)
    ax.set_facecolor("#eef3f7")
    ax.tick_params(labelsize=7)

    order = sorted(range(len(index)), key=lambda p: (int(index.depth[p]), p))
    patches = [PathPatch(_territory_path(index, p)) for p in order]
    faces = ["#a6d96a" if p in lit else "#f2f2f2" for p in order]
    ax.add_collection(
        PatchCollection(patches, facecolors=faces, edgecolors="#7f7f7f", linewidths=0.3)
    )

    n = x.shape[0]
    keep = np.arange(n) if n <= max_points else np.linspace(0, n - 1, max_points).astype(np.int64)
    if zone is None:
        ax.scatter(x[keep], y[keep], s=point_size, c=UNJUDGED, linewidths=0, label=f"scans: {n}")
    else:
        zk = zone[keep]
        inside = keep[zk]
        outside = keep[~zk]
        n_in = int(zone.sum())
        ax.scatter(
            x[inside], y[inside], s=point_size, c=IN_ZONE, linewidths=0, label=f"in zone: {n_in}"
        )
        ax.scatter(
            x[outside],
            y[outside],
            s=point_size * 1.5,
            c=OUT_OF_ZONE,
            edgecolors="#ffffff",
            linewidths=0.4 if point_size >= 10 else 0,
            label=f"out of zone: {n - n_in}",
        )
    if n:
        ax.legend(
            loc="lower left", fontsize=8, markerscale=max(1.0, 10.0 / point_size), framealpha=0.9
        )
    if title:
        fig.suptitle(title, fontsize=11)

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "hopchain", "svg.fonttype": "none"}):
        meta: dict[str, str | None] = {"Date": None} if fmt == "svg" else {"Software": None}
        fig.savefig(buf, format=fmt, metadata=meta)
    return buf.getvalue()
