"""The territory page (``admin.territories``): grants with their history and the
agreement that made each (no grant form: grants come from signed agreements), the
upload form's errors, the map and counts, and who may see it."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable

import _territories_world as w
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import Engine

import settlement
from tests.agreement_support import signed_agreement

LoginAs = Callable[..., FlaskClient]
PAGE = "/admin/territories"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_grant_history_is_shown_per_party(
    login_as: LoginAs, world: dict[str, int], engine: Engine, app: Flask
) -> None:
    """A supplementary agreement from February 1 drops AA (AG-D1's grant ends that
    day), a second one gives it back from April 1: the page shows both grants of AA,
    each with the agreement that made it."""
    signed_agreement(engine, "D1", [], valid_from="2026-02-01", amends="AG-D1", number="AG-D1-2")
    signed_agreement(
        engine, "D1", ["AA"], valid_from="2026-04-01", amends="AG-D1-2", number="AG-D1-3"
    )
    browser = login_as("channel_manager")
    page = browser.get(PAGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    text = _text(html)
    assert "AA Aland 2026-01-01 2026-02-01 ended AG-D1 " in text
    assert "AA Aland 2026-04-01 2031-01-01 active AG-D1-3 " in text
    assert "BB Bland 2026-01-01 2031-01-01 active AG-D2 " in text
    with app.test_request_context():  # each number links to its agreement's page
        link = url_for("agreements.agreement", number="AG-D1-3")
    assert f'href="{link}">AG-D1-3</a>' in html
    # the hierarchy: the region and its countries
    assert "The North NORTH · 2 countries" in text


def test_map_and_counts_for_a_party_and_month(login_as: LoginAs, world: dict[str, int]) -> None:
    browser = login_as("admin")
    page = browser.get(f"{PAGE}?party=D1&month={w.MONTH}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"/api/v1/territories/map.png?party=D1&amp;month={w.MONTH}" in html
    text = _text(html)
    assert f"In zone {w.IN_ZONE}" in text
    assert f"Out of zone {w.OUT_OF_ZONE}" in text
    assert "Retail sale S2 BB" in text  # an out-of-zone scan (its kind in words), where seen
    image = browser.get(f"/api/v1/territories/map.png?party=D1&month={w.MONTH}&width=400")
    assert image.status_code == 200
    assert image.headers["X-Scans-In-Zone"] == str(w.IN_ZONE)


def test_grants_come_from_agreements_not_from_a_form(
    login_as: LoginAs, csrf_token: Callable[..., str], world: dict[str, int], engine: Engine
) -> None:
    browser = login_as("channel_manager")
    html = browser.get(PAGE).get_data(as_text=True)
    assert "Grants come from signed agreements" in _text(html)
    assert 'href="/partners/agreements/">Agreements</a>' in html  # where they are made
    assert 'name="valid_from"' not in html and "/grants" not in html  # no grant, no end form
    before = settlement.list_grants(engine)
    token = csrf_token(PAGE, on=browser)
    posted = browser.post(
        f"{PAGE}/grants",
        data={"csrf_token": token, "party": "D2", "territory": "AA", "valid_from": "2026-05-01"},
    )
    assert posted.status_code in (404, 405)
    ended = browser.post(f"{PAGE}/grants/{before[0].id}/end", data={"csrf_token": token})
    assert ended.status_code in (404, 405)
    assert settlement.list_grants(engine) == before


def test_upload_errors_name_the_feature_and_the_reason(
    login_as: LoginAs, csrf_token: Callable[..., str]
) -> None:
    browser = login_as("admin")
    token = csrf_token(PAGE, on=browser)
    bad = browser.post(
        f"{PAGE}/import",
        data={
            "csrf_token": token,
            "file": (io.BytesIO(json.dumps(w.bad_fc()).encode()), "bad.geojson"),
        },
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422
    text = _text(bad.get_data(as_text=True))
    assert "Nothing was imported." in text
    assert "Feature 1 (BAD)" in text
    assert "Reason invalid geometry: Self-intersection" in text

    good = browser.post(
        f"{PAGE}/import",
        data={
            "csrf_token": token,
            "file": (io.BytesIO(json.dumps(w.world_fc()).encode()), "world.geojson"),
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "world.geojson: 3 territories created, 0 updated." in good.get_data(as_text=True)


def test_who_may_use_the_page(
    login_as: LoginAs, client: FlaskClient, csrf_token: Callable[..., str], territories: None
) -> None:
    assert client.get(PAGE).status_code == 302  # to the sign-in page
    manager = login_as("channel_manager")
    page = manager.get(PAGE).get_data(as_text=True)
    assert f'href="{PAGE}"' in page  # in the navigation
    assert "Upload territories" not in page  # admins only
    upload = manager.post(
        f"{PAGE}/import",
        data={"csrf_token": csrf_token(PAGE, on=manager)},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 403


def test_a_distributor_may_not_see_the_page(login_as: LoginAs, territories: None) -> None:
    assert login_as("distributor", party="D1").get(PAGE).status_code == 403
