"""Amounts beyond what hopchain stores are refused by the services themselves (issue
13 fix round F1.2), so the pages, the CLI and the API all say so instead of a
database overflow; the largest storable amount is accepted."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from partners.values import InvalidField
from risk.models import CreditPayment, TradeInvoice
from risk.payments import record_invoice, record_payment, write_off
from settlement.reference_values import MAX_MINOR
from tests.credit._items_world import FINANCE, GADGET, ON, World, make_world


@pytest.fixture
def world(engine: Engine) -> World:
    return make_world(engine)


@pytest.mark.parametrize("amount", [MAX_MINOR + 1, 2**63 - 1, 2**63, 10**26])
def test_too_large_amounts_are_refused_naming_the_field(world: World, amount: int) -> None:
    n = world.ids["D-NORTH"]
    world.ship("2026-10-01", "D-NORTH", GADGET)
    with pytest.raises(InvalidField) as e:
        record_payment(world.engine, n, amount, "big", FINANCE, received_on="2026-11-02")
    assert (e.value.field, e.value.message_id) == ("amount", "amount_too_large")
    with pytest.raises(InvalidField) as e:
        record_invoice(world.engine, n, "INV-BIG", issued_on="2026-11-01", amount_minor=amount,
                       description="", actor=FINANCE)  # fmt: skip
    assert (e.value.field, e.value.message_id) == ("amount", "amount_too_large")
    with pytest.raises(InvalidField) as e:
        write_off(world.engine, n, "delivery:2026-10-01", amount, "x", FINANCE, on=ON)
    assert e.value.field == "amount"
    with Session(world.engine) as s:
        stored = [
            s.scalar(select(func.count()).select_from(t)) for t in (CreditPayment, TradeInvoice)
        ]
    assert stored == [0, 0]


def test_the_largest_amount_is_stored(world: World) -> None:
    inv = record_invoice(world.engine, world.ids["D-NORTH"], "INV-MAX", issued_on="2026-11-01",
                         amount_minor=MAX_MINOR, description="", actor=FINANCE)  # fmt: skip
    pay = record_payment(world.engine, world.ids["D-NORTH"], MAX_MINOR, "INV-MAX", FINANCE,
                         received_on="2026-11-02")  # fmt: skip
    assert (inv.amount_minor, [a.amount_minor for a in pay.allocations]) == (MAX_MINOR, [MAX_MINOR])
