"""Invalid polygons repaired as GEOS ``make_valid`` repairs them, reported, or refused.

The repaired territory must answer point queries as shapely does on GEOS's own
repair (polygonal parts of ``make_valid``), away from the boundary (within 1e-9
of it the index's east-north tie rule decides, see :mod:`geo.index`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import countryinfo
import numpy as np
import pytest
import shapely
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import shape
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import geo
from geo import GeometryError, TerritoryIndex, parse_feature_collection_repairing

RunCli = Callable[..., Result]

BOWTIE = [[[0.0, 0.0], [2.0, 2.0], [2.0, 0.0], [0.0, 2.0], [0.0, 0.0]]]
# one ring that passes through (2, 2) twice: a self-touching ring
SELF_TOUCHING = [
    [[0.0, 0.0], [4.0, 0.0], [2.0, 2.0], [4.0, 4.0], [0.0, 4.0], [2.0, 2.0], [0.0, 0.0]]
]
SHAPES = {"BOW": BOWTIE, "TOUCH": SELF_TOUCHING}


def feature(code: str, rings: list[list[list[float]]], name: str | None = None) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name or f"{code} land"},
        "geometry": {"type": "Polygon", "coordinates": rings},
    }


def fc(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def geos_repair(rings: list[list[list[float]]]) -> shapely.Geometry:
    """What GEOS makes of the polygon: make_valid, polygonal parts only."""
    fixed = shapely.make_valid(shapely.Polygon(rings[0], rings[1:]))
    parts = [g for g in shapely.get_parts(fixed) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts)


@pytest.mark.parametrize("code", sorted(SHAPES))
def test_the_shapes_are_invalid_and_repair_is_reported(code: str) -> None:
    rings = SHAPES[code]
    assert not shapely.is_valid(shapely.Polygon(rings[0]))
    with pytest.raises(GeometryError) as err:
        parse_feature_collection_repairing(fc(feature(code, rings)))
    assert f"feature 0 ({code})" in str(err.value)
    (t,), (r,) = parse_feature_collection_repairing(fc(feature(code, rings)), repair=True)
    assert (r.index, r.code, r.name) == (0, code, f"{code} land")
    assert r.reason == shapely.is_valid_reason(shapely.Polygon(rings[0]))
    repaired = shape(t.geometry)
    assert repaired.is_valid
    assert repaired.symmetric_difference(geos_repair(rings)).area < 1e-12
    assert repaired.area > 0


@pytest.mark.parametrize("code", sorted(SHAPES))
@settings(max_examples=40, deadline=None)
@given(pts=st.lists(st.tuples(st.floats(-0.5, 4.5), st.floats(-0.5, 4.5)), min_size=1, max_size=50))
def test_repaired_territory_answers_point_queries_as_shapely(
    code: str, pts: list[tuple[float, float]]
) -> None:
    rings = SHAPES[code]
    territories, _ = parse_feature_collection_repairing(fc(feature(code, rings)), repair=True)
    index = TerritoryIndex.from_territories(territories)
    expected_shape = geos_repair(rings)
    x = np.array([p[0] for p in pts])
    y = np.array([p[1] for p in pts])
    points = shapely.points(x, y)
    away = shapely.distance(expected_shape.boundary, points) > 1e-9
    got = index.locate(x, y) == 0
    want = shapely.contains(expected_shape, points)
    assert np.array_equal(got[away], want[away])
    assert np.array_equal(want[away], shapely.covers(expected_shape, points)[away])


def _write(tmp_path: Path, data: dict[str, Any]) -> str:
    path = tmp_path / "shapes.geojson"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def _stored(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(geo.TerritoryRow)) or 0)


def test_cli_repairs_and_names_each_repaired_feature(
    run_cli: RunCli, engine: Engine, tmp_path: Path
) -> None:
    good = feature("GOOD", [[[10.0, 10.0], [11.0, 10.0], [11.0, 11.0], [10.0, 11.0], [10.0, 10.0]]])
    path = _write(
        tmp_path, fc(good, feature("BOW", BOWTIE, "Bow Tie"), feature("TOUCH", SELF_TOUCHING))
    )
    result = run_cli("territories", "import", path)
    assert result.exit_code == 0, result.output
    assert "repaired invalid geometry of feature 1 (BOW, Bow Tie): Self-intersection[1 1]" in (
        result.output
    )
    assert "feature 2 (TOUCH, TOUCH land): Ring Self-intersection" in result.output
    assert "GOOD" not in result.output
    assert "3 territories created, 0 updated" in result.output
    assert _stored(engine) == 3


def test_cli_strict_refuses_naming_every_invalid_feature(
    run_cli: RunCli, engine: Engine, tmp_path: Path
) -> None:
    good = feature("GOOD", [[[10.0, 10.0], [11.0, 10.0], [11.0, 11.0], [10.0, 11.0], [10.0, 10.0]]])
    path = _write(tmp_path, fc(good, feature("BOW", BOWTIE), feature("TOUCH", SELF_TOUCHING)))
    result = run_cli("territories", "import", "--strict", path)
    assert result.exit_code == 1
    assert "2 features have invalid geometry" in result.output
    assert "feature 1 (BOW): Self-intersection[1 1]" in result.output
    assert "feature 2 (TOUCH): Ring Self-intersection" in result.output
    assert "nothing was imported" in result.output
    assert _stored(engine) == 0  # not even GOOD


def test_countryinfo_antarctica_imports_repaired(run_cli: RunCli, tmp_path: Path) -> None:
    data = os.path.join(os.path.dirname(countryinfo.__file__), "data", "antarctica.json")
    with open(data, encoding="utf-8") as fh:
        raw = json.load(fh)["geoJSON"]["features"][0]["geometry"]
    ant = {"type": "Feature", "properties": {"code": "AQ", "name": "Antarctica"}, "geometry": raw}
    path = _write(tmp_path, fc(ant))
    strict = run_cli("territories", "import", "--strict", path)
    assert strict.exit_code == 1
    assert "feature 0 (AQ): invalid geometry: Self-intersection" in strict.output
    result = run_cli("territories", "import", path)
    assert result.exit_code == 0, result.output
    assert "feature 0 (AQ, Antarctica): Self-intersection" in result.output
