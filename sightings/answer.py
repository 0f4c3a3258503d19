"""What a scanned label answers: genuine or unknown, the product, its market, a copy warning.

:func:`answer_label` is the consumer's answer (issue 14, the page a label's GS1
Digital Link opens, ``gs1:verificationService``). It is the hot path of public
traffic, so it reads everything with few statements:

1. the unit, its product and picture, its allocated distributor (the first
   distributor the manufacturer shipped it to, as :func:`sightings.zone.allocated_party_id`),
   its tally and its number of public sightings: one ``SELECT``;
2. the tally, counted with one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``
   (only when ``count`` is true);
3. the market's territories (the grants in force of the allocated distributor and
   every party below it, one recursive ``SELECT``), only for an allocated unit;
4. the distinct coarse places the unit was publicly seen, only when the unit has
   two sightings or more and the count alone does not already warn.

A **copy warning** follows the label rule of "one code per item" schemes: one
genuine item is checked a handful of times (in the shop, by the buyer, as a gift),
so a code verified more than :data:`sightings.policy.COPY_WARNING_VERIFICATIONS`
times (``"many_verifications"``), or publicly seen in places more than
:data:`sightings.policy.COPY_WARNING_KM` apart (``"far_apart"``, great-circle
distance between coarse locations), may have been copied onto other items.

The product pictures the page shows are kept here too (:func:`set_product_image`,
:func:`product_images`), each change audited in finance's reference trail
(:mod:`settlement.reference_audit`, kind ``product_image``).
"""

from __future__ import annotations

import functools
import hashlib
import io
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
from sqlalchemy import (
    BigInteger,
    BindParameter,
    Row,
    Select,
    Table,
    bindparam,
    func,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import Executable

from geo.distance import great_circle_m
from ledger.custody import UnitState
from ledger.database import begin_writing
from ledger.ids import InvalidIdentifierError, unit_key, validate_gtin14
from ledger.models import Entry, Party, Unit
from ledger.partitions import declarations_named, declarations_table
from ledger.retraction import live_entries
from settlement.common import Actor
from settlement.models import Product
from settlement.reference_audit import page_rows, record_change
from sightings import policy
from sightings.errors import SightingError
from sightings.models import ProductImage, PublicSighting, VerificationTally
from sightings.zone import UnitZone, allocation_query, zone_statement

__all__ = [
    "IMAGE_TYPES",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_SIDE",
    "CopyWarning",
    "LabelAnswer",
    "MarketTerritory",
    "ProductPicture",
    "ProductRow",
    "answer_label",
    "check_image",
    "farthest_km",
    "product_image",
    "product_images",
    "set_product_image",
]

CopyWarning = Literal["", "many_verifications", "far_apart"]


@dataclass(frozen=True, slots=True)
class MarketTerritory:
    """A territory of the market: its code, stored name and level (``country``, ...)."""

    code: str
    name: str
    level: str


@dataclass(frozen=True, slots=True)
class LabelAnswer:
    """The answer to one scanned label ``01/{gtin}/21/{serial}``.

    ``known`` is False when no unit of ours carries the code, or the unit holding
    it was never commissioned (a scan saw the code; our factory never made it) (then every
    other field but the key is empty). ``market`` is the zone the unit was
    shipped for (:class:`sightings.zone.UnitZone`; an unallocated unit has no
    distributor and no territories); ``market_territories`` names its
    territories. ``verifications`` counts public verifications, this one
    included when it was counted; ``first_verified_ms`` is the first one's time
    (ms since the epoch, UTC). ``retired``: the unit was decommissioned (taken
    out of circulation); a sold or destroyed item's label stays genuine.
    """

    key: str
    gtin: str
    serial: str
    known: bool
    product_name: str | None
    image_sha256: str | None
    market: UnitZone | None
    verifications: int
    first_verified_ms: int | None
    copy_warning: CopyWarning
    retired: bool
    market_territories: tuple[MarketTerritory, ...] = ()
    # the figures behind ``copy_warning`` (km between the farthest public sightings,
    # 0 when not measured)
    farthest_km: float = 0.0


def answer_label(
    session: Session,
    gtin: str,
    serial: str,
    *,
    now_ms: int,
    count: bool = True,
    warn_after: int = policy.COPY_WARNING_VERIFICATIONS,
    warn_km: float = policy.COPY_WARNING_KM,
) -> LabelAnswer:
    """The answer to the label ``01/{gtin}/21/{serial}`` at ``now_ms``.

    ``gtin`` is a GTIN-8/12/13/14 (padded to 14 digits), ``serial`` a GS1 AI 21
    serial. With ``count`` this verification is added to the unit's tally
    (:class:`~sightings.models.VerificationTally`, created on the first one) in
    ``session``; the caller commits. An unknown code counts nowhere.
    ``warn_after`` and ``warn_km`` override the copy-warning thresholds
    (config ``SIGHTINGS_COPY_WARNING_VERIFICATIONS`` / ``_KM``): the warning is
    given when ``verifications > warn_after`` or two public sightings are more
    than ``warn_km`` km apart.

    Raises :class:`ledger.ids.InvalidIdentifierError` for a malformed GTIN
    (length, check digit) or serial (GS1 character set 82, 1 to 20 characters).
    """
    key = unit_key(gtin, serial)
    gtin14 = validate_gtin14(gtin)
    if count:  # read, then count: concurrent phones queue for SQLite's write lock
        begin_writing(session)
    row = session.execute(
        _unit_statement(declarations_table(session.connection())), {"key": key}
    ).one_or_none()
    if row is None or not row.commissioned:
        # never commissioned by us (a scan saw the code, we never made the item)
        return LabelAnswer(key, gtin14, serial, False, None, None, None, 0, None, "", False)
    verifications, first_ms = int(row.tally_count or 0), row.tally_first_ms
    if count:
        verifications, first_ms = _count(session, row.id, now_ms)
    market, territories = _market(session, row, now_ms)
    warning: CopyWarning = ""
    far = 0.0
    if verifications > warn_after:
        warning = "many_verifications"
    elif int(row.sightings or 0) >= 2:
        far = farthest_km(_sighting_places(session, row.id))
        if far > warn_km:
            warning = "far_apart"
    return LabelAnswer(
        key=key,
        gtin=gtin14,
        serial=serial,
        known=True,
        product_name=row.product_name,
        image_sha256=row.image_sha256,
        market=market,
        verifications=verifications,
        first_verified_ms=first_ms,
        copy_warning=warning,
        retired=row.state == UnitState.DECOMMISSIONED.value,
        market_territories=territories,
        farthest_km=far,
    )


# The statements are built once (building one costs more than running it) and take
# their values as bound parameters, so SQLAlchemy also compiles each once.


@functools.cache
def _unit_statement(declared_in: str) -> Select[Any]:
    # declared_in: where retractions are kept (ledger.partitions.declarations_table)
    allocated = (
        allocation_query(Unit.id, declarations_named(declared_in)).correlate(Unit).scalar_subquery()
    )
    commissioned = (
        select(Entry.seq)
        .where(
            Entry.unit_id == Unit.id,
            Entry.kind == "commissioning",
            live_entries(declared=declarations_named(declared_in)),
        )
        .correlate(Unit)
        .exists()
    )
    sightings = (
        select(func.count())
        .select_from(PublicSighting)
        .where(PublicSighting.unit_id == Unit.id)
        .correlate(Unit)
        .scalar_subquery()
    )
    party = aliased(Party)
    base = (
        select(
            Unit.id,
            Unit.state,
            commissioned.label("commissioned"),
            allocated.label("allocated_id"),
            sightings.label("sightings"),
            Product.name.label("product_name"),
            ProductImage.sha256.label("image_sha256"),
            VerificationTally.count.label("tally_count"),
            VerificationTally.first_ms.label("tally_first_ms"),
        )
        .outerjoin(Product, Product.gtin == Unit.gtin)
        .outerjoin(ProductImage, ProductImage.product_id == Product.id)
        .outerjoin(VerificationTally, VerificationTally.unit_id == Unit.id)
        .where(Unit.key == bindparam("key"))
        .subquery()
    )
    return select(
        base,
        party.code.label("party_code"),
        party.name.label("party_name"),
        party.country.label("party_country"),
    ).outerjoin(party, party.id == base.c.allocated_id)


@functools.cache
def _count_statement(dialect: str) -> Executable:
    t = cast(Table, VerificationTally.__table__)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now: BindParameter[int] = bindparam("now_ms", type_=BigInteger)
    upsert = insert(t).values(unit_id=bindparam("unit_id"), count=1, first_ms=now, last_ms=now)
    return upsert.on_conflict_do_update(
        index_elements=[t.c.unit_id],
        set_={"count": t.c.count + 1, "last_ms": upsert.excluded.last_ms},
    ).returning(t.c.count, t.c.first_ms)


def _count(session: Session, unit_id: int, now_ms: int) -> tuple[int, int]:
    """Add one verification to the unit's tally; its new count and first time."""
    statement = _count_statement(session.get_bind().dialect.name)
    counted = session.execute(statement, {"unit_id": unit_id, "now_ms": now_ms}).one()
    return int(counted[0]), int(counted[1])


def _market(
    session: Session, row: Row[Any], now_ms: int
) -> tuple[UnitZone, tuple[MarketTerritory, ...]]:
    """The zone of the unit's allocated distributor (every party below it included)
    in force at ``now_ms``, with its territories' names."""
    if row.allocated_id is None:
        return UnitZone(row.id, None, "", "", None, ()), ()
    rows = session.execute(zone_statement(), {"party_id": row.allocated_id, "at_ms": now_ms}).all()
    named = {code: MarketTerritory(code, name or code, level or "") for code, name, level in rows}
    codes = tuple(sorted(named))
    zone = UnitZone(
        row.id, row.allocated_id, row.party_code, row.party_name, row.party_country, codes
    )
    return zone, tuple(named[c] for c in codes)


@functools.cache
def _places_statement() -> Select[int, int]:
    return (
        select(PublicSighting.lat_e6, PublicSighting.lon_e6)
        .where(PublicSighting.unit_id == bindparam("unit_id"))
        .distinct()
    )


def _sighting_places(session: Session, unit_id: int) -> list[tuple[int, int]]:
    rows = session.execute(_places_statement(), {"unit_id": unit_id})
    return [(int(lat), int(lon)) for lat, lon in rows]


#: Places compared at once when measuring the farthest pair (memory: n x chunk doubles).
_CHUNK = 512


def farthest_km(places: list[tuple[int, int]]) -> float:
    """The largest great-circle distance (km) between any two of ``places``
    (``(lat_e6, lon_e6)`` micro-degrees), 0.0 for fewer than two.

    Every pair is measured (haversine, :func:`geo.distance.great_circle_m`), in
    chunks so thousands of places stay within a few megabytes.
    """
    if len(places) < 2:
        return 0.0
    pts = np.asarray(places, dtype=np.float64) / 1e6
    lat, lon = pts[:, 0], pts[:, 1]
    n = len(places)
    best = 0.0
    for start in range(0, n - 1, _CHUNK):
        stop = min(start + _CHUNK, n - 1)
        # pairs (i, j) with start <= i < stop, j > i
        ii, jj = [], []
        for i in range(start, stop):
            ii.append(np.full(n - i - 1, i))
            jj.append(np.arange(i + 1, n))
        a = np.concatenate(ii)
        b = np.concatenate(jj)
        d = great_circle_m(lon[a], lat[a], lon[b], lat[b])
        if d.size:
            best = max(best, float(d.max()) / 1000.0)
    return best


# --- product pictures -------------------------------------------------------------------

#: Picture formats the page accepts, by Pillow's format name.
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
#: The largest picture accepted (bytes): a phone page must load quickly.
MAX_IMAGE_BYTES = 2 * 1024 * 1024
#: The largest picture side accepted (pixels): bigger is a mistake or a decompression bomb.
MAX_IMAGE_SIDE = 8000


@dataclass(frozen=True, slots=True)
class ProductPicture:
    """A product's picture as stored: bytes, media type and SHA-256 (hex)."""

    gtin: str
    content_type: str
    data: bytes
    sha256: str
    updated_ms: int
    updated_by: str


@dataclass(frozen=True, slots=True)
class ProductRow:
    """A product in the list of pictures; ``image_sha256`` None when it has none."""

    id: int
    gtin: str
    name: str
    image_sha256: str | None
    image_type: str | None
    image_size: int | None
    updated_ms: int | None
    updated_by: str | None


def product_image(session: Session, gtin: str) -> ProductPicture | None:
    """The picture of the product with ``gtin`` (GTIN-8/12/13/14), None when the
    product has none or the GTIN is not well formed."""
    try:
        gtin14 = validate_gtin14(gtin)
    except InvalidIdentifierError:
        return None
    row = session.execute(
        select(ProductImage, Product.gtin)
        .join(Product, Product.id == ProductImage.product_id)
        .where(Product.gtin == gtin14)
    ).one_or_none()
    if row is None:
        return None
    img: ProductImage = row[0]
    return ProductPicture(
        row[1], img.content_type, img.data, img.sha256, img.updated_ms, img.updated_by
    )


def product_images(
    session: Session, *, offset: int = 0, limit: int = 50, query: str = ""
) -> tuple[list[ProductRow], int]:
    """Products by GTIN with their picture's details, one page and the total;
    ``query`` keeps those whose GTIN or name contains it (any case)."""
    q = select(
        Product.id,
        Product.gtin,
        Product.name,
        ProductImage.sha256,
        ProductImage.content_type,
        func.length(ProductImage.data),
        ProductImage.updated_ms,
        ProductImage.updated_by,
    ).outerjoin(ProductImage, ProductImage.product_id == Product.id)
    text = query.strip()
    if text:
        like = f"%{text.lower()}%"
        q = q.where(or_(Product.gtin.contains(text), func.lower(Product.name).like(like)))
    rows, total = page_rows(session, q, [Product.gtin], offset, limit)
    return [ProductRow(*r) for r in rows], total


def set_product_image(
    session: Session,
    gtin: str,
    data: bytes,
    *,
    actor: Actor,
    now_ms: int,
    source: str = "page",
) -> ProductPicture:
    """Store ``data`` as the picture of the product ``gtin``, replacing any before;
    the caller commits. The change is audited (who, when, the SHA-256 before and
    after, ``source``: ``page``, ``cli``...).

    Accepted: PNG, JPEG or WebP (as Pillow reads the bytes, whatever a file name
    says), at most :data:`MAX_IMAGE_BYTES` bytes and :data:`MAX_IMAGE_SIDE` pixels
    a side. Raises :class:`~sightings.errors.SightingError` naming the field
    (``gtin``: malformed or no such product; ``image``: empty, too large, not a
    picture, another format) in words.
    """
    try:
        gtin14 = validate_gtin14(gtin.strip())
    except InvalidIdentifierError:
        raise SightingError(
            "GTIN %(gtin)s is not a valid GTIN (8, 12, 13 or 14 digits with a correct check digit)",
            field="gtin",
            gtin=gtin,
        ) from None
    product = session.execute(select(Product).where(Product.gtin == gtin14)).scalar_one_or_none()
    if product is None:
        raise SightingError("no product has GTIN %(gtin)s", field="gtin", gtin=gtin14)
    content_type = check_image(data)
    digest = hashlib.sha256(data).hexdigest()
    stored = session.get(ProductImage, product.id)
    before = (
        None
        if stored is None
        else _image_audit(stored.sha256, stored.content_type, len(stored.data))
    )
    if stored is None:
        stored = ProductImage(product_id=product.id)
        session.add(stored)
    stored.content_type = content_type
    stored.data = data
    stored.sha256 = digest
    stored.updated_ms = now_ms
    stored.updated_by = actor.username[:64]
    action = "create" if before is None else "update"
    after = _image_audit(digest, content_type, len(data))
    if before != after:
        record_change(session, "product_image", gtin14, action, actor, before, after, source)
    session.flush()
    return ProductPicture(gtin14, content_type, data, digest, now_ms, stored.updated_by)


def _image_audit(sha256: str, content_type: str, size: int) -> dict[str, object]:
    return {"sha256": sha256, "content_type": content_type, "size": size}


def check_image(data: bytes) -> str:
    """The media type of ``data`` if it is a whole PNG, JPEG or WebP picture within
    the limits; raises :class:`SightingError` (field ``image``) otherwise."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise SightingError("the picture is empty: choose a PNG, JPEG or WebP file", field="image")
    if len(data) > MAX_IMAGE_BYTES:
        raise SightingError(
            "the picture is %(size)s bytes; at most %(limit)s bytes (2 MB) are accepted",
            field="image",
            size=len(data),
            limit=MAX_IMAGE_BYTES,
        )
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format or ""
            width, height = img.size
            if fmt in IMAGE_TYPES and max(width, height) <= MAX_IMAGE_SIDE:
                img.verify()  # a truncated or corrupt file fails here
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise SightingError(
            "the file is not a picture Pillow can read: choose a PNG, JPEG or WebP file",
            field="image",
        ) from None
    if fmt not in IMAGE_TYPES:
        raise SightingError(
            "the picture is %(format)s; only PNG, JPEG and WebP are accepted",
            field="image",
            format=fmt or "?",
        )
    if max(width, height) > MAX_IMAGE_SIDE:
        raise SightingError(
            "the picture is %(width)s x %(height)s pixels; at most %(limit)s pixels a side",
            field="image",
            width=width,
            height=height,
            limit=MAX_IMAGE_SIDE,
        )
    return IMAGE_TYPES[fmt]
