"""The portal and finance's queue through the pages and the API: a distributor sees
a statement only once its run is posted and only its own, confirms it or disputes
lines with a reason each and follows finance's answer; finance resolves each
disputed line by an adjustment or a written rejection; auditors read the queue."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

import settlement
from settlement.models import Adjustment
from tests.statements._world import billing, party, set_status, statement

Bearer = Callable[..., dict[str, str]]
Login = Callable[..., FlaskClient]
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _token(page: str) -> str:
    match = _CSRF.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _text(response: TestResponse) -> str:
    """What a reader sees: the page without its tags, spaces collapsed."""
    words = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(words))


@pytest.mark.parametrize("status", ["draft", "approved"])
def test_a_distributor_sees_a_statement_only_once_its_run_is_posted(
    engine: Engine, login_as: Login, status: str
) -> None:
    dist = login_as("distributor", party="D-1")
    pid = party(engine, "D-1")
    run_id, sid = statement(engine, pid, status=status)
    for url in (
        f"/partner/statements/{sid}",
        f"/api/v1/statements/{sid}",
        f"/api/v1/statements/{sid}/download?format=pdf",
        f"/api/v1/statements/{sid}/download?format=csv",
    ):
        assert dist.get(url).status_code == 404, url
    assert f"/partner/statements/{sid}" not in dist.get("/partner/statements").get_data(
        as_text=True
    )
    assert dist.get("/api/v1/statements").get_json() == []

    set_status(engine, run_id, "posted")
    assert dist.get(f"/partner/statements/{sid}").status_code == 200
    assert dist.get(f"/api/v1/statements/{sid}/download?format=pdf").data.startswith(b"%PDF")
    assert [s["id"] for s in dist.get("/api/v1/statements").get_json()] == [sid]
    listing = dist.get("/partner/statements")
    assert f'href="/partner/statements/{sid}"' in listing.get_data(as_text=True)
    assert "awaiting response" in _text(listing)


def test_another_partys_statement_answers_404(engine: Engine, login_as: Login) -> None:
    dist = login_as("distributor", party="D-1")
    _, theirs = statement(engine, party(engine, "D-2"))
    assert dist.get(f"/partner/statements/{theirs}").status_code == 404
    assert dist.get(f"/api/v1/statements/{theirs}").status_code == 404
    token = _token(dist.get("/partner/statements").get_data(as_text=True))
    answer = dist.post(
        f"/partner/statements/{theirs}/respond", data={"csrf_token": token, "action": "confirm"}
    )
    assert answer.status_code == 404
    assert (
        settlement.get_statement(engine, theirs, settlement.Actor("f", "finance")).response is None
    )


def test_the_statement_page_reads_in_words(engine: Engine, login_as: Login) -> None:
    dist = login_as("distributor", party="D-1")
    pid = party(engine, "D-1")
    billing(engine, pid, "Muster Vertrieb GmbH")
    _, sid = statement(engine, pid, opening_balance=-4200)
    page = _text(dist.get(f"/partner/statements/{sid}"))
    for seen in ("Muster Vertrieb GmbH", "Hauptstrasse 5", "EUR 3.00 per unit", "× 1.1",
                 "2.0 % of value", "Diversion fine", "EUR -150.00", "EUR 278.50",
                 "Balance brought forward", "EUR -42.00", "2026-10-03"):  # fmt: skip
        assert seen in page, seen
    assert "tier_retroactive" not in page and "class_multiplier" not in page


def test_confirm_and_dispute_on_the_portal_and_finance_answers(
    app: Flask, engine: Engine, login_as: Login
) -> None:
    dist = login_as("distributor", party="D-1")
    pid = party(engine, "D-1")
    _, first = statement(engine, pid, period="2026-08")
    _, second = statement(engine, pid, period="2026-09")
    page = dist.get(f"/partner/statements/{first}").get_data(as_text=True)
    assert "Confirm" in page and "Dispute lines" in page
    token = _token(page)
    done = dist.post(f"/partner/statements/{first}/respond",
                     data={"csrf_token": token, "action": "confirm"}, follow_redirects=True)  # fmt: skip
    assert "Statement confirmed" in _text(done)
    assert "confirmed" in _text(dist.get("/partner/statements"))
    again = dist.post(f"/partner/statements/{first}/respond",
                      data={"csrf_token": token, "action": "confirm"})  # fmt: skip
    assert again.status_code == 409 and "cannot be changed" in _text(again)

    # Line 2 ticked without a reason: named, and what was typed for line 4 is kept.
    bad = dist.post(
        f"/partner/statements/{second}/respond",
        data={"csrf_token": token, "action": "dispute", "dispute": ["1", "3"],
              "reason-3": "returned, not diverted"},
    )  # fmt: skip
    assert bad.status_code == 422
    assert "A reason for disputing line 2 (Partner class multiplier) is required." in _text(bad)
    assert "returned, not diverted" in _text(bad)
    assert (
        settlement.get_statement(engine, second, settlement.Actor("f", "finance")).response is None
    )

    ok = dist.post(
        f"/partner/statements/{second}/respond",
        data={"csrf_token": token, "action": "dispute", "dispute": ["0"],
              "reason-0": "we sold 125 units", "reason-3": "returned, not diverted"},
        follow_redirects=True,
    )  # fmt: skip
    assert "2 lines disputed" in _text(ok)
    assert "disputed — 2 lines open" in _text(dist.get("/partner/statements"))

    finance = login_as("finance", username="fiona", on=app.test_client())
    queue_page = finance.get("/finance/disputes/")
    queue = _text(queue_page)
    assert "we sold 125 units" in queue and "returned, not diverted" in queue
    disputes, _ = settlement.list_disputes(engine, settlement.Actor("f", "finance"))
    rebate, fine = sorted(disputes, key=lambda d: d.line_position)
    ftoken = _token(queue_page.get_data(as_text=True))
    wrong = finance.post(f"/finance/disputes/{rebate.id}/adjust",
                         data={"csrf_token": ftoken, "amount": "15,00", "note": "5 more units"})  # fmt: skip
    assert wrong.status_code == 422 and "not an amount like 12.50" in _text(wrong)
    adjusted = finance.post(
        f"/finance/disputes/{rebate.id}/adjust",
        data={"csrf_token": ftoken, "amount": "15.00", "note": "5 more units sold in"},
        follow_redirects=True,
    )
    assert "waits for a second finance user's approval" in _text(adjusted)
    with Session(engine) as s:
        adj = s.scalars(select(Adjustment)).one()
    # 5 units x EUR 3.00 = EUR 15.00, pending until a second finance user approves it
    assert (adj.party_id, adj.amount_minor, adj.status) == (pid, 1500, "pending")
    assert "disputed — 1 line open" in _text(dist.get("/partner/statements"))

    no_reason = finance.post(f"/finance/disputes/{fine.id}/reject",
                             data={"csrf_token": ftoken, "reason": " "})  # fmt: skip
    assert no_reason.status_code == 422 and "written reason" in _text(no_reason)
    finance.post(f"/finance/disputes/{fine.id}/reject",
                 data={"csrf_token": ftoken, "reason": "Scans in Lyon show the units."})  # fmt: skip
    statement_page = _text(dist.get(f"/partner/statements/{second}"))
    assert "resolved" in statement_page
    assert "Scans in Lyon show the units." in statement_page
    assert f"adjustment {adj.id} of EUR 15.00" in statement_page
    assert "resolved" in _text(dist.get("/partner/statements"))
    assert "Scans in Lyon" in _text(finance.get("/finance/disputes/?status=rejected"))
    twice = finance.post(f"/finance/disputes/{fine.id}/reject",
                         data={"csrf_token": ftoken, "reason": "again"}, follow_redirects=True)  # fmt: skip
    assert "Dispute 2 is already rejected by fiona." in _text(twice)


def test_the_api_answers_and_resolves(engine: Engine, client: FlaskClient, bearer: Bearer) -> None:
    pid = party(engine, "D-1")
    _, sid = statement(engine, pid)
    _, draft = statement(engine, pid, status="draft", period="2026-10")
    dist = bearer("distributor", party="D-1")
    url = f"/api/v1/statements/{sid}/response"
    for body, message in (
        ({"disputes": [{"line": 2, "reason": ""}]},
         "a reason for disputing line 2 (Partner class multiplier) is required"),
        ({"disputes": [{"line": 0, "reason": "x"}]}, "disputes[0].line must be a line number"),
        ({"disputes": [{"line": 1, "reason": 5}]}, "disputes[0].reason must be a string"),
        ({"confirm": "yes"}, "confirm must be true or false"),
        ({}, "choose at least one line to dispute"),
    ):  # fmt: skip
        answer = client.post(url, json=body, headers=dist)
        assert answer.status_code == 422 and message in answer.get_json()["error"], body
    assert client.post(f"/api/v1/statements/{draft}/response", json={"confirm": True},
                       headers=dist).status_code == 404  # fmt: skip
    made = client.post(url, json={"disputes": [{"line": 1, "reason": "125 units"},
                                               {"line": 5, "reason": "too small"}]}, headers=dist)  # fmt: skip
    assert made.status_code == 201
    body = made.get_json()
    assert body["status"] == "disputed"
    assert [(d["line_number"], d["status"]) for d in body["disputes"]] == [(1, "open"), (5, "open")]
    assert client.post(url, json={"confirm": True}, headers=dist).status_code == 409
    detail = client.get(f"/api/v1/statements/{sid}", headers=dist).get_json()
    assert detail["state"] == "disputed — 2 lines open"
    assert detail["lines"][0]["text"]["rate_text"] == "EUR 3.00 per unit"

    auditor = bearer("auditor")
    queue = client.get("/api/v1/disputes?status=open&limit=1", headers=auditor).get_json()
    assert queue["total"] == 2 and len(queue["items"]) == 1 and queue["limit"] == 1
    first_id = queue["items"][0]["id"]
    second_id = body["disputes"][1]["id"]
    assert client.get("/api/v1/disputes?status=closed", headers=auditor).status_code == 400
    assert client.post(f"/api/v1/disputes/{first_id}/reject", json={"reason": "no"},
                       headers=auditor).status_code == 403  # fmt: skip
    finance = bearer("finance")
    bad = client.post(f"/api/v1/disputes/{first_id}/adjust", json={"amount_minor": "15.00",
                      "note": "x"}, headers=finance)  # fmt: skip
    assert bad.status_code == 422 and "amount_minor must be an integer" in bad.get_json()["error"]
    adjusted = client.post(f"/api/v1/disputes/{first_id}/adjust",
                           json={"amount_minor": 1500, "note": "5 more units"}, headers=finance)  # fmt: skip
    assert adjusted.status_code == 200
    assert (adjusted.get_json()["status"], adjusted.get_json()["adjustment_amount_minor"]) == (
        "adjusted", 1500,
    )  # fmt: skip
    rejected = client.post(f"/api/v1/disputes/{second_id}/reject",
                           json={"reason": "The adjustment was agreed."}, headers=finance)  # fmt: skip
    assert rejected.get_json()["resolution"] == "The adjustment was agreed."
    assert client.post(f"/api/v1/disputes/{second_id}/reject", json={"reason": "again"},
                       headers=finance).status_code == 409  # fmt: skip
    assert client.get("/api/v1/disputes/999999", headers=finance).status_code == 404
    assert client.get(f"/api/v1/statements/{sid}", headers=dist).get_json()["state"] == "resolved"


# (method, path) -> roles that pass the role check (everyone else gets 403)
_READERS = {"finance", "auditor", "admin"}
EXPECTED_API = {
    ("post", "/api/v1/statements/999999/response"): {"distributor"},
    ("get", "/api/v1/disputes"): _READERS,
    ("get", "/api/v1/disputes/999999"): _READERS,
    ("post", "/api/v1/disputes/999999/adjust"): {"finance"},
    ("post", "/api/v1/disputes/999999/reject"): {"finance"},
}
EXPECTED_PAGES = {
    ("get", "/finance/disputes/"): _READERS,
    ("post", "/finance/disputes/999999/adjust"): {"finance"},
    ("post", "/finance/disputes/999999/reject"): {"finance"},
    ("post", "/partner/statements/999999/respond"): {"distributor"},
}
ROLES = ("admin", "warehouse", "channel_manager", "finance", "distributor", "auditor")


def test_api_roles(client: FlaskClient, bearer: Bearer) -> None:
    for (method, path), allowed in EXPECTED_API.items():
        anonymous = {} if method == "get" else {"Authorization": "Bearer no-such-token"}
        call = client.get if method == "get" else client.post
        assert call(path, headers=anonymous, json={}).status_code == 401, path  # type: ignore[operator]
        for role in ROLES:
            headers = bearer(role, party="D-ROLE" if role == "distributor" else None)
            status = call(path, headers=headers, json={}).status_code  # type: ignore[operator]
            assert (status == 403) == (role not in allowed), (path, role, status)


@pytest.mark.parametrize("role", ROLES)
def test_page_roles(login_as: Login, csrf_token: Callable[..., str], role: str) -> None:
    browser = login_as(role, party="D-ROLE" if role == "distributor" else None)
    token = csrf_token("/")
    for (method, path), allowed in EXPECTED_PAGES.items():
        if method == "get":
            status = browser.get(path).status_code
        else:
            status = browser.post(path, data={"csrf_token": token}).status_code
        assert (status == 403) == (role not in allowed), (path, role, status)
