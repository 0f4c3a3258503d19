"""The other reference-data forms: FX rates with their source and as-of date, sales
targets in units or value, a distributor's deposit (receipts, refunds, agreed level,
top-up requests) and billing details with a checked IBAN. Each refuses a bad field by
name and stores nothing then."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

from sqlalchemy import Engine

import settlement
from tests.finance_web._pages import Browser, words

FINANCE = settlement.Actor("setup", "finance")


def test_fx_rate_with_source_and_as_of(engine: Engine, finance: Browser) -> None:
    added = finance.post(
        "/finance/fx/",
        {
            "period": "2026-10",
            "currency": "usd",
            "reporting_currency": "EUR",
            "rate": "0.92250",
            "source": "Treasury",
            "as_of": "",
        },
        follow=True,
    )
    page = words(added.get_data(as_text=True))
    assert "FX rate for 2026-10 saved: 1 USD = 0.9225 EUR." in page
    # no as-of date given: the period's last day
    assert "2026-10 1 USD = 0.9225 EUR Treasury 2026-10-31" in page
    refused = finance.post(
        "/finance/fx/",
        {
            "period": "Oct",
            "currency": "EUR",
            "reporting_currency": "EUR",
            "rate": "-1",
            "source": "",
            "as_of": "",
        },
    )
    text = html.unescape(refused.get_data(as_text=True))
    assert refused.status_code == 422
    assert "period: 'Oct' is not a month like 2026-10" in text
    assert "rate: -1 is not greater than 0" in text
    assert "reporting currency: is EUR too" in text
    rates, total = settlement.list_fx_rates(engine, FINANCE)
    assert total == 1 and rates[0].source == "Treasury"


def test_targets_in_units_or_value(
    engine: Engine, parties: dict[str, int], finance: Browser
) -> None:
    finance.post(
        "/finance/targets/",
        {"party": "D-NORTH", "period": "2026-10", "measure": "units", "amount": "1200"},
    )
    finance.post(
        "/finance/targets/",
        {"party": "d-tokyo", "period": "2026-10", "measure": "value", "amount": "500000"},
    )
    page = words(finance.text("/finance/targets/?period=2026-10"))
    assert "D-NORTH 2026-10 1,200 units" in page
    assert "D-TOKYO 2026-10 JPY 500,000" in page  # yen: no decimals
    bad = finance.post(
        "/finance/targets/",
        {"party": "D-NORTH", "period": "2026-11", "measure": "units", "amount": "12.5"},
    )
    assert bad.status_code == 422
    assert "target: &#39;12.5&#39; is not a whole number" in bad.get_data(as_text=True)
    targets, total = settlement.list_targets(engine, FINANCE)
    assert total == 2
    assert {(t.party_code, t.units, t.value_minor, t.currency) for t in targets} == {
        ("D-NORTH", 1200, None, None),
        ("D-TOKYO", None, 500000, "JPY"),
    }


def test_deposit_receipts_refunds_level_and_top_up(
    engine: Engine, parties: dict[str, int], finance: Browser
) -> None:
    north = parties["D-NORTH"]
    base = f"/finance/deposits/{north}"
    finance.post(f"{base}/agreement", {"valid_from": "2026-01-01", "agreed_amount": "5000.00"})
    finance.post(
        f"{base}/movements", {"kind": "receipt", "amount": "3000.00", "date": "", "reason": "wire"}
    )
    finance.post(
        f"{base}/movements", {"kind": "refund", "amount": "500", "date": "", "reason": "overpaid"}
    )
    # balance 3000.00 - 500.00 = 2500.00 EUR; agreed 5000.00, so 2500.00 short
    status = settlement.deposit_status(engine, north, FINANCE)
    assert (status.balance_minor, status.agreed_minor, status.shortfall_minor) == (
        250000,
        500000,
        250000,
    )
    page = words(finance.text(base))
    assert "Balance EUR 2,500.00 Agreed level EUR 5,000.00 Short by EUR 2,500.00" in page
    assert "refund EUR -500.00 overpaid fiona" in page

    too_much = finance.post(
        f"{base}/movements", {"kind": "refund", "amount": "9000", "date": "", "reason": ""}
    )
    assert too_much.status_code == 422
    assert "would take D-NORTH" in html.unescape(too_much.get_data(as_text=True))
    assert settlement.deposit_status(engine, north, FINANCE).balance_minor == 250000

    past = finance.post(f"{base}/topups", {"deadline": "2020-01-01", "reason": ""})
    assert past.status_code == 422 and "is in the past" in past.get_data(as_text=True)
    due = (date.today() + timedelta(days=14)).isoformat()
    finance.post(f"{base}/topups", {"deadline": due, "reason": "below agreed level"})
    listing = words(finance.text("/finance/deposits/"))
    assert f"D-NORTH EUR 2,500.00 EUR 5,000.00 EUR 2,500.00 EUR 2,500.00 due {due}" in listing
    # a receipt that restores the agreed level meets the request
    finance.post(
        f"{base}/movements", {"kind": "receipt", "amount": "2500", "date": "", "reason": "top-up"}
    )
    assert settlement.deposit_status(engine, north, FINANCE).open_topups == ()
    assert "No open request." in finance.text(base)


def test_billing_details_with_a_checked_iban(
    engine: Engine, parties: dict[str, int], finance: Browser
) -> None:
    north = parties["D-NORTH"]
    fields: dict[str, object] = {
        "party": "D-NORTH",
        "legal_name": "Nordhandel GmbH",
        "address": "Hafenstrasse 1\n20457 Hamburg",
        "iban": "DE89 3704 0044 0532 0130 01",  # last digit changed: mod-97 fails
        "bic": "COBADEFFXXX",
    }
    bad = finance.post("/finance/billing/", fields)
    assert bad.status_code == 422
    assert re.search(
        r'id="iban-error">IBAN: &#39;DE89 3704 0044 0532 0130 01&#39; is not a valid IBAN',
        bad.get_data(as_text=True),
    )
    assert settlement.get_party_billing(engine, north, FINANCE) is None
    finance.post("/finance/billing/", {**fields, "iban": "DE89 3704 0044 0532 0130 00"})
    saved = settlement.get_party_billing(engine, north, FINANCE)
    assert saved is not None and saved.iban == "DE89370400440532013000"
    page = words(finance.text("/finance/billing/"))
    assert (
        "D-NORTH Change the details of D-NORTH Nordhandel GmbH Hafenstrasse 1 20457 Hamburg DE89370400440532013000 COBADEFFXXX"
        in page
    )
    edit = finance.text("/finance/billing/?party=D-NORTH")
    assert 'value="Nordhandel GmbH"' in edit and "Hafenstrasse 1\n20457 Hamburg</textarea>" in edit
