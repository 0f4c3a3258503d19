"""Credit alerts for finance (issue 13): raised once, then acknowledged and closed.

Whatever finds a credit problem raises an alert here: a manufacturer shipment on
credit to a cash-only party or over its limit (:mod:`risk.credit_gate`), a
threshold crossed (limit utilisation, an item overdue 30/60/90 days, a health
score drop, KPI missed two quarters in a row: :mod:`risk.thresholds`), a party
assessed high risk (:mod:`risk.assessment`). One alert per (party, kind, key):
raising the same again returns the alert already there, so a rerun check or a
replayed shipment never doubles it; what adds to it (a later shipment of the same
day) updates its figures (:func:`update_alert`). E-mail is composed from the new alerts by
:func:`notify.compose.compose_credit_alerts`.

Finance, channel managers, partner managers, auditors and admins read alerts;
finance, channel managers and admins acknowledge and close them (audited in the
party's history, :mod:`partners.audit`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.audit import now_ms, record
from partners.errors import Acting, PartnerNotFound, PartnerStateError, require
from risk.models import CreditAlert
from settlement.reference_audit import page_rows

__all__ = [
    "ALERT_KINDS",
    "ALERT_READERS",
    "ALERT_STATUSES",
    "ALERT_WRITERS",
    "CreditAlertView",
    "acknowledge_alert",
    "alert_view",
    "close_alert",
    "list_alerts",
    "raise_alert",
    "update_alert",
]

#: What an alert is about. ``credit_shipment``: a manufacturer shipment took the
#: party over its limit; ``cash_only_shipment``: a shipment on credit to a cash-only
#: party; ``utilisation``: exposure over the threshold's per cent of the limit;
#: ``overdue``: an open item past due by the threshold's days; ``health_drop``: the
#: health score fell by the threshold's points; ``kpi_miss``: below target the
#: threshold's quarters in a row; ``high_risk``: assessed high risk (cash only).
ALERT_KINDS = (
    "credit_shipment",
    "cash_only_shipment",
    "utilisation",
    "overdue",
    "health_drop",
    "kpi_miss",
    "high_risk",
)
ALERT_STATUSES = ("open", "acknowledged", "closed")
ALERT_READERS = ("finance", "channel_manager", "partner_manager", "auditor", "admin")
ALERT_WRITERS = ("finance", "channel_manager", "admin")


@dataclass(frozen=True, slots=True)
class CreditAlertView:
    """One alert: its party, kind, key, the figures that raised it (``detail``),
    status and times (epoch ms, UTC)."""

    id: int
    party_id: int
    party_code: str
    party_name: str
    kind: str
    key: str
    detail: dict[str, Any]
    status: str
    raised_ms: int
    closed_ms: int | None
    closed_by: str
    note: str


def alert_view(a: CreditAlert, party: Party) -> CreditAlertView:
    """The view of a stored alert and its party."""
    return CreditAlertView(
        a.id, a.party_id, party.code, party.name, a.kind, a.key, json.loads(a.detail_json),
        a.status, a.raised_ms, a.closed_ms, a.closed_by, a.note,
    )  # fmt: skip


def raise_alert(
    s: Session, party_id: int, kind: str, key: str, detail: Mapping[str, Any]
) -> tuple[CreditAlertView, bool]:
    """Raise an alert in ``s``'s transaction unless one of the same party, kind and key
    exists (open or not): ``(alert, True)`` when new, ``(existing, False)`` else.

    ``detail`` must be JSON-serializable (integers for money, minor units, with its
    ``currency``). Raises :class:`ValueError` for a kind not in :data:`ALERT_KINDS`
    (a programming error, not a user's)."""
    if kind not in ALERT_KINDS:
        raise ValueError(f"unknown credit alert kind {kind!r}")
    party = s.get(Party, party_id)
    if party is None:
        raise PartnerNotFound.said("no_credit_party", "no party %(party)s", party=party_id)
    found = s.scalar(
        select(CreditAlert).where(
            CreditAlert.party_id == party_id, CreditAlert.kind == kind, CreditAlert.key == key
        )
    )
    if found is not None:
        return alert_view(found, party), False
    alert = CreditAlert(
        party_id=party_id,
        kind=kind,
        key=key,
        detail_json=json.dumps(dict(detail), sort_keys=True, ensure_ascii=False),
        status="open",
        raised_ms=now_ms(),
    )
    s.add(alert)
    s.flush()
    return alert_view(alert, party), True


def update_alert(
    s: Session, alert_id: int, detail: Mapping[str, Any], actor: Acting
) -> CreditAlertView:
    """Replace the figures of alert ``alert_id`` with ``detail`` in ``s``'s
    transaction, audited in the party's history (``credit_alert.updated``: the
    figures that changed, before and after). What raised it happened again (a later
    shipment of the same day, :mod:`risk.credit_gate`): an open or acknowledged
    alert keeps its status; a closed one is opened again (the close is in the
    audit), so finance sees what came after it was closed. Same figures: nothing
    changes, nothing is recorded.

    ``detail`` as :func:`raise_alert`'s. Raises
    :class:`partners.errors.PartnerNotFound` (404) for no such alert."""
    alert = s.get(CreditAlert, alert_id)
    if alert is None:
        raise PartnerNotFound.said("no_credit_alert", "no credit alert %(alert)s", alert=alert_id)
    party = s.get(Party, alert.party_id)
    assert party is not None  # a foreign key
    before = json.loads(alert.detail_json)
    after = json.loads(json.dumps(dict(detail), sort_keys=True, ensure_ascii=False))
    if before == after:
        return alert_view(alert, party)
    changes = {
        k: [before.get(k), after.get(k)]
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    }
    audit: dict[str, Any] = {"alert": alert_id, "kind": alert.kind, "changes": changes}
    alert.detail_json = json.dumps(after, sort_keys=True, ensure_ascii=False)
    if alert.status == "closed":
        audit["reopened"] = {"closed_by": alert.closed_by, "note": alert.note}
        alert.status = "open"
        alert.closed_ms = None
        alert.closed_by = ""
        alert.note = ""
    record(s, "credit_alert.updated", actor, party_id=alert.party_id, detail=audit)
    s.flush()
    return alert_view(alert, party)


def list_alerts(
    engine: Engine,
    actor: Acting,
    *,
    status: str | None = None,
    kind: str | None = None,
    party_id: int | None = None,
    since_ms: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[CreditAlertView], int]:
    """Alerts newest first, filtered by status, kind, party and raised time;
    ``(page, total)``. Raises :class:`partners.errors.PartnerDenied` for a role
    that reads no credit alerts."""
    require(actor, *ALERT_READERS, action="read credit alerts")
    q = select(CreditAlert, Party).join(Party, Party.id == CreditAlert.party_id)
    if status:
        q = q.where(CreditAlert.status == status)
    if kind:
        q = q.where(CreditAlert.kind == kind)
    if party_id is not None:
        q = q.where(CreditAlert.party_id == party_id)
    if since_ms is not None:
        q = q.where(CreditAlert.raised_ms >= since_ms)
    with Session(engine) as s:
        rows, total = page_rows(
            s, q, (CreditAlert.raised_ms.desc(), CreditAlert.id.desc()), offset, limit
        )
        return [alert_view(a, p) for a, p in rows], total


def _move(
    engine: Engine, alert_id: int, actor: Acting, to: str, allowed: tuple[str, ...], note: str
) -> CreditAlertView:
    require(actor, *ALERT_WRITERS, action="act on credit alerts")
    with Session(engine) as s, s.begin():
        alert = s.get(CreditAlert, alert_id)
        if alert is None:
            raise PartnerNotFound.said(
                "no_credit_alert", "no credit alert %(alert)s", alert=alert_id
            )
        if alert.status not in allowed:
            raise PartnerStateError.said(
                "credit_alert_status",
                "credit alert %(alert)s is %(status)s",
                alert=alert_id,
                status=alert.status,
            )
        alert.status = to
        if to == "closed":
            alert.closed_ms = now_ms()
            alert.closed_by = actor.username
            alert.note = note.strip()
        record(
            s,
            f"credit_alert.{to}",
            actor,
            party_id=alert.party_id,
            detail={"alert": alert_id, "kind": alert.kind, "note": note.strip()},
        )
        party = s.get(Party, alert.party_id)
        assert party is not None  # a foreign key
        return alert_view(alert, party)


def acknowledge_alert(engine: Engine, alert_id: int, actor: Acting) -> CreditAlertView:
    """Mark an open alert seen (someone is on it). Raises ``PartnerNotFound`` (404),
    ``PartnerStateError`` (409) when it is not open, ``PartnerDenied`` (403)."""
    return _move(engine, alert_id, actor, "acknowledged", ("open",), "")


def close_alert(engine: Engine, alert_id: int, actor: Acting, note: str = "") -> CreditAlertView:
    """Close an open or acknowledged alert with what was done (``note``). Raises as
    :func:`acknowledge_alert`; closing a closed alert is a ``PartnerStateError``."""
    return _move(engine, alert_id, actor, "closed", ("open", "acknowledged"), note)
