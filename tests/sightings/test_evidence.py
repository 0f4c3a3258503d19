"""The evidence pack: what a third party checks with nothing but the PDF and the key.

Every check of the pack's proofs here is the independent client's
(tests/ledger/test_independent_client.py: written from RFC 6962/9162 and C2SP
signed-note, without importing ``ledger``); the world is tests/sightings/_evidence_world.py.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from ledger import EntryKind, append_hops, make_checkpoint
from ledger.models import Checkpoint, Entry, Unit
from sightings.errors import UnknownCode
from sightings.evidence import (
    ATTACHMENT,
    FORMAT,
    EvidenceError,
    EvidenceNotFound,
    EvidenceUnverifiable,
    collect_evidence,
    evidence_pack,
)
from sightings.models import InspectionPhoto
from sightings.zone import judge_location
from tests.ledger.test_independent_client import check_inclusion, open_checkpoint, sha256
from tests.sightings import _evidence_world as world
from tests.sightings._evidence_world import U2, U6, EvidenceWorld

NOW = 1_800_000_000_000  # 2027-01-15
#: How the reader's checks below reject a pack: a failed check, a bad signature, or
#: bytes that no longer parse as what they must be (JSON, base64, hex, a key).
REJECTED = (AssertionError, InvalidSignature, ValueError, KeyError, TypeError)


@pytest.fixture
def ev(engine: Engine, make_party: Callable[..., int], tmp_path: Path) -> EvidenceWorld:
    return world.build(engine, make_party, tmp_path / "instance")


def pack(w: EvidenceWorld, key: str = U2, **scope: Any) -> bytes:
    return evidence_pack(w.engine, unit_key=key, signer=w.signer, now_ms=NOW, **scope)


def attachments(pdf: bytes) -> dict[str, bytes]:
    files = PdfReader(io.BytesIO(pdf)).attachments
    return {name: datas[0] for name, datas in files.items()}


def document(pdf: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(attachments(pdf)[ATTACHMENT])
    return doc


def text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


# --- what an outside reader does, with the independent client's functions only -----


def open_note(note: str, name: str, key: bytes) -> list[str]:
    """C2SP signed-note, any body: verify the signature by ``name``/``key``, return lines."""
    body, _, sigs = note.partition("\n\n")
    body += "\n"
    key_id = sha256(name.encode() + b"\n\x01" + key)[:4]
    for line in sigs.splitlines():
        dash, signer, blob = line.split(" ")
        raw = base64.b64decode(blob)
        if dash == "\u2014" and signer == name and raw[:4] == key_id:
            Ed25519PublicKey.from_public_bytes(key).verify(raw[4:], body.encode())
            return body.splitlines()
    raise AssertionError("no signature by the ledger key")


def check_pack(doc: dict[str, Any], files: dict[str, bytes] | None = None) -> None:
    """Everything docs/evidence-pack.md tells a reader to check; AssertionError or
    InvalidSignature when anything fails."""
    assert doc["format"] == "hopchain-evidence/1"
    name, key = doc["log"]["name"], base64.b64decode(doc["log"]["ed25519"])
    size, root = open_checkpoint(doc["checkpoint"]["note"], name, key)
    assert (size, root.hex()) == (doc["checkpoint"]["tree_size"], doc["checkpoint"]["root_hash"])
    leaves: dict[int, bytes] = {}
    prev = ""
    for e in doc["entries"]:
        raw = base64.b64decode(e["canonical"])
        entry = json.loads(raw)
        assert entry["seq"] == e["seq"] and entry["unit"] == doc["unit"]
        assert entry["prev"] == prev, "the unit's chain"
        leaf = sha256(b"\x00" + raw)
        prev = leaf.hex()
        assert leaf.hex() == e["leaf_hash"]
        proof = e["inclusion"]
        assert (proof["leaf_index"], proof["tree_size"]) == (e["seq"], size)
        path = [bytes.fromhex(h) for h in proof["path"]]
        assert check_inclusion(leaf, e["seq"], size, path, root), f"entry {e['seq']}"
        leaves[e["seq"]] = leaf
    for insp in doc["inspections"]:
        record = base64.b64decode(insp["record"])
        assert sha256(record).hex() == insp["record_hash"]
        assert insp["record_hash"] in open_note(insp["signature"], name, key)
        fields = json.loads(record)
        assert fields["leaf_hash"] == leaves[fields["seq"]].hex() and fields["seq"] == insp["seq"]
        assert fields["photos"] == [p["sha256"] for p in insp["photos"]]
        if files is not None:
            for p in insp["photos"]:
                assert hashlib.sha256(files[p["attachment"]]).hexdigest() == p["sha256"]


# --- tests ---------------------------------------------------------------------------


def test_every_proof_verifies_with_the_independent_client(ev: EvidenceWorld) -> None:
    pdf = pack(ev, alert_id=ev.alert_id)
    assert pdf.startswith(b"%PDF-")
    files = attachments(pdf)
    doc = json.loads(files[ATTACHMENT])
    check_pack(doc, files)
    with Session(ev.engine) as session:
        unit_id = session.scalar(select(Unit.id).where(Unit.key == U2))
        seqs = list(
            session.scalars(select(Entry.seq).where(Entry.unit_id == unit_id).order_by(Entry.seq))
        )
    # the whole history, retraction and inspection included, and nothing of other units
    assert [e["seq"] for e in doc["entries"]] == seqs
    kinds = [json.loads(base64.b64decode(e["canonical"]))["kind"] for e in doc["entries"]]
    assert {"error_declaration", "inspecting", "retail_selling"} <= set(kinds)
    assert doc["format"] == FORMAT and doc["unit"] == U2
    assert doc["scope"] == {"alert": ev.alert_id, "suspect": None}
    assert (doc["allocated_party"], doc["zone"]) == ("D1", ["AA"])
    # alert A and the clone alert the inspection after U2's sale filed; U6's is not U2's
    alerts = {a["finding_type"]: a for a in doc["alerts"]}
    assert sorted(alerts) == ["clone", "out_of_zone"] and alerts["out_of_zone"]["id"] == ev.alert_id
    assert ev.other_alert_id not in {a["id"] for a in doc["alerts"]}
    suspects = {s["kind"]: s for s in doc["suspected_alerts"]}
    assert suspects["out_of_zone"]["id"] == ev.suspect_id
    assert suspects["clone"]["alert"] == alerts["clone"]["id"]
    # one representation of distance: none for out_of_zone, none for a clone seen in one place
    assert suspects["out_of_zone"]["distance_km"] is None
    assert suspects["clone"]["distance_km"] is None
    assert doc["public_sightings"][0]["verdict"] == "out_of_zone"
    assert len(doc["inspections"]) == 1 and len(doc["inspections"][0]["photos"]) == 2
    # the photos travel byte for byte, beside evidence.json
    assert sorted(files) == sorted(
        [ATTACHMENT, *(p["attachment"] for p in doc["inspections"][0]["photos"])]
    )
    assert {files[p["attachment"]] for p in doc["inspections"][0]["photos"]} == set(ev.photos)


def test_the_printed_pack_shows_the_unit_its_history_and_how_to_check(ev: EvidenceWorld) -> None:
    pdf = pack(ev, suspect_id=ev.suspect_id)
    words = text(pdf)
    for expected in (
        f"Evidence pack: unit {U2}",
        world.PRODUCT,
        "D1 — D1 Ltd",
        f"Suspected alert {ev.suspect_id} (out_of_zone)",
        "RETRACTED by entry",
        "Corner shop",
        "How to check this pack without an account",
        "Appendix: evidence.json",
        "out of zone",
    ):
        assert expected in words, expected
    doc = document(pdf)
    # the appendix prints the attachment: every leaf hash and root can be read off paper
    for e in doc["entries"]:
        assert e["leaf_hash"] in words.replace("\n", "")
    assert doc["checkpoint"]["root_hash"] in words.replace("\n", "")


def test_one_checkpoint_reused_while_it_covers_the_unit_signed_anew_when_not(
    ev: EvidenceWorld,
) -> None:
    def count() -> int:
        with Session(ev.engine) as session:
            return int(session.scalar(select(func.count()).select_from(Checkpoint)) or 0)

    assert count() == 0
    first = document(pack(ev))["checkpoint"]
    assert count() == 1  # the newest entry was not covered: signed first
    # entries of another unit: the checkpoint still covers every entry of U2
    append_hops(
        ev.engine, [world.world.hop(6, EntryKind.RETAIL_SELLING, "S2", NOW - 5, world.world.IN_BB)]
    )
    make_checkpoint(ev.engine, ev.signer)
    newest = document(pack(ev))["checkpoint"]
    assert newest["tree_size"] == first["tree_size"] + 1  # the latest one, not a new one
    assert count() == 2
    # a new entry of U2 needs a checkpoint that covers it
    append_hops(
        ev.engine, [world.world.hop(2, EntryKind.RETURNING, "S2", NOW - 1, world.world.IN_BB)]
    )
    again = pack(ev)
    assert count() == 3
    assert document(again)["checkpoint"]["tree_size"] == newest["tree_size"] + 1
    check_pack(document(again), attachments(again))


def test_a_tampered_byte_anywhere_fails_the_reader(ev: EvidenceWorld) -> None:
    doc = document(pack(ev, alert_id=ev.alert_id))
    check_pack(doc)
    places: list[tuple[str, int, int]] = []  # (what, entry, element)
    for n, e in enumerate(doc["entries"]):
        places.append(("canonical", n, 0))
        places += [("path", n, k) for k in range(len(e["inclusion"]["path"]))]
    places.append(("note", 0, 0))
    places.append(("record", 0, 0))

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(places), st.integers(0, 10_000), st.integers(1, 255))
    def flipped(place: tuple[str, int, int], offset: int, xor: int) -> None:
        bad = json.loads(json.dumps(doc))
        what, n, k = place
        if what == "canonical":
            raw = bytearray(base64.b64decode(bad["entries"][n]["canonical"]))
            raw[offset % len(raw)] ^= xor
            bad["entries"][n]["canonical"] = base64.b64encode(bytes(raw)).decode()
        elif what == "path":
            raw = bytearray(bytes.fromhex(bad["entries"][n]["inclusion"]["path"][k]))
            raw[offset % 32] ^= xor
            bad["entries"][n]["inclusion"]["path"][k] = raw.hex()
        elif what == "note":
            note = bytearray(bad["checkpoint"]["note"].encode())
            body_end = note.index(b"\n\n")  # a byte of origin, size or root
            note[offset % body_end] ^= xor & 0x3F or 1
            bad["checkpoint"]["note"] = note.decode("utf-8", "replace")
        else:
            raw = bytearray(base64.b64decode(bad["inspections"][0]["record"]))
            raw[offset % len(raw)] ^= xor
            bad["inspections"][0]["record"] = base64.b64encode(bytes(raw)).decode()
        with pytest.raises(REJECTED):
            check_pack(bad)

    flipped()


def test_a_photo_that_is_not_the_signed_one_fails_the_reader(ev: EvidenceWorld) -> None:
    pdf = pack(ev)
    files, doc = attachments(pdf), document(pdf)
    check_pack(doc, files)
    first = doc["inspections"][0]["photos"][0]["attachment"]
    swapped = {**files, first: world.photo("green")}
    with pytest.raises(AssertionError):
        check_pack(doc, swapped)


def test_no_pack_is_made_from_data_that_does_not_verify(ev: EvidenceWorld) -> None:
    with ev.engine.begin() as conn:  # a photo replaced in the database after it was signed
        conn.execute(
            update(InspectionPhoto)
            .where(InspectionPhoto.position == 1)
            .values(data=world.photo("green"))
        )
    with pytest.raises(
        EvidenceUnverifiable, match=r"inspection \d+ does not verify: photo 2 \(position 1\)"
    ):
        pack(ev)


def test_a_changed_entry_is_named_instead_of_packed(ev: EvidenceWorld) -> None:
    with Session(ev.engine) as session:
        unit_id = session.scalar(select(Unit.id).where(Unit.key == U2))
        sale = session.scalar(
            select(Entry.seq).where(Entry.unit_id == unit_id, Entry.kind == "retail_selling")
        )
    with ev.engine.begin() as conn:  # someone with the database moves the sale into the zone
        conn.execute(
            update(Entry).where(Entry.seq == sale).values(lat_e6=51_000_000, lon_e6=11_000_000)
        )
    with pytest.raises(EvidenceUnverifiable) as refused:
        pack(ev)
    assert refused.value.values["seq"] == sale
    assert "hopchain ledger verify" in str(refused.value)


#: (unit, scope, error, field, words): what cannot be packed and how it is refused;
#: "mine"/"other" stand for the world's ids (the unit's alert or suspect, U6's alert)
REFUSALS: list[tuple[str, dict[str, Any], type[Exception], str, str]] = [
    ("01/09506000134352/21/NOPE", {}, UnknownCode, "unit", "No unit 01/09506000134352/21/NOPE"),
    ("not-a-key", {}, EvidenceError, "unit", "is not a unit key"),
    (U2, {"alert_id": 999}, EvidenceNotFound, "alert", "No alert 999"),
    (U2, {"suspect_id": 999}, EvidenceNotFound, "suspect", "No suspected alert 999"),
    (U2, {"alert_id": "other"}, EvidenceError, "alert", "is not in the evidence of alert"),
    (U6, {"suspect_id": "mine"}, EvidenceError, "suspect", "is about another unit"),
    (U2, {"alert_id": "mine", "suspect_id": "mine"}, EvidenceError, "suspect", "not both"),
]


def test_a_pack_that_cannot_be_made_says_why_naming_the_field(ev: EvidenceWorld) -> None:
    ids = {
        "mine": {"alert_id": ev.alert_id, "suspect_id": ev.suspect_id},
        "other": {"alert_id": ev.other_alert_id},
    }
    for key, scope, error, field, words in REFUSALS:
        real = {k: (ids[v][k] if isinstance(v, str) else v) for k, v in scope.items()}
        with pytest.raises(error, match=words) as refused:
            pack(ev, key, **real)
        assert getattr(refused.value, "field", None) == field, (key, scope)


def test_a_unit_with_hundreds_of_entries_packs_every_entry(ev: EvidenceWorld) -> None:
    """Every one of 300+ entries is in the pack and checks out (its time is a benchmark's:
    docs/evidence-pack.md; timing assertions stay out of the suite)."""
    at = world.world.ms(2026, 5, 1)
    hops = [
        world.world.hop(2, EntryKind.INSPECTING, "D1", at + n * 60_000, world.world.IN_AA)
        for n in range(300)
    ]
    append_hops(ev.engine, hops)
    pdf = pack(ev)
    doc = document(pdf)
    assert len(doc["entries"]) > 300
    check_pack(doc, attachments(pdf))


def test_the_map_judges_each_entry_as_a_label_scan_is_judged(ev: EvidenceWorld) -> None:
    """The pack judges all entries at once; each verdict is sightings.zone's for that entry."""
    found = collect_evidence(ev.engine, unit_key=U2, signer=ev.signer, now_ms=NOW)
    entries = {p.view.seq: p.view for p in found.entries}
    judged = [p for p in found.points if p.what == "entry" and p.verdict != "before_allocation"]
    assert {p.verdict for p in judged} == {"in_zone", "out_of_zone"}
    with Session(ev.engine) as session:
        unit_id = session.scalar(select(Unit.id).where(Unit.key == U2))
        assert unit_id is not None
        for p in judged:
            v = entries[p.ref]
            assert v.lat_e6 is not None and v.lon_e6 is not None
            one = judge_location(session, unit_id, v.lat_e6, v.lon_e6, v.at_ms)
            assert (p.verdict, p.territory_code) == (one.verdict, one.territory_code), p
    # the maker's scans before it shipped the unit to D1 are not judged against D1's zone
    assert [p.verdict for p in found.points[:2]] == ["before_allocation"] * 2


def test_a_sideways_phone_photo_is_printed_upright_and_attached_as_taken(
    ev: EvidenceWorld,
) -> None:
    picture = Image.new("RGB", (64, 48), "yellow")
    exif = picture.getexif()
    exif[0x0112] = 6  # EXIF Orientation: the camera was turned; show it rotated 90°
    taken = io.BytesIO()
    picture.save(taken, format="JPEG", exif=exif)
    sideways = taken.getvalue()
    world.add_inspection(
        ev.engine, ev.signer, U2, at_ms=world.world.ms(2026, 3, 25),
        where=world.world.IN_BB, photos=(sideways,),
    )  # fmt: skip
    pdf = pack(ev)
    files = attachments(pdf)
    check_pack(document(pdf), files)
    assert sideways in files.values()  # byte for byte, EXIF and all
    drawn = [
        (im.image.width, im.image.height)
        for page in PdfReader(io.BytesIO(pdf)).pages
        for im in page.images
        if im.image is not None
    ]
    assert drawn.count((64, 48)) == 2  # the two landscape PNGs of the first inspection
    assert drawn.count((48, 64)) == 1  # the JPEG, upright
