"""Receivables and deposits per party: sums of movements, with running balances, and
a distributor reads only its own account."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from settlement.common import Actor, PermissionDenied, SettlementError
from settlement.receivables import list_accounts, party_account
from tests.money._world import Stmt, deposit, ms, party, receivable, run

FINANCE = Actor("fiona", "finance")


@pytest.fixture
def books(engine: Engine) -> dict[str, int]:
    """D-AT's history, September to November 2026 (amounts in euro cents)."""
    r1, _ = run(engine, [Stmt("D-AT", [("penalty", -2_000)])], period="2026-09")
    r2, _ = run(engine, [Stmt("D-AT", [("penalty", -1_500)])], period="2026-10")
    deposit(engine, "D-AT", ms(2026, 9, 1), 10_000, "receipt", "deposit paid in")
    receivable(engine, "D-AT", ms(2026, 10, 2), 2_000, "statement", r1, "statement of run 1")
    receivable(engine, "D-AT", ms(2026, 11, 2), -2_000, "brought_forward", r2, "netted by run 2")
    receivable(engine, "D-AT", ms(2026, 11, 2, 13), 1_500, "statement", r2, "statement of run 2")
    deposit(engine, "D-AT", ms(2026, 11, 2, 14), -3_000, "deduction", "penalties beyond rebate", r2)
    receivable(engine, "D-AT", ms(2026, 11, 20), -500, "payment", None, "bank ref 4711")
    deposit(engine, "D-AT", ms(2026, 11, 25), -1_000, "refund", "part refund")
    party(engine, "D-BE")
    receivable(engine, "D-BE", ms(2026, 11, 2), 9_000, "statement", r2)
    party(engine, "D-CH")  # a distributor without movements
    party(engine, "M-1", kind="manufacturer")  # not a distributor, no movements: not listed
    return {"D-AT": party(engine, "D-AT"), "D-BE": party(engine, "D-BE"), "r2": r2}


def test_the_account_sums_the_movements(engine: Engine, books: dict[str, int]) -> None:
    acc = party_account(engine, books["D-AT"], FINANCE)
    # Owes: +20.00 (run 1) - 20.00 (netted by run 2) + 15.00 (run 2) - 5.00 (paid) = 10.00
    assert acc.receivable_minor == 2_000 - 2_000 + 1_500 - 500 == 1_000
    # Holds: 100.00 paid in - 30.00 deducted - 10.00 refunded = 60.00
    assert acc.deposit_minor == 10_000 - 3_000 - 1_000 == 6_000
    # Deducted: only the deduction counts, not the refund.
    assert acc.deducted_minor == 3_000
    assert (acc.party_code, acc.currency, acc.movement_count) == ("D-AT", "EUR", 7)
    # Newest first, each with its book's balance after it.
    assert [(m.book, m.kind, m.amount_minor, m.balance_after_minor) for m in acc.movements] == [
        ("deposit", "refund", -1_000, 6_000),
        ("receivable", "payment", -500, 1_000),
        ("deposit", "deduction", -3_000, 7_000),
        ("receivable", "statement", 1_500, 1_500),
        ("receivable", "brought_forward", -2_000, 0),
        ("receivable", "statement", 2_000, 2_000),
        ("deposit", "receipt", 10_000, 10_000),
    ]
    assert acc.movements[2].run_id == books["r2"]
    assert acc.movements[1].reference == "bank ref 4711"
    page = party_account(engine, books["D-AT"], FINANCE, offset=2, limit=2)
    assert [m.kind for m in page.movements] == ["deduction", "statement"]
    assert page.movement_count == 7


def test_the_list_puts_the_most_owed_first(engine: Engine, books: dict[str, int]) -> None:
    rows, total = list_accounts(engine, FINANCE, offset=0, limit=50)
    assert total == 3
    assert [
        (r.party_code, r.receivable_minor, r.deposit_minor, r.deducted_minor) for r in rows
    ] == [
        ("D-BE", 9_000, 0, 0),
        ("D-AT", 1_000, 6_000, 3_000),
        ("D-CH", 0, 0, 0),
    ]
    assert rows[1].last_movement_ms == ms(2026, 11, 25)
    assert rows[2].last_movement_ms is None
    second, total = list_accounts(engine, FINANCE, offset=1, limit=1)
    assert [r.party_code for r in second] == ["D-AT"] and total == 3


def test_a_distributor_reads_only_its_own(engine: Engine, books: dict[str, int]) -> None:
    me = Actor("d-at", "distributor", books["D-AT"])
    assert party_account(engine, books["D-AT"], me).receivable_minor == 1_000
    with pytest.raises(SettlementError, match=f"no party {books['D-BE']}"):
        party_account(engine, books["D-BE"], me)
    rows, total = list_accounts(engine, me)
    assert [r.party_code for r in rows] == ["D-AT"] and total == 1


def test_roles(engine: Engine, books: dict[str, int]) -> None:
    for role in ("finance", "channel_manager", "auditor", "admin"):
        assert party_account(engine, books["D-AT"], Actor("u", role)).deposit_minor == 6_000
    with pytest.raises(PermissionDenied):
        list_accounts(engine, Actor("u", "warehouse"))
    with pytest.raises(PermissionDenied):
        party_account(engine, books["D-AT"], Actor("u", "distributor", None))
    with pytest.raises(SettlementError, match="no party 424242"):
        party_account(engine, 424242, FINANCE)
