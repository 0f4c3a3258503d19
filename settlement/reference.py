"""Reference data finance keeps: products and price lists, FX rates, sales targets,
billing details and payments received. (Territory grants come from signed
agreements: :mod:`partners.in_force`.)

Every write checks the actor's role (finance edits; admin where it always could),
validates its input with :mod:`settlement.reference_values` (errors name the field),
and records a :class:`~settlement.models.ReferenceChange` (who, when, before, after,
source) in the same transaction. A write that changes nothing records nothing.
Reads are for finance, channel managers, auditors and admin.

Deposits (:mod:`settlement.deposits`), adjustments (:mod:`settlement.adjustments`)
and the audit history (:mod:`settlement.reference_audit`) are re-exported here, so
this module is the one entry point of the reference-data service.

The ``store_*`` functions write one already-validated row inside the caller's
session and return the :data:`Outcome`; file imports use them to apply a whole file
in one transaction.
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, aliased

from ledger.models import Party
from ledger.times import format_day
from settlement.adjustments import (
    AdjustmentView,
    add_adjustment,
    approve_adjustment,
    list_adjustments,
    reject_adjustment,
)
from settlement.common import Actor, now_ms
from settlement.deposits import (
    DepositMovementView,
    DepositStatus,
    TopUpView,
    deposit_balance,
    deposit_status,
    list_deposit_parties,
    record_deposit,
    request_topup,
    set_deposit_agreement,
)
from settlement.models import (
    FxRate,
    PartyBilling,
    PriceList,
    Product,
    Program,
    ProgramVersion,
    ReceivableMovement,
    SalesTarget,
)
from settlement.reference_audit import (
    READERS,
    ChangeView,
    Outcome,
    page_rows,
    record_change,
    reference_history,
)
from settlement.reference_values import (
    InvalidValue,
    check_bic,
    check_currency,
    check_date,
    check_gtin,
    check_iban,
    check_month,
    check_rate,
    check_text,
    date_ms,
    party_by_id,
)

__all__ = [
    "ECB_SOURCE",
    "AdjustmentView",
    "BillingView",
    "ChangeView",
    "DepositMovementView",
    "DepositStatus",
    "FxRateView",
    "Outcome",
    "PaymentView",
    "PriceView",
    "ProgramVersionView",
    "ProgramView",
    "TargetView",
    "TopUpView",
    "add_adjustment",
    "approve_adjustment",
    "check_billing",
    "check_fx_pair",
    "deposit_balance",
    "deposit_status",
    "get_party_billing",
    "list_adjustments",
    "list_billing",
    "list_deposit_parties",
    "list_fx_rates",
    "list_payments",
    "list_prices",
    "list_programs",
    "list_targets",
    "record_deposit",
    "record_payment",
    "reference_history",
    "reject_adjustment",
    "request_topup",
    "set_deposit_agreement",
    "set_fx_rate",
    "set_party_billing",
    "set_price",
    "set_product",
    "set_target",
    "store_billing",
    "store_fx_rate",
    "store_payment",
    "store_price",
    "store_target",
]

#: ``source`` of rates read from the European Central Bank's reference-rate files.
ECB_SOURCE = "ECB euro foreign exchange reference rates"

EDITORS = ("finance", "admin")


# ------------------------------------------------------------------ views


@dataclass(frozen=True, slots=True)
class PriceView:
    """A price-list version: ``list_price_minor`` of ``currency`` from ``valid_from`` until
    the day before ``valid_until`` (the next version's ``valid_from``; None: still in force)."""

    gtin: str
    product_name: str | None
    currency: str
    valid_from: str
    valid_until: str | None
    list_price_minor: int
    created_by: str
    created_ms: int


@dataclass(frozen=True, slots=True)
class FxRateView:
    """One ``currency`` unit is worth ``rate`` ``reporting_currency`` units in ``period``,
    quoted by ``source`` on ``as_of`` (YYYY-MM-DD)."""

    period: str
    currency: str
    reporting_currency: str
    rate: str
    source: str
    as_of: str


@dataclass(frozen=True, slots=True)
class TargetView:
    """A party's target for a month: ``units`` (measure ``units``) or ``value_minor`` of
    ``currency`` (measure ``value``)."""

    party_id: int
    party_code: str
    period: str
    measure: str
    units: int | None
    value_minor: int | None
    currency: str | None


@dataclass(frozen=True, slots=True)
class BillingView:
    party_id: int
    party_code: str
    legal_name: str
    address: str
    iban: str
    bic: str


@dataclass(frozen=True, slots=True)
class PaymentView:
    """Money received from a party against what it owes (``amount_minor`` > 0)."""

    id: int
    party_id: int
    party_code: str
    received_on: str
    amount_minor: int
    currency: str
    reference: str
    created_by: str


@dataclass(frozen=True, slots=True)
class ProgramVersionView:
    id: int
    version: int
    valid_from: str
    valid_to: str | None
    rules: dict[str, Any]
    created_by: str
    created_ms: int


@dataclass(frozen=True, slots=True)
class ProgramView:
    """A rebate program and its versions, newest first."""

    code: str
    name: str
    versions: tuple[ProgramVersionView, ...]


# ------------------------------------------------------------------ helpers


def _ms_date(at_ms: int) -> str:
    return format_day(at_ms)


def _month_end(period: str) -> str:
    y, m = int(period[:4]), int(period[5:7])
    return f"{period}-{calendar.monthrange(y, m)[1]:02d}"


# ------------------------------------------------------------------ products and prices


def set_product(
    engine: Engine, gtin: str, name: str, actor: Actor, *, source: str = "page"
) -> None:
    """Create or rename the product ``gtin`` (GS1 check digit verified)."""
    actor.require(*EDITORS, action="edit products")
    g = check_gtin(gtin)
    title = check_text(name, "name", max_length=200)
    with Session(engine) as s, s.begin():
        p = s.scalar(select(Product).where(Product.gtin == g))
        if p is None:
            s.add(Product(gtin=g, name=title))
            record_change(s, "products", g, "create", actor, None, {"name": title}, source)
        elif p.name != title:
            record_change(
                s, "products", g, "update", actor, {"name": p.name}, {"name": title}, source
            )
            p.name = title


def store_price(
    s: Session,
    actor: Actor,
    gtin: str,
    currency: str,
    valid_from: str,
    list_price_minor: int,
    source: str,
) -> Outcome:
    """Write one validated price version in ``s``; same (gtin, currency, valid_from) replaces."""
    row = s.scalar(
        select(PriceList).where(
            PriceList.gtin == gtin,
            PriceList.currency == currency,
            PriceList.valid_from == valid_from,
        )
    )
    key = f"{gtin}|{currency}|{valid_from}"
    after = {"list_price_minor": list_price_minor}
    if row is None:
        s.add(
            PriceList(
                gtin=gtin, currency=currency, valid_from=valid_from,
                list_price_minor=list_price_minor, created_by=actor.username, created_ms=now_ms(),
            )
        )  # fmt: skip
        record_change(s, "prices", key, "create", actor, None, after, source)
        return "created"
    if row.list_price_minor == list_price_minor:
        return "unchanged"
    record_change(
        s, "prices", key, "update", actor, {"list_price_minor": row.list_price_minor}, after, source
    )
    row.list_price_minor = list_price_minor
    row.created_by, row.created_ms = actor.username, now_ms()
    return "updated"


def set_price(
    engine: Engine,
    gtin: str,
    currency: str,
    valid_from: str,
    list_price_minor: int,
    actor: Actor,
    *,
    source: str = "page",
) -> None:
    """List price of a product in ``currency`` from ``valid_from`` (YYYY-MM-DD), in minor units.

    A new version, or a replacement of the same (gtin, currency, valid_from) whose old
    value stays in the audit trail. Raises :class:`InvalidValue` naming the field.
    """
    actor.require(*EDITORS, action="edit price lists")
    g, ccy, day = check_gtin(gtin), check_currency(currency), check_date(valid_from, "valid_from")
    if isinstance(list_price_minor, bool) or not isinstance(list_price_minor, int):
        raise InvalidValue.said(
            "price_not_minor", "must be a whole number of minor units", field="list_price"
        )
    if list_price_minor < 0:
        raise InvalidValue.said(
            "price_negative",
            "%(value)s is negative; a price is 0 or more",
            field="list_price",
            value=list_price_minor,
        )
    with Session(engine) as s, s.begin():
        store_price(s, actor, g, ccy, day, list_price_minor, source)


def list_prices(
    engine: Engine,
    actor: Actor,
    *,
    gtin: str | None = None,
    currency: str | None = None,
    on: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[PriceView], int]:
    """Price versions, newest ``valid_from`` first, with the total count.

    ``on`` (YYYY-MM-DD) keeps only the version in force that day for each product and
    currency. Filters are exact (``gtin`` as 8 to 14 digits, ``currency`` a code).
    """
    actor.require(*READERS, action="read price lists")
    nxt = aliased(PriceList)
    valid_until = (
        select(func.min(nxt.valid_from))
        .where(
            nxt.gtin == PriceList.gtin,
            nxt.currency == PriceList.currency,
            nxt.valid_from > PriceList.valid_from,
        )
        .correlate(PriceList)
        .scalar_subquery()
    )
    q = select(PriceList, Product.name, valid_until).outerjoin(
        Product, Product.gtin == PriceList.gtin
    )
    if gtin:
        q = q.where(PriceList.gtin == check_gtin(gtin))
    if currency:
        q = q.where(PriceList.currency == check_currency(currency))
    if on:
        day = check_date(on, "on")
        q = q.where(PriceList.valid_from <= day).where(
            (valid_until.is_(None)) | (valid_until > day)
        )
    with Session(engine) as s:
        rows, total = page_rows(
            s, q, [PriceList.valid_from.desc(), PriceList.gtin, PriceList.currency], offset, limit
        )
        return [
            PriceView(
                p.gtin,
                name,
                p.currency,
                p.valid_from,
                until,
                p.list_price_minor,
                p.created_by,
                p.created_ms,
            )
            for p, name, until in rows
        ], total


# ------------------------------------------------------------------ FX rates


def store_fx_rate(
    s: Session,
    actor: Actor,
    period: str,
    currency: str,
    reporting_currency: str,
    rate: str,
    rate_source: str,
    as_of: str,
    source: str,
    *,
    keep_newer: bool,
) -> Outcome:
    """Write one validated rate in ``s``.

    A stored rate quoted on a later day than ``as_of`` is never replaced: with
    ``keep_newer`` the call is ``unchanged``, otherwise it raises SettlementError.
    """
    row = s.scalar(
        select(FxRate).where(
            FxRate.period == period,
            FxRate.currency == currency,
            FxRate.reporting_currency == reporting_currency,
        )
    )
    key = f"{period}|{currency}|{reporting_currency}"
    after = {"rate": rate, "source": rate_source, "as_of": as_of}
    if row is None:
        s.add(
            FxRate(
                period=period, currency=currency, reporting_currency=reporting_currency,
                rate=rate, source=rate_source, as_of=as_of,
            )
        )  # fmt: skip
        record_change(s, "fx", key, "create", actor, None, after, source)
        return "created"
    if row.as_of and row.as_of > as_of:
        if keep_newer:
            return "unchanged"
        raise InvalidValue.said(
            "fx_quote_older",
            "the stored %(currency)s/%(reporting)s rate for %(period)s is as of %(stored)s,"
            " newer than %(as_of)s; an older quote does not replace it",
            field="as_of",
            currency=currency,
            reporting=reporting_currency,
            period=period,
            stored=row.as_of,
            as_of=as_of,
        )
    if Decimal(row.rate) == Decimal(rate) and row.source == rate_source and row.as_of == as_of:
        return "unchanged"
    before = {"rate": row.rate, "source": row.source, "as_of": row.as_of}
    record_change(s, "fx", key, "update", actor, before, after, source)
    row.rate, row.source, row.as_of = rate, rate_source, as_of
    return "updated"


def check_fx_pair(currency: str, reporting_currency: str) -> tuple[str, str]:
    """Both codes checked, and different (a rate of a currency to itself is always 1)."""
    ccy = check_currency(currency, "currency")
    rep = check_currency(reporting_currency, "reporting_currency")
    if ccy == rep:
        raise InvalidValue.said(
            "fx_same_currency",
            "is %(currency)s like currency; a rate converts between two currencies",
            field="reporting_currency",
            currency=rep,
        )
    return ccy, rep


def set_fx_rate(
    engine: Engine,
    period: str,
    currency: str,
    reporting_currency: str,
    rate: str,
    actor: Actor,
    *,
    source: str = "manual",
    as_of: str | None = None,
    audit_source: str = "page",
) -> None:
    """One ``currency`` unit = ``rate`` ``reporting_currency`` units in ``period`` (YYYY-MM).

    ``source`` names who quoted the rate (statements print it); ``as_of`` is the
    quote's day (default the period's last day). Refuses a rate <= 0, a rate of a
    currency to itself, and an ``as_of`` older than the stored rate's.
    """
    actor.require(*EDITORS, action="set FX rates")
    month = check_month(period, "period")
    ccy, rep = check_fx_pair(currency, reporting_currency)
    value = check_rate(rate)
    quoted = check_text(source, "source", max_length=200)
    day = check_date(as_of, "as_of") if as_of else _month_end(month)
    with Session(engine) as s, s.begin():
        store_fx_rate(s, actor, month, ccy, rep, value, quoted, day, audit_source, keep_newer=False)


def list_fx_rates(
    engine: Engine,
    actor: Actor,
    *,
    period: str | None = None,
    currency: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[FxRateView], int]:
    """FX rates, newest period first; ``currency`` matches either side of the pair."""
    actor.require(*READERS, action="read FX rates")
    q = select(FxRate)
    if period:
        q = q.where(FxRate.period == check_month(period, "period"))
    if currency:
        code = check_currency(currency)
        q = q.where((FxRate.currency == code) | (FxRate.reporting_currency == code))
    with Session(engine) as s:
        rows, total = page_rows(
            s, q, [FxRate.period.desc(), FxRate.currency, FxRate.reporting_currency], offset, limit
        )
        return [
            FxRateView(r.period, r.currency, r.reporting_currency, r.rate, r.source, r.as_of)
            for (r,) in rows
        ], total


# ------------------------------------------------------------------ sales targets


def store_target(
    s: Session,
    actor: Actor,
    party: Party,
    period: str,
    units: int | None,
    value_minor: int | None,
    source: str,
) -> Outcome:
    """Write one validated target (exactly one of ``units``/``value_minor``) in ``s``."""
    measure = "units" if units is not None else "value"
    currency = party.currency if measure == "value" else None
    after = {"measure": measure, "units": units, "value_minor": value_minor, "currency": currency}
    row = s.scalar(
        select(SalesTarget).where(SalesTarget.party_id == party.id, SalesTarget.period == period)
    )
    key = f"{party.code}|{period}"
    if row is None:
        s.add(
            SalesTarget(
                party_id=party.id, period=period, measure=measure, units=units,
                value_minor=value_minor, currency=currency,
            )
        )  # fmt: skip
        record_change(s, "targets", key, "create", actor, None, after, source)
        return "created"
    before = {
        "measure": row.measure,
        "units": row.units,
        "value_minor": row.value_minor,
        "currency": row.currency,
    }
    if before == after:
        return "unchanged"
    record_change(s, "targets", key, "update", actor, before, after, source)
    row.measure, row.units, row.value_minor, row.currency = measure, units, value_minor, currency
    return "updated"


def set_target(
    engine: Engine,
    party_id: int,
    period: str,
    actor: Actor,
    *,
    units: int | None = None,
    value_minor: int | None = None,
    currency: str | None = None,
    source: str = "page",
) -> None:
    """What ``party_id`` should sell in ``period`` (YYYY-MM): ``units``, or ``value_minor``
    in the party's own currency (``currency``, if given, must be that one)."""
    actor.require(*EDITORS, action="set sales targets")
    month = check_month(period, "period")
    if (units is None) == (value_minor is None):
        raise InvalidValue.said(
            "target_units_or_value",
            "give either units or value, not both and not neither",
            field="units",
        )
    for name, n in (("units", units), ("value", value_minor)):
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n <= 0):
            raise InvalidValue.said(
                "not_whole_above_zero",
                "%(value)s is not a whole number greater than 0",
                field=name,
                value=repr(n),
            )
    with Session(engine) as s, s.begin():
        party = party_by_id(s, party_id)
        if value_minor is not None and currency and check_currency(currency) != party.currency:
            raise InvalidValue.said(
                "target_currency",
                "%(party)s is settled in %(currency)s; a value target is in that currency,"
                " not %(other)s",
                field="currency",
                party=party.code,
                currency=party.currency,
                other=currency,
            )
        store_target(s, actor, party, month, units, value_minor, source)


def list_targets(
    engine: Engine,
    actor: Actor,
    *,
    party_id: int | None = None,
    period: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[TargetView], int]:
    """Sales targets, newest period first, then by party code."""
    actor.require(*READERS, action="read sales targets")
    q = select(SalesTarget, Party.code).join(Party, Party.id == SalesTarget.party_id)
    if party_id is not None:
        q = q.where(SalesTarget.party_id == party_id)
    if period:
        q = q.where(SalesTarget.period == check_month(period, "period"))
    with Session(engine) as s:
        rows, total = page_rows(s, q, [SalesTarget.period.desc(), Party.code], offset, limit)
        return [
            TargetView(t.party_id, code, t.period, t.measure, t.units, t.value_minor, t.currency)
            for t, code in rows
        ], total


# ------------------------------------------------------------------ billing details


def store_billing(
    s: Session,
    actor: Actor,
    party: Party,
    legal_name: str,
    address: str,
    iban: str,
    bic: str,
    source: str,
) -> Outcome:
    """Write one party's validated billing details in ``s``."""
    after = {"legal_name": legal_name, "address": address, "iban": iban, "bic": bic}
    row = s.scalar(select(PartyBilling).where(PartyBilling.party_id == party.id))
    if row is None:
        s.add(PartyBilling(party_id=party.id, **after))
        record_change(s, "billing", party.code, "create", actor, None, after, source)
        return "created"
    before = {
        "legal_name": row.legal_name,
        "address": row.address,
        "iban": row.iban,
        "bic": row.bic,
    }
    if before == after:
        return "unchanged"
    record_change(s, "billing", party.code, "update", actor, before, after, source)
    row.legal_name, row.address, row.iban, row.bic = legal_name, address, iban, bic
    return "updated"


def check_billing(legal_name: str, address: str, iban: str, bic: str) -> tuple[str, str, str, str]:
    """Billing fields checked: a legal name, an IBAN (ISO 13616), a BIC (ISO 9362) or none."""
    return (
        check_text(legal_name, "legal_name", max_length=200),
        check_text(address, "address", required=False, max_length=1000),
        check_iban(iban),
        check_bic(bic) if bic.strip() else "",
    )


def set_party_billing(
    engine: Engine,
    party_id: int,
    actor: Actor,
    *,
    legal_name: str,
    address: str,
    iban: str,
    bic: str,
    source: str = "page",
) -> None:
    """A party's legal name, postal address (lines separated by newlines), IBAN and BIC.

    The IBAN is checked by country format and mod-97 check digits (ISO 13616), the BIC
    by shape and country (ISO 9362; may be empty: SEPA transfers need only the IBAN).
    """
    actor.require("finance", action="edit billing details")
    fields = check_billing(legal_name, address, iban, bic)
    with Session(engine) as s, s.begin():
        store_billing(s, actor, party_by_id(s, party_id), *fields, source)


def get_party_billing(engine: Engine, party_id: int, actor: Actor) -> BillingView | None:
    """A party's billing details, or None when none are recorded (finance and readers;
    a distributor only its own party's, else :class:`SettlementError` 'no party')."""
    if actor.role == "distributor" and actor.party_id != party_id:
        raise InvalidValue.said(
            "billing_no_party", "no party with id %(party)s", field="party", party=party_id
        )
    if actor.role != "distributor":
        actor.require(*READERS, action="read billing details")
    with Session(engine) as s:
        party = party_by_id(s, party_id)
        row = s.scalar(select(PartyBilling).where(PartyBilling.party_id == party_id))
        if row is None:
            return None
        return BillingView(party_id, party.code, row.legal_name, row.address, row.iban, row.bic)


def list_billing(
    engine: Engine, actor: Actor, *, offset: int = 0, limit: int = 50
) -> tuple[list[BillingView], int]:
    """Billing details of every party that has them, by party code."""
    actor.require(*READERS, action="read billing details")
    q = select(PartyBilling, Party.code).join(Party, Party.id == PartyBilling.party_id)
    with Session(engine) as s:
        rows, total = page_rows(s, q, [Party.code], offset, limit)
        return [
            BillingView(b.party_id, code, b.legal_name, b.address, b.iban, b.bic)
            for b, code in rows
        ], total


# ------------------------------------------------------------------ payments received


def store_payment(
    s: Session,
    actor: Actor,
    party: Party,
    amount_minor: int,
    reference: str,
    received_on: str,
    source: str,
    *,
    skip_same: bool,
) -> tuple[Outcome, int]:
    """Book one validated payment in ``s``: a ``payment`` receivable movement of
    ``-amount_minor``. With ``skip_same`` the same party, day, amount and reference
    already booked is ``unchanged`` (a re-imported file)."""
    at = date_ms(received_on)
    if skip_same:
        same = s.scalar(
            select(ReceivableMovement.id).where(
                ReceivableMovement.party_id == party.id,
                ReceivableMovement.kind == "payment",
                ReceivableMovement.at_ms == at,
                ReceivableMovement.amount_minor == -amount_minor,
                ReceivableMovement.ref == reference,
            )
        )
        if same is not None:
            return "unchanged", int(same)
    m = ReceivableMovement(
        party_id=party.id, at_ms=at, amount_minor=-amount_minor, currency=party.currency,
        kind="payment", run_id=None, ref=reference, created_by=actor.username,
    )  # fmt: skip
    s.add(m)
    s.flush()
    after = {
        "received_on": received_on,
        "amount_minor": amount_minor,
        "currency": party.currency,
        "reference": reference,
    }
    record_change(s, "payments", f"{party.code}|{m.id}", "create", actor, None, after, source)
    return "created", m.id


def record_payment(
    engine: Engine,
    party_id: int,
    amount_minor: int,
    reference: str,
    actor: Actor,
    *,
    received_on: str,
    source: str = "page",
) -> int:
    """Money received from a party (``amount_minor`` > 0 of its currency) on
    ``received_on`` (YYYY-MM-DD) with the bank ``reference``: lowers what it owes.
    Returns the movement id."""
    actor.require("finance", action="record payments")
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise InvalidValue.said(
            "payment_not_above_zero",
            "%(value)s is not an amount greater than 0",
            field="amount",
            value=repr(amount_minor),
        )
    ref = check_text(reference, "reference", max_length=200)
    day = check_date(received_on, "received_on")
    with Session(engine) as s, s.begin():
        _, mid = store_payment(
            s, actor, party_by_id(s, party_id), amount_minor, ref, day, source, skip_same=False
        )
        return mid


def list_payments(
    engine: Engine,
    actor: Actor,
    *,
    party_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[PaymentView], int]:
    """Payments received, newest first."""
    actor.require(*READERS, action="read payments")
    q = (
        select(ReceivableMovement, Party.code)
        .join(Party, Party.id == ReceivableMovement.party_id)
        .where(ReceivableMovement.kind == "payment")
    )
    if party_id is not None:
        q = q.where(ReceivableMovement.party_id == party_id)
    with Session(engine) as s:
        rows, total = page_rows(
            s, q, [ReceivableMovement.at_ms.desc(), ReceivableMovement.id.desc()], offset, limit
        )
        return [
            PaymentView(
                m.id,
                m.party_id,
                code,
                _ms_date(m.at_ms),
                -m.amount_minor,
                m.currency,
                m.ref,
                m.created_by,
            )
            for m, code in rows
        ], total


# ------------------------------------------------------------------ programs (read side)


def list_programs(engine: Engine, actor: Actor) -> list[ProgramView]:
    """Every rebate program by code, each with its versions newest first.

    Writes go through :mod:`settlement.programs` (``create_program``,
    ``add_program_version``), which validates the rules and audits the change.
    """
    actor.require(*READERS, action="read rebate programs")
    with Session(engine) as s:
        programs = s.scalars(select(Program).order_by(Program.code)).all()
        versions: dict[int, list[ProgramVersionView]] = {p.id: [] for p in programs}
        for v in s.scalars(select(ProgramVersion).order_by(ProgramVersion.version.desc())):
            versions.setdefault(v.program_id, []).append(
                ProgramVersionView(
                    v.id,
                    v.version,
                    v.valid_from,
                    v.valid_to,
                    json.loads(v.rules_json),
                    v.created_by,
                    v.created_ms,
                )
            )
        return [ProgramView(p.code, p.name, tuple(versions[p.id])) for p in programs]
