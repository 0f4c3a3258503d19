"""/api/v1/credit/... exposure, open items, invoices and payments (area B)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from tests.credit._items_world import GADGET, World, make_world


@pytest.fixture
def world(engine: Engine) -> World:
    w = make_world(engine)
    w.ship("2026-11-03", "D-NORTH", GADGET, GADGET)  # 2 * 40.00
    w.ship("2026-11-03", "D-SOUTH", GADGET)
    return w


def test_finance_records_an_invoice_and_a_payment(
    world: World, client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    fin = bearer("finance")
    r = client.post("/api/v1/credit/invoices", headers=fin, json={
        "party": "D-NORTH", "number": "INV-5", "issued_on": "2026-11-01", "amount_minor": 10_000,
    })  # fmt: skip
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["due_on"] == "2026-12-01"
    pay = {"party": "D-NORTH", "received_on": "2026-11-10", "amount_minor": 12_000,
           "reference": "SEPA 9", "remittance": "INV-5"}  # fmt: skip
    r = client.post("/api/v1/credit/payments", headers=fin, json=pay)
    assert r.status_code == 201, r.get_json()
    # INV-5 named: 10 000; then the delivery of 3 Nov (8 000): 2 000
    assert [(a["item"], a["amount_minor"]) for a in r.get_json()["allocations"]] == [
        ("invoice:INV-5", 10_000),
        ("delivery:2026-11-03", 2_000),
    ]
    again = client.post("/api/v1/credit/payments", headers=fin, json=pay)
    assert again.status_code == 200 and again.get_json()["id"] == r.get_json()["id"]
    r = client.get("/api/v1/credit/parties/D-NORTH/exposure?on=2026-12-01", headers=fin)
    assert r.status_code == 200
    assert r.get_json()["total_minor"] == 6_000  # 10 000 + 8 000 - 12 000
    items = client.get("/api/v1/credit/parties/D-NORTH/open-items?on=2026-12-10", headers=fin)
    assert items.get_json()["items"][0]["days_overdue"] == 7  # due 3 Dec
    listed = client.get("/api/v1/credit/payments?party=D-NORTH", headers=fin)
    assert listed.get_json()["total"] == 1


def test_bad_bodies_are_named(
    world: World, client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    fin = bearer("finance")
    r = client.post("/api/v1/credit/payments", headers=fin, json={
        "party": "D-NORTH", "received_on": "2026-11-10", "amount_minor": "12", "reference": "x",
    })  # fmt: skip
    assert r.status_code == 422 and "amount_minor" in r.get_data(as_text=True)
    r = client.post("/api/v1/credit/payments", headers=fin, json={
        "party": "D-NORTH", "received_on": "2026-13-10", "amount_minor": 12, "reference": "x",
    })  # fmt: skip
    assert r.status_code == 422 and "received_on" in r.get_data(as_text=True)


def test_a_distributor_sees_only_its_own(
    world: World, client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    mine = bearer("distributor", party="D-NORTH")
    assert client.get("/api/v1/credit/parties/D-NORTH/exposure", headers=mine).status_code == 200
    other = client.get("/api/v1/credit/parties/D-SOUTH/exposure", headers=mine)
    missing = client.get("/api/v1/credit/parties/NOPE/exposure", headers=mine)
    assert other.status_code == missing.status_code == 404
    r = client.post("/api/v1/credit/payments", headers=mine, json={
        "party": "D-NORTH", "received_on": "2026-11-10", "amount_minor": 1, "reference": "x",
    })  # fmt: skip
    assert r.status_code == 403


@pytest.mark.parametrize("amount", [2**63, 2**63 - 1, 10**26, 10**15 + 1])
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/credit/invoices", {"party": "D-NORTH", "number": "INV-BIG",
                                     "issued_on": "2026-11-01"}),
        ("/api/v1/credit/payments", {"party": "D-NORTH", "received_on": "2026-11-10",
                                     "reference": "big"}),
    ],
)  # fmt: skip
def test_an_amount_beyond_what_hopchain_stores_is_400_naming_it(
    world: World,
    client: FlaskClient,
    bearer: Callable[..., dict[str, str]],
    path: str,
    body: dict[str, object],
    amount: int,
) -> None:
    fin = bearer("finance")
    before = client.get("/api/v1/credit/parties/D-NORTH/exposure", headers=fin).get_json()
    r = client.post(path, headers=fin, json={**body, "amount_minor": amount})
    assert r.status_code == 400, r.get_data(as_text=True)
    said = r.get_data(as_text=True)
    assert "$.amount_minor" in said and "larger than any amount hopchain stores" in said
    after = client.get("/api/v1/credit/parties/D-NORTH/exposure", headers=fin).get_json()
    assert after["total_minor"] == before["total_minor"]  # nothing stored


def test_the_largest_amount_hopchain_stores_is_accepted_and_zh_says_why(
    world: World, client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    fin = bearer("finance")
    r = client.post("/api/v1/credit/invoices", headers=fin, json={
        "party": "D-NORTH", "number": "INV-MAX", "issued_on": "2026-11-01",
        "amount_minor": 10**15,
    })  # fmt: skip
    assert r.status_code == 201 and r.get_json()["amount_minor"] == 10**15
    r = client.post("/api/v1/credit/payments", headers={**fin, "Accept-Language": "zh-CN"},
                    json={"party": "D-NORTH", "received_on": "2026-11-10", "reference": "x",
                          "amount_minor": 10**20})  # fmt: skip
    assert r.status_code == 400 and r.get_json()["message"].startswith("$.amount_minor")
    assert "hopchain 可存储的最大金额" in r.get_json()["message"]
    for amount in (0, -(10**26)):  # not above zero: the service's 422, no overflow
        r = client.post("/api/v1/credit/payments", headers=fin, json={
            "party": "D-NORTH", "received_on": "2026-11-10", "reference": "x",
            "amount_minor": amount,
        })  # fmt: skip
        assert r.status_code == 422 and "amount" in r.get_data(as_text=True)
