"""Issue 12, a new user's faults in partner management: a distributor reads its own
party's master data and never the internal trail (no reviews, scores, alerts,
reminders, status reasons, internal user names), and a prospect's owner is a
person, never a service user of API tokens."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from partners import parties as pp
from partners import recruitment as rc
from partners.audit import record
from partners.values import InvalidField
from tests.partners._agreements_world import Person
from tests.partners._recruit_world import APPLICATION, PM
from web import accounts
from web.models import User

Headers = Callable[..., dict[str, str]]
Login = Callable[..., FlaskClient]
Token = Callable[..., str]

PARTY = {
    "code": "D-AZ",
    "name": "Arizona Instruments LLC",
    "kind": "distributor",
    "country": "US",
    "currency": "USD",
    "time_zone": "America/Phoenix",
    "locale": "en",
}
CHANNEL_SERVICE = Person("service:channel_manager", "channel_manager", None)
DEMO = Person("demo-partners", "partner_manager", None)
#: What the internal trail holds and a distributor must never read.
SECRETS = (
    "review.confirmed",
    "review.opened",
    "agreement.reminder",
    "party.status",
    "service:channel_manager",
    "demo-partners",
    "late payer, watch",
    "diversion alert in NV",
    "Renewal talk: margin too low",
    "Credit check pending",
)


def _internal_trail(engine: Engine) -> None:
    """D-AZ's internal audit rows, as reviews, alerts and reminders write them."""
    with Session(engine) as s:
        party_id = pp.party_by_code(s, "D-AZ").id
        record(
            s,
            "review.confirmed",
            CHANNEL_SERVICE,
            party_id=party_id,
            detail={"class": "C", "score": 41, "reason": "late payer, watch"},
        )
        record(
            s,
            "review.opened",
            CHANNEL_SERVICE,
            party_id=party_id,
            detail={"alerts": ["diversion alert in NV"], "indicators": {"dso": 97}},
        )
        record(
            s,
            "agreement.reminder",
            DEMO,
            party_id=party_id,
            detail={"note": "Renewal talk: margin too low"},
        )
        s.commit()


def _seeded(client: FlaskClient, bearer: Headers, engine: Engine) -> dict[str, str]:
    pm = bearer("partner_manager", user="demo-partners")
    assert client.post("/api/v1/parties", json=PARTY, headers=pm).status_code == 201
    assert (
        client.post(
            "/api/v1/parties/D-AZ/status",
            json={"status": "suspended", "reason": "Credit check pending"},
            headers=pm,
        ).status_code
        == 200
    )
    assert (
        client.patch("/api/v1/parties/D-AZ", json={"name": "Arizona Instr. LLC"}, headers=pm)
    ).status_code == 200
    _internal_trail(engine)
    return pm


def test_a_distributor_reads_its_master_data_not_the_internal_trail_over_the_api(
    client: FlaskClient, bearer: Headers, engine: Engine
) -> None:
    pm = _seeded(client, bearer, engine)
    mine = client.get("/api/v1/parties/D-AZ", headers=bearer("distributor", party="D-AZ"))
    assert mine.status_code == 200 and mine.json is not None
    assert mine.json["name"] == "Arizona Instr. LLC"
    seen = json.dumps(mine.json["history"], ensure_ascii=False)
    assert [e["action"] for e in mine.json["history"]] == ["party.updated", "party.created"]
    assert all(e["actor_name"] == "" for e in mine.json["history"])
    for secret in SECRETS:
        assert secret not in seen, secret
    # the partner manager still reads the whole trail, names and reasons
    full = client.get("/api/v1/parties/D-AZ", headers=pm).json
    assert full is not None
    whole = json.dumps(full["history"], ensure_ascii=False)
    for secret in SECRETS:
        assert secret in whole, secret


def test_the_service_gives_a_distributor_its_master_data_only(
    client: FlaskClient, bearer: Headers, engine: Engine
) -> None:
    _seeded(client, bearer, engine)
    with Session(engine) as s:
        party_id = pp.party_by_code(s, "D-AZ").id
    own = Person("az-dana", "distributor", None, party_id=party_id)
    events, total = pp.page_history(engine, "D-AZ", own, offset=0, limit=1)
    assert total == 2 and [e.action for e in events] == ["party.updated"]
    events, _ = pp.page_history(engine, "D-AZ", own, offset=1, limit=5)
    assert [e.action for e in events] == ["party.created"]
    assert "source" not in events[0].detail and events[0].actor_name == ""
    listed = pp.party_history(engine, "D-AZ", own)
    assert {e.action for e in listed} <= set(pp.MASTER_DATA_ACTIONS)
    internal = pp.party_history(engine, "D-AZ", PM)
    assert {e.action for e in internal} >= {"review.confirmed", "party.status"}
    _, internal_total = pp.page_history(engine, "D-AZ", PM)
    assert internal_total == 6


def test_a_distributor_cannot_open_the_internal_party_page(
    client: FlaskClient, bearer: Headers, engine: Engine, login_as: Login
) -> None:
    _seeded(client, bearer, engine)
    browser = login_as("distributor", party="D-AZ")
    r = browser.get("/partners/parties/D-AZ")
    page = r.get_data(as_text=True)
    assert r.status_code == 403
    for secret in SECRETS:
        assert secret not in page, secret


# ------------------------------------------------------------------ prospect owners


def _service_users(engine: Engine) -> tuple[int, int]:
    with Session(engine) as s:
        admin = accounts.service_user(s, "admin")
        manager = accounts.service_user(s, "partner_manager")
        return admin.id, manager.id


def test_owner_choices_are_active_people_who_may_own_prospects(
    engine: Engine, make_user: Callable[..., int]
) -> None:
    rita = make_user("rita", "partner_manager")
    al = make_user("al", "admin")
    make_user("fay", "finance")
    gone = make_user("gone", "partner_manager")
    with Session(engine) as s:
        s.get_one(User, gone).active = False
        s.commit()
    _service_users(engine)
    with Session(engine) as s:
        assert rc.owner_choices(s) == [(al, "al"), (rita, "rita")]


def test_a_service_user_is_refused_as_owner_with_a_reason(
    engine: Engine, make_user: Callable[..., int]
) -> None:
    rita = make_user("rita", "partner_manager")
    service_admin, service_pm = _service_users(engine)
    pid, _ = rc.submit_application(engine, APPLICATION)
    for service in (service_admin, service_pm):
        with pytest.raises(InvalidField, match="is a service user for API tokens, not a person"):
            rc.assign(engine, pid, PM, owner_user_id=service, due_on=None)
        with pytest.raises(InvalidField, match=r"owner_user_id: user \d+ \(service:"):
            rc.move(engine, pid, "screening", PM, owner_user_id=service)
    assert rc.get_prospect(engine, pid, PM).prospect.owner_user_id is None
    rc.assign(engine, pid, PM, owner_user_id=rita, due_on=None)
    assert rc.get_prospect(engine, pid, PM).prospect.owner_name == "rita"


def test_the_prospect_page_and_api_offer_and_take_people_only(
    client: FlaskClient,
    engine: Engine,
    login_as: Login,
    bearer: Headers,
    csrf_token: Token,
) -> None:
    service_admin, _ = _service_users(engine)
    pid, _ = rc.submit_application(engine, APPLICATION)
    browser = login_as("partner_manager", username="pm-rita")
    path = f"/partners/recruitment/prospects/{pid}"
    page = browser.get(path).get_data(as_text=True)
    owners = re.findall(r'<select id="a-owner"[^>]*>(.*?)</select>', page, re.S)
    assert owners and "pm-rita" in owners[0] and "service:" not in owners[0]
    refused = browser.post(
        f"{path}/assign",
        data={"owner_user_id": str(service_admin), "csrf_token": csrf_token(path, on=browser)},
    )
    assert refused.status_code == 422
    assert "Owner: user" in refused.get_data(as_text=True)
    api = client.post(
        f"/api/v1/prospects/{pid}/assign",
        json={"owner_user_id": service_admin},
        headers=bearer("partner_manager"),
    )
    assert api.status_code == 400 and api.json is not None
    assert api.json["errors"][0]["path"] == "$.owner_user_id"
    assert "is a service user for API tokens" in api.json["errors"][0]["error"]
    with Session(engine) as s:
        assert s.scalar(select(User.service).where(User.id == service_admin)) is True
