"""Territory grants as people see them, and a party's month of scans on its zone.

The territory page, ``hopchain territories`` and ``/api/v1/territories`` call
these: grant history per party with the signed agreement that made each grant
(grants come only from signed agreements, :mod:`partners.in_force`: a
supplementary agreement changes them, a termination ends them), and
:func:`party_zone_scans`, which answers "where were the units
allocated to this party seen this month, and was each scan in its zone?".

A unit is allocated to the first distributor the manufacturer shipped it to (as
in detection). A party's zone is its own grants and those of every party below
it (a sub-distributor sells inside its parent's zone), each grant covering its
territory's descendants; a scan is judged against the grants in force at its
own time, so a grant ended mid-month counts for the scans before its end.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine, and_, func, select
from sqlalchemy.orm import Session, aliased

import geo
from ledger.models import Entry, Party, Unit
from ledger.partitions import declarations
from ledger.retraction import live_entries
from ledger.times import MIN_MS
from partners.models import Agreement
from settlement.common import SettlementError, month_of, now_ms, period_bounds
from settlement.models import TerritoryGrant

__all__ = [
    "GrantView",
    "ZoneMap",
    "ZoneNotFound",
    "ZoneScans",
    "day_start_ms",
    "latest_scan_month",
    "list_grants",
    "party_zone_map",
    "party_zone_scans",
]

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class ZoneNotFound(SettlementError):
    """The party asked for does not exist, or no territories are stored."""


@dataclass(frozen=True, slots=True)
class GrantView:
    """One grant of a territory to a party, with the names people read."""

    id: int
    party_id: int
    party_code: str
    party_name: str
    territory_code: str
    territory_name: str  # "" when the territory is no longer stored
    valid_from_ms: int
    valid_to_ms: int | None
    agreement_id: int | None = None  # the signed agreement that made it
    agreement_number: str = ""  # "" for a grant made before agreements existed

    def status(self, at_ms: int) -> str:
        """``future``, ``active`` or ``ended`` at ``at_ms``."""
        if at_ms < self.valid_from_ms:
            return "future"
        if self.valid_to_ms is not None and at_ms >= self.valid_to_ms:
            return "ended"
        return "active"


@dataclass(frozen=True, slots=True)
class ZoneScans:
    """The located scans of one month of the units allocated to one party.

    One element per scan in every array, in ledger order. ``located`` is the
    territory code each scan lies in (``""``: in none); ``zone`` the codes of
    the party's grants in force at some time of the month (what a map
    highlights).
    """

    party_code: str
    period: str
    zone: tuple[str, ...]
    seq: npt.NDArray[np.int64]
    at_ms: npt.NDArray[np.int64]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    in_zone: npt.NDArray[np.bool_]
    unit_key: tuple[str, ...]
    kind: tuple[str, ...]
    scanned_by: tuple[str, ...]  # party code of the entry
    located: tuple[str, ...]

    @property
    def total(self) -> int:
        return int(self.seq.shape[0])

    @property
    def n_in_zone(self) -> int:
        return int(self.in_zone.sum())

    @property
    def n_out_of_zone(self) -> int:
        return self.total - self.n_in_zone

    @property
    def units(self) -> int:
        return len(set(self.unit_key))


@dataclass(frozen=True, slots=True)
class ZoneMap:
    """A rendered map (PNG or SVG bytes) and the scans drawn on it, if a party was given."""

    image: bytes
    media_type: str
    scans: ZoneScans | None


def _party_by_code(s: Session, code: str) -> Party:
    party = s.scalar(select(Party).where(Party.code == code))
    if party is None:
        raise ZoneNotFound(f"no party with code {code!r}")
    return party


def _check_period(period: str) -> str:
    if not _MONTH.match(period):
        raise SettlementError(f"month must be YYYY-MM, got {period!r}")
    return period


def list_grants(engine: Engine, party_id: int | None = None) -> list[GrantView]:
    """Every territory grant (or one party's) with the number of the agreement that
    made it, by party code, then start, then id. One query."""
    g = TerritoryGrant
    stmt = (
        select(g, Party.code, Party.name, geo.TerritoryRow.name, Agreement.number)
        .join(Party, Party.id == g.party_id)
        .outerjoin(geo.TerritoryRow, geo.TerritoryRow.code == g.territory_code)
        .outerjoin(Agreement, Agreement.id == g.agreement_id)
        .order_by(Party.code, g.valid_from_ms, g.id)
    )
    if party_id is not None:
        stmt = stmt.where(g.party_id == party_id)
    with Session(engine) as s:
        return [
            GrantView(
                id=row.id,
                party_id=row.party_id,
                party_code=code,
                party_name=name,
                territory_code=row.territory_code,
                territory_name=territory_name or "",
                valid_from_ms=row.valid_from_ms,
                valid_to_ms=row.valid_to_ms,
                agreement_id=row.agreement_id,
                agreement_number=number or "",
            )
            for row, code, name, territory_name, number in s.execute(stmt).all()
        ]


#: How far past the clock a scan may lie and still choose the default month (intake
#: accepts scans up to 30 days ahead).
FUTURE_SLACK_MS = 31 * 86_400_000


def latest_scan_month(engine: Engine, now: int | None = None) -> str | None:
    """The month (``YYYY-MM``) of the newest located entry, None on an empty ledger.

    Entries dated after ``now`` (ms, default the clock) + :data:`FUTURE_SLACK_MS` or
    before the year 1 are left out: one legacy row at 9999-12-31 (or 2**62 ms) would
    otherwise make every page open on a month with nothing else in it; such rows
    stay listed under their own month.
    """
    latest = (now_ms() if now is None else now) + FUTURE_SLACK_MS
    with Session(engine) as s:
        at = s.scalar(
            select(func.max(Entry.at_ms)).where(
                Entry.lat_e6.is_not(None), Entry.at_ms >= MIN_MS, Entry.at_ms <= latest
            )
        )
    return None if at is None else month_of(int(at))


def _zone_party_ids(s: Session, party_id: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, parent in s.execute(select(Party.id, Party.parent_id)).all():
        if parent is not None:
            children.setdefault(int(parent), []).append(int(pid))
    out: list[int] = []
    stack = [party_id]
    while stack:
        p = stack.pop()
        if p not in out:
            out.append(p)
            stack.extend(children.get(p, []))
    return out


def party_zone_scans(
    engine: Engine,
    party_code: str,
    period: str,
    index: geo.TerritoryIndex | None = None,
) -> ZoneScans:
    """The month's located scans of the units allocated to ``party_code``, each
    judged in or out of the party's zone as granted at the scan's time.

    Scans count from the allocating shipment on, and only those made by parties
    other than the manufacturer (as detection judges them). ``index`` defaults
    to the stored territories.
    """
    start_ms, end_ms = period_bounds(_check_period(period))
    with Session(engine) as s:
        if index is None:
            index = geo.cached_index(s)
        party = _party_by_code(s, party_code)
        zone_parties = _zone_party_ids(s, party.id)
        g = TerritoryGrant
        grants = s.execute(
            select(g.id, g.territory_code, g.valid_from_ms, g.valid_to_ms).where(
                g.party_id.in_(zone_parties),
                g.valid_from_ms < end_ms,
                (g.valid_to_ms.is_(None)) | (g.valid_to_ms > start_ms),
            )
        ).all()
        for gid, code, _f, _t in grants:
            if code not in index.codes:
                raise SettlementError(f"grant {gid} names territory {code!r}, which is not stored")

        maker = aliased(Party)
        receiver = aliased(Party)
        first_ship = (
            select(Entry.unit_id, func.min(Entry.seq).label("seq"))
            .join(maker, maker.id == Entry.party_id)
            .join(receiver, receiver.id == Entry.counterparty_id)
            .where(
                Entry.kind == "shipping",
                Entry.at_ms < end_ms,
                maker.kind == "manufacturer",
                receiver.kind == "distributor",
                live_entries(declared=declarations(s)),
            )
            .group_by(Entry.unit_id)
            .subquery()
        )
        alloc = aliased(Entry)
        scan = aliased(Entry)
        by = aliased(Party)
        rows = s.execute(
            select(scan.seq, scan.at_ms, scan.lon_e6, scan.lat_e6, Unit.key, scan.kind, by.code)
            .select_from(first_ship)
            .join(alloc, alloc.seq == first_ship.c.seq)
            .join(Unit, Unit.id == first_ship.c.unit_id)
            .join(
                scan,
                and_(
                    scan.unit_id == first_ship.c.unit_id,
                    scan.seq > first_ship.c.seq,
                    scan.at_ms >= start_ms,
                    scan.at_ms < end_ms,
                    scan.lat_e6.is_not(None),
                    scan.lon_e6.is_not(None),
                    live_entries(scan, declarations(s)),
                ),
            )
            .join(by, by.id == scan.party_id)
            .where(alloc.counterparty_id == party.id, Unit.gtin.is_not(None))
            .where(by.kind != "manufacturer")
            .order_by(scan.seq)
        ).all()

    n = len(rows)
    seq = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
    at = np.fromiter((r[1] for r in rows), dtype=np.int64, count=n)
    lon = np.fromiter((r[2] for r in rows), dtype=np.int64, count=n) / 1e6
    lat = np.fromiter((r[3] for r in rows), dtype=np.int64, count=n) / 1e6

    # The grants in force change only at grant starts and ends: one zone per
    # stretch of the month between two such moments.
    cuts = sorted(
        {start_ms}
        | {int(f) for _, _, f, _ in grants if f > start_ms}
        | {int(t) for _, _, _, t in grants if t is not None and t < end_ms}
    )
    zones: list[tuple[str, ...]] = []
    for lo in cuts:
        zones.append(
            tuple(sorted({code for _, code, f, t in grants if f <= lo and (t is None or t > lo)}))
        )
    stretch = np.searchsorted(np.asarray(cuts, dtype=np.int64), at, side="right") - 1
    has_zone = np.array([len(z) > 0 for z in zones], dtype=np.bool_)
    point_zone = np.where(has_zone[stretch], stretch, -1).astype(np.int32)
    in_zone = index.within_zones(lon, lat, point_zone, zones) if n else np.zeros(0, np.bool_)
    where = index.locate(lon, lat) if n else np.zeros(0, np.int32)
    return ZoneScans(
        party_code=party.code,
        period=period,
        zone=tuple(sorted({code for _, code, _, _ in grants})),
        seq=seq,
        at_ms=at,
        lon=lon,
        lat=lat,
        in_zone=np.asarray(in_zone, dtype=np.bool_),
        unit_key=tuple(r[4] for r in rows),
        kind=tuple(r[5] for r in rows),
        scanned_by=tuple(r[6] for r in rows),
        located=tuple(index.codes[p] if p >= 0 else "" for p in where.tolist()),
    )


def party_zone_map(
    engine: Engine,
    party_code: str | None = None,
    period: str | None = None,
    *,
    fmt: str = "png",
    width_px: int = 1200,
) -> ZoneMap:
    """A map of the stored territories; with a party, its zone highlighted and the
    month's scans of its units in green (in zone) and red (out of zone).

    ``period`` defaults to the month of the newest located scan (else this month).
    """
    if fmt not in ("png", "svg"):
        raise SettlementError(f"a map is a png or an svg, not {fmt!r}")
    with Session(engine) as s:
        index = geo.cached_index(s)
    if len(index) == 0:
        raise ZoneNotFound("no territories stored yet: import a GeoJSON file first")
    media_type = "image/png" if fmt == "png" else "image/svg+xml"
    if party_code is None:
        image = geo.render_map(index, fmt=fmt, width_px=width_px, title="Territories")
        return ZoneMap(image, media_type, None)
    if period is None:
        period = latest_scan_month(engine) or month_of(int(datetime.now(UTC).timestamp() * 1000))
    scans = party_zone_scans(engine, party_code, period, index)
    image = geo.render_map(
        index,
        scans.lon,
        scans.lat,
        scans.in_zone,
        highlight=scans.zone,
        bbox=_frame(index, scans),
        point_size=16.0 if scans.total <= 5000 else 5.0,
        fmt=fmt,
        width_px=width_px,
        title=f"{scans.party_code} · {period}: {scans.n_in_zone} in zone, "
        f"{scans.n_out_of_zone} out of zone",
    )
    return ZoneMap(image, media_type, scans)


#: A map spans at least this many degrees each way, so a small zone keeps its neighbours.
MIN_MAP_SPAN_DEG = 12.0


def _frame(index: geo.TerritoryIndex, scans: ZoneScans) -> tuple[float, float, float, float] | None:
    """The zone and every scan (out-of-zone ones too), at least :data:`MIN_MAP_SPAN_DEG` wide."""
    boxes = [index.territories[p].bbox for p in index.positions(scans.zone).tolist()]
    if scans.total:
        boxes.append(
            (
                float(scans.lon.min()),
                float(scans.lat.min()),
                float(scans.lon.max()),
                float(scans.lat.max()),
            )
        )
    if not boxes:
        return None
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    grow_y = max(MIN_MAP_SPAN_DEG / 2.0 - (y1 - y0), 0.0) / 2.0
    # landscape: as drawn (stretched by latitude) at least 1.4 times wider than tall
    stretch = 1.0 / max(math.cos(math.radians((y0 + y1) / 2.0)), 0.2)
    wide = max(MIN_MAP_SPAN_DEG, 1.4 * (y1 - y0 + 2.0 * grow_y) * stretch)
    grow_x = max(wide - (x1 - x0), 0.0) / 2.0
    # and at most twice as wide as tall, so a far-away scan does not flatten the map
    tall = (x1 - x0 + 2.0 * grow_x) / 2.0 / stretch
    grow_y = max(grow_y, (tall - (y1 - y0)) / 2.0)
    return (
        max(x0 - grow_x, -180.0),
        max(y0 - grow_y, -90.0),
        min(x1 + grow_x, 180.0),
        min(y1 + grow_y, 90.0),
    )


def day_start_ms(day: str) -> int:
    """Midnight UTC of a ``YYYY-MM-DD`` day, in ms; SettlementError naming a bad day."""
    try:
        d = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise SettlementError(f"date must be YYYY-MM-DD, got {day!r}") from None
    return int(d.timestamp()) * 1000
