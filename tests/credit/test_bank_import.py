"""Payments from a bank statement file: matched by IBAN or by a party code in the
remittance, allocated, re-import unchanged, all or nothing (area B)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from risk.bank_import import import_payments
from risk.exposure import exposure_in
from risk.models import CreditPayment
from risk.payments import record_invoice
from settlement import ImportRejected
from settlement.models import ReceivableMovement
from tests.credit._items_world import FINANCE, GADGET, MANAGER, ON, World, make_world

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "bank-statement.csv"
HEADER = (
    "booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,"
    "reference,remittance_information\n"
)


@pytest.fixture
def world(engine: Engine) -> World:
    w = make_world(engine)
    record_invoice(engine, w.ids["D-NORTH"], "INV-2026-001", issued_on="2026-10-01",
                   amount_minor=200_000, description="machines", actor=FINANCE)  # fmt: skip
    w.ship("2026-11-03", "D-SOUTH", GADGET, GADGET, GADGET, GADGET, GADGET)  # 5 * 40.00
    return w


def _count(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(CreditPayment)) or 0)


def test_a_payment_import_clears_open_items_and_lowers_the_exposure(world: World) -> None:
    north, south = world.ids["D-NORTH"], world.ids["D-SOUTH"]
    with Session(world.engine) as s:
        assert exposure_in(s, north, ON).total_minor == 200_000  # INV-2026-001: 2 000.00
        assert exposure_in(s, south, ON).total_minor == 20_000  # 5 gadgets * 40.00
    report = import_payments(world.engine, "bank.csv", EXAMPLE.read_bytes(), FINANCE)
    # row 2 by IBAN (DE89..., spaces ignored) -> D-NORTH, INV-2026-001 named: 1 250.00
    # row 3 by the code D-SOUTH in the remittance -> delivery 2026-11-03: 200.00 of 400.00
    assert [(m.row, m.party_code, m.how, m.allocations) for m in report.matched] == [
        (2, "D-NORTH", "iban", (("invoice:INV-2026-001", 125_000),)),
        (3, "D-SOUTH", "code", (("delivery:2026-11-03", 20_000),)),
    ]
    assert report.matched[1].on_account_minor == 20_000  # 400.00 - 200.00 on account
    assert (report.rows, report.created, report.unchanged) == (4, 2, 0)
    with Session(world.engine) as s:
        # D-NORTH: 2 000.00 - 1 250.00 = 750.00 open
        assert exposure_in(s, north, ON).total_minor == 75_000
        # D-SOUTH: delivery cleared, 200.00 credit on account: exposure -200.00
        exp = exposure_in(s, south, ON)
        assert (exp.deliveries_minor, exp.unapplied_minor, exp.total_minor) == (0, 20_000, -20_000)
        # the credit on account is on the rebate receivable as a payment
        moves = s.scalars(select(ReceivableMovement.amount_minor)).all()
        assert moves == [-20_000]


def test_debit_and_unmatched_lines_are_listed_not_booked(world: World) -> None:
    report = import_payments(world.engine, "bank.csv", EXAMPLE.read_bytes(), FINANCE)
    assert [(u.row, u.message_id) for u in report.unbooked] == [
        (4, "bank_line_debit"),
        (5, "bank_line_no_party"),
    ]
    assert "NL91ABNA0417164300" in report.unbooked[1].why


def test_re_importing_the_statement_changes_nothing(world: World) -> None:
    import_payments(world.engine, "bank.csv", EXAMPLE.read_bytes(), FINANCE)
    again = import_payments(world.engine, "bank.csv", EXAMPLE.read_bytes(), FINANCE)
    assert (again.created, again.unchanged) == (0, 2)
    assert _count(world.engine) == 2
    with Session(world.engine) as s:
        assert exposure_in(s, world.ids["D-NORTH"], ON).total_minor == 75_000


def test_a_dry_run_shows_the_matches_and_stores_nothing(world: World) -> None:
    report = import_payments(world.engine, "bank.csv", EXAMPLE.read_bytes(), FINANCE, dry_run=True)
    assert report.dry_run and report.created == 2
    assert _count(world.engine) == 0


def test_a_bad_row_fails_the_whole_file_naming_every_bad_row(world: World) -> None:
    data = (
        HEADER
        + "2026-11-03,,100.00,EUR,North,DE89370400440532013000,R1,ok\n"
        + "2026-11-31,,100.00,EUR,North,DE89370400440532013000,R2,bad day\n"
        + "2026-11-03,,1O0.00,EUR,North,DE89370400440532013000,R3,bad amount\n"
        + "2026-11-03,,100.00,JPY,North,DE89370400440532013000,R4,not the party's\n"
        + "2026-11-03,,100.001,EUR,North,DE89370400440532013000,R5,too many decimals\n"
    ).encode()
    with pytest.raises(ImportRejected) as e:
        import_payments(world.engine, "bank.csv", data, FINANCE)
    assert [(p.row, p.column) for p in e.value.problems] == [
        (3, "booking_date"),
        (4, "amount"),
        (5, "currency"),
        (6, "amount"),
    ]
    assert "D-NORTH" in e.value.problems[2].message
    assert _count(world.engine) == 0


def test_the_finance_layout_still_imports_and_allocates(world: World) -> None:
    data = b"party,received_on,amount,reference\nD-NORTH,2026-11-02,500.00,INV-2026-001\n"
    report = import_payments(world.engine, "payments.csv", data, FINANCE)
    assert (report.created, report.matched[0].allocations) == (
        1,
        (("invoice:INV-2026-001", 50_000),),
    )
    bad = b"party,received_on,amount,reference\nNOPE,2026-11-02,5.00,x\n"
    with pytest.raises(ImportRejected) as e:
        import_payments(world.engine, "payments.csv", bad, FINANCE)
    assert (e.value.problems[0].row, e.value.problems[0].column) == (2, "party")


def test_only_finance_imports(world: World) -> None:
    from partners.errors import PartnerDenied

    with pytest.raises(PartnerDenied):
        import_payments(world.engine, "bank.csv", EXAMPLE.read_bytes(), MANAGER)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cents=st.integers(min_value=-10_000_000, max_value=10_000_000),
    junk=st.text(
        alphabet=st.characters(
            blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters='"'
        ),
        max_size=12,
    ),
)
def test_any_amount_reads_exactly_and_junk_is_a_named_problem(
    world: World, cents: int, junk: str
) -> None:
    amount = (
        f"{cents // 100}.{cents % 100:02d}"
        if cents >= 0
        else f"-{-cents // 100}.{-cents % 100:02d}"
    )
    line = f"2026-11-03,,{amount},EUR,North,DE89370400440532013000,R {cents},x\n"
    report = import_payments(
        world.engine, "bank.csv", (HEADER + line).encode(), FINANCE, dry_run=True
    )
    if cents > 0:
        assert [m.amount_minor for m in report.matched] == [cents]
    else:
        assert [u.message_id for u in report.unbooked] == ["bank_line_debit"]
    bad = f'2026-11-03,,"{junk}x",EUR,North,DE89370400440532013000,R,x\n'
    with pytest.raises(ImportRejected) as e:
        import_payments(world.engine, "bank.csv", (HEADER + bad).encode(), FINANCE, dry_run=True)
    assert [(p.row, p.column) for p in e.value.problems] == [(2, "amount")]


def test_a_payment_dated_after_today_fails_the_whole_file_in_either_layout(
    world: World,
) -> None:
    # "today" is the real UTC day: tomorrow is always in the future
    from datetime import UTC, datetime, timedelta

    today = datetime.now(UTC).date()
    tomorrow, later = (today + timedelta(days=1)).isoformat(), (today + timedelta(days=40))
    bank = (
        HEADER
        + f"{today.isoformat()},,100.00,EUR,North,DE89370400440532013000,R1,ok today\n"
        + f"{tomorrow},,100.00,EUR,North,DE89370400440532013000,R2,booked tomorrow\n"
        + f"{today.isoformat()},{later.isoformat()},100.00,EUR,North,DE89370400440532013000,"
        + "R3,value date later\n"
        + f"{tomorrow},,-5.00,EUR,North,DE89370400440532013000,R4,a debit: not a payment\n"
        + f"{tomorrow},,7.00,EUR,Someone,,R5,a credit of no party dated tomorrow\n"
    ).encode()
    with pytest.raises(ImportRejected) as e:
        import_payments(world.engine, "bank.csv", bank, FINANCE)
    assert [(p.row, p.column, p.message_id) for p in e.value.problems] == [
        (3, "booking_date", "credit_payment_future"),
        (4, "value_date", "credit_payment_future"),
        (6, "booking_date", "credit_payment_future"),
    ]
    assert tomorrow in e.value.problems[0].message
    assert "after today" in e.value.problems[1].message
    finance = (
        "party,received_on,amount,reference\n"
        f"D-NORTH,{today.isoformat()},5.00,ok\n"
        f"D-NORTH,{tomorrow},5.00,tomorrow\n"
        "NOPE,2026-11-02,5.00,unknown party\n"
        f"D-SOUTH,{later.isoformat()},5.00,later\n"
    ).encode()
    with pytest.raises(ImportRejected) as e:
        import_payments(world.engine, "payments.csv", finance, FINANCE, dry_run=True)
    assert [(p.row, p.column) for p in e.value.problems] == [
        (3, "received_on"),
        (4, "party"),
        (5, "received_on"),
    ]
    assert _count(world.engine) == 0
