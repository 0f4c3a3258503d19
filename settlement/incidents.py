"""Incidents: one diversion, one fine, whatever number of alerts describe it.

Detection raises one alert per finding type, territory and period, so the same
diverted unit can sit in a cross-region alert and in two out-of-zone alerts. The
fine and the escalation count *incidents*: a responsible party's findings in one
period, where alerts that share a unit are merged (connected through shared units).
Escalation follows what stands: only currently confirmed alerts make incidents, and
every run recomputes the escalation of every incident in the 12-month window, so a
dismissed alert or an upheld appeal lowers the later incidents' step (and a run
corrects what posted runs charged: :mod:`settlement.statement`'s fine corrections).

:func:`group_incidents` is the pure rule; :func:`plan_incidents` reads what it needs
(confirmed alerts, their units, what posted runs charged and clawed back, the
rebate posted runs paid) and builds each party's :class:`IncidentInput` list.
"""

from __future__ import annotations

import bisect
import itertools
import json
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from settlement import kernels as K
from settlement.common import month_of, months_of
from settlement.detection import DIVERSION_TYPES
from settlement.models import (
    Alert,
    AlertEvent,
    AlertFinding,
    IncidentCharge,
    Program,
    ProgramVersion,
    SettlementRun,
    Statement,
    StatementLine,
)
from settlement.rules.penalties import period_index
from settlement.statement import Clawback, IncidentInput, Refund

__all__ = ["Incident", "IncidentPlan", "group_incidents", "plan_incidents", "split_amount"]

WINDOW_MONTHS = 12


class Incident(NamedTuple):
    """Alerts of one responsible party in one period connected through shared units.

    (A named tuple: runs build tens of thousands of them.)"""

    party_id: int
    period: str
    alert_ids: tuple[int, ...]  # ascending
    unit_ids: tuple[int, ...]  # ascending
    prior: int  # distinct earlier months (within 12) in which the party has an incident

    @property
    def ref(self) -> str:
        return f"alert:{self.alert_ids[0]}"


def group_incidents(
    alerts: Sequence[tuple[int, int, str]], units_of: Mapping[int, Collection[int]]
) -> list[Incident]:
    """Merge ``alerts`` (``(alert id, party id, YYYY-MM period)``, confirmed diversion
    alerts only) into incidents and number each party's escalation step.

    One diversion, one fine: two alerts are one incident when they name the same
    responsible party and period and share a unit (transitively), whatever finding
    types and territories they are for. An alert without units is an incident of its
    own. (A unit still out of zone in a later month is that month's incident too.)

    Escalation counts repeat offending: an incident's ``prior`` is the number of
    distinct earlier months, less than 12 months before its own, in which the party
    has an incident. Incidents of the same month share a step; since an incident never
    changes month, removing an alert (dismissed, or reopened on appeal) can only lower
    a step, never raise one.
    """
    order = sorted(alerts)  # by alert id: the result does not depend on input order
    n = len(order)
    if n == 0:
        return []
    group_of: dict[tuple[int, str], int] = {}
    gidx = np.fromiter(
        (group_of.setdefault((pid, period), len(group_of)) for _, pid, period in order),
        dtype=np.int64, count=n,
    )  # fmt: skip
    lists = [units_of.get(a, ()) for a, _, _ in order]
    lens = np.fromiter(map(len, lists), dtype=np.int64, count=n)
    members = np.repeat(np.arange(n, dtype=np.int64), lens)
    units = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int64, count=int(lens.sum()))
    roots = K.connect_by_key(members, (gidx[members] << 32) | units, n)
    # each component's distinct units, ascending: one sort of (root, unit) pairs
    pairs = np.unique((roots[members] << 32) | units)
    pair_units = (pairs & 0xFFFFFFFF).tolist()
    cuts = np.flatnonzero(np.diff(pairs >> 32)) + 1
    starts = [0, *cuts.tolist()]
    ends = [*cuts.tolist(), len(pair_units)]
    unit_lists: dict[int, tuple[int, ...]] = {}
    if pair_units:
        first_roots = (pairs[starts] >> 32).tolist()
        unit_lists = {
            r: tuple(pair_units[a:b]) for r, a, b in zip(first_roots, starts, ends, strict=True)
        }
    # components in (party, month, first alert) order: one argsort, then slices
    ids_all = [a for a, _, _ in order]
    month_of_group = {g: period_index(p) for (_, p), g in group_of.items()}
    party = np.fromiter((pid for _, pid, _ in order), dtype=np.int64, count=n)
    month = np.fromiter((month_of_group[g] for g in gidx.tolist()), dtype=np.int64, count=n)
    by = np.lexsort((np.arange(n), roots, month[roots], party[roots]))
    sorted_roots = roots[by]
    cut = [0, *(np.flatnonzero(np.diff(sorted_roots)) + 1).tolist(), n]
    by_list = by.tolist()
    ids_sorted = [ids_all[i] for i in by_list]
    out: list[Incident] = []
    months: dict[int, list[int]] = defaultdict(list)  # party -> its offence months, sorted
    for a, b in itertools.pairwise(cut):
        root = by_list[a]
        pid, period = order[root][1], order[root][2]
        pidx = month_of_group[int(gidx[root])]
        m = months[pid]
        if not m or m[-1] != pidx:
            m.append(pidx)
        prior = len(m) - 1 - bisect.bisect_right(m, pidx - WINDOW_MONTHS)
        ids = tuple(ids_sorted[a:b])
        out.append(Incident(pid, period, ids, unit_lists.get(root, ()), prior))
    return out


def split_amount(total: int, keys: Sequence[int]) -> dict[int, int]:
    """``total`` split over ``keys`` as evenly as integers allow (the first keys take
    the remainder), so the parts always add up to the total."""
    if not keys:
        return {}
    q, r = divmod(abs(total), len(keys))
    sign = -1 if total < 0 else 1
    return {k: sign * (q + (1 if i < r else 0)) for i, k in enumerate(keys)}


@dataclass
class IncidentPlan:
    """Per party, what a run charges, corrects and claws back, and per unit what to
    book as :class:`IncidentCharge` rows when the run is stored. Posted charges are
    keyed by (party id, unit id): a unit is one diversion of its responsible party."""

    inputs: dict[int, list[IncidentInput]] = field(default_factory=dict)
    refunds: dict[int, list[Refund]] = field(default_factory=dict)
    incidents: dict[tuple[int, str], Incident] = field(default_factory=dict)  # (party, ref)
    fined_before: dict[tuple[int, int, str], int] = field(default_factory=dict)
    forfeited_before: dict[tuple[int, int, str], int] = field(default_factory=dict)
    bases: dict[tuple[int, int, str], str] = field(default_factory=dict)
    clawed_units: dict[tuple[int, str], dict[int, int]] = field(default_factory=dict)
    refund_units: dict[tuple[int, str], tuple[tuple[int, str], ...]] = field(default_factory=dict)

    def charge_rows(
        self,
        party_id: int,
        ref: str,
        fine_change: int,
        forfeit_total: int,
        currency: str,
        base_fine: Decimal | None,
    ) -> list[dict[str, Any]]:
        """IncidentCharge rows (without run id) booking one incident's change; a unit
        fined for the first time keeps ``base_fine`` (its fine before escalation)."""
        rows: dict[int, dict[str, Any]] = {}
        inc = self.incidents.get((party_id, ref))
        if inc is not None:
            if fine_change:
                for u, part in split_amount(fine_change, inc.unit_ids).items():
                    row = rows[u] = _row(party_id, u, inc.period, currency, fine=part)
                    known = self.bases.get((party_id, u, inc.period), "")
                    row["base_fine"] = known or ("" if base_fine is None else str(base_fine))
            claws = self.clawed_units.get((party_id, ref), {})
            if claws:
                keys = sorted(claws)
                for u, part in split_amount(forfeit_total, keys).items():
                    row = rows.setdefault(u, _row(party_id, u, inc.period, currency))
                    row["forfeit_minor"] = part
                    row["clawed"] = True
        for u, period in self.refund_units.get((party_id, ref), ()):
            row = rows.setdefault(u, _row(party_id, u, period, currency))
            row["fine_minor"] = -self.fined_before.get((party_id, u, period), 0)
            row["forfeit_minor"] = -self.forfeited_before.get((party_id, u, period), 0)
        return [r for r in rows.values() if r["fine_minor"] or r["forfeit_minor"] or r["clawed"]]


def _row(party_id: int, unit_id: int, period: str, currency: str, fine: int = 0) -> dict[str, Any]:
    return {
        "party_id": party_id,
        "unit_id": unit_id,
        "period": period,
        "fine_minor": fine,
        "forfeit_minor": 0,
        "currency": currency,
        "clawed": False,
        "base_fine": "",
    }


@dataclass
class _Posted:
    """What posted runs charged, per (party id, unit id, incident period); clawbacks
    per (party id, unit id): a unit's rebate is taken back once."""

    fined: dict[tuple[int, int, str], int] = field(default_factory=lambda: defaultdict(int))
    forfeited: dict[tuple[int, int, str], int] = field(default_factory=lambda: defaultdict(int))
    clawed: set[tuple[int, int]] = field(default_factory=set)
    base: dict[tuple[int, int, str], str] = field(default_factory=dict)


def _posted_charges(s: Session) -> _Posted:
    """Fines, clawbacks and base fines posted runs booked, oldest first."""
    out = _Posted()
    rows = s.execute(
        select(
            IncidentCharge.party_id,
            IncidentCharge.unit_id,
            IncidentCharge.period,
            IncidentCharge.fine_minor,
            IncidentCharge.forfeit_minor,
            IncidentCharge.clawed,
            IncidentCharge.base_fine,
        )
        .join(SettlementRun, SettlementRun.id == IncidentCharge.run_id)
        .where(SettlementRun.status == "posted")
        .order_by(IncidentCharge.id)
    )
    for pid, uid, period, fine, forfeit, was_clawed, base in rows:
        key = (int(pid), int(uid), period)
        out.fined[key] += int(fine)
        out.forfeited[key] += int(forfeit)
        if was_clawed:
            out.clawed.add((int(pid), int(uid)))
        if base and key not in out.base:
            out.base[key] = base
        if out.fined[key] == 0 and out.forfeited[key] == 0:
            out.base.pop(key, None)  # given back in full: a new charge starts afresh
    return out


@dataclass(frozen=True, slots=True)
class _PaidRate:
    """What a posted statement paid per unit (or per minor unit of value) for one
    program, and the line a clawback names."""

    source_ref: str
    measure: str
    rate: Decimal


def _paid_rates(s: Session, run_ids: Collection[int]) -> dict[tuple[int, int], list[_PaidRate]]:
    """(run, party) -> each sell-in program's paid rate in that run's statement."""
    if not run_ids:
        return {}
    basis_of: dict[tuple[int, str], tuple[str, str]] = {}
    for run in s.scalars(select(SettlementRun).where(SettlementRun.id.in_(run_ids))):
        for vid in json.loads(run.program_versions_json):
            v = s.get(ProgramVersion, vid)
            if v is None:
                continue
            rules = json.loads(v.rules_json)
            prog = s.get(Program, v.program_id)
            if prog is not None:
                basis_of[(run.id, prog.code)] = (str(rules.get("basis")), str(rules.get("measure")))
    acc: dict[tuple[int, int, str], list[Any]] = {}
    rows = s.execute(
        select(
            Statement.run_id,
            Statement.party_id,
            Statement.id,
            StatementLine.position,
            StatementLine.rule,
            StatementLine.category,
            StatementLine.amount_minor,
            StatementLine.quantity,
            StatementLine.ref,
        )
        .join(StatementLine, StatementLine.statement_id == Statement.id)
        .where(Statement.run_id.in_(run_ids), StatementLine.ref.like("program:%"))
        .order_by(Statement.id, StatementLine.position)
    )
    for run_id, pid, sid, pos, rule, category, amount, qty, ref in rows:
        code = ref.split(":", 1)[1]
        key = (run_id, pid, code)
        slot = acc.setdefault(key, [f"statement:{sid}:{pos}", 0, 0])
        if category == "rebate" or rule == "tier_cliff":
            slot[1] += int(amount)
        if rule.startswith("tier_") and rule != "tier_cliff":
            slot[2] += int(qty)
    out: dict[tuple[int, int], list[_PaidRate]] = defaultdict(list)
    for (run_id, pid, code), (ref, paid, qty) in acc.items():
        basis, measure = basis_of.get((run_id, code), ("", ""))
        if basis != "sell_in" or paid <= 0 or qty <= 0:
            continue
        out[(run_id, pid)].append(_PaidRate(ref, measure, Decimal(paid) / Decimal(qty)))
    return out


def _excluded_at(
    s: Session, unit_ids: Collection[int]
) -> dict[int, list[tuple[int, list[tuple[int, str]]]]]:
    """unit -> [(alert created ms, [(event ms, to status)...])] for its diversion alerts,
    so a unit's exclusion at any moment can be read back."""
    if not unit_ids:
        return {}
    alert_units: dict[int, set[int]] = defaultdict(set)
    created: dict[int, int] = {}
    for aid, uid, cms in s.execute(
        select(AlertFinding.alert_id, AlertFinding.unit_id, Alert.created_ms)
        .join(Alert, Alert.id == AlertFinding.alert_id)
        .where(AlertFinding.unit_id.in_(list(unit_ids)), Alert.finding_type.in_(DIVERSION_TYPES))
    ):
        alert_units[aid].add(uid)
        created[aid] = int(cms)
    events: dict[int, list[tuple[int, str]]] = defaultdict(list)
    if alert_units:
        for aid, at, to in s.execute(
            select(AlertEvent.alert_id, AlertEvent.at_ms, AlertEvent.to_status)
            .where(AlertEvent.alert_id.in_(list(alert_units)), AlertEvent.to_status.is_not(None))
            .order_by(AlertEvent.at_ms, AlertEvent.id)
        ):
            events[aid].append((int(at), str(to)))
    out: dict[int, list[tuple[int, list[tuple[int, str]]]]] = defaultdict(list)
    for aid, units in alert_units.items():
        for u in units:
            out[u].append((created[aid], events[aid]))
    return out


def _was_excluded(history: list[tuple[int, list[tuple[int, str]]]], at_ms: int) -> bool:
    """Was any of the unit's alerts confirmed at ``at_ms`` (so a run then left it out)?"""
    for _created, events in history:
        status = "open"
        for when, to in events:
            if when > at_ms:
                break
            status = to
        if status == "confirmed":
            return True
    return False


def plan_incidents(
    s: Session,
    period: str,
    *,
    unit_index: Any,
    alloc_ms: np.ndarray[Any, np.dtype[np.int64]],
    alloc_party: np.ndarray[Any, np.dtype[np.int64]],
    unit_value: Any,
    start_ms: int,
) -> IncidentPlan:
    """Incidents up to ``period``'s last month, with what posted runs already charged.

    ``unit_index(ids) -> indexes`` maps unit ids into the snapshot's arrays;
    ``alloc_ms``/``alloc_party`` give when and to which party id the manufacturer
    first shipped each unit (-1: never); ``unit_value(unit index, period, party id)``
    the unit's list value then in the party's currency (value programs).
    """
    last_idx = period_index(_last_month(period))
    alerts = [
        (int(a.id), int(a.party_id), a.period)
        for a in s.scalars(
            select(Alert)
            .where(Alert.status == "confirmed", Alert.finding_type.in_(DIVERSION_TYPES))
            .order_by(Alert.period, Alert.id)
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
    incidents = group_incidents(alerts, units_of)
    posted = _posted_charges(s)
    fined, forfeited, clawed = posted.fined, posted.forfeited, posted.clawed
    plan = IncidentPlan(
        fined_before=dict(fined), forfeited_before=dict(forfeited), bases=dict(posted.base)
    )

    charged_units = [i for i in incidents if period_index(i.period) <= last_idx]
    # Clawbacks: units sold in to the responsible party before this period, paid by a
    # posted run of their sell-in month, counted by that run (not excluded then).
    candidates: dict[int, list[int]] = {}
    for inc in charged_units:
        units = [u for u in inc.unit_ids if (inc.party_id, u) not in clawed]
        if units:
            candidates[id(inc)] = units
    all_units = sorted({u for us in candidates.values() for u in us})
    idx = unit_index(all_units) if all_units else np.zeros(0, np.int64)
    pos = {u: int(i) for u, i in zip(all_units, idx, strict=True)}
    sell_in_month: dict[int, str] = {}
    for u, i in pos.items():
        if i >= 0 and alloc_ms[i] >= 0 and alloc_ms[i] < start_ms:
            sell_in_month[u] = month_of(int(alloc_ms[i]))
    months = sorted(set(sell_in_month.values()))
    paying_run: dict[str, tuple[int, int]] = {}  # month -> (run id, created ms)
    if months:
        for r in s.scalars(
            select(SettlementRun)
            .where(SettlementRun.status == "posted", SettlementRun.period.in_(months))
            .order_by(SettlementRun.id)
        ):
            if r.kind == "final" or r.period not in paying_run:
                paying_run[r.period] = (r.id, r.created_ms)
    rates = _paid_rates(s, {rid for rid, _ in paying_run.values()})
    history = _excluded_at(s, [u for u in sell_in_month if sell_in_month[u] in paying_run])

    standing = {(inc.party_id, u, inc.period) for inc in incidents for u in inc.unit_ids}
    claimed: set[tuple[int, int]] = set()  # (party, unit) clawed back by this run
    for inc in charged_units:
        keys = [(inc.party_id, u, inc.period) for u in inc.unit_ids]
        before = sum(fined.get(k, 0) for k in keys)
        bases = tuple(Decimal(posted.base[k]) for k in keys if fined.get(k, 0) and k in posted.base)
        claws: list[Clawback] = []
        clawed_here: dict[int, int] = {}
        groups: dict[str, tuple[_PaidRate, list[int], int]] = {}
        for u in candidates.get(id(inc), ()):
            if (inc.party_id, u) in claimed:
                continue  # an earlier incident of this run takes it back already
            month = sell_in_month.get(u)
            if month is None or month not in paying_run:
                continue  # no run paid rebate on it: nothing to claw back
            i = pos[u]
            if int(alloc_party[i]) != inc.party_id:
                continue  # the responsible party did not earn the unit's sell-in rebate
            run_id, run_ms = paying_run[month]
            if _was_excluded(history.get(u, []), run_ms):
                continue  # that run left it out: it earned nothing
            for pr in rates.get((run_id, inc.party_id), ()):
                base = 1 if pr.measure == "volume" else int(unit_value(i, month, inc.party_id))
                g = groups.setdefault(pr.source_ref, (pr, [], 0))
                g[1].append(u)
                groups[pr.source_ref] = (pr, g[1], g[2] + base)
                clawed_here[u] = 1
                claimed.add((inc.party_id, u))
        for ref, (pr, units, base) in sorted(groups.items()):
            claws.append(Clawback(ref, len(units), base, pr.rate))
        plan.inputs.setdefault(inc.party_id, []).append(
            IncidentInput(
                inc.ref, inc.alert_ids, inc.period, len(inc.unit_ids), inc.prior, before,
                tuple(claws), bases,
            )
        )  # fmt: skip
        plan.incidents[(inc.party_id, inc.ref)] = inc
        if clawed_here:
            plan.clawed_units[(inc.party_id, inc.ref)] = clawed_here
    # Posted charges whose incident no longer stands: give them back.
    gone: dict[tuple[int, str], list[int]] = defaultdict(list)
    for key in set(fined) | set(forfeited):
        if key in standing or (fined.get(key, 0) == 0 and forfeited.get(key, 0) == 0):
            continue
        pid, uid, per = key
        if period_index(per) <= last_idx:
            gone[(pid, per)].append(uid)
    for (pid, per), uids in sorted(gone.items()):
        uids.sort()
        ref = _refund_ref(s, pid, per, uids)
        plan.refunds.setdefault(pid, []).append(
            Refund(
                ref, per, len(uids),
                sum(fined.get((pid, u, per), 0) for u in uids),
                sum(forfeited.get((pid, u, per), 0) for u in uids),
            )
        )  # fmt: skip
        plan.refund_units[(pid, ref)] = tuple((u, per) for u in uids)
    return plan


def _refund_ref(s: Session, party_id: int, period: str, unit_ids: list[int]) -> str:
    """``alert:ID`` of the alert whose charge is given back: of the party's alerts that
    hold these units and no longer stand, the first one a posted run charged (else
    the first of them)."""
    aid = s.scalar(
        select(AlertFinding.alert_id)
        .join(Alert, Alert.id == AlertFinding.alert_id)
        .where(
            Alert.party_id == party_id,
            Alert.status != "confirmed",
            AlertFinding.unit_id.in_(unit_ids),
        )
        .order_by(Alert.penalized_run_id.is_(None), Alert.period != period, AlertFinding.alert_id)
        .limit(1)
    )
    return f"alert:{aid}" if aid is not None else f"incident:{period}"


def _last_month(period: str) -> str:
    return months_of(period)[-1]
