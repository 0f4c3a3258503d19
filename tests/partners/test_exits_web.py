"""Exits through the API, the pages and the command line: a party walked from
``active`` to ``terminated`` through the API, 400s naming the JSON path, 409s
naming the missing step, roles, and the pages in English and Chinese."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.in_force import day_start_ms
from partners.models import Agreement, PartnerEvent, PartnerExit, TerritoryGrant
from settlement.models import DepositMovement
from tests.partners._exit_world import IN_STOCK, IN_TRANSIT, SOLD, ExitWorld, build

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
START = {
    "party": "DX",
    "reason": "strategy_change",
    "note": "the brand leaves this market",
    "started_on": "2026-01-05",
    "buffer_days": 30,
}


@pytest.fixture
def world(engine: Engine, make_party: Callable[..., int]) -> ExitWorld:
    return build(engine, make_party)


def _status(engine: Engine, code: str) -> str:
    with Session(engine) as s:
        return str(s.scalar(select(Party.status).where(Party.code == code)))


def test_api_walks_a_party_from_active_to_terminated(
    world: ExitWorld, client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    pm = bearer("partner_manager")
    fin = bearer("finance")
    r = client.post("/api/v1/exits", json=START, headers=pm)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    exit_id = body["id"]
    assert r.headers["Location"] == f"/api/v1/exits/{exit_id}"
    assert (body["status"], body["party_status"], body["buffer_ends_on"]) == (
        "buffer",
        "exiting",
        "2026-02-04",
    )
    assert [s["name"] for s in body["steps"] if not s["done"]] == [
        "custody",
        "settlement",
        "completed",
    ]  # the buffer of 2026 is over by now
    page = client.get(f"/api/v1/exits/{exit_id}/custody?limit=1", headers=pm)
    assert page.status_code == 200
    assert page.headers["X-Total-Count"] == "2" and 'rel="next"' in page.headers["Link"]
    assert [u["unit"] for u in page.get_json()["items"]] == [IN_STOCK]
    r = client.post(
        f"/api/v1/exits/{exit_id}/handovers",
        json={"units": [IN_STOCK], "action": "handover", "to_party": "DY"},
        headers=pm,
    )
    assert r.status_code == 200 and r.get_json()["written"] == 1
    r = client.post(f"/api/v1/exits/{exit_id}/complete", json={}, headers=pm)
    assert r.status_code == 409
    assert "1 units in custody have no handover plan" in r.get_json()["error"]
    r = client.post(
        f"/api/v1/exits/{exit_id}/handovers", json={"units": "all", "action": "return"}, headers=pm
    )
    assert r.get_json()["written"] == 1
    r = client.post(
        f"/api/v1/exits/{exit_id}/handovers",
        json={"customers": ["Café Lumière"], "to_party": "DY"},
        headers=pm,
    )
    assert r.get_json()["exit"]["customers"][0]["customer"] == "Café Lumière"
    r = client.post(f"/api/v1/exits/{exit_id}/complete", json={}, headers=pm)
    assert r.status_code == 409 and "final settlement is not done" in r.get_json()["error"]
    run_id = world.owes(120_000)
    r = client.post(
        f"/api/v1/exits/{exit_id}/final-settlement", json={"period": "2026-01"}, headers=pm
    )
    assert r.status_code == 403  # finance settles
    r = client.post(
        f"/api/v1/exits/{exit_id}/final-settlement", json={"period": "2026-01"}, headers=fin
    )
    assert r.status_code == 200, r.get_json()
    settled = r.get_json()
    assert settled["run"] == {"id": run_id, "period": "2026-01", "status": "posted"}
    assert settled["deposit"] == {
        "held_minor": 500_000, "owed_minor": 120_000, "deducted_minor": 120_000,
        "refunded_minor": 380_000, "still_owed_minor": 0, "currency": "EUR",
    }  # fmt: skip
    r = client.post(
        f"/api/v1/exits/{exit_id}/complete", json={"completed_on": "2026-02-10"}, headers=pm
    )
    assert r.status_code == 200, r.get_json()
    done = r.get_json()
    assert (done["status"], done["party_status"], done["completed_on"]) == (
        "completed",
        "terminated",
        "2026-02-10",
    )
    assert all(s["done"] for s in done["steps"])
    assert _status(world.engine, "DX") == "terminated"
    # the records it left: the trail, the deposit's movements, the agreement and its grant
    with Session(world.engine) as s:
        pid = s.scalar(select(Party.id).where(Party.code == "DX"))
        trail = [
            a
            for a in s.scalars(
                select(PartnerEvent.action)
                .where(PartnerEvent.party_id == pid)
                .order_by(PartnerEvent.id)
            )
            if a.startswith(("exit.", "party.", "agreement.t"))
        ]
        assert trail == [
            "party.status", "exit.started", "exit.handover_planned", "exit.handover_planned",
            "exit.customers", "exit.settled", "agreement.terminated", "party.status",
            "exit.completed",
        ]  # fmt: skip
        moves = s.execute(
            select(DepositMovement.kind, DepositMovement.amount_minor)
            .where(DepositMovement.party_id == pid)
            .order_by(DepositMovement.id)
        ).all()
        assert [tuple(m) for m in moves] == [
            ("receipt", 500_000),
            ("deduction", -120_000),
            ("refund", -380_000),
        ]
        agreement = s.scalars(select(Agreement).where(Agreement.party_id == pid)).one()
        assert (agreement.status, agreement.terminated_on) == ("terminated", "2026-02-10")
        grant = s.scalars(select(TerritoryGrant).where(TerritoryGrant.party_id == pid)).one()
        assert grant.valid_to_ms == day_start_ms("2026-02-10")
    listed = client.get("/api/v1/exits?status=completed", headers=bearer("auditor")).get_json()
    assert [x["party"] for x in listed["items"]] == ["DX"] and listed["total"] == 1


def test_api_names_the_json_path_of_a_bad_member(
    world: ExitWorld, client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    pm = bearer("partner_manager")
    r = client.post(
        "/api/v1/exits",
        json={"party": "DX", "reason": "serious_diversion", "evidence": {"alert": "x"}},
        headers=pm,
    )
    assert r.status_code == 400 and r.get_json()["error"].startswith("$.evidence.alert: ")
    r = client.post("/api/v1/exits", json={**START, "buffer_days": "30"}, headers=pm)
    assert r.status_code == 400 and "$.buffer_days" in r.get_json()["error"]
    r = client.post("/api/v1/exits", json={**START, "colour": "red"}, headers=pm)
    assert r.status_code == 400 and "$.colour" in r.get_json()["error"]
    r = client.post("/api/v1/exits", json={**START, "party": "NOPE"}, headers=pm)
    assert r.status_code == 404
    with Session(world.engine) as s:
        assert s.scalars(select(PartnerExit)).all() == []
    exit_id = client.post("/api/v1/exits", json=START, headers=pm).get_json()["id"]
    r = client.post(
        f"/api/v1/exits/{exit_id}/handovers",
        json={"units": [SOLD], "action": "return"},
        headers=pm,
    )
    assert r.status_code == 400
    assert r.get_json()["error"] == f"$.units[0]: {SOLD} is not in DX's custody"
    r = client.post(
        f"/api/v1/exits/{exit_id}/final-settlement",
        json={"period": "2025-13"},
        headers=bearer("finance"),
    )
    assert r.status_code == 400 and r.get_json()["error"].startswith("$.period: ")
    assert client.get("/api/v1/exits/999999", headers=pm).status_code == 404


def test_api_roles(
    world: ExitWorld, client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    for role, party in (("finance", None), ("channel_manager", None), ("distributor", "DX")):
        r = client.post("/api/v1/exits", json=START, headers=bearer(role, party))
        assert r.status_code == 403, role
    exit_id = client.post(
        "/api/v1/exits", json=START, headers=bearer("partner_manager")
    ).get_json()["id"]
    assert (
        client.get(f"/api/v1/exits/{exit_id}", headers=bearer("distributor", "DX")).status_code
        == 403
    )
    assert (
        client.get(f"/api/v1/exits/{exit_id}", headers=bearer("channel_manager")).status_code == 200
    )
    r = client.post(
        f"/api/v1/exits/{exit_id}/cancel", json={"reason": "kept"}, headers=bearer("admin")
    )
    assert r.status_code == 200 and r.get_json()["party_status"] == "active"


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_pages_in_english_and_chinese(
    world: ExitWorld, client: FlaskClient, login_as: Callable[..., FlaskClient]
) -> None:
    browser = login_as("partner_manager")
    page = browser.get("/partners/exits/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Start an exit" in html and "No exit." in html
    # a refused start names the field next to its input, and stores nothing
    r = browser.post(
        "/partners/exits/",
        data={"csrf_token": _csrf(html), "party": "DX", "reason": "serious_diversion", "alert": ""},
    )
    assert r.status_code == 422
    assert "evidence.alert: name the confirmed diversion alert" in r.get_data(as_text=True)
    assert _status(world.engine, "DX") == "active"
    r = browser.post(
        "/partners/exits/",
        data={
            "csrf_token": _csrf(html), "party": "DX", "reason": "strategy_change",
            "note": "the brand leaves", "started_on": "2026-01-05", "buffer_days": "30",
        },
    )  # fmt: skip
    assert r.status_code == 302 and r.headers["Location"].endswith("/partners/exits/party/DX")
    party = browser.get("/partners/exits/party/DX").get_data(as_text=True)
    assert "Exit of DX" in party and IN_STOCK in party and IN_TRANSIT in party
    assert "2 units in custody, 2 without a plan" in party
    assert SOLD not in party
    r = browser.post(
        re.search(r'action="([^"]+/handovers)"', party).group(1),  # type: ignore[union-attr]
        data={"csrf_token": _csrf(party), "all": "1", "action": "return"},
    )
    assert r.status_code == 302
    r = browser.post(
        re.search(r'action="([^"]+/complete)"', party).group(1),  # type: ignore[union-attr]
        data={"csrf_token": _csrf(party), "completed_on": "2026-02-10"},
    )
    assert r.status_code == 422
    assert "its final settlement is not done" in r.get_data(as_text=True)
    zh = browser.get("/partners/exits/party/DX", headers=ZH).get_data(as_text=True)
    assert "退出" in zh and "Exit of DX" not in zh
    zh_list = browser.get("/partners/exits/", headers=ZH).get_data(as_text=True)
    assert "Start an exit" not in zh_list
    assert "/partners/exits/" in browser.get("/").get_data(as_text=True)  # in the navigation
    none = browser.get("/partners/exits/party/DY").get_data(as_text=True)
    assert "DY has no exit." in none and "Start the exit" in none
    assert browser.get("/partners/exits/party/NOPE").status_code == 404


def test_pages_roles(
    world: ExitWorld, client: FlaskClient, login_as: Callable[..., FlaskClient]
) -> None:
    auditor = login_as("auditor")
    html = auditor.get("/partners/exits/").get_data(as_text=True)
    assert "Start an exit" not in html
    r = auditor.post("/partners/exits/", data={"csrf_token": _csrf(html), "party": "DX"})
    assert r.status_code == 403


def test_cli_start_show_complete(world: ExitWorld, run_cli: Callable[..., object]) -> None:
    r = run_cli(
        "exits", "start", "DX", "--reason", "strategy_change", "--note", "leaving",
        "--started-on", "2026-01-05", "--buffer-days", "30",
    )  # fmt: skip
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    exit_id = json.loads(r.output)["id"]  # type: ignore[attr-defined]
    shown = run_cli("exits", "show", str(exit_id))
    assert json.loads(shown.output)["steps"][2]["unplanned"] == 2  # type: ignore[attr-defined]
    r = run_cli("exits", "complete", str(exit_id))
    assert r.exit_code == 1  # type: ignore[attr-defined]
    assert "2 units in custody have no handover plan" in r.output  # type: ignore[attr-defined]
    r = run_cli("exits", "start", "DY", "--reason", "serious_diversion", "--alert", "77")
    assert r.exit_code == 1 and "alert 77 is not an alert of DY" in r.output  # type: ignore[attr-defined]
    listed = run_cli("exits", "list")
    assert f"{exit_id}\tDX\tstrategy_change\tbuffer" in listed.output  # type: ignore[attr-defined]


def test_finance_settles_on_the_page(
    world: ExitWorld,
    client: FlaskClient,
    login_as: Callable[..., FlaskClient],
    bearer: Callable[..., dict[str, str]],
) -> None:
    exit_id = client.post(
        "/api/v1/exits", json=START, headers=bearer("partner_manager")
    ).get_json()["id"]
    finance = login_as("finance")
    page = finance.get("/partners/exits/party/DX").get_data(as_text=True)
    assert "Settle the exit" in page and "Plan the handover of units" not in page
    r = finance.post(
        f"/partners/exits/{exit_id}/settle", data={"csrf_token": _csrf(page), "period": "2026-13"}
    )
    assert r.status_code == 422
    assert "period: &#39;2026-13&#39; is not a month YYYY-MM" in r.get_data(as_text=True)
    world.owes(120_000)
    r = finance.post(
        f"/partners/exits/{exit_id}/settle", data={"csrf_token": _csrf(page), "period": "2026-01"}
    )
    assert r.status_code == 302
    after = finance.get("/partners/exits/party/DX").get_data(as_text=True)
    assert "Settled by run" in after
    # held 500000 - owed 120000 = refunded 380000 minor units: EUR 3,800.00 on the page
    assert "3,800.00" in after and "1,200.00" in after and "5,000.00" in after
