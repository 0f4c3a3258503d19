"""Distributor deposits: receipts and refunds, the agreed level, and top-up requests.

A party's deposit balance is the sum of its :class:`~settlement.models.DepositMovement`
rows, in the party's currency: receipts are positive, refunds negative, and runs
deduct penalties (kind ``deduction``). A refund never takes the balance below zero.
The agreed level is the :class:`~settlement.models.DepositAgreement` in force (the
latest ``valid_from`` on or before the day); below it, finance asks the distributor
to top up by a deadline, and the request is marked met once receipts bring the
balance back to the agreed level.

Every write is finance's and is audited (:mod:`settlement.reference_audit`); reads are
for finance, channel managers, auditors and admin, and a distributor reads its own
party's deposit (another party's answers like a missing one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session

from ledger.models import Party
from ledger.times import format_day
from settlement.common import Actor, SettlementError, now_ms
from settlement.models import DepositAgreement, DepositMovement, TopUpRequest
from settlement.reference_audit import READERS, Outcome, record_change
from settlement.reference_values import (
    InvalidValue,
    check_date,
    check_text,
    date_ms,
    minor_to_major,
    party_by_id,
)

__all__ = [
    "DEPOSIT_KINDS",
    "DepositMovementView",
    "DepositStatus",
    "TopUpView",
    "agreed_level",
    "deposit_balance",
    "deposit_status",
    "list_deposit_parties",
    "record_deposit",
    "request_topup",
    "set_deposit_agreement",
    "store_agreement",
    "store_deposit",
]

#: Movements finance records by hand or by import (runs add ``deduction``).
DEPOSIT_KINDS = ("receipt", "refund")
DepositKind = Literal["receipt", "refund"]


@dataclass(frozen=True, slots=True)
class DepositMovementView:
    """A movement: ``amount_minor`` signed (refunds and deductions negative)."""

    id: int
    at_ms: int
    kind: str
    amount_minor: int
    currency: str
    reason: str
    created_by: str
    run_id: int | None


@dataclass(frozen=True, slots=True)
class TopUpView:
    """A request to bring the deposit up by ``amount_minor`` before ``deadline``."""

    id: int
    amount_minor: int
    currency: str
    deadline: str
    status: str  # open | met | cancelled
    reason: str
    created_by: str
    created_ms: int


@dataclass(frozen=True, slots=True)
class DepositStatus:
    """A party's deposit today: balance, agreed level (None: no agreement), what is
    short of it (0 when none), its open top-up requests and its newest movements."""

    party_code: str
    currency: str
    balance_minor: int
    agreed_minor: int | None
    shortfall_minor: int
    open_topups: tuple[TopUpView, ...]
    movements: tuple[DepositMovementView, ...]
    party_id: int = 0


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _balance(s: Session, party_id: int) -> int:
    v = s.scalar(
        select(func.coalesce(func.sum(DepositMovement.amount_minor), 0)).where(
            DepositMovement.party_id == party_id
        )
    )
    return int(v or 0)


def deposit_balance(engine: Engine, party_id: int) -> int:
    """The deposit balance of ``party_id`` in minor units of its currency (no role check:
    for the engine and tests; people read :func:`deposit_status`)."""
    with Session(engine) as s:
        return _balance(s, party_id)


def agreed_level(s: Session, party_id: int, on: str) -> int | None:
    """The agreed deposit in force on ``on`` (YYYY-MM-DD), or None without an agreement."""
    v = s.scalar(
        select(DepositAgreement.amount_minor)
        .where(DepositAgreement.party_id == party_id, DepositAgreement.valid_from <= on)
        .order_by(DepositAgreement.valid_from.desc())
        .limit(1)
    )
    return None if v is None else int(v)


def _mark_met(s: Session, party: Party, actor: Actor, source: str) -> None:
    agreed = agreed_level(s, party.id, _today())
    if agreed is None or _balance(s, party.id) < agreed:
        return
    for t in s.scalars(
        select(TopUpRequest).where(TopUpRequest.party_id == party.id, TopUpRequest.status == "open")
    ):
        t.status, t.closed_ms = "met", now_ms()
        record_change(
            s, "deposits", f"{party.code}|top-up {t.id}", "topup-met", actor,
            {"status": "open"}, {"status": "met"}, source,
        )  # fmt: skip


def store_deposit(
    s: Session,
    actor: Actor,
    party: Party,
    kind: str,
    amount_minor: int,
    reason: str,
    on: str | None,
    source: str,
    *,
    skip_same: bool,
) -> tuple[Outcome, int]:
    """Write one validated receipt or refund (``amount_minor`` > 0) in ``s``.

    ``on`` (YYYY-MM-DD) dates it at midnight UTC, else now. With ``skip_same`` a
    movement of the same party, day, kind, amount and reason is ``unchanged`` (a
    re-imported file). Raises :class:`InvalidValue` when a refund exceeds the balance.
    """
    signed = amount_minor if kind == "receipt" else -amount_minor
    at = date_ms(on) if on else now_ms()
    if skip_same:
        same = s.scalar(
            select(DepositMovement.id).where(
                DepositMovement.party_id == party.id,
                DepositMovement.at_ms == at,
                DepositMovement.kind == kind,
                DepositMovement.amount_minor == signed,
                DepositMovement.reason == reason,
            )
        )
        if same is not None:
            return "unchanged", int(same)
    balance = _balance(s, party.id)
    if balance + signed < 0:
        raise InvalidValue.said(
            "refund_below_zero",
            "a refund of %(amount)s %(currency)s would take %(party)s's deposit below zero"
            " (balance %(balance)s %(currency)s)",
            field="amount",
            amount=minor_to_major(amount_minor, party.currency),
            currency=party.currency,
            party=party.code,
            balance=minor_to_major(balance, party.currency),
        )
    m = DepositMovement(
        party_id=party.id, at_ms=at, amount_minor=signed, currency=party.currency, reason=reason,
        run_id=None, kind=kind, created_by=actor.username,
    )  # fmt: skip
    s.add(m)
    s.flush()
    after = {
        "kind": kind,
        "amount_minor": signed,
        "currency": party.currency,
        "reason": reason,
        "date": on or format_day(at),
    }
    record_change(s, "deposits", f"{party.code}|{m.id}", kind, actor, None, after, source)
    if kind == "receipt":
        _mark_met(s, party, actor, source)
    return "created", m.id


def record_deposit(
    engine: Engine,
    party_id: int,
    amount_minor: int,
    reason: str,
    actor: Actor,
    *,
    kind: DepositKind,
    source: str = "page",
    on: str | None = None,
) -> int:
    """Record a deposit ``receipt`` or ``refund`` of ``amount_minor`` (> 0, the party's
    currency); a refund is stored negative and may not take the balance below zero.
    A receipt that brings the balance to the agreed level marks open top-up requests
    met. ``on`` (YYYY-MM-DD) dates it, default now. Returns the movement id."""
    actor.require("finance", action="record deposits")
    if kind not in DEPOSIT_KINDS:
        raise InvalidValue.said(
            "deposit_kind",
            "%(value)s is not one of: receipt, refund",
            field="kind",
            value=repr(kind),
        )
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise InvalidValue.said(
            "not_amount_above_zero",
            "%(value)s is not an amount greater than 0",
            field="amount",
            value=repr(amount_minor),
        )
    text = check_text(reason, "reason", required=False)
    day = check_date(on, "date") if on else None
    with Session(engine) as s, s.begin():
        party = party_by_id(s, party_id)
        _, mid = store_deposit(
            s, actor, party, kind, amount_minor, text, day, source, skip_same=False
        )
        return mid


def store_agreement(
    s: Session, actor: Actor, party: Party, valid_from: str, amount_minor: int, source: str
) -> tuple[Outcome, int]:
    """Write one validated agreed level in ``s``; the same (party, valid_from) replaces it."""
    row = s.scalar(
        select(DepositAgreement).where(
            DepositAgreement.party_id == party.id, DepositAgreement.valid_from == valid_from
        )
    )
    key = f"{party.code}|{valid_from}"
    after = {"amount_minor": amount_minor, "currency": party.currency}
    if row is None:
        row = DepositAgreement(
            party_id=party.id, valid_from=valid_from, amount_minor=amount_minor,
            currency=party.currency, created_by=actor.username, created_ms=now_ms(),
        )  # fmt: skip
        s.add(row)
        s.flush()
        record_change(s, "deposit-agreements", key, "create", actor, None, after, source)
        return "created", row.id
    if row.amount_minor == amount_minor and row.currency == party.currency:
        return "unchanged", row.id
    before = {"amount_minor": row.amount_minor, "currency": row.currency}
    record_change(s, "deposit-agreements", key, "update", actor, before, after, source)
    row.amount_minor, row.currency = amount_minor, party.currency
    row.created_by, row.created_ms = actor.username, now_ms()
    return "updated", row.id


def set_deposit_agreement(
    engine: Engine,
    party_id: int,
    valid_from: str,
    amount_minor: int,
    actor: Actor,
    *,
    source: str = "page",
) -> int:
    """The deposit ``party_id`` agreed to hold from ``valid_from`` (YYYY-MM-DD), in minor
    units (>= 0) of its currency. Returns the agreement's id."""
    actor.require("finance", action="set deposit agreements")
    day = check_date(valid_from, "valid_from")
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor < 0:
        raise InvalidValue.said(
            "not_amount_zero_or_more",
            "%(value)s is not an amount of 0 or more",
            field="agreed_amount",
            value=repr(amount_minor),
        )
    with Session(engine) as s, s.begin():
        _, aid = store_agreement(s, actor, party_by_id(s, party_id), day, amount_minor, source)
        return aid


def request_topup(
    engine: Engine, party_id: int, deadline: str, actor: Actor, *, reason: str = ""
) -> int:
    """Ask ``party_id`` to bring its deposit to the agreed level by ``deadline``
    (YYYY-MM-DD, today or later): amount = agreed level − balance.

    Refuses (:class:`SettlementError`) when there is no agreement, nothing is short,
    or an open request already asks for it. Returns the request's id.
    """
    actor.require("finance", action="request deposit top-ups")
    day = check_date(deadline, "deadline")
    today = _today()
    if day < today:
        raise InvalidValue.said(
            "deadline_past",
            "%(day)s is in the past (today is %(today)s)",
            field="deadline",
            day=day,
            today=today,
        )
    text = check_text(reason, "reason", required=False)
    with Session(engine) as s, s.begin():
        party = party_by_id(s, party_id)
        agreed = agreed_level(s, party.id, today)
        if agreed is None:
            raise SettlementError.said(
                "no_deposit_agreement",
                "%(party)s has no deposit agreement in force; set one first",
                party=party.code,
            )
        balance = _balance(s, party.id)
        short = agreed - balance
        if short <= 0:
            raise SettlementError.said(
                "deposit_not_short",
                "%(party)s's deposit (%(balance)s %(currency)s) is at or above its agreed level"
                " (%(agreed)s); nothing to top up",
                party=party.code,
                balance=minor_to_major(balance, party.currency),
                currency=party.currency,
                agreed=minor_to_major(agreed, party.currency),
            )
        open_one = s.scalar(
            select(TopUpRequest).where(
                TopUpRequest.party_id == party.id, TopUpRequest.status == "open"
            )
        )
        if open_one is not None:
            raise SettlementError.said(
                "topup_open",
                "%(party)s already has an open top-up request (%(request)s, due %(deadline)s)",
                party=party.code,
                request=open_one.id,
                deadline=open_one.deadline,
            )
        t = TopUpRequest(
            party_id=party.id, amount_minor=short, currency=party.currency, deadline=day,
            status="open", reason=text, created_by=actor.username, created_ms=now_ms(),
        )  # fmt: skip
        s.add(t)
        s.flush()
        after = {"amount_minor": short, "currency": party.currency, "deadline": day, "reason": text}
        record_change(
            s,
            "deposits",
            f"{party.code}|top-up {t.id}",
            "topup-request",
            actor,
            None,
            after,
            "page",
        )
        return t.id


def _topups(s: Session, party_ids: list[int]) -> dict[int, list[TopUpView]]:
    out: dict[int, list[TopUpView]] = {}
    if not party_ids:
        return out
    for t in s.scalars(
        select(TopUpRequest)
        .where(TopUpRequest.party_id.in_(party_ids), TopUpRequest.status == "open")
        .order_by(TopUpRequest.deadline)
    ):
        out.setdefault(t.party_id, []).append(
            TopUpView(
                t.id,
                t.amount_minor,
                t.currency,
                t.deadline,
                t.status,
                t.reason,
                t.created_by,
                t.created_ms,
            )
        )
    return out


def _status(
    s: Session, party: Party, topups: list[TopUpView], movements: tuple[DepositMovementView, ...]
) -> DepositStatus:
    balance = _balance(s, party.id)
    agreed = agreed_level(s, party.id, _today())
    short = max(0, agreed - balance) if agreed is not None else 0
    return DepositStatus(
        party.code, party.currency, balance, agreed, short, tuple(topups), movements, party.id
    )


def deposit_status(
    engine: Engine, party_id: int, actor: Actor, *, movements: int = 50
) -> DepositStatus:
    """A party's deposit today with its ``movements`` newest movements.

    Readers see every party; a distributor only its own (another party raises
    :class:`InvalidValue` 'no party', as if it did not exist).
    """
    if actor.role == "distributor":
        if actor.party_id != party_id:
            raise InvalidValue("party", f"there is no party with id {party_id}")
    else:
        actor.require(*READERS, action="read deposits")
    with Session(engine) as s:
        party = party_by_id(s, party_id)
        rows = s.scalars(
            select(DepositMovement)
            .where(DepositMovement.party_id == party_id)
            .order_by(DepositMovement.at_ms.desc(), DepositMovement.id.desc())
            .limit(max(0, movements))
        )
        views = tuple(
            DepositMovementView(
                m.id, m.at_ms, m.kind, m.amount_minor, m.currency, m.reason, m.created_by, m.run_id
            )
            for m in rows
        )
        return _status(s, party, _topups(s, [party.id]).get(party.id, []), views)


def list_deposit_parties(
    engine: Engine, actor: Actor, *, offset: int = 0, limit: int = 50
) -> tuple[list[DepositStatus], int]:
    """Parties with a deposit agreement or movement: the largest shortfall first, then by
    code; each without its movements (``movements`` is empty: see :func:`deposit_status`)."""
    actor.require(*READERS, action="read deposits")
    with Session(engine) as s:
        with_deposit = select(Party).where(
            or_(
                Party.id.in_(select(DepositMovement.party_id)),
                Party.id.in_(select(DepositAgreement.party_id)),
            )
        )
        parties = s.scalars(with_deposit.order_by(Party.code)).all()
        topups = _topups(s, [p.id for p in parties])
        rows = [_status(s, p, topups.get(p.id, []), ()) for p in parties]
    rows.sort(key=lambda d: (-d.shortfall_minor, d.party_code))
    start = max(0, offset)
    return rows[start : start + max(0, limit)], len(rows)
