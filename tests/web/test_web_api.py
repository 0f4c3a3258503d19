"""The JSON API: bearer tokens, role enforcement, JSON errors, the OpenAPI document."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify
from flask.testing import FlaskClient
from flask.typing import ResponseReturnValue
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from web import accounts, create_app
from web.api import json_body, query_int
from web.db import get_engine
from web.models import ApiToken
from web.security import current_party_id, require_roles

Bearer = Callable[..., dict[str, str]]


@pytest.fixture
def guarded(app: Flask) -> Flask:
    """Test-only endpoints under /api/v1 and a page, added before the first request."""

    @require_roles("finance")
    def finance_only() -> ResponseReturnValue:
        return {"party_id": current_party_id()}

    @require_roles("warehouse")
    def warehouse_only() -> ResponseReturnValue:
        return {"party_id": current_party_id()}

    @require_roles("finance")
    def finance_post() -> ResponseReturnValue:
        return {"got": json_body(), "n": query_int("n", 0, minimum=0)}

    app.add_url_rule("/api/v1/test/finance", view_func=finance_only)
    app.add_url_rule("/api/v1/test/warehouse", view_func=warehouse_only)
    app.add_url_rule(
        "/api/v1/test/finance", endpoint="finance_post", view_func=finance_post, methods=["POST"]
    )
    return app


def _error(response: TestResponse) -> dict[str, Any]:
    """The JSON error body, checked to have exactly the documented shape."""
    body: dict[str, Any] = json.loads(response.get_data(as_text=True))
    assert set(body) == {"error", "status"}
    assert body["status"] == response.status_code
    return body


def test_health_is_public(client: FlaskClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        # an empty ledger: nothing appended, nothing signed, nothing waiting
        "ledger": {
            "tree_size": 0,
            "checkpoint_size": 0,
            "unsigned_entries": 0,
            "checkpoint_age_seconds": None,
            "checkpoint_ahead": False,
        },
    }


def test_me_without_credentials_is_401_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.content_type == "application/json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    _error(response)


def test_me_with_a_token(client: FlaskClient, bearer: Bearer) -> None:
    headers = bearer("auditor", label="nightly verify", user="nightly")
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 200
    assert response.get_json() == {  # the token acts as its user; the label names no one
        "kind": "token",
        "name": "nightly",
        "display_name": "nightly",
        "role": "auditor",
        "party": None,
    }


def test_distributor_sees_its_own_party(client: FlaskClient, bearer: Bearer) -> None:
    east = client.get("/api/v1/me", headers=bearer("distributor", party="D-EAST")).get_json()
    west = client.get("/api/v1/me", headers=bearer("distributor", party="D-WEST")).get_json()
    assert east["party"]["code"] == "D-EAST"
    assert west["party"]["code"] == "D-WEST"
    assert east["party"]["id"] != west["party"]["id"]


def test_signed_in_distributor_sees_its_own_party(login_as: Callable[..., FlaskClient]) -> None:
    me = login_as("distributor", party="D-SOUTH").get("/api/v1/me").get_json()
    assert me["kind"] == "user"
    assert me["party"]["code"] == "D-SOUTH"


def test_current_party_id_scopes_queries(guarded: Flask, bearer: Bearer) -> None:
    client = guarded.test_client()
    # warehouse staff of a party (finance acts for none: web.accounts.PARTY_ROLES)
    headers = bearer("warehouse", party="D-FIN")
    party_id = client.get("/api/v1/me", headers=headers).get_json()["party"]["id"]
    assert client.get("/api/v1/test/warehouse", headers=headers).get_json() == {
        "party_id": party_id
    }


def test_only_the_token_hash_is_stored(engine: Engine, client: FlaskClient) -> None:
    with Session(engine) as session:
        new = accounts.create_token(session, "warehouse", label="dock 3")
        stored = session.scalars(select(ApiToken)).one()
    assert stored.token_hash == hashlib.sha256(new.secret.encode()).hexdigest()
    assert new.secret not in {stored.token_hash, stored.label}
    headers = {"Authorization": f"Bearer {new.secret}"}
    assert client.get("/api/v1/me", headers=headers).get_json()["role"] == "warehouse"


def test_revoked_token_is_refused(engine: Engine, client: FlaskClient) -> None:
    with Session(engine) as session:
        new = accounts.create_token(session, "warehouse")
        headers = {"Authorization": f"Bearer {new.secret}"}
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        accounts.revoke_token(session, new.id)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer ", "Basic YTpi"])
def test_bad_authorization_is_refused(client: FlaskClient, header: str) -> None:
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    _error(response)


def test_wrong_role_is_403_json(guarded: Flask, bearer: Bearer) -> None:
    client = guarded.test_client()
    response = client.get("/api/v1/test/finance", headers=bearer("warehouse"))
    assert response.status_code == 403
    _error(response)
    assert client.get("/api/v1/test/finance", headers=bearer("finance")).status_code == 200


def test_bearer_requests_need_no_csrf_but_cookie_requests_do(
    guarded: Flask, bearer: Bearer, login_as: Callable[..., FlaskClient]
) -> None:
    with_token = guarded.test_client().post(
        "/api/v1/test/finance?n=2", json={"a": 1}, headers=bearer("finance")
    )
    assert with_token.status_code == 200
    assert with_token.get_json() == {"got": {"a": 1}, "n": 2}

    browser = login_as("finance", on=guarded.test_client())
    forged = browser.post("/api/v1/test/finance", json={"a": 1})
    assert forged.status_code == 400
    assert "CSRF" in _error(forged)["error"]


def test_bad_input_answers_400_and_422(guarded: Flask, bearer: Bearer) -> None:
    client = guarded.test_client()
    headers = bearer("finance")
    not_json = client.post(
        "/api/v1/test/finance", data="{oops", headers=headers, content_type="application/json"
    )
    assert not_json.status_code == 400
    _error(not_json)
    not_object = client.post("/api/v1/test/finance", json=[1, 2], headers=headers)
    assert not_object.status_code == 422
    assert _error(not_object)["error"] == "the body must be a JSON object"
    bad_int = client.post("/api/v1/test/finance?n=x", json={}, headers=headers)
    assert bad_int.status_code == 400
    assert "'n'" in str(_error(bad_int)["error"])


def test_unknown_api_path_is_404_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert _error(response)["error"] == "not found"


def test_wrong_method_is_405_json_with_allow(client: FlaskClient) -> None:
    response = client.delete("/api/v1/health")
    assert response.status_code == 405
    _error(response)
    assert "GET" in response.headers["Allow"]


def test_pages_answer_errors_as_pages(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.content_type.startswith("text/html")


@pytest.fixture
def fragile_app(db_url: str, engine: Engine, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "DATABASE_URL": db_url,
            "INSTANCE_PATH": tmp_path / "fragile",
            "SECRET_KEY": "x",
            "PROPAGATE_EXCEPTIONS": False,  # as in production
            "MAX_CONTENT_LENGTH": 1024,
        }
    )

    def explode() -> ResponseReturnValue:
        raise RuntimeError("database password is hunter2")

    def upload() -> ResponseReturnValue:
        return jsonify(size=len(json_body()))

    app.add_url_rule("/api/v1/test/explode", view_func=explode)
    app.add_url_rule("/api/v1/test/upload", view_func=upload, methods=["POST"])
    yield app
    with app.app_context():
        get_engine().dispose()


def test_500_reveals_nothing(fragile_app: Flask) -> None:
    response = fragile_app.test_client().get("/api/v1/test/explode")
    assert response.status_code == 500
    assert _error(response)["error"] == "internal server error"
    text = response.get_data(as_text=True)
    assert "hunter2" not in text and "Traceback" not in text


def test_too_large_body_is_413_json(fragile_app: Flask, bearer: Bearer) -> None:
    response = fragile_app.test_client().post(
        "/api/v1/test/upload", json={"x": "y" * 5000}, headers=bearer("admin")
    )
    assert response.status_code == 413
    _error(response)


def test_openapi_document_lists_endpoints_and_their_roles(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = json.loads(response.get_data(as_text=True))
    assert doc["openapi"].startswith("3.1")
    assert {"/api/v1/me", "/api/v1/health", "/api/v1/openapi.json"} <= set(doc["paths"])
    me = doc["paths"]["/api/v1/me"]["get"]
    assert me["security"] == [{"bearerAuth": me["x-roles"]}, {"sessionCookie": me["x-roles"]}]
    assert set(me["x-roles"]) == {
        "admin",
        "warehouse",
        "channel_manager",
        "partner_manager",
        "finance",
        "distributor",
        "inspector",
        "auditor",
    }
    assert "401" in me["responses"] and "403" in me["responses"]
    assert doc["paths"]["/api/v1/health"]["get"]["security"] == []
    for scheme in ("bearerAuth", "sessionCookie"):
        assert scheme in doc["components"]["securitySchemes"]


def test_openapi_operation_ids_are_unique_and_path_parameters_declared(
    client: FlaskClient,
) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    for path, item in doc["paths"].items():
        for op in item.values():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), path
