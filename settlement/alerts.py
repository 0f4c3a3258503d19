"""Alert workflow for channel managers: open -> investigating -> confirmed | dismissed.

Every change is an :class:`~settlement.models.AlertEvent`, so an alert's page can
show who did what and when. Distributors may add notes to their own alerts and
appeal a confirmed one (back to investigating). Only confirmed alerts cost money:
when an alert whose penalty was already posted is dismissed or reopened on appeal,
the next run gives the charge back and lowers the escalation of later incidents
(:mod:`settlement.incidents`), because posted runs never change.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, case, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from ledger.models import Unit
from settlement.common import Actor, SettlementError, now_ms, period_bounds
from settlement.models import Alert, AlertEvent, AlertFinding
from settlement.reference_values import InvalidValue
from settlement.severity import SEVERITIES, SeverityGrade, stored_grade

__all__ = [
    "ALERT_SORTS",
    "ALERT_STATUSES",
    "ALERT_TYPES",
    "ALERT_WORKERS",
    "ASSIGNEE_FIELD",
    "UNIT_KEY_MAX",
    "AlertEventView",
    "AlertPage",
    "AlertQuery",
    "AlertView",
    "AlertWorkflowError",
    "add_note",
    "alert_findings",
    "alert_history",
    "alert_severity",
    "appeal_alert",
    "assign_alert",
    "attach_file",
    "confirm_alert",
    "dismiss_alert",
    "get_alert",
    "list_alerts",
    "page_alerts",
    "start_investigation",
]

ALERT_STATUSES = ("open", "investigating", "confirmed", "dismissed")
#: Finding types alerts are grouped by (settlement.detection.FINDING_TYPES' values).
ALERT_TYPES = ("out_of_zone", "cross_region", "custody_break", "clone")
#: Orders of :func:`page_alerts`: newest period first, most severe, most units,
#: highest value at stake in EUR as detection stored it (``Alert.value_reference_minor``;
#: alerts whose value is unknown, for want of a list price or an FX rate, last), each
#: then newest alert first.
ALERT_SORTS = ("newest", "severity", "units", "value")
#: Longest unit-key search: a canonical key is at most 64 characters.
UNIT_KEY_MAX = 64
#: History actions whose text is internal to the channel team.
_INTERNAL_ACTIONS = ("note", "attachment", "assign")
_MANAGERS = ("channel_manager", "admin")
#: Roles whose users may work alerts, and so may be assigned one.
ALERT_WORKERS = _MANAGERS
#: The assignee's field as pages label it (what a refused assignee's reason names).
ASSIGNEE_FIELD = "Assign to"
_TRANSITIONS = {
    ("open", "investigating"),
    ("investigating", "confirmed"),
    ("investigating", "dismissed"),
}


class AlertWorkflowError(SettlementError):
    """A transition the workflow does not allow, or a user who may not make it."""


@dataclass(frozen=True, slots=True)
class AlertView:
    id: int
    natural_key: str
    party_id: int | None
    territory_code: str
    period: str
    finding_type: str
    status: str
    severity: str
    assignee: str | None
    unit_count: int
    finding_count: int
    appealed: bool
    penalized_run_id: int | None
    penalty_minor: int | None


@dataclass(frozen=True, slots=True)
class AlertEventView:
    at_ms: int
    actor: str
    role: str
    action: str
    from_status: str | None
    to_status: str | None
    text: str
    attachment_ref: str | None


def _view(a: Alert) -> AlertView:
    return AlertView(
        a.id,
        a.natural_key,
        a.party_id,
        a.territory_code,
        a.period,
        a.finding_type,
        a.status,
        a.severity,
        a.assignee,
        a.unit_count,
        a.finding_count,
        a.appealed,
        a.penalized_run_id,
        a.penalty_minor,
    )


def _load(s: Session, alert_id: int) -> Alert:
    a = s.get(Alert, alert_id)
    if a is None:
        raise AlertWorkflowError(f"no alert {alert_id}")
    return a


def _may_see(actor: Actor, a: Alert) -> None:
    if actor.role in (*_MANAGERS, "auditor", "finance"):
        return
    if actor.role == "distributor" and actor.party_id is not None and actor.party_id == a.party_id:
        return
    raise AlertWorkflowError(f"{actor.username} ({actor.role}) may not see alert {a.id}")


def _manager(actor: Actor, action: str) -> None:
    if actor.role not in _MANAGERS:
        raise AlertWorkflowError(
            f"{actor.username} ({actor.role}) may not {action}; only a channel manager may"
        )


def _event(s: Session, a: Alert, actor: Actor, action: str, **kw: str | None) -> None:
    stamp = now_ms()
    a.updated_ms = stamp
    s.add(
        AlertEvent(
            alert_id=a.id, at_ms=stamp, actor=actor.username, role=actor.role, action=action, **kw
        )
    )


def _transition(engine: Engine, alert_id: int, to: str, actor: Actor, note: str) -> AlertView:
    with Session(engine) as s, s.begin():
        a = _load(s, alert_id)
        _manager(actor, f"move alert {alert_id} to {to}")
        if (a.status, to) not in _TRANSITIONS:
            if a.status == "open":
                raise AlertWorkflowError.said(
                    "alert_move_open",
                    "alert %(alert)s is %(status)s; it cannot move to %(to)s"
                    " (start the investigation first)",
                    alert=alert_id,
                    status=a.status,
                    to=to,
                )
            raise AlertWorkflowError.said(
                "alert_move",
                "alert %(alert)s is %(status)s; it cannot move to %(to)s",
                alert=alert_id,
                status=a.status,
                to=to,
            )
        old = a.status
        a.status = to
        _event(s, a, actor, "status", from_status=old, to_status=to, text=note)
        return _view(a)


def start_investigation(engine: Engine, alert_id: int, actor: Actor, note: str = "") -> AlertView:
    return _transition(engine, alert_id, "investigating", actor, note)


def confirm_alert(engine: Engine, alert_id: int, actor: Actor, note: str = "") -> AlertView:
    """Confirm the diversion: from now on the alert costs the responsible party money."""
    return _transition(engine, alert_id, "confirmed", actor, note)


def dismiss_alert(engine: Engine, alert_id: int, actor: Actor, note: str = "") -> AlertView:
    return _transition(engine, alert_id, "dismissed", actor, note)


def assign_alert(
    engine: Engine, alert_id: int, assignee: str, actor: Actor, *, assignee_role: str | None
) -> AlertView:
    """Give the alert to ``assignee`` (a username), a user who may work alerts.

    ``assignee_role`` is the role of the active user with that username as the
    caller's user directory has it (``users.role``), None when no active user has it:
    settlement does not read the users table itself. Raises
    :class:`AlertWorkflowError` for an empty name or an ``actor`` who is not a
    channel manager or an administrator; :class:`InvalidValue` on
    :data:`ASSIGNEE_FIELD` for an unknown user (``assignee_unknown``) or one whose
    role is not in :data:`ALERT_WORKERS` (``assignee_cannot_work``); whatever
    :func:`get_alert` raises for an unknown alert."""
    if not assignee.strip():
        raise AlertWorkflowError.said("assignee_missing", "assignee must be a user name")
    with Session(engine) as s, s.begin():
        a = _load(s, alert_id)
        _manager(actor, f"assign alert {alert_id}")
        if assignee_role is None:
            raise InvalidValue.said(
                "assignee_unknown",
                "no active user has the username %(name)s",
                field=ASSIGNEE_FIELD,
                name=assignee,
            )
        if assignee_role not in ALERT_WORKERS:
            raise InvalidValue.said(
                "assignee_cannot_work",
                "%(name)s cannot work alerts; choose a channel manager or an administrator",
                field=ASSIGNEE_FIELD,
                name=assignee,
            )
        old = a.assignee
        a.assignee = assignee
        _event(s, a, actor, "assign", text=f"{old or 'nobody'} -> {assignee}")
        return _view(a)


def add_note(engine: Engine, alert_id: int, text: str, actor: Actor) -> AlertView:
    """A note from a channel manager, or from the distributor the alert is about."""
    if not text.strip():
        raise AlertWorkflowError.said("note_empty", "a note needs text")
    with Session(engine) as s, s.begin():
        a = _load(s, alert_id)
        if actor.role not in _MANAGERS:
            _may_see(actor, a)
            if actor.role != "distributor":
                raise AlertWorkflowError(f"{actor.username} ({actor.role}) may not add notes")
        _event(s, a, actor, "note", text=text)
        return _view(a)


def attach_file(
    engine: Engine, alert_id: int, attachment_ref: str, actor: Actor, note: str = ""
) -> AlertView:
    """Record a stored file (its storage reference, e.g. ``uploads/ab12.pdf``) as evidence."""
    if not attachment_ref.strip():
        raise AlertWorkflowError.said(
            "attachment_missing", "an attachment needs a stored file reference"
        )
    with Session(engine) as s, s.begin():
        a = _load(s, alert_id)
        if actor.role not in _MANAGERS:
            _may_see(actor, a)
            if actor.role != "distributor":
                raise AlertWorkflowError(f"{actor.username} ({actor.role}) may not attach files")
        _event(s, a, actor, "attachment", text=note, attachment_ref=attachment_ref)
        return _view(a)


def appeal_alert(engine: Engine, alert_id: int, reason: str, actor: Actor) -> AlertView:
    """The responsible distributor contests a confirmed alert: it goes back to
    investigating until a channel manager confirms or dismisses it again."""
    if not reason.strip():
        raise AlertWorkflowError.said("appeal_reason_missing", "an appeal needs a reason")
    with Session(engine) as s, s.begin():
        a = _load(s, alert_id)
        if actor.role != "distributor" or actor.party_id is None or actor.party_id != a.party_id:
            raise AlertWorkflowError(
                f"only the distributor alert {alert_id} is about may appeal it, "
                f"not {actor.username} ({actor.role})"
            )
        if a.status != "confirmed":
            raise AlertWorkflowError.said(
                "appeal_not_confirmed",
                "alert %(alert)s is %(status)s; only confirmed alerts can be appealed",
                alert=alert_id,
                status=a.status,
            )
        a.status = "investigating"
        a.appealed = True
        _event(
            s, a, actor, "appeal", from_status="confirmed", to_status="investigating", text=reason
        )
        return _view(a)


def get_alert(engine: Engine, alert_id: int, actor: Actor) -> AlertView:
    with Session(engine) as s:
        a = _load(s, alert_id)
        _may_see(actor, a)
        return _view(a)


def list_alerts(
    engine: Engine,
    actor: Actor,
    *,
    status: str | None = None,
    period: str | None = None,
    party_id: int | None = None,
    limit: int = 500,
) -> list[AlertView]:
    """Alerts newest first; a distributor only ever sees its own."""
    if status is not None and status not in ALERT_STATUSES:
        raise AlertWorkflowError(f"status must be one of {ALERT_STATUSES}, got {status!r}")
    q = select(Alert).order_by(Alert.period.desc(), Alert.id.desc()).limit(limit)
    if actor.role == "distributor":
        if actor.party_id is None:
            raise AlertWorkflowError(f"distributor user {actor.username} has no party")
        party_id = actor.party_id
    elif actor.role not in (*_MANAGERS, "auditor", "finance"):
        raise AlertWorkflowError(f"{actor.username} ({actor.role}) may not list alerts")
    if status is not None:
        q = q.where(Alert.status == status)
    if period is not None:
        q = q.where(Alert.period == period)
    if party_id is not None:
        q = q.where(Alert.party_id == party_id)
    with Session(engine) as s:
        return [_view(a) for a in s.scalars(q)]


def alert_history(engine: Engine, alert_id: int, actor: Actor) -> list[AlertEventView]:
    """The alert's events, oldest first.

    A distributor never sees the channel team's internal work: notes, attachments
    and assignments by anyone but a distributor are left out, and the words a
    manager wrote on a status change are blanked (the change itself stays, so the
    distributor knows where its alert stands).
    """
    with Session(engine) as s:
        _may_see(actor, _load(s, alert_id))
        events = s.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
        )
        views = [
            AlertEventView(
                e.at_ms,
                e.actor,
                e.role,
                e.action,
                e.from_status,
                e.to_status,
                e.text,
                e.attachment_ref,
            )
            for e in events
        ]
    if actor.role != "distributor":
        return views
    shown: list[AlertEventView] = []
    for v in views:
        if v.role in ("distributor", "system"):
            shown.append(v)
        elif v.action not in _INTERNAL_ACTIONS:
            shown.append(dataclasses.replace(v, text=""))
    return shown


def alert_findings(engine: Engine, alert_id: int, actor: Actor) -> list[tuple[int, int, int]]:
    """Evidence of an alert: (seq, unit id, at_ms) per finding, in ledger order."""
    with Session(engine) as s:
        _may_see(actor, _load(s, alert_id))
        rows = s.execute(
            select(AlertFinding.seq, AlertFinding.unit_id, AlertFinding.at_ms)
            .where(AlertFinding.alert_id == alert_id)
            .order_by(AlertFinding.seq)
        ).all()
        return [(int(a), int(b), int(c)) for a, b, c in rows]


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """Filters and order of an alert list; None: any.

    ``period``: ``YYYY-MM`` (or ``YYYY-Qn``: its three months); ``unit_key``: part
    of a unit's canonical key (e.g. its serial) that one of the alert's findings
    names; ``sort``: one of :data:`ALERT_SORTS`.
    """

    status: str | None = None
    period: str | None = None
    party_id: int | None = None
    finding_type: str | None = None
    severity: str | None = None
    unit_key: str | None = None
    sort: str = "newest"

    def check(self) -> None:
        """Raise :class:`AlertWorkflowError` naming the first filter that is not valid."""
        if self.status is not None and self.status not in ALERT_STATUSES:
            raise AlertWorkflowError(
                f"status must be one of {', '.join(ALERT_STATUSES)}, not {self.status!r}"
            )
        if self.finding_type is not None and self.finding_type not in ALERT_TYPES:
            raise AlertWorkflowError(
                f"type must be one of {', '.join(ALERT_TYPES)}, not {self.finding_type!r}"
            )
        if self.severity is not None and self.severity not in SEVERITIES:
            raise AlertWorkflowError(
                f"severity must be one of {', '.join(SEVERITIES)}, not {self.severity!r}"
            )
        if self.sort not in ALERT_SORTS:
            raise AlertWorkflowError(
                f"sort must be one of {', '.join(ALERT_SORTS)}, not {self.sort!r}"
            )
        if self.unit_key is not None and len(self.unit_key) > UNIT_KEY_MAX:
            raise AlertWorkflowError(
                f"a unit key has at most {UNIT_KEY_MAX} characters, "
                f"this search has {len(self.unit_key)}"
            )
        if self.period is not None:
            period_bounds(self.period)  # SettlementError naming a malformed period


@dataclass(frozen=True, slots=True)
class AlertPage:
    """One page of alerts: ``items`` from ``offset``, ``total`` matching in all, and
    the severity grade (with its reason and value at stake) of each item by id, as
    detection stored it (:func:`settlement.severity.stored_grade`)."""

    items: list[AlertView]
    total: int
    offset: int
    limit: int
    grades: dict[int, SeverityGrade]


def _months(period: str) -> list[str]:
    if "-Q" not in period.upper():
        return [period]
    year, q = period.upper().split("-Q")
    first = (int(q) - 1) * 3 + 1
    return [f"{year}-{m:02d}" for m in range(first, first + 3)]


def _filtered(actor: Actor, query: AlertQuery) -> Select[Alert]:
    query.check()
    party_id = query.party_id
    if actor.role == "distributor":
        if actor.party_id is None:
            raise AlertWorkflowError(f"distributor user {actor.username} has no party")
        party_id = actor.party_id
    elif actor.role not in (*_MANAGERS, "auditor", "finance"):
        raise AlertWorkflowError(f"{actor.username} ({actor.role}) may not list alerts")
    q = select(Alert)
    if query.status is not None:
        q = q.where(Alert.status == query.status)
    if query.period is not None:
        q = q.where(Alert.period.in_(_months(query.period)))
    if party_id is not None:
        q = q.where(Alert.party_id == party_id)
    if query.finding_type is not None:
        q = q.where(Alert.finding_type == query.finding_type)
    if query.severity is not None:
        q = q.where(Alert.severity == query.severity)
    if query.unit_key:
        hits = (
            select(AlertFinding.alert_id)
            .join(Unit, Unit.id == AlertFinding.unit_id)
            .where(Unit.key.contains(query.unit_key, autoescape=True))
        )
        q = q.where(Alert.id.in_(hits))
    return q


def page_alerts(
    engine: Engine,
    actor: Actor,
    query: AlertQuery = AlertQuery(),
    *,
    offset: int = 0,
    limit: int = 50,
) -> AlertPage:
    """A page of the alerts ``actor`` may see that match ``query``, in its order.

    A distributor only ever sees its own party's alerts (its ``party_id`` filter is
    replaced by its own). ``offset`` >= 0, ``limit`` 1..500. Raises
    :class:`AlertWorkflowError` (a :class:`SettlementError`) naming a bad filter,
    and :class:`SettlementError` for a malformed period.
    """
    if offset < 0 or not 1 <= limit <= 500:
        raise AlertWorkflowError(f"offset must be >= 0 and limit 1..500, got {offset}, {limit}")
    base = _filtered(actor, query)
    with Session(engine) as s:
        total = int(s.scalar(select(func.count()).select_from(base.subquery())) or 0)
        order: tuple[Any, ...]
        if query.sort == "value":
            # EUR value as detection stored it; unknown (no list price, no FX rate) last
            unknown = case((Alert.value_reference_minor.is_(None), 1), else_=0)
            value = Alert.value_reference_minor.desc()
            order = (unknown, value, Alert.period.desc(), Alert.id.desc())
        elif query.sort == "severity":
            rank = case({lv: i for i, lv in enumerate(SEVERITIES)}, value=Alert.severity)
            order = (rank.desc(), Alert.period.desc(), Alert.id.desc())
        elif query.sort == "units":
            order = (Alert.unit_count.desc(), Alert.id.desc())
        else:
            order = (Alert.period.desc(), Alert.id.desc())
        rows = list(s.scalars(base.order_by(*order).offset(offset).limit(limit)))
        grades = {a.id: stored_grade(a) for a in rows}
        return AlertPage([_view(a) for a in rows], total, offset, limit, grades)


def alert_severity(engine: Engine, alert_id: int, actor: Actor) -> SeverityGrade:
    """The alert's severity grade as detection last stored it, with its reason and
    value at stake (:func:`settlement.severity.stored_grade`: from the alert's
    columns, no price or FX query). Raises :class:`AlertWorkflowError` for an unknown
    alert or one ``actor`` may not see."""
    with Session(engine) as s:
        a = _load(s, alert_id)
        _may_see(actor, a)
        return stored_grade(a)
