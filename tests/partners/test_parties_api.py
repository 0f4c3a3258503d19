"""Parties as master data over ``/api/v1`` (issue 12): create (201, Location), read,
edit, status, addresses and contacts, the paged list, the file import; who may do
what; 400 naming the JSON path of every bad member."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.models import PartnerEvent

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
Headers = Callable[..., dict[str, str]]

NEW = {
    "code": "CN-EAST-01",
    "name": "Huadong Instruments Co. Ltd.",
    "local_name": "华东仪器有限公司",
    "kind": "distributor",
    "country": "CN",
    "currency": "CNY",
    "time_zone": "Asia/Shanghai",
    "locale": "zh_Hans_CN",
}


def _count(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(Party)) or 0)


def test_create_answers_201_with_location_and_the_party(
    client: FlaskClient, bearer: Headers, engine: Engine
) -> None:
    pm = bearer("partner_manager")
    answer = client.post("/api/v1/parties", json=NEW, headers=pm)
    assert answer.status_code == 201, answer.json
    assert answer.headers["Location"] == "/api/v1/parties/CN-EAST-01"
    body = answer.json
    assert body is not None
    assert (body["code"], body["status"], body["local_name"]) == (
        "CN-EAST-01",
        "active",
        "华东仪器有限公司",
    )
    assert body["history"][0]["action"] == "party.created"
    got = client.get("/api/v1/parties/CN-EAST-01", headers=bearer("finance")).json
    assert got is not None and got["time_zone"] == "Asia/Shanghai" and got["children"] == 0


def test_every_bad_member_is_named_by_its_json_path(
    client: FlaskClient, bearer: Headers, engine: Engine
) -> None:
    pm = bearer("partner_manager")
    bad = {**NEW, "country": "XX", "currency": "EURO", "time_zone": "Mars/Base", "kind": "mfr"}
    answer = client.post("/api/v1/parties", json=bad, headers=pm)
    assert answer.status_code == 400
    body = answer.json
    assert body is not None
    assert [p["path"] for p in body["problems"]] == [
        "$.kind",
        "$.country",
        "$.currency",
        "$.time_zone",
    ]
    assert body["problems"][1]["error"] == (
        "$.country: 'XX' is not an ISO 3166 country code (like DE, CN, US)"
    )
    assert "$.currency: 'EURO' is not an ISO 4217 currency code" in body["error"]
    missing = client.post("/api/v1/parties", json={"code": "X"}, headers=pm)
    assert missing.status_code == 400
    assert (
        missing.json is not None
        and "$.name, $.kind, $.country, $.currency are required" in missing.json["error"]
    )
    typed = client.post("/api/v1/parties", json={**NEW, "name": 7}, headers=pm)
    assert typed.status_code == 400 and typed.json is not None
    assert typed.json["error"] == "$.name must be a string"
    unknown = client.post("/api/v1/parties", json={**NEW, "colour": "red"}, headers=pm)
    assert unknown.status_code == 400 and unknown.json is not None
    assert unknown.json["error"].startswith("$.colour is not a member of this body")
    parent = client.post("/api/v1/parties", json={**NEW, "parent": "NOPE"}, headers=pm)
    assert parent.status_code == 400 and parent.json is not None
    assert parent.json["problems"][0]["error"] == "$.parent: there is no party with code 'NOPE'"
    assert _count(engine) == 0


def test_a_chinese_request_gets_each_problem_in_chinese(
    client: FlaskClient, bearer: Headers
) -> None:
    answer = client.post(
        "/api/v1/parties",
        json={**NEW, "country": "XX"},
        headers={**bearer("partner_manager"), "Accept-Language": "zh-CN"},
    )
    body = answer.json
    assert answer.status_code == 400 and body is not None
    assert body["error"].startswith("$.country: 'XX' is not")  # English always
    assert (
        body["problems"][0]["message"].startswith("$.")
        and "ISO 3166" in body["problems"][0]["message"]
    )
    assert body["problems"][0]["message"] != body["problems"][0]["error"]


def test_patch_status_and_the_audit_trail(
    client: FlaskClient, bearer: Headers, engine: Engine
) -> None:
    pm = bearer("partner_manager")
    client.post("/api/v1/parties", json={**NEW, "status": "prospect"}, headers=pm)
    patched = client.patch(
        "/api/v1/parties/CN-EAST-01", json={"name": "Huadong Ltd", "time_zone": None}, headers=pm
    )
    assert patched.status_code == 200 and patched.json is not None
    assert (patched.json["name"], patched.json["time_zone"]) == ("Huadong Ltd", None)
    code = client.patch("/api/v1/parties/CN-EAST-01", json={"code": "Z"}, headers=pm)
    assert code.status_code == 400 and code.json is not None
    assert code.json["problems"][0]["path"] == "$.code"
    skip = client.post(
        "/api/v1/parties/CN-EAST-01/status", json={"status": "active", "reason": "skip"}, headers=pm
    )
    assert skip.status_code == 409 and skip.json is not None
    assert "CN-EAST-01 is prospect; it cannot become active" in skip.json["error"]
    trial = client.post(
        "/api/v1/parties/CN-EAST-01/status",
        json={"status": "trial", "reason": "signed"},
        headers=pm,
    )
    assert trial.status_code == 200 and trial.json is not None and trial.json["status"] == "trial"
    actions = [e["action"] for e in trial.json["history"]]
    assert actions == ["party.status", "party.updated", "party.created"]
    assert trial.json["history"][0]["detail"] == {
        "status": ["prospect", "trial"],
        "reason": "signed",
    }
    empty = client.post(
        "/api/v1/parties/CN-EAST-01/status", json={"status": "active", "reason": ""}, headers=pm
    )
    assert empty.status_code == 400 and empty.json is not None
    assert empty.json["problems"][0]["path"] == "$.reason"
    assert client.get("/api/v1/parties/NOPE", headers=pm).status_code == 404


def test_addresses_and_contacts(client: FlaskClient, bearer: Headers) -> None:
    pm = bearer("partner_manager")
    client.post("/api/v1/parties", json=NEW, headers=pm)
    made = client.post(
        "/api/v1/parties/CN-EAST-01/addresses",
        json={"kind": "warehouse", "line1": "88 Century Ave", "city": "Shanghai", "country": "CN",
              "lat": 31.2304, "lon": 121.4737},
        headers=pm,
    )  # fmt: skip
    assert made.status_code == 201 and made.json is not None
    assert (made.json["lat_e6"], made.json["lon_e6"]) == (31_230_400, 121_473_700)
    aid = made.json["id"]
    assert made.headers["Location"] == f"/api/v1/parties/CN-EAST-01/addresses/{aid}"
    far = client.post(
        "/api/v1/parties/CN-EAST-01/addresses",
        json={"kind": "office", "line1": "x", "city": "y", "country": "CN", "lat": 95, "lon": 1},
        headers=pm,
    )
    assert (
        far.status_code == 400
        and far.json is not None
        and far.json["problems"][0]["path"] == "$.lat"
    )
    contact = client.post(
        "/api/v1/parties/CN-EAST-01/contacts",
        json={"name": "Li Wei", "email": "bad", "phone": "1"},
        headers=pm,
    )
    assert contact.status_code == 400 and contact.json is not None
    assert [p["path"] for p in contact.json["problems"]] == ["$.email", "$.phone"]
    ok = client.post(
        "/api/v1/parties/CN-EAST-01/contacts",
        json={
            "name": "Li Wei",
            "email": "li@example.cn",
            "phone": "+86 21 5555 0101",
            "primary": True,
        },
        headers=pm,
    )
    assert ok.status_code == 201 and ok.json is not None and ok.json["phone"] == "+862155550101"
    cid = ok.json["id"]
    put = client.put(
        f"/api/v1/parties/CN-EAST-01/contacts/{cid}",
        json={"name": "Li Wei", "role": "owner"},
        headers=pm,
    )
    assert put.status_code == 200 and put.json is not None and put.json["role"] == "owner"
    detail = client.get("/api/v1/parties/CN-EAST-01", headers=pm).json
    assert detail is not None and [c["name"] for c in detail["contacts"]] == ["Li Wei"]
    assert (
        client.delete(f"/api/v1/parties/CN-EAST-01/addresses/{aid}", headers=pm).status_code == 204
    )
    assert (
        client.delete(f"/api/v1/parties/CN-EAST-01/addresses/{aid}", headers=pm).status_code == 404
    )
    assert (
        client.delete(f"/api/v1/parties/CN-EAST-01/contacts/{cid}", headers=pm).status_code == 204
    )


def test_roles_readers_read_writers_write_a_distributor_sees_itself(
    client: FlaskClient, bearer: Headers, engine: Engine
) -> None:
    pm = bearer("partner_manager")
    client.post("/api/v1/parties", json=NEW, headers=pm)
    client.post("/api/v1/parties", json={**NEW, "code": "D-OWN"}, headers=pm)
    for role in ("finance", "channel_manager", "auditor"):
        headers = bearer(role)
        assert client.get("/api/v1/parties/CN-EAST-01", headers=headers).status_code == 200
        assert client.get("/api/v1/partners", headers=headers).status_code == 200
        refused = client.post("/api/v1/parties", json={**NEW, "code": f"X-{role}"}, headers=headers)
        assert refused.status_code == 403, role
        assert (
            client.patch(
                "/api/v1/parties/CN-EAST-01", json={"name": "x"}, headers=headers
            ).status_code
            == 403
        )
    admin = bearer("admin")
    assert (
        client.post("/api/v1/parties", json={**NEW, "code": "ADM-1"}, headers=admin).status_code
        == 201
    )
    for role in ("warehouse",):
        assert client.get("/api/v1/parties/CN-EAST-01", headers=bearer(role)).status_code == 403
    dist = bearer("distributor", party="D-OWN")
    assert client.get("/api/v1/parties/D-OWN", headers=dist).status_code == 200
    assert client.get("/api/v1/parties/CN-EAST-01", headers=dist).status_code == 404
    listed = client.get("/api/v1/partners", headers=dist).json
    assert listed is not None and [p["code"] for p in listed["items"]] == ["D-OWN"]
    assert (
        client.post(
            "/api/v1/parties/D-OWN/status",
            json={"status": "suspended", "reason": "x"},
            headers=dist,
        ).status_code
        == 403
    )
    assert client.get("/api/v1/parties/CN-EAST-01").status_code == 401


def test_the_list_pages_and_counts(client: FlaskClient, bearer: Headers) -> None:
    pm = bearer("partner_manager")
    for i in range(5):
        status = "trial" if i < 2 else "active"
        client.post("/api/v1/parties", json={**NEW, "code": f"P-{i}", "status": status}, headers=pm)
    first = client.get("/api/v1/partners?limit=2", headers=pm)
    assert first.headers["X-Total-Count"] == "5"
    body = first.json
    assert body is not None and [p["code"] for p in body["items"]] == ["P-0", "P-1"]
    assert body["by_status"]["trial"] == 2 and body["by_status"]["active"] == 3
    assert 'rel="next"' in first.headers["Link"] and "cursor=2" in first.headers["Link"]
    trial = client.get("/api/v1/partners?status=trial", headers=pm).json
    assert trial is not None and trial["total"] == 2
    assert client.get("/api/v1/partners?status=gone", headers=pm).status_code == 400
    # the picker keeps working, and partner managers may use it
    picked = client.get("/api/v1/parties?q=P-", headers=pm).json
    assert picked is not None and [p["code"] for p in picked["items"]] == [
        f"P-{i}" for i in range(5)
    ]


def test_the_file_import_endpoint(client: FlaskClient, bearer: Headers, engine: Engine) -> None:
    pm = bearer("partner_manager")
    data = (EXAMPLES / "parties.csv").read_bytes()
    dry = client.post(
        "/api/v1/parties/import?dry_run=true&filename=parties.csv",
        data=data,
        headers={**pm, "Content-Type": "text/csv"},
    )
    assert dry.status_code == 200 and dry.json is not None and dry.json["created"] == 4
    assert _count(engine) == 0
    bad = client.post(
        "/api/v1/parties/import",
        data=b"code,name,kind,country,currency,parent\nA,Alpha,dealer,CN,CNY,\n",
        headers={**pm, "Content-Type": "text/csv"},
    )
    assert bad.status_code == 422 and bad.json is not None
    assert bad.json["problems"] == [
        {"row": 2, "column": "parent", "message": "a dealer needs a parent of kind distributor"}
    ]
    refused = client.post(
        "/api/v1/parties/import",
        data=data,
        headers={**bearer("finance"), "Content-Type": "text/csv"},
    )
    assert refused.status_code == 403
    done = client.post(
        "/api/v1/parties/import", data=data, headers={**pm, "Content-Type": "text/csv"}
    )
    assert done.status_code == 200 and _count(engine) == 4
    with Session(engine) as s:
        assert (
            s.scalar(select(func.count()).select_from(PartnerEvent)) == 4 + 3
        )  # parties, contacts


def test_the_openapi_document_describes_the_endpoints(client: FlaskClient) -> None:
    doc = json.loads(client.get("/api/v1/openapi.json").data)
    paths = doc["paths"]
    assert {"post"} <= set(paths["/api/v1/parties"]) and "get" in paths["/api/v1/parties"]
    assert {"get", "patch"} <= set(paths["/api/v1/parties/{code}"])
    assert "post" in paths["/api/v1/parties/{code}/status"]
    assert {"put", "delete"} <= set(paths["/api/v1/parties/{code}/contacts/{contact_id}"])
    assert "get" in paths["/api/v1/partners"]
