"""One party's statement from its numbers: a pure function, so it can be tested by
hand and by property, and so the same inputs always hash the same.

The order of lines is fixed (programs by code, then true-up, penalties, rewards,
adjustments, deposit), the total is the integer sum of the lines, and the hash
covers the run's checkpoint and program versions as well as every line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from settlement.common import SettlementError
from settlement.programs import ProgramRules
from settlement.rules import (
    Line,
    class_multiplier_line,
    deposit_deduction,
    fine_line,
    forfeiture_line,
    growth_line,
    kpi_gate_line,
    reward_line,
    tier_lines,
)

__all__ = [
    "AlertCharge",
    "PartyInputs",
    "ProgramInputs",
    "RewardCredit",
    "SettledParty",
    "StatementLineRef",
    "settle_party",
    "statement_hash",
]


@dataclass(frozen=True, slots=True)
class ProgramInputs:
    """A program's rules (money already in the party's currency) and the party's numbers."""

    code: str
    version_id: int
    rules: ProgramRules
    gross_units: int
    returned_units: int
    excluded_units: int
    net_units: int
    net_value: int
    prior_value: int
    target_units: int | None


@dataclass(frozen=True, slots=True)
class AlertCharge:
    """A confirmed diversion alert charged in this run."""

    alert_id: int
    units: int
    prior_offences: int
    forfeit_units: int  # diverted units sold in before this period
    forfeit_value: int


@dataclass(frozen=True, slots=True)
class RewardCredit:
    report_id: int
    penalty: int  # absolute penalty of the report's alert, in this party's currency


@dataclass(frozen=True, slots=True)
class PartyInputs:
    party_code: str
    currency: str
    partner_class: str
    programs: tuple[ProgramInputs, ...]
    charges: tuple[AlertCharge, ...] = ()
    rewards: tuple[RewardCredit, ...] = ()
    adjustments: tuple[tuple[int, int, str], ...] = ()  # (adjustment id, amount, reason)
    partial_rebates: int = 0  # rebate lines already paid by posted partial runs
    deposit_balance: int = 0


@dataclass(frozen=True, slots=True)
class StatementLineRef:
    line: Line
    ref: str  # what the line settles: "program:CODE", "alert:12", "report:3", ...


@dataclass(frozen=True, slots=True)
class SettledParty:
    lines: tuple[StatementLineRef, ...]
    total: int
    deposit_after: int
    alert_penalties: dict[int, int] = field(default_factory=dict)  # alert id -> charged (>= 0)

    @property
    def rebate(self) -> int:
        return sum(r.line.amount for r in self.lines if r.line.category == "rebate")


def _penalty_rules(programs: Sequence[ProgramInputs]) -> ProgramInputs | None:
    with_penalties = [p for p in programs if p.rules.penalties is not None]
    return with_penalties[0] if with_penalties else None


def settle_party(inp: PartyInputs) -> SettledParty:
    """Every line of one party's statement, in a fixed order."""
    out: list[StatementLineRef] = []
    rebate_value = 0
    for prog in inp.programs:
        r = prog.rules
        ref = f"program:{prog.code}"
        start = len(out)
        tiers = tier_lines(r.measure, r.mode, r.tiers, prog.net_units, prog.net_value)
        for ln in tiers:
            basis = (
                f"{ln.basis}; {r.basis} {prog.gross_units} - returned {prog.returned_units}"
                f" - diverted {prog.excluded_units} = {prog.net_units} units"
            )
            out.append(StatementLineRef(Line(ln.rule, ln.category, basis, ln.rate, ln.amount), ref))
        tier_total = sum(ln.amount for ln in tiers)
        out.append(
            StatementLineRef(
                class_multiplier_line(tier_total, inp.partner_class, r.class_multipliers), ref
            )
        )
        if r.growth is not None:
            out.append(
                StatementLineRef(
                    growth_line(
                        prog.net_value, prog.prior_value, r.growth.rate, r.growth.new_distributor
                    ),
                    ref,
                )
            )
        if r.kpi is not None and prog.target_units is not None and prog.target_units > 0:
            so_far = sum(x.line.amount for x in out[start:])
            out.append(
                StatementLineRef(
                    kpi_gate_line(
                        so_far, prog.net_units, prog.target_units, r.kpi.floor, r.kpi.pro_rata
                    ),
                    ref,
                )
            )
        rebate_value += prog.net_value
    if inp.partial_rebates:
        out.append(
            StatementLineRef(
                Line(
                    "partial_trueup",
                    "trueup",
                    f"rebate already paid by partial runs: {inp.partial_rebates}",
                    "1",
                    -inp.partial_rebates,
                ),
                "trueup",
            )
        )
    earned = sum(x.line.amount for x in out if x.line.category == "rebate")
    penalty_prog = _penalty_rules(inp.programs)
    alert_penalties: dict[int, int] = {}
    if inp.charges and penalty_prog is None:
        raise SettlementError(
            f"{inp.party_code} has confirmed alerts but no program defines penalties"
        )
    if penalty_prog is not None and penalty_prog.rules.penalties is not None:
        pen = penalty_prog.rules.penalties
        eff_rate = (
            (Decimal(earned) / Decimal(rebate_value)).quantize(Decimal("0.000001"))
            if rebate_value > 0 and earned > 0
            else Decimal(0)
        )
        for c in inp.charges:
            ref = f"alert:{c.alert_id}"
            fl = fine_line(
                c.units, pen.fine_per_unit, c.prior_offences, pen.escalation, str(c.alert_id)
            )
            out.append(StatementLineRef(fl, ref))
            charged = -fl.amount
            if pen.forfeiture and c.forfeit_units > 0 and eff_rate > 0:
                ff = forfeiture_line(c.forfeit_units, c.forfeit_value, eff_rate, str(c.alert_id))
                out.append(StatementLineRef(ff, ref))
                charged += -ff.amount
            alert_penalties[c.alert_id] = charged
    share = Decimal(0)
    for p in inp.programs:
        if p.rules.penalties is not None:
            share = p.rules.penalties.whistleblower_share
            break
    for rw in inp.rewards:
        out.append(
            StatementLineRef(
                reward_line(rw.penalty, share, str(rw.report_id)), f"report:{rw.report_id}"
            )
        )
    for adj_id, amount, reason in inp.adjustments:
        out.append(
            StatementLineRef(
                Line("adjustment", "adjustment", reason, "1", amount), f"adjustment:{adj_id}"
            )
        )
    total = sum(x.line.amount for x in out)
    dep, balance = deposit_deduction(total, inp.deposit_balance)
    if dep is not None:
        out.append(StatementLineRef(dep, "deposit"))
        total += dep.amount
    return SettledParty(tuple(out), total, balance, alert_penalties)


def statement_hash(
    *,
    period: str,
    kind: str,
    tree_size: int,
    root_hex: str,
    program_versions: Sequence[int],
    party_code: str,
    currency: str,
    partner_class: str,
    lines: Sequence[StatementLineRef],
) -> str:
    """SHA-256 of the statement's canonical JSON (sorted keys, no whitespace)."""
    doc = {
        "period": period,
        "kind": kind,
        "tree_size": tree_size,
        "root": root_hex.lower(),
        "program_versions": sorted(program_versions),
        "party": party_code,
        "currency": currency,
        "class": partner_class,
        "lines": [
            [r.line.rule, r.line.category, r.line.basis, r.line.rate, r.line.amount, r.ref]
            for r in lines
        ],
        "total": sum(r.line.amount for r in lines),
    }
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()
