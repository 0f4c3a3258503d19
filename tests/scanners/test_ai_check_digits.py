"""Every AI with a GS1 check digit has it checked, with the AI and its title named.

Expected answers: GS1 General Specifications §7.9.1 (mod-10 check digit) applied
to the GS1 example GTIN 09506000134352 (its check digit, 2, stays right when the
number is left-padded with zeros to 13, 17 or 18 digits), and the GMN example of
§7.9.5 (``1987654Ad4X4bL5ttr2310c2K``).
"""

from __future__ import annotations

import pytest

from scanners.parse import CHECK_DIGIT_SPANS, check_digit_error, parse

GOOD = {
    13: "9506000134352",
    14: "09506000134352",
    17: "00009506000134352",
    18: "000009506000134352",
}

# AI -> (title, a valid value); _broken() puts check digit 7 in place of its 2
CASES = {
    "02": ("CONTENT", GOOD[14]),
    "03": ("MTO GTIN", GOOD[14]),
    "253": ("GDTI", GOOD[13] + "DOC-1"),
    "255": ("GCN", GOOD[13] + "42"),
    "402": ("GSIN", GOOD[17]),
    "410": ("SHIP TO LOC", GOOD[13]),
    "411": ("BILL TO", GOOD[13]),
    "412": ("PURCHASE FROM", GOOD[13]),
    "413": ("SHIP FOR LOC", GOOD[13]),
    "414": ("LOC No.", GOOD[13]),
    "415": ("PAY TO", GOOD[13]),
    "416": ("PROD/SERV LOC", GOOD[13]),
    "417": ("PARTY", GOOD[13]),
    "8003": ("GRAI", "0" + GOOD[13] + "A-17"),
    "8006": ("ITIP", GOOD[14] + "0102"),
    "8017": ("GSRN - PROVIDER", GOOD[18]),
    "8018": ("GSRN - RECIPIENT", GOOD[18]),
    "8026": ("ITIP CONTENT", GOOD[14] + "0102"),
}


def _broken(ai: str, value: str) -> str:
    end = CHECK_DIGIT_SPANS[ai][1]
    assert value[end - 1] == "2"
    return value[: end - 1] + "7" + value[end:]


def test_table_covers_every_ai_the_issue_names() -> None:
    assert set(CASES) | {"00", "01"} == set(CHECK_DIGIT_SPANS)


def test_issue_example_414() -> None:
    assert check_digit_error("414", "9506000134357") == (
        "AI 414 (LOC No.) check digit 7 is wrong; expected 2"
    )


@pytest.mark.parametrize("ai", sorted(CASES))
def test_valid_check_digit_parses(ai: str) -> None:
    value = CASES[ai][1]
    assert check_digit_error(ai, value) is None
    r = parse(f"({ai}){value}")
    assert r.error is None, r.error
    assert r.ais[ai] == value


@pytest.mark.parametrize("ai", sorted(CASES))
def test_wrong_check_digit_is_refused_naming_the_ai(ai: str) -> None:
    title, value = CASES[ai]
    bad = _broken(ai, value)
    expected = f"AI {ai} ({title}) check digit 7 is wrong; expected 2"
    assert check_digit_error(ai, bad) == expected
    for raw in (f"({ai}){bad}", f"]d2{ai}{bad}", f"]J1{ai}{bad}"):
        r = parse(raw)
        assert (r.error, r.key) == (expected, None)


def test_wrong_check_digit_after_a_valid_key_is_refused() -> None:
    r = parse("(01)09506000134352(21)S1(414)9506000134357")
    assert r.error == "AI 414 (LOC No.) check digit 7 is wrong; expected 2"
    assert r.key is None


def test_digital_link_attribute_is_checked() -> None:
    r = parse("https://id.gs1.org/01/09506000134352/21/S1?8018=000009506000134357")
    assert r.error == (
        "not a valid GS1 Digital Link URI: query parameter 8018: "
        "AI 8018 (GSRN - RECIPIENT) check digit 7 is wrong; expected 2"
    )


def test_gmn_check_character_pair() -> None:
    assert parse("(8013)1987654Ad4X4bL5ttr2310c2K").error is None
    r = parse("(8013)1987654Ad4X4bL5ttr2310c2L")
    assert r.error == "AI 8013 (GMN) check character pair 2L is wrong; expected 2K"


def test_ais_without_check_digit_are_left_alone() -> None:
    assert check_digit_error("401", "95060001GINC1") is None  # GINC has none
    assert check_digit_error("21", "9506000134357") is None
    assert parse("(401)95060001GINC1").error is None
