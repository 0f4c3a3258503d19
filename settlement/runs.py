"""Settlement runs (``hopchain settle --period 2026-10``): draft -> approved -> posted.

A run reads the ledger as of a signed checkpoint, aggregates every distributor's
net in-zone sales with the numba kernel, applies the program versions valid for
the period and writes one statement per party. Approval needs a second finance
user; posting books what the run settled (penalties charged, rewards paid,
adjustments applied, deposit deductions) and freezes the run: a posted run, its
statements and lines can no longer be updated or deleted, even through the ORM.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, delete, event, func, insert, select
from sqlalchemy.orm import Mapper, Session

from ledger.models import Checkpoint, Party
from settlement import kernels as K
from settlement.common import (
    Actor,
    SettlementError,
    months_of,
    now_ms,
    period_bounds,
    prior_year_period,
    quarter_of,
)
from settlement.detection import DIVERSION_TYPES
from settlement.models import (
    Adjustment,
    Alert,
    AlertFinding,
    DepositMovement,
    FxRate,
    PartnerScore,
    PriceList,
    SalesTarget,
    SettlementRun,
    Statement,
    StatementLine,
    WhistleblowerReport,
)
from settlement.programs import ProgramRules, versions_for_period
from settlement.rules.money import minor_exponent, round_minor
from settlement.rules.penalties import period_index
from settlement.rules.tiers import Tier
from settlement.snapshot import Snapshot, load_snapshot
from settlement.statement import (
    AlertCharge,
    PartyInputs,
    ProgramInputs,
    RewardCredit,
    SettledParty,
    settle_party,
    statement_hash,
)

__all__ = [
    "RunStateError",
    "RunView",
    "approve_run",
    "create_run",
    "discard_run",
    "fx_rate",
    "get_run",
    "list_runs",
    "post_run",
]

RUN_KINDS = ("partial", "final")
_RATE_Q = Decimal("0.0001")


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
    """Units of ``reporting`` per unit of ``currency`` in ``period`` (a month, or the
    quarter's last month when only that is on file)."""
    if currency == reporting:
        return Decimal(1)
    for p in (period, *reversed(months_of(period))):
        raw = s.scalar(
            select(FxRate.rate).where(
                FxRate.period == p,
                FxRate.currency == currency,
                FxRate.reporting_currency == reporting,
            )
        )
        if raw is not None:
            return Decimal(raw)
    raise SettlementError(f"no FX rate {currency}->{reporting} for period {period}")


def _localize(rules: ProgramRules, factor: Decimal, ccy: str) -> ProgramRules:
    """Program money in the party's currency: ``factor`` = local minor per rules minor."""
    if factor == 1:
        return rules
    if rules.measure == "volume":  # a money rate per unit: to 1/10000 of a minor unit
        tiers = tuple(Tier(t.threshold, (t.rate * factor).quantize(_RATE_Q)) for t in rules.tiers)
    else:
        tiers = tuple(Tier(round_minor(t.threshold * factor), t.rate) for t in rules.tiers)
    pen = rules.penalties
    if pen is not None:
        pen = type(pen)(
            round_minor(pen.fine_per_unit * factor),
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
    return datetime.fromtimestamp(end_ms / 1000 - 86_400, UTC).date().isoformat()


def _price_matrix(s: Session, snap: Snapshot, period: str) -> np.ndarray[Any, np.dtype[np.int64]]:
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
    """Each party's class from its last scored quarter before ``period``'s quarter."""
    out: dict[int, str] = {}
    rows = s.execute(
        select(PartnerScore.party_id, PartnerScore.partner_class)
        .where(PartnerScore.quarter < quarter_of(period))
        .order_by(PartnerScore.quarter)
    ).all()
    for pid, cls in rows:  # later quarters overwrite earlier ones
        out[int(pid)] = str(cls)
    return out


def _n_parts() -> int:
    return max(os.cpu_count() or 1, 1)


def _run_view(s: Session, r: SettlementRun) -> RunView:
    n = s.scalar(select(func.count()).select_from(Statement).where(Statement.run_id == r.id))
    return RunView(
        r.id, r.period, r.kind, r.status, r.tree_size, r.root_hex,
        tuple(json.loads(r.program_versions_json)), r.reporting_currency, r.run_hash,
        r.created_by, r.approved_by, r.posted_by, int(n or 0),
    )  # fmt: skip


# ------------------------------------------------------------------ create


def create_run(
    engine: Engine,
    period: str,
    kind: str,
    user: Actor,
    *,
    tree_size: int | None = None,
    reporting_currency: str = "EUR",
) -> RunView:
    """Compute a draft run for ``period`` (``YYYY-MM`` or ``YYYY-Qn``) as of a signed
    checkpoint (the latest, or the one at ``tree_size``)."""
    user.require("finance", action="create settlement runs")
    if kind not in RUN_KINDS:
        raise SettlementError(f"run kind must be one of {RUN_KINDS}, got {kind!r}")
    start_ms, end_ms = period_bounds(period)
    prior = prior_year_period(period)
    p_start, p_end = period_bounds(prior)
    with Session(engine) as s, s.begin():
        done = s.scalar(
            select(SettlementRun.id).where(
                SettlementRun.period == period,
                SettlementRun.kind == "final",
                SettlementRun.status == "posted",
            )
        )
        if done is not None:
            raise SettlementError(
                f"period {period} was settled by posted run {done}; "
                "corrections go as adjustments into a later run"
            )
        q = select(Checkpoint).order_by(Checkpoint.tree_size.desc(), Checkpoint.id.desc())
        if tree_size is not None:
            q = q.where(Checkpoint.tree_size == tree_size)
        cp = s.scalars(q.limit(1)).first()
        if cp is None:
            raise SettlementError(
                "no signed checkpoint"
                + (f" at tree size {tree_size}" if tree_size is not None else "")
                + ": sign one before settling"
            )
        root_hex = bytes(cp.root_hash).hex()
        versions = versions_for_period(s, period)
        if not versions:
            raise SettlementError(f"no rebate program is valid for {period}")
        version_ids = [v.id for _, v, _ in versions]

        snap = load_snapshot(s.connection(), cp.tree_size)
        # Units excluded from the base: those of confirmed diversion alerts.
        excluded = np.zeros(snap.unit_ids.shape[0], dtype=np.bool_)
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
        excluded[idx[idx >= 0]] = True
        price = _price_matrix(s, snap, period)
        n_parts = _n_parts()
        args = (snap.unit, snap.kind, snap.party, snap.counterparty, snap.at_ms, snap.unit_product,
                snap.party_kind, snap.party_currency, price, excluded)  # fmt: skip
        cur = K.aggregate_sales(*args, start_ms, end_ms, n_parts)
        old = K.aggregate_sales(*args, p_start, p_end, n_parts)
        missing = np.flatnonzero(cur[:, :, K.S_MISSING_PRICE].sum(axis=1))
        if missing.size:
            p = int(missing[0])
            raise SettlementError(
                f"no list price for some products in {snap.currencies[snap.party_currency[p]]} "
                f"for {period} (party {snap.party_codes[p]}): add them to the price list"
            )

        parties = {p.id: p for p in s.scalars(select(Party))}
        targets: dict[int, int] = defaultdict(int)
        has_target: set[int] = set()
        for t in s.scalars(select(SalesTarget).where(SalesTarget.period.in_(months_of(period)))):
            if t.measure == "units" and t.units is not None:  # value targets: see TODO below
                targets[t.party_id] += t.units
                has_target.add(t.party_id)

        charges = _alert_charges(s, snap, price, period, start_ms)

        rewards = _pending_rewards(s)
        adjustments: dict[int, list[Adjustment]] = defaultdict(list)
        for adj in s.scalars(select(Adjustment).where(Adjustment.applied_run_id.is_(None))):
            adjustments[adj.party_id].append(adj)
        partial_paid = _partial_paid(s, period)
        balances = _deposit_balances(s)

        # Penalties first (rewards are shares of them), then every party's statement.
        settled: dict[int, SettledParty] = {}
        order = [int(pid) for pid in snap.party_ids]
        fx_cache: dict[tuple[str, str], Decimal] = {}

        def factor(src: str, dst: str) -> Decimal:
            if (src, dst) not in fx_cache:
                if src == dst:
                    fx_cache[(src, dst)] = Decimal(1)
                else:
                    to_rep = fx_rate(s, period, src, reporting_currency)
                    from_rep = fx_rate(s, period, dst, reporting_currency)
                    shift = Decimal(10) ** (minor_exponent(dst) - minor_exponent(src))
                    fx_cache[(src, dst)] = to_rep / from_rep * shift
            return fx_cache[(src, dst)]

        scored = _partner_classes(s, period)
        classes: dict[int, str] = {}
        for pid in order:
            if snap.party_is_distributor[snap.party_index(pid)]:
                classes[pid] = scored.get(pid, versions[0][2].default_class)

        def inputs(pid: int, reward_list: tuple[RewardCredit, ...]) -> PartyInputs:
            pi = snap.party_index(pid)
            party = parties[pid]
            progs = []
            if snap.party_is_distributor[pi]:
                for code, v, rules in versions:
                    b = 0 if rules.basis == "sell_in" else 1
                    st = cur[pi, b]
                    net_u = int(st[K.S_GROSS_U] - st[K.S_RET_U] - st[K.S_EXCL_U])
                    net_v = int(st[K.S_GROSS_V] - st[K.S_RET_V] - st[K.S_EXCL_V])
                    po = old[pi, b]
                    prior_v = int(po[K.S_GROSS_V] - po[K.S_RET_V] - po[K.S_EXCL_V])
                    progs.append(
                        ProgramInputs(
                            code, v.id, _localize(rules, factor(rules.currency, party.currency), party.currency),
                            int(st[K.S_GROSS_U]), int(st[K.S_RET_U]), int(st[K.S_EXCL_U]),
                            net_u, net_v, prior_v, targets[pid] if pid in has_target else None,
                        )
                    )  # fmt: skip
            return PartyInputs(
                party_code=party.code,
                currency=party.currency,
                partner_class=classes.get(pid, "-"),
                programs=tuple(progs),
                charges=tuple(charges.get(pid, ())),
                rewards=reward_list,
                adjustments=tuple(
                    (a.id, a.amount_minor, a.reason) for a in adjustments.get(pid, ())
                ),
                partial_rebates=partial_paid.get(pid, 0),
                deposit_balance=balances.get(pid, 0),
            )

        for pid in order:
            if pid in charges:
                settled[pid] = settle_party(inputs(pid, ()))
        charged_now: dict[int, tuple[int, str]] = {}
        for pid, sp in settled.items():
            for aid, amount in sp.alert_penalties.items():
                charged_now[aid] = (amount, parties[pid].currency)
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
        stamp = now_ms()
        for pid in order:
            pi = snap.party_index(pid)
            if not (snap.party_is_distributor[pi] or pid in reward_credits or pid in adjustments):
                continue
            settled[pid] = settle_party(inputs(pid, tuple(reward_credits.get(pid, ()))))

        run = SettlementRun(
            period=period,
            kind=kind,
            status="draft",
            tree_size=cp.tree_size,
            root_hex=root_hex,
            program_versions_json=json.dumps(version_ids),
            reporting_currency=reporting_currency,
            run_hash="",
            created_by=user.username,
            created_ms=stamp,
        )
        s.add(run)
        s.flush()
        hashes = []
        stmt_rows = []
        for pid in order:
            if pid not in settled:
                continue
            sp = settled[pid]
            party = parties[pid]
            cls = classes.get(pid, "-")
            h = statement_hash(
                period=period, kind=kind, tree_size=cp.tree_size, root_hex=root_hex,
                program_versions=version_ids, party_code=party.code, currency=party.currency,
                partner_class=cls, lines=sp.lines,
            )  # fmt: skip
            hashes.append(h)
            stmt_rows.append((pid, party, cls, sp, h))
        ids: list[int] = []
        for i in range(0, len(stmt_rows), 1000):
            ids.extend(
                s.scalars(
                    insert(Statement).returning(Statement.id, sort_by_parameter_order=True),
                    [
                        {
                            "run_id": run.id,
                            "party_id": pid,
                            "currency": party.currency,
                            "partner_class": cls,
                            "region": party.country or "",
                            "total_minor": sp.total,
                            "deposit_after_minor": sp.deposit_after,
                            "hash": h,
                        }
                        for pid, party, cls, sp, h in stmt_rows[i : i + 1000]
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
            }
            for sid, (_, _, _, sp, _) in zip(ids, stmt_rows, strict=True)
            for i, r in enumerate(sp.lines)
        ]
        for i in range(0, len(line_rows), 5000):
            s.execute(insert(StatementLine), line_rows[i : i + 5000])
        run.run_hash = hashlib.sha256(
            json.dumps([period, kind, cp.tree_size, root_hex, sorted(version_ids), hashes]).encode()
        ).hexdigest()
        s.flush()
        return _run_view(s, run)


def _alert_charges(
    s: Session,
    snap: Snapshot,
    price: np.ndarray[Any, np.dtype[np.int64]],
    period: str,
    start_ms: int,
) -> dict[int, list[AlertCharge]]:
    """Confirmed diversion alerts up to ``period`` not charged by a posted run yet, per
    responsible party, with the offences that came before each (12-month window) and
    the diverted units sold in before the period (those need a forfeiture line)."""
    last_idx = period_index(months_of(period)[-1])
    history: dict[int, list[tuple[int, int]]] = defaultdict(list)
    to_charge: list[Alert] = []
    for a in s.scalars(
        select(Alert)
        .where(Alert.status == "confirmed", Alert.finding_type.in_(DIVERSION_TYPES))
        .order_by(Alert.period, Alert.id)
    ):
        if a.party_id is None:
            continue
        history[a.party_id].append((period_index(a.period), a.id))
        if a.penalized_run_id is None and period_index(a.period) <= last_idx:
            to_charge.append(a)
    alloc_ms = _allocation_ms(snap)
    charges: dict[int, list[AlertCharge]] = defaultdict(list)
    for a in to_charge:
        assert a.party_id is not None
        unit_ids = (
            s.execute(select(AlertFinding.unit_id).where(AlertFinding.alert_id == a.id).distinct())
            .scalars()
            .all()
        )
        uidx = snap.unit_index(list(unit_ids))
        uidx = uidx[uidx >= 0]
        pi = snap.party_index(a.party_id)
        early = uidx[(alloc_ms[uidx] >= 0) & (alloc_ms[uidx] < start_ms)]
        prods = snap.unit_product[early]
        values = price[snap.party_currency[pi], prods] if early.size else np.zeros(0, np.int64)
        me = period_index(a.period)
        prior_n = sum(
            1 for pidx, aid in history[a.party_id]
            if (pidx, aid) < (me, a.id) and me - pidx < 12
        )  # fmt: skip
        charges[a.party_id].append(
            AlertCharge(a.id, len(unit_ids), prior_n, int(early.size), int(values.clip(0).sum()))
        )
    return charges


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
    """Net rebate already paid by posted partial runs of ``period``, per party: a run
    trues it up, so a second partial run pays only the increment and the final the rest."""
    partial_paid: dict[int, int] = defaultdict(int)
    rows = s.execute(
        select(Statement.party_id, func.sum(StatementLine.amount_minor))
        .join(StatementLine, StatementLine.statement_id == Statement.id)
        .join(SettlementRun, SettlementRun.id == Statement.run_id)
        .where(
            SettlementRun.period == period,
            SettlementRun.kind == "partial",
            SettlementRun.status == "posted",
            StatementLine.category.in_(("rebate", "trueup")),
        )
        .group_by(Statement.party_id)
    ).all()
    partial_paid.update({int(p): int(v) for p, v in rows})
    return partial_paid


def _deposit_balances(s: Session) -> dict[int, int]:
    """Each party's deposit: the sum of its movements."""
    balances = dict(
        s.execute(
            select(DepositMovement.party_id, func.sum(DepositMovement.amount_minor)).group_by(
                DepositMovement.party_id
            )
        ).all()
    )
    return {int(k): int(v or 0) for k, v in balances.items()}


def _allocation_ms(snap: Snapshot) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Per unit, when the manufacturer first shipped it to a distributor (-1: never)."""
    ship = (
        (snap.kind == K.K_SHIPPING)
        & (snap.counterparty >= 0)
        & (snap.party_kind[snap.party] == K.PK_MANUFACTURER)
    )
    rows = np.flatnonzero(ship)
    rows = rows[snap.party_kind[snap.counterparty[rows]] == K.PK_DISTRIBUTOR]
    out = np.full(snap.unit_ids.shape[0], -1, dtype=np.int64)
    units = snap.unit[rows]
    first_units, first_pos = np.unique(units, return_index=True)
    out[first_units] = snap.at_ms[rows[first_pos]]
    return out


# ------------------------------------------------------------------ workflow


def _load_run(s: Session, run_id: int) -> SettlementRun:
    r = s.get(SettlementRun, run_id)
    if r is None:
        raise SettlementError(f"no settlement run {run_id}")
    return r


def approve_run(engine: Engine, run_id: int, user: Actor) -> RunView:
    """Second pair of eyes: a finance user other than the one who created the run."""
    user.require("finance", action="approve settlement runs")
    with Session(engine) as s, s.begin():
        r = _load_run(s, run_id)
        if r.status != "draft":
            raise RunStateError(f"run {run_id} is {r.status}; only a draft can be approved")
        if r.created_by == user.username:
            raise RunStateError(
                f"run {run_id} was created by {user.username}; a different finance user must approve it"
            )
        r.status = "approved"
        r.approved_by = user.username
        r.approved_ms = now_ms()
        s.flush()
        return _run_view(s, r)


def post_run(engine: Engine, run_id: int, user: Actor) -> RunView:
    """Book what an approved run settled and freeze it.

    Refuses a stale draft: when another run has meanwhile charged one of its
    alerts, paid one of its rewards or applied one of its adjustments.
    """
    user.require("finance", action="post settlement runs")
    with Session(engine) as s, s.begin():
        r = _load_run(s, run_id)
        if r.status != "approved":
            raise RunStateError(f"run {run_id} is {r.status}; only an approved run can be posted")
        if r.kind == "final":
            other = s.scalar(
                select(SettlementRun.id).where(
                    SettlementRun.period == r.period,
                    SettlementRun.kind == "final",
                    SettlementRun.status == "posted",
                )
            )
            if other is not None:
                raise RunStateError(f"period {r.period} already has posted final run {other}")
        stamp = now_ms()
        rows = s.execute(
            select(Statement.party_id, Statement.currency, StatementLine.ref, StatementLine.amount_minor, StatementLine.category)
            .join(StatementLine, StatementLine.statement_id == Statement.id)
            .where(Statement.run_id == run_id)
        ).all()  # fmt: skip
        penalties: dict[int, int] = defaultdict(int)
        currency_of: dict[int, str] = {}
        for pid, ccy, ref, amount, category in rows:
            kind, _, num = ref.partition(":")
            if kind == "alert":
                penalties[int(num)] += -int(amount)
                currency_of[int(num)] = ccy
            elif kind == "report":
                rep = s.get(WhistleblowerReport, int(num))
                if rep is None or rep.reward_run_id is not None:
                    raise RunStateError(f"run {run_id} is stale: report {num} was already rewarded")
                rep.reward_run_id = run_id
            elif kind == "adjustment":
                adj = s.get(Adjustment, int(num))
                if adj is None or adj.applied_run_id is not None:
                    raise RunStateError(
                        f"run {run_id} is stale: adjustment {num} was already applied"
                    )
                adj.applied_run_id = run_id
            elif category == "deposit" and amount:
                s.add(
                    DepositMovement(
                        party_id=pid, at_ms=stamp, amount_minor=-int(amount), currency=ccy,
                        reason=f"penalties beyond rebate, run {run_id} ({r.period})", run_id=run_id,
                    )
                )  # fmt: skip
        for aid, amount in penalties.items():
            a = s.get(Alert, aid)
            if a is None or a.penalized_run_id is not None or a.status != "confirmed":
                raise RunStateError(
                    f"run {run_id} is stale: alert {aid} was charged elsewhere or is no longer confirmed; "
                    "discard it and create a new run"
                )
            a.penalized_run_id = run_id
            a.penalty_minor = amount
            a.penalty_currency = currency_of[aid]
        r.status = "posted"
        r.posted_by = user.username
        r.posted_ms = stamp
        s.flush()
        return _run_view(s, r)


def discard_run(engine: Engine, run_id: int, user: Actor) -> None:
    """Delete a draft or approved run (for example after inputs changed)."""
    user.require("finance", action="discard settlement runs")
    with Session(engine) as s, s.begin():
        r = _load_run(s, run_id)
        if r.status == "posted":
            raise RunStateError(f"run {run_id} is posted and cannot be discarded")
        stmts = select(Statement.id).where(Statement.run_id == run_id).scalar_subquery()
        s.execute(delete(StatementLine).where(StatementLine.statement_id.in_(stmts)))
        s.execute(delete(Statement).where(Statement.run_id == run_id))
        s.delete(r)


def get_run(engine: Engine, run_id: int) -> RunView:
    with Session(engine) as s:
        return _run_view(s, _load_run(s, run_id))


def list_runs(engine: Engine, period: str | None = None) -> list[RunView]:
    with Session(engine) as s:
        q = select(SettlementRun).order_by(SettlementRun.id.desc())
        if period is not None:
            q = q.where(SettlementRun.period == period)
        return [_run_view(s, r) for r in s.scalars(q)]
