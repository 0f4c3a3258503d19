"""Prices through the page: finance types a list price in major units and sees it
listed with its currency; a price the currency cannot hold, or no number at all, is
refused naming the field and nothing is stored; a replaced version keeps the old
price in its history; a long list pages by 50."""

from __future__ import annotations

import html
import re

from sqlalchemy import Engine
from sqlalchemy.orm import Session

import settlement
from settlement.models import PriceList
from tests.finance_web._pages import Browser, gtin

FINANCE = settlement.Actor("setup", "finance")


def _stored(engine: Engine) -> list[tuple[str, str, str, int]]:
    with Session(engine) as s:
        return sorted(
            (p.gtin, p.currency, p.valid_from, p.list_price_minor) for p in s.query(PriceList)
        )


def test_finance_adds_a_price_and_sees_it_listed(engine: Engine, finance: Browser) -> None:
    product = gtin(1)
    answer = finance.post(
        "/finance/prices/",
        {"gtin": product, "currency": "eur", "valid_from": "2026-10-01", "list_price": "12.50"},
        follow=True,
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    # 12.50 EUR is 1250 cents (ISO 4217: EUR has 2 decimals)
    assert _stored(engine) == [(product, "EUR", "2026-10-01", 1250)]
    assert "EUR 12.50" in page and product in page and "from 2026-10-01" in page
    # the same in yen, which has no minor unit: 1250 yen is stored as 1250
    finance.post(
        "/finance/prices/",
        {"gtin": product, "currency": "JPY", "valid_from": "2026-10-01", "list_price": "1250"},
    )
    assert (product, "JPY", "2026-10-01", 1250) in _stored(engine)
    assert "JPY 1,250" in finance.text("/finance/prices/?currency=JPY")


def test_a_bad_list_price_is_refused_naming_the_field(engine: Engine, finance: Browser) -> None:
    base = {"gtin": gtin(1), "currency": "EUR", "valid_from": "2026-10-01"}
    for typed, why in (
        ("12.345", "has 3 decimals; EUR has 2 decimals"),
        ("abc", "'abc' is not an amount"),
        ("12,50", "write the decimal point as '.'"),
        ("-3.00", "is negative"),
    ):
        answer = finance.post("/finance/prices/", {**base, "list_price": typed})
        page = answer.get_data(as_text=True)
        assert answer.status_code == 422, typed
        error = re.search(r'<p class="error" id="list_price-error">([^<]*)</p>', page)
        assert error, (typed, page[:2000])
        message = html.unescape(error.group(1))
        assert message.startswith("list price: ") and why in message, message
        assert 'aria-invalid="true"' in page
        assert f'value="{typed}"' in page  # what was typed is kept for correction
        assert "Traceback" not in page and "Decimal" not in page
    assert _stored(engine) == []


def test_every_bad_field_is_named_at_once(engine: Engine, finance: Browser) -> None:
    answer = finance.post(
        "/finance/prices/",
        {
            "gtin": "04012345000010",
            "currency": "EURO",
            "valid_from": "2026-02-30",
            "list_price": "1",
        },
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert re.search(r'id="gtin-error">GTIN: 04012345000010 has check digit 0', page)
    assert re.search(r"id=\"currency-error\">currency: &#39;EURO&#39; is not an ISO 4217", page)
    assert re.search(r'id="valid_from-error">valid from: 2026-02-30 is not a day', page)
    assert _stored(engine) == []


def test_a_replaced_price_keeps_the_old_one_in_its_history(
    engine: Engine, finance: Browser
) -> None:
    product = gtin(2)
    row = {"gtin": product, "currency": "EUR", "valid_from": "2026-10-01"}
    finance.post("/finance/prices/", {**row, "list_price": "12.50"})
    finance.post("/finance/prices/", {**row, "list_price": "13"})
    assert _stored(engine) == [(product, "EUR", "2026-10-01", 1300)]
    listing = finance.text(f"/finance/prices/?gtin={product}")
    key = f"{product}|EUR|2026-10-01"
    assert f"/finance/reference/history?kind=prices&amp;key={key.replace('|', '%7C')}" in listing
    history = finance.text(f"/finance/reference/history?kind=prices&key={key}")
    # newest first: 12.50 -> 13.00 by fiona from the page, then the first version
    changes = re.findall(r"<tr>\s*<td>[^<]+UTC</td>\s*<td>(\w+)</td>", history)
    assert changes == ["fiona", "fiona"]
    assert re.search(
        r'<span class="before">EUR 12.50</span><span class="arrow"[^>]*>→</span>EUR 13.00',
        history,
    )
    assert history.count("<td>page</td>") == 2


def test_filters_show_the_version_in_force_on_a_day(engine: Engine, finance: Browser) -> None:
    product = gtin(3)
    for day, minor in (("2026-01-01", 1000), ("2026-07-01", 1100)):
        settlement.set_price(engine, product, "EUR", day, minor, FINANCE)
    june = finance.text(f"/finance/prices/?gtin={product}&on=2026-06-30")
    assert "EUR 10.00" in june and "EUR 11.00" not in june
    july = finance.text("/finance/prices/?on=2026-07-01&currency=EUR")
    assert "EUR 11.00" in july and "EUR 10.00" not in july
    bad = finance.get("/finance/prices/?on=yesterday")
    assert bad.status_code == 200
    assert "in force on: &#39;yesterday&#39; is not a date" in bad.get_data(as_text=True)


def test_a_long_list_pages_by_fifty(engine: Engine, finance: Browser) -> None:
    with Session(engine) as s, s.begin():  # 120 versions of 120 products, one per day
        s.add_all(
            PriceList(
                gtin=gtin(100 + i), currency="EUR", valid_from=f"2026-{1 + i // 28:02d}-{1 + i % 28:02d}",
                list_price_minor=100 * (i + 1), created_by="setup", created_ms=0,
            )
            for i in range(120)
        )  # fmt: skip
    first = finance.text("/finance/prices/")
    assert "1–50 of 120 (page 1 of 3)" in first
    second = finance.text("/finance/prices/?page=2")
    assert "51–100 of 120 (page 2 of 3)" in second
    assert 'rel="prev" href="/finance/prices/?page=1"' in second
    assert 'rel="next" href="/finance/prices/?page=3"' in second
    # newest first: page 2 holds the 51st to 100th newest, i = 69 down to 20
    assert "EUR 70.00" in second and "EUR 21.00" in second
    assert "EUR 71.00" not in second and "EUR 20.00" not in second
    assert second.count('<td class="num">EUR') == 50
    # filters stay in the pager's links
    filtered = finance.text("/finance/prices/?currency=EUR&page=2")
    assert 'href="/finance/prices/?currency=EUR&amp;page=3"' in filtered
    # past the end: the last page
    assert "101–120 of 120 (page 3 of 3)" in finance.text("/finance/prices/?page=9")
