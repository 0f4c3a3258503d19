"""The money pages, API and CLI: roles on every one, the journal and payment file of
a posted run, accounts (a distributor's own only), accruals with the watchlist."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from tests.money._world import BIC_DE, IBAN_DE, Stmt, billing, deposit, ms, party, receivable, run
from web.api import operations
from web.roles import Role

Bearer = Callable[..., dict[str, str]]
Login = Callable[..., FlaskClient]

FINANCE_READERS = {Role.FINANCE, Role.ADMIN, Role.AUDITOR}
READERS = {Role.FINANCE, Role.CHANNEL_MANAGER, Role.AUDITOR, Role.ADMIN}
OWN = READERS | {Role.DISTRIBUTOR}

EXPECTED_API: dict[tuple[str, str], set[Role]] = {
    ("get", "/api/v1/runs/{run_id}/journal.csv"): FINANCE_READERS,
    ("get", "/api/v1/runs/{run_id}/payments"): FINANCE_READERS,
    ("get", "/api/v1/runs/{run_id}/payments/exclusions.csv"): FINANCE_READERS,
    ("post", "/api/v1/runs/{run_id}/payment-file"): {Role.FINANCE},
    ("get", "/api/v1/accounts"): OWN,
    ("get", "/api/v1/accounts/{party_id}"): OWN,
    ("get", "/api/v1/accruals"): OWN,
}
EXPECTED_PAGES: dict[str, set[Role]] = {
    "money.run_money": FINANCE_READERS,
    "money.payment_file": {Role.FINANCE},
    "money.accounts": READERS,
    "money.account": READERS,
    "money.accruals": READERS,
    "portal_money.my_account": {Role.DISTRIBUTOR},
    "portal_money.my_accruals": {Role.DISTRIBUTOR},
}
DEBTOR_ENV = {
    "HOPCHAIN_DEBTOR_NAME": "Hopchain Manufacturing SA",
    "HOPCHAIN_DEBTOR_IBAN": "BE68539007547034",
    "HOPCHAIN_DEBTOR_BIC": "GEBABEBB",
}


def test_every_endpoint_is_listed_with_its_roles(words_app: Flask) -> None:
    declared = {
        (op.method, op.path): set(op.roles or ()) for op in operations() if "money" in op.tags
    }
    assert declared == EXPECTED_API


def test_every_page_is_listed_with_its_roles(words_app: Flask) -> None:
    ours = {
        endpoint: set(getattr(view, "hopchain_roles", ()))
        for endpoint, view in words_app.view_functions.items()
        if endpoint.split(".")[0] in ("money", "portal_money")
    }
    assert ours == EXPECTED_PAGES


def test_api_roles(client: FlaskClient, bearer: Bearer) -> None:
    tokens = {r: bearer(r.value, party="D-ROLE" if r is Role.DISTRIBUTOR else None) for r in Role}
    for (method, path), allowed in EXPECTED_API.items():
        url = re.sub(r"\{[a-z_]+\}", "999999", path) + (
            "?period=2026-10" if "accruals" in path else ""
        )
        anonymous = {} if method == "get" else {"Authorization": "Bearer no-such-token"}
        call = client.get if method == "get" else client.post
        assert call(url, headers=anonymous).status_code == 401, path
        for role in Role:
            status = call(url, headers=tokens[role]).status_code
            if role in allowed:
                assert status not in (401, 403), (path, role, status)
            else:
                assert status == 403, (path, role, status)


@pytest.mark.parametrize("role", list(Role))
def test_page_roles(
    app: Flask, login_as: Login, csrf_token: Callable[..., str], role: Role
) -> None:
    browser = login_as(role.value, party="D-ROLE" if role is Role.DISTRIBUTOR else None)
    token = csrf_token("/")
    for endpoint, allowed in EXPECTED_PAGES.items():
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        url = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", "999999", rule.rule)
        if "POST" in (rule.methods or ()):
            status = browser.post(url, data={"csrf_token": token}).status_code
        else:
            status = browser.get(url).status_code
        assert (status != 403) if role in allowed else (status == 403), (endpoint, role, status)


# ------------------------------------------------------------------ a posted run


@pytest.fixture
def posted(engine: Engine) -> tuple[int, dict[str, int]]:
    billing(engine, "D-AT", IBAN_DE, BIC_DE, "Alpentrade GmbH")
    return run(
        engine,
        [
            Stmt("D-AT", [("rebate", 10_000), ("penalty", -1_200)]),  # pays 88.00
            Stmt("D-NONE", [("rebate", 3_000)]),  # pays 30.00, but no bank account on file
            Stmt("D-BE", [("penalty", -2_000)]),  # owes 20.00
        ],
    )


def test_the_run_page_links_the_money_page_once_posted(
    engine: Engine, login_as: Login, posted: tuple[int, dict[str, int]]
) -> None:
    browser = login_as("finance")
    run_id, _ = posted
    page = browser.get(f"/settlement/runs/{run_id}").get_data(as_text=True)
    assert f"/finance/runs/{run_id}/money" in page and f"/api/v1/runs/{run_id}/journal.csv" in page
    draft, _ = run(engine, [Stmt("D-AT", [("rebate", 1)])], status="draft")
    assert "/money" not in browser.get(f"/settlement/runs/{draft}").get_data(as_text=True)
    answer = browser.get(f"/finance/runs/{draft}/money")
    assert answer.status_code == 409 and f"Run {draft} is draft" in answer.get_data(as_text=True)


def test_the_money_page_and_its_downloads(
    login_as: Login, posted: tuple[int, dict[str, int]], bearer: Bearer, client: FlaskClient
) -> None:
    run_id, sid = posted
    page = login_as("finance").get(f"/finance/runs/{run_id}/money").get_data(as_text=True)
    assert "1 SEPA credit transfer for" in page and "88.00" in page
    assert "Not in the file (1)" in page and "no billing record" in page
    journal = client.get(f"/api/v1/runs/{run_id}/journal.csv", headers=bearer("auditor"))
    assert journal.status_code == 200 and journal.mimetype == "text/csv"
    assert f"journal-run-{run_id}.csv" in journal.headers["Content-Disposition"]
    assert journal.get_data(as_text=True).splitlines()[1] == (
        f"2026-11-03,rebate expense,D-AT,100.00,,EUR,{run_id}/{sid['D-AT']}/0"
    )
    plan = client.get(f"/api/v1/runs/{run_id}/payments", headers=bearer("finance")).get_json()
    assert plan["total_minor"] == 8_800 and [t["party_code"] for t in plan["transfers"]] == ["D-AT"]
    assert plan["exclusions"][0]["party_code"] == "D-NONE"
    excluded = client.get(
        f"/api/v1/runs/{run_id}/payments/exclusions.csv", headers=bearer("finance")
    )
    assert (
        excluded.get_data(as_text=True)
        .splitlines()[1]
        .startswith(f"{sid['D-NONE']},D-NONE,30.00,EUR,")
    )


def test_the_payment_file_from_the_page_and_the_api(
    login_as: Login, posted: tuple[int, dict[str, int]], bearer: Bearer, client: FlaskClient,
    csrf_token: Callable[..., str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    run_id, sid = posted
    browser = login_as("finance")
    token = csrf_token(f"/finance/runs/{run_id}/money", on=browser)
    # Without the paying account configured: the page says which variables to set.
    for name in DEBTOR_ENV:
        monkeypatch.delenv(name, raising=False)
    refused = browser.post(f"/finance/runs/{run_id}/payment-file", data={"csrf_token": token})
    assert refused.status_code == 422
    assert (
        "set HOPCHAIN_DEBTOR_NAME, HOPCHAIN_DEBTOR_IBAN, HOPCHAIN_DEBTOR_BIC"
        in refused.get_data(as_text=True)
    )
    for name, value in DEBTOR_ENV.items():
        monkeypatch.setenv(name, value)
    got = browser.post(
        f"/finance/runs/{run_id}/payment-file",
        data={"csrf_token": token, "execution_date": "2099-01-05"},
    )
    assert got.status_code == 200 and got.mimetype == "application/xml"
    assert f"pain.001-run-{run_id}-2099-01-05.xml" in got.headers["Content-Disposition"]
    doc = ET.fromstring(got.get_data())
    ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
    assert doc.findtext(".//p:CdtTrfTxInf/p:PmtId/p:EndToEndId", namespaces=ns) == (
        f"HC-S{sid['D-AT']}-R{run_id}-2026-10"
    )
    api = client.post(
        f"/api/v1/runs/{run_id}/payment-file", json={"execution_date": "2000-01-03"},
        headers=bearer("finance"),
    )  # fmt: skip
    assert api.status_code == 422 and "is in the past" in api.get_json()["error"]
    api = client.post(f"/api/v1/runs/{run_id}/payment-file", headers=bearer("finance"))
    assert api.status_code == 200 and b"<CtrlSum>88.00</CtrlSum>" in api.get_data()


# ------------------------------------------------------------------ accounts


@pytest.fixture
def accounts(engine: Engine) -> dict[str, int]:
    deposit(engine, "D-AT", ms(2026, 9, 1), 10_000, "receipt", "deposit paid in")
    receivable(engine, "D-AT", ms(2026, 10, 2), 2_000, "statement", None, "statement 1")
    receivable(engine, "D-AT", ms(2026, 10, 20), -500, "payment", None, "bank ref 4711")
    deposit(engine, "D-AT", ms(2026, 11, 2), -3_000, "deduction", "penalties beyond rebate")
    receivable(engine, "D-BE", ms(2026, 11, 2), 9_000, "statement", None, "statement 2")
    return {"D-AT": party(engine, "D-AT"), "D-BE": party(engine, "D-BE")}


def test_accounts_pages(login_as: Login, accounts: dict[str, int]) -> None:
    browser = login_as("channel_manager")
    listing = browser.get("/finance/accounts").get_data(as_text=True)
    # Most owed first: D-BE owes 90.00, D-AT 20.00 - 5.00 = 15.00.
    assert listing.index("D-BE") < listing.index("D-AT")
    page = browser.get(f"/finance/accounts/{accounts['D-AT']}").get_data(as_text=True)
    # Holds 100.00 - 30.00 = 70.00; deducted 30.00.
    for text in ("15.00", "70.00", "30.00", "bank ref 4711", "penalties beyond rebate"):
        assert text in page
    assert browser.get("/finance/accounts/424242").status_code == 404


def test_a_distributor_sees_only_its_own_account(
    login_as: Login, accounts: dict[str, int], bearer: Bearer, client: FlaskClient
) -> None:
    mine = login_as("distributor", party="D-AT").get("/partner/account").get_data(as_text=True)
    assert "15.00" in mine and "bank ref 4711" in mine and "statement 2" not in mine
    token = bearer("distributor", party="D-AT")
    own = client.get(f"/api/v1/accounts/{accounts['D-AT']}", headers=token)
    assert own.status_code == 200 and own.get_json()["receivable_minor"] == 1_500
    other = client.get(f"/api/v1/accounts/{accounts['D-BE']}", headers=token)
    assert other.status_code == 404
    listed = client.get("/api/v1/accounts", headers=token).get_json()
    assert [r["party_code"] for r in listed["items"]] == ["D-AT"] and listed["next_offset"] is None


def test_the_accounts_api_pages(
    client: FlaskClient, bearer: Bearer, accounts: dict[str, int]
) -> None:
    first = client.get("/api/v1/accounts?limit=1", headers=bearer("finance")).get_json()
    assert [r["party_code"] for r in first["items"]] == ["D-BE"]
    assert (first["total"], first["next_offset"]) == (2, 1)
    second = client.get("/api/v1/accounts?limit=1&offset=1", headers=bearer("finance")).get_json()
    assert [r["party_code"] for r in second["items"]] == ["D-AT"] and second["next_offset"] is None
    assert client.get("/api/v1/accounts?limit=0", headers=bearer("finance")).status_code == 400


# ------------------------------------------------------------------ CLI


def test_cli_journal_and_payments(
    run_cli: Callable[..., Result], make_user: Callable[..., int], tmp_path: Path,
    posted: tuple[int, dict[str, int]], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    make_user("fiona", "finance")
    run_id, sid = posted
    printed = run_cli("journal", str(run_id))
    assert printed.exit_code == 0
    assert printed.output.splitlines()[0] == "date,account,party,debit,credit,currency,reference"
    for name, value in DEBTOR_ENV.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "pay.xml"
    made = run_cli("payments", str(run_id), "--out", str(out), "--date", "2099-01-05")
    assert made.exit_code == 0, made.output
    assert "1 transfers, EUR 88.00, to be executed on 2099-01-05" in made.output
    assert "1 payable statements are NOT in the file" in made.output
    assert f"statement {sid['D-NONE']} D-NONE EUR 30.00: no billing record" in made.output
    assert b'<InstdAmt Ccy="EUR">88.00</InstdAmt>' in out.read_bytes()
    assert "D-NONE" in (tmp_path / "pay.xml.exclusions.csv").read_text()
    monkeypatch.delenv("HOPCHAIN_DEBTOR_BIC")
    refused = run_cli("payments", str(run_id), "--out", str(out))
    assert refused.exit_code == 1 and "set HOPCHAIN_DEBTOR_BIC" in refused.output
