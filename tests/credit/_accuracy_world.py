"""A hand-built credit history for the rating-accuracy tests (area E).

Everything is dated from ``R = on - 600 days`` (``on`` the day the report is seen
from), in EUR cents, payment days the default 30 (no limit on file):

==== ===== ============ ==============================================================
code grade rated on     what happened
==== ===== ============ ==============================================================
A-P1 AAA   R            INV-P1 issued R+9, due R+39, paid R+61 (22 days late): good.
                        (A CCC rating the same day, made before, was superseded.)
A-P2 A     R            INV-P2 issued R, due R+30, never paid: 91 days past due on
                        R+121: bad.
A-P3 CCC   R            INV-P3 issued R+62, due R+92, written off R+136: bad (the
                        write-off comes before R+183, when it would be 91 days late).
A-P4 B     R            nothing owed: good.
A-P5 BBB   on-91        nothing owed; its 365 days have not passed: pending.
A-P6 AA    R            statement 61 of 100.00 booked R+5 (due R+35), carried forward
                        R+81 (46 days late): good.
A-P7 BB    R            statement 71 of 200.00 booked R+10 (due R+40), paid R+164 (124
                        days late): open on R+131 = due + 91: bad.
==== ===== ============ ==============================================================

Horizon 365: rated 6 (P1, P2, P3, P4, P6, P7), right 4 (P1 AAA good, P3 CCC bad,
P6 AA good, P7 BB bad), wrong P2 (A bad) and P4 (B good): 4 / 6 = 66.7 %.

Horizon 90 (every bad thing happens after R+90): all good; P5 (rated on-91, horizon
ends on-1) is good too: rated 7, right 4 (AAA, A, AA, BBB), wrong P3, P4, P7:
4 / 7 = 57.142… = 57.1 %.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ledger.models import Party
from risk.models import CreditAllocation, CreditPayment, CreditRating, TradeInvoice
from settlement.models import ReceivableMovement
from settlement.reference_values import date_ms

NOON = 12 * 3_600_000


def _party(s: Session, code: str) -> int:
    p = Party(code=code, name=f"{code} Trading", kind="distributor", currency="EUR")
    s.add(p)
    s.flush()
    return p.id


def _rating(s: Session, party_id: int, grade: str, day: dt.date, score: int = 50) -> None:
    s.add(
        CreditRating(
            party_id=party_id, weights_version=1, score=score, grade=grade, inputs_json="{}",
            contributions_json="{}", rated_on=day.isoformat(), rated_by="fiona", created_ms=1,
        )
    )  # fmt: skip
    s.flush()


def _invoice(s: Session, party_id: int, number: str, issued: dt.date, amount: int) -> None:
    s.add(
        TradeInvoice(
            number=number, party_id=party_id, issued_on=issued.isoformat(),
            due_on=(issued + dt.timedelta(days=30)).isoformat(), amount_minor=amount,
            currency="EUR", description="goods", created_by="fiona", created_ms=1,
        )
    )  # fmt: skip


def _paid(s: Session, party_id: int, item: str, day: dt.date, amount: int, kind: str) -> None:
    payment_id = None
    if kind == "payment":
        pay = CreditPayment(
            party_id=party_id, received_on=day.isoformat(), amount_minor=amount, currency="EUR",
            reference=f"pay {item}", created_by="fiona", created_ms=1,
        )  # fmt: skip
        s.add(pay)
        s.flush()
        payment_id = pay.id
    s.add(
        CreditAllocation(
            party_id=party_id, item=item, amount_minor=amount, currency="EUR", kind=kind,
            payment_id=payment_id, reason="" if payment_id else "insolvent",
            applied_on=day.isoformat(), created_by="fiona", created_ms=1,
        )
    )  # fmt: skip


def _movement(s: Session, party_id: int, day: dt.date, amount: int, kind: str, ref: str) -> None:
    s.add(
        ReceivableMovement(
            party_id=party_id, at_ms=date_ms(day.isoformat()) + NOON, amount_minor=amount,
            currency="EUR", kind=kind, ref=ref,
        )
    )  # fmt: skip


def build_history(engine: Engine, on: dt.date) -> dict[str, int]:
    """The parties of the table above; returns code -> party id."""
    r = on - dt.timedelta(days=600)

    def d(n: int) -> dt.date:
        return r + dt.timedelta(days=n)

    with Session(engine) as s, s.begin():
        ids = {c: _party(s, c) for c in ("A-P1", "A-P2", "A-P3", "A-P4", "A-P5", "A-P6", "A-P7")}
        _rating(s, ids["A-P1"], "CCC", r, 30)  # superseded the same day
        _rating(s, ids["A-P1"], "AAA", r, 93)
        _invoice(s, ids["A-P1"], "INV-P1", d(9), 50_000)
        _paid(s, ids["A-P1"], "invoice:INV-P1", d(61), 50_000, "payment")
        _rating(s, ids["A-P2"], "A", r, 72)
        _invoice(s, ids["A-P2"], "INV-P2", r, 80_000)
        _rating(s, ids["A-P3"], "CCC", r, 31)
        _invoice(s, ids["A-P3"], "INV-P3", d(62), 30_000)
        _paid(s, ids["A-P3"], "invoice:INV-P3", d(136), 30_000, "write_off")
        _rating(s, ids["A-P4"], "B", r, 44)
        _rating(s, ids["A-P5"], "BBB", on - dt.timedelta(days=91), 64)
        _rating(s, ids["A-P6"], "AA", r, 85)
        _movement(s, ids["A-P6"], d(5), 10_000, "statement", "61")
        _movement(s, ids["A-P6"], d(81), -10_000, "brought_forward", "statement 62")
        _rating(s, ids["A-P7"], "BB", r, 55)
        _movement(s, ids["A-P7"], d(10), 20_000, "statement", "71")
        _movement(s, ids["A-P7"], d(164), -20_000, "payment", "bank")
    return ids
