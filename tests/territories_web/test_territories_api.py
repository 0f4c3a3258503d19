"""``/api/v1/territories``: list, import (422 naming the feature), locate, map and its roles."""

from __future__ import annotations

import io
from collections.abc import Callable

import _territories_world as w
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import geo

Bearer = Callable[..., dict[str, str]]


def test_list_gives_codes_names_parents_and_levels(
    client: FlaskClient, bearer: Bearer, territories: None
) -> None:
    response = client.get("/api/v1/territories", headers=bearer("warehouse"))
    assert response.status_code == 200
    assert response.get_json() == [
        {"code": "NORTH", "name": "The North", "parent": None, "level": "region"},
        {"code": "AA", "name": "Aland", "parent": "NORTH", "level": "country"},
        {"code": "BB", "name": "Bland", "parent": "NORTH", "level": "country"},
    ]
    assert client.get("/api/v1/territories").status_code == 401


def test_import_answers_422_naming_the_feature_and_stores_nothing(
    client: FlaskClient, bearer: Bearer, engine: Engine
) -> None:
    response = client.post("/api/v1/territories/import", json=w.bad_fc(), headers=bearer("admin"))
    assert response.status_code == 422
    body = response.get_json()
    assert body["feature"] == 1
    assert body["code"] == "BAD"
    assert body["reason"].startswith("invalid geometry: Self-intersection")
    assert body["error"].startswith("feature 1 (BAD): ")
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(geo.TerritoryRow)) == 0


def test_import_needs_admin_and_reports_codes(client: FlaskClient, bearer: Bearer) -> None:
    denied = client.post(
        "/api/v1/territories/import", json=w.world_fc(), headers=bearer("channel_manager")
    )
    assert denied.status_code == 403
    done = client.post("/api/v1/territories/import", json=w.world_fc(), headers=bearer("admin"))
    assert done.status_code == 200
    assert done.get_json() == {"created": ["NORTH", "AA", "BB"], "updated": []}
    not_fc = client.post(
        "/api/v1/territories/import", json={"type": "Feature"}, headers=bearer("admin")
    )
    assert not_fc.status_code == 422
    assert not_fc.get_json()["feature"] is None


def test_locate_answers_the_territory_and_its_ancestors(
    client: FlaskClient, bearer: Bearer, territories: None
) -> None:
    headers = bearer("distributor", party="D1")
    inside = client.get("/api/v1/territories/locate?lon=11&lat=51", headers=headers)
    assert inside.status_code == 200
    assert inside.get_json() == {
        "lon": 11.0,
        "lat": 51.0,
        "territory": {"code": "AA", "name": "Aland", "parent": "NORTH", "level": "country"},
        "ancestors": [{"code": "NORTH", "name": "The North", "parent": None, "level": "region"}],
    }
    region = client.get("/api/v1/territories/locate?lon=30&lat=45", headers=headers).get_json()
    assert region["territory"]["code"] == "NORTH"
    assert region["ancestors"] == []
    nowhere = client.get("/api/v1/territories/locate?lon=100&lat=10", headers=headers)
    assert nowhere.get_json()["territory"] is None

    missing = client.get("/api/v1/territories/locate?lon=11", headers=headers)
    assert missing.status_code == 400
    assert "lat is required" in missing.get_json()["error"]
    out_of_range = client.get("/api/v1/territories/locate?lon=11&lat=91", headers=headers)
    assert out_of_range.status_code == 400
    assert "lat must be a number from -90 to 90" in out_of_range.get_json()["error"]
    assert client.get("/api/v1/territories/locate?lon=11&lat=51").status_code == 401


def test_map_png_counts_match_the_hand_built_scans(
    client: FlaskClient, bearer: Bearer, world: dict[str, int]
) -> None:
    response = client.get(
        f"/api/v1/territories/map.png?party=D1&month={w.MONTH}&width=600",
        headers=bearer("channel_manager"),
    )
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["X-Scans-In-Zone"] == str(w.IN_ZONE)
    assert response.headers["X-Scans-Out-Of-Zone"] == str(w.OUT_OF_ZONE)
    assert response.headers["X-Month"] == w.MONTH
    image = Image.open(io.BytesIO(response.data))
    assert image.format == "PNG"
    assert image.width == 600

    # D2's unit 6 only: received in BB, its own territory
    d2 = client.get(
        f"/api/v1/territories/map.png?party=D2&month={w.MONTH}", headers=bearer("admin")
    )
    assert (d2.headers["X-Scans-In-Zone"], d2.headers["X-Scans-Out-Of-Zone"]) == ("1", "0")


def test_a_distributor_maps_only_its_own_party(
    client: FlaskClient, bearer: Bearer, world: dict[str, int]
) -> None:
    d2 = bearer("distributor", party="D2")
    other = client.get(f"/api/v1/territories/map.png?party=D1&month={w.MONTH}", headers=d2)
    assert other.status_code == 403
    own = client.get(f"/api/v1/territories/map.png?month={w.MONTH}", headers=d2)
    assert own.status_code == 200
    assert own.headers["X-Scans-In-Zone"] == "1"
    assert client.get("/api/v1/territories/map.png", headers=bearer("finance")).status_code == 403


def test_map_errors_name_the_problem(
    client: FlaskClient, bearer: Bearer, world: dict[str, int]
) -> None:
    headers = bearer("channel_manager")
    unknown = client.get("/api/v1/territories/map.png?party=NOPE", headers=headers)
    assert unknown.status_code == 404
    assert "no party with code 'NOPE'" in unknown.get_json()["error"]
    bad_month = client.get("/api/v1/territories/map.png?party=D1&month=2026-3", headers=headers)
    assert bad_month.status_code == 400
    assert "month must be a month such as 2026-11" in bad_month.get_json()["error"]
    plain = client.get("/api/v1/territories/map.png", headers=headers)
    assert plain.status_code == 200
    assert "X-Scans-In-Zone" not in plain.headers


def test_map_without_territories_is_404(client: FlaskClient, bearer: Bearer) -> None:
    response = client.get("/api/v1/territories/map.png", headers=bearer("admin"))
    assert response.status_code == 404
    assert "import a GeoJSON file first" in response.get_json()["error"]
