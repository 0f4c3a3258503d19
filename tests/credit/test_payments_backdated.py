"""Payments recorded out of order never settle an item past its amount (issue 13 fix
round F1.1): a payment received earlier than one already on file, an item named
by two payments, a delivery named twice; the rest goes to the next open item or
on account, and the money is always all there (exposure = owed - paid)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.values import InvalidField
from risk.exposure import exposure_in
from risk.models import CreditAllocation, CreditPayment
from risk.open_items import items_in
from risk.payments import record_invoice, record_payment, write_off
from tests.credit._items_world import FINANCE, GADGET, ON, World, make_world


@pytest.fixture
def world(engine: Engine) -> World:
    return make_world(engine)


def _inv(world: World, number: str, issued: str, amount: int, party: str = "D-NORTH") -> None:
    record_invoice(
        world.engine, world.ids[party], number, issued_on=issued, amount_minor=amount,
        description="", actor=FINANCE,
    )  # fmt: skip


def _settled_rows(engine: Engine, party_id: int) -> dict[str, int]:
    """Item -> the sum of the stored allocation rows (not the capped view)."""
    out: dict[str, int] = defaultdict(int)
    with Session(engine) as s:
        for item, amount in s.execute(
            select(CreditAllocation.item, CreditAllocation.amount_minor).where(
                CreditAllocation.party_id == party_id
            )
        ):
            out[item] += int(amount)
    return dict(out)


def _total(engine: Engine, party_id: int, on: date = ON) -> int:
    with Session(engine) as s:
        return exposure_in(s, party_id, on).total_minor


def test_a_backdated_payment_naming_a_paid_invoice_goes_on_account(world: World) -> None:
    n = world.ids["D-NORTH"]
    _inv(world, "INV-100", "2026-10-01", 10_000)  # 100.00, due 31 Oct
    first = record_payment(world.engine, n, 10_000, "pays INV-100", FINANCE,
                           received_on="2026-11-20")  # fmt: skip
    assert [(a.item, a.amount_minor) for a in first.allocations] == [("invoice:INV-100", 10_000)]
    late = record_payment(world.engine, n, 5_000, "INV-100 again", FINANCE,
                          received_on="2026-11-10")  # fmt: skip
    # the invoice is paid in full by the payment already on file: the 50.00 is credit
    assert late.allocations == () and late.on_account_minor == 5_000
    assert _settled_rows(world.engine, n) == {"invoice:INV-100": 10_000}
    # owed 100.00, paid 150.00: exposure -50.00 (credit on account), not 0
    assert _total(world.engine, n) == 10_000 - 15_000


def test_a_backdated_payment_goes_to_the_next_open_item(world: World) -> None:
    n = world.ids["D-NORTH"]
    _inv(world, "INV-A", "2026-10-01", 10_000)  # due 31 Oct
    _inv(world, "INV-B", "2026-10-05", 3_000)  # due 4 Nov
    record_payment(world.engine, n, 10_000, "INV-A", FINANCE, received_on="2026-11-20")
    late = record_payment(world.engine, n, 5_000, "INV-A", FINANCE, received_on="2026-11-10")
    # INV-A is paid: 3 000 to INV-B (the next open), 2 000 on account
    assert [(a.item, a.amount_minor) for a in late.allocations] == [("invoice:INV-B", 3_000)]
    assert late.on_account_minor == 2_000
    assert _total(world.engine, n) == 13_000 - 15_000


def test_a_delivery_is_never_settled_past_its_value(world: World) -> None:
    n = world.ids["D-NORTH"]
    world.ship("2026-10-05", "D-NORTH", GADGET, GADGET)  # 2 * 40.00 = 80.00
    record_payment(world.engine, n, 8_000, "delivery 2026-10-05", FINANCE,
                   received_on="2026-11-25")  # fmt: skip
    # named twice in one text, and paid again by an earlier-dated payment
    late = record_payment(world.engine, n, 8_000, "delivery 2026-10-05 / delivery 2026-10-05",
                          FINANCE, received_on="2026-11-01")  # fmt: skip
    assert late.allocations == () and late.on_account_minor == 8_000
    assert _settled_rows(world.engine, n) == {"delivery:2026-10-05": 8_000}
    assert _total(world.engine, n) == 8_000 - 16_000


def test_a_backdated_payment_of_a_paid_statement_is_credit(world: World) -> None:
    n = world.ids["D-NORTH"]
    world.statement("D-NORTH", 7, "2026-10-01", 6_000)
    record_payment(world.engine, n, 6_000, "statement 7", FINANCE, received_on="2026-11-20")
    late = record_payment(world.engine, n, 1_000, "statement 7", FINANCE,
                          received_on="2026-11-02")  # fmt: skip
    assert late.allocations == () and late.on_account_minor == 1_000
    with Session(world.engine) as s:
        exp = exposure_in(s, n, ON)
    assert (exp.statements_minor, exp.unapplied_minor, exp.total_minor) == (0, 1_000, -1_000)


def test_a_backdated_write_off_cannot_pass_what_is_still_open(world: World) -> None:
    n = world.ids["D-NORTH"]
    _inv(world, "INV-W", "2026-10-01", 10_000)
    record_payment(world.engine, n, 7_000, "INV-W", FINANCE, received_on="2026-11-20")
    # on 10 Nov the invoice looked wholly open; 30.00 is all that is open now
    with pytest.raises(InvalidField) as e:
        write_off(world.engine, n, "invoice:INV-W", 10_000, "disputed", FINANCE, on="2026-11-10")
    assert e.value.field == "amount"
    a = write_off(world.engine, n, "invoice:INV-W", None, "disputed", FINANCE, on="2026-11-10")
    assert a.amount_minor == 3_000
    assert _settled_rows(world.engine, n) == {"invoice:INV-W": 10_000}
    assert _total(world.engine, n) == 0


_parties = itertools.count(1)
#: (received day offset from 2026-09-01, amount, which item the reference names:
#: None, an invoice index, "statement", "delivery")
_payment = st.tuples(
    st.integers(0, 90),
    st.integers(1, 12_000),
    st.one_of(st.none(), st.integers(0, 2), st.just("statement"), st.just("delivery")),
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    invoices=st.lists(st.tuples(st.integers(0, 60), st.integers(1, 9_000)), min_size=1, max_size=3),
    statement=st.integers(1, 9_000),
    payments=st.lists(_payment, min_size=1, max_size=7),
)
def test_no_order_of_payments_over_settles_or_loses_money(
    world: World,
    invoices: list[tuple[int, int]],
    statement: int,
    payments: list[tuple[int, int, int | str | None]],
) -> None:
    start = date(2026, 9, 1)
    code = f"P-{next(_parties)}"
    with Session(world.engine) as s, s.begin():
        p = Party(code=code, name=code, kind="distributor", currency="EUR")
        s.add(p)
        s.flush()
        pid = world.ids[code] = p.id
    numbers = []
    for i, (day, amount) in enumerate(invoices):
        numbers.append(f"{code}-I{i}")
        _inv(world, numbers[-1], (start + timedelta(days=day)).isoformat(), amount, party=code)
    world.statement(code, 9_000 + pid, "2026-09-20", statement)
    world.ship("2026-10-05", code, GADGET)  # 40.00
    for k, (day, amount, names) in enumerate(payments):  # recorded in this (any) order
        if isinstance(names, int):
            ref = numbers[names % len(numbers)]
        elif names == "statement":
            ref = f"statement {9_000 + pid}"
        elif names == "delivery":
            ref = "delivery 2026-10-05"
        else:
            ref = f"transfer {k}"
        received = (start + timedelta(days=day)).isoformat()
        record_payment(world.engine, pid, amount, f"{ref} #{k}", FINANCE, received_on=received)
    with Session(world.engine) as s:
        owed = {i.item: i.amount_minor for i in items_in(s, [pid], ON)[pid].items}
        paid = sum(p.amount_minor for p in s.scalars(
            select(CreditPayment).where(CreditPayment.party_id == pid)))  # fmt: skip
    for item, settled in _settled_rows(world.engine, pid).items():
        assert settled <= owed[item], item  # never past the amount, stored rows included
    # every cent is somewhere: on an item or on account
    assert _total(world.engine, pid) == sum(owed.values()) - paid
