"""Adjustments: a one-off line on a party's next statement, with a reason.

Posted runs never change; a correction is an adjustment that the next run pays or
charges. Four eyes: an adjustment is ``pending`` until a finance user other than the
one who booked it approves it (compared by user id, never by name: an API token acts
as the user it belongs to, whatever its label), and only ``approved`` adjustments reach a run;
``rejected`` ones never do (the reason is kept in the audit trail). An adjustment
that settles a disputed statement line names the dispute, which is then resolved
as ``adjusted``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from settlement.common import Actor, PermissionDenied, SettlementError, now_ms
from settlement.models import Adjustment, Statement, StatementDispute
from settlement.reference_audit import READERS, Outcome, page_rows, record_change
from settlement.reference_values import MAX_MINOR, InvalidValue, check_text, party_by_id

__all__ = [
    "ADJUSTMENT_STATUSES",
    "AdjustmentStateError",
    "AdjustmentView",
    "acting_user_id",
    "add_adjustment",
    "approve_adjustment",
    "list_adjustments",
    "reject_adjustment",
    "store_adjustment",
]

ADJUSTMENT_STATUSES = ("pending", "approved", "rejected")


class AdjustmentStateError(SettlementError):
    """The adjustment's status or author forbids the action (approve twice, own approval)."""


@dataclass(frozen=True, slots=True)
class AdjustmentView:
    """``amount_minor`` signed in ``currency`` (positive pays the party, negative charges it)."""

    id: int
    party_id: int
    party_code: str
    amount_minor: int
    currency: str
    reason: str
    status: str
    created_by: str
    created_ms: int
    approved_by: str | None
    approved_ms: int | None
    applied_run_id: int | None
    created_by_id: int | None = None  # users.id; the four-eyes rule compares this


def _view(a: Adjustment, code: str) -> AdjustmentView:
    return AdjustmentView(
        a.id, a.party_id, code, a.amount_minor, a.currency, a.reason, a.status, a.created_by,
        a.created_ms, a.approved_by, a.approved_ms, a.applied_run_id, a.created_by_id,
    )  # fmt: skip


def acting_user_id(actor: Actor, action: str) -> int:
    """The ``users.id`` on whose behalf ``actor`` acts, for rules that need two
    different people (four eyes) and for the record of who did what.

    Raises :class:`~settlement.common.PermissionDenied` when there is none: every
    actor is a user, and a program acts as the user its token belongs to.
    """
    if actor.user_id is None:
        raise PermissionDenied(
            f"{actor.username} ({actor.role}) is no user and may not {action}: a program acts "
            "as a user (hopchain token create --user NAME)"
        )
    return actor.user_id


def _check_amount(amount_minor: int) -> None:
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor == 0:
        raise InvalidValue.said(
            "not_nonzero_minor",
            "%(value)s is not a non-zero amount in minor units",
            field="amount",
            value=repr(amount_minor),
        )
    if abs(amount_minor) > MAX_MINOR:
        raise InvalidValue.said(
            "amount_too_large",
            "%(value)s is larger than any amount hopchain stores",
            field="amount",
            value=amount_minor,
        )


def store_adjustment(
    s: Session,
    actor: Actor,
    party: Party,
    amount_minor: int,
    reason: str,
    source: str,
    *,
    dispute_id: int | None = None,
) -> tuple[Outcome, int]:
    """Book one validated pending adjustment in ``s``; returns ("created", id).

    Records the booking user's id (:func:`acting_user_id` raises when there is none)."""
    user_id = acting_user_id(actor, "book adjustments")
    dispute = None
    if dispute_id is not None:
        dispute = s.get(StatementDispute, dispute_id)
        owner = (
            s.scalar(select(Statement.party_id).where(Statement.id == dispute.statement_id))
            if dispute
            else None
        )
        if dispute is None or owner != party.id:
            raise InvalidValue.said(
                "party_has_no_dispute",
                "%(party)s has no disputed line %(dispute)s",
                field="dispute_id",
                party=party.code,
                dispute=dispute_id,
            )
        if dispute.status != "open":
            raise InvalidValue.said(
                "dispute_already",
                "dispute %(dispute)s is already %(status)s",
                field="dispute_id",
                dispute=dispute_id,
                status=dispute.status,
            )
    a = Adjustment(
        party_id=party.id, amount_minor=amount_minor, currency=party.currency, reason=reason,
        created_by=actor.username, created_ms=now_ms(), status="pending",
        created_by_id=user_id,
    )  # fmt: skip
    s.add(a)
    s.flush()
    after = {
        "amount_minor": amount_minor,
        "currency": party.currency,
        "reason": reason,
        "status": "pending",
        "dispute_id": dispute_id,
    }
    record_change(s, "adjustments", f"{party.code}|{a.id}", "create", actor, None, after, source)
    if dispute is not None:
        dispute.status, dispute.adjustment_id = "adjusted", a.id
        dispute.resolution, dispute.resolved_by, dispute.resolved_ms = (
            reason,
            actor.username,
            now_ms(),
        )
    return "created", a.id


def add_adjustment(
    engine: Engine,
    party_id: int,
    amount_minor: int,
    reason: str,
    actor: Actor,
    *,
    dispute_id: int | None = None,
    source: str = "page",
) -> int:
    """Book a pending adjustment of ``amount_minor`` (non-zero, the party's currency) with a
    ``reason``; ``dispute_id`` resolves that open disputed line of the party's statement as
    ``adjusted``. Returns its id. It reaches a run once a second finance user approves it."""
    actor.require("finance", action="book adjustments")
    _check_amount(amount_minor)
    text = check_text(reason, "reason")
    with Session(engine) as s, s.begin():
        _, aid = store_adjustment(
            s, actor, party_by_id(s, party_id), amount_minor, text, source, dispute_id=dispute_id
        )
        return aid


def _pending(s: Session, adjustment_id: int) -> tuple[Adjustment, str]:
    a = s.get(Adjustment, adjustment_id)
    if a is None:
        raise InvalidValue.said(
            "no_adjustment",
            "there is no adjustment %(adjustment)s",
            field="adjustment",
            adjustment=adjustment_id,
        )
    if a.status != "pending":
        raise AdjustmentStateError.said(
            "adjustment_not_pending",
            "adjustment %(adjustment)s is %(status)s, not pending",
            adjustment=adjustment_id,
            status=a.status,
        )
    return a, party_by_id(s, a.party_id).code


def approve_adjustment(engine: Engine, adjustment_id: int, actor: Actor) -> None:
    """Approve a pending adjustment: a finance user other than the one who booked it,
    compared by user id (an API token is the user it belongs to, whatever its label).

    Raises :class:`AdjustmentStateError` for one's own adjustment, one not pending or
    one booked without a user id, and :class:`~settlement.common.PermissionDenied`
    for an actor that is no user.
    """
    actor.require("finance", action="approve adjustments")
    user_id = acting_user_id(actor, "approve adjustments")
    with Session(engine) as s, s.begin():
        a, code = _pending(s, adjustment_id)
        if a.created_by_id is None:
            raise AdjustmentStateError.said(
                "adjustment_booker_unknown",
                "adjustment %(adjustment)s was booked without a user id, so no one can be "
                "shown to be a second pair of eyes; reject it and book it again",
                adjustment=adjustment_id,
            )
        if a.created_by_id == user_id:
            raise AdjustmentStateError.said(
                "adjustment_own_approval",
                "%(user)s booked adjustment %(adjustment)s; another finance user approves it",
                user=a.created_by,
                adjustment=adjustment_id,
            )
        a.status, a.approved_by, a.approved_ms = "approved", actor.username, now_ms()
        a.approved_by_id = user_id
        record_change(
            s, "adjustments", f"{code}|{a.id}", "approve", actor,
            {"status": "pending"}, {"status": "approved"}, "page",
        )  # fmt: skip


def reject_adjustment(engine: Engine, adjustment_id: int, reason: str, actor: Actor) -> None:
    """Reject a pending adjustment with a reason (kept in the audit trail); it never
    reaches a run. Its author may withdraw it this way too."""
    actor.require("finance", action="reject adjustments")
    text = check_text(reason, "reason")
    with Session(engine) as s, s.begin():
        a, code = _pending(s, adjustment_id)
        a.status = "rejected"
        record_change(
            s, "adjustments", f"{code}|{a.id}", "reject", actor,
            {"status": "pending"}, {"status": "rejected", "reason": text}, "page",
        )  # fmt: skip


def list_adjustments(
    engine: Engine,
    actor: Actor,
    *,
    status: str | None = None,
    party_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[AdjustmentView], int]:
    """Adjustments, newest first, optionally of one ``status`` and party; with the total."""
    actor.require(*READERS, action="read adjustments")
    q = select(Adjustment, Party.code).join(Party, Party.id == Adjustment.party_id)
    if status:
        if status not in ADJUSTMENT_STATUSES:
            raise InvalidValue(
                "status", f"{status!r} is not one of: {', '.join(ADJUSTMENT_STATUSES)}"
            )
        q = q.where(Adjustment.status == status)
    if party_id is not None:
        q = q.where(Adjustment.party_id == party_id)
    with Session(engine) as s:
        rows, total = page_rows(s, q, [Adjustment.id.desc()], offset, limit)
        return [_view(a, code) for a, code in rows], total
