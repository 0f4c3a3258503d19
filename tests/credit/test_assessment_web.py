"""The risk level through the API, the pages and the CLI (issue 13, area C): who may
assess, set by hand and read; refusals next to the field; the credit notes in the
reader's language."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from tests.credit._gate_world import World, make_world


@pytest.fixture
def world(engine: Engine) -> World:
    w = make_world(engine)
    w.rate("D-ONE", "CCC")
    w.limit("D-ONE", 100_000)
    return w


def test_the_api_assesses_sets_by_hand_and_lists(
    world: World, client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    finance = bearer("finance")
    made = client.post("/api/v1/credit/parties/D-ONE/assessment", headers=finance)
    assert made.status_code == 201, made.get_data(as_text=True)
    body = made.get_json()
    assert (body["party"], body["level"], body["cash_only"]) == ("D-ONE", "high", True)
    assert body["basis"]["grade"] == "CCC" and body["basis"]["why"] == ["grade"]
    assert [t["kind"] for t in body["action"]["tasks"]] == ["credit_termination"]

    none = client.post("/api/v1/credit/parties/D-TWO/assessment", headers=finance)
    assert none.status_code == 409
    assert "rate the party first" in none.get_data(as_text=True)
    assert client.post("/api/v1/credit/parties/NOPE/assessment", headers=finance).status_code == 404

    manager = bearer("channel_manager")
    refused = client.put(
        "/api/v1/credit/parties/D-ONE/assessment",
        json={"level": "low", "cash_only": False, "reason": "paid in full"},
        headers=manager,
    )
    assert refused.status_code == 403
    missing = client.put(
        "/api/v1/credit/parties/D-ONE/assessment",
        json={"level": "low", "cash_only": "no", "reason": "x"},
        headers=finance,
    )
    assert missing.status_code == 422 and "cash_only" in missing.get_data(as_text=True)
    empty = client.put(
        "/api/v1/credit/parties/D-ONE/assessment",
        json={"level": "low", "cash_only": False, "reason": "  "},
        headers=finance,
    )
    assert empty.status_code == 422
    assert "reason: say why the level is set by hand" in empty.get_data(as_text=True)
    set_ = client.put(
        "/api/v1/credit/parties/D-ONE/assessment",
        json={"level": "low", "cash_only": False, "reason": "paid in full"},
        headers=finance,
    )
    assert set_.status_code == 200
    assert set_.get_json()["action"]["cash_only_lifted"] is True

    listed = client.get(
        "/api/v1/credit/parties/D-ONE/assessments?limit=1", headers=bearer("auditor")
    )
    assert listed.status_code == 200
    page = listed.get_json()
    assert page["total"] == 2 and [a["level"] for a in page["items"]] == ["low"]
    assert "cursor=" in listed.headers.get("Link", "")
    denied = client.get(
        "/api/v1/credit/parties/D-ONE/assessments", headers=bearer("distributor", party="D-ONE")
    )
    assert denied.status_code == 403


def test_the_openapi_document_describes_the_endpoints(
    client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    doc = client.get("/api/v1/openapi.json", headers=bearer("admin")).get_json()
    path = doc["paths"]["/api/v1/credit/parties/{code}/assessment"]
    assert {"post", "put"} <= set(path)
    assert "get" in doc["paths"]["/api/v1/credit/parties/{code}/assessments"]


def test_the_pages_assess_and_refuse_next_to_the_field(
    world: World,
    app: Flask,
    login_as: Callable[..., FlaskClient],
    csrf_token: Callable[..., str],
) -> None:
    browser = login_as("finance")
    history = "/credit/assess/D-ONE/history"
    token = csrf_token(history, on=browser)
    done = browser.post("/credit/assess/D-ONE", data={"csrf_token": token})
    assert done.status_code == 302
    page = browser.get(history)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "high risk" in text and "CCC" in text
    assert "cash only" in text.lower()

    bad = browser.post(
        "/credit/assess/D-ONE/by-hand",
        data={"csrf_token": token, "level": "low", "cash_only": "no", "reason": ""},
    )
    assert bad.status_code == 422
    assert 'id="reason-error"' in bad.get_data(as_text=True)
    ok = browser.post(
        "/credit/assess/D-ONE/by-hand",
        data={"csrf_token": token, "level": "low", "cash_only": "no", "reason": "paid"},
    )
    assert ok.status_code == 302
    assert "Set by hand: paid" in browser.get(history).get_data(as_text=True)


def test_a_channel_manager_assesses_but_does_not_set_by_hand(
    world: World, login_as: Callable[..., FlaskClient], csrf_token: Callable[..., str]
) -> None:
    browser = login_as("channel_manager")
    token = csrf_token("/credit/assess/D-ONE/history", on=browser)
    assert browser.post("/credit/assess/D-ONE", data={"csrf_token": token}).status_code == 302
    refused = browser.post(
        "/credit/assess/D-ONE/by-hand",
        data={"csrf_token": token, "level": "low", "cash_only": "no", "reason": "x"},
    )
    assert refused.status_code == 403


def test_the_cli_assesses_one_party_or_all(
    world: World, run_cli: Callable[..., Result], make_user: Callable[..., int]
) -> None:
    make_user("fiona", "finance")
    one = run_cli("credit", "assess", "D-ONE", "--on", "2026-12-01")
    assert one.exit_code == 0, one.output
    body = json.loads(one.output)
    assert (body["level"], body["cash_only"], body["assessed_by"]) == ("high", True, "fiona")
    every = run_cli("credit", "assess", "--all")
    assert every.exit_code == 0, every.output
    lines = every.output.splitlines()
    assert lines[0] == "D-ONE high cash only"
    assert lines[-1] == "not rated, not assessed: D-TWO, D-YEN"
    neither = run_cli("credit", "assess")
    assert neither.exit_code != 0
