"""ISO/IEC 15424 symbology identifiers of GS1 data carriers and EAN/UPC add-ons.

Expected answers: GS1 General Specifications §5.1.2 (figure 5.1.2-2, symbology
identifiers), ISO/IEC 15420 (EAN/UPC add-ons, ]E3 packets), and the GS1 example
GTIN 09506000134352.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.ids import gs1_check_digit
from scanners.commands import parse_command
from scanners.parse import parse

KEY = "01/09506000134352/21/S1"
ELEMENT = "010950600013435221S1"

# Every identifier that carries GS1 element strings, with the name it is shown as.
GS1_MESSAGE_IDS = {
    "]C1": "GS1-128",
    "]e0": "GS1 DataBar",
    "]e1": "GS1 Composite",
    "]e2": "GS1 Composite",
    "]d2": "GS1 DataMatrix",
    "]Q3": "GS1 QR",
    "]J1": "GS1 DotCode",
    "]z1": "GS1 Aztec",
}


def test_dotcode_case_from_the_issue() -> None:
    r = parse("]J1010950600013435221S1")
    assert (r.error, r.key, r.symbology, r.symbology_id) == (None, KEY, "GS1 DotCode", "]J1")


@pytest.mark.parametrize(("sid", "name"), sorted(GS1_MESSAGE_IDS.items()))
def test_every_gs1_message_identifier_gives_the_key(sid: str, name: str) -> None:
    r = parse(sid + ELEMENT)
    assert (r.error, r.key, r.symbology, r.symbology_id) == (None, KEY, name, sid)


@pytest.mark.parametrize(
    ("raw", "gtin", "name"),
    [
        ("]E09780735200449", "09780735200449", "EAN-13"),
        ("]E00614141000012", "00614141000012", "EAN-13"),  # UPC-A sent as 13 digits
        ("]E495060002", "00000095060002", "EAN-8"),
        ("]I109506000134352", "09506000134352", "ITF-14"),
    ],
)
def test_ean_upc_and_itf_identifiers_give_the_gtin(raw: str, gtin: str, name: str) -> None:
    r = parse(raw)
    assert (r.error, r.gtin, r.key, r.symbology, r.addon) == (None, gtin, None, name, None)


def test_e3_with_five_digit_add_on_from_the_issue() -> None:
    r = parse("]E3978073520044951299")
    assert (r.error, r.gtin, r.addon, r.symbology_id) == (None, "09780735200449", "51299", "]E3")
    assert r.ais == {"01": "09780735200449"}  # the add-on is no AI and not in the GTIN


@pytest.mark.parametrize(
    ("raw", "gtin", "addon"),
    [
        ("]E3978073520044912", "09780735200449", "12"),  # EAN-13 + 2
        ("]E3061414100001251299", "00614141000012", "51299"),  # UPC-A as 13 digits + 5
        ("]E361414100001212", "00614141000012", "12"),  # UPC-A as printed (12) + 2
        ("]E361414100001251299", "00614141000012", "51299"),  # UPC-A (12) + 5
        ("]E30123456512", "00012345000065", "12"),  # UPC-E 01234565 + 2 (]E3 has no EAN-8)
        ("]E30425261451299", "00042100005264", "51299"),  # UPC-E 04252614 + 5
        ("]E001234565]E112", "00012345000065", "12"),  # UPC-E, add-on in its own packet
        ("]E3 9780735200449 51299", "09780735200449", "51299"),  # separated by a space
        ("]E09780735200449]E251299", "09780735200449", "51299"),  # add-on in its own packet
        ("]E09780735200449]E112", "09780735200449", "12"),
    ],
)
def test_add_on_forms_are_split_off(raw: str, gtin: str, addon: str) -> None:
    r = parse(raw)
    assert (r.error, r.gtin, r.addon) == (None, gtin, addon)


# UPC-E to UPC-A, written out from GS1 General Specifications §5.2.2.4.2 (figure
# 5.2.2.4.2-1), independently of biip: the last of the six digits says where the
# manufacturer code ends and how many zeros stand between it and the item.
def _upc_a_of_upc_e(number_system: int, six: str) -> str:
    d = six
    if d[5] in "012":
        body = d[0:2] + d[5] + "0000" + d[2:5]
    elif d[5] == "3":
        body = d[0:3] + "00000" + d[3:5]
    elif d[5] == "4":
        body = d[0:4] + "00000" + d[4]
    else:
        body = d[0:5] + "0000" + d[5]
    base = f"{number_system}{body}"
    return base + str(gs1_check_digit(base))


@pytest.mark.parametrize(
    ("raw", "gtin"),
    [
        ("]E001234565", "00012345000065"),  # the issue's example: UPC-A 012345000065
        ("]E004252614", "00042100005264"),  # UPC-A 042100005264
        ("]E3 01234565 12", "00012345000065"),
    ],
)
def test_eight_digits_under_e0_or_e3_are_upc_e(raw: str, gtin: str) -> None:
    r = parse(raw)
    assert (r.error, r.gtin, r.symbology) == (None, gtin, "UPC-E")


@settings(max_examples=150, deadline=None)
@given(
    ns=st.sampled_from([0, 1]),
    six=st.from_regex(r"\A[0-9]{6}\Z"),
    sid=st.sampled_from(["]E0", "]E3"]),
)
def test_every_upc_e_expands_to_its_upc_a(ns: int, six: str, sid: str) -> None:
    upc_a = _upc_a_of_upc_e(ns, six)
    upc_e = f"{ns}{six}{upc_a[-1]}"
    addon = "12" if sid == "]E3" else ""
    r = parse(sid + upc_e + addon)
    assert (r.error, r.gtin, r.addon) == (None, "00" + upc_a, addon or None)
    # a wrong check digit is refused, naming UPC-E
    wrong = parse(sid + upc_e[:-1] + str((int(upc_e[-1]) + 1) % 10) + addon)
    assert wrong.error is not None and "UPC-E" in wrong.error


def test_e4_is_ean_8_alone() -> None:
    r = parse("]E401234565")
    assert (r.error, r.gtin, r.symbology) == (None, "00000001234565", "EAN-8")
    assert "no add-on" in (parse("]E495060002]E112").error or "")
    assert "8 digits" in (parse("]E49780735200449").error or "")


def test_plain_eight_digits_stay_a_gtin_8() -> None:
    r = parse("01234565")
    assert (r.error, r.gtin, r.symbology) == (None, "00000001234565", "EAN-8")


def test_upc_e_number_system_is_0_or_1() -> None:
    assert "number system" in (parse("]E095060002").error or "")
    assert "number system" in (parse("]E39506000212").error or "")


def test_add_on_is_in_the_scan_parse_json() -> None:
    code, out = parse_command("]E3978073520044951299")
    assert code == 0
    assert (out["gtin"], out["addon"]) == ("09780735200449", "51299")
    assert parse_command("]E09780735200449")[1]["addon"] is None


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("]E3978073520044851299", "check digit"),  # main symbol's check digit is wrong
        ("]E39780735200449512", "]E3 data"),  # 16 digits: no main + add-on split
        ("]E09780735200449]E25129", "]E2 add-on must be 5 digits"),
        ("]E09780735200449]E1123", "]E1 add-on must be 2 digits"),
        ("]E251299", "add-on alone"),
        ("]E112", "add-on alone"),
    ],
)
def test_bad_add_on_packets_are_refused_with_the_reason(raw: str, words: str) -> None:
    r = parse(raw)
    assert r.error is not None and words in r.error
    assert r.key is None


def test_add_on_alone_keeps_what_was_read() -> None:
    assert parse("]E251299").addon == "51299"


@pytest.mark.parametrize("sid", ["]W1", "]J9", "]%1"])
def test_unknown_identifier_is_named(sid: str) -> None:
    r = parse(sid + ELEMENT)
    assert r.error is not None and r.error.startswith(f"unknown symbology identifier {sid!r}")


def test_identifier_without_modifier_is_named() -> None:
    r = parse("]C")
    assert r.error is not None and "']C'" in r.error


_SERIALS = st.text(
    alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-./",
    min_size=1,
    max_size=20,
)


@settings(max_examples=50, deadline=None)
@given(serial=_SERIALS, sid=st.sampled_from(sorted(GS1_MESSAGE_IDS)))
def test_prefix_never_changes_the_key(serial: str, sid: str) -> None:
    element = f"0109506000134352\x1d10LOT1\x1d21{serial}"
    plain = parse(element)
    assert plain.error is None
    assert plain.key == f"01/09506000134352/21/{serial}"
    prefixed = parse(sid + element)
    assert (prefixed.error, prefixed.key, prefixed.ais) == (None, plain.key, plain.ais)
