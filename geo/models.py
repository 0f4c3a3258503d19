"""The ``territories`` table, on a declarative base of its own.

``geo`` may import nothing of ours, so it cannot use ``ledger``'s base; the
naming convention is the same, so constraint names read alike in one database
and in the migrations that create both.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class GeoBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TerritoryRow(GeoBase):
    """A stored territory: normalized GeoJSON and its bounding box.

    ``parent_code`` is a code rather than a foreign key so a file can bring a
    parent and its children in any order; :func:`geo.import_feature_collection`
    checks that every parent exists. The bounding box is in integer
    micro-degrees (like every stored coordinate) so a database can pre-filter
    scans without parsing the geometry; for a territory split at the
    antimeridian it spans both halves.
    """

    __tablename__ = "territories"
    __table_args__ = (
        CheckConstraint(
            "level IN ('region', 'country', 'province', 'city', 'custom')", name="level"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_code: Mapped[str | None] = mapped_column(String(64), default=None)
    level: Mapped[str] = mapped_column(String(16))
    geometry: Mapped[str] = mapped_column(Text)  # GeoJSON Polygon or MultiPolygon
    min_lon_e6: Mapped[int] = mapped_column(Integer)
    min_lat_e6: Mapped[int] = mapped_column(Integer)
    max_lon_e6: Mapped[int] = mapped_column(Integer)
    max_lat_e6: Mapped[int] = mapped_column(Integer)
