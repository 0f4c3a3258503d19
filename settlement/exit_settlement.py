"""The settlement side of a partner's exit (issue 12, "Exit"): the evidence of a
hard exit reason read from settlement's records, the final settlement run, and the
deposit refunded minus what the party owes.

``partners.exits`` keeps the exit itself (it may not import settlement); this
module checks and writes what only settlement knows:

- **Evidence** (:func:`check_exit_evidence`, used by :func:`start_exit`):
  ``serious_diversion`` needs a confirmed diversion alert (out of zone or cross
  region) of the party whose severity is ``high`` or ``critical``
  (``settlement.severity``); ``under_target`` needs two consecutive quarters each
  with a unit target on file (``SalesTarget``) and a stored quarterly scorecard
  whose target indicator is below 1 (net units below the target: seed 002 五 1
  "连续2个季度未达成").
- **Final run** (:func:`final_settlement`): a settlement run settles a period for
  every party at once (there is no run of one party), so the exit's "final run" is
  the normal final run of the period named (a month, on or after the month the exit
  started). If the month is already settled by a posted final run (monthly or
  quarterly), that run is recorded. If not, a draft final run is created for it (or
  the pending one recorded) and the exit waits: finance approves (a second person)
  and posts it as for any period, then calls :func:`final_settlement` again.
- **Deposit**, once that run is posted: ``held`` = the party's deposit balance,
  ``owed`` = its open receivable (posted statements' deficits not yet paid, which
  include the penalties its statements could not absorb; the confirmed alerts'
  fines of the final month are in the final run itself), both in the party's
  currency; ``deducted = min(held, owed)`` is taken from the deposit to settle the
  receivable, ``refunded = held − deducted`` is refunded (e.g. held 500000 − owed
  120000 = refund 380000). Movements are written through
  :func:`settlement.deposits.store_deposit` (a ``deduction`` and a ``refund``) and a
  ``deposit`` receivable movement of −deducted; what stays owed beyond the deposit
  remains a receivable. The exit records the three figures and becomes ``settled``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners import exits
from partners.audit import record
from partners.errors import Acting, PartnerError, PartnerStateError, require
from partners.values import InvalidField
from settlement.common import Actor, SettlementError, months_of, now_ms, period_bounds
from settlement.deposits import store_deposit
from settlement.detection import DIVERSION_TYPES
from settlement.models import (
    Alert,
    DepositMovement,
    PartnerScore,
    ReceivableMovement,
    SalesTarget,
    SettlementRun,
)
from settlement.runs import create_run
from settlement.severity import SEVERITY_RANK

__all__ = [
    "SERIOUS_SEVERITIES",
    "FinalSettlement",
    "check_exit_evidence",
    "deposit_settlement",
    "final_settlement",
    "start_exit",
]

#: Alert severities that make a diversion serious enough to end a partnership.
SERIOUS_SEVERITIES = tuple(s for s, rank in SEVERITY_RANK.items() if rank >= SEVERITY_RANK["high"])


@dataclass(frozen=True, slots=True)
class FinalSettlement:
    """Where an exit's final settlement stands: the run (its id, period and status:
    ``draft``/``approved`` while it waits, ``posted`` once settled) and, once
    settled, the deposit figures and what the party still owes beyond its deposit
    (minor units of the party's currency)."""

    exit: exits.ExitView
    run_id: int
    run_period: str
    run_status: str
    settled: bool
    held_minor: int | None = None
    owed_minor: int | None = None
    deducted_minor: int | None = None
    refunded_minor: int | None = None
    still_owed_minor: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "exit": self.exit.as_json(),
            "run": {"id": self.run_id, "period": self.run_period, "status": self.run_status},
            "settled": self.settled,
            "deposit": None
            if not self.settled
            else {
                "held_minor": self.held_minor,
                "owed_minor": self.owed_minor,
                "deducted_minor": self.deducted_minor,
                "refunded_minor": self.refunded_minor,
                "still_owed_minor": self.still_owed_minor,
                "currency": self.exit.currency,
            },
        }


# ------------------------------------------------------------------ evidence


def _next_quarter(q: str) -> str:
    year, n = int(q[:4]), int(q[-1])
    return f"{year + (n == 4)}-Q{n % 4 + 1}"


def _quarters(value: Any) -> list[str]:
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",") if v.strip()]
    elif isinstance(value, Sequence):
        items = [str(v).strip() for v in value]
    else:
        items = []
    if len(items) != 2:
        raise InvalidField.said(
            "exit_quarters_two",
            "name two consecutive quarters YYYY-Qn, e.g. 2026-Q2,2026-Q3",
            field="evidence.quarters",
        )
    for i, q in enumerate(items):
        try:
            period_bounds(q)
        except SettlementError:
            q = ""
        if "Q" not in q:
            raise InvalidField.said(
                "exit_quarter_bad",
                "%(value)r is not a quarter YYYY-Qn",
                field=f"evidence.quarters[{i}]",
                value=items[i],
            )
    items.sort()
    if _next_quarter(items[0]) != items[1]:
        raise InvalidField.said(
            "exit_quarters_apart",
            "%(first)s and %(second)s are not consecutive quarters",
            field="evidence.quarters",
            first=items[0],
            second=items[1],
        )
    return items


def _under_target(s: Session, party: Party, evidence: Mapping[str, Any]) -> dict[str, Any]:
    quarters = _quarters(evidence.get("quarters"))
    found: list[dict[str, str]] = []
    for q in quarters:
        target = s.scalar(
            select(func.coalesce(func.sum(SalesTarget.units), 0)).where(
                SalesTarget.party_id == party.id,
                SalesTarget.period.in_(months_of(q)),
                SalesTarget.measure == "units",
            )
        )
        if not target:
            raise PartnerError.said(
                "exit_no_target",
                "%(party)s has no unit target for %(quarter)s",
                party=party.code,
                quarter=q,
            )
        score = s.scalar(
            select(PartnerScore).where(PartnerScore.party_id == party.id, PartnerScore.quarter == q)
        )
        if score is None:
            raise PartnerError.said(
                "exit_no_scorecard",
                "%(party)s has no scorecard for %(quarter)s; score the quarter first",
                party=party.code,
                quarter=q,
            )
        line = json.loads(score.breakdown_json).get("target") or {}
        if Decimal(str(line.get("value", "1"))) >= 1:
            raise PartnerError.said(
                "exit_target_met",
                "%(party)s met its target in %(quarter)s (%(basis)s)",
                party=party.code,
                quarter=q,
                basis=line.get("basis", ""),
            )
        found.append({"quarter": q, "basis": str(line.get("basis", "")), "target": str(target)})
    return {"quarters": found}


def _serious_diversion(s: Session, party: Party, evidence: Mapping[str, Any]) -> dict[str, Any]:
    raw = evidence.get("alert")
    try:
        alert_id = int(str(raw))
    except (TypeError, ValueError):
        raise InvalidField.said(
            "exit_alert_id",
            "name the confirmed diversion alert (its id), not %(value)r",
            field="evidence.alert",
            value=raw,
        ) from None
    alert = s.get(Alert, alert_id)
    if alert is None or alert.party_id != party.id:
        raise PartnerError.said(
            "exit_alert_not_party",
            "alert %(alert)s is not an alert of %(party)s",
            alert=alert_id,
            party=party.code,
        )
    if alert.finding_type not in DIVERSION_TYPES or alert.status != "confirmed":
        raise PartnerError.said(
            "exit_alert_not_confirmed",
            "alert %(alert)s is a %(status)s %(type)s alert, not a confirmed diversion",
            alert=alert_id,
            status=alert.status,
            type=alert.finding_type,
        )
    if alert.severity not in SERIOUS_SEVERITIES:
        raise PartnerError.said(
            "exit_alert_not_serious",
            "alert %(alert)s is of %(severity)s severity; a serious diversion is %(serious)s",
            alert=alert_id,
            severity=alert.severity,
            serious=" or ".join(SERIOUS_SEVERITIES),
        )
    return {
        "alert": alert.id,
        "period": alert.period,
        "territory": alert.territory_code,
        "severity": alert.severity,
        "units": alert.unit_count,
    }


def check_exit_evidence(
    s: Session, party: Party, reason: str, evidence: Mapping[str, Any]
) -> dict[str, Any]:
    """The evidence of a hard exit ``reason`` as stored with the exit, or a refusal
    naming what is missing (:class:`PartnerError`, :class:`InvalidField` naming the
    ``evidence.*`` member). ``serious_diversion``: ``{"alert": id}``;
    ``under_target``: ``{"quarters": ["YYYY-Qn", "YYYY-Qn+1"]}`` (or a comma list)."""
    if reason == "serious_diversion":
        return _serious_diversion(s, party, evidence)
    if reason == "under_target":
        return _under_target(s, party, evidence)
    return {}


def start_exit(
    engine: Engine,
    party_code: str,
    reason: str,
    actor: Acting,
    **options: Any,
) -> exits.ExitView:
    """:func:`partners.exits.start_exit` with the hard reasons' evidence checked
    against settlement's alerts, targets and scorecards (:func:`check_exit_evidence`).
    ``options``: ``note``, ``buffer_days``, ``started_on``, ``evidence``."""
    return exits.start_exit(
        engine, party_code, reason, actor, check_evidence=check_exit_evidence, **options
    )


# ------------------------------------------------------------------ final settlement


def _balance(s: Session, table: Any, party: Party) -> int:
    v = s.scalar(
        select(func.coalesce(func.sum(table.amount_minor), 0)).where(
            table.party_id == party.id, table.currency == party.currency
        )
    )
    return int(v or 0)


def deposit_settlement(held_minor: int, owed_minor: int) -> tuple[int, int, int]:
    """``(deducted, refunded, still_owed)`` of a deposit ``held_minor`` (>= 0) against
    ``owed_minor`` (what the party owes; <= 0 owes nothing): the deposit first
    settles what is owed, the rest is refunded. 500000 held, 120000 owed ->
    (120000, 380000, 0); 100000 held, 250000 owed -> (100000, 0, 150000)."""
    held = max(0, held_minor)
    owed = max(0, owed_minor)
    deducted = min(held, owed)
    return deducted, held - deducted, owed - deducted


def _posted_run(s: Session, month: str) -> SettlementRun | None:
    for run in s.scalars(
        select(SettlementRun)
        .where(SettlementRun.kind == "final", SettlementRun.status == "posted")
        .order_by(SettlementRun.id.desc())
    ):
        if month in months_of(run.period):
            return run
    return None


def _pending_run(s: Session, month: str) -> SettlementRun | None:
    return s.scalars(
        select(SettlementRun)
        .where(
            SettlementRun.kind == "final",
            SettlementRun.period == month,
            SettlementRun.status.in_(("draft", "approved")),
            SettlementRun.superseded_by.is_(None),
        )
        .order_by(SettlementRun.id.desc())
        .limit(1)
    ).first()


def _open_exit(s: Session, exit_id: int, month: str) -> Any:
    row = exits.load_exit(s, exit_id, lock=True)
    if row.status != "buffer":
        raise PartnerStateError.said(
            "exit_settled_already",
            "exit %(exit)s is %(status)s; its final settlement is done or no longer due",
            exit=row.id,
            status=row.status,
        )
    if month < row.started_on[:7]:
        raise InvalidField.said(
            "exit_period_early",
            "%(period)s is before the exit started (%(started_on)s)",
            field="period",
            period=month,
            started_on=row.started_on,
        )
    return row


def final_settlement(engine: Engine, exit_id: int, period: str, actor: Actor) -> FinalSettlement:
    """Settle exit ``exit_id`` with the final run of ``period`` (``YYYY-MM``, on or
    after the month the exit started) — see the module docstring for what that run
    is and how the deposit is refunded minus what the party owes.

    Finance only (creating the run is finance's). Returns where it stands: waiting
    for the run (``settled`` False, ``run_status`` draft/approved) or settled with
    the deposit figures. Raises :class:`PartnerStateError` for an exit no longer in
    its buffer, :class:`InvalidField` for a bad period, and the run's own
    :class:`SettlementError` (missing prices, FX rates, checkpoint) when it cannot
    be created."""
    require(actor, *exits.SETTLERS, action="settle exits")
    month = str(period).strip()
    try:
        period_bounds(month)
    except SettlementError:
        month = ""
    if len(month) != 7 or "Q" in month:
        raise InvalidField.said(
            "exit_period_bad", "%(value)r is not a month YYYY-MM", field="period", value=period
        )
    with Session(engine) as s, s.begin():
        row = _open_exit(s, exit_id, month)
        posted = _posted_run(s, month)
        if posted is not None:
            return _settle(s, row, posted, actor)
        pending = _pending_run(s, month)
        if pending is not None:
            return _waiting(s, row, pending, actor)
    created = create_run(engine, month, "final", actor)
    with Session(engine) as s, s.begin():
        row = _open_exit(s, exit_id, month)
        run = s.get(SettlementRun, created.id)
        assert run is not None
        return _waiting(s, row, run, actor)


def _waiting(s: Session, row: Any, run: SettlementRun, actor: Actor) -> FinalSettlement:
    if row.final_run_id != run.id:
        row.final_run_id = run.id
        record(
            s, "exit.final_run", actor, party_id=row.party_id,
            detail={"exit": row.id, "run": run.id, "period": run.period, "status": run.status},
        )  # fmt: skip
    s.flush()
    return FinalSettlement(exits.view_of(s, row), run.id, run.period, run.status, False)


def _settle(s: Session, row: Any, run: SettlementRun, actor: Actor) -> FinalSettlement:
    party = s.get(Party, row.party_id)
    assert party is not None
    held = _balance(s, DepositMovement, party)
    owed = _balance(s, ReceivableMovement, party)
    deducted, refunded, still_owed = deposit_settlement(held, owed)
    source = f"exit {row.id}"
    if deducted:
        store_deposit(
            s, actor, party, "deduction", deducted,
            f"exit {row.id}: what {party.code} owes taken from its deposit", None, source,
            skip_same=False,
        )  # fmt: skip
        s.add(
            ReceivableMovement(
                party_id=party.id, at_ms=now_ms(), amount_minor=-deducted,
                currency=party.currency, kind="deposit", run_id=None, ref=f"exit:{row.id}",
                created_by=actor.username,
            )
        )  # fmt: skip
    if refunded:
        store_deposit(
            s, actor, party, "refund", refunded,
            f"exit {row.id}: deposit refunded to {party.code}", None, source, skip_same=False,
        )  # fmt: skip
    row.final_run_id = run.id
    row.deposit_held_minor = max(0, held)
    row.deposit_deducted_minor = deducted
    row.deposit_refunded_minor = refunded
    row.status = "settled"
    record(
        s, "exit.settled", actor, party_id=party.id,
        detail={"exit": row.id, "run": run.id, "period": run.period, "currency": party.currency,
                "held_minor": max(0, held), "owed_minor": max(0, owed),
                "deducted_minor": deducted, "refunded_minor": refunded,
                "still_owed_minor": still_owed},
    )  # fmt: skip
    s.flush()
    return FinalSettlement(
        exits.view_of(s, row), run.id, run.period, run.status, True,
        max(0, held), max(0, owed), deducted, refunded, still_owed,
    )  # fmt: skip
