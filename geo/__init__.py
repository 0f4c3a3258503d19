"""Territories: GeoJSON polygons, the region hierarchy, a numba point-in-territory
index, scan distances and maps. Imports nothing else of ours."""

from __future__ import annotations

from geo.cache import cached_index
from geo.distance import EARTH_RADIUS_M, great_circle_m, speed_kmh
from geo.errors import GeometryError, TerritoryError
from geo.geometry import (
    LEVELS,
    Repair,
    Territory,
    normalize_geometry,
    parse_feature_collection,
    parse_feature_collection_repairing,
)
from geo.hierarchy import TerritoryNode, locate_chain, territory_tree
from geo.index import TerritoryIndex
from geo.models import GeoBase, TerritoryRow
from geo.render import render_map
from geo.store import (
    REGION_CODES,
    City,
    ImportReport,
    import_feature_collection,
    load_index,
    stored_territories,
    world_cities,
    world_countries,
)

__all__ = [
    "EARTH_RADIUS_M",
    "LEVELS",
    "REGION_CODES",
    "City",
    "GeoBase",
    "GeometryError",
    "ImportReport",
    "Repair",
    "Territory",
    "TerritoryError",
    "TerritoryIndex",
    "TerritoryNode",
    "TerritoryRow",
    "cached_index",
    "great_circle_m",
    "import_feature_collection",
    "load_index",
    "locate_chain",
    "normalize_geometry",
    "parse_feature_collection",
    "parse_feature_collection_repairing",
    "render_map",
    "speed_kmh",
    "stored_territories",
    "territory_tree",
    "world_cities",
    "world_countries",
]
