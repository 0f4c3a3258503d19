"""Diversion detection (``hopchain detect``): snapshot, reconcile, detect, raise alerts.

The array work (:func:`detect_arrays`) is separate from the database work
(:func:`run_detection`) so the benchmark runs exactly the code a real run does.
Alerts are keyed by responsible party, territory, period and finding type; the
key is stored, so running detection again over a longer ledger only adds the new
findings to the alerts they belong to.

Every alert carries an evidence hash over its identity and its findings' entries
(:func:`settlement.seals.evidence_hash`), and every detection ends by signing an
``alerts`` seal over all of them with the ledger key, in the same transaction, so
``hopchain settlement verify`` notices an alert or a finding changed afterwards.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.orm import Session

from ledger.models import Checkpoint, Entry
from settlement import kernels as K
from settlement.common import SettlementError, month_of, now_ms
from settlement.models import Alert, AlertEvent, AlertFinding, TerritoryGrant
from settlement.seals import NoteSigner, evidence_hash, seal_alerts
from settlement.severity import grade_alert, grade_stored_alerts
from settlement.snapshot import Snapshot, SnapshotTables, load_snapshot
from settlement.zones import OPEN_END_MS, Grant, ZoneTables, build_zone_tables

if TYPE_CHECKING:
    from settlement.batch import BatchOptions

__all__ = [
    "DETECTION_STAGES",
    "DIVERSION_TYPES",
    "FINDING_TYPES",
    "DetectionArrays",
    "DetectionReport",
    "TerritoryLocator",
    "detect_arrays",
    "entry_territories",
    "latest_checkpoint",
    "load_grants",
    "run_detection",
    "severity",
    "verify_checkpoint",
]

#: Finding bit -> the finding type alerts are grouped by (both clone bits are "clone").
FINDING_TYPES: dict[int, str] = {
    K.F_OUT_OF_ZONE: "out_of_zone",
    K.F_CROSS_REGION: "cross_region",
    K.F_CUSTODY_BREAK: "custody_break",
    K.F_CLONE_SPEED: "clone",
    K.F_CLONE_AFTER_END: "clone",
}
#: Finding types that are territory breaches: only these lead to penalties.
DIVERSION_TYPES = ("out_of_zone", "cross_region")
_TYPE_ORDER = ("out_of_zone", "cross_region", "custody_break", "clone")
_CHUNK = 500


class TerritoryLocator(Protocol):
    """What detection needs of :class:`geo.TerritoryIndex`."""

    codes: tuple[str, ...]
    parent: npt.NDArray[np.int32]

    def locate_e6(self, lon_e6: npt.ArrayLike, lat_e6: npt.ArrayLike) -> npt.NDArray[np.int32]: ...


@dataclass(frozen=True, slots=True)
class DetectionArrays:
    """Per-entry finding bits and responsible party (dense index, -1: unknown), and
    per-unit allocated distributor and allocation row."""

    flags: npt.NDArray[np.int8]
    responsible: npt.NDArray[np.int32]
    allocated: npt.NDArray[np.int32]
    allocation_row: npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class DetectionReport:
    tree_size: int
    root_hex: str
    entries: int
    findings: dict[str, int]
    alerts_created: int
    alerts_updated: int
    alert_ids: tuple[int, ...]
    seconds: dict[str, float] = field(default_factory=dict)


def severity(units: int, prior: int) -> str:
    """Volume and repeat offences alone (no clone, no value): :func:`settlement.severity.
    grade_alert`'s level, for callers that know nothing else."""
    return grade_alert(
        units=units, prior_offences=prior, finding_type="", value_minor=None, currency=""
    ).level


def latest_checkpoint(engine: Engine) -> tuple[int, str]:
    """(tree size, root hex) of the newest signed checkpoint, what ``hopchain detect``
    reads by default."""
    with engine.connect() as conn:
        row = conn.execute(
            select(Checkpoint.tree_size, Checkpoint.root_hash)
            .order_by(Checkpoint.tree_size.desc(), Checkpoint.id.desc())
            .limit(1)
        ).first()
    if row is None:
        raise SettlementError("no signed checkpoint yet: sign one before detecting")
    return int(row[0]), bytes(row[1]).hex()


def verify_checkpoint(conn: Connection, tree_size: int, root_hex: str) -> None:
    """Refuse to read the ledger at a size no signed checkpoint vouches for."""
    roots = conn.execute(
        select(Checkpoint.root_hash).where(Checkpoint.tree_size == tree_size)
    ).scalars()
    known = {bytes(r).hex() for r in roots}
    if not known:
        raise SettlementError(f"no signed checkpoint at tree size {tree_size}")
    if root_hex.lower() not in known:
        raise SettlementError(
            f"root {root_hex} does not match the signed checkpoint at tree size {tree_size}"
        )


def load_grants(conn: Connection, snapshot: SnapshotTables, codes: Sequence[str]) -> list[Grant]:
    """Territory grants in dense party and territory indices; unknown codes are errors."""
    pos = {c: i for i, c in enumerate(codes)}
    grants = []
    t = TerritoryGrant
    rows = conn.execute(
        select(t.id, t.party_id, t.territory_code, t.valid_from_ms, t.valid_to_ms).order_by(t.id)
    ).all()
    for gid, party_id, code, valid_from, valid_to in rows:
        if code not in pos:
            raise SettlementError(
                f"grant {gid} names territory {code!r}, which is not in the territory index"
            )
        grants.append(
            Grant(
                snapshot.party_index(int(party_id)),
                pos[code],
                int(valid_from),
                int(OPEN_END_MS) if valid_to is None else int(valid_to),
            )
        )
    return grants


def entry_territories(snapshot: Snapshot, index: TerritoryLocator) -> npt.NDArray[np.int32]:
    """Territory of each entry (-1: located in none, -2: no location)."""
    terr = np.full(snapshot.n_entries, K.TERR_UNLOCATED, dtype=np.int32)
    located = snapshot.lat_e6 != K.NO_COORD
    if located.any():
        terr[located] = index.locate_e6(snapshot.lon_e6[located], snapshot.lat_e6[located])
    return terr


def detect_arrays(
    snapshot: Snapshot,
    entry_terr: npt.NDArray[np.int32],
    territory_parent: npt.NDArray[np.int32],
    grants: Iterable[Grant] | ZoneTables,
    *,
    max_kmh: float = 900.0,
    min_km: float = 1.0,
    n_parts: int | None = None,
) -> DetectionArrays:
    """Run the detection kernel over a snapshot; shapes are checked here, not in numba.

    ``grants``: the grants, or the zone tables already built from them for the
    snapshot's parties (:func:`settlement.zones.build_zone_tables`, as a batch run
    builds them once for every partition)."""
    if entry_terr.shape != snapshot.unit.shape or entry_terr.dtype != np.int32:
        raise SettlementError(
            f"entry territories must be int32 of shape {snapshot.unit.shape}, "
            f"got {entry_terr.dtype} {entry_terr.shape}"
        )
    n_terr = len(territory_parent)
    if entry_terr.size and (entry_terr.max() >= n_terr or entry_terr.min() < K.TERR_UNLOCATED):
        raise SettlementError(f"entry territories must be -2, -1 or below {n_terr}")
    if max_kmh <= 0:
        raise SettlementError(f"max_kmh must be positive, got {max_kmh}")
    n_parties = len(snapshot.party_ids)
    if not isinstance(grants, ZoneTables):
        z = build_zone_tables(n_parties, snapshot.party_parent, grants, territory_parent)
    elif grants.zone_ptr.shape[0] != n_parties + 1 or grants.terr_anc.shape[0] < n_terr:
        raise SettlementError(
            f"zone tables for {grants.zone_ptr.shape[0] - 1} parties and "
            f"{grants.terr_anc.shape[0]} territories do not fit a snapshot of {n_parties} "
            f"parties and {n_terr} territories"
        )
    else:
        z = grants
    flags, resp, alloc, alloc_row = K.detect(
        snapshot.unit,
        snapshot.kind,
        snapshot.party,
        snapshot.counterparty,
        snapshot.at_ms,
        snapshot.lat_e6,
        snapshot.lon_e6,
        entry_terr,
        snapshot.unit_product,
        snapshot.party_kind,
        z.zone_ptr,
        z.zone_terr,
        z.zone_from,
        z.zone_to,
        z.auth_ptr,
        z.auth_terr,
        z.auth_from,
        z.auth_to,
        z.terr_anc,
        float(max_kmh),
        float(min_km),
        n_parts or max(os.cpu_count() or 1, 1),
    )
    return DetectionArrays(flags, resp, alloc, alloc_row)


def _chunks(items: Sequence[int], size: int = _CHUNK) -> Iterable[Sequence[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _hash_evidence(s: Session, alert_ids: Sequence[int]) -> None:
    """Write the evidence hash of each alert in ``alert_ids`` from its findings and the
    leaf hashes of the entries they cite (:func:`settlement.seals.evidence_hash`)."""
    s.flush()
    conn = s.connection()  # plain rows: no ORM work per finding
    for part_ids in _chunks(alert_ids, 2_000):
        findings: dict[int, list[tuple[int, int, int, bytes]]] = defaultdict(list)
        for aid, seq, unit_id, at_ms, leaf in conn.execute(
            select(AlertFinding.alert_id, AlertFinding.seq, AlertFinding.unit_id,
                   AlertFinding.at_ms, Entry.leaf_hash)
            .join(Entry, Entry.seq == AlertFinding.seq)
            .where(AlertFinding.alert_id.in_(part_ids))
            .order_by(AlertFinding.alert_id, AlertFinding.seq)
        ):  # fmt: skip
            findings[aid].append((seq, unit_id, at_ms, bytes(leaf)))
        hashes = [
            {"id": aid, "evidence_hash": evidence_hash(key, party, terr, per, ftype,
                                                       findings.get(aid, ()))}
            for aid, key, party, terr, per, ftype in conn.execute(
                select(Alert.id, Alert.natural_key, Alert.party_id, Alert.territory_code,
                       Alert.period, Alert.finding_type)
                .where(Alert.id.in_(part_ids))
            )
        ]  # fmt: skip
        s.execute(update(Alert), hashes)


def _grade_all(s: Session) -> None:
    """Grade every alert by :func:`settlement.severity.grade_stored_alerts` and store
    the level with the facts it came from (``severity``, ``prior_offences``,
    ``value_minor``, ``value_currency``, ``value_fx_rate``, ``value_reference_minor``,
    ``unpriced_units``), which :func:`settlement.severity.stored_grade` reads back."""
    ids = list(s.scalars(select(Alert.id).order_by(Alert.id)))
    for part_ids in _chunks(ids, 2_000):
        alerts = list(s.scalars(select(Alert).where(Alert.id.in_(part_ids))))
        grades = grade_stored_alerts(s, alerts)
        for a in alerts:
            g = grades[a.id]
            rate = None if g.fx_rate is None or g.value_minor is None else str(g.fx_rate)
            facts = {
                "severity": g.level,
                "unit_count": g.units,
                "prior_offences": g.prior_offences,
                "value_minor": g.value_minor,
                "value_currency": g.currency or None,
                "value_fx_rate": rate,
                "value_reference_minor": g.value_reference_minor,
                "unpriced_units": g.unpriced_units,
            }
            for name, value in facts.items():
                if getattr(a, name) != value:  # unchanged rows are not written
                    setattr(a, name, value)


def _batch_from_env() -> BatchOptions:
    from settlement.batch import BatchOptions

    return BatchOptions.from_env()


#: The stages of :func:`run_detection`, in order, as its ``on_stage`` hears them.
DETECTION_STAGES: tuple[str, ...] = (
    "reading the ledger as of the checkpoint",
    "locating entries in territories",
    "detecting diversion",
    "writing alerts and findings",
)


def _no_stage(_: str) -> None:
    return None


def run_detection(
    engine: Engine,
    checkpoint_tree_size: int,
    root_hex: str,
    territory_index: TerritoryLocator,
    *,
    signer: NoteSigner,
    max_kmh: float = 900.0,
    min_km: float = 1.0,
    actor: str = "detection",
    on_stage: Callable[[str], None] | None = None,
    batch: BatchOptions | None = None,
) -> DetectionReport:
    """Detect over the ledger as of a signed checkpoint and upsert alerts and findings.

    ``on_stage`` (optional) is called with each stage's name as it begins, in order:
    :data:`DETECTION_STAGES` (the command line shows them as progress).

    Never duplicates: an alert is found again by its natural key and a finding by
    (alert, seq). The report lists every alert touched, new or not. Alerts that got
    findings (or have no evidence hash yet) get their evidence hash, and ``signer``
    (the ledger key) signs the ``alerts`` seal over every alert's evidence hash, with
    the checkpoint's tree size as its subject.

    ``batch`` chooses where the array work runs (:class:`settlement.batch.BatchOptions`;
    None: from ``HOPCHAIN_DASK_SCHEDULER`` / ``HOPCHAIN_SNAPSHOT_DIR``, and in one
    piece in this process when neither is set); the alerts are the same either way.
    """
    from settlement.batch.partition import entry_findings  # imports this module

    stage = on_stage if on_stage is not None else _no_stage
    opts = batch if batch is not None else _batch_from_env()
    t0 = time.perf_counter()
    stage(DETECTION_STAGES[0])
    tables: SnapshotTables
    if not opts.partitioned:
        with engine.connect() as conn:
            verify_checkpoint(conn, checkpoint_tree_size, root_hex)
            snap = load_snapshot(conn, checkpoint_tree_size)
            grants = load_grants(conn, snap, territory_index.codes)
        t1 = time.perf_counter()
        stage(DETECTION_STAGES[1])
        found = entry_findings(
            snap, territory_index, grants, max_kmh=max_kmh, min_km=min_km,
            on_located=lambda: stage(DETECTION_STAGES[2]),
        )  # fmt: skip
        tables, n_entries = snap, snap.n_entries
    else:
        from settlement.batch import batch_client, detect_partitioned, write_snapshot

        with engine.connect() as conn:
            verify_checkpoint(conn, checkpoint_tree_size, root_hex)
            psnap = write_snapshot(
                conn, checkpoint_tree_size, root_hex, opts.root,
                rows_per_partition=opts.rows_per_partition,
            )  # fmt: skip
            grants = load_grants(conn, psnap, territory_index.codes)
        t1 = time.perf_counter()
        stage(DETECTION_STAGES[1])  # each partition locates, then detects
        stage(DETECTION_STAGES[2])
        with batch_client(opts) as client:
            found = detect_partitioned(
                psnap.directory, territory_index, grants, client=client,
                max_kmh=max_kmh, min_km=min_km, on_partition=opts.on_partition,
            )  # fmt: skip
        tables, n_entries = psnap, psnap.entries
    t2 = time.perf_counter()
    stage(DETECTION_STAGES[3])

    # Group findings by natural key.
    groups: dict[tuple[int, int, str, str], list[int]] = defaultdict(list)
    counts = dict.fromkeys(_TYPE_ORDER, 0)
    f_bits_l, resp_l, terr_l = (
        found.flags.tolist(),
        found.responsible.tolist(),
        found.territory.tolist(),
    )
    at_l = found.at_ms.tolist()
    for row, f_bits in enumerate(f_bits_l):
        types = {t for bit, t in FINDING_TYPES.items() if f_bits & bit}
        for t in types:
            counts[t] += 1
            key = (resp_l[row], terr_l[row], month_of(at_l[row]), t)
            groups[key].append(row)
    codes = territory_index.codes
    stamp = now_ms()
    created = updated = 0
    touched: list[int] = []
    with Session(engine) as s, s.begin():
        nat: dict[str, tuple[tuple[int, int, str, str], list[int]]] = {}
        for key, grows in groups.items():
            resp, t_idx, period, ftype = key
            party_code = tables.party_codes[resp] if resp >= 0 else "-"
            terr_code = codes[t_idx] if t_idx >= 0 else ""
            nat[f"{party_code}|{terr_code}|{period}|{ftype}"] = (key, grows)
        existing: dict[str, Alert] = {}
        keys = sorted(nat)
        for i in range(0, len(keys), _CHUNK):
            part = keys[i : i + _CHUNK]
            for a in s.scalars(select(Alert).where(Alert.natural_key.in_(part))):
                existing[a.natural_key] = a
        new_alerts: list[Alert] = []
        for k in keys:
            if k in existing:
                continue
            (resp, t_idx, period, ftype), _ = nat[k]
            a = Alert(
                natural_key=k,
                party_id=int(tables.party_ids[resp]) if resp >= 0 else None,
                territory_code=codes[t_idx] if t_idx >= 0 else "",
                period=period,
                finding_type=ftype,
                status="open",
                severity="low",
                unit_count=0,
                finding_count=0,
                appealed=False,
                created_ms=stamp,
                updated_ms=stamp,
                detected_tree_size=checkpoint_tree_size,
            )
            new_alerts.append(a)
            existing[k] = a
        s.add_all(new_alerts)
        s.flush()
        new_ids = {a.id for a in new_alerts}
        alert_of = {k: existing[k].id for k in keys}
        have: set[tuple[int, int]] = set()
        old_ids = sorted(set(alert_of.values()) - new_ids)
        for part_ids in _chunks(old_ids):
            have.update(
                (int(a), int(q))
                for a, q in s.execute(
                    select(AlertFinding.alert_id, AlertFinding.seq).where(
                        AlertFinding.alert_id.in_(part_ids)
                    )
                ).all()
            )
        to_insert: list[dict[str, int]] = []
        added: dict[int, int] = defaultdict(int)
        for k in keys:
            aid = alert_of[k]
            for row in nat[k][1]:
                seq = int(found.seq[row])
                if (aid, seq) in have:
                    continue
                have.add((aid, seq))
                added[aid] += 1
                to_insert.append(
                    {
                        "alert_id": aid,
                        "seq": seq,
                        "unit_id": int(tables.unit_ids[found.unit[row]]),
                        "at_ms": int(found.at_ms[row]),
                    }
                )
        for i in range(0, len(to_insert), 5000):
            s.execute(insert(AlertFinding), to_insert[i : i + 5000])
        # Refresh counts of every alert that got something new.
        changed = sorted(added)
        events: list[AlertEvent] = []
        for part_ids in _chunks(changed):
            stats = s.execute(
                select(
                    AlertFinding.alert_id,
                    func.count(),
                    func.count(func.distinct(AlertFinding.unit_id)),
                )
                .where(AlertFinding.alert_id.in_(part_ids))
                .group_by(AlertFinding.alert_id)
            ).all()
            by_id = {a.id: a for a in s.scalars(select(Alert).where(Alert.id.in_(part_ids)))}
            for aid, n_findings, n_units in stats:
                a = by_id[int(aid)]
                a.finding_count = int(n_findings)
                a.unit_count = int(n_units)
                a.updated_ms = stamp
                is_new = a.id in new_ids
                events.append(
                    AlertEvent(
                        alert_id=a.id,
                        at_ms=stamp,
                        actor=actor,
                        role="system",
                        action="detected" if is_new else "findings_added",
                        text=f"{added[a.id]} findings at tree size {checkpoint_tree_size}",
                    )
                )
                if not is_new:
                    a.detected_tree_size = checkpoint_tree_size
                created += is_new
                updated += not is_new
        s.add_all(events)
        s.flush()
        # Severity of every alert, old ones too: repeat offences and prices change
        # without new findings (settlement.severity).
        _grade_all(s)
        unhashed = s.scalars(select(Alert.id).where(Alert.evidence_hash == "")).all()
        _hash_evidence(s, sorted(set(changed) | {int(a) for a in unhashed}))
        seal_alerts(s, signer, checkpoint_tree_size)
        touched = sorted(alert_of.values())
    t3 = time.perf_counter()
    return DetectionReport(
        tree_size=checkpoint_tree_size,
        root_hex=root_hex,
        entries=n_entries,
        findings=counts,
        alerts_created=created,
        alerts_updated=updated,
        alert_ids=tuple(touched),
        seconds={"snapshot": t1 - t0, "detect": t2 - t1, "alerts": t3 - t2},
    )
