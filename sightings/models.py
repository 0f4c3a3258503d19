"""Tables of what labels answer and what is seen in the field.

Public sightings and suspected alerts are *low-trust* evidence: they live here,
apart from custody and the ledger, so settlement (which reads only the ledger and
``alerts``) never moves because of them. An inspector's scan is different: it is
an ``inspecting`` entry in the ledger (trusted, signed by the log's checkpoints),
and :class:`Inspection` keeps what the entry cannot hold (shop, note, photos).

No IP address, device identifier or precise location of a member of the public is
stored: a sighting keeps a location rounded to about 1 km
(:data:`sightings.policy.COARSE_E6`), the time, the language of the page and a
hash of the one-time token its page carried (so a replayed request is refused).

Coordinates are integer micro-degrees, times integer milliseconds since the Unix
epoch (UTC), as in :mod:`ledger.models`.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import Base

__all__ = [
    "Inspection",
    "InspectionPhoto",
    "ProductImage",
    "PublicSighting",
    "SuspectedAlert",
    "VerificationTally",
]


class ProductImage(Base):
    """The picture the consumer's page shows for a product (one per product)."""

    __tablename__ = "product_images"

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(40))  # image/png | image/jpeg | image/webp
    data: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))  # hex; also the page's cache validator
    updated_ms: Mapped[int] = mapped_column(BigInteger)
    updated_by: Mapped[str] = mapped_column(String(64))


class VerificationTally(Base):
    """How often a unit's label was verified by the public, and when first and last.

    One row per unit ever verified; a verification of an unknown code counts nowhere.
    """

    __tablename__ = "label_verifications"

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    first_ms: Mapped[int] = mapped_column(BigInteger)
    last_ms: Mapped[int] = mapped_column(BigInteger)


class SuspectedAlert(Base):
    """What public sightings suggest about one unit, until an inspector settles it.

    ``kind``: ``out_of_zone`` (seen outside the zone of the distributor it was
    allocated to) or ``clone`` (seen in two places too far apart for the time
    between them). ``status``: ``suspected`` -> ``confirmed`` (an inspector's
    scan found it out of zone; ``alert_id`` is then the normal alert) or
    ``cleared`` (the inspector found it in zone, or a channel manager cleared it).
    While suspected, more sightings of the same kind join this row instead of
    raising another (one open row per unit and kind).
    """

    __tablename__ = "suspected_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12), default="suspected", index=True)
    # the distributor the unit was allocated to (its zone), None if never allocated
    allocated_party_id: Mapped[int | None] = mapped_column(
        ForeignKey("parties.id"), default=None, index=True
    )
    # where it was seen (out_of_zone: the territory of the latest sighting)
    territory_code: Mapped[str] = mapped_column(String(64), default="")
    first_ms: Mapped[int] = mapped_column(BigInteger)
    last_ms: Mapped[int] = mapped_column(BigInteger)
    sighting_count: Mapped[int] = mapped_column(Integer, default=0)
    # clone: the great-circle distance between the two sightings that raised it
    distance_km: Mapped[int] = mapped_column(Integer, default=0)
    resolved_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(64), default=None)
    resolution_note: Mapped[str] = mapped_column(Text, default="")
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspections.id"), default=None)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), default=None)

    __table_args__ = (
        Index(
            "ix_suspected_alerts_open_unit_kind",
            "unit_id",
            "kind",
            unique=True,
            sqlite_where=text("status = 'suspected'"),
            postgresql_where=text("status = 'suspected'"),
        ),
    )


class PublicSighting(Base):
    """A member of the public verified a label and shared a coarse location.

    ``verdict``: ``in_zone`` | ``out_of_zone`` | ``unlocated`` (in no stored
    territory) | ``unallocated`` (the unit has no allocated distributor yet).
    ``nonce_hash``: hex SHA-256 of the one-time token of the page that sent it
    (unique: a replay is refused, not counted twice).
    """

    __tablename__ = "public_sightings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    at_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    lat_e6: Mapped[int] = mapped_column(Integer)
    lon_e6: Mapped[int] = mapped_column(Integer)
    territory_code: Mapped[str] = mapped_column(String(64), default="")
    verdict: Mapped[str] = mapped_column(String(16))
    locale: Mapped[str] = mapped_column(String(16), default="")
    nonce_hash: Mapped[str] = mapped_column(String(64), unique=True)
    suspect_id: Mapped[int | None] = mapped_column(
        ForeignKey("suspected_alerts.id"), default=None, index=True
    )


class Inspection(Base):
    """An inspector's scan in a shop: the ledger entry ``seq`` and what it cannot hold.

    ``record_hash``: hex SHA-256 of the inspection record's canonical JSON (entry
    seq and leaf hash, shop, note, location, time, photos' SHA-256), and
    ``signature`` the signed note (C2SP signed-note, the ledger key) over it, so
    an evidence pack's reader can check the photos belong to that entry.
    """

    __tablename__ = "inspections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    inspector_party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    user_name: Mapped[str] = mapped_column(String(64))
    shop_name: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    at_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    lat_e6: Mapped[int | None] = mapped_column(Integer, default=None)
    lon_e6: Mapped[int | None] = mapped_column(Integer, default=None)
    territory_code: Mapped[str] = mapped_column(String(64), default="")
    verdict: Mapped[str] = mapped_column(String(16))  # as PublicSighting.verdict
    record_hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)


class InspectionPhoto(Base):
    """A photo an inspector took (shelf, label, receipt), kept byte for byte."""

    __tablename__ = "inspection_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 0-based order as taken
    content_type: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
