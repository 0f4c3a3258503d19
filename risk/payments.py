"""Payments received, trade invoices and write-offs (issue 13), and what they settle.

A payment (:class:`risk.models.CreditPayment`) is allocated when it is recorded:
first to the open item its reference or remittance text names (an invoice
number as printed, ``statement 123`` or ``statement:123``, ``HC-S123-...`` as our
own payment files write it (:mod:`settlement.payments`), ``delivery 2026-11-03``),
then to the other open items oldest due first (FIFO, as receivables are usually
cleared). What an item may still take counts every settlement on file whatever its
day (:func:`risk.open_items.settleable_in`): a payment received earlier than ones
already recorded never settles an item past its amount; the rest goes to the next
open item, then on account. The parts that went to invoices and deliveries are
:class:`~risk.models.CreditAllocation` rows; the part that went to statement items
is an allocation too, and it plus whatever is left over (credit on account) is
booked as one ``payment`` receivable movement (:func:`settlement.reference.store_payment`,
with its audit record), so the rebate receivable stays right.

The same party, day, amount and reference again is ``unchanged`` (a re-imported
bank file never pays twice). Finance (and admin) record payments and invoices,
cancel unpaid invoices and write items off (``reason`` required): every change is
audited in the party's history (:func:`partners.audit.record`, ``credit.*``).

Amounts are integer minor units of the party's currency; days ISO ``YYYY-MM-DD``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, cast

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.audit import now_ms, record
from partners.errors import Acting, PartnerNotFound, PartnerStateError, require
from partners.values import InvalidField, check_text
from risk.models import CreditAllocation, CreditPayment, TradeInvoice
from risk.open_items import OpenItem, parse_item, payment_terms_in, settleable_in
from settlement.common import Actor
from settlement.models import ReceivableMovement
from settlement.reference import store_payment
from settlement.reference_audit import page_rows
from settlement.reference_values import MAX_MINOR, date_ms

__all__ = [
    "CREDIT_READERS",
    "CREDIT_WRITERS",
    "AllocationView",
    "InvoiceView",
    "PaymentView",
    "allocations_of",
    "cancel_invoice",
    "check_day",
    "check_received",
    "credit_party",
    "list_invoices",
    "list_payments",
    "named_items",
    "record_invoice",
    "record_payment",
    "store_credit_payment",
    "write_off",
]

CREDIT_READERS = ("finance", "channel_manager", "partner_manager", "auditor", "admin")
CREDIT_WRITERS = ("finance", "admin")

Outcome = Literal["created", "unchanged"]


@dataclass(frozen=True, slots=True)
class AllocationView:
    """What settled (part of) an item: ``kind`` payment | write_off, minor units."""

    id: int
    item: str
    amount_minor: int
    currency: str
    kind: str
    payment_id: int | None
    reason: str
    applied_on: str
    created_by: str


@dataclass(frozen=True, slots=True)
class PaymentView:
    """A payment and what it settled; ``on_account_minor`` = amount - allocations
    (credit not applied to any item). ``receivable_movement_id``: the ``payment``
    receivable movement of the statement part and the credit on account."""

    id: int
    party_id: int
    party_code: str
    received_on: str
    amount_minor: int
    currency: str
    reference: str
    remittance: str
    payer_iban: str
    source: str
    receivable_movement_id: int | None
    allocations: tuple[AllocationView, ...]
    on_account_minor: int
    created_by: str


@dataclass(frozen=True, slots=True)
class InvoiceView:
    """A trade invoice with what settled it and what is open (minor units)."""

    id: int
    number: str
    party_id: int
    party_code: str
    issued_on: str
    due_on: str
    amount_minor: int
    settled_minor: int
    open_minor: int
    currency: str
    description: str
    status: str
    created_by: str


def _alloc_view(a: CreditAllocation) -> AllocationView:
    return AllocationView(
        a.id, a.item, a.amount_minor, a.currency, a.kind, a.payment_id, a.reason, a.applied_on,
        a.created_by,
    )  # fmt: skip


def credit_party(s: Session, party_id: int) -> Party:
    """The party with that id; :class:`PartnerNotFound` (``no_credit_party``) if none."""
    party = s.get(Party, party_id)
    if party is None:
        raise PartnerNotFound.said("no_credit_party", "no party %(party)s", party=party_id)
    return party


def check_day(value: str | date, field: str) -> str:
    """An ISO day ``YYYY-MM-DD`` (a :class:`date` passes); :class:`InvalidField` else."""
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    raise InvalidField.said(
        "credit_day_invalid",
        "%(value)s is not a date YYYY-MM-DD",
        field=field,
        value=repr(text),
    )


def check_received(day: str, field: str = "received_on") -> str:
    """``day`` (ISO) when it is today (UTC) or earlier; :class:`InvalidField`
    (``credit_payment_future``) naming ``field`` when it is after today: a payment is
    recorded once the money has arrived (forms, API, CLI and both import layouts)."""
    if date.fromisoformat(day) > datetime.now(UTC).date():
        raise InvalidField.said(
            "credit_payment_future",
            "%(value)s is after today; a payment is recorded once the money has arrived",
            field=field,
            value=day,
        )
    return day


def _check_amount(amount_minor: object, field: str = "amount") -> int:
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise InvalidField.said(
            "credit_amount_not_above_zero",
            "%(value)s is not an amount greater than 0",
            field=field,
            value=repr(amount_minor),
        )
    if amount_minor > MAX_MINOR:
        raise InvalidField.said(
            "amount_too_large",
            "%(value)s is larger than any amount hopchain stores",
            field=field,
            value=str(amount_minor)[:30],
        )
    return amount_minor


_STATEMENT = re.compile(r"(?:\bstatement[\s:#-]*|\bHC-S)(\d+)\b", re.IGNORECASE)
_DELIVERY = re.compile(r"\bdelivery[\s:]*(\d{4}-\d{2}-\d{2})\b", re.IGNORECASE)


def named_items(text: str, items: Sequence[OpenItem]) -> list[str]:
    """The items of ``items`` that ``text`` (reference and remittance) names, in the
    order they are named: ``statement 12``/``statement:12``/``HC-S12-R3-2026-10``,
    ``delivery 2026-11-03``, or an invoice's number as printed (case-insensitive,
    not inside a longer word)."""
    names = {i.item for i in items}
    found: list[tuple[int, str]] = []
    for m in _STATEMENT.finditer(text):
        found.append((m.start(), f"statement:{m.group(1)}"))
    for m in _DELIVERY.finditer(text):
        found.append((m.start(), f"delivery:{m.group(1)}"))
    for i in items:
        if i.kind == "invoice":
            number = i.item.split(":", 1)[1]
            hit = re.search(rf"(?<![\w-]){re.escape(number)}(?![\w-])", text, re.IGNORECASE)
            if hit:
                found.append((hit.start(), i.item))
    out: list[str] = []
    for _, name in sorted(found):
        if name in names and name not in out:
            out.append(name)
    return out


def _payment_view(s: Session, p: CreditPayment, code: str) -> PaymentView:
    allocs = tuple(
        _alloc_view(a)
        for a in s.scalars(
            select(CreditAllocation)
            .where(CreditAllocation.payment_id == p.id)
            .order_by(CreditAllocation.id)
        )
    )
    left = p.amount_minor - sum(a.amount_minor for a in allocs)
    return PaymentView(
        p.id, p.party_id, code, p.received_on, p.amount_minor, p.currency, p.reference,
        p.remittance, p.payer_iban, p.source, p.receivable_movement_id, allocs, left, p.created_by,
    )  # fmt: skip


def store_credit_payment(
    s: Session,
    actor: Acting,
    party: Party,
    amount_minor: int,
    reference: str,
    received_on: str,
    *,
    remittance: str = "",
    payer_iban: str = "",
    source: str = "page",
) -> tuple[Outcome, PaymentView]:
    """Book one checked payment in ``s``'s transaction and allocate it (see the module
    docstring); ``("unchanged", the stored one)`` when the same party, day, amount and
    reference is already on file (also one the rebate receivable booked before).
    Locks the party's row (PostgreSQL) so that two payments never allocate the same
    open amount."""
    s.execute(select(Party.id).where(Party.id == party.id).with_for_update())
    same = s.scalar(
        select(CreditPayment).where(
            CreditPayment.party_id == party.id,
            CreditPayment.received_on == received_on,
            CreditPayment.amount_minor == amount_minor,
            CreditPayment.reference == reference,
        )
    )
    if same is not None:
        return "unchanged", _payment_view(s, same, party.code)
    legacy = s.scalar(
        select(ReceivableMovement.id).where(
            ReceivableMovement.party_id == party.id,
            ReceivableMovement.kind == "payment",
            ReceivableMovement.at_ms == date_ms(received_on),
            ReceivableMovement.amount_minor == -amount_minor,
            ReceivableMovement.ref == reference,
        )
    )
    payment = CreditPayment(
        party_id=party.id, received_on=received_on, amount_minor=amount_minor,
        currency=party.currency, reference=reference, remittance=remittance,
        payer_iban=payer_iban, source=source, created_by=actor.username, created_ms=now_ms(),
    )  # fmt: skip
    s.add(payment)
    s.flush()
    if legacy is not None:  # booked by the rebate receivable's import before: credit on account
        payment.receivable_movement_id = int(legacy)
        return "unchanged", _payment_view(s, payment, party.code)
    # what is still open counting every settlement on file, also those received
    # later than this payment: an item is never settled past its amount
    open_items = settleable_in(s, party.id, date.fromisoformat(received_on))
    named = named_items(f"{reference} {remittance}", open_items)
    by_name = {i.item: i for i in open_items}
    order = [by_name[n] for n in named] + [i for i in open_items if i.item not in named]
    left = amount_minor
    to_statements = 0
    for item in order:
        if left <= 0:
            break
        take = min(left, item.open_minor)
        left -= take
        if item.kind == "statement":
            to_statements += take
        s.add(
            CreditAllocation(
                party_id=party.id, item=item.item, amount_minor=take, currency=party.currency,
                kind="payment", payment_id=payment.id, applied_on=received_on,
                created_by=actor.username, created_ms=payment.created_ms,
            )
        )  # fmt: skip
    booked = to_statements + left
    if booked > 0:
        _, mid = store_payment(
            s, cast(Actor, actor), party, booked, reference, received_on, source, skip_same=False
        )
        payment.receivable_movement_id = mid
    s.flush()
    view = _payment_view(s, payment, party.code)
    record(
        s,
        "credit.payment",
        actor,
        party_id=party.id,
        detail={
            "payment": payment.id,
            "received_on": received_on,
            "amount_minor": amount_minor,
            "currency": party.currency,
            "reference": reference,
            "source": source,
            "allocations": {a.item: a.amount_minor for a in view.allocations},
            "on_account_minor": view.on_account_minor,
        },
    )
    return "created", view


def record_payment(
    engine: Engine,
    party_id: int,
    amount_minor: int,
    reference: str,
    actor: Acting,
    *,
    received_on: str | date,
    remittance: str = "",
    payer_iban: str = "",
    source: str = "page",
) -> PaymentView:
    """Money received from a party (``amount_minor`` > 0 of its currency) on
    ``received_on``, allocated to its open items (module docstring). Finance only
    (:class:`partners.errors.PartnerDenied`); :class:`partners.values.InvalidField`
    for a bad amount, reference or day; :class:`PartnerNotFound` for an unknown
    party. The same payment again returns the stored one unchanged."""
    require(actor, *CREDIT_WRITERS, action="record payments")
    amount = _check_amount(amount_minor)
    ref = check_text(reference, "reference", max_length=200)
    note = check_text(remittance, "remittance", required=False, max_length=2000)
    iban = check_text(payer_iban, "payer_iban", required=False, max_length=34).replace(" ", "")
    day = check_received(check_day(received_on, "received_on"))
    with Session(engine) as s, s.begin():
        party = credit_party(s, party_id)
        _, view = store_credit_payment(
            s, actor, party, amount, ref, day, remittance=note, payer_iban=iban,
            source=source,
        )  # fmt: skip
        return view


def _invoice_view(s: Session, inv: TradeInvoice, code: str) -> InvoiceView:
    settled = int(
        s.scalar(
            select(func.coalesce(func.sum(CreditAllocation.amount_minor), 0)).where(
                CreditAllocation.party_id == inv.party_id,
                CreditAllocation.item == f"invoice:{inv.number}",
            )
        )
        or 0
    )
    open_minor = 0 if inv.status != "open" else inv.amount_minor - settled
    return InvoiceView(
        inv.id, inv.number, inv.party_id, code, inv.issued_on, inv.due_on, inv.amount_minor,
        settled, open_minor, inv.currency, inv.description, inv.status, inv.created_by,
    )  # fmt: skip


def record_invoice(
    engine: Engine,
    party_id: int,
    number: str,
    *,
    issued_on: str | date,
    due_on: str | date | None = None,
    amount_minor: int,
    description: str,
    actor: Acting,
) -> InvoiceView:
    """A trade invoice of ``amount_minor`` (> 0, the party's currency) numbered
    ``number`` (unique). ``due_on`` defaults to ``issued_on`` + the payment days in
    force on the issue day (:class:`risk.open_items.PaymentTerms`: 30 without a
    limit on file then).
    Finance only; :class:`InvalidField` for a bad field; :class:`PartnerStateError`
    when the number is taken."""
    require(actor, *CREDIT_WRITERS, action="record invoices")
    num = check_text(number, "number", max_length=64)
    amount = _check_amount(amount_minor)
    issued = check_day(issued_on, "issued_on")
    text = check_text(description, "description", required=False, max_length=2000)
    with Session(engine) as s, s.begin():
        party = credit_party(s, party_id)
        if due_on is None or due_on == "":
            days = payment_terms_in(s, [party.id]).days_on(party.id, issued)
            due = (date.fromisoformat(issued) + timedelta(days=days)).isoformat()
        else:
            due = check_day(due_on, "due_on")
        if due < issued:
            raise InvalidField.said(
                "credit_due_before_issue",
                "%(due)s is before the issue day %(issued)s",
                field="due_on",
                due=due,
                issued=issued,
            )
        if s.scalar(select(TradeInvoice.id).where(TradeInvoice.number == num)) is not None:
            raise PartnerStateError.said(
                "credit_invoice_taken", "invoice %(number)s is already on file", number=num
            )
        inv = TradeInvoice(
            number=num, party_id=party.id, issued_on=issued, due_on=due, amount_minor=amount,
            currency=party.currency, description=text, status="open",
            created_by=actor.username, created_ms=now_ms(),
        )  # fmt: skip
        s.add(inv)
        s.flush()
        record(
            s, "credit.invoice", actor, party_id=party.id,
            detail={"invoice": num, "issued_on": issued, "due_on": due, "amount_minor": amount,
                    "currency": party.currency},
        )  # fmt: skip
        return _invoice_view(s, inv, party.code)


def cancel_invoice(engine: Engine, number: str, reason: str, actor: Acting) -> InvoiceView:
    """Cancel an invoice nothing has settled yet (finance; ``reason`` required).
    :class:`PartnerNotFound` for an unknown number, :class:`PartnerStateError` when it
    is cancelled already or partly settled."""
    require(actor, *CREDIT_WRITERS, action="cancel invoices")
    why = check_text(reason, "reason", max_length=2000)
    with Session(engine) as s, s.begin():
        inv = s.scalar(select(TradeInvoice).where(TradeInvoice.number == number))
        if inv is None:
            raise PartnerNotFound.said("credit_no_invoice", "no invoice %(number)s", number=number)
        party = credit_party(s, inv.party_id)
        view = _invoice_view(s, inv, party.code)
        if inv.status != "open" or view.settled_minor:
            raise PartnerStateError.said(
                "credit_invoice_not_cancellable",
                "invoice %(number)s is %(status)s with %(settled)s settled; only an unpaid one can be cancelled",
                number=number,
                status=inv.status,
                settled=view.settled_minor,
            )
        inv.status = "cancelled"
        record(s, "credit.invoice_cancelled", actor, party_id=party.id,
               detail={"invoice": number, "reason": why})  # fmt: skip
        s.flush()
        return _invoice_view(s, inv, party.code)


def write_off(
    engine: Engine,
    party_id: int,
    item: str,
    amount_minor: int | None,
    reason: str,
    actor: Acting,
    *,
    on: str | date,
) -> AllocationView:
    """Write off ``amount_minor`` (None: all that is open) of the party's open
    ``item`` on day ``on``: finance's decision that it will not be paid (an
    allocation of kind ``write_off``; read by the rating accuracy as written off).
    A written-off statement part stays in the rebate receivable (settlement's book).
    :class:`InvalidField` for a missing reason or an amount over what is open;
    :class:`PartnerNotFound` for an item the party does not owe."""
    require(actor, *CREDIT_WRITERS, action="write off open items")
    why = check_text(reason, "reason", max_length=2000)
    day = check_day(on, "on")
    with Session(engine) as s, s.begin():
        party = credit_party(s, party_id)
        s.execute(select(Party.id).where(Party.id == party.id).with_for_update())
        # open counting every settlement on file, later-dated ones too
        target = next(
            (i for i in settleable_in(s, party.id, date.fromisoformat(day)) if i.item == item),
            None,
        )
        if parse_item(item) is None or target is None:
            raise PartnerNotFound.said(
                "credit_no_open_item",
                "%(party)s has no open item %(item)s",
                party=party.code,
                item=item,
            )
        amount = target.open_minor if amount_minor is None else _check_amount(amount_minor)
        if amount > target.open_minor:
            raise InvalidField.said(
                "credit_write_off_too_much",
                "%(amount)s is more than the %(open)s open on %(item)s",
                field="amount",
                amount=amount,
                open=target.open_minor,
                item=item,
            )
        a = CreditAllocation(
            party_id=party.id, item=item, amount_minor=amount, currency=party.currency,
            kind="write_off", payment_id=None, reason=why, applied_on=day,
            created_by=actor.username, created_ms=now_ms(),
        )  # fmt: skip
        s.add(a)
        s.flush()
        record(
            s, "credit.write_off", actor, party_id=party.id,
            detail={"item": item, "amount_minor": amount, "currency": party.currency,
                    "reason": why, "on": day},
        )  # fmt: skip
        return _alloc_view(a)


def allocations_of(s: Session, party_id: int) -> dict[str, list[AllocationView]]:
    """Item name -> what settled it (payments and write-offs), oldest first."""
    out: dict[str, list[AllocationView]] = {}
    for a in s.scalars(
        select(CreditAllocation)
        .where(CreditAllocation.party_id == party_id)
        .order_by(CreditAllocation.applied_on, CreditAllocation.id)
    ):
        out.setdefault(a.item, []).append(_alloc_view(a))
    return out


def _scope(actor: Acting, party_id: int | None) -> int | None:
    if actor.role == "distributor":
        if actor.party_id is None or (party_id is not None and party_id != actor.party_id):
            raise PartnerNotFound.said("no_credit_party", "no party %(party)s", party=party_id)
        return actor.party_id
    require(actor, *CREDIT_READERS, action="read credit")
    return party_id


def list_payments(
    engine: Engine,
    actor: Acting,
    *,
    party_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[PaymentView], int]:
    """Payments newest first, ``(page, total)``; credit readers read all, a
    distributor its own (another party answers like a missing one)."""
    pid = _scope(actor, party_id)
    q = select(CreditPayment, Party.code).join(Party, Party.id == CreditPayment.party_id)
    if pid is not None:
        q = q.where(CreditPayment.party_id == pid)
    order = (CreditPayment.received_on.desc(), CreditPayment.id.desc())
    with Session(engine) as s:
        rows, total = page_rows(s, q, order, offset, limit)
        return [_payment_view(s, p, code) for p, code in rows], total


def list_invoices(
    engine: Engine,
    actor: Acting,
    *,
    party_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[InvoiceView], int]:
    """Invoices newest issued first, ``(page, total)``; scoped like :func:`list_payments`."""
    pid = _scope(actor, party_id)
    q = select(TradeInvoice, Party.code).join(Party, Party.id == TradeInvoice.party_id)
    if pid is not None:
        q = q.where(TradeInvoice.party_id == pid)
    order = (TradeInvoice.issued_on.desc(), TradeInvoice.id.desc())
    with Session(engine) as s:
        rows, total = page_rows(s, q, order, offset, limit)
        return [_invoice_view(s, inv, code) for inv, code in rows], total
