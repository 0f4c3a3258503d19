"""A real month end: a run created, approved and posted by the settlement engine, then
its journal, payment plan and the accounts it leaves, checked by hand."""

from __future__ import annotations

import csv
import io

from sqlalchemy import Engine

from settlement import Actor, approve_run, create_run, post_run
from settlement.journal import journal_csv
from settlement.payments import payment_plan
from settlement.receivables import party_account
from tests.money._world import BIC_DE, IBAN_DE, billing, deposit, october, receivable
from tests.settlement.engine_world import SIGNER, ms

FIN1 = Actor("fiona", "finance", user_id=9001)
FIN2 = Actor("frank", "finance", user_id=9002)


def test_a_posted_month_books_pays_and_carries_what_is_owed(engine: Engine) -> None:
    w = october(engine)
    billing(engine, "D-AT", IBAN_DE, BIC_DE, "Alpentrade GmbH")
    # Before October's run, D-BE owes 20.00 from September and holds a 5.00 deposit.
    receivable(engine, "D-BE", ms(2026, 10, 2), 2_000, "statement", None, "September")
    deposit(engine, "D-BE", ms(2026, 9, 1), 500, "receipt", "deposit paid in")
    run = create_run(engine, "2026-10", "final", FIN1)
    approve_run(engine, run.id, FIN2)
    post_run(engine, run.id, FIN2, signer=SIGNER)

    rows = list(csv.DictReader(io.StringIO(journal_csv(engine, run.id, FIN1).decode())))
    legs = [(r["party"], r["account"], r["debit"], r["credit"]) for r in rows]
    assert legs == [
        # D-AT: 28 + 12 = 40 units reach "from 40": 40 x 5.00 = 200.00 payable
        # (its class multiplier line is zero and books nothing).
        ("D-AT", "rebate expense", "200.00", ""),
        ("D-AT", "payable", "", "200.00"),
        # D-BE: the 20.00 brought forward, 4 units below the first tier (0.00),
        # 5.00 taken from its deposit: total -20.00 + 5.00 = -15.00, still owed.
        ("D-BE", "receivable", "20.00", ""),
        ("D-BE", "receivable", "", "20.00"),
        ("D-BE", "deposit liability", "5.00", ""),
        ("D-BE", "receivable", "", "5.00"),
    ]

    plan = payment_plan(engine, run.id, FIN1)
    assert [(t.party_code, t.amount_minor) for t in plan.transfers] == [("D-AT", 20_000)]
    assert plan.exclusions == ()  # D-BE pays nothing: it owes

    be = party_account(engine, w.parties["D-BE"], FIN1)
    # Owes: 20.00 (September) - 20.00 (netted by October) + 15.00 (October) = 15.00,
    # which is the 20.00 less the 5.00 the journal moved out of the receivable.
    assert be.receivable_minor == 2_000 - 2_000 + 1_500 == 1_500
    # Holds 5.00 - 5.00 = 0.00; deducted 5.00.
    assert (be.deposit_minor, be.deducted_minor) == (0, 500)
    assert {(m.kind, m.amount_minor, m.run_id) for m in be.movements if m.run_id} == {
        ("brought_forward", -2_000, run.id),
        ("statement", 1_500, run.id),
        ("deduction", -500, run.id),
    }
