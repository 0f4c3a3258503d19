"""Rebate programs: rules as JSON, versioned, valid for a span of periods.

A version is never edited: changing a program adds a version, and a run records
the version ids it used, so a posted run can always be recomputed from the rules
it actually applied. Rules are validated when a version is added, so a run never
discovers a typo at month end.

Rules JSON (money in minor units of ``currency``; rates as decimal strings)::

    {"currency": "EUR", "basis": "sell_in" | "sell_through",
     "measure": "volume" | "value", "mode": "retroactive" | "incremental",
     "tiers": [{"threshold": 100, "rate": "50"}, ...],
     "class_multipliers": {"A": "1.1", "B": "1", "C": "0.9"}, "default_class": "B",
     "growth": {"rate": "0.02", "new_distributor": "none" | "all"},        (optional)
     "kpi": {"floor": "0.6", "pro_rata": true},                            (optional)
     "penalties": {"fine_per_unit": 2000, "escalation": ["1", "1.5", "2"],  (optional)
                   "forfeiture": true, "whistleblower_share": "0.1"}}

Volume tiers pay ``rate`` minor units per unit; value tiers pay ``rate`` x value.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from settlement.common import Actor, SettlementError, months_of, now_ms
from settlement.models import Program, ProgramVersion
from settlement.rules.growth import NEW_DISTRIBUTOR_RULES
from settlement.rules.money import RuleError, to_decimal
from settlement.rules.tiers import MEASURES, MODES, Tier

__all__ = [
    "BASES",
    "GrowthRule",
    "KpiRule",
    "PenaltyRule",
    "ProgramRules",
    "add_program_version",
    "create_program",
    "parse_rules",
    "versions_for_period",
]

BASES = ("sell_in", "sell_through")
_CCY = re.compile(r"^[A-Z]{3}$")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class GrowthRule:
    rate: Decimal
    new_distributor: str


@dataclass(frozen=True, slots=True)
class KpiRule:
    floor: Decimal
    pro_rata: bool


@dataclass(frozen=True, slots=True)
class PenaltyRule:
    fine_per_unit: int
    escalation: tuple[Decimal, ...]
    forfeiture: bool
    whistleblower_share: Decimal


@dataclass(frozen=True, slots=True)
class ProgramRules:
    currency: str
    basis: str
    measure: str
    mode: str
    tiers: tuple[Tier, ...]
    class_multipliers: dict[str, Decimal]
    default_class: str
    growth: GrowthRule | None
    kpi: KpiRule | None
    penalties: PenaltyRule | None


def _get(raw: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in raw:
        raise RuleError(f"{where}: missing {key!r}")
    return raw[key]


def _choice(raw: Mapping[str, Any], key: str, options: tuple[str, ...], where: str) -> str:
    v = _get(raw, key, where)
    if v not in options:
        raise RuleError(f"{where}: {key} must be one of {options}, got {v!r}")
    return str(v)


def _money(v: Any, what: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise RuleError(f"{what} must be integer minor units >= 0, got {v!r}")
    return v


def parse_rules(raw: Mapping[str, Any]) -> ProgramRules:
    """Validate rules JSON; every error names the field at fault."""
    w = "program rules"
    if not isinstance(raw, Mapping):
        raise RuleError(f"{w} must be a JSON object")
    ccy = _get(raw, "currency", w)
    if not isinstance(ccy, str) or not _CCY.match(ccy):
        raise RuleError(f"{w}: currency must be an ISO 4217 code like 'EUR', got {ccy!r}")
    tiers_raw = _get(raw, "tiers", w)
    if not isinstance(tiers_raw, list) or not tiers_raw:
        raise RuleError(f"{w}: tiers must be a non-empty list")
    tiers = tuple(Tier.parse(t, f"{w}: tiers[{i}]") for i, t in enumerate(tiers_raw))
    for a, b in itertools.pairwise(tiers):
        if b.threshold <= a.threshold:
            raise RuleError(f"{w}: tier thresholds must increase ({a.threshold}, {b.threshold})")
    mult_raw = raw.get("class_multipliers", {"A": "1", "B": "1", "C": "1"})
    if not isinstance(mult_raw, Mapping) or not set(mult_raw) >= {"A", "B", "C"}:
        raise RuleError(f"{w}: class_multipliers needs A, B and C")
    mult = {str(k): to_decimal(v, f"{w}: class_multipliers.{k}") for k, v in mult_raw.items()}
    default_class = str(raw.get("default_class", "B"))
    if default_class not in mult:
        raise RuleError(f"{w}: default_class {default_class!r} has no multiplier")
    growth = None
    if raw.get("growth") is not None:
        g = raw["growth"]
        growth = GrowthRule(
            to_decimal(_get(g, "rate", f"{w}: growth"), f"{w}: growth.rate"),
            _choice(g, "new_distributor", NEW_DISTRIBUTOR_RULES, f"{w}: growth"),
        )
    kpi = None
    if raw.get("kpi") is not None:
        k = raw["kpi"]
        floor = to_decimal(_get(k, "floor", f"{w}: kpi"), f"{w}: kpi.floor")
        if not 0 <= floor <= 1:
            raise RuleError(f"{w}: kpi.floor must be between 0 and 1, got {floor}")
        kpi = KpiRule(floor, bool(k.get("pro_rata", True)))
    penalties = None
    if raw.get("penalties") is not None:
        p = raw["penalties"]
        steps = p.get("escalation", ["1"])
        if not isinstance(steps, list) or not steps:
            raise RuleError(f"{w}: penalties.escalation must be a non-empty list")
        share = to_decimal(p.get("whistleblower_share", "0"), f"{w}: whistleblower_share")
        if not 0 <= share <= 1:
            raise RuleError(f"{w}: penalties.whistleblower_share must be in [0, 1], got {share}")
        penalties = PenaltyRule(
            _money(_get(p, "fine_per_unit", f"{w}: penalties"), f"{w}: penalties.fine_per_unit"),
            tuple(to_decimal(s, f"{w}: penalties.escalation") for s in steps),
            bool(p.get("forfeiture", True)),
            share,
        )
    return ProgramRules(
        currency=ccy,
        basis=_choice(raw, "basis", BASES, w),
        measure=_choice(raw, "measure", MEASURES, w),
        mode=_choice(raw, "mode", MODES, w),
        tiers=tiers,
        class_multipliers=mult,
        default_class=default_class,
        growth=growth,
        kpi=kpi,
        penalties=penalties,
    )


def create_program(engine: Engine, code: str, name: str, actor: Actor) -> int:
    actor.require("finance", "admin", action="create rebate programs")
    if not code.strip():
        raise SettlementError("a program needs a code")
    with Session(engine) as s, s.begin():
        if s.scalar(select(Program.id).where(Program.code == code)) is not None:
            raise SettlementError(f"program {code!r} already exists")
        p = Program(code=code, name=name)
        s.add(p)
        s.flush()
        return p.id


def add_program_version(
    engine: Engine,
    program_code: str,
    valid_from: str,
    valid_to: str | None,
    rules: Mapping[str, Any],
    actor: Actor,
) -> int:
    """Add the next version of a program; returns its id (what runs record)."""
    actor.require("finance", "admin", action="change rebate programs")
    for label, month in (("valid_from", valid_from), ("valid_to", valid_to)):
        if month is not None and not _MONTH.match(month):
            raise SettlementError(f"{label} must be a YYYY-MM month, got {month!r}")
    if valid_to is not None and valid_to < valid_from:
        raise SettlementError(f"valid_to {valid_to} is before valid_from {valid_from}")
    parse_rules(rules)
    with Session(engine) as s, s.begin():
        pid = s.scalar(select(Program.id).where(Program.code == program_code))
        if pid is None:
            raise SettlementError(f"no program {program_code!r}")
        last = s.scalar(
            select(func.max(ProgramVersion.version)).where(ProgramVersion.program_id == pid)
        )
        pv = ProgramVersion(
            program_id=pid,
            version=(last or 0) + 1,
            valid_from=valid_from,
            valid_to=valid_to,
            rules_json=json.dumps(rules, sort_keys=True, separators=(",", ":")),
            created_ms=now_ms(),
            created_by=actor.username,
        )
        s.add(pv)
        s.flush()
        return pv.id


def versions_for_period(s: Session, period: str) -> list[tuple[str, ProgramVersion, ProgramRules]]:
    """The latest version of each program valid for every month of ``period``, by code."""
    months = months_of(period)
    first, last = months[0], months[-1]
    out = []
    for prog in s.scalars(select(Program).order_by(Program.code)):
        versions = s.scalars(
            select(ProgramVersion)
            .where(ProgramVersion.program_id == prog.id)
            .order_by(ProgramVersion.version.desc())
        )
        for v in versions:
            if v.valid_from <= first and (v.valid_to is None or v.valid_to >= last):
                out.append((prog.code, v, parse_rules(json.loads(v.rules_json))))
                break
    return out
