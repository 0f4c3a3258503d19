"""An inspector's scan: one signed ``inspecting`` entry, its record, photos and replays.

``InspectionWorld`` (also used by tests/field/test_inspect*.py): France (with the
Paris region) and Germany as square territories, a manufacturer, a French
distributor granted France, an inspection party and units commissioned and
shipped to the French distributor.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import json
import re
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from geo import import_feature_collection
from ledger import EntryKind, Hop, LedgerSigner, append_hops, verify_ledger
from ledger.ids import gs1_check_digit
from ledger.models import Entry, Party, Unit
from partners.models import TerritoryGrant
from settlement.models import Alert, AlertFinding
from sightings.errors import InspectionRefused, UnknownCode
from sightings.inspection import (
    MAX_PHOTO_BYTES,
    InspectionRecordError,
    InspectionResult,
    Photo,
    device_of,
    inspection_record,
    record_bytes,
    record_inspection,
    verify_inspection_record,
)
from sightings.models import Inspection, InspectionPhoto, SuspectedAlert
from sightings.suspects import Resolution

GTIN = "0950600013435" + str(gs1_check_digit("0950600013435"))
PARIS = (48_856_600, 2_352_200)  # (lat_e6, lon_e6), in FR-PAR
BERLIN = (52_520_000, 13_405_000)  # in DE
ATLANTIC = (40_000_000, -40_000_000)  # in no territory
SIGNER = LedgerSigner("test.example/ledger", Ed25519PrivateKey.generate())


def ms(y: int, mo: int, d: int, h: int = 12) -> int:
    return calendar.timegm((y, mo, d, h, 0, 0)) * 1000


T0 = ms(2026, 11, 2)
NOW = ms(2026, 11, 20)


def key(serial: str) -> str:
    return f"01/{GTIN}/21/{serial}"


def _square(code: str, parent: str | None, level: str, box: tuple[float, ...]) -> dict[str, object]:
    x0, y0, x1, y1 = box
    return {
        "type": "Feature",
        "properties": {"code": code, "name": f"{code} land", "parent": parent, "level": level},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
        },
    }


TERRITORIES = {
    "type": "FeatureCollection",
    "features": [
        _square("FR", None, "country", (-2.0, 42.0, 8.0, 51.0)),
        _square("FR-PAR", "FR", "province", (1.0, 48.0, 4.0, 50.0)),
        _square("DE", None, "country", (8.0, 47.0, 15.0, 55.0)),
    ],
}


@dataclass
class InspectionWorld:
    engine: Engine
    inspector_party_id: int
    serials: tuple[str, ...]

    def inspect(self, serial: str = "S1", **changes: object) -> InspectionResult:
        """record_inspection with sensible defaults; ``changes`` override them."""
        args: dict[str, object] = {
            "user_name": "ines",
            "inspector_party_id": self.inspector_party_id,
            "unit_key": key(serial),
            "shop_name": "Corner shop, Berlin",
            "note": "two on the shelf",
            "lat_e6": BERLIN[0],
            "lon_e6": BERLIN[1],
            "at_ms": NOW,
            "photos": [Photo("image/png", png())],
            "signer": SIGNER,
            "now_ms": NOW,
        }
        args.update(changes)
        return record_inspection(self.engine, **args)  # type: ignore[arg-type]


def build_world(engine: Engine, serials: tuple[str, ...] = ("S1", "S2")) -> InspectionWorld:
    """The world of this module's docstring on ``engine`` (migrated, empty)."""
    with Session(engine) as s:
        import_feature_collection(s, TERRITORIES)
        parties = {
            "MFR": Party(code="MFR", name="Maker", kind="manufacturer"),
            "D-FR": Party(code="D-FR", name="France Dist", kind="distributor", country="FR"),
            "INSP-1": Party(code="INSP-1", name="Field checks", kind="inspector"),
        }
        s.add_all(parties.values())
        s.flush()
        s.add(TerritoryGrant(party_id=parties["D-FR"].id, territory_code="FR", valid_from_ms=0))
        inspector = parties["INSP-1"].id
        s.commit()
    hops = []
    for serial in serials:
        hops.append(Hop(key(serial), EntryKind.COMMISSIONING, "MFR", T0))
        hops.append(Hop(key(serial), EntryKind.SHIPPING, "MFR", T0 + 1000, counterparty="D-FR"))
    assert {r.status for r in append_hops(engine, hops)} == {"accepted"}
    return InspectionWorld(engine, inspector, serials)


def png(color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (8, 6)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (10, 10), (0, 90, 200)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def world(engine: Engine) -> InspectionWorld:
    return build_world(engine)


def _count(engine: Engine, model: type) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _rows(engine: Engine, inspection_id: int) -> tuple[Inspection, list[InspectionPhoto]]:
    with Session(engine, expire_on_commit=False) as s:
        row = s.get(Inspection, inspection_id)
        assert row is not None
        photos = list(
            s.scalars(select(InspectionPhoto).where(InspectionPhoto.inspection_id == row.id))
        )
        return row, photos


# ---------------------------------------------------------------- the entry


def test_an_inspection_appends_one_inspecting_entry_by_the_inspection_party(
    world: InspectionWorld,
) -> None:
    before = _count(world.engine, Entry)
    result = world.inspect(photos=[Photo("image/png", png()), Photo("image/jpeg", jpeg())])
    assert _count(world.engine, Entry) == before + 1
    with Session(world.engine) as s:
        entry = s.scalar(select(Entry).where(Entry.seq == result.seq))
        assert entry is not None
        assert entry.kind == "inspecting"
        party = s.get(Party, entry.party_id)
        assert party is not None and party.code == "INSP-1"
        assert entry.device == "inspector:ines"
        assert (entry.lat_e6, entry.lon_e6) == BERLIN
        assert entry.at_ms == NOW
    # the ledger stays intact: hashes, tree and unit chains
    report = verify_ledger(world.engine, SIGNER.name, SIGNER.public_key)
    assert report.entries == before + 1


def test_out_of_zone_in_zone_and_without_location(world: InspectionWorld) -> None:
    berlin = world.inspect("S1")
    assert (berlin.verdict, berlin.territory_code) == ("out_of_zone", "DE")
    paris = world.inspect("S2", lat_e6=PARIS[0], lon_e6=PARIS[1])
    assert (paris.verdict, paris.territory_code) == ("in_zone", "FR-PAR")
    nowhere = world.inspect("S1", lat_e6=None, lon_e6=None)
    assert (nowhere.verdict, nowhere.territory_code) == ("unlocated", "")
    sea = world.inspect("S1", lat_e6=ATLANTIC[0], lon_e6=ATLANTIC[1])
    assert sea.verdict == "unlocated"
    # a unit the manufacturer never shipped to a distributor has no zone yet
    append_hops(world.engine, [Hop(key("S9"), EntryKind.COMMISSIONING, "MFR", T0)])
    for where in ({}, {"lat_e6": None, "lon_e6": None}):
        assert world.inspect("S9", **where).verdict == "unallocated"


def test_the_photos_are_kept_byte_for_byte_with_the_type_they_decode_as(
    world: InspectionWorld,
) -> None:
    # a phone that says image/png for a JPEG: the stored type is what the bytes are
    result = world.inspect(photos=[Photo("image/png", jpeg()), Photo("", png())])
    _, photos = _rows(world.engine, result.inspection_id)
    photos.sort(key=lambda p: p.position)
    assert [p.content_type for p in photos] == ["image/jpeg", "image/png"]
    assert [bytes(p.data) for p in photos] == [jpeg(), png()]
    assert [p.sha256 for p in photos] == [
        hashlib.sha256(jpeg()).hexdigest(),
        hashlib.sha256(png()).hexdigest(),
    ]


# ---------------------------------------------------------------- the signed record


def test_the_record_hash_and_signature_verify(world: InspectionWorld) -> None:
    result = world.inspect(note="二 units, 一 opened")
    row, photos = _rows(world.engine, result.inspection_id)
    with Session(world.engine) as s:
        entry = s.scalar(select(Entry).where(Entry.seq == row.seq))
        assert entry is not None
        leaf = bytes(entry.leaf_hash)
    signed = verify_inspection_record(
        row, photos, SIGNER.public_key, name=SIGNER.name, leaf_hash=leaf, unit_key=key("S1")
    )
    assert signed.seq == row.seq and signed.leaf_hash == leaf.hex()
    # the record is what the module says, and its hash is the stored one
    record = inspection_record(
        row, [p.sha256 for p in photos], leaf_hash=leaf.hex(), unit_key=key("S1")
    )
    assert record["at"] == "2026-11-20T12:00:00.000Z"
    assert record["note"] == "二 units, 一 opened"
    assert record_bytes(record).startswith(b'{"at":"2026-11-20T12:00:00.000Z","lat":52520000,')
    assert hashlib.sha256(record_bytes(record)).hexdigest() == row.record_hash
    assert row.signature.startswith(f"hopchain inspection\n{row.record_hash}\n{row.seq}\n")
    # the name may be read from the note itself
    verify_inspection_record(row, photos, SIGNER.public_key)


def test_a_changed_photo_byte_fails_verification(world: InspectionWorld) -> None:
    result = world.inspect(photos=[Photo("image/png", png()), Photo("image/png", png((1, 2, 3)))])
    row, photos = _rows(world.engine, result.inspection_id)
    photos.sort(key=lambda p: p.position)
    data = bytearray(photos[1].data)
    data[-5] ^= 0x01
    photos[1].data = bytes(data)
    with pytest.raises(InspectionRecordError, match=r"photo 2 \(position 1\): its bytes hash to"):
        verify_inspection_record(row, photos, SIGNER.public_key, name=SIGNER.name)
    # a photo's hash changed with its bytes: the rebuilt record no longer matches
    photos[1].sha256 = hashlib.sha256(photos[1].data).hexdigest()
    with pytest.raises(InspectionRecordError, match="rebuilt from the inspection"):
        verify_inspection_record(row, photos, SIGNER.public_key, name=SIGNER.name)
    # a dropped photo too
    with pytest.raises(InspectionRecordError):
        verify_inspection_record(row, photos[:1], SIGNER.public_key, name=SIGNER.name)


def test_changed_columns_another_key_or_entry_fail_verification(world: InspectionWorld) -> None:
    result = world.inspect()
    row, photos = _rows(world.engine, result.inspection_id)
    for change in ({"shop_name": "Another shop"}, {"lat_e6": BERLIN[0] + 1}, {"at_ms": NOW + 1}):
        changed = Inspection(**{c: getattr(row, c) for c in _COLUMNS} | change)
        with pytest.raises(InspectionRecordError, match="rebuilt from the inspection"):
            verify_inspection_record(changed, photos, SIGNER.public_key)
    other = LedgerSigner(SIGNER.name, Ed25519PrivateKey.generate())
    with pytest.raises(InspectionRecordError, match="no signature by"):
        verify_inspection_record(row, photos, other.public_key, name=SIGNER.name)
    with pytest.raises(InspectionRecordError, match="leaf hash"):
        verify_inspection_record(row, photos, SIGNER.public_key, leaf_hash="00" * 32)
    with pytest.raises(InspectionRecordError, match="the unit is"):
        verify_inspection_record(row, photos, SIGNER.public_key, unit_key=key("S2"))
    forged = row.signature.replace(row.record_hash, "0" * 64)
    changed = Inspection(**{c: getattr(row, c) for c in _COLUMNS} | {"signature": forged})
    with pytest.raises(InspectionRecordError, match="does not verify"):
        verify_inspection_record(changed, photos, SIGNER.public_key)


_COLUMNS = (
    "id", "seq", "unit_id", "inspector_party_id", "user_name", "shop_name", "note", "at_ms",
    "lat_e6", "lon_e6", "territory_code", "verdict", "record_hash", "signature",
)  # fmt: skip


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    shop=st.text(min_size=1, max_size=30).filter(lambda t: t.strip() == t and t),
    note=st.text(max_size=40).filter(lambda t: t.strip() == t),
    lat=st.one_of(st.none(), st.integers(-90_000_000, 90_000_000)),
    seq=st.integers(0, 2**63 - 1),
)
def test_record_bytes_are_canonical_json_that_reads_back(
    shop: str, note: str, lat: int | None, seq: int
) -> None:
    row = Inspection(
        seq=seq, shop_name=shop, note=note, at_ms=NOW, lat_e6=lat, lon_e6=lat and 1,
    )  # fmt: skip
    record = inspection_record(row, ["ab" * 32], leaf_hash="cd" * 32, unit_key=key("S1"))
    raw = record_bytes(record)
    assert json.loads(raw.decode("utf-8")) == record
    assert record_bytes(json.loads(raw)) == raw  # one spelling only
    outside_strings = re.sub(rb'"(?:[^"\\]|\\.)*"', b'""', raw)
    assert not re.search(rb"\s", outside_strings)  # no whitespace between tokens
    assert list(json.loads(raw)) == sorted(record)  # keys sorted
    assert (
        hashlib.sha256(raw).digest()
        != hashlib.sha256(record_bytes({**record, "shop": shop + "x"})).digest()
    )


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"shop_name": "  "}, "shop", "type the name of the shop"),
        ({"shop_name": "x" * 201}, "shop", "at most 200 characters, got 201"),
        ({"note": "n" * 2001}, "note", "at most 2000 characters"),
        ({"lat_e6": None}, "lat", "both latitude and longitude"),
        ({"lat_e6": 90_000_001}, "lat", "between -90 and 90"),
        ({"lon_e6": -180_000_001}, "lon", "between -180 and 180"),
        ({"at_ms": ms(1999, 12, 31)}, "at", "before 2000-01-01"),
        ({"at_ms": NOW + 31 * 86_400_000}, "at", "more than 30 days ahead"),
        ({"photos": [Photo("image/png", png())] * 7}, "photos", "at most 6 photos, got 7"),
        ({"photos": [Photo("image/png", b"")]}, "photos[0]", "Photo 1: the file is empty"),
        (
            {"photos": [Photo("image/png", png()), Photo("image/jpeg", b"\xff\xd8not a jpeg")]},
            "photos[1]",
            "Photo 2: not a PNG, JPEG or WebP",
        ),
        (
            {"photos": [Photo("image/png", png()[:40])]},
            "photos[0]",
            "not a PNG, JPEG or WebP picture",
        ),
        ({"photos": [Photo("image/gif", b"")]}, "photos[0]", "empty"),
        ({"unit_key": "01/123/21/x"}, "unit", "is not a unit's code"),
        ({"unit_key": "00/106141411234567897"}, "unit", "is a case or pallet"),
        ({"capture_id": "has space"}, "capture_id", "1 to 100 letters"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_appended(
    world: InspectionWorld, changes: dict[str, object], field: str, words: str
) -> None:
    before = _count(world.engine, Entry)
    with pytest.raises(InspectionRefused, match=words) as caught:
        world.inspect(**changes)
    assert caught.value.field == field
    assert _count(world.engine, Entry) == before
    assert _count(world.engine, Inspection) == 0


def test_a_gif_or_an_oversized_photo_is_refused(world: InspectionWorld) -> None:
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, "GIF")
    with pytest.raises(InspectionRefused, match="Photo 1: a GIF picture; send PNG, JPEG or WebP"):
        world.inspect(photos=[Photo("image/png", gif.getvalue())])
    big = Photo("image/png", png() + b"\0" * MAX_PHOTO_BYTES)
    with pytest.raises(InspectionRefused, match=r"Photo 1: at most 5\.0 MB, got 5\.0 MB") as c:
        world.inspect(photos=[big])
    assert c.value.field == "photos[0]"
    # a small file that claims a huge picture (a decompression bomb) is refused unread
    with pytest.raises(InspectionRefused, match="Photo 1: larger than 50 megapixels") as c:
        world.inspect(photos=[Photo("image/png", _huge_png_header())])
    assert _count(world.engine, Entry) == 4


def _huge_png_header() -> bytes:
    """A PNG whose header says 10000 x 10000 pixels, with a few bytes of data."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", 10_000, 10_000, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 99))


def test_an_unknown_code_is_named_and_nothing_is_appended(world: InspectionWorld) -> None:
    with pytest.raises(UnknownCode, match=f"Code: 01/{GTIN}/21/NOPE is not a code of ours") as c:
        world.inspect(unit_key=key("NOPE"))
    assert c.value.field == "unit"
    assert _count(world.engine, Entry) == 4


def test_only_an_inspection_party_may_inspect(world: InspectionWorld) -> None:
    with Session(world.engine) as s:
        distributor = s.scalar(select(Party.id).where(Party.code == "D-FR"))
    with pytest.raises(InspectionRefused, match="D-FR is not an inspection party") as c:
        world.inspect(inspector_party_id=distributor)
    assert c.value.field == "party"
    with pytest.raises(InspectionRefused, match="belongs to no inspection party"):
        world.inspect(inspector_party_id=999_999)
    assert _count(world.engine, Entry) == 4


# ---------------------------------------------------------------- replays


def test_a_replay_with_the_same_capture_id_appends_nothing(world: InspectionWorld) -> None:
    first = world.inspect(capture_id="c-0f3a")
    entries = _count(world.engine, Entry)
    again = world.inspect(capture_id="c-0f3a")
    assert again.replayed and not first.replayed
    assert (again.inspection_id, again.seq) == (first.inspection_id, first.seq)
    # even when the phone's clock reads differently the second time
    later = world.inspect(capture_id="c-0f3a", at_ms=NOW + 5000)
    assert later.inspection_id == first.inspection_id
    assert _count(world.engine, Entry) == entries
    assert _count(world.engine, Inspection) == 1
    # the same id for another unit is refused, a new id is a new inspection
    with pytest.raises(InspectionRefused, match="c-0f3a was already used") as c:
        world.inspect("S2", capture_id="c-0f3a", at_ms=NOW + 9000)
    assert c.value.field == "capture_id"
    world.inspect(capture_id="c-0f3b")
    assert _count(world.engine, Entry) == entries + 1
    # another inspector's id space is their own
    other = world.inspect(capture_id="c-0f3a", user_name="olga")
    assert not other.replayed


def test_a_record_lost_after_the_append_is_completed_by_the_replay(
    world: InspectionWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sightings.inspection as module

    def fail(*_a: object, **_k: object) -> object:
        raise RuntimeError("database went away")

    monkeypatch.setattr(module, "resolve_by_inspection", fail)
    with pytest.raises(RuntimeError):
        world.inspect(capture_id="lost-1")
    assert _count(world.engine, Entry) == 5  # the observation stays
    assert _count(world.engine, Inspection) == 0  # the record rolled back whole
    assert _count(world.engine, InspectionPhoto) == 0
    monkeypatch.undo()
    done = world.inspect(capture_id="lost-1")
    assert not done.replayed
    assert _count(world.engine, Entry) == 5
    row, photos = _rows(world.engine, done.inspection_id)
    verify_inspection_record(row, photos, SIGNER.public_key)


def test_device_names_fit_the_column() -> None:
    assert device_of("ines") == "inspector:ines"
    long = device_of("x" * 64)
    assert len(long) == 64 and long.startswith("inspector:#")
    assert device_of("y" * 64) != long


# ---------------------------------------------------------------- suspected alerts


def _suspect(engine: Engine, serial: str) -> int:
    with Session(engine) as s:
        unit_id = s.scalar(select(Unit.id).where(Unit.key == key(serial)))
        distributor = s.scalar(select(Party.id).where(Party.code == "D-FR"))
        row = SuspectedAlert(
            unit_id=unit_id, kind="out_of_zone", status="suspected",
            allocated_party_id=distributor, territory_code="DE", first_ms=NOW - 86_400_000,
            last_ms=NOW - 3_600_000, sighting_count=3,
        )  # fmt: skip
        s.add(row)
        s.commit()
        return row.id


def test_an_out_of_zone_inspection_confirms_a_suspected_alert_into_a_normal_alert(
    world: InspectionWorld,
) -> None:
    suspect = _suspect(world.engine, "S1")
    result = world.inspect("S1", user_name="ines")
    assert result.resolution.confirmed == (suspect,)
    (alert_id,) = result.resolution.alert_ids
    with Session(world.engine) as s:
        row = s.get(SuspectedAlert, suspect)
        assert row is not None
        assert (row.status, row.inspection_id, row.alert_id) == (
            "confirmed", result.inspection_id, alert_id,
        )  # fmt: skip
        alert = s.get(Alert, alert_id)
        assert alert is not None and alert.finding_type == "out_of_zone"
        findings = s.scalars(select(AlertFinding.seq).where(AlertFinding.alert_id == alert_id))
        assert list(findings) == [result.seq]


def test_an_in_zone_inspection_clears_and_an_unlocated_one_leaves_it(
    world: InspectionWorld,
) -> None:
    suspect = _suspect(world.engine, "S2")
    nowhere = world.inspect("S2", lat_e6=None, lon_e6=None)
    assert nowhere.resolution == Resolution((), (), ())
    paris = world.inspect("S2", lat_e6=PARIS[0], lon_e6=PARIS[1])
    assert paris.resolution.cleared == (suspect,)
    with Session(world.engine) as s:
        row = s.get(SuspectedAlert, suspect)
        assert row is not None and row.status == "cleared"
        assert s.scalar(select(func.count()).select_from(Alert)) == 0
