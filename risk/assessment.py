"""A party's risk level and the risk matrix's action (issue 13; seed 000 "风险矩阵模型").

The rule (seed 000, the risk matrix: high = stop credit (cash only) or end the
cooperation; medium = adjust the limit and monitor; low = keep, review yearly),
read from the party's latest rating (:func:`risk.rating.latest_rating`) and its
behaviour on the day (:func:`risk.exposure.exposure_in`; the diversion record from
``settlement.models.Alert``):

========  ===============================================================
high      grade B or CCC, or an item more than 90 days overdue, or 3 or more
          confirmed diversion alerts about the party in the last 12 months, or
          exposure over 120 % of the limit (utilisation > 1200 per mille)
medium    grade BBB or BB, or an item more than 30 days overdue, or
          utilisation over 90 %, or 1 or 2 confirmed diversion alerts
low       otherwise
========  ===============================================================

The first line that holds gives the level; ``basis`` keeps every figure read and
``why`` the rules that held (``grade``, ``overdue``, ``alerts``, ``utilisation``).
A party without a rating gets no assessment: it must be investigated and rated
first (:class:`partners.errors.PartnerStateError`, ``assess_no_rating``).

The action (:func:`assess_in`, recorded in the assessment's ``action``):

- high: ``cash_only`` (manufacturer shipments to it on credit become anomalies,
  :mod:`risk.credit_gate`); a ``high_risk`` credit alert for finance (key: the
  assessment day); termination proposed to the partner manager (a
  ``credit_termination`` task, key ``credit``, due in 14 days).
- medium: the limit becomes the limit table's limit for the grade (in the party's
  currency, :func:`risk.limits.table_limit`) times the table's ``medium_factor``,
  rounded half-even to whole minor units, set (source ``risk``) only when it is
  lower than the limit in force (or there is none); a ``credit_review`` task, key
  ``monthly``, due in a month.
- low: a ``credit_review`` task, key ``annual``, due in 12 months.

Going from a cash-only assessment to one without lifts cash only: the new row is in
force, and ``action["cash_only_lifted"]`` says so. Finance (or an admin) may set the
level and cash only by hand with a reason (:func:`set_by_hand`); no action is
taken then but the cash-only flag. Every assessment is audited (``credit.assessed``,
``credit.assessment_set``) in the party's history.

Functions: :func:`assess_in` (in a caller's transaction: area A's rating calls it),
:func:`assess_party` / :func:`assess_all` (own transaction), :func:`set_by_hand`,
:func:`assessment_in_force`, :func:`is_cash_only`, :func:`assessment_history`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.audit import now_ms, record
from partners.errors import Acting, PartnerError, PartnerNotFound, PartnerStateError, require
from partners.exits import add_months
from partners.tasks import raise_task
from risk.credit_alerts import raise_alert
from risk.exposure import exposure_in, exposures_in
from risk.limits import limit_in_force, set_limit_in, table_in_force, table_limit
from risk.models import CreditAssessment
from risk.rating import latest_rating
from settlement.detection import DIVERSION_TYPES
from settlement.models import Alert
from settlement.reference_audit import page_rows
from settlement.rules.money import round_minor

__all__ = [
    "ASSESSORS",
    "HAND_SETTERS",
    "LEVELS",
    "READERS",
    "AssessmentView",
    "assess_all",
    "assess_in",
    "assess_party",
    "assessment_history",
    "assessment_in_force",
    "assessment_json",
    "is_cash_only",
    "level_for",
    "reassess_changed_in",
    "set_by_hand",
]

LEVELS = ("high", "medium", "low")
#: Who assesses now (pages, API, CLI), who sets a level by hand, who reads.
ASSESSORS = ("finance", "channel_manager", "admin")
HAND_SETTERS = ("finance", "admin")
READERS = ("finance", "channel_manager", "partner_manager", "auditor", "admin")

HIGH_GRADES = frozenset({"B", "CCC"})
MEDIUM_GRADES = frozenset({"BBB", "BB"})
HIGH_OVERDUE_DAYS = 90  # more than this: high
MEDIUM_OVERDUE_DAYS = 30
HIGH_UTILISATION_PERMILLE = 1200  # more than 120 % of the limit: high
MEDIUM_UTILISATION_PERMILLE = 900
HIGH_ALERTS = 3  # confirmed diversion alerts in 12 months, at least
TERMINATION_DAYS = 14


@dataclass(frozen=True, slots=True)
class AssessmentView:
    """One assessment: ``level`` (high | medium | low), ``cash_only``, ``basis`` (grade,
    score, rating_id, max_overdue_days, utilisation_permille (None: no limit),
    confirmed_alerts, exposure_minor, limit_minor, currency, why: the rules that
    held), ``action`` (what the matrix did: cash_only, cash_only_lifted,
    limit_before/limit_after (minor units, None: none), alert id, tasks raised),
    ``manual`` and its ``reason``, the day (ISO) and who assessed."""

    id: int
    party_id: int
    level: str
    cash_only: bool
    basis: dict[str, Any]
    action: dict[str, Any]
    manual: bool
    reason: str
    assessed_on: str
    assessed_by: str
    created_ms: int


def _view(a: CreditAssessment) -> AssessmentView:
    return AssessmentView(
        a.id, a.party_id, a.level, bool(a.cash_only), json.loads(a.basis_json),
        json.loads(a.action_json or "{}"), bool(a.manual), a.reason, a.assessed_on,
        a.assessed_by, a.created_ms,
    )  # fmt: skip


def assessment_json(a: AssessmentView, code: str) -> dict[str, Any]:
    """An assessment as JSON (API and CLI): the view's fields and the party's code."""
    return {
        "id": a.id, "party": code, "level": a.level, "cash_only": a.cash_only,
        "basis": a.basis, "action": a.action, "manual": a.manual, "reason": a.reason,
        "assessed_on": a.assessed_on, "assessed_by": a.assessed_by, "created_ms": a.created_ms,
    }  # fmt: skip


def level_for(
    grade: str,
    max_overdue_days: int,
    utilisation_permille: int | None,
    confirmed_alerts: int,
) -> tuple[str, tuple[str, ...]]:
    """The risk level by the matrix rule (module docstring) and the rules that gave
    it (``grade``, ``overdue``, ``alerts``, ``utilisation``; empty for low).
    ``utilisation_permille`` None (no limit) never counts."""
    util = utilisation_permille
    high = []
    if grade in HIGH_GRADES:
        high.append("grade")
    if max_overdue_days > HIGH_OVERDUE_DAYS:
        high.append("overdue")
    if confirmed_alerts >= HIGH_ALERTS:
        high.append("alerts")
    if util is not None and util > HIGH_UTILISATION_PERMILLE:
        high.append("utilisation")
    if high:
        return "high", tuple(high)
    medium = []
    if grade in MEDIUM_GRADES:
        medium.append("grade")
    if max_overdue_days > MEDIUM_OVERDUE_DAYS:
        medium.append("overdue")
    if confirmed_alerts >= 1:
        medium.append("alerts")
    if util is not None and util > MEDIUM_UTILISATION_PERMILLE:
        medium.append("utilisation")
    if medium:
        return "medium", tuple(medium)
    return "low", ()


def _confirmed_alerts(s: Session, party_id: int, on: dt.date) -> int:
    """Confirmed diversion alerts about the party in the 12 months up to ``on``
    (by the alert's period, as the health score counts them)."""
    first = dt.date(on.year - (on.month <= 11), (on.month % 12) + 1, 1)
    return int(
        s.scalar(
            select(func.count())
            .select_from(Alert)
            .where(
                Alert.party_id == party_id,
                Alert.status == "confirmed",
                Alert.finding_type.in_(DIVERSION_TYPES),
                Alert.period >= first.strftime("%Y-%m"),
                Alert.period <= on.strftime("%Y-%m"),
            )
        )
        or 0
    )


def _party(s: Session, party_id: int) -> Party:
    party = s.get(Party, party_id)
    if party is None:
        raise PartnerNotFound.said("assess_no_party", "no party %(party)s", party=party_id)
    return party


def assessment_in_force(s: Session, party_id: int) -> AssessmentView | None:
    """The party's newest assessment (by hand or not), None when it has none."""
    row = s.scalar(
        select(CreditAssessment)
        .where(CreditAssessment.party_id == party_id)
        .order_by(CreditAssessment.created_ms.desc(), CreditAssessment.id.desc())
        .limit(1)
    )
    return None if row is None else _view(row)


def is_cash_only(s: Session, party_id: int) -> bool:
    """Whether the assessment in force puts the party on cash only."""
    found = s.scalar(
        select(CreditAssessment.cash_only)
        .where(CreditAssessment.party_id == party_id)
        .order_by(CreditAssessment.created_ms.desc(), CreditAssessment.id.desc())
        .limit(1)
    )
    return bool(found)


def _medium_limit(
    s: Session, party: Party, grade: str, on: dt.date
) -> tuple[int, int, str, int] | None:
    """(limit, payment days, FX words, table version) a medium level allows: the
    table's limit for the grade in the party's currency times the medium factor,
    rounded half-even once; None for a grade the table lacks."""
    table = table_in_force(s)
    if grade not in table.rows:
        return None
    limit, days, fx = table_limit(s, grade, party.currency, on)
    return round_minor(Decimal(limit) * table.medium_factor), days, fx, table.version


def _apply(
    s: Session,
    party: Party,
    row: CreditAssessment,
    grade: str,
    basis: Mapping[str, Any],
    actor: Acting,
    on: dt.date,
) -> dict[str, Any]:
    """Carry out the matrix's action for ``row`` (already flushed); what was done."""
    action: dict[str, Any] = {"cash_only": row.cash_only, "tasks": []}
    before = limit_in_force(s, party.id)
    action["limit_before"] = before.limit_minor if before else None
    action["limit_after"] = action["limit_before"]
    action["currency"] = party.currency
    detail = {"level": row.level, "assessment": row.id, "why": list(basis["why"])}
    if row.level == "high":
        alert, _new = raise_alert(s, party.id, "high_risk", on.isoformat(), {**basis, **detail})
        action["alert"] = alert.id
        task = raise_task(
            s, party.id, "credit_termination",
            f"Credit: {party.code} is high risk (cash only); consider ending the cooperation",
            due_on=(on + dt.timedelta(days=TERMINATION_DAYS)).isoformat(),
            detail={**detail, "basis": dict(basis)}, key="credit",
        )  # fmt: skip
        action["tasks"].append({"kind": task.kind, "id": task.id, "due_on": task.due_on})
    elif row.level == "medium":
        lowered = _medium_limit(s, party, grade, on)
        if lowered is None:
            action["limit_table"] = None
        else:
            limit, days, fx, version = lowered
            action["limit_table"] = version
            action["limit_medium"] = limit
            if fx:
                action["fx"] = fx
            if before is None or limit < before.limit_minor:
                new = set_limit_in(
                    s, party.id, limit_minor=limit,
                    payment_days=before.payment_days if before else days, source="risk",
                    actor=actor, reason=f"risk level medium on {on.isoformat()}",
                    table_version=version, assessment_id=row.id,
                )  # fmt: skip
                action["limit_after"] = new.limit_minor
        task = raise_task(
            s, party.id, "credit_review", f"Credit: monthly review of {party.code} (medium risk)",
            due_on=add_months(on, 1).isoformat(), detail=detail, key="monthly",
        )  # fmt: skip
        action["tasks"].append({"kind": task.kind, "id": task.id, "due_on": task.due_on})
    else:
        task = raise_task(
            s, party.id, "credit_review", f"Credit: annual review of {party.code}",
            due_on=add_months(on, 12).isoformat(), detail=detail, key="annual",
        )  # fmt: skip
        action["tasks"].append({"kind": task.kind, "id": task.id, "due_on": task.due_on})
    return action


def assess_in(s: Session, party_id: int, actor: Acting, on: dt.date) -> AssessmentView:
    """Assess the party on ``on`` and apply the matrix's action, in ``s``'s transaction.

    Raises :class:`PartnerDenied` (403) unless ``actor`` is finance, a channel
    manager or an admin; :class:`PartnerNotFound` (404) for no such party;
    :class:`PartnerStateError` (409, ``assess_no_rating``) when the party has no
    rating. Money in ``basis``/``action`` is in minor units of the party's currency."""
    require(actor, *ASSESSORS, action="assess credit risk")
    party = _party(s, party_id)
    rating = latest_rating(s, party_id)
    if rating is None:
        raise PartnerStateError.said(
            "assess_no_rating",
            "%(party)s has no credit rating: record a credit investigation and rate the party first",
            party=party.code,
        )
    exposure = exposure_in(s, party_id, on)
    alerts = _confirmed_alerts(s, party_id, on)
    level, why = level_for(
        rating.grade, exposure.max_overdue_days, exposure.utilisation_permille, alerts
    )
    basis: dict[str, Any] = {
        "grade": rating.grade,
        "score": rating.score,
        "rating_id": rating.id,
        "max_overdue_days": exposure.max_overdue_days,
        "utilisation_permille": exposure.utilisation_permille,
        "confirmed_alerts": alerts,
        "exposure_minor": exposure.total_minor,
        "limit_minor": exposure.limit_minor,
        "currency": exposure.currency,
        "why": list(why),
    }
    previous = assessment_in_force(s, party_id)
    row = CreditAssessment(
        party_id=party_id,
        level=level,
        cash_only=level == "high",
        basis_json=json.dumps(basis, sort_keys=True),
        action_json="{}",
        manual=False,
        reason="",
        assessed_on=on.isoformat(),
        assessed_by=actor.username,
        created_ms=now_ms(),
    )
    s.add(row)
    s.flush()
    action = _apply(s, party, row, rating.grade, basis, actor, on)
    action["cash_only_lifted"] = bool(previous and previous.cash_only and not row.cash_only)
    row.action_json = json.dumps(action, sort_keys=True)
    record(
        s,
        "credit.assessed",
        actor,
        party_id=party_id,
        detail={
            "assessment": row.id,
            "level": level,
            "previous_level": previous.level if previous else None,
            "cash_only": row.cash_only,
            "cash_only_lifted": action["cash_only_lifted"],
            "why": list(why),
            "limit_before": action["limit_before"],
            "limit_after": action["limit_after"],
        },
    )
    s.flush()
    return _view(row)


def _party_by_code(s: Session, code: str) -> Party:
    party = s.scalar(select(Party).where(Party.code == code))
    if party is None:
        raise PartnerNotFound.said("assess_no_party", "no party %(party)s", party=code)
    return party


def assess_party(
    engine: Engine, code: str, actor: Acting, *, on: dt.date | None = None
) -> AssessmentView:
    """:func:`assess_in` for the party ``code`` in a transaction of its own; ``on``
    defaults to today (UTC). Raises as :func:`assess_in`."""
    day = on or dt.datetime.now(dt.UTC).date()
    with Session(engine) as s, s.begin():
        return assess_in(s, _party_by_code(s, code).id, actor, day)


def assess_all(
    engine: Engine, actor: Acting, *, on: dt.date | None = None
) -> tuple[list[tuple[str, AssessmentView]], list[str]]:
    """Assess every distributor that has a rating, each in its own transaction:
    ``([(code, view)], codes skipped for having no rating)``, by code."""
    require(actor, *ASSESSORS, action="assess credit risk")
    day = on or dt.datetime.now(dt.UTC).date()
    with Session(engine) as s:
        parties = list(
            s.execute(
                select(Party.id, Party.code).where(Party.kind == "distributor").order_by(Party.code)
            ).all()
        )
    done: list[tuple[str, AssessmentView]] = []
    skipped: list[str] = []
    for pid, code in parties:
        with Session(engine) as s, s.begin():
            if latest_rating(s, pid) is None:
                skipped.append(code)
                continue
            done.append((code, assess_in(s, pid, actor, day)))
    return done, skipped


def reassess_changed_in(
    s: Session, actor: Acting, on: dt.date, *, party_ids: Collection[int] | None = None
) -> list[tuple[str, AssessmentView]]:
    """Follow behaviour: re-assess (:func:`assess_in`, so the matrix's action applies)
    every rated distributor whose level by its record on ``on`` (overdue days,
    utilisation, confirmed diversion) is not the level in force, and every rated one
    with no assessment yet. An assessment set by hand stands until the party is
    assessed or rated again. Run by the daily check (:func:`risk.thresholds.check`)
    so an item going 90 days overdue puts its party on cash only the same day.
    Returns ``(code, new assessment)`` per party re-assessed, by code; raises
    :class:`PartnerDenied` unless ``actor`` may assess."""
    require(actor, *ASSESSORS, action="assess credit risk")
    done: list[tuple[str, AssessmentView]] = []
    exposures = exposures_in(s, party_ids, on)
    for pid in sorted(exposures):
        rating = latest_rating(s, pid)
        if rating is None:
            continue
        current = assessment_in_force(s, pid)
        if current is not None and current.manual:
            continue
        e = exposures[pid]
        level, _ = level_for(
            rating.grade, e.max_overdue_days, e.utilisation_permille, _confirmed_alerts(s, pid, on)
        )
        if current is not None and current.level == level:
            continue
        view = assess_in(s, pid, actor, on)
        done.append((_party(s, pid).code, view))
    return sorted(done, key=lambda d: d[0])


def set_by_hand(
    engine: Engine, party_id: int, *, level: str, cash_only: bool, reason: str, actor: Acting
) -> AssessmentView:
    """Set the party's level and cash only by hand (finance, admin), with a reason.

    The basis keeps the figures of the assessment in force before (``previous``);
    no task, alert or limit change follows. Raises :class:`PartnerDenied` (403),
    :class:`PartnerNotFound` (404), :class:`partners.errors.PartnerError` (422) for a
    level not in :data:`LEVELS` (``assess_bad_level``) or an empty reason
    (``assess_no_reason``)."""
    require(actor, *HAND_SETTERS, action="set a credit risk level by hand")
    if level not in LEVELS:
        raise PartnerError.said(
            "assess_bad_level",
            "level: %(value)s is not one of high, medium, low",
            value=repr(level),
        )
    if not isinstance(cash_only, bool):
        raise PartnerError.said(
            "assess_bad_cash_only",
            "cash_only: %(value)s is not true or false",
            value=repr(cash_only),
        )
    why = (reason or "").strip()
    if not why:
        raise PartnerError.said("assess_no_reason", "reason: say why the level is set by hand")
    day = dt.datetime.now(dt.UTC).date()
    with Session(engine) as s, s.begin():
        _party(s, party_id)
        previous = assessment_in_force(s, party_id)
        basis: dict[str, Any] = {
            "by_hand": True,
            "previous": (
                {"id": previous.id, "level": previous.level, "cash_only": previous.cash_only}
                if previous
                else None
            ),
            "why": [],
        }
        lifted = bool(previous and previous.cash_only and not cash_only)
        row = CreditAssessment(
            party_id=party_id, level=level, cash_only=cash_only,
            basis_json=json.dumps(basis, sort_keys=True),
            action_json=json.dumps(
                {"cash_only": cash_only, "cash_only_lifted": lifted, "tasks": []}, sort_keys=True
            ),
            manual=True, reason=why, assessed_on=day.isoformat(), assessed_by=actor.username,
            created_ms=now_ms(),
        )  # fmt: skip
        s.add(row)
        s.flush()
        record(
            s,
            "credit.assessment_set",
            actor,
            party_id=party_id,
            detail={
                "assessment": row.id,
                "level": level,
                "cash_only": cash_only,
                "cash_only_lifted": lifted,
                "previous_level": previous.level if previous else None,
                "reason": why,
            },
        )
        return _view(row)


def assessment_history(
    engine: Engine, party_id: int, actor: Acting, *, offset: int = 0, limit: int = 50
) -> tuple[list[AssessmentView], int]:
    """The party's assessments newest first, ``(page, total)``. Raises
    :class:`PartnerDenied` for a role that reads no credit risk."""
    require(actor, *READERS, action="read credit risk assessments")
    q = select(CreditAssessment).where(CreditAssessment.party_id == party_id)
    order = (CreditAssessment.created_ms.desc(), CreditAssessment.id.desc())
    with Session(engine) as s:
        rows, total = page_rows(s, q, order, offset, limit)
        return [_view(r) for (r,) in rows], total
