"""Rows the evaluation, health and CRM tests write straight into a migrated database:
a scorecard quarter, an alert, a receivable movement, a signed agreement."""

from __future__ import annotations

import calendar
import json
from decimal import Decimal

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from partners.models import Agreement
from settlement import Actor
from settlement.models import Alert, PartnerScore, ReceivableMovement

CM = Actor("carla", "channel_manager", user_id=None)
PM = Actor("pat", "partner_manager", user_id=None)
ADMIN = Actor("root", "admin")
FINANCE = Actor("fiona", "finance")
AUDITOR = Actor("audrey", "auditor")


def ms(y: int, mo: int, d: int) -> int:
    return calendar.timegm((y, mo, d, 12, 0, 0)) * 1000


def score_quarter(
    engine: Engine,
    party_id: int,
    quarter: str,
    score: str,
    values: dict[str, str],
    *,
    target_basis: str = "9 of target 10 units",
) -> None:
    """A stored scorecard of ``quarter`` with ``values`` (0..1 text) per indicator."""
    breakdown = {
        name: {"value": v, "weight": "0.2", "points": "0", "basis": f"{name} basis"}
        for name, v in values.items()
    }
    if "target" in breakdown:
        breakdown["target"]["basis"] = target_basis
    cls = "A" if Decimal(score) >= 80 else "B" if Decimal(score) >= 60 else "C"
    with Session(engine) as s, s.begin():
        s.add(
            PartnerScore(
                party_id=party_id, quarter=quarter, score=score, partner_class=cls,
                breakdown_json=json.dumps(breakdown), tree_size=1, created_ms=1,
            )
        )  # fmt: skip


def add_alert(
    engine: Engine,
    party_id: int | None,
    period: str,
    *,
    severity: str = "high",
    status: str = "confirmed",
    finding_type: str = "out_of_zone",
    key: str = "",
) -> int:
    with Session(engine) as s, s.begin():
        a = Alert(
            natural_key=key or f"{party_id}|DE|{period}|{finding_type}|{severity}|{status}",
            party_id=party_id, territory_code="DE", period=period, finding_type=finding_type,
            status=status, severity=severity, unit_count=3, finding_count=3, created_ms=1,
            updated_ms=1, detected_tree_size=1,
        )  # fmt: skip
        s.add(a)
        s.flush()
        return a.id


def owe(engine: Engine, party_id: int, at_ms: int, amount: int, currency: str = "EUR") -> None:
    with Session(engine) as s, s.begin():
        s.add(
            ReceivableMovement(
                party_id=party_id, at_ms=at_ms, amount_minor=amount, currency=currency,
                kind="statement" if amount > 0 else "payment",
            )
        )  # fmt: skip


def signed_agreement(
    engine: Engine,
    party_id: int,
    number: str,
    valid_from: str,
    valid_to: str,
    *,
    credit_limit: int,
    terms_days: int = 30,
) -> None:
    with Session(engine) as s, s.begin():
        s.add(
            Agreement(
                party_id=party_id, number=number, status="signed", valid_from=valid_from,
                valid_to=valid_to, currency="EUR", credit_limit_minor=credit_limit,
                payment_terms_days=terms_days, created_by="test", created_ms=1,
            )
        )  # fmt: skip
