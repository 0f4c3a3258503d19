"""hopchain as a GS1-Conformant Resolver (web.label.resolver, GS1-Conformant Resolver
Standard 1.2): each link type under each Accept header, the linkset and the
description file checked against the standard's JSON schemas, unknown and
malformed codes, GTIN-13 normalisation, SSCCs, and printed labels that resolve.

The world: MFR commissioned units S1, S2 and ``A/B`` (a ``/`` in a serial) of
GTIN 09506000134352 ("Green tea 250 g" in ``products``) and the pallet SSCC
106141411234567897.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from ledger import EntryKind, Hop, append_hops, unit_key
from ledger.ids import gs1_check_digit
from ledger.models import Unit
from scanners import ScanResult, decode_image, render_labels, sscc_labels, unit_labels
from settlement.models import Product
from tests.label._resolver_schemas import DESCRIPTION_SCHEMA, LINKSET_SCHEMA, validate
from web import create_app

GTIN = "09506000134352"
GTIN13 = GTIN[1:]
SSCC = "106141411234567897"
NAME = "Green tea 250 g"
MARCH = 1_772_323_200_000  # 2026-03-01T00:00:00Z

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
LINKSET = "application/linkset+json"
JSON = "application/json"
ANY = "*/*"

VOC = "https://ref.gs1.org/voc/"
VERIFY = f"/label/01/{GTIN}/21/S1"
PRODUCT_PAGE = f"/label/01/{GTIN}"
TRACE = f"/trace/?q=00/{SSCC}"


def _commission(engine: Engine, *keys: str) -> None:
    results = append_hops(
        engine, [Hop(key, EntryKind.COMMISSIONING, "MFR", MARCH + i) for i, key in enumerate(keys)]
    )
    assert all(r.status != "rejected" for r in results), results


@pytest.fixture
def world(engine: Engine, make_party: Callable[..., int]) -> None:
    make_party("MFR", kind="manufacturer")
    _commission(
        engine, unit_key(GTIN, "S1"), unit_key(GTIN, "S2"), unit_key(GTIN, "A/B"), f"00/{SSCC}"
    )
    with Session(engine) as session, session.begin():
        session.add(Product(gtin=GTIN, name=NAME))


def _get(client: FlaskClient, path: str, accept: str | None = None, **headers: str) -> TestResponse:
    if accept is not None:
        headers["Accept"] = accept
    return client.get(path, headers=headers)


def _location(response: TestResponse) -> str:
    """The redirect's target as path and query (the test client's host is localhost)."""
    parts = urlsplit(response.headers["Location"])
    assert parts.netloc == "localhost"
    return parts.path + (f"?{parts.query}" if parts.query else "")


# ----------------------------------------------------------------- link types x Accept

UNIT = f"/01/{GTIN}/21/S1"

# (linkType, the answer to a browser, to Accept: application/json): a path is a 307 to it
LINK_TYPES = [
    (None, VERIFY, "linkset"),
    ("gs1:defaultLink", VERIFY, VERIFY),
    ("gs1:verificationService", VERIFY, VERIFY),
    ("https://ref.gs1.org/voc/verificationService", VERIFY, VERIFY),
    ("gs1:pip", PRODUCT_PAGE, PRODUCT_PAGE),
    ("https://gs1.org/voc/pip", PRODUCT_PAGE, PRODUCT_PAGE),
    ("linkset", "page", "linkset"),
    ("all", "page", "linkset"),
    ("gs1:recallStatus", 404, 404),
    ("no such thing", 404, 404),
]


def _check_answer(
    response: TestResponse, expected: Any, accept: str | None, link_type: str | None
) -> None:
    """``expected``: "linkset" (200 JSON), "page" (200 HTML linkset), 404, or a path (307)."""
    if expected == "linkset":
        assert response.status_code == 200
        assert response.mimetype == (accept if accept in (JSON, LINKSET) else LINKSET)
        validate(LINKSET_SCHEMA, response.get_json(force=True))
        assert "json-ld#context" in response.headers["Link"]
    elif expected == "page":
        assert (response.status_code, response.mimetype) == (200, "text/html")
        page = response.get_data(as_text=True)
        assert "What this code links to" in page and f'href="http://localhost{VERIFY}"' in page
    elif expected == 404:
        assert response.status_code == 404
        assert response.headers["Cache-Control"] == "no-store"
        if accept == JSON:
            assert response.get_json()["linkType"] == link_type
        else:
            page = response.get_data(as_text=True)
            assert "This code has no link of type" in page
            assert f'href="http://localhost{PRODUCT_PAGE}"' in page  # what it does link to
    else:
        assert response.status_code == 307
        assert _location(response).split("?")[0] == expected


@pytest.mark.usefixtures("world")
@pytest.mark.parametrize("accept", [BROWSER, ANY, None, JSON, LINKSET])
def test_each_link_type_under_each_accept_header(client: FlaskClient, accept: str | None) -> None:
    for link_type, browser, as_json in LINK_TYPES:
        query = "" if link_type is None else "?linkType=" + quote(link_type, safe=":/")
        response = _get(client, UNIT + query, accept)
        expected = {JSON: as_json, LINKSET: "linkset"}.get(accept or "", browser)
        if expected == "page" and accept in (ANY, None):
            expected = "linkset"  # only a browser (text/html first) gets the linkset as a page
        try:
            _check_answer(response, expected, accept, link_type)
        except AssertionError as exc:
            raise AssertionError(f"linkType={link_type!r}, expected {expected!r}: {exc}") from exc


@pytest.mark.usefixtures("world")
def test_the_redirect_carries_the_linkset_in_its_link_header_and_passes_the_query_on(
    client: FlaskClient,
) -> None:
    response = _get(client, UNIT + "?lang=zh&context=retail&17=271231", BROWSER)
    assert response.status_code == 307
    # 2.12: the whole query string goes on (the page reads ?lang=)
    assert _location(response) == VERIFY + "?lang=zh&context=retail&17=271231"
    link = response.headers["Link"]
    assert f'<http://localhost{UNIT}?linkType=linkset>; rel="linkset"' in link
    assert f'<http://localhost{PRODUCT_PAGE}>; rel="https://ref.gs1.org/voc/pip"' in link
    assert 'rel="https://ref.gs1.org/voc/verificationService"' in link
    assert 'hreflang="zh"' in link
    assert response.headers["Cache-Control"].startswith("public")
    assert {"Accept", "Accept-Language"} <= set(response.vary)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Location" in response.headers["Access-Control-Expose-Headers"]
    assert "Set-Cookie" not in response.headers


@pytest.mark.usefixtures("world")
def test_the_units_linkset(client: FlaskClient) -> None:
    response = _get(client, UNIT + "?linkType=linkset", LINKSET, **{"Accept-Language": "es"})
    document = response.get_json(force=True)
    validate(LINKSET_SCHEMA, document)
    (context,) = document["linkset"]
    assert context["anchor"] == f"http://localhost{UNIT}"
    assert context["itemDescription"] == NAME
    voc = "https://ref.gs1.org/voc/"
    # 2.5.8: the default link has a title only; its target is also the verification service
    assert context[voc + "defaultLink"] == [
        {
            "href": f"http://localhost{VERIFY}",
            "title": context[voc + "verificationService"][0]["title"],
        }
    ]
    (verification,) = context[voc + "verificationService"]
    (pip,) = context[voc + "pip"]
    assert verification["href"] == f"http://localhost{VERIFY}"
    assert pip == {
        "href": f"http://localhost{PRODUCT_PAGE}",
        "title": pip["title"],
        "type": "text/html",
        "hreflang": ["en", "zh", "es"],
    }
    assert set(context) == {"anchor", "itemDescription", voc + "defaultLink"} | {
        voc + "verificationService",
        voc + "pip",
    }
    # JSON-LD: the same linkset with its context embedded
    as_ld = _get(client, UNIT, "application/ld+json").get_json(force=True)
    assert as_ld["@context"] == "https://ref.gs1.org/standards/resolver/linkset-context"
    assert as_ld["linkset"][0]["anchor"] == context["anchor"]


# ----------------------------------------------------------------- products and SSCCs


@pytest.mark.usefixtures("world")
def test_a_product_answers_with_its_page_and_has_no_verification_service(
    client: FlaskClient,
) -> None:
    assert _location(_get(client, f"/01/{GTIN}", BROWSER)) == PRODUCT_PAGE
    pip = _location(_get(client, f"/01/{GTIN}?linkType=gs1:pip"))
    assert pip == PRODUCT_PAGE + "?linkType=gs1:pip"  # the query string goes on (2.12)
    # a lot (a key qualifier other than the serial) walks up to the product (2.5.9)
    assert _location(_get(client, f"/01/{GTIN}/10/LOT42", BROWSER)) == PRODUCT_PAGE
    missing = _get(client, f"/01/{GTIN}?linkType=gs1:verificationService", BROWSER)
    assert missing.status_code == 404
    document = _get(client, f"/01/{GTIN}", LINKSET).get_json(force=True)
    validate(LINKSET_SCHEMA, document)
    (context,) = document["linkset"]
    assert context["anchor"] == f"http://localhost/01/{GTIN}"
    assert sorted(context) == sorted(
        ["anchor", "itemDescription", *[VOC + "defaultLink", VOC + "pip"]]
    )
    lot = _get(client, f"/01/{GTIN}/10/LOT42", LINKSET).get_json(force=True)
    assert lot["linkset"][0]["anchor"] == f"http://localhost/01/{GTIN}/10/LOT42"


@pytest.mark.usefixtures("world")
def test_an_sscc_answers_with_the_trace_page(client: FlaskClient) -> None:
    response = _get(client, f"/00/{SSCC}", BROWSER)
    assert (response.status_code, _location(response)) == (307, TRACE)
    traceability = _location(_get(client, f"/00/{SSCC}?linkType=gs1:traceability"))
    assert traceability == TRACE + "&linkType=gs1:traceability"
    assert _get(client, f"/00/{SSCC}?linkType=gs1:pip").status_code == 404
    document = _get(client, f"/00/{SSCC}", JSON).get_json()
    validate(LINKSET_SCHEMA, document)
    (context,) = document["linkset"]
    assert context["anchor"] == f"http://localhost/00/{SSCC}"
    assert context["https://ref.gs1.org/voc/traceability"][0]["href"] == "http://localhost" + TRACE
    # the trace page itself asks for a sign-in: the resolver reveals only the link
    assert client.get(TRACE).status_code in (302, 401)


# ----------------------------------------------------------------- unknown and malformed


UNKNOWN = [
    f"/01/{GTIN}/21/NOPE",
    "/01/09506000134369",
    "/01/09506000134369/21/S1",
    "/00/106141411234567804",
]


@pytest.mark.usefixtures("world")
def test_a_valid_code_of_nothing_of_ours_is_404_with_the_unknown_code_page(
    client: FlaskClient,
) -> None:
    for path in UNKNOWN:
        page = _get(client, path, BROWSER)
        assert page.status_code == 404, path
        text = page.get_data(as_text=True)
        assert "Unknown code" in text and "No product of ours carries the code" in text
        assert path.removeprefix("/") in text
        assert page.headers["Cache-Control"] == "no-store"
        answer = _get(client, path, JSON)
        assert answer.status_code == 404
        assert answer.get_json()["error"].startswith("No product of ours carries the code")


@pytest.mark.parametrize(
    ("path", "field", "words"),
    [
        (f"/01/{GTIN[:-1]}3/21/S1", "path segment 2 (value of AI 01)", "check digit 3, expected 2"),
        (f"/01/{GTIN}/21/S1/10/L1", "path segment 5 '10'", "may not follow"),
        (f"/01/{GTIN}/17/261231", "path segment 3 '17'", "belongs in the query"),
        (f"/01/{GTIN}/21/A/B", "path segment 5 'B'", "no value after it"),
        (f"/00/{SSCC[:-1]}0", "path segment 2 (value of AI 00)", "expected 7"),
        (f"/01/{GTIN}/21/S1?17=991399", "query parameter 17", "17"),
        ("/01/12345", "path segment 2 (value of AI 01)", "GTIN must be 14 digits"),
    ],
)
def test_a_malformed_code_is_400_naming_what_is_wrong(
    client: FlaskClient, path: str, field: str, words: str
) -> None:
    answer = _get(client, path, JSON)
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["field"] == field
    assert words in body["error"] and body["error"].startswith(
        "This is not a valid GS1 Digital Link"
    )
    page = _get(client, path, BROWSER)
    assert page.status_code == 400
    assert words in page.get_data(as_text=True).replace("&#39;", "'")


@pytest.mark.usefixtures("world")
def test_gtin_13_trailing_slash_and_an_encoded_slash_resolve(client: FlaskClient) -> None:
    # a GTIN-13 is read as its GTIN-14 (URI Syntax 4.1); the anchor is canonical
    assert _location(_get(client, f"/01/{GTIN13}/21/S1", BROWSER)) == VERIFY
    document = _get(client, f"/01/{GTIN13}/21/S1", LINKSET).get_json(force=True)
    assert document["linkset"][0]["anchor"] == f"http://localhost{UNIT}"
    # a trailing slash is tolerated (2.13)
    assert _location(_get(client, UNIT + "/", BROWSER)) == VERIFY
    assert _location(_get(client, f"/01/{GTIN}/", BROWSER)) == PRODUCT_PAGE
    # %2F is a "/" in the serial, as a label prints it
    assert _location(_get(client, f"/01/{GTIN}/21/A%2FB", BROWSER)) == f"/label/01/{GTIN}/21/A/B"


@pytest.mark.usefixtures("world")
def test_head_and_options(client: FlaskClient) -> None:
    head = client.head(UNIT)
    assert (head.status_code, head.data) == (307, b"")
    assert _location(head) == VERIFY
    options = client.options(UNIT, headers={"Origin": "https://shop.example"})
    assert {"GET", "HEAD", "OPTIONS"} <= set(options.headers["Allow"].split(", "))
    assert options.headers["Access-Control-Allow-Origin"] == "*"
    assert "Accept-Language" in options.headers["Access-Control-Allow-Headers"]


def test_url_for_writes_a_serial_as_a_label_does(app: Flask) -> None:
    with app.test_request_context():
        assert url_for("resolver.unit", gtin=GTIN, serial="A/B") == f"/01/{GTIN}/21/A%2FB"
        assert url_for("resolver.product", gtin=GTIN) == f"/01/{GTIN}"
        assert url_for("resolver.sscc", sscc=SSCC) == f"/00/{SSCC}"


# ----------------------------------------------------------------- the description file


def test_the_description_file(client: FlaskClient) -> None:
    response = client.get("/.well-known/gs1resolver")
    assert (response.status_code, response.mimetype) == (200, "application/json")
    document = response.get_json()
    validate(DESCRIPTION_SCHEMA, document)
    assert document["resolverRoot"] == "http://localhost"
    assert document["supportedPrimaryKeys"] == ["01", "00"]
    assert document["supportedLinkType"] == [
        {"namespace": "https://ref.gs1.org/voc/", "prefix": "gs1:"}
    ]
    assert document["linkTypeDefaultCanBeLinkset"] is False
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cache-Control"].startswith("public")


@pytest.fixture
def rooted(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app with HOPCHAIN_RESOLVER_ROOT set as a deployment sets it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOPCHAIN_RESOLVER_ROOT", "https://id.brand.example/")
        yield create_app(
            {
                "TESTING": True,
                "DATABASE_URL": db_url,
                "INSTANCE_PATH": tmp_path / "rooted",
                "SECRET_KEY": "test-only-secret",
                "SECURE_COOKIES": False,
            }
        )


@pytest.mark.usefixtures("world")
def test_the_configured_root_is_the_anchor_and_the_description_files_root(rooted: Flask) -> None:
    client = rooted.test_client()
    assert client.get("/.well-known/gs1resolver").get_json()["resolverRoot"] == (
        "https://id.brand.example"
    )
    document = _get(client, f"/01/{GTIN13}/21/S1", LINKSET).get_json(force=True)
    assert document["linkset"][0]["anchor"] == f"https://id.brand.example{UNIT}"
    assert rooted.config["RESOLVER_ROOT"] == "https://id.brand.example"


@pytest.mark.parametrize("bad", ["id.brand.example", "https://id.brand.example/?x=1", "ftp://x"])
def test_a_bad_resolver_root_stops_the_app_naming_the_setting(
    db_url: str, tmp_path: Path, bad: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOPCHAIN_RESOLVER_ROOT", bad)
    with pytest.raises(ValueError, match="HOPCHAIN_RESOLVER_ROOT must be"):
        create_app({"TESTING": True, "DATABASE_URL": db_url, "INSTANCE_PATH": tmp_path / "x"})


# ----------------------------------------------------------------- printed labels


def _uri(result: ScanResult) -> str:
    """The text a phone's camera reads from a QR code (without the ``]Q1`` symbology id)."""
    return result.text.removeprefix(result.symbology_id or "")


@pytest.mark.usefixtures("world")
def test_a_printed_labels_qr_code_resolves_here(client: FlaskClient) -> None:
    labels = unit_labels(GTIN, ["S1", "A/B"], domain="http://localhost") + sscc_labels(
        [SSCC], symbology="qr", domain="http://localhost"
    )
    sheets = render_labels(labels)
    found = [r for png in sheets.pngs for r in decode_image(png, thorough=False)]
    assert [r.key for r in found] == [unit_key(GTIN, "S1"), unit_key(GTIN, "A/B"), f"00/{SSCC}"]
    texts = [_uri(r) for r in found]
    assert texts == [
        f"http://localhost{UNIT}",
        f"http://localhost/01/{GTIN}/21/A%2FB",
        f"http://localhost/00/{SSCC}",
    ]
    targets = [_location(_get(client, urlsplit(text).path, BROWSER)) for text in texts]
    assert targets == [VERIFY, f"/label/01/{GTIN}/21/A/B", TRACE]


@pytest.mark.usefixtures("world")
def test_hopchain_labels_prints_the_configured_resolver_root(
    run_cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOPCHAIN_RESOLVER_ROOT", "https://id.brand.example")
    out = tmp_path / "sheets"
    result = run_cli("labels", "--gtin", GTIN, "--serials", "S1", "--out", str(out))
    assert result.exit_code == 0, result.output
    (found,) = decode_image(out / "labels-001.png", thorough=False)
    assert _uri(found) == f"https://id.brand.example{UNIT}"
    # --domain still wins
    result = run_cli(
        "labels",
        "--gtin",
        GTIN,
        "--serials",
        "S2",
        "--out",
        str(out),
        "--domain",
        "https://x.example",
    )
    (found,) = decode_image(out / "labels-001.png", thorough=False)
    assert _uri(found) == f"https://x.example/01/{GTIN}/21/S2"


# ----------------------------------------------------------------- properties

_CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
_gtins = st.from_regex(r"\A[0-9]{13}\Z").map(lambda body: body + str(gs1_check_digit(body)))
_serials = st.text(alphabet=_CSET82, min_size=1, max_size=20)


@pytest.mark.usefixtures("world")
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(gtin=_gtins, serial=_serials)
def test_any_printed_label_resolves_to_its_units_page(
    engine: Engine, client: FlaskClient, gtin: str, serial: str
) -> None:
    key = unit_key(gtin, serial)
    with Session(engine) as session:
        known = session.scalar(select(Unit.id).where(Unit.key == key)) is not None
    if not known:
        _commission(engine, key)
    (label,) = unit_labels(gtin, [serial], domain="http://localhost")
    response = _get(client, label.payload.removeprefix("http://localhost"), BROWSER)
    assert response.status_code == 307, response.get_data(as_text=True)
    target = urlsplit(response.headers["Location"]).path
    with client.application.test_request_context():
        assert target == url_for("label.verify", gtin=gtin, serial=serial)
    document = _get(client, urlsplit(label.payload).path, LINKSET).get_json(force=True)
    assert document["linkset"][0]["anchor"] == label.payload


@given(gtin=_gtins, wrong=st.integers(1, 9))
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_corrupted_check_digit_is_400(client: FlaskClient, gtin: str, wrong: int) -> None:
    corrupted = gtin[:-1] + str((int(gtin[-1]) + wrong) % 10)
    answer = _get(client, f"/01/{corrupted}/21/S1", JSON)
    assert answer.status_code == 400
    assert answer.get_json()["field"] == "path segment 2 (value of AI 01)"
    assert f"has check digit {corrupted[-1]}, expected {gtin[-1]}" in answer.get_json()["error"]
    assert json.loads(answer.get_data())["status"] == 400


def test_the_answer_speaks_the_language_of_the_pages_it_leads_to(client: FlaskClient) -> None:
    bad = f"/01/{GTIN[:-1]}3/21/S1"
    # ?lang= chooses it, as on the pages (and goes on to them in a redirect)
    assert "的校验位为 3，应为 2" in _get(client, bad + "?lang=zh", BROWSER).get_data(as_text=True)
    # else the reader's Accept-Language
    chinese = _get(client, bad, JSON, **{"Accept-Language": "zh-CN,zh;q=0.9"}).get_json()
    assert "的校验位为 3，应为 2" in chinese["error"]
    english = _get(client, bad, JSON, **{"Accept-Language": "en"}).get_json()
    assert "has check digit 3, expected 2" in english["error"]
