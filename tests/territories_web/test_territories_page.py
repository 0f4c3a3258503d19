"""The territory page (``admin.territories``): grants with their history, the grant
and end forms, the upload form's errors, the map and counts, and who may see it."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable

import _territories_world as w
from flask.testing import FlaskClient
from sqlalchemy import Engine

import settlement

LoginAs = Callable[..., FlaskClient]
PAGE = "/admin/territories"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_grant_history_is_shown_per_party(
    login_as: LoginAs, world: dict[str, int], engine: Engine
) -> None:
    actor = settlement.Actor("test", "admin")
    aa = next(g for g in settlement.list_grants(engine) if g.party_code == "D1")
    settlement.end_party_grant(engine, aa.id, w.ms(2026, 2, 1, 0), actor)
    settlement.grant_party_territory(engine, "D1", "AA", w.ms(2026, 4, 1, 0), actor)
    browser = login_as("channel_manager")
    page = browser.get(PAGE)
    assert page.status_code == 200
    text = _text(page.get_data(as_text=True))
    assert "AA Aland 2026-01-01 2026-02-01 ended" in text
    assert "AA Aland 2026-04-01 — active" in text
    assert "BB Bland 2026-01-01 — active" in text
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


def test_grant_and_end_through_the_forms(
    login_as: LoginAs, csrf_token: Callable[..., str], world: dict[str, int], engine: Engine
) -> None:
    browser = login_as("channel_manager")
    token = csrf_token(PAGE, on=browser)
    granted = browser.post(
        f"{PAGE}/grants",
        data={"csrf_token": token, "party": "D2", "territory": "AA", "valid_from": "2026-05-01"},
        follow_redirects=True,
    )
    assert granted.status_code == 200
    assert "D2 holds AA from 2026-05-01" in granted.get_data(as_text=True)

    refused = browser.post(
        f"{PAGE}/grants",
        data={"csrf_token": token, "party": "D2", "territory": "ZZ", "valid_from": "2026-05-01"},
    )
    assert refused.status_code == 422
    assert "no territory with code &#39;ZZ&#39;" in refused.get_data(as_text=True)

    grant_id = next(
        g.id
        for g in settlement.list_grants(engine)
        if g.party_code == "D2" and g.territory_code == "AA"
    )
    ended = browser.post(
        f"{PAGE}/grants/{grant_id}/end",
        data={"csrf_token": token, "on": "2026-06-01"},
        follow_redirects=True,
    )
    assert "D2 holds AA until 2026-06-01" in ended.get_data(as_text=True)
    assert "AA Aland 2026-05-01 2026-06-01 ended" in _text(ended.get_data(as_text=True))


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
