"""The open items pages: aging board, a party's items, invoices, payments, my credit."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from risk.payments import record_invoice
from tests.credit._items_world import FINANCE, GADGET, World, make_world


@pytest.fixture
def world(engine: Engine) -> World:
    w = make_world(engine)
    w.ship("2026-10-01", "D-NORTH", GADGET, GADGET)  # 80.00, due 31 Oct
    w.ship("2026-10-02", "D-SOUTH", GADGET)  # 40.00
    record_invoice(engine, w.ids["D-NORTH"], "INV-P1", issued_on="2026-11-01",
                   amount_minor=12_345, description="parts", actor=FINANCE)  # fmt: skip
    return w


def _csrf(client: FlaskClient, path: str, csrf_token: Callable[..., str]) -> str:
    return csrf_token(path, on=client)


def test_the_aging_board_draws_and_lists_every_distributor(
    world: World, login_as: Callable[..., FlaskClient]
) -> None:
    browser = login_as("finance")
    page = browser.get("/credit/items/?on=2026-12-01")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "D-NORTH" in html and "D-SOUTH" in html and "D-TOKYO" in html
    assert 'id="aging-data"' in html and "echarts.min.js" in html
    # D-NORTH: 80.00 delivery 31 days overdue + 123.45 invoice not yet due = 203.45
    assert "203.45" in html
    assert "123.45" in html


def test_finance_records_an_invoice_and_a_payment_on_the_pages(
    world: World, login_as: Callable[..., FlaskClient], csrf_token: Callable[..., str]
) -> None:
    browser = login_as("finance")
    token = _csrf(browser, "/credit/items/invoices", csrf_token)
    bad = browser.post("/credit/items/invoices", data={
        "csrf_token": token, "party": "D-NORTH", "number": "INV-P2", "issued_on": "2026-11-02",
        "amount": "12.345", "description": "",
    })  # fmt: skip
    assert bad.status_code == 422
    assert "EUR" in bad.get_data(as_text=True)  # the amount's problem, next to the field
    ok = browser.post("/credit/items/invoices", data={
        "csrf_token": token, "party": "D-NORTH", "number": "INV-P2", "issued_on": "2026-11-02",
        "amount": "10.00", "description": "",
    })  # fmt: skip
    assert ok.status_code == 302
    token = _csrf(browser, "/credit/items/payments", csrf_token)
    paid = browser.post("/credit/items/payments", data={
        "csrf_token": token, "party": "D-NORTH", "received_on": "2026-11-05", "amount": "10.00",
        "reference": "SEPA 1", "remittance": "INV-P2",
    })  # fmt: skip
    assert paid.status_code == 302
    listed = browser.get("/credit/items/payments").get_data(as_text=True)
    assert "invoice:INV-P2" in listed
    party = browser.get("/credit/items/parties/D-NORTH").get_data(as_text=True)
    assert "invoice:INV-P2" in party and "delivery:2026-10-01" in party


def test_write_off_needs_a_reason_named_next_to_the_field(
    world: World, login_as: Callable[..., FlaskClient], csrf_token: Callable[..., str]
) -> None:
    browser = login_as("finance")
    token = _csrf(browser, "/credit/items/parties/D-SOUTH", csrf_token)
    r = browser.post("/credit/items/parties/D-SOUTH/write-off", data={
        "csrf_token": token, "item": "delivery:2026-10-02", "amount": "", "reason": "",
    })  # fmt: skip
    assert r.status_code == 422 and "reason" in r.get_data(as_text=True)
    r = browser.post("/credit/items/parties/D-SOUTH/write-off", data={
        "csrf_token": token, "item": "delivery:2026-10-02", "amount": "", "reason": "lost",
    })  # fmt: skip
    assert r.status_code == 302


def test_a_distributor_sees_only_its_own(
    world: World, login_as: Callable[..., FlaskClient]
) -> None:
    browser = login_as("distributor", party="D-NORTH")
    mine = browser.get("/credit/items/mine")
    html = mine.get_data(as_text=True)
    assert mine.status_code == 200
    assert "delivery:2026-10-01" in html and "D-SOUTH" not in html
    assert "Write off" not in html
    assert browser.get("/credit/items/parties/D-SOUTH").status_code == 404
    assert browser.get("/credit/items/parties/NOPE").status_code == 404
    assert browser.get("/credit/items/").status_code == 403


def test_the_import_page_dry_runs_a_bank_statement_showing_matches_and_skips(
    world: World, login_as: Callable[..., FlaskClient], csrf_token: Callable[..., str]
) -> None:
    from io import BytesIO
    from pathlib import Path

    data = (Path(__file__).resolve().parents[2] / "docs/examples/bank-statement.csv").read_bytes()
    browser = login_as("finance")
    token = _csrf(browser, "/finance/import/", csrf_token)
    r = browser.post(
        "/finance/import/",
        data={
            "csrf_token": token,
            "kind": "payments",
            "dry_run": "1",
            "file": (BytesIO(data), "bank.csv"),
        },
        content_type="multipart/form-data",
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html
    assert "Payments matched and what they settle" in html
    assert "a debit line (-89.90 EUR)" in html
    assert "NL91ABNA0417164300" in html  # the unmatched line, named
