"""Partner class scorecard: each quarter, distributors are ranked A/B/C.

Each indicator is scaled to 0..1 (1 = best), the score is their weighted mean
x 100, and the class follows from configurable thresholds. The breakdown of every
score is stored with it so a distributor can see why it got its class; the class
of the last scored quarter before a run is what the run's class multiplier uses.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Checkpoint, Party
from partners.in_force import parties_in_force
from settlement import kernels as K
from settlement.common import (
    Actor,
    SettlementError,
    months_of,
    now_ms,
    period_bounds,
    prior_year_period,
)
from settlement.detection import DIVERSION_TYPES
from settlement.models import Alert, PartnerScore, SalesTarget
from settlement.snapshot import load_snapshot

__all__ = [
    "INDICATORS",
    "PartnerScoreView",
    "ScoreConfig",
    "list_partner_scores",
    "score_indicators",
    "score_partners",
]

INDICATORS = ("target", "growth", "diversion", "returns", "timeliness")


@dataclass(frozen=True, slots=True)
class ScoreConfig:
    """Weights (any positive scale), class thresholds on the 0..100 score, and the
    returns rate that scores zero and the receipt delay still counted as on time."""

    weights: Mapping[str, Decimal] = field(
        default_factory=lambda: {
            "target": Decimal("0.30"),
            "growth": Decimal("0.20"),
            "diversion": Decimal("0.25"),
            "returns": Decimal("0.15"),
            "timeliness": Decimal("0.10"),
        }
    )
    thresholds: Mapping[str, Decimal] = field(
        default_factory=lambda: {"A": Decimal(80), "B": Decimal(60)}
    )
    max_returns_rate: Decimal = Decimal("0.2")
    timely_hours: int = 48

    def check(self) -> None:
        if set(self.weights) != set(INDICATORS):
            raise SettlementError(
                f"weights must name exactly {INDICATORS}, got {sorted(self.weights)}"
            )
        if any(w < 0 for w in self.weights.values()) or sum(self.weights.values()) <= 0:
            raise SettlementError("weights must be >= 0 and not all zero")
        if set(self.thresholds) != {"A", "B"} or self.thresholds["A"] < self.thresholds["B"]:
            raise SettlementError("thresholds need A >= B (C is everything below B)")
        if self.max_returns_rate <= 0:
            raise SettlementError("max_returns_rate must be positive")


@dataclass(frozen=True, slots=True)
class PartnerScoreView:
    party_id: int
    party_code: str
    quarter: str
    score: Decimal
    partner_class: str
    breakdown: dict[str, dict[str, str]]


def _clamp(x: Decimal) -> Decimal:
    return max(Decimal(0), min(Decimal(1), x))


def score_indicators(
    *,
    net_units: int,
    target_units: int | None,
    prior_units: int,
    confirmed_alerts: int,
    gross_units: int,
    returned_units: int,
    receipts: int,
    timely_receipts: int,
    config: ScoreConfig,
) -> tuple[Decimal, str, dict[str, dict[str, str]]]:
    """Score, class and breakdown from a distributor's quarter; pure, for hand checks."""
    config.check()
    raw: dict[str, tuple[Decimal, str]] = {}
    if target_units:
        raw["target"] = (
            _clamp(Decimal(net_units) / Decimal(target_units)),
            f"{net_units} of target {target_units} units",
        )
    else:
        raw["target"] = (Decimal("0.5"), "no target set: neutral")
    if prior_units > 0:
        g = (Decimal(net_units) - prior_units) / Decimal(prior_units)
        raw["growth"] = (_clamp(Decimal("0.5") + g), f"{net_units} vs {prior_units} a year before")
    else:
        raw["growth"] = (Decimal("0.5"), "no sales a year before: neutral")
    raw["diversion"] = (
        Decimal(1) / Decimal(1 + confirmed_alerts),
        f"{confirmed_alerts} confirmed diversion alerts",
    )
    if gross_units > 0:
        rate = Decimal(returned_units) / Decimal(gross_units)
        raw["returns"] = (
            _clamp(1 - rate / config.max_returns_rate),
            f"{returned_units} of {gross_units} units returned",
        )
    else:
        raw["returns"] = (Decimal(1), "nothing sold in")
    if receipts > 0:
        raw["timeliness"] = (
            Decimal(timely_receipts) / Decimal(receipts),
            f"{timely_receipts} of {receipts} receipts within {config.timely_hours} h",
        )
    else:
        raw["timeliness"] = (Decimal(1), "no receipts")
    total_w = sum(config.weights.values())
    score = Decimal(0)
    breakdown: dict[str, dict[str, str]] = {}
    for name in INDICATORS:
        value, why = raw[name]
        w = config.weights[name]
        points = Decimal(100) * w * value / total_w
        score += points
        breakdown[name] = {
            "value": str(value.quantize(Decimal("0.0001"))),
            "weight": str(w),
            "points": str(points.quantize(Decimal("0.01"))),
            "basis": why,
        }
    score = score.quantize(Decimal("0.01"))
    cls = (
        "A" if score >= config.thresholds["A"] else "B" if score >= config.thresholds["B"] else "C"
    )
    return score, cls, breakdown


def score_partners(
    engine: Engine,
    quarter: str,
    user: Actor,
    *,
    config: ScoreConfig | None = None,
    tree_size: int | None = None,
) -> list[PartnerScoreView]:
    """Score every distributor for ``quarter`` (``YYYY-Qn``) and store the results
    (scoring a quarter again replaces its scores). A distributor with no agreement
    in force during the quarter (:func:`partners.in_force.parties_in_force`) and no
    sales or returns in it is not scored (a partner signed later, one that left)."""
    user.require("finance", "channel_manager", "admin", action="score partners")
    if "Q" not in quarter:
        raise SettlementError(f"scorecards are quarterly: expected YYYY-Qn, got {quarter!r}")
    cfg = config or ScoreConfig()
    cfg.check()
    start, end = period_bounds(quarter)
    p_start, p_end = period_bounds(prior_year_period(quarter))
    months = months_of(quarter)
    with Session(engine) as s, s.begin():
        q = select(Checkpoint).order_by(Checkpoint.tree_size.desc())
        if tree_size is not None:
            q = q.where(Checkpoint.tree_size == tree_size)
        cp = s.scalars(q.limit(1)).first()
        if cp is None:
            raise SettlementError("no signed checkpoint to score from")
        snap = load_snapshot(s.connection(), cp.tree_size)
        n_parts = max(os.cpu_count() or 1, 1)
        price = np.zeros((max(len(snap.currencies), 1), max(len(snap.products), 1)), np.int64)
        none = np.zeros(snap.unit_ids.shape[0], dtype=np.bool_)
        args = (snap.unit, snap.kind, snap.party, snap.counterparty, snap.at_ms, snap.unit_product,
                snap.party_kind, snap.party_currency, price, none)  # fmt: skip
        cur = K.aggregate_sales(*args, start, end, n_parts)
        old = K.aggregate_sales(*args, p_start, p_end, n_parts)
        timely = K.receipt_timeliness(
            snap.unit, snap.kind, snap.party, snap.counterparty, snap.at_ms, snap.unit_product,
            len(snap.party_ids), start, end, cfg.timely_hours * 3_600_000, n_parts,
        )  # fmt: skip
        targets: dict[int, int] = {}
        for t in s.scalars(
            select(SalesTarget).where(
                SalesTarget.period.in_(months), SalesTarget.measure == "units"
            )
        ):
            targets[t.party_id] = targets.get(t.party_id, 0) + (t.units or 0)
        alerts: dict[int, int] = {}
        for pid in s.scalars(
            select(Alert.party_id).where(
                Alert.status == "confirmed",
                Alert.finding_type.in_(DIVERSION_TYPES),
                Alert.period.in_(months),
            )
        ):
            if pid is not None:
                alerts[pid] = alerts.get(pid, 0) + 1
        for old_row in s.scalars(select(PartnerScore).where(PartnerScore.quarter == quarter)):
            s.delete(old_row)
        s.flush()
        out = []
        stamp = now_ms()
        under_agreement = parties_in_force(s, start, end)
        for pi in np.flatnonzero(snap.party_is_distributor).tolist():
            pid = int(snap.party_ids[pi])
            c, o = cur[pi, 0], old[pi, 0]
            if pid not in under_agreement and not c[K.S_GROSS_U] and not c[K.S_RET_U]:
                continue  # no agreement in force and nothing sold: nothing to score
            net = int(c[K.S_GROSS_U] - c[K.S_RET_U] - c[K.S_EXCL_U])
            score, cls, breakdown = score_indicators(
                net_units=net,
                target_units=targets.get(pid),
                prior_units=int(o[K.S_GROSS_U] - o[K.S_RET_U] - o[K.S_EXCL_U]),
                confirmed_alerts=alerts.get(pid, 0),
                gross_units=int(c[K.S_GROSS_U]),
                returned_units=int(c[K.S_RET_U]),
                receipts=int(timely[pi, 0]),
                timely_receipts=int(timely[pi, 1]),
                config=cfg,
            )
            s.add(
                PartnerScore(
                    party_id=pid, quarter=quarter, score=str(score), partner_class=cls,
                    breakdown_json=json.dumps(breakdown, sort_keys=True),
                    tree_size=cp.tree_size, created_ms=stamp,
                )
            )  # fmt: skip
            out.append(PartnerScoreView(pid, snap.party_codes[pi], quarter, score, cls, breakdown))
        out.sort(key=lambda v: (-v.score, v.party_code))
        return out


def list_partner_scores(engine: Engine, quarter: str) -> list[PartnerScoreView]:
    """Stored scores of a quarter, best first, with their breakdowns."""
    with Session(engine) as s:
        rows = s.execute(
            select(PartnerScore, Party.code)
            .join(Party, Party.id == PartnerScore.party_id)
            .where(PartnerScore.quarter == quarter)
        ).all()
        out = [
            PartnerScoreView(
                sc.party_id,
                code,
                sc.quarter,
                Decimal(sc.score),
                sc.partner_class,
                json.loads(sc.breakdown_json),
            )
            for sc, code in rows
        ]
    out.sort(key=lambda v: (-v.score, v.party_code))
    return out
