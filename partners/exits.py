"""A partner's orderly exit (issue 12, "Exit"): why, a buffer period, what it still
holds, who takes over its customers, its final settlement and deposit, and the end
of its grants.

The rules (seed 003, 渠道商务管理办法 三(三)1 "协议终止": before an agreement ends
the parties clear the business and hand over 业务清算和交接; after it, customers are
handed over, materials returned and money settled 客户交接、资料返还、款项结算; seed
002 五 1 "终止条件与预警机制": hard triggers such as two consecutive quarters below
target or a serious compliance incident, soft triggers such as a change of
strategy, and a buffer period 缓冲期 before the end):

- ``reason`` is ``under_target`` (two consecutive quarters under target),
  ``serious_diversion`` (a confirmed serious diversion alert) or
  ``agreement_terminated`` (a terminated agreement) — hard, each needs its
  evidence — or ``strategy_change`` (soft, no evidence).
- The buffer runs from ``started_on`` for :data:`DEFAULT_BUFFER_MONTHS` months
  (seed 002's six-month buffer; seed 003 names no length) unless ``buffer_days``
  says otherwise. The party is ``exiting`` meanwhile; cancelling in the buffer
  returns it to the status it had (``trial``, ``active`` or ``suspended``) through
  the party status rules (``partners.parties.TRANSITIONS``).
- The units still in the party's custody are read from the ledger every time
  (:func:`custody`): units it holds in stock and units shipped to it and not yet
  received. The exit records a plan per unit (return to the manufacturer or hand
  over to another party); the units move only by real scans, so a planned unit
  stays listed until the ledger shows it gone.
- The final settlement and the deposit are settlement's
  (``settlement.exit_settlement``), which records the run and the deposit figures
  here and moves the exit to ``settled``.
- :func:`complete_exit` refuses until the buffer has ended, every unit still in
  custody has a plan and the final settlement is done; then it terminates the
  party's signed agreements (``partners.agreements.terminate_in``, which ends their
  grants and enrolments), ends a trial still running
  (``partners.trials.end_running_trial_in``), and the party becomes ``terminated``.

Every change is audited (:mod:`partners.audit`); the exit, its plans and the trail
stay readable after completion. Errors: :class:`PartnerNotFound` (404),
:class:`PartnerStateError` (409), :class:`PartnerDenied` (403),
:class:`partners.values.InvalidField` (422, naming the field).
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select
from sqlalchemy.orm import Session

from ledger.models import Party, Unit
from partners.agreements import terminate_party_agreements_in
from partners.audit import history, now_ms, record
from partners.errors import Acting, PartnerError, PartnerNotFound, PartnerStateError, require
from partners.models import Agreement, ExitHandover, PartnerEvent, PartnerExit
from partners.parties import set_status_in
from partners.tasks import close_task, open_tasks, raise_task
from partners.trials import end_running_trial_in
from partners.values import InvalidField, check_text

__all__ = [
    "DEFAULT_BUFFER_MONTHS",
    "EXIT_MANAGERS",
    "EXIT_READERS",
    "HARD_REASONS",
    "MAX_BUFFER_DAYS",
    "REASONS",
    "SETTLERS",
    "STATUSES",
    "TERMINATION_GROUND",
    "CustodyUnit",
    "EvidenceCheck",
    "ExitStep",
    "ExitView",
    "HandoverView",
    "add_months",
    "cancel_exit",
    "complete_exit",
    "custody",
    "custody_counts",
    "exit_history",
    "exit_steps",
    "get_exit",
    "handovers",
    "latest_exit",
    "load_exit",
    "page_exits",
    "record_customers",
    "record_handover",
    "start_exit",
    "view_of",
]

#: Why a party leaves; the first three are hard (they need evidence), the last soft.
REASONS = ("under_target", "serious_diversion", "agreement_terminated", "strategy_change")
HARD_REASONS = frozenset(REASONS[:3])
#: The buffer's default length (seed 002 五 1: "启动6个月缓冲期").
DEFAULT_BUFFER_MONTHS = 6
#: The longest buffer a person may set (ten years).
MAX_BUFFER_DAYS = 3650
#: Who starts, plans, completes and cancels exits.
EXIT_MANAGERS = ("partner_manager", "admin")
#: Who settles an exit (the final run and the deposit).
SETTLERS = ("finance",)
#: Who reads exits.
EXIT_READERS = ("partner_manager", "finance", "channel_manager", "auditor", "admin")
#: Exit statuses, in order; ``cancelled`` ends a buffer without an exit.
STATUSES = ("buffer", "settled", "completed", "cancelled")
_OPEN = ("buffer", "settled")
#: The agreement ground an exit terminates a still signed agreement on.
TERMINATION_GROUND = {
    "under_target": "failing_business",
    "serious_diversion": "material_breach",
    "agreement_terminated": "mutual_consent",
    "strategy_change": "mutual_consent",
}
#: The states of a unit still in a party's custody (ledger.custody.UnitState values).
_HELD_STATES = ("in_stock", "uncommissioned")
_TASK_KIND = "exit_handover"

#: ``check(s, party, reason, evidence) -> evidence as stored``: settlement's check of
#: a hard reason's evidence (``settlement.exit_settlement.check_exit_evidence``);
#: raises :class:`PartnerError` naming what is missing.
EvidenceCheck = Callable[[Session, Party, str, Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ExitView:
    """An exit as pages, the API and the command line show it. Deposit figures are
    minor units of ``currency`` (None until the final settlement)."""

    id: int
    party_id: int
    party_code: str
    party_name: str
    party_status: str
    currency: str
    reason: str
    hard: bool
    note: str
    status: str
    started_on: str
    buffer_ends_on: str
    evidence: dict[str, Any]
    final_run_id: int | None
    deposit_held_minor: int | None
    deposit_deducted_minor: int | None
    deposit_refunded_minor: int | None
    completed_on: str | None
    started_by: str
    completed_by: str
    created_ms: int

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "party": self.party_code,
            "party_name": self.party_name,
            "party_status": self.party_status,
            "currency": self.currency,
            "reason": self.reason,
            "hard": self.hard,
            "note": self.note,
            "status": self.status,
            "started_on": self.started_on,
            "buffer_ends_on": self.buffer_ends_on,
            "evidence": self.evidence,
            "final_run_id": self.final_run_id,
            "deposit_held_minor": self.deposit_held_minor,
            "deposit_deducted_minor": self.deposit_deducted_minor,
            "deposit_refunded_minor": self.deposit_refunded_minor,
            "completed_on": self.completed_on,
            "started_by": self.started_by,
            "completed_by": self.completed_by,
        }


@dataclass(frozen=True, slots=True)
class HandoverView:
    """A plan for one unit (``kind`` unit: ``action`` return|handover) or a customer
    handed over (``kind`` customer). ``in_custody`` (units only) is re-read from the
    ledger: True while the party still holds the unit."""

    id: int
    kind: str
    unit_key: str
    customer: str
    action: str
    to_party: str | None
    note: str
    in_custody: bool | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "unit": self.unit_key or None,
            "customer": self.customer or None,
            "action": self.action,
            "to_party": self.to_party,
            "note": self.note,
            "in_custody": self.in_custody,
        }


@dataclass(frozen=True, slots=True)
class CustodyUnit:
    """A unit the exiting party still has: ``state`` ``in_stock`` (it holds it) or
    ``in_transit`` (shipped to it by ``holder``), with its plan if one is recorded."""

    key: str
    state: str
    holder: str | None
    plan: HandoverView | None

    def as_json(self) -> dict[str, Any]:
        return {
            "unit": self.key,
            "state": self.state,
            "holder": self.holder,
            "plan": None if self.plan is None else self.plan.as_json(),
        }


@dataclass(frozen=True, slots=True)
class ExitStep:
    """One line of an exit's checklist: ``name`` (started, buffer, custody,
    settlement, completed), whether it is done, and the figures pages word."""

    name: str
    done: bool
    values: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------ helpers


def _date(value: str | None, name: str, default: dt.date) -> dt.date:
    if value is None or value == "":
        return default
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidField.said(
            "exit_bad_date", "not a date YYYY-MM-DD: %(value)r", field=name, value=value
        ) from None


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole calendar months, kept within the target month
    (2026-08-31 + 6 months = 2027-02-28)."""
    total = day.year * 12 + (day.month - 1) + months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def _party(s: Session, code: str) -> Party:
    party = s.scalar(select(Party).where(Party.code == code))
    if party is None:
        raise PartnerNotFound.said("exit_no_party", "no party %(party)s", party=code)
    return party


def load_exit(s: Session, exit_id: int, *, lock: bool = False) -> PartnerExit:
    """The exit ``exit_id`` (:class:`PartnerNotFound` if there is none); ``lock``
    takes its row lock (``SELECT ... FOR UPDATE`` on PostgreSQL) so that two
    requests cannot move the same exit at once."""
    row = s.get(PartnerExit, exit_id, with_for_update=lock)
    if row is None:
        raise PartnerNotFound.said("exit_not_found", "no exit %(exit)s", exit=exit_id)
    return row


def _evidence(s: Session, exit_id: int, party_id: int) -> dict[str, Any]:
    """The evidence a hard exit was started on, as its ``exit.started`` audit row keeps it."""
    for detail_json in s.scalars(
        select(PartnerEvent.detail_json)
        .where(PartnerEvent.party_id == party_id, PartnerEvent.action == "exit.started")
        .order_by(PartnerEvent.id.desc())
    ):
        detail = json.loads(detail_json)
        if detail.get("exit") == exit_id:
            return dict(detail.get("evidence") or {})
    return {}


def _make_view(row: PartnerExit, party: Party, evidence: dict[str, Any]) -> ExitView:
    return ExitView(
        row.id, party.id, party.code, party.name, party.status, party.currency, row.reason,
        row.hard, row.note, row.status, row.started_on, row.buffer_ends_on, evidence,
        row.final_run_id, row.deposit_held_minor, row.deposit_deducted_minor,
        row.deposit_refunded_minor, row.completed_on, row.started_by, row.completed_by,
        row.created_ms,
    )  # fmt: skip


def _view(s: Session, row: PartnerExit, party: Party) -> ExitView:
    return _make_view(row, party, _evidence(s, row.id, party.id))


def view_of(s: Session, row: PartnerExit) -> ExitView:
    """``row`` as an :class:`ExitView` (for settlement's final settlement)."""
    party = s.get(Party, row.party_id)
    assert party is not None
    return _view(s, row, party)


def _check_open(row: PartnerExit, action: str) -> None:
    if row.status not in _OPEN:
        raise PartnerStateError.said(
            "exit_closed",
            "exit %(exit)s is %(status)s; it cannot %(action)s",
            exit=row.id,
            status=row.status,
            action=action,
        )


def _reader(actor: Acting) -> None:
    require(actor, *EXIT_READERS, action="read exits")


# ------------------------------------------------------------------ start


def _agreement_evidence(s: Session, party: Party, evidence: Mapping[str, Any]) -> dict[str, Any]:
    """A terminated agreement of the party: the one named by ``evidence["agreement"]``
    (its number) or else the latest terminated one."""
    q = select(Agreement).where(Agreement.party_id == party.id)
    number = str(evidence.get("agreement") or "").strip()
    named = Agreement.number == number if number else Agreement.status == "terminated"
    q = q.where(named)
    ag = s.scalars(q.order_by(Agreement.id.desc()).limit(1)).first()
    if ag is None or ag.status != "terminated":
        raise PartnerStateError.said(
            "exit_no_terminated_agreement",
            "agreement_terminated needs a terminated agreement of %(party)s%(named)s",
            party=party.code,
            named=f" ({number} is not one)" if number else "",
        )
    return {
        "agreement": ag.number,
        "terminated_on": ag.terminated_on,
        "ground": ag.termination_ground,
    }


def start_exit(
    engine: Engine,
    party_code: str,
    reason: str,
    actor: Acting,
    *,
    note: str = "",
    buffer_days: int | None = None,
    started_on: str | None = None,
    evidence: Mapping[str, Any] | None = None,
    check_evidence: EvidenceCheck | None = None,
) -> ExitView:
    """Start ``party_code``'s exit for ``reason`` (:data:`REASONS`) on ``started_on``
    (ISO date, default today UTC): a :class:`PartnerExit` in ``buffer`` until
    ``started_on`` + ``buffer_days`` (default :data:`DEFAULT_BUFFER_MONTHS` months),
    the party ``exiting`` and an ``exit_handover`` task for the partner manager due
    when the buffer ends, all in one transaction and audited.

    Evidence (``evidence``, a mapping): ``agreement_terminated`` needs a terminated
    agreement of the party (``{"agreement": number}`` or its latest); the other hard
    reasons are checked by ``check_evidence`` — settlement's
    ``check_exit_evidence`` (``{"alert": id}`` of a confirmed serious diversion
    alert; ``{"quarters": ["2026-Q2", "2026-Q3"]}`` two consecutive quarters under
    target), which ``settlement.exit_settlement.start_exit`` passes. The soft
    reason stores no evidence but needs a ``note`` saying why. Refuses a party that
    is not trial, active or suspended, or already has an open exit
    (:class:`PartnerStateError`); a bad value is :class:`InvalidField` naming it
    (``reason``, ``note``, ``started_on``, ``buffer_days``, ``evidence.*``)."""
    require(actor, *EXIT_MANAGERS, action="start exits")
    if reason not in REASONS:
        raise InvalidField.said(
            "exit_bad_reason",
            "%(value)r is not one of: %(choices)s",
            field="reason",
            value=reason,
            choices=", ".join(REASONS),
        )
    text = check_text(note, "note", required=reason == "strategy_change", max_length=2000)
    start = _date(started_on, "started_on", dt.datetime.now(dt.UTC).date())
    if buffer_days is None:
        ends = add_months(start, DEFAULT_BUFFER_MONTHS)
    elif (
        isinstance(buffer_days, bool)
        or not isinstance(buffer_days, int)
        or not 0 <= buffer_days <= MAX_BUFFER_DAYS
    ):
        raise InvalidField.said(
            "exit_bad_buffer",
            "%(value)r is not a number of days from 0 to %(most)s",
            field="buffer_days",
            value=buffer_days,
            most=MAX_BUFFER_DAYS,
        )
    else:
        ends = start + dt.timedelta(days=buffer_days)
    given = dict(evidence or {})
    with Session(engine) as s, s.begin():
        party = _party(s, party_code)
        if party.status not in ("trial", "active", "suspended"):
            raise PartnerStateError.said(
                "exit_party_status",
                "%(party)s is %(status)s; only a trial, active or suspended party can exit",
                party=party.code,
                status=party.status,
            )
        open_one = s.scalar(
            select(PartnerExit.id).where(
                PartnerExit.party_id == party.id, PartnerExit.status.in_(_OPEN)
            )
        )
        if open_one is not None:
            raise PartnerStateError.said(
                "exit_open",
                "%(party)s already has an open exit (%(exit)s)",
                party=party.code,
                exit=open_one,
            )
        stored: dict[str, Any] = {}
        if reason == "agreement_terminated":
            stored = _agreement_evidence(s, party, given)
        elif reason in HARD_REASONS:
            if check_evidence is None:
                raise PartnerError.said(
                    "exit_evidence_unchecked",
                    "%(reason)s needs its evidence checked against settlement's records",
                    reason=reason,
                )
            stored = check_evidence(s, party, reason, given)
        row = PartnerExit(
            party_id=party.id, reason=reason, hard=reason in HARD_REASONS, note=text,
            status="buffer", started_on=start.isoformat(), buffer_ends_on=ends.isoformat(),
            started_by=actor.username, created_ms=now_ms(),
        )  # fmt: skip
        s.add(row)
        s.flush()
        set_status_in(s, party.code, "exiting", actor, f"exit {row.id}: {reason}")
        record(
            s, "exit.started", actor, party_id=party.id,
            detail={"exit": row.id, "reason": reason, "hard": row.hard, "note": text,
                    "started_on": row.started_on, "buffer_ends_on": row.buffer_ends_on,
                    "evidence": stored},
        )  # fmt: skip
        raise_task(
            s, party.id, _TASK_KIND,
            f"Exit {row.id} of {party.code}: plan the handover of its units and customers",
            due_on=row.buffer_ends_on, detail={"exit": row.id}, key=str(row.id),
        )  # fmt: skip
        s.flush()
        return _view(s, row, party)


# ------------------------------------------------------------------ read


def get_exit(engine: Engine, exit_id: int, actor: Acting) -> ExitView:
    """One exit (:class:`PartnerNotFound` if none)."""
    _reader(actor)
    with Session(engine) as s:
        return view_of(s, load_exit(s, exit_id))


def latest_exit(engine: Engine, party_code: str, actor: Acting) -> ExitView | None:
    """The party's newest exit (open or not), or None; :class:`PartnerNotFound` for an
    unknown party."""
    _reader(actor)
    with Session(engine) as s:
        party = _party(s, party_code)
        row = s.scalars(
            select(PartnerExit)
            .where(PartnerExit.party_id == party.id)
            .order_by(PartnerExit.id.desc())
            .limit(1)
        ).first()
        return None if row is None else _view(s, row, party)


def page_exits(
    engine: Engine,
    actor: Acting,
    *,
    status: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[ExitView], int]:
    """Exits newest first (``status`` one of buffer, settled, completed, cancelled),
    ``(page, total)``: two queries for the page and one for the evidence of its rows."""
    _reader(actor)
    if status is not None and status not in STATUSES:
        raise InvalidField.said(
            "exit_bad_status",
            "%(value)r is not one of: %(choices)s",
            field="status",
            value=status,
            choices=", ".join(STATUSES),
        )
    base = select(PartnerExit, Party).join(Party, Party.id == PartnerExit.party_id)
    counted = select(func.count(PartnerExit.id))
    if status is not None:
        base = base.where(PartnerExit.status == status)
        counted = counted.where(PartnerExit.status == status)
    with Session(engine) as s:
        total = int(s.scalar(counted) or 0)
        rows = s.execute(
            base.order_by(PartnerExit.id.desc()).offset(max(0, offset)).limit(max(0, limit))
        ).all()
        evidence: dict[int, dict[str, Any]] = {}
        ids = [r.id for r, _ in rows]
        if ids:
            for detail_json in s.scalars(
                select(PartnerEvent.detail_json).where(
                    PartnerEvent.action == "exit.started",
                    PartnerEvent.party_id.in_([p.id for _, p in rows]),
                )
            ):
                detail = json.loads(detail_json)
                if detail.get("exit") in ids:
                    evidence[int(detail["exit"])] = dict(detail.get("evidence") or {})
        out = [_make_view(r, p, evidence.get(r.id, {})) for r, p in rows]
    return out, total


# ------------------------------------------------------------------ custody


def _custody_where(party_id: int) -> Any:
    """Units still with the party: trade items it holds in stock, or shipped to it and
    not yet received (containers are listed through their contents)."""
    return and_(
        Unit.gtin.is_not(None),
        or_(
            and_(Unit.holder_id == party_id, Unit.state.in_(_HELD_STATES)),
            and_(Unit.bound_for_id == party_id, Unit.state == "in_transit"),
        ),
    )


def _plans(s: Session, exit_id: int, keys: Sequence[str] | None = None) -> dict[str, ExitHandover]:
    q = select(ExitHandover).where(ExitHandover.exit_id == exit_id, ExitHandover.kind == "unit")
    if keys is not None:
        q = q.where(ExitHandover.unit_key.in_(list(keys)))
    return {h.unit_key: h for h in s.scalars(q)}


def _codes(s: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {
        int(i): str(c) for i, c in s.execute(select(Party.id, Party.code).where(Party.id.in_(ids)))
    }


def _handover_view(
    h: ExitHandover, codes: Mapping[int, str], in_custody: bool | None
) -> HandoverView:
    to = None if h.to_party_id is None else codes.get(h.to_party_id)
    return HandoverView(h.id, h.kind, h.unit_key, h.customer, h.action, to, h.note, in_custody)


def custody_counts(s: Session, row: PartnerExit) -> tuple[int, int]:
    """(units in the party's custody, of them without a plan) for exit ``row``: two
    counting queries."""
    where = _custody_where(row.party_id)
    total = int(s.scalar(select(func.count(Unit.id)).where(where)) or 0)
    planned = select(ExitHandover.unit_key).where(
        ExitHandover.exit_id == row.id, ExitHandover.kind == "unit"
    )
    unplanned = int(
        s.scalar(select(func.count(Unit.id)).where(where, Unit.key.not_in(planned))) or 0
    )
    return total, unplanned


def custody(
    engine: Engine, exit_id: int, actor: Acting, *, offset: int = 0, limit: int = 50
) -> tuple[list[CustodyUnit], int]:
    """The units still in the exiting party's custody, read from the ledger now (by
    unit key), each with its handover plan if any: ``(page, total)``. Three queries
    whatever the page size."""
    _reader(actor)
    with Session(engine) as s:
        row = load_exit(s, exit_id)
        where = _custody_where(row.party_id)
        total = int(s.scalar(select(func.count(Unit.id)).where(where)) or 0)
        units = s.execute(
            select(Unit.key, Unit.state, Unit.holder_id)
            .where(where)
            .order_by(Unit.key)
            .offset(max(0, offset))
            .limit(max(0, limit))
        ).all()
        plans = _plans(s, row.id, [k for k, _, _ in units])
        codes = _codes(
            s,
            {int(h) for _, _, h in units if h is not None}
            | {p.to_party_id for p in plans.values() if p.to_party_id is not None},
        )
        out = []
        for key, state, holder in units:
            plan = plans.get(key)
            out.append(
                CustodyUnit(
                    key,
                    state,
                    None if holder is None else codes.get(holder),
                    None if plan is None else _handover_view(plan, codes, True),
                )
            )
        return out, total


def handovers(
    engine: Engine, exit_id: int, actor: Acting, *, kind: str | None = None
) -> list[HandoverView]:
    """The exit's recorded plans and customers handed over (``kind`` unit|customer),
    each unit's ``in_custody`` re-read from the ledger."""
    _reader(actor)
    with Session(engine) as s:
        row = load_exit(s, exit_id)
        q = select(ExitHandover).where(ExitHandover.exit_id == row.id)
        if kind is not None:
            q = q.where(ExitHandover.kind == kind)
        rows = list(s.scalars(q.order_by(ExitHandover.kind, ExitHandover.id)))
        keys = [h.unit_key for h in rows if h.kind == "unit"]
        still = set()
        if keys:
            still = set(
                s.scalars(select(Unit.key).where(_custody_where(row.party_id), Unit.key.in_(keys)))
            )
        codes = _codes(s, {h.to_party_id for h in rows if h.to_party_id is not None})
        return [
            _handover_view(h, codes, (h.unit_key in still) if h.kind == "unit" else None)
            for h in rows
        ]


def _to_party(s: Session, code: str | None, exiting: Party, *, required: bool) -> Party | None:
    code = (code or "").strip()
    if not code:
        if required:
            raise InvalidField.said(
                "exit_to_party_missing",
                "a handover names the party that takes over",
                field="to_party",
            )
        return None
    other = s.scalar(select(Party).where(Party.code == code))
    if other is None:
        raise InvalidField.said(
            "exit_to_party_unknown", "no party %(value)s", field="to_party", value=code
        )
    if other.id == exiting.id or other.status in ("exiting", "terminated"):
        raise InvalidField.said(
            "exit_to_party_leaving",
            "%(value)s is %(status)s and cannot take over",
            field="to_party",
            value=code,
            status="the exiting party" if other.id == exiting.id else other.status,
        )
    return other


def record_handover(
    engine: Engine,
    exit_id: int,
    actor: Acting,
    *,
    units: Sequence[str] | None,
    action: str,
    to_party_code: str | None = None,
    note: str = "",
) -> int:
    """Plan what happens to units still in the exiting party's custody: ``action``
    ``return`` (to the manufacturer; ``to_party_code`` optional) or ``handover`` (to
    ``to_party_code``, required, a party that is not leaving). ``units`` are unit
    keys, or None for every unit in custody that has no plan yet. A new plan for a
    unit replaces its earlier one. All or nothing: a key not in the party's custody
    now refuses the whole request naming it (:class:`InvalidField`, field
    ``units[i]``). Returns how many plans were written."""
    require(actor, *EXIT_MANAGERS, action="plan exit handovers")
    if action not in ("return", "handover"):
        raise InvalidField.said(
            "exit_bad_action",
            "%(value)r is not one of: return, handover",
            field="action",
            value=action,
        )
    text = check_text(note, "note", required=False, max_length=2000)
    with Session(engine) as s, s.begin():
        row = load_exit(s, exit_id, lock=True)
        _check_open(row, "plan handovers")
        party = s.get(Party, row.party_id)
        assert party is not None
        to = _to_party(s, to_party_code, party, required=action == "handover")
        where = _custody_where(row.party_id)
        if units is None:
            planned = select(ExitHandover.unit_key).where(
                ExitHandover.exit_id == row.id, ExitHandover.kind == "unit"
            )
            keys = list(s.scalars(select(Unit.key).where(where, Unit.key.not_in(planned))))
        else:
            keys = [str(k).strip() for k in units]
            if not keys:
                raise InvalidField.said("exit_no_units", "name at least one unit", field="units")
            held = set(s.scalars(select(Unit.key).where(where, Unit.key.in_(keys))))
            for i, key in enumerate(keys):
                if key not in held:
                    raise InvalidField.said(
                        "exit_unit_not_held",
                        "%(unit)s is not in %(party)s's custody",
                        field=f"units[{i}]",
                        unit=key,
                        party=party.code,
                    )
        existing = _plans(s, row.id, keys)
        for key in dict.fromkeys(keys):
            plan = existing.get(key)
            if plan is None:
                s.add(
                    ExitHandover(
                        exit_id=row.id, kind="unit", unit_key=key, action=action,
                        to_party_id=None if to is None else to.id, note=text,
                    )
                )  # fmt: skip
            else:
                plan.action, plan.note = action, text
                plan.to_party_id = None if to is None else to.id
        written = len(dict.fromkeys(keys))
        if not written:
            return 0
        record(
            s, "exit.handover_planned", actor, party_id=row.party_id,
            detail={"exit": row.id, "action": action, "to_party": None if to is None else to.code,
                    "units": written, "first": keys[:5], "note": text},
        )  # fmt: skip
        return written


def record_customers(
    engine: Engine,
    exit_id: int,
    actor: Acting,
    *,
    customers: Sequence[str],
    to_party_code: str,
    note: str = "",
) -> int:
    """Record customers of the exiting party handed over to ``to_party_code`` (names,
    free text, one per entry; blank entries ignored, at least one required).
    Returns how many were recorded."""
    require(actor, *EXIT_MANAGERS, action="record customers handed over")
    names = [c.strip() for c in customers if c and c.strip()]
    if not names:
        raise InvalidField.said(
            "exit_no_customers", "name at least one customer", field="customers"
        )
    for i, name in enumerate(names):
        check_text(name, f"customers[{i}]", max_length=200)
    text = check_text(note, "note", required=False, max_length=2000)
    with Session(engine) as s, s.begin():
        row = load_exit(s, exit_id, lock=True)
        _check_open(row, "record customers")
        party = s.get(Party, row.party_id)
        assert party is not None
        to = _to_party(s, to_party_code, party, required=True)
        assert to is not None
        for name in names:
            s.add(
                ExitHandover(
                    exit_id=row.id, kind="customer", customer=name, action="handover",
                    to_party_id=to.id, note=text, done_ms=now_ms(),
                )
            )  # fmt: skip
        record(
            s, "exit.customers", actor, party_id=row.party_id,
            detail={"exit": row.id, "to_party": to.code, "customers": names, "note": text},
        )  # fmt: skip
        return len(names)


# ------------------------------------------------------------------ checklist


def _steps(s: Session, row: PartnerExit, today: dt.date) -> list[ExitStep]:
    total, unplanned = custody_counts(s, row)
    customers = int(
        s.scalar(
            select(func.count(ExitHandover.id)).where(
                ExitHandover.exit_id == row.id, ExitHandover.kind == "customer"
            )
        )
        or 0
    )
    settled = row.status in ("settled", "completed")
    return [
        ExitStep("started", True, {"reason": row.reason, "started_on": row.started_on}),
        ExitStep(
            "buffer",
            today >= dt.date.fromisoformat(row.buffer_ends_on),
            {"ends_on": row.buffer_ends_on},
        ),
        ExitStep(
            "custody",
            unplanned == 0,
            {"units": total, "unplanned": unplanned, "customers": customers},
        ),
        ExitStep(
            "settlement",
            settled,
            {
                "run": row.final_run_id,
                "held": row.deposit_held_minor,
                "deducted": row.deposit_deducted_minor,
                "refunded": row.deposit_refunded_minor,
            },
        ),
        ExitStep("completed", row.status == "completed", {"on": row.completed_on}),
    ]


def exit_steps(
    engine: Engine, exit_id: int, actor: Acting, *, today: str | None = None
) -> list[ExitStep]:
    """The exit's checklist as of ``today`` (ISO date, default today UTC): started,
    buffer ended, every unit in custody planned (``units``, ``unplanned``,
    ``customers`` handed over), final settlement done, completed."""
    _reader(actor)
    day = _date(today, "today", dt.datetime.now(dt.UTC).date())
    with Session(engine) as s:
        return _steps(s, load_exit(s, exit_id), day)


# ------------------------------------------------------------------ complete, cancel


def complete_exit(
    engine: Engine,
    exit_id: int,
    actor: Acting,
    *,
    completed_on: str | None = None,
) -> ExitView:
    """Complete the exit on ``completed_on`` (ISO date, default today UTC).

    Refuses (:class:`PartnerStateError`, the first missing step named) until the
    buffer has ended (``completed_on`` on or after ``buffer_ends_on``), every unit
    still in the party's custody has a handover plan, and the final settlement is
    done (status ``settled``). Then, in one transaction: every signed agreement of
    the party not yet expired is terminated on ``completed_on`` (one that starts
    later: on its first day) through ``partners.agreements.terminate_in`` — ground
    :data:`TERMINATION_GROUND` of the exit's reason, the exit's start as the notice
    and the buffer's last day as the deadline to cure; the agreement is no longer in
    force from that day: its grants and enrolments end at 00:00 UTC of it, so a scan
    from then on is out of zone; a trial still running is ended
    (``partners.trials.end_running_trial_in``, reason "exit N completed"); the
    party becomes ``terminated``; the exit ``completed``; the open handover task is
    closed. Audited. A termination the agreement rules refuse (a material breach
    completed on the day its zero-day buffer started) refuses the whole completion
    (:class:`InvalidField`).
    """
    require(actor, *EXIT_MANAGERS, action="complete exits")
    day = _date(completed_on, "completed_on", dt.datetime.now(dt.UTC).date())
    with Session(engine) as s, s.begin():
        row = load_exit(s, exit_id, lock=True)
        if row.status == "completed" or row.status == "cancelled":
            _check_open(row, "be completed")
        steps = {st.name: st for st in _steps(s, row, day)}
        if not steps["buffer"].done:
            raise PartnerStateError.said(
                "exit_buffer_running",
                "exit %(exit)s cannot be completed: its buffer runs until %(ends_on)s",
                exit=row.id,
                ends_on=row.buffer_ends_on,
            )
        if not steps["custody"].done:
            raise PartnerStateError.said(
                "exit_custody_unplanned",
                "exit %(exit)s cannot be completed: %(count)s units in custody have no"
                " handover plan",
                exit=row.id,
                count=steps["custody"].values["unplanned"],
            )
        if row.status != "settled":
            raise PartnerStateError.said(
                "exit_not_settled",
                "exit %(exit)s cannot be completed: its final settlement is not done",
                exit=row.id,
            )
        party = s.get(Party, row.party_id)
        assert party is not None
        on = day.isoformat()
        # the buffer was the notice and the time to cure (seed 003 三(三)1): notice on
        # the day the exit started, cure by the buffer's last day (completion is
        # allowed from buffer_ends_on on)
        last_buffer_day = max(
            dt.date.fromisoformat(row.started_on),
            dt.date.fromisoformat(row.buffer_ends_on) - dt.timedelta(days=1),
        ).isoformat()
        ended = terminate_party_agreements_in(
            s, party.id, TERMINATION_GROUND[row.reason], on,
            f"exit {row.id}: {row.reason}", actor, notice_on=row.started_on,
            cure_by=last_buffer_day, today=day, detail={"exit": row.id},
        )  # fmt: skip
        trial = end_running_trial_in(s, party.id, f"exit {row.id} completed", actor)
        row.status = "completed"
        row.completed_on = on
        row.completed_by = actor.username
        set_status_in(s, party.code, "terminated", actor, f"exit {row.id} completed")
        for task in open_tasks(s, party.id, _TASK_KIND):
            close_task(s, task.id, actor, f"exit {row.id} completed")
        record(
            s, "exit.completed", actor, party_id=party.id,
            detail={"exit": row.id, "completed_on": row.completed_on, "agreements": ended,
                    "trial": trial},
        )  # fmt: skip
        s.flush()
        return _view(s, row, party)


def _status_before(s: Session, row: PartnerExit) -> str:
    """The party's status before the exit made it ``exiting`` (``active`` if the
    trail does not say)."""
    for detail_json in s.scalars(
        select(PartnerEvent.detail_json)
        .where(
            PartnerEvent.party_id == row.party_id,
            PartnerEvent.action == "party.status",
            PartnerEvent.at_ms >= row.created_ms,
        )
        .order_by(PartnerEvent.id)
    ):
        change = json.loads(detail_json).get("status") or []
        if (
            len(change) == 2
            and change[1] == "exiting"
            and change[0] in ("trial", "active", "suspended")
        ):
            return str(change[0])
    return "active"


def cancel_exit(engine: Engine, exit_id: int, actor: Acting, *, reason: str) -> ExitView:
    """Cancel an exit still in its buffer (not yet settled): the party is back to the
    status it had before (``active``, ``suspended`` or ``trial``), the handover task
    closed; ``reason`` is required. Audited."""
    require(actor, *EXIT_MANAGERS, action="cancel exits")
    text = check_text(reason, "reason", max_length=2000)
    with Session(engine) as s, s.begin():
        row = load_exit(s, exit_id, lock=True)
        if row.status != "buffer":
            raise PartnerStateError.said(
                "exit_not_in_buffer",
                "exit %(exit)s is %(status)s; only an exit in its buffer can be cancelled",
                exit=row.id,
                status=row.status,
            )
        party = s.get(Party, row.party_id)
        assert party is not None
        before = _status_before(s, row)
        # closed first: while an exit is open the party cannot leave exiting; the
        # reason's words are kept on the exit.cancelled row below
        row.status = "cancelled"
        set_status_in(s, party.code, before, actor, f"exit {row.id} cancelled")
        for task in open_tasks(s, party.id, _TASK_KIND):
            close_task(s, task.id, actor, f"exit {row.id} cancelled")
        record(
            s, "exit.cancelled", actor, party_id=party.id, detail={"exit": row.id, "reason": text}
        )
        s.flush()
        return _view(s, row, party)


def exit_history(engine: Engine, exit_id: int, actor: Acting) -> list[Any]:
    """The audit trail of the exit's party (newest first): the exit's steps beside
    everything else that happened to the party, readable after completion."""
    _reader(actor)
    with Session(engine) as s:
        row = load_exit(s, exit_id)
        return history(s, party_id=row.party_id)
