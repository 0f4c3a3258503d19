"""/api/v1 reference data: finance writes, channel managers and auditors read,
distributors and warehouse staff are refused; imports answer problems by row and column."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

import settlement
from tests.finance._reference_world import FIN2, GTIN_A, add_parties, example, snapshot

Headers = Callable[..., dict[str, str]]

LISTS = [
    "/api/v1/prices",
    "/api/v1/fx-rates",
    "/api/v1/targets",
    "/api/v1/deposits",
    "/api/v1/adjustments",
    "/api/v1/payments",
    "/api/v1/billing",
    "/api/v1/programs",
    "/api/v1/reference-history",
]


@pytest.mark.parametrize("path", LISTS)
def test_who_reads_the_lists(client: FlaskClient, bearer: Headers, path: str) -> None:
    for role in ("finance", "channel_manager", "auditor", "admin"):
        answer = client.get(path, headers=bearer(role))
        assert answer.status_code == 200, (role, answer.get_json())
    assert client.get(path, headers=bearer("warehouse")).status_code == 403
    assert client.get(path, headers=bearer("distributor", party="DIST-FR")).status_code == 403
    assert client.get(path).status_code == 401


WRITES = [
    ("/api/v1/prices", {"gtin": GTIN_A, "currency": "EUR", "valid_from": "2026-01-01", "list_price": "12.50"}),
    ("/api/v1/fx-rates", {"period": "2026-10", "currency": "USD", "reporting_currency": "EUR", "rate": "0.9225", "source": "Treasury"}),
    ("/api/v1/targets", {"party": "DIST-FR", "period": "2026-10", "units": "400"}),
    ("/api/v1/deposits", {"party": "DIST-FR", "kind": "receipt", "amount": "5000.00", "reason": "initial"}),
    ("/api/v1/deposit-agreements", {"party": "DIST-FR", "valid_from": "2026-01-01", "agreed_amount": "5000.00"}),
    ("/api/v1/adjustments", {"party": "DIST-FR", "amount": "-60.00", "reason": "duplicate reward"}),
    ("/api/v1/payments", {"party": "DIST-FR", "received_on": "2026-11-05", "amount": "1240.00", "reference": "SEPA 1"}),
    ("/api/v1/billing", {"party": "DIST-FR", "legal_name": "Distribution Paris SARL", "address": "Paris", "iban": "FR1420041010050500013M02606", "bic": "PSSTFRPPPAR"}),
]  # fmt: skip


@pytest.mark.parametrize(("path", "body"), WRITES)
def test_only_finance_writes(
    engine: Engine, client: FlaskClient, bearer: Headers, path: str, body: dict[str, str]
) -> None:
    add_parties(engine)
    before = snapshot(engine)
    for role in ("channel_manager", "auditor", "admin", "warehouse"):
        assert client.post(path, json=body, headers=bearer(role)).status_code == 403, role
    refused = client.post(path, json=body, headers=bearer("distributor", party="DIST-FR"))
    assert refused.status_code == 403
    assert snapshot(engine) == before
    made = client.post(path, json=body, headers=bearer("finance"))
    assert made.status_code == 201, made.get_json()
    assert snapshot(engine)["reference_changes"] != []


def test_money_goes_in_as_major_units_and_comes_back_as_minor(
    engine: Engine, client: FlaskClient, bearer: Headers
) -> None:
    fin = bearer("finance")
    made = client.post("/api/v1/prices", json=WRITES[0][1], headers=fin)
    assert made.get_json()["list_price_minor"] == 1250
    page = client.get(f"/api/v1/prices?gtin={GTIN_A}", headers=fin).get_json()
    assert page["total"] == 1 and page["items"][0]["currency"] == "EUR"
    bad = client.post("/api/v1/prices", json={**WRITES[0][1], "list_price": "12.505"}, headers=fin)
    assert bad.status_code == 422
    body = bad.get_json()
    assert body["problems"] == [
        {
            "row": None,
            "column": "list_price",
            "message": "12.505 has 3 decimals; EUR has 2 decimals (ISO 4217)",
        }
    ]
    assert "list_price" in body["error"]


def test_paging_with_limit_offset_and_cursor(
    engine: Engine, client: FlaskClient, bearer: Headers
) -> None:
    fin = bearer("finance")
    for month in range(1, 8):
        body = {**WRITES[1][1], "period": f"2025-{month:02d}"}
        assert client.post("/api/v1/fx-rates", json=body, headers=fin).status_code == 201
    first = client.get("/api/v1/fx-rates?limit=3", headers=fin).get_json()
    assert (first["total"], len(first["items"]), first["next_cursor"]) == (7, 3, "3")
    second = client.get(f"/api/v1/fx-rates?limit=3&cursor={first['next_cursor']}", headers=fin)
    periods = [r["period"] for r in second.get_json()["items"]]
    assert periods == ["2025-04", "2025-03", "2025-02"]
    last = client.get("/api/v1/fx-rates?limit=3&offset=6", headers=fin).get_json()
    assert (len(last["items"]), last["next_cursor"]) == (1, None)
    assert client.get("/api/v1/fx-rates?limit=0", headers=fin).status_code == 400


def test_an_import_as_raw_body_and_as_multipart(
    engine: Engine, client: FlaskClient, bearer: Headers
) -> None:
    fin = bearer("finance")
    dry = client.post(
        "/api/v1/imports/prices?dry_run=true&filename=prices.csv",
        data=example("prices.csv"),
        headers={**fin, "Content-Type": "text/csv"},
    )
    assert dry.status_code == 200, dry.get_json()
    assert (dry.get_json()["created"], dry.get_json()["dry_run"]) == (6, True)
    assert snapshot(engine)["price_lists"] == []

    upload = client.post(
        "/api/v1/imports/prices",
        data={"file": (BytesIO(example("prices.xlsx")), "prices.xlsx"), "dry_run": "false"},
        headers=fin,
        content_type="multipart/form-data",
    )
    report = upload.get_json()
    assert upload.status_code == 200, report
    assert (report["format"], report["created"], report["dry_run"]) == ("xlsx", 5, False)
    assert report["lines"][0]["row"] == 2


def test_a_refused_import_answers_422_with_every_problem(
    engine: Engine, client: FlaskClient, bearer: Headers
) -> None:
    add_parties(engine)
    before = snapshot(engine)
    data = b"party,period,units,value,currency\nNOPE,2026-10,10,,\nDIST-FR,2026-13,10,,\n"
    answer = client.post(
        "/api/v1/imports/targets?filename=targets.csv", data=data, headers=bearer("finance")
    )
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["status"] == 422 and "nothing was imported" in body["error"]
    assert [(p["row"], p["column"]) for p in body["problems"]] == [(2, "party"), (3, "period")]
    assert snapshot(engine) == before


def test_import_roles_and_unknown_kinds(client: FlaskClient, bearer: Headers) -> None:
    data = example("prices.csv")
    for role in ("channel_manager", "auditor", "warehouse"):
        assert (
            client.post("/api/v1/imports/prices", data=data, headers=bearer(role)).status_code
            == 403
        )
    distributor = bearer("distributor", party="DIST-FR")
    assert client.post("/api/v1/imports/prices", data=data, headers=distributor).status_code == 403
    assert (
        client.post("/api/v1/imports/widgets", data=data, headers=bearer("finance")).status_code
        == 404
    )


def test_a_program_posted_as_json(engine: Engine, client: FlaskClient, bearer: Headers) -> None:
    import yaml

    program = yaml.safe_load(example("program.yaml"))
    fin = bearer("finance")
    made = client.post("/api/v1/programs", json=program, headers=fin)
    assert made.status_code == 200 and made.get_json()["created"] == 1
    listed = client.get("/api/v1/programs", headers=bearer("auditor")).get_json()
    assert listed[0]["code"] == "VOLUME-REBATE" and listed[0]["versions"][0]["version"] == 1
    broken = client.post("/api/v1/programs", json={**program, "valid_from": "October"}, headers=fin)
    assert broken.status_code == 422
    assert broken.get_json()["problems"][0]["column"] == "valid_from"


def test_a_distributor_reads_its_own_deposit_only(
    engine: Engine, client: FlaskClient, bearer: Headers
) -> None:
    add_parties(engine)
    fin = bearer("finance")
    client.post("/api/v1/deposits", json=WRITES[3][1], headers=fin)
    own = bearer("distributor", party="DIST-FR")
    mine = client.get("/api/v1/deposits/DIST-FR", headers=own)
    assert mine.status_code == 200 and mine.get_json()["balance_minor"] == 500_000
    assert client.get("/api/v1/deposits/DIST-DE", headers=own).status_code == 404
    assert client.get("/api/v1/deposits/NOPE", headers=own).status_code == 404
    assert client.get("/api/v1/deposits/DIST-FR", headers=bearer("warehouse")).status_code == 403


def test_adjustment_approval_over_the_api(
    engine: Engine, client: FlaskClient, bearer: Headers
) -> None:
    add_parties(engine)
    author = bearer("finance")
    made = client.post("/api/v1/adjustments", json=WRITES[5][1], headers=author).get_json()
    assert (made["status"], made["amount_minor"]) == ("pending", -6000)
    own = client.post(f"/api/v1/adjustments/{made['id']}/approve", headers=author)
    assert own.status_code == 409  # four eyes: the author may not approve
    assert "another finance user" in own.get_json()["error"]
    assert client.post("/api/v1/adjustments/999/approve", headers=author).status_code == 404
    other = client.post("/api/v1/adjustments", json={**WRITES[5][1], "reason": "x"}, headers=author)
    settlement.approve_adjustment(engine, other.get_json()["id"], FIN2)
    approved = client.get("/api/v1/adjustments?status=approved", headers=bearer("auditor"))
    assert [a["approved_by"] for a in approved.get_json()["items"]] == ["frank"]
    rejected = client.post(
        f"/api/v1/adjustments/{made['id']}/reject", json={"reason": "typo"}, headers=author
    )
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "rejected"
    again = client.post(
        f"/api/v1/adjustments/{made['id']}/reject", json={"reason": "typo"}, headers=author
    )
    assert again.status_code == 409


def test_the_endpoints_are_in_the_openapi_document(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/api/v1/imports/{kind}" in paths
    assert "x-roles" in paths["/api/v1/prices"]["post"]
    assert paths["/api/v1/prices"]["post"]["x-roles"] == ["finance"]
