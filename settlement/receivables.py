"""Receivables and deposits per party: what it owes, what it holds, what was deducted.

Both are sums of movements (:class:`ReceivableMovement`, :class:`DepositMovement`),
never stored balances: a posted statement with a negative total raises what a
party owes, the next statement that nets it (``brought_forward``), a payment
received or a deduction from the deposit settles it; a deposit grows by receipts
and shrinks by refunds and deductions (penalties a statement could not absorb).

Finance, channel managers, auditors and admins read every party; a distributor
reads only its own account, and asking for another party's answers exactly like
asking for one that does not exist.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session

from ledger.models import Party
from settlement.common import Actor, PermissionDenied, SettlementError
from settlement.models import DepositMovement, ReceivableMovement

__all__ = [
    "ACCOUNT_READERS",
    "AccountMovement",
    "AccountRow",
    "Balance",
    "PartyAccount",
    "list_accounts",
    "party_account",
]

#: Roles that read every party's account (a distributor reads its own).
ACCOUNT_READERS = ("finance", "channel_manager", "auditor", "admin")

Book = Literal["receivable", "deposit"]


@dataclass(frozen=True, slots=True)
class AccountMovement:
    """One movement of a party's receivable or deposit, with the balance it left.

    ``amount_minor`` is signed minor units of ``currency``: on ``receivable``, + raises
    what the party owes and - settles it; on ``deposit``, + adds to what it holds.
    ``kind``: statement | brought_forward | payment | deposit (receivable), receipt |
    refund | deduction (deposit). ``balance_after_minor`` is that book's balance in
    that currency once the movement is counted.
    """

    at_ms: int
    book: Book
    kind: str
    amount_minor: int
    currency: str
    run_id: int | None
    reference: str
    created_by: str
    balance_after_minor: int


@dataclass(frozen=True, slots=True)
class Balance:
    """A party's books in one currency: owed (receivable), held (deposit) and the
    total ever deducted from the deposit (>= 0)."""

    currency: str
    receivable_minor: int
    deposit_minor: int
    deducted_minor: int


@dataclass(frozen=True, slots=True)
class PartyAccount:
    """One party's account. The ``*_minor`` figures are in the party's ``currency``;
    ``balances`` has every currency with movements (the party's first).
    ``movements`` are newest first, ``movement_count`` counts them all."""

    party_id: int
    party_code: str
    party_name: str
    currency: str
    receivable_minor: int
    deposit_minor: int
    deducted_minor: int
    balances: tuple[Balance, ...]
    movements: tuple[AccountMovement, ...]
    movement_count: int


@dataclass(frozen=True, slots=True)
class AccountRow:
    """A party's balances in one currency, for the list of accounts."""

    party_id: int
    party_code: str
    party_name: str
    currency: str
    receivable_minor: int
    deposit_minor: int
    deducted_minor: int
    last_movement_ms: int | None


def _scope(actor: Actor) -> int | None:
    """The only party ``actor`` may read (a distributor's), or None for all."""
    if actor.role == "distributor":
        if actor.party_id is None:
            raise PermissionDenied(f"distributor user {actor.username} has no party")
        return actor.party_id
    actor.require(*ACCOUNT_READERS, action="read receivables and deposits")
    return None


def _movements(s: Session, party_id: int) -> list[AccountMovement]:
    """Both books' movements, oldest first, with running balances per book and currency."""
    raw: list[tuple[int, int, int, Book, str, int, str, int | None, str, str]] = []
    for r in s.scalars(select(ReceivableMovement).where(ReceivableMovement.party_id == party_id)):
        raw.append(
            (r.at_ms, 0, r.id, "receivable", r.kind, r.amount_minor, r.currency, r.run_id,
             r.ref, r.created_by)
        )  # fmt: skip
    for d in s.scalars(select(DepositMovement).where(DepositMovement.party_id == party_id)):
        raw.append(
            (d.at_ms, 1, d.id, "deposit", d.kind, d.amount_minor, d.currency, d.run_id,
             d.reason, d.created_by)
        )  # fmt: skip
    raw.sort(key=lambda m: m[:3])
    running: dict[tuple[str, str], int] = defaultdict(int)
    out = []
    for at_ms, _, _, book, kind, amount, ccy, run_id, ref, by in raw:
        running[(book, ccy)] += amount
        out.append(
            AccountMovement(at_ms, book, kind, amount, ccy, run_id, ref, by, running[(book, ccy)])
        )
    return out


def _balances(moves: list[AccountMovement], home: str) -> tuple[Balance, ...]:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    sums.setdefault(home, [0, 0, 0])  # the party's own currency is always shown
    for m in moves:
        b = sums[m.currency]
        if m.book == "receivable":
            b[0] += m.amount_minor
        else:
            b[1] += m.amount_minor
            if m.kind == "deduction":
                b[2] -= m.amount_minor
    order = [home, *sorted(c for c in sums if c != home)]
    return tuple(Balance(c, *sums[c]) for c in order)


def party_account(
    engine: Engine,
    party_id: int,
    actor: Actor,
    *,
    offset: int = 0,
    limit: int | None = None,
) -> PartyAccount:
    """The party's balances and its movements (newest first, ``offset``/``limit`` of them).

    Raises :class:`SettlementError` for a party that does not exist or that a
    distributor may not read (the same message), :class:`PermissionDenied` for a
    role that reads no accounts.
    """
    own = _scope(actor)
    with Session(engine) as s:
        party = s.get(Party, party_id)
        if party is None or (own is not None and own != party_id):
            raise SettlementError(f"no party {party_id}")
        moves = _movements(s, party_id)
    balances = _balances(moves, party.currency)
    home = balances[0]
    newest = moves[::-1]
    page = newest[offset:] if limit is None else newest[offset : offset + limit]
    return PartyAccount(
        party.id, party.code, party.name, party.currency, home.receivable_minor,
        home.deposit_minor, home.deducted_minor, balances, tuple(page), len(moves),
    )  # fmt: skip


def list_accounts(
    engine: Engine, actor: Actor, *, offset: int = 0, limit: int = 50
) -> tuple[list[AccountRow], int]:
    """Every distributor and every party with movements, one row per currency it has
    movements in (its own currency when none), most owed first; ``(page, total)``.

    A distributor gets only its own rows.
    """
    own = _scope(actor)
    with Session(engine) as s:
        sums: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0, 0, -1])
        rec = select(
            ReceivableMovement.party_id,
            ReceivableMovement.currency,
            func.sum(ReceivableMovement.amount_minor),
            func.max(ReceivableMovement.at_ms),
        ).group_by(ReceivableMovement.party_id, ReceivableMovement.currency)
        dep = select(
            DepositMovement.party_id,
            DepositMovement.currency,
            DepositMovement.kind,
            func.sum(DepositMovement.amount_minor),
            func.max(DepositMovement.at_ms),
        ).group_by(DepositMovement.party_id, DepositMovement.currency, DepositMovement.kind)
        if own is not None:
            rec = rec.where(ReceivableMovement.party_id == own)
            dep = dep.where(DepositMovement.party_id == own)
        for pid, ccy, total, last in s.execute(rec):
            row = sums[(int(pid), str(ccy))]
            row[0] += int(total or 0)
            row[3] = max(row[3], int(last or 0))
        for pid, ccy, kind, total, last in s.execute(dep):
            row = sums[(int(pid), str(ccy))]
            row[1] += int(total or 0)
            if kind == "deduction":
                row[2] -= int(total or 0)
            row[3] = max(row[3], int(last or 0))
        with_moves = {pid for pid, _ in sums}
        q = select(Party.id, Party.code, Party.name, Party.currency)
        q = (
            q.where(Party.id == own)
            if own is not None
            else q.where(or_(Party.kind == "distributor", Party.id.in_(with_moves)))
        )
        parties = {int(i): (str(c), str(n), str(k)) for i, c, n, k in s.execute(q)}
    for pid, (_, _, ccy) in parties.items():
        if pid not in with_moves:
            sums.setdefault((pid, ccy), [0, 0, 0, -1])  # no movements: zeros
    rows = [
        AccountRow(
            pid,
            parties[pid][0],
            parties[pid][1],
            ccy,
            v[0],
            v[1],
            v[2],
            v[3] if v[3] >= 0 else None,
        )
        for (pid, ccy), v in sums.items()
        if pid in parties
    ]
    rows.sort(key=lambda r: (-r.receivable_minor, -r.deposit_minor, r.party_code, r.currency))
    return rows[offset : offset + limit], len(rows)
