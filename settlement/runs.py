"""Settlement runs (``hopchain settle --period 2026-10``): draft -> approved -> posted.

A run reads the ledger as of a signed checkpoint, aggregates every distributor's
net in-zone sales with the numba kernel, applies the program versions valid for
the period and writes one statement per party. Approval needs a second finance
user (compared by user id: an API token acts as the user it belongs to); posting
books what the run settled (penalties charged, rewards paid, adjustments applied,
deposit deductions), freezes the run (a posted run, its statements and lines can no
longer be updated or deleted, even through the ORM) and seals it: a signed note by
the ledger key over its run hash and a Merkle root of its statements
(:mod:`settlement.seals`), which ``hopchain settlement verify`` checks.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, delete, event, func, insert, select, update
from sqlalchemy.orm import Mapper, Session

from ledger.models import Checkpoint, Party
from ledger.times import format_day, format_ms
from partners.classes import classes_in_force
from partners.in_force import enrolled_programs, parties_in_force
from settlement import kernels as K
from settlement.adjustments import acting_user_id
from settlement.batch import BatchOptions, aggregate_partitioned, batch_client, write_snapshot
from settlement.batch.partition import sales_arrays
from settlement.common import (
    Actor,
    NotComputable,
    PermissionDenied,
    SettlementError,
    months_of,
    now_ms,
    period_bounds,
    prior_year_period,
    quarter_of,
)
from settlement.deposits import agreed_level
from settlement.detection import DIVERSION_TYPES
from settlement.fx import FxBook, FxQuote
from settlement.incidents import IncidentPlan, group_incidents, plan_incidents
from settlement.models import (
    Adjustment,
    Alert,
    AlertFinding,
    DepositMovement,
    IncidentCharge,
    PartnerScore,
    PriceList,
    ReceivableMovement,
    SalesTarget,
    SettlementRun,
    Statement,
    StatementLine,
    TopUpRequest,
    WhistleblowerReport,
)
from settlement.programs import PenaltyRule, ProgramRules, parse_rules, versions_for_period
from settlement.reference_audit import record_change
from settlement.reference_values import check_currency
from settlement.rules.money import minor_exponent, round_minor
from settlement.rules.tiers import Tier
from settlement.seals import NoteSigner, check_posted_run, seal_run
from settlement.snapshot import SnapshotTables, load_snapshot
from settlement.statement import (
    PartyInputs,
    ProgramInputs,
    RewardCredit,
    SettledParty,
    StatementLineRef,
    run_hash,
    settle_party,
    statement_hash,
)

__all__ = [
    "SETTLEMENT_STAGES",
    "ComputedParty",
    "ComputedRun",
    "PreviewRow",
    "ProgramPreview",
    "RunStateError",
    "RunView",
    "approve_run",
    "compute_statements",
    "create_run",
    "discard_run",
    "fx_rate",
    "get_run",
    "list_runs",
    "page_runs",
    "period_last_day",
    "post_run",
    "preview_program_version",
]

RUN_KINDS = ("partial", "final")

#: The stages of :func:`create_run`, in order, as its ``on_stage`` hears them.
SETTLEMENT_STAGES: tuple[str, ...] = (
    "reading the ledger as of the checkpoint",
    "valuing sales at the period's prices and FX rates",
    "computing penalties, rewards and statements",
    "writing the run and its statements",
)


def _no_stage(_: str) -> None:
    return None


class RunStateError(SettlementError):
    """An action the run's status forbids (approving a posted run, editing one...)."""


@dataclass(frozen=True, slots=True)
class RunView:
    id: int
    period: str
    kind: str
    status: str
    tree_size: int
    root_hex: str
    program_versions: tuple[int, ...]
    reporting_currency: str
    run_hash: str
    created_by: str
    approved_by: str | None
    posted_by: str | None
    statement_count: int
    superseded_by: int | None = None
    note: str = ""
    created_ms: int = 0
    posted_ms: int | None = None
    # users.id of who created, approved and posted it (None: before ids were kept)
    created_by_id: int | None = None
    approved_by_id: int | None = None
    posted_by_id: int | None = None


# ------------------------------------------------------------------ immutability


def _run_status(conn: Connection, run_id: int) -> str | None:
    return conn.execute(select(SettlementRun.status).where(SettlementRun.id == run_id)).scalar()


@event.listens_for(SettlementRun, "before_update")
@event.listens_for(SettlementRun, "before_delete")
def _freeze_run(_m: Mapper[Any], conn: Connection, target: SettlementRun) -> None:
    if _run_status(conn, target.id) == "posted":
        raise RunStateError(f"run {target.id} is posted and cannot change")


@event.listens_for(Statement, "before_update")
@event.listens_for(Statement, "before_delete")
def _freeze_statement(_m: Mapper[Any], conn: Connection, target: Statement) -> None:
    if _run_status(conn, target.run_id) == "posted":
        raise RunStateError(f"statement {target.id} belongs to posted run {target.run_id}")


@event.listens_for(StatementLine, "before_update")
@event.listens_for(StatementLine, "before_delete")
def _freeze_line(_m: Mapper[Any], conn: Connection, target: StatementLine) -> None:
    run_id = conn.execute(
        select(Statement.run_id).where(Statement.id == target.statement_id)
    ).scalar()
    if run_id is not None and _run_status(conn, run_id) == "posted":
        raise RunStateError(f"statement line {target.id} belongs to posted run {run_id}")


# ------------------------------------------------------------------ helpers


def fx_rate(s: Session, period: str, currency: str, reporting: str) -> Decimal:
    """Units of ``reporting`` per unit of ``currency`` in ``period``: as stored, inverted
    or crossed (see :mod:`settlement.fx`); :class:`MissingFxRates` names what to import."""
    return FxBook(s, period).require([(currency, reporting)])[(currency, reporting)].rate


def _localize(rules: ProgramRules, factor: Decimal, ccy: str) -> ProgramRules:
    """Program money in the party's currency: ``factor`` = local minor per rules minor.

    Rates and fines stay exact decimals (no rounding here): a line's amount is computed
    from them and rounded once, half-even (issue: "convert and round once per line").
    """
    if factor == 1:
        return rules
    if rules.measure == "volume":  # a money rate per unit, exact: lines round once
        tiers = tuple(Tier(t.threshold, t.rate * factor) for t in rules.tiers)
    else:  # thresholds are comparisons, not amounts: whole minor units
        tiers = tuple(Tier(round_minor(t.threshold * factor), t.rate) for t in rules.tiers)
    pen = rules.penalties
    if pen is not None:
        pen = type(pen)(
            Decimal(pen.fine_per_unit) * factor,
            pen.escalation,
            pen.forfeiture,
            pen.whistleblower_share,
        )
    return type(rules)(
        ccy, rules.basis, rules.measure, rules.mode, tiers, rules.class_multipliers,
        rules.default_class, rules.growth, rules.kpi, pen,
    )  # fmt: skip


def period_last_day(period: str) -> str:
    """ISO date of the last day of a month or quarter (``2026-11`` -> ``2026-11-30``)."""
    _, end_ms = period_bounds(period)
    return format_day(end_ms - 86_400_000)


def _price_matrix(
    s: Session, snap: SnapshotTables, period: str
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """``price[currency, product]``: the list price in force on the period's last day
    (the version with the latest ``valid_from`` on or before it); -1 where none is."""
    price = np.full((max(len(snap.currencies), 1), max(len(snap.products), 1)), -1, dtype=np.int64)
    cur = {c: i for i, c in enumerate(snap.currencies)}
    prod = {g: i for i, g in enumerate(snap.products)}
    rows = s.execute(
        select(PriceList.gtin, PriceList.currency, PriceList.list_price_minor)
        .where(PriceList.valid_from <= period_last_day(period))
        .order_by(PriceList.valid_from)
    )
    for gtin, ccy, minor in rows:  # later versions overwrite earlier ones
        if ccy in cur and gtin in prod:
            price[cur[ccy], prod[gtin]] = minor
    return price


def _partner_classes(s: Session, period: str) -> dict[int, str]:
    """Each party's class for ``period``: the class in force on the period's first
    day confirmed by a review (:func:`partners.classes.classes_in_force`), else the
    class of its last scored quarter before ``period``'s quarter; parties with
    neither are absent (the caller uses the program's default class)."""
    out: dict[int, str] = {}
    rows = s.execute(
        select(PartnerScore.party_id, PartnerScore.partner_class)
        .where(PartnerScore.quarter < quarter_of(period))
        .order_by(PartnerScore.quarter)
    ).all()
    for pid, cls in rows:  # later quarters overwrite earlier ones
        out[int(pid)] = str(cls)
    out.update(classes_in_force(s, f"{months_of(period)[0]}-01"))  # a confirmed class wins
    return out


def _n_parts() -> int:
    return max(os.cpu_count() or 1, 1)


def _run_view(s: Session, r: SettlementRun) -> RunView:
    n = s.scalar(select(func.count()).select_from(Statement).where(Statement.run_id == r.id))
    return RunView(
        r.id, r.period, r.kind, r.status, r.tree_size, r.root_hex,
        tuple(json.loads(r.program_versions_json)), r.reporting_currency, r.run_hash,
        r.created_by, r.approved_by, r.posted_by, int(n or 0), r.superseded_by, r.note,
        r.created_ms, r.posted_ms, r.created_by_id, r.approved_by_id, r.posted_by_id,
    )  # fmt: skip


# ------------------------------------------------------------------ compute


@dataclass(frozen=True, slots=True)
class ComputedParty:
    """One party's statement as a run would write it (nothing stored)."""

    party_id: int
    party_code: str
    party_name: str
    currency: str
    region: str
    partner_class: str
    total_minor: int
    opening_balance_minor: int
    deposit_after_minor: int
    fx_note: str
    lines: tuple[StatementLineRef, ...]
    programs: tuple[ProgramInputs, ...]  # the programs it is enrolled in (paid)
    settled: SettledParty
    penalties: PenaltyRule | None = None  # the rule its incidents are charged under


@dataclass(frozen=True, slots=True)
class ComputedRun:
    """Every party's statement for ``period`` as of checkpoint ``tree_size``, counting
    entries up to ``until_ms``; ``program_versions`` are the version ids applied
    (0 for rules given in place of a stored version)."""

    period: str
    tree_size: int
    root_hex: str
    until_ms: int
    reporting_currency: str
    program_versions: tuple[int, ...]
    parties: tuple[ComputedParty, ...]


@dataclass
class _Computation:
    run: ComputedRun
    plan: IncidentPlan
    charged_now: dict[int, tuple[int, str]]  # alert id -> (incident fine, currency)


def _missing_prices(
    snap: SnapshotTables,
    price: np.ndarray[Any, np.dtype[np.int64]],
    cur: np.ndarray[Any, np.dtype[np.int64]],
    products: np.ndarray[Any, np.dtype[np.int64]],
    period: str,
) -> SettlementError | None:
    """An error naming every (GTIN, currency) price a run needs and lacks, or None;
    ``products``: the product indices of the units with entries in the period."""
    short = np.flatnonzero(cur[:, :, K.S_MISSING_PRICE].sum(axis=1))
    if not short.size:
        return None
    wanted = sorted(
        (snap.products[int(p)], snap.currencies[int(c)])
        for c in np.unique(snap.party_currency[short])
        for p in products
        if price[int(c), int(p)] < 0
    )
    day = period_last_day(period)
    parties = ", ".join(snap.party_codes[int(p)] for p in short[:5]) + (
        f" and {short.size - 5} more" if short.size > 5 else ""
    )
    rows = "; ".join(f"{g},{c},<valid_from on or before {day}>,<list_price>" for g, c in wanted)
    return NotComputable(
        f"no list price in force on {day} for {len(wanted)} product/currency pairs "
        f"(needed by {parties}): import a price list with `hopchain import prices FILE` "
        f"(layout gtin,currency,valid_from,list_price in docs/imports.md); missing rows: {rows}"
    )


def _open_receivables(s: Session) -> dict[int, int]:
    """What each party owes now (sum of its receivable movements; > 0 owes)."""
    return _sum_by_party(s, ReceivableMovement)


def _sum_by_party(
    s: Session, table: type[ReceivableMovement] | type[DepositMovement]
) -> dict[int, int]:
    """Each party's balance in a movement table: the sum of its ``amount_minor``."""
    rows = s.execute(
        select(table.party_id, func.sum(table.amount_minor)).group_by(table.party_id)
    ).all()
    return {int(p): int(v or 0) for p, v in rows}


def _load_versions(
    s: Session, period: str, program_rules: Mapping[str, Mapping[str, Any]] | None
) -> list[tuple[str, int, ProgramRules]]:
    """(code, version id, rules) of every program in force, ``program_rules`` replacing
    (or adding) programs by code with version id 0."""
    versions = [(code, v.id, rules) for code, v, rules in versions_for_period(s, period)]
    if program_rules:
        by_code = {code: (code, vid, rules) for code, vid, rules in versions}
        for code, raw in program_rules.items():
            by_code[code] = (code, 0, parse_rules(raw))
        versions = [by_code[c] for c in sorted(by_code)]
    return versions


def _paid_programs(in_force: list[ProgramInputs], enrolled: set[str]) -> list[ProgramInputs]:
    """The programs in force that a distributor is paid: those it is enrolled in.

    Enrolment comes from its signed agreements (:func:`partners.in_force.
    enrolled_programs`, issue 12: "program enrolment comes from the signed agreement
    in force on each date"). The rule for a period: a distributor enrolled in a
    program at any instant of the period gets that program's lines for the whole
    period. Why any day rather than the last day: sales are aggregated per period,
    not per day, and the period in which an agreement ends (termination, exit) must
    still pay the rebate its sales before the end earned (the exit's final
    settlement), as the period in which it starts pays the sales made under it; a
    rule on the last day would pay nothing for either. A distributor enrolled in
    nothing gets no rebate lines; its penalties still apply, under the first program
    in force (by code) that sets them, whether it is enrolled in it or not
    (:func:`settlement.statement.penalty_rule`): penalties target territory
    breaches by any distributor. What was paid is sealed with the run: each
    statement's lines name their program (``program:CODE``) and are covered by its
    hash, so ``hopchain settlement verify`` needs no enrolment table.
    """
    return [p for p in in_force if p.code in enrolled]


def _compute(
    s: Session,
    period: str,
    *,
    tree_size: int | None,
    reporting_currency: str,
    until_ms: int | None,
    program_rules: Mapping[str, Mapping[str, Any]] | None,
    party_filter: int | None = None,
    on_stage: Callable[[str], None] = _no_stage,
    batch: BatchOptions | None = None,
) -> _Computation:
    on_stage(SETTLEMENT_STAGES[0])
    start_ms, end_ms = period_bounds(period)
    if until_ms is not None:
        end_ms = max(start_ms, min(end_ms, until_ms))
    prior = prior_year_period(period)
    p_start, p_end = period_bounds(prior)
    q = select(Checkpoint).order_by(Checkpoint.tree_size.desc(), Checkpoint.id.desc())
    if tree_size is not None:
        q = q.where(Checkpoint.tree_size == tree_size)
    cp = s.scalars(q.limit(1)).first()
    if cp is None:
        raise NotComputable(
            "no signed checkpoint"
            + (f" at tree size {tree_size}" if tree_size is not None else "")
            + ": sign one before settling",
            message_id="no_checkpoint" if tree_size is None else "",
        )
    root_hex = bytes(cp.root_hash).hex()
    versions = _load_versions(s, period, program_rules)
    if not versions:
        raise NotComputable(
            f"no rebate program is valid for {period}: add a program version "
            "(Reference data > Programs, or `hopchain import programs FILE`)",
            message_id="no_program",
            values={"period": period},
        )
    opts = batch if batch is not None else BatchOptions.from_env()
    snap: SnapshotTables
    if opts.partitioned:
        psnap = write_snapshot(
            s.connection(), cp.tree_size, root_hex, opts.root,
            rows_per_partition=opts.rows_per_partition,
        )  # fmt: skip
        snap = psnap
    else:
        whole = load_snapshot(s.connection(), cp.tree_size)
        snap = whole
    # Units excluded from the base: those of confirmed diversion alerts.
    confirmed_units = (
        s.execute(
            select(AlertFinding.unit_id)
            .join(Alert, Alert.id == AlertFinding.alert_id)
            .where(Alert.status == "confirmed", Alert.finding_type.in_(DIVERSION_TYPES))
            .distinct()
        )
        .scalars()
        .all()
    )
    idx = snap.unit_index(list(confirmed_units))
    on_stage(SETTLEMENT_STAGES[1])
    price = _price_matrix(s, snap, period)
    windows = [(start_ms, end_ms), (p_start, p_end)]
    if opts.partitioned:
        with batch_client(opts) as client:
            sales = aggregate_partitioned(
                psnap.directory, price, idx[idx >= 0], windows, client=client,
                on_partition=opts.on_partition,
            )  # fmt: skip
    else:
        excluded = np.zeros(snap.unit_ids.shape[0], dtype=np.bool_)
        excluded[idx[idx >= 0]] = True
        sales = sales_arrays(whole, price, excluded, windows, n_parts=_n_parts())
    cur, old = sales.sums[0], sales.sums[1]
    problem = _missing_prices(snap, price, cur, sales.window_products(0), period)
    if problem is not None:
        raise problem

    parties = {p.id: p for p in s.scalars(select(Party))}
    under_agreement = parties_in_force(s, *period_bounds(period))
    moved = np.flatnonzero(
        (cur[:, :, K.S_GROSS_U] != 0).any(axis=1) | (cur[:, :, K.S_RET_U] != 0).any(axis=1)
    )
    sold = {int(snap.party_ids[pi]) for pi in moved.tolist()}

    def idle(pid: int) -> bool:
        """A distributor under no agreement during the period that moved nothing in it
        (signed later, gone before): its programs are not computed and its currency
        needs no rate unless something else (a penalty, an adjustment) settles it."""
        pi = snap.party_index(pid)
        return (
            bool(snap.party_is_distributor[pi]) and pid not in under_agreement and pid not in sold
        )

    book = FxBook(s, period)
    in_play = [int(pid) for pid in snap.party_ids if int(pid) in parties and not idle(int(pid))]
    needed = {(r.currency, parties[pid].currency) for pid in in_play for _, _, r in versions}
    needed |= {(parties[pid].currency, reporting_currency) for pid in in_play}
    needed |= {(r.currency, reporting_currency) for _, _, r in versions}
    quotes = book.require(sorted(needed))

    def quote(src: str, dst: str) -> FxQuote:
        """The rate from ``src`` to ``dst``: required above for every party in play,
        else required now (a penalty or adjustment of an idle party)."""
        return quotes.get((src, dst)) or book.require([(src, dst)])[(src, dst)]

    def factor(src: str, dst: str) -> Decimal:
        """Minor units of ``dst`` per minor unit of ``src`` (exact)."""
        q = quote(src, dst)
        return q.rate * Decimal(10) ** (minor_exponent(dst) - minor_exponent(src))

    on_stage(SETTLEMENT_STAGES[2])
    targets_u: dict[int, int] = defaultdict(int)
    targets_v: dict[int, int] = defaultdict(int)
    for t in s.scalars(select(SalesTarget).where(SalesTarget.period.in_(months_of(period)))):
        if t.measure == "value" and t.value_minor is not None:
            targets_v[t.party_id] += t.value_minor
        elif t.units is not None:
            targets_u[t.party_id] += t.units

    alloc_ms, alloc_party = sales.alloc_ms, sales.alloc_party
    price_cache: dict[str, np.ndarray[Any, np.dtype[np.int64]]] = {period: price}

    def unit_value(i: int, month: str, party_id: int) -> int:
        if month not in price_cache:
            price_cache[month] = _price_matrix(s, snap, month)
        m = price_cache[month]
        return max(int(m[snap.party_currency[snap.party_index(party_id)], snap.unit_product[i]]), 0)

    plan = plan_incidents(
        s, period, unit_index=snap.unit_index, alloc_ms=alloc_ms, alloc_party=alloc_party,
        unit_value=unit_value, start_ms=start_ms,
    )  # fmt: skip
    rewards = _pending_rewards(s)
    adjustments: dict[int, list[Adjustment]] = defaultdict(list)
    for adj in s.scalars(
        select(Adjustment).where(
            Adjustment.applied_run_id.is_(None), Adjustment.status == "approved"
        )
    ):
        adjustments[adj.party_id].append(adj)
    partial_paid = _partial_paid(s, period)
    balances = _deposit_balances(s)
    enrolled = enrolled_programs(s, *period_bounds(period))  # see _paid_programs
    owed = _open_receivables(s)

    order = [int(pid) for pid in snap.party_ids]
    scored = _partner_classes(s, period)
    classes: dict[int, str] = {}
    for pid in order:
        if snap.party_is_distributor[snap.party_index(pid)]:
            classes[pid] = scored.get(pid, versions[0][2].default_class)
    fx_notes: dict[int, str] = {}

    def inputs(pid: int, reward_list: tuple[RewardCredit, ...]) -> PartyInputs:
        pi = snap.party_index(pid)
        party = parties[pid]
        progs: list[ProgramInputs] = []
        in_force: list[ProgramInputs] = []
        notes = []
        penalties: PenaltyRule | None = None
        if snap.party_is_distributor[pi]:
            for code, vid, rules in versions:
                b = 0 if rules.basis == "sell_in" else 1
                st = cur[pi, b]
                net_u = int(st[K.S_GROSS_U] - st[K.S_RET_U] - st[K.S_EXCL_U])
                net_v = int(st[K.S_GROSS_V] - st[K.S_RET_V] - st[K.S_EXCL_V])
                po = old[pi, b]
                prior_v = int(po[K.S_GROSS_V] - po[K.S_RET_V] - po[K.S_EXCL_V])
                in_force.append(
                    ProgramInputs(
                        code, vid, _localize(rules, factor(rules.currency, party.currency), party.currency),
                        int(st[K.S_GROSS_U]), int(st[K.S_RET_U]), int(st[K.S_EXCL_U]),
                        net_u, net_v, prior_v, targets_u.get(pid),
                        int(st[K.S_EXCL_V]), targets_v.get(pid),
                    )
                )  # fmt: skip
            progs = _paid_programs(in_force, enrolled.get(pid, set()))
            source = next((p for p in in_force if p.rules.penalties is not None), None)
            penalties = None if source is None else source.rules.penalties
            used = {p.code for p in progs} | ({source.code} if source is not None else set())
            for code, _, rules in versions:  # the programs whose amounts it converts
                if code in used and rules.currency != party.currency:
                    notes.append(quote(rules.currency, party.currency).describe())
        fx_notes[pid] = "; ".join(dict.fromkeys(notes))
        return PartyInputs(
            party_code=party.code,
            currency=party.currency,
            partner_class=classes.get(pid, "-"),
            programs=tuple(progs),
            incidents=tuple(plan.inputs.get(pid, ())),
            refunds=tuple(plan.refunds.get(pid, ())),
            rewards=reward_list,
            adjustments=tuple((a.id, a.amount_minor, a.reason) for a in adjustments.get(pid, ())),
            partial_rebates=partial_paid.get(pid, 0),
            deposit_balance=balances.get(pid, 0),
            opening_balance=-max(owed.get(pid, 0), 0),
            penalties=penalties,
        )

    # Penalties first (rewards are shares of them), then every party's statement.
    settled: dict[int, SettledParty] = {}
    for pid in order:
        if pid in plan.inputs or pid in plan.refunds:
            settled[pid] = settle_party(inputs(pid, ()))
    charged_now: dict[int, tuple[int, str]] = {}
    for pid, sp in settled.items():
        for ref, (due, change) in sp.incident_fines.items():
            inc = plan.incidents.get((pid, ref))
            if inc is not None and change and due == change:  # charged for the first time
                for aid in inc.alert_ids:
                    charged_now[aid] = (due, parties[pid].currency)
    reward_credits: dict[int, list[RewardCredit]] = defaultdict(list)
    for reporter, reps in rewards.items():
        for rep_id, aid in reps:
            if aid in charged_now:
                amount, ccy = charged_now[aid]
            else:
                charged = s.get(Alert, aid)
                if (
                    charged is None
                    or charged.penalty_minor is None
                    or charged.penalty_currency is None
                ):
                    continue  # its alert is not charged yet: the reward waits
                amount, ccy = charged.penalty_minor, charged.penalty_currency
            local = round_minor(Decimal(amount) * factor(ccy, parties[reporter].currency))
            reward_credits[reporter].append(RewardCredit(rep_id, local))
    out: list[ComputedParty] = []
    for pid in order:
        pi = snap.party_index(pid)
        if not (
            snap.party_is_distributor[pi]
            or pid in reward_credits
            or pid in adjustments
            or owed.get(pid, 0) > 0
            or pid in settled
        ):
            continue
        if party_filter is not None and pid != party_filter:
            continue
        if idle(pid) and not (
            pid in reward_credits
            or pid in adjustments
            or owed.get(pid, 0) > 0
            or pid in plan.inputs
            or pid in plan.refunds
        ):
            continue  # nothing to settle: no statement (and no rate needed)
        inp = inputs(pid, tuple(reward_credits.get(pid, ())))
        sp = settle_party(inp)
        if snap.party_is_distributor[pi] and pid not in under_agreement and not sp.lines:
            # a distributor under no agreement during the period with nothing to
            # settle (signed later, or gone before): no statement
            continue
        settled[pid] = sp
        party = parties[pid]
        out.append(
            ComputedParty(
                pid, party.code, party.name, party.currency, party.country or "",
                classes.get(pid, "-"), sp.total,
                inp.opening_balance, sp.deposit_after, fx_notes.get(pid, ""), sp.lines,
                inp.programs, sp, inp.penalties,
            )
        )  # fmt: skip
    run = ComputedRun(
        period, cp.tree_size, root_hex, end_ms, reporting_currency,
        tuple(vid for _, vid, _ in versions), tuple(out),
    )  # fmt: skip
    return _Computation(run, plan, charged_now)


def compute_statements(
    engine: Engine,
    period: str,
    actor: Actor,
    *,
    until_ms: int | None = None,
    tree_size: int | None = None,
    program_rules: Mapping[str, Mapping[str, Any]] | None = None,
    reporting_currency: str = "EUR",
    batch: BatchOptions | None = None,
) -> ComputedRun:
    """Every statement a run for ``period`` would write, computed and not stored.

    Counts the period's entries up to ``until_ms`` (default: the period's end) as of
    the checkpoint at ``tree_size`` (default: the newest); ``program_rules`` (code ->
    rules JSON) replaces or adds programs, for previews. A distributor gets only its
    own party's statement. Raises :class:`SettlementError` (missing prices, FX rates,
    programs or checkpoint, each naming what to import) and :class:`PermissionDenied`.
    ``batch``: where the array work runs (:class:`settlement.batch.BatchOptions`; None:
    from the environment, in one piece here when no scheduler or snapshot dir is set).
    """
    actor.require(
        "finance", "admin", "auditor", "channel_manager", "distributor",
        action="compute settlement figures",
    )  # fmt: skip
    if actor.role == "distributor" and actor.party_id is None:
        raise PermissionDenied(f"distributor user {actor.username} has no party")
    party = actor.party_id if actor.role == "distributor" else None
    with Session(engine) as s:
        return _compute(
            s, period, tree_size=tree_size, reporting_currency=reporting_currency,
            until_ms=until_ms, program_rules=program_rules, party_filter=party, batch=batch,
        ).run  # fmt: skip


@dataclass(frozen=True, slots=True)
class PreviewRow:
    party_code: str
    currency: str
    proposed_minor: int  # what the proposed version's program lines would pay
    in_force_minor: int  # what the version in force pays (or its posted run paid)


@dataclass(frozen=True, slots=True)
class ProgramPreview:
    period: str
    program_code: str
    rows: tuple[PreviewRow, ...]
    proposed_total_by_currency: dict[str, int]
    in_force_total_by_currency: dict[str, int]


def preview_program_version(
    engine: Engine,
    program_code: str,
    rules: Mapping[str, Any],
    period: str,
    actor: Actor,
) -> ProgramPreview:
    """ "Had this version been in force in ``period``, each distributor would get …"
    beside what the version in force pays, program lines only (``program:CODE``),
    one row per distributor enrolled in the program during the period (a program
    nobody is enrolled in previews no rows).

    Raises :class:`~settlement.rules.money.RuleError` naming the field for bad rules,
    :class:`SettlementError` when the period cannot be computed.
    """
    actor.require("finance", "admin", "auditor", "channel_manager", action="preview programs")
    parse_rules(rules)
    ref = f"program:{program_code}"
    with Session(engine) as s:
        proposed = _compute(
            s, period, tree_size=None, reporting_currency="EUR", until_ms=None,
            program_rules={program_code: rules},
        ).run  # fmt: skip
        try:
            current = _compute(
                s, period, tree_size=None, reporting_currency="EUR", until_ms=None,
                program_rules=None,
            ).run  # fmt: skip
        except SettlementError:
            current = None
    now = {p.party_id: p for p in current.parties} if current is not None else {}

    def paid(lines: tuple[StatementLineRef, ...]) -> int:
        return sum(x.line.amount for x in lines if x.ref == ref)

    rows = []
    prop_tot: dict[str, int] = defaultdict(int)
    now_tot: dict[str, int] = defaultdict(int)
    for p in proposed.parties:
        if all(x.code != program_code for x in p.programs):
            continue  # not enrolled in the program (or no distributor): it pays it nothing
        was = paid(now[p.party_id].lines) if p.party_id in now else 0
        rows.append(PreviewRow(p.party_code, p.currency, paid(p.lines), was))
        prop_tot[p.currency] += rows[-1].proposed_minor
        now_tot[p.currency] += was
    return ProgramPreview(period, program_code, tuple(rows), dict(prop_tot), dict(now_tot))


# ------------------------------------------------------------------ create


def create_run(
    engine: Engine,
    period: str,
    kind: str,
    user: Actor,
    *,
    tree_size: int | None = None,
    reporting_currency: str = "EUR",
    on_stage: Callable[[str], None] | None = None,
    batch: BatchOptions | None = None,
) -> RunView:
    """Compute and store a draft run for ``period`` (``YYYY-MM`` or ``YYYY-Qn``) as of
    a signed checkpoint (the latest, or the one at ``tree_size``).

    A draft or approved run of the same period and kind is superseded: a draft is
    discarded (its statements deleted, the run kept with a note), an approved run
    keeps its statements but can no longer be approved or posted. Records the
    creator's user id, which approval compares. ``on_stage`` (optional) is called
    with each stage's name as it begins, in order: :data:`SETTLEMENT_STAGES` (the
    command line shows them as progress). Raises :class:`SettlementError`
    naming what is missing (prices, FX rates, programs), and
    :class:`PermissionDenied` for an actor that is no finance user. ``batch``: where
    the array work runs (:class:`settlement.batch.BatchOptions`; None: from
    ``HOPCHAIN_DASK_SCHEDULER`` / ``HOPCHAIN_SNAPSHOT_DIR``); statements are the same.
    """
    user.require("finance", action="create settlement runs")
    user_id = acting_user_id(user, "create settlement runs")
    stage = on_stage if on_stage is not None else _no_stage
    if kind not in RUN_KINDS:
        raise SettlementError(f"run kind must be one of {RUN_KINDS}, got {kind!r}")
    reporting_currency = check_currency(reporting_currency, "reporting currency")
    period_bounds(period)
    with Session(engine) as s, s.begin():
        done = s.scalar(
            select(SettlementRun.id).where(
                SettlementRun.period == period,
                SettlementRun.kind == "final",
                SettlementRun.status == "posted",
            )
        )
        if done is not None:
            raise SettlementError.said(
                "period_settled",
                "period %(period)s was settled by posted run %(run)s; "
                "corrections go as adjustments into a later run",
                period=period,
                run=done,
            )
        months = set(months_of(period))
        for other_id, other_period in s.execute(
            select(SettlementRun.id, SettlementRun.period).where(
                SettlementRun.kind == "final",
                SettlementRun.status == "posted",
                SettlementRun.period != period,
            )
        ):
            if months & set(months_of(other_period)):
                raise SettlementError.said(
                    "period_overlaps_settled",
                    "period %(period)s overlaps %(other)s, settled by posted run %(run)s; "
                    "a month is settled once, by a monthly or by a quarterly run",
                    period=period,
                    other=other_period,
                    run=other_id,
                )
        comp = _compute(
            s, period, tree_size=tree_size, reporting_currency=reporting_currency,
            until_ms=None, program_rules=None, on_stage=stage, batch=batch,
        )  # fmt: skip
        stage(SETTLEMENT_STAGES[3])
        computed = comp.run
        stamp = now_ms()
        run = SettlementRun(
            period=period,
            kind=kind,
            status="draft",
            tree_size=computed.tree_size,
            root_hex=computed.root_hex,
            program_versions_json=json.dumps(list(computed.program_versions)),
            reporting_currency=reporting_currency,
            run_hash="",
            created_by=user.username,
            created_by_id=user_id,
            created_ms=stamp,
        )
        s.add(run)
        s.flush()
        _supersede(s, period, kind, run.id, user.username)
        hashes = []
        stmt_rows = []
        for cp in computed.parties:
            h = statement_hash(
                period=period, kind=kind, tree_size=computed.tree_size, root_hex=computed.root_hex,
                program_versions=computed.program_versions, party_code=cp.party_code,
                currency=cp.currency, partner_class=cp.partner_class, lines=cp.lines,
            )  # fmt: skip
            hashes.append(h)
            stmt_rows.append((cp, h))
        ids: list[int] = []
        for i in range(0, len(stmt_rows), 1000):
            ids.extend(
                s.scalars(
                    insert(Statement).returning(Statement.id, sort_by_parameter_order=True),
                    [
                        {
                            "run_id": run.id,
                            "party_id": cp.party_id,
                            "currency": cp.currency,
                            "partner_class": cp.partner_class,
                            "region": cp.region,
                            "total_minor": cp.total_minor,
                            "deposit_after_minor": cp.deposit_after_minor,
                            "opening_balance_minor": cp.opening_balance_minor,
                            "fx_note": cp.fx_note,
                            "hash": h,
                        }
                        for cp, h in stmt_rows[i : i + 1000]
                    ],
                ).all()
            )
        line_rows = [
            {
                "statement_id": sid,
                "position": i,
                "rule": r.line.rule,
                "category": r.line.category,
                "basis": r.line.basis,
                "rate": r.line.rate,
                "amount_minor": r.line.amount,
                "ref": r.ref,
                "quantity": r.line.quantity,
            }
            for sid, (cp, _) in zip(ids, stmt_rows, strict=True)
            for i, r in enumerate(cp.lines)
        ]
        for i in range(0, len(line_rows), 5000):
            s.execute(insert(StatementLine), line_rows[i : i + 5000])
        charge_rows = []
        for cp in computed.parties:
            sp = cp.settled
            refs = set(sp.incident_fines) | set(sp.incident_forfeits)
            refs |= {ref for (pid, ref) in comp.plan.refund_units if pid == cp.party_id}
            for ref in sorted(refs):
                change = sp.incident_fines.get(ref, (0, 0))[1]
                forfeit = sp.incident_forfeits.get(ref, 0)
                rows = comp.plan.charge_rows(
                    cp.party_id, ref, change, forfeit, cp.currency, _base_fine(cp.penalties)
                )
                for row in rows:
                    charge_rows.append({**row, "run_id": run.id})
        for i in range(0, len(charge_rows), 5000):
            s.execute(insert(IncidentCharge), charge_rows[i : i + 5000])
        run.run_hash = run_hash(
            period=period,
            kind=kind,
            tree_size=computed.tree_size,
            root_hex=computed.root_hex,
            program_versions=computed.program_versions,
            statement_hashes=hashes,
            reporting_currency=reporting_currency,
        )
        s.flush()
        return _run_view(s, run)


def _base_fine(pen: PenaltyRule | None) -> Decimal | None:
    """The party's fine per unit before escalation (exact, its currency), if any."""
    return None if pen is None else Decimal(pen.fine_per_unit)


def _supersede(s: Session, period: str, kind: str, new_id: int, who: str) -> None:
    """Open runs of the same period and kind give way to run ``new_id``."""
    for old in s.scalars(
        select(SettlementRun).where(
            SettlementRun.period == period,
            SettlementRun.kind == kind,
            SettlementRun.status.in_(("draft", "approved")),
            SettlementRun.id != new_id,
        )
    ):
        when = format_ms(now_ms())
        if old.status == "draft":
            _delete_statements(s, old.id)
            old.note = (
                f"draft superseded by run {new_id} ({who}, {when}); its statements were discarded"
            )
        else:
            old.note = f"approved run superseded by run {new_id} ({who}, {when}); it can no longer be posted"
        old.status = "superseded"
        old.superseded_by = new_id


def _delete_statements(s: Session, run_id: int) -> None:
    stmts = select(Statement.id).where(Statement.run_id == run_id).scalar_subquery()
    s.execute(delete(StatementLine).where(StatementLine.statement_id.in_(stmts)))
    s.execute(delete(Statement).where(Statement.run_id == run_id))
    s.execute(delete(IncidentCharge).where(IncidentCharge.run_id == run_id))


def _pending_rewards(s: Session) -> dict[int, list[tuple[int, int]]]:
    """Confirmed reports not rewarded yet: reporter -> [(report id, alert id)]."""
    rewards: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for rep in s.scalars(
        select(WhistleblowerReport).where(
            WhistleblowerReport.status == "confirmed",
            WhistleblowerReport.reward_run_id.is_(None),
            WhistleblowerReport.alert_id.is_not(None),
        )
    ):
        assert rep.alert_id is not None
        rewards[rep.reporter_id].append((rep.id, rep.alert_id))
    return rewards


def _partial_paid(s: Session, period: str) -> dict[int, int]:
    """Net rebate already paid by posted partial runs of ``period``, per party (every
    program line, the tier cliff included, and earlier true-ups): a run trues it up,
    so a second partial run pays only the increment and the final the rest."""
    partial_paid: dict[int, int] = defaultdict(int)
    rows = s.execute(
        select(Statement.party_id, func.sum(StatementLine.amount_minor))
        .join(StatementLine, StatementLine.statement_id == Statement.id)
        .join(SettlementRun, SettlementRun.id == Statement.run_id)
        .where(
            SettlementRun.period == period,
            SettlementRun.kind == "partial",
            SettlementRun.status == "posted",
            StatementLine.ref.like("program:%") | (StatementLine.category == "trueup"),
        )
        .group_by(Statement.party_id)
    ).all()
    partial_paid.update({int(p): int(v) for p, v in rows})
    return partial_paid


def _deposit_balances(s: Session) -> dict[int, int]:
    """Each party's deposit: the sum of its movements."""
    return _sum_by_party(s, DepositMovement)


# ------------------------------------------------------------------ workflow


def _load_run(s: Session, run_id: int) -> SettlementRun:
    r = s.get(SettlementRun, run_id)
    if r is None:
        raise SettlementError.said("no_run", "no settlement run %(run)s", run=run_id)
    return r


def _not_superseded(r: SettlementRun, action: str) -> None:
    if r.status == "superseded":
        raise RunStateError.said(
            "run_superseded",
            "run %(run)s was superseded by run %(by)s; it can no longer be %(became)s",
            run=r.id,
            by=r.superseded_by,
            became=action,
        )


def approve_run(engine: Engine, run_id: int, user: Actor) -> RunView:
    """Second pair of eyes: a finance user other than the one who created the run.

    People are compared by user id, never by name: an API token acts as the user it
    belongs to, whatever its label. Raises :class:`RunStateError` for the creator
    (or a run made before creators were recorded by id) and
    :class:`PermissionDenied` for an actor that is no finance user.
    """
    user.require("finance", action="approve settlement runs")
    user_id = acting_user_id(user, "approve settlement runs")
    with Session(engine) as s, s.begin():
        r = _load_run(s, run_id)
        _not_superseded(r, "approved")
        if r.status != "draft":
            raise RunStateError.said(
                "run_not_draft",
                "run %(run)s is %(status)s; only a draft can be approved",
                run=run_id,
                status=r.status,
            )
        if r.created_by_id is None:
            raise RunStateError.said(
                "run_creator_unknown",
                "run %(run)s was created without a user id, so no one can be shown to be a "
                "different finance user; discard it and create it again",
                run=run_id,
            )
        if r.created_by_id == user_id:
            raise RunStateError.said(
                "run_own_approval",
                "run %(run)s was created by %(user)s; a different finance user must approve it",
                run=run_id,
                user=r.created_by,
            )
        r.status = "approved"
        r.approved_by = user.username
        r.approved_by_id = user_id
        r.approved_ms = now_ms()
        s.flush()
        return _run_view(s, r)


def _stale(message_id: str, why: str, **values: object) -> RunStateError:
    """A run that what it read no longer matches: ``why`` (``%(name)s`` placeholders,
    the run as ``run``) inside the English frame ``web/reasons.py`` repeats per id."""
    return RunStateError.said(
        message_id, f"run %(run)s is stale: {why}; discard it and create a new run", **values
    )


def post_run(engine: Engine, run_id: int, user: Actor, *, signer: NoteSigner) -> RunView:
    """Book what an approved run settled, freeze it and seal it.

    Booking: incident charges start to count (fines, clawbacks, refunds), charged
    alerts record their penalty, rewarded reports and applied adjustments are
    marked, deposit deductions become deposit movements, and what a statement nets
    or leaves owing becomes receivable movements (balance brought forward, amount
    owed). Refuses a stale run: another run was posted after it was made, or what it
    read has changed since (an alert no longer confirmed, a payment received, a
    deposit refunded, a report or adjustment settled elsewhere).

    Sealing: ``signer`` (the ledger key) signs a note over the run and a Merkle root
    of its statements, incident charges and applied adjustments, stored in the same
    transaction (:func:`settlement.seals.seal_run`).
    """
    user.require("finance", action="post settlement runs")
    user_id = acting_user_id(user, "post settlement runs")
    with Session(engine) as s, s.begin():
        r = _load_run(s, run_id)
        _not_superseded(r, "posted")
        if r.status != "approved":
            raise RunStateError.said(
                "run_not_approved",
                "run %(run)s is %(status)s; only an approved run can be posted",
                run=run_id,
                status=r.status,
            )
        if r.kind == "final":
            other = s.scalar(
                select(SettlementRun.id).where(
                    SettlementRun.period == r.period,
                    SettlementRun.kind == "final",
                    SettlementRun.status == "posted",
                )
            )
            if other is not None:
                raise RunStateError.said(
                    "period_has_final_run",
                    "period %(period)s already has posted final run %(other)s",
                    period=r.period,
                    other=other,
                )
        later = s.scalar(
            select(SettlementRun.id)
            .where(SettlementRun.status == "posted", SettlementRun.posted_ms >= r.created_ms)
            .limit(1)
        )
        if later is not None:
            raise _stale(
                "run_stale_later_post",
                "run %(later)s was posted after it was made",
                run=run_id,
                later=later,
            )
        stamp = now_ms()
        owed = _open_receivables(s)
        deposits = _deposit_balances(s)
        statements = s.scalars(select(Statement).where(Statement.run_id == run_id)).all()
        rows = s.execute(
            select(Statement.party_id, Statement.currency, StatementLine.ref, StatementLine.amount_minor, StatementLine.category)
            .join(StatementLine, StatementLine.statement_id == Statement.id)
            .where(Statement.run_id == run_id)
        ).all()  # fmt: skip
        codes = {p.id: p.code for p in s.scalars(select(Party))}
        for st in statements:
            if -max(owed.get(st.party_id, 0), 0) != st.opening_balance_minor:
                raise _stale(
                    "run_stale_owed",
                    "what %(party)s owes changed since it was made",
                    run=run_id,
                    party=codes.get(st.party_id),
                )
        for pid, ccy, ref, amount, category in rows:
            kind, _, num = ref.partition(":")
            if kind == "report":
                rep = s.get(WhistleblowerReport, int(num))
                if rep is None or rep.reward_run_id is not None:
                    raise _stale(
                        "run_stale_report",
                        "report %(report)s was already rewarded",
                        run=run_id,
                        report=num,
                    )
                rep.reward_run_id = run_id
            elif kind == "adjustment":
                adj = s.get(Adjustment, int(num))
                if adj is None or adj.applied_run_id is not None or adj.status != "approved":
                    raise _stale(
                        "run_stale_adjustment",
                        "adjustment %(adjustment)s was applied or withdrawn",
                        run=run_id,
                        adjustment=num,
                    )
                adj.applied_run_id = run_id
            elif category == "deposit" and amount:
                if deposits.get(pid, 0) < int(amount):
                    raise _stale(
                        "run_stale_deposit",
                        "the deposit of %(party)s no longer covers %(amount)s",
                        run=run_id,
                        party=codes.get(pid),
                        amount=amount,
                    )
                s.add(
                    DepositMovement(
                        party_id=pid, at_ms=stamp, amount_minor=-int(amount), currency=ccy,
                        reason=f"statement deficit taken from the deposit, run {run_id} ({r.period})",
                        run_id=run_id, kind="deduction", created_by=user.username,
                    )
                )  # fmt: skip
        for st in statements:
            if st.opening_balance_minor:
                s.add(
                    ReceivableMovement(
                        party_id=st.party_id, at_ms=stamp, amount_minor=st.opening_balance_minor,
                        currency=st.currency, kind="brought_forward", run_id=run_id,
                        ref=f"statement:{st.id}", created_by=user.username,
                    )
                )  # fmt: skip
            if st.total_minor < 0:
                s.add(
                    ReceivableMovement(
                        party_id=st.party_id, at_ms=stamp, amount_minor=-st.total_minor,
                        currency=st.currency, kind="statement", run_id=run_id,
                        ref=f"statement:{st.id}", created_by=user.username,
                    )
                )  # fmt: skip
        s.flush()
        _ask_for_topups(
            s, r, {pid for pid, _, _, amt, cat in rows if cat == "deposit" and amt}, user, stamp
        )
        _book_alert_penalties(s, run_id)
        r.status = "posted"
        r.posted_by = user.username
        r.posted_by_id = user_id
        r.posted_ms = stamp
        s.flush()
        seal_run(s, r, signer)
        return _run_view(s, r)


TOPUP_DAYS = 30  # days a distributor has to restore its deposit after a deduction


def _ask_for_topups(
    s: Session, run: SettlementRun, party_ids: set[int], user: Actor, stamp: int
) -> None:
    """A deposit that a deduction left below its agreed level asks the distributor to
    top up within :data:`TOPUP_DAYS` days (one open request per party)."""
    today = datetime.fromtimestamp(stamp / 1000, UTC).date()
    deadline = (today + timedelta(days=TOPUP_DAYS)).isoformat()
    balances = _deposit_balances(s)
    for pid in sorted(party_ids):
        agreed = agreed_level(s, pid, today.isoformat())
        short = (agreed or 0) - balances.get(pid, 0)
        if agreed is None or short <= 0:
            continue
        if s.scalar(
            select(TopUpRequest.id).where(
                TopUpRequest.party_id == pid, TopUpRequest.status == "open"
            )
        ):
            continue
        party = s.get(Party, pid)
        assert party is not None
        reason = f"deposit used by run {run.id} ({run.period}); agreed level {agreed}"
        s.add(
            TopUpRequest(
                party_id=pid, amount_minor=short, currency=party.currency, deadline=deadline,
                status="open", reason=reason, created_by=user.username, created_ms=stamp,
            )
        )  # fmt: skip
        record_change(
            s, "deposits", f"{party.code}|top-up", "topup-request", user, None,
            {"amount_minor": short, "currency": party.currency, "deadline": deadline,
             "reason": reason}, f"run {run.id}",
        )  # fmt: skip


def _book_alert_penalties(s: Session, run_id: int) -> None:
    """Alerts whose incident this run fined or corrected record the incident's fine as
    it now stands (a whistleblower's reward is a share of it) and the run that first
    charged it; refuses when one of the units fined is no longer in a confirmed alert
    of its party."""
    booked = s.execute(
        select(IncidentCharge.party_id, IncidentCharge.unit_id, IncidentCharge.currency,
               IncidentCharge.fine_minor)
        .where(IncidentCharge.run_id == run_id, IncidentCharge.fine_minor != 0)
    ).all()  # fmt: skip
    if not booked:
        return
    fined = [(p, u, c) for p, u, c, fine in booked if fine > 0]
    parties = {int(p) for p, _, _, _ in booked}
    alerts = [
        (a.id, a.party_id, a.period)
        for a in s.scalars(
            select(Alert).where(
                Alert.status == "confirmed",
                Alert.finding_type.in_(DIVERSION_TYPES),
                Alert.party_id.in_(parties),
            )
        )
        if a.party_id is not None
    ]
    units_of: dict[int, set[int]] = defaultdict(set)
    if alerts:
        for aid, uid in s.execute(
            select(AlertFinding.alert_id, AlertFinding.unit_id).where(
                AlertFinding.alert_id.in_([a for a, _, _ in alerts])
            )
        ):
            units_of[int(aid)].add(int(uid))
    covered = {(p, u) for a, p, _ in alerts for u in units_of[a]}
    party_code = {p.id: p.code for p in s.scalars(select(Party).where(Party.id.in_(parties)))}
    for p, u, _ in fined:
        if (int(p), int(u)) not in covered:
            raise _stale(
                "run_stale_alert",
                "unit %(unit)s of %(party)s is no longer in a confirmed alert",
                run=run_id,
                unit=u,
                party=party_code.get(int(p), p),
            )
    currency = {int(p): c for p, _, c, _ in booked}
    charged: dict[tuple[int, int, str], int] = defaultdict(int)
    for p, u, per, fine in s.execute(
        select(IncidentCharge.party_id, IncidentCharge.unit_id, IncidentCharge.period,
               IncidentCharge.fine_minor)
        .join(SettlementRun, SettlementRun.id == IncidentCharge.run_id)
        .where(
            ((SettlementRun.status == "posted") | (SettlementRun.id == run_id))
            & IncidentCharge.party_id.in_(parties)
        )
    ):  # fmt: skip
        charged[(int(p), int(u), per)] += int(fine)
    for inc in group_incidents(alerts, units_of):
        # the incident's own fine (its month), which a whistleblower's reward shares
        total = sum(charged.get((inc.party_id, u, inc.period), 0) for u in inc.unit_ids)
        if not total:
            continue
        for aid in inc.alert_ids:
            charged_alert = s.get(Alert, aid)
            assert charged_alert is not None
            if charged_alert.penalized_run_id is None:
                charged_alert.penalized_run_id = run_id
            charged_alert.penalty_minor = total
            charged_alert.penalty_currency = currency.get(
                inc.party_id, charged_alert.penalty_currency
            )


def discard_run(engine: Engine, run_id: int, user: Actor) -> None:
    """Delete a draft, approved or superseded run (for example after inputs changed)."""
    user.require("finance", action="discard settlement runs")
    with Session(engine) as s, s.begin():
        r = _load_run(s, run_id)
        if r.status == "posted":
            raise RunStateError.said(
                "run_posted_discard", "run %(run)s is posted and cannot be discarded", run=run_id
            )
        _delete_statements(s, run_id)
        s.execute(
            update(SettlementRun)
            .where(SettlementRun.superseded_by == run_id)
            .values(superseded_by=None)
        )
        s.delete(r)


def get_run(engine: Engine, run_id: int) -> RunView:
    """One run, for the pages and the API that show it and its totals.

    A posted run's statements are re-hashed first (:func:`check_posted_run`): a
    statement edited in the database raises
    :class:`~settlement.seals.StatementTampered` naming it, so no page shows a
    tampered figure beside the run's sealed hash. Raises :class:`SettlementError`
    for an unknown run.
    """
    with Session(engine) as s:
        r = _load_run(s, run_id)
        check_posted_run(s, r)
        return _run_view(s, r)


def list_runs(engine: Engine, period: str | None = None) -> list[RunView]:
    """Every run (of ``period``), newest first."""
    return page_runs(engine, period=period)[0]


def page_runs(
    engine: Engine, *, period: str | None = None, offset: int = 0, limit: int | None = None
) -> tuple[list[RunView], int]:
    """Runs newest first, ``limit`` of them from ``offset``, and how many there are."""
    with Session(engine) as s:
        q = select(SettlementRun).order_by(SettlementRun.id.desc())
        n = select(func.count()).select_from(SettlementRun)
        if period is not None:
            q = q.where(SettlementRun.period == period)
            n = n.where(SettlementRun.period == period)
        q = q.offset(offset)
        if limit is not None:
            q = q.limit(limit)
        return [_run_view(s, r) for r in s.scalars(q)], int(s.scalar(n) or 0)
