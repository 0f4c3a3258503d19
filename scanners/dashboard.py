"""The warehouse's home board: the day's scans by step and site, the anomalies
intake recorded, and the registered devices that have not scanned for a day.

It lives in ``scanners`` because it reads the devices table; it imports only
``ledger`` besides. Times are ms since the Unix epoch (UTC); the caller chooses
the day (``[since_ms, until_ms)``, e.g. midnight to midnight in the user's zone).
Scans are read through live entries only (:func:`ledger.retraction.live_entries`):
a retracted observation is not counted. A user with a party sees its party's
scans and devices; one without (the manufacturer's staff, admins) sees all.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.models import Entry, Party, Site, Unit
from ledger.partitions import declarations
from ledger.retraction import live_entries
from scanners.devices import Device

__all__ = [
    "ANOMALIES_SHOWN",
    "SILENT_AFTER_MS",
    "AnomalyLine",
    "SilentDevice",
    "StepSiteCount",
    "WarehouseDashboard",
    "warehouse_dashboard",
]

#: A device with no scan for this long (24 hours) is listed as silent.
SILENT_AFTER_MS = 24 * 3600 * 1000
ANOMALIES_SHOWN = 20
NO_SITE = ""


@dataclass(frozen=True, slots=True)
class StepSiteCount:
    """Entries of step ``kind`` (EPCIS bizStep name) recorded at site ``site_code``
    (``""``: no site) during the day."""

    kind: str
    site_code: str
    entries: int


@dataclass(frozen=True, slots=True)
class AnomalyLine:
    """A scan of the day that broke a business rule: entry ``seq`` of ``unit_key``,
    ``kind`` by ``party_code`` at ``at_ms``, what intake noticed in ``anomaly``."""

    seq: int
    unit_key: str
    kind: str
    party_code: str
    site_code: str
    at_ms: int
    anomaly: str


@dataclass(frozen=True, slots=True)
class SilentDevice:
    """A registered, unrevoked device whose latest scan (``last_scan_ms``, None:
    never) is more than :data:`SILENT_AFTER_MS` before the board's ``until_ms``."""

    device_id: str
    name: str
    party_code: str
    site_code: str
    last_scan_ms: int | None


@dataclass(frozen=True, slots=True)
class WarehouseDashboard:
    """The day ``[since_ms, until_ms)``: ``counts`` one row per (step, site) with
    entries, ``steps`` and ``sites`` the rows' distinct values in order, ``total``
    their sum; ``anomalies`` the newest :data:`ANOMALIES_SHOWN` of
    ``anomaly_total``; ``silent`` every silent device, the longest silent first."""

    since_ms: int
    until_ms: int
    counts: tuple[StepSiteCount, ...]
    total: int
    anomalies: tuple[AnomalyLine, ...]
    anomaly_total: int
    silent: tuple[SilentDevice, ...]

    @property
    def steps(self) -> tuple[str, ...]:
        return tuple(sorted({c.kind for c in self.counts}))

    @property
    def sites(self) -> tuple[str, ...]:
        return tuple(sorted({c.site_code for c in self.counts}))

    def count(self, kind: str, site_code: str) -> int:
        """Entries of ``kind`` at ``site_code`` (0 when none)."""
        return next(
            (c.entries for c in self.counts if (c.kind, c.site_code) == (kind, site_code)), 0
        )

    def step_total(self, kind: str) -> int:
        return sum(c.entries for c in self.counts if c.kind == kind)


def warehouse_dashboard(
    engine: Engine, since_ms: int, until_ms: int, *, party_id: int | None = None
) -> WarehouseDashboard:
    """The warehouse board of the day ``[since_ms, until_ms)``, of ``party_id``'s
    scans and devices (None: every party's). Raises ``ValueError`` when the day is
    empty or backwards."""
    if until_ms <= since_ms:
        raise ValueError(f"the day must end after it starts: {since_ms} .. {until_ms}")
    with Session(engine) as s:
        day = [Entry.at_ms >= since_ms, Entry.at_ms < until_ms]
        day.append(live_entries(declared=declarations(s)))
        if party_id is not None:
            day.append(Entry.party_id == party_id)
        counts = [
            StepSiteCount(str(kind), site or NO_SITE, int(n))
            for kind, site, n in s.execute(
                select(Entry.kind, Site.code, func.count(Entry.seq))
                .outerjoin(Site, Site.id == Entry.site_id)
                .where(*day)
                .group_by(Entry.kind, Site.code)
                .order_by(Entry.kind, Site.code)
            )
        ]
        odd = [*day, Entry.anomaly != ""]
        anomaly_total = int(s.scalar(select(func.count(Entry.seq)).where(*odd)) or 0)
        anomalies = tuple(
            AnomalyLine(int(seq), key, kind, party, site or NO_SITE, int(at), text)
            for seq, key, kind, party, site, at, text in s.execute(
                select(
                    Entry.seq, Unit.key, Entry.kind, Party.code, Site.code, Entry.at_ms,
                    Entry.anomaly,
                )
                .join(Unit, Unit.id == Entry.unit_id)
                .join(Party, Party.id == Entry.party_id)
                .outerjoin(Site, Site.id == Entry.site_id)
                .where(*odd)
                .order_by(Entry.seq.desc())
                .limit(ANOMALIES_SHOWN)
            )
        )  # fmt: skip
        devices = select(Device, Party.code, Site.code).join(Party, Party.id == Device.party_id)
        devices = devices.outerjoin(Site, Site.id == Device.site_id).where(
            Device.revoked_ms.is_(None)
        )
        if party_id is not None:
            devices = devices.where(Device.party_id == party_id)
        rows = s.execute(devices.order_by(Device.device_id)).all()
        last: dict[str, int] = {}
        ids = [d.device_id for d, _, _ in rows]
        for i in range(0, len(ids), 500):
            for dev, at in s.execute(
                select(Entry.device, func.max(Entry.at_ms))
                .where(Entry.device.in_(ids[i : i + 500]), Entry.at_ms < until_ms)
                .group_by(Entry.device)
            ):
                last[str(dev)] = int(at)
    silent = [
        SilentDevice(d.device_id, d.name, party, site or NO_SITE, last.get(d.device_id))
        for d, party, site in rows
        if last.get(d.device_id) is None or until_ms - last[d.device_id] > SILENT_AFTER_MS
    ]
    silent.sort(key=lambda x: (x.last_scan_ms or 0, x.device_id))
    return WarehouseDashboard(
        since_ms, until_ms, tuple(counts), sum(c.entries for c in counts), anomalies,
        anomaly_total, tuple(silent),
    )  # fmt: skip
