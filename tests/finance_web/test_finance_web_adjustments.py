"""Adjustments on the page, four eyes: the finance user who booked one cannot approve
it (the service's refusal is shown and it stays pending); another finance user can,
and it waits for the next run; a rejection needs a reason. Amounts are typed in the
distributor's currency and checked against its decimals."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from sqlalchemy import Engine

import settlement
from tests.finance_web._pages import Browser

FINANCE = settlement.Actor("setup", "finance", user_id=9001)


def _flashes(page: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<p class="flash flash-\w+">([^<]*)</p>', page)]


def _adjustments(engine: Engine) -> list[settlement.AdjustmentView]:
    rows, _ = settlement.list_adjustments(engine, FINANCE)
    return rows


def test_the_creator_cannot_approve_another_finance_user_can(
    engine: Engine,
    parties: dict[str, int],
    finance: Browser,
    browser: Callable[..., Browser],
) -> None:
    booked = finance.post(
        "/finance/adjustments/",
        {"party": "D-NORTH", "amount": "-250.00", "reason": "damaged delivery"},
        follow=True,
    )
    assert booked.status_code == 200
    (adj,) = _adjustments(engine)
    # -250.00 EUR charges the distributor 25000 cents
    assert (adj.amount_minor, adj.currency, adj.status, adj.created_by) == (
        -25000,
        "EUR",
        "pending",
        "fiona",
    )
    page = booked.get_data(as_text=True)
    assert "EUR -250.00" in page and "You booked it: another finance user approves it." in page

    own = finance.post(f"/finance/adjustments/{adj.id}/approve", {}, follow=True)
    assert f"fiona booked adjustment {adj.id}; another finance user approves it" in _flashes(
        own.get_data(as_text=True)
    )
    assert _adjustments(engine)[0].status == "pending"

    frank = browser("finance", "frank")
    # the hint is for the user who booked it (by user id), not for everyone
    assert "You booked it" not in frank.text("/finance/adjustments/")
    other = frank.post(f"/finance/adjustments/{adj.id}/approve", {}, follow=True)
    assert f"Adjustment {adj.id} approved: the next run applies it." in _flashes(
        other.get_data(as_text=True)
    )
    (done,) = _adjustments(engine)
    assert (done.status, done.approved_by, done.applied_run_id) == ("approved", "frank", None)
    approved = frank.text("/finance/adjustments/?status=approved")
    assert "damaged delivery" in approved and "the next run" in approved
    assert "frank" in approved
    # approving twice is refused in words, not with an error page
    twice = frank.post(f"/finance/adjustments/{adj.id}/approve", {}, follow=True)
    assert f"adjustment {adj.id} is approved, not pending" in _flashes(twice.get_data(as_text=True))


def test_a_rejection_needs_a_reason(
    engine: Engine, parties: dict[str, int], finance: Browser
) -> None:
    aid = settlement.add_adjustment(engine, parties["D-NORTH"], 1000, "goodwill", FINANCE)
    empty = finance.post(f"/finance/adjustments/{aid}/reject", {"reason": " "}, follow=True)
    assert any(
        "not rejected: reason: is empty" in f for f in _flashes(empty.get_data(as_text=True))
    )
    assert _adjustments(engine)[0].status == "pending"
    finance.post(f"/finance/adjustments/{aid}/reject", {"reason": "booked twice"})
    assert _adjustments(engine)[0].status == "rejected"
    assert "goodwill" in finance.text("/finance/adjustments/?status=rejected")
    history = finance.text("/finance/reference/history?kind=adjustments")
    assert "booked twice" in history and "reject" in history


def test_amounts_follow_the_distributors_currency(
    engine: Engine, parties: dict[str, int], finance: Browser
) -> None:
    for party, typed, why in (
        ("D-NORTH", "12.345", "amount: 12.345 has 3 decimals; EUR has 2 decimals"),
        ("D-TOKYO", "12.5", "amount: 12.5 has 1 decimal; JPY has no decimals"),
        ("D-NORTH", "0", "amount: is 0"),
    ):
        answer = finance.post(
            "/finance/adjustments/",
            {"party": party, "amount": typed, "reason": "x"},
        )
        assert answer.status_code == 422
        assert why in html.unescape(answer.get_data(as_text=True)), typed
    missing = finance.post("/finance/adjustments/", {"party": "", "amount": "1", "reason": ""})
    page = html.unescape(missing.get_data(as_text=True))
    assert "Distributor: choose one (type its code or name, then pick it)." in page
    assert "reason: is empty" in page
    assert _adjustments(engine) == []
    finance.post("/finance/adjustments/", {"party": "D-TOKYO", "amount": "1250", "reason": "x"})
    assert _adjustments(engine)[0].amount_minor == 1250  # yen have no minor unit
