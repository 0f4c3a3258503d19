"""Thresholds that raise credit alerts, and the check that applies them (issue 13;
seed 000 "风险矩阵模型": medium risk is monitored, high risk stops credit, so the
signs of a party getting there are watched).

A threshold (:class:`risk.models.RiskThreshold`, one row per ``(kind, value)``) is
one of :data:`THRESHOLD_KINDS`:

- ``utilisation``: exposure / limit >= ``value`` per cent (default 90), compared
  exactly (exposure x 100 >= value x limit; a limit of 0 is the credit gate's
  concern, not this one's). Alert key ``YYYY-MM|value``: once a month while the
  party stays above it. The alert's ``utilisation_permille`` is
  :class:`risk.exposure.Exposure`'s (rounded half-even).
- ``overdue``: an open item at least ``value`` days past due (defaults 30, 60, 90).
  Key ``<item>|<value>``; an item is alerted for the highest value it has crossed,
  so an invoice raises one alert at 30 days, one at 60 and one at 90, never two
  for the same crossing (a first check at 65 days raises only the 60-day one).
- ``health_drop``: the party's latest health score (:class:`risk.models.HealthScore`,
  :mod:`risk.health`) on or before the day checked is ``value`` points or more
  below the one before it (default 10). Key: the later score's day.
- ``kpi_miss``: ``value`` quarters in a row below target (default 2). "Below target"
  reads the stored quarterly scorecard (:mod:`settlement.scorecard`, table
  ``partner_scores``): its ``target`` indicator is the party's net units sold in
  over the quarter's :class:`settlement.models.SalesTarget` units; a miss is a
  quarter whose indicator is below 1 (net units < target). A quarter without a
  scorecard or without a target breaks the run. Only completed quarters count:
  those before the quarter of the day checked (a check on 2026-12-01 or on
  2026-12-31 reads up to 2026-Q3; the unfinished 2026-Q4 is not missed yet, even
  when a scorecard for it is stored). Key: the last quarter of the run (``2026-Q3``).

The defaults (:data:`DEFAULTS`) are written on first use by ``hopchain``. Finance,
channel managers and admins set and disable thresholds (:data:`SETTERS`), audited as
``credit.threshold_set`` with ``{field: [before, after]}``; the credit readers read them.

:func:`check` evaluates every enabled threshold for every distributor with a limit or
open items (exposure from :func:`risk.exposure.exposures_in`) and raises alerts with
:func:`risk.credit_alerts.raise_alert`, which never raises the same twice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from partners.audit import changes, now_ms, record
from partners.errors import Acting, PartnerNotFound, require
from partners.values import InvalidField, check_choice
from risk.assessment import reassess_changed_in
from risk.credit_alerts import ALERT_READERS, ALERT_WRITERS, CreditAlertView, raise_alert
from risk.exposure import exposures_in
from risk.models import HealthScore, RiskThreshold
from settlement.models import PartnerScore

__all__ = [
    "DEFAULTS",
    "RANGES",
    "SETTERS",
    "THRESHOLD_KINDS",
    "CheckReport",
    "ThresholdView",
    "check",
    "disable_threshold",
    "ensure_defaults",
    "kpi_misses",
    "list_thresholds",
    "set_threshold",
    "threshold_json",
    "thresholds_in",
]

THRESHOLD_KINDS = ("utilisation", "overdue", "health_drop", "kpi_miss")
#: The thresholds written on first use.
DEFAULTS = (
    ("utilisation", 90),
    ("overdue", 30),
    ("overdue", 60),
    ("overdue", 90),
    ("health_drop", 10),
    ("kpi_miss", 2),
)
#: The values each kind takes (inclusive): per cent, days, points, quarters.
RANGES = {
    "utilisation": (1, 1000),
    "overdue": (1, 3650),
    "health_drop": (1, 100),
    "kpi_miss": (1, 12),
}
SETTERS = ("finance", "channel_manager", "admin")
SYSTEM = "hopchain"


@dataclass(frozen=True, slots=True)
class ThresholdView:
    """One threshold: kind, value (unit by kind), whether it is checked and whether
    crossing it also sends e-mail; who set it last and when (epoch ms)."""

    id: int
    kind: str
    value: int
    enabled: bool
    emails: bool
    set_by: str
    set_ms: int


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What :func:`check` did on ``on``: the alerts it raised (``new``), those that
    were raised before for the same crossing (``already``) and how many parties it
    read."""

    on: str
    parties: int
    new: tuple[CreditAlertView, ...]
    already: tuple[CreditAlertView, ...]
    #: codes of the parties whose risk level changed with their record, and the new level
    reassessed: tuple[tuple[str, str], ...] = ()


def _view(t: RiskThreshold) -> ThresholdView:
    return ThresholdView(t.id, t.kind, t.value, t.enabled, t.emails, t.set_by, t.set_ms)


def threshold_json(t: ThresholdView) -> dict[str, Any]:
    """A threshold as the API answers it."""
    return {
        "id": t.id, "kind": t.kind, "value": t.value, "enabled": t.enabled, "emails": t.emails,
        "set_by": t.set_by, "set_ms": t.set_ms,
    }  # fmt: skip


def ensure_defaults(s: Session) -> None:
    """Write :data:`DEFAULTS` of every kind that has no threshold yet (by ``hopchain``)."""
    kinds = set(s.scalars(select(RiskThreshold.kind).distinct()))
    stamp = now_ms()
    for kind, value in DEFAULTS:
        if kind not in kinds:
            s.add(RiskThreshold(kind=kind, value=value, enabled=True, emails=True,
                                set_by=SYSTEM, set_ms=stamp))  # fmt: skip
    s.flush()


def thresholds_in(s: Session) -> list[ThresholdView]:
    """Every threshold (defaults written first), by kind then value."""
    ensure_defaults(s)
    rows = s.scalars(select(RiskThreshold)).all()
    order = {k: i for i, k in enumerate(THRESHOLD_KINDS)}
    return sorted((_view(t) for t in rows), key=lambda t: (order.get(t.kind, 9), t.value))


def list_thresholds(engine: Engine, actor: Acting) -> list[ThresholdView]:
    """Every threshold for a credit reader (``PartnerDenied`` else)."""
    require(actor, *ALERT_READERS, action="read credit thresholds")
    with Session(engine) as s, s.begin():
        return thresholds_in(s)


def _value(kind: str, value: Any) -> int:
    low, high = RANGES[kind]
    text = str(value).strip() if value is not None else ""
    if isinstance(value, bool) or not text.isdigit() or not low <= int(text) <= high:
        raise InvalidField.said(
            "threshold_value",
            "%(value)s is not a whole number from %(low)s to %(high)s",
            field="value",
            value=text,
            low=low,
            high=high,
        )
    return int(text)


def set_threshold(
    engine: Engine,
    actor: Acting,
    kind: str,
    value: Any,
    *,
    enabled: bool = True,
    emails: bool = True,
) -> ThresholdView:
    """Add or change the threshold ``(kind, value)`` (``value`` a whole number in
    :data:`RANGES`); audited. Raises ``InvalidField`` naming ``kind`` or ``value``,
    ``PartnerDenied`` for a role not in :data:`SETTERS`."""
    require(actor, *SETTERS, action="set credit thresholds")
    kind = check_choice(str(kind), "kind", THRESHOLD_KINDS)
    number = _value(kind, value)
    with Session(engine) as s, s.begin():
        ensure_defaults(s)
        row = s.scalar(
            select(RiskThreshold).where(RiskThreshold.kind == kind, RiskThreshold.value == number)
        )
        before = {} if row is None else {"enabled": row.enabled, "emails": row.emails}
        if row is None:
            row = RiskThreshold(kind=kind, value=number, set_by=actor.username, set_ms=now_ms())
            s.add(row)
        diff = changes(before, {"enabled": bool(enabled), "emails": bool(emails)})
        if diff:
            row.enabled, row.emails = bool(enabled), bool(emails)
            row.set_by, row.set_ms = actor.username, now_ms()
            record(s, "credit.threshold_set", actor,
                   detail={"kind": kind, "value": number, **diff})  # fmt: skip
        s.flush()
        return _view(row)


def disable_threshold(engine: Engine, actor: Acting, kind: str, value: Any) -> ThresholdView:
    """Stop checking threshold ``(kind, value)`` (kept, re-enabled by
    :func:`set_threshold`). Raises ``PartnerNotFound`` when there is none."""
    require(actor, *SETTERS, action="set credit thresholds")
    kind = check_choice(str(kind), "kind", THRESHOLD_KINDS)
    number = _value(kind, value)
    with Session(engine) as s:
        ensure_defaults(s)
        s.commit()
        row = s.scalar(
            select(RiskThreshold).where(RiskThreshold.kind == kind, RiskThreshold.value == number)
        )
        if row is None:
            raise PartnerNotFound.said(
                "no_threshold", "no %(kind)s threshold of %(value)s", kind=kind, value=number
            )
        emails = row.emails
    return set_threshold(engine, actor, kind, number, enabled=False, emails=emails)


def _quarter(day: dt.date) -> str:
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


def _previous_quarter(q: str) -> str:
    year, n = int(q[:4]), int(q[-1])
    return f"{year - 1:04d}-Q4" if n == 1 else f"{year:04d}-Q{n - 1}"


def kpi_misses(s: Session, party_id: int, on: dt.date) -> list[dict[str, str]]:
    """The run of quarters in a row below target ending at the party's latest scored
    quarter completed before ``on``'s quarter: ``[{"quarter", "basis"}, ...]`` latest
    first (empty when the latest was not a miss). See the module's text for what a
    miss reads."""
    rows = s.execute(
        select(PartnerScore.quarter, PartnerScore.breakdown_json)
        .where(PartnerScore.party_id == party_id, PartnerScore.quarter < _quarter(on))
        .order_by(PartnerScore.quarter.desc())
    ).all()
    by_quarter = {q: json.loads(b) for q, b in rows}
    out: list[dict[str, str]] = []
    q = rows[0][0] if rows else None
    while q is not None and q in by_quarter:
        target = by_quarter[q].get("target") or {}
        basis = str(target.get("basis", ""))
        if basis.startswith("no target") or "value" not in target:
            break
        if float(target["value"]) >= 1:
            break
        out.append({"quarter": q, "basis": basis})
        q = _previous_quarter(q)
    return out


def _health_pair(s: Session, party_id: int, on: dt.date) -> tuple[Any, Any] | None:
    rows = s.execute(
        select(HealthScore.computed_on, HealthScore.score)
        .where(HealthScore.party_id == party_id, HealthScore.computed_on <= on.isoformat())
        .order_by(HealthScore.computed_on.desc())
        .limit(2)
    ).all()
    return (rows[1], rows[0]) if len(rows) == 2 else None


def check(
    engine: Engine, actor: Acting, on: dt.date, *, party_ids: Collection[int] | None = None
) -> CheckReport:
    """Re-assess the risk level of every rated party whose record changed it
    (:func:`risk.assessment.reassess_changed_in`: the matrix's action follows), then
    evaluate every enabled threshold on ``on`` for every distributor with a limit
    in force or open items (only ``party_ids`` when given) and raise the alerts
    crossed, each once (see the module's text for the keys and the figures in each
    alert's ``detail``: money in minor units with its ``currency``). Raises
    ``PartnerDenied`` for a role that may not act on credit alerts."""
    require(actor, *ALERT_WRITERS, action="check credit thresholds")
    new: list[CreditAlertView] = []
    already: list[CreditAlertView] = []
    iso = on.isoformat()
    with Session(engine) as s, s.begin():
        # the risk level follows behaviour first (a high level's alert is then new)
        levels = reassess_changed_in(s, actor, on, party_ids=party_ids)
        enabled = [t for t in thresholds_in(s) if t.enabled]
        values = {k: sorted(t.value for t in enabled if t.kind == k) for k in THRESHOLD_KINDS}
        exposures = exposures_in(s, party_ids, on)
        watched = [
            e for _pid, e in sorted(exposures.items()) if e.limit_minor is not None or e.items
        ]

        def alert(party_id: int, kind: str, key: str, detail: dict[str, Any]) -> None:
            view, fresh = raise_alert(s, party_id, kind, key, {**detail, "on": iso})
            (new if fresh else already).append(view)

        for e in watched:
            if e.limit_minor and e.limit_minor > 0:
                crossed = [
                    v for v in values["utilisation"] if e.total_minor * 100 >= v * e.limit_minor
                ]
                for v in crossed:
                    alert(e.party_id, "utilisation", f"{on:%Y-%m}|{v}", {
                        "threshold": v, "exposure_minor": e.total_minor,
                        "limit_minor": e.limit_minor, "currency": e.currency,
                        "utilisation_permille": e.utilisation_permille,
                    })  # fmt: skip
            for item in e.items:
                days = item.days_overdue(on)
                crossed = [v for v in values["overdue"] if days >= v and item.open_minor > 0]
                if crossed:
                    v = crossed[-1]
                    alert(e.party_id, "overdue", f"{item.item}|{v}", {
                        "threshold": v, "item": item.item, "days_overdue": days,
                        "due_on": str(item.due_on), "open_minor": item.open_minor,
                        "amount_minor": item.amount_minor, "currency": item.currency,
                    })  # fmt: skip
            pair = _health_pair(s, e.party_id, on) if values["health_drop"] else None
            if pair is not None:
                (before_on, before), (after_on, after) = pair
                crossed = [v for v in values["health_drop"] if before - after >= v]
                if crossed:
                    alert(e.party_id, "health_drop", str(after_on), {
                        "threshold": crossed[-1], "from": before, "to": after,
                        "from_on": str(before_on), "to_on": str(after_on),
                    })  # fmt: skip
            if values["kpi_miss"]:
                run = kpi_misses(s, e.party_id, on)
                crossed = [v for v in values["kpi_miss"] if len(run) >= v]
                if crossed:
                    alert(e.party_id, "kpi_miss", run[0]["quarter"], {
                        "threshold": crossed[-1], "quarters": run[: crossed[-1]],
                    })  # fmt: skip
    return CheckReport(
        iso, len(watched), tuple(new), tuple(already),
        tuple((code, view.level) for code, view in levels),
    )  # fmt: skip
