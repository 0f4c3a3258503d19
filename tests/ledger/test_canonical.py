"""Canonical bytes and identifiers: properties that must hold for any input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.canonical import EntryFields, encode_entry, format_time, parse_time
from ledger.ids import (
    InvalidIdentifierError,
    gs1_check_digit,
    parse_key,
    sscc_key,
    unit_key,
    validate_gtin14,
)

text = st.text(max_size=40)
maybe_int = st.none() | st.integers(-(2**62), 2**62)
CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"


@given(
    seq=st.integers(0, 2**62),
    kind=text,
    at_ms=st.integers(0, 253_402_300_799_999),  # up to 9999-12-31
    strings=st.lists(text, min_size=8, max_size=8),
    lat=maybe_int,
    lon=maybe_int,
    dseq=maybe_int,
    prev=st.binary(min_size=32, max_size=32) | st.just(b""),
    retracts=st.none() | st.integers(0, 2**63 - 1),
)
def test_fast_encoding_equals_sorted_compact_json(
    seq: int, kind: str, at_ms: int, strings: list[str], lat: int | None, lon: int | None,
    dseq: int | None, prev: bytes, retracts: int | None,
) -> None:  # fmt: skip
    unit, party, cparty, site, container, device, anomaly, _ = strings
    f = EntryFields(
        seq,
        kind,
        at_ms,
        unit,
        party,
        cparty,
        site,
        lat,
        lon,
        container,
        device,
        dseq,
        anomaly,
        prev.hex(),
        retracts,
    )
    expected = json.dumps(
        f.as_json_object(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert encode_entry(f) == expected.encode("utf-8")
    assert json.loads(encode_entry(f))["seq"] == seq
    # only an error declaration has the key: every observation's bytes stay as they were
    assert ("retracts" in json.loads(encode_entry(f))) == (retracts is not None)


@given(st.integers(0, 253_402_300_799_999))
def test_times_round_trip_through_rfc3339(at_ms: int) -> None:
    text = format_time(at_ms)
    assert text.endswith("Z") and len(text) == 24
    assert parse_time(text) == at_ms


def test_times_with_offsets_are_normalised_to_utc() -> None:
    assert format_time(parse_time("2026-10-01T08:30:00.123+02:00")) == "2026-10-01T06:30:00.123Z"
    with pytest.raises(ValueError, match="no UTC offset"):
        parse_time("2026-10-01T08:30:00")


def _with_check_digit(body: str) -> str:
    return body + str(gs1_check_digit(body))


@given(st.text("0123456789", min_size=13, max_size=13), st.text(CSET82, min_size=1, max_size=20))
def test_unit_keys_round_trip(body: str, serial: str) -> None:
    gtin = _with_check_digit(body)
    key = unit_key(gtin, serial)
    parsed = parse_key(key)
    assert (parsed.gtin, parsed.serial, parsed.sscc) == (gtin, serial, None)
    assert parsed.key == key


@given(st.text("0123456789", min_size=17, max_size=17))
def test_sscc_keys_round_trip(body: str) -> None:
    sscc = _with_check_digit(body)
    assert parse_key(sscc_key(sscc)).sscc == sscc


@given(st.text("0123456789", min_size=13, max_size=13), st.integers(1, 9))
def test_every_wrong_check_digit_is_refused_with_the_right_one_named(body: str, off: int) -> None:
    right = gs1_check_digit(body)
    wrong = (right + off) % 10
    with pytest.raises(InvalidIdentifierError, match=f"check digit {wrong}, expected {right}"):
        validate_gtin14(body + str(wrong))


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("01/09506000134352", "neither"),
        ("01/095060001343521/21/A", "must be 14 digits"),
        ("01/0950600013435/21/A", "GTIN 00950600013435 has check digit 5, expected 9"),
        ("01/09506000134352/21/", "1 to 20 characters"),
        ("01/09506000134352/21/" + "A" * 21, "1 to 20 characters"),
        ("01/09506000134352/21/caf\u00e9", "character set 82"),
        ("00/123", "must be 18 digits"),
        ("02/09506000134352", "neither"),
    ],
)
def test_bad_keys_say_what_is_wrong(key: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifierError, match=reason):
        parse_key(key)


def test_short_gtins_are_padded() -> None:
    assert validate_gtin14("9506000134352") == "09506000134352"  # EAN-13
