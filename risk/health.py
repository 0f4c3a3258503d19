"""Health score (0-100) per distributor, from five parts, stored per day.

Source: seed 000 (伙伴开发阶段总览 §三 客户关系管理 CRM: 客户健康度评分, and its risk
matrix: a low score calls for closer monitoring) and seed 003 (§二(三) quarterly
communication; §六 风险识别与评估: credit risk monitoring). The parts and their
formulas are ours; each part is 0-100 (100 healthy), rounded half-even to 0.01:

==============  ======  ========================================================
part            weight  formula
==============  ======  ========================================================
trend           0.25    the quarterly scorecard (:mod:`settlement.scorecard`):
                        latest score S1 plus its change since the quarter before,
                        ``S1 + (S1 - S0)``, clamped to 0-100; one scored quarter
                        only: S1; none: no data
diversion       0.25    ``100 / (1 + n)``, n = confirmed diversion alerts
                        (out_of_zone, cross_region) of the party in the 12
                        months ending with ``today``'s month (by alert period);
                        n = 0 for a party never scored (no scorecard: none of
                        its sales checked yet) is no data, not a clean record
receivables     0.20    overdue amount O vs the credit limit L of the signed
                        agreement in force on ``today``: nothing overdue 100;
                        ``100 x (1 - O / L)`` clamped; O > 0 without a credit
                        limit 0. Overdue: what it owes (receivable movements in
                        its currency, payments settling the oldest first) booked
                        more than the agreement's payment terms (default 30 days)
                        before ``today``
target          0.15    the target indicator of the latest scorecard: net units
                        vs the quarter's sales targets (0..1, x 100); a quarter
                        without a target: no data
recency         0.15    days d since the last interaction (:mod:`partners.crm`):
                        100 up to 30 days, 0 from 120, ``100 x (120 - d) / 90``
                        between; no interaction ever: 0 (the rules ask for a
                        meeting every quarter, so silence counts against it)
==============  ======  ========================================================

Score = ``sum(part x weight) / sum(weight)`` over the parts with data (a part
without data says "no data" and the others are re-weighted), rounded half-even to
a whole number — but only when the parts with data weigh at least
:data:`MIN_COVERAGE` (half) of all the weight. Below that the party has **no
score** ("not enough data", issue 12: re-weighting two clean-by-default parts gave
a brand-new party 75): :func:`compute_health` stores no row for it that day,
returns it with ``score`` None and ``why`` naming the parts without data, and
raises no task. A small missing share (a quarter without a target) is re-weighted.

:func:`compute_health` stores one :class:`risk.models.HealthScore` per party and
day (computing again the same day replaces it). A score that fell by at least
``threshold`` (default :data:`DROP_THRESHOLD`, 15) points from the party's
previous stored score, or that fell below :data:`LOW_SCORE` (40) from 40 or more
(or on its first computation), raises a ``health_drop`` task for the partner
manager (one open at a time per party, :func:`partners.tasks.raise_task`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.audit import now_ms
from partners.errors import Acting, PartnerError, PartnerNotFound, require
from partners.models import Agreement, Interaction
from partners.tasks import raise_task
from risk.models import HealthScore
from settlement.detection import DIVERSION_TYPES
from settlement.models import Alert, PartnerScore, ReceivableMovement

__all__ = [
    "COMPUTERS",
    "DROP_THRESHOLD",
    "HEALTH_PARTS",
    "HEALTH_STATUSES",
    "LOW_SCORE",
    "MIN_COVERAGE",
    "PART_WEIGHTS",
    "READERS",
    "HealthPart",
    "HealthView",
    "combine",
    "compute_health",
    "diversion_part",
    "health_history",
    "health_json",
    "overdue_receivable",
    "receivables_part",
    "recency_part",
    "trend_part",
]

HEALTH_PARTS = ("trend", "diversion", "receivables", "target", "recency")
PART_WEIGHTS: Mapping[str, Decimal] = {
    "trend": Decimal("0.25"),
    "diversion": Decimal("0.25"),
    "receivables": Decimal("0.20"),
    "target": Decimal("0.15"),
    "recency": Decimal("0.15"),
}
DROP_THRESHOLD = 15
#: The least share of the total weight the parts with data must carry for a score.
MIN_COVERAGE = Decimal("0.5")
LOW_SCORE = 40
DEFAULT_TERMS_DAYS = 30
#: Party statuses that get a health score.
HEALTH_STATUSES = ("active", "trial", "suspended", "exiting")
COMPUTERS = ("partner_manager", "channel_manager", "admin")
READERS = ("partner_manager", "channel_manager", "finance", "auditor", "admin")

_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class HealthPart:
    """One part: ``value`` 0-100 (None: no data), its weight and why."""

    name: str
    value: Decimal | None
    weight: Decimal
    basis: str


@dataclass(frozen=True, slots=True)
class HealthView:
    """A stored score of a party on ``computed_on`` (ISO date) with its parts;
    ``task_id`` the health_drop task this computation raised (None: none);
    ``score`` None when the data covers too little of the weight (``why`` says
    which parts have none; such a result is returned, never stored)."""

    party_id: int
    party_code: str
    computed_on: str
    score: int | None
    parts: tuple[HealthPart, ...]
    previous: int | None = None
    task_id: int | None = None
    why: str = ""


def _clamp(x: Decimal) -> Decimal:
    return max(Decimal(0), min(Decimal(100), x)).quantize(_CENT, ROUND_HALF_EVEN)


# ------------------------------------------------------------------ the parts (pure)


def trend_part(scores: list[tuple[str, Decimal]]) -> tuple[Decimal | None, str]:
    """From the party's scored quarters ``[(quarter, score)]`` oldest first."""
    if not scores:
        return None, "no data: no scorecard"
    q1, s1 = scores[-1]
    if len(scores) == 1:
        return _clamp(s1), f"{q1} score {s1}"
    q0, s0 = scores[-2]
    return _clamp(s1 + (s1 - s0)), f"{q1} score {s1} vs {q0} {s0}: {s1 - s0:+}"


def diversion_part(confirmed: int) -> tuple[Decimal, str]:
    """From the confirmed diversion alerts of the last 12 months."""
    return _clamp(
        Decimal(100) / (1 + confirmed)
    ), f"{confirmed} confirmed diversion alerts in 12 months"


def overdue_receivable(
    movements: list[tuple[int, int]], today: dt.date, terms_days: int
) -> tuple[int, int]:
    """``(open, overdue)`` minor units from ``[(at_ms, amount_minor)]`` (+ owed, -
    settled): settlements pay the oldest amounts first; what is left of an amount
    booked more than ``terms_days`` before ``today`` is overdue."""
    queue: list[list[int]] = []  # [at_ms, left]
    credit = 0
    for at_ms, amount in sorted(movements):
        if amount > 0:
            take = min(credit, amount)
            credit -= take
            if amount - take:
                queue.append([at_ms, amount - take])
        else:
            pay = -amount
            while pay and queue:
                take = min(pay, queue[0][1])
                queue[0][1] -= take
                pay -= take
                if not queue[0][1]:
                    queue.pop(0)
            credit += pay
    cutoff = dt.datetime.combine(today - dt.timedelta(days=terms_days), dt.time(), dt.UTC)
    cutoff_ms = int(cutoff.timestamp() * 1000)
    return sum(left for _, left in queue), sum(left for at, left in queue if at < cutoff_ms)


def receivables_part(overdue: int, credit_limit: int | None, currency: str) -> tuple[Decimal, str]:
    """From the overdue amount and the credit limit in force (minor units)."""
    if overdue <= 0:
        return Decimal(100).quantize(_CENT), "nothing overdue"
    if not credit_limit:
        return Decimal(0).quantize(
            _CENT
        ), f"{overdue} {currency} minor units overdue, no credit limit"
    return (
        _clamp(Decimal(100) * (1 - Decimal(overdue) / Decimal(credit_limit))),
        f"{overdue} of credit limit {credit_limit} {currency} minor units overdue",
    )


def recency_part(last_on: str | None, today: dt.date) -> tuple[Decimal, str]:
    """From the date of the last interaction (ISO) or None."""
    if last_on is None:
        return Decimal(0).quantize(_CENT), "no interaction recorded"
    d = (today - dt.date.fromisoformat(last_on)).days
    if d <= 30:
        value = Decimal(100)
    elif d >= 120:
        value = Decimal(0)
    else:
        value = Decimal(100) * (120 - d) / 90
    return _clamp(value), f"{d} days since {last_on}"


def _target_part(
    breakdown: Mapping[str, Any] | None, quarter: str | None
) -> tuple[Decimal | None, str]:
    if breakdown is None or "target" not in breakdown:
        return None, "no data: no scorecard"
    t = breakdown["target"]
    if str(t.get("basis", "")).startswith("no target"):
        return None, f"no data: no target in {quarter}"
    return _clamp(Decimal(t["value"]) * 100), f"{quarter}: {t.get('basis', '')}"


def combine(
    parts: Mapping[str, Decimal | None], weights: Mapping[str, Decimal] = PART_WEIGHTS
) -> int | None:
    """The score from the parts (None: no data, re-weighted); None (not enough
    data) when the parts with data weigh less than :data:`MIN_COVERAGE` of all."""
    present = {n: v for n, v in parts.items() if v is not None}
    total_w = sum((weights[n] for n in present), Decimal(0))
    all_w = sum((weights[n] for n in parts), Decimal(0))
    if total_w == 0 or total_w < MIN_COVERAGE * all_w:
        return None
    raw = sum((v * weights[n] for n, v in present.items()), Decimal(0)) / total_w
    return int(raw.quantize(Decimal(1), ROUND_HALF_EVEN))


# ------------------------------------------------------------------ computing


def compute_health(
    engine: Engine,
    actor: Acting,
    today: dt.date | None = None,
    *,
    threshold: int = DROP_THRESHOLD,
) -> list[HealthView]:
    """Compute, store and return every distributor's score on ``today`` (default:
    today, UTC) for parties in :data:`HEALTH_STATUSES`, by party code; raises the
    ``health_drop`` tasks. A fixed number of queries whatever the number of parties.
    Partner managers, channel managers and admins."""
    require(actor, *COMPUTERS, action="compute health scores")
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 1 <= threshold <= 100:
        raise PartnerError.said(
            "health_bad_threshold",
            "threshold: %(value)s is not a whole number of points from 1 to 100",
            value=repr(threshold),
        )
    day = today or dt.datetime.now(dt.UTC).date()
    iso = day.isoformat()
    first_month = dt.date(day.year - (day.month <= 11), (day.month % 12) + 1, 1)
    months = (first_month.strftime("%Y-%m"), day.strftime("%Y-%m"))
    out: list[HealthView] = []
    with Session(engine) as s, s.begin():
        parties = list(
            s.scalars(
                select(Party)
                .where(Party.kind == "distributor", Party.status.in_(HEALTH_STATUSES))
                .order_by(Party.code)
            )
        )
        ids = [p.id for p in parties]
        if not ids:
            return []
        scores: dict[int, list[tuple[str, Decimal, dict[str, Any]]]] = defaultdict(list)
        for sc in s.scalars(
            select(PartnerScore)
            .where(PartnerScore.party_id.in_(ids), PartnerScore.quarter <= _quarter(day))
            .order_by(PartnerScore.quarter)
        ):
            scores[sc.party_id].append(
                (sc.quarter, Decimal(sc.score), json.loads(sc.breakdown_json))
            )
        alerts = dict(
            s.execute(
                select(Alert.party_id, func.count())
                .where(
                    Alert.party_id.in_(ids),
                    Alert.status == "confirmed",
                    Alert.finding_type.in_(DIVERSION_TYPES),
                    Alert.period >= months[0],
                    Alert.period <= months[1],
                )
                .group_by(Alert.party_id)
            ).all()
        )
        moves: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
        for pid, at, amount, ccy in s.execute(
            select(
                ReceivableMovement.party_id,
                ReceivableMovement.at_ms,
                ReceivableMovement.amount_minor,
                ReceivableMovement.currency,
            ).where(ReceivableMovement.party_id.in_(ids))
        ).all():
            moves[pid].append((at, amount, ccy))
        agreements: dict[int, Agreement] = {}
        for row in s.scalars(
            select(Agreement)
            .where(
                Agreement.party_id.in_(ids),
                Agreement.status == "signed",
                Agreement.valid_from <= iso,
                Agreement.valid_to >= iso,
            )
            .order_by(Agreement.valid_from, Agreement.id)
        ):
            agreements[row.party_id] = row  # the latest in force wins
        last_contact = dict(
            s.execute(
                select(Interaction.party_id, func.max(Interaction.happened_on))
                .where(Interaction.party_id.in_(ids), Interaction.happened_on <= iso)
                .group_by(Interaction.party_id)
            ).all()
        )
        previous: dict[int, int] = {}
        for pid, _on, earlier in s.execute(
            select(HealthScore.party_id, HealthScore.computed_on, HealthScore.score)
            .where(HealthScore.party_id.in_(ids), HealthScore.computed_on < iso)
            .order_by(HealthScore.computed_on)
        ).all():
            previous[pid] = earlier  # the latest earlier day wins
        s.execute(
            delete(HealthScore).where(HealthScore.party_id.in_(ids), HealthScore.computed_on == iso)
        )
        stamp = now_ms()
        for p in parties:
            history = scores.get(p.id, [])
            ag = agreements.get(p.id)
            values: dict[str, tuple[Decimal | None, str]] = {}
            values["trend"] = trend_part([(q, sc) for q, sc, _ in history])
            confirmed = int(alerts.get(p.id, 0))
            values["diversion"] = (
                diversion_part(confirmed)
                if confirmed or history
                else (None, "no data: no scorecard, none of its sales checked yet")
            )
            own = [(at, amount) for at, amount, ccy in moves.get(p.id, []) if ccy == p.currency]
            terms = ag.payment_terms_days if ag is not None else DEFAULT_TERMS_DAYS
            _open, overdue = overdue_receivable(own, day, terms)
            values["receivables"] = receivables_part(
                overdue, ag.credit_limit_minor if ag is not None else None, p.currency
            )
            latest = history[-1] if history else None
            values["target"] = _target_part(
                latest[2] if latest else None, latest[0] if latest else None
            )
            values["recency"] = recency_part(last_contact.get(p.id), day)
            parts = tuple(
                HealthPart(n, values[n][0], PART_WEIGHTS[n], values[n][1]) for n in HEALTH_PARTS
            )
            score = combine({n: values[n][0] for n in HEALTH_PARTS})
            before = previous.get(p.id)
            if score is None:
                missing = ", ".join(n for n in HEALTH_PARTS if values[n][0] is None)
                why = f"not enough data: no {missing}"
                out.append(HealthView(p.id, p.code, iso, None, parts, before, None, why))
                continue
            s.add(
                HealthScore(
                    party_id=p.id, computed_on=iso, score=score,
                    parts_json=json.dumps(_parts_json(parts), sort_keys=True, ensure_ascii=False),
                    created_ms=stamp,
                )
            )  # fmt: skip
            task_id = None
            dropped = before is not None and before - score >= threshold
            fell_low = score < LOW_SCORE and (before is None or before >= LOW_SCORE)
            if dropped or fell_low:
                why = (
                    f"from {before} to {score}" if before is not None else f"{score} on first score"
                )
                task = raise_task(
                    s, p.id, "health_drop", f"Health score of {p.code} fell {why} on {iso}",
                    due_on=(day + dt.timedelta(days=7)).isoformat(),
                    detail={"from": before, "to": score, "on": iso},
                )  # fmt: skip
                task_id = task.id
            out.append(HealthView(p.id, p.code, iso, score, parts, before, task_id))
    return out


def _quarter(day: dt.date) -> str:
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


def _parts_json(parts: tuple[HealthPart, ...]) -> dict[str, dict[str, str | None]]:
    return {
        p.name: {
            "value": None if p.value is None else str(p.value),
            "weight": str(p.weight),
            "basis": p.basis,
        }
        for p in parts
    }


def _row_view(row: HealthScore, code: str) -> HealthView:
    raw = json.loads(row.parts_json)
    parts = tuple(
        HealthPart(
            n,
            None if raw[n]["value"] is None else Decimal(raw[n]["value"]),
            Decimal(raw[n]["weight"]),
            raw[n]["basis"],
        )
        for n in HEALTH_PARTS
        if n in raw
    )
    return HealthView(row.party_id, code, row.computed_on, row.score, parts)


def health_history(
    engine: Engine,
    actor: Acting,
    *,
    party_code: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[HealthView], int]:
    """Stored scores, latest day first (then by party code), of one party or all;
    one page and the count (404 for an unknown party)."""
    require(actor, *READERS, action="read health scores")
    with Session(engine) as s:
        q = select(HealthScore, Party.code).join(Party, Party.id == HealthScore.party_id)
        count = select(func.count()).select_from(HealthScore)
        if party_code is not None:
            pid = s.scalar(select(Party.id).where(Party.code == party_code))
            if pid is None:
                raise PartnerNotFound.said("health_no_party", "no party %(code)s", code=party_code)
            q = q.where(HealthScore.party_id == pid)
            count = count.where(HealthScore.party_id == pid)
        total = int(s.scalar(count) or 0)
        rows = s.execute(
            q.order_by(HealthScore.computed_on.desc(), Party.code).offset(offset).limit(limit)
        ).all()
        return [_row_view(r, code) for r, code in rows], total


def health_json(v: HealthView) -> dict[str, Any]:
    """A score as JSON (part values as decimal strings, None for no data)."""
    return {
        "party": v.party_code,
        "computed_on": v.computed_on,
        "score": v.score,
        "previous": v.previous,
        "task_id": v.task_id,
        "why": v.why,
        "parts": [
            {
                "part": p.name,
                "value": None if p.value is None else str(p.value),
                "weight": str(p.weight),
                "basis": p.basis,
            }
            for p in v.parts
        ],
    }
