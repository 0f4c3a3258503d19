"""One party's statement from its numbers: a pure function, so it can be tested by
hand and by property, and so the same inputs always hash the same.

The order of lines is fixed (balance brought forward, programs by code, then
true-up, penalties, rewards, adjustments, deposit), the total is the integer sum of the lines, and the hash
covers the run's checkpoint and program versions as well as every line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from settlement.common import SettlementError
from settlement.programs import PenaltyRule, ProgramRules
from settlement.rules import (
    Line,
    class_multiplier_line,
    cliff_line,
    deposit_deduction,
    fine_line,
    forfeiture_line,
    growth_line,
    kpi_gate_line,
    rate_text,
    reached_tier,
    refund_line,
    reward_line,
    round_minor,
    tier_lines,
)

__all__ = [
    "Clawback",
    "IncidentInput",
    "PartyInputs",
    "ProgramInputs",
    "Refund",
    "RewardCredit",
    "SettledParty",
    "StatementLineRef",
    "penalty_rule",
    "run_hash",
    "settle_party",
    "statement_hash",
]


@dataclass(frozen=True, slots=True)
class ProgramInputs:
    """A program's rules (money already in the party's currency, exact) and the party's numbers."""

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
    excluded_value: int = 0
    target_value: int | None = None  # a value target (minor units of the party's currency)


@dataclass(frozen=True, slots=True)
class Clawback:
    """Rebate that diverted units earned in a posted run, to be taken back.

    ``base`` is units (volume programs) or list value (value programs), ``rate`` what
    that run paid per unit or per minor unit of value, ``source_ref`` the statement
    line clawed back (``statement:ID:POSITION``).
    """

    source_ref: str
    units: int
    base: int
    rate: Decimal


@dataclass(frozen=True, slots=True)
class IncidentInput:
    """One incident: a responsible party's findings about some units in one period,
    merged across every alert that shares a unit with another (one diversion, one fine).

    ``charged_before`` is what posted runs already charged as fines for these units
    (>= 0); ``prior_incidents`` counts the party's standing incidents in the 12 months
    before this one (the escalation step).
    """

    ref: str  # "alert:ID" of its first alert
    alert_ids: tuple[int, ...]
    period: str
    units: int
    prior_incidents: int
    charged_before: int = 0
    clawbacks: tuple[Clawback, ...] = ()
    # each already fined unit's fine before escalation, as first charged (exact): a
    # correction of the step reuses them, so it never charges exchange-rate drift
    charged_bases: tuple[Decimal, ...] = ()


@dataclass(frozen=True, slots=True)
class Refund:
    """What posted runs charged for units whose incident no longer stands."""

    ref: str
    period: str
    units: int
    fine: int  # >= 0
    forfeit: int  # >= 0


@dataclass(frozen=True, slots=True)
class RewardCredit:
    report_id: int
    penalty: int  # absolute penalty of the report's incident, in this party's currency


@dataclass(frozen=True, slots=True)
class PartyInputs:
    party_code: str
    currency: str
    partner_class: str
    programs: tuple[ProgramInputs, ...]
    incidents: tuple[IncidentInput, ...] = ()
    refunds: tuple[Refund, ...] = ()
    rewards: tuple[RewardCredit, ...] = ()
    adjustments: tuple[tuple[int, int, str], ...] = ()  # (adjustment id, amount, reason)
    partial_rebates: int = 0  # rebate lines already paid by posted partial runs
    deposit_balance: int = 0
    opening_balance: int = 0  # <= 0: what the party owed when the run was made
    # the penalty rule it is charged under when it is not enrolled in the program
    # that sets it (None: :func:`penalty_rule` of ``programs``)
    penalties: PenaltyRule | None = None


@dataclass(frozen=True, slots=True)
class StatementLineRef:
    line: Line
    ref: str  # what the line settles: "program:CODE", "alert:12", "report:3", ...


@dataclass(frozen=True, slots=True)
class SettledParty:
    lines: tuple[StatementLineRef, ...]
    total: int
    deposit_after: int
    # incident ref -> (fine due now in total, change booked by this statement)
    incident_fines: dict[str, tuple[int, int]] = field(default_factory=dict)
    # incident ref -> clawed back by this statement (>= 0)
    incident_forfeits: dict[str, int] = field(default_factory=dict)

    @property
    def rebate(self) -> int:
        return sum(r.line.amount for r in self.lines if r.line.category == "rebate")


def penalty_rule(programs: Sequence[ProgramInputs]) -> PenaltyRule | None:
    """The penalties a party is charged under: those of the first program (by code)
    in ``programs`` that defines any, or None. Settlement passes every program in
    force for the period, enrolled or not (:func:`settlement.runs`): penalties target
    territory breaches by any distributor, rebates only those enrolled."""
    for p in programs:
        if p.rules.penalties is not None:
            return p.rules.penalties
    return None


def _program_lines(prog: ProgramInputs, partner_class: str) -> list[StatementLineRef]:
    """Tier (and cliff), class multiplier, growth and KPI lines of one program."""
    r = prog.rules
    ref = f"program:{prog.code}"
    out: list[StatementLineRef] = []
    qty, excl = (
        (prog.net_units, prog.excluded_units)
        if r.measure == "volume"
        else (prog.net_value, prog.excluded_value)
    )
    cliff = cliff_line(r.measure, r.tiers, qty, excl) if r.mode == "retroactive" else None
    tiers = tier_lines(r.measure, r.mode, r.tiers, prog.net_units, prog.net_value)
    if cliff is not None:  # the tier line at the rate the diverted units would have kept
        high = reached_tier(r.tiers, qty + excl)
        unit_word = "units" if r.measure == "volume" else "value"
        tiers = [
            Line(
                f"tier_{r.mode}",
                "rebate",
                f"{qty} {unit_word} (tier from {high.threshold}, reached with the "
                f"{excl} diverted {unit_word})",
                rate_text(high.rate),
                round_minor(Decimal(qty) * high.rate),
                quantity=qty,
            )
        ]
    suffix = (
        f"; {r.basis} {prog.gross_units} - returned {prog.returned_units}"
        f" - diverted {prog.excluded_units} = {prog.net_units} units"
    )
    for ln in tiers:
        out.append(StatementLineRef(replace(ln, basis=ln.basis + suffix), ref))
    if cliff is not None:
        out.append(StatementLineRef(cliff, ref))
    tier_total = sum(x.line.amount for x in out)
    out.append(
        StatementLineRef(class_multiplier_line(tier_total, partner_class, r.class_multipliers), ref)
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
    if r.kpi is not None:
        so_far = sum(x.line.amount for x in out)
        if prog.target_value is not None and prog.target_value > 0:
            gate = kpi_gate_line(
                so_far, prog.net_value, prog.target_value, r.kpi.floor, r.kpi.pro_rata, "value"
            )
            out.append(StatementLineRef(gate, ref))
        elif prog.target_units is not None and prog.target_units > 0:
            gate = kpi_gate_line(
                so_far, prog.net_units, prog.target_units, r.kpi.floor, r.kpi.pro_rata
            )
            out.append(StatementLineRef(gate, ref))
    return out


def settle_party(inp: PartyInputs) -> SettledParty:
    """Every line of one party's statement, in a fixed order: balance brought forward,
    programs by code, partial-run true-up, incidents (fines, corrections, clawbacks),
    refunds, rewards, adjustments, deposit deduction. The total is their integer sum.

    Raises :class:`SettlementError` when a party has incidents but no program defines
    penalties, and :class:`RuleError` for nonsensical rule parameters.
    """
    out: list[StatementLineRef] = []
    if inp.opening_balance > 0:
        raise SettlementError(f"{inp.party_code}: an opening balance is what it owes (<= 0)")
    if inp.opening_balance:
        out.append(
            StatementLineRef(
                Line(
                    "balance_brought_forward",
                    "balance",
                    f"owed from earlier statements: {-inp.opening_balance}",
                    "1",
                    inp.opening_balance,
                ),
                "balance",
            )
        )
    for prog in inp.programs:
        out.extend(_program_lines(prog, inp.partner_class))
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
    pen = inp.penalties if inp.penalties is not None else penalty_rule(inp.programs)
    incident_fines: dict[str, tuple[int, int]] = {}
    incident_forfeits: dict[str, int] = {}
    if (inp.incidents or inp.refunds) and pen is None:
        raise SettlementError(
            f"{inp.party_code} has confirmed alerts but no program defines penalties"
        )
    if pen is not None:
        for inc in inp.incidents:
            alerts = ", ".join(str(a) for a in inc.alert_ids)
            label = f"alert{'s' if len(inc.alert_ids) > 1 else ''} {alerts} ({inc.period})"
            fl = fine_line(
                inc.units, pen.fine_per_unit, inc.prior_incidents, pen.escalation, label,
                charged_before=inc.charged_before, charged_bases=inc.charged_bases,
            )  # fmt: skip
            change = 0
            if fl is not None:
                out.append(StatementLineRef(fl, inc.ref))
                change = -fl.amount
            incident_fines[inc.ref] = (inc.charged_before + change, change)
            if pen.forfeiture:
                taken = 0
                for cb in inc.clawbacks:
                    ff = forfeiture_line(cb.base, cb.rate, cb.units, cb.source_ref, label)
                    if ff.amount:
                        out.append(StatementLineRef(ff, inc.ref))
                        taken += -ff.amount
                incident_forfeits[inc.ref] = taken
        for rf in inp.refunds:
            if rf.fine:
                out.append(
                    StatementLineRef(
                        refund_line("fine_correction", rf.fine, rf.units, rf.period, rf.ref), rf.ref
                    )
                )
            if rf.forfeit:
                out.append(
                    StatementLineRef(
                        refund_line(
                            "forfeiture_correction", rf.forfeit, rf.units, rf.period, rf.ref
                        ),
                        rf.ref,
                    )
                )
    share = pen.whistleblower_share if pen is not None else Decimal(0)
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
    return SettledParty(tuple(out), total, balance, incident_fines, incident_forfeits)


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
            + ([r.line.quantity] if r.line.quantity else [])
            for r in lines
        ],
        "total": sum(r.line.amount for r in lines),
    }
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def run_hash(
    *,
    period: str,
    kind: str,
    tree_size: int,
    root_hex: str,
    program_versions: Sequence[int],
    statement_hashes: Sequence[str],
    reporting_currency: str,
) -> str:
    """Hex SHA-256 of a run: ``json.dumps`` (default separators) of
    ``[period, kind, tree_size, root_hex, sorted(program_versions),
    statement_hashes (statement id order), reporting_currency]``. Written by
    :func:`settlement.runs.create_run`, re-derived by ``settlement verify``."""
    doc = [period, kind, tree_size, root_hex, sorted(program_versions),
           list(statement_hashes), reporting_currency]  # fmt: skip
    return hashlib.sha256(json.dumps(doc).encode()).hexdigest()
