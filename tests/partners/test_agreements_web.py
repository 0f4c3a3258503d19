"""Agreements through the API (/api/v1/agreements...), the pages (en and zh) and
``hopchain agreements``: the workflow as a program and a person see it, 400s that
name the JSON path, four eyes answered 409, the signed PDF served back."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable

import pytest
from click.testing import Result
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from notify.models import OutboxMessage
from partners.models import Agreement, PartnerTask, TerritoryGrant
from tests.partners._agreements_world import PDF, seed

Headers = Callable[..., dict[str, str]]
BODY = {
    "party": "D-EAST",
    "valid_from": "2026-01-01",
    "valid_to": "2026-12-31",
    "territories": ["DE", "FR"],
    "programs": ["VOL"],
    "deposit_minor": 500000,
    "credit_limit_minor": 2000000,
    "payment_terms_days": 45,
}


@pytest.fixture
def world(engine: Engine) -> Engine:
    seed(engine)
    return engine


def _approved(client: FlaskClient, bearer: Headers, drafter: dict[str, str]) -> str:
    made = client.post("/api/v1/agreements", json=BODY, headers=drafter)
    assert made.status_code == 201, made.get_json()
    number = made.get_json()["number"]
    assert client.post(f"/api/v1/agreements/{number}/submit", headers=drafter).status_code == 200
    legal = client.post(
        f"/api/v1/agreements/{number}/reviews",
        json={"stage": "legal", "approve": True},
        headers=bearer("partner_manager"),
    )
    assert legal.status_code == 200 and legal.get_json()["status"] == "business_review"
    business = client.post(
        f"/api/v1/agreements/{number}/reviews",
        json={"stage": "business", "approve": True, "note": "ok"},
        headers=bearer("finance"),
    )
    assert business.get_json()["status"] == "approved"
    return str(number)


def test_api_walks_an_agreement_from_draft_to_signed_and_terminated(
    client: FlaskClient, world: Engine, bearer: Headers
) -> None:
    drafter = bearer("partner_manager")
    number = _approved(client, bearer, drafter)
    signed = client.post(
        f"/api/v1/agreements/{number}/sign",
        data={"signed_on": "2025-12-20", "document": (io.BytesIO(PDF), "signed.pdf")},
        headers=drafter,
        content_type="multipart/form-data",
    )
    assert signed.status_code == 200, signed.get_json()
    body = signed.get_json()
    assert (body["status"], body["signed_on"], body["in_force_to"]) == (
        "signed", "2025-12-20", "2026-12-31",
    )  # fmt: skip
    assert [r["stage"] for r in body["reviews"]] == ["legal", "business"]
    assert body["documents"][0]["size"] == len(PDF)
    pdf = client.get(f"/api/v1/agreements/{number}/document", headers=bearer("auditor"))
    assert pdf.status_code == 200 and pdf.data == PDF and pdf.mimetype == "application/pdf"
    with Session(world) as s:
        assert s.scalar(select(func.count()).select_from(TerritoryGrant)) == 2

    listed = client.get("/api/v1/agreements?party=D-EAST&status=signed", headers=bearer("finance"))
    assert listed.headers["X-Total-Count"] == "1"
    assert [a["number"] for a in listed.get_json()["items"]] == [number]

    renewal = client.post(
        f"/api/v1/agreements/{number}/renew", json={"valid_to": "2027-12-31"}, headers=drafter
    )
    assert renewal.status_code == 201
    assert renewal.get_json()["valid_from"] == "2027-01-01"
    assert renewal.headers["Location"].endswith(renewal.get_json()["number"])

    ended = client.post(
        f"/api/v1/agreements/{number}/terminate",
        json={"ground": "mutual_consent", "terminated_on": "2026-07-01", "note": "both agree"},
        headers=drafter,
    )
    assert ended.status_code == 200, ended.get_json()
    assert (ended.get_json()["status"], ended.get_json()["in_force_to"]) == (
        "terminated", "2026-06-30",
    )  # fmt: skip


def test_api_signs_with_a_base64_pdf_and_refuses_anything_else(
    client: FlaskClient, world: Engine, bearer: Headers
) -> None:
    drafter = bearer("partner_manager")
    number = _approved(client, bearer, drafter)
    url = f"/api/v1/agreements/{number}/sign"
    missing = client.post(url, json={"signed_on": "2025-12-20"}, headers=drafter)
    assert missing.status_code == 400
    assert missing.get_json()["error"] == (
        "$.document: the signed agreement (a PDF file) is required"
    )
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nxxxx").decode()
    not_pdf = client.post(
        url, json={"signed_on": "2025-12-20", "document": png, "filename": "x.png"},
        headers=drafter,
    )  # fmt: skip
    assert not_pdf.get_json()["error"] == "$.document: x.png is not a PDF file"
    garbled = client.post(url, json={"signed_on": "2025-12-20", "document": "%%%"}, headers=drafter)
    assert garbled.get_json()["error"] == "$.document must be the PDF encoded in base64"
    ok = client.post(
        url,
        json={"signed_on": "2025-12-20", "document": base64.b64encode(PDF).decode()},
        headers=drafter,
    )
    assert ok.status_code == 200 and ok.get_json()["status"] == "signed"
    edit = client.patch(f"/api/v1/agreements/{number}", json={"deposit_minor": 1}, headers=drafter)
    assert edit.status_code == 409
    assert "is signed; only a draft can be edited" in edit.get_json()["error"]


def test_api_400s_name_the_json_path(client: FlaskClient, world: Engine, bearer: Headers) -> None:
    drafter = bearer("partner_manager")

    def error(body: dict[str, object]) -> str:
        answer = client.post("/api/v1/agreements", json=body, headers=drafter)
        assert answer.status_code == 400, answer.get_json()
        return str(answer.get_json()["error"])

    assert error({**BODY, "territories": ["DE", 7]}) == "$.territories[1] must be a string"
    assert error({**BODY, "territories": ["DE", "XX"]}) == (
        "$.territories[1]: XX is not a stored territory (hopchain territories import FILE)"
    )
    assert error({**BODY, "programs": ["NOPE"]}).startswith("$.programs[0]: NOPE is not")
    assert error({**BODY, "deposit_minor": "5000"}) == "$.deposit_minor must be an integer"
    assert error({**BODY, "valid_to": "2026-02-30"}).startswith("$.valid_to: '2026-02-30'")
    assert error({k: v for k, v in BODY.items() if k != "valid_from"}) == (
        "$.valid_from is required"
    )
    assert error({**BODY, "colour": "red"}).startswith("$.colour is not a member")
    assert error({**BODY, "kind": "supplementary"}) == (
        "$.amends: a supplementary agreement names the signed agreement it changes"
    )
    review = client.post(
        "/api/v1/agreements/AG-D-EAST-001/reviews", json={"stage": "legal", "approve": "yes"},
        headers=bearer("partner_manager"),
    )  # fmt: skip
    assert review.status_code == 400
    assert review.get_json()["error"] == "$.approve must be true or false"
    with Session(world) as s:
        assert s.scalar(select(func.count()).select_from(Agreement)) == 0
    zh = client.post(
        "/api/v1/agreements", json={**BODY, "territories": ["XX"]},
        headers={**drafter, "Accept-Language": "zh-CN"},
    )  # fmt: skip
    assert zh.get_json()["message"].startswith("$.territories[0]")
    assert re.search(r"[\u4e00-\u9fff]", zh.get_json()["message"])


def test_api_four_eyes_and_roles(client: FlaskClient, world: Engine, bearer: Headers) -> None:
    drafter = bearer("partner_manager", user="pm-anna")
    made = client.post("/api/v1/agreements", json=BODY, headers=drafter).get_json()
    number = made["number"]
    client.post(f"/api/v1/agreements/{number}/submit", headers=drafter)
    own = client.post(
        f"/api/v1/agreements/{number}/reviews", json={"stage": "legal", "approve": True},
        headers=bearer("partner_manager", user="pm-anna", label="another-token"),
    )  # fmt: skip
    assert own.status_code == 409
    assert own.get_json()["error"] == (
        f"pm-anna drafted, edited or submitted agreement {number}; another person reviews it"
    )
    wrong_role = client.post(
        f"/api/v1/agreements/{number}/reviews", json={"stage": "legal", "approve": True},
        headers=bearer("finance"),
    )  # fmt: skip
    assert wrong_role.status_code == 403
    assert (
        client.post("/api/v1/agreements", json=BODY, headers=bearer("finance")).status_code == 403
    )
    assert (
        client.get("/api/v1/agreements", headers=bearer("distributor", party="D-X")).status_code
        == 403
    )
    assert (
        client.get("/api/v1/agreements/AG-NOPE-001", headers=bearer("auditor")).status_code == 404
    )
    no_pdf = client.get(f"/api/v1/agreements/{number}/document", headers=bearer("auditor"))
    assert no_pdf.status_code == 404


def test_pages_walk_the_workflow_in_english_and_chinese(
    world: Engine, login_as: Callable[..., FlaskClient], csrf_token: Callable[..., str],
    app: object,
) -> None:  # fmt: skip
    from flask import Flask

    assert isinstance(app, Flask)
    pm = login_as("partner_manager", on=app.test_client())
    token = csrf_token("/partners/agreements/new", on=pm)
    bad = pm.post(
        "/partners/agreements/new",
        data={"csrf_token": token, "party": "D-EAST", "kind": "main", "valid_from": "2026-01-01",
              "valid_to": "2026-12-31", "territories": "DE XX", "deposit": "5000.00"},
    )  # fmt: skip
    assert bad.status_code == 422
    assert "XX is not a stored territory" in bad.get_data(as_text=True)
    made = pm.post(
        "/partners/agreements/new",
        data={"csrf_token": token, "party": "D-EAST", "kind": "main", "valid_from": "2026-01-01",
              "valid_to": "2026-12-31", "territories": "DE, FR", "programs": "VOL",
              "deposit": "5000.00", "credit_limit": "20000", "payment_terms_days": "45"},
    )  # fmt: skip
    assert made.status_code == 302
    url = made.headers["Location"]
    assert url.endswith("/partners/agreements/AG-D-EAST-001")
    page = pm.get(url).get_data(as_text=True)
    assert "5,000.00" in page and "DE, FR" in page and "Send to legal review" in page
    assert pm.post(url + "/submit", data={"csrf_token": token}).status_code == 302
    # the drafter cannot give the legal review: the page says why
    own = pm.post(url + "/review", data={"csrf_token": token, "stage": "legal",
                                         "decision": "approve"})  # fmt: skip
    assert own.status_code == 422
    assert "another person reviews it" in own.get_data(as_text=True)

    legal = login_as("partner_manager", on=app.test_client())
    legal.post(url + "/review", data={"csrf_token": csrf_token(url, on=legal), "stage": "legal",
                                      "decision": "approve"})  # fmt: skip
    finance = login_as("finance", on=app.test_client())
    with Session(world) as s:
        from web.models import User

        user = s.scalars(select(User).where(User.role == "finance")).first()
        assert user is not None
        user.locale = "zh_Hans_CN"
        s.commit()
    zh_page = finance.get(url).get_data(as_text=True)
    assert "业务审核" in zh_page or "审核" in zh_page
    finance.post(url + "/review", data={"csrf_token": csrf_token(url, on=finance),
                                        "stage": "business", "decision": "approve"})  # fmt: skip

    no_pdf = pm.post(url + "/sign", data={"csrf_token": token, "signed_on": "2025-12-20"})
    assert no_pdf.status_code == 422
    assert "the signed agreement (a PDF file) is required" in no_pdf.get_data(as_text=True)
    signed = pm.post(
        url + "/sign",
        data={"csrf_token": token, "signed_on": "2025-12-20",
              "document": (io.BytesIO(PDF), "signed.pdf")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert signed.status_code == 302
    page = pm.get(url).get_data(as_text=True)
    assert "Download the signed agreement (signed.pdf, PDF)" in page
    assert pm.get(url + "/document").data == PDF

    early = pm.post(url + "/terminate", data={
        "csrf_token": token, "ground": "material_breach", "terminated_on": "2026-06-01",
        "note": "sold outside DE", "notice_on": "2026-05-01", "cure_by": "2099-01-01"})  # fmt: skip
    assert early.status_code == 422
    assert "the partner may cure the breach until" in early.get_data(as_text=True)

    index = pm.get("/partners/agreements/?status=signed").get_data(as_text=True)
    assert "AG-D-EAST-001" in index
    history = pm.get("/partners/agreements/party/D-EAST").get_data(as_text=True)
    assert "AG-D-EAST-001" in history
    zh_index = finance.get("/partners/agreements/").get_data(as_text=True)
    assert "AG-D-EAST-001" in zh_index and re.search(r"[\u4e00-\u9fff]", zh_index)
    assert "Agreements" not in zh_index.split("<main", 1)[1]


def test_auditor_reads_but_has_no_actions_and_distributor_is_refused(
    world: Engine, login_as: Callable[..., FlaskClient], client: FlaskClient, bearer: Headers
) -> None:
    made = client.post("/api/v1/agreements", json=BODY, headers=bearer("partner_manager"))
    number = made.get_json()["number"]
    auditor = login_as("auditor")
    page = auditor.get(f"/partners/agreements/{number}")
    assert page.status_code == 200
    assert "Edit the draft" not in page.get_data(as_text=True)
    assert auditor.get("/partners/agreements/new").status_code == 403
    dist = login_as("distributor", party="D-EAST", on=client.application.test_client())
    assert dist.get("/partners/agreements/").status_code == 403


def test_expiring_soon_is_highlighted_and_the_cli_reminds_once(
    world: Engine, client: FlaskClient, bearer: Headers, run_cli: Callable[..., Result],
    login_as: Callable[..., FlaskClient], make_user: Callable[..., int],
) -> None:  # fmt: skip
    import datetime as dt

    drafter = bearer("partner_manager")
    today = dt.datetime.now(dt.UTC).date()
    body = {**BODY, "valid_from": (today - dt.timedelta(days=300)).isoformat(),
            "valid_to": (today + dt.timedelta(days=20)).isoformat()}  # fmt: skip
    number = client.post("/api/v1/agreements", json=body, headers=drafter).get_json()["number"]
    client.post(f"/api/v1/agreements/{number}/submit", headers=drafter)
    client.post(f"/api/v1/agreements/{number}/reviews", json={"stage": "legal", "approve": True},
                headers=bearer("partner_manager"))  # fmt: skip
    client.post(f"/api/v1/agreements/{number}/reviews",
                json={"stage": "business", "approve": True}, headers=bearer("channel_manager"))  # fmt: skip
    client.post(f"/api/v1/agreements/{number}/sign", headers=drafter, json={
        "signed_on": (today - dt.timedelta(days=301)).isoformat(),
        "document": base64.b64encode(PDF).decode()})  # fmt: skip

    page = login_as("channel_manager").get("/partners/agreements/").get_data(as_text=True)
    assert 'id="expiring-notice"' in page and "ends in 20 days" in page

    make_user("pm-zhang", "partner_manager")
    make_user("pm-nomail", "partner_manager")
    with Session(world) as s:
        from web.models import User

        zhang = s.scalars(select(User).where(User.username == "pm-zhang")).one()
        zhang.email, zhang.locale = "zhang@example.com", "zh_Hans_CN"
        s.commit()
    first = run_cli("agreements", "remind")
    assert first.exit_code == 0, first.output
    assert f"{number}\tD-EAST\tends {body['valid_to']}\t20 days" in first.output
    assert "1 reminders raised, 1 e-mails queued" in first.output
    again = run_cli("agreements", "remind")
    assert "0 reminders raised, 0 e-mails queued" in again.output
    with Session(world) as s:
        assert s.scalar(select(func.count()).select_from(PartnerTask)) == 1
        (mail,) = s.scalars(select(OutboxMessage)).all()
        assert (mail.kind, mail.recipient, mail.locale) == (
            "agreement-expiry", "zhang@example.com", "zh_Hans_CN",
        )  # fmt: skip
        assert number in mail.subject and re.search(r"[\u4e00-\u9fff]", mail.body_text)

    pm = login_as("partner_manager", on=client.application.test_client())
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      pm.get("/partners/agreements/").get_data(as_text=True))  # fmt: skip
    assert token is not None
    done = pm.post("/partners/agreements/remind", data={"csrf_token": token.group(1)},
                   follow_redirects=True)  # fmt: skip
    assert "No new reminder is due today." in done.get_data(as_text=True)
    listed = run_cli("agreements", "list", "--expiring", "30")
    assert listed.exit_code == 0 and number in listed.output
    shown = run_cli("agreements", "show", number)
    assert '"status": "signed"' in shown.output
    missing = run_cli("agreements", "show", "AG-NOPE-001")
    assert missing.exit_code == 1 and "no agreement AG-NOPE-001" in missing.output
    bad_day = run_cli("agreements", "remind", "--today", "2026-02-30")
    assert bad_day.exit_code == 2 and "must be a date" in bad_day.output
