"""Sorting alerts by value at stake (issue 11): the API orders by the EUR value
detection stored on each alert (``value_reference_minor``), largest first, ties
newest first, alerts whose value is unknown (no list price, no FX rate) last, the
same across pages; its items carry the stored value, currency and reason. The
world has no findings, prices or rates at all: only the stored columns can give
these answers."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ledger.models import Party
from settlement.models import Alert

#: name -> (period, currency, value minor, EUR->currency rate, EUR value minor, severity)
ALERTS: dict[str, tuple[str, str, int | None, str | None, int | None, str]] = {
    # JPY 144,000,000 / 160 = EUR 900,000.00: the EUR 100,000 step is JPY 16,000,000
    "A": ("2026-10", "JPY", 144_000_000, "160", 90_000_000, "critical"),
    "B": ("2026-09", "EUR", 50_000_000, "1", 50_000_000, "critical"),  # EUR 500,000.00
    # JPY 20,000,000 / 160 = EUR 125,000.00, the same as D but newer: before D
    "C": ("2026-11", "JPY", 20_000_000, "160", 12_500_000, "critical"),
    "D": ("2026-10", "EUR", 12_500_000, "1", 12_500_000, "critical"),
    "E": ("2026-08", "EUR", 1_000, "1", 1_000, "low"),  # EUR 10.00
    # unknown in EUR: CHF 5,000.00 without a rate (newer), and no list price (older)
    "F": ("2026-11", "CHF", 500_000, None, None, "low"),
    "G": ("2026-07", "EUR", None, None, None, "low"),
}


def _stored(engine: Engine) -> dict[int, str]:
    names: dict[int, str] = {}
    with Session(engine) as s, s.begin():
        parties = {c: Party(code=f"P{c}", name=f"Party {c}", kind="distributor", currency=c)
                   for c in ("JPY", "EUR", "CHF")}  # fmt: skip
        s.add_all(parties.values())
        s.flush()
        for name, (period, ccy, value, rate, eur, severity) in ALERTS.items():
            a = Alert(
                natural_key=f"P{ccy}|T|{period}|out_of_zone|{name}",
                party_id=parties[ccy].id, territory_code="T", period=period,
                finding_type="out_of_zone", status="open", severity=severity,
                unit_count=1, finding_count=1, appealed=False, created_ms=1,
                updated_ms=1, detected_tree_size=1, value_minor=value,
                value_currency=ccy, value_fx_rate=rate, value_reference_minor=eur,
            )  # fmt: skip
            s.add(a)
            s.flush()
            names[a.id] = name
    return names


def test_value_sort_pages_by_stored_eur_value_unknowns_last(
    engine: Engine,
    client: FlaskClient,
    bearer: Callable[..., dict[str, str]],
    login_as: Callable[..., FlaskClient],
) -> None:
    names = _stored(engine)
    token = bearer("channel_manager")
    pages: list[list[dict[str, object]]] = []
    url: str | None = "/api/v1/alerts?sort=value&limit=3"
    while url:
        r = client.get(url, headers=token)
        assert r.status_code == 200, r.get_data(as_text=True)
        assert r.headers["X-Total-Count"] == "7"
        pages.append(r.get_json())
        nxt = re.search(r'<([^>]+)>; rel="next"', r.headers.get("Link", ""))
        url = nxt.group(1) if nxt else None
    order = [[names[int(str(a["id"]))] for a in page] for page in pages]
    assert order == [["A", "B", "C"], ["D", "E", "F"], ["G"]]
    items = {names[int(str(a["id"]))]: a for page in pages for a in page}
    assert (items["A"]["value_minor"], items["A"]["value_currency"]) == (144_000_000, "JPY")
    assert items["A"]["value_reference_minor"] == 90_000_000
    assert items["A"]["severity_reason"] == (
        "critical: value at stake JPY 144,000,000 (from JPY 16,000,000: critical)"
    )
    assert items["F"]["value_minor"] == 500_000 and items["F"]["value_reference_minor"] is None
    assert items["F"]["severity_reason"] == (
        "low: 1 unit; 0 confirmed alerts in the 12 months before; value at stake "
        "CHF 5,000.00 not compared with the value steps: no EUR->CHF FX rate on file for "
        "the period or before — nothing reaches a higher step"
    )
    assert items["G"]["value_minor"] is None and "no list price" in str(
        items["G"]["severity_reason"]
    )
    # the page shows the same order and the reason in its own words
    browser = login_as("channel_manager")
    page = browser.get("/alerts/?sort=value").get_data(as_text=True)
    shown = [names[int(i)] for i in dict.fromkeys(re.findall(r'href="/alerts/(\d+)"', page))]
    assert shown == ["A", "B", "C", "D", "E", "F", "G"]
    assert "≈ EUR" not in page  # the list shows the alert's own currency
    detail = browser.get(f"/alerts/{next(i for i, n in names.items() if n == 'A')}")
    text = detail.get_data(as_text=True)
    assert "JPY 144,000,000" in text and "≈ EUR 900,000.00" in text
