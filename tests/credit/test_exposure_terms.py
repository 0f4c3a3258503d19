"""An item falls due after the payment days in force on the day it was issued
(issue 13 fix round F1.4): a downgrade to 0 days applies to what ships from then
on, never to goods already shipped under 45-day terms."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ledger.models import Party
from risk.exposure import exposure_in
from risk.models import CreditLimit
from risk.open_items import payment_days_in, payment_terms_in
from risk.payments import record_invoice
from settlement.reference_values import date_ms
from tests.credit._items_world import FINANCE, GADGET, World, make_world

HOUR = 3_600_000


@pytest.fixture
def world(engine: Engine) -> World:
    return make_world(engine)


def _terms(world: World, party: str, days: int, at_ms: int) -> None:
    """A limit row of ``days`` payment days agreed at ``at_ms``."""
    with Session(world.engine) as s, s.begin():
        p = s.get(Party, world.ids[party])
        assert p is not None
        s.add(
            CreditLimit(
                party_id=p.id, limit_minor=100_000, currency=p.currency, payment_days=days,
                source="override", reason="test", approved_by="fiona", created_ms=at_ms,
            )
        )  # fmt: skip


def _due(world: World, party: str, on: date) -> dict[str, tuple[str, int]]:
    with Session(world.engine) as s:
        exp = exposure_in(s, world.ids[party], on)
    return {i.item: (i.due_on, i.days_overdue(on)) for i in exp.items}


def test_a_downgrade_does_not_make_old_deliveries_overdue(world: World) -> None:
    _terms(world, "D-NORTH", 45, date_ms("2026-09-01"))
    world.ship("2026-11-01", "D-NORTH", GADGET)  # under 45 days: due 16 Dec
    world.statement("D-NORTH", 3, "2026-11-02", 5_000)  # under 45 days: due 17 Dec
    _terms(world, "D-NORTH", 0, date_ms("2026-11-20") + 9 * HOUR)  # cash on delivery
    world.ship("2026-11-25", "D-NORTH", GADGET)  # under 0 days: due the same day
    due = _due(world, "D-NORTH", date(2026, 12, 1))
    assert due == {
        "delivery:2026-11-01": ("2026-12-16", 0),
        "statement:3": ("2026-12-17", 0),
        "delivery:2026-11-25": ("2026-11-25", 6),  # 25 Nov -> 1 Dec: 6 days overdue
    }
    with Session(world.engine) as s:
        assert exposure_in(s, world.ids["D-NORTH"], date(2026, 12, 1)).max_overdue_days == 6
        assert payment_days_in(s, [world.ids["D-NORTH"]]) == {world.ids["D-NORTH"]: 0}


def test_without_a_limit_then_the_default_30_days_apply(world: World) -> None:
    world.ship("2026-10-01", "D-SOUTH", GADGET)  # no limit on file: 30 days, due 31 Oct
    _terms(world, "D-SOUTH", 60, date_ms("2026-10-15"))  # later terms change nothing
    world.ship("2026-10-20", "D-SOUTH", GADGET)  # 60 days: due 19 Dec
    due = _due(world, "D-SOUTH", date(2026, 12, 1))
    assert due == {
        "delivery:2026-10-01": ("2026-10-31", 31),
        "delivery:2026-10-20": ("2026-12-19", 0),
    }


def test_terms_agreed_during_a_day_apply_to_that_days_items(world: World) -> None:
    _terms(world, "D-NORTH", 45, date_ms("2026-09-01"))
    _terms(world, "D-NORTH", 10, date_ms("2026-11-03") + 23 * HOUR)  # late on 3 Nov
    with Session(world.engine) as s:
        terms = payment_terms_in(s, [world.ids["D-NORTH"]])
    pid = world.ids["D-NORTH"]
    assert terms.days_on(pid, "2026-08-31") == 30  # before any limit
    assert terms.days_on(pid, "2026-11-02") == 45
    assert terms.days_on(pid, "2026-11-03") == 10  # in force at the end of the day
    assert terms.due_on(pid, "2026-11-04") == "2026-11-14"


def test_an_invoice_issued_back_then_defaults_to_that_days_terms(world: World) -> None:
    _terms(world, "D-NORTH", 45, date_ms("2026-09-01"))
    _terms(world, "D-NORTH", 0, date_ms("2026-11-20"))
    old = record_invoice(world.engine, world.ids["D-NORTH"], "INV-OLD", issued_on="2026-10-01",
                         amount_minor=1_000, description="", actor=FINANCE)  # fmt: skip
    new = record_invoice(world.engine, world.ids["D-NORTH"], "INV-NEW", issued_on="2026-11-21",
                         amount_minor=1_000, description="", actor=FINANCE)  # fmt: skip
    assert (old.due_on, new.due_on) == ("2026-11-15", "2026-11-21")  # 1 Oct + 45; + 0
