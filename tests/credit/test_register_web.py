"""The risk register's pages and API (issue 13): the heat map with its table of
counts, the list and the add/edit forms in English and Chinese, a bad value shown
next to its field, the JSON API with its heat map, and who may see what."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from web.models import User


def _chinese(engine: Engine, username: str) -> None:
    with Session(engine) as s, s.begin():
        s.scalars(select(User).where(User.username == username)).one().locale = "zh_Hans_CN"


def _risk(client: FlaskClient, headers: dict[str, str], **values: object) -> dict[str, object]:
    body: dict[str, object] = {
        "category": "credit", "title": "D1 pays late", "likelihood": 4, "impact": 3,
        "owner": "carl", "party": "D1",
    }  # fmt: skip
    r = client.post("/api/v1/risks", json={**body, **values}, headers=headers)
    assert r.status_code == 201, r.get_json()
    return dict(r.get_json())


def test_the_api_adds_patches_lists_and_counts(
    client: FlaskClient, bearer: Callable[..., dict[str, str]], make_user: Callable[..., int],
    make_party: Callable[..., int],
) -> None:  # fmt: skip
    make_party("D1")
    make_user("carl", "channel_manager")
    fin, aud = bearer("finance"), bearer("auditor")
    made = _risk(client, fin)
    # 4 x 3 = 12: high
    assert (made["score"], made["band"], made["status"]) == (12, "high", "open")
    _risk(client, fin, likelihood=5, impact=5, party=None, category="brand")
    bad = client.post("/api/v1/risks", json={"category": "credit", "title": "x",
                      "likelihood": 6, "impact": 1, "owner": "carl"}, headers=fin)  # fmt: skip
    assert bad.status_code == 400  # named by its JSON path (issue 13 fix round)
    assert bad.get_json()["error"].startswith("$.likelihood: 6 is not a whole number from 1 to 5")
    patched = client.patch(f"/api/v1/risks/{made['id']}", json={"impact": 1}, headers=fin)
    assert patched.status_code == 200 and patched.get_json()["score"] == 4  # 4 x 1: low
    read_only = client.patch(f"/api/v1/risks/{made['id']}", json={"impact": 2}, headers=aud)
    assert read_only.status_code == 403
    listed = client.get("/api/v1/risks?limit=1", headers=aud)
    assert listed.status_code == 200 and listed.headers["X-Total-Count"] == "2"
    assert listed.get_json()["items"][0]["score"] == 25
    heat = client.get("/api/v1/risks/heat-map", headers=aud).get_json()
    assert heat["cells"][4][4] == 1 and heat["cells"][3][0] == 1 and heat["total"] == 2
    assert heat["bands"] == {"low": 1, "medium": 0, "high": 0, "critical": 1}
    assert client.post("/api/v1/risks", json={}, headers=aud).status_code == 403
    dist = bearer("distributor", party="D1")
    assert client.get("/api/v1/risks", headers=dist).status_code == 403
    assert client.get(f"/api/v1/risks/{made['id']}", headers=dist).status_code == 403
    assert client.get("/api/v1/risks/heat-map", headers=dist).status_code == 403
    assert client.get("/api/v1/risks/999", headers=aud).status_code == 404


def test_the_page_shows_the_heat_map_beside_its_numbers_in_english_and_chinese(
    engine: Engine, login_as: Callable[..., FlaskClient], client: FlaskClient,
    bearer: Callable[..., dict[str, str]], make_party: Callable[..., int],
    make_user: Callable[..., int],
) -> None:  # fmt: skip
    make_party("D1")
    make_user("carl", "channel_manager")
    _risk(client, bearer("finance"), likelihood=2, impact=5, title="Grey imports in D1")
    browser = login_as("finance", username="fin")
    page = browser.get("/risk/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "echarts-5.5.1/echarts.min.js" in html and "risk-heat-map" in html
    assert "Grey imports in D1" in html and "2 × 5 = 10" in html
    # the table beside the chart: likelihood row 2, impact column 5 holds the 1
    row = re.search(r'<tr><th scope="row">2</th>(.*?)</tr>', html)
    assert row is not None
    assert re.findall(r'<td class="num">(\d+)</td>', row.group(1)) == ["0", "0", "0", "0", "1"]
    _chinese(engine, "fin")
    zh = browser.get("/risk/")
    assert zh.status_code == 200 and 'lang="zh' in zh.get_data(as_text=True)


def test_a_bad_likelihood_is_named_next_to_its_field(
    login_as: Callable[..., FlaskClient], csrf_token: Callable[..., str],
    make_user: Callable[..., int],
) -> None:  # fmt: skip
    make_user("carl", "channel_manager")
    browser = login_as("channel_manager", username="cm")
    form = {
        "csrf_token": csrf_token("/risk/", on=browser), "category": "market",
        "title": "Price war", "likelihood": "6", "impact": "3", "owner": "carl",
        "status": "open",
    }  # fmt: skip
    r = browser.post("/risk/", data=form)
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    # the field is named by its label, not by its key "likelihood"
    assert re.search(
        r'id="likelihood-error">Likelihood \(1-5\): 6 is not a whole number from 1 to 5', html
    )
    assert 'value="Price war"' in html  # what was typed stays
    ok = browser.post("/risk/", data={**form, "likelihood": "2"})
    assert ok.status_code == 302
    risk_page = browser.get(ok.headers["Location"])
    assert risk_page.status_code == 200 and "Price war" in risk_page.get_data(as_text=True)
    edit = browser.post(
        ok.headers["Location"] + "/edit", data={**form, "likelihood": "1", "status": "closed"}
    )
    assert edit.status_code == 302


def test_a_distributor_gets_no_register_page(login_as: Callable[..., FlaskClient]) -> None:
    browser = login_as("distributor", party="D1")
    assert browser.get("/risk/").status_code in (403, 404)
