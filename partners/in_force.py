"""Territory grants and program enrolment in force, made by signed agreements
(issue 12, "Agreements": "territory grants and program enrolment come from the
signed agreement in force on each date; detection and settlement read them from
there").

The rule (seed 003, channel business rules, section 三 "渠道合作协议管理": the signed
agreement fixes the scope 合作范围 and term 合作期限 of the cooperation; a change is a
supplementary agreement 补充协议 signed through the same reviews; at the end of its
term or on early termination the agreement ends): a party sells in a territory, and
is paid a rebate program, only under a signed agreement. Signing writes the agreement's territories as
:class:`~partners.models.TerritoryGrant` rows and its programs as
:class:`~partners.models.ProgramEnrolment` rows, both from the first instant of
``valid_from`` until the first instant after ``valid_to`` (dates are inclusive, days
are UTC days; instants are epoch milliseconds). Rows are ended, never deleted, so a
scan or a period is always judged by the rows of its own date.

A supplementary agreement or a renewal (``amends_id``) restates everything in force
from its ``valid_from``: the amended agreement's grants and enrolments end at that
instant and the new agreement's begin, so a territory moved by a supplementary
agreement is judged by the old grant before that day and by the new one from it.

Who may sign is checked by the caller (``partners.agreements``); these functions
only apply what a signed agreement says, each change audited in the caller's
transaction (:func:`partners.audit.record`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from partners.audit import record
from partners.errors import Acting, PartnerError, PartnerNotFound, PartnerStateError
from partners.models import (
    Agreement,
    AgreementProgram,
    AgreementTerritory,
    PartnerEvent,
    ProgramEnrolment,
    TerritoryGrant,
)

__all__ = [
    "APPLIED_ACTION",
    "apply_signed",
    "day_end_ms",
    "day_start_ms",
    "end_in_force",
    "enrolled_programs",
    "enrolments_in_force",
    "grants_in_force",
    "parties_in_force",
]

#: The audit action written when an agreement's grants and enrolments are made;
#: its presence is what makes a second :func:`apply_signed` refuse.
APPLIED_ACTION = "agreement.in_force"
ENDED_ACTION = "agreement.in_force_ended"

_DAY_MS = 86_400_000


def _day(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise PartnerError.said(
            "in_force_bad_date",
            "%(field)s must be a date YYYY-MM-DD, not %(value)r",
            field=field,
            value=value,
        ) from None


def day_start_ms(day: str) -> int:
    """Epoch milliseconds of 00:00 UTC of ISO date ``day`` (:class:`PartnerError` if
    ``day`` is not ``YYYY-MM-DD``)."""
    d = _day(day, "day")
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp()) * 1000


def day_end_ms(day: str) -> int:
    """Epoch milliseconds of the midnight (UTC) after ISO date ``day``: the exclusive
    end of an inclusive last day."""
    return day_start_ms(day) + _DAY_MS


def _is_applied(s: Session, agreement_id: int) -> bool:
    return bool(
        s.scalar(
            select(
                exists().where(
                    PartnerEvent.agreement_id == agreement_id,
                    PartnerEvent.action == APPLIED_ACTION,
                )
            )
        )
    )


def _end_rows(s: Session, agreement_id: int, end_ms: int) -> tuple[list[str], list[str]]:
    """End the agreement's grants and enrolments still in force at ``end_ms``; a row
    that would only start later is closed at its own start (never in force).
    Returns the territory codes and program codes whose rows changed."""
    territories: list[str] = []
    programs: list[str] = []
    for g in s.scalars(
        select(TerritoryGrant)
        .where(TerritoryGrant.agreement_id == agreement_id)
        .order_by(TerritoryGrant.id)
    ):
        if g.valid_to_ms is None or g.valid_to_ms > end_ms:
            g.valid_to_ms = max(end_ms, g.valid_from_ms)
            territories.append(g.territory_code)
    for e in s.scalars(
        select(ProgramEnrolment)
        .where(ProgramEnrolment.agreement_id == agreement_id)
        .order_by(ProgramEnrolment.id)
    ):
        if e.valid_to_ms is None or e.valid_to_ms > end_ms:
            e.valid_to_ms = max(end_ms, e.valid_from_ms)
            programs.append(e.program_code)
    return territories, programs


def apply_signed(s: Session, agreement: Agreement, actor: Acting) -> None:
    """Put a signed agreement in force, in ``s``'s transaction.

    Writes one :class:`TerritoryGrant` per :class:`AgreementTerritory` and one
    :class:`ProgramEnrolment` per :class:`AgreementProgram` of ``agreement``, for its
    party, valid from 00:00 UTC of ``valid_from`` until the midnight after
    ``valid_to`` (``agreement_id`` set). When it amends or renews another agreement
    (``amends_id``), that agreement's grants and enrolments still in force end at
    the new ``valid_from`` and, if it is still ``signed``, its status becomes
    ``superseded``. Audited as ``agreement.in_force`` (and
    ``agreement.superseded`` on the old one).

    Raises :class:`PartnerStateError` if the agreement is not ``signed`` or was
    already applied, :class:`PartnerError` if its dates are not ISO dates or it
    ends before it starts, :class:`PartnerNotFound` if ``amends_id`` names no
    agreement of the same party.
    """
    if agreement.status != "signed":
        raise PartnerStateError.said(
            "in_force_not_signed",
            "agreement %(number)s is %(status)s; only a signed agreement grants territories"
            " and programs",
            number=agreement.number,
            status=agreement.status,
        )
    s.flush()
    if _is_applied(s, agreement.id):
        raise PartnerStateError.said(
            "in_force_applied",
            "agreement %(number)s is already in force",
            number=agreement.number,
        )
    start = _day(agreement.valid_from, "valid_from")
    stop = _day(agreement.valid_to, "valid_to")
    if stop < start:
        raise PartnerError.said(
            "in_force_ends_before",
            "agreement %(number)s ends (%(valid_to)s) before it starts (%(valid_from)s)",
            number=agreement.number,
            valid_to=agreement.valid_to,
            valid_from=agreement.valid_from,
        )
    start_ms = day_start_ms(agreement.valid_from)
    end_ms = day_end_ms(agreement.valid_to)

    if agreement.amends_id is not None:
        old = s.get(Agreement, agreement.amends_id)
        if old is None or old.party_id != agreement.party_id:
            raise PartnerNotFound.said(
                "in_force_no_amended",
                "agreement %(number)s amends agreement %(amends)s, which is not an"
                " agreement of the same party",
                number=agreement.number,
                amends=agreement.amends_id,
            )
        territories, programs = _end_rows(s, old.id, start_ms)
        old_status = old.status
        if old_status == "signed":
            old.status = "superseded"
        record(
            s,
            "agreement.superseded",
            actor,
            party_id=old.party_id,
            agreement_id=old.id,
            detail={
                "by": agreement.number,
                "ended_at_ms": start_ms,
                "territories": territories,
                "programs": programs,
                "status": [old_status, old.status],
            },
        )

    territory_codes = list(
        s.scalars(
            select(AgreementTerritory.territory_code)
            .where(AgreementTerritory.agreement_id == agreement.id)
            .order_by(AgreementTerritory.territory_code)
        )
    )
    program_codes = list(
        s.scalars(
            select(AgreementProgram.program_code)
            .where(AgreementProgram.agreement_id == agreement.id)
            .order_by(AgreementProgram.program_code)
        )
    )
    for code in territory_codes:
        s.add(
            TerritoryGrant(
                party_id=agreement.party_id,
                territory_code=code,
                valid_from_ms=start_ms,
                valid_to_ms=end_ms,
                agreement_id=agreement.id,
            )
        )
    for code in program_codes:
        s.add(
            ProgramEnrolment(
                party_id=agreement.party_id,
                program_code=code,
                valid_from_ms=start_ms,
                valid_to_ms=end_ms,
                agreement_id=agreement.id,
            )
        )
    record(
        s,
        APPLIED_ACTION,
        actor,
        party_id=agreement.party_id,
        agreement_id=agreement.id,
        detail={
            "territories": territory_codes,
            "programs": program_codes,
            "valid_from_ms": start_ms,
            "valid_to_ms": end_ms,
        },
    )
    s.flush()


def end_in_force(s: Session, agreement: Agreement, end_ms: int, actor: Acting) -> None:
    """End ``agreement``'s grants and enrolments at ``end_ms`` (epoch ms, exclusive),
    in ``s``'s transaction: termination, exit.

    Rows already ended at or before ``end_ms`` are left as they are; a row that
    would only start after ``end_ms`` is closed at its own start (it never takes
    effect). The agreement's status is the caller's to set. Audited as
    ``agreement.in_force_ended`` with the codes ended. Raises
    :class:`PartnerStateError` if the agreement was never put in force.
    """
    s.flush()
    if not _is_applied(s, agreement.id):
        raise PartnerStateError.said(
            "in_force_not_applied",
            "agreement %(number)s was never in force; there is nothing to end",
            number=agreement.number,
        )
    territories, programs = _end_rows(s, agreement.id, end_ms)
    record(
        s,
        ENDED_ACTION,
        actor,
        party_id=agreement.party_id,
        agreement_id=agreement.id,
        detail={"ended_at_ms": end_ms, "territories": territories, "programs": programs},
    )
    s.flush()


def enrolled_programs(s: Session, start_ms: int, end_ms: int) -> dict[int, set[str]]:
    """``{party_id: {program_code, ...}}`` of the enrolments in force at any instant
    of ``[start_ms, end_ms)`` (epoch ms): the programs settlement pays each party for
    that period. One query."""
    e = ProgramEnrolment
    rows = s.execute(
        select(e.party_id, e.program_code).where(
            e.valid_from_ms < end_ms,
            (e.valid_to_ms.is_(None)) | (e.valid_to_ms > start_ms),
            e.valid_to_ms.is_(None) | (e.valid_to_ms > e.valid_from_ms),
        )
    )
    out: dict[int, set[str]] = defaultdict(set)
    for party_id, code in rows:
        out[party_id].add(code)
    return dict(out)


def parties_in_force(s: Session, start_ms: int, end_ms: int) -> set[int]:
    """Ids of the parties holding a territory grant or a program enrolment at any
    instant of ``[start_ms, end_ms)`` (epoch ms): those under an agreement then
    (grants made before agreements existed count too). Settlement's statements and
    the quarterly scorecard leave out a distributor outside this set that did
    nothing in the period (a party signed later has nothing to settle or score).
    Two queries."""
    found: set[int] = set()
    for model in (TerritoryGrant, ProgramEnrolment):
        found.update(
            int(pid)
            for pid in s.scalars(
                select(model.party_id)
                .where(
                    model.valid_from_ms < end_ms,
                    (model.valid_to_ms.is_(None)) | (model.valid_to_ms > start_ms),
                )
                .distinct()
            )
        )
    return found


def grants_in_force(s: Session, party_id: int, day: str) -> list[TerritoryGrant]:
    """The party's territory grants in force at any instant of ISO date ``day``
    (UTC), ordered by territory code. Raises :class:`PartnerError` for a bad date."""
    lo = day_start_ms(day)
    hi = lo + _DAY_MS
    g = TerritoryGrant
    return list(
        s.scalars(
            select(g)
            .where(
                g.party_id == party_id,
                g.valid_from_ms < hi,
                (g.valid_to_ms.is_(None)) | (g.valid_to_ms > lo),
                g.valid_to_ms.is_(None) | (g.valid_to_ms > g.valid_from_ms),
            )
            .order_by(g.territory_code, g.id)
        )
    )


def enrolments_in_force(s: Session, party_id: int, day: str) -> list[ProgramEnrolment]:
    """The party's program enrolments in force at any instant of ISO date ``day``
    (UTC), ordered by program code. Raises :class:`PartnerError` for a bad date."""
    lo = day_start_ms(day)
    hi = lo + _DAY_MS
    e = ProgramEnrolment
    return list(
        s.scalars(
            select(e)
            .where(
                e.party_id == party_id,
                e.valid_from_ms < hi,
                (e.valid_to_ms.is_(None)) | (e.valid_to_ms > lo),
                e.valid_to_ms.is_(None) | (e.valid_to_ms > e.valid_from_ms),
            )
            .order_by(e.program_code, e.id)
        )
    )
