"""Statements as people read them: one with its lines, or a list without them.

A distributor reads only its own statements, and only once their run is posted;
finance, admins and auditors read every statement of every run.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from settlement.common import Actor, SettlementError
from settlement.models import SettlementRun, Statement, StatementLine

__all__ = [
    "LineView",
    "StatementSummary",
    "StatementView",
    "get_statement",
    "list_statements",
]


@dataclass(frozen=True, slots=True)
class LineView:
    position: int
    rule: str
    category: str
    basis: str
    rate: str
    amount_minor: int
    ref: str


@dataclass(frozen=True, slots=True)
class StatementView:
    id: int
    run_id: int
    party_id: int
    party_code: str
    party_name: str
    currency: str
    partner_class: str
    region: str
    total_minor: int
    deposit_after_minor: int
    hash: str
    lines: tuple[LineView, ...]


def get_statement(engine: Engine, statement_id: int, actor: Actor) -> StatementView:
    """A statement with its lines; a distributor sees only its own."""
    with Session(engine) as s:
        st = s.get(Statement, statement_id)
        if st is None:
            raise SettlementError(f"no statement {statement_id}")
        if actor.role == "distributor":
            if actor.party_id != st.party_id:
                raise SettlementError(f"statement {statement_id} is not {actor.username}'s")
        elif actor.role not in ("finance", "admin", "auditor"):
            raise SettlementError(f"{actor.username} ({actor.role}) may not read statements")
        party = s.get(Party, st.party_id)
        assert party is not None
        lines = s.scalars(
            select(StatementLine)
            .where(StatementLine.statement_id == st.id)
            .order_by(StatementLine.position)
        )
        return StatementView(
            st.id, st.run_id, st.party_id, party.code, party.name, st.currency, st.partner_class,
            st.region, st.total_minor, st.deposit_after_minor, st.hash,
            tuple(LineView(ln.position, ln.rule, ln.category, ln.basis, ln.rate, ln.amount_minor, ln.ref) for ln in lines),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class StatementSummary:
    """A statement without its lines, for run pages and a distributor's list."""

    id: int
    run_id: int
    period: str
    run_status: str
    party_id: int
    party_code: str
    currency: str
    partner_class: str
    total_minor: int
    hash: str


def list_statements(
    engine: Engine, actor: Actor, *, run_id: int | None = None
) -> list[StatementSummary]:
    """Statements of a run (finance, auditors) or all of a distributor's own, newest first."""
    q = (
        select(Statement, SettlementRun.period, SettlementRun.status, Party.code)
        .join(SettlementRun, SettlementRun.id == Statement.run_id)
        .join(Party, Party.id == Statement.party_id)
        .order_by(Statement.run_id.desc(), Party.code)
    )
    if actor.role == "distributor":
        if actor.party_id is None:
            raise SettlementError(f"distributor user {actor.username} has no party")
        q = q.where(Statement.party_id == actor.party_id)
    elif actor.role not in ("finance", "admin", "auditor"):
        raise SettlementError(f"{actor.username} ({actor.role}) may not read statements")
    if run_id is not None:
        q = q.where(Statement.run_id == run_id)
    with Session(engine) as s:
        return [
            StatementSummary(
                st.id,
                st.run_id,
                period,
                status,
                st.party_id,
                code,
                st.currency,
                st.partner_class,
                st.total_minor,
                st.hash,
            )
            for st, period, status, code in s.execute(q).all()
        ]
