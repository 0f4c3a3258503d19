"""The reference-data service: versions, audit (who, when, before, after, source),
roles, and the rules of deposits, top-ups, adjustments, billing and payments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from settlement import (
    Actor,
    AdjustmentStateError,
    InvalidValue,
    PermissionDenied,
    SettlementError,
    add_adjustment,
    add_program_version,
    approve_adjustment,
    create_program,
    deposit_status,
    get_party_billing,
    list_adjustments,
    list_deposit_parties,
    list_fx_rates,
    list_payments,
    list_prices,
    list_programs,
    list_targets,
    record_deposit,
    record_payment,
    reference_history,
    reject_adjustment,
    request_topup,
    set_deposit_agreement,
    set_fx_rate,
    set_party_billing,
    set_price,
    set_product,
    set_target,
)
from settlement.models import ReceivableMovement
from tests.finance._reference_world import FIN, FIN2, GTIN_A, add_parties

CM = Actor("carla", "channel_manager")
AUDITOR = Actor("otto", "auditor")
WAREHOUSE = Actor("walt", "warehouse")
RULES = {
    "currency": "EUR",
    "basis": "sell_in",
    "measure": "volume",
    "mode": "retroactive",
    "tiers": [{"threshold": 0, "rate": "50"}],
}


def _today(days: int = 0) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def test_a_price_change_is_a_new_version_and_a_replacement_keeps_the_old_value(
    engine: Engine,
) -> None:
    set_product(engine, GTIN_A, "Espresso machine", FIN)
    set_price(engine, GTIN_A, "EUR", "2026-01-01", 1250, FIN)
    set_price(engine, GTIN_A, "EUR", "2026-07-01", 1320, FIN, source="cli")
    set_price(engine, GTIN_A, "EUR", "2026-07-01", 1300, FIN2, source="api")  # a correction
    set_price(engine, GTIN_A, "EUR", "2026-07-01", 1300, FIN2)  # the same again: nothing

    prices, total = list_prices(engine, CM)
    assert total == 2
    assert [(p.valid_from, p.valid_until, p.list_price_minor) for p in prices] == [
        ("2026-07-01", None, 1300),
        ("2026-01-01", "2026-07-01", 1250),
    ]
    assert prices[0].product_name == "Espresso machine"
    assert prices[0].created_by == "frank"

    history, n = reference_history(engine, AUDITOR, kind="prices", key=f"{GTIN_A}|EUR|2026-07-01")
    assert n == 2  # created, then updated; the repeat wrote nothing
    update, create = history
    assert (update.action, update.actor, update.source) == ("update", "frank", "api")
    assert update.before == {"list_price_minor": 1320}
    assert update.after == {"list_price_minor": 1300}
    assert (create.action, create.before, create.source) == ("create", None, "cli")


def test_prices_in_force_on_a_day(engine: Engine) -> None:
    set_price(engine, GTIN_A, "EUR", "2026-01-01", 1250, FIN)
    set_price(engine, GTIN_A, "EUR", "2026-07-01", 1320, FIN)
    set_price(engine, GTIN_A, "USD", "2026-03-01", 1400, FIN)
    on_june, total = list_prices(engine, FIN, on="2026-06-30")
    assert total == 2
    assert {(p.currency, p.list_price_minor) for p in on_june} == {("EUR", 1250), ("USD", 1400)}
    on_july, _ = list_prices(engine, FIN, on="2026-07-01", currency="EUR")
    assert [p.list_price_minor for p in on_july] == [1320]
    before, total = list_prices(engine, FIN, on="2025-12-31")
    assert (before, total) == ([], 0)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda e: set_price(e, "04012345000017", "EUR", "2026-01-01", 1, FIN), "gtin"),
        (lambda e: set_price(e, GTIN_A, "EURO", "2026-01-01", 1, FIN), "currency"),
        (lambda e: set_price(e, GTIN_A, "EUR", "2026-02-30", 1, FIN), "valid_from"),
        (lambda e: set_price(e, GTIN_A, "EUR", "2026-01-01", -1, FIN), "list_price"),
        (lambda e: set_fx_rate(e, "2026-10", "USD", "EUR", "0", FIN), "rate"),
        (lambda e: set_fx_rate(e, "2026-10", "USD", "EUR", "-0.5", FIN), "rate"),
        (lambda e: set_fx_rate(e, "2026-10", "USD", "EUR", "abc", FIN), "rate"),
        (lambda e: set_fx_rate(e, "2026-10", "EUR", "EUR", "1", FIN), "reporting_currency"),
        (lambda e: set_fx_rate(e, "2026-1", "USD", "EUR", "0.9", FIN), "period"),
    ],
)
def test_bad_values_are_refused_naming_the_field(engine: Engine, call, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidValue) as caught:
        call(engine)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert reference_history(engine, FIN)[1] == 0


def test_fx_rates_keep_source_and_as_of_and_an_older_quote_never_wins(engine: Engine) -> None:
    set_fx_rate(engine, "2026-10", "USD", "EUR", "0.92250", FIN, source="Treasury")
    rates, _ = list_fx_rates(engine, AUDITOR, period="2026-10")
    assert [(r.rate, r.source, r.as_of) for r in rates] == [("0.9225", "Treasury", "2026-10-31")]
    with pytest.raises(InvalidValue, match="newer than 2026-10-15"):
        set_fx_rate(engine, "2026-10", "USD", "EUR", "0.95", FIN, source="bank", as_of="2026-10-15")
    assert list_fx_rates(engine, FIN)[0][0].rate == "0.9225"


def test_targets_are_units_or_value_in_the_partys_currency(engine: Engine) -> None:
    ids = add_parties(engine)
    set_target(engine, ids["DIST-FR"], "2026-10", FIN, units=400)
    set_target(engine, ids["DIST-JP"], "2026-10", FIN, value_minor=2_000_000)
    set_target(engine, ids["DIST-FR"], "2026-10", FIN, value_minor=50_000)  # now a value target
    targets, total = list_targets(engine, CM, period="2026-10")
    assert total == 2
    by_code = {t.party_code: t for t in targets}
    assert (by_code["DIST-JP"].measure, by_code["DIST-JP"].currency) == ("value", "JPY")
    fr = by_code["DIST-FR"]
    assert (fr.measure, fr.units, fr.value_minor, fr.currency) == ("value", None, 50_000, "EUR")
    with pytest.raises(InvalidValue, match="either units or value"):
        set_target(engine, ids["DIST-FR"], "2026-11", FIN, units=1, value_minor=1)
    with pytest.raises(InvalidValue, match="settled in JPY"):
        set_target(engine, ids["DIST-JP"], "2026-11", FIN, value_minor=1, currency="EUR")


def test_deposits_refunds_and_top_ups(engine: Engine) -> None:
    ids = add_parties(engine)
    fr = ids["DIST-FR"]
    set_deposit_agreement(engine, fr, "2026-01-01", 500_000, FIN)  # 5,000.00 EUR agreed
    record_deposit(engine, fr, 300_000, "first part", FIN, kind="receipt")
    with pytest.raises(InvalidValue, match="below zero"):
        record_deposit(engine, fr, 300_001, "too much", FIN, kind="refund")
    status = deposit_status(engine, fr, AUDITOR)
    # 3,000.00 held of 5,000.00 agreed: 2,000.00 short
    assert (status.balance_minor, status.agreed_minor, status.shortfall_minor) == (
        300_000,
        500_000,
        200_000,
    )

    with pytest.raises(InvalidValue, match="in the past"):
        request_topup(engine, fr, _today(-1), FIN)
    topup = request_topup(engine, fr, _today(14), FIN, reason="below the agreed level")
    with pytest.raises(SettlementError, match="already has an open top-up"):
        request_topup(engine, fr, _today(14), FIN)
    status = deposit_status(engine, fr, FIN)
    assert [(t.id, t.amount_minor, t.status) for t in status.open_topups] == [
        (topup, 200_000, "open")
    ]

    record_deposit(engine, fr, 150_000, "second part", FIN, kind="receipt")
    assert len(deposit_status(engine, fr, FIN).open_topups) == 1  # 4,500.00: still short
    record_deposit(engine, fr, 50_000, "third part", FIN, kind="receipt")
    status = deposit_status(engine, fr, FIN)
    assert (status.balance_minor, status.shortfall_minor, status.open_topups) == (500_000, 0, ())
    assert [m.kind for m in status.movements] == ["receipt", "receipt", "receipt"]
    assert {m.created_by for m in status.movements} == {"fiona"}

    with pytest.raises(SettlementError, match="nothing to top up"):
        request_topup(engine, fr, _today(3), FIN)
    record_deposit(engine, fr, 100_000, "level lowered", FIN, kind="refund")
    assert deposit_status(engine, fr, FIN).movements[0].amount_minor == -100_000

    listed, total = list_deposit_parties(engine, CM)
    assert total == 1 and listed[0].shortfall_minor == 100_000  # 4,000.00 of 5,000.00


def test_a_distributor_sees_only_its_own_deposit(engine: Engine) -> None:
    ids = add_parties(engine)
    record_deposit(engine, ids["DIST-FR"], 1000, "in", FIN, kind="receipt")
    own = Actor("anna", "distributor", ids["DIST-FR"])
    assert deposit_status(engine, ids["DIST-FR"], own).balance_minor == 1000
    with pytest.raises(InvalidValue, match="no party"):
        deposit_status(engine, ids["DIST-DE"], own)
    with pytest.raises(PermissionDenied):
        list_deposit_parties(engine, own)


def test_an_adjustment_needs_a_second_finance_user(engine: Engine) -> None:
    ids = add_parties(engine)
    adj = add_adjustment(engine, ids["DIST-FR"], 12_540, "late returns", FIN)
    pending, total = list_adjustments(engine, AUDITOR, status="pending")
    assert total == 1 and pending[0].status == "pending"
    with pytest.raises(AdjustmentStateError, match="another finance user"):
        approve_adjustment(engine, adj, FIN)
    approve_adjustment(engine, adj, FIN2)
    view = list_adjustments(engine, FIN)[0][0]
    assert (view.status, view.approved_by, view.created_by) == ("approved", "frank", "fiona")
    with pytest.raises(AdjustmentStateError, match="approved, not pending"):
        reject_adjustment(engine, adj, "changed my mind", FIN2)

    other = add_adjustment(engine, ids["DIST-FR"], -500, "duplicate reward", FIN)
    reject_adjustment(engine, other, "already corrected in September", FIN)
    history, _ = reference_history(engine, FIN, kind="adjustments")
    assert history[0].after == {"status": "rejected", "reason": "already corrected in September"}
    with pytest.raises(InvalidValue, match="non-zero"):
        add_adjustment(engine, ids["DIST-FR"], 0, "nothing", FIN)
    with pytest.raises(PermissionDenied):
        add_adjustment(engine, ids["DIST-FR"], 1, "x", CM)


def test_billing_checks_iban_and_bic(engine: Engine) -> None:
    ids = add_parties(engine)
    set_party_billing(
        engine, ids["DIST-DE"], FIN, legal_name="Vertrieb Berlin GmbH",
        address="Unter den Linden 5\n10117 Berlin", iban="de89 3704 0044 0532 0130 00", bic="COBADEFFXXX",
    )  # fmt: skip
    billing = get_party_billing(engine, ids["DIST-DE"], AUDITOR)
    assert billing is not None and billing.iban == "DE89370400440532013000"
    with pytest.raises(InvalidValue) as caught:
        set_party_billing(
            engine,
            ids["DIST-DE"],
            FIN,
            legal_name="x",
            address="",
            iban="DE89370400440532013001",
            bic="",
        )
    assert caught.value.field == "iban" and "checksum" in caught.value.message
    with pytest.raises(InvalidValue) as caught:
        set_party_billing(
            engine,
            ids["DIST-DE"],
            FIN,
            legal_name="x",
            address="",
            iban="DE89370400440532013000",
            bic="CO",
        )
    assert caught.value.field == "bic"


def test_a_payment_lowers_what_the_party_owes(engine: Engine) -> None:
    ids = add_parties(engine)
    pid = record_payment(engine, ids["DIST-DE"], 124_000, "SEPA 1", FIN, received_on="2026-11-05")
    with Session(engine) as s:
        m = s.get(ReceivableMovement, pid)
        assert m is not None and (m.kind, m.amount_minor, m.ref) == ("payment", -124_000, "SEPA 1")
    payments, total = list_payments(engine, CM)
    assert total == 1
    assert (payments[0].received_on, payments[0].amount_minor) == ("2026-11-05", 124_000)
    with pytest.raises(InvalidValue):
        record_payment(engine, ids["DIST-DE"], 0, "SEPA 2", FIN, received_on="2026-11-05")


def test_programs_are_audited_and_listed_with_versions(engine: Engine) -> None:
    create_program(engine, "VOL", "Volume rebate", FIN, source="cli")
    add_program_version(engine, "VOL", "2026-01", "2026-06", RULES, FIN)
    add_program_version(engine, "VOL", "2026-07", None, {**RULES, "mode": "incremental"}, FIN2)
    (program,) = list_programs(engine, CM)
    assert [(v.version, v.valid_from, v.valid_to, v.created_by) for v in program.versions] == [
        (2, "2026-07", None, "frank"),
        (1, "2026-01", "2026-06", "fiona"),
    ]
    assert program.versions[0].rules["mode"] == "incremental"
    history, total = reference_history(engine, AUDITOR, kind="programs")
    assert total == 3
    assert [h.key for h in history] == ["VOL v2", "VOL v1", "VOL"]


@pytest.mark.parametrize(
    "read",
    [
        lambda e, a: list_prices(e, a),
        lambda e, a: list_fx_rates(e, a),
        lambda e, a: list_targets(e, a),
        lambda e, a: list_adjustments(e, a),
        lambda e, a: list_programs(e, a),
        lambda e, a: reference_history(e, a),
        lambda e, a: list_payments(e, a),
    ],
)
def test_warehouse_staff_read_no_reference_data(engine: Engine, read) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        read(engine, WAREHOUSE)
    for reader in (FIN, CM, AUDITOR, Actor("ada", "admin")):
        read(engine, reader)


def test_paging_counts_everything_and_returns_a_slice(engine: Engine) -> None:
    for month in range(1, 13):
        set_fx_rate(engine, f"2025-{month:02d}", "USD", "EUR", "0.9", FIN, source="T")
    page, total = list_fx_rates(engine, FIN, offset=10, limit=5)
    assert total == 12
    assert [r.period for r in page] == ["2025-02", "2025-01"]  # newest first
