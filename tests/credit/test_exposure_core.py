"""Open items and exposure derived from statements, invoices and shipments (area B)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ledger import EntryKind, Hop, append_hops
from partners.errors import PartnerNotFound
from risk.exposure import exposure_in, exposures_in
from risk.models import CreditAllocation, TradeInvoice
from risk.open_items import open_items_in, shipment_value_in
from settlement.reference_values import date_ms
from tests.credit._items_world import (
    GADGET,
    NOPRICE,
    ON,
    WIDGET,
    World,
    item_key,
    make_world,
    sscc,
    unit_ids,
)


@pytest.fixture
def world(engine: Engine) -> World:
    return make_world(engine)


def test_a_delivery_is_valued_at_the_list_price_in_force_that_day(world: World) -> None:
    world.ship("2026-11-03", "D-NORTH", WIDGET, WIDGET, GADGET)
    world.ship("2026-11-20", "D-NORTH", WIDGET)
    with Session(world.engine) as s:
        items = open_items_in(s, world.ids["D-NORTH"], ON)
    # 3 Nov: 2 widgets at 12.50 (price of 1 Oct) + 1 gadget at 40.00 = 2*1250 + 4000 = 6500
    # 20 Nov: 1 widget at 13.00 (price of 15 Nov) = 1300
    assert [(i.item, i.amount_minor, i.open_minor, i.due_on) for i in items] == [
        ("delivery:2026-11-03", 6500, 6500, "2026-12-03"),
        ("delivery:2026-11-20", 1300, 1300, "2026-12-20"),
    ]


def test_a_retracted_shipment_is_not_counted(world: World) -> None:
    seqs = world.ship("2026-11-03", "D-NORTH", WIDGET, GADGET)
    world.retract(seqs[1])  # the gadget was never shipped
    with Session(world.engine) as s:
        exp = exposure_in(s, world.ids["D-NORTH"], ON)
    assert exp.deliveries_minor == 1250  # only the widget: 1 * 12.50
    assert exp.total_minor == 1250


def test_a_gtin_without_a_price_is_a_named_problem(world: World) -> None:
    world.ship("2026-11-03", "D-NORTH", WIDGET, NOPRICE)
    with Session(world.engine) as s:
        exp = exposure_in(s, world.ids["D-NORTH"], ON)
    assert exp.deliveries_minor == 1250
    assert any(NOPRICE in p and "delivery:2026-11-03" in p for p in exp.problems)


def test_exposure_adds_statements_invoices_deliveries_less_credit(world: World) -> None:
    n = world.ids["D-NORTH"]
    world.limit("D-NORTH", 100_000, days=30)
    world.statement("D-NORTH", 7, "2026-08-31", 30_000)
    world.statement("D-NORTH", 8, "2026-09-30", 20_000)
    world.ship("2026-11-03", "D-NORTH", GADGET)
    with Session(world.engine) as s, s.begin():
        from settlement.models import ReceivableMovement

        # a deposit deduction of 35 000 settles statement 7 (30 000) and 5 000 of 8
        s.add(ReceivableMovement(party_id=n, at_ms=date_ms("2026-10-05"), amount_minor=-35_000,
                                 currency="EUR", kind="deposit", ref="deduction"))  # fmt: skip
        s.add(TradeInvoice(number="INV-1", party_id=n, issued_on="2026-10-01",
                           due_on="2026-10-31", amount_minor=10_000, currency="EUR",
                           created_by="fiona", created_ms=1))  # fmt: skip
        s.add(CreditAllocation(party_id=n, item="invoice:INV-1", amount_minor=4_000,
                               currency="EUR", kind="write_off", reason="goodwill",
                               applied_on="2026-11-01", created_by="fiona",
                               created_ms=1))  # fmt: skip
    with Session(world.engine) as s:
        exp = exposure_in(s, n, ON)
    # statements: 30 000 + 20 000 - 35 000 = 15 000 open (statement 8)
    # invoice: 10 000 - 4 000 written off = 6 000; delivery: 1 gadget = 4 000
    assert (exp.statements_minor, exp.invoices_minor, exp.deliveries_minor) == (
        15_000,
        6_000,
        4_000,
    )
    assert exp.total_minor == 25_000
    assert exp.utilisation_permille == 250  # 25 000 / 100 000 = 250 per mille
    # statement 8 issued 30 Sep, due 30 Oct: 32 days overdue on 1 Dec -> 31-60
    # invoice due 31 Oct: 31 days -> 31-60; delivery due 3 Dec -> current
    assert exp.max_overdue_days == 32
    assert exp.aging == {"current": 4_000, "1-30": 0, "31-60": 21_000, "61-90": 0, "90+": 0}


def test_unapplied_credit_lowers_the_exposure(world: World) -> None:
    n = world.ids["D-NORTH"]
    world.ship("2026-11-03", "D-NORTH", GADGET)
    with Session(world.engine) as s, s.begin():
        from settlement.models import ReceivableMovement

        s.add(ReceivableMovement(party_id=n, at_ms=date_ms("2026-11-05"), amount_minor=-1_000,
                                 currency="EUR", kind="payment", ref="prepaid"))  # fmt: skip
    with Session(world.engine) as s:
        exp = exposure_in(s, n, ON)
    assert (exp.deliveries_minor, exp.unapplied_minor, exp.total_minor) == (4000, 1000, 3000)
    assert exp.limit_minor is None and exp.utilisation_permille is None


def test_the_board_batch_reads_every_distributor(world: World) -> None:
    world.ship("2026-11-03", "D-NORTH", WIDGET)
    world.ship("2026-11-04", "D-SOUTH", GADGET, GADGET)
    with Session(world.engine) as s:
        every = exposures_in(s, None, ON)
        early = exposures_in(s, None, date(2026, 11, 3))
    assert set(every) == {world.ids["D-NORTH"], world.ids["D-SOUTH"], world.ids["D-TOKYO"]}
    assert every[world.ids["D-SOUTH"]].total_minor == 8000  # 2 * 40.00
    assert early[world.ids["D-SOUTH"]].total_minor == 0  # shipped the day after


def test_an_unknown_party_is_not_found(world: World) -> None:
    with Session(world.engine) as s, pytest.raises(PartnerNotFound):
        exposure_in(s, 9999, ON)


def test_shipment_value_counts_a_pallet_by_its_items_once(world: World) -> None:
    pallet = sscc(1)
    a, b = item_key(WIDGET, "P1"), item_key(GADGET, "P2")
    at = date_ms("2026-11-25")
    results = append_hops(
        world.engine,
        [
            Hop(a, EntryKind.COMMISSIONING, "MFR", at),
            Hop(b, EntryKind.COMMISSIONING, "MFR", at),
            Hop(pallet, EntryKind.COMMISSIONING, "MFR", at + 1),
            Hop(a, EntryKind.PACKING, "MFR", at + 2, container=pallet),
            Hop(b, EntryKind.PACKING, "MFR", at + 2, container=pallet),
        ],
    )
    assert all(r.status == "accepted" for r in results), results
    ids = unit_ids(world.engine, [pallet.removeprefix("/"), a, b])
    with Session(world.engine) as s:
        # the pallet and its two items: 13.00 (widget after 15 Nov) + 40.00 = 5300
        assert shipment_value_in(s, world.ids["D-NORTH"], ids, date(2026, 11, 25)) == (
            5300,
            "EUR",
            (),
        )
        only_pallet = unit_ids(world.engine, [pallet.removeprefix("/")])
        assert (
            shipment_value_in(s, world.ids["D-NORTH"], only_pallet, date(2026, 11, 25))[0] == 5300
        )
        # in yen only the widget has a price
        assert shipment_value_in(s, world.ids["D-TOKYO"], ids, date(2026, 11, 25)) == (
            2000,
            "JPY",
            (GADGET,),
        )
