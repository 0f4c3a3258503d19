"""Statements as people read them: one with its lines in words, or a list without them.

A distributor reads only its own statements, and only once their run is posted (a
draft or approved run may still change; until it is posted its statement does not
exist for the distributor, exactly like another party's). Finance, admins and
auditors read every statement of every run.

A statement carries what its reader needs besides the lines: the run's number,
status and period, the issue date (when the run was posted), the party's legal
name and postal address (finance's billing details, else the party's name), the
balance brought forward, the FX note, and the distributor's answer: confirmed, or
the lines it disputes and how finance resolved each.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from settlement.common import Actor, PermissionDenied, SettlementError
from settlement.models import (
    Adjustment,
    PartyBilling,
    Program,
    ProgramVersion,
    SettlementRun,
    Statement,
    StatementDispute,
    StatementLine,
    StatementResponse,
)
from settlement.presentation import SOURCE_LINE, LineText, describe_line, describe_ref
from settlement.seals import LineRow, check_posted_statement
from settlement.wording import ENGLISH, Words

__all__ = [
    "STATEMENT_READERS",
    "DisputeView",
    "LineView",
    "ResponseView",
    "StatementNotFound",
    "StatementSummary",
    "StatementView",
    "dispute_views",
    "get_statement",
    "line_text",
    "list_statements",
    "statement_state",
]

#: Roles that read every party's statements; a distributor reads its own posted ones.
STATEMENT_READERS = ("finance", "admin", "auditor")


class StatementNotFound(SettlementError):
    """No such statement, or one the actor may not see (another party's, not posted)."""


@dataclass(frozen=True, slots=True)
class LineView:
    """One line: the stored columns, and ``text`` (the line in words, see
    :func:`settlement.presentation.describe_line`). ``number`` is what people read
    (``position + 1``); ``refers_to`` says what the line settles ("alert 12")."""

    position: int
    number: int
    rule: str
    category: str
    basis: str
    rate: str
    amount_minor: int
    ref: str
    refers_to: str
    text: LineText


@dataclass(frozen=True, slots=True)
class ResponseView:
    """The distributor's answer: ``confirmed`` or ``disputed``, by whom, when (ms UTC)."""

    status: str
    actor: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class DisputeView:
    """One disputed line with its reason and, once finance acts, the resolution.

    ``status``: ``open``, ``adjusted`` (``adjustment_id`` names the pending or
    approved adjustment a later run pays) or ``rejected`` (``resolution`` is the
    written reason). Money is minor units of ``currency``.
    """

    id: int
    statement_id: int
    run_id: int
    period: str
    party_id: int
    party_code: str
    currency: str
    line_position: int
    line_number: int
    line_title: str
    line_amount_minor: int
    reason: str
    status: str
    created_by: str
    created_ms: int
    resolution: str
    resolved_by: str | None
    resolved_ms: int | None
    adjustment_id: int | None
    adjustment_status: str | None
    adjustment_amount_minor: int | None
    adjustment_run_id: int | None


@dataclass(frozen=True, slots=True)
class StatementView:
    """A statement with its lines. ``issued_ms`` is when its run was posted (None
    while it is not); ``opening_balance_minor`` is what the party owed when the run
    was made (<= 0); ``address`` holds the postal address's lines; ``state`` is the
    response in words (see :func:`statement_state`); ``party_locale`` is the language
    of the party's documents (``parties.locale``, a Babel locale; None: the
    deployment's default)."""

    id: int
    run_id: int
    run_kind: str
    run_status: str
    period: str
    issued_ms: int | None
    party_id: int
    party_code: str
    party_name: str
    legal_name: str
    address: tuple[str, ...]
    currency: str
    partner_class: str
    region: str
    total_minor: int
    deposit_after_minor: int
    opening_balance_minor: int
    fx_note: str
    hash: str
    lines: tuple[LineView, ...]
    response: ResponseView | None
    disputes: tuple[DisputeView, ...]
    state: str
    party_locale: str | None = None

    def dispute_of(self, position: int) -> DisputeView | None:
        """The dispute of the line at ``position``, if the distributor disputed it."""
        return next((d for d in self.disputes if d.line_position == position), None)


@dataclass(frozen=True, slots=True)
class StatementSummary:
    """A statement without its lines, for run pages and a distributor's list."""

    id: int
    run_id: int
    period: str
    run_status: str
    issued_ms: int | None
    party_id: int
    party_code: str
    currency: str
    partner_class: str
    total_minor: int
    hash: str
    state: str


def statement_state(run_status: str, response: str | None, dispute_statuses: Iterable[str]) -> str:
    """The answer to a statement in words: ``not issued`` (run not posted),
    ``awaiting response``, ``confirmed``, ``disputed — N lines open`` while finance
    has not resolved every disputed line, then ``resolved``."""
    if run_status != "posted":
        return "not issued"
    if response is None:
        return "awaiting response"
    if response == "confirmed":
        return "confirmed"
    open_lines = sum(1 for s in dispute_statuses if s == "open")
    if open_lines:
        return f"disputed — {open_lines} line{'' if open_lines == 1 else 's'} open"
    return "resolved"


def line_text(
    ln: StatementLine, currency: str, measure: str | None = None, words: Words = ENGLISH
) -> LineText:
    """A stored line in words (:func:`settlement.presentation.describe_line`)."""
    return describe_line(
        ln.rule, ln.category, ln.basis, ln.rate, ln.amount_minor, currency, measure, words
    )


def _check_reader(actor: Actor) -> None:
    if actor.role == "distributor":
        if actor.party_id is None:
            raise PermissionDenied(f"distributor user {actor.username} has no party")
    elif actor.role not in STATEMENT_READERS:
        raise PermissionDenied(f"{actor.username} ({actor.role}) may not read statements")


def _measures_of_runs(s: Session, run_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """Per run, each program code's measure (``volume``/``value``) in the version it used."""
    version_runs: dict[int, list[int]] = defaultdict(list)
    for rid, raw in s.execute(
        select(SettlementRun.id, SettlementRun.program_versions_json).where(
            SettlementRun.id.in_(set(run_ids))
        )
    ):
        for vid in json.loads(raw or "[]"):
            version_runs[int(vid)].append(int(rid))
    out: dict[int, dict[str, str]] = defaultdict(dict)
    if not version_runs:
        return out
    rows = s.execute(
        select(ProgramVersion.id, Program.code, ProgramVersion.rules_json)
        .join(Program, Program.id == ProgramVersion.program_id)
        .where(ProgramVersion.id.in_(list(version_runs)))
    )
    for vid, code, rules_json in rows:
        measure = json.loads(rules_json).get("measure")
        for rid in version_runs[int(vid)]:
            if isinstance(measure, str):
                out[rid][str(code)] = measure
    return out


def _program_of(ref: str) -> str | None:
    kind, _, code = ref.partition(":")
    return code if kind == "program" else None


def _line_measures(s: Session, run_id: int, lines: list[StatementLine]) -> dict[int, str]:
    """Per line position, the measure of the program the line is about: the line's own
    program (tier, cliff) or, for a clawback, the program of the line it takes back."""
    sources: dict[int, tuple[int, int]] = {}
    for ln in lines:
        m = SOURCE_LINE.search(ln.basis)
        if m is not None:
            sources[ln.position] = (int(m["st"]), int(m["pos"]))
    source_refs: dict[tuple[int, int], tuple[int, str]] = {}
    if sources:
        wanted = {st for st, _ in sources.values()}
        for sid, pos, ref, rid in s.execute(
            select(StatementLine.statement_id, StatementLine.position, StatementLine.ref,
                   Statement.run_id)
            .join(Statement, Statement.id == StatementLine.statement_id)
            .where(StatementLine.statement_id.in_(wanted))
        ):  # fmt: skip
            source_refs[(int(sid), int(pos))] = (int(rid), str(ref))
    runs = {run_id} | {rid for rid, _ in source_refs.values()}
    measures = _measures_of_runs(s, runs)
    out: dict[int, str] = {}
    for ln in lines:
        rid, ref = run_id, ln.ref
        if ln.position in sources and sources[ln.position] in source_refs:
            rid, ref = source_refs[sources[ln.position]]
        code = _program_of(ref)
        if code is not None and code in measures[rid]:
            out[ln.position] = measures[rid][code]
    return out


def dispute_views(s: Session, *where: object, words: Words = ENGLISH) -> list[DisputeView]:
    """Disputes matching the SQL conditions ``where`` (on the dispute, statement, run or
    party tables), oldest first, with the disputed line in words (the language of
    ``words``) and the adjustment."""
    q = (
        select(StatementDispute, Statement, SettlementRun.period, Party.code, StatementLine,
               Adjustment)
        .join(Statement, Statement.id == StatementDispute.statement_id)
        .join(SettlementRun, SettlementRun.id == Statement.run_id)
        .join(Party, Party.id == Statement.party_id)
        .join(StatementLine, (StatementLine.statement_id == Statement.id)
              & (StatementLine.position == StatementDispute.line_position))
        .outerjoin(Adjustment, Adjustment.id == StatementDispute.adjustment_id)
        .where(*where)  # type: ignore[arg-type]
        .order_by(StatementDispute.created_ms, StatementDispute.id)
    )  # fmt: skip
    out = []
    for d, st, period, code, ln, adj in s.execute(q).all():
        text = line_text(ln, st.currency, words=words)
        out.append(
            DisputeView(
                id=d.id,
                statement_id=st.id,
                run_id=st.run_id,
                period=period,
                party_id=st.party_id,
                party_code=code,
                currency=st.currency,
                line_position=d.line_position,
                line_number=d.line_position + 1,
                line_title=text.title,
                line_amount_minor=ln.amount_minor,
                reason=d.reason,
                status=d.status,
                created_by=d.created_by,
                created_ms=d.created_ms,
                resolution=d.resolution,
                resolved_by=d.resolved_by,
                resolved_ms=d.resolved_ms,
                adjustment_id=d.adjustment_id,
                adjustment_status=adj.status if adj else None,
                adjustment_amount_minor=adj.amount_minor if adj else None,
                adjustment_run_id=adj.applied_run_id if adj else None,
            )
        )
    return out


def get_statement(
    engine: Engine, statement_id: int, actor: Actor, words: Words = ENGLISH
) -> StatementView:
    """A statement with its lines in words, in the language of ``words`` (English
    by default; the state stays in English: callers translate it).

    Raises :class:`StatementNotFound` when there is no such statement or the actor
    is a distributor and it is another party's or its run is not posted,
    :class:`~settlement.common.PermissionDenied` for roles that read no statements,
    and :class:`~settlement.seals.StatementTampered` when the statement belongs to a
    posted run and its stored lines or header no longer give its stored hash (it is
    never served with figures its hash does not cover).
    """
    _check_reader(actor)
    with Session(engine) as s:
        st = s.get(Statement, statement_id)
        run = s.get(SettlementRun, st.run_id) if st is not None else None
        if st is None or run is None:
            raise StatementNotFound(f"no statement {statement_id}")
        if actor.role == "distributor" and (
            actor.party_id != st.party_id or run.status != "posted"
        ):
            raise StatementNotFound(f"no statement {statement_id}")
        party = s.get(Party, st.party_id)
        assert party is not None
        billing = s.scalar(select(PartyBilling).where(PartyBilling.party_id == st.party_id))
        rows = list(
            s.scalars(
                select(StatementLine)
                .where(StatementLine.statement_id == st.id)
                .order_by(StatementLine.position)
            )
        )
        check_posted_statement(
            run, st, party.code,
            [LineRow(ln.position, ln.rule, ln.category, ln.basis, ln.rate, ln.amount_minor,
                     ln.ref, ln.quantity) for ln in rows],
        )  # fmt: skip
        measures = _line_measures(s, run.id, rows)
        lines = tuple(
            LineView(
                position=ln.position,
                number=ln.position + 1,
                rule=ln.rule,
                category=ln.category,
                basis=ln.basis,
                rate=ln.rate,
                amount_minor=ln.amount_minor,
                ref=ln.ref,
                refers_to=describe_ref(ln.ref, words),
                text=line_text(ln, st.currency, measures.get(ln.position), words),
            )
            for ln in rows
        )
        resp = s.scalar(select(StatementResponse).where(StatementResponse.statement_id == st.id))
        response = ResponseView(resp.status, resp.actor, resp.at_ms) if resp else None
        disputes = tuple(dispute_views(s, StatementDispute.statement_id == st.id, words=words))
        legal_name = (billing.legal_name if billing else "").strip() or party.name
        address = tuple(
            line.strip()
            for line in (billing.address if billing else "").splitlines()
            if line.strip()
        )
        return StatementView(
            id=st.id,
            run_id=run.id,
            run_kind=run.kind,
            run_status=run.status,
            period=run.period,
            issued_ms=run.posted_ms if run.status == "posted" else None,
            party_id=st.party_id,
            party_code=party.code,
            party_name=party.name,
            legal_name=legal_name,
            address=address,
            currency=st.currency,
            partner_class=st.partner_class,
            region=st.region,
            total_minor=st.total_minor,
            deposit_after_minor=st.deposit_after_minor,
            opening_balance_minor=st.opening_balance_minor,
            fx_note=st.fx_note,
            hash=st.hash,
            lines=lines,
            response=response,
            disputes=disputes,
            state=statement_state(
                run.status, response.status if response else None, (d.status for d in disputes)
            ),
            party_locale=party.locale,
        )


def list_statements(
    engine: Engine, actor: Actor, *, run_id: int | None = None
) -> list[StatementSummary]:
    """Statements of a run (finance, admins, auditors), or a distributor's own posted
    ones; newest run first. Raises :class:`~settlement.common.PermissionDenied` for
    roles that read no statements."""
    _check_reader(actor)
    q = (
        select(Statement, SettlementRun, Party.code, StatementResponse.status)
        .join(SettlementRun, SettlementRun.id == Statement.run_id)
        .join(Party, Party.id == Statement.party_id)
        .outerjoin(StatementResponse, StatementResponse.statement_id == Statement.id)
        .order_by(Statement.run_id.desc(), Party.code)
    )
    if actor.role == "distributor":
        q = q.where(Statement.party_id == actor.party_id, SettlementRun.status == "posted")
    if run_id is not None:
        q = q.where(Statement.run_id == run_id)
    with Session(engine) as s:
        rows = s.execute(q).all()
        dispute_statuses: dict[int, list[str]] = defaultdict(list)
        ids = [st.id for st, _, _, _ in rows]
        for i in range(0, len(ids), 1000):
            for sid, status in s.execute(
                select(StatementDispute.statement_id, StatementDispute.status).where(
                    StatementDispute.statement_id.in_(ids[i : i + 1000])
                )
            ):
                dispute_statuses[int(sid)].append(str(status))
        return [
            StatementSummary(
                id=st.id,
                run_id=st.run_id,
                period=run.period,
                run_status=run.status,
                issued_ms=run.posted_ms if run.status == "posted" else None,
                party_id=st.party_id,
                party_code=code,
                currency=st.currency,
                partner_class=st.partner_class,
                total_minor=st.total_minor,
                hash=st.hash,
                state=statement_state(run.status, response, dispute_statuses.get(st.id, ())),
            )
            for st, run, code, response in rows
        ]
