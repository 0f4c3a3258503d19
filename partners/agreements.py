"""Agreements with partners and their workflow (issue 12, "Agreements").

The rules (seed 003, channel business rules, section 三 "渠道合作协议管理"):

- 协议起草 / 协议审核: the channel business department drafts the agreement (its
  scope, term, prices, settlement terms); the draft goes to a **legal review**
  (法务部门, law and legal risk) and then to a **business review** (业务部门,
  the terms from the business side). Here: draft -> ``legal_review`` ->
  ``business_review`` -> ``approved`` (ready to sign) -> ``signed``; a reviewer
  who does not approve returns the draft (status ``draft`` again, with the note).
- 协议签订: only an agreement that passed both reviews is signed; the signed
  original is filed (the PDF is required and kept with its SHA-256).
- 协议变更: a change is a written supplementary agreement (补充协议) signed
  through the same reviews; here a ``supplementary`` agreement restates the whole
  terms and, once signed, supersedes the agreement it amends from its own
  ``valid_from``. A signed agreement itself never changes.
- 协议续签: before expiry the department talks renewal with the partner and signs
  a new agreement through the same process: :func:`renew` drafts a ``renewal``
  copying the terms; :func:`reminders_due` raises a task for the partner manager
  60 and 30 days before an agreement in force ends.
- 协议终止: early termination on one of the grounds the rules name
  (:data:`GROUNDS`): material breach not cured after written notice
  (``material_breach``: the notice date and the cure deadline are required and
  the deadline must have passed), business failing (``failing_business``), serious
  violation of law (``violation_of_law``), force majeure (``force_majeure``), or by
  both parties' consent (``mutual_consent``).

Who does what (there is no legal department among the roles; the people who
draft and review must differ, "four eyes"):

- partner managers (and admin) draft, edit drafts, submit, sign, renew and
  terminate (:data:`WRITERS`);
- the legal review is a partner manager's or admin's (:data:`LEGAL_REVIEWERS`),
  the business review a finance user's, channel manager's or admin's
  (:data:`BUSINESS_REVIEWERS`); nobody reviews an agreement they drafted, edited
  or submitted, and the business reviewer is not the legal reviewer (people are
  compared by user id when both have one, else by name);
- partner managers, finance, channel managers, auditors and admin read
  (:data:`READERS`).

Signing and termination put the agreement's territory grants and program
enrolment in force, or end them, in the same transaction
(:func:`partners.in_force.apply_signed`, :func:`partners.in_force.end_in_force`).
Every change is audited (:func:`partners.audit.record`). Dates are ISO
``YYYY-MM-DD`` (validity dates inclusive), money is integer minor units of the
agreement's currency. Errors: :class:`~partners.values.InvalidField` (a term that
cannot be stored, naming the field: ``territories[1]``, ``valid_to``),
:class:`~partners.errors.PartnerNotFound`, :class:`~partners.errors.PartnerStateError`
(the status forbids it), :class:`~partners.errors.PartnerDenied` (role).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, column, func, select, table
from sqlalchemy.orm import Session

from geo.models import TerritoryRow
from ledger.models import Party
from partners.audit import EventView, history, now_ms, record
from partners.errors import Acting, PartnerNotFound, PartnerStateError, require
from partners.in_force import apply_signed, day_start_ms, end_in_force
from partners.models import (
    Agreement,
    AgreementDocument,
    AgreementProgram,
    AgreementReview,
    AgreementTerritory,
    PartnerEvent,
)
from partners.parties import party_by_code
from partners.tasks import TaskView, raise_task
from partners.values import InvalidField, check_currency, check_text

__all__ = [
    "BUSINESS_REVIEWERS",
    "GROUNDS",
    "KINDS",
    "LEGAL_REVIEWERS",
    "MAX_DOCUMENT_BYTES",
    "OPEN_STATUSES",
    "READERS",
    "REMINDER_DAYS",
    "STATUSES",
    "WRITERS",
    "AgreementChanges",
    "AgreementDetail",
    "AgreementInput",
    "AgreementView",
    "DocumentView",
    "Reminder",
    "ReviewView",
    "agreement_in_force",
    "draft",
    "draft_in",
    "get_agreement",
    "get_document",
    "page_agreements",
    "party_agreements",
    "reminders_due",
    "renew",
    "review",
    "sign",
    "submit",
    "terminate",
    "terminate_in",
    "terminate_party_agreements_in",
    "update_draft",
]

KINDS = ("main", "supplementary", "renewal")
#: Every status, in workflow order.
STATUSES = (
    "draft",
    "legal_review",
    "business_review",
    "approved",
    "signed",
    "superseded",
    "terminated",
)
#: Statuses of an agreement still on its way to signing.
OPEN_STATUSES = ("draft", "legal_review", "business_review", "approved")
#: The termination grounds of seed 003 (三(三)1), termination by consent, and the end
#: of a trial without admission.
GROUNDS = (
    "material_breach",
    "failing_business",
    "violation_of_law",
    "force_majeure",
    "mutual_consent",
    # the trial clause (seed 004: a trial period before admission): a trial that ends
    # without admission ends the agreement signed for it
    "trial_not_admitted",
)
WRITERS = ("partner_manager", "admin")
LEGAL_REVIEWERS = ("partner_manager", "admin")
BUSINESS_REVIEWERS = ("finance", "channel_manager", "admin")
READERS = ("partner_manager", "finance", "channel_manager", "auditor", "admin")
#: Days before an agreement in force ends when its partner manager is reminded.
REMINDER_DAYS = (60, 30)
#: The largest signed document kept (bytes).
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
#: Largest deposit or credit limit stored, in minor units (as settlement's limit).
MAX_MINOR = 10**15
MAX_TERMS_DAYS = 365
_AUTHOR_ACTIONS = ("agreement.drafted", "agreement.updated", "agreement.submitted")
_PROGRAMS = table("programs", column("code"))


# ------------------------------------------------------------------ inputs and views


@dataclass(frozen=True, slots=True)
class AgreementInput:
    """The terms of a new draft.

    ``kind`` main|supplementary|renewal; ``amends`` the number (or id) of the signed
    agreement a supplementary agreement or renewal changes; ``valid_from`` and
    ``valid_to`` inclusive ISO dates; ``currency`` ISO 4217 (None: the party's);
    ``territories`` stored ``geo`` territory codes; ``programs`` rebate program
    codes; ``deposit_minor`` and ``credit_limit_minor`` minor units of
    ``currency`` (0 or more); ``payment_terms_days`` 0-365. A term left None is,
    for a supplementary agreement or a renewal, the amended agreement's (a change
    restates only what changes), and for a main agreement none: no territory, no
    program, no deposit, no credit, 30 days."""

    valid_from: str
    valid_to: str
    kind: str = "main"
    amends: str | int | None = None
    currency: str | None = None
    territories: Sequence[str] | None = None
    programs: Sequence[str] | None = None
    deposit_minor: int | None = None
    credit_limit_minor: int | None = None
    payment_terms_days: int | None = None
    notes: str = ""


@dataclass(frozen=True, slots=True)
class AgreementChanges:
    """An edit of a draft: each term given replaces the draft's (None: unchanged)."""

    valid_from: str | None = None
    valid_to: str | None = None
    currency: str | None = None
    territories: Sequence[str] | None = None
    programs: Sequence[str] | None = None
    deposit_minor: int | None = None
    credit_limit_minor: int | None = None
    payment_terms_days: int | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class AgreementView:
    """An agreement as lists, pages and the API show it.

    ``in_force_to`` is the last day it is (or was) in force once signed: ``valid_to``,
    the day before the supplementary agreement or renewal that superseded it
    starts, or the day before its termination (None while unsigned; a day before
    ``valid_from`` when it never came into force)."""

    id: int
    number: str
    party_id: int
    party_code: str
    party_name: str
    kind: str
    amends_number: str | None
    version: int
    status: str
    valid_from: str
    valid_to: str
    currency: str
    deposit_minor: int
    credit_limit_minor: int
    payment_terms_days: int
    notes: str
    territories: tuple[str, ...]
    programs: tuple[str, ...]
    created_by: str
    created_ms: int
    signed_by: str
    signed_on: str | None
    terminated_on: str | None
    termination_ground: str
    termination_note: str
    in_force_to: str | None = None

    def days_left(self, today: dt.date) -> int | None:
        """Days from ``today`` to the last day in force (0: ends today; None unsigned)."""
        if self.in_force_to is None:
            return None
        return (dt.date.fromisoformat(self.in_force_to) - today).days


@dataclass(frozen=True, slots=True)
class ReviewView:
    stage: str  # legal|business
    decision: str  # approved|returned
    reviewer_name: str
    note: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class DocumentView:
    """The signed document's metadata (its bytes: :func:`get_document`)."""

    id: int
    filename: str
    content_type: str
    sha256: str
    size: int
    uploaded_by: str
    uploaded_ms: int


@dataclass(frozen=True, slots=True)
class AgreementDetail:
    """One agreement with its reviews (oldest first), documents, the agreements that
    amend or renew it, the one that superseded it, termination notice dates and its
    audit trail (newest first)."""

    agreement: AgreementView
    reviews: tuple[ReviewView, ...]
    documents: tuple[DocumentView, ...]
    amended_by: tuple[AgreementView, ...]
    superseded_by: str | None
    notice_on: str | None
    cure_by: str | None
    history: tuple[EventView, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Reminder:
    """An expiry reminder raised: the agreement, its last day and the task."""

    number: str
    party_code: str
    valid_to: str
    days_left: int
    threshold: int
    task: TaskView


@dataclass(frozen=True, slots=True)
class _System:
    """The actor of reminders run by the clock (the command line, the scheduler)."""

    username: str = "hopchain"
    role: str = "system"
    party_id: int | None = None
    user_id: int | None = None


# ------------------------------------------------------------------ value checks


def _check_day(value: object, field: str) -> str:
    """An ISO date ``YYYY-MM-DD`` of the calendar, as written."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise InvalidField.said(
        "agreement_not_date",
        "%(value)s is not a date like 2027-01-31 (YYYY-MM-DD)",
        field=field,
        value=repr(value),
    )


def _check_minor(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MINOR:
        raise InvalidField.said(
            "agreement_not_minor",
            "%(value)s is not a whole number of minor units from 0 to 10^15",
            field=field,
            value=repr(value),
        )
    return value


def _check_terms_days(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TERMS_DAYS:
        raise InvalidField.said(
            "agreement_terms_days",
            "%(value)s is not a number of days from 0 to 365",
            field="payment_terms_days",
            value=repr(value),
        )
    return value


def _check_codes(s: Session, codes: Sequence[str], field: str) -> list[str]:
    """The codes as given (stripped), each stored (territories or programs), no repeats."""
    if isinstance(codes, str):
        codes = [codes]
    cleaned: list[str] = []
    for i, code in enumerate(codes):
        if not isinstance(code, str) or not code.strip():
            raise InvalidField.said("agreement_code_empty", "is not a code", field=f"{field}[{i}]")
        text = code.strip()
        if text in cleaned:
            raise InvalidField.said(
                "agreement_code_twice",
                "%(code)s is named twice",
                field=f"{field}[{i}]",
                code=text,
            )
        cleaned.append(text)
    if not cleaned:
        return cleaned
    if field == "territories":
        known = set(s.scalars(select(TerritoryRow.code).where(TerritoryRow.code.in_(cleaned))))
    else:
        known = {
            str(c) for c in s.scalars(select(_PROGRAMS.c.code).where(_PROGRAMS.c.code.in_(cleaned)))
        }
    for i, code in enumerate(cleaned):
        if code not in known:
            if field == "territories":
                raise InvalidField.said(
                    "agreement_no_territory",
                    "%(code)s is not a stored territory (hopchain territories import FILE)",
                    field=f"{field}[{i}]",
                    code=code,
                )
            raise InvalidField.said(
                "agreement_no_program",
                "%(code)s is not a rebate program (Reference data > Programs)",
                field=f"{field}[{i}]",
                code=code,
            )
    return cleaned


def _check_span(valid_from: str, valid_to: str) -> None:
    if valid_to < valid_from:
        raise InvalidField.said(
            "agreement_ends_before",
            "%(valid_to)s is before valid_from %(valid_from)s",
            field="valid_to",
            valid_to=valid_to,
            valid_from=valid_from,
        )


# ------------------------------------------------------------------ reading


def _agreement(s: Session, ref: str | int) -> Agreement:
    """By number, or by id (an int, or a string of digits that is no number)."""
    found: Agreement | None = None
    if isinstance(ref, str):
        found = s.scalar(select(Agreement).where(Agreement.number == ref.strip()))
        if found is None and ref.strip().isdigit() and len(ref.strip()) <= 10:
            found = s.get(Agreement, int(ref.strip()))
    elif isinstance(ref, int) and not isinstance(ref, bool) and 0 < ref < 2**31:
        found = s.get(Agreement, ref)
    if found is None:
        raise PartnerNotFound.said("no_agreement", "no agreement %(agreement)s", agreement=str(ref))
    return found


def _signed_on(a: Agreement) -> str | None:
    if a.signed_ms is None:
        return None
    return dt.datetime.fromtimestamp(a.signed_ms / 1000, dt.UTC).date().isoformat()


def _previous_day(day: str) -> str:
    return (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()


def _views(s: Session, rows: Sequence[Agreement]) -> list[AgreementView]:
    """Views of ``rows`` in four queries whatever their number: parties, amended
    numbers, territories and programs, and the agreements that superseded them."""
    if not rows:
        return []
    ids = [a.id for a in rows]
    parties = {
        p.id: p for p in s.scalars(select(Party).where(Party.id.in_({a.party_id for a in rows})))
    }
    amended_ids = {a.amends_id for a in rows if a.amends_id is not None}
    numbers: dict[int, str] = {}
    if amended_ids:
        numbers = dict(
            s.execute(
                select(Agreement.id, Agreement.number).where(Agreement.id.in_(amended_ids))
            ).all()
        )
    territories: dict[int, list[str]] = defaultdict(list)
    for aid, code in s.execute(
        select(AgreementTerritory.agreement_id, AgreementTerritory.territory_code)
        .where(AgreementTerritory.agreement_id.in_(ids))
        .order_by(AgreementTerritory.territory_code)
    ):
        territories[aid].append(code)
    programs: dict[int, list[str]] = defaultdict(list)
    for aid, code in s.execute(
        select(AgreementProgram.agreement_id, AgreementProgram.program_code)
        .where(AgreementProgram.agreement_id.in_(ids))
        .order_by(AgreementProgram.program_code)
    ):
        programs[aid].append(code)
    successor: dict[int, str] = {}
    superseded = [a.id for a in rows if a.status == "superseded"]
    if superseded:
        for amends_id, valid_from in s.execute(
            select(Agreement.amends_id, Agreement.valid_from).where(
                Agreement.amends_id.in_(superseded), Agreement.signed_ms.is_not(None)
            )
        ):
            if amends_id is not None:
                successor[amends_id] = valid_from
    out = []
    for a in rows:
        party = parties[a.party_id]
        if a.status == "signed":
            until: str | None = a.valid_to
        elif a.status == "superseded" and a.id in successor:
            until = min(a.valid_to, _previous_day(successor[a.id]))
        elif a.status == "terminated" and a.terminated_on is not None:
            until = min(a.valid_to, _previous_day(a.terminated_on))
        else:
            until = None
        out.append(
            AgreementView(
                id=a.id,
                number=a.number,
                party_id=a.party_id,
                party_code=party.code,
                party_name=party.name,
                kind=a.kind,
                amends_number=numbers.get(a.amends_id) if a.amends_id is not None else None,
                version=a.version,
                status=a.status,
                valid_from=a.valid_from,
                valid_to=a.valid_to,
                currency=a.currency,
                deposit_minor=a.deposit_minor,
                credit_limit_minor=a.credit_limit_minor,
                payment_terms_days=a.payment_terms_days,
                notes=a.notes,
                territories=tuple(territories[a.id]),
                programs=tuple(programs[a.id]),
                created_by=a.created_by,
                created_ms=a.created_ms,
                signed_by=a.signed_by,
                signed_on=_signed_on(a),
                terminated_on=a.terminated_on,
                termination_ground=a.termination_ground,
                termination_note=a.termination_note,
                in_force_to=until,
            )
        )
    return out


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def page_agreements(
    engine: Engine,
    actor: Acting,
    *,
    party_code: str | None = None,
    status: str | None = None,
    expiring_within: int | None = None,
    today: dt.date | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[AgreementView], int]:
    """A page of agreements, newest first, and how many match in all.

    Filters: ``party_code``; ``status`` (one of :data:`STATUSES`); ``expiring_within``
    days: signed agreements whose ``valid_to`` lies from ``today`` (default: the UTC
    date) up to that many days later, soonest first. Five queries whatever the page
    size. Raises :class:`PartnerDenied` for a role outside :data:`READERS`,
    :class:`InvalidField` for an unknown status."""
    require(actor, *READERS, action="read agreements")
    if status is not None and status not in STATUSES:
        raise InvalidField.said(
            "not_a_choice",
            "%(value)s is not one of %(choices)s",
            field="status",
            value=repr(status),
            choices=", ".join(STATUSES),
        )
    q = select(Agreement)
    if party_code:
        q = q.join(Party, Party.id == Agreement.party_id).where(Party.code == party_code)
    if status is not None:
        q = q.where(Agreement.status == status)
    order: Any = (Agreement.created_ms.desc(), Agreement.id.desc())
    if expiring_within is not None:
        start = today or _today()
        end = start + dt.timedelta(days=max(expiring_within, 0))
        q = q.where(
            Agreement.status == "signed",
            Agreement.valid_to >= start.isoformat(),
            Agreement.valid_to <= end.isoformat(),
        )
        order = (Agreement.valid_to, Agreement.id)
    with Session(engine) as s:
        total = int(s.scalar(select(func.count()).select_from(q.subquery())) or 0)
        rows = list(s.scalars(q.order_by(*order).offset(offset).limit(limit)))
        return _views(s, rows), total


def party_agreements(engine: Engine, party_code: str, actor: Acting) -> list[AgreementView]:
    """Every agreement of a party, oldest version first (its history)."""
    require(actor, *READERS, action="read agreements")
    with Session(engine) as s:
        party = party_by_code(s, party_code)
        rows = list(
            s.scalars(
                select(Agreement)
                .where(Agreement.party_id == party.id)
                .order_by(Agreement.version, Agreement.id)
            )
        )
        return _views(s, rows)


def get_agreement(engine: Engine, number: str | int, actor: Acting) -> AgreementDetail:
    """One agreement with its reviews, documents, amendments and audit trail.

    Raises :class:`PartnerNotFound` for an unknown number (or id)."""
    require(actor, *READERS, action="read agreements")
    with Session(engine) as s:
        a = _agreement(s, number)
        (view,) = _views(s, [a])
        reviews = tuple(
            ReviewView(r.stage, r.decision, r.reviewer_name, r.note, r.at_ms)
            for r in s.scalars(
                select(AgreementReview)
                .where(AgreementReview.agreement_id == a.id)
                .order_by(AgreementReview.at_ms, AgreementReview.id)
            )
        )
        documents = tuple(
            DocumentView(
                d.id, d.filename, d.content_type, d.sha256, d.size, d.uploaded_by, d.uploaded_ms
            )
            for d in s.scalars(
                select(AgreementDocument)
                .where(AgreementDocument.agreement_id == a.id)
                .order_by(AgreementDocument.id)
            )
        )
        later = _views(
            s,
            list(
                s.scalars(
                    select(Agreement).where(Agreement.amends_id == a.id).order_by(Agreement.id)
                )
            ),
        )
        superseded_by = (
            next((v.number for v in later if v.signed_on is not None), None)
            if a.status == "superseded"
            else None
        )
        trail = tuple(history(s, agreement_id=a.id))
        notice_on = cure_by = None
        for event in trail:
            if event.action == "agreement.terminated":
                notice_on = event.detail.get("notice_on")
                cure_by = event.detail.get("cure_by")
                break
        return AgreementDetail(
            view, reviews, documents, tuple(later), superseded_by, notice_on, cure_by, trail
        )


def get_document(engine: Engine, number: str | int, actor: Acting) -> tuple[DocumentView, bytes]:
    """The signed document of an agreement and its bytes (the latest uploaded).

    Raises :class:`PartnerNotFound` for an unknown agreement or one without a document."""
    require(actor, *READERS, action="read agreements")
    with Session(engine) as s:
        a = _agreement(s, number)
        d = s.scalar(
            select(AgreementDocument)
            .where(AgreementDocument.agreement_id == a.id)
            .order_by(AgreementDocument.id.desc())
            .limit(1)
        )
        if d is None:
            raise PartnerNotFound.said(
                "agreement_no_document",
                "agreement %(agreement)s has no signed document",
                agreement=a.number,
            )
        view = DocumentView(
            d.id, d.filename, d.content_type, d.sha256, d.size, d.uploaded_by, d.uploaded_ms
        )
        return view, bytes(d.data)


def _in_force(views: Iterable[AgreementView], day: str) -> AgreementView | None:
    for v in views:
        if v.in_force_to is not None and v.valid_from <= day <= v.in_force_to:
            return v
    return None


def agreement_in_force(
    engine: Engine, party_code: str, day: str, actor: Acting
) -> AgreementView | None:
    """The signed agreement of the party in force on ISO date ``day`` (None: none).

    An agreement is in force from ``valid_from`` to its ``in_force_to``
    (:class:`AgreementView`): signing never lets two overlap."""
    require(actor, *READERS, action="read agreements")
    when = _check_day(day, "day")
    with Session(engine) as s:
        party = party_by_code(s, party_code)
        rows = list(
            s.scalars(
                select(Agreement).where(
                    Agreement.party_id == party.id,
                    Agreement.signed_ms.is_not(None),
                    Agreement.valid_from <= when,
                )
            )
        )
        return _in_force(_views(s, rows), when)


# ------------------------------------------------------------------ the workflow


def _same_person(name_a: str, uid_a: int | None, name_b: str, uid_b: int | None) -> bool:
    """Two actors are the same person: the same user id when both have one, else the
    same name (the command line and the demo act without a user id)."""
    if uid_a is not None and uid_b is not None:
        return uid_a == uid_b
    return name_a == name_b


def _store_terms(
    s: Session,
    a: Agreement,
    *,
    territories: Sequence[str] | None,
    programs: Sequence[str] | None,
) -> None:
    if territories is not None:
        for old in s.scalars(
            select(AgreementTerritory).where(AgreementTerritory.agreement_id == a.id)
        ):
            s.delete(old)
        s.flush()
        for code in territories:
            s.add(AgreementTerritory(agreement_id=a.id, territory_code=code))
    if programs is not None:
        for oldp in s.scalars(
            select(AgreementProgram).where(AgreementProgram.agreement_id == a.id)
        ):
            s.delete(oldp)
        s.flush()
        for code in programs:
            s.add(AgreementProgram(agreement_id=a.id, program_code=code))


def _terms_dict(
    a: Agreement, territories: Sequence[str], programs: Sequence[str]
) -> dict[str, Any]:
    return {
        "valid_from": a.valid_from,
        "valid_to": a.valid_to,
        "currency": a.currency,
        "territories": sorted(territories),
        "programs": sorted(programs),
        "deposit_minor": a.deposit_minor,
        "credit_limit_minor": a.credit_limit_minor,
        "payment_terms_days": a.payment_terms_days,
        "notes": a.notes,
    }


def _codes(s: Session, model: Any, attr: str, agreement_id: int) -> list[str]:
    return [
        str(c)
        for c in s.scalars(select(getattr(model, attr)).where(model.agreement_id == agreement_id))
    ]


def _number(s: Session, party: Party, kind: str, amended: Agreement | None) -> str:
    if kind == "supplementary" and amended is not None:
        root = amended
        while root.kind == "supplementary" and root.amends_id is not None:
            parent = s.get(Agreement, root.amends_id)
            if parent is None:
                break
            root = parent
        taken = set(
            s.scalars(select(Agreement.number).where(Agreement.number.like(f"{root.number}-S%")))
        )
        n = 1
        while f"{root.number}-S{n}" in taken:
            n += 1
        return f"{root.number}-S{n}"
    taken = set(s.scalars(select(Agreement.number).where(Agreement.party_id == party.id)))
    n = 1
    while f"AG-{party.code}-{n:03d}" in taken:
        n += 1
    return f"AG-{party.code}-{n:03d}"


@dataclass(frozen=True, slots=True)
class _Carried:
    """The terms a new agreement starts from (an amended agreement's, or none)."""

    currency: str | None = None
    territories: Sequence[str] = ()
    programs: Sequence[str] = ()
    deposit_minor: int = 0
    credit_limit_minor: int = 0
    payment_terms_days: int = 30


def _carried_terms(s: Session, amended: Agreement | None) -> _Carried:
    """What a supplementary agreement or renewal of ``amended`` starts from: its
    currency, territories, programs, deposit, credit limit and payment terms (a
    main agreement starts from none of them)."""
    if amended is None:
        return _Carried()
    return _Carried(
        currency=amended.currency,
        territories=_codes(s, AgreementTerritory, "territory_code", amended.id),
        programs=_codes(s, AgreementProgram, "program_code", amended.id),
        deposit_minor=amended.deposit_minor,
        credit_limit_minor=amended.credit_limit_minor,
        payment_terms_days=amended.payment_terms_days,
    )


#: Party statuses that take no new agreement (an exit is under way or done).
CLOSED_PARTY_STATUSES = ("exiting", "terminated")


def _check_party_open(party: Party) -> None:
    """Refuse a new agreement, or a signature, for a party that is leaving or gone."""
    if party.status in CLOSED_PARTY_STATUSES:
        raise PartnerStateError.said(
            "agreement_party_closed",
            "%(party)s is %(status)s: it takes no new agreement",
            party=party.code,
            status=party.status,
        )


def draft(engine: Engine, party_code: str, terms: AgreementInput, actor: Acting) -> str:
    """Draft an agreement for the party in a transaction of its own; returns its
    number (:func:`draft_in` says the rules and errors)."""
    with Session(engine) as s, s.begin():
        return draft_in(s, party_code, terms, actor)


def draft_in(s: Session, party_code: str, terms: AgreementInput, actor: Acting) -> str:
    """Draft an agreement for the party in ``s``'s transaction (signing a prospect
    drafts its main agreement this way); returns its number.

    Numbers: ``AG-<PARTY>-001`` for a main agreement or a renewal (counting up per
    party), ``<amended main number>-S1`` for a supplementary agreement (counting up
    per main agreement). ``version`` counts the party's agreements (1, 2, ...).
    A supplementary agreement or renewal names the signed agreement it changes
    (``amends``); it may not start before that one, nor after it ends (a renewal
    starts after the renewed agreement ends), and only one may be on its way at a
    time. Raises :class:`InvalidField` naming the bad term, :class:`PartnerNotFound`
    for an unknown party or amended agreement, :class:`PartnerStateError` when the
    amended agreement is not signed or already has an open amendment."""
    require(actor, *WRITERS, action="draft agreements")
    if terms.kind not in KINDS:
        raise InvalidField.said(
            "not_a_choice",
            "%(value)s is not one of %(choices)s",
            field="kind",
            value=repr(terms.kind),
            choices=", ".join(KINDS),
        )
    valid_from = _check_day(terms.valid_from, "valid_from")
    valid_to = _check_day(terms.valid_to, "valid_to")
    _check_span(valid_from, valid_to)
    notes = check_text(terms.notes, "notes", required=False, max_length=10_000)
    party = party_by_code(s, party_code)
    _check_party_open(party)
    amended: Agreement | None = None
    if terms.kind == "main":
        if terms.amends not in (None, ""):
            raise InvalidField.said(
                "agreement_main_amends",
                "a main agreement amends nothing; draft a supplementary agreement or a renewal",
                field="amends",
            )
    else:
        if terms.amends in (None, ""):
            raise InvalidField.said(
                "agreement_amends_missing",
                "a %(kind)s agreement names the signed agreement it changes",
                field="amends",
                kind=terms.kind,
            )
        assert terms.amends is not None
        amended = _agreement(s, terms.amends)
        _check_amendable(s, amended, party, terms.kind, valid_from)
    # a change restates only what changes: the amended agreement's terms carry over
    before = _carried_terms(s, amended)
    deposit = _check_minor(
        before.deposit_minor if terms.deposit_minor is None else terms.deposit_minor,
        "deposit_minor",
    )
    credit = _check_minor(
        before.credit_limit_minor if terms.credit_limit_minor is None else terms.credit_limit_minor,
        "credit_limit_minor",
    )
    days = _check_terms_days(
        before.payment_terms_days if terms.payment_terms_days is None else terms.payment_terms_days
    )
    currency = (
        (before.currency or party.currency)
        if terms.currency in (None, "")
        else check_currency(str(terms.currency))
    )
    territories = _check_codes(
        s, before.territories if terms.territories is None else terms.territories, "territories"
    )
    programs = _check_codes(
        s, before.programs if terms.programs is None else terms.programs, "programs"
    )
    version = (
        int(
            s.scalar(select(func.max(Agreement.version)).where(Agreement.party_id == party.id)) or 0
        )
        + 1
    )
    a = Agreement(
        party_id=party.id,
        number=_number(s, party, terms.kind, amended),
        kind=terms.kind,
        amends_id=None if amended is None else amended.id,
        version=version,
        status="draft",
        valid_from=valid_from,
        valid_to=valid_to,
        currency=currency,
        deposit_minor=deposit,
        credit_limit_minor=credit,
        payment_terms_days=days,
        notes=notes,
        created_by=actor.username,
        created_ms=now_ms(),
    )
    s.add(a)
    s.flush()
    _store_terms(s, a, territories=territories, programs=programs)
    detail = {"kind": a.kind, **_terms_dict(a, territories, programs)}
    if amended is not None:
        detail["amends"] = amended.number
    record(s, "agreement.drafted", actor, party_id=party.id, agreement_id=a.id, detail=detail)
    return a.number


def _check_amendable(
    s: Session, amended: Agreement, party: Party, kind: str, valid_from: str
) -> None:
    """A supplementary agreement or renewal of ``party`` may change ``amended``."""
    if amended.party_id != party.id:
        raise InvalidField.said(
            "agreement_other_party",
            "agreement %(agreement)s is not an agreement of %(party)s",
            field="amends",
            agreement=amended.number,
            party=party.code,
        )
    if amended.status != "signed":
        raise PartnerStateError.said(
            "agreement_amend_unsigned",
            "agreement %(agreement)s is %(status)s; only a signed agreement in force is"
            " amended or renewed",
            agreement=amended.number,
            status=amended.status,
        )
    pending = s.scalar(
        select(Agreement.number).where(
            Agreement.amends_id == amended.id, Agreement.status.in_(OPEN_STATUSES)
        )
    )
    if pending is not None:
        raise PartnerStateError.said(
            "agreement_amend_pending",
            "agreement %(agreement)s already has %(pending)s on its way; finish or edit that one",
            agreement=amended.number,
            pending=pending,
        )
    _check_amendable_dates(amended, kind, valid_from)


def _editable(a: Agreement, action: str) -> None:
    """Refuse to edit or submit (``action``) an agreement that is no draft."""
    if a.status == "draft":
        return
    if action == "edited":
        raise PartnerStateError.said(
            "agreement_not_draft",
            "agreement %(agreement)s is %(status)s; only a draft can be edited",
            agreement=a.number,
            status=a.status,
        )
    raise PartnerStateError.said(
        "agreement_not_draft_submit",
        "agreement %(agreement)s is %(status)s; only a draft can be submitted",
        agreement=a.number,
        status=a.status,
    )


def update_draft(
    engine: Engine, number: str | int, changes: AgreementChanges, actor: Acting
) -> AgreementView:
    """Change a draft's terms (a returned draft too); a submitted or signed agreement
    is refused (:class:`PartnerStateError` naming its status: a signed agreement
    changes only through a supplementary agreement). Audited with the changes."""
    require(actor, *WRITERS, action="edit agreements")
    with Session(engine) as s, s.begin():
        a = _agreement(s, number)
        _editable(a, "edited")
        territories_before = _codes(s, AgreementTerritory, "territory_code", a.id)
        programs_before = _codes(s, AgreementProgram, "program_code", a.id)
        before = _terms_dict(a, territories_before, programs_before)
        valid_from = (
            a.valid_from
            if changes.valid_from is None
            else _check_day(changes.valid_from, "valid_from")
        )
        valid_to = (
            a.valid_to if changes.valid_to is None else _check_day(changes.valid_to, "valid_to")
        )
        _check_span(valid_from, valid_to)
        if changes.deposit_minor is not None:
            a.deposit_minor = _check_minor(changes.deposit_minor, "deposit_minor")
        if changes.credit_limit_minor is not None:
            a.credit_limit_minor = _check_minor(changes.credit_limit_minor, "credit_limit_minor")
        if changes.payment_terms_days is not None:
            a.payment_terms_days = _check_terms_days(changes.payment_terms_days)
        if changes.notes is not None:
            a.notes = check_text(changes.notes, "notes", required=False, max_length=10_000)
        if changes.currency is not None:
            a.currency = check_currency(changes.currency)
        territories = (
            None
            if changes.territories is None
            else _check_codes(s, changes.territories, "territories")
        )
        programs = (
            None if changes.programs is None else _check_codes(s, changes.programs, "programs")
        )
        if a.amends_id is not None and (valid_from, valid_to) != (a.valid_from, a.valid_to):
            amended = s.get(Agreement, a.amends_id)
            if amended is not None:
                _check_amendable_dates(amended, a.kind, valid_from)
        a.valid_from, a.valid_to = valid_from, valid_to
        _store_terms(s, a, territories=territories, programs=programs)
        after = _terms_dict(
            a,
            territories_before if territories is None else territories,
            programs_before if programs is None else programs,
        )
        diff = {k: [before[k], v] for k, v in after.items() if before[k] != v}
        if diff:
            record(
                s, "agreement.updated", actor, party_id=a.party_id, agreement_id=a.id, detail=diff
            )
        s.flush()
        (view,) = _views(s, [a])
        return view


def _check_amendable_dates(amended: Agreement, kind: str, valid_from: str) -> None:
    if kind == "supplementary" and not amended.valid_from <= valid_from <= amended.valid_to:
        raise InvalidField.said(
            "agreement_supplement_span",
            "%(valid_from)s is outside agreement %(agreement)s (%(start)s to %(end)s); a"
            " supplementary agreement takes effect while the agreement it changes is valid",
            field="valid_from",
            valid_from=valid_from,
            agreement=amended.number,
            start=amended.valid_from,
            end=amended.valid_to,
        )
    if kind == "renewal" and valid_from <= amended.valid_from:
        raise InvalidField.said(
            "agreement_renewal_span",
            "%(valid_from)s is not after the start of agreement %(agreement)s (%(start)s);"
            " a renewal follows the agreement it renews",
            field="valid_from",
            valid_from=valid_from,
            agreement=amended.number,
            start=amended.valid_from,
        )


def submit(engine: Engine, number: str | int, actor: Acting) -> AgreementView:
    """Send a draft to its legal review (status ``legal_review``)."""
    require(actor, *WRITERS, action="submit agreements")
    with Session(engine) as s, s.begin():
        a = _agreement(s, number)
        _editable(a, "submitted")
        _refuse_overlap(s, a)
        a.status = "legal_review"
        record(
            s, "agreement.submitted", actor, party_id=a.party_id, agreement_id=a.id,
            detail={"status": ["draft", "legal_review"]},
        )  # fmt: skip
        s.flush()
        (view,) = _views(s, [a])
        return view


def review(
    engine: Engine, number: str | int, stage: str, approve: bool, note: str, actor: Acting
) -> AgreementView:
    """Record the legal or business review of a submitted agreement.

    ``stage`` ``legal`` (status must be ``legal_review``; reviewers
    :data:`LEGAL_REVIEWERS`) or ``business`` (status ``business_review``;
    :data:`BUSINESS_REVIEWERS`). Approving moves it on (``business_review``, then
    ``approved``: ready to sign); returning (``approve`` false, a ``note`` saying
    why is required) sends it back to ``draft``. The reviewer may not be anyone who
    drafted, edited or submitted it, and the business reviewer not the legal one
    (:class:`PartnerStateError`, four eyes)."""
    if stage not in ("legal", "business"):
        raise InvalidField.said(
            "not_a_choice",
            "%(value)s is not one of %(choices)s",
            field="stage",
            value=repr(stage),
            choices="legal, business",
        )
    if stage == "legal":
        require(actor, *LEGAL_REVIEWERS, action="give the legal review of agreements")
    else:
        require(actor, *BUSINESS_REVIEWERS, action="give the business review of agreements")
    note = check_text(note, "note", required=not approve, max_length=10_000)
    with Session(engine) as s, s.begin():
        a = _agreement(s, number)
        expected = f"{stage}_review"
        if a.status != expected:
            if stage == "legal":
                raise PartnerStateError.said(
                    "agreement_not_in_legal_review",
                    "agreement %(agreement)s is %(status)s, not waiting for its legal review",
                    agreement=a.number,
                    status=a.status,
                )
            raise PartnerStateError.said(
                "agreement_not_in_business_review",
                "agreement %(agreement)s is %(status)s, not waiting for its business review",
                agreement=a.number,
                status=a.status,
            )
        for who, uid in s.execute(
            select(PartnerEvent.actor_name, PartnerEvent.actor_user_id).where(
                PartnerEvent.agreement_id == a.id, PartnerEvent.action.in_(_AUTHOR_ACTIONS)
            )
        ):
            if _same_person(who, uid, actor.username, actor.user_id):
                raise PartnerStateError.said(
                    "agreement_own_review",
                    "%(user)s drafted, edited or submitted agreement %(agreement)s; another"
                    " person reviews it",
                    user=actor.username,
                    agreement=a.number,
                )
        if stage == "business":
            legal = s.scalar(
                select(AgreementReview)
                .where(
                    AgreementReview.agreement_id == a.id,
                    AgreementReview.stage == "legal",
                    AgreementReview.decision == "approved",
                )
                .order_by(AgreementReview.id.desc())
                .limit(1)
            )
            if legal is not None and _same_person(
                legal.reviewer_name, legal.reviewer_user_id, actor.username, actor.user_id
            ):
                raise PartnerStateError.said(
                    "agreement_second_review",
                    "%(user)s gave the legal review of agreement %(agreement)s; another person"
                    " gives the business review",
                    user=actor.username,
                    agreement=a.number,
                )
        decision = "approved" if approve else "returned"
        s.add(
            AgreementReview(
                agreement_id=a.id,
                stage=stage,
                decision=decision,
                reviewer_name=actor.username,
                reviewer_user_id=actor.user_id,
                note=note,
                at_ms=now_ms(),
            )
        )
        before = a.status
        if not approve:
            a.status = "draft"
        else:
            a.status = "business_review" if stage == "legal" else "approved"
        record(
            s, "agreement.reviewed", actor, party_id=a.party_id, agreement_id=a.id,
            detail={"stage": stage, "decision": decision, "note": note,
                    "status": [before, a.status]},
        )  # fmt: skip
        s.flush()
        (view,) = _views(s, [a])
        return view


def _check_document(document: tuple[str, bytes] | None) -> tuple[str, bytes]:
    if document is None or not document[1]:
        raise InvalidField.said(
            "agreement_document_missing",
            "the signed agreement (a PDF file) is required",
            field="document",
        )
    name, data = document
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InvalidField.said(
            "agreement_document_large",
            "%(size)s bytes is more than the %(limit)s bytes kept",
            field="document",
            size=len(data),
            limit=MAX_DOCUMENT_BYTES,
        )
    if not data.startswith(b"%PDF-"):
        raise InvalidField.said(
            "agreement_document_not_pdf",
            "%(name)s is not a PDF file",
            field="document",
            name=name or "document",
        )
    filename = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip() or "agreement.pdf"
    return filename[-200:], data


def _windows_overlap(s: Session, a: Agreement) -> str | None:
    """The number of another agreement of the party in force on a day of ``a``'s
    validity (the agreement ``a`` amends counts only up to ``a``'s start)."""
    others = list(
        s.scalars(
            select(Agreement).where(
                Agreement.party_id == a.party_id,
                Agreement.id != a.id,
                Agreement.signed_ms.is_not(None),
                Agreement.valid_from <= a.valid_to,
            )
        )
    )
    for v in _views(s, others):
        if v.in_force_to is None:
            continue
        end = v.in_force_to
        if v.id == a.amends_id:
            end = min(end, _previous_day(a.valid_from))
        if v.valid_from <= a.valid_to and a.valid_from <= end:
            return v.number
    return None


def _refuse_overlap(s: Session, a: Agreement) -> None:
    """Refuse ``a`` (at submission, before anyone reviews it, and again at signing)
    while another agreement of its party is in force on a day of its validity."""
    clash = _windows_overlap(s, a)
    if clash is not None:
        raise PartnerStateError.said(
            "agreement_overlap",
            "agreement %(other)s of the same party is in force during %(agreement)s; change"
            " it by a supplementary agreement or terminate it first",
            other=clash,
            agreement=a.number,
        )


def sign(
    engine: Engine,
    number: str | int,
    signed_on: str,
    actor: Acting,
    document: tuple[str, bytes] | None,
    *,
    today: dt.date | None = None,
) -> AgreementView:
    """Sign an agreement that passed both reviews (status ``approved``) on
    ``signed_on`` (an ISO date, not after ``today``), keeping its signed PDF
    ``document`` (``(filename, bytes)``, required, starting ``%PDF-``, at most
    :data:`MAX_DOCUMENT_BYTES`) with its SHA-256, and put it in force
    (:func:`partners.in_force.apply_signed`: territory grants and program enrolment
    for its validity; an amended or renewed agreement becomes ``superseded`` from
    this one's ``valid_from``), all in one transaction.

    Refused (:class:`PartnerStateError`) when it is not approved, or when another
    agreement of the party would be in force on one of its days (a change of terms
    is a supplementary agreement)."""
    require(actor, *WRITERS, action="sign agreements")
    day = _check_day(signed_on, "signed_on")
    if day > (today or _today()).isoformat():
        raise InvalidField.said(
            "agreement_signed_future",
            "%(day)s is after today (%(today)s)",
            field="signed_on",
            day=day,
            today=(today or _today()).isoformat(),
        )
    filename, data = _check_document(document)
    with Session(engine) as s, s.begin():
        a = _agreement(s, number)
        if a.status != "approved":
            raise PartnerStateError.said(
                "agreement_not_approved",
                "agreement %(agreement)s is %(status)s; only an agreement that passed the legal"
                " and business reviews is signed",
                agreement=a.number,
                status=a.status,
            )
        signer = s.get(Party, a.party_id)
        assert signer is not None
        _check_party_open(signer)
        if a.amends_id is not None:
            amended = s.get(Agreement, a.amends_id)
            if amended is None or amended.status != "signed":
                raise PartnerStateError.said(
                    "agreement_amended_gone",
                    "agreement %(agreement)s changes %(amended)s, which is %(status)s now",
                    agreement=a.number,
                    amended="?" if amended is None else amended.number,
                    status="missing" if amended is None else amended.status,
                )
        _refuse_overlap(s, a)
        digest = hashlib.sha256(data).hexdigest()
        s.add(
            AgreementDocument(
                agreement_id=a.id,
                filename=filename,
                content_type="application/pdf",
                sha256=digest,
                size=len(data),
                data=data,
                uploaded_by=actor.username,
                uploaded_ms=now_ms(),
            )
        )
        a.status = "signed"
        a.signed_by = actor.username
        a.signed_ms = day_start_ms(day)
        record(
            s, "agreement.signed", actor, party_id=a.party_id, agreement_id=a.id,
            detail={"signed_on": day, "document": filename, "sha256": digest, "size": len(data),
                    "status": ["approved", "signed"]},
        )  # fmt: skip
        apply_signed(s, a, actor)
        s.flush()
        (view,) = _views(s, [a])
        return view


def renew(engine: Engine, number: str | int, valid_to: str, actor: Acting) -> str:
    """Draft the renewal of a signed agreement: the same terms from the day after it
    ends until ``valid_to``; returns the renewal's number (it goes through the same
    reviews and signing)."""
    require(actor, *WRITERS, action="renew agreements")
    with Session(engine) as s:
        a = _agreement(s, number)
        party = s.get(Party, a.party_id)
        assert party is not None
        terms = AgreementInput(
            kind="renewal",
            amends=a.number,
            valid_from=(dt.date.fromisoformat(a.valid_to) + dt.timedelta(days=1)).isoformat(),
            valid_to=valid_to,
            currency=a.currency,
            territories=tuple(_codes(s, AgreementTerritory, "territory_code", a.id)),
            programs=tuple(_codes(s, AgreementProgram, "program_code", a.id)),
            deposit_minor=a.deposit_minor,
            credit_limit_minor=a.credit_limit_minor,
            payment_terms_days=a.payment_terms_days,
            notes=a.notes,
        )
        code = party.code
    return draft(engine, code, terms, actor)


def terminate(
    engine: Engine,
    number: str | int,
    ground: str,
    terminated_on: str,
    note: str,
    actor: Acting,
    *,
    notice_on: str | None = None,
    cure_by: str | None = None,
    today: dt.date | None = None,
) -> AgreementView:
    """:func:`terminate_in` of agreement ``number`` (its number or id) in a
    transaction of its own; returns the terminated agreement. Raises what
    :func:`terminate_in` raises, and :class:`PartnerNotFound` for no such
    agreement."""
    require(actor, *WRITERS, action="terminate agreements")
    with Session(engine) as s, s.begin():
        a = _agreement(s, number)
        terminate_in(
            s, a, ground, terminated_on, note, actor, notice_on=notice_on, cure_by=cure_by,
            today=today,
        )  # fmt: skip
        s.flush()
        (view,) = _views(s, [a])
        return view


def terminate_in(
    s: Session,
    a: Agreement,
    ground: str,
    terminated_on: str,
    note: str,
    actor: Acting,
    *,
    notice_on: str | None = None,
    cure_by: str | None = None,
    today: dt.date | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Terminate the signed agreement ``a`` early, inside ``s``'s transaction: from
    ``terminated_on`` (ISO date, within its validity) it is no longer in force; its
    grants and enrolments end at 00:00 UTC of that day
    (:func:`partners.in_force.end_in_force`). Audited ``agreement.terminated``
    (``ground``, ``terminated_on``, ``note``, the notice and cure dates of a
    breach, ``status`` signed -> terminated, and whatever ``detail`` adds, such as
    the exit that ended it).

    ``ground`` is one of :data:`GROUNDS`; ``note`` says what happened (required).
    ``material_breach`` needs the written notice's date ``notice_on`` and the cure
    deadline ``cure_by`` (not before the notice), and the deadline must have passed
    (before ``today``, default the UTC date): the rules terminate a breach only
    when it was not cured after notice (seed 003 三(三)1). Raises
    :class:`InvalidField` for a bad ground or date, :class:`PartnerStateError` for
    an agreement not signed, :class:`PartnerDenied`."""
    require(actor, *WRITERS, action="terminate agreements")
    if ground not in GROUNDS:
        raise InvalidField.said(
            "not_a_choice",
            "%(value)s is not one of %(choices)s",
            field="ground",
            value=repr(ground),
            choices=", ".join(GROUNDS),
        )
    end = _check_day(terminated_on, "terminated_on")
    note = check_text(note, "note", max_length=10_000)
    now = (today or _today()).isoformat()
    audit: dict[str, Any] = {"ground": ground, "terminated_on": end, "note": note}
    if ground == "material_breach":
        if notice_on in (None, ""):
            raise InvalidField.said(
                "agreement_notice_missing",
                "a material breach is terminated only after written notice: give its date",
                field="notice_on",
            )
        if cure_by in (None, ""):
            raise InvalidField.said(
                "agreement_cure_missing",
                "a material breach is terminated only once the deadline to cure it has"
                " passed: give the deadline",
                field="cure_by",
            )
        notice = _check_day(notice_on, "notice_on")
        cure = _check_day(cure_by, "cure_by")
        if cure < notice:
            raise InvalidField.said(
                "agreement_cure_before_notice",
                "%(day)s is before the notice of %(notice)s",
                field="cure_by",
                day=cure,
                notice=notice,
            )
        if cure >= now:
            raise InvalidField.said(
                "agreement_cure_pending",
                "the partner may cure the breach until %(deadline)s; terminate after that"
                " day if it was not cured",
                field="cure_by",
                deadline=cure,
            )
        if end <= cure:
            raise InvalidField.said(
                "agreement_end_before_cure",
                "%(day)s is not after the cure deadline %(deadline)s",
                field="terminated_on",
                day=end,
                deadline=cure,
            )
        audit.update(notice_on=notice, cure_by=cure)
    if a.status != "signed":
        raise PartnerStateError.said(
            "agreement_not_signed",
            "agreement %(agreement)s is %(status)s; only a signed agreement in force is terminated",
            agreement=a.number,
            status=a.status,
        )
    if not a.valid_from <= end <= a.valid_to:
        raise InvalidField.said(
            "agreement_end_outside",
            "%(day)s is outside agreement %(agreement)s (%(start)s to %(end)s)",
            field="terminated_on",
            day=end,
            agreement=a.number,
            start=a.valid_from,
            end=a.valid_to,
        )
    a.status = "terminated"
    a.terminated_on = end
    a.termination_ground = ground
    a.termination_note = note
    audit["status"] = ["signed", "terminated"]
    audit.update(detail or {})
    record(s, "agreement.terminated", actor, party_id=a.party_id, agreement_id=a.id,
           detail=audit)  # fmt: skip
    end_in_force(s, a, day_start_ms(end), actor)


def terminate_party_agreements_in(
    s: Session,
    party_id: int,
    ground: str,
    on: str,
    note: str,
    actor: Acting,
    **terms: Any,
) -> list[str]:
    """Terminate (:func:`terminate_in`, in ``s``'s transaction) every signed agreement
    of the party still to run on ``on`` (an ISO date): from ``on``, or from its first
    day when it starts later (so it is never in force). ``terms`` are passed on
    (``notice_on``, ``cure_by``, ``today``, ``detail``). Returns the numbers ended.
    The exit's completion and a trial that ends without admission both use it."""
    ended = []
    for a in s.scalars(
        select(Agreement)
        .where(
            Agreement.party_id == party_id,
            Agreement.status == "signed",
            Agreement.valid_to >= on,
        )
        .order_by(Agreement.id)
    ):
        terminate_in(s, a, ground, max(on, a.valid_from), note, actor, **terms)
        ended.append(a.number)
    return ended


def reminders_due(
    engine: Engine,
    today: dt.date | None = None,
    days: Sequence[int] = REMINDER_DAYS,
    actor: Acting | None = None,
) -> list[Reminder]:
    """Raise an ``agreement_expiry`` task (:func:`partners.tasks.raise_task`) for each
    signed agreement whose validity ends within ``max(days)`` days of ``today``
    (default: the UTC date) and that was not reminded yet at the same threshold
    (60 days, then again at 30); returns the reminders raised now.

    A task is keyed by the agreement's number, so there is one open task per
    agreement; running this again the same day (or at the same threshold) raises
    nothing. An agreement already renewed (superseded) or terminated is not
    reminded. The rule: seed 003 三(三)2, renewal is discussed before expiry."""
    who = actor or _System()
    day = today or _today()
    thresholds = sorted({int(d) for d in days if int(d) >= 0})
    if not thresholds:
        return []
    horizon = (day + dt.timedelta(days=thresholds[-1])).isoformat()

    def threshold_of(days_left: int) -> int | None:
        return next((t for t in thresholds if days_left <= t), None)

    out: list[Reminder] = []
    with Session(engine) as s, s.begin():
        rows = list(
            s.scalars(
                select(Agreement)
                .where(
                    Agreement.status == "signed",
                    Agreement.valid_to >= day.isoformat(),
                    Agreement.valid_to <= horizon,
                )
                .order_by(Agreement.valid_to, Agreement.id)
            )
        )
        for a, view in zip(rows, _views(s, rows), strict=True):
            end = dt.date.fromisoformat(a.valid_to)
            left = (end - day).days
            now_threshold = threshold_of(left)
            if now_threshold is None:
                continue
            if a.reminded_ms is not None:
                reminded_day = dt.datetime.fromtimestamp(a.reminded_ms / 1000, dt.UTC).date()
                if threshold_of((end - reminded_day).days) == now_threshold:
                    continue
            task = raise_task(
                s,
                a.party_id,
                "agreement_expiry",
                f"Agreement {a.number} of {view.party_code} ends on {a.valid_to}"
                f" ({left} days): talk renewal",
                due_on=a.valid_to,
                detail={"agreement": a.number, "valid_to": a.valid_to, "days_left": left},
                key=a.number,
            )
            a.reminded_ms = day_start_ms(day.isoformat())
            record(
                s, "agreement.reminded", who, party_id=a.party_id, agreement_id=a.id,
                detail={"days_left": left, "threshold": now_threshold, "task": task.id},
            )  # fmt: skip
            out.append(Reminder(a.number, view.party_code, a.valid_to, left, now_threshold, task))
    return out
