"""A distributor's answer to a posted statement, and finance's queue of disputed lines.

Once a run is posted, the distributor confirms each of its statements or disputes
some of its lines, with a reason per line; it answers once (an answer is part of
the record, like the statement). Each disputed line waits in finance's queue until
finance resolves it, either by an adjustment (a one-off line on the party's next
statement, booked pending through :func:`settlement.reference.add_adjustment` and
paid once a second finance user approves it — posted runs never change) or by a
written rejection. Auditors and admins read the queue.

Every answer and resolution is kept on the rows themselves (who, when, what) and
in the reference-data audit trail (``ReferenceChange`` kind ``disputes``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from settlement import reference
from settlement.common import Actor, SettlementError, now_ms
from settlement.models import (
    SettlementRun,
    Statement,
    StatementDispute,
    StatementLine,
    StatementResponse,
)
from settlement.reference_audit import record_change
from settlement.statements import DisputeView, StatementNotFound, dispute_views, line_text
from settlement.wording import ENGLISH, Words

__all__ = [
    "DISPUTE_STATUSES",
    "MAX_NOTE",
    "MAX_REASON",
    "DisputeNotFound",
    "DisputeStateError",
    "ResponseResult",
    "get_dispute",
    "list_disputes",
    "reject_dispute",
    "resolve_dispute_by_adjustment",
    "respond_to_statement",
]

DISPUTE_STATUSES = ("open", "adjusted", "rejected")
#: Longest reason or written rejection kept (characters).
MAX_REASON = 2000
#: Longest note of an adjustment: it becomes the adjustment's reason, after the
#: line and statement it settles, and adjustment reasons hold 500 characters.
MAX_NOTE = 400
QUEUE_READERS = ("finance", "auditor", "admin")


class DisputeNotFound(SettlementError):
    """No disputed line with that id."""


class DisputeStateError(SettlementError):
    """What the statement's or dispute's state forbids: answering twice, resolving a
    dispute already resolved."""


@dataclass(frozen=True, slots=True)
class ResponseResult:
    """What a distributor's answer stored: ``confirmed`` or ``disputed`` and the
    disputes it opened (empty when confirmed)."""

    statement_id: int
    status: str
    disputes: tuple[DisputeView, ...]


def _text(
    value: str,
    limit: int,
    missing: SettlementError,
    too_long: Callable[[int], SettlementError],
) -> str:
    """``value`` stripped; ``missing`` when it is empty, ``too_long(length)`` when it
    is longer than ``limit`` characters."""
    text = value.strip()
    if not text:
        raise missing
    if len(text) > limit:
        raise too_long(len(text))
    return text


def _disputed_lines(
    s: Session, st: Statement, disputes: Sequence[tuple[int, str]], words: Words = ENGLISH
) -> dict[int, str]:
    """``{position: reason}`` of the lines disputed, each checked: on the statement,
    given once, with a reason (errors name the line by number and by its title in the
    language of ``words``)."""
    lines = {
        ln.position: ln
        for ln in s.scalars(select(StatementLine).where(StatementLine.statement_id == st.id))
    }
    chosen: dict[int, str] = {}
    for position, reason in disputes:
        ln = lines.get(position)
        if ln is None:
            raise SettlementError.said(
                "line_not_on_statement",
                "line %(line)s is not on statement %(statement)s (it has lines 1 to %(count)s)",
                line=position + 1,
                statement=st.id,
                count=len(lines),
            )
        line: dict[str, object] = {
            "line": position + 1,
            "title": line_text(ln, st.currency, words=words).title,
        }
        if position in chosen:
            raise SettlementError.said(
                "line_disputed_twice", "line %(line)s (%(title)s) is disputed twice", **line
            )
        chosen[position] = _text(
            reason,
            MAX_REASON,
            SettlementError.said(
                "dispute_reason_missing",
                "a reason for disputing line %(line)s (%(title)s) is required",
                **line,
            ),
            _reason_too_long(line),
        )
    return chosen


def _reason_too_long(line: dict[str, object]) -> Callable[[int], SettlementError]:
    """The error of a dispute's reason of ``length`` characters, too long, on ``line``."""
    return lambda length: SettlementError.said(
        "dispute_reason_too_long",
        "a reason for disputing line %(line)s (%(title)s) is longer than"
        " %(limit)s characters (%(length)s)",
        limit=MAX_REASON,
        length=length,
        **line,
    )


def respond_to_statement(
    engine: Engine,
    statement_id: int,
    actor: Actor,
    *,
    confirm: bool,
    disputes: Sequence[tuple[int, str]] = (),
    source: str = "page",
    words: Words = ENGLISH,
) -> ResponseResult:
    """The distributor's answer to one of its posted statements, given once.

    ``confirm=True`` with no ``disputes`` confirms the statement;
    ``confirm=False`` disputes the lines in ``disputes``: ``(line position, reason)``
    pairs (positions as stored, 0-based; messages name lines by their printed
    number, position + 1, and title, the title in the language of ``words``: English
    by default, the reader's on a page).

    Raises :class:`~settlement.common.PermissionDenied` for anyone but a distributor,
    :class:`~settlement.statements.StatementNotFound` for a statement that is not
    its party's or whose run is not posted, :class:`DisputeStateError` when the
    statement was already answered, and :class:`SettlementError` naming the line for
    a missing or too long reason, a line not on the statement, a line given twice,
    or an answer that neither confirms nor disputes anything.
    """
    actor.require("distributor", action="confirm or dispute statements")
    if confirm and disputes:
        raise SettlementError.said(
            "confirm_or_dispute", "confirm the statement or dispute lines, not both"
        )
    if not confirm and not disputes:
        raise SettlementError.said(
            "dispute_nothing_chosen", "choose at least one line to dispute, with a reason"
        )
    stamp = now_ms()
    try:
        with Session(engine) as s, s.begin():
            st = s.get(Statement, statement_id)
            run = s.get(SettlementRun, st.run_id) if st is not None else None
            if st is None or run is None or st.party_id != actor.party_id or run.status != "posted":
                raise StatementNotFound(f"no statement {statement_id}")
            earlier = s.scalar(
                select(StatementResponse).where(StatementResponse.statement_id == st.id)
            )
            if earlier is not None:
                raise DisputeStateError.said(
                    "statement_answered_by",
                    "statement %(statement)s was already %(status)s by %(user)s;"
                    " an answer cannot be changed",
                    statement=statement_id,
                    status=earlier.status,
                    user=earlier.actor,
                )
            chosen = _disputed_lines(s, st, disputes, words)
            status = "confirmed" if confirm else "disputed"
            s.add(
                StatementResponse(
                    statement_id=st.id, status=status, actor=actor.username, at_ms=stamp
                )
            )
            for position, reason in sorted(chosen.items()):
                s.add(
                    StatementDispute(
                        statement_id=st.id,
                        line_position=position,
                        reason=reason,
                        status="open",
                        created_by=actor.username,
                        created_ms=stamp,
                    )
                )
            s.flush()
            answer = {
                "status": status,
                "lines": [{"line": p + 1, "reason": r} for p, r in sorted(chosen.items())],
            }
            action = "confirm" if confirm else "dispute"
            record_change(s, "disputes", f"statement:{st.id}", action, actor, None, answer, source)
            views = dispute_views(s, StatementDispute.statement_id == st.id)
    except IntegrityError:  # another answer won the race for the same statement
        raise DisputeStateError.said(
            "statement_answered",
            "statement %(statement)s was already answered; an answer cannot be changed",
            statement=statement_id,
        ) from None
    return ResponseResult(statement_id, status, tuple(views))


def _queue_reader(actor: Actor) -> None:
    actor.require(*QUEUE_READERS, action="read statement disputes")


def list_disputes(
    engine: Engine,
    actor: Actor,
    *,
    status: str | None = None,
    party_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
    words: Words = ENGLISH,
) -> tuple[list[DisputeView], int]:
    """Finance's queue: disputed lines oldest first (the longest waiting on top),
    optionally of one ``status`` (open, adjusted, rejected) and party; with the total.
    Line titles are in the language of ``words`` (English by default).

    Raises :class:`~settlement.common.PermissionDenied` for roles other than
    finance, auditor and admin, and :class:`SettlementError` for an unknown status.
    """
    _queue_reader(actor)
    where = []
    if status:
        if status not in DISPUTE_STATUSES:
            raise SettlementError(
                f"dispute status {status!r} is not one of: {', '.join(DISPUTE_STATUSES)}"
            )
        where.append(StatementDispute.status == status)
    if party_id is not None:
        where.append(Statement.party_id == party_id)
    with Session(engine) as s:
        total = s.scalar(
            select(func.count(StatementDispute.id))
            .join(Statement, Statement.id == StatementDispute.statement_id)
            .where(*where)
        )
        ids = list(
            s.scalars(
                select(StatementDispute.id)
                .join(Statement, Statement.id == StatementDispute.statement_id)
                .where(*where)
                .order_by(StatementDispute.created_ms, StatementDispute.id)
                .offset(max(0, offset))
                .limit(max(0, limit))
            )
        )
        items = dispute_views(s, StatementDispute.id.in_(ids), words=words) if ids else []
        return items, int(total or 0)


def get_dispute(
    engine: Engine, dispute_id: int, actor: Actor, words: Words = ENGLISH
) -> DisputeView:
    """One disputed line (finance, auditor, admin), its line title in the language of
    ``words``; :class:`DisputeNotFound` if none."""
    _queue_reader(actor)
    with Session(engine) as s:
        found = dispute_views(s, StatementDispute.id == dispute_id, words=words)
    if not found:
        raise DisputeNotFound(f"no disputed line {dispute_id}")
    return found[0]


def _open_dispute(s: Session, dispute_id: int) -> tuple[StatementDispute, Statement]:
    d = s.get(StatementDispute, dispute_id)
    st = s.get(Statement, d.statement_id) if d is not None else None
    if d is None or st is None:
        raise DisputeNotFound(f"no disputed line {dispute_id}")
    if d.status != "open":
        raise DisputeStateError.said(
            "dispute_not_open",
            "dispute %(dispute)s is already %(status)s by %(user)s",
            dispute=dispute_id,
            status=d.status,
            user=d.resolved_by or "finance",
        )
    return d, st


def resolve_dispute_by_adjustment(
    engine: Engine,
    dispute_id: int,
    amount_minor: int,
    note: str,
    actor: Actor,
    *,
    source: str = "page",
) -> DisputeView:
    """Resolve an open disputed line with an adjustment of ``amount_minor`` (signed
    minor units of the party's currency: positive pays the party) on its next
    statement; ``note`` says why and becomes the adjustment's reason, which the
    distributor reads on that statement. The adjustment is booked pending (a second
    finance user approves it) and linked: the dispute turns ``adjusted``.

    Raises :class:`DisputeNotFound`, :class:`DisputeStateError` for a dispute that is
    not open, :class:`SettlementError` for a zero amount or a missing note, and
    :class:`~settlement.common.PermissionDenied` for anyone but finance.
    """
    actor.require("finance", action="resolve statement disputes")
    text = _text(
        note,
        MAX_NOTE,
        SettlementError.said(
            "adjust_note_missing", "a note saying why the line is adjusted is required"
        ),
        lambda length: SettlementError.said(
            "adjust_note_too_long",
            "a note saying why the line is adjusted is longer than %(limit)s characters"
            " (%(length)s)",
            limit=MAX_NOTE,
            length=length,
        ),
    )
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor == 0:
        raise SettlementError.said(
            "adjustment_amount_zero", "the adjustment amount must be a non-zero amount"
        )
    with Session(engine) as s:
        d, st = _open_dispute(s, dispute_id)
        period = s.scalar(select(SettlementRun.period).where(SettlementRun.id == st.run_id))
        party_id, position, statement_id = st.party_id, d.line_position, st.id
    reason = f"Disputed line {position + 1} of statement {statement_id} ({period}): {text}"
    adjustment_id = reference.add_adjustment(
        engine, party_id, amount_minor, reason, actor, dispute_id=dispute_id, source=source
    )
    # add_adjustment linked the dispute in its own transaction; the dispute's own
    # audit entry follows (the adjustment's entry already names the dispute).
    with Session(engine) as s, s.begin():
        after = {
            "status": "adjusted",
            "adjustment_id": adjustment_id,
            "amount_minor": amount_minor,
            "note": text,
        }
        record_change(
            s, "disputes", f"dispute:{dispute_id}", "adjust", actor, {"status": "open"}, after,
            source,
        )  # fmt: skip
    return get_dispute(engine, dispute_id, actor)


def reject_dispute(
    engine: Engine,
    dispute_id: int,
    written_reason: str,
    actor: Actor,
    *,
    source: str = "page",
) -> DisputeView:
    """Reject an open disputed line with a written reason the distributor reads.

    Raises :class:`DisputeNotFound`, :class:`DisputeStateError` for a dispute that is
    not open, :class:`SettlementError` for a missing or too long reason, and
    :class:`~settlement.common.PermissionDenied` for anyone but finance.
    """
    actor.require("finance", action="resolve statement disputes")
    text = _text(
        written_reason,
        MAX_REASON,
        SettlementError.said(
            "reject_reason_missing", "a written reason for the rejection is required"
        ),
        lambda length: SettlementError.said(
            "reject_reason_too_long",
            "a written reason for the rejection is longer than %(limit)s characters (%(length)s)",
            limit=MAX_REASON,
            length=length,
        ),
    )
    with Session(engine) as s, s.begin():
        d, _ = _open_dispute(s, dispute_id)
        d.status, d.resolution = "rejected", text
        d.resolved_by, d.resolved_ms = actor.username, now_ms()
        record_change(
            s, "disputes", f"dispute:{dispute_id}", "reject", actor, {"status": "open"},
            {"status": "rejected", "reason": text}, source,
        )  # fmt: skip
    return get_dispute(engine, dispute_id, actor)
