"""The inspector's pages and API: scan (typed code, label photo decoded here), photos,
location, the result, replays, who may see what, history paging and API errors by
JSON path.

World: tests/sightings/test_inspection.py's (units S1, S2 shipped to the French
distributor; Berlin is out of their zone, Paris in it).
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
from collections.abc import Callable
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.ids import gs1_check_digit, parse_key, unit_key
from ledger.models import Entry, Party, Unit
from scanners.labels import render_labels, unit_labels
from sightings import inspection as domain
from sightings.models import Inspection, InspectionPhoto, SuspectedAlert
from tests.sightings.test_inspection import (
    BERLIN,
    GTIN,
    NOW,
    PARIS,
    InspectionWorld,
    jpeg,
    key,
    png,
)
from web.field import inspect as page
from web.field.inspect import unit_key_of

LINK = f"https://id.hopchain.example/01/{GTIN}/21/S1"


def _entries(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(Entry)) or 0)


def _form(browser: FlaskClient, path: str = "/inspect", **fields: object) -> dict[str, object]:
    """The scan form of ``path`` as the page fills it (its CSRF token and capture id),
    a Berlin shop by default, with ``fields`` on top."""
    html = browser.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    capture = re.search(r'name="capture_id"[^>]*value="([^"]+)"', html)
    assert token and capture, "the scan page carries no CSRF token or capture id"
    data: dict[str, object] = {
        "csrf_token": token.group(1),
        "capture_id": capture.group(1),
        "code": LINK,
        "shop": "Späti am Kanal",
        "note": "",
        "lat": "52.52",
        "lon": "13.405",
    }
    data.update(fields)
    return data


# ---------------------------------------------------------------- the scan page


def test_the_scan_page_is_made_for_a_phone_and_serves_its_scanner_itself(
    inspector: FlaskClient,
) -> None:
    r = inspector.get("/inspect")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'name="viewport"' in html
    assert 'capture="environment"' in html and 'accept="image/*"' in html and "multiple" in html
    assert "vendor/html5-qrcode-2.3.8/html5-qrcode.min.js" in html and "inspect.js" in html
    assert "<script>" not in html and "style=" not in html  # CSP: no inline code
    lib = inspector.get("/static/vendor/html5-qrcode-2.3.8/html5-qrcode.min.js")
    assert lib.status_code == 200 and b"Html5Qrcode" in lib.get_data()
    assert inspector.get("/static/vendor/html5-qrcode-2.3.8/LICENSE").status_code == 200
    assert inspector.get("/static/inspect.js").status_code == 200


def test_an_out_of_zone_inspection_is_recorded_and_its_result_shown(
    inspector: FlaskClient, world: InspectionWorld
) -> None:
    before = _entries(world.engine)
    photos = [(io.BytesIO(png()), "shelf.png"), (io.BytesIO(jpeg()), "label.jpg")]
    r = inspector.post(
        "/inspect",
        data=_form(inspector, photos=photos, note="three on the shelf"),
        content_type="multipart/form-data",
    )
    assert r.status_code == 303, r.get_data(as_text=True)
    assert _entries(world.engine) == before + 1
    detail = inspector.get(r.headers["Location"])
    html = detail.get_data(as_text=True)
    assert detail.status_code == 200
    assert "Out of its zone: seen in DE." in html
    assert key("S1") in html and "Späti am Kanal" in html and "three on the shelf" in html
    assert "verifies with the ledger key" in html
    with Session(world.engine) as s:
        row = s.scalars(select(Inspection)).one()
    assert f"Inspection recorded as ledger entry {row.seq}." in html
    assert (row.lat_e6, row.lon_e6) == BERLIN and row.user_name == "ines"
    srcs = re.findall(r'<img src="(/inspect/photos/\d+)"', html)
    assert len(srcs) == 2
    first = inspector.get(srcs[0])
    assert first.mimetype == "image/png" and first.get_data() == png()


def test_a_photo_of_the_label_is_decoded_on_the_server(
    inspector: FlaskClient, world: InspectionWorld
) -> None:
    sheet = render_labels(unit_labels(GTIN, ["S2"])).pngs[0]
    r = inspector.post(
        "/inspect",
        data=_form(
            inspector, code="", label_photo=(io.BytesIO(sheet), "label.png"), lat="", lon=""
        ),
        content_type="multipart/form-data",
    )
    assert r.status_code == 303, r.get_data(as_text=True)
    with Session(world.engine) as s:
        unit = s.scalar(select(Unit.key).join(Inspection, Inspection.unit_id == Unit.id))
        verdict = s.scalar(select(Inspection.verdict))
    assert unit == key("S2") and verdict == "unlocated"
    html = inspector.get(r.headers["Location"]).get_data(as_text=True)
    assert "No location was recorded" in html


def test_a_photo_without_a_code_or_nothing_at_all_is_refused_in_words(
    inspector: FlaskClient, world: InspectionWorld
) -> None:
    r = inspector.post(
        "/inspect",
        data=_form(inspector, code="", label_photo=(io.BytesIO(png()), "blank.png")),
        content_type="multipart/form-data",
    )
    assert r.status_code == 400
    assert "no unit&#39;s code found in it" in r.get_data(as_text=True)
    r = inspector.post("/inspect", data=_form(inspector, code=""))
    assert r.status_code == 400
    assert "scan the label with the camera" in r.get_data(as_text=True)
    assert _entries(world.engine) == 4


def test_a_code_not_ours_is_said_clearly_and_nothing_is_appended(
    inspector: FlaskClient, world: InspectionWorld
) -> None:
    r = inspector.post("/inspect", data=_form(inspector, code=LINK.replace("/S1", "/FAKE9")))
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert f"01/{GTIN}/21/FAKE9 is not a code of ours" in html
    r = inspector.post("/inspect", data=_form(inspector, code="hello"))
    assert r.status_code == 400 and "hello is not a unit&#39;s code" in r.get_data(as_text=True)
    assert _entries(world.engine) == 4


def test_bad_fields_are_named_beside_them(inspector: FlaskClient, world: InspectionWorld) -> None:
    r = inspector.post(
        "/inspect",
        data=_form(inspector, shop=" ", lat="north", photos=[(io.BytesIO(b"GIF89a"), "x.gif")]),
        content_type="multipart/form-data",
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "Latitude: a number of degrees such as 48.8566" in html
    r = inspector.post(
        "/inspect",
        data=_form(inspector, photos=[(io.BytesIO(b"GIF89a"), "x.gif")]),
        content_type="multipart/form-data",
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert re.search(r'id="photos-help">.*?<p class="error">Photo 1: not a PNG', html, re.S)
    r = inspector.post("/inspect", data=_form(inspector, shop=""))
    assert "Shop: type the name of the shop" in r.get_data(as_text=True)
    assert _entries(world.engine) == 4


def test_sending_the_same_form_twice_records_it_once(
    inspector: FlaskClient, world: InspectionWorld
) -> None:
    data = _form(inspector)
    first = inspector.post("/inspect", data=dict(data))
    again = inspector.post("/inspect", data=dict(data))
    assert first.headers["Location"] == again.headers["Location"]
    assert _entries(world.engine) == 5
    assert "already recorded" in inspector.get(again.headers["Location"]).get_data(as_text=True)


def test_the_result_names_the_suspected_alert_it_confirmed_and_the_alert(
    inspector: FlaskClient, world: InspectionWorld
) -> None:
    with Session(world.engine) as s:
        unit_id = s.scalar(select(Unit.id).where(Unit.key == key("S1")))
        s.add(
            SuspectedAlert(
                unit_id=unit_id,
                kind="out_of_zone",
                status="suspected",
                territory_code="DE",
                first_ms=NOW - 5000,
                last_ms=NOW - 4000,
                sighting_count=2,
            )
        )
        s.commit()
    r = inspector.post("/inspect", data=_form(inspector))
    html = inspector.get(r.headers["Location"]).get_data(as_text=True)
    with Session(world.engine) as s:
        suspect = s.scalars(select(SuspectedAlert)).one()
    assert suspect.status == "confirmed" and suspect.alert_id is not None
    assert f'href="/suspects/{suspect.id}"' in html
    assert f"now alert {suspect.alert_id}" in html


# ---------------------------------------------------------------- who sees what


def _one(world: InspectionWorld, user: str = "ines", serial: str = "S1") -> int:
    return world.inspect(serial, user_name=user).inspection_id


def test_roles_and_ownership(
    login_as: Callable[..., FlaskClient], app: Flask, world: InspectionWorld
) -> None:
    mine, theirs = _one(world, "ines"), _one(world, "olga")
    ines = login_as("inspector", party="INSP-1", username="ines")
    assert ines.get(f"/inspect/{mine}").status_code == 200
    assert ines.get(f"/inspect/{theirs}").status_code == 404
    with Session(world.engine) as s:
        photo_id = s.scalar(
            select(func.min(InspectionPhoto.id)).where(InspectionPhoto.inspection_id == theirs)
        )
    assert ines.get(f"/inspect/photos/{photo_id}").status_code == 404
    history = ines.get("/inspect/history").get_data(as_text=True)
    assert f'href="/inspect/{mine}"' in history and f'href="/inspect/{theirs}"' not in history
    for role in ("channel_manager", "auditor", "admin"):
        other = login_as(role, on=app.test_client())
        assert other.get(f"/inspect/{theirs}").status_code == 200, role
        assert other.get(f"/inspect/photos/{photo_id}").status_code == 200, role
        assert other.get("/inspect").status_code == 403, role
    dist = login_as("distributor", party="D-FR", on=app.test_client())
    for path in ("/inspect", "/inspect/history", f"/inspect/{mine}", f"/inspect/photos/{photo_id}"):
        assert dist.get(path).status_code == 403, path
    assert app.test_client().get("/inspect").status_code == 302  # to the sign-in page


def test_history_is_paginated(inspector: FlaskClient, world: InspectionWorld) -> None:
    with Session(world.engine) as s:
        unit_id = s.scalar(select(Unit.id).where(Unit.key == key("S1")))
        party_id = s.scalar(select(Party.id).where(Party.code == "INSP-1"))
        for n in range(55):
            s.add(
                Inspection(
                    seq=1000 + n,
                    unit_id=unit_id,
                    inspector_party_id=party_id,
                    user_name="ines",
                    shop_name=f"Shop {n:02d}",
                    note="",
                    at_ms=NOW + n,
                    territory_code="",
                    verdict="unlocated",
                    record_hash="",
                    signature="",
                )
            )
        s.commit()
    first = inspector.get("/inspect/history").get_data(as_text=True)
    assert "Shop 54" in first and "Shop 04" not in first and 'rel="next"' in first
    second = inspector.get("/inspect/history?page=2").get_data(as_text=True)
    assert "Shop 04" in second and "Shop 54" not in second and "51–55 of 55" in second


# ---------------------------------------------------------------- the API


def _token(
    bearer: Callable[..., dict[str, str]], make_party: Callable[..., int], user: str
) -> dict[str, str]:
    make_party("INSP-1", kind="inspector")
    return bearer("inspector", party="INSP-1", user=user)


def test_the_api_records_an_inspection_with_base64_photos(
    client: FlaskClient,
    world: InspectionWorld,
    bearer: Callable[..., dict[str, str]],
    make_party: Callable[..., int],
) -> None:
    headers = _token(bearer, make_party, "api-ines")
    body = {
        "unit": f"(01){GTIN}(21)S1",
        "shop": "Kiosk",
        "lat": PARIS[0] / 1e6,
        "lon": "2.3522",
        "at": "2026-11-20T13:00:00+01:00",
        "photos": [{"content_type": "image/png", "data": base64.b64encode(png()).decode()}],
        "capture_id": "app-77",
    }
    r = client.post("/api/v1/inspections", json=body, headers=headers)
    assert r.status_code == 201, r.get_json()
    answer = r.get_json()
    assert answer["verdict"] == "in_zone" and answer["territory"] == "FR-PAR"
    assert answer["replayed"] is False and answer["confirmed"] == [] and answer["alerts"] == []
    again = client.post("/api/v1/inspections", json=body, headers=headers)
    assert again.status_code == 200 and again.get_json()["inspection"] == answer["inspection"]
    assert _entries(world.engine) == 5
    one = client.get(answer["url"], headers=headers).get_json()
    assert one["at_ms"] == NOW and one["unit"] == key("S1")
    assert one["photos"][0]["sha256"] == hashlib.sha256(png()).hexdigest()
    assert client.get(one["photos"][0]["url"], headers=headers).get_data() == png()
    listed = client.get("/api/v1/inspections?limit=1", headers=headers)
    assert listed.get_json()["total"] == 1 and listed.headers["X-Total-Count"] == "1"


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        ({"photos": [{"data": "bm90IGFuIGltYWdl"}, {"data": "***"}]}, "$.photos[1].data", "base64"),
        ({"photos": [{"data": "bm90IGFuIGltYWdl"}]}, "$.photos[0].data", "Photo 1: not a PNG"),
        ({"photos": [{"data": 5}]}, "$.photos[0].data", "base64 text"),
        (
            {"unit": f"https://id.hopchain.example/01/{GTIN}/21/NOPE"},
            "$.unit",
            "not a code of ours",
        ),
        ({"unit": "00106141411234567897"}, "$.unit", "is a case or pallet"),
        ({"unit": "09506000134352"}, "$.unit", "not a unit's code"),
        ({"lat": "far"}, "$.lat", "not a number of degrees"),
        ({"lat": None}, "$.lat", "both latitude and longitude"),
        ({"shop": ""}, "$.shop", "type the name of the shop"),
        ({"at": "yesterday"}, "$.at", "not an RFC 3339"),
        ({"colour": "red"}, "$.colour", "not a member"),
        ({"capture_id": "a b"}, "$.capture_id", "1 to 100 letters"),
    ],
)
def test_api_errors_name_the_json_path(
    client: FlaskClient,
    world: InspectionWorld,
    bearer: Callable[..., dict[str, str]],
    make_party: Callable[..., int],
    change: dict[str, object],
    path: str,
    words: str,
) -> None:
    body: dict[str, object] = {"unit": LINK, "shop": "Kiosk", "lat": 52.52, "lon": 13.405}
    body.update(change)
    r = client.post("/api/v1/inspections", json=body, headers=_token(bearer, make_party, "ap"))
    assert r.status_code == 400, r.get_json()
    error = r.get_json()["error"]
    assert error.startswith(f"{path}: ") and words in error, error
    assert _entries(world.engine) == 4


def test_api_roles_and_ownership(
    client: FlaskClient,
    world: InspectionWorld,
    bearer: Callable[..., dict[str, str]],
    make_party: Callable[..., int],
) -> None:
    theirs = _one(world, "olga")
    ines = _token(bearer, make_party, "ines")
    assert client.get(f"/api/v1/inspections/{theirs}", headers=ines).status_code == 404
    assert client.get("/api/v1/inspections", headers=ines).get_json()["total"] == 0
    auditor = bearer("auditor")
    assert client.get(f"/api/v1/inspections/{theirs}", headers=auditor).status_code == 200
    assert client.get("/api/v1/inspections", headers=auditor).get_json()["total"] == 1
    dist = bearer("distributor", party="D-FR")
    assert client.get("/api/v1/inspections", headers=dist).status_code == 403
    body = {"unit": LINK, "shop": "Kiosk"}
    assert client.post("/api/v1/inspections", json=body, headers=dist).status_code == 403
    assert client.post("/api/v1/inspections", json=body, headers=auditor).status_code == 403
    # anonymous: refused (the CSRF check of a cookie-less POST answers first)
    assert client.post("/api/v1/inspections", json=body).status_code in (400, 401)
    assert client.get("/api/v1/inspections").status_code == 401
    assert _entries(world.engine) == 5  # the one inspection made above


# ---------------------------------------------------------------- words


def test_the_refusal_words_are_the_domain_s_words() -> None:
    for name, words in page.INSPECTION_WORDS.items():
        assert getattr(domain, name) == words, name
    assert set(domain.WORDS) == set(page.INSPECTION_WORDS.values())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (LINK, key("S1")),
        (f"]Q1{LINK}", key("S1")),
        (f"(01){GTIN}(21)S1", key("S1")),
        (f"01{GTIN}21S1", key("S1")),
        (key("S1"), key("S1")),
        (f"/{key('S1')}", key("S1")),
        (GTIN, None),
        ("00106141411234567897", None),
        ("nonsense", None),
    ],
)
def test_a_unit_code_is_read_in_every_form_a_label_or_person_gives(
    text: str, expected: str | None
) -> None:
    assert unit_key_of(text)[0] == expected


_SERIAL = st.text(
    alphabet="!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz",
    min_size=1,
    max_size=20,
)


@given(digits=st.text(alphabet="0123456789", min_size=13, max_size=13), serial=_SERIAL)
def test_every_spelling_of_a_unit_code_reads_as_its_key(digits: str, serial: str) -> None:
    gtin = digits + str(gs1_check_digit(digits))
    expected = unit_key(gtin, serial)
    spellings = [
        f"https://id.example.com/01/{gtin}/21/{quote(serial, safe='')}",
        f"01{gtin}21{serial}",  # the element string a GS1 QR code or DataMatrix holds
        expected,
    ]
    if "(" not in serial and ")" not in serial:  # brackets would be read as AIs
        spellings.append(f"(01){gtin}(21){serial}")
    for text in spellings:
        assert unit_key_of(text) == (expected, ""), text


@given(st.text(max_size=80))
def test_any_text_reads_as_a_valid_key_or_as_nothing(text: str) -> None:
    key_found, bad = unit_key_of(text)
    if key_found is None:
        assert bad == text.strip()
    else:
        assert parse_key(key_found).serial is not None


def test_a_long_shop_name_is_refused_in_the_domain_s_words(
    inspector: FlaskClient, world: InspectionWorld
) -> None:
    r = inspector.post("/inspect", data=_form(inspector, shop="S" * 201))
    assert r.status_code == 400
    assert "Shop: at most 200 characters, got 201" in r.get_data(as_text=True)
    assert 'maxlength="200"' in inspector.get("/inspect").get_data(as_text=True)
    assert _entries(world.engine) == 4
