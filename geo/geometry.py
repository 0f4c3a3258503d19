"""Territories from GeoJSON: validation, antimeridian splitting, the region hierarchy.

Every geometry that reaches the index went through :func:`normalize_geometry`, so
the index can trust it: closed rings of at least four positions, longitudes in
[-180, 180], latitudes in [-90, 90], valid in the OGC sense (no self-intersection,
holes inside their shells, parts of a MultiPolygon not overlapping), shells
counter-clockwise and holes clockwise (RFC 7946), nothing crossing the
antimeridian. A validity failure is refused by default; with ``repair`` it is
repaired the way GEOS repairs it (``make_valid``, "linework" method, keeping only
the polygonal parts) and the repair is reported (:class:`Repair`), so that the
person who drew a bow-tie still sees what became of it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon, box

from geo.errors import GeometryError, TerritoryError
from geo.kernels import TINY

LEVELS = ("region", "country", "province", "city", "custom")

Ring = NDArray[np.float64]  # (n, 2) longitude, latitude


@dataclass(frozen=True)
class Territory:
    """One territory as the index and the store see it.

    ``geometry`` is normalized GeoJSON (see the module docstring); ``parent`` is
    the code of the enclosing territory (world region → country → province →
    city), ``None`` at the top.
    """

    code: str
    name: str
    parent: str | None
    level: str
    geometry: dict[str, Any]

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) of the normalized geometry."""
        xs: list[float] = []
        ys: list[float] = []
        for poly in polygons_of(self.geometry):
            for ring in poly:
                xs.extend(p[0] for p in ring)
                ys.extend(p[1] for p in ring)
        return min(xs), min(ys), max(xs), max(ys)


@dataclass(frozen=True)
class Repair:
    """One feature whose geometry was invalid and was repaired with GEOS ``make_valid``.

    ``index`` is the feature's 0-based position in the file, ``code`` and
    ``name`` its properties, ``reason`` GEOS's ``explain_validity`` text for the
    first invalid part (e.g. ``"Self-intersection[1 1]"``).
    """

    index: int
    code: str
    name: str
    reason: str

    def __str__(self) -> str:
        return f"feature {self.index} ({self.code}, {self.name}): {self.reason}"


class _Invalid(Exception):
    """A reason, raised deep inside and turned into a GeometryError with the feature."""


def polygons_of(geometry: Mapping[str, Any]) -> list[list[list[list[float]]]]:
    """The polygons of a normalized Polygon or MultiPolygon, as lists of rings."""
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    return list(geometry["coordinates"])


def _ring(raw: Any, what: str) -> Ring:
    if not isinstance(raw, list | tuple):
        raise _Invalid(f"{what} is not a list of positions")
    try:
        arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        arr = np.zeros((0, 0))
    if not (arr.ndim == 2 and arr.shape[1] >= 2):
        _ring_problem(raw, what)  # says which position is malformed
    xy = np.array(arr[:, :2], dtype=np.float64)
    xy[np.abs(xy) < TINY] = 0.0  # as the index reads points (see geo.kernels.TINY)
    x, y = xy[:, 0], xy[:, 1]
    if not np.all((x >= -180.0) & (x <= 180.0) & (y >= -90.0) & (y <= 90.0)):
        _ring_problem(raw, what)  # NaN and out-of-range positions, named
    if xy.shape[0] < 4:
        raise _Invalid(f"{what} has {xy.shape[0]} positions; a closed ring needs at least 4")
    if not np.array_equal(xy[0], xy[-1]):
        first, last = tuple(xy[0].tolist()), tuple(xy[-1].tolist())
        raise _Invalid(f"{what} is not closed (first position {first} != last {last})")
    return xy


def _ring_problem(raw: Sequence[Any], what: str) -> None:
    for j, pos in enumerate(raw):
        if (
            not isinstance(pos, list | tuple)
            or len(pos) < 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos[:2])
        ):
            raise _Invalid(f"{what}, position {j} is not [longitude, latitude]")
        x = float(pos[0])
        y = float(pos[1])
        if not (math.isfinite(x) and math.isfinite(y)):
            raise _Invalid(f"{what}, position {j} is not a finite number")
        if not (-180.0 <= x <= 180.0) or not (-90.0 <= y <= 90.0):
            raise _Invalid(
                f"{what}, position {j} [{x}, {y}] is out of range "
                "(longitude -180..180, latitude -90..90)"
            )
    raise _Invalid(f"{what}: positions of different lengths")


def _unwrap(ring: Ring) -> tuple[NDArray[np.int64], int]:
    """Per position, how many turns of 360° to add so consecutive longitudes differ
    by at most 180°; and the net turns after going once around the ring.
    """
    d = np.diff(ring[:, 0])
    # A jump of exactly 360° (from one side of the antimeridian to the other)
    # is an edge along the seam of an already split shape; an edge along a
    # pole is a point on the globe: both are taken literally.
    y0, y1 = ring[:-1, 1], ring[1:, 1]
    literal = (y0 == y1) & (np.abs(y0) == 90.0)
    step = np.where(literal, 0, ((d < -180.0) & (d > -360.0)).astype(np.int64))
    step -= np.where(literal, 0, ((d > 180.0) & (d < 360.0)).astype(np.int64))
    turns = np.concatenate([[0], np.cumsum(step)])
    return turns, int(turns[-1] - turns[0])


def _shifted(ring: Ring, turns: NDArray[np.int64], k: int) -> Ring:
    # x + 0.0 is x exactly, so positions already in range keep their bits
    out = ring.copy()
    out[:, 0] = ring[:, 0] + 360.0 * (turns - k)
    return out


def _most_common(turns: NDArray[np.int64]) -> int:
    values, counts = np.unique(turns, return_counts=True)
    return int(values[np.argmax(counts)])


def _polygons(geom: shapely.Geometry) -> list[Polygon]:
    return [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon) and g.area > 0.0]


def _polygonal_parts(geom: shapely.Geometry) -> list[Polygon]:
    """The polygons of any geometry, collections nested in collections included."""
    out: list[Polygon] = []
    for g in shapely.get_parts(geom):
        if isinstance(g, Polygon):
            if g.area > 0.0:
                out.append(g)
        elif g.geom_type in ("MultiPolygon", "GeometryCollection"):
            out.extend(_polygonal_parts(g))
    return out


def _check_valid(
    geom: shapely.Geometry, repair: bool, reasons: list[str] | None = None
) -> shapely.Geometry:
    """``geom`` if valid; else its GEOS repair (polygonal parts only) or :class:`_Invalid`.

    A repair appends GEOS's ``explain_validity`` reason to ``reasons``.
    """
    reason = shapely.is_valid_reason(geom)
    if reason == "Valid Geometry":
        return geom
    if not repair:
        raise _Invalid(f"invalid geometry: {reason}")
    polys = _polygonal_parts(shapely.make_valid(geom, method="linework"))
    if not polys:
        raise _Invalid(f"invalid geometry: {reason}; nothing polygonal remains once repaired")
    if reasons is not None:
        reasons.append(reason)
    return MultiPolygon(polys)


def _split_polygon(
    rings: list[Ring], repair: bool = False, reasons: list[str] | None = None
) -> list[Polygon]:
    """Polygons of one GeoJSON polygon, cut at the antimeridian when it crosses it.

    A ring crosses where consecutive longitudes jump by more than 180°; it is
    unwrapped (longitudes beyond ±180), clipped to each 360° window and shifted
    back. A shell whose unwrapped ends differ by 360° circles a pole (Antarctica):
    it is closed along that pole's parallel, the pole being the one on the side
    of the ring's mean latitude.
    """
    unwrapped = [_unwrap(r) for r in rings]
    if all(not t.any() for t, _ in unwrapped):
        return [Polygon(rings[0], rings[1:])]  # checked with the whole geometry
    shell, (turns, net) = rings[0], unwrapped[0]
    # keep most positions in [-180, 180] so they keep their exact values
    s = _shifted(shell, turns, _most_common(turns))
    if net != 0:
        if abs(net) != 1:
            raise _Invalid("the shell winds around the globe more than once")
        pole = -90.0 if shell[:, 1].sum() < 0 else 90.0
        # the unwrapped ring ends 360° from where it began: close it via the pole
        cap = [[s[-1, 0], pole], [s[0, 0], pole], [s[0, 0], s[0, 1]]]
        s = np.concatenate([s, np.asarray(cap)])
    mid = (s[:, 0].min() + s[:, 0].max()) / 2.0
    holes: list[Ring] = []
    for hole, (ht, hnet) in zip(rings[1:], unwrapped[1:], strict=True):
        if hnet != 0:
            raise _Invalid("a hole circles a pole")
        h = _shifted(hole, ht, _most_common(ht))
        # put the hole in the same 360° window as its shell
        h[:, 0] += 360.0 * round((mid - (h[:, 0].min() + h[:, 0].max()) / 2.0) / 360.0)
        holes.append(h)
    whole = _check_valid(Polygon(s, holes), repair, reasons)
    parts: list[Polygon] = []
    for w in range(-2, 3):
        lo = -180.0 + 360.0 * w
        piece = shapely.intersection(whole, box(lo, -90.0, lo + 360.0, 90.0))
        for g in _polygons(piece):
            parts.append(shapely.transform(g, lambda c, w=w: c - [360.0 * w, 0.0]))
    return parts


def normalize_geometry(geometry: Any) -> dict[str, Any]:
    """Validate a GeoJSON Polygon or MultiPolygon and return it normalized.

    Raises ``ValueError`` subclass :class:`GeometryError` (without a feature;
    :func:`parse_feature_collection` adds it) naming the first problem found.
    """
    try:
        return _normalize(geometry)
    except _Invalid as exc:
        raise GeometryError(None, None, str(exc)) from None


def _normalize(
    geometry: Any, repair: bool = False, reasons: list[str] | None = None
) -> dict[str, Any]:
    if not isinstance(geometry, Mapping):
        raise _Invalid("no geometry")
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "Polygon":
        raw_polys = [coords]
    elif kind == "MultiPolygon":
        if not isinstance(coords, list | tuple) or not coords:
            raise _Invalid("MultiPolygon without polygons")
        raw_polys = list(coords)
    else:
        raise _Invalid(f"geometry type {kind!r}; a territory needs a Polygon or MultiPolygon")
    polys: list[Polygon] = []
    for i, raw in enumerate(raw_polys):
        if not isinstance(raw, list | tuple) or not raw:
            raise _Invalid(f"polygon {i} has no rings")
        rings = []
        for j, r in enumerate(raw):
            what = f"polygon {i}, " if kind == "MultiPolygon" else ""
            what += "exterior ring" if j == 0 else f"hole {j}"
            rings.append(_ring(r, what))
        polys.extend(_split_polygon(rings, repair, reasons))
    geom = _check_valid(polys[0] if len(polys) == 1 else MultiPolygon(polys), repair, reasons)
    coordinates = [
        [_oriented(p.exterior, True), *(_oriented(r, False) for r in p.interiors)]
        for p in _polygons(geom)
    ]
    if len(coordinates) == 1:
        return {"type": "Polygon", "coordinates": coordinates[0]}
    return {"type": "MultiPolygon", "coordinates": coordinates}


def _oriented(ring: shapely.LinearRing, ccw: bool) -> list[list[float]]:
    """RFC 7946 winding: shells counter-clockwise, holes clockwise."""
    xy = shapely.get_coordinates(ring)
    x, y = xy[:, 0], xy[:, 1]
    area2 = float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]))
    if (area2 > 0) != ccw:
        xy = xy[::-1]
    coords: list[list[float]] = xy.tolist()
    return coords


def parse_feature_collection(
    fc: Mapping[str, Any] | str | Path, *, known_parents: Iterable[str] = ()
) -> list[Territory]:
    """The territories of a GeoJSON FeatureCollection, all valid, or an error.

    Strict: an invalid (self-intersecting, ...) geometry is refused; see
    :func:`parse_feature_collection_repairing` for the details and for repair.
    """
    return parse_feature_collection_repairing(fc, known_parents=known_parents)[0]


def parse_feature_collection_repairing(
    fc: Mapping[str, Any] | str | Path,
    *,
    known_parents: Iterable[str] = (),
    repair: bool = False,
) -> tuple[list[Territory], list[Repair]]:
    """The territories of a GeoJSON FeatureCollection and the repairs made, or an error.

    With ``repair``, a geometry that is invalid in the OGC Simple Features sense
    (what GEOS ``IsValidOp`` reports: self-intersection, ring self-intersection,
    hole outside shell, ...) is replaced by GEOS ``make_valid`` ("linework"
    method) keeping only its polygonal parts, and listed as a :class:`Repair`.
    Without it, such geometry is refused: one invalid feature raises
    :class:`GeometryError` with its index, code and GEOS's reason; several raise
    one :class:`GeometryError` (index ``None``) naming every one of them.

    ``fc`` is the decoded collection or a path to a file. Each feature carries
    ``properties.code`` (or a feature ``id``), ``name``, ``parent`` (a code in
    the same file or in ``known_parents``) and ``level`` (one of
    :data:`LEVELS`, default ``custom``). The first bad feature raises
    :class:`TerritoryError` (or its subclass :class:`GeometryError`) with the
    feature's index and code: a file is taken whole or not at all.
    """
    if isinstance(fc, str | Path):
        with open(fc, encoding="utf-8") as fh:
            fc = json.load(fh)
    if not isinstance(fc, Mapping) or fc.get("type") != "FeatureCollection":
        raise TerritoryError(None, None, "not a GeoJSON FeatureCollection")
    features = fc.get("features")
    if not isinstance(features, list):
        raise TerritoryError(None, None, "FeatureCollection without a features list")
    out: list[Territory] = []
    repairs: list[Repair] = []
    seen: dict[str, int] = {}
    for i, feat in enumerate(features):
        if not isinstance(feat, Mapping) or feat.get("type") != "Feature":
            raise TerritoryError(i, None, "not a GeoJSON Feature")
        props = feat.get("properties") or {}
        code = props.get("code", feat.get("id"))
        if not isinstance(code, str) or not code.strip() or len(code) > 64:
            raise TerritoryError(i, None, "properties.code must be a string of 1 to 64 characters")
        code = code.strip()
        if code in seen:
            raise TerritoryError(i, code, f"code already used by feature {seen[code]}")
        seen[code] = i
        name = props.get("name", code)
        if not isinstance(name, str) or len(name) > 200:
            raise TerritoryError(i, code, "properties.name must be a string of at most 200")
        parent = props.get("parent")
        if parent is not None and (not isinstance(parent, str) or not parent.strip()):
            raise TerritoryError(i, code, "properties.parent must be a territory code")
        level = props.get("level", "custom")
        if level not in LEVELS:
            raise TerritoryError(i, code, f"level {level!r} is not one of {', '.join(LEVELS)}")
        reasons: list[str] = []
        try:
            # repaired even when strict, to learn of every invalid feature at once
            geometry = _normalize(feat.get("geometry"), repair=True, reasons=reasons)
        except _Invalid as exc:
            raise GeometryError(i, code, str(exc)) from None
        if reasons:
            repairs.append(Repair(i, code, name, reasons[0]))
        out.append(Territory(code, name, parent.strip() if parent else None, level, geometry))
    if repairs and not repair:
        if len(repairs) == 1:
            r = repairs[0]
            raise GeometryError(r.index, r.code, f"invalid geometry: {r.reason}")
        raise GeometryError(
            None,
            None,
            f"{len(repairs)} features have invalid geometry: "
            + "; ".join(f"feature {r.index} ({r.code}): {r.reason}" for r in repairs),
        )
    check_hierarchy(out, known_parents=known_parents, index_of=seen)
    return out, repairs


def check_hierarchy(
    territories: Sequence[Territory],
    *,
    known_parents: Iterable[str] = (),
    index_of: Mapping[str, int] | None = None,
) -> None:
    """Raise TerritoryError for an unknown parent or a cycle of parents."""
    parent_of = {t.code: t.parent for t in territories}
    known = set(known_parents) | set(parent_of)
    where = index_of if index_of is not None else {t.code: i for i, t in enumerate(territories)}
    for t in territories:
        if t.parent is not None and t.parent not in known:
            raise TerritoryError(where.get(t.code), t.code, f"unknown parent {t.parent!r}")
        seen = {t.code}
        p = t.parent
        while p is not None and p in parent_of:
            if p in seen:
                raise TerritoryError(where.get(t.code), t.code, "its parents form a cycle")
            seen.add(p)
            p = parent_of[p]
