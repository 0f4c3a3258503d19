"""``hopchain credit exposure | invoice | payment | write-off`` and ``hopchain import
payments`` with a bank statement (area B)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import Engine

from tests.credit._items_world import GADGET, World, make_world

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "bank-statement.csv"


@pytest.fixture
def world(engine: Engine, make_user: Callable[..., int]) -> World:
    w = make_world(engine)
    make_user("fiona", "finance")
    make_user("carl", "channel_manager")
    return w


def test_invoice_payment_write_off_and_exposure(
    world: World, run_cli: Callable[..., Result]
) -> None:
    world.ship("2026-11-03", "D-NORTH", GADGET)  # 40.00
    r = run_cli("credit", "invoice", "D-NORTH", "INV-77", "--amount", "100.00",
                "--issued", "2026-11-01")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["due_on"] == "2026-12-01"  # 30 days: no limit on file
    r = run_cli("credit", "payment", "D-NORTH", "--amount", "60.00", "--received", "2026-11-10",
                "--reference", "SEPA 1", "--remittance", "INV-77")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["allocations"][0]["item"] == "invoice:INV-77"
    r = run_cli("credit", "write-off", "D-NORTH", "delivery:2026-11-03", "--reason", "damaged",
                "--on", "2026-11-20")  # fmt: skip
    assert r.exit_code == 0, r.output
    r = run_cli("credit", "exposure", "D-NORTH", "--on", "2026-12-01", "--as", "carl")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    # 100.00 invoice - 60.00 paid = 40.00; the delivery written off
    assert (out["total_minor"], out["invoices_minor"], out["deliveries_minor"]) == (4000, 4000, 0)


def test_a_refusal_exits_1_with_the_reason(world: World, run_cli: Callable[..., Result]) -> None:
    r = run_cli("credit", "payment", "D-NORTH", "--amount", "5.00", "--received", "2026-11-10",
                "--reference", "x", "--as", "carl")  # fmt: skip
    assert r.exit_code == 1 and "may not record payments" in r.output
    r = run_cli("credit", "exposure", "NOPE")
    assert r.exit_code == 1 and "no party NOPE" in r.output


def test_import_payments_lists_the_lines_not_booked(
    world: World, run_cli: Callable[..., Result]
) -> None:
    r = run_cli("import", "payments", str(EXAMPLE))
    assert r.exit_code == 0, r.output
    assert "2 created" in r.output
    assert "row 4     not booked a debit line" in r.output
    assert "row 5     not booked matches no party" in r.output
    again = run_cli("import", "payments", str(EXAMPLE))
    assert "0 created, 0 updated, 2 unchanged" in again.output
