"""Role enforcement on every settlement endpoint and page: anonymous callers get
401 (API) or the sign-in page, other roles 403, and the allowed roles get past the
check (404 for an id that does not exist)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from web.api import operations
from web.roles import Role

Bearer = Callable[..., dict[str, str]]

TAGS = {"alerts", "reports", "settlement"}
FINANCE_READERS = {Role.FINANCE, Role.ADMIN, Role.AUDITOR}
ALERT_READERS = {Role.CHANNEL_MANAGER, Role.ADMIN, Role.AUDITOR, Role.FINANCE, Role.DISTRIBUTOR}
MANAGERS = {Role.CHANNEL_MANAGER, Role.ADMIN}

# What each API operation must allow (method, path) -> roles; a new endpoint
# missing here fails test_every_endpoint_is_listed.
EXPECTED_API: dict[tuple[str, str], set[Role]] = {
    ("get", "/api/v1/alerts"): ALERT_READERS,
    ("get", "/api/v1/alerts/{alert_id}"): ALERT_READERS,
    ("post", "/api/v1/alerts/{alert_id}/investigate"): MANAGERS,
    ("post", "/api/v1/alerts/{alert_id}/confirm"): MANAGERS,
    ("post", "/api/v1/alerts/{alert_id}/dismiss"): MANAGERS,
    ("post", "/api/v1/alerts/{alert_id}/assign"): MANAGERS,
    ("post", "/api/v1/alerts/{alert_id}/notes"): MANAGERS | {Role.DISTRIBUTOR},
    ("post", "/api/v1/alerts/{alert_id}/appeal"): {Role.DISTRIBUTOR},
    ("post", "/api/v1/alerts/{alert_id}/attachments"): MANAGERS | {Role.DISTRIBUTOR},
    ("get", "/api/v1/reports"): ALERT_READERS,
    ("post", "/api/v1/reports"): {Role.DISTRIBUTOR},
    ("post", "/api/v1/reports/{report_id}/confirm"): MANAGERS,
    ("post", "/api/v1/reports/{report_id}/reject"): MANAGERS,
    ("get", "/api/v1/runs"): FINANCE_READERS,
    ("post", "/api/v1/runs"): {Role.FINANCE},
    ("get", "/api/v1/runs/{run_id}"): FINANCE_READERS,
    ("get", "/api/v1/runs/{run_id}/chart.png"): FINANCE_READERS,
    ("post", "/api/v1/runs/{run_id}/approve"): {Role.FINANCE},
    ("post", "/api/v1/runs/{run_id}/post"): {Role.FINANCE},
    ("post", "/api/v1/runs/{run_id}/discard"): {Role.FINANCE},
    ("get", "/api/v1/statements"): FINANCE_READERS | {Role.DISTRIBUTOR},
    ("get", "/api/v1/statements/{statement_id}"): FINANCE_READERS | {Role.DISTRIBUTOR},
    ("get", "/api/v1/statements/{statement_id}/download"): FINANCE_READERS | {Role.DISTRIBUTOR},
    ("get", "/api/v1/partner-scores"): FINANCE_READERS,
    ("post", "/api/v1/partner-scores"): {Role.FINANCE, Role.ADMIN},
}

EXPECTED_PAGES: dict[str, set[Role]] = {
    "alerts.index": MANAGERS,
    "alerts.detail": MANAGERS,
    "alerts.investigate": MANAGERS,
    "alerts.confirm": MANAGERS,
    "alerts.dismiss": MANAGERS,
    "alerts.assign": MANAGERS,
    "alerts.note": MANAGERS,
    "alerts.attach": MANAGERS,
    "alerts.attachment": MANAGERS,
    "alerts.reports": MANAGERS,
    "alerts.confirm_report": MANAGERS,
    "alerts.reject_report": MANAGERS,
    "settlement.runs": FINANCE_READERS,
    "settlement.create": {Role.FINANCE},
    "settlement.run": FINANCE_READERS,
    "settlement.approve": {Role.FINANCE},
    "settlement.post": {Role.FINANCE},
    "settlement.discard": {Role.FINANCE},
    "settlement.statement": FINANCE_READERS,
    "settlement.scores": FINANCE_READERS,
    "settlement.compute_scores": {Role.FINANCE},
    "partner.statements": {Role.DISTRIBUTOR},
    "partner.statement": {Role.DISTRIBUTOR},
    "partner.alerts": {Role.DISTRIBUTOR},
    "partner.alert": {Role.DISTRIBUTOR},
    "partner.appeal": {Role.DISTRIBUTOR},
    "partner.note": {Role.DISTRIBUTOR},
    "partner.report": {Role.DISTRIBUTOR},
    "partner.file_report": {Role.DISTRIBUTOR},
    "partner.respond": {Role.DISTRIBUTOR},
}


def _ours() -> list[tuple[str, str]]:
    return sorted({(op.method, op.path) for op in operations() if TAGS & set(op.tags)})


def _concrete(path: str) -> str:
    return re.sub(r"\{[a-z_]+\}", "999999", path)


def test_every_endpoint_is_listed(words_app: Flask) -> None:
    declared = {(op.method, op.path): set(op.roles or ()) for op in operations()}
    assert set(_ours()) == set(EXPECTED_API)
    for key, roles in EXPECTED_API.items():
        assert declared[key] == roles, key


def _call(client: FlaskClient, method: str, path: str, headers: dict[str, str]) -> int:
    url = _concrete(path)
    if path.endswith("/download"):
        url += "?format=csv"
    if path == "/api/v1/partner-scores" and method == "get":
        url += "?quarter=2026-Q3"
    if method == "get":
        return client.get(url, headers=headers).status_code
    return client.post(url, json={}, headers=headers).status_code


def test_api_roles(client: FlaskClient, bearer: Bearer) -> None:
    tokens = {
        role: bearer(role.value, party="D-ROLE" if role is Role.DISTRIBUTOR else None)
        for role in Role
    }
    for method, path in EXPECTED_API:
        # Anonymous: a cookie-less POST would first fail its CSRF check (400), so
        # POSTs carry a token that matches no one.
        anonymous = {} if method == "get" else {"Authorization": "Bearer no-such-token"}
        assert _call(client, method, path, anonymous) == 401, (method, path)
        for role in Role:
            status = _call(client, method, path, tokens[role])
            if role in EXPECTED_API[(method, path)]:
                assert status not in (401, 403), (method, path, role, status)
            else:
                assert status == 403, (method, path, role, status)


def test_api_answers_404_for_a_missing_run_statement_or_alert(
    client: FlaskClient, bearer: Bearer
) -> None:
    finance = bearer("finance")
    assert client.get("/api/v1/runs/424242", headers=finance).status_code == 404
    assert client.get("/api/v1/statements/424242", headers=finance).status_code == 404
    manager = bearer("channel_manager")
    answer = client.get("/api/v1/alerts/424242", headers=manager)
    assert answer.status_code == 404 and answer.get_json()["status"] == 404


def test_every_page_is_listed_with_its_roles(words_app: Flask) -> None:
    ours = {
        endpoint: set(getattr(view, "hopchain_roles", ()))
        for endpoint, view in words_app.view_functions.items()
        if endpoint.split(".")[0] in ("alerts", "settlement", "partner")
    }
    assert ours == EXPECTED_PAGES


def _page_url(app: Flask, endpoint: str) -> tuple[str, str]:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    url = re.sub(
        r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: "x1" if m[1] == "name" else "999999", rule.rule
    )
    method = "post" if "POST" in (rule.methods or ()) else "get"
    return method, url


@pytest.mark.parametrize("role", list(Role))
def test_page_roles(
    app: Flask, login_as: Callable[..., FlaskClient], csrf_token: Callable[..., str], role: Role
) -> None:
    browser = login_as(role.value, party="D-ROLE" if role is Role.DISTRIBUTOR else None)
    token = csrf_token("/")
    for endpoint, allowed in EXPECTED_PAGES.items():
        method, url = _page_url(app, endpoint)
        if method == "get":
            status = browser.get(url).status_code
        else:
            status = browser.post(url, data={"csrf_token": token}).status_code
        if role in allowed:
            assert status != 403, (endpoint, role)
        else:
            assert status == 403, (endpoint, role, status)


def test_pages_send_anonymous_callers_to_sign_in(app: Flask, client: FlaskClient) -> None:
    for endpoint in EXPECTED_PAGES:
        method, url = _page_url(app, endpoint)
        if method == "get":
            answer = client.get(url)
            assert answer.status_code == 302 and "/login" in answer.headers["Location"], endpoint


def test_auditors_read_runs_but_see_no_actions(
    login_as: Callable[..., FlaskClient], bearer: Bearer, client: FlaskClient
) -> None:
    browser = login_as("auditor")
    page = browser.get("/settlement/")
    assert page.status_code == 200
    assert "Create a draft run" not in page.get_data(as_text=True)
    assert client.get("/api/v1/runs", headers=bearer("auditor")).get_json() == []
