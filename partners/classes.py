"""The class (A/B/C) in force for a party on a date.

A class is in force from the ``valid_from`` of a :class:`partners.models.PartnerClass`
row (written when a manager confirms a review, :mod:`risk.reviews`) until the
``valid_from`` of the party's next row. Source: seed 003 (渠道商務管理辦法 §二(二)
合作伙伴评估与分类): partners are evaluated at least once a year and on events,
and classed A, B or C by the result.

Settlement reads :func:`classes_in_force` for its class multipliers
(:func:`settlement.runs` ``_partner_classes``): a confirmed class wins over the
quarterly scorecard's, which wins over the program's default class.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from partners.models import PartnerClass

__all__ = ["CLASSES", "ClassView", "class_history", "classes_in_force"]

#: The classes, best first.
CLASSES = ("A", "B", "C")


@dataclass(frozen=True, slots=True)
class ClassView:
    """One confirmed class: ``valid_from`` an ISO date, ``confirmed_ms`` epoch ms."""

    id: int
    party_id: int
    partner_class: str
    valid_from: str
    review_id: int | None
    reason: str
    confirmed_by: str
    confirmed_ms: int


def classes_in_force(s: Session, day: str) -> dict[int, str]:
    """``{party_id: class}`` of every party with a confirmed class on ``day`` (ISO
    date): its latest row with ``valid_from <= day`` (a later confirmation of the
    same day wins). One query; parties without such a row are absent."""
    out: dict[int, str] = {}
    rows = s.execute(
        select(PartnerClass.party_id, PartnerClass.partner_class)
        .where(PartnerClass.valid_from <= day)
        .order_by(PartnerClass.valid_from, PartnerClass.confirmed_ms, PartnerClass.id)
    ).all()
    for pid, cls in rows:  # later rows overwrite earlier ones
        out[int(pid)] = str(cls)
    return out


def class_history(s: Session, party_id: int) -> list[ClassView]:
    """A party's confirmed classes, newest ``valid_from`` first."""
    rows = s.scalars(
        select(PartnerClass)
        .where(PartnerClass.party_id == party_id)
        .order_by(
            PartnerClass.valid_from.desc(), PartnerClass.confirmed_ms.desc(), PartnerClass.id.desc()
        )
    )
    return [
        ClassView(
            r.id,
            r.party_id,
            r.partner_class,
            r.valid_from,
            r.review_id,
            r.reason,
            r.confirmed_by,
            r.confirmed_ms,
        )
        for r in rows
    ]
