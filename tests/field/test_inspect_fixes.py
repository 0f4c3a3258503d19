"""What a fresh-clone tester found on the inspector's page and API, fixed:

- a label photo must show ONE unit's code: two different codes, a case's SSCC
  alone or a product's GTIN alone are refused in words, naming them, and nothing
  is appended to the ledger;
- ``/inspect/`` answers as ``/inspect`` does;
- a bad check digit is named as the resolver names it ("GTIN … has check digit 3,
  expected 2"), on the page and in the API, whatever the spelling;
- an inspection of a unit already sold says so (a unit on a shelf with its code is
  likely a copy) on the result page and in the API answer, and files the clone
  suspect; an inspection of a unit in stock says nothing of the kind.

World: tests/sightings/test_inspection.py's (S1, S2 shipped to the French
distributor; Paris in their zone, Berlin not).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from urllib.parse import quote

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import EntryKind, Hop, append_hops
from ledger.ids import gs1_check_digit
from scanners.labels import render_labels, sscc_labels, unit_labels
from sightings.models import SuspectedAlert
from tests.field.test_inspect_pages import LINK, _entries
from tests.field.test_inspect_pages import _form as pages_form
from tests.sightings.test_inspection import GTIN, PARIS, T0, InspectionWorld, key
from web.field.inspect import code_words, read_unit_code

WRONG = GTIN[:-1] + str((int(GTIN[-1]) + 1) % 10)  # the check digit off by one
SSCC = "106141412345678908"


def _form(browser: FlaskClient, path: str = "/inspect", **fields: object) -> dict[str, object]:
    """The page's scan form in a Paris shop (in the units' zone) unless ``fields`` say otherwise."""
    return pages_form(
        browser, path, **{"shop": "Épicerie du coin", "lat": "48.8566", "lon": "2.3522", **fields}
    )


def _photo_post(browser: FlaskClient, picture: bytes) -> tuple[int, str]:
    r = browser.post(
        "/inspect",
        data=_form(browser, code="", label_photo=(io.BytesIO(picture), "label.png")),
        content_type="multipart/form-data",
    )
    return r.status_code, r.get_data(as_text=True)


def _token(
    bearer: Callable[..., dict[str, str]], make_party: Callable[..., int], user: str
) -> dict[str, str]:
    make_party("INSP-1", kind="inspector")
    return bearer("inspector", party="INSP-1", user=user)


def _sell(world: InspectionWorld, serial: str) -> None:
    """The French distributor receives ``serial`` in Paris and sells it there."""
    at = {"lat_e6": PARIS[0], "lon_e6": PARIS[1]}
    results = append_hops(
        world.engine,
        [
            Hop(key(serial), EntryKind.RECEIVING, "D-FR", T0 + 2000, counterparty="MFR", **at),
            Hop(key(serial), EntryKind.RETAIL_SELLING, "D-FR", T0 + 3000, **at),
        ],
    )
    assert {r.status for r in results} == {"accepted"}, results


# ---------------------------------------------------------------- the label photo


def test_a_photo_showing_two_units_codes_is_refused_naming_both(
    inspector: FlaskClient, world: InspectionWorld
) -> None:
    before = _entries(world.engine)
    status, html = _photo_post(inspector, render_labels(unit_labels(GTIN, ["S1", "S2"])).pngs[0])
    assert status == 400
    assert "the photo shows 2 codes:" in html and "photograph one label or type the code" in html
    assert key("S1") in html and key("S2") in html
    assert _entries(world.engine) == before  # nothing appended


def test_a_photo_showing_only_a_case_code_is_refused_in_words(
    inspector: FlaskClient, world: InspectionWorld
) -> None:
    before = _entries(world.engine)
    status, html = _photo_post(inspector, render_labels(sscc_labels([SSCC])).pngs[0])
    assert status == 400
    assert f"it shows only a case or pallet code (SSCC {SSCC})" in html
    assert _entries(world.engine) == before


def test_a_photo_of_one_label_is_still_read(inspector: FlaskClient, world: InspectionWorld) -> None:
    before = _entries(world.engine)
    r = inspector.post(
        "/inspect",
        data=_form(
            inspector,
            code="",
            label_photo=(io.BytesIO(render_labels(unit_labels(GTIN, ["S2"])).pngs[0]), "l.png"),
        ),
        content_type="multipart/form-data",
    )
    assert r.status_code == 303, r.get_data(as_text=True)
    assert _entries(world.engine) == before + 1


# ---------------------------------------------------------------- /inspect/


def test_the_scan_page_answers_with_and_without_a_trailing_slash(
    inspector: FlaskClient, world: InspectionWorld, app: Flask, client: FlaskClient
) -> None:
    plain, slash = inspector.get("/inspect"), inspector.get("/inspect/")
    assert plain.status_code == slash.status_code == 200
    assert 'name="capture_id"' in slash.get_data(as_text=True)
    before = _entries(world.engine)
    r = inspector.post("/inspect/", data=_form(inspector, "/inspect/"))
    assert r.status_code == 303 and _entries(world.engine) == before + 1
    with app.test_request_context():
        assert url_for("inspect.scan") == "/inspect"
    # a stranger: guarded on both spellings
    for path in ("/inspect", "/inspect/"):
        assert app.test_client().get(path).status_code in (302, 401, 403)


# ---------------------------------------------------------------- check digits


def _spellings(gtin: str, serial: str) -> list[str]:
    return [
        f"https://id.example.com/01/{gtin}/21/{quote(serial, safe='')}",
        f"01{gtin}21{serial}",
        f"(01){gtin}(21){serial}",
        f"01/{gtin}/21/{serial}",
    ]


def test_a_bad_check_digit_is_named_on_the_page_and_in_the_api(
    inspector: FlaskClient,
    world: InspectionWorld,
    client: FlaskClient,
    bearer: Callable[..., dict[str, str]],
    make_party: Callable[..., int],
) -> None:
    said = f"GTIN {WRONG} has check digit {WRONG[-1]}, expected {GTIN[-1]}"
    # the resolver's words for the same code
    resolver = client.get(f"/01/{WRONG}/21/S1", headers={"Accept": "application/json"})
    assert said in resolver.get_json()["error"]
    for text in _spellings(WRONG, "S1"):
        page = inspector.post("/inspect", data=_form(inspector, code=text))
        assert page.status_code == 400 and said in page.get_data(as_text=True), text
        r = client.post(
            "/api/v1/inspections",
            json={"unit": text, "shop": "Kiosk"},
            headers=_token(bearer, make_party, "api-ines"),
        )
        assert r.status_code == 400
        error = r.get_json()["error"]
        assert error.startswith("$.unit: Code: ") and said in error, text
    assert _entries(world.engine) == 4


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (SSCC, "is a case or pallet; scan the label of one unit"),
        (f"00/{SSCC}", "is a case or pallet; scan the label of one unit"),
        (GTIN, "is not a unit's code (GTIN and serial)"),
        ("nonsense", "Code: nonsense is not a unit's code (GTIN and serial)"),
    ],
)
def test_other_codes_are_refused_in_words(app: Flask, text: str, words: str) -> None:
    with app.test_request_context():
        reading = read_unit_code(text)
        assert reading.key is None and words in code_words(reading)


@given(digits=st.text(alphabet="0123456789", min_size=13, max_size=13), wrong=st.integers(1, 9))
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_wrong_check_digit_is_named_in_every_spelling(
    app: Flask, digits: str, wrong: int
) -> None:
    right = gs1_check_digit(digits)
    bad = digits + str((right + wrong) % 10)
    with app.test_request_context():
        for text in _spellings(bad, "A1"):
            reading = read_unit_code(text)
            assert reading.key is None and reading.kind == "invalid", text
            said = code_words(reading)
            assert f"GTIN {bad} has check digit {bad[-1]}, expected {right}" in said, (text, said)


# ---------------------------------------------------------------- a unit already sold


def test_the_result_page_says_a_sold_unit_on_a_shelf_is_likely_a_copy(
    inspector: FlaskClient, world: InspectionWorld
) -> None:
    _sell(world, "S1")
    r = inspector.post("/inspect", data=_form(inspector))
    assert r.status_code == 303, r.get_data(as_text=True)
    html = inspector.get(r.headers["Location"]).get_data(as_text=True)
    assert "Sold on Nov 2, 2026: a unit on a shelf with this code is likely a copy" in html
    assert "detection files a cloned-code alert." in html
    assert "Possible copied code" in html  # the clone suspect it confirmed, listed
    with Session(world.engine) as s:
        clone = s.scalars(select(SuspectedAlert).where(SuspectedAlert.kind == "clone")).one()
        assert clone.status == "confirmed" and clone.alert_id is not None
    # a unit in stock: no such words
    r2 = inspector.post("/inspect", data=_form(inspector, code=key("S2")))
    assert "likely a copy" not in inspector.get(r2.headers["Location"]).get_data(as_text=True)


def test_the_api_answer_says_a_sold_unit_on_a_shelf_is_likely_a_copy(
    client: FlaskClient,
    world: InspectionWorld,
    bearer: Callable[..., dict[str, str]],
    make_party: Callable[..., int],
) -> None:
    _sell(world, "S1")
    headers = _token(bearer, make_party, "api-ines")
    body = {"unit": LINK, "shop": "Kiosk", "lat": 48.8566, "lon": 2.3522}
    r = client.post("/api/v1/inspections", json=body, headers=headers)
    assert r.status_code == 201, r.get_json()
    answer = r.get_json()
    assert answer["verdict"] == "in_zone" and answer["cleared"] == []
    assert answer["clone"] is True and len(answer["confirmed"]) == 1 and answer["alerts"]
    assert answer["end_of_life"]["kind"] == "retail_selling"
    assert answer["end_of_life"]["at"].startswith("2026-11-02T")
    assert "likely a copy" in answer["message"]
    one = client.get(answer["url"], headers=headers).get_json()
    assert one["end_of_life"] == answer["end_of_life"] and one["message"] == answer["message"]
    # in Chinese the message is the catalogue's, or English until translated: never empty
    zh = client.get(answer["url"], headers={**headers, "Accept-Language": "zh-CN"}).get_json()
    assert zh["message"]
    stock = client.post(
        "/api/v1/inspections", json={**body, "unit": key("S2")}, headers=headers
    ).get_json()
    assert (stock["clone"], stock["end_of_life"], stock["message"]) == (False, None, "")
