"""Value rules of GS1 AIs (dates, times, country codes, IBAN, ...) in every input form.

Expected answers: the linters of the GS1 Barcode Syntax Dictionary (yymmd0,
yymmdd, hhmm, iso3166, iban, latitude, winding ...), ISO 3166-1, ISO 13616. Each
case is checked as an element string, as bracketed HRI and as a GS1 Digital Link
(query attribute, or path qualifier where the AI is one), and a property test
asserts that the element-string and Digital Link forms never disagree.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanners.ai_rules import LINTED_AIS, ai_value_error
from scanners.parse import parse

GTIN = "09506000134352"


def _forms(ai: str, value: str) -> dict[str, str]:
    return {
        "element_string": f"01{GTIN}{ai}{value}\x1d",
        "hri": f"(01){GTIN}({ai}){value}",
        "digital_link": f"https://id.gs1.org/01/{GTIN}?{ai}={quote(value, safe='')}",
    }


def _names(error: str | None, ai: str) -> bool:
    return error is not None and re.search(rf"(?<![0-9]){ai}(?![0-9])", error) is not None


REFUSED = [
    # (AI, value, words of the rule)
    ("17", "270230", "day 30"),  # 30 February
    ("11", "270001", "month 00"),
    ("15", "270229", "day 29"),  # 2027 is no leap year
    ("7003", "2712312599", "hour 25"),
    ("7003", "2712312360", "minute 60"),
    ("7003", "2712002359", "day 00"),  # yymmdd: no "end of month" day
    ("4324", "2712312599", "hour 25"),
    ("4325", "2712310060", "minute 60"),
    ("4326", "270100", "day 00"),
    ("7006", "270431", "day 31"),
    ("7007", "271231270230", "day 30"),  # the second date of a harvest range
    ("7011", "2712312460", "hour 24"),
    ("8008", "2700012300", "month 00"),
    ("422", "999", "ISO 3166-1"),
    ("421", "999ABC", "ISO 3166-1"),
    ("423", "276999", "ISO 3166-1"),
    ("424", "000", "ISO 3166-1"),
    ("425", "276999", "code 2 of the list"),
    ("426", "999", "ISO 3166-1"),
    ("7030", "998ABC", "nor 999"),
    ("3910", "123100", "ISO 4217"),
    ("3931", "000100", "ISO 4217"),
    ("4309", "18000000013600000000", "latitude"),
    ("4309", "18000000003600000001", "longitude"),
    ("8001", "12341234512352", "winding"),
    ("8001", "00001234512312", "zero"),
    ("8026", f"{GTIN}0302", "piece 03 of total 02"),
    ("8006", f"{GTIN}0000", "piece 00"),
    ("8007", "DE00370400440532013000", "IBAN"),
    ("8007", "DE88370400440532013000", "check digits"),
    ("8007", "QQ89370400440532013000", "alpha-2"),
    ("8011", "0123", "zero"),
    ("7241", "50", "media type"),
    ("4302", "MAIN%2", "percent"),
]


@pytest.mark.parametrize(("ai", "value", "words"), REFUSED)
@pytest.mark.parametrize("form", ["element_string", "hri", "digital_link"])
def test_value_rule_refuses_in_every_form(ai: str, value: str, words: str, form: str) -> None:
    r = parse(_forms(ai, value)[form])
    assert r.error is not None, f"{form} {ai} {value} accepted"
    assert f"AI {ai} (" in r.error and words in r.error, r.error


ACCEPTED = [
    ("17", "270200"),  # day 00: end of month (yymmd0)
    ("17", "280229"),  # 2028 is a leap year
    ("7003", "2712312359"),
    ("4324", "2712310000"),
    ("7007", "271201271231"),  # a harvest range (biip read its second date as a time)
    ("7007", "271231"),
    ("7011", "271231"),
    ("7011", "2712312359"),
    ("8008", "27123123"),
    ("8008", "2712312359"),
    ("8008", "271231235959"),
    ("422", "276"),
    ("423", "276040"),
    ("7030", "999ABC"),
    ("3910", "978100"),
    ("4309", "18000000003600000000"),
    ("4309", "00000000000000000000"),
    ("8001", "12341234512392"),
    ("8026", f"{GTIN}0202"),
    ("8007", "DE89370400440532013000"),
    ("8007", "GB82WEST12345698765432"),
    ("8011", "0"),
    ("8011", "123"),
    ("7241", "80"),
    ("4302", "MAIN%20STREET"),
]


@pytest.mark.parametrize(("ai", "value"), ACCEPTED)
@pytest.mark.parametrize("form", ["element_string", "hri", "digital_link"])
def test_valid_values_pass_in_every_form(ai: str, value: str, form: str) -> None:
    r = parse(_forms(ai, value)[form])
    assert r.error is None, r.error
    assert r.ais[ai] == value


@pytest.mark.parametrize(
    ("uri", "text", "ai"),
    [
        # path qualifiers meet the same rules as the element string's values
        (
            "https://id.gs1.org/417/9506000134369/7040/1AB!",
            "(417)9506000134369(7040)1AB!",
            "7040",
        ),
        ("https://id.gs1.org/8010/ABC12/8011/0123", "(8010)ABC12(8011)0123", "8011"),
        (
            f"https://id.gs1.org/01/{GTIN}/10/ABCDEFGHIJKLMNOPQRSTU",
            f"(01){GTIN}(10)ABCDEFGHIJKLMNOPQRSTU",
            "10",
        ),
        (f"https://id.gs1.org/01/{GTIN}/21/A%23B", f"(01){GTIN}(21)A#B", "21"),  # not set 82
        (f"https://id.gs1.org/01/{GTIN}/22/%C3%A9", f"(01){GTIN}(22)é", "22"),
    ],
)
def test_path_values_are_checked_like_element_strings(uri: str, text: str, ai: str) -> None:
    link, element = parse(uri), parse(text)
    assert _names(link.error, ai), link.error
    assert _names(element.error, ai), element.error


def test_error_names_ai_title_and_rule() -> None:
    assert ai_value_error("422", "999") == (
        "AI 422 (ORIGIN) country 999 is not an ISO 3166-1 numeric country code"
    )
    assert ai_value_error("8001", "12341234512352") == (
        "AI 8001 (DIMENSIONS) winding direction '5' is not one of 0, 1, 9"
    )
    assert ai_value_error("8007", "DE00370400440532013000") == (
        "AI 8007 (IBAN) IBAN DE00370400440532013000 check digits 00 are wrong (ISO 13616 "
        "mod 97); expected 89"
    )


def test_element_string_reads_a_harvest_range() -> None:
    r = parse(f"01{GTIN}7007271201271231")
    assert (r.error, r.ais.get("7007")) == (None, "271201271231")


# Values shaped like each linted AI's format, valid or not, for the property test.
def _d(n: int) -> st.SearchStrategy[str]:
    return st.from_regex(rf"\A[0-9]{{{n}}}\Z")


def _two(top: int) -> st.SearchStrategy[str]:
    return st.integers(0, top).map(lambda n: f"{n:02d}")


_DATE = st.tuples(_two(99), _two(13), _two(32)).map("".join)
_TIME = st.tuples(_two(25), _two(61)).map("".join)
_SHAPES: dict[str, st.SearchStrategy[str]] = {
    **{ai: _DATE for ai in ("11", "13", "15", "16", "17", "4326", "7006")},
    **{ai: st.tuples(_DATE, _TIME).map("".join) for ai in ("4324", "4325", "7003")},
    "7007": st.tuples(_DATE, st.sampled_from(["", "271231", "270230", "271200"])).map("".join),
    "7011": st.tuples(_DATE, st.sampled_from(["", "2359", "2400", "1260"])).map("".join),
    "8008": st.tuples(_DATE, _two(25), st.sampled_from(["", "59", "60", "5959", "5960"])).map(
        "".join
    ),
    **{ai: st.sampled_from(["276", "999", "000", "840", "004", "156"]) for ai in ("422", "424")},
    "423": st.lists(st.sampled_from(["276", "999", "840"]), min_size=1, max_size=5).map("".join),
    "7030": st.tuples(st.sampled_from(["276", "999", "998"]), st.just("AB")).map("".join),
    "3910": st.tuples(st.sampled_from(["978", "840", "999", "000"]), _d(3)).map("".join),
    "4309": st.tuples(
        st.sampled_from(["0000000000", "1800000000", "1800000001", "0900000000"]),
        st.sampled_from(["0000000000", "3600000000", "3600000001"]),
    ).map("".join),
    "8001": st.tuples(
        st.sampled_from(["0000", "1234"]), _d(5), _d(3), st.sampled_from("0159"), _d(1)
    ).map("".join),
    "8026": st.tuples(st.just(GTIN), _two(3), _two(3)).map("".join),
    "8007": st.one_of(
        st.sampled_from(["DE89370400440532013000", "GB82WEST12345698765432", "QQ89370400"]),
        st.from_regex(r"\A[A-Z]{2}[0-9]{2}[A-Z0-9]{1,10}\Z"),
    ),
    "8011": st.from_regex(r"\A[0-9]{1,6}\Z"),
    "7241": _two(99),
    "4302": st.from_regex(r"\A[A-Z]{1,4}(%[0-9A-G]{0,2})?[A-Z]{0,2}\Z"),
}


@settings(max_examples=200, deadline=None)
@given(data=st.data(), ai=st.sampled_from(sorted(_SHAPES)))
def test_digital_link_and_element_string_agree(data: st.DataObject, ai: str) -> None:
    value = data.draw(_SHAPES[ai])
    forms = _forms(ai, value)
    results = {name: parse(text) for name, text in forms.items()}
    verdicts = {name: r.error is None for name, r in results.items()}
    assert len(set(verdicts.values())) == 1, {n: r.error for n, r in results.items()}
    # HRI and Digital Link errors name the AI; an unbracketed element string can
    # only say where reading failed (a too long value reads as a next AI).
    for name in ("hri", "digital_link"):
        error = results[name].error
        assert error is None or _names(error, ai), error
    if results["element_string"].error is None:
        assert all(r.ais == results["element_string"].ais for r in results.values())


# One refused value for every linted AI that REFUSED does not cover.
_MORE_REFUSED = {
    "12": "271232",
    "13": "270631",
    "16": "270931",
    **{f"391{n}": "000100" for n in range(10)},
    **{f"393{n}": "123100" for n in range(10)},
    **{ai: "A%G" for ai in ("4300", "4301", "4303", "4304", "4305", "4306")},
    **{ai: "A%" for ai in ("4310", "4311", "4312", "4313", "4314", "4315", "4316", "4320")},
    "4307": "QQ",
    "4317": "QQ",
    **{ai: "2" for ai in ("4321", "4322", "4323")},
    **{ai: "001234+" for ai in ("4330", "4331", "4332", "4333")},
    **{f"703{n}": "998A" for n in range(10)},
    "7040": "1AB!",
    "8003": f"1{GTIN[1:]}",
}


def test_every_linted_ai_refuses_a_value() -> None:
    covered = {ai for ai, _, _ in REFUSED} | set(_MORE_REFUSED)
    assert covered >= LINTED_AIS, sorted(LINTED_AIS - covered)
    for ai, value in _MORE_REFUSED.items():
        why = ai_value_error(ai, value)
        assert why is not None and why.startswith(f"AI {ai} ("), (ai, why)


@pytest.mark.parametrize(
    ("ai", "value", "fmt"),
    [("11", "271300", "N6"), ("11", "2713", "N6"), ("17", "27A231", "N6"), ("3103", "12345", "N6")],
)
def test_a_value_of_the_wrong_format_reads_the_same_in_words_in_every_form(
    ai: str, value: str, fmt: str
) -> None:
    """Never biip's regular expression: each form names the AI, its title and format."""
    forms = [
        f"(01)09506000134352(21)S1({ai}){value}",
        f"0109506000134352{ai}{value}\x1d21S1",
        f"https://id.gs1.org/01/09506000134352/21/S1?{ai}={value}",
    ]
    for text in forms:
        error = parse(text).error
        assert error is not None, text
        assert "pattern" not in error and "^" not in error, error
        assert f"AI {ai} (" in error, error
    assert any(f"format {fmt}" in (parse(t).error or "") for t in forms)
