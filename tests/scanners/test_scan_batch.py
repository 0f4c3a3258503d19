"""POST /api/v1/scans without HTTP: body → signature → hops → ledger → results."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ledger.append import append_hops
from ledger.hops import Hop, HopResult
from ledger.ids import EntryKind
from scanners import (
    BatchFormatError,
    DeviceAuthError,
    PlannedHop,
    Rejection,
    handle_scan_batch,
    parse_rfc3339_ms,
    parse_scan_batch,
    to_hops,
    to_micro_degrees,
)

Key = tuple[str, Ed25519PrivateKey, bytes]
NOW = parse_rfc3339_ms("2026-03-10T12:00:00Z")
U1 = "]d20109506000134352\x1d21U1"
U2 = "https://id.hopchain.example/01/09506000134352/21/U2"


def _event(seq: int, **kw: Any) -> dict[str, Any]:
    return {
        "device_seq": seq,
        "scanned_at": "2026-03-01T08:00:00Z",
        "kind": "receive",
        "code": U1,
        **kw,
    }


def _body(events: list[Any], device: str = "HH-1") -> bytes:
    return json.dumps({"device_id": device, "events": events}).encode()


def test_events_are_validated_one_by_one() -> None:
    batch = parse_scan_batch(
        _body(
            [
                _event(1, counterparty="ACME", lat="45.764043", lon=4.835659),
                _event(-1),
                _event(2, scanned_at="2026-03-01 08:00"),
                _event(3, kind="teleport"),
                _event(4, code="0109506000134353211"),
                _event(5, code="5901234123457"),
                _event(6, kind="pack"),
                _event(7, kind="pack", container="]C100376130321109103420"),
                _event(8, lat=91, lon=0),
                _event(9, lat="45.1"),
                "not an object",
                _event(1),
            ]
        )
    )
    [ok, packed] = batch.events
    assert (ok.device_seq, ok.kind, ok.unit, ok.counterparty) == (
        1,
        EntryKind.RECEIVING,
        "01/09506000134352/21/U1",
        "ACME",
    )
    assert (ok.lat_e6, ok.lon_e6) == (45_764_043, 4_835_659)
    assert packed.container == "00/376130321109103420"
    reasons = {r.index: r.reason for r in batch.rejections}
    assert "device_seq must be an integer" in reasons[1]
    assert "RFC 3339" in reasons[2]
    assert "unknown kind 'teleport'" in reasons[3]
    assert "check digit 3, expected 2" in reasons[4]
    assert "no unit" in reasons[5]
    assert "needs the container" in reasons[6]
    assert "outside -90..90" in reasons[8]
    assert "must come together" in reasons[9]
    assert "JSON object" in reasons[10]
    assert "repeats in this batch" in reasons[11]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[]", "JSON object"),
        (b'{"events": []}', "device_id"),
        (b'{"device_id": "HH-1"}', "events must be a list"),
        (b'{"device_id": "HH-1", "events": {}}', "events must be a list"),
        (b'{"device_id": "HH-1", "events": [{"device_seq": 1, "lat": NaN}]}', "not JSON"),
    ],
)
def test_a_broken_body_is_refused_whole(body: bytes, reason: str) -> None:
    with pytest.raises(BatchFormatError, match=reason):
        parse_scan_batch(body)


@pytest.mark.parametrize(
    ("value", "e6"),
    [
        ("48.8566", 48_856_600),
        (2.3522, 2_352_200),
        ("-0.000001", -1),
        (0.1, 100_000),
        ("12.3456785", 12_345_678),  # seventh decimal: half to even
        ("12.3456795", 12_345_680),
        (180, 180_000_000),
    ],
)
def test_coordinates_become_exact_micro_degrees(value: object, e6: int) -> None:
    from decimal import Decimal

    assert to_micro_degrees(value, 180) == e6
    # as the body parser sees a JSON number: a Decimal, never a float
    if isinstance(value, float):
        body = _body([_event(1, lat=value, lon=value)])
        assert parse_scan_batch(body).events[0].lat_e6 == e6
        assert to_micro_degrees(Decimal(repr(value)), 180) == e6


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=-90, max_value=90, places=6, allow_nan=False, allow_infinity=False))
def test_six_decimal_coordinates_round_trip_exactly(degrees: Any) -> None:
    assert to_micro_degrees(str(degrees), 90) == int(degrees * 1_000_000)


def test_times_keep_the_device_clock_in_utc_milliseconds() -> None:
    assert parse_rfc3339_ms("1970-01-01T00:00:00Z") == 0
    assert parse_rfc3339_ms("2026-03-01T09:00:00.250+01:00") == parse_rfc3339_ms(
        "2026-03-01T08:00:00.250Z"
    )
    assert parse_rfc3339_ms("2026-03-01T08:00:00.2509999Z") % 1000 == 250
    for bad in ("2026-03-01T08:00:00", "2026-03-01", "2026-02-30T00:00:00Z", "yesterday"):
        with pytest.raises(ValueError):
            parse_rfc3339_ms(bad)


def test_late_uploads_keep_device_order_and_future_times_are_flagged() -> None:
    batch = parse_scan_batch(
        _body(
            [
                _event(12, scanned_at="2026-03-10T12:30:00Z"),  # 30 min ahead of the server
                _event(10, scanned_at="2026-03-02T08:00:00Z"),
                _event(11, scanned_at="2026-03-01T07:00:00Z", code="bad"),
                _event(3, scanned_at="2026-03-01T07:00:00Z", code=U2),
            ]
        )
    )
    planned = to_hops(batch, "DIST-FR", "FR-WH1", NOW)
    hops = [p for p in planned if isinstance(p, PlannedHop)]
    assert [p.hop.device_seq for p in hops] == [3, 10, 12]
    assert [p.index for p in hops] == [3, 1, 0]
    assert hops[-1].flags == ("clock_skew:+1800s",)
    assert hops[-1].hop.note == "device clock 1800 s ahead"
    assert hops[0].hop.note == ""
    assert hops[-1].hop.at_ms == parse_rfc3339_ms("2026-03-10T12:30:00Z")  # kept as the device said
    assert all(
        p.hop.party == "DIST-FR" and p.hop.site == "FR-WH1" and p.hop.device == "HH-1" for p in hops
    )
    assert [p.device_seq for p in planned if isinstance(p, Rejection)] == [11]


# --- the whole endpoint, on the real ledger ------------------------------------------------


def _sign(key: Ed25519PrivateKey, body: bytes) -> str:
    return base64.b64encode(key.sign(body)).decode()


def _commissioned(engine: Engine) -> None:
    hops = [
        Hop(
            f"01/09506000134352/21/{s}",
            EntryKind.COMMISSIONING,
            "ACME",
            NOW - 10**9,
            site="ACME-PLANT",
        )
        for s in ("U1", "U2")
    ]
    # shipped to DIST-FR, whose handheld then receives them (ledger.permissions)
    hops += [
        Hop(h.unit, EntryKind.SHIPPING, "ACME", NOW - 10**8, counterparty="DIST-FR") for h in hops
    ]
    assert {r.status for r in append_hops(engine, hops)} == {"accepted"}


def test_a_signed_batch_is_appended_and_a_replay_is_answered_duplicate(
    scan_engine: Engine, device_key: Key
) -> None:
    _commissioned(scan_engine)
    device_id, key, _ = device_key
    body = _body(
        [
            _event(2, code=U2, counterparty="ACME", scanned_at="2026-03-10T13:00:00Z"),
            _event(1, counterparty="ACME"),
            _event(3, code="(01)09506000134352(21)"),
        ]
    )

    def append(hops: list[Hop]) -> Sequence[HopResult]:
        return append_hops(scan_engine, hops)

    with Session(scan_engine) as session:
        first = handle_scan_batch(session, body, _sign(key, body), append, now_ms=NOW).to_json()
        again = handle_scan_batch(session, body, _sign(key, body), append, now_ms=NOW).to_json()
    assert first["device_id"] == device_id
    assert [(r["device_seq"], r["status"]) for r in first["results"]] == [
        (2, "accepted"),
        (1, "accepted"),
        (3, "rejected"),
    ]
    assert first["results"][0]["flags"] == ["clock_skew:+3600s"]
    assert "truncated" in first["results"][2]["reason"]
    seqs = [r["seqs"] for r in first["results"][:2]]
    assert seqs[1][0] < seqs[0][0]  # device_seq 1 was appended first
    assert [(r["status"], r.get("seqs")) for r in again["results"][:2]] == [
        ("duplicate", seqs[0]),
        ("duplicate", seqs[1]),
    ]


def test_a_bad_signature_stores_nothing(scan_engine: Engine, device_key: Key) -> None:
    _, key, _ = device_key
    body = _body([_event(1)])
    calls: list[list[Hop]] = []

    def append(hops: list[Hop]) -> Sequence[HopResult]:
        calls.append(hops)
        return [HopResult("accepted", (0,))]

    with Session(scan_engine) as session:
        with pytest.raises(DeviceAuthError, match="bad signature"):
            handle_scan_batch(
                session, body, _sign(Ed25519PrivateKey.generate(), body), append, now_ms=NOW
            )
        with pytest.raises(DeviceAuthError, match="unknown device"):
            other = _body([_event(1)], device="HH-9")
            handle_scan_batch(session, other, _sign(key, other), append, now_ms=NOW)
        with pytest.raises(BatchFormatError):
            handle_scan_batch(session, b"{", _sign(key, b"{"), append, now_ms=NOW)
    assert calls == []


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(
                    st.sampled_from(
                        [
                            "device_id",
                            "events",
                            "device_seq",
                            "scanned_at",
                            "kind",
                            "code",
                            "lat",
                            "lon",
                            "container",
                            "counterparty",
                        ]
                    ),
                    inner,
                    max_size=6,
                )
            ),
            max_leaves=25,
        ).map(lambda doc: json.dumps(doc).encode()),
    )
)
def test_fuzz_batch_parser_only_raises_batch_format_error(body: bytes) -> None:
    try:
        batch = parse_scan_batch(body)
    except BatchFormatError:
        return
    to_hops(batch, "DIST-FR", None, NOW)
