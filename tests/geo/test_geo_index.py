"""TerritoryIndex against shapely: random and adversarial points, the boundary rule,
the hierarchy, zones."""

from __future__ import annotations

import functools
import itertools
import math
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from shapely.geometry import shape

from geo import Territory, TerritoryIndex, kernels, parse_feature_collection, world_countries


def feature(code: str, geometry: dict[str, Any], parent: str | None = None, **props: Any) -> Any:
    return {
        "type": "Feature",
        "properties": {"code": code, "parent": parent, **props},
        "geometry": geometry,
    }


def fc(*features: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def square(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


def poly(*rings: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}


@functools.cache
def world() -> tuple[list[Territory], TerritoryIndex, shapely.STRtree, list[Any]]:
    territories = parse_feature_collection(world_countries(regions=False))
    geoms = [shape(t.geometry) for t in territories]
    return territories, TerritoryIndex.from_territories(territories), shapely.STRtree(geoms), geoms


def shapely_lowest(
    tree: shapely.STRtree, n: int, x: NDArray[np.float64], y: NDArray[np.float64]
) -> NDArray[np.int64]:
    """Per point, the lowest index of a geometry that contains it, -1 for none."""
    pi, gi = tree.query(shapely.points(x, y), predicate="within")
    out = np.full(x.shape[0], n, dtype=np.int64)
    np.minimum.at(out, pi, gi)
    out[out == n] = -1
    return out


def on_any_boundary(geoms: list[Any], x: NDArray[np.float64], y: NDArray[np.float64]) -> Any:
    tree = shapely.STRtree([g.boundary for g in geoms])
    pi, _ = tree.query(shapely.points(x, y), predicate="intersects")
    mask = np.zeros(x.shape[0], dtype=bool)
    mask[pi] = True
    return mask


def assert_matches_shapely(
    index: TerritoryIndex, geoms: list[Any], x: NDArray[np.float64], y: NDArray[np.float64]
) -> int:
    """Same answer as shapely for every point off the boundaries; returns how many
    points were compared."""
    ours = index.locate(x, y)
    theirs = shapely_lowest(shapely.STRtree(geoms), len(geoms), x, y)
    off = ~on_any_boundary(geoms, x, y)
    bad = np.nonzero((ours != theirs) & off)[0]
    assert bad.size == 0, [(x[i], y[i], ours[i], theirs[i]) for i in bad[:5]]
    return int(off.sum())


# --------------------------------------------------------------------- world


def test_world_countries_match_shapely_on_random_points() -> None:
    _, index, tree, geoms = world()
    rng = np.random.default_rng(11)
    x = rng.uniform(-180, 180, 200_000)
    y = rng.uniform(-90, 90, 200_000)
    ours = index.locate(x, y)
    assert np.array_equal(ours, shapely_lowest(tree, len(geoms), x, y))
    assert 0.25 < (ours >= 0).mean() < 0.4  # about a third of the globe is land


def test_world_adversarial_points_near_every_vertex_match_shapely() -> None:
    _, index, _, geoms = world()
    verts = np.concatenate([shapely.get_coordinates(g) for g in geoms])
    vx, vy = verts[:, 0], verts[:, 1]
    xs = [vx, np.nextafter(vx, np.inf), np.nextafter(vx, -np.inf)]
    ys = [vy, np.nextafter(vy, np.inf), np.nextafter(vy, -np.inf)]
    px = [a for a in xs for _ in ys]
    py = [b for _ in xs for b in ys]
    for d in (1e-12, 1e-9, 1e-6):
        for sx, sy in ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1)):
            px.append(vx + sx * d)
            py.append(vy + sy * d)
    x = np.concatenate(px)
    y = np.concatenate(py)
    # keep to the globe (vertices lie on ±180 and ±90)
    keep = (x >= -180) & (x < 180) & (y >= -90) & (y <= 90)
    compared = assert_matches_shapely(index, geoms, x[keep], y[keep])
    assert compared > 200_000


def test_world_points_near_edges_match_shapely() -> None:
    _, index, _, geoms = world()
    rng = np.random.default_rng(5)
    segs = []
    for g in geoms:
        for part in getattr(g, "geoms", [g]):
            for ring in [part.exterior, *part.interiors]:
                c = np.asarray(ring.coords)
                segs.append(np.hstack([c[:-1], c[1:]]))
    s = np.concatenate(segs)
    t = rng.uniform(0, 1, s.shape[0])
    mx = s[:, 0] + t * (s[:, 2] - s[:, 0])
    my = s[:, 1] + t * (s[:, 3] - s[:, 1])
    nx, ny = -(s[:, 3] - s[:, 1]), s[:, 2] - s[:, 0]
    norm = np.hypot(nx, ny) + 1e-300
    x = np.concatenate([mx + 1e-10 * nx / norm, mx - 1e-10 * nx / norm, mx])
    y = np.concatenate([my + 1e-10 * ny / norm, my - 1e-10 * ny / norm, my])
    keep = (x >= -180) & (x < 180)
    assert_matches_shapely(index, geoms, x[keep], y[keep])


def test_world_cities_fall_in_their_own_country() -> None:
    _, index, _, _ = world()
    cities = {  # name: (lon, lat, ISO alpha-2)
        "Paris": (2.3522, 48.8566, "FR"),
        "Tokyo": (139.6917, 35.6895, "JP"),
        "São Paulo": (-46.6333, -23.5505, "BR"),
        "Nairobi": (36.8219, -1.2921, "KE"),
        "Chicago": (-87.6298, 41.8781, "US"),
        "Suva": (178.4419, -18.1416, "FJ"),
        "Anadyr": (177.5089, 64.7337, "RU"),
        "Visby (Gotland)": (18.2948, 57.6348, "SE"),
        "Alice Springs": (133.8807, -23.698, "AU"),
    }
    x = np.array([c[0] for c in cities.values()])
    y = np.array([c[1] for c in cities.values()])
    got = [index.codes[p] if p >= 0 else None for p in index.locate(x, y)]
    assert got == [c[2] for c in cities.values()]
    # the Pacific and the middle of the Atlantic are nobody's territory
    assert list(index.locate([-140.0, -30.0], [0.0, 30.0])) == [-1, -1]


def test_antimeridian_countries_are_whole_on_both_sides() -> None:
    _, index, _, geoms = world()
    ru = index.position("RU")
    # Chukotka, both sides of the line, and exactly on it (the boundary rule maps
    # 180 to -180 and takes the territory east of it)
    x = np.array([179.5, -179.5, 180.0, -180.0, 540.0])
    y = np.full(5, 66.0)
    assert list(index.locate(x, y)) == [ru] * 5
    rng = np.random.default_rng(3)
    west = rng.uniform(-180, -175, 50_000)
    x = np.concatenate([west, -west])
    y = rng.uniform(-20, 72, 100_000)
    assert_matches_shapely(index, geoms, x, y)


# ----------------------------------------------------------- synthetic shapes

DONUT = poly(square(0, 0, 10, 10), square(3, 3, 7, 7)[::-1])
ISLAND = poly(square(4, 4, 6, 6))  # inside DONUT's hole


def test_holes_and_islands_in_holes() -> None:
    index = TerritoryIndex.from_geojson(fc(feature("DONUT", DONUT), feature("ISLE", ISLAND)))
    x = np.array([1.0, 3.5, 5.0, 6.5, 11.0])
    y = np.array([1.0, 3.5, 5.0, 6.5, 5.0])
    assert list(index.locate(x, y)) == [0, -1, 1, -1, -1]


def test_multipolygon_islands_match_shapely() -> None:
    rng = np.random.default_rng(9)
    polys = []
    for _ in range(30):
        cx, cy = rng.uniform(-15, 15), rng.uniform(-15, 15)
        n = int(rng.integers(3, 40))
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        r = rng.uniform(0.5, 2.0, n)
        ring = np.c_[cx + r * np.cos(ang), cy + r * np.sin(ang)].tolist()
        polys.append([[*ring, ring[0]]])
    # overlapping random islands would be invalid: merge them
    g = shapely.union_all([shape(poly(*p)) for p in polys])
    territories = parse_feature_collection(fc(feature("ARCH", shapely.geometry.mapping(g))))
    index = TerritoryIndex.from_territories(territories)
    geom = shape(territories[0].geometry)
    assert geom.geom_type == "MultiPolygon" and len(geom.geoms) > 10
    coords = shapely.get_coordinates(geom)
    x = np.concatenate([rng.uniform(-180, 180, 20_000), coords[:, 0], coords[:, 0] + 1e-11])
    y = np.concatenate([rng.uniform(-90, 90, 20_000), coords[:, 1], coords[:, 1] - 1e-11])
    # and many points on the islands themselves
    x0, y0, x1, y1 = geom.bounds
    x = np.concatenate([x, rng.uniform(x0, x1, 50_000)])
    y = np.concatenate([y, rng.uniform(y0, y1, 50_000)])
    assert_matches_shapely(index, [geom], x, y)
    assert (index.locate(x, y) == 0).sum() > 1000


def test_ring_crossing_antimeridian_equals_the_same_shape_split() -> None:
    crossing = poly([[170, -10], [-170, -10], [-170, 10], [170, 10], [170, -10]])
    split = {
        "type": "MultiPolygon",
        "coordinates": [[square(170, -10, 180, 10)], [square(-180, -10, -170, 10)]],
    }
    a = TerritoryIndex.from_geojson(fc(feature("A", crossing)))
    b = TerritoryIndex.from_geojson(fc(feature("B", split)))
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(-180, 180, 50_000), [175.0, -175.0, 0.0, 180.0, -180.0]])
    y = np.concatenate([rng.uniform(-15, 15, 50_000), [0.0, 0.0, 0.0, 0.0, 0.0]])
    ra, rb = a.locate(x, y), b.locate(x, y)
    assert np.array_equal(ra, rb)
    assert list(ra[-5:]) == [0, 0, -1, 0, 0]
    inside = (np.abs(x) > 170) & (np.abs(y) < 10)
    assert np.array_equal(ra[:-5] == 0, inside[:-5])
    assert_matches_shapely(a, [shape(a.territories[0].geometry)], x, y)


def test_pole_cap_ring_covers_the_pole() -> None:
    lons = np.linspace(-180, 180, 73)[:-1]
    ring = [[float(lo), -70.0 + 5 * math.sin(math.radians(3 * lo))] for lo in lons]
    ring.append(ring[0])
    index = TerritoryIndex.from_geojson(fc(feature("CAP", poly(ring))))
    x = np.array([0.0, 179.9, -179.9, 90.0, 0.0, 180.0])
    y = np.array([-89.0, -80.0, -80.0, -60.0, -90.0, -89.0])
    assert list(index.locate(x, y)) == [0, 0, 0, -1, 0, 0]


# ------------------------------------------------------------ boundary rule


def test_boundary_rule_east_then_north() -> None:
    quad = fc(
        feature("SW", poly(square(0, 0, 1, 1))),
        feature("SE", poly(square(1, 0, 2, 1))),
        feature("NW", poly(square(0, 1, 1, 2))),
        feature("NE", poly(square(1, 1, 2, 2))),
    )
    index = TerritoryIndex.from_geojson(quad)
    cases = {
        (1.0, 0.5): "SE",  # on the shared vertical edge: the territory east of it
        (0.5, 1.0): "NW",  # on a shared horizontal edge: the one north of it
        (1.0, 1.0): "NE",  # the corner of all four: north-east
        (0.0, 0.5): "SW",  # west edge of SW: east of it is SW
        (0.5, 0.0): "SW",  # south edge: north of it is SW
        (2.0, 0.5): None,  # east edge of SE: east of it is nothing
        (0.5, 2.0): None,  # north edge of NW
        (2.0, 2.0): None,
        (0.0, 0.0): "SW",
    }
    x = np.array([p[0] for p in cases])
    y = np.array([p[1] for p in cases])
    got = [index.codes[p] if p >= 0 else None for p in index.locate(x, y)]
    assert got == list(cases.values())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-20, 20), st.integers(-20, 20)), min_size=3, max_size=12))
def test_shared_borders_leave_no_gap_and_no_overlap(cuts: list[tuple[int, int]]) -> None:
    """A fan of triangles around the origin shares every spoke: each point on a
    spoke (exactly on two boundaries) and the centre (on all of them) lies in
    exactly one triangle, the one that holds the point nudged east, then north."""
    spokes: dict[float, tuple[int, int]] = {}
    for a, b in cuts:
        if (a, b) != (0, 0):
            spokes.setdefault(math.atan2(b, a), (a, b))
    angles = sorted(spokes)
    if len(angles) < 3:
        return
    gaps = [b - a for a, b in itertools.pairwise(angles)]
    gaps.append(angles[0] + 2 * math.pi - angles[-1])
    if max(gaps) >= math.pi - 1e-9:
        return  # not a fan around the origin
    pts = [spokes[t] for t in angles]
    feats = [
        feature(f"T{i}", poly([[0, 0], list(pts[i]), list(pts[(i + 1) % len(pts)]), [0, 0]]))
        for i in range(len(pts))
    ]
    index = TerritoryIndex.from_geojson(fc(*feats))
    geoms = [shape(f["geometry"]) for f in feats]
    # exactly on the spokes: integer endpoints times k/8 are exact doubles
    x = np.array([0.0] + [a * k / 8 for a, _ in pts for k in range(1, 8)])
    y = np.array([0.0] + [b * k / 8 for _, b in pts for k in range(1, 8)])
    assert on_any_boundary(geoms, x, y).all()
    got = index.locate(x, y)
    d = 1e-9
    for i in range(x.shape[0]):
        nudged = shapely.Point(x[i] + d, y[i] + d * d)
        owners = [j for j, g in enumerate(geoms) if g.contains(nudged)]
        assert owners == [int(got[i])], (x[i], y[i])


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(3, 60),
    st.booleans(),
    st.sampled_from([1e-6, 0.5]),
    st.sampled_from([0.05, 1.0, 24.0, 300.0]),
)
def test_random_star_polygons_match_shapely(
    seed: int, n: int, hole: bool, step: float, cells_per_edge: float
) -> None:
    """Random shapes on any grid: a handful of huge cells to many tiny ones, and
    vertices on a coarse lattice (many shared heights: horizontal edges, rays
    through vertices) or a fine one."""
    rng = np.random.default_rng(seed)
    cx, cy = rng.uniform(-150, 150), rng.uniform(-60, 60)
    ang = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = rng.uniform(1.0, 10.0, n)
    sx = np.round((cx + r * np.cos(ang)) / step) * step
    sy = np.round((cy + r * np.sin(ang)) / step) * step
    shell = [[float(a), float(b)] for a, b in zip(sx, sy, strict=True)]
    rings = [[*shell, shell[0]]]
    if hole:
        k = np.linspace(2 * np.pi, 0, 7)[:-1]
        hx, hy = np.round(cx + 0.5 * np.cos(k), 6), np.round(cy + 0.5 * np.sin(k), 6)
        h = [[float(a), float(b)] for a, b in zip(hx, hy, strict=True)]
        rings.append([*h, h[0]])
    g = shape(poly(*rings))
    if not g.is_valid:
        return
    territories = parse_feature_collection(fc(feature("S", poly(*rings))))
    index = TerritoryIndex(territories, cells_per_edge=cells_per_edge)
    v = shapely.get_coordinates(g)
    # points on the vertices' lattice: on edges, on vertices, level with them
    lx = np.round(rng.uniform(cx - 11, cx + 11, 2000) / step) * step
    ly = np.round(rng.uniform(cy - 11, cy + 11, 2000) / step) * step
    x = np.concatenate([rng.uniform(cx - 11, cx + 11, 3000), lx, v[:, 0], v[:, 0] - 1e-9, v[:, 0]])
    y = np.concatenate([rng.uniform(cy - 11, cy + 11, 3000), ly, v[:, 1], v[:, 1], v[:, 1] + 1e-13])
    # microdegree grid points, as scans arrive from the database
    xe = np.round(x * 1e6).astype(np.int64)
    ye = np.round(y * 1e6).astype(np.int64)
    assert_matches_shapely(index, [g], x, y)
    assert_matches_shapely(index, [g], xe / 1e6, ye / 1e6)
    assert np.array_equal(index.locate_e6(xe, ye), index.locate(xe / 1e6, ye / 1e6))


# --------------------------------------------------------- hierarchy, zones

HIER = fc(
    feature("EU", poly(square(0, 0, 20, 20)), level="region"),
    feature("FR", poly(square(0, 0, 10, 10)), "EU", level="country"),
    feature("DE", poly(square(10, 0, 20, 10)), "EU", level="country"),
    feature("IDF", poly(square(2, 2, 4, 4)), "FR", level="province"),
    feature("PAR", poly(square(2.5, 2.5, 3, 3)), "IDF", level="city"),
    # a custom zone drawn across the French-German border, under France
    feature("RHINE", poly(square(9, 5, 11, 6)), "FR"),
)


def test_locate_returns_the_deepest_territory() -> None:
    index = TerritoryIndex.from_geojson(HIER)
    x = np.array([2.7, 3.5, 6.0, 15.0, 15.0, 10.5, 9.5, 25.0])
    y = np.array([2.7, 3.5, 6.0, 5.0, 15.0, 5.5, 5.5, 5.0])
    got = [index.codes[p] if p >= 0 else None for p in index.locate(x, y)]
    assert got == ["PAR", "IDF", "FR", "DE", "EU", "RHINE", "RHINE", None]
    assert list(index.depth) == [0, 1, 1, 2, 3, 2]
    assert index.codes[index.parent[index.position("PAR")]] == "IDF"


def test_within_any_covers_descendants() -> None:
    index = TerritoryIndex.from_geojson(HIER)
    x = np.array([2.7, 6.0, 10.5, 15.0, 25.0])
    y = np.array([2.7, 6.0, 5.5, 5.0, 5.0])
    # France covers its custom zone reaching into Germany
    assert list(index.within_any(x, y, ["FR"])) == [True, True, True, False, False]
    assert list(index.within_any(x, y, ["DE"])) == [False, False, True, True, False]
    assert list(index.within_any(x, y, [index.position("IDF")])) == [
        True,
        False,
        False,
        False,
        False,
    ]
    assert list(index.within_any(x, y, ["EU"])) == [True, True, True, True, False]
    assert list(index.within_any(x, y, [])) == [False] * 5


def test_within_zones_answers_each_point_for_its_own_zone() -> None:
    index = TerritoryIndex.from_geojson(HIER)
    zones = [["FR"], ["DE"], ["IDF", "DE"]]
    x = np.array([2.7, 2.7, 2.7, 15.0, 6.0, 6.0])
    y = np.array([2.7, 2.7, 2.7, 5.0, 6.0, 6.0])
    zone = np.array([0, 1, 2, 2, 2, -1])
    assert list(index.within_zones(x, y, zone, zones)) == [True, False, True, True, False, False]
    with pytest.raises(ValueError):
        index.within_zones(x, y, zone[:3], zones)
    with pytest.raises(ValueError):
        index.within_zones(x, y, np.full(6, 3), zones)


def test_within_any_matches_locate_and_hierarchy_on_random_points() -> None:
    index = TerritoryIndex.from_geojson(HIER)
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 21, 20_000)
    y = rng.uniform(-1, 21, 20_000)
    for code in index.codes:
        geoms = [
            shape(index.territories[p].geometry) for p in index.descendants([index.position(code)])
        ]
        union = shapely.union_all(geoms)
        want = shapely.contains_xy(union, x, y)
        off = ~shapely.intersects_xy(shapely.union_all([g.boundary for g in geoms]), x, y)
        got = index.within_any(x, y, [code])
        assert np.array_equal(got[off], want[off]), code


# ------------------------------------------------------------ the wrapper


def test_wrapper_validates_and_handles_odd_points() -> None:
    index = TerritoryIndex.from_geojson(fc(feature("A", poly(square(-10, -10, 10, 10)))))
    assert index.locate([], []).dtype == np.int32
    assert list(index.locate([np.nan, 0.0, np.inf, 0.0], [0.0, np.nan, 0.0, 95.0])) == [-1] * 4
    assert list(index.locate([360.0, -360.0, 725.0], [0.0, 0.0, 0.0])) == [0, 0, 0]
    with pytest.raises(ValueError, match="differ in length"):
        index.locate([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="1-D"):
        index.locate([[1.0]], [[1.0]])
    with pytest.raises(ValueError, match="integer"):
        index.locate_e6([1.5], [2.5])
    assert list(index.locate_e6(np.array([5_000_000, 20_000_000]), np.array([0, 0]))) == [0, -1]


def test_empty_index_finds_nothing() -> None:
    index = TerritoryIndex.from_geojson(fc())
    assert len(index) == 0
    assert list(index.locate([0.0, 10.0], [0.0, 10.0])) == [-1, -1]
    assert list(index.within_any([0.0], [0.0], [])) == [False]


# ------------------------------------------------------- the exact predicate


def _exact_orient(ax: float, ay: float, bx: float, by: float, px: float, py: float) -> int:
    det = (Fraction(ax) - Fraction(px)) * (Fraction(by) - Fraction(py)) - (
        Fraction(ay) - Fraction(py)
    ) * (Fraction(bx) - Fraction(px))
    return (det > 0) - (det < 0)


coord = st.floats(-180, 180, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(coord, coord, coord, coord, st.floats(0, 1), st.integers(-3, 3), st.integers(-3, 3))
def test_orientation_sign_is_exact_next_to_the_line(
    ax: float, ay: float, bx: float, by: float, t: float, ux: int, uy: int
) -> None:
    """Points a few ulps off an edge's line, where the floating-point determinant
    cannot be trusted: the kernel's sign must be the rational one."""
    px, py = ax + t * (bx - ax), ay + t * (by - ay)
    for _ in range(abs(ux)):
        px = float(np.nextafter(px, math.copysign(np.inf, ux)))
    for _ in range(abs(uy)):
        py = float(np.nextafter(py, math.copysign(np.inf, uy)))
    # the index reads coordinates nearer to 0 than kernels.TINY as 0
    assume(all(v == 0 or abs(v) >= kernels.TINY for v in (ax, ay, bx, by, px, py)))
    assert kernels._orient_sign(ax, ay, bx, by, px, py) == _exact_orient(ax, ay, bx, by, px, py)


def test_coordinates_next_to_zero_are_zero() -> None:
    index = TerritoryIndex.from_geojson(
        fc(feature("A", poly([[0, 0], [1, 0], [1, 1], [1e-300, 1], [0, 0]])))
    )
    assert index.territories[0].geometry["coordinates"][0][3] == [0.0, 1.0]
    x = np.array([5e-324, -5e-324, -1e-200, 0.5])
    y = np.array([0.5, 0.5, 0.5, -1e-300])
    assert list(index.locate(x, y)) == [0, 0, 0, 0]  # on the west/south edge: inside


def test_one_index_serves_many_threads() -> None:
    _, index, _, _ = world()
    rng = np.random.default_rng(8)
    x = rng.uniform(-180, 180, 100_000)
    y = rng.uniform(-90, 90, 100_000)
    want = index.locate(x, y)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: index.locate(x, y), range(8)))
    assert all(np.array_equal(r, want) for r in results)
