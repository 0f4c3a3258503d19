"""Whistleblowing: a distributor or inspector reports a unit seen out of its zone.

A confirmed report earns its reporter a share of the penalty of the alert it is
linked to, paid in the run that charges that penalty. A report of a unit the
reporter itself bought outside its own zone is flagged as malicious when filed
(the reporter would be paid for its own diversion) and can never be confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Entry, Party, Unit
from ledger.partitions import declarations
from ledger.retraction import live_entries
from settlement.common import Actor, PermissionDenied, SettlementError, now_ms
from settlement.models import Alert, WhistleblowerReport

__all__ = ["ReportView", "confirm_report", "file_report", "list_reports", "reject_report"]

_MANAGERS = ("channel_manager", "admin")


@dataclass(frozen=True, slots=True)
class ReportView:
    id: int
    reporter_id: int
    unit_id: int
    seen_ms: int
    territory_code: str
    note: str
    status: str
    malicious: bool
    malicious_reason: str
    alert_id: int | None
    reward_run_id: int | None


def _view(r: WhistleblowerReport) -> ReportView:
    return ReportView(
        r.id, r.reporter_id, r.unit_id, r.seen_ms, r.territory_code, r.note, r.status,
        r.malicious, r.malicious_reason, r.alert_id, r.reward_run_id,
    )  # fmt: skip


def _family(s: Session, party_id: int) -> set[int]:
    """A party, its ancestors and its descendants: one zone family."""
    parents: dict[int, int | None] = {
        int(i): p for i, p in s.execute(select(Party.id, Party.parent_id)).all()
    }
    out = {party_id}
    x = parents.get(party_id)
    while x is not None and x not in out:
        out.add(x)
        x = parents.get(x)
    changed = True
    while changed:
        changed = False
        for p, par in parents.items():
            if par in out and p not in out:
                out.add(p)
                changed = True
    return out


def _bought_out_of_zone(s: Session, reporter: Party, unit_id: int) -> str:
    """Why the reporter's own purchase of the unit was a diversion ("" if it was not)."""
    kinds = {int(i): str(k) for i, k in s.execute(select(Party.id, Party.kind)).all()}
    allocated: int | None = None
    bought = False
    live = (
        select(Entry)
        .where(Entry.unit_id == unit_id, live_entries(declared=declarations(s)))
        .order_by(Entry.seq)
    )
    for e in s.scalars(live):
        if (
            allocated is None
            and e.kind == "shipping"
            and kinds.get(e.party_id) == "manufacturer"
            and e.counterparty_id is not None
            and kinds.get(e.counterparty_id) == "distributor"
        ):
            allocated = e.counterparty_id
        if (e.kind == "shipping" and e.counterparty_id == reporter.id) or (
            e.kind == "receiving" and e.party_id == reporter.id
        ):
            bought = True
    if not bought or allocated is None:
        return ""
    if reporter.id in _family(s, allocated):
        return ""
    # The reporter reads this: it names no other party (who holds a zone is not theirs to learn).
    return (
        f"{reporter.code} itself took delivery of this unit, which was allocated to "
        "another distributor's zone"
    )


def file_report(
    engine: Engine,
    reporter_id: int,
    unit_key: str,
    seen_ms: int,
    actor: Actor,
    *,
    lat_e6: int | None = None,
    lon_e6: int | None = None,
    territory_code: str = "",
    note: str = "",
) -> ReportView:
    """File a report; distributors file for themselves, channel managers for inspectors."""
    with Session(engine) as s, s.begin():
        reporter = s.get(Party, reporter_id)
        if reporter is None:
            raise SettlementError(f"no party {reporter_id}")
        if reporter.kind not in ("distributor", "inspector"):
            raise SettlementError(
                f"{reporter.code} is a {reporter.kind}; only distributors and inspectors report"
            )
        if actor.role == "distributor":
            if actor.party_id != reporter_id:
                raise PermissionDenied(f"{actor.username} may only report as its own party")
        elif actor.role not in _MANAGERS:
            raise PermissionDenied(f"{actor.username} ({actor.role}) may not file reports")
        unit = s.scalar(select(Unit).where(Unit.key == unit_key))
        if unit is None:
            raise SettlementError(f"no unit {unit_key!r} in the ledger")
        if (lat_e6 is None) != (lon_e6 is None):
            raise SettlementError("a location needs both lat_e6 and lon_e6")
        reason = _bought_out_of_zone(s, reporter, unit.id)
        r = WhistleblowerReport(
            reporter_id=reporter_id, unit_id=unit.id, seen_ms=seen_ms, lat_e6=lat_e6,
            lon_e6=lon_e6, territory_code=territory_code, note=note, status="open",
            malicious=bool(reason), malicious_reason=reason, created_ms=now_ms(),
            created_by=actor.username,
        )  # fmt: skip
        s.add(r)
        s.flush()
        return _view(r)


def confirm_report(engine: Engine, report_id: int, alert_id: int, actor: Actor) -> ReportView:
    """Link a report to the confirmed alert it helped prove; the reward follows its penalty."""
    if actor.role not in _MANAGERS:
        raise PermissionDenied(f"{actor.username} ({actor.role}) may not confirm reports")
    with Session(engine) as s, s.begin():
        r = s.get(WhistleblowerReport, report_id)
        if r is None:
            raise SettlementError(f"no report {report_id}")
        if r.status != "open":
            raise SettlementError(f"report {report_id} is already {r.status}")
        if r.malicious:
            raise SettlementError(f"report {report_id} is flagged malicious: {r.malicious_reason}")
        a = s.get(Alert, alert_id)
        if a is None or a.status != "confirmed":
            raise SettlementError(f"alert {alert_id} is not a confirmed alert")
        r.status = "confirmed"
        r.alert_id = alert_id
        return _view(r)


def reject_report(engine: Engine, report_id: int, actor: Actor, note: str = "") -> ReportView:
    if actor.role not in _MANAGERS:
        raise PermissionDenied(f"{actor.username} ({actor.role}) may not reject reports")
    with Session(engine) as s, s.begin():
        r = s.get(WhistleblowerReport, report_id)
        if r is None:
            raise SettlementError(f"no report {report_id}")
        if r.status != "open":
            raise SettlementError(f"report {report_id} is already {r.status}")
        r.status = "rejected"
        if note:
            r.note = (r.note + "\n" if r.note else "") + f"rejected: {note}"
        return _view(r)


def list_reports(engine: Engine, actor: Actor, status: str | None = None) -> list[ReportView]:
    """Reports newest first; a distributor sees only those it filed."""
    q = select(WhistleblowerReport).order_by(WhistleblowerReport.id.desc())
    if actor.role == "distributor":
        q = q.where(WhistleblowerReport.reporter_id == actor.party_id)
    elif actor.role not in (*_MANAGERS, "auditor", "finance"):
        raise PermissionDenied(f"{actor.username} ({actor.role}) may not list reports")
    if status is not None:
        q = q.where(WhistleblowerReport.status == status)
    with Session(engine) as s:
        return [_view(r) for r in s.scalars(q)]
