"""An inspector's scan in a shop: one signed ``inspecting`` ledger entry and its record.

:func:`record_inspection` is what the inspector's page and ``POST
/api/v1/inspections`` call. It

1. checks what was sent, naming the field at fault (:class:`InspectionRefused`):
   the shop name (1 to :data:`MAX_SHOP` characters), the note (at most
   :data:`MAX_NOTE`), the location (both micro-degree coordinates in range, or
   neither), the time (the window of every scan intake: 2000-01-01 to 30 days ahead
   of the server clock), at most :data:`MAX_PHOTOS` photos of at most
   :data:`MAX_PHOTO_BYTES` each, every one *decoded* with Pillow as PNG, JPEG or
   WebP (the content type a phone declares is not trusted: the stored type is the
   one the bytes decode as), the inspector's party (kind ``inspector``) and the
   unit (a serialized unit of ours: an unknown code is :class:`UnknownCode` naming
   it, and nothing is appended);
2. appends ONE ``inspecting`` entry (:func:`ledger.append_hops`): party = the
   inspector's party code, device ``inspector:<user>``, the phone's location when
   given. The inspector's ``capture_id`` (any text the client makes up once per
   inspection, e.g. a UUID) becomes the entry's ``device_seq``, so a replay of the
   same inspection (a phone that lost the answer and sends again) appends nothing
   and answers the original inspection (:attr:`InspectionResult.replayed`);
3. judges the place (:func:`sightings.zone.judge_location`; without a location
   the verdict is ``unlocated``, or ``unallocated`` for a unit never shipped to a
   distributor), stores :class:`~sightings.models.Inspection` and its
   :class:`~sightings.models.InspectionPhoto` rows, with the record hash and the
   ledger key's signed note (below), and lets
   :func:`sightings.suspects.resolve_by_inspection` confirm or clear the unit's
   suspected alerts, in one transaction. An inspection of a unit already sold (or
   decommissioned) clears nothing as "in zone": it is a cloned-code finding, as
   detection reads the entry (:attr:`InspectionResult.resolution` says so).

Atomicity. The ledger's sequencer commits the entry in its own write transaction
(it holds the ledger lock for as short a time as possible and is the only writer
of entries); step 3 is a second transaction. Should step 3 fail (the database
goes away between the two), the entry stays, as the ledger's rule wants for a
real observation, and the inspection is completed by sending it again with the
same ``capture_id``: the ledger answers the replay with the original seq, which
has no record yet, and step 3 runs for it. An inspection without a ``capture_id``
gets a random one, so such a failure leaves an ``inspecting`` entry without
shop and photos (the page always sends one).

The record (what the signature covers). Canonical JSON (UTF-8, keys sorted, no
whitespace, integers only) of::

    {"at": "2026-12-01T08:30:00.000Z",          # RFC 3339 UTC, the entry's spelling
     "lat": 48856600, "lon": 2352200,            # micro-degrees, or null
     "leaf_hash": "<hex SHA-256 leaf hash of the entry>",
     "note": "...", "photos": ["<hex SHA-256 of each photo, in the order taken>"],
     "seq": 1234, "shop": "...", "unit": "01/{gtin14}/21/{serial}"}

``record_hash`` = hex SHA-256 of those bytes. ``signature`` is a C2SP signed note
(:meth:`ledger.LedgerSigner.sign_note`, the key of the log's checkpoints) whose
body is five lines::

    hopchain inspection
    <record_hash>
    <seq>
    <leaf_hash hex>
    <unit key>

The first line can never be a checkpoint's (a ledger name holds no space), so an
inspection note cannot pass for a checkpoint nor a settlement seal. Whoever holds
the log's public key checks a record with :func:`verify_inspection_record`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import secrets
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from PIL import Image, UnidentifiedImageError
from sqlalchemy import Engine, and_, func, select, true
from sqlalchemy.orm import Session

from ledger.append import append_hops
from ledger.canonical import format_time
from ledger.hops import Hop
from ledger.ids import EntryKind, InvalidIdentifierError, parse_key
from ledger.keys import CheckpointError, check_note_signature
from ledger.models import Entry, Party, ScanReceipt, Unit
from ledger.times import in_range
from settlement.seals import NoteSigner
from sightings.errors import InspectionRefused, UnknownCode
from sightings.models import Inspection, InspectionPhoto, SuspectedAlert
from sightings.suspects import EndOfLife, Resolution, end_of_life, resolve_by_inspection
from sightings.zone import judge_location, unit_zone

__all__ = [
    "ALLOWED_TYPES",
    "MAX_CAPTURE_ID",
    "MAX_NOTE",
    "MAX_PHOTOS",
    "MAX_PHOTO_BYTES",
    "MAX_PHOTO_PIXELS",
    "MAX_SHOP",
    "NOTE_TITLE",
    "WORDS",
    "InspectionRecordError",
    "InspectionResult",
    "InspectionView",
    "Photo",
    "PhotoView",
    "SettledSuspect",
    "SignedInspection",
    "check_photos",
    "device_of",
    "device_seq_of",
    "get_inspection",
    "inspection_record",
    "list_inspections",
    "open_inspection_note",
    "photo_data",
    "record_bytes",
    "record_inspection",
    "verify_inspection_record",
]

#: At most this many photos per inspection (shelf, label, receipt, ...).
MAX_PHOTOS = 6
#: Each photo at most 5 MiB as sent (a phone's JPEG is 2-4 MB).
MAX_PHOTO_BYTES = 5 * 1024 * 1024
#: ... and at most 50 megapixels once decoded (a 5 MB file cannot be a bomb).
MAX_PHOTO_PIXELS = 50_000_000
#: Pillow's format name -> the content type stored and served.
ALLOWED_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
MAX_SHOP = 200
MAX_NOTE = 2000
MAX_CAPTURE_ID = 100
#: The first line of an inspection's signed note.
NOTE_TITLE = "hopchain inspection"
_MAX_DEVICE = 64  # entries.device
_CAPTURE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")

# The English words of every refusal (``%(name)s`` filled from the error's
# values); web/field/inspect.py marks the same words for the catalogue.
SHOP_REQUIRED = "Shop: type the name of the shop where the unit is"
SHOP_TOO_LONG = "Shop: at most %(limit)s characters, got %(length)s"
NOTE_TOO_LONG = "Note: at most %(limit)s characters, got %(length)s"
LOCATION_HALF = "Location: give both latitude and longitude, or neither"
LATITUDE_RANGE = "Latitude: must be between -90 and 90 degrees"
LONGITUDE_RANGE = "Longitude: must be between -180 and 180 degrees"
TIME_RANGE = "Time: %(problem)s"
TOO_MANY_PHOTOS = "Photos: at most %(limit)s photos, got %(count)s"
PHOTO_TOO_BIG = "Photo %(number)s: at most %(limit_mb)s MB, got %(size_mb)s MB"
PHOTO_EMPTY = "Photo %(number)s: the file is empty"
PHOTO_NOT_IMAGE = "Photo %(number)s: not a PNG, JPEG or WebP picture that can be opened"
PHOTO_KIND = "Photo %(number)s: a %(format)s picture; send PNG, JPEG or WebP"
PHOTO_TOO_LARGE = "Photo %(number)s: larger than %(limit)s megapixels; send a smaller picture"
NOT_INSPECTOR = "Party: %(party)s is not an inspection party; ask an admin to fix the account"
NO_PARTY = "Party: the account belongs to no inspection party; ask an admin to fix the account"
BAD_CODE = "Code: %(code)s is not a unit's code (GTIN and serial)"
CASE_CODE = "Code: %(code)s is a case or pallet; scan the label of one unit"
UNKNOWN_CODE = "Code: %(code)s is not a code of ours: no unit carries it"
CAPTURE_ID_FORM = "Capture id: 1 to 100 letters, digits, dots, colons, dashes or underscores"
CAPTURE_ID_USED = "Capture id: %(capture_id)s was already used for another inspection"
LEDGER_REFUSED = "The ledger refused the inspection: %(reason)s"

#: Every refusal's words, for the pages to mark and translate.
WORDS = (
    SHOP_REQUIRED, SHOP_TOO_LONG, NOTE_TOO_LONG, LOCATION_HALF, LATITUDE_RANGE,
    LONGITUDE_RANGE, TIME_RANGE, TOO_MANY_PHOTOS, PHOTO_TOO_BIG, PHOTO_EMPTY,
    PHOTO_NOT_IMAGE, PHOTO_KIND, PHOTO_TOO_LARGE, NOT_INSPECTOR, NO_PARTY, BAD_CODE,
    CASE_CODE, UNKNOWN_CODE, CAPTURE_ID_FORM, CAPTURE_ID_USED, LEDGER_REFUSED,
)  # fmt: skip

_EARLIEST_MS = 946_684_800_000  # 2000-01-01T00:00:00Z, scanners.batch.EARLIEST_SCAN_MS
_MAX_AHEAD_MS = 30 * 86_400_000  # scanners.batch.MAX_AHEAD_MS


@dataclass(frozen=True, slots=True)
class Photo:
    """A photo as sent: the declared ``content_type`` (not trusted) and its bytes."""

    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class InspectionResult:
    """What an inspection did: its row id, the entry's ``seq``, the place's verdict
    (``in_zone`` | ``out_of_zone`` | ``unlocated`` | ``unallocated``) and territory
    code ("" when none), the suspected alerts it confirmed or cleared, and whether
    it was a replay of an inspection already recorded (nothing done again)."""

    inspection_id: int
    seq: int
    verdict: str
    territory_code: str
    resolution: Resolution
    replayed: bool = False


class InspectionRecordError(ValueError):
    """An inspection record that does not match its signature, photos or entry.

    ``str(error)`` says what differs (in English: an auditor's check, not a form).
    """


class _PhotoLike(Protocol):
    position: int
    sha256: str
    data: bytes


@dataclass(frozen=True, slots=True)
class _Checked:
    content_type: str
    data: bytes
    sha256: str


# ---------------------------------------------------------------- the record


def inspection_record(
    inspection: Inspection, photo_hashes: Sequence[str], *, leaf_hash: str, unit_key: str
) -> dict[str, Any]:
    """The record an inspection's hash covers (see the module), from its row, the
    photos' hex SHA-256 in the order taken, the entry's hex leaf hash and the unit key."""
    return {
        "at": format_time(inspection.at_ms),
        "lat": inspection.lat_e6,
        "leaf_hash": leaf_hash,
        "lon": inspection.lon_e6,
        "note": inspection.note,
        "photos": list(photo_hashes),
        "seq": inspection.seq,
        "shop": inspection.shop_name,
        "unit": unit_key,
    }


def record_bytes(record: dict[str, Any]) -> bytes:
    """Canonical JSON of a record: UTF-8, keys sorted, no whitespace, non-ASCII as is."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def _note_body(record_hash: str, seq: int, leaf_hash: str, unit_key: str) -> str:
    return f"{NOTE_TITLE}\n{record_hash}\n{seq}\n{leaf_hash}\n{unit_key}\n"


@dataclass(frozen=True, slots=True)
class SignedInspection:
    """What an inspection's signed note says, once its signature verified."""

    record_hash: str
    seq: int
    leaf_hash: str
    unit_key: str


def open_inspection_note(note: str, public_key: bytes, name: str | None = None) -> SignedInspection:
    """The lines of an inspection's signed note after its Ed25519 signature by
    ``public_key`` (32 raw bytes) verified (C2SP signed-note). ``name`` is the log's
    key name (``GET /api/v1/ledger/public-key``); when None, the name on the note's
    signature line is taken (the key id still has to match the key).

    Raises :class:`InspectionRecordError` naming what is wrong: no blank line, no
    signature by the key, a signature that does not verify, or a body that is not an
    inspection's five lines.
    """
    body, sep, signatures = note.partition("\n\n")
    if not sep or not body:
        raise InspectionRecordError("the note has no blank line between body and signature")
    if name is None:
        first = signatures.split("\n", 1)[0].split(" ")
        name = first[1] if len(first) == 3 else ""
    try:
        check_note_signature(
            body + "\n", signatures, name, public_key, what="the inspection's signature"
        )
    except CheckpointError as exc:
        raise InspectionRecordError(str(exc)) from None
    lines = body.split("\n")
    if len(lines) != 5 or lines[0] != NOTE_TITLE:
        raise InspectionRecordError(f"the note is not an inspection's ({NOTE_TITLE!r}, 5 lines)")
    record_hash, seq, leaf_hash, unit_key = lines[1:]
    if not seq.isdigit():
        raise InspectionRecordError(f"the note's seq {seq!r} is not a number")
    return SignedInspection(record_hash, int(seq), leaf_hash, unit_key)


def verify_inspection_record(
    inspection: Inspection,
    photos: Sequence[_PhotoLike],
    public_key: bytes,
    *,
    name: str | None = None,
    leaf_hash: str | bytes | None = None,
    unit_key: str | None = None,
) -> SignedInspection:
    """Check that ``inspection`` (its row) and ``photos`` (its InspectionPhoto rows,
    any order; each needs ``position``, ``sha256``, ``data``) are what the ledger key
    signed: the signature verifies (:func:`open_inspection_note`), it names this
    record hash and seq, every photo's bytes hash to its ``sha256``, positions run
    0, 1, ... and the record rebuilt from the row and the photos hashes to the
    signed ``record_hash``. When given, ``leaf_hash`` (hex or 32 bytes: the entry's,
    as an inclusion proof shows it) and ``unit_key`` must be the note's too.

    Returns what the note signed. Raises :class:`InspectionRecordError` naming the
    first difference (``photo 2 (position 1): its bytes hash to ... not ...``).
    """
    signed = open_inspection_note(inspection.signature, public_key, name)
    if signed.record_hash != inspection.record_hash:
        raise InspectionRecordError(
            f"the note signs record {signed.record_hash}, the inspection holds "
            f"{inspection.record_hash}"
        )
    if signed.seq != inspection.seq:
        raise InspectionRecordError(
            f"the note signs entry {signed.seq}, the inspection is entry {inspection.seq}"
        )
    if leaf_hash is not None:
        wanted = leaf_hash.hex() if isinstance(leaf_hash, bytes) else leaf_hash
        if wanted != signed.leaf_hash:
            raise InspectionRecordError(
                f"the entry's leaf hash is {wanted}, the note signs {signed.leaf_hash}"
            )
    if unit_key is not None and unit_key != signed.unit_key:
        raise InspectionRecordError(f"the unit is {unit_key}, the note signs {signed.unit_key}")
    ordered = sorted(photos, key=lambda p: p.position)
    hashes = []
    for i, photo in enumerate(ordered):
        if photo.position != i:
            raise InspectionRecordError(f"photo positions skip {i}: got {photo.position}")
        actual = hashlib.sha256(bytes(photo.data)).hexdigest()
        if actual != photo.sha256:
            raise InspectionRecordError(
                f"photo {i + 1} (position {i}): its bytes hash to {actual}, "
                f"not the recorded {photo.sha256}"
            )
        hashes.append(actual)
    record = inspection_record(
        inspection, hashes, leaf_hash=signed.leaf_hash, unit_key=signed.unit_key
    )
    rebuilt = hashlib.sha256(record_bytes(record)).hexdigest()
    if rebuilt != signed.record_hash:
        raise InspectionRecordError(
            f"the record rebuilt from the inspection and its photos hashes to {rebuilt}, "
            f"the note signs {signed.record_hash}"
        )
    return signed


# ---------------------------------------------------------------- checking input


def _check_text(shop_name: str, note: str) -> tuple[str, str]:
    shop = shop_name.strip()
    if not shop:
        raise InspectionRefused(SHOP_REQUIRED, field="shop")
    if len(shop) > MAX_SHOP:
        raise InspectionRefused(SHOP_TOO_LONG, field="shop", limit=MAX_SHOP, length=len(shop))
    text = note.strip()
    if len(text) > MAX_NOTE:
        raise InspectionRefused(NOTE_TOO_LONG, field="note", limit=MAX_NOTE, length=len(text))
    return shop, text


def _check_location(lat_e6: int | None, lon_e6: int | None) -> None:
    if (lat_e6 is None) != (lon_e6 is None):
        raise InspectionRefused(LOCATION_HALF, field="lat" if lat_e6 is None else "lon")
    if lat_e6 is not None and not -90_000_000 <= lat_e6 <= 90_000_000:
        raise InspectionRefused(LATITUDE_RANGE, field="lat")
    if lon_e6 is not None and not -180_000_000 <= lon_e6 <= 180_000_000:
        raise InspectionRefused(LONGITUDE_RANGE, field="lon")


def _check_time(at_ms: int, now_ms: int) -> None:
    problem = ""
    if not in_range(at_ms) or at_ms < _EARLIEST_MS:
        problem = "is before 2000-01-01, the earliest scan time recorded"
    elif at_ms - now_ms > _MAX_AHEAD_MS:
        problem = "is more than 30 days ahead of the server clock; set the phone's clock"
    if problem:
        raise InspectionRefused(TIME_RANGE, field="at", problem=problem)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"


def _check_photo(number: int, photo: Photo) -> _Checked:
    """The photo decoded with Pillow (every pixel), its real type and hash."""
    field = f"photos[{number - 1}]"
    data = bytes(photo.data)
    if not data:
        raise InspectionRefused(PHOTO_EMPTY, field=field, number=number)
    if len(data) > MAX_PHOTO_BYTES:
        raise InspectionRefused(
            PHOTO_TOO_BIG, field=field, number=number,
            limit_mb=_mb(MAX_PHOTO_BYTES), size_mb=_mb(len(data)),
        )  # fmt: skip
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind = image.format or "?"
                if kind not in ALLOWED_TYPES:
                    raise InspectionRefused(PHOTO_KIND, field=field, number=number, format=kind)
                if image.width * image.height > MAX_PHOTO_PIXELS:
                    raise Image.DecompressionBombError(kind)
                image.load()
    except InspectionRefused:
        raise
    except Image.DecompressionBombError:
        raise InspectionRefused(
            PHOTO_TOO_LARGE, field=field, number=number, limit=MAX_PHOTO_PIXELS // 1_000_000
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise InspectionRefused(PHOTO_NOT_IMAGE, field=field, number=number) from None
    return _Checked(ALLOWED_TYPES[kind], data, hashlib.sha256(data).hexdigest())


def check_photos(photos: Sequence[Photo]) -> list[_Checked]:
    """Every photo decoded and typed; :class:`InspectionRefused` naming the first bad
    one (field ``photos[i]``, 0-based as in the API) or the count (``photos``)."""
    if len(photos) > MAX_PHOTOS:
        raise InspectionRefused(
            TOO_MANY_PHOTOS, field="photos", limit=MAX_PHOTOS, count=len(photos)
        )
    return [_check_photo(i + 1, p) for i, p in enumerate(photos)]


def device_of(user_name: str) -> str:
    """The ledger device of an inspector's scans: ``inspector:<user>``; a user name
    too long for the column (64) is replaced by its SHA-256 prefix."""
    device = f"inspector:{user_name}"
    if len(device) <= _MAX_DEVICE:
        return device
    return "inspector:#" + hashlib.sha256(user_name.encode()).hexdigest()[: _MAX_DEVICE - 11]


def device_seq_of(capture_id: str) -> int:
    """The entry's ``device_seq`` for a client's capture id: the first 63 bits of
    its SHA-256 (0 to 2**63 - 1; two ids of one inspector collide with odds 2**-63)."""
    return int.from_bytes(hashlib.sha256(capture_id.encode()).digest()[:8], "big") >> 1


def _unit(session: Session, unit_key: str) -> Unit:
    try:
        uid = parse_key(unit_key)
    except InvalidIdentifierError:
        raise InspectionRefused(BAD_CODE, field="unit", code=unit_key) from None
    if uid.sscc is not None:
        raise InspectionRefused(CASE_CODE, field="unit", code=unit_key)
    key = unit_key.removeprefix("/")
    unit = session.scalar(select(Unit).where(Unit.key == key))
    if unit is None:
        raise UnknownCode(UNKNOWN_CODE, field="unit", code=key)
    return unit


def _party(session: Session, party_id: int | None) -> Party:
    party = session.get(Party, party_id) if party_id is not None else None
    if party is None:
        raise InspectionRefused(NO_PARTY, field="party")
    if party.kind != "inspector":
        raise InspectionRefused(NOT_INSPECTOR, field="party", party=party.code)
    return party


# ---------------------------------------------------------------- recording


def record_inspection(
    engine: Engine,
    *,
    user_name: str,
    inspector_party_id: int,
    unit_key: str,
    shop_name: str,
    note: str,
    lat_e6: int | None,
    lon_e6: int | None,
    at_ms: int,
    photos: Sequence[Photo],
    signer: NoteSigner,
    capture_id: str | None = None,
    now_ms: int | None = None,
) -> InspectionResult:
    """Record an inspector's scan of ``unit_key`` (canonical key ``01/{gtin14}/21/
    {serial}``) in the shop ``shop_name`` at ``at_ms`` (ms since the epoch, UTC) at
    (``lat_e6``, ``lon_e6``) micro-degrees (WGS 84) or nowhere, with ``photos``
    (see the module for every check, the entry, the record and its signature).

    ``signer``: the ledger's :class:`ledger.LedgerSigner` (``name``,
    ``sign_note``). ``capture_id``: the client's id of this inspection (replays
    answer the original, :attr:`InspectionResult.replayed`). ``now_ms``: the server
    clock (default: now), for the time window.

    Raises :class:`InspectionRefused` (``field`` names the input: ``shop``,
    ``note``, ``lat``, ``lon``, ``at``, ``photos``, ``photos[i]``, ``party``,
    ``unit``, ``capture_id``) or :class:`UnknownCode` (``unit``), before anything
    is written.
    """
    now = int(time.time() * 1000) if now_ms is None else now_ms
    shop, text = _check_text(shop_name, note)
    _check_location(lat_e6, lon_e6)
    _check_time(at_ms, now)
    if capture_id is not None and not _CAPTURE_ID.match(capture_id):
        raise InspectionRefused(CAPTURE_ID_FORM, field="capture_id")
    checked = check_photos(photos)
    with Session(engine) as session:
        party = _party(session, inspector_party_id)
        unit = _unit(session, unit_key)
        party_code, key, unit_id = party.code, unit.key, unit.id
    device = device_of(user_name)
    device_seq = device_seq_of(capture_id or secrets.token_hex(16))
    hop = Hop(
        unit=key, kind=EntryKind.INSPECTING, party=party_code, at_ms=at_ms,
        lat_e6=lat_e6, lon_e6=lon_e6, device=device, device_seq=device_seq,
    )  # fmt: skip
    (result,) = append_hops(engine, [hop])
    if result.status == "rejected":
        raise InspectionRefused(LEDGER_REFUSED, field="unit", reason=result.reason)
    with Session(engine) as session:
        if result.status == "conflict":
            # the same capture id with something else (another time): the
            # original inspection if it was of this unit, else a refusal
            seq = session.scalar(
                select(ScanReceipt.first_seq).where(
                    ScanReceipt.device == device, ScanReceipt.device_seq == device_seq
                )
            )
        else:
            seq = result.seqs[0]
        earlier = (
            session.scalar(select(Inspection).where(Inspection.seq == seq))
            if seq is not None
            else None
        )
        if earlier is not None or seq is None or result.status == "conflict":
            if earlier is None or earlier.unit_id != unit_id:
                raise InspectionRefused(
                    CAPTURE_ID_USED, field="capture_id", capture_id=capture_id or ""
                )
            ended = end_of_life(session, unit_id, earlier.seq)
            return InspectionResult(
                earlier.id, earlier.seq, earlier.verdict, earlier.territory_code,
                Resolution((), (), (), end_of_life=ended), replayed=True,
            )  # fmt: skip
        entry = session.scalar(select(Entry).where(Entry.seq == seq))
        assert entry is not None  # the append just wrote or found it
        if lat_e6 is not None and lon_e6 is not None:
            judged = judge_location(session, unit_id, lat_e6, lon_e6, at_ms)
            verdict, territory = str(judged.verdict), judged.territory_code
        else:
            zone = unit_zone(session, unit_id, at_ms)
            verdict = "unallocated" if zone.allocated_party_id is None else "unlocated"
            territory = ""
        inspection = Inspection(
            seq=seq, unit_id=unit_id, inspector_party_id=inspector_party_id,
            user_name=user_name, shop_name=shop, note=text, at_ms=entry.at_ms,
            lat_e6=entry.lat_e6, lon_e6=entry.lon_e6, territory_code=territory,
            verdict=verdict, record_hash="", signature="",
        )  # fmt: skip
        leaf = bytes(entry.leaf_hash).hex()
        record = inspection_record(
            inspection, [c.sha256 for c in checked], leaf_hash=leaf, unit_key=key
        )
        inspection.record_hash = hashlib.sha256(record_bytes(record)).hexdigest()
        inspection.signature = signer.sign_note(_note_body(inspection.record_hash, seq, leaf, key))
        session.add(inspection)
        session.flush()
        for position, c in enumerate(checked):
            session.add(
                InspectionPhoto(
                    inspection_id=inspection.id,
                    position=position,
                    content_type=c.content_type,
                    sha256=c.sha256,
                    size=len(c.data),
                    data=c.data,
                )
            )
        session.flush()
        resolution = resolve_by_inspection(session, inspection, actor=user_name, signer=signer)
        session.commit()
        return InspectionResult(inspection.id, seq, verdict, territory, resolution)


# ---------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class PhotoView:
    """A stored photo's description (the bytes are read by :func:`photo_data`)."""

    id: int
    position: int
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class SettledSuspect:
    """A suspected alert an inspection settled: ``status`` ``confirmed`` (then
    ``alert_id`` is the normal alert it became) or ``cleared``."""

    id: int
    kind: str
    status: str
    alert_id: int | None


@dataclass(frozen=True, slots=True)
class InspectionView:
    """An inspection as pages and the API show it. Times in ms since the epoch (UTC),
    places in micro-degrees; ``photos``, ``settled`` and ``end_of_life`` (the unit's
    sale or decommissioning before the inspection: a unit on a shelf with its code
    is then likely a copy, see :mod:`sightings.suspects`) only filled by
    :func:`get_inspection` (lists leave them empty and give ``photo_count``)."""

    id: int
    seq: int
    unit_key: str
    party_code: str
    user_name: str
    shop_name: str
    note: str
    at_ms: int
    lat_e6: int | None
    lon_e6: int | None
    territory_code: str
    verdict: str
    record_hash: str
    signature: str
    photo_count: int
    photos: tuple[PhotoView, ...] = ()
    settled: tuple[SettledSuspect, ...] = ()
    end_of_life: EndOfLife | None = None


def _views(session: Session, where: Any, offset: int, limit: int) -> list[InspectionView]:
    counts = (
        select(InspectionPhoto.inspection_id, func.count().label("n"))
        .group_by(InspectionPhoto.inspection_id)
        .subquery()
    )
    rows = session.execute(
        select(Inspection, Unit.key, Party.code, func.coalesce(counts.c.n, 0))
        .join(Unit, Unit.id == Inspection.unit_id)
        .join(Party, Party.id == Inspection.inspector_party_id)
        .outerjoin(counts, counts.c.inspection_id == Inspection.id)
        .where(where)
        .order_by(Inspection.at_ms.desc(), Inspection.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return [
        InspectionView(
            i.id,
            i.seq,
            key,
            code,
            i.user_name,
            i.shop_name,
            i.note,
            i.at_ms,
            i.lat_e6,
            i.lon_e6,
            i.territory_code,
            i.verdict,
            i.record_hash,
            i.signature,
            int(n),
        )
        for i, key, code, n in rows
    ]


def list_inspections(
    session: Session,
    *,
    user_name: str | None = None,
    unit_key: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[InspectionView], int]:
    """A page of inspections, newest first, and how many match in all: those by
    ``user_name`` when given (an inspector's own), of the unit ``unit_key`` when
    given, else all."""
    where: Any = true()
    if user_name is not None:
        where = and_(where, Inspection.user_name == user_name)
    if unit_key is not None:
        where = and_(where, Inspection.unit_id.in_(select(Unit.id).where(Unit.key == unit_key)))
    total = int(session.scalar(select(func.count()).select_from(Inspection).where(where)) or 0)
    return _views(session, where, offset, limit), total


def get_inspection(session: Session, inspection_id: int) -> InspectionView | None:
    """One inspection with its photos (in the order taken) and the suspected alerts
    it settled; None when there is none with that id."""
    found = _views(session, Inspection.id == inspection_id, 0, 1)
    if not found:
        return None
    photos = tuple(
        PhotoView(p.id, p.position, p.content_type, p.size, p.sha256)
        for p in session.execute(
            select(
                InspectionPhoto.id,
                InspectionPhoto.position,
                InspectionPhoto.content_type,
                InspectionPhoto.size,
                InspectionPhoto.sha256,
            )
            .where(InspectionPhoto.inspection_id == inspection_id)
            .order_by(InspectionPhoto.position)
        ).all()
    )
    settled = tuple(
        SettledSuspect(s.id, s.kind, s.status, s.alert_id)
        for s in session.scalars(
            select(SuspectedAlert)
            .where(SuspectedAlert.inspection_id == inspection_id)
            .order_by(SuspectedAlert.id)
        )
    )
    unit_id = session.scalar(select(Inspection.unit_id).where(Inspection.id == inspection_id))
    assert unit_id is not None  # found above
    ended = end_of_life(session, int(unit_id), found[0].seq)
    return dataclasses.replace(found[0], photos=photos, settled=settled, end_of_life=ended)


def photo_data(session: Session, photo_id: int) -> tuple[int, str, bytes] | None:
    """(inspection id, content type, bytes) of a stored photo; None when there is none."""
    row = session.execute(
        select(
            InspectionPhoto.inspection_id, InspectionPhoto.content_type, InspectionPhoto.data
        ).where(InspectionPhoto.id == photo_id)
    ).first()
    return None if row is None else (int(row[0]), str(row[1]), bytes(row[2]))
