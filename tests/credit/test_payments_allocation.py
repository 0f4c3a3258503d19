"""Payments allocated to open items: named item first, then oldest due first (area B)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from partners.errors import PartnerDenied, PartnerNotFound, PartnerStateError
from partners.models import PartnerEvent
from partners.values import InvalidField
from risk.exposure import exposure_in
from risk.models import CreditAllocation, CreditPayment
from risk.open_items import items_in
from risk.payments import (
    cancel_invoice,
    list_payments,
    record_invoice,
    record_payment,
    write_off,
)
from settlement.common import Actor
from settlement.models import ReceivableMovement
from tests.credit._items_world import FINANCE, GADGET, MANAGER, ON, World, make_world


@pytest.fixture
def world(engine: Engine) -> World:
    return make_world(engine)


def _inv(world: World, number: str, issued: str, amount: int, party: str = "D-NORTH") -> None:
    record_invoice(
        world.engine, world.ids[party], number, issued_on=issued, amount_minor=amount,
        description="spare parts", actor=FINANCE,
    )  # fmt: skip


def test_a_payment_goes_to_the_named_invoice_first_then_oldest_due(world: World) -> None:
    n = world.ids["D-NORTH"]
    _inv(world, "INV-1", "2026-09-01", 10_000)  # due 1 Oct
    _inv(world, "INV-2", "2026-10-01", 20_000)  # due 31 Oct
    world.statement("D-NORTH", 5, "2026-09-15", 5_000)  # due 15 Oct
    pay = record_payment(
        world.engine, n, 25_000, "bank 778", FINANCE, received_on="2026-11-05",
        remittance="payment for INV-2",
    )  # fmt: skip
    # 25 000: INV-2 named -> 20 000; then oldest due: INV-1 (due 1 Oct) -> 5 000
    assert [(a.item, a.amount_minor) for a in pay.allocations] == [
        ("invoice:INV-2", 20_000),
        ("invoice:INV-1", 5_000),
    ]
    assert pay.on_account_minor == 0 and pay.receivable_movement_id is None
    with Session(world.engine) as s:
        exp = exposure_in(s, n, ON)
    # left: INV-1 5 000 + statement 5 000 = 10 000
    assert (exp.invoices_minor, exp.statements_minor, exp.total_minor) == (5_000, 5_000, 10_000)


def test_the_statement_part_and_credit_on_account_book_a_receivable_payment(world: World) -> None:
    n = world.ids["D-NORTH"]
    world.statement("D-NORTH", 12, "2026-09-30", 8_000)
    pay = record_payment(world.engine, n, 10_000, "HC-S12-R3-2026-09", FINANCE,
                         received_on="2026-11-02")  # fmt: skip
    # 8 000 to statement 12, 2 000 left on account: one receivable movement of -10 000
    assert [(a.item, a.amount_minor) for a in pay.allocations] == [("statement:12", 8_000)]
    assert pay.on_account_minor == 2_000
    with Session(world.engine) as s:
        mv = s.get(ReceivableMovement, pay.receivable_movement_id)
        assert mv is not None and (mv.kind, mv.amount_minor) == ("payment", -10_000)
        exp = exposure_in(s, n, ON)
        audit = s.scalar(select(PartnerEvent).where(PartnerEvent.action == "credit.payment"))
    assert (exp.statements_minor, exp.unapplied_minor, exp.total_minor) == (0, 2_000, -2_000)
    assert audit is not None and audit.party_id == n


def test_the_same_payment_again_is_unchanged(world: World) -> None:
    n = world.ids["D-NORTH"]
    _inv(world, "INV-9", "2026-10-01", 3_000)
    first = record_payment(world.engine, n, 3_000, "ref 1", FINANCE, received_on="2026-11-02")
    again = record_payment(world.engine, n, 3_000, "ref 1", FINANCE, received_on="2026-11-02")
    assert again.id == first.id
    with Session(world.engine) as s:
        assert s.scalar(select(func.count()).select_from(CreditPayment)) == 1
        assert s.scalar(select(func.sum(CreditAllocation.amount_minor))) == 3_000


def test_only_finance_records_and_a_distributor_reads_only_its_own(world: World) -> None:
    n, south = world.ids["D-NORTH"], world.ids["D-SOUTH"]
    with pytest.raises(PartnerDenied):
        record_payment(world.engine, n, 100, "x", MANAGER, received_on="2026-11-02")
    record_payment(world.engine, n, 100, "x", FINANCE, received_on="2026-11-02")
    record_payment(world.engine, south, 200, "y", FINANCE, received_on="2026-11-02")
    mine = Actor("north", "distributor", n, 9)
    page, total = list_payments(world.engine, mine)
    assert total == 1 and page[0].party_id == n
    with pytest.raises(PartnerNotFound):
        list_payments(world.engine, mine, party_id=south)


def test_bad_amounts_and_days_name_the_field(world: World) -> None:
    n = world.ids["D-NORTH"]
    with pytest.raises(InvalidField) as e:
        record_payment(world.engine, n, 0, "x", FINANCE, received_on="2026-11-02")
    assert e.value.field == "amount"
    with pytest.raises(InvalidField) as e:
        record_payment(world.engine, n, 5, "x", FINANCE, received_on="2026-11-31")
    assert e.value.field == "received_on"


def test_invoice_due_day_defaults_to_the_payment_days_in_force(world: World) -> None:
    world.limit("D-NORTH", 50_000, days=45)
    inv = record_invoice(world.engine, world.ids["D-NORTH"], "INV-45", issued_on="2026-11-01",
                         amount_minor=1_000, description="", actor=FINANCE)  # fmt: skip
    assert inv.due_on == "2026-12-16"  # 1 Nov + 45 days
    with pytest.raises(PartnerStateError):
        _inv(world, "INV-45", "2026-11-01", 5)


def test_cancel_only_an_unpaid_invoice(world: World) -> None:
    n = world.ids["D-NORTH"]
    _inv(world, "INV-A", "2026-10-01", 1_000)
    _inv(world, "INV-B", "2026-10-02", 1_000)
    record_payment(world.engine, n, 10, "INV-B", FINANCE, received_on="2026-11-01")
    assert cancel_invoice(world.engine, "INV-A", "sent twice", FINANCE).status == "cancelled"
    with pytest.raises(PartnerStateError):
        cancel_invoice(world.engine, "INV-B", "sent twice", FINANCE)


def test_write_off_settles_the_item_and_lowers_exposure(world: World) -> None:
    n = world.ids["D-NORTH"]
    world.ship("2026-10-01", "D-NORTH", GADGET)
    with pytest.raises(InvalidField):
        write_off(world.engine, n, "delivery:2026-10-01", 5_000, "bankrupt", FINANCE, on=ON)
    with pytest.raises(PartnerNotFound):
        write_off(world.engine, n, "invoice:NOPE", 1, "bankrupt", FINANCE, on=ON)
    a = write_off(world.engine, n, "delivery:2026-10-01", None, "bankrupt", FINANCE, on=ON)
    assert (a.kind, a.amount_minor) == ("write_off", 4_000)
    with Session(world.engine) as s:
        assert exposure_in(s, n, ON).total_minor == 0


ops = st.lists(
    st.one_of(
        st.tuples(st.just("invoice"), st.integers(1, 50_000), st.integers(1, 60)),
        st.tuples(st.just("statement"), st.integers(1, 50_000), st.integers(1, 60)),
        st.tuples(st.just("payment"), st.integers(1, 80_000), st.integers(1, 60)),
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=ops)
def test_allocations_never_over_settle_and_add_up(
    engine: Engine, steps: list[tuple[str, int, int]]
) -> None:
    with Session(engine) as s, s.begin():
        s.query(CreditAllocation).delete()
        s.query(CreditPayment).delete()
        s.query(ReceivableMovement).delete()
        from ledger.models import Party
        from risk.models import TradeInvoice

        s.query(TradeInvoice).delete()
        party = s.scalar(select(Party).where(Party.code == "P-PROP"))
        if party is None:
            party = Party(code="P-PROP", name="Prop", kind="distributor", currency="EUR")
            s.add(party)
            s.flush()
        pid = party.id
    w = World(engine, {"P-PROP": pid})
    paid = 0
    for i, (kind, amount, day) in enumerate(steps):
        on = date(2026, 9, 1).toordinal() + day
        iso = date.fromordinal(on).isoformat()
        if kind == "invoice":
            _inv(w, f"P-{i}", iso, amount, party="P-PROP")
        elif kind == "statement":
            w.statement("P-PROP", 1000 + i, iso, amount)
        else:
            record_payment(engine, pid, amount, f"pay {i}", FINANCE, received_on=iso)
            paid += amount
    with Session(engine) as s:
        party_items = items_in(s, [pid], ON)[pid]
        allocated = sum(int(a) for a in s.scalars(select(CreditAllocation.amount_minor)))
        on_account = sum(p.amount_minor for p in s.scalars(select(CreditPayment))) - allocated
    for item in party_items.items:
        assert item.open_minor + item.settled_minor == item.amount_minor
        assert 0 <= item.settled_minor <= item.amount_minor
    assert allocated + on_account == paid
    payments, _ = list_payments(engine, FINANCE, limit=100)
    for pay in payments:  # no payment allocated beyond its amount
        assert pay.on_account_minor >= 0
        assert (
            sum(a.amount_minor for a in pay.allocations) + pay.on_account_minor == pay.amount_minor
        )
