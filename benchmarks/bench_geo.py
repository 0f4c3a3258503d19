"""pytest-benchmark suite of the territory index, beside shapely 2 on the same points.

Run: .venv/bin/pytest benchmarks/bench_geo.py --benchmark-only
(``benchmarks/compare_geo.py`` prints the ratios and checks the answers.)
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest
import shapely
from numpy.typing import NDArray
from shapely.geometry import shape

from benchmarks.compare_geo import small_polygons
from geo import (
    Territory,
    TerritoryIndex,
    great_circle_m,
    parse_feature_collection,
    world_countries,
)

N = 1_000_000


@functools.cache
def world() -> list[Territory]:
    return parse_feature_collection(world_countries(regions=False))


@functools.cache
def small() -> list[Territory]:
    return parse_feature_collection(small_polygons())


@functools.cache
def points(case: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    rng = np.random.default_rng(2024)
    if case == "world":
        return rng.uniform(-180, 180, N), rng.uniform(-90, 90, N)
    return rng.uniform(-10, 40, N), rng.uniform(35, 70, N)


CASES = {"world": world, "small": small}


@pytest.mark.parametrize("case", list(CASES))
def test_locate(benchmark: Any, case: str) -> None:
    index = TerritoryIndex.from_territories(CASES[case]())
    lon, lat = points(case)
    index.locate(lon[:10], lat[:10])
    benchmark.extra_info["points"] = N
    out = benchmark(index.locate, lon, lat)
    assert out.shape == (N,)


@pytest.mark.parametrize("case", list(CASES))
def test_shapely_strtree_within(benchmark: Any, case: str) -> None:
    tree = shapely.STRtree([shape(t.geometry) for t in CASES[case]()])
    lon, lat = points(case)
    pts = shapely.points(lon, lat)
    benchmark.extra_info["points"] = N
    benchmark.pedantic(tree.query, args=(pts,), kwargs={"predicate": "within"}, rounds=2)


@pytest.mark.parametrize("case", list(CASES))
def test_build(benchmark: Any, case: str) -> None:
    territories = CASES[case]()
    TerritoryIndex.from_territories(territories[:2])
    benchmark(TerritoryIndex.from_territories, territories)


def test_build_world_from_geojson(benchmark: Any) -> None:
    fc = world_countries()
    benchmark(TerritoryIndex.from_geojson, fc)


def test_within_any(benchmark: Any) -> None:
    index = TerritoryIndex.from_geojson(world_countries())
    lon, lat = points("world")
    zone = [index.position("EUROPE"), index.position("CN")]
    index.within_any(lon[:10], lat[:10], zone)
    benchmark(index.within_any, lon, lat, zone)


def test_great_circle(benchmark: Any) -> None:
    lon, lat = points("world")
    great_circle_m(lon[:10], lat[:10], lat[:10], lon[:10])
    benchmark(great_circle_m, lon, lat, lat / 2, lon / 2)
