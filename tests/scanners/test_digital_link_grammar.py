"""GS1 Digital Link URIs follow the grammar of GS1 Digital Link URI Syntax 1.2:
primary key, its qualifiers in the standard's order, data attributes in the query
(issue 10 item 3)."""

from __future__ import annotations

import itertools
import string
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.ids import gs1_check_digit, sscc_key, unit_key
from scanners import parse
from scanners.digital_link import DigitalLinkError, parse_digital_link
from scanners.parse import _parse

GS = "\x1d"
GTIN = "09506000134352"
SSCC = "106141411234567897"


def _with_check(body: str) -> str:
    return body + str(gs1_check_digit(body))


GLN = _with_check("950600013435")  # 13 digits
GSRN = _with_check("95060001343500000")  # 18 digits
ITIP = _with_check("0950600013435") + "0102"  # 14 digits, piece 01 of 02


# --- the case -------------------------------------------------------------------


def test_a_qualifier_before_its_key_is_refused() -> None:
    uri = "https://id.gs1.org/21/XYZ789/01/09506000134352"
    with pytest.raises(DigitalLinkError) as info:
        parse_digital_link(uri)
    assert info.value.component == "path segment 1 '21'"
    assert "AI 21 (SERIAL) is a key qualifier of AI 01 (GTIN)" in info.value.reason
    assert "never come before it" in info.value.reason
    result = parse(uri)
    assert result.key is None and result.ais == {}
    assert result.error is not None and "path segment 1 '21'" in result.error


# --- accepted forms ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "key", "ais"),
    [
        (
            f"https://id.gs1.org/01/{GTIN}/22/2A/10/ABC123/21/XYZ789",
            f"01/{GTIN}/21/XYZ789",
            {"01": GTIN, "22": "2A", "10": "ABC123", "21": "XYZ789"},
        ),
        (
            f"https://example.com/some/path/info/01/{GTIN}/10/L1/21/S1"
            "?17=271231&3103=000195&linkType=gs1:certificationInfo",
            f"01/{GTIN}/21/S1",
            {"01": GTIN, "10": "L1", "21": "S1", "17": "271231", "3103": "000195"},
        ),
        (f"https://id.gs1.org/01/{GTIN}/10/L1", None, {"01": GTIN, "10": "L1"}),
        (f"https://id.gs1.org/01/{GTIN}/22/V/21/S", f"01/{GTIN}/21/S", None),
        (f"https://x.example/01/{GTIN[1:]}/21/S", f"01/{GTIN}/21/S", None),  # GTIN-13
        (f"https://x.example/01/{GTIN}/21/A%2FB%21", f"01/{GTIN}/21/A/B!", None),
        (f"https://x.example/01/{GTIN}/21/S?linkType=all&context=x#frag", f"01/{GTIN}/21/S", None),
        (f"https://x.example/01/{GTIN}/21/S?17=271231;10x=y", f"01/{GTIN}/21/S", None),
        (f"https://id.gs1.org/01/{GTIN}/235/TPX1", None, {"01": GTIN, "235": "TPX1"}),
        (f"https://id.gs1.org/00/{SSCC}", f"00/{SSCC}", {"00": SSCC}),
        (f"https://id.gs1.org/00/{SSCC}?3300=001250&403=ROUTE9", f"00/{SSCC}", None),
        (f"http://192.0.2.1:8080/00/{SSCC}", f"00/{SSCC}", None),
        (f"https://[2001:db8::1]/2024/00/{SSCC}", f"00/{SSCC}", None),  # not an AI: stem
        (f"https://id.gs1.org/414/{GLN}/254/32a%2Fb", None, {"414": GLN, "254": "32a/b"}),
        (f"https://id.gs1.org/8018/{GSRN}/8019/123", None, {"8018": GSRN, "8019": "123"}),
        (f"https://id.gs1.org/8006/{ITIP}/22/V/10/L", None, {"8006": ITIP, "22": "V", "10": "L"}),
        # another identification key is a data attribute (ABNF gsrnParameter ...)
        (f"https://id.gs1.org/01/{GTIN}/21/S?8018={GSRN}", f"01/{GTIN}/21/S", None),
    ],
)
def test_accepted_forms(uri: str, key: str | None, ais: dict[str, str] | None) -> None:
    result = parse(uri)
    assert result.error is None, result.error
    assert result.key == key
    assert result.data_format == "digital_link"
    if ais is not None:
        assert result.ais == ais


def test_an_itip_takes_the_gtin_qualifiers() -> None:
    link = parse_digital_link(f"https://id.gs1.org/8006/{ITIP}/22/V/10/L/21/S")
    assert link.primary_key == "8006"
    assert link.path_ais == (("8006", ITIP), ("22", "V"), ("10", "L"), ("21", "S"))
    # the ledger keys units by GTIN + serial only, so parse() names no unit here
    assert parse(link.uri).error == "serial (21) 'S' without a GTIN (01)"


def test_the_parsed_link_keeps_stem_key_attributes_and_other_params() -> None:
    link = parse_digital_link(
        f"HTTPS://brand.example:443/p/x/01/{GTIN}/21/S%2F1?17=271231&linkType=gs1%3Apip&flag"
    )
    assert (link.scheme, link.host, link.stem, link.primary_key) == (
        "https",
        "brand.example:443",
        "/p/x",
        "01",
    )
    assert link.path_ais == (("01", GTIN), ("21", "S/1"))
    assert link.attributes == (("17", "271231"),)
    assert link.other_params == (("linkType", "gs1:pip"), ("flag", ""))
    assert link.ais == {"01": GTIN, "21": "S/1", "17": "271231"}


# --- refusals: each names the part at fault ---------------------------------------------

U = f"https://id.gs1.org/01/{GTIN}"


@pytest.mark.parametrize(
    ("uri", "component", "reason"),
    [
        # order and membership of key qualifiers
        (f"{U}/21/S/10/L", "path segment 5 '10'", "may not follow AI 21 (SERIAL)"),
        (f"{U}/10/L/22/V", "path segment 5 '22'", "order 22, 10, 21 or 235"),
        (f"{U}/21/S/235/T", "path segment 5 '235'", "may not follow AI 21"),
        (f"{U}/21/A/21/B", "path segment 5 '21'", "AI 21 (SERIAL) is repeated"),
        (f"{U}/254/X", "path segment 3 '254'", "qualifies AI 414 (LOC No.), not"),
        (f"{U}/8019/1", "path segment 3 '8019'", "qualifies AI 8017"),
        (f"https://x.example/00/{SSCC}/21/S", "path segment 3 '21'", "(it has none)"),
        (f"{U}/00/{SSCC}", "path segment 3 '00'", "a second primary key AI 00 (SSCC)"),
        (f"https://x.example/10/L/01/{GTIN}", "path segment 1 '10'", "never come before it"),
        # data attributes belong in the query
        (f"{U}/17/271231", "path segment 3 '17'", "data attribute, not a key qualifier"),
        (f"https://x.example/17/271231/01/{GTIN}", "path segment 1 '17'", "?17="),
        (f"{U}/x/y", "path segment 3 'x'", "is not a GS1 Application Identifier"),
        # the query
        (f"{U}?21=S", "query parameter 21", "belongs in the path after the key"),
        (f"{U}/21/S?10=L", "query parameter 10", "belongs in the path"),
        (f"{U}/21/S?01={GTIN}", "query parameter 01", "is this URI's primary key"),
        (f"{U}/21/S?21=T", "query parameter 21", "is repeated"),
        (f"{U}/21/S?17=271231&17=271231", "query parameter 17", "is repeated"),
        (f"{U}/21/S?123=4", "query parameter 123", "is not a GS1 Application Identifier"),
        (f"{U}/21/S?1=4", "query parameter 1", "is not a GS1 Application Identifier"),
        (f"{U}/21/S?17=2712", "query parameter 17", "format N6"),
        (f"{U}/21/S?17=", "query parameter 17", "has no value"),
        (f"{U}/21/S?3103", "query parameter 3103", "has no value"),
        (
            f"{U}/21/S?414={GLN[:-1]}{(int(GLN[-1]) + 1) % 10}",
            "query parameter 414",
            "AI 414 (LOC No.) check digit",
        ),
        # values, percent-encoding and segments
        (f"{U}/21/A%G1", "path segment 4 (value of AI 21)", "bad percent-encoding '%G1'"),
        (f"{U}/21/A%2", "path segment 4 (value of AI 21)", "bad percent-encoding"),
        (f"{U}/21/S?17=27%1", "query parameter 17", "bad percent-encoding"),
        (f"{U}/21/%FF", "path segment 4 (value of AI 21)", "not UTF-8"),
        (f"{U}/21/{'S' * 21}", "path segment 4 (value of AI 21)", "format X..20"),
        (f"{U}/21/A%7FB", "path segment 4 (value of AI 21)", "format X..20"),
        (f"{U[:-1]}3/21/S", "path segment 2 (value of AI 01)", "check digit 3, expected 2"),
        ("https://x.example/01//21/S", "path segment 2", "empty segment"),
        (f"{U}/21/S/", "path segment 5", "empty segment"),
        (f"{U}/21", "path segment 3 '21'", "has no value after it"),
        # stem, host, scheme, characters
        (f"https://x.example/gtin/{GTIN}", "path segment 1 'gtin'", "write /01/ instead"),
        (f"{U}/ser/S", "path segment 3 'ser'", "deprecated by GS1 Digital Link URI Syntax 1.2"),
        ("https://example.com/about", "path", "primary identifier"),
        (f"https://user@x.example/01/{GTIN}", "host", "is not a domain name"),
        (f"https://x_y.example/01/{GTIN}", "host", "is not a domain name"),
        (f"https:///01/{GTIN}", "host", "is missing"),
        (f"ftp://x.example/01/{GTIN}", "scheme", "http:// or https://"),
        (f"{U}/21/A B", "URI", "character ' ' at position"),
        (f"{U}/21/Aé", "URI", "percent-encode it"),
    ],
)
def test_each_refusal_names_the_part_at_fault(uri: str, component: str, reason: str) -> None:
    with pytest.raises(DigitalLinkError) as info:
        parse_digital_link(uri)
    assert info.value.component == component
    assert reason in info.value.reason
    assert str(info.value) == f"{component}: {info.value.reason}"
    if uri.startswith("https://"):
        result = parse(uri)
        assert result.key is None
        assert result.error == f"not a valid GS1 Digital Link URI: {info.value}"


# --- properties -------------------------------------------------------------------------

CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
HRI_SAFE = CSET82.replace("(", "").replace(")", "")


@st.composite
def gtins(draw: st.DrawFn) -> str:
    return _with_check(draw(st.text(string.digits, min_size=13, max_size=13)))


@st.composite
def ssccs(draw: st.DrawFn) -> str:
    return _with_check(draw(st.text(string.digits, min_size=17, max_size=17)))


@st.composite
def dates(draw: st.DrawFn) -> str:
    yy, mm, dd = draw(st.integers(0, 99)), draw(st.integers(1, 12)), draw(st.integers(1, 28))
    return f"{yy:02d}{mm:02d}{dd:02d}"


values = st.text(HRI_SAFE, min_size=1, max_size=20)


def q(value: str) -> str:
    """Percent-encode every character of a path or query value but the unreserved."""
    return quote(value, safe="")


@settings(max_examples=150, deadline=None)
@given(gtin=gtins(), serial=values, lot=values, expiry=dates(), host=st.sampled_from(
    ["https://id.gs1.org", "https://brand.example/some/stem", "http://example.com:8080"]
))  # fmt: skip
def test_digital_link_and_element_strings_give_the_same_key_and_ais(
    gtin: str, serial: str, lot: str, expiry: str, host: str
) -> None:
    forms = [
        f"{host}/01/{gtin}/10/{q(lot)}/21/{q(serial)}?17={expiry}",
        f"]Q1{host}/01/{gtin}/10/{q(lot)}/21/{q(serial)}?linkType=all&17={expiry}",
        f"]d201{gtin}17{expiry}10{lot}{GS}21{serial}",
        f"01{gtin}21{serial}{GS}10{lot}{GS}17{expiry}",
        f"(01){gtin}(17){expiry}(10){lot}(21){serial}",
    ]
    results = [parse(form) for form in forms]
    for form, result in zip(forms, results, strict=True):
        assert result.error is None, (form, result.error)
        assert result.key == unit_key(gtin, serial), form
        assert result.ais == {"01": gtin, "10": lot, "21": serial, "17": expiry}, form


@settings(max_examples=100, deadline=None)
@given(sscc=ssccs(), weight=st.text(string.digits, min_size=6, max_size=6))
def test_an_sscc_digital_link_and_element_string_agree(sscc: str, weight: str) -> None:
    forms = [
        f"https://id.example/00/{sscc}?3300={weight}",
        f"00{sscc}3300{weight}",
        f"(00){sscc}(3300){weight}",
    ]
    for form in forms:
        result = parse(form)
        assert result.error is None, (form, result.error)
        assert (result.key, result.ais) == (sscc_key(sscc), {"00": sscc, "3300": weight})


_QUALIFIERS = {"22": "V1", "10": "L1", "21": "S1"}
_ORDERS = [
    order
    for n in (2, 3)
    for chosen in itertools.combinations(("22", "10", "21"), n)
    for order in itertools.permutations(chosen)
]


@pytest.mark.parametrize("order", _ORDERS, ids="/".join)
def test_only_the_standard_qualifier_order_is_accepted(order: tuple[str, ...]) -> None:
    uri = U + "".join(f"/{ai}/{_QUALIFIERS[ai]}" for ai in order)
    standard = tuple(ai for ai in ("22", "10", "21") if ai in order)
    result = parse(uri)
    if order == standard:
        assert result.error is None, result.error
        assert result.ais == {"01": GTIN} | {ai: _QUALIFIERS[ai] for ai in order}
    else:
        assert result.key is None
        assert result.error is not None and "may not follow" in result.error


@settings(max_examples=200, deadline=None)
@given(
    gtin=gtins(),
    serial=st.text(string.ascii_letters + string.digits, min_size=1, max_size=20),
    sscc=ssccs(),
    host=st.sampled_from(["https://id.gs1.org", "http://example.com:8080", "https://a.b"]),
    kind=st.sampled_from(["unit", "sscc"]),
    wrong=st.integers(0, 9),
)
def test_the_fast_path_and_the_full_grammar_agree(
    gtin: str, serial: str, sscc: str, host: str, kind: str, wrong: int
) -> None:
    if wrong == 1:  # now and then a wrong check digit
        gtin = gtin[:-1] + str((int(gtin[-1]) + 1) % 10)
        sscc = sscc[:-1] + str((int(sscc[-1]) + 1) % 10)
    uri = f"{host}/01/{gtin}/21/{serial}" if kind == "unit" else f"{host}/00/{sscc}"
    fast = parse(uri)
    assert fast == _parse(uri, None, fast=False)
    if fast.error is None:
        assert fast.ais == parse_digital_link(uri).ais
    else:
        with pytest.raises(DigitalLinkError):
            parse_digital_link(uri)
