"""Scans are never lost silently (issue 9, items 1-3), below HTTP.

- The ledger tells a replay (same content under a used device + device_seq:
  ``duplicate``) from a different scan under that number (``conflict``: nothing
  appended, both scans named), and refuses per hop what its canonical bytes and
  columns cannot hold.
- The batch parser answers every event exactly once, whatever the JSON: values
  out of range are rejections naming field and value, never an exception.
- One time window for every intake (:func:`scanners.batch.scan_time_problem`).
- The reference handheld client dead-letters what the server will not record,
  resyncs its counter on ``conflict`` and bisects a batch the server refuses.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger import EntryKind, Hop, append_hops
from ledger.hops import scan_digest
from ledger.ids import OBSERVATION_KINDS
from ledger.models import Entry, ScanReceipt, Site
from scanners import (
    EARLIEST_SCAN_MS,
    MAX_AHEAD_MS,
    BatchFormatError,
    HandheldClient,
    HandheldError,
    generate_device_key,
    parse_rfc3339_ms,
    parse_scan_batch,
    scan_time_problem,
    to_micro_degrees,
)

K = EntryKind
GTIN = "09506000134352"
NOW = parse_rfc3339_ms("2026-03-10T12:00:00Z")
DAY = 86_400_000


def unit(serial: str) -> str:
    return f"01/{GTIN}/21/{serial}"


def code(serial: str) -> str:
    return f"(01){GTIN}(21){serial}"


# --- the ledger: duplicate or conflict ------------------------------------------------


@pytest.fixture
def ledger(engine: Engine, make_party: Callable[..., int]) -> Engine:
    mfr = make_party("MFR", kind="manufacturer")
    make_party("DIST-A")
    with Session(engine) as session:
        session.add(Site(code="PLANT", name="Plant", party_id=mfr, lat_e6=1, lon_e6=2))
        session.commit()
    hops = [Hop(unit(f"U{i}"), K.COMMISSIONING, "MFR", NOW - 5 * DAY) for i in range(1, 5)]
    hops += [
        Hop(unit(f"U{i}"), K.SHIPPING, "MFR", NOW - 4 * DAY, counterparty="DIST-A")
        for i in range(1, 5)
    ]
    assert {r.status for r in append_hops(engine, hops)} == {"accepted"}
    return engine


def _entries(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Entry)) or 0)


def _scan(serial: str, seq: int, at_ms: int = NOW - DAY, device: str = "HH-1") -> Hop:
    return Hop(
        unit(serial), K.RECEIVING, "DIST-A", at_ms, counterparty="MFR", device=device,
        device_seq=seq,
    )  # fmt: skip


def test_a_replay_is_a_duplicate_and_another_scan_under_its_number_a_conflict(
    ledger: Engine,
) -> None:
    [first] = append_hops(ledger, [_scan("U1", 1)])
    assert first.status == "accepted"
    with Session(ledger) as session:
        receipt = session.get(ScanReceipt, ("HH-1", 1))
        assert receipt is not None
        # the digest of what the scan said, as ledger.hops.scan_digest defines it
        assert receipt.content_hash == scan_digest(
            unit("U1"), "receiving", NOW - DAY, "DIST-A", "MFR", None
        )
    count = _entries(ledger)

    [again] = append_hops(ledger, [_scan("U1", 1)])
    assert (again.status, again.seqs) == ("duplicate", first.seqs)

    # A recreated queue counts from 1 again: a new scan under a used number.
    [other] = append_hops(ledger, [_scan("U2", 1, at_ms=NOW - 3600_000)])
    assert other.status == "conflict" and other.seqs == ()
    assert "device HH-1 already used device_seq 1 for another scan" in other.reason
    assert f"stored: receiving of {unit('U1')} at 2026-03-09T12:00:00.000Z" in other.reason
    assert f"this one: receiving of {unit('U2')} at 2026-03-10T11:00:00.000Z" in other.reason
    assert "resync its counter" in other.reason
    # The same unit at another time is another scan too.
    [later] = append_hops(ledger, [_scan("U1", 1, at_ms=NOW - DAY + 1)])
    assert later.status == "conflict"
    assert _entries(ledger) == count  # nothing appended for a conflict


@settings(max_examples=60, deadline=None)
@given(
    st.text(max_size=12),
    st.sampled_from([k.value for k in OBSERVATION_KINDS]),
    st.integers(min_value=-(2**62), max_value=2**62),
    st.text(max_size=8),
    st.none() | st.text(max_size=8),
    st.none() | st.text(max_size=8),
)
def test_scan_digest_is_sha256_of_its_sorted_json(
    unit_key: str, kind: str, at_ms: int, party: str, cp: str | None, box: str | None
) -> None:
    doc = {"at_ms": at_ms, "container": box or "", "counterparty": cp or "", "kind": kind,
           "party": party, "unit": unit_key}  # fmt: skip
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert (
        scan_digest(unit_key, kind, at_ms, party, cp, box) == hashlib.sha256(raw.encode()).digest()
    )


def test_in_one_batch_a_repeat_is_compared_with_the_accepted_scan(ledger: Engine) -> None:
    count = _entries(ledger)
    results = append_hops(ledger, [_scan("U1", 7), _scan("U1", 7), _scan("U3", 7), _scan("U2", 8)])
    assert [r.status for r in results] == ["accepted", "duplicate", "conflict", "accepted"]
    assert results[1].seqs == results[0].seqs
    assert f"stored: receiving of {unit('U1')}" in results[2].reason
    assert _entries(ledger) == count + 2


def test_a_receipt_without_a_digest_answers_duplicate(ledger: Engine) -> None:
    [first] = append_hops(ledger, [_scan("U1", 3)])
    with Session(ledger) as session:  # as written before digests were kept
        receipt = session.get(ScanReceipt, ("HH-1", 3))
        assert receipt is not None
        receipt.content_hash = None
        session.commit()
    [again] = append_hops(ledger, [_scan("U2", 3)])
    assert (again.status, again.seqs) == ("duplicate", first.seqs)


def test_a_conflicting_packing_names_the_packed_unit(ledger: Engine) -> None:
    box = "00/106141411234567897"
    pack = Hop(unit("U1"), K.PACKING, "MFR", NOW - DAY, container=box, device="PK", device_seq=1)
    [packed] = append_hops(ledger, [pack])
    assert len(packed.seqs) == 2  # the new case's commissioning, then the packing
    [same] = append_hops(ledger, [Hop(**{**_fields(pack), "container": "/" + box})])
    assert same.status == "duplicate"
    [other] = append_hops(ledger, [Hop(**{**_fields(pack), "unit": unit("U2")})])
    assert other.status == "conflict"
    assert f"stored: packing of {unit('U1')}" in other.reason


def _fields(hop: Hop) -> dict[str, Any]:
    return {name: getattr(hop, name) for name in Hop.__dataclass_fields__}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"at_ms": 253_402_300_800_000}, "outside the years 1 to 9999"),
        ({"at_ms": -62_135_596_800_001}, "outside the years 1 to 9999"),
        ({"device_seq": 2**63}, "device_seq 9223372036854775808 is outside 0 to 2**63 - 1"),
        ({"device_seq": -1}, "device_seq -1 is outside"),
        ({"device": "D" * 65}, "longer than 64 characters"),
        ({"device": "", "device_seq": 4}, "device_seq given without a device"),
    ],
)
def test_the_ledger_refuses_what_it_cannot_store_per_hop(
    ledger: Engine, change: dict[str, Any], reason: str
) -> None:
    count = _entries(ledger)
    bad = Hop(**{**_fields(_scan("U1", 5)), **change})
    results = append_hops(ledger, [bad, _scan("U2", 6)])
    assert [r.status for r in results] == ["rejected", "accepted"]
    assert reason in results[0].reason
    assert _entries(ledger) == count + 1
    # the edges themselves are stored and encoded
    edge = [
        Hop(**{**_fields(_scan("U3", 9)), "at_ms": 253_402_300_799_999}),
        Hop(**{**_fields(_scan("U4", 2**63 - 1))}),
    ]
    assert [r.status for r in append_hops(ledger, edge)] == ["accepted", "accepted"]


# --- the batch parser: every event answered once ---------------------------------------


_RAW = "\u00a7RAW:"  # a string the body writer replaces with a raw JSON literal
RAW_NUMBERS = [
    "1e999999999", "-1e999999999", "1E+400", "1e-999999999", "1" * 5000, "-0", "0.0",
    "9223372036854775808", "-9223372036854775809", "1.5e3", "48.8566000000000000000000000000001",
]  # fmt: skip
ODD_STRINGS = [
    "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-23:59",
    "2026-02-30T00:00:00Z", "2026-03-01T24:00:00Z", "2026-03-01T08:00:00+24:00",
    "\u0662\u0660\u0662\u0666-03-01T08:00:00Z", "1e999999999", "NaN", "Infinity", "\x00",
    "\ud800", "\udfff\ud800", "\ufeff", "DIST-\x00A", "x" * 300, "\u202e", "(01)123",
    code("U1"), "00/106141411234567897", "ship", "pack", "receive", "",
]  # fmt: skip
FIELDS = ["device_seq", "scanned_at", "kind", "code", "counterparty", "container", "lat", "lon"]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(ODD_STRINGS)
    | st.sampled_from([_RAW + n for n in RAW_NUMBERS])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
events = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8) | json_values


def _body(device: object, items: list[object]) -> bytes:
    text = json.dumps({"device_id": device, "events": items})  # ensure_ascii: lone surrogates too
    for raw in RAW_NUMBERS:
        text = text.replace(json.dumps(_RAW + raw), raw)
    return text.encode()


@settings(max_examples=50, deadline=None)
@given(
    st.lists(events, max_size=6),
    st.sampled_from(["HH-1", "HH-1", "", "x" * 65, 7, None, "\x00", "\ud800"]),
    st.integers(min_value=EARLIEST_SCAN_MS, max_value=4_102_444_800_000),
)
def test_any_json_events_get_exactly_one_answer_each(
    items: list[object], device: object, now_ms: int
) -> None:
    try:
        batch = parse_scan_batch(_body(device, items), now_ms=now_ms)
    except BatchFormatError as exc:
        assert str(exc)  # the body as a whole: named, never another exception
        return
    answered = [e.index for e in batch.events] + [r.index for r in batch.rejections]
    assert sorted(answered) == list(range(len(items)))
    for event in batch.events:  # what passes can be stored and encoded
        assert scan_time_problem(event.at_ms, now_ms) is None
        assert 0 <= event.device_seq <= 2**63 - 1
        assert event.lat_e6 is None or -90_000_000 <= event.lat_e6 <= 90_000_000
        assert event.lon_e6 is None or -180_000_000 <= event.lon_e6 <= 180_000_000
        assert event.counterparty is None or 0 < len(event.counterparty) <= 64
        assert event.unit.isascii() and len(event.unit) <= 64
    for rejection in batch.rejections:
        assert rejection.reason and len(rejection.reason) < 600


def _event(seq: int, **extra: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "device_seq": seq, "scanned_at": "2026-03-09T08:00:00Z", "kind": "receive",
        "code": code("U1"),
    }  # fmt: skip
    fields.update(extra)
    return fields


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"lat": "1e999999999", "lon": 2}, "lat: '1e999999999' is outside -90..90 degrees"),
        ({"lat": f"{_RAW}1e999999999", "lon": 2}, "lat: 1E+999999999 is outside -90..90 degrees"),
        ({"lat": 1, "lon": f"{_RAW}{'1' * 5000}"}, "lon: a number of 5000 digits is outside"),
        ({"lat": True, "lon": 1}, "lat: True is not a number of degrees"),
        ({"lat": {"deg": 1}, "lon": 1}, "lat: {'deg': 1} is not a number of degrees"),
        ({"lat": "48." + "1" * 40, "lon": 1}, "has more than 30 significant digits"),
        ({"lat": 1}, "latitude and longitude must come together"),
        (
            {"scanned_at": "0001-01-01T00:00:00+23:59"},
            "scanned_at '0001-01-01T00:00:00+23:59' is before 2000-01-01T00:00:00Z",
        ),
        (
            {"scanned_at": "9999-12-31T23:59:59Z"},
            "scanned_at '9999-12-31T23:59:59Z' is more than 30 days ahead of the server "
            "clock (2026-03-10T12:00:00.000Z)",
        ),
        ({"scanned_at": "2026-02-30T00:00:00Z"}, "is not a valid date-time: no such date"),
        ({"scanned_at": "\u0662\u0660\u0662\u0666-03-01T08:00:00Z"}, "is not an RFC 3339"),
        ({"device_seq": 2**63}, "device_seq must be an integer from 0 to 2**63 - 1, got 92233"),
        (
            {"device_seq": f"{_RAW}1.5e3"},
            "device_seq must be an integer from 0 to 2**63 - 1, got 1.5E+3",
        ),
        ({"device_seq": True}, "got True"),
        ({"counterparty": "X" * 65}, "counterparty must be a party code of 1 to 64 printable"),
        ({"counterparty": "DIST-\x00A"}, "got 'DIST-\\x00A'"),
        ({"counterparty": "\ud800"}, "counterparty must be a party code"),
        ({"code": "\ud800"}, "code must be a scanned string of 1 to 512 characters"),
        ({"code": "0" * 513}, "code must be a scanned string of 1 to 512 characters"),
        ({"kind": "k" * 10_000}, "unknown kind 'kkkkkkkkkk"),
    ],
)
def test_values_out_of_range_reject_only_their_event(extra: dict[str, object], reason: str) -> None:
    batch = parse_scan_batch(
        _body("HH-1", [_event(1, **extra), _event(2, code=code("U2"))]), now_ms=NOW
    )
    assert [e.device_seq for e in batch.events] == [2]
    [rejection] = batch.rejections
    assert rejection.index == 0
    assert reason in rejection.reason


@pytest.mark.parametrize(
    ("device", "reason"),
    [("x" * 65, "device_id must be a device id of 1 to 64 printable characters"),
     ("HH\x00", "got 'HH\\x00'"), ("", "device_id"), (None, "got None")],
)  # fmt: skip
def test_a_device_id_the_ledger_cannot_hold_refuses_the_body(device: object, reason: str) -> None:
    with pytest.raises(BatchFormatError) as refused:
        parse_scan_batch(_body(device, [_event(1)]))
    assert reason in str(refused.value)


# --- one time window --------------------------------------------------------------------


def test_the_scan_time_window() -> None:
    assert parse_rfc3339_ms("2000-01-01T00:00:00Z") == EARLIEST_SCAN_MS
    assert scan_time_problem(EARLIEST_SCAN_MS, NOW) is None
    assert "before 2000-01-01" in str(scan_time_problem(EARLIEST_SCAN_MS - 1, NOW))
    assert scan_time_problem(NOW + MAX_AHEAD_MS, NOW) is None
    assert "more than 30 days ahead" in str(scan_time_problem(NOW + MAX_AHEAD_MS + 1, NOW))


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("0001-01-01T00:00:00+23:59", -62_135_596_800_000 - 86_340_000),
        ("9999-12-31T23:59:59.999-23:59", 253_402_300_799_999 + 86_340_000),
        ("2026-03-01T09:00:00.2509+01:00", parse_rfc3339_ms("2026-03-01T08:00:00.250Z")),
        ("1970-01-01T00:00:00Z", 0),
    ],
)
def test_any_rfc3339_time_is_read_without_overflow(text: str, ms: int) -> None:
    assert parse_rfc3339_ms(text) == ms


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (Decimal("1E+999999999"), "outside -90..90"),
        (Decimal("-1E+999999999"), "outside -90..90"),
        ("1e400", "outside -90..90"),
        (float("inf"), "not a finite number"),
        ("nan", "not a finite number"),
        ("1." + "0" * 40, "more than 30 significant digits"),
        ("9" * 70, "too long"),
        (False, "not a number of degrees"),
    ],
)
def test_degrees_never_overflow(value: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        to_micro_degrees(value, 90)


def test_tiny_degrees_round_to_zero() -> None:
    assert to_micro_degrees(Decimal("1e-999999999"), 90) == 0
    assert to_micro_degrees("-0.0000004", 90) == 0
    assert to_micro_degrees("0.0000005", 90) == 0  # half to even
    assert to_micro_degrees("0.0000015", 90) == 2


# --- the reference handheld client ------------------------------------------------------


class FakeServer:
    """POST /api/v1/scans as the real one answers it, for the client's side alone.

    Holds (device_seq -> code) like the ledger's receipts: the same code again is
    ``duplicate``, another code ``conflict`` with ``next_device_seq``; codes in
    ``poison`` make the whole batch 400, codes in ``crash`` make it 500; an event
    with ``lat`` out of range is rejected.
    """

    def __init__(self, public_b64: str) -> None:
        self.public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64))
        self.stored: dict[int, str] = {}
        self.poison: set[str] = set()
        self.crash: set[str] = set()
        self.refuse_device = False
        self.cut_next = 0  # answers sent as a 400 cut off after its headers
        self.posts = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.public.verify(base64.b64decode(self.headers["X-Signature"]), body)
                if server.cut_next:  # the server dies while answering
                    server.cut_next -= 1
                    self.send_response(400)
                    self.send_header("Content-Length", "100")
                    self.end_headers()
                    self.wfile.write(b'{"err')
                    self.close_connection = True
                    return
                status, answer = server.answer(json.loads(body))
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def answer(self, doc: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.posts += 1
        if self.refuse_device:
            return 400, {"error": "device_id must be a device id", "status": 400}
        codes = {e["code"] for e in doc["events"]}
        if codes & self.poison:
            return 400, {"error": "body is not JSON: poison", "status": 400}
        if codes & self.crash:
            return 500, {"error": "internal error", "status": 500}
        results: list[dict[str, Any]] = []
        for e in doc["events"]:
            seq = e["device_seq"]
            if float(e.get("lat", 0)) > 90:
                results.append({"device_seq": seq, "status": "rejected", "reason": "lat: bad"})
            elif seq not in self.stored:
                self.stored[seq] = e["code"]
                results.append({"device_seq": seq, "status": "accepted", "seqs": [seq]})
            elif self.stored[seq] == e["code"]:
                results.append({"device_seq": seq, "status": "duplicate", "seqs": [seq]})
            else:
                results.append({"device_seq": seq, "status": "conflict", "reason": "other scan"})
        next_seq = 1 + max(self.stored, default=0)
        for r in results:
            if r["status"] == "conflict":
                r["next_device_seq"] = next_seq
        return 200, {"device_id": doc["device_id"], "results": results, "next_device_seq": next_seq}

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def device() -> tuple[bytes, str]:
    return generate_device_key()


@pytest.fixture
def fake(device: tuple[bytes, str]) -> Iterator[FakeServer]:
    server = FakeServer(device[1])
    yield server
    server.close()


def _client(queue: Path, fake: FakeServer, pem: bytes, **kw: Any) -> HandheldClient:
    return HandheldClient(queue, fake.url, "HH-1", pem, sleep=lambda s: None, **kw)


def test_rejected_scans_go_to_the_dead_letter_file_and_the_rest_uploads(
    tmp_path: Path, fake: FakeServer, device: tuple[bytes, str]
) -> None:
    with _client(tmp_path / "q.db", fake, device[0], batch_size=3) as client:
        for n in range(5):
            client.enqueue(code(f"S{n}"), "receive", lat="91" if n == 1 else "1", lon="1")
        report = client.flush()
        assert (report.accepted, report.rejected, report.pending) == (4, 1, 0)
        assert (report.dead_lettered, report.dead_letter_total) == (1, 1)
        assert report.dead_letter_path == str(tmp_path / "q.db.dead.jsonl")
        [dead] = client.dead_letters()
        assert (dead["device_seq"], dead["status"], dead["reason"]) == (2, "rejected", "lat: bad")
        assert dead["event"]["code"] == code("S1") and dead["at"].endswith("Z")
        assert dead["device_id"] == "HH-1"


def test_a_recreated_queue_resyncs_its_counter_and_loses_nothing(
    tmp_path: Path, fake: FakeServer, device: tuple[bytes, str]
) -> None:
    with _client(tmp_path / "old.db", fake, device[0]) as old:
        for n in range(4):
            old.enqueue(code(f"OLD{n}"), "receive")
        assert old.flush().accepted == 4  # the server holds 1..4
    with _client(tmp_path / "new.db", fake, device[0], batch_size=2) as new:
        seqs = [new.enqueue(code(f"NEW{n}"), "receive") for n in range(3)]
        assert seqs == [1, 2, 3]  # the counter went back
        report = new.flush()
        assert (report.accepted, report.conflict, report.pending) == (3, 0, 0)
        assert report.resynced == 3 and report.dead_letter_total == 0
        answered = new.results()
        assert sorted(answered) == [5, 6, 7]  # renumbered from next_device_seq
        assert new.enqueue(code("NEW9"), "receive") == 8  # and future scans above
    assert [fake.stored[s] for s in (5, 6, 7)] == [code(f"NEW{n}") for n in range(3)]
    assert [fake.stored[s] for s in (1, 2, 3, 4)] == [code(f"OLD{n}") for n in range(4)]


def test_a_scan_that_conflicts_again_is_dead_lettered(
    tmp_path: Path, fake: FakeServer, device: tuple[bytes, str]
) -> None:
    original = fake.answer

    def always_conflict(doc: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, answer = original(doc)
        for r in answer["results"]:  # another device under the same id keeps taking it
            if r["status"] == "accepted":
                r.update(status="conflict", next_device_seq=r["device_seq"] + 1)
                del r["seqs"]
        return status, answer

    fake.answer = always_conflict  # type: ignore[method-assign]
    with _client(tmp_path / "q.db", fake, device[0]) as client:
        client.enqueue(code("S1"), "receive")
        report = client.flush()
        assert (report.conflict, report.resynced, report.pending) == (1, 1, 0)
        [dead] = client.dead_letters()
        assert dead["status"] == "conflict" and dead["device_seq"] == 2


def test_a_refused_batch_is_bisected_to_the_events_that_cause_it(
    tmp_path: Path, fake: FakeServer, device: tuple[bytes, str]
) -> None:
    fake.poison = {code("S3")}
    fake.crash = {code("S6")}
    with _client(tmp_path / "q.db", fake, device[0], max_retries=2) as client:
        for n in range(8):
            client.enqueue(code(f"S{n}"), "receive")
        report = client.flush()
        assert (report.accepted, report.refused, report.pending) == (6, 2, 0)
        dead = {d["event"]["code"]: d for d in client.dead_letters()}
        assert set(dead) == {code("S3"), code("S6")}
        assert dead[code("S3")]["answer"]["http_status"] == 400
        assert "HTTP 400" in dead[code("S3")]["reason"]
        assert "poison" in dead[code("S3")]["reason"]
        assert dead[code("S6")]["answer"]["http_status"] == 500
    assert sorted(fake.stored) == [1, 2, 3, 5, 6, 8]


def test_an_answer_cut_off_by_a_dying_server_is_asked_again_not_acted_on(
    tmp_path: Path, fake: FakeServer, device: tuple[bytes, str]
) -> None:
    fake.cut_next = 2
    waits: list[float] = []
    with HandheldClient(
        tmp_path / "q.db", fake.url, "HH-1", device[0], sleep=waits.append
    ) as client:
        client.enqueue(code("S1"), "receive")
        report = client.flush()
        assert (report.accepted, report.refused, report.dead_letter_total) == (1, 0, 0)
    assert len(waits) == 2 and fake.posts == 1  # two cut-off answers, then the real one


def test_a_refused_device_dead_letters_nothing(
    tmp_path: Path, fake: FakeServer, device: tuple[bytes, str]
) -> None:
    fake.refuse_device = True
    with _client(tmp_path / "q.db", fake, device[0]) as client:
        client.enqueue(code("S1"), "receive")
        client.enqueue(code("S2"), "receive")
        with pytest.raises(HandheldError, match="refuses an empty batch too"):
            client.flush()
        assert client.pending() == 2 and client.dead_letters() == []


def test_the_command_line_reports_the_dead_letter_file(
    tmp_path: Path, fake: FakeServer, device: tuple[bytes, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from scanners import handheld_main

    key, queue, dead = tmp_path / "hh.pem", str(tmp_path / "q.db"), str(tmp_path / "dead.jsonl")
    key.write_bytes(device[0])
    fake.poison = {code("S2")}
    assert (
        handheld_main(["scan", "--queue", queue, "--kind", "receive", code("S1"), code("S2")]) == 0
    )
    capsys.readouterr()
    flush = ["flush", "--queue", queue, "--server", fake.url, "--device", "HH-1", "--key", str(key)]
    assert handheld_main([*flush, "--dead-letter", dead]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["accepted"], out["refused"], out["dead_letter"]) == (1, 1, 1)
    assert out["dead_letter_path"] == dead
    assert handheld_main(["status", "--queue", queue, "--dead-letter", dead]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status == {
        "pending": 0, "accepted": 1, "refused": 1, "dead_letter": 1, "dead_letter_path": dead,
    }  # fmt: skip
