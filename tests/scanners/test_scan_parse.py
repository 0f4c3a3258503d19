"""parse(): every way a scanner sends a GS1 code, and clear reasons for bad ones."""

from __future__ import annotations

import json
import string
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.ids import gs1_check_digit, sscc_key, unit_key
from scanners import ScanParseError, ScanResult, parse, parse_or_raise

GS = "\x1d"
UNIT = "01/09506000134352/21/ABC123"


@pytest.mark.parametrize(
    ("raw", "symbology", "key"),
    [
        (f"]d20109506000134352{GS}21ABC123", "GS1 DataMatrix", UNIT),
        (f"0109506000134352{GS}21ABC123", None, UNIT),
        ("010950600013435221ABC123", None, UNIT),  # variable AI last: no GS needed
        (f"]d20109506000134352{GS}21ABC123{GS}10LOT7{GS}", "GS1 DataMatrix", UNIT),
        ("(01)09506000134352(21)ABC123", None, UNIT),
        ("(01) 09506000134352 (21) ABC123", None, UNIT),  # HRI as printed
        ("]Q3010950600013435221ABC123", "GS1 QR", UNIT),
        ("]e0010950600013435221ABC123", "GS1 DataBar", UNIT),
        ("https://id.hopchain.example/01/09506000134352/21/ABC123", "Digital Link", UNIT),
        (
            "https://brand.example.com/products/x/01/9506000134352/21/ABC123?17=271231",
            "Digital Link",
            UNIT,
        ),
        ("]Q1https://id.gs1.org/01/09506000134352/21/ABC123", "QR", UNIT),
        ("HTTPS://id.gs1.org/01/09506000134352/21/ABC123\r\n", "Digital Link", UNIT),
        ("]C100376130321109103420", "GS1-128", "00/376130321109103420"),
        ("00376130321109103420", None, "00/376130321109103420"),
        ("376130321109103420", None, "00/376130321109103420"),
        ("https://id.gs1.org/00/376130321109103420", "Digital Link", "00/376130321109103420"),
        ("urn:epc:id:sgtin:0614141.107346.2017", None, "01/10614141073464/21/2017"),
        ("urn:epc:id:sscc:0614141.1234567890", None, "00/106141412345678908"),
        (b"]d20109506000134352\x1d21ABC123", "GS1 DataMatrix", UNIT),
    ],
)
def test_a_unit_or_logistic_unit_is_identified_however_it_is_sent(
    raw: str | bytes, symbology: str | None, key: str
) -> None:
    result = parse(raw)
    assert result.error is None, result.error
    assert result.key == key
    assert result.symbology == symbology
    assert result.ok


def test_the_result_carries_ais_and_identity_fields() -> None:
    result = parse(f"]d20109506000134352{GS}21ABC123{GS}10LOT7{GS}17271231")
    assert result.ais == {"01": "09506000134352", "21": "ABC123", "10": "LOT7", "17": "271231"}
    assert (result.gtin, result.serial, result.sscc) == ("09506000134352", "ABC123", None)
    assert result.symbology_id == "]d2"
    doc = result.to_json()
    assert json.loads(json.dumps(doc)) == doc
    assert doc["key"] == UNIT and "error" not in doc


@pytest.mark.parametrize(
    ("raw", "symbology", "gtin"),
    [
        ("5901234123457", "EAN-13", "05901234123457"),
        ("]E05901234123457", "EAN-13", "05901234123457"),
        ("96385074", "EAN-8", "00000096385074"),
        ("036000291452", "UPC-A", "00036000291452"),
        ("(01)09506000134352", None, "09506000134352"),
    ],
)
def test_a_product_code_without_serial_parses_but_names_no_unit(
    raw: str, symbology: str | None, gtin: str
) -> None:
    result = parse(raw)
    assert result.error is None
    assert result.key is None
    assert result.gtin == gtin
    assert result.symbology == symbology


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("0109506000134353211", "check digit 3, expected 2"),
        ("(01)09506000134353(21)X", "check digit 3, expected 2"),
        ("https://id.example/01/09506000134353/21/X", "check digit 3, expected 2"),
        ("5901234123458", "check digit"),
        ("00376130321109103421", "check digit"),
        ("376130321109103421", "check digit"),
        ("(23)12345", "Unknown GS1 Application Identifier '23'"),
        ("2312345", "GS1 Application Identifier"),
        ("0109506000", "does not have the AI's format N14"),  # truncated GTIN
        ("]d2010950600013435", "does not have the AI's format N14"),
        ("(01)09506000134352(21)", "truncated"),
        ("01095060001343522", "GS1 Application Identifier"),
        ("https://id.example/01/09506000134352/21", "even number of path segments"),
        ("https://example.com/about", "primary identifier"),
        ("", "empty scan"),
        ("   \r\n", "empty scan"),
        ("]", "symbology identifier"),
        ("]d2", "no data after symbology identifier"),
        ("hello world", "GS1"),
        ("urn:epc:id:sgtin:0614141.1073.2017", "EPC URN"),
        ("21ABC", "without a GTIN"),
        ("x" * 5000, "more than 4096"),
    ],
)
def test_invalid_input_gets_a_reason(raw: str, reason: str) -> None:
    result = parse(raw)
    assert result.error is not None
    assert reason in result.error
    assert result.key is None
    assert result.to_json()["error"] == result.error
    with pytest.raises(ScanParseError) as info:
        parse_or_raise(raw)
    assert info.value.reason == result.error


def test_the_decoder_hint_names_the_symbology_when_the_data_does_not() -> None:
    assert parse("010950600013435221A", symbology="Code 128").symbology == "Code 128"
    assert parse("]C1010950600013435221A", symbology="Code 128").symbology == "GS1-128"


# --- properties ------------------------------------------------------------------------

CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
# HRI cannot carry parentheses in values (they open the next AI).
HRI_SAFE = CSET82.replace("(", "").replace(")", "")


@st.composite
def gtins(draw: st.DrawFn) -> str:
    body = draw(st.text(string.digits, min_size=13, max_size=13))
    return body + str(gs1_check_digit(body))


@st.composite
def ssccs(draw: st.DrawFn) -> str:
    body = draw(st.text(string.digits, min_size=17, max_size=17))
    return body + str(gs1_check_digit(body))


serials = st.text(HRI_SAFE, min_size=1, max_size=20)


@settings(max_examples=150, deadline=None)
@given(
    gtin=gtins(),
    serial=serials,
    lot=st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=20),
)
def test_every_encoding_of_a_unit_gives_the_same_key(gtin: str, serial: str, lot: str) -> None:
    expected = unit_key(gtin, serial)
    forms = [
        f"]d201{gtin}21{serial}{GS}10{lot}",
        f"01{gtin}10{lot}{GS}21{serial}",
        f"(01){gtin}(21){serial}(10){lot}",
        # the lot is a key qualifier of 01: in the path, before the serial (DL URI Syntax)
        f"]Q1https://any.example/path/01/{gtin}/10/{lot}/21/{quote(serial, safe='')}",
        f"https://id.gs1.org/01/{gtin}/21/{quote(serial, safe='')}",
    ]
    for form in forms:
        result = parse(form)
        assert result.error is None, (form, result.error)
        assert result.key == expected, form
        assert result.serial == serial


@settings(max_examples=100, deadline=None)
@given(sscc=ssccs())
def test_every_encoding_of_an_sscc_gives_the_same_key(sscc: str) -> None:
    expected = sscc_key(sscc)
    for form in (sscc, f"00{sscc}", f"]C100{sscc}", f"(00){sscc}", f"https://x.example/00/{sscc}"):
        assert parse(form).key == expected, form


@settings(max_examples=100, deadline=None)
@given(gtin=gtins(), serial=serials, wrong=st.integers(1, 9))
def test_a_wrong_check_digit_is_always_refused(gtin: str, serial: str, wrong: int) -> None:
    bad = gtin[:-1] + str((int(gtin[-1]) + wrong) % 10)
    for form in (
        f"01{bad}21{serial}",
        f"(01){bad}(21){serial}",
        f"https://x.example/01/{bad}/21/{quote(serial, safe='')}",
    ):
        result = parse(form)
        assert result.key is None and result.error is not None and "check digit" in result.error


# --- fuzz: no input crashes the parser ------------------------------------------------

PIECES = st.sampled_from(
    [
        "]d2",
        "]C1",
        "]Q3",
        "]e0",
        "]E0",
        "]",
        "(",
        ")",
        "(01)",
        "(21)",
        "(00)",
        GS,
        "01",
        "21",
        "00",
        "10",
        "17",
        "https://",
        "http://x/",
        "/01/",
        "/21/",
        "?",
        "%",
        "%2",
        "urn:epc:id:sgtin:",
        "urn:epc:id:sscc:",
        ".",
        "09506000134352",
        "376130321109103420",
        "\x00",
        "é",
        " ",
        "\n",
    ]
)
garbage = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200),
    st.lists(st.one_of(PIECES, st.text(string.printable, max_size=6)), max_size=25).map("".join),
)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=garbage)
def test_fuzz_parse_never_raises_and_is_consistent(raw: str | bytes) -> None:
    result = parse(raw)
    assert isinstance(result, ScanResult)
    assert (result.error is None) or (result.key is None)
    if result.key is not None:
        assert result.key.startswith(("01/", "00/"))
    json.dumps(result.to_json())
    try:
        parse_or_raise(raw)
    except ScanParseError as exc:
        assert exc.reason == result.error
