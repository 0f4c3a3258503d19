"""The territories table, all-or-nothing imports, and the shipped real data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from geo import (
    REGION_CODES,
    GeoBase,
    GeometryError,
    TerritoryError,
    TerritoryIndex,
    TerritoryRow,
    import_feature_collection,
    load_index,
    world_cities,
    world_countries,
)


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    engine = create_engine(db_url)
    GeoBase.metadata.create_all(engine)
    with Session(engine) as s:
        yield s
    engine.dispose()


def square(code: str, x0: float, y0: float, size: float, **props: Any) -> dict[str, Any]:
    x1, y1 = x0 + size, y0 + size
    return {
        "type": "Feature",
        "properties": {"code": code, **props},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
        },
    }


def fc(*features: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def test_import_creates_then_updates_by_code(session: Session) -> None:
    report = import_feature_collection(
        session,
        fc(
            square("NORTH", 0, 0, 10, name="North", level="country"),
            square("N-1", 1.25, 2.5, 1, parent="NORTH", level="province"),
        ),
    )
    session.commit()
    assert report.created == ("NORTH", "N-1") and report.updated == ()
    row = session.scalars(select(TerritoryRow).where(TerritoryRow.code == "N-1")).one()
    assert (row.parent_code, row.level, row.name) == ("NORTH", "province", "N-1")
    assert (row.min_lon_e6, row.min_lat_e6, row.max_lon_e6, row.max_lat_e6) == (
        1_250_000,
        2_500_000,
        2_250_000,
        3_500_000,
    )
    assert json.loads(row.geometry)["type"] == "Polygon"

    # a second file moves the province and adds a city under it (parent in the store)
    report = import_feature_collection(
        session,
        fc(
            square("N-1", 5, 5, 2, parent="NORTH", level="province"),
            square("N-1-C", 5.5, 5.5, 0.5, parent="N-1", level="city"),
        ),
    )
    session.commit()
    assert report.created == ("N-1-C",) and report.updated == ("N-1",)
    assert session.scalar(select(func.count()).select_from(TerritoryRow)) == 3
    index = load_index(session)
    assert index.codes == ("NORTH", "N-1", "N-1-C")
    got = index.locate([1.5, 5.7, 6.5, 20.0], [3.0, 5.7, 6.5, 20.0])
    assert [index.codes[p] if p >= 0 else None for p in got] == ["NORTH", "N-1-C", "N-1", None]


def test_one_bad_feature_refuses_the_whole_file(session: Session) -> None:
    bad = square("BAD", 0, 0, 1)
    bad["geometry"]["coordinates"][0].pop()  # open ring
    with pytest.raises(GeometryError) as err:
        import_feature_collection(session, fc(square("GOOD", 0, 0, 1), bad))
    assert (err.value.index, err.value.code) == (1, "BAD")
    assert "not closed" in err.value.reason
    session.rollback()
    assert session.scalar(select(func.count()).select_from(TerritoryRow)) == 0


def test_unknown_parent_and_cycles_through_the_store_are_refused(session: Session) -> None:
    import_feature_collection(session, fc(square("A", 0, 0, 1), square("B", 0, 0, 1, parent="A")))
    session.commit()
    with pytest.raises(TerritoryError, match="unknown parent 'Z'"):
        import_feature_collection(session, fc(square("C", 0, 0, 1, parent="Z")))
    with pytest.raises(TerritoryError, match="cycle"):
        import_feature_collection(session, fc(square("A", 0, 0, 1, parent="B")))
    session.rollback()
    assert session.scalars(select(TerritoryRow.parent_code).order_by(TerritoryRow.id)).all() == [
        None,
        "A",
    ]


def test_world_countries_is_the_default_territory_set(session: Session) -> None:
    world = world_countries()
    props = [f["properties"] for f in world["features"]]
    codes = [p["code"] for p in props]
    assert len(codes) == len(set(codes))
    regions = [p for p in props if p["level"] == "region"]
    countries = [p for p in props if p["level"] == "country"]
    assert {p["code"] for p in regions} == set(REGION_CODES.values())
    assert len(countries) > 165
    assert all(len(p["code"]) == 2 and p["code"].isupper() for p in countries)
    parent = {p["code"]: p["parent"] for p in countries}
    assert (parent["FR"], parent["JP"], parent["BR"], parent["AQ"]) == (
        "EUROPE",
        "ASIA",
        "AMERICAS",
        None,
    )
    # it imports as is (every shape valid) and locates real places
    report = import_feature_collection(session, world)
    assert len(report.created) == len(codes)
    index = load_index(session)
    got = index.locate([2.35, 18.29, 178.44, -149.9], [48.86, 57.63, -18.14, 61.22])
    assert [index.codes[p] for p in got] == ["FR", "SE", "FJ", "US"]
    europe = index.position("EUROPE")
    assert list(index.within_any([2.35, -74.0], [48.86, 40.7], [europe])) == [True, False]


def test_world_countries_without_regions() -> None:
    world = world_countries(regions=False)
    assert {f["properties"]["level"] for f in world["features"]} == {"country"}
    assert all(f["properties"]["parent"] is None for f in world["features"])
    index = TerritoryIndex.from_geojson(world)
    assert index.stats["edges"] > 9000


def test_world_cities_are_real_places() -> None:
    cities = world_cities(min_population=1_000_000)
    assert 200 < len(cities) < 1000
    assert all(c.population >= 1_000_000 for c in cities)
    paris = next(c for c in cities if c.name == "Paris")
    assert paris.country == "FR"
    assert abs(paris.lon - 2.35) < 0.1 and abs(paris.lat - 48.85) < 0.1
    assert [c.geonameid for c in cities] == sorted(c.geonameid for c in cities)
    with pytest.raises(ValueError):
        world_cities(min_population=100)
    # most big cities lie in their own country's (coarse) shape
    index = TerritoryIndex.from_geojson(world_countries(regions=False))
    lon = np.array([c.lon for c in cities])
    lat = np.array([c.lat for c in cities])
    codes = [index.codes[p] if p >= 0 else None for p in index.locate(lon, lat)]
    agree = np.mean([a == c.country for a, c in zip(codes, cities, strict=True)])
    assert agree > 0.85
    placed = world_cities(min_population=1_000_000, inside_country=True)
    assert len(placed) == round(agree * len(cities))
    got = index.locate([c.lon for c in placed], [c.lat for c in placed])
    assert [index.codes[p] for p in got] == [c.country for c in placed]
    assert not {"HU", "RS", "MM"} & {c.country for c in placed}  # no shape in countryinfo
