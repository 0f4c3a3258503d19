"""The suspected-alert pages and API: who may read and act, filters, pages, the map's
data, clearing with a note (errors naming the field), and the refusal words' catalogue.

World: tests/sightings/test_public.py's (D1 holds AA, D2 holds BB).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from sightings.models import SuspectedAlert
from tests.sightings.test_public import APRIL, IN_AA, IN_BB, build_world, sight
from web.field import suspects as page

HOUR = 3_600_000


@pytest.fixture
def raised(engine: Engine, make_party: Callable[..., int]) -> list[int]:
    """Five open out-of-zone suspects: U1, U3, U4, U5 seen in BB, U6 seen in AA."""
    build_world(engine, make_party)
    make_party("INSP", "inspector")
    ids: list[int] = []
    for n, serial in enumerate(("U1", "U3", "U4", "U5")):
        ids += sight(engine, serial, IN_BB, APRIL + n * 1000).suspect_ids
    ids += sight(engine, "U6", IN_AA, APRIL + 5000).suspect_ids
    return ids


def _data(html: str) -> dict[str, object]:
    found = re.search(
        r'<script type="application/json" id="suspects-data">(.*?)</script>', html, re.S
    )
    assert found, "the page carries no map data"
    return dict(json.loads(found.group(1)))


# ------------------------------------------------------------------ roles


@pytest.mark.parametrize("role", ["channel_manager", "admin", "inspector"])
def test_readers_see_the_queue_with_its_map_and_numbers(
    login_as: Callable[..., FlaskClient], raised: list[int], role: str
) -> None:
    browser = login_as(role)
    r = browser.get("/suspects/")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    for sid in raised:
        assert f'href="/suspects/{sid}"' in html
    assert "vendor/leaflet-1.9.4/leaflet.js" in html and "suspects.js" in html
    spec = _data(html)
    assert len(spec["points"]) == 5  # type: ignore[arg-type]
    codes = {f["properties"]["code"] for f in spec["territories"]["features"]}  # type: ignore[index]
    assert codes == {"AA", "BB"}
    # the numbers beside the map: by kind and by territory
    assert re.search(r"Seen out of its zone</th><td class=\"num\">5<", html)
    assert re.search(r">BB</a></th><td class=\"num\">4<", html)
    detail = browser.get(f"/suspects/{raised[0]}")
    assert detail.status_code == 200
    can_clear = f'action="/suspects/{raised[0]}/clear"' in detail.get_data(as_text=True)
    assert can_clear == (role != "inspector")


@pytest.mark.parametrize("role", ["warehouse", "finance", "distributor", "auditor"])
def test_other_roles_are_refused(
    login_as: Callable[..., FlaskClient], raised: list[int], role: str
) -> None:
    browser = login_as(role, party="D1" if role == "distributor" else None)
    assert browser.get("/suspects/").status_code == 403
    assert browser.get(f"/suspects/{raised[0]}").status_code == 403


def test_anonymous_readers_are_sent_to_sign_in(client: FlaskClient, raised: list[int]) -> None:
    r = client.get("/suspects/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert client.get("/api/v1/suspects").status_code == 401


def test_an_inspector_may_not_clear(
    login_as: Callable[..., FlaskClient], csrf_token: Callable[..., str], raised: list[int]
) -> None:
    browser = login_as("inspector")
    r = browser.post(
        f"/suspects/{raised[0]}/clear",
        data={"note": "fine", "csrf_token": csrf_token(f"/suspects/{raised[0]}", on=browser)},
    )
    assert r.status_code == 403


# ------------------------------------------------------------------ filters and pages


def test_the_queue_filters_and_pages(
    login_as: Callable[..., FlaskClient], raised: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = login_as("channel_manager")
    only_aa = browser.get("/suspects/?territory=AA").get_data(as_text=True)
    assert f'href="/suspects/{raised[-1]}"' in only_aa
    assert f'href="/suspects/{raised[0]}"' not in only_aa
    by_party = browser.get("/suspects/?party=D2").get_data(as_text=True)
    assert f'href="/suspects/{raised[-1]}"' in by_party and "1 suspected alert" in by_party
    bad = browser.get("/suspects/?party=NOPE")
    assert bad.status_code == 400
    assert "Distributor: there is no party NOPE." in bad.get_data(as_text=True)
    assert "No suspected alert matches." in browser.get("/suspects/?kind=clone").get_data(
        as_text=True
    )
    # pages of two: the newest two first, then the next two
    import web.field.suspects as module

    real = module.page_request
    monkeypatch.setattr(module, "page_request", lambda: real(size=2))
    first = browser.get("/suspects/").get_data(as_text=True)
    second = browser.get("/suspects/?page=2").get_data(as_text=True)
    newest = sorted(raised, reverse=True)
    assert [int(x) for x in re.findall(r'href="/suspects/(\d+)"', first)] == newest[:2]
    assert [int(x) for x in re.findall(r'href="/suspects/(\d+)"', second)] == newest[2:4]
    assert 'rel="next"' in first and "page 1 of 3" in first


# ------------------------------------------------------------------ clearing


def test_a_manager_clears_with_a_note_and_an_empty_note_is_named(
    login_as: Callable[..., FlaskClient],
    csrf_token: Callable[..., str],
    raised: list[int],
    engine: Engine,
) -> None:
    browser = login_as("channel_manager", username="carla")
    sid = raised[0]
    token = csrf_token(f"/suspects/{sid}", on=browser)
    empty = browser.post(f"/suspects/{sid}/clear", data={"note": " ", "csrf_token": token})
    html = empty.get_data(as_text=True)
    assert empty.status_code == 400
    assert 'id="note-error"' in html and "the note is required" in html
    done = browser.post(
        f"/suspects/{sid}/clear", data={"note": "authorised outlet", "csrf_token": token}
    )
    assert done.status_code == 302
    page_after = browser.get(done.headers["Location"]).get_data(as_text=True)
    assert f"Suspected alert {sid} cleared." in page_after
    assert "authorised outlet" in page_after and "carla" in page_after
    assert f'action="/suspects/{sid}/clear"' not in page_after  # nothing left to clear
    with Session(engine) as session:
        row = session.get(SuspectedAlert, sid)
        assert row is not None and (row.status, row.resolved_by) == ("cleared", "carla")
    again = browser.post(f"/suspects/{sid}/clear", data={"note": "x", "csrf_token": token})
    assert again.status_code == 409 and "already cleared" in again.get_data(as_text=True)
    assert browser.get("/suspects/424242").status_code == 404


def test_the_clear_error_is_said_in_chinese(
    login_as: Callable[..., FlaskClient], csrf_token: Callable[..., str], raised: list[int]
) -> None:
    browser = login_as("channel_manager")
    token = csrf_token(f"/suspects/{raised[0]}", on=browser)
    r = browser.post(
        f"/suspects/{raised[0]}/clear",
        data={"note": "", "csrf_token": token},
        headers={"Accept-Language": "zh"},
    )
    assert r.status_code == 400 and 'id="note-error"' in r.get_data(as_text=True)


# ------------------------------------------------------------------ API


def test_the_api_lists_pages_and_filters(
    client: FlaskClient, bearer: Callable[..., dict[str, str]], raised: list[int]
) -> None:
    h = bearer("inspector", party="INSP")
    r = client.get("/api/v1/suspects?limit=2", headers=h)
    body = r.get_json()
    assert r.status_code == 200 and body["total"] == 5
    assert [i["id"] for i in body["items"]] == sorted(raised, reverse=True)[:2]
    assert r.headers["X-Total-Count"] == "5" and 'rel="next"' in r.headers["Link"]
    nxt = re.search(r"<([^>]+)>; rel=\"next\"", r.headers["Link"])
    assert nxt is not None
    page2 = client.get(nxt.group(1), headers=h).get_json()
    assert [i["id"] for i in page2["items"]] == sorted(raised, reverse=True)[2:4]
    one = client.get("/api/v1/suspects?territory=AA", headers=h).get_json()["items"]
    assert [(i["unit"].split("/")[-1], i["allocated_party"], i["lat"], i["lon"]) for i in one] == [
        ("U6", "D2", 51.0, 11.0)
    ]
    bad = client.get("/api/v1/suspects?party=NOPE", headers=h)
    assert bad.status_code == 400 and bad.get_json()["parameter"] == "party"
    assert client.get("/api/v1/suspects?kind=copy", headers=h).status_code == 400
    detail = client.get(f"/api/v1/suspects/{raised[-1]}", headers=h).get_json()
    assert detail["zone"] == ["BB"] and detail["sightings"][0]["verdict"] == "out_of_zone"
    assert client.get("/api/v1/suspects/424242", headers=h).status_code == 404


def test_the_api_clears_with_a_note_naming_the_field(
    client: FlaskClient, bearer: Callable[..., dict[str, str]], raised: list[int]
) -> None:
    sid = raised[0]
    assert (
        client.post(
            f"/api/v1/suspects/{sid}/clear",
            json={"note": "x"},
            headers=bearer("inspector", party="INSP"),
        ).status_code
        == 403
    )
    h = bearer("channel_manager", user="carla")
    missing = client.post(f"/api/v1/suspects/{sid}/clear", json={}, headers=h)
    assert missing.status_code == 400 and missing.get_json()["parameter"] == "$.note"
    blank = client.post(f"/api/v1/suspects/{sid}/clear", json={"note": "  "}, headers=h)
    assert blank.status_code == 400 and blank.get_json()["parameter"] == "$.note"
    long = client.post(f"/api/v1/suspects/{sid}/clear", json={"note": "x" * 2001}, headers=h)
    assert long.status_code == 400 and "2000" in long.get_json()["error"]
    other = client.post(f"/api/v1/suspects/{sid}/clear", json={"note": "x", "why": 1}, headers=h)
    assert other.status_code == 400 and "$.why" in other.get_json()["error"]
    ok = client.post(f"/api/v1/suspects/{sid}/clear", json={"note": "test scans"}, headers=h)
    assert ok.status_code == 200
    assert (ok.get_json()["status"], ok.get_json()["resolved_by"]) == ("cleared", "carla")
    assert ok.get_json()["resolution_note"] == "test scans"
    again = client.post(f"/api/v1/suspects/{sid}/clear", json={"note": "x"}, headers=h)
    assert again.status_code == 409
    listed = client.get("/api/v1/suspects?status=any", headers=h).get_json()
    assert listed["total"] == 5
    assert client.get("/api/v1/suspects", headers=h).get_json()["total"] == 4


# ------------------------------------------------------------------ words


def test_every_refusal_is_in_the_catalogue_word_for_word() -> None:
    for name, (module, constant) in page.SIGHTING_WORD_SOURCES.items():
        assert page.SIGHTING_WORDS[name] == getattr(module, constant), name
