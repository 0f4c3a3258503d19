"""CRM: interactions with a party (meeting, call, visit, e-mail, training), their
next steps, and the quarterly communication meeting the channel rules ask for.

Source: seed 003 (渠道商務管理辦法 §二(三)1 沟通机制): "公司与渠道合作伙伴每季度至少
召开一次沟通会议" — at least one communication meeting with each partner per
quarter; seed 000 (§三 客户关系管理 CRM: 沟通记录, 定期会议与反馈).

Rules:

- An interaction is never deleted: a correction is an edit (audited with what
  changed, :func:`edit_interaction`) or a new note.
- Quarterly meeting (:func:`meeting_overdue`): the quarter checked on ``today`` is
  the latest quarter that is over (the quarter of ``today`` when ``today`` is its
  last day, else the quarter before). A distributor is held to a quarter when it
  is ``active`` or on ``trial`` now AND was a partner (``active`` or ``trial``) at
  the quarter's end, read from its audit trail (the latest ``party.created`` /
  ``party.status`` row before the first instant after the quarter; a party whose
  rows all come later — created, signed from recruitment or admitted after the
  quarter — is not held to it; a party with no such rows at all predates the audit
  trail and is judged by its status now). The end, not the whole quarter: a
  partner signed during the quarter owed it a meeting once it was one. A held
  distributor with no interaction of kind ``meeting`` or ``visit`` dated inside that
  quarter is overdue; each gets one open ``quarterly_meeting`` task per quarter
  (:func:`partners.tasks.raise_task`, key = the quarter, due 14 days after
  ``today``). Only distributors are held to it: the manufacturer contracts with
  them (dealers and retailers are their customers).
- Follow-ups (:func:`overdue_followups`): an interaction's next step is overdue
  when its ``next_due_on`` is before ``today`` and the party has no later
  interaction (dated after it, or the same day and recorded after it).
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.audit import changes, now_ms, record
from partners.errors import Acting, PartnerError, PartnerNotFound, require
from partners.models import Interaction, PartnerEvent
from partners.tasks import raise_task

__all__ = [
    "INTERACTION_KINDS",
    "MEETING_KINDS",
    "READERS",
    "WRITERS",
    "FollowUp",
    "InteractionView",
    "OverdueMeeting",
    "checked_quarter",
    "edit_interaction",
    "interaction_json",
    "list_interactions",
    "meeting_overdue",
    "overdue_followups",
    "partners_at",
    "quarter_bounds",
    "record_interaction",
]

INTERACTION_KINDS = ("meeting", "call", "visit", "email", "training")
#: Interactions that count as the quarter's communication meeting.
MEETING_KINDS = ("meeting", "visit")
#: Statuses of parties held to the quarterly meeting.
MEETING_STATUSES = ("active", "trial")
WRITERS = ("partner_manager", "channel_manager", "admin")
READERS = ("partner_manager", "channel_manager", "finance", "auditor", "admin")
TASK_DUE_DAYS = 14
#: Audit actions that set a party's status (``detail.status``: the status, or
#: ``[old, new]``).
_STATUS_ACTIONS = ("party.created", "party.status")


@dataclass(frozen=True, slots=True)
class InteractionView:
    """One interaction; dates ISO, ``recorded_ms`` epoch ms."""

    id: int
    party_id: int
    party_code: str
    kind: str
    happened_on: str
    subject: str
    notes: str
    next_step: str
    next_due_on: str | None
    recorded_by: str
    recorded_ms: int


@dataclass(frozen=True, slots=True)
class OverdueMeeting:
    """A party without a communication meeting in ``quarter`` (``YYYY-Qn``);
    ``last_meeting_on`` its latest meeting or visit ever (None: never); ``task_id``
    the open task about it."""

    party_id: int
    party_code: str
    party_name: str
    quarter: str
    last_meeting_on: str | None
    task_id: int


@dataclass(frozen=True, slots=True)
class FollowUp:
    """An overdue next step: the interaction that set it and how many days late."""

    interaction: InteractionView
    party_name: str
    days_late: int


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _day(value: str | dt.date, field: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise PartnerError.said(
        "crm_bad_day",
        "%(field)s: %(value)s is not a date (YYYY-MM-DD)",
        field=field,
        value=repr(value),
    )


def _text(value: str, field: str, max_length: int, *, required: bool = False) -> str:
    text = value.strip()
    if required and not text:
        raise PartnerError.said("crm_required", "%(field)s: required", field=field)
    if len(text) > max_length:
        raise PartnerError.said(
            "crm_too_long",
            "%(field)s: at most %(max)s characters, not %(length)s",
            field=field,
            max=max_length,
            length=len(text),
        )
    return text


def _kind(kind: str) -> str:
    if kind not in INTERACTION_KINDS:
        raise PartnerError.said(
            "crm_bad_kind",
            "kind: %(value)s is not one of %(kinds)s",
            value=repr(kind),
            kinds=", ".join(INTERACTION_KINDS),
        )
    return kind


def quarter_bounds(quarter: str) -> tuple[dt.date, dt.date]:
    """First and last day of ``YYYY-Qn``."""
    y, n = int(quarter[:4]), int(quarter[-1])
    first = dt.date(y, 3 * n - 2, 1)
    nxt = dt.date(y + (n == 4), (3 * n) % 12 + 1, 1)
    return first, nxt - dt.timedelta(days=1)


def _quarter_of(day: dt.date) -> str:
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


def checked_quarter(today: dt.date) -> str:
    """The latest quarter over on ``today``: ``today``'s own when it is the quarter's
    last day, else the one before."""
    q = _quarter_of(today)
    if quarter_bounds(q)[1] == today:
        return q
    return _quarter_of(quarter_bounds(q)[0] - dt.timedelta(days=1))


def _party(s: Session, code: str) -> Party:
    party = s.scalars(select(Party).where(Party.code == code)).first()
    if party is None:
        raise PartnerNotFound.said("crm_no_party", "no party %(code)s", code=code)
    return party


def _view(i: Interaction, code: str) -> InteractionView:
    return InteractionView(
        i.id, i.party_id, code, i.kind, i.happened_on, i.subject, i.notes, i.next_step,
        i.next_due_on, i.recorded_by, i.recorded_ms,
    )  # fmt: skip


def record_interaction(
    engine: Engine,
    party_code: str,
    kind: str,
    happened_on: str,
    subject: str,
    actor: Acting,
    *,
    notes: str = "",
    next_step: str = "",
    next_due_on: str | None = None,
    today: dt.date | None = None,
) -> InteractionView:
    """Record an interaction (audited). ``kind`` one of :data:`INTERACTION_KINDS`;
    ``happened_on`` an ISO date not after ``today`` (default: today, UTC);
    ``subject`` required (200 characters); ``next_due_on`` an ISO date not before
    ``happened_on``, and it needs a ``next_step``. Partner managers, channel
    managers and admins. Raises :class:`PartnerError` naming the field,
    :class:`PartnerNotFound` for an unknown party."""
    require(actor, *WRITERS, action="record interactions")
    fields = _fields(kind, happened_on, subject, notes, next_step, next_due_on, today)
    with Session(engine) as s, s.begin():
        party = _party(s, party_code)
        row = Interaction(
            party_id=party.id,
            **fields,
            recorded_by=actor.username,
            recorded_user_id=actor.user_id,
            recorded_ms=now_ms(),
        )
        s.add(row)
        s.flush()
        record(
            s, "interaction.recorded", actor, party_id=party.id,
            detail={"interaction": row.id, "kind": row.kind, "happened_on": row.happened_on,
                    "subject": row.subject},
        )  # fmt: skip
        return _view(row, party.code)


def _fields(
    kind: str,
    happened_on: str,
    subject: str,
    notes: str,
    next_step: str,
    next_due_on: str | None,
    today: dt.date | None,
) -> dict[str, Any]:
    day = _day(happened_on, "happened_on")
    limit = today or _today()
    if day > limit:
        raise PartnerError.said(
            "crm_future",
            "happened_on: %(day)s is after today (%(today)s); record it once it has happened",
            day=day.isoformat(),
            today=limit.isoformat(),
        )
    due = None
    step = _text(next_step, "next_step", 300)
    if next_due_on:
        due_day = _day(next_due_on, "next_due_on")
        if due_day < day:
            raise PartnerError.said(
                "crm_due_before",
                "next_due_on: %(due)s is before happened_on %(day)s",
                due=due_day.isoformat(),
                day=day.isoformat(),
            )
        if not step:
            raise PartnerError.said(
                "crm_due_without_step", "next_step: say what is due on %(due)s", due=due_day
            )
        due = due_day.isoformat()
    return {
        "kind": _kind(kind),
        "happened_on": day.isoformat(),
        "subject": _text(subject, "subject", 200, required=True),
        "notes": _text(notes, "notes", 20_000),
        "next_step": step,
        "next_due_on": due,
    }


def edit_interaction(
    engine: Engine,
    interaction_id: int,
    values: Mapping[str, str | None],
    actor: Acting,
    *,
    today: dt.date | None = None,
) -> InteractionView:
    """Correct an interaction: ``values`` holds any of kind, happened_on, subject,
    notes, next_step, next_due_on (the others stay); checked as when recorded; the
    audit row keeps each changed field's old and new value."""
    require(actor, *WRITERS, action="edit interactions")
    known = ("kind", "happened_on", "subject", "notes", "next_step", "next_due_on")
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise PartnerError.said(
            "crm_unknown_field", "%(field)s: not a field of an interaction", field=unknown[0]
        )
    with Session(engine) as s, s.begin():
        row = s.get(Interaction, interaction_id)
        if row is None:
            raise PartnerNotFound.said(
                "no_interaction", "no interaction %(interaction)s", interaction=interaction_id
            )
        before = {k: getattr(row, k) for k in known}
        merged = {**before, **values}
        fields = _fields(
            str(merged["kind"]), str(merged["happened_on"]), str(merged["subject"] or ""),
            str(merged["notes"] or ""), str(merged["next_step"] or ""),
            merged["next_due_on"] or None, today,
        )  # fmt: skip
        for k, v in fields.items():
            setattr(row, k, v)
        party = s.get(Party, row.party_id)
        assert party is not None
        diff = changes(before, fields)
        if diff:
            record(
                s, "interaction.edited", actor, party_id=row.party_id,
                detail={"interaction": row.id, "changes": diff},
            )  # fmt: skip
        return _view(row, party.code)


def list_interactions(
    engine: Engine,
    actor: Acting,
    party_code: str,
    *,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[InteractionView], int]:
    """A party's interactions, latest first, one page and the count."""
    require(actor, *READERS, action="read interactions")
    with Session(engine) as s:
        party = _party(s, party_code)
        total = s.scalar(
            select(func.count()).select_from(Interaction).where(Interaction.party_id == party.id)
        )
        rows = s.scalars(
            select(Interaction)
            .where(Interaction.party_id == party.id)
            .order_by(Interaction.happened_on.desc(), Interaction.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [_view(r, party.code) for r in rows], int(total or 0)


def _status_of(detail_json: str) -> str | None:
    try:
        value = json.loads(detail_json).get("status")
    except (ValueError, AttributeError):
        return None
    if isinstance(value, list) and value:
        value = value[-1]
    return value if isinstance(value, str) else None


def partners_at(s: Session, party_ids: set[int], at_ms: int) -> set[int]:
    """Those of ``party_ids`` that were ``active`` or on ``trial`` just before
    ``at_ms`` (epoch ms) by the audit trail (``party.created`` / ``party.status``
    rows); a party with no such row at all is taken as one (it predates the trail).
    One query."""
    if not party_ids:
        return set()
    seen: set[int] = set()
    before: dict[int, str | None] = {}
    rows = s.execute(
        select(PartnerEvent.party_id, PartnerEvent.at_ms, PartnerEvent.detail_json)
        .where(PartnerEvent.action.in_(_STATUS_ACTIONS), PartnerEvent.party_id.in_(party_ids))
        .order_by(PartnerEvent.at_ms, PartnerEvent.id)
    )
    for pid, when, detail in rows:
        if pid is None:
            continue
        seen.add(pid)
        if when < at_ms:
            before[pid] = _status_of(detail)
    return {
        pid for pid in party_ids
        if pid not in seen or before.get(pid) in MEETING_STATUSES
    }  # fmt: skip


def meeting_overdue(
    engine: Engine, actor: Acting, today: dt.date | None = None
) -> list[OverdueMeeting]:
    """Flag every active or trial distributor without a meeting or visit in the
    quarter :func:`checked_quarter` gives for ``today`` and raise (or find the open)
    ``quarterly_meeting`` task of each; ordered by party code. A party that was not
    a partner at the quarter's end (:func:`partners_at`) is not checked. Four
    queries plus the task writes."""
    require(actor, *WRITERS, action="check quarterly meetings")
    day = today or _today()
    quarter = checked_quarter(day)
    first, last = quarter_bounds(quarter)
    with Session(engine) as s, s.begin():
        met = set(
            s.scalars(
                select(Interaction.party_id).where(
                    Interaction.kind.in_(MEETING_KINDS),
                    Interaction.happened_on >= first.isoformat(),
                    Interaction.happened_on <= last.isoformat(),
                )
            )
        )
        latest = dict(
            s.execute(
                select(Interaction.party_id, func.max(Interaction.happened_on))
                .where(Interaction.kind.in_(MEETING_KINDS))
                .group_by(Interaction.party_id)
            ).all()
        )
        parties = list(
            s.scalars(
                select(Party)
                .where(Party.kind == "distributor", Party.status.in_(MEETING_STATUSES))
                .order_by(Party.code)
            )
        )
        end_ms = calendar.timegm((last + dt.timedelta(days=1)).timetuple()) * 1000
        held = partners_at(s, {p.id for p in parties} - met, end_ms)
        out = []
        due = (day + dt.timedelta(days=TASK_DUE_DAYS)).isoformat()
        for p in parties:
            if p.id in met or p.id not in held:
                continue
            task = raise_task(
                s, p.id, "quarterly_meeting",
                f"No communication meeting with {p.code} in {quarter}: hold one",
                due_on=due, detail={"quarter": quarter}, key=quarter,
            )  # fmt: skip
            out.append(OverdueMeeting(p.id, p.code, p.name, quarter, latest.get(p.id), task.id))
        return out


def overdue_followups(
    engine: Engine, actor: Acting, today: dt.date | None = None
) -> list[FollowUp]:
    """Next steps due before ``today`` that no later interaction followed, most late
    first. Two queries."""
    require(actor, *READERS, action="read interactions")
    day = today or _today()
    with Session(engine) as s:
        # the latest (happened_on, id) of each party
        rows = s.execute(
            select(Interaction, Party.code, Party.name)
            .join(Party, Party.id == Interaction.party_id)
            .where(Interaction.next_due_on.is_not(None), Interaction.next_due_on < day.isoformat())
        ).all()
        if not rows:
            return []
        pids = {r.party_id for r, _, _ in rows}
        last: dict[int, tuple[str, int]] = {}
        for pid, on, iid in s.execute(
            select(Interaction.party_id, Interaction.happened_on, Interaction.id).where(
                Interaction.party_id.in_(pids)
            )
        ).all():
            if pid not in last or (on, iid) > last[pid]:
                last[pid] = (on, iid)
        out = [
            FollowUp(
                _view(r, code),
                name,
                (day - dt.date.fromisoformat(str(r.next_due_on))).days,
            )
            for r, code, name in rows
            if last[r.party_id] == (r.happened_on, r.id)
        ]
    out.sort(key=lambda f: (-f.days_late, f.interaction.party_code, f.interaction.id))
    return out


def interaction_json(v: InteractionView) -> dict[str, Any]:
    """An interaction as JSON."""
    return {
        "id": v.id, "party": v.party_code, "kind": v.kind, "happened_on": v.happened_on,
        "subject": v.subject, "notes": v.notes, "next_step": v.next_step or None,
        "next_due_on": v.next_due_on, "recorded_by": v.recorded_by, "recorded_ms": v.recorded_ms,
    }  # fmt: skip
