"""geo.TerritoryIndex beside shapely 2 on the same points, in the same run.

Prints points per second for both and the ratio, and asserts the answers are
identical: for every point, our territory is the lowest-positioned polygon that
shapely's ``STRtree.query(points, predicate="within")`` finds (all territories
here are equally deep, so that is the index's overlap rule), or -1 for none.

Points are uniform over the territories' box: the worst case for the index's
caches (real scans cluster in cities and hit the same cells again and again).
Timings are wall-clock on however many cores numba is given (NUMBA_NUM_THREADS);
shapely's query runs on one.

Run: .venv/bin/python benchmarks/compare_geo.py [--points N]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import shape

from geo import Territory, TerritoryIndex, parse_feature_collection, world_countries


def small_polygons(n: int = 2000, seed: int = 7) -> dict[str, Any]:
    """``n`` disjoint star-shaped polygons (16 to 64 vertices) on a jittered
    lattice over Europe, every fourth with a hole: a province/city-sized set."""
    rng = np.random.default_rng(seed)
    cols = int(np.ceil(np.sqrt(n * 1.25)))
    rows = int(np.ceil(n / cols))
    x0, y0, w, h = -10.0, 35.0, 50.0, 35.0
    cw, ch = w / cols, h / rows
    features = []
    for i in range(n):
        r, c = divmod(i, cols)
        cx = x0 + (c + 0.5 + rng.uniform(-0.1, 0.1)) * cw
        cy = y0 + (r + 0.5 + rng.uniform(-0.1, 0.1)) * ch
        m = int(rng.integers(16, 65))
        ang = np.sort(rng.uniform(0, 2 * np.pi, m))
        rad = rng.uniform(0.2, 0.38, m)
        shell = [
            [cx + cw * a * np.cos(t), cy + ch * a * np.sin(t)]
            for a, t in zip(rad, ang, strict=True)
        ]
        rings = [[*shell, shell[0]]]
        if i % 4 == 0:
            k = np.linspace(0, 2 * np.pi, 9)[:-1]
            hole = [[cx + cw * 0.1 * np.cos(t), cy + ch * 0.1 * np.sin(t)] for t in k[::-1]]
            rings.append([*hole, hole[0]])
        features.append(
            {
                "type": "Feature",
                "properties": {"code": f"P{i:05d}", "name": f"polygon {i}"},
                "geometry": {"type": "Polygon", "coordinates": rings},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def shapely_locate(
    tree: shapely.STRtree, n_geoms: int, lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> NDArray[np.int32]:
    pts = shapely.points(lon, lat)
    pi, gi = tree.query(pts, predicate="within")
    out = np.full(lon.shape[0], n_geoms, dtype=np.int64)
    np.minimum.at(out, pi, gi)
    out[out == n_geoms] = -1
    return out.astype(np.int32)


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times = []
    result = None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def compare(
    name: str, territories: list[Territory], lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> float:
    index = TerritoryIndex.from_territories(territories)
    index.locate(lon[:1000], lat[:1000])  # numba: load the cached machine code
    t_build, _ = best(lambda: TerritoryIndex.from_territories(territories), 3)
    t_ours, ours = best(lambda: index.locate(lon, lat), 5)
    geoms = [shape(t.geometry) for t in territories]
    t_tree, tree = best(lambda: shapely.STRtree(geoms), 1)
    pts = shapely.points(lon, lat)
    t_query, _ = best(lambda: tree.query(pts, predicate="within"), 2)
    t_total, theirs = best(lambda: shapely_locate(tree, len(geoms), lon, lat), 1)
    n = lon.shape[0]
    mismatches = int((ours != theirs).sum())
    print(
        f"== {name}: {len(territories)} territories, {index.stats['edges']} edges, "
        f"{n:,} points ({(ours >= 0).mean():.0%} inside one)"
    )
    print(
        f"   index build          {t_build * 1000:8.1f} ms   (shapely STRtree {t_tree * 1000:.1f} ms)"
    )
    print(f"   hopchain locate      {n / t_ours / 1e6:8.2f} M points/s")
    print(
        f"   shapely query only   {n / t_query / 1e6:8.2f} M points/s   ratio {t_query / t_ours:7.1f}x"
    )
    print(
        f"   shapely points+query {n / t_total / 1e6:8.2f} M points/s   ratio {t_total / t_ours:7.1f}x"
    )
    print(f"   identical answers:   {mismatches == 0} ({mismatches} differ)")
    assert mismatches == 0, f"{name}: {mismatches} points differ from shapely"
    return t_query / t_ours


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    print(
        f"numba threads: {os.environ.get('NUMBA_NUM_THREADS', os.cpu_count())}, "
        f"shapely {shapely.__version__} (GEOS {shapely.geos_version_string})"
    )

    t = time.perf_counter()
    world_fc = world_countries(regions=False)
    TerritoryIndex.from_geojson(world_fc)
    t_geojson, _ = best(lambda: TerritoryIndex.from_geojson(world_fc), 3)
    print(
        f"world countries from GeoJSON (validate + normalize + build): {t_geojson * 1000:.0f} ms"
        f" (first call in this process incl. data load: {time.perf_counter() - t:.2f} s)"
    )
    world = parse_feature_collection(world_fc)
    n = args.points
    # uniform over the globe's lon/lat rectangle: oceans, land, borders alike
    r1 = compare("world countries", world, rng.uniform(-180, 180, n), rng.uniform(-90, 90, n))

    small = parse_feature_collection(small_polygons())
    r2 = compare("2,000 small polygons", small, rng.uniform(-10, 40, n), rng.uniform(35, 70, n))
    print(f"ratio vs shapely query (goal >= 20x): world {r1:.0f}x, small polygons {r2:.0f}x")
    # other work on the machine slows our two threads more than shapely's one
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
