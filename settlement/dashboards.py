"""Home dashboards: the figures each role reads first thing in the day.

- :func:`channel_dashboard` (channel managers, admins, auditors): a month's
  out-of-zone sightings and cross-region transfers for a map with the
  territories they concern, alerts by ISO week and type, the diversion rate by
  region, the top responsible parties and the alerts waiting on a manager.
- :func:`finance_dashboard` (finance, admins, auditors): runs by status, the
  month's accruals, receivables and the disputes waiting.
- :func:`distributor_dashboard` (a distributor, its own party only): its posted
  statements, its alerts, its tier progress this month and its deposit.

The warehouse board reads devices, which ``settlement`` may not import: it is
:func:`scanners.warehouse_dashboard`.

Every query is bounded: one period (a month), and a limit on each list, so a
page stays fast on a large ledger. Money is integer minor units of the
currency named beside it; times are ms since the Unix epoch (UTC); coordinates
are integer micro-degrees (WGS 84), as stored. Sightings and transfers are
read through live entries only (:func:`ledger.retraction.live_entries`): an
observation retracted by an error declaration is not drawn.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Engine, case, func, select
from sqlalchemy.orm import Session

import geo
from ledger.models import Entry, Party, Unit
from ledger.partitions import declarations
from ledger.retraction import live_entries
from settlement.accruals import AccrualRow, accruals
from settlement.alerts import ALERT_STATUSES, AlertView, list_alerts
from settlement.common import Actor, PermissionDenied, SettlementError, now_ms, period_bounds
from settlement.deposits import DepositStatus, deposit_status
from settlement.detection import DIVERSION_TYPES
from settlement.disputes import list_disputes
from settlement.models import Alert, AlertFinding, SettlementRun, TerritoryGrant
from settlement.receivables import AccountRow, list_accounts
from settlement.statements import DisputeView, StatementSummary, list_statements

__all__ = [
    "AlertStatusCount",
    "ChannelDashboard",
    "DistributorDashboard",
    "FinanceDashboard",
    "MapTerritory",
    "PartyAlerts",
    "RegionRate",
    "RunCount",
    "RunLine",
    "Sighting",
    "Transfer",
    "WaitingAlert",
    "WeekCount",
    "channel_dashboard",
    "current_period",
    "distributor_dashboard",
    "finance_dashboard",
    "iso_week",
]

#: Points and lines drawn on the map at most (the tables say how many there are).
MAX_POINTS = 1000
MAX_TRANSFERS = 500
#: Territories drawn at most, and the Douglas–Peucker tolerance in degrees
#: (about 5 km at the equator): a country's outline stays recognisable.
MAX_TERRITORIES = 300
SIMPLIFY_DEGREES = 0.05
#: Located entries a month may have for the diversion rate to be computed on the page.
MAX_RATE_ENTRIES = 500_000
TOP_PARTIES = 10
WAITING_SHOWN = 15
WAITING_STATUSES = ("open", "investigating")
CHANNEL_READERS = ("channel_manager", "admin", "auditor")
FINANCE_READERS = ("finance", "admin", "auditor")


def iso_week(at_ms: int) -> str:
    """The ISO 8601 week holding ``at_ms`` (UTC), ``YYYY-Www``: ``2026-W10``."""
    year, week, _ = datetime.fromtimestamp(at_ms / 1000, UTC).isocalendar()
    return f"{year:04d}-W{week:02d}"


# ------------------------------------------------------------------ channel manager


@dataclass(frozen=True, slots=True)
class MapTerritory:
    """A territory to draw: ``geometry`` is GeoJSON (Polygon or MultiPolygon, lon/lat
    degrees), simplified to :data:`SIMPLIFY_DEGREES`, coordinates rounded to 1e-4°."""

    code: str
    name: str
    level: str
    geometry: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Sighting:
    """An out-of-zone observation: entry ``seq`` of unit ``unit_key`` seen by
    ``party_code`` at ``at_ms`` in ``territory_code`` ("" when in none), evidence
    of alert ``alert_id`` about ``responsible_code`` ("-" when unknown)."""

    seq: int
    alert_id: int
    unit_key: str
    kind: str
    party_code: str
    responsible_code: str
    territory_code: str
    at_ms: int
    lat_e6: int
    lon_e6: int


@dataclass(frozen=True, slots=True)
class Transfer:
    """A cross-region transfer: unit ``unit_key`` seen at entry ``seq`` (``to_*``)
    after its previous located live entry ``from_seq`` (``from_*``; all None when
    the unit had none before)."""

    seq: int
    alert_id: int
    unit_key: str
    party_code: str
    responsible_code: str
    territory_code: str
    at_ms: int
    to_lat_e6: int | None
    to_lon_e6: int | None
    from_seq: int | None
    from_lat_e6: int | None
    from_lon_e6: int | None


@dataclass(frozen=True, slots=True)
class WeekCount:
    """Alerts of one finding type whose first evidence falls in ISO week ``week``."""

    week: str
    finding_type: str
    alerts: int


@dataclass(frozen=True, slots=True)
class RegionRate:
    """Diversion in one region (a top-level territory) over the month.

    ``units_seen``: distinct units with a live located entry in the region;
    ``units_diverted``: distinct units in its out-of-zone or cross-region alerts
    that are not dismissed. ``rate`` = diverted / seen, a fraction in [0, 1]."""

    region_code: str
    region_name: str
    units_seen: int
    units_diverted: int

    @property
    def rate(self) -> float:
        return self.units_diverted / self.units_seen if self.units_seen else 0.0


@dataclass(frozen=True, slots=True)
class PartyAlerts:
    """A responsible party's diversion alerts of the month (dismissed ones left out):
    how many, the units they cover, and how many still wait on a manager."""

    party_id: int
    party_code: str
    party_name: str
    alerts: int
    units: int
    waiting: int


@dataclass(frozen=True, slots=True)
class WaitingAlert:
    """An alert open or under investigation, of any period; ``updated_ms`` is its
    last change, so the oldest waits longest."""

    id: int
    period: str
    finding_type: str
    status: str
    severity: str
    party_code: str
    territory_code: str
    unit_count: int
    assignee: str | None
    updated_ms: int


@dataclass(frozen=True, slots=True)
class ChannelDashboard:
    """The channel manager's month ``period`` (``YYYY-MM``).

    ``sightings``/``transfers`` hold at most :data:`MAX_POINTS`/:data:`MAX_TRANSFERS`
    in ledger order; ``sighting_total``/``transfer_total`` count them all.
    ``weeks`` lists the ISO weeks with alerts, ``week_counts`` one row per (week,
    type) with alerts. ``region_rates`` is empty with ``rates_note`` set when the
    month has more than :data:`MAX_RATE_ENTRIES` located entries. ``waiting`` are the
    :data:`WAITING_SHOWN` alerts waiting longest, ``waiting_total`` all of them.
    """

    period: str
    territories: tuple[MapTerritory, ...]
    sightings: tuple[Sighting, ...]
    sighting_total: int
    transfers: tuple[Transfer, ...]
    transfer_total: int
    weeks: tuple[str, ...]
    week_counts: tuple[WeekCount, ...]
    region_rates: tuple[RegionRate, ...]
    rates_note: str
    top_parties: tuple[PartyAlerts, ...]
    waiting: tuple[WaitingAlert, ...]
    waiting_total: int

    def week_count(self, week: str, finding_type: str) -> int:
        """Alerts of ``finding_type`` in ``week`` (0 when none)."""
        return next(
            (
                c.alerts
                for c in self.week_counts
                if (c.week, c.finding_type) == (week, finding_type)
            ),
            0,
        )

    @property
    def finding_types(self) -> tuple[str, ...]:
        """The finding types with alerts this month, in detection's order."""
        seen = {c.finding_type for c in self.week_counts}
        order = ("out_of_zone", "cross_region", "custody_break", "clone")
        return tuple(t for t in order if t in seen) + tuple(sorted(seen - set(order)))


def _simplified(geometry: dict[str, Any]) -> dict[str, Any]:
    shape = shapely.geometry.shape(geometry)
    small = shapely.simplify(shape, SIMPLIFY_DEGREES, preserve_topology=True)
    small = shapely.set_precision(small, 1e-4)
    if small.is_empty:  # a territory smaller than the tolerance: keep it as it is
        small = shape
    out: dict[str, Any] = json.loads(shapely.to_geojson(small))
    return out


def _map_territories(s: Session, codes: set[str]) -> tuple[MapTerritory, ...]:
    if not codes:
        return ()
    rows = s.execute(
        select(
            geo.TerritoryRow.code,
            geo.TerritoryRow.name,
            geo.TerritoryRow.level,
            geo.TerritoryRow.geometry,
        )
        .where(geo.TerritoryRow.code.in_(sorted(codes)[: MAX_TERRITORIES * 2]))
        .order_by(geo.TerritoryRow.code)
        .limit(MAX_TERRITORIES)
    ).all()
    return tuple(
        MapTerritory(code, name, level, _simplified(json.loads(geometry)))
        for code, name, level, geometry in rows
    )


def _finding_rows(s: Session, period: str, finding_type: str, limit: int) -> list[Any]:
    responsible = Party.__table__.alias("responsible")
    observer = Party.__table__.alias("observer")
    return list(
        s.execute(
            select(
                Entry.seq,
                AlertFinding.alert_id,
                Unit.key,
                Entry.kind,
                observer.c.code,
                responsible.c.code,
                Alert.territory_code,
                Entry.at_ms,
                Entry.lat_e6,
                Entry.lon_e6,
                Entry.unit_id,
            )
            .select_from(AlertFinding)
            .join(Alert, Alert.id == AlertFinding.alert_id)
            .join(Entry, Entry.seq == AlertFinding.seq)
            .join(Unit, Unit.id == Entry.unit_id)
            .join(observer, observer.c.id == Entry.party_id)
            .outerjoin(responsible, responsible.c.id == Alert.party_id)
            .where(
                Alert.period == period,
                Alert.finding_type == finding_type,
                live_entries(declared=declarations(s)),
            )
            .order_by(Entry.seq)
            .limit(limit)
        ).all()
    )


def _finding_total(s: Session, period: str, finding_type: str) -> int:
    return int(
        s.scalar(
            select(func.count(AlertFinding.id))
            .join(Alert, Alert.id == AlertFinding.alert_id)
            .join(Entry, Entry.seq == AlertFinding.seq)
            .where(
                Alert.period == period,
                Alert.finding_type == finding_type,
                live_entries(declared=declarations(s)),
            )
        )
        or 0
    )


def _sightings(s: Session, period: str) -> tuple[tuple[Sighting, ...], int]:
    rows = _finding_rows(s, period, "out_of_zone", MAX_POINTS)
    out = tuple(
        Sighting(int(seq), int(aid), key, kind, obs, resp or "-", terr, int(at), int(lat), int(lon))
        for seq, aid, key, kind, obs, resp, terr, at, lat, lon, _ in rows
        if lat is not None and lon is not None
    )
    return out, _finding_total(s, period, "out_of_zone")


def _transfers(s: Session, period: str) -> tuple[tuple[Transfer, ...], int]:
    rows = _finding_rows(s, period, "cross_region", MAX_TRANSFERS)
    if not rows:
        return (), 0
    units = sorted({int(r[10]) for r in rows})
    last_seq = max(int(r[0]) for r in rows)
    before: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for i in range(0, len(units), 500):
        for seq, unit_id, lat, lon in s.execute(
            select(Entry.seq, Entry.unit_id, Entry.lat_e6, Entry.lon_e6)
            .where(
                Entry.unit_id.in_(units[i : i + 500]),
                Entry.seq < last_seq,
                Entry.lat_e6.is_not(None),
                Entry.lon_e6.is_not(None),
                live_entries(declared=declarations(s)),
            )
            .order_by(Entry.seq)
        ):
            if lat is not None and lon is not None:  # the query asks for located ones only
                before[int(unit_id)].append((int(seq), int(lat), int(lon)))
    out: list[Transfer] = []
    for seq, aid, key, _kind, obs, resp, terr, at, lat, lon, unit_id in rows:
        prior = [p for p in before.get(int(unit_id), []) if p[0] < seq]
        src = prior[-1] if prior else None
        out.append(
            Transfer(
                int(seq), int(aid), key, obs, resp or "-", terr, int(at),
                None if lat is None else int(lat), None if lon is None else int(lon),
                src[0] if src else None, src[1] if src else None, src[2] if src else None,
            )
        )  # fmt: skip
    return tuple(out), _finding_total(s, period, "cross_region")


def _week_counts(s: Session, period: str) -> tuple[tuple[str, ...], tuple[WeekCount, ...]]:
    first = (
        select(Alert.finding_type, func.min(AlertFinding.at_ms))
        .join(AlertFinding, AlertFinding.alert_id == Alert.id)
        .where(Alert.period == period)
        .group_by(Alert.id, Alert.finding_type)
    )
    counts: Counter[tuple[str, str]] = Counter()
    for ftype, at in s.execute(first):
        counts[(iso_week(int(at)), str(ftype))] += 1
    weeks = tuple(sorted({w for w, _ in counts}))
    return weeks, tuple(WeekCount(w, t, n) for (w, t), n in sorted(counts.items()))


def _region_of(codes: dict[str, str | None]) -> dict[str, str]:
    """Each territory's top ancestor (itself at the top); a cycle stops where it repeats."""
    out: dict[str, str] = {}
    for code in codes:
        seen = {code}
        top = code
        parent = codes.get(top)
        while parent is not None and parent in codes and parent not in seen:
            seen.add(parent)
            top = parent
            parent = codes.get(top)
        out[code] = top
    return out


def _region_rates(s: Session, period: str) -> tuple[tuple[RegionRate, ...], str]:
    start, end = period_bounds(period)
    located = (
        Entry.at_ms >= start,
        Entry.at_ms < end,
        Entry.lat_e6.is_not(None),
        Entry.lon_e6.is_not(None),
        live_entries(declared=declarations(s)),
    )
    n = int(s.scalar(select(func.count()).select_from(Entry).where(*located)) or 0)
    if n > MAX_RATE_ENTRIES:
        return (), f"the month has {n:,} located entries, more than {MAX_RATE_ENTRIES:,}"
    tree = {
        code: (name, parent)
        for code, name, parent in s.execute(
            select(geo.TerritoryRow.code, geo.TerritoryRow.name, geo.TerritoryRow.parent_code)
        )
    }
    if not tree:
        return (), ""
    region = _region_of({c: p for c, (_, p) in tree.items()})
    seen: dict[str, set[int]] = defaultdict(set)
    if n:
        rows = s.execute(select(Entry.unit_id, Entry.lon_e6, Entry.lat_e6).where(*located)).all()
        arr = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
        index = geo.cached_index(s)
        where = index.locate_e6(arr[:, 1], arr[:, 2])
        for unit_id, pos in zip(arr[:, 0].tolist(), where.tolist(), strict=True):
            if pos >= 0:
                seen[region[index.codes[pos]]].add(unit_id)
    diverted: dict[str, set[int]] = defaultdict(set)
    for terr, unit_id in s.execute(
        select(Alert.territory_code, AlertFinding.unit_id)
        .join(AlertFinding, AlertFinding.alert_id == Alert.id)
        .where(
            Alert.period == period,
            Alert.finding_type.in_(DIVERSION_TYPES),
            Alert.status != "dismissed",
        )
        .distinct()
    ):
        if terr in region:
            diverted[region[terr]].add(int(unit_id))
    codes = sorted(set(seen) | set(diverted))
    rates = [RegionRate(c, tree[c][0], len(seen[c] | diverted[c]), len(diverted[c])) for c in codes]
    rates.sort(key=lambda r: (-r.rate, r.region_code))
    return tuple(rates), ""


def _top_parties(s: Session, period: str) -> tuple[PartyAlerts, ...]:
    waiting = func.sum(case((Alert.status.in_(WAITING_STATUSES), 1), else_=0))
    rows = s.execute(
        select(
            Party.id,
            Party.code,
            Party.name,
            func.count(Alert.id),
            func.sum(Alert.unit_count),
            waiting,
        )
        .join(Party, Party.id == Alert.party_id)
        .where(
            Alert.period == period,
            Alert.finding_type.in_(DIVERSION_TYPES),
            Alert.status != "dismissed",
        )
        .group_by(Party.id, Party.code, Party.name)
        .order_by(func.sum(Alert.unit_count).desc(), func.count(Alert.id).desc(), Party.code)
        .limit(TOP_PARTIES)
    ).all()
    return tuple(
        PartyAlerts(int(i), code, name, int(n), int(u or 0), int(w or 0))
        for i, code, name, n, u, w in rows
    )


def _waiting(s: Session) -> tuple[tuple[WaitingAlert, ...], int]:
    where = Alert.status.in_(WAITING_STATUSES)
    total = int(s.scalar(select(func.count(Alert.id)).where(where)) or 0)
    rows = s.execute(
        select(Alert, Party.code)
        .outerjoin(Party, Party.id == Alert.party_id)
        .where(where)
        .order_by(Alert.updated_ms, Alert.id)
        .limit(WAITING_SHOWN)
    ).all()
    return (
        tuple(
            WaitingAlert(
                a.id,
                a.period,
                a.finding_type,
                a.status,
                a.severity,
                code or "-",
                a.territory_code,
                a.unit_count,
                a.assignee,
                a.updated_ms,
            )
            for a, code in rows
        ),
        total,
    )


def _granted_codes(s: Session, period: str) -> set[str]:
    start, end = period_bounds(period)
    return set(
        s.scalars(
            select(TerritoryGrant.territory_code)
            .where(
                TerritoryGrant.valid_from_ms < end,
                (TerritoryGrant.valid_to_ms.is_(None)) | (TerritoryGrant.valid_to_ms > start),
            )
            .distinct()
        )
    )


def channel_dashboard(engine: Engine, period: str, actor: Actor) -> ChannelDashboard:
    """The channel manager's board for ``period`` (``YYYY-MM``), see :class:`ChannelDashboard`.

    The map draws the territories granted to a distributor during the month and
    those where its diversion alerts were seen. Raises :class:`SettlementError`
    naming a malformed period, :class:`PermissionDenied` for a role other than
    channel manager, admin or auditor.
    """
    actor.require(*CHANNEL_READERS, action="read the channel dashboard")
    if "Q" in period:
        raise SettlementError(f"period {period!r} must be a month, YYYY-MM")
    period_bounds(period)
    with Session(engine) as s:
        sightings, sighting_total = _sightings(s, period)
        transfers, transfer_total = _transfers(s, period)
        weeks, week_counts = _week_counts(s, period)
        rates, note = _region_rates(s, period)
        alert_codes = set(
            s.scalars(
                select(Alert.territory_code)
                .where(Alert.period == period, Alert.finding_type.in_(DIVERSION_TYPES))
                .distinct()
            )
        )
        territories = _map_territories(s, (_granted_codes(s, period) | alert_codes) - {""})
        waiting, waiting_total = _waiting(s)
        return ChannelDashboard(
            period, territories, sightings, sighting_total, transfers, transfer_total, weeks,
            week_counts, rates, note, _top_parties(s, period), waiting, waiting_total,
        )  # fmt: skip


# ------------------------------------------------------------------ finance


@dataclass(frozen=True, slots=True)
class RunCount:
    """How many runs stand in ``status`` (draft, approved, posted), superseded ones
    left out."""

    status: str
    runs: int


@dataclass(frozen=True, slots=True)
class RunLine:
    """A recent run: id, month, kind (partial | final), status and when it was made."""

    id: int
    period: str
    kind: str
    status: str
    created_ms: int


@dataclass(frozen=True, slots=True)
class FinanceDashboard:
    """Finance's board on ``period`` (the current month).

    ``accrual_rows`` are the month's largest accruals (at most 10) and
    ``accrual_by_currency`` their totals by currency, as of ``accrual_as_of_ms``;
    ``accrual_note`` says why there are none (no checkpoint, no program...) and
    ``accrual_error`` is the engine's error it came from (its ``message_id`` and
    ``values`` let pages say it in the reader's language), None when there are rows.
    ``receivables`` are the parties owing most (at most 10, ``receivable_minor``
    > 0) and ``receivable_by_currency`` what all parties owe; ``disputes`` the open
    disputes waiting longest (at most 10), ``dispute_total`` all open ones.
    """

    period: str
    runs_by_status: tuple[RunCount, ...]
    recent_runs: tuple[RunLine, ...]
    accrual_rows: tuple[AccrualRow, ...]
    accrual_by_currency: dict[str, int]
    accrual_as_of_ms: int | None
    accrual_note: str
    receivables: tuple[AccountRow, ...]
    receivable_by_currency: dict[str, int]
    disputes: tuple[DisputeView, ...]
    dispute_total: int
    accrual_error: SettlementError | None = None


_RUN_STATUSES = ("draft", "approved", "posted")
_SHOWN = 10
_ACCOUNTS_READ = 1000


def finance_dashboard(engine: Engine, period: str, actor: Actor) -> FinanceDashboard:
    """Finance's board for ``period`` (``YYYY-MM``, the current month on the page).

    Raises :class:`PermissionDenied` for roles other than finance, admin, auditor.
    Accruals that cannot be computed (no checkpoint yet, no program, missing
    prices) leave ``accrual_note`` with the reason instead of failing the page.
    """
    actor.require(*FINANCE_READERS, action="read the finance dashboard")
    period_bounds(period)
    with Session(engine) as s:
        counts = dict(
            s.execute(
                select(SettlementRun.status, func.count(SettlementRun.id))
                .where(SettlementRun.superseded_by.is_(None))
                .group_by(SettlementRun.status)
            ).all()
        )
        recent = s.execute(
            select(
                SettlementRun.id,
                SettlementRun.period,
                SettlementRun.kind,
                SettlementRun.status,
                SettlementRun.created_ms,
            )
            .order_by(SettlementRun.id.desc())
            .limit(_SHOWN)
        ).all()
    by_status = tuple(RunCount(st, int(counts.get(st, 0))) for st in _RUN_STATUSES) + tuple(
        RunCount(str(st), int(n)) for st, n in sorted(counts.items()) if st not in _RUN_STATUSES
    )
    note = ""
    error: SettlementError | None = None
    rows: tuple[AccrualRow, ...] = ()
    totals: dict[str, int] = {}
    as_of: int | None = None
    try:
        acc = accruals(engine, period, actor)
    except SettlementError as exc:
        note, error = str(exc), exc
    else:
        rows = tuple(sorted(acc.rows, key=lambda r: (-r.rebate_minor, r.party_code))[:_SHOWN])
        totals, as_of = acc.rebate_by_currency, acc.as_of_ms
    accounts, _ = list_accounts(engine, actor, limit=_ACCOUNTS_READ)
    owed: dict[str, int] = defaultdict(int)
    for a in accounts:
        if a.receivable_minor > 0:
            owed[a.currency] += a.receivable_minor
    debtors = sorted((a for a in accounts if a.receivable_minor > 0), key=_owed_order)[:_SHOWN]
    disputes, dispute_total = list_disputes(engine, actor, status="open", limit=_SHOWN)
    return FinanceDashboard(
        period, by_status,
        tuple(RunLine(int(i), p, k, st, int(c)) for i, p, k, st, c in recent),
        rows, totals, as_of, note, tuple(debtors), dict(sorted(owed.items())),
        tuple(disputes), dispute_total, error,
    )  # fmt: skip


def _owed_order(a: AccountRow) -> tuple[str, int, str]:
    return (a.currency, -a.receivable_minor, a.party_code)


# ------------------------------------------------------------------ distributor


@dataclass(frozen=True, slots=True)
class AlertStatusCount:
    """How many of the distributor's alerts stand in ``status``."""

    status: str
    alerts: int


@dataclass(frozen=True, slots=True)
class DistributorDashboard:
    """A distributor's own board: its posted ``statements`` (newest first, at most
    12), its ``alerts`` (newest first, at most 10) with ``alert_counts`` by status,
    its ``tiers`` this ``period`` (accrual rows of its programs; ``tier_note`` says
    why there are none, ``tier_error`` the engine's error it came from) and its
    ``deposit`` (None: ``deposit_note`` says why).
    Nothing in it is another party's."""

    party_id: int
    period: str
    statements: tuple[StatementSummary, ...]
    alerts: tuple[AlertView, ...]
    alert_counts: tuple[AlertStatusCount, ...]
    tiers: tuple[AccrualRow, ...]
    tier_note: str
    deposit: DepositStatus | None
    deposit_note: str
    tier_error: SettlementError | None = None


def distributor_dashboard(engine: Engine, period: str, actor: Actor) -> DistributorDashboard:
    """The board of ``actor``'s party (a distributor user) for ``period`` (``YYYY-MM``).

    Raises :class:`PermissionDenied` for anyone but a distributor with a party.
    """
    if actor.role != "distributor" or actor.party_id is None:
        raise PermissionDenied(
            f"{actor.username} ({actor.role}) has no distributor party to show a board for"
        )
    period_bounds(period)
    party_id = actor.party_id
    statements = tuple(st for st in list_statements(engine, actor) if st.party_id == party_id)[:12]
    alerts = [a for a in list_alerts(engine, actor, limit=200) if a.party_id == party_id]
    with Session(engine) as s:
        counts = dict(
            s.execute(
                select(Alert.status, func.count(Alert.id))
                .where(Alert.party_id == party_id)
                .group_by(Alert.status)
            ).all()
        )
    tier_note = ""
    tier_error: SettlementError | None = None
    tiers: tuple[AccrualRow, ...] = ()
    try:
        tiers = tuple(r for r in accruals(engine, period, actor).rows if r.party_id == party_id)
    except SettlementError as exc:
        tier_note, tier_error = str(exc), exc
    deposit: DepositStatus | None = None
    deposit_note = ""
    try:
        deposit = deposit_status(engine, party_id, actor, movements=5)
    except SettlementError as exc:
        deposit_note = str(exc)
    return DistributorDashboard(
        party_id, period, statements, tuple(alerts[:10]),
        tuple(AlertStatusCount(st, int(counts.get(st, 0))) for st in ALERT_STATUSES),
        tiers, tier_note, deposit, deposit_note, tier_error,
    )  # fmt: skip


def current_period() -> str:
    """This month, ``YYYY-MM`` (UTC)."""
    return datetime.fromtimestamp(now_ms() / 1000, UTC).strftime("%Y-%m")
