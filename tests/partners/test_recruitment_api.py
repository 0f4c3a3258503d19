"""The recruitment API: the public application endpoint (201, 400 naming JSON paths,
honeypot, rate limit), walking a prospect to a trial and deciding it, roles."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.audit import history
from partners.models import Agreement, PartnerEvent, ProgramEnrolment, Prospect, TerritoryGrant
from tests.partners._agreements_world import seed
from tests.partners._recruit_world import APPLICATION, image_bytes

Bearer = Callable[..., dict[str, str]]


def _prospects(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count(Prospect.id))) or 0)


def test_a_public_application_is_created(client: FlaskClient, engine: Engine) -> None:
    r = client.post("/api/v1/applications", json=APPLICATION)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["reference"].startswith("APP-")
    assert r.headers["Location"].endswith(f"/api/v1/prospects/{body['id']}")
    with Session(engine) as s:
        p = s.get(Prospect, body["id"])
        assert p is not None and (p.source, p.stage, p.channel) == ("api", "application", "inbound")


def test_missing_and_bad_members_are_named_by_json_path(
    client: FlaskClient, engine: Engine
) -> None:
    r = client.post(
        "/api/v1/applications",
        json={"company_name": "", "country": "ZZ", "contact_email": "x@", "fax": "1"},
    )
    assert r.status_code == 400
    assert [e["path"] for e in r.get_json()["errors"]] == [
        "$.fax",
        "$.company_name",
        "$.country",
        "$.contact_name",
        "$.contact_email",
    ]
    assert r.get_json()["errors"][0]["error"].startswith("fax: is not a field of an application")
    r = client.post(
        "/api/v1/applications", json={"company_name": "", "country": "ZZ", "contact_email": "x@"}
    )
    assert r.status_code == 400
    errors = r.get_json()["errors"]
    assert [e["path"] for e in errors] == [
        "$.company_name",
        "$.country",
        "$.contact_name",
        "$.contact_email",
    ]
    assert errors[1]["error"] == "country: 'ZZ' is not an ISO 3166 country code (like DE, CN, US)"
    assert _prospects(engine) == 0


def test_the_refusal_is_also_in_the_callers_language(client: FlaskClient) -> None:
    r = client.post(
        "/api/v1/applications",
        json={**APPLICATION, "company_name": " "},
        headers={"Accept-Language": "zh-CN"},
    )
    assert r.status_code == 400
    (error,) = r.get_json()["errors"]
    assert error["error"] == "company_name: is empty"
    assert error["message"] != error["error"] and "公司" in error["message"]


def test_the_honeypot_stores_nothing(client: FlaskClient, engine: Engine) -> None:
    r = client.post("/api/v1/applications", json={**APPLICATION, "website_url": "http://spam"})
    assert r.status_code == 201 and r.get_json()["reference"].startswith("APP-")
    assert _prospects(engine) == 0
    with Session(engine) as s:
        assert s.scalar(select(func.count(PartnerEvent.id))) == 0


def test_applications_are_rate_limited_per_address(
    app: Flask, client: FlaskClient, engine: Engine
) -> None:
    app.config["APPLICATION_LIMITS"] = "3 per hour"
    codes = [client.post("/api/v1/applications", json=APPLICATION).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    other = client.post(
        "/api/v1/applications", json=APPLICATION, environ_overrides={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert other.status_code == 201
    assert _prospects(engine) == 4


def _walk(client: FlaskClient, pm: dict[str, str], pid: int) -> None:
    def post(path: str, body: dict[str, Any], status: int = 200) -> Any:
        r = client.post(f"/api/v1/prospects/{pid}/{path}", json=body, headers=pm)
        assert r.status_code == status, (path, r.get_json())
        return r.get_json()

    post("stage", {"stage": "screening", "due_on": "2026-12-20"})
    screening = post(
        "scores",
        {
            "scores": [
                {"criterion": c, "score": s, "reason": "seen"}
                for c, s in (
                    ("qualification", 80),
                    ("sales_capability", 70),
                    ("resources", 60),
                    ("willingness", 90),
                )
            ]
        },
    )
    assert (screening["total"], screening["complete"]) == ("75.0", True)
    post("stage", {"stage": "site_visit"})
    png = base64.b64encode(image_bytes()).decode()
    visit = post(
        "visits",
        {
            "visited_on": "2026-11-20",
            "visitor": "Rita",
            "report": "Good warehouse",
            "photos": [{"filename": "front.png", "content_type": "image/png", "data_base64": png}],
        },
        201,
    )
    photo = client.get(visit["photos"][0]["url"], headers=pm)
    assert photo.status_code == 200 and photo.mimetype == "image/png"
    assert photo.data == image_bytes()
    post("stage", {"stage": "negotiation"})
    post(
        "terms",
        {
            "territories": ["DE"],
            "programs": ["VOL"],
            "currency": "EUR",
            "deposit_minor": 500000,
            "trial_order_cap_units": 100,
        },
        201,
    )
    post("stage", {"stage": "signing"})


def test_a_prospect_walks_from_the_form_to_active(
    client: FlaskClient, engine: Engine, bearer: Bearer
) -> None:
    """Issue 12, "Must show": from the public form to ``active`` through the API —
    application, screening, site visit, negotiation, signing (a party on trial and its
    main agreement drafted from the terms), the agreement's legal and business reviews
    by two other people and its signature with the PDF (grant and enrolment in force),
    then the trial's admission — checking each record it leaves."""
    seed(engine)
    pm = bearer("partner_manager", user="pm-rita")
    legal = bearer("partner_manager", user="pm-lee")
    finance = bearer("finance", user="fin-bo")
    answer = client.post("/api/v1/applications", json=APPLICATION)
    assert answer.status_code == 201
    pid, reference = answer.get_json()["id"], answer.get_json()["reference"]
    _walk(client, pm, pid)
    r = client.post(f"/api/v1/prospects/{pid}/sign", json={"code": "CN-BRIGHT"}, headers=pm)
    assert r.status_code == 201, r.get_json()
    assert (r.get_json()["party"], r.get_json()["agreement"]) == ("CN-BRIGHT", "AG-CN-BRIGHT-001")
    assert r.headers["Location"].endswith("/api/v1/trials/CN-BRIGHT")
    trial = client.get("/api/v1/trials/CN-BRIGHT", headers=pm).get_json()
    assert (trial["status"], trial["order_cap_units"], trial["used_units"]) == ("running", 100, 0)
    detail = client.get(f"/api/v1/prospects/{pid}", headers=pm).get_json()
    assert (
        detail["prospect"]["stage"] == "signed" and detail["prospect"]["party_code"] == "CN-BRIGHT"
    )
    assert [s["stage"] for s in detail["stages"]] == [
        "application",
        "screening",
        "site_visit",
        "negotiation",
        "signing",
        "signed",
    ]
    party = client.get("/api/v1/parties/CN-BRIGHT", headers=pm).get_json()
    assert (party["status"], party["country"], party["currency"]) == ("trial", "CN", "EUR")
    # the trial cannot admit a party whose agreement is not signed
    early = client.post(
        "/api/v1/trials/CN-BRIGHT/decision", json={"admit": True, "reason": "x"}, headers=pm
    )
    assert early.status_code == 409 and "no signed agreement in force" in early.get_json()["error"]

    n = "AG-CN-BRIGHT-001"
    drafted = client.get(f"/api/v1/agreements/{n}", headers=pm).get_json()
    assert drafted["status"] == "draft"
    assert drafted["territories"] == ["DE"]
    assert drafted["programs"] == ["VOL"]
    assert drafted["deposit_minor"] == 500000
    assert client.post(f"/api/v1/agreements/{n}/submit", headers=pm).status_code == 200
    # the drafter may not review it; another partner manager gives the legal review
    own = client.post(
        f"/api/v1/agreements/{n}/reviews", json={"stage": "legal", "approve": True}, headers=pm
    )
    assert own.status_code == 409
    for who, stage in ((legal, "legal"), (finance, "business")):
        r = client.post(
            f"/api/v1/agreements/{n}/reviews",
            json={"stage": stage, "approve": True, "note": f"{stage} fine"},
            headers=who,
        )
        assert r.status_code == 200, r.get_json()
    pdf = base64.b64encode(b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n").decode()
    today = dt.datetime.now(dt.UTC).date().isoformat()
    r = client.post(
        f"/api/v1/agreements/{n}/sign",
        json={"signed_on": today, "document": pdf, "filename": "bright.pdf"},
        headers=pm,
    )
    assert r.status_code == 200, r.get_json()
    signed = client.get(f"/api/v1/agreements/{n}", headers=pm).get_json()
    assert signed["status"] == "signed"
    assert [(v["stage"], v["decision"]) for v in signed["reviews"]] == [
        ("legal", "approved"),
        ("business", "approved"),
    ]
    assert client.get(f"/api/v1/agreements/{n}/document", headers=pm).data.startswith(b"%PDF-")
    with Session(engine) as s:
        party_id = s.scalar(select(Party.id).where(Party.code == "CN-BRIGHT"))
        agreement_id = s.scalar(select(Agreement.id).where(Agreement.number == n))
        grants = s.execute(
            select(TerritoryGrant.territory_code, TerritoryGrant.agreement_id).where(
                TerritoryGrant.party_id == party_id
            )
        ).all()
        assert [tuple(g) for g in grants] == [("DE", agreement_id)]
        enrolments = s.execute(
            select(ProgramEnrolment.program_code, ProgramEnrolment.agreement_id).where(
                ProgramEnrolment.party_id == party_id
            )
        ).all()
        assert [tuple(e) for e in enrolments] == [("VOL", agreement_id)]

    r = client.post(
        "/api/v1/trials/CN-BRIGHT/decision",
        json={"admit": True, "reason": "good start"},
        headers=pm,
    )
    assert r.status_code == 200 and r.get_json()["status"] == "admitted"
    party = client.get("/api/v1/parties/CN-BRIGHT", headers=pm).get_json()
    assert party["status"] == "active"
    with Session(engine) as s:
        actions = [e.action for e in history(s, party_id=party_id)]
        prospect_actions = [e.action for e in history(s, prospect_id=pid)]
    assert {
        "party.created",
        "trial.started",
        "agreement.drafted",
        "agreement.signed",
        "trial.admitted",
    } <= set(actions), actions
    assert prospect_actions[-1] == "prospect.created" and "prospect.signed" in prospect_actions
    assert reference.startswith("APP-")
    again = client.post(
        "/api/v1/trials/CN-BRIGHT/decision", json={"admit": False, "reason": "x"}, headers=pm
    )
    assert again.status_code == 409


def test_an_illegal_move_answers_409_and_a_bad_photo_400(
    client: FlaskClient, engine: Engine, bearer: Bearer
) -> None:
    pm = bearer("partner_manager")
    pid = client.post("/api/v1/applications", json=APPLICATION).get_json()["id"]
    r = client.post(f"/api/v1/prospects/{pid}/stage", json={"stage": "negotiation"}, headers=pm)
    assert r.status_code == 409
    assert "may move to screening, rejected, withdrawn, not to negotiation" in r.get_json()["error"]
    r = client.post(f"/api/v1/prospects/{pid}/stage", json={"stage": "rejected"}, headers=pm)
    assert r.status_code == 400 and r.get_json()["errors"][0]["path"] == "$.note"
    client.post(f"/api/v1/prospects/{pid}/stage", json={"stage": "screening"}, headers=pm)
    for c in ("qualification", "sales_capability", "resources", "willingness"):
        client.post(
            f"/api/v1/prospects/{pid}/scores",
            json={"criterion": c, "score": 50, "reason": "ok"},
            headers=pm,
        )
    client.post(f"/api/v1/prospects/{pid}/stage", json={"stage": "site_visit"}, headers=pm)
    r = client.post(
        f"/api/v1/prospects/{pid}/visits",
        data={
            "visited_on": "2026-11-20",
            "visitor": "Rita",
            "report": "ok",
            "photos": [(__import__("io").BytesIO(b"GIF89a not a photo"), "x.png")],
        },
        headers=pm,
        content_type="multipart/form-data",
    )
    assert r.status_code == 400
    assert r.get_json()["errors"][0] == {
        "path": "$.photos[0]",
        "field": "photos[0]",
        "error": "photos[0]: 'x.png' is not a JPEG, PNG or WebP image",
    }


@pytest.mark.parametrize("role", ["distributor", "finance", "channel_manager", "auditor"])
def test_only_partner_managers_and_admins_move_prospects(
    client: FlaskClient, bearer: Bearer, role: str
) -> None:
    pid = client.post("/api/v1/applications", json=APPLICATION).get_json()["id"]
    headers = bearer(role, party="D-1" if role == "distributor" else None)
    r = client.post(f"/api/v1/prospects/{pid}/stage", json={"stage": "screening"}, headers=headers)
    assert r.status_code == 403
    listing = client.get("/api/v1/prospects", headers=headers)
    assert listing.status_code == (403 if role == "distributor" else 200)
    admin = client.post(
        f"/api/v1/prospects/{pid}/stage", json={"stage": "screening"}, headers=bearer("admin")
    )
    assert admin.status_code == 200


def test_the_prospect_list_filters_and_pages(client: FlaskClient, bearer: Bearer) -> None:
    pm = bearer("partner_manager")
    for _ in range(3):
        client.post("/api/v1/applications", json=APPLICATION)
    client.post("/api/v1/prospects", json={**APPLICATION, "channel": "exhibition"}, headers=pm)
    r = client.get("/api/v1/prospects?channel=inbound&limit=2", headers=pm)
    assert r.status_code == 200 and r.headers["X-Total-Count"] == "3"
    assert len(r.get_json()["items"]) == 2 and 'rel="next"' in r.headers["Link"]
    r = client.get("/api/v1/prospects?stage=done", headers=pm)
    assert r.status_code == 400 and r.get_json()["parameter"] == "stage"
    board = client.get("/api/v1/recruitment/board", headers=pm).get_json()
    channels = {c["channel"]: c for c in board["channels"]}
    assert channels["inbound"]["applications"] == 3 and channels["exhibition"]["applications"] == 1
