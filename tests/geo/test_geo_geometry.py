"""Territory files: what is refused (with the feature and the reason), what is
normalized (antimeridian, poles, orientation), and the hierarchy checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import shapely
from shapely.geometry import shape

from geo import (
    GeometryError,
    TerritoryError,
    TerritoryIndex,
    normalize_geometry,
    parse_feature_collection,
)

SQUARE = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]


def fc(*features: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def feat(code: str | None, coordinates: Any, kind: str = "Polygon", **props: Any) -> Any:
    properties = dict(props)
    if code is not None:
        properties["code"] = code
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": kind, "coordinates": coordinates},
    }


@pytest.mark.parametrize(
    ("coordinates", "reason"),
    [
        ([[[0, 0], [1, 0], [1, 1], [0, 1]]], "not closed"),
        ([[[0, 0], [1, 0], [0, 0]]], "at least 4"),
        ([[[0, 0], [181, 0], [1, 1], [0, 0]]], "out of range"),
        ([[[0, 0], [1, 0], [1, 91], [0, 0]]], "out of range"),
        ([[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]], "Self-intersection"),
        ([SQUARE, [[2, 2], [3, 2], [3, 3], [2, 2]]], "Hole lies outside shell"),
        ([[[0, 0], ["a", 0], [1, 1], [0, 0]]], "is not [longitude, latitude]"),
        ([[[0, 0], [float("nan"), 0], [1, 1], [0, 0]]], "finite"),
        ([], "no rings"),
    ],
)
def test_invalid_geometry_is_refused_with_feature_and_reason(coordinates: Any, reason: str) -> None:
    good = feat("OK", [SQUARE])
    with pytest.raises(GeometryError) as err:
        parse_feature_collection(fc(good, feat("BAD", coordinates)))
    assert err.value.index == 1
    assert err.value.code == "BAD"
    assert reason in err.value.reason
    assert str(err.value).startswith("feature 1 (BAD): ")


def test_overlapping_parts_of_a_multipolygon_are_refused() -> None:
    a = [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]]
    b = [[[1, 1], [3, 1], [3, 3], [1, 3], [1, 1]]]
    with pytest.raises(GeometryError, match="feature 0 \\(M\\): invalid geometry"):
        parse_feature_collection(fc(feat("M", [a, b], "MultiPolygon")))


def test_other_geometry_types_are_refused() -> None:
    with pytest.raises(GeometryError, match="Polygon or MultiPolygon"):
        parse_feature_collection(fc(feat("P", [0, 0], "Point")))


@pytest.mark.parametrize(
    ("features", "reason"),
    [
        ([feat(None, [SQUARE])], "properties.code"),
        ([feat("A", [SQUARE]), feat("A", [SQUARE])], "already used by feature 0"),
        ([feat("A", [SQUARE], parent="NOPE")], "unknown parent 'NOPE'"),
        (
            [feat("A", [SQUARE], parent="B"), feat("B", [SQUARE], parent="A")],
            "cycle",
        ),
        ([feat("A", [SQUARE], level="planet")], "level 'planet'"),
    ],
)
def test_bad_properties_and_hierarchy_are_refused(features: list[Any], reason: str) -> None:
    with pytest.raises(TerritoryError, match=reason):
        parse_feature_collection(fc(*features))


def test_not_a_feature_collection() -> None:
    with pytest.raises(TerritoryError, match="FeatureCollection"):
        parse_feature_collection({"type": "Feature"})


def test_properties_and_defaults() -> None:
    (t,) = parse_feature_collection(
        {"type": "FeatureCollection", "features": [{**feat(None, [SQUARE]), "id": "X1"}]}
    )
    assert (t.code, t.name, t.parent, t.level) == ("X1", "X1", None, "custom")
    assert t.bbox == (0.0, 0.0, 1.0, 1.0)


def test_shells_come_out_counter_clockwise_and_holes_clockwise() -> None:
    cw_shell = [[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]]
    ccw_hole = [[2, 2], [4, 2], [4, 4], [2, 4], [2, 2]]
    g = normalize_geometry({"type": "Polygon", "coordinates": [cw_shell, ccw_hole]})
    p = shape(g)
    assert p.exterior.is_ccw and not p.interiors[0].is_ccw
    # the same coordinates, only the ring order changed
    assert sorted(map(tuple, g["coordinates"][0])) == sorted(map(tuple, cw_shell))


def test_ring_crossing_the_antimeridian_is_split_there() -> None:
    ring = [[170, -10], [-170, -10], [-170, 10], [170, 10], [170, -10]]
    g = normalize_geometry({"type": "Polygon", "coordinates": [ring]})
    assert g["type"] == "MultiPolygon"
    m = shape(g)
    assert m.is_valid and m.area == pytest.approx(400.0)
    assert sorted(p.bounds for p in m.geoms) == [
        (-180.0, -10.0, -170.0, 10.0),
        (170.0, -10.0, 180.0, 10.0),
    ]


def test_hole_of_a_crossing_polygon_stays_in_its_shell() -> None:
    shell = [[160, -20], [-160, -20], [-160, 20], [160, 20], [160, -20]]
    hole = [[175, -5], [175, 5], [-175, 5], [-175, -5], [175, -5]]
    m = shape(normalize_geometry({"type": "Polygon", "coordinates": [shell, hole]}))
    assert m.area == pytest.approx(40 * 40 - 10 * 10)
    assert not m.contains(shapely.Point(179, 0)) and m.contains(shapely.Point(179, 10))


def test_positions_away_from_the_antimeridian_keep_their_exact_values() -> None:
    ring = [[-179.123456, 1.5], [179.654321, 1.5], [179.654321, 2.5], [-179.123456, 2.5]]
    ring.append(ring[0])
    m = shape(normalize_geometry({"type": "Polygon", "coordinates": [ring]}))
    xs = set(shapely.get_coordinates(m)[:, 0])
    assert {-179.123456, 179.654321, 180.0, -180.0} == xs


def test_from_geojson_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "t.geojson"
    path.write_text(json.dumps(fc(feat("A", [SQUARE], name="Alpha"))), encoding="utf-8")
    index = TerritoryIndex.from_geojson(path)
    assert index.codes == ("A",)
    assert index.territories[0].name == "Alpha"
    assert list(index.locate([0.5], [0.5])) == [0]
    assert TerritoryIndex.from_geojson(str(path)).codes == ("A",)
