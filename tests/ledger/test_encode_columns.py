"""The DataFrame encoder gives what the row encoders give, row for row.

``encode_columns.leaf_hashes`` must equal ``merkle.leaf_hash(rows.canonical_bytes(row))``
and ``encode_columns.scan_digests`` must equal ``verify_scan.receipt_digest`` of a
scan whose scanned entry is the row, on generated chunks: plain ASCII (the
vectorised path) mixed with text the reference must quote (quotes, backslashes,
C0 controls, DEL, U+2028, non-BMP, empty), nulls in every nullable column, error
declarations, negative and huge integers, times across and past the years the
vectorised path covers, every entry kind and unknown ones, and now and then a
row the reference cannot encode (then ``ValueError``).
"""

from __future__ import annotations

import hashlib
import json
import string
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import encode_columns, merkle
from ledger.encode_columns import COLUMNS, SCHEMA, leaf_hashes, scan_digests
from ledger.ids import EntryKind
from ledger.rows import CodeBook, canonical_bytes
from ledger.verify_scan import receipt_digest

Row = tuple[Any, ...]

_PLAIN_CHARS = "".join(c for c in string.printable if c.isprintable() and c not in '"\\')
plain = st.text(alphabet=_PLAIN_CHARS, max_size=12)
tricky = st.text(
    alphabet=st.sampled_from(
        [
            '"',
            "\\",
            "\n",
            "\t",
            "\x00",
            "\x1f",
            "\x7f",
            "\x85",
            "\xa0",
            "é",
            "中",
            "\u2028",
            "\u2029",
            "\u200b",
            "\ufeff",
            "😀",
            "\U000e0001",
            "a",
            " ",
        ]
    )
    | st.characters(codec="utf-8", exclude_categories=["Cs"]),
    max_size=12,
)
text = plain | tricky | st.just("")
kinds = st.sampled_from([k.value for k in EntryKind]) | text
big = st.integers(-(2**63), 2**63 - 1)
maybe_int = st.none() | big | st.integers(-200_000_000, 200_000_000)
_MS_OF_YEAR_1 = -62_135_596_800_000
_MS_PAST_9999 = 253_402_300_800_000
at_ms = (
    st.integers(0, 4_102_444_800_000)  # 1970 .. 2100
    | st.integers(_MS_OF_YEAR_1, _MS_PAST_9999 - 1)  # every year a date holds
    | st.sampled_from(
        [
            _MS_OF_YEAR_1,
            -30_610_224_000_001,
            -30_610_224_000_000,
            -1,
            0,
            999,
            1000,
            _MS_PAST_9999 - 1,
        ]
    )
)


@st.composite
def codebooks(draw: st.DrawFn) -> CodeBook:
    parties: dict[int | None, str] = {1: draw(plain), 2: draw(text), 3: ""}
    sites: dict[int | None, str] = {7: draw(text), 8: draw(plain)}
    if draw(_SPOIL):  # load_codebook always has the null id
        parties[None] = ""
        sites[None] = ""
    return CodeBook(parties, sites)


# Every strategy is built once: building them inside a draw costs more than the test.
_FIELDS = st.tuples(
    st.just(0),  # seq: the chunk's
    kinds,
    at_ms,
    plain | st.just("01/09506000134352/21/S1") | tricky,  # unit key
    st.sampled_from([1, 2, 3, None]),  # party id
    st.sampled_from([None, 1, 2, 3]),  # counterparty id
    st.sampled_from([None, 7, 8]),  # site id
    maybe_int,  # lat_e6
    maybe_int,  # lon_e6
    st.none() | text,  # container key
    text,  # device
    maybe_int,  # device_seq
    text,  # anomaly
    st.binary(min_size=32, max_size=32) | st.just(b""),  # prev hash
    st.just(b""),  # leaf hash (not encoded)
    st.just(3),  # unit id (not encoded)
    st.none() | st.none() | big,  # retracts_seq
    st.none() | st.just(9),  # container id (not encoded)
)
_SPOIL = st.integers(0, 24)
_SPOILS = st.sampled_from(["unknown party", "unknown counterparty", "unknown site", "far time"])
_FAR = st.integers(-(2**63), _MS_OF_YEAR_1 - 1) | st.integers(_MS_PAST_9999, 2**63 - 1)
_REQUIRED = st.sampled_from([1, 2, 3, 10, 12, 13])  # kind, at_ms, unit, device, anomaly, prev


@st.composite
def rows(draw: st.DrawFn) -> Row:
    """A row in ``encode_columns.COLUMNS`` order (seq 0); now and then (one in 25)
    one the reference cannot encode."""
    row = list(draw(_FIELDS))
    if draw(_SPOIL) == 0:
        spoil = draw(_SPOILS | _REQUIRED)
        if spoil == "unknown party":
            row[4] = 99
        elif spoil == "unknown counterparty":
            row[5] = 99
        elif spoil == "unknown site":
            row[6] = 99
        elif spoil == "far time":
            row[2] = draw(_FAR)
        else:  # a null where the reference expects a value
            assert isinstance(spoil, int)
            row[spoil] = None
    return tuple(row)


_ROW = rows()


@st.composite
def chunks(draw: st.DrawFn) -> tuple[list[Row], CodeBook]:
    first = draw(st.integers(-5, 2**62))
    chunk = draw(st.lists(_ROW, min_size=1, max_size=6))
    return [(first + i, *row[1:]) for i, row in enumerate(chunk)], draw(codebooks())


def _frame(chunk: list[Row]) -> pl.DataFrame:
    return pl.DataFrame(chunk, schema=SCHEMA, orient="row")


def _want_leaves(chunk: list[Row], codes: CodeBook) -> list[bytes] | None:
    """The reference leaf hashes; None where any row cannot be encoded."""
    try:
        return [merkle.leaf_hash(canonical_bytes(row, codes)) for row in chunk]
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        return None


def _want_digests(chunk: list[Row], codes: CodeBook) -> list[bytes] | None:
    """receipt_digest of a one-entry scan of each row; None where any gives b""
    (the digest could not be computed)."""
    out = [receipt_digest((row[10], row[11], row[0], row[0] + 1, [row]), codes) for row in chunk]
    return None if b"" in out else out


@settings(max_examples=250, deadline=None)
@given(chunks())
def test_leaf_hashes_and_scan_digests_are_the_reference_ones(
    chunk_and_codes: tuple[list[Row], CodeBook],
) -> None:
    chunk, codes = chunk_and_codes
    df = _frame(chunk)
    want = _want_leaves(chunk, codes)
    if want is None:
        with pytest.raises(ValueError, match="cannot be encoded"):
            leaf_hashes(df, codes)
    else:
        assert leaf_hashes(df, codes) == want
    digests = _want_digests(chunk, codes)
    if digests is None:
        with pytest.raises(ValueError, match="cannot be encoded"):
            scan_digests(df, codes)
    else:
        assert scan_digests(df, codes) == digests


# Two realistic rows, their canonical JSON spelled out by hand.
_CODES = CodeBook({None: "", 1: "MFR", 2: "DIST-1"}, {None: "", 7: "WH-7"})
_PREV = bytes(range(32))
_SHIPPING: Row = (
    41, "shipping", 1_790_000_020_001, "01/09506000134352/21/V1", 1, 2, 7, 48_137_000,
    -11_575_000, None, "HH-1", 12, "", _PREV, b"", 5, None, None,
)  # fmt: skip
_SHIPPING_JSON = (
    '{"anomaly":"","at":"2026-09-21T14:13:40.001Z","container":"","counterparty":"DIST-1",'
    '"device":"HH-1","dseq":12,"kind":"shipping","lat":48137000,"lon":-11575000,'
    '"party":"MFR","prev":"' + _PREV.hex() + '","seq":41,"site":"WH-7",'
    '"unit":"01/09506000134352/21/V1"}'
)
_DECLARATION: Row = (
    42, "error_declaration", -1, "00/095060000000000018", 2, None, None, None, None,
    "00/1", "", None, "typo", b"", b"", 6, 41, 9,
)  # fmt: skip
_DECLARATION_JSON = (
    '{"anomaly":"typo","at":"1969-12-31T23:59:59.999Z","container":"00/1","counterparty":"",'
    '"device":"","dseq":null,"kind":"error_declaration","lat":null,"lon":null,'
    '"party":"DIST-1","prev":"","retracts":41,"seq":42,"site":"","unit":"00/095060000000000018"}'
)


def test_hand_written_rows_hash_their_canonical_json() -> None:
    df = _frame([_SHIPPING, _DECLARATION])
    assert leaf_hashes(df, _CODES) == [
        hashlib.sha256(b"\x00" + _SHIPPING_JSON.encode()).digest(),
        hashlib.sha256(b"\x00" + _DECLARATION_JSON.encode()).digest(),
    ]
    for spelled in (_SHIPPING_JSON, _DECLARATION_JSON):  # what canonical.py promises
        doc = json.loads(spelled)
        assert json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False) == spelled
    packing = (43, "packing", 5, "01/x", 1, None, 7, None, None, "00/9", "HH-2", 1, "", b"",
               b"", 7, None, 9)  # fmt: skip
    assert scan_digests(_frame([_SHIPPING, packing]), _CODES) == [
        hashlib.sha256(
            b'{"at_ms":1790000020001,"container":"","counterparty":"DIST-1","kind":"shipping",'
            b'"party":"MFR","unit":"01/09506000134352/21/V1"}'
        ).digest(),
        hashlib.sha256(
            b'{"at_ms":5,"container":"00/9","counterparty":"","kind":"packing","party":"MFR",'
            b'"unit":"01/x"}'
        ).digest(),
    ]


def test_text_to_escape_is_quoted_by_the_reference() -> None:
    odd = (44, "shipping", 0, 'say "hi"\\ \u2028 😀', 1, None, None, None, None, "\x7f", "é",
           None, "\n", b"", b"", 8, None, None)  # fmt: skip
    df = _frame([_SHIPPING, odd, _DECLARATION])
    assert leaf_hashes(df, _CODES) == [
        merkle.leaf_hash(canonical_bytes(row, _CODES)) for row in (_SHIPPING, odd, _DECLARATION)
    ]
    (digest,) = scan_digests(_frame([odd]), _CODES)
    assert digest == receipt_digest(("é", 0, 44, 45, [odd]), _CODES)


def test_plain_rows_are_encoded_without_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    """The vectorised path covers plain rows by itself (the reference would be
    row by row again); only a row with text to escape reaches the reference."""
    called: list[int] = []

    def counting(row: Row, codes: CodeBook) -> bytes:
        called.append(row[0])
        return canonical_bytes(row, codes)

    monkeypatch.setattr(encode_columns, "canonical_bytes", counting)
    want = [merkle.leaf_hash(canonical_bytes(r, _CODES)) for r in (_SHIPPING, _DECLARATION)]
    assert leaf_hashes(_frame([_SHIPPING, _DECLARATION]), _CODES) == want
    assert called == []
    quoted = (_SHIPPING[0] + 9, "shipping", *_SHIPPING[2:9], 'a"b', *_SHIPPING[10:])
    leaf_hashes(_frame([_SHIPPING, quoted, _DECLARATION]), _CODES)
    assert called == [quoted[0]]


def test_an_unknown_party_id_raises_value_error_naming_the_seq() -> None:
    unknown = (45, *_SHIPPING[1:4], 99, *_SHIPPING[5:])
    with pytest.raises(ValueError, match="entry 45 cannot be encoded: KeyError"):
        leaf_hashes(_frame([_SHIPPING, unknown]), _CODES)
    # receipt_digest reads an unknown party as "": so does scan_digests
    (digest,) = scan_digests(_frame([unknown]), _CODES)
    assert digest == receipt_digest(("HH-1", 12, 45, 46, [unknown]), _CODES) != b""


def test_a_unit_gone_raises_value_error() -> None:
    gone = (46, *_SHIPPING[1:3], None, *_SHIPPING[4:])
    with pytest.raises(ValueError, match="entry 46"):
        leaf_hashes(_frame([gone]), _CODES)
    with pytest.raises(ValueError, match="entry 46"):
        scan_digests(_frame([gone]), _CODES)


def test_columns_are_read_by_name_and_cast_to_their_dtypes() -> None:
    """Arrow from a driver may order columns otherwise, add some, or type a column
    of nulls as Null and small integers as Int32."""
    df = _frame([_SHIPPING, _DECLARATION])
    shuffled = df.select(
        pl.lit("x").alias("extra"),
        *(c for c in reversed(COLUMNS) if c not in ("device_seq", "retracts_seq")),
        pl.col("device_seq").cast(pl.Int32),
        pl.lit(None).alias("retracts_seq"),  # dtype Null
    )
    assert shuffled.schema["retracts_seq"] == pl.Null
    want = [
        merkle.leaf_hash(canonical_bytes((*r[:16], None, r[17]), _CODES))
        for r in (_SHIPPING, _DECLARATION)
    ]
    assert leaf_hashes(shuffled, _CODES) == want
    assert leaf_hashes(_frame([]), _CODES) == []
    assert scan_digests(_frame([]), _CODES) == []
